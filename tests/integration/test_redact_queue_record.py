"""A spoken card number's audio redacted while a recorder holds the ledger
(issue #19).  The ledger has one writer (a flock) and a running `earshot
record` holds it for its whole life, so a transcription worker inside it,
or in `serve` beside it, could mask the number in the transcript but not
redact the audio (before: "cannot open the ledger for writing", no
redaction).  Now such a worker queues the redaction durably in
DATA/ledger/pending/ (what to redact, never audio) and the lock holder
carries it out through rec_redact, audited like a manual one.

1. the worker inside a real `earshot record` on lo (the whisper protocol
   stand-in "speaking" a Luhn-valid card number over the caller's bursts):
   the caller's span is silent in the stored recording, the rest is not,
   the audit has the redaction, `verify --all` passes;
2. the worker in `serve` (the OpenAI protocol stand-in) while a recorder
   with `worker = no` runs: the same;
3. the ledger held by another process that is no recorder (a flock from
   here): `transcribe run --once` queues it, the call's JSON (`show
   --json` and GET /api/calls/{id}) lists it under "redactions_pending",
   and the next holder (`earshot record` started after) carries it out."""
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import time

from asrstandin import StandIn
from audiometrics import dbfs, read_wav, rms
import estest
from estest import (EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, plain_recording, run, show_json, tmpdir)
from talkgen import A, gen_call

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
res = Results()
work = tmpdir("earshot-redact-queue-")
data = os.path.join(work, "data")
caps = [gen_call(work, "c%d" % i, A[0], A[1], 30, 41 + i) for i in range(3)]
p, summary = import_capture(data, *caps, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 3,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
calls = sorted(c["id"] for c in calls_json(data))


def said(t0, sentence, step=0.4):
    return [(w, round(t0 + i * step, 2), round(t0 + i * step + 0.3, 2))
            for i, w in enumerate(sentence.split())]


CARD = ("four five three two oh one five double one two eight three zero three "
        "double six")  # 4532 0151 1283 0366: Luhn-valid
# talkgen's call A: the caller (440 Hz, "alpha") speaks 20.0-23.0 and 23.5-27.0
SCRIPT = {"alpha": said(20.1, "my card is " + CARD), "bravo": said(3.6, "hello there")}


def write_conf(port, engine, extra=""):
    conf = os.path.join(work, "%s.conf" % engine)
    with open(conf, "w") as f:
        f.write("[transcription]\nengine = %s\nurl = http://127.0.0.1:%d\npoll = 200ms\n"
                "timeout = 30s\n%s" % (engine, port, extra))
    return conf


def db_rows(call):
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    try:
        red = db.execute("SELECT channel, from_us, to_us, reason, author FROM redactions"
                         " WHERE call_row = ?", (call,)).fetchall()
        aud = db.execute("SELECT outcome, detail FROM audit WHERE action = 'call.redact'"
                         " AND object = ?", (str(call),)).fetchall()
    finally:
        db.close()
    return red, aud


def wait_redacted(call, timeout=40):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if db_rows(call)[0]:
            return True
        time.sleep(0.3)
    return False


def record(conf):
    # a filter nothing matches: the recorder captures, holds the ledger
    return subprocess.Popen([EARSHOT, "--data", data, "record", "-c", conf, "-i", "lo",
                             "--filter", "udp port %d" % free_port(udp=True)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


def check_redacted(call, what):
    red, aud = db_rows(call)
    sj = show_json(data, call)
    rec = sj["recording"]
    # the words 21.3-27.6 s, widened by 250 ms, cut at the recording's end
    # (the generated calls end at 24-27 s, by their seed)
    end = min(27.85, rec["duration_s"])
    res.check(len(red) == 1 and red[0][0] == "caller" and abs(red[0][1] - 21050000) <= 1000
              and abs(red[0][2] - end * 1e6) <= 30000 and red[0][3] == "spoken card number" and
              red[0][4] == "transcription", "%s: one redaction of the caller's span: %r"
              % (what, red))
    res.check(len(aud) == 1 and aud[0][0] == "ok" and "spoken card number" in aud[0][1],
              "%s: audited like a manual redaction: %r" % (what, aud))
    res.check(".r1." in rec["path"] and "redacted" in rec["flags"] and
              sj.get("redactions_pending") == [],
              "%s: the call's recording is the redacted one, nothing pending: %r %r"
              % (what, rec["path"], sj.get("redactions_pending")))
    out = plain_recording(data, call, os.path.join(work, "%d.wav" % call))
    rate, chans = read_wav(out)

    def level(ch, a, b):
        return dbfs(rms(chans[ch], int(a * rate), int(b * rate)))

    quiet = level(0, 21.2, min(26.9, end - 0.05))
    res.check(quiet < -55 and level(0, 20.1, 20.9) > -20 and
              level(0, 6.1, 8.9) > -20 and level(1, 8.6, 11.9) > -20,
              "%s: the caller's span is silent, the rest is not: %.1f %.1f %.1f %.1f dBFS"
              % (what, quiet, level(0, 20.1, 20.9), level(0, 6.1, 8.9), level(1, 8.6, 11.9)))
    p = earshot(data, "verify", "--all", "--json", check=False)
    res.check(p.returncode == 0 and json.loads(p.stdout)["finding_count"] == 0,
              "%s: verify --all: %s" % (what, p.stdout[-400:]))


pending_dir = os.path.join(data, "ledger", "pending")


def queued():
    return sorted(f for f in os.listdir(pending_dir) if f.endswith(".rd")) \
        if os.path.isdir(pending_dir) else []


# ---- 1. the worker inside `earshot record` ----
si = StandIn("whisper")
port = si.start()
si.script = SCRIPT
conf = write_conf(port, "whisper")
earshot(data, "transcribe", str(calls[0]))
r = record(conf)
ok = wait_redacted(calls[0])
rc, err = stop(r)
res.check(ok and rc == 0, "record: the redaction was carried out (%s), exit %d: %s"
          % (ok, rc, err[-600:]))
if ok:
    check_redacted(calls[0], "record")
res.check(queued() == [], "record: the queue is empty: %r" % queued())
si.stop()

# ---- 2. the worker in `serve` while a recorder runs ----
so = StandIn("openai")
oport = so.start()
so.script = SCRIPT
oconf = write_conf(oport, "openai")
rconf = os.path.join(work, "recorder.conf")
with open(rconf, "w") as f:  # the recorder leaves the queue to serve's worker
    f.write("[transcription]\nengine = openai\nurl = http://127.0.0.1:%d\nworker = no\n"
            % oport)
r = record(rconf)
time.sleep(1.0)  # the recorder holds the ledger
HOST, PORT = "127.0.0.1", free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "-c", oconf, "--listen",
                           "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
earshot(data, "transcribe", str(calls[1]))
ok = wait_redacted(calls[1])
sc, serr = http_stop(server)
rc, err = stop(r)
res.check(ok and rc == 0 and sc == 0, "serve + record: carried out (%s), exits %r %r: %s %s"
          % (ok, rc, sc, err[-400:], serr[-400:]))
if ok:
    check_redacted(calls[1], "serve + record")
res.check(queued() == [], "serve + record: the queue is empty: %r" % queued())

# ---- 3. queued while another holds the ledger; shown as pending; the next
# holder carries it out ----
lock = open(os.path.join(data, "ledger", "entries.log"), "a")
fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
earshot(data, "transcribe", str(calls[2]))
p = subprocess.run([EARSHOT, "--data", data, "transcribe", "run", "-c", oconf, "--once"],
                   capture_output=True, text=True, timeout=120)
res.check(p.returncode == 0 and len(queued()) == 1 and not db_rows(calls[2])[0],
          "held ledger: the redaction is queued, not done: %r %d %s"
          % (queued(), p.returncode, p.stderr[-400:]))
qtext = open(os.path.join(pending_dir, queued()[0])).read() if queued() else ""
res.check("spoken card number" in qtext and "four" not in qtext,
          "the queue file says what to redact, no words: %r" % qtext)
pend = show_json(data, calls[2]).get("redactions_pending")
res.check(pend and len(pend) == 1 and pend[0]["channel"] == "caller" and
          abs(pend[0]["from_ms"] - 21050) <= 1 and pend[0]["reason"] == "spoken card number" and
          pend[0]["by"] == "transcription", "show --json lists it as pending: %r" % pend)
res.check(show_json(data, calls[0]).get("redactions_pending") == [],
          "another call has none pending")
run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin",
     "--password-stdin"], input="correct horse battery\n")
tok = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
PORT = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if res.check(http_wait_up(HOST, PORT, server), "server up"):
    st, _, body = http_req(HOST, PORT, "GET", "/api/calls/%d" % calls[2],
                           headers={"Authorization": "Bearer " + tok})
    res.check(st == 200 and len(body.get("redactions_pending", [])) == 1 and
              body["redactions_pending"][0]["to_ms"] > 24000,
              "GET /api/calls/{id} lists it as pending: %d %r"
              % (st, body.get("redactions_pending")))
http_stop(server)
fcntl.flock(lock, fcntl.LOCK_UN)
lock.close()
# a file that is no queued redaction: set aside, named in the log, no harm
with open(os.path.join(pending_dir, "00000000000000000001-%d-0.rd" % calls[0]), "w") as f:
    f.write("earshot-redact-v1\t%d\tcaller\t+5\t1000\tsilence\t1\tx\ty\n" % calls[0])
r = record(rconf)
ok = wait_redacted(calls[2])
rc, err = stop(r)
res.check(ok and rc == 0, "the next holder carried it out (%s), exit %d: %s"
          % (ok, rc, err[-400:]))
if ok:
    check_redacted(calls[2], "queued, then record")
res.check(queued() == [], "the queue is empty: %r" % queued())
res.check(os.path.exists(os.path.join(pending_dir, "00000000000000000001-%d-0.rd.bad" % calls[0]))
          and "not a queued redaction" in err and len(db_rows(calls[0])[0]) == 1,
          "a malformed queue file is set aside as .bad and logged, nothing redacted by it")
so.stop()
res.finish()
