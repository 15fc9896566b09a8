/* handlers_transcripts.c - transcript search in GET /api/calls (text,
 * text_party, and the findings: keyword, min/max_sentiment;
 * docs/openapi.yaml): the filter's checks and the hits of
 * each call on the page, a snippet and the time of each hit per party.
 * The rows themselves were already allowed by the search (an agent's
 * page holds only the agent's own calls), so the hits are too.
 * Also a call's words (GET /api/calls/{id}/transcript) and queueing a
 * call again (POST /api/calls/{id}/transcribe). */
#include "analytics/transcribe.h"
#include "api/calljson.h"
#include "api/server_internal.h"
#include "record/record.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#define SRV_TEXT_SEARCH_MAX 200

static const char *const tr_party[] = {"caller", "callee"};

/* keyword, min_sentiment, max_sentiment: the transcript findings */
static bool speech_filter(struct srv_req *r, struct idx_filter *f, int *rc)
{
	const char *k = srv_arg(r, "keyword");
	if (k) {
		size_t n = strlen(k);
		bool ok = n && n <= SRV_TEXT_SEARCH_MAX;
		for (const char *s = k; ok && *s; s++)
			ok = (unsigned char)*s >= 0x20 && *s != 0x7f;
		if (!ok) {
			*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "keyword",
					"a category, list or phrase of 1..%d characters",
					SRV_TEXT_SEARCH_MAX);
			return false;
		}
		f->keyword = k;
	}
	static const char *const names[] = {"min_sentiment", "max_sentiment"};
	for (int i = 0; i < 2; i++) {
		const char *v = srv_arg(r, names[i]);
		if (!v)
			continue;
		char *end;
		double d = strtod(v, &end);
		if (end == v || *end || !(d >= -1 && d <= 1)) {
			*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", names[i],
					"the call's sentiment from -1 to 1, e.g. -0.3");
			return false;
		}
		*(i ? &f->max_sentiment : &f->min_sentiment) = d;
		*(i ? &f->max_sentiment_set : &f->min_sentiment_set) = true;
	}
	return true;
}

bool srv_text_filter(struct srv_req *r, struct idx_filter *f, int *rc)
{
	if (!speech_filter(r, f, rc))
		return false;
	const char *v = srv_arg(r, "text"), *p = srv_arg(r, "text_party");
	if (p) {
		f->text_party = !strcmp(p, "caller") ? IDX_CALLER + 1
			      : !strcmp(p, "callee") ? IDX_CALLEE + 1 : -1;
		if (f->text_party < 0) {
			*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "text_party",
					"caller or callee");
			return false;
		}
	}
	if (!v)
		return true;
	size_t n = strlen(v);
	bool ok = n && n <= SRV_TEXT_SEARCH_MAX;
	for (const char *s = v; ok && *s; s++)
		ok = (unsigned char)*s >= 0x20 && *s != 0x7f;
	char *m = ok ? idx_tr_match(v) : NULL;
	if (!m) {
		*rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "text",
				"1..%d characters with a word: words, \"a phrase\", pre* (2 letters"
				" or more)",
				SRV_TEXT_SEARCH_MAX);
		return false;
	}
	free(m);
	f->text = v;
	return true;
}

struct hits_out {
	struct es_json *j;
};

static int put_hit(void *ud, const struct idx_tr_hit *h)
{
	struct es_json *j = ((struct hits_out *)ud)->j;
	es_json_obj_begin(j);
	es_json_key(j, "party");
	es_json_str(j, h->channel ? "callee" : "caller");
	es_json_key(j, "snippet");
	es_json_str(j, h->snippet);
	es_json_key(j, "at_ms");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < h->nat; i++)
		es_json_int(j, h->at_ms[i]);
	es_json_arr_end(j);
	es_json_obj_end(j);
	return 0;
}

/* One channel's hits of f->text, from its sealed words decrypted in
 * memory (the index holds only keyed hashes): nothing when the channel has
 * no transcript or it cannot be read (logged). */
static void channel_hits(struct srv_req *r, const struct srv_rec *ar, int ch, const char *text,
			 struct hits_out *o)
{
	struct es_buf b;
	es_buf_init(&b);
	struct tr_text t = {0};
	struct idx_tr_word *w = NULL;
	char e[300] = "";
	int rc = srv_transcript_load(r, ar, ch, &b, e, sizeof(e));
	if (!rc)
		rc = tr_text_from_json((const char *)b.p, b.len, &t, e, sizeof(e));
	if (!rc && t.n && !(w = calloc(t.n, sizeof(*w))))
		rc = ES_ENOMEM;
	for (size_t i = 0; !rc && i < t.n; i++)
		w[i] = (struct idx_tr_word){.w = t.w[i].w, .start_ms = t.w[i].start_ms};
	if (!rc)
		rc = idx_tr_hits_words(text, ch, w, t.n, put_hit, o);
	if (rc && rc != ES_ENOTFOUND)
		ES_LOG_WARNING("api", "call %lld %s: transcript hits: %s", (long long)ar->call,
			       tr_party[ch], *e ? e : es_strerror(rc));
	if (b.p)
		sodium_memzero(b.p, b.len);
	es_buf_free(&b);
	free(w);
	tr_text_free(&t);
}

