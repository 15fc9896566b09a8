"""Data-subject requests (#15, GDPR art. 15/17) on generated calls: two
imported captures give each party two calls; one call of party P is under a
legal hold.  `earshot subject export` writes every call of P (given with
separators: matched as user numbers are) with an evidence bundle per
recording, and earshot-verify-evidence checks the export offline (and fails
it when a bundle is damaged).  `subject erase --dry-run` changes nothing;
`--yes` deletes the unheld recording (tombstone "erasure.<reason>"), keeps
the held call whole and names its hold in the report, pseudonymises P in
the erased row; the audit names the party by its pseudonym only; `earshot
verify --all` passes.  Erasing party Q (no hold) leaves Q's number in no
file of the data folder at all.  Bad input is refused, nothing erased."""
import json
import os
import zipfile

import subprocess

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req, index_db,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
VERIFY = os.path.join(BUILD, "earshot-verify-evidence")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

res = Results()
work = tmpdir("earshot-subject-")
data = os.path.join(work, "data")
pcaps = []
for seed in (21, 22):
    pcaps.append(os.path.join(work, "calls%d.pcap" % seed))
    run([GEN, "-o", pcaps[-1], "--seed", str(seed), "--calls", "6", "--duration", "5"])
p, _ = import_capture(data, *pcaps)
if p.returncode != 0:
    raise RuntimeError("import failed: %s%s" % (p.stdout, p.stderr))

P, P_SPACED = "+493055500003", "+49 (30) 5550-0003"  # callers of calls ..03
Q = "+494066600002"                                   # callees of calls ..02
R = "+493055500001"                                   # erased over the REST API


def es(*args):
    return earshot(data, *args, check=False)


def calls_of(number):
    return sorted(c["id"] for c in calls_json(data)
                  if number in (c["parties"]["caller"]["user"], c["parties"]["callee"]["user"]))


def db_rows(sql, *a):
    db = index_db(data)
    try:
        return db.execute(sql, a).fetchall()
    finally:
        db.close()


def recording_rows():
    return {r[0]: r[1] for r in db_rows("SELECT call_row, path FROM recordings")}


def tombstones():
    out = {}
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[1] == "tomb":
                out[parts[4]] = parts[5][len("reason="):]
    return out


p_calls, q_calls = calls_of(P), calls_of(Q)
recs = recording_rows()
if not (len(p_calls) == 2 and len(q_calls) == 2 and all(i in recs for i in p_calls + q_calls)):
    skip("the captures did not give two recorded calls each: %s %s" % (p_calls, q_calls))
held, free = p_calls
r = es("hold", "add", "case-7", "--reason", "litigation 7", "--call", str(held))
res.check(r.returncode == 0, "hold placed: %s" % r.stderr)

# ---- bad input: a clear error, nothing erased ---------------------------------------
for args, want in [
    (["erase", "--party", P, "--reason", "x"], "exactly one of --dry-run"),
    (["erase", "--party", P, "--yes"], "--reason"),
    (["erase", "--party", "12;drop", "--reason", "x", "--yes"], "not a number"),
    (["erase", "--party", "1,2", "--reason", "x", "--yes"], "not a number"),
    (["export", "--party", P], "-o FILE.zip"),
    (["frobnicate", "--party", P], "export or erase"),
]:
    r = es("subject", *args)
    res.check(r.returncode == 2 and want in r.stderr,
              "refused %s: %d %s" % (args, r.returncode, r.stderr.strip()[:200]))
r = es("subject", "erase", "--party", "+1 999 000", "--reason", "x", "--yes")
res.check(r.returncode == 4 and "no call of party" in r.stderr, "unknown party: exit 4")
res.check(recording_rows() == recs and not tombstones(), "bad input erased nothing")

# ---- export ----------------------------------------------------------------------------
out = os.path.join(work, "p.zip")
r = es("subject", "export", "--party", P_SPACED, "-o", out)
res.check(r.returncode == 0, "export: %d %s" % (r.returncode, r.stderr))
with zipfile.ZipFile(out) as z:
    names = sorted(z.namelist())
    man = json.loads(z.read("manifest.json"))
    inner = {n: z.read(n) for n in names if n.startswith("call-")}
