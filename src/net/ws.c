/*
 * ws.c - WebSocket framing (RFC 6455) on a reassembled TCP stream, for SIP
 * over WebSocket (RFC 7118): the HTTP Upgrade handshake that starts it, then
 * frames, each text or binary message handed on as one message.
 *
 * Frames are parsed in the stream's own buffer: a masked client frame is
 * unmasked in place, and a message in one frame (the usual case) is handed
 * on from there without a copy.  Only a fragmented message is gathered, in
 * a per-direction buffer bounded by the TCP buffer bound.
 */
#include "net/net_internal.h"

#include <string.h>

enum {
	WS_FIN = 0x80,
	WS_RSV = 0x70,   /* extension bits: permessage-deflate etc. */
	WS_MASK = 0x80,
	OP_CONT = 0x0,
	OP_TEXT = 0x1,
	OP_BINARY = 0x2,
	OP_CLOSE = 0x8,
};

#define CONTROL_MAX 125 /* RFC 6455 5.5 */

void net_ws_reset(struct net_ws *ws)
{
	es_buf_free(&ws->msg);
	memset(ws, 0, sizeof(*ws));
}

/* An HTTP head p[0..len) that starts with start and has an Upgrade header
 * whose value names websocket (RFC 6455 4.1 item 6; 4.2.2 item 5). */
static bool upgrade_head(const uint8_t *p, size_t len, const char *start, size_t *hlen)
{
	struct slice s = sl_make(p, len);
	if (!sl_starts_ci(s, start))
		return false;
	long end = sl_find(s, SL_LIT("\r\n\r\n"));
	if (end < 0)
		return false;
	*hlen = (size_t)end + 4;
	struct slice head = sl_sub(s, 0, (size_t)end + 2);
	long u = sl_find_ci(head, SL_LIT("\r\nUpgrade:"));
	if (u < 0)
		return false;
	struct slice v = sl_sub(head, (size_t)u + 10, head.len);
	long eol = sl_find(v, SL_LIT("\r\n"));
	if (eol >= 0)
		v = sl_sub(v, 0, (size_t)eol);
	return sl_find_ci(v, SL_LIT("websocket")) >= 0;
}

bool net_ws_upgrade_request(const uint8_t *p, size_t len, size_t *hlen)
{
	return upgrade_head(p, len, "GET ", hlen);
}

bool net_ws_upgrade_response(const uint8_t *p, size_t len, size_t *hlen)
{
	return upgrade_head(p, len, "HTTP/1.1 101", hlen) ||
	       upgrade_head(p, len, "HTTP/1.0 101", hlen);
}

/* A SIP start line's first bytes: "SIP/2.0 " (a response) or a method
 * token in capitals, a space and a sip:, sips: or tel: URI (RFC 3261 25.1). */
static bool sip_start(const uint8_t *p, size_t n)
{
	if (n >= 8 && memcmp(p, "SIP/2.0 ", 8) == 0)
		return true;
	size_t i = 0;
	while (i < n && i < 17 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i < 3 || i >= n || p[i] != ' ')
		return false;
	struct slice rest = sl_make(p + i + 1, n - i - 1);
	return sl_starts_ci(rest, "sip:") || sl_starts_ci(rest, "sips:") ||
	       sl_starts_ci(rest, "tel:");
}

int net_ws_pickup(const uint8_t *p, size_t len)
{
	enum { PEEK = 24 };
	if (len < 1)
		return -1;
	/* FIN or not, no extension bits, text or binary: the start of a
	 * message.  SIP over TCP starts with a letter or CRLF, never these. */
	uint8_t op = p[0] & 0x7f;
	if (op != 0x01 && op != 0x02)
		return 0;
	if (len < 2)
		return -1;
	size_t hl = 2, n = p[1] & 0x7f;
	if (n == 126)
		hl = 4;
	else if (n == 127)
		hl = 10;
	bool masked = (p[1] & WS_MASK) != 0;
	if (masked)
		hl += 4;
	size_t want = hl + PEEK;
	if (n < 126 && n < PEEK)
		want = hl + n;
	if (len < want)
		return len < 64 ? -1 : 0;
	uint8_t peek[PEEK];
	size_t m = want - hl;
	for (size_t i = 0; i < m; i++)
		peek[i] = masked ? (uint8_t)(p[hl + i] ^ p[hl - 4 + (i & 3)]) : p[hl + i];
	return sip_start(peek, m) ? 1 : 0;
}

