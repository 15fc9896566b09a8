"""Several nodes on one PostgreSQL index and one S3 bucket (issue #16):
two recorders, `earshot record` capturing sipp calls on loopback (node
rec-live) and `earshot srs` taking SIPREC sessions from sipp (node srs-1),
each with its own data folder, ledger and prefix in one Swift bucket
(s3server.py), and two `earshot serve` web nodes.

- while the calls run, GET /api/active on either web node lists the calls
  of both recorders, each with its node's name;
- the S3 server is down for 30 s from the start of the load: uploads wait,
  nothing is lost, and both recorders upload everything once it is back;
- `kill -9` of the SIPREC recorder in the middle of its sessions loses no
  call of the other node; on restart its spool is recovered, indexed and
  uploaded;
- every call is in the index once, with its node, and searchable from both
  web nodes; each node's recordings play from the web node that shares
  its data folder;
- each node publishes its ledger's signed head into the index, and
  `earshot verify` of each node's data folder passes against the shared
  index (each checks its own calls: before nodes existed, a second node's
  start entered the first node's recordings into its own ledger, and
  verify reported them missing);
- a wrong S3 secret is a clear error naming the endpoint and bucket, never
  the secret.
Slow (a Swift server and a 30 s outage, ~2-3 min): the Release half only,
labelled slow and pg."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import (EARSHOT, SOURCE, PgCluster, Results, free_port, free_port_range,  # noqa: E402
                    http_req, http_stop, http_wait_up, run, skip, tmpdir)
import livecalls  # noqa: E402
import s3server  # noqa: E402
import siprec_peer as peer  # noqa: E402

why = livecalls.missing_tools()
if why:
    skip(why)
if s3server.available():
    skip("no S3 server: missing %s" % ", ".join(s3server.available()))
if peer.audioop is None:
    skip("this Python has no audioop")

LIVE_CALLS, LIVE_LEN = 24, 4.0
SRS_CALLS, SRS_MEDIA_S = 10, 6.0
OUTAGE_S = 30
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-multinode-")
T0 = time.time()


def note(msg):
    print("[%5.1f s] %s" % (time.time() - T0, msg))
    sys.stdout.flush()


def wait_for(pred, timeout, step=0.5):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def es(data, *args, check=True, **kw):
    return run([EARSHOT, "--data", data] + list(args), check=check,
               env=dict(os.environ, EARSHOT_INDEX=url), **kw)


def local_files(data):
    out = []
    for root, _, files in os.walk(os.path.join(data, "recordings")):
        out += [f for f in files if not f.endswith(".part")]
    return out


def spool_files(data):
    try:
        return [f for f in os.listdir(os.path.join(data, "spool")) if not f.startswith(".")]
    except OSError:
        return []


def node_conf(path, s3, node, extra=""):
    with open(path, "w") as f:
        f.write("[earshot]\nindex = %s\nnode = %s\nblobs = s3://calls/%s\n" % (url, node, node))
        f.write(s3.conf("calls").replace("retries = 3", "retries = 1"))
        f.write("upload_interval = 2s\n" + extra)
    return path


def sipp_siprec(srs, cwd, calls):
    """The SIPREC load (tests/sipp/siprec_short.xml): (exit code, log lines)."""
    sipp_port, sipp_media = free_port_range(1), free_port_range(4)
    cmd = ["sipp", "-sf", os.path.join(SOURCE, "tests", "sipp", "siprec_short.xml"),
           "127.0.0.1:%d" % srs.sip_port, "-i", "127.0.0.1", "-p", str(sipp_port),
           "-mi", "127.0.0.1", "-mp", str(sipp_media), "-t", "u1", "-m", str(calls),
           "-l", str(calls), "-r", "5", "-nostdin", "-timeout", "30s", "-timeout_error",
           "-d", str(int(SRS_MEDIA_S * 1000 + 500)), "-trace_logs", "-log_file", "srs.log"]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    try:
        logs = open(os.path.join(cwd, "srs.log")).read().splitlines()
    except OSError:
        logs = []
    return p.returncode, logs


def web_get(port, path):
    st, _, body = http_req("127.0.0.1", port, "GET", path, headers=auth)
    return st, body


def api_calls(port):
    st, body = web_get(port, "/api/calls?limit=200")
    return body.get("calls", []) if st == 200 and isinstance(body, dict) else None


with PgCluster() as pg, s3server.S3Server() as s3:
    url = pg.fresh()
    s3.make_bucket("calls")
    data_a, data_b = os.path.join(work, "rec-live"), os.path.join(work, "srs-1")
    conf_a = node_conf(os.path.join(work, "a.conf"), s3, "rec-live")
    conf_b = node_conf(os.path.join(work, "b.conf"), s3, "srs-1")

    # ---- the web nodes and a user ---------------------------------------------------
    es(os.path.join(work, "admin"), "user", "add", "admin1", "--role", "admin",
       "--password-stdin", input=PW + "\n")
    tok = json.loads(es(os.path.join(work, "admin"), "user", "token", "admin1",
                        "--json").stdout)["token"]
    auth = {"Authorization": "Bearer " + tok}
    # ---- the recorders, the S3 server down ---------------------------------------------
    s3.stop_proxy()
    outage_from = time.time()
    ports = livecalls.Ports(LIVE_CALLS)
    rec_a = livecalls.Recorder(EARSHOT, data_a, ports.bpf(LIVE_CALLS),
                               args=["-c", conf_a, "--rtp-timeout", "2", "--linger", "1",
                                     "--status-interval", "1"])
    rec_a.start()
    srs = peer.Srs(EARSHOT, data_b, args=["-c", conf_b])
    ok_b = srs.start()
    ok_a = rec_a.wait_status(30) is not None
    if not res.check(ok_a and ok_b, "both recorders started:\n%s\n%s"
                     % (rec_a.logtext()[-1500:], srs.logtail(1500))):
        res.finish()
    note("recorders up")
    webs = []
    # each web node shares the data folder of one recorder (its keys and
    # its bucket's settings; docs/OPERATIONS.md "Several nodes")
    # (started after the recorders made the folders' keys and remembered
    # the bucket: a web node opens the keys once, at its start)
    for d in (data_a, data_b):
        port = free_port()
        p = subprocess.Popen([EARSHOT, "--data", d, "serve", "--listen", "127.0.0.1:%d" % port],
                             env=dict(os.environ, EARSHOT_INDEX=url), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        webs.append((port, p))
    for port, p in webs:
        res.check(http_wait_up("127.0.0.1", port, p), "web node on port %d is up" % port)


    sbase = os.path.join(work, "sipp-srs")
    os.makedirs(sbase)
    peer.make_media(sbase, [(os.path.join(sbase, "siprec_media.pcap"), SRS_MEDIA_S)])
    srs_result = {}
    srs_thread = threading.Thread(
        target=lambda: srs_result.update(r=sipp_siprec(srs, sbase, SRS_CALLS)), daemon=True)
    calls = livecalls.Calls(os.path.join(work, "sipp-live"), LIVE_CALLS, LIVE_LEN, rate=8,
                            ports=ports)
    calls.start()
    srs_thread.start()

    # ---- calls in progress, from every web node -----------------------------------------
    def active_nodes(port):
        st, body = web_get(port, "/api/active")
        if st != 200:
            return {}
        seen = {}
        for c in body.get("calls", []):
            seen[c.get("node")] = seen.get(c.get("node"), 0) + 1
        return seen
    for port, _ in webs:
        got = {}
        wait_for(lambda: len(got.update(active_nodes(port)) or got) >= 2, 8, 0.3)
        res.check(set(got) == {"rec-live", "srs-1"},
                  "GET /api/active on web node %d lists both recorders' calls: %s" % (port, got))
    st, body = web_get(webs[0][0], "/api/active")
    names = sorted(n["node"] for n in body.get("nodes", []) if n.get("running"))
    res.check(names == ["rec-live", "srs-1"], "both recorders are running: %s" % body.get("nodes"))

    # ---- kill -9 of the SIPREC recorder mid-load, then its restart -------------------------
    time.sleep(1.0)
    killed_spool = len(spool_files(data_b))
    srs.rec.kill9()
    note("srs-1 killed with %d calls in its spool" % killed_spool)
    res.check(killed_spool > 0, "srs-1 had calls in progress when killed (%d)" % killed_spool)
    # its calls drop out of the live list once the heartbeat is stale
    res.check(wait_for(lambda: "srs-1" not in active_nodes(webs[1][0]), 15),
              "a killed recorder's calls expire from GET /api/active")
    srs.rec.start()  # the same data folder and ports: recovers its spool
    note("srs-1 restarted")
    srs_thread.join(150)
    uac_rc, _ = calls.wait()
    res.check(calls.successful() == LIVE_CALLS,
              "sipp live: %s of %d calls" % (calls.successful(), LIVE_CALLS))

    def node_calls(node):
        return [c for c in json.loads(es(data_a, "calls", "--json").stdout)
                if c.get("node") == node]
    res.check(wait_for(lambda: len([c for c in node_calls("rec-live") if c.get("recording")])
                       >= LIVE_CALLS, 60),
              "every live call is recorded by rec-live despite the other node's crash (%d)"
              % len(node_calls("rec-live")))
    def had_audio(c):  # a session killed before its first RTP has nothing to record
        return any(s.get("packets") for s in c.get("streams") or [])
    res.check(wait_for(lambda: not spool_files(data_b) and node_calls("srs-1")
                       and all(c.get("recording") for c in node_calls("srs-1")
                               if had_audio(c)), 40),
              "srs-1 recovered its spool on restart (left %s; calls %s)\n%s" % (
                  spool_files(data_b), [(c["id"], c.get("flags"), bool(c.get("recording")),
                                         had_audio(c)) for c in node_calls("srs-1")],
                  "\n".join(l for l in srs.logtail(10 ** 6).splitlines()
                            if "recover" in l or "error" in l.lower())[-3000:]))
    b_calls = node_calls("srs-1")
    recovered = [c for c in b_calls if "recovered" in (c.get("flags") or "")]
    res.check(len(recovered) >= killed_spool,
              "the killed node's %d calls in progress are indexed, flagged recovered (%d of %d)"
              % (killed_spool, len(recovered), len(b_calls)))

    # ---- the outage ends: everything is uploaded ------------------------------------------
    res.check(local_files(data_a) and local_files(data_b),
              "during the outage the recordings wait locally (%d, %d)"
              % (len(local_files(data_a)), len(local_files(data_b))))
    left = OUTAGE_S - (time.time() - outage_from)
    if left > 0:
        time.sleep(left)
    s3.start_proxy()
    note("S3 back after %.0f s" % (time.time() - outage_from))
    res.check(wait_for(lambda: not local_files(data_a) and not local_files(data_b), 60),
              "both nodes upload everything once S3 is back (left %d, %d)"
              % (len(local_files(data_a)), len(local_files(data_b))))
    _, listing = s3.curl("GET", "/calls")
    all_calls = json.loads(es(data_a, "calls", "--json").stdout)
    recs = [c for c in all_calls if c.get("recording")]
    for node in ("rec-live", "srs-1"):
        want = len([c for c in recs if c.get("node") == node])
        res.check(listing.count(b"<Key>%s/recordings/" % node.encode()) == want,
                  "the bucket holds %s's %d recordings under its prefix" % (node, want))

    # ---- one index: unique ids, every call with its node, searchable from both web nodes ----
    ids = [c["id"] for c in all_calls]
    res.check(len(ids) == len(set(ids)), "call ids are unique across the nodes")
    res.check(all(c.get("node") in ("rec-live", "srs-1") for c in all_calls),
              "every call keeps its node: %s" % sorted({c.get("node") or "-" for c in all_calls}))
    for port, _ in webs:
        got = api_calls(port)
        res.check(got is not None and sorted(c["id"] for c in got) == sorted(ids),
                  "web node %d finds all %d calls (%s)" % (port, len(ids),
                                                           None if got is None else len(got)))
    # playback: each node's recordings from the web node sharing its folder
    for (port, _), node in zip(webs, ("rec-live", "srs-1")):
        mine = [c for c in recs if c.get("node") == node]
        bad, cold, warm = [], [], []
        for c in mine[:: max(1, len(mine) // 4)]:
            for times in (cold, warm):  # the first play fetches the object
                t = time.time()
                st, hdrs, body = http_req("127.0.0.1", port, "GET",
                                          "/api/calls/%d/audio" % c["id"],
                                          headers=dict(auth, Range="bytes=0-65535"))
                times.append(time.time() - t)
                if st not in (200, 206):
                    bad.append((c["id"], st))
        note("%s: 64 KiB Range of an archived recording through the API: first play %s ms, "
             "again %s ms" % (node, sorted(int(x * 1000) for x in cold),
                              sorted(int(x * 1000) for x in warm)))
        res.check(mine and not bad, "%s's recordings play from S3 on web node %d: %s"
                  % (node, port, bad))

    # ---- heads and verify across nodes ---------------------------------------------------
    for node, data in (("rec-live", data_a), ("srs-1", data_b)):
        head = run(["psql", "-Atc", "SELECT head FROM nodes WHERE name = '%s'" % node, url],
                   check=False).stdout.strip()
        res.check(head.startswith("earshot-head "), "%s published its signed head: %r"
                  % (node, head[:60]))
        hf = os.path.join(work, node + ".head")
        with open(hf, "w") as f:
            f.write(head + "\n")
        v = run([EARSHOT, "--data", data, "verify", "--head", hf], check=False,
                env=dict(os.environ, EARSHOT_INDEX=url, EARSHOT_NODE=node))
        res.check(v.returncode == 0, "verify of %s against the shared index and its published "
                  "head passes: %s %s" % (node, v.stdout[-400:], v.stderr[-300:]))

    # every node at once, from a folder of neither: each node's folder (here
    # a shared mount) against the head it published
    v = run([EARSHOT, "--data", os.path.join(work, "admin"), "verify", "--nodes"], check=False,
            env=dict(os.environ, EARSHOT_INDEX=url))
    res.check(v.returncode == 0 and "node rec-live" in v.stdout and "node srs-1" in v.stdout
              and "2 nodes checked, 0 with findings" in v.stdout,
              "verify --nodes checks both nodes: %s %s" % (v.stdout[-600:], v.stderr[-300:]))

    # a second data folder under a name already in use is said at start
    clash = peer.Srs(EARSHOT, os.path.join(work, "clash"),
                     args=["-c", node_conf(os.path.join(work, "clash.conf"), s3, "srs-1")])
    started = clash.start()
    clash.stop()
    res.check(started and "node srs-1 already published its ledger at %s" % os.path.realpath(
        os.path.join(data_b, "ledger")) in clash.logtail(10 ** 6),
              "a recorder under another folder's node name warns: %s" % clash.logtail(800))

    # ---- a wrong S3 secret ------------------------------------------------------------------
    secret = "Wr0ngMultinodeSecret"
    bad_conf = os.path.join(work, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("[earshot]\nblobs = s3://calls/bad\n" + s3.conf("calls", secret=secret))
    p = run([EARSHOT, "--data", os.path.join(work, "bad"), "archive", "probe", "-c", bad_conf],
            check=False, env=dict(os.environ, EARSHOT_INDEX=url))
    out = p.stdout + p.stderr
    res.check(p.returncode != 0 and s3.endpoint in out and "calls" in out,
              "a wrong secret is an error naming the endpoint and bucket: %s" % out.strip()[-300:])
    res.check(secret not in out, "the secret is not printed")

    for port, p in webs:
        rc, err = http_stop(p)
        res.check(rc == 0, "web node %d stopped cleanly: %s %s" % (port, rc, err[-300:]))
    rc_a, rc_b = rec_a.stop(), srs.stop()
    res.check(rc_a == 0 and rc_b == 0, "the recorders stop cleanly (%s, %s)" % (rc_a, rc_b))
    for log in (rec_a.logtext(), srs.logtail(10 ** 7)):
        res.check(s3.secret_key not in log, "no secret in a recorder's log")
    note("done")

shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
