/* fuzz_tunnel.c - the tunnel decoders (src/net/tunnel.c) through the
 * decoder's public entry.  Byte 0 picks where the input goes, behind a
 * fixed outer Ethernet + IPv4 (+ UDP) header: a GRE header and what it
 * carries (ERSPAN I/II/III, Ethernet, IP, MPLS), a VXLAN or Geneve header,
 * an inner IPv4 or IPv6 packet (IP-in-IP), or an MPLS label stack.  The
 * rest is the tunnel's bytes, read as several frames (16-bit length
 * prefixes) after the whole, so that inner fragments and TCP streams keep
 * state across them. */
#include "net/net.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned sink;

static void touch(const struct net_pkt *pkt)
{
	unsigned x = pkt->src.port ^ pkt->dst.port ^ pkt->proto;
	for (size_t i = 0; i < pkt->len; i++)
		x += pkt->data[i];
	sink = x;
}

static void on_udp(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	touch(pkt);
}

static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	touch(pkt);
	return pkt->len > 100 ? pkt->len / 2 : 0;
}

enum { TO_GRE, TO_VXLAN, TO_GENEVE, TO_IPIP4, TO_IPIP6, TO_MPLS, TO_N };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The frame: outer headers for `to`, then b[0..n). */
static void one(struct net_decoder *d, int to, const uint8_t *b, size_t n, uint64_t frame)
{
	size_t hl = 14 + (to == TO_MPLS ? 0 : 20) + (to == TO_VXLAN || to == TO_GENEVE ? 8 : 0);
	uint8_t *f = malloc(hl + n + 1);
	if (!f)
		return;
	memset(f, 0, hl);
	put16(f + 12, to == TO_MPLS ? 0x8847 : 0x0800);
	if (to != TO_MPLS) {
		uint8_t *ip = f + 14;
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(hl - 14 + n > 0xffff ? 0 : hl - 14 + n));
		ip[8] = 64;
		ip[9] = to == TO_GRE ? 47 : to == TO_IPIP4 ? 4 : to == TO_IPIP6 ? 41 : 17;
		ip[12] = 10;
		ip[15] = 1;
		ip[16] = 10;
		ip[19] = 2;
		if (to == TO_VXLAN || to == TO_GENEVE) {
			uint8_t *u = ip + 20;
			put16(u, 50000);
			put16(u + 2, to == TO_VXLAN ? 4789 : 6081);
			put16(u + 4, (uint16_t)(8 + n > 0xffff ? 0 : 8 + n));
		}
	}
	memcpy(f + hl, b, n);
	net_decode_frame(d, 1, f, hl + n, (int64_t)frame * 1000, frame);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int to = data[0] % TO_N;
	struct net_config cfg;
	net_config_default(&cfg);
	cfg.tcp_max_buffer = 4096;
	cfg.frag_max_bytes = 1 << 16;
	cfg.tcp_max_flows = 8;
	struct net_decoder *d = NULL;
	if (net_decoder_new(&d, &cfg, on_udp, on_tcp, NULL))
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	one(d, to, p, n, 1);
	size_t o = 0;
	uint64_t frame = 2;
	while (o + 2 <= n) {
		size_t len = (size_t)p[o] << 8 | p[o + 1];
		o += 2;
		if (len > n - o)
			len = n - o;
		one(d, to, p + o, len, frame++);
		o += len;
	}
	net_decoder_expire(d, INT64_C(1) << 40);
	net_decoder_free(d);
	return 0;
}
