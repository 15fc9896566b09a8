"""The originals a redaction keeps for the restricted roles ([redaction]
original = restrict, the default) go with every deletion of their call
(#15 follow-up): `earshot delete`, `retention run` (expiry), `subject erase`
and `keys shred` all use the one deletion path (record/delete.c), which
takes the kept originals too.  For each of them, on a redacted call (for `delete`
redacted twice: two kept originals, the second being the first redacted
version; once for the others, which keeps the test short under ASan):

- under a legal hold the deletion is refused and both originals keep their
  file and key, with no tombstone;
- after the hold's release: no original file nor data key is left, each
  original has a tombstone naming the cause, the redactions rows say
  "shredded", and `earshot verify --all` passes."""
import json
import os
import sqlite3

from estest import BUILD, Results, earshot, import_capture, run, tmpdir

res = Results()
work = tmpdir("earshot-redact-delete-")
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcmu", "--calls", "1",
     "--duration", "4", "--seed", "5"])


def redactions(data):
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    try:
        return db.execute("SELECT original_path, original_state FROM redactions"
                          " ORDER BY n").fetchall()
    finally:
        db.close()


def tombstones(data):
    out = {}
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[1] == "tomb":
                out[parts[4]] = parts[5][len("reason="):]
    return out


def dek(data, rel):
    return os.path.join(data, "keys", "dek", rel.replace("/", "~") + ".dek")


def prepared(name, times):
    data = os.path.join(work, name)
    p, summary = import_capture(data, pcap)
    assert p.returncode == 0 and summary["recordings"] == 1, p.stderr
    for a, b in (("1", "2"), ("2", "3"))[:times]:
        earshot(data, "redact", "1", "--from", a, "--to", b, "--reason", "pin read out")
    kept = [r[0] for r in redactions(data)]
    assert len(kept) == times and all(r[1] == "restricted" for r in redactions(data))
    return data, kept


def kept_intact(data, kept):
    return all(os.path.exists(os.path.join(data, k)) and os.path.exists(dek(data, k))
               and k not in tombstones(data) for k in kept)


RET = os.path.join(work, "ret.conf")
with open(RET, "w") as f:
    f.write("[retention default]\ndelete_after = 30d\n")

CASES = [
    ("delete", ["delete", "1", "--yes"], "deleted"),
    ("retention", ["retention", "run", "-c", RET, "--now", "2027-06-01"], "retention.default"),
    ("erase", ["subject", "erase", "--party", "+493055500000", "--reason", "DSR 7", "--yes"],
     None),
    ("shred", ["keys", "shred", "1", "--yes"], "shredded"),
]

for name, args, cause in CASES:
    data, kept = prepared(name, 2 if name == "delete" else 1)
    if name == "retention":
        earshot(data, "retention", "apply", "-c", RET, "--yes")
    earshot(data, "hold", "add", "case-" + name, "--reason", "litigation", "--call", "1")
    p = earshot(data, *args, check=False)
    res.check(kept_intact(data, kept), "%s under a hold: both originals kept (exit %d, %s)"
              % (name, p.returncode, p.stderr.strip()[:200]))
    res.check(all(r[1] == "restricted" for r in redactions(data)),
              "%s under a hold: redactions unchanged" % name)
    earshot(data, "hold", "release", "case-" + name, "--reason", "settled")
    p = earshot(data, *args, check=False)
    res.check(p.returncode == 0, "%s: exit %d %s" % (name, p.returncode, p.stderr))
    left = [k for k in kept if os.path.exists(os.path.join(data, k))]
    keys = [k for k in kept if os.path.exists(dek(data, k))]
    res.check(not left and not keys, "%s: no original file (%s) nor key (%s) left"
              % (name, left, keys))
    t = tombstones(data)
    want = cause
    if want is None:  # the erasure's tombstone: whatever names the erasure
        want = t.get(kept[0], "")
        res.check(want.startswith("erasure."), "erase: tombstone %r names the erasure" % want)
    res.check(all(t.get(k) == want for k in kept), "%s: tombstones %s"
              % (name, {k: t.get(k) for k in kept}))
    res.check(all(r[1] == "shredded" for r in redactions(data)), "%s: redactions %s"
              % (name, redactions(data)))
    p = earshot(data, "verify", "--all", "--json", check=False)
    v = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
    res.check(p.returncode == 0 and v.get("finding_count") == 0,
              "%s: verify --all passes: %d %s" % (name, p.returncode, p.stdout[-600:]))
    # a second run finds nothing more to do and writes no tombstone twice
    before = tombstones(data)
    earshot(data, *args, check=False)
    res.check(tombstones(data) == before, "%s: a rerun adds no tombstone" % name)

res.finish()
