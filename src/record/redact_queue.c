/*
 * redact_queue.c - redactions waiting for the ledger's one writer
 * (record.h): a spoken number found by a transcription worker that cannot
 * get the ledger (the running recorder holds its lock) is left here as
 * what to redact (call, channel, span, fill, reason, author: never audio),
 * one durable file each in DATA/ledger/pending/, and carried out by the
 * lock holder through rec_redact (cli/redact_spoken.c).
 *
 * Why files beside the transcript leaves' queue (tr_ledger.c): the same
 * writer drains both, a crash loses neither, and a queued redaction needs
 * no index schema.  A redaction already in the index with the same span,
 * channel, reason and author is done: that makes a second run after a
 * crash between the commit and the file's removal a no-op.
 */
#include "record/record.h"
#include "record/record_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "redact"
#define MAGIC "earshot-redact-v1"
#define QUEUE_MAX_FILES 1024 /* entries read per pass */

static int queue_dir(const char *data_dir, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", data_dir, REC_TR_PENDING_DIR);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* A reason or author as one field: tabs and line ends become spaces. */
static void field(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = in ? in : ""; *p && n + 1 < cap; p++)
		out[n++] = *p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p;
	out[n] = 0;
}

int rec_redact_job_format(const struct rec_redact_job *jb, char *out, size_t cap)
{
	char reason[REC_REDACT_REASON_MAX + 1], by[REC_REDACT_BY_MAX + 1];
	if (!rec_redact_channel_mask(jb->channel) || jb->call_row <= 0 || jb->from_us < 0 ||
	    jb->to_us <= jb->from_us || jb->queued_us < 0 || !jb->reason || !*jb->reason ||
	    !jb->by || !*jb->by)
		return ES_EINVAL;
	field(jb->reason, reason, sizeof(reason));
	field(jb->by, by, sizeof(by));
	const char *fill = jb->fill && !strcmp(jb->fill, "tone") ? "tone" : "silence";
	int n = snprintf(out, cap,
			 MAGIC "\t%" PRId64 "\t%s\t%" PRId64 "\t%" PRId64 "\t%s\t%" PRId64 "\t%s\t%s\n",
			 jb->call_row, jb->channel, jb->from_us, jb->to_us, fill, jb->queued_us, by,
			 reason);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : n;
}

int rec_redact_queue_put(const char *data_dir, const struct rec_redact_job *jb, char *err,
			 size_t errlen)
{
	char dir[4200], path[4400], line[REC_REDACT_LINE_MAX];
	int n = rec_redact_job_format(jb, line, sizeof(line));
	if (n < 0)
		return es_errf(err, errlen, n, "call %" PRId64 ": not a redaction to queue",
			       jb->call_row);
	if (queue_dir(data_dir, dir, sizeof(dir)))
		return es_errf(err, errlen, ES_ELIMIT, "data folder path too long");
	/* "<queued, 20 digits>-<call row>-<from>.rd": sorted by name is by
	 * queue time; the span makes two numbers of one call two files */
	int pn = snprintf(path, sizeof(path), "%s/%020" PRId64 "-%" PRId64 "-%" PRId64 ".rd",
			  dir, jb->queued_us, jb->call_row, jb->from_us);
	if (pn < 0 || (size_t)pn >= sizeof(path))
		return es_errf(err, errlen, ES_ELIMIT, "ledger queue path too long");
	/* folders made, written to a temporary, fsync'd, renamed, the folder
	 * fsync'd: durable before the worker says it is queued */
	int rc = rec_sealed_save(path, NULL, line, (size_t)n, err, errlen);
	if (!rc && rec_fsync_dir_of(path))
		rc = es_errf(err, errlen, ES_EIO, "%s: its folder cannot be synced: %s", path,
			     strerror(errno));
	return rc;
}

