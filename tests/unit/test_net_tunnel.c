/* test_net_tunnel.c - tunnels (GRE, ERSPAN, VXLAN, Geneve, IP-in-IP, MPLS),
 * SIP over SCTP and over WebSocket in the network decoder, and the real
 * field captures that carry them. */
#include "check.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	int msgs;          /* datagrams or messages delivered */
	int tcp_calls;
	char last[4096];
	size_t last_len;
	struct net_pkt lastpkt;
};

static void on_msg(void *ud, const struct net_pkt *pkt)
{
	struct seen *s = ud;
	s->msgs++;
	s->lastpkt = *pkt;
	s->last_len = ES_MIN(pkt->len, sizeof(s->last) - 1);
	memcpy(s->last, pkt->data, s->last_len);
	s->last[s->last_len] = '\0';
}

static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	struct seen *s = ud;
	s->tcp_calls++;
	return pkt->len;
}

static struct net_decoder *mk(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	struct net_decoder *d = NULL;
	CHECK_INT(net_decoder_new(&d, NULL, on_msg, on_tcp, s), 0);
	return d;
}

static const int64_t T0 = INT64_C(1700000000000000);
static const uint8_t IN_A[4] = {192, 0, 2, 1}, IN_B[4] = {192, 0, 2, 2};
static const uint8_t OUT_A[4] = {10, 99, 0, 1}, OUT_B[4] = {10, 99, 0, 2};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Packets are built from the inside out: b->p points at the first byte,
 * headers are prepended in front of it. */
struct pb {
	uint8_t buf[4096];
	uint8_t *p;
	size_t len;
};

static uint8_t *pre(struct pb *b, size_t n)
{
	b->p -= n;
	b->len += n;
	return b->p;
}

static void pb_payload(struct pb *b, const void *data, size_t n)
{
	b->p = b->buf + 2048;
	memcpy(b->p, data, n);
	b->len = n;
}

static void pb_udp(struct pb *b, uint16_t sport, uint16_t dport)
{
	uint8_t *u = pre(b, 8);
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)b->len);
	put16(u + 6, 0);
}

static void pb_ip4(struct pb *b, const uint8_t *src, const uint8_t *dst, uint8_t proto)
{
	size_t plen = b->len;
	uint8_t *h = pre(b, 20);
	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(20 + plen));
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
}

static void pb_ip6(struct pb *b, uint8_t nh)
{
	size_t plen = b->len;
	uint8_t *h = pre(b, 40);
	memset(h, 0, 40);
	h[0] = 0x60;
	put16(h + 4, (uint16_t)plen);
	h[6] = nh;
	h[7] = 64;
	h[8] = 0xfd;
	h[23] = 1;
	h[24] = 0xfd;
	h[39] = 2;
}

static void pb_eth(struct pb *b, uint16_t type)
{
	uint8_t *h = pre(b, 14);
	memset(h, 0x02, 12);
	put16(h + 12, type);
}

