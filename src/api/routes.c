/*
 * routes.c - the URL table of the REST API and the endpoints that are not
 * about calls: login (rate limited), logout, me, users, the audit log.
 */
#include "api/server_internal.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define SRV_COOKIE "earshot_session"
#define SRV_AUDIT_LIMIT_DEFAULT 100
#define SRV_AUDIT_LIMIT_MAX 1000

/* ---- a small JSON reader: one flat object of string, string-list and boolean values ---- */

struct jr {
	const char *p, *end;
};

static void jr_ws(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16;
		if (d > 15)
			return ES_EPARSE;
		*v = *v << 4 | d;
	}
	return 0;
}

static int put_utf8(struct es_buf *b, unsigned cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return es_buf_append(b, u, n);
}

/* A JSON string (r->p at the quote) into b, NUL-terminated; no NUL inside. */
static int jr_string(struct jr *r, struct es_buf *b)
{
	es_buf_reset(b);
	if (r->p >= r->end || *r->p != '"')
		return ES_EPARSE;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		if (c < 0x20)
			return ES_EPARSE;
		if (c != '\\') {
			if (es_buf_append(b, &c, 1))
				return ES_ENOMEM;
			continue;
		}
		if (r->p >= r->end)
			return ES_EPARSE;
		char e = *r->p++;
		const char *simple = "\"\\/bfnrt", *val = "\"\\/\b\f\n\r\t";
		const char *k = strchr(simple, e);
		if (k && e) {
			if (es_buf_append(b, &val[k - simple], 1))
				return ES_ENOMEM;
			continue;
		}
		if (e != 'u' || r->end - r->p < 4)
			return ES_EPARSE;
		unsigned cp, lo;
		if (hex4(r->p, &cp))
			return ES_EPARSE;
		r->p += 4;
		if (cp >= 0xD800 && cp < 0xDC00) {
			if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
			    hex4(r->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				return ES_EPARSE;
			r->p += 6;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
			return ES_EPARSE;
		}
		if (put_utf8(b, cp))
			return ES_ENOMEM;
	}
	if (r->p >= r->end)
		return ES_EPARSE;
	r->p++;
	return es_buf_append(b, "", 1) ? ES_ENOMEM : 0;
}

/* A JSON literal true or false at r->p. */
static int jr_bool(struct jr *r, bool *out)
{
	size_t left = (size_t)(r->end - r->p);
	if (left >= 4 && !memcmp(r->p, "true", 4)) {
		r->p += 4;
		*out = true;
		return 0;
	}
	if (left >= 5 && !memcmp(r->p, "false", 5)) {
		r->p += 5;
		*out = false;
		return 0;
	}
	return ES_EPARSE;
}

/* A non-negative JSON integer of at most 15 digits (no sign, fraction or
 * exponent: a count, not a measurement). */
static int jr_uint(struct jr *r, int64_t *out)
{
	int64_t v = 0;
	int n = 0;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && n < 16) {
		v = v * 10 + (*r->p++ - '0');
		n++;
	}
	if (!n || n > 15 || (n > 1 && r->p[-n] == '0') ||
	    (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')))
		return ES_EPARSE;
	*out = v;
	return 0;
}

/* A string, or an array of comma-free strings joined with ',', into b. */
static int jr_list(struct jr *r, struct es_buf *b, struct es_buf *item)
{
	if (r->p < r->end && *r->p == '"')
		return jr_string(r, b);
	es_buf_reset(b);
	if (r->p >= r->end || *r->p++ != '[')
		return ES_EPARSE;
	jr_ws(r);
	bool first = true;
	while (!(r->p < r->end && *r->p == ']')) {
		int rc;
		if (!first) {
			if (r->p >= r->end || *r->p++ != ',')
				return ES_EPARSE;
			jr_ws(r);
		}
		if ((rc = jr_string(r, item)) != 0)
			return rc;
		if (strchr((const char *)item->p, ','))
			return ES_EPARSE;
		if ((!first && es_buf_append(b, ",", 1)) ||
		    es_buf_append(b, item->p, item->len - 1))
			return ES_ENOMEM;
		first = false;
		jr_ws(r);
	}
	r->p++;
	return es_buf_append(b, "", 1) ? ES_ENOMEM : 0;
}

/* One value of field f's type at r->p (f not yet seen). */
static int jr_field(struct jr *r, struct srv_jfield *f, struct es_buf *v, struct es_buf *tmp)
{
	int rc = f->type == SRV_JBOOL ? jr_bool(r, &f->b)
		 : f->type == SRV_JUINT ? jr_uint(r, &f->i)
		 : f->type == SRV_JLIST ? jr_list(r, v, tmp)
					: jr_string(r, v);
	if (rc || f->type == SRV_JBOOL || f->type == SRV_JUINT) {
		f->present = !rc;
		return rc;
	}
	if (!(f->s = strdup((char *)v->p)))
		return ES_ENOMEM;
	f->present = true;
	return 0;
}

static void fields_free(struct srv_jfield *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].s) {
			memset(f[i].s, 0, strlen(f[i].s)); /* may be a password */
			free(f[i].s);
		}
		f[i].s = NULL;
		f[i].present = false;
	}
}

