/*
 * listen.c - a call in progress heard from the recorder's spool (listen-in):
 * its media log, found in DATA/spool by the call's start time and Call-ID
 * (spool.c rec_spool_find),
 * is followed as the recorder appends to it (at least every second,
 * engine.c's flush), decrypted in memory (mlog_read.c) and decoded by the
 * renderer fed record by record (media_live_*): the same stereo layout as
 * the recording (caller left, callee right), nothing written anywhere.
 *
 * A listener joins at the live edge: what the log held when it was opened
 * is read for its streams and payload maps only, and audio is decoded from
 * REC_LISTEN_BACK_US before its newest packet on, so a late joiner is not
 * played the whole call so far.
 */
#include "record/record_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define REC_LISTEN_BACK_US (INT64_C(500) * 1000)

struct rec_listen {
	char spool[4200];
	char call_id[REC_ACTIVE_STR];
	int64_t start_us;
	struct mlog_keys keys;
	char path[4400];          /* the log, once found */
	struct mlog_reader *ml;
	struct media_live *live;
	int64_t from_us;          /* RTP captured before is skipped (the join) */
	rec_listen_fn fn;
	void *ud;
	uint64_t records;
	bool from_start;          /* no join at the edge (tr_live.c) */
};

static void listen_tap(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
		       uint32_t rate)
{
	struct rec_listen *l = ud;
	(void)rate;
	l->fn(l->ud, caller, callee, n);
}

/* The join: the newest capture time the log holds now, then back to its
 * start so that its streams and maps are fed. */
static int join_edge(struct rec_listen *l, char *err, size_t errlen)
{
	struct mlog_rec rec;
	int64_t newest = 0;
	int rc;
	while ((rc = mlog_next(l->ml, &rec, err, errlen)) == 1)
		if (rec.type == MLOG_REC_RTP && rec.ts_us > newest)
			newest = rec.ts_us;
	if (rc < 0)
		return rc;
	l->from_us = newest && !l->from_start ? newest - REC_LISTEN_BACK_US : 0;
	return mlog_rewind(l->ml);
}

int rec_listen_open(struct rec_listen **out, const char *data_dir, struct st_vault *vault,
		    const char *call_id, int64_t start_us, rec_listen_fn fn, void *ud)
{
	*out = NULL;
	struct rec_listen *l = calloc(1, sizeof(*l));
	if (!l)
		return ES_ENOMEM;
	snprintf(l->spool, sizeof(l->spool), "%s/spool", data_dir);
	snprintf(l->call_id, sizeof(l->call_id), "%s", call_id);
	l->start_us = start_us;
	l->fn = fn;
	l->ud = ud;
	rec_spool_keys(&l->keys, vault);
	int rc = media_live_new(&l->live, 0, listen_tap, l);
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int rec_listen_poll(struct rec_listen *l, bool *found, char *err, size_t errlen)
{
	int rc;
	*found = l->ml != NULL;
	if (!l->ml) {
		if ((rc = rec_spool_find(l->spool, &l->keys, l->call_id, l->start_us, l->path,
					 sizeof(l->path), &l->ml, err, errlen)))
			return rc == ES_ENOTFOUND ? 0 : rc;
		if ((rc = join_edge(l, err, errlen)))
			return rc;
		*found = true;
	}
	struct mlog_rec rec;
	while ((rc = mlog_next(l->ml, &rec, err, errlen)) == 1) {
		l->records++;
		if (rec.type == MLOG_REC_RTP && rec.ts_us < l->from_us)
			continue;
		if ((rc = media_live_feed(l->live, &rec))) {
			es_errf(err, errlen, rc, "%s: record %llu: %s", l->path,
				(unsigned long long)l->records, es_strerror(rc));
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	mlog_follow(l->ml); /* the recorder appends more */
	return 0;
}

void rec_listen_from_start(struct rec_listen *l) { l->from_start = true; }

bool rec_listen_gone(const struct rec_listen *l)
{
	struct stat st;
	return l->ml && stat(l->path, &st) != 0 && errno == ENOENT;
}

int rec_listen_end(struct rec_listen *l) { return media_live_end(l->live); }
uint32_t rec_listen_rate(const struct rec_listen *l) { return media_live_rate(l->live); }
int64_t rec_listen_start_us(const struct rec_listen *l) { return media_live_start_us(l->live); }

void rec_listen_close(struct rec_listen *l)
{
	if (!l)
		return;
	mlog_reader_close(l->ml);
	media_live_free(l->live);
	free(l);
}
