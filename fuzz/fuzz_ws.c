/* fuzz_ws.c - WebSocket on a TCP stream (src/net/ws.c and its hook in
 * src/net/tcp.c).  Byte 0: bit 0 set = the input starts the stream itself
 * (an Upgrade head of its own, or anything); clear = a fixed Upgrade
 * request and 101 response come first, so the input is frames.  Then
 * segments [dir len_hi len_lo bytes...]: dir's low bit is the direction
 * (client to server, server to client), bit 1 a gap (the segment is sent
 * 100 bytes ahead: out-of-order holding and gap skipping).  A masked client
 * frame is unmasked in place in the stream's buffer. */
#include "net/net.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned sink;

static void on_msg(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	unsigned x = pkt->proto;
	for (size_t i = 0; i < pkt->len; i++)
		x += pkt->data[i];
	sink = x;
}

static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	sink = (unsigned)pkt->len;
	return pkt->len;
}

static uint32_t seq[2];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void one(struct net_decoder *d, unsigned dir, const uint8_t *b, size_t n,
		uint64_t frame)
{
	int s = dir & 1;
	uint8_t *f = malloc(54 + n + 1);
	if (!f)
		return;
	memset(f, 0, 54);
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + n > 0xffff ? 0 : 40 + n));
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 192;
	ip[15] = (uint8_t)(1 + s);
	ip[16] = 192;
	ip[19] = (uint8_t)(2 - s);
	uint8_t *t = ip + 20;
	put16(t, s ? 8080 : 43380);
	put16(t + 2, s ? 43380 : 8080);
	uint32_t q = seq[s] + ((dir & 2) ? 100 : 0);
	t[4] = (uint8_t)(q >> 24);
	t[5] = (uint8_t)(q >> 16);
	t[6] = (uint8_t)(q >> 8);
	t[7] = (uint8_t)q;
	t[12] = 5 << 4;
	t[13] = 0x18;
	if (!(dir & 2))
		seq[s] += (uint32_t)n;
	memcpy(f + 54, b, n);
	net_decode_frame(d, 1, f, 54 + n, (int64_t)frame * 1000, frame);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct net_config cfg;
	net_config_default(&cfg);
	cfg.tcp_max_buffer = 8192;
	struct net_decoder *d = NULL;
	if (net_decoder_new(&d, &cfg, on_msg, on_tcp, NULL))
		return 0;
	seq[0] = 1000;
	seq[1] = 9000;
	uint64_t frame = 1;
	if (!(data[0] & 1)) {
		static const char req[] = "GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
					  "Connection: Upgrade\r\n\r\n";
		static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
					   "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
		one(d, 0, (const uint8_t *)req, sizeof(req) - 1, frame++);
		one(d, 1, (const uint8_t *)resp, sizeof(resp) - 1, frame++);
	}
	size_t o = 1;
	while (o + 3 <= size) {
		unsigned dir = data[o];
		size_t len = (size_t)data[o + 1] << 8 | data[o + 2];
		o += 3;
		if (len > size - o)
			len = size - o;
		one(d, dir, data + o, len, frame++);
		o += len;
	}
	if (o < size)
		one(d, 0, data + o, size - o, frame++);
	net_decoder_expire(d, INT64_C(1) << 40);
	net_decoder_free(d);
	return 0;
}
