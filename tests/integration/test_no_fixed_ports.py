"""No test binds a fixed port: any program on the machine may hold it, and
then the suite fails for no fault of earshot's.  Tests take theirs from
estest.free_port() / free_port_range(n) (or bind port 0); livecalls.Ports()
picks free SIP and media ports by itself.

This greps tests/ for the shapes a fixed port took before (a PORT constant,
an address:port string, a listen = line, an RTP range, a C #define or
htons of a number, livecalls.Ports with numbers) so that they do not come
back.  A file in TOLERATED is skipped until it is migrated; each entry says
why, and the lead removes it when its owner has moved it to free ports
(the test fails when a tolerated file no longer needs the exception, so the
list only shrinks)."""
import os
import re
import sys

from estest import SOURCE, Results

TESTS = os.path.join(SOURCE, "tests")
TOLERATED = {
    # none: every test takes free ports (a file that must keep one says why here)
}
PORT = r"\d{4,5}"
PATTERNS = [
    ("a PORT constant", re.compile(r"\b\w*PORT\w*(?:\s*,\s*\w+)*\s*=\s*(?:\"[^\"]*\",\s*)?\"?"
                                   + PORT + r"\b")),
    ("a PORT default", re.compile(r"environ\.get\(\s*[\"']\w*PORT\w*[\"']\s*,\s*[\"']?" + PORT)),
    ("livecalls.Ports with numbers", re.compile(r"\b(?:uas|uac)_(?:sip|media)\s*=\s*" + PORT)),
    ("an address:port string", re.compile(r"[\"'](?:https?://)?(?:127\.0\.0\.1|localhost|0\.0\.0\.0|"
                                          r"\[::1?\]|::1?):" + PORT + r"\b")),
    ("an (address, port) pair", re.compile(r"\(\s*[\"'](?:127\.0\.0\.1|localhost|0\.0\.0\.0|::1?)[\"']"
                                           r"\s*,\s*" + PORT + r"\s*\)")),
    ("a listen line", re.compile(r"\blisten\s*=\s*\S*:" + PORT + r"\b")),
    ("an RTP port range", re.compile(r"(?:rtp[-_]ports?\W{1,6}|rtp_(?:lo|hi)\s*=\s*)" + PORT)),
    ("a C port #define", re.compile(r"#define\s+\w*PORT\w*\s+" + PORT + r"\b")),
    ("htons of a number", re.compile(r"\bhtons\s*\(\s*" + PORT + r"\s*\)")),
]
EXTS = (".py", ".c", ".h", ".mjs", ".js", ".sh")


def findings(text):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        for what, rx in PATTERNS:
            if rx.search(line):
                out.append((n, what, line.strip()))
    return out


res = Results()
# the patterns catch what they are meant to (and not a SIP header in a message)
for bad in ('HOST, PORT = "127.0.0.1", 18110', "PORTS = livecalls.Ports(uas_sip=15120)",
            'API = ("127.0.0.1", 18112)', '"127.0.0.1:18080"', "listen = 127.0.0.1:18090", 'RTP_PORTS = "44000-45999"',
            'HOST, PORT = "127.0.0.1", int(os.environ.get("ES_API_PORT", "18080"))',
            "SIP_PORT, SIPP_PORT, SIPP_MEDIA = 41060, 41070, 46000",
            "#define SIP_PORT 47000", "cfg.rtp_lo = 47100;", '"--rtp-ports", "40000-40100"'):
    res.check(findings(bad), "the check misses %r" % bad)
for fine in ('b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9"', "PORT = free_port()",
             "udp(A, B, 5060, 5060, payload)", "CHECK_INT(u.port, 5061);"):
    res.check(not findings(fine), "the check flags %r" % fine)

me = os.path.abspath(__file__)
for d, _, files in os.walk(TESTS):
    if "node_modules" in d:
        continue
    for f in sorted(files):
        path = os.path.join(d, f)
        rel = os.path.relpath(path, TESTS)
        if not f.endswith(EXTS) or os.path.abspath(path) == me:
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            hits = findings(fh.read())
        if rel in TOLERATED:
            res.check(hits, "%s no longer has a fixed port: remove it from TOLERATED" % rel)
            continue
        for n, what, line in hits:
            res.check(False, "%s:%d: %s (use estest.free_port / free_port_range): %s"
                      % (rel, n, what, line))
for rel in TOLERATED:
    res.check(os.path.exists(os.path.join(TESTS, rel)), "TOLERATED names a missing file " + rel)
res.finish()
