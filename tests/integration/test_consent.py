"""Consent per recording rule (issue #15), over captures written here: one
inbound call per case (the callee, an extension in local_numbers, is the
agent), each party playing its own tone in G.711 A-law, with the consent
evidence in a SIP header, in RFC 4733 DTMF or SIP INFO, or absent.
`earshot import` applies the rule; the test checks each party's state and
evidence, the no_consent flag and the search, that only the agent's
channel stays (no_consent_keep = agent: the caller's channel is silent in
the exported audio) or nothing (no recording at all), and that an evidence
bundle carries the consent record and verifies."""
import audioop
import json
import math
import os
import sqlite3
import struct
import subprocess
import wave
import zipfile

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req, http_wait_up,
                    import_capture, run, show_json, tmpdir)

res = Results()
work = tmpdir("earshot-consent-")
T0 = 1767254400.0  # 2026-01-01T08:00:00Z
RATE = 8000


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def ip_sum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return (~(s + (s >> 16))) & 0xFFFF


def frame(ts, src, sport, dst, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    iph = iph[:10] + struct.pack("!H", ip_sum(iph)) + iph[12:]
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + iph + udp
    sec = int(ts)
    return struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)), len(eth), len(eth)) + eth


CALLER, CALLEE = "10.1.0.1", "10.2.0.2"


def sip(start, cid, body=b"", extra=""):
    head = start + "\r\n" + extra + (
        "Call-ID: %s\r\nContent-Length: %d\r\n" % (cid, len(body)))
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + "\r\n").encode() + body


def sdp(ip, port):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n" % (ip, ip, port)).encode()


def tone(freq, n, phase0):
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * (phase0 + i) / RATE)))
                    for i in range(n))


def call_frames(k, t, caller_hdr=None, dtmf=None, info=None, seconds=10):
    """One inbound call k starting at t: the caller +4930777000k calls 1000+k."""
    cid = "consent-%d@test" % k
    cp, ep = 30000 + 10 * k, 40000 + 10 * k
    frm = "From: <sip:+4930777000%d@carrier.example>;tag=a%d\r\n" % (k, k)
    to = "To: <sip:%d@pbx.example>\r\n" % (1000 + k)
    tot = "To: <sip:%d@pbx.example>;tag=b%d\r\n" % (1000 + k, k)
    via = "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%d\r\n" % (CALLER, k)
    out = []
    hdr = ("X-Recording-Consent: %s\r\n" % caller_hdr) if caller_hdr else ""
    out.append(frame(t, CALLER, 5060, CALLEE, 5060, sip(
        "INVITE sip:%d@pbx.example SIP/2.0" % (1000 + k), cid, sdp(CALLER, cp),
        via + frm + to + "CSeq: 1 INVITE\r\n" + hdr)))
    ans = t + 1.0
    out.append(frame(ans, CALLEE, 5060, CALLER, 5060, sip(
        "SIP/2.0 200 OK", cid, sdp(CALLEE, ep), via + frm + tot + "CSeq: 1 INVITE\r\n")))
    out.append(frame(ans + 0.01, CALLER, 5060, CALLEE, 5060, sip(
        "ACK sip:%d@pbx.example SIP/2.0" % (1000 + k), cid, b"", via + frm + tot + "CSeq: 1 ACK\r\n")))
    if info:
        body = ("Signal=%s\r\nDuration=160\r\n" % info).encode()
        msg = ("INFO sip:%d@pbx.example SIP/2.0\r\n" % (1000 + k) + via + frm + tot +
               "CSeq: 2 INFO\r\nCall-ID: %s\r\nContent-Type: application/dtmf-relay\r\n"
               "Content-Length: %d\r\n\r\n" % (cid, len(body))).encode() + body
        out.append(frame(ans + 2.0, CALLER, 5060, CALLEE, 5060, msg))
    n = int(seconds * 50)
    for i in range(n):
        ts = ans + 0.02 + i * 0.02
        for side, (src, sp, dst, dp, f, ssrc) in enumerate((
                (CALLER, cp, CALLEE, ep, 440, 0x1000 + k), (CALLEE, ep, CALLER, cp, 1000, 0x2000 + k))):
            pcm = audioop.lin2alaw(tone(f, 160, i * 160), 2)
            pt, payload, mark = 8, pcm, 0
            if dtmf and side == 0 and 100 <= i < 110:  # 2 s after answer, 200 ms
                ev = "0123456789*#".index(dtmf)
                end = 0x80 if i >= 107 else 0
                payload = struct.pack("!BBH", ev, end | 10, (i - 99) * 160)
                pt, mark = 101, 0x80 if i == 100 else 0
                rtp_ts = 100 * 160
            else:
                rtp_ts = i * 160
            rtp = struct.pack("!BBHII", 0x80, mark | pt, i & 0xFFFF, rtp_ts, ssrc) + payload
            out.append(frame(ts + side * 0.001, src, sp, dst, dp, rtp))
    out.append(frame(ans + seconds + 0.1, CALLER, 5060, CALLEE, 5060, sip(
        "BYE sip:%d@pbx.example SIP/2.0" % (1000 + k), cid, b"", via + frm + tot + "CSeq: 3 BYE\r\n")))
    out.append(frame(ans + seconds + 0.12, CALLEE, 5060, CALLER, 5060, sip(
        "SIP/2.0 200 OK", cid, b"", via + frm + tot + "CSeq: 3 BYE\r\n")))
    return out


