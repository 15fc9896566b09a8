"""`earshot backup` and `earshot restore` end to end (docs/OPERATIONS.md),
on calls imported from a generated capture:

- back up into a folder (the JSON summary, progress on stderr, a manifest
  signed with the ledger's key), wipe the data folder, restore: verify
  passes, the calls list the same and every call exports the same audio;
- a second backup copies nothing new; after more calls, only what is new;
- a backup taken while an import writes restores to a folder that verify
  passes (rows, leaves and recordings of one consistent state);
- a flipped byte in a backed-up file, a tampered manifest, a manifest
  signed by another key (--pub), a missing file and a non-empty target are
  each refused with an error naming what failed, and nothing is restored."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from estest import (BUILD, EARSHOT, Results, calls_json, earshot, import_capture,  # noqa: E402
                    run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-backup-")
os.chmod(work, 0o700)


def capture(name, seed, calls, duration="8"):
    path = os.path.join(work, name + ".pcap")
    run([GEN, "-o", path, "--seed", str(seed), "--calls", str(calls), "--duration", duration])
    return path


def exports(data):
    """Each call's recording exported as WAV: {call id: SHA-256 of the file}."""
    out = {}
    for c in calls_json(data):
        if not c.get("recording"):
            continue
        wav = os.path.join(work, "x.wav")
        if os.path.exists(wav):
            os.unlink(wav)
        p = earshot(data, "export", str(c["id"]), "-o", wav, check=False)
        out[c["id"]] = hashlib.sha256(open(wav, "rb").read()).hexdigest() if p.returncode == 0 else p.stderr
    return out


def manifest(dest):
    with open(os.path.join(dest, "manifest.json")) as f:
        return json.load(f)


def blob(dest, path):
    sha = [f for f in manifest(dest)["files"] if f["path"] == path][0]["sha256"]
    return os.path.join(dest, "blobs", sha[:2], sha)


def restore(src, target, *extra):
    return run([EARSHOT, "--data", target, "restore", *extra, src], check=False)


data = os.path.join(work, "data")
p, _ = import_capture(data, capture("a", 5, 4))
res.check(p.returncode == 0, "import: %s" % p.stderr)
before_calls = calls_json(data)
before_audio = exports(data)
res.check(len(before_audio) >= 4 and all(len(v) == 64 for v in before_audio.values()),
          "the calls export before the backup: %s" % before_audio)

# ---- a backup into a folder --------------------------------------------------------
dest = os.path.join(work, "backup")
b = earshot(data, "backup", "--json", dest, check=False)
res.check(b.returncode == 0, "backup exits 0: %s" % b.stderr)
summary = json.loads(b.stdout) if b.returncode == 0 else {}
m = manifest(dest) if os.path.exists(os.path.join(dest, "manifest.json")) else {"files": []}
paths = {f["path"] for f in m["files"]}
recs = {c["recording"]["path"] for c in before_calls if c.get("recording")}
res.check({"index.sqlite", "ledger/entries.log", "ledger/heads.log", "ledger/ledger.pub",
           "keys/kek.keys"} <= paths and recs <= paths,
          "the manifest lists the index, ledger, keys and every recording: %s" % sorted(paths))
res.check(summary.get("files") == len(paths) and summary.get("copied") == len(paths),
          "the summary counts the files, all copied: %s" % summary)
res.check("done" in b.stderr, "progress on stderr: %r" % b.stderr)
res.check(all(hashlib.sha256(open(blob(dest, f["path"]), "rb").read()).hexdigest() == f["sha256"]
              for f in m["files"]), "every file is stored under its SHA-256")
res.check(open(os.path.join(dest, "manifest.sig")).read().startswith("earshot-backup-sig-v1 " + m.get("key_id", "?")),
          "the manifest is signed with the ledger's key id")
res.check(not os.path.exists(os.path.join(data, "run")) or
          not [d for d in os.listdir(os.path.join(data, "run")) if d.startswith("backup-")],
          "no staging left in the data folder")

# ---- wipe, restore, verify, play ----------------------------------------------------
shutil.rmtree(data)
r = restore(dest, data)
res.check(r.returncode == 0, "restore exits 0: %s%s" % (r.stdout, r.stderr))
res.check("0 findings" in r.stdout, "restore ran verify: %s" % r.stdout)
v = earshot(data, "verify", check=False)
res.check(v.returncode == 0, "verify passes on the restored folder: %s" % v.stdout)
res.check(calls_json(data) == before_calls, "the restored index lists the same calls")
res.check(exports(data) == before_audio, "every restored call exports the same audio")
res.check(oct(os.stat(os.path.join(data, "keys", "kek.keys")).st_mode & 0o777) == "0o600" and
          oct(os.stat(os.path.join(data, "keys")).st_mode & 0o777) == "0o700",
          "the keys are 0600 in a 0700 folder again")

# ---- incremental ---------------------------------------------------------------------
b2 = json.loads(earshot(data, "backup", "--json", dest).stdout)
res.check(b2["copied"] == 0 and b2["reused"] == b2["files"],
          "a second backup of the same state copies nothing: %s" % b2)
p, _ = import_capture(data, capture("b", 9, 2))
b3 = json.loads(earshot(data, "backup", "--json", dest).stdout)
res.check(0 < b3["copied"] < b3["files"] and b3["reused"] >= len(recs),
          "after more calls only the new files are copied: %s" % b3)
