"""Ledger truncation and rollback against heads published outside the data
folder (#13 finding 6).  A configuration puts the signing key outside the
data folder and publishes every signed head to an anchor file on another
folder, to a UDP syslog collector run here on a loopback port (RFC 5424),
and to a command.  Then, each on a copy of the data folder:
(a) truncation: the last import's leaves and heads are cut from the ledger
    together with those recordings' rows, files and keys: `verify --all`
    alone still finds nothing (the documented limit), `verify --head
    ANCHOR` reports the truncation (exit 1, kind head_truncated);
(b) rollback: an older copy of the whole data folder is put back: reported;
    and grown again by a further import (which publishes its own heads):
    reported as a fork;
(c) a valid extension passes, whether the trusted head is older or equal,
    read from the anchor file, the syslog collector's lines or one line;
and the key: no ledger.key in the data folder, verification with the
public key alone, a writer without the key refused."""
import json
import os
import shutil
import socket
import sqlite3

from estest import BUILD, Results, calls_json, earshot, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-anchor-")
pcaps = []
for i, seed in enumerate((21, 22, 23)):
    pcaps.append(os.path.join(work, "calls%d.pcap" % i))
    run([GEN, "-o", pcaps[-1], "--seed", str(seed), "--calls", "4", "--duration", "5"])

# a syslog collector: bound to port 0, so no fixed port
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", 0))
collector.settimeout(0.2)
syslog_port = collector.getsockname()[1]

secrets = os.path.join(work, "secrets")
mount = os.path.join(work, "other-mount")
os.mkdir(secrets, 0o700)
os.mkdir(mount)
key = os.path.join(secrets, "ledger.key")
anchor = os.path.join(mount, "heads.anchor")
hook = os.path.join(work, "hook.out")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[ledger]\nsigning_key = %s\n\n[anchor]\nfile = %s\nsyslog = udp:127.0.0.1:%d\n"
            "command = cat >> %s\nretry = 1s\n" % (key, anchor, syslog_port, hook))

data = os.path.join(work, "data")


def imp(d, pcap):
    p = earshot(d, "import", "--json", "--no-progress", "--config", conf, pcap, check=False)
    res.check(p.returncode == 0, "import %s: %s%s" % (pcap, p.stdout[-300:], p.stderr[-500:]))


def verify(d, *args):
    p = earshot(d, "verify", "--json", *args, check=False)
    try:
        return p.returncode, json.loads(p.stdout), p
    except ValueError:
        return p.returncode, None, p


def kinds(j):
    return [f["kind"] for f in j["findings"] if f["finding"]] if j else None


def heads(path):
    with open(path) as f:
        return [l for l in f.read().splitlines() if l.startswith("1\t")]


def received():
    out = []
    while True:
        try:
            out.append(collector.recv(4096).decode())
        except socket.timeout:
            return out


imp(data, pcaps[0])
old = os.path.join(work, "old")
shutil.copytree(data, old)            # the copy (b) restores later
n_first = len(heads(os.path.join(data, "ledger", "heads.log")))
imp(data, pcaps[1])

# ---- the key and the anchors ---------------------------------------------------------
res.check(not os.path.exists(os.path.join(data, "ledger", "ledger.key")),
          "no ledger.key in the data folder")
res.check(os.path.exists(key) and os.stat(key).st_mode & 0o777 == 0o600,
          "the signing key is at [ledger] signing_key, mode 0600")
local = heads(os.path.join(data, "ledger", "heads.log"))
anchored = heads(anchor)
res.check(anchored and anchored[-1] == local[-1] and set(local) <= set(anchored),
          "the anchor file holds every signed head (%d of %d)" % (len(anchored), len(local)))
res.check(set(heads(hook)) == set(anchored), "the command got the same heads on its stdin")
msgs = received()
res.check(msgs and all(m.startswith("<133>1 ") and " earshot " in m and " sth - earshot-head 1\t" not in m
                       and " sth - earshot-head 1 " in m for m in msgs),
          "RFC 5424 messages over UDP: %r" % msgs[:1])
syslog_file = os.path.join(work, "collector.log")
with open(syslog_file, "w") as f:
    f.write("".join("Dec  6 21:00:00 collector %s\n" % m for m in msgs))
last = local[-1].split("\t")
res.check(any(" ".join(last) in m for m in msgs), "the collector got the newest head")

# ---- (c) a valid extension passes ---------------------------------------------------
rc, j, p = verify(data, "--head", anchor)
res.check(rc == 0 and j and j["ok"] and j["trusted_heads_checked"] >= 2
          and "head_ok" in [f["kind"] for f in j["findings"]],
          "(c) verify --head ANCHOR of the intact ledger: exit %d %r %s" % (rc, j, p.stderr))
