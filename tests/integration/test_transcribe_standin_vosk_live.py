"""Keyword alerts during the call (issue #19) through the Vosk server
*protocol stand-in* (asrstandin.py, which streams a "result" as soon as a
burst of speech has ended; no model runs here): `earshot record -i lo`
with [transcription] engine = vosk, live = yes follows a sipp call on
loopback (sip-tester's A-law speech both ways) from its spool, streams both
channels to the stand-in while the call runs, spots the keyword "refund"
in the results and raises the `keyword` alert to a webhook receiver.

1. The alert reaches the receiver before the call ends, within 10 s of the
   word: the word's time in the call is the first RTP packet (tcpdump's
   capture, tshark's view) plus the word's end in the stream the stand-in
   answered; the delay is printed and asserted < 10 s.
2. The post-call transcript (`transcribe run`, another process) finds the
   same hits and raises none of them again: every keyword event is the
   live one (fields.stage = live).
3. The limit: two calls at once with live_max_calls = 1: one is streamed,
   the other skipped and counted (status.json live_keywords.skipped).
4. Engine down: the next call still records; status.json's live_keywords
   counts it as failed."""
import json
import os
import time

import estest
from webhook import Receiver
from asrstandin import StandIn
from estest import EARSHOT, Results, calls_json, earshot, show_json, skip, tmpdir
import livecalls

why = livecalls.missing_tools()
if why:
    skip(why)
if not os.path.exists(EARSHOT):
    skip("earshot not built at " + EARSHOT)

SECRET = "test-secret-livekw-0123456789"
LENGTH = 16.0      # seconds from ACK to BYE


estest.own_loopback()
res = Results()
work = tmpdir("earshot-tr-vosk-live-")
data = os.path.join(work, "data")
si = StandIn("vosk")
si_port = si.start()
rx = Receiver(estest.free_port(), SECRET).start()
ports = livecalls.Ports(2)
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = vosk\nurl = ws://127.0.0.1:%d\ntimeout = 20s\n"
            "worker = no\nlive = yes\nlive_max_calls = 1\nlive_timeout = 5s\n\n"
            "[keywords refunds]\ncategory = complaint\nphrases = refund\n\n"
            "[alerts]\nwebhook = http://127.0.0.1:%d/hook\nsecret = %s\nretry_max = 2s\n"
            "timeout = 2s\n\n[alert words]\ncondition = keyword\n"
            % (si_port, rx.port, SECRET))
bpf = ports.bpf(2)

# live = yes needs a streaming engine: refused before capture starts
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\nlive = yes\n" % si_port)
p = estest.run([EARSHOT, "--data", os.path.join(work, "bad"), "record", "-c", bad, "-i", "lo",
                "--filter", bpf], check=False)
res.check(p.returncode == 2 and "live = yes needs engine = vosk" in p.stderr
          and "recording from" not in p.stderr, "whisper with live = yes: %d %s"
          % (p.returncode, p.stderr[-300:]))

rec = livecalls.Recorder(EARSHOT, data, bpf, args=["-c", conf, "--linger", "1",
                                                   "--format", "wav"])
rec.start()
if not res.check(rec.wait_status(20) is not None,
                 "no status.json within 20 s; log:\n" + rec.logtext()[-3000:]):
    rec.stop()
    res.finish()

# --- 1. the alert during the call ---------------------------------------------------
cap = livecalls.Capture(os.path.join(work, "kw.pcap"), bpf).start()
calls = livecalls.Calls(os.path.join(work, "sipp-kw"), 1, LENGTH, rate=10, ports=ports)
calls.start()
deadline = calls.started + LENGTH + 5
while not rx.events("keyword") and time.time() < deadline:
    time.sleep(0.05)
ev = rx.events("keyword")
running = calls.finished is None
uac_rc, uas_rc = calls.wait()
time.sleep(0.5)
cap.stop()
res.check(uac_rc == 0 and uas_rc == 0, "sipp exited uac %s uas %s (see %s)"
          % (uac_rc, uas_rc, calls.work))
streams = livecalls.rtp_streams(cap.path)
first_rtp = min((s["first"] for s in streams.values()), default=None)
live = [r for r in si.requests if r.get("results")]
res.check(len(live) == 2, "%d live streams with results (want one per channel): %s"
          % (len(live), [(r["chunks"], r["seconds"]) for r in si.requests]))
