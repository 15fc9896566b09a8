/*
 * handlers_holds.c - legal holds (#15; record/hold.c does the work):
 *   GET  /api/holds                       every hold, newest first
 *   POST /api/holds {name, reason, calls | query}   place one: 201
 *   GET  /api/holds/{name}                one hold with its calls
 *   POST /api/holds/{name}/release {reason}          release it: 200
 * All need API_ACT_HOLD (admins and auditors: the compliance officer's
 * role); a denial is audited.  Placing and releasing write to the ledger,
 * so they need its writer lock: while `earshot record` holds it the answer
 * is 503 ledger_busy and nothing changes.  Audited as hold.list, hold.view,
 * hold.add and hold.release.
 */
#include "api/server_internal.h"
#include "policy/policy.h"
#include "record/record.h"
#include "store/ledger.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading --------------------------------------------------------------------------- */

void api_hold_json(struct es_json *j, const struct idx_hold *h)
{
	char t[ES_TIME_STRLEN];
	es_json_key(j, "name"); es_json_str(j, h->name);
	es_json_key(j, "active"); es_json_bool(j, !h->released_us);
	es_json_key(j, "reason"); es_json_str(j, h->reason);
	es_json_key(j, "query"); es_json_str(j, h->query); /* null when none */
	es_json_key(j, "calls"); es_json_int(j, h->ncalls);
	es_time_fmt(h->created_us, t, sizeof(t));
	es_json_key(j, "created"); es_json_str(j, t);
	es_json_key(j, "created_by"); es_json_str(j, h->created_by);
	es_json_key(j, "released");
	if (h->released_us) {
		es_time_fmt(h->released_us, t, sizeof(t));
		es_json_str(j, t);
	} else {
		es_json_null(j);
	}
	es_json_key(j, "released_by"); es_json_str(j, h->released_by);
	es_json_key(j, "release_reason"); es_json_str(j, h->release_reason);
}

struct hout {
	struct es_json *j;
	int64_t id;
	bool wrap;
};

static int one_hold(void *ud, const struct idx_hold *h)
{
	struct hout *o = ud;
	if (!o->wrap)
		es_json_obj_begin(o->j);
	api_hold_json(o->j, h);
	if (!o->wrap)
		es_json_obj_end(o->j);
	o->id = h->id;
	return 0;
}

static int one_call(void *ud, int64_t row, const char *path)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, row);
	es_json_key(j, "recording"); es_json_str(j, path);
	es_json_obj_end(j);
	return 0;
}

static int holds_list(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) || !srv_allow(r, API_ACT_HOLD, false, "hold.list", NULL, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	struct hout h = {.j = &o.j};
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "holds");
	es_json_arr_begin(&o.j);
	int err = idx_holds_list(r->ix, one_hold, &h);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	srv_audit(r, "hold.list", NULL, API_AUDIT_OK, NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int hold_send(struct srv_req *r, const char *name, unsigned status)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	struct hout h = {.j = &o.j, .wrap = true};
	es_json_obj_begin(&o.j);
	int err = idx_hold_get(r->ix, name, one_hold, &h);
	if (!err) {
		es_json_key(&o.j, "call_list");
		es_json_arr_begin(&o.j);
		err = idx_hold_calls(r->ix, h.id, one_call, &o.j);
		es_json_arr_end(&o.j);
	}
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return err == ES_ENOTFOUND
			       ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such hold")
			       : srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
					   "the index failed");
	}
	return srv_json_send(r, status, &o);
}

static bool name_ok(const char *name) { return pol_hold_name_check(name) == NULL; }

static int hold_get(struct srv_req *r, const char *name)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) || !srv_allow(r, API_ACT_HOLD, false, "hold.view", name, &rc))
		return rc;
	if (!name_ok(name))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such hold");
	srv_audit(r, "hold.view", name, API_AUDIT_OK, NULL);
	return hold_send(r, name, MHD_HTTP_OK);
}

/* ---- changing ------------------------------------------------------------------------ */

static int ledger_open(struct srv_req *r, struct st_ledger **l, const char *action,
		       const char *name, int *rc)
{
	char dir[4200], err[256] = "";
	snprintf(dir, sizeof(dir), "%s/ledger", r->srv->data_dir);
	int e = st_ledger_open(l, dir, ST_LEDGER_CREATE, err, sizeof(err));
	if (!e)
		return 0;
	srv_audit(r, action, name, API_AUDIT_FAILED, "ledger busy or unreadable");
	*rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger_busy", NULL,
			"the ledger cannot be written now (a running recorder holds it): %s",
			*err ? err : es_strerror(e));
	return e;
}

