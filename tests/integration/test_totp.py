"""The TOTP second factor over real HTTP (issue #18), on `earshot serve`
with [api] required_mfa = admin,supervisor:

a. an admin without a second factor is sent to enrolment: the session
   reaches /api/me and enrolment, everything else is 403
   mfa_enrolment_required (an agent, whose role is not listed, is not);
b. enrolment: the otpauth:// URI and secret; the confirmation takes codes
   of t-30 but not t-60 or t+60 (computed here, RFC 6238 with Python's
   hmac) and hands out 10 recovery codes; the secret is not in the index;
c. sign-in in two steps: the password answers mfa_required and a pending
   token (no cookie); codes for t-60, t-30, t, t+30, t+60 inside and outside
   the +-1 step window; a code used once is refused again (replay);
d. a recovery code signs in once, never twice;
e. wrong codes are rate limited like passwords (429 after
   login_max_failures);
f. DELETE /api/me/totp needs the password and a code; an admin's reset and
   `earshot user totp-reset` remove it and are audited.
"""
import base64
import hashlib
import hmac
import os
import sqlite3
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import (EARSHOT, Results, free_port, http_req, http_stop,  # noqa: E402
                    http_wait_up, run, tmpdir)

HOST = "127.0.0.1"
PW = "correct horse battery"
MAX_PAIR = 5
res = Results()
work = tmpdir("earshot-totp-")
data = os.path.join(work, "data")
for name, role in (("admin1", "admin"), ("sup1", "supervisor"), ("agent1", "agent")):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"],
        input=PW + "\n")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nrequired_mfa = admin, supervisor\nlogin_max_failures = %d\n" % MAX_PAIR)
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[api]\nrequired_mfa = admin, boss\n")
p = run([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, free_port()), "-c", bad],
        check=False, timeout=10)
res.check(p.returncode == 2 and "bad.conf:2" in p.stderr and "boss" in p.stderr,
          "an unknown role in required_mfa is refused naming file:line: %d %r"
          % (p.returncode, p.stderr))


def totp(secret, t):
    """RFC 6238 with HMAC-SHA-1, 30 s steps, 6 digits (RFC 4226 5.3)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def safe_now():
    """Now, at least 3 s from a step's edge (the server reads its own clock)."""
    while True:
        t = time.time()
        if 3 < t % 30 < 27:
            return t
        time.sleep(0.5)


port = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                           "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def req(method, path, body=None, sess=None, source=None):
    h = {"X-CSRF-Token": sess[1]} if sess and method not in ("GET", "HEAD") else {}
    st, hd, b = http_req(HOST, port, method, path, body, headers=h,
                         cookie=sess[0] if sess else None, source=source)
    return st, hd, b


def cookie_of(hd):
    c = hd.get("set-cookie", "")
    return c.split("=", 1)[1].split(";", 1)[0] if c.startswith("earshot_session=") else None


def login(name, source=None):
    st, hd, b = req("POST", "/api/login", {"name": name, "password": PW}, source=source)
    return st, hd, b


def second(token, source=None, **kw):
    body = dict(token=token, **kw)
    return req("POST", "/api/login/totp", body, source=source)


def audit(admin, action):
    st, _, b = req("GET", "/api/audit?action=%s&limit=1000" % action, sess=admin)
    return b.get("entries", []) if st == 200 else []


