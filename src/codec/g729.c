/*
 * g729.c - G.729 / G.729A / annex B through bcg729.
 *
 * RFC 3551 4.5.6: a payload holds N 10-byte frames (80 samples each),
 * optionally followed by one 2-byte annex B SID frame.  Any other length is
 * refused (ES_ETRUNC) before anything is decoded.  The SID frame updates
 * bcg729's comfort-noise state; its 80 samples are kept for codec_conceal,
 * which goes on asking bcg729 for comfort noise (erased frames after a SID
 * are "untransmitted" to the decoder) until the next voice frame.
 */
#include "codec/codec_internal.h"

#include <bcg729/decoder.h>

#define G729_FRAME 10
#define G729_SID 2
#define G729_SAMPLES 80

static int g729_init(struct codec_dec *d)
{
	d->lib = initBcg729DecoderChannel();
	return d->lib ? 0 : ES_ENOMEM;
}

static void g729_fini(struct codec_dec *d)
{
	if (d->lib)
		closeBcg729DecoderChannel(d->lib);
}

static int g729_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	size_t frames = len / G729_FRAME, rest = len % G729_FRAME;
	if (rest != 0 && rest != G729_SID)
		return ES_ETRUNC;
	if (frames > cap / G729_SAMPLES)
		return ES_ELIMIT;
	for (size_t i = 0; i < frames; i++)
		bcg729Decoder(d->lib, p + i * G729_FRAME, G729_FRAME, 0, 0, 0,
			      out + i * G729_SAMPLES);
	if (rest == G729_SID) {
		bcg729Decoder(d->lib, p + frames * G729_FRAME, G729_SID, 0, 1, 0, d->pend);
		d->pend_off = 0;
		d->pend_len = G729_SAMPLES;
		d->own_cng = true;
		d->noise_level = -1;
	}
	return (int)(frames * G729_SAMPLES);
}

/* One erased frame: bcg729's concealment after voice, its comfort noise
 * after a SID. */
static size_t g729_plc(struct codec_dec *d, int16_t *out, size_t want)
{
	static const uint8_t none[G729_FRAME];
	(void)want;
	bcg729Decoder(d->lib, none, 0, 1, 0, 0, out);
	return G729_SAMPLES;
}

const struct codec_ops codec_ops_g729 = {g729_init, g729_fini, g729_dec, g729_plc};
