"""System alerts of a SIPREC recorder (docs/ALERTS.md): `earshot srs` with
[alert NAME] sections for SIPREC refusals (a refused INVITE), free disk
(a threshold no disk is under: it always holds) and a backlog that never
builds, with syslog and the UI as actions and no webhook.  Each alert that
holds is raised once (de-duplicated per alert over its interval), lands in
DATA/alerts/events.jsonl with no outbox file (no webhook action), and is
counted in status.json; the one that does not hold is not raised."""
import json
import os
import time

from estest import EARSHOT, Results, skip, tmpdir
import siprec_peer

if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

res = Results()
work = tmpdir("earshot-alerts-sys-")
data = os.path.join(work, "data")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[alert refused]\ncondition = srs_refusals\nthreshold = 0\nactions = syslog, ui\n\n"
            "[alert disk]\ncondition = disk_free\nthreshold = 1000000G\ninterval = 1h\n\n"
            "[alert backlog]\ncondition = backlog\nthreshold = 1000\n")
srs = siprec_peer.Srs(EARSHOT, data, rtp_pairs=10, args=["-c", conf])
try:
    if not res.check(srs.start(), "earshot srs did not start: " + srs.logtail()):
        res.finish()
    c = siprec_peer.SipClient(srs.addr)
    try:
        c.request("INVITE", timeout=1)  # no SIPREC metadata: refused
    finally:
        c.close()
    log = os.path.join(data, "alerts", "events.jsonl")
    deadline = time.time() + 10
    events = []
    while time.time() < deadline:
        try:
            with open(log) as f:
                events = [json.loads(l) for l in f if l.strip()]
        except OSError:
            events = []
        if {e["alert"] for e in events} >= {"refused", "disk"}:
            break
        time.sleep(0.2)
    time.sleep(2.5)  # more seconds of checks: nothing is raised twice
    with open(log) as f:
        events = [json.loads(l) for l in f if l.strip()]
    by = {}
    for e in events:
        by.setdefault(e["alert"], []).append(e)
    res.check(len(by.get("refused", [])) == 1 and len(by.get("disk", [])) == 1 and "backlog" not in by,
              "events by alert: %s" % {k: len(v) for k, v in by.items()})
    r = by.get("refused", [{}])[0]
    res.check(r.get("condition") == "srs_refusals" and r.get("scope") == "system" and
              r.get("value", 0) >= 1 and r.get("call") is None, "refusal event %s" % r)
    d = by.get("disk", [{}])[0]
    res.check(d.get("condition") == "disk_free" and d.get("fields", {}).get("folder") == data,
              "disk event %s" % d)
    outbox = os.path.join(data, "alerts", "outbox")
    res.check(not [n for n in os.listdir(outbox) if n.endswith(".json")],
              "no webhook action, yet the outbox holds %s" % os.listdir(outbox))
    with open(os.path.join(data, "run", "status.json")) as f:
        al = json.load(f).get("alerts") or {}
    res.check(al.get("raised") == 2 and al.get("syslog") == 1 and al.get("delivered") == 0,
              "status.json alerts %s" % al)
    with open(os.path.join(data, "run", "alerts.json")) as f:
        names = [a["name"] for a in json.load(f)]
    res.check(names == ["refused", "disk", "backlog"], "run/alerts.json lists %s" % names)
finally:
    rc = srs.stop()
res.check(rc == 0, "earshot srs exited %s" % rc)
res.finish()
