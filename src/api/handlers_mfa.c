/*
 * handlers_mfa.c - the TOTP second factor over HTTP (issue #18):
 *   POST   /api/login/totp        {token, code | recovery_code}: the second
 *                                 step of a sign-in; a session on success
 *   GET    /api/me/totp           the caller's second factor: on, required,
 *                                 recovery codes left
 *   POST   /api/me/totp           begin enrolment: the secret and its
 *                                 otpauth:// URI (shown once)
 *   POST   /api/me/totp/confirm   {code}: turn it on; 10 recovery codes,
 *                                 shown once
 *   DELETE /api/me/totp           {password, code}: remove it
 *   DELETE /api/users/{name}/totp an admin resets a user's second factor
 *                                 (the user is signed out everywhere)
 * and the gate of [api] required_mfa: a user of such a role without a
 * second factor reaches /api/me, enrolment and logout, nothing else.
 * Codes and passwords are rate limited with the login's limiter.
 */
#include "api/server_internal.h"
#include "store/vault.h"

#include <microhttpd.h>
#include <sodium.h>
#include <string.h>

#define MFA_ISSUER "earshot"

static int unavailable(struct srv_req *r, const char *why)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", why);
}

/* The vault that seals secrets: the server's, else DATA/keys opened (and
 * made, with a first KEK, on a data folder that has recorded nothing
 * encrypted yet) on first use.  NULL when it cannot be. */
static struct st_vault *mfa_vault(struct api_server *s)
{
	if (s->vault)
		return s->vault;
	pthread_mutex_lock(&s->lock);
	if (!s->mfa_vault) {
		char err[256] = "";
		if (st_vault_open(&s->mfa_vault, s->data_dir, true, err, sizeof(err)))
			ES_LOG_ERR("api", "second factor: cannot open the keys: %s", err);
	}
	struct st_vault *v = s->mfa_vault;
	pthread_mutex_unlock(&s->lock);
	return v;
}

bool srv_mfa_required(const struct srv_req *r, const struct api_user *u)
{
	return (r->srv->cfg.mfa_roles >> (unsigned)u->role) & 1u;
}

bool srv_mfa_owed(struct srv_req *r, const struct api_user *u)
{
	struct api_mfa_state ms;
	/* the index failing counts as owed: closed, not open */
	return srv_mfa_required(r, u) && (api_mfa_state(r->ix, u->id, &ms) || !ms.enrolled);
}

bool srv_mfa_gate(struct srv_req *r, int *rc)
{
	if (!srv_mfa_owed(r, &r->user))
		return true;
	const char *u = r->url;
	if (!strcmp(u, "/api/me") || !strcmp(u, "/api/me/totp") ||
	    !strcmp(u, "/api/me/totp/confirm") || !strcmp(u, "/api/logout"))
		return true;
	srv_audit(r, "mfa.gate", u, API_AUDIT_DENIED, "second factor required, none enrolled");
	*rc = srv_error(r, MHD_HTTP_FORBIDDEN, "mfa_enrolment_required", NULL,
			"your role needs a second factor: enrol one (POST /api/me/totp) first");
	return false;
}

/* ---- the two-step sign-in ---------------------------------------------------------------- */

int srv_login_finish(struct srv_req *r, const struct api_user *u, int64_t now)
{
	struct api_session s;
	if (api_session_create(r->ix, u, r->remote, now, API_SESSION_TTL_US, &s)) {
		ES_LOG_ERR("api", "login: %s", idx_errmsg(r->ix));
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "cannot log in now");
	}
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "user"); es_json_str(&o.j, u->name);
	es_json_key(&o.j, "role"); es_json_str(&o.j, api_role_name(u->role));
	es_json_key(&o.j, "csrf"); es_json_str(&o.j, s.csrf);
	char t[ES_TIME_STRLEN];
	es_time_fmt(s.expires_us, t, sizeof(t));
	es_json_key(&o.j, "expires"); es_json_str(&o.j, t);
	/* a role that must have a second factor and has none: the session
	 * reaches only enrolment (srv_mfa_gate) */
	es_json_key(&o.j, "mfa_enrolment_required");
	es_json_bool(&o.j, srv_mfa_owed(r, u));
	es_json_obj_end(&o.j);
	return srv_send_with_cookie(r, &o, s.id, API_SESSION_TTL_US / ES_US_PER_SEC);
}

