"""Helpers for the SIPREC tests (test_siprec.py): the media a session
recording client sends (two RTP streams in a pcap for sipp's
play_pcap_audio, with the source audio kept to compare against), a minimal
SIP client over UDP for requests sipp cannot send (malformed bodies), and
WAV reading.

Everything here was written for these tests; the metadata documents follow
the element names of the recording metadata format (RFC 7865) with made-up
participants.  Python 3 standard library only (audioop, deprecated but
present in 3.11, encodes G.711 u-law)."""
import array
import os
import random
import re
import socket
import struct
import subprocess
import time
import wave

try:
    import audioop  # noqa: deprecated in 3.11, removed in 3.13
except ImportError:  # pragma: no cover
    audioop = None

RATE = 8000
PTIME = 0.020
FRAME = int(RATE * PTIME)  # 160 samples per packet
# stream 1 (label 1, the caller) and stream 2 (label 2, the callee): sipp
# sends each packet to (answered port + dport - lowest dport), so these
# land on the answer's first and second m-line ports (first, first + 2).
DPORT = {1: 6000, 2: 6002}
SPORT = {1: 7000, 2: 7002}
SSRC = {1: 0x5EC0A111, 2: 0x5EC0B222}
SDES_KEY = "ZWFyc2hvdCBzaXByZWMgdGVzdCBrZXksIHNhbHQh"  # 30 bytes, made up (also in tests/sipp/siprec_srtp.xml)


# --- audio -------------------------------------------------------------------

def speech(path, seconds, work):
    """Mono 8 kHz 16-bit speech of exactly `seconds` (espeak-ng, resampled
    and trimmed or padded by sox) at `path`."""
    text = ("This recording was written for the earshot test of the session "
            "recording server. The caller speaks on the left channel while the "
            "callee answers with tone bursts on the right channel. Seven, four, "
            "nine, two. The quick grey fox reads the meter at the harbour gate.")
    raw = os.path.join(work, "espeak.wav")
    subprocess.run(["espeak-ng", "-s", "170", "-w", raw, text], check=True,
                   capture_output=True)
    subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", path,
                    "trim", "0", "%.3f" % seconds, "pad", "0", "%.3f" % seconds,
                    "trim", "0", "%.3f" % seconds], check=True, capture_output=True)
    return read_wav(path)[0]


def tone_bursts(seconds, freq=1000.0, amp=9000):
    """1 kHz bursts of varying length (so that a lag is unambiguous):
    on 120/200/280/160 ms, off 100 ms, repeating."""
    import math
    n = int(round(seconds * RATE))
    out = array.array("h", [0] * n)
    ons = (0.12, 0.20, 0.28, 0.16)
    i, k = 0, 0
    while i < n:
        on = int(ons[k % len(ons)] * RATE)
        for j in range(on):
            if i + j >= n:
                break
            out[i + j] = int(amp * math.sin(2 * math.pi * freq * (i + j) / RATE))
        i += on + int(0.100 * RATE)
        k += 1
    return out


def ulaw_roundtrip(pcm):
    """What a PCMU receiver decodes from pcm (array 'h')."""
    b = audioop.ulaw2lin(audioop.lin2ulaw(pcm.tobytes(), 2), 2)
    out = array.array("h")
    out.frombytes(b)
    return out


def write_wav(path, pcm, channels=1, rate=RATE):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wav(path):
    """(samples as array 'h' interleaved, channels, rate) of a 16-bit WAV."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("%s: %d-byte samples" % (path, w.getsampwidth()))
        data = w.readframes(w.getnframes())
        ch, rate = w.getnchannels(), w.getframerate()
    a = array.array("h")
    a.frombytes(data)
    return a, ch, rate


def channel(samples, channels, idx):
    return samples[idx::channels]


def rms(pcm, start=0, end=None):
    seg = pcm[start:end]
    if not seg:
        return 0.0
    return (sum(x * x for x in seg) / len(seg)) ** 0.5


def envelope(pcm, block=80):
    """RMS of each 10 ms block (80 samples at 8 kHz)."""
    return [rms(pcm, i, i + block) for i in range(0, len(pcm) - block + 1, block)]


def envelope_match(rec, ref, expect_block, max_lag_blocks):
    """(correlation, lag in blocks) of ref's 10 ms energy envelope against
    rec's, the best lag within expect_block +- max_lag_blocks: robust to
    the few ms a jitter buffer's drift correction shifts or stretches."""
    best = (-2.0, None)
    n = len(ref)
    mr = sum(ref) / n
    dr = sum((x - mr) ** 2 for x in ref) ** 0.5
    for lag in range(max(0, expect_block - max_lag_blocks), expect_block + max_lag_blocks + 1):
        seg = rec[lag:lag + n]
        if len(seg) < n:
            break
        ms = sum(seg) / n
        ds = sum((x - ms) ** 2 for x in seg) ** 0.5
        if not ds or not dr:
            continue
        c = sum((a - ms) * (b - mr) for a, b in zip(seg, ref)) / (ds * dr)
        if c > best[0]:
            best = (c, lag)
    return best


