/*
 * peaks.c - the waveform of a recording for a player: per channel, the
 * largest absolute sample of each of N equal stretches of the file,
 * scaled to 0..255.  One pass over the reader; memory is the N points.
 *
 * Point i covers frames [ceil(i*T/N), ceil((i+1)*T/N)) where T is the
 * length the file announces (frame k goes to point floor(k*N/T)); frames
 * a damaged file delivers beyond T count in the last point.  A value is
 * round(maxabs * 255 / 32768), capped at 255.
 */
#include "media/io_internal.h"

#include <stdlib.h>
#include <string.h>

/* Longer than any recording (24 h at 48 kHz is 4.1e9): k * N stays far
 * below 2^64. */
#define PEAKS_MAX_FRAMES (UINT64_C(1) << 40)

static uint8_t peak_scale(uint32_t m)
{
	uint32_t v = (m * 255u + 16384u) / 32768u;
	return (uint8_t)(v > 255 ? 255 : v);
}

int media_peaks(struct media_reader *r, unsigned points, struct media_peaks *out, char *err,
		size_t errlen)
{
	memset(out, 0, sizeof(*out));
	unsigned ch = media_reader_channels(r);
	uint64_t total = media_reader_frames(r);
	if (!points || ch < 1 || ch > 2) {
		mio_err(err, errlen, "bad peaks request (%u points, %u channels)", points, ch);
		return ES_EINVAL;
	}
	if (!total || total > PEAKS_MAX_FRAMES) {
		mio_err(err, errlen, "the file does not state a usable length");
		return ES_EFORMAT;
	}
	uint32_t *m = calloc((size_t)points * ch, sizeof(*m));
	int16_t *pcm = malloc((size_t)MIO_CHUNK_FRAMES * 2 * sizeof(*pcm));
	out->v = calloc((size_t)points * ch, 1);
	int rc = 0;
	if (!m || !pcm || !out->v) {
		mio_err(err, errlen, "out of memory");
		rc = ES_ENOMEM;
		goto out;
	}
	uint64_t k = 0;   /* frames read */
	unsigned i = 0;   /* the point of frame k */
	/* first frame of point i + 1: ceil((i+1) * T / N) */
	uint64_t edge = ((uint64_t)(i + 1) * total + points - 1) / points;
	for (;;) {
		long n = media_reader_read(r, pcm, MIO_CHUNK_FRAMES);
		if (n < 0) {
			mio_err(err, errlen, "damaged after %llu of %llu frames (%s)",
				(unsigned long long)k, (unsigned long long)total, es_strerror((int)n));
			rc = (int)n;
			goto out;
		}
		if (!n)
			break;
		for (long f = 0; f < n; f++, k++) {
			while (k >= edge && i + 1 < points) {
				i++;
				edge = ((uint64_t)(i + 1) * total + points - 1) / points;
			}
			for (unsigned c = 0; c < ch; c++) {
				int s = pcm[(size_t)f * ch + c];
				uint32_t a = (uint32_t)(s < 0 ? -s : s);
				uint32_t *p = &m[(size_t)c * points + i];
				if (a > *p)
					*p = a;
			}
		}
	}
	for (size_t j = 0; j < (size_t)points * ch; j++)
		out->v[j] = peak_scale(m[j]);
	out->rate = media_reader_rate(r);
	out->channels = ch;
	out->points = points;
	out->frames = k;
out:
	free(m);
	free(pcm);
	if (rc)
		media_peaks_free(out);
	return rc;
}

void media_peaks_free(struct media_peaks *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}
