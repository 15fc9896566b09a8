/*
 * teams.c - teams of agents and supervisors, and a user's own scope
 * (schema IDX_MIG_QA).  Storage only: api/ checks names, decides who may
 * change a team and what a supervisor's scope lets them see.  Statements
 * are prepared per call (one per request), as in users.c.
 */
#include "index/index_internal.h"

#include <string.h>

/* ---- teams ------------------------------------------------------------------- */

int idx_team_add(struct idx *ix, const char *name, int64_t now_us, int64_t *id)
{
	struct idx_st *st = idx_prep(ix, "SELECT count(*) FROM teams");
	if (!st)
		return ES_EDB;
	int rc = db_step(st), err = 0;
	if (rc != DB_ROW)
		err = idx_fail(ix, "teams count");
	else if (db_col_int64(st, 0) >= IDX_TEAMS_MAX)
		err = ES_ELIMIT;
	db_finalize(st);
	if (err)
		return err;
	if (!(st = idx_prep(ix, "INSERT INTO teams (name, created_us) VALUES (?, ?) RETURNING id")))
		return ES_EDB;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, now_us);
	rc = db_step(st);
	if (rc == DB_ROW)
		*id = db_col_int64(st, 0);
	else if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else
		err = idx_fail(ix, "team add");
	db_finalize(st);
	return err;
}

int idx_team_del(struct idx *ix, const char *name)
{
	/* the memberships go with it (ON DELETE CASCADE, foreign keys on) */
	struct idx_st *st = idx_prep(ix, "DELETE FROM teams WHERE name = ?");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, name);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "team delete");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_teams_list(struct idx *ix, idx_team_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(
		ix, "SELECT t.id, t.name, t.created_us,"
		    " (SELECT count(*) FROM team_members m WHERE m.team_id = t.id AND m.kind = 'agent'),"
		    " (SELECT count(*) FROM team_members m WHERE m.team_id = t.id"
		    "  AND m.kind = 'supervisor')"
		    " FROM teams t ORDER BY t.name");
	if (!st)
		return ES_EDB;
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 1);
		struct idx_team t = {.id = db_col_int64(st, 0),
				     .name = name ? name : "",
				     .created_us = db_col_int64(st, 2),
				     .agents = db_col_int64(st, 3),
				     .supervisors = db_col_int64(st, 4)};
		if ((err = fn(ud, &t)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "teams list");
	db_finalize(st);
	return err;
}

/* The id of team name: ES_ENOTFOUND. */
static int team_id(struct idx *ix, const char *name, int64_t *id)
{
	struct idx_st *st = idx_prep(ix, "SELECT id FROM teams WHERE name = ?");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, name);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		*id = db_col_int64(st, 0);
	else if (rc == DB_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "team lookup");
	db_finalize(st);
	return err;
}

/* ---- memberships -------------------------------------------------------------- */

int idx_team_member_set(struct idx *ix, const char *team, int64_t user_id, const char *kind,
			bool add)
{
	int64_t tid = 0;
	int err = team_id(ix, team, &tid);
	if (err)
		return err;
	struct idx_st *st = idx_prep(
		ix, add ? "INSERT INTO team_members (team_id, user_id, kind) VALUES (?, ?, ?)"
			: "DELETE FROM team_members WHERE team_id = ? AND user_id = ? AND kind = ?");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, tid);
	db_bind_int64(st, 2, user_id);
	db_bind_text(st, 3, kind);
	int rc = db_step(st);
	if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc == DB_ECHECK)
		err = ES_EINVAL;
	else if (rc != DB_DONE)
		err = idx_fail(ix, "team member");
	db_finalize(st);
	if (!err && !add && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_team_members(struct idx *ix, const char *team, idx_team_member_fn fn, void *ud)
{
	int64_t tid = 0;
	int err;
	if (team && (err = team_id(ix, team, &tid)))
		return err;
	struct idx_st *st = idx_prep(
		ix, "SELECT t.name, u.name, m.kind, u.role, u.numbers FROM team_members m"
		    " JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id"
		    " WHERE ? = 0 OR m.team_id = ? ORDER BY t.name, m.kind, u.name");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, tid);
	db_bind_int64(st, 2, tid);
	int rc;
	err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_team_member m = {db_col_text(st, 0), db_col_text(st, 1),
					    db_col_text(st, 2), db_col_text(st, 3),
					    db_col_text(st, 4)};
		if (!m.numbers)
			m.numbers = "";
		if ((err = fn(ud, &m)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "team members");
	db_finalize(st);
	return err;
}

int idx_team_scope_numbers(struct idx *ix, int64_t user_id, idx_numbers_fn fn, void *ud)
{
	/* an agent in two of the supervisor's teams is handed over once; a
	 * disabled agent's calls stay in scope (their calls remain the
	 * team's), so no filter on disabled */
	struct idx_st *st = idx_prep(
		ix, "SELECT DISTINCT u.name, u.numbers FROM team_members s"
		    " JOIN team_members a ON a.team_id = s.team_id AND a.kind = 'agent'"
		    " JOIN users u ON u.id = a.user_id"
		    " WHERE s.user_id = ? AND s.kind = 'supervisor' ORDER BY u.name");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 0), *numbers = db_col_text(st, 1);
		if ((err = fn(ud, name ? name : "", numbers ? numbers : "")))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "team scope");
	db_finalize(st);
	return err;
}

/* ---- a user's own scope ----------------------------------------------------------- */

int idx_user_scope_get(struct idx *ix, int64_t user_id, char out[8])
{
	out[0] = 0;
	struct idx_st *st = idx_prep(ix, "SELECT scope FROM user_scopes WHERE user_id = ?");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW) {
		const char *s = db_col_text(st, 0);
		snprintf(out, 8, "%s", s ? s : "");
	} else if (rc != DB_DONE) {
		err = idx_fail(ix, "user scope");
	}
	db_finalize(st);
	return err;
}

int idx_user_scope_set(struct idx *ix, int64_t user_id, const char *scope)
{
	bool clear = !scope || !*scope;
	struct idx_st *st = idx_prep(
		ix, clear ? "DELETE FROM user_scopes WHERE user_id = ?"
			  : "INSERT INTO user_scopes (user_id, scope) VALUES (?, ?)"
			    " ON CONFLICT (user_id) DO UPDATE SET scope = excluded.scope");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	if (!clear)
		db_bind_text(st, 2, scope);
	int rc = db_step(st), err = 0;
	if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc == DB_ECHECK)
		err = ES_EINVAL;
	else if (rc != DB_DONE)
		err = idx_fail(ix, "user scope set");
	db_finalize(st);
	return err;
}
