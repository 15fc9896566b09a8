/* ledger_verify.c - checking a ledger folder from disk: every leaf
 * re-hashed, every signed head (signature, root, RFC 9162 consistency with
 * the one before), and whether the ledger extends a head trusted from
 * outside the data folder (an anchor). */
#include "store/ledger_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ENTRIES ST_LD_ENTRIES
#define HEADS ST_LD_HEADS

/* ---- verification ------------------------------------------------------------------ */

#define VERIFY_MAX_REPORTS 100 /* per file; the rest are only counted */

struct vctx {
	struct st_ledger *l;
	st_ledger_report_fn report;
	void *ctx;
	uint64_t problems, reported;
	struct st_merkle_tree t;
	bool have_prev;
	struct st_head prev;
	uint64_t prev_line, good_size, good_line;
};

static void finding(struct vctx *v, const char *file, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finding(struct vctx *v, const char *file, uint64_t line, const char *fmt, ...)
{
	v->problems++;
	if (!v->report || v->reported++ >= VERIFY_MAX_REPORTS)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->report(v->ctx, file, line, msg);
}

static int verify_entry(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct vctx *v = ctx;
	struct st_ledger_entry e;
	char why[128];
	uint8_t leaf[ST_HASH_LEN];
	(void)off;
	/* the leaf is the line whatever it holds, so that later heads can
	 * still be checked against the rest */
	st_merkle_leaf_hash(p, len, leaf);
	if (st_merkle_tree_append(&v->t, leaf))
		return ES_ENOMEM;
	if (st_ledger_entry_parse(p, len, &e, why, sizeof(why)))
		finding(v, ENTRIES, lineno, "malformed entry: %s", why);
	else if (e.seq != lineno - 1)
		finding(v, ENTRIES, lineno,
			"sequence %" PRIu64 ", expected %" PRIu64 " (a line is missing or out of order)",
			e.seq, lineno - 1);
	if (lineno - 1 < v->l->tree.size &&
	    memcmp(leaf, st_merkle_tree_leaf(&v->l->tree, lineno - 1), ST_HASH_LEN) != 0)
		finding(v, ENTRIES, lineno, "the line changed since the ledger was opened");
	return 0;
}

static void check_root(struct vctx *v, const struct st_head *h, uint64_t lineno)
{
	uint8_t root[ST_HASH_LEN];
	if (h->size > v->t.size) {
		finding(v, HEADS, lineno,
			"the head covers %" PRIu64 " leaves but entries.log has %" PRIu64
			" (lines were removed)",
			h->size, v->t.size);
		return;
	}
	st_merkle_tree_root(&v->t, h->size, root);
	if (memcmp(root, h->root, ST_HASH_LEN) == 0) {
		if (h->size >= v->good_size) {
			v->good_size = h->size;
			v->good_line = lineno;
		}
		return;
	}
	if (v->good_line)
		finding(v, HEADS, lineno,
			"the root does not match the first %" PRIu64 " leaves: entries.log lines %" PRIu64
			"..%" PRIu64 " were changed (or this head was), since the good head of heads.log "
			"line %" PRIu64,
			h->size, v->good_size + 1, h->size, v->good_line);
	else
		finding(v, HEADS, lineno,
			"the root does not match the first %" PRIu64 " leaves: entries.log lines 1..%" PRIu64
			" were changed (or this head was)",
			h->size, h->size);
}

static int verify_head(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct vctx *v = ctx;
	struct st_head h;
	char why[128];
	(void)off;
	if (st_head_parse(p, len, &h, why, sizeof(why))) {
		finding(v, HEADS, lineno, "malformed tree head: %s", why);
		return 0;
	}
	if (memcmp(h.key_id, v->l->pk, ST_LEDGER_KEYID_LEN) != 0) {
		char a[17], b[17];
		st_ld_hex_encode(h.key_id, ST_LEDGER_KEYID_LEN, a);
		st_ld_hex_encode(v->l->pk, ST_LEDGER_KEYID_LEN, b);
		finding(v, HEADS, lineno, "signed by key id %s, not by this ledger's key %s", a, b);
	} else if (st_head_verify(&h, v->l->pk) != 0) {
		finding(v, HEADS, lineno, "the signature does not verify with ledger.pub");
	}
	check_root(v, &h, lineno);
	if (v->have_prev) {
		const struct st_head *q = &v->prev;
		if (h.size < q->size)
			finding(v, HEADS, lineno,
				"the tree shrinks from %" PRIu64 " to %" PRIu64 " leaves", q->size, h.size);
		if (h.time_us < q->time_us)
			finding(v, HEADS, lineno, "the time goes back from the previous head");
		uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		size_t plen;
		if (h.size >= q->size && h.size <= v->t.size &&
		    (st_merkle_tree_consistency_proof(&v->t, h.size, q->size, proof, &plen) ||
		     st_merkle_consistency_verify(q->size, h.size, q->root, h.root,
						  (const uint8_t(*)[ST_HASH_LEN])proof, plen)))
			finding(v, HEADS, lineno,
				"not consistent with the head of line %" PRIu64
				" (RFC 9162 consistency proof %" PRIu64 " -> %" PRIu64 " fails)",
				v->prev_line, q->size, h.size);
	}
	v->prev = h;
	v->prev_line = lineno;
	v->have_prev = true;
	return 0;
}

static int verify_file(struct vctx *v, int fd, const char *name, st_ld_line_fn fn)
{
	if (fd < 0)
		return 0; /* read-only ledger without this file: empty */
	struct es_buf b;
	es_buf_init(&b);
	uint64_t end, torn;
	int rc = st_ld_slurp(fd, &b);
	v->reported = 0;
	if (!rc)
		rc = st_ld_each_line(&b, fn, v, &end, &torn);
	es_buf_free(&b);
	if (!rc && torn)
		finding(v, name, 0, "a torn last line of %" PRIu64 " bytes (no newline) is ignored",
			torn);
	return rc;
}

int st_ledger_verify(struct st_ledger *l, st_ledger_report_fn report, void *ctx,
		     uint64_t *problems)
{
	struct vctx v = {.l = l, .report = report, .ctx = ctx};
	st_merkle_tree_init(&v.t);
	int rc = verify_file(&v, l->efd, ENTRIES, verify_entry);
	if (!rc && v.t.size != l->tree.size)
		finding(&v, ENTRIES, 0,
			"%" PRIu64 " leaves on disk, %" PRIu64 " when the ledger was opened or appended",
			v.t.size, l->tree.size);
	if (!rc)
		rc = verify_file(&v, l->hfd, HEADS, verify_head);
	if (!rc) {
		v.reported = 0;
		if (!v.have_prev && v.t.size)
			finding(&v, HEADS, 0, "no signed head covers the %" PRIu64 " leaves", v.t.size);
		else if (v.have_prev && v.prev.size < v.t.size)
			finding(&v, ENTRIES, v.prev.size + 1,
				"entries.log lines %" PRIu64 "..%" PRIu64
				" are not covered by a signed head (not committed)",
				v.prev.size + 1, v.t.size);
	}
	st_merkle_tree_free(&v.t);
	if (problems)
		*problems = v.problems;
	if (rc)
		return rc;
	return v.problems ? ES_EFORMAT : 0;
}

/* ---- a head trusted from outside the data folder ---------------------------------- */

static void time_str(int64_t us, char *buf, size_t cap)
{
	time_t t = (time_t)(us / ES_US_PER_SEC);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRId64 " us", us);
}

