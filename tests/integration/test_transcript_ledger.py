"""Transcripts in the tamper-evident ledger (issues #19, #16).  Before: a
transcript had no ledger leaf, so an altered words file or index row went
unnoticed by `earshot verify`.  Now:
- a transcript made by the worker inside a running `earshot record` (which
  holds the ledger's lock) is sealed by the recorder's loop: a tr leaf per
  party in entries.log, and verify checks both;
- a worker outside the lock holder (`transcribe run` while the ledger is
  locked) leaves its leaf queued: verify and GET /api/calls/{id}/verify say
  "not yet sealed" (a note, exit 0); the next holder of the lock (a
  recorder) appends it;
- an altered words file, an altered index row or a missing words file is a
  finding naming the call and the party;
- an evidence bundle carries each transcript's leaf and inclusion proof,
  which earshot-verify-evidence checks offline;
- deleting the recording leaves trtomb leaves and verify passes."""
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import time

from asrstandin import StandIn
import estest
from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, run, tmpdir)
from talkgen import A, gen_call

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
res = Results()
work = tmpdir("earshot-tr-ledger-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 6, 31)
p, summary = import_capture(data, pa)
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
call = calls_json(data)[0]["id"]
si = StandIn("whisper")
port = si.start()
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
            "timeout = 60s\nbackoff = 1s\npoll = 100ms\n" % port)
entries = os.path.join(data, "ledger", "entries.log")
VERIFY = os.path.join(BUILD, "earshot-verify-evidence")


def leaves(kind):
    with open(entries) as f:
        return [l.rstrip("\n").split("\t") for l in f if l.split("\t")[1] == kind]


def counts():
    return json.loads(earshot(data, "transcribe", "status", "--json").stdout)["counts"]


def record():
    # a filter nothing matches: the recorder only holds the ledger
    return subprocess.Popen([EARSHOT, "--data", data, "record", "-c", conf, "-i", "lo",
                             "--filter", "udp port %d" % free_port(udp=True)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait(pred, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def stop(r):
    r.send_signal(signal.SIGTERM)
    try:
        _, err = r.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        r.kill()
        _, err = r.communicate()
    return r.returncode, err


def verify(*args):
    p = earshot(data, "verify", "--json", *args, check=False)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, {"findings": [], "raw": p.stdout + p.stderr}


def kinds(v):
    return sorted(f["kind"] for f in v["findings"] if f["finding"])


# 1. the worker inside a running recorder: sealed by the recorder's loop
earshot(data, "transcribe", str(call))
r = record()
ok = wait(lambda: counts()["done"] == 2 and len(leaves("tr")) == 2)
rc, err = stop(r)
res.check(ok and rc == 0, "a running recorder sealed both transcripts: %d tr leaves, %r, %s"
          % (len(leaves("tr")), counts(), err[-300:]))
tr = leaves("tr")
res.check(sorted(l[5] for l in tr) == ["channel=callee", "channel=caller"]
          and all(l[9] == "engine=whisper" for l in tr), "tr leaves: %r" % tr)
rc, v = verify()
res.check(rc == 0 and v.get("transcripts_checked") == 2 and v.get("transcripts_pending") == 0,
          "verify checks both transcripts: %d %r" % (rc, v))

# 2. a worker while another process holds the lock: queued, "not yet sealed"
earshot(data, "transcribe", str(call))
lock = open(entries, "a")
fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
p = earshot(data, "transcribe", "run", "--once", "-c", conf, check=False)
res.check(p.returncode == 0, "transcribe run with the ledger locked: %d %s"
          % (p.returncode, p.stderr[-300:]))
pend = os.listdir(os.path.join(data, "ledger", "pending"))
res.check(len([n for n in pend if n.endswith(".tr")]) == 2, "two leaves queued: %r" % pend)
rc, v = verify()
res.check(rc == 0 and v.get("transcripts_pending") == 2 and kinds(v) == [],
          "queued transcripts are a note, not a finding: %d %r" % (rc, v))
# the API's verify of the call says the same
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "supervisor",
     "--password-stdin"], input="correct horse battery\n")
tok = json.loads(earshot(data, "user", "token", "sup1", "--json").stdout)["token"]
aport = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % aport],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if res.check(http_wait_up("127.0.0.1", aport, server), "server up"):
    st, _, body = http_req("127.0.0.1", aport, "GET", "/api/calls/%d/verify" % call,
                           headers={"Authorization": "Bearer " + tok})
    tp = [f for f in body.get("findings", []) if f["kind"] == "transcript_pending"] \
        if st == 200 else []
    res.check(st == 200 and body["ok"] and len(tp) == 2 and not any(f["finding"] for f in tp),
              "the API says not yet sealed, not a failure: %d %r" % (st, body))
http_stop(server)
fcntl.flock(lock, fcntl.LOCK_UN)
lock.close()
r = record()
ok = wait(lambda: len(leaves("tr")) == 4)
time.sleep(1.5)  # sealed at its open: let it reach its loop before SIGTERM
rc, err = stop(r)
res.check(ok and rc == 0, "the next recorder sealed the queued leaves: %d tr, %d %s"
          % (len(leaves("tr")), rc, err[-600:]))
