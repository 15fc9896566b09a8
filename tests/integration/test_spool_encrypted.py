"""Spool encryption at rest: while `earshot record -i lo` records live sipp
calls (livecalls.py, both sides playing sip-tester's g711a.pcap), every file
under the data folder is scanned several times and must hold none of the
RTP payloads sent (distinctive 32-byte pieces of them), and the spool none
of the calls' Call-IDs, user parts or SDP encoding names.  Then `kill -9`:
the logs left are scanned again, a media log in the plain format of earlier
versions is put beside them (the upgrade path), and the next start must
recover every call, the plain one too, empty the spool, and still leave no
payload in plain anywhere."""
import os
import re
import shutil
import struct
import time
import zlib

import estest
from estest import EARSHOT, Results, calls_json, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

# a network namespace of its own: its lo carries this test's traffic and no
# other program's (estest.own_loopback)
estest.own_loopback()
CALLS = 8
LENGTH = 14.0
KILL_AFTER = 9.0
PORTS = livecalls.Ports(CALLS)
res = Results()
work = tmpdir("earshot-spoolenc-")
data = os.path.join(work, "data")
spool = os.path.join(data, "spool")
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(CALLS),
                         args=["--rtp-timeout", "5", "--linger", "2"])


def payloads(path=livecalls.SHIPPED):
    """The RTP payloads of a little-endian Ethernet/IPv4/UDP pcap."""
    raw = open(path, "rb").read()
    out, off = [], 24
    while off + 16 <= len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        pkt = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        ihl = (pkt[14] & 0x0F) * 4
        rtp = pkt[14 + ihl + 8:]
        cc = rtp[0] & 0x0F
        out.append(rtp[12 + 4 * cc:])
    return out


def needles(pls, size=32, want=48):
    """Pieces of payload that cannot turn up by chance: at least 20
    different byte values in `size` bytes (A-law silence is one value)."""
    out = []
    for p in pls:
        for o in range(0, len(p) - size + 1, size):
            piece = p[o:o + size]
            if len(set(piece)) >= 20 and piece not in out:
                out.append(piece)
                break
        if len(out) >= want:
            break
    return out


NEEDLES = needles(payloads())
# personal data of the calls (livecalls' scenarios): Call-IDs are
# "<n>-<pid>@127.0.0.1", the users "sipp" and "service", SDP names PCMA
CALL_ID = re.compile(rb"\d+-\d+@127\.0\.0\.1")
SPOOL_WORDS = (b"sipp@127.0.0.1", b"service@127.0.0.1", b"PCMA", b"earshot live test")


def scan(what, spool_only=False):
    """Every file under the data folder: (files, spool logs with media,
    findings)."""
    files, logs, found = 0, 0, []
    for d, _, fs in os.walk(data):
        for f in fs:
            p = os.path.join(d, f)
            try:
                b = open(p, "rb").read()
            except OSError:
                continue  # gone meanwhile (a log rendered and removed)
            files += 1
            in_spool = os.path.dirname(p) == spool
            if spool_only and not in_spool:
                continue
            hits = [n for n in NEEDLES if n in b]
            if hits:
                found.append("%s: %d payload pieces, e.g. %s" % (p, len(hits), hits[0].hex()))
            if in_spool:
                logs += len(b) > 2000
                m = CALL_ID.search(b)
                if m:
                    found.append("%s: Call-ID %s" % (p, m.group().decode()))
                for w in SPOOL_WORDS:
                    if w in b:
                        found.append("%s: %r" % (p, w))
    print("spoolenc: %s: %d files, %d spooled logs with media, %d findings"
          % (what, files, logs, len(found)))
    res.check(not found, "%s: plaintext under the data folder:\n  %s"
              % (what, "\n  ".join(found[:10])))
    return files, logs


