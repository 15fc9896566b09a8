/* fuzz_peaks.c - libFuzzer harness for rec_peaks_decode, the reader of a
 * stored waveform (DATA/peaks/<recording>.peaks, read by the API server;
 * record/peaks.c), in an exactly sized heap buffer so that ASan catches
 * over-reads.  What decodes is derived to a point count taken from the
 * input's last byte (rec_peaks_derive) and must encode back to the same
 * bytes (rec_peaks_encode). */
#include "record/record.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct rec_peaks pk, d;
	char err[256];
	if (rec_peaks_decode(buf, size, NULL, &pk, err, sizeof(err)) != 0) {
		sink += strlen(err);
		free(buf);
		return 0;
	}
	unsigned points = size ? 1u + data[size - 1] * 16u : 1u;
	if (rec_peaks_derive(&pk, points, &d) == 0) {
		for (size_t i = 0; i < (size_t)d.channels * d.points; i++)
			sink += d.v[i];
		rec_peaks_free(&d);
	}
	char sha[65];
	memcpy(sha, buf + 8, 64); /* the header's own, as bound */
	sha[64] = 0;
	uint8_t *again = NULL;
	size_t n = 0;
	if (strlen(sha) == 64 && rec_peaks_encode(&pk, sha, &again, &n) == 0 &&
	    (n != size || memcmp(again, buf, n)))
		abort(); /* decode and encode disagree */
	free(again);
	rec_peaks_free(&pk);
	free(buf);
	return 0;
}
