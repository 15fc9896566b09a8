/*
 * peaks.c - the waveform of a stored recording, for the web player
 * (GET /api/calls/{id}/peaks): the recording's plaintext, as a stream the
 * caller opened (a decrypting one for .enc files), is decoded by the media
 * layer's readers and reduced to a few points per channel.
 */
#include "media/media.h"
#include "record/record.h"

#include <stdio.h>
#include <string.h>

int rec_recording_peaks(FILE *plain, const char *name, unsigned points, struct rec_peaks *out,
			char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct media_reader *mr = NULL;
	int rc = media_reader_open_stream(&mr, plain, name, err, errlen);
	if (rc)
		return rc;
	struct media_peaks pk = {0};
	char perr[256] = "";
	rc = media_peaks(mr, points, &pk, perr, sizeof(perr));
	media_reader_close(mr);
	if (rc) {
		snprintf(err, errlen, "%.200s: %.250s", name, perr);
		media_peaks_free(&pk);
		return rc;
	}
	out->rate = pk.rate;
	out->channels = pk.channels;
	out->points = pk.points;
	out->frames = pk.frames;
	out->v = pk.v; /* media_peaks_free is free(v) */
	return 0;
}

void rec_peaks_free(struct rec_peaks *p)
{
	struct media_peaks pk = {.v = p->v};
	media_peaks_free(&pk);
	p->v = NULL;
}
