#!/usr/bin/env python3
"""check_truth.py - compare a gen_calls truth file with what tshark sees.

    bench/check_truth.py CAPTURE.pcap TRUTH.json [--tshark PATH] [-v]

Checks, exiting 1 on any mismatch (2 on usage or tool errors):
  * RTP streams: `tshark -q -z rtp,streams` (with the RTP heuristic on, so
    that streams whose SDP is not in the capture are seen too) lists exactly
    the streams of the truth, keyed by src, dst and SSRC, with the same
    packet and lost counts;
  * SIP: the number of SIP messages tshark dissects equals the truth's
    sip_messages total;
  * no frame is malformed (`-Y _ws.malformed`).
"""
import argparse
import json
import re
import shutil
import subprocess
import sys

HEUR = ["-o", "rtp.heuristic_rtp:TRUE"]


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write("check_truth: %s failed:\n%s" % (" ".join(cmd), p.stderr))
        sys.exit(2)
    return p.stdout


def ep(ip, port):
    return ("[%s]:%s" % (ip, port)) if ":" in ip else ("%s:%s" % (ip, port))


def tshark_streams(tshark, pcap):
    """{(src, dst, ssrc): (packets, lost)} from tshark's rtp,streams."""
    out = run([tshark, "-n", "-r", pcap, "-q", "-z", "rtp,streams"] + HEUR)
    streams = {}
    # [Start time  End time]  Src IP addr  Port  Dest IP addr  Port  SSRC  Payload  Pkts  Lost ...
    row = re.compile(r"^\s*(?:[\d.]+\s+[\d.]+\s+)?(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9a-fA-F]+)\s+(.*?)\s+"
                     r"(\d+)\s+(-?\d+)\s+\(")
    for line in out.splitlines():
        m = row.match(line)
        if not m:
            continue
        key = (ep(m.group(1), m.group(2)), ep(m.group(3), m.group(4)), int(m.group(5), 16))
        if key in streams:
            sys.stderr.write("check_truth: tshark lists %s twice\n" % (key,))
        streams[key] = (int(m.group(7)), int(m.group(8)))
    return streams, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap")
    ap.add_argument("truth")
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    with open(a.truth) as f:
        truth = json.load(f)
    want = {}
    for c in truth["calls"]:
        for s in c["streams"]:
            want[(s["src"], s["dst"], int(s["ssrc"]))] = (s["packets"], s["lost"])

    got, raw = tshark_streams(a.tshark, a.pcap)
    errors = []
    for k in sorted(set(want) | set(got)):
        w, g = want.get(k), got.get(k)
        if w is None:
            errors.append("stream %s %s ssrc 0x%08x: tshark %s, not in truth" % (k[0], k[1], k[2], g))
        elif g is None:
            errors.append("stream %s %s ssrc 0x%08x: truth %s, not seen by tshark" % (k[0], k[1], k[2], w))
        elif w != g:
            errors.append("stream %s %s ssrc 0x%08x: truth packets/lost %s, tshark %s"
                          % (k[0], k[1], k[2], w, g))

    # SIP messages: one line per message in the sip field list.
    sip = run([a.tshark, "-n", "-r", a.pcap, "-Y", "sip", "-T", "fields",
               "-e", "sip.Method", "-e", "sip.Status-Code", "-E", "occurrence=a",
               "-E", "aggregator=;"] + HEUR)
    nsip = 0
    for line in sip.splitlines():
        meth, _, code = line.partition("\t")
        nsip += len([x for x in meth.split(";") if x]) + len([x for x in code.split(";") if x])
    if nsip != truth["sip_messages"]:
        errors.append("SIP messages: truth %d, tshark %d" % (truth["sip_messages"], nsip))

    mal = run([a.tshark, "-n", "-r", a.pcap, "-Y", "_ws.malformed or _ws.expert.severity >= error"]
              + HEUR)
    if mal.strip():
        lines = mal.strip().splitlines()
        errors.append("%d malformed/error frames, e.g.: %s" % (len(lines), lines[0]))

    if a.verbose:
        sys.stdout.write(raw)
    for e in errors:
        print("MISMATCH: " + e)
    print("check_truth: %d streams in truth, %d seen by tshark, %d SIP messages, %d problems"
          % (len(want), len(got), nsip, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
