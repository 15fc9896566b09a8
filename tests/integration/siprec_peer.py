"""Helpers for the SIPREC tests (test_siprec.py, test_siprec_guard.py):
the media a session recording client sends (two RTP streams in a pcap for
sipp's play_pcap_audio, with the source audio kept to compare against; or
RTP packets for a test to send itself), a SIP client over UDP or TCP that
can hold a recording client's dialog (for requests sipp cannot send), the
server under test on free ports (Srs), WAV reading and sample comparison.

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


def sdp_offer(port=47000, labels=(1, 2), extra="", mport=None, ports=None, conn="127.0.0.1",
              media_conn=None, version=1, srtp_key=None):
    """A recording client's offer: one sendonly PCMU m-line per label, at
    ports[i] (else port + 2 i, or mport for all), c= conn at session level
    and media_conn[i] (when given and not None) at media level; RTP/SAVP
    with an SDES key (RFC 4568) when srtp_key is given."""
    lines = ["v=0", "o=pysrc 4242 %d IN IP4 %s" % (version, conn), "s=-", "c=IN IP4 " + conn,
             "t=0 0"]
    for i, lab in enumerate(labels):
        p = mport if mport is not None else ports[i] if ports else port + 2 * i
        lines += ["m=audio %s RTP/%s 0 101" % (p, "SAVP" if srtp_key else "AVP")]
        if media_conn and media_conn[i]:
            lines += ["c=IN IP4 " + media_conn[i]]
        lines += ["a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
                  "a=label:%s" % lab, "a=sendonly"]
        if srtp_key:
            lines += ["a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + srtp_key]
    return "\r\n".join(lines) + "\r\n" + extra


def multipart(sdp, meta, boundary=BOUNDARY):
    return ("--%s\r\nContent-Type: application/sdp\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: application/rs-metadata+xml\r\n"
            "Content-Disposition: recording-session\r\n\r\n%s\r\n--%s--\r\n"
            % (boundary, sdp, boundary, meta, boundary))


def same_samples(x, y):
    """(equal, compared, len x, len y) of two recordings' samples, each from
    its first non-zero sample on (both start at their first packet)."""
    x, y = list(x), list(y)
    i = next((k for k, v in enumerate(x) if v), len(x))
    j = next((k for k, v in enumerate(y) if v), len(y))
    x, y = x[i:], y[j:]
    n = min(len(x), len(y))
    return sum(1 for k in range(n) if x[k] == y[k]), n, len(x), len(y)


def frames_found(rec, ref, window=800):
    """How many of ref's 20 ms frames (that are not silent) appear sample
    for sample in rec near their place (within +-window samples of where
    the first one was found): what a drift-corrected recording keeps exact
    between the few samples the jitter buffer inserted or dropped.
    Returns (found, frames compared)."""
    rec = list(rec)
    ref = list(ref)
    frames = [(i, ref[i:i + FRAME]) for i in range(0, len(ref) - FRAME + 1, FRAME)
              if any(ref[i:i + FRAME])]
    if not frames:
        return 0, 0
    recb = array.array("h", rec).tobytes()
    base = None
    found = 0
    for i, f in frames:
        fb = array.array("h", f).tobytes()
        if base is None:
            k = recb.find(fb)
            if k < 0 or k % 2:
                continue
            base = k // 2 - i
            found += 1
            continue
        lo = max(0, base + i - window)
        k = recb.find(fb, 2 * lo, 2 * (base + i + window + FRAME))
        while k >= 0 and k % 2:
            k = recb.find(fb, k + 1, 2 * (base + i + window + FRAME))
        if k >= 0:
            found += 1
            base = k // 2 - i  # follow the drift
    return found, len(frames)


def rtp_packet(seq, ts, ssrc, payload, pt=0, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                       ts & 0xFFFFFFFF, ssrc) + payload


def ulaw_frames(pcm):
    """pcm (array 'h') cut into 20 ms PCMU payloads."""
    out = []
    for i in range(0, len(pcm) - FRAME + 1, FRAME):
        out.append(audioop.lin2ulaw(pcm[i:i + FRAME].tobytes(), 2))
    return out


def tone(seconds, freq=1000.0, amp=12000):
    import math
    n = int(round(seconds * RATE))
    return array.array("h", [int(amp * math.sin(2 * math.pi * freq * i / RATE))
                             for i in range(n)])


def answer_ports(text):
    """The m= ports of the SDP in a response (0 = rejected stream)."""
    body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
    return [int(m) for m in re.findall(r"^m=audio (\d+) ", body, re.M)]


class SipClient:
    """Sends requests from one socket (UDP, or one TCP connection with
    tcp=True) and waits for their final answer; with dialog=True an INVITE's
    2xx opens a dialog for in_dialog() requests (re-INVITE, BYE)."""

    def __init__(self, server, local_port=0, tcp=False, local_ip="127.0.0.1"):
        self.server, self.tcp, self.ip = server, tcp, local_ip
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        self.sock.bind((local_ip, local_port))
        if tcp:
            self.sock.settimeout(5.0)
            self.sock.connect(server)
        self.port = self.sock.getsockname()[1]
        self.n = 0
        self.buf = b""
        self.dialog = None

    def close(self):
        self.sock.close()

    def _via(self, branch):
        return "Via: SIP/2.0/%s %s:%d;branch=%s;rport" % ("TCP" if self.tcp else "UDP", self.ip,
                                                          self.port, branch)

    def _send(self, msg):
        if self.tcp:
            self.sock.sendall(msg)
        else:
            self.sock.sendto(msg, self.server)

    def _recv(self, timeout):
        """One SIP message (text), or None at the timeout or a closed
        connection."""
        self.sock.settimeout(max(0.05, timeout))
        if not self.tcp:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            return data.decode("utf-8", "replace")
        deadline = time.time() + timeout
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", head, re.I)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + sep + rest[:n]).decode("utf-8", "replace")
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except (socket.timeout, OSError):
                return None
            if not data:
                return None
            self.buf += data

    def request(self, method, body=b"", ctype=None, extra=(), call_id=None, timeout=5.0,
                require_siprec=True, dialog=False):
        """Sends one request; returns (status code or None, headers dict
        (lower-case names, first value), raw response text).  A non-2xx
        final answer to an INVITE is ACKed; a 2xx is ACKed and BYEd, or
        kept as self.dialog with dialog=True."""
        self.n += 1
        cid = call_id or "py-%d-%d-%d@127.0.0.1" % (os.getpid(), self.port, self.n)
        branch = "z9hG4bK-py%d-%d" % (self.port, self.n)
        tag = "pytag%d" % self.n
        ruri = "sip:srs@%s:%d" % self.server
        hdrs = ["%s %s SIP/2.0" % (method, ruri), self._via(branch),
                "Max-Forwards: 70",
                "From: <sip:src@%s:%d>;tag=%s" % (self.ip, self.port, tag),
                "To: <%s>" % ruri,
                "Call-ID: " + cid,
                "CSeq: 1 " + method,
                "Contact: <sip:src@%s:%d>;+sip.src" % (self.ip, self.port)]
        if method == "INVITE" and require_siprec:
            hdrs.append("Require: siprec")
        code, h, text = self._transact(hdrs, body, ctype, extra, branch, timeout)
        if method == "INVITE" and code is not None:
            d = {"ruri": ruri, "cid": cid, "tag": tag, "to": h.get("to", h.get("t", "")),
                 "cseq": 1}
            if code >= 300:
                self._ack(d, branch, 1)
            else:
                self._ack(d, branch + "-ACK", 1)
                self.dialog = d
                if not dialog:
                    self.in_dialog("BYE", wait=False)
                    self.dialog = None
        return code, h, text

    def in_dialog(self, method, body=b"", ctype=None, timeout=5.0, wait=True):
        """A request in self.dialog (re-INVITE, UPDATE, BYE): (code, headers,
        text) as request() (a re-INVITE's 2xx is ACKed)."""
        d = self.dialog
        d["cseq"] += 1
        self.n += 1
        branch = "z9hG4bK-py%d-%d" % (self.port, self.n)
        hdrs = ["%s %s SIP/2.0" % (method, d["ruri"]), self._via(branch), "Max-Forwards: 70",
                "From: <sip:src@%s:%d>;tag=%s" % (self.ip, self.port, d["tag"]),
                "To: " + d["to"], "Call-ID: " + d["cid"], "CSeq: %d %s" % (d["cseq"], method),
                "Contact: <sip:src@%s:%d>;+sip.src" % (self.ip, self.port)]
        if not wait:
            self._send(self._msg(hdrs, b"", None, ()))
            return None, {}, ""
        code, h, text = self._transact(hdrs, body, ctype, (), branch, timeout)
        if method == "INVITE" and code is not None:
            self._ack(d, branch + ("-ACK" if code < 300 else ""), d["cseq"])
        return code, h, text

    @staticmethod
    def _msg(hdrs, body, ctype, extra):
        if isinstance(body, str):
            body = body.encode()
        hdrs = list(hdrs) + list(extra)
        if ctype:
            hdrs.append("Content-Type: " + ctype)
        hdrs.append("Content-Length: %d" % len(body))
        return ("\r\n".join(hdrs) + "\r\n\r\n").encode() + body

    def _transact(self, hdrs, body, ctype, extra, branch, timeout):
        try:
            self._send(self._msg(hdrs, body, ctype, extra))
        except OSError:  # a TCP connection the server closed
            return None, {}, ""
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self._recv(deadline - time.time())
            if text is None:
                break
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
            return code, h, text
        return None, {}, ""

    def _ack(self, d, branch, cseq):
        """The ACK (RFC 3261 17.1.1.3 for a non-2xx: the INVITE's branch;
        13.2.2.4 for a 2xx: a new transaction)."""
        hdrs = ["ACK %s SIP/2.0" % d["ruri"], self._via(branch), "Max-Forwards: 70",
                "From: <sip:src@%s:%d>;tag=%s" % (self.ip, self.port, d["tag"]),
                "To: " + d["to"], "Call-ID: " + d["cid"], "CSeq: %d ACK" % cseq]
        self._send(self._msg(hdrs, b"", None, ()))


class Srs:
    """`earshot --data DATA srs ...` on free loopback ports (the live
    recorder's process wrapper: status(), stop(), logs): SIP on UDP and TCP
    at sip_port, RTP from a free block of rtp_pairs pairs."""

    def __init__(self, earshot, data, max_sessions=250, rtp_pairs=1000, args=()):
        import estest
        import livecalls
        self.rec = livecalls.Recorder(earshot, data, bpf=None)
        self.rec.command = self.command
        self.earshot, self.data = earshot, data
        self.max_sessions, self.args = max_sessions, list(args)
        self.sip_port = estest.free_port()
        first = estest.free_port_range(2 * rtp_pairs)
        self.rtp_ports = "%d-%d" % (first, first + 2 * rtp_pairs - 1)

    def command(self):
        return [self.earshot, "--data", self.data, "srs",
                "--listen", "udp:127.0.0.1:%d" % self.sip_port,
                "--listen", "tcp:127.0.0.1:%d" % self.sip_port, "--media-addr", "127.0.0.1",
                "--rtp-ports", self.rtp_ports, "--max-sessions", str(self.max_sessions),
                "--format", "wav", "--status-interval", "1"] + self.args

    @property
    def addr(self):
        return ("127.0.0.1", self.sip_port)

    def start(self):
        """Starts it and waits until it answers OPTIONS; False if it does not."""
        self.rec.start()
        deadline = time.time() + 15
        c = SipClient(self.addr)
        try:
            while time.time() < deadline and self.rec.proc.poll() is None:
                code, _, _ = c.request("OPTIONS", timeout=0.5)
                if code == 200:
                    return True
        finally:
            c.close()
        return False

    def alive(self):
        return self.rec.proc is not None and self.rec.proc.poll() is None

    def status(self):
        return self.rec.status()

    def srs_status(self):
        return (self.rec.status() or {}).get("srs") or {}

    def stop(self, timeout=60):
        import signal
        return self.rec.stop(signal.SIGTERM, timeout)

    def logtail(self, n=2000):
        try:
            return open(self.rec.logpath).read()[-n:]
        except (OSError, AttributeError):
            return ""
