/*
 * handlers_calls.c - GET /api/calls (search, paged by cursor), GET
 * /api/calls/{id} (detail) and GET /api/calls/{id}/verify (one recording
 * against the ledger, as `earshot verify ID` checks it).  Every call passes
 * api_allow: calls a user may not search are left out of the results (and
 * paging stays correct); a call a user may not view or verify is a 403,
 * audited.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SRV_LIMIT_DEFAULT 50
#define SRV_LIMIT_MAX 500
#define SRV_SCAN_BATCH 500
/* Rows examined per search at most: a user who may see few calls gets a
 * short page and a cursor to go on, not a scan of the whole index. */
#define SRV_SCAN_MAX 20000
#define SRV_CSV_MAX 10000 /* calls in one CSV of a search (GET /api/calls.csv) */
#define SRV_TEXT_MAX 256

/* ---- parameters -------------------------------------------------------------------- */

/* 1..max bytes, no control characters. */
static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool num_ok(const char *s, size_t maxdigits, uint64_t lo, uint64_t hi, uint64_t *out)
{
	return strlen(s) <= maxdigits && !sl_to_u64(sl_cstr(s), out) && *out >= lo && *out <= hi;
}

/* 1..max letters, digits and the characters of extra. */
static bool word_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

static bool outcome_ok(const char *s)
{
	static const char *const outcomes[] = {"answered",  "busy",       "no_answer",
					       "cancelled", "rejected",   "redirected",
					       "failed",    "in_progress", NULL};
	for (const char *const *k = outcomes; *k; k++)
		if (!strcmp(*k, s))
			return true;
	return false;
}

/* ---- search -------------------------------------------------------------------------- */

struct search {
	struct srv_req *r;
	struct es_json *j;
	unsigned limit;
	unsigned n;          /* calls written */
	unsigned scanned;    /* rows seen in this batch */
	uint64_t scanned_all;
	int64_t last_scanned;
	int64_t last_written;
	bool more;           /* an allowed call exists after the page */
	int64_t ids[SRV_HITS_CALLS]; /* the calls written, for their transcript hits */
	FILE *csv;           /* /api/calls.csv: rows go here, not to j */
	char csv_ids[700];       /* the CSV's call ids, for its audit entry */
	size_t idlen;
};

static int search_row(void *ud, const struct idx_call *c)
{
	struct search *s = ud;
	s->scanned++;
	s->scanned_all++;
	s->last_scanned = c->id;
	if (!srv_may(s->r, API_ACT_SEARCH, srv_call_own(s->r, c)))
		return 0;
	if (s->n == s->limit) {
		s->more = true;
		return 1;
	}
	if (s->csv) {
		api_call_csv_row(s->csv, c);
		if (s->idlen + 24 < sizeof(s->csv_ids))
			s->idlen += (size_t)snprintf(s->csv_ids + s->idlen, sizeof(s->csv_ids) - s->idlen,
						     "%s%lld", s->idlen ? "," : "", (long long)c->id);
		else if (s->idlen + 4 < sizeof(s->csv_ids))
			s->idlen += (size_t)snprintf(s->csv_ids + s->idlen, sizeof(s->csv_ids) - s->idlen, ",...");
	} else {
		api_call_json(s->j, c, false);
		if (s->n < SRV_HITS_CALLS)
			s->ids[s->n] = c->id;
	}
	s->n++;
	s->last_written = c->id;
	return 0;
}

/* GET /api/calls' parameters; a saved search (handlers_searches.c) holds
 * these but for the paging ones. */
const char *const srv_calls_params[] = {"party", "from", "to", "outcome", "min_duration",
					"max_duration", "call_id", "codec", "flag", "source",
					"tag", "consent", "sort", "limit", "cursor", "max_mos",
					"min_loss", "min_overtalk", "max_talk_ratio",
					"min_dead_air", "total", "text", "text_party", "keyword",
					"min_sentiment", "max_sentiment", NULL};