# the first "refund" the stand-in sent, by its end in its stream
said = min((w[2] for r in live for _, ws in r["results"][:1] for w in ws if w[0] == "refund"),
           default=None)
if res.check(len(ev) >= 1, "no keyword event within %.0f s; log:\n%s"
             % (LENGTH + 5, rec.logtext()[-3000:])) and first_rtp and said is not None:
    e = ev[0]
    b = e["body"]
    fields = b.get("fields") or {}
    word_t = first_rtp + said
    delay = e["t"] - word_t
    print("live keyword alert: at the receiver %.2f s after the word was said (first RTP "
          "packet + %.2f s in the stream), earshot's own figure %.2f s; %.2f s after the "
          "call started, while the call ran: %s (machine loaded: 8 developers + CI)"
          % (delay, said, e["t"] - fields.get("said_at", 0), e["t"] - calls.started, running))
    res.check(running and e["t"] < calls.started + LENGTH,
              "the keyword alert came after the call ended")
    res.check(0 <= delay < 10, "keyword alert %.2f s after the word (want < 10 s)" % delay)
    res.check(abs(fields.get("said_at", 0) - word_t) < 1.0,
              "said_at %.2f vs the capture's %.2f" % (fields.get("said_at", 0), word_t))
    res.check(e["sig_ok"], "bad signature on %s" % b.get("id"))
    res.check(b.get("alert") == "words" and (b.get("call") or {}).get("source") == "live"
              and fields.get("phrase") == "refund" and fields.get("category") == "complaint"
              and fields.get("stage") == "live" and fields.get("party") in ("caller", "callee"),
              "keyword event %s" % b)
st = rec.wait_until(lambda s: (s.get("live_keywords") or {}).get("finished", 0) >= 1
                    and s.get("active_calls") == 0, 20) or {}
lk = st.get("live_keywords") or {}
res.check(lk.get("followed") == 1 and lk.get("finished") == 1 and lk.get("failed") == 0
          and lk.get("hits", 0) >= 2, "status.json live_keywords %s" % lk)

# --- 2. the post-call transcript raises no hit again ---------------------------------
cs = calls_json(data)
if res.check(len(cs) == 1, "%d calls indexed" % len(cs)):
    cid = str(cs[0]["id"])
    earshot(data, "transcribe", cid)
    p = earshot(data, "transcribe", "run", "-c", conf, "--once")
    tst = json.loads(earshot(data, "transcribe", "status", "--json").stdout)
    res.check(tst["counts"]["done"] == 2, "post-call transcripts: %r %s"
              % (tst["counts"], p.stderr[-500:]))
    show = show_json(data, cid)
    hits = [k for k in ((show.get("speech") or {}).get("keywords") or [])
            if k.get("phrase") == "refund"]
    res.check(len(hits) >= 2, "the post-call findings have the refund hits: %r" % hits[:3])
    time.sleep(3)  # the worker's sender posts within a second or two
    ev = rx.events("keyword")
    post = [e["body"] for e in ev if (e["body"].get("fields") or {}).get("stage") != "live"]
    res.check(not post, "the post-call transcript raised live hits again: %s" % post[:2])
    marks = os.path.join(data, "alerts", "live")
    left = os.listdir(marks) if os.path.isdir(marks) else []
    print("post-call: %d refund hits in the findings, %d keyword events in all, %d mark "
          "files left" % (len(hits), len(ev), len(left)))

# --- 3. the limit: one call streamed, the other skipped and counted ------------------
calls = livecalls.Calls(os.path.join(work, "sipp-two"), 2, 6.0, rate=10, ports=ports)
calls.start()
uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp (two calls) exited uac %s uas %s"
          % (uac_rc, uas_rc))
st = rec.wait_until(lambda s: (s.get("live_keywords") or {}).get("finished", 0) >= 2
                    and s.get("active_calls") == 0, 20) or {}
lk = st.get("live_keywords") or {}
res.check(lk.get("followed") == 2 and lk.get("skipped") == 1 and lk.get("failed") == 0,
          "two calls, live_max_calls = 1: %s" % lk)
res.check("not followed live" in rec.logtext(), "the skipped call is logged")