static void pb_gre(struct pb *b, uint16_t flags, uint16_t type)
{
	size_t extra = (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
	uint8_t *h = pre(b, 4 + extra);
	memset(h, 0, 4 + extra);
	put16(h, flags);
	put16(h + 2, type);
}

/* The inner call's datagram: 192.0.2.1:5060 -> 192.0.2.2:5062 "INVITE". */
static void inner(struct pb *b, const char *msg)
{
	pb_payload(b, msg, strlen(msg));
	pb_udp(b, 5060, 5062);
	pb_ip4(b, IN_A, IN_B, 17);
}

/* Outer Ethernet + IPv4 (proto) around what b holds, then decode. */
static void send_ip(struct net_decoder *d, struct pb *b, uint8_t proto, uint64_t frame)
{
	pb_ip4(b, OUT_A, OUT_B, proto);
	pb_eth(b, 0x0800);
	net_decode_frame(d, 1, b->p, b->len, T0 + (int64_t)frame, frame);
}

static bool got_inner(const struct seen *s, const char *msg)
{
	return strcmp(s->last, msg) == 0 && s->lastpkt.src.port == 5060 &&
	       s->lastpkt.dst.port == 5062 && memcmp(s->lastpkt.src.ip, IN_A, 4) == 0 &&
	       memcmp(s->lastpkt.dst.ip, IN_B, 4) == 0;
}

static void test_gre(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	struct pb b;
	/* GRE carrying IPv4, with checksum, key and sequence number */
	inner(&b, "gre-ip");
	pb_gre(&b, 0xb000, 0x0800);
	send_ip(d, &b, 47, 1);
	CHECK_INT(s.msgs, 1);
	CHECK(got_inner(&s, "gre-ip"));
	/* transparent Ethernet bridging with an inner VLAN tag */
	inner(&b, "gre-teb");
	uint8_t *v = pre(&b, 4);
	put16(v, 300);
	put16(v + 2, 0x0800);
	pb_eth(&b, 0x8100);
	pb_gre(&b, 0x2000, 0x6558);
	send_ip(d, &b, 47, 2);
	CHECK_INT(s.msgs, 2);
	CHECK(got_inner(&s, "gre-teb"));
	CHECK_INT(s.lastpkt.nvlan, 1);
	CHECK_INT(s.lastpkt.vlan[0], 300);
	/* ERSPAN type I (no sequence number, no header), II, III with the
	 * platform subheader */
	inner(&b, "erspan1");
	pb_eth(&b, 0x0800);
	pb_gre(&b, 0, 0x88be);
	send_ip(d, &b, 47, 3);
	CHECK(got_inner(&s, "erspan1"));
	inner(&b, "erspan2");
	pb_eth(&b, 0x0800);
	uint8_t *e = pre(&b, 8);
	memset(e, 0, 8);
	e[0] = 0x10;
	pb_gre(&b, 0x1000, 0x88be);
	send_ip(d, &b, 47, 4);
	CHECK(got_inner(&s, "erspan2"));
	inner(&b, "erspan3");
	pb_eth(&b, 0x0800);
	e = pre(&b, 20);
	memset(e, 0, 20);
	e[0] = 0x20;
	e[11] = 0x01; /* O: an 8-byte platform subheader follows */
	pb_gre(&b, 0x1000, 0x22eb);
	send_ip(d, &b, 47, 5);
	CHECK_INT(s.msgs, 5);
	CHECK(got_inner(&s, "erspan3"));
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->decap[NET_TUN_GRE], 1);
	CHECK_INT(st->decap[NET_TUN_TEB], 1);
	CHECK_INT(st->decap[NET_TUN_ERSPAN], 3);

	/* Not decoded, each counted once: an unknown protocol type, PPTP's
	 * version 1, ERSPAN of a wrong version, a cut GRE header */
	inner(&b, "x");
	pb_gre(&b, 0, 0x894f); /* NSH */
	send_ip(d, &b, 47, 6);
	inner(&b, "x");
	pb_gre(&b, 0x0001, 0x880b);
	send_ip(d, &b, 47, 7);
	inner(&b, "x");
	pb_eth(&b, 0x0800);
	e = pre(&b, 8);
	memset(e, 0, 8);
	e[0] = 0x70;
	pb_gre(&b, 0x1000, 0x88be);
	send_ip(d, &b, 47, 8);
	pb_payload(&b, "\xb0\x00", 2);
	send_ip(d, &b, 47, 9);
	CHECK_INT(s.msgs, 5);
	CHECK_INT(st->skip_gre_proto, 2);
	CHECK_INT(st->skip_tunnel_bad, 1);
	CHECK_INT(st->skip_truncated, 1);
	CHECK_INT(st->frames, 9);
	net_decoder_free(d);
}

