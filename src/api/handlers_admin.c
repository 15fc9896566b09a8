/*
 * handlers_admin.c - user administration over the API and the rules' read-only view:
 *   POST  /api/users                  {name, password, role, numbers?, can_listen?}: 201
 *   GET   /api/users/{name}           one user (never the hash), with the last login
 *   PATCH /api/users/{name}           any of {role, numbers, can_listen, disabled}
 *   POST  /api/users/{name}/password  {password}: an admin's reset (signs the
 *                                     user out everywhere: sessions, tokens)
 *   GET   /api/users/{name}/tokens    that user's tokens (handlers_tokens.c)
 *   GET   /api/rules                  the recording rules of `serve -c FILE`
 *
 * The user endpoints need API_ACT_ADMIN; a denial is audited and answered
 * 403 (srv_allow).  For a browser session every change carries the CSRF
 * token (srv_authenticate answers 403 without it).  The changes go through
 * the one user store of api.h, the functions `earshot user` uses, which
 * write the change and its audit entry in one transaction: "user.add",
 * "user.passwd" (the same names as on the command line) and "user.update"
 * (api_user_update: several fields at once, refusing to leave no enabled
 * admin).  A request refused for its content is audited "failed" too.
 *
 * GET /api/rules needs API_ACT_AUDIT_READ, which admins and auditors have:
 * an auditor checks what is recorded and what is not (the do-not-record
 * list, sampling), and the rules are read-only here.  Supervisors and
 * agents do not see them: the do-not-record list names people (lawyers,
 * works council) whose calls are exempt, which is not theirs to know.
 */
#include "api/server_internal.h"
#include "policy/policy.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_LOGIN_SCAN 50 /* newest login entries read for "last_login" */

static bool json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;
	return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* Authenticate, refuse query parameters, require act (audited as action
 * on object when denied); a state change also needs a JSON body type. */
static bool admin_gate(struct srv_req *r, enum api_action act, const char *action,
		       const char *object, bool body, int *rc)
{
	if (!srv_begin(r, NULL, rc))
		return false;
	if (!srv_allow(r, act, false, action, object, rc))
		return false;
	if (body && !json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		srv_audit(r, action, object, API_AUDIT_FAILED, "not application/json");
		*rc = srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				"send application/json");
		return false;
	}
	return true;
}

/* A 400 for field (audited as a failed action; detail names the field only). */
static int bad_field(struct srv_req *r, const char *action, const char *object,
		     const char *field, const char *expect)
{
	char d[96];
	snprintf(d, sizeof(d), "bad %s", field);
	srv_audit(r, action, object, API_AUDIT_FAILED, d);
	return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", field, "%s", expect);
}

static int unavailable(struct srv_req *r, int err)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s",
			 err == ES_ENOMEM ? "out of memory" : "the index failed");
}


/* ---- the user as JSON (the shape of GET /api/users' rows) ------------------------- */

struct last_login {
	int64_t ok_us;
};

static int login_row(void *ud, const struct idx_audit *a)
{
	struct last_login *l = ud;
	if (!strcmp(a->outcome, API_AUDIT_OK) && a->time_us > l->ok_us)
		l->ok_us = a->time_us;
	return 0;
}

/* status with the user u; with_login adds "last_login" from the audit log. */
static int send_user(struct srv_req *r, unsigned status, const struct api_user *u,
		     bool with_login)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "id"); es_json_int(&o.j, u->id);
	es_json_key(&o.j, "name"); es_json_str(&o.j, u->name);
	es_json_key(&o.j, "role"); es_json_str(&o.j, api_role_name(u->role));
	es_json_key(&o.j, "numbers"); api_json_list(&o.j, u->numbers);
	es_json_key(&o.j, "can_listen"); es_json_bool(&o.j, u->can_listen);
	es_json_key(&o.j, "disabled"); es_json_bool(&o.j, u->disabled);
	es_json_key(&o.j, "created"); api_json_time(&o.j, u->created_us);
	es_json_key(&o.j, "updated"); api_json_time(&o.j, u->updated_us);
	if (with_login) {
		struct last_login l = {0};
		struct idx_audit_filter f = {
			.user = u->name, .action = "login", .limit = ADMIN_LOGIN_SCAN};
		es_json_key(&o.j, "last_login");
		if (!api_audit_list(r->ix, &f, login_row, &l) && l.ok_us)
			api_json_time(&o.j, l.ok_us);
		else
			es_json_null(&o.j);
	}
	es_json_obj_end(&o.j);
	if (status != MHD_HTTP_CREATED)
		return srv_json_send(r, status, &o);
	char loc[sizeof("/api/users/") + IDX_NAME_MAX];
	snprintf(loc, sizeof(loc), "/api/users/%s", u->name);
	const char *const hdrs[] = {MHD_HTTP_HEADER_LOCATION, loc, NULL};
	return srv_json_send_hdrs(r, status, &o, hdrs);
}

