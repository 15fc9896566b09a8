"""The transcription worker's outage pause (issue #19): the engine (the
whisper protocol stand-in, asrstandin.py) answers HTTP 500 to everything
for longer than the jobs' retry budget, then comes back.  Before, every
job spent an attempt on each try and a backlog turned "failed" within
seconds (max_attempts x backoff).  Now the worker stops claiming after
outage_after failures in a row, pauses (doubling up to outage_pause_max),
lets one job probe, and spends no job's attempt on the engine's outage:
zero jobs failed, each job answered once, few requests during the
outage, and the pause is visible in `transcribe status --json` and in
GET /metrics while it lasts.  A request the engine refuses (HTTP 400: the
job's own fault) still fails that job."""
import json
import os
import subprocess
import time

from asrstandin import StandIn
from estest import (EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, show_json, tmpdir)
from talkgen import A, B, gen_call

GOOD = 4            # calls whose 8 jobs the engine answers once it is back
BAD_SEED = 70       # this call (+493055500070) is refused (400): its 2 jobs fail
OUTAGE = 6.0        # s of HTTP 500: over the old budget (3 attempts, 1 s + 2 s backoff)


def main(res, work):
    data = os.path.join(work, "data")
    pcaps = [gen_call(work, "c%d" % i, (A if i % 2 else B)[0], (A if i % 2 else B)[1], 12,
                      60 + i) for i in range(GOOD)]
    pcaps.append(gen_call(work, "bad", B[0], B[1], 12, BAD_SEED))
    p, summary = import_capture(data, *pcaps, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary and summary["recordings"] == GOOD + 1,
                     "import: %d %s" % (p.returncode, p.stderr)):
        return
    calls = calls_json(data)
    ids = [c["id"] for c in calls]
    # the stand-in tells the refused call by its audio's length
    secs = {c["id"]: show_json(data, c["id"])["recording"]["duration_s"] for c in calls}
    bad_id = [c["id"] for c in calls if "%05d@" % BAD_SEED in c["caller"]][0]
    bad_s = secs.pop(bad_id)
    if not res.check(all(abs(v - bad_s) > 0.2 for v in secs.values()),
                     "the refused call's length is its own: %r %r" % (bad_s, secs)):
        return
    si = StandIn("whisper")
    port = si.start()
    si.reject = lambda req: abs(req["seconds"] - bad_s) < 0.1
    si.mode = "500"
    conf = os.path.join(work, "earshot.conf")
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\ntimeout = 20s\n"
                "backoff = 1s\nbackoff_max = 2s\nmax_attempts = 3\npoll = 100ms\n"
                "outage_after = 3\noutage_pause = 1s\noutage_pause_max = 2s\n" % port)
    earshot(data, "transcribe", *[str(i) for i in ids])

    def status():
        return json.loads(earshot(data, "transcribe", "status", "--json").stdout)

    w = subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    paused = None
    while time.time() - t0 < OUTAGE:
        st = status()
        if paused is None and st.get("paused"):
            paused = st
        time.sleep(0.2)
    res.check(paused is not None and paused["paused_since"] and
              any(x["paused"] and x["engine_errors"] >= 3 and "HTTP 500" in x["last_error"]
                  for x in paused["workers"]),
              "status --json shows the pause: %r" % (paused and {k: paused[k] for k in
                                                      ("paused", "paused_since", "workers")}))
    # /metrics of a server on the same data folder, while the engine is still out
    hport = free_port()
    srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % hport],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if res.check(http_wait_up("127.0.0.1", hport, srv), "server up"):
            st, _, body = http_req("127.0.0.1", hport, "GET", "/metrics")
            text = body.decode() if isinstance(body, bytes) else str(body)
            m = dict(line.split(" ", 1) for line in text.splitlines()
                     if line.startswith("earshot_transcription"))
            res.check(st == 200 and m.get("earshot_transcription_paused") == "1" and
                      float(m.get("earshot_transcription_paused_since_seconds", 0)) > t0 - 5,
                      "/metrics: paused and since when: %r" % m)
    finally:
        rc, serr = http_stop(srv)
        res.check(rc == 0 and "Sanitizer" not in serr and "runtime error" not in serr,
                  "the server stopped cleanly: %r %s" % (rc, serr[-1000:]))
    during = len(si.requests)
    mid = status()["counts"]
    si.mode = "ok"
    while time.time() - t0 < 60:
        st = status()
        if st["counts"]["done"] + st["counts"]["failed"] == 2 * (GOOD + 1):
            break
        time.sleep(0.2)
    back = status()
    w.terminate()
    out, err = w.communicate(timeout=30)
    res.check(w.returncode == 0 and "Sanitizer" not in err and "runtime error" not in err,
              "the worker stops cleanly on SIGTERM: %r %s" % (w.returncode, err[-500:]))
    by = {}
    for j in back["jobs"]:
        by.setdefault(j["state"], []).append(j)
    res.check(mid["failed"] == 0, "no job failed during the outage: %r" % mid)
    # the outage: outage_after failures, then one probe a pause (1 s, 2 s, 2 s...)
    res.check(during <= 3 + int(OUTAGE) + 2,
              "engine requests during %.0f s of outage: %d (each job tried once would be %d)"
              % (OUTAGE, during, 2 * (GOOD + 1)))
    res.check(len(by.get("done", [])) == 2 * GOOD and
              all(j["attempts"] == 0 for j in by.get("done", [])),
              "every good job done, no attempt spent: %r" % back["counts"])
    res.check(len(si.answered) == 2 * GOOD,
              "each job answered once: %d answers for %d jobs" % (len(si.answered), 2 * GOOD))
    bad = by.get("failed", [])
    res.check(len(bad) == 2 and all(j["attempts"] == 1 and "HTTP 400" in (j["error"] or "")
                                    for j in bad),
              "the refused call's jobs failed at once (the job's fault): %r" % bad)
    res.check(not back["paused"] and all(not x["paused"] for x in back["workers"]),
              "the pause is over once the engine answers: %r" % back["workers"])
    res.check("not counted against the job" in err and "no job is claimed" in err,
              "the log says why: %s" % err[-800:])
    si.stop()


if __name__ == "__main__":
    res = Results()
    main(res, tmpdir("earshot-tr-outage-"))
    res.finish()