static void test_udp_tunnels(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	struct pb b;
	/* VXLAN: I flag, VNI, Ethernet */
	inner(&b, "vxlan");
	pb_eth(&b, 0x0800);
	uint8_t *h = pre(&b, 8);
	memset(h, 0, 8);
	h[0] = 0x08;
	h[6] = 42;
	pb_udp(&b, 50000, 4789);
	send_ip(d, &b, 17, 1);
	CHECK_INT(s.msgs, 1);
	CHECK(got_inner(&s, "vxlan"));
	/* Geneve with an option, carrying IPv4 directly */
	inner(&b, "geneve");
	h = pre(&b, 12);
	memset(h, 0, 12);
	h[0] = 1; /* one word of options */
	put16(h + 2, 0x0800);
	pb_udp(&b, 50000, 6081);
	send_ip(d, &b, 17, 2);
	CHECK_INT(s.msgs, 2);
	CHECK(got_inner(&s, "geneve"));
	/* RTCP to port 4789 and RTP to 6081 are datagrams, not tunnels */
	static const uint8_t rtcp[8] = {0x81, 200, 0, 1, 1, 2, 3, 4};
	pb_payload(&b, rtcp, sizeof(rtcp));
	pb_udp(&b, 40000, 4789);
	send_ip(d, &b, 17, 3);
	CHECK_INT(s.msgs, 3);
	CHECK_INT(s.lastpkt.dst.port, 4789);
	static const uint8_t rtp[12] = {0x80, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4};
	pb_payload(&b, rtp, sizeof(rtp));
	pb_udp(&b, 40000, 6081);
	send_ip(d, &b, 17, 4);
	CHECK_INT(s.msgs, 4);
	CHECK_INT(s.lastpkt.dst.port, 6081);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->decap[NET_TUN_VXLAN], 1);
	CHECK_INT(st->decap[NET_TUN_GENEVE], 1);
	CHECK_INT(st->udp, 4);
	/* Geneve options longer than the datagram */
	pb_payload(&b, "\x3f\x00\x65\x58\x00\x00\x07\x00", 8);
	pb_udp(&b, 50000, 6081);
	send_ip(d, &b, 17, 5);
	CHECK_INT(st->skip_truncated, 1);
	net_decoder_free(d);
}

static void test_ipip_mpls(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	struct pb b;
	inner(&b, "4in4");
	send_ip(d, &b, 4, 1);
	CHECK(got_inner(&s, "4in4"));
	/* IPv4 in IPv6 (RFC 2473) on a raw IP link */
	inner(&b, "4in6");
	pb_ip6(&b, 4);
	net_decode_frame(d, 101, b.p, b.len, T0, 2);
	CHECK(got_inner(&s, "4in6"));
	/* IPv6 in IPv4 (RFC 4213): the inner addresses are IPv6 */
	pb_payload(&b, "6in4", 4);
	pb_udp(&b, 5060, 5062);
	pb_ip6(&b, 17);
	send_ip(d, &b, 41, 3);
	CHECK_STR(s.last, "6in4");
	CHECK_INT(s.lastpkt.src.family, ES_AF_INET6);
	/* MPLS over Ethernet: three labels, then IPv4 */
	inner(&b, "mpls");
	for (int i = 0; i < 3; i++)
		put32(pre(&b, 4), (uint32_t)(100 + i) << 12 | (i == 0 ? 0x100u : 0) | 64);
	pb_eth(&b, 0x8847);
	net_decode_frame(d, 1, b.p, b.len, T0, 4);
	CHECK(got_inner(&s, "mpls"));
	/* an Ethernet pseudowire with its control word (RFC 4448) */
	inner(&b, "mpls-pw");
	pb_eth(&b, 0x0800);
	put32(pre(&b, 4), 0);
	put32(pre(&b, 4), 100u << 12 | 0x100 | 64);
	pb_eth(&b, 0x8847);
	net_decode_frame(d, 1, b.p, b.len, T0, 5);
	CHECK(got_inner(&s, "mpls-pw"));
	CHECK_INT(s.msgs, 5);
	/* a payload that is none of those; a stack without a bottom */
	pb_payload(&b, "\x90\x00\x00\x00", 4);
	put32(pre(&b, 4), 100u << 12 | 0x100 | 64);
	pb_eth(&b, 0x8847);
	net_decode_frame(d, 1, b.p, b.len, T0, 6);
	uint8_t nob[14 + 4 * 20];
	memset(nob, 0, sizeof(nob));
	put16(nob + 12, 0x8847);
	net_decode_frame(d, 1, nob, sizeof(nob), T0, 7);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->skip_mpls_payload, 1);
	CHECK_INT(st->skip_tunnel_bad, 1);
	CHECK_INT(st->decap[NET_TUN_IPIP], 3);
	CHECK_INT(st->decap[NET_TUN_MPLS], 4);
	net_decoder_free(d);
}

