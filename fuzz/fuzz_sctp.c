/* fuzz_sctp.c - SIP over SCTP (src/net/sctp.c): the input is a run of SCTP
 * packets (common header and chunks), each [dir len_hi len_lo bytes...]:
 * dir's low bit picks the direction of one association, the next bit a
 * second association on other ports (state for two flows, and evictions of
 * the fixed table).  Each packet goes behind a fixed Ethernet + IPv4
 * header with protocol 132.  A short input is one packet. */
#include "net/net.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned sink;

static void on_msg(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	unsigned x = pkt->src.port;
	for (size_t i = 0; i < pkt->len; i++)
		x += pkt->data[i];
	sink = x;
}

static void one(struct net_decoder *d, unsigned dir, const uint8_t *b, size_t n,
		uint64_t frame)
{
	uint8_t *f = malloc(34 + n + 1);
	if (!f)
		return;
	memset(f, 0, 34);
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	size_t tot = 20 + n > 0xffff ? 0 : 20 + n;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 132;
	ip[12] = 192;
	ip[15] = (uint8_t)(1 + (dir & 1) + 2 * ((dir >> 1) & 1));
	ip[16] = 192;
	ip[19] = (uint8_t)(2 - (dir & 1) + 2 * ((dir >> 1) & 1));
	memcpy(f + 34, b, n);
	net_decode_frame(d, 1, f, 34 + n, (int64_t)frame * 1000, frame);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_decoder *d = NULL;
	if (net_decoder_new(&d, NULL, on_msg, NULL, NULL))
		return 0;
	if (size < 16) {
		one(d, 0, data, size, 1);
	} else {
		size_t o = 0;
		uint64_t frame = 1;
		while (o + 3 <= size) {
			unsigned dir = data[o];
			size_t len = (size_t)data[o + 1] << 8 | data[o + 2];
			o += 3;
			if (len > size - o)
				len = size - o;
			one(d, dir, data + o, len, frame++);
			o += len;
		}
	}
	net_decoder_expire(d, INT64_C(1) << 40);
	net_decoder_free(d);
	return 0;
}
