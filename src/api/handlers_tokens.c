/*
 * handlers_tokens.c - API tokens and one's own password over the API
 * (issue #13, finding 5):
 *   GET    /api/tokens               the caller's tokens (never a secret)
 *   POST   /api/tokens               {label?, expires_days?}: a new token of the
 *                                    caller, its secret shown once: 201
 *   DELETE /api/tokens/{id}          revoke one's own token; an admin any token
 *   GET    /api/users/{name}/tokens  an admin: that user's tokens
 *   POST   /api/me/password          {current_password, password}: change one's
 *                                    own password; signs out everywhere else
 *
 * Tokens are made from a browser session only: a token must not mint
 * tokens (a stolen one would outlive its own revocation).  Another user's
 * token answers 404, as one that does not exist.  Every action is audited
 * ("token.list", "token.create", "token.revoke", "user.passwd",
 * "session.end"), refusals too.
 */
#include "api/server_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TOKEN_DAYS_MAX 3650

bool srv_json_body(struct srv_req *r, const char *action, int *rc)
{
	static const char want[] = "application/json";
	const char *ct = srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = sizeof(want) - 1;
	if (ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
		return true;
	srv_audit(r, action, NULL, API_AUDIT_FAILED, "not application/json");
	*rc = srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
			"send application/json");
	return false;
}

static int unavailable(struct srv_req *r)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "the index failed");
}

bool srv_session_only(struct srv_req *r, const char *action, int *rc)
{
	if (r->auth == SRV_AUTH_SESSION)
		return true;
	srv_audit(r, action, NULL, API_AUDIT_DENIED, "needs a signed-in session, not a token");
	*rc = srv_error(r, MHD_HTTP_FORBIDDEN, "session_required", NULL,
			"sign in with your password for this (an API token cannot)");
	return false;
}

/* ---- listing ------------------------------------------------------------------------ */

static const char *token_state(const struct api_token *t, int64_t now)
{
	return t->revoked ? "revoked" : t->expires_us && now >= t->expires_us ? "expired" : "active";
}

struct list_ctx {
	struct es_json *j;
	const char *user;
	int64_t now;
};

static int token_row(void *ud, const struct api_token *t)
{
	struct list_ctx *c = ud;
	struct es_json *j = c->j;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, t->id);
	es_json_key(j, "user"); es_json_str(j, c->user);
	es_json_key(j, "label"); es_json_str(j, t->label);
	es_json_key(j, "state"); es_json_str(j, token_state(t, c->now));
	es_json_key(j, "created"); api_json_time(j, t->created_us);
	es_json_key(j, "last_used"); api_json_time(j, t->last_used_us);
	es_json_key(j, "expires"); api_json_time(j, t->expires_us);
	es_json_key(j, "revoked"); api_json_time(j, t->revoked_us);
	es_json_key(j, "revoked_why"); es_json_str(j, t->revoked_why[0] ? t->revoked_why : NULL);
	es_json_obj_end(j);
	return 0;
}

/* {"tokens": [...]} of user u, audited "token.list" on u's name. */
static int send_list(struct srv_req *r, const struct api_user *u)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	struct list_ctx c = {&o.j, u->name, srv_now_us()};
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "tokens");
	es_json_arr_begin(&o.j);
	int err = api_tokens_list(r->ix, u->id, token_row, &c);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return unavailable(r);
	}
	srv_audit(r, "token.list", u->name, API_AUDIT_OK, NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- POST /api/tokens ------------------------------------------------------------------- */

static int bad(struct srv_req *r, const char *action, const char *field, const char *expect)
{
	char d[96];
	snprintf(d, sizeof(d), "bad %s", field);
	srv_audit(r, action, r->user.name, API_AUDIT_FAILED, d);
	return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", field, "%s", expect);
}

static int token_create(struct srv_req *r)
{
	int rc;
	if (!srv_session_only(r, "token.create", &rc) || !srv_json_body(r, "token.create", &rc))
		return rc;
	enum { F_LABEL, F_DAYS, F__N };
	struct srv_jfield f[F__N] = {
		[F_LABEL] = {.key = "label", .type = SRV_JSTR},
		[F_DAYS] = {.key = "expires_days", .type = SRV_JUINT},
	};
	const char *badkey;
	int err = srv_body_fields(&r->body, f, F__N, &badkey);
	if (err == ES_ENOMEM)
		return unavailable(r);
	if (err)
		return bad(r, "token.create", badkey,
			   "expected {\"label\"?: TEXT, \"expires_days\"?: 0..3650 (0: never)}");
	int64_t days = f[F_DAYS].present ? f[F_DAYS].i : API_TOKEN_TTL_DEFAULT_US / (86400 * ES_US_PER_SEC);
	char label[API_TOKEN_LABEL_MAX + 1] = "";
	bool label_ok = api_token_label_valid(f[F_LABEL].s);
	if (label_ok && f[F_LABEL].s)
		snprintf(label, sizeof(label), "%s", f[F_LABEL].s);
	srv_fields_free(f, F__N);
	if (!label_ok)
		return bad(r, "token.create", "label",
			   "at most 100 bytes without control characters");
	if (days > TOKEN_DAYS_MAX)
		return bad(r, "token.create", "expires_days", "0 (never) to 3650 days");
	int64_t now = srv_now_us(), id = 0;
	int64_t expires = days ? now + days * 86400 * ES_US_PER_SEC : 0;
	char token[API_TOKEN_STRLEN];
	const struct api_actor who = {r->user.name, r->remote};
	err = api_token_create(r->ix, &who, r->user.name, label, expires, now, token, &id);
	if (err) {
		explicit_bzero(token, sizeof(token));
		return unavailable(r);
	}
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		explicit_bzero(token, sizeof(token));
		return MHD_NO;
	}
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "id"); es_json_int(&o.j, id);
	es_json_key(&o.j, "user"); es_json_str(&o.j, r->user.name);
	es_json_key(&o.j, "label"); es_json_str(&o.j, label);
	es_json_key(&o.j, "expires"); api_json_time(&o.j, expires);
	es_json_key(&o.j, "token"); es_json_str(&o.j, token);
	es_json_obj_end(&o.j);
	explicit_bzero(token, sizeof(token));
	return srv_json_send(r, MHD_HTTP_CREATED, &o);
}

