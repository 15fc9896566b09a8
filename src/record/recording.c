/*
 * recording.c - the pool that turns finished calls' media logs into
 * recording files.  Workers take jobs from a queue, render into memory
 * (media_render_mem), write it to "<final>.part" in one pass that hashes
 * (SHA-256) and encrypts it, rename it into place and fsync the folder (a
 * call whose file would be larger than REC_BUF_KEEP is rendered straight
 * into its file, or, encrypted, straight into the encryptor (WAV, Ogg/Opus)
 * or through a memfd (FLAC), so that a worker's heap stays bounded
 * whatever the call's length); the thread that owns the index collects the
 * results with rec_recorder_drain and enters them.  A job's media log is
 * removed once its recording is durable (or when it holds no audio).
 */
#include "record/record.h"
#include "store/crypt.h"
#include "store/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "recording"
#define REC_MAX_THREADS 64
/* A worker keeps its rendering buffer up to this size between jobs (a
 * 10-minute stereo WAV at 8 kHz is 19 MB). */
#define REC_BUF_KEEP ((size_t)32 << 20)

struct rec_job {
	struct rec_job *next;
	int64_t call_row;
	int64_t queued_us;  /* CLOCK_MONOTONIC at submit: the backlog's age */
	int64_t start_us;
	int64_t end_us;     /* of the call: with start_us, what bounds its audio */
	int64_t answer_us;  /* 0 = not answered (audio checks: completeness) */
	bool cut;           /* the engine could not spool all of it */
	char *media_log;
	struct render_opts ro;
	char extra_flag[24];
	/* the result */
	int err;
	char msg[1600];
	char rel[128];
	char sha[65];
	char plain_sha[65]; /* encrypted recordings: of the plaintext */
	uint64_t bytes;     /* the stored file's size */
	char flags[320];
	char stats[600];
	struct render_result res;
	/* talk metrics (analytics/talk.h) from the rendered samples */
	struct an_talk talk;
	bool talk_on;
	struct es_buf talk_json;
	struct idx_call_talk talk_row;
	bool talk_ok;
	/* audio checks (analytics/audiocheck.h) of the same samples */
	struct an_check chk;
	struct es_buf chk_json;
	bool chk_ok;
};

struct rec_recorder {
	struct rec_store_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t work;   /* a job was queued, or stop */
	pthread_cond_t done;   /* a job finished */
	struct rec_job *queue, **queue_tail;
	struct rec_job *finished, **finished_tail;
	unsigned pending;      /* queued or being rendered */
	bool stop;
	pthread_t th[REC_MAX_THREADS];
	unsigned nth;
	unsigned started;      /* workers that took their slot in busy_us */
	int64_t busy_us[REC_MAX_THREADS]; /* queued_us of each worker's job; 0 = idle */
	unsigned busy, busy_max;
	struct mlog_keys keys;
	struct an_check_limits checks;
};

int rec_recording_path(const char *data_dir, const struct idx_recording *rec, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", data_dir, rec->path ? rec->path : "");
	if (n < 0 || (size_t)n >= cap)
		return ES_ELIMIT;
	struct stat st;
	char cached[4200], err[1024];
	/* archived: the bucket's copy, fetched once and verified */
	if (rec->path && stat(out, &st) && errno == ENOENT &&
	    !rec_tier_fetch(data_dir, rec->path, rec->sha256, cached, sizeof(cached), err,
			    sizeof(err)) &&
	    strlen(cached) < cap)
		snprintf(out, cap, "%s", cached);
	return 0;
}

int rec_fsync_dir_of(const char *path)
{
	char dir[4400];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ES_EIO;
	int rc = fsync(fd);
	close(fd);
	return rc ? ES_EIO : 0;
}


