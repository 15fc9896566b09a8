/*
 * teams.h - teams of agents and supervisors, and the supervisor's scope
 * (issue #18).  A team has agents (their calls are the team's: a party of
 * the call is one of the agent's numbers, matched as the agent's own-call
 * rule matches, api_party_matches) and supervisors.  A supervisor whose
 * scope is "teams" (their own setting, else the server's [api]
 * supervisor_scope) searches, views, plays, exports, tags and verifies
 * only the calls of the agents of the teams they supervise (and their own
 * numbers' calls): the server treats those calls as the supervisor's
 * "own" and every other call as an agent's foreign call (api_allow's OWN
 * grant), at the same check (api/server_internal.h srv_allow_call).
 *
 * Every change is audited in the same transaction: "team.add",
 * "team.delete" (object the team), "team.member.add", "team.member.remove"
 * (object the team, detail "agent NAME" / "supervisor NAME"), "user.scope"
 * (object the user, detail the new scope).
 */
#ifndef ES_API_TEAMS_H
#define ES_API_TEAMS_H

#include "api/api.h"

enum api_scope { API_SCOPE_DEFAULT = 0, API_SCOPE_ALL, API_SCOPE_TEAMS };
/* "default" (none set: the server's), "all", "teams". */
const char *api_scope_name(enum api_scope s);
int api_scope_parse(const char *s, enum api_scope *out); /* ES_EINVAL */

/* ES_EINVAL: a bad name (as user names: api_name_valid); ES_EEXIST;
 * ES_ELIMIT (IDX_TEAMS_MAX); ES_ENOTFOUND. */
int api_team_add(struct idx *ix, const struct api_actor *who, const char *team, int64_t now_us);
int api_team_delete(struct idx *ix, const struct api_actor *who, const char *team,
		    int64_t now_us);
/* Add or remove user as kind ("agent" or "supervisor") of team.  An agent
 * member must have the agent role, a supervisor member the supervisor
 * role (ES_EINVAL otherwise: a team's calls are found through its agents'
 * numbers).  ES_ENOTFOUND: no such team, user or (remove) membership;
 * ES_EEXIST: already one. */
int api_team_member(struct idx *ix, const struct api_actor *who, const char *team,
		    const char *user, const char *kind, bool add, int64_t now_us);
/* A user's own scope (API_SCOPE_DEFAULT clears it).  ES_ENOTFOUND. */
int api_user_scope_set(struct idx *ix, const struct api_actor *who, const char *user,
		       enum api_scope scope, int64_t now_us);
int api_user_scope_get(struct idx *ix, int64_t user_id, enum api_scope *out);

/* Is u limited to their teams' calls (a supervisor with scope "teams", or
 * none set and teams_default)?  If so *numbers (malloc'd, the caller
 * frees) is the comma list their calls are matched with: their own numbers
 * and those of every agent of the teams they supervise ("" when none: no
 * call is theirs).  Else *numbers is NULL. */
int api_scope_numbers(struct idx *ix, const struct api_user *u, bool teams_default,
		      bool *scoped, char **numbers);

#endif /* ES_API_TEAMS_H */
