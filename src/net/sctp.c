/*
 * sctp.c - SIP over SCTP (RFC 4168): the DATA chunks (RFC 9260 3.3.1) of
 * each packet, one user message per callback, with fragmented user messages
 * reassembled.
 *
 * Only DATA chunks for SIP are delivered: payload protocol identifier 0
 * (unspecified, what SIP stacks send: RFC 4168 names none) or either port
 * 5060/5061.  Every other chunk (INIT, SACK, HEARTBEAT, DATA of M3UA or
 * Diameter...) is passed over; a packet with nothing delivered is counted
 * in skip_sctp_no_data.
 *
 * Fragments of one user message have consecutive TSNs (RFC 9260 6.9), so
 * one message at a time is gathered per direction of an association.  The
 * state lives in a fixed table, made at the first SCTP packet and indexed by
 * a hash of the addresses: a collision evicts the older direction (its
 * partial message counts in sctp_dropped), so memory stays bounded whatever
 * the capture holds.  A message larger than SCTP_MAX_MSG is dropped.
 */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define SCTP_SLOTS 1024
#define SCTP_MAX_MSG (256u * 1024)
#define SIP_PORT 5060
#define SIPS_PORT 5061

enum { CH_DATA = 0, DATA_E = 0x01, DATA_B = 0x02 };

/* One direction of an association. */
struct dir {
	struct es_addr src, dst; /* with ports */
	bool used;
	bool have_tsn;  /* hi_tsn is valid */
	bool gathering; /* a message is open in buf */
	uint32_t hi_tsn;   /* highest TSN delivered or gathered */
	uint16_t sid;      /* stream of the open message */
	int64_t last_ts;
	struct es_buf buf;
};

struct net_sctp {
	struct dir slot[SCTP_SLOTS];
};

void net_sctp_free(struct net_sctp *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SCTP_SLOTS; i++)
		es_buf_free(&s->slot[i].buf);
	free(s);
}

void net_sctp_expire(struct net_sctp *s, int64_t now_us, int64_t idle_us)
{
	for (size_t i = 0; i < SCTP_SLOTS; i++) {
		struct dir *dr = &s->slot[i];
		if (dr->used && net_ts_older(now_us, dr->last_ts, idle_us)) {
			es_buf_free(&dr->buf);
			memset(dr, 0, sizeof(*dr));
		}
	}
}

static struct dir *dir_get(struct net_decoder *d, const struct es_addr *src,
			   const struct es_addr *dst, int64_t ts)
{
	if (!d->sctp && !(d->sctp = calloc(1, sizeof(*d->sctp))))
		return NULL;
	uint64_t h = es_addr_hash(dst, es_addr_hash(src, 0x5c79));
	struct dir *dr = &d->sctp->slot[h % SCTP_SLOTS];
	if (dr->used && !(es_addr_eq(&dr->src, src) && es_addr_eq(&dr->dst, dst))) {
		if (dr->gathering)
			d->st.sctp_dropped++;
		es_buf_free(&dr->buf);
		memset(dr, 0, sizeof(*dr));
	}
	if (!dr->used) {
		dr->used = true;
		dr->src = *src;
		dr->dst = *dst;
		es_buf_init(&dr->buf);
	}
	dr->last_ts = ts;
	return dr;
}

static void deliver(struct net_decoder *d, const struct net_pkt *tmpl, const uint8_t *p,
		    size_t len)
{
	struct net_pkt pkt = *tmpl;
	pkt.data = p;
	pkt.len = len;
	d->st.sctp_messages++;
	if (d->on_udp)
		d->on_udp(d->ud, &pkt);
}

/* One DATA chunk's user data u[0..n) with its flags, TSN and stream;
 * returns whether anything was delivered or gathered. */
static bool data_chunk(struct net_decoder *d, const struct net_pkt *tmpl, uint8_t flags,
		       uint32_t tsn, uint16_t sid, const uint8_t *u, size_t n)
{
	struct dir *dr = dir_get(d, &tmpl->src, &tmpl->dst, tmpl->ts_us);
	if (!dr) {
		d->st.sctp_dropped++;
		return false;
	}
	/* A retransmission (RFC 9260 6.3.3) repeats a TSN already seen. */
	if (dr->have_tsn && (int32_t)(tsn - dr->hi_tsn) <= 0) {
		d->st.sctp_dup++;
		return false;
	}
	bool contiguous = dr->have_tsn && tsn == dr->hi_tsn + 1;
	dr->have_tsn = true;
	dr->hi_tsn = tsn;
	bool b = (flags & DATA_B) != 0, e = (flags & DATA_E) != 0;
	if (dr->gathering && (b || !contiguous || sid != dr->sid)) {
		/* the open message lost a fragment: it goes, and so does
		 * this piece unless it starts a new message */
		d->st.sctp_dropped++;
		dr->gathering = false;
		es_buf_reset(&dr->buf);
		if (!b)
			return false;
	}
	if (b && e) {
		deliver(d, tmpl, u, n); /* unfragmented: straight from the frame */
		return true;
	}
	if (b) {
		dr->gathering = true;
		dr->sid = sid;
	} else if (!dr->gathering) {
		d->st.sctp_dropped++; /* a middle or last piece without its start */
		return false;
	}
	if (dr->buf.len + n > SCTP_MAX_MSG || es_buf_append(&dr->buf, u, n)) {
		d->st.sctp_dropped++;
		dr->gathering = false;
		es_buf_reset(&dr->buf);
		return false;
	}
	if (e) {
		dr->gathering = false;
		deliver(d, tmpl, dr->buf.p, dr->buf.len);
		es_buf_reset(&dr->buf);
	}
	return true;
}

void net_sctp_packet(struct net_decoder *d, const struct net_pkt *tmpl, const uint8_t *p,
		     size_t len)
{
	/* RFC 9260 3.1: ports, verification tag, CRC32c. */
	if (len < 12) {
		d->st.skip_truncated++;
		return;
	}
	struct net_pkt t = *tmpl;
	uint16_t sport = net_be16(p), dport = net_be16(p + 2);
	t.src.port = sport;
	t.dst.port = dport;
	bool sip_port = sport == SIP_PORT || dport == SIP_PORT || sport == SIPS_PORT ||
			dport == SIPS_PORT;
	bool used = false;
	size_t o = 12;
	/* Chunks: type, flags, length (header included), padded to 4 bytes
	 * (RFC 9260 3.2).  The walk ends at the first chunk that does not fit. */
	while (len - o >= 4) {
		uint8_t type = p[o], flags = p[o + 1];
		size_t cl = net_be16(p + o + 2);
		if (cl < 4 || cl > len - o)
			break;
		if (type == CH_DATA && cl > 16) {
			uint32_t tsn = net_be32(p + o + 4);
			uint16_t sid = net_be16(p + o + 8);
			uint32_t ppid = net_be32(p + o + 12);
			if (ppid == 0 || sip_port)
				used |= data_chunk(d, &t, flags, tsn, sid, p + o + 16, cl - 16);
		}
		size_t padded = (cl + 3) & ~(size_t)3;
		if (padded >= len - o)
			break;
		o += padded;
	}
	if (!used)
		d->st.skip_sctp_no_data++;
}