static void job_stats(struct rec_job *j)
{
	const struct render_result *r = &j->res;
	snprintf(j->stats, sizeof(j->stats),
		 "{\"packets\":%llu,\"decoded\":%llu,\"late\":%llu,\"bad\":%llu,"
		 "\"unknown_pt\":%llu,\"events\":%llu,\"concealed_samples\":%llu,"
		 "\"drift_corrected_us\":%lld,\"ts_jumps\":%llu,\"outside_call\":%llu,"
		 "\"unknown\":\"%s\"}",
		 (unsigned long long)r->packets, (unsigned long long)r->packets_decoded,
		 (unsigned long long)r->packets_late, (unsigned long long)r->packets_bad,
		 (unsigned long long)r->packets_unknown_pt, (unsigned long long)r->packets_event,
		 (unsigned long long)r->samples_concealed, (long long)r->drift_corrected_us,
		 (unsigned long long)r->ts_jumps, (unsigned long long)r->packets_outside,
		 r->unknown);
	j->flags[0] = '\0';
	if (r->party_audio[0] != r->party_audio[1])
		snprintf(j->flags, sizeof(j->flags), "one_sided,%s",
			 r->party_audio[0] ? "no_callee_audio" : "no_caller_audio");
	if (r->torn)
		snprintf(j->flags + strlen(j->flags), sizeof(j->flags) - strlen(j->flags), "%storn",
			 j->flags[0] ? "," : "");
	if (r->packets_unknown_pt || r->packets_bad)
		snprintf(j->flags + strlen(j->flags), sizeof(j->flags) - strlen(j->flags),
			 "%sundecoded_packets", j->flags[0] ? "," : "");
	if (r->ts_jumps)
		snprintf(j->flags + strlen(j->flags), sizeof(j->flags) - strlen(j->flags),
			 "%srtp_ts_jump", j->flags[0] ? "," : "");
	if (r->packets_outside)
		snprintf(j->flags + strlen(j->flags), sizeof(j->flags) - strlen(j->flags),
			 "%saudio_outside_call", j->flags[0] ? "," : "");
	if (j->extra_flag[0])
		snprintf(j->flags + strlen(j->flags), sizeof(j->flags) - strlen(j->flags), "%s%s",
			 j->flags[0] ? "," : "", j->extra_flag);
}

/* The media log after rendering: left in the spool (keep_media_log), kept
 * as the call's raw data (its SIP messages and RTP, raw.c) or removed. */
static void job_log_done(const struct rec_store_config *cfg, struct rec_job *j)
{
	if (cfg->keep_media_log)
		return;
	/* a plain log (recovered from an earlier version or encrypt = no) is
	 * not kept where recordings are encrypted at rest */
	if (cfg->no_raw || (cfg->vault && !mlog_file_encrypted(j->media_log)))
		unlink(j->media_log);
	else
		rec_raw_keep(cfg->data_dir, j->call_row, j->media_log);
}

/* An unencrypted recording: p to path (created 0640), fsynced, its
 * SHA-256 taken from memory as it is written. */
static int write_plain(const char *path, const uint8_t *p, size_t n, char sha[65], char *why,
		       size_t whylen)
{
	struct st_sha256 *h = st_sha256_new();
	if (!h) {
		snprintf(why, whylen, "out of memory");
		return ES_ENOMEM;
	}
	st_sha256_update(h, p, n);
	uint8_t md[32];
	st_sha256_final(h, md);
	st_sha256_free(h);
	sodium_bin2hex(sha, 65, md, sizeof(md));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = fd < 0 || es_write_all(fd, p, n) || fsync(fd) ? ES_EIO : 0;
	if (rc)
		snprintf(why, whylen, "%s", strerror(errno));
	if (fd >= 0 && close(fd) && !rc) {
		snprintf(why, whylen, "close: %s", strerror(errno));
		rc = ES_EIO;
	}
	return rc;
}

/* The most bytes the rendered file of j can take: its span at the file's
 * rate (16 kHz when not fixed, the wideband case), 16-bit samples per
 * channel for WAV and FLAC, the bitrate (64 kbit/s when not set) for Opus. */
