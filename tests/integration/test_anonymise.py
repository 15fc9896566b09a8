"""Voice anonymisation of exports (`earshot export --anonymise`, the
McAdams-coefficient LPC method, docs/ANONYMISATION.md) on real speech
(../shared/speech): a call whose caller speaks a LibriSpeech utterance and
whose callee a CMU ARCTIC prompt is recorded (G.711, WAV), exported as is
and with the caller anonymised.  The anonymised caller's formants (LPC F1/F2)
and pitch track (autocorrelation F0) differ measurably from the original,
while its word timing stays (energy envelopes aligned at lag 0 and
correlated, onsets within 40 ms, the same length to the sample); the
callee's channel is the original's, sample for sample.  Bad options are
usage errors naming the option."""
import os

from audiometrics import (envelope_match, f0_change, onset_match, read_wav, voice_profile)
from estest import BUILD, SOURCE, Results, earshot, have, import_capture, run, skip, tmpdir

SPEECH = os.path.normpath(os.path.join(SOURCE, "..", "shared", "speech"))
CALLER = os.path.join(SPEECH, "ls_61_70968_0000.wav")
CALLEE = os.path.join(SPEECH, "arctic_aew_a0001.wav")
if not (os.path.exists(CALLER) and os.path.exists(CALLEE)):
    skip("../shared/speech is absent (its MANIFEST.tsv lists the utterances used here)")
if not have("sox"):
    skip("sox not installed (scripts/bootstrap installs it)")

res = Results()
work = tmpdir("earshot-anon-")
callee8k = os.path.join(work, "callee.wav")
run(["sox", CALLEE, "-r", "8000", "-c", "1", "-b", "16", callee8k])
pcap = os.path.join(work, "c.pcap")
run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcmu", "--calls", "1",
     "--duration", "8", "--seed", "3", "--audio-caller", CALLER, "--audio-callee", callee8k])
data = os.path.join(work, "data")
p, summary = import_capture(data, pcap, extra=("--format", "wav"))
if not res.check(p.returncode == 0 and summary and summary["recordings"] == 1,
                 "import: %d %s" % (p.returncode, p.stderr)):
    res.finish()

orig, anon = os.path.join(work, "orig.wav"), os.path.join(work, "anon.wav")
earshot(data, "export", "1", "-o", orig)
earshot(data, "export", "1", "-o", anon, "--anonymise", "caller", "--alpha", "0.8")
rate, o = read_wav(orig)
rate2, a = read_wav(anon)
res.check(rate == rate2 and len(o) == len(a) == 2, "rate/channels %d/%d vs %d/%d"
          % (rate, len(o), rate2, len(a)))
res.check(len(o[0]) == len(a[0]), "length: %d samples, anonymised %d" % (len(o[0]), len(a[0])))
res.check(o[1] == a[1], "the callee's channel (not asked for) is untouched")

po, pa = voice_profile(o[0], rate), voice_profile(a[0], rate)
df1 = (pa["f1"] - po["f1"]) / po["f1"]
df2 = (pa["f2"] - po["f2"]) / po["f2"]
df0_median = (pa["f0"] - po["f0"]) / po["f0"]
df0_frames, still_voiced = f0_change(o[0], a[0], rate)
lag, corr = envelope_match(o[0], a[0], rate)
ons, hit = onset_match(o[0], a[0], rate)
print("caller (LibriSpeech 61-70968-0000, 8 kHz, alpha 0.8):")
print("  formants: F1 %.0f -> %.0f Hz (%+.0f %%), F2 %.0f -> %.0f Hz (%+.0f %%)"
      % (po["f1"], pa["f1"], 100 * df1, po["f2"], pa["f2"], 100 * df2))
print("  pitch: median F0 %.1f -> %.1f Hz (%+.1f %%); frame by frame |dF0|/F0 %.1f %%; "
      "%.0f %% of voiced frames still found voiced"
      % (po["f0"], pa["f0"], 100 * df0_median, 100 * df0_frames, 100 * still_voiced))
print("  timing: energy envelope best lag %+.0f ms, correlation %.3f; onsets %d/%d within 40 ms; "
      "length %d = %d samples" % (1000 * lag, corr, hit, len(ons), len(o[0]), len(a[0])))
res.check(abs(df1) >= 0.10 or abs(df2) >= 0.10,
          "formants moved by at least 10 %%: F1 %+.2f, F2 %+.2f" % (df1, df2))
res.check(abs(df0_median) >= 0.02 or df0_frames >= 0.03 or still_voiced <= 0.9,
          "pitch track differs measurably: median %+.3f, frame-wise %.3f, voiced %.2f"
          % (df0_median, df0_frames, still_voiced))
res.check(abs(lag) <= 0.02 and corr >= 0.85, "word timing kept: lag %.3f s, correlation %.3f"
          % (lag, corr))
res.check(hit == len(ons) and ons, "onsets kept: %d of %r" % (hit, ons))

# bad input: usage errors that name the option, nothing written
bad = os.path.join(work, "bad.wav")
for args, word in ((("--anonymise", "agent"), "--anonymise"),
                   (("--anonymise", "caller", "--alpha", "3"), "--alpha"),
                   (("--alpha", "0.8"), "--alpha"),
                   (("--anonymise", "both", "--evidence"), "--anonymise")):
    p = earshot(data, "export", "1", "-o", bad, *args, check=False)
    res.check(p.returncode == 2 and word in p.stderr and not os.path.exists(bad),
              "export %s: exit %d, %r" % (" ".join(args), p.returncode, p.stderr.strip()))
res.finish()
