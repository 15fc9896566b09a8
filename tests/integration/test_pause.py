"""PCI DSS pause/resume and DTMF masking, live: a sipp call through
`earshot record` whose caller keys *1 (RFC 4733), "speaks" a card number
(audio payloads that spell a marker) and keys card digits, then keys *2;
later an agent pauses the call over the API (POST /api/active/{id}/pause)
and the CLI resumes it (`earshot resume ID`).  Checked:

  - /api/active and `earshot status` show the state "paused";
  - the media log of the call, read frame by frame with the project's own
    reader (tests/tools/es_mlog_dump.c), has no frame inside either paused
    span, and no telephone-event frame (mask_dtmf); its raw bytes and the
    whole data folder never hold the paused payload bytes;
  - the recording is silent over both spans, not elsewhere;
  - the call's events: pause/resume by dtmf:*1, dtmf:*2, api:NAME, cli, and
    a consent event by API; every DTMF digit is stored as '*' (the index
    file holds no "digit=N" at all);
  - bad input: pause of an unknown call (404), resume when not paused (409,
    CLI exit 1), agents on others' calls (404) and auditors (403) refused,
    malformed command files answered "bad" with the recorder unharmed."""
import glob
import json
import math
import os
import shutil
import struct
import subprocess
import time
import wave
from datetime import datetime

from estest import BUILD, EARSHOT, Results, free_port, http_req, http_wait_up, run, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
DUMP = os.path.join(BUILD, "es_mlog_dump")
LENGTH = 13
PORTS = livecalls.Ports(1)
HOST, PORT = "127.0.0.1", free_port()
PW = "correct horse battery"
SECRET = b"PCI-SECRET-4111!"  # the "spoken card number": 15 of them per packet
HERE = os.path.dirname(os.path.abspath(__file__))
res = Results()
work = tmpdir("earshot-pause-")
data = os.path.join(work, "data")

USERS = {"adm": ("admin", ""), "ag-own": ("agent", "service"), "ag-other": ("agent", "1234"),
         "aud": ("auditor", "")}
