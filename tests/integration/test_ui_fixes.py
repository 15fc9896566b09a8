"""The web UI's defects of issue #18 ("fix what is there"), in Chromium
(tests/browser/ui_fixes_test.mjs through playwright-core) against a real
`earshot serve` on a free port over 28 generated calls, as an admin, a
supervisor, an agent (one number) and an auditor without the listen grant,
at 1366 px and 390 px: controls follow the role (the hidden attribute
wins), no audio or peaks request before Play, an empty page while a call
loads and under a 404, "More" loads a page once, a number typed with
spaces finds the call, local times with UTC on hover and filters in the
URL, no sideways scrolling at phone width, human words, page titles, the
skip link, focus after login, contrast >= 3:1, play/pause by keyboard.
Afterwards the audit log has call.listen for the call the supervisor
played and none for the one only opened (skipped without node/chromium)."""
import json
import os
import sqlite3
import subprocess
import sys
import time

from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json, free_port,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
GEN = os.path.join(BUILD, "gen_calls")
why = browser_ready()
if why:
    skip(why)
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
res = Results()
t_start = time.monotonic()
work = tmpdir("earshot-ui-fixes-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
# more calls than one page of the UI (25): "More" has a second page to load
run([GEN, "-o", pcap, "--seed", "11", "--calls", "28", "--duration", "6"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = sorted((c for c in calls_json(data) if c.get("recording")), key=lambda c: c["id"])
if len(calls) < 26:
    skip("the capture gave %d recordings" % len(calls))
opened, played = calls[0], calls[1]
number = opened["parties"]["caller"]["user"]
digits = "".join(ch for ch in number if ch.isdigit())
# the agent's calls: those with its number
agent_calls = [c for c in calls if number in (c["parties"]["caller"]["user"],
                                              c["parties"]["callee"]["user"])]
other = next(c for c in calls if c not in agent_calls)
users = {"admin1": ["--role", "admin"], "super1": ["--role", "supervisor"],
         "agent1": ["--role", "agent", "--numbers", number], "aud1": ["--role", "auditor"]}
for name, args in users.items():
    run([EARSHOT, "--data", data, "user", "add", name] + args + ["--password-stdin"],
        input=PW + "\n")

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_PASSWORD=PW,
               UI_OPENED=str(opened["id"]), UI_PLAYED=str(played["id"]),
               UI_OTHER=str(other["id"]), UI_DIGITS=digits, UI_AGENT_CALLS=str(len(agent_calls)),
               UI_CALLS=str(len(calls_json(data))), UI_OUT=os.path.join(work, "screenshots"),
               CHROMIUM=CHROMIUM)
    t0 = time.monotonic()
    p = subprocess.run(["node", "ui_fixes_test.mjs"], cwd=BROWSER_DIR, env=env,
                       capture_output=True, text=True, timeout=240)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser test of the UI fixes in %.1f s" % (time.monotonic() - t0))
finally:
    http_stop(server)

# call.listen only for real playback: the call the supervisor played, not
# the one every role opened
db = sqlite3.connect(os.path.join(data, "index.sqlite"))


def call_of(obj):
    """the call id of an audit object ("call:12", "call/12", "12")"""
    tail = obj.replace("/", ":").split(":")[-1]
    return int(tail) if tail.isdigit() else None


listened = {(r[0], call_of(r[1])) for r in db.execute(
    "SELECT user, object FROM audit WHERE action = 'call.listen' AND outcome = 'ok'")}
peaks = {(r[0], call_of(r[1])) for r in db.execute(
    "SELECT user, object FROM audit WHERE action = 'call.peaks'")}
db.close()
res.check(("super1", played["id"]) in listened,
          "call.listen audited for the call played (%d): %s" % (played["id"], sorted(listened)))
res.check(not any(c == opened["id"] for _, c in listened),
          "no call.listen for the call only opened (%d): %s" % (opened["id"], sorted(listened)))
res.check(not any(u == "aud1" for u, _ in listened | peaks),
          "the auditor without the grant neither listened nor fetched peaks")
print("test_ui_fixes: %.1f s in all; work folder %s" % (time.monotonic() - t_start, work))
res.finish()
