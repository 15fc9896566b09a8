"""A full disk: the data folder is a small tmpfs.  A first capture is
recorded; a second, much larger one fills the disk while it is imported.
earshot must say clearly what could not be recorded, exit non-zero without
crashing, leave no half-written recording in place, keep the index intact
(PRAGMA integrity_check) and the earlier recordings unchanged."""
import hashlib
import json
import os
import shutil
import subprocess

from estest import BUILD, Results, calls_json, import_capture, run, skip, tmpdir

if os.geteuid() != 0:
    skip("not root: cannot mount a small tmpfs")
GEN = os.path.join(BUILD, "gen_calls")
res = Results()
work = tmpdir("earshot-diskfull-")
data = os.path.join(work, "data")
os.makedirs(data)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", data]).returncode != 0:
    skip("cannot mount a tmpfs here")
try:
    small, big = os.path.join(work, "small.pcap"), os.path.join(work, "big.pcap")
    run([GEN, "-o", small, "--calls", "2", "--duration", "20", "--seed", "1"])
    run([GEN, "-o", big, "--calls", "40", "--duration", "120", "--concurrency", "40", "--seed", "2"])
    p, s1 = import_capture(data, small, extra=("--format", "wav"))
    res.check(p.returncode == 0 and s1["recordings"] == 2, "first import: %s" % p.stderr)
    before = {c["id"]: c["recording"] for c in calls_json(data) if c["recording"]}

    def digest(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    p, s2 = import_capture(data, big, extra=("--format", "wav"))
    print("second import: exit %d" % p.returncode)
    print("\n".join(p.stderr.splitlines()[:6]))
    res.check(p.returncode == 1, "a full disk must make the import fail (exit 1), got %d"
              % p.returncode)
    res.check("No space left on device" in p.stderr or "disk full" in p.stderr,
              "the message must say the disk is full: %r" % p.stderr[:500])
    # the index is intact and still has the first calls with their recordings
    ic = subprocess.run(["sqlite3", os.path.join(data, "index.sqlite"), "PRAGMA integrity_check"],
                        capture_output=True, text=True)
    res.check(ic.stdout.strip() == "ok", "integrity_check: %r %r" % (ic.stdout, ic.stderr))
    after = {c["id"]: c for c in calls_json(data)}
    for cid, rec in before.items():
        f = os.path.join(data, rec["path"])
        res.check(cid in after and after[cid]["recording"] == rec,
                  "call %s lost or changed its recording row" % cid)
        res.check(os.path.exists(f) and digest(f) == rec["sha256"],
                  "recording %s altered by the full disk" % rec["path"])
    # no half-written recording left where a recording belongs
    parts = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(data, "recordings"))
             for f in fs if f.endswith(".part")]
    res.check(not parts, "partial recordings left: %r" % parts)
    # every recording row names a complete file
    for c in after.values():
        r = c["recording"]
        if r:
            f = os.path.join(data, r["path"])
            res.check(os.path.exists(f) and os.path.getsize(f) == r["bytes"],
                      "recording row %s names a missing or short file" % r["path"])
    if s2:
        print("summary: %d calls, %d recordings, %d recording errors, %d calls cut, "
              "spool errors %d" % (s2["calls"], s2["recordings"], s2["recording_errors"],
                                   s2["calls_cut"], s2["skipped"]["spool_errors"]))
        res.check(s2["recording_errors"] + s2["calls_cut"] > 0,
                  "the summary must count what was not recorded: %r" % s2)
finally:
    subprocess.run(["umount", data])
    shutil.rmtree(work)
res.finish()