/* ---- POST /api/users ------------------------------------------------------------------ */

static const char k_expect_name[] =
	"1..64 letters, digits, '.', '_', '-', '@', starting with a letter or digit";
static const char k_expect_role[] = "admin, supervisor, agent or auditor";
static const char k_expect_numbers[] =
	"a list of numbers: a string \"1001, +1 555 1234\" or an array of strings";

static bool password_ok(const char *p)
{
	size_t n = strlen(p);
	return n >= API_PW_MIN && n <= API_PW_MAX;
}

static int password_bad(struct srv_req *r, const char *action, const char *object)
{
	char e[80];
	snprintf(e, sizeof(e), "a password of %d..%d bytes", API_PW_MIN, API_PW_MAX);
	return bad_field(r, action, object, "password", e);
}

int srv_user_create(struct srv_req *r)
{
	int rc;
	if (!admin_gate(r, API_ACT_ADMIN, "user.add", NULL, true, &rc))
		return rc;
	enum { F_NAME, F_PW, F_ROLE, F_NUMBERS, F_LISTEN, F__N };
	struct srv_jfield f[F__N] = {
		[F_NAME] = {.key = "name", .type = SRV_JSTR, .required = true},
		[F_PW] = {.key = "password", .type = SRV_JSTR, .required = true},
		[F_ROLE] = {.key = "role", .type = SRV_JSTR, .required = true},
		[F_NUMBERS] = {.key = "numbers", .type = SRV_JLIST},
		[F_LISTEN] = {.key = "can_listen", .type = SRV_JBOOL},
	};
	const char *bad;
	int err = srv_body_fields(&r->body, f, F__N, &bad);
	if (err == ES_ENOMEM)
		return unavailable(r, err);
	if (err)
		return bad_field(r, "user.add", NULL, bad,
				 "expected {\"name\", \"password\", \"role\", \"numbers\"?, "
				 "\"can_listen\"?: true|false}");
	enum api_role role;
	char norm[IDX_NUMBERS_MAX + 1];
	const char *numbers = f[F_NUMBERS].s ? f[F_NUMBERS].s : "";
	const char *name = f[F_NAME].s;
	if (!api_name_valid(name))
		rc = bad_field(r, "user.add", NULL, "name", k_expect_name);
	else if (api_role_parse(f[F_ROLE].s, &role))
		rc = bad_field(r, "user.add", name, "role", k_expect_role);
	else if (api_numbers_norm(numbers, norm, sizeof(norm)))
		rc = bad_field(r, "user.add", name, "numbers", k_expect_numbers);
	else if (!password_ok(f[F_PW].s))
		rc = password_bad(r, "user.add", name);
	else {
		const struct api_actor who = {r->user.name, r->remote};
		struct api_user u;
		err = api_user_add(r->ix, &who, name, role, numbers, f[F_LISTEN].b, f[F_PW].s,
				   srv_now_us(), &u);
		if (!err)
			rc = send_user(r, MHD_HTTP_CREATED, &u, false);
		else if (err == ES_EEXIST) /* audited by api_user_add */
			rc = srv_error(r, MHD_HTTP_CONFLICT, "exists", "name",
				       "a user of this name exists (names are compared in "
				       "any case)");
		else if (err == ES_EINVAL)
			rc = bad_field(r, "user.add", name, "body", "a valid user");
		else
			rc = unavailable(r, err);
	}
	srv_fields_free(f, F__N);
	return rc;
}

