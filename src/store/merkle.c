/* merkle.c - RFC 9162 Merkle tree hashes, proofs and their verification. */
#include "store/merkle.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void st_merkle_leaf_hash(const void *data, size_t len, uint8_t out[ST_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void st_merkle_node_hash(const uint8_t left[ST_HASH_LEN], const uint8_t right[ST_HASH_LEN],
			 uint8_t out[ST_HASH_LEN])
{
	uint8_t buf[1 + 2 * ST_HASH_LEN];
	buf[0] = 0x01;
	memcpy(buf + 1, left, ST_HASH_LEN);
	memcpy(buf + 1 + ST_HASH_LEN, right, ST_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

void st_merkle_empty_root(uint8_t out[ST_HASH_LEN])
{
	crypto_hash_sha256(out, (const uint8_t *)"", 0);
}

/* The largest power of two strictly smaller than n (n >= 2): RFC 9162's k. */
static uint64_t split_point(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* ---- proofs over any source of subtree heads ------------------------------ */

/* Writes MTH(D[start : start+n]) of the source to out; n >= 1, and the range
 * is always a subtree of RFC 9162's recursive split. */
typedef void (*range_fn)(const void *ctx, uint64_t start, uint64_t n, uint8_t out[ST_HASH_LEN]);

static int push_range(range_fn f, const void *ctx, uint64_t start, uint64_t n,
		      uint8_t (*out)[ST_HASH_LEN], size_t *len)
{
	if (*len >= ST_MERKLE_MAX_PROOF)
		return ES_ELIMIT;
	f(ctx, start, n, out[*len]);
	(*len)++;
	return 0;
}

/* RFC 9162 2.1.3.1 PATH(m, D[start : start+n]). */
static int path_gen(range_fn f, const void *ctx, uint64_t start, uint64_t n, uint64_t m,
		    uint8_t (*out)[ST_HASH_LEN], size_t *len)
{
	if (n <= 1)
		return 0;
	uint64_t k = split_point(n);
	int rc;
	if (m < k) {
		if ((rc = path_gen(f, ctx, start, k, m, out, len)))
			return rc;
		return push_range(f, ctx, start + k, n - k, out, len);
	}
	if ((rc = path_gen(f, ctx, start + k, n - k, m - k, out, len)))
		return rc;
	return push_range(f, ctx, start, k, out, len);
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[start : start+n], b). */
static int subproof_gen(range_fn f, const void *ctx, uint64_t start, uint64_t n, uint64_t m,
			bool b, uint8_t (*out)[ST_HASH_LEN], size_t *len)
{
	if (m == n)
		return b ? 0 : push_range(f, ctx, start, n, out, len);
	uint64_t k = split_point(n);
	int rc;
	if (m <= k) {
		if ((rc = subproof_gen(f, ctx, start, k, m, b, out, len)))
			return rc;
		return push_range(f, ctx, start + k, n - k, out, len);
	}
	if ((rc = subproof_gen(f, ctx, start + k, n - k, m - k, false, out, len)))
		return rc;
	return push_range(f, ctx, start, k, out, len);
}

static int inclusion_gen(range_fn f, const void *ctx, uint64_t n, uint64_t index,
			 uint8_t (*path)[ST_HASH_LEN], size_t *len)
{
	if (!path || !len || index >= n)
		return ES_EINVAL;
	*len = 0;
	return path_gen(f, ctx, 0, n, index, path, len);
}

static int consistency_gen(range_fn f, const void *ctx, uint64_t n, uint64_t m,
			   uint8_t (*proof)[ST_HASH_LEN], size_t *len)
{
	if (!proof || !len || m > n)
		return ES_EINVAL;
	*len = 0;
	if (m == 0 || m == n)
		return 0;
	return subproof_gen(f, ctx, 0, n, m, true, proof, len);
}

/* ---- plain arrays ------------------------------------------------------------ */

static void array_range(const void *ctx, uint64_t start, uint64_t n, uint8_t out[ST_HASH_LEN])
{
	const uint8_t (*leaves)[ST_HASH_LEN] = ctx;
	if (n == 1) {
		memcpy(out, leaves[start], ST_HASH_LEN);
		return;
	}
	uint64_t k = split_point(n);
	uint8_t l[ST_HASH_LEN], r[ST_HASH_LEN];
	array_range(ctx, start, k, l);
	array_range(ctx, start + k, n - k, r);
	st_merkle_node_hash(l, r, out);
}

void st_merkle_root(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint8_t out[ST_HASH_LEN])
{
	if (n == 0)
		st_merkle_empty_root(out);
	else
		array_range(leaves, 0, n, out);
}

int st_merkle_inclusion_proof(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint64_t index,
			      uint8_t (*path)[ST_HASH_LEN], size_t *len)
{
	if (!leaves)
		return ES_EINVAL;
	return inclusion_gen(array_range, leaves, n, index, path, len);
}

int st_merkle_consistency_proof(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint64_t m,
				uint8_t (*proof)[ST_HASH_LEN], size_t *len)
{
	if (!leaves && n)
		return ES_EINVAL;
	return consistency_gen(array_range, leaves, n, m, proof, len);
}

/* ---- verification -------------------------------------------------------------- */

/* RFC 9162 2.1.3.2 */
int st_merkle_inclusion_verify(const uint8_t leaf_hash[ST_HASH_LEN], uint64_t index,
			       uint64_t size, const uint8_t (*path)[ST_HASH_LEN], size_t len,
			       const uint8_t root[ST_HASH_LEN])
{
	if (!leaf_hash || !root || (len && !path))
		return ES_EINVAL;
	if (len > ST_MERKLE_MAX_PROOF)
		return ES_ELIMIT;
	if (index >= size)
		return ES_EINVAL;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[ST_HASH_LEN];
	memcpy(r, leaf_hash, ST_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return ES_EPARSE;
		if ((fn & 1) || fn == sn) {
			st_merkle_node_hash(path[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			st_merkle_node_hash(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, ST_HASH_LEN) != 0)
		return ES_EPARSE;
	return 0;
}

/* RFC 9162 2.1.4.2; when m is a power of two, first_hash is prepended to
 * the path (index 0 of the virtual path below). */
int st_merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[ST_HASH_LEN],
				 const uint8_t root_n[ST_HASH_LEN],
				 const uint8_t (*proof)[ST_HASH_LEN], size_t len)
{
	if (!root_m || !root_n || (len && !proof))
		return ES_EINVAL;
	if (len > ST_MERKLE_MAX_PROOF)
		return ES_ELIMIT;
	if (m > n)
		return ES_EINVAL;
	if (m == 0 || m == n) {
		uint8_t empty[ST_HASH_LEN];
		st_merkle_empty_root(empty);
		if (len != 0)
			return ES_EPARSE;
		if (m == 0)
			return memcmp(root_m, empty, ST_HASH_LEN) == 0 ? 0 : ES_EPARSE;
		return memcmp(root_m, root_n, ST_HASH_LEN) == 0 ? 0 : ES_EPARSE;
	}
	if (len == 0)
		return ES_EPARSE;
	bool pow2 = (m & (m - 1)) == 0;
	size_t total = len + (pow2 ? 1 : 0);
#define PATH_AT(i) (pow2 ? ((i) == 0 ? root_m : proof[(i)-1]) : proof[(i)])
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[ST_HASH_LEN], sr[ST_HASH_LEN];
	memcpy(fr, PATH_AT(0), ST_HASH_LEN);
	memcpy(sr, PATH_AT(0), ST_HASH_LEN);
	for (size_t i = 1; i < total; i++) {
		const uint8_t *c = PATH_AT(i);
		if (sn == 0)
			return ES_EPARSE;
		if ((fn & 1) || fn == sn) {
			st_merkle_node_hash(c, fr, fr);
			st_merkle_node_hash(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			st_merkle_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
#undef PATH_AT
	if (sn != 0 || memcmp(fr, root_m, ST_HASH_LEN) != 0 || memcmp(sr, root_n, ST_HASH_LEN) != 0)
		return ES_EPARSE;
	return 0;
}

/* ---- frontier -------------------------------------------------------------------- */

void st_merkle_frontier_init(struct st_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int st_merkle_frontier_append(struct st_merkle_frontier *f, const uint8_t leaf[ST_HASH_LEN])
{
	if (f->size == UINT64_MAX)
		return ES_ELIMIT;
	uint8_t carry[ST_HASH_LEN];
	memcpy(carry, leaf, ST_HASH_LEN);
	unsigned i = 0;
	while ((f->size >> i) & 1) {
		st_merkle_node_hash(f->node[i], carry, carry);
		i++;
	}
	memcpy(f->node[i], carry, ST_HASH_LEN);
	f->size++;
	return 0;
}

void st_merkle_frontier_root(const struct st_merkle_frontier *f, uint8_t out[ST_HASH_LEN])
{
	if (f->size == 0) {
		st_merkle_empty_root(out);
		return;
	}
	unsigned lo = (unsigned)__builtin_ctzll(f->size);
	uint8_t r[ST_HASH_LEN];
	memcpy(r, f->node[lo], ST_HASH_LEN);
	for (unsigned i = lo + 1; i < 64; i++)
		if ((f->size >> i) & 1)
			st_merkle_node_hash(f->node[i], r, r);
	memcpy(out, r, ST_HASH_LEN);
}

/* ---- level cache --------------------------------------------------------------------- */

void st_merkle_tree_init(struct st_merkle_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void st_merkle_tree_free(struct st_merkle_tree *t)
{
	for (unsigned j = 0; j < 64; j++)
		free(t->lv[j].h);
	memset(t, 0, sizeof(*t));
}

static int level_push(struct st_merkle_level *lv, const uint8_t h[ST_HASH_LEN])
{
	if (lv->len == lv->cap) {
		uint64_t cap = lv->cap ? lv->cap * 2 : 64;
		if (cap > SIZE_MAX / ST_HASH_LEN)
			return ES_ENOMEM;
		void *p = realloc(lv->h, (size_t)cap * ST_HASH_LEN);
		if (!p)
			return ES_ENOMEM;
		lv->h = p;
		lv->cap = cap;
	}
	memcpy(lv->h[lv->len++], h, ST_HASH_LEN);
	return 0;
}

int st_merkle_tree_append(struct st_merkle_tree *t, const uint8_t leaf[ST_HASH_LEN])
{
	if (t->size == UINT64_MAX)
		return ES_ELIMIT;
	uint64_t old = t->size;
	int rc = level_push(&t->lv[0], leaf);
	for (unsigned j = 0; rc == 0 && j < 63 && t->lv[j].len % 2 == 0; j++) {
		uint8_t h[ST_HASH_LEN];
		const struct st_merkle_level *lv = &t->lv[j];
		st_merkle_node_hash(lv->h[lv->len - 2], lv->h[lv->len - 1], h);
		rc = level_push(&t->lv[j + 1], h);
	}
	if (rc) {
		st_merkle_tree_truncate(t, old);
		return rc;
	}
	t->size++;
	return 0;
}

void st_merkle_tree_truncate(struct st_merkle_tree *t, uint64_t size)
{
	if (size > t->size)
		return;
	for (unsigned j = 0; j < 64; j++)
		if (t->lv[j].len > (size >> j))
			t->lv[j].len = size >> j;
	t->size = size;
}

const uint8_t *st_merkle_tree_leaf(const struct st_merkle_tree *t, uint64_t i)
{
	return i < t->size ? t->lv[0].h[i] : NULL;
}

/* A subtree of the RFC split is a run of complete aligned subtrees of
 * decreasing size; its head folds them from the right. */
static void tree_range(const void *ctx, uint64_t start, uint64_t n, uint8_t out[ST_HASH_LEN])
{
	const struct st_merkle_tree *t = ctx;
	unsigned lvl[128];
	uint64_t idx[128];
	size_t k = 0;
	while (n > 0 && k < 128) {
		unsigned j = 63 - (unsigned)__builtin_clzll(n);
		if (start) {
			unsigned a = (unsigned)__builtin_ctzll(start);
			if (a < j)
				j = a;
		}
		lvl[k] = j;
		idx[k] = start >> j;
		k++;
		start += UINT64_C(1) << j;
		n -= UINT64_C(1) << j;
	}
	uint8_t r[ST_HASH_LEN];
	memcpy(r, t->lv[lvl[k - 1]].h[idx[k - 1]], ST_HASH_LEN);
	for (size_t i = k - 1; i-- > 0;)
		st_merkle_node_hash(t->lv[lvl[i]].h[idx[i]], r, r);
	memcpy(out, r, ST_HASH_LEN);
}

int st_merkle_tree_root(const struct st_merkle_tree *t, uint64_t size, uint8_t out[ST_HASH_LEN])
{
	if (size > t->size)
		return ES_EINVAL;
	if (size == 0)
		st_merkle_empty_root(out);
	else
		tree_range(t, 0, size, out);
	return 0;
}

int st_merkle_tree_inclusion_proof(const struct st_merkle_tree *t, uint64_t size, uint64_t index,
				   uint8_t (*path)[ST_HASH_LEN], size_t *len)
{
	if (size > t->size)
		return ES_EINVAL;
	return inclusion_gen(tree_range, t, size, index, path, len);
}

int st_merkle_tree_consistency_proof(const struct st_merkle_tree *t, uint64_t n, uint64_t m,
				     uint8_t (*proof)[ST_HASH_LEN], size_t *len)
{
	if (n > t->size)
		return ES_EINVAL;
	return consistency_gen(tree_range, t, n, m, proof, len);
}
