/*
 * fuzz_media_reader.c - libFuzzer harness for the recording readers
 * (src/media/reader.c): WAV header and chunk walking, FLAC through
 * libFLAC, Ogg/Opus through opusfile plus the 48 kHz -> file rate
 * resampling.  media_reader_open takes a path, so each input is written
 * to one temporary file (created once, rewritten per input) and read to
 * the end.
 */
#include "media/media.h"

#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_tmp(void)
{
	if (path[0])
		unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct media_reader *r;
	char err[256];
	int16_t pcm[2 * 1000];

	if (fd < 0) {
		snprintf(path, sizeof(path), "/tmp/fuzz-media-reader-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		atexit(remove_tmp);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (media_reader_open(&r, path, err, sizeof(err)) != 0)
		return 0;
	unsigned ch = media_reader_channels(r);
	if (ch < 1 || ch > 2 || !media_reader_rate(r))
		abort(); /* open must only accept what read can deliver */
	/* Bounded: a tiny Opus file can still decode to minutes of audio. */
	for (int i = 0; i < 2000; i++) {
		long n = media_reader_read(r, pcm, 1000);
		if (n <= 0)
			break;
		if (n > 1000)
			abort();
	}
	media_reader_close(r);
	return 0;
}
