/*
 * transcript_pause.c - the transcription worker's outage pause (record.h,
 * struct rec_tr_pause): a circuit breaker over the speech engine.  When
 * the engine fails every job alike (refused connections, timeouts, HTTP
 * 5xx/408/429: ES_EIO from tr_engine.run) the jobs are not at fault, so
 * their attempts are not spent; after outage_after such failures in a row
 * the worker claims nothing for a pause that doubles up to a cap, then the
 * next job is the probe that ends the pause or starts a longer one.  An
 * error the engine answered (4xx, a bad reply) or that came before the
 * engine (bad audio) is the job's and counts as before.
 *
 * The state is written to DATA/run/transcribe-PID.tsv at each change, for
 * `earshot transcribe status` and /metrics (another process reads it).
 */
#include "record/record.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "transcribe"
#define PAUSE_AFTER_DEFAULT 5
#define PAUSE_FIRST_DEFAULT (10 * ES_US_PER_SEC)
#define PAUSE_MAX_DEFAULT (300 * ES_US_PER_SEC)

static int after(const struct rec_tr_worker *w)
{
	return w->outage_after > 0 ? w->outage_after : PAUSE_AFTER_DEFAULT;
}

/* ---- the state file ---------------------------------------------------------- */

/* One line: paused since_us resume_us errors pauses pause_us owner<TAB>last error.
 * Written to a temporary name and renamed: a reader sees the old or the new. */
