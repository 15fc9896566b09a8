/*
 * users.c - the access-control tables of schema v5 (v8: token expiry and
 * revocation times): users, API tokens,
 * sessions and the audit log.  Storage only; api/ decides what is allowed
 * and computes every hash.
 *
 * These statements are prepared per call (sqlite3_prepare_v2) rather than
 * cached in index.c's table: they run once per login, request or admin
 * change, where a prepare (tens of microseconds) does not show, and keeping
 * them here leaves the call path's statement cache untouched.
 */
#include "index/index_internal.h"

#include <string.h>

static int prep(struct idx *ix, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return idx_fail(ix, "prepare");
	}
	return 0;
}

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Step a statement that returns no row and finalize it.  A UNIQUE or
 * PRIMARY KEY conflict is ES_EEXIST. */
static int done(struct idx *ix, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = ES_EEXIST;
	else if (rc != SQLITE_DONE)
		err = idx_fail(ix, what);
	sqlite3_finalize(st);
	return err;
}

/* done() for an UPDATE/DELETE of one row by key: ES_ENOTFOUND when no row
 * changed. */
static int done_one(struct idx *ix, sqlite3_stmt *st, const char *what)
{
	int err = done(ix, st, what);
	if (!err && sqlite3_changes(ix->db) == 0)
		err = ES_ENOTFOUND;
	return err;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", s ? s : "");
}

static const char *col_or_empty(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* ---- users ------------------------------------------------------------------ */

#define USER_COLS \
	"SELECT id, name, pwhash, role, numbers, can_listen, disabled, created_us," \
	" updated_us FROM users"

static void read_user(sqlite3_stmt *st, struct idx_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, u->name, sizeof(u->name));
	col_copy(st, 2, u->pwhash, sizeof(u->pwhash));
	col_copy(st, 3, u->role, sizeof(u->role));
	col_copy(st, 4, u->numbers, sizeof(u->numbers));
	u->can_listen = sqlite3_column_int(st, 5) != 0;
	u->disabled = sqlite3_column_int(st, 6) != 0;
	u->created_us = sqlite3_column_int64(st, 7);
	u->updated_us = sqlite3_column_int64(st, 8);
}

int idx_user_insert(struct idx *ix, struct idx_user *u)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "INSERT INTO users (name, pwhash, role, numbers, can_listen, disabled,"
		       " created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, u->name);
	bind_str(st, 2, u->pwhash);
	bind_str(st, 3, u->role);
	bind_str(st, 4, u->numbers);
	sqlite3_bind_int(st, 5, u->can_listen);
	sqlite3_bind_int(st, 6, u->disabled);
	sqlite3_bind_int64(st, 7, u->created_us);
	sqlite3_bind_int64(st, 8, u->updated_us);
	if (!(err = done(ix, st, "insert user")))
		u->id = sqlite3_last_insert_rowid(ix->db);
	return err;
}

int idx_user_update(struct idx *ix, const struct idx_user *u)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "UPDATE users SET pwhash = ?2, role = ?3, numbers = ?4, can_listen = ?5,"
		       " disabled = ?6, updated_us = ?7 WHERE id = ?1",
		       &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, u->id);
	bind_str(st, 2, u->pwhash);
	bind_str(st, 3, u->role);
	bind_str(st, 4, u->numbers);
	sqlite3_bind_int(st, 5, u->can_listen);
	sqlite3_bind_int(st, 6, u->disabled);
	sqlite3_bind_int64(st, 7, u->updated_us);
	return done_one(ix, st, "update user");
}

/* One user row of a prepared, bound statement, finalized. */
static int one_user(struct idx *ix, sqlite3_stmt *st, struct idx_user *out)
{
	int rc = sqlite3_step(st), err = 0;
	if (rc == SQLITE_ROW)
		read_user(st, out);
	else if (rc == SQLITE_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "read user");
	sqlite3_finalize(st);
	return err;
}

int idx_user_get(struct idx *ix, const char *name, struct idx_user *out)
{
	sqlite3_stmt *st;
	int err = prep(ix, USER_COLS " WHERE name = ?1", &st);
	if (err)
		return err;
	bind_str(st, 1, name);
	return one_user(ix, st, out);
}

