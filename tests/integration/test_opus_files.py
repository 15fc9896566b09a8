"""The Ogg/Opus recordings earshot writes (src/media/oggopus.c: libopus at
the recording's own rate, Ogg pages with libogg), checked with the field's
own readers:

- a G.711 call (8 kHz) and a G.722 call (16 kHz) imported as Ogg/Opus and,
  from the same capture, as WAV (the exact rendered length);
- each Opus file passes `opusinfo` (opus-tools) without a warning, and says
  the input rate is the recording's;
- decoded by opusdec (opusfile) and by ffmpeg at 48 kHz, it is as long as
  the WAV, sample-exact, after the pre-skip and the end trim (RFC 7845
  sections 4.2 and 4.4);
- a stereo recording is two uncoupled streams (RFC 7845 section 5.1.1.2:
  mapping family 1, 2 streams, 0 coupled, mapping 0 1), and each channel
  decoded by opusdec and by ffmpeg follows its own party in the WAV
  (left = caller, right = callee), not the other;
- its pages (parsed here): OpusHead alone on the BOS page, OpusTags alone
  on the next with libopus's vendor string, granule positions monotonic, the
  last page EOS with granule = pre-skip + length at 48 kHz, each audio page
  at most 1 s of audio and a sane size (the file streams while it grows);
- `[recording] opus_complexity` (import -c, record -c) and
  `--opus-complexity` are taken, and a bad value is refused with the key's
  name."""
import json
import os
import struct
import subprocess
import wave

from estest import BUILD, Results, earshot, have, import_capture, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
for tool in ("opusinfo", "opusdec", "ffmpeg"):
    if not have(tool):
        skip("%s not installed (scripts/bootstrap installs it)" % tool)

res = Results()
work = tmpdir("earshot-opusfiles-")


def pages(data):
    """(header_type, granule, segments' packet count, body bytes, body) per page."""
    out, off = [], 0
    while off + 27 <= len(data):
        if data[off:off + 4] != b"OggS":
            raise ValueError("no capture pattern at byte %d" % off)
        htype = data[off + 5]
        gp = struct.unpack_from("<q", data, off + 6)[0]
        nseg = data[off + 26]
        lace = data[off + 27:off + 27 + nseg]
        body_len = sum(lace)
        packets = sum(1 for v in lace if v < 255)
        body_off = off + 27 + nseg
        out.append((htype, gp, packets, body_len, data[body_off:body_off + body_len]))
        off = body_off + body_len
    if off != len(data):
        raise ValueError("%d trailing bytes" % (len(data) - off))
    return out


def s16_frames(path_or_bytes, channels):
    return len(path_or_bytes) // (2 * channels)