/* total=1: how many calls match, for the list's heading.  One count query
 * when the role may search every call; a role that sees only its own calls
 * gets the number only when this page holds them all (a count over the
 * whole index would tell it about calls it may not see), else null. */
static int put_total(struct srv_req *r, struct es_json *j, const struct idx_filter *f,
		     unsigned written, bool more, bool first_page)
{
	es_json_key(j, "total");
	if (srv_may(r, API_ACT_SEARCH, false)) {
		int64_t n = 0;
		int err = idx_calls_count(r->ix, f, &n);
		if (err)
			return err;
		es_json_int(j, n);
	} else if (first_page && !more) {
		es_json_int(j, written);
	} else {
		es_json_null(j);
	}
	return 0;
}

static int calls_csv_send(struct srv_req *r, struct search *s, char *buf, size_t len,
			  const char *filters);

/* The rest of the request's search time ([index] search_timeout: the
 * pages of one answer and its total share it) as f's limit for the next
 * index call; ES_ETIMEOUT once it is spent. */
static int search_time_left(int64_t deadline_us, struct idx_filter *f)
{
	if (!deadline_us)
		return 0;
	int64_t left = (deadline_us - es_mono_us()) / 1000;
	if (left < 1)
		return ES_ETIMEOUT;
	f->timeout_ms = left;
	return 0;
}

/* 503 search_timeout: the search was stopped at its limit (a search
 * holds a database backend and a web worker while it runs). */
static int search_timeout_error(struct srv_req *r)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "search_timeout", NULL,
			 "the search took longer than its limit of %lld ms ([index] "
			 "search_timeout); narrow it: a shorter time range, more of the name "
			 "or number",
			 (long long)r->srv->cfg.search_timeout_ms);
}

