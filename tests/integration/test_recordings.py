"""Recordings from real captures (../shared/captures): every call with audio
gets one file that outside tools read back (ffprobe), whose duration
matches its streams and whose SHA-256 is the index's; the right codecs are
decoded; calls without audio get none; one-directional audio is flagged.
Then export (copy, WAV, FLAC, mono mix), the hash check on export, and
`earshot play` where there is no sound device."""
import hashlib
import json
import os
import shutil

from estest import (SHARED, Results, calls_json, earshot, have, import_capture, plain_recording, run,
                    skip, tmpdir)

if not os.path.isdir(SHARED):
    skip("../shared/captures not present: recordings of shared captures not tested")
if not have("ffprobe"):
    skip("ffprobe not installed (scripts/bootstrap installs ffmpeg)")

res = Results()

# capture -> (codec expected in the recording, rate, one-sided?)
EXPECT = {
    "SIP_CALL_RTP_G711": ("PCMA", 8000, False),
    "sip-rtp-g722.pcap": ("G722", 16000, True),
    "sip-rtp-g729a.pcap": ("G729", 8000, True),
    "invite-opus-bye.pcap": ("opus", 16000, False),
    "sip-over-tcp.pcap": ("PCMA", 8000, None),
    "SIP_DTMF2.cap": ("PCMA", 8000, None),
    "register-invite-reinvite-bye.pcap": ("opus", 16000, None),
    "codec-negotiation.pcap": ("G722", 16000, None),
}
NO_AUDIO = ["sip-488-codec-reject.pcapng", "DTMFsipinfo.pcap"]


def ffprobe(path):
    p = run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             path], check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def stream_times(data, call_id):
    """first/last of each stream in microseconds, from the index itself."""
    db = os.path.join(data, "index.sqlite")
    p = run(["sqlite3", db, "SELECT first_us, last_us, codecs FROM streams WHERE call_row = %d"
             % call_id])
    out = []
    for line in p.stdout.splitlines():
        a, b, codecs = line.split("|")
        if codecs and codecs != "telephone-event":
            out.append((int(a), int(b)))
    return out


