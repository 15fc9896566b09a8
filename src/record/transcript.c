/*
 * transcript.c - the transcription queue's worker and the stored
 * transcripts (record.h).  The recording's plaintext exists only in memory
 * (a memfd); the engine (analytics/transcribe.h) gets one channel as PCM;
 * the words go to DATA/transcripts/ sealed with the recording's data key
 * and the searchable text into the index.
 */
#include "analytics/transcribe.h"
#include "index/index.h"
#include "media/media.h"
#include "record/record.h"
#include "record/record_internal.h"
#include "store/crypt.h"
#include "store/vault.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TAG "transcribe"
#define TR_MAX_SECONDS (4 * 3600) /* a channel sent in one request: 4 h */
#define TR_JSON_MAX (64u << 20)   /* a stored transcript read back */

static const char *const chan_name[] = {"caller", "callee"};

int rec_transcript_path(const char *data_dir, const char *rec_path, int channel, char *out,
			size_t cap)
{
	if (channel < 0 || channel > 1)
		return ES_EINVAL;
	int n = snprintf(out, cap, "%s/%s/%s.%s.json", data_dir, REC_TR_DIR, rec_path,
			 chan_name[channel]);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

int rec_transcript_drop(const char *data_dir, const char *rec_path)
{
	char path[4400];
	int rc = 0;
	for (int ch = 0; ch < 2; ch++)
		if (!rec_transcript_path(data_dir, rec_path, ch, path, sizeof(path)) &&
		    unlink(path) && errno != ENOENT)
			rc = ES_EIO;
	return rc;
}

int rec_transcript_move(const char *data_dir, struct st_vault *vault, const char *old_path,
			bool encrypted, const char *new_path, char *err, size_t errlen)
{
	struct idx_recording old = {.path = old_path, .encrypted = encrypted};
	int rc = 0;
	for (int ch = 0; ch < 2 && !rc; ch++) {
		struct es_buf b;
		es_buf_init(&b);
		struct st_dek *dek = NULL;
		char path[4400], from[4400];
		rc = rec_transcript_load(data_dir, vault, &old, ch, &b, err, errlen);
		if (rc == ES_ENOTFOUND) {
			rc = 0;
			es_buf_free(&b);
			continue;
		}
		if (!rc && (rc = rec_transcript_path(data_dir, new_path, ch, path, sizeof(path))))
			es_errf(err, errlen, rc, "transcript path too long");
		if (!rc && encrypted)
			rc = st_vault_key(vault, new_path, &dek, err, errlen);
		if (!rc)
			rc = rec_sealed_save(path, dek, b.p, b.len, err, errlen);
		if (!rc && !rec_transcript_path(data_dir, old_path, ch, from, sizeof(from)))
			unlink(from);
		st_dek_free(dek);
		if (b.p)
			sodium_memzero(b.p, b.len);
		es_buf_free(&b);
	}
	return rc;
}

/* ---- the queue ---------------------------------------------------------------------- */

static void cpy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static int take_rec(void *ud, const struct idx_call *c)
{
	struct rec_tr_call *r = ud;
	const struct idx_recording *rec = c->recording;
	if (!rec || !rec->path)
		return 0;
	r->found = true;
	r->row = c->id;
	cpy(r->path, sizeof(r->path), rec->path);
	cpy(r->sha, sizeof(r->sha), rec->sha256);
	r->encrypted = rec->encrypted;
	r->channels = rec->channels;
	r->duration_us = rec->duration_us;
	cpy(r->call_id, sizeof(r->call_id), c->call_id);
	cpy(r->caller, sizeof(r->caller), c->caller.user);
	cpy(r->callee, sizeof(r->callee), c->callee.user);
	cpy(r->rule, sizeof(r->rule), c->rule);
	cpy(r->source, sizeof(r->source), c->source);
	r->start_us = c->start_us;
	return 0;
}

int rec_tr_enqueue(struct idx *ix, int64_t call_row, int64_t now_us, bool again,
		   unsigned *added)
{
	struct rec_tr_call r = {0};
	if (added)
		*added = 0;
	int rc = idx_call_brief(ix, call_row, take_rec, &r);
	if (rc)
		return rc;
	if (!r.found)
		return ES_ENOTFOUND;
	unsigned nch = r.channels >= 2 ? 2 : 1;
	for (unsigned ch = 0; ch < nch; ch++) {
		bool one = false;
		if ((rc = idx_tr_enqueue(ix, call_row, (int)ch, now_us, again, &one)))
			return rc;
		if (added && one)
			(*added)++;
	}
	return 0;
}

/* ---- one job -------------------------------------------------------------------------- */

static int need_vault(struct rec_tr_worker *w, char *err, size_t errlen)
{
	if (w->vault)
		return 0;
	int rc = st_vault_open(&w->vault, w->data_dir, false, err, errlen);
	if (!rc)
		w->own_vault = true;
	return rc;
}

void rec_tr_worker_close(struct rec_tr_worker *w)
{
	rec_tr_pause_close(w);
	if (w->own_vault)
		st_vault_close(w->vault);
	w->vault = NULL;
	w->own_vault = false;
}

/* The recording's plaintext into a new memfd (checked against its hash
 * first): nothing of it touches the disk. */
static int plain_memfd(struct rec_tr_worker *w, const struct rec_tr_call *r, int *fd, char *err,
		       size_t errlen)
{
	*fd = memfd_create("earshot-transcribe", MFD_CLOEXEC);
	if (*fd < 0)
		return es_errf(err, errlen, ES_EIO, "memfd_create: %s", strerror(errno));
	int rc = r->encrypted ? need_vault(w, err, errlen) : 0;
	return rc ? rc
		  : rec_plain_into(w->data_dir, w->vault, r->path, r->sha, r->encrypted, *fd,
				   "not transcribed", err, errlen);
}

/* One channel of the decoded recording (malloc'd *pcm). */
static int decode_channel(int fd, const char *name, int channel, int16_t **pcm, size_t *frames,
			  uint32_t *rate, char *err, size_t errlen)
{
	*pcm = NULL;
	*frames = 0;
	lseek(fd, 0, SEEK_SET);
	FILE *f = fdopen(dup(fd), "rb");
	if (!f)
		return es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	struct media_reader *mr = NULL;
	int rc = media_reader_open_stream(&mr, f, name, err, errlen);
	if (rc)
		return rc;
	unsigned nch = media_reader_channels(mr);
	*rate = media_reader_rate(mr);
	if ((unsigned)channel >= nch || !*rate) {
		media_reader_close(mr);
		return es_errf(err, errlen, ES_EINVAL, "%s has no channel %d", name, channel + 1);
	}
	size_t cap = 0, n = 0, max = (size_t)TR_MAX_SECONDS * *rate;
	int16_t *out = NULL, buf[4096 * 2];
	long got;
	while ((got = media_reader_read(mr, buf, 4096)) > 0) {
		if (n + (size_t)got > max) {
			rc = es_errf(err, errlen, ES_ELIMIT, "%s: longer than %d s", name,
				     TR_MAX_SECONDS);
			break;
		}
		if (n + (size_t)got > cap) {
			size_t nc = cap ? cap * 2 : 65536;
			while (nc < n + (size_t)got)
				nc *= 2;
			int16_t *p = realloc(out, nc * sizeof(*p));
			if (!p) {
				rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
				break;
			}
			out = p;
			cap = nc;
		}
		for (long i = 0; i < got; i++)
			out[n + (size_t)i] = buf[(size_t)i * nch + (unsigned)channel];
		n += (size_t)got;
	}
	if (!rc && got < 0)
		rc = es_errf(err, errlen, ES_EPARSE, "%s: cannot be decoded", name);
	media_reader_close(mr);
	if (rc) {
		free(out);
		return rc;
	}
	*pcm = out;
	*frames = n;
	return 0;
}

/* The words: sealed file first, then the index in one transaction. */
static int store(struct rec_tr_worker *w, const struct idx_tr_job *j, const struct rec_tr_call *r,
		 struct tr_text *t, struct rec_tr_spans *sp, int64_t now_us, char *err,
		 size_t errlen)
{
	struct es_buf json, text, times;
	es_buf_init(&json);
	es_buf_init(&text);
	es_buf_init(&times);
	struct st_dek *dek = NULL;
	char path[4400];
	/* spoken numbers masked before anything is written */
	int rc = rec_tr_mask(w, j->channel, t, sp);
	if (!rc)
		rc = tr_text_json_ex(t, chan_name[j->channel], w->engine->name,
				     (const char *)sp->json.p, &json);
	if (!rc)
		rc = tr_text_plain(t, &text, &times);
	if (rc) {
		es_errf(err, errlen, rc, "out of memory");
		goto out;
	}
	if ((rc = rec_transcript_path(w->data_dir, r->path, j->channel, path, sizeof(path)))) {
		es_errf(err, errlen, rc, "transcript path too long");
		goto out;
	}
	if (r->encrypted && (rc = st_vault_key(w->vault, r->path, &dek, err, errlen)))
		goto out;
	if ((rc = rec_sealed_save(path, dek, json.p, json.len, err, errlen)))
		goto out;
	struct idx_transcript it = {
		.call_row = j->call_row,
		.channel = j->channel,
		.engine = w->engine->name,
		.words = (int64_t)t->n,
		.times = (const char *)times.p,
		.text = (const char *)text.p,
		.created_us = now_us,
	};
	/* its ledger leaf queued for the ledger's writer before the row exists
	 * (tr_ledger.c), so a row never lacks both leaf and queued leaf */
	if ((rc = rec_tr_seal_queue(w->data_dir, r->path, &it, path, &json, err, errlen)))
		goto out;
	if ((rc = idx_begin(w->ix)))
		goto dberr;
	rc = idx_transcript_put(w->ix, &it);
	if (!rc)
		rc = idx_tr_job_done(w->ix, j->id, now_us);
	if (!rc)
		rc = idx_commit(w->ix);
	else
		idx_rollback(w->ix);
	if (rc)
		rec_tr_pending_drop(w->data_dir, it.call_row, it.channel, it.created_us);
	/* a recording already in the bucket: its words join it there for the
	 * web nodes (issue #16); they stay here too, so a failure is logged */
	char werr[512];
	if (!rc && rec_tier_put_words(w->data_dir, r->path, werr, sizeof(werr)))
		ES_LOG_WARNING(TAG, "%s: its transcript is not in the bucket; web nodes cannot "
			       "read it until the next `earshot archive run`: %s", r->path, werr);
dberr:
	if (rc)
		es_errf(err, errlen, rc, "%s", idx_errmsg(w->ix));
out:
	st_dek_free(dek);
	es_buf_free(&json);
	es_buf_free(&text);
	es_buf_free(&times);
	return rc;
}

/* The audio of each masked number, through the caller's redaction. */
static void redact_spans(struct rec_tr_worker *w, const struct rec_tr_call *r, int channel,
			 const struct rec_tr_spans *sp)
{
	int64_t dur_ms = r->duration_us / 1000;
	for (size_t i = 0; w->redact && i < sp->n; i++) {
		int64_t from = sp->span[i].start_ms - REC_TR_REDACT_PAD_MS;
		int64_t to = sp->span[i].end_ms + REC_TR_REDACT_PAD_MS;
		if (from < 0)
			from = 0;
		if (dur_ms > 0 && to > dur_ms)
			to = dur_ms;
		if (to <= from)
			continue;
		const char *ch = r->channels >= 2 ? chan_name[channel] : "both";
		if (w->redact(w->redact_ud, r->row, ch, from, to, sp->span[i].kind))
			ES_LOG_ERR(TAG, "call %lld %s: the spoken %s at %.3f-%.3f s was masked in "
				   "the transcript but its audio is not redacted",
				   (long long)r->row, chan_name[channel], sp->span[i].kind,
				   from / 1e3, to / 1e3);
	}
}

struct claimed {
	bool got;
	struct idx_tr_job j;
};

static int take_job(void *ud, const struct idx_tr_job *j)
{
	struct claimed *c = ud;
	c->got = true;
	c->j = *j;
	c->j.state = c->j.error = c->j.claimed_by = NULL; /* point into the index: not kept */
	return 0;
}

int rec_tr_run_one(struct rec_tr_worker *w, int64_t now_us, bool *ran, bool *failed, char *err,
		   size_t errlen)
{
	*ran = *failed = false;
	/* the engine is out: nothing is claimed until the pause is over */
	if (rec_tr_pause_holds(w, now_us))
		return 0;
	struct claimed c = {0};
	int rc = idx_tr_claim(w->ix, now_us, w->owner, take_job, &c);
	if (rc == ES_ENOTFOUND)
		return 0;
	if (rc) {
		es_errf(err, errlen, rc, "%s", idx_errmsg(w->ix));
		return rc;
	}
	*ran = true;
	struct rec_tr_call r = {0};
	struct tr_text t = {0};
	int16_t *pcm = NULL;
	size_t frames = 0;
	uint32_t rate = 0;
	int fd = -1;
	rc = idx_call_brief(w->ix, c.j.call_row, take_rec, &r);
	if (!rc && !r.found)
		rc = es_errf(err, errlen, ES_ENOTFOUND, "call %lld has no recording",
			     (long long)c.j.call_row);
	else if (rc)
		es_errf(err, errlen, rc, "call %lld: %s", (long long)c.j.call_row,
			idx_errmsg(w->ix));
	if (!rc)
		rc = plain_memfd(w, &r, &fd, err, errlen);
	if (!rc)
		rc = decode_channel(fd, r.path, c.j.channel, &pcm, &frames, &rate, err, errlen);
	bool asked = !rc;
	if (!rc)
		rc = w->engine->run(w->conf, pcm, frames, rate, &t, err, errlen);
	/* ES_EIO from the engine: it did not answer (connection, timeout,
	 * 5xx): the engine's outage, not the job's fault */
	bool outage = asked && rc == ES_EIO;
	if (asked && !outage && rc != ES_EAGAIN)
		rec_tr_pause_answered(w, now_us);
	free(pcm);
	if (fd >= 0)
		close(fd);
	struct rec_tr_spans sp = {0};
	if (!rc)
		rc = store(w, &c.j, &r, &t, &sp, now_us, err, errlen);
	tr_text_free(&t);
	if (!rc) {
		ES_LOG_INF(TAG, "call %lld %s: transcribed", (long long)c.j.call_row,
			    chan_name[c.j.channel]);
		/* the findings are derived: their failure is logged, the
		 * transcript stays (the next transcript of the call redoes them) */
		char aerr[512] = "";
		if (rec_tr_analyse_call(w, &r, c.j.channel, now_us, aerr, sizeof(aerr)))
			ES_LOG_WARNING(TAG, "call %lld: text analyses: %s", (long long)c.j.call_row,
				       aerr);
		redact_spans(w, &r, c.j.channel, &sp);
		rec_tr_spans_free(&sp);
		return 0;
	}
	rec_tr_spans_free(&sp);
	/* the worker is stopping (ES_EAGAIN from the engine): the job is due
	 * again as it was, no attempt counted */
	if (rc == ES_EAGAIN && w->conf->stop && atomic_load(w->conf->stop)) {
		int drc = idx_tr_requeue_job(w->ix, c.j.id, w->owner, now_us, NULL);
		if (drc)
			es_errf(err, errlen, drc, "%s", idx_errmsg(w->ix));
		return drc;
	}
	*failed = true;
	/* the engine's outage: the job is due again, its attempt not spent */
	if (outage && !rec_tr_pause_failed(w, c.j.id, err, now_us)) {
		ES_LOG_WARNING(TAG, "call %lld %s: %s (the engine's failure: not counted against "
			       "the job)", (long long)c.j.call_row, chan_name[c.j.channel], err);
		/* due a microsecond later: after the jobs due now, and not again
		 * in a --once run (which claims as of its start) */
		int drc = idx_tr_requeue_job(w->ix, c.j.id, w->owner, now_us + 1, NULL);
		if (drc)
			es_errf(err, errlen, drc, "%s", idx_errmsg(w->ix));
		return drc;
	}
	/* the job's failure: retried with backoff unless retrying cannot help */
	int max = w->max_attempts > 0 ? w->max_attempts : 5;
	int64_t base = w->backoff_us > 0 ? w->backoff_us : 30 * ES_US_PER_SEC;
	int64_t cap = w->backoff_max_us > 0 ? w->backoff_max_us : 3600 * ES_US_PER_SEC;
	int64_t delay = base;
	for (int i = 0; i < c.j.attempts && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	bool give_up = c.j.attempts + 1 >= max || rc == ES_EINVAL || rc == ES_ENOTFOUND ||
		       rc == ES_ECRYPTO || rc == ES_EUNSUP;
	ES_LOG_WARNING(TAG, "call %lld %s: %s%s", (long long)c.j.call_row, chan_name[c.j.channel],
		       err, give_up ? " (given up)" : "");
	int drc = idx_tr_job_fail(w->ix, c.j.id, err, now_us + delay, give_up, now_us);
	if (drc) {
		es_errf(err, errlen, drc, "%s", idx_errmsg(w->ix));
		return drc;
	}
	return 0;
}

/* ---- workers that are gone --------------------------------------------------------------- */

/* This machine's name as owners name it ("localhost" when it has none). */
static void this_host(char host[256])
{
	host[255] = '\0';
	if (gethostname(host, 255) || !*host)
		snprintf(host, 256, "localhost");
}

void rec_tr_owner(char *out, size_t cap)
{
	char host[256] = "";
	this_host(host);
	snprintf(out, cap, "%s:%ld", host, (long)getpid());
}

#define ORPHANS_MAX 4096 /* running jobs looked at per start */

struct running {
	size_t n;
	int64_t id[ORPHANS_MAX], updated_us[ORPHANS_MAX];
	char owner[ORPHANS_MAX][320];
	bool long_owner[ORPHANS_MAX];
};

static int take_running(void *ud, const struct idx_tr_job *j)
{
	struct running *r = ud;
	if (strcmp(j->state, "running") || r->n >= ORPHANS_MAX)
		return 0;
	size_t i = r->n++;
	r->id[i] = j->id;
	r->updated_us[i] = j->updated_us;
	const char *o = j->claimed_by ? j->claimed_by : "";
	r->long_owner[i] = strlen(o) >= sizeof(r->owner[i]);
	snprintf(r->owner[i], sizeof(r->owner[i]), "%s", o);
	return 0;
}

/* Whether owner ("host:pid") is a worker that is gone. */
static bool owner_gone(const char *owner, const char *self_host, int64_t age_us, int64_t lease_us)
{
	const char *colon = strrchr(owner, ':');
	if (!*owner || !colon)
		return true; /* claimed by nobody known: an earshot before the owner column */
	size_t hl = (size_t)(colon - owner);
	if (hl != strlen(self_host) || memcmp(owner, self_host, hl))
		return age_us >= lease_us; /* another node: only its lease tells */
	char *end;
	long pid = strtol(colon + 1, &end, 10);
	if (*end || pid <= 0)
		return true;
	/* this host: the process is alive or not (EPERM: alive, not ours) */
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

int rec_tr_requeue_orphans(struct idx *ix, int64_t now_us, int64_t lease_us, int64_t *n)
{
	if (n)
		*n = 0;
	struct running *r = calloc(1, sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	char host[256] = "";
	this_host(host);
	int rc = idx_tr_jobs_list(ix, 0, take_running, r);
	for (size_t i = 0; !rc && i < r->n; i++) {
		bool again = false;
		if (r->long_owner[i] || !owner_gone(r->owner[i], host, now_us - r->updated_us[i],
						    lease_us))
			continue;
		rc = idx_tr_requeue_job(ix, r->id[i], r->owner[i], now_us, &again);
		if (!rc && again && n)
			(*n)++;
	}
	free(r);
	return rc;
}

/* ---- reading back ----------------------------------------------------------------------- */

/* The words file at path (sealed with rec's data key when rec is encrypted). */
static int load_file(const char *path, struct st_vault *vault, const struct idx_recording *rec,
		     struct es_buf *out, char *err, size_t errlen)
{
	int rc = 0;
	if (access(path, F_OK))
		return ES_ENOTFOUND;
	if (!rec->encrypted) {
		FILE *f = fopen(path, "rb");
		char buf[65536];
		size_t n;
		if (!f)
			return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
		while (!rc && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			rc = out->len + n > TR_JSON_MAX ? ES_ELIMIT : es_buf_append(out, buf, n);
		fclose(f);
		return rc ? es_errf(err, errlen, rc, "%s: too large", path) : 0;
	}
	struct st_dek *dek = NULL;
	struct st_enc_reader *r = NULL;
	if (!vault)
		return es_errf(err, errlen, ES_ENOTFOUND, "no keys to read %s", path);
	if ((rc = st_vault_key(vault, rec->path, &dek, err, errlen)))
		return rc;
	rc = st_enc_reader_open(&r, path, dek, err, errlen);
	uint64_t size = rc ? 0 : st_enc_reader_size(r);
	if (!rc && size > TR_JSON_MAX)
		rc = es_errf(err, errlen, ES_ELIMIT, "%s: too large", path);
	if (!rc && !(rc = es_buf_reserve(out, (size_t)size))) {
		size_t got = 0;
		rc = st_enc_reader_pread(r, out->p + out->len, (size_t)size, 0, &got);
		if (rc)
			es_errf(err, errlen, rc, "%s: %s", path, st_enc_reader_error(r));
		else
			out->len += got;
	}
	st_enc_reader_close(r);
	st_dek_free(dek);
	return rc;
}

int rec_transcript_load(const char *data_dir, struct st_vault *vault,
			const struct idx_recording *rec, int channel, struct es_buf *out,
			char *err, size_t errlen)
{
	return rec_transcript_load_node(data_dir, NULL, NULL, vault, rec, channel, out, err,
					errlen);
}

int rec_transcript_load_node(const char *data_dir, struct idx *ix, const char *node,
			     struct st_vault *vault, const struct idx_recording *rec, int channel,
			     struct es_buf *out, char *err, size_t errlen)
{
	char path[4400], got[4400];
	int rc = rec_transcript_path(data_dir, rec->path, channel, path, sizeof(path));
	if (rc)
		return es_errf(err, errlen, rc, "transcript path too long");
	if (!node || !access(path, F_OK))
		return load_file(path, vault, rec, out, err, errlen);
	/* another node's words, archived beside its recording (rec_tier_move):
	 * fetched unchecked (the seal is the check: it opens only with this
	 * recording's data key) and removed once read, so that a transcript
	 * made again is never served from an old copy */
	/* two requests for one transcript fetch to the same path: each takes
	 * the fetched file under a name of its own before reading it, and one
	 * that finds it already taken fetches again */
	static atomic_uint seq;
	char mine[4500];
	for (int tries = 0;; tries++) {
		rc = rec_tier_fetch_node(data_dir, ix, node, path + strlen(data_dir) + 1, NULL, got,
					 sizeof(got), err, errlen);
		if (rc)
			return rc; /* ES_ENOTFOUND: not transcribed, or not archived yet */
		snprintf(mine, sizeof(mine), "%s.%ld.%u", got, (long)getpid(),
			 atomic_fetch_add(&seq, 1));
		if (!rename(got, mine))
			break;
		if (errno != ENOENT || tries == 4)
			return es_errf(err, errlen, ES_EIO, "%s: %s", got, strerror(errno));
	}
	rc = load_file(mine, vault, rec, out, err, errlen);
	unlink(mine);
	return rc;
}
