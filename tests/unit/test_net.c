/* test_net.c - link layers, IP, fragments, TCP reassembly, capture files. */
#include "check.h"
#include "net/net.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- what the callbacks saw ---- */
struct seen {
	int udp;
	int tcp_calls;
	int msgs;              /* whole SIP messages consumed */
	char last[2048];       /* last UDP payload or last SIP message */
	size_t last_len;
	struct net_pkt lastpkt;
	uint8_t nvlan;
	uint16_t vlan[2];
};

static void on_udp(void *ud, const struct net_pkt *pkt)
{
	struct seen *s = ud;
	s->udp++;
	s->lastpkt = *pkt;
	s->nvlan = pkt->nvlan;
	s->vlan[0] = pkt->vlan[0];
	s->vlan[1] = pkt->vlan[1];
	s->last_len = ES_MIN(pkt->len, sizeof(s->last) - 1);
	memcpy(s->last, pkt->data, s->last_len);
	s->last[s->last_len] = '\0';
}

/* Consume one SIP message: headers up to CRLFCRLF plus Content-Length. */
static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	struct seen *s = ud;
	s->tcp_calls++;
	s->lastpkt = *pkt;
	struct slice b = sl_make(pkt->data, pkt->len);
	long end = sl_find(b, SL_LIT("\r\n\r\n"));
	if (end < 0)
		return 0;
	size_t hlen = (size_t)end + 4;
	size_t clen = 0;
	long cl = sl_find_ci(sl_sub(b, 0, hlen), SL_LIT("Content-Length:"));
	if (cl >= 0) {
		struct slice v = sl_sub(b, (size_t)cl + 15, hlen);
		long eol = sl_index(v, '\r');
		uint64_t n = 0;
		if (eol >= 0 && sl_to_u64(sl_trim(sl_sub(v, 0, (size_t)eol)), &n) == 0)
			clen = (size_t)n;
	}
	if (pkt->len < hlen + clen)
		return 0;
	s->msgs++;
	s->last_len = ES_MIN(hlen + clen, sizeof(s->last) - 1);
	memcpy(s->last, pkt->data, s->last_len);
	s->last[s->last_len] = '\0';
	return hlen + clen;
}

/* ---- packet builders ---- */
static const uint8_t IP4A[4] = {192, 0, 2, 1}, IP4B[4] = {192, 0, 2, 2};
static const uint8_t IP6A[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t IP6B[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* IPv4 header (20 bytes) at p; returns 20. */
static size_t ip4(uint8_t *p, uint8_t proto, size_t payload, uint16_t id, bool mf,
		  size_t off8)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + payload));
	put16(p + 4, id);
	put16(p + 6, (uint16_t)((mf ? 0x2000 : 0) | off8));
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, IP4A, 4);
	memcpy(p + 16, IP4B, 4);
	return 20;
}

static size_t udp(uint8_t *p, uint16_t sport, uint16_t dport, const char *msg)
{
	size_t n = strlen(msg);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + n));
	put16(p + 6, 0);
	memcpy(p + 8, msg, n);
	return 8 + n;
}

/* IPv4+UDP at p; returns its length. */
static size_t ip4udp(uint8_t *p, const char *msg)
{
	size_t u = udp(p + 20, 5060, 5062, msg);
	ip4(p, 17, u, 1, false, 0);
	return 20 + u;
}

static size_t tcp4(uint8_t *p, uint32_t seq, uint8_t flags, const char *data, size_t n)
{
	uint8_t *t = p + 20;
	memset(t, 0, 20);
	put16(t, 40000);
	put16(t + 2, 5060);
	put32(t + 4, seq);
	t[12] = 5 << 4;
	t[13] = flags;
	memcpy(t + 20, data, n);
	ip4(p, 6, 20 + n, 7, false, 0);
	return 40 + n;
}

static struct net_decoder *mk(struct seen *s, const struct net_config *cfg)
{
	memset(s, 0, sizeof(*s));
	struct net_decoder *d = NULL;
	CHECK_INT(net_decoder_new(&d, cfg, on_udp, on_tcp, s), 0);
	return d;
}

static const int64_t T0 = INT64_C(1700000000000000);

