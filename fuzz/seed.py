#!/usr/bin/env python3
"""Build the fuzzers' seed corpora from real captures, at test time.

The public captures of ../shared/captures must not be copied into the
project (their README), so their seeds are extracted here, into the build
folder, each time the fuzzers run.  Captures made by the bench generator
(bench/gen_calls: every link type, VLAN, IPv6, fragments, SIP over TCP, DTMF,
RTCP, tunnels, SIP over SCTP and WebSocket) add what the public ones lack;
the field captures (../shared/captures-field: GRE, SCTP, WebSocket, Speex,
L16), named by a second --shared, are read too.  Hand-written seeds committed under
fuzz/corpus/<harness>/ are copied as they are.

  fuzz/seed.py --out DIR [--gen BUILD/gen_calls] [--shared ../shared/captures]
               [--shared ../shared/captures-field]

writes DIR/<harness>/* for the harnesses pcap, engine, net_frame, sip, sdp, rtp,
codec, tunnel, sctp, ws, and qa_form (forms at the parser's limits).
Needs tshark (scripts/bootstrap installs it); without it, only the pcap and
net_frame seeds and the committed ones are written."""
import argparse
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

# libpcap DLT -> index in fuzz_net_frame.c's table
NET_FRAME_DLTS = [1, 113, 276, 12, 101, 228, 229, 0, 108]
GEN_SETS = [
    ("plain", ["--dtmf", "--rtcp"]),
    ("tcp", ["--tcp"]),
    ("frag6", ["--ipv6", "--fragment"]),
    ("frag4", ["--fragment", "--vlan", "7"]),
    ("qinq", ["--qinq", "10,20", "--reinvite"]),
    ("sll", ["--linktype", "sll", "--outcomes"]),
    ("raw", ["--linktype", "raw", "--fork"]),
    ("null", ["--linktype", "null", "--ssrc-change"]),
    ("gre", ["--tunnel", "gre"]),
    ("erspan2", ["--tunnel", "erspan2"]),
    ("erspan3", ["--tunnel", "erspan3"]),
    ("vxlan-in-gre", ["--tunnel", "gre,vxlan"]),
    ("geneve", ["--tunnel", "geneve"]),
    ("ipip6", ["--ipv6", "--tunnel", "ipip"]),
    ("ip6", ["--tunnel", "ip6", "--fragment"]),
    ("mpls", ["--tunnel", "mpls"]),
    ("gre-mpls", ["--tunnel", "gre,mpls"]),
    ("sctp", ["--sctp"]),
    ("ws", ["--ws"]),
    ("dialogs", ["--challenge", "3", "--stray", "--video", "--outcomes"]),
    ("oneway", ["--one-way", "--reuse-callid", "20"]),
    # codecs through their real encoders, for fuzz_codec
    ("speex", ["--codec", "speex"]),
    ("speex-wb", ["--codec", "speex-wb"]),
    ("amr", ["--codec", "amr"]),
    ("amr-be", ["--codec", "amr-be"]),
    ("amr-wb", ["--codec", "amr-wb"]),
    ("g723", ["--codec", "g723", "--ptime", "30"]),
]
PER_FILE = {"net_frame": 12, "sip": 8, "sdp": 4, "rtp": 6, "json": 4}


def put(out, harness, data, counts):
    if not data:
        return
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    counts[harness] = counts.get(harness, 0) + 1


def read_pcap(path):
    """(dlt, [frame bytes]) of a classic pcap file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    dlt = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        off += 16
        if incl > len(data) - off:
            break
        frames.append(data[off:off + incl])
        off += incl
    return dlt, frames


def as_pcap(path, tmp):
    """A classic pcap version of path (tshark converts pcapng)."""
    r = read_pcap(path)
    if r:
        return path, r
    conv = os.path.join(tmp, os.path.basename(path) + ".conv.pcap")
    p = subprocess.run(["tshark", "-r", path, "-F", "pcap", "-w", conv], capture_output=True)
    if p.returncode != 0 or not os.path.exists(conv):
        return None, None
    return conv, read_pcap(conv)


def head_pcap(frames, dlt, n):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, dlt)
    for i, fr in enumerate(frames[:n]):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr
    return out


def tshark_fields(path, flt, fields, heuristic=False):
    cmd = ["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=\t"]
    if heuristic:
        cmd += ["-o", "rtp.heuristic_rtp:TRUE"]
    for fl in fields:
        cmd += ["-e", fl]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return [line.split("\t") for line in p.stdout.splitlines()]


def spread(items, n):
    """n items spread over the list (first, last and between)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# fuzz_tunnel.c's selectors: what follows its fixed outer headers
