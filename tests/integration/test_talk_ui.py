"""The call page's speaker timeline (web/timeline.js, docs/ANALYTICS.md) in
Chromium (tests/browser/timeline_test.mjs through playwright-core) against
a real `earshot serve` on a free port: a generated call whose parties send
tone bursts in known spans (test_talk.py's call A) shows one bar per
speech segment at its time, the summary, and a click on a bar seeks the
player (skipped, not failed, without node or chromium)."""
import os
import subprocess
import sys

from estest import (CHROMIUM, EARSHOT, Results, browser_ready, calls_json, free_port,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)
from talkgen import A, gen_call

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
why = browser_ready()
if why:
    skip(why)
HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
res = Results()
work = tmpdir("earshot-talk-ui-")
data = os.path.join(work, "data")
p, summary = import_capture(data, gen_call(work, "a", A[0], A[1], 30, 11), extra=("--format", "wav"))
if p.returncode != 0 or not summary or summary["recordings"] != 1:
    raise RuntimeError("import: %s" % p.stderr)
call = calls_json(data)[0]["id"]
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "supervisor", "--password-stdin"],
    input=PW + "\n")
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="sup1",
                   UI_PASSWORD=PW, UI_CALL=str(call), UI_OUT=os.path.join(work, "screenshots"),
                   CHROMIUM=CHROMIUM)
        p = subprocess.run(["node", "timeline_test.mjs"], cwd=BROWSER_DIR, env=env,
                           capture_output=True, text=True, timeout=180)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        res.check(p.returncode == 0, "the speaker timeline in the browser")
finally:
    http_stop(server)
res.finish()
