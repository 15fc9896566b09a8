"""The web UI in a browser: `earshot serve` on 127.0.0.1:18090 over a data
folder of generated calls with DTMF, and tests/browser/ui_test.mjs driving
Debian's Chromium headless with playwright-core (from npm): log in, search
by number, open the call, play it to its end at 4x (Range responses
200/206), DTMF markers, mute/solo, verify "ok", log out.  Screenshots are
saved in the work folder and their paths printed.  Skips (with the reason)
without node/npm or chromium."""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

from estest import (free_port, BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json, import_capture,
                    run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
GEN = os.path.join(BUILD, "gen_calls")
HOST = "127.0.0.1"
PORT = free_port(host=HOST)  # no fixed port: any program may hold one
PW = "correct horse battery"

why = browser_ready()
if why:
    skip(why)
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

res = Results()
t_start = time.monotonic()

work = tmpdir("earshot-ui-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "6", "--duration", "8", "--dtmf"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = [c for c in calls_json(data) if c["recording"]]
if not calls:
    raise RuntimeError("the capture has no recorded call")
# a call with DTMF digits, when the generator made one
call = calls[0]
for c in calls:
    show = run([EARSHOT, "--data", data, "show", "--json", str(c["id"])]).stdout
    if '"kind": "dtmf"' in show:
        call = c
        break
detail = json.loads(run([EARSHOT, "--data", data, "show", "--json", str(call["id"])]).stdout)
digits = "".join(e["detail"].split("digit=")[1].split()[0] for e in detail["events"]
                 if e["kind"] == "dtmf" and e.get("recording_offset_s") is not None
                 and 0 <= e["recording_offset_s"] <= detail["recording"]["duration_s"])
number = call["parties"]["caller"]["user"]

run([EARSHOT, "--data", data, "user", "add", "super1", "--role", "supervisor",
     "--password-stdin"], input=PW + "\n")

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    up = False
    for _ in range(100):
        try:
            with urllib.request.urlopen("http://%s:%d/" % (HOST, PORT), timeout=2) as r:
                up = r.status == 200 and b"app.js" in r.read()
                break
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.05)
    if not res.check(up, "server serves the UI on %s:%d" % (HOST, PORT)):
        res.finish()
    # the allow-list: nothing but the UI's files outside /api/
    for path in ("/web/app.js", "/../README.md", "/%2e%2e/README.md", "/index.html/", "/.git/config"):
        try:
            urllib.request.urlopen("http://%s:%d%s" % (HOST, PORT, path), timeout=5)
            st = 200
        except urllib.error.HTTPError as e:
            st = e.code
        res.check(st == 404, "GET %s -> 404: %s" % (path, st))

    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="super1", UI_PASSWORD=PW,
               UI_NUMBER=number, UI_CALL=str(call["id"]), UI_DTMF=digits,
               UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
    t0 = time.monotonic()
    p = subprocess.run(["node", "ui_test.mjs"], cwd=BROWSER_DIR, env=env, capture_output=True,
                       text=True, timeout=180)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser test (call %d, number %s, DTMF %r) in %.1f s" %
              (call["id"], number, digits, time.monotonic() - t0))
    # the ZIP the browser downloaded is a valid evidence bundle
    zpath = os.path.join(work, "screenshots", "evidence.zip")
    if res.check(os.path.exists(zpath), "the browser saved the evidence download"):
        vp = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath], check=False)
        res.check(vp.returncode == 0, "the downloaded evidence verifies: %d %s%s"
                  % (vp.returncode, vp.stdout, vp.stderr))
    # the tag the browser added is in the index, audited
    al = run([EARSHOT, "--data", data, "audit", "--json"], check=False)
    res.check(al.returncode == 0 and "call.tag" in al.stdout and "call.export" in al.stdout,
              "the UI's tag and export are audited")
finally:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
print("test_ui: %.1f s in all; work folder %s" % (time.monotonic() - t_start, work))
res.finish()