/* The answer to a failed place or release. */
static int change_failed(struct srv_req *r, int e, const char *action, const char *name,
			 const char *err)
{
	srv_audit(r, action, name, API_AUDIT_FAILED, err);
	if (e == ES_EINVAL)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", NULL, "%s", err);
	if (e == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", err);
	if (e == ES_EEXIST)
		return srv_error(r, MHD_HTTP_CONFLICT, "exists", "name", "%s", err);
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", err);
}

/* "12,15" (SRV_JLIST) into rows; false on anything but positive ids. */
static bool parse_rows(const char *s, int64_t **rows, size_t *n)
{
	*n = 0;
	*rows = calloc(strlen(s) / 2 + 2, sizeof(**rows));
	if (!*rows)
		return false;
	struct slice rest = sl_cstr(s), it;
	bool more;
	do {
		more = sl_split(rest, ',', &it, &rest);
		uint64_t v;
		if (!it.len || it.len > 18 || sl_to_u64(it, &v) || !v)
			return false;
		(*rows)[(*n)++] = (int64_t)v;
	} while (more);
	return true;
}

static int hold_create(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) || !srv_allow(r, API_ACT_HOLD, false, "hold.add", NULL, &rc))
		return rc;
	struct srv_jfield f[] = {
		{.key = "name", .type = SRV_JSTR, .required = true},
		{.key = "reason", .type = SRV_JSTR, .required = true},
		{.key = "calls", .type = SRV_JLIST},
		{.key = "query", .type = SRV_JSTR},
	};
	const char *bad = NULL;
	int e = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (e) {
		srv_audit(r, "hold.add", NULL, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"name\", \"reason\", \"calls\": [ID...] | \"query\"}");
	}
	int64_t *rows = NULL;
	size_t nrows = 0;
	struct st_ledger *l = NULL;
	const char *name = f[0].s;
	char err[600] = "";
	if (f[2].present && !parse_rows(f[2].s, &rows, &nrows)) {
		rc = change_failed(r, ES_EINVAL, "hold.add", name, "calls: positive call ids");
		goto out;
	}
	/* bad input is answered before the ledger's lock is taken */
	const char *why = pol_hold_name_check(name);
	if (!why)
		why = pol_hold_reason_check(f[1].s);
	if (why) {
		rc = change_failed(r, ES_EINVAL, "hold.add", NULL, why);
		goto out;
	}
	if (ledger_open(r, &l, "hold.add", name, &rc))
		goto out;
	struct rec_hold_req q = {.name = name, .reason = f[1].s, .rows = rows, .nrows = nrows,
				 .query = f[3].present ? f[3].s : NULL, .by = r->user.name,
				 .now_us = srv_now_us(), .data_dir = r->srv->data_dir};
	size_t nc = 0, nr = 0;
	e = rec_hold_place(r->ix, l, &q, &nc, &nr, err, sizeof(err));
	if (e) {
		rc = change_failed(r, e, "hold.add", name, err);
		goto out;
	}
	snprintf(err, sizeof(err), "%zu calls, %zu recordings: %.500s", nc, nr, f[1].s);
	srv_audit(r, "hold.add", name, API_AUDIT_OK, err);
	rc = hold_send(r, name, MHD_HTTP_CREATED);
out:
	st_ledger_close(l);
	free(rows);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	return rc;
}

static int hold_release(struct srv_req *r, const char *name)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) ||
	    !srv_allow(r, API_ACT_HOLD, false, "hold.release", name, &rc))
		return rc;
	if (!name_ok(name))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such hold");
	char *reason = NULL, err[600] = "";
	int e = srv_body_one(&r->body, "reason", &reason);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	const char *why = e ? "expected {\"reason\": TEXT}" : pol_hold_reason_check(reason);
	struct st_ledger *l = NULL;
	if (why) {
		rc = change_failed(r, ES_EINVAL, "hold.release", name, why);
		goto out;
	}
	if (ledger_open(r, &l, "hold.release", name, &rc))
		goto out;
	size_t nr = 0;
	e = rec_hold_release(r->ix, l, r->srv->data_dir, name, r->user.name, reason, srv_now_us(),
			     &nr, err, sizeof(err));
	if (e) {
		rc = change_failed(r, e, "hold.release", name, err);
		goto out;
	}
	srv_audit(r, "hold.release", name, API_AUDIT_OK, reason);
	rc = hold_send(r, name, MHD_HTTP_OK);
out:
	st_ledger_close(l);
	free(reason);
	return rc;
}

int srv_holds_route(struct srv_req *r, const char *rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST");
	if (!rest)
		return get ? holds_list(r) : post ? hold_create(r)
					  : srv_method_not_allowed(r, "GET, HEAD, POST");
	char name[POL_HOLD_NAME_MAX + 1];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!n || n > POL_HOLD_NAME_MAX)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such hold");
	memcpy(name, rest, n);
	name[n] = '\0';
	if (!slash)
		return get ? hold_get(r, name) : srv_method_not_allowed(r, "GET, HEAD");
	if (strcmp(slash, "/release"))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	return post ? hold_release(r, name) : srv_method_not_allowed(r, "POST");
}
