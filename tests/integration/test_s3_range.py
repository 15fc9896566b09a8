"""Range playback of an archived recording reads only the chunks it needs
from the bucket (issue #16): GET /api/calls/{id}/audio with a small Range
near the end of a long encrypted recording that lives only in the bucket
used to fetch the whole object into DATA/cache before answering.  Now the
server asks the bucket for the header, the last chunk (authenticated at
open) and the chunks the range covers, counted in GET /metrics
(earshot_archive_range_bytes_total).  The bytes answered must be the
recording's plaintext at that range (checked against `earshot export`).
Real Swift s3api server (tests/integration/s3server.py)."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req,  # noqa: E402
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)
import s3server  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)
if s3server.available():
    skip("no S3 server: missing %s" % ", ".join(s3server.available()))

res = Results()
work = tmpdir("earshot-s3-range-")
pcap = os.path.join(work, "long.pcap")
run([GEN, "-o", pcap, "--seed", "11", "--calls", "1", "--duration", "90"])


def cached(data):
    return [f for _, _, fs in os.walk(os.path.join(data, "cache")) for f in fs]


with s3server.S3Server() as s3:
    s3.make_bucket("rec")
    conf = os.path.join(work, "s3.conf")
    with open(conf, "w") as f:
        f.write("[earshot]\nblobs = s3://rec/r1\n" + s3.conf("rec"))
    data = os.path.join(work, "data")
    p, _ = import_capture(data, pcap, extra=("-c", conf, "--format", "wav"))
    recs = [c for c in calls_json(data) if c.get("recording")]
    res.check(p.returncode == 0 and len(recs) == 1, "one long call archived: %s" % p.stderr[-300:])
    rec = recs[0]["recording"]
    call = recs[0]["id"]
    local = os.path.join(data, rec["path"])
    res.check(not os.path.exists(local) and not cached(data),
              "the recording is only in the bucket (%d bytes)" % rec["bytes"])
    run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin",
         "--password-stdin"], input="correct horse battery\n")
    tok = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
    auth = {"Authorization": "Bearer " + tok}
    port = free_port()
    srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res.check(http_wait_up("127.0.0.1", port, srv), "serve is up")

    def fetched():
        st, _, body = http_req("127.0.0.1", port, "GET", "/metrics", headers=auth, raw=True)
        m = re.search(rb"^earshot_archive_range_bytes_total (\d+)", body or b"", re.M)
        return int(m.group(1)) if st == 200 and m else None

    before = fetched()
    st, hdrs, body = http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio" % call,
                              headers=dict(auth, Range="bytes=-4096"), raw=True)
    after = fetched()
    cr = hdrs.get("content-range", "")
    res.check(st == 206 and len(body) == 4096, "a 4 KiB Range at the end: %s %s %d"
              % (st, cr, len(body or b"")))
    got = None if before is None or after is None else after - before
    # the header, the last chunk and the chunk(s) of the range: at most 3 x 64 KiB
    res.check(got is not None and 0 < got <= 3 * (65536 + 41) + 28 and got < rec["bytes"] // 4,
              "only the needed chunks were fetched: %s of %d bytes" % (got, rec["bytes"]))
    res.check(not cached(data), "nothing was fetched into DATA/cache: %s" % cached(data))
    st2, _, mid = http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio" % call,
                           headers=dict(auth, Range="bytes=1000000-1099999"), raw=True)
    rc, err = http_stop(srv)
    res.check(rc == 0, "serve stopped cleanly: %s %s" % (rc, err[-300:]))

    plain = os.path.join(work, "plain.wav")
    earshot(data, "export", str(call), "-o", plain)
    with open(plain, "rb") as f:
        whole = f.read()
    total = int(cr.rsplit("/", 1)[-1]) if "/" in cr else -1
    res.check(total == len(whole), "Content-Range names the plaintext size: %s (%d)"
              % (cr, len(whole)))
    res.check(body == whole[-4096:], "the range's bytes are the recording's last 4 KiB")
    res.check(st2 == 206 and mid == whole[1000000:1100000],
              "a range across chunks in the middle matches too (%s, %d bytes)"
              % (st2, len(mid or b"")))

    shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
