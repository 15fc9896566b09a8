"""Live capture: `earshot record -i lo` while 100 concurrent sipp calls with
RTP both ways run on loopback (livecalls.py) and tcpdump captures the same
traffic.  After SIGTERM earshot must exit 0 with every call in the index,
its streams equal to tshark's view of tcpdump's capture (packets, lost,
jitter), a recording per call as long as the call's media, and no drops."""
import os
import shutil
import time

import estest
from estest import EARSHOT, Results, calls_json, compare_streams, all_streams, skip, tmpdir, \
    tshark_rtp_streams
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
CALLS = int(os.environ.get("ES_LIVE_CALLS", "100"))
LENGTH = float(os.environ.get("ES_LIVE_LENGTH", "10"))
RTP_TIMEOUT, LINGER = 5, 2
PORTS = livecalls.Ports(CALLS)

res = Results()
work = tmpdir("earshot-live-")
data = os.path.join(work, "data")
bpf = PORTS.bpf(CALLS)
rec = livecalls.Recorder(EARSHOT, data, bpf,
                         args=["--rtp-timeout", str(RTP_TIMEOUT), "--linger", str(LINGER)])
rec.start()
first = rec.wait_status(20)
if not res.check(first is not None, "no status.json from `earshot record` within 20 s; log:\n"
                 + rec.logtext()[-3000:]):
    rec.stop()
    res.finish()

cap = livecalls.Capture(os.path.join(work, "live.pcap"), bpf).start()
calls = livecalls.Calls(os.path.join(work, "sipp"), CALLS, LENGTH, rate=50, ports=PORTS)
t0 = time.time()
calls.start()
peak_active, samples, uptimes = 0, 0, []
while calls.finished is None and time.time() - t0 < LENGTH + 60:
    s = rec.status()
    if s:
        peak_active = max(peak_active, s.get("active_calls", 0))
        uptimes.append(s.get("uptime_s"))
        samples += 1
    time.sleep(0.5)
uac_rc, uas_rc = calls.wait()
took = time.time() - t0
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
res.check(calls.successful() == CALLS, "sipp: %s of %d calls successful"
          % (calls.successful(), CALLS))

# calls ended with BYE: active_calls must drop to 0 after the linger
final = rec.wait_until(lambda s: s.get("active_calls") == 0, LINGER + RTP_TIMEOUT + 10)
time.sleep(1.5)
tcpdump_drops = cap.stop()
res.check(tcpdump_drops == 0, "tcpdump itself dropped %d packets: the reference capture is "
          "incomplete" % tcpdump_drops)
res.check(final is not None and final.get("active_calls") == 0,
          "active_calls still %s %d s after the calls ended"
          % (final and final.get("active_calls"), LINGER + RTP_TIMEOUT + 10))
res.check(peak_active >= CALLS * 0.9, "status never showed the calls up at once: peak "
          "active_calls %d of %d" % (peak_active, CALLS))
