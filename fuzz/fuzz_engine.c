/* fuzz_engine.c - a whole capture file through the recording engine: the
 * decoder, the SIP dialog tracker (challenges, forks, orphans, reused
 * Call-IDs, offers and holds), SDP pairing of audio and video, RTP/RTCP
 * statistics, and the end of every call.  No spool: nothing is written. */
#include "record/record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int on_call(void *ud, struct idx_call *c, const char *media_log)
{
	(void)media_log;
	(*(unsigned *)ud)++;
	/* the row must be whole: every stream and message inside it */
	for (unsigned i = 0; i < c->nstreams; i++)
		if (!c->streams[i].codecs || !c->streams[i].payload_types)
			abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_engine", 0);
	if (fd < 0)
		return 0;
	size_t o = 0;
	while (o < size) {
		ssize_t w = write(fd, data + o, size - o);
		if (w <= 0) {
			close(fd);
			return 0;
		}
		o += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct rec_config cfg;
	rec_config_default(&cfg);
	/* short times, so that inputs of a few packets reach every ending */
	cfg.end_linger_us = 2 * ES_US_PER_SEC;
	cfg.challenge_wait_us = 5 * ES_US_PER_SEC;
	cfg.idle_timeout_us = 30 * ES_US_PER_SEC;
	cfg.rtp_timeout_us = 10 * ES_US_PER_SEC;
	cfg.session_timers = true;
	unsigned calls = 0;
	struct rec_engine *e = NULL;
	if (rec_engine_new(&e, &cfg, on_call, &calls) == 0) {
		struct rec_import_result res;
		const char *paths[1] = {path};
		rec_import_files(e, paths, 1, NULL, NULL, &res);
		rec_engine_flush(e, res.last_us);
		rec_engine_free(e);
	}
	close(fd);
	return 0;
}
