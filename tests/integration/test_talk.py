"""Talk metrics (issue #19, docs/ANALYTICS.md) end to end: generated calls
whose parties send tone bursts in chosen spans (G.711 through gen_calls'
--audio-caller/--audio-callee) are imported; the stored segments, overtalk,
dead air, interruptions and monologues match the spans to 100 ms, `earshot
calls --min-overtalk/--max-talk-ratio/--min-dead-air` select the right calls
and bad values are usage errors.  Then real speech (../shared/speech, one
utterance per party, one after the other): each party's talk time is
plausible against its utterance's length and nobody talks over the other."""
import json
import os
import struct
import subprocess
import wave

from estest import (EARSHOT, SOURCE, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, show_json, tmpdir)
from talkgen import A, B, RATE, gen_call, near

res = Results()
work = tmpdir("earshot-talk-")
data = os.path.join(work, "data")
pa = gen_call(work, "a", A[0], A[1], 30, 11)
pb = gen_call(work, "b", B[0], B[1], 30, 12)
p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
calls = calls_json(data)
ids = {}
for c in calls:
    t = show_json(data, c["id"])["talk"]
    ids["a" if t["overtalk_ms"] > 0 else "b"] = c["id"]
ta = show_json(data, ids["a"])["talk"]
tb = show_json(data, ids["b"])["talk"]
print("call A:", {k: v for k, v in ta.items() if k not in ("caller", "callee")})
print("  caller", ta["caller"])
print("  callee", ta["callee"])
print("call B:", tb)


def segs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


# the recording starts with the first packet of either party: measure the
# offset from the first segment and check every span against it
off = ta["caller"]["segments"][0] - 500
res.check(abs(off) <= 100, "recording offset %d ms" % off)
for party, spans in (("caller", A[0]), ("callee", A[1])):
    got = segs(ta[party]["segments"])
    want = [(int(s * 1000) + off, int(e * 1000) + off) for s, e in spans]
    res.check(len(got) == len(want) and all(near(g[0], w[0]) and near(g[1], w[1])
                                            for g, w in zip(got, want)),
              "%s segments %r, want %r" % (party, got, want))
res.check(near(ta["overtalk_ms"], 1500, 150) and ta["overtalk_count"] == 3,
          "overtalk %r ms in %r (want 1500 in 3)" % (ta["overtalk_ms"], ta["overtalk_count"]))
res.check(ta["callee"]["interruptions"] == 2 and ta["caller"]["interruptions"] == 1,
          "interruptions caller %r callee %r (want 1, 2)" % (ta["caller"]["interruptions"],
                                                           ta["callee"]["interruptions"]))
res.check(near(ta["dead_air_max_ms"], 8000) and near(ta["dead_air_ms"], 8000)
          and ta["dead_air_count"] == 1, "dead air %r / longest %r (want 8000)"
          % (ta["dead_air_ms"], ta["dead_air_max_ms"]))
res.check(near(ta["caller"]["monologue_max_ms"], 7000)
          and near(ta["callee"]["monologue_max_ms"], 3500),
          "monologues %r %r (want 7000, 3500)" % (ta["caller"]["monologue_max_ms"],
                                                 ta["callee"]["monologue_max_ms"]))
res.check(near(ta["caller"]["talk_ms"], 13000, 200) and near(ta["callee"]["talk_ms"], 6500, 200),
          "talk %r %r (want 13000, 6500)" % (ta["caller"]["talk_ms"], ta["callee"]["talk_ms"]))
res.check(near(ta["first_words_ms"], 500 + off), "first words %r" % ta["first_words_ms"])
res.check(abs(ta["talk_ratio"] - 13.0 / 19.5) < 0.02, "talk ratio %r" % ta["talk_ratio"])
res.check(tb["overtalk_ms"] == 0 and tb["caller"]["interruptions"] == 0
          and tb["callee"]["interruptions"] == 0 and tb["dead_air_count"] == 0,
          "call B: no overtalk, interruptions or dead air: %r" % tb)
res.check(abs(tb["talk_ratio"] - 2.5 / 9.0) < 0.02, "call B talk ratio %r" % tb["talk_ratio"])

# search: the CLI's filters pick the right call
def listed(*f):
    return sorted(c["id"] for c in calls_json(data, *f))


res.check(listed("--min-overtalk", "1") == [ids["a"]], "--min-overtalk 1: %r" % listed("--min-overtalk", "1"))
res.check(listed("--min-dead-air", "5") == [ids["a"]], "--min-dead-air 5")
res.check(listed("--max-talk-ratio", "0.3") == [ids["b"]], "--max-talk-ratio 0.3")
res.check(listed("--max-talk-ratio", "0.9") == sorted(ids.values()), "--max-talk-ratio 0.9")
res.check(listed("--min-overtalk", "5") == [], "--min-overtalk 5")
lst = [c for c in calls_json(data) if c["id"] == ids["a"]][0]["talk"]
res.check(lst and near(lst["overtalk_ms"], 1500, 150) and "caller" not in lst,
          "the list carries the summary only: %r" % lst)
