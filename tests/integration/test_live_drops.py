"""Capture drops in `earshot record -i lo`, from a real cause: the recorder
stalls (SIGSTOP for 4 s, as a descheduled or swapped-out process would)
while 20 sipp calls with RTP both ways run, and its kernel capture ring,
made small with --buffer 1M (enough for the
steady load, not for 4 s of it), overflows.  Then (docs/ALERTS.md, docs/CLI.md):

- status.json counts the kernel drops, and the drops alert (threshold 0)
  reaches a real HTTP receiver this test starts, as a signed system event;
- every call in progress during the stall has the flags "capture_drops" and
  "capture_drops:N" (N > 0) in its call JSON, and 4 calls placed after it
  have neither;
- `earshot reconcile` gives the stalled calls the reason "capture_drops"
  and the later ones none."""
import json
import os
import signal
import time

import estest
from webhook import Receiver
from estest import EARSHOT, Results, calls_json, earshot, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

SECRET = "test-secret-drops-0123456789"
STALLED, AFTER = 20, 4
STALL_S = 4.0


estest.own_loopback()
res = Results()
work = tmpdir("earshot-live-drops-")
data = os.path.join(work, "data")
pa, pb = livecalls.Ports(STALLED), livecalls.Ports(AFTER)
rx = Receiver(estest.free_port(), SECRET).start()
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[alerts]\nwebhook = http://127.0.0.1:%d/hook\nsecret = %s\nretry_max = 2s\n"
            "timeout = 2s\n\n[alert drops]\ncondition = drops\nthreshold = 0\n"
            % (rx.port, SECRET))
bpf = "(%s) or (%s)" % (pa.bpf(STALLED), pb.bpf(AFTER))
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["-c", conf, "--linger", "1", "--buffer", "1M",
                                                   "--format", "wav"])
rec.start()
if not res.check(rec.wait_status(20) is not None,
                 "no status.json within 20 s; log:\n" + rec.logtext()[-3000:]):
    rec.stop()
    res.finish()

stalled = livecalls.Calls(os.path.join(work, "sipp-a"), STALLED, 12.0, rate=100, ports=pa)
stalled.start()
rec.wait_until(lambda s: s.get("active_calls", 0) >= STALLED, 10)
time.sleep(1.5)  # media flowing in every call
before = rec.status() or {}
res.check(before.get("dropped") == 0, "drops before the stall (the ring is too small for "
          "the steady load): %s" % before.get("dropped"))
rec.proc.send_signal(signal.SIGSTOP)
time.sleep(STALL_S)
rec.proc.send_signal(signal.SIGCONT)
st = rec.wait_until(lambda s: s.get("kernel_drops", 0) > 0, 10) or {}
print("after a %.0f s stall: kernel_drops %s, queue_drops %s"
      % (STALL_S, st.get("kernel_drops"), st.get("queue_drops")))
res.check(st.get("kernel_drops", 0) > 0, "no kernel drops after the stall: %s"
          % {k: st.get(k) for k in ("dropped", "kernel_drops", "queue_drops", "interfaces")})
time.sleep(2.0)  # the drops are attributed; calls placed now saw none
after = livecalls.Calls(os.path.join(work, "sipp-b"), AFTER, 4.0, rate=50, ports=pb)
after.start()
for c in (stalled, after):
    u, s = c.wait()
    res.check(u == 0 and s == 0, "sipp exited uac %s uas %s (see %s)" % (u, s, c.work))
rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 30)
time.sleep(1.5)

ev = [g for g in rx.got if g["body"].get("condition") == "drops"]
if res.check(len(ev) >= 1, "no drops event at the receiver (%d events: %s)"
             % (len(rx.got), [g["body"].get("condition") for g in rx.got])):
    b = ev[0]["body"]
    res.check(ev[0]["sig_ok"], "bad signature on the drops event")
    res.check(b.get("scope") == "system" and (b.get("value") or 0) > 0
              and (b.get("fields") or {}).get("drops_total", 0) > 0, "drops event %s" % b)

calls = calls_json(data)
tag_a, tag_b = "-%d@" % stalled.uac.pid, "-%d@" % after.uac.pid
group = {"a": [c for c in calls if tag_a in c["call_id"]],
         "b": [c for c in calls if tag_b in c["call_id"]]}
res.check(len(group["a"]) == STALLED and len(group["b"]) == AFTER,
          "calls indexed: %d stalled (want %d), %d after (want %d), %d in all"
          % (len(group["a"]), STALLED, len(group["b"]), AFTER, len(calls)))


def drops_of(c):
    flags = c.get("flags") or []
    n = [int(f.split(":", 1)[1]) for f in flags if f.startswith("capture_drops:")]
    return ("capture_drops" in flags), (n[0] if n else 0)


counts = [drops_of(c) for c in group["a"]]
print("stalled calls: capture_drops counts %s" % sorted(n for _, n in counts))
res.check(all(f and n > 0 for f, n in counts),
          "calls in progress during the stall without capture_drops: %s"
          % [c["call_id"] for c in group["a"] if not drops_of(c)[0]])
total = (rec.status() or {}).get("dropped", 0)
res.check(all(n <= total for _, n in counts),
          "a call counts more drops than the recorder had (%d): %s" % (total, counts))
res.check(not any(drops_of(c)[0] for c in group["b"]),
          "calls placed after the stall flagged: %s" % [c.get("flags") for c in group["b"]])

p = earshot(data, "reconcile", "--from", "2000-01-01", "--to", "2100-01-01", "--json", check=False)
rep = json.loads(p.stdout) if p.stdout.strip() else {"calls": []}
verdict = {c["call_id"]: (c["status"], c["reason"]) for c in rep["calls"]}
res.check(p.returncode == 0, "reconcile exited %d: %s" % (p.returncode, p.stderr[-500:]))
res.check(all(verdict.get(c["call_id"]) == ("recorded", "capture_drops") for c in group["a"]),
          "reconcile of the stalled calls: %s" % sorted({verdict.get(c["call_id"]) for c in group["a"]}))
res.check(all(verdict.get(c["call_id"]) == ("recorded", None) for c in group["b"]),
          "reconcile of the later calls: %s" % sorted({verdict.get(c["call_id"]) for c in group["b"]},
                                                       key=str))
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
rx.stop()
res.finish()
