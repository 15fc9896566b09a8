"""Import every public capture of ../shared/captures and
../shared/captures-field (each with its MANIFEST.tsv) and compare with tshark: every RTP stream's packets and lost equal, max jitter
within 0.1 ms (truth/*.rtp-streams.txt, written by tshark 4.0); every INVITE
dialog found with the outcome tshark's SIP decode implies.  Files that are
not pcap/pcapng must be refused with a clear message and exit code 3.

Where tshark's view is wrong or differs for a known reason, EXCEPTIONS says
so, per capture and per stream, and the test checks that capture against the
corrected view; everything else about it is compared as for the others."""
import csv
import os
import shutil

from estest import (SHARED, Results, all_streams, calls_json, compare_streams, have,
                    import_capture, parse_rtp_streams, skip, tmpdir, tshark_invite_outcomes,
                    tshark_non_sip_streams)

if not os.path.isdir(SHARED):
    skip("../shared/captures not present: shared captures not tested")

# capture -> what differs from truth/*.rtp-streams.txt, and why.
#   streams: SSRC -> fields that replace tshark's truth line for that stream
#   jitter_tol: SSRC -> max jitter tolerance (ms) instead of 0.1
#   sip_set_up: SSRCs that tshark_non_sip_streams() would call non-SIP
#   reason: said in the output each time the exception is used
EXCEPTIONS = {
    "heplify-FAX-Call-t38-CA-TDM-SIP-FB-1.pcap": {
        "reason": "the re-INVITE to T.38 (SIP frame 3104) is refused 488, but tshark keeps "
                  "the UDPTL conversation set up by that offer and by the gateway's MEGACO "
                  "Modify (frame 3147, m=image) and decodes 2,010 of the gateway's PCMA "
                  "packets after them as malformed T.38: its truth file cuts "
                  "0x0EAF0EAF at 1,838 packets with 6 'lost'.  The figures here are tshark "
                  "4.0's own with T.38 off: tshark -q -z rtp,streams --disable-protocol t38 "
                  "-o rtp.heuristic_rtp:TRUE.  Both streams were set up by SIP (frame 176) "
                  "and re-described by the gateway's MEGACO Modify (frame 3147), so tshark's "
                  "last setup frame is not SIP though the streams are the SIP call's.  "
                  "0x17D90134's timestamp restarts at 0 (frame 3149): tshark's max jitter "
                  "there, 2,730.468 ms, rests on its own unwrapping of that step back; ours "
                  "is 2,730.857 ms, so that stream's jitter is compared within 1 ms",
        "streams": {"0x0EAF0EAF": {"packets": 3848, "lost": 0, "jitter_max_ms": 15.523}},
        "jitter_tol": {"0x17D90134": 1.0},
        "sip_set_up": {"0x0EAF0EAF", "0x17D90134"},
    },
}

FIELD = os.path.join(os.path.dirname(SHARED), "captures-field")
res = Results()
rows = []
for folder in (SHARED, FIELD):
    if not os.path.isdir(folder):
        res.skip("%s not present: its captures not tested" % folder)
        continue
    with open(os.path.join(folder, "MANIFEST.tsv")) as f:
        rows += [(folder, r) for r in csv.DictReader(f, delimiter="\t")]

for folder, row in rows:
    name = row["file"]
    path = os.path.join(folder, name)
    data = tmpdir()
    try:
        p, summary = import_capture(data, path)
        if "Network Monitor" in row["what_it_exercises"] or "not pcap" in row["what_it_exercises"]:
            res.check(p.returncode == 3, "%s: exit code %d, expected 3" % (name, p.returncode))
            res.check("Network Monitor" in p.stderr and name in p.stderr,
                      "%s: message should name the file and its format: %r" % (name, p.stderr))
            continue
        if not res.check(p.returncode == 0, "%s: import exited %d: %s" % (name, p.returncode, p.stderr)):
            continue
        calls = calls_json(data)
        truth_file = os.path.join(folder, "truth", name + ".rtp-streams.txt")
        theirs = parse_rtp_streams(open(truth_file).read())
        ours = all_streams(calls)
        not_ours = tshark_non_sip_streams(path) if have("tshark") else set()
        n_ours, n_theirs = len(ours), len(theirs)
        exc = EXCEPTIONS.get(name)
        if exc:
            print("exception: %s: %s" % (name, exc["reason"]))
            for t in theirs:
                t.update(exc.get("streams", {}).get(t["ssrc"], {}))
            not_ours -= exc.get("sip_set_up", set())
            res.check(all(k in {t["ssrc"] for t in theirs}
                          for k in list(exc.get("streams", {})) + list(exc.get("jitter_tol", {}))),
                      "%s: an exception names a stream tshark does not list" % name)
            for ssrc, tol in exc.get("jitter_tol", {}).items():
                wide = [t for t in theirs if t["ssrc"] == ssrc]
                theirs = [t for t in theirs if t["ssrc"] != ssrc]
                compare_streams(res, name, [s for s in ours if s["ssrc"] == ssrc], wide,
                                jitter_tol=tol)
            ours = [s for s in ours if s["ssrc"] not in exc.get("jitter_tol", {})]
        compare_streams(res, name, ours, theirs, not_ours=not_ours)
        if not_ours:
            res.check(summary["skipped"]["rtp_no_call"] > 0,
                      "%s: RTP outside SIP calls should be counted: %s" % (name, summary))
        print("%s: %d calls, %d streams (tshark %d streams)" % (name, len(calls), n_ours, n_theirs))

        if have("tshark"):
            expected = tshark_invite_outcomes(path)
            by_cid = {}
            for c in calls:
                by_cid.setdefault(c["call_id"], []).append(c)
            for cid, (outcome, code) in expected.items():
                mine = by_cid.get(cid)
                if not res.check(mine is not None, "%s: INVITE dialog %s not found" % (name, cid)):
                    continue
                res.check(len(mine) == 1, "%s: Call-ID %s gave %d calls" % (name, cid, len(mine)))
                c = mine[0]
                res.check(c["outcome"] == outcome and c["sip_code"] == code,
                          "%s: call %s outcome %s/%s, expected %s/%s"
                          % (name, cid, c["outcome"], c["sip_code"], outcome, code))
        else:
            res.skip("%s: tshark not installed, dialog outcomes not checked" % name)

        # importing again adds nothing
        p2, s2 = import_capture(data, path)
        res.check(p2.returncode == 0 and s2 and s2["calls"] == 0 and
                  s2["calls_duplicate"] == len(calls),
                  "%s: second import should only find duplicates: %s" % (name, s2))
        res.check(len(calls_json(data)) == len(calls), "%s: calls duplicated" % name)
    finally:
        shutil.rmtree(data, ignore_errors=True)

res.finish()