void srv_fields_free(struct srv_jfield *f, size_t n) { fields_free(f, n); }

int srv_body_fields(const struct es_buf *body, struct srv_jfield *f, size_t nf,
		    const char **bad)
{
	for (size_t i = 0; i < nf; i++) {
		f[i].s = NULL;
		f[i].b = false;
		f[i].i = 0;
		f[i].present = false;
	}
	*bad = "body";
	if (!body->len || !body->p)
		return ES_EPARSE; /* also: no arithmetic on a NULL buffer */
	struct jr r = {(const char *)body->p, (const char *)body->p + body->len};
	struct es_buf k, v, tmp;
	es_buf_init(&k);
	es_buf_init(&v);
	es_buf_init(&tmp);
	int rc = ES_EPARSE;
	jr_ws(&r);
	if (r.p >= r.end || *r.p++ != '{')
		goto out;
	jr_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
	} else {
		for (;;) {
			jr_ws(&r);
			if ((rc = jr_string(&r, &k)) != 0)
				goto out;
			rc = ES_EPARSE;
			jr_ws(&r);
			if (r.p >= r.end || *r.p++ != ':')
				goto out;
			jr_ws(&r);
			size_t i = 0;
			while (i < nf && strcmp((char *)k.p, f[i].key))
				i++;
			if (i == nf || f[i].present)
				goto out; /* an unknown or repeated key */
			*bad = f[i].key;
			if ((rc = jr_field(&r, &f[i], &v, &tmp)) != 0)
				goto out;
			rc = ES_EPARSE;
			*bad = "body";
			jr_ws(&r);
			if (r.p < r.end && *r.p == ',') {
				r.p++;
				continue;
			}
			if (r.p < r.end && *r.p == '}') {
				r.p++;
				break;
			}
			goto out;
		}
	}
	jr_ws(&r);
	if (r.p != r.end)
		goto out;
	rc = 0;
	for (size_t i = 0; i < nf && !rc; i++)
		if (f[i].required && !f[i].present) {
			*bad = f[i].key;
			rc = ES_EPARSE;
		}
	if (!rc)
		*bad = NULL;
out:
	if (v.p)
		memset(v.p, 0, v.len);
	es_buf_free(&k);
	es_buf_free(&v);
	es_buf_free(&tmp);
	if (rc)
		fields_free(f, nf);
	return rc;
}

/* A JSON object whose keys are exactly keys (each once, any order) with
 * string values: out[i] (malloc'd, NUL-free) for keys[i].  On failure every
 * out[i] is NULL, *bad names the key whose value is bad or missing, else
 * "body"; ES_EPARSE or ES_ENOMEM. */
static int srv_body_strings(const struct es_buf *body, const char *const *keys, char **out,
			    const char **bad)
{
	struct srv_jfield f[4];
	size_t nk = 0;
	while (keys[nk] && nk < ES_ARRAY_LEN(f)) {
		f[nk] = (struct srv_jfield){.key = keys[nk], .type = SRV_JSTR, .required = true};
		nk++;
	}
	int rc = srv_body_fields(body, f, nk, bad);
	for (size_t i = 0; i < nk; i++)
		out[i] = rc ? NULL : f[i].s;
	return rc;
}

int srv_body_one(const struct es_buf *body, const char *key, char **out)
{
	const char *const keys[] = {key, NULL};
	const char *bad;
	return srv_body_strings(body, keys, out, &bad);
}

