/*
 * tcp.c - TCP stream reassembly, one stream per direction of a connection
 * (keyed by source and destination address+port).
 *
 * In-order bytes are appended to the stream's buffer and offered to the
 * callback, which consumes whole messages; the rest waits for more data.
 * Segments ahead of the next expected sequence number are held (bounded)
 * until the gap fills; retransmitted bytes are trimmed.  A stream first seen
 * without its SYN is picked up at the first segment's sequence number.
 * Sequence arithmetic is modulo 2^32 (RFC 9293 3.4).
 *
 * A stream that starts with an HTTP Upgrade to WebSocket (request or 101
 * response) carries frames after that head: ws.c takes its bytes from then
 * on and hands each message on as a datagram (NET_PROTO_WS).  A stream
 * picked up later, whose bytes start with a frame carrying SIP, is taken
 * for WebSocket too.
 */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OOO_SEGS 256   /* held segments per stream */
#define MAX_OFFERS 64      /* callback calls per arrival */
#define HTTP_HEAD_MAX 16384 /* an Upgrade head longer than this is not one */

struct ooo_seg {
	struct ooo_seg *next; /* sorted by seq */
	uint32_t seq;
	size_t len;
	uint8_t data[];
};

struct tcp_key {
	struct es_addr src, dst;
};

struct stream {
	struct es_hnode hn;
	struct tcp_key key;
	struct stream *prev, *next; /* least recently used first */
	int64_t last_ts;
	uint32_t next_seq;
	uint32_t isn;  /* sequence number of the SYN, when have_syn */
	bool have_syn;
	bool closed; /* FIN delivered or RST: later data is stale */
	struct es_buf buf;
	struct ooo_seg *ooo;
	size_t ooo_bytes;
	size_t ooo_n;
	struct net_ws ws;
};

struct net_tcp {
	struct es_htab tab;
	struct stream *head, *tail;
	size_t n;
	size_t max_flows;
	size_t max_buffer;
	int64_t idle;
};

int net_tcp_new(struct net_tcp **out, const struct net_config *cfg)
{
	*out = NULL;
	struct net_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return ES_ENOMEM;
	if (es_htab_init(&t->tab, 256)) {
		free(t);
		return ES_ENOMEM;
	}
	t->max_flows = cfg->tcp_max_flows;
	t->max_buffer = cfg->tcp_max_buffer;
	t->idle = cfg->tcp_idle_us;
	*out = t;
	return 0;
}

static void ooo_clear(struct stream *s)
{
	while (s->ooo) {
		struct ooo_seg *o = s->ooo;
		s->ooo = o->next;
		free(o);
	}
	s->ooo_bytes = 0;
	s->ooo_n = 0;
}