/* The search, as a page of JSON or (csv) a CSV of up to SRV_CSV_MAX calls. */
static int calls_search(struct srv_req *r, bool csv)
{
	const char *const *params = srv_calls_params;
	int rc;
	if (!srv_begin(r, params, &rc))
		return rc;
	/* a CSV takes the calls away from the server: an export */
	/* (its rows are the calls the role may search: own=true lets a role
	 * that exports only some calls, a scoped supervisor, have theirs) */
	if (csv && !srv_allow(r, API_ACT_EXPORT, true, "call.export", NULL, &rc))
		return rc;
	struct idx_filter f = {0};
	char party[SRV_TEXT_MAX + 1]; /* the party normalised (api_party_query) */
	unsigned limit = csv ? SRV_CSV_MAX : SRV_LIMIT_DEFAULT;
	const char *v;
	uint64_t n;
	if ((v = srv_arg(r, "party"))) {
		if (!text_ok(v, SRV_TEXT_MAX))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "party",
					 "1..%d characters, no control characters", SRV_TEXT_MAX);
		f.party = api_party_query(v, party, sizeof(party));
	}
	if ((v = srv_arg(r, "from")) && (strlen(v) > 40 || es_time_parse(v, &f.from_us)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "from",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	if ((v = srv_arg(r, "to")) && (strlen(v) > 40 || es_time_parse(v, &f.to_us)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "to",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	if ((v = srv_arg(r, "outcome"))) {
		if (!outcome_ok(v))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "outcome",
					 "answered, busy, no_answer, cancelled, rejected, "
					 "redirected, failed or in_progress");
		f.outcome = v;
	}
	if ((v = srv_arg(r, "min_duration"))) {
		if (!num_ok(v, 9, 0, 100000000, &n))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "min_duration",
					 "seconds, a whole number");
		f.min_duration_us = (int64_t)n * ES_US_PER_SEC;
	}
	if ((v = srv_arg(r, "max_duration"))) {
		if (!num_ok(v, 9, 0, 100000000, &n))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "max_duration",
					 "seconds, a whole number");
		/* 0 s: only calls of no duration (1 µs stands for it: 0 means any) */
		f.max_duration_us = n ? (int64_t)n * ES_US_PER_SEC : 1;
	}
	if ((v = srv_arg(r, "codec"))) {
		if (!word_ok(v, 32, "-._/"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "codec",
					 "a codec name: 1..32 letters, digits, '-', '.', '_', '/'");
		f.codec = v;
	}
	if ((v = srv_arg(r, "flag"))) {
		if (!word_ok(v, 32, "_"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "flag",
					 "a flag: 1..32 letters, digits or '_' (one_way, "
					 "recording_cut, not_recorded, ...)");
		f.flag = v;
	}
	if ((v = srv_arg(r, "source"))) {
		if (!word_ok(v, 16, "_"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "source",
					 "import, live or siprec");
		f.source = v;
	}
	if ((v = srv_arg(r, "sort"))) {
		if (!strcmp(v, "mos") || !strcmp(v, "loss") || !strcmp(v, "jitter"))
			f.sort = v[0] == 'm' ? IDX_SORT_MOS : v[0] == 'l' ? IDX_SORT_LOSS
									  : IDX_SORT_JITTER;
		else if (strcmp(v, "start") && strcmp(v, "-start"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "sort",
					 "start (oldest first, the default), -start (newest "
					 "first), or worst first: mos, loss, jitter");
		f.newest_first = v[0] == '-';
	}
	if ((v = srv_arg(r, "max_mos")) &&
	    (sl_to_decimal(sl_cstr(v), &f.max_mos) || f.max_mos < 1 || f.max_mos > 5))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "max_mos",
				 "a MOS from 1 to 5, e.g. 3.5");
	if ((v = srv_arg(r, "min_loss")) &&
	    (sl_to_decimal(sl_cstr(v), &f.min_loss) || f.min_loss > 100))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "min_loss",
				 "a packet loss in percent from 0 to 100, e.g. 2");
	/* talk metrics (docs/ANALYTICS.md): seconds and a ratio */
	double d;
	if ((v = srv_arg(r, "min_overtalk"))) {
		if (sl_to_decimal(sl_cstr(v), &d) || d > 86400)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "min_overtalk",
					 "seconds of overtalk from 0 to 86400, e.g. 2.5");
		f.min_overtalk_ms = (int64_t)(d * 1000 + 0.5);
	}
	if ((v = srv_arg(r, "min_dead_air"))) {
		if (sl_to_decimal(sl_cstr(v), &d) || d > 86400)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "min_dead_air",
					 "seconds of dead air from 0 to 86400, e.g. 10");
		f.min_dead_air_ms = (int64_t)(d * 1000 + 0.5);
	}
	if ((v = srv_arg(r, "max_talk_ratio"))) {
		if (sl_to_decimal(sl_cstr(v), &f.max_talk_ratio) || f.max_talk_ratio > 1)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "max_talk_ratio",
					 "the caller's share of talk time from 0 to 1, e.g. 0.3");
		f.talk_ratio_set = true;
	}
	/* transcripts (handlers_transcripts.c): the words, and hits below */
	if (!srv_text_filter(r, &f, &rc))
		return rc;
	if ((v = srv_arg(r, "call_id"))) {
		if (!text_ok(v, SRV_TEXT_MAX))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "call_id",
					 "1..%d characters, no control characters", SRV_TEXT_MAX);
		f.call_id = v;
	}
	if ((v = srv_arg(r, "tag"))) {
		if (!srv_tag_ok(v, strlen(v)))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "tag",
					 "1..%d letters, digits, '-', '_', '.' or inner spaces",
					 IDX_TAG_MAX);
		f.tag = v;
	}
	if ((v = srv_arg(r, "consent"))) {
		static const char *const states[] = {"given", "refused", "missing", "announced",
						     "not_required", NULL};
		bool ok = false;
		for (const char *const *k = states; *k; k++)
			ok |= !strcmp(*k, v);
		if (!ok)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "consent",
					 "given, refused, missing, announced or not_required");
		f.consent = v;
	}
	if ((v = srv_arg(r, "limit"))) {
		if (!num_ok(v, 5, 1, csv ? SRV_CSV_MAX : SRV_LIMIT_MAX, &n))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "limit", "1..%d",
					 csv ? SRV_CSV_MAX : SRV_LIMIT_MAX);
		limit = (unsigned)n;
	}
	bool total = false;
	if ((v = srv_arg(r, "total"))) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "total",
					 "1 (count the matching calls) or 0");
		total = v[0] == '1';
	}
	if ((v = srv_arg(r, "cursor"))) {
		if (!num_ok(v, 18, 1, INT64_MAX, &n))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "cursor",
					 "the next_cursor of a previous page");
		f.after_id = (int64_t)n;
		if (f.sort != IDX_SORT_START)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "cursor",
					 "pages follow the start order; sort=mos|loss|jitter "
					 "gives the worst calls in one page");
	}

	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "calls");
	es_json_arr_begin(&o.j);
	struct search s = {.r = r, .j = &o.j, .limit = limit};
	char *cbuf = NULL;
	size_t clen = 0;
	if (csv && !(s.csv = open_memstream(&cbuf, &clen))) {
		srv_json_discard(&o);
		return MHD_NO;
	}
	if (csv)
		api_call_csv_header(s.csv);
	int err = 0;
	bool end = false;
	/* A quality sort is one scan (paging by id would break its order):
	 * the worst calls in one page, no cursor. */
	f.limit = f.sort != IDX_SORT_START ? SRV_SCAN_MAX : SRV_SCAN_BATCH;
	int64_t deadline = r->srv->cfg.search_timeout_ms > 0
				   ? es_mono_us() + r->srv->cfg.search_timeout_ms * 1000
				   : 0;
	while (!s.more && !end && s.scanned_all < SRV_SCAN_MAX) {
		s.scanned = 0;
		if ((err = search_time_left(deadline, &f)))
			break;
		err = idx_calls_list(r->ix, &f, search_row, &s);
		if (err < 0)
			break;
		err = 0;
		end = s.scanned < SRV_SCAN_BATCH || f.sort != IDX_SORT_START;
		f.after_id = s.last_scanned;
	}
	es_json_arr_end(&o.j);
	if (s.csv && fclose(s.csv))
		err = ES_ENOMEM;
	if (err) {
		es_json_obj_end(&o.j);
		srv_json_discard(&o);
		free(cbuf);
		if (err == ES_ENOKEK) /* a text search, and no KEK for its search key */
			return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_kek", NULL, "%s",
					 idx_errmsg(r->ix));
		if (err == ES_ETIMEOUT)
			return search_timeout_error(r);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	/* More may follow: the page is full and another call exists, or the
	 * scan stopped at its budget (the cursor then is the last row seen). */
	char cur[24] = "";
	if (f.sort != IDX_SORT_START)
		cur[0] = '\0';
	else if (s.more)
		snprintf(cur, sizeof(cur), "%lld", (long long)s.last_written);
	else if (!end && s.scanned_all)
		snprintf(cur, sizeof(cur), "%lld", (long long)s.last_scanned);
	es_json_key(&o.j, "next_cursor");
	es_json_str(&o.j, *cur ? cur : NULL);
	if (total && !(err = search_time_left(deadline, &f)))
		err = put_total(r, &o.j, &f, s.n, s.more || *cur, !srv_arg(r, "cursor"));
	if (f.text)
		srv_text_hits(r, &o.j, &f, s.ids, s.n < SRV_HITS_CALLS ? s.n : SRV_HITS_CALLS);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		free(cbuf);
		if (err == ES_ETIMEOUT)
			return search_timeout_error(r);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}

	/* the audit says what was looked for: every filter given, the words
	 * searched for sealed (api_audit_put_param; issue #19) */
	struct es_buf detail;
	es_buf_init(&detail);
	err = es_buf_printf(&detail, "%u results", s.n);
	for (const char *const *k = params; *k && !err; k++) {
		if (!strcmp(*k, "limit") || !strcmp(*k, "cursor") || !strcmp(*k, "total") ||
		    !(v = srv_arg(r, *k)))
			continue;
		err = api_audit_put_param(r->ix, &detail, *k, v);
	}
	if (err) {
		es_buf_free(&detail);
		srv_json_discard(&o);
		free(cbuf);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	}
	int ret;
	if (csv) {
		srv_json_discard(&o);
		ret = calls_csv_send(r, &s, cbuf, clen, (const char *)detail.p);
	} else {
		srv_audit(r, "call.search", NULL, API_AUDIT_OK, (const char *)detail.p);
		ret = srv_json_send(r, MHD_HTTP_OK, &o);
	}
	es_buf_free(&detail);
	return ret;
}

