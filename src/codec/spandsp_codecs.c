/*
 * spandsp_codecs.c - G.722 and G.726 through spandsp.
 *
 * G.722 (RFC 3551 4.5.2): 64 kbit/s, one byte = two samples at 16 kHz, the
 * RTP clock says 8000.  G.726 (RFC 3551 4.5.4): "G726-xx" packs codewords
 * from the least significant bit (spandsp G726_PACKING_RIGHT),
 * "AAL2-G726-xx" (ITU-T I.366.2) from the most significant one
 * (G726_PACKING_LEFT).  A G.726-24/40 payload must hold whole 8-sample
 * groups (3 or 5 bytes), or the codewords of the next payload would be
 * misaligned: other lengths are refused with ES_ETRUNC.
 */
#include "codec/codec_internal.h"

#include <spandsp.h>

static int g722_open(struct codec_dec *d)
{
	d->lib = g722_decode_init(NULL, 64000, 0);
	return d->lib ? 0 : ES_ENOMEM;
}

static void g722_close(struct codec_dec *d)
{
	if (d->lib)
		g722_decode_free(d->lib);
}

static int g722_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	if (len > cap / 2 || len > INT32_MAX / 2)
		return ES_ELIMIT;
	if (!len)
		return 0;
	return g722_decode(d->lib, out, p, (int)len);
}

static bool g726_aal2(enum codec_id id)
{
	return id >= CODEC_AAL2_G726_16 && id <= CODEC_AAL2_G726_40;
}

static int g726_open(struct codec_dec *d)
{
	unsigned bits = codec_g726_bits(d->info.id);
	int packing = g726_aal2(d->info.id) ? G726_PACKING_LEFT : G726_PACKING_RIGHT;
	if (!bits)
		return ES_EINVAL;
	d->lib = g726_init(NULL, (int)bits * 8000, G726_ENCODING_LINEAR, packing);
	return d->lib ? 0 : ES_ENOMEM;
}

static void g726_close(struct codec_dec *d)
{
	if (d->lib)
		g726_free(d->lib);
}

static int g726_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	size_t bits = codec_g726_bits(d->info.id);
	if (len > cap / 8 * bits || len > INT32_MAX / 8)
		return ES_ELIMIT;
	if ((len * 8) % bits)
		return ES_ETRUNC;
	if (!len)
		return 0;
	return g726_decode(d->lib, out, p, (int)len);
}

const struct codec_ops codec_ops_g722 = {g722_open, g722_close, g722_dec, NULL};
const struct codec_ops codec_ops_g726 = {g726_open, g726_close, g726_dec, NULL};
