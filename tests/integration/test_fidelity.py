"""Recording fidelity: known audio (speech made with espeak-ng, tone bursts
and chirps) goes through each codec's real encoder into RTP (bench/gen_calls),
earshot records it, and bench/audio_cmp compares each channel of the
recording with its source:

- G.711 (PCMU, PCMA): sample-exact against the source passed through G.711
  companding (computed here, independently of earshot's decoder);
- every codec: correlation with the source (and SNR, printed per codec);
- both channels placed where their first packet was captured, within 20 ms;
- the recording lasts as long as the media, within 40 ms;
- a one-hour call whose callee clock runs 100 ppm fast stays in sync within
  20 ms at its end (drift correction);
- the default Ogg/Opus recording too (correlation printed and bounded);
- Speex, AMR (octet-aligned and bandwidth-efficient), AMR-WB and G.723.1
  through their real encoders, with G.729's bounds; G.723.1 decoded by
  libavcodec, which earshot loads at the first such call and does not link
  (ldd: its ~95 libraries made every earshot process slow to start);
- a call in a codec earshot does not decode (LPC) has the flags
  undecoded_codec and undecoded:LPC, and import's summary says so;
- real captures (../shared/captures-field): three Speex calls give three
  recordings with every packet decoded; stereo L16 at 8000 and 16000 Hz is
  the payload's samples (tshark's view, channels averaged) and L16/11025,
  sent slower than its clock, loses no packet."""
import json
import os
import shutil
import struct
import subprocess