/* The CSV, audited as an export with its format, filters and call ids. */
static int calls_csv_send(struct srv_req *r, struct search *s, char *buf, size_t len,
			  const char *filters)
{
	/* the filters whole: a sealed value cut short would never open */
	char detail[2400];
	snprintf(detail, sizeof(detail), "format csv: %.1600s; ids %.700s", filters,
		 s->idlen ? s->csv_ids : "none");
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	srv_audit(r, "call.export", NULL, API_AUDIT_OK, detail);
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
				"attachment; filename=\"calls.csv\"");
	return srv_queue(r, MHD_HTTP_OK, resp);
}

int srv_calls(struct srv_req *r) { return calls_search(r, false); }

int srv_calls_csv(struct srv_req *r) { return calls_search(r, true); }

/* ---- one call ------------------------------------------------------------------------- */

struct view {
	struct srv_req *r;
	struct es_json *j;
	bool allowed, own;
	int64_t id;
	int tags_err;
};

static void view_tags(void *ud, struct es_json *j)
{
	struct view *v = ud;
	es_json_key(j, "tags");
	v->tags_err = srv_tags_json(v->r, v->id, j);
	/* spans still waiting for the ledger's writer (record/redact_queue.c) */
	es_json_key(j, "redactions_pending");
	rec_redact_queue_json(v->r->srv->data_dir, v->id, j);
}

