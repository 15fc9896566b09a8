"""The text analyses wired into transcription (issue #19), through the
whisper.cpp server *protocol stand-in* (asrstandin.py, scripted words; no
model runs here): when a channel's transcript is stored, a spoken card
number (Luhn-valid, read out as digit words) is masked in the stored and
shown transcript and in the searchable text; keyword hits (with times,
category, party), a required list with no hit and the sentiment per
utterance, party and call are in the call's JSON and searchable
(`calls --keyword`, `--min/max-sentiment`, the same in GET /api/calls);
a keyword hit raises the "keyword" alert to a real webhook receiver, once
per call (de-duplicated).  The card number's word times become a redaction
of the caller's audio (the same signed redaction record, ledger leaves and
audit entry as `earshot redact`, reason "spoken card number"): the span is
silent in the exported recording, the rest keeps its level, the
transcripts follow the new recording and `earshot verify --all` passes;
the evidence bundle carries the masked transcripts and still verifies."""
import hashlib
import hmac
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import zipfile

from asrstandin import StandIn
from audiometrics import dbfs, read_wav, rms
from estest import (BUILD, EARSHOT, SOURCE, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, plain_recording, run, show_json,
                    tmpdir)
from talkgen import A, B, gen_call

res = Results()
LEX = os.environ.get("ES_VADER_LEXICON",
                     os.path.join(SOURCE, "build", "lexicon", "vader_lexicon.txt"))
if not os.path.exists(LEX):
    res.skip("no lexicon at %s (scripts/fetch-lexicon)" % LEX)
    res.finish()
work = tmpdir("earshot-tr-findings-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 30, 11)
pb = gen_call(work, "b", B[0], B[1], 30, 12)
p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
ids = {("a" if show_json(data, c["id"])["talk"]["overtalk_ms"] > 0 else "b"): c["id"]
       for c in calls_json(data)}
ca, cb = ids["a"], ids["b"]


def said(t0, sentence, step=0.4):
    """Words of a sentence every step seconds from t0 (inside a burst)."""
    return [(w, round(t0 + i * step, 2), round(t0 + i * step + 0.3, 2))
            for i, w in enumerate(sentence.split())]


CARD = ("four five three two oh one five double one two eight three zero three "
        "double six")  # 4532 0151 1283 0366: Luhn-valid
# call A: the callee (700 Hz, "bravo") bursts 3.5-6.5 and 8.5-12.0, the
# caller (440 Hz, "alpha") 0.5-4.0, 6.0-9.0, 20.0-23.0, 23.5-27.0
script = {"bravo": said(3.6, "thank you for calling this call is recorded"),
          "alpha": said(0.6, "i am really unhappy with the terrible service") +
          said(20.1, "my card is " + CARD)}

SECRET = "findings-test-secret-0123456789"
got = []


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        got.append((json.loads(body), hmac.compare_digest(
            self.headers.get("X-Earshot-Signature", ""), want)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


hook = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=hook.serve_forever, daemon=True).start()

si = StandIn("whisper")
port = si.start()
si.script = script
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\npoll = 200ms\n"
            "[keywords disclosure]\ncategory = disclosure\nphrases = this call is recorded\n"
            "required = yes\nparty = callee\n"
            "[keywords rivals]\ncategory = competitor\nphrases = acme*, globex\nrequired = yes\n"
            "[keywords unhappy]\ncategory = complaint\nphrases = unhappy with the*\n"
            "[sentiment]\nlexicon = %s\n"
            "[alerts]\nwebhook = http://127.0.0.1:%d/hook\nsecret = %s\n"
            "[alert words]\ncondition = keyword\n" % (port, LEX, hook.server_address[1],
                                                      SECRET))

earshot(data, "transcribe", str(ca))
w = subprocess.Popen([EARSHOT, "--data", data, "transcribe", "run", "-c", conf],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
t0 = time.time()
while time.time() - t0 < 30:
    st = json.loads(earshot(data, "transcribe", "status", "--json").stdout)
    if st["counts"].get("done") == 2 and got:
        break
    time.sleep(0.3)
time.sleep(1.0)  # a second event, if any, would have come by now
w.send_signal(signal.SIGTERM)
out, errs = w.communicate(timeout=20)
res.check(w.returncode == 0, "worker: %d %s" % (w.returncode, errs))

# ---- the masked transcript ----
tr = json.loads(earshot(data, "transcribe", "show", str(ca), "--json").stdout)
byc = {t["channel"]: t for t in tr["transcripts"]}
cw = [x["w"] for x in byc["caller"]["words"]]
res.check(cw[:8] == "i am really unhappy with the terrible service".split(),
          "caller's words kept: %r" % cw[:8])
tail = cw[-19:]
res.check(tail[:3] == ["my", "card", "is"] and all(set(x) == {"#"} for x in tail[3:]) and
          not any(x in ("four", "five", "double", "oh") for x in cw),
          "the card number is masked: %r" % tail)
res.check(byc["caller"]["masked"] and byc["caller"]["masked"][0]["kind"] == "card" and
          byc["caller"]["masked"][0]["digits"] == 16 and
          abs(byc["caller"]["masked"][0]["s"] - 21300) <= 10,
          "the span is kept with the transcript: %r" % byc["caller"].get("masked"))
tfiles = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(data, "transcripts"))
          for f in fs]
