"""LDAP sign-in (issue #18) against a real OpenLDAP slapd started here on a
free port in a temporary folder (an mdb database loaded by slapadd; a CA and
a server certificate for 127.0.0.1 made with openssl for StartTLS), with
`earshot serve -c` and [ldap] bind_dn = uid=%s,ou=people,...,
group_role = cn=qa,ou=groups,...:supervisor:

a. alice, a member of cn=qa, signs in as supervisor; a local shadow row
   without a password holds her sessions and audit entries;
b. carol, in no mapped group, is refused;
c. dave signs in, is removed from cn=qa, and cannot any more ("disabled" in
   the directory is taken as: no longer in a mapped group; see below);
d. a wrong password is rate limited like a local one (401 x5, then 429);
e. names that are filter syntax ("*", "a*)(uid=*") are refused before the
   directory is asked;
f. StartTLS with the test's CA works; with another CA, or none (the
   system's store), the certificate is refused and nobody signs in (503).

Disabled account: removal from the mapped group, not ppolicy's
pwdAccountLockedTime: it is what directory admins do on OpenLDAP and Active
Directory alike, and needs no overlay; a locked account fails the bind,
which (b)'s wrong-password path already covers.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from estest import (EARSHOT, Results, free_port, http_req, http_stop,  # noqa: E402
                    http_wait_up, run, skip, tmpdir)

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
if not os.path.exists(SLAPD) or not shutil.which("ldapmodify") or not shutil.which("openssl"):
    skip("slapd, ldap-utils or openssl missing (scripts/bootstrap installs them)")

HOST = "127.0.0.1"
BASE = "dc=example,dc=org"
PW = {"alice": "alice pass 1", "carol": "carol pass 1", "dave": "dave pass 1"}
res = Results()
work = tmpdir("earshot-ldap-")
data = os.path.join(work, "data")


def ssl(*args):
    run(["openssl"] + list(args), cwd=work)


# a CA, a server certificate for 127.0.0.1 signed by it, and another CA
for ca in ("ca", "other"):
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test %s" % ca,
        "-keyout", ca + ".key", "-out", ca + ".pem")
ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
    "-out", "server.csr")
with open(os.path.join(work, "san.ext"), "w") as f:
    f.write("subjectAltName = IP:127.0.0.1\n")
ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "2", "-extfile", "san.ext", "-out", "server.pem")

os.makedirs(os.path.join(work, "db"))
conf_ldap = os.path.join(work, "slapd.conf")
with open(conf_ldap, "w") as f:
    f.write("""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {w}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {w}/ca.pem
