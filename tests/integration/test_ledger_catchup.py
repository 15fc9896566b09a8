"""A recording in the index without a leaf in the ledger (a crash between
the index's commit and the ledger's) is entered at the next start
(record/evidence.c rec_ledger_open).  The catch-up used to list every call
of the index with its streams, which made every import or record start
slow on a big index (issue #16: 46 s on an index of 200,000 calls); it now
reads only the recordings' call rows, paths and nodes
(index/nodes.c idx_recording_paths) and the hashes of the few without a
leaf.  Its findings must stay the same: every recording without a leaf is
entered, in the calls' start order as before (not in call-row order), and
verify then passes.  A lost ledger stands in for the crash."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import BUILD, Results, calls_json, earshot, import_capture, run, skip, tmpdir  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-catchup-")
three, one = os.path.join(work, "three.pcap"), os.path.join(work, "one.pcap")
run([GEN, "-o", three, "--seed", "9", "--calls", "3", "--duration", "4"])
run([GEN, "-o", one, "--seed", "3", "--calls", "1", "--duration", "4"])
data = os.path.join(work, "data")
p, _ = import_capture(data, three)
res.check(p.returncode == 0, "three calls imported: %s" % p.stderr[-300:])
calls = calls_json(data)
by_start = [c["recording"]["path"] for c in sorted(calls, key=lambda c: (c["start"], c["id"]))]
by_row = [c["recording"]["path"] for c in sorted(calls, key=lambda c: c["id"])]
res.check(len(by_start) == 3 and by_start != by_row,
          "the calls' start order differs from their row order (%s / %s)" % (by_start, by_row))

shutil.rmtree(os.path.join(data, "ledger"))
p, _ = import_capture(data, one)
res.check(p.returncode == 0 and "3 recordings of the index had no leaf" in p.stderr,
          "the next import enters the 3 recordings without a leaf: %s" % p.stderr[-400:])
with open(os.path.join(data, "ledger", "entries.log")) as f:
    leaves = [line.split("\t")[4] for line in f if "\trec\t" in line]
res.check(leaves[:3] == by_start, "entered in the calls' start order: %s" % leaves)
res.check(len(leaves) == 4 and len(set(leaves)) == 4, "each recording has one leaf: %s" % leaves)
v = earshot(data, "verify", check=False)
res.check(v.returncode == 0 and "4 recordings checked, 0 findings" in v.stdout,
          "verify passes: %s %s" % (v.stdout[-300:], v.stderr[-300:]))
# a start with nothing missing enters nothing
p, _ = import_capture(data, one)
res.check(p.returncode == 0 and "had no leaf" not in p.stderr,
          "a later start finds nothing to enter: %s" % p.stderr[-300:])

shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