/* ---- DELETE /api/tokens/{id} -------------------------------------------------------------- */

static int token_revoke(struct srv_req *r, const char *idp)
{
	uint64_t v;
	struct slice s = sl_cstr(idp);
	if (!s.len || s.len > 18 || sl_to_u64(s, &v) || !v)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
				 "a token id is a positive decimal number");
	/* An admin revokes any token; everyone else only their own. */
	bool admin = api_allow(r->user.role, r->user.can_listen, API_ACT_ADMIN, false);
	const struct api_actor who = {r->user.name, r->remote};
	int err = api_token_revoke(r->ix, &who, (int64_t)v, admin ? 0 : r->user.id, srv_now_us());
	if (err == ES_ENOTFOUND) /* audited by api_token_revoke */
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such token");
	if (err)
		return unavailable(r);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "id"); es_json_int(&o.j, (int64_t)v);
	es_json_key(&o.j, "revoked"); es_json_bool(&o.j, true);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

int srv_tokens_route(struct srv_req *r, const char *rest)
{
	int rc;
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (!rest) { /* /api/tokens */
		if (!get && strcmp(m, "POST"))
			return srv_method_not_allowed(r, "GET, HEAD, POST");
		if (!srv_begin(r, NULL, &rc))
			return rc;
		return get ? send_list(r, &r->user) : token_create(r);
	}
	if (strcmp(m, "DELETE"))
		return srv_method_not_allowed(r, "DELETE");
	if (!srv_begin(r, NULL, &rc))
		return rc;
	return token_revoke(r, rest);
}

int srv_user_tokens(struct srv_req *r, const char *name)
{
	int rc;
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return srv_method_not_allowed(r, "GET, HEAD");
	if (!srv_begin(r, NULL, &rc) ||
	    !srv_allow(r, API_ACT_ADMIN, false, "token.list", name, &rc))
		return rc;
	struct api_user u;
	int err = api_user_get(r->ix, name, &u);
	if (err == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such user");
	if (err)
		return unavailable(r);
	return send_list(r, &u);
}

/* ---- POST /api/me/password --------------------------------------------------------------- */

int srv_too_many(struct srv_req *r, int64_t until, int64_t now, const char *msg)
{
	int64_t s = (until - now + ES_US_PER_SEC - 1) / ES_US_PER_SEC;
	char ra[32];
	snprintf(ra, sizeof(ra), "%lld", (long long)(s > 0 ? s : 1));
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "rate_limited");
	es_json_key(&o.j, "message"); es_json_str(&o.j, msg);
	es_json_obj_end(&o.j);
	const char *const hdrs[] = {MHD_HTTP_HEADER_RETRY_AFTER, ra, NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_TOO_MANY_REQUESTS, &o, hdrs);
}

int srv_me_password(struct srv_req *r)
{
	int rc;
	if (strcmp(r->method, "POST"))
		return srv_method_not_allowed(r, "POST");
	if (!srv_begin(r, NULL, &rc) || !srv_session_only(r, "user.passwd", &rc) ||
	    !srv_json_body(r, "user.passwd", &rc))
		return rc;
	enum { F_CUR, F_NEW, F__N };
	struct srv_jfield f[F__N] = {
		[F_CUR] = {.key = "current_password", .type = SRV_JSTR, .required = true},
		[F_NEW] = {.key = "password", .type = SRV_JSTR, .required = true},
	};
	const char *badkey;
	int err = srv_body_fields(&r->body, f, F__N, &badkey);
	if (err == ES_ENOMEM)
		return unavailable(r);
	if (err)
		return bad(r, "user.passwd", badkey,
			   "expected {\"current_password\": PASSWORD, \"password\": PASSWORD}");
	size_t n = strlen(f[F_NEW].s);
	if (n < API_PW_MIN || n > API_PW_MAX || strlen(f[F_CUR].s) > API_PW_MAX) {
		srv_fields_free(f, F__N);
		char e[64];
		snprintf(e, sizeof(e), "a password of %d..%d bytes", API_PW_MIN, API_PW_MAX);
		return bad(r, "user.passwd", "password", e);
	}
	/* The current password is a login by another door: the same limits. */
	int64_t now = srv_now_us(), until = 0;
	if (api_rl_begin(r->srv->rl, r->remote, r->user.name, now, &until) == ES_ELIMIT) {
		srv_fields_free(f, F__N);
		srv_audit(r, "user.passwd", r->user.name, API_AUDIT_DENIED, "rate limited");
		return srv_too_many(r, until, now, "too many wrong passwords; try later");
	}
	const struct api_actor who = {r->user.name, r->remote};
	err = api_user_passwd_self(r->ix, &who, r->user.name, f[F_CUR].s, f[F_NEW].s, r->cookie,
				   now);
	srv_fields_free(f, F__N);
	api_rl_end(r->srv->rl, r->remote, r->user.name, err, srv_now_us());
	if (err == API_EAUTH) /* audited by api_user_passwd_self */
		return srv_error(r, MHD_HTTP_FORBIDDEN, "wrong_password", "current_password",
				 "the current password is wrong");
	if (err)
		return unavailable(r);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "ok"); es_json_bool(&o.j, true);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}
