"""The calls in progress over the API: `earshot record --api` (the web
server inside the recorder) lists live sipp calls at GET /api/active while
they run: state, codec, packets growing, one row per call; an agent sees
only calls with one of their numbers; once the calls end the list is empty
and the calls are found by GET /api/calls of the same server.  After the
recorder stops, a separate `earshot serve` says no recorder runs; a stale
or damaged list is not shown as live, and the server stays up.  The web
UI's live page is checked in a real browser (tests/browser/live_test.mjs)."""
import http.client
import json
import os
import shutil
import subprocess
import time

from estest import (BROWSER_DIR, CHROMIUM, EARSHOT, Results, browser_ready, free_port, http_req,
                    http_wait_up, run, skip, tmpdir)
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
CALLS, LENGTH = 4, 9
PORTS = livecalls.Ports(CALLS)
HOST, PORT = "127.0.0.1", free_port()
PW = "correct horse battery"
HERE = os.path.dirname(os.path.abspath(__file__))
res = Results()
work = tmpdir("earshot-active-")
data = os.path.join(work, "data")
ARTIFACTS = os.environ.get("ES_ARTIFACTS", os.path.join(work, "artifacts"))

USERS = {"adm": ("admin", ""), "ag-own": ("agent", "service"), "ag-other": ("agent", "1234"),
         "aud": ("auditor", "")}
for name, (role, numbers) in USERS.items():
    args = [EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run(args, input=PW + "\n")
TOKENS = {n: json.loads(run([EARSHOT, "--data", data, "user", "token", n, "--json"]).stdout)["token"]
          for n in USERS}


def req(path, who="adm", port=PORT):
    st, _, body = http_req(HOST, port, "GET", path, headers={"Authorization": "Bearer " + TOKENS[who]},
                           timeout=10)
    return st, body


def wait_up(port, proc):
    return http_wait_up(HOST, port, proc)


# [api] in the configuration names the web folder (the build may be
# anywhere); --api gives the address and turns the server on.
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 2\nweb = %s\n" % os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                            "web"))
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(CALLS),
                         args=["--config", conf, "--api", "%s:%d" % (HOST, PORT),
                               "--rtp-timeout", "3", "--linger", "1"])
rec.start()
if not res.check(wait_up(PORT, rec.proc), "the web server of earshot record did not come up; "
                 "log:\n" + rec.logtext()[-2000:]):
    rec.stop()
    res.finish()
res.check("listening on http://127.0.0.1:%d" % PORT in rec.logtext(),
          "record must print the server's URL:\n" + rec.logtext()[-800:])
for _ in range(50):  # the first list is written when the recorder's loop starts
    st, idle = req("/api/active")
    if idle["recorder"]["running"]:
        break
    time.sleep(0.1)
res.check(st == 200 and idle["recorder"]["running"] and idle["calls"] == [],
          "before the calls: %s %s" % (st, idle))

calls = livecalls.Calls(os.path.join(work, "sipp"), CALLS, LENGTH, rate=10, ports=PORTS)
calls.start()
# poll while the calls run: two snapshots a few seconds apart
snaps = []
deadline = time.time() + LENGTH + 5
while time.time() < deadline and len(snaps) < 2:
    st, a = req("/api/active")
    if st == 200 and len(a["calls"]) == CALLS and all(c["state"] == "answered" and c["packets"] > 0
                                                      for c in a["calls"]):
        snaps.append(a)
        if len(snaps) == 1:
            shutil.copy(os.path.join(data, "run", "active.tsv"), os.path.join(work, "active.tsv"))
            views = {who: req("/api/active", who) for who in USERS}
            time.sleep(3)
            continue
    time.sleep(0.3)
res.check(len(snaps) == 2, "expected %d answered calls with RTP listed twice during the calls; "
          "last answer %s %s" % (CALLS, st, a))
if len(snaps) == 2:
    first = {c["call_id"]: c for c in snaps[0]["calls"]}
    second = {c["call_id"]: c for c in snaps[1]["calls"]}
    res.check(len(first) == CALLS and set(first) == set(second),
              "the same %d Call-IDs in both lists: %s / %s" % (CALLS, sorted(first), sorted(second)))
    for cid, c in second.items():
        p = first.get(cid)
        res.check(c["codec"] == "PCMA" and c["streams"] == 2 and c["source"] == "live" and
                  c["recording"] is True and c["caller"]["user"] == "sipp" and
                  c["callee"]["user"] == "service" and c["answer"] and c["start"],
                  "call %s: %s" % (cid, c))
        res.check(p is not None and c["packets"] >= p["packets"] + 2 * 50 and
                  c["duration_s"] > p["duration_s"] + 2,
                  "call %s: packets %s -> %s, duration %s -> %s over 3 s" %
                  (cid, p and p["packets"], c["packets"], p and p["duration_s"], c["duration_s"]))
        res.check(c["lost"] == 0 and c["duration_s"] < LENGTH + 2, "call %s: %s" % (cid, c))
    # who sees what: own-call rule for agents, everything for admins and auditors
    counts = {who: (st_, len(v["calls"]) if v else None) for who, (st_, v) in views.items()}
    res.check(counts == {"adm": (200, CALLS), "ag-own": (200, CALLS), "ag-other": (200, 0),
                         "aud": (200, CALLS)}, "calls seen per user: %s" % counts)

