/*
 * merkle.h - the Merkle tree of RFC 9162 (Certificate Transparency v2) over
 * SHA-256: leaf and interior hashes, tree heads of n leaves, an O(log n)
 * incremental builder (the frontier), a level cache for fast proofs, and
 * inclusion and consistency proofs with their RFC verification algorithms.
 *
 * Hashes are plain arrays of ST_HASH_LEN bytes; a list of hashes is a
 * pointer to uint8_t[ST_HASH_LEN].  Proofs have at most ST_MERKLE_MAX_PROOF
 * hashes (trees of up to 2^64 leaves), so a caller can keep one on the
 * stack: uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN].  Nothing here
 * allocates except st_merkle_tree.
 *
 * Error codes: ES_EINVAL for an impossible argument (leaf index >= tree
 * size, m > n, a NULL pointer), ES_ELIMIT for a proof longer than
 * ST_MERKLE_MAX_PROOF, ES_EPARSE for a proof that does not prove what it
 * claims (wrong length, wrong hashes, root mismatch), ES_ENOMEM.
 */
#ifndef ES_STORE_MERKLE_H
#define ES_STORE_MERKLE_H

#include "core/core.h"

#define ST_HASH_LEN 32
#define ST_MERKLE_MAX_PROOF 64

/* RFC 9162 2.1.1: SHA-256(0x00 || data). */
void st_merkle_leaf_hash(const void *data, size_t len, uint8_t out[ST_HASH_LEN]);
/* RFC 9162 2.1.1: SHA-256(0x01 || left || right); out may alias either. */
void st_merkle_node_hash(const uint8_t left[ST_HASH_LEN], const uint8_t right[ST_HASH_LEN],
			 uint8_t out[ST_HASH_LEN]);
/* The head of the empty tree: SHA-256 of the empty string. */
void st_merkle_empty_root(uint8_t out[ST_HASH_LEN]);

/* ---- over a plain array of n leaf hashes (reference, O(n) per call) ---- */

/* MTH(D[n]) of the leaf hashes leaves[0..n). */
void st_merkle_root(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint8_t out[ST_HASH_LEN]);
/* RFC 9162 2.1.3.1: the audit path of leaf index in the tree of the first
 * n leaves, written to path (room for ST_MERKLE_MAX_PROOF), *len hashes. */
int st_merkle_inclusion_proof(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint64_t index,
			      uint8_t (*path)[ST_HASH_LEN], size_t *len);
/* RFC 9162 2.1.4.1: the consistency proof from the first m leaves to the
 * first n (m <= n); empty when m == 0 or m == n. */
int st_merkle_consistency_proof(const uint8_t (*leaves)[ST_HASH_LEN], uint64_t n, uint64_t m,
				uint8_t (*proof)[ST_HASH_LEN], size_t *len);

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2), no allocation ------- */

/* 0 when path proves that leaf_hash is leaf index of the tree of size
 * leaves whose head is root. */
int st_merkle_inclusion_verify(const uint8_t leaf_hash[ST_HASH_LEN], uint64_t index,
			       uint64_t size, const uint8_t (*path)[ST_HASH_LEN], size_t len,
			       const uint8_t root[ST_HASH_LEN]);
/* 0 when proof shows that the tree of size m with head root_m is a prefix
 * of the tree of size n with head root_n.  m == n needs an empty proof and
 * equal roots; m == 0 needs an empty proof and root_m the empty root. */
int st_merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[ST_HASH_LEN],
				 const uint8_t root_n[ST_HASH_LEN],
				 const uint8_t (*proof)[ST_HASH_LEN], size_t len);

/* ---- frontier: O(log n) state incremental builder ----------------------
 * node[i] holds the head of the complete subtree of 2^i leaves when bit i
 * of size is set.  Caller-owned; zero it or call st_merkle_frontier_init. */
struct st_merkle_frontier {
	uint64_t size;
	uint8_t node[64][ST_HASH_LEN];
};
void st_merkle_frontier_init(struct st_merkle_frontier *f);
/* ES_ELIMIT when the tree already has 2^64-1 leaves. */
int st_merkle_frontier_append(struct st_merkle_frontier *f, const uint8_t leaf[ST_HASH_LEN]);
void st_merkle_frontier_root(const struct st_merkle_frontier *f, uint8_t out[ST_HASH_LEN]);

/* ---- level cache: every complete aligned subtree, ~2n hashes ------------
 * Append is amortised O(1); the head of any prefix is O(log n) and proofs
 * O(log^2 n), for logs that serve proofs often (the ledger).  Caller-owned
 * struct, st_merkle_tree_init / st_merkle_tree_free; the arrays are owned
 * by the tree. */
struct st_merkle_level {
	uint8_t (*h)[ST_HASH_LEN];
	uint64_t len, cap;
};
struct st_merkle_tree {
	uint64_t size;
	struct st_merkle_level lv[64];
};
void st_merkle_tree_init(struct st_merkle_tree *t);
void st_merkle_tree_free(struct st_merkle_tree *t);
int st_merkle_tree_append(struct st_merkle_tree *t, const uint8_t leaf[ST_HASH_LEN]);
/* Drop leaves from the end, back to size (for a failed append). */
void st_merkle_tree_truncate(struct st_merkle_tree *t, uint64_t size);
/* Leaf hash i (i < size), pointing into the tree. */
const uint8_t *st_merkle_tree_leaf(const struct st_merkle_tree *t, uint64_t i);
/* The head of the tree of its first size leaves (size <= t->size). */
int st_merkle_tree_root(const struct st_merkle_tree *t, uint64_t size, uint8_t out[ST_HASH_LEN]);
/* As st_merkle_inclusion_proof over the first size leaves. */
int st_merkle_tree_inclusion_proof(const struct st_merkle_tree *t, uint64_t size, uint64_t index,
				   uint8_t (*path)[ST_HASH_LEN], size_t *len);
/* As st_merkle_consistency_proof from m to n leaves (n <= t->size). */
int st_merkle_tree_consistency_proof(const struct st_merkle_tree *t, uint64_t n, uint64_t m,
				     uint8_t (*proof)[ST_HASH_LEN], size_t *len);

#endif /* ES_STORE_MERKLE_H */