int idx_user_get_id(struct idx *ix, int64_t id, struct idx_user *out)
{
	sqlite3_stmt *st;
	int err = prep(ix, USER_COLS " WHERE id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	return one_user(ix, st, out);
}

int idx_users_list(struct idx *ix, idx_user_fn fn, void *ud)
{
	sqlite3_stmt *st;
	int err = prep(ix, USER_COLS " ORDER BY name", &st), rc;
	if (err)
		return err;
	struct idx_user u;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_user(st, &u);
		if ((err = fn(ud, &u)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = idx_fail(ix, "list users");
	sqlite3_finalize(st);
	return err;
}

/* ---- API tokens ----------------------------------------------------------------- */

#define TOKEN_COLS \
	"SELECT id, user_id, token_hash, label, created_us, last_used_us, revoked," \
	" expires_us, revoked_us, revoked_why FROM api_tokens"

static void read_token(sqlite3_stmt *st, struct idx_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	t->user_id = sqlite3_column_int64(st, 1);
	col_copy(st, 2, t->hash, sizeof(t->hash));
	col_copy(st, 3, t->label, sizeof(t->label));
	t->created_us = sqlite3_column_int64(st, 4);
	t->last_used_us = sqlite3_column_int64(st, 5);
	t->revoked = sqlite3_column_int(st, 6) != 0;
	t->expires_us = sqlite3_column_int64(st, 7);
	t->revoked_us = sqlite3_column_int64(st, 8);
	col_copy(st, 9, t->revoked_why, sizeof(t->revoked_why));
}

int idx_token_insert(struct idx *ix, struct idx_token *t)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "INSERT INTO api_tokens (user_id, token_hash, label, created_us,"
		       " last_used_us, revoked, expires_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		       &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, t->user_id);
	bind_str(st, 2, t->hash);
	bind_str(st, 3, t->label[0] ? t->label : NULL);
	sqlite3_bind_int64(st, 4, t->created_us);
	sqlite3_bind_int64(st, 5, t->last_used_us);
	sqlite3_bind_int(st, 6, t->revoked);
	sqlite3_bind_int64(st, 7, t->expires_us);
	if (!(err = done(ix, st, "insert token")))
		t->id = sqlite3_last_insert_rowid(ix->db);
	return err;
}

int idx_token_get(struct idx *ix, int64_t id, struct idx_token *out)
{
	sqlite3_stmt *st;
	int err = prep(ix, TOKEN_COLS " WHERE id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_token(st, out);
	else
		err = rc == SQLITE_DONE ? ES_ENOTFOUND : idx_fail(ix, "read token");
	sqlite3_finalize(st);
	return err;
}

int idx_token_touch(struct idx *ix, int64_t id, int64_t now_us)
{
	sqlite3_stmt *st;
	int err = prep(ix, "UPDATE api_tokens SET last_used_us = ?2 WHERE id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	return done_one(ix, st, "touch token");
}

int idx_token_revoke(struct idx *ix, int64_t id, int64_t now_us, const char *why)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "UPDATE api_tokens SET revoked_us = CASE WHEN revoked THEN revoked_us"
		       " ELSE ?2 END, revoked_why = CASE WHEN revoked THEN revoked_why ELSE ?3"
		       " END, revoked = 1 WHERE id = ?1",
		       &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	bind_str(st, 3, why);
	return done_one(ix, st, "revoke token");
}

int idx_tokens_list(struct idx *ix, int64_t user_id, idx_token_fn fn, void *ud)
{
	sqlite3_stmt *st;
	int err = prep(ix, TOKEN_COLS " WHERE ?1 = 0 OR user_id = ?1 ORDER BY id", &st), rc;
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, user_id);
	struct idx_token t;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_token(st, &t);
		if ((err = fn(ud, &t)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = idx_fail(ix, "list tokens");
	sqlite3_finalize(st);
	return err;
}

/* ---- sessions ------------------------------------------------------------------ */

int idx_session_insert(struct idx *ix, const struct idx_session *s)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "INSERT INTO sessions (id_hash, user_id, csrf, created_us, expires_us,"
		       " remote) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, s->id_hash);
	sqlite3_bind_int64(st, 2, s->user_id);
	bind_str(st, 3, s->csrf);
	sqlite3_bind_int64(st, 4, s->created_us);
	sqlite3_bind_int64(st, 5, s->expires_us);
	bind_str(st, 6, s->remote[0] ? s->remote : NULL);
	return done(ix, st, "insert session");
}

int idx_session_get(struct idx *ix, const char *id_hash, struct idx_session *out)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "SELECT id_hash, user_id, csrf, created_us, expires_us, remote"
		       " FROM sessions WHERE id_hash = ?1",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, id_hash);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		col_copy(st, 0, out->id_hash, sizeof(out->id_hash));
		out->user_id = sqlite3_column_int64(st, 1);
		col_copy(st, 2, out->csrf, sizeof(out->csrf));
		out->created_us = sqlite3_column_int64(st, 3);
		out->expires_us = sqlite3_column_int64(st, 4);
		col_copy(st, 5, out->remote, sizeof(out->remote));
	} else {
		err = rc == SQLITE_DONE ? ES_ENOTFOUND : idx_fail(ix, "read session");
	}
	sqlite3_finalize(st);
	return err;
}