for name, (role, numbers) in USERS.items():
    args = [EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    run(args, input=PW + "\n")
TOKENS = {n: json.loads(run([EARSHOT, "--data", data, "user", "token", n, "--json"]).stdout)["token"]
          for n in USERS}


def req(method, path, who="adm", body=None):
    st, _, b = http_req(HOST, PORT, method, path, body=body,
                        headers={"Authorization": "Bearer " + TOKENS[who]}, timeout=10)
    return st, b


def us(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1e6)


# ---- the caller's media: speech, *1, the secret and card digits, *2, speech ----

def shipped_payloads():
    """The A-law payloads of sip-tester's g711a.pcap (240 bytes each)."""
    raw = open(livecalls.SHIPPED, "rb").read()
    out, off = [], 24
    while off + 16 <= len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        pkt = raw[off + 16:off + 16 + incl]
        ihl = (pkt[14] & 0x0F) * 4
        out.append(pkt[14 + ihl + 8 + 12:])
        off += 16 + incl
    return [p for p in out if len(p) == 240]


def udp_frame(payload):
    ip_len = 20 + 8 + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    udp = struct.pack(">HHHH", 6000, 6002, 8 + len(payload), 0)
    return b"\x00" * 12 + b"\x08\x00" + ip + udp + payload


KEYS = {"*": 10, "#": 11}


def caller_media(path):
    """Writes the caller's RTP (PT 8 audio every 30 ms, PT 101 RFC 4733
    events); returns the schedule's times (seconds from the first packet)."""
    speech = shipped_payloads()
    pkts, seq, ssrc, t = [], 1000, 0x0CA11E12, 0.0

    def rtp(pt, ts, payload, marker=False):
        nonlocal seq
        seq += 1
        return struct.pack(">BBHII", 0x80, pt | (0x80 if marker else 0), seq & 0xFFFF,
                           ts & 0xFFFFFFFF, ssrc) + payload

    def audio(until, payload_of):
        nonlocal t
        i = 0
        while t < until - 1e-9:
            pkts.append((t, rtp(8, int(t * 8000), payload_of(i))))
            t += 0.030
            i += 1

    def key(k):
        """An event of 120 ms: 3 packets 50 ms apart (growing duration), 3 end
        packets (RFC 4733 2.5.1.4), then 60 ms without audio."""
        nonlocal t
        ev = KEYS.get(k, None)
        ev = int(k) if ev is None else ev
        ts0 = int(t * 8000)
        for n in range(3):
            pkts.append((t + 0.05 * n, rtp(101, ts0, struct.pack(">BBH", ev, 10, 400 * (n + 1)),
                                            marker=n == 0)))
        for n in range(3):
            pkts.append((t + 0.12 + 0.005 * n, rtp(101, ts0, struct.pack(">BBH", ev, 0x80 | 10, 960))))
        t += 0.18

    audio(2.0, lambda i: speech[i % len(speech)])
    key("*"), key("1")
    secret_from = t
    audio(3.0, lambda i: SECRET * 15)
    for d in "4111":
        key(d)
        audio(t + 0.12, lambda i: SECRET * 15)
    audio(5.0, lambda i: SECRET * 15)
    secret_to = t
    key("*"), key("2")
    audio(LENGTH - 0.5, lambda i: speech[i % len(speech)])
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t0 = 1700000000.0
    for tt, p in sorted(pkts, key=lambda x: x[0]):
        fr = udp_frame(p)
        sec = int(t0 + tt)
        out += struct.pack("<IIII", sec, int(round((t0 + tt - sec) * 1e6)), len(fr), len(fr)) + fr
    with open(path, "wb") as f:
        f.write(out)
    return secret_from, secret_to


class PciCalls(livecalls.Calls):
    """One call whose caller plays caller_media (with telephone-event in its SDP)."""

    def _prepare(self):
        os.makedirs(self.work, exist_ok=True)
        uac_media = os.path.join(self.work, "media_uac.pcap")
        uas_media = os.path.join(self.work, "media_uas.pcap")
        caller_media(uac_media)
        livecalls.make_media_pcap(uas_media, LENGTH - 0.5, ssrc=0x5EED0A5)
        uac_xml = livecalls.UAC_XML.replace(
            "m=audio [auto_media_port] RTP/AVP 8\n      a=rtpmap:8 PCMA/8000",
            "m=audio [auto_media_port] RTP/AVP 8 101\n      a=rtpmap:8 PCMA/8000\n"
            "      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-15")
        assert uac_xml != livecalls.UAC_XML
        for name, xml, media in (("uac.xml", uac_xml, uac_media),
                                 ("uas.xml", livecalls.UAS_XML, uas_media)):
            with open(os.path.join(self.work, name), "w") as f:
                f.write(xml % {"media": media, "call_ms": int(self.length * 1000)})


conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 2\n"
            "[rule pci]\naction = record\ncallee = service\npause_dtmf = *1\nresume_dtmf = *2\n"
            "max_pause = 5m\nmask_dtmf = yes\n")
rec = livecalls.Recorder(EARSHOT, data, PORTS.bpf(1),
                         args=["--config", conf, "--api", "%s:%d" % (HOST, PORT),
                               "--rtp-timeout", "3", "--linger", "1"])
rec.start()
if not res.check(http_wait_up(HOST, PORT, rec.proc), "the API of earshot record did not come up:\n"
                 + rec.logtext()[-2000:]):
    rec.stop()
    res.finish()
for _ in range(50):
    st, a = req("GET", "/api/active")
    if a["recorder"]["running"]:
        break
    time.sleep(0.1)

# ---- bad input before any call ----
control = os.path.join(data, "run", "control")
res.check(os.path.isdir(control) and (os.stat(control).st_mode & 0o777) == 0o770,
          "the control folder: %s" % (oct(os.stat(control).st_mode) if os.path.isdir(control) else None))
st, b = req("POST", "/api/active/no-such-call@x/pause")
res.check(st == 404, "pause of an unknown call: %s %s" % (st, b))
p = subprocess.run([EARSHOT, "--data", data, "pause", "no-such-call@x"], capture_output=True,
                   text=True, timeout=30)
res.check(p.returncode == 4 and "no call in progress" in p.stderr,
          "CLI pause of an unknown call: %d %s" % (p.returncode, p.stderr.strip()))
BAD = {"b1": b"earshot-control\t1\nverb\tpause\n",                       # no call, no by
       "b2": b"earshot-control\t1\nverb\texplode\ncall\tx\nby\tcli\n",     # unknown verb
       "b3": b"earshot-control\t2\nverb\tpause\ncall\tx\nby\tcli\n",       # version
       "b4": b"earshot-control\t1\nverb\tpause\ncall\tx\x01y\nby\tcli\n",  # control byte
       "b5": b"\x00" * 5000}                                              # too long