res.check(names == sorted(["manifest.json", "README.txt"] + ["call-%d.zip" % i for i in p_calls]),
          "one bundle per recording, a manifest and a README: %s" % names)
res.check(man["format"] == "earshot-subject-export" and man["party"] == P[1:]
          and sorted(c["id"] for c in man["calls"]) == p_calls
          and all(c["call"]["parties"]["caller"]["user"] == P for c in man["calls"]),
          "the manifest lists both calls of P with their metadata")
r = run([VERIFY, out], check=False)
res.check(r.returncode == 0 and "EXPORT: ok: 2 evidence bundles" in r.stdout,
          "the export verifies offline: %d %s" % (r.returncode, r.stdout[-300:]))
# a damaged bundle inside the export fails it
bad = os.path.join(work, "bad.zip")
with zipfile.ZipFile(out) as zi, zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as zo:
    for n in zi.namelist():
        b = zi.read(n)
        if n == "call-%d.zip" % free:
            with zipfile.ZipFile(os.path.join(work, "x.zip"), "w") as t:
                for m in zipfile.ZipFile(__import__("io").BytesIO(b)).infolist():
                    c = zipfile.ZipFile(__import__("io").BytesIO(b)).read(m.filename)
                    if m.filename.startswith("audio."):
                        c = c[:-10] + b"0123456789"
                    t.writestr(m.filename, c)
            b = open(os.path.join(work, "x.zip"), "rb").read()
        zo.writestr(n, b)
r = run([VERIFY, bad], check=False)
res.check(r.returncode == 1 and "1 failed" in r.stdout, "a changed audio fails the export: %s"
          % r.stdout[-200:])
r = es("subject", "export", "--party", P, "-o", out)
res.check(r.returncode == 1 and "exists" in r.stderr, "an export never overwrites a file")

# ---- erase -----------------------------------------------------------------------------
r = es("subject", "erase", "--party", P_SPACED, "--reason", "DSR 42", "--dry-run", "--json")
rep = json.loads(r.stdout) if r.returncode == 0 else {}
res.check(rep.get("dry_run") is True and recording_rows() == recs and not tombstones(),
          "dry run: a report, nothing changed: %s" % r.stderr)
r = es("subject", "erase", "--party", P_SPACED, "--reason", "DSR 42", "--yes", "--json")
rep = json.loads(r.stdout) if r.returncode == 0 else {"calls": []}
by_id = {c["id"]: c for c in rep["calls"]}
res.check(r.returncode == 0 and sorted(by_id) == p_calls, "erase: %d %s" % (r.returncode, r.stderr))
res.check(by_id.get(held, {}).get("result") == "held" and by_id[held]["hold"] == "case-7",
          "the report names the hold that kept a call: %s" % by_id.get(held))
res.check(by_id.get(free, {}).get("result") == "erased" and by_id[free]["tombstone"],
          "the other call is erased with a tombstone: %s" % by_id.get(free))
now = recording_rows()
res.check(held in now and free not in now, "the held recording stays, the other is gone")
res.check(tombstones() == {recs[free]: "erasure.dsr-42"},
          "the tombstone names the cause: %s" % tombstones())
res.check(not os.path.exists(os.path.join(data, recs[free])), "the erased file is removed")
row = db_rows("SELECT uri, \"user\", display, pai, ua FROM parties WHERE call_row = ? AND role = 0",
              free)[0]
res.check(row[0] == row[1] == rep["pseudonym"] and rep["pseudonym"].startswith("erased:")
          and row[2:] == (None, None, None), "the erased party is pseudonymised: %s" % (row,))
flags = db_rows("SELECT flags FROM calls WHERE id = ?", free)[0][0]
res.check("erased" in (flags or ""), "the call is flagged erased: %s" % flags)
left = db_rows("SELECT DISTINCT call_row FROM parties WHERE uri LIKE ?1 OR \"user\" LIKE ?1"
               " OR pai LIKE ?1", "%" + P[1:] + "%")
