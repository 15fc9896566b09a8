"""Transcription through a whisper.cpp server *protocol stand-in*
(asrstandin.py: the documented POST /inference multipart request and
verbose_json reply; no model runs here) end to end: a generated call's
channels are queued and sent separately, errors (HTTP 500, malformed JSON,
a timeout) are retried with backoff and visible in `transcribe status
--json`, a segment without word times still gives timed words, the words
come back with the times of the audio, the transcript is stored encrypted
and searched by word, phrase, prefix and party (`calls --text`); the queue
survives a worker killed mid-job and an engine restart mid-queue; deleting
the recording removes the transcript."""
import json
import os
import signal
import subprocess
import time

from asrstandin import StandIn
from estest import (EARSHOT, Results, calls_json, earshot, import_capture, show_json, tmpdir)
from talkgen import A, B, gen_call

res = Results()
work = tmpdir("earshot-tr-whisper-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 30, 11)
pb = gen_call(work, "b", B[0], B[1], 30, 12)
p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
# call A has overtalk, call B none (talkgen.py)
ids = {("a" if show_json(data, c["id"])["talk"]["overtalk_ms"] > 0 else "b"): c["id"]
       for c in calls_json(data)}
ca, cb = ids["a"], ids["b"]

si = StandIn("whisper")
port = si.start()
conf = os.path.join(work, "earshot.conf")


def write_conf(timeout="3s", extra=""):
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
                "timeout = %s\nbackoff = 1s\nbackoff_max = 2s\nmax_attempts = 6\n"
                "poll = 200ms\noutage_pause = 1s\n%s" % (port, timeout, extra))


write_conf()


def status():
    return json.loads(earshot(data, "transcribe", "status", "--json").stdout)


def run_once(check=True):
    return earshot(data, "transcribe", "run", "-c", conf, "--once", check=check)


def job(st, call, channel):
    return [j for j in st["jobs"] if j["call"] == call and j["channel"] == channel][0]


# ---- queue, then failures that are retried ----
p = earshot(data, "transcribe", str(ca))
res.check("queued 2 job(s)" in p.stdout, "queue: %r" % p.stdout)
si.mode = "500"
p = run_once()
st = status()
j = job(st, ca, "caller")
# the engine's failure (5xx, a timeout, no connection) is not the job's: due
# again, no attempt spent ([transcription] outage_after)
res.check(j["state"] == "queued" and j["attempts"] == 0 and "HTTP 500" in p.stderr and
          "not counted against the job" in p.stderr, "after a 500: %r %s" % (j, p.stderr))
res.check(st["counts"]["queued"] == 2, "both channels wait: %r" % st["counts"])


def gap(j):
    """next try - last failure, seconds (from the JSON's UTC times)."""
    from datetime import datetime
    f = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(j["next_try"], f) - datetime.strptime(j["updated"], f)).total_seconds()


si.mode = "badjson"
run_once()
j = job(status(), ca, "caller")
res.check(j["state"] == "retry" and j["attempts"] == 1 and "JSON" in (j["error"] or "") and
          abs(gap(j) - 1.0) < 0.01, "malformed JSON (the job's failure), first backoff 1 s: %r" % j)
time.sleep(1.2)
si.mode = "badjson"
run_once()
j = job(status(), ca, "caller")
res.check(j["attempts"] == 2 and "JSON" in (j["error"] or "") and abs(gap(j) - 2.0) < 0.01,
          "malformed JSON, backoff doubled: %r" % j)
time.sleep(2.2)
si.mode = "slow"
t0 = time.time()
p = run_once()
j = job(status(), ca, "caller")
res.check(j["attempts"] == 2 and j["state"] == "queued" and "timeout" in p.stderr.lower() and
          time.time() - t0 < 20,
          "timeout (the engine's): queued again, no attempt spent: %r after %.1f s" %
          (j, time.time() - t0))

# ---- the engine answers: words with the audio's times, per channel ----
time.sleep(2.2)
si.mode = "ok"
run_once()
st = status()
res.check(st["counts"]["done"] == 2, "done: %r" % st["counts"])
req = si.requests[-1]
res.check(req["fields"].get("response_format") == ["verbose_json"] and req["rate"] == 8000 and
          req["seconds"] > 20, "request: %r" % req)