# case: (header value, RFC 4733 key, SIP INFO key) -> caller's state, source
CASES = {
    1: (("yes", None, None), "given", "header:X-Recording-Consent"),
    2: ((None, "1", None), "given", "dtmf:1"),
    3: ((None, None, "1"), "given", "dtmf:1"),
    4: ((None, "2", None), "refused", "dtmf:2"),
    5: (("no", None, None), "refused", "header:X-Recording-Consent"),
    6: ((None, None, None), "missing", None),
    # yes in the INVITE, then key 2 in the window: the latest counts
    7: (("yes", "2", None), "refused", "dtmf:2"),
}
frames = []
for k, ((hdr, key, info), _, _) in CASES.items():
    frames += call_frames(k, T0 + 20 * k, caller_hdr=hdr, dtmf=key, info=info)
pcap = os.path.join(work, "consent.pcap")
with open(pcap, "wb") as f:
    f.write(pcap_header() + b"".join(frames))

RULE = ("[networks]\nlocal_numbers = 1000-1999\n"
        "[rule support]\naction = record\ncallee = 1000-1999\nconsent = required\n"
        "consent_header = X-Recording-Consent\nconsent_dtmf = 1\nconsent_dtmf_refuse = 2\n"
        "consent_window = 5s\nno_consent_keep = %s\n")


def channel_rms(path):
    with wave.open(path) as w:
        ch, width, data = w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())
    if ch == 1:
        return [audioop.rms(data, width)]
    return [audioop.rms(audioop.tomono(data, width, 1, 0), width),
            audioop.rms(audioop.tomono(data, width, 0, 1), width)]


def imported(keep):
    conf = os.path.join(work, "earshot-%s.conf" % keep)
    with open(conf, "w") as f:
        f.write(RULE % keep)
    data = os.path.join(work, "data-" + keep)
    p, _ = import_capture(data, pcap, extra=("--format", "wav", "--config", conf))
    res.check(p.returncode == 0, "%s: import: %d %s" % (keep, p.returncode, p.stderr[-500:]))
    return data, {c["call_id"]: c for c in calls_json(data)}


# ---- no_consent_keep = agent -----------------------------------------------------
data, calls = imported("agent")
for k, (_, state, source) in CASES.items():
    c = calls.get("consent-%d@test" % k)
    if not res.check(c is not None, "agent: call %d indexed" % k):
        continue
    cons = c.get("consent") or {}
    ev = cons.get("evidence") or {}
    res.check(cons.get("caller") == state and cons.get("callee") == "not_required",
              "agent: call %d consent %r, expected caller %s" % (k, cons, state))
    res.check(ev.get("caller", {}).get("source") == source and ev.get("agent") == "callee",
              "agent: call %d evidence %r, expected source %r" % (k, ev, source))
    flagged = "no_consent" in c["flags"]
    res.check(flagged == (state != "given"), "agent: call %d flags %r" % (k, c["flags"]))
    if not res.check(c["recording"] is not None, "agent: call %d has a recording" % k):
        continue
    wav = os.path.join(work, "agent-%d.wav" % k)
    earshot(data, "export", str(c["id"]), "-o", wav)
    rms = channel_rms(wav)
    if state == "given":
        res.check(len(rms) == 2 and min(rms) > 1000, "agent: call %d both channels: %r" % (k, rms))
    else:
        # only the agent's (callee's, right) channel: the caller's is silence
        res.check(len(rms) == 2 and rms[0] < 50 and rms[1] > 1000,
                  "agent: call %d only the agent's channel: %r" % (k, rms))
    d = show_json(data, c["id"])
    kinds = [(e["kind"], e["detail"]) for e in d["events"]]
    if state != "given":
        res.check(("no_consent", "caller %s: audio dropped" % state) in kinds,
                  "agent: call %d no_consent event: %r" % (k, kinds))
    if source:
        res.check(any(kd == "consent" and dt.endswith(source) for kd, dt in kinds),
                  "agent: call %d consent event from %s: %r" % (k, source, kinds))

# search
for state, want in (("given", {1, 2, 3}), ("refused", {4, 5, 7}), ("missing", {6})):
    got = {int(c["call_id"].split("-")[1].split("@")[0]) for c in calls_json(data, "--consent", state)}
    res.check(got == want, "--consent %s: calls %r, expected %r" % (state, sorted(got), sorted(want)))