TO_GRE, TO_VXLAN, TO_GENEVE, TO_IPIP4, TO_IPIP6, TO_MPLS = range(6)


def l3_of(dlt, fr):
    """(ethertype, bytes after the link header) for Ethernet and SLL."""
    if dlt == 1 and len(fr) >= 14:
        return struct.unpack(">H", fr[12:14])[0], fr[14:]
    if dlt == 113 and len(fr) >= 16:
        return struct.unpack(">H", fr[14:16])[0], fr[16:]
    return None, b""


def seed_encap(dlt, frames, out, counts):
    """Seeds for fuzz_tunnel (what follows an outer IPv4/UDP/Ethernet
    header), fuzz_sctp (SCTP packets) and fuzz_ws (a TCP stream with an
    Upgrade) from the frames of one capture."""
    tun, sctp, ws = {}, [], []
    for fr in frames:
        et, l3 = l3_of(dlt, fr)
        if et == 0x8847:
            tun.setdefault(TO_MPLS, []).append(l3)
            continue
        if et != 0x0800 or len(l3) < 20 or l3[0] >> 4 != 4:
            continue
        hl = (l3[0] & 15) * 4
        proto, pl = l3[9], l3[hl:]
        if proto == 47:
            tun.setdefault(TO_GRE, []).append(pl)
        elif proto in (4, 41):
            tun.setdefault(TO_IPIP4 if proto == 4 else TO_IPIP6, []).append(pl)
        elif proto == 17 and len(pl) >= 8 and struct.unpack(">H", pl[2:4])[0] in (4789, 6081):
            port = struct.unpack(">H", pl[2:4])[0]
            tun.setdefault(TO_VXLAN if port == 4789 else TO_GENEVE, []).append(pl[8:])
        elif proto == 132:
            sctp.append(pl)
        elif proto == 6 and len(pl) >= 20:
            thl = (pl[12] >> 4) * 4
            if len(pl) > thl:
                ws.append((struct.unpack(">H", pl[0:2])[0], pl[thl:]))
    for sel, pls in tun.items():
        for pl in spread(pls, 6):
            put(out, "tunnel", bytes([sel]) + pl, counts)
        put(out, "tunnel", bytes([sel]) + pls[0] +
            b"".join(struct.pack(">H", len(x)) + x for x in pls[1:6]), counts)
    if sctp:
        for pl in spread(sctp, 4):
            put(out, "sctp", pl, counts)
        put(out, "sctp", b"".join(bytes([i & 1]) + struct.pack(">H", len(x)) + x
                                  for i, x in enumerate(sctp[:8])), counts)
    server = next((sp for sp, pl in ws if pl.startswith(b"HTTP/1.1 101")), None)
    if server is not None:
        run = b"".join(bytes([1 if sp == server else 0]) + struct.pack(">H", len(pl)) + pl
                       for sp, pl in ws[:24])
        put(out, "ws", b"\x01" + run, counts)
        # the frames alone, after the harness's own handshake
        frames_only = [(sp, pl) for sp, pl in ws if not pl.startswith((b"GET ", b"HTTP/"))]
        put(out, "ws", b"\x00" + b"".join(bytes([1 if sp == server else 0]) +
                                          struct.pack(">H", len(pl)) + pl
                                          for sp, pl in frames_only[:12]), counts)