res.check(len(set(uptimes)) >= min(5, samples // 3),
          "status.json not refreshed every second: %d distinct uptimes in %d samples"
          % (len(set(uptimes)), samples))

rc, st, err = rec.cli_status()
res.check(rc == 0 and st is not None, "`earshot status --json` exited %d: %s" % (rc, err[-500:]))
st = st or {}
for key in ("pid", "uptime_s", "interfaces", "packets", "packets_per_s", "active_calls",
            "calls_total", "recordings", "recording_queue"):
    res.check(key in st, "status --json: no key %r" % key)
ifs = st.get("interfaces") or []
res.check([i.get("name") for i in ifs] == ["lo"], "status interfaces %s" % ifs)
for i in ifs:
    for key in ("received", "dropped", "if_dropped"):
        res.check(key in i, "status interface %s: no key %r" % (i.get("name"), key))
    res.check(i.get("dropped") == 0 and i.get("if_dropped") == 0,
              "interface %s dropped %s, if_dropped %s" % (i.get("name"), i.get("dropped"),
                                                          i.get("if_dropped")))
res.check(st.get("pid") == rec.pid, "status pid %s, earshot is %d" % (st.get("pid"), rec.pid))
res.check(st.get("calls_total") == CALLS, "status calls_total %s, expected %d"
          % (st.get("calls_total"), CALLS))
cpu_s, hwm_kib = rec.usage()
frames = len(livecalls.tshark("-r", cap.path, "-T", "fields", "-e", "frame.number").split())
res.check(st.get("packets") == frames, "status packets %s, tcpdump captured %d frames"
          % (st.get("packets"), frames))

stop_t = time.time()
rc = rec.stop()
stop_s = time.time() - stop_t
res.check(rc == 0, "earshot record exited %s after SIGTERM; log tail:\n%s"
          % (rc, rec.logtext()[-3000:]))

# --- the index against tshark's view of the parallel capture ---------------
ours = calls_json(data)
answered = livecalls.answered_calls(cap.path)
res.check(len(answered) == CALLS, "tshark: %d answered calls in the capture, expected %d"
          % (len(answered), CALLS))
res.check(len(ours) == CALLS, "index has %d calls, expected %d" % (len(ours), CALLS))
res.check({c["call_id"] for c in ours} == answered,
          "call ids differ from tshark's: missing %s, extra %s"
          % (sorted(answered - {c["call_id"] for c in ours})[:5],
             sorted({c["call_id"] for c in ours} - answered)[:5]))
for c in ours:
    res.check(c["outcome"] == "answered", "call %s: outcome %s" % (c["call_id"], c["outcome"]))

theirs = tshark_rtp_streams(cap.path)
res.check(len(theirs) == 2 * CALLS, "tshark: %d RTP streams, expected %d"
          % (len(theirs), 2 * CALLS))
ours_streams = all_streams(ours)
res.check(len(ours_streams) == len(theirs), "earshot %d streams, tshark %d"
          % (len(ours_streams), len(theirs)))
compare_streams(res, "live", ours_streams, theirs, jitter_tol=0.1)

by_call = livecalls.streams_by_call(cap.path)
dur_err = []
for c in ours:
    ts = by_call.get(c["call_id"], [])
    res.check(len(ts) == 2, "call %s: tshark found %d streams" % (c["call_id"], len(ts)))
    pk_ours = sum(s["packets"] for s in c["streams"])
    pk_theirs = sum(s["packets"] for s in ts)
    res.check(pk_ours == pk_theirs, "call %s: %d RTP packets, tshark %d"
              % (c["call_id"], pk_ours, pk_theirs))
    r = c.get("recording")
    if not res.check(r is not None, "call %s: no recording" % c["call_id"]):
        continue
    if ts:
        media = max(s["last"] for s in ts) - min(s["first"] for s in ts) + 0.030
        dur_err.append(r["duration_s"] - media)
        res.check(abs(r["duration_s"] - media) <= 0.5, "call %s: recording %.3f s, media %.3f s"
                  % (c["call_id"], r["duration_s"], media))
    f = os.path.join(data, r["path"])
    res.check(os.path.exists(f) and os.path.getsize(f) > 0,
              "call %s: recording file %s missing or empty" % (c["call_id"], r["path"]))
    res.check("recovered" not in (r.get("flags") or []) and "recovered" not in c["flags"],
              "call %s: flagged recovered in a clean run" % c["call_id"])

pps = frames / took if took else 0
print("live: %d calls x %.0f s in %.1f s; earshot %d calls, %d streams; tshark %d calls, "
      "%d streams, %d frames (%.0f pps); peak active %d; drops: earshot %s/%s, tcpdump %d"
      % (CALLS, LENGTH, took, len(ours), len(ours_streams), len(answered), len(theirs), frames,
         pps, peak_active, sum(i.get("dropped", 0) for i in ifs),
         sum(i.get("if_dropped", 0) for i in ifs), tcpdump_drops))
if dur_err:
    print("live: recording duration - media duration: %+.3f .. %+.3f s"
          % (min(dur_err), max(dur_err)))
print("live: earshot CPU %.2f s (%.1f%% of the run), peak RSS %d KiB (%.0f KiB per call), "
      "stopped in %.1f s" % (cpu_s or 0, 100.0 * (cpu_s or 0) / took, hwm_kib or 0,
                             (hwm_kib or 0) / CALLS, stop_s))
if res.failed:
    print("work directory kept: " + work)
else:
    shutil.rmtree(work, ignore_errors=True)
res.finish()
