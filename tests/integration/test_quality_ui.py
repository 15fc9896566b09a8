"""Quality at a glance (issues #17/#18) against a real `earshot serve` on a
free port, over generated calls with known loss (bench/gen_calls: 6 calls
with 5 % bursty loss, 24 clean ones):

- the API: GET /api/calls?total=1 counts with one query (an agent gets the
  count only when one page holds all its calls), GET /api/stats agrees with
  the call list (calls, answered, MOS bands, the worst call = sort=mos's
  first), saved searches (GET/POST/DELETE /api/searches) are per user, and
  the role matrix over the new endpoints for every role, anonymous and
  without the CSRF header shows 0 unexpected allows;
- the browser (tests/browser/quality_ui.mjs, Chromium at 1366 and 390 px):
  the quality columns with their words, sorting by MOS with a click on the
  heading, page size, the Call-ID field, the total, a saved search's round
  trip, the call page's graphs of a call with loss, and the dashboard's
  numbers equal to the API's (skipped, not failed, without node or chromium).
"""
import os
import subprocess
import sys

from estest import (BUILD, CHROMIUM, EARSHOT, Results, browser_ready, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)
HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
DAY = ("2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z")  # gen_calls' calls start 09:00Z
USERS = {"admin1": ("admin", False), "sup1": ("supervisor", False), "agent1": ("agent", False),
         "audit1": ("auditor", False), "audit2": ("auditor", True)}

res = Results()
work = tmpdir("earshot-quality-ui-")
data = os.path.join(work, "data")
for name, seed, n, args in (("lossy", 21, 6, ["--loss", "5", "--burst", "2"]), ("clean", 22, 24, [])):
    pcap = os.path.join(work, name + ".pcap")
    run([GEN, "-o", pcap, "--seed", str(seed), "--calls", str(n), "--duration", "15"] + args)
    p, _ = import_capture(data, pcap)
    if p.returncode != 0:
        raise RuntimeError("import %s: %s" % (name, p.stderr))
for name, (role, listen) in USERS.items():
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
        + (["--can-listen"] if listen else []), input=PW + "\n")
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def req(method, path, body=None, cookie=None, csrf=None):
    return http_req(HOST, PORT, method, path, body=body, cookie=cookie,
                    headers={"X-CSRF-Token": csrf} if csrf else None)


def login(name):
    st, h, b = req("POST", "/api/login", {"name": name, "password": PW})
    ck = h.get("set-cookie", "").split(";")[0].split("=", 1)[-1]
    return ck, b.get("csrf")


