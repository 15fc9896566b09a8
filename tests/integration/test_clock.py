"""Clock evidence (#15, MiFID II RTS 25): `earshot record -i lo` records two
sipp calls; each call's "clock" (show --json, and the signed metadata of its
evidence bundle) holds the state at its start and end, and it matches what
adjtimex(2) reports on this machine now (synchronised or not, the kernel's
maximum error); status.json carries the clock and `earshot status` warns
when it is not synchronised.  A second run with the test-only override
EARSHOT_TEST_CLOCK (docs/OPERATIONS.md) shows the other state in status and
in the log.  Imported calls say "imported: capture clock unknown"."""
import ctypes
import ctypes.util
import json
import os
import subprocess
import time
import zipfile

import estest
from estest import EARSHOT, Results, calls_json, earshot, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)

STA_UNSYNC = 0x0040


class Timex(ctypes.Structure):  # struct timex of <sys/timex.h> (x86-64 / aarch64 layout)
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("constant", ctypes.c_long),
                ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long),
                ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long),
                ("shift", ctypes.c_int), ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
                ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long),
                ("tai", ctypes.c_int), ("pad", ctypes.c_int * 11)]


def adjtimex():
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    t = Timex()
    state = libc.adjtimex(ctypes.byref(t))
    if state < 0:
        skip("adjtimex failed here")
    return {"synchronised": not (t.status & STA_UNSYNC) and state != 5,
            "maxerror_us": t.maxerror, "esterror_us": t.esterror}


# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
res = Results()
work = tmpdir("earshot-clock-")
data = os.path.join(work, "data")
PORTS = livecalls.Ports(2)
bpf = PORTS.bpf(2)
os.environ.pop("EARSHOT_TEST_CLOCK", None)
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["--rtp-timeout", "3", "--linger", "1"])
rec.start()
st = rec.wait_status(20)
if not res.check(st is not None, "status.json: " + rec.logtext()[-2000:]):
    rec.stop()
    raise SystemExit(res.finish())
calls = livecalls.Calls(os.path.join(work, "sipp"), 2, 3, rate=10, ports=PORTS)
calls.start()
calls.wait()
rec.wait_until(lambda s: s.get("calls_total") == 2, 20)
kernel = adjtimex()
st = rec.status() or {}
p = subprocess.run([EARSHOT, "--data", data, "status"], capture_output=True, text=True)
res.check(rec.stop() == 0, "earshot record stopped cleanly")

clk = st.get("clock") or {}
res.check(clk.get("synchronised") == kernel["synchronised"],
          "status.json clock %s, adjtimex says synchronised=%s" % (clk, kernel["synchronised"]))
want = "clock: synchronised to UTC" if kernel["synchronised"] else \
    "WARNING: the recorder's clock is NOT synchronised"
res.check(want in p.stdout, "earshot status says %r: %s" % (want, p.stdout[:300]))
ours = calls_json(data)
res.check(len(ours) == 2, "two calls recorded: %d" % len(ours))
for c in ours:
    ck = c.get("clock") or {}
    end = ck.get("end") or {}
    res.check(ck.get("synchronised") == kernel["synchronised"] and
              end.get("synchronised") == kernel["synchronised"] and ck.get("start") is not None,
              "call %s: clock %s matches adjtimex (synchronised=%s), start and end sampled"
              % (c["id"], ck, kernel["synchronised"]))
    # an unsynchronised kernel holds maxerror at its ceiling; a synchronised
    # one grows it by at most 500 ppm between samples (adjtimex(2))
    tol = 0 if not kernel["synchronised"] else 200000
    res.check(abs(end.get("maxerror_us", -10**9) - kernel["maxerror_us"]) <= tol and
              end.get("source") in ("kernel", "chrony", "systemd-timesyncd"),
              "call %s: maxerror %s us, adjtimex %d us, source %s"
              % (c["id"], end.get("maxerror_us"), kernel["maxerror_us"], end.get("source")))
# the clock is in the metadata the ledger signed
if ours and ours[0].get("recording"):
    ev = os.path.join(work, "ev.zip")
    earshot(data, "export", "--evidence", str(ours[0]["id"]), "-o", ev)
    meta = json.loads(zipfile.ZipFile(ev).read("metadata.json"))
    res.check(meta.get("clock", {}).get("synchronised") == kernel["synchronised"],
              "the evidence bundle's signed metadata has the clock: %s" % meta.get("clock"))

# the other state, simulated (test only), in status and the log
other = "unsynced" if kernel["synchronised"] else "synced"
os.environ["EARSHOT_TEST_CLOCK"] = other
rec.start()
st = rec.wait_status(20) or {}
p = subprocess.run([EARSHOT, "--data", data, "status"], capture_output=True, text=True)
rec.stop()
os.environ.pop("EARSHOT_TEST_CLOCK")
clk = st.get("clock") or {}
res.check(clk.get("synchronised") == (other == "synced") and clk.get("source") == "simulated",
          "simulated %s: status.json clock %s" % (other, clk))
log = rec.logtext()
if other == "unsynced":
    res.check("NOT synchronised" in p.stdout and "clock is NOT synchronised" in log,
              "status and log warn of the unsynchronised clock: %s / %s" % (p.stdout[:200],
                                                                           log[-500:]))
else:
    res.check("clock: synchronised to UTC" in p.stdout and "clock is synchronised" in log,
              "status and log say synchronised: %s" % p.stdout[:200])

# an imported call: the capture's clock is not ours
gen = os.path.join(os.path.dirname(EARSHOT), "gen_calls")
if os.path.exists(gen):
    pcap = os.path.join(work, "g.pcap")
    subprocess.run([gen, "-o", pcap, "--calls", "2", "--duration", "5"], check=True,
                   capture_output=True)
    d2 = os.path.join(work, "imp")
    earshot(d2, "import", pcap)
    ck = (calls_json(d2) or [{}])[0].get("clock") or {}
    res.check(ck == {"synchronised": None, "source": "imported: capture clock unknown"},
              "imported call's clock: %s" % ck)
raise SystemExit(res.finish())
