/*
 * handlers_audio.c - GET /api/calls/{id}/audio: the recording's plaintext
 * with HTTP Range (RFC 9110 14: one range, 206 + Content-Range; 416 when
 * unsatisfiable; several ranges are answered with the whole file, which the
 * RFC allows).  Encrypted recordings are decrypted chunk by chunk in MHD's
 * content reader (st_enc_reader_pread): plaintext never touches the disk.
 * The stored file's SHA-256 is not recomputed per request (too slow for a
 * player's many range requests); every chunk is authenticated as it is
 * read instead, and a failure aborts the response and is audited.
 *
 * Per request the server does only what cannot be kept (issue #7): the
 * access check reads the call without its messages (idx_call_brief), the
 * data key comes from the server's key cache (audio_state.c: unwrapped keys
 * in locked memory for at most 5 minutes, checked against the wrapped key
 * file on every use so a shredded key stops playback at once), and
 * call.listen is audited once per playback: the first request of a user from
 * a remote address for a recording (call id + stored SHA-256) is audited,
 * its other Range requests within SRV_LISTEN_WINDOW_US (10 minutes) of that
 * entry are not -- whichever byte the first one asks for, so skipping byte 0
 * does not skip the audit.  Denials and failures are always audited.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/blob.h"
#include "store/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRV_AUDIO_BLOCK (64 * 1024)

struct audio {
	struct api_server *srv;
	struct st_enc_reader *enc; /* encrypted, or */
	int fd;                    /* plain (-1 when enc or mem), or */
	struct es_buf mem;         /* rendered from a queued call's media log */
	struct st_blob blob;       /* an archived recording read by ranges (enc), */
	struct es_buf got;         /* the last range fetched */
	char key[ST_BLOB_KEY_MAX];
	uint64_t size;             /* plaintext bytes */
	uint64_t start, len;       /* the range served */
	bool failed;               /* audited once */
	char user[IDX_NAME_MAX + 1];
	char remote[64];
	char obj[24];
};

static void audio_free(void *cls)
{
	struct audio *a = cls;
	if (!a)
		return;
	if (a->enc)
		st_enc_reader_close(a->enc);
	if (a->blob.ops)
		st_blob_close(&a->blob);
	es_buf_free(&a->got);
	if (a->fd >= 0)
		close(a->fd);
	if (a->mem.p)
		sodium_memzero(a->mem.p, a->mem.cap);
	es_buf_free(&a->mem);
	free(a);
}

/* A read that fails mid-stream: tampering (a chunk that does not
 * authenticate) or I/O.  Audited with its own index connection. */
static void audio_fail(struct audio *a, const char *why)
{
	if (a->failed)
		return;
	a->failed = true;
	ES_LOG_ERR("api", "audio of call %s: %s", a->obj, why);
	struct idx *ix = srv_ix_take(a->srv);
	if (ix) {
		api_audit_append(ix, srv_now_us(), a->user, "call.listen", a->obj, a->remote,
				 API_AUDIT_FAILED, why, NULL);
		srv_ix_give(a->srv, ix);
	}
}