from estest import (BUILD, SHARED, Results, earshot, have, import_capture, plain_recording, run,
                    show_json, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
CMP = os.path.join(BUILD, "audio_cmp")
for tool in ("espeak-ng", "sox"):
    if not have(tool):
        skip("%s not installed (scripts/bootstrap installs it)" % tool)

res = Results()
work = tmpdir("earshot-fidelity-")

# ---- sources ------------------------------------------------------------------
speech = os.path.join(work, "speech.wav")
run(["espeak-ng", "-w", os.path.join(work, "raw.wav"),
     "The quick brown fox jumps over the lazy dog. A recorder must keep both "
     "parties audible, complete and in step, whatever the codec."])
run(["espeak-ng", "-v", "en+f3", "-w", os.path.join(work, "raw2.wav"),
     "Hello, this is the other party speaking. Please hold while I look up your account "
     "number and the date of your last payment."])
SRC = {}
for rate in (8000, 16000):
    SRC["speech2", rate] = os.path.join(work, "speech2-%d.wav" % rate)
    run(["sox", os.path.join(work, "raw2.wav"), "-r", str(rate), "-c", "1", "-b", "16",
         SRC["speech2", rate]])
    SRC["speech", rate] = os.path.join(work, "speech%d.wav" % rate)
    run(["sox", os.path.join(work, "raw.wav"), "-r", str(rate), "-c", "1", "-b", "16",
         SRC["speech", rate]])
    # the other party: tone bursts and a sweep, distinct from speech
    SRC["tones", rate] = os.path.join(work, "tones%d.wav" % rate)
    run(["sox", "-n", "-r", str(rate), "-c", "1", "-b", "16", SRC["tones", rate],
         "synth", "0.6", "sine", "520", "synth", "0.6", "sine", "1330", ":",
         "synth", "1.5", "sine", "300-3000", "gain", "-10"])


# ---- G.711 companding, from the ITU-T G.711 definition ------------------------
def ulaw_roundtrip(x):
    BIAS, CLIP = 0x84, 32635
    sign = x < 0
    m = min(-x if sign else x, CLIP) + BIAS
    exp = 7
    while exp > 0 and not (m & (0x4000 >> (7 - exp))):
        exp -= 1
    mant = (m >> (exp + 3)) & 0x0F
    y = (((mant << 3) + BIAS) << exp) - BIAS
    return -y if sign else y


def alaw_roundtrip(x):
    sign = x < 0
    m = (~x if sign else x) >> 3  # 13-bit magnitude; one's complement below zero
    if m < 32:
        seg, mant = 0, m >> 1
    else:
        seg = m.bit_length() - 5
        mant = (m >> seg) & 0x0F
    if seg == 0:
        y = (mant << 4) + 8
    else:
        y = ((mant << 4) + 0x108) << (seg - 1)
    return -y if sign else y


def read_wav_mono(path):
    with open(path, "rb") as f:
        data = f.read()
    pos, rate, pcm = 12, 0, b""
    while pos + 8 <= len(data):
        cid, n = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            rate = struct.unpack("<I", data[pos + 12:pos + 16])[0]
        elif cid == b"data":
            pcm = data[pos + 8:pos + 8 + n]
        pos += 8 + n + (n & 1)
    return rate, list(struct.unpack("<%dh" % (len(pcm) // 2), pcm))


def write_wav_mono(path, rate, samples):
    pcm = struct.pack("<%dh" % len(samples), *samples)
    hdr = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1,
                      rate, rate * 2, 2, 16, b"data", len(pcm))
    with open(path, "wb") as f:
        f.write(hdr + pcm)


def compare(ref, rec, channel, loop, expect_s, max_lag=0.2):
    p = run([CMP, "--ref", ref, "--rec", rec, "--channel", str(channel), "--ref-loop-samples",
             str(loop), "--expect-offset-s", "%.6f" % expect_s, "--max-lag-s", str(max_lag),
             "--json"], check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def recording_of(data):
    calls = json.loads(earshot(data, "calls", "--json").stdout)
    answered = [c for c in calls if c["recording"]]
    if len(answered) != 1:
        return None, None
    return answered[0], show_json(data, answered[0]["id"])


def party_first_us(detail, truth_call):
    """Capture time of each party's first packet, from the generator's truth
    (matched to earshot's stream parties by source address)."""
    firsts = {}
    for s in detail["streams"]:
        for t in truth_call["streams"]:
            if t["src"] == s["src"] and t["ssrc_hex"].lower() == s["ssrc"].lower():
                p = s["party"]
                firsts[p] = min(firsts.get(p, t["first_us"]), t["first_us"])
    return firsts


def media_end_us(truth_call, ptime_us):
    return max(t["first_us"] + t["packets"] * ptime_us for t in truth_call["streams"])


# name, source rate, least correlation for speech (caller) and tones (callee).
# G.729 is a CELP codec: it keeps how speech sounds, not its waveform, and
# renders pure tones and sweeps poorly; its figures are printed, with lower
# bounds, and its placement is checked on speech only.
# Speex, AMR, AMR-WB and G.723.1 are CELP codecs too: G.729's bounds.
# (iLBC is decoded but not tested here: Debian has no iLBC encoder.)
CODECS = [
    ("pcmu", 8000, 0.99, 0.99), ("pcma", 8000, 0.99, 0.99), ("g722", 16000, 0.95, 0.95),
    ("g726-32", 8000, 0.95, 0.95), ("g729", 8000, 0.80, 0.50), ("gsm", 8000, 0.95, 0.95),
    ("opus", 16000, 0.95, 0.95), ("l16", 16000, 0.99, 0.99),
    ("speex", 8000, 0.80, 0.50), ("speex-wb", 16000, 0.80, 0.50), ("amr", 8000, 0.80, 0.50),
    ("amr-be", 8000, 0.80, 0.50), ("amr-wb", 16000, 0.80, 0.50), ("g723", 8000, 0.80, 0.50),
]
CELP = {"g729", "speex", "speex-wb", "amr", "amr-be", "amr-wb", "g723"}
ldd = subprocess.run(["ldd", os.path.join(BUILD, "earshot")], capture_output=True, text=True)
res.check(ldd.returncode == 0 and "libavcodec" not in ldd.stdout,
          "earshot does not link libavcodec (%d libraries at start)" % len(ldd.stdout.splitlines()))
PTIME = {"g723": 30}  # G.723.1 frames are 30 ms
figures = []
for codec, rate, min_speech, min_tones in CODECS:
    d = os.path.join(work, codec)
    os.makedirs(d)
    pcap, truth_path, refp = (os.path.join(d, "c.pcap"), os.path.join(d, "c.json"),
                              os.path.join(d, "ref"))
    run([GEN, "-o", pcap, "--truth", truth_path, "--codec", codec, "--calls", "1",
         "--duration", "14", "--seed", "11", "--ptime", str(PTIME.get(codec, 20)),
         "--audio-caller", SRC["speech", rate], "--audio-callee", SRC["tones", rate],
         "--audio-out", refp])
    truth = json.load(open(truth_path))
    tc = truth["calls"][0]
    data = os.path.join(d, "data")
    p, summary = import_capture(data, pcap, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary["recordings"] == 1,
                     "%s: import %d %s" % (codec, p.returncode, p.stderr)):
        continue
    call, detail = recording_of(data)
    rec = call["recording"]
    recfile = plain_recording(data, call["id"], os.path.join(d, "recording.wav"))
    firsts = party_first_us(detail, tc)
    if not res.check(set(firsts) == {"caller", "callee"}, "%s: parties %r" % (codec, firsts)):
        continue
    ptime_us = truth["options"]["ptime"] * 1000
    media_s = (media_end_us(tc, ptime_us) - min(firsts.values())) / 1e6
    res.check(abs(rec["duration_s"] - media_s) <= 0.04,
              "%s: recording %.3f s, media %.3f s" % (codec, rec["duration_s"], media_s))
    row = {"codec": codec, "rate": rec["rate"]}
    for ch, party in ((0, "caller"), (1, "callee")):
        ref = refp + "." + party + ".wav"
        loop = truth["options"]["audio"][party]["loop_samples"]
        expect = (firsts[party] - rec["start_us"]) / 1e6
        min_corr = min_speech if party == "caller" else min_tones
        cmpfile = recfile
        if codec in ("pcmu", "pcma"):
            # the exact G.711 reference, compared over this party's media only
            r, samples = read_wav_mono(ref)
            f = ulaw_roundtrip if codec == "pcmu" else alaw_roundtrip
            ref = os.path.join(d, party + ".g711.wav")
            write_wav_mono(ref, r, [f(x) for x in samples])
            ends = [t["first_us"] + t["packets"] * ptime_us for t in tc["streams"]
                    if t["src"] == [s for s in detail["streams"] if s["party"] == party][0]["src"]]
            cmpfile = os.path.join(d, party + ".rec.wav")
            run(["sox", recfile, cmpfile, "trim", "0", "%.6f" % ((max(ends) - rec["start_us"]) / 1e6)])
        m = compare(ref, cmpfile, ch, loop, expect)
        if not res.check(m is not None, "%s %s: audio_cmp failed" % (codec, party)):
            continue
        err_ms = (m["lag_s"] - expect) * 1000
        if codec not in CELP or party == "caller":
            res.check(abs(err_ms) <= 20, "%s %s: placed %.1f ms from its capture time" %
                      (codec, party, err_ms))
        res.check(m["correlation"] >= min_corr, "%s %s: correlation %.4f < %.2f" %
                  (codec, party, m["correlation"], min_corr))
        if codec in ("pcmu", "pcma"):
            res.check(m["exact_samples"] == m["compared_samples"] and m["compared_samples"] > 50000,
                      "%s %s: %d of %d samples exact" % (codec, party, m["exact_samples"],
                                                          m["compared_samples"]))
        row[party] = (m["correlation"], m["snr_db"], err_ms, m["exact_samples"],
                      m["compared_samples"], m["segsnr_db"])
    figures.append(row)

print("\n%-8s %5s | %-42s | %-42s" % ("codec", "rate", "caller (speech)", "callee (tones)"))
print("%-8s %5s | %-42s | %-42s" % ("", "", "corr    SNR dB segSNR  offset ms  exact",
                                     "corr    SNR dB segSNR  offset ms  exact"))
for row in figures:
    cells = []
    for party in ("caller", "callee"):
        if party in row:
            c, snr, off, ex, n, seg = row[party]
            cells.append("%.4f %7.1f %6.1f %9.1f  %5.1f%%" % (c, snr, seg, off,
                                                             100.0 * ex / max(n, 1)))
        else:
            cells.append("-")
    print("%-8s %5d | %-42s | %-42s" % (row["codec"], row["rate"], cells[0], cells[1]))

# ---- the default recording format: Ogg/Opus, speech on both sides -------------
for codec, rate in (("pcmu", 8000), ("g722", 16000)):
    d = os.path.join(work, "ogg-" + codec)
    os.makedirs(d)
    pcap, truth_path, refp = (os.path.join(d, "c.pcap"), os.path.join(d, "c.json"),
                              os.path.join(d, "ref"))
    run([GEN, "-o", pcap, "--truth", truth_path, "--codec", codec, "--calls", "1", "--duration",
         "14", "--seed", "12", "--audio-caller", SRC["speech", rate], "--audio-callee",
         SRC["speech2", rate], "--audio-out", refp])
    truth = json.load(open(truth_path))
    data = os.path.join(d, "data")
    p, summary = import_capture(data, pcap)
    call, detail = recording_of(data)
    if not res.check(call is not None and call["recording"]["format"] == "opus",
                     "Ogg/Opus %s: no recording" % codec):
        continue
    rec = call["recording"]
    firsts = party_first_us(detail, truth["calls"][0])
    wav = os.path.join(d, "export.wav")
    earshot(data, "export", str(call["id"]), "-o", wav)
    for ch, party in ((0, "caller"), (1, "callee")):
        expect = (firsts[party] - rec["start_us"]) / 1e6
        m = compare(refp + "." + party + ".wav", wav, ch,
                    truth["options"]["audio"][party]["loop_samples"], expect)
        ok = m is not None and m["correlation"] >= 0.9 and abs(m["lag_s"] - expect) <= 0.02
        res.check(ok, "Ogg/Opus recording of %s, %s: %r" % (codec, party, m))
        if m:
            print("Ogg/Opus recording (%d kbit/s) of %s speech, %s: correlation %.4f, SNR %.1f dB, "
                  "offset %.1f ms" % (rec["bytes"] * 8 / rec["duration_s"] / 1000, codec, party,
                                      m["correlation"], m["snr_db"],
                                      (m["lag_s"] - expect) * 1000))

# ---- clock drift over an hour ------------------------------------------------------
d = os.path.join(work, "drift")
os.makedirs(d)
pcap, truth_path, refp = os.path.join(d, "c.pcap"), os.path.join(d, "c.json"), os.path.join(d, "ref")
PPM = 100.0
run([GEN, "-o", pcap, "--truth", truth_path, "--codec", "pcmu", "--calls", "1", "--duration",
     "3600", "--seed", "5", "--drift", str(PPM), "--jitter", "8", "--audio-out", refp])
truth = json.load(open(truth_path))
tc = truth["calls"][0]
data = os.path.join(d, "data")
p, summary = import_capture(data, pcap, extra=("--format", "wav"))
if res.check(p.returncode == 0 and summary["recordings"] == 1, "drift: import %s" % p.stderr):
    call, detail = recording_of(data)
    rec = call["recording"]
    firsts = party_first_us(detail, tc)
    recfile = plain_recording(data, call["id"], os.path.join(d, "recording.wav"))
    # a short window: within it the sender's clock moves by only 0.2 ms
    T0, WIN = rec["duration_s"] - 10, 2.0
    tail = os.path.join(d, "tail.wav")
    run(["sox", recfile, tail, "trim", "%.3f" % T0, "%.3f" % WIN])
    eps = PPM * 1e-6
    for ch, party in ((0, "caller"), (1, "callee")):
        off = (firsts[party] - rec["start_us"]) / 1e6
        k = eps if party == "callee" else 0.0
        # the source position at the middle of the window, as the sender's clock ran
        mid = T0 + WIN / 2
        expect = off - T0 - (mid - off) * k
        loop = truth["options"]["audio"][party]["loop_samples"]
        m = compare(refp + "." + party + ".wav", tail, ch, loop, expect, max_lag=0.5)
        if not res.check(m is not None, "drift %s: audio_cmp failed" % party):
            continue
        err_ms = (m["lag_s"] - expect) * 1000
        res.check(abs(err_ms) <= 20 and m["correlation"] > 0.5,
                  "drift %s: %.1f ms off after an hour (correlation %.3f)" %
                  (party, err_ms, m["correlation"]))
        uncorrected_ms = (mid - off) * k * 1000
        print("one hour, callee clock +%g ppm, 8 ms jitter: %s %.1f ms from where it was "
              "captured after %.0f s (uncorrected it would be %.0f ms); correlation %.4f" %
              (PPM, party, err_ms, mid, uncorrected_ms, m["correlation"]))
    stats = json.loads(earshot(data, "show", "--json", str(call["id"])).stdout)["recording"]["stats"]
    print("drift corrected in total: %.1f ms" % (stats["drift_corrected_us"] / 1000.0))

# ---- a codec earshot does not decode: flagged, and the summary says so ---------
d = os.path.join(work, "lpc")
os.makedirs(d)
pcap = os.path.join(d, "c.pcap")
run([GEN, "-o", pcap, "--codec", "lpc", "--calls", "1", "--duration", "6", "--seed", "3"])
data = os.path.join(d, "data")
p, summary = import_capture(data, pcap, extra=("--format", "wav"))
calls = json.loads(earshot(data, "calls", "--json").stdout)
res.check(summary is not None and summary["calls_undecoded_codec"] == 1 and
          summary["undecoded_codecs"] == "LPC", "LPC: summary %r" % (summary,))
res.check(len(calls) == 1 and "undecoded_codec" in (calls[0]["flags"] or []) and
          "undecoded:LPC" in (calls[0]["flags"] or []), "LPC: flags %r" %
          ([c["flags"] for c in calls],))
text = earshot(os.path.join(d, "data2"), "import", "--no-progress", pcap, check=False)
res.check("codec earshot does not decode (LPC)" in text.stdout + text.stderr,
          "LPC: no summary line in %r" % text.stdout)
print("LPC call: flags %s; summary: %s" % (calls[0]["flags"] if calls else None,
                                          [l for l in text.stdout.splitlines() if "LPC" in l]))

# ---- real captures: Speex and L16 (stereo, 11025 Hz) ---------------------------
FIELD = os.path.join(os.path.dirname(SHARED), "captures-field")


def field_recordings(name):
    data = os.path.join(work, "field-" + name)
    p, summary = import_capture(data, os.path.join(FIELD, name), extra=("--format", "wav"))
    out = []
    for c in json.loads(earshot(data, "calls", "--json").stdout):
        det = show_json(data, c["id"])
        out.append((c, det, data))
    return summary, out


def tshark_payloads(path, ssrc):
    """The RTP payloads of one SSRC, in capture order, as tshark decodes them."""
    p = run(["tshark", "-r", path, "-d", "udp.port==6000,rtp", "-Y",
             "rtp.ssrc==%s" % ssrc, "-T", "fields", "-e", "rtp.payload"])
    return [bytes.fromhex(l.replace(":", "")) for l in p.stdout.split() if l]


if os.path.isdir(FIELD) and have("tshark"):
    path = os.path.join(FIELD, "rtppcap-sip-rtp-speex.pcap")
    summary, recs = field_recordings("rtppcap-sip-rtp-speex.pcap")
    rec_ok = [r for r in recs if r[1]["recording"] and
              r[1]["recording"]["stats"]["decoded"] == 425 and
              r[1]["recording"]["stats"]["bad"] == 0]
    res.check(len(recs) == 3 and len(rec_ok) == 3, "speex capture: %d calls, %d recorded with "
              "425 packets decoded" % (len(recs), len(rec_ok)))
    for c, det, data in recs:
        rec = det["recording"]
        if not rec:
            continue
        wav = plain_recording(data, c["id"], os.path.join(work, "speex-%d.wav" % c["id"]))
        st = run(["sox", wav, "-n", "stats"], check=False).stderr
        rms = [l for l in st.splitlines() if l.startswith("RMS lev dB")]
        print("speex capture call %d: %.2f s at %d Hz, %s" % (c["id"], rec["duration_s"],
                                                             rec["rate"], rms[0] if rms else st))
        res.check(rec["duration_s"] > 8.0, "speex call %d: %.2f s" % (c["id"], rec["duration_s"]))

    path = os.path.join(FIELD, "rtppcap-sip-rtp-l16.pcap")
    summary, recs = field_recordings("rtppcap-sip-rtp-l16.pcap")
    res.check(len(recs) == 4, "l16 capture: %d calls" % len(recs))
    for c, det, data in recs:
        rec = det["recording"]
        st = det["streams"][0] if det["streams"] else None
        if not res.check(rec is not None and st is not None, "l16 call %d: no recording" % c["id"]):
            continue
        stats = rec["stats"]
        res.check(stats["decoded"] == st["packets"] and stats["late"] == 0,
                  "l16 call %d (%s): %d of %d packets decoded, %d late" %
                  (c["id"], st["codecs"], stats["decoded"], st["packets"], stats["late"]))
        # tshark's payloads, channels averaged (a mono party), against the
        # recording's channel of that party
        pls = tshark_payloads(path, st["ssrc"])
        raw = b"".join(pls)
        nch = 2 if len(pls[0]) in (640, 1280) else 1
        samples = list(struct.unpack(">%dh" % (len(raw) // 2), raw))
        if nch == 2:
            samples = [int((samples[i] + samples[i + 1]) / 2) for i in range(0, len(samples) - 1, 2)]
        ref = os.path.join(work, "l16-%d.ref.wav" % c["id"])
        write_wav_mono(ref, rec["rate"], samples)
        wav = plain_recording(data, c["id"], os.path.join(work, "l16-%d.wav" % c["id"]))
        ch = 0 if st["party"] == "caller" else 1
        if len(samples) / rec["rate"] > rec["duration_s"] + 0.1:
            continue  # 11025 and 48000 Hz are resampled: their packets are counted above
        m = compare(ref, wav, ch, len(samples), 0.0, max_lag=0.1)
        ok = m is not None and m["correlation"] >= 0.99
        res.check(ok, "l16 call %d (%s/%d ch): %r" % (c["id"], st["codecs"], nch, m))
        if m:
            print("l16 capture call %d: %d channel(s) at %d Hz, correlation %.4f with tshark's "
                  "payload, %d of %d samples exact" % (c["id"], nch, rec["rate"], m["correlation"],
                                                       m["exact_samples"], m["compared_samples"]))
else:
    print("../shared/captures-field or tshark missing: real Speex and L16 captures not tested")

shutil.rmtree(work)
res.finish()
