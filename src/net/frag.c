/*
 * frag.c - IPv4 (RFC 791) and IPv6 (RFC 8200 4.5) fragment reassembly.
 *
 * Pending datagrams live in a hash table keyed by (family, proto, src, dst,
 * id) and in a list ordered by arrival of their first fragment, which is
 * the order they time out in.  Memory is bounded by the configured byte cap
 * (buffers plus bookkeeping) and by a cap on pending datagrams.
 * Overlapping fragments never overwrite bytes already received (first copy
 * wins), so a later overlap cannot change data a reader might have trusted;
 * fragments that contradict the datagram's length drop the datagram.
 */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DATAGRAM 65535u /* payload bytes after the IP header */
#define MAX_RANGES 64       /* disjoint received ranges per datagram */
#define MAX_PENDING 4096    /* datagrams being reassembled */

struct range {
	uint32_t s, e; /* [s, e) */
};

struct frag_ent {
	struct es_hnode hn;
	struct net_frag_key key;
	struct frag_ent *prev, *next; /* by first arrival */
	int64_t first_ts;
	uint8_t *buf;
	size_t cap;
	uint32_t total; /* known when have_last */
	bool have_last;
	bool have_first;
	uint8_t nh;
	int nr;
	struct range r[MAX_RANGES + 1];
};

struct net_frag {
	struct es_htab tab;
	struct frag_ent *head, *tail;
	size_t bytes;
	size_t max_bytes;
	size_t n;
	int64_t timeout;
};

int net_frag_new(struct net_frag **out, size_t max_bytes, int64_t timeout_us)
{
	*out = NULL;
	struct net_frag *f = calloc(1, sizeof(*f));
	if (!f)
		return ES_ENOMEM;
	if (es_htab_init(&f->tab, 64)) {
		free(f);
		return ES_ENOMEM;
	}
	f->max_bytes = max_bytes;
	f->timeout = timeout_us;
	*out = f;
	return 0;
}

static size_t ent_cost(const struct frag_ent *e)
{
	return sizeof(*e) + e->cap;
}

static void ent_drop(struct net_frag *f, struct frag_ent *e)
{
	es_htab_remove(&f->tab, &e->hn);
	if (e->prev)
		e->prev->next = e->next;
	else
		f->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		f->tail = e->prev;
	f->bytes -= ent_cost(e);
	f->n--;
	free(e->buf);
	free(e);
}

void net_frag_free(struct net_frag *f)
{
	if (!f)
		return;
	while (f->head)
		ent_drop(f, f->head);
	es_htab_free(&f->tab);
	free(f);
}

void net_frag_expire(struct net_frag *f, struct net_stats *st, int64_t now_us)
{
	while (f->head && net_ts_older(now_us, f->head->first_ts, f->timeout)) {
		ent_drop(f, f->head);
		st->frag_expired++;
	}
}

static bool key_eq(const struct es_hnode *n, const void *key)
{
	const struct frag_ent *e = ES_CONTAINER_OF(n, struct frag_ent, hn);
	return memcmp(&e->key, key, sizeof(e->key)) == 0;
}

/* Grow e's buffer to hold at least need bytes, within the byte cap. */
static int ent_reserve(struct net_frag *f, struct frag_ent *e, size_t need)
{
	if (need <= e->cap)
		return 0;
	size_t cap = e->cap ? e->cap : 512;
	while (cap < need)
		cap *= 2;
	if (cap > MAX_DATAGRAM)
		cap = MAX_DATAGRAM;
	if (f->bytes - e->cap + cap > f->max_bytes)
		return ES_ELIMIT;
	uint8_t *nb = realloc(e->buf, cap);
	if (!nb)
		return ES_ENOMEM;
	f->bytes = f->bytes - e->cap + cap;
	e->buf = nb;
	e->cap = cap;
	return 0;
}

/* Copy p into the parts of [s, e) no earlier fragment covered, then merge
 * [s, e) into the sorted range list.  Returns false if the list would
 * exceed MAX_RANGES. */
