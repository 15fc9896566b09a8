"""The transcription worker inside `earshot record` (before: [transcription]
was an unknown section there and only `serve` and `transcribe run` ran
jobs).  A recorder capturing on lo with [transcription] runs the queued
jobs of an imported call through the whisper protocol stand-in
(asrstandin.py); SIGTERM stops it at once even while a request is under
way (the request is given up and the job queued again, no attempt
counted); with `worker = no` the recorder leaves the queue alone."""
import json
import os
import signal
import subprocess
import time

from asrstandin import StandIn
import estest
from estest import EARSHOT, Results, calls_json, earshot, free_port, import_capture, tmpdir
from talkgen import A, gen_call

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
res = Results()
work = tmpdir("earshot-tr-record-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 10, 31)
p, summary = import_capture(data, pa, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
call = calls_json(data)[0]["id"]
si = StandIn("whisper")
port = si.start()
conf = os.path.join(work, "earshot.conf")


def write_conf(extra=""):
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
                "timeout = 60s\nbackoff = 1s\npoll = 100ms\n%s" % (port, extra))


def counts():
    return json.loads(earshot(data, "transcribe", "status", "--json").stdout)["counts"]


def record():
    # a filter nothing matches: the recorder captures, no call comes
    return subprocess.Popen([EARSHOT, "--data", data, "record", "-c", conf, "-i", "lo",
                             "--filter", "udp port %d" % free_port(udp=True)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait(pred, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        c = counts()
        if pred(c):
            return c
        time.sleep(0.2)
    return counts()


def stop(r):
    t0 = time.time()
    r.send_signal(signal.SIGTERM)
    try:
        _, err = r.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        r.kill()
        _, err = r.communicate()
    return r.returncode, time.time() - t0, err


write_conf()
earshot(data, "transcribe", str(call))
r = record()
c = wait(lambda c: c["done"] == 2)
res.check(c["done"] == 2, "the recorder ran both jobs: %r" % c)
rc, took, err = stop(r)
res.check(rc == 0, "recorder stops cleanly: %d %s" % (rc, err[-400:]))

# a request under way when SIGTERM comes: given up, the job queued again
si.mode = "slow"
earshot(data, "transcribe", str(call))
r = record()
c = wait(lambda c: c["running"] >= 1)
res.check(c["running"] == 1, "a job under way: %r" % c)
rc, took, err = stop(r)
res.check(rc == 0 and took < 10, "stopped mid-request in %.1f s: %d %s" % (took, rc, err[-400:]))
st = json.loads(earshot(data, "transcribe", "status", "--json").stdout)
res.check(st["counts"]["running"] == 0 and st["counts"]["queued"] == 2
          and all(j["attempts"] == 0 for j in st["jobs"]),
          "the job is queued again, no attempt counted: %r" % st["counts"])

# worker = no: the recorder leaves the queue to other workers
si.mode = "ok"
write_conf("worker = no\n")
n = len(si.requests)
r = record()
time.sleep(2)
res.check(r.poll() is None, "the recorder runs with worker = no")
rc, took, err = stop(r)
res.check(rc == 0 and len(si.requests) == n and counts()["queued"] == 2,
          "worker = no: no job run (%d requests)" % (len(si.requests) - n))
si.stop()
res.finish()
