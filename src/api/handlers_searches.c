/*
 * handlers_searches.c - saved searches per user (issue #18; index/searches.c):
 *   GET    /api/searches            the user's own, by name
 *   POST   /api/searches {name, query}   save (a name saved again replaces
 *                                    its query): 201 with the list
 *   DELETE /api/searches/{id}       remove one of the user's own: 200 with
 *                                    the list, 404 for anybody else's
 * Every signed-in role has its own searches; nobody sees or removes
 * another user's (the id is checked with the user, so another user's id is
 * a 404 like a missing one).  A query is the call list's URL parameters
 * ("party=alice&max_mos=3.5"): only GET /api/calls' parameter names, and
 * only characters of a URL's query, so a saved search replayed by the page
 * is a plain search the server checks again.  Audited as search.save and
 * search.delete (listing is not: it reads only one's own settings).
 * A query with words someone may have said (text=, keyword=: issue #19)
 * is stored sealed (index.h, IDX_SEAL_SEARCH, bound to its user) and
 * audited with those values sealed; the list opens it again.
 */
#include "api/server_internal.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > IDX_SEARCH_NAME_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* "k=v&k=v": each k one of srv_calls_params but the paging ones, each
 * value URL-encoded (RFC 3986 3.4 query characters, no '#'). */
static bool query_ok(const char *q)
{
	size_t n = strlen(q);
	if (n > IDX_SEARCH_QUERY_MAX)
		return false;
	for (const char *s = q; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("#\"<>\\^`{|}", *s))
			return false;
	struct slice rest = sl_cstr(q), item, key, val;
	while (rest.len) {
		sl_split(rest, '&', &item, &rest);
		if (!sl_split(item, '=', &key, &val) || !key.len)
			return false;
		bool known = false;
		for (const char *const *k = srv_calls_params; *k && !known; k++)
			known = sl_eq(key, sl_cstr(*k)) && strcmp(*k, "cursor") && strcmp(*k, "limit");
		if (!known)
			return false;
	}
	return true;
}

/* Whether a query has a parameter whose value is spoken words. */
static bool has_words(const char *q)
{
	struct slice rest = sl_cstr(q), item, key, val;
	char k[32];
	while (rest.len) {
		sl_split(rest, '&', &item, &rest);
		if (!sl_split(item, '=', &key, &val) || key.len >= sizeof(k))
			continue;
		memcpy(k, key.p, key.len);
		k[key.len] = '\0';
		if (api_audit_sealed_param(k))
			return true;
	}
	return false;
}

/* The audit's detail for a saved query: "k=v; k=v", spoken words sealed. */
static int audit_query(struct srv_req *r, const char *q, struct es_buf *d)
{
	struct slice rest = sl_cstr(q), item, key, val;
	char k[32], v[IDX_SEARCH_QUERY_MAX + 1];
	int err = es_buf_append(d, "", 1);
	d->len = 0;
	while (!err && rest.len) {
		sl_split(rest, '&', &item, &rest);
		if (!sl_split(item, '=', &key, &val) || key.len >= sizeof(k) || val.len >= sizeof(v))
			continue;
		memcpy(k, key.p, key.len);
		k[key.len] = '\0';
		memcpy(v, val.p, val.len);
		v[val.len] = '\0';
		err = api_audit_put_param(r->ix, d, k, v);
	}
	/* put_param writes "; k=v": the first separator goes */
	if (!err && d->len >= 2)
		es_buf_consume(d, 2);
	return err;
}

struct list_out {
	struct es_json *j;
	struct idx *ix;
	int64_t user_id;
	struct es_buf open;
};

static int one(void *ud, const struct idx_search *s)
{
	struct list_out *o = ud;
	struct es_json *j = o->j;
	const char *query = s->query;
	if (idx_is_sealed(query)) {
		int e = idx_unseal(o->ix, IDX_SEAL_SEARCH, o->user_id, query, strlen(query),
				   &o->open);
		if (e == ES_ENOMEM)
			return e;
		if (e)
			ES_LOG_WARNING("api", "saved search %lld cannot be opened: %s",
				       (long long)s->id, es_strerror(e));
		query = e ? "" : (const char *)o->open.p;
	}
	char t[ES_TIME_STRLEN];
	es_time_fmt(s->created_us, t, sizeof(t));
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, s->id);
	es_json_key(j, "name"); es_json_str(j, s->name);
	es_json_key(j, "query"); es_json_str(j, query);
	es_json_key(j, "saved"); es_json_str(j, t);
	es_json_obj_end(j);
	return 0;
}

