"""Bookmarks and clips in the web UI (tests/browser/bookmarks_test.mjs,
Chromium headless with playwright-core): an agent follows #/call/ID?t=2.5
(no audio before Play, Play starts there), adds a bookmark, makes a clip
and plays its link #/clip/N (just the span); 390 px without sideways
scrolling; another agent and an auditor without listening rights get no
clip and no controls.  Afterwards the audit log has the UI's call.bookmark,
call.clip and the clip's call.listen.  Skips (with the reason) without
node/npm or chromium."""
import json
import os
import subprocess
import sys
import time

from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json, earshot,
                    free_port, http_stop, http_wait_up, import_capture, run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
HOST = "127.0.0.1"
PORT = free_port(host=HOST)
PW = "correct horse battery"

why = browser_ready()
if why:
    skip(why)

res = Results()
work = tmpdir("earshot-ui-bookmarks-")
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcmu", "--calls", "1",
     "--duration", "8", "--seed", "5"])
data = os.path.join(work, "data")
p, summary = import_capture(data, pcap)
if p.returncode != 0 or not summary or summary["recordings"] != 1:
    raise RuntimeError("import: %s" % p.stderr)
call = calls_json(data)[0]
caller = call["parties"]["caller"]["user"]
for name, role, numbers in (("red1", "agent", caller), ("blue1", "agent", "+4930999999"),
                            ("aud1", "auditor", "")):
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="red1",
               UI_OTHER="blue1", UI_AUDITOR="aud1", UI_PASSWORD=PW, UI_CALL=str(call["id"]),
               UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
    t0 = time.monotonic()
    p = subprocess.run(["node", "bookmarks_test.mjs"], cwd=BROWSER_DIR, env=env,
                       capture_output=True, text=True, timeout=180)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser bookmarks and clips in %.1f s" % (time.monotonic() - t0))
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))


def audit(action):
    return json.loads(earshot(data, "audit", "--json", "--action", action).stdout)


res.check(any(e["user"] == "red1" and e["outcome"] == "ok" for e in audit("call.bookmark")),
          "the UI's bookmark is audited")
res.check(any(e["user"] == "red1" and e["outcome"] == "ok" for e in audit("call.clip")),
          "the UI's clip is audited")
res.check(any(e["user"] == "red1" and "clip 1: " in e["detail"]
              for e in audit("call.listen")), "the clip's playback is audited with its span")
res.finish()