# --- 4. engine down: the call records, a counter shows it ----------------------------
si.stop()
calls = livecalls.Calls(os.path.join(work, "sipp-down"), 1, 5.0, rate=10, ports=ports)
calls.start()
uac_rc, uas_rc = calls.wait()
res.check(uac_rc == 0 and uas_rc == 0, "sipp (engine down) exited uac %s uas %s"
          % (uac_rc, uas_rc))
st = rec.wait_until(lambda s: (s.get("live_keywords") or {}).get("failed", 0) >= 1
                    and s.get("active_calls") == 0, 20) or {}
lk = st.get("live_keywords") or {}
res.check(lk.get("failed") == 1 and lk.get("followed") == 3, "engine down: %s" % lk)
deadline = time.time() + 20
while len(calls_json(data)) < 4 and time.time() < deadline:
    time.sleep(0.5)
res.check(len(calls_json(data)) == 4, "the call with the engine down is recorded too")
res.check("live keywords given up" in rec.logtext(), "the log says why: "
          + rec.logtext()[-1500:])
rc = rec.stop()
res.check(rc == 0, "earshot record exited %s" % rc)

# --- 5. a shutdown does not wait out live_timeout on a server that went quiet --------
mute = StandIn("vosk")
mute.mode = "mute"
conf2 = os.path.join(work, "mute.conf")
with open(conf2, "w") as f:
    f.write(open(conf).read().replace("ws://127.0.0.1:%d" % si_port,
                                      "ws://127.0.0.1:%d" % mute.start())
            .replace("live_timeout = 5s", "live_timeout = 60s"))
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["-c", conf2, "--linger", "1",
                                                   "--format", "wav"])
rec.start()
if res.check(rec.wait_status(20) is not None, "no status.json (mute engine)"):
    calls = livecalls.Calls(os.path.join(work, "sipp-mute"), 1, 12.0, rate=10, ports=ports)
    calls.start()
    deadline = time.time() + 10
    while not any(r["chunks"] >= 1 for r in mute.requests) and time.time() < deadline:
        time.sleep(0.1)
    res.check(any(r["chunks"] >= 1 for r in mute.requests),
              "the recorder never streamed to the mute engine: %s" % mute.requests)
    t0 = time.time()
    rc = rec.stop()
    took = time.time() - t0
    print("shutdown with a live call waiting on a mute engine (live_timeout 60 s): %.2f s"
          % took)
    res.check(rc == 0 and took < 10, "earshot record took %.1f s to stop (exit %s): a live "
              "call's wait on the engine held the shutdown" % (took, rc))
    calls.wait()
mute.stop()

# --- 6. consent: nothing of a party whose audio may yet be cut reaches the engine ----
# the caller must consent within 2 s and never does; the agent (callee) is
# kept: only the callee's channel may be streamed, and only once that is settled
si6 = StandIn("vosk")
conf3 = os.path.join(work, "consent.conf")
with open(conf3, "w") as f:
    f.write(open(conf).read().replace("ws://127.0.0.1:%d" % si_port,
                                      "ws://127.0.0.1:%d" % si6.start())
            + "\n[rule consent]\naction = record\nconsent = required\nagent = callee\n"
            "consent_window = 2s\nno_consent_keep = agent\n")
rec = livecalls.Recorder(EARSHOT, data, bpf, args=["-c", conf3, "--linger", "1",
                                                   "--format", "wav"])
rec.start()
if res.check(rec.wait_status(20) is not None, "no status.json (consent)"):
    calls = livecalls.Calls(os.path.join(work, "sipp-consent"), 1, 8.0, rate=10, ports=ports)
    calls.start()
    calls.wait()
    st = rec.wait_until(lambda s: (s.get("live_keywords") or {}).get("finished", 0) >= 1
                        and s.get("active_calls") == 0, 20) or {}
    opened = [r for r in si6.requests]
    print("consent: %d streams opened, %s" % (len(opened),
                                             [(r["chunks"], r["seconds"]) for r in opened]))
    res.check(len(opened) == 1, "a call whose caller never consented: %d streams to the "
              "engine (want 1: the agent's only)" % len(opened))
    rc = rec.stop()
    res.check(rc == 0, "earshot record exited %s" % rc)
    cs = calls_json(data)
    last = max(cs, key=lambda c: c["id"]) if cs else {}
    res.check("no_consent" in last.get("flags", []), "the call is flagged no_consent: %s"
              % last.get("flags"))
si6.stop()
rx.stop()
res.finish()
