#!/usr/bin/env python3
"""Known-answer vectors for tests/unit/test_merkle.c, computed independently
of the C code with hashlib, straight from the definitions of RFC 9162 2.1:
leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r), MTH split at the
largest power of two smaller than n, PATH (2.1.3.1) and PROOF (2.1.4.1).
Run it and paste the output into test_merkle.c."""
import hashlib

LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
          bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]

def h(b): return hashlib.sha256(b).digest()
def leaf(d): return h(b"\x00" + d)
def node(l, r): return h(b"\x01" + l + r)
def k_of(n):
    k = 1
    while k * 2 < n: k *= 2
    return k
def mth(d):
    if len(d) == 0: return h(b"")
    if len(d) == 1: return leaf(d[0])
    k = k_of(len(d))
    return node(mth(d[:k]), mth(d[k:]))
def path(m, d):
    if len(d) <= 1: return []
    k = k_of(len(d))
    if m < k: return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]
def subproof(m, d, b):
    if m == len(d): return [] if b else [mth(d)]
    k = k_of(len(d))
    if m <= k: return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]

print("/* leaf hashes */")
for i, d in enumerate(LEAVES): print('\t"%s",' % leaf(d).hex())
print("/* roots of sizes 0..8 */")
for n in range(0, 9): print('\t"%s",' % mth(LEAVES[:n]).hex())
print("/* inclusion: {index, size, path} */")
for (m, n) in [(0, 1), (0, 8), (5, 8), (2, 3), (1, 5), (4, 5), (6, 7), (3, 8)]:
    print('\t{%d, %d, "%s"},' % (m, n, "".join(x.hex() for x in path(m, LEAVES[:n]))))
print("/* consistency: {m, n, proof}, every 0 <= m <= n <= 8 */")
for (m, n) in [(m, n) for n in range(0, 9) for m in range(0, n + 1)]:
    if m == 0 or m == n:
        print('\t{%d, %d, ""},' % (m, n))
        continue
    print('\t{%d, %d, "%s"},' % (m, n, "".join(x.hex() for x in subproof(m, LEAVES[:n], True))))
