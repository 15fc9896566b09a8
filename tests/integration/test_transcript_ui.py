"""Transcripts in the web UI (issue #19; web/transcript.js, web/search.js)
in Chromium (tests/browser/transcript_test.mjs through playwright-core)
against a real `earshot serve` on a free port, the transcripts made through
the whisper.cpp server *protocol stand-in* (asrstandin.py: scripted words
over talkgen's tone bursts; no model runs here): a supervisor searches the
words said, sees the hits with snippets and times, opens a hit (the audio
is not fetched before Play; Play starts at the hit), the panel shows both
parties with the card number masked, highlights the word at the playhead,
a click on a word seeks; the keyword hits are markers on the waveform and
the sentiment a line under it; an agent finds only their own calls'
transcripts (at 390 px).  Skipped, not failed, without node, chromium or
the sentiment lexicon (scripts/fetch-lexicon)."""
import json
import os
import subprocess
import sys

from asrstandin import StandIn
from estest import (CHROMIUM, EARSHOT, SOURCE, Results, browser_ready, calls_json, earshot,
                    free_port, http_stop, http_wait_up, import_capture, run, show_json, skip,
                    tmpdir)
from talkgen import A, B, gen_call

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
LEX = os.environ.get("ES_VADER_LEXICON",
                     os.path.join(SOURCE, "build", "lexicon", "vader_lexicon.txt"))
why = browser_ready()
if why:
    skip(why)
if not os.path.exists(LEX):
    skip("no lexicon at %s (scripts/fetch-lexicon)" % LEX)
HOST, PORT, PW = "127.0.0.1", free_port(), "correct horse battery"
res = Results()
work = tmpdir("earshot-transcript-ui-")
data = os.path.join(work, "data")
pb = gen_call(work, "b", B[0], B[1], 30, 12)  # its own parties (talkgen: by seed), so the
                                               # agent of call A's number owns only call A
p, summary = import_capture(data, gen_call(work, "a", A[0], A[1], 30, 11), pb,
                            extra=("--format", "wav"))
if p.returncode != 0 or not summary or summary["recordings"] != 2:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
ca = [c for c in calls if show_json(data, c["id"])["talk"]["overtalk_ms"] > 0][0]


def said(t0, sentence, step=0.4):
    return [(w, round(t0 + i * step, 2), round(t0 + i * step + 0.3, 2))
            for i, w in enumerate(sentence.split())]


CARD = ("four five three two oh one five double one two eight three zero three "
        "double six")  # Luhn-valid
si = StandIn("whisper")
port = si.start()
si.script = {"bravo": said(3.6, "thank you for calling this call is recorded") +
             said(8.6, "i am glad to help you today"),
             "alpha": said(0.6, "i want a refund it is terrible") +
             said(6.8, "the service was awful") + said(20.1, "my card is " + CARD)}
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n"
            "[keywords disclosure]\ncategory = disclosure\nphrases = this call is recorded\n"
            "required = yes\nparty = callee\n"
            "[keywords rivals]\ncategory = competitor\nphrases = acme*\nrequired = yes\n"
            "[keywords complaint]\ncategory = complaint\nphrases = refund\n"
            "[sentiment]\nlexicon = %s\n" % (port, LEX))
earshot(data, "transcribe", "--query", "source=import")
earshot(data, "transcribe", "run", "-c", conf, "--once")
si.stop()

num = ca["caller"].split(":")[1].split("@")[0]
own = sorted(c["id"] for c in calls if num in (c["caller"] + c["callee"]))
for name, role, extra in (("sup1", "supervisor", []), ("agent1", "agent", ["--numbers", num])):
    run([EARSHOT, "--data", data, "user", "add", name, "--role", role] + extra +
        ["--password-stdin"], input=PW + "\n")
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--web", WEB_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
try:
    if res.check(http_wait_up(HOST, PORT, server), "server up"):
        env = dict(os.environ, UI_URL="http://%s:%d" % (HOST, PORT), UI_PASSWORD=PW,
                   UI_CALL=str(ca["id"]), UI_CALLS=json.dumps(sorted(c["id"] for c in calls)),
                   UI_OWN=json.dumps(own), UI_OUT=os.path.join(work, "screenshots"),
                   CHROMIUM=CHROMIUM)
        p = subprocess.run(["node", "transcript_test.mjs"], cwd=BROWSER_DIR, env=env,
                           capture_output=True, text=True, timeout=180)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        res.check(p.returncode == 0, "transcripts in the browser")
finally:
    http_stop(server)
res.finish()
