#!/usr/bin/env python3
"""sphinx_wer.py - word error rate and keyword spotting of the built-in
pocketsphinx engine on real recorded speech (docs/SPEECH.md).

Sets: Debian's pocketsphinx-testdata (LibriVox readings, the "go forward"
and "cards" utterances, with their transcripts) and ../shared/speech
(MANIFEST.tsv: references and keywords; already in telephone form).
Forms: the testdata at 16 kHz as shipped, and both sets in 8 kHz G.711
form (sox: to 8 kHz mu-law and back to 16-bit PCM).  Each set and form is
one "call": its utterances one after another with 1 s of silence between,
decoded by one engine run (build/sphinx_run, the worker's own code path:
voice activity cuts, model variant from earshot transcribe
--prepare-model); each word goes to the utterance its middle falls in.

WER: word-level Levenshtein distance over the reference's word count,
summed over the set; text normalised (lower case, letters, digits and
inner apostrophes only, "mr"/"mrs"/"dr" spelled out as the references do).
Keyword spotting: the MANIFEST's keywords of every utterance form one list;
earshot's own matcher (`earshot textan`, [keywords]) runs over each
utterance's words; a hit of a keyword the utterance's reference contains is
a detection, any other hit a false alarm; recall = detections / keywords
listed for their utterances.

usage: sphinx_wer.py [--build DIR] [--shared DIR] [--variants 8k,16k,...]
                     [--sets TEXT] [--json] [--estimate-cmn]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TESTDATA = "/usr/share/pocketsphinx/test/data"
VARIANTS = ["8k", "16k", "16k-live", "16k-cmn"]
GAP_S = 1.0
SPELL = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def norm(text):
    """A text's words for scoring."""
    words = []
    for w in text.lower().split():
        w = re.sub(r"[^a-z0-9']", "", w).strip("'")
        if w:
            words.append(SPELL.get(w, w))
    return words


