#!/usr/bin/env python3
"""QA scorecards (issue #18) over the REST API of a real `earshot serve`:
forms (admin only, versioned: an evaluation keeps the version it was scored
with), evaluations with their score arithmetic written out here from the
documented rule (weights, scale 1..5, N/A left out of both sums, a fatal
"no" zeroes the score), bad answers refused naming the field, the role
matrix of the new endpoints (0 unexpected allows; an agent reads their own
call's evaluations and nobody else's), the report (count, average, weeks,
agents, lowest questions; CSV), a scoped supervisor's report limited to
their teams' agents, and the audit entries."""
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
work = tmpdir("earshot-qa-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "9", "--calls", "6", "--duration", "6"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
mine = recorded[0]["parties"]["caller"]["user"]
own = [c for c in calls if mine in (c["parties"]["caller"]["user"], c["parties"]["callee"]["user"])]
foreign = next(c for c in calls if c not in own)
for name, role, numbers in (("admin1", "admin", ""), ("super1", "supervisor", ""),
                            ("lead", "supervisor", ""), ("agent1", "agent", mine),
                            ("audit1", "auditor", "")):
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")
earshot(data, "team", "add", "red")
earshot(data, "team", "scope", "lead", "teams")

port = free_port(host=HOST)
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

FORM = {"name": "Support QA", "sections": [
    {"title": "Opening", "questions": [
        {"id": "q1", "text": "Greets by name", "kind": "yesno", "weight": 2, "na": True},
        {"id": "q2", "text": "Tone", "kind": "scale", "weight": 3}]},
    {"title": "Compliance", "questions": [
        {"id": "q3", "text": "Verifies identity", "kind": "yesno", "weight": 1, "fatal": True},
        {"id": "q4", "text": "Resolution", "kind": "scale", "weight": 4, "na": True}]}]}
WEIGHT = {"q1": 2, "q2": 3, "q3": 1, "q4": 4}
KIND = {"q1": "yesno", "q2": "scale", "q3": "yesno", "q4": "scale"}


def expect(answers):
    """(score, fatal, {q: (earned, possible)}) by the documented rule"""
    per = {}
    for q, a in answers.items():
        if a == "na":
            per[q] = (0, 0)
        elif KIND[q] == "yesno":
            per[q] = (WEIGHT[q] if a == "yes" else 0, WEIGHT[q])
        else:
            per[q] = (WEIGHT[q] * (a - 1) / 4, WEIGHT[q])
    fatal = answers.get("q3") == "no"
    e, p = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    return (0 if fatal else 100 * e / p), fatal, per


EVALS = ({"q1": "yes", "q2": 4, "q3": "yes", "q4": "na"},
         {"q1": "na", "q2": 1, "q3": "yes", "q4": 5},
         {"q1": "yes", "q2": 5, "q3": "no", "q4": 5})


def req(method, path, body=None, sess=None, raw=False):
    ck, csrf = sess or (None, None)
    h = {"X-CSRF-Token": csrf} if csrf else {}
    return http_req(HOST, port, method, path, body, h, ck, raw=raw, timeout=20)


def login(name):
    st, h, b = http_req(HOST, port, "POST", "/api/login", {"name": name, "password": PW})
    ck = next((x.strip().split("=", 1)[1] for x in h.get("set-cookie", "").split(";")
               if x.strip().startswith("earshot_session=")), None)
    return ck, b.get("csrf")


def main():
    s = {n: login(n) for n in ("admin1", "super1", "lead", "agent1", "audit1")}
    unexpected = []

    def deny(who, method, path, body=None, want=(403,)):
        st, _, b = req(method, path, body, s[who])
        if st not in want:
            unexpected.append("%s %s %s -> %d %s" % (who, method, path, st, b))

    # forms: admin only; anybody signed in reads them
    for who in ("super1", "agent1", "audit1"):
        deny(who, "POST", "/api/forms", FORM)
    st, _, f1 = req("POST", "/api/forms", FORM, s["admin1"])
    res.check(st == 201 and f1.get("version") == 1 and len(f1.get("sections", [])) == 2,
              "form saved as version 1: %d %s" % (st, f1))
    for body, param in (({"name": "x", "sections": []}, "sections"),
                        ({"name": "", "sections": FORM["sections"]}, "name"),
                        (dict(FORM, extra=1), "body"),
                        ({"name": "x", "sections": [{"title": "t", "questions": [
                            {"id": "a", "text": "t", "kind": "scale", "fatal": True}]}]}, "questions"),
                        ({"name": "x", "sections": [{"title": "t", "questions": [
                            {"id": "a", "text": "t", "kind": "yesno"},
                            {"id": "a", "text": "u", "kind": "yesno"}]}]}, "questions"),
                        ({"name": "x", "sections": [{"title": "t", "questions": [
                            {"id": "a", "text": "t", "kind": "yesno", "weight": -1}]}]}, "questions")):
        st, _, b = req("POST", "/api/forms", body, s["admin1"])
        res.check(st == 400 and b.get("parameter") == param,
                  "bad form -> 400 %s: %d %s" % (param, st, b))
    st, _, b = req("GET", "/api/forms", None, s["agent1"])
    res.check(st == 200 and [f["id"] for f in b.get("forms", [])] == [f1["id"]],
              "forms readable by an agent: %s" % b)

    call = own[0]["id"]
    path = "/api/calls/%d/evaluations" % call
    for who in ("agent1", "audit1"):
        deny(who, "POST", path, {"form": f1["id"], "answers": EVALS[0]})
    deny("lead", "POST", path, {"form": f1["id"], "answers": EVALS[0]}, want=(404,))  # no team yet
    for ans, param in (({"q1": "yes", "q2": 4, "q3": "yes"}, "answers"),       # q4 missing
                       ({"q1": "yes", "q2": "na", "q3": "yes", "q4": 1}, "answers"),  # na not allowed
                       ({"q1": "yes", "q2": 6, "q3": "yes", "q4": 1}, "answers"),
                       ({"q1": "maybe", "q2": 2, "q3": "yes", "q4": 1}, "answers"),
                       ({"q1": "yes", "q2": 2, "q3": "yes", "q4": 1, "q9": "yes"}, "answers"),
                       ({"q1": "na", "q2": 2, "q3": "yes", "q4": 1}, None)):
        body = {"form": f1["id"], "answers": ans}
        if param is None:
            body = {"form": 99999, "answers": ans}
            param = "form"
        st, _, b = req("POST", path, body, s["super1"])
        res.check(st == 400 and b.get("parameter") == param,
                  "bad evaluation -> 400 %s: %d %s" % (param, st, b))
    for body in ([1, 2], {"form": f1["id"], "answers": EVALS[0], "x": 1}):
        st, _, b = req("POST", path, body, s["super1"])
        res.check(st == 400 and b.get("parameter") == "body",
                  "evaluation body %r -> 400 body: %d %s" % (body, st, b))
    got = []
    for i, ans in enumerate(EVALS):
        who = "super1" if i < 2 else "admin1"
        st, _, b = req("POST", path, {"form": f1["id"], "answers": ans, "comment": "c%d" % i},
                       s[who])
        ev = b.get("evaluations", [])[-1] if st == 201 else {}
        got.append(ev)
        want, fatal, per = expect(ans)
        res.check(st == 201 and abs(ev.get("score", -1) - want) < 0.01 and
                  ev.get("fatal") == fatal and ev.get("agent") == "agent1" and
                  ev.get("form_version") == 1,
                  "evaluation %d: score %s (want %.2f), fatal %s, agent %s" %
                  (i, ev.get("score"), want, ev.get("fatal"), ev.get("agent")))
        ok = all(abs(a["earned"] - per[a["question"]][0]) < 0.001 and
                 abs(a["possible"] - per[a["question"]][1]) < 0.001 for a in ev.get("answers", []))
        res.check(ok and len(ev.get("answers", [])) == 4, "evaluation %d answers: %s" %
                  (i, ev.get("answers")))
    # a new version of the form; the old evaluations keep version 1
    form2 = json.loads(json.dumps(FORM))
    form2["sections"][0]["questions"][1]["weight"] = 5
    st, _, f2 = req("POST", "/api/forms", form2, s["admin1"])
    res.check(st == 201 and f2.get("version") == 2 and f2["id"] != f1["id"], "version 2: %s" % f2)
    st, _, b = req("GET", path, None, s["agent1"])
    res.check(st == 200 and [e["form_version"] for e in b.get("evaluations", [])] == [1, 1, 1],
              "the agent reads their call's evaluations, still of version 1: %s" %
              [e.get("form_version") for e in b.get("evaluations", [])])
    deny("agent1", "GET", "/api/calls/%d/evaluations" % foreign["id"], want=(404,))
    deny("agent1", "GET", "/api/reports/qa")
    deny("audit1", "GET", "/api/reports/qa")

    # the report over agent1
    st, _, rep = req("GET", "/api/reports/qa?agent=agent1", None, s["super1"])
    scores = [expect(a)[0] for a in EVALS]
    res.check(st == 200 and rep.get("count") == 3 and
              abs(rep.get("average", 0) - sum(scores) / 3) < 0.01,
              "report count/average: %s %s (want %.2f)" % (rep.get("count"), rep.get("average"),
                                                          sum(scores) / 3))
    res.check(len(rep.get("weeks", [])) == 1 and rep["weeks"][0]["count"] == 3 and
              rep["weeks"][0]["week"].startswith("2") and "T00:00:00" in rep["weeks"][0]["week"], "weeks: %s" % rep.get("weeks"))
    res.check([(a["agent"], a["count"]) for a in rep.get("agents", [])] == [("agent1", 3)],
              "agents: %s" % rep.get("agents"))
    pct = {}
    for q in WEIGHT:
        e = p_ = 0
        for a in EVALS:
            pe = expect(a)[2][q]
            e, p_ = e + pe[0], p_ + pe[1]
        pct[q] = 100 * e / p_
    want_low = sorted(pct, key=lambda q: (pct[q], q))
    res.check([x["question"] for x in rep.get("lowest", [])] == want_low and
              all(abs(x["average"] - pct[x["question"]]) < 0.01 for x in rep.get("lowest", [])),
              "lowest questions %s (want %s)" % (rep.get("lowest"), [(q, round(pct[q], 2))
                                                                    for q in want_low]))
    st, h, csv = req("GET", "/api/reports/qa?agent=agent1&format=csv", None, s["super1"], raw=True)
    lines = csv.decode().strip().splitlines() if st == 200 else []
    res.check(st == 200 and h.get("content-type", "").startswith("text/csv") and len(lines) == 4
              and lines[0].startswith("id,created,call,agent"), "report CSV: %d %s" % (st, lines))
    # a scoped supervisor: nothing before their team has agent1, then agent1's
    st, _, b = req("GET", "/api/reports/qa", None, s["lead"])
    res.check(st == 200 and b.get("count") == 0, "scoped lead without a team: %s" % b.get("count"))
    earshot(data, "team", "members", "red", "--add", "agent1")
    earshot(data, "team", "members", "red", "--add", "lead", "--supervisor")
    st, _, b = req("GET", "/api/reports/qa", None, s["lead"])
    res.check(st == 200 and b.get("count") == 3, "scoped lead with red: %s" % b.get("count"))
    st, _, b = req("POST", path, {"form": f2["id"], "answers": EVALS[0]}, s["lead"])
    res.check(st == 201 and b["evaluations"][-1]["form_version"] == 2,
              "lead scores a red call with version 2: %d" % st)
    res.check(not unexpected, "QA role matrix: 0 unexpected: %s" % unexpected)
    # audit
    st, _, b = req("GET", "/api/audit?action=qa.&limit=1000", None, s["admin1"])
    ents = b.get("entries", []) if st == 200 else []
    ok = [e for e in ents if e["action"] == "qa.evaluate" and e["outcome"] == "ok"]
    res.check(len(ok) == 4 and all("score" in e["detail"] for e in ok),
              "every evaluation audited: %d" % len(ok))
    res.check(any(e["action"] == "qa.evaluate" and e["outcome"] == "denied" for e in ents) and
              any(e["action"] == "qa.form.save" for e in ents) and
              any(e["action"] == "qa.view" for e in ents) and
              any(e["action"] == "qa.report" for e in ents), "denials, forms, reads audited")
    # the CSV leaves the system: audited as an export, with its row count
    exp = [e for e in ents if e["action"] == "qa.export"]
    res.check(len(exp) == 1 and exp[0]["user"] == "super1" and exp[0]["object"] == "agent1" and
              exp[0]["detail"].startswith("csv: 3 evaluations"), "the CSV audited as qa.export: %s" % exp)


try:
    if res.check(http_wait_up(HOST, port, server), "server up"):
        main()
finally:
    rc, err = http_stop(server)
    res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
              "server exits cleanly: %s %s" % (rc, err[-300:]))
res.finish()
