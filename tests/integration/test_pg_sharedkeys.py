"""Any web node plays any recording (issue #16): data keys shared through
the index.  One PostgreSQL index, one Swift bucket (s3server.py), a recorder
node (rec-1, `earshot import` of a generated capture, encrypted, its own
data folder and prefix) and `earshot serve` web nodes whose data folders
are empty: they have only the KEK ($EARSHOT_KEK, shared with the recorder),
the index URL and S3 credentials of their own (AWS_* in the environment).

- the recorder writes each recording's wrapped key (v1:<kek id>:..., never a
  plaintext key) into the index, and its bucket without credentials into
  the nodes table;
- the web node plays (whole file: its SHA-256 is the plaintext's in the
  index; and a Range), exports (WAV) and verifies an archived recording of
  rec-1 from rec-1's bucket;
- a recording still in rec-1's data folder: a clear 503 "elsewhere" naming
  the node, not a crash and not "shredded";
- a web node without the KEK: 503 "no_kek" naming what is missing;
- the index's rows deleted: the web node cannot open it (410), `earshot keys
  publish` on the recorder puts them back (the backfill of recordings made
  before this version) and it plays again;
- `keys shred` on the recorder deletes the index's row too: the web node
  answers 410 at once (its cached key is dropped).
Before this change the web node answered 410 for every recording (it had
no key for any).
- everything else about an archived recording from the empty web node,
  through the way the audio endpoint reaches it: its waveform (peaks), a
  clip of it, the ZIP export with its transcripts, its transcript and the
  text search's hits (the recorder transcribes through the whisper
  stand-in before archiving; its sealed words files go to the bucket
  beside the recording); the same 503s (elsewhere, no_kek) for each where
  the bytes cannot be reached; a transcript made after its recording was
  archived follows it.
  Before: peaks and clips answered 410, the ZIP and the transcript had no
  words, the evidence bundle a 500, the CLI could not find the file.
- its evidence bundle from the empty web node, built from the ledger rec-1
  published to its bucket (`archive run`: ledger.pub, entries and heads
  segments, never the key) and checked by earshot-verify-evidence with
  rec-1's key, with the same leaf, proof, head and key as rec-1's own
  bundle; 503 not_published with Retry-After while its head is not in the
  bucket; a tampered published copy refused (`earshot export --evidence`
  on another empty folder, exit 1 naming the node) and, restored, the CLI
  builds it too.  Before: 503 "elsewhere" (the ledger was rec-1's only).
- words files of a recording archived before they went with it (deleted
  from the bucket here): the web node shows no transcript until `earshot
  archive words` puts them back; a redaction removes the bucket's copies
  of the original's words.  Before: no such command; the stale copies
  stayed.
About 60 s on a loaded 2-core machine (PostgreSQL and Swift start; 40 s before
the published ledger and words checks): the
Release half."""
import base64
import concurrent.futures
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, PgCluster, Results, free_port, http_req,  # noqa: E402
                    http_stop, http_wait_up, run, skip, tmpdir)
import s3server  # noqa: E402
from asrstandin import StandIn  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)
if s3server.available():
    skip("no S3 server: missing %s" % ", ".join(s3server.available()))

PW = "correct horse battery"
KEK = base64.b64encode(os.urandom(32)).decode()
res = Results()
work = tmpdir("earshot-sharedkeys-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--truth", os.path.join(work, "truth.json"), "--seed", "11",
     "--calls", "4", "--duration", "4"])


def env(**kw):
    e = dict(os.environ, EARSHOT_INDEX=url)
    for k in ("EARSHOT_KEK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "EARSHOT_NODE"):
        e.pop(k, None)
    e.update(kw)
    return e


def es(data, *args, check=True, **kw):
    return run([EARSHOT, "--data", data] + list(args), check=check,
               env=env(EARSHOT_KEK=KEK, EARSHOT_NODE="rec-1"), **kw)


def psql(sql):
    return run(["psql", "-Atc", sql, url], check=False).stdout.strip()


def serve(data, **kw):
    port = free_port()
    p = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "127.0.0.1:%d" % port],
                         env=env(**kw), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    up = http_wait_up("127.0.0.1", port, p)
    if not res.check(up, "web node on port %d is up" % port):
        p.kill()
        print(p.communicate()[1][-2000:])
        res.finish()
    return port, p


def get(port, path, **hdr):
    return http_req("127.0.0.1", port, "GET", path, headers=dict(auth, **hdr), raw=True)