void srv_text_hits(struct srv_req *r, struct es_json *j, const struct idx_filter *f,
		   const int64_t *ids, unsigned n)
{
	struct hits_out o = {j};
	int party = f->text_party ? f->text_party - 1 : -1;
	es_json_key(j, "hits");
	es_json_obj_begin(j);
	for (unsigned i = 0; i < n; i++) {
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)ids[i]);
		es_json_key(j, key);
		es_json_arr_begin(j);
		/* the page's calls only (at most its size): each one's words
		 * files, decrypted in memory */
		struct srv_rec ar = {0};
		if (!idx_call_get(r->ix, ids[i], srv_rec_row, &ar) && ar.has_rec && !ar.bad_path)
			for (int ch = 0; ch < 2; ch++)
				if (party < 0 || party == ch)
					channel_hits(r, &ar, ch, f->text, &o);
		es_json_arr_end(j);
	}
	es_json_obj_end(j);
}

/* POST /api/calls/{id}/transcribe: queue each channel of the call's
 * recording again (done or failed jobs too); the worker (`earshot
 * transcribe run`) does the rest.  Who may tag a call may queue it
 * (API_ACT_TAG: agents their own calls); audited as call.transcribe. */
int srv_call_transcribe(struct srv_req *r, int64_t id)
{
	static const char *const none[] = {NULL};
	int rc;
	char obj[24];
	struct srv_rec ar = {0};
	if (!srv_access_call_ex(r, id, API_ACT_TAG, "call.transcribe", none, srv_rec_row, &ar, obj,
				&rc))
		return rc;
	if (!ar.has_rec) {
		srv_audit(r, "call.transcribe", obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	unsigned added = 0;
	int e = rec_tr_enqueue(r->ix, id, srv_now_us(), true, &added);
	if (e) {
		srv_audit(r, "call.transcribe", obj, API_AUDIT_FAILED, idx_errmsg(r->ix));
		return e == ES_ENOTFOUND ? srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
						     "the call has no recording")
					 : srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
						     NULL, "the queue cannot be written now");
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "%u channel(s) queued", added);
	srv_audit(r, "call.transcribe", obj, API_AUDIT_OK, detail);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "call"); es_json_int(&o.j, id);
	es_json_key(&o.j, "queued"); es_json_int(&o.j, added);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_ACCEPTED, &o);
}

/* ---- GET /api/calls/{id}/transcript ------------------------------------------------ */

/* What the index says of each channel's transcript. */
struct tr_meta {
	bool have[2];
	char engine[2][32];
	int64_t created_us[2];
	int64_t words[2];
};

static int take_meta(void *ud, const struct idx_transcript *t)
{
	struct tr_meta *m = ud;
	if (t->channel < 0 || t->channel > 1)
		return 0;
	m->have[t->channel] = true;
	snprintf(m->engine[t->channel], sizeof(m->engine[0]), "%s", t->engine ? t->engine : "");
	m->created_us[t->channel] = t->created_us;
	m->words[t->channel] = t->words;
	return 0;
}

/* A word inside one of the spans masked when the channel was stored (its
 * text is the mask already: the clear digits were never written). */
static bool in_masked(const cJSON *masked, const struct tr_word *w)
{
	const cJSON *sp;
	cJSON_ArrayForEach(sp, masked)
	{
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(sp, "s");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(sp, "e");
		if (cJSON_IsNumber(s) && cJSON_IsNumber(e) && w->start_ms < e->valuedouble &&
		    w->end_ms > s->valuedouble)
			return true;
	}
	return false;
}

/* A masked span's number member; absent, negative or absurd: 0 (never a
 * cast of an out-of-range double). */
static int64_t span_num(const cJSON *sp, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sp, key);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e12
		       ? (int64_t)v->valuedouble
		       : 0;
}

