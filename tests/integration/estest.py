"""Helpers for earshot's integration tests (Python 3 standard library only).

Each test_*.py is run by ctest with ES_BUILD_DIR and ES_SOURCE_DIR set.
Exit code 77 means "skipped" (the reason is printed)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("ES_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("ES_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
EARSHOT = os.path.join(BUILD, "earshot")
SHARED = os.path.normpath(os.path.join(SOURCE, "..", "shared", "captures"))
SKIP = 77
# ES_TEST_INDEX=pg: every earshot a test starts keeps its index on
# PostgreSQL (see _pg_switch at the end of this file); else SQLite.
INDEX_ENGINE = "pg" if os.environ.get("ES_TEST_INDEX", "") in ("pg", "postgresql") else "sqlite"


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


class Results:
    """Counts checks; prints 'N passed, M failed' at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: " + what)
        return ok

    def skip(self, what):
        self.skipped += 1
        print("SKIP: " + what)

    def finish(self):
        line = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line)
        sys.exit(1 if self.failed else 0)


def run(args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def tmpdir(prefix="earshot-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


def free_port(udp=False, host="127.0.0.1"):
    """A port nothing on this machine holds right now (the kernel picks it:
    bind to port 0).  Tests never use fixed ports: any program may hold one."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_port_range(count, host="127.0.0.1", lo=20000, hi=60000, tries=200):
    """The first of COUNT consecutive ports free for both TCP and UDP (probed
    from a random start), for peers that need a block (sipp's media ports, an
    RTP port pool)."""
    import random
    import socket
    rnd = random.Random()
    for _ in range(tries):
        start = rnd.randrange(lo, hi - count) & ~1
        held = []
        ok = True
        try:
            for port in range(start, start + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind((host, port))
        except OSError:
            ok = False
        finally:
            for s in held:
                s.close()
        if ok:
            return start
    raise RuntimeError("no %d consecutive free ports in %d-%d" % (count, lo, hi))


def own_loopback():
    """Moves this test, and every program it starts from then on, into a
    network namespace of its own whose only interface is its own `lo`
    (unshare(2) with CLONE_NEWNET, as bench/live.sh does with `ip netns`).
    A capture on lo then holds this test's traffic only: ports picked free
    (free_port) are free only at that moment, and another test's sipp or
    recorder on the host's lo could use one inside our BPF filter's range
    later (integ_test_alerts_live indexed 65 calls for its 61).  Call it
    first, before any thread, socket, port or server: unshare moves only
    the calling thread.  The namespace ends with the test's last process.
    Returns "own" or, where unshare is refused (no CAP_SYS_ADMIN), prints
    why and returns "host": the test then runs on the host's lo as before,
    its BPF filter the only guard.  PostgreSQL (ES_TEST_INDEX=pg) is
    reached over its Unix socket, which a network namespace does not cut."""
    import ctypes
    global HOST_NETNS
    HOST_NETNS = netns_of()
    CLONE_NEWNET = 0x40000000  # <sched.h>
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        print("note: no network namespace of its own (unshare: %s); capturing the host's lo"
              % os.strerror(ctypes.get_errno()))
        return "host"
    # a new namespace's lo is down: 127.0.0.1 answers only once it is up
    run(["ip", "link", "set", "lo", "up"])
    return "own"


HOST_NETNS = None  # the namespace own_loopback() left


def netns_of(pid="self"):
    """The network namespace of process pid ("net:[inode]")."""
    return os.readlink("/proc/%s/ns/net" % pid)


def earshot(data, *args, check=True):
    return run([EARSHOT, "--data", data] + list(args), check=check)


def import_capture(data, *paths, extra=()):
    p = earshot(data, "import", "--json", "--no-progress", *extra, *paths, check=False)
    summary = None
    try:
        summary = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        pass
    return p, summary


def calls_json(data, *filters):
    return json.loads(earshot(data, "calls", "--json", *filters).stdout)


def show_json(data, call):
    return json.loads(earshot(data, "show", "--json", str(call)).stdout)


def plain_recording(data, call, out):
    """The audio of a call's recording as plain file out (recordings are
    stored encrypted): `earshot export`, which checks the stored file's
    SHA-256 and decrypts it; out's extension should be the recording's."""
    earshot(data, "export", str(call), "-o", out)
    return out


def have(tool):
    return shutil.which(tool) is not None


RTP_LINE = re.compile(
    r"^\s*(?P<start>[\d.]+)\s+(?P<end>[\d.]+)\s+(?P<src>\S+)\s+(?P<sport>\d+)\s+"
    r"(?P<dst>\S+)\s+(?P<dport>\d+)\s+(?P<ssrc>0x[0-9A-Fa-f]+)\s+(?P<payload>.+?)\s+"
    r"(?P<pkts>\d+)\s+(?P<lost>-?\d+)\s+\((?P<pct>[-\d.]+)%\)\s+(?P<mind>[-\d.]+)\s+"
    r"(?P<meand>[-\d.]+)\s+(?P<maxd>[-\d.]+)\s+(?P<minj>[-\d.]+)\s+(?P<meanj>[-\d.]+)\s+"
    r"(?P<maxj>[-\d.]+)\s*(?P<problem>X?)\s*$")


def addr(ip, port):
    return "[%s]:%s" % (ip, port) if ":" in ip else "%s:%s" % (ip, port)


def parse_rtp_streams(text):
    """tshark -q -z rtp,streams output -> list of dicts keyed like ours."""
    out = []
    for line in text.splitlines():
        m = RTP_LINE.match(line)
        if not m:
            continue
        out.append({
            "src": addr(m["src"], m["sport"]),
            "dst": addr(m["dst"], m["dport"]),
            "ssrc": "0x%08X" % int(m["ssrc"], 16),
            "payload": m["payload"].strip(),
            "packets": int(m["pkts"]),
            "lost": int(m["lost"]),
            "jitter_max_ms": float(m["maxj"]),
            "delta_max_ms": float(m["maxd"]),
        })
    return out


def tshark_rtp_streams(path):
    p = run(["tshark", "-n", "-q", "-z", "rtp,streams", "-r", path], check=False)
    return parse_rtp_streams(p.stdout)


def tshark_non_sip_streams(path):
    """SSRCs (as "0x%08X") of the RTP streams tshark pairs with an SDP that
    did not come in a SIP message (MGCP, H.248, RTSP): not calls earshot
    records, counted as RTP without a call instead."""
    sip_frames = set(run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields",
                          "-e", "frame.number"], check=False).stdout.split())
    out = set()
    p = run(["tshark", "-n", "-r", path, "-Y", "rtp", "-T", "fields", "-E", "separator=\t",
             "-e", "rtp.ssrc", "-e", "rtp.setup-frame"], check=False)
    for line in set(p.stdout.splitlines()):
        f = line.split("\t")
        if len(f) == 2 and f[1] and f[1] not in sip_frames:
            out.add("0x%08X" % int(f[0], 16))
    return out


def tshark_invite_outcomes(path):
    """Call-ID -> (expected outcome, code) from tshark's SIP decode: the
    first 2xx to an INVITE means answered; else the last final response to
    an INVITE; else no answer."""
    p = run(["tshark", "-n", "-r", path, "-Y", "sip", "-T", "fields", "-E", "separator=\t",
             "-E", "occurrence=f", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code",
             "-e", "sip.CSeq.method"], check=False)
    calls = {}
    for line in p.stdout.splitlines():
        f = (line.split("\t") + ["", "", "", ""])[:4]
        cid, method, status, cseq_method = f
        if not cid:
            continue
        c = calls.setdefault(cid, {"invite": False, "answered": None, "final": None})
        if method == "INVITE":
            c["invite"] = True
        if status and cseq_method == "INVITE" and c["answered"] is None:
            code = int(status.split(",")[0])
            if 200 <= code < 300:
                c["answered"] = code
            elif code >= 300:
                c["final"] = code
    out = {}
    for cid, c in calls.items():
        if not c["invite"]:
            continue
        if c["answered"]:
            out[cid] = ("answered", c["answered"])
        elif c["final"]:
            out[cid] = (outcome_of(c["final"]), c["final"])
        else:
            out[cid] = ("no_answer", None)
    return out


def outcome_of(code):
    if 300 <= code < 400:
        return "redirected"
    if code in (486, 600):
        return "busy"
    if code in (408, 480):
        return "no_answer"
    if code == 487:
        return "cancelled"
    return "rejected"


def all_streams(calls):
    out = []
    for c in calls:
        for s in c["streams"]:
            s = dict(s)
            s["call"] = c["id"]
            out.append(s)
    return out


def compare_streams(res, name, ours, theirs, jitter_tol=0.1, not_ours=()):
    """Every tshark stream must be one of ours with equal packets and lost
    and max jitter within jitter_tol ms; except streams whose SSRC is in
    not_ours (signalled by something else than SIP), which must not be."""
    by_key = {(s["src"], s["dst"], s["ssrc"]): s for s in ours}
    for t in theirs:
        key = (t["src"], t["dst"], t["ssrc"])
        if t["ssrc"] in not_ours:
            res.check(key not in by_key, "%s: stream %s -> %s %s was set up outside SIP but "
                      "earshot gave it to a call" % (name, *key))
            print("note: %s: stream %s -> %s %s set up outside SIP (tshark), not a call's"
                  % (name, *key))
            continue
        o = by_key.get(key)
        if not res.check(o is not None, "%s: tshark stream %s -> %s %s not found by earshot"
                         % (name, *key)):
            continue
        res.check(o["packets"] == t["packets"], "%s: stream %s->%s %s packets %d, tshark %d"
                  % (name, *key, o["packets"], t["packets"]))
        res.check(o["lost"] == t["lost"], "%s: stream %s->%s %s lost %d, tshark %d"
                  % (name, *key, o["lost"], t["lost"]))
        res.check(abs(o["jitter_max_ms"] - t["jitter_max_ms"]) <= jitter_tol,
                  "%s: stream %s->%s %s max jitter %.3f, tshark %.3f"
                  % (name, *key, o["jitter_max_ms"], t["jitter_max_ms"]))
    extra = [k for k in by_key if k not in {(t["src"], t["dst"], t["ssrc"]) for t in theirs}]
    for k in extra:
        print("note: %s: earshot stream %s -> %s %s (%d packets) is not in tshark's list"
              % (name, k[0], k[1], k[2], by_key[k]["packets"]))
    return extra


BROWSER_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                            "browser"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_ready():
    """None when the browser tests can run: node, Debian's chromium and
    playwright-core from npm in tests/browser/node_modules, installed here on
    first use (`npm ci`, pinned by package-lock.json; a lock keeps two tests
    running at once from installing together).  Else why not."""
    import fcntl
    import shutil
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            return "%s is missing: apt-get install nodejs npm" % tool
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is missing: apt-get install chromium" % CHROMIUM
    with open(os.path.join(BROWSER_DIR, ".npm-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
            return None
        t0 = time.monotonic()
        cmd = ["npm", "ci" if os.path.exists(os.path.join(BROWSER_DIR, "package-lock.json"))
               else "install", "--no-audit", "--no-fund"]
        p = subprocess.run(cmd, cwd=BROWSER_DIR, capture_output=True, text=True)
        if p.returncode != 0:
            return "%s failed (is the npm registry reachable?): %s" % (" ".join(cmd),
                                                                      p.stderr[-500:])
        print("%s: %.1f s" % (" ".join(cmd), time.monotonic() - t0))
    return None


def http_req(host, port, method, path, body=None, headers=None, cookie=None, source=None,
             raw=False, ctype=None, timeout=30):
    """One HTTP request to earshot serve: (status, headers dict with lower-case
    names, body parsed when it is JSON (unless raw) else bytes).  A dict or
    list body is sent as JSON.  Content-Type application/json (unless headers
    has one): ctype None for a dict or list body, True for any body, False
    never.  cookie is the earshot_session value; source the local address."""
    import http.client
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = "earshot_session=" + cookie
    structured = isinstance(body, (dict, list))
    if structured:
        body = json.dumps(body)
    if body is not None and (ctype or (ctype is None and structured)):
        h.setdefault("Content-Type", "application/json")
    c = http.client.HTTPConnection(host, port, timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()
    if not raw and hdrs.get("content-type", "").startswith("application/json") and data:
        data = json.loads(data)
    return r.status, hdrs, data


def http_wait_up(host, port, proc, tries=200):
    """Whether earshot serve answers on host:port before proc exits (10 s)."""
    for _ in range(tries):
        try:
            http_req(host, port, "GET", "/api/me", timeout=5)
            return True
        except OSError:
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def http_stop(proc, timeout=20):
    """SIGTERM an earshot serve (or record) process and wait: (exit code, or
    "hung" / "died early (N)", its stderr).  A process that hangs is killed."""
    import signal
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "hung"
    else:
        rc = "died early (%s)" % proc.returncode
    _, err = proc.communicate()
    return rc, err or ""


class PgCluster:
    """A throwaway PostgreSQL 15 cluster (tests/pg_cluster.sh, shared with
    the unit tests): a Unix socket in its own temporary folder, no TCP port,
    run as "postgres" when the tests run as root.  fresh() makes an empty
    database and returns its index URL (for EARSHOT_INDEX); restart() and
    stop().  skip() when PostgreSQL is not installed."""

    def __init__(self):
        self.script = os.path.join(SOURCE, "tests", "pg_cluster.sh")
        self.dir = tempfile.mkdtemp(prefix="earshot-pg-")
        self.n = 0
        p = subprocess.run(["sh", self.script, "start", self.dir], capture_output=True, text=True)
        if p.returncode == SKIP:
            shutil.rmtree(self.dir, ignore_errors=True)
            skip("PostgreSQL is not installed: %s" % p.stderr.strip())
        if p.returncode != 0:
            raise RuntimeError("pg_cluster start: %s%s" % (p.stdout, p.stderr))

    def fresh(self):
        self.n += 1
        p = run(["sh", self.script, "createdb", self.dir, "db%d" % self.n])
        return p.stdout.strip()

    def restart(self):
        run(["sh", self.script, "restart", self.dir])

    def stop(self):
        run(["sh", self.script, "stop", self.dir], check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---- ES_TEST_INDEX=pg: the same tests on a PostgreSQL index -------------------------------
# EARSHOT becomes tests/pg_earshot.sh (through a small launcher holding its
# settings, so it works under any environment a test gives a child), which
# gives every data folder its own fresh database in one throwaway cluster:
# the cluster at $ES_TEST_PG_DIR when ctest's fixture started one for the
# whole run (CMakeLists.txt, pg_integ_*), else one started here for this
# test alone and stopped when it exits.  Tests that read the index
# themselves use index_db() / index_dump(), which work on both engines.

class _PgIndex:
    """index_db() on PostgreSQL: execute() runs one statement through psql
    (SQLite's "?" placeholders filled in as quoted literals), fetchone() /
    fetchall() give tuples with JSON's types (int, float, str, None);
    commit() and close() do nothing (psql commits each statement).  SQLite
    PRAGMAs are skipped.  Write the SQL so both engines read it ("user" in
    double quotes: it is a keyword in PostgreSQL)."""

    def __init__(self, url):
        self.url = url
        self.rows = []

    @staticmethod
    def _literal(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (bytes, bytearray)):
            return "'\\x%s'::bytea" % bytes(v).hex()
        return "'" + str(v).replace("'", "''") + "'"

    def _bind(self, sql, params):
        """sql with "?" and "?N" (SQLite's numbered form) outside quotes
        replaced by params' literals."""
        out, i, k, quote = [], 0, 0, None
        while k < len(sql):
            ch = sql[k]
            k += 1
            if quote:
                quote = None if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "?":
                m = re.match(r"\d+", sql[k:])
                if m:
                    k += m.end()
                    out.append(self._literal(params[int(m.group()) - 1]))
                else:
                    out.append(self._literal(params[i]))
                    i += 1
                continue
            out.append(ch)
        return "".join(out)

    def execute(self, sql, params=()):
        sql = self._bind(sql.strip().rstrip(";"), tuple(params))
        self.rows = []
        if sql.upper().startswith("PRAGMA"):
            return self
        query = sql.upper().startswith(("SELECT", "WITH"))
        if query:
            sql = "SELECT coalesce(json_agg(t), '[]') FROM (%s) t" % sql
        p = run([os.path.join(_PG_BIN, "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                 "-d", self.url, "-c", sql])
        if query:
            self.rows = json.loads(p.stdout, object_pairs_hook=lambda kv: tuple(v for _, v in kv))
        return self

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(list(self.rows))

    def commit(self):
        pass

    def close(self):
        pass


_PG_BIN = os.environ.get("ES_PG_BIN", "/usr/lib/postgresql/15/bin")
_PG = {}


def index_url(data):
    """The PostgreSQL URL of data's index (ES_TEST_INDEX=pg only)."""
    return run([EARSHOT, "--es-url", data]).stdout.strip()


def index_db(data):
    """A connection to data's index on the engine the tests run on: SQLite's
    sqlite3 connection, or a _PgIndex with the same execute / fetchone /
    fetchall / commit / close."""
    if INDEX_ENGINE == "pg":
        return _PgIndex(index_url(data))
    import sqlite3
    return sqlite3.connect(os.path.join(data, "index.sqlite"))


def index_dump(data):
    """Every byte of data's index as stored: the SQLite file and its WAL,
    or pg_dump of the database (a test that a secret is never stored)."""
    if INDEX_ENGINE == "pg":
        return subprocess.run([os.path.join(_PG_BIN, "pg_dump"), "-d", index_url(data)],
                              capture_output=True, check=True).stdout
    db = os.path.join(data, "index.sqlite")
    out = b""
    for f in (db, db + "-wal"):
        if os.path.exists(f):
            with open(f, "rb") as fh:
                out += fh.read()
    return out


def _pg_switch():
    global EARSHOT
    import atexit
    pgdir = os.environ.get("ES_TEST_PG_DIR", "")
    if not (pgdir and os.path.exists(os.path.join(pgdir, "data", "PG_VERSION"))):
        cluster = PgCluster()
        atexit.register(cluster.stop)
        pgdir = cluster.dir
    launch_dir = tempfile.mkdtemp(prefix="earshot-pgrun-")
    atexit.register(shutil.rmtree, launch_dir, True)
    launcher = os.path.join(launch_dir, "earshot")
    with open(launcher, "w") as f:
        f.write("#!/bin/sh\nES_TEST_PG_DIR='%s' ES_TEST_EARSHOT='%s' exec bash '%s' \"$@\"\n"
                % (pgdir, os.path.abspath(EARSHOT),
                   os.path.join(os.path.abspath(SOURCE), "tests", "pg_earshot.sh")))
    os.chmod(launcher, 0o755)
    _PG["dir"] = pgdir
    EARSHOT = launcher
    print("note: index on PostgreSQL (ES_TEST_INDEX=pg), cluster %s" % pgdir)


if INDEX_ENGINE == "pg":
    _pg_switch()