static ssize_t audio_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct audio *a = cls;
	if (pos >= a->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	uint64_t left = a->len - pos;
	size_t want = max < left ? max : (size_t)left;
	uint64_t off = a->start + pos;
	size_t got = 0;
	if (a->mem.p) {
		got = (size_t)ES_MIN((uint64_t)want, a->mem.len - off);
		memcpy(buf, a->mem.p + off, got);
	} else if (a->enc) {
		int rc = st_enc_reader_pread(a->enc, buf, want, off, &got);
		if (rc) {
			char why[300];
			snprintf(why, sizeof(why), "decryption failed (tampered?): %.250s",
				 st_enc_reader_error(a->enc));
			audio_fail(a, why);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	} else {
		ssize_t n;
		do
			n = pread(a->fd, buf, want, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			audio_fail(a, "read error");
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		got = (size_t)n;
	}
	if (!got) {
		audio_fail(a, "the file ends before its size");
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return (ssize_t)got;
}

/* ---- Range ---------------------------------------------------------------------------------- */

enum range_kind { RANGE_NONE, RANGE_ONE, RANGE_UNSATISFIABLE };

static bool digits(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return true;
}

/* RFC 9110 14.1.2: "bytes=a-b", "bytes=a-", "bytes=-n".  A malformed or
 * multiple range is ignored (the whole file, 200). */
static enum range_kind parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
	if (!h || strncasecmp(h, "bytes", 5))
		return RANGE_NONE;
	const char *p = h + 5;
	while (*p == ' ')
		p++;
	if (*p++ != '=')
		return RANGE_NONE;
	while (*p == ' ')
		p++;
	if (strchr(p, ','))
		return RANGE_NONE;
	uint64_t a, b;
	if (*p == '-') {
		p++;
		if (!digits(&p, &b))
			return RANGE_NONE;
		while (*p == ' ')
			p++;
		if (*p)
			return RANGE_NONE;
		if (!b || !size)
			return RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return RANGE_ONE;
	}
	if (!digits(&p, &a) || *p++ != '-')
		return RANGE_NONE;
	bool has_b = digits(&p, &b);
	while (*p == ' ')
		p++;
	if (*p || (has_b && b < a))
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	if (!has_b || b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return RANGE_ONE;
}

static const char *mime_of(const char *format)
{
	if (!format)
		return "application/octet-stream";
	if (!strcmp(format, "opus") || !strcmp(format, "ogg"))
		return "audio/ogg";
	if (!strcmp(format, "wav"))
		return "audio/wav";
	if (!strcmp(format, "flac"))
		return "audio/flac";
	return "application/octet-stream";
}

/* ---- the handler ---------------------------------------------------------------------------- */

static int unsatisfiable(struct srv_req *r, uint64_t size)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "range_not_satisfiable");
	es_json_key(&o.j, "size"); es_json_int(&o.j, (int64_t)size);
	es_json_obj_end(&o.j);
	char cr[64];
	snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
	const char *const hdrs[] = {MHD_HTTP_HEADER_CONTENT_RANGE, cr,
				    MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes", NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, &o, hdrs);
}

/* Stored bytes of an archived recording straight from its bucket: one
 * ranged GET for the header, for the last chunk (authenticated at open) and
 * for each chunk a request covers (issue #16: a Range request near the end
 * of a long call used to fetch the whole object into DATA/cache first).
 * The bytes fetched are counted for GET /metrics. */
static int blob_src(void *ud, uint8_t *buf, size_t n, uint64_t off, char *err, size_t errcap)
{
	struct audio *a = ud;
	es_buf_reset(&a->got);
	int rc = a->blob.ops->get_range(a->blob.state, a->key, off, n, &a->got, err, errcap);
	atomic_fetch_add_explicit(&a->srv->archive_range_bytes, a->got.len, memory_order_relaxed);
	if (!rc && a->got.len != n)
		rc = es_errf(err, errcap, ES_EIO, "%s: %zu bytes at %llu asked, the bucket gave %zu",
			     a->key, n, (unsigned long long)off, a->got.len);
	if (!rc)
		memcpy(buf, a->got.p, n);
	return rc;
}

/* Whether rel is only in the bucket: neither in the data folder nor
 * fetched into DATA/cache already (record/tier.c). */
static bool archived_only(const char *data_dir, const char *rel)
{
	char p[4400];
	struct stat st;
	if (snprintf(p, sizeof(p), "%s/%s", data_dir, rel) >= (int)sizeof(p) || !stat(p, &st) ||
	    errno != ENOENT)
		return false;
	return snprintf(p, sizeof(p), "%s/cache/%s", data_dir, rel) < (int)sizeof(p) &&
	       stat(p, &st) && errno == ENOENT;
}

/* Open an archived encrypted recording on its bucket (a->blob) with dek:
 * 0, an error code (err), or ES_ENOTFOUND with nothing done when the data
 * folder has no bucket (the caller then goes the usual way). */
static int archived_open(struct srv_req *r, const struct srv_rec *ar, struct audio *a,
			 const struct st_dek *dek, char *err, size_t errlen)
{
	/* another node's recording: that node's published bucket (issue #16) */
	int brc = rec_blobs_open_node(r->srv->data_dir, r->ix, ar->node, &a->blob, err, errlen);
	if (brc) {
		a->blob.ops = NULL;
		return brc == ES_ENOTFOUND || !ar->node[0] ? ES_ENOTFOUND : brc;
	}
	uint64_t size = 0;
	snprintf(a->key, sizeof(a->key), "%s", ar->rec.path);
	int rc = a->blob.ops->size(a->blob.state, a->key, &size, err, errlen);
	if (!rc)
		rc = st_enc_reader_open_src(&a->enc, size, blob_src, a, ar->rec.path, dek, err, errlen);
	return rc;
}

/* Open the plaintext of a (a->enc or a->fd, a->size): 0, or an HTTP
 * status with the error answered by the caller (*code, *msg). */
static unsigned audio_open(struct srv_req *r, const struct srv_rec *ar, struct audio *a,
			   const char **code, char *msg, size_t msglen)
{
	char file[4400];
	/* an archived encrypted recording is read by ranges, not fetched */
	bool archived = ar->rec.encrypted && !ar->bad_path && ar->rec.path &&
			archived_only(r->srv->data_dir, ar->rec.path);
	if (archived ? snprintf(file, sizeof(file), "%s/%s", r->srv->data_dir, ar->rec.path) >=
			       (int)sizeof(file)
		     : rec_recording_path(r->srv->data_dir, &ar->rec, file, sizeof(file)) != 0 ||
			       ar->bad_path) {
		*code = "unavailable";
		snprintf(msg, msglen, "the recording's path is unusable");
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (!ar->rec.encrypted) {
		struct stat st;
		a->fd = open(file, O_RDONLY | O_CLOEXEC);
		if (a->fd < 0 || fstat(a->fd, &st) || !S_ISREG(st.st_mode)) {
			*code = "gone";
			snprintf(msg, msglen, "the recording's file is missing");
			return MHD_HTTP_GONE;
		}
		a->size = (uint64_t)st.st_size;
		return 0;
	}
	char err[512] = "";
	const struct st_dek *dek = NULL;
	struct srv_key *kref = NULL;
	if (!r->srv->vault) {
		/* not "shredded": this node cannot know, it has no KEK at all */
		*code = "no_kek";
		srv_no_kek_msg(msg, msglen);
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	int rc = srv_keycache_get(r->srv->audio, r->srv->vault, ar->path, ar->sha256,
				  srv_now_us(), &kref, &dek, err, sizeof(err));
	if (rc == ES_ENOKEK) {
		*code = "no_kek";
		snprintf(msg, msglen, "%.300s", err);
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (rc == ES_ENOTFOUND) {
		*code = "gone";
		snprintf(msg, msglen, "the recording's data key is gone (shredded or missing)");
		return MHD_HTTP_GONE;
	}
	bool remote = false;
	if (!rc && archived) {
		rc = archived_open(r, ar, a, dek, err, sizeof(err));
		remote = rc != ES_ENOTFOUND || a->blob.ops;
		if (!remote) {
			rc = 0;
			rec_recording_path(r->srv->data_dir, &ar->rec, file, sizeof(file));
		}
	}
	if (!rc && !remote)
		rc = st_enc_reader_open(&a->enc, file, dek, err, sizeof(err));
	/* a key that fails to open the file is not kept */
	srv_keycache_put(r->srv->audio, kref, rc != 0);
	if ((rc == ES_ENOTFOUND || (!remote && rc == ES_EIO && access(file, F_OK))) &&
	    srv_rec_elsewhere(r, ar->node, ar->path)) {
		/* on its recorder, not yet in a bucket this node reads */
		*code = "elsewhere";
		srv_elsewhere_msg(ar->node, err, msg, msglen);
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (rc == ES_ENOTFOUND || (!remote && rc == ES_EIO && access(file, F_OK))) {
		*code = "gone";
		snprintf(msg, msglen, "the recording's file is missing");
		return MHD_HTTP_GONE;
	}
	if (rc) {
		*code = "integrity";
		snprintf(msg, msglen, "the recording fails its integrity check: %.300s", err);
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	a->size = st_enc_reader_size(a->enc);
	return 0;
}

/* A finished call whose recording is queued: its media log rendered now
 * (record/queued.c) into a->mem, as the WAV the recorder will write. */
struct queued_call {
	char call_id[512];
	int64_t start_us, end_us;
};

static int queued_row(void *ud, const struct idx_call *c)
{
	struct queued_call *q = ud;
	snprintf(q->call_id, sizeof(q->call_id), "%s", c->call_id ? c->call_id : "");
	q->start_us = c->start_us;
	q->end_us = c->end_us;
	return 0;
}

static bool queued_open(struct srv_req *r, int64_t id, struct srv_rec *ar, struct audio *a)
{
	struct queued_call q = {0};
	struct render_result res;
	char err[300];
	if (idx_call_brief(r->ix, id, queued_row, &q) || !q.call_id[0] ||
	    rec_queued_render(r->srv->data_dir, r->srv->vault, q.call_id, q.start_us, q.end_us,
			      &a->mem, &res, err, sizeof(err)))
		return false;
	a->size = a->mem.len;
	ar->call = id;
	snprintf(ar->format, sizeof(ar->format), "wav");
	return true;
}

/* call.listen once per playback (see the top of the file). */
static void listen_audit(struct srv_req *r, const struct srv_rec *ar, const char *obj,
			 const char *reason, const char *detail)
{
	struct srv_audio_cache *c = r->srv->audio;
	int64_t now = srv_now_us();
	if (srv_listened_recently(c, r->user.name, r->remote, ar->call, ar->sha256, now))
		return;
	char d[200 + SRV_REASON_MAX + 16];
	snprintf(d, sizeof(d), "%s%s%s%s (the playback's other ranges within %d min are not audited)",
		 reason ? "reason: " : "", reason ? reason : "", reason ? "; " : "", detail,
		 (int)(SRV_LISTEN_WINDOW_US / (60 * ES_US_PER_SEC)));
	int rc = api_audit_append(r->ix, now, r->user.name, "call.listen", obj, r->remote,
				  API_AUDIT_OK, d, NULL);
	if (rc) {
		/* not remembered: the next request tries again */
		ES_LOG_ERR("api", "audit call.listen by %s from %s: %s", r->user.name, r->remote,
			   idx_errmsg(r->ix));
		return;
	}
	srv_listened_mark(c, r->user.name, r->remote, ar->call, ar->sha256, now);
}

/* The reason for listening ([api] listen_reason): ?reason= (an audio
 * element cannot send headers) or X-Listen-Reason, at most SRV_REASON_MAX
 * bytes without control characters.  false: refused (*rc queued, audited
 * as action). */
bool srv_listen_reason(struct srv_req *r, const char *action, const char *obj,
		       const char **out, int *rc)
{
	enum api_listen_reason mode = r->srv->cfg.listen_reason;
	const char *v = srv_arg(r, "reason");
	if (!v)
		v = srv_header(r, "X-Listen-Reason");
	*out = NULL;
	if (mode == API_REASON_OFF)
		return true;
	size_t n = v ? strlen(v) : 0;
	bool ok = n <= SRV_REASON_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
	while (n && v[0] == ' ')
		v++, n--;
	if (!ok) {
		*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "reason",
				"a reason of at most %d bytes without control characters",
				SRV_REASON_MAX);
		return false;
	}
	if (!n && mode == API_REASON_REQUIRED) {
		srv_audit(r, action, obj, API_AUDIT_DENIED, "no reason for listening given");
		*rc = srv_error(r, MHD_HTTP_FORBIDDEN, "reason_required", "reason",
				"say why you listen (reason=...): this server records it");
		return false;
	}
	*out = n ? v : NULL;
	return true;
}

int srv_call_audio(struct srv_req *r, int64_t id)
{
	static const char *const params[] = {"version", "reason", NULL};
	int rc;
	char obj[24];
	struct srv_rec ar = {0};
	const char *reason = NULL;
	if (!srv_access_call_ex(r, id, API_ACT_LISTEN, "call.listen", params, srv_rec_row, &ar, obj,
				&rc) ||
	    !srv_listen_reason(r, "call.listen", obj, &reason, &rc))
		return rc;
	struct audio *a = calloc(1, sizeof(*a));
	if (!a)
		return MHD_NO;
	a->fd = -1;
	bool queued = !ar.has_rec && queued_open(r, id, &ar, a);
	if (!ar.has_rec && !queued) {
		audio_free(a);
		srv_audit(r, "call.listen", obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	/* version=original: a redaction's kept original (handlers_redact.c) */
	const char *version = srv_arg(r, "version");
	if (version && strcmp(version, "original") && strcmp(version, "current")) {
		audio_free(a);
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "version",
				 "version is current or original");
	}
	if (version && !strcmp(version, "original") &&
	    (queued || !srv_original_audio(r, id, obj, &ar, &rc))) {
		audio_free(a);
		return queued ? srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
					  "the call's recording is still queued")
			      : rc;
	}
	a->srv = r->srv;
	snprintf(a->user, sizeof(a->user), "%s", r->user.name);
	snprintf(a->remote, sizeof(a->remote), "%s", r->remote);
	snprintf(a->obj, sizeof(a->obj), "%s", obj);
	const char *code = NULL;
	char msg[400];
	unsigned status = queued ? 0 : audio_open(r, &ar, a, &code, msg, sizeof(msg));
	if (status) {
		audio_free(a);
		srv_audit(r, "call.listen", obj, API_AUDIT_FAILED, msg);
		return srv_error(r, status, code, NULL, "%s", msg);
	}
	const char *range = srv_header(r, MHD_HTTP_HEADER_RANGE);
	enum range_kind k = parse_range(range, a->size, &a->start, &a->len);
	if (k == RANGE_UNSATISFIABLE) {
		uint64_t size = a->size;
		audio_free(a);
		return unsatisfiable(r, size);
	}
	if (k == RANGE_NONE) {
		a->start = 0;
		a->len = a->size;
	}
	char detail[160];
	if (k == RANGE_ONE)
		snprintf(detail, sizeof(detail), "bytes %llu-%llu of %llu",
			 (unsigned long long)a->start, (unsigned long long)(a->start + a->len - 1),
			 (unsigned long long)a->size);
	else
		snprintf(detail, sizeof(detail), "all %llu bytes", (unsigned long long)a->size);
	if (queued) /* said in the audit entry: not the stored file */
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 ", rendered from the media log (recording queued)");
	listen_audit(r, &ar, obj, reason, detail);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		a->len, SRV_AUDIO_BLOCK, audio_read, a, audio_free);
	if (!resp) {
		audio_free(a);
		return MHD_NO;
	}
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_of(ar.format));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	/* the plaintext's hash names the bytes served (else the stored file's) */
	const char *tag = *ar.plain_sha256 ? ar.plain_sha256 : ar.sha256;
	if (*tag) {
		char etag[70];
		snprintf(etag, sizeof(etag), "\"%s\"", tag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	}
	if (k == RANGE_ONE) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)a->start,
			 (unsigned long long)(a->start + a->len - 1), (unsigned long long)a->size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	return srv_queue(r, k == RANGE_ONE ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
}
