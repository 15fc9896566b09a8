"""Encoder threads (issue #20): the pool that encodes finished calls runs
the number of threads it is given, and they work at once on a queued batch.
A generated capture whose calls all end together queues every recording at
once; imported with --threads 1 and --threads 2 it must give the same
recordings, and the import's summary must show 1 and then 2 recordings
encoded at the same time (encode_parallel_max: work done side by side, not a
timing).  encode_threads = auto (the recorder's default) and the backlog's
age as a metric are checked in test_metrics.py."""
import os
import sqlite3

from estest import BUILD, Results, import_capture, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-encthreads-")
pcap = os.path.join(work, "batch.pcap")
# 16 calls in progress together, all ending at the capture's end
run([GEN, "-o", pcap, "--seed", "5", "--calls", "16", "--duration", "20"])

sums = {}
for threads in (1, 2):
    data = os.path.join(work, "data%d" % threads)
    p, s = import_capture(data, pcap, extra=("--format", "wav", "--threads", str(threads)))
    if not res.check(p.returncode == 0 and s, "import --threads %d: %s" % (threads, p.stderr[-600:])):
        res.finish()
    res.check(s.get("recordings") == 16, "--threads %d: 16 recordings (%s)" % (threads, s.get("recordings")))
    res.check(s.get("encode_threads") == threads,
              "--threads %d: the pool ran %s threads" % (threads, s.get("encode_threads")))
    res.check(s.get("encode_parallel_max") == threads,
              "--threads %d: %s recordings encoded at once" % (threads, s.get("encode_parallel_max")))
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    sums[threads] = sorted(db.execute("SELECT c.call_id, r.plain_sha256 FROM recordings r "
                                      "JOIN calls c ON c.id = r.call_row"))
    db.close()
res.check(len(sums[1]) == 16 and sums[1] == sums[2],
          "the same audio (plaintext SHA-256 per call) with 1 and 2 threads")
res.finish()
