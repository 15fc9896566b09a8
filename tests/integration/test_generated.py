"""Captures made by the bench generator (bench/gen_calls), one per kind of
mess a real network makes: loss, reordering, duplicates, jitter, VLAN and
QinQ tags, IPv6, IP fragments, SIP over TCP, other link types, re-INVITEs,
SSRC changes, forks, calls whose INVITE was not captured, every outcome.

For each capture, three views must agree: the generator's truth (what it
wrote), tshark's (the oracle: its rtp,streams table) and earshot's (import
then `calls --json` / `show --json`).  Per call: Call-ID, caller and callee
user parts, outcome and SIP code.  Per RTP stream: packets and lost equal to
the truth and to tshark, max jitter within 0.1 ms of tshark.  DTMF digits
sent as RFC 4733 events come out as dtmf events, in order."""
import json
import os
import shutil

from estest import (BUILD, Results, all_streams, calls_json, compare_streams, have, import_capture,
                    run, show_json, skip, tmpdir, tshark_rtp_streams)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

SCENARIOS = [
    ("basic", ["--calls", "12", "--duration", "6", "--dtmf", "--rtcp"]),
    ("outcomes", ["--calls", "30", "--duration", "4", "--outcomes"]),
    ("impaired", ["--calls", "8", "--duration", "10", "--loss", "3", "--reorder", "3", "--dup", "2",
                  "--jitter", "25"]),
    ("vlan", ["--calls", "4", "--duration", "4", "--vlan", "42"]),
    ("qinq", ["--calls", "4", "--duration", "4", "--qinq", "100,200"]),
    ("ipv6-frag", ["--calls", "6", "--duration", "4", "--ipv6", "--fragment", "--dtmf"]),
    ("ipv4-frag", ["--calls", "6", "--duration", "4", "--fragment"]),
    ("tcp", ["--calls", "8", "--duration", "4", "--tcp"]),
    ("sll", ["--calls", "3", "--duration", "4", "--linktype", "sll"]),
    ("raw", ["--calls", "3", "--duration", "4", "--linktype", "raw"]),
    ("null", ["--calls", "3", "--duration", "4", "--linktype", "null"]),
    ("reinvite", ["--calls", "6", "--duration", "6", "--reinvite", "--ssrc-change"]),
    ("fork", ["--calls", "6", "--duration", "4", "--fork"]),
    ("missing-invite", ["--calls", "10", "--duration", "4", "--missing-invite"]),
]


def norm_ssrc(s):
    return "0x%08X" % (s if isinstance(s, int) else int(s, 0))


def check_scenario(res, name, args, work):
    pcap = os.path.join(work, name + ".pcap")
    truth_path = os.path.join(work, name + ".json")
    p = run([GEN, "-o", pcap, "--truth", truth_path, "--seed", "7"] + args, check=False)
    if not res.check(p.returncode == 0, "%s: gen_calls exited %d: %s" % (name, p.returncode, p.stderr)):
        return
    truth = json.load(open(truth_path))
    data = os.path.join(work, name + "-data")
    p, summary = import_capture(data, pcap)
    if not res.check(p.returncode == 0, "%s: import exited %d: %s" % (name, p.returncode, p.stderr)):
        return
    calls = calls_json(data)
    by_cid = {}
    for c in calls:
        by_cid.setdefault(c["call_id"], []).append(c)

    ours = all_streams(calls)
    ours_by_key = {(s["src"], s["dst"], s["ssrc"]): s for s in ours}
    nstreams = 0
    for tc in truth["calls"]:
        cid = tc["call_id"]
        mine = by_cid.get(cid, [])
        if not res.check(len(mine) == 1, "%s: call %s found %d times" % (name, cid, len(mine))):
            continue
        c = mine[0]
        if tc["invite_captured"]:
            res.check(c["outcome"] == tc["outcome"] and c["sip_code"] == tc["sip_code"],
                      "%s: call %s outcome %s/%s, truth %s/%s"
                      % (name, cid, c["outcome"], c["sip_code"], tc["outcome"], tc["sip_code"]))
            detail = show_json(data, c["id"])
            res.check(detail["parties"]["caller"]["user"] == tc["caller_user"] and
                      detail["parties"]["callee"]["user"] == tc["callee_user"],
                      "%s: call %s parties %s/%s, truth %s/%s"
                      % (name, cid, detail["parties"]["caller"]["user"],
                         detail["parties"]["callee"]["user"], tc["caller_user"], tc["callee_user"]))
            digits = "".join(e["detail"].split("digit=")[1][0] for e in detail.get("events", [])
                             if e["kind"] == "dtmf")
            want = "".join(s["dtmf"] for s in tc["streams"])
            if want:
                res.check(sorted(digits) == sorted(want),
                          "%s: call %s DTMF %r, truth %r" % (name, cid, digits, want))
        for ts in tc["streams"]:
            nstreams += 1
            key = (ts["src"], ts["dst"], norm_ssrc(ts["ssrc"]))
            o = ours_by_key.get(key)
            if not res.check(o is not None, "%s: stream %s -> %s %s of call %s not found"
                             % (name, key[0], key[1], key[2], cid)):
                continue
            res.check(o["call"] == c["id"], "%s: stream %s given to call %s, not %s"
                      % (name, key, o["call"], c["id"]))
            res.check(o["packets"] == ts["packets"] and o["lost"] == ts["lost"],
                      "%s: stream %s packets/lost %d/%d, truth %d/%d"
                      % (name, key, o["packets"], o["lost"], ts["packets"], ts["lost"]))
    res.check(len(calls) == len(truth["calls"]),
              "%s: %d calls imported, truth has %d" % (name, len(calls), len(truth["calls"])))
    if have("tshark"):
        theirs = tshark_rtp_streams(pcap)
        compare_streams(res, name, ours, theirs)
    print("%s: %d calls, %d streams checked" % (name, len(truth["calls"]), nstreams))


res = Results()
work = tmpdir()
try:
    for name, args in SCENARIOS:
        check_scenario(res, name, args, work)
finally:
    shutil.rmtree(work, ignore_errors=True)
res.finish()