# --- pcap ----------------------------------------------------------------------

def _ip_csum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _frame(src, dst, sport, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", _ip_csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


class Stream:
    """One RTP stream's state across pcaps (sequence and timestamp go on)."""

    def __init__(self, label, pcm):
        self.label, self.pcm = label, pcm
        self.seq = random.Random(label).randrange(0, 30000)
        self.ts = random.Random(label * 7).randrange(0, 1 << 31)
        self.pos = 0  # next sample of pcm to send

    def packets(self, seconds):
        """(payload bytes) for `seconds` of audio from the current position."""
        n = int(round(seconds / PTIME))
        out = []
        for i in range(n):
            frame = self.pcm[self.pos:self.pos + FRAME]
            if len(frame) < FRAME:
                frame = frame + array.array("h", [0] * (FRAME - len(frame)))
            hdr = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 0, self.seq, self.ts,
                              SSRC[self.label])
            out.append(hdr + audioop.lin2ulaw(frame.tobytes(), 2))
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            self.pos += FRAME
        return out

    def skip(self, seconds):
        """A pause: RTP time goes on, no packets, no audio consumed."""
        self.ts = (self.ts + int(round(seconds * RATE))) & 0xFFFFFFFF


def write_pcap(path, streams, seconds, t0=1700000000.0):
    """Both streams' next `seconds` of audio, interleaved in time order,
    20 ms apart (the callee's packets 1 ms after the caller's)."""
    per = {s.label: s.packets(seconds) for s in streams}
    recs = []
    for s in streams:
        for i, payload in enumerate(per[s.label]):
            t = t0 + i * PTIME + (s.label - 1) * 0.001
            recs.append((t, _frame("127.0.0.1", "127.0.0.1", SPORT[s.label], DPORT[s.label],
                                   payload, i * 2 + s.label)))
    recs.sort(key=lambda r: r[0])
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for t, data in recs:
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        out += struct.pack("<IIII", sec, usec, len(data), len(data)) + data
    with open(path, "wb") as f:
        f.write(out)
    return len(recs)


def make_media(work, parts, pause_s=0.0):
    """Caller speech and callee tone bursts, split into pcaps: parts is a
    list of (pcap path, seconds); between consecutive parts the RTP
    timestamps jump by pause_s (a paused SRC).  Writes the u-law decoded
    source of each part and party to PATH.caller.wav / PATH.callee.wav and
    returns {"parts": [(path, seconds, caller_ref, callee_ref)],
    "caller": pcm, "callee": pcm}."""
    total = sum(s for _, s in parts)
    caller_pcm = speech(os.path.join(work, "caller_src.wav"), total + 0.1, work)
    callee_pcm = tone_bursts(total + 0.1)
    streams = [Stream(1, caller_pcm), Stream(2, callee_pcm)]
    out = {"parts": [], "caller": caller_pcm, "callee": callee_pcm}
    for k, (path, seconds) in enumerate(parts):
        if k > 0 and pause_s:
            for s in streams:
                s.skip(pause_s)
        start = streams[0].pos
        write_pcap(path, streams, seconds)
        end = streams[0].pos
        refs = []
        for name, pcm in (("caller", caller_pcm), ("callee", callee_pcm)):
            ref = path + "." + name + ".wav"
            write_wav(ref, ulaw_roundtrip(pcm[start:end]))
            refs.append(ref)
        out["parts"].append((path, seconds, refs[0], refs[1]))
    return out


# --- a SIP client over UDP for hostile requests -------------------------------

BOUNDARY = "es-boundary-7e1f"

META_OK = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <session session_id="py-session-%(n)s"></session>
  <participant participant_id="py-p-one">
    <nameID aor="sip:4401@py.example.test"><name>Py One</name></nameID>
  </participant>
  <participant participant_id="py-p-two">
    <nameID aor="sip:4402@py.example.test"><name>Py Two</name></nameID>
  </participant>
  <stream stream_id="py-s-one" session_id="py-session-%(n)s"><label>1</label></stream>
  <stream stream_id="py-s-two" session_id="py-session-%(n)s"><label>2</label></stream>
  <participantstreamassoc participant_id="py-p-one"><send>py-s-one</send></participantstreamassoc>
  <participantstreamassoc participant_id="py-p-two"><send>py-s-two</send></participantstreamassoc>
</recording>
"""

META_XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE recording [ <!ENTITY leak SYSTEM "file:///etc/passwd"> ]>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <participant participant_id="x1"><nameID aor="sip:x@example.test"><name>&leak;</name></nameID></participant>
  <stream stream_id="xs1"><label>1</label></stream>
  <stream stream_id="xs2"><label>2</label></stream>
</recording>
"""