try:
    if not res.check(http_wait_up(HOST, port, server), "server up on %d" % port):
        res.finish()

    # a. required_mfa: the admin's first session reaches enrolment only
    st, hd, b = login("admin1")
    res.check(st == 200 and b.get("mfa_enrolment_required") is True and cookie_of(hd),
              "admin without a second factor: a session marked for enrolment: %d %s" % (st, b))
    adm = (cookie_of(hd), b.get("csrf"))
    st, _, b = req("GET", "/api/calls", sess=adm)
    res.check(st == 403 and b.get("error") == "mfa_enrolment_required",
              "until enrolled the admin gets nothing else: %d %s" % (st, b))
    st, _, b = req("GET", "/api/users", sess=adm)
    res.check(st == 403, "not even the user list: %d" % st)
    st, _, b = req("GET", "/api/me", sess=adm)
    res.check(st == 200 and b.get("mfa", {}).get("required") is True
              and b["mfa"].get("enrolled") is False, "/api/me says enrolment is owed: %s" % b)
    st, hd, b = login("agent1")
    agt = (cookie_of(hd), b.get("csrf"))
    res.check(st == 200 and b.get("mfa_enrolment_required") is False,
              "an agent (role not listed) signs in with a password: %d %s" % (st, b))
    st, _, _ = req("GET", "/api/calls", sess=agt)
    res.check(st == 200, "and reaches the calls: %d" % st)

    # b. enrolment
    st, _, b = req("POST", "/api/me/totp", sess=adm)
    secret, uri = b.get("secret", ""), b.get("uri", "")
    res.check(st == 201 and len(secret) == 32 and uri.startswith("otpauth://totp/earshot:admin1?")
              and "secret=" + secret in uri and "period=30" in uri,
              "enrolment answers the secret and its otpauth URI: %d %s" % (st, uri))
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    sealed = db.execute("SELECT sealed, enabled FROM user_totp").fetchall()
    db.close()
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    res.check(len(sealed) == 1 and sealed[0][1] == 0 and secret not in sealed[0][0]
              and base64.b64encode(raw).decode()[:20] not in sealed[0][0]
              and sealed[0][0].startswith("v1:"),
              "the index holds the secret sealed (vault text), not in the clear: %s" % sealed)
    t = safe_now()
    for off in (-60, 60):
        st, _, b = req("POST", "/api/me/totp/confirm", {"code": totp(secret, t + off)}, sess=adm)
        res.check(st == 403, "confirmation with the code of t%+d is refused: %d" % (off, st))
    st, _, b = req("POST", "/api/me/totp/confirm", {"code": totp(secret, t - 30)}, sess=adm)
    codes = b.get("recovery_codes", []) if st == 200 else []
    confirm_step = int(t - 30) // 30
    res.check(st == 200 and len(codes) == 10 and len(set(codes)) == 10
              and all(len(c) == 19 and c.count("-") == 3 for c in codes),
              "confirmation with the code of t-30 turns it on: 10 recovery codes: %d %s"
              % (st, codes[:2]))
    st, _, b = req("GET", "/api/calls", sess=adm)
    res.check(st == 200, "once enrolled the same session reaches the calls: %d" % st)
    st, _, b = req("GET", "/api/me/totp", sess=adm)
    res.check(st == 200 and b.get("enrolled") is True and b.get("recovery_left") == 10,
              "GET /api/me/totp: on, 10 recovery codes left: %s" % b)
    st, _, b = req("POST", "/api/me/totp", sess=adm)
    res.check(st == 409, "a second enrolment while one is on is refused: %d" % st)

    # d. a recovery code, once (while the code window test waits for a step)
    st, hd, b = login("admin1")
    res.check(st == 200 and b.get("mfa_required") is True and not cookie_of(hd)
              and len(b.get("mfa_token", "")) == 64,
              "password right: mfa_required with a pending token and no cookie: %d %s"
              % (st, {k: v for k, v in b.items() if k != "mfa_token"}))
    st, hd, b = second(b["mfa_token"], recovery_code=codes[0].upper().replace("-", " "))
    res.check(st == 200 and cookie_of(hd), "a recovery code (any case, spaces) signs in: %d" % st)
    adm = (cookie_of(hd), b.get("csrf"))
    st, hd, b = login("admin1")
    tok = b.get("mfa_token", "")
    st, hd, b = second(tok, recovery_code=codes[0])
    res.check(st == 401 and not cookie_of(hd), "the same recovery code twice: 401: %d" % st)
    st, _, b = req("GET", "/api/me/totp", sess=adm)
    res.check(b.get("recovery_left") == 9, "9 recovery codes left: %s" % b)
    st, _, b = req("POST", "/api/login/totp", {"token": "0" * 64, "code": "123456"})
    res.check(st == 401, "an unknown pending token: 401: %d" % st)

    # e. wrong codes are limited like passwords, per (address, name)
    st, _, b = login("admin1", source="127.0.0.5")
    tok5 = b.get("mfa_token", "")
    sts = [second(tok5, source="127.0.0.5", code="%06d" % i)[0] for i in range(MAX_PAIR + 1)]
    res.check(sts == [401] * MAX_PAIR + [429],
              "wrong codes from one address: 401 x%d then 429: %s" % (MAX_PAIR, sts))

    # f. removal: own (password + code), admin's reset, the command line
    st, hd, b = login("sup1")
    sup = (cookie_of(hd), b.get("csrf"))
    st, _, b = req("POST", "/api/me/totp", sess=sup)
    sup_secret = b.get("secret", "")
    st, _, b = req("POST", "/api/me/totp/confirm", {"code": totp(sup_secret, time.time())},
                   sess=sup)
    res.check(st == 200, "the supervisor enrols: %d" % st)
    st, _, b = req("DELETE", "/api/users/sup1/totp", sess=adm)
    res.check(st == 200 and b.get("reset") is True, "an admin resets it: %d %s" % (st, b))
    st, _, b = req("GET", "/api/me", sess=sup)
    res.check(st == 401, "the reset signed the supervisor out: %d" % st)
    st, hd, b = login("sup1")
    res.check(st == 200 and b.get("mfa_enrolment_required") is True,
              "the supervisor is sent to enrolment again: %d %s" % (st, b))
    st, _, b = req("DELETE", "/api/users/agent1/totp", sess=adm)
    res.check(st == 404, "a reset of a user without one: 404: %d" % st)
    st, _, b = req("DELETE", "/api/users/admin1/totp", sess=agt)
    res.check(st == 403, "an agent cannot reset anybody's: %d" % st)
    resets = audit(adm, "user.totp_reset")
    res.check(any(e["object"] == "sup1" and e["outcome"] == "ok" and e["user"] == "admin1"
                  for e in resets), "the reset is audited: %s" % resets)
    st, _, b = req("POST", "/api/me/totp", sess=agt)
    ag_secret = b.get("secret", "")
    st, _, b = req("POST", "/api/me/totp/confirm", {"code": totp(ag_secret, time.time())},
                   sess=agt)
    st, _, b = req("DELETE", "/api/me/totp", {"password": "wrong password!", "code":
                                              totp(ag_secret, time.time())}, sess=agt)
    res.check(st == 403, "removing one's own with a wrong password: 403: %d" % st)
    st, _, b = req("DELETE", "/api/me/totp", {"password": PW, "code": "000000"
                                              if totp(ag_secret, time.time()) != "000000"
                                              else "111111"}, sess=agt)
    res.check(st == 403, "...or a wrong code: 403: %d" % st)
    st, _, b = req("DELETE", "/api/me/totp", {"password": PW,
                                              "code": totp(ag_secret, time.time())}, sess=agt)
    res.check(st == 200 and b.get("enrolled") is False,
              "with both right it is removed: %d %s" % (st, b))
    # c. the window, t-60 .. t+60, on a step after the confirmation's
    while int(time.time() - 30) // 30 <= confirm_step or not 3 < time.time() % 30 < 27:
        time.sleep(0.5)
    t = safe_now()
    st, _, b = login("admin1")
    tok = b.get("mfa_token", "")
    for off in (-60, 60):
        st, hd, _ = second(tok, code=totp(secret, t + off))
        res.check(st == 401 and not cookie_of(hd), "the code of t%+d is outside: %d" % (off, st))
    for off in (-30, 0, 30):
        st, hd, b = second(tok, code=totp(secret, t + off))
        res.check(st == 200 and cookie_of(hd), "the code of t%+d signs in: %d %s" % (off, st, b))
        st, hd, b = login("admin1")
        tok = b.get("mfa_token", "")
        st, hd, _ = second(tok, code=totp(secret, t + off))
        res.check(st == 401 and not cookie_of(hd),
                  "the code of t%+d a second time is refused (replay): %d" % (off, st))
    st, hd, b = second(tok, code=totp(secret, t - 30))
    res.check(st == 401, "an older code after a newer one is refused: %d" % st)
    oks = [e for e in audit(adm, "login.totp") if e["outcome"] == "ok"]
    fails = [e for e in audit(adm, "login.totp") if e["outcome"] == "failed"]
    res.check(len(oks) == 4 and any("recovery code (9 left)" in e["detail"] for e in oks)
              and any("reused" in e["detail"] for e in fails),
              "second steps audited, which kind and why: %d ok, %d failed"
              % (len(oks), len(fails)))

    # keys rotate rewraps the sealed secrets with the new KEK (before, they
    # stayed wrapped by the retired one)
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    before = db.execute("SELECT sealed FROM user_totp WHERE user_id ="
                        " (SELECT id FROM users WHERE name = 'admin1')").fetchone()[0]
    p = run([EARSHOT, "--data", data, "keys", "rotate"], check=False)
    new_kek = p.stdout.split("new key-encryption key ")[-1].split(";")[0]
    after = db.execute("SELECT sealed FROM user_totp WHERE user_id ="
                       " (SELECT id FROM users WHERE name = 'admin1')").fetchone()[0]
    db.close()
    res.check(p.returncode == 0 and "second-factor secrets rewrapped" in p.stdout
              and after != before and after.startswith("v1:%s:" % new_kek)
              and not before.startswith("v1:%s:" % new_kek),
              "keys rotate rewraps the sealed TOTP secrets with the new KEK: %s %s %s"
              % (p.stdout.strip(), before[:24], after[:24]))

    p = run([EARSHOT, "--data", data, "user", "totp-reset", "admin1"], check=False)
    res.check(p.returncode == 0, "earshot user totp-reset admin1: %d %s" % (p.returncode, p.stderr))
    p = run([EARSHOT, "--data", data, "user", "totp-reset", "admin1"], check=False)
    res.check(p.returncode == 4 and "no such" in p.stderr,
              "again: exit 4, nothing to reset: %d %s" % (p.returncode, p.stderr))
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped cleanly: %s %s" % (rc, err[-500:]))
res.finish()