res.check(left == [(held,)], "P's number is left only in the held call: %s" % left)
res.check([c["id"] for c in calls_json(data, "--party", P[1:])] == [held],
          "a party search finds only the held call")
audit = db_rows("SELECT action, object, outcome, detail FROM audit WHERE action LIKE 'subject.%'")
res.check(("subject.erase", "call:%d" % held, "denied", "under legal hold case-7")
          in [tuple(a) for a in audit], "the refusal by the hold is audited: %s" % audit)
res.check(not any(P[1:] in " ".join(a) for a in audit) and
          any(a[1] == "party:" + rep["pseudonym"] for a in audit),
          "the audit names the party by its pseudonym, never the number")
r = es("verify", "--all")
res.check(r.returncode == 0, "verify --all passes after the erasure: %s" % r.stdout[-300:])

# ---- the same over the REST API: POST /api/subject/export|erase ---------------------
HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
tokens = {}
for name, role in {"admin1": "admin", "agent1": "agent", "audit1": "auditor"}.items():
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
    tokens[name] = json.loads(earshot(data, "user", "token", name, "--json").stdout)["token"]


def req(who, path, body):
    return http_req(HOST, PORT, "POST", path, body, {"Authorization": "Bearer " + tokens[who]},
                    raw=path.endswith("export"))


r_calls = calls_of(R)
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    res.check(http_wait_up(HOST, PORT, server), "server up")
    st, _, _ = req("agent1", "/api/subject/erase", {"party": R, "reason": "x", "dry_run": True})
    res.check(st == 403, "an agent may not erase: %d" % st)
    st, _, _ = req("audit1", "/api/subject/export", {"party": R})
    res.check(st == 403, "an auditor without can-listen may not export audio: %d" % st)
    st, _, b = req("audit1", "/api/subject/erase", {"party": R, "reason": "x", "dry_run": True})
    res.check(st == 200 and sorted(c["id"] for c in b["calls"]) == r_calls
              and all(c["result"] == "found" for c in b["calls"]),
              "an auditor may run a dry run: %d %s" % (st, b))
    st, _, b = req("admin1", "/api/subject/erase", {"party": "1;2", "reason": "x"})
    res.check(st == 400, "a bad number is 400: %d" % st)
    st, hd, b = req("admin1", "/api/subject/export", {"party": R})
    rz = os.path.join(work, "r.zip")
    with open(rz, "wb") as f:
        f.write(b if isinstance(b, bytes) else b"")
    v = run([VERIFY, rz], check=False)
    res.check(st == 200 and hd.get("content-type") == "application/zip" and v.returncode == 0
              and "EXPORT: ok: %d evidence bundles" % len(r_calls) in v.stdout,
              "the REST export verifies offline: %d %s" % (st, v.stdout[-200:]))
    st, _, b = req("admin1", "/api/subject/erase", {"party": R, "reason": "DSR 44"})
    res.check(st == 200 and all(c["result"] == "erased" for c in b.get("calls", [])) and
              len(b.get("calls", [])) == len(r_calls), "the REST erasure: %d %s" % (st, b))
finally:
    http_stop(server)
res.check(not any(recs[i] in recording_rows().values() for i in r_calls)
          and all(tombstones().get(recs[i]) == "erasure.dsr-44" for i in r_calls),
          "R's recordings are gone, with their tombstones")

# party Q, no hold: its number is in no file of the data folder afterwards
r = es("subject", "erase", "--party", Q, "--reason", "DSR 43", "--yes")
res.check(r.returncode == 0 and "2 recordings erased" in r.stdout, "erase Q: %s" % r.stdout)
found = []
for root, _, files in os.walk(data):
    for f in files:
        with open(os.path.join(root, f), "rb") as fh:
            if Q[1:].encode() in fh.read():
                found.append(os.path.join(root, f))
res.check(not found, "Q's number is in no file of the data folder: %s" % found)
r = es("verify", "--all")
res.check(r.returncode == 0, "verify --all passes after the second erasure")
raise SystemExit(res.finish())