static void deliver(struct net_decoder *d, const struct net_pkt *tmpl, const uint8_t *p,
		    size_t len)
{
	struct net_pkt pkt = *tmpl;
	pkt.proto = NET_PROTO_WS;
	pkt.data = p;
	pkt.len = len;
	d->st.ws_messages++;
	if (d->on_udp)
		d->on_udp(d->ud, &pkt);
}

/* One whole frame with its payload u[0..n) (already unmasked). */
static void frame(struct net_decoder *d, struct net_ws *ws, const struct net_pkt *tmpl,
		 uint8_t b0, const uint8_t *u, size_t n, size_t max_msg)
{
	unsigned op = b0 & 0x0f;
	bool fin = (b0 & WS_FIN) != 0;
	if (op >= OP_CLOSE) /* close, ping, pong: nothing for us */
		return;
	if (b0 & WS_RSV) {
		/* A compressed (permessage-deflate) or otherwise extended
		 * frame: not decoded, skipped whole. */
		d->st.ws_errors++;
		ws->in_msg = false;
		es_buf_reset(&ws->msg);
		return;
	}
	if (op == OP_TEXT || op == OP_BINARY) {
		if (ws->in_msg) { /* the open message was abandoned */
			d->st.ws_errors++;
			es_buf_reset(&ws->msg);
		}
		if (fin) {
			ws->in_msg = false;
			deliver(d, tmpl, u, n);
			return;
		}
		ws->in_msg = true;
	} else if (op != OP_CONT || !ws->in_msg) {
		/* a reserved opcode, or a continuation without its start */
		d->st.ws_errors++;
		return;
	}
	if (ws->msg.len + n > max_msg || es_buf_append(&ws->msg, u, n)) {
		d->st.ws_errors++;
		ws->in_msg = false;
		es_buf_reset(&ws->msg);
		return;
	}
	if (fin) {
		ws->in_msg = false;
		deliver(d, tmpl, ws->msg.p, ws->msg.len);
		es_buf_reset(&ws->msg);
	}
}

size_t net_ws_consume(struct net_decoder *d, struct net_ws *ws, const struct net_pkt *tmpl,
		      uint8_t *buf, size_t len, size_t max_msg, bool *fail)
{
	*fail = false;
	size_t o = 0;
	/* RFC 6455 5.2: FIN, RSV1-3, opcode; MASK, 7-bit length, then 16 or
	 * 64 bits of length, then the 4-byte masking key. */
	while (len - o >= 2) {
		const uint8_t *h = buf + o;
		bool masked = (h[1] & WS_MASK) != 0;
		size_t hl = 2;
		uint64_t n = h[1] & 0x7f;
		if (n == 126) {
			if (len - o < 4)
				break;
			n = net_be16(h + 2);
			hl = 4;
		} else if (n == 127) {
			if (len - o < 10)
				break;
			n = (uint64_t)net_be32(h + 2) << 32 | net_be32(h + 6);
			hl = 10;
		}
		if (masked)
			hl += 4;
		unsigned op = h[0] & 0x0f;
		if (n > max_msg || (op >= OP_CLOSE && (n > CONTROL_MAX || !(h[0] & WS_FIN)))) {
			/* Beyond any bound we keep, or not a frame at all:
			 * the framing is lost. */
			d->st.ws_errors++;
			*fail = true;
			return len;
		}
		if (len - o < hl || len - o - hl < n)
			break; /* the rest of the frame has not arrived */
		uint8_t *u = buf + o + hl;
		if (masked) {
			const uint8_t *key = buf + o + hl - 4;
			for (size_t i = 0; i < n; i++)
				u[i] ^= key[i & 3];
		}
		frame(d, ws, tmpl, h[0], u, (size_t)n, max_msg);
		o += hl + (size_t)n;
	}
	return o;
}
