/*
 * gsm.c - GSM 06.10 full rate through libgsm (RFC 3551 4.5.8): 33-byte
 * frames of 160 samples, each starting with the 0xD signature nibble.
 * A payload that is not whole frames, or a frame without the signature, is
 * refused before anything is decoded.
 */
#include "codec/codec_internal.h"

#include <gsm.h>
#include <string.h>

#define GSM_FRAME 33
#define GSM_SAMPLES 160

static int gsm_init(struct codec_dec *d)
{
	d->lib = gsm_create();
	return d->lib ? 0 : ES_ENOMEM;
}

static void gsm_fini(struct codec_dec *d)
{
	if (d->lib)
		gsm_destroy(d->lib);
}

static int gsm_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	size_t frames = len / GSM_FRAME;
	if (len % GSM_FRAME)
		return ES_ETRUNC;
	if (frames > cap / GSM_SAMPLES)
		return ES_ELIMIT;
	for (size_t i = 0; i < frames; i++)
		if ((p[i * GSM_FRAME] >> 4) != 0xD)
			return ES_EPARSE;
	for (size_t i = 0; i < frames; i++) {
		gsm_byte frame[GSM_FRAME]; /* libgsm's API is not const */
		memcpy(frame, p + i * GSM_FRAME, GSM_FRAME);
		if (gsm_decode(d->lib, frame, out + i * GSM_SAMPLES) != 0)
			return ES_EPARSE;
	}
	return (int)(frames * GSM_SAMPLES);
}

const struct codec_ops codec_ops_gsm = {gsm_init, gsm_fini, gsm_dec, NULL};
