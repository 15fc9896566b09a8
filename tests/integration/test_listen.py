"""Listen-in (issue #18): a call in progress heard from the recorder's spool.

`earshot record -i lo --api` records two sipp calls on loopback whose caller
plays sip-tester's g711a.pcap and whose callee plays a known on/off tone
pattern (listenaudio.py).  While it runs:
  - who may listen: admin, supervisor and an auditor with the listen grant
    get the stream; agents (even on their own call), an auditor without the
    grant, an unknown call and a wrong method do not (0 unexpected allows);
  - GET /api/active/{call_id}/listen, read by Python as it arrives: the WAV
    header's rate and "estm" start, the left channel follows the caller's
    source and the right one the callee's (envelope correlation), each
    sample arrives within 3 s of its capture time (the delay is printed),
    and the stream ends by itself soon after the call;
  - the same in Chromium (tests/browser/listen_test.mjs): the Live page's
    row is clicked, "Listen" pressed, the page's Web Audio tap records what
    it played, and the channels and the delay are checked the same way; the
    page's rows are sorted newest or longest first, and it shows the
    recorder's health (capture drops, recording backlog, disk free), which
    GET /api/active gives the roles that see every call;
  - call.listen_live is audited at start and stop (and each denial), and no
    file under the data folder holds the audio in plain (no RIFF/WAV)."""
import http.client
import json
import os
import subprocess
import threading
import time

import estest
from estest import (BROWSER_DIR, CHROMIUM, EARSHOT, Results, browser_ready, free_port, http_req,
                    http_wait_up, run, skip, tmpdir)
import listenaudio as la
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
LENGTH = 20
MEDIA_S = 19.0
HOST, PORT = "127.0.0.1", free_port()
PW = "correct horse battery"
HERE = os.path.dirname(os.path.abspath(__file__))
PORTS = livecalls.Ports(2)
res = Results()
work = tmpdir("earshot-listen-")
data = os.path.join(work, "data")
ARTIFACTS = os.environ.get("ES_ARTIFACTS", os.path.join(work, "artifacts"))
MAX_DELAY_S = 3.0

USERS = {"adm": ("admin", "", False), "sup": ("supervisor", "", False),
         "ag-own": ("agent", "service", False), "aud": ("auditor", "", False),
         "aud-l": ("auditor", "", True)}
for name, (role, numbers, grant) in USERS.items():
    args = [EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    if grant:
        args += ["--can-listen"]
    run(args, input=PW + "\n")
TOKENS = {n: json.loads(run([EARSHOT, "--data", data, "user", "token", n, "--json"]).stdout)["token"]
          for n in USERS}


def req(path, who="adm", method="GET"):
    st, _, body = http_req(HOST, PORT, method, path, headers={"Authorization": "Bearer " + TOKENS[who]},
                           timeout=10, raw=method != "GET" or not path.endswith("/listen"))
    return st, body


def listen_path(cid):
    return "/api/active/%s/listen" % cid


class Stream:
    """GET .../listen read as it arrives on a thread: (time, bytes) pieces."""

    def __init__(self, cid, who="adm"):
        self.pieces, self.status, self.error = [], None, None
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        self.conn.request("GET", listen_path(cid), headers={"Authorization": "Bearer " + TOKENS[who]})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type")
        self.ended = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                b = self.resp.read1(65536)
                if not b:
                    break
                self.pieces.append((time.time(), b))
            self.ended = time.time()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)

    def close(self):
        self.conn.close()


def analyse(what, rate, start_us, left, right, times, src_caller, src_callee):
    """Channels against the sources; times: [(wall time, samples so far)].
    Returns the delays (s) of each piece's last sample after its capture."""
    el, er = la.envelope(left), la.envelope(right)
    ec, ee = la.envelope(src_caller), la.envelope(src_callee)
    n = min(len(el), len(ec) - 25, len(ee) - 25)
    res.check(n >= 200, "%s: %d frames of 20 ms heard (want 4 s or more)" % (what, n))
    if n < 200:
        return []
    # leave out the first second: the join point may sit inside a frame
    cl, lagl = la.best_match(el[50:n], ec)
    cr, lagr = la.best_match(er[50:n], ee)
    xl, _ = la.best_match(el[50:n], ee)
    xr, _ = la.best_match(er[50:n], ec)
    print("%s: left~caller %.2f (lag %d), right~callee %.2f (lag %d); crossed %.2f / %.2f" %
          (what, cl, lagl, cr, lagr, xl, xr))
    # speech (the caller) matches less tightly than the tone pattern: 20 ms
    # frames may sit up to half a frame off the source's
    res.check(cl > 0.6 and cr > 0.8, "%s: the channels do not follow their sources: left~caller %.2f, "
              "right~callee %.2f" % (what, cl, cr))
    res.check(xl < cl - 0.3 and xr < cr - 0.3, "%s: the channels are not told apart: left~callee %.2f, "
              "right~caller %.2f" % (what, xl, xr))
    delays = [t - (start_us / 1e6 + k / rate) for t, k in times]
    return delays


