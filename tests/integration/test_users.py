"""`earshot user` and `earshot audit` end to end on a fresh data folder:
users of every role, list --json, passwd, disable, tokens (expiry, the list,
revoked by passwd and disable and staying revoked after enable), the audit
trail of those changes, `audit --verify`, then tampering with the index
through SQL and the verify naming the broken seq.  No server: no port."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import estest  # noqa: E402

res = estest.Results()
data = estest.tmpdir()


def log_user():
    import pwd
    return "cli:" + pwd.getpwuid(os.geteuid()).pw_name


def es(*args, stdin=None):
    return subprocess.run([estest.EARSHOT, "--data", data] + list(args), input=stdin,
                          capture_output=True, text=True)


try:
    # help everywhere
    for args in (["user", "--help"], ["audit", "--help"]):
        p = es(*args)
        res.check(p.returncode == 0 and "Exit codes" in p.stdout, " ".join(args) + " --help")
    res.check(es("user").returncode == 2, "user without a subcommand: usage")
    res.check(es("user", "frobnicate", "x").returncode == 2, "unknown subcommand: usage")

    # one user of each role
    users = [("root-admin", "admin", None, False), ("sue", "supervisor", None, False),
             ("alice", "agent", "1001, +1 555-0100", False), ("audrey", "auditor", None, True)]
    for name, role, numbers, listen in users:
        args = ["user", "add", name, "--role", role, "--password-stdin"]
        if numbers:
            args += ["--numbers", numbers]
        if listen:
            args.append("--can-listen")
        p = es(*args, stdin="pw-of-%s\n" % name)
        res.check(p.returncode == 0, "add %s: %d %s" % (name, p.returncode, p.stderr))
    # refusals
    p = es("user", "add", "ALICE", "--role", "agent", "--password-stdin", stdin="whatever12\n")
    res.check(p.returncode == 1 and "exists" in p.stderr, "duplicate name (any case): 1")
    p = es("user", "add", "bob", "--role", "god", "--password-stdin", stdin="whatever12\n")
    res.check(p.returncode == 2, "bad role: 2")
    p = es("user", "add", "bob", "--role", "agent", "--password-stdin", stdin="short\n")
    res.check(p.returncode == 2, "short password: 2")
    p = es("user", "add", "bob bob", "--role", "agent", "--password-stdin", stdin="whatever12\n")
    res.check(p.returncode == 2, "bad name: 2")
    p = es("user", "add", "bob", "--role", "agent", "--numbers", "1'; DROP TABLE users;--",
           "--password-stdin", stdin="whatever12\n")
    res.check(p.returncode == 2, "bad numbers: 2")
    # password from a pipe without --password-stdin (stdin is not a tty)
    p = es("user", "add", "piped", "--role", "agent", stdin="piped-password\n")
    res.check(p.returncode == 0, "password read from a non-tty stdin: %s" % p.stderr)

    p = es("user", "list", "--json")
    res.check(p.returncode == 0, "list --json")
    lst = json.loads(p.stdout)
    by = {u["name"]: u for u in lst}
    res.check(sorted(by) == ["alice", "audrey", "piped", "root-admin", "sue"],
              "listed users: %s" % sorted(by))
    res.check(by["alice"]["role"] == "agent" and by["alice"]["numbers"] == ["1001", "15550100"],
              "alice: %s" % by.get("alice"))
    res.check(by["audrey"]["can_listen"] is True and by["sue"]["can_listen"] is False,
              "can_listen")
    res.check(all(not u["disabled"] for u in lst), "nobody disabled yet")
    res.check("pw-of" not in p.stdout and "argon2" not in p.stdout, "no secrets in the list")
    p = es("user", "list")
    res.check(p.returncode == 0 and "alice" in p.stdout and "agent" in p.stdout, "list table")

    # changes
    res.check(es("user", "passwd", "alice", "--password-stdin", stdin="new-secret-1\n")
              .returncode == 0, "passwd")
    res.check(es("user", "passwd", "nobody", "--password-stdin", stdin="new-secret-1\n")
              .returncode == 4, "passwd of nobody: 4")
    res.check(es("user", "role", "sue", "admin").returncode == 0, "role")
    res.check(es("user", "role", "sue", "boss").returncode == 2, "bad role: 2")
    res.check(es("user", "role", "nobody", "admin").returncode == 4, "role of nobody: 4")
    res.check(es("user", "numbers", "alice", "2002,2003").returncode == 0, "numbers")
    res.check(es("user", "can-listen", "audrey", "no").returncode == 0, "can-listen")
    res.check(es("user", "disable", "piped").returncode == 0, "disable")
    res.check(es("user", "disable", "nobody").returncode == 4, "disable nobody: 4")
    by = {u["name"]: u for u in json.loads(es("user", "list", "--json").stdout)}
    res.check(by["sue"]["role"] == "admin", "sue is admin now")
    res.check(by["alice"]["numbers"] == ["2002", "2003"], "alice's numbers")
    res.check(by["audrey"]["can_listen"] is False, "audrey may not listen now")
    res.check(by["piped"]["disabled"] is True, "piped disabled")
    res.check(es("user", "enable", "piped").returncode == 0, "enable")

    # tokens: printed once, only a hash stored
    p = es("user", "token", "audrey", "--label", "nightly verify", "--json")
    res.check(p.returncode == 0, "token: %s" % p.stderr)
    tok = json.loads(p.stdout)
    res.check(tok["token"].startswith("est_%d_" % tok["id"]) and len(tok["token"]) > 60,
              "token format: %s" % tok["token"][:12])
    p = es("user", "token", "alice")
    token2 = p.stdout.strip()
    res.check(p.returncode == 0 and token2.startswith("est_") and "shown only" in p.stderr,
              "plain token output")
    res.check(es("user", "token", "nobody").returncode == 4, "token for nobody: 4")
    res.check(es("user", "revoke", str(tok["id"])).returncode == 0, "revoke")
    res.check(es("user", "revoke", "99999").returncode == 4, "revoke unknown: 4")
    res.check(es("user", "revoke", "x1").returncode == 2, "revoke non-number: 2")
    # expiry, the list, and `passwd` / `disable` revoking (issue #13, finding 5)
    p = es("user", "token", "alice", "--label", "week", "--expires", "7", "--json")
    week = json.loads(p.stdout)
    p2 = es("user", "token", "alice", "--label", "forever", "--expires", "never", "--json")
    forever = json.loads(p2.stdout)
    res.check(p.returncode == 0 and week["expires"] and p2.returncode == 0 and
              forever["expires"] is None, "token --expires 7 / never: %r %r" % (week, forever))
    for bad in (["--expires", "0"], ["--expires", "3651"], ["--expires", "x"],
                ["--label", "x" * 101], ["--label", "a\tb"]):
        res.check(es("user", "token", "alice", *bad).returncode == 2, "token %s: 2" % bad[0])
    res.check(es("user", "tokens", "alice", "--label", "x").returncode == 2,
              "tokens --label: usage")
    res.check(es("user", "tokens", "nobody").returncode == 4, "tokens of nobody: 4")

    def states(name):
        p = es("user", "tokens", name, "--json")
        return {t["id"]: (t["state"], t["revoked_why"], t["label"]) for t in json.loads(p.stdout)}

    st = states("alice")
    res.check(all(st[t][0] == "active" for t in (week["id"], forever["id"])) and
              len(st) == 3, "tokens --json before passwd: %r" % st)
    p = es("user", "tokens", "alice")
    res.check(p.returncode == 0 and "week" in p.stdout and "EXPIRES" in p.stdout and
              week["token"] not in p.stdout, "tokens table, no secret")
    res.check(es("user", "passwd", "alice", "--password-stdin", stdin="new-secret-2\n")
              .returncode == 0, "passwd again")
    st = states("alice")
    res.check(all(v[0] == "revoked" and v[1] == "password reset" for v in st.values()),
              "`user passwd` revoked every token of alice: %r" % st)
    p = es("user", "token", "sue", "--label", "sue-1", "--json")
    sue1 = json.loads(p.stdout)["id"]
    res.check(es("user", "disable", "sue").returncode == 0 and
              es("user", "enable", "sue").returncode == 0, "disable + enable sue")
    st = states("sue")
    res.check(st[sue1][:2] == ("revoked", "user disabled"),
              "a disable revoked sue's token and the enable left it revoked: %r" % (st[sue1],))
    p = es("user", "token", "sue", "--label", "sue-2", "--json")
    sue2 = json.loads(p.stdout)["id"]
    res.check(states("sue")[sue2][0] == "active", "a new token after the enable is active")
    res.check(es("user", "revoke", str(sue2)).returncode == 0 and
              states("sue")[sue2][:2] == ("revoked", "revoked by " + log_user()),
              "revoke: the reason names who")

    raw = estest.index_dump(data)
    secret = tok["token"].split("_")[2].encode()
    res.check(secret not in raw and token2.encode() not in raw, "no token in the index")
    res.check(b"pw-of-alice" not in raw and b"new-secret-1" not in raw,
              "no password in the index")

    # the audit log has every change (and the refused ones)
    p = es("audit", "--json")
    res.check(p.returncode == 0, "audit --json")
    log = json.loads(p.stdout)
    acts = [(e["action"], e["object"], e["outcome"]) for e in log]
    for want in [("user.add", "alice", "ok"), ("user.add", "audrey", "ok"),
                 ("user.passwd", "alice", "ok"), ("user.passwd", "nobody", "failed"),
                 ("user.role", "sue", "ok"), ("user.numbers", "alice", "ok"),
                 ("user.can_listen", "audrey", "ok"), ("user.disable", "piped", "ok"),
                 ("user.enable", "piped", "ok"), ("token.revoke", "token %d" % tok["id"], "ok"),
                 ("token.revoke", "token 99999", "failed"),
                 ("token.revoke", "token %d" % week["id"], "ok"),
                 ("token.create", "alice token %d" % week["id"], "ok"),
                 ("token.revoke", "token %d" % sue1, "ok")]:
        res.check(want in acts, "audited: %s" % (want,))
    res.check(all(e["user"].startswith("cli:") for e in log), "actor is cli:<unix user>")
    why = {e["object"]: e["detail"] for e in log if e["action"] == "token.revoke"}
    res.check(why.get("token %d" % week["id"]) == "of alice: password reset" and
              why.get("token %d" % sue1) == "of sue: user disabled",
              "token.revoke says whose and why: %r" % why)
    res.check(not any(week["token"] in json.dumps(e) for e in log), "no token in the audit log")
    res.check([e["seq"] for e in log] == list(range(1, len(log) + 1)), "seqs 1..n")
    res.check(not any("pw-of" in json.dumps(e) or "new-secret" in json.dumps(e) for e in log),
              "no password in the audit log")
    p = es("audit", "--action", "user.", "--json")
    res.check(all(e["action"].startswith("user.") for e in json.loads(p.stdout)),
              "--action prefix")
    p = es("audit", "--action", "user.role", "--limit", "1", "--json")
    sel = json.loads(p.stdout)
    res.check(len(sel) == 1 and sel[0]["object"] == "nobody", "--limit keeps the newest")
    p = es("audit", "--since", "2000-01-01", "--user", log[0]["user"])
    res.check(p.returncode == 0 and "user.add" in p.stdout, "table with filters")
    res.check(es("audit", "--since", "yesterday").returncode == 2, "bad --since: 2")
    res.check(es("audit", "--verify", "--user", "x").returncode == 2, "--verify with filters: 2")

    p = es("audit", "--verify")
    n = len(log)
    res.check(p.returncode == 0 and ("up to seq %d" % n) in p.stdout
              and "external anchor" in p.stdout, "verify intact: %s" % p.stdout)
    p = es("audit", "--verify", "--json")
    v = json.loads(p.stdout)
    res.check(v["intact"] and v["last_seq"] == n and v["bad_seq"] is None, "verify --json")

    # tampering through SQL (SQLite or PostgreSQL: estest.index_db)
    con = estest.index_db(data)
    con.execute("UPDATE audit SET \"user\" = 'someone-else' WHERE seq = 3")
    con.commit()
    con.close()
    p = es("audit", "--verify")
    res.check(p.returncode == 1 and "seq 3" in p.stdout, "edited row named: %s" % p.stdout)
    p = es("audit", "--verify", "--json")
    v = json.loads(p.stdout)
    res.check(p.returncode == 1 and not v["intact"] and v["bad_seq"] == 3, "verify --json broken")
    con = estest.index_db(data)
    con.execute("UPDATE audit SET \"user\" = ? WHERE seq = 3", (log[2]["user"],))
    con.commit()
    res.check(es("audit", "--verify").returncode == 0, "restored row: intact again")
    con.execute("DELETE FROM audit WHERE seq = 5")
    con.commit()
    con.close()
    p = es("audit", "--verify")
    res.check(p.returncode == 1 and "seq 6" in p.stdout, "deleted row: next seq named: %s"
              % p.stdout)
    if estest.INDEX_ENGINE == "sqlite":  # a PostgreSQL index is the server's, not the folder's
        res.check(es("audit", "--data", os.path.join(data, "none")).returncode == 1,
                  "no index: 1")
finally:
    shutil.rmtree(data, ignore_errors=True)

res.finish()
