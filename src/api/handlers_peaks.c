/*
 * handlers_peaks.c - GET /api/calls/{id}/peaks: the waveform of a recording
 * for the player.  It shows when each party speaks, so it is checked and
 * audited like listening ("call.peaks", API_ACT_LISTEN).
 *
 * Issue #13, finding 7: a recording is decoded once, on the first request,
 * to REC_PEAKS_STORED points, which are stored (record/peaks.c: DATA/peaks/,
 * encrypted with the recording's data key when it is encrypted) and from
 * which every point count is derived; so a restart keeps them and another
 * ?points= costs no decode.  The decode checks the recording's stored
 * SHA-256, decrypts chunk by chunk (every chunk authenticated) through a
 * stdio stream (fopencookie) handed to the media reader, so the plaintext
 * is never written anywhere.  Stored peaks are served only while the file
 * and, when encrypted, its data key are there; a recording found gone
 * loses its stored peaks too.  Decodes are bounded: SRV_PEAKS_PER_USER per
 * user and SRV_PEAKS_AT_ONCE in all, one per recording; beyond, 429 with
 * Retry-After.
 *
 * Response: {"call", "format", "rate", "channels", "duration_s", "points",
 * "scale": 255, "peaks": [[...N values of channel 0...], [...channel 1...]]}
 * where a value is round(max |sample| over the point's stretch * 255 /
 * 32768); channel 0 is the caller, 1 the callee (a mixed file has one).
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/crypt.h"
#include "store/vault.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "api"
#define PEAKS_MIN 16
#define PEAKS_MAX 4000
#define PEAKS_DEFAULT 1000
/* RFC 9110 15.5.21 (MHD renamed its constant between versions) */
#define HTTP_UNPROCESSABLE 422

/* ---- heavy work at once ------------------------------------------------------------------ */

/* The decodes in progress: by whom and of which recording. */
struct peaks_job {
	char user[IDX_NAME_MAX + 1];
	char path[1024]; /* "" = free slot */
};

struct srv_peaks_jobs {
	pthread_mutex_t lock;
	pthread_cond_t idle;  /* threads fell to 0 */
	unsigned threads;     /* decode threads running (task_main) */
	bool stopping;        /* srv_peaks_jobs_wait: no new decode */
	struct peaks_job job[SRV_PEAKS_AT_ONCE];
};

int srv_peaks_jobs_new(struct srv_peaks_jobs **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return ES_ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	pthread_cond_init(&(*out)->idle, NULL);
	return 0;
}

void srv_peaks_jobs_free(struct srv_peaks_jobs *c)
{
	if (!c)
		return;
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* A slot for user to decode path: its index, or -1 when the user already
 * decodes one (SRV_PEAKS_PER_USER), path is being decoded by anyone, or
 * SRV_PEAKS_AT_ONCE decodes run.  *why says which. */
static int job_begin(struct srv_peaks_jobs *c, const char *user, const char *path,
		     const char **why)
{
	int slot = -1;
	unsigned mine = 0;
	*why = c->stopping ? "the server is stopping" : "the server is computing other waveforms";
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < SRV_PEAKS_AT_ONCE && !c->stopping; i++) {
		struct peaks_job *j = &c->job[i];
		if (!j->path[0]) {
			if (slot < 0)
				slot = i;
			continue;
		}
		if (!strcmp(j->path, path)) {
			*why = "this waveform is being computed";
			slot = -2;
			break;
		}
		mine += !strcmp(j->user, user);
	}
	if (slot >= 0 && mine >= SRV_PEAKS_PER_USER) {
		*why = "you have a waveform being computed already";
		slot = -1;
	}
	if (slot >= 0) {
		snprintf(c->job[slot].user, sizeof(c->job[slot].user), "%s", user);
		snprintf(c->job[slot].path, sizeof(c->job[slot].path), "%s", path);
	}
	pthread_mutex_unlock(&c->lock);
	return slot < 0 ? -1 : slot;
}

static void job_end(struct srv_peaks_jobs *c, int slot)
{
	pthread_mutex_lock(&c->lock);
	c->job[slot].path[0] = 0;
	c->job[slot].user[0] = 0;
	pthread_mutex_unlock(&c->lock);
}

