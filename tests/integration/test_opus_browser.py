"""Chromium plays an Ogg/Opus recording earshot wrote (src/media/oggopus.c)
through the real `earshot serve` on a free port (tests/browser/
opus_play_test.mjs through playwright-core): the <audio> element's
duration is the recording's (the end trim honoured) and currentTime
advances while it plays, and Web Audio decodes it to two distinct channels
of that length (the two parties' streams, RFC 7845 mapping family 1)
(skipped, not failed, without node or chromium)."""
import os
import subprocess
import sys
import wave

from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json, earshot,
                    free_port, http_stop, http_wait_up, import_capture, run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
why = browser_ready()
if why:
    skip(why)
HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
res = Results()
work = tmpdir("earshot-opus-browser-")
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--calls", "1", "--duration", "6",
     "--seed", "9"])
data = os.path.join(work, "data")
p, summary = import_capture(data, pcap)
if p.returncode != 0 or not summary or summary["recordings"] != 1:
    raise RuntimeError("import: %s" % p.stderr)
call = calls_json(data)[0]["id"]
# The recording's exact length: its decoded frames.
wav = os.path.join(work, "rec.wav")
earshot(data, "export", str(call), "-o", wav)
with wave.open(wav) as w:
    seconds = w.getnframes() / w.getframerate()
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "supervisor", "--password-stdin"],
    input=PW + "\n")
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="sup1",
                   UI_PASSWORD=PW, UI_CALL=str(call), UI_SECONDS="%.4f" % seconds,
                   CHROMIUM=CHROMIUM)
        p = subprocess.run(["node", "opus_play_test.mjs"], cwd=BROWSER_DIR, env=env,
                           capture_output=True, text=True, timeout=180)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        res.check(p.returncode == 0, "Chromium plays the Ogg/Opus recording")
finally:
    http_stop(server)
res.finish()
