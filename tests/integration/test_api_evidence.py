"""The REST API's evidence and verify paths against a running `earshot
serve` (127.0.0.1:18300): GET /api/calls/{id}/evidence writes nothing to
the data folder (inotify on every folder of DATA while bundles are built:
the plaintext audio must never touch the disk), its ZIP verifies with
earshot-verify-evidence and is the CLI's `export --evidence -o X.zip`; and
GET /api/calls/{id}/verify follows the ledger while the server runs: calls
imported by another process verify without a restart, and an entries.log
tampered meanwhile is reported, not answered from a stale view."""
import ctypes
import ctypes.util
import os
import struct
import subprocess
import time
import zipfile

from estest import (free_port, BUILD, EARSHOT, Results, calls_json, earshot, http_req, http_stop, http_wait_up,
                    import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
VERIFY = os.path.join(BUILD, "earshot-verify-evidence")
for tool in (GEN, VERIFY):
    if not os.path.exists(tool):
        skip("%s not built" % tool)

HOST = "127.0.0.1"
PORT = free_port(host=HOST)  # no fixed port: any program may hold one
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-api-evidence-")
data = os.path.join(work, "data")


def make_pcap(name, seed, ncalls, duration):
    p = os.path.join(work, name + ".pcap")
    run([GEN, "-o", p, "--seed", str(seed), "--calls", str(ncalls), "--duration", str(duration)])
    return p


# long calls: a bundle takes a while to build, plenty of time to be seen
p, _ = import_capture(data, make_pcap("first", 21, 4, 40))
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
recorded = [c for c in calls_json(data) if c["recording"]]
if len(recorded) < 2:
    raise RuntimeError("too few recorded calls")
run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input=PW + "\n")
# DATA/run exists, so that anything made there is seen (a watch on a folder
# made during the request could come too late)
os.makedirs(os.path.join(data, "run"), exist_ok=True)


# ---- inotify through libc (no inotify-tools needed) --------------------------------

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
IN_NONBLOCK = 0o4000
IN_ISDIR = 0x40000000


class Watch:
    """Every folder of root: names created, moved in or written there."""

    def __init__(self, root):
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            skip("inotify_init1 failed: errno %d" % ctypes.get_errno())
        self.dirs = {}
        for d, _, _ in os.walk(root):
            wd = libc.inotify_add_watch(self.fd, d.encode(), IN_CREATE | IN_MOVED_TO | IN_MODIFY
                                        | IN_CLOSE_WRITE)
            if wd >= 0:
                self.dirs[wd] = d

    def events(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            i = 0
            while i + 16 <= len(buf):
                wd, mask, _, nlen = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + nlen].rstrip(b"\0").decode(errors="replace")
                out.append((os.path.join(self.dirs.get(wd, "?"), name), mask))
                i += 16 + nlen

    def close(self):
        os.close(self.fd)


def sqlite_file(path):
    """The index and SQLite's own journal files: the audit rows go there."""
    return os.path.basename(path).startswith("index.sqlite")


# ---- the server ---------------------------------------------------------------------

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--threads", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def req(method, path, body=None, cookie=None, raw=False):
    return http_req(HOST, PORT, method, path, body, cookie=cookie, raw=raw, timeout=60)


def wait_up():
    return http_wait_up(HOST, PORT, server)


def verify_call(cookie, cid):
    st, _, b = req("GET", "/api/calls/%d/verify" % cid, cookie=cookie)
    return st, b


def zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


