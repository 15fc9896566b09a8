/*
 * oggopus_internal.h - the Ogg Opus encoder of the writers (oggopus.c):
 * libopus fed at the recording's own rate, packed into Ogg pages with
 * libogg (RFC 7845).  Not part of the media.h contract.
 */
#ifndef ES_MEDIA_OGGOPUS_INTERNAL_H
#define ES_MEDIA_OGGOPUS_INTERNAL_H

#include "media/media.h"

/* Where the encoder's bytes go; 0 = written, nonzero = failed (the encoder
 * then stops and returns ES_EIO). */
typedef int (*oggopus_out_fn)(void *user, const void *p, size_t n);

/* Defaults when the options leave them open, chosen by measurement
 * (docs/PERFORMANCE.md, bench/opus_cx).  At 8 kHz complexity 0 is 2.3x as
 * fast as 5 with as good correlation and SNR, but in coupled stereo below
 * 5 one party leaks into the other's silence: a redacted (silenced) span
 * of the caller then measured -53 dBFS instead of under -60 next to the
 * callee's speech (tests/integration/test_redact.py).  Channel separation
 * is what redaction and per-party analysis rely on, so the default stays 5
 * until the parties are coded as two uncoupled streams. */
#define OGGOPUS_BITRATE_PER_CH 16000
#define OGGOPUS_COMPLEXITY_NB 5
#define OGGOPUS_COMPLEXITY_WB 5

struct oggopus;
/* Start a stream of `channels` (1 or 2) at `rate` Hz (any rate the writer
 * takes; rates libopus cannot take are resampled to 48 kHz) and write its
 * two header pages through out.  Options as in media_writer_opts (NULL:
 * defaults).  On failure msg says why. */
int oggopus_open(struct oggopus **out, uint32_t rate, unsigned channels,
		 const struct media_writer_opts *o, oggopus_out_fn fn, void *user, char *msg,
		 size_t msglen);
/* Encode interleaved 16-bit frames; complete pages are written as they fill. */
int oggopus_write(struct oggopus *e, const int16_t *pcm, size_t frames, char *msg,
		  size_t msglen);
/* Encode the rest, end the stream (its last granule position trims the
 * padding, RFC 7845 section 4.4) and write the last page. */
int oggopus_finish(struct oggopus *e, char *msg, size_t msglen);
void oggopus_free(struct oggopus *e);

#endif /* ES_MEDIA_OGGOPUS_INTERNAL_H */
