"""Proof of completeness (issue #17): `earshot reconcile` over one data folder
holding every kind of answered call, each explained:

  - recorded: generated calls imported with audio;
  - rule-skipped: a call imported under `[recording] default = skip`;
  - paused: a call whose caller keys 1 (gen_calls --dtmf) under a rule with
    pause_dtmf = 1 and no resume: recorded up to the key, said "paused";
  - crashed: live sipp calls through `earshot record`, killed with SIGKILL
    mid-call, finalised by the next start: "recovered_after_crash";
  - deliberately broken: one recording's file deleted, and one call's
    recording row removed from the index behind the ledger's back: both
    "unexplained", and the exit code says so (8).

The report written with -o is signed with the ledger's key: `reconcile
--verify` accepts it (exit 0), and refuses it changed by one byte or held
against another ledger's key (exit 1), or when it is not a report (exit 3)."""
import json
import os
import shutil
import subprocess
import time

from estest import EARSHOT, Results, calls_json, earshot, import_capture, run, skip, tmpdir
import livecalls

res = Results()
work = tmpdir("earshot-reconcile-")
data = os.path.join(work, "data")
GEN = os.path.join(os.path.dirname(EARSHOT), "gen_calls")
WINDOW = ("--from", "2000-01-01", "--to", "2100-01-01")


def gen(name, calls, seed, *extra):
    pcap = os.path.join(work, name + ".pcap")
    run([GEN, "-o", pcap, "--calls", str(calls), "--duration", str(12 * calls), "--seed",
         str(seed), "--codec", "pcma"] + list(extra))
    return pcap


def conf(name, text):
    path = os.path.join(work, name + ".conf")
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- crashed: live calls, kill -9, recovery (needs sipp, tcpdump, root) -------------
live = livecalls.missing_tools() is None and shutil.which("sqlite3")
CRASH_CALLS = 2
if live:
    ports = livecalls.Ports(CRASH_CALLS)
    bpf = ports.bpf(CRASH_CALLS)
    rec = livecalls.Recorder(EARSHOT, data, bpf, args=["--rtp-timeout", "5", "--linger", "2"])
    rec.start()
    if res.check(rec.wait_status(30) is not None, "earshot record started"):
        calls = livecalls.Calls(os.path.join(work, "sipp"), CRASH_CALLS, 8.0, rate=10,
                                ports=ports, media=7.5)
        calls.start()
        time.sleep(4.0)
        rec.kill9()
        calls.wait()
        rec.start()
        res.check(rec.wait_status(30) is not None, "earshot record restarted")
        time.sleep(2)
        res.check(rec.stop() == 0, "the restarted recorder stopped cleanly")
else:
    print("reconcile: no live part (%s)" % (livecalls.missing_tools() or "no sqlite3"))

# ---- imported: recorded, rule-skipped, paused ---------------------------------------
p, _ = import_capture(data, gen("rec", 3, 41))
res.check(p.returncode == 0, "import recorded calls: %s" % p.stderr)
p, _ = import_capture(data, gen("skip", 1, 42),
                      extra=("--config", conf("skip", "[recording]\ndefault = skip\n")))
res.check(p.returncode == 0, "import a rule-skipped call: %s" % p.stderr)
p, _ = import_capture(data, gen("pause", 1, 43, "--dtmf"),
                      extra=("--config", conf("pause", "[rule pci]\naction = record\n"
                                                       "pause_dtmf = 1\n")))
res.check(p.returncode == 0, "import a paused call: %s" % p.stderr)

calls = calls_json(data)
by_kind = {"crash": [c["id"] for c in calls if "recovered" in c["flags"]],
           "skip": [c["id"] for c in calls if "not_recorded" in c["flags"]]}


def reconcile(*args):
    p = earshot(data, "reconcile", *args, check=False)
    return p.returncode, p.stdout, p.stderr


rc, out, err = reconcile(*WINDOW, "--json")
rep = json.loads(out) if out.strip() else {"calls": []}
verdict = {c["id"]: (c["status"], c["reason"]) for c in rep["calls"]}
print(json.dumps(verdict))
res.check(rc == 0 and rep.get("unexplained") == 0, "all explained: exit %d %s" % (rc, err))
res.check(rep.get("answered") == len(calls) == len(verdict),
          "every answered call is in the report: %r of %d" % (rep.get("answered"), len(calls)))
recorded = [i for i, v in verdict.items() if v[0] == "recorded"]
res.check(len([i for i, v in verdict.items() if v == ("recorded", None)]) >= 3,
          "the imported calls are plainly recorded")
res.check([verdict.get(i) for i in by_kind["skip"]] == [("not_recorded", "rule")],
          "the rule-skipped call: %r" % [verdict.get(i) for i in by_kind["skip"]])
