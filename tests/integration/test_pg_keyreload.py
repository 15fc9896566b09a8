"""Web nodes follow a key rotation without a restart; a process without the
KEK never makes the shared transcript search key (issue #16).  One
PostgreSQL index, one Swift bucket (s3server.py), a recorder (rec-1,
`earshot import`, encrypted under its own keyring file DATA/keys/kek.keys)
and three `earshot serve` processes started before the rotation:

- "own": the recorder's own serve (its data folder);
- "web": an empty data folder holding a copy of the recorder's kek.keys
  (0600) and S3 credentials: the operator copies the rotated keyring there
  after `keys rotate`, as docs/OPERATIONS.md says;
- "stale": the same, but its copy is never updated.

Then:
- the first process to need the transcript search key on the fresh shared
  index has no KEK (a web node, `GET /api/calls?text=`): it answers a clear
  error and stores nothing; before, it stored "plain" (the all-zero key)
  for good, and every later node's blind tokens were keyed with zeros.  A
  node with the KEK then makes a wrapped one;
- `earshot keys rotate` on rec-1 (the index's copies rewrapped too), then a
  second import (new recordings, wrapped by the new KEK): "own" and "web"
  play old recordings (rewrapped; not played before, so not in their key
  cache) and new ones, whole and by Range, without a restart; before, both
  answered 503 no_kek until restarted;
- "stale" answers 503 no_kek naming the new KEK's id (audio, export, peaks),
  not 500.
About 30-45 s on a loaded 2-core machine (PostgreSQL and Swift start): the
Release half (every test_pg_* is)."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, PgCluster, Results, free_port, http_req,  # noqa: E402
                    http_stop, http_wait_up, run, skip, tmpdir)
import s3server  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)
if s3server.available():
    skip("no S3 server: missing %s" % ", ".join(s3server.available()))

PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-keyreload-")
pcaps = []
for seed in (21, 22):
    pcaps.append(os.path.join(work, "calls%d.pcap" % seed))
    run([GEN, "-o", pcaps[-1], "--seed", str(seed), "--calls", "4", "--duration", "4"])


def env(**kw):
    e = dict(os.environ, EARSHOT_INDEX=url)
    for k in ("EARSHOT_KEK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "EARSHOT_NODE"):
        e.pop(k, None)
    e.update(kw)
    return e


def s3env():
    return dict(AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key)


def es(*args, check=True, **kw):
    return run([EARSHOT, "--data", rec] + list(args), check=check,
               env=env(EARSHOT_NODE="rec-1", **s3env()), **kw)


def psql(sql):
    return run(["psql", "-Atc", sql, url], check=False).stdout.strip()


def serve(data, **kw):
    port = free_port()
    p = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % port],
                         env=env(**kw), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    up = http_wait_up("127.0.0.1", port, p)
    if not res.check(up, "serve on %s (port %d) is up" % (data, port)):
        p.kill()
        print(p.communicate()[1][-2000:])
        res.finish()
    procs.append((port, p))
    return port


def get(port, path, **hdr):
    return http_req("127.0.0.1", port, "GET", path, headers=dict(auth, **hdr), raw=True)


def code(body):
    try:
        return json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None


def keyring_copy(dst_dir):
    """The recorder's kek.keys into dst_dir/keys (written beside, renamed)."""
    kdir = os.path.join(dst_dir, "keys")
    os.makedirs(kdir, mode=0o700, exist_ok=True)
    tmp = os.path.join(kdir, "kek.keys.new")
    shutil.copyfile(os.path.join(rec, "keys", "kek.keys"), tmp)
    os.chmod(tmp, 0o600)
    os.rename(tmp, os.path.join(kdir, "kek.keys"))


def recordings():
    return {c["id"]: c for c in json.loads(es("calls", "--json").stdout) if c.get("recording")}


def plays(port, c, what):
    st, _, body = get(port, "/api/calls/%d/audio" % c["id"])
    ok = st == 200 and hashlib.sha256(body).hexdigest() == c["recording"]["plain_sha256"]
    st2, _, part = get(port, "/api/calls/%d/audio" % c["id"], Range="bytes=100-1099")
    res.check(ok and st2 == 206 and part == body[100:1100],
              "%s plays %s (whole %d, plaintext SHA-256 %s; Range %d)"
              % (what, c["recording"]["path"], st, "matches" if ok else "differs", st2)
              + ("" if ok else ": %s" % body[:300]))


