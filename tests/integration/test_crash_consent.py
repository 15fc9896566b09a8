"""Consent survives a crash (#15 follow-up): a rule requires consent
(window 2 s, no_consent_keep = nothing) and a sipp call through `earshot
record -i lo` never gives it.  `earshot record` is killed with SIGKILL 6 s
into the call, after the window has passed: the media log left in the
spool holds the first ~2 s of both parties' audio (spooled before the
decision).  The next start recovers the call from its log and must apply
the consent decision the log's metadata carries: the call is flagged
"recovered" and "no_consent", its parties' consent is "missing", and it
has no recording at all (no row, no file: nothing of a party without
consent is kept)."""
import os
import shutil
import sqlite3
import time

import estest
from estest import EARSHOT, Results, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
LENGTH = 14.0
KILL_AFTER = 6.0
PORTS = livecalls.Ports(1)

res = Results()
work = tmpdir("earshot-crash-consent-")
data = os.path.join(work, "data")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[rule c]\naction = record\ncallee = service\nconsent = required\n"
            "consent_window = 2s\nno_consent_keep = nothing\n")
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(1),
                         args=["--config", conf, "--rtp-timeout", "5", "--linger", "2"])


def start_record(what):
    rec.start()
    if rec.wait_status(30) is None:
        res.check(False, "%s: no status.json within 30 s; log:\n%s"
                  % (what, rec.logtext()[-3000:]))
        rec.stop()
        res.finish()


start_record("first start")
calls = livecalls.Calls(os.path.join(work, "sipp"), 1, LENGTH, rate=10, ports=PORTS)
calls.start()
time.sleep(KILL_AFTER)
before = rec.status() or {}
rec.kill9()
res.check(before.get("active_calls") == 1, "one active call before the kill: %s"
          % before.get("active_calls"))
spool = os.path.join(data, "spool")
left = [f for _, _, fs in os.walk(spool) for f in fs if f.endswith(".mlog")]
res.check(len(left) == 1, "one media log left in the spool: %s" % left)
calls.wait()

start_record("restart")
time.sleep(2)
rc = rec.stop()
res.check(rc == 0, "restart stopped cleanly: %s\n%s" % (rc, rec.logtext()[-2000:]))
log = rec.logtext()

db = sqlite3.connect(os.path.join(data, "index.sqlite"))
rows = db.execute("SELECT c.id, c.flags, c.consent_caller, c.consent_callee, r.path"
                  " FROM calls c LEFT JOIN recordings r ON r.call_row = c.id").fetchall()
db.close()
print("crash-consent: calls after recovery: %r" % rows)
rec_rows = [r for r in rows if "recovered" in (r[1] or "")]
res.check(len(rec_rows) == 1, "one recovered call: %r\n%s" % (rows, log[-2000:]))
if rec_rows:
    _, flags, cc, ce, path = rec_rows[0]
    res.check("no_consent" in flags.split(","), "flagged no_consent: %r" % flags)
    res.check("missing" in (cc, ce), "consent states: caller %s, callee %s" % (cc, ce))
    res.check(path is None, "no recording of a call without consent: %r" % path)
files = [f for _, _, fs in os.walk(os.path.join(data, "recordings")) for f in fs]
res.check(not files, "no recording file: %s" % files)
left = [f for _, _, fs in os.walk(spool) for f in fs if f.endswith(".mlog")]
res.check(not left, "the spool is empty after recovery: %s" % left)
shutil.rmtree(work, ignore_errors=True)
res.finish()
