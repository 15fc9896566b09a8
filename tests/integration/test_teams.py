#!/usr/bin/env python3
"""Teams and the supervisor's scope (issue #18) over `earshot team` and the
REST API of a real `earshot serve` with [api] supervisor_scope = teams.

- `earshot team add|del|members|list|scope`: JSON output, exit codes (4 no
  such team/user, 2 bad name or wrong role, 1 exists), audit entries.
- A scoped supervisor ("lead" supervises team red, whose agent has the
  numbers of some calls) sees exactly red's calls in the search, the CSV
  and the per-call endpoints (view, audio with Range, peaks, verify,
  evidence, sip, pcap, tags, notes, tagging, redaction); every other call
  answers exactly as an absent call does (status, headers, body), and the
  audit log keeps the denial; the dashboard (figures over every call) is
  refused.  A supervisor with scope "all" (their own setting overrides the
  default) sees everything; one with scope "teams" and no team sees nothing.
- The role matrix of /api/teams and /api/scopes: admin only, 0 unexpected
  allows; CSRF and bad bodies."""
import json
import os
import subprocess

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop,
                    http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST = "127.0.0.1"
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-teams-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "5", "--calls", "8", "--duration", "6"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
if len(recorded) < 4:
    raise RuntimeError("the capture has too few recorded calls")


def parties(c):
    return {c["parties"]["caller"]["user"], c["parties"]["callee"]["user"]}


red_num = recorded[0]["parties"]["caller"]["user"]
blue_num = next(u for c in recorded for u in parties(c) if u != red_num)
red_ids = {c["id"] for c in calls if red_num in parties(c)}
blue_ids = {c["id"] for c in calls if blue_num in parties(c)}
inside = recorded[0]
outside = next(c for c in recorded if c["id"] not in red_ids)
all_ids = {c["id"] for c in calls}

USERS = (("admin1", "admin", ""), ("lead", "supervisor", ""), ("boss", "supervisor", ""),
         ("lonely", "supervisor", ""), ("red1", "agent", red_num), ("blue1", "agent", blue_num),
         ("audit1", "auditor", ""))
for name, role, numbers in USERS:
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")


def cli(*args):
    return earshot(data, *args, check=False)


# ---- the command line ------------------------------------------------------------------
def test_cli():
    for t in ("red", "blue", "spare"):
        p = cli("team", "add", t)
        res.check(p.returncode == 0, "team add %s: %d %s" % (t, p.returncode, p.stderr))
    p = cli("team", "add", "RED")
    res.check(p.returncode == 1 and "exists" in p.stderr, "team add RED again (any case): %d %s"
              % (p.returncode, p.stderr))
    p = cli("team", "add", "../x")
    res.check(p.returncode == 2, "bad team name -> 2: %d" % p.returncode)
    for args, want in ((("members", "red", "--add", "red1"), 0),
                       (("members", "red", "--add", "lead", "--supervisor"), 0),
                       (("members", "blue", "--add", "blue1"), 0),
                       (("members", "red", "--add", "red1"), 1),         # already
                       (("members", "red", "--add", "lead"), 2),         # not an agent
                       (("members", "red", "--add", "nobody"), 4),
                       (("members", "nosuch", "--add", "red1"), 4),
                       (("members", "spare", "--add", "red1"), 0),
                       (("members", "spare", "--remove", "red1"), 0),
                       (("members", "spare", "--remove", "red1"), 4),
                       (("del", "spare"), 0), (("del", "spare"), 4),
                       (("scope", "boss", "all"), 0), (("scope", "lonely", "teams"), 0),
                       (("scope", "boss", "everything"), 2), (("scope", "nobody", "all"), 4)):
        p = cli("team", *args)
        res.check(p.returncode == want, "team %s -> %d: %d %s" % (" ".join(args), want,
                                                                 p.returncode, p.stderr.strip()))
    p = cli("team", "list", "--json")
    teams = json.loads(p.stdout) if p.returncode == 0 else []
    res.check([(t["name"], t["agents"], t["supervisors"]) for t in teams] ==
              [("blue", 1, 0), ("red", 1, 1)], "team list --json: %s" % teams)
    p = cli("team", "members", "red", "--json")
    mem = json.loads(p.stdout) if p.returncode == 0 else []
    res.check(sorted((m["user"], m["kind"]) for m in mem) ==
              [("lead", "supervisor"), ("red1", "agent")], "members red: %s" % mem)
    p = cli("audit", "--action", "team.", "--json")
    ents = json.loads(p.stdout) if p.returncode == 0 else []
    acts = [(e["action"], e["object"], e["outcome"]) for e in ents]
    res.check(("team.add", "red", "ok") in acts and ("team.delete", "spare", "ok") in acts and
              ("team.member.add", "red", "failed") in acts and
              ("team.member.remove", "spare", "ok") in acts, "audit of team changes: %s" % acts)
    p = cli("audit", "--action", "user.scope", "--json")
    ents = json.loads(p.stdout) if p.returncode == 0 else []
    res.check(any(e["object"] == "boss" and e["detail"] == "all" for e in ents),
              "audit of a scope change: %s" % ents)