/* ---- a decrypting stdio stream over st_enc_reader --------------------------------------- */

struct enc_stream {
	struct st_enc_reader *enc;
	uint64_t pos, size;
	char err[300]; /* the first failure */
};

static ssize_t enc_stream_read(void *cookie, char *buf, size_t len)
{
	struct enc_stream *s = cookie;
	if (s->pos >= s->size)
		return 0;
	size_t got = 0;
	if (st_enc_reader_pread(s->enc, buf, len, s->pos, &got)) {
		if (!*s->err)
			snprintf(s->err, sizeof(s->err), "%s", st_enc_reader_error(s->enc));
		errno = EIO;
		return -1;
	}
	s->pos += got;
	return (ssize_t)got;
}

static int enc_stream_seek(void *cookie, off64_t *off, int whence)
{
	struct enc_stream *s = cookie;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)s->pos
				    : whence == SEEK_END ? (int64_t)s->size : -1;
	if (base < 0 || (*off < 0 && -*off > base)) {
		errno = EINVAL;
		return -1;
	}
	s->pos = (uint64_t)(base + *off);
	*off = (off64_t)s->pos;
	return 0;
}

/* The stream owns nothing: the handler closes the reader after fclose. */
static int enc_stream_close(void *cookie)
{
	(void)cookie;
	return 0;
}

/* ---- the handler ------------------------------------------------------------------------ */

/* ?points=: 0 and *n, or -1 after answering 400. */
static int parse_points(struct srv_req *r, unsigned *n, int *rc)
{
	const char *v = srv_arg(r, "points");
	*n = PEAKS_DEFAULT;
	if (!v)
		return 0;
	unsigned x = 0;
	size_t len = strlen(v);
	bool ok = len >= 1 && len <= 4;
	for (size_t i = 0; ok && i < len; i++) {
		ok = v[i] >= '0' && v[i] <= '9';
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	if (!ok || x < PEAKS_MIN || x > PEAKS_MAX) {
		*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "points",
				"points must be an integer from %d to %d", PEAKS_MIN, PEAKS_MAX);
		return -1;
	}
	*n = x;
	return 0;
}

/* Why the recording cannot be used: an HTTP status, code and message. */
struct pfail {
	unsigned status;
	const char *code;
	char msg[600];
};

static unsigned pfail_set(struct pfail *f, unsigned status, const char *code, const char *fmt,
			  ...) __attribute__((format(printf, 4, 5)));
static unsigned pfail_set(struct pfail *f, unsigned status, const char *code, const char *fmt,
			  ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	f->code = code;
	return f->status = status;
}

/* The data key of an encrypted recording: 0, or the failure set. */
static unsigned peaks_key(struct srv_req *r, const struct srv_rec *p, struct st_dek **dek,
			  struct pfail *f)
{
	char err[512] = "";
	int rc = r->srv->vault ? st_vault_key(r->srv->vault, p->path, dek, err, sizeof(err))
			       : ES_ENOTFOUND;
	if (rc == ES_ENOTFOUND)
		return pfail_set(f, MHD_HTTP_GONE, "gone",
				 "recording %s: its data key is gone (shredded or missing)", p->path);
	if (rc == ES_ENOKEK)
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "no_kek", "%.500s", err);
	if (rc)
		return pfail_set(f, MHD_HTTP_CONFLICT, "integrity",
				 "recording %s: its data key cannot be read: %.300s", p->path, err);
	return 0;
}

static void peaks_json(struct es_json *j, int64_t id, const struct srv_rec *p,
		       const struct rec_peaks *pk)
{
	es_json_obj_begin(j);
	es_json_key(j, "call"); es_json_int(j, id);
	es_json_key(j, "format"); es_json_str(j, p->format);
	es_json_key(j, "rate"); es_json_int(j, pk->rate);
	es_json_key(j, "channels"); es_json_int(j, pk->channels);
	es_json_key(j, "duration_s");
	es_json_double(j, pk->rate ? (double)pk->frames / pk->rate : 0.0, 3);
	es_json_key(j, "points"); es_json_int(j, pk->points);
	es_json_key(j, "scale"); es_json_int(j, 255);
	es_json_key(j, "peaks");
	es_json_arr_begin(j);
	for (unsigned c = 0; c < pk->channels; c++) {
		es_json_arr_begin(j);
		for (unsigned i = 0; i < pk->points; i++)
			es_json_int(j, pk->v[(size_t)c * pk->points + i]);
		es_json_arr_end(j);
	}
	es_json_arr_end(j);
	es_json_obj_end(j);
}

