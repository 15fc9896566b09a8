"""Redaction over the REST API (#15) on a real `earshot serve` (free port):
POST /api/calls/{id}/redact for admins and supervisors (agents and auditors
403, audited); bad bodies and spans are 400 with nothing changed; after a
redaction GET .../audio serves the redacted version to everybody (its
ETag is the redacted plaintext's hash) and ?version=original serves the
kept original ([redaction] original = restrict) to admins and auditors with
the listen grant only: a supervisor or an auditor without the grant gets
403.  `earshot verify --all` passes after."""
import json
import os
import subprocess

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)
HOST = "127.0.0.1"
PORT = free_port()
res = Results()
work = tmpdir("earshot-redact-api-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "2", "--duration", "6"])
data = os.path.join(work, "data")
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import failed: %s%s" % (p.stdout, p.stderr))
calls = [c for c in calls_json(data) if c.get("recording")]
if not calls:
    skip("the capture gave no recording")
call = calls[0]
cid = call["id"]
dur_ms = int(call["recording"]["duration_s"] * 1000)

PW = "correct horse battery"
tokens = {}
for name, role, extra in (("admin1", "admin", ()), ("super1", "supervisor", ()),
                          ("agent1", "agent", ()), ("audit1", "auditor", ()),
                          ("audit2", "auditor", ("--can-listen",))):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
        + list(extra), input=PW + "\n")
    tokens[name] = json.loads(earshot(data, "user", "token", name, "--json").stdout)["token"]


def req(who, method, path, body=None):
    hd = {"Authorization": "Bearer " + tokens[who]}
    st, h, b = http_req(HOST, PORT, method, path, body, hd, ctype=body is not None, raw=True)
    return st, h, b


def entries():
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        return f.read()


url = "/api/calls/%d" % cid
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    st, h, _ = req("admin1", "GET", url + "/audio")
    orig_etag = h.get("etag")
    good = {"from_ms": 200, "to_ms": 600, "channel": "caller", "reason": "card number"}
    before = entries()
    for who in ("agent1", "audit1", "audit2"):
        st, _, _ = req(who, "POST", url + "/redact", good)
        res.check(st in (403, 404), "%s may not redact: %d" % (who, st))
    for body, what in (({"from_ms": 200, "to_ms": 600, "channel": "caller"}, "no reason"),
                       ({"from_ms": 600, "to_ms": 200, "reason": "x"}, "from >= to"),
                       ({"from_ms": 0, "to_ms": dur_ms + 5000, "reason": "x"}, "outside"),
                       ({"from_ms": 0, "to_ms": 100, "reason": "x", "channel": "agent"},
                        "channel"),
                       ({"from_ms": 0, "to_ms": 100, "reason": ""}, "empty reason"),
                       ({"from_ms": "a", "to_ms": 100, "reason": "x"}, "bad type")):
        st, _, b = req("super1", "POST", url + "/redact", body)
        res.check(st == 400, "%s: 400, got %d %s" % (what, st, b[:200]))
    res.check(entries() == before, "refused requests changed nothing")
    st, _, b = req("super1", "POST", url + "/redact", good)
    out = json.loads(b) if st == 201 else {}
    res.check(st == 201 and out.get("original_state") == "restricted" and out.get("n") == 1,
              "supervisor redacts: %d %s" % (st, b[:300]))
    for who in ("super1", "admin1", "audit2"):
        st, h, _ = req(who, "GET", url + "/audio")
        res.check(st == 200 and h.get("etag") != orig_etag,
                  "%s hears the redacted version: %d %s" % (who, st, h.get("etag")))
    # an agent does not see a call not theirs at all: the one 404 of srv_access_call
    for who, want in (("super1", 403), ("audit1", 403), ("agent1", 404), ("admin1", 200),
                      ("audit2", 200)):
        st, h, _ = req(who, "GET", url + "/audio?version=original")
        res.check(st == want and (want != 200 or h.get("etag") == orig_etag),
                  "%s and the original: %d (want %d)" % (who, st, want))
    st, _, _ = req("admin1", "GET", url + "/audio?version=other")
    res.check(st == 400, "unknown version: %d" % st)
    st, _, _ = req("admin1", "GET", "/api/calls/%d/audio?version=original" % calls[-1]["id"])
    res.check(st == 404 or len(calls) == 1, "a call never redacted has no original: %d" % st)
    audit = json.loads(earshot(data, "audit", "--json", "--action", "call.redact").stdout)
    res.check(any(e["outcome"] == "ok" and e["user"] == "super1" for e in audit) and
              any(e["outcome"] == "denied" for e in audit), "call.redact audited, denials too")
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 0, "verify --all: %s%s" % (p.stdout[-300:], p.stderr))
res.finish()
