"""Real SIP peers: sipp's uac_pcap scenario (the sip-tester package, playing
its shipped G.711 A-law and RFC 4733 pcaps) calls a sipp UAS that echoes the
RTP back, on loopback, while tcpdump captures.  earshot imports the capture;
every call must be found answered with its parties and DTMF, and every RTP
stream must equal tshark's view of the same file (packets, lost, jitter)."""
import os
import shutil
import subprocess
import time

import estest
from estest import (Results, all_streams, calls_json, compare_streams, free_port, free_port_range,
                    have, import_capture, show_json, skip, tmpdir, tshark_rtp_streams)

for tool in ("sipp", "tcpdump", "tshark"):
    if not have(tool):
        skip(tool + " not installed (scripts/bootstrap installs it)")
if os.geteuid() != 0:
    skip("capturing on lo needs root")
SHIPPED = "/usr/share/sip-tester"
if not os.path.exists(os.path.join(SHIPPED, "g711a.pcap")):
    skip("sip-tester's pcaps not found in " + SHIPPED)

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
CALLS = 6
# free ports (never fixed ones: another program may hold them): the two SIP
# ports, and one free block for both sides' media (sipp's -mp base and the
# ports above it), which is all the capture filter lets in
MEDIA_SPAN = 200
MEDIA = free_port_range(2 * MEDIA_SPAN)
UAS_MEDIA, UAC_MEDIA = MEDIA, MEDIA + MEDIA_SPAN
UAS_PORT = free_port(udp=True)
UAC_PORT = free_port(udp=True)
while UAC_PORT == UAS_PORT or MEDIA <= UAC_PORT < MEDIA + 2 * MEDIA_SPAN \
        or MEDIA <= UAS_PORT < MEDIA + 2 * MEDIA_SPAN:
    UAS_PORT, UAC_PORT = free_port(udp=True), free_port(udp=True)

res = Results()
work = tmpdir("earshot-sipp-")
os.symlink(SHIPPED, os.path.join(work, "pcap"))  # the scenario plays pcap/g711a.pcap
cap = os.path.join(work, "sipp.pcap")
dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", cap, "udp and (port %d or port %d or portrange %d-%d)"
                         % (UAS_PORT, UAC_PORT, MEDIA, MEDIA + 2 * MEDIA_SPAN - 1)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
try:
    time.sleep(1.0)  # let tcpdump open the interface
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(UAS_PORT),
                            "-mi", "127.0.0.1", "-mp", str(UAS_MEDIA), "-rtp_echo", "-nostdin",
                            "-m", str(CALLS)], cwd=work, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    uac = subprocess.run(["sipp", "-sn", "uac_pcap", "127.0.0.1:%d" % UAS_PORT, "-i", "127.0.0.1",
                          "-p", str(UAC_PORT), "-mi", "127.0.0.1", "-mp", str(UAC_MEDIA),
                          "-m", str(CALLS), "-l", str(CALLS), "-r", "10", "-nostdin",
                          "-timeout", "60s"], cwd=work, capture_output=True, text=True)
    res.check(uac.returncode == 0, "sipp uac exited %d" % uac.returncode)
    try:
        uas.wait(timeout=15)
    except subprocess.TimeoutExpired:
        uas.kill()
    time.sleep(0.5)
finally:
    dump.terminate()
    dump.wait(timeout=10)

data = os.path.join(work, "data")
p, summary = import_capture(data, cap)
res.check(p.returncode == 0, "import exited %d: %s" % (p.returncode, p.stderr))
calls = calls_json(data)
res.check(len(calls) == CALLS, "expected %d calls, found %d" % (CALLS, len(calls)))
for c in calls:
    res.check(c["outcome"] == "answered" and c["sip_code"] == 200,
              "call %s: outcome %s %s" % (c["call_id"], c["outcome"], c["sip_code"]))
    res.check(c["caller"].startswith("sip:sipp@") and c["callee"].startswith("sip:service@"),
              "call %s: parties %s -> %s" % (c["call_id"], c["caller"], c["callee"]))
    res.check(c["end_reason"] == "bye", "call %s: end reason %s" % (c["call_id"], c["end_reason"]))
    res.check(not c["flags"], "call %s: flags %s" % (c["call_id"], c["flags"]))
    # uac_pcap sends A-law both ways (echoed) and then a telephone-event stream
    parties = {s["party"] for s in c["streams"]}
    res.check(parties == {"caller", "callee"}, "call %s: stream parties %s" % (c["call_id"], parties))
    res.check(any(8 in s["payload_types"] for s in c["streams"]), "call %s: no PCMA" % c["call_id"])
    detail = show_json(data, c["id"])
    digits = [e for e in detail["events"] if e["kind"] == "dtmf" and e["party"] == "caller"]
    res.check(len(digits) >= 1, "call %s: no DTMF event from the caller" % c["call_id"])
    labels = [m["label"] for m in detail["messages"]]
    res.check(labels[:4] == ["INVITE", "180 Ringing", "200 OK", "ACK"] and "BYE" in labels,
              "call %s: message sequence %s" % (c["call_id"], labels))

theirs = tshark_rtp_streams(cap)
res.check(len(theirs) == 4 * CALLS, "tshark saw %d streams, expected %d" % (len(theirs), 4 * CALLS))
compare_streams(res, "sipp", all_streams(calls), theirs)
print("sipp: %d calls, %d streams; tshark %d streams" % (len(calls), len(all_streams(calls)), len(theirs)))
shutil.rmtree(work, ignore_errors=True)
res.finish()
