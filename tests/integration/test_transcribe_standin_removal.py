"""Transcripts go with their recording (issue #19): three generated calls
transcribed through the whisper.cpp server *protocol stand-in*
(asrstandin.py; no model runs here), each with a keyword hit and a
sentiment score; then one recording's key is shredded (`keys shred`), one
expires by retention (`retention run`) and one party's data is erased
(`subject erase`).  Each time that call's sealed transcript files, its
searchable text, its keyword hits and sentiment leave the data folder and
the index, and the other calls keep theirs."""
import json
import os

from asrstandin import StandIn
from estest import (BUILD, SOURCE, Results, calls_json, earshot, import_capture, run, show_json,
                    tmpdir)
from talkgen import A, write_wav

res = Results()
LEX = os.environ.get("ES_VADER_LEXICON",
                     os.path.join(SOURCE, "build", "lexicon", "vader_lexicon.txt"))
work = tmpdir("earshot-tr-removal-")
data = os.path.join(work, "data")
# three calls at once, each with call A's speech (gen_calls numbers the callers)
wa, wb = os.path.join(work, "a.wav"), os.path.join(work, "b.wav")
write_wav(wa, A[0], 20)
write_wav(wb, A[1], 20, freq=700)
pcap = os.path.join(work, "three.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcma", "--calls", "3",
     "--duration", "20", "--seed", "21", "--audio-caller", wa, "--audio-callee", wb])
p, summary = import_capture(data, pcap, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 3,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()
calls = calls_json(data)
callers = [c["caller"] for c in calls]
if not res.check(len(set(callers)) == 3, "three callers: %r" % callers):
    res.finish()
ids = [c["id"] for c in calls]

si = StandIn("whisper")
port = si.start()
si.script = {"alpha": [("i", 1.0, 1.2), ("am", 1.3, 1.5), ("terribly", 1.6, 1.9),
                       ("unhappy", 2.0, 2.4)],
             "bravo": [("sorry", 3.6, 3.9), ("to", 4.0, 4.1), ("hear", 4.2, 4.5)]}
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
            "[keywords gripes]\ncategory = complaint\nphrases = unhappy\n" % port)
    if os.path.exists(LEX):
        f.write("[sentiment]\nlexicon = %s\n" % LEX)
earshot(data, "transcribe", "--query", "source=import")
earshot(data, "transcribe", "run", "-c", conf, "--once")
si.stop()


def files_of(call):
    rec = show_json(data, call)["recording"]["path"]
    base = os.path.join(data, "transcripts", rec)
    return [x for x in (base + ".caller.json", base + ".callee.json") if os.path.exists(x)]


paths = {i: files_of(i) for i in ids}
res.check(all(len(v) == 2 for v in paths.values()), "6 sealed transcripts: %r" % paths)


def state(call):
    """(files left, found by text, found by keyword, has findings)"""
    left = [x for x in paths[call] if os.path.exists(x)]
    by_text = call in [c["id"] for c in calls_json(data, "--text", "unhappy")]
    by_kw = call in [c["id"] for c in calls_json(data, "--keyword", "complaint")]
    s = show_json(data, call)
    return (len(left), by_text, by_kw, s["speech"] is not None)


res.check(all(state(i) == (2, True, True, True) for i in ids),
          "before: %r" % [state(i) for i in ids])
if os.path.exists(LEX):
    res.check(all(show_json(data, i)["sentiment"] is not None for i in ids), "scored")

# ---- shredding a recording's key ----
p = earshot(data, "keys", "shred", str(ids[0]), "--yes", check=False)
res.check(p.returncode == 0, "shred: %d %s" % (p.returncode, p.stderr))
res.check(state(ids[0]) == (0, False, False, False), "shredded: %r" % (state(ids[0]),))
res.check(show_json(data, ids[0])["sentiment"] is None, "shredded: no score")
res.check(state(ids[1]) == (2, True, True, True), "the others keep theirs")

# ---- retention ----
rconf = os.path.join(work, "retention.conf")
with open(rconf, "w") as f:
    f.write("[retention gone]\ncaller = %s\nkeep = 1d\ndelete_after = 2d\n"
            "[retention default]\nkeep = 1y\ndelete_after = never\n"
            % callers[1].split(":")[1].split("@")[0])
p = earshot(data, "retention", "apply", "-c", rconf, "--yes", check=False)
p = earshot(data, "retention", "run", "-c", rconf, "--now", "2100-01-01", check=False)
res.check(p.returncode == 0, "retention run: %d %s %s" % (p.returncode, p.stdout, p.stderr))
res.check(state(ids[1])[:3] == (0, False, False) and show_json(data, ids[1])["recording"] is None,
          "expired: %r" % (state(ids[1]),))
res.check(state(ids[2]) == (2, True, True, True), "the last keeps its own")

# ---- a data subject's erasure ----
party = callers[2].split(":")[1].split("@")[0]
p = earshot(data, "subject", "erase", "--party", party, "--reason", "DSR 7", "--yes",
            check=False)
res.check(p.returncode == 0, "erase: %d %s" % (p.returncode, p.stderr))
left = [x for x in paths[ids[2]] if os.path.exists(x)]
res.check(not left and ids[2] not in [c["id"] for c in calls_json(data, "--text", "unhappy")] and
          ids[2] not in [c["id"] for c in calls_json(data, "--keyword", "complaint")],
          "erased: files %r" % left)
res.check(not [x for dp, _, fs in os.walk(os.path.join(data, "transcripts")) for x in fs],
          "no transcript file is left in the data folder")
res.finish()