def plain_log(path, call_id, start_us, pls):
    """A media log in the version 1 (plain) format of earlier versions,
    written by hand from its description (media/mlog.c), as an upgrade
    leaves it."""
    def record(t, body):
        r = struct.pack("<BH", t, len(body)) + body
        return r + struct.pack("<I", zlib.crc32(r))

    def varint(v):
        b = bytearray()
        while v >= 0x80:
            b.append((v & 0x7F) | 0x80)
            v >>= 7
        b.append(v)
        return bytes(b)

    cid = call_id.encode()
    hdr = b"ESML" + struct.pack("<BBHq", 1, 0, len(cid), start_us) + cid
    out = hdr + struct.pack("<I", zlib.crc32(hdr))
    meta = ("call_id=%s\nstart_us=%d\nanswer_us=%d\ncaller.user=legacy\nsource=live\n"
            % (call_id, start_us, start_us + 100000)).encode()
    out += record(4, meta)
    out += record(1, varint(0) + bytes([0]) + struct.pack("<I", 0x1234))
    out += record(2, bytes([0, 8]) + struct.pack("<I", 8000) + bytes([1, 4]) + b"PCMA")
    for i, p in enumerate(pls[:100]):
        delta = 200000 if i == 0 else 30000  # zigzag of a positive delta is 2 * delta
        body = (varint(0) + varint(2 * delta) + struct.pack("<HIB", i, 240 * i, 8) + p)
        out += record(3, body)
    with open(path, "wb") as f:
        f.write(out)


def start(what):
    rec.start()
    if rec.wait_status(30) is None:
        res.check(False, "%s: no status.json within 30 s; log:\n%s"
                  % (what, rec.logtext()[-3000:]))
        rec.stop()
        res.finish()


res.check(len(NEEDLES) >= 20, "only %d distinctive payload pieces" % len(NEEDLES))
start("first start")
calls = livecalls.Calls(os.path.join(work, "sipp"), CALLS, LENGTH, rate=20, ports=PORTS,
                        media=LENGTH - 0.5)
calls.start()
time.sleep(2.5)
meaningful = 0
while time.time() - calls.started < KILL_AFTER:
    _, logs = scan("during the calls, %.1f s in" % (time.time() - calls.started))
    meaningful += logs >= CALLS
    time.sleep(1.2)
res.check(meaningful >= 3, "only %d scans saw all %d calls' logs with media in them"
          % (meaningful, CALLS))
before = rec.status() or {}
res.check(before.get("active_calls") == CALLS, "before the kill: %s active calls"
          % before.get("active_calls"))
rec.kill9()
left = sorted(f for f in os.listdir(spool) if f.endswith(".mlog"))
res.check(len(left) == CALLS, "%d media logs left after kill -9, expected %d"
          % (len(left), CALLS))
scan("after kill -9")
for f in left:
    with open(os.path.join(spool, f), "rb") as fh:
        head = fh.read(5)
    res.check(head == b"ESML\x02", "%s: header %r, not an encrypted media log" % (f, head))
uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s" % (uac_rc, uas_rc))

# the upgrade path: a plain log an earlier version left
legacy_id = "legacy-plain-log@example.org"
start_us = int((time.time() - 60) * 1e6)
plain_log(os.path.join(spool, "%d-0000000000000000-1.mlog" % start_us), legacy_id, start_us,
          payloads())

start("restart")
time.sleep(2)
rc = rec.stop()
res.check(rc == 0, "restarted earshot record exited %s; log tail:\n%s"
          % (rc, rec.logtext()[-3000:]))
left = os.listdir(spool)
res.check(not left, "after recovery the spool still holds %s" % left[:5])
ours = calls_json(data)
res.check(len(ours) == CALLS + 1, "index has %d calls, expected %d" % (len(ours), CALLS + 1))
for c in ours:
    r = c.get("recording")
    res.check("recovered" in c["flags"], "call %s: flags %s" % (c["call_id"], c["flags"]))
    if not res.check(r is not None, "call %s: no recording" % c["call_id"]):
        continue
    least = 2.5 if c["call_id"] == legacy_id else KILL_AFTER - 3
    res.check(r["duration_s"] >= least, "call %s: recovered %.2f s of audio, expected >= %.1f"
              % (c["call_id"], r["duration_s"], least))
res.check(any(c["call_id"] == legacy_id for c in ours), "the plain log was not recovered")
scan("after recovery")

if res.failed:
    print("work directory kept: " + work)
else:
    shutil.rmtree(work, ignore_errors=True)
res.finish()
