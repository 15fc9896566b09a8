"""Alerts end to end (docs/ALERTS.md): `earshot record -i lo` with an
[alert NAME] for one-way audio and a webhook to a real HTTP receiver this
test starts (http.server on a free port).

1. A sipp call whose UAS sends no audio raises the one-way alert to the
   receiver while the call still runs, within 15 s of the answer (the delay
   is measured and printed).
2. The receiver stops; three more one-way calls raise their events, which
   wait in the outbox (status.json counts them); earshot is restarted while
   the receiver is still down.
3. The receiver starts again: every event of DATA/alerts/events.jsonl that
   went to the webhook arrives exactly once by id, each with a valid
   X-Earshot-Signature (HMAC-SHA256 of the body with the secret), and the
   outbox is empty.  status.json's "alerts" counters agree; /metrics shows
   earshot_alert_deliveries_total and passes `promtool check metrics`;
   GET /api/alerts lists the events newest first and the configured alert
   (no secret) to an admin, and refuses an agent."""
import json
import os
import time

import subprocess

import estest
from webhook import Receiver
from estest import EARSHOT, Results, have, http_req, http_wait_up, run, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

SECRET = "test-secret-0123456789abcdef"
THRESHOLD = 4  # seconds of one-way audio before the alert
LENGTH = 8.0  # seconds from ACK to BYE


class OneWayCalls(livecalls.Calls):
    """livecalls.Calls, but the UAS answers and sends no audio."""

    def _prepare(self):
        super()._prepare()
        path = os.path.join(self.work, "uas.xml")
        xml = open(path).read()
        start = xml.index("  <nop>")
        end = xml.index("</nop>", start) + len("</nop>\n")
        with open(path, "w") as f:
            f.write(xml[:start] + xml[end:])


# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
res = Results()
work = tmpdir("earshot-alerts-")
data = os.path.join(work, "data")
ports = livecalls.Ports(8)
hook_port, api_port = estest.free_port(), estest.free_port()
PW = "correct horse battery"
TOKENS = {}
for name, role in (("adm", "admin"), ("ag", "agent")):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
        + (["--numbers", "1234"] if role == "agent" else []), input=PW + "\n")
    TOKENS[name] = json.loads(run([EARSHOT, "--data", data, "user", "token", name, "--json"])
                              .stdout)["token"]
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[alerts]\nwebhook = http://127.0.0.1:%d/hook\nsecret = %s\nretry_max = 2s\n"
            "timeout = 2s\n\n[alert oneway]\ncondition = one_way\nthreshold = %ds\n"
            "severity = critical\n" % (hook_port, SECRET, THRESHOLD))
# a bad section stops the recorder at start, naming file, line and key
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[alert x]\ncondition = one_way\nthreshold = soon\n")
p = subprocess.run([EARSHOT, "--data", data, "record", "-i", "lo", "-c", bad],
                   capture_output=True, text=True, timeout=30)
res.check(p.returncode == 2 and bad + ":3" in p.stderr and "threshold" in p.stderr,
          "a bad [alert] section: exit %d, %s" % (p.returncode, p.stderr[-500:]))

rx = Receiver(hook_port, SECRET, json_body=False).start()
rec = livecalls.Recorder(EARSHOT, data, ports.bpf(8),
                         args=["-c", conf, "--linger", "1", "--api", "127.0.0.1:%d" % api_port])
rec.start()
if not res.check(rec.wait_status(20) is not None,
                 "no status.json within 20 s; log:\n" + open(rec.logpath).read()[-3000:]):
    rec.stop()
    res.finish()

# --- 1. one call, the callee silent: the alert while it runs --------------
calls = OneWayCalls(os.path.join(work, "sipp1"), 1, LENGTH, rate=10, ports=ports)
calls.start()
t_start = calls.started
deadline = t_start + LENGTH + 5
while not rx.got and time.time() < deadline:
    time.sleep(0.1)
arrived = rx.got[0]["t"] if rx.got else None
running = calls.finished is None and arrived is not None and arrived < t_start + LENGTH
uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
if res.check(arrived is not None, "no webhook within %.0f s; log:\n%s"
             % (LENGTH + 5, open(rec.logpath).read()[-3000:])):
    delay = arrived - t_start
    print("one-way alert: at the receiver %.2f s after the call started (threshold %d s), "
          "while the call ran: %s" % (delay, THRESHOLD, running))
    res.check(delay < 15, "the one-way alert came %.1f s after the call started" % delay)
    res.check(running, "the one-way alert came after the call ended")
    ev = json.loads(rx.got[0]["body"])
    # the condition began value seconds before the event was raised
    began = ev["time_us"] / 1e6 - ev.get("value", 0)
    print("one-way alert: %.2f s from the condition's start (the answer) to the receiver, "
          "%.2f s from raising to the receiver" % (arrived - began, arrived - ev["time_us"] / 1e6))
    res.check(arrived - began < 15, "%.1f s from the condition's start" % (arrived - began))
    res.check(rx.got[0]["sig_ok"], "bad X-Earshot-Signature on %s" % ev.get("id"))
    res.check(ev.get("id") == rx.got[0]["id"], "X-Earshot-Event %s, body id %s"
              % (rx.got[0]["id"], ev.get("id")))
    res.check(ev.get("alert") == "oneway" and ev.get("condition") == "one_way"
              and ev.get("severity") == "critical" and ev.get("scope") == "call",
              "event %s" % ev)
    res.check((ev.get("fields") or {}).get("silent_party") == "callee",
              "silent party %s" % ev.get("fields"))
    res.check((ev.get("value") or 0) >= THRESHOLD, "value %s" % ev.get("value"))
    res.check(bool((ev.get("call") or {}).get("call_id")), "no call id in %s" % ev)