/* Nesting: VXLAN in GRE; and IP-in-IP deeper than the bound stops there. */
static void test_nesting(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	struct pb b;
	inner(&b, "vxlan-in-gre");
	pb_eth(&b, 0x0800);
	uint8_t *h = pre(&b, 8);
	memset(h, 0, 8);
	h[0] = 0x08;
	pb_udp(&b, 50000, 4789);
	pb_ip4(&b, OUT_A, OUT_B, 17);
	pb_gre(&b, 0, 0x0800);
	send_ip(d, &b, 47, 1);
	CHECK(got_inner(&s, "vxlan-in-gre"));
	/* 8 layers are decoded, 9 are not */
	for (int depth = 8; depth <= 9; depth++) {
		inner(&b, "deep");
		for (int i = 1; i < depth; i++)
			pb_ip4(&b, OUT_A, OUT_B, 4);
		s.last[0] = '\0';
		send_ip(d, &b, 4, 2);
		CHECK_INT(strcmp(s.last, "deep") == 0, depth <= 8);
	}
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->skip_tunnel_depth, 1);
	CHECK_INT(s.msgs, 2);
	net_decoder_free(d);
}

/* ---- SCTP ---- */
static size_t data_chunk(uint8_t *p, uint8_t flags, uint32_t tsn, uint32_t ppid,
			 const char *u, size_t n)
{
	p[0] = 0;
	p[1] = flags;
	put16(p + 2, (uint16_t)(16 + n));
	put32(p + 4, tsn);
	put16(p + 8, 0);
	put16(p + 10, 0);
	put32(p + 12, ppid);
	memcpy(p + 16, u, n);
	size_t cl = 16 + n;
	while (cl & 3)
		p[cl++] = 0;
	return cl;
}

static void sctp_send(struct net_decoder *d, const uint8_t *chunks, size_t n, uint16_t sport,
		      uint16_t dport, uint64_t frame)
{
	struct pb b;
	pb_payload(&b, chunks, n);
	uint8_t *h = pre(&b, 12);
	memset(h, 0, 12);
	put16(h, sport);
	put16(h + 2, dport);
	pb_ip4(&b, IN_A, IN_B, 132);
	pb_eth(&b, 0x0800);
	net_decode_frame(d, 1, b.p, b.len, T0 + (int64_t)frame, frame);
}

