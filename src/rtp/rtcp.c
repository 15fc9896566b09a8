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

/* The packet of a compound at off (RFC 3550 6.1): its length *plen and the
 * length *body without padding, both within len. */
static int rtcp_next(const uint8_t *p, size_t len, size_t off, size_t *plen, size_t *body)
{
	const uint8_t *q = p + off;
	if (len - off < 4)
		return ES_ETRUNC;
	if ((q[0] >> 6) != 2 || q[1] < 192 || q[1] > 223)
		return ES_EPARSE;
	*plen = 4 * ((size_t)rtp_rd16(q + 2) + 1);
	if (*plen > len - off)
		return ES_ETRUNC;
	*body = *plen;
	if (q[0] & 0x20) {
		/* Padding: only the last packet of a compound may have it. */
		uint8_t pad = q[*plen - 1];
		if (off + *plen != len || pad == 0 || pad > *plen - 4)
			return ES_EPARSE;
		*body = *plen - pad;
	}
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
		size_t plen, body;
		if ((err = rtcp_next(p, len, off, &plen, &body)))
			break;
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

/* RFC 3611 4.7: the 36 bytes of a VoIP metrics block (header included). */
#define XR_VOIP_LEN 36

static void xr_voip(const uint8_t *b, uint32_t reporter, struct rtcp_xr_voip *o)
{
	o->reporter_ssrc = reporter;
	o->ssrc = rtp_rd32(b + 4);
	o->loss_rate = b[8];
	o->discard_rate = b[9];
	o->burst_density = b[10];
	o->gap_density = b[11];
	o->burst_ms = rtp_rd16(b + 12);
	o->gap_ms = rtp_rd16(b + 14);
	o->rtt_ms = rtp_rd16(b + 16);
	o->end_system_ms = rtp_rd16(b + 18);
	o->signal_dbm = (int8_t)b[20];
	o->noise_dbm = (int8_t)b[21];
	o->rerl = b[22];
	o->gmin = b[23];
	o->r_factor = b[24];
	o->ext_r_factor = b[25];
	o->mos_lq = b[26];
	o->mos_cq = b[27];
	o->rx_config = b[28];
	o->jb_nominal_ms = rtp_rd16(b + 30);
	o->jb_max_ms = rtp_rd16(b + 32);
	o->jb_abs_max_ms = rtp_rd16(b + 34);
}

int rtcp_parse_xr(const uint8_t *p, size_t len, struct rtcp_xr_voip *out, unsigned max,
		  unsigned *n)
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
	while (off < len && !err) {
		const uint8_t *q = p + off;
		size_t plen, body;
		if ((err = rtcp_next(p, len, off, &plen, &body)))
			break;
		off += plen;
		if (q[1] != 207)
			continue;
		/* RFC 3611 2: header, the sender's SSRC, then report blocks
		 * (block type, type-specific, length in words minus one) */
		if (body < 8) {
			err = ES_EPARSE;
			break;
		}
		uint32_t reporter = rtp_rd32(q + 4);
		for (size_t b = 8; b < body;) {
			if (body - b < 4) {
				err = ES_ETRUNC;
				break;
			}
			size_t blen = 4 * ((size_t)rtp_rd16(q + b + 2) + 1);
			if (blen > body - b) {
				err = ES_ETRUNC;
				break;
			}
			if (q[b] == 7) {
				if (blen != XR_VOIP_LEN) {
					err = ES_EPARSE; /* 4.7: the block length is 8 */
					break;
				}
				if (out && got < max)
					xr_voip(q + b, reporter, &out[got++]);
			}
			b += blen;
		}
	}
	if (n)
		*n = got;
	return err;
}
