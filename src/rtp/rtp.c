/*
 * rtp.c - RTP fixed header parsing (RFC 3550 section 5.1) and telling RTP
 * from RTCP on a shared port (RFC 5761 section 4).
 */
#include "rtp/rtp.h"

static uint16_t rtp_rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t rtp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *h)
{
	if (!p || !h)
		return ES_EINVAL;
	if (len < 12)
		return ES_ETRUNC;
	if ((p[0] >> 6) != 2)
		return ES_EPARSE;
	/* RTCP SR..APP (200..204) seen as RTP would be marker + PT 72..76. */
	if (p[1] >= 200 && p[1] <= 204)
		return ES_EPARSE;

	h->version = 2;
	h->padding = (p[0] & 0x20) != 0;
	h->extension = (p[0] & 0x10) != 0;
	h->cc = p[0] & 0x0f;
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = rtp_rd16(p + 2);
	h->ts = rtp_rd32(p + 4);
	h->ssrc = rtp_rd32(p + 8);

	size_t off = 12 + 4u * h->cc;
	if (off > len)
		return ES_ETRUNC;
	if (h->extension) {
		if (len - off < 4)
			return ES_ETRUNC;
		size_t words = rtp_rd16(p + off + 2);
		off += 4;
		if (words * 4 > len - off)
			return ES_ETRUNC;
		off += words * 4;
	}
	size_t end = len;
	if (h->padding) {
		if (end <= off)
			return ES_ETRUNC; /* no room for the padding count */
		uint8_t pad = p[len - 1];
		if (pad == 0)
			return ES_EPARSE;
		if (pad > end - off)
			return ES_ETRUNC;
		end -= pad;
	}
	h->payload = p + off;
	h->payload_len = end - off;
	return 0;
}

bool rtp_is_rtcp(const uint8_t *p, size_t len)
{
	if (!p || len < 8 || (p[0] >> 6) != 2)
		return false;
	return p[1] >= 192 && p[1] <= 223;
}
