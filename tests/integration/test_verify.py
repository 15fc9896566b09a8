"""`earshot verify` and `earshot keys`: an archive made by importing a
generated capture (bench/gen_calls, encrypted by default) verifies clean;
then, each on a fresh copy of the data folder, one tampering at a time must
be found (exit 1) and the finding must name the recording: a flipped byte in
a recording file, an altered metadata row (a caller's number, a recording's
duration, a recording's sha256), a flipped byte in the ledger's entries.log
and in heads.log, a deleted recording file, a deleted recording row and a
deleted call row, a file replaced by another recording's file, a deleted
data key.  Key rotation keeps every recording exportable and the archive
verified; a shredded recording no longer exports and verify reports it as
shredded, with exit 0.  Prints verify's speed (recordings/s)."""
import json
import os
import shutil
import sqlite3
import time

from estest import BUILD, EARSHOT, Results, calls_json, earshot, import_capture, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

NCALLS = 16
res = Results()
work = tmpdir("earshot-verify-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--truth", os.path.join(work, "truth.json"), "--seed", "11",
     "--calls", str(NCALLS), "--duration", "5", "--dtmf"])
base = os.path.join(work, "base")
p, summary = import_capture(base, pcap)
if p.returncode != 0:
    raise RuntimeError("import failed: %s%s" % (p.stdout, p.stderr))
calls = [c for c in calls_json(base) if c.get("recording")]
if len(calls) < 4:
    skip("the capture gave only %d recordings" % len(calls))
recs = {c["id"]: c["recording"]["path"] for c in calls}
res.check(all(p.endswith(".enc") for p in recs.values()), "recordings are encrypted by default")


def verify(data, *args):
    t0 = time.monotonic()
    p = earshot(data, "verify", *args, check=False)
    return p, time.monotonic() - t0


def verify_json(data, *args):
    p, _ = verify(data, "--json", *args)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, None


def fresh(name):
    d = os.path.join(work, name)
    shutil.copytree(base, d, symlinks=True)
    return d


