"""Audio checks of the decoded recording (issue #17, docs/ANALYTICS.md) end
to end: generated calls whose parties send tones in chosen spans (talkgen,
G.711 A-law through gen_calls) with a known fault each: dead air, clipping,
a low level, a silent callee, a DC offset (on the clipped call's callee), 7 s of one party's RTP cut out
of the capture.  Each call gets exactly its flags; the figures are in
`earshot show` and the call JSON; `earshot calls --flag` and GET /api/calls
select by them; [checks] thresholds from the configuration move the flags
and a bad one is a usage error naming the file and line."""
import json
import math
import os
import random
import struct
import subprocess
import wave

from estest import (EARSHOT, SOURCE, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, show_json, tmpdir)
from talkgen import RATE

res = Results()
work = tmpdir("earshot-audiocheck-")
data = os.path.join(work, "data")
TOTAL = 30  # the capture; each call lasts 22-28 s of it (gen_calls' plan)
CHECK_FLAGS = {"dead_air", "clipping", "low_level", "recording_gap", "one_way_audio",
               "no_caller_speech", "no_callee_speech", "both_silent"}

CALLER = [(0.5, 4.0), (5.0, 9.0), (14.0, 18.0)]
CALLEE = [(4.2, 5.0), (9.5, 13.5), (16.5, 19.0)]


def wav(path, spans, amp=8000, freq=440, dc=0):
    """16-bit mono: a sine of amp (clipped to full scale) in each span, a
    -65 dBFS hiss elsewhere, plus dc."""
    rnd = random.Random(len(path))
    n = TOTAL * RATE
    x = [rnd.uniform(-30, 30) for _ in range(n)]
    for s, e in spans:
        for i in range(int(s * RATE), int(e * RATE)):
            x[i] = amp * math.sin(2 * math.pi * freq * i / RATE)
    x = [max(-32768, min(32767, int(v + dc))) for v in x]
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % n, *x))


def gen(name, seed, caller=CALLER, callee=CALLEE, a_kw=None, b_kw=None):
    wa, wb = os.path.join(work, name + "_a.wav"), os.path.join(work, name + "_b.wav")
    wav(wa, caller, **(a_kw or {}))
    wav(wb, callee, freq=700, **(b_kw or {}))
    pcap = os.path.join(work, name + ".pcap")
    run([os.path.join(os.path.dirname(EARSHOT), "gen_calls"), "-o", pcap, "--codec", "pcma",
         "--calls", "1", "--duration", str(TOTAL), "--seed", str(seed), "--linktype", "raw",
         "--audio-caller", wa, "--audio-callee", wb])
    return pcap


def cut_rtp(src, dst, t_from, t_to):
    """Copy a raw-IPv4 pcap without the caller's RTP (the first RTP source
    seen) captured between t_from and t_to seconds after its first packet:
    a hole of lost packets, as a capture loses them."""
    with open(src, "rb") as f:
        blob = f.read()
    out, off, t0, who = [blob[:24]], 24, None, None
    while off + 16 <= len(blob):
        sec, usec, incl, _ = struct.unpack("<IIII", blob[off:off + 16])
        pkt = blob[off + 16:off + 16 + incl]
        t = sec + usec / 1e6
        t0 = t if t0 is None else t0
        keep = True
        ihl = (pkt[0] & 15) * 4
        if pkt[9] == 17 and len(pkt) > ihl + 12 and pkt[ihl + 8] == 0x80:
            srcaddr = pkt[12:16] + pkt[ihl:ihl + 2]
            who = who or srcaddr
            keep = not (srcaddr == who and t_from <= t - t0 < t_to)
        if keep:
            out.append(blob[off:off + 16 + incl])
        off += 16 + incl
    with open(dst, "wb") as f:
        f.write(b"".join(out))


calls = [
    ("clean", gen("clean", 21), set()),
    ("dead_air", gen("dead", 22, caller=[(0.5, 3.0), (18.0, 20.0)], callee=[(3.5, 6.0)]),
     {"dead_air"}),
    # the callee of the clipped call also carries a DC offset (no flag of its own)
    ("clipping", gen("clip", 23, a_kw={"amp": 60000}, b_kw={"dc": 2000}), {"clipping"}),
    ("low_level", gen("low", 24, a_kw={"amp": 250}), {"low_level"}),
    ("one_way", gen("oneway", 25, callee=[]), {"one_way_audio", "no_callee_speech"}),
]
whole = gen("gap", 27)
holed = os.path.join(work, "gap_cut.pcap")
cut_rtp(whole, holed, 6.0, 13.0)
calls.append(("recording_gap", holed, {"recording_gap"}))

ids = {}
for name, pcap, _ in calls:
    p, summary = import_capture(data, pcap, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                     "import %s: %d %s" % (name, p.returncode, p.stderr)):
        res.finish()
    ids[name] = max(c["id"] for c in calls_json(data))

figs = {}
for name, _, want in calls:
    c = show_json(data, ids[name])
    k = c.get("checks")
    if not res.check(k is not None, "%s: call JSON has its checks" % name):
        continue
    figs[name] = k
    print(name, json.dumps(k))
    rflags = set(c["recording"]["flags"] or []) & CHECK_FLAGS
    kflags = set(filter(None, k["flags"].split(",")))
    res.check(rflags == kflags, "%s: the recording's flags %r carry the checks' %r"
              % (name, rflags, kflags))
    if want is not None:
        res.check(kflags == want, "%s: flags %r, want %r" % (name, sorted(kflags), sorted(want)))