/* Where the recording and its stored waveform are, and (encrypted) its data
 * key: 0, or the failure set.  A recording whose file or key is gone loses
 * its stored waveform too. */
static unsigned peaks_open(struct srv_req *r, const struct srv_rec *p, char *file, size_t fcap,
			   char *pfile, size_t pcap, struct st_dek **dek, struct pfail *f)
{
	if (p->bad_path || rec_recording_path(r->srv->data_dir, &p->rec, file, fcap) ||
	    rec_peaks_path(r->srv->data_dir, p->path, pfile, pcap))
		return pfail_set(f, MHD_HTTP_CONFLICT, "unavailable",
				 "recording %.300s: its path is unusable", p->path);
	unsigned st = 0;
	if (access(file, F_OK))
		st = pfail_set(f, MHD_HTTP_GONE, "gone", "recording %s: the file is missing",
			       p->path);
	else if (p->rec.encrypted)
		st = peaks_key(r, p, dek, f);
	if (st == MHD_HTTP_GONE)
		rec_peaks_drop(r->srv->data_dir, p->path);
	return st;
}

/* The file is the one the index names (its stored SHA-256): 0, or the
 * failure set.  Checked on every request, stored peaks or not, so that an
 * altered recording is reported (about 25 ms for a 30-minute call). */
static unsigned peaks_check(const struct srv_rec *p, const char *file, struct pfail *f)
{
	char hex[65];
	if (st_sha256_file(file, NULL, hex)) {
		if (errno == ENOENT)
			return pfail_set(f, MHD_HTTP_GONE, "gone",
					 "recording %s: the file is missing", p->path);
		return pfail_set(f, MHD_HTTP_CONFLICT, "unavailable", "recording %s: %s",
				 p->path, strerror(errno));
	}
	if (!*p->sha256 || strcmp(hex, p->sha256))
		return pfail_set(f, MHD_HTTP_CONFLICT, "integrity",
				 "recording %s is altered: its SHA-256 is %s, the index says %s",
				 p->path, hex, *p->sha256 ? p->sha256 : "(none)");
	return 0;
}

/* Decode and reduce the recording to REC_PEAKS_STORED points: 0, or the
 * failure set. */
static unsigned peaks_compute(const struct srv_rec *p, const char *file,
			      const struct st_dek *dek, struct rec_peaks *out, struct pfail *f)
{
	struct st_enc_reader *enc = NULL;
	struct enc_stream es = {0};
	FILE *fp = NULL;
	char err[512] = "";
	if (dek) {
		int rc = st_enc_reader_open(&enc, file, dek, err, sizeof(err));
		if (rc)
			return pfail_set(f, MHD_HTTP_CONFLICT, "integrity",
					 "recording %s fails its integrity check: %.300s", p->path,
					 err);
		es.enc = enc;
		es.size = st_enc_reader_size(enc);
		cookie_io_functions_t io = {.read = enc_stream_read, .seek = enc_stream_seek,
					    .close = enc_stream_close};
		fp = fopencookie(&es, "rb", io);
	} else {
		fp = fopen(file, "rb");
	}
	if (!fp) {
		st_enc_reader_close(enc);
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				 "recording %s: cannot open it", p->path);
	}
	int rc = rec_recording_peaks(fp, p->path, REC_PEAKS_STORED, out, err, sizeof(err));
	st_enc_reader_close(enc); /* after the stream over it is closed */
	if (rc == ES_ENOMEM)
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
	if (rc && *es.err)
		return pfail_set(f, MHD_HTTP_CONFLICT, "integrity",
				 "recording %s fails its integrity check: %.300s", p->path, es.err);
	if (rc)
		return pfail_set(f, HTTP_UNPROCESSABLE, "bad_recording",
				 "recording cannot be decoded: %.500s", err);
	return 0;
}