for name, body in BAD.items():
    with open(os.path.join(control, name + ".cmd.tmp"), "wb") as f:
        f.write(body)
    os.rename(os.path.join(control, name + ".cmd.tmp"), os.path.join(control, name + ".cmd"))
time.sleep(1.0)
for name in BAD:
    ack = os.path.join(control, name + ".ack")
    text = open(ack).read() if os.path.exists(ack) else ""
    res.check("status\tbad\n" in text and name in text,
              "malformed command %s answered: %r" % (name, text))
    res.check(not os.path.exists(os.path.join(control, name + ".cmd")), "%s not removed" % name)
res.check(rec.proc.poll() is None, "the recorder died on malformed commands")

# ---- the call ----
calls = PciCalls(os.path.join(work, "sipp"), 1, LENGTH, rate=10, ports=PORTS)
calls.start()
cid, seen_states = None, []
deadline = time.time() + 12
resumed_by_dtmf = False
while time.time() < deadline:
    st, a = req("GET", "/api/active")
    if st == 200 and a["calls"]:
        c = a["calls"][0]
        cid = c["call_id"]
        if not seen_states or seen_states[-1] != c["state"]:
            seen_states.append(c["state"])
        if "paused" in seen_states and c["state"] == "answered" and c["packets"] > 0:
            resumed_by_dtmf = True
            break
    time.sleep(0.1)
res.check(resumed_by_dtmf, "DTMF *1 / *2: states seen %s" % seen_states)

# the API pauses: an agent of another number and an auditor may not
spool_copy = os.path.join(work, "spool-copy")
if cid:
    path = "/api/active/%s/" % cid
    st, b = req("POST", path + "resume", "ag-own")
    res.check(st == 409 and b.get("error") == "conflict", "resume when not paused: %s %s" % (st, b))
    st, b = req("POST", path + "pause", "ag-other")
    res.check(st == 404, "an agent on another's call: %s %s" % (st, b))
    st, b = req("POST", path + "pause", "aud")
    res.check(st == 403, "an auditor: %s %s" % (st, b))
    st, b = req("POST", path + "pause", "ag-own")
    res.check(st == 200 and b.get("state") == "paused", "agent pauses own call: %s %s" % (st, b))
    st, b = req("POST", path + "pause", "adm")
    res.check(st == 409, "pause when paused: %s %s" % (st, b))
    st, b = req("POST", path + "consent", "adm", body={"party": "caller", "value": "yes"})
    res.check(st == 200, "consent by API: %s %s" % (st, b))
    st, b = req("POST", path + "consent", "adm", body={"party": "boss", "value": "yes"})
    res.check(st == 400, "consent with a bad party: %s %s" % (st, b))
    time.sleep(1.2)
    st, a = req("GET", "/api/active")
    res.check(st == 200 and a["calls"] and a["calls"][0]["state"] == "paused",
              "/api/active while paused: %s" % a)
    p = subprocess.run([EARSHOT, "--data", data, "status"], capture_output=True, text=True)
    res.check("paused" in p.stdout and cid in p.stdout, "earshot status:\n" + p.stdout[:600])
    time.sleep(0.8)
    p = subprocess.run([EARSHOT, "--data", data, "resume", cid], capture_output=True, text=True,
                       timeout=30)
    res.check(p.returncode == 0, "CLI resume: %d %s %s" % (p.returncode, p.stdout, p.stderr))
    p = subprocess.run([EARSHOT, "--data", data, "resume", cid], capture_output=True, text=True,
                       timeout=30)
    res.check(p.returncode == 1 and "not paused" in p.stderr,
              "CLI resume when not paused: %d %s" % (p.returncode, p.stderr.strip()))
    # the media log while the call still runs (flushed every second)
    time.sleep(1.5)
    os.makedirs(spool_copy, exist_ok=True)
    for f in glob.glob(os.path.join(data, "spool", "**", "*.mlog"), recursive=True):
        shutil.copy(f, spool_copy)

