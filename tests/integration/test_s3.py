"""Recordings in an S3 bucket: a real Swift server with s3api and tempauth
(tests/integration/s3server.py, which checks every SigV4 signature and
payload hash), one server for all the cases of this file.

- import with blobs = s3://...: the recordings are uploaded (single PUT and
  multipart), read back, removed from the data folder; export, verify and
  delete work from the bucket; a Range request returns the object's bytes
- the server stopped during an import: the recordings stay queued in the
  data folder (archive status counts them), nothing is lost, and all are
  uploaded by `archive run` once it is back
- a wrong secret: a clear error naming the endpoint and bucket, never the
  secret; the recordings stay local
- archive_after: nothing moves before the age (--now), everything after,
  then verify, export, and the API's playback (whole and an HTTP range) and
  waveform of an archived recording
- Object Lock: probed; Swift's s3api has none, which probe says"""
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port,  # noqa: E402
                    http_req, http_stop, http_wait_up, import_capture, run, skip, tmpdir)
import s3server  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-s3-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--truth", os.path.join(work, "truth.json"), "--seed", "5",
     "--calls", "6", "--duration", "4"])


def local_files(data):
    out = []
    for root, _, files in os.walk(os.path.join(data, "recordings")):
        out += [os.path.join(root, f) for f in files if not f.endswith(".part")]
    return out


def conf_file(s3, name, url, secret=None, extra=""):
    path = os.path.join(work, name + ".conf")
    with open(path, "w") as f:
        f.write("[earshot]\nblobs = %s\n%s\n" % (url, extra))
        f.write(s3.conf("rec", secret=secret))
        # every recording as a multipart upload of one part: the parts path
        # runs on small files (s3api's smallest part is 5 MiB but the last
        # may be smaller)
        if name == "main":
            f.write("multipart_above = 1\npart_size = 5M\n")
    return path


def recordings(data):
    return {c["id"]: c["recording"] for c in calls_json(data) if c.get("recording")}