# --- the recorder and the call -------------------------------------------------
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 2\nweb = %s\n" % os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                            "web"))
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(2),
                         args=["--config", conf, "--api", "%s:%d" % (HOST, PORT),
                               "--rtp-timeout", "3", "--linger", "1"])
rec.start()
if not res.check(http_wait_up(HOST, PORT, rec.proc), "the recorder's web server did not come up:\n" +
                 rec.logtext()[-2000:]):
    rec.stop()
    res.finish()


class ToneCalls(livecalls.Calls):
    """The caller plays sip-tester's pcap, the callee the tone pattern."""

    def _prepare(self):
        super()._prepare()
        self.src_caller = la.pcm_of_pcap(os.path.join(self.work, "media_uac.pcap"))
        self.src_callee = la.tone_pattern(MEDIA_S, seed=18)
        la.write_rtp_pcap(os.path.join(self.work, "media_uas.pcap"), self.src_callee,
                          livecalls.SHIPPED, 0x5EED0A5)


def two_calls(sub):
    """Two calls half a second apart (the Live page's order has two rows to
    sort); returns them and the Call-IDs once both are answered with RTP,
    in the order they started."""
    calls = ToneCalls(os.path.join(work, sub), 2, LENGTH, rate=2, ports=PORTS, media=MEDIA_S)
    calls.start()
    deadline, ids = time.time() + 15, []
    while time.time() < deadline and len(ids) < 2:
        a = http_req(HOST, PORT, "GET", "/api/active",
                     headers={"Authorization": "Bearer " + TOKENS["adm"]})[2]
        got = [c for c in (a or {}).get("calls", []) if c["state"] == "answered" and c["packets"] > 50]
        ids = [c["call_id"] for c in sorted(got, key=lambda c: c["start"])]
        time.sleep(0.2)
    return calls, ids, a


for _ in range(50):
    st, idle = req("/api/active")
    if st == 200 and json.loads(idle)["recorder"]["running"]:
        break
    time.sleep(0.1)

