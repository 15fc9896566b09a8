"""Legal holds over the REST API (#15) on a real `earshot serve` (free port):
GET/POST /api/holds, GET /api/holds/{name}, POST /api/holds/{name}/release.
Admins and auditors may (the compliance officer is an auditor); supervisors
and agents get 403, audited.  Bad names, reasons, bodies and unknown calls
are 400/404 with nothing placed; a taken name is 409.  A hold placed over
the API blocks `earshot delete` (exit 6, naming it) and is in the ledger
(hold leaves, then release leaves); `earshot verify --all` passes after."""
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
work = tmpdir("earshot-holds-api-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "5", "--calls", "4", "--duration", "5"])
data = os.path.join(work, "data")
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import failed: %s%s" % (p.stdout, p.stderr))
ids = sorted(c["id"] for c in calls_json(data) if c.get("recording"))
if len(ids) < 2:
    skip("the capture gave only %d recordings" % len(ids))

PW = "correct horse battery"
tokens = {}
for name, role in {"admin1": "admin", "super1": "supervisor", "agent1": "agent",
                   "audit1": "auditor"}.items():
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
    tokens[name] = json.loads(earshot(data, "user", "token", name, "--json").stdout)["token"]


def req(who, method, path, body=None):
    hd = {"Authorization": "Bearer " + tokens[who]}
    st, _, b = http_req(HOST, PORT, method, path, body, hd, ctype=body is not None)
    return st, b


def leaves(kind):
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        return [ln for ln in f if ln.split("\t")[1] == kind]


server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    if not res.check(http_wait_up(HOST, PORT, server), "server up"):
        raise SystemExit(res.finish())
    body = {"name": "case-9", "reason": "subpoena 9", "calls": [str(ids[0])]}
    for who in ("super1", "agent1"):
        st, _ = req(who, "POST", "/api/holds", body)
        res.check(st == 403, "%s may not place a hold: %d" % (who, st))
        st, _ = req(who, "GET", "/api/holds")
        res.check(st == 403, "%s may not list holds: %d" % (who, st))
    bad = [({"name": "Case 9", "reason": "x", "calls": [str(ids[0])]}, 400),
           ({"name": "case-9", "reason": "", "calls": [str(ids[0])]}, 400),
           ({"name": "case-9", "reason": "x"}, 400),
           ({"name": "case-9", "reason": "x", "calls": [str(ids[0])], "query": "tag=x"}, 400),
           ({"name": "case-9", "reason": "x", "query": "colour=red"}, 400),
           ({"name": "case-9", "reason": "x", "calls": ["abc"]}, 400),
           ({"name": "case-9", "reason": "x", "calls": ["999999"]}, 404),
           ({"name": "case-9", "reason": "x", "extra": 1, "calls": [str(ids[0])]}, 400)]
    for b, want in bad:
        st, out = req("audit1", "POST", "/api/holds", b)
        res.check(st == want, "bad body %s: %d (want %d) %s" % (b, st, want, out))
    res.check(not os.path.exists(os.path.join(data, "ledger", "entries.log")) or not leaves("hold"),
              "bad requests placed nothing")
    st, out = req("audit1", "POST", "/api/holds", body)
    res.check(st == 201 and out.get("active") and out.get("calls") == 1 and
              out["call_list"][0]["id"] == ids[0], "auditor places a hold: %d %s" % (st, out))
    st, out = req("admin1", "POST", "/api/holds", body)
    res.check(st == 409, "a taken name is 409: %d" % st)
    st, out = req("admin1", "GET", "/api/holds")
    res.check(st == 200 and [h["name"] for h in out["holds"]] == ["case-9"], "list: %s" % out)
    st, out = req("admin1", "GET", "/api/holds/case-9")
    res.check(st == 200 and out["created_by"] == "audit1", "show: %s" % out)
    st, _ = req("admin1", "GET", "/api/holds/nosuch")
    res.check(st == 404, "unknown hold 404")
    res.check(len(leaves("hold")) == 1, "a hold leaf in the ledger")

    p = earshot(data, "delete", str(ids[0]), "--yes", check=False)
    res.check(p.returncode == 6 and "case-9" in p.stderr, "delete refused: %s" % p.stderr)

    st, _ = req("super1", "POST", "/api/holds/case-9/release", {"reason": "x"})
    res.check(st == 403, "supervisor may not release")
    st, _ = req("audit1", "POST", "/api/holds/case-9/release", {"reason": ""})
    res.check(st == 400, "release needs a reason")
    st, out = req("audit1", "POST", "/api/holds/case-9/release", {"reason": "quashed"})
    res.check(st == 200 and not out["active"] and out["release_reason"] == "quashed",
              "released: %d %s" % (st, out))
    st, _ = req("audit1", "POST", "/api/holds/case-9/release", {"reason": "again"})
    res.check(st == 409, "a second release is 409")
    res.check(len(leaves("release")) == 1, "a release leaf")
    denied = json.loads(earshot(data, "audit", "--json", "--action", "hold.add").stdout)
    res.check(any(e["outcome"] == "denied" for e in denied) and
              any(e["outcome"] == "ok" and e["user"] == "audit1" for e in denied),
              "hold.add audited, denials too")
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))
p = earshot(data, "delete", str(ids[0]), "--yes", check=False)
res.check(p.returncode == 0, "after the release delete works: %s" % p.stderr)
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 0, "verify --all: %s%s" % (p.stdout[-300:], p.stderr))
res.finish()
