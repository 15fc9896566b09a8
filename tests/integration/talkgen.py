"""Generated calls with known speech spans for the talk metrics' tests
(test_talk.py, test_talk_ui.py): 16-bit WAVs with tone bursts (or given
samples) in chosen spans over a -60 dBFS hiss, sent through gen_calls as
G.711 A-law; each call's parties numbered by its seed."""
import math
import os
import random
import struct
import wave

from estest import BUILD, run

RATE = 8000


def write_wav(path, spans, total_s, rate=RATE, amp=8000, freq=440, src=None):
    """16-bit mono: a tone (or src's samples) in each (start_s, end_s) span,
    a -60 dBFS hiss elsewhere."""
    rnd = random.Random(7)
    n = int(total_s * rate)
    x = [int(rnd.uniform(-30, 30)) for _ in range(n)]
    for k, (s, e) in enumerate(spans):
        a, b = int(s * rate), min(n, int(e * rate))
        for i in range(a, b):
            if src is not None:
                if i - a < len(src[k]):
                    x[i] = src[k][i - a]
            else:
                x[i] = int(amp * math.sin(2 * math.pi * freq * i / rate))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % n, *x))


def gen_call(work, name, caller, callee, total_s, seed, src=(None, None), rate=RATE):
    """One call's capture; its parties' numbers come from seed (+4930555 and
    +4940666 with seed in 5 digits), so calls of distinct seeds have
    distinct parties and an agent's scope (their numbers) is a real test."""
    wa, wb = os.path.join(work, name + "_a.wav"), os.path.join(work, name + "_b.wav")
    write_wav(wa, caller, total_s, rate, src=src[0])
    write_wav(wb, callee, total_s, rate, freq=700, src=src[1])
    pcap = os.path.join(work, name + ".pcap")
    run([os.path.join(BUILD, "gen_calls"), "-o", pcap, "--codec", "pcma", "--calls", "1",
         "--duration", str(total_s), "--seed", str(seed), "--party-base", str(seed % 100000),
         "--audio-caller", wa,
         "--audio-callee", wb])
    return pcap


def near(a, b, tol=100):
    return a is not None and abs(a - b) <= tol


# ---- generated calls with known spans ---------------------------------------------
# A: caller 0.5-4.0, 6.0-9.0, 20.0-23.0, 23.5-27.0; callee 3.5-6.5, 8.5-12.0
#   overtalk 3.5-4.0, 6.0-6.5, 8.5-9.0: 1.5 s in 3; the callee interrupts at
#   3.5 and 8.5 (the caller stops 0.5 s later, the callee goes on), the
#   caller at 6.0; dead air 12.0-20.0 (8 s); the caller's longest monologue
#   20.0-27.0 (a 0.5 s pause inside), the callee's 9.0-12.0 after the caller
#   stopped counts from its start: 8.5-12.0 = 3.5 s.
A = ([(0.5, 4.0), (6.0, 9.0), (20.0, 23.0), (23.5, 27.0)], [(3.5, 6.5), (8.5, 12.0)])
# B: polite turns, no overtalk, the callee talks most, no long silence
B = ([(1.0, 2.5), (9.0, 10.0)], [(3.5, 8.5), (10.5, 12.0)])