res.check(len([n for n in os.listdir(os.path.join(dest, "manifests")) if n.endswith(".json")]) == 3,
          "each snapshot's manifest is kept in manifests/")
after_more = calls_json(data)

# ---- backups while an import writes ---------------------------------------------------
# The importer appends each recording's leaf before it commits the row: a
# backup whose ledger read ends between the two used to hold leaves without
# rows ("row deleted" on restore).  Several backups during one import make
# that interleaving likely; each must restore and verify.
big = capture("c", 13, 24)
imp = subprocess.Popen([EARSHOT, "--data", data, "import", "--no-progress", big],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
lives = []
while len(lives) < 6 and (imp.poll() is None or not lives):
    live = os.path.join(work, "live-backup-%d" % len(lives))
    lives.append((live, earshot(data, "backup", live, check=False)))
imp.wait()
imp_err = imp.stderr.read()
res.check(imp.returncode == 0 and all(b.returncode == 0 for _, b in lives),
          "%d backups during an import: %s %s" % (len(lives), [b.stderr for _, b in lives], imp_err))
for i, (live, _) in enumerate(lives):
    target = os.path.join(work, "live-restored-%d" % i)
    r = restore(live, target)
    res.check(r.returncode == 0, "backup %d taken during an import restores and verifies: %s%s" %
              (i, r.stdout[-600:], r.stderr[-600:]))
    n_live = len(calls_json(target)) if r.returncode == 0 else -1
    res.check(len(after_more) <= n_live <= len(calls_json(data)),
              "backup %d holds the calls of one moment (%d, between %d and %d)" %
              (i, n_live, len(after_more), len(calls_json(data))))


# ---- refusals -----------------------------------------------------------------------
def copy_backup(name):
    d = os.path.join(work, name)
    shutil.copytree(dest, d)
    return d


rec_path = sorted(recs)[0]
bad = copy_backup("flipped")
with open(blob(bad, rec_path), "r+b") as f:
    f.seek(300)
    byte = f.read(1)
    f.seek(300)
    f.write(bytes([byte[0] ^ 1]))
target = os.path.join(work, "t1")
r = restore(bad, target)
res.check(r.returncode == 1 and rec_path in r.stderr and "altered" in r.stderr,
          "a flipped byte in a backed-up recording is named: %s" % r.stderr)
res.check(not os.path.exists(os.path.join(target, "index.sqlite")) and
          not os.path.exists(os.path.join(target, "recordings")), "nothing restored after it")

bad = copy_backup("flipped-index")
with open(blob(bad, "ledger/entries.log"), "r+b") as f:
    f.seek(10)
    byte = f.read(1)
    f.seek(10)
    f.write(bytes([byte[0] ^ 1]))
r = restore(bad, os.path.join(work, "t2"))
res.check(r.returncode == 1 and "ledger/entries.log" in r.stderr,
          "a flipped byte in the backed-up ledger is named: %s" % r.stderr)

bad = copy_backup("tampered-manifest")
mp = os.path.join(bad, "manifest.json")
text = open(mp).read()
# point the recording at another file's content: every blob is intact, the
# manifest is not
other = [f for f in manifest(bad)["files"] if f["path"] != rec_path and f["path"].startswith("recordings/")][0]
mine = [f for f in manifest(bad)["files"] if f["path"] == rec_path][0]
text = text.replace('"path":"%s","size":%d,' % (rec_path, mine["size"]),
                    '"path":"%s","size":%d,' % (rec_path, other["size"]))
text = text.replace(mine["sha256"], other["sha256"])
open(mp, "w").write(text)
r = restore(bad, os.path.join(work, "t3"))
res.check(r.returncode == 1 and "manifest" in r.stderr and "altered" in r.stderr,
          "a tampered manifest is reported: %s" % r.stderr)

bad = copy_backup("missing")
os.unlink(blob(bad, "keys/kek.keys"))
r = restore(bad, os.path.join(work, "t4"))
res.check(r.returncode == 1 and "keys/kek.keys" in r.stderr and "missing" in r.stderr,
          "a missing file is named: %s" % r.stderr)

other_data = os.path.join(work, "other")
import_capture(other_data, capture("d", 21, 1))
r = restore(dest, os.path.join(work, "t5"), "--pub", os.path.join(other_data, "ledger", "ledger.pub"))
res.check(r.returncode == 1 and "another key" in r.stderr,
          "--pub with another deployment's key refuses the backup: %s" % r.stderr)
r = restore(dest, os.path.join(work, "t6"), "--pub", os.path.join(data, "ledger", "ledger.pub"))
res.check(r.returncode == 0, "--pub with the deployment's own key restores: %s" % r.stderr[-300:])

r = restore(dest, other_data)
res.check(r.returncode == 2 and "not empty" in r.stderr, "a non-empty target is refused: %s" % r.stderr)
r = restore(os.path.join(work, "nowhere"), os.path.join(work, "t7"))
res.check(r.returncode != 0 and "nowhere" in r.stderr, "a missing backup is named: %s" % r.stderr)

r = earshot(data, "backup", os.path.join(data, "inner"), check=False)
res.check(r.returncode == 2 and "inside the data folder" in r.stderr and
          not os.path.exists(os.path.join(data, "inner")),
          "a backup into the data folder itself is refused: %s" % r.stderr)

shutil.rmtree(work, ignore_errors=True)
res.finish()
