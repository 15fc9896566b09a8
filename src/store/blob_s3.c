/* blob_s3.c - the S3-compatible blob store: libcurl with AWS Signature V4
 * (CURLOPT_AWS_SIGV4), the payload's SHA-256 sent explicitly in
 * x-amz-content-sha256 (and signed, so the server checks the bytes), the
 * MD5 in Content-MD5 (RFC 1864) and compared with the ETag a single PUT
 * returns, multipart upload above a size, Range GET, retries with
 * exponential backoff on 5xx and transport failures.  The secret is given
 * to libcurl only; no message or log line carries it. */
#include "store/blob_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "s3"
#define MIB (UINT64_C(1) << 20)
/* SHA-256 of no bytes: the payload hash of a request without a body */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_state {
	struct st_blob_conf c;
	CURL *h;
	char desc[600];
	char sigv4[96];
	int lock;            /* 0 not probed, 1 Object Lock enabled, -1 not */
};

/* One request: its body comes from memory or from a file range; its reply
 * goes to memory or into a sink. */
struct s3_req {
	const char *method;
	const char *key;            /* NULL: the bucket itself */
	const char *query;          /* after '?', or NULL */
	const uint8_t *mem;         /* body in memory */
	size_t mem_len;
	int fd;                     /* body from a file (-1: none) */
	uint64_t off, len;
	const char *sha256_hex;     /* the body's; NULL: of mem */
	const char *md5_b64;        /* Content-MD5, or NULL */
	const char *range;          /* "bytes=a-b", or NULL */
	const char *extra_hdr[2];   /* more header lines, or NULL */
	struct st_blob_sink *sink;  /* GET into a file */
	struct es_buf *out;         /* GET into memory (else resp) */
	/* results */
	long status;
	struct es_buf resp;
	char etag[80];
	uint64_t sent;
};

/* ---- hashing -------------------------------------------------------------------- */

static void hex_of(const uint8_t *d, size_t n, char *hex)
{
	static const char k[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = k[d[i] >> 4];
		hex[2 * i + 1] = k[d[i] & 15];
	}
	hex[2 * n] = 0;
}

