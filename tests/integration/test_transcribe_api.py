"""Transcript search in the REST API (GET /api/calls?text=, text_party),
transcripts made through the whisper.cpp server *protocol stand-in*
(asrstandin.py): a supervisor finds both calls with a snippet and the time
of each hit per party; an agent finds only the agent's own call; bad
values are 400s naming the parameter; the index file holds no word said
(the blind index, index/trblind.c)."""
import json
import os
import sqlite3
import subprocess
import time

from asrstandin import StandIn
from estest import (EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, run, show_json, tmpdir)
from talkgen import A, B, gen_call

res = Results()
work = tmpdir("earshot-tr-api-")
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
si = StandIn("whisper")
port = si.start()
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n" % port)
earshot(data, "transcribe", "--query", "source=import")
earshot(data, "transcribe", "run", "-c", conf, "--once")
# the search index is blind: the index alone holds none of the words said
dump = subprocess.run(["sqlite3", os.path.join(data, "index.sqlite"), ".dump"],
                      capture_output=True, text=True)
res.check(dump.returncode == 0 and "transcripts" in dump.stdout and
          not [w for w in ("refund", "alpha", "bravo") if w in dump.stdout.lower()],
          "sqlite3 .dump: no word of the transcripts")

num = ids["a"]["caller"].split(":")[1].split("@")[0]
own = sorted(c["id"] for c in calls if num in (c["caller"] + c["callee"]))
for name, role, extra in (("sup1", "supervisor", []), ("agent1", "agent", ["--numbers", num]),
                          ("agent2", "agent", ["--numbers", "+15550001111"])):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role] + extra +
        ["--password-stdin"], input="correct horse battery\n")
tok = {n: json.loads(earshot(data, "user", "token", n, "--json").stdout)["token"]
       for n in ("sup1", "agent1", "agent2")}
HOST, PORT = "127.0.0.1", free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        def get(who, q):
            return http_req(HOST, PORT, "GET", "/api/calls?" + q,
                            headers={"Authorization": "Bearer " + tok[who]})

        st, _, body = get("sup1", "text=refund")
        got = sorted(c["id"] for c in body.get("calls", []))
        res.check(st == 200 and got == sorted([ids["a"]["id"], ids["b"]["id"]]),
                  "supervisor: both calls %r" % got)
        ha = body.get("hits", {}).get(str(ids["a"]["id"]), [])
        byp = {h["party"]: h for h in ha}
        res.check(set(byp) == {"caller", "callee"} and "[refund]" in byp["caller"]["snippet"],
                  "hits per party with snippets %r" % ha)
        at = byp.get("caller", {}).get("at_ms", [])
        res.check(len(at) == 4 and abs(at[0] - 500) <= 150 and abs(at[2] - 20000) <= 150,
                  "the time of each hit %r" % at)
        st, _, body = get("sup1", "text=%22refund+bravo%22&text_party=caller")
        res.check(st == 200 and body["calls"] == [], "phrase of the callee, caller only: none")
        st, _, body = get("agent1", "text=refund")
        got = sorted(c["id"] for c in body.get("calls", []))
        res.check(st == 200 and got == own and
                  sorted(body.get("hits", {})) == sorted(str(i) for i in own),
                  "agent: own calls only %r (own %r)" % (got, own))
        st, _, body = get("agent2", "text=refund")
        res.check(st == 200 and body["calls"] == [] and body.get("hits") == {},
                  "agent of other numbers: no call, no hit %r" % body)
        for q, param in (("text=%2A", "text"), ("text_party=both&text=a", "text_party"),
                         ("text=r%2A", "text")):
            st, _, body = get("sup1", q)
            res.check(st == 400 and param in json.dumps(body), "%s: %d %r" % (q, st, body))

        # ---- POST /api/calls/{id}/transcribe: queued again, role-checked, audited ----
        def post(who, call):
            return http_req(HOST, PORT, "POST", "/api/calls/%d/transcribe" % call, body={},
                            headers={"Authorization": "Bearer " + tok[who]})

        other = [i for i in (ids["a"]["id"], ids["b"]["id"]) if i not in own]
        st, _, body = post("agent2", own[0])
        res.check(st in (403, 404), "agent of other numbers: refused (%d)" % st)
        st, _, body = post("agent1", own[0])
        res.check(st == 202 and body == {"call": own[0], "queued": 2}, "agent: own call %d %r"
                  % (st, body))
        if other:
            st, _, body = post("agent1", other[0])
            res.check(st in (403, 404), "agent: another's call refused (%d)" % st)
        st, _, body = post("sup1", ids["b"]["id"])
        res.check(st == 202 and body["queued"] == 2, "supervisor: %d %r" % (st, body))
        st, _, body = post("sup1", 999999)
        res.check(st == 404, "no such call: %d" % st)
        st, _, body = http_req(HOST, PORT, "GET", "/api/calls/%d/transcribe" % own[0],
                               headers={"Authorization": "Bearer " + tok["sup1"]})
        res.check(st == 405, "GET: 405 (%d)" % st)
        jobs = json.loads(earshot(data, "transcribe", "status", "--json").stdout)["jobs"]
        res.check(sorted((j["call"], j["state"]) for j in jobs if j["state"] == "queued") ==
                  sorted([(own[0], "queued")] * 2 + [(ids["b"]["id"], "queued")] * 2)
                  if own[0] != ids["b"]["id"] else True, "queued again: %r" % jobs)
        db = sqlite3.connect(os.path.join(data, "index.sqlite"))
        aud = db.execute("SELECT user, outcome FROM audit WHERE action = 'call.transcribe'"
                         " ORDER BY seq").fetchall()
        db.close()
        res.check(("agent1", "ok") in aud and ("sup1", "ok") in aud and
                  any(u == "agent2" and o != "ok" for u, o in aud),
                  "audited, denials too: %r" % aud)
finally:
    http_stop(server)

# ---- `earshot serve -c` with [transcription]: the worker runs inside it ----
PORT2 = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "-c", conf, "--listen",
                           "%s:%d" % (HOST, PORT2)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(HOST, PORT2, server), "server with the worker up"):
        st, _, body = http_req(HOST, PORT2, "POST", "/api/calls/%d/transcribe" % ids["a"]["id"],
                               body={}, headers={"Authorization": "Bearer " + tok["sup1"]})
        res.check(st == 202, "queued through the API: %d" % st)
        t0, counts = time.time(), {}
        while time.time() - t0 < 30:
            counts = json.loads(earshot(data, "transcribe", "status", "--json").stdout)["counts"]
            if counts.get("done") == 4 and not counts.get("queued"):
                break
            time.sleep(0.3)
        res.check(counts.get("done") == 4 and not counts.get("queued"),
                  "serve's worker transcribed what the API queued: %r" % counts)
finally:
    http_stop(server)
si.stop()
res.finish()
