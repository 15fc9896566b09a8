#!/usr/bin/env python3
"""bench/search_shapes.py - p50/p95 per search shape from index_search --each files (rows,
digest, ms, query a line), several engines side by side, and whether they returned the same
rows (count and Call-ID digest) for every search.  docs/PERFORMANCE.md (issue #16).
usage: bench/search_shapes.py NAME=EACH_FILE [NAME=EACH_FILE ...]"""
import sys
from urllib.parse import parse_qs


def shape(q):
    """The search's shape: what decides its plan."""
    a = parse_qs(q)
    if "party" in a:
        p = a["party"][0]
        return "party: a number" if p.lstrip("+").isdigit() else "party: a name"
    for k in ("tag", "min_duration", "outcome"):
        if k in a:
            return "no party: " + k
    return "no party: time range only"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, len(v) * p // 100)] if v else float("nan")


runs = []
for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
    runs.append((name, rows))
shapes = sorted({shape(r[3]) for _, rows in runs for r in rows})
hdr = "| ms: p50 / **p95** (searches) | " + " | ".join(n for n, _ in runs) + " |"
print(hdr)
print("|" + " --- |" * (len(runs) + 1))
for s in ["all"] + shapes:
    cells = []
    for _, rows in runs:
        ms = [float(r[2]) for r in rows if s == "all" or shape(r[3]) == s]
        cells.append("%.0f / **%.0f** (%d)" % (pct(ms, 50), pct(ms, 95), len(ms)))
    print("| %s | %s |" % (s, " | ".join(cells)))
if len(runs) > 1:
    base = [(r[0], r[1], r[3]) for r in runs[0][1]]
    for name, rows in runs[1:]:
        other = [(r[0], r[1], r[3]) for r in rows]
        diff = [(a, b) for a, b in zip(base, other) if a != b]
        same = not diff and len(base) == len(other)
        print("\n%s against %s: %s" % (name, runs[0][0], "same rows for all %d searches" % len(base)
                                         if same else "%d searches differ, e.g. %s" % (
                                             len(diff) + abs(len(base) - len(other)),
                                             diff[:2])))