static int view_row(void *ud, const struct idx_call *c)
{
	struct view *v = ud;
	v->own = srv_call_own(v->r, c);
	v->allowed = srv_may(v->r, API_ACT_VIEW, v->own);
	if (v->allowed)
		api_call_json_ex(v->j, c, true, view_tags, v);
	return 0;
}

int srv_call(struct srv_req *r, int64_t id)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	char obj[24];
	snprintf(obj, sizeof(obj), "%lld", (long long)id);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	struct view v = {.r = r, .j = &o.j, .id = id};
	int err = idx_call_get(r->ix, id, view_row, &v);
	if (err && err != ES_ENOTFOUND) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	if (err || !v.allowed) {
		srv_json_discard(&o);
		/* the same answer for "absent" and "not yours" (srv_allow_call) */
		srv_allow_call(r, API_ACT_VIEW, !err, v.own, "call.view", obj, &rc);
		return rc;
	}
	if (v.tags_err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	srv_audit(r, "call.view", obj, API_AUDIT_OK, NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- verify one call ---------------------------------------------------------------------- */

struct vrec {
	struct srv_req *r;
	bool found, own, has_rec;
	char path[ST_LEDGER_ID_MAX + 1];
	char sha256[65];
	bool encrypted;
	char node[IDX_NODE_MAX]; /* the recorder's, "" none */
};

static int vrec_row(void *ud, const struct idx_call *c)
{
	struct vrec *v = ud;
	v->found = true;
	v->own = srv_call_own(v->r, c);
	snprintf(v->node, sizeof(v->node), "%s", c->node ? c->node : "");
	const struct idx_recording *rec = c->recording;
	if (!rec || !rec->path || strlen(rec->path) > ST_LEDGER_ID_MAX)
		return 0;
	v->has_rec = true;
	snprintf(v->path, sizeof(v->path), "%s", rec->path);
	snprintf(v->sha256, sizeof(v->sha256), "%s", rec->sha256 ? rec->sha256 : "");
	v->encrypted = rec->encrypted;
	return 0;
}

struct vout {
	struct es_json *j;
	unsigned findings;
};

static void vfind(struct vout *o, const char *kind, bool is_finding, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void vfind(struct vout *o, const char *kind, bool is_finding, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (is_finding)
		o->findings++;
	es_json_obj_begin(o->j);
	es_json_key(o->j, "kind"); es_json_str(o->j, kind);
	es_json_key(o->j, "finding"); es_json_bool(o->j, is_finding);
	es_json_key(o->j, "message"); es_json_str(o->j, msg);
	es_json_obj_end(o->j);
}

static void hex32(const uint8_t h[32], char out[65])
{
	sodium_bin2hex(out, 65, h, 32);
}

/* Decrypt the whole file and hash the plaintext. */
static int plain_hash(const char *file, const struct st_dek *dek, uint8_t out[32], char *err,
		      size_t errlen)
{
	struct st_enc_reader *rd;
	int rc = st_enc_reader_open(&rd, file, dek, err, errlen);
	if (rc)
		return rc;
	enum { BUF = 256 * 1024 };
	uint8_t *buf = malloc(BUF);
	if (!buf) {
		st_enc_reader_close(rd);
		return ES_ENOMEM;
	}
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	uint64_t size = st_enc_reader_size(rd), off = 0;
	while (off < size) {
		size_t got = 0;
		rc = st_enc_reader_pread(rd, buf, BUF, off, &got);
		if (rc || !got) {
			snprintf(err, errlen, "%s", rc ? st_enc_reader_error(rd) : "file ends early");
			rc = rc ? rc : ES_ETRUNC;
			break;
		}
		crypto_hash_sha256_update(&st, buf, got);
		off += got;
	}
	crypto_hash_sha256_final(&st, out);
	free(buf);
	st_enc_reader_close(rd);
	return rc;
}

static void verify_checks(struct srv_req *r, const struct vrec *v, int64_t id, bool quick,
			  struct vout *o)
{
	char file[4400], err[512] = "";
	snprintf(file, sizeof(file), "%s/%s", r->srv->data_dir, v->path);
	/* another node's recording (issue #16): its bytes from its bucket, not
	 * checked on the way (this check judges them), removed after; its
	 * ledger is that node's */
	bool elsewhere = srv_rec_elsewhere(r, v->node, v->path), fetched = false;
	if (elsewhere) {
		char got[4400], ferr[512] = "";
		fetched = !srv_rec_fetch(r, v->node, v->path, NULL, got, sizeof(got), ferr,
					 sizeof(ferr));
		if (fetched)
			snprintf(file, sizeof(file), "%s", got);
		else
			vfind(o, "elsewhere", false, "%.400s", ferr);
	}
	/* the server's cached view: only what was appended since the last
	 * request is read; st_ledger_entry still reads the leaf's line back
	 * and checks it against the hash read before */
	const struct st_ledger *l = NULL;
	struct st_ledger_entry e;
	bool leaf = false, tomb = false;
	int rc = st_ledger_cache_get(r->srv->ledger, &l, err, sizeof(err));
	if (rc && elsewhere) { /* a web node of several has no ledger of its own */
		vfind(o, "ledger_elsewhere", false,
		      "its ledger is node %s's: `earshot verify --nodes` checks it there", v->node);
	} else if (rc) {
		vfind(o, "ledger", true, "ledger cannot be opened: %s", *err ? err : es_strerror(rc));
	} else {
		uint64_t seq;
		rc = st_ledger_find(l, v->path, &seq, &tomb);
		if (rc == ES_ENOTFOUND && elsewhere)
			vfind(o, "ledger_elsewhere", false,
			      "its ledger is node %s's: `earshot verify --nodes` checks it there",
			      v->node);
		else if (rc == ES_ENOTFOUND)
			vfind(o, "not_in_ledger", true, "no ledger entry names this recording");
		else if (!rc && !st_ledger_entry(l, seq, &e))
			leaf = true;
		else
			vfind(o, "ledger", true, "ledger entry cannot be read");
		st_ledger_cache_put(r->srv->ledger);
	}
	bool has_key = r->srv->vault && st_vault_has_key(r->srv->vault, v->path);
	if (leaf && tomb) {
		if (!strcmp(e.reason, "shredded") && !has_key) {
			vfind(o, "shredded", false, "shredded: its data key is destroyed (expected)");
			if (fetched)
				unlink(file);
			return;
		}
		vfind(o, "tombstoned", true, "the ledger says deleted (reason %s) but the row is there",
		      e.reason);
		leaf = false; /* the tombstone carries no hashes */
	}
	uint8_t fh[32];
	char fhex[65] = "", lhex[65];
	rc = st_sha256_file(file, fh, NULL);
	bool file_ok = false;
	if (rc == ES_ENOTFOUND) {
		vfind(o, "missing", true, "the recording's file does not exist");
	} else if (rc) {
		vfind(o, "unreadable", true, "the recording's file cannot be read");
	} else {
		hex32(fh, fhex);
		bool row_ok = !strcmp(fhex, v->sha256);
		bool leaf_ok = !leaf || !e.has_cipher || !memcmp(fh, e.cipher_sha256, 32);
		if (!leaf_ok) {
			hex32(e.cipher_sha256, lhex);
			vfind(o, "altered", true, "altered file: SHA-256 %s, the ledger says %s", fhex,
			      lhex);
		} else if (!row_ok) {
			vfind(o, leaf && e.has_cipher ? "metadata_altered" : "altered", true,
			      "the index says sha256 %s, the file has %s", v->sha256, fhex);
		}
		file_ok = leaf_ok && row_ok;
	}
	if (v->encrypted && !r->srv->vault) {
		vfind(o, "no_kek", true, "this node has no key-encryption key ($%s or "
		      "DATA/keys/kek.keys): the recording cannot be decrypted here", ST_KEK_ENV);
	} else if (v->encrypted && !has_key) {
		vfind(o, "key_missing", true, "data key missing: the recording cannot be decrypted");
	} else if (v->encrypted && file_ok) {
		struct st_dek *dek = NULL;
		rc = st_vault_key(r->srv->vault, v->path, &dek, err, sizeof(err));
		if (rc) {
			vfind(o, "key_unusable", true, "data key does not unwrap: %s",
			      *err ? err : es_strerror(rc));
		} else if (!quick) {
			uint8_t ph[32];
			rc = plain_hash(file, dek, ph, err, sizeof(err));
			if (rc)
				vfind(o, "decrypt_failed", true, "cannot be decrypted: %s",
				      *err ? err : es_strerror(rc));
			else if (leaf && e.has_plain && memcmp(ph, e.plain_sha256, 32))
				vfind(o, "plaintext_altered", true,
				      "decrypted plaintext differs from the ledger");
		}
		st_dek_free(dek);
	}
	struct es_buf meta;
	es_buf_init(&meta);
	rc = rec_canon_meta(r->ix, id, &meta);
	if (rc) {
		vfind(o, "metadata_unreadable", true, "metadata cannot be read: %s", es_strerror(rc));
	} else if (leaf && e.has_meta) {
		uint8_t h[32];
		crypto_hash_sha256(h, meta.p, meta.len);
		if (memcmp(h, e.meta_sha256, 32))
			vfind(o, "metadata_altered", true,
			      "metadata row altered: its canonical form no longer hashes to the "
			      "ledger's meta");
	}
	es_buf_free(&meta);
	if (fetched)
		unlink(file); /* an unchecked copy is the verifier's alone */
}

/* The call's transcripts against their tr leaves (record/tr_ledger.c), as
 * `earshot verify` checks them without decrypting: the index row's hash,
 * the words file's; a queued leaf is "not yet sealed", not a finding. */
struct vtr_rows {
	const char *path;
	size_t n;
	int channel[2];
	int64_t created[2];
	uint8_t row[2][32];
};

static int vtr_take(void *ud, const struct idx_transcript *t)
{
	struct vtr_rows *k = ud;
	if (k->n == 2 || t->channel < 0 || t->channel > 1)
		return 0;
	k->channel[k->n] = t->channel;
	k->created[k->n] = t->created_us;
	rec_tr_row_hash(k->path, t, k->row[k->n]);
	k->n++;
	return 0;
}

static void verify_transcripts(struct srv_req *r, const struct vrec *v, int64_t id,
			       struct vout *o)
{
	static const char *const party[2] = {"caller", "callee"};
	struct vtr_rows k = {.path = v->path};
	if (idx_transcripts_get(r->ix, id, vtr_take, &k)) {
		vfind(o, "unreadable", true, "transcripts cannot be read");
		return;
	}
	const struct st_ledger *l = NULL;
	char err[512] = "";
	if (!k.n || st_ledger_cache_get(r->srv->ledger, &l, err, sizeof(err)))
		return; /* no ledger: said above */
	for (size_t i = 0; i < k.n; i++) {
		const char *who = party[k.channel[i]];
		uint64_t seq;
		bool tomb = true;
		struct st_ledger_entry e;
		bool leaf = !st_ledger_find_transcript(l, v->path, who, &seq, &tomb) && !tomb &&
			    !st_ledger_entry(l, seq, &e);
		if (!leaf || e.made_us < k.created[i]) {
			if (rec_tr_pending_has(r->srv->data_dir, id, k.channel[i], k.created[i]))
				vfind(o, "transcript_pending", false,
				      "transcript of the %s not yet sealed: queued for the ledger's "
				      "writer", who);
			else
				vfind(o, "transcript_not_in_ledger", true,
				      "transcript of the %s: no ledger leaf names it", who);
			continue;
		}
		if (e.made_us > k.created[i] || memcmp(e.meta_sha256, k.row[i], 32))
			vfind(o, "transcript_row_altered", true,
			      "transcript of the %s: index row altered (ledger leaf %llu)", who,
			      (unsigned long long)seq);
		char file[4400];
		uint8_t fh[32];
		if (rec_transcript_path(r->srv->data_dir, v->path, k.channel[i], file, sizeof(file)))
			continue;
		int rc = st_sha256_file(file, fh, NULL);
		if (rc == ES_ENOTFOUND)
			vfind(o, "transcript_missing", true, "transcript of the %s: its words file "
			      "does not exist", who);
		else if (rc || memcmp(fh, e.cipher_sha256, 32))
			vfind(o, "transcript_altered", true, "transcript of the %s: its words file "
			      "is altered (ledger leaf %llu)", who, (unsigned long long)seq);
	}
	st_ledger_cache_put(r->srv->ledger);
}

int srv_call_verify(struct srv_req *r, int64_t id)
{
	static const char *const params[] = {"quick", NULL};
	int rc;
	if (!srv_begin(r, params, &rc))
		return rc;
	bool quick = false;
	const char *q = srv_arg(r, "quick");
	if (q) {
		if (strcmp(q, "0") && strcmp(q, "1"))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "quick", "0 or 1");
		quick = q[0] == '1';
	}
	char obj[24];
	snprintf(obj, sizeof(obj), "%lld", (long long)id);
	struct vrec v = {.r = r};
	int err = idx_call_get(r->ix, id, vrec_row, &v);
	if (err && err != ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	if (!srv_allow_call(r, API_ACT_VERIFY, !err, v.own, "call.verify", obj, &rc))
		return rc;
	if (!v.has_rec) {
		srv_audit(r, "call.verify", obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "call"); es_json_int(&o.j, id);
	es_json_key(&o.j, "recording"); es_json_str(&o.j, v.path);
	es_json_key(&o.j, "quick"); es_json_bool(&o.j, quick);
	es_json_key(&o.j, "findings");
	es_json_arr_begin(&o.j);
	struct vout out = {.j = &o.j};
	verify_checks(r, &v, id, quick, &out);
	verify_transcripts(r, &v, id, &out);
	es_json_arr_end(&o.j);
	es_json_key(&o.j, "ok"); es_json_bool(&o.j, out.findings == 0);
	es_json_obj_end(&o.j);
	char detail[64];
	snprintf(detail, sizeof(detail), "%u findings", out.findings);
	srv_audit(r, "call.verify", obj, API_AUDIT_OK, detail);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}