/* ---- link layers ---- */
static void test_ethernet_vlan(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t f[256] = {0};
	/* dst, src MAC, QinQ 0x88a8 vid 100, 0x8100 vid 200, IPv4 */
	size_t o = 12;
	o += put16(f + o, 0x88a8);
	o += put16(f + o, 100);
	o += put16(f + o, 0x8100);
	o += put16(f + o, 0x2000 | 200); /* priority bits must be masked */
	o += put16(f + o, 0x0800);
	o += ip4udp(f + o, "hello");
	net_decode_frame(d, 1, f, o + 6 /* Ethernet padding */, T0, 1);
	CHECK_INT(s.udp, 1);
	CHECK_STR(s.last, "hello");
	CHECK_INT(s.nvlan, 2);
	CHECK_INT(s.vlan[0], 100);
	CHECK_INT(s.vlan[1], 200);
	CHECK_INT(s.lastpkt.src.port, 5060);
	CHECK_INT(s.lastpkt.dst.port, 5062);
	CHECK_INT(s.lastpkt.src.family, ES_AF_INET);
	CHECK(memcmp(s.lastpkt.dst.ip, IP4B, 4) == 0);
	CHECK_INT(s.lastpkt.frame, 1);
	CHECK(s.lastpkt.ts_us == T0);

	/* Plain Ethernet, old QinQ 0x9100, ARP, truncated. */
	uint8_t g[128] = {0};
	o = 12;
	o += put16(g + o, 0x9100);
	o += put16(g + o, 5);
	o += put16(g + o, 0x0800);
	o += ip4udp(g + o, "x");
	net_decode_frame(d, 1, g, o, T0, 2);
	CHECK_INT(s.udp, 2);
	CHECK_INT(s.nvlan, 1);
	CHECK_INT(s.vlan[0], 5);
	/* PPPoE session: 0x8864, 6-byte header, PPP protocol 0x0021. */
	uint8_t pp[128] = {0};
	put16(pp + 12, 0x8864);
	pp[14] = 0x11;
	put16(pp + 20, 0x0021);
	o = 22 + ip4udp(pp + 22, "pppoe");
	net_decode_frame(d, 1, pp, o, T0, 2);
	CHECK_INT(s.udp, 3);
	CHECK_STR(s.last, "pppoe");
	uint8_t arp[60] = {0};
	put16(arp + 12, 0x0806);
	net_decode_frame(d, 1, arp, sizeof(arp), T0, 3);
	net_decode_frame(d, 1, arp, 10, T0, 4);
	/* VLAN tag cut short, and ten nested tags. */
	uint8_t v[64] = {0};
	put16(v + 12, 0x8100);
	net_decode_frame(d, 1, v, 15, T0, 5);
	for (int i = 0; i < 10; i++)
		put16(v + 12 + 4 * i, 0x8100);
	net_decode_frame(d, 1, v, sizeof(v), T0, 6);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->frames, 7);
	CHECK_INT(st->skip_non_ip, 2);
	CHECK_INT(st->skip_truncated, 2);
	net_decoder_free(d);
}

static void test_sll_null_raw(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t f[256] = {0};
	/* Linux cooked v1: 16 bytes, protocol at 14. */
	put16(f + 14, 0x0800);
	size_t n = 16 + ip4udp(f + 16, "sll");
	net_decode_frame(d, 113, f, n, T0, 1);
	CHECK_STR(s.last, "sll");
	/* Linux cooked v2: 20 bytes, protocol at 0. */
	memset(f, 0, sizeof(f));
	put16(f, 0x0800);
	n = 20 + ip4udp(f + 20, "sll2");
	net_decode_frame(d, 276, f, n, T0, 2);
	CHECK_STR(s.last, "sll2");
	/* DLT_NULL in little-endian host order, DLT_LOOP in network order. */
	memset(f, 0, sizeof(f));
	f[0] = 2;
	n = 4 + ip4udp(f + 4, "null");
	net_decode_frame(d, 0, f, n, T0, 3);
	CHECK_STR(s.last, "null");
	memset(f, 0, 4);
	f[3] = 2;
	net_decode_frame(d, 108, f, n, T0, 4);
	CHECK_INT(s.udp, 4);
	f[3] = 99; /* unknown family */
	net_decode_frame(d, 108, f, n, T0, 5);
	/* Raw IPv4 under DLT 12, 101 and 228. */
	n = ip4udp(f, "raw");
	net_decode_frame(d, 12, f, n, T0, 6);
	net_decode_frame(d, 101, f, n, T0, 7);
	net_decode_frame(d, 228, f, n, T0, 8);
	CHECK_INT(s.udp, 7);
	net_decode_frame(d, 229, f, n, T0, 9); /* IPv4 under the IPv6 DLT */
	net_decode_frame(d, 147, f, n, T0, 10);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->skip_non_ip, 1);
	CHECK_INT(st->skip_bad_ip, 1);
	CHECK_INT(st->skip_linktype, 1);
	net_decoder_free(d);
}