/* SHA-256 (hex) and MD5 (raw) of a file range or of memory. */
static int digest(int fd, uint64_t off, uint64_t len, const uint8_t *mem, char sha_hex[65],
		  uint8_t md5[16])
{
	EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
	int rc = ES_ENOMEM;
	if (!a || !b || !EVP_DigestInit_ex(a, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(b, EVP_md5(), NULL))
		goto out;
	if (mem) {
		EVP_DigestUpdate(a, mem, len);
		EVP_DigestUpdate(b, mem, len);
	} else {
		static __thread uint8_t buf[65536];
		while (len) {
			ssize_t n = pread(fd, buf, (size_t)ES_MIN(len, sizeof(buf)), (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = ES_EIO;
				goto out;
			}
			EVP_DigestUpdate(a, buf, (size_t)n);
			EVP_DigestUpdate(b, buf, (size_t)n);
			off += (uint64_t)n;
			len -= (uint64_t)n;
		}
	}
	uint8_t d[32];
	unsigned dl = 0;
	EVP_DigestFinal_ex(a, d, &dl);
	hex_of(d, 32, sha_hex);
	EVP_DigestFinal_ex(b, md5, &dl);
	rc = 0;
out:
	EVP_MD_CTX_free(a);
	EVP_MD_CTX_free(b);
	return rc;
}

static void md5_b64(const uint8_t md5[16], char out[32])
{
	EVP_EncodeBlock((unsigned char *)out, md5, 16);
}

/* ---- curl callbacks ------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t want = size * nmemb;
	uint64_t left = (r->fd >= 0 ? r->len : r->mem_len) - r->sent;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (r->fd >= 0) {
		ssize_t n;
		do
			n = pread(r->fd, buf, want, (off_t)(r->off + r->sent));
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)n;
	} else {
		memcpy(buf, r->mem + r->sent, want);
	}
	r->sent += want;
	return want;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t n = size * nmemb;
	/* an error reply's body is the XML that names the error: keep it */
	bool ok = r->status == 0 ? true : r->status < 300;
	if (ok && r->sink)
		return st_blob_sink_write(r->sink, p, n) ? 0 : n;
	if (ok && r->out)
		return es_buf_append(r->out, p, n) ? 0 : n;
	if (r->resp.len < 64 * 1024)
		es_buf_append(&r->resp, p, n);
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t n = size * nmemb;
	if (n > 9 && !strncmp(p, "HTTP/", 5)) {
		/* a new status line (after a 100 Continue, too) */
		const char *sp = memchr(p, ' ', n);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	} else if (n > 5 && !strncasecmp(p, "etag:", 5)) {
		struct slice v = sl_trim(sl_make(p + 5, n - 5));
		if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
			v = sl_sub(v, 1, v.len - 2);
		sl_copy(r->etag, sizeof(r->etag), v);
	}
	return n;
}

/* ---- one request, with retries ---------------------------------------------------- */

static int s3_url(const struct s3_state *s, const struct s3_req *r, char *out, size_t cap)
{
	const char *ep = s->c.endpoint;
	const char *host = strstr(ep, "://");
	host = host ? host + 3 : ep;
	int n;
	const char *q = r->query ? "?" : "", *qs = r->query ? r->query : "";
	const char *k = r->key ? r->key : "", *pre = r->key ? s->c.prefix : "";
	if (s->c.path_style)
		n = snprintf(out, cap, "%s/%s/%s%s%s%s", ep, s->c.bucket, pre, k, q, qs);
	else
		n = snprintf(out, cap, "%.*s%s.%s/%s%s%s%s", (int)(host - ep), ep, s->c.bucket, host,
			     pre, k, q, qs);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

static bool transient(CURLcode cc, long status)
{
	if (cc == CURLE_OK)
		return status >= 500;
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
	       cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE || cc == CURLE_COULDNT_RESOLVE_HOST;
}

/* The server's error as text: "403 SignatureDoesNotMatch" (from the XML). */
static void reply_error(const struct s3_req *r, char *out, size_t cap)
{
	char code[64] = "";
	st_blob_xml_text((const char *)r->resp.p, r->resp.len, "Code", code, sizeof(code));
	snprintf(out, cap, "HTTP %ld%s%s", r->status, code[0] ? " " : "", code);
}

static void sink_rewind(struct st_blob_sink *k)
{
	if (ftruncate(k->fd, 0) == 0)
		lseek(k->fd, 0, SEEK_SET);
	crypto_hash_sha256_init(&k->h);
	k->n = 0;
}

static int s3_do(struct s3_state *s, struct s3_req *r, char *err, size_t errlen)
{
	char url[2400], sha[65];
	int rc = s3_url(s, r, url, sizeof(url));
	if (rc)
		return es_errf(err, errlen, rc, "%s: URL too long", s->desc);
	if (!r->sha256_hex) {
		uint8_t md5[16];
		digest(-1, 0, r->mem_len, r->mem ? r->mem : (const uint8_t *)"", sha, md5);
		r->sha256_hex = sha;
	}
	bool has_body = r->fd >= 0 || r->mem;
	struct curl_slist *hs = NULL;
	char line[160];
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", r->sha256_hex);
	hs = curl_slist_append(hs, line);
	if (r->md5_b64) {
		snprintf(line, sizeof(line), "Content-MD5: %s", r->md5_b64);
		hs = curl_slist_append(hs, line);
	}
	if (r->range) {
		snprintf(line, sizeof(line), "Range: %s", r->range);
		hs = curl_slist_append(hs, line);
	}
	for (int i = 0; i < 2; i++)
		if (r->extra_hdr[i])
			hs = curl_slist_append(hs, r->extra_hdr[i]);
	if (has_body)
		hs = curl_slist_append(hs, "Content-Type: application/octet-stream");

	int64_t wait = s->c.backoff_us > 0 ? s->c.backoff_us : 200000;
	unsigned tries = s->c.retries + 1;
	CURLcode cc = CURLE_OK;
	for (unsigned t = 0; t < tries; t++) {
		CURL *h = s->h;
		curl_easy_reset(h);
		r->status = 0;
		r->sent = 0;
		es_buf_reset(&r->resp);
		if (r->out)
			r->out->len = 0;
		if (r->sink && r->sink->n)
			sink_rewind(r->sink);
		r->etag[0] = 0;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(h, CURLOPT_USERNAME, s->c.access_key);
		curl_easy_setopt(h, CURLOPT_PASSWORD, s->c.secret_key);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		/* not "Expect:" in the headers: the signer would sign a header
		 * libcurl then leaves out; a short wait for 100 Continue instead */
		curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		/* a stalled transfer: under 1 byte/s for the timeout */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
				 (long)((s->c.timeout_us > 0 ? s->c.timeout_us : 30000000) / 1000000));
		if (!strcmp(r->method, "PUT")) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, r);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)(r->fd >= 0 ? r->len : r->mem_len));
		} else if (!strcmp(r->method, "POST")) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->mem ? (const char *)r->mem : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->mem_len);
		} else if (!strcmp(r->method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (strcmp(r->method, "GET")) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
		}
		cc = curl_easy_perform(h);
		if (!transient(cc, r->status))
			break;
		if (t + 1 < tries) {
			ES_LOG_WARNING(TAG, "%s %s: %s; retry %u of %u in %lld ms", s->desc, r->method,
				    cc ? curl_easy_strerror(cc) : "server error", t + 1, tries - 1,
				    (long long)(wait / 1000));
			struct timespec ts = {wait / 1000000, (wait % 1000000) * 1000};
			nanosleep(&ts, NULL);
			wait *= 2;
		}
	}
	curl_slist_free_all(hs);
	char why[128];
	if (cc != CURLE_OK)
		return es_errf(err, errlen, ES_EIO, "%s: %s %s: %s (after %u tries)", s->desc,
			       r->method, r->key ? r->key : "(bucket)", curl_easy_strerror(cc), tries);
	if (r->status >= 200 && r->status < 300)
		return 0;
	reply_error(r, why, sizeof(why));
	if (r->status == 403)
		return es_errf(err, errlen, ES_EINVAL,
			       "%s: access refused (%s): check the access key and secret", s->desc,
			       why);
	if (r->status == 404 && !strstr(why, "NoSuchBucket"))
		return es_errf(err, errlen, ES_ENOTFOUND, "%s: %s: no such object (%s)", s->desc,
			       r->key ? r->key : "(bucket)", why);
	if (r->status == 501 || strstr(why, "NotImplemented"))
		return es_errf(err, errlen, ES_EUNSUP, "%s: %s %s?%s: not supported by the server (%s)",
			       s->desc, r->method, r->key ? r->key : "(bucket)",
			       r->query ? r->query : "", why);
	return es_errf(err, errlen, ES_EIO, "%s: %s %s: %s", s->desc, r->method,
		       r->key ? r->key : "(bucket)", why);
}

