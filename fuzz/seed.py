#!/usr/bin/env python3
"""Build the fuzzers' seed corpora from real captures, at test time.

The public captures of ../shared/captures must not be copied into the
project (their README), so their seeds are extracted here, into the build
folder, each time the fuzzers run.  Captures made by the bench generator
(bench/gen_calls: every link type, VLAN, IPv6, fragments, SIP over TCP, DTMF,
RTCP) add what the public ones lack.  Hand-written seeds committed under
fuzz/corpus/<harness>/ are copied as they are.

  fuzz/seed.py --out DIR [--gen BUILD/gen_calls] [--shared ../shared/captures]

writes DIR/<harness>/* for the harnesses pcap, net_frame, sip, sdp, rtp, codec.
Needs tshark (scripts/bootstrap installs it); without it, only the pcap and
net_frame seeds and the committed ones are written."""
import argparse
import glob
import hashlib
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
    # codecs through their real encoders, for fuzz_codec
    ("speex", ["--codec", "speex"]),
    ("speex-wb", ["--codec", "speex-wb"]),
    ("amr", ["--codec", "amr"]),
    ("amr-be", ["--codec", "amr-be"]),
    ("amr-wb", ["--codec", "amr-wb"]),
    ("g723", ["--codec", "g723", "--ptime", "30"]),
]
PER_FILE = {"net_frame": 12, "sip": 8, "sdp": 4, "rtp": 6}


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


def seed_capture(path, out, tmp, counts, have_tshark):
    conv, r = as_pcap(path, tmp)
    if not r:
        return
    dlt, frames = r
    if not frames:
        return
    put(out, "pcap", head_pcap(frames, dlt, 30), counts)
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
            sip.append(bytes.fromhex(hexdata.split(",")[0]))
    for msg in spread(sip, PER_FILE["sip"]):
        put(out, "sip", msg, counts)
    bodies = [m.split(b"\r\n\r\n", 1)[1] for m in sip if b"\r\n\r\n" in m and b"v=0" in m]
    for b in spread(bodies, PER_FILE["sdp"]):
        put(out, "sdp", b, counts)
    rtp = [bytes.fromhex(f[0]) for f in tshark_fields(path, "rtp or rtcp or rtpevent",
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
                   "speex/32000": [24], "ilbc": [25], "amr": [26], "amr-wb": [27], "g723": [28]}
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
            by_pt.setdefault(int(f[0].split(",")[0]), []).append(pl)
    for pt, pls in sorted(by_pt.items()):
        for sel in CODEC_SELECTORS.get(names.get(pt, ""), []):
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gen", help="bench/gen_calls binary")
    ap.add_argument("--shared", help="folder of public captures (../shared/captures)")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    have_tshark = shutil.which("tshark") is not None
    counts = {}
    tmp = tempfile.mkdtemp(prefix="earshot-seed-")
    try:
        sources = []
        if args.shared and os.path.isdir(args.shared):
            sources += sorted(p for p in glob.glob(os.path.join(args.shared, "*"))
                              if os.path.isfile(p) and not p.endswith((".tsv", ".md", ".txt")))
        else:
            print("seed: %s not present: no seeds from public captures" % args.shared, file=sys.stderr)
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
        for d in glob.glob(os.path.join(here, "corpus", "*")):
            if os.path.isdir(d):
                for f in glob.glob(os.path.join(d, "*")):
                    put(args.out, os.path.basename(d), open(f, "rb").read(), counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("seed: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
