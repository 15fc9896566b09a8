"""Consent from SIPREC metadata (RFC 7865 has no consent element; earshot's
extension <consent xmlns="urn:earshot:params:xml:ns:consent:1"> inside a
<participant>, docs/CONFIG.md): a real `earshot srs` gets two recording
sessions from the Python recording client (siprec_peer.py), each with a
tone per participant; in the first the caller's participant says yes, in
the second no.  The rule requires consent with the callee as the agent and
keeps only the agent's channel without consent.  A third session carries
a malformed consent value: the metadata is refused (strict parsing) and
the session with it."""
import os
import socket
import time

import siprec_peer as peer
from estest import EARSHOT, Results, calls_json, earshot, tmpdir

res = Results()
work = tmpdir("earshot-consent-srs-")
data = os.path.join(work, "data")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[rule siprec]\naction = record\nconsent = required\nconsent_window = 5s\n"
            "agent = callee\nno_consent_keep = agent\n")

META = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1" xmlns:c="urn:earshot:params:xml:ns:consent:1">
  <datamode>complete</datamode>
  <session session_id="s-%(n)s"></session>
  <participant participant_id="p-one">
    <nameID aor="sip:+4930777%(n)s@carrier.example.test"><name>Customer</name></nameID>
    <c:consent>%(v)s</c:consent>
  </participant>
  <participant participant_id="p-two">
    <nameID aor="sip:4402@pbx.example.test"><name>Agent</name></nameID>
  </participant>
  <stream stream_id="st-one" session_id="s-%(n)s"><label>1</label></stream>
  <stream stream_id="st-two" session_id="s-%(n)s"><label>2</label></stream>
  <participantstreamassoc participant_id="p-one"><send>st-one</send></participantstreamassoc>
  <participantstreamassoc participant_id="p-two"><send>st-two</send></participantstreamassoc>
</recording>
"""
CT = "multipart/mixed;boundary=" + peer.BOUNDARY


def session(srs, n, value, seconds=2.0):
    c = peer.SipClient(srs.addr)
    try:
        code, _, text = c.request("INVITE", peer.multipart(peer.sdp_offer(), META % {"n": n, "v": value}),
                                  CT, call_id="consent-srs-%d@test" % n, dialog=True)
        if code != 200:
            return code
        ports = peer.answer_ports(text)
        tones = [peer.ulaw_frames(peer.tone(seconds, f)) for f in (440.0, 1000.0)]
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        t0 = time.time()
        for i in range(len(tones[0])):
            for k in range(2):
                s = socks[k]
                s.sendto(peer.rtp_packet(i, i * peer.FRAME, 0x7000 + 16 * n + k, tones[k][i]),
                         ("127.0.0.1", ports[k]))
            time.sleep(max(0.0, t0 + (i + 1) * peer.PTIME - time.time()))
        for s in socks:
            s.close()
        c.in_dialog("BYE")
        return code
    finally:
        c.close()


srs = peer.Srs(EARSHOT, data, max_sessions=10, rtp_pairs=50, args=("--config", conf))
if not res.check(srs.start(), "srs starts: " + srs.logtail()):
    res.finish()
try:
    res.check(session(srs, 1, "yes") == 200, "session 1 (yes) answered")
    res.check(session(srs, 2, "no") == 200, "session 2 (no) answered")
    code = session(srs, 3, "perhaps")
    res.check(code is not None and code >= 400, "session 3 (malformed consent) refused: %s" % code)
finally:
    srs.stop()
calls = {c["call_id"]: c for c in calls_json(data)}
print(sorted(calls))


def find(n):
    for cid, c in calls.items():
        if "consent-srs-%d@" % n in cid or (c.get("caller") or "").find("+4930777%d@" % n) >= 0:
            return c
    return None


for n, state, kept in ((1, "given", (True, True)), (2, "refused", (False, True))):
    c = find(n)
    if not res.check(c is not None, "session %d indexed (%s)" % (n, sorted(calls))):
        continue
    cons = c.get("consent") or {}
    ev = (cons.get("evidence") or {}).get("caller") or {}
    res.check(cons.get("caller") == state and ev.get("source") == "siprec",
              "session %d: consent %r" % (n, cons))
    res.check(("no_consent" in c["flags"]) == (state != "given"), "session %d flags %r" % (n, c["flags"]))
    if not res.check(c["recording"] is not None, "session %d recorded" % n):
        continue
    wav = os.path.join(work, "s%d.wav" % n)
    earshot(data, "export", str(c["id"]), "-o", wav)
    pcm, ch, _ = peer.read_wav(wav)
    levels = [peer.rms(peer.channel(pcm, ch, k)) for k in range(ch)]
    ok = ch == 2 and all((lv > 500) == want for lv, want in zip(levels, kept))
    res.check(ok, "session %d: channel levels %r, expected kept %r" % (n, levels, kept))
res.check(find(3) is None, "the session with malformed consent metadata was not recorded")
res.finish()