def edits(ref, hyp):
    """Word-level Levenshtein distance (substitutions, deletions, insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def sox(*args):
    subprocess.run(["sox", "-q", *args], check=True)


def testdata_set(tmp):
    """[(id, wav 16 kHz, reference, keywords)] from pocketsphinx-testdata."""
    if not os.path.isdir(os.path.join(TESTDATA, "librivox")):
        return None
    out = []
    for sub, trans in (("librivox", "transcription"), ("cards", "cards.transcription")):
        for line in open(os.path.join(TESTDATA, sub, trans)):
            m = re.match(r"\s*<s>(.*)</s>\s*\((\S+)\)", line)
            if not m:
                continue
            uid = m.group(2)
            wav = os.path.join(TESTDATA, sub, uid + ".wav")
            out.append((sub + "/" + uid, wav, m.group(1).strip(), []))
    raw = os.path.join(TESTDATA, "goforward.raw")
    wav = os.path.join(tmp, "goforward.wav")
    sox("-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", raw, wav)
    out.append(("goforward", wav, "go forward ten meters", []))
    return out


def shared_set(shared):
    """[(id, wav, reference, keywords)] from ../shared/speech/MANIFEST.tsv."""
    path = os.path.join(shared, "MANIFEST.tsv")
    if not os.path.exists(path):
        return None
    rows = []
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            rows.append((r["utt_id"], os.path.join(shared, r["file"]), r["reference"],
                         r["keywords"].split()))
    return rows


def g711(src, dst, tmp):
    """src in telephone form: 8 kHz, through G.711 mu-law and back."""
    mu = os.path.join(tmp, "mu.wav")
    sox(src, "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", mu)
    sox(mu, "-e", "signed", "-b", "16", dst)


def concat(utts, rate, dst, tmp):
    """One call of the utterances at rate with GAP_S silence between; the
    [(start_s, end_s)] of each."""
    parts, spans, t = [], [], 0.0
    gap = os.path.join(tmp, "gap%d.wav" % rate)
    sox("-n", "-r", str(rate), "-b", "16", "-c", "1", gap, "trim", "0", str(GAP_S))
    for i, (_, wav, _, _) in enumerate(utts):
        p = os.path.join(tmp, "u%d_%d.wav" % (rate, i))
        sox(wav, "-r", str(rate), "-c", "1", "-b", "16", p)
        n = float(subprocess.run(["soxi", "-D", p], capture_output=True, text=True,
                                 check=True).stdout)
        parts += [p, gap]
        spans.append((t, t + n))
        t += n + GAP_S
    sox(*parts, dst)
    return spans


def engine(build, model, wav):
    r = subprocess.run([os.path.join(build, "sphinx_run"), model, wav], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError("sphinx_run %s %s: %s" % (model, wav, r.stderr.strip()))
    return json.loads(r.stdout.splitlines()[0])


def split_words(words, spans):
    """Each word to the utterance its middle falls in (gaps split halfway)."""
    per = [[] for _ in spans]
    for w in words:
        mid = (w["s"] + w["e"]) / 2000.0
        for i, (a, b) in enumerate(spans):
            if a - GAP_S / 2 <= mid < b + GAP_S / 2:
                per[i].append(w)
                break
    return per


def spot(build, words, vocab, tmp):
    """The keywords of vocab that earshot's matcher finds in words."""
    conf = os.path.join(tmp, "kw.ini")
    with open(conf, "w") as f:
        f.write("[keywords spot]\n")
        for k in sorted(vocab):  # a key repeated continues the list
            f.write("phrases = %s\n" % k)
    wj = os.path.join(tmp, "words.json")
    with open(wj, "w") as f:
        json.dump([{"text": w["w"], "start_ms": w["s"], "end_ms": w["e"], "conf": w["c"],
                    "channel": 0} for w in words], f)
    r = subprocess.run([os.path.join(build, "earshot"), "textan", "--words", wj, "-c", conf,
                        "--json"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("earshot textan: " + r.stderr.strip())
    return {h["phrase"] for h in json.loads(r.stdout)["hits"]}


def measure(build, utts, call, spans, model, tmp, kws=True):
    res = engine(build, model, call)
    per = split_words(res["words"], spans)
    errs = nref = 0
    vocab = {k for u in utts for k in u[3]}
    det = want = fa = 0
    rows = []
    for (uid, _, ref, kw), ws in zip(utts, per):
        r, h = norm(ref), norm(" ".join(w["w"] for w in ws))
        e = edits(r, h)
        errs += e
        nref += len(r)
        rows.append({"utt": uid, "ref": " ".join(r), "hyp": " ".join(h), "errors": e})
        if kws and vocab:
            hits = spot(build, ws, vocab, tmp)
            det += len(hits & set(kw))
            want += len(kw)
            fa += len({k for k in hits if k not in r})
    out = {"wer": errs / nref if nref else None, "errors": errs, "words": nref,
           "seconds": res["seconds"], "cpu_s": res["cpu_s"], "utts": rows}
    if kws and vocab:
        out.update(kw_recall=det / want if want else None, kw_found=det, kw_listed=want,
                   kw_false=fa)
    return out


def prepare(build, tmp, variant):
    d = os.path.join(tmp, "model-" + variant)
    if not os.path.isdir(d):
        subprocess.run([os.path.join(build, "earshot"), "transcribe", "--prepare-model", d,
                        "--variant", variant], check=True, capture_output=True)
    return d


def calls(shared, tmp, only=""):
    """{name: (utts, wav, spans)}: the sets in their forms (names with
    `only` in them)."""
    out = {}
    td = testdata_set(tmp)
    if td and only in "testdata 16 kHz":
        c = os.path.join(tmp, "testdata16.wav")
        out["testdata 16 kHz"] = (td, c, concat(td, 16000, c, tmp))
    if td and only in "testdata G.711":
        g = []
        for i, (uid, wav, ref, kw) in enumerate(td):
            p = os.path.join(tmp, "td_g711_%d.wav" % i)
            g711(wav, p, tmp)
            g.append((uid, p, ref, kw))
        c = os.path.join(tmp, "testdata8.wav")
        out["testdata G.711"] = (g, c, concat(g, 8000, c, tmp))
    sh = shared_set(shared) if shared else None
    if sh and only in "shared G.711":
        c = os.path.join(tmp, "shared8.wav")
        out["shared G.711"] = (sh, c, concat(sh, 8000, c, tmp))
    return out


def estimate_cmn(build, shared, tmp):
    """The -cmninit of 16k-cmn: the mean cepstrum of the shared set's
    telephone speech through the stock model's front end at 16 kHz."""
    sh = shared_set(shared)
    model = prepare(build, tmp, "16k")
    r = subprocess.run([os.path.join(build, "sphinx_run"), "--cepstrum", model] +
                       [u[1] for u in sh], capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "speech"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--sets", default="", help="only the sets whose name has this text")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--estimate-cmn", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sphinx-wer-") as tmp:
        if a.estimate_cmn:
            print(estimate_cmn(a.build, a.shared, tmp))
            return 0
        table = []
        for name, (utts, wav, spans) in calls(a.shared, tmp, a.sets).items():
            for v in a.variants.split(","):
                if name.endswith("16 kHz") and v == "8k":
                    continue  # a 16 kHz recording goes to a 16 kHz model
                m = measure(a.build, utts, wav, spans, prepare(a.build, tmp, v), tmp)
                m.update(set=name, variant=v)
                table.append(m)
                if not a.json:
                    kw = ("  kw recall %d/%d, %d false" % (m["kw_found"], m["kw_listed"],
                                                          m["kw_false"])
                          if "kw_found" in m else "")
                    print("%-16s %-9s WER %5.1f %% (%d/%d)  %.1f s audio, %.1f s CPU "
                          "(%.1fx real time)%s" % (name, v, 100 * m["wer"], m["errors"],
                                                   m["words"], m["seconds"], m["cpu_s"],
                                                   m["seconds"] / m["cpu_s"], kw),
                          flush=True)
        if a.json:
            json.dump(table, sys.stdout, indent=1)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