/* Raw IPv6 with hop-by-hop and destination options before UDP. */
static void test_ipv6_ext(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t f[256] = {0};
	f[0] = 0x60;
	f[6] = 0; /* hop-by-hop */
	f[7] = 64;
	memcpy(f + 8, IP6A, 16);
	memcpy(f + 24, IP6B, 16);
	uint8_t *e = f + 40;
	e[0] = 60; /* next: destination options */
	e[1] = 0;  /* 8 bytes */
	e[2] = 1;  /* PadN */
	e[3] = 4;
	e += 8;
	e[0] = 17;
	e[1] = 1; /* 16 bytes */
	e += 16;
	size_t u = udp(e, 5060, 5060, "v6 hello");
	put16(f + 4, (uint16_t)(24 + u));
	net_decode_frame(d, 101, f, 40 + 24 + u, T0, 1);
	CHECK_INT(s.udp, 1);
	CHECK_STR(s.last, "v6 hello");
	CHECK_INT(s.lastpkt.src.family, ES_AF_INET6);
	CHECK(memcmp(s.lastpkt.src.ip, IP6A, 16) == 0);
	/* Same under DLT_IPV6 and Ethernet. */
	net_decode_frame(d, 229, f, 40 + 24 + u, T0, 2);
	uint8_t g[300] = {0};
	put16(g + 12, 0x86dd);
	memcpy(g + 14, f, 40 + 24 + u);
	net_decode_frame(d, 1, g, 14 + 40 + 24 + u, T0, 3);
	CHECK_INT(s.udp, 3);
	/* Truncated inside the extension chain, and a payload length beyond
	 * the capture. */
	net_decode_frame(d, 229, f, 40 + 12, T0, 4);
	net_decode_frame(d, 229, f, 40 + 24 + 4, T0, 5);
	/* ICMPv6 counts as another protocol; ESP too. */
	f[6] = 58;
	net_decode_frame(d, 229, f, 40 + 24 + u, T0, 6);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->skip_truncated, 2);
	CHECK_INT(st->skip_other_proto, 1);
	net_decoder_free(d);
}

static void test_truncated_headers(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t f[128];
	size_t n = ip4udp(f, "abcdef");
	for (size_t cut = 0; cut < n; cut++)
		net_decode_frame(d, 12, f, cut, T0, cut + 1);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(s.udp, 0);
	CHECK_INT(st->frames, n);
	CHECK_INT(st->skip_truncated + st->skip_bad_ip, n);
	CHECK_INT(st->skip_truncated, n);
	/* Bad version and header length. */
	f[0] = 0x43;
	net_decode_frame(d, 228, f, n, T0, 100);
	f[0] = 0x55;
	net_decode_frame(d, 228, f, n, T0, 101);
	CHECK_INT(st->skip_bad_ip, 2);
	/* TCP header cut short; data offset too small. */
	uint8_t t[128];
	n = tcp4(t, 1, 0x18, "x", 1);
	put16(t + 2, 30);
	net_decode_frame(d, 12, t, 30, T0, 102);
	CHECK_INT(st->skip_truncated, 20 + 8 + 6 + 1);
	net_decode_frame(d, NULL == NULL ? 12 : 0, NULL, 0, T0, 103);
	net_decoder_free(d);
}

/* ---- fragments ---- */
static const char BIG[] =
	"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n"
	"Content-Length: 0\r\n\r\n0123456789abcdef0123456789abcdef";