got = {int(c["call_id"].split("-")[1].split("@")[0]) for c in calls_json(data, "--flag", "no_consent")}
res.check(got == {4, 5, 6, 7}, "--flag no_consent: %r" % sorted(got))
p = earshot(data, "calls", "--consent", "maybe", check=False)
res.check(p.returncode == 2 and "--consent: unknown state 'maybe'" in p.stderr,
          "--consent maybe: %d %s" % (p.returncode, p.stderr))

# evidence bundle of a refused call: the consent record is in it and it verifies
c = calls["consent-4@test"]
zpath = os.path.join(work, "ev4.zip")
p = earshot(data, "export", str(c["id"]), "--evidence", "-o", zpath, check=False)
if res.check(p.returncode == 0, "export --evidence: %d %s" % (p.returncode, p.stderr)):
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        blob = b"".join(z.read(n) for n in names if n.endswith(".json"))
    res.check(b'"consent"' in blob and b"dtmf:2" in blob,
              "bundle carries the consent record (%s)" % names)
    v = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath], check=False)
    res.check(v.returncode == 0, "bundle verifies: %d %s %s" % (v.returncode, v.stdout, v.stderr))

# the whole archive still verifies against its ledger (the consent is in
# the signed metadata of each recording of a consent rule)
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 0, "earshot verify --all: %d %s" % (p.returncode, (p.stdout + p.stderr)[-400:]))

# the REST API: the consent filter and the call's consent object
run([EARSHOT, "--data", data, "user", "add", "sup", "--role", "supervisor", "--password-stdin"],
    input="consent-test-password-1\n")
token = json.loads(earshot(data, "user", "token", "sup", "--json").stdout)["token"]
port = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % port],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    if res.check(http_wait_up("127.0.0.1", port, server), "earshot serve is up"):
        auth = {"Authorization": "Bearer " + token}
        st, _, b = http_req("127.0.0.1", port, "GET", "/api/calls?consent=refused", headers=auth)
        got = sorted(c["call_id"] for c in (b.get("calls") or [])) if st == 200 else b
        res.check(got == ["consent-4@test", "consent-5@test", "consent-7@test"], "GET /api/calls?consent=refused: %s %r" % (st, got))
        st, _, b = http_req("127.0.0.1", port, "GET", "/api/calls?consent=perhaps", headers=auth)
        res.check(st == 400 and isinstance(b, dict) and b.get("parameter") == "consent",
                  "GET /api/calls?consent=perhaps: %s %r" % (st, b))
        st, _, b = http_req("127.0.0.1", port, "GET", "/api/calls/%d" % calls["consent-2@test"]["id"],
                            headers=auth)
        k = b.get("consent") if st == 200 else None
        res.check(k and k["caller"] == "given" and k["evidence"]["caller"]["source"] == "dtmf:1",
                  "GET /api/calls/ID consent: %s %r" % (st, k))
finally:
    server.terminate()
    server.wait(timeout=30)

# a consent state changed in the index afterwards no longer matches what
# the ledger signed: verify names the call's recording
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
db.execute("UPDATE calls SET consent_caller = 'given' WHERE call_id = 'consent-4@test'")
db.commit()
db.close()
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode != 0, "verify after the consent state was altered: %d %s"
          % (p.returncode, (p.stdout + p.stderr)[-400:]))

# ---- no_consent_keep = nothing ---------------------------------------------------
data, calls = imported("nothing")
for k, (_, state, _) in CASES.items():
    c = calls.get("consent-%d@test" % k)
    if not res.check(c is not None, "nothing: call %d indexed" % k):
        continue
    if state == "given":
        res.check(c["recording"] is not None and "no_consent" not in c["flags"],
                  "nothing: call %d recorded" % k)
    else:
        res.check(c["recording"] is None and "no_consent" in c["flags"],
                  "nothing: call %d: no recording, flagged (%r, %r)" % (k, c["flags"], c["recording"]))

# bad configuration names the key
conf = os.path.join(work, "bad.conf")
with open(conf, "w") as f:
    f.write("[rule x]\naction = record\nconsent = perhaps\n")
p, _ = import_capture(os.path.join(work, "data-bad"), pcap, extra=("--config", conf))
res.check(p.returncode != 0 and "bad.conf:3: consent: expected none, announce or required" in p.stderr,
          "bad consent value: %d %s" % (p.returncode, p.stderr))
with open(conf, "w") as f:
    f.write("[rule x]\naction = record\nconsent_window = soon\n")
p, _ = import_capture(os.path.join(work, "data-bad2"), pcap, extra=("--config", conf))
res.check(p.returncode != 0 and "bad.conf:3: consent_window" in p.stderr,
          "bad consent window: %d %s" % (p.returncode, p.stderr))
res.finish()
