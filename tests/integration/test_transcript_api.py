"""GET /api/calls/{id}/transcript (issue #19), transcripts made through the
whisper.cpp server *protocol stand-in* (asrstandin.py, scripted words; no
model runs here): both parties' words with their times and confidence,
the spoken card number only in its masked form (the sealed file is
decrypted with the recording's data key); allowed to whoever may listen
(an agent their own calls, a supervisor, an auditor only with the listen
grant, a team-scoped supervisor not another team's calls), audited as
call.transcript (denials too); [api] listen_reason = required asks for a
reason as playback does; 404 for a call without a transcript."""
import json
import os
import subprocess

from asrstandin import StandIn
from estest import (EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop, index_db,
                    http_wait_up, import_capture, run, show_json, tmpdir)
from talkgen import A, B, gen_call

res = Results()
work = tmpdir("earshot-transcript-api-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 30, 11)
pb = gen_call(work, "b", B[0], B[1], 30, 12)
p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
calls = calls_json(data)
ids = {("a" if show_json(data, c["id"])["talk"]["overtalk_ms"] > 0 else "b"): c
       for c in calls}
ca, cb = ids["a"]["id"], ids["b"]["id"]
# a third call, transcribed like A: its parties are its own (talkgen numbers
# each call by its seed), so an agent of A's number must not find it
p, _ = import_capture(data, gen_call(work, "c", B[0], B[1], 30, 13), extra=("--format", "wav"))
calls = calls_json(data)
cc = [c["id"] for c in calls if c["id"] not in (ca, cb)][0]


def said(t0, sentence, step=0.4):
    return [(w, round(t0 + i * step, 2), round(t0 + i * step + 0.3, 2))
            for i, w in enumerate(sentence.split())]


CARD = ("four five three two oh one five double one two eight three zero three "
        "double six")  # 4532 0151 1283 0366: Luhn-valid
si = StandIn("whisper")
port = si.start()
si.script = {"bravo": said(3.6, "thank you for calling this call is recorded"),
             "alpha": said(0.6, "i want a refund please") + said(20.1, "my card is " + CARD)}
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n" % port)
earshot(data, "transcribe", str(ca), str(cc))
earshot(data, "transcribe", "run", "-c", conf, "--once")
si.stop()

num = ids["a"]["caller"].split(":")[1].split("@")[0]
own = sorted(c["id"] for c in calls if num in (c["caller"] + c["callee"]))
users = (("sup1", "supervisor", []), ("agent1", "agent", ["--numbers", num]),
         ("agent2", "agent", ["--numbers", "+15550001111"]), ("aud1", "auditor", []),
         ("aud2", "auditor", ["--can-listen"]), ("sup2", "supervisor", []))
for name, role, extra in users:
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role] + extra +
        ["--password-stdin"], input="correct horse battery\n")
# a team-scoped supervisor of agent2's team only (sup1 has the default scope)
earshot(data, "team", "add", "t2")
earshot(data, "team", "members", "t2", "--add", "agent2")
earshot(data, "team", "members", "t2", "--add", "sup2", "--supervisor")
earshot(data, "team", "scope", "sup2", "teams")
tok = {n: json.loads(earshot(data, "user", "token", n, "--json").stdout)["token"]
       for n, _, _ in users}
HOST = "127.0.0.1"


def serve(extra_conf=None):
    port = free_port()
    args = [EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port)]
    if extra_conf:
        c = os.path.join(work, "serve.conf")
        with open(c, "w") as f:
            f.write(extra_conf)
        args[4:4] = ["-c", c]
    return port, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


