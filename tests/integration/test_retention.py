"""Retention and legal hold (#15) on generated calls with a fixed clock
(--now): bad input (malformed durations, unknown policies and keys, bad hold
names, unknown calls) is refused with a clear error and nothing deleted;
`retention apply` changes nothing without --yes; `retention run` expires
recordings by policy (tombstone "retention.POLICY", call flagged expired,
or dropped with drop_metadata), keeps held recordings (refusal audited),
and so do `delete` and `keys shred`; a call in two holds stays held when one
is released and expires when both are; under a quota the minimum keep time
wins (exit 7, nothing deleted), past it the oldest go first (tombstones
"quota.POLICY"); `earshot verify --all` passes and every tombstone names its
cause; hold and release leaves are in the ledger."""
import json
import os
import signal
import subprocess
import time

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, import_capture, index_db, run,
                    skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-retention-")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "11", "--calls", "12", "--duration", "5"])
data = os.path.join(work, "data")
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import failed: %s%s" % (p.stdout, p.stderr))
calls = {c["id"]: c for c in calls_json(data)}
recs = {i: c["recording"]["path"] for i, c in calls.items() if c.get("recording")}
if len(recs) < 8:
    skip("the capture gave only %d recordings" % len(recs))
# calls start 2026-01-15; callers +4930555000NN: "short" takes 00..05
short = sorted(i for i, c in calls.items() if c["parties"]["caller"]["user"][-2:] <= "05" and i in recs)
rest = sorted(i for i in recs if i not in short)
res.check(len(short) >= 3 and len(rest) >= 3, "both policies have calls: %s / %s" % (short, rest))


def conf(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


GOOD = conf("good.conf", """
[retention short]
caller = +49305550000[0-5]
keep = 30d
delete_after = 60d
[retention default]
keep = 1y
delete_after = 7y
""")


def es(*args):
    return earshot(data, *args, check=False)


def db_rows(sql, *a):
    db = index_db(data)
    try:
        return db.execute(sql, a).fetchall()
    finally:
        db.close()


def recording_rows():
    return {r[0] for r in db_rows("SELECT call_row FROM recordings")}


def tombstones():
    out = {}
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[1] == "tomb":
                out[parts[4]] = parts[5][len("reason="):]
    return out


def leaves(kind):
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.split("\t")[1] == kind]


def refusals(action):
    return db_rows("SELECT object, detail FROM audit WHERE action = ? AND outcome = 'denied'",
                   action)


all_recs = recording_rows()

# ---- bad input: a clear error, nothing deleted -------------------------------------
bad = [
    ("keep = 5 years", "duration"),
    ("keep = 5x", "unit"),
    ("keep = y", "number and a unit"),
    ("keep = 7y\ndelete_after = 5y", "shorter than keep"),
    ("keep = 1y", "delete_after"),
    ("colour = red\ndelete_after = 1y", "unknown key"),
    ("keep = never\ndelete_after = 1y", "never is only for delete_after"),
]
for i, (body, want) in enumerate(bad):
    path = conf("bad%d.conf" % i, "[retention x]\n%s\n" % body)
    p = es("retention", "run", "-c", path, "--now", "2030-01-01")
    res.check(p.returncode == 2 and want in p.stderr and "bad%d.conf:" % i in p.stderr,
              "bad config %r refused naming the file and the problem: %d %s"
              % (body, p.returncode, p.stderr.strip()))
p = es("retention", "run", "-c", conf("badname.conf", "[retention Big Name]\ndelete_after = 1y\n"))
res.check(p.returncode == 2 and "bad policy name" in p.stderr, "bad policy name: %s" % p.stderr)
p = es("retention", "run", "-c", GOOD, "--policy", "nosuch", "--now", "2030-01-01")
res.check(p.returncode == 2 and "no policy 'nosuch'" in p.stderr,
          "unknown --policy refused: %d %s" % (p.returncode, p.stderr.strip()))
p = es("hold", "add", "Bad Name", "--reason", "x", "--call", str(short[0]))
res.check(p.returncode == 2 and "hold name" in p.stderr, "bad hold name: %s" % p.stderr)
p = es("hold", "add", "case-x", "--call", str(short[0]))
res.check(p.returncode == 2 and "reason" in p.stderr, "hold without reason: %s" % p.stderr)
p = es("hold", "add", "case-x", "--reason", "x", "--call", "99999")
res.check(p.returncode == 4 and "no call 99999" in p.stderr, "hold on unknown call: %s" % p.stderr)
p = es("hold", "add", "case-x", "--reason", "x", "--query", "colour=red")
res.check(p.returncode == 2 and "unknown key" in p.stderr, "bad hold query: %s" % p.stderr)
p = es("hold", "release", "nosuch", "--reason", "x")
res.check(p.returncode == 4, "release of an unknown hold: %d" % p.returncode)
res.check(recording_rows() == all_recs and not tombstones(), "bad input deleted nothing")