int srv_login_second(struct srv_req *r, const struct api_user *u, int64_t now)
{
	struct api_mfa_state ms;
	if (api_mfa_state(r->ix, u->id, &ms))
		return unavailable(r, "cannot log in now");
	if (!ms.enrolled)
		return srv_login_finish(r, u, now);
	char token[API_PENDING_STRLEN];
	if (api_pending_create(r->ix, u, r->remote, now, token))
		return unavailable(r, "cannot log in now");
	api_audit_append(r->ix, now, u->name, "login", NULL, r->remote, API_AUDIT_OK,
			 "password right; second factor owed", NULL);
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		sodium_memzero(token, sizeof(token));
		return MHD_NO;
	}
	char t[ES_TIME_STRLEN];
	es_time_fmt(now + API_PENDING_TTL_US, t, sizeof(t));
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "mfa_required"); es_json_bool(&o.j, true);
	es_json_key(&o.j, "user"); es_json_str(&o.j, u->name);
	es_json_key(&o.j, "mfa_token"); es_json_str(&o.j, token);
	es_json_key(&o.j, "expires"); es_json_str(&o.j, t);
	es_json_obj_end(&o.j);
	sodium_memzero(token, sizeof(token));
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

int srv_login_totp(struct srv_req *r)
{
	int rc;
	/* JSON only, as /api/login (no cross-site form can post it) */
	if (!srv_json_body(r, "login.totp", &rc))
		return rc;
	enum { F_TOKEN, F_CODE, F_RECOVERY, F__N };
	struct srv_jfield f[F__N] = {
		[F_TOKEN] = {.key = "token", .type = SRV_JSTR, .required = true},
		[F_CODE] = {.key = "code", .type = SRV_JSTR},
		[F_RECOVERY] = {.key = "recovery_code", .type = SRV_JSTR},
	};
	const char *bad;
	int err = srv_body_fields(&r->body, f, F__N, &bad);
	if (err == ES_ENOMEM)
		return unavailable(r, "out of memory");
	if (err || f[F_CODE].present == f[F_RECOVERY].present) {
		srv_fields_free(f, F__N);
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", err ? bad : "code",
				 "expected {\"token\": TOKEN, \"code\": \"123456\"} or "
				 "{\"token\": TOKEN, \"recovery_code\": \"xxxx-xxxx-xxxx-xxxx\"}");
	}
	int64_t now = srv_now_us(), until = 0;
	struct api_user u;
	if (strlen(f[F_TOKEN].s) >= API_PENDING_STRLEN ||
	    (err = api_pending_user(r->ix, f[F_TOKEN].s, now, &u))) {
		srv_fields_free(f, F__N);
		if (err != API_EAUTH && err)
			return unavailable(r, "cannot log in now");
		api_audit_append(r->ix, now, "-", "login.totp", NULL, r->remote, API_AUDIT_FAILED,
				 "unknown or expired sign-in token", NULL);
		return srv_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "token",
				 "sign in again: the first step is unknown or expired");
	}
	/* a code is a password by another door: the same limits, per
	 * (address, name) and per address */
	if (api_rl_begin(r->srv->rl, r->remote, u.name, now, &until) == ES_ELIMIT) {
		srv_fields_free(f, F__N);
		api_audit_append(r->ix, now, u.name, "login.totp", NULL, r->remote,
				 API_AUDIT_DENIED, "rate limited", NULL);
		return srv_too_many(r, until, now, "too many wrong codes; try later");
	}
	err = api_totp_verify(r->ix, mfa_vault(r->srv), r->remote, &u,
			      f[F_CODE].present ? f[F_CODE].s : NULL,
			      f[F_RECOVERY].present ? f[F_RECOVERY].s : NULL, now);
	api_rl_end(r->srv->rl, r->remote, u.name, err, srv_now_us());
	if (err) {
		srv_fields_free(f, F__N);
		if (err != API_EAUTH)
			return unavailable(r, "cannot log in now");
		return srv_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "code",
				 "wrong, used or expired code");
	}
	api_pending_end(r->ix, f[F_TOKEN].s); /* one session per first step */
	srv_fields_free(f, F__N);
	return srv_login_finish(r, &u, now);
}