/* {"name": "...", "password": "..."}: other keys are refused. */
static int login_body(const struct es_buf *body, char **name, char **password, const char **bad)
{
	static const char *const keys[] = {"name", "password", NULL};
	char *v[2];
	int rc = srv_body_strings(body, keys, v, bad);
	*name = v[0];
	*password = v[1];
	return rc;
}

/* ---- login, logout, me ---------------------------------------------------------------- */

/* Send o with a Set-Cookie header for the session cookie. */
int srv_send_with_cookie(struct srv_req *r, struct srv_json *o, const char *value,
			    int64_t max_age_s)
{
	char c[256];
	snprintf(c, sizeof(c), SRV_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
		 value, (long long)max_age_s, r->srv->tls ? "; Secure" : "");
	const char *const hdrs[] = {MHD_HTTP_HEADER_SET_COOKIE, c, NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_OK, o, hdrs);
}

static int too_many(struct srv_req *r, int64_t retry_s)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "rate_limited");
	es_json_key(&o.j, "message"); es_json_str(&o.j, "too many failed logins; try later");
	es_json_key(&o.j, "retry_after_s"); es_json_int(&o.j, retry_s);
	es_json_obj_end(&o.j);
	char ra[32];
	snprintf(ra, sizeof(ra), "%lld", (long long)retry_s);
	const char *const hdrs[] = {MHD_HTTP_HEADER_RETRY_AFTER, ra, NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_TOO_MANY_REQUESTS, &o, hdrs);
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	return ct && !strncasecmp(ct, want, sizeof(want) - 1) &&
	       (ct[sizeof(want) - 1] == 0 || ct[sizeof(want) - 1] == ';' ||
		ct[sizeof(want) - 1] == ' ');
}

int srv_login(struct srv_req *r)
{
	/* A JSON body only: a cross-site form cannot send one without a
	 * CORS preflight, which this server never grants (login CSRF). */
	if (!is_json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				 "send application/json");
	char *name = NULL, *password = NULL;
	const char *bad = NULL;
	int prc = login_body(&r->body, &name, &password, &bad);
	int rc;
	if (prc == ES_ENOMEM) {
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
		goto out;
	}
	if (prc || !api_name_valid(name) || !*password || strlen(password) > API_PW_MAX) {
		const char *p = prc ? bad : !api_name_valid(name) ? "name" : "password";
		rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", p,
			       "expected {\"name\": NAME, \"password\": PASSWORD}");
		goto out;
	}
	int64_t now = srv_now_us(), until = 0;
	/* Reserved before the password is checked, settled after: a burst of
	 * parallel guesses gets no more checks than the limit. */
	if (api_rl_begin(r->srv->rl, r->remote, name, now, &until) == ES_ELIMIT) {
		api_audit_append(r->ix, now, name, "login", NULL, r->remote, API_AUDIT_DENIED,
				 "rate limited", NULL);
		int64_t s = (until - now + ES_US_PER_SEC - 1) / ES_US_PER_SEC;
		rc = too_many(r, s > 0 ? s : 1);
		goto out;
	}
	struct api_user u;
	/* a name the directory has (no local user, or its shadow) signs in
	 * there; a local user with a password never does */
	const struct api_ldap_config *ldap = r->srv->cfg.ldap;
	int err = ldap && api_ldap_applies(r->ix, name)
			  ? api_ldap_login(r->ix, ldap, r->remote, name, password, now, &u)
			  : api_login(r->ix, r->remote, name, password, now, &u);
	api_rl_end(r->srv->rl, r->remote, name, err, srv_now_us());
	if (err == API_EAUTH) {
		rc = srv_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL,
			       "wrong name or password");
		goto out;
	}
	/* a second factor on: the password only earns a pending token */
	rc = err ? srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
			     "cannot log in now")
		 : srv_login_second(r, &u, now);
out:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(name);
	return rc;
}

int srv_logout(struct srv_req *r)
{
	int rc;
	if (!srv_authenticate(r, &rc))
		return rc;
	if (r->auth == SRV_AUTH_SESSION)
		api_session_delete(r->ix, r->cookie);
	srv_audit(r, "logout", NULL, API_AUDIT_OK,
		  r->auth == SRV_AUTH_SESSION ? "session" : "token (nothing to end)");
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "ok"); es_json_bool(&o.j, true);
	es_json_obj_end(&o.j);
	return srv_send_with_cookie(r, &o, "", 0);
}

