"""Redaction in the web UI (tests/browser/redact_test.mjs, Chromium headless
with playwright-core): a supervisor drags across the waveform of a real
speech call, chooses the caller's channel and a reason and confirms; the
page then plays the redacted version.  Afterwards the exported recording's
caller channel is silent over the span (RMS), the callee's is not, and
`earshot verify --all` passes.  Skips (with the reason) without node/npm,
chromium or ../shared/speech."""
import os
import subprocess
import sys
import time

from audiometrics import dbfs, read_wav, rms
from estest import (BUILD, CHROMIUM, EARSHOT, SOURCE, Results, browser_ready, earshot, free_port,
                    have, http_stop, http_wait_up, import_capture, run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
SPEECH = os.path.normpath(os.path.join(SOURCE, "..", "shared", "speech"))
CALLER = os.path.join(SPEECH, "ls_61_70968_0000.wav")
CALLEE = os.path.join(SPEECH, "ps_librivox_0890.wav")
HOST = "127.0.0.1"
PORT = free_port(host=HOST)
PW = "correct horse battery"

why = browser_ready()
if why:
    skip(why)
if not (os.path.exists(CALLER) and os.path.exists(CALLEE)):
    skip("../shared/speech is absent")
if not have("sox"):
    skip("sox not installed")

res = Results()
work = tmpdir("earshot-ui-redact-")
callee8k = os.path.join(work, "callee.wav")
run(["sox", CALLEE, "-r", "8000", "-c", "1", "-b", "16", callee8k])
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcmu", "--calls", "1",
     "--duration", "8", "--seed", "5", "--audio-caller", CALLER, "--audio-callee", callee8k])
data = os.path.join(work, "data")
p, summary = import_capture(data, pcap)
if p.returncode != 0 or not summary or summary["recordings"] != 1:
    raise RuntimeError("import: %s" % p.stderr)
run([EARSHOT, "--data", data, "user", "add", "super1", "--role", "supervisor",
     "--password-stdin"], input=PW + "\n")
orig = os.path.join(work, "orig.wav")
earshot(data, "export", "1", "-o", orig)

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="super1",
               UI_PASSWORD=PW, UI_CALL="1", RED_FROM="1.0", RED_TO="2.5",
               UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
    t0 = time.monotonic()
    p = subprocess.run(["node", "redact_test.mjs"], cwd=BROWSER_DIR, env=env,
                       capture_output=True, text=True, timeout=180)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser redaction in %.1f s" % (time.monotonic() - t0))
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))

red = os.path.join(work, "red.wav")
earshot(data, "export", "1", "-o", red)
rate, o = read_wav(orig)
_, r = read_wav(red)
# the span the UI sent is the drag's (within a pixel or two): measure inside it
a, b = int(1.15 * rate), int(2.35 * rate)
oc, rc_, oe, re_ = (dbfs(rms(o[0], a, b)), dbfs(rms(r[0], a, b)), dbfs(rms(o[1], a, b)),
                    dbfs(rms(r[1], a, b)))
print("UI redaction, 1.15-2.35 s: caller %.1f -> %.1f dBFS, callee %.1f -> %.1f dBFS"
      % (oc, rc_, oe, re_))
res.check(oc > -45 and rc_ < -60, "caller silent over the span: %.1f -> %.1f" % (oc, rc_))
res.check(abs(oe - re_) < 1.5, "callee kept: %.1f vs %.1f" % (oe, re_))
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 0, "verify --all: %s" % p.stdout[-300:])
audit = earshot(data, "audit", "--json", "--action", "call.redact").stdout
res.check('"super1"' in audit and '"ok"' in audit, "the UI's redaction is audited")
res.finish()
