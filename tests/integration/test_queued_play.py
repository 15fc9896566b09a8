"""A finished call whose recording is still queued plays through the API
(issue #20; DESIGN.md: "until it has run, the spooled call is already
playable"): GET /api/calls/{id}/audio renders it from its media log in the
spool (encrypted, decrypted with the data folder's keys) instead of 404,
byte for byte the WAV the encoder writes, with Range, and audited as
call.listen saying so.

The queued state is the one a recorder is in between a call's end and its
recording (and after a crash, before recovery): the call is in the index,
its media log is in DATA/spool under the spool's name, no recording row.
It is made here from a real import: the call's log (kept in DATA/raw after
encoding) goes back into the spool under the spool's name and its
recording row is taken out; the stored recording, exported beforehand, is
what the on-the-fly audio must equal.  A call with no log anywhere stays
404."""
import json
import os
import shutil
import sqlite3
import subprocess

from estest import (BUILD, EARSHOT, Results, earshot, free_port, http_req, http_stop, http_wait_up,
                    import_capture, plain_recording, run, skip, tmpdir)

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
(qid, qcall, qstart, enc), (gone_id, _, _, _) = rows[0], rows[1]
res.check(enc == 1, "the recordings are encrypted (so is the spool)")
final = plain_recording(data, qid, os.path.join(work, "final.wav"))
with open(final, "rb") as f:
    final_bytes = f.read()

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
db.execute("DELETE FROM recordings WHERE call_row IN (?, ?)", (qid, gone_id))
db.commit()
db.close()

run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input="correct horse battery\n")
token = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
auth = {"Authorization": "Bearer " + token}
port = free_port(host=HOST)
proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if not http_wait_up(HOST, port, proc):
        raise RuntimeError("server did not start: %s" % (proc.communicate()[1][-500:],))
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
    st, _, b = http_req(HOST, port, "GET", "/api/audit?action=call.listen&limit=100", headers=auth,
                        timeout=20)
    details = [e.get("detail") or "" for e in (b.get("entries", []) if st == 200 else [])
               if e.get("object") == str(qid)]
    res.check(any("rendered from the media log" in d for d in details),
              "audited as call.listen, saying it was rendered: %s" % details[:3])
finally:
    http_stop(proc)
res.finish()