enum st_trust st_ledger_check_trusted(const struct st_ledger *l, const struct st_head *t,
				      char *why, size_t whylen)
{
	char when[32], a[65], b[65];
	time_str(t->time_us, when, sizeof(when));
	if (memcmp(t->key_id, l->pk, ST_LEDGER_KEYID_LEN) != 0) {
		st_ld_hex_encode(t->key_id, ST_LEDGER_KEYID_LEN, a);
		st_ld_hex_encode(l->pk, ST_LEDGER_KEYID_LEN, b);
		es_errf(why, whylen, 0,
			"the trusted head of %s is signed by key id %s, this ledger's key is %s "
			"(ledger.pub was replaced, or the head is another recorder's)",
			when, a, b);
		return ST_TRUST_KEY;
	}
	if (st_head_verify(t, l->pk) != 0) {
		es_errf(why, whylen, 0,
			"the trusted head of %s does not verify with ledger.pub: it is not a head "
			"this ledger signed", when);
		return ST_TRUST_KEY;
	}
	uint64_t leaves = l->tree.size;
	if (t->size > leaves) {
		es_errf(why, whylen, 0,
			"truncated: the trusted head of %s covers %" PRIu64 " leaves, the ledger has %"
			PRIu64 ": entries.log lines %" PRIu64 "..%" PRIu64 " were removed (or an older "
			"copy was restored)",
			when, t->size, leaves, leaves + 1, t->size);
		return ST_TRUST_TRUNCATED;
	}
	uint8_t root[ST_HASH_LEN];
	st_merkle_tree_root(&l->tree, t->size, root);
	if (memcmp(root, t->root, ST_HASH_LEN) != 0) {
		st_ld_hex_encode(root, ST_HASH_LEN, a);
		st_ld_hex_encode(t->root, ST_HASH_LEN, b);
		es_errf(why, whylen, 0,
			"forked: the first %" PRIu64 " leaves hash to %s, the trusted head of %s says "
			"%s: leaves the anchor saw were replaced (an older copy restored and grown "
			"again, or entries rewritten)",
			t->size, a, when, b);
		return ST_TRUST_FORK;
	}
	const struct st_head *n = l->nheads ? &l->heads[l->nheads - 1] : NULL;
	if (!n || n->size < t->size) {
		es_errf(why, whylen, 0,
			"truncated: the trusted head of %s covers %" PRIu64 " leaves, the ledger's "
			"newest signed head only %" PRIu64 " (heads.log was cut)",
			when, t->size, n ? n->size : 0);
		return ST_TRUST_TRUNCATED;
	}
	/* RFC 9162 2.1.4: what a remote verifier would be sent, checked the way
	 * it would check it, against the two signed roots */
	uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t plen = 0;
	int rc = n->size <= leaves
			 ? st_merkle_tree_consistency_proof(&l->tree, n->size, t->size, proof, &plen)
			 : ES_EINVAL;
	if (!rc)
		rc = st_merkle_consistency_verify(t->size, n->size, t->root, n->root,
						  (const uint8_t(*)[ST_HASH_LEN])proof, plen);
	if (rc) {
		es_errf(why, whylen, 0,
			"the RFC 9162 consistency proof from the trusted head (%" PRIu64
			" leaves, %s) to the newest signed head (%" PRIu64 " leaves) fails: that "
			"head's root does not match the leaves",
			t->size, when, n->size);
		return ST_TRUST_PROOF;
	}
	es_errf(why, whylen, 0,
		"extends the trusted head of %s: %" PRIu64 " leaves then, %" PRIu64
		" in the newest signed head (consistency proof of %zu hashes verified)",
		when, t->size, n->size, plen);
	return ST_TRUST_OK;
}