int srv_me(struct srv_req *r)
{
	int rc;
	if (!srv_authenticate(r, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "user"); es_json_str(&o.j, r->user.name);
	es_json_key(&o.j, "role"); es_json_str(&o.j, api_role_name(r->user.role));
	es_json_key(&o.j, "numbers"); api_json_list(&o.j, r->user.numbers);
	es_json_key(&o.j, "can_listen"); es_json_bool(&o.j, r->user.can_listen);
	es_json_key(&o.j, "scope"); es_json_str(&o.j, r->scoped ? "teams" : "all");
	es_json_key(&o.j, "auth");
	es_json_str(&o.j, r->auth == SRV_AUTH_SESSION ? "session" : "token");
	es_json_key(&o.j, "csrf");
	es_json_str(&o.j, r->auth == SRV_AUTH_SESSION ? r->session.csrf : NULL);
	struct api_mfa_state ms;
	if (!api_mfa_state(r->ix, r->user.id, &ms)) {
		es_json_key(&o.j, "mfa");
		es_json_obj_begin(&o.j);
		es_json_key(&o.j, "enrolled"); es_json_bool(&o.j, ms.enrolled);
		es_json_key(&o.j, "required"); es_json_bool(&o.j, srv_mfa_required(r, &r->user));
		es_json_key(&o.j, "recovery_left"); es_json_int(&o.j, ms.recovery_left);
		es_json_obj_end(&o.j);
	}
	static const char *const reason_modes[] = {"off", "optional", "required"};
	es_json_key(&o.j, "listen_reason");
	es_json_str(&o.j, reason_modes[r->srv->cfg.listen_reason % 3]);
	es_json_key(&o.j, "permissions");
	es_json_obj_begin(&o.j);
	for (unsigned a = 0; a < API_ACT__COUNT; a++) {
		bool all = srv_may(r, (enum api_action)a, false);
		bool own = srv_may(r, (enum api_action)a, true);
		es_json_key(&o.j, api_action_name((enum api_action)a));
		es_json_str(&o.j, all ? "all" : own ? "own" : "none");
	}
	es_json_obj_end(&o.j);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- users -------------------------------------------------------------------------- */


static int user_row(void *ud, const struct api_user *u)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, u->id);
	es_json_key(j, "name"); es_json_str(j, u->name);
	es_json_key(j, "role"); es_json_str(j, api_role_name(u->role));
	es_json_key(j, "numbers"); api_json_list(j, u->numbers);
	es_json_key(j, "can_listen"); es_json_bool(j, u->can_listen);
	es_json_key(j, "disabled"); es_json_bool(j, u->disabled);
	es_json_key(j, "created"); api_json_time(j, u->created_us);
	es_json_key(j, "updated"); api_json_time(j, u->updated_us);
	es_json_obj_end(j);
	return 0;
}

