"""Text from the wire reaches JSON and the log intact but harmless.

JSON: a real capture (../shared/captures/invite-opus-bye.pcap) with the
caller's display name "Alice" replaced by five bytes that are not UTF-8 (an
overlong '/', C0 AF, and a UTF-8-encoded surrogate, ED A0 80) is imported;
`calls --json`, `show --json`, GET /api/calls, GET /api/calls?party=%c0%af,
a login whose name is not UTF-8, then GET /api/audit and `audit --json` must
all be read by a strict decoder: UTF-8 without errors, RFC 8259 JSON without
raw control characters, and no surrogate code points (Python's json accepts
"\\ud800"; re-encoding the parsed value to UTF-8 refuses it).

Log: a SIP request with ESC sequences, a BEL, bytes that are not UTF-8 and
a NUL in its Call-ID is sent to `earshot srs`, which refuses it (it is no
SIPREC INVITE) and logs the Call-ID; every line of its stderr must be clean
text: valid UTF-8, no control character but TAB, and the ESC shown as \\x1b."""
import json
import os
import signal
import socket
import subprocess
import time

from estest import (EARSHOT, SHARED, Results, earshot, free_port, http_req, http_stop,
                    http_wait_up, run, skip, tmpdir)

SRC = os.path.join(SHARED, "invite-opus-bye.pcap")
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)
if not os.path.exists(SRC):
    skip(SRC + " not present")
BAD_NAME = b"\xc0\xaf\xed\xa0\x80"  # as long as "Alice": no length field changes
PW = "correct horse battery"
HOST = "127.0.0.1"
res = Results()
work = tmpdir("earshot-untrusted-")
data = os.path.join(work, "data")


def strict(raw, what):
    """raw bytes as a strict JSON reader sees them; None (a failed check) if not"""
    try:
        text = raw.decode("utf-8")  # errors="strict"
        value = json.loads(text)    # strict=True: no raw control characters
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # no lone surrogates
    except (UnicodeError, ValueError) as e:
        res.check(False, "%s is not strict UTF-8 JSON: %s (%r)" % (what, e, raw[:200]))
        return None
    res.check(True, what + " parses strictly")
    return value


# ---- a capture whose display name is not UTF-8 ----------------------------------------
with open(SRC, "rb") as f:
    pcap = f.read()
res.check(pcap.count(b'"Alice"') >= 1, "the capture names Alice")
crafted = os.path.join(work, "bad-display-name.pcap")
with open(crafted, "wb") as f:
    f.write(pcap.replace(b'"Alice"', b'"' + BAD_NAME + b'"'))
p = earshot(data, "import", "--json", "--no-progress", "--no-audio", crafted, check=False)
res.check(p.returncode == 0, "import exited %d: %s" % (p.returncode, p.stderr))

p = subprocess.run([EARSHOT, "--data", data, "calls", "--json"], capture_output=True)
calls = strict(p.stdout, "calls --json")
if calls:
    c = calls[0]
    res.check("\ufffd" in json.dumps(c, ensure_ascii=False), "the bad name shows as U+FFFD: %r" % c)
    p = subprocess.run([EARSHOT, "--data", data, "show", "--json", str(c["id"])],
                       capture_output=True)
    strict(p.stdout, "show --json")

# ---- the same over the API, and the audit log --------------------------------------------
run([EARSHOT, "--data", data, "user", "add", "admin1", "--role", "admin", "--password-stdin"],
    input=PW + "\n")
