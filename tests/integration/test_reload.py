"""SIGHUP reloads the recording rules of a running `earshot record`: with a
configuration that skips every call, live sipp calls are indexed with the
flag not_recorded and no recording; after the file is changed to record
them and SIGHUP is sent, the next calls are recorded under the new rule;
a broken file on SIGHUP keeps the rules in force.  Every call keeps the
name of the rule that decided."""
import http.client
import json
import os
import signal
import time

from estest import EARSHOT, Results, calls_json, free_port, run, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
CALLS = 5
PORTS = livecalls.Ports(CALLS)
res = Results()
work = tmpdir("earshot-reload-")
data = os.path.join(work, "data")
conf = os.path.join(work, "earshot.conf")


def write_conf(text):
    with open(conf, "w") as f:
        f.write(text)


write_conf("[earshot]\nlog_level = info\n[recording]\ndefault = skip\n[rule nobody]\naction = skip\n")
# The web server inside the recorder shows the rules in force (GET /api/rules).
API = ("127.0.0.1", free_port())
run([EARSHOT, "--data", data, "user", "add", "adm", "--role", "admin", "--password-stdin"],
    input="reload-test-pw\n")
TOKEN = json.loads(run([EARSHOT, "--data", data, "user", "token", "adm", "--json"]).stdout)["token"]


def api_rules():
    """The names of the rules GET /api/rules shows, in order."""
    c = http.client.HTTPConnection(*API, timeout=10)
    c.request("GET", "/api/rules", headers={"Authorization": "Bearer " + TOKEN})
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    return r.status, [x.get("name") for x in body.get("rules", [])]


rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(CALLS),
                         args=["--config", conf, "--rtp-timeout", "3", "--linger", "1",
                               "--api", "%s:%d" % API])
rec.start()
if not res.check(rec.wait_status(20) is not None, "no status.json; log:\n" + rec.logtext()[-2000:]):
    rec.stop()
    res.finish()


def batch(name):
    calls = livecalls.Calls(os.path.join(work, name), CALLS, 4, rate=10, ports=PORTS)
    calls.start()
    calls.wait()
    res.check(calls.successful() == CALLS, "%s: sipp %s of %d calls" % (name, calls.successful(),
                                                                       CALLS))
    rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 20)
    time.sleep(1.5)


res.check(api_rules() == (200, ["nobody"]), "the rules over the API at start: %s" % (api_rules(),))
batch("before")
write_conf("[recording]\ndefault = skip\n[rule everyone]\naction = record\nnumber = *\n")
rec.proc.send_signal(signal.SIGHUP)
time.sleep(1)
res.check(api_rules() == (200, ["everyone"]), "the rules over the API after SIGHUP: %s" %
          (api_rules(),))
batch("after")
write_conf("[rule broken]\naction = maybe\n")
rec.proc.send_signal(signal.SIGHUP)
time.sleep(1)
res.check(api_rules() == (200, ["everyone"]), "a broken file keeps the rules shown: %s" %
          (api_rules(),))
batch("broken")
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
log = rec.logtext()
res.check("reloaded" in log and "not reloaded" in log,
          "the log must say what SIGHUP did:\n" + log[-1500:])

got = sorted(calls_json(data), key=lambda c: c["start"])
res.check(len(got) == 3 * CALLS, "%d calls indexed, expected %d" % (len(got), 3 * CALLS))
for i, c in enumerate(got):
    want_rule = "nobody" if i < CALLS else "everyone"
    want_rec = i >= CALLS
    res.check(c["rule"] == want_rule and ("not_recorded" in c["flags"]) != want_rec and
              (c["recording"] is not None) == want_rec,
              "call %d: rule %r flags %r recording %s; expected rule %s, recorded %s" %
              (i, c["rule"], c["flags"], c["recording"] is not None, want_rule, want_rec))
print("%d calls: %d skipped by 'nobody', %d recorded by 'everyone' after SIGHUP (the broken "
      "file kept the rules)" % (len(got), sum(1 for c in got if c["rule"] == "nobody"),
                                sum(1 for c in got if c["rule"] == "everyone")))
res.finish()
