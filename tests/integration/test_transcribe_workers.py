"""Two transcription workers (`earshot transcribe run`, two processes) over
one queue: every job runs exactly once.  The whisper protocol stand-in
(asrstandin.py) answers each request after a short delay, so both workers
are at a job at once; the second worker starts while the first holds a
running job (a start used to requeue every running job, so the second
worker ran the first one's job again).  The claim is one conditional UPDATE
(index/transcripts.c); each job names its worker ("host:pid") and a start
requeues only the jobs of workers that are gone.  With the argument --pg
the index is a throwaway PostgreSQL (test_pg_transcribe_workers.py)."""
import json
import os
import subprocess
import sys
import time

from asrstandin import StandIn
from estest import EARSHOT, PgCluster, Results, calls_json, earshot, import_capture, tmpdir
from talkgen import A, B, gen_call

NCALLS = 4          # stereo: 8 jobs
DELAY = 0.4         # seconds per engine request


def main(res, data, work):
    pcaps = [gen_call(work, "c%d" % i, (A if i % 2 else B)[0], (A if i % 2 else B)[1], 12, 20 + i)
             for i in range(NCALLS)]
    p, summary = import_capture(data, *pcaps, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary and summary["recordings"] == NCALLS,
                     "import: %d %s" % (p.returncode, p.stderr)):
        return
    ids = [c["id"] for c in calls_json(data)]
    si = StandIn("whisper")
    port = si.start()
    si.delay = DELAY
    conf = os.path.join(work, "earshot.conf")
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
                "timeout = 20s\nbackoff = 1s\nmax_attempts = 3\npoll = 100ms\n" % port)
    earshot(data, "transcribe", *[str(i) for i in ids])

    def status():
        return json.loads(earshot(data, "transcribe", "status", "--json").stdout)

    def worker():
        return subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    w1 = worker()
    t0, seen = time.time(), {}
    while time.time() - t0 < 30:
        seen = status()["counts"]
        if seen["running"] >= 1:
            break
        time.sleep(0.05)
    res.check(seen["running"] == 1, "the first worker holds a job: %r" % seen)
    w2 = worker()
    t0 = time.time()
    while time.time() - t0 < 60:
        st = status()
        if st["counts"]["done"] + st["counts"]["failed"] == 2 * NCALLS:
            break
        time.sleep(0.2)
    for w in (w1, w2):
        w.terminate()
    errs = [w.communicate(timeout=30)[1] for w in (w1, w2)]
    res.check(all(w.returncode == 0 for w in (w1, w2)),
              "workers stop on SIGTERM: %r %r" % ([w.returncode for w in (w1, w2)], errs))
    st = status()
    res.check(st["counts"]["done"] == 2 * NCALLS, "every job done: %r" % st["counts"])
    res.check(all(j["attempts"] == 0 for j in st["jobs"]), "no job failed")
    # the engine saw each channel once: one request per job, no more
    res.check(len(si.requests) == 2 * NCALLS,
              "engine requests %d for %d jobs (a job ran twice)" % (len(si.requests), 2 * NCALLS))
    res.check("left running" not in errs[1],
              "the second worker requeued none of the first's jobs: %s" % errs[1][-300:])
    si.stop()


if __name__ == "__main__":
    res = Results()
    work = tmpdir("earshot-tr-workers-")
    data = os.path.join(work, "data")
    if "--pg" in sys.argv[1:]:
        with PgCluster() as pg:
            os.environ["EARSHOT_INDEX"] = pg.fresh()
            main(res, data, work)
    else:
        main(res, data, work)
    res.finish()
