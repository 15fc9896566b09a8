"""The PostgreSQL index engine end to end, on a throwaway cluster
(estest.PgCluster; skipped without PostgreSQL 15), through EARSHOT_INDEX:
- the shared captures imported into SQLite and into PostgreSQL give the same
  `calls --json` for every filter (party substrings in any case, outcome,
  duration, time range, Call-ID, keyset paging) and the same `show --json`;
- two `earshot import` processes into one database at once lose no call
  and give unique ids;
- test_holds_api.py (users, tokens, the REST API, holds, the ledger) runs
  whole on PostgreSQL;
- `earshot serve` keeps answering after the server restarts under it;
- `earshot verify --all` and `audit --verify` on the PostgreSQL index;
- a password in the URL is never printed.
Runs in the Release half only (pg_* tests are not registered under ASan)."""
import json
import os
import shutil
import subprocess
import sys

from estest import (EARSHOT, SHARED, PgCluster, Results, free_port, http_req, http_stop, http_wait_up,
                    run, skip, tmpdir)

if not os.path.isdir(SHARED):
    skip("../shared/captures not present")

res = Results()
work = tmpdir("earshot-pg-test-")
HERE = os.path.dirname(os.path.abspath(__file__))
captures = sorted(os.path.join(SHARED, f) for f in os.listdir(SHARED)
                  if f.endswith((".pcap", ".pcapng", ".cap")))[:8]


def es(data, index, *args, check=True, **kw):
    env = dict(os.environ)
    env.pop("EARSHOT_INDEX", None)
    if index:
        env["EARSHOT_INDEX"] = index
    return run([EARSHOT, "--data", data] + list(args), check=check, env=env, **kw)


def same(v):
    """v without what differs by data folder, not by engine: the stored
    (encrypted, each folder its own keys) recording's hash and times."""
    if isinstance(v, dict):
        return {k: same(x) for k, x in v.items() if k not in ("sha256", "created")}
    if isinstance(v, list):
        return [same(x) for x in v]
    return v


