"""Speech measurements for the redaction and anonymisation tests (Python
standard library only): reading a channel of a WAV, RMS over a span, an
autocorrelation pitch (F0) tracker, LPC formants (F1, F2) and voice
activity onsets from the energy envelope."""
import math
import struct
import wave


def read_wav(path):
    """(rate, [channel samples...]) of a 16-bit PCM WAV."""
    w = wave.open(path, "rb")
    rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
    raw = w.readframes(n)
    w.close()
    v = struct.unpack("<%dh" % (len(raw) // 2), raw)
    return rate, [list(v[c::ch]) for c in range(ch)]


def rms(x, a=0, b=None):
    seg = x[a:b]
    return math.sqrt(sum(s * s for s in seg) / len(seg)) if seg else 0.0


def dbfs(v):
    return 20 * math.log10(max(v, 1e-3) / 32768.0)


def frames(x, rate, win_s, hop_s):
    n, h = int(rate * win_s), int(rate * hop_s)
    for i in range(0, len(x) - n, h):
        yield i, x[i:i + n]


def energy_db(x, rate, hop_s=0.01):
    return [dbfs(rms(f)) for _, f in frames(x, rate, hop_s, hop_s)]


def onsets(x, rate, hop_s=0.01, gap_s=0.12):
    """Times (s) where the energy rises above (peak - 30 dB) after at least
    gap_s below it: the starts of words and phrases."""
    env = energy_db(x, rate, hop_s)
    if not env:
        return []
    thr = max(env) - 30
    out, quiet = [], gap_s
    for i, e in enumerate(env):
        if e >= thr:
            if quiet >= gap_s:
                out.append(i * hop_s)
            quiet = 0.0
        else:
            quiet += hop_s
    return out


def pitch(f, rate, fmin=70, fmax=350):
    """F0 (Hz) of a frame by normalised autocorrelation, or None (unvoiced)."""
    m = sum(f) / len(f)
    f = [s - m for s in f]
    e0 = sum(s * s for s in f)
    if e0 <= 0:
        return None
    best, lag = 0.0, 0
    for k in range(int(rate / fmax), int(rate / fmin) + 1):
        c = sum(f[i] * f[i + k] for i in range(len(f) - k))
        c /= math.sqrt(e0 * sum(s * s for s in f[k:]) + 1e-9)
        if c > best:
            best, lag = c, k
    return rate / lag if best > 0.5 and lag else None


def lpc(f, order):
    n = len(f)
    w = [f[i] * (0.54 - 0.46 * math.cos(2 * math.pi * i / (n - 1))) for i in range(n)]
    r = [sum(w[i] * w[i - k] for i in range(k, n)) for k in range(order + 1)]
    if r[0] <= 0:
        return None
    a, err = [1.0] + [0.0] * order, r[0] * (1 + 1e-6)
    for i in range(1, order + 1):
        k = -(r[i] + sum(a[j] * r[i - j] for j in range(1, i))) / err
        a = [a[j] + k * a[i - j] if 0 < j < i else a[j] for j in range(order + 1)]
        a[i] = k
        err *= 1 - k * k
    return a


def formants(f, rate, order=10, bins=256):
    """F1 and F2 (Hz): the first two peaks of the LPC envelope above 200 Hz."""
    a = lpc(f, order)
    if not a:
        return None
    mag = []
    for b in range(bins):
        w = math.pi * b / bins
        re = sum(a[k] * math.cos(w * k) for k in range(len(a)))
        im = -sum(a[k] * math.sin(w * k) for k in range(len(a)))
        mag.append(-10 * math.log10(re * re + im * im + 1e-12))
    peaks = [b * rate / 2 / bins for b in range(1, bins - 1)
             if mag[b] > mag[b - 1] and mag[b] >= mag[b + 1] and b * rate / 2 / bins > 200]
    return (peaks[0], peaks[1]) if len(peaks) >= 2 else None


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float("nan")


def voice_profile(x, rate):
    """Median F0 and median F1/F2 over the voiced frames (40 ms, 20 ms hop)."""
    f0s, f1s, f2s = [], [], []
    thr = max(energy_db(x, rate, 0.04) or [0]) - 25
    for _, f in frames(x, rate, 0.04, 0.02):
        if dbfs(rms(f)) < thr:
            continue
        p = pitch(f, rate)
        if p is None:
            continue
        f0s.append(p)
        fm = formants(f, rate, order=10 if rate <= 8000 else 18)
        if fm:
            f1s.append(fm[0])
            f2s.append(fm[1])
    return {"f0": median(f0s), "f1": median(f1s), "f2": median(f2s), "voiced": len(f0s)}


def f0_track(x, rate):
    """Per 20 ms hop: F0 of the 40 ms frame there, or None."""
    thr = max(energy_db(x, rate, 0.04) or [0]) - 25
    return [pitch(f, rate) if dbfs(rms(f)) >= thr else None
            for _, f in frames(x, rate, 0.04, 0.02)]


def f0_change(a, b, rate):
    """Mean |F0 difference| / F0 over frames voiced in both, and the share of
    the original's voiced frames the other still finds voiced."""
    ta, tb = f0_track(a, rate), f0_track(b, rate)
    both = [(p, q) for p, q in zip(ta, tb) if p and q]
    voiced = sum(1 for p in ta if p)
    if not both:
        return float("nan"), 0.0
    return sum(abs(p - q) / p for p, q in both) / len(both), len(both) / max(voiced, 1)


def envelope_match(a, b, rate, hop_s=0.01, max_lag_s=0.1):
    """Lag (s) of the best cross-correlation of the two dB energy envelopes
    within +-max_lag_s, and the correlation there."""
    ea, eb = energy_db(a, rate, hop_s), energy_db(b, rate, hop_s)
    n = min(len(ea), len(eb))
    ea, eb = ea[:n], eb[:n]
    ma, mb = sum(ea) / n, sum(eb) / n
    best = (-2.0, 0)
    for lag in range(-int(max_lag_s / hop_s), int(max_lag_s / hop_s) + 1):
        pairs = [(ea[i] - ma, eb[i + lag] - mb) for i in range(max(0, -lag), min(n, n - lag))]
        num = sum(p * q for p, q in pairs)
        den = math.sqrt(sum(p * p for p, _ in pairs) * sum(q * q for _, q in pairs)) or 1
        if num / den > best[0]:
            best = (num / den, lag)
    return best[1] * hop_s, best[0]


def onset_match(a, b, rate, tol_s=0.04):
    """The onsets of a, and how many of them b has within tol_s."""
    oa, ob = onsets(a, rate, gap_s=0.05), onsets(b, rate, gap_s=0.05)
    hit = sum(1 for t in oa if any(abs(t - u) <= tol_s for u in ob))
    return oa, hit