if "clean" in figs:
    k = figs["clean"]
    dur = k["duration_ms"] / 1000
    for party, spans in (("caller", CALLER), ("callee", CALLEE)):
        talk = sum(e - s for s, e in spans) / dur
        res.check(abs(k[party]["speech_ratio"] - talk) < 0.05,
                  "clean %s speech ratio %.3f, want %.3f" % (party, k[party]["speech_ratio"],
                                                            talk))
        res.check(-18 <= k[party]["speech_dbfs"] <= -10 and k[party]["noise_floor_dbfs"] <= -60,
                  "clean %s speech %r dBFS, floor %r dBFS" % (party, k[party]["speech_dbfs"],
                                                              k[party]["noise_floor_dbfs"]))
        res.check(k[party]["clipping_pct"] == 0 and abs(k[party]["dc_offset"]) < 0.002,
                  "clean %s: no clipping, no DC" % party)
    # the caller's longest silence: 9.0-14.0 s, or from 18.0 s to the end
    want = max(5000, k["duration_ms"] - 18000)
    res.check(abs(k["caller"]["longest_silence_ms"] - want) <= 400,
              "clean caller longest silence %r ms (want ~%d)"
              % (k["caller"]["longest_silence_ms"], want))
    res.check(k["gap_ms"] < 1000, "clean: %r ms missing" % k["gap_ms"])
if "dead_air" in figs:
    res.check(abs(figs["dead_air"]["dead_air_ms"] - 12000) <= 400,
              "dead air %r ms (want ~12000)" % figs["dead_air"]["dead_air_ms"])
if "clipping" in figs:
    # a sine at 60000 clipped at full scale: A-law's top code for ~64 % of
    # its samples, 11.5 s speaking of the call's 22-28 s
    pct = figs["clipping"]["caller"]["clipping_pct"]
    res.check(20 <= pct <= 35 and figs["clipping"]["callee"]["clipping_pct"] == 0,
              "clipping %r %% (want 20-35)" % pct)
if "low_level" in figs:
    res.check(-50 <= figs["low_level"]["caller"]["speech_dbfs"] <= -40,
              "low level: speech %r dBFS" % figs["low_level"]["caller"]["speech_dbfs"])
if "clipping" in figs:
    dc = figs["clipping"]["callee"]["dc_offset"]
    res.check(abs(dc - 2000 / 32768) < 0.006 and abs(figs["clipping"]["caller"]["dc_offset"]) < 0.002,
              "dc offset %r (want %.4f)" % (dc, 2000 / 32768))
if "recording_gap" in figs:
    res.check(6500 <= figs["recording_gap"]["lost_ms"] <= 7500,
              "gap: %r ms lost (want ~7000)" % figs["recording_gap"]["lost_ms"])

# earshot show prints them
out = earshot(data, "show", str(ids["dead_air"])).stdout
res.check("Audio checks" in out and "flags: dead_air" in out, "show prints the checks")

# --flag selects by them
for flag, name in (("dead_air", "dead_air"), ("clipping", "clipping"),
                   ("low_level", "low_level"), ("recording_gap", "recording_gap"),
                   ("one_way_audio", "one_way")):
    got = sorted(c["id"] for c in calls_json(data, "--flag", flag))
    res.check(got == [ids[name]], "calls --flag %s: %r, want %r" % (flag, got, [ids[name]]))

# thresholds from [checks]: dead air at 20 s, clipping at 50 %
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[checks]\ndead_air = 20s\nclipping = 50%\nlow_level = -60\n")
data2 = os.path.join(work, "data2")
p, summary = import_capture(data2, *[c[1] for c in calls if c[0] in ("dead_air", "clipping",
                                                                      "low_level")],
                            extra=("--format", "wav", "--config", conf))
res.check(p.returncode == 0 and summary["recordings"] == 3, "import with [checks]: %s" % p.stderr)
for c in calls_json(data2):
    k = show_json(data2, c["id"])["checks"]
    res.check(k["flags"] == "", "with [checks] thresholds: flags %r" % k["flags"])
with open(conf, "w") as f:
    f.write("[checks]\n\nclipping = lots\n")
p, _ = import_capture(os.path.join(work, "data3"), whole, extra=("--config", conf))
res.check(p.returncode == 2 and "earshot.conf:3: clipping" in p.stderr,
          "a bad threshold: exit %d %r" % (p.returncode, p.stderr.strip()))
with open(conf, "w") as f:
    f.write("[checks]\ndeadair = 3s\n")
p, _ = import_capture(os.path.join(work, "data3"), whole, extra=("--config", conf))
res.check(p.returncode == 2 and "deadair" in p.stderr,
          "an unknown key: exit %d %r" % (p.returncode, p.stderr.strip()))

# GET /api/calls?flag=... and the detail's checks
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "admin", "--password-stdin"],
    input="correct horse battery\n")
tok = json.loads(earshot(data, "user", "token", "sup1", "--json").stdout)["token"]
HOST, PORT = "127.0.0.1", free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", os.path.join(SOURCE, "web")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        auth = {"Authorization": "Bearer " + tok}
        st, _, body = http_req(HOST, PORT, "GET", "/api/calls?flag=dead_air", headers=auth)
        res.check(st == 200 and [c["id"] for c in body["calls"]] == [ids["dead_air"]],
                  "api flag=dead_air: %d" % st)
        st, _, c = http_req(HOST, PORT, "GET", "/api/calls/%d" % ids["clipping"], headers=auth)
        res.check(st == 200 and c["checks"]["flags"] == "clipping", "api detail has the checks")
finally:
    http_stop(server)
res.finish()