tr = json.loads(earshot(data, "transcribe", "show", str(ca), "--json").stdout)
byc = {t["channel"]: t for t in tr["transcripts"]}
cw = [w["w"] for w in byc["caller"]["words"]]
ew = [w["w"] for w in byc["callee"]["words"]]
res.check(cw == ["refund", "alpha"] * 4, "caller words %r" % cw)
res.check(ew == ["refund", "bravo"] * 2, "callee words %r" % ew)
# the first caller burst starts 0.5 s into the call, the callee's at 3.5 s
# (the recording starts with the first packet: within 0.15 s)
c0, e0 = byc["caller"]["words"][0]["s"], byc["callee"]["words"][0]["s"]
res.check(abs(c0 - 500) <= 150 and abs(e0 - 3500) <= 150, "word times %d %d" % (c0, e0))
res.check(byc["caller"]["words"][0]["c"] == 0.91, "confidence kept")
# stored encrypted: no plaintext word in the data folder's transcript files
tdir = os.path.join(data, "transcripts")
files = [os.path.join(dp, f) for dp, _, fs in os.walk(tdir) for f in fs]
res.check(len(files) == 2 and all(b"refund" not in open(f, "rb").read() for f in files),
          "transcripts sealed: %r" % files)

# ---- search ----
def found(*args):
    return [c["id"] for c in calls_json(data, *args)]


res.check(found("--text", "refund") == [ca], "word")
res.check(found("--text", '"refund alpha"') == [ca], "phrase")
res.check(found("--text", '"alpha refund"') == [ca], "phrase across bursts")
res.check(found("--text", '"bravo alpha"') == [], "no such phrase")
res.check(found("--text", "alp*") == [ca], "prefix")
res.check(found("--text", "alpha", "--text-party", "callee") == [], "party: callee")
res.check(found("--text", "bravo", "--text-party", "callee") == [ca], "party: callee 2")
p = earshot(data, "calls", "--text", " * ", check=False)
res.check(p.returncode == 2, "no word: usage (%d)" % p.returncode)

# ---- a segment without word times: spread over the segment ----
si.mode = "nowords"
earshot(data, "transcribe", str(cb))
run_once()
tr = json.loads(earshot(data, "transcribe", "show", str(cb), "--json").stdout)
ws = {t["channel"]: t for t in tr["transcripts"]}["caller"]["words"]
res.check(len(ws) >= 2 and ws[0]["c"] is None and ws[0]["s"] < ws[1]["s"],
          "segment text spread: %r" % ws[:2])

# ---- the worker killed mid-job: the next start resumes ----
si.mode = "slow"
earshot(data, "transcribe", str(ca))
w = subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
for _ in range(100):
    if any(j["state"] == "running" for j in status()["jobs"]):
        break
    time.sleep(0.1)
w.send_signal(signal.SIGKILL)
w.wait()
res.check(any(j["state"] == "running" for j in status()["jobs"]), "left running")
si.mode = "ok"
run_once()
st = status()
res.check(st["counts"]["done"] == 4 and st["counts"]["running"] == 0,
          "resumed after kill -9: %r" % st["counts"])

# ---- the engine restarts mid-queue: jobs fail, wait, then go through ----
earshot(data, "transcribe", str(ca), str(cb))
si.stop()
w = subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
for _ in range(100):
    if status()["paused"]:
        break
    time.sleep(0.1)
st = status()
res.check(st["paused"] and st["counts"]["failed"] == 0 and st["counts"]["retry"] == 0,
          "engine down: the worker pauses, the jobs wait unspent %r" % st["counts"])
si = StandIn("whisper")
si.start(port)
for _ in range(150):
    if status()["counts"]["done"] == 4:
        break
    time.sleep(0.1)
w.send_signal(signal.SIGTERM)
out, err = w.communicate(timeout=30)
res.check(status()["counts"]["done"] == 4 and w.returncode == 0,
          "after the engine came back: %r rc %d %s" % (status()["counts"], w.returncode, err))

# ---- deleting the recording takes the transcript with it ----
earshot(data, "delete", str(ca), "--yes")
res.check(found("--text", "refund") == [cb] or found("--text", "refund") == [],
          "deleted call not found: %r" % found("--text", "refund"))
res.check(ca not in found("--text", "refund"), "deleted: not searchable")
files = [f for dp, _, fs in os.walk(tdir) for f in fs]
res.check(len(files) == 2, "deleted call's transcript files gone: %r" % files)
res.check(all(j["call"] != ca for j in status()["jobs"]), "its jobs gone")
si.stop()
res.finish()