META_LAUGHS = ("""<?xml version="1.0"?>
<!DOCTYPE recording [
 <!ENTITY h0 "ha">
""" + "".join(' <!ENTITY h%d "&h%d;&h%d;&h%d;&h%d;&h%d;&h%d;&h%d;&h%d;&h%d;&h%d;">\n'
              % ((i,) + (i - 1,) * 10) for i in range(1, 10)) + """]>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <participant participant_id="x1"><nameID aor="sip:x@example.test"><name>&h9;</name></nameID></participant>
  <stream stream_id="xs1"><label>1</label></stream>
  <stream stream_id="xs2"><label>2</label></stream>
</recording>
""")


def sdp_offer(port=47000, labels=(1, 2), extra="", mport=None):
    lines = ["v=0", "o=pysrc 4242 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
    for i, lab in enumerate(labels):
        lines += ["m=audio %s RTP/AVP 0 101" % (mport if mport is not None else port + 2 * i),
                  "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
                  "a=label:%s" % lab, "a=sendonly"]
    return "\r\n".join(lines) + "\r\n" + extra


def multipart(sdp, meta, boundary=BOUNDARY):
    return ("--%s\r\nContent-Type: application/sdp\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: application/rs-metadata+xml\r\n"
            "Content-Disposition: recording-session\r\n\r\n%s\r\n--%s--\r\n"
            % (boundary, sdp, boundary, meta, boundary))


class SipClient:
    """Sends requests from one UDP socket and waits for their final answer."""

    def __init__(self, server=("127.0.0.1", 41060), local_port=0):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", local_port))
        self.port = self.sock.getsockname()[1]
        self.n = 0

    def close(self):
        self.sock.close()

    def request(self, method, body=b"", ctype=None, extra=(), call_id=None, timeout=5.0,
                require_siprec=True):
        """Sends one request; returns (status code or None, headers dict
        (lower-case names, first value), raw response text).  A non-2xx
        final answer to an INVITE is ACKed; a 2xx is ACKed and BYEd."""
        self.n += 1
        cid = call_id or "py-%d-%d-%d@127.0.0.1" % (os.getpid(), self.port, self.n)
        branch = "z9hG4bK-py%d-%d" % (self.port, self.n)
        tag = "pytag%d" % self.n
        if isinstance(body, str):
            body = body.encode()
        ruri = "sip:srs@%s:%d" % self.server
        hdrs = ["%s %s SIP/2.0" % (method, ruri),
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch),
                "Max-Forwards: 70",
                "From: <sip:src@127.0.0.1:%d>;tag=%s" % (self.port, tag),
                "To: <%s>" % ruri,
                "Call-ID: " + cid,
                "CSeq: 1 " + method,
                "Contact: <sip:src@127.0.0.1:%d>;+sip.src" % self.port]
        if method == "INVITE" and require_siprec:
            hdrs.append("Require: siprec")
        hdrs += list(extra)
        if ctype:
            hdrs.append("Content-Type: " + ctype)
        hdrs.append("Content-Length: %d" % len(body))
        msg = ("\r\n".join(hdrs) + "\r\n\r\n").encode() + body
        self.sock.sendto(msg, self.server)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                break
            text = data.decode("utf-8", "replace")
            m = re.match(r"SIP/2\.0 (\d{3})", text)
            if not m or ("branch=" + branch) not in text:
                continue
            code = int(m.group(1))
            if code < 200:
                continue
            head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
            h = {}
            for line in head:
                if ":" in line:
                    k, v = line.split(":", 1)
                    h.setdefault(k.strip().lower(), v.strip())
            if method == "INVITE":
                self._ack(ruri, cid, branch, tag, h, code)
            return code, h, text
        return None, {}, ""

    def _ack(self, ruri, cid, branch, tag, h, code):
        to = h.get("to", h.get("t", "<%s>" % ruri))
        base = ["Max-Forwards: 70", "From: <sip:src@127.0.0.1:%d>;tag=%s" % (self.port, tag),
                "To: " + to, "Call-ID: " + cid]
        if code >= 300:
            via = "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch)
            msgs = [["ACK %s SIP/2.0" % ruri, via] + base + ["CSeq: 1 ACK", "Content-Length: 0"]]
        else:
            mk = lambda m, n: ["%s %s SIP/2.0" % (m, ruri),  # noqa: E731
                               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s-%s;rport"
                               % (self.port, branch, m)] + base + \
                              ["CSeq: %d %s" % (n, m), "Content-Length: 0"]
            msgs = [mk("ACK", 1), mk("BYE", 2)]
        for m in msgs:
            self.sock.sendto(("\r\n".join(m) + "\r\n\r\n").encode(), self.server)
