"""The login rate limiter over real HTTP (issue #13, finding 11), on
`earshot serve -c FILE` with [api] login_* limits, from several loopback
addresses (127.0.0.2 ... 127.0.0.9 as the source):

a. an attacker's failures for a name from one address do not lock the right
   password out from another address (the pair, not the name, is locked);
b. a parallel burst of wrong logins (threads, more than the server has
   threads) gets at most login_max_failures checked: the rest 429;
c. the per-address limit holds across names, and only for that address;
d. every refusal is audited ("login", outcome "denied", "rate limited").
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import (EARSHOT, Results, earshot, free_port, http_req, http_stop,  # noqa: E402
                    http_wait_up, run, tmpdir)

HOST = "127.0.0.1"
PW = "correct horse battery"
MAX_PAIR, MAX_ADDR = 5, 12
res = Results()
work = tmpdir("earshot-login-")
data = os.path.join(work, "data")
for name, role in (("admin1", "admin"), ("agent1", "agent"), ("agent2", "agent")):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 8\nlogin_max_failures = %d\nlogin_max_failures_address = %d\n"
            "login_window = 5m\nlogin_lockout = 5m\n" % (MAX_PAIR, MAX_ADDR))
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[api]\nlogin_lockout = 10ms\n")
p = run([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, free_port()), "-c", bad],
        check=False, timeout=10)
res.check(p.returncode == 2 and "bad.conf:2" in p.stderr and "login_lockout" in p.stderr,
          "a lockout under a second is refused naming file:line: %d %r" % (p.returncode, p.stderr))

port = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                           "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def login(name, password, source):
    st, h, b = http_req(HOST, port, "POST", "/api/login", {"name": name, "password": password},
                        source=source)
    return st, h


try:
    if not res.check(http_wait_up(HOST, port, server), "server up on %d" % port):
        res.finish()

    # a. someone guesses admin1's password from .2: .2 is locked for admin1,
    # the admin logs in from .3 with the right password
    sts = [login("admin1", "guess-%d" % i, "127.0.0.2")[0] for i in range(MAX_PAIR + 2)]
    res.check(sts == [401] * MAX_PAIR + [429, 429], "guessing from .2: 401 x%d then 429: %s"
              % (MAX_PAIR, sts))
    st, h = login("admin1", PW, "127.0.0.2")
    res.check(st == 429 and int(h.get("retry-after", "0")) > 200,
              "the locked pair is refused even with the right password: %d %s"
              % (st, h.get("retry-after")))
    st, _ = login("admin1", PW, "127.0.0.3")
    res.check(st == 200, "the right password from another address gets in: %d" % st)
    st, _ = login("ADMIN1", PW, "127.0.0.4")
    res.check(st == 200, "in any case of the name: %d" % st)
    st, _ = login("agent1", PW, "127.0.0.2")
    res.check(st == 200, "the attacker's address may still log in as another user: %d" % st)

    # b. a parallel burst: 24 wrong logins at once from .5
    n = 24
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        sts = list(ex.map(lambda i: login("agent2", "burst-%d" % i, "127.0.0.5")[0], range(n)))
    checked = sts.count(401)
    print("burst of %d: %d checked (401), %d refused (429) in %.2f s"
          % (n, checked, sts.count(429), time.monotonic() - t0))
    res.check(0 < checked <= MAX_PAIR and checked + sts.count(429) == n,
              "a burst of %d gets at most %d guesses checked: %d (%s)"
              % (n, MAX_PAIR, checked, sorted(set(sts))))
    st, _ = login("agent2", PW, "127.0.0.6")
    res.check(st == 200, "the burst does not lock agent2 out elsewhere: %d" % st)

    # c. the address's limit across names: 2 guesses each of 6 names from .7
    sts = [login("nobody%d" % (i // 2), "guess-%d" % i, "127.0.0.7")[0]
           for i in range(MAX_ADDR)]
    res.check(sts == [401] * MAX_ADDR, "%d failures over 6 names: all checked: %s"
              % (MAX_ADDR, sts))
    st, _ = login("fresh-name", "guess", "127.0.0.7")
    res.check(st == 429, "then .7 is locked for a new name: %d" % st)
    st, _ = login("agent1", PW, "127.0.0.7")
    res.check(st == 429, "and for a real user's right password: %d" % st)
    st, _ = login("agent1", PW, "127.0.0.8")
    res.check(st == 200, "but not another address: %d" % st)

    # d. the audit log says who was refused and from where
    log = json.loads(earshot(data, "audit", "--action", "login", "--limit", "1000",
                             "--json").stdout)
    denied = [(e["user"], e["remote"]) for e in log if e["outcome"] == "denied"]
    res.check(("admin1", "127.0.0.2") in denied and ("agent2", "127.0.0.5") in denied and
              ("fresh-name", "127.0.0.7") in denied, "refusals audited: %s" % denied[:6])
    res.check(not any(r in ("127.0.0.3", "127.0.0.6", "127.0.0.8") for _, r in denied),
              "no refusal of an address that had not failed")
    v = earshot(data, "audit", "--verify", check=False)
    res.check(v.returncode == 0, "audit --verify: %s" % v.stdout.strip())
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "clean stop: %s" % rc)
    for word in ("runtime error", "AddressSanitizer"):
        res.check(word not in err, "no %s in the server's stderr" % word)
res.finish()