/* One party's object: its words and the masked spans as stored. */
static void party_json(struct es_json *j, int ch, const struct tr_meta *m,
		       const struct tr_text *t, const cJSON *masked)
{
	es_json_obj_begin(j);
	es_json_key(j, "party"); es_json_str(j, tr_party[ch]);
	es_json_key(j, "engine"); es_json_str(j, m->engine[ch]);
	es_json_key(j, "transcribed"); api_json_time(j, m->created_us[ch]);
	es_json_key(j, "words");
	es_json_arr_begin(j);
	for (size_t i = 0; i < t->n; i++) {
		const struct tr_word *w = &t->w[i];
		es_json_obj_begin(j);
		es_json_key(j, "w"); es_json_str(j, w->w);
		es_json_key(j, "start_ms"); es_json_int(j, w->start_ms);
		es_json_key(j, "end_ms"); es_json_int(j, w->end_ms);
		es_json_key(j, "conf");
		if (w->conf < 0)
			es_json_null(j);
		else
			es_json_double(j, w->conf, 3);
		if (in_masked(masked, w)) {
			es_json_key(j, "masked"); es_json_bool(j, true);
		}
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
	es_json_key(j, "masked");
	es_json_arr_begin(j);
	const cJSON *sp;
	cJSON_ArrayForEach(sp, masked)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(sp, "kind");
		es_json_obj_begin(j);
		es_json_key(j, "kind"); es_json_str(j, cJSON_IsString(k) ? k->valuestring : "");
		es_json_key(j, "start_ms"); es_json_int(j, span_num(sp, "s"));
		es_json_key(j, "end_ms"); es_json_int(j, span_num(sp, "e"));
		es_json_key(j, "digits"); es_json_int(j, span_num(sp, "digits"));
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
	es_json_obj_end(j);
}

/* Each transcribed channel's stored words (decrypted with the recording's
 * data key when sealed) into t[ch] and its masked spans into masked[ch]:
 * 0, or an HTTP status with the reason in err. */
static unsigned tr_read(struct srv_req *r, const struct srv_rec *ar, const struct tr_meta *m,
			struct tr_text t[2], cJSON *masked[2], char *err, size_t errlen)
{
	for (int ch = 0; ch < 2; ch++) {
		if (!m->have[ch])
			continue;
		struct es_buf b;
		es_buf_init(&b);
		char e[300] = "";
		int rc = srv_transcript_load(r, ar, ch, &b, e, sizeof(e));
		if (!rc)
			rc = tr_text_from_json((const char *)b.p, b.len, &t[ch], e, sizeof(e));
		cJSON *root = rc ? NULL : cJSON_ParseWithLength((const char *)b.p, b.len);
		if (root) {
			masked[ch] = cJSON_DetachItemFromObjectCaseSensitive(root, "masked");
			cJSON_Delete(root);
		}
		if (b.p)
			sodium_memzero(b.p, b.len);
		es_buf_free(&b);
		if (rc == ES_ENOTFOUND) {
			snprintf(err, errlen, "the %s's transcript is gone (its file or data key)",
				 tr_party[ch]);
			return MHD_HTTP_GONE;
		}
		if (rc) {
			snprintf(err, errlen, "the %s's transcript cannot be read: %s",
				 tr_party[ch], e);
			return MHD_HTTP_CONFLICT;
		}
	}
	return 0;
}

int srv_call_transcript(struct srv_req *r, int64_t id)
{
	static const char *const params[] = {"reason", NULL};
	static const char action[] = "call.transcript";
	int rc;
	char obj[24], err[400] = "";
	struct srv_rec ar = {0};
	const char *reason = NULL;
	if (!srv_access_call_ex(r, id, API_ACT_LISTEN, action, params, srv_rec_row, &ar, obj,
				&rc) ||
	    !srv_listen_reason(r, action, obj, &reason, &rc))
		return rc;
	if (!ar.has_rec || ar.bad_path) {
		srv_audit(r, action, obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	struct tr_meta m = {0};
	if (idx_transcripts_get(r->ix, id, take_meta, &m)) {
		srv_audit(r, action, obj, API_AUDIT_FAILED, idx_errmsg(r->ix));
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index cannot be read now");
	}
	if (!m.have[0] && !m.have[1]) {
		srv_audit(r, action, obj, API_AUDIT_FAILED, "not transcribed");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_transcript", "id",
				 "the call has not been transcribed");
	}
	struct tr_text t[2] = {{0}, {0}};
	cJSON *masked[2] = {NULL, NULL};
	unsigned st = tr_read(r, &ar, &m, t, masked, err, sizeof(err));
	if (st) {
		srv_audit(r, action, obj, API_AUDIT_FAILED, err);
		rc = srv_error(r, st, st == MHD_HTTP_GONE ? "gone" : "integrity", NULL, "%s", err);
		goto out;
	}
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		rc = MHD_NO;
		goto out;
	}
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "call"); es_json_int(&o.j, id);
	es_json_key(&o.j, "parties");
	es_json_arr_begin(&o.j);
	for (int ch = 0; ch < 2; ch++)
		if (m.have[ch])
			party_json(&o.j, ch, &m, &t[ch], masked[ch]);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	char detail[120 + SRV_REASON_MAX];
	snprintf(detail, sizeof(detail), "%s%s%s%zu caller and %zu callee words",
		 reason ? "reason: " : "", reason ? reason : "", reason ? "; " : "", t[0].n,
		 t[1].n);
	srv_audit(r, action, obj, API_AUDIT_OK, detail);
	rc = srv_json_send(r, MHD_HTTP_OK, &o);
out:
	for (int ch = 0; ch < 2; ch++) {
		tr_text_free(&t[ch]);
		cJSON_Delete(masked[ch]);
	}
	return rc;
}
