"""Timestamps that jump (issues #13.8 and #14.3): a recording keeps all of a
call's audio, placed by capture time, and is never longer than the call.

- capture time: one RTP frame of a real capture (SIP_CALL_RTP_G711) pushed
  31 h ahead, written here into a copy of it: the call is recorded as from
  the untouched capture (the same samples but for that packet), no longer
  than its signalled span, and flagged capture_time_fixed; the same for the
  capture's very first frame;
- RTP timestamp: one packet's RTP timestamp 3 h ahead within its SSRC: the
  same audio, the recording flagged rtp_ts_jump;
- a re-INVITE after which the caller's RTP timestamp restarts and the
  callee's jumps 3 h ahead in the same stream (bench/gen_calls --ts-jump):
  the audio after the jump equals what was sent (bench/audio_cmp), placed
  where it was captured;
- the field capture of a gateway fax call whose caller's timestamp restarts
  at 0 (captures-field): the caller's last 40 s carry the audio of its RTP
  payloads (A-law decoded here) instead of silence."""
import json
import os
import shutil
import struct
import subprocess
import wave
from array import array

from estest import (BUILD, SHARED, Results, calls_json, have, import_capture, plain_recording, run,
                    skip, tmpdir)

G711 = os.path.join(SHARED, "SIP_CALL_RTP_G711")
FAX = os.path.join(os.path.dirname(SHARED), "captures-field",
                   "heplify-FAX-Call-t38-CA-TDM-SIP-FB-1.pcap")
GEN = os.path.join(BUILD, "gen_calls")
CMP = os.path.join(BUILD, "audio_cmp")
if not os.path.exists(G711):
    skip("../shared/captures not present")
if not have("tshark"):
    skip("tshark not installed (scripts/bootstrap installs it)")

res = Results()
work = tmpdir("earshot-timestamps-")
HOUR = 3600


# ---- pcap editing (classic little-endian pcap, Ethernet + IPv4 + UDP) ---------
def pcap_records(data):
    """(offset of the record header, offset of the frame, caplen) of each frame."""
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4, "not a little-endian pcap"
    pos, out = 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        out.append((pos, pos + 16, incl))
        pos += 16 + incl
    return out


def rtp_frames(path, ip_src):
    """Frame numbers (1-based) of the RTP sent from ip_src, as tshark sees them."""
    p = run(["tshark", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-Y",
             "rtp && ip.src == %s" % ip_src, "-T", "fields", "-e", "frame.number"])
    return [int(x) for x in p.stdout.split()]


def push_capture_time(src, dst, frame, seconds):
    data = bytearray(open(src, "rb").read())
    hdr = pcap_records(data)[frame - 1][0]
    struct.pack_into("<I", data, hdr, struct.unpack_from("<I", data, hdr)[0] + seconds)
    open(dst, "wb").write(data)


def push_rtp_timestamp(src, dst, frame, ticks):
    data = bytearray(open(src, "rb").read())
    _, off, _ = pcap_records(data)[frame - 1]
    ihl = (data[off + 14] & 0x0F) * 4
    udp = off + 14 + ihl
    struct.pack_into(">H", data, udp + 6, 0)  # no UDP checksum to keep right
    rtp = udp + 8
    ts = struct.unpack_from(">I", data, rtp + 4)[0]
    struct.pack_into(">I", data, rtp + 4, (ts + ticks) & 0xFFFFFFFF)
    open(dst, "wb").write(data)


# ---- recordings --------------------------------------------------------------
def record(name, pcap):
    data = os.path.join(work, name)
    p, summary = import_capture(data, pcap, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary, "%s: import failed: %s" % (name, p.stderr)):
        return None, None
    calls = [c for c in calls_json(data) if c["recording"]]
    if not res.check(len(calls) == 1, "%s: %d recordings, want 1" % (name, len(calls))):
        return None, None
    call = calls[0]
    return call, read_wav(plain_recording(data, call["id"], os.path.join(data, "rec.wav")))


def read_wav(path):
    with wave.open(path, "rb") as w:
        ch, rate = w.getnchannels(), w.getframerate()
        pcm = array("h", w.readframes(w.getnframes()))
    return {"rate": rate, "ch": [pcm[c::ch] for c in range(ch)]}