def api_checks():
    sess = {n: login(n) for n in USERS}
    ck, _ = sess["sup1"]
    st, _, allc = req("GET", "/api/calls?limit=500", cookie=ck)
    calls = allc["calls"]
    res.check(st == 200 and len(calls) == 30, "30 calls indexed: %d" % len(calls))
    # ---- total ------------------------------------------------------------------------
    st, _, b = req("GET", "/api/calls?limit=5&total=1", cookie=ck)
    res.check(st == 200 and b.get("total") == 30 and len(b["calls"]) == 5,
              "total=1: 30 with a page of 5: %s" % b.get("total"))
    st, _, b = req("GET", "/api/calls?limit=5", cookie=ck)
    res.check("total" not in b, "no total unless asked")
    st, _, b = req("GET", "/api/calls?limit=5&total=1&min_loss=2", cookie=ck)
    lossy = [c for c in calls if c["quality"] and c["quality"]["loss_pct"] >= 2]
    res.check(b.get("total") == len(lossy) > 0, "total with min_loss=2: %s want %d"
              % (b.get("total"), len(lossy)))
    st, _, b = req("GET", "/api/calls?total=yes", cookie=ck)
    res.check(st == 400 and b.get("parameter") == "total", "total=yes -> 400 naming total")
    # an agent's total: only its own calls, never the index's count
    ack, _ = sess["agent1"]
    st, _, b = req("GET", "/api/calls?total=1", cookie=ack)
    res.check(st == 200 and b["calls"] == [] and b.get("total") == 0,
              "agent without numbers: total 0, not 30: %s" % b.get("total"))
    # ---- stats agree with the call list -------------------------------------------------
    q = "from=%s&to=%s" % DAY
    st, _, s = req("GET", "/api/stats?" + q, cookie=ck)
    res.check(st == 200, "stats: %d %s" % (st, s if st != 200 else ""))
    if st == 200:
        answered = sum(1 for c in calls if c["outcome"] == "answered")
        res.check(s["calls"] == 30 and s["answered"] == answered and
                  sum(b["calls"] for b in s["bins"]) == 30 and s["bin_s"] == 3600,
                  "stats: calls %d answered %d per hour" % (s["calls"], s["answered"]))
        res.check(sum(s["outcomes"].values()) == 30, "outcomes add up: %s" % s["outcomes"])
        lims = [(b["band"], b["mos_from"]) for b in s["mos_bands"]]
        want = {}
        for c in calls:
            if c["quality"]:
                band = next(n for n, lo in lims if c["quality"]["mos"] >= lo)
                want[band] = want.get(band, 0) + 1
        got = {b["band"]: b["calls"] for b in s["mos_bands"] if b["calls"]}
        res.check(got == want, "MOS bands from the calls' MOS: %s want %s" % (got, want))
        st, _, w = req("GET", "/api/calls?sort=mos&limit=10&" + q, cookie=ck)
        res.check([c["id"] for c in s["worst_calls"]] == [c["id"] for c in w["calls"]],
                  "worst calls = sort=mos's first page")
        res.check(s["worst_routes"] and s["worst_routes"][0]["mos_avg"] ==
                  min(r["mos_avg"] for r in s["worst_routes"] if r["with_quality"]),
                  "worst route first")
    for bad in ("from=2026-01-16&to=2026-01-15", "from=2026-01-01&to=2026-06-01", "from=x",
                "period=1"):
        st, _, b = req("GET", "/api/stats?" + bad, cookie=ck)
        res.check(st == 400, "stats?%s -> 400: %d" % (bad, st))
    # ---- the role matrix over the new endpoints -------------------------------------------
    # stats: the roles that search every call (api.h: admin, supervisor, auditor);
    # searches: every signed-in user, their own only
    STATS = {"admin": True, "supervisor": True, "agent": False, "auditor": True}
    ua = cells = 0
    ids = {}
    for name, (role, _) in USERS.items():
        ck, csrf = sess[name]
        st, _, _ = req("GET", "/api/stats?" + q, cookie=ck)
        cells += 1
        ua += st == 200 and not STATS[role]
        res.check((st == 200) == STATS[role] and (st == 200 or st == 403), "%s stats: %d" % (name, st))
        st, _, b = req("POST", "/api/searches", {"name": "mine", "query": "max_mos=3.9&sort=mos"},
                       cookie=ck, csrf=csrf)
        res.check(st == 201 and [x["name"] for x in b["searches"]] == ["mine"],
                  "%s saves a search: %d %s" % (name, st, b))
        ids[name] = b["searches"][0]["id"] if st == 201 else 0
        st, _, b = req("POST", "/api/searches", {"name": "nocsrf", "query": ""}, cookie=ck)
        cells += 1
        ua += st in (200, 201)
        res.check(st == 403, "%s save without CSRF -> 403: %d" % (name, st))
    for name in USERS:
        ck, csrf = sess[name]
        st, _, b = req("GET", "/api/searches", cookie=ck)
        cells += 1
        mine = [x["id"] for x in b.get("searches", [])]
        ua += any(i != ids[name] for i in mine)
        res.check(st == 200 and mine == [ids[name]], "%s lists only its own: %s" % (name, mine))
        for other in USERS:
            if other == name:
                continue
            st, _, _ = req("DELETE", "/api/searches/%d" % ids[other], cookie=ck, csrf=csrf)
            cells += 1
            ua += st == 200
            res.check(st == 404, "%s deletes %s's search -> 404: %d" % (name, other, st))
    for method, path, body in (("GET", "/api/stats", None), ("GET", "/api/searches", None),
                               ("POST", "/api/searches", {"name": "a", "query": ""}),
                               ("DELETE", "/api/searches/%d" % ids["sup1"], None)):
        st, _, _ = req(method, path, body)
        cells += 1
        ua += st < 400
        res.check(st == 401, "anonymous %s %s -> 401: %d" % (method, path, st))
    ck, csrf = sess["sup1"]
    for body, param in (({"name": "", "query": ""}, "name"), ({"name": "x" * 81, "query": ""}, "name"),
                        ({"name": "a", "query": "cursor=5"}, "query"),
                        ({"name": "a", "query": "evil=1"}, "query"),
                        ({"name": "a", "query": "party=<script>"}, "query"),
                        ({"name": "a"}, "query"), ({"name": "a", "query": "", "x": 1}, "body")):
        st, _, b = req("POST", "/api/searches", body, cookie=ck, csrf=csrf)
        res.check(st == 400 and b.get("parameter") == param, "bad search %r -> 400 %s: %d %s"
                  % (body, param, st, b.get("parameter")))
    st, _, b = req("DELETE", "/api/searches/%d" % ids["sup1"], cookie=ck, csrf=csrf)
    res.check(st == 200 and b["searches"] == [], "sup1 deletes its own: %d" % st)
    res.check(ua == 0, "new endpoints: unexpected allows: %d" % ua)
    print("role matrix (stats, searches): %d cells, %d unexpected allows" % (cells, ua))
    return calls


try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        calls = api_checks()
        why = browser_ready()
        if why:
            print("browser part skipped: %s" % why)
        else:
            worst = min((c for c in calls if c["quality"]), key=lambda c: c["quality"]["mos"])
            env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_USER="sup1",
                       UI_AGENT="agent1", UI_PASSWORD=PW, UI_CALL=str(worst["id"]),
                       UI_CALL_ID=calls[3]["call_id"], UI_FROM=DAY[0], UI_TO=DAY[1],
                       UI_OUT=os.path.join(work, "screenshots"), CHROMIUM=CHROMIUM)
            p = subprocess.run(["node", "quality_ui.mjs"], cwd=BROWSER_DIR, env=env,
                               capture_output=True, text=True, timeout=240)
            sys.stdout.write(p.stdout)
            sys.stderr.write(p.stderr)
            res.check(p.returncode == 0, "quality at a glance in the browser")
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "serve exited %s: %s" % (rc, err[-500:]))
res.finish()