/* IPv4 fragment of the UDP datagram u[0..ulen) covering [off, off+len). */
static size_t frag4(uint8_t *p, const uint8_t *u, size_t ulen, size_t off, size_t len,
		    uint16_t id)
{
	bool mf = off + len < ulen;
	ip4(p, 17, len, id, mf, off / 8);
	memcpy(p + 20, u + off, len);
	return 20 + len;
}

static void test_ipv4_frag(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t u[512];
	size_t ulen = udp(u, 5060, 5060, BIG);
	uint8_t p[600];
	/* Last, middle, duplicate middle, overlapping first. */
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 64, ulen - 64, 9), T0, 1);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 32, 32, 9), T0 + 1, 2);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 32, 32, 9), T0 + 2, 3);
	CHECK_INT(s.udp, 0);
	/* An overlapping fragment with different bytes must not win. */
	size_t n = frag4(p, u, ulen, 16, 24, 9);
	memset(p + 20, 'Z', 24);
	net_decode_frame(d, 12, p, n, T0 + 3, 4);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 0, 16, 9), T0 + 4, 5);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(s.udp, 1);
	CHECK_INT(st->frag_reassembled, 1);
	CHECK_INT(st->frag_held, 4);
	CHECK_INT(s.lastpkt.frame, 5);
	/* First copy wins: the 'Z's filled the hole at 16..32 of the UDP
	 * datagram (payload 8..24) but not 32..40, which was already there. */
	CHECK_INT(s.last_len, strlen(BIG));
	CHECK(memcmp(s.last, BIG, 8) == 0);
	CHECK(memcmp(s.last + 8, "ZZZZZZZZZZZZZZZZ", 16) == 0);
	CHECK(memcmp(s.last + 24, BIG + 24, strlen(BIG) - 24) == 0);
	net_decoder_free(d);

	/* Clean out-of-order reassembly checks the payload exactly. */
	d = mk(&s, NULL);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 48, ulen - 48, 10), T0, 1);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 0, 24, 10), T0, 2);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 24, 24, 10), T0, 3);
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 24, 24, 10), T0, 4); /* late dup */
	CHECK_INT(s.udp, 1);
	CHECK_STR(s.last, BIG);
	/* A fragment whose length contradicts the known end drops all. */
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 48, ulen - 48, 11), T0, 5);
	n = ip4(p, 17, 8, 11, true, 128 / 8); /* MF, yet beyond the end */
	memset(p + n, 'x', 8);
	net_decode_frame(d, 12, p, n + 8, T0, 6);
	CHECK_INT(net_decoder_stats(d)->skip_bad_ip, 1);
	net_decoder_free(d);
}

static void test_ipv4_frag_limits(void)
{
	struct seen s;
	struct net_config cfg;
	net_config_default(&cfg);
	cfg.frag_timeout_us = 5 * ES_US_PER_SEC;
	cfg.frag_max_bytes = 4096;
	struct net_decoder *d = mk(&s, &cfg);
	uint8_t u[512];
	size_t ulen = udp(u, 5060, 5060, BIG);
	uint8_t p[600];
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 0, 24, 20), T0, 1);
	/* Explicit expiry before the timeout keeps it. */
	net_decoder_expire(d, T0 + ES_US_PER_SEC);
	CHECK_INT(net_decoder_stats(d)->frag_expired, 0);
	net_decoder_expire(d, T0 + 6 * ES_US_PER_SEC);
	CHECK_INT(net_decoder_stats(d)->frag_expired, 1);
	/* The rest arrives too late: held, never completed. */
	net_decode_frame(d, 12, p, frag4(p, u, ulen, 24, ulen - 24, 20), T0 + 7 * ES_US_PER_SEC, 2);
	CHECK_INT(s.udp, 0);
	/* Automatic expiry from frame times. */
	net_decode_frame(d, 12, p, ip4udp(p, "tick"), T0 + 20 * ES_US_PER_SEC, 3);
	CHECK_INT(net_decoder_stats(d)->frag_expired, 2);
	CHECK_INT(s.udp, 1);
	/* Memory bound: many ids, each first fragment of a big datagram. */
	for (uint16_t id = 100; id < 200; id++) {
		size_t n = ip4(p, 17, 64, id, true, 0);
		memset(p + n, 'a', 64);
		net_decode_frame(d, 12, p, n + 64, T0 + 21 * ES_US_PER_SEC, 4 + id);
	}
	CHECK(net_decoder_stats(d)->frag_overflow > 0);
	/* Bad fragment sizes: non-last not a multiple of 8, beyond 64 KiB. */
	size_t n = ip4(p, 17, 13, 300, true, 0);
	net_decode_frame(d, 12, p, n + 13, T0 + 21 * ES_US_PER_SEC, 300);
	n = ip4(p, 17, 16, 301, false, 8190);
	net_decode_frame(d, 12, p, n + 16, T0 + 21 * ES_US_PER_SEC, 301);
	CHECK_INT(net_decoder_stats(d)->skip_bad_ip, 2);
	net_decoder_free(d);
}

