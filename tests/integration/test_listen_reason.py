"""The reason for listening (issue #18): `earshot serve` with [api]
listen_reason = required over generated calls.

a. the API refuses audio without a reason (403 reason_required, audited
   denied), takes ?reason= and X-Listen-Reason, and refuses control
   characters; the reason is in the call.listen audit entry;
b. /api/me says listen_reason = required;
c. in Chromium (tests/browser/listen_reason_test.mjs) Play asks why before
   any audio request, cancel plays nothing, a reason plays and travels with
   the request, the same call is not asked again (skipped without
   node/chromium);
d. with listen_reason = off (the default) audio plays without one.
"""
import os
import sqlite3
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json,  # noqa: E402
                    free_port, http_req, http_stop, http_wait_up, import_capture, run, skip,
                    tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)
HOST, PW = "127.0.0.1", "correct horse battery"
res = Results()
work = tmpdir("earshot-reason-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "5", "--calls", "3", "--duration", "4"])
p, _ = import_capture(data, pcap)
calls = [c for c in calls_json(data) if c.get("recording")]
if p.returncode != 0 or not calls:
    raise RuntimeError("import: %s" % p.stderr)
call = calls[0]["id"]
run([EARSHOT, "--data", data, "user", "add", "super1", "--role", "supervisor",
     "--password-stdin"], input=PW + "\n")


def serve(mode):
    conf = os.path.join(work, "%s.conf" % mode)
    with open(conf, "w") as f:
        f.write("[api]\nlisten_reason = %s\n" % mode)
    port = free_port()
    proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                             "--web", WEB_DIR, "-c", conf], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, port


def session(port):
    st, hd, b = http_req(HOST, port, "POST", "/api/login", {"name": "super1", "password": PW})
    return hd["set-cookie"].split("=", 1)[1].split(";")[0]


server, port = serve("required")
try:
    if not res.check(http_wait_up(HOST, port, server), "server up"):
        raise SystemExit(res.finish())
    ck = session(port)
    st, _, b = http_req(HOST, port, "GET", "/api/me", cookie=ck)
    res.check(b.get("listen_reason") == "required", "b. /api/me: listen_reason required: %s"
              % b.get("listen_reason"))
    path = "/api/calls/%d/audio" % call
    st, _, b = http_req(HOST, port, "GET", path, cookie=ck, headers={"Range": "bytes=0-99"})
    res.check(st == 403 and b.get("error") == "reason_required",
              "a. audio without a reason: 403 reason_required: %d %s" % (st, b))
    st, _, b = http_req(HOST, port, "GET", path + "?reason=", cookie=ck)
    res.check(st == 403, "an empty reason is none: %d" % st)
    st, _, b = http_req(HOST, port, "GET", path + "?reason=" + urllib.parse.quote("a\nb"),
                        cookie=ck)
    res.check(st == 400, "a reason with a line break: 400: %d" % st)
    st, _, b = http_req(HOST, port, "GET", path + "?reason=" + urllib.parse.quote("x" * 201),
                        cookie=ck)
    res.check(st == 400, "a reason over 200 bytes: 400: %d" % st)
    st, _, b = http_req(HOST, port, "GET", path + "?reason=" + urllib.parse.quote("complaint 4711"),
                        cookie=ck, headers={"Range": "bytes=0-99"}, raw=True)
    res.check(st == 206 and len(b) == 100, "with ?reason= it plays: %d" % st)
    why = browser_ready()
    if why:
        res.skip("c. browser part: %s" % why)
    else:
        env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, port), UI_USER="super1",
                   UI_PASSWORD=PW, UI_CALL=str(calls[1]["id"]), UI_REASON="QA review 12",
                   CHROMIUM=CHROMIUM)
        p = subprocess.run(["node", "listen_reason_test.mjs"], cwd=BROWSER_DIR, env=env,
                           capture_output=True, text=True, timeout=120)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        res.check(p.returncode == 0, "c. the player asks why before the first playback")
finally:
    http_stop(server)

server, port = serve("off")
try:
    if res.check(http_wait_up(HOST, port, server), "server up (off)"):
        st, _, _ = http_req(HOST, port, "GET", "/api/calls/%d/audio" % call,
                            cookie=session(port), headers={"Range": "bytes=0-9"}, raw=True)
        res.check(st == 206, "d. listen_reason = off: audio without a reason: %d" % st)
finally:
    http_stop(server)

db = sqlite3.connect(os.path.join(data, "index.sqlite"))
rows = db.execute("SELECT object, outcome, detail FROM audit WHERE action = 'call.listen'"
                  " AND user = 'super1' ORDER BY seq").fetchall()
db.close()
res.check(any(o == "denied" and "no reason" in d for _, o, d in rows),
          "the refusal is audited: %s" % rows[:2])
res.check(any(o == "ok" and d.startswith("reason: complaint 4711;") for _, o, d in rows),
          "a. the reason is in the call.listen entry: %s" % [d for _, o, d in rows if o == "ok"])
if not why:
    res.check(any(o == "ok" and d.startswith("reason: QA review 12;") and str(calls[1]["id"]) in ob
                  for ob, o, d in rows), "c. the browser's reason is audited for its call")
res.finish()