int idx_session_delete(struct idx *ix, const char *id_hash)
{
	sqlite3_stmt *st;
	int err = prep(ix, "DELETE FROM sessions WHERE id_hash = ?1", &st);
	if (err)
		return err;
	bind_str(st, 1, id_hash);
	return done_one(ix, st, "delete session");
}

int idx_sessions_delete_user(struct idx *ix, int64_t user_id, const char *keep_hash,
			     int64_t *n)
{
	sqlite3_stmt *st;
	int err = prep(ix, "DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, user_id);
	bind_str(st, 2, keep_hash);
	err = done(ix, st, "delete sessions");
	if (n)
		*n = err ? 0 : sqlite3_changes(ix->db);
	return err;
}

int idx_sessions_purge(struct idx *ix, int64_t now_us, int64_t *n)
{
	sqlite3_stmt *st;
	int err = prep(ix, "DELETE FROM sessions WHERE expires_us <= ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, now_us);
	err = done(ix, st, "purge sessions");
	if (n)
		*n = err ? 0 : sqlite3_changes(ix->db);
	return err;
}

/* ---- the audit log --------------------------------------------------------------- */

int idx_audit_last(struct idx *ix, int64_t *seq, char hash[IDX_HEX256])
{
	sqlite3_stmt *st;
	int err = prep(ix, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st);
	if (err)
		return err;
	*seq = 0;
	hash[0] = '\0';
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		col_copy(st, 1, hash, IDX_HEX256);
	} else if (rc != SQLITE_DONE) {
		err = idx_fail(ix, "read audit head");
	}
	sqlite3_finalize(st);
	return err;
}

int idx_audit_insert(struct idx *ix, const struct idx_audit *a)
{
	sqlite3_stmt *st;
	int err = prep(ix,
		       "INSERT INTO audit (seq, time_us, user, action, object, remote, outcome,"
		       " detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		       &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->seq);
	sqlite3_bind_int64(st, 2, a->time_us);
	bind_str(st, 3, a->user ? a->user : "-");
	bind_str(st, 4, a->action ? a->action : "");
	bind_str(st, 5, a->object ? a->object : "");
	bind_str(st, 6, a->remote ? a->remote : "");
	bind_str(st, 7, a->outcome ? a->outcome : "");
	bind_str(st, 8, a->detail ? a->detail : "");
	bind_str(st, 9, a->prev_hash);
	bind_str(st, 10, a->hash);
	return done(ix, st, "insert audit entry");
}

int idx_audit_list(struct idx *ix, const struct idx_audit_filter *f, idx_audit_fn fn, void *ud)
{
	/* The newest `limit` matches, handed out oldest first.  An action
	 * ending in '.' is a prefix: compared with substr so that LIKE's
	 * wildcards in user data mean nothing. */
	static const char sql[] =
		"SELECT seq, time_us, user, action, object, remote, outcome, detail, prev_hash,"
		" hash FROM (SELECT * FROM audit"
		" WHERE (?1 IS NULL OR user = ?1)"
		" AND (?2 IS NULL OR action = ?2 OR (?3 AND substr(action, 1, length(?2)) = ?2))"
		" AND time_us >= ?4 AND seq > ?5"
		" ORDER BY seq DESC LIMIT ?6) ORDER BY seq";
	struct idx_audit_filter none = {0};
	if (!f)
		f = &none;
	sqlite3_stmt *st;
	int err = prep(ix, sql, &st), rc;
	if (err)
		return err;
	size_t alen = f->action ? strlen(f->action) : 0;
	bind_str(st, 1, f->user);
	bind_str(st, 2, f->action);
	sqlite3_bind_int(st, 3, alen > 0 && f->action[alen - 1] == '.');
	sqlite3_bind_int64(st, 4, f->since_us);
	sqlite3_bind_int64(st, 5, f->after_seq);
	sqlite3_bind_int64(st, 6, f->limit ? (int64_t)f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_audit a = {
			.seq = sqlite3_column_int64(st, 0),
			.time_us = sqlite3_column_int64(st, 1),
			.user = col_or_empty(st, 2),
			.action = col_or_empty(st, 3),
			.object = col_or_empty(st, 4),
			.remote = col_or_empty(st, 5),
			.outcome = col_or_empty(st, 6),
			.detail = col_or_empty(st, 7),
		};
		col_copy(st, 8, a.prev_hash, sizeof(a.prev_hash));
		col_copy(st, 9, a.hash, sizeof(a.hash));
		if ((err = fn(ud, &a)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = idx_fail(ix, "list audit");
	sqlite3_finalize(st);
	return err;
}