static bool ent_fill(struct frag_ent *e, uint32_t s, uint32_t end, const uint8_t *p)
{
	uint32_t pos = s;
	for (int i = 0; i < e->nr && pos < end; i++) {
		if (e->r[i].e <= pos)
			continue;
		if (e->r[i].s >= end)
			break;
		if (e->r[i].s > pos)
			memcpy(e->buf + pos, p + (pos - s), e->r[i].s - pos);
		if (e->r[i].e > pos)
			pos = e->r[i].e;
	}
	if (pos < end)
		memcpy(e->buf + pos, p + (pos - s), end - pos);

	/* Insert then merge neighbours that touch or overlap. */
	int i = 0;
	while (i < e->nr && e->r[i].s < s)
		i++;
	memmove(&e->r[i + 1], &e->r[i], (size_t)(e->nr - i) * sizeof(e->r[0]));
	e->r[i].s = s;
	e->r[i].e = end;
	e->nr++;
	int w = 0;
	for (int j = 1; j < e->nr; j++) {
		if (e->r[j].s <= e->r[w].e) {
			if (e->r[j].e > e->r[w].e)
				e->r[w].e = e->r[j].e;
		} else {
			e->r[++w] = e->r[j];
		}
	}
	e->nr = w + 1;
	return e->nr <= MAX_RANGES;
}

int net_frag_add(struct net_frag *f, struct net_stats *st,
		 const struct net_frag_key *k, size_t off, bool more, uint8_t nh,
		 const uint8_t *p, size_t len, int64_t ts_us,
		 uint8_t **out, size_t *outlen, uint8_t *out_nh)
{
	*out = NULL;
	*outlen = 0;
	size_t end = off + len;
	/* Non-last fragments carry a multiple of 8 bytes (RFC 791, RFC 8200);
	 * nothing may reach beyond the largest datagram. */
	if (end > MAX_DATAGRAM || (more && (len == 0 || len % 8 != 0))) {
		st->skip_bad_ip++;
		return 0;
	}
	uint64_t h = es_hash(k, sizeof(*k), 0);
	struct es_hnode *hn = es_htab_find(&f->tab, h, key_eq, k);
	struct frag_ent *e;
	if (hn) {
		e = ES_CONTAINER_OF(hn, struct frag_ent, hn);
	} else {
		if (f->n >= MAX_PENDING || f->bytes + sizeof(*e) > f->max_bytes) {
			st->frag_overflow++;
			return 0;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			st->frag_overflow++;
			return 0;
		}
		e->key = *k;
		e->first_ts = ts_us;
		if (es_htab_insert(&f->tab, &e->hn, h)) {
			free(e);
			st->frag_overflow++;
			return 0;
		}
		e->prev = f->tail;
		if (f->tail)
			f->tail->next = e;
		else
			f->head = e;
		f->tail = e;
		f->n++;
		f->bytes += sizeof(*e);
	}

	/* Length consistency: one last fragment, nothing beyond it. */
	if (!more) {
		if ((e->have_last && e->total != end) ||
		    (e->nr && e->r[e->nr - 1].e > end)) {
			ent_drop(f, e);
			st->skip_bad_ip++;
			return 0;
		}
		e->have_last = true;
		e->total = (uint32_t)end;
	} else if (e->have_last && end > e->total) {
		ent_drop(f, e);
		st->skip_bad_ip++;
		return 0;
	}
	if (off == 0 && !e->have_first) {
		e->have_first = true;
		e->nh = nh;
	}
	if (len) {
		int err = ent_reserve(f, e, end);
		if (err) {
			/* Without this fragment the datagram can never complete. */
			ent_drop(f, e);
			st->frag_overflow++;
			return 0;
		}
		if (!ent_fill(e, (uint32_t)off, (uint32_t)end, p)) {
			ent_drop(f, e);
			st->frag_overflow++;
			return 0;
		}
	}
	bool done = e->have_last && e->have_first &&
		    (e->total == 0 || (e->nr == 1 && e->r[0].s == 0 && e->r[0].e == e->total));
	if (!done) {
		st->frag_held++;
		return 0;
	}
	/* Hand the buffer over instead of copying it. */
	*outlen = e->total;
	*out_nh = e->nh;
	*out = e->buf ? e->buf : malloc(1);
	e->buf = NULL;
	f->bytes -= e->cap;
	e->cap = 0;
	ent_drop(f, e);
	if (!*out) {
		st->frag_overflow++;
		return 0;
	}
	st->frag_reassembled++;
	return 1;
}
