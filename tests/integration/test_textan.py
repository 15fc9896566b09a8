"""`earshot textan` (issue #19, docs/ANALYTICS.md): a transcript's words as
JSON, a configuration with keyword lists, a required disclosure, a digit
pattern and the real sentiment lexicon (scripts/fetch-lexicon, from npm):
the JSON output has the hits with their times, the missing required list,
the sentiment per party, the card number's span and the masked words; the
text output says the same; bad words and a bad configuration name the file
and the place, with exit codes 3 and 2."""
import json
import os

from estest import EARSHOT, SOURCE, Results, run, tmpdir

res = Results()
work = tmpdir("earshot-textan-")
LEX = os.environ.get("ES_VADER_LEXICON",
                     os.path.join(SOURCE, "build", "lexicon", "vader_lexicon.txt"))


def words(ch, t0, sentence):
    out, t = [], t0
    for x in sentence.split():
        out.append({"text": x, "start_ms": t, "end_ms": t + 300, "conf": 0.9, "channel": ch})
        t += 400
    return out


w = (words(1, 0, "Thank you for calling, this call is recorded. How can I help?") +
     words(0, 6000, "I am really unhappy with the service. My card is four five three two "
                    "oh one five double one two eight three zero three double six") +
     words(1, 20000, "your account is one two three four five six seven eight thanks"))
wpath = os.path.join(work, "words.json")
with open(wpath, "w") as f:
    json.dump({"language": "en", "words": w}, f)
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[keywords disclosure]\ncategory = disclosure\nphrases = this call is recorded\n"
            "required = yes\nparty = callee\n"
            "[keywords rivals]\ncategory = competitor\nphrases = acme*, globex\nrequired = yes\n"
            "[keywords unhappy]\ncategory = complaint\nphrases = unhappy with the serv*\n"
            "[redact_speech]\npatterns = account:\\d{8}\n")
    if os.path.exists(LEX):
        f.write("[sentiment]\nlexicon = %s\n" % LEX)

p = run([EARSHOT, "textan", "--words", wpath, "-c", conf, "--json"], check=False)
res.check(p.returncode == 0, "textan --json: %d %s" % (p.returncode, p.stderr))
out = json.loads(p.stdout) if p.returncode == 0 else {}
hits = {h["list"]: h for h in out.get("hits", [])}
res.check(set(hits) == {"disclosure", "unhappy"}, "hits: %s" % sorted(hits))
d = hits.get("disclosure", {})
res.check(d.get("party") == "callee" and d.get("start_ms") == 1600 and d.get("end_ms") == 3100,
          "disclosure hit: %s" % d)
u = hits.get("unhappy", {})
res.check(u.get("party") == "caller" and u.get("start_ms") == 7200 and u.get("end_ms") == 8700,
          "complaint hit across words with a wildcard: %s" % u)
res.check([m["list"] for m in out.get("missing", [])] == ["rivals"],
          "missing required: %s" % out.get("missing"))
spans = out.get("spans", [])
res.check([(s["kind"], s["party"], s["digits"]) for s in spans] ==
          [("card", "caller", 16), ("account", "callee", 8)], "spans: %s" % spans)
if spans:
    res.check(spans[0]["start_ms"] == 6000 + 10 * 400 and spans[0]["end_ms"] == 6000 + 25 * 400 + 300,
              "card span times: %s" % spans[0])
masked = out.get("masked_words", [])
res.check(len(masked) == len(w), "masked words: %d of %d" % (len(masked), len(w)))
said = " ".join(masked)
res.check("four" not in said and "double" not in said and "seven" not in said and
          "card is # # #" in said and "Thank you for calling," in said,
          "masked text: %s" % said)
if os.path.exists(LEX):
    s = out.get("sentiment") or {}
    res.check(s.get("caller", 0) < 0 and len(s.get("utterances", [])) == 3,
              "sentiment: %s" % s)
else:
    res.skip("no lexicon at %s (scripts/fetch-lexicon)" % LEX)

p = run([EARSHOT, "textan", "--words", wpath, "-c", conf], check=False)
res.check(p.returncode == 0 and "missing  required phrase of competitor/rivals" in p.stdout and
          "card (16 digits)" in p.stdout, "text output: %s %s" % (p.stdout, p.stderr))

bad = os.path.join(work, "bad.json")
with open(bad, "w") as f:
    f.write('[{"text": "four", "start_ms": 5, "end_ms": 1}]')
p = run([EARSHOT, "textan", "--words", bad], check=False)
res.check(p.returncode == 3 and "bad.json: offset" in p.stderr and "ends before it starts" in p.stderr,
          "bad words: %d %s" % (p.returncode, p.stderr))
badconf = os.path.join(work, "bad.conf")
with open(badconf, "w") as f:
    f.write("[keywords x]\nphrases = a\nparty = boss\n")
p = run([EARSHOT, "textan", "--words", wpath, "-c", badconf], check=False)
res.check(p.returncode == 2 and "bad.conf:3: party" in p.stderr,
          "bad config: %d %s" % (p.returncode, p.stderr))
# earshot record reads the same sections from its configuration: a bad one
# stops it at start, naming the line (before: "unknown section")
p = run([EARSHOT, "--data", os.path.join(work, "data"), "record", "-c", badconf, "-i", "lo"],
        check=False, timeout=60)
res.check(p.returncode == 2 and "bad.conf:3: party" in p.stderr,
          "record with a bad [keywords]: %d %s" % (p.returncode, p.stderr))
p = run([EARSHOT, "textan"], check=False)
res.check(p.returncode == 2, "no --words: %d" % p.returncode)
res.finish()