res.check(tfiles and all(b"four" not in open(f, "rb").read() for f in tfiles), "sealed")
res.check([c["id"] for c in calls_json(data, "--text", "four")] == [] and
          [c["id"] for c in calls_json(data, "--text", "card")] == [ca],
          "the searchable text is masked too")

# ---- the findings in the call's JSON ----
sp = show_json(data, ca)["speech"]
kw = {(k["category"], k["party"]): k for k in sp["keywords"]}
d = kw.get(("disclosure", "callee"))
res.check(d and abs(d["start_ms"] - 5200) <= 10 and abs(d["end_ms"] - 6700) <= 10 and
          d["phrase"] == "this call is recorded",
          "disclosure hit with its time and party: %r" % sp["keywords"])
c = kw.get(("complaint", "caller"))
res.check(c and abs(c["start_ms"] - 1800) <= 10, "complaint hit: %r" % c)
res.check([(m["category"], m["party"]) for m in sp["missing"]] == [("competitor", "any")],
          "the required competitor list has no hit: %r" % sp["missing"])
s = sp["sentiment"]
res.check(s and s["caller"] < -0.3 and (s["callee"] is None or s["callee"] >= 0) and
          s["call"] is not None and len(s["utterances"]) >= 3,
          "sentiment per party and call: %r" % s)
res.check(show_json(data, ca)["sentiment"] == s["call"], "the call's score beside")
res.check(show_json(data, cb)["sentiment"] is None and show_json(data, cb)["speech"] is None,
          "call B not analysed")


def found(*args):
    return [x["id"] for x in calls_json(data, *args)]


res.check(found("--keyword", "complaint") == [ca], "--keyword category")
res.check(found("--keyword", "DISCLOSURE") == [ca], "--keyword any case")
res.check(found("--keyword", "unhappy") == [ca], "--keyword list name")
res.check(found("--keyword", "this call is recorded") == [ca], "--keyword phrase")
res.check(found("--keyword", "competitor") == [], "a missing list is no hit")
res.check(found("--max-sentiment", "0.5") == [ca], "--max-sentiment")
res.check(found("--min-sentiment", "0.9") == [], "--min-sentiment")
p = earshot(data, "calls", "--min-sentiment", "2", check=False)
res.check(p.returncode == 2 and "--min-sentiment" in p.stderr, "bad score: usage")

# ---- the alert: one event for the call, signed ----
kev = [e for e, _ in got if e.get("condition") == "keyword"]
res.check(len(kev) == 1 and all(ok for _, ok in got),
          "one keyword event, signed: %r" % [e for e, _ in got])
if kev:
    e = kev[0]
    res.check(e["call"]["call_id"] and e["fields"].get("category") in ("complaint", "disclosure"),
              "the event names the call and the category: %r" % e)

# ---- the card's audio: redacted through the redaction mechanism ----
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
red = db.execute("SELECT channel, from_us, to_us, reason, author FROM redactions"
                 " WHERE call_row = ?", (ca,)).fetchall()