res.check(len(leaves("trtomb")) == 2 and all(l[6] == "reason=replaced" for l in leaves("trtomb")),
          "the earlier transcripts' leaves end as replaced: %r" % leaves("trtomb"))
rc, v = verify()
res.check(rc == 0 and v.get("transcripts_pending") == 0 and v.get("transcripts_checked") == 2,
          "verify after sealing: %d %r" % (rc, v))

# 3. an evidence bundle carries both transcripts with their leaves and
# proofs, checked offline; altered words fail it
bdir, bzip = os.path.join(work, "bundle"), os.path.join(work, "bundle.zip")
p = earshot(data, "export", str(call), "--evidence", "-o", bdir, check=False)
res.check(p.returncode == 0, "export --evidence: %d %s" % (p.returncode, p.stderr))
p = earshot(data, "export", str(call), "--evidence", "-o", bzip, check=False)
res.check(p.returncode == 0, "export --evidence zip: %d %s" % (p.returncode, p.stderr))
names = sorted(os.listdir(bdir))
res.check(all("transcript.%s.%s" % (w, k) in names for w in ("caller", "callee")
              for k in ("json", "leaf.txt", "proof.txt")), "bundle files: %r" % names)
for b in (bdir, bzip):
    p = subprocess.run([VERIFY, "--json", b], capture_output=True, text=True)
    j = json.loads(p.stdout) if p.stdout.strip() else {}
    trc = [c for c in j.get("checks", []) if c["check"] == "transcripts"]
    res.check(p.returncode == 0 and trc and trc[0]["result"] == "ok"
              and "2 transcript" in trc[0]["detail"],
              "the bundle's transcripts verify offline (%s): %d %r" % (b, p.returncode, trc))
tj = os.path.join(bdir, "transcript.callee.json")
body = open(tj, "rb").read()
open(tj, "wb").write(body.replace(b"\"", b"'", 1) if b"\"" in body else body + b" ")
p = subprocess.run([VERIFY, bdir], capture_output=True, text=True)
res.check(p.returncode != 0 and "transcript.callee.json" in p.stdout + p.stderr,
          "altered words in a bundle fail it: %d %s" % (p.returncode, p.stdout[-600:]))

# 4. tampering: words file, index row, missing file
tdir = os.path.join(data, "transcripts")
words = [os.path.join(d, n) for d, _, ns in os.walk(tdir) for n in ns if n.endswith(".caller.json")]
res.check(len(words) == 1, "the caller's words file: %r" % words)
orig = open(words[0], "rb").read()
with open(words[0], "r+b") as f:
    f.seek(len(orig) // 2)
    f.write(bytes([orig[len(orig) // 2] ^ 1]))
rc, v = verify()
msgs = [f for f in v["findings"] if f["kind"] == "transcript_altered"]
res.check(rc == 1 and msgs and "caller" in msgs[0]["message"] and msgs[0]["call_row"] == call,
          "an altered words file is a finding naming the call and party: %d %r" % (rc, v))
os.unlink(words[0])
rc, v = verify()
res.check(rc == 1 and "transcript_missing" in kinds(v), "a missing words file: %d %r" % (rc, v))
with open(words[0], "wb") as f:
    f.write(orig)
rc, v = verify()
res.check(rc == 0, "restored: %d %r" % (rc, v))
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
# the index keeps no words (the blind search index): alter what the row
# holds, its word count
old = db.execute("SELECT words FROM transcripts WHERE call_row = ? AND channel = 1",
                 (call,)).fetchone()[0]
db.execute("UPDATE transcripts SET words = ? WHERE call_row = ? AND channel = 1",
           (old + 1, call))
db.commit()
rc, v = verify(str(call))
msgs = [f for f in v["findings"] if f["kind"] == "transcript_row_altered"]
res.check(rc == 1 and msgs and "callee" in msgs[0]["message"],
          "an altered index row is a finding naming the party: %d %r" % (rc, v))
db.execute("UPDATE transcripts SET words = ? WHERE call_row = ? AND channel = 1", (old, call))
db.commit()
db.execute("DELETE FROM transcripts WHERE call_row = ? AND channel = 0", (call,))
db.commit()
rc, v = verify()
res.check(rc == 1 and "transcript_row_deleted" in kinds(v),
          "a deleted index row with a live leaf is a finding: %d %r" % (rc, v))
db.close()

# 5. deleting the recording: trtomb leaves, verify passes
n = len(leaves("trtomb"))
p = earshot(data, "delete", str(call), "--yes", check=False)
res.check(p.returncode == 0, "delete: %d %s" % (p.returncode, p.stderr))
tt = leaves("trtomb")[n:]
res.check(len(tt) == 2 and all(l[6] == "reason=deleted" or l[6].startswith("reason=") for l in tt),
          "the deletion tombstones both transcripts: %r" % tt)
rc, v = verify()
res.check(rc == 0, "verify passes after the deletion: %d %r" % (rc, v))
si.stop()
res.finish()
