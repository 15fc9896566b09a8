/*
 * speex.c - Speex through libspeex, RFC 5574: narrowband at clock 8000,
 * wideband at 16000, ultra-wideband at 32000.  A payload holds one or more
 * frames back to back in one bit stream, padded to an octet with a 0 and
 * ones (a terminator code); the frames are decoded until the stream ends.
 * A frame the decoder finds corrupt refuses the whole payload.
 */
#include "codec/codec_internal.h"

#include <speex/speex.h>
#include <stdlib.h>

struct spx {
	void *st;
	SpeexBits bits;
	int frame; /* samples a frame: 160, 320 or 640 */
};

static int spx_init(struct codec_dec *d)
{
	const SpeexMode *mode;
	switch (d->info.clock) { /* RFC 5574 section 3.1: the clock names the mode */
	case 8000: mode = &speex_nb_mode; break;
	case 16000: mode = &speex_wb_mode; break;
	case 32000: mode = &speex_uwb_mode; break;
	default: return ES_EINVAL;
	}
	struct spx *s = calloc(1, sizeof(*s));
	if (!s)
		return ES_ENOMEM;
	d->lib = s;
	s->st = speex_decoder_init(mode);
	if (!s->st)
		return ES_ENOMEM;
	speex_bits_init(&s->bits);
	speex_decoder_ctl(s->st, SPEEX_GET_FRAME_SIZE, &s->frame);
	if (s->frame <= 0 || s->frame > CODEC_PEND_MAX)
		return ES_EINVAL;
	return 0;
}

static void spx_fini(struct codec_dec *d)
{
	struct spx *s = d->lib;
	if (!s)
		return;
	if (s->st) {
		speex_decoder_destroy(s->st);
		speex_bits_destroy(&s->bits);
	}
	free(s);
}

static int spx_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	struct spx *s = d->lib;
	if (!len)
		return ES_ETRUNC;
	if (len > 2000)
		return ES_ELIMIT;
	speex_bits_read_from(&s->bits, (const char *)p, (int)len);
	size_t n = 0, per = (size_t)s->frame;
	/* a frame takes at least 5 bits (wideband flag and mode) */
	while (speex_bits_remaining(&s->bits) >= 5) {
		if (n + per > cap)
			return n ? (int)n : ES_ELIMIT;
		int r = speex_decode_int(s->st, &s->bits, out + n);
		if (r == -1) /* the terminator: the padding or an explicit end */
			break;
		if (r != 0)
			return n ? (int)n : ES_EPARSE;
		n += per;
	}
	return n ? (int)n : ES_EPARSE;
}

/* libspeex's concealment: decoding without bits. */
static size_t spx_plc(struct codec_dec *d, int16_t *out, size_t want)
{
	struct spx *s = d->lib;
	(void)want;
	speex_decode_int(s->st, NULL, out);
	return (size_t)s->frame;
}

const struct codec_ops codec_ops_speex = {spx_init, spx_fini, spx_dec, spx_plc};