static void req_init(struct s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->fd = -1;
	es_buf_init(&r->resp);
}

/* ---- the engine ------------------------------------------------------------------ */

static int s3_open(void **state, const struct st_blob_conf *c, char *err, size_t errlen)
{
	if (!c->endpoint[0] || !c->bucket[0])
		return es_errf(err, errlen, ES_EINVAL, "the S3 store needs an endpoint and a bucket");
	if (!c->access_key[0] || !c->secret_key[0])
		return es_errf(err, errlen, ES_EINVAL,
			       "S3 %s bucket %s: no credentials (access_key and secret_key in the "
			       "configuration, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a "
			       "credentials_file)",
			       c->endpoint, c->bucket);
	static bool inited; /* curl_global_init is not thread-safe; the first open is on the main thread */
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	struct s3_state *s = calloc(1, sizeof(*s));
	if (!s || !(s->h = curl_easy_init())) {
		free(s);
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	}
	s->c = *c;
	if (!s->c.region[0])
		snprintf(s->c.region, sizeof(s->c.region), "us-east-1");
	if (!s->c.multipart_above)
		s->c.multipart_above = 64 * MIB;
	if (!s->c.part_size)
		s->c.part_size = 16 * MIB;
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->c.region);
	snprintf(s->desc, sizeof(s->desc), "S3 %s bucket %s", s->c.endpoint, s->c.bucket);
	*state = s;
	return 0;
}

static void s3_close(void *state)
{
	struct s3_state *s = state;
	if (!s)
		return;
	curl_easy_cleanup(s->h);
	sodium_memzero(s->c.secret_key, sizeof(s->c.secret_key));
	free(s);
}

static int key_check(struct s3_state *s, const char *key, char *err, size_t errlen)
{
	return st_blob_key_ok(key) ? 0
				   : es_errf(err, errlen, ES_EINVAL, "%s: '%s' is not a valid key",
					     s->desc, key);
}