checked_export = False
for name, (codec, rate, one_sided) in sorted(EXPECT.items()):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        res.skip("%s missing" % name)
        continue
    data = tmpdir()
    p, summary = import_capture(data, path)
    if not res.check(p.returncode == 0, "%s: import exited %d: %s" % (name, p.returncode, p.stderr)):
        continue
    calls = calls_json(data)
    recorded = [c for c in calls if c["recording"]]
    res.check(summary["recordings"] == len(recorded) and recorded,
              "%s: %d recordings in the summary, %d in the index" %
              (name, summary["recordings"], len(recorded)))
    res.check(summary["recording_errors"] == 0, "%s: recording errors %r" % (name, summary))
    res.check(not os.listdir(os.path.join(data, "spool")),
              "%s: media logs left in the spool: %r" % (name, os.listdir(os.path.join(data, "spool"))))
    for c in recorded:
        r = c["recording"]
        f = os.path.join(data, r["path"])
        what = "%s call %s (%s)" % (name, c["id"], r["path"])
        if not res.check(os.path.isfile(f), "%s: file missing" % what):
            continue
        res.check(r["path"].startswith("recordings/") and r["path"].count("/") == 4,
                  "%s: not in a dated folder" % what)
        res.check(os.path.getsize(f) == r["bytes"], "%s: size %d, index %d" %
                  (what, os.path.getsize(f), r["bytes"]))
        res.check(sha256(f) == r["sha256"], "%s: SHA-256 differs from the index" % what)
        res.check(r["path"].endswith(".opus.enc"), "%s: not stored encrypted" % what)
        plain = plain_recording(data, c["id"], os.path.join(data, "plain-%s.opus" % c["id"]))
        info = ffprobe(plain)
        if not res.check(info is not None, "%s: ffprobe cannot read it" % what):
            continue
        st = info["streams"][0]
        res.check(st["codec_name"] == "opus" and st["channels"] == 2,
                  "%s: ffprobe sees %s/%s channels" % (what, st["codec_name"], st["channels"]))
        dur = float(info["format"]["duration"])
        res.check(abs(dur - r["duration_s"]) <= 0.04,
                  "%s: ffprobe duration %.3f s, index %.3f s" % (what, dur, r["duration_s"]))
        times = stream_times(data, c["id"])
        span = (max(b for a, b in times) - min(a for a, b in times)) / 1e6 if times else 0
        # the last packet's own length (20-60 ms) comes after its capture time
        res.check(-0.04 <= r["duration_s"] - span <= 0.1,
                  "%s: recording %.3f s, media %.3f s" % (what, r["duration_s"], span))
        res.check(codec in (r["codecs"] or "").split(","),
                  "%s: codecs %r, expected %s" % (what, r["codecs"], codec))
        res.check(r["rate"] == rate, "%s: rate %d, expected %d" % (what, r["rate"], rate))
        if one_sided is not None:
            res.check(("one_sided" in r["flags"]) == one_sided,
                      "%s: flags %r, one-sided expected %s" % (what, r["flags"], one_sided))
        print("%s: %s %.2f s %d Hz %s %d bytes flags %s" %
              (what, r["format"], r["duration_s"], r["rate"], r["codecs"], r["bytes"], r["flags"]))

    if name == "SIP_CALL_RTP_G711" and recorded:
        checked_export = True
        cid = str(recorded[0]["id"])
        rec = recorded[0]["recording"]
        out = tmpdir()
        # same format: the plaintext, byte for byte (the stored file is encrypted)
        o = os.path.join(out, "copy.opus")
        earshot(data, "export", cid, "-o", o)
        res.check(rec["encrypted"] and sha256(o) == rec["plain_sha256"],
                  "export copy differs from the recording's plaintext")
        # WAV and FLAC, stereo and mixed
        for fname, extra, channels in (("x.wav", [], 2), ("x.flac", [], 2),
                                       ("m.wav", ["--mix"], 1), ("m.flac", ["--mix"], 1),
                                       ("f.ogg", ["--format", "wav"], 2)):
            o = os.path.join(out, fname)
            p = earshot(data, "export", cid, "-o", o, *extra, check=False)
            if not res.check(p.returncode == 0, "export %s %r: %s" % (fname, extra, p.stderr)):
                continue
            info = ffprobe(o)
            if not res.check(info is not None, "export %s unreadable" % fname):
                continue
            st = info["streams"][0]
            want = "pcm_s16le" if fname.endswith(".wav") or "wav" in extra else "flac"
            res.check(st["codec_name"] == want and st["channels"] == channels and
                      int(st["sample_rate"]) == 8000,
                      "export %s: %s %s ch %s Hz" % (fname, st["codec_name"], st["channels"],
                                                     st["sample_rate"]))
            dur = float(info["format"]["duration"])
            res.check(abs(dur - rec["duration_s"]) <= 0.04,
                      "export %s: %.3f s, recording %.3f s" % (fname, dur, rec["duration_s"]))
        if have("soxi"):
            p = run(["soxi", "-c", os.path.join(out, "x.flac")], check=False)
            res.check(p.stdout.strip() == "2", "soxi reads the FLAC export: %r" % p.stdout)
        # usage and lookup errors
        p = earshot(data, "export", cid, check=False)
        res.check(p.returncode == 2, "export without -o: exit %d" % p.returncode)
        p = earshot(data, "export", "999999", "-o", os.path.join(out, "n.wav"), check=False)
        res.check(p.returncode == 4, "export of a missing call: exit %d" % p.returncode)
        # (mp3 is a format since issue #18: test_exports.py)
        p = earshot(data, "export", cid, "-o", os.path.join(out, "n.aac"), "--format", "aac",
                    check=False)
        res.check(p.returncode == 2 and "aac" in p.stderr, "export --format aac: %d %s" %
                  (p.returncode, p.stderr))
        # play: no sound device in a test machine, said plainly
        p = earshot(data, "play", cid, check=False)
        if os.path.exists("/dev/snd") or os.environ.get("PULSE_SERVER"):
            res.skip("this machine has a sound device: play not checked")
        else:
            res.check(p.returncode == 5 and "no sound device" in p.stderr,
                      "play without a device: exit %d %s" % (p.returncode, p.stderr))
        # an altered file is refused on export
        f = os.path.join(data, rec["path"])
        with open(f, "r+b") as fh:
            fh.seek(os.path.getsize(f) // 2)
            b = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([b[0] ^ 0x55]))
        p = earshot(data, "export", cid, "-o", os.path.join(out, "t.wav"), check=False)
        res.check(p.returncode == 1 and "altered" in p.stderr and not
                  os.path.exists(os.path.join(out, "t.wav")),
                  "export of an altered file: exit %d %s" % (p.returncode, p.stderr))
        shutil.rmtree(out)
    shutil.rmtree(data)
res.check(checked_export, "the export checks ran")

for name in NO_AUDIO:
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        continue
    data = tmpdir()
    p, summary = import_capture(data, path)
    calls = calls_json(data)
    res.check(p.returncode == 0 and calls and all(c["recording"] is None for c in calls),
              "%s: calls without audio must have no recording" % name)
    rec_dir = os.path.join(data, "recordings")
    res.check(not os.path.exists(rec_dir) or not any(files for _, _, files in os.walk(rec_dir)),
              "%s: files written for calls without audio" % name)
    if calls:
        p = earshot(data, "export", str(calls[0]["id"]), "-o", os.path.join(data, "x.wav"),
                    check=False)
        res.check(p.returncode == 4 and "no recording" in p.stderr,
                  "%s: export without a recording: %d %s" % (name, p.returncode, p.stderr))
    shutil.rmtree(data)

res.finish()
