"""The Holds page of the web UI (#15) in Chromium (tests/browser/holds_test.mjs
through playwright-core) against a real `earshot serve` on a free port over
generated calls: an admin places a hold by call id and one by the current
search's filters and releases the first with a reason; an agent sees no
Holds link, and the API refuses them.  Afterwards the index has both holds
(one released, with who and why), the ledger their hold and release leaves,
and the audit log the browser's hold.add and hold.release
(skipped, not failed, without node or chromium)."""
import json
import os
import sqlite3
import subprocess
import sys

from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json, earshot,
                    free_port, http_req, http_stop, http_wait_up, import_capture, run, skip,
                    tmpdir)

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
work = tmpdir("earshot-holds-ui-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "9", "--calls", "4", "--duration", "5"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = sorted((c for c in calls_json(data) if c.get("recording")), key=lambda c: c["id"])
if len(calls) < 2:
    skip("the capture gave %d recordings" % len(calls))
by_id, by_search = calls[0], calls[1]
number = by_search["parties"]["caller"]["user"]
tokens = {}
for name, role in {"admin1": "admin", "agent1": "agent"}.items():
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
tokens["agent1"] = json.loads(earshot(data, "user", "token", "agent1", "--json").stdout)["token"]

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    st, _, _ = http_req(HOST, PORT, "GET", "/holds.js")
    res.check(st == 200, "holds.js is served: %d" % st)
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_ADMIN="admin1",
               UI_AGENT="agent1", UI_PASSWORD=PW, UI_CALL=str(by_id["id"]), UI_NUMBER=number,
               UI_SEARCH_CALL=str(by_search["id"]), UI_OUT=os.path.join(work, "screenshots"),
               CHROMIUM=CHROMIUM)
    p = subprocess.run(["node", "holds_test.mjs"], cwd=BROWSER_DIR, env=env, capture_output=True,
                       text=True, timeout=180)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser test of the Holds page")
    st, _, _ = http_req(HOST, PORT, "GET", "/api/holds", None,
                        {"Authorization": "Bearer " + tokens["agent1"]})
    res.check(st == 403, "the API refuses the agent the holds: %d" % st)
finally:
    http_stop(server)

db = sqlite3.connect(os.path.join(data, "index.sqlite"))
holds = {r[0]: r[1:] for r in db.execute(
    "SELECT name, released_us > 0, released_by, release_reason, query FROM holds")}
held = {r[0] for r in db.execute(
    "SELECT call_row FROM hold_calls JOIN holds ON holds.id = hold_id WHERE name = 'case-search'")}
audit = [r[0] for r in db.execute("SELECT action FROM audit WHERE user = 'admin1'")]
db.close()
res.check(holds.get("case-ui", (0,))[:3] == (1, "admin1", "case settled"),
          "case-ui released by admin1 with the reason: %s" % (holds.get("case-ui"),))
res.check(holds.get("case-search", (1,))[0] == 0 and "party=" + number in (holds["case-search"][3] or "")
          and by_search["id"] in held, "case-search holds the searched party's call: %s %s"
          % (holds.get("case-search"), held))
res.check(audit.count("hold.add") == 2 and audit.count("hold.release") == 1,
          "the browser's holds are audited: %s" % audit)
with open(os.path.join(data, "ledger", "entries.log")) as f:
    kinds = [ln.split("\t")[1] for ln in f]
res.check(kinds.count("hold") >= 2 and kinds.count("release") >= 1,
          "hold and release leaves in the ledger: %s" % kinds[-5:])
raise SystemExit(res.finish())