static void lru_unlink(struct net_tcp *t, struct stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		t->tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_append(struct net_tcp *t, struct stream *s)
{
	s->prev = t->tail;
	s->next = NULL;
	if (t->tail)
		t->tail->next = s;
	else
		t->head = s;
	t->tail = s;
}

static void stream_drop(struct net_tcp *t, struct stream *s)
{
	es_htab_remove(&t->tab, &s->hn);
	lru_unlink(t, s);
	ooo_clear(s);
	es_buf_free(&s->buf);
	net_ws_reset(&s->ws);
	free(s);
	t->n--;
}

void net_tcp_free(struct net_tcp *t)
{
	if (!t)
		return;
	while (t->head)
		stream_drop(t, t->head);
	es_htab_free(&t->tab);
	free(t);
}

void net_tcp_expire(struct net_tcp *t, int64_t now_us)
{
	while (t->head && net_ts_older(now_us, t->head->last_ts, t->idle))
		stream_drop(t, t->head);
}

static bool key_eq(const struct es_hnode *n, const void *key)
{
	const struct stream *s = ES_CONTAINER_OF(n, struct stream, hn);
	const struct tcp_key *k = key;
	return es_addr_eq(&s->key.src, &k->src) && es_addr_eq(&s->key.dst, &k->dst) &&
	       s->key.src.family == k->src.family;
}

static uint64_t key_hash(const struct tcp_key *k)
{
	return es_addr_hash(&k->dst, es_addr_hash(&k->src, 0x7463));
}

static struct stream *stream_find(struct net_tcp *t, const struct es_addr *src,
				  const struct es_addr *dst)
{
	struct tcp_key k = {*src, *dst};
	struct es_hnode *hn = es_htab_find(&t->tab, key_hash(&k), key_eq, &k);
	return hn ? ES_CONTAINER_OF(hn, struct stream, hn) : NULL;
}

static struct stream *stream_new(struct net_tcp *t, const struct es_addr *src,
				 const struct es_addr *dst)
{
	/* At the bound the least recently used stream makes room. */
	if (t->n >= t->max_flows && t->head)
		stream_drop(t, t->head);
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key.src = *src;
	s->key.dst = *dst;
	es_buf_init(&s->buf);
	if (es_htab_insert(&t->tab, &s->hn, key_hash(&s->key))) {
		free(s);
		return NULL;
	}
	lru_append(t, s);
	t->n++;
	return s;
}

/* WebSocket: an Upgrade head at the start of the buffer switches the
 * stream to frames; framed bytes go to ws.c.  Returns true when it took
 * the bytes (or waits for the rest of a head), false for the SIP path. */
static bool ws_offer(struct net_decoder *d, struct stream *s, const struct net_pkt *tmpl)
{
	if (s->ws.state == NET_WS_NONE && s->buf.len >= 4 &&
	    (memcmp(s->buf.p, "GET ", 4) == 0 || memcmp(s->buf.p, "HTTP", 4) == 0)) {
		size_t hl = 0;
		if (net_ws_upgrade_request(s->buf.p, s->buf.len, &hl) ||
		    net_ws_upgrade_response(s->buf.p, s->buf.len, &hl)) {
			s->ws.state = NET_WS_FRAMES;
			es_buf_consume(&s->buf, hl);
		} else if (s->buf.len < HTTP_HEAD_MAX &&
			   sl_find(sl_make(s->buf.p, s->buf.len), SL_LIT("\r\n\r\n")) < 0) {
			return true; /* the head is not complete yet */
		}
	}
	if (s->ws.state == NET_WS_NONE && s->buf.len) {
		/* no handshake seen: frames carrying SIP are recognised */
		int r = net_ws_pickup(s->buf.p, s->buf.len);
		if (r < 0)
			return true;
		if (r > 0)
			s->ws.state = NET_WS_FRAMES;
	}
	if (s->ws.state == NET_WS_NONE)
		return false;
	size_t used = s->buf.len;
	if (s->ws.state == NET_WS_FRAMES) {
		bool fail = false;
		used = net_ws_consume(d, &s->ws, tmpl, s->buf.p, s->buf.len,
				      d->tcp->max_buffer, &fail);
		if (fail) {
			s->ws.state = NET_WS_DEAD;
			used = s->buf.len;
		}
	}
	if (used == s->buf.len)
		es_buf_reset(&s->buf);
	else if (used)
		es_buf_consume(&s->buf, used);
	return true;
}

/* Offer the buffered bytes until the callback stops consuming. */
static void offer(struct net_decoder *d, struct stream *s, const struct net_pkt *tmpl)
{
	if (ws_offer(d, s, tmpl))
		return;
	if (!d->on_tcp) {
		es_buf_reset(&s->buf);
		return;
	}
	size_t done = 0;
	for (int i = 0; i < MAX_OFFERS && done < s->buf.len; i++) {
		struct net_pkt pkt = *tmpl;
		pkt.data = s->buf.p + done;
		pkt.len = s->buf.len - done;
		size_t c = d->on_tcp(d->ud, &pkt);
		if (c > pkt.len)
			c = pkt.len;
		if (c == 0)
			break;
		done += c;
	}
	if (done == s->buf.len)
		es_buf_reset(&s->buf);
	else if (done)
		es_buf_consume(&s->buf, done);
}

/* Append in-order bytes, keeping the buffer within its bound: when full,
 * the oldest unconsumed bytes (which the callback could not use) go. */
static void append(struct net_decoder *d, struct stream *s, const uint8_t *p, size_t n)
{
	size_t max = d->tcp->max_buffer;
	s->next_seq += (uint32_t)n;
	if (n > max) {
		d->st.tcp_overflow += n - max;
		p += n - max;
		n = max;
	}
	if (s->buf.len + n > max) {
		d->st.tcp_overflow += s->buf.len;
		es_buf_reset(&s->buf);
	}
	if (es_buf_append(&s->buf, p, n)) {
		d->st.tcp_overflow += n;
	}
}

/* Move held segments that are now in order into the buffer. */
static void drain(struct net_decoder *d, struct stream *s)
{
	while (s->ooo) {
		struct ooo_seg *o = s->ooo;
		int32_t delta = (int32_t)(o->seq - s->next_seq);
		if (delta > 0)
			break;
		s->ooo = o->next;
		s->ooo_bytes -= o->len;
		s->ooo_n--;
		size_t skip = (size_t)-(int64_t)delta;
		if (skip < o->len)
			append(d, s, o->data + skip, o->len - skip);
		free(o);
	}
}

/* Hold a segment ahead of next_seq; false when the bound is reached. */
static bool hold(struct net_decoder *d, struct stream *s, uint32_t seq,
		 const uint8_t *p, size_t n)
{
	struct ooo_seg **pp = &s->ooo;
	while (*pp && (int32_t)((*pp)->seq - seq) < 0)
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= n) {
		d->st.tcp_retrans++; /* the same held segment again */
		return true;
	}
	if (s->ooo_n >= MAX_OOO_SEGS || s->ooo_bytes + n > d->tcp->max_buffer)
		return false;
	struct ooo_seg *o = malloc(sizeof(*o) + n);
	if (!o)
		return false;
	o->seq = seq;
	o->len = n;
	memcpy(o->data, p, n);
	o->next = *pp;
	*pp = o;
	s->ooo_bytes += n;
	s->ooo_n++;
	d->st.tcp_out_of_order++;
	return true;
}