def differing(a, b, channel):
    x, y = a["ch"][channel], b["ch"][channel]
    return sum(1 for i in range(min(len(x), len(y))) if x[i] != y[i]) + abs(len(x) - len(y))


def iso_us(s):
    """Microseconds of an ISO time as calls --json writes it."""
    import datetime
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1e6))


def span_s(call):
    return (iso_us(call["end"]) - iso_us(call["start"])) / 1e6


ref_call, ref = record("untouched", G711)
if ref is None:
    res.finish()

# ---- a frame's capture time 31 h ahead ---------------------------------------
callee_rtp = rtp_frames(G711, "200.57.7.204")
for label, frame in (("an RTP frame mid-call", callee_rtp[300]), ("the first frame", 1)):
    name = "capture-%d" % frame
    pcap = os.path.join(work, name + ".pcap")
    push_capture_time(G711, pcap, frame, 31 * HOUR)
    call, rec = record(name, pcap)
    if rec is None:
        continue
    dur = call["recording"]["duration_s"]
    res.check(dur <= span_s(call) + 1.0 and abs(dur - ref_call["recording"]["duration_s"]) < 0.05,
              "%s 31 h late: recording %.3f s, call span %.3f s, untouched %.3f s" %
              (label, dur, span_s(call), ref_call["recording"]["duration_s"]))
    res.check(abs(span_s(call) - span_s(ref_call)) < 0.05,
              "%s 31 h late: call span %.3f s, untouched %.3f s" %
              (label, span_s(call), span_s(ref_call)))
    res.check("capture_time_fixed" in call["flags"],
              "%s 31 h late: call flags %r" % (label, call["flags"]))
    # the rest of the audio as recorded from the untouched capture: at most
    # the moved packet and the concealment around it differ
    for ch in (0, 1):
        n = differing(ref, rec, ch)
        res.check(n <= 3 * 160, "%s 31 h late: channel %d differs in %d samples" % (label, ch, n))
    print("%s 31 h late: recording %.3f s (call %.3f s), flags %r" %
          (label, dur, span_s(call), call["flags"]))

# ---- an RTP timestamp 3 h ahead within its SSRC ------------------------------
pcap = os.path.join(work, "rtp-ts.pcap")
push_rtp_timestamp(G711, pcap, callee_rtp[300], 3 * HOUR * 8000)
call, rec = record("rtp-ts", pcap)
if rec is not None:
    stats = call["recording"]["stats"]
    res.check("rtp_ts_jump" in call["recording"]["flags"] and stats["late"] == 0,
              "RTP timestamp 3 h ahead: flags %r, stats %r" % (call["recording"]["flags"], stats))
    res.check(abs(call["recording"]["duration_s"] - ref_call["recording"]["duration_s"]) < 0.05,
              "RTP timestamp 3 h ahead: recording %.3f s, untouched %.3f s" %
              (call["recording"]["duration_s"], ref_call["recording"]["duration_s"]))
    n = [differing(ref, rec, ch) for ch in (0, 1)]
    # placed by capture time around the spike: the same audio, shifted by at
    # most the packet's network jitter for a few packets
    res.check(n[0] == 0 and n[1] <= 8000,
              "RTP timestamp 3 h ahead: %r samples differ from the untouched recording" % n)
    print("RTP timestamp 3 h ahead: recording %.3f s, %r samples differ, ts_jumps %d" %
          (call["recording"]["duration_s"], n, stats["ts_jumps"]))