def channels_of(pcm, ch):
    """Interleaved s16le bytes -> one list per channel."""
    v = struct.unpack("<%dh" % (len(pcm) // 2), pcm[:len(pcm) // 2 * 2])
    return [v[c::ch] for c in range(ch)]


def envelope_corr(a, b, win):
    """Pearson correlation of two signals' energy per window (20 ms): which
    party speaks when, insensitive to a decoder's phase or resampling delay."""
    n = min(len(a), len(b)) // win
    ea = [sum(v * v for v in a[i * win:(i + 1) * win]) for i in range(n)]
    eb = [sum(v * v for v in b[i * win:(i + 1) * win]) for i in range(n)]
    ma, mb = sum(ea) / n, sum(eb) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(ea, eb))
    saa, sbb = sum((x - ma) ** 2 for x in ea), sum((y - mb) ** 2 for y in eb)
    return sab / (saa * sbb) ** 0.5 if saa and sbb else 0.0


for codec, rate, secs in (("pcmu", 8000, 7), ("g722", 16000, 5)):
    d = os.path.join(work, codec)
    os.makedirs(d)
    pcap = os.path.join(d, "c.pcap")
    run([GEN, "-o", pcap, "--codec", codec, "--calls", "1", "--duration", str(secs),
         "--seed", "3"])
    # The exact rendered length: the same capture as WAV.
    wdata = os.path.join(d, "wav")
    import_capture(wdata, pcap, extra=("--format", "wav"))
    wavf = os.path.join(d, "rec.wav")
    earshot(wdata, "export", "1", "-o", wavf)
    with wave.open(wavf) as w:
        frames, wrate, ch = w.getnframes(), w.getframerate(), w.getnchannels()
    res.check(wrate == rate, "%s: WAV at %d Hz, expected %d" % (codec, wrate, rate))

    odata = os.path.join(d, "opus")
    import_capture(odata, pcap)
    call = json.loads(earshot(odata, "show", "1", "--json").stdout)
    rec = call["recording"]
    res.check(rec["format"] == "opus" and rec["rate"] == rate,
              "%s: recording %r" % (codec, {k: rec.get(k) for k in ("format", "rate")}))
    opus = os.path.join(d, "rec.opus")
    earshot(odata, "export", "1", "-o", opus)
    data = open(opus, "rb").read()

    # opusinfo: the reference checker of opus-tools.
    p = subprocess.run(["opusinfo", opus], capture_output=True, text=True)
    info = p.stdout + p.stderr
    res.check(p.returncode == 0 and "WARNING" not in info and "ERROR" not in info.upper()
              .replace("ERRORS", ""), "%s: opusinfo says:\n%s" % (codec, info))
    res.check("Original sample rate: %d Hz" % rate in info,
              "%s: opusinfo's original rate is not %d:\n%s" % (codec, rate, info))

    # The pages.
    try:
        pg = pages(data)
    except ValueError as e:
        res.check(False, "%s: %s" % (codec, e))
        continue
    expect48 = frames * 48000 // rate
    head = pg[0][4]
    preskip = struct.unpack_from("<H", head, 10)[0] if len(head) >= 19 else -1
    res.check(pg[0][0] & 2 and head[:8] == b"OpusHead" and pg[0][2] == 1 and pg[0][1] == 0,
              "%s: first page is not OpusHead alone with BOS" % codec)
    res.check(struct.unpack_from("<I", head, 12)[0] == rate and head[9] == ch,
              "%s: OpusHead rate/channels %r" % (codec, head[9:16]))
    # Section 5.1.1: stereo as two uncoupled mono streams (family 1), mono family 0.
    want_map = bytes([1, 2, 0, 0, 1]) if ch == 2 else bytes([0])
    res.check(head[18:] == want_map, "%s: OpusHead mapping %r, expected %r" %
              (codec, head[18:], want_map))
    res.check(pg[1][4][:8] == b"OpusTags" and pg[1][2] == 1 and pg[1][1] == 0,
              "%s: second page is not OpusTags alone" % codec)
    vlen = struct.unpack_from("<I", pg[1][4], 8)[0]
    res.check(pg[1][4][12:12 + vlen].startswith(b"libopus "),
              "%s: OpusTags vendor %r" % (codec, pg[1][4][12:12 + vlen]))
    audio = pg[2:]
    gps = [g for _, g, _, _, _ in audio if g != -1]
    res.check(all(a <= b for a, b in zip(gps, gps[1:])), "%s: granules not monotonic" % codec)
    spans = [b - a for a, b in zip([0] + gps, gps)]
    res.check(max(spans[1:] or [0]) <= 48000, "%s: a page spans %d samples (> 1 s)" %
              (codec, max(spans[1:] or [0])))
    res.check(all(0 < n <= 65025 for _, _, _, n, _ in audio), "%s: page sizes %r" %
              (codec, sorted(n for _, _, _, n, _ in audio)[-3:]))
    res.check(audio[-1][0] & 4 and not any(h & 4 for h, _, _, _, _ in pg[:-1]),
              "%s: EOS not on the last page only" % codec)
    res.check(audio[-1][1] == preskip + expect48, "%s: last granule %d, expected %d + %d" %
              (codec, audio[-1][1], preskip, expect48))

    # opusdec (opusfile) and ffmpeg: sample-exact at 48 kHz.
    raw = os.path.join(d, "dec.raw")
    run(["opusdec", "--quiet", "--rate", "48000", "--force-wav", opus, raw + ".wav"])
    with wave.open(raw + ".wav") as w:
        n_opusdec = w.getnframes()
    ff = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", opus, "-f", "s16le",
                         "-ar", "48000", "-"], capture_output=True)
    n_ff = s16_frames(ff.stdout, ch)
    res.check(n_opusdec == expect48, "%s: opusdec %d frames, expected %d" %
              (codec, n_opusdec, expect48))
    res.check(ff.returncode == 0 and n_ff == expect48, "%s: ffmpeg %d frames, expected %d (%s)" %
              (codec, n_ff, expect48, ff.stderr.decode(errors="replace")[-300:]))
    print("%s: %d Hz, %d ch, %d frames; %d bytes in %d pages, pre-skip %d; opusdec %d, "
          "ffmpeg %d (48 kHz, expected %d); %.1f kbit/s" %
          (codec, rate, ch, frames, len(data), len(pg), preskip, n_opusdec, n_ff, expect48,
           len(data) * 8 / (frames / rate) / 1000))

    # Channel order: each decoded channel follows its own party in the WAV
    # (who speaks when), at the recording's rate.
    with wave.open(wavf) as w:
        ref = channels_of(w.readframes(frames), ch)
    run(["opusdec", "--quiet", "--rate", str(rate), "--force-wav", opus, raw + "-n.wav"])
    with wave.open(raw + "-n.wav") as w:
        dec = {"opusdec": channels_of(w.readframes(w.getnframes()), w.getnchannels())}
    ff = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", opus, "-f", "s16le",
                         "-ar", str(rate), "-"], capture_output=True)
    dec["ffmpeg"] = channels_of(ff.stdout, ch)
    for tool, chans in dec.items():
        if ch != 2 or len(chans) != 2:
            res.check(ch == len(chans), "%s: %s decodes %d channels" % (codec, tool, len(chans)))
            continue
        m = [[envelope_corr(chans[i], ref[j], rate // 50) for j in range(2)] for i in range(2)]
        print("%s: %s, energy envelope against the WAV's caller/callee: left %.2f/%.2f, "
              "right %.2f/%.2f" % (codec, tool, m[0][0], m[0][1], m[1][0], m[1][1]))
        res.check(m[0][0] > 0.9 and m[1][1] > 0.9 and m[0][1] < 0.5 and m[1][0] < 0.5,
                  "%s: %s channel order: %r" % (codec, tool, m))

# ---- the complexity setting ---------------------------------------------------------
d = os.path.join(work, "cx")
os.makedirs(d)
pcap = os.path.join(d, "c.pcap")
run([GEN, "-o", pcap, "--calls", "1", "--duration", "4", "--seed", "4"])
conf = os.path.join(d, "earshot.conf")
with open(conf, "w") as f:
    f.write("[recording]\nopus_complexity = 11\n")
p = earshot(os.path.join(d, "bad"), "import", "--no-progress", "-c", conf, pcap, check=False)
res.check(p.returncode != 0 and "opus_complexity" in p.stderr,
          "opus_complexity = 11 taken: rc %d, %s" % (p.returncode, p.stderr))
with open(conf, "w") as f:
    f.write("[recording]\nopus_complexity = 0\n")
sizes = {}
for name, extra in (("conf0", ("-c", conf)), ("cli10", ("--opus-complexity", "10"))):
    data = os.path.join(d, name)
    import_capture(data, pcap, extra=extra)
    out = os.path.join(d, name + ".opus")
    earshot(data, "export", "1", "-o", out)
    sizes[name] = open(out, "rb").read()
    res.check(subprocess.run(["opusinfo", out], capture_output=True).returncode == 0,
              "%s: opusinfo fails" % name)
# The two complexities encode differently (same input, same bit rate).
res.check(sizes["conf0"][200:] != sizes["cli10"][200:], "complexity 0 and 10 wrote the same bytes")
p = earshot(os.path.join(d, "bad2"), "import", "--no-progress", "--opus-complexity", "x", pcap,
            check=False)
res.check(p.returncode != 0 and "complexity" in p.stderr, "--opus-complexity x taken")

# `earshot record` takes both keys (its [recording] refuses unknown keys):
# with a missing interface it fails on that, not on the configuration.
with open(conf, "w") as f:
    f.write("[recording]\nopus_complexity = 3\nopus_bitrate = 12000\n"
            "[capture]\ninterface = es-no-such-if0\n")
p = earshot(os.path.join(d, "rec"), "record", "-c", conf, check=False)
res.check(p.returncode != 0 and "es-no-such-if0" in p.stderr and "opus_" not in p.stderr,
          "record -c with opus_complexity/opus_bitrate: %s" % p.stderr[-300:])

res.finish()
