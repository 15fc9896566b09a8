"""DATA/cache of archived recordings is bounded (#15/#16 follow-up): every
read of an archived recording (export, play, the API's audio) fetches the
object into DATA/cache, which nothing evicted before.  With [s3]
cache_max_bytes (saved with the bucket in DATA/keys/blobs.conf) a fetch
removes the least recently used copies until the cache fits, never the one
just fetched; a copy read again counts as used now.  Real Swift s3api
server (tests/integration/s3server.py).

Also: a hold placed while a recording is still local is applied to its
object at upload, and a release clears the object's hold, where the bucket
has Object Lock; Swift's s3api has none, so this checks only that both
paths leave uploads and releases working on such a bucket (the hold stays
the index's and the ledger's), not the Object Lock requests themselves."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import BUILD, Results, calls_json, earshot, import_capture, run, skip, tmpdir  # noqa: E402
import s3server  # noqa: E402

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-s3-cache-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "5", "--duration", "4"])


def cached(data):
    out = {}
    root = os.path.join(data, "cache")
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


def conf_file(s3, name, extra=""):
    path = os.path.join(work, name + ".conf")
    with open(path, "w") as f:
        f.write("[earshot]\nblobs = s3://rec/c1\n")
        f.write(s3.conf("rec") + extra)
    return path


with s3server.S3Server() as s3:
    s3.make_bucket("rec")
    data = os.path.join(work, "data")
    p, _ = import_capture(data, pcap, extra=("-c", conf_file(s3, "plain")))
    recs = sorted((c["id"], c["recording"]) for c in calls_json(data) if c.get("recording"))
    res.check(p.returncode == 0 and len(recs) >= 4, "recordings archived: %d %s"
              % (len(recs), p.stderr[-300:]))
    biggest = max(r["bytes"] for _, r in recs)
    cap = 2 * biggest + biggest // 2  # room for two copies, not three
    conf = conf_file(s3, "capped", "cache_max_bytes = %d\n" % cap)
    r = earshot(data, "archive", "run", "-c", conf, check=False)
    res.check(r.returncode == 0, "archive run -c with cache_max_bytes: %d %s"
              % (r.returncode, r.stderr.strip()[-300:]))

    order = []
    for i, (cid, rec) in enumerate(recs):
        out = os.path.join(work, "x%d.wav" % cid)
        e = earshot(data, "export", str(cid), "-o", out, check=False)
        res.check(e.returncode == 0 and os.path.getsize(out) > 1000,
                  "export of archived call %d: %s" % (cid, e.stderr[-200:]))
        order.append(rec["path"])
        c = cached(data)
        total = sum(c.values())
        res.check(total <= cap, "after %d exports the cache holds %d bytes (cap %d): %s"
                  % (i + 1, total, cap, sorted(c)))
        res.check(rec["path"] in c, "the copy just fetched stays: %s" % rec["path"])
        if i == 1:
            # the first one read again: now the most recently used
            time.sleep(0.05)
            earshot(data, "export", str(recs[0][0]), "-o", out)
            order.append(recs[0][1]["path"])
        time.sleep(0.05)
    c = cached(data)
    print("s3-cache: %d recordings of at most %d bytes, cap %d; cached at the end: %s"
          % (len(recs), biggest, cap, sorted(c)))
    # the first was used again after the second: the second went first
    res.check(recs[1][1]["path"] not in c, "the least recently used copy was evicted")
    res.check(len(c) == 2 and recs[-1][1]["path"] in c and recs[-2][1]["path"] in c,
              "the two most recently used copies stay: %s" % sorted(c))
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes: %s" % v.stdout[-300:])

    bad = conf_file(s3, "bad", "cache_max_bytes = lots\n")
    r = earshot(data, "archive", "run", "-c", bad, check=False)
    res.check(r.returncode == 2 and "cache_max_bytes" in r.stderr,
              "a bad cache_max_bytes is refused: %d %s" % (r.returncode, r.stderr.strip()))

    # ---- a hold placed before upload; its release ----------------------------------
    data = os.path.join(work, "held")
    conf = conf_file(s3, "late", "cache_max_bytes = %d\n" % cap)
    with open(conf) as f:
        text = f.read().replace("blobs = s3://rec/c1\n", "blobs = s3://rec/c2\narchive_after = 400d\n")
    with open(conf, "w") as f:
        f.write(text)
    p, _ = import_capture(data, pcap, extra=("-c", conf))
    n = len([c for c in calls_json(data) if c.get("recording")])
    earshot(data, "hold", "add", "case-9", "--reason", "inquiry", "--call", "1")
    r = earshot(data, "archive", "run", "--now", "2027-03-01", "--json", check=False)
    res.check(r.returncode == 0 and '"moved":%d' % n in r.stdout,
              "a held recording is uploaded like the others on a bucket without Object Lock: "
              "%s %s" % (r.stdout, r.stderr[-300:]))
    d = earshot(data, "delete", "1", "--yes", check=False)
    res.check(d.returncode == 6, "the held, archived recording is not deleted: %d" % d.returncode)
    r = earshot(data, "hold", "release", "case-9", "--reason", "closed", check=False)
    res.check(r.returncode == 0, "release: %d %s" % (r.returncode, r.stderr))
    d = earshot(data, "delete", "1", "--yes", check=False)
    res.check(d.returncode == 0, "after the release it is deleted: %d %s" % (d.returncode, d.stderr))
    v = earshot(data, "verify", check=False)
    res.check(v.returncode == 0, "verify passes: %s" % v.stdout[-300:])
res.finish()