one = os.path.join(work, "first-head.txt")
with open(one, "w") as f:
    f.write(anchored[n_first - 1] + "\n")   # an older head, as one line
rc, j, _ = verify(data, "--head", one)
res.check(rc == 0 and j["trusted_heads_checked"] == 1, "(c) an older trusted head: extended")
rc, j, _ = verify(data, "--head", syslog_file, "--newest-head")
res.check(rc == 0 and j["trusted_heads_checked"] == 1,
          "(c) the syslog collector's file, newest head: %r" % (j and j["findings"],))
p = earshot(data, "verify", "--head", anchor, check=False)
res.check(p.returncode == 0 and "TRUSTED HEAD" in p.stdout, "text output: " + p.stdout)

# ---- (a) truncation: the last import cut out with its rows, files and keys ----------
cut = os.path.join(work, "cut")
shutil.copytree(data, cut)
keep = int(anchored[n_first - 1].split("\t")[1])          # leaves of the first import
with open(os.path.join(cut, "ledger", "entries.log")) as f:
    entries = f.read().splitlines(True)
gone = [e.split("\t")[4] for e in entries[keep:]]
with open(os.path.join(cut, "ledger", "entries.log"), "w") as f:
    f.writelines(entries[:keep])
with open(os.path.join(cut, "ledger", "heads.log")) as f:
    hl = [l for l in f if int(l.split("\t")[1]) <= keep]
with open(os.path.join(cut, "ledger", "heads.log"), "w") as f:
    f.writelines(hl)
db = sqlite3.connect(os.path.join(cut, "index.sqlite"))
db.execute("PRAGMA foreign_keys = ON")
for rec in gone:
    (row,) = db.execute("SELECT call_row FROM recordings WHERE path = ?", (rec,)).fetchone()
    db.execute("DELETE FROM calls WHERE id = ?", (row,))
    os.unlink(os.path.join(cut, rec))
    dek = os.path.join(cut, "keys", "dek", rec.replace("/", "~") + ".dek")
    if os.path.exists(dek):
        os.unlink(dek)
db.commit()
db.close()
res.check(len(gone) == 4, "(a) the cut removes the 4 recordings of the last import")
rc, j, p = verify(cut, "--all")
res.check(rc == 0 and j and j["finding_count"] == 0,
          "(a) verify --all alone finds nothing (the documented limit): %r" % (j and kinds(j),))
rc, j, p = verify(cut, "--head", anchor)
res.check(rc == 1 and "head_truncated" in kinds(j),
          "(a) verify --head ANCHOR reports the truncation: exit %d %r" % (rc, j and kinds(j)))
msg = " ".join(f["message"] for f in j["findings"]) if j else ""
res.check("truncated" in msg and "lines %d..%d were removed" % (keep + 1, keep + 4) in msg,
          "(a) the finding names the removed lines: " + msg)

anchor_before = os.path.join(work, "anchor-before-rollback")
shutil.copy(anchor, anchor_before)  # (d) checks bundles against the anchor before the fork

# ---- (b) rollback: the older copy of the whole data folder restored -----------------
rolled = os.path.join(work, "rolled")
shutil.copytree(old, rolled)
rc, j, _ = verify(rolled, "--head", anchor)
res.check(rc == 1 and "head_truncated" in kinds(j), "(b) restored old copy: %r" % (j and kinds(j),))
# ... and grown again: the recorder publishes its new heads to the same anchor
imp(rolled, pcaps[2])
rc, j, _ = verify(rolled, "--all")
res.check(rc == 0, "(b) the regrown copy verifies on its own")
rc, j, _ = verify(rolled, "--head", anchor)
res.check(rc == 1 and "head_forked" in kinds(j),
          "(b) regrown after the restore: a fork: %r" % (j and kinds(j),))
rc, j, _ = verify(rolled, "--head", one)
res.check(rc == 0, "(b) but it does extend the head from before the copy was taken")

# ---- the key: readers need only ledger.pub, writers need the key ---------------------
nokey = os.path.join(work, "nokey.conf")
with open(nokey, "w") as f:
    f.write("[recording]\nencrypt = yes\n")
p = earshot(data, "import", "--no-progress", "--config", nokey, pcaps[2], check=False)
res.check(p.returncode != 0 and "restore it" in p.stderr,
          "a writer without the key is refused: " + p.stderr[-300:])
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[anchor]\nsyslog = 127.0.0.1\n")
p = earshot(data, "import", "--no-progress", "--config", bad, pcaps[2], check=False)
res.check(p.returncode == 2 and "bad.conf:2" in p.stderr and "udp:HOST:PORT" in p.stderr,
          "a bad [anchor] line is named: " + p.stderr)