/* ---- /api/users/{name}[/password] ------------------------------------------------------ */

static int user_get(struct srv_req *r, const char *name)
{
	int rc;
	if (!admin_gate(r, API_ACT_ADMIN, "user.get", name, false, &rc))
		return rc;
	struct api_user u;
	int err = api_user_get(r->ix, name, &u);
	if (err == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such user");
	if (err)
		return unavailable(r, err);
	srv_audit(r, "user.get", u.name, API_AUDIT_OK, NULL);
	return send_user(r, MHD_HTTP_OK, &u, true);
}

static int user_patch(struct srv_req *r, const char *name)
{
	int rc;
	if (!admin_gate(r, API_ACT_ADMIN, "user.update", name, true, &rc))
		return rc;
	enum { F_ROLE, F_NUMBERS, F_LISTEN, F_DISABLED, F__N };
	struct srv_jfield f[F__N] = {
		[F_ROLE] = {.key = "role", .type = SRV_JSTR},
		[F_NUMBERS] = {.key = "numbers", .type = SRV_JLIST},
		[F_LISTEN] = {.key = "can_listen", .type = SRV_JBOOL},
		[F_DISABLED] = {.key = "disabled", .type = SRV_JBOOL},
	};
	const char *bad;
	int err = srv_body_fields(&r->body, f, F__N, &bad);
	if (err == ES_ENOMEM)
		return unavailable(r, err);
	if (err)
		return bad_field(r, "user.update", name, bad,
				 "expected any of {\"role\", \"numbers\", \"can_listen\": "
				 "true|false, \"disabled\": true|false}");
	struct api_user_patch p = {
		.set_role = f[F_ROLE].present,
		.set_numbers = f[F_NUMBERS].present,
		.numbers = f[F_NUMBERS].s,
		.set_can_listen = f[F_LISTEN].present,
		.can_listen = f[F_LISTEN].b,
		.set_disabled = f[F_DISABLED].present,
		.disabled = f[F_DISABLED].b,
	};
	char norm[IDX_NUMBERS_MAX + 1];
	struct api_user target;
	if (!p.set_role && !p.set_numbers && !p.set_can_listen && !p.set_disabled) {
		rc = bad_field(r, "user.update", name, "body", "nothing to change");
		goto out;
	}
	if (p.set_role && api_role_parse(f[F_ROLE].s, &p.role)) {
		rc = bad_field(r, "user.update", name, "role", k_expect_role);
		goto out;
	}
	if (p.set_numbers && api_numbers_norm(p.numbers, norm, sizeof(norm))) {
		rc = bad_field(r, "user.update", name, "numbers", k_expect_numbers);
		goto out;
	}
	if ((err = api_user_get(r->ix, name, &target))) {
		rc = err == ES_ENOTFOUND
			     ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such user")
			     : unavailable(r, err);
		goto out;
	}
	/* An admin who disables himself locks himself out at once; another
	 * admin must do it. */
	if (p.set_disabled && p.disabled && target.id == r->user.id) {
		srv_audit(r, "user.update", target.name, API_AUDIT_FAILED, "disabling oneself");
		rc = srv_error(r, MHD_HTTP_CONFLICT, "self", "disabled",
			       "you cannot disable yourself; ask another admin");
		goto out;
	}
	const struct api_actor who = {r->user.name, r->remote};
	struct api_user u;
	err = api_user_update(r->ix, &who, target.name, &p, srv_now_us(), &u);
	if (!err)
		rc = send_user(r, MHD_HTTP_OK, &u, false);
	else if (err == API_ELASTADMIN) /* audited by api_user_update */
		rc = srv_error(r, MHD_HTTP_CONFLICT, "last_admin", p.set_disabled ? "disabled" : "role",
			       "this would leave no enabled admin");
	else if (err == ES_ENOTFOUND)
		rc = srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such user");
	else if (err == ES_EINVAL)
		rc = bad_field(r, "user.update", name, "body", "valid values");
	else
		rc = unavailable(r, err);
out:
	srv_fields_free(f, F__N);
	return rc;
}

static int user_password(struct srv_req *r, const char *name)
{
	int rc;
	if (!admin_gate(r, API_ACT_ADMIN, "user.passwd", name, true, &rc))
		return rc;
	struct srv_jfield f = {.key = "password", .type = SRV_JSTR, .required = true};
	const char *bad;
	int err = srv_body_fields(&r->body, &f, 1, &bad);
	if (err == ES_ENOMEM)
		return unavailable(r, err);
	if (err)
		return bad_field(r, "user.passwd", name, bad, "expected {\"password\": PASSWORD}");
	if (!password_ok(f.s)) {
		rc = password_bad(r, "user.passwd", name);
		srv_fields_free(&f, 1);
		return rc;
	}
	const struct api_actor who = {r->user.name, r->remote};
	/* Ends the user's sessions and revokes their tokens in the same
	 * transaction (auth_users.c). */
	err = api_user_passwd(r->ix, &who, name, f.s, srv_now_us());
	srv_fields_free(&f, 1);
	struct api_user u;
	if (!err && !(err = api_user_get(r->ix, name, &u)))
		return send_user(r, MHD_HTTP_OK, &u, false);
	if (err == ES_ENOTFOUND) /* audited by api_user_passwd */
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "name", "no such user");
	if (err == ES_EINVAL)
		return password_bad(r, "user.passwd", name);
	return unavailable(r, err);
}