static uint64_t job_size_bound(const struct rec_job *j)
{
	const struct render_opts *o = &j->ro;
	uint64_t secs = j->end_us > j->start_us ? (uint64_t)(j->end_us - j->start_us) / ES_US_PER_SEC + 2
						: UINT64_MAX / 1000000;
	uint64_t per_s;
	if (o->format == MEDIA_OPUS)
		per_s = (uint64_t)(o->writer.opus_bitrate > 0 ? o->writer.opus_bitrate : 64000) / 8;
	else
		per_s = (uint64_t)(o->rate ? o->rate : 16000) * (o->mix ? 1 : 2) * 2;
	return secs > UINT64_MAX / per_s ? UINT64_MAX : secs * per_s;
}

/* media_sink_fn: rendered bytes into the encryptor. */
static int enc_sink(void *ud, const void *p, size_t n)
{
	return st_enc_writer_write(ud, p, n);
}

/* The encrypted file's writer on part, under a fresh data key kept by the
 * vault under the recording's id (its path). */
static int enc_open(const struct rec_store_config *cfg, const struct rec_job *j, const char *part,
		    struct st_enc_writer **w, char *why, size_t whylen)
{
	struct st_dek *dek = NULL;
	int err = st_vault_new_key(cfg->vault, j->rel, &dek, why, whylen);
	if (!err)
		err = st_enc_writer_open(w, part, dek, 0, why, whylen);
	st_dek_free(dek);
	return err;
}

/* The end of an encrypted write: on err the part file and its data key
 * go (why, when set, says what failed); else the job takes the hashes. */
static void enc_done(const struct rec_store_config *cfg, struct rec_job *j, const char *final,
		     const char *part, int err, const char *why, const struct st_enc_hashes *h)
{
	if (err) {
		j->err = err;
		if (why[0])
			snprintf(j->msg, sizeof(j->msg), "%s: cannot write it encrypted: %s", final,
				 why);
		else if (!j->msg[0])
			snprintf(j->msg, sizeof(j->msg), "%s: cannot write it encrypted: %s", final,
				 es_strerror(err));
		unlink(part);
		st_vault_shred(cfg->vault, j->rel, NULL, 0);
		return;
	}
	memcpy(j->sha, h->cipher_sha256, sizeof(j->sha));
	memcpy(j->plain_sha, h->plain_sha256, sizeof(j->plain_sha));
	j->bytes = h->cipher_size;
}

/* A long encrypted WAV or Ogg/Opus call: rendered straight through the
 * hashing encryptor into part (media_render_sink), memory bounded by one
 * chunk whatever the call's length.  The data key comes first, so a call
 * with no audio shreds it again. */
static void job_write_stream(const struct rec_store_config *cfg, struct rec_job *j,
			     const char *final, const char *part)
{
	struct st_enc_writer *w = NULL;
	struct st_enc_hashes h;
	char why[512] = "";
	int err = enc_open(cfg, j, part, &w, why, sizeof(why));
	if (!err) {
		err = media_render_sink(j->media_log, enc_sink, w, &j->ro, &j->res, j->msg,
					sizeof(j->msg));
		if (err == ES_ENOTFOUND) {
			job_log_done(cfg, j);
		} else if (err) {
			/* the encryptor's own words when it was what failed */
			if (st_enc_writer_error(w)[0])
				snprintf(j->msg, sizeof(j->msg), "%s: cannot write it encrypted: %s",
					 final, st_enc_writer_error(w));
		} else {
			err = st_enc_writer_finish(w, &h);
			if (err)
				snprintf(why, sizeof(why), "%s", st_enc_writer_error(w));
		}
	}
	st_enc_writer_free(w);
	enc_done(cfg, j, final, part, err, why, &h);
}

/* A long call: rendered straight into part and hashed from there, or, with
 * encryption at rest, straight through the encryptor (job_write_stream),
 * or for FLAC (whose header is written last) into a memfd (never a file
 * system) that is then encrypted into part: its pages are the file's size
 * in memory; the worker's heap stays small. */
