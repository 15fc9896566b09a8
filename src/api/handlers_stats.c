/*
 * handlers_stats.c - GET /api/stats?from=&to= (issue #17): the dashboard's
 * figures over the calls that started in [from, to): calls and answered
 * calls per hour (per day over periods longer than 7 days), calls per
 * outcome, per MOS band (ITU-T G.107 Table B.1), the worst calls by MOS and
 * the worst media routes and rules by mean MOS.  Aggregate queries in the
 * index (index/stats.c); nothing is kept between requests.  For the roles
 * that may search every call (admins, supervisors, auditors): a figure over
 * all calls tells an agent about calls that are not theirs, so agents get
 * 403.  Audited as stats.view with the period.
 */
#include "api/server_internal.h"
#include "api/calljson.h"

#include <microhttpd.h>
#include <string.h>

#define STATS_DAY_US (86400 * ES_US_PER_SEC)
#define STATS_PERIOD_MAX_US (92 * STATS_DAY_US) /* a quarter */
#define STATS_HOURLY_MAX_US (7 * STATS_DAY_US)  /* 168 bins at most per hour */
#define STATS_WORST 10

struct out {
	struct es_json *j;
	int64_t calls, answered;
	int64_t bands[6];
};

static int put_bin(void *ud, const struct idx_stats_bin *b)
{
	struct out *o = ud;
	es_json_obj_begin(o->j);
	es_json_key(o->j, "start"); api_json_time(o->j, b->start_us);
	es_json_key(o->j, "calls"); es_json_int(o->j, b->calls);
	es_json_key(o->j, "answered"); es_json_int(o->j, b->answered);
	es_json_obj_end(o->j);
	o->calls += b->calls;
	o->answered += b->answered;
	return 0;
}

static int put_outcome(void *ud, const struct idx_stats_count *c)
{
	struct out *o = ud;
	es_json_key(o->j, c->key);
	es_json_int(o->j, c->n);
	return 0;
}

static const struct {
	const char *name;
	double lo;
} bands[] = {IDX_STATS_BANDS};

static int put_band(void *ud, const struct idx_stats_count *c)
{
	struct out *o = ud;
	for (size_t i = 0; i < ES_ARRAY_LEN(bands); i++)
		if (!strcmp(bands[i].name, c->key))
			o->bands[i] = c->n;
	return 0;
}

static int put_route(void *ud, const struct idx_stats_route *r)
{
	struct out *o = ud;
	es_json_obj_begin(o->j);
	if (r->b) {
		es_json_key(o->j, "caller_addr"); es_json_str(o->j, r->a);
		es_json_key(o->j, "callee_addr"); es_json_str(o->j, r->b);
	} else {
		es_json_key(o->j, "rule"); es_json_str(o->j, r->a);
	}
	es_json_key(o->j, "calls"); es_json_int(o->j, r->calls);
	es_json_key(o->j, "with_quality"); es_json_int(o->j, r->with_quality);
	const char *k[] = {"mos_avg", "mos_min", "loss_avg_pct"};
	double v[] = {r->mos_avg, r->mos_min, r->loss_avg};
	for (int i = 0; i < 3; i++) {
		es_json_key(o->j, k[i]);
		if (r->with_quality)
			es_json_double(o->j, v[i], i == 2 ? 3 : 2);
		else
			es_json_null(o->j);
	}
	es_json_obj_end(o->j);
	return 0;
}

static int put_call(void *ud, const struct idx_call *c)
{
	struct out *o = ud;
	if (c->quality.set) /* the sort puts calls without figures last */
		api_call_json(o->j, c, false);
	return 0;
}

/* One query's part of the answer under key, inside an array or object. */
static int section(struct idx *ix, struct out *o, const char *key, bool arr, int64_t from,
		   int64_t to, int64_t bin, struct idx_stats_fns fns)
{
	es_json_key(o->j, key);
	arr ? es_json_arr_begin(o->j) : es_json_obj_begin(o->j);
	fns.ud = o;
	int err = idx_stats(ix, from, to, bin, STATS_WORST, &fns);
	arr ? es_json_arr_end(o->j) : es_json_obj_end(o->j);
	return err;
}