def flip(path, at=None, new=None):
    """Change the byte at `at` (default: the middle): to new(old) when new
    is given (it must differ from old), else flip its lowest bit."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        i = len(data) // 2 if at is None else at
        data[i] = new(data[i]) if new is not None else data[i] ^ 0x01
        f.seek(0)
        f.write(data)


def other_digit(b):
    """Another hex digit than b: "0" would leave a "0" as it was."""
    return ord("1") if b == ord("0") else ord("0")


def sql(data, *stmts):
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    db.execute("PRAGMA foreign_keys = ON")
    for s in stmts:
        db.execute(s[0], s[1:]) if isinstance(s, tuple) else db.execute(s)
    db.commit()
    db.close()


ids = sorted(recs)
victim, other = ids[len(ids) // 2], ids[0]
vpath, opath = recs[victim], recs[other]

# ---- a clean archive -----------------------------------------------------------------
p, secs = verify(base, "--all")
res.check(p.returncode == 0, "clean archive verifies (exit %d): %s%s" % (p.returncode, p.stdout,
                                                                       p.stderr))
res.check("%d recordings checked, 0 findings" % len(recs) in p.stdout, "summary line: " + p.stdout)
rc, j = verify_json(base)
res.check(rc == 0 and j and j["ok"] and j["recordings_checked"] == len(recs) and not j["findings"],
          "--json of a clean archive: %r" % (j,))
print("verify --all: %d recordings in %.3f s (%.0f recordings/s, with decryption); "
      "earshot says: %s" % (len(recs), secs, len(recs) / secs, p.stdout.strip().splitlines()[-1]))
p, qsecs = verify(base, "--all", "--quick")
res.check(p.returncode == 0, "--quick on a clean archive")
print("verify --all --quick: %.3f s (%.0f recordings/s)" % (qsecs, len(recs) / qsecs))
p, _ = verify(base, str(victim))
res.check(p.returncode == 0 and "1 recordings checked" in p.stdout, "verify ID: " + p.stdout)
p, _ = verify(base, calls[0]["call_id"])
res.check(p.returncode == 0 and "1 recordings checked" in p.stdout, "verify Call-ID: " + p.stdout)
p, _ = verify(base, "99999")
res.check(p.returncode == 4, "verify of no such call: exit 4, got %d" % p.returncode)
p, _ = verify(base, "--all", str(victim))
res.check(p.returncode == 2, "IDs and --all: exit 2, got %d" % p.returncode)
p, _ = verify(os.path.join(work, "nothing-here"))
res.check(p.returncode == 3, "no data folder: exit 3, got %d" % p.returncode)
p = earshot(base, "verify", "--help", check=False)
res.check(p.returncode == 0 and "Exit codes" in p.stdout, "verify --help")

# ---- one tampering at a time ------------------------------------------------------------


def tampered(name, act, expect_kinds, names):
    """Apply act to a fresh copy; verify --all must exit 1, report one of
    expect_kinds and name every string of names in the findings."""
    d = fresh(name)
    act(d)
    rc, j = verify_json(d, "--all")
    p, _ = verify(d, "--all")
    found = j["findings"] if j else []
    kinds = {f["kind"] for f in found if f["finding"]}
    text = p.stdout
    ok = rc == 1 and p.returncode == 1 and kinds & set(expect_kinds) \
        and all(n in text for n in names)
    res.check(bool(ok), "%s: detected (exit %d/%d, kinds %s, names %s):\n%s" % (
        name, rc, p.returncode, sorted(kinds), names, text))
    return ok, d, text


def data_file(d, rel):
    return os.path.join(d, rel)


detected = 0
cases = [
    ("flip-recording", lambda d: flip(data_file(d, vpath)), ["altered"], [vpath]),
    ("flip-recording-header", lambda d: flip(data_file(d, vpath), at=10), ["altered"], [vpath]),
    ("caller-number", lambda d: sql(d, ("UPDATE parties SET user = user || '9' WHERE call_row = ? "
                                        "AND role = 0", victim)), ["metadata_altered"], [vpath]),
    ("duration", lambda d: sql(d, ("UPDATE recordings SET duration_us = duration_us + 1 "
                                   "WHERE call_row = ?", victim)), ["metadata_altered"], [vpath]),
    ("row-sha256", lambda d: sql(d, ("UPDATE recordings SET sha256 = ? WHERE call_row = ?",
                                     "0" * 64, victim)), ["metadata_altered"], [vpath]),
    ("delete-file", lambda d: os.unlink(data_file(d, vpath)), ["missing"], [vpath]),
    ("delete-recording-row", lambda d: sql(d, ("DELETE FROM recordings WHERE call_row = ?", victim)),
     ["row_deleted"], [vpath]),
    ("delete-call-row", lambda d: sql(d, ("DELETE FROM calls WHERE id = ?", victim)),
     ["row_deleted"], [vpath]),
    ("replace-file", lambda d: shutil.copyfile(data_file(d, opath), data_file(d, vpath)),
     ["replaced"], [vpath, "replaced by recording " + opath]),
    ("extra-file", lambda d: open(data_file(d, os.path.join(os.path.dirname(vpath), "x.opus")),
                                  "wb").write(b"x"), ["unexpected_file"], ["x.opus"]),
    ("delete-key", lambda d: os.unlink(os.path.join(d, "keys", "dek",
                                                    vpath.replace("/", "~") + ".dek")),
     ["key_missing"], [vpath]),
]


def swap_keys(d):
    """Another recording's wrapped key in the victim's place: it must not unwrap."""
    kd = os.path.join(d, "keys", "dek")
    shutil.copyfile(os.path.join(kd, opath.replace("/", "~") + ".dek"),
                    os.path.join(kd, vpath.replace("/", "~") + ".dek"))


def entries_flip_hex(d):
    """Change one hex digit of a hash in the victim's leaf: still a well-formed line."""
    path = os.path.join(d, "ledger", "entries.log")
    lines = open(path, "rb").read().split(b"\n")
    for n, line in enumerate(lines):
        if vpath.encode() in line:
            i = line.index(b"cipher=") + 7 + 5
            line = bytearray(line)
            line[i] = ord("0") if line[i] != ord("0") else ord("1")
            lines[n] = bytes(line)
            break
    open(path, "wb").write(b"\n".join(lines))


cases += [
    ("swap-key", swap_keys, ["key_unusable"], [vpath]),
    ("truncate-recording", lambda d: os.truncate(data_file(d, vpath),
                                                 os.path.getsize(data_file(d, vpath)) - 100),
     ["altered"], [vpath]),
    ("entries-hex-digit", entries_flip_hex, ["ledger"], ["entries.log", vpath]),
    ("entries-byte", lambda d: flip(os.path.join(d, "ledger", "entries.log")), ["ledger"],
     ["entries.log"]),
    ("heads-byte", lambda d: flip(os.path.join(d, "ledger", "heads.log")), ["ledger"],
     ["heads.log"]),
    ("heads-sig-digit", lambda d: flip(os.path.join(d, "ledger", "heads.log"),
                                       at=os.path.getsize(os.path.join(d, "ledger",
                                                                       "heads.log")) - 10,
                                       new=other_digit), ["ledger"], ["heads.log"]),
]
for name, act, kinds, names in cases:
    ok, d, _ = tampered(name, act, kinds, names)
    detected += bool(ok)
    shutil.rmtree(d, ignore_errors=True)
print("tampering detected: %d of %d (%.0f %%)" % (detected, len(cases), 100.0 * detected / len(cases)))

# ---- keys ------------------------------------------------------------------------------
d = fresh("keys")
st = json.loads(earshot(d, "keys", "status", "--json").stdout)
res.check(st["kek_count"] == 1 and st["data_keys"] == len(recs), "keys status: %r" % st)
kek_text = open(os.path.join(d, "keys", "kek.keys")).read().split()
p = earshot(d, "keys", "status", check=False)
res.check(p.returncode == 0 and not any(len(w) >= 40 and w in p.stdout for w in kek_text),
          "keys status prints no key material")
p = earshot(d, "keys", "rotate", check=False)
res.check(p.returncode == 0 and ("%d data keys rewrapped" % len(recs)) in p.stdout,
          "keys rotate: " + p.stdout + p.stderr)
