"""Transcription through an OpenAI-compatible *protocol stand-in*
(asrstandin.py: POST /v1/audio/transcriptions, multipart "file", "model",
response_format=verbose_json, timestamp_granularities[]=word, a bearer
token; top-level words[] in the reply; no model runs here): the token
comes from a file and is sent, a wrong one is a 401 that is not retried
(failed at once, visible in status), and a 10-minute call goes through in
one request with its words at the right times."""
import json
import os

from asrstandin import StandIn
from estest import Results, calls_json, earshot, import_capture, tmpdir
from talkgen import gen_call

res = Results()
work = tmpdir("earshot-tr-openai-")
data = os.path.join(work, "data")
# a 10-minute call from 300 s sources that gen_calls loops: the caller
# speaks at 1-3 and 290-295 s of each loop, the callee at 150-152 s
pl = gen_call(work, "long", [(1.0, 3.0), (290.0, 295.0)], [(150.0, 152.0)], 300, 21)
pl10 = os.path.join(work, "long10.pcap")
from estest import BUILD, run
run([os.path.join(BUILD, "gen_calls"), "-o", pl10, "--codec", "pcma", "--calls", "1",
     "--duration", "600", "--seed", "21", "--audio-caller", os.path.join(work, "long_a.wav"),
     "--audio-callee", os.path.join(work, "long_b.wav")])
pl = pl10
p, summary = import_capture(data, pl, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
call = calls_json(data)[0]["id"]

si = StandIn("openai", token="s3cret-token")
port = si.start()
tok = os.path.join(work, "token")
with open(tok, "w") as f:
    f.write("wrong-token\n")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = openai\nurl = http://127.0.0.1:%d/\nmodel = whisper-1\n"
            "token_file = %s\ntimeout = 60s\nbackoff = 1s\n" % (port, tok))

earshot(data, "transcribe", str(call))
p = earshot(data, "transcribe", "run", "-c", conf, "--once")
st = json.loads(earshot(data, "transcribe", "status", "--json").stdout)
res.check(st["counts"]["failed"] == 2 and all("HTTP 401" in j["error"] for j in st["jobs"]),
          "a refused token fails at once: %r" % st)
res.check("wrong-token" not in p.stdout + p.stderr, "the token is never printed")

with open(tok, "w") as f:
    f.write("s3cret-token\n")
earshot(data, "transcribe", str(call))
earshot(data, "transcribe", "run", "-c", conf, "--once")
st = json.loads(earshot(data, "transcribe", "status", "--json").stdout)
res.check(st["counts"]["done"] == 2, "done: %r" % st["counts"])
req = si.requests[-1]
res.check(req["auth"] == "Bearer s3cret-token", "bearer token sent")
fl = req["fields"]
res.check(fl.get("model") == ["whisper-1"] and fl.get("response_format") == ["verbose_json"] and
          "word" in fl.get("timestamp_granularities[]", []), "request fields %r" % fl)
res.check(abs(req["seconds"] - 600) < 5, "the whole 10 minutes in one request: %.1f s"
          % req["seconds"])
tr = json.loads(earshot(data, "transcribe", "show", str(call), "--json").stdout)
byc = {t["channel"]: t["words"] for t in tr["transcripts"]}
starts = [w["s"] for w in byc["caller"] if w["w"] == "refund"]
# the loop is padded to whole packets: allow a few ms per loop beside 150
want = [1000, 290000, 301000, 590000]
res.check(len(starts) == 4 and all(abs(a - b) <= 300 for a, b in zip(starts, want)),
          "caller word times %r (want about %r)" % (starts, want))
cs = [w["s"] for w in byc["callee"] if w["w"] == "refund"]
res.check(len(cs) == 2 and abs(cs[0] - 150000) <= 300 and abs(cs[1] - 450000) <= 300,
          "callee word times %r" % cs)
res.check(all(w["c"] is None for w in byc["caller"]), "no confidence from this engine: null")
si.stop()
res.finish()
