"""The data folder is for earshot's user (and group) only.

The test runs every earshot with umask 000, so that only earshot's own
umask and modes keep files private (under the usual 022, a forgotten mode
would still show as 0644: readable by every local user).

a) a data folder that exists as 0755 is refused, for import, calls and
   serve: exit code 1 and a message naming the folder and `chmod 700`;
b) with --allow-open-data the same import runs (a warning in the log), and
   every file and folder it creates inside grants "other" nothing;
c) an index left 0644 by an older earshot loses its other bits on open;
d) after `chmod 700`, an import of a real capture, users and the audit log,
   and a live run (`earshot record` on lo with two sipp calls: spool, run/
   status and active lists, recordings), no file under the data folder has
   any "other" bit, and none of the index's files is group- or other-
   readable (index.sqlite, -wal, -shm: 0600)."""
import os
import stat
import subprocess

from estest import EARSHOT, SHARED, Results, run, skip, tmpdir
import livecalls

CAPTURE = os.path.join(SHARED, "invite-opus-bye.pcap")
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)
if not os.path.exists(CAPTURE):
    skip(CAPTURE + " not present")
os.umask(0)
res = Results()
work = tmpdir("earshot-modes-")
data = os.path.join(work, "data")
os.mkdir(data)
os.chmod(data, 0o755)


def es(*args, **kw):
    try:
        return subprocess.run([EARSHOT] + list(args), capture_output=True, text=True, **kw)
    except subprocess.TimeoutExpired as e:  # a serve that was not refused
        return subprocess.CompletedProcess(e.cmd, "still running after %ss" % e.timeout, "",
                                           e.stderr or "")


def walk(top):
    """(path, mode) of every file and folder below top (top itself not)"""
    out = []
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out.append((p, stat.S_IMODE(os.lstat(p).st_mode)))
    return out


# ---- a: refused ----------------------------------------------------------------------------
for args in (["import", "--no-progress", CAPTURE], ["calls"], ["serve", "--listen", "127.0.0.1:0"]):
    p = es("--data", data, *args, timeout=10)
    res.check(p.returncode == 1, "%s on a 0755 folder: exit %s, not 1" % (args[0], p.returncode))
    res.check(data in p.stderr and "chmod 700 " + data in p.stderr and "0755" in p.stderr,
              "%s: the message names the folder, its mode and the fix: %r" % (args[0], p.stderr))
res.check(os.listdir(data) == [], "nothing was created in the refused folder: %s" % os.listdir(data))

# ---- b: the override -------------------------------------------------------------------------
p = es("--allow-open-data", "--data", data, "import", "--no-progress", CAPTURE)
res.check(p.returncode == 0, "import --allow-open-data: exit %d: %s" % (p.returncode, p.stderr))
res.check("allow-open-data" in p.stderr and data in p.stderr,
          "the override is logged as a warning: %r" % p.stderr)
files = walk(data)
res.check(any(p.endswith("index.sqlite") for p, _ in files) and len(files) > 5,
          "the import made the index and more: %s" % files)
for path, mode in files:
    res.check(not mode & 0o007, "--allow-open-data: %s is %04o: others have access" % (path, mode))

# ---- c: an older index, 0644, is tightened ---------------------------------------------------
os.chmod(data, 0o700)
idx = os.path.join(data, "index.sqlite")
os.chmod(idx, 0o644)
p = es("--data", data, "calls")
res.check(p.returncode == 0, "calls: exit %d: %s" % (p.returncode, p.stderr))
mode = stat.S_IMODE(os.stat(idx).st_mode)
res.check(not mode & 0o007, "an index left 0644 is now %04o" % mode)

# ---- d: a fresh folder through import, users, and a live run ----------------------------------
data2 = os.path.join(work, "data2")
p = es("--data", data2, "import", "--no-progress", CAPTURE)
res.check(p.returncode == 0, "import into a new folder: exit %d: %s" % (p.returncode, p.stderr))
mode = stat.S_IMODE(os.stat(data2).st_mode)
res.check(mode == 0o750, "the data folder earshot creates is %04o, not 0750" % mode)
run([EARSHOT, "--data", data2, "user", "add", "adm", "--role", "admin", "--password-stdin"],
    input="modes-test-password\n")
why = livecalls.missing_tools()
if why:
    res.skip("the live run: " + why)
else:
    ports = livecalls.Ports(2)
    rec = livecalls.Recorder(EARSHOT, data2, ports.bpf(2),
                             args=["--rtp-timeout", "3", "--linger", "1"])
    rec.start()
    if res.check(rec.wait_status(20) is not None, "no status.json; log:\n" + rec.logtext()[-2000:]):
        calls = livecalls.Calls(os.path.join(work, "sipp"), 2, 3, rate=10, ports=ports)
        calls.start()
        # mid-call: the spool and run/active.tsv exist now
        rec.wait_until(lambda s: s.get("active_calls", 0) > 0, 10)
        live = walk(data2)
        calls.wait()
        rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 20)
        res.check(any("/spool/" in p for p, _ in live), "a spool file during the calls: %s" % live)
        for path, mode in live:
            res.check(not mode & 0o007, "during the live run: %s is %04o" % (path, mode))
    rec.stop()
files = walk(data2)
res.check(any("/run/" in p for p, _ in files) and any("/recordings/" in p for p, _ in files),
          "run/ and recordings/ exist: %s" % [p for p, _ in files])
for path, mode in files:
    res.check(not mode & 0o007, "%s is %04o: others have access" % (path, mode))
    if os.path.basename(path).startswith("index.sqlite"):
        res.check(mode == 0o600, "%s is %04o, not 0600" % (path, mode))
res.finish()