/* Give up on the gap before the first held segment: what is buffered
 * cannot be completed, so it goes, and the stream resumes there. */
static void skip_gap(struct net_decoder *d, struct stream *s)
{
	d->st.tcp_gaps++;
	es_buf_reset(&s->buf);
	if (s->ooo)
		s->next_seq = s->ooo->seq;
	drain(d, s);
}

static void data_in(struct net_decoder *d, struct stream *s, uint32_t seq,
		    const uint8_t *p, size_t n)
{
	int32_t delta = (int32_t)(seq - s->next_seq);
	if (delta <= 0) {
		size_t skip = (size_t)-(int64_t)delta;
		if (skip >= n) {
			d->st.tcp_retrans++;
			return;
		}
		d->st.tcp_segments++;
		append(d, s, p + skip, n - skip);
		drain(d, s);
		return;
	}
	/* Far beyond anything a window allows: the stream restarted or we
	 * lost track; resynchronise on this segment. */
	if ((uint64_t)delta > 2 * (uint64_t)d->tcp->max_buffer + 65536) {
		d->st.tcp_gaps++;
		ooo_clear(s);
		es_buf_reset(&s->buf);
		s->next_seq = seq;
		d->st.tcp_segments++;
		append(d, s, p, n);
		return;
	}
	if (hold(d, s, seq, p, n))
		return;
	skip_gap(d, s);
	delta = (int32_t)(seq - s->next_seq);
	if (delta <= 0) {
		data_in(d, s, seq, p, n);
		return;
	}
	if (!hold(d, s, seq, p, n))
		d->st.tcp_overflow += n;
}

void net_tcp_segment(struct net_decoder *d, const struct net_pkt *tmpl,
		     uint32_t seq, uint8_t flags, const uint8_t *payload, size_t len)
{
	struct net_tcp *t = d->tcp;
	struct stream *s = stream_find(t, &tmpl->src, &tmpl->dst);
	if (flags & NET_TCP_RST) {
		if (s)
			stream_drop(t, s);
		struct stream *r = stream_find(t, &tmpl->dst, &tmpl->src);
		if (r)
			stream_drop(t, r);
		return;
	}
	if ((flags & NET_TCP_SYN) && s && s->have_syn && s->isn == seq && !s->closed) {
		/* A retransmitted SYN of the connection we follow: not a new
		 * connection, only its data (if any) matters. */
		seq += 1;
	} else if (flags & NET_TCP_SYN) {
		if (!s)
			s = stream_new(t, &tmpl->src, &tmpl->dst);
		if (!s) {
			d->st.tcp_overflow += len;
			return;
		}
		ooo_clear(s);
		es_buf_reset(&s->buf);
		net_ws_reset(&s->ws);
		s->closed = false;
		s->have_syn = true;
		s->isn = seq;
		s->next_seq = seq + 1; /* the SYN occupies one number */
		seq += 1;
	} else if (!s) {
		if (!len)
			return; /* a bare ACK or FIN of a stream we never saw */
		s = stream_new(t, &tmpl->src, &tmpl->dst);
		if (!s) {
			d->st.tcp_overflow += len;
			return;
		}
		s->next_seq = seq; /* mid-stream pickup */
	}
	s->last_ts = tmpl->ts_us;
	lru_unlink(t, s);
	lru_append(t, s);

	if (len) {
		if (s->closed)
			d->st.tcp_retrans++;
		else
			data_in(d, s, seq, payload, len);
	}
	if ((flags & NET_TCP_FIN) && !s->closed &&
	    (int32_t)(seq + (uint32_t)len - s->next_seq) <= 0 && !s->ooo) {
		s->closed = true;
	}
	if (s->buf.len)
		offer(d, s, tmpl);
	if (s->closed) {
		/* Nothing more will complete what is left. */
		es_buf_free(&s->buf);
		es_buf_free(&s->ws.msg);
		ooo_clear(s);
	}
}