TLSCertificateFile {w}/server.pem
TLSCertificateKeyFile {w}/server.key
database mdb
suffix "{b}"
rootdn "cn=admin,{b}"
rootpw admin-secret
directory {w}/db
""".format(w=work, b=BASE))
people = "".join("""
dn: uid={u},ou=people,{b}
objectClass: inetOrgPerson
uid: {u}
cn: {u}
sn: {u}
userPassword: {p}
""".format(u=u, p=p, b=BASE) for u, p in PW.items())
ldif = """dn: {b}
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: ou=people,{b}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{b}
objectClass: organizationalUnit
ou: groups
{people}
dn: cn=qa,ou=groups,{b}
objectClass: groupOfNames
cn: qa
member: uid=alice,ou=people,{b}
member: uid=dave,ou=people,{b}
""".format(b=BASE, people=people)
with open(os.path.join(work, "data.ldif"), "w") as f:
    f.write(ldif)
run([SLAPADD, "-f", conf_ldap, "-l", os.path.join(work, "data.ldif")])
lport = free_port()
slapd = subprocess.Popen([SLAPD, "-d", "0", "-h", "ldap://%s:%d/" % (HOST, lport), "-f",
                          conf_ldap], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
for _ in range(100):
    p = subprocess.run(["ldapsearch", "-x", "-H", "ldap://%s:%d" % (HOST, lport), "-b", BASE,
                        "-s", "base", "1.1"], capture_output=True)
    if p.returncode == 0:
        break
    time.sleep(0.1)


def serve_conf(name, ca):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("[api]\nlogin_max_failures = 5\n[ldap]\nurl = ldap://%s:%d\nstarttls = yes\n"
                "%sbind_dn = uid=%%s,ou=people,%s\ngroup_role = cn=qa,ou=groups,%s:supervisor\n"
                % (HOST, lport, "ca_file = %s\n" % ca if ca else "", BASE, BASE))
    return path


def serve(conf):
    port = free_port()
    proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                             "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, port


run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input="local admin pw\n")
server, port = serve(serve_conf("good.conf", os.path.join(work, "ca.pem")))


def login(name, pw, source=None, p=None):
    st, hd, b = http_req(HOST, p or port, "POST", "/api/login", {"name": name, "password": pw},
                         source=source)
    return st, b


try:
    if not res.check(http_wait_up(HOST, port, server), "server up"):
        raise SystemExit(res.finish())
    st, b = login("alice", PW["alice"])
    res.check(st == 200 and b.get("role") == "supervisor",
              "a. alice (cn=qa) signs in as supervisor over StartTLS: %d %s" % (st, b))
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    row = db.execute("SELECT pwhash, role FROM users WHERE name = 'alice'").fetchone()
    db.close()
    res.check(row == ("!ldap", "supervisor"), "a local shadow row without a password: %s" % (row,))
    st, b = login("admin1", "local admin pw")
    res.check(st == 200 and b.get("role") == "admin", "local users still sign in: %d" % st)
    st, b = login("carol", PW["carol"])
    res.check(st == 401, "b. carol (no mapped group) is refused: %d %s" % (st, b))
    st, b = login("dave", PW["dave"])
    res.check(st == 200, "c. dave signs in while in cn=qa: %d" % st)
    p = subprocess.run(["ldapmodify", "-x", "-H", "ldap://%s:%d" % (HOST, lport), "-D",
                        "cn=admin," + BASE, "-w", "admin-secret"],
                       input="dn: cn=qa,ou=groups,%s\nchangetype: modify\ndelete: member\n"
                             "member: uid=dave,ou=people,%s\n" % (BASE, BASE),
                       capture_output=True, text=True)
    st, b = login("dave", PW["dave"])
    res.check(p.returncode == 0 and st == 401,
              "...and not after leaving it: %d (ldapmodify %d)" % (st, p.returncode))
    sts = [login("alice", "wrong %d" % i, source="127.0.0.6")[0] for i in range(6)]
    res.check(sts == [401] * 5 + [429], "d. wrong LDAP passwords: 401 x5 then 429: %s" % sts)
    for bad in ("*", "a*)(uid=*", "alice)(|(uid=*"):
        st, b = login(bad, "x")
        res.check(st in (400, 401), "e. the name %r signs nobody in: %d" % (bad, st))
    st, b = login("alice", "")
    res.check(st in (400, 401), "an empty password (an unauthenticated bind) is refused: %d" % st)
    st, adm_hd, b = http_req(HOST, port, "POST", "/api/login",
                             {"name": "admin1", "password": "local admin pw"})
    cookie = adm_hd["set-cookie"].split("=", 1)[1].split(";")[0]
    st, _, b = http_req(HOST, port, "GET", "/api/audit?action=login&limit=1000", cookie=cookie)
    details = [(e["user"], e["outcome"], e["detail"]) for e in b.get("entries", [])]
    res.check(("alice", "ok", "ldap cn=qa,ou=groups,%s" % BASE) in details
              and any(u == "carol" and o == "failed" for u, o, _ in details),
              "sign-ins audited with the group or why not: %s" % details[-4:])
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "server stopped: %s %s" % (rc, err[-300:]))

# f. the certificate is checked
for name, ca in (("other.conf", os.path.join(work, "other.pem")), ("none.conf", None)):
    server, port = serve(serve_conf(name, ca))
    try:
        if res.check(http_wait_up(HOST, port, server), "server up (%s)" % name):
            st, b = login("alice", PW["alice"], p=port)
            res.check(st == 503, "f. StartTLS with %s: the certificate is refused: %d %s"
                      % ("another CA" if ca else "no CA file", st, b))
    finally:
        rc, err = http_stop(server)
        res.check("StartTLS" in err, "the log says StartTLS failed: %s" % err[-300:])
slapd.terminate()
slapd.wait(timeout=10)
res.finish()
