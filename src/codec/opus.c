/*
 * opus.c - opus through libopus (RFC 7587): the RTP clock is always 48000,
 * the decoder runs at the rate asked of codec_dec_new (8, 12, 16, 24 or
 * 48 kHz) with the channel count of the SDP ("opus/48000/2" by default) and
 * stereo is averaged down to mono.  Loss is concealed by libopus
 * (opus_decode with no data) in steps of at most 20 ms.
 */
#include "codec/codec_internal.h"

#include <stdlib.h>

#include <opus/opus.h>

#define OPUS_MAX_MS 120

static int opus_init(struct codec_dec *d)
{
	int err = 0;
	int ch = d->info.channels == 2 ? 2 : 1;
	d->lib = opus_decoder_create((opus_int32)d->rate, ch, &err);
	if (!d->lib || err != OPUS_OK)
		return err == OPUS_ALLOC_FAIL ? ES_ENOMEM : ES_EINVAL;
	if (ch == 2) {
		d->tmp = malloc(sizeof(int16_t) * 2 * (d->rate / 1000 * OPUS_MAX_MS));
		if (!d->tmp)
			return ES_ENOMEM;
	}
	return 0;
}

static void opus_fini(struct codec_dec *d)
{
	if (d->lib)
		opus_decoder_destroy(d->lib);
}

static void mix_down(const int16_t *st, int16_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (int16_t)(((int32_t)st[2 * i] + st[2 * i + 1]) / 2);
}

/* Decode (p == NULL: conceal) into out; frame_max samples per channel. */
static int run(struct codec_dec *d, const uint8_t *p, opus_int32 len, int16_t *out,
	       int frame_max)
{
	if (d->info.channels != 2)
		return opus_decode(d->lib, p, len, out, frame_max, 0);
	int r = opus_decode(d->lib, p, len, d->tmp, frame_max, 0);
	if (r > 0)
		mix_down(d->tmp, out, r);
	return r;
}

static int opus_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	if (!len)
		return 0;
	if (len > INT32_MAX)
		return ES_ELIMIT;
	int nb = opus_decoder_get_nb_samples(d->lib, p, (opus_int32)len);
	if (nb < 0)
		return ES_EPARSE;
	if ((size_t)nb > cap)
		return ES_ELIMIT;
	int frame_max = (int)(d->rate / 1000 * OPUS_MAX_MS);
	if ((size_t)frame_max > cap)
		frame_max = (int)cap;
	int r = run(d, p, (opus_int32)len, out, frame_max);
	return r < 0 ? ES_EPARSE : r;
}

static size_t opus_plc(struct codec_dec *d, int16_t *out, size_t want)
{
	size_t step = d->rate / 400; /* 2.5 ms */
	size_t n = (want + step - 1) / step * step;
	n = ES_MIN(n, (size_t)d->rate / 50);
	n = ES_MIN(n, (size_t)CODEC_PEND_MAX / step * step);
	int r = run(d, NULL, 0, out, (int)n);
	return r > 0 ? (size_t)r : 0;
}

const struct codec_ops codec_ops_opus = {opus_init, opus_fini, opus_dec, opus_plc};
