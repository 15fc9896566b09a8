/*
 * fuzz_mlog.c - libFuzzer harness for the media log reader and the
 * renderer: the input is written to a temporary file, read record by
 * record, and when it opens as a media log, rendered to a WAV file (capped
 * at 10 s) that is then removed.
 */
#include "media/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[64], out[64], err[256];
	snprintf(in, sizeof(in), "/tmp/fuzz_mlog.%ld.mlog", (long)getpid());
	snprintf(out, sizeof(out), "/tmp/fuzz_mlog.%ld.wav", (long)getpid());
	FILE *f = fopen(in, "wb");
	if (!f)
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		unlink(in);
		return 0;
	}
	fclose(f);

	struct mlog_reader *r;
	if (mlog_open(&r, in, err, sizeof(err)) == 0) {
		struct mlog_rec rec;
		int rc;
		unsigned long sum = 0;
		while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
			if (rec.type == MLOG_REC_RTP && rec.len)
				sum += rec.payload[0] + rec.payload[rec.len - 1]; /* in bounds */
		(void)sum;
		(void)mlog_torn(r);
		(void)mlog_call_id(r);
		mlog_reader_close(r);

		struct render_opts o = {.format = MEDIA_WAV, .max_duration_us = 10000000};
		struct render_result res;
		o.mix = size & 1;
		unlink(out);
		if (media_render(in, out, &o, &res, err, sizeof(err)) == 0 && res.rate == 0)
			abort(); /* a rendered file has a rate */
		unlink(out);
	}
	unlink(in);
	return 0;
}