# ---- apply: a dry run first -------------------------------------------------------------
p = es("retention", "apply", "-c", GOOD, "--json")
j = json.loads(p.stdout)
res.check(p.returncode == 0 and j["changed"] == len(recs) and not j["applied"],
          "apply without --yes shows %d changes: %s" % (len(recs), p.stdout))
res.check(db_rows("SELECT count(*) FROM recordings WHERE retention IS NOT NULL")[0][0] == 0,
          "apply without --yes changed nothing")
p = es("retention", "apply", "-c", GOOD, "--yes")
pol = dict(db_rows("SELECT call_row, retention FROM recordings"))
res.check(p.returncode == 0 and all(pol[i] == "short" for i in short)
          and all(pol[i] == "default" for i in rest), "apply --yes assigns by policy: %s" % pol)

# ---- holds: call A in two holds, call B in one ---------------------------------------------
A, B = short[0], short[1]
p = es("hold", "add", "case-1", "--reason", "lawsuit 42", "--call", str(A), "--call", str(B))
res.check(p.returncode == 0, "hold case-1: %s%s" % (p.stdout, p.stderr))
callerA = calls[A]["parties"]["caller"]["user"]
p = es("hold", "add", "case-2", "--reason", "regulator request", "--query", "party=" + callerA)
res.check(p.returncode == 0 and "1 calls" in p.stdout, "hold case-2 by query: %s%s"
          % (p.stdout, p.stderr))
p = es("hold", "add", "case-1", "--reason", "again", "--call", str(A))
res.check(p.returncode == 6 and "exists already" in p.stderr, "duplicate hold name: %s" % p.stderr)
j = json.loads(es("hold", "show", "case-1", "--json").stdout)
res.check(j["hold"]["active"] and j["hold"]["calls"] == 2 and len(j["calls"]) == 2,
          "hold show: %s" % j)
res.check(len(leaves("hold")) == 3, "three hold leaves in the ledger")

# ---- expiry by policy, holds kept -----------------------------------------------------------
p = es("retention", "report", "-c", GOOD, "--now", "2026-03-01", "--days", "30", "--json")
j = json.loads(p.stdout)
exp = {e["policy"]: e["count"] for e in j["expiring"]}
res.check(exp == {"short": len(short)}, "report: the short ones expire in March: %s" % exp)
# a policy that the configuration no longer has: nothing is deleted by it
ONLY_DEFAULT = conf("only-default.conf", "[retention default]\ndelete_after = 30d\n")
p = es("retention", "run", "-c", ONLY_DEFAULT, "--now", "2026-04-01")
res.check(p.returncode == 2 and "'short'" in p.stderr and recording_rows() == all_recs
          and not tombstones(), "a removed policy stops the run: %d %s" % (p.returncode, p.stderr))
p = es("retention", "run", "-c", GOOD, "--now", "2026-04-01", "--json")
j = json.loads(p.stdout)
left = recording_rows()
res.check(p.returncode == 0 and j["held"] == 2, "run: two held: %s %s" % (p.stdout, p.stderr))
res.check(A in left and B in left, "held recordings kept")
res.check(all(i not in left for i in short if i not in (A, B)), "the other short ones expired")
res.check(all(i in left for i in rest), "default ones (7 years) kept")
t = tombstones()
res.check(all(t.get(recs[i]) == "retention.short" for i in short if i not in (A, B)),
          "tombstones name the policy: %s" % t)
flags = dict(db_rows("SELECT id, coalesce(flags, '') FROM calls"))
res.check(all("expired" in flags[i] for i in short if i not in (A, B)), "expired calls flagged")
res.check(all(os.path.exists(os.path.join(data, recs[i])) for i in (A, B)), "held files there")
res.check(all(not os.path.exists(os.path.join(data, recs[i])) for i in short if i not in (A, B)),
          "expired files removed")
res.check(len(refusals("retention.run")) == 2, "retention refusals audited: %s"
          % refusals("retention.run"))

# ---- every other deletion path refuses a held recording, audited ------------------------
p = es("delete", str(A), "--yes")
res.check(p.returncode == 6 and "case-1" in p.stderr, "delete refused naming the hold: %s"
          % p.stderr)
p = es("keys", "shred", str(B), "--yes")
res.check(p.returncode == 6 and "case-1" in p.stderr, "keys shred refused: %s" % p.stderr)
res.check(len(refusals("delete")) == 1 and len(refusals("keys.shred")) == 1,
          "delete and shred refusals audited")
res.check(A in recording_rows() and B in recording_rows() and recs[A] not in tombstones(),
          "nothing deleted by the refused commands")

# ---- release one hold: A stays held (case-2), B expires -------------------------------------
p = es("hold", "release", "case-1", "--reason", "settled")
res.check(p.returncode == 0 and len(leaves("release")) == 2, "release case-1: %s" % p.stdout)
p = es("hold", "release", "case-1", "--reason", "again")
res.check(p.returncode == 6, "second release refused")
p = es("retention", "run", "-c", GOOD, "--now", "2026-04-01", "--json")
left = recording_rows()
res.check(p.returncode == 0 and A in left and B not in left,
          "after one release: A kept by case-2, B expired: %s" % p.stdout)
