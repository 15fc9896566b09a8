#!/usr/bin/env python3
"""bench/pcap_repeat.py - a real capture repeated N times, one copy after
another, as one pcap: the benchmarks' "real capture x N" rows (issue #20).

    bench/pcap_repeat.py [--net A.B.C] IN.pcap OUT.pcap [N]     (N: default 50)

Copy k is shifted by k x (the capture's span + 1 s), so the copies do not
overlap in time.  Each copy is made a call (or calls) of its own: in its
UDP/IPv4 packets an address A.B.C.D of the capture's network (--net A.B.C,
default 200.57.7, the Wireshark sample SIP_CALL_RTP_G711's) becomes
(A+k).B.C.D, in the IP header and in SIP text (Via, Contact, SDP c= and
o=: the same number of digits while A+k < 1000, so Content-Length stays
right), and every Call-ID (long form "Call-ID:" and compact "i:") gets
the prefix "rK-".  Same addresses and SSRCs in every copy would make one
long RTP stream of all of them.  The IPv4 total length and header
checksum and the UDP length follow the new size, and the UDP checksum is
set to 0 ("none", RFC 768).  RTP payloads, and other traffic, are copied
byte for byte.  Classic pcap (either byte order, micro- or nanosecond),
Ethernet with at most one VLAN tag; other link types and pcapng are
refused.
"""
import re
import struct
import sys

CALL_ID = re.compile(rb"(\r\n(?:Call-ID|i)[ \t]*:[ \t]*)", re.IGNORECASE)


def ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def rewrite(frame, k, net):
    """The frame as copy k: addresses of net moved, SIP Call-IDs prefixed."""
    off = 14
    if len(frame) < off:
        return frame
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x8100 and len(frame) >= 18:
        etype = struct.unpack("!H", frame[16:18])[0]
        off = 18
    if etype != 0x0800 or len(frame) < off + 20:
        return frame
    ihl = (frame[off] & 0x0F) * 4
    frag = struct.unpack("!H", frame[off + 6:off + 8])[0]
    if frame[off + 9] != 17 or frag & 0x3FFF or len(frame) < off + ihl + 8:
        return frame  # not UDP, or a fragment: left alone
    udp = off + ihl
    payload = frame[udp + 8:]
    new = payload
    if b"SIP/2.0" in payload:
        old_net = b"%d.%d.%d." % net
        new_net = b"%d.%d.%d." % (net[0] + k, net[1], net[2])
        new = CALL_ID.sub(lambda m: m.group(1) + b"r%d-" % k, payload.replace(old_net, new_net))
    ip = bytearray(frame[off:udp])
    for a in (12, 16):
        if tuple(ip[a:a + 3]) == net:
            ip[a] = net[0] + k
    struct.pack_into("!H", ip, 2, ihl + 8 + len(new))
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    uh = bytearray(frame[udp:udp + 8])
    struct.pack_into("!H", uh, 4, 8 + len(new))
    struct.pack_into("!H", uh, 6, 0)
    return frame[:off] + bytes(ip) + bytes(uh) + new


def main():
    args = sys.argv[1:]
    net = (200, 57, 7)
    if len(args) >= 2 and args[0] == "--net":
        net = tuple(int(x) for x in args[1].split("."))
        args = args[2:]
    if len(args) not in (2, 3) or len(net) != 3:
        sys.exit(__doc__)
    src, dst = args[0], args[1]
    n = int(args[2]) if len(args) == 3 else 50
    if n < 1 or net[0] + n - 1 > 255:
        sys.exit("pcap_repeat: %d copies would take the first octet past 255" % n)
    data = open(src, "rb").read()
    if len(data) < 24:
        sys.exit("%s: too short for a pcap header" % src)
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if not order:
        sys.exit("%s: not a classic pcap file (pcapng: convert with editcap -F pcap)" % src)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    unit = 10**9 if nano else 10**6
    linktype = struct.unpack(order + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("%s: link type %d, only Ethernet (1) is handled" % (src, linktype))
    recs, pos = [], 24
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(order + "IIII", data[pos:pos + 16])
        if pos + 16 + incl > len(data):
            sys.exit("%s: packet %d truncated at byte %d" % (src, len(recs) + 1, pos))
        recs.append((sec * unit + frac, orig - incl, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    if not recs:
        sys.exit("%s: no packets" % src)
    step = recs[-1][0] - recs[0][0] + unit
    with open(dst, "wb") as out:
        out.write(data[:24])
        for k in range(n):
            for t, cut, frame in recs:
                f = rewrite(frame, k, net)
                t += k * step
                out.write(struct.pack(order + "IIII", t // unit, t % unit, len(f), len(f) + cut))
                out.write(f)
    print("pcap_repeat: %d packets x %d copies, %.1f s apart" % (len(recs), n, step / unit))


if __name__ == "__main__":
    main()
