"""The README's main command: `make demo` imports the bundled example,
lists and verifies it, and ends with the web server running on it.  Run
here as `make -o build demo` on the build under test (the build step is the
test run's own), on a free port of 127.0.0.1 and a scratch data folder: the output
says the URL and the demo login, the page is served, the demo user logs in
with the printed password and finds the example's calls; Ctrl-C (SIGINT)
stops it with exit 0."""
import http.client
import json
import os
import re
import signal
import subprocess
import time

from estest import BUILD, Results, free_port, tmpdir

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HOST, PORT = "127.0.0.1", free_port()
res = Results()
work = tmpdir("earshot-demo-")
data = os.path.join(work, "demo-data")
log = open(os.path.join(work, "make-demo.log"), "w+")
p = subprocess.Popen(["make", "--no-print-directory", "-o", "build", "demo",
                      "BUILD=" + os.path.abspath(BUILD), "DEMO_DATA=" + data,
                      "DEMO_LISTEN=%s:%d" % (HOST, PORT)],
                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def output():
    log.flush()
    with open(log.name) as f:
        return f.read()


url = password = None
deadline = time.time() + 120
while time.time() < deadline and p.poll() is None:
    m = re.search(r"The web UI: (http://\S+)\s+log in as demo, password (\S+)", output())
    if m and "listening on" in output():
        url, password = m.group(1), m.group(2)
        break
    time.sleep(0.2)
if not res.check(url == "http://%s:%d/" % (HOST, PORT) and password,
                 "make demo must end serving and say the URL and login:\n" + output()[-3000:]):
    os.killpg(p.pid, signal.SIGKILL)
    res.finish()
text = output()
res.check(re.search(r"\b[1-9]\d* recordings checked, 0 findings", text) is not None,
          "the demo verifies its recordings:\n" + text[-1500:])


def req(method, path, body=None, cookie=None):
    c = http.client.HTTPConnection(HOST, PORT, timeout=10)
    h = {"Content-Type": "application/json"} if body is not None else {}
    if cookie:
        h["Cookie"] = cookie
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    b = r.read()
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, hdrs, b


st, _, page = req("GET", "/")
res.check(st == 200 and b"app.js" in page, "GET / serves the web UI: %d" % st)
st, h, b = req("POST", "/api/login", {"name": "demo", "password": password})
cookie = h.get("set-cookie", "").split(";")[0]
res.check(st == 200 and cookie.startswith("earshot_session="), "demo login: %d %s" % (st, b[:200]))
st, _, b = req("GET", "/api/calls?limit=100", cookie=cookie)
calls = json.loads(b).get("calls", []) if st == 200 else []
res.check(st == 200 and len(calls) >= 3 and any(c.get("recording") for c in calls),
          "the example's calls with recordings: %d, %d calls" % (st, len(calls)))
os.killpg(p.pid, signal.SIGINT)
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    rc = p.wait()
# make reports the server's SIGINT exit as its own; the server says it stopped
res.check("SIGINT, stopping" in output(), "Ctrl-C stops the server cleanly (make exit %s):\n%s" %
          (rc, output()[-800:]))
print("make demo: %d calls served at %s, demo login ok" % (len(calls), url))
res.finish()