static void job_write_big(const struct rec_store_config *cfg, struct rec_job *j,
			  const char *final, const char *part)
{
	if (!cfg->vault) {
		j->err = media_render(j->media_log, part, &j->ro, &j->res, j->msg, sizeof(j->msg));
		if (j->err) {
			if (j->err == ES_ENOTFOUND)
				job_log_done(cfg, j);
			return;
		}
		j->bytes = j->res.bytes;
		if (st_sha256_file(part, NULL, j->sha)) {
			j->err = ES_EIO;
			snprintf(j->msg, sizeof(j->msg), "%s: cannot read it back: %s", part,
				 strerror(errno));
			unlink(part);
		}
		return;
	}
	if (j->ro.format != MEDIA_FLAC) {
		job_write_stream(cfg, j, final, part);
		return;
	}
	int mfd = memfd_create("earshot-render", MFD_CLOEXEC);
	if (mfd < 0) {
		j->err = ES_EIO;
		snprintf(j->msg, sizeof(j->msg), "call %lld: no memory file to render into: %s",
			 (long long)j->call_row, strerror(errno));
		return;
	}
	char mpath[64];
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	j->err = media_render(j->media_log, mpath, &j->ro, &j->res, j->msg, sizeof(j->msg));
	if (j->err) {
		if (j->err == ES_ENOTFOUND)
			job_log_done(cfg, j);
		close(mfd);
		return;
	}
	struct st_enc_writer *w = NULL;
	struct st_enc_hashes h;
	char why[512] = "";
	int err = enc_open(cfg, j, part, &w, why, sizeof(why));
	uint8_t buf[65536];
	ssize_t n = 0;
	if (!err && lseek(mfd, 0, SEEK_SET) == 0) {
		while (!err && (n = read(mfd, buf, sizeof(buf))) > 0)
			err = st_enc_writer_write(w, buf, (size_t)n);
		if (n < 0 && !err) {
			err = ES_EIO;
			snprintf(why, sizeof(why), "reading the rendered audio back: %s", strerror(errno));
		}
	}
	if (!err)
		err = st_enc_writer_finish(w, &h);
	if (err && w && !why[0])
		snprintf(why, sizeof(why), "%s", st_enc_writer_error(w));
	sodium_memzero(buf, sizeof(buf));
	st_enc_writer_free(w);
	close(mfd);
	enc_done(cfg, j, final, part, err, why, &h);
}

/* Render into memory (buf, the worker's, reused from call to call), then
 * write it out in one pass that hashes and, with encryption at rest,
 * encrypts as it goes: the rendered bytes are never written to a file and
 * read back.  Encrypted, the file gets a fresh data key whose wrapped form
 * the vault keeps under the recording's id (its path). */
static void job_write(const struct rec_store_config *cfg, struct rec_job *j, struct es_buf *buf,
		      const char *final, const char *part)
{
	if (job_size_bound(j) > REC_BUF_KEEP) {
		job_write_big(cfg, j, final, part);
		return;
	}
	j->err = media_render_mem(j->media_log, buf, &j->ro, &j->res, j->msg, sizeof(j->msg));
	if (j->err) {
		if (j->err == ES_ENOTFOUND)
			job_log_done(cfg, j);
		return;
	}
	char why[512] = "";
	if (cfg->vault) {
		struct st_enc_writer *w = NULL;
		struct st_enc_hashes h;
		int err = enc_open(cfg, j, part, &w, why, sizeof(why));
		if (!err)
			err = st_enc_writer_write(w, buf->p, buf->len);
		if (!err)
			err = st_enc_writer_finish(w, &h);
		if (err && w && !why[0])
			snprintf(why, sizeof(why), "%s", st_enc_writer_error(w));
		st_enc_writer_free(w);
		/* the plaintext audio does not linger in freed or reused memory */
		sodium_memzero(buf->p, buf->len);
		enc_done(cfg, j, final, part, err, why, &h);
		return;
	}
	int err = write_plain(part, buf->p, buf->len, j->sha, why, sizeof(why));
	j->bytes = buf->len;
	sodium_memzero(buf->p, buf->len);
	if (err) {
		j->err = err;
		snprintf(j->msg, sizeof(j->msg), "%s: cannot write it: %s", final, why);
		unlink(part);
	}
}