txt = earshot(data, "show", str(ids["a"])).stdout
res.check("Talk (voice activity" in txt and "interruptions" in txt
          and "after the answer" in txt, "show prints the talk metrics")
for args, word in ((("--min-overtalk", "x"), "--min-overtalk"),
                   (("--max-talk-ratio", "1.5"), "--max-talk-ratio"),
                   (("--min-dead-air", "-3"), "--min-dead-air")):
    p = earshot(data, "calls", *args, check=False)
    res.check(p.returncode == 2 and word in p.stderr, "calls %s: exit %d %r"
              % (" ".join(args), p.returncode, p.stderr.strip()))

# the same filters on GET /api/calls, the detail with the segments, the timeline's script
run([EARSHOT, "--data", data, "user", "add", "sup1", "--role", "admin", "--password-stdin"],
    input="correct horse battery\n")
tok = json.loads(earshot(data, "user", "token", "sup1", "--json").stdout)["token"]
HOST, PORT = "127.0.0.1", free_port()
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", os.path.join(SOURCE, "web")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        auth = {"Authorization": "Bearer " + tok}

        def api_ids(q):
            st, _, body = http_req(HOST, PORT, "GET", "/api/calls?" + q, headers=auth)
            return st, sorted(c["id"] for c in body["calls"]) if st == 200 else body

        res.check(api_ids("min_overtalk=1") == (200, [ids["a"]]), "api min_overtalk=1")
        res.check(api_ids("min_dead_air=5") == (200, [ids["a"]]), "api min_dead_air=5")
        res.check(api_ids("max_talk_ratio=0.3") == (200, [ids["b"]]), "api max_talk_ratio=0.3")
        for q in ("min_overtalk=abc", "max_talk_ratio=2", "min_dead_air=-1"):
            st, body = api_ids(q)
            res.check(st == 400 and q.split("=")[0] in json.dumps(body),
                      "api %s: %d %r" % (q, st, body))
        st, _, c = http_req(HOST, PORT, "GET", "/api/calls/%d" % ids["a"], headers=auth)
        res.check(st == 200 and c["talk"]["callee"]["segments"] == ta["callee"]["segments"],
                  "api detail carries the segments")
        st, _, _ = http_req(HOST, PORT, "GET", "/timeline.js")
        res.check(st == 200, "timeline.js is served: %d" % st)
finally:
    http_stop(server)

# ---- real speech ----------------------------------------------------------------
SPEECH = os.path.normpath(os.path.join(SOURCE, "..", "shared", "speech"))
CALLER = os.path.join(SPEECH, "ls_61_70968_0000.wav")
CALLEE = os.path.join(SPEECH, "arctic_aew_a0001.wav")
if not (os.path.exists(CALLER) and os.path.exists(CALLEE)):
    print("SKIP real speech: ../shared/speech is absent (see its MANIFEST.tsv)")
    res.finish()


def read_mono(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return w.getframerate(), list(struct.unpack("<%dh" % w.getnframes(),
                                                    w.readframes(w.getnframes())))


ra, sa = read_mono(CALLER)
rb, sb = read_mono(CALLEE)
res.check(ra == rb == RATE, "the utterances are 8 kHz: %d %d" % (ra, rb))
da, db = len(sa) / ra, len(sb) / rb
# caller 0.5 s + its utterance, then 1.5 s pause, the callee's utterance
cs = (0.5, 0.5 + da)
ce = (cs[1] + 1.5, cs[1] + 1.5 + db)
total = 30  # the capture's length; the call inside it is shorter
data2 = os.path.join(work, "data2")
ps = gen_call(work, "s", [cs], [ce], total, 13, src=([sa], [sb]))
p, summary = import_capture(data2, ps, extra=("--format", "wav"))
res.check(p.returncode == 0 and summary and summary["recordings"] == 1, "import speech")
t = show_json(data2, calls_json(data2)[0]["id"])["talk"]
print("real speech: caller utterance %.2f s -> talk %.2f s in %d segments; callee %.2f s -> "
      "%.2f s in %d; overtalk %d ms"
      % (da, t["caller"]["talk_ms"] / 1e3, len(t["caller"]["segments"]) // 2, db,
         t["callee"]["talk_ms"] / 1e3, len(t["callee"]["segments"]) // 2, t["overtalk_ms"]))
for party, d, span in (("caller", da, cs), ("callee", db, ce)):
    pt = t[party]
    res.check(0.5 * d * 1000 <= pt["talk_ms"] <= d * 1000 + 200,
              "%s talk %d ms for a %.2f s utterance" % (party, pt["talk_ms"], d))
    sg = segs(pt["segments"])
    res.check(sg and sg[0][0] >= span[0] * 1000 - 150 and sg[-1][1] <= span[1] * 1000 + 350,
              "%s segments %r inside its utterance %r" % (party, sg, span))
res.check(t["overtalk_ms"] == 0 and t["caller"]["interruptions"] == 0, "no overtalk in turns")
res.finish()
