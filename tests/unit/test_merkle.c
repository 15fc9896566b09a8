/* test_merkle.c - RFC 9162 Merkle tree: known answers and exhaustive
 * self-consistency of proofs.
 *
 * The known answers below were computed independently of this code, with
 * Python's hashlib from the definitions of RFC 9162 2.1, by
 * tests/unit/merkle_vectors.py (run it to regenerate them).  The leaves are
 * "", 00, 10, 2021, 3031, 40414243, 5051..57, 6061..6f. */
#include "check.h"
#include "store/merkle.h"

#include <stdlib.h>

static const char *const leaf_hex[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
	"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
	"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	"4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
	"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	"46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};
static const char *const root_hex[] = { /* sizes 0..8 */
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
static const struct {
	uint64_t index, size;
	const char *path;
} incl_kat[] = {
	{0, 1, ""},
	{0, 8, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	{5, 8, "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6bca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{2, 3, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
	{1, 5, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031ebc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
	{4, 5, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{6, 7, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6ad37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{3, 8, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c1256b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
};
static const struct {
	uint64_t m, n;
	const char *proof;
} cons_kat[] = {
	/* every 0 <= m <= n <= 8 */
	{0, 0, ""},
	{0, 1, ""},
	{1, 1, ""},
	{0, 2, ""},
	{1, 2, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"},
	{2, 2, ""},
	{0, 3, ""},
	{1, 3, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc70298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"},
	{2, 3, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"},
	{3, 3, ""},
	{0, 4, ""},
	{1, 4, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"},
	{2, 4, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"},
	{3, 4, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe707506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
	{4, 4, ""},
	{0, 5, ""},
	{1, 5, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031ebc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
	{2, 5, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031ebc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
	{3, 5, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe707506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
	{4, 5, "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
	{5, 5, ""},
	{0, 6, ""},
	{1, 6, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
	{2, 6, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
	{3, 6, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe707506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c1250ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
	{4, 6, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
	{5, 6, "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{6, 6, ""},
	{0, 7, ""},
	{1, 7, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
	{2, 7, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
	{3, 7, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe707506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
	{4, 7, "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
	{5, 7, "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5fd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{6, 7, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6ab08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5fd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{7, 7, ""},
	{0, 8, ""},
	{1, 8, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc75f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	{2, 8, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	{3, 8, "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe707506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c1256b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	{4, 8, "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	{5, 8, "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{6, 8, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6aca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{7, 8, "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb10ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6ad37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
	{8, 8, ""},
};

static const uint8_t leaf_data[8][16] = {
	{0},
	{0x00},
	{0x10},
	{0x20, 0x21},
	{0x30, 0x31},
	{0x40, 0x41, 0x42, 0x43},
	{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
	{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
	 0x6f},
};
static const size_t leaf_len[8] = {0, 1, 1, 2, 2, 4, 8, 16};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static bool eq_hex(const uint8_t h[ST_HASH_LEN], const char *hex)
{
	uint8_t b[ST_HASH_LEN];
	return unhex(hex, b, sizeof(b)) == ST_HASH_LEN && memcmp(b, h, ST_HASH_LEN) == 0;
}

static uint8_t kat_leaves[8][ST_HASH_LEN];

static void test_kat_leaves_and_roots(void)
{
	for (int i = 0; i < 8; i++) {
		st_merkle_leaf_hash(leaf_data[i], leaf_len[i], kat_leaves[i]);
		CHECK(eq_hex(kat_leaves[i], leaf_hex[i]));
	}
	struct st_merkle_frontier f;
	struct st_merkle_tree t;
	st_merkle_frontier_init(&f);
	st_merkle_tree_init(&t);
	uint8_t r[ST_HASH_LEN];
	for (int n = 0; n <= 8; n++) {
		st_merkle_root((const uint8_t(*)[ST_HASH_LEN])kat_leaves, (uint64_t)n, r);
		CHECK(eq_hex(r, root_hex[n]));
		st_merkle_frontier_root(&f, r);
		CHECK(eq_hex(r, root_hex[n]));
		CHECK_INT(st_merkle_tree_root(&t, (uint64_t)n, r), 0);
		CHECK(eq_hex(r, root_hex[n]));
		if (n < 8) {
			CHECK_INT(st_merkle_frontier_append(&f, kat_leaves[n]), 0);
			CHECK_INT(st_merkle_tree_append(&t, kat_leaves[n]), 0);
		}
	}
	/* every prefix of the level cache, after the fact */
	for (int n = 0; n <= 8; n++) {
		CHECK_INT(st_merkle_tree_root(&t, (uint64_t)n, r), 0);
		CHECK(eq_hex(r, root_hex[n]));
	}
	CHECK_INT(st_merkle_tree_root(&t, 9, r), ES_EINVAL);
	st_merkle_tree_free(&t);
}

static void test_kat_proofs(void)
{
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN], want[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	uint8_t root[ST_HASH_LEN];
	size_t len;
	const uint8_t(*lv)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])kat_leaves;
	for (size_t i = 0; i < ES_ARRAY_LEN(incl_kat); i++) {
		size_t wn = unhex(incl_kat[i].path, &want[0][0], sizeof(want)) / ST_HASH_LEN;
		CHECK_INT(st_merkle_inclusion_proof(lv, incl_kat[i].size, incl_kat[i].index, path, &len), 0);
		CHECK_INT(len, wn);
		CHECK(memcmp(path, want, wn * ST_HASH_LEN) == 0);
		st_merkle_root(lv, incl_kat[i].size, root);
		CHECK_INT(st_merkle_inclusion_verify(kat_leaves[incl_kat[i].index], incl_kat[i].index,
						     incl_kat[i].size, (const uint8_t(*)[ST_HASH_LEN])want,
						     wn, root),
			  0);
	}
	int missed = 0;
	for (size_t i = 0; i < ES_ARRAY_LEN(cons_kat); i++) {
		uint64_t m = cons_kat[i].m, n = cons_kat[i].n;
		size_t wn = unhex(cons_kat[i].proof, &want[0][0], sizeof(want)) / ST_HASH_LEN;
		const uint8_t(*cw)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])want;
		CHECK_INT(st_merkle_consistency_proof(lv, n, m, path, &len), 0);
		CHECK_INT(len, wn);
		CHECK(memcmp(path, want, wn * ST_HASH_LEN) == 0);
		/* verified against the independent roots, not this code's */
		uint8_t rm[ST_HASH_LEN], rn[ST_HASH_LEN];
		unhex(root_hex[m], rm, sizeof(rm));
		unhex(root_hex[n], rn, sizeof(rn));
		CHECK_INT(st_merkle_consistency_verify(m, n, rm, rn, cw, wn), 0);
		if (m == 0 || m == n)
			continue;
		/* the failures a verifier must catch: a wrong old root (the
		 * previous size's, one bit flipped), a wrong new root, a wrong
		 * old or new size, a proof truncated or extended by one hash */
		uint8_t bad[ST_HASH_LEN];
		unhex(root_hex[m - 1], bad, sizeof(bad));
		missed += st_merkle_consistency_verify(m, n, bad, rn, cw, wn) == 0;
		memcpy(bad, rm, ST_HASH_LEN);
		bad[7] ^= 0x10;
		missed += st_merkle_consistency_verify(m, n, bad, rn, cw, wn) == 0;
		unhex(root_hex[n - 1], bad, sizeof(bad));
		missed += st_merkle_consistency_verify(m, n, rm, bad, cw, wn) == 0;
		missed += st_merkle_consistency_verify(m - 1, n, rm, rn, cw, wn) == 0;
		if (m + 1 < n)
			missed += st_merkle_consistency_verify(m + 1, n, rm, rn, cw, wn) == 0;
		/* A proof fixes the roots, not the new size (the signed head
		 * binds size and root together): n - 1 or n + 1 leaves with the
		 * same root may pass, with that size's own root they must not. */
		unhex(root_hex[n - 1], bad, sizeof(bad));
		if (m < n - 1)
			missed += st_merkle_consistency_verify(m, n - 1, rm, bad, cw, wn) == 0;
		if (n < 8) {
			unhex(root_hex[n + 1], bad, sizeof(bad));
			missed += st_merkle_consistency_verify(m, n + 1, rm, bad, cw, wn) == 0;
		}
		missed += st_merkle_consistency_verify(m, n, rm, rn, cw, wn - 1) == 0;
		memcpy(want[wn], rm, ST_HASH_LEN);
		missed += st_merkle_consistency_verify(m, n, rm, rn, cw, wn + 1) == 0;
	}
	CHECK_INT(missed, 0);
}

/* Every proof of every tree up to 64 leaves, from the array and from the
 * level cache, verifies; any single change makes it fail. */
#define NMAX 64
static void test_exhaustive(void)
{
	static uint8_t leaves[NMAX][ST_HASH_LEN];
	uint8_t roots[NMAX + 1][ST_HASH_LEN];
	for (int i = 0; i < NMAX; i++) {
		uint8_t d[4] = {(uint8_t)i, (uint8_t)(i >> 8), 0xa5, 0x5a};
		st_merkle_leaf_hash(d, sizeof(d), leaves[i]);
	}
	const uint8_t(*lv)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])leaves;
	struct st_merkle_tree t;
	st_merkle_tree_init(&t);
	for (int i = 0; i < NMAX; i++)
		CHECK_INT(st_merkle_tree_append(&t, leaves[i]), 0);
	for (int n = 0; n <= NMAX; n++)
		st_merkle_root(lv, (uint64_t)n, roots[n]);
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN], path2[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	const uint8_t(*cp)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])path;
	size_t len, len2;
	int bad_incl = 0, bad_cons = 0, missed = 0;
	for (uint64_t n = 1; n <= NMAX; n++) {
		uint8_t r[ST_HASH_LEN];
		st_merkle_tree_root(&t, n, r);
		if (memcmp(r, roots[n], ST_HASH_LEN))
			bad_incl++;
		for (uint64_t i = 0; i < n; i++) {
			if (st_merkle_inclusion_proof(lv, n, i, path, &len) ||
			    st_merkle_tree_inclusion_proof(&t, n, i, path2, &len2) || len != len2 ||
			    memcmp(path, path2, len * ST_HASH_LEN))
				bad_incl++;
			if (st_merkle_inclusion_verify(leaves[i], i, n, cp, len, roots[n]) != 0)
				bad_incl++;
			/* wrong index, wrong size, wrong root, wrong leaf, flipped bits */
			if (n > 1 && st_merkle_inclusion_verify(leaves[i], (i + 1) % n, n, cp, len,
								roots[n]) == 0)
				missed++;
			/* A path fixes the root, not the size (the signed head binds
			 * both): the same path may fit several sizes with the same
			 * root, but never the head of another size. */
			if (n < NMAX &&
			    st_merkle_inclusion_verify(leaves[i], i, n + 1, cp, len, roots[n + 1]) == 0)
				missed++;
			if (i + 1 < n &&
			    st_merkle_inclusion_verify(leaves[i], i, n - 1, cp, len, roots[n - 1]) == 0)
				missed++;
			if (st_merkle_inclusion_verify(leaves[(i + 1) % NMAX], i, n, cp, len,
						       roots[n]) == 0)
				missed++;
			if (st_merkle_inclusion_verify(leaves[i], i, n, cp, len, roots[n - 1]) == 0)
				missed++;
			for (size_t k = 0; k < len; k++) {
				path[k][(i + k) % ST_HASH_LEN] ^= (uint8_t)(1u << (k % 8));
				if (st_merkle_inclusion_verify(leaves[i], i, n, cp, len, roots[n]) == 0)
					missed++;
				path[k][(i + k) % ST_HASH_LEN] ^= (uint8_t)(1u << (k % 8));
			}
			if (len && st_merkle_inclusion_verify(leaves[i], i, n, cp, len - 1, roots[n]) == 0)
				missed++;
		}
		for (uint64_t m = 0; m <= n; m++) {
			if (st_merkle_consistency_proof(lv, n, m, path, &len) ||
			    st_merkle_tree_consistency_proof(&t, n, m, path2, &len2) || len != len2 ||
			    memcmp(path, path2, len * ST_HASH_LEN))
				bad_cons++;
			if (st_merkle_consistency_verify(m, n, roots[m], roots[n], cp, len) != 0)
				bad_cons++;
			if (m > 0 && m < n) {
				if (st_merkle_consistency_verify(m, n, roots[m], roots[n - 1], cp, len) == 0)
					missed++;
				if (st_merkle_consistency_verify(m - 1, n, roots[m - 1], roots[n], cp, len) == 0)
					missed++;
				if (st_merkle_consistency_verify(m, n, roots[m - 1], roots[n], cp, len) == 0)
					missed++;
				for (size_t k = 0; k < len; k++) {
					path[k][k % ST_HASH_LEN] ^= 0x80;
					if (st_merkle_consistency_verify(m, n, roots[m], roots[n], cp, len) == 0)
						missed++;
					path[k][k % ST_HASH_LEN] ^= 0x80;
				}
				if (st_merkle_consistency_verify(m, n, roots[m], roots[n], cp, len - 1) == 0)
					missed++;
			}
		}
	}
	CHECK_INT(bad_incl, 0);
	CHECK_INT(bad_cons, 0);
	CHECK_INT(missed, 0);
	st_merkle_tree_free(&t);
}

static void test_bounds(void)
{
	uint8_t h[ST_HASH_LEN] = {0}, path[ST_MERKLE_MAX_PROOF + 1][ST_HASH_LEN];
	const uint8_t(*cp)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])path;
	size_t len;
	memset(path, 0, sizeof(path));
	CHECK_INT(st_merkle_inclusion_verify(h, 0, 0, cp, 0, h), ES_EINVAL);
	CHECK_INT(st_merkle_inclusion_verify(h, 5, 5, cp, 0, h), ES_EINVAL);
	CHECK_INT(st_merkle_inclusion_verify(h, 0, 1, cp, ST_MERKLE_MAX_PROOF + 1, h), ES_ELIMIT);
	CHECK_INT(st_merkle_inclusion_verify(h, 0, 1, cp, 0, h), 0); /* a one-leaf tree */
	CHECK_INT(st_merkle_inclusion_verify(h, 0, 1, cp, 1, h), ES_EPARSE);
	CHECK_INT(st_merkle_inclusion_verify(h, 0, UINT64_MAX, cp, ST_MERKLE_MAX_PROOF, h), ES_EPARSE);
	CHECK_INT(st_merkle_consistency_verify(3, 2, h, h, cp, 0), ES_EINVAL);
	CHECK_INT(st_merkle_consistency_verify(2, 3, h, h, cp, 0), ES_EPARSE);
	CHECK_INT(st_merkle_consistency_verify(2, 3, h, h, cp, ST_MERKLE_MAX_PROOF + 1), ES_ELIMIT);
	CHECK_INT(st_merkle_consistency_verify(3, 3, h, h, cp, 0), 0);
	CHECK_INT(st_merkle_consistency_verify(3, 3, h, h, cp, 1), ES_EPARSE);
	CHECK_INT(st_merkle_consistency_verify(0, 3, h, h, cp, 0), ES_EPARSE); /* h is not empty */
	st_merkle_empty_root(path[0]);
	CHECK_INT(st_merkle_consistency_verify(0, 3, path[0], h, cp, 0), 0);
	CHECK_INT(st_merkle_consistency_verify(1, UINT64_MAX, h, h, cp, ST_MERKLE_MAX_PROOF), ES_EPARSE);
	CHECK_INT(st_merkle_inclusion_proof((const uint8_t(*)[ST_HASH_LEN])path, 3, 3, path, &len),
		  ES_EINVAL);
	CHECK_INT(st_merkle_consistency_proof((const uint8_t(*)[ST_HASH_LEN])path, 3, 4, path, &len),
		  ES_EINVAL);
	struct st_merkle_tree t;
	st_merkle_tree_init(&t);
	for (int i = 0; i < 10; i++)
		st_merkle_tree_append(&t, h);
	uint8_t r1[ST_HASH_LEN], r2[ST_HASH_LEN];
	st_merkle_tree_root(&t, 7, r1);
	st_merkle_tree_truncate(&t, 7);
	CHECK_INT(t.size, 7);
	st_merkle_tree_root(&t, 7, r2);
	CHECK(memcmp(r1, r2, ST_HASH_LEN) == 0);
	st_merkle_tree_append(&t, h);
	st_merkle_tree_append(&t, h);
	st_merkle_tree_append(&t, h);
	st_merkle_tree_root(&t, 10, r2);
	CHECK(st_merkle_tree_leaf(&t, 9) != NULL && st_merkle_tree_leaf(&t, 10) == NULL);
	CHECK_INT(st_merkle_tree_inclusion_proof(&t, 11, 0, path, &len), ES_EINVAL);
	st_merkle_tree_free(&t);
}

/* The frontier and the level cache against the reference on a bigger log,
 * and the cost of appends. */
static void test_large(void)
{
	enum { N = 100000 };
	uint8_t(*leaves)[ST_HASH_LEN] = malloc((size_t)N * ST_HASH_LEN);
	CHECK(leaves != NULL);
	if (!leaves)
		return;
	for (uint32_t i = 0; i < N; i++)
		st_merkle_leaf_hash(&i, sizeof(i), leaves[i]);
	struct st_merkle_frontier f;
	st_merkle_frontier_init(&f);
	int64_t t0 = es_mono_us();
	for (uint32_t i = 0; i < N; i++)
		st_merkle_frontier_append(&f, leaves[i]);
	int64_t t1 = es_mono_us();
	uint8_t r1[ST_HASH_LEN], r2[ST_HASH_LEN], r3[ST_HASH_LEN];
	st_merkle_frontier_root(&f, r1);
	st_merkle_root((const uint8_t(*)[ST_HASH_LEN])leaves, N, r2);
	CHECK(memcmp(r1, r2, ST_HASH_LEN) == 0);
	struct st_merkle_tree t;
	st_merkle_tree_init(&t);
	for (uint32_t i = 0; i < N; i++)
		st_merkle_tree_append(&t, leaves[i]);
	st_merkle_tree_root(&t, N, r3);
	CHECK(memcmp(r1, r3, ST_HASH_LEN) == 0);
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t len;
	int bad = 0;
	int64_t t2 = es_mono_us();
	for (uint64_t i = 0; i < N; i += 997) {
		uint64_t size = i + 1 + (N - i - 1) / 2;
		uint8_t r[ST_HASH_LEN];
		st_merkle_tree_root(&t, size, r);
		if (st_merkle_tree_inclusion_proof(&t, size, i, path, &len) ||
		    st_merkle_inclusion_verify(leaves[i], i, size, (const uint8_t(*)[ST_HASH_LEN])path,
					       len, r))
			bad++;
	}
	int64_t t3 = es_mono_us();
	CHECK_INT(bad, 0);
	fprintf(stderr, "merkle: frontier %d appends in %.1f ms; 101 proofs from the level cache "
			"in %.2f ms\n",
		N, (double)(t1 - t0) / 1000.0, (double)(t3 - t2) / 1000.0);
	st_merkle_tree_free(&t);
	free(leaves);
}

int main(void)
{
	RUN(test_kat_leaves_and_roots);
	RUN(test_kat_proofs);
	RUN(test_exhaustive);
	RUN(test_bounds);
	RUN(test_large);
	return CHECK_DONE();
}
