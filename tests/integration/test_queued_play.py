"""A finished call whose recording is still queued plays through the API
(issue #20; DESIGN.md: "until it has run, the spooled call is already
playable"): GET /api/calls/{id}/audio renders it from its media log in the
spool (encrypted, decrypted with the data folder's keys) instead of 404,
byte for byte the WAV the encoder writes, with Range, and audited as
call.listen saying so.  Its exports work the same way (issue #20):
GET /api/calls/{id}/export as WAV (the same bytes), Opus and MP3 (ffprobe
reads them), and the ZIP export holds it, each audited as call.export
saying it was rendered from the media log.

The queued state is the one a recorder is in between a call's end and its
recording (and after a crash, before recovery): the call is in the index,
its media log is in DATA/spool under the spool's name, no recording row.
It is made here from a real import: the call's log (kept in DATA/raw after
encoding) goes back into the spool under the spool's name and its
recording row is taken out; the stored recording, exported beforehand, is
what the on-the-fly audio must equal.  A call with no log anywhere stays
404.

A SIPREC session's call is found too (record/spool.c rec_spool_find, the
one lookup of queued play and listen-in): a real `earshot srs` records a
session from the Python recording client whose metadata names the original
call's Call-ID (what the index and the live list keep); the spool names and
heads the log by the recording dialog's Call-ID, so only the metadata in
the log says whose it is.  Listen-in to that session while it runs is
heard (GET /api/active/{call_id}/listen), and once it is queued it plays
and exports."""
import json
import os
import shutil
import sqlite3
import array
import atexit
import socket
import subprocess
import threading
import time
import zipfile
import io