/* A number as format writes it: digits, no sign, no leading zero. */
static int num(const char *p, int64_t *out)
{
	size_t n = strlen(p);
	if (!n || n > 18 || (n > 1 && p[0] == '0'))
		return ES_EPARSE;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ES_EPARSE;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int rec_redact_job_parse(char *line, size_t len, struct rec_redact_job *jb)
{
	/* one line, no NUL, no CR: what format writes */
	if (!len || len >= REC_REDACT_LINE_MAX || line[len - 1] != '\n' ||
	    memchr(line, 0, len - 1) || memchr(line, '\n', len - 1) || memchr(line, '\r', len))
		return ES_EPARSE;
	line[len - 1] = 0;
	char *f[9];
	size_t nf = 0;
	for (char *p = line;;) {
		if (nf == 9)
			return ES_EPARSE; /* a tenth field */
		f[nf++] = p;
		char *t = strchr(p, '\t');
		if (!t)
			break;
		*t = 0;
		p = t + 1;
	}
	if (nf != 9 || strcmp(f[0], MAGIC))
		return ES_EPARSE;
	memset(jb, 0, sizeof(*jb));
	if (num(f[1], &jb->call_row) || num(f[3], &jb->from_us) || num(f[4], &jb->to_us) ||
	    num(f[6], &jb->queued_us))
		return ES_EPARSE;
	jb->channel = f[2];
	jb->fill = f[5];
	jb->by = f[7];
	jb->reason = f[8];
	if (!rec_redact_channel_mask(jb->channel) || jb->call_row <= 0 || jb->from_us < 0 ||
	    jb->to_us <= jb->from_us || jb->queued_us < 0 || !*jb->by || !*jb->reason ||
	    strlen(jb->by) > REC_REDACT_BY_MAX || strlen(jb->reason) > REC_REDACT_REASON_MAX ||
	    (strcmp(jb->fill, "silence") && strcmp(jb->fill, "tone")))
		return ES_EPARSE;
	return 0;
}

int rec_redact_queue_each(const char *data_dir, int64_t call_row, rec_redact_job_fn fn, void *ud)
{
	char dir[4200];
	if (queue_dir(data_dir, dir, sizeof(dir)))
		return ES_ELIMIT;
	char prefix[40] = "";
	if (call_row > 0) /* a call's own: the name says which */
		snprintf(prefix, sizeof(prefix), "-%" PRId64 "-", call_row);
	char **names = NULL;
	size_t n = 0;
	int rc = rec_pending_names(dir, ".rd", *prefix ? prefix : NULL, QUEUE_MAX_FILES, &names,
				   &n);
	if (rc == ES_EIO)
		return rc;
	for (size_t i = 0; !rc && i < n; i++) {
		char path[4400], line[REC_REDACT_LINE_MAX + 1];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* carried out meanwhile */
		ssize_t len = read(fd, line, sizeof(line) - 1);
		close(fd);
		struct rec_redact_job jb;
		if (len <= 0 || rec_redact_job_parse(line, (size_t)len, &jb)) {
			/* never lost, never in the way: set aside with a clear name */
			char bad[4500];
			snprintf(bad, sizeof(bad), "%s.bad", path);
			ES_LOG_ERR(TAG, "%s: not a queued redaction: set aside as %s.bad", path,
				   names[i]);
			rename(path, bad);
			continue;
		}
		jb.file = path;
		rc = fn(ud, &jb);
	}
	rec_pending_names_free(names, n);
	return rc;
}

static int any_take(void *ud, const struct rec_redact_job *jb)
{
	(void)jb;
	*(bool *)ud = true;
	return 1;
}

bool rec_redact_queue_pending(const char *data_dir)
{
	bool any = false;
	rec_redact_queue_each(data_dir, 0, any_take, &any);
	return any;
}

void rec_redact_queue_done(const struct rec_redact_job *jb)
{
	if (jb->file && unlink(jb->file) && errno != ENOENT)
		ES_LOG_ERR(TAG, "%s: cannot be removed: %s", jb->file, strerror(errno));
}

/* Whether redaction r is job jb carried out. */
struct done_find {
	const struct rec_redact_job *jb;
	bool found;
};

static int done_take(void *ud, const struct idx_redaction *r)
{
	struct done_find *f = ud;
	const struct rec_redact_job *jb = f->jb;
	if (r->from_us == jb->from_us && r->to_us == jb->to_us && r->channel && r->by &&
	    r->reason && !strcmp(r->channel, jb->channel) && !strcmp(r->by, jb->by) &&
	    !strcmp(r->reason, jb->reason))
		f->found = true;
	return 0;
}

int rec_redact_queue_is_done(struct idx *ix, const struct rec_redact_job *jb, bool *done)
{
	struct done_find f = {jb, false};
	int rc = idx_redactions_list(ix, jb->call_row, done_take, &f);
	*done = f.found;
	return rc;
}

/* ---- the call's JSON: what is still to be redacted -------------------------------- */

static int json_take(void *ud, const struct rec_redact_job *jb)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "channel"); es_json_str(j, jb->channel);
	es_json_key(j, "from_ms"); es_json_int(j, jb->from_us / 1000);
	es_json_key(j, "to_ms"); es_json_int(j, (jb->to_us + 999) / 1000);
	es_json_key(j, "fill"); es_json_str(j, jb->fill);
	es_json_key(j, "reason"); es_json_str(j, jb->reason);
	es_json_key(j, "by"); es_json_str(j, jb->by);
	es_json_key(j, "queued_us"); es_json_int(j, jb->queued_us);
	es_json_obj_end(j);
	return 0;
}

void rec_redact_queue_json(const char *data_dir, int64_t call_row, struct es_json *j)
{
	es_json_arr_begin(j);
	if (data_dir && call_row > 0 && rec_redact_queue_each(data_dir, call_row, json_take, j))
		ES_LOG_WARNING(TAG, "call %" PRId64 ": the queued redactions cannot be listed",
			       call_row);
	es_json_arr_end(j);
}
