#!/usr/bin/env python3
"""The web server under attack (issue #13, findings 4, 12 and 13a).

- Slow headers: 1,100 connections from 127.0.0.2 that send a request header
  a byte at a time for ~12 s, while a logged-in user on 127.0.0.1 searches:
  every search is answered within 1 s, the flood gets at most the per-address
  limit of connections, and those are closed once they have not sent a
  whole request within the deadline (10 s), though they never stop sending.
- TLS: TLS 1.0 and 1.1 handshakes are refused, 1.2 and 1.3 accepted.
- Existence oracle: an agent gets the same answer (status and body) for
  another agent's call and for a call id that does not exist, on every
  per-call endpoint, while the audit log keeps the real reason."""
import json
import os
import resource
import select
import socket
import ssl
import subprocess
import threading
import time

from estest import (EARSHOT, BUILD, SOURCE, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST = "127.0.0.1"
FLOOD_SRC = "127.0.0.2"  # another loopback address: the attacker
PW = "correct horse battery"
PER_IP = 64              # [api] per_ip_connections, the default
DEADLINE_S = 10          # SRV_REQUEST_DEADLINE_US
FLOOD_N, FLOOD_S = 1100, 12.0
TLS_DIR = os.path.join(SOURCE, "tests", "data", "tls")

res = Results()
work = tmpdir("earshot-harden-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "11", "--calls", "6", "--duration", "4"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
if len(recorded) < 3:
    raise RuntimeError("the capture has too few recorded calls")
own = recorded[0]
mine = own["parties"]["caller"]["user"]
foreign = [c for c in recorded if mine not in (c["parties"]["caller"]["user"],
                                                c["parties"]["callee"]["user"])][0]
for name, role, numbers in (("super1", "supervisor", ""), ("agent1", "agent", mine),
                            ("admin1", "admin", "")):
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")

# 1,100 sockets here and as many in the server (it inherits the limit)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard < 4096:
    skip("the open-file limit (%d) is too low for the flood" % hard)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(extra=()):
    port = free_port(host=HOST)
    proc = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                             "--threads", "4"] + list(extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, port


def login(port, name, source=None, with_csrf=False):
    st, h, b = http_req(HOST, port, "POST", "/api/login", {"name": name, "password": PW},
                        source=source, timeout=10)
    for part in h.get("set-cookie", "").split(";"):
        if part.strip().startswith("earshot_session="):
            ck = part.strip().split("=", 1)[1]
            return (ck, b["csrf"]) if with_csrf else ck
    raise RuntimeError("login %s: %d" % (name, st))


# ---- slow headers -------------------------------------------------------------------------------
def flood(port, stop_at, out):
    """FLOOD_N connections from FLOOD_SRC, each sending a header byte every
    second until stop_at; out gets when each connection was accepted and
    when the server ended it (EOF or reset), relative to the start."""
    t0 = time.monotonic()
    socks = []
    for _ in range(FLOOD_N):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((FLOOD_SRC, 0))
        s.setblocking(False)
        try:
            s.connect((HOST, port))
        except BlockingIOError:
            pass
        socks.append(s)
    prefix = b"GET /api/calls HTTP/1.1\r\nHost: x\r\nX-Slow: "
    state = {s: {"sent": 0, "ended": None, "got_bytes": False} for s in socks}
    next_tick = time.monotonic()
    while time.monotonic() < stop_at:
        now = time.monotonic()
        if now >= next_tick:
            next_tick = now + 1.0
            for s in socks:
                st = state[s]
                if st["ended"] is not None:
                    continue
                chunk = prefix[st["sent"]:st["sent"] + 1] if st["sent"] < len(prefix) else b"a"
                try:
                    s.send(chunk)
                    st["sent"] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    st["ended"] = now - t0
        poll = select.poll()
        byfd = {}
        for s in socks:
            if state[s]["ended"] is None:
                poll.register(s, select.POLLIN)
                byfd[s.fileno()] = s
        for fd, _ in poll.poll(100):
            s = byfd[fd]
            try:
                b = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                b = b""
            if b:
                state[s]["got_bytes"] = True
            else:
                state[s]["ended"] = time.monotonic() - t0
    for s in socks:
        out.append(dict(state[s]))
        s.close()


def test_flood():
    proc, port = serve()
    try:
        if not res.check(http_wait_up(HOST, port, proc), "server up"):
            return
        cookie = login(port, "super1")
        stop_at = time.monotonic() + FLOOD_S
        out = []
        th = threading.Thread(target=flood, args=(port, stop_at, out))
        th.start()
        time.sleep(1.5)  # the flood is connected and trickling
        lat, bad = [], []
        while time.monotonic() < stop_at - 0.5:
            t = time.monotonic()
            try:
                st, _, b = http_req(HOST, port, "GET", "/api/calls?limit=5", cookie=cookie,
                                    timeout=5)
            except OSError as e:
                st, b = str(e), None
            dt = time.monotonic() - t
            lat.append(dt)
            if st != 200 or not isinstance(b, dict) or not b.get("calls"):
                bad.append(st)
            time.sleep(0.2)
        th.join()
        lat.sort()
        print("searches during the flood: %d, p50 %.1f ms, max %.1f ms" %
              (len(lat), 1000 * lat[len(lat) // 2], 1000 * lat[-1]))
        res.check(len(lat) >= 20 and not bad, "%d searches during the flood, failures: %s"
                  % (len(lat), bad[:5]))
        res.check(lat and lat[-1] < 1.0, "every search answered within 1 s (max %.3f s)"
                  % (lat[-1] if lat else -1))
        # the ones the server took: not ended at once (the others are closed on accept)
        held = [o for o in out if o["ended"] is None or o["ended"] > 1.0]
        print("flood: %d connections, %d held by the server; ended at %s s" %
              (len(out), len(held), sorted({round(o["ended"] or -1) for o in held})))
        res.check(len(held) <= PER_IP, "the flood holds at most %d connections: %d"
                  % (PER_IP, len(held)))
        res.check(held and all(o["ended"] is not None and o["ended"] <= DEADLINE_S + 1.5
                               for o in held),
                  "each slow connection is ended by the deadline (%d s), though it kept sending"
                  % DEADLINE_S)
    finally:
        rc, err = http_stop(proc)
        res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
                  "server exits cleanly after the flood: %s %s" % (rc, err[-500:]))
        res.check("did not send a whole request" in err,
                  "the server logs the connections it ended")


# ---- TLS versions -------------------------------------------------------------------------------
def tls_try(port, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(TLS_DIR, "cert.pem"))
    # Python's default context refuses the old versions itself: lower its floor
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = version
    ctx.maximum_version = version
    try:
        with socket.create_connection((HOST, port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                got = s.version()
                s.sendall(b"GET /api/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                head = s.recv(64)
                return got, head
    except (ssl.SSLError, OSError) as e:
        return None, str(e)


def test_tls():
    proc, port = serve(["--tls-cert", os.path.join(TLS_DIR, "cert.pem"),
                        "--tls-key", os.path.join(TLS_DIR, "key.pem")])
    try:
        up = False
        for _ in range(100):
            if tls_try(port, ssl.TLSVersion.TLSv1_2)[0]:
                up = True
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if not res.check(up, "HTTPS server up"):
            return
        for v, want in ((ssl.TLSVersion.TLSv1, False), (ssl.TLSVersion.TLSv1_1, False),
                        (ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)):
            got, detail = tls_try(port, v)
            ok = bool(got) == want and (not want or detail.startswith(b"HTTP/1.1 401"))
            res.check(ok, "%s: %s (%s)" % (v.name, "accepted" if got else "refused",
                                           detail if not got else detail[:20]))
        # the same with openssl's client, when it can still speak TLS 1.1
        if os.path.exists("/usr/bin/openssl"):
            for flag, want in (("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)):
                p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, port),
                                    flag, "-cipher", "ALL:@SECLEVEL=0", "-brief"],
                                   input="", capture_output=True, text=True, timeout=20)
                ok = (p.returncode == 0) == want
                res.check(ok, "openssl s_client %s: exit %d" % (flag, p.returncode))
    finally:
        rc, err = http_stop(proc)
        res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
                  "HTTPS server exits cleanly: %s %s" % (rc, err[-300:]))


# ---- another agent's call answers as an absent one ----------------------------------------------
def test_oracle():
    proc, port = serve()
    try:
        if not res.check(http_wait_up(HOST, port, proc), "server up"):
            return
        ck, csrf = login(port, "agent1", with_csrf=True)
        admin_ck = login(port, "admin1")
        absent = max(c["id"] for c in calls) + 1000
        hx = {"X-CSRF-Token": csrf}
        cases = (  # every per-call endpoint (docs/openapi.yaml)
            ("GET", "/api/calls/%d", None, None),
            ("HEAD", "/api/calls/%d", None, None),
            ("GET", "/api/calls/%d/audio", None, None),
            ("GET", "/api/calls/%d/audio", None, {"Range": "bytes=0-99"}),
            ("GET", "/api/calls/%d/peaks", None, None),
            ("GET", "/api/calls/%d/peaks?points=64", None, None),
            ("GET", "/api/calls/%d/verify", None, None),
            ("GET", "/api/calls/%d/verify?quick=1", None, None),
            ("GET", "/api/calls/%d/evidence", None, None),
            ("GET", "/api/calls/%d/sip", None, None),
            ("GET", "/api/calls/%d/pcap", None, None),
            ("GET", "/api/calls/%d/tags", None, None),
            ("GET", "/api/calls/%d/notes", None, None),
            ("POST", "/api/calls/%d/tags", {"tag": "probe"}, hx),
            ("DELETE", "/api/calls/%d/tags/probe", None, hx),
            ("POST", "/api/calls/%d/notes", {"text": "probe"}, hx),
        )
        skip_hdrs = {"date"}
        for method, path, body, hdrs in cases:
            got = []
            for cid in (foreign["id"], absent):
                st, h, b = http_req(HOST, port, method, path % cid, body, hdrs, cookie=ck,
                                    raw=True, timeout=10)
                got.append((st, {k: v for k, v in h.items() if k not in skip_hdrs}, b))
            (s1, h1, b1), (s2, h2, b2) = got
            res.check(s1 == s2 and b1 == b2 and h1 == h2 and s1 in (403, 404),
                      "%s %s: another agent's call %d %s / absent %d %s" %
                      (method, path, s1, b1[:80], s2, b2[:80]))
        # and the own call is still served, so the answers above are refusals
        st, _, _ = http_req(HOST, port, "GET", "/api/calls/%d" % own["id"], cookie=ck, timeout=10)
        res.check(st == 200, "agent1 sees its own call: %d" % st)
        # the audit log keeps the real reason of each
        st, _, b = http_req(HOST, port, "GET", "/api/audit?user=agent1&limit=1000",
                            cookie=admin_ck, timeout=10)
        ents = b.get("entries", []) if st == 200 else []
        fo = [e for e in ents if e["object"] == str(foreign["id"])]
        ab = [e for e in ents if e["object"] == str(absent)]
        res.check(fo and all(e["outcome"] == "denied" for e in fo),
                  "audit: another agent's call is denied (%s)" % {e["outcome"] for e in fo})
        # (a refusal of the role itself, e.g. export for an agent, is a 403 for any id)
        res.check(any(e["detail"] == "no such call" for e in ab) and
                  all((e["outcome"], e["detail"]) == ("failed", "no such call") or
                      (e["outcome"] == "denied" and "this call" not in e["detail"]) for e in ab),
                  "audit: the absent call is 'no such call' (%s)" %
                  {(e["outcome"], e.get("detail")) for e in ab})
    finally:
        rc, err = http_stop(proc)
        res.check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
                  "server exits cleanly: %s %s" % (rc, err[-300:]))


test_oracle()
test_flood()
test_tls()
res.finish()
