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
 * (docs/PERFORMANCE.md, bench/opus_cx).  The parties are two uncoupled
 * CELT streams (oggopus.c), so a silenced (redacted) span of one stays
 * silent beside the other's speech at any complexity: -100 dBFS at 0
 * (tests/integration/test_redact.py), where the coupled stereo stream of
 * earlier versions leaked at -53.  At 8 kHz complexity 0 then costs about
 * 0.6x the CPU of the old default (coupled, 5) on a whole import and 0.43x
 * that of 5 on two streams, with the fidelity test's correlation as before
 * (0.975 / 0.979).  At 16 kHz 5 keeps 1.7 dB better spectral distance.
 */
#define OGGOPUS_BITRATE_PER_CH 16000
#define OGGOPUS_COMPLEXITY_NB 0
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