calls.wait()
res.check(calls.successful() == CALLS, "sipp: %s of %d calls" % (calls.successful(), CALLS))
rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 30)
time.sleep(1.5)
st, after = req("/api/active")
res.check(st == 200 and after["recorder"]["running"] and after["calls"] == [],
          "after the calls: %s %s" % (st, after))
st, found = req("/api/calls?party=service")
res.check(st == 200 and len(found["calls"]) == CALLS and all(c["recording"] for c in found["calls"]),
          "the calls over the same server: %s %s" % (st, found and len(found.get("calls", []))))
st, me = req("/api/calls?party=service", "ag-other")
res.check(st == 200 and me["calls"] == [], "an agent without these numbers: %s %s" % (st, me))

# the live page in a real browser, while the recorder runs
why_no_browser = browser_ready()
if not why_no_browser:
    live2 = livecalls.Calls(os.path.join(work, "sipp2"), 2, 25, rate=10, ports=PORTS)
    live2.start()
    time.sleep(2)
    os.makedirs(ARTIFACTS, exist_ok=True)
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, "live_test.mjs")],
                       env=dict(os.environ, ES_URL="http://%s:%d/" % (HOST, PORT),
                                ES_USER="adm", ES_PASSWORD=PW, ES_CHROMIUM=CHROMIUM,
                                ES_WANT_CALLS="2", ES_SHOTS=ARTIFACTS),
                       capture_output=True, text=True, timeout=120)
    res.check(p.returncode == 0, "browser live page: exit %d\n%s%s" % (p.returncode, p.stdout,
                                                                       p.stderr[-2000:]))
    print(p.stdout.strip())
    live2.wait()
else:
    res.skip("browser live page: " + why_no_browser)

rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
res.check(not os.path.exists(os.path.join(data, "run", "active.tsv")),
          "a stopped recorder leaves no list of calls in progress")

# a separate server: no recorder; then a stale list; then a damaged one
PORT2 = free_port()
# ([api] listen and [earshot] data from the configuration, no options)
conf2 = os.path.join(work, "serve.conf")
with open(conf2, "w") as f:
    f.write("[earshot]\ndata = %s\n[api]\nlisten = %s:%d\nthreads = 2\n" % (data, HOST, PORT2))
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[api]\nlisten = 127.0.0.1\n")
p = subprocess.run([EARSHOT, "serve", "-c", bad], capture_output=True, text=True, timeout=20)
res.check(p.returncode == 2 and "bad.conf:2: listen" in p.stderr,
          "a bad [api] listen: exit %d, %s" % (p.returncode, p.stderr.strip()))
serve = subprocess.Popen([EARSHOT, "serve", "-c", conf2], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
try:
    res.check(wait_up(PORT2, serve), "earshot serve did not start")
    st, a = req("/api/active", port=PORT2)
    res.check(st == 200 and not a["recorder"]["running"] and a["calls"] == [] and
              a["recorder"]["problem"] == "no recorder is running", "no recorder: %s %s" % (st, a))
    active = os.path.join(data, "run", "active.tsv")
    shutil.copy(os.path.join(work, "active.tsv"), active)  # written during the calls, now old
    time.sleep(0.1)
    st, a = req("/api/active", port=PORT2)
    # the copy is only seconds old if the test ran fast: age it by rewriting the header
    text = open(active).read().split("\n", 1)
    head = text[0].split("\t")
    head[2] = str(int(time.time() * 1e6) - 60 * 1000000)
    with open(active, "w") as f:
        f.write("\t".join(head) + "\n" + text[1])
    st, a = req("/api/active", port=PORT2)
    res.check(st == 200 and not a["recorder"]["running"] and a["calls"] == [] and
              "out of date" in (a["recorder"]["problem"] or ""), "a stale list: %s %s" % (st, a))
    head[2] = str(int(time.time() * 1e6))
    with open(active, "w") as f:
        f.write("\t".join(head) + "\n" + text[1])
    st, a = req("/api/active", port=PORT2)
    res.check(st == 200 and a["recorder"]["running"] and len(a["calls"]) == CALLS,
              "a fresh list read by another process: %s %s" % (st, a and len(a["calls"])))
    with open(active, "w") as f:
        f.write("\t".join(head) + "\n" + text[1][:len(text[1]) // 2])
    st, a = req("/api/active", port=PORT2)
    res.check(st == 200 and not a["recorder"]["running"] and a["calls"] == [] and
              "unreadable" in (a["recorder"]["problem"] or ""), "a torn list: %s %s" % (st, a))
    st, _ = req("/api/active?x=1", port=PORT2)
    res.check(st == 400, "an unknown parameter: %s" % st)
    c = http.client.HTTPConnection(HOST, PORT2, timeout=10)
    c.request("GET", "/api/active")
    st = c.getresponse().status
    c.close()
    res.check(st == 401, "without credentials: %s" % st)
    st, log = req("/api/audit?action=active.list&limit=1000", port=PORT2)
    res.check(st == 200 and len(log["entries"]) >= 10,
              "every listing is audited: %s %s" % (st, log and len(log.get("entries", []))))
    res.check(serve.poll() is None, "earshot serve is still up")
finally:
    serve.terminate()
    serve.wait(timeout=10)
res.finish()
