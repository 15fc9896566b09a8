"""Crash recovery: `earshot record -i lo` is killed with SIGKILL in the middle
of 50 concurrent sipp calls with RTP (livecalls.py); the calls go on to
their end.  A new `earshot record` on the same data folder must finalise the
media logs left in the spool as recordings flagged "recovered", each
covering its call's audio up to the kill (within 1 s, measured on tcpdump's
parallel capture), with an intact index; a third start must not recover the
same calls again."""
import os
import shutil
import subprocess
import time

import estest
from estest import EARSHOT, Results, calls_json, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)
if not shutil.which("sqlite3"):
    skip("sqlite3 not installed")

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
CALLS = int(os.environ.get("ES_CRASH_CALLS", "50"))
LENGTH = 20.0
KILL_AFTER = 10.0
# free ports of its own, so that it runs beside test_live and anything else
PORTS = livecalls.Ports(CALLS)

res = Results()
work = tmpdir("earshot-crash-")
data = os.path.join(work, "data")
bpf = PORTS.bpf(CALLS)
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["--rtp-timeout", "5", "--linger", "2"])


def start_record(what):
    rec.start()
    if rec.wait_status(30) is None:
        res.check(False, "%s: no status.json from `earshot record` within 30 s; log:\n%s"
                  % (what, rec.logtext()[-3000:]))
        rec.stop()
        res.finish()


start_record("first start")
cap = livecalls.Capture(os.path.join(work, "crash.pcap"), bpf).start()
calls = livecalls.Calls(os.path.join(work, "sipp"), CALLS, LENGTH, rate=50, ports=PORTS,
                        media=LENGTH - 0.5)
calls.start()
time.sleep(KILL_AFTER)
before = rec.status() or {}
kill_t = time.time()
rec.kill9()
print("crash: killed earshot (pid %d) %.1f s into the calls, %s active calls"
      % (rec.pid, kill_t - calls.started, before.get("active_calls")))
res.check(before.get("active_calls") == CALLS, "before the kill status showed %s active calls, "
          "expected %d" % (before.get("active_calls"), CALLS))
spool = os.path.join(data, "spool")
left = [f for _, _, fs in os.walk(spool) for f in fs]
print("crash: %d files left in %s" % (len(left), spool))
res.check(len(left) > 0, "no media logs left in the spool after the kill")

uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
time.sleep(0.5)
tcpdump_drops = cap.stop()
res.check(tcpdump_drops == 0, "tcpdump itself dropped %d packets" % tcpdump_drops)

# second start: recovers what the spool holds, then stops cleanly
t = time.time()
start_record("restart")
time.sleep(2)
rc = rec.stop()
print("crash: restart to SIGTERM-exit %.1f s" % (time.time() - t))
res.check(rc == 0, "restarted earshot record exited %s; log tail:\n%s"
          % (rc, rec.logtext()[-3000:]))
left = [f for _, _, fs in os.walk(spool) for f in fs]
res.check(not left, "after recovery the spool still holds %d files: %s" % (len(left), left[:5]))

ours = calls_json(data)
answered = livecalls.answered_calls(cap.path)
res.check(len(answered) == CALLS, "tshark: %d answered calls in the capture" % len(answered))
res.check(len(ours) == CALLS, "index has %d calls, expected %d" % (len(ours), CALLS))
res.check({c["call_id"] for c in ours} == answered,
          "call ids differ from tshark's: missing %s, extra %s"
          % (sorted(answered - {c["call_id"] for c in ours})[:5],
             sorted({c["call_id"] for c in ours} - answered)[:5]))

by_call = livecalls.streams_by_call(cap.path)
short = []
for c in ours:
    r = c.get("recording")
    res.check("recovered" in c["flags"], "call %s: flags %s, no \"recovered\""
              % (c["call_id"], c["flags"]))
    if not res.check(r is not None, "call %s: no recording" % c["call_id"]):
        continue
    res.check("recovered" in (r.get("flags") or []), "call %s: recording flags %s, no "
              "\"recovered\"" % (c["call_id"], r.get("flags")))
    f = os.path.join(data, r["path"])
    res.check(os.path.exists(f) and os.path.getsize(f) > 0,
              "call %s: recording file %s missing or empty" % (c["call_id"], r["path"]))
    ts = by_call.get(c["call_id"], [])
    if not res.check(len(ts) == 2, "call %s: tshark found %d streams" % (c["call_id"], len(ts))):
        continue
    want = kill_t - min(s["first"] for s in ts)
    short.append(want - r["duration_s"])
    res.check(abs(r["duration_s"] - want) <= 1.0, "call %s: recovered %.3f s, audio up to the "
              "kill %.3f s" % (c["call_id"], r["duration_s"], want))

p = subprocess.run(["sqlite3", os.path.join(data, "index.sqlite"), "PRAGMA integrity_check"],
                   capture_output=True, text=True)
res.check(p.stdout.strip() == "ok", "integrity_check: %s%s" % (p.stdout, p.stderr))

# third start: nothing left to recover, nothing recovered twice
start_record("third start")
time.sleep(1)
rc = rec.stop()
res.check(rc == 0, "third earshot record exited %s" % rc)
again = calls_json(data)
res.check(len(again) == len(ours), "a third start changed the call count %d -> %d"
          % (len(ours), len(again)))

if short:
    print("crash: audio up to the kill minus recovered duration: %+.3f .. %+.3f s"
          % (min(short), max(short)))
print("crash: %d calls, %d in the index, %d recovered recordings"
      % (CALLS, len(ours), sum(1 for c in ours if c.get("recording")
                               and "recovered" in (c["recording"].get("flags") or []))))
if res.failed:
    print("work directory kept: " + work)
else:
    shutil.rmtree(work, ignore_errors=True)
res.finish()