def first_diff(a, b, path="$"):
    """Where a and b first differ, for the failure's message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return first_diff(a.get(k), b.get(k), "%s.%s" % (path, k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_diff(x, y, "%s[%d]" % (path, i))
    return "%s: SQLite %r, PostgreSQL %r" % (path, a, b) if a != b else ""


def calls(data, index, *filters):
    return same(json.loads(es(data, index, "calls", "--json", *filters).stdout))


with PgCluster() as pg:
    # ---- the same answers from both engines ----------------------------------
    url = pg.fresh()
    lite, pgd = os.path.join(work, "lite"), os.path.join(work, "pg")
    for c in captures:
        es(lite, None, "import", "--no-progress", c, check=False)
        es(pgd, url, "import", "--no-progress", c, check=False)
    res.check(not os.path.exists(os.path.join(pgd, "index.sqlite")),
              "no SQLite file beside a PostgreSQL index")
    everything = calls(lite, None)
    res.check(len(everything) > 5, "the captures gave %d calls" % len(everything))
    filters = [(), ("--party", "sip"), ("--party", "ALICE"), ("--party", "b"), ("--party", "20"),
               ("--party", "%"), ("--party", "no such party"), ("--outcome", "answered"),
               ("--min-duration", "5"), ("--from", "2010-01-01", "--to", "2020-01-01"),
               ("--limit", "3"), ("--limit", "2", "--after", str(everything[2]["id"])),
               ("--call-id", everything[0]["call_id"])]
    for f in filters:
        a, b = calls(lite, None, *f), calls(pgd, url, *f)
        res.check(a == b, "calls %s: the same %d calls from both engines (PostgreSQL %d) %s"
                  % (" ".join(f), len(a), len(b), first_diff(a, b)))
    for c in everything[:6]:
        a = same(json.loads(es(lite, None, "show", "--json", str(c["id"])).stdout))
        b = same(json.loads(es(pgd, url, "show", "--json", str(c["id"])).stdout))
        res.check(a == b, "show %d: the same on both engines %s" % (c["id"], first_diff(a, b)))
    p = es(pgd, url, "verify", "--all", check=False)
    res.check(p.returncode == 0, "verify --all on PostgreSQL: %d %s" % (p.returncode, p.stderr[-300:]))

    # ---- two importers at once -----------------------------------------------
    url2 = pg.fresh()
    d1, d2 = os.path.join(work, "w1"), os.path.join(work, "w2")
    env = dict(os.environ, EARSHOT_INDEX=url2)
    half = len(captures) // 2
    procs = [subprocess.Popen([EARSHOT, "--data", d, "import", "--no-progress"] + cs, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for d, cs in ((d1, captures[:half]), (d2, captures[half:]))]
    for pr in procs:
        out, err = pr.communicate(timeout=300)
        res.check(pr.returncode in (0, 3), "concurrent import exit %d %s" % (pr.returncode, err[-300:]))
    both = calls(d1, url2)
    res.check(len(both) == len(everything),
              "two importers at once: %d calls, as one importer gave %d" % (len(both), len(everything)))
    res.check(len({c["id"] for c in both}) == len(both), "ids unique")
    res.check(sorted((c["call_id"], c["start"]) for c in both)
              == sorted((c["call_id"], c["start"]) for c in everything), "the same calls")

    # ---- existing tests, whole, on PostgreSQL ----------------------------------
    for t in ("test_holds_api.py",):
        env = dict(os.environ, EARSHOT_INDEX=pg.fresh())
        p = subprocess.run([sys.executable, os.path.join(HERE, t)], env=env, capture_output=True,
                           text=True, timeout=600)
        res.check(p.returncode in (0, 77), "%s on PostgreSQL: exit %d\n%s" % (t, p.returncode,
                                                                          (p.stdout + p.stderr)[-2000:]))

    # ---- serve across a server restart -----------------------------------------
    PW = "correct horse battery"
    es(pgd, url, "user", "add", "admin1", "--role", "admin", "--password-stdin", input=PW + "\n")
    tok = json.loads(es(pgd, url, "user", "token", "admin1", "--json").stdout)["token"]
    host, port = "127.0.0.1", free_port()
    srv = subprocess.Popen([EARSHOT, "--data", pgd, "serve", "--listen", "%s:%d" % (host, port)],
                           env=dict(os.environ, EARSHOT_INDEX=url), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        if res.check(http_wait_up(host, port, srv), "serve on PostgreSQL is up"):
            hd = {"Authorization": "Bearer " + tok}
            st, _, b = http_req(host, port, "GET", "/api/calls?party=sip", headers=hd)
            res.check(st == 200 and len(b["calls"]) == len(calls(lite, None, "--party", "sip")),
                      "GET /api/calls: %d" % st)
            pg.restart()
            st, _, b = http_req(host, port, "GET", "/api/calls?party=sip", headers=hd)
            res.check(st == 200, "after the database restarted the next request works: %d" % st)
            st, _, b = http_req(host, port, "GET", "/api/calls/%d" % everything[0]["id"], headers=hd)
            res.check(st == 200, "and the one after: %d" % st)
    finally:
        rc, err = http_stop(srv)
    res.check(rc == 0, "serve stopped cleanly: %s" % rc)
    p = es(pgd, url, "audit", "--verify", check=False)
    res.check(p.returncode == 0, "audit --verify on PostgreSQL: %s" % p.stdout[-200:])

    # ---- no password in any message --------------------------------------------
    bad = "postgresql://earshot:Sup3rS3cret@/nosuchdb?host=%s" % pg.dir
    p = es(pgd, bad, "calls", check=False)
    res.check(p.returncode != 0 and "Sup3rS3cret" not in p.stdout + p.stderr
              and "***" in p.stderr, "a password in the URL is masked: %s" % p.stderr.strip())

shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
