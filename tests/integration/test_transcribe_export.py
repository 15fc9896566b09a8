"""Transcripts in the ZIP export (POST /api/export.zip): a transcribed call
(the whisper protocol stand-in, asrstandin.py) exported by a supervisor
carries each channel's stored transcript (the words with their times,
decrypted, as `earshot transcribe show --json` prints them) beside its
audio, named in the manifest's "transcripts"; a call without a transcript
has an empty list.  Before: the ZIP had the audio only.  `earshot export`
(CLI) writes them beside the audio, or into a .zip with the same manifest;
--no-transcripts leaves them out."""
import io
import json
import os
import subprocess
import zipfile

from asrstandin import StandIn
from estest import (EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, run, tmpdir)
from talkgen import A, B, gen_call

res = Results()
work = tmpdir("earshot-tr-export-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 12, 41)
pb = gen_call(work, "b", B[0], B[1], 12, 42)
p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
ca, cb = [c["id"] for c in calls_json(data)]
si = StandIn("whisper")
port = si.start()
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n" % port)
earshot(data, "transcribe", str(ca))
earshot(data, "transcribe", "run", "-c", conf, "--once")
shown = json.loads(earshot(data, "transcribe", "show", str(ca), "--json").stdout)
want = {t["channel"]: t for t in shown["transcripts"]}
res.check(set(want) == {"caller", "callee"}, "both channels transcribed: %r" % list(want))

# `earshot export` (CLI) carries them too: beside an audio file, inside a
# .zip with a manifest naming them as the API's does; --no-transcripts
# leaves them out.  Before: the CLI wrote the audio only.
names = ["call-%d.transcript.%s.json" % (ca, ch) for ch in ("caller", "callee")]
out = os.path.join(work, "cli")
os.makedirs(out)
p = run([EARSHOT, "--data", data, "export", str(ca), "-o", os.path.join(out, "a.wav")],
        check=False)
res.check(p.returncode == 0 and sorted(os.listdir(out)) == sorted(["a.wav"] + names),
          "CLI export: the transcripts beside the audio: %d %r %s" %
          (p.returncode, sorted(os.listdir(out)), p.stderr))
for ch, n in zip(("caller", "callee"), names):
    path = os.path.join(out, n)
    got = json.load(open(path)) if os.path.exists(path) else None
    res.check(got == want.get(ch) and got["words"] and
              all("s" in w and "w" in w for w in got["words"]) and
              (os.stat(path).st_mode & 0o077) == 0,
              "CLI %s: the stored (masked, timed) transcript, private to its user" % n)
p = run([EARSHOT, "--data", data, "export", str(ca), "--format", "flac", "-o",
         os.path.join(work, "ca.zip")], check=False)
if res.check(p.returncode == 0, "CLI export to a ZIP: %d %s" % (p.returncode, p.stderr)):
    z = zipfile.ZipFile(os.path.join(work, "ca.zip"))
    man = json.loads(z.read("manifest.json"))
    c = man["calls"][0]
    res.check(c["id"] == ca and c["file"] == "call-%d.flac" % ca and
              c.get("transcripts") == names and
              sorted(z.namelist()) == sorted(["manifest.json", c["file"]] + names),
              "the ZIP's manifest names the audio and transcripts: %r %r" % (man, z.namelist()))
    res.check(all(json.loads(z.read(n)) == want.get(ch)
                  for ch, n in zip(("caller", "callee"), names)),
              "the ZIP's transcripts are the stored ones")
p = run([EARSHOT, "--data", data, "export", str(ca), "--no-transcripts", "-o",
         os.path.join(work, "nt.zip")], check=False)
if res.check(p.returncode == 0, "--no-transcripts: %d %s" % (p.returncode, p.stderr)):
    z = zipfile.ZipFile(os.path.join(work, "nt.zip"))
    res.check(json.loads(z.read("manifest.json"))["calls"][0]["transcripts"] == [] and
              len(z.namelist()) == 2, "--no-transcripts: audio and manifest only")
out2 = os.path.join(work, "cli2")
os.makedirs(out2)
p = run([EARSHOT, "--data", data, "export", str(cb), "-o", os.path.join(out2, "b.wav")],
        check=False)
res.check(p.returncode == 0 and os.listdir(out2) == ["b.wav"],
          "a call without a transcript: the audio only %r" % os.listdir(out2))

run([EARSHOT, "--data", data, "user", "add", "sup", "--role", "supervisor", "--password-stdin"],
    input="correct horse battery\n")
token = json.loads(run([EARSHOT, "--data", data, "user", "token", "sup", "--json"]).stdout)["token"]
host, hport = "127.0.0.1", free_port()
srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (host, hport)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(host, hport, srv), "server up"):
        st, _, body = http_req(host, hport, "POST", "/api/export.zip",
                               body={"ids": [str(ca), str(cb)], "format": "wav"}, raw=True,
                               timeout=60, headers={"Authorization": "Bearer " + token})
        res.check(st == 200, "ZIP: %d" % st)
        z = zipfile.ZipFile(io.BytesIO(body))
        man = json.loads(z.read("manifest.json"))
        by = {c["id"]: c for c in man["calls"]}
        names = ["call-%d.transcript.%s.json" % (ca, ch) for ch in ("caller", "callee")]
        res.check(by[ca].get("transcripts") == names, "manifest names them: %r" % by[ca])
        res.check(by[cb].get("transcripts") == [], "no transcript, none listed: %r" % by[cb])
        for ch, n in zip(("caller", "callee"), names):
            got = json.loads(z.read(n)) if n in z.namelist() else None
            res.check(got == want.get(ch), "%s in the ZIP is the stored transcript" % n)
            res.check(got and got["words"] and all("s" in w and "w" in w for w in got["words"]),
                      "%s has timed words" % n)
finally:
    http_stop(srv)
    si.stop()
res.finish()