st2 = json.loads(earshot(d, "keys", "status", "--json").stdout)
res.check(st2["kek_count"] == 2 and st2["kek_current"] != st["kek_current"],
          "rotation added a current KEK: %r" % st2)
p, _ = verify(d, "--all")
res.check(p.returncode == 0, "verify after rotation: " + p.stdout + p.stderr)
bad = []
for cid in ids:
    out = os.path.join(work, "x%d.wav" % cid)
    p = earshot(d, "export", str(cid), "-o", out, "--format", "wav", check=False)
    if p.returncode != 0 or not os.path.exists(out) or os.path.getsize(out) <= 44:
        bad.append((cid, p.returncode, p.stderr.strip()))
res.check(not bad, "every recording exports after rotation: %r" % bad)

p = earshot(d, "keys", "shred", str(victim), check=False)
res.check(p.returncode == 2 and "--yes" in p.stderr, "shred without --yes refuses: " + p.stderr)
res.check(os.path.exists(os.path.join(d, "keys", "dek", vpath.replace("/", "~") + ".dek")),
          "the key is still there after the refusal")
p = earshot(d, "keys", "shred", str(victim), "--yes", check=False)
res.check(p.returncode == 0, "keys shred --yes: " + p.stdout + p.stderr)
out = os.path.join(work, "shredded.wav")
p = earshot(d, "export", str(victim), "-o", out, "--format", "wav", check=False)
res.check(p.returncode != 0 and not os.path.exists(out) and p.stderr.strip(),
          "export of the shredded recording fails (exit %d): %s" % (p.returncode, p.stderr))
res.check("shred" in p.stderr.lower() or "key" in p.stderr.lower(),
          "the export error says why: " + p.stderr)
p = earshot(d, "export", str(other), "-o", os.path.join(work, "o.wav"), "--format", "wav",
            check=False)
res.check(p.returncode == 0, "another recording still exports: " + p.stderr)
p, _ = verify(d, "--all")
res.check(p.returncode == 0 and "1 shredded" in p.stdout and "SHREDDED" in p.stdout
          and vpath in p.stdout, "verify after shred: exit 0, reported shredded: " + p.stdout)
rc, j = verify_json(d, "--all")
res.check(rc == 0 and j["shredded_count"] == 1 and j["finding_count"] == 0,
          "verify --json after shred: %r" % (j,))
p = earshot(d, "keys", "shred", str(victim), "--yes", check=False)
res.check(p.returncode == 0 and "already" in p.stdout, "shredding twice: " + p.stdout + p.stderr)
# a shredded recording whose file is then altered is still only shredded (unreadable anyway),
# but tampering elsewhere is still found
flip(data_file(d, opath))
p, _ = verify(d, "--all")
res.check(p.returncode == 1 and opath in p.stdout, "tampering next to a shredded recording")
p = earshot(d, "keys", "shred", "99999", "--yes", check=False)
res.check(p.returncode == 4, "shred of no such call: exit 4, got %d" % p.returncode)
p = earshot(d, "keys", "--help", check=False)
res.check(p.returncode == 0 and "Exit codes" in p.stdout, "keys --help")
p = earshot(d, "keys", "frobnicate", check=False)
res.check(p.returncode == 2, "unknown keys subcommand: exit 2")
p = earshot(os.path.join(work, "nothing-here"), "keys", "status", check=False)
res.check(p.returncode == 3, "keys status without keys: exit 3, got %d" % p.returncode)

# ---- deletion (retention): a tombstone explains it, verify does not report it ----------
d = fresh("delete")
p = earshot(d, "delete", str(victim), check=False)
res.check(p.returncode == 2 and "--yes" in p.stderr, "delete without --yes refuses: " + p.stderr)
p = earshot(d, "delete", str(victim), "--yes", "--reason", "retention", check=False)
res.check(p.returncode == 0 and "tombstone" in p.stdout, "delete --yes: " + p.stdout + p.stderr)
res.check(not os.path.exists(data_file(d, vpath)), "the deleted recording's file is gone")
res.check(not os.path.exists(os.path.join(d, "keys", "dek", vpath.replace("/", "~") + ".dek")),
          "the deleted recording's key is gone")
tomb = [ln for ln in open(os.path.join(d, "ledger", "entries.log")) if "\ttomb\t" in ln]
res.check(len(tomb) == 1 and vpath in tomb[0] and "reason=retention" in tomb[0],
          "the ledger has the tombstone: %r" % tomb)
p, _ = verify(d, "--all")
res.check(p.returncode == 0, "verify after a deletion: exit 0: " + p.stdout + p.stderr)
p = earshot(d, "delete", str(victim), "--yes", check=False)
res.check(p.returncode == 4, "deleting twice: exit 4 (no recording), got %d" % p.returncode)
p = earshot(d, "delete", str(other), "--yes", "--reason", "Bad Reason!", check=False)
res.check(p.returncode == 2, "a bad reason is refused: exit 2, got %d" % p.returncode)

shutil.rmtree(work, ignore_errors=True)
res.finish()
