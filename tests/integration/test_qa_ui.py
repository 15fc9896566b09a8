#!/usr/bin/env python3
"""QA scorecards, reports and teams in the web UI (issue #18), in Chromium
against a real `earshot serve` over generated calls (gen_calls, imported
with their recordings):
  - tests/browser/qa_test.mjs, at 1366 and 390 px (no sideways scrolling):
    an admin defines a form (two sections, yes/no, scale, N/A, a fatal
    question) and a team (agent1 and super1, super1 scoped to the team) in
    the admin page; super1 scores agent1's call twice while it plays (the
    page's preview equals the score the server stored); agent1 sees both
    evaluations read-only; super1 opens the per-agent report and downloads
    its CSV, whose rows and average match GET /api/reports/qa;
  - tests/browser/qa_roles_test.mjs: agents and auditors see no scoring
    form, no QA report and no QA admin tab; pages they may not use send
    them back to the calls.
Here, afterwards: the evaluations against the API (the browser's answers
scored by the documented rule), the team and scope as the API gives them,
and the audit: qa.form.save, qa.evaluate and the CSV as qa.export."""
import json
import os
import subprocess
import sys
import time

from estest import (BROWSER_DIR, BUILD, CHROMIUM, EARSHOT, Results, browser_ready, calls_json,
                    free_port, http_req, http_stop, http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)
why = browser_ready()
if why:
    skip(why)

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
HOST = "127.0.0.1"
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-qaui-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
# calls long enough to be playing while the page is scored
run([GEN, "-o", pcap, "--seed", "11", "--calls", "3", "--duration", "30"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
call = recorded[0]
mine = call["parties"]["caller"]["user"]
other = next((c for c in recorded if mine not in (c["parties"]["caller"]["user"],
                                                  c["parties"]["callee"]["user"])), None)
for name, role, numbers in (("admin1", "admin", ""), ("super1", "supervisor", ""),
                            ("agent1", "agent", mine), ("audit1", "auditor", "")):
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")

port = free_port(host=HOST)
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def api(method, path, body=None):
    tok = TOKEN
    return http_req(HOST, port, method, path, body, {"Authorization": "Bearer " + tok}, timeout=20)


def node(script, out_json, extra):
    env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, port), UI_PASSWORD=PW,
               UI_CALL=str(call["id"]), UI_OUT=out_json, CHROMIUM=CHROMIUM,
               UI_SHOTS=os.environ.get("ES_ARTIFACTS", os.path.join(work, "shots")), **extra)
    t0 = time.monotonic()
    p = subprocess.run(["node", script], cwd=BROWSER_DIR, env=env, capture_output=True, text=True,
                       timeout=240)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr[-3000:])
    res.check(p.returncode == 0, "%s: exit %d in %.1f s" % (script, p.returncode,
                                                            time.monotonic() - t0))
    try:
        return json.load(open(out_json))
    except (OSError, ValueError):
        return {}


try:
    if not res.check(http_wait_up(HOST, port, server), "server up"):
        res.finish()
    TOKEN = json.loads(run([EARSHOT, "--data", data, "user", "token", "admin1", "--json"]).stdout)["token"]

    b = node("qa_test.mjs", os.path.join(work, "qa.json"), {})
    # the browser's evaluations by the documented rule: q1 yes/no w2 (N/A
    # allowed), q2 scale w3, q3 yes/no w1 fatal
    st, _, ev = api("GET", "/api/calls/%d/evaluations" % call["id"])
    evs = ev.get("evaluations", []) if st == 200 else []
    scores = [e["score"] for e in evs]
    want = [round(100 * (2 + 3 * 3 / 4 + 1) / 6, 2), 0.0]
    res.check(len(evs) == 2 and all(abs(a - w) < 0.005 for a, w in zip(scores, want)) and
              [e["fatal"] for e in evs] == [False, True] and
              all(e["agent"] == "agent1" and e["evaluator"] == "super1" for e in evs),
              "the browser's evaluations: %s (want scores %s, fatal only the second)" %
              ([(e.get("score"), e.get("fatal"), e.get("agent"), e.get("evaluator")) for e in evs],
               want))
    res.check(b.get("preview") == ["%.2f" % w for w in want] and
              b.get("saved") == ["%.2f" % w for w in want],
              "the page's preview and saved scores %s / %s, want %s" %
              (b.get("preview"), b.get("saved"), want))
    res.check(b.get("playedWhileScoring", 0) > 1.0,
              "the player kept playing while scoring: %.2f s" % b.get("playedWhileScoring", 0))
    st, _, f = api("GET", "/api/forms")
    fm = [x for x in f.get("forms", []) if x["name"] == "Support QA"]
    qs = [q for s in fm[0]["sections"] for q in s["questions"]] if fm else []
    res.check(len(fm) == 1 and fm[0]["version"] == 2 and
              [(q["kind"], q["weight"], q["na"], q["fatal"]) for q in qs] ==
              [("yesno", 2, True, False), ("scale", 3, False, False), ("yesno", 1, False, True)],
              "the form the browser defined (and edited once): %s" % fm)
    st, _, t = api("GET", "/api/teams/red")
    res.check(st == 200 and sorted((m["user"], m["kind"]) for m in t.get("members", [])) ==
              [("agent1", "agent"), ("super1", "supervisor")], "team red: %s" % t)
    st, _, sc = api("GET", "/api/scopes/super1")
    res.check(st == 200 and sc.get("scope") == "teams", "super1's scope: %s" % sc)
    res.check(b.get("csv", {}).get("rows") == 2 and b["csv"].get("match") is True,
              "the CSV against the report: %s" % b.get("csv"))
    res.check(b.get("sideways") == [], "sideways scrolling: %s" % b.get("sideways"))

    r = node("qa_roles_test.mjs", os.path.join(work, "roles.json"),
             {"UI_OTHER_CALL": str(other["id"]) if other else ""})
    res.check(r.get("unexpected") == [], "controls a role cannot use: %s" % r.get("unexpected"))

    st, _, au = api("GET", "/api/audit?action=qa.&limit=1000")
    acts = [(e["user"], e["action"], e["outcome"]) for e in au.get("entries", [])]
    for need in (("admin1", "qa.form.save", "ok"), ("super1", "qa.evaluate", "ok"),
                 ("super1", "qa.export", "ok"), ("agent1", "qa.view", "ok")):
        res.check(need in acts, "audited: %s" % (need,))
    exp = [e for e in au.get("entries", []) if e["action"] == "qa.export"]
    res.check(exp and exp[-1]["detail"].startswith("csv: 2 evaluations"),
              "the CSV's export entry: %s" % exp[-1:])
finally:
    rc, err = http_stop(server)
    res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
              "server exits cleanly: %s %s" % (rc, err[-300:]))
res.finish()