port = free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, port),
                           "--threads", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if res.check(http_wait_up(HOST, port, server), "earshot serve is up"):
        st, h, _ = http_req(HOST, port, "POST", "/api/login",
                            {"name": "admin1", "password": PW})
        cookie = next((part.strip().split("=", 1)[1] for part in h.get("set-cookie", "").split(";")
                       if part.strip().startswith("earshot_session=")), None)
        res.check(st == 200 and cookie, "login: %s" % st)
        # a login attempt whose name is not UTF-8 lands in the audit log
        st, _, _ = http_req(HOST, port, "POST", "/api/login",
                            body=b'{"name": "x\xc0\xaf\xff\x1b[2J", "password": "nope"}',
                            ctype=True, raw=True)
        res.check(st in (400, 401), "login with a bad name refused: %s" % st)
        for path in ("/api/calls", "/api/calls?party=%c0%af", "/api/calls?party=%ed%a0%80%ff",
                     "/api/audit?limit=1000"):
            st, _, body = http_req(HOST, port, "GET", path, cookie=cookie, raw=True)
            res.check(st in (200, 400), "GET %s: %s" % (path, st))
            strict(body, "GET " + path)
finally:
    code, err = http_stop(server)
    res.check(code == 0, "serve stopped: %s %s" % (code, err[-500:]))
p = subprocess.run([EARSHOT, "--data", data, "audit", "--json", "--limit", "1000"],
                   capture_output=True)
if not res.check(p.returncode == 0, "audit --json exited %d: %r" % (p.returncode, p.stderr)):
    p = subprocess.run([EARSHOT, "--data", data, "audit", "--json"], capture_output=True)
strict(p.stdout, "audit --json")


# ---- the log: a hostile Call-ID sent to the SIPREC server ------------------------------
def clean_log(raw, what):
    try:
        text = raw.decode("utf-8")
    except UnicodeError as e:
        res.check(False, "%s: not UTF-8: %s" % (what, e))
        return
    bad = [ch for ch in text if (ord(ch) < 0x20 and ch not in "\t\n") or 0x7f <= ord(ch) <= 0x9f]
    res.check(not bad, "%s: control characters %r in %r" % (what, bad[:5], text[-800:]))


srs_data = os.path.join(work, "srs-data")
sip_port = free_port(udp=True)
rtp = free_port()  # any free even port; the server binds its pool only for sessions
srs = subprocess.Popen([EARSHOT, "--data", srs_data, "srs", "--listen", "udp:%s:%d" % (HOST, sip_port),
                        "--rtp-ports", "%d-%d" % (rtp & ~1, (rtp & ~1) + 9), "--allow", "127.0.0.1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
call_id = b"evil\x1b[2J\x1b]0;owned\x07\xc0\xaf\xff\xc2\x9b31m@x"
msg = (b"INVITE sip:srs@127.0.0.1 SIP/2.0\r\n"
       b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-evil\r\n"
       b"From: <sip:a@x>;tag=1\r\nTo: <sip:srs@127.0.0.1>\r\n"
       b"Call-ID: " + call_id + b"\r\nCSeq: 1 INVITE\r\n"
       b"Subject: nul\x00here\r\nContact: <sip:a@127.0.0.1:5999>\r\n"
       b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((HOST, 0))
s.settimeout(0.5)
answered = False
for _ in range(40):  # until the server answers (it starts in well under 10 s)
    s.sendto(msg.replace(b"5999", str(s.getsockname()[1]).encode()), (HOST, sip_port))
    try:
        answered = bool(s.recv(65535))
        break
    except socket.timeout:
        if srs.poll() is not None:
            break
s.close()
res.check(answered, "earshot srs answered the hostile INVITE")
time.sleep(0.3)
srs.send_signal(signal.SIGTERM)
try:
    _, err = srs.communicate(timeout=30)
except subprocess.TimeoutExpired:
    srs.kill()
    _, err = srs.communicate()
res.check(b"refused" in err and b"evil" in err, "the refusal is logged: %r" % err[-600:])
res.check(b"evil\\x1b[2J\\x1b]0;owned\\x07\\xc0\\xaf\\xff\\xc2\\x9b31m@x" in err,
          "the Call-ID is logged escaped: %r" % err[-600:])
clean_log(err, "earshot srs stderr")
res.finish()
