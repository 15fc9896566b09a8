/*
 * queued.c - a finished call whose recording is still queued is played from
 * its media log in the spool (DESIGN.md: "until it has run, the spooled call
 * is already playable"), decoded on the fly.  The log is found by the name
 * the spool gave it (spool.c: <start_us>-<hash of the Call-ID>-<n>.mlog),
 * confirmed by the Call-ID in its header, decrypted with the data folder's
 * keys, and rendered into memory as WAV with the encoder's span rule, so the
 * samples are those the recording will have.
 */
#include "record/record.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The spool's log of call_id whose start is nearest start_us, into out. */
static int queued_find(const char *spool, const struct mlog_keys *keys, const char *call_id,
		       int64_t start_us, char *out, size_t cap)
{
	char mid[24];
	snprintf(mid, sizeof(mid), "-%016llx-",
		 (unsigned long long)es_hash(call_id, strlen(call_id), 0));
	DIR *d = opendir(spool);
	if (!d)
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	int rc = ES_ENOTFOUND;
	uint64_t best = UINT64_MAX;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *m = strstr(e->d_name, mid);
		size_t n = strlen(e->d_name);
		if (!m || n < 5 || strcmp(e->d_name + n - 5, ".mlog"))
			continue;
		long long s = strtoll(e->d_name, NULL, 10);
		uint64_t dist = (uint64_t)llabs(s - (long long)start_us);
		char path[1200];
		if (dist >= best || snprintf(path, sizeof(path), "%s/%s", spool, e->d_name) >=
					    (int)sizeof(path))
			continue;
		/* the hash names it; the header's Call-ID confirms it */
		struct mlog_reader *r = NULL;
		if (mlog_open_keyed(&r, path, keys, NULL, 0))
			continue;
		bool same = !strcmp(mlog_call_id(r), call_id);
		mlog_reader_close(r);
		if (same && strlen(path) < cap) {
			snprintf(out, cap, "%s", path);
			best = dist;
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

int rec_queued_render(const char *data_dir, struct st_vault *vault, const char *call_id,
		      int64_t start_us, int64_t end_us, struct es_buf *out,
		      struct render_result *res, char *err, size_t errlen)
{
	if (!data_dir || !call_id || !*call_id)
		return ES_EINVAL;
	char spool[1100], log[1200];
	if (snprintf(spool, sizeof(spool), "%s/spool", data_dir) >= (int)sizeof(spool))
		return ES_ELIMIT;
	struct mlog_keys keys;
	rec_spool_keys(&keys, vault);
	int rc = queued_find(spool, &keys, call_id, start_us, log, sizeof(log));
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "no media log of the call in %s", spool);
		return rc;
	}
	/* the encoder's options for the audio itself (recording.c job_run) */
	struct render_opts ro = {.format = MEDIA_WAV, .span_start_us = start_us,
				 .span_end_us = end_us, .mlog_keys = vault ? &keys : NULL};
	return media_render_mem(log, out, &ro, res, err, errlen);
}
