"""Recording rules over generated traffic, table-driven: for each rule set
(an earshot.conf), `earshot import --config` records exactly the calls the
rules select, as computed here from the generator's truth; the others are
indexed with the flag not_recorded and no recording, and every call keeps
the name of the rule that decided.  (The rule engine's own table of cases
is tests/unit/test_policy.c; the live recorder applies the same rules.)"""
import fnmatch
import json
import os
import shutil

from estest import BUILD, Results, calls_json, import_capture, run, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
res = Results()
work = tmpdir("earshot-rules-")
pcap, truth_path = os.path.join(work, "c.pcap"), os.path.join(work, "c.json")
# 40 calls over about 4 minutes from 09:00 UTC, all outcomes
run([GEN, "-o", pcap, "--truth", truth_path, "--calls", "40", "--duration", "240",
     "--concurrency", "4", "--seed", "21", "--outcomes"])
truth = json.load(open(truth_path))
calls = {c["call_id"]: c for c in truth["calls"]}


def minute(c):
    # "2026-01-15T09:03:12.345Z" -> minutes since 09:00
    hh, mm = int(c["start"][11:13]), int(c["start"][14:16])
    return (hh - 9) * 60 + mm


# name, config text, expected(call) -> (record?, rule name)
CASES = [
    ("everything", "", lambda c: (True, None)),
    ("do-not-record list",
     "[do-not-record]\nnumber = +49305550000[0-4]\nnumber = +4940666000[3]*\n",
     lambda c: (False, "do-not-record") if fnmatch.fnmatchcase(c["caller_user"], "+49305550000[0-4]")
     or fnmatch.fnmatchcase(c["callee_user"], "+4940666000[3]*") else (True, "default")),
    ("default skip, one caller range",
     "[recording]\ndefault = skip\n[rule odd]\naction = record\ncaller = *1, *3, *5, *7, *9\n",
     lambda c: (True, "odd") if c["caller_user"][-1] in "13579" else (False, "default")),
    ("first match wins",
     "[rule none-for-12]\naction = skip\ncallee = +49406660001?\n"
     "[rule all]\naction = record\nnumber = +49*\n",
     lambda c: (False, "none-for-12") if fnmatch.fnmatchcase(c["callee_user"], "+49406660001?")
     else (True, "all")),
    ("time window and domain",
     "[recording]\ndefault = skip\ntimezone = UTC\n"
     "[rule morning]\naction = record\ntime = 09:00-09:02\ndays = thu\ndomain = example.net\n",
     lambda c: (True, "morning") if minute(c) < 2 else (False, "default")),
    ("wrong day",
     "[recording]\ndefault = skip\ntimezone = UTC\n"
     "[rule weekend]\naction = record\ndays = sat-sun\n",
     lambda c: (False, "default")),
]

for name, conf, expect in CASES:
    conf_path = os.path.join(work, "earshot.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    data = os.path.join(work, "data-" + name.replace(" ", "-"))
    extra = ("--format", "wav") + (("--config", conf_path) if conf else ())
    p, summary = import_capture(data, pcap, extra=extra)
    if not res.check(p.returncode == 0, "%s: import %d %s" % (name, p.returncode, p.stderr)):
        continue
    got = calls_json(data)
    res.check(len(got) == len(calls), "%s: %d calls, expected %d" % (name, len(got), len(calls)))
    wrong = 0
    n_rec = 0
    for g in got:
        t = calls[g["call_id"]]
        want_rec, want_rule = expect(t)
        not_rec = "not_recorded" in g["flags"]
        has_audio = t["outcome"] == "answered"
        ok = (not_rec == (not want_rec)) and (g["rule"] == want_rule)
        # a recorded answered call has its recording; a skipped one has none
        ok = ok and ((g["recording"] is not None) == (want_rec and has_audio))
        if not ok:
            wrong += 1
            if wrong <= 3:
                print("%s: call %s (%s -> %s, %s): not_recorded=%s rule=%r recording=%s; "
                      "expected record=%s rule=%r" % (name, g["id"], t["caller_user"],
                                                     t["callee_user"], t["start"], not_rec,
                                                     g["rule"], g["recording"] is not None,
                                                     want_rec, want_rule))
        n_rec += want_rec and has_audio
    res.check(wrong == 0, "%s: %d calls decided wrongly" % (name, wrong))
    res.check(summary["recordings"] == n_rec, "%s: %d recordings, expected %d" %
              (name, summary["recordings"], n_rec))
    print("%-32s %2d recordings of %d answered calls" %
          (name, n_rec, sum(1 for c in calls.values() if c["outcome"] == "answered")))

# sampling: deterministic, about the share asked for
conf_path = os.path.join(work, "sample.conf")
with open(conf_path, "w") as f:
    f.write("[recording]\ndefault = skip\n[rule half]\naction = record\nsample = 50\n")
sets = []
for k in range(2):
    data = os.path.join(work, "data-sample-%d" % k)
    p, summary = import_capture(data, pcap, extra=("--no-audio", "--config", conf_path))
    sets.append(sorted(g["call_id"] for g in calls_json(data) if "not_recorded" not in g["flags"]))
res.check(sets[0] == sets[1], "sampling differs between two imports of the same calls")
res.check(8 <= len(sets[0]) <= 32, "sample = 50 kept %d of 40 calls" % len(sets[0]))
print("sample = 50: %d of 40 calls kept, the same in two runs" % len(sets[0]))

# a bad configuration is refused with its line
conf_path = os.path.join(work, "bad.conf")
with open(conf_path, "w") as f:
    f.write("[rule x]\naction = record\ncaller = 2000-1000\n")
p, _ = import_capture(os.path.join(work, "data-bad"), pcap, extra=("--config", conf_path))
res.check(p.returncode == 2 and "bad.conf:3" in p.stderr,
          "a bad rule: exit %d, %r" % (p.returncode, p.stderr))

shutil.rmtree(work)
res.finish()
