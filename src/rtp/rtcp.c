/*
 * rtcp.c - compound RTCP packets (RFC 3550 section 6): sender and receiver
 * reports are decoded, SDES, BYE, APP and unknown types are length-checked
 * and skipped.  Every read is bounded by the packet's own length field,
 * which in turn must fit in the datagram.
 */
#include "rtp/rtp.h"

#include <string.h>

static uint16_t rtp_rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t rtp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void rtcp_block(const uint8_t *b, struct rtcp_block *o)
{
	o->ssrc = rtp_rd32(b);
	o->fraction_lost = b[4];
	uint32_t cl = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	o->cum_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
	o->ext_max_seq = rtp_rd32(b + 8);
	o->jitter = rtp_rd32(b + 12);
	o->lsr = rtp_rd32(b + 16);
	o->dlsr = rtp_rd32(b + 20);
}

/* SR or RR; p/len is the whole RTCP packet (header included). */
static int rtcp_report(const uint8_t *p, size_t len, struct rtcp_report *r)
{
	unsigned rc = p[0] & 0x1f;
	size_t off = 8;

	if (len < 8)
		return ES_EPARSE;
	memset(r, 0, sizeof(*r));
	r->type = p[1];
	r->sender_ssrc = rtp_rd32(p + 4);
	if (r->type == 200) {
		if (len < 28)
			return ES_EPARSE;
		r->has_sender_info = true;
		r->ntp = (uint64_t)rtp_rd32(p + 8) << 32 | rtp_rd32(p + 12);
		r->rtp_ts = rtp_rd32(p + 16);
		r->sender_packets = rtp_rd32(p + 20);
		r->sender_octets = rtp_rd32(p + 24);
		off = 28;
	}
	if ((len - off) / 24 < rc)
		return ES_EPARSE;
	for (unsigned i = 0; i < rc && i < RTCP_MAX_BLOCKS; i++)
		rtcp_block(p + off + 24 * i, &r->blocks[i]);
	r->nblocks = rc; /* 5 bits: at most 31 == RTCP_MAX_BLOCKS */
	return 0;
}

/* SDES: count chunks of SSRC + items ending with a zero byte, each chunk
 * padded to 32 bits. */
static int rtcp_sdes(const uint8_t *p, size_t len)
{
	unsigned sc = p[0] & 0x1f;
	size_t off = 4;

	for (unsigned i = 0; i < sc; i++) {
		if (len - off < 4)
			return ES_EPARSE;
		off += 4;
		for (;;) {
			if (off >= len)
				return ES_EPARSE;
			if (p[off] == 0) {
				off++;
				break;
			}
			if (len - off < 2 || (size_t)p[off + 1] > len - off - 2)
				return ES_EPARSE;
			off += 2 + (size_t)p[off + 1];
		}
		off = (off + 3) & ~(size_t)3;
		if (off > len)
			return ES_EPARSE;
	}
	return 0;
}

static int rtcp_bye(const uint8_t *p, size_t len)
{
	size_t sc = p[0] & 0x1f;

	if ((len - 4) / 4 < sc)
		return ES_EPARSE;
	size_t off = 4 + 4 * sc;
	if (off < len && (size_t)p[off] > len - off - 1)
		return ES_EPARSE; /* reason longer than the packet */
	return 0;
}

int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_report *out,
	       unsigned max, unsigned *n)
{
	size_t off = 0;
	unsigned got = 0;
	int err = 0;

	if (n)
		*n = 0;
	if (!p)
		return ES_EINVAL;
	if (len < 4)
		return ES_ETRUNC;
	while (off < len) {
		const uint8_t *q = p + off;
		if (len - off < 4) {
			err = ES_ETRUNC;
			break;
		}
		if ((q[0] >> 6) != 2 || q[1] < 192 || q[1] > 223) {
			err = ES_EPARSE;
			break;
		}
		size_t plen = 4 * ((size_t)rtp_rd16(q + 2) + 1);
		if (plen > len - off) {
			err = ES_ETRUNC;
			break;
		}
		size_t body = plen;
		if (q[0] & 0x20) {
			/* Padding: only the last packet of a compound may have it. */
			uint8_t pad = q[plen - 1];
			if (off + plen != len || pad == 0 || pad > plen - 4) {
				err = ES_EPARSE;
				break;
			}
			body = plen - pad;
		}
		switch (q[1]) {
		case 200:
		case 201:
			if (out && got < max) {
				err = rtcp_report(q, body, &out[got]);
				if (!err)
					got++;
			} else {
				struct rtcp_report tmp;
				err = rtcp_report(q, body, &tmp);
			}
			break;
		case 202:
			err = rtcp_sdes(q, body);
			break;
		case 203:
			err = rtcp_bye(q, body);
			break;
		case 204:
			if (body < 12)
				err = ES_EPARSE;
			break;
		default:
			break; /* RTPFB, PSFB, XR...: length checked above */
		}
		if (err)
			break;
		off += plen;
	}
	if (n)
		*n = got;
	return err;
}