# --- the same in Chromium, started first (it takes a few seconds to come up) ----------------------------------
browser = None
why_no_browser = browser_ready()
if not why_no_browser:
    os.makedirs(ARTIFACTS, exist_ok=True)
    out_json = os.path.join(work, "browser-listen.json")
    browser = subprocess.Popen(
        ["node", os.path.join(BROWSER_DIR, "listen_test.mjs")],
        env=dict(os.environ, ES_URL="http://%s:%d/" % (HOST, PORT), ES_USER="sup", ES_PASSWORD=PW,
                 ES_CHROMIUM=CHROMIUM, ES_OUT=out_json, ES_SHOTS=ARTIFACTS),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the call is placed once the page is up: Chromium may take 10 s or more
    # to start on a loaded machine, the call lasts LENGTH
    browser_out = []
    for line in browser.stdout:
        browser_out.append(line)
        if line.strip() == "READY":
            break
    res.check(browser_out and browser_out[-1].strip() == "READY",
              "the browser did not open the Live page: %s" % "".join(browser_out))
else:
    res.skip("browser listen-in: " + why_no_browser)

calls, cids, active = two_calls("sipp")
res.check(len(cids) == 2, "the calls are not listed as answered with RTP: %s" % active)
if len(cids) != 2:
    rec.stop()
    res.finish()
cid = cids[0]
# the recorder's health for the Live page: for the roles that see every call
h = active.get("health") or {}
res.check(isinstance(h.get("capture_drops"), int) and isinstance(h.get("recording_backlog"), int) and
          h.get("disk_free_bytes", 0) > 0 and h.get("disk_low") is False,
          "health in GET /api/active: %s" % h)
st, ag = req("/api/active", "ag-own")
res.check(st == 200 and "health" not in json.loads(ag), "an agent gets no health: %s" % ag)
time.sleep(2.0)  # join a call that has been running a while: at the live edge

# --- who may listen --------------------------------------------------------------
matrix = {}
for who in USERS:
    s = Stream(cid, who)
    matrix[who] = s.status
    if s.status == 200:
        time.sleep(0.3)
    s.close()
want = {"adm": 200, "sup": 200, "ag-own": 403, "aud": 403, "aud-l": 200}
unexpected = [w for w in USERS if matrix[w] == 200 and want[w] != 200]
res.check(not unexpected and matrix == want, "listen-in per role %s, want %s (unexpected allows: %s)"
          % (matrix, want, unexpected))
st, _ = req(listen_path("no-such-call@nowhere"))
res.check(st == 404, "an unknown call: %s" % st)
st, _ = req(listen_path(cid), method="POST")
res.check(st == 405, "POST: %s" % st)

# --- the stream, read by Python --------------------------------------------------
t_open = time.time()
s = Stream(cid)
res.check(s.status == 200 and s.ctype == "audio/wav", "listen: %s %s" % (s.status, s.ctype))

calls.wait()
t_bye = time.time()
s.thread.join(timeout=20)
res.check(s.ended is not None, "the stream did not end after the call (error %s)" % s.error)
if s.ended:
    print("the stream ended %.1f s after the call's BYE" % (s.ended - t_bye))
    res.check(s.ended - t_bye < 8, "the stream ended %.1f s after the BYE" % (s.ended - t_bye))
buf = b"".join(b for _, b in s.pieces)
hdr = la.parse_live_header(buf)
res.check(hdr is not None and hdr[0] == 8000 and hdr[1] == 2 and hdr[2],
          "the stream's header: %s" % (hdr,))
if hdr:
    rate, ch, start_us, off = hdr
    pcm = [int.from_bytes(buf[i:i + 2], "little", signed=True) for i in range(off, len(buf) - 1, 2)]
    left, right = pcm[0::2], pcm[1::2]
    times, got = [], 0
    for t, b in s.pieces:
        got += len(b)
        if got > off:
            times.append((t, (got - off) // 4))
    print("python: %d samples (%.1f s) from capture time %.3f, joined %.1f s after opening" %
          (len(left), len(left) / rate, start_us / 1e6, start_us / 1e6 - t_open))
    res.check(start_us / 1e6 > t_open - 2, "the stream starts at the live edge, not at the call's "
              "start: sample 0 captured %.1f s before opening" % (t_open - start_us / 1e6))
    delays = analyse("python", rate, start_us, left, right, times, calls.src_caller, calls.src_callee)
    if delays:
        # the last pieces come after the call's end, when the rest is flushed at once
        live = [d for (t, _), d in zip(times, delays) if t < t_bye - 0.5]
        live.sort()
        if live:
            med, worst = live[len(live) // 2], live[-1]
            print("python: delay capture -> received: median %.2f s, max %.2f s over %d pieces" %
                  (med, worst, len(live)))
            res.check(worst <= MAX_DELAY_S, "python: delay up to %.2f s (target %.1f s)" %
                      (worst, MAX_DELAY_S))

if browser is not None:
    try:
        out, err = browser.communicate(timeout=90)
        out = "".join(browser_out) + out
    except subprocess.TimeoutExpired:
        browser.kill()
        out, err = browser.communicate()
        out = "".join(browser_out) + out
    print(out.strip())
    ok = res.check(browser.returncode == 0, "browser listen-in: exit %s\n%s" %
                   (browser.returncode, err[-2000:]))
    if ok:
        b = json.load(open(out_json))
        res.check(b["callId"] in cids, "the browser listened to %s, not %s" % (b["callId"], cids))
        # newest first by default, longest first on request: the same two rows reversed
        res.check(b["order"]["newest"] == cids[::-1] and b["order"]["longest"] == cids,
                  "the Live page's order: %s, calls by start %s" % (b["order"], cids))
        res.check("Capture drops: " in b["health"] and "Recording backlog: " in b["health"] and
                  "Disk free: " in b["health"], "the Live page's health line: %r" % b["health"])
        rate = b["rate"]
        left, right = b["left"], b["right"]  # brought to the stream's rate by the page
        times = [(t / 1000.0, idx) for t, idx in b["played"]]
        delays = analyse("browser", rate, b["startUs"], left, right, times, calls.src_caller,
                         calls.src_callee)
        live = sorted(d for (t, _), d in zip(times, delays) if t < t_bye - 0.5)
        if live:
            med, worst = live[len(live) // 2], live[-1]
            print("browser: delay capture -> played: median %.2f s, max %.2f s over %d buffers" %
                  (med, worst, len(live)))
            res.check(worst <= MAX_DELAY_S, "browser: delay up to %.2f s (target %.1f s)" %
                      (worst, MAX_DELAY_S))

# --- the audit and no plaintext ----------------------------------------------------
time.sleep(1.0)
st, _, au = http_req(HOST, PORT, "GET", "/api/audit?action=call.listen_live&limit=100",
                     headers={"Authorization": "Bearer " + TOKENS["adm"]})
entries = au.get("entries", au.get("audit", [])) if isinstance(au, dict) else []
by = {}
for e in entries:
    by.setdefault((e.get("user"), e.get("outcome")), []).append(e.get("detail") or "")
res.check(st == 200, "audit: %s %s" % (st, au))
starts = [d for d in by.get(("adm", "ok"), []) if d == "start"]
stops = [d for d in by.get(("adm", "ok"), []) if d.startswith("stop")]
res.check(len(starts) >= 2 and len(stops) >= 2 and any("the call ended" in d for d in stops),
          "adm's listen-in audited at start and stop: %s" % by.get(("adm", "ok")))
res.check(by.get(("ag-own", "denied")) and by.get(("aud", "denied")),
          "denials audited: %s" % sorted(by))
plain = []
for root, _, files in os.walk(data):
    for fn in files:
        p = os.path.join(root, fn)
        try:
            with open(p, "rb") as f:
                head = f.read(4)
        except OSError:
            continue
        if head in (b"RIFF", b"OggS", b"fLaC"):
            plain.append(p)
res.check(not plain, "audio in plain under the data folder: %s" % plain)

rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
res.finish()