def seed_capture(path, out, tmp, counts, have_tshark):
    conv, r = as_pcap(path, tmp)
    if not r:
        return
    dlt, frames = r
    if not frames:
        return
    seed_encap(dlt, frames, out, counts)
    put(out, "pcap", head_pcap(frames, dlt, 30), counts)
    # the engine: enough frames for dialogs and some of their media
    put(out, "engine", head_pcap(frames, dlt, 400), counts)
    if dlt in NET_FRAME_DLTS:
        sel = bytes([NET_FRAME_DLTS.index(dlt)])
        for fr in spread(frames, PER_FILE["net_frame"]):
            put(out, "net_frame", sel + fr, counts)
        # a few consecutive frames, length-prefixed (fragments, TCP state)
        chunk = b"".join(struct.pack(">H", len(fr)) + fr for fr in frames[:6])
        put(out, "net_frame", sel + chunk, counts)
    if not have_tshark:
        return
    sip = []
    for f in tshark_fields(path, "sip", ["udp.payload", "tcp.payload"]):
        hexdata = next((x for x in f if x), "")
        if hexdata:
            sip.append(bytes.fromhex(hexdata.split(",")[-1]))  # inner of a tunnel
    for msg in spread(sip, PER_FILE["sip"]):
        put(out, "sip", msg, counts)
    # fuzz_json: the From/To/User-Agent header lines, whose display names
    # and URIs are the strings the JSON writer gets from a capture
    heads = [ln for m in sip for ln in m.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
             if ln.lower().startswith((b"from:", b"to:", b"user-agent:"))]
    for h in spread(heads, PER_FILE["json"]):
        put(out, "json", h, counts)
    bodies = [m.split(b"\r\n\r\n", 1)[1] for m in sip if b"\r\n\r\n" in m and b"v=0" in m]
    for b in spread(bodies, PER_FILE["sdp"]):
        put(out, "sdp", b, counts)
    rtp = [bytes.fromhex(f[0].split(",")[-1]) for f in tshark_fields(path, "rtp or rtcp or rtpevent",
                                                       ["udp.payload"], True) if f and f[0]]
    for pl in spread(rtp, PER_FILE["rtp"]):
        put(out, "rtp", pl, counts)
    # a run of packets framed for the stats and DTMF part of fuzz_rtp
    run = b"".join(bytes([len(pl), 20]) + pl for pl in rtp[:40] if len(pl) < 256)
    put(out, "rtp", run, counts)


# ---- fuzz_codec --------------------------------------------------------------
# SDP encoding name -> selector byte (index in fuzz_codecs[] of fuzz_codec.c);
# opus goes to the mono and the stereo 48 kHz decoders.
# speex is chosen by its clock (RFC 5574: the clock names the mode).
CODEC_SELECTORS = {"pcmu": [0], "pcma": [1], "g722": [2], "g729": [11], "gsm": [12],
                   "opus": [15, 18], "cn": [21], "speex/8000": [22], "speex/16000": [23],
                   "speex/32000": [24], "ilbc": [25], "amr": [26], "amr-wb": [27], "g723": [28],
                   "l16": [19, 20]}
CODEC_STATIC = {0: "pcmu", 3: "gsm", 4: "g723", 8: "pcma", 9: "g722", 13: "cn", 18: "g729"}
CODEC_PER_PT = 4


def seed_codec_all(paths, out, counts):
    """seed_codec over the captures, four tshark runs at a time (each costs
    about a second of start-up)."""
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        runs = list(ex.map(codec_tshark, paths))
    for text in runs:
        seed_codec(text, out, counts)


