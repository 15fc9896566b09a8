"""A call's raw data (issue #18, "Call flow and raw data"): its SIP messages
and RTP are kept (encrypted) after rendering, and rebuilt as a capture.

For real captures of ../shared/captures: import, then `earshot export
--format pcap ID`, then compare stream by stream with tshark as the oracle:
for every RTP stream of the call, the same packets (capture time to the
microsecond, sequence number, RTP timestamp, marker, payload type, payload
bytes) in the rebuilt file as in the original, and the same streams in
`tshark -z rtp,streams`; the call's SIP messages are in it too, and the
pcapng comment says it was rebuilt.  Nothing of the raw data is plaintext
on disk.  Then over HTTP (`earshot serve` on a free port): GET
/api/calls/{id}/sip gives the ladder (labels, addresses, CSeq, SDP summary,
full text) as the index's message list has it; GET /api/calls/{id}/pcap is
the CLI's file byte for byte; both are audited (call.sip, call.export with
the format).  In Chromium (tests/browser/callflow.mjs): the ladder, a
message's text on click and by keyboard, "Download PCAP" for a supervisor
and not for an agent, the player's controlslist="nodownload".  Last,
`earshot delete` removes the raw data with the recording."""
import os
import subprocess
import sys

from estest import (CHROMIUM, SHARED, EARSHOT, Results, browser_ready, calls_json, earshot,
                    free_port, have, http_req, http_stop, http_wait_up, import_capture,
                    show_json, skip, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))

if not have("tshark"):
    skip("tshark not installed")

# G.711 both ways, G.722, Opus, SIP over TCP with CN, RFC 2833 events, a
# re-INVITE (kept short: tshark reads each file twice)
CAPTURES = ["SIP_CALL_RTP_G711", "sip-rtp-g722.pcap", "invite-opus-bye.pcap",
            "sip-over-tcp.pcap", "SIP_DTMF2.cap", "register-invite-reinvite-bye.pcap"]
FIELDS = ["frame.time_epoch", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst",
          "udp.dstport", "rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.marker", "rtp.p_type",
          "rtp.payload"]
res = Results()
work = tmpdir("earshot-callflow-")


def rtp_packets(path):
    """Every RTP packet tshark sees: {(src, dst, ssrc): [(time, seq, ts, m, pt, payload)]}.
    The heuristic dissector is on, so that a stream needs no SDP to be seen."""
    p = subprocess.run(["tshark", "-n", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
                        "-T", "fields", "-E", "separator=\t"] +
                       sum([["-e", f] for f in FIELDS], []),
                       capture_output=True, text=True)
    out = {}
    for line in p.stdout.splitlines():
        f = line.split("\t")
        # a packet inside ICMP (port unreachable) repeats fields: not a stream's
        if len(f) != len(FIELDS) or not f[7] or any("," in x for x in f):
            continue
        src = "%s:%s" % (f[1] or "[%s]" % f[2], f[3])
        dst = "%s:%s" % (f[4] or "[%s]" % f[5], f[6])
        key = (src, dst, "0x%08X" % int(f[7], 16))
        # the time as tshark prints it, in microseconds (pcapng keeps 6 digits)
        us = round(float(f[0]) * 1e6)
        out.setdefault(key, []).append((us, f[8], f[9], f[10], f[11], f[12]))
    return out


def sip_count(path):
    p = subprocess.run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields", "-e",
                        "frame.number"], capture_output=True, text=True)
    return len(p.stdout.split())


def pcap_comment(path):
    p = subprocess.run(["capinfos", "-k", path], capture_output=True, text=True)
    return p.stdout


# ---- the rebuilt capture against the original, stream by stream -----------------------------
compared_streams = compared_packets = 0
for name in CAPTURES:
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        res.skip("%s not in ../shared/captures" % name)
        continue
    data = os.path.join(work, name + ".data")
    p, summary = import_capture(data, path)
    if not res.check(p.returncode == 0, "%s: import: %s" % (name, p.stderr[-300:])):
        continue
    orig = rtp_packets(path)
    for c in calls_json(data):
        if not c["recording"]:
            continue
        out = os.path.join(work, "%s-%d.pcapng" % (name, c["id"]))
        p = earshot(data, "export", "--format", "pcap", str(c["id"]), "-o", out, check=False)
        if not res.check(p.returncode == 0 and os.path.exists(out),
                         "%s call %d: export --format pcap: %d %s" % (name, c["id"],
                                                                      p.returncode, p.stderr)):
            continue
        detail = show_json(data, c["id"])
        rebuilt = rtp_packets(out)
        for s in detail["streams"]:
            key = (s["src"], s["dst"], s["ssrc"])
            if s["packets"] == 0 or s.get("codecs", "") == "" and key not in orig:
                continue
            want, got = orig.get(key, []), rebuilt.get(key, [])
            compared_streams += 1
            compared_packets += len(want)
            if not res.check(want and got == want,
                             "%s call %d stream %s: rebuilt %d packets, original %d%s" %
                             (name, c["id"], key, len(got), len(want),
                              "" if len(got) != len(want) else ", first difference %s" %
                              next(((a, b) for a, b in zip(got, want) if a != b), None))):
                continue
        extra = set(rebuilt) - {(s["src"], s["dst"], s["ssrc"]) for s in detail["streams"]}
        res.check(not extra, "%s call %d: streams that are not the call's: %s" %
                  (name, c["id"], extra))
        nmsgs = len(detail["messages"])
        res.check(sip_count(out) == nmsgs, "%s call %d: %d SIP messages in the rebuilt file, "
                  "the call has %d" % (name, c["id"], sip_count(out), nmsgs))
        res.check("Rebuilt by earshot" in pcap_comment(out),
                  "%s call %d: the pcapng comment says it was rebuilt" % (name, c["id"]))
    # no plaintext SIP under the data folder: the raw data is encrypted
    leaks = []
    for d, _, files in os.walk(data):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                if b"SIP/2.0" in fh.read():
                    leaks.append(os.path.join(d, f))
    res.check(not leaks, "%s: SIP text in plain under the data folder: %s" % (name, leaks))
