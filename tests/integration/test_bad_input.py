"""Bad input never crashes an import and never loses what was read before it.

- a capture cut in the middle of a record: exit 3, the message names the
  file and the frame, every call before the cut is in the index;
- a file with a wrong magic (not a capture): exit 3, the message names it;
- a record whose length field is absurd: exit 3 naming the frame, the calls
  before it kept;
- garbage that looks like SIP, SDP with absurd ports and counts, a 1 MB SIP
  header over TCP, truncated and non-IP frames: counted skips, exit 0, and a
  good call in the same file still found with its streams."""
import json
import os
import shutil
import struct

from estest import BUILD, Results, calls_json, import_capture, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir()


def records(data):
    """Offsets of the records of a little-endian microsecond pcap."""
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        out.append(off)
        off += 16 + incl
    return out


# A good capture with its truth.
good = os.path.join(work, "good.pcap")
truth_path = os.path.join(work, "good.json")
run([GEN, "-o", good, "--truth", truth_path, "--calls", "8", "--duration", "16", "--concurrency", "4",
     "--seed", "11"])
truth = json.load(open(truth_path))
blob = open(good, "rb").read()
offs = records(blob)
ends = sorted(c["end_us"] for c in truth["calls"])

# 1. cut in the middle of a record, after about 60 % of the file
cut_at = offs[int(len(offs) * 0.6)] + 20
cut = os.path.join(work, "cut.pcap")
open(cut, "wb").write(blob[:cut_at])
data = os.path.join(work, "d-cut")
p, summary = import_capture(data, cut)
res.check(p.returncode == 3, "cut file: exit %d, expected 3" % p.returncode)
res.check("cut.pcap" in p.stderr and "frame %d" % (int(len(offs) * 0.6) + 1) in p.stderr,
          "cut file: message should name the file and frame %d: %r"
          % (int(len(offs) * 0.6) + 1, p.stderr))
n_cut = len(calls_json(data))
res.check(n_cut > 0, "cut file: the calls read before the cut should be imported")
print("cut file: %d calls kept of %d; stderr: %s" % (n_cut, len(truth["calls"]), p.stderr.strip()))

# 2. not a capture at all
junk = os.path.join(work, "notes.pcap")
open(junk, "wb").write(b"This is a text file, not a capture.\n" * 10)
p, _ = import_capture(os.path.join(work, "d-junk"), junk)
res.check(p.returncode == 3 and "notes.pcap" in p.stderr,
          "wrong magic: exit %d, stderr %r" % (p.returncode, p.stderr))

# 3. an absurd record length in the middle
bad = bytearray(blob)
k = offs[int(len(offs) * 0.7)]
bad[k + 8:k + 12] = struct.pack("<I", 0x7FFFFFF0)
badlen = os.path.join(work, "badlen.pcap")
open(badlen, "wb").write(bad)
data = os.path.join(work, "d-badlen")
p, _ = import_capture(data, badlen)
res.check(p.returncode == 3 and "badlen.pcap" in p.stderr and "frame" in p.stderr,
          "corrupt record length: exit %d, stderr %r" % (p.returncode, p.stderr))
res.check(len(calls_json(data)) > 0, "corrupt record length: calls before it should be kept")
print("corrupt length: stderr: %s" % p.stderr.strip())


# 4. hostile packets mixed into the good capture
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def eth(ip):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip


def udp(src, dst, sport, dport, payload):
    return eth(ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload))


def tcp(src, dst, sport, dport, seq, payload, flags=0x18):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0)
    return eth(ipv4(src, dst, 6, h + payload))


A, B = [192, 0, 2, 1], [192, 0, 2, 2]
sdp_absurd = ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
              "m=audio 99999 RTP/AVP 0\r\n" + "m=audio 4000 RTP/AVP " + " ".join(str(i % 128) for i in range(600)) +
              "\r\n" + "".join("a=rtpmap:%d X/%d\r\n" % (i % 128, 4294967295 + i) for i in range(300)) +
              "m=audio 4002/70000 RTP/AVP 8\r\n" * 40 + "a=rtcp:0\r\nc=IN IP4 999.1.1.1\r\n")


def invite(cid, body):
    return ("INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK%s\r\n"
            "From: <sip:alice@192.0.2.1>;tag=a1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: %s\r\n"
            "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
            % (cid, cid, len(body), body)).encode()


hostile = [
    udp(A, B, 5060, 5060, b"INVITE \x00\xff garbage\r\n\r\n"),
    udp(A, B, 5060, 5060, b"SIP/2.0 9999999999999 x\r\nCall-ID:\r\nCSeq: x\r\n\r\n"),
    udp(A, B, 5060, 5060, b"INVITE sip:x SIP/2.0\r\n" + b"X: " + b"a" * 60000 + b"\r\n\r\n"),
    udp(A, B, 5060, 5060, invite("absurd-sdp@test", sdp_absurd)),
    tcp(A, B, 40000, 5060, 1000, b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nSubject: "),
]
# a 1 MB header, over TCP in 1400-byte segments
seq = 1000 + len(b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nSubject: ")
for i in range(0, 1 << 20, 1400):
    hostile.append(tcp(A, B, 40000, 5060, seq, b"y" * 1400))
    seq += 1400
hostile.append(tcp(A, B, 40000, 5060, seq, b"\r\nContent-Length: 0\r\n\r\n"))
hostile += [b"\x02\0\0\0\0\x02\x02\0", eth(b"\x45\x00"), eth(b"\x60" + b"\0" * 10),
            b"\xff" * 14 + b"\x08\x06" + b"\0" * 28]

out = bytearray(blob[:24])
first = offs[0]
ts_sec, ts_usec = struct.unpack("<II", blob[first:first + 8])
for i, fr in enumerate(hostile):
    out += struct.pack("<IIII", ts_sec, ts_usec + i, len(fr), len(fr)) + fr
out += blob[24:]
mixed = os.path.join(work, "mixed.pcap")
open(mixed, "wb").write(out)
data = os.path.join(work, "d-mixed")
p, summary = import_capture(data, mixed)
res.check(p.returncode == 0, "hostile packets: exit %d: %s" % (p.returncode, p.stderr))
if summary:
    calls = calls_json(data)
    cids = {c["call_id"] for c in calls}
    for tc in truth["calls"]:
        res.check(tc["call_id"] in cids, "hostile packets: call %s lost" % tc["call_id"])
    res.check("absurd-sdp@test" in cids, "the INVITE with an absurd SDP should still be a call")
    res.check(summary["skipped"].get("sip_unparsable", 0) > 0 and summary["skipped"].get("tcp_bytes_not_sip", 0) >= 1 << 20,
              "hostile packets should be counted: %s" % summary["skipped"])
    print("hostile packets: skipped %s" % json.dumps(summary["skipped"], sort_keys=True))

shutil.rmtree(work, ignore_errors=True)
res.finish()