def codec_tshark(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp or sdp",
           "-T", "fields", "-E", "separator=\t", "-E", "aggregator=|",
           "-e", "rtp.p_type", "-e", "rtp.payload", "-e", "sdp.media_attr"]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def seed_codec(text, out, counts):
    """RTP payloads by payload type, the type named by the capture's SDP
    rtpmap (or RFC 3551 for static ones), as fuzz_codec records: selector
    byte, then 2-byte big-endian length + payload, a 20 ms concealment
    (0x8000 | 160) after every third payload."""
    names, by_pt = dict(CODEC_STATIC), {}
    for line in text.splitlines():
        f = line.split("\t")
        while len(f) < 3:
            f.append("")
        for attr in f[2].split("|"):
            if attr.lower().startswith("rtpmap:"):
                pt_name = attr[7:].split(None, 1)
                if len(pt_name) == 2 and pt_name[0].isdigit():
                    enc = pt_name[1].lower().split("/")
                    names[int(pt_name[0])] = enc[0] if enc[0] != "speex" else "/".join(enc[:2])
        if f[0].split(",")[0].isdigit() and f[1]:
            try:
                pl = bytes.fromhex(f[1].split(",")[0].replace(":", ""))
            except ValueError:
                continue
            # named by the rtpmap last seen: calls of one capture may map
            # one dynamic type to different codecs (Speex at 8/16/32 kHz)
            pt = int(f[0].split(",")[0])
            by_pt.setdefault((pt, names.get(pt, "")), []).append(pl)
    for (pt, name), pls in sorted(by_pt.items()):
        for sel in CODEC_SELECTORS.get(name, []):
            head = bytes([sel])
            for pl in spread(pls, CODEC_PER_PT):
                put(out, "codec", head + struct.pack(">H", len(pl)) + pl, counts)
            mid = len(pls) // 2
            run = b""
            for i, pl in enumerate(pls[mid:mid + 12]):
                run += struct.pack(">H", len(pl)) + pl
                if i % 3 == 2:
                    run += struct.pack(">H", 0x8000 | 160)
            put(out, "codec", head + run, counts)


def seed_qa_forms(out, counts):
    """QA forms at and just past handlers_qa.c's limits (50 sections, 200
    questions, 500-byte texts, 32-byte ids, weight 100), too big to commit
    by hand; fuzz/corpus/qa_form/ has the small ones."""
    def q(i, kind="yesno", **kw):
        d = {"id": "q%d" % i, "text": "Question %d" % i, "kind": kind}
        d.update(kw)
        return d
    full = {"name": "N" * 80, "sections": [
        {"title": "T" * 500, "questions": [q(s * 4 + k, "scale" if k % 2 else "yesno",
                                             weight=100 if k == 0 else 0.5, na=k == 1,
                                             fatal=k == 2) for k in range(4)]}
        for s in range(50)]}
    over = {"name": "x", "sections": [{"title": "t", "questions": [q(i) for i in range(201)]}]}
    longid = {"name": "x", "sections": [{"title": "t", "questions": [
        {"id": "i" * 32, "text": "t" * 500, "kind": "scale"},
        {"id": "j" * 33, "text": "t", "kind": "yesno"}]}]}
    for form in (full, over, longid):
        put(out, "qa_form", json.dumps(form).encode(), counts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gen", help="bench/gen_calls binary")
    ap.add_argument("--shared", action="append",
                    help="folder of public captures (../shared/captures); may be given again "
                         "(../shared/captures-field); a folder that is absent is skipped")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    have_tshark = shutil.which("tshark") is not None
    counts = {}
    tmp = tempfile.mkdtemp(prefix="earshot-seed-")
    try:
        sources = []
        for folder in dict.fromkeys(args.shared or []):
            if not os.path.isdir(folder):
                print("seed: %s not present: no seeds from its captures" % folder, file=sys.stderr)
                continue
            sources += sorted(p for p in glob.glob(os.path.join(folder, "*"))
                              if os.path.isfile(p) and not p.endswith((".tsv", ".md", ".txt")))
        if args.gen and os.path.exists(args.gen):
            for name, opts in GEN_SETS:
                pcap = os.path.join(tmp, "gen-%s.pcap" % name)
                subprocess.run([args.gen, "-o", pcap, "--calls", "2", "--duration", "8",
                                "--seed", "3"] + opts, check=True, capture_output=True)
                sources.append(pcap)
        for src in sources:
            seed_capture(src, args.out, tmp, counts, have_tshark)
        if have_tshark:
            seed_codec_all(sources, args.out, counts)
        seed_qa_forms(args.out, counts)
        for d in glob.glob(os.path.join(here, "corpus", "*")):
            if os.path.isdir(d):
                for f in glob.glob(os.path.join(d, "*")):
                    put(args.out, os.path.basename(d), open(f, "rb").read(), counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("seed: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