/* IPv6 fragments: fragment header, out of order. */
static size_t frag6(uint8_t *p, const uint8_t *u, size_t ulen, size_t off, size_t len,
		    uint32_t id)
{
	memset(p, 0, 48);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)(8 + len));
	p[6] = 44;
	p[7] = 64;
	memcpy(p + 8, IP6A, 16);
	memcpy(p + 24, IP6B, 16);
	p[40] = 17;
	put16(p + 42, (uint16_t)(off | (off + len < ulen ? 1 : 0)));
	put32(p + 44, id);
	memcpy(p + 48, u + off, len);
	return 48 + len;
}

static void test_ipv6_frag(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	uint8_t u[512];
	size_t ulen = udp(u, 5060, 5060, BIG);
	uint8_t p[600];
	net_decode_frame(d, 229, p, frag6(p, u, ulen, 40, ulen - 40, 77), T0, 1);
	net_decode_frame(d, 229, p, frag6(p, u, ulen, 0, 40, 77), T0, 2);
	CHECK_INT(s.udp, 1);
	CHECK_STR(s.last, BIG);
	CHECK_INT(s.lastpkt.src.family, ES_AF_INET6);
	/* Atomic fragment (offset 0, M=0) is just a datagram. */
	net_decode_frame(d, 229, p, frag6(p, u, ulen, 0, ulen, 78), T0, 3);
	CHECK_INT(s.udp, 2);
	/* Different ids do not mix; timeout drops the held one. */
	net_decode_frame(d, 229, p, frag6(p, u, ulen, 0, 40, 79), T0, 4);
	net_decode_frame(d, 229, p, frag6(p, u, ulen, 40, ulen - 40, 80), T0, 5);
	CHECK_INT(s.udp, 2);
	net_decoder_expire(d, T0 + 31 * ES_US_PER_SEC);
	CHECK_INT(net_decoder_stats(d)->frag_expired, 2);
	CHECK_INT(net_decoder_stats(d)->frag_reassembled, 1);
	net_decoder_free(d);
}

/* ---- TCP ---- */
#define M1 "OPTIONS sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhello"
#define M2 "BYE sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n"

static void seg(struct net_decoder *d, uint32_t seq, uint8_t flags, const char *data,
		size_t n, uint64_t frame)
{
	uint8_t p[2048];
	size_t len = tcp4(p, seq, flags, data, n);
	net_decode_frame(d, 12, p, len, T0 + (int64_t)frame, frame);
}

static void test_tcp_basic(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	const char two[] = M1 M2;
	seg(d, 1000, 0x02, "", 0, 1); /* SYN */
	seg(d, 1001, 0x18, M2, 10, 2);
	seg(d, 1000, 0x02, "", 0, 2); /* SYN again: same connection */
	const char *m2 = M2;
	seg(d, 1011, 0x18, m2 + 10, strlen(m2) - 10, 2);
	CHECK_INT(s.msgs, 1);
	seg(d, 5000, 0x02, "", 0, 2); /* a new connection, same ports */
	seg(d, 5001, 0x18, two, strlen(two), 2);
	CHECK_INT(s.msgs, 3);
	CHECK_STR(s.last, M2);
	s.msgs = 2;
	CHECK_INT(s.lastpkt.proto, NET_PROTO_TCP);
	CHECK_INT(s.lastpkt.dst.port, 5060);
	/* One message over three segments. */
	uint32_t seq = 5001 + (uint32_t)strlen(two);
	const char *m = M1;
	seg(d, seq, 0x18, m, 10, 3);
	seg(d, seq + 10, 0x18, m + 10, 20, 4);
	CHECK_INT(s.msgs, 2);
	seg(d, seq + 30, 0x18, m + 30, strlen(M1) - 30, 5);
	CHECK_INT(s.msgs, 3);
	CHECK_STR(s.last, M1);
	CHECK_INT(s.lastpkt.frame, 5);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->tcp_segments, 6);
	/* FIN closes; RST forgets. */
	seq += (uint32_t)strlen(M1);
	seg(d, seq, 0x11, "", 0, 6);
	seg(d, seq, 0x18, M2, strlen(M2), 7); /* after FIN: stale */
	CHECK_INT(s.msgs, 3);
	seg(d, seq, 0x04, "", 0, 8);
	net_decoder_free(d);
}

