"""Redaction (`earshot redact`, #15) of a real-speech call recorded in the
default format (Ogg/Opus, encrypted at rest):

- a span of the caller's channel becomes silent (RMS over the span, minus
  the Opus frame edges, under -60 dBFS) while the callee's channel over the
  same span keeps its level; a second redaction on top of the first puts a
  soft tone on the callee's channel (about -33 dBFS);
- export and `earshot verify --all` use and pass on the redacted version;
  the ledger has a rec leaf for it and a redact leaf whose of= is the
  original's rec leaf, with the span and channel;
- [redaction] original = restrict keeps the original (file and key, no
  tombstone); = shred destroys its key with a "redacted" tombstone, and a
  legal hold on the call refuses that (exit 6, nothing changed);
- bad input (span outside the call, from >= to, unknown channel, missing
  reason, unknown mode) is exit 2 with a message, nothing changed;
- an index row of a redaction altered afterwards is a verify finding."""
import json
import os
import sqlite3

from audiometrics import dbfs, read_wav, rms
from estest import BUILD, SOURCE, Results, earshot, have, import_capture, run, skip, tmpdir

SPEECH = os.path.normpath(os.path.join(SOURCE, "..", "shared", "speech"))
CALLER = os.path.join(SPEECH, "ls_61_70968_0000.wav")
CALLEE = os.path.join(SPEECH, "ps_librivox_0890.wav")
if not (os.path.exists(CALLER) and os.path.exists(CALLEE)):
    skip("../shared/speech is absent (its MANIFEST.tsv lists the utterances used here)")
if not have("sox"):
    skip("sox not installed (scripts/bootstrap installs it)")

res = Results()
work = tmpdir("earshot-redact-")
callee8k = os.path.join(work, "callee.wav")
run(["sox", CALLEE, "-r", "8000", "-c", "1", "-b", "16", callee8k])
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcmu", "--calls", "1",
     "--duration", "8", "--seed", "5", "--audio-caller", CALLER, "--audio-callee", callee8k])


def fresh(name):
    data = os.path.join(work, name)
    p, summary = import_capture(data, pcap)
    assert p.returncode == 0 and summary["recordings"] == 1, p.stderr
    return data


def ledger(data):
    with open(os.path.join(data, "ledger", "entries.log")) as f:
        return [line.rstrip("\n").split("\t") for line in f]


def redactions(data):
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    try:
        return db.execute("SELECT n, channel, original_state, path, original_path"
                          " FROM redactions ORDER BY n").fetchall()
    finally:
        db.close()


def wav(data, name):
    out = os.path.join(work, name)
    earshot(data, "export", "1", "-o", out)
    return read_wav(out)


def span_db(x, rate, a, b, edge=0.03):
    return dbfs(rms(x, int((a + edge) * rate), int((b - edge) * rate)))


data = fresh("restrict")
rate, orig = wav(data, "orig.wav")
rec_before = ledger(data)
orig_path = rec_before[0][4]

# ---- bad input: nothing changes ---------------------------------------------------
for args, word in ((("--from", "5", "--to", "60", "--reason", "x"), "outside"),
                   (("--from", "3", "--to", "3", "--reason", "x"), "before"),
                   (("--from", "1", "--to", "2", "--channel", "agent", "--reason", "x"),
                    "channel"),
                   (("--from", "1", "--to", "2"), "reason"),
                   (("--from", "1", "--to", "2", "--reason", " "), "reason"),
                   (("--from", "1", "--to", "2", "--reason", "x", "--fill", "noise"), "fill"),
                   (("--from", "1", "--to", "2", "--reason", "x", "--original", "burn"),
                    "shred or restrict"),
                   (("--from", "x", "--to", "2", "--reason", "x"), "--from")):
    p = earshot(data, "redact", "1", *args, check=False)
    res.check(p.returncode == 2 and word in p.stderr,
              "redact %s: exit %d, %r" % (" ".join(args), p.returncode, p.stderr.strip()))
p = earshot(data, "redact", "99", "--from", "1", "--to", "2", "--reason", "x", check=False)
res.check(p.returncode == 4, "no such call: exit %d" % p.returncode)
res.check(ledger(data) == rec_before and not redactions(data), "bad input changed nothing")

# ---- a span of the caller made silent, original restricted -----------------------
p = earshot(data, "redact", "1", "--from", "1.0", "--to", "2.5", "--channel", "caller",
            "--reason", "card number read out", "--as", "sup1", check=False)
res.check(p.returncode == 0, "redact: %d %s" % (p.returncode, p.stderr))
rate2, red = wav(data, "red1.wav")
res.check(rate2 == rate and len(red[0]) == len(orig[0]), "same rate and length")
o_c, r_c = span_db(orig[0], rate, 1.0, 2.5), span_db(red[0], rate, 1.0, 2.5)
o_e, r_e = span_db(orig[1], rate, 1.0, 2.5), span_db(red[1], rate, 1.0, 2.5)
o_out, r_out = span_db(orig[0], rate, 3.0, 4.5), span_db(red[0], rate, 3.0, 4.5)
print("redaction 1 (caller, 1.0-2.5 s): caller %.1f -> %.1f dBFS; callee %.1f -> %.1f dBFS; "
      "caller outside the span (3.0-4.5 s) %.1f -> %.1f dBFS" % (o_c, r_c, o_e, r_e, o_out, r_out))
