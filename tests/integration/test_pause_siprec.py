"""PCI pause/resume on the SIPREC path, with pause_fill = tone: a recording
client (siprec_peer's SipClient and RTP from sockets) sends both parties'
streams to `earshot srs --api`; an admin pauses the session over POST
/api/active/{id}/pause and resumes it.  The media log of the session
(copied while it runs, read frame by frame with tests/tools/es_mlog_dump)
holds inside the paused span only the recorder's own soft tone, never a
payload the client sent (nor anywhere on disk); the session's events say
who paused and resumed; the recording has the soft tone over the span.
SIP INFO digits (application/dtmf-relay) are masked (mask_dtmf) and drive
the rule's key sequences: *1 pauses, *2 resumes.  (The silent fill is
test_pause.py's.)"""
import glob
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import wave
from datetime import datetime

from estest import BUILD, EARSHOT, Results, free_port, http_req, http_wait_up, run, tmpdir
import siprec_peer as peer

DUMP = os.path.join(BUILD, "es_mlog_dump")
HOST, PORT = "127.0.0.1", free_port()
SECRET = b"SRS-PAUSED-CARD!" * 10  # 160 bytes: one 20 ms PCMU payload
res = Results()
work = tmpdir("earshot-pause-srs-")
data = os.path.join(work, "data")
run([EARSHOT, "--data", data, "user", "add", "adm", "--role", "admin", "--password-stdin"],
    input="correct horse battery\n")
TOKEN = json.loads(run([EARSHOT, "--data", data, "user", "token", "adm", "--json"]).stdout)["token"]


def req(method, path):
    st, _, b = http_req(HOST, PORT, method, path, headers={"Authorization": "Bearer " + TOKEN},
                        timeout=10)
    return st, b


def us(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1e6)


conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nthreads = 2\n[rule pci]\naction = record\npause_fill = tone\n"
            "pause_dtmf = *1\nresume_dtmf = *2\nmask_dtmf = yes\n")
srs = peer.Srs(EARSHOT, data, args=["--config", conf, "--api", "%s:%d" % (HOST, PORT)])
if not res.check(srs.start() and http_wait_up(HOST, PORT, srs.rec.proc),
                 "earshot srs did not come up: " + srs.logtail()):
    srs.stop()
    res.finish()

socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in (0, 1)]
for s in socks:
    s.bind(("127.0.0.1", 0))
client = peer.SipClient(srs.addr)
sdp = peer.sdp_offer(ports=[s.getsockname()[1] for s in socks])
code, _, text = client.request("INVITE", peer.multipart(sdp, peer.META_OK % {"n": "pause"}),
                               "multipart/mixed;boundary=" + peer.BOUNDARY, dialog=True)
res.check(code == 200, "INVITE -> %s" % code)
ports = peer.answer_ports(text)
tone = peer.ulaw_frames(peer.tone(12.0, freq=700.0))
secret_on = threading.Event()
stop = threading.Event()


def sender():
    """Both streams, 20 ms apart; the secret payload while secret_on is set."""
    t0, i = time.time(), 0
    while not stop.is_set():
        for k in (0, 1):
            payload = SECRET if secret_on.is_set() else tone[i % len(tone)]
            socks[k].sendto(peer.rtp_packet(2000 + i, 160 * i, peer.SSRC[k + 1], payload,
                                            marker=i == 0), ("127.0.0.1", ports[k]))
        i += 1
        time.sleep(max(0.0, t0 + i * 0.02 - time.time()))


th = threading.Thread(target=sender, daemon=True)
th.start()
cid = None
for _ in range(50):
    st, a = req("GET", "/api/active")
    if st == 200 and a["calls"] and a["calls"][0]["packets"] > 0:
        cid = a["calls"][0]["call_id"]
        break
    time.sleep(0.1)
res.check(cid is not None, "the session in /api/active")
copy = os.path.join(work, "spool-copy")


def info(key):
    code, _, _ = client.in_dialog("INFO", "Signal=%s\r\nDuration=160\r\n" % key,
                                  "application/dtmf-relay")
    return code