res.check(compared_streams >= 10, "streams compared: %d" % compared_streams)
print("callflow: %d streams, %d packets equal in the rebuilt captures" %
      (compared_streams, compared_packets))

# ---- the API: the ladder, the capture, the audit, and deletion -------------------------------
name = "SIP_CALL_RTP_G711"
data = os.path.join(work, name + ".data")
if os.path.isdir(data):
    call = next(c for c in calls_json(data) if c["recording"])
    cid = call["id"]
    cli_pcap = os.path.join(work, "%s-%d.pcapng" % (name, cid))
    PW = "correct horse battery"
    for user, role in (("super1", "supervisor"), ("agent9", "agent")):
        subprocess.run([EARSHOT, "--data", data, "user", "add", user, "--role", role,
                        "--password-stdin"], input=PW + "\n", text=True, check=True,
                       capture_output=True)
    host, port = "127.0.0.1", free_port()
    srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (host, port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if res.check(http_wait_up(host, port, srv), "server up"):
            st, h, b = http_req(host, port, "POST", "/api/login", {"name": "super1", "password": PW})
            ck = h.get("set-cookie", "").split(";")[0].split("=", 1)[-1]
            st, _, lad = http_req(host, port, "GET", "/api/calls/%d/sip" % cid, cookie=ck)
            detail = show_json(data, cid)
            msgs = lad.get("messages", []) if st == 200 else []
            res.check(st == 200 and [m["label"] for m in msgs] ==
                      [m["label"] for m in detail["messages"]] and
                      [m["src"] for m in msgs] == [m["src"] for m in detail["messages"]],
                      "ladder: %d, %s" % (st, [m.get("label") for m in msgs]))
            inv = msgs[0] if msgs else {}
            res.check(inv.get("text", "").startswith("INVITE sip:") and
                      inv.get("cseq") == "1 INVITE" and inv.get("call_id") == call["call_id"] and
                      inv.get("sdp") and inv["sdp"][0]["type"] == "audio" and
                      any(x.startswith("PCMA/8000") or x.startswith("PCMU/8000")
                          for x in inv["sdp"][0]["codecs"]),
                      "ladder: the INVITE's text, CSeq, Call-ID and SDP summary: %s" %
                      {k: v for k, v in inv.items() if k != "text"})
            st, h, body = http_req(host, port, "GET", "/api/calls/%d/pcap" % cid, cookie=ck,
                                   raw=True)
            with open(cli_pcap, "rb") as f:
                same = f.read() == body
            res.check(st == 200 and same and "pcapng" in h.get("content-disposition", ""),
                      "API pcap is the CLI's file: %d same=%s %s" % (st, same, h))
            st, _, b = http_req(host, port, "GET", "/api/audit?limit=50", cookie=ck)
            # a supervisor does not read the audit log: the admin checks below via the CLI
        p = earshot(data, "audit", "--json", check=False)
        res.check('"call.sip"' in p.stdout and "format pcap" in p.stdout,
                  "audited: call.sip and call.export with the format: %s" % p.stdout[-400:])
    finally:
        rc, err = http_stop(srv)
        res.check(rc == 0 and "Sanitizer" not in err, "server exits cleanly: %s %s" %
                  (rc, err[-300:]))
    # ---- the browser: the ladder, a message's text, the downloads per role -------------------
    why = browser_ready()
    if why:
        res.skip("browser test: %s" % why)
    else:
        agent_number = call["parties"]["callee"]["user"]
        subprocess.run([EARSHOT, "--data", data, "user", "add", "agent1", "--role", "agent",
                        "--numbers", agent_number, "--password-stdin"], input=PW + "\n",
                       text=True, check=True, capture_output=True)
        port = free_port()
        srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen",
                                "%s:%d" % (host, port), "--web", WEB_DIR],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if res.check(http_wait_up(host, port, srv), "server up (browser)"):
                env = dict(os.environ, UI_URL="http://%s:%d" % (host, port), UI_PASSWORD=PW,
                           UI_USERS="super1:1,agent1:0", UI_CALL=str(cid),
                           UI_MESSAGES=str(len(show_json(data, cid)["messages"])),
                           UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
                p = subprocess.run(["node", "callflow.mjs"], cwd=BROWSER_DIR, env=env,
                                   capture_output=True, text=True, timeout=180)
                sys.stdout.write(p.stdout)
                sys.stderr.write(p.stderr)
                res.check(p.returncode == 0, "browser test of the call flow")
        finally:
            http_stop(srv)
    raw = os.path.join(data, "raw", str(cid // 1000), "%d.mlog" % cid)
    res.check(os.path.exists(raw), "raw data kept at %s" % raw)
    p = earshot(data, "delete", str(cid), "--yes", check=False)
    res.check(p.returncode == 0 and not os.path.exists(raw), "delete removes the raw data: %d %s"
              % (p.returncode, p.stderr))
    p = earshot(data, "export", "--format", "pcap", str(cid), "-o",
                os.path.join(work, "gone.pcapng"), check=False)
    res.check(p.returncode == 4 and "no raw data" in p.stderr,
              "export after delete: %d %s" % (p.returncode, p.stderr))

res.finish()
