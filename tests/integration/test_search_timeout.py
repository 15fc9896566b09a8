"""[index] search_timeout over real HTTP and the CLI (issue #16): a search
that walks every call of a 12,000-call index (a 2-letter party that
matches none: no trigram, so both engines test each call; ~30-80 ms here)

a. under `search_timeout = 1ms` is answered 503 `search_timeout` with the
   limit in the message, its page and its total=1 count alike, and the
   server goes on answering;
b. under the default (10 s) answers 200, no calls;
c. `earshot calls --timeout 0.001` stops with exit code 9 and a message
   naming the limit; without --timeout it answers; a bad --timeout is a
   usage error (2);
d. a search_timeout out of range is refused at start, naming file:line.

Runs on PostgreSQL too (pg_integ_test_search_timeout: statement_timeout).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, INDEX_ENGINE, Results, earshot, free_port,  # noqa: E402
                    http_req, http_stop, http_wait_up, index_url, run, tmpdir)

HOST = "127.0.0.1"
PW = "correct horse battery"
NEEDLE = "qx"  # in no generated name, number or URI
res = Results()
work = tmpdir("earshot-stimeout-")
data = os.path.join(work, "data")
gen = [os.path.join(BUILD, "gen_index"), "--data", data, "--calls", "500", "--copies", "24"]
if INDEX_ENGINE == "pg":
    gen += ["--index", index_url(data)]
run(gen)
run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input=PW + "\n")


def conf(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def serve(config):
    port = free_port()
    args = [EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port)]
    if config:
        args += ["-c", config]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not http_wait_up(HOST, port, p):
        res.check(False, "server up: %s" % (http_stop(p),))
        res.finish()
    st, h, _ = http_req(HOST, port, "POST", "/api/login", {"name": "admin1", "password": PW})
    cookie = None
    for part in h.get("set-cookie", "").split(";"):
        if part.strip().startswith("earshot_session="):
            cookie = part.strip().split("=", 1)[1]
    res.check(st == 200 and cookie, "login: %d" % st)
    return p, port, cookie


# d. out of range: refused at start, naming the file and line
bad = conf("bad.conf", "[api]\nthreads = 2\n[index]\nsearch_timeout = 2h\n")
p = run([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, free_port()), "-c", bad],
        check=False, timeout=20)
res.check(p.returncode == 2 and "bad.conf:4" in p.stderr and "search_timeout" in p.stderr,
          "search_timeout = 2h refused naming file:line: %d %r" % (p.returncode, p.stderr))

# a. a 1 ms limit stops the walk
server, port, cookie = serve(conf("tiny.conf", "[index]\nsearch_timeout = 1ms\n"))
try:
    for q in ("", "&total=1", "&limit=5&total=1"):
        st, _, b = http_req(HOST, port, "GET", "/api/calls?party=%s%s" % (NEEDLE, q),
                            cookie=cookie)
        res.check(st == 503 and isinstance(b, dict) and b.get("error") == "search_timeout"
                  and "1 ms" in b.get("message", ""),
                  "party=%s%s under 1 ms: 503 search_timeout naming the limit: %d %r"
                  % (NEEDLE, q, st, b))
    st, _, b = http_req(HOST, port, "GET", "/api/calls.csv?party=%s" % NEEDLE, cookie=cookie)
    res.check(st == 503 and isinstance(b, dict) and b.get("error") == "search_timeout",
              "the CSV of the same search: 503 search_timeout: %d" % st)
    st, _, b = http_req(HOST, port, "GET", "/api/me", cookie=cookie)
    res.check(st == 200, "the server answers after the stopped searches: %d" % st)
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))

# b. the default limit (10 s): the same search answers
server, port, cookie = serve(None)
try:
    st, _, b = http_req(HOST, port, "GET", "/api/calls?party=%s&total=1" % NEEDLE, cookie=cookie)
    res.check(st == 200 and b.get("calls") == [] and b.get("total") == 0,
              "under the default limit: 200, no calls, total 0: %d %r" % (st, b))
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-300:]))

# c. the CLI
p = earshot(data, "calls", "--party", NEEDLE, "--timeout", "0.001", check=False)
res.check(p.returncode == 9 and "limit of 1 ms" in p.stderr and "--timeout" in p.stderr,
          "earshot calls --timeout 0.001: exit 9 naming the limit: %d %r"
          % (p.returncode, p.stderr))
p = earshot(data, "calls", "--party", NEEDLE, "--json", check=False)
res.check(p.returncode == 0 and p.stdout.strip() == "[]",
          "earshot calls without --timeout (10 s): exit 0, []: %d %r" % (p.returncode, p.stderr))
p = earshot(data, "calls", "--party", NEEDLE, "--timeout", "soon", check=False)
res.check(p.returncode == 2 and "--timeout" in p.stderr,
          "--timeout soon: usage error: %d %r" % (p.returncode, p.stderr))
res.finish()
