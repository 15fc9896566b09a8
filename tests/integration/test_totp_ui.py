"""The two-step sign-in in the web UI (issue #18), in Chromium
(tests/browser/totp_test.mjs through playwright-core) against a real
`earshot serve` with [api] required_mfa = admin: held on the Account page
until enrolled, enrolment from the URI and key shown as text, recovery codes
shown once, the code step after the password (a wrong code refused), a
recovery code at 390 px.  Afterwards the audit log has the enrolment and the
second steps (skipped without node/chromium)."""
import os
import sqlite3
import subprocess
import sys
import time

from estest import (CHROMIUM, EARSHOT, Results, browser_ready, free_port, http_stop,
                    http_wait_up, run, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
why = browser_ready()
if why:
    skip(why)

HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
res = Results()
work = tmpdir("earshot-totp-ui-")
data = os.path.join(work, "data")
run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input=PW + "\n")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nrequired_mfa = admin\n")
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR, "-c", conf], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_PASSWORD=PW,
               UI_ADMIN="admin1", UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
    t0 = time.monotonic()
    p = subprocess.run(["node", "totp_test.mjs"], cwd=BROWSER_DIR, env=env,
                       capture_output=True, text=True, timeout=180)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    res.check(p.returncode == 0, "browser test of the two-step sign-in in %.1f s"
              % (time.monotonic() - t0))
finally:
    http_stop(server)

db = sqlite3.connect(os.path.join(data, "index.sqlite"))
rows = db.execute("SELECT action, outcome, detail FROM audit WHERE user = 'admin1'"
                  " AND action IN ('totp.enrol', 'totp.enable', 'login.totp', 'mfa.gate')"
                  " ORDER BY seq").fetchall()
db.close()
acts = [(a, o) for a, o, _ in rows]
res.check(("totp.enable", "ok") in acts and ("login.totp", "failed") in acts
          and sum(1 for a in acts if a == ("login.totp", "ok")) == 2,
          "enrolment and both second steps audited: %s" % acts)
res.check(any("recovery code" in d for a, o, d in rows if a == "login.totp" and o == "ok"),
          "the recovery code sign-in is audited as one: %s" % rows[-3:])
res.finish()