# ---- a re-INVITE restarting the timestamps (gen_calls --ts-jump) --------------
if os.path.exists(GEN) and os.path.exists(CMP) and have("sox"):
    d = os.path.join(work, "gen")
    os.makedirs(d, mode=0o700)
    pcap, truth_path, refp = (os.path.join(d, "c.pcap"), os.path.join(d, "c.json"),
                              os.path.join(d, "ref"))
    run([GEN, "-o", pcap, "--truth", truth_path, "--codec", "pcma", "--calls", "1", "--duration",
         "14", "--seed", "11", "--ts-jump", "--audio-out", refp])
    truth = json.load(open(truth_path))
    tc = truth["calls"][0]
    call, rec = record("gen", pcap)
    if rec is not None:
        r = call["recording"]
        res.check("rtp_ts_jump" in r["flags"] and r["stats"]["late"] == 0,
                  "--ts-jump: flags %r stats %r" % (r["flags"], r["stats"]))
        recfile = os.path.join(work, "gen", "rec.wav")
        parties = {s["src"]: s["party"] for s in call["streams"]}
        for st in tc["streams"]:
            party = parties.get(st["src"])
            if not res.check(party is not None, "--ts-jump: stream %s not found" % st["src"]):
                continue
            ch = 0 if party == "caller" else 1
            # the window after the jump, compared with what was sent there
            t0 = (st["ts_jump_us"] - r["start_us"]) / 1e6 + 0.1
            win = os.path.join(d, party + ".after.wav")
            run(["sox", recfile, win, "trim", "%.6f" % t0])
            loop = truth["options"]["audio"][party]["loop_samples"]
            # the source position of the window's start: the stream's first
            # packet carries sample 0 of the loop
            expect = (st["first_us"] - r["start_us"]) / 1e6 - t0
            p = run([CMP, "--ref", refp + "." + party + ".wav", "--rec", win, "--channel",
                     str(ch), "--ref-loop-samples", str(loop), "--expect-offset-s",
                     "%.6f" % expect, "--max-lag-s", "0.2", "--json"], check=False)
            m = json.loads(p.stdout) if p.returncode == 0 else None
            ok = m is not None and m["correlation"] >= 0.99 and abs(m["lag_s"] - expect) <= 0.002
            res.check(ok, "--ts-jump %s after the jump: %r (expected lag %.4f s)" %
                      (party, m, expect))
            if m:
                print("--ts-jump %s after the jump: correlation %.4f, SNR %.1f dB, placed %.2f ms "
                      "from its capture time" % (party, m["correlation"], m["snr_db"],
                                                 (m["lag_s"] - expect) * 1000))
else:
    print("gen_calls/audio_cmp/sox missing: the --ts-jump case is not run")


# ---- the fax call whose caller's timestamp restarts at 0 ---------------------
def alaw_decode(a):
    """ITU-T G.711 A-law to linear (the oracle, independent of earshot)."""
    a ^= 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def window_stats(x):
    if not x:
        return 0.0, 0.0
    rms = (sum(v * v for v in x) / len(x)) ** 0.5
    return rms, sum(1 for v in x if abs(v) > 64) / len(x)


if os.path.exists(FAX):
    call, rec = record("fax", FAX)
    if rec is not None:
        r = call["recording"]
        caller = [s for s in call["streams"] if s["party"] == "caller"][0]
        # the caller's A-law payloads, by capture time, as tshark reads them
        p = run(["tshark", "-r", FAX, "-o", "rtp.heuristic_rtp:TRUE", "-Y",
                 "rtp.ssrc == %s && rtp.p_type == 8" % caller["ssrc"], "-T", "fields", "-e",
                 "frame.time_epoch", "-e", "rtp.payload"])
        pkts = []
        for line in p.stdout.splitlines():
            t, _, hexp = line.partition("\t")
            pkts.append((float(t), bytes.fromhex(hexp.replace(":", ""))))
        last = pkts[-1][0]
        w0, w1 = last - 40, last
        sent = [alaw_decode(b) for t, pl in pkts if w0 <= t < w1 for b in pl]
        rate = rec["rate"]
        start = r["start_us"] / 1e6
        got = rec["ch"][0][int((w0 - start) * rate):int((w1 - start) * rate)]
        srms, sact = window_stats(sent)
        grms, gact = window_stats(got)
        print("fax call, caller's last 40 s: payload RMS %.0f active %.2f; recording RMS %.0f "
              "active %.2f; flags %r" % (srms, sact, grms, gact, r["flags"]))
        res.check(srms > 1000 and grms >= 0.9 * srms and grms <= 1.1 * srms and gact >= 0.9 * sact,
                  "fax call: the caller's last 40 s are not as sent (RMS %.0f vs %.0f, active "
                  "%.2f vs %.2f)" % (grms, srms, gact, sact))
        res.check("rtp_ts_jump" in r["flags"], "fax call: recording flags %r" % r["flags"])
else:
    print("captures-field not present: the fax case is not run")

shutil.rmtree(work)
res.finish()
