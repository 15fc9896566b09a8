/* fuzz_net_frame.c - one frame through the network decoder.  The first byte
 * picks the link type, the rest is the frame.  Several frames of one input
 * are separated so that fragment and TCP state gets exercised: each chunk
 * is [len_hi len_lo bytes...] after the selector, and a short tail is one
 * last frame. */
#include "net/net.h"

#include <stdint.h>
#include <stdlib.h>

static const int dlts[] = {1, 113, 276, 12, 101, 228, 229, 0, 108};

static volatile unsigned sink;

static void touch(const struct net_pkt *pkt)
{
	unsigned x = pkt->src.port ^ pkt->dst.port;
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
	/* Consume up to the first CRLFCRLF, or nothing, to keep bytes
	 * buffered across segments. */
	for (size_t i = 0; i + 3 < pkt->len; i++)
		if (pkt->data[i] == '\r' && pkt->data[i + 1] == '\n' &&
		    pkt->data[i + 2] == '\r' && pkt->data[i + 3] == '\n')
			return i + 4;
	return pkt->len > 2000 ? pkt->len : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
	struct net_config cfg;
	net_config_default(&cfg);
	cfg.tcp_max_buffer = 4096;
	cfg.frag_max_bytes = 1 << 16;
	cfg.tcp_max_flows = 8;
	struct net_decoder *d = NULL;
	if (net_decoder_new(&d, &cfg, on_udp, on_tcp, NULL))
		return 0;
	/* The whole rest as one frame, copied so that ASan sees its end. */
	size_t n = size - 1;
	uint8_t *f = malloc(n ? n : 1);
	if (!f) {
		net_decoder_free(d);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		f[i] = data[1 + i];
	net_decode_frame(d, dlt, f, n, 1000, 1);
	/* Then the same bytes split into length-prefixed frames. */
	size_t o = 0;
	uint64_t frame = 2;
	while (o + 2 <= n) {
		size_t len = (size_t)f[o] << 8 | f[o + 1];
		o += 2;
		if (len > n - o)
			len = n - o;
		uint8_t *g = malloc(len ? len : 1);
		if (!g)
			break;
		for (size_t i = 0; i < len; i++)
			g[i] = f[o + i];
		net_decode_frame(d, dlt, g, len, 1000 + (int64_t)frame * 1000, frame);
		free(g);
		o += len;
		frame++;
	}
	free(f);
	net_decoder_expire(d, INT64_C(1) << 40);
	(void)net_decoder_stats(d);
	net_decoder_free(d);
	return 0;
}
