/* ledger_proof.c - RFC 9162 consistency proofs carried with a signed head
 * (an evidence bundle's consistency.txt): chosen from the ledger's earlier
 * heads, written, parsed, and checked against a head trusted from an
 * anchor (format in ledger.h). */
#include "store/ledger_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONS_NEWEST 16 /* the newest distinct sizes, then 2^k heads back */

static bool have_size(const uint64_t *v, size_t n, uint64_t m)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == m)
			return true;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int st_ledger_consistency_text(const struct st_ledger *l, uint64_t n, const uint64_t *extra,
			       size_t nextra, struct es_buf *out, size_t *count)
{
	size_t nh = l->nheads, at = nh;
	for (size_t i = nh; i-- > 0 && at == nh;)
		if (l->heads[i].size == n)
			at = i;
	if (at == nh || n > l->tree.size)
		return ES_ENOTFOUND;
	/* which earlier heads: a verifier's anchor holds every head, so any
	 * will do; recent ones are the likeliest, older ones thinly */
	uint64_t sizes[ST_CONS_MAX];
	size_t ns = 0, newest = 0;
	for (size_t i = 0; i < nextra && ns < ST_CONS_MAX; i++)
		if (extra[i] > 0 && extra[i] < n && !have_size(sizes, ns, extra[i]))
			sizes[ns++] = extra[i];
	for (size_t i = at; i-- > 0 && ns < ST_CONS_MAX && newest < CONS_NEWEST;) {
		uint64_t m = l->heads[i].size;
		if (m > 0 && m < n && !have_size(sizes, ns, m)) {
			sizes[ns++] = m;
			newest++;
		}
	}
	for (size_t step = 2 * CONS_NEWEST; ns < ST_CONS_MAX; step *= 2) {
		size_t i = step < at ? at - step : 0; /* ... down to the first head */
		uint64_t m = l->heads[i].size;
		if (m > 0 && m < n && !have_size(sizes, ns, m))
			sizes[ns++] = m;
		if (i == 0)
			break;
	}
	qsort(sizes, ns, sizeof(sizes[0]), cmp_u64);
	es_buf_printf(out, ST_CONS_MAGIC "\nsize %" PRIu64 "\n", n);
	for (size_t k = 0; k < ns; k++) {
		uint8_t root[ST_HASH_LEN], proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		char hx[2 * ST_HASH_LEN + 1];
		size_t plen = 0;
		int rc = st_merkle_tree_root(&l->tree, sizes[k], root);
		if (!rc)
			rc = st_merkle_tree_consistency_proof(&l->tree, n, sizes[k], proof, &plen);
		if (rc)
			return rc;
		/* the head of that size must be the leaves' (else the ledger is
		 * damaged and `earshot verify` says where) */
		for (size_t i = 0; i < at; i++)
			if (l->heads[i].size == sizes[k] &&
			    memcmp(l->heads[i].root, root, ST_HASH_LEN) != 0)
				return ES_EFORMAT;
		st_ld_hex_encode(root, ST_HASH_LEN, hx);
		es_buf_printf(out, "from %" PRIu64 " %s\n", sizes[k], hx);
		for (size_t j = 0; j < plen; j++) {
			st_ld_hex_encode(proof[j], ST_HASH_LEN, hx);
			es_buf_printf(out, "%s\n", hx);
		}
	}
	if (count)
		*count = ns;
	return 0;
}

/* "<prefix><decimal>" */
static bool parse_u64_after(struct slice s, const char *prefix, uint64_t *out)
{
	size_t pl = strlen(prefix);
	return s.len > pl && memcmp(s.p, prefix, pl) == 0 && !sl_to_u64(sl_sub(s, pl, s.len), out);
}

