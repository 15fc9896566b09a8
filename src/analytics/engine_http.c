/*
 * engine_http.c - the two HTTP speech engines (transcribe.h), one
 * multipart upload of the channel as a WAVE file through libcurl:
 *   whisper: whisper.cpp's server, POST /inference with "file" and
 *            response_format=verbose_json (word times in segments[].words);
 *   openai:  an OpenAI-compatible POST /v1/audio/transcriptions with
 *            "file", "model", response_format=verbose_json and
 *            timestamp_granularities[]=word (top-level words[]).
 * Both accept a bearer token.  Redirects are not followed (the audio
 * goes to the configured URL only); http and https only.
 */
#include "analytics/transcribe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_REPLY_MAX_DEFAULT (16u << 20)
#define TR_TIMEOUT_DEFAULT 300L

struct reply {
	struct es_buf b;
	size_t max;
	bool over;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = sz * n;
	if (r->b.len + len > r->max) {
		r->over = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	return es_buf_append(&r->b, p, len) ? 0 : len;
}

/* base + path unless base already ends in path. */
static int endpoint(const char *base, const char *path, char *out, size_t cap)
{
	size_t bl = strlen(base), pl = strlen(path);
	while (bl && base[bl - 1] == '/')
		bl--;
	bool has = bl >= pl && !memcmp(base + bl - pl, path, pl);
	int n = snprintf(out, cap, "%.*s%s", (int)bl, base, has ? "" : path);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* The reply's text for an error message: printable ASCII, short. */
static void reply_excerpt(const struct es_buf *b, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < b->len && k + 1 < cap && k < 160; i++) {
		unsigned char c = b->p[i];
		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	out[k] = 0;
}

static int add_field(curl_mime *m, const char *name, const char *value)
{
	curl_mimepart *p = curl_mime_addpart(m);
	if (!p || curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
		return ES_ENOMEM;
	return 0;
}

/* curl's progress callback: non-zero aborts the transfer (the worker is
 * stopping; the job is queued again, not failed). */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	atomic_int *stop = ud; /* clang: atomic_load takes no const */
	return atomic_load(stop) ? 1 : 0;
}

static int http_run(const struct tr_conf *c, bool openai, const int16_t *pcm, size_t frames,
		    uint32_t rate, struct tr_text *out, char *err, size_t errlen)
{
	char url[2048];
	struct reply r = {.max = c->max_reply ? c->max_reply : TR_REPLY_MAX_DEFAULT};
	es_buf_init(&r.b);
	uint8_t *wav = NULL;
	size_t wavlen = 0;
	CURL *h = NULL;
	curl_mime *m = NULL;
	struct curl_slist *hdrs = NULL;
	int rc;
	if (!c->url || !*c->url) {
		snprintf(err, errlen, "[transcription] url is not set");
		return ES_EINVAL;
	}
	if ((rc = endpoint(c->url, openai ? "/v1/audio/transcriptions" : "/inference", url,
			   sizeof(url)))) {
		snprintf(err, errlen, "[transcription] url is too long");
		return rc;
	}
	if ((rc = tr_wav(pcm, frames, rate, &wav, &wavlen))) {
		snprintf(err, errlen, "audio too long for one WAVE file");
		return rc;
	}
	rc = ES_ENOMEM;
	if (!(h = curl_easy_init()) || !(m = curl_mime_init(h)))
		goto out;
	curl_mimepart *part = curl_mime_addpart(m);
	if (!part || curl_mime_name(part, "file") != CURLE_OK ||
	    curl_mime_data(part, (const char *)wav, wavlen) != CURLE_OK ||
	    curl_mime_filename(part, "audio.wav") != CURLE_OK ||
	    curl_mime_type(part, "audio/wav") != CURLE_OK)
		goto out;
	if (add_field(m, "response_format", "verbose_json"))
		goto out;
	if (openai && (add_field(m, "model", c->model && *c->model ? c->model : "whisper-1") ||
		       add_field(m, "timestamp_granularities[]", "word") ||
		       add_field(m, "timestamp_granularities[]", "segment")))
		goto out;
	if (c->language && *c->language && add_field(m, "language", c->language))
		goto out;
	if (c->token && *c->token) {
		/* the header is built here and handed to curl only: never logged */
		size_t tl = strlen(c->token);
		char *auth = malloc(tl + 32);
		if (!auth)
			goto out;
		snprintf(auth, tl + 32, "Authorization: Bearer %s", c->token);
		struct curl_slist *nh = curl_slist_append(hdrs, auth);
		memset(auth, 0, tl + 32);
		free(auth);
		if (!nh)
			goto out;
		hdrs = nh;
	}
	struct curl_slist *nh = curl_slist_append(hdrs, "Expect:");
	if (!nh)
		goto out;
	hdrs = nh;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, m);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : TR_TIMEOUT_DEFAULT);
	if (c->ca_file && *c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->stop) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->stop);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (r.over) {
		snprintf(err, errlen, "%s: reply larger than %zu bytes", url, r.max);
		rc = ES_ELIMIT;
		goto out;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "%s: the worker is stopping", url);
		rc = ES_EAGAIN;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
		rc = ES_EIO;
		goto out;
	}
	if (status != 200) {
		char ex[200];
		reply_excerpt(&r.b, ex, sizeof(ex));
		snprintf(err, errlen, "%s: HTTP %ld: %s", url, status, ex);
		rc = status >= 500 || status == 408 || status == 429 ? ES_EIO : ES_EINVAL;
		goto out;
	}
	char perr[256] = "";
	rc = tr_parse_verbose_json((const char *)r.b.p, r.b.len, out, perr, sizeof(perr));
	if (rc)
		snprintf(err, errlen, "%s: %s", url, perr);
out:
	if (rc == ES_ENOMEM && !*err)
		snprintf(err, errlen, "out of memory");
	curl_slist_free_all(hdrs);
	curl_mime_free(m);
	curl_easy_cleanup(h);
	free(wav);
	es_buf_free(&r.b);
	return rc;
}

static int whisper_run(const struct tr_conf *c, const int16_t *pcm, size_t frames, uint32_t rate,
		       struct tr_text *out, char *err, size_t errlen)
{
	return http_run(c, false, pcm, frames, rate, out, err, errlen);
}

static int openai_run(const struct tr_conf *c, const int16_t *pcm, size_t frames, uint32_t rate,
		      struct tr_text *out, char *err, size_t errlen)
{
	return http_run(c, true, pcm, frames, rate, out, err, errlen);
}

const struct tr_engine tr_engine_whisper = {"whisper", whisper_run};
const struct tr_engine tr_engine_openai = {"openai", openai_run};
