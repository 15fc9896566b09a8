"""Transcription through a Vosk server *protocol stand-in* (asrstandin.py:
a WebSocket, the {"config": {"sample_rate", "words": 1}} frame, binary
16-bit PCM frames each answered by a "partial" or a "result", {"eof" : 1}
answered by the final result; no model runs here): the results of the
stream and the final one make the words, with their times; a server that
drops the connection mid-stream leaves the job to retry (nothing partial is
stored); a wss:// URL is refused plainly; a [rule] with transcribe = yes
has its recorded calls queued by `transcribe run`."""
import json
import os

from asrstandin import StandIn
from estest import Results, calls_json, earshot, import_capture, show_json, tmpdir
from talkgen import A, gen_call

res = Results()
work = tmpdir("earshot-tr-vosk-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 30, 11)
p, summary = import_capture(data, pa, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
call = calls_json(data)[0]["id"]
si = StandIn("vosk")
port = si.start()
conf = os.path.join(work, "earshot.conf")


def write_conf(url):
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = vosk\nurl = %s\ntimeout = 20s\nbackoff = 1s\n" % url)


def status():
    return json.loads(earshot(data, "transcribe", "status", "--json").stdout)


write_conf("ws://127.0.0.1:%d" % port)
si.mode = "close"
earshot(data, "transcribe", str(call))
p = earshot(data, "transcribe", "run", "-c", conf, "--once")
st = status()
# a dropped connection is the engine's failure: due again, no attempt spent
# ([transcription] outage_after)
res.check(st["counts"]["queued"] == 2 and all(j["attempts"] == 0 for j in st["jobs"]) and
          "closed" in p.stderr and "not counted against the job" in p.stderr,
          "dropped mid-stream: queued again %r %s" % (st, p.stderr[-300:]))
p = earshot(data, "transcribe", "show", str(call), check=False)
res.check(p.returncode == 4, "nothing partial stored (%d)" % p.returncode)

si.mode = "ok"
earshot(data, "transcribe", str(call))
earshot(data, "transcribe", "run", "-c", conf, "--once")
st = status()
res.check(st["counts"]["done"] == 2, "done: %r" % st["counts"])
req = si.requests[-1]
res.check(req["config"] == {"sample_rate": 8000, "words": 1} and req["chunks"] > 10,
          "config frame and PCM chunks: %r" % req)
tr = json.loads(earshot(data, "transcribe", "show", str(call), "--json").stdout)
byc = {t["channel"]: t["words"] for t in tr["transcripts"]}
res.check([w["w"] for w in byc["caller"]] == ["refund", "alpha"] * 4, "caller words %r"
          % [w["w"] for w in byc["caller"]])
res.check(abs(byc["callee"][0]["s"] - 3500) <= 150 and byc["callee"][0]["c"] == 0.91,
          "callee's first word %r" % byc["callee"][0])
res.check([c["id"] for c in calls_json(data, "--text", '"refund bravo"')] == [call],
          "searchable")

write_conf("wss://127.0.0.1:%d" % port)
earshot(data, "transcribe", str(call))
earshot(data, "transcribe", "run", "-c", conf, "--once")
st = status()
res.check(st["counts"]["failed"] == 2 and all("wss://" in j["error"] for j in st["jobs"]),
          "wss refused plainly: %r" % st["jobs"][0]["error"])

# ---- a rule with transcribe = yes: its recorded calls are queued by `run` ----
data2 = os.path.join(work, "data2")
rconf = os.path.join(work, "rules.conf")
with open(rconf, "w") as f:
    f.write("[transcription]\nengine = vosk\nurl = ws://127.0.0.1:%d\n\n"
            "[rule everyone]\naction = record\ntranscribe = yes\n" % port)
p, summary = import_capture(data2, pa, extra=("--format", "wav", "-c", rconf))
res.check(p.returncode == 0 and summary and summary["recordings"] == 1, "import with the rule")
earshot(data2, "transcribe", "run", "-c", rconf, "--once")
st = json.loads(earshot(data2, "transcribe", "status", "--json").stdout)
res.check(st["counts"]["done"] == 2, "queued by the rule and done: %r" % st["counts"])
si.stop()
res.finish()
