/*
 * teams.c - teams, memberships and a user's scope, each change audited in
 * its own transaction; and the number list a scoped supervisor's calls are
 * matched with (api/teams.h).
 */
#include "api/teams.h"
#include "api/auth_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[] = {
	[API_SCOPE_DEFAULT] = "default",
	[API_SCOPE_ALL] = "all",
	[API_SCOPE_TEAMS] = "teams",
};

const char *api_scope_name(enum api_scope s)
{
	return (unsigned)s < ES_ARRAY_LEN(scope_names) ? scope_names[s] : NULL;
}

int api_scope_parse(const char *s, enum api_scope *out)
{
	for (unsigned i = 0; s && i < ES_ARRAY_LEN(scope_names); i++)
		if (!strcmp(s, scope_names[i])) {
			*out = (enum api_scope)i;
			return 0;
		}
	return ES_EINVAL;
}

/* One audited change: change(ix, arg) and its audit entry in one
 * transaction; a change refused for a reason of the request (no such
 * team or user, taken, already a member) is audited "failed". */
typedef int (*team_change_fn)(struct idx *ix, const void *arg);

static int audited(struct idx *ix, const struct api_actor *who, const char *action,
		   const char *object, const char *detail, team_change_fn change, const void *arg,
		   int64_t now_us)
{
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = change(ix, arg)) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), action, object,
				       auth_actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix))) {
		idx_rollback(ix);
		if (err == ES_ENOTFOUND || err == ES_EEXIST || err == ES_ELIMIT || err == ES_EINVAL)
			auth_audit_failed(ix, who, now_us, action, object, err);
		return err;
	}
	return 0;
}

struct team_arg {
	const char *team;
	int64_t now_us;
	int64_t user_id;
	const char *user, *kind;
	bool add;
	const char *scope;
};

static int do_add(struct idx *ix, const void *arg)
{
	const struct team_arg *a = arg;
	int64_t id;
	return idx_team_add(ix, a->team, a->now_us, &id);
}

static int do_delete(struct idx *ix, const void *arg)
{
	return idx_team_del(ix, ((const struct team_arg *)arg)->team);
}

int api_team_add(struct idx *ix, const struct api_actor *who, const char *team, int64_t now_us)
{
	if (!api_name_valid(team))
		return ES_EINVAL;
	struct team_arg a = {.team = team, .now_us = now_us};
	return audited(ix, who, "team.add", team, NULL, do_add, &a, now_us);
}

int api_team_delete(struct idx *ix, const struct api_actor *who, const char *team,
		    int64_t now_us)
{
	if (!api_name_valid(team))
		return ES_EINVAL;
	struct team_arg a = {.team = team};
	return audited(ix, who, "team.delete", team, NULL, do_delete, &a, now_us);
}

/* The user (any case) inside the transaction, with the role the kind of
 * membership needs. */
static int do_member(struct idx *ix, const void *arg)
{
	const struct team_arg *a = arg;
	struct idx_user u;
	int err = idx_user_get(ix, a->user, &u);
	if (err)
		return err;
	sodium_memzero(u.pwhash, sizeof(u.pwhash));
	if (a->add && strcmp(u.role, a->kind))
		return ES_EINVAL;
	return idx_team_member_set(ix, a->team, u.id, a->kind, a->add);
}

int api_team_member(struct idx *ix, const struct api_actor *who, const char *team,
		    const char *user, const char *kind, bool add, int64_t now_us)
{
	if (!api_name_valid(team) || !api_name_valid(user) || !kind ||
	    (strcmp(kind, "agent") && strcmp(kind, "supervisor")))
		return ES_EINVAL;
	char detail[IDX_NAME_MAX + 16];
	snprintf(detail, sizeof(detail), "%s %s", kind, user);
	struct team_arg a = {.team = team, .user = user, .kind = kind, .add = add};
	return audited(ix, who, add ? "team.member.add" : "team.member.remove", team, detail,
		       do_member, &a, now_us);
}

static int do_scope(struct idx *ix, const void *arg)
{
	const struct team_arg *a = arg;
	struct idx_user u;
	int err = idx_user_get(ix, a->user, &u);
	if (err)
		return err;
	sodium_memzero(u.pwhash, sizeof(u.pwhash));
	return idx_user_scope_set(ix, u.id, a->scope);
}

int api_user_scope_set(struct idx *ix, const struct api_actor *who, const char *user,
		       enum api_scope scope, int64_t now_us)
{
	if (!api_name_valid(user) || !api_scope_name(scope))
		return ES_EINVAL;
	struct team_arg a = {.user = user,
			     .scope = scope == API_SCOPE_DEFAULT ? NULL : api_scope_name(scope)};
	return audited(ix, who, "user.scope", user, api_scope_name(scope), do_scope, &a, now_us);
}

int api_user_scope_get(struct idx *ix, int64_t user_id, enum api_scope *out)
{
	char s[8];
	int err = idx_user_scope_get(ix, user_id, s);
	if (err)
		return err;
	*out = API_SCOPE_DEFAULT;
	if (*s && api_scope_parse(s, out))
		return ES_EFORMAT; /* the CHECK constraint makes this a damaged row */
	return 0;
}

/* ---- a scoped supervisor's numbers ------------------------------------------------ */

static int add_numbers(void *ud, const char *user, const char *numbers)
{
	(void)user;
	struct es_buf *b = ud;
	if (!*numbers)
		return 0;
	if ((b->len && es_buf_append(b, ",", 1)) || es_buf_append(b, numbers, strlen(numbers)))
		return ES_ENOMEM;
	return 0;
}

int api_scope_numbers(struct idx *ix, const struct api_user *u, bool teams_default,
		      bool *scoped, char **numbers)
{
	*scoped = false;
	*numbers = NULL;
	if (u->role != API_ROLE_SUPERVISOR)
		return 0;
	enum api_scope s;
	int err = api_user_scope_get(ix, u->id, &s);
	if (err)
		return err;
	if (s == API_SCOPE_ALL || (s == API_SCOPE_DEFAULT && !teams_default))
		return 0;
	struct es_buf b;
	es_buf_init(&b);
	/* the lists are normalised already (api_numbers_norm), so a comma
	 * join of them is one list api_party_matches reads */
	if ((err = add_numbers(&b, u->name, u->numbers)) ||
	    (err = idx_team_scope_numbers(ix, u->id, add_numbers, &b)) ||
	    (err = es_buf_append(&b, "", 1) ? ES_ENOMEM : 0)) {
		es_buf_free(&b);
		return err;
	}
	*numbers = (char *)b.p; /* es_buf's storage is malloc'd: handed over */
	*scoped = true;
	return 0;
}