/* render_opts.pcm_tap: the rendered samples into the talk metrics. */
static void talk_tap(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
		     uint32_t rate)
{
	struct rec_job *j = ud;
	if (!j->talk_on && an_talk_init(&j->talk, rate) == 0) {
		j->talk_on = true;
		an_check_init(&j->chk, rate);
	}
	if (j->talk_on) {
		an_talk_feed(&j->talk, caller, callee, n);
		an_check_feed(&j->chk, caller, callee, n);
	}
}

/* The figures and segments of a rendered job, for rec_store_recording. */
static void job_talk(struct rec_job *j)
{
	if (!j->talk_on)
		return;
	struct an_talk_metrics m;
	int err = an_talk_finish(&j->talk, &m);
	if (err)
		ES_LOG_WARNING(TAG, "call %lld: talk metrics incomplete: %s", (long long)j->call_row,
			    es_strerror(err));
	if (an_talk_json(&j->talk, &m, &j->talk_json)) {
		ES_LOG_WARNING(TAG, "call %lld: no memory for its talk metrics", (long long)j->call_row);
		return;
	}
	j->talk_row = (struct idx_call_talk){
		.json = (const char *)j->talk_json.p, .ratio = m.talk_ratio,
		.overtalk_ms = m.overtalk_ms, .dead_air_ms = m.dead_air_max_ms};
	j->talk_ok = true;
}

/* The audio checks of a rendered job (after job_talk, whose segments they
 * use): their flags join the recording's, their figures go to the call. */
static void job_checks(const struct an_check_limits *l, struct rec_job *j)
{
	if (!j->talk_on)
		return;
	struct an_check_span span = {
		.answer_us = j->answer_us, .end_us = j->end_us, .rec_start_us = j->res.start_us,
		.rec_dur_us = j->res.duration_us, .samples_concealed = j->res.samples_concealed,
		.samples_missing = j->res.samples_missing, .cut = j->cut};
	struct an_check_result r;
	an_check_finish(&j->chk, &j->talk, &span, l, &r);
	if (r.flags[0]) {
		size_t used = strlen(j->flags);
		snprintf(j->flags + used, sizeof(j->flags) - used, "%s%s", used ? "," : "", r.flags);
	}
	if (an_check_json(&r, &j->chk_json)) {
		ES_LOG_WARNING(TAG, "call %lld: no memory for its audio checks", (long long)j->call_row);
		return;
	}
	j->chk_ok = true;
}