aud = db.execute("SELECT user, outcome, detail FROM audit WHERE action = 'call.redact'"
                 " AND object = ?", (str(ca),)).fetchall()
db.close()
# the words 21.3-27.6 s, widened by 250 ms, cut at the recording's end
res.check(len(red) == 1 and red[0][0] == "caller" and abs(red[0][1] - 21050000) <= 1000 and
          red[0][2] > 26000000 and red[0][3] == "spoken card number" and
          red[0][4] == "transcription", "one redaction of the caller's span: %r" % red)
res.check(len(aud) == 1 and aud[0][1] == "ok" and "spoken card number" in aud[0][2],
          "audited like a manual redaction: %r" % aud)
rec = show_json(data, ca)["recording"]
res.check(".r1." in rec["path"] and "redacted" in rec["flags"], "the call's recording: %r" % rec)
out = plain_recording(data, ca, os.path.join(work, "a.wav"))
rate, chans = read_wav(out)


def level(ch, a, b):
    return dbfs(rms(chans[ch], int(a * rate), int(b * rate)))


res.check(level(0, 21.2, 26.9) < -55 and level(0, 20.1, 20.9) > -20 and
          level(0, 6.1, 8.9) > -20, "the caller's span is silent, the rest is not: "
          "%.1f %.1f %.1f dBFS" % (level(0, 21.2, 26.9), level(0, 20.1, 20.9),
                                   level(0, 6.1, 8.9)))
p = earshot(data, "verify", "--all", "--json", check=False)
res.check(p.returncode == 0 and json.loads(p.stdout)["finding_count"] == 0,
          "verify after the redaction: %s" % p.stdout[-300:])
tr = json.loads(earshot(data, "transcribe", "show", str(ca), "--json").stdout)
res.check(len(tr["transcripts"]) == 2, "the transcripts follow the redacted recording")

# ---- the evidence bundle carries the (masked) transcripts and still verifies ----
zpath = os.path.join(work, "evidence.zip")
earshot(data, "export", str(ca), "--evidence", "-o", zpath)
with zipfile.ZipFile(zpath) as z:
    names = z.namelist()
    ztr = json.loads(z.read("transcript.caller.json")) if "transcript.caller.json" in names \
        else {}
    readme = z.read("README.txt").decode()
res.check("transcript.callee.json" in names and
          [x["w"] for x in ztr.get("words", [])][:4] == ["i", "am", "really", "unhappy"] and
          "four" not in [x["w"] for x in ztr["words"]] and "#" in [x["w"] for x in ztr["words"]] and "Transcripts" in readme,
          "bundle: %r" % names)
p = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath], check=False)
res.check(p.returncode == 0, "the bundle verifies: %s %s" % (p.stdout, p.stderr))

# ---- the same through the REST API ----
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "supervisor",
     "--password-stdin"], input="correct horse battery\n")
tok = json.loads(earshot(data, "user", "token", "sup1", "--json").stdout)["token"]
HOST, PORT = "127.0.0.1", free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        def get(q):
            return http_req(HOST, PORT, "GET", q, headers={"Authorization": "Bearer " + tok})

        st, _, body = get("/api/calls?keyword=complaint")
        res.check(st == 200 and [x["id"] for x in body["calls"]] == [ca], "?keyword")
        st, _, body = get("/api/calls?max_sentiment=-0.9")
        res.check(st == 200 and body["calls"] == [], "?max_sentiment")
        st, _, body = get("/api/calls?min_sentiment=-1&keyword=disclosure")
        res.check(st == 200 and [x["id"] for x in body["calls"]] == [ca], "both")
        st, _, body = get("/api/calls?min_sentiment=x")
        res.check(st == 400 and "min_sentiment" in json.dumps(body), "bad score: 400")
        st, _, body = get("/api/calls/%d" % ca)
        res.check(st == 200 and body["speech"]["missing"][0]["category"] == "competitor",
                  "the call's JSON: %r" % body.get("speech"))
finally:
    http_stop(server)
si.stop()
hook.shutdown()
res.finish()