try:
    if not res.check(wait_up(), "server did not come up"):
        raise SystemExit(res.finish())
    st, h, _ = req("POST", "/api/login", {"name": "admin1", "password": PW})
    admin = None
    for part in h.get("set-cookie", "").split(";"):
        if part.strip().startswith("earshot_session="):
            admin = part.strip().split("=", 1)[1]
    res.check(st == 200 and admin, "login: %d" % st)

    # ---- evidence: nothing written to DATA, and the CLI's ZIP ---------------------------
    w = Watch(data)
    bundles = []
    for c in recorded:
        st, hd, body = req("GET", "/api/calls/%d/evidence" % c["id"], cookie=admin, raw=True)
        res.check(st == 200 and hd.get("content-type") == "application/zip",
                  "evidence of call %d: %d %s" % (c["id"], st, body[:200]))
        bundles.append((c, body))
    time.sleep(0.2)
    events = w.events()
    w.close()
    written = sorted({p for p, mask in events if not sqlite_file(p)})
    res.check(written == [], "the API's evidence export wrote into the data folder (the "
              "plaintext must stay in memory): %s" % written)
    print("evidence: %d bundles (%s bytes), %d file events in DATA, none outside the index"
          % (len(bundles), "+".join(str(len(b)) for _, b in bundles), len(events)))

    for c, body in bundles:
        zpath = os.path.join(work, "api-%d.zip" % c["id"])
        with open(zpath, "wb") as f:
            f.write(body)
        vp = run([VERIFY, zpath], check=False)
        res.check(vp.returncode == 0, "API evidence ZIP of call %d verifies: %d %s%s"
                  % (c["id"], vp.returncode, vp.stdout, vp.stderr))
        cli = os.path.join(work, "cli-%d.zip" % c["id"])
        earshot(data, "export", str(c["id"]), "--evidence", "-o", cli)
        a, b = zip_entries(zpath), zip_entries(cli)
        res.check(sorted(a) == sorted(b), "API and CLI bundles name the same files: %s / %s"
                  % (sorted(a), sorted(b)))
        diff = [n for n in a if a.get(n) != b.get(n)]
        res.check(diff == [], "API and CLI bundles of call %d differ in %s" % (c["id"], diff))
        res.check(open(cli, "rb").read() == body, "API and CLI ZIPs of call %d are the same bytes"
                  % c["id"])
        audio = [n for n in a if n.startswith("audio.")]
        res.check(len(audio) == 1 and len(a[audio[0]]) > 100000,
                  "the bundle holds the audio: %s" % {n: len(v) for n, v in a.items()})
    res.check(not os.listdir(os.path.join(data, "run")), "DATA/run is empty: %s"
              % os.listdir(os.path.join(data, "run")))

    # ---- verify follows the ledger while the server runs -----------------------------
    st, b = verify_call(admin, recorded[0]["id"])
    res.check(st == 200 and b.get("ok") is True, "verify before the import: %d %s" % (st, b))
    before = {c["id"] for c in calls_json(data)}
    p, _ = import_capture(data, make_pcap("second", 22, 3, 5))
    res.check(p.returncode == 0, "import while the server runs: %s" % p.stderr)
    new = [c for c in calls_json(data) if c["recording"] and c["id"] not in before]
    res.check(len(new) >= 1, "the second import recorded calls")
    for c in new:
        st, b = verify_call(admin, c["id"])
        res.check(st == 200 and b.get("ok") is True and not b.get("findings"),
                  "verify of call %d imported while the server runs: %d %s" % (c["id"], st, b))
    # its evidence too (the server's ledger view has the new leaves and head)
    if new:
        st, _, body = req("GET", "/api/calls/%d/evidence" % new[0]["id"], cookie=admin, raw=True)
        res.check(st == 200, "evidence of a newly imported call: %d %s" % (st, body[:300]))

    # tamper the new call's leaf in place (same length, valid line): reported
    ent = os.path.join(data, "ledger", "entries.log")
    orig = open(ent, "rb").read()
    if new:
        target = new[-1]
        lines = orig.split(b"\n")
        idx = [i for i, ln in enumerate(lines) if b"\t" + target["recording"]["path"].encode() + b"\t"
               in ln]
        res.check(len(idx) == 1, "one leaf names %s" % target["recording"]["path"])
        if idx:
            ln = lines[idx[0]]
            at = ln.index(b"cipher=") + 7
            lines[idx[0]] = ln[:at] + (b"0" if ln[at:at + 1] != b"0" else b"1") + ln[at + 1:]
            with open(ent, "r+b") as f:  # in place: same file, same size
                f.write(b"\n".join(lines))
            st, b = verify_call(admin, target["id"])
            kinds = [f["kind"] for f in b.get("findings", [])] if isinstance(b, dict) else []
            res.check(st == 200 and b.get("ok") is False and "altered" in kinds,
                      "verify after entries.log was tampered reports it: %d %s" % (st, b))
            # an untouched call still verifies
            st, b = verify_call(admin, recorded[0]["id"])
            res.check(st == 200 and b.get("ok") is True, "an untouched call still verifies: %s" % b)
    # a malformed line anywhere: the ledger cannot be read, every verify says so
    with open(ent, "r+b") as f:
        f.seek(0)
        f.write(b"X")
    st, b = verify_call(admin, recorded[0]["id"])
    kinds = [f["kind"] for f in b.get("findings", [])] if isinstance(b, dict) else []
    res.check(st == 200 and b.get("ok") is False and "ledger" in kinds,
              "verify with a malformed entries.log reports the ledger: %d %s" % (st, b))
    st, _, body = req("GET", "/api/calls/%d/evidence" % recorded[0]["id"], cookie=admin, raw=True)
    res.check(st == 500, "no evidence from a malformed ledger: %d" % st)
    # restored (as a new file, replaced): ok again
    with open(ent + ".new", "wb") as f:
        f.write(orig)
    os.replace(ent + ".new", ent)
    for c in recorded[:1] + new[-1:]:
        st, b = verify_call(admin, c["id"])
        res.check(st == 200 and b.get("ok") is True, "verify after the ledger was restored: %s" % b)
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "serve exits 0 on SIGTERM: %s\n%s" % (rc, err[-3000:]))
res.finish()