res.check(sum(1 for v in verdict.values() if v == ("recorded", "paused")) == 1,
          "one call recorded up to its pause, said paused")
if live:
    res.check(len(by_kind["crash"]) == CRASH_CALLS and
              all(verdict.get(i) == ("recorded", "recovered_after_crash")
                  for i in by_kind["crash"]),
              "the crashed calls: %r" % [verdict.get(i) for i in by_kind["crash"]])

# ---- the signed report -----------------------------------------------------------
report = os.path.join(work, "report.txt")
rc, out, err = reconcile(*WINDOW, "-o", report)
res.check(rc == 0 and os.path.exists(report), "signed report written: %d %s" % (rc, err))
rc, out, err = reconcile("--verify", report)
res.check(rc == 0 and "the signature verifies" in out, "verify: %d %s %s" % (rc, out, err))
rc, out, err = reconcile("--verify", report, "--json")
v = json.loads(out) if rc == 0 else {}
res.check(v.get("ok") is True and v.get("report", {}).get("answered") == len(calls),
          "verify --json carries the report")
text = open(report).read()
tampered = os.path.join(work, "tampered.txt")
with open(tampered, "w") as f:
    f.write(text.replace('"status":"not_recorded"', '"status":"recorded"', 1))
rc, out, err = reconcile("--verify", tampered)
res.check(rc == 1 and "changed" in out, "a tampered report fails: %d %s" % (rc, out))
other = os.path.join(work, "other")
import_capture(other, gen("other", 1, 44))
rc, out, err = reconcile("--verify", report, "--key", os.path.join(other, "ledger", "ledger.pub"))
res.check(rc == 1 and "NOT the trusted key" in out, "another ledger's key: %d %s" % (rc, out))
rc, out, err = reconcile("--verify", os.path.join(work, "skip.conf"))
res.check(rc == 3 and "not a signed reconcile report" in err, "not a report: %d %s" % (rc, err))

# the signing key kept outside the data folder (as docs/OPERATIONS.md advises)
key_out = os.path.join(work, "ledger.key")
shutil.move(os.path.join(data, "ledger", "ledger.key"), key_out)
report2 = os.path.join(work, "report2.txt")
p = run([EARSHOT, "--data", data, "reconcile", *WINDOW, "-o", report2], check=False,
        env=dict(os.environ, EARSHOT_LEDGER_KEY=key_out))
res.check(p.returncode == 0 and reconcile("--verify", report2)[0] == 0,
          "signed with the key outside the data folder: %d %s" % (p.returncode, p.stderr))
p = run([EARSHOT, "--data", data, "reconcile", *WINDOW, "-o", report2 + ".x"], check=False,
        env=dict(os.environ, EARSHOT_LEDGER_KEY=key_out + ".missing"))
res.check(p.returncode == 1 and "ledger" in p.stderr and not os.path.exists(report2 + ".x"),
          "no signing key, no report: %d %s" % (p.returncode, p.stderr.strip()))

# ---- broken: a recording's file deleted, a recording row removed ---------------------
shown = {c["id"]: c for c in calls_json(data)}
plain = [i for i in recorded if verdict[i] == ("recorded", None)]
gone_file, gone_row = plain[0], plain[1]
os.unlink(os.path.join(data, shown[gone_file]["recording"]["path"]))
if shutil.which("sqlite3"):
    subprocess.run(["sqlite3", os.path.join(data, "index.sqlite"),
                    "DELETE FROM recordings WHERE call_row = %d" % gone_row], check=True)
rc, out, err = reconcile(*WINDOW, "--json")
rep = json.loads(out) if out.strip() else {"calls": []}
verdict = {c["id"]: (c["status"], c["reason"]) for c in rep["calls"]}
res.check(rc == 8, "unexplained gaps: exit %d %s" % (rc, err))
res.check(verdict.get(gone_file) == ("unexplained", "recording_missing"),
          "deleted file: %r" % (verdict.get(gone_file),))
if shutil.which("sqlite3"):
    res.check(verdict.get(gone_row) == ("unexplained", "index_row_missing"),
              "removed row: %r" % (verdict.get(gone_row),))
rc, out, err = reconcile(*WINDOW)
res.check(rc == 8 and "unexplained" in out and "recording_missing" in out,
          "the text report names them: %s" % out)

# usage errors
for args in (("--from", "2020-01-01"), ("--from", "yesterday", "--to", "2020-01-01"),
             ("--from", "2021-01-01", "--to", "2020-01-01")):
    rc, out, err = reconcile(*args)
    res.check(rc == 2, "reconcile %s: exit %d" % (" ".join(args), rc))
if not res.failed:
    shutil.rmtree(work, ignore_errors=True)
res.finish()