/* {"searches": [...]} with status. */
static int send_list(struct srv_req *r, unsigned status)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "searches");
	es_json_arr_begin(&o.j);
	struct list_out lo = {.j = &o.j, .ix = r->ix, .user_id = r->user.id};
	es_buf_init(&lo.open);
	int err = idx_searches_list(r->ix, r->user.id, one, &lo);
	if (lo.open.p)
		sodium_memzero(lo.open.p, lo.open.cap);
	es_buf_free(&lo.open);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	return srv_json_send(r, status, &o);
}

static int search_save(struct srv_req *r)
{
	struct srv_jfield f[] = {
		{.key = "name", .type = SRV_JSTR, .required = true},
		{.key = "query", .type = SRV_JSTR, .required = true},
	};
	const char *bad = NULL;
	int e = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (e)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"name\": TEXT, \"query\": \"party=...&max_mos=...\"}");
	int rc;
	int64_t id = 0;
	struct es_buf sealed, detail;
	es_buf_init(&sealed);
	es_buf_init(&detail);
	if (!name_ok(f[0].s)) {
		rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "name",
			       "1..%d bytes, no control characters", IDX_SEARCH_NAME_MAX);
		goto out;
	}
	if (!query_ok(f[1].s)) {
		rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "query",
			       "at most %d bytes of the call list's URL parameters (party=...&"
			       "outcome=...), URL-encoded, without cursor or limit",
			       IDX_SEARCH_QUERY_MAX);
		goto out;
	}
	/* spoken words in the query: stored sealed, audited sealed */
	bool words = has_words(f[1].s);
	e = words ? idx_seal(r->ix, IDX_SEAL_SEARCH, r->user.id, f[1].s, strlen(f[1].s), 32,
			     &sealed)
		  : 0;
	if (!e)
		e = audit_query(r, f[1].s, &detail);
	if (!e)
		e = idx_search_save(r->ix, r->user.id, f[0].s,
				    words ? (const char *)sealed.p : f[1].s, srv_now_us(), &id);
	es_buf_free(&sealed);
	if (e == ES_EUNSUP) {
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "query",
			       "a search for words needs the transcript search key: %s",
			       idx_errmsg(r->ix));
		goto out;
	}
	if (e == ES_ELIMIT) {
		rc = srv_error(r, MHD_HTTP_CONFLICT, "too_many", "name",
			       "at most %d saved searches per user: delete one first",
			       IDX_SEARCHES_MAX);
		goto out;
	}
	if (e) {
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
			       "the index failed");
		goto out;
	}
	srv_audit(r, "search.save", f[0].s, API_AUDIT_OK, (const char *)detail.p);
	rc = send_list(r, MHD_HTTP_CREATED);
out:
	es_buf_free(&detail);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	return rc;
}

static int search_delete(struct srv_req *r, const char *rest)
{
	uint64_t id;
	if (strlen(rest) > 18 || sl_to_u64(sl_cstr(rest), &id) || !id)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such saved search");
	int e = idx_search_delete(r->ix, r->user.id, (int64_t)id);
	if (e == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such saved search");
	if (e)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	srv_audit(r, "search.delete", rest, API_AUDIT_OK, NULL);
	return send_list(r, MHD_HTTP_OK);
}

int srv_searches_route(struct srv_req *r, const char *rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (rest && strchr(rest, '/'))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	if (!rest && !get && strcmp(m, "POST"))
		return srv_method_not_allowed(r, "GET, HEAD, POST");
	if (rest && strcmp(m, "DELETE"))
		return srv_method_not_allowed(r, "DELETE");
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (rest)
		return search_delete(r, rest);
	return get ? send_list(r, MHD_HTTP_OK) : search_save(r);
}