/* Object Lock headers of a new object, when configured: the mode into
 * out, the retain-until date into out2. */
static void lock_header(struct s3_state *s, char *out, char *out2, size_t cap)
{
	out[0] = out2[0] = 0;
	if (!s->c.lock_mode[0] || s->c.lock_days <= 0)
		return;
	time_t until = time(NULL) + (time_t)s->c.lock_days * 86400;
	struct tm tm;
	gmtime_r(&until, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, cap, "x-amz-object-lock-mode: %s", s->c.lock_mode);
	snprintf(out2, cap, "x-amz-object-lock-retain-until-date: %s", when);
}

static int s3_probe_lock(void *state, char *err, size_t errlen);

static int put_single(struct s3_state *s, const char *key, int fd, uint64_t size,
		      const char *sha, struct st_blob_put_info *info, char *err, size_t errlen)
{
	char sha_check[65], b64[32], lock[160], until[160];
	uint8_t md5[16];
	if (digest(fd, 0, size, NULL, sha_check, md5))
		return es_errf(err, errlen, ES_EIO, "%s: reading %s: %s", s->desc, key,
			       strerror(errno));
	if (sha && strcmp(sha, sha_check))
		return es_errf(err, errlen, ES_ECRYPTO,
			       "%s: %s changed on disk (SHA-256 %.16s..., recorded %.16s...)", s->desc,
			       key, sha_check, sha);
	md5_b64(md5, b64);
	struct s3_req r;
	req_init(&r, "PUT", key);
	r.fd = fd;
	r.len = size;
	r.sha256_hex = sha_check;
	r.md5_b64 = b64;
	lock_header(s, lock, until, sizeof(lock));
	r.extra_hdr[0] = lock[0] ? lock : NULL;
	r.extra_hdr[1] = until[0] ? until : NULL;
	int rc = s3_do(s, &r, err, errlen);
	if (!rc) {
		char hex[33];
		hex_of(md5, 16, hex);
		/* a single PUT's ETag is the MD5 of the bytes on S3 and Swift */
		info->etag_checked = r.etag[0] != 0;
		if (r.etag[0] && strcmp(r.etag, hex))
			rc = es_errf(err, errlen, ES_ECRYPTO,
				     "%s: %s: the server's ETag %s is not the MD5 %s we sent", s->desc,
				     key, r.etag, hex);
	}
	es_buf_free(&r.resp);
	return rc;
}

static int put_multipart(struct s3_state *s, const char *key, int fd, uint64_t size,
			 const char *sha, struct st_blob_put_info *info, char *err, size_t errlen)
{
	struct s3_req r;
	char lock[160], until[160];
	req_init(&r, "POST", key);
	r.query = "uploads=";
	lock_header(s, lock, until, sizeof(lock)); /* Object Lock goes on the initiation */
	r.extra_hdr[0] = lock[0] ? lock : NULL;
	r.extra_hdr[1] = until[0] ? until : NULL;
	int rc = s3_do(s, &r, err, errlen);
	char id[512] = "";
	if (!rc && !st_blob_xml_text((const char *)r.resp.p, r.resp.len, "UploadId", id, sizeof(id)))
		rc = es_errf(err, errlen, ES_EPARSE, "%s: %s: no UploadId in the reply", s->desc, key);
	es_buf_free(&r.resp);
	if (rc)
		return rc;
	struct es_buf done;
	es_buf_init(&done);
	es_buf_printf(&done, "<CompleteMultipartUpload>");
	unsigned part = 0;
	for (uint64_t off = 0; off < size && !rc; off += s->c.part_size) {
		uint64_t len = ES_MIN(s->c.part_size, size - off);
		char psha[65], b64[32], q[700];
		uint8_t md5[16];
		part++;
		if (digest(fd, off, len, NULL, psha, md5)) {
			rc = es_errf(err, errlen, ES_EIO, "%s: reading %s: %s", s->desc, key,
				     strerror(errno));
			break;
		}
		md5_b64(md5, b64);
		snprintf(q, sizeof(q), "partNumber=%u&uploadId=%s", part, id);
		req_init(&r, "PUT", key);
		r.query = q;
		r.fd = fd;
		r.off = off;
		r.len = len;
		r.sha256_hex = psha;
		r.md5_b64 = b64;
		rc = s3_do(s, &r, err, errlen);
		char hex[33];
		hex_of(md5, 16, hex);
		if (!rc && r.etag[0] && strcmp(r.etag, hex))
			rc = es_errf(err, errlen, ES_ECRYPTO,
				     "%s: %s part %u: ETag %s is not the MD5 %s we sent", s->desc, key,
				     part, r.etag, hex);
		es_buf_printf(&done, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
			      part, r.etag[0] ? r.etag : hex);
		es_buf_free(&r.resp);
	}
	char got[65] = "";
	if (!rc) {
		/* the whole file's hash, read again, must still be the recorded one */
		uint8_t md5[16];
		if (digest(fd, 0, size, NULL, got, md5) || (sha && strcmp(got, sha)))
			rc = es_errf(err, errlen, ES_ECRYPTO, "%s: %s changed on disk during the upload",
				     s->desc, key);
	}
	es_buf_printf(&done, "</CompleteMultipartUpload>");
	char q[600];
	snprintf(q, sizeof(q), "uploadId=%s", id);
	if (!rc) {
		req_init(&r, "POST", key);
		r.query = q;
		r.mem = done.p;
		r.mem_len = done.len;
		rc = s3_do(s, &r, err, errlen);
		/* S3 may answer 200 with an <Error> inside */
		if (!rc && r.resp.len &&
		    st_blob_xml_text((const char *)r.resp.p, r.resp.len, "Code", got, sizeof(got)))
			rc = es_errf(err, errlen, ES_EIO, "%s: %s: completing the upload: %s", s->desc,
				     key, got);
		es_buf_free(&r.resp);
	}
	if (rc) {
		char e2[256];
		req_init(&r, "DELETE", key);
		r.query = q;
		s3_do(s, &r, e2, sizeof(e2)); /* best effort: parts are not left behind */
		es_buf_free(&r.resp);
	}
	es_buf_free(&done);
	info->multipart = true;
	info->parts = part;
	info->etag_checked = !rc;
	return rc;
}