int srv_user_route(struct srv_req *r, const char *rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *sub = slash ? slash + 1 : NULL;
	if (sub && strcmp(sub, "password") && strcmp(sub, "tokens") && strcmp(sub, "totp"))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	char name[IDX_NAME_MAX + 1];
	if (n == 0 || n > IDX_NAME_MAX)
		name[0] = 0;
	else
		memcpy(name, rest, n), name[n] = 0;
	if (!api_name_valid(name)) {
		/* Who may ask is checked first: a stranger learns nothing. */
		int rc;
		if (!admin_gate(r, API_ACT_ADMIN, "user.get", NULL, false, &rc))
			return rc;
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "name", k_expect_name);
	}
	if (sub && !strcmp(sub, "tokens"))
		return srv_user_tokens(r, name);
	if (sub && !strcmp(sub, "totp"))
		return srv_user_totp_reset(r, name);
	if (sub) {
		if (!strcmp(m, "POST"))
			return user_password(r, name);
		return srv_method_not_allowed(r, "POST");
	}
	if (get)
		return user_get(r, name);
	if (!strcmp(m, "PATCH"))
		return user_patch(r, name);
	return srv_method_not_allowed(r, "GET, HEAD, PATCH");
}

/* ---- GET /api/rules --------------------------------------------------------------------- */

int srv_rules(struct srv_req *r)
{
	int rc;
	if (!admin_gate(r, API_ACT_AUDIT_READ, "rules.read", NULL, false, &rc))
		return rc;
	bool oom;
	char *configured = srv_rules_json_copy(r->srv, &oom);
	if (oom)
		return unavailable(r, ES_ENOMEM);
	const char *rules = configured;
	char *none = NULL;
	size_t len = 0;
	if (!rules) { /* no configuration: what the recorder does without one */
		FILE *f = open_memstream(&none, &len);
		struct es_json j;
		int err = ES_ENOMEM;
		if (f) {
			es_json_init(&j, f, false);
			err = pol_rules_json(NULL, &j);
		}
		if (!f || fclose(f) || err) {
			free(none);
			return unavailable(r, ES_ENOMEM);
		}
		rules = none;
	}
	/* rules is one JSON object: "configured" goes in front of its keys. */
	const char *body = rules;
	while (*body == ' ' || *body == '\n' || *body == '\t' || *body == '\r')
		body++;
	if (*body != '{') {
		free(none);
		free(configured);
		return unavailable(r, ES_EFORMAT);
	}
	body++;
	while (*body == ' ' || *body == '\n' || *body == '\t' || *body == '\r')
		body++;
	srv_audit(r, "rules.read", NULL, API_AUDIT_OK, configured ? NULL : "none");
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		free(none);
		free(configured);
		return MHD_NO;
	}
	fprintf(o.f, "{\"configured\":%s%s%s", configured ? "true" : "false",
		*body == '}' ? "" : ",", body);
	free(none);
	free(configured);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}
