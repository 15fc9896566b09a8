"""RTCP XR VoIP metrics (RFC 3611 section 4.7, issue #17): a generated call
with RTCP (gen_calls --rtcp) gets, after each of the caller's reports, a
compound RR + XR whose VoIP metrics block reports on the callee's stream
with known values.  tshark (the oracle) reads the same values from the
capture; earshot keeps them beside its own figures of that stream (the
call JSON's stream quality "xr", and `earshot show`); a block with a bad
length is skipped without harm to the rest of the call."""
import json
import os
import struct

from estest import (EARSHOT, Results, calls_json, earshot, have, import_capture, run,
                    show_json, skip, tmpdir)

if not have("tshark"):
    skip("tshark is not installed")
res = Results()
work = tmpdir("earshot-xr-")
data = os.path.join(work, "data")
base = os.path.join(work, "call.pcap")
run([os.path.join(os.path.dirname(EARSHOT), "gen_calls"), "-o", base, "--calls", "1",
     "--duration", "20", "--seed", "5", "--rtcp", "--linktype", "raw"])

# the values reported (RFC 3611 4.7: rates /256, delays ms, MOS x10)
XR = dict(loss=13, discard=5, bdens=40, gdens=2, bdur=120, gdur=900, rtt=42, esd=25,
          signal=-20, noise=-60, rerl=127, gmin=16, r=82, ext_r=127, mos_lq=41, mos_cq=40,
          jb_nom=40, jb_max=80, jb_abs=200)