static void test_sctp(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	uint8_t c[2048];
	/* one message, then a SACK and two messages in one packet */
	size_t n = data_chunk(c, 3, 10, 0, "OPTIONS", 7);
	sctp_send(d, c, n, 40000, 5060, 1);
	CHECK_INT(s.msgs, 1);
	CHECK_STR(s.last, "OPTIONS");
	CHECK_INT(s.lastpkt.proto, NET_PROTO_SCTP);
	CHECK_INT(s.lastpkt.src.port, 40000);
	CHECK_INT(s.lastpkt.dst.port, 5060);
	memset(c, 0, 16);
	c[0] = 3;
	put16(c + 2, 16);
	n = 16 + data_chunk(c + 16, 3, 11, 0, "ONE", 3);
	n += data_chunk(c + n, 3, 12, 0, "TWO", 3);
	sctp_send(d, c, n, 40000, 5060, 2);
	CHECK_INT(s.msgs, 3);
	CHECK_STR(s.last, "TWO");
	/* a message in three fragments over three packets */
	n = data_chunk(c, 2, 13, 0, "INV", 3);
	sctp_send(d, c, n, 40000, 5060, 3);
	n = data_chunk(c, 0, 14, 0, "ITE ", 4);
	sctp_send(d, c, n, 40000, 5060, 4);
	CHECK_INT(s.msgs, 3);
	n = data_chunk(c, 1, 15, 0, "sip:b", 5);
	sctp_send(d, c, n, 40000, 5060, 5);
	CHECK_INT(s.msgs, 4);
	CHECK_STR(s.last, "INVITE sip:b");
	CHECK_INT(s.lastpkt.frame, 5);
	/* retransmitted; a fragment whose start was lost; a gap inside */
	sctp_send(d, c, n, 40000, 5060, 6);
	n = data_chunk(c, 1, 17, 0, "tail", 4);
	sctp_send(d, c, n, 40000, 5060, 7);
	n = data_chunk(c, 2, 18, 0, "head", 4);
	sctp_send(d, c, n, 40000, 5060, 8);
	n = data_chunk(c, 1, 20, 0, "lost", 4);
	sctp_send(d, c, n, 40000, 5060, 9);
	CHECK_INT(s.msgs, 4);
	/* another protocol (PPID 3, M3UA) off the SIP ports; INIT only; a
	 * chunk longer than the packet */
	n = data_chunk(c, 3, 1, 3, "m3ua", 4);
	sctp_send(d, c, n, 2905, 2905, 10);
	memset(c, 0, 20);
	c[0] = 1;
	put16(c + 2, 20);
	sctp_send(d, c, 20, 40000, 5060, 11);
	n = data_chunk(c, 3, 30, 0, "cut", 3);
	put16(c + 2, 400);
	sctp_send(d, c, n, 40000, 5060, 12);
	sctp_send(d, c, 0, 40000, 5060, 13);
	CHECK_INT(s.msgs, 4);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->sctp_messages, 4);
	CHECK_INT(st->sctp_dup, 1);
	CHECK_INT(st->sctp_dropped, 2);
	CHECK_INT(st->skip_sctp_no_data, 7);
	/* a message over the bound is dropped, the state stays bounded */
	char big[1500];
	memset(big, 'x', sizeof(big));
	uint64_t before = st->sctp_dropped;
	for (uint32_t i = 0; i < 200; i++) {
		n = data_chunk(c, i == 0 ? 2 : i == 199 ? 1 : 0, 100 + i, 0, big, sizeof(big));
		sctp_send(d, c, n, 40000, 5060, 20 + i);
	}
	CHECK_INT(s.msgs, 4);
	CHECK(st->sctp_dropped > before);
	net_decoder_free(d);
}

/* ---- WebSocket ---- */
static uint32_t wseq[2];

static void ws_seg(struct net_decoder *d, int dir, const void *data, size_t n, uint64_t frame)
{
	struct pb b;
	pb_payload(&b, data, n);
	uint8_t *t = pre(&b, 20);
	memset(t, 0, 20);
	put16(t, dir ? 8080 : 43380);
	put16(t + 2, dir ? 43380 : 8080);
	put32(t + 4, wseq[dir]);
	t[12] = 5 << 4;
	t[13] = 0x18;
	wseq[dir] += (uint32_t)n;
	pb_ip4(&b, dir ? IN_B : IN_A, dir ? IN_A : IN_B, 6);
	pb_eth(&b, 0x0800);
	net_decode_frame(d, 1, b.p, b.len, T0 + (int64_t)frame, frame);
}