import siprec_peer as peer
from estest import (BUILD, EARSHOT, Results, earshot, free_port, have, http_req, http_stop,
                    http_wait_up, import_capture, plain_recording, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST = "127.0.0.1"
M64 = (1 << 64) - 1


def es_hash(b):
    """core/htab.c's es_hash (FNV-1a 64, splitmix64 finaliser), seed 0: the
    spool names a log by it (spool.c)."""
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & M64
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & M64
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & M64
    h ^= h >> 31
    return h


res = Results()
work = tmpdir("earshot-queued-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "9", "--calls", "3", "--duration", "12"])
p, s = import_capture(data, pcap, extra=("--format", "wav"))
if p.returncode != 0 or not s or s.get("recordings") != 3:
    raise RuntimeError("import: %s %s" % (s, p.stderr[-500:]))
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
rows = db.execute("SELECT c.id, c.call_id, c.start_us, r.encrypted FROM calls c "
                  "JOIN recordings r ON r.call_row = c.id ORDER BY c.id").fetchall()
db.close()
(qid, qcall, qstart, enc), (gone_id, _, _, _) = rows[0], rows[1]
res.check(enc == 1, "the recordings are encrypted (so is the spool)")
final = plain_recording(data, qid, os.path.join(work, "final.wav"))
with open(final, "rb") as f:
    final_bytes = f.read()

run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input="correct horse battery\n")
token = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
auth = {"Authorization": "Bearer " + token}
port = free_port(host=HOST)
proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
atexit.register(lambda: proc.poll() is None and http_stop(proc))
if not http_wait_up(HOST, port, proc):
    raise RuntimeError("server did not start: %s" % (proc.communicate()[1][-500:],))

# a SIPREC session into the same data folder; the original call's Call-ID
# rides in the metadata's extension data (sip/rsmeta.c find_call_id)
META = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1" xmlns:x="urn:example:pbx">
  <datamode>complete</datamode>
  <session session_id="s-queued"><x:callid>orig-queued-1@pbx.example.test</x:callid></session>
  <participant participant_id="p-one">
    <nameID aor="sip:+15550100111@carrier.example.test"><name>Customer</name></nameID>
  </participant>
  <participant participant_id="p-two">
    <nameID aor="sip:4402@pbx.example.test"><name>Agent</name></nameID>
  </participant>
  <stream stream_id="st-one" session_id="s-queued"><label>1</label></stream>
  <stream stream_id="st-two" session_id="s-queued"><label>2</label></stream>
  <participantstreamassoc participant_id="p-one"><send>st-one</send></participantstreamassoc>
  <participantstreamassoc participant_id="p-two"><send>st-two</send></participantstreamassoc>
</recording>
"""
SRS_CALL_ID = "queued-srs-1@test"
ORIG_CALL_ID = "orig-queued-1@pbx.example.test"


heard = {}


def listen_in(seconds):
    """GET /api/active/{call_id}/listen on the session in progress: the
    stream's first `seconds` (listen.c finds its log by rec_spool_find)."""
    import http.client
    conn = http.client.HTTPConnection(HOST, port, timeout=20)
    try:
        conn.request("GET", "/api/active/%s/listen" % ORIG_CALL_ID, headers=auth)
        r = conn.getresponse()
        heard["status"] = r.status
        got, t_end = b"", time.time() + seconds
        while r.status == 200 and time.time() < t_end and len(got) < 400000:
            piece = r.read1(65536) if hasattr(r, "read1") else r.read(4096)
            if not piece:
                break
            got += piece
        heard["body"] = got
    except OSError as e:
        heard["error"] = str(e)
    finally:
        conn.close()


def siprec_session(srs, seconds=4.0):
    c = peer.SipClient(srs.addr)
    try:
        code, _, text = c.request("INVITE", peer.multipart(peer.sdp_offer(), META),
                                  "multipart/mixed;boundary=" + peer.BOUNDARY,
                                  call_id=SRS_CALL_ID, dialog=True)
        if code != 200:
            return code
        ports = peer.answer_ports(text)
        tones = [peer.ulaw_frames(peer.tone(seconds, f)) for f in (440.0, 1000.0)]
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
        for so in socks:
            so.bind(("127.0.0.1", 0))
        t0 = time.time()
        listener = None
        for i in range(len(tones[0])):
            for k in range(2):
                socks[k].sendto(peer.rtp_packet(i, i * peer.FRAME, 0x7100 + k, tones[k][i]),
                                ("127.0.0.1", ports[k]))
            if i == 50:  # a second in: listen-in to the rest
                listener = threading.Thread(target=listen_in, args=(seconds - 1.5,))
                listener.start()
            time.sleep(max(0.0, t0 + (i + 1) * peer.PTIME - time.time()))
        for so in socks:
            so.close()
        if listener:
            listener.join(30)
        c.in_dialog("BYE")
        return code
    finally:
        c.close()


srs = peer.Srs(EARSHOT, data, max_sessions=4, rtp_pairs=8)
if not res.check(srs.start(), "srs starts: " + srs.logtail()):
    res.finish()
try:
    res.check(siprec_session(srs) == 200, "the SIPREC session is answered")
    deadline = time.time() + 20
    srow = None
    while time.time() < deadline and not srow:
        db = sqlite3.connect(os.path.join(data, "index.sqlite"))
        srow = db.execute("SELECT c.id, c.call_id, c.start_us FROM calls c JOIN recordings r "
                          "ON r.call_row = c.id WHERE c.call_id = ?",
                          (ORIG_CALL_ID,)).fetchone()
        db.close()
        time.sleep(0.3)
finally:
    srs.stop()
# listen-in found the session's log by the recorded call's Call-ID, which
# only its metadata holds; both tones are heard (the WAV's data is not silent)
lb = heard.get("body") or b""
at = lb.find(b"data") + 8 if lb.find(b"data") > 0 else len(lb)
pcm = array.array("h", lb[at:at + (len(lb) - at) // 2 * 2])
res.check(heard.get("status") == 200 and lb[:4] == b"RIFF" and len(pcm) > 8000 and
          max(abs(v) for v in pcm) > 1000,
          "listen-in to the SIPREC session in progress: %s, %d bytes, peak %d %s"
          % (heard.get("status"), len(lb), max((abs(v) for v in pcm), default=0),
             heard.get("error", "")))
# (before any log is put back: a recorder finalises what it finds in the
# spool when it starts)
if not res.check(srow is not None, "the SIPREC call is indexed under the original Call-ID"):
    res.finish()

# the queued state: the log back in the spool, the recording row out
raw = [os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(data, "raw")) for n in ns
       if n == "%d.mlog" % qid]
if len(raw) != 1:
    raise RuntimeError("no kept media log of call %d: %s" % (qid, raw))
os.makedirs(os.path.join(data, "spool"), exist_ok=True)
spooled = os.path.join(data, "spool", "%d-%016x-1.mlog" % (qstart, es_hash(qcall.encode())))
shutil.move(raw[0], spooled)
# the other call: no recording and no log anywhere (never spooled)
for dp, _, ns in os.walk(os.path.join(data, "raw")):
    for n in ns:
        if n == "%d.mlog" % gone_id:
            os.unlink(os.path.join(dp, n))
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
db.execute("DELETE FROM recordings WHERE call_row IN (?, ?)", (qid, gone_id))
db.commit()
db.close()

sid, _, sstart = srow
sfinal = plain_recording(data, sid, os.path.join(work, "siprec.wav"))
with open(sfinal, "rb") as f:
    sfinal_bytes = f.read()
sraw = [os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(data, "raw")) for n in ns
        if n == "%d.mlog" % sid]
if len(sraw) != 1:
    raise RuntimeError("no kept media log of call %d: %s" % (sid, sraw))
# the spool's name for it: the recording dialog's Call-ID (spool.c spool_open)
shutil.move(sraw[0], os.path.join(data, "spool", "%d-%016x-1.mlog"
                                  % (sstart, es_hash(SRS_CALL_ID.encode()))))
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
db.execute("DELETE FROM recordings WHERE call_row = ?", (sid,))
db.commit()
db.close()

try:
    st, h, body = http_req(HOST, port, "GET", "/api/calls/%d/audio" % qid, headers=auth, raw=True,
                           timeout=60)
    res.check(st == 200 and h.get("content-type") == "audio/wav",
              "queued call plays: %s %s %s" % (st, h.get("content-type"), body[:200]))
    res.check(st == 200 and body == final_bytes,
              "the same bytes as the recording written for it (%d vs %d bytes)"
              % (len(body), len(final_bytes)))
    st, h, part = http_req(HOST, port, "GET", "/api/calls/%d/audio" % qid, raw=True, timeout=60,
                           headers=dict(auth, Range="bytes=44-1043"))
    res.check(st == 206 and part == final_bytes[44:1044] and
              h.get("content-range") == "bytes 44-1043/%d" % len(final_bytes),
              "Range on the rendered audio: %s %s" % (st, h.get("content-range")))
    st, _, b = http_req(HOST, port, "GET", "/api/calls/%d/audio" % gone_id, headers=auth, timeout=30)
    res.check(st == 404, "a call with neither recording nor log: 404 (%s)" % st)
    st, h, body = http_req(HOST, port, "GET", "/api/calls/%d/audio" % sid, headers=auth, raw=True,
                           timeout=60)
    res.check(st == 200 and body == sfinal_bytes,
              "a queued SIPREC call plays, the same bytes as its recording: %s (%d vs %d bytes)"
              % (st, len(body), len(sfinal_bytes)))

    # ---- exports of the queued calls ---------------------------------------------------
    st, h, body = http_req(HOST, port, "GET", "/api/calls/%d/export?format=wav" % qid,
                           headers=auth, raw=True, timeout=60)
    res.check(st == 200 and body == final_bytes,
              "export as WAV of a queued call: the recording's bytes (%s, %d vs %d bytes)"
              % (st, len(body), len(final_bytes)))
    st, h, body = http_req(HOST, port, "GET", "/api/calls/%d/export?format=wav" % sid,
                           headers=auth, raw=True, timeout=60)
    res.check(st == 200 and body == sfinal_bytes,
              "export as WAV of a queued SIPREC call: its recording's bytes (%s)" % st)
    for fmt, codec in (("opus", "opus"), ("mp3", "mp3")):
        st, h, body = http_req(HOST, port, "GET", "/api/calls/%d/export?format=%s" % (qid, fmt),
                               headers=auth, raw=True, timeout=60)
        info = ""
        if st == 200 and have("ffprobe"):
            path = os.path.join(work, "queued.%s" % fmt)
            with open(path, "wb") as f:
                f.write(body)
            info = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                                   "stream=codec_name,channels", "-of", "default=nw=1", path],
                                  capture_output=True, text=True).stdout
        res.check(st == 200 and (not have("ffprobe") or "codec_name=%s" % codec in info),
                  "export as %s of a queued call: %s %r" % (fmt, st, info or body[:120]))
    st, _, b = http_req(HOST, port, "GET", "/api/calls/%d/export?format=wav" % gone_id,
                        headers=auth, timeout=30)
    res.check(st == 404, "export of a call with neither recording nor log: 404 (%s)" % st)
    st, h, body = http_req(HOST, port, "POST", "/api/export.zip", headers=auth, raw=True,
                           body={"ids": [str(qid), str(sid), str(gone_id)], "format": "wav"},
                           timeout=60)
    zf = zipfile.ZipFile(io.BytesIO(body)) if st == 200 else None
    man = json.loads(zf.read("manifest.json")) if zf else {}
    res.check(zf is not None and zf.read("call-%d.wav" % qid) == final_bytes and
              zf.read("call-%d.wav" % sid) == sfinal_bytes,
              "the ZIP export holds both queued calls, their recordings' bytes (%s)" % st)
    put = {c.get("id"): c for c in man.get("calls", [])}
    res.check(put.get(qid, {}).get("recording_queued") is True and
              [r.get("id") for r in man.get("refused", [])] == [gone_id],
              "its manifest says queued, and refuses only the call with nothing: %s" % man)
    st, _, b = http_req(HOST, port, "GET", "/api/audit?action=call.export&limit=100",
                        headers=auth, timeout=20)
    exp = [e.get("detail") or "" for e in (b.get("entries", []) if st == 200 else [])
           if e.get("object") == str(qid) and e.get("outcome") == "ok"]
    res.check(len(exp) >= 4 and all("rendered from the media log" in d for d in exp),
              "each export of it audited as call.export saying so: %s" % exp[:5])

    st, _, b = http_req(HOST, port, "GET", "/api/audit?action=call.listen&limit=100", headers=auth,
                        timeout=20)
    details = [e.get("detail") or "" for e in (b.get("entries", []) if st == 200 else [])
               if e.get("object") == str(qid)]
    res.check(any("rendered from the media log" in d for d in details),
              "audited as call.listen, saying it was rendered: %s" % details[:3])
finally:
    http_stop(proc)
res.finish()