def code(body):
    """The "error" of an API error body (raw bytes)."""
    try:
        return json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None


with PgCluster() as pg, s3server.S3Server() as s3:
    url = pg.fresh()
    s3.make_bucket("calls")
    rec = os.path.join(work, "rec-1")
    conf = os.path.join(work, "rec.conf")
    # the whisper stand-in "hears" the same words on every channel (the
    # generated calls have no talkgen bursts to tell them apart)
    si = StandIn("whisper")
    said = [("refund", 0.2, 0.6), ("zulu", 0.6, 1.0)]
    si.script = {"alpha": said, "bravo": said}
    with open(conf, "w") as f:
        f.write("[earshot]\nblobs = s3://calls/rec-1\narchive_after = 3650d\n")
        f.write(s3.conf("calls"))
        f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n" % si.start())

    # ---- the recorder: four recordings, two of them moved to the bucket --------------
    p = es(rec, "import", "--json", "--no-progress", "-c", conf, pcap, check=False)
    res.check(p.returncode == 0, "rec-1 imports the capture: %s" % p.stderr[-500:])
    calls = [c for c in json.loads(es(rec, "calls", "--json").stdout) if c.get("recording")]
    res.check(len(calls) >= 3, "the capture gave recordings (%d)" % len(calls))
    es(rec, "transcribe", "--query", "source=import")
    p = es(rec, "transcribe", "run", "-c", conf, "--once", check=False)
    res.check(p.returncode == 0, "rec-1 transcribes its recordings: %s" % p.stderr[-300:])
    p = es(rec, "archive", "run", "--now", "2099-01-01T00:00:00Z", "--max", "2", check=False)
    res.check(p.returncode == 0, "two recordings move to the bucket: %s" % p.stderr[-300:])
    calls = {c["id"]: c for c in json.loads(es(rec, "calls", "--json").stdout)
             if c.get("recording")}

    def archived(c):
        return not os.path.exists(os.path.join(rec, c["recording"]["path"]))
    arch = [c for c in calls.values() if archived(c)]
    local = [c for c in calls.values() if not archived(c)]
    res.check(len(arch) == 2 and local, "2 archived, %d local" % len(local))

    rows = psql("SELECT path, wrapped, node FROM rec_keys ORDER BY path").splitlines()
    res.check(len(rows) == len(calls) and all(r.split("|")[1].startswith("v1:env:")
                                              and r.endswith("|rec-1") for r in rows),
              "each recording's wrapped key is in the index, wrapped by the KEK: %s"
              % [r[:60] for r in rows])
    deks = sorted(os.listdir(os.path.join(rec, "keys", "dek")))
    res.check(all(open(os.path.join(rec, "keys", "dek", d)).read().strip()
                  in [r.split("|")[1] for r in rows] for d in deks),
              "the index holds the same wrapped text as the data folder")
    blobs = psql("SELECT blobs FROM nodes WHERE name = 'rec-1'")
    res.check("bucket = calls" in blobs and "prefix = rec-1" in blobs and s3.endpoint in blobs,
              "rec-1 published its bucket: %r" % blobs)
    res.check(s3.secret_key not in blobs and s3.access_key not in blobs
              and "secret" not in blobs, "and no credentials with it")

    # ---- a user and the web nodes with empty data folders --------------------------------
    admin = os.path.join(work, "admin")
    run([EARSHOT, "--data", admin, "user", "add", "admin1", "--role", "admin",
         "--password-stdin"], input=PW + "\n", env=env())
    tok = json.loads(run([EARSHOT, "--data", admin, "user", "token", "admin1", "--json"],
                         env=env()).stdout)["token"]
    auth = {"Authorization": "Bearer " + tok}
    web_dir, bare_dir = os.path.join(work, "web"), os.path.join(work, "bare")
    os.makedirs(web_dir, mode=0o700)
    os.makedirs(bare_dir, mode=0o700)
    web, web_p = serve(web_dir, EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                       AWS_SECRET_ACCESS_KEY=s3.secret_key)
    bare, bare_p = serve(bare_dir, AWS_ACCESS_KEY_ID=s3.access_key,
                         AWS_SECRET_ACCESS_KEY=s3.secret_key)

    a, lc = arch[0], local[0]
    # a transcript made after its recording moved follows it to the bucket
    si.script = {"alpha": [("yankee", 0.2, 0.6)], "bravo": [("yankee", 0.2, 0.6)]}
    es(rec, "transcribe", str(arch[1]["id"]))
    p = es(rec, "transcribe", "run", "-c", conf, "--once", check=False)
    si.stop()
    st, _, tb = get(web, "/api/calls/%d/transcript" % arch[1]["id"])
    res.check(p.returncode == 0 and st == 200 and b"yankee" in tb,
              "a transcript made after the recording was archived reaches the web node: %d %s %s"
              % (st, tb[:200], p.stderr[-300:]))
    # ---- everything else about it, from the same empty web node (first: the export
    # below leaves a checked copy in DATA/cache that the old code found too) --------------
    words = os.path.join(rec, "transcripts", a["recording"]["path"] + ".caller.json")
    st, _ = s3.curl("GET", "/calls/rec-1/transcripts/%s.caller.json" % a["recording"]["path"],
                    check=False)
    res.check(os.path.exists(words) and st == 200,
              "rec-1 archived its words file beside the recording (and kept its own)")
    st, _, pb = get(web, "/api/calls/%d/peaks?points=50" % a["id"])
    pk = json.loads(pb) if st == 200 else {}
    res.check(st == 200 and pk.get("points") == 50 and pk.get("peaks"),
              "the web node draws its waveform: %d %s" % (st, pb[:200]))
    st, _, cb = http_req("127.0.0.1", web, "POST", "/api/calls/%d/clips" % a["id"],
                         body={"start_ms": 500, "end_ms": 1500}, headers=auth)
    cid = cb.get("id") if st == 201 else None
    res.check(cid is not None, "a clip of it is made: %d %s" % (st, cb))
    st, _, clip = get(web, "/api/clips/%s/audio" % cid)
    res.check(st == 200 and clip[:4] == b"RIFF", "and plays: %d %r" % (st, clip[:120]))
    st, _, tb = get(web, "/api/calls/%d/transcript" % a["id"])
    res.check(st == 200 and b"zulu" in tb, "the web node reads its transcript (the sealed "
              "words from rec-1's bucket): %d %s" % (st, tb[:300]))
    # many readers of one transcript at once (a team opening the same call):
    # each fetch of the words file must not take another's copy away
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        many = list(pool.map(lambda _: get(web, "/api/calls/%d/transcript" % a["id"]),
                             range(16)))
    bad = [(st, tb[:120]) for st, _, tb in many if st != 200 or b"zulu" not in tb]
    res.check(not bad, "16 concurrent reads of the transcript, %d failed: %s"
              % (len(bad), bad[:3]))
    st, _, sb = get(web, "/api/calls?text=zulu")
    hits = json.loads(sb).get("hits", {}) if st == 200 else {}
    res.check(st == 200 and hits.get(str(a["id"])), "the text search's snippets of it: %d %s"
              % (st, sb[:300]))
    st, _, zb = http_req("127.0.0.1", web, "POST", "/api/export.zip",
                         body={"ids": [str(a["id"])], "format": "wav"}, headers=auth, raw=True)
    names = zipfile.ZipFile(io.BytesIO(zb)).namelist() if st == 200 else []
    tr = [n for n in names if ".transcript." in n]
    res.check(st == 200 and "call-%d.wav" % a["id"] in names and len(tr) == 2,
              "the ZIP export holds its audio and both transcripts: %d %s %s"
              % (st, names, zb[:200] if st != 200 else ""))
    # ---- its evidence bundle, from the ledger rec-1 published to its bucket -------------
    objs = "/calls/rec-1/ledger/"
    # the transcript leaves made since: published at rec-1's next pass
    p = es(rec, "archive", "run", "--json", check=False)
    res.check(p.returncode == 0 and json.loads(p.stdout or "{}").get("ledger_leaves", 0) > 0,
              "`archive run` publishes the ledger's new leaves: %s %s"
              % (p.stdout, p.stderr[-300:]))
    st, pub = s3.curl("GET", objs + "ledger.pub", check=False)
    res.check(st == 200 and pub == open(os.path.join(rec, "ledger", "ledger.pub"), "rb").read(),
              "`archive run` published rec-1's ledger.pub to the bucket: %d" % st)
    seg_h = os.path.join(work, "heads.seg")
    st, hseg = s3.curl("GET", objs + "heads/000000000000", check=False)
    st2, eseg = s3.curl("GET", objs + "entries/000000000000", check=False)
    res.check(st == 200 and st2 == 200 and eseg == open(os.path.join(
        rec, "ledger", "entries.log"), "rb").read()[:len(eseg)] and eseg.count(b"\n") >= 4,
        "and its signed leaves and heads, as they are in its data folder: %d %d" % (st, st2))
    res.check(not any(b"ledger-key" in x or b"secret" in x for x in (pub, hseg, eseg)),
              "and never its signing key")
    with open(seg_h, "wb") as f:
        f.write(hseg)
    # a leaf whose head is not published yet: 503 with a retry hint
    s3.curl("DELETE", objs + "heads/000000000000")
    st, eh, eb = get(web, "/api/calls/%d/evidence" % a["id"])
    res.check(st == 503 and code(eb) == "not_published" and eh.get("retry-after"),
              "a leaf not yet under a published head: 503 not_published, Retry-After %s: %d %s"
              % (eh.get("retry-after"), st, eb[:300]))
    s3.curl("PUT", objs + "heads/000000000000", data_file=seg_h)
    st, _, eb = get(web, "/api/calls/%d/evidence" % a["id"])
    ev = os.path.join(work, "evidence-web.zip")
    with open(ev, "wb") as f:
        f.write(eb)
    vev = os.path.join(BUILD, "earshot-verify-evidence")
    vp = run([vev, "--key", os.path.join(rec, "ledger", "ledger.pub"), ev], check=False)
    res.check(st == 200 and vp.returncode == 0,
              "the empty web node builds its evidence bundle, and earshot-verify-evidence checks "
              "it against rec-1's key: %d %s %s" % (st, eb[:200] if st != 200 else b"",
                                                     (vp.stdout + vp.stderr)[-400:]))
    zn = zipfile.ZipFile(ev).namelist() if st == 200 else []
    res.check("transcript.caller.json" in zn and "transcript.caller.proof.txt" in zn,
              "with its transcripts and their proofs: %s" % zn)
    # the same bundle as the recorder makes
    rev = os.path.join(work, "evidence-rec")
    es(rec, "export", "--evidence", str(a["id"]), "-o", rev)
    if st == 200:
        z = zipfile.ZipFile(ev)
        same = all(z.read(n) == open(os.path.join(rev, n), "rb").read()
                   for n in ("leaf.txt", "proof.txt", "head.txt", "ledger.pub", "metadata.json"))
        res.check(same, "its leaf, proof, head, key and metadata are the recorder's own bundle's")
    # a tampered published copy is refused (the CLI, on another empty folder)
    bad = bytearray(eseg if b"cipher=" in eseg else b"cipher=0")
    i = bad.index(b"cipher=") + 7
    bad[i:i + 1] = b"0" if bad[i:i + 1] != b"0" else b"1"
    seg_e = os.path.join(work, "entries.seg")
    with open(seg_e, "wb") as f:
        f.write(bytes(bad))
    s3.curl("PUT", objs + "entries/000000000000", data_file=seg_e)
    cli2 = os.path.join(work, "cli2")
    os.makedirs(cli2, mode=0o700)
    out_ev = os.path.join(work, "tampered.zip")
    p = run([EARSHOT, "--data", cli2, "export", "--evidence", str(a["id"]), "-o", out_ev],
            check=False, env=env(EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                                 AWS_SECRET_ACCESS_KEY=s3.secret_key))
    res.check(p.returncode == 1 and "altered" in p.stderr and "rec-1" in p.stderr
              and not os.path.exists(out_ev),
              "a tampered published ledger is refused with a clear error, no bundle: %d %s"
              % (p.returncode, p.stderr[-400:]))
    with open(seg_e, "wb") as f:
        f.write(eseg)
    s3.curl("PUT", objs + "entries/000000000000", data_file=seg_e)
    p = run([EARSHOT, "--data", cli2, "export", "--evidence", str(a["id"]), "-o", out_ev],
            check=False, env=env(EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                                 AWS_SECRET_ACCESS_KEY=s3.secret_key))
    vp = run([vev, "--key", os.path.join(rec, "ledger", "ledger.pub"), out_ev], check=False)
    res.check(p.returncode == 0 and vp.returncode == 0,
              "restored, `earshot export --evidence` on a folder that is not the recorder's: "
              "%d %s %s" % (p.returncode, p.stderr[-300:], vp.stdout[-200:]))
    # ---- an archived recording: play, range, export, verify -------------------------------
    st, hdrs, body = get(web, "/api/calls/%d/audio" % a["id"])
    res.check(st == 200 and hashlib.sha256(body).hexdigest() == a["recording"]["plain_sha256"],
              "the web node plays rec-1's archived recording: %d, %d bytes, plaintext SHA-256 "
              "%s the index's" % (st, len(body), "matches" if st == 200 and hashlib.sha256(
                  body).hexdigest() == a["recording"]["plain_sha256"] else "differs from"))
    st, hdrs, part = get(web, "/api/calls/%d/audio" % a["id"], Range="bytes=100-1099")
    res.check(st == 206 and part == body[100:1100], "a Range of it: %d" % st)
    st, hdrs, wav = get(web, "/api/calls/%d/export?format=wav" % a["id"])
    res.check(st == 200 and wav[:4] == b"RIFF", "the web node exports it as WAV: %d %r"
              % (st, wav[:120]))
    st, _, vb = get(web, "/api/calls/%d/verify" % a["id"])
    v = json.loads(vb) if st == 200 else {}
    bad = [f for f in v.get("findings", []) if f.get("finding")]
    res.check(st == 200 and v.get("ok") and not bad,
              "the web node verifies it (file and plaintext hashes): %d %s" % (st, vb[:600]))
    # the CLI on the web node's folder: `earshot export` with the audio and
    # the transcripts beside it, as on the recorder
    cli_dir = os.path.join(work, "cli")
    os.makedirs(cli_dir, mode=0o700)
    out = os.path.join(work, "a.wav")
    p = run([EARSHOT, "--data", cli_dir, "export", str(a["id"]), "-o", out], check=False,
            env=env(EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                    AWS_SECRET_ACCESS_KEY=s3.secret_key))
    beside = os.path.join(work, "call-%d.transcript.caller.json" % a["id"])
    res.check(p.returncode == 0 and open(out, "rb").read(4) == b"RIFF" and os.path.exists(beside)
              and "zulu" in open(beside).read(),
              "`earshot export` on a folder that is not the recorder's: audio and transcripts: "
              "%d %s" % (p.returncode, p.stderr[-400:]))
    p = run([EARSHOT, "--data", cli_dir, "transcribe", "show", str(a["id"]), "--json"],
            check=False, env=env(EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                                 AWS_SECRET_ACCESS_KEY=s3.secret_key))
    res.check(p.returncode == 0 and "zulu" in p.stdout, "and `earshot transcribe show`: %d %s"
              % (p.returncode, (p.stdout + p.stderr)[-300:]))
    p = run([EARSHOT, "--data", cli_dir, "export", str(lc["id"]), "-o", out + "2"], check=False,
            env=env(EARSHOT_KEK=KEK, AWS_ACCESS_KEY_ID=s3.access_key,
                    AWS_SECRET_ACCESS_KEY=s3.secret_key))
    res.check(p.returncode == 1 and "kept by node rec-1" in p.stderr,
              "and of a recording still on rec-1: exit 1 naming the node: %d %s"
              % (p.returncode, p.stderr[-300:]))
    res.check(not os.path.exists(os.path.join(web_dir, "keys")),
              "the web node made no keys of its own")

    # ---- a recording still in rec-1's data folder ------------------------------------------
    st, _, body2 = get(web, "/api/calls/%d/audio" % lc["id"])
    res.check(st == 503 and code(body2) == "elsewhere" and b"rec-1" in body2,
              "a recording only in rec-1's folder: a clear 503 naming the node: %d %s"
              % (st, body2[:300]))
    st, _, cb = http_req("127.0.0.1", web, "POST", "/api/calls/%d/clips" % lc["id"],
                         body={"start_ms": 500, "end_ms": 1500}, headers=auth)
    lcid = cb.get("id") if st == 201 else None
    for path in ("/api/calls/%d/peaks" % lc["id"], "/api/calls/%d/evidence" % lc["id"],
                 "/api/clips/%s/audio" % lcid):
        st, _, body2 = get(web, path)
        res.check(st == 503 and code(body2) == "elsewhere" and b"rec-1" in body2,
                  "and %s: the same 503: %d %s" % (path, st, body2[:300]))

    # ---- a web node without the KEK -----------------------------------------------------
    st, _, body3 = get(bare, "/api/calls/%d/audio" % a["id"])
    res.check(st == 503 and code(body3) == "no_kek" and b"EARSHOT_KEK" in body3,
              "a web node without the KEK: 503 no_kek naming what is missing: %d %s"
              % (st, body3[:300]))
    for path in ("/api/calls/%d/export?format=wav" % a["id"], "/api/calls/%d/peaks" % a["id"],
                 "/api/calls/%d/evidence" % a["id"], "/api/clips/%s/audio" % cid):
        st, _, body3 = get(bare, path)
        res.check(st == 503 and code(body3) == "no_kek", "and %s too: %d %s"
                  % (path, st, body3[:300]))

    # ---- words files of a recording archived before they went with it: the backfill ------
    wkeys = ["/calls/rec-1/transcripts/%s.%s.json" % (a["recording"]["path"], ch)
             for ch in ("caller", "callee")]
    for k in wkeys:
        s3.curl("DELETE", k)
    st, _, tb = get(web, "/api/calls/%d/transcript" % a["id"])
    res.check(b"zulu" not in tb, "without its words in the bucket the web node shows none: %d"
              % st)
    p = es(rec, "archive", "words", "--json", check=False)
    wj = json.loads(p.stdout) if p.returncode == 0 else {}
    res.check(p.returncode == 0 and wj.get("put") == 2,
              "`earshot archive words` puts the two missing words files: %d %s %s"
              % (p.returncode, p.stdout, p.stderr[-300:]))
    st, _, tb = get(web, "/api/calls/%d/transcript" % a["id"])
    res.check(st == 200 and b"zulu" in tb, "and the web node shows its transcript: %d %s"
              % (st, tb[:200]))
    p = es(rec, "archive", "words", "--json", check=False)
    res.check(p.returncode == 0 and json.loads(p.stdout or "{}").get("put") == 0,
              "a second run puts nothing: %s" % p.stdout)
    # rec-1 loses its record of what it published: the bucket's segments are read
    # back and compared, nothing is put twice
    os.unlink(os.path.join(rec, "ledger", "published.txt"))
    p = es(rec, "archive", "run", "--json", check=False)
    lj = json.loads(p.stdout or "{}")
    nleaves = sum(1 for _ in open(os.path.join(rec, "ledger", "entries.log")))
    res.check(p.returncode == 0 and lj.get("ledger_leaves") == 0
              and lj.get("ledger_published") == nleaves,
              "a lost published.txt: the bucket's copy is read back, nothing put twice: %s %s"
              % (p.stdout, p.stderr[-300:]))
    # a redaction moves the words to the redacted recording: the bucket's copies
    # of the original's go
    p = es(rec, "redact", str(a["id"]), "--from", "0.1", "--to", "0.3", "--reason", "test",
           check=False)
    st, _ = s3.curl("GET", wkeys[0], check=False)
    res.check(p.returncode == 0 and st == 404,
              "after a redaction the bucket no longer holds the original's words files: %d %d %s"
              % (p.returncode, st, p.stderr[-300:]))

    # ---- the backfill: rows lost (or made before this version), then keys publish ---------
    b = arch[1]
    psql("DELETE FROM rec_keys")
    st, _, body4 = get(web, "/api/calls/%d/audio" % b["id"])
    res.check(st == 410, "without its row the web node cannot open it: %d %s" % (st, body4[:200]))
    p = es(rec, "keys", "publish", check=False)
    # (and the redacted version's, made above)
    res.check(p.returncode == 0 and ("%d wrapped data keys published" % (len(calls) + 1))
              in p.stdout,
              "keys publish puts every key back: %s %s" % (p.stdout, p.stderr))
    st, _, body4 = get(web, "/api/calls/%d/audio" % b["id"])
    res.check(st == 200 and hashlib.sha256(body4).hexdigest() == b["recording"]["plain_sha256"],
              "and the web node plays it again: %d" % st)

    # ---- shredding on the recorder reaches every node ----------------------------------------
    p = es(rec, "keys", "shred", str(b["id"]), "--yes", check=False)
    res.check(p.returncode == 0, "rec-1 shreds call %d: %s" % (b["id"], p.stderr[-300:]))
    res.check(psql("SELECT count(*) FROM rec_keys WHERE path = '%s'"
                   % b["recording"]["path"]) == "0", "the shred deleted the index's row")
    for path in ("/api/calls/%d/audio" % b["id"], "/api/calls/%d/export?format=wav" % b["id"]):
        st, _, body5 = get(web, path)
        res.check(st in (404, 410), "after the shred %s on the web node: %d %s"
                  % (path, st, body5[:200]))

    for port, p in ((web, web_p), (bare, bare_p)):
        rc, err = http_stop(p)
        res.check(rc == 0, "web node %d stops cleanly: %s %s" % (port, rc, err[-300:]))

shutil.rmtree(work, ignore_errors=True)
sys.exit(res.finish())