int st_cons_parse(const uint8_t *p, size_t len, uint64_t *n, struct st_cons_entry *v, size_t cap,
		  size_t *count, char *err, size_t errlen)
{
	struct slice rest = sl_make((const char *)p, len), line;
	uint64_t lineno = 0;
	struct st_cons_entry *cur = NULL;
	*count = 0;
	if (len == 0 || p[len - 1] != '\n')
		return es_errf(err, errlen, ES_EPARSE, "does not end in a newline");
	rest.len--; /* the final newline: the split below gives every line */
	for (bool more = true; more;) {
		more = sl_split(rest, '\n', &line, &rest);
		lineno++;
		if (lineno == 1) {
			if (!sl_eq(line, SL_LIT(ST_CONS_MAGIC)))
				return es_errf(err, errlen, ES_EPARSE, "line 1: not %s", ST_CONS_MAGIC);
			continue;
		}
		if (lineno == 2) {
			if (!parse_u64_after(line, "size ", n))
				return es_errf(err, errlen, ES_EPARSE, "line 2: want \"size <n>\"");
			continue;
		}
		if (line.len > 5 && memcmp(line.p, "from ", 5) == 0) {
			struct slice a, b;
			uint64_t m;
			if (!sl_split(sl_sub(line, 5, line.len), ' ', &a, &b) || sl_to_u64(a, &m) ||
			    m == 0 || m >= *n || (cur && m <= cur->m))
				return es_errf(err, errlen, ES_EPARSE,
					       "line %" PRIu64 ": want \"from <m> <root>\" with 0 < m < %"
					       PRIu64 ", increasing", lineno, *n);
			if (*count >= cap)
				return es_errf(err, errlen, ES_ELIMIT, "more than %zu proofs", cap);
			cur = &v[(*count)++];
			memset(cur, 0, sizeof(*cur));
			cur->m = m;
			if (!st_ld_hex_decode(b, cur->root, ST_HASH_LEN))
				return es_errf(err, errlen, ES_EPARSE, "line %" PRIu64 ": bad root",
					       lineno);
			continue;
		}
		if (!cur || cur->len >= ST_MERKLE_MAX_PROOF ||
		    !st_ld_hex_decode(line, cur->proof[cur->len], ST_HASH_LEN))
			return es_errf(err, errlen, ES_EPARSE,
				       "line %" PRIu64 ": want a 64-hex hash after a \"from\" line",
				       lineno);
		cur->len++;
	}
	if (lineno < 2)
		return es_errf(err, errlen, ES_EPARSE, "no \"size\" line");
	return 0;
}

enum st_trust st_cons_check(const struct st_head *b, const struct st_cons_entry *v, size_t count,
			    const struct st_head *t, char *why, size_t whylen)
{
	if (t->size > b->size) {
		es_errf(why, whylen, 0,
			"the trusted head of %" PRIu64 " leaves is newer than the bundle's (%" PRIu64
			"): only the recorder can prove it",
			t->size, b->size);
		return ST_TRUST_NEWER;
	}
	if (t->size == b->size) {
		if (memcmp(t->root, b->root, ST_HASH_LEN) == 0) {
			es_errf(why, whylen, 0, "the bundle's head is the trusted head (%" PRIu64
				" leaves, same root)", t->size);
			return ST_TRUST_OK;
		}
		es_errf(why, whylen, 0,
			"forked: the trusted head and the bundle's both have %" PRIu64
			" leaves but other roots",
			t->size);
		return ST_TRUST_FORK;
	}
	if (t->size == 0) {
		es_errf(why, whylen, 0, "the trusted head is of the empty ledger");
		return ST_TRUST_OK;
	}
	const struct st_cons_entry *e = NULL;
	for (size_t i = 0; i < count && !e; i++)
		if (v[i].m == t->size)
			e = &v[i];
	if (!e) {
		es_errf(why, whylen, 0,
			"the bundle carries no consistency proof from %" PRIu64 " leaves", t->size);
		return ST_TRUST_UNPROVEN;
	}
	if (memcmp(e->root, t->root, ST_HASH_LEN) != 0) {
		es_errf(why, whylen, 0,
			"forked: at %" PRIu64 " leaves the bundle's ledger had another root than the "
			"trusted head",
			t->size);
		return ST_TRUST_FORK;
	}
	if (st_merkle_consistency_verify(t->size, b->size, t->root, b->root,
					 (const uint8_t(*)[ST_HASH_LEN])e->proof, e->len) != 0) {
		es_errf(why, whylen, 0,
			"the RFC 9162 consistency proof from %" PRIu64 " to %" PRIu64
			" leaves does not verify with the two signed roots",
			t->size, b->size);
		return ST_TRUST_PROOF;
	}
	es_errf(why, whylen, 0,
		"the bundle's head (%" PRIu64 " leaves) extends the trusted head of %" PRIu64
		" (RFC 9162 consistency proof of %zu hashes)",
		b->size, t->size, e->len);
	return ST_TRUST_OK;
}