static void state_write(struct rec_tr_worker *w, int64_t now_us)
{
	struct rec_tr_pause *p = &w->pause;
	if (!p->state_path[0]) {
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/run", w->data_dir);
		if (es_mkdirs(dir, true))
			return; /* the status is a convenience: the worker goes on */
		snprintf(p->state_path, sizeof(p->state_path), "%s/transcribe-%ld.tsv", dir,
			 (long)getpid());
	}
	char tmp[4400], line[1024], err1[256];
	/* the error text on one line: tabs and newlines would break the format */
	snprintf(err1, sizeof(err1), "%s", p->last_error);
	for (char *c = err1; *c; c++)
		if (*c == '\t' || *c == '\n' || *c == '\r')
			*c = ' ';
	int n = snprintf(line, sizeof(line), "%d\t%" PRId64 "\t%" PRId64 "\t%d\t%" PRIu64 "\t%"
			 PRId64 "\t%" PRId64 "\t%s\t%s\n", p->paused || p->probing ? 1 : 0,
			 p->since_us, p->resume_us, p->errors, p->pauses, p->pause_us, now_us,
			 w->owner ? w->owner : "", err1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->state_path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	bool ok = n > 0 && fwrite(line, 1, strlen(line), f) == strlen(line);
	if (fclose(f) == 0 && ok)
		rename(tmp, p->state_path);
	else
		unlink(tmp);
}

void rec_tr_pause_close(struct rec_tr_worker *w)
{
	if (w->pause.state_path[0])
		unlink(w->pause.state_path);
	w->pause.state_path[0] = '\0';
}

/* ---- the breaker --------------------------------------------------------------- */

bool rec_tr_pause_holds(struct rec_tr_worker *w, int64_t now_us)
{
	struct rec_tr_pause *p = &w->pause;
	if (!p->state_path[0])
		state_write(w, now_us); /* the worker is listed from its first look */
	if (!p->paused)
		return false;
	if (now_us < p->resume_us)
		return true;
	/* the pause is over: the next engine call is the probe */
	p->paused = false;
	p->probing = true;
	return false;
}

void rec_tr_pause_answered(struct rec_tr_worker *w, int64_t now_us)
{
	struct rec_tr_pause *p = &w->pause;
	p->answered++;
	p->errors = 0;
	if (!p->probing)
		return;
	ES_LOG_INF(TAG, "the engine answers again: jobs are claimed again after %.0f s paused",
		   (double)(now_us - p->since_us) / 1e6);
	p->probing = false;
	p->since_us = p->resume_us = p->pause_us = 0;
	p->nsuspect = 0;
	state_write(w, now_us);
}

/* Whether job failed the same way before with no engine answer since:
 * then this failure is the engine's again, not the job's. */
static bool suspect_seen(struct rec_tr_pause *p, int64_t job, bool *known)
{
	*known = false;
	for (unsigned i = 0; i < p->nsuspect; i++)
		if (p->suspect[i].job == job) {
			*known = true;
			bool same = p->suspect[i].answered == p->answered;
			p->suspect[i].answered = p->answered;
			return same;
		}
	return false;
}

bool rec_tr_pause_failed(struct rec_tr_worker *w, int64_t job, const char *error, int64_t now_us)
{
	struct rec_tr_pause *p = &w->pause;
	snprintf(p->last_error, sizeof(p->last_error), "%s", error ? error : "");
	p->errors++;
	bool known = false, again = suspect_seen(p, job, &known);
	/* a job that fails again although the engine answered other jobs in
	 * between carries its own fault (audio the engine chokes on) */
	bool charge = known && !again && !p->probing;
	if (!known) {
		unsigned i = p->nsuspect < REC_TR_SUSPECTS ? p->nsuspect++
							    : (unsigned)(p->answered % REC_TR_SUSPECTS);
		p->suspect[i].job = job;
		p->suspect[i].answered = p->answered;
	}
	if (!p->probing && p->errors < after(w))
		return charge;
	int64_t first = w->outage_pause_us > 0 ? w->outage_pause_us : PAUSE_FIRST_DEFAULT;
	int64_t cap = w->outage_pause_max_us > 0 ? w->outage_pause_max_us : PAUSE_MAX_DEFAULT;
	if (cap < first)
		cap = first;
	bool was = p->probing;
	p->pause_us = was ? (p->pause_us > cap / 2 ? cap : p->pause_us * 2) : first;
	if (!was)
		p->since_us = now_us;
	p->paused = true;
	p->probing = false;
	p->resume_us = now_us + p->pause_us;
	p->pauses++;
	if (was)
		ES_LOG_WARNING(TAG, "the engine still fails (%s): next try in %.0f s", p->last_error,
			       (double)p->pause_us / 1e6);
	else
		ES_LOG_WARNING(TAG, "the engine failed %d times in a row (last: %s): no job is "
				    "claimed for %.0f s, then one job tries it; the jobs' attempts "
				    "are not spent", p->errors, p->last_error,
			       (double)p->pause_us / 1e6);
	state_write(w, now_us);
	return false;
}

/* ---- reading the workers' states ------------------------------------------------- */

static int parse_line(char *line, struct rec_tr_pause_info *in)
{
	memset(in, 0, sizeof(*in));
	char *f[9] = {0};
	char *s = line;
	for (int i = 0; i < 9; i++) {
		f[i] = s;
		char *t = i < 8 ? strchr(s, '\t') : strchr(s, '\n');
		if (!t && i < 8)
			return ES_EPARSE;
		if (t) {
			*t = '\0';
			s = t + 1;
		}
	}
	in->paused = atoi(f[0]) != 0;
	in->since_us = strtoll(f[1], NULL, 10);
	in->resume_us = strtoll(f[2], NULL, 10);
	in->errors = atoi(f[3]);
	in->pauses = strtoull(f[4], NULL, 10);
	in->pause_us = strtoll(f[5], NULL, 10);
	in->updated_us = strtoll(f[6], NULL, 10);
	snprintf(in->owner, sizeof(in->owner), "%s", f[7]);
	snprintf(in->last_error, sizeof(in->last_error), "%s", f[8]);
	return 0;
}

int rec_tr_pause_list(const char *data_dir, int (*fn)(void *ud, const struct rec_tr_pause_info *),
		      void *ud)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/run", data_dir);
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* no worker ran here */
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		long pid = 0;
		char tail[8] = "";
		if (sscanf(e->d_name, "transcribe-%ld.%7s", &pid, tail) != 2 || pid <= 0 ||
		    strcmp(tail, "tsv"))
			continue;
		char path[4500], line[1200];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* a worker that was killed left its file: its process tells */
		if (kill((pid_t)pid, 0) && errno == ESRCH) {
			unlink(path);
			continue;
		}
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		bool got = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		struct rec_tr_pause_info in;
		if (!got || parse_line(line, &in))
			continue;
		in.pid = pid;
		rc = fn(ud, &in);
	}
	closedir(d);
	return rc;
}