static void job_run(const struct rec_store_config *cfg, const struct an_check_limits *checks,
		    struct rec_job *j, struct es_buf *buf)
{
	j->ro = cfg->render;
	j->ro.pcm_tap = talk_tap;
	j->ro.pcm_tap_ud = j;
	j->ro.span_start_us = j->start_us;
	j->ro.span_end_us = j->end_us;
	time_t secs = (time_t)(j->start_us / ES_US_PER_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(j->rel, sizeof(j->rel), "recordings/%04d/%02d/%02d/%lld%s%s", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, (long long)j->call_row,
		 media_format_ext(cfg->render.format), cfg->vault ? ST_ENC_SUFFIX : "");
	char final[1024], part[1040];
	snprintf(final, sizeof(final), "%s/%s", cfg->data_dir, j->rel);
	snprintf(part, sizeof(part), "%s.part", final);
	if (es_mkdirs(final, false)) {
		j->err = ES_EIO;
		snprintf(j->msg, sizeof(j->msg), "%s: cannot create its folder: %s", final,
			 strerror(errno));
		return;
	}
	job_write(cfg, j, buf, final, part);
	if (j->err)
		return;
	if (rename(part, final) || rec_fsync_dir_of(final)) {
		j->err = ES_EIO;
		snprintf(j->msg, sizeof(j->msg), "%s: cannot move it into place: %s", final,
			 strerror(errno));
		unlink(part);
		return;
	}
	job_stats(j);
	job_talk(j);
	job_checks(checks, j);
	job_log_done(cfg, j);
}

static void *worker(void *arg)
{
	struct rec_recorder *r = arg;
	struct es_buf buf; /* this worker's rendering memory, reused */
	es_buf_init(&buf);
	pthread_mutex_lock(&r->mu);
	unsigned me = r->started++;
	for (;;) {
		while (!r->queue && !r->stop)
			pthread_cond_wait(&r->work, &r->mu);
		if (r->stop)
			break;
		struct rec_job *j = r->queue;
		r->queue = j->next;
		if (!r->queue)
			r->queue_tail = &r->queue;
		r->busy_us[me] = j->queued_us;
		if (++r->busy > r->busy_max)
			r->busy_max = r->busy;
		pthread_mutex_unlock(&r->mu);
		job_run(&r->cfg, &r->checks, j, &buf);
		/* a long call's buffer is not kept for the next, short ones */
		if (buf.cap > REC_BUF_KEEP) {
			es_buf_free(&buf);
			es_buf_init(&buf);
		}
		pthread_mutex_lock(&r->mu);
		r->busy_us[me] = 0;
		r->busy--;
		j->next = NULL;
		*r->finished_tail = j;
		r->finished_tail = &j->next;
		pthread_cond_broadcast(&r->done);
	}
	pthread_mutex_unlock(&r->mu);
	es_buf_free(&buf);
	return NULL;
}

int rec_recorder_new(struct rec_recorder **out, const struct rec_store_config *cfg)
{
	if (sodium_init() < 0)
		return ES_EINVAL;
	struct rec_recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	r->cfg = *cfg;
	if (cfg->checks)
		r->checks = *cfg->checks;
	else
		an_check_limits_default(&r->checks);
	r->cfg.checks = NULL; /* the copy above is what the workers read */
	/* an encrypted spool's logs are opened with the vault's keys */
	rec_spool_keys(&r->keys, cfg->vault);
	r->cfg.render.mlog_keys = cfg->vault ? &r->keys : NULL;
	r->queue_tail = &r->queue;
	r->finished_tail = &r->finished;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->done, NULL);
	unsigned n = cfg->threads;
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (unsigned)c : 1;
	}
	if (n > REC_MAX_THREADS)
		n = REC_MAX_THREADS;
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&r->th[i], NULL, worker, r))
			break;
		r->nth++;
	}
	if (r->nth == 0) {
		rec_recorder_free(r);
		return ES_ENOMEM;
	}
	*out = r;
	return 0;
}

