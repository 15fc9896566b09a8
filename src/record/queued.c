/*
 * queued.c - a finished call whose recording is still queued is played from
 * its media log in the spool (DESIGN.md: "until it has run, the spooled call
 * is already playable"), decoded on the fly.  The log is found as
 * listen-in finds it (spool.c rec_spool_find: the call's start time and
 * Call-ID, a SIPREC session's recorded call included), decrypted with the
 * data folder's keys, and rendered into memory as WAV with the encoder's
 * span rule, so the samples are those the recording will have.
 */
#include "record/record_internal.h"

#include <stdio.h>

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
	int rc = rec_spool_find(spool, &keys, call_id, start_us, log, sizeof(log), NULL, err,
				errlen);
	if (rc)
		return rc;
	/* the encoder's options for the audio itself (recording.c job_run) */
	struct render_opts ro = {.format = MEDIA_WAV, .span_start_us = start_us,
				 .span_end_us = end_us, .mlog_keys = vault ? &keys : NULL};
	return media_render_mem(log, out, &ro, res, err, errlen);
}