/* 429 with Retry-After: a decode is refused for now (job_begin). */
static int peaks_busy(struct srv_req *r, const char *obj, const char *why)
{
	char detail[96];
	snprintf(detail, sizeof(detail), "busy: %s", why);
	srv_audit(r, "call.peaks", obj, API_AUDIT_FAILED, detail);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "busy");
	es_json_key(&o.j, "message"); es_json_str(&o.j, why);
	es_json_obj_end(&o.j);
	const char *const hdrs[] = {MHD_HTTP_HEADER_RETRY_AFTER, SRV_PEAKS_RETRY_S, NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_TOO_MANY_REQUESTS, &o, hdrs);
}

/* One peaks request: the recording row, and what a decode off MHD's
 * threads needs and gives back. */
struct srv_peaks_task {
	struct api_server *srv;
	struct MHD_Connection *conn;
	struct srv_rec p;
	char obj[24];
	char file[4400], pfile[4400];
	struct st_dek *dek;
	int slot;
	/* out */
	struct rec_peaks base;
	bool decoded;
	unsigned st;
	struct pfail f;
};

static void task_free(struct srv_peaks_task *t)
{
	if (!t)
		return;
	st_dek_free(t->dek);
	rec_peaks_free(&t->base);
	free(t);
}

void srv_peaks_deferred_free(struct srv_req *r)
{
	task_free(r->deferred);
	r->deferred = NULL;
}

/* Decode, store, log; then the decode's slot is free again. */
static void task_decode(struct srv_peaks_task *t)
{
	char err[600] = "";
	int64_t t0 = srv_now_us();
	t->st = peaks_compute(&t->p, t->file, t->dek, &t->base, &t->f);
	t->decoded = true;
	if (!t->st) {
		ES_LOG_INF(TAG, "peaks of call %s: decoded in %lld ms", t->obj,
			   (long long)((srv_now_us() - t0) / 1000));
		if (rec_peaks_save(t->pfile, t->dek, &t->base, t->p.sha256, err, sizeof(err)))
			ES_LOG_WARNING(TAG, "peaks of call %s: not stored (%s): the next request "
					    "decodes again", t->obj, err);
	}
	st_dek_free(t->dek);
	t->dek = NULL;
	job_end(t->srv->peaks, t->slot);
}

/* The decode thread: MHD's own threads go on serving everybody else while
 * a long recording decodes (issue #13, finding 7); the suspended request
 * is resumed and answered from the task (srv_call_peaks again). */