time.sleep(1)
res.check(len(rx.got) == 1, "%d events for one call: %s" % (len(rx.got), [g["body"] for g in rx.got]))

# --- 2. the receiver down: three calls, then a restart of earshot ----------
rx.stop()
calls = OneWayCalls(os.path.join(work, "sipp2"), 3, LENGTH, rate=10, ports=ports)
calls.start()
calls.wait()
st = rec.wait_until(lambda s: (s.get("alerts") or {}).get("outbox", 0) >= 3, 10)
al = (st or {}).get("alerts") or {}
res.check(al.get("outbox", 0) >= 3 and al.get("failed", 0) >= 1,
          "status.json alerts while the receiver is down: %s" % al)
outbox = os.path.join(data, "alerts", "outbox")
waiting = sorted(n for n in os.listdir(outbox) if n.endswith(".json"))
res.check(len(waiting) == 3, "outbox holds %s" % waiting)
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s after SIGTERM" % rc)
rec.start()
res.check(rec.wait_status(20) is not None, "no status after the restart")

# --- 3. the receiver back: each event once, signed ------------------------
rx.start()
st = rec.wait_until(lambda s: (s.get("alerts") or {}).get("delivered", 0) >= 3, 20)
time.sleep(1.5)
sent = []
with open(os.path.join(data, "alerts", "events.jsonl")) as f:
    for line in f:
        sent.append(json.loads(line)["id"])
ids = [g["id"] for g in rx.got]
res.check(len(sent) == 4, "events.jsonl has %d events, want 4" % len(sent))
res.check(sorted(ids) == sorted(sent), "received ids %s, raised %s" % (ids, sent))
res.check(len(set(ids)) == len(ids), "an event came twice: %s" % ids)
res.check(all(g["sig_ok"] for g in rx.got), "a bad signature among %d events" % len(rx.got))
res.check(all(json.loads(g["body"])["id"] == g["id"] for g in rx.got), "id header != body id")
left = [n for n in os.listdir(outbox) if n.endswith(".json")]
res.check(not left, "outbox still holds %s" % left)
al = (rec.status() or {}).get("alerts") or {}
res.check(al.get("delivered") == 3 and al.get("outbox") == 0,
          "status.json alerts after the restart: %s" % al)

# --- the API and /metrics of the same recorder ------------------------------
res.check(http_wait_up("127.0.0.1", api_port, rec.proc), "no API after the restart")
st, _, body = http_req("127.0.0.1", api_port, "GET", "/api/alerts?limit=10",
                       headers={"Authorization": "Bearer " + TOKENS["adm"]}, timeout=10)
res.check(st == 200, "GET /api/alerts: %s %s" % (st, body))
if st == 200:
    got_ids = [e.get("id") for e in body.get("alerts", [])]
    res.check(got_ids == list(reversed(sent)), "GET /api/alerts ids %s, want newest first %s"
              % (got_ids, sent))
    confd = body.get("configured") or []
    res.check(len(confd) == 1 and confd[0].get("name") == "oneway"
              and confd[0].get("condition") == "one_way" and confd[0].get("threshold") == THRESHOLD,
              "configured alerts %s" % confd)
    res.check(SECRET not in json.dumps(body), "the secret is shown by GET /api/alerts")
st, _, body = http_req("127.0.0.1", api_port, "GET", "/api/alerts",
                       headers={"Authorization": "Bearer " + TOKENS["ag"]}, timeout=10)
res.check(st == 403, "an agent got GET /api/alerts: %s" % st)
st, _, body = http_req("127.0.0.1", api_port, "GET", "/api/alerts?limit=0",
                       headers={"Authorization": "Bearer " + TOKENS["adm"]}, timeout=10)
res.check(st == 400, "limit=0: %s" % st)
time.sleep(1.2)  # status.json after the last delivery
st, _, text = http_req("127.0.0.1", api_port, "GET", "/metrics", raw=True, timeout=10)
text = text.decode() if isinstance(text, bytes) else text
res.check('earshot_alert_deliveries_total{action="webhook",result="delivered"} 3' in text,
          "/metrics lacks the deliveries: %s" % [l for l in text.splitlines() if "alert" in l])
if have("promtool"):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    res.check(p.returncode == 0, "promtool check metrics: %s %s" % (p.stdout[-600:], p.stderr[-600:]))
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
rx.stop()
res.finish()