unsigned rec_recorder_pending(struct rec_recorder *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned n = r->pending;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

void rec_recorder_backlog(struct rec_recorder *r, struct rec_backlog *out)
{
	int64_t now = mono_us();
	pthread_mutex_lock(&r->mu);
	/* FIFO: the oldest job not yet encoded is the queue's head or one
	 * that a worker has in hand */
	int64_t oldest = r->queue ? r->queue->queued_us : 0;
	for (unsigned i = 0; i < r->nth; i++)
		if (r->busy_us[i] && (!oldest || r->busy_us[i] < oldest))
			oldest = r->busy_us[i];
	*out = (struct rec_backlog){.threads = r->nth, .pending = r->pending,
				    .encoding = r->busy, .encoding_max = r->busy_max,
				    .oldest_s = oldest ? (double)(now - oldest) / ES_US_PER_SEC : 0};
	pthread_mutex_unlock(&r->mu);
}

int rec_recorder_submit(struct rec_recorder *r, int64_t call_row, int64_t call_start_us,
			int64_t call_end_us, int64_t answer_us, bool cut, const char *media_log,
			const char *flag)
{
	struct rec_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->media_log = strdup(media_log))) {
		free(j);
		return ES_ENOMEM;
	}
	es_buf_init(&j->talk_json);
	es_buf_init(&j->chk_json);
	j->call_row = call_row;
	j->answer_us = answer_us;
	j->cut = cut;
	j->start_us = call_start_us;
	j->end_us = call_end_us;
	snprintf(j->extra_flag, sizeof(j->extra_flag), "%s", flag ? flag : "");
	j->queued_us = mono_us();
	pthread_mutex_lock(&r->mu);
	*r->queue_tail = j;
	r->queue_tail = &j->next;
	r->pending++;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void job_free(struct rec_job *j)
{
	if (j->talk_on)
		an_talk_free(&j->talk);
	es_buf_free(&j->talk_json);
	es_buf_free(&j->chk_json);
	free(j->media_log);
	free(j);
}

void rec_recorder_drain(struct rec_recorder *r, bool wait, rec_done_fn fn, void *ud)
{
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (wait && !r->finished && r->pending)
			pthread_cond_wait(&r->done, &r->mu);
		struct rec_job *list = r->finished;
		r->finished = NULL;
		r->finished_tail = &r->finished;
		for (struct rec_job *j = list; j; j = j->next)
			r->pending--;
		bool more = wait && r->pending;
		pthread_mutex_unlock(&r->mu);
		while (list) {
			struct rec_job *j = list;
			list = j->next;
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			struct idx_recording row = {
				.call_row = j->call_row, .path = j->rel,
				.format = media_format_name(r->cfg.render.format), .bytes = j->bytes,
				.sha256 = j->sha, .plain_sha256 = j->plain_sha[0] ? j->plain_sha : NULL,
				.encrypted = r->cfg.vault != NULL, .start_us = j->res.start_us,
				.duration_us = j->res.duration_us, .rate = j->res.rate,
				.channels = j->res.channels, .codecs = j->res.codecs,
				.flags = j->flags[0] ? j->flags : NULL, .stats_json = j->stats,
				.created_us = (int64_t)now.tv_sec * ES_US_PER_SEC + now.tv_nsec / 1000,
			};
			struct rec_done d = {.call_row = j->call_row, .rec = j->err ? NULL : &row,
					     .render = &j->res, .err = j->err, .msg = j->msg,
					     .talk = j->talk_ok ? &j->talk_row : NULL,
					     .checks_json = j->chk_ok ? (const char *)j->chk_json.p
								      : NULL};
			if (fn)
				fn(ud, &d);
			job_free(j);
		}
		if (!more)
			return;
	}
}

void rec_recorder_free(struct rec_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < r->nth; i++)
		pthread_join(r->th[i], NULL);
	for (struct rec_job *j = r->queue, *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
	for (struct rec_job *j = r->finished, *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->done);
	free(r);
}

/* ---- storing -------------------------------------------------------------------- */

static bool has_flag(const char *flags, const char *f)
{
	return flags && strstr(flags, f);
}

/* Add the NAMEs of the "undecoded:NAME" flags to n's list, once each. */
static void count_undecoded(struct rec_store_counts *n, const char *flags)
{
	static const char pre[] = "undecoded:";
	char *list = n->undecoded_codecs;
	size_t cap = sizeof(n->undecoded_codecs);
	for (const char *p = flags; (p = strstr(p, pre)) != NULL;) {
		p += sizeof(pre) - 1;
		size_t l = strcspn(p, ",");
		bool dup = false;
		for (const char *q = list; (q = strstr(q, p)) != NULL && !dup; q++)
			dup = strncmp(q, p, l) == 0 && (q == list || q[-1] == ',') &&
			      (q[l] == ',' || !q[l]);
		size_t used = strlen(list);
		if (!dup && used + l + 2 <= cap)
			snprintf(list + used, cap - used, "%s%.*s", used ? "," : "", (int)l, p);
		p += l;
	}
}

