"""In-call and recorder alerts of `earshot record -i lo` (docs/ALERTS.md,
issue #17) to a real HTTP receiver this test starts (test_alerts.Receiver's
kind: http.server on a free port), with sipp calls on loopback.

1. Dead air: a sipp call whose two parties both stop sending audio 3 s after
   the answer and hang up 14 s later.  The dead_air alert (threshold 4 s)
   must reach the receiver while the call still runs and within 15 s of the
   silence starting (the last RTP packet, from tcpdump's capture of the
   same traffic), signed, with the call and its since_answer_s.
2. The recording backlog over a limit: 60 concurrent calls of 8 s end
   together and wait for the one Opus encoding thread; the backlog alert
   (threshold 10 recordings) reaches the receiver as a system event whose
   value is over the threshold, once (de-duplicated per alert).  The
   backlog is real: the encoder cannot keep up with 60 calls ending in
   the same second, which status.json's recording_queue shows too.

All of it in a network namespace of its own (estest.own_loopback): other
programs' traffic on the host's lo (other tests' sipp and recorders on ports
that our filter's range covers) once made 65 calls indexed for 61."""
import os
import time

import estest
from webhook import Receiver
from estest import EARSHOT, Results, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

SECRET = "test-secret-live-0123456789"
DEAD_AFTER = 4     # seconds of silence both ways before the dead_air alert
MEDIA = 3.0        # seconds of audio each side sends after the answer
LENGTH = 17.0      # seconds from ACK to BYE
BACKLOG = 10       # recordings waiting before the backlog alert
BURST = 60         # calls that end at once


where = estest.own_loopback()
res = Results()
work = tmpdir("earshot-alerts-live-")
data = os.path.join(work, "data")
ports = livecalls.Ports(BURST)
rx = Receiver(estest.free_port(), SECRET).start()
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[alerts]\nwebhook = http://127.0.0.1:%d/hook\nsecret = %s\nretry_max = 2s\n"
            "timeout = 2s\n\n[alert deadair]\ncondition = dead_air\nthreshold = %ds\n\n"
            "[alert backlog]\ncondition = backlog\nthreshold = %d\n"
            % (rx.port, SECRET, DEAD_AFTER, BACKLOG))
bpf = ports.bpf(BURST)
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["-c", conf, "--linger", "1",
                                                   "--format", "opus", "--encode-threads", "1"])
rec.start()
if not res.check(rec.wait_status(20) is not None,
                 "no status.json within 20 s; log:\n" + rec.logtext()[-3000:]):
    rec.stop()
    res.finish()
res.check(where == "own" and estest.netns_of(rec.pid) != estest.HOST_NETNS,
          "earshot record captures in a network namespace of its own (%s): %s, the host's %s"
          % (where, estest.netns_of(rec.pid), estest.HOST_NETNS))

# --- 1. dead air in a call in progress ----------------------------------------
cap = livecalls.Capture(os.path.join(work, "dead.pcap"), bpf).start()
calls = livecalls.Calls(os.path.join(work, "sipp-dead"), 1, LENGTH, rate=10, ports=ports,
                        media=MEDIA)
calls.start()
deadline = calls.started + LENGTH + 5
while not rx.events("dead_air") and time.time() < deadline:
    time.sleep(0.1)
ev = rx.events("dead_air")
running = calls.finished is None
uac_rc, uas_rc = calls.wait()
time.sleep(0.5)
cap.stop()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
# the silence began with the last RTP packet either way (tshark's view)
streams = livecalls.rtp_streams(cap.path)
last_rtp = max((s["last"] for s in streams.values()), default=None)
res.check(len(streams) == 2 and last_rtp is not None,
          "tshark sees %d RTP streams in the dead-air call" % len(streams))
if res.check(len(ev) >= 1, "no dead_air event within %.0f s; log:\n%s"
             % (LENGTH + 5, rec.logtext()[-3000:])) and last_rtp:
    e = ev[0]
    delay = e["t"] - last_rtp
    print("dead air: at the receiver %.2f s after the last RTP packet (threshold %d s), "
          "%.2f s after the call started, while the call ran: %s"
          % (delay, DEAD_AFTER, e["t"] - calls.started, running))
    res.check(running and e["t"] < calls.started + LENGTH,
              "the dead_air alert came after the call ended")
    res.check(DEAD_AFTER - 0.5 <= delay < 15, "dead_air %.1f s after the silence began" % delay)
    b = e["body"]
    res.check(e["sig_ok"], "bad signature on %s" % b.get("id"))
    res.check(b.get("alert") == "deadair" and b.get("scope") == "call"
              and (b.get("value") or 0) >= DEAD_AFTER
              and bool((b.get("call") or {}).get("call_id"))
              and (b.get("call") or {}).get("source") == "live"
              and (b.get("fields") or {}).get("since_answer_s", 0) >= MEDIA + DEAD_AFTER - 1,
              "dead_air event %s" % b)
res.check(len(rx.events("dead_air")) == 1, "%d dead_air events for one call"
          % len(rx.events("dead_air")))
res.check(not rx.events("backlog"), "a backlog event before any backlog: %s"
          % rx.events("backlog"))

# --- 2. the recording backlog over the limit -------------------------------------
calls = livecalls.Calls(os.path.join(work, "sipp-burst"), BURST, 8.0, rate=200, ports=ports)
calls.start()
peak = 0
deadline = calls.started + 8.0 + 40
while time.time() < deadline:
    s = rec.status() or {}
    peak = max(peak, s.get("recording_queue", 0))
    if rx.events("backlog") and calls.finished is not None:
        break
    time.sleep(0.2)
uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
final = rec.wait_until(lambda s: s.get("recording_queue") == 0 and s.get("active_calls") == 0, 60)
time.sleep(1.5)
ev = rx.events("backlog")
print("backlog: peak recording_queue %d in status.json, %d backlog event(s), values %s"
      % (peak, len(ev), [e["body"].get("value") for e in ev]))
res.check(peak > BACKLOG, "the backlog never went over %d (peak %d): no real backlog"
          % (BACKLOG, peak))
if res.check(len(ev) == 1, "%d backlog events (want 1); log:\n%s"
             % (len(ev), rec.logtext()[-2000:])):
    b = ev[0]["body"]
    res.check(ev[0]["sig_ok"], "bad signature on the backlog event")
    res.check(b.get("alert") == "backlog" and b.get("scope") == "system" and b.get("call") is None
              and (b.get("value") or 0) > BACKLOG and b.get("threshold") == BACKLOG,
              "backlog event %s" % b)
res.check(final is not None and final.get("recording_queue") == 0,
          "the backlog did not drain: %s" % (final or {}).get("recording_queue"))
n = len(estest.calls_json(data))
res.check(n == BURST + 1, "%d calls indexed, want %d" % (n, BURST + 1))
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
rx.stop()
res.finish()