def ip_sum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def xr_payload(reporter, source, block_len=8):
    rr = struct.pack("!BBHI", 0x80, 201, 1, reporter)
    blk = struct.pack("!BBH I BBBB HH HH bbBB BBBB BBH HH", 7, 0, block_len, source,
                      XR["loss"], XR["discard"], XR["bdens"], XR["gdens"], XR["bdur"],
                      XR["gdur"], XR["rtt"], XR["esd"], XR["signal"], XR["noise"],
                      XR["rerl"], XR["gmin"], XR["r"], XR["ext_r"], XR["mos_lq"],
                      XR["mos_cq"], 0, 0, XR["jb_nom"], XR["jb_max"], XR["jb_abs"])
    xr = struct.pack("!BBHI", 0x80, 207, (8 + len(blk)) // 4 - 1, reporter) + blk
    return rr + xr


def add_xr(src, dst, bad=False):
    """Copy the raw-IPv4 capture src, adding after each RTCP SR of the
    first RTCP sender an RR + XR about the other SSRC.  Returns (reporter
    ssrc, reported ssrc, RTCP port, XR packets added)."""
    blob = open(src, "rb").read()
    recs, off = [], 24
    while off + 16 <= len(blob):
        hdr = blob[off:off + 16]
        incl = struct.unpack("<IIII", hdr)[2]
        recs.append((hdr, blob[off + 16:off + 16 + incl]))
        off += 16 + incl
    ssrcs, sender = set(), None
    for _, pkt in recs:
        ihl = (pkt[0] & 15) * 4
        u = pkt[ihl + 8:]
        if pkt[9] != 17 or len(u) < 12 or u[0] >> 6 != 2:
            continue
        if u[1] == 200:
            sender = sender or (struct.unpack("!I", u[4:8])[0], pkt[12:16],
                                struct.unpack("!H", pkt[ihl:ihl + 2])[0])
        elif u[1] < 192:  # RTP: marker + payload type below RTCP's range
            ssrcs.add(struct.unpack("!I", u[8:12])[0])
    reporter, rip, rport = sender
    source = [s for s in ssrcs if s != reporter][0]
    out, n = [blob[:24]], 0
    for hdr, pkt in recs:
        out.append(hdr + pkt)
        ihl = (pkt[0] & 15) * 4
        u = pkt[ihl + 8:]
        if pkt[9] == 17 and len(u) >= 8 and u[1] == 200 and pkt[12:16] == rip and \
                struct.unpack("!I", u[4:8])[0] == reporter:
            body = xr_payload(reporter, source, 7 if bad else 8)
            ip = bytearray(pkt[:ihl])
            struct.pack_into("!H", ip, 2, ihl + 8 + len(body))
            struct.pack_into("!H", ip, 10, 0)
            struct.pack_into("!H", ip, 10, ip_sum(bytes(ip)))
            udp = pkt[ihl:ihl + 4] + struct.pack("!HH", 8 + len(body), 0)
            new = bytes(ip) + udp + body
            sec, usec, _, _ = struct.unpack("<IIII", hdr)
            usec += 1000
            out.append(struct.pack("<IIII", sec + usec // 1000000, usec % 1000000, len(new),
                                   len(new)) + new)
            n += 1
    open(dst, "wb").write(b"".join(out))
    return reporter, source, rport, n


pcap = os.path.join(work, "xr.pcap")
reporter, source, rport, n = add_xr(base, pcap)
res.check(n >= 2, "%d XR reports added" % n)

# the oracle: tshark's RTCP dissector reads the blocks back
fields = ["rtcp.xr.voipmetrics.rfactor", "rtcp.xr.voipmetrics.moscq",
          "rtcp.xr.voipmetrics.rtdelay", "rtcp.xr.voipmetrics.esdelay"]
p = run(["tshark", "-n", "-r", pcap, "-d", "udp.port==%d,rtcp" % rport, "-Y", "rtcp.xr.bt == 7",
         "-T", "fields"] + sum((["-e", f] for f in fields), []))
rows = [ln.split("\t") for ln in p.stdout.splitlines() if ln.strip()]
print("tshark:", rows[:2])
res.check(len(rows) == n, "tshark sees %d VoIP metrics blocks (want %d)" % (len(rows), n))
t = rows[0] if rows else ["", "", "", ""]

p, summary = import_capture(data, pcap)
res.check(p.returncode == 0, "import: %s" % p.stderr)
call = calls_json(data)[0]["id"]
c = show_json(data, call)
xr = {s["ssrc"]: s["quality"].get("xr") for s in c["streams"]}
got = xr.get("0x%08X" % source)
print("xr:", xr)
if res.check(got is not None, "the reported stream 0x%08X has its XR figures" % source):
    res.check(got["r_factor"] == XR["r"] == int(t[0]), "R %r (tshark %s)" % (got["r_factor"], t[0]))
    res.check(abs(got["mos_cq"] - XR["mos_cq"] / 10) < 1e-9 and
              abs(float(t[1]) - got["mos_cq"]) < 0.05, "MOS-CQ %r (tshark %s)" % (got["mos_cq"], t[1]))
    res.check(got["rtt_ms"] == XR["rtt"] == int(t[2]), "round trip %r (tshark %s)"
              % (got["rtt_ms"], t[2]))
    res.check(got["end_system_ms"] == XR["esd"] == int(t[3]), "end system delay %r (tshark %s)"
              % (got["end_system_ms"], t[3]))
    res.check(abs(got["loss_pct"] - round(XR["loss"] * 100 / 256, 2)) < 0.01 and
              abs(got["discard_pct"] - round(XR["discard"] * 100 / 256, 2)) < 0.01,
              "loss %r %%, discarded %r %%" % (got["loss_pct"], got["discard_pct"]))
res.check(xr.get("0x%08X" % reporter) is None, "the reporter's own stream has no XR figures")
out = earshot(data, "show", str(call)).stdout
res.check("(RTCP XR)" in out and "MOS-CQ 4.0" in out, "show prints the XR line beside the stream")

# a VoIP metrics block whose length is not 8 words is refused, the rest stands
bad = os.path.join(work, "bad.pcap")
add_xr(base, bad, bad=True)
data2 = os.path.join(work, "data2")
p, summary = import_capture(data2, bad)
res.check(p.returncode == 0 and summary and summary["calls"] == 1, "import with bad XR: %s"
          % p.stderr)
c2 = show_json(data2, calls_json(data2)[0]["id"])
res.check(all(s["quality"].get("xr") is None for s in c2["streams"]) and
          all(s["packets"] > 0 for s in c2["streams"]), "a malformed block gives no XR figures")
res.finish()