res.check(o_c > -45 and r_c < -60, "caller's span silent: %.1f -> %.1f dBFS" % (o_c, r_c))
res.check(abs(o_e - r_e) < 1.5, "callee's channel untouched: %.1f vs %.1f dBFS" % (o_e, r_e))
res.check(abs(o_out - r_out) < 1.5, "caller outside the span kept: %.1f vs %.1f" % (o_out, r_out))
L = ledger(data)
res.check(len(L) == 3 and L[1][1] == "rec" and L[2][1] == "redact", "leaves: %r" % [x[1] for x in L])
if len(L) == 3:
    res.check(L[2][4] == L[1][4] and L[2][5] == "of=0" and L[2][6] == "span=1000-2500" and
              L[2][7] == "channel=caller", "redact leaf links to the original: %r" % L[2])
rows = redactions(data)
res.check(rows and rows[0][2] == "restricted" and rows[0][4] == orig_path, "index: %r" % rows)
res.check(os.path.exists(os.path.join(data, orig_path)), "restrict keeps the original's file")
p = earshot(data, "verify", "--all", "--json", check=False)
v = json.loads(p.stdout)
res.check(p.returncode == 0 and v["finding_count"] == 0, "verify after redaction: %s" % p.stdout)

# the evidence bundle carries the redacted recording and verifies offline
zpath = os.path.join(work, "evidence.zip")
earshot(data, "export", "1", "--evidence", "-o", zpath)
p = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath], check=False)
res.check(p.returncode == 0 and ".r1." in p.stdout, "evidence of the redacted version verifies: "
          "%d %s" % (p.returncode, p.stdout[-300:]))

# ---- a second redaction on top: a tone on the callee ------------------------------
p = earshot(data, "redact", "1", "--from", "3", "--to", "4", "--channel", "callee", "--fill",
            "tone", "--reason", "address", check=False)
res.check(p.returncode == 0, "second redaction: %d %s" % (p.returncode, p.stderr))
_, red2 = wav(data, "red2.wav")
t_e = span_db(red2[1], rate, 3.0, 4.0)
r2_c = span_db(red2[0], rate, 1.0, 2.5)
print("redaction 2 (callee, tone, 3-4 s): callee %.1f dBFS; the first span stays %.1f dBFS"
      % (t_e, r2_c))
res.check(-36 < t_e < -30, "soft tone on the callee: %.1f dBFS" % t_e)
res.check(r2_c < -55, "the first redaction stays in the second: %.1f dBFS" % r2_c)
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 0, "verify after two redactions: %s" % p.stdout)

# ---- an altered redaction row is found ---------------------------------------------
db = sqlite3.connect(os.path.join(data, "index.sqlite"))
db.execute("UPDATE redactions SET reason = 'nothing to see' WHERE n = 1")
db.commit()
db.close()
p = earshot(data, "verify", "--all", check=False)
res.check(p.returncode == 1 and "differ from what the ledger" in p.stdout,
          "verify finds the altered redaction: %d %s" % (p.returncode, p.stdout))

# ---- shred: refused under a legal hold, then done ----------------------------------
data = fresh("shred")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[redaction]\noriginal = shred\n")
before = ledger(data)
orig_path = before[0][4]
earshot(data, "hold", "add", "case-1", "--reason", "litigation", "--call", "1")
before = ledger(data)
p = earshot(data, "redact", "1", "--from", "1", "--to", "2", "--reason", "pin", "-c", conf,
            check=False)
res.check(p.returncode == 6 and "case-1" in p.stderr, "hold refuses the shred: %d %s"
          % (p.returncode, p.stderr))
res.check(ledger(data) == before and not redactions(data), "refused: nothing changed")
earshot(data, "hold", "release", "case-1", "--reason", "settled")
p = earshot(data, "redact", "1", "--from", "1", "--to", "2", "--reason", "pin", "-c", conf,
            check=False)
res.check(p.returncode == 0 and "shredded" in p.stdout, "shred: %d %s %s"
          % (p.returncode, p.stdout, p.stderr))
L = ledger(data)
res.check(L[-1][1] == "tomb" and L[-1][4] == orig_path and L[-1][5] == "reason=redacted",
          "tombstone names the redaction: %r" % L[-1])
res.check(redactions(data)[0][2] == "shredded", "index: original shredded")
p = earshot(data, "verify", "--all", "--json", check=False)
v = json.loads(p.stdout)
res.check(p.returncode == 0 and v["finding_count"] == 0 and v["shredded_count"] == 1,
          "verify after shred: %s" % p.stdout)
res.finish()