static int s3_put_file(void *state, const char *key, const char *path, const char *sha256_hex,
		       struct st_blob_put_info *info, char *err, size_t errlen)
{
	struct s3_state *s = state;
	struct st_blob_put_info dummy;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	int rc = key_check(s, key, err, errlen);
	if (rc)
		return rc;
	/* [s3] object_lock promises WORM objects: a bucket without Object Lock
	 * would silently store unlocked ones, so refuse (they stay queued) */
	if (s->c.lock_mode[0] && !s->lock)
		s->lock = s3_probe_lock(s, err, errlen) ? -1 : 1;
	if (s->c.lock_mode[0] && s->lock < 0)
		return es_errf(err, errlen, ES_EUNSUP,
			       "%s: object_lock = %s is configured but the bucket has no Object "
			       "Lock",
			       s->desc, s->c.lock_mode);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return es_errf(err, errlen, e == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", path,
			       strerror(e));
	}
	info->size = (uint64_t)st.st_size;
	if ((uint64_t)st.st_size > s->c.multipart_above)
		rc = put_multipart(s, key, fd, (uint64_t)st.st_size, sha256_hex, info, err, errlen);
	else
		rc = put_single(s, key, fd, (uint64_t)st.st_size, sha256_hex, info, err, errlen);
	close(fd);
	return rc;
}

static int s3_get_file(void *state, const char *key, const char *dst, const char *want,
		       char *err, size_t errlen)
{
	struct s3_state *s = state;
	int rc = key_check(s, key, err, errlen);
	if (rc)
		return rc;
	struct st_blob_sink k;
	if ((rc = st_blob_sink_open(&k, dst, err, errlen)))
		return rc;
	struct s3_req r;
	req_init(&r, "GET", key);
	r.sink = &k;
	rc = s3_do(s, &r, err, errlen);
	es_buf_free(&r.resp);
	if (rc) {
		st_blob_sink_abort(&k);
		return rc;
	}
	rc = st_blob_sink_finish(&k, want, NULL, err, errlen);
	return rc;
}