static void *task_main(void *arg)
{
	struct srv_peaks_task *t = arg;
	struct srv_peaks_jobs *c = t->srv->peaks;
	struct MHD_Connection *conn = t->conn;
	task_decode(t);
	MHD_resume_connection(conn); /* t is r's again: not touched after */
	pthread_mutex_lock(&c->lock);
	c->threads--;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Start the decode on its own thread with r suspended: true; false when
 * no thread can be started (the caller decodes on this one). */
static bool task_defer(struct srv_req *r, struct srv_peaks_task *t)
{
	struct srv_peaks_jobs *c = r->srv->peaks;
	pthread_attr_t at;
	pthread_t th;
	if (pthread_attr_init(&at))
		return false;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	t->conn = r->conn;
	r->deferred = t;
	MHD_suspend_connection(r->conn);
	pthread_mutex_lock(&c->lock);
	bool ok = pthread_create(&th, &at, task_main, t) == 0;
	if (ok)
		c->threads++;
	pthread_mutex_unlock(&c->lock);
	pthread_attr_destroy(&at);
	if (!ok) {
		MHD_resume_connection(r->conn);
		r->deferred = NULL;
	}
	return ok;
}

void srv_peaks_jobs_wait(struct srv_peaks_jobs *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	while (c->threads)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* The stored waveform of t's recording into t->base: 0; PEAKS_ANSWERED
 * when the answer is queued (*rc: 429 busy); PEAKS_DEFERRED when a decode
 * runs on its own thread; or the failure set. */
#define PEAKS_ANSWERED 1
#define PEAKS_DEFERRED 2
static unsigned peaks_base(struct srv_req *r, struct srv_peaks_task *t, int *rc)
{
	char err[600] = "";
	struct pfail *f = &t->f;
	/* another node's recording: fetched as GET .../export does (issue #16) */
	int e = srv_rec_reach(r, &t->p, err, sizeof(err));
	if (e) {
		*rc = srv_rec_unreachable(r, "call.peaks", t->obj, e, err);
		return PEAKS_ANSWERED;
	}
	unsigned st = peaks_open(r, &t->p, t->file, sizeof(t->file), t->pfile, sizeof(t->pfile),
				 &t->dek, f);
	if (!st)
		st = peaks_check(&t->p, t->file, f);
	if (st)
		return st;
	int lrc = rec_peaks_load(t->pfile, t->dek, t->p.sha256, &t->base, err, sizeof(err));
	if (!lrc)
		return 0;
	if (lrc == ES_ENOMEM)
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
	if (lrc != ES_ENOTFOUND) /* damaged or altered: made again */
		ES_LOG_WARNING(TAG, "peaks of call %s: %s; decoding the recording again", t->obj,
			       err);
	const char *why;
	t->slot = job_begin(r->srv->peaks, r->user.name, t->p.path, &why);
	if (t->slot < 0) {
		*rc = peaks_busy(r, t->obj, why);
		return PEAKS_ANSWERED;
	}
	if (task_defer(r, t))
		return PEAKS_DEFERRED;
	task_decode(t);
	return t->st;
}

/* The answer from t (a stored or just decoded waveform, or its failure). */
static int peaks_answer(struct srv_req *r, int64_t id, struct srv_peaks_task *t, unsigned points)
{
	unsigned st = t->st;
	struct rec_peaks pk = {0};
	char *json = NULL;
	if (!st) {
		struct srv_json o;
		bool ok = !rec_peaks_derive(&t->base, points, &pk) && srv_json_begin(&o);
		if (ok) {
			peaks_json(&o.j, id, &t->p, &pk);
			es_json_end(&o.j);
			ok = !ferror(o.f);
			fclose(o.f);
			if (ok && o.buf)
				json = o.buf;
			else
				free(o.buf);
		}
		if (!json)
			pfail_set(&t->f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				  "out of memory");
	}
	rec_peaks_free(&pk);
	if (!json) {
		if (t->f.status != MHD_HTTP_SERVICE_UNAVAILABLE)
			ES_LOG_ERR(TAG, "peaks of call %s: %s", t->obj, t->f.msg);
		srv_audit(r, "call.peaks", t->obj, API_AUDIT_FAILED, t->f.msg);
		return srv_error(r, t->f.status, t->f.code, NULL, "%s", t->f.msg);
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "%u points%s", points,
		 t->decoded ? " (decoded)" : " (stored)");
	srv_audit(r, "call.peaks", t->obj, API_AUDIT_OK, detail);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(json);
		return MHD_NO;
	}
	srv_headers(resp, true);
	return srv_queue(r, MHD_HTTP_OK, resp);
}

int srv_call_peaks(struct srv_req *r, int64_t id)
{
	int rc;
	unsigned points;
	if (r->deferred) { /* resumed: the decode is done (task_main) */
		struct srv_peaks_task *t = r->deferred;
		r->deferred = NULL;
		if (parse_points(r, &points, &rc)) /* checked before: cannot fail */
			points = PEAKS_DEFAULT;
		rc = peaks_answer(r, id, t, points);
		task_free(t);
		return rc;
	}
	static const char *const params[] = {"points", NULL};
	struct srv_peaks_task *t = calloc(1, sizeof(*t));
	if (!t)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	t->srv = r->srv;
	if (!srv_access_call_ex(r, id, API_ACT_LISTEN, "call.peaks", params, srv_rec_row, &t->p,
				t->obj, &rc) ||
	    parse_points(r, &points, &rc)) {
		task_free(t);
		return rc;
	}
	if (!t->p.has_rec) {
		srv_audit(r, "call.peaks", t->obj, API_AUDIT_FAILED, "no recording");
		task_free(t);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	unsigned st = peaks_base(r, t, &rc);
	if (st == PEAKS_DEFERRED)
		return MHD_YES; /* t is the decode thread's now: answered when resumed */
	t->st = st;
	if (st != PEAKS_ANSWERED)
		rc = peaks_answer(r, id, t, points);
	task_free(t);
	return rc;
}
