"""Audio helpers of the listen-in tests (test_listen.py): G.711 A-law both
ways, an RTP pcap for sipp's play_pcap_audio made from PCM, a known
on/off tone pattern, the live stream's WAV header (with earshot's "estm"
chunk), and the envelope correlation that says which source a channel
carries and at which offset.  Python standard library only (no numpy)."""
import math
import random
import struct

RATE = 8000
PTIME = 240  # samples per packet, as in sip-tester's g711a.pcap
SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def alaw_encode(s):
    """One 16-bit sample as A-law (ITU-T G.711)."""
    v = s >> 3
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    seg = 0
    while seg < 8 and v > SEG_END[seg]:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    a = seg << 4
    a |= (v >> 1) & 0x0F if seg < 2 else (v >> seg) & 0x0F
    return a ^ mask


def alaw_decode(a):
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ALAW = [alaw_decode(a) for a in range(256)]


def tone_pattern(seconds, seed, freq=700.0, slot_s=0.1, amp=6000):
    """A tone switched on and off at random every slot_s: an envelope no
    speech and no other seed resembles."""
    rnd = random.Random(seed)
    out = []
    slot = int(slot_s * RATE)
    n = int(seconds * RATE)
    on = False
    for i in range(n):
        if i % slot == 0:
            on = rnd.random() < 0.5
        out.append(int(amp * math.sin(2 * math.pi * freq * i / RATE)) if on else 0)
    return out


def pcap_payloads(path):
    """The RTP payloads (after a 12-byte header) of a little-endian
    Ethernet/IPv4/UDP pcap, in order, and the first packet's bytes."""
    raw = open(path, "rb").read()
    off, out, first = 24, [], None
    while off + 16 <= len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        pkt = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        ihl = (pkt[14] & 0x0F) * 4
        out.append(pkt[14 + ihl + 8 + 12:])
        if first is None:
            first = pkt
    return out, first


def pcm_of_pcap(path):
    """The A-law audio a pcap carries, as PCM."""
    pays, _ = pcap_payloads(path)
    return [ALAW[b] for p in pays for b in p]


def write_rtp_pcap(path, pcm, template_pcap, ssrc):
    """pcm as A-law RTP (30 ms packets, 240 samples) in a pcap sipp plays:
    each packet is template_pcap's first one (Ethernet/IPv4/UDP/RTP of the
    same size) with its sequence, timestamp, SSRC and payload replaced."""
    with open(template_pcap, "rb") as f:
        hdr = f.read(24)
    _, first = pcap_payloads(template_pcap)
    ihl = (first[14] & 0x0F) * 4
    rtp = 14 + ihl + 8
    out = bytearray(hdr)
    t0 = 1700000000.0
    for k in range(len(pcm) // PTIME):
        data = bytearray(first[:rtp + 12])
        data[rtp + 1] &= 0x7F
        data[rtp + 2:rtp + 4] = struct.pack(">H", k % 65536)
        data[rtp + 4:rtp + 8] = struct.pack(">I", (k * PTIME) % (1 << 32))
        data[rtp + 8:rtp + 12] = struct.pack(">I", ssrc)
        data += bytes(alaw_encode(s) for s in pcm[k * PTIME:(k + 1) * PTIME])
        t = t0 + k * PTIME / RATE
        sec = int(t)
        out += struct.pack("<IIII", sec, int(round((t - sec) * 1e6)), len(data), len(data)) + data
    with open(path, "wb") as f:
        f.write(out)


def parse_live_header(b):
    """(rate, channels, start_us, data offset) of the listen-in stream's
    WAV header, or None while b does not hold it whole."""
    if len(b) < 12:
        return None
    if b[:4] != b"RIFF" or b[8:12] != b"WAVE":
        raise ValueError("not a WAV stream: %r" % b[:12])
    off, rate, ch, start = 12, None, None, None
    while off + 8 <= len(b):
        cid, size = b[off:off + 4], struct.unpack("<I", b[off + 4:off + 8])[0]
        if cid == b"data":
            return rate, ch, start, off + 8
        if off + 8 + size > len(b):
            return None
        body = b[off + 8:off + 8 + size]
        if cid == b"fmt ":
            ch, rate = struct.unpack("<HI", body[2:8])
        elif cid == b"estm":
            start = struct.unpack("<q", body[:8])[0]
        off += 8 + size
    return None


def envelope(pcm, frame=160):
    """RMS per frame (20 ms at 8 kHz)."""
    out = []
    for i in range(0, len(pcm) - frame + 1, frame):
        s = 0
        for v in pcm[i:i + frame]:
            s += v * v
        out.append(math.sqrt(s / frame))
    return out


def best_match(x, src):
    """(correlation, lag): the normalized correlation of envelope x with
    src[lag:lag + len(x)] at the best lag (x shorter than src)."""
    n = len(x)
    if n < 10 or len(src) < n:
        return 0.0, 0
    mx = sum(x) / n
    xd = [v - mx for v in x]
    nx = math.sqrt(sum(v * v for v in xd)) or 1.0
    best = (-2.0, 0)
    for lag in range(0, len(src) - n + 1):
        w = src[lag:lag + n]
        mw = sum(w) / n
        num = 0.0
        den = 0.0
        for a, b in zip(xd, w):
            d = b - mw
            num += a * d
            den += d * d
        c = num / (nx * (math.sqrt(den) or 1.0))
        if c > best[0]:
            best = (c, lag)
    return best