/* ---- /api/me/totp ------------------------------------------------------------------------ */

static int send_state(struct srv_req *r)
{
	struct api_mfa_state ms;
	if (api_mfa_state(r->ix, r->user.id, &ms))
		return unavailable(r, "the index failed");
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "enrolled"); es_json_bool(&o.j, ms.enrolled);
	es_json_key(&o.j, "pending"); es_json_bool(&o.j, ms.begun);
	es_json_key(&o.j, "required"); es_json_bool(&o.j, srv_mfa_required(r, &r->user));
	es_json_key(&o.j, "recovery_left"); es_json_int(&o.j, ms.recovery_left);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int enrol(struct srv_req *r)
{
	char secret[API_TOTP_B32_MAX], uri[512];
	const struct api_actor who = {r->user.name, r->remote};
	struct st_vault *v = mfa_vault(r->srv);
	if (!v)
		return unavailable(r, "no keys to seal the secret with (DATA/keys)");
	int err = api_totp_enrol(r->ix, v, &who, &r->user, MFA_ISSUER, srv_now_us(), secret,
				 uri, sizeof(uri));
	if (err == ES_EEXIST)
		return srv_error(r, MHD_HTTP_CONFLICT, "conflict", NULL,
				 "a second factor is on already: remove it first");
	if (err)
		return unavailable(r, "cannot begin enrolment now");
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		sodium_memzero(secret, sizeof(secret));
		sodium_memzero(uri, sizeof(uri));
		return MHD_NO;
	}
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "secret"); es_json_str(&o.j, secret);
	es_json_key(&o.j, "uri"); es_json_str(&o.j, uri);
	es_json_key(&o.j, "digits"); es_json_int(&o.j, API_TOTP_DIGITS);
	es_json_key(&o.j, "period"); es_json_int(&o.j, API_TOTP_STEP);
	es_json_obj_end(&o.j);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
	return srv_json_send(r, MHD_HTTP_CREATED, &o);
}

static int confirm(struct srv_req *r)
{
	char *code = NULL;
	int err = srv_body_one(&r->body, "code", &code);
	if (err == ES_ENOMEM)
		return unavailable(r, "out of memory");
	if (err)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "code",
				 "expected {\"code\": \"123456\"}");
	int64_t now = srv_now_us(), until = 0;
	if (api_rl_begin(r->srv->rl, r->remote, r->user.name, now, &until) == ES_ELIMIT) {
		free(code);
		srv_audit(r, "totp.enable", r->user.name, API_AUDIT_DENIED, "rate limited");
		return srv_too_many(r, until, now, "too many wrong codes; try later");
	}
	char codes[API_TOTP_RECOVERY_N][API_TOTP_RECOVERY_LEN];
	const struct api_actor who = {r->user.name, r->remote};
	err = api_totp_confirm(r->ix, mfa_vault(r->srv), &who, &r->user, code, now, codes,
			       API_TOTP_RECOVERY_N);
	free(code);
	api_rl_end(r->srv->rl, r->remote, r->user.name, err == ES_EINVAL ? API_EAUTH : err,
		   srv_now_us());
	if (err == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_CONFLICT, "conflict", NULL,
				 "no enrolment begun: POST /api/me/totp first");
	if (err == ES_EEXIST)
		return srv_error(r, MHD_HTTP_CONFLICT, "conflict", NULL, "already on");
	if (err == API_EAUTH || err == ES_EINVAL)
		return srv_error(r, MHD_HTTP_FORBIDDEN, "wrong_code", "code",
				 "that is not the code the app shows now");
	if (err)
		return unavailable(r, "cannot turn it on now");
	struct srv_json o;
	bool ok = srv_json_begin(&o);
	if (ok) {
		es_json_obj_begin(&o.j);
		es_json_key(&o.j, "enrolled"); es_json_bool(&o.j, true);
		es_json_key(&o.j, "recovery_codes");
		es_json_arr_begin(&o.j);
		for (unsigned i = 0; i < API_TOTP_RECOVERY_N; i++)
			es_json_str(&o.j, codes[i]);
		es_json_arr_end(&o.j);
		es_json_obj_end(&o.j);
	}
	sodium_memzero(codes, sizeof(codes));
	return ok ? srv_json_send(r, MHD_HTTP_OK, &o) : MHD_NO;
}

