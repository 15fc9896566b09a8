/*
 * amr.c - AMR-NB (opencore-amrnb) and AMR-WB (opencore-amrwb) with the
 * RFC 4867 RTP payload format, octet-aligned and bandwidth-efficient.
 *
 * The SDP fmtp "octet-align=1" that says which format a stream uses does
 * not reach the decoder (the media log keeps name, clock and channels), so
 * each payload is recognised by its layout: the octet-aligned form has its
 * reserved CMR bits and every ToC padding bit zero and a length that is
 * exactly the sum of its octet-padded frames; otherwise the payload must be
 * exactly as long as the bandwidth-efficient form of its ToC says.  The two
 * lengths of one ToC differ (the octet-aligned form carries at least 4
 * padding bits more per frame), so a whole payload fits only one; the first
 * payload fixes the stream's packing, so that a truncated one cannot pass
 * for the other packing.
 * Interleaving (RFC 4867 4.4.5) and the CRC option are not supported: such
 * payloads are refused as malformed.
 *
 * Each frame is converted to the storage format both opencore decoders
 * read (RFC 4867 section 5: a header byte FT << 3 | Q << 2, then the speech
 * bits, most significant first, padded to a byte).
 */
#include "codec/codec_internal.h"

#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrwb/dec_if.h>
#include <stdlib.h>
#include <string.h>

/* Speech bits per frame type: RFC 4867 section 3.1 (3GPP TS 26.101 and
 * 26.201); FT 8 (NB) and 9 (WB) are SID frames, 15 is NO_DATA, the rest
 * (and WB 14, speech lost) carry no bits. */
static const uint16_t amr_nb_bits[16] = {95, 103, 118, 134, 148, 159, 204, 244, 39};
static const uint16_t amr_wb_bits[16] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40};

static bool ft_valid(bool wb, unsigned ft)
{
	return ft == 15 || (wb ? ft <= 9 || ft == 14 : ft <= 8);
}

unsigned codec_amr_frame_bits(bool wb, unsigned ft)
{
	return ft < 16 ? (wb ? amr_wb_bits : amr_nb_bits)[ft] : 0;
}

/* Bit reader over p[0..len). */
struct bits {
	const uint8_t *p;
	size_t len, pos; /* in bits */
};

static unsigned bits_get(struct bits *b, unsigned n)
{
	unsigned v = 0;
	for (unsigned i = 0; i < n; i++, b->pos++)
		v = v << 1 | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
	return v;
}

/* RFC 4867 4.4: CMR octet, one ToC octet a frame (F FT Q P P), then each
 * frame padded to an octet boundary. */
static int unpack_octet(bool wb, const uint8_t *p, size_t len, struct codec_amr_frame *fr,
			size_t max, size_t *nfr)
{
	if (len < 2 || (p[0] & 0x0f))
		return ES_EPARSE;
	size_t n = 0, i = 1;
	for (;;) {
		if (i >= len || n >= max)
			return ES_EPARSE;
		uint8_t toc = p[i++];
		unsigned ft = toc >> 3 & 0x0f;
		if ((toc & 0x03) || !ft_valid(wb, ft))
			return ES_EPARSE;
		fr[n].ft = (uint8_t)ft;
		fr[n].q = toc >> 2 & 1;
		n++;
		if (!(toc & 0x80))
			break;
	}
	size_t off = i;
	for (size_t k = 0; k < n; k++) {
		size_t bytes = (codec_amr_frame_bits(wb, fr[k].ft) + 7) / 8;
		if (bytes > len - off)
			return ES_ETRUNC;
		fr[k].bit_off = off * 8;
		off += bytes;
	}
	if (off != len)
		return ES_EPARSE;
	*nfr = n;
	return 0;
}

/* RFC 4867 4.3: 4 bits of CMR, 6 bits of ToC a frame (F FT Q), the frames'
 * bits back to back, padding to an octet boundary. */
static int unpack_be(bool wb, const uint8_t *p, size_t len, struct codec_amr_frame *fr,
		     size_t max, size_t *nfr)
{
	struct bits b = {p, len * 8, 0};
	if (b.len < 10)
		return ES_ETRUNC;
	bits_get(&b, 4); /* CMR: a request to the sender, not about this payload */
	size_t n = 0;
	for (;;) {
		if (b.pos + 6 > b.len)
			return ES_ETRUNC;
		if (n >= max)
			return ES_EPARSE;
		unsigned f = bits_get(&b, 1), ft = bits_get(&b, 4), q = bits_get(&b, 1);
		if (!ft_valid(wb, ft))
			return ES_EPARSE;
		fr[n].ft = (uint8_t)ft;
		fr[n].q = (uint8_t)q;
		n++;
		if (!f)
			break;
	}
	size_t pos = b.pos;
	for (size_t k = 0; k < n; k++) {
		fr[k].bit_off = pos;
		pos += codec_amr_frame_bits(wb, fr[k].ft);
	}
	if (pos > b.len)
		return ES_ETRUNC;
	if ((pos + 7) / 8 != len)
		return ES_EPARSE;
	*nfr = n;
	return 0;
}