int srv_stats(struct srv_req *r)
{
	static const char *const params[] = {"from", "to", NULL};
	int rc;
	if (!srv_begin(r, params, &rc) ||
	    !srv_allow(r, API_ACT_SEARCH, false, "stats.view", NULL, &rc))
		return rc;
	int64_t to = srv_now_us(), from = 0;
	const char *v;
	if ((v = srv_arg(r, "to")) && (strlen(v) > 40 || es_time_parse(v, &to)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "to",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	from = to - STATS_DAY_US;
	if ((v = srv_arg(r, "from")) && (strlen(v) > 40 || es_time_parse(v, &from)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "from",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	if (from >= to || to - from > STATS_PERIOD_MAX_US)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "from",
				 "from before to, at most 92 days apart");
	int64_t bin = to - from > STATS_HOURLY_MAX_US ? STATS_DAY_US : 3600 * ES_US_PER_SEC;

	struct srv_json js;
	if (!srv_json_begin(&js))
		return MHD_NO;
	struct out o = {.j = &js.j};
	struct es_json *j = &js.j;
	es_json_obj_begin(j);
	es_json_key(j, "from"); api_json_time(j, from);
	es_json_key(j, "to"); api_json_time(j, to);
	es_json_key(j, "bin_s"); es_json_int(j, bin / ES_US_PER_SEC);
	int err = section(r->ix, &o, "bins", true, from, to, bin,
			  (struct idx_stats_fns){.bin = put_bin});
	if (!err)
		err = section(r->ix, &o, "outcomes", false, from, to, bin,
			      (struct idx_stats_fns){.outcome = put_outcome});
	if (!err)
		err = idx_stats(r->ix, from, to, bin, 0,
				&(struct idx_stats_fns){.ud = &o, .band = put_band});
	es_json_key(j, "calls"); es_json_int(j, o.calls);
	es_json_key(j, "answered"); es_json_int(j, o.answered);
	es_json_key(j, "mos_bands");
	es_json_arr_begin(j);
	int64_t rated = 0;
	for (size_t i = 0; i < ES_ARRAY_LEN(bands); i++) {
		es_json_obj_begin(j);
		es_json_key(j, "band"); es_json_str(j, bands[i].name);
		es_json_key(j, "mos_from"); es_json_double(j, bands[i].lo, 2);
		es_json_key(j, "calls"); es_json_int(j, o.bands[i]);
		es_json_obj_end(j);
		rated += o.bands[i];
	}
	es_json_arr_end(j);
	es_json_key(j, "with_quality"); es_json_int(j, rated);
	if (!err)
		err = section(r->ix, &o, "worst_routes", true, from, to, bin,
			      (struct idx_stats_fns){.route = put_route});
	if (!err)
		err = section(r->ix, &o, "worst_rules", true, from, to, bin,
			      (struct idx_stats_fns){.rule = put_route});
	if (!err) {
		/* the call list's own worst-first order over the period */
		struct idx_filter f = {.from_us = from, .to_us = to, .sort = IDX_SORT_MOS,
				       .max_mos = 5, .limit = STATS_WORST};
		es_json_key(j, "worst_calls");
		es_json_arr_begin(j);
		err = idx_calls_list(r->ix, &f, put_call, &o);
		es_json_arr_end(j);
	}
	es_json_obj_end(j);
	if (err) {
		srv_json_discard(&js);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	char t1[ES_TIME_STRLEN], t2[ES_TIME_STRLEN], detail[80];
	es_time_fmt(from, t1, sizeof(t1));
	es_time_fmt(to, t2, sizeof(t2));
	snprintf(detail, sizeof(detail), "%s..%s", t1, t2);
	srv_audit(r, "stats.view", NULL, API_AUDIT_OK, detail);
	return srv_json_send(r, MHD_HTTP_OK, &js);
}