int srv_users(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (!srv_allow(r, API_ACT_ADMIN, false, "user.list", NULL, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "users");
	es_json_arr_begin(&o.j);
	int err = api_users_list(r->ix, user_row, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	srv_audit(r, "user.list", NULL, API_AUDIT_OK, NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- the audit log --------------------------------------------------------------------- */

/* Printable ASCII without spaces, 1..max bytes. */
static bool token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int audit_row(void *ud, const struct idx_audit *a)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "seq"); es_json_int(j, a->seq);
	es_json_key(j, "time"); api_json_time(j, a->time_us);
	es_json_key(j, "time_us"); es_json_int(j, a->time_us);
	es_json_key(j, "user"); es_json_str(j, a->user);
	es_json_key(j, "action"); es_json_str(j, a->action);
	es_json_key(j, "object"); es_json_str(j, a->object);
	es_json_key(j, "remote"); es_json_str(j, a->remote);
	es_json_key(j, "outcome"); es_json_str(j, a->outcome);
	es_json_key(j, "detail"); es_json_str(j, a->detail);
	es_json_key(j, "hash"); es_json_str(j, a->hash);
	es_json_obj_end(j);
	return 0;
}

int srv_audit_list(struct srv_req *r)
{
	static const char *const params[] = {"user", "action", "since", "limit", NULL};
	int rc;
	if (!srv_begin(r, params, &rc))
		return rc;
	if (!srv_allow(r, API_ACT_AUDIT_READ, false, "audit.read", NULL, &rc))
		return rc;
	struct idx_audit_filter f = {.limit = SRV_AUDIT_LIMIT_DEFAULT};
	const char *v;
	if ((v = srv_arg(r, "user"))) {
		if (!token_ok(v, IDX_NAME_MAX + 8))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "user",
					 "a user name");
		f.user = v;
	}
	if ((v = srv_arg(r, "action"))) {
		if (!token_ok(v, 64))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "action",
					 "an action such as login or call.listen (a prefix ends "
					 "in '.')");
		f.action = v;
	}
	if ((v = srv_arg(r, "since")) && (strlen(v) > 40 || es_time_parse(v, &f.since_us)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "since",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	uint64_t n;
	if ((v = srv_arg(r, "limit"))) {
		if (strlen(v) > 6 || sl_to_u64(sl_cstr(v), &n) || n < 1 || n > SRV_AUDIT_LIMIT_MAX)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "limit",
					 "1..%d", SRV_AUDIT_LIMIT_MAX);
		f.limit = (unsigned)n;
	}
	srv_audit(r, "audit.read", NULL, API_AUDIT_OK, NULL);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "entries");
	es_json_arr_begin(&o.j);
	int err = api_audit_list(r->ix, &f, audit_row, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

int srv_audit_verify(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (!srv_allow(r, API_ACT_AUDIT_READ, false, "audit.verify", NULL, &rc))
		return rc;
	struct api_audit_check c;
	memset(&c, 0, sizeof(c));
	int err = api_audit_verify(r->ix, &c);
	if (err && err != API_EAUTH)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	srv_audit(r, "audit.verify", NULL, API_AUDIT_OK, err ? "chain broken" : "intact");
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "ok"); es_json_bool(&o.j, err == 0);
	es_json_key(&o.j, "entries"); es_json_int(&o.j, (int64_t)c.entries);
	es_json_key(&o.j, "first_seq"); es_json_int(&o.j, c.first_seq);
	es_json_key(&o.j, "last_seq"); es_json_int(&o.j, c.last_seq);
	es_json_key(&o.j, "last_hash"); es_json_str(&o.j, c.last_hash);
	es_json_key(&o.j, "bad_seq");
	if (c.bad_seq)
		es_json_int(&o.j, c.bad_seq);
	else
		es_json_null(&o.j);
	es_json_key(&o.j, "reason"); es_json_str(&o.j, c.bad_seq ? c.reason : NULL);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- the URL table -------------------------------------------------------------------------- */

int srv_method_not_allowed(struct srv_req *r, const char *allow)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "method_not_allowed");
	es_json_key(&o.j, "message"); es_json_str(&o.j, allow);
	es_json_obj_end(&o.j);
	const char *const hdrs[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_METHOD_NOT_ALLOWED, &o, hdrs);
}

/* A call id: 1..18 decimal digits, not 0. */
static bool parse_id(struct slice s, int64_t *id)
{
	uint64_t v;
	if (!s.len || s.len > 18 || sl_to_u64(s, &v) || !v)
		return false;
	*id = (int64_t)v;
	return true;
}

static bool is(const char *m, const char *want) { return !strcmp(m, want); }