int codec_amr_unpack(bool wb, const uint8_t *p, size_t len, struct codec_amr_frame *fr,
		     size_t max, size_t *nfr, bool *octet_aligned)
{
	if (!fr || !nfr || (!p && len))
		return ES_EINVAL;
	*nfr = 0;
	int rc = unpack_octet(wb, p, len, fr, max, nfr);
	if (rc == 0) {
		if (octet_aligned)
			*octet_aligned = true;
		return 0;
	}
	rc = unpack_be(wb, p, len, fr, max, nfr);
	if (rc == 0 && octet_aligned)
		*octet_aligned = false;
	return rc;
}

size_t codec_amr_storage(bool wb, const uint8_t *p, const struct codec_amr_frame *fr,
			 uint8_t *out)
{
	unsigned nbits = codec_amr_frame_bits(wb, fr->ft);
	size_t nbytes = (nbits + 7) / 8;
	out[0] = (uint8_t)(fr->ft << 3 | fr->q << 2);
	memset(out + 1, 0, nbytes);
	struct bits b = {p, 0, fr->bit_off};
	for (unsigned i = 0; i < nbits; i++)
		if (bits_get(&b, 1))
			out[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return 1 + nbytes;
}

/* ---- decoders ----------------------------------------------------------------------- */

#define AMR_MAX_FRAMES 16

static bool is_wb(const struct codec_dec *d)
{
	return d->info.id == CODEC_AMR_WB;
}

/* The opencore state and the packing the stream was first seen in. */
struct amr {
	void *st;
	int packing; /* 0 not yet known, 1 octet-aligned, 2 bandwidth-efficient */
};

static int amr_init(struct codec_dec *d)
{
	struct amr *a = calloc(1, sizeof(*a));
	if (!a)
		return ES_ENOMEM;
	d->lib = a;
	a->st = is_wb(d) ? D_IF_init() : Decoder_Interface_init();
	return a->st ? 0 : ES_ENOMEM;
}

static void amr_fini(struct codec_dec *d)
{
	struct amr *a = d->lib;
	if (!a)
		return;
	if (a->st && is_wb(d))
		D_IF_exit(a->st);
	else if (a->st)
		Decoder_Interface_exit(a->st);
	free(a);
}

static void amr_frame(struct codec_dec *d, const uint8_t *store, int16_t *out, int bfi)
{
	struct amr *a = d->lib;
	if (is_wb(d))
		D_IF_decode(a->st, store, out, bfi);
	else
		Decoder_Interface_Decode(a->st, store, out, bfi);
}

static int amr_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	bool wb = is_wb(d);
	size_t per = wb ? 320 : 160, n;
	struct codec_amr_frame fr[AMR_MAX_FRAMES];
	struct amr *a = d->lib;
	bool oa = false;
	int rc = codec_amr_unpack(wb, p, len, fr, AMR_MAX_FRAMES, &n, &oa);
	if (rc)
		return rc;
	/* A stream keeps its packing (the SDP fixes it for the session): a
	 * truncated octet-aligned payload that happens to read as a shorter
	 * bandwidth-efficient one is refused, not decoded as noise. */
	int packing = oa ? 1 : 2;
	if (a->packing && a->packing != packing)
		return ES_EPARSE;
	a->packing = packing;
	if (n > cap / per)
		return ES_ELIMIT;
	for (size_t k = 0; k < n; k++) {
		uint8_t store[1 + 61];
		codec_amr_storage(wb, p, &fr[k], store);
		/* a Q=0 frame is damaged: the decoder conceals it (RFC 4867 4.3.2) */
		amr_frame(d, store, out + k * per, fr[k].q ? 0 : 1);
	}
	return (int)(n * per);
}

/* The decoders' own concealment: a NO_DATA frame marked bad. */
static size_t amr_plc(struct codec_dec *d, int16_t *out, size_t want)
{
	size_t per = is_wb(d) ? 320 : 160;
	(void)want;
	uint8_t store[1] = {15 << 3};
	amr_frame(d, store, out, 1);
	return per;
}

uint32_t codec_amr_ticks(bool wb, const uint8_t *p, size_t len)
{
	struct codec_amr_frame fr[AMR_MAX_FRAMES];
	size_t n;
	if (codec_amr_unpack(wb, p, len, fr, AMR_MAX_FRAMES, &n, NULL))
		return 0;
	return (uint32_t)n * (wb ? 320 : 160);
}

const struct codec_ops codec_ops_amr = {amr_init, amr_fini, amr_dec, amr_plc};
