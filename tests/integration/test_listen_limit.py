"""Listen-in streams per user (issue #18): GET /api/active/{call}/listen
is limited to [api] listen_streams_per_user streams open at once per user
(default 2), with real concurrent streams of a live sipp call recorded by
`earshot record -i lo --api`:
  - a supervisor opens two streams (200, audio flowing) and a third is
    refused 429 too_many_streams, its message naming the setting; an
    admin's stream meanwhile is 200 (the limit is per user, not global);
  - the supervisor closes one (the client disconnects): a new one is 200
    within a few seconds (the slot is given back);
  - the call ends, ending the streams while the client keeps its
    connections: on the next call two new streams are 200 again;
  - the refusal is audited (call.listen_live, failed, "too many streams");
  - the setting is checked at start: 0 or a word is refused naming it."""
import http.client
import json
import os
import threading
import time

import estest
from estest import EARSHOT, Results, free_port, http_req, http_wait_up, run, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
HOST, PORT = "127.0.0.1", free_port()
PW = "correct horse battery"
PORTS = livecalls.Ports(1)
res = Results()
work = tmpdir("earshot-listen-limit-")
data = os.path.join(work, "data")
for name, role in (("adm", "admin"), ("sup", "supervisor")):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
TOKENS = {n: json.loads(run([EARSHOT, "--data", data, "user", "token", n, "--json"]).stdout)["token"]
          for n in ("adm", "sup")}


class Stream:
    """GET .../listen held open and read on a thread until the server ends it."""

    def __init__(self, cid, who):
        self.got, self.ended = 0, False
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        self.conn.request("GET", "/api/active/%s/listen" % cid,
                          headers={"Authorization": "Bearer " + TOKENS[who]})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.body = b""
        if self.status != 200:
            self.body = self.resp.read()
            self.conn.close()
            return
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            while True:
                b = self.resp.read1(65536)
                if not b:
                    break
                self.got += len(b)
            self.ended = True
        except Exception:  # noqa: BLE001 - closed by the test
            pass

    def close(self):
        self.conn.close()


def call_in_progress(sub, length):
    calls = livecalls.Calls(os.path.join(work, sub), 1, length, rate=1, ports=PORTS)
    calls.start()
    deadline = time.time() + 15
    while time.time() < deadline:
        a = http_req(HOST, PORT, "GET", "/api/active",
                     headers={"Authorization": "Bearer " + TOKENS["adm"]})[2]
        got = [c for c in (a or {}).get("calls", []) if c["state"] == "answered" and c["packets"] > 20]
        if got:
            return calls, got[0]["call_id"]
        time.sleep(0.2)
    return calls, None


def open_until(cid, who, want, within):
    """A stream opened again until it is answered want (or time is up)."""
    deadline = time.time() + within
    while True:
        s = Stream(cid, who)
        if s.status == want or time.time() > deadline:
            return s
        s.close()
        time.sleep(0.2)


# the setting is checked when the server starts
for bad in ("0", "two"):
    conf = os.path.join(work, "bad.conf")
    with open(conf, "w") as f:
        f.write("[api]\nlisten_streams_per_user = %s\n" % bad)
    p = run([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, free_port()), "-c", conf],
            check=False, timeout=20)
    res.check(p.returncode != 0 and "listen_streams_per_user" in p.stderr,
              "listen_streams_per_user = %s refused naming it: %d %r" % (bad, p.returncode,
                                                                      p.stderr[-300:]))

conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 4\n")  # the default limit: 2 streams per user
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(1),
                         args=["--config", conf, "--api", "%s:%d" % (HOST, PORT),
                               "--rtp-timeout", "3", "--linger", "1"])
rec.start()
if not res.check(http_wait_up(HOST, PORT, rec.proc), "the recorder's web server did not come up:\n" +
                 rec.logtext()[-2000:]):
    rec.stop()
    res.finish()
for _ in range(50):
    st, _, a = http_req(HOST, PORT, "GET", "/api/active",
                        headers={"Authorization": "Bearer " + TOKENS["adm"]})
    if st == 200 and a["recorder"]["running"]:
        break
    time.sleep(0.1)

streams = []
try:
    calls, cid = call_in_progress("one", 12)
    if not res.check(cid is not None, "no call in progress"):
        raise SystemExit
    a, b = Stream(cid, "sup"), Stream(cid, "sup")
    streams += [a, b]
    res.check(a.status == 200 and b.status == 200, "two streams of one user: %d %d" %
              (a.status, b.status))
    c = Stream(cid, "sup")
    err = json.loads(c.body or b"{}") if c.status != 200 else {}
    res.check(c.status == 429 and err.get("error") == "too_many_streams" and
              "listen_streams_per_user = 2" in err.get("message", ""),
              "a third stream of the same user: %d %s" % (c.status, c.body[:300]))
    if c.status == 200:
        streams.append(c)
    d = Stream(cid, "adm")
    streams.append(d)
    res.check(d.status == 200, "another user's stream meanwhile: %d %s" % (d.status, d.body[:200]))
    # both listeners' threads are running; on a loaded machine the second
    # may take a moment longer to get its first chunk from the spool
    deadline = time.time() + 10
    while time.time() < deadline and not (a.got > 8000 and b.got > 8000):
        time.sleep(0.2)
    res.check(a.got > 8000 and b.got > 8000, "audio flows on both streams: %d, %d bytes" %
              (a.got, b.got))
    t0 = time.time()
    a.close()
    e = open_until(cid, "sup", 200, 5.0)
    streams.append(e)
    res.check(e.status == 200, "a stream after closing one: %d %s" % (e.status, e.body[:200]))
    print("a slot came back %.2f s after the client closed its stream" % (time.time() - t0))

    calls.wait()
    deadline = time.time() + 15
    while time.time() < deadline and not (b.ended and e.ended):
        time.sleep(0.2)
    res.check(b.ended and e.ended, "the streams end with the call (client connections kept open)")
    calls2, cid2 = call_in_progress("two", 6)
    if res.check(cid2 is not None, "no second call in progress"):
        f_, g = open_until(cid2, "sup", 200, 3.0), Stream(cid2, "sup")
        streams += [f_, g]
        res.check(f_.status == 200 and g.status == 200,
                  "after the streams ended with the call, two new ones: %d %d" % (f_.status, g.status))
        calls2.wait()
finally:
    for s in streams:
        s.close()

time.sleep(0.5)
st, _, au = http_req(HOST, PORT, "GET", "/api/audit?action=call.listen_live&limit=200",
                     headers={"Authorization": "Bearer " + TOKENS["adm"]})
ents = au.get("entries", []) if st == 200 else []
res.check(any(x["user"] == "sup" and x["outcome"] == "failed" and
              "too many streams: 2 open, 2 allowed" in (x.get("detail") or "") for x in ents),
          "the refusal is audited: %s" % [(x["user"], x["outcome"], x["detail"]) for x in ents])
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
res.finish()