calls.wait()
res.check(calls.successful() == 1, "sipp: %s of 1 call" % calls.successful())
rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 30)
time.sleep(1.0)
st, found = req("GET", "/api/calls?party=service")
row = found["calls"][0]["id"] if st == 200 and found.get("calls") else None
st, call = req("GET", "/api/calls/%s" % row) if row else (None, {})
events = call.get("events", [])
pz = [(e["kind"], e["detail"], e["time"], e["recording_offset_s"]) for e in events
      if e["kind"] in ("pause", "resume")]
res.check([(k, d) for k, d, _, _ in pz] == [("pause", "dtmf:*1"), ("resume", "dtmf:*2"),
                                            ("pause", "api:ag-own"), ("resume", "cli")],
          "pause/resume events: %s" % pz)
res.check(any(e["kind"] == "consent" and e["party"] == "caller" and e["detail"] == "yes api:adm"
              for e in events), "the consent event: %s" % [e for e in events if e["kind"] == "consent"])
dtmf = [e["detail"] for e in events if e["kind"] == "dtmf"]
res.check(len(dtmf) == 8 and all(d.startswith("digit=* ") for d in dtmf),
          "DTMF events, masked: %s" % dtmf)
spans = [(us(pz[i][2]), us(pz[i + 1][2])) for i in (0, 2)] if len(pz) == 4 else []

# the media log, frame by frame
logs = glob.glob(os.path.join(spool_copy, "*.mlog"))
res.check(len(logs) == 1, "one media log copied during the call: %s" % logs)
for lg in logs:
    p = subprocess.run([DUMP, lg, data], capture_output=True, text=True)
    res.check(p.returncode == 0, "es_mlog_dump: %s" % p.stderr)
    frames = [tuple(int(x) for x in ln.split()[1:6]) + (ln.split()[6],)
              for ln in p.stdout.splitlines() if ln.startswith("rtp ")]
    res.check(len(frames) > 150, "frames in the media log: %d" % len(frames))
    # event times are kept to the millisecond (truncated): a frame in the
    # first millisecond may precede the pause
    inside = [f for f in frames for a, b in spans if a + 1000 <= f[0] < b]
    res.check(spans and not inside, "%d frames inside the paused spans %s: %s" %
              (len(inside), spans, inside[:5]))
    res.check(not [f for f in frames if f[2] == 101], "telephone-event frames in the media log")
    # both sides recorded after the API span (the resume took)
    after = [f for f in frames if spans and f[0] >= spans[1][1]]
    res.check({f[1] for f in after} == {0, 1}, "both parties after the resume: %s" %
              {f[1] for f in after})
    raw = open(lg, "rb").read()
    res.check(SECRET not in raw, "the paused payload bytes are in the raw media log")

# nowhere on disk: the secret payload, a digit of a DTMF event
hits = []
for dirpath, _, files in os.walk(data):
    for f in files:
        b = open(os.path.join(dirpath, f), "rb").read()
        if SECRET in b or any(("digit=%s" % d).encode() in b for d in "0123456789#"):
            hits.append(os.path.join(dirpath, f))
res.check(not hits, "the secret or a DTMF digit in cleartext on disk: %s" % hits)

# the recording: silent over both spans, not elsewhere
if row:
    wav = os.path.join(work, "call.wav")
    p = subprocess.run([EARSHOT, "--data", data, "export", str(row), "-o", wav],
                       capture_output=True, text=True)
    res.check(p.returncode == 0, "export: %s" % p.stderr)
    if p.returncode == 0:
        w = wave.open(wav)
        rate, ch = w.getframerate(), w.getnchannels()
        pcm = struct.unpack("<%dh" % (w.getnframes() * ch), w.readframes(w.getnframes()))

        def rms(a, b):
            s = pcm[int(a * rate) * ch:int(b * rate) * ch]
            return math.sqrt(sum(x * x for x in s) / len(s)) if s else -1

        offs = [o for _, _, _, o in pz]
        for i in (0, 2):
            if None in offs:
                break
            a, b = offs[i] + 0.25, offs[i + 1] - 0.1
            res.check(rms(a, b) < 1.0, "paused span %.2f-%.2f s not silent: rms %.1f" %
                      (a, b, rms(a, b)))
        res.check(offs and offs[0] and rms(0.3, offs[0] - 0.5) > 100,
                  "speech before the pause: rms %.1f" % rms(0.3, (offs[0] or 1) - 0.5))

rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)
res.finish()
