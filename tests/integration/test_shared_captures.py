"""Import every public capture of ../shared/captures (MANIFEST.tsv) and
compare with tshark: every RTP stream's packets and lost equal, max jitter
within 0.1 ms (truth/*.rtp-streams.txt, written by tshark 4.0); every INVITE
dialog found with the outcome tshark's SIP decode implies.  Files that are
not pcap/pcapng must be refused with a clear message and exit code 3."""
import csv
import os
import shutil

from estest import (SHARED, Results, all_streams, calls_json, compare_streams, have,
                    import_capture, parse_rtp_streams, skip, tmpdir, tshark_invite_outcomes,
                    tshark_non_sip_streams)

if not os.path.isdir(SHARED):
    skip("../shared/captures not present: shared captures not tested")

res = Results()
with open(os.path.join(SHARED, "MANIFEST.tsv")) as f:
    rows = list(csv.DictReader(f, delimiter="\t"))

for row in rows:
    name = row["file"]
    path = os.path.join(SHARED, name)
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
        truth_file = os.path.join(SHARED, "truth", name + ".rtp-streams.txt")
        theirs = parse_rtp_streams(open(truth_file).read())
        ours = all_streams(calls)
        not_ours = tshark_non_sip_streams(path) if have("tshark") else set()
        compare_streams(res, name, ours, theirs, not_ours=not_ours)
        if not_ours:
            res.check(summary["skipped"]["rtp_no_call"] > 0,
                      "%s: RTP outside SIP calls should be counted: %s" % (name, summary))
        print("%s: %d calls, %d streams (tshark %d streams)" % (name, len(calls), len(ours), len(theirs)))

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
