"""`earshot record` with blobs = s3://...: live calls on loopback (sipp,
livecalls.py) while the S3 server (Swift + s3api, s3server.py) is down.
The recordings wait in the data folder (earshot status shows the backlog),
none is lost, and the recorder's own upload pass sends every one once the
server is back; verify then passes with all of them in the bucket."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import EARSHOT, Results, calls_json, earshot, skip, tmpdir  # noqa: E402
import livecalls  # noqa: E402
import s3server  # noqa: E402

why = livecalls.missing_tools()
if why:
    skip(why)
if s3server.available():
    skip("no S3 server: missing %s" % ", ".join(s3server.available()))

CALLS, LENGTH = 4, 3.0
res = Results()
work = tmpdir("earshot-s3live-")
data = os.path.join(work, "data")


def local_files():
    out = []
    for root, _, files in os.walk(os.path.join(data, "recordings")):
        out += [f for f in files if not f.endswith(".part")]
    return out


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.5)
    return pred()


with s3server.S3Server() as s3:
    s3.make_bucket("live")
    conf = os.path.join(work, "e.conf")
    with open(conf, "w") as f:
        f.write("[earshot]\nblobs = s3://live/node1\n")
        f.write(s3.conf("live").replace("retries = 3", "retries = 1"))
        f.write("upload_interval = 2s\n")
    s3.stop_proxy()
    ports = livecalls.Ports(CALLS)
    rec = livecalls.Recorder(EARSHOT, data, ports.bpf(CALLS),
                             args=["-c", conf, "--rtp-timeout", "2", "--linger", "1"])
    rec.start()
    try:
        if not res.check(rec.wait_status(30) is not None,
                         "earshot record started: " + rec.logtext()[-2000:]):
            res.finish()
        calls = livecalls.Calls(os.path.join(work, "sipp"), CALLS, LENGTH, rate=10, ports=ports)
        calls.start()
        uac_rc, uas_rc = calls.wait()
        res.check(calls.successful() == CALLS, "sipp: %s of %d calls" % (calls.successful(), CALLS))

        def recorded():
            return [c for c in calls_json(data) if c.get("recording")]
        wait_for(lambda: len(recorded()) >= CALLS, 40)
        n = len(recorded())
        res.check(n == CALLS, "every call recorded while the server is down (%d)" % n)
        time.sleep(3)  # at least one upload pass fails meanwhile
        res.check(len(local_files()) == n, "all %d wait in the data folder (%d)" % (n, len(local_files())))
        st = earshot(data, "status", check=False)
        res.check("upload backlog: %d recording" % n in st.stdout,
                  "earshot status shows the backlog: %s" % st.stdout[:300])
        s3.start_proxy()
        res.check(wait_for(lambda: local_files() == [], 40),
                  "the recorder uploads them all once the server is back (left: %s)" % local_files())
    finally:
        rc = rec.stop()
    res.check(rc == 0, "earshot record exits 0 (%s)" % rc)
    log = rec.logtext()
    res.check("stay queued" in log, "the log says uploads stay queued during the outage")
    res.check(s3.secret_key not in log, "the secret is not in the log")
    _, listing = s3.curl("GET", "/live")
    res.check(listing.count(b"<Key>node1/recordings/") == n,
              "the bucket holds the %d recordings" % n)
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes: %s" % v.stdout[-300:])

res.finish()