static size_t ws_frame(uint8_t *p, uint8_t b0, bool mask, const char *u, size_t n)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	size_t hl = 2;
	p[0] = b0;
	if (n < 126) {
		p[1] = (uint8_t)n;
	} else {
		p[1] = 126;
		put16(p + 2, (uint16_t)n);
		hl = 4;
	}
	if (mask) {
		p[1] |= 0x80;
		memcpy(p + hl, key, 4);
		hl += 4;
	}
	for (size_t i = 0; i < n; i++)
		p[hl + i] = mask ? (uint8_t)(u[i] ^ key[i & 3]) : (uint8_t)u[i];
	return hl + n;
}

static void test_ws(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s);
	wseq[0] = 1000;
	wseq[1] = 9000;
	static const char get[] = "GET / HTTP/1.1\r\nHost: proxy\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
	/* the head in two segments: nothing reaches the SIP path */
	ws_seg(d, 0, get, 20, 1);
	ws_seg(d, 0, get + 20, sizeof(get) - 1 - 20, 2);
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
				   "Connection: Upgrade\r\n\r\n";
	ws_seg(d, 1, resp, sizeof(resp) - 1, 3);
	CHECK_INT(s.tcp_calls, 0);
	CHECK_INT(s.msgs, 0);
	/* a masked 300-byte message split over two segments */
	char inv[300];
	memset(inv, 'a', sizeof(inv));
	memcpy(inv, "INVITE ", 7);
	uint8_t f[1024];
	size_t n = ws_frame(f, 0x81, true, inv, sizeof(inv));
	ws_seg(d, 0, f, 100, 4);
	CHECK_INT(s.msgs, 0);
	ws_seg(d, 0, f + 100, n - 100, 5);
	CHECK_INT(s.msgs, 1);
	CHECK_INT(s.last_len, 300);
	CHECK(memcmp(s.last, inv, 300) == 0);
	CHECK_INT(s.lastpkt.proto, NET_PROTO_WS);
	CHECK_INT(s.lastpkt.dst.port, 8080);
	/* the server: a ping, then a message in three fragments with a pong
	 * between them, and a second message in the same segment */
	n = ws_frame(f, 0x89, false, "hi", 2);
	n += ws_frame(f + n, 0x01, false, "SIP/2.0 ", 8);
	n += ws_frame(f + n, 0x00, false, "200 ", 4);
	n += ws_frame(f + n, 0x8a, false, "", 0);
	n += ws_frame(f + n, 0x80, false, "OK", 2);
	n += ws_frame(f + n, 0x82, false, "BYE", 3);
	ws_seg(d, 1, f, n, 6);
	CHECK_INT(s.msgs, 3);
	CHECK_STR(s.last, "BYE");
	CHECK_INT(s.lastpkt.src.port, 8080);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->ws_messages, 3);
	CHECK_INT(st->ws_errors, 0);
	/* compressed (RSV1) frame skipped; a continuation without a start;
	 * then a control frame of 200 bytes: the stream is given up */
	n = ws_frame(f, 0xc1, true, "zz", 2);
	n += ws_frame(f + n, 0x80, true, "yy", 2);
	ws_seg(d, 0, f, n, 7);
	CHECK_INT(st->ws_errors, 2);
	f[0] = 0x89;
	f[1] = 126;
	put16(f + 2, 200);
	ws_seg(d, 0, f, 4, 8);
	n = ws_frame(f, 0x81, true, "later", 5);
	ws_seg(d, 0, f, n, 9);
	CHECK_INT(st->ws_errors, 3);
	CHECK_INT(s.msgs, 3);
	CHECK_INT(s.tcp_calls, 0);
	/* picked up after the handshake (the capture began later): frames
	 * that carry SIP are recognised, others go the SIP path */
	struct seen s2;
	struct net_decoder *d2 = mk(&s2);
	wseq[0] = 50;
	wseq[1] = 70;
	static const char bye[] = "BYE sip:alice@192.0.2.1 SIP/2.0\r\n\r\n";
	n = ws_frame(f, 0x81, true, bye, sizeof(bye) - 1);
	ws_seg(d2, 0, f, 5, 1); /* too short to say: waits */
	CHECK_INT(s2.tcp_calls, 0);
	ws_seg(d2, 0, f + 5, n - 5, 2);
	CHECK_INT(s2.msgs, 1);
	CHECK_STR(s2.last, bye);
	static const char ok[] = "SIP/2.0 200 OK\r\n\r\n";
	n = ws_frame(f, 0x81, false, ok, sizeof(ok) - 1);
	ws_seg(d2, 1, f, n, 3);
	CHECK_INT(s2.msgs, 2);
	CHECK_STR(s2.last, ok);
	CHECK_INT(s2.lastpkt.proto, NET_PROTO_WS);
	net_decoder_free(d2);
	d2 = mk(&s2);
	static const char junk[] = "this is not a SIP message at all, just text";
	n = ws_frame(f, 0x81, false, junk, sizeof(junk) - 1);
	ws_seg(d2, 1, f, n, 4);
	CHECK_INT(s2.msgs, 0);
	CHECK_INT(s2.tcp_calls, 1);
	net_decoder_free(d2);

	/* an HTTP request that is no Upgrade goes the SIP path as before */
	wseq[0] = 1;
	struct pb b;
	static const char plain[] = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
	pb_payload(&b, plain, sizeof(plain) - 1);
	uint8_t *t = pre(&b, 20);
	memset(t, 0, 20);
	put16(t, 40001);
	put16(t + 2, 80);
	t[12] = 5 << 4;
	t[13] = 0x18;
	pb_ip4(&b, IN_A, IN_B, 6);
	pb_eth(&b, 0x0800);
	net_decode_frame(d, 1, b.p, b.len, T0 + 10, 10);
	CHECK_INT(s.tcp_calls, 1);
	net_decoder_free(d);
}