def wait_state(want, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, a = req("GET", "/api/active")
        if st == 200 and a["calls"] and a["calls"][0]["state"] == want:
            return True
        time.sleep(0.1)
    return False


if cid:
    res.check(info("7") == 200, "SIP INFO 7")
    time.sleep(1.5)
    st, b = req("POST", "/api/active/%s/pause" % cid)
    res.check(st == 200 and b["state"] == "paused", "pause: %s %s" % (st, b))
    time.sleep(0.3)  # what was queued before the pause has been written
    secret_on.set()
    time.sleep(1.0)
    st, a = req("GET", "/api/active")
    res.check(st == 200 and a["calls"] and a["calls"][0]["state"] == "paused",
              "/api/active while paused: %s" % a)
    time.sleep(1.0)
    secret_on.clear()
    time.sleep(0.3)  # the last secret packets are handled before the resume
    st, b = req("POST", "/api/active/%s/resume" % cid)
    res.check(st == 200, "resume: %s %s" % (st, b))
    st, b = req("POST", "/api/active/%s/resume" % cid)
    res.check(st == 409, "resume when not paused: %s %s" % (st, b))
    time.sleep(2.0)
    os.makedirs(copy, exist_ok=True)
    for f in glob.glob(os.path.join(data, "spool", "**", "*.mlog"), recursive=True):
        shutil.copy(f, copy)
    # SIP INFO key sequences
    info("*"), info("1")
    res.check(wait_state("paused"), "SIP INFO *1 did not pause")
    info("*"), info("2")
    res.check(wait_state("answered"), "SIP INFO *2 did not resume")
stop.set()
th.join()
code, _, _ = client.in_dialog("BYE")
res.check(code == 200, "BYE -> %s" % code)
client.close()
srs.rec.wait_until(lambda s: s.get("active_calls") == 0 and s.get("recording_queue") == 0, 30)
time.sleep(1.0)
st, found = req("GET", "/api/calls?source=siprec")
row = found["calls"][0]["id"] if st == 200 and found.get("calls") else None
st, call = req("GET", "/api/calls/%s" % row) if row else (None, {})
pz = [(e["kind"], e["detail"], e["time"], e["recording_offset_s"])
      for e in call.get("events", []) if e["kind"] in ("pause", "resume")]
res.check([(k, d) for k, d, _, _ in pz] == [("pause", "api:adm"), ("resume", "api:adm"),
                                            ("pause", "dtmf:*1"), ("resume", "dtmf:*2")],
          "pause/resume events: %s" % pz)
dtmf = [e["detail"] for e in call.get("events", []) if e["kind"] == "dtmf"]
res.check(len(dtmf) == 5 and all(d.startswith("digit=* ") for d in dtmf),
          "SIP INFO digits, masked: %s" % dtmf)
span = (us(pz[0][2]), us(pz[1][2])) if len(pz) == 4 else None
logs = glob.glob(os.path.join(copy, "*.mlog"))
res.check(len(logs) == 1, "one media log copied during the session: %s" % logs)
for lg in logs:
    p = subprocess.run([DUMP, lg, data], capture_output=True, text=True)
    res.check(p.returncode == 0, "es_mlog_dump: %s" % p.stderr)
    frames = [tuple(int(x) for x in ln.split()[1:6]) + (ln.split()[6],)
              for ln in p.stdout.splitlines() if ln.startswith("rtp ")]
    inside = [f for f in frames if span and span[0] + 1000 <= f[0] < span[1]]
    # the recorder's 400 Hz tone in mu-law (src/record/pause.c), any phase
    tone_bytes = set(bytes.fromhex("ffe4d9d2cfcecfd2d9e4ff6459524f4e4f525964"))
    not_tone = [f for f in inside if not set(bytes.fromhex(f[5])) <= tone_bytes]
    res.check(span and len(frames) > 200 and len(inside) > 50 and not not_tone,
              "%d frames, %d inside the paused span %s, %d not the tone: %s" %
              (len(frames), len(inside), span, len(not_tone), not_tone[:3]))
    res.check(SECRET[:32] not in open(lg, "rb").read(), "the paused payload in the media log")
hits = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs
        if SECRET[:32] in open(os.path.join(d, f), "rb").read() or
        b"digit=7" in open(os.path.join(d, f), "rb").read()]
res.check(not hits, "the paused payload or the INFO digit on disk: %s" % hits)
if row and len(pz) == 4 and None not in (pz[0][3], pz[1][3]):
    wav = os.path.join(work, "s.wav")
    p = subprocess.run([EARSHOT, "--data", data, "export", str(row), "-o", wav],
                       capture_output=True, text=True)
    if res.check(p.returncode == 0, "export: %s" % p.stderr):
        w = wave.open(wav)
        rate, ch = w.getframerate(), w.getnchannels()
        pcm = struct.unpack("<%dh" % (w.getnframes() * ch), w.readframes(w.getnframes()))

        def rms(a, b):
            s = pcm[int(a * rate) * ch:int(b * rate) * ch]
            return math.sqrt(sum(x * x for x in s) / len(s)) if s else -1

        a, b = pz[0][3] + 0.2, pz[1][3] - 0.1
        # the tone's amplitude is 1000 (rms ~700); the client's was 12000
        res.check(300 < rms(a, b) < 1000 and rms(0.2, pz[0][3] - 0.2) > 5000,
                  "the recording: rms %.1f over the pause (the soft tone), %.1f before" %
                  (rms(a, b), rms(0.2, pz[0][3] - 0.2)))
rc = srs.stop()
res.check(rc == 0, "earshot srs exited %s" % rc)
res.finish()