test_cli()

conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nsupervisor_scope = teams\n")
port = free_port(host=HOST)
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "-c", conf,
                           "--listen", "%s:%d" % (HOST, port)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def req(method, path, body=None, headers=None, cookie=None, raw=False):
    return http_req(HOST, port, method, path, body, headers, cookie, raw=raw, timeout=20)


def login(name):
    st, h, b = req("POST", "/api/login", {"name": name, "password": PW})
    ck = None
    for part in h.get("set-cookie", "").split(";"):
        if part.strip().startswith("earshot_session="):
            ck = part.strip().split("=", 1)[1]
    return ck, (b.get("csrf") if isinstance(b, dict) else None)


# ---- the scoped supervisor -------------------------------------------------------------
def test_scope():
    ck, csrf = login("lead")
    hx = {"X-CSRF-Token": csrf}
    st, _, me = req("GET", "/api/me", cookie=ck)
    res.check(st == 200 and me.get("scope") == "teams" and
              me["permissions"].get("view") == "own" and me["permissions"].get("listen") == "own",
              "me of a scoped supervisor: %s" % me)
    st, _, b = req("GET", "/api/calls?limit=500&total=1", cookie=ck)
    ids = {c["id"] for c in b.get("calls", [])} if st == 200 else None
    res.check(ids == red_ids, "scoped search shows red's calls only: %s vs %s"
              % (sorted(ids or []), sorted(red_ids)))
    res.check(st == 200 and b.get("total") in (len(red_ids), None),
              "total never counts other calls: %s" % b.get("total"))
    st, _, b = req("GET", "/api/calls.csv", cookie=ck, raw=True)
    rows = b.decode().strip().splitlines()[1:] if st == 200 else []
    csv_ids = {int(r.split(",")[0]) for r in rows}
    res.check(st == 200 and csv_ids == red_ids, "scoped CSV: %d %s" % (st, sorted(csv_ids)))
    st, _, _ = req("GET", "/api/stats", cookie=ck)
    res.check(st == 403, "the dashboard over every call is refused: %d" % st)

    absent = max(all_ids) + 1000
    cases = (("GET", "/api/calls/%d", None, None),
             ("HEAD", "/api/calls/%d", None, None),
             ("GET", "/api/calls/%d/audio", None, None),
             ("GET", "/api/calls/%d/audio", None, {"Range": "bytes=0-99"}),
             ("GET", "/api/calls/%d/peaks?points=64", None, None),
             ("GET", "/api/calls/%d/verify?quick=1", None, None),
             ("GET", "/api/calls/%d/evidence", None, None),
             ("GET", "/api/calls/%d/sip", None, None),
             ("GET", "/api/calls/%d/pcap", None, None),
             ("GET", "/api/calls/%d/tags", None, None),
             ("GET", "/api/calls/%d/notes", None, None),
             ("POST", "/api/calls/%d/tags", {"tag": "probe"}, hx),
             ("DELETE", "/api/calls/%d/tags/probe", None, hx),
             ("POST", "/api/calls/%d/notes", {"text": "probe"}, hx))
    unexpected = 0
    for method, path, body, hdrs in cases:
        h = dict(hdrs or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        st_in, _, _ = req(method, path % inside["id"], body, h, cookie=ck, raw=True)
        res.check(st_in in (200, 201, 206), "%s %s in scope: %d" % (method, path, st_in))
        got = []
        for cid in (outside["id"], absent):
            st, hh, b = req(method, path % cid, body, h, cookie=ck, raw=True)
            got.append((st, {k: v for k, v in hh.items() if k != "date"}, b))
        (s1, h1, b1), (s2, h2, b2) = got
        if s1 in (200, 201, 206):
            unexpected += 1
        res.check(s1 == s2 == 404 and b1 == b2 and h1 == h2,
                  "%s %s out of scope answers as absent: %d %s / %d %s"
                  % (method, path, s1, b1[:60], s2, b2[:60]))
    st, _, _ = req("POST", "/api/calls/%d/redact" % outside["id"],
                   {"from_ms": 0, "to_ms": 100}, dict(hx, **{"Content-Type": "application/json"}),
                   cookie=ck, raw=True)
    res.check(st == 404, "redact out of scope: %d" % st)
    if st in (200, 201, 202):
        unexpected += 1
    res.check(unexpected == 0, "scoped supervisor: %d unexpected allows" % unexpected)
    # the audit keeps why
    ack, _ = login("admin1")
    st, _, b = req("GET", "/api/audit?user=lead&limit=1000", cookie=ack)
    ents = [e for e in b.get("entries", []) if e["object"] == str(outside["id"])]
    res.check(ents and all(e["outcome"] == "denied" for e in ents),
              "audit: out-of-scope calls are denied (%d entries)" % len(ents))

    # boss: own scope "all" overrides the default; lonely: "teams" without a team
    for name, want in (("boss", all_ids), ("lonely", set())):
        ck2, _ = login(name)
        st, _, b = req("GET", "/api/calls?limit=500", cookie=ck2)
        ids = {c["id"] for c in b.get("calls", [])} if st == 200 else None
        res.check(ids == want, "%s sees %d calls (want %d)" % (name, len(ids or ()), len(want)))
        st, _, _ = req("GET", "/api/calls/%d" % inside["id"], cookie=ck2)
        res.check(st == (200 if want else 404), "%s views a red call: %d" % (name, st))
    # a membership change applies to the next request: blue joins lead's teams
    p = cli("team", "members", "blue", "--add", "lead", "--supervisor")
    res.check(p.returncode == 0, "lead supervises blue too: %s" % p.stderr)
    st, _, b = req("GET", "/api/calls?limit=500", cookie=ck)
    ids = {c["id"] for c in b.get("calls", [])} if st == 200 else None
    res.check(ids == red_ids | blue_ids, "then lead sees red and blue: %s" % sorted(ids or []))
    cli("team", "members", "blue", "--remove", "lead", "--supervisor")


# ---- /api/teams and /api/scopes: admin only ---------------------------------------------
def test_matrix():
    sessions = {n: login(n) for n in ("admin1", "lead", "boss", "red1", "audit1")}
    cases = (("GET", "/api/teams", None),
             ("GET", "/api/teams/red", None),
             ("POST", "/api/teams", {"name": "green"}),
             ("POST", "/api/teams/green/members", {"user": "blue1", "kind": "agent"}),
             ("DELETE", "/api/teams/green/members/blue1", None),
             ("DELETE", "/api/teams/green", None),
             ("GET", "/api/scopes/boss", None),
             ("PUT", "/api/scopes/boss", {"scope": "all"}))
    unexpected, checked = [], 0
    for name in ("lead", "boss", "red1", "audit1", "admin1"):  # admin last: it changes things
        ck, csrf = sessions[name]
        for method, path, body in cases:
            st, _, b = req(method, path, body, {"X-CSRF-Token": csrf}, cookie=ck)
            checked += 1
            want = (200, 201) if name == "admin1" else (403,)
            if st not in want:
                unexpected.append("%s %s %s -> %d %s" % (name, method, path, st, b))
    res.check(not unexpected, "teams role matrix: %d cases, 0 unexpected: %s"
              % (checked, unexpected))
    ck, csrf = sessions["admin1"]
    hx = {"X-CSRF-Token": csrf}
    st, _, b = req("GET", "/api/teams", cookie=ck)
    res.check(st == 200 and b.get("default_scope") == "teams" and
              [t["name"] for t in b.get("teams", [])] == ["blue", "red"] and
              {(m["team"], m["user"], m["kind"]) for m in b.get("members", [])} ==
              {("blue", "blue1", "agent"), ("red", "red1", "agent"), ("red", "lead", "supervisor")},
              "GET /api/teams: %s" % b)
    st, _, b = req("GET", "/api/scopes/lead", cookie=ck)
    res.check(st == 200 and b == {"user": "lead", "scope": "default", "effective": "teams"},
              "scope of lead: %s" % b)
    for method, path, body, want, param in (
            ("POST", "/api/teams", {"name": "../x"}, 400, "name"),
            ("POST", "/api/teams", {"name": "red"}, 409, "name"),
            ("POST", "/api/teams", {"nom": "x"}, 400, "name"),
            ("POST", "/api/teams/red/members", {"user": "boss", "kind": "agent"}, 400, "user"),
            ("POST", "/api/teams/red/members", {"user": "red1", "kind": "boss"}, 400, "user"),
            ("POST", "/api/teams/nosuch/members", {"user": "red1"}, 404, "user"),
            ("DELETE", "/api/teams/red/members/blue1", None, 404, "user"),
            ("DELETE", "/api/teams/nosuch", None, 404, "name"),
            ("PUT", "/api/scopes/lead", {"scope": "some"}, 400, "scope"),
            ("PUT", "/api/scopes/nobody", {"scope": "all"}, 404, "user")):
        st, _, b = req(method, path, body, hx, cookie=ck)
        res.check(st == want and b.get("parameter") == param,
                  "%s %s %s -> %d %s: %d %s" % (method, path, body, want, param, st, b))
    st, _, _ = req("POST", "/api/teams", {"name": "nocsrf"}, cookie=ck)
    res.check(st == 403, "a change without the CSRF token: %d" % st)
    st, _, b = req("PUT", "/api/scopes/lead", {"scope": "all"}, hx, cookie=ck)
    res.check(st == 200 and b.get("effective") == "all", "PUT scope: %s" % b)
    lck, _ = login("lead")
    st, _, b = req("GET", "/api/calls?limit=500", cookie=lck)
    res.check(st == 200 and {c["id"] for c in b["calls"]} == all_ids,
              "lead with scope all sees every call")


try:
    if res.check(http_wait_up(HOST, port, server), "server up"):
        test_scope()
        test_matrix()
finally:
    rc, err = http_stop(server)
    res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
              "server exits cleanly: %s %s" % (rc, err[-300:]))
res.finish()