PORT, server = serve()
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        def get(who, call, q=""):
            return http_req(HOST, PORT, "GET", "/api/calls/%d/transcript%s" % (call, q),
                            headers={"Authorization": "Bearer " + tok[who]})

        st, _, body = get("sup1", ca)
        parties = {x["party"]: x for x in body.get("parties", [])} if st == 200 else {}
        res.check(st == 200 and body["call"] == ca and set(parties) == {"caller", "callee"},
                  "supervisor: both parties %d %r" % (st, body))
        if parties:
            cw = parties["caller"]["words"]
            res.check([w["w"] for w in cw[:5]] == "i want a refund please".split() and
                      abs(cw[3]["start_ms"] - 1800) <= 10 and
                      abs(cw[3]["end_ms"] - 2100) <= 10 and abs(cw[3]["conf"] - 0.9) < 0.01,
                      "words with start, end and confidence: %r" % cw[:5])
            text = json.dumps(body)
            masked = [w for w in cw if w.get("masked")]
            res.check(not any(x in text for x in ('"four"', '"five"', '"double"', '"oh"')) and
                      len(masked) == 16 and all(set(w["w"]) == {"#"} for w in masked) and
                      [w["w"] for w in cw[5:8]] == ["my", "card", "is"],
                      "the card number only masked: %r" % [w["w"] for w in cw[5:]])
            m = parties["caller"]["masked"]
            res.check(len(m) == 1 and m[0]["kind"] == "card" and m[0]["digits"] == 16 and
                      abs(m[0]["start_ms"] - 21300) <= 10, "the masked span: %r" % m)
            res.check(parties["callee"]["words"][4]["w"] == "this" and
                      parties["caller"]["engine"] == "whisper" and
                      parties["caller"]["transcribed"].startswith("20"),
                      "the callee's words, engine and time: %r" % parties["callee"])
        rec = show_json(data, ca)["recording"]
        tfiles = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(data, "transcripts"))
                  for f in fs]
        res.check(rec.get("encrypted") and tfiles and
                  all(b"refund" not in open(f, "rb").read() for f in tfiles),
                  "the files are sealed (served decrypted): %r" % tfiles)

        res.check(own == [ca], "agent1 owns call A only (distinct parties): %r" % own)
        st, _, body = get("agent1", ca)
        res.check(st == 200 and len(body["parties"]) == 2 and ca in own,
                  "agent: own call %d" % st)
        st, _, body = get("agent1", cc)
        res.check(st in (403, 404) and "refund" not in json.dumps(body),
                  "agent: the other transcribed call refused (%d)" % st)

        def search(who, q):
            st, _, body = http_req(HOST, PORT, "GET", "/api/calls?" + q,
                                   headers={"Authorization": "Bearer " + tok[who]})
            return st, sorted(c["id"] for c in body.get("calls", [])), body

        st, got, _ = search("sup1", "text=refund")
        res.check(st == 200 and got == sorted([ca, cc]), "supervisor finds both: %r" % got)
        st, got, body = search("agent1", "text=refund")
        res.check(st == 200 and got == [ca] and sorted(body.get("hits", {})) == [str(ca)],
                  "agent: only their own call's transcript found %r" % got)
        st, got, body = search("agent2", "text=refund")
        res.check(st == 200 and got == [] and not body.get("hits"),
                  "agent of other numbers: nothing found %r" % got)
        st, _, body = get("agent2", ca)
        res.check(st in (403, 404) and "refund" not in json.dumps(body),
                  "agent: another's call refused (%d)" % st)
        st, _, body = get("sup2", ca)
        res.check(st in (403, 404) and "refund" not in json.dumps(body),
                  "team-scoped supervisor, another team's call: refused (%d)" % st)
        st, _, body = get("aud1", ca)
        res.check(st == 403 and "refund" not in json.dumps(body),
                  "auditor without the listen grant: 403 (%d)" % st)
        st, _, body = get("aud2", ca)
        res.check(st == 200 and len(body["parties"]) == 2, "auditor with the grant: %d" % st)
        st, _, body = get("sup1", cb)
        res.check(st == 404 and "no_transcript" in json.dumps(body),
                  "not transcribed: 404 no_transcript %d %r" % (st, body))
        st, _, body = get("sup1", 999999)
        res.check(st == 404, "no such call: %d" % st)
        st, _, body = get("sup1", ca, "?foo=1")
        res.check(st == 400, "unknown parameter: %d" % st)
        st, _, _ = http_req(HOST, PORT, "POST", "/api/calls/%d/transcript" % ca, body={},
                            headers={"Authorization": "Bearer " + tok["sup1"]})
        res.check(st == 405, "POST: 405 (%d)" % st)
        st, _, _ = http_req(HOST, PORT, "GET", "/api/calls/%d/transcript" % ca)
        res.check(st == 401, "no credentials: 401 (%d)" % st)
finally:
    rc, err = http_stop(server)
    res.check(rc == 0 and "Sanitizer" not in err and "runtime error" not in err,
              "the server stopped cleanly: %r %s" % (rc, err[-2000:]))

PORT, server = serve("[api]\nlisten_reason = required\n")
try:
    if res.check(http_wait_up(HOST, PORT, server), "server with listen_reason up"):
        h = {"Authorization": "Bearer " + tok["sup1"]}
        st, _, body = http_req(HOST, PORT, "GET", "/api/calls/%d/transcript" % ca, headers=h)
        res.check(st == 403 and "reason_required" in json.dumps(body),
                  "listen_reason = required: no reason, 403 (%d %r)" % (st, body))
        st, _, body = http_req(HOST, PORT, "GET",
                               "/api/calls/%d/transcript?reason=complaint+42" % ca, headers=h)
        res.check(st == 200 and len(body["parties"]) == 2, "with a reason: %d" % st)
finally:
    rc, err = http_stop(server)
    res.check(rc == 0 and "Sanitizer" not in err and "runtime error" not in err,
              "the server stopped cleanly: %r %s" % (rc, err[-2000:]))

db = index_db(data)
aud = db.execute("SELECT \"user\", outcome, object, detail FROM audit"
                 " WHERE action = 'call.transcript' ORDER BY seq").fetchall()
db.close()
res.check(("sup1", "ok", str(ca)) in [a[:3] for a in aud] and
          ("agent1", "ok", str(ca)) in [a[:3] for a in aud] and
          any(u == "agent2" and o != "ok" for u, o, _, _ in aud) and
          any(u == "aud1" and o == "denied" for u, o, _, _ in aud) and
          any(u == "sup1" and o == "failed" and "not transcribed" in d for u, o, _, d in aud) and
          any(u == "sup1" and o == "ok" and "reason: complaint 42" in d for u, o, _, d in aud) and
          any(u == "sup1" and o == "denied" and "reason" in d for u, o, _, d in aud),
          "audited, denials and failures too: %r" % aud)
res.finish()