/* ---- the field captures ---- */
static void import_counts(const char *name, struct seen *s, struct net_stats *out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/../shared/captures-field/%s", ES_SOURCE_DIR, name);
	memset(out, 0, sizeof(*out));
	struct net_file *f = NULL;
	char err[256];
	if (net_file_open(&f, path, err, sizeof(err)))
		return;
	struct net_decoder *d = mk(s);
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	uint64_t frame;
	while (net_file_next(f, &data, &caplen, &ts, &frame) == 1)
		net_decode_frame(d, net_file_dlt(f), data, caplen, ts, frame);
	*out = *net_decoder_stats(d);
	net_decoder_free(d);
	net_file_close(f);
}

static void test_field_captures(void)
{
	struct seen s;
	struct net_stats st;
	/* tshark: 140 frames, each SIP in GRE carrying Ethernet */
	import_counts("heplify-erspan_sip_ipv4_udp.pcapng", &s, &st);
	if (st.frames) {
		CHECK_INT(st.frames, 140);
		CHECK_INT(st.udp, 140);
		CHECK_INT(st.decap[NET_TUN_TEB] + st.decap[NET_TUN_ERSPAN], 140);
		CHECK_INT(st.skip_other_proto, 0);
	}
	/* tshark: 4 SIP messages, the INVITE in two DATA fragments */
	import_counts("heplify-sip_sctp.pcap", &s, &st);
	if (st.frames) {
		CHECK_INT(st.sctp_messages, 4);
		CHECK_INT(st.skip_sctp_no_data, 0); /* frame 1: the first fragment */
		CHECK_INT(s.lastpkt.proto, NET_PROTO_SCTP);
	}
	/* tshark: 11 SIP messages over WebSocket */
	import_counts("heplify-sip_tcp_websocket.pcap", &s, &st);
	if (st.frames) {
		CHECK_INT(st.ws_messages, 11);
		CHECK_INT(st.ws_errors, 0);
	}
}

int main(void)
{
	RUN(test_gre);
	RUN(test_udp_tunnels);
	RUN(test_ipip_mpls);
	RUN(test_nesting);
	RUN(test_sctp);
	RUN(test_ws);
	RUN(test_field_captures);
	return CHECK_DONE();
}