# ---- (d) evidence bundles checked against the anchor -----------------------------------
VEV = os.path.join(BUILD, "earshot-verify-evidence")


def evidence(d, call, name):
    out = os.path.join(work, name)
    earshot(d, "export", str(call), "--evidence", "-o", out)
    return out


def vev(bundle, *args):
    p = run([VEV, "--json", *args, bundle], check=False)
    j = json.loads(p.stdout)
    return p.returncode, j, {c["check"]: c for c in j["checks"]}.get("anchor")


first_call = min(c["id"] for c in calls_json(data) if c.get("recording"))
ev = evidence(data, first_call, "ev.zip")
rc, j, a = vev(ev, "--head", anchor_before)
res.check(rc == 0 and a and a["result"] == "ok" and "is the trusted head" in a["detail"],
          "(d) a bundle of the intact ledger extends the anchor: %r" % (a,))
rc, j, a = vev(ev, "--head", one)
res.check(rc == 0 and a["result"] == "ok" and "consistency proof" in a["detail"],
          "(d) ... and an older trusted head, by its consistency proof: %r" % (a,))
rc, j, a = vev(ev)
res.check(rc == 0 and "anchor" not in [c["check"] for c in j["checks"]],
          "(d) without --head there is no anchor check")
# a bundle of the rolled-back, regrown ledger cannot prove the head it left behind
newest_before = os.path.join(work, "newest-before.txt")
with open(newest_before, "w") as f:
    f.write(anchored[-1] + "\n")
rolled_call = max(c["id"] for c in calls_json(rolled) if c.get("recording"))
evr = evidence(rolled, rolled_call, "ev-rolled.zip")
rc, j, a = vev(evr, "--head", newest_before)
res.check(rc == 1 and a and a["result"] == "fail" and "forked" in a["detail"],
          "(d) a bundle of the regrown copy fails the head it left behind: %r" % (a,))
# the anchor that also got the regrown copy's heads shows the fork to any bundle
rc, j, a = vev(ev, "--head", anchor)
res.check(rc == 1 and a and "forked" in a["detail"],
          "(d) an anchor holding both branches fails: %r" % (a,))
# a bundle whose consistency proof was altered
import zipfile
bad_ev = os.path.join(work, "ev-bad.zip")
with zipfile.ZipFile(ev) as zin, zipfile.ZipFile(bad_ev, "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data_ = zin.read(info.filename)
        if info.filename == "consistency.txt":
            lines = data_.decode().split("\n")
            i = next(k for k, l in enumerate(lines) if l.startswith("from ")) + 1
            lines[i] = ("0" if lines[i][0] != "0" else "1") + lines[i][1:]
            data_ = "\n".join(lines).encode()
        zout.writestr(info.filename, data_)
rc, j, a = vev(bad_ev, "--head", one)
res.check(rc == 1 and a and a["result"] == "fail" and "does not verify" in a["detail"],
          "(d) an altered consistency proof fails: %r" % (a,))
# export --evidence --head: the ledger must extend the trusted heads, and the
# bundle carries a proof from each
evh = os.path.join(work, "ev-head.zip")
p = earshot(data, "export", str(first_call), "--evidence", "--head", one, "-o", evh, check=False)
with zipfile.ZipFile(evh) as z:
    cons = z.read("consistency.txt").decode()
res.check(p.returncode == 0 and ("from %d " % keep) in cons,
          "(d) export --head: the bundle proves the trusted head: %s %s" % (p.stderr, cons[:80]))
rc, j, a = vev(evh, "--head", one)
res.check(rc == 0 and a["result"] == "ok", "(d) ... and verifies against it: %r" % (a,))
p = earshot(rolled, "export", str(rolled_call), "--evidence", "--head", newest_before,
            "-o", os.path.join(work, "ev-refused.zip"), check=False)
res.check(p.returncode == 1 and "does not extend a trusted head: forked" in p.stderr
          and not os.path.exists(os.path.join(work, "ev-refused.zip")),
          "(d) export --head refuses a forked ledger: " + p.stderr)
p = earshot(cut, "export", str(first_call), "--evidence", "--head", anchor_before,
            "-o", os.path.join(work, "ev-cut.zip"), check=False)
res.check(p.returncode == 1 and "truncated" in p.stderr,
          "(d) export --head refuses a truncated ledger: " + p.stderr)
rc, j, a = vev(ev, "--head", os.path.join(work, "no-such-anchor"))
res.check(rc == 1 and a and a["result"] == "fail" and "no-such-anchor" in a["detail"],
          "(d) an unreadable --head file is a failure naming it")

print("anchor file: %d heads, collector: %d messages" % (len(anchored), len(msgs)))
res.finish()
