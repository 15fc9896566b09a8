/*
 * handlers_teams.c - teams and the supervisor's scope over the API (issue
 * #18; api/teams.h), and the scope applied to every call check:
 *   GET    /api/teams                        the teams, their member counts,
 *                                            every membership, the default scope
 *   POST   /api/teams                        {name}: 201
 *   GET    /api/teams/{name}                 one team and its members
 *   DELETE /api/teams/{name}                 with its memberships
 *   POST   /api/teams/{name}/members         {user, kind: agent|supervisor}: 201
 *   DELETE /api/teams/{name}/members/{user}  ?kind=agent (default) | supervisor
 *   GET    /api/scopes/{user}                {user, scope, effective}
 *   PUT    /api/scopes/{user}                {scope: all|teams|default}
 * All need API_ACT_ADMIN (a denial is audited and answered 403); every
 * change is audited by api/teams.c in its own transaction.
 *
 * The scope: a supervisor limited to their teams gets, at authentication,
 * the list of their teams' agents' numbers; srv_call_own matches a call's
 * parties against it exactly as an agent's own numbers are matched, and
 * srv_may turns the supervisor's "all" grants into "own" ones, so every
 * per-call endpoint (srv_allow_call), the search and the live list apply
 * it where they apply the agent's own-call rule.
 */
#include "api/server_internal.h"
#include "api/teams.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the scope -------------------------------------------------------------------- */

bool srv_scope_load(struct srv_req *r, int *rc)
{
	free(r->scope_numbers);
	r->scope_numbers = NULL;
	r->scoped = false;
	int err = api_scope_numbers(r->ix, &r->user, r->srv->cfg.supervisor_scope_teams,
				    &r->scoped, &r->scope_numbers);
	if (!err)
		return true;
	/* fail closed: without the list nothing can be decided */
	ES_LOG_ERR("api", "scope of %s: %s", r->user.name,
		   err == ES_ENOMEM ? "out of memory" : idx_errmsg(r->ix));
	r->scoped = false;
	*rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
			"the index failed");
	return false;
}

static const char *own_numbers(const struct srv_req *r)
{
	return r->scoped ? (r->scope_numbers ? r->scope_numbers : "") : r->user.numbers;
}

bool srv_call_own(const struct srv_req *r, const struct idx_call *c)
{
	return api_call_is_own(own_numbers(r), c);
}

bool srv_party_own(const struct srv_req *r, const char *user, const char *uri)
{
	return api_party_matches(own_numbers(r), user, uri);
}

/* The actions on calls a scope limits (the rest are not about one call). */
static bool on_calls(enum api_action act)
{
	switch (act) {
	case API_ACT_SEARCH:
	case API_ACT_VIEW:
	case API_ACT_LISTEN:
	case API_ACT_EXPORT:
	case API_ACT_TAG:
	case API_ACT_VERIFY:
	case API_ACT_REDACT:
	case API_ACT_ORIGINAL:
	case API_ACT_EVALUATE:
		return true;
	default:
		return false;
	}
}

bool srv_may(const struct srv_req *r, enum api_action act, bool own)
{
	if (r->scoped && on_calls(act) && !own)
		return false;
	return api_allow(r->user.role, r->user.can_listen, act, own);
}

/* ---- helpers ---------------------------------------------------------------------- */

static bool json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;
	return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* Authenticate, check params, require admin (audited as action on object);
 * a body: application/json. */
static bool gate(struct srv_req *r, const char *const *params, const char *action,
		 const char *object, bool body, int *rc)
{
	if (!srv_begin(r, params, rc) || !srv_allow(r, API_ACT_ADMIN, false, action, object, rc))
		return false;
	if (body && !json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		srv_audit(r, action, object, API_AUDIT_FAILED, "not application/json");
		*rc = srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				"send application/json");
		return false;
	}
	return true;
}

/* The answer to an api/teams.h change's error. */
static int change_error(struct srv_req *r, int err, const char *what, const char *param)
{
	switch (err) {
	case ES_EINVAL:
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", param,
				 "%s: letters, digits, '.', '_', '-', '@' (at most %d), of the "
				 "role the membership's kind names", what, IDX_NAME_MAX);
	case ES_ENOTFOUND:
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", param, "no such %s", what);
	case ES_EEXIST:
		return srv_error(r, MHD_HTTP_CONFLICT, "exists", param, "%s exists already", what);
	case ES_ELIMIT:
		return srv_error(r, MHD_HTTP_CONFLICT, "limit", NULL, "at most %d teams",
				 IDX_TEAMS_MAX);
	default:
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
}