static void test_tcp_reorder(void)
{
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	const char *m = M1 M2;
	size_t n = strlen(m);
	/* Mid-stream pickup (no SYN), segment 2 before 1, 3 retransmitted,
	 * and an overlapping retransmission of 1+2. */
	uint32_t base = 0xfffffff0u; /* wraps around 2^32 */
	seg(d, base, 0x18, m, 10, 1);
	seg(d, base + 20, 0x18, m + 20, 15, 2);
	seg(d, base + 35, 0x18, m + 35, n - 35, 3);
	CHECK_INT(s.msgs, 0);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->tcp_out_of_order, 2);
	seg(d, base + 35, 0x18, m + 35, n - 35, 4); /* duplicate held segment */
	seg(d, base + 5, 0x18, m + 5, 20, 5);      /* fills the gap, overlaps */
	CHECK_INT(s.msgs, 2);
	CHECK_STR(s.last, M2);
	seg(d, base, 0x18, m, 30, 6); /* stale retransmission */
	CHECK_INT(st->tcp_retrans, 2);
	CHECK_INT(s.msgs, 2);
	net_decoder_free(d);
}

static void test_tcp_limits(void)
{
	struct seen s;
	struct net_config cfg;
	net_config_default(&cfg);
	cfg.tcp_max_buffer = 64;
	cfg.tcp_idle_us = 10 * ES_US_PER_SEC;
	cfg.tcp_max_flows = 4;
	struct net_decoder *d = mk(&s, &cfg);
	char junk[50];
	memset(junk, 'j', sizeof(junk));
	/* No message boundary ever: the buffer bound drops old bytes. */
	seg(d, 1, 0x18, junk, 50, 1);
	seg(d, 51, 0x18, junk, 50, 2);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK_INT(st->tcp_overflow, 50);
	/* A gap that never fills: held segments exceed the bound; the stream
	 * gives up on the gap and resumes after it. */
	seg(d, 200, 0x18, junk, 40, 3);
	seg(d, 240, 0x18, junk, 40, 4);
	CHECK_INT(st->tcp_gaps, 1);
	/* Four flows at most: a fifth evicts the least recently used. */
	uint8_t p[256];
	for (int i = 0; i < 6; i++) {
		size_t n = tcp4(p, 1, 0x18, "BYE sip:a SIP/2.0\r\n", 19);
		put16(p + 20, (uint16_t)(41000 + i));
		net_decode_frame(d, 12, p, n, T0 + 10, 10 + (uint64_t)i);
	}
	CHECK_INT(s.msgs, 0);
	/* Idle expiry forgets the stream: new data is picked up fresh. */
	net_decoder_expire(d, T0 + 11 * ES_US_PER_SEC);
	seg(d, 5000, 0x18, M2, strlen(M2), 5);
	CHECK_INT(s.msgs, 1);
	net_decoder_free(d);
}

/* ---- capture files ---- */
static void write_pcap(const char *path, int n)
{
	pcap_t *pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
							  PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *dp = pcap_dump_open(pd, path);
	CHECK(dp != NULL);
	if (!dp) {
		pcap_close(pd);
		return;
	}
	for (int i = 0; i < n; i++) {
		uint8_t f[200] = {0};
		put16(f + 12, 0x0800);
		size_t len = 14 + ip4udp(f + 14, "file packet");
		struct pcap_pkthdr h = {0};
		h.ts.tv_sec = 1700000000 + i;
		h.ts.tv_usec = 250;
		h.caplen = h.len = (bpf_u_int32)len;
		pcap_dump((u_char *)dp, &h, f);
	}
	pcap_dump_close(dp);
	pcap_close(pd);
}

