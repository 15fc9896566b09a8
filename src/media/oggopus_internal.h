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
 * (docs/PERFORMANCE.md, bench/opus_cx): at 8 kHz complexity 0 is 1.4x as
 * fast as 2-4 with the same or better correlation and SNR and a log-
 * spectral distance within 0.3 dB of the best; at 16 kHz it loses 1.5 dB
 * of it, and 5 (SILK's warped noise shaping) is the best there, with the
 * correlation of the libopusenc files before it. */
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
