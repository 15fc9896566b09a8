/* txn.c - the recording server's transactions (RFC 3261 17.2): the last
 * response of each server transaction, kept 32 s (64 T1) so that a
 * retransmitted request gets the same answer, oldest dropped first beyond
 * SRS_MAX_TXNS. */
#include "siprec/srs_internal.h"

#include <stdlib.h>
#include <string.h>

struct txn_key {
	struct slice k;
};

static bool txn_eq(const struct es_hnode *n, const void *key)
{
	const struct srs_txn *t = ES_CONTAINER_OF(n, struct srs_txn, node);
	return sl_eq(sl_cstr(t->key), ((const struct txn_key *)key)->k);
}

/* branch|Call-ID|METHOD (RFC 3261 17.2.3 matches the branch with the
 * sent-by; the Call-ID keeps a client that reuses a branch in another call
 * from getting that call's response), or Call-ID|CSeq|METHOD without a
 * magic-cookie branch. */
void srs_txn_key(const struct sip_msg *m, const char *method, char *out, size_t cap)
{
	if (sl_starts_ci(m->via_branch, "z9hG4bK"))
		snprintf(out, cap, "%.*s|%.*s|%s", (int)ES_MIN(m->via_branch.len, 200),
			 m->via_branch.p, (int)ES_MIN(m->call_id.len, 200), m->call_id.p, method);
	else
		snprintf(out, cap, "%.*s|%u|%s", (int)ES_MIN(m->call_id.len, 200), m->call_id.p,
			 m->cseq, method);
}

struct srs_txn *srs_txn_find(struct srs *s, const char *key)
{
	struct txn_key k = {sl_cstr(key)};
	struct es_hnode *n = es_htab_find(&s->txns, srs_hash_sl(k.k), txn_eq, &k);
	return n ? ES_CONTAINER_OF(n, struct srs_txn, node) : NULL;
}

static void txn_unlink(struct srs *s, struct srs_txn *t)
{
	es_htab_remove(&s->txns, &t->node);
	if (t->older)
		t->older->newer = t->newer;
	else
		s->txn_oldest = t->newer;
	if (t->newer)
		t->newer->older = t->older;
	else
		s->txn_newest = t->older;
	s->ntxn--;
	free(t->key);
	es_buf_free(&t->resp);
	free(t);
}

void srs_txn_store(struct srs *s, const char *key, const struct es_buf *resp, bool recorded)
{
	struct srs_txn *t = srs_txn_find(s, key);
	if (t)
		txn_unlink(s, t);
	if (s->ntxn >= SRS_MAX_TXNS)
		txn_unlink(s, s->txn_oldest);
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->key = strdup(key);
	es_buf_init(&t->resp);
	if (!t->key || es_buf_append(&t->resp, resp->p, resp->len) ||
	    es_htab_insert(&s->txns, &t->node, srs_hash_sl(sl_cstr(key)))) {
		free(t->key);
		es_buf_free(&t->resp);
		free(t);
		return;
	}
	t->expires = srs_now_us() + SRS_TXN_US;
	t->recorded = recorded;
	t->older = s->txn_newest;
	if (s->txn_newest)
		s->txn_newest->newer = t;
	else
		s->txn_oldest = t;
	s->txn_newest = t;
	s->ntxn++;
}

void srs_txn_free_all(struct srs *s)
{
	while (s->txn_oldest)
		txn_unlink(s, s->txn_oldest);
}

int64_t srs_txn_expire(struct srs *s, int64_t now)
{
	while (s->txn_oldest && s->txn_oldest->expires <= now)
		txn_unlink(s, s->txn_oldest);
	return s->txn_oldest ? s->txn_oldest->expires : INT64_MAX;
}
