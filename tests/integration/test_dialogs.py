"""SIP dialogs as real networks show them (issue #14):

- sngrep-aaa.pcap (captures-field): INVITEs challenged with 407 and retried
  17-51 s later. No call is `forked`; the finals are tshark's last ones of
  each dialog (403, 403, 480); the 480 call keeps its early media (tshark's
  one RTP stream of the file, same packet count);
- heplify-ipip0.pcap: the stray 403 of another Call-ID is an orphan, no call;
- generated captures (bench/gen_calls): a 407 retried 45 s later; a
  Call-ID reused 1 hour and 1 day later (new calls of normal length, the
  day-later import fast); a recvonly offer answered sendonly (no hold event);
  stray responses (counted orphans, no calls); m=video with H.264 RTP
  (paired, statistics kept, flag "video", audio recording unchanged);
- importing the same files in different orders, in one command, gives the
  same calls as importing each file alone: every file of ../shared/captures
  and captures-field plus the generated ones (33+ files)."""
import json
import os
import time

from estest import (BUILD, SHARED, Results, calls_json, import_capture, run, show_json, skip,
                    tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
FIELD = os.path.join(os.path.dirname(SHARED), "captures-field")
if not os.path.isdir(SHARED) or not os.path.isdir(FIELD):
    skip("../shared/captures or captures-field not present")

res = Results()
work = tmpdir("earshot-dialogs-")


def imp(name, *paths, extra=("--no-audio",)):
    data = os.path.join(work, name)
    p, summary = import_capture(data, *paths, extra=extra)
    res.check(summary is not None, "%s: import failed: %s" % (name, p.stderr))
    return data, summary or {"skipped": {}}


SEEDS = iter(range(100, 200))


def gen(name, *opts, n=6, dur=30):
    """A capture of its own seed: no two files share a Call-ID."""
    pcap = os.path.join(work, name + ".pcap")
    truth = os.path.join(work, name + ".json")
    run([GEN, "-o", pcap, "-t", truth, "-n", str(n), "-d", str(dur), "-s", str(next(SEEDS)),
         *opts])
    with open(truth) as f:
        return pcap, json.load(f)


def tshark_dialogs(tsv):
    """Call-ID -> the last final status of its INVITE dialog, from tshark."""
    last = {}
    with open(tsv) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 4 and cols[3] and int(cols[3]) >= 200:
                last[cols[1]] = int(cols[3])
    return last


# ---- sngrep-aaa.pcap: challenges, slow retries, early media ----------------------
aaa = os.path.join(FIELD, "sngrep-aaa.pcap")
data, s = imp("aaa", aaa, extra=())
calls = {c["call_id"]: c for c in calls_json(data)}
finals = tshark_dialogs(os.path.join(FIELD, "truth", "sngrep-aaa.pcap.sip-invite-dialogs.tsv"))
invite_ids = [cid for cid in finals if cid.endswith("@192.168.1.2")]
res.check(sorted(calls) == sorted(invite_ids),
          "aaa: calls %s, tshark's INVITE dialogs %s" % (sorted(calls), sorted(invite_ids)))
for cid, code in finals.items():
    if cid in calls:
        res.check(calls[cid]["sip_code"] == code,
                  "aaa: %s final %s, tshark %d" % (cid, calls[cid]["sip_code"], code))
res.check(sorted(c["sip_code"] for c in calls.values()) == [403, 403, 408, 480],
          "aaa: finals %s" % sorted(c["sip_code"] for c in calls.values()))
for c in calls.values():
    res.check("forked" not in c["flags"], "aaa: %s flagged forked" % c["call_id"])
c480 = [c for c in calls.values() if c["sip_code"] == 480]
if res.check(len(c480) == 1, "aaa: one 480 call"):
    st = c480[0]["streams"]
    res.check(len(st) == 1 and st[0]["packets"] == 9 and st[0]["ssrc"] == "0x3796CB71",
              "aaa: the 480 call's early media (tshark: 9 packets SSRC 0x3796CB71): %s" % st)
    res.check(c480[0]["recording"] is not None, "aaa: the 480 call's early media recorded")
res.check(s["skipped"]["sip_after_call_end"] == 0,
          "aaa: %d SIP messages dropped after the call end" % s["skipped"]["sip_after_call_end"])

# ---- heplify-ipip0.pcap: a stray 403 of another Call-ID --------------------------
data, s = imp("ipip", os.path.join(FIELD, "heplify-ipip0.pcap"))
res.check(len(calls_json(data)) <= 1 and s["skipped"].get("sip_orphan", 0) >= 1,
          "ipip0: %d calls, %d orphans (the scanner's INVITE only, the stray 403 an orphan)"
          % (len(calls_json(data)), s["skipped"].get("sip_orphan", 0)))

# ---- generated: a 407 challenge retried 45 s later ----------------------------------
pcap, truth = gen("challenge", "--challenge", "45", "--outcomes")
data, s = imp("challenge", pcap)
got = {c["call_id"]: c for c in calls_json(data)}
res.check(len(got) == len(truth["calls"]), "challenge: %d calls of %d" % (len(got), len(truth["calls"])))
for t in truth["calls"]:
    c = got.get(t["call_id"])
    if not res.check(c is not None, "challenge: %s missing" % t["call_id"]):
        continue
    res.check(c["sip_code"] == t["sip_code"] and c["outcome"] == t["outcome"],
              "challenge: %s %s %s, truth %s %s" % (t["call_id"], c["outcome"], c["sip_code"],
                                                     t["outcome"], t["sip_code"]))
    res.check("forked" not in c["flags"], "challenge: %s flagged forked" % t["call_id"])
    res.check(len(c["streams"]) == len(t["streams"]),
              "challenge: %s %d streams, truth %d" % (t["call_id"], len(c["streams"]), len(t["streams"])))

# ---- generated: a Call-ID reused 1 hour and 1 day later ------------------------------
for later in (3600, 86400):
    pcap, truth = gen("reuse%d" % later, "--reuse-callid", str(later))
    t0 = time.monotonic()
    data, s = imp("reuse%d" % later, pcap, extra=("--format", "wav"))
    secs = time.monotonic() - t0
    got = calls_json(data)
    res.check(len(got) == len(truth["calls"]),
              "reuse %d s: %d calls, truth %d" % (later, len(got), len(truth["calls"])))
    longest = max((c["duration_s"] or 0) for c in got) if got else 0
    truth_longest = max((t["end_us"] - (t["answer_us"] or t["end_us"])) / 1e6 for t in truth["calls"])
    res.check(longest <= truth_longest + 1,
              "reuse %d s: a call lasts %.0f s (longest in truth %.0f s)" % (later, longest, truth_longest))
    res.check(s["recorded_seconds"] < 2 * len(truth["calls"]) * 30,
              "reuse %d s: %.0f s of recordings" % (later, s["recorded_seconds"]))
    res.check(secs < 60, "reuse %d s: import took %.1f s" % (later, secs))
    print("reuse %d s: %d calls, import %.2f s" % (later, len(got), secs))

# ---- generated: one-way answers are not holds ----------------------------------------
pcap, truth = gen("oneway", "--one-way")
data, s = imp("oneway", pcap)
for c in calls_json(data):
    kinds = [e["kind"] for e in (show_json(data, c["id"]).get("events") or [])]
    res.check("hold" not in kinds, "one-way: %s has a hold event" % c["call_id"])
    res.check("one_way" in c["flags"], "one-way: %s not flagged one_way" % c["call_id"])

# ---- generated: stray responses ---------------------------------------------------------
pcap, truth = gen("stray", "--stray")
data, s = imp("stray", pcap)
got = calls_json(data)
res.check(sorted(c["call_id"] for c in got) == sorted(t["call_id"] for t in truth["calls"]),
          "stray: calls %s" % sorted(c["call_id"] for c in got))
res.check(s["skipped"].get("sip_orphan", 0) == 2 * len(truth["calls"]),
          "stray: %d orphans, expected %d" % (s["skipped"].get("sip_orphan", 0), 2 * len(truth["calls"])))

# ---- generated: video ------------------------------------------------------------------
pcap, truth = gen("video", "--video", n=4)
data, s = imp("video", pcap, extra=())
res.check(s["skipped"]["rtp_no_call"] == 0, "video: %d RTP packets of no call" % s["skipped"]["rtp_no_call"])
got = {c["call_id"]: c for c in calls_json(data)}
for t in truth["calls"]:
    c = got.get(t["call_id"])
    if not res.check(c is not None, "video: %s missing" % t["call_id"]):
        continue
    res.check("video" in c["flags"], "video: %s not flagged video" % t["call_id"])
    ours = {(x["src"], x["dst"], x["ssrc"]): x for x in c["streams"]}
    for ts in t["streams"]:
        o = ours.get((ts["src"], ts["dst"], "0x%08X" % ts["ssrc"]))
        if not res.check(o is not None, "video: %s stream %s missing" % (t["call_id"], ts["ssrc_hex"])):
            continue
        res.check(o["packets"] == ts["packets"] and o["lost"] == ts["lost"],
                  "video: %s %s packets %d lost %d, truth %d %d" % (
                      t["call_id"], ts["media"], o["packets"], o["lost"], ts["packets"], ts["lost"]))
        if ts["media"] == "video":
            res.check(o["codecs"] == "H264", "video: codecs %r" % o["codecs"])
    res.check(c["recording"] is not None and c["recording"]["channels"] == 2,
              "video: %s audio recording %s" % (t["call_id"], c["recording"]))

# ---- the same files in any order, together or alone ---------------------------------------


def signature(c):
    streams = sorted((x["src"], x["dst"], x["ssrc"], x["packets"], x["lost"]) for x in c["streams"])
    return (c["call_id"], c["start"], c["answer"], c["outcome"], c["sip_code"],
            tuple(sorted(c["flags"])), tuple(streams))


shared = []
for folder in (SHARED, FIELD):
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not name.endswith((".tsv", ".md")):
            shared.append(path)
generated = [os.path.join(work, n + ".pcap") for n in
             ("challenge", "reuse3600", "oneway", "stray", "video")]
for i, opts in enumerate((["--outcomes", "--fork"], ["--reinvite", "--ssrc-change"],
                          ["--missing-invite"], ["--dtmf", "--rtcp"], ["--tcp"], ["--ipv6"],
                          ["--outcomes", "--challenge", "20"])):
    p, _ = gen("mix%d" % i, *opts, n=4, dur=20)
    generated.append(p)
files = shared + generated
res.check(len(files) >= 33, "%d files, expected 33 or more" % len(files))

alone = set()
for i, f in enumerate(files):
    data, _ = imp("alone%d" % i, f)
    alone |= {signature(c) for c in calls_json(data)}
orders = {"given": files, "reversed": files[::-1],
          "interleaved": files[::2] + files[1::2]}
for name, order in orders.items():
    data, s = imp("together-" + name, *order)
    together = {signature(c) for c in calls_json(data)}
    res.check(together == alone,
              "%s order: %d calls, %d alone; only together: %s; only alone: %s" % (
                  name, len(together), len(alone), sorted(together - alone)[:3],
                  sorted(alone - together)[:3]))
print("%d files: %d calls alone and in every order" % (len(files), len(alone)))

res.finish()