static int disable(struct srv_req *r)
{
	enum { F_PW, F_CODE, F__N };
	struct srv_jfield f[F__N] = {
		[F_PW] = {.key = "password", .type = SRV_JSTR, .required = true},
		[F_CODE] = {.key = "code", .type = SRV_JSTR},
	};
	const char *bad;
	int err = srv_body_fields(&r->body, f, F__N, &bad);
	if (err == ES_ENOMEM)
		return unavailable(r, "out of memory");
	if (err)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"password\": PASSWORD, \"code\": \"123456\"}");
	int64_t now = srv_now_us(), until = 0;
	if (api_rl_begin(r->srv->rl, r->remote, r->user.name, now, &until) == ES_ELIMIT) {
		srv_fields_free(f, F__N);
		srv_audit(r, "totp.disable", r->user.name, API_AUDIT_DENIED, "rate limited");
		return srv_too_many(r, until, now, "too many wrong passwords or codes; try later");
	}
	const struct api_actor who = {r->user.name, r->remote};
	err = api_totp_disable_self(r->ix, mfa_vault(r->srv), &who, r->user.name, f[F_PW].s,
				    f[F_CODE].present ? f[F_CODE].s : "", now);
	srv_fields_free(f, F__N);
	api_rl_end(r->srv->rl, r->remote, r->user.name, err, srv_now_us());
	if (err == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no second factor");
	if (err == API_EAUTH)
		return srv_error(r, MHD_HTTP_FORBIDDEN, "wrong_password", NULL,
				 "the password or the code is wrong");
	if (err)
		return unavailable(r, "cannot remove it now");
	return send_state(r);
}

int srv_me_totp(struct srv_req *r, bool is_confirm)
{
	int rc;
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (is_confirm ? strcmp(m, "POST") : !get && strcmp(m, "POST") && strcmp(m, "DELETE"))
		return srv_method_not_allowed(r, is_confirm ? "POST" : "GET, HEAD, POST, DELETE");
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (get)
		return send_state(r);
	/* a second factor is a person's, set up from a signed-in browser */
	const char *action = is_confirm ? "totp.enable" : !strcmp(m, "POST") ? "totp.enrol"
										: "totp.disable";
	if (!srv_session_only(r, action, &rc))
		return rc;
	if (is_confirm)
		return srv_json_body(r, action, &rc) ? confirm(r) : rc;
	if (!strcmp(m, "POST"))
		return enrol(r);
	return srv_json_body(r, action, &rc) ? disable(r) : rc;
}

/* ---- DELETE /api/users/{name}/totp --------------------------------------------------------- */

int srv_user_totp_reset(struct srv_req *r, const char *name)
{
	int rc;
	if (strcmp(r->method, "DELETE"))
		return srv_method_not_allowed(r, "DELETE");
	if (!srv_begin(r, NULL, &rc) ||
	    !srv_allow(r, API_ACT_ADMIN, false, "user.totp_reset", name, &rc))
		return rc;
	const struct api_actor who = {r->user.name, r->remote};
	int err = api_totp_remove(r->ix, &who, name, true, srv_now_us());
	if (err == ES_ENOTFOUND) /* audited by api_totp_remove */
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name",
				 "no such user, or no second factor");
	if (err)
		return unavailable(r, "the index failed");
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "user"); es_json_str(&o.j, name);
	es_json_key(&o.j, "reset"); es_json_bool(&o.j, true);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}