es("hold", "release", "case-2", "--reason", "closed")
p = es("retention", "run", "-c", GOOD, "--now", "2026-04-01")
res.check(p.returncode == 0 and A not in recording_rows(), "released then expired")
res.check(tombstones().get(recs[A]) == "retention.short", "A's tombstone names the policy")

# ---- quota: the minimum wins, then the oldest past it go ---------------------------------
total = sum(r[0] for r in db_rows("SELECT bytes FROM recordings"))
QUOTA = conf("quota.conf", """
[retention]
max_bytes = %d
[retention default]
keep = 30d
delete_after = 10y
""" % (total // 2))
es("retention", "apply", "-c", QUOTA, "--yes")
before = recording_rows()
p = es("retention", "run", "-c", QUOTA, "--now", "2026-02-01", "--json")
j = json.loads(p.stdout)
res.check(p.returncode == 7 and not j["quota_met"] and recording_rows() == before,
          "within the minimum: quota not met, exit 7, nothing deleted: %d %s"
          % (p.returncode, p.stdout))
res.check("quota not met" in p.stderr, "the condition is logged: %s" % p.stderr)
p = es("retention", "run", "-c", QUOTA, "--now", "2026-03-01", "--json")
j = json.loads(p.stdout)
left = recording_rows()
res.check(p.returncode == 0 and j["quota_met"] and 0 < len(left) < len(before),
          "past the minimum: some deleted until under quota: %s" % p.stdout)
starts = {i: calls[i]["start"] for i in before}
gone = before - left
res.check(max(starts[i] for i in gone) <= min(starts[i] for i in left),
          "the oldest went first")
t = tombstones()
res.check(all(t.get(recs[i]) == "quota.default" for i in gone), "quota tombstones")

# ---- drop_metadata: the call row goes too ------------------------------------------------------
DROP = conf("drop.conf", "[retention default]\ndelete_after = 30d\ndrop_metadata = yes\n")
es("retention", "apply", "-c", DROP, "--yes")
p = es("retention", "run", "-c", DROP, "--now", "2026-06-01")
res.check(p.returncode == 0 and not recording_rows(), "everything expired: %s" % p.stderr)
res.check(all(db_rows("SELECT count(*) FROM calls WHERE id = ?", i)[0][0] == 0 for i in left),
          "drop_metadata removed their call rows")

# ---- the archive still verifies, every tombstone names its cause ----------------------------
p = es("verify", "--all")
res.check(p.returncode == 0, "verify --all passes: %s%s" % (p.stdout[-400:], p.stderr))
t = tombstones()
res.check(len(t) == len(recs) and all(r.split(".")[0] in ("retention", "quota")
                                       for r in t.values()), "causes: %s" % sorted(set(t.values())))

# ---- a recording indexed with the policies in the configuration gets them at once --------
data2 = os.path.join(work, "data2")
p, _ = import_capture(data2, pcap, extra=("-c", GOOD))
db = index_db(data2)
got = dict(db.execute("SELECT call_row, retention FROM recordings").fetchall())
db.close()
res.check(p.returncode == 0 and set(got.values()) == {"short", "default"} and
          all(got[i] == "short" for i in short), "import -c sets the policies: %s" % got)

# ---- the ledger proves a hold without the index: a hold erased from the index (tampering)
# lets a delete through, and verify --all finds the deletion under hold ---------------------
p = earshot(data2, "hold", "add", "case-z", "--reason", "x", "--call", str(short[0]), check=False)
res.check(p.returncode == 0, "hold on data2: %s" % p.stderr)
db = index_db(data2)
db.execute("DELETE FROM hold_calls")
db.commit()
db.close()
p = earshot(data2, "delete", str(short[0]), "--yes", check=False)
res.check(p.returncode == 0, "with the index tampered, delete goes through: %s" % p.stderr)
p = earshot(data2, "verify", "--all", "--json", check=False)
res.check(p.returncode == 1 and "deleted_under_hold" in p.stdout and "case-z" in p.stdout,
          "verify finds the deletion under hold: %d %s" % (p.returncode, p.stdout[-500:]))

# ---- `earshot record` (here as `srs`) runs retention at start, then daily ------------------
data3 = os.path.join(work, "data3")
import_capture(data3, pcap)
earshot(data3, "hold", "add", "case-r", "--reason", "x", "--call", str(short[0]))
port = free_port(udp=True)
srs = subprocess.Popen([EARSHOT, "--data", data3, "srs", "-c", GOOD, "--listen",
                        "udp:127.0.0.1:%d" % port, "--media-addr", "127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(3)
srs.send_signal(signal.SIGTERM)
_, err = srs.communicate(timeout=30)
db = index_db(data3)
left3 = {r[0] for r in db.execute("SELECT call_row FROM recordings")}
db.close()
res.check(srs.returncode == 0 and "retention:" in err, "srs ran retention: %s" % err[-400:])
res.check(short[0] in left3 and all(i not in left3 for i in short[1:]) and
          all(i in left3 for i in rest), "inside the recorder: expired by policy, held kept")
res.finish()
