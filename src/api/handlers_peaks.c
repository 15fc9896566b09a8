/*
 * handlers_peaks.c - GET /api/calls/{id}/peaks: the waveform of a recording
 * for the player.  It shows when each party speaks, so it is checked and
 * audited like listening ("call.peaks", API_ACT_LISTEN).
 *
 * The recording is read once to its end: its stored SHA-256 is checked,
 * an encrypted one is decrypted chunk by chunk (every chunk authenticated)
 * through a stdio stream (fopencookie) handed to the media reader, so the
 * plaintext is never written anywhere; rec_recording_peaks reduces it.  The answer
 * is cached (SRV_PEAKS_CACHE entries, least recently used out) by the
 * recording's path, stored SHA-256 and point count; a cached answer is
 * served only while the file is there and, when encrypted, its data key
 * (a shredded recording loses its waveform too).  Two requests missing
 * the same entry at once both compute it: harmless, and rare.
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

/* ---- the cache ------------------------------------------------------------------------ */

struct peaks_entry {
	char *key;   /* "<path>\n<sha256>\n<points>"; NULL = free slot */
	char *json;  /* the whole answer */
	uint64_t used;
};

struct srv_peaks_cache {
	pthread_mutex_t lock;
	uint64_t tick;
	struct peaks_entry e[SRV_PEAKS_CACHE];
};

int srv_peaks_cache_new(struct srv_peaks_cache **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return ES_ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

void srv_peaks_cache_free(struct srv_peaks_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SRV_PEAKS_CACHE; i++) {
		free(c->e[i].key);
		free(c->e[i].json);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* A copy of the cached answer for key (malloc'd), or NULL. */
static char *cache_get(struct srv_peaks_cache *c, const char *key)
{
	char *out = NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < SRV_PEAKS_CACHE; i++) {
		if (c->e[i].key && !strcmp(c->e[i].key, key)) {
			c->e[i].used = ++c->tick;
			out = strdup(c->e[i].json);
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return out;
}

static void cache_put(struct srv_peaks_cache *c, const char *key, const char *json)
{
	char *k = strdup(key), *j = strdup(json);
	if (!k || !j) {
		free(k);
		free(j);
		return;
	}
	pthread_mutex_lock(&c->lock);
	size_t victim = 0;
	for (size_t i = 0; i < SRV_PEAKS_CACHE; i++) {
		if (c->e[i].key && !strcmp(c->e[i].key, key)) {
			victim = i; /* computed twice at once: replace */
			break;
		}
		if (!c->e[i].key || c->e[i].used < c->e[victim].used)
			victim = i;
		if (!c->e[i].key)
			break;
	}
	free(c->e[victim].key);
	free(c->e[victim].json);
	c->e[victim] = (struct peaks_entry){.key = k, .json = j, .used = ++c->tick};
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

/* Check, decode and reduce the recording into *json (malloc'd): 0, or
 * the failure set. */
static unsigned peaks_compute(struct srv_req *r, int64_t id, const struct srv_rec *p,
			      unsigned points, char **json, struct pfail *f)
{
	char file[4400], hex[65];
	if (p->bad_path || rec_recording_path(r->srv->data_dir, &p->rec, file, sizeof(file)))
		return pfail_set(f, MHD_HTTP_CONFLICT, "unavailable",
				 "recording %.300s: its path is unusable", p->path);
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

	struct st_dek *dek = NULL;
	struct st_enc_reader *enc = NULL;
	struct enc_stream es = {0};
	FILE *fp = NULL;
	char err[512] = "";
	if (p->rec.encrypted) {
		if (peaks_key(r, p, &dek, f))
			return f->status;
		int rc = st_enc_reader_open(&enc, file, dek, err, sizeof(err));
		st_dek_free(dek);
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
	struct rec_peaks pk = {0};
	int rc = rec_recording_peaks(fp, p->path, points, &pk, err, sizeof(err));
	st_enc_reader_close(enc); /* after the stream over it is closed */
	if (rc == ES_ENOMEM)
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
	if (rc && *es.err)
		return pfail_set(f, MHD_HTTP_CONFLICT, "integrity",
				 "recording %s fails its integrity check: %.300s", p->path, es.err);
	if (rc)
		return pfail_set(f, HTTP_UNPROCESSABLE, "bad_recording",
				 "recording cannot be decoded: %.500s", err);

	struct srv_json o;
	bool ok = srv_json_begin(&o);
	if (ok) {
		peaks_json(&o.j, id, p, &pk);
		es_json_end(&o.j);
		ok = !ferror(o.f);
		fclose(o.f);
		if (ok && o.buf)
			*json = o.buf;
		else
			free(o.buf);
	}
	rec_peaks_free(&pk);
	if (!ok || !*json)
		return pfail_set(f, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
	return 0;
}

/* A cached answer still applies while the file (and its key) is there. */
static unsigned peaks_still_there(struct srv_req *r, const struct srv_rec *p, struct pfail *f)
{
	char file[4400];
	if (p->bad_path || rec_recording_path(r->srv->data_dir, &p->rec, file, sizeof(file)))
		return pfail_set(f, MHD_HTTP_CONFLICT, "unavailable",
				 "recording %.300s: its path is unusable", p->path);
	if (access(file, F_OK))
		return pfail_set(f, MHD_HTTP_GONE, "gone", "recording %s: the file is missing",
				 p->path);
	if (p->rec.encrypted) {
		struct st_dek *dek = NULL;
		if (peaks_key(r, p, &dek, f))
			return f->status;
		st_dek_free(dek);
	}
	return 0;
}

int srv_call_peaks(struct srv_req *r, int64_t id)
{
	static const char *const params[] = {"points", NULL};
	int rc;
	char obj[24];
	struct srv_rec p = {0};
	if (!srv_access_call_ex(r, id, API_ACT_LISTEN, "call.peaks", params, srv_rec_row, &p, obj,
				&rc))
		return rc;
	unsigned points;
	if (parse_points(r, &points, &rc))
		return rc;
	if (!p.has_rec) {
		srv_audit(r, "call.peaks", obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}

	char key[1200];
	snprintf(key, sizeof(key), "%s\n%s\n%u", p.path, p.sha256, points);
	struct pfail f = {0};
	bool cached = false;
	char *json = cache_get(r->srv->peaks, key);
	if (json) {
		cached = true;
		if (peaks_still_there(r, &p, &f)) {
			free(json);
			json = NULL;
		}
	} else {
		int64_t t0 = srv_now_us();
		if (!peaks_compute(r, id, &p, points, &json, &f)) {
			cache_put(r->srv->peaks, key, json);
			ES_LOG_INF(TAG, "peaks of call %s (%u points): decoded in %lld ms", obj, points,
				     (long long)((srv_now_us() - t0) / 1000));
		}
	}
	if (!json) {
		if (f.status != MHD_HTTP_SERVICE_UNAVAILABLE)
			ES_LOG_ERR(TAG, "peaks of call %s: %s", obj, f.msg);
		srv_audit(r, "call.peaks", obj, API_AUDIT_FAILED, f.msg);
		return srv_error(r, f.status, f.code, NULL, "%s", f.msg);
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "%u points%s", points, cached ? " (cached)" : "");
	srv_audit(r, "call.peaks", obj, API_AUDIT_OK, detail);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(json);
		return MHD_NO;
	}
	srv_headers(resp, true);
	return srv_queue(r, MHD_HTTP_OK, resp);
}