int rec_store_call(struct idx *ix, struct rec_recorder *rec, struct idx_call *c,
		   const char *media_log, struct rec_store_counts *n)
{
	bool dup = false;
	bool recovered = has_flag(c->flags, "recovered");
	/* a capture file's times are its capturing host's, whose clock we
	 * cannot know (the live recorder and the SRS stamp their own) */
	if (!c->clock_json && c->source && !strcmp(c->source, "import"))
		c->clock_json = REC_CLOCK_IMPORTED;
	int err = idx_call_insert(ix, c, &dup);
	if (err) {
		n->store_errors++;
		ES_LOG_ERR(TAG, "call %s not stored: %s", c->call_id, idx_errmsg(ix));
		return err;
	}
	if (dup) {
		n->calls_dup++;
	} else {
		n->calls++;
		n->streams += c->nstreams;
		n->recovered += recovered;
		n->not_recorded += has_flag(c->flags, "not_recorded");
		if (has_flag(c->flags, "undecoded_codec")) {
			n->undecoded++;
			count_undecoded(n, c->flags);
		}
		if (has_flag(c->flags, "recording_cut")) {
			n->cut++;
			ES_LOG_ERR(TAG, "call %lld (%s, %s -> %s) was cut: its audio could not be "
				   "spooled (disk full?)", (long long)c->id, c->call_id,
				   c->caller.user ? c->caller.user : "?",
				   c->callee.user ? c->callee.user : "?");
		}
	}
	if (!media_log)
		return 0;
	if (dup && !recovered)
		unlink(media_log);
	else if (rec_recorder_submit(rec, c->id, c->start_us, c->end_us, c->answer_us,
				     has_flag(c->flags, "recording_cut"), media_log,
				     recovered ? "recovered" : NULL))
		ES_LOG_ERR(TAG, "call %s: out of memory queueing its recording (%s kept)", c->call_id,
			   media_log);
	return 0;
}

void rec_store_recording(struct idx *ix, struct st_ledger *ledger, const struct rec_done *d,
			 struct rec_store_counts *n)
{
	if (d->err == ES_ENOTFOUND) {
		n->no_audio++;
		return;
	}
	if (d->err) {
		n->recording_errors++;
		ES_LOG_ERR(TAG, "recording of call %lld failed: %s", (long long)d->call_row, d->msg);
		return;
	}
	if (idx_recording_insert(ix, d->rec)) {
		n->recording_errors++;
		ES_LOG_ERR(TAG, "recording of call %lld not indexed: %s", (long long)d->call_row,
			   idx_errmsg(ix));
		return;
	}
	if (ledger && rec_ledger_leaf(ix, ledger, d->rec)) {
		/* the row stands; the next start enters its leaf (catch-up) */
		n->ledger_errors++;
		ES_LOG_ERR(TAG, "recording of call %lld: its ledger leaf could not be written",
			   (long long)d->call_row);
	}
	/* the figures are derived, not evidence: a failure costs them only */
	if (d->talk && idx_call_set_talk(ix, d->call_row, d->talk))
		ES_LOG_ERR(TAG, "call %lld: talk metrics not stored: %s", (long long)d->call_row,
			   idx_errmsg(ix));
	if (d->checks_json && idx_call_set_checks(ix, d->call_row, d->checks_json))
		ES_LOG_ERR(TAG, "call %lld: audio checks not stored: %s", (long long)d->call_row,
			   idx_errmsg(ix));
	n->recordings++;
	n->recording_bytes += d->rec->bytes;
	n->recorded_us += d->rec->duration_us;
	n->one_sided += has_flag(d->rec->flags, "one_sided");
}