/* read() calls of this process so far (/proc/self/io), or -1. */
static long syscr(void)
{
	char line[64];
	long v = -1;
	FILE *f = fopen("/proc/self/io", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "syscr: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* A capture is read in large blocks, not stdio's 4 KiB (a read() every
 * ~60 small packets, which showed in an import's profile). */
static void test_file_reads(void)
{
	char path[64], err[256];
	struct net_file *f = NULL;
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	uint64_t frame;
	int n = 0;

	snprintf(path, sizeof(path), "/tmp/test_net_%d_big.pcap", (int)getpid());
	write_pcap(path, 20000); /* about 1.4 MB */
	long before = syscr();
	CHECK_INT(net_file_open(&f, path, err, sizeof(err)), 0);
	while (f && net_file_next(f, &data, &caplen, &ts, &frame) == 1)
		n++;
	long reads = syscr() - before;
	fprintf(stderr, "  %d packets, %llu bytes in %ld read() calls\n", n,
		(unsigned long long)(f ? net_file_size(f) : 0), reads);
	CHECK_INT(n, 20000);
	if (before >= 0)
		CHECK(reads <= 40); /* 4 KiB blocks: about 350 */
	net_file_close(f);
	unlink(path);
}

static void test_file(void)
{
	char path[64], cut[64], gm[64];
	snprintf(path, sizeof(path), "/tmp/test_net_%d.pcap", (int)getpid());
	snprintf(cut, sizeof(cut), "/tmp/test_net_%d_cut.pcap", (int)getpid());
	snprintf(gm, sizeof(gm), "/tmp/test_net_%d_gmbu.cap", (int)getpid());
	write_pcap(path, 3);

	char err[512];
	struct net_file *f = NULL;
	CHECK_INT(net_file_open(&f, path, err, sizeof(err)), 0);
	if (!f)
		return;
	CHECK_INT(net_file_dlt(f), 1);
	CHECK(net_file_size(f) > 24);
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	uint64_t frame;
	int r, n = 0;
	while ((r = net_file_next(f, &data, &caplen, &ts, &frame)) == 1) {
		n++;
		CHECK_INT(frame, n);
		if (n == 2)
			CHECK(ts == INT64_C(1700000001000250));
		net_decode_frame(d, net_file_dlt(f), data, caplen, ts, frame);
	}
	CHECK_INT(r, 0);
	CHECK_INT(n, 3);
	CHECK_INT(s.udp, 3);
	CHECK(net_file_offset(f) == net_file_size(f));
	uint64_t size = net_file_size(f);
	net_file_close(f);
	net_decoder_free(d);

	/* A copy cut in the middle of the third record. */
	FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
	CHECK(in && out);
	if (in && out) {
		uint8_t buf[4096];
		size_t got = fread(buf, 1, sizeof(buf), in);
		CHECK(got == size);
		fwrite(buf, 1, got - 10, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	CHECK_INT(net_file_open(&f, cut, err, sizeof(err)), 0);
	if (f) {
		n = 0;
		while ((r = net_file_next(f, &data, &caplen, &ts, &frame)) == 1)
			n++;
		CHECK_INT(n, 2);
		CHECK_INT(r, ES_ETRUNC);
		CHECK(strstr(net_file_error(f), "frame 3") != NULL);
		net_file_close(f);
	}

	/* Network Monitor files are recognised and explained. */
	out = fopen(gm, "wb");
	if (out) {
		fwrite("GMBU\x02\x00\x00\x00 rest of a netmon file", 1, 30, out);
		fclose(out);
	}
	CHECK_INT(net_file_open(&f, gm, err, sizeof(err)), ES_EFORMAT);
	CHECK(strstr(err, "editcap -F pcap") != NULL);
	CHECK(strstr(err, "Network Monitor") != NULL);
	/* Not a capture at all; missing file. */
	out = fopen(gm, "wb");
	if (out) {
		fwrite("hello, this is text, not pcap\n", 1, 30, out);
		fclose(out);
	}
	CHECK_INT(net_file_open(&f, gm, err, sizeof(err)), ES_EFORMAT);
	CHECK_INT(net_file_open(&f, "/nonexistent/x.pcap", err, sizeof(err)), ES_EIO);
	CHECK(strstr(err, "/nonexistent/x.pcap") != NULL);
	CHECK_INT(net_file_open(&f, "/tmp", err, sizeof(err)), ES_EIO);
	unlink(path);
	unlink(cut);
	unlink(gm);
}

/* A real capture, when the shared ones are present. */
static void test_shared_capture(void)
{
	const char *path = ES_SOURCE_DIR "/../shared/captures/sip-over-tcp.pcap";
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "skip: %s not present\n", path);
		return;
	}
	char err[512];
	struct net_file *f = NULL;
	CHECK_INT(net_file_open(&f, path, err, sizeof(err)), 0);
	if (!f)
		return;
	struct seen s;
	struct net_decoder *d = mk(&s, NULL);
	const uint8_t *data;
	size_t caplen;
	int64_t ts = 0;
	uint64_t frame;
	int r;
	while ((r = net_file_next(f, &data, &caplen, &ts, &frame)) == 1)
		net_decode_frame(d, net_file_dlt(f), data, caplen, ts, frame);
	CHECK_INT(r, 0);
	net_decoder_expire(d, ts + 3600 * ES_US_PER_SEC);
	const struct net_stats *st = net_decoder_stats(d);
	CHECK(st->frames > 0);
	CHECK(st->tcp_segments > 0);
	CHECK(s.msgs > 0);
	fprintf(stderr, "  sip-over-tcp: %llu frames, %d udp, %llu tcp segments, %d SIP "
		"messages, %llu retrans, %llu ooo\n",
		(unsigned long long)st->frames, s.udp, (unsigned long long)st->tcp_segments,
		s.msgs, (unsigned long long)st->tcp_retrans,
		(unsigned long long)st->tcp_out_of_order);
	net_file_close(f);
	net_decoder_free(d);

	/* PPPoE-framed SIP over UDP. */
	path = ES_SOURCE_DIR "/../shared/captures/DTMFsipinfo.pcap";
	if (net_file_open(&f, path, err, sizeof(err)) == 0) {
		d = mk(&s, NULL);
		while ((r = net_file_next(f, &data, &caplen, &ts, &frame)) == 1)
			net_decode_frame(d, net_file_dlt(f), data, caplen, ts, frame);
		CHECK_INT(r, 0);
		CHECK(s.udp > 0);
		CHECK_INT(net_decoder_stats(d)->skip_non_ip, 0);
		net_file_close(f);
		net_decoder_free(d);
	}
	/* pcapng. */
	path = ES_SOURCE_DIR "/../shared/captures/sip-488-codec-reject.pcapng";
	if (net_file_open(&f, path, err, sizeof(err)) == 0) {
		d = mk(&s, NULL);
		while ((r = net_file_next(f, &data, &caplen, &ts, &frame)) == 1)
			net_decode_frame(d, net_file_dlt(f), data, caplen, ts, frame);
		CHECK_INT(r, 0);
		CHECK(s.udp > 0);
		net_file_close(f);
		net_decoder_free(d);
	}
	/* The Network Monitor capture among them is refused with the hint. */
	path = ES_SOURCE_DIR "/../shared/captures/c07-sip-r2.cap";
	if (access(path, R_OK) == 0) {
		CHECK_INT(net_file_open(&f, path, err, sizeof(err)), ES_EFORMAT);
		CHECK(strstr(err, "editcap -F pcap") != NULL);
	}
}

int main(void)
{
	RUN(test_ethernet_vlan);
	RUN(test_sll_null_raw);
	RUN(test_ipv6_ext);
	RUN(test_truncated_headers);
	RUN(test_ipv4_frag);
	RUN(test_ipv4_frag_limits);
	RUN(test_ipv6_frag);
	RUN(test_tcp_basic);
	RUN(test_tcp_reorder);
	RUN(test_tcp_limits);
	RUN(test_file);
	RUN(test_file_reads);
	RUN(test_shared_capture);
	return CHECK_DONE();
}