procs = []
with PgCluster() as pg, s3server.S3Server() as s3:
    url = pg.fresh()
    s3.make_bucket("calls")
    rec = os.path.join(work, "rec-1")
    conf = os.path.join(work, "rec.conf")
    with open(conf, "w") as f:
        f.write("[earshot]\nblobs = s3://calls/rec-1\narchive_after = 3650d\n")
        f.write(s3.conf("calls"))

    # ---- the search key on a fresh shared index: first asked by a node without a KEK -----
    admin = os.path.join(work, "admin")
    run([EARSHOT, "--data", admin, "user", "add", "admin1", "--role", "admin",
         "--password-stdin"], input=PW + "\n", env=env())
    tok = json.loads(run([EARSHOT, "--data", admin, "user", "token", "admin1", "--json"],
                         env=env()).stdout)["token"]
    auth = {"Authorization": "Bearer " + tok}
    bare_dir = os.path.join(work, "bare")
    os.makedirs(bare_dir, mode=0o700)
    bare = serve(bare_dir, **s3env())
    st, _, sb = get(bare, "/api/calls?text=zulu")
    row = psql("SELECT wrapped FROM tr_search_key")
    res.check(row == "", "a node without a KEK stores no search key on the shared index: %r"
              % row)
    res.check(st >= 400 and b"key-encryption key" in sb,
              "and its text search answers a clear error: %d %s" % (st, sb[:300]))

    # ---- the recorder, its keyring file, and the serve processes -------------------------
    p = es("import", "--json", "--no-progress", "-c", conf, pcaps[0], check=False)
    res.check(p.returncode == 0, "rec-1 imports the first capture: %s" % p.stderr[-500:])
    res.check(os.path.exists(os.path.join(rec, "keys", "kek.keys")),
              "rec-1's KEK is in its keyring file")
    p = es("archive", "run", "--now", "2099-01-01T00:00:00Z", check=False)
    res.check(p.returncode == 0, "rec-1 moves its recordings to the bucket: %s" % p.stderr[-300:])
    old = sorted(recordings().values(), key=lambda c: c["id"])
    res.check(len(old) >= 3, "the first capture gave recordings (%d)" % len(old))
    web_dir, stale_dir = os.path.join(work, "web"), os.path.join(work, "stale")
    for d in (web_dir, stale_dir):
        os.makedirs(d, mode=0o700)
        keyring_copy(d)
    own = serve(rec, EARSHOT_NODE="rec-1", **s3env())
    web = serve(web_dir, **s3env())
    stale = serve(stale_dir, **s3env())
    plays(own, old[0], "the recorder's own serve")
    plays(web, old[0], "the web node")
    plays(stale, old[0], "the node whose keyring will stay old")

    st, _, sb = get(web, "/api/calls?text=zulu")
    row = psql("SELECT wrapped FROM tr_search_key")
    res.check(st == 200 and row.startswith("v1:"),
              "a node with the KEK makes the search key, wrapped: %d %r" % (st, row[:20]))

    # ---- rotation on the recorder, new recordings after it -------------------------------
    first = json.loads(es("keys", "status", "--json").stdout)["kek_current"]
    p = es("keys", "rotate", check=False)
    cur = json.loads(es("keys", "status", "--json").stdout)["kek_current"]
    res.check(p.returncode == 0 and cur != first and "rewritten in the index" in p.stdout,
              "rec-1 rotates (%s -> %s) and rewraps the index's copies: %s %s"
              % (first, cur, p.stdout.strip(), p.stderr[-300:]))
    rows = psql("SELECT wrapped FROM rec_keys").splitlines()
    res.check(rows and all(r.startswith("v1:%s:" % cur) for r in rows),
              "every index copy is wrapped by the new KEK")
    keyring_copy(web_dir)  # the operator's step on each web node
    p = es("import", "--json", "--no-progress", "-c", conf, pcaps[1], check=False)
    res.check(p.returncode == 0, "rec-1 imports the second capture: %s" % p.stderr[-500:])
    p = es("archive", "run", "--now", "2099-01-01T00:00:00Z", check=False)
    res.check(p.returncode == 0, "and moves them to the bucket: %s" % p.stderr[-300:])
    new = sorted((c for c in recordings().values() if c["id"] not in {o["id"] for o in old}),
                 key=lambda c: c["id"])
    res.check(len(new) >= 1, "the second capture gave recordings (%d)" % len(new))

    # ---- no restart: both play old (rewrapped, not cached) and new recordings ------------
    for port, what in ((own, "the recorder's own serve"), (web, "the web node")):
        plays(port, old[1], what + ", after the rotation, an old recording")
        plays(port, new[0], what + ", a new recording")

    # ---- the node given only the old KEK: 503 no_kek naming the new KEK ----------------
    for path in ("/api/calls/%d/audio" % old[2]["id"], "/api/calls/%d/audio" % new[0]["id"],
                 "/api/calls/%d/export?format=wav" % new[0]["id"],
                 "/api/calls/%d/peaks" % new[0]["id"]):
        st, _, body = get(stale, path)
        res.check(st == 503 and code(body) == "no_kek" and cur.encode() in body,
                  "the node with the old keyring only: %s 503 no_kek naming KEK %s: %d %s"
                  % (path, cur, st, body[:300]))
    # and once given the new keyring, it plays without a restart
    keyring_copy(stale_dir)
    plays(stale, new[0], "the stale node once given the new keyring")

    for port, p in procs:
        rc, err = http_stop(p)
        res.check(rc == 0, "serve %d stops cleanly: %s %s" % (port, rc, err[-300:]))

shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
