"""`earshot migrate --to postgresql://... --blobs s3://...` end to end, on a
throwaway PostgreSQL 15 cluster (estest.PgCluster) and a real Swift s3api
bucket (s3server.py, which checks every SigV4 signature):

- `earshot backup` into the bucket and `restore` from it verify;
- an embedded deployment with calls, a user, an API token, a legal hold and
  their audit entries is migrated while the bucket's server is away: the
  rows are copied and compared, the recordings stay in the data folder and
  the command says to run it again (exit 1);
- the second run continues: no row copied twice, every recording uploaded,
  read back and removed locally, verify passes, the configuration change is
  printed; a third run has nothing left to do;
- on the new index: the same calls, `verify` and `audit --verify` pass;
- `earshot serve` on the printed configuration takes the old token, lists
  every call and plays each one from the bucket.
Runs in the Release half only (registered as pg_test_migrate)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, PgCluster, Results, calls_json, earshot, free_port,  # noqa: E402
                    http_req, http_stop, http_wait_up, import_capture, run, skip, tmpdir)
import s3server  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-migrate-")
os.chmod(work, 0o700)
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "6", "--duration", "8"])


def es(data, index, *args, check=False, **kw):
    env = dict(os.environ)
    env.pop("EARSHOT_INDEX", None)
    if index:
        env["EARSHOT_INDEX"] = index
    return run([EARSHOT, "--data", data] + list(args), check=check, env=env, **kw)


def local_recordings(data):
    out = []
    for root, _, files in os.walk(os.path.join(data, "recordings")):
        out += [f for f in files if not f.endswith(".part")]
    return out


with PgCluster() as pg, s3server.S3Server() as s3:
    s3.make_bucket("rec")
    url = pg.fresh()
    conf = os.path.join(work, "s3.conf")
    with open(conf, "w") as f:
        f.write("[earshot]\nblobs = s3://rec/unused\n")
        f.write(s3.conf("rec"))
        f.write("retries = 1\nbackoff = 100ms\ntimeout = 5s\n")

    # ---- an embedded deployment with something in every kind of table ---------
    data = os.path.join(work, "data")
    p, _ = import_capture(data, pcap)
    res.check(p.returncode == 0, "import: %s" % p.stderr)
    run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
        input="correct horse battery\n")
    tok = json.loads(earshot(data, "user", "token", "admin1", "--json").stdout)["token"]
    before = calls_json(data)
    ids = [c["id"] for c in before if c.get("recording")]
    earshot(data, "hold", "add", "case-1", "--reason", "subpoena", "--call", str(ids[0]))
    audit_before = json.loads(earshot(data, "audit", "--json").stdout)
    res.check(len(ids) >= 4 and audit_before, "the deployment has calls and an audit log")

    # ---- earshot backup into the bucket and back (through SigV4) -------------------
    bk = es(data, None, "backup", "-c", conf, "--json", "s3://rec/backups/site1")
    bkj = json.loads(bk.stdout) if bk.returncode == 0 else {}
    res.check(bkj.get("copied", 0) > len(ids), "backup into the bucket: %s %s" % (bk.stdout, bk.stderr[-300:]))
    status, _ = s3.curl("HEAD", "/rec/backups/site1/manifest.sig", "-I", check=False)
    res.check(status == 200, "the signed manifest is in the bucket (HEAD %s)" % status)
    r = es(os.path.join(work, "from-bucket"), None, "restore", "-c", conf, "s3://rec/backups/site1")
    res.check(r.returncode == 0 and "0 findings" in r.stdout,
              "restore from the bucket verifies: %s %s" % (r.stdout[-300:], r.stderr[-300:]))

    # ---- first run with the bucket away: rows moved, recordings stay ------------
    s3.stop_proxy()
    try:
        m1 = es(data, None, "migrate", "--to", url, "--blobs", "s3://rec/site1", "-c", conf)
    finally:
        s3.start_proxy()
    res.check(m1.returncode == 1 and "again" in m1.stderr,
              "with the bucket away, migrate says to run it again: %s" % m1.stderr[-400:])
    res.check("compared row by row" in m1.stderr, "the rows were copied and compared: %s" % m1.stderr[-400:])
    res.check(len(local_recordings(data)) == len(ids), "the recordings stay in the data folder")

    # ---- the second run continues ------------------------------------------------
    m2 = es(data, None, "migrate", "--to", url, "--blobs", "s3://rec/site1", "-c", conf)
    res.check(m2.returncode == 0, "the second run completes: %s%s" % (m2.stdout[-400:], m2.stderr[-600:]))
    res.check("(0 copied now" in m2.stderr, "no row copied twice: %s" % m2.stderr[-300:])
    res.check("index = postgresql://" in m2.stdout and "blobs = s3://rec/site1" in m2.stdout,
              "the configuration change is printed: %s" % m2.stdout)
    res.check(local_recordings(data) == [], "every recording moved to the bucket")
    status, body = s3.curl("GET", "/rec/site1/" + before[0]["recording"]["path"])
    res.check(status == 200 and body[:5] == b"ESENC", "the objects are the encrypted recordings")
    m3 = es(data, None, "migrate", "--to", url, "--blobs", "s3://rec/site1", "-c", conf, "--json")
    s3j = json.loads(m3.stdout) if m3.returncode == 0 else {}
    res.check(s3j.get("rows_copied") == 0 and s3j.get("recordings_moved") == 0 and s3j.get("rows", 0) > 0,
              "a third run has nothing left to do: %s %s" % (m3.stdout, m3.stderr[-300:]))

    # ---- the new index -----------------------------------------------------------
    after = json.loads(es(data, url, "calls", "--json", check=True).stdout)
    res.check(after == before, "the new index lists the same calls")
    v = es(data, url, "verify")
    res.check(v.returncode == 0, "verify passes on PostgreSQL + bucket: %s" % v.stdout[-400:])
    a = es(data, url, "audit", "--verify")
    res.check(a.returncode == 0, "the audit log's hash chain is valid on PostgreSQL: %s%s" % (a.stdout, a.stderr))
    audit_after = json.loads(es(data, url, "audit", "--json", check=True).stdout)
    res.check(audit_after[:len(audit_before)] == audit_before if isinstance(audit_before, list)
              else audit_after.get("entries", [])[:len(audit_before.get("entries", []))] == audit_before.get("entries", []),
              "the audit entries are the same")
    h = es(data, url, "hold", "list")
    res.check(h.returncode == 0 and "case-1" in h.stdout, "the legal hold moved: %s" % h.stdout)

    # ---- serve on the printed configuration --------------------------------------
    newconf = os.path.join(work, "new.conf")
    with open(newconf, "w") as f:
        f.write("[earshot]\nindex = %s\nblobs = s3://rec/site1\n" % url)
        f.write(s3.conf("rec"))
    port = free_port()
    env = dict(os.environ)
    env.pop("EARSHOT_INDEX", None)
    proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "-c", newconf, "--listen",
                             "127.0.0.1:%d" % port], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        if not http_wait_up("127.0.0.1", port, proc):
            raise RuntimeError("server did not start: %s" % proc.communicate()[1][-500:])
        auth = {"Authorization": "Bearer " + tok}
        st, _, b = http_req("127.0.0.1", port, "GET", "/api/calls?limit=100", headers=auth)
        got = sorted(c["id"] for c in b.get("calls", [])) if st == 200 else []
        res.check(got == sorted(c["id"] for c in before),
                  "serve with the old token lists every call (%s: %s)" % (st, got))
        played = 0
        for cid in ids:
            st, _, audio = http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio" % cid,
                                    headers=auth, raw=True, timeout=60)
            played += st == 200 and len(audio) > 1000
        res.check(played == len(ids), "serve plays every call from the bucket (%d of %d)" % (played, len(ids)))
    finally:
        http_stop(proc)
    res.check(local_recordings(data) == [], "playback did not bring recordings back to the folder")

res.finish()
