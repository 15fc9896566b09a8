#!/usr/bin/env python3
"""The transcription queue under a backlog: N calls (2N jobs) queued at
once and drained by `earshot transcribe run` (W worker processes) against
the whisper protocol stand-in (tests/integration/asrstandin.py; no model
runs, each reply after DELAY s: the figures are the queue's own cost, not
an engine's).  For OUTAGE s from the moment a third of the jobs is done
the stand-in answers HTTP 500: the workers pause after outage_after
failures in a row ([transcription], docs/CONFIG.md) and probe with one job
a pause (1 s doubling to 4 s here), spending no job's attempt, then go
through; with an outage longer than the jobs' retry budget (10 attempts,
backoff 1 s doubling to 4 s: about 31 s) an earshot without the pause
(--legacy-conf, for comparing an older build) turns the backlog "failed".  Printed: jobs/s, retries, FIFO order (jobs done out of queue
order other than retried ones), the status (queued/running/retry/done)
sampled while draining, and each job's engine requests (exactly once).

  python3 bench/tr_queue.py [--calls 100] [--workers 1] [--delay 0.05]
                            [--outage 2] [--build build] [--legacy-conf]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

ap = argparse.ArgumentParser()
ap.add_argument("--calls", type=int, default=100)
ap.add_argument("--workers", type=int, default=1)
ap.add_argument("--delay", type=float, default=0.05)
ap.add_argument("--outage", type=float, default=2.0)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--legacy-conf", action="store_true",
                help="no outage_* keys (an earshot before the outage pause refuses them)")
a = ap.parse_args()
os.environ["ES_BUILD_DIR"] = os.path.abspath(a.build)
from asrstandin import StandIn  # noqa: E402

EARSHOT = os.path.join(a.build, "earshot")
work = tempfile.mkdtemp(prefix="earshot-trq-")
data = os.path.join(work, "data")


def es(*args, check=True):
    p = subprocess.run([EARSHOT, "--data", data] + list(args), capture_output=True, text=True)
    if check and p.returncode:
        sys.exit("earshot %s: %s" % (" ".join(args), p.stderr))
    return p


pcap = os.path.join(work, "calls.pcap")
subprocess.run([os.path.join(a.build, "gen_calls"), "-o", pcap, "--calls", str(a.calls),
                "--duration", "6", "--seed", "5"], check=True)
es("import", "--no-progress", "--format", "wav", pcap)
ids = [str(c["id"]) for c in json.loads(es("calls", "--json", "--limit", "100000").stdout)]
si = StandIn("whisper")
port = si.start()
si.delay = a.delay
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\ntimeout = 30s\n"
            "backoff = 1s\nbackoff_max = 4s\nmax_attempts = 10\npoll = 100ms\n" % port)
    if not a.legacy_conf:
        f.write("outage_after = 5\noutage_pause = 1s\noutage_pause_max = 4s\n")
es("transcribe", *ids)


def status():
    return json.loads(es("transcribe", "status", "--json").stdout)


njobs = status()["counts"]["queued"]
t0 = time.time()
ws = [subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
      for _ in range(a.workers)]
samples, outage_at, req_at, req_out, paused_seen = [], None, 0, None, False
while True:
    st = status()
    c = st["counts"]
    el = time.time() - t0
    samples.append((el, dict(c)))
    paused_seen = paused_seen or bool(st.get("paused"))
    if outage_at is None and c["done"] >= njobs // 3:
        si.mode, outage_at, req_at = "500", el, len(si.requests)
    if outage_at is not None and si.mode == "500" and el - outage_at >= a.outage:
        si.mode, req_out = "ok", len(si.requests) - req_at
    if c["done"] + c["failed"] >= njobs or el > 600:
        break
    time.sleep(0.5)
took = time.time() - t0
for w in ws:
    w.terminate()
    w.wait()
st = status()
jobs = st["jobs"]
retried = [j for j in jobs if j["attempts"] > 0]
# FIFO: the jobs never retried finish in queue (id) order, up to the
# workers' overlap
plain = sorted((j for j in jobs if j["attempts"] == 0), key=lambda j: j["updated"])
order = [(j["call"], j["channel"]) for j in plain]
queue_order = [(j["call"], j["channel"]) for j in jobs if j["attempts"] == 0]  # by job id
inversions = sum(1 for i, x in enumerate(order) if queue_order.index(x) < i - a.workers)
print("jobs %d, workers %d, engine delay %.2f s, outage %.1f s at %.1f s" %
      (njobs, a.workers, a.delay, a.outage, outage_at or -1))
print("drained in %.1f s: %.1f jobs/s; done %d, failed %d; jobs retried %d (%d failed attempts)"
      % (took, njobs / took, st["counts"]["done"], st["counts"]["failed"], len(retried),
         sum(j["attempts"] for j in jobs)))
print("engine requests %d (jobs %d + failed attempts %d)" %
      (len(si.requests), njobs, sum(j["attempts"] for j in jobs)))
print("engine requests during the %.0f s outage: %s; a worker was seen paused: %s" %
      (a.outage, req_out, paused_seen))
print("out of queue order (never retried): %d of %d" % (inversions, len(plain)))
print("status while draining (s: queued/running/retry/done):")
step = max(1, len(samples) // 12)
for el, c in samples[::step] + [samples[-1]]:
    print("  %5.1f  %4d %2d %3d %4d" % (el, c["queued"], c["running"], c["retry"], c["done"]))
si.stop()