static int s3_get_range(void *state, const char *key, uint64_t off, uint64_t len,
			struct es_buf *out, char *err, size_t errlen)
{
	struct s3_state *s = state;
	int rc = key_check(s, key, err, errlen);
	if (rc || !len)
		return rc;
	char range[64];
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	struct es_buf tmp;
	es_buf_init(&tmp);
	struct s3_req r;
	req_init(&r, "GET", key);
	r.range = range;
	r.out = &tmp;
	rc = s3_do(s, &r, err, errlen);
	/* 200 means the server ignored the range: take our part of the whole */
	if (!rc && r.status == 200)
		es_buf_consume(&tmp, (size_t)ES_MIN(off, tmp.len));
	if (!rc && es_buf_append(out, tmp.p, (size_t)ES_MIN(len, tmp.len)))
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
	es_buf_free(&tmp);
	es_buf_free(&r.resp);
	return rc;
}

static int s3_size(void *state, const char *key, uint64_t *size, char *err, size_t errlen)
{
	struct s3_state *s = state;
	int rc = key_check(s, key, err, errlen);
	if (rc)
		return rc;
	struct s3_req r;
	req_init(&r, "HEAD", key);
	rc = s3_do(s, &r, err, errlen);
	curl_off_t n = 0;
	if (!rc && curl_easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &n) == CURLE_OK)
		*size = n > 0 ? (uint64_t)n : 0;
	es_buf_free(&r.resp);
	return rc;
}

static int s3_remove(void *state, const char *key, char *err, size_t errlen)
{
	struct s3_state *s = state;
	int rc = key_check(s, key, err, errlen);
	if (rc)
		return rc;
	/* S3 answers 204 for a key that is not there: ask first */
	uint64_t n;
	if ((rc = s3_size(s, key, &n, err, errlen)))
		return rc;
	struct s3_req r;
	req_init(&r, "DELETE", key);
	rc = s3_do(s, &r, err, errlen);
	es_buf_free(&r.resp);
	return rc;
}

static int s3_legal_hold(void *state, const char *key, bool on, char *err, size_t errlen)
{
	struct s3_state *s = state;
	int rc = key_check(s, key, err, errlen);
	if (rc)
		return rc;
	/* Only after the bucket said it has Object Lock: a server that does
	 * not know the legal-hold subresource (Swift's s3api) takes this PUT
	 * for an upload and replaces the recording with the XML below. */
	if (!s->lock)
		s->lock = s3_probe_lock(s, err, errlen) ? -1 : 1;
	if (s->lock < 0)
		return es_errf(err, errlen, ES_EUNSUP,
			       "%s: no Object Lock on the bucket, so no legal hold on its objects",
			       s->desc);
	char body[128], b64[32], sha[65];
	uint8_t md5[16];
	int n = snprintf(body, sizeof(body),
			 "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Status>%s</Status></LegalHold>",
			 on ? "ON" : "OFF");
	digest(-1, 0, (uint64_t)n, (const uint8_t *)body, sha, md5);
	md5_b64(md5, b64);
	struct s3_req r;
	req_init(&r, "PUT", key);
	r.query = "legal-hold=";
	r.mem = (const uint8_t *)body;
	r.mem_len = (size_t)n;
	r.sha256_hex = sha;
	r.md5_b64 = b64; /* S3 requires Content-MD5 on Object Lock requests */
	rc = s3_do(s, &r, err, errlen);
	es_buf_free(&r.resp);
	return rc;
}

static int s3_probe_lock(void *state, char *err, size_t errlen)
{
	struct s3_state *s = state;
	struct s3_req r;
	req_init(&r, "GET", NULL);
	r.query = "object-lock=";
	int rc = s3_do(s, &r, err, errlen);
	char status[32] = "";
	if (!rc && !(st_blob_xml_text((const char *)r.resp.p, r.resp.len, "ObjectLockEnabled",
				      status, sizeof(status)) &&
		     !strcmp(status, "Enabled")))
		rc = es_errf(err, errlen, ES_EUNSUP, "%s: Object Lock is not enabled on the bucket",
			     s->desc);
	else if (rc && rc != ES_EUNSUP && rc != ES_EINVAL)
		rc = es_errf(err, errlen, ES_EUNSUP, "%s: no Object Lock configuration", s->desc);
	es_buf_free(&r.resp);
	return rc;
}

static const char *s3_describe(void *state) { return ((struct s3_state *)state)->desc; }

const struct st_blob_ops st_blob_s3 = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.put_file = s3_put_file,
	.get_file = s3_get_file,
	.get_range = s3_get_range,
	.size = s3_size,
	.remove = s3_remove,
	.legal_hold = s3_legal_hold,
	.probe_lock = s3_probe_lock,
	.describe = s3_describe,
};