static int send_ok(struct srv_req *r, unsigned status)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "ok"); es_json_bool(&o.j, true);
	es_json_obj_end(&o.j);
	return srv_json_send(r, status, &o);
}

static struct api_actor actor(struct srv_req *r)
{
	return (struct api_actor){r->user.name, r->remote};
}

/* ---- teams ------------------------------------------------------------------------- */

static int team_row(void *ud, const struct idx_team *t)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "name"); es_json_str(j, t->name);
	es_json_key(j, "created"); api_json_time(j, t->created_us);
	es_json_key(j, "agents"); es_json_int(j, t->agents);
	es_json_key(j, "supervisors"); es_json_int(j, t->supervisors);
	es_json_obj_end(j);
	return 0;
}

static int member_row(void *ud, const struct idx_team_member *m)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "team"); es_json_str(j, m->team);
	es_json_key(j, "user"); es_json_str(j, m->user);
	es_json_key(j, "kind"); es_json_str(j, m->kind);
	es_json_key(j, "numbers"); api_json_list(j, m->numbers);
	es_json_obj_end(j);
	return 0;
}

/* GET /api/teams (team NULL) or /api/teams/{team}. */
static int teams_get(struct srv_req *r, const char *team)
{
	int rc;
	if (!gate(r, NULL, team ? "team.view" : "team.list", team, false, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	int err = 0;
	es_json_obj_begin(&o.j);
	if (team) {
		es_json_key(&o.j, "name"); es_json_str(&o.j, team);
	} else {
		es_json_key(&o.j, "default_scope");
		es_json_str(&o.j, r->srv->cfg.supervisor_scope_teams ? "teams" : "all");
		es_json_key(&o.j, "teams");
		es_json_arr_begin(&o.j);
		err = idx_teams_list(r->ix, team_row, &o.j);
		es_json_arr_end(&o.j);
	}
	es_json_key(&o.j, "members");
	es_json_arr_begin(&o.j);
	if (!err)
		err = idx_team_members(r->ix, team, member_row, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return change_error(r, err, "team", "name");
	}
	srv_audit(r, team ? "team.view" : "team.list", team, API_AUDIT_OK, NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int team_create(struct srv_req *r)
{
	int rc;
	if (!gate(r, NULL, "team.add", NULL, true, &rc))
		return rc;
	char *name = NULL;
	if (srv_body_one(&r->body, "name", &name)) {
		srv_audit(r, "team.add", NULL, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "name",
				 "expected {\"name\": TEAM}");
	}
	struct api_actor who = actor(r);
	int err = api_team_add(r->ix, &who, name, srv_now_us());
	rc = err ? change_error(r, err, "team", "name") : send_ok(r, MHD_HTTP_CREATED);
	free(name);
	return rc;
}

static int team_delete(struct srv_req *r, const char *team)
{
	int rc;
	if (!gate(r, NULL, "team.delete", team, false, &rc))
		return rc;
	struct api_actor who = actor(r);
	int err = api_team_delete(r->ix, &who, team, srv_now_us());
	return err ? change_error(r, err, "team", "name") : send_ok(r, MHD_HTTP_OK);
}

static int member_add(struct srv_req *r, const char *team)
{
	int rc;
	if (!gate(r, NULL, "team.member.add", team, true, &rc))
		return rc;
	struct srv_jfield f[] = {{.key = "user", .type = SRV_JSTR, .required = true},
				 {.key = "kind", .type = SRV_JSTR}};
	const char *bad;
	if (srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad)) {
		srv_audit(r, "team.member.add", team, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"user\": NAME, \"kind\": \"agent\"|\"supervisor\"}");
	}
	const char *kind = f[1].present ? f[1].s : "agent";
	struct api_actor who = actor(r);
	int err = api_team_member(r->ix, &who, team, f[0].s, kind, true, srv_now_us());
	rc = err ? change_error(r, err, err == ES_EEXIST ? "membership" : "team or user", "user")
		 : send_ok(r, MHD_HTTP_CREATED);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	return rc;
}

static int member_remove(struct srv_req *r, const char *team, const char *user)
{
	static const char *const params[] = {"kind", NULL};
	int rc;
	if (!gate(r, params, "team.member.remove", team, false, &rc))
		return rc;
	const char *kind = srv_arg(r, "kind");
	struct api_actor who = actor(r);
	int err = api_team_member(r->ix, &who, team, user, kind ? kind : "agent", false,
				  srv_now_us());
	return err ? change_error(r, err, "membership", err == ES_EINVAL ? "kind" : "user")
		   : send_ok(r, MHD_HTTP_OK);
}

/* A path segment of 1..IDX_NAME_MAX bytes into out (a valid name or ""). */
static const char *segment(const char *s, size_t n, char out[IDX_NAME_MAX + 1])
{
	out[0] = 0;
	if (n && n <= IDX_NAME_MAX) {
		memcpy(out, s, n);
		out[n] = 0;
	}
	if (!api_name_valid(out))
		out[0] = 0;
	return out;
}

int srv_teams_route(struct srv_req *r, const char *rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (!rest || !*rest) {
		if (get)
			return teams_get(r, NULL);
		return !strcmp(m, "POST") ? team_create(r)
					  : srv_method_not_allowed(r, "GET, HEAD, POST");
	}
	const char *slash = strchr(rest, '/');
	char team[IDX_NAME_MAX + 1], user[IDX_NAME_MAX + 1];
	segment(rest, slash ? (size_t)(slash - rest) : strlen(rest), team);
	const char *sub = slash ? slash + 1 : NULL;
	static const char members[] = "members";
	bool is_members = sub && !strncmp(sub, members, sizeof(members) - 1) &&
			  (!sub[sizeof(members) - 1] || sub[sizeof(members) - 1] == '/');
	if (sub && !is_members)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	if (!*team) {
		int rc; /* who may ask first: a stranger learns nothing */
		if (!gate(r, NULL, "team.view", NULL, false, &rc))
			return rc;
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "name",
				 "a team name: letters, digits, '.', '_', '-', '@'");
	}
	if (!sub) {
		if (get)
			return teams_get(r, team);
		return !strcmp(m, "DELETE") ? team_delete(r, team)
					    : srv_method_not_allowed(r, "GET, HEAD, DELETE");
	}
	const char *who = sub[sizeof(members) - 1] ? sub + sizeof(members) : NULL;
	if (!who || !*who)
		return !strcmp(m, "POST") ? member_add(r, team) : srv_method_not_allowed(r, "POST");
	if (strchr(who, '/') || !*segment(who, strlen(who), user)) {
		int rc;
		if (!gate(r, NULL, "team.member.remove", team, false, &rc))
			return rc;
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "user", "a user name");
	}
	return !strcmp(m, "DELETE") ? member_remove(r, team, user)
				    : srv_method_not_allowed(r, "DELETE");
}

/* ---- a user's scope ---------------------------------------------------------------- */

static int scope_get(struct srv_req *r, const char *name)
{
	int rc;
	if (!gate(r, NULL, "user.scope.view", name, false, &rc))
		return rc;
	struct api_user u;
	enum api_scope s = API_SCOPE_DEFAULT;
	int err = api_user_get(r->ix, name, &u);
	if (!err)
		err = api_user_scope_get(r->ix, u.id, &s);
	if (err)
		return change_error(r, err, "user", "user");
	bool teams = u.role == API_ROLE_SUPERVISOR &&
		     (s == API_SCOPE_TEAMS ||
		      (s == API_SCOPE_DEFAULT && r->srv->cfg.supervisor_scope_teams));
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "user"); es_json_str(&o.j, u.name);
	es_json_key(&o.j, "scope"); es_json_str(&o.j, api_scope_name(s));
	es_json_key(&o.j, "effective"); es_json_str(&o.j, teams ? "teams" : "all");
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int scope_put(struct srv_req *r, const char *name)
{
	int rc;
	if (!gate(r, NULL, "user.scope", name, true, &rc))
		return rc;
	char *v = NULL;
	enum api_scope s;
	if (srv_body_one(&r->body, "scope", &v) || api_scope_parse(v, &s)) {
		free(v);
		srv_audit(r, "user.scope", name, API_AUDIT_FAILED, "bad scope");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "scope",
				 "expected {\"scope\": \"all\"|\"teams\"|\"default\"}");
	}
	free(v);
	struct api_actor who = actor(r);
	int err = api_user_scope_set(r->ix, &who, name, s, srv_now_us());
	return err ? change_error(r, err, "user", "user") : scope_get(r, name);
}

int srv_scopes_route(struct srv_req *r, const char *rest)
{
	char name[IDX_NAME_MAX + 1];
	if (!rest || strchr(rest, '/') || !*segment(rest, strlen(rest), name)) {
		int rc;
		if (!gate(r, NULL, "user.scope.view", NULL, false, &rc))
			return rc;
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL,
				 "/api/scopes/{user}: a user name");
	}
	const char *m = r->method;
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return scope_get(r, name);
	return !strcmp(m, "PUT") ? scope_put(r, name) : srv_method_not_allowed(r, "GET, HEAD, PUT");
}