int srv_route(struct srv_req *r)
{
	const char *u = r->url;
	const char *m = r->method;
	bool get = is(m, "GET") || is(m, "HEAD");
	if (is(u, "/readyz"))
		return srv_readyz(r);
	if (is(u, "/api/login"))
		return is(m, "POST") ? srv_login(r) : srv_method_not_allowed(r, "POST");
	if (is(u, "/api/login/totp"))
		return is(m, "POST") ? srv_login_totp(r) : srv_method_not_allowed(r, "POST");
	if (is(u, "/api/me/totp") || is(u, "/api/me/totp/confirm"))
		return srv_me_totp(r, is(u, "/api/me/totp/confirm"));
	if (is(u, "/api/logout"))
		return is(m, "POST") ? srv_logout(r) : srv_method_not_allowed(r, "POST");
	if (is(u, "/api/me"))
		return get ? srv_me(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/me/password"))
		return srv_me_password(r);
	static const char tokens[] = "/api/tokens";
	if (!strncmp(u, tokens, sizeof(tokens) - 1) &&
	    (!u[sizeof(tokens) - 1] || u[sizeof(tokens) - 1] == '/'))
		return srv_tokens_route(r, u[sizeof(tokens) - 1] ? u + sizeof(tokens) : NULL);
	if (is(u, "/api/users"))
		return get		? srv_users(r)
		       : is(m, "POST") ? srv_user_create(r)
				       : srv_method_not_allowed(r, "GET, HEAD, POST");
	static const char users[] = "/api/users/";
	if (!strncmp(u, users, sizeof(users) - 1))
		return srv_user_route(r, u + sizeof(users) - 1);
	static const char teams[] = "/api/teams", scopes[] = "/api/scopes/";
	if (!strncmp(u, teams, sizeof(teams) - 1) &&
	    (!u[sizeof(teams) - 1] || u[sizeof(teams) - 1] == '/'))
		return srv_teams_route(r, u[sizeof(teams) - 1] ? u + sizeof(teams) : NULL);
	if (!strncmp(u, scopes, sizeof(scopes) - 1))
		return srv_scopes_route(r, u + sizeof(scopes) - 1);
	static const char forms[] = "/api/forms";
	if (!strncmp(u, forms, sizeof(forms) - 1) &&
	    (!u[sizeof(forms) - 1] || u[sizeof(forms) - 1] == '/'))
		return srv_forms_route(r, u[sizeof(forms) - 1] ? u + sizeof(forms) : NULL);
	if (is(u, "/api/reports/qa"))
		return get ? srv_qa_report(r) : srv_method_not_allowed(r, "GET, HEAD");
	static const char clips[] = "/api/clips/"; /* handlers_bookmarks.c */
	if (!strncmp(u, clips, sizeof(clips) - 1))
		return srv_clips_route(r, u + sizeof(clips) - 1);
	static const char subject[] = "/api/subject/";
	if (!strncmp(u, subject, sizeof(subject) - 1))
		return srv_subject_route(r, u + sizeof(subject) - 1);
	static const char holds[] = "/api/holds";
	if (!strncmp(u, holds, sizeof(holds) - 1) &&
	    (!u[sizeof(holds) - 1] || u[sizeof(holds) - 1] == '/'))
		return srv_holds_route(r, u[sizeof(holds) - 1] ? u + sizeof(holds) : NULL);
	if (is(u, "/api/rules"))
		return get ? srv_rules(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/active"))
		return get ? srv_active(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/alerts"))
		return get ? srv_alerts(r) : srv_method_not_allowed(r, "GET, HEAD");
	static const char active[] = "/api/active/";
	if (!strncmp(u, active, sizeof(active) - 1)) {
		/* a Call-ID may hold '/' (RFC 3261 25.1 word): the verb is the
		 * last segment */
		const char *slash = strrchr(u, '/');
		char id[256]; /* longer than any active.tsv id: refused there */
		size_t n = (size_t)(slash - (u + sizeof(active) - 1));
		if (slash < u + sizeof(active) - 1 || n >= sizeof(id))
			return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
		memcpy(id, u + sizeof(active) - 1, n);
		id[n] = 0;
		if (!strcmp(slash + 1, "listen")) /* listen-in (handlers_listen.c) */
			return get ? srv_active_listen(r, id) : srv_method_not_allowed(r, "GET, HEAD");
		return is(m, "POST") ? srv_active_control(r, id, slash + 1)
				     : srv_method_not_allowed(r, "POST");
	}
	if (is(u, "/api/audit"))
		return get ? srv_audit_list(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/audit/verify"))
		return get ? srv_audit_verify(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/calls"))
		return get ? srv_calls(r) : srv_method_not_allowed(r, "GET, HEAD");
	if (is(u, "/api/stats"))
		return get ? srv_stats(r) : srv_method_not_allowed(r, "GET, HEAD");
	static const char searches[] = "/api/searches";
	if (!strncmp(u, searches, sizeof(searches) - 1) &&
	    (!u[sizeof(searches) - 1] || u[sizeof(searches) - 1] == '/'))
		return srv_searches_route(r, u[sizeof(searches) - 1] ? u + sizeof(searches) : NULL);
	if (is(u, "/api/export.zip")) /* handlers_export.c */
		return is(m, "POST") ? srv_export_zip(r) : srv_method_not_allowed(r, "POST");
	if (is(u, "/api/calls.csv"))
		return get ? srv_calls_csv(r) : srv_method_not_allowed(r, "GET, HEAD");
	static const char calls[] = "/api/calls/";
	if (!strncmp(u, calls, sizeof(calls) - 1)) {
		struct slice rest = sl_cstr(u + sizeof(calls) - 1), idp, sub;
		bool has_sub = sl_split(rest, '/', &idp, &sub);
		int64_t id;
		struct slice sub1 = sub, sub2 = {0};
		bool deep = has_sub && sl_split(sub, '/', &sub1, &sub2);
		if (has_sub && (sl_eq(sub1, sl_cstr("tags")) || sl_eq(sub1, sl_cstr("notes")))) {
			bool tags = sl_eq(sub1, sl_cstr("tags"));
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			if (deep && !tags)
				return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL,
						 "no such resource");
			if (deep) /* /tags/{tag} */
				return is(m, "DELETE") ? srv_call_untag(r, id, sub2)
						       : srv_method_not_allowed(r, "DELETE");
			if (get)
				return tags ? srv_call_tags(r, id) : srv_call_notes(r, id);
			if (is(m, "POST"))
				return tags ? srv_call_tag(r, id) : srv_call_note(r, id);
			return srv_method_not_allowed(r, "GET, HEAD, POST");
		}
		if (has_sub && (sl_eq(sub1, sl_cstr("bookmarks")) || sl_eq(sub1, sl_cstr("clips")))) {
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			return srv_call_bookmarks_route(r, id, sl_eq(sub1, sl_cstr("clips")),
							deep ? sub2 : (struct slice){0});
		}
		if (has_sub && sl_eq(sub, sl_cstr("evaluations"))) {
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			return srv_call_evaluations(r, id);
		}
		if (has_sub && sl_eq(sub, sl_cstr("transcribe"))) {
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			return is(m, "POST") ? srv_call_transcribe(r, id)
					     : srv_method_not_allowed(r, "POST");
		}
		if (has_sub && sl_eq(sub, sl_cstr("transcript"))) {
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			return get ? srv_call_transcript(r, id)
				   : srv_method_not_allowed(r, "GET, HEAD");
		}
		if (has_sub && sl_eq(sub, sl_cstr("redact"))) {
			if (!parse_id(idp, &id))
				return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
						 "a call id is a positive decimal number");
			return is(m, "POST") ? srv_call_redact(r, id)
					     : srv_method_not_allowed(r, "POST");
		}
		if (has_sub && sub.len && !sl_eq(sub, sl_cstr("audio")) &&
		    !sl_eq(sub, sl_cstr("verify")) && !sl_eq(sub, sl_cstr("evidence")) &&
		    !sl_eq(sub, sl_cstr("peaks")) && !sl_eq(sub, sl_cstr("sip")) &&
		    !sl_eq(sub, sl_cstr("pcap")) && !sl_eq(sub, sl_cstr("export")))
			return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
		if (!get)
			return srv_method_not_allowed(r, "GET, HEAD");
		if (!parse_id(idp, &id))
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
					 "a call id is a positive decimal number");
		if (!has_sub || !sub.len)
			return srv_call(r, id);
		if (sl_eq(sub, sl_cstr("audio")))
			return srv_call_audio(r, id);
		if (sl_eq(sub, sl_cstr("evidence")))
			return srv_call_evidence(r, id);
		if (sl_eq(sub, sl_cstr("peaks")))
			return srv_call_peaks(r, id);
		if (sl_eq(sub, sl_cstr("sip")))
			return srv_call_sip(r, id);
		if (sl_eq(sub, sl_cstr("pcap")))
			return srv_call_pcap(r, id);
		if (sl_eq(sub, sl_cstr("export")))
			return srv_call_export(r, id);
		return srv_call_verify(r, id);
	}
	if (strncmp(u, "/api/", 5) && strcmp(u, "/api"))
		return srv_static(r);
	return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
}
