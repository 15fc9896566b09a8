/* handlers_transcripts.c - transcript search in GET /api/calls (text,
 * text_party, and the findings: keyword, min/max_sentiment;
 * docs/openapi.yaml): the filter's checks and the hits of
 * each call on the page, a snippet and the time of each hit per party.
 * The rows themselves were already allowed by the search (an agent's
 * page holds only the agent's own calls), so the hits are too. */
#include "api/server_internal.h"
#include "record/record.h"

#include <microhttpd.h>

#include <stdlib.h>
#include <string.h>

#define SRV_TEXT_SEARCH_MAX 200

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
				"1..%d characters with a word: words, \"a phrase\", pre*",
				SRV_TEXT_SEARCH_MAX);
		return false;
	}
	free(m);
	if (!strcmp(idx_engine_name(r->ix), "postgresql")) {
		*rc = srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", "text",
				"transcript search needs the SQLite index; not on PostgreSQL yet");
		return false;
	}
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
		idx_transcript_hits(r->ix, ids[i], f->text, party, put_hit, &o);
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