with s3server.S3Server() as s3:
    s3.make_bucket("rec")

    # ---- import into the bucket, then read it back every way ---------------------
    data = os.path.join(work, "main")
    conf = conf_file(s3, "main", "s3://rec/site1")
    p, summary = import_capture(data, pcap, extra=("-c", conf))
    res.check(p.returncode == 0, "import with blobs = s3:// exits 0 (%d: %s)" % (p.returncode, p.stderr))
    recs = recordings(data)
    res.check(len(recs) >= 4, "the capture gave recordings (%d)" % len(recs))
    res.check(local_files(data) == [], "no recording left in the data folder: %s" % local_files(data))
    st = earshot(data, "archive", "status", "--json")
    res.check('"due":0' in st.stdout, "no upload backlog after the import: %s" % st.stdout)
    first_id, first = sorted(recs.items())[0]
    status, body = s3.curl("GET", "/rec/site1/" + first["path"])
    res.check(hashlib.sha256(body).hexdigest() == first["sha256"],
              "the object in the bucket is the recording's ciphertext (its SHA-256)")
    res.check(b"ESENC" == body[:5], "only ciphertext is uploaded (ESENC header)")
    rp = subprocess.run([EARSHOT, "--data", data, "archive", "cat", str(first_id), "--range",
                         "1000-5095"], capture_output=True)
    res.check(rp.returncode == 0 and rp.stdout == body[1000:5096],
              "a Range request returns bytes 1000-5095 of the object (%d bytes)" % len(rp.stdout))
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes with every recording in the bucket: %s%s" % (v.stdout, v.stderr))
    out = os.path.join(work, "first.wav")
    e = earshot(data, "export", str(first_id), "-o", out, check=False)
    res.check(e.returncode == 0 and os.path.getsize(out) > 1000,
              "export of an archived recording: %s" % e.stderr)
    # a tampered object is found by verify, not reported as missing
    second_id, second = sorted(recs.items())[1]
    tampered = os.path.join(work, "tampered")
    with open(tampered, "wb") as f:
        f.write(body[:100] + bytes([body[100] ^ 1]) + body[101:])
    s3.curl("PUT", "/rec/site1/" + second["path"], data_file=tampered)
    v = earshot(data, "verify", check=False)
    res.check(v.returncode != 0 and "altered" in v.stdout and second["path"] in v.stdout,
              "verify names the altered object: %s" % v.stdout[-400:])
    d = earshot(data, "delete", str(first_id), "--yes", check=False)
    res.check(d.returncode == 0, "delete of an archived recording: %s" % d.stderr)
    status, _ = s3.curl("HEAD", "/rec/site1/" + first["path"], "-I", check=False)
    res.check(status == 404, "deleting the recording deleted the object (HEAD: %d)" % status)

    # ---- a wrong secret: a clear error, nothing lost ------------------------------
    data = os.path.join(work, "badsecret")
    secret = "Wr0ngSecretXyz"
    conf = conf_file(s3, "bad", "s3://rec/site2", secret=secret)
    p, _ = import_capture(data, pcap, extra=("-c", conf))
    res.check(p.returncode == 1, "import with a wrong secret exits 1 (%d)" % p.returncode)
    res.check("access refused" in p.stderr and s3.endpoint in p.stderr and "bucket rec" in p.stderr,
              "the error names the endpoint and bucket: %s" % p.stderr.strip()[-300:])
    res.check(secret not in p.stderr + p.stdout, "the secret is not printed")
    res.check(len(local_files(data)) == len(recordings(data)) > 0,
              "the recordings stay in the data folder")

    # ---- object_lock configured on a bucket without it: refused, kept -------------
    data = os.path.join(work, "lock")
    conf = conf_file(s3, "lock", "s3://rec/site5", extra="")
    with open(conf, "a") as f:
        f.write("object_lock = governance\nlock_days = 7\n")
    p, _ = import_capture(data, pcap, extra=("-c", conf))
    res.check(p.returncode == 1 and "has no Object Lock" in p.stderr,
              "object_lock on a bucket without it is an error: %s" % p.stderr.strip()[-300:])
    res.check(len(local_files(data)) == len(recordings(data)) > 0,
              "and the recordings stay in the data folder")

    # ---- the server away during an import: queued, then all uploaded -------------
    data = os.path.join(work, "outage")
    conf = conf_file(s3, "outage", "s3://rec/site3")
    s3.stop_proxy()
    try:
        p, _ = import_capture(data, pcap, extra=("-c", conf))
        res.check(p.returncode == 0, "import while the server is down exits 0 (%d: %s)" % (p.returncode, p.stderr))
        res.check("queued" in p.stderr, "it says the recordings stay queued: %s" % p.stderr[-300:])
        n = len(recordings(data))
        res.check(n > 0 and len(local_files(data)) == n, "every recording kept locally (%d)" % n)
        st = earshot(data, "archive", "status", "--json")
        res.check('"due":%d' % n in st.stdout, "archive status shows the backlog: %s" % st.stdout)
        ss = earshot(data, "status", check=False)
        res.check("upload backlog: %d recording" % n in ss.stdout,
                  "earshot status shows the upload backlog: %s" % ss.stdout[-300:])
    finally:
        s3.start_proxy()
    r = earshot(data, "archive", "run", "--json", check=False)
    res.check(r.returncode == 0 and '"moved":%d' % n in r.stdout,
              "after the outage every queued recording is uploaded: %s %s" % (r.stdout, r.stderr))
    res.check(local_files(data) == [], "nothing left locally after the retry")
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes after the retry: %s" % v.stdout[-300:])

    # ---- the archive tier: by age ------------------------------------------------
    data = os.path.join(work, "tier")
    conf = conf_file(s3, "tier", "s3://rec/site4", extra="archive_after = 400d")
    p, _ = import_capture(data, pcap, extra=("-c", conf))
    n = len(recordings(data))
    # the generated calls are of 2026-01-15: 400 days later is 2027-02-19
    res.check(p.returncode == 0 and len(local_files(data)) == n > 0,
              "archive_after = 400d: the import keeps them local")
    r = earshot(data, "archive", "run", "--now", "2027-01-01", "--json")
    res.check('"moved":0' in r.stdout, "nothing moves before the age: %s" % r.stdout)
    r = earshot(data, "archive", "run", "--now", "2027-03-01", "--json")
    res.check('"moved":%d' % n in r.stdout and local_files(data) == [],
              "everything moves after the age: %s" % r.stdout)
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes on the archived tier: %s" % v.stdout[-300:])
    cid = sorted(recordings(data))[0]
    e = earshot(data, "export", str(cid), "-o", os.path.join(work, "tier.wav"), check=False)
    res.check(e.returncode == 0, "export from the archive tier: %s" % e.stderr)

    # ---- playback and waveform through the API, from the bucket -------------------
    run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin",
         "--password-stdin"], input="correct horse battery\n")
    tok = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
    port = free_port()
    proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % port],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not http_wait_up("127.0.0.1", port, proc):
            raise RuntimeError("server did not start: %s" % proc.communicate()[1][-500:])
        auth = {"Authorization": "Bearer " + tok}
        cid2 = sorted(recordings(data))[1]
        st, hd, body = http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio" % cid2,
                                headers=auth, raw=True, timeout=60)
        res.check(st == 200 and len(body) > 1000,
                  "the API plays an archived recording (%s, %d bytes)" % (st, len(body or b"")))
        st, hd, part = http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio" % cid2,
                                headers=dict(auth, Range="bytes=100-599"), raw=True, timeout=60)
        res.check(st == 206 and part == body[100:600],
                  "an HTTP range of an archived recording's audio (%s)" % st)
        st, _, pk = http_req("127.0.0.1", port, "GET", "/api/calls/%d/peaks?points=100" % cid2,
                             headers=auth, timeout=120)
        res.check(st == 200, "the waveform of an archived recording (%s)" % st)
    finally:
        http_stop(proc)
    res.check(local_files(data) == [], "playback did not bring the recording back to the data folder")

    # ---- Object Lock -------------------------------------------------------------
    pr = earshot(data, "archive", "probe", check=False)
    res.check(pr.returncode == 0 and "object lock not supported" in pr.stdout,
              "probe says Swift's s3api has no Object Lock: %s %s" % (pr.stdout, pr.stderr))
    # a hold on an archived recording: Swift's s3api would take a legal-hold
    # PUT for an upload and overwrite the object; it is not sent there
    h = run([EARSHOT, "-v", "--data", data, "hold", "add", "case-1", "--reason", "test",
             "--call", str(cid)], check=False)
    res.check(h.returncode == 0 and "no Object Lock" in h.stderr,
              "a hold on an archived recording says the bucket has no Object Lock: %s" % h.stderr)
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "the held object is intact: %s" % v.stdout[-300:])

res.finish()
