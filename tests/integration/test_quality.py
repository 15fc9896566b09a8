"""Network quality (src/analytics/, docs/QUALITY.md) of generated calls with
known impairments: no loss, 1 % random loss, 5 % loss in bursts (BurstR 2,
gen_calls --burst) and 0..120 ms jitter.  The E-model's values for those
(ITU-T G.107 defaults, G.711 with PLC: 4.41, 4.33, 3.86) come out within
the sampling error of 4 one-minute calls; the order is clean > random >
bursty; jitter is no network loss but the fixed 50 ms buffer loses what
the adaptive one keeps.  Then the index: `earshot calls --max-mos
--min-loss --sort mos` and `show` per direction."""
import math
import os

from estest import BUILD, Results, calls_json, earshot, import_capture, run, show_json, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("bench generator %s not built" % GEN)

# name, seed (distinct Call-IDs in one index), gen_calls options
KINDS = [
    ("clean", 11, []),
    ("random1", 12, ["--loss", "1"]),
    ("burst5", 13, ["--loss", "5", "--burst", "2"]),
    ("jitter", 14, ["--jitter", "120"]),
]


def r_factor(ie, bpl, ppl, burst_r, ta):
    """G.107 with defaults: the same formula as src/analytics/emodel.c,
    written again here from the standard."""
    idd = 0.0
    if ta > 100:
        x = math.log2(ta / 100.0)
        idd = 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
    ie_eff = ie + (95 - ie) * ppl / (ppl / max(burst_r, 1) + bpl) if ppl > 0 else ie
    return max(0.0, min(100.0, 93.2 - idd - ie_eff))


def mos(r):
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r) if 0 < r < 100 else (1 if r <= 0 else 4.5)


def main():
    res = Results()
    work = tmpdir()
    data = os.path.join(work, "data")
    ids = {}
    for name, seed, args in KINDS:
        pcap = os.path.join(work, name + ".pcap")
        run([GEN, "-o", pcap, "--seed", str(seed), "--calls", "4", "--duration", "60"] + args)
        p, _ = import_capture(data, pcap)
        res.check(p.returncode == 0, "%s: import exited %d: %s" % (name, p.returncode, p.stderr))
    calls = calls_json(data)
    res.check(len(calls) == 16, "16 calls indexed, got %d" % len(calls))
    by_seed = {}
    for c in calls:
        res.check(c["quality"] is not None, "call %s has a quality summary" % c["id"])
        by_seed.setdefault(c["call_id"], c)
    # gen_calls numbers its Call-IDs per seed: group by the start of the
    # call list instead (each import is one kind, in KINDS order)
    for i, (name, _, _) in enumerate(KINDS):
        ids[name] = [c["id"] for c in calls if 4 * i < c["id"] <= 4 * i + 4]

    def mean(name, key):
        vals = [c["quality"][key] for c in calls if c["id"] in ids[name] and c["quality"]]
        return sum(vals) / max(len(vals), 1)

    m = {name: mean(name, "mos") for name, _, _ in KINDS}
    loss = {name: mean(name, "loss_pct") for name, _, _ in KINDS}
    print("mean MOS (worst direction, adaptive buffer):", m, "loss %:", loss)
    res.check(abs(m["clean"] - 4.41) < 0.01 and loss["clean"] == 0, "clean calls: MOS 4.41, no loss")
    res.check(abs(loss["random1"] - 1) < 0.5, "random 1 %%: loss %.2f %%" % loss["random1"])
    # the worst direction of 4 calls: a little below the 4.33 of exactly 1 %
    res.check(4.25 <= m["random1"] <= 4.36, "random 1 %%: MOS %.2f near 4.33" % m["random1"])
    res.check(abs(loss["burst5"] - 5) < 1.5, "bursty 5 %%: loss %.2f %%" % loss["burst5"])
    res.check(3.65 <= m["burst5"] <= 3.98, "bursty 5 %%: MOS %.2f near 3.86" % m["burst5"])
    res.check(m["clean"] > m["random1"] > m["burst5"], "MOS order clean > random > bursty")
    res.check(loss["jitter"] == 0, "jitter alone is no network loss")

    # every stream's figures agree with the E-model on its own loss and BurstR
    for name, _, _ in KINDS:
        for cid in ids[name]:
            d = show_json(data, cid)
            for s in d["streams"]:
                q = s["quality"]
                if not res.check(q is not None, "%s call %s: stream quality" % (name, cid)):
                    continue
                a = q["adaptive"]
                want = mos(r_factor(q["ie"], q["bpl"], a["loss_pct"], a["burst_r"], a["ta_ms"]))
                res.check(abs(a["mos"] - want) < 0.011,
                          "%s call %s: adaptive MOS %.2f = E-model %.2f" % (name, cid, a["mos"], want))
                res.check(q["codec"] in ("PCMA", "PCMU") and q["impairment_source"] == "G.113",
                          "%s: G.711 impairments from G.113" % name)
                ser = q["series"]
                res.check(ser["step_ms"] == 5000 and 10 <= len(ser["mos"]) <= 13 and
                          len(ser["loss_pct"]) == len(ser["mos"]) == len(ser["jitter_ms"]),
                          "%s call %s: a 5 s series of about a minute (%d bins)"
                          % (name, cid, len(ser["mos"])))
                if name == "burst5":
                    res.check(a["burst_r"] > 1.4 and q["longest_burst"] >= 3,
                              "bursty: BurstR %.2f, longest run %d" % (a["burst_r"], q["longest_burst"]))
                if name == "random1":
                    res.check(q["burst_r"] < 1.3, "random: BurstR %.2f" % q["burst_r"])
                if name == "jitter":
                    res.check(q["jb50"]["loss_pct"] > 10 and q["jb50"]["mos"] < a["mos"] - 1 and
                              q["jb200"]["loss_pct"] == 0 and q["jitter_p95_ms"] >= 30,
                              "jitter: the 50 ms buffer loses %.1f %%, MOS %.2f < adaptive %.2f; "
                              "200 ms loses none" % (q["jb50"]["loss_pct"], q["jb50"]["mos"], a["mos"]))

    # search and sort
    low = calls_json(data, "--max-mos", "4.0", "--min-loss", "2")
    res.check(sorted(c["id"] for c in low) == sorted(ids["burst5"]),
              "--max-mos 4.0 --min-loss 2: the bursty calls, got %s" % [c["id"] for c in low])
    worst = calls_json(data, "--sort", "mos", "--limit", "4")
    res.check(sorted(c["id"] for c in worst) == sorted(ids["burst5"]),
              "--sort mos: the bursty calls first")
    ms = [c["quality"]["mos"] for c in calls_json(data, "--sort", "mos")]
    res.check(ms == sorted(ms), "--sort mos: ascending")
    p = earshot(data, "calls", "--max-mos", "seven", check=False)
    res.check(p.returncode == 2 and "--max-mos" in p.stderr, "a bad --max-mos is a usage error")
    p = earshot(data, "calls", "--sort", "mos", "--after", "3", check=False)
    res.check(p.returncode == 2, "--sort mos with --after is a usage error")
    text = earshot(data, "show", str(ids["burst5"][0])).stdout
    res.check("Quality (E-model" in text and "caller" in text.split("Quality")[1] and
              "callee" in text.split("Quality")[1], "show prints quality per direction")
    res.finish()


if __name__ == "__main__":
    main()
