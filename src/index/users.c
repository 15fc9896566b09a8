/*
 * users.c - the access-control tables of schema v5 (v8: token expiry and
 * revocation times): users, API tokens,
 * sessions and the audit log.  Storage only; api/ decides what is allowed
 * and computes every hash.
 *
 * These statements are prepared per call (idx_prep) rather than
 * cached in index.c's table: they run once per login, request or admin
 * change, where a prepare (tens of microseconds) does not show, and keeping
 * them here leaves the call path's statement cache untouched.
 */
#include "index/index_internal.h"

#include <string.h>

static int prep(struct idx *ix, const char *sql, struct idx_st **st)
{
	*st = idx_prep(ix, sql);
	return *st ? 0 : ES_EDB;
}

static void bind_str(struct idx_st *st, int i, const char *s) { db_bind_text(st, i, s); }

/* Step a statement that returns no row, or the new row's id (RETURNING
 * id: into *id), and finalize it.  A UNIQUE or PRIMARY KEY conflict is
 * ES_EEXIST. */
static int done_id(struct idx *ix, struct idx_st *st, const char *what, int64_t *id)
{
	int rc = db_step(st);
	int err = 0;
	if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else if (rc != (id ? DB_ROW : DB_DONE))
		err = idx_fail(ix, what);
	else if (id)
		*id = db_col_int64(st, 0);
	db_finalize(st);
	return err;
}

static int done(struct idx *ix, struct idx_st *st, const char *what)
{
	return done_id(ix, st, what, NULL);
}

/* done() for an UPDATE/DELETE of one row by key: ES_ENOTFOUND when no row
 * changed. */
static int done_one(struct idx *ix, struct idx_st *st, const char *what)
{
	int err = done(ix, st, what);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

static void col_copy(struct idx_st *st, int i, char *dst, size_t cap)
{
	const char *s = db_col_text(st, i);
	snprintf(dst, cap, "%s", s ? s : "");
}

static const char *col_or_empty(struct idx_st *st, int i)
{
	const char *s = db_col_text(st, i);
	return s ? s : "";
}

/* ---- users ------------------------------------------------------------------ */

#define USER_COLS \
	"SELECT id, name, pwhash, role, numbers, can_listen, disabled, created_us," \
	" updated_us FROM users"

static void read_user(struct idx_st *st, struct idx_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = db_col_int64(st, 0);
	col_copy(st, 1, u->name, sizeof(u->name));
	col_copy(st, 2, u->pwhash, sizeof(u->pwhash));
	col_copy(st, 3, u->role, sizeof(u->role));
	col_copy(st, 4, u->numbers, sizeof(u->numbers));
	u->can_listen = db_col_int(st, 5) != 0;
	u->disabled = db_col_int(st, 6) != 0;
	u->created_us = db_col_int64(st, 7);
	u->updated_us = db_col_int64(st, 8);
}

int idx_user_insert(struct idx *ix, struct idx_user *u)
{
	struct idx_st *st;
	int err = prep(ix,
		       "INSERT INTO users (name, pwhash, role, numbers, can_listen, disabled,"
		       " created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, u->name);
	bind_str(st, 2, u->pwhash);
	bind_str(st, 3, u->role);
	bind_str(st, 4, u->numbers);
	db_bind_int64(st, 5, u->can_listen);
	db_bind_int64(st, 6, u->disabled);
	db_bind_int64(st, 7, u->created_us);
	db_bind_int64(st, 8, u->updated_us);
	return done_id(ix, st, "insert user", &u->id);
}

int idx_user_update(struct idx *ix, const struct idx_user *u)
{
	struct idx_st *st;
	int err = prep(ix,
		       "UPDATE users SET pwhash = ?2, role = ?3, numbers = ?4, can_listen = ?5,"
		       " disabled = ?6, updated_us = ?7 WHERE id = ?1",
		       &st);
	if (err)
		return err;
	db_bind_int64(st, 1, u->id);
	bind_str(st, 2, u->pwhash);
	bind_str(st, 3, u->role);
	bind_str(st, 4, u->numbers);
	db_bind_int64(st, 5, u->can_listen);
	db_bind_int64(st, 6, u->disabled);
	db_bind_int64(st, 7, u->updated_us);
	return done_one(ix, st, "update user");
}

/* One user row of a prepared, bound statement, finalized. */
static int one_user(struct idx *ix, struct idx_st *st, struct idx_user *out)
{
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		read_user(st, out);
	else if (rc == DB_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "read user");
	db_finalize(st);
	return err;
}

int idx_user_get(struct idx *ix, const char *name, struct idx_user *out)
{
	struct idx_st *st;
	int err = prep(ix, USER_COLS " WHERE name = ?1", &st);
	if (err)
		return err;
	bind_str(st, 1, name);
	return one_user(ix, st, out);
}

int idx_user_get_id(struct idx *ix, int64_t id, struct idx_user *out)
{
	struct idx_st *st;
	int err = prep(ix, USER_COLS " WHERE id = ?1", &st);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	return one_user(ix, st, out);
}

int idx_users_list(struct idx *ix, idx_user_fn fn, void *ud)
{
	struct idx_st *st;
	int err = prep(ix, USER_COLS " ORDER BY name", &st), rc;
	if (err)
		return err;
	struct idx_user u;
	while ((rc = db_step(st)) == DB_ROW) {
		read_user(st, &u);
		if ((err = fn(ud, &u)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "list users");
	db_finalize(st);
	return err;
}

/* ---- API tokens ----------------------------------------------------------------- */

#define TOKEN_COLS \
	"SELECT id, user_id, token_hash, label, created_us, last_used_us, revoked," \
	" expires_us, revoked_us, revoked_why FROM api_tokens"

static void read_token(struct idx_st *st, struct idx_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = db_col_int64(st, 0);
	t->user_id = db_col_int64(st, 1);
	col_copy(st, 2, t->hash, sizeof(t->hash));
	col_copy(st, 3, t->label, sizeof(t->label));
	t->created_us = db_col_int64(st, 4);
	t->last_used_us = db_col_int64(st, 5);
	t->revoked = db_col_int(st, 6) != 0;
	t->expires_us = db_col_int64(st, 7);
	t->revoked_us = db_col_int64(st, 8);
	col_copy(st, 9, t->revoked_why, sizeof(t->revoked_why));
}

int idx_token_insert(struct idx *ix, struct idx_token *t)
{
	struct idx_st *st;
	int err = prep(ix,
		       "INSERT INTO api_tokens (user_id, token_hash, label, created_us,"
		       " last_used_us, revoked, expires_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		       " RETURNING id",
		       &st);
	if (err)
		return err;
	db_bind_int64(st, 1, t->user_id);
	bind_str(st, 2, t->hash);
	bind_str(st, 3, t->label[0] ? t->label : NULL);
	db_bind_int64(st, 4, t->created_us);
	db_bind_int64(st, 5, t->last_used_us);
	db_bind_int64(st, 6, t->revoked);
	db_bind_int64(st, 7, t->expires_us);
	return done_id(ix, st, "insert token", &t->id);
}

int idx_token_get(struct idx *ix, int64_t id, struct idx_token *out)
{
	struct idx_st *st;
	int err = prep(ix, TOKEN_COLS " WHERE id = ?1", &st);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		read_token(st, out);
	else
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "read token");
	db_finalize(st);
	return err;
}

int idx_token_touch(struct idx *ix, int64_t id, int64_t now_us)
{
	struct idx_st *st;
	int err = prep(ix, "UPDATE api_tokens SET last_used_us = ?2 WHERE id = ?1", &st);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, now_us);
	return done_one(ix, st, "touch token");
}

int idx_token_revoke(struct idx *ix, int64_t id, int64_t now_us, const char *why)
{
	struct idx_st *st;
	int err = prep(ix,
		       "UPDATE api_tokens SET revoked_us = CASE WHEN revoked <> 0 THEN revoked_us"
		       " ELSE ?2 END, revoked_why = CASE WHEN revoked <> 0 THEN revoked_why ELSE ?3"
		       " END, revoked = 1 WHERE id = ?1",
		       &st);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, now_us);
	bind_str(st, 3, why);
	return done_one(ix, st, "revoke token");
}

int idx_tokens_list(struct idx *ix, int64_t user_id, idx_token_fn fn, void *ud)
{
	struct idx_st *st;
	int err = prep(ix, TOKEN_COLS " WHERE ?1 = 0 OR user_id = ?1 ORDER BY id", &st), rc;
	if (err)
		return err;
	db_bind_int64(st, 1, user_id);
	struct idx_token t;
	while ((rc = db_step(st)) == DB_ROW) {
		read_token(st, &t);
		if ((err = fn(ud, &t)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "list tokens");
	db_finalize(st);
	return err;
}

/* ---- sessions ------------------------------------------------------------------ */

int idx_session_insert(struct idx *ix, const struct idx_session *s)
{
	struct idx_st *st;
	int err = prep(ix,
		       "INSERT INTO sessions (id_hash, user_id, csrf, created_us, expires_us,"
		       " remote) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, s->id_hash);
	db_bind_int64(st, 2, s->user_id);
	bind_str(st, 3, s->csrf);
	db_bind_int64(st, 4, s->created_us);
	db_bind_int64(st, 5, s->expires_us);
	bind_str(st, 6, s->remote[0] ? s->remote : NULL);
	return done(ix, st, "insert session");
}

int idx_session_get(struct idx *ix, const char *id_hash, struct idx_session *out)
{
	struct idx_st *st;
	int err = prep(ix,
		       "SELECT id_hash, user_id, csrf, created_us, expires_us, remote"
		       " FROM sessions WHERE id_hash = ?1",
		       &st);
	if (err)
		return err;
	bind_str(st, 1, id_hash);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		memset(out, 0, sizeof(*out));
		col_copy(st, 0, out->id_hash, sizeof(out->id_hash));
		out->user_id = db_col_int64(st, 1);
		col_copy(st, 2, out->csrf, sizeof(out->csrf));
		out->created_us = db_col_int64(st, 3);
		out->expires_us = db_col_int64(st, 4);
		col_copy(st, 5, out->remote, sizeof(out->remote));
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "read session");
	}
	db_finalize(st);
	return err;
}

int idx_session_delete(struct idx *ix, const char *id_hash)
{
	struct idx_st *st;
	int err = prep(ix, "DELETE FROM sessions WHERE id_hash = ?1", &st);
	if (err)
		return err;
	bind_str(st, 1, id_hash);
	return done_one(ix, st, "delete session");
}

int idx_sessions_delete_user(struct idx *ix, int64_t user_id, const char *keep_hash,
			     int64_t *n)
{
	struct idx_st *st;
	int err = prep(ix, "DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2", &st);
	if (err)
		return err;
	db_bind_int64(st, 1, user_id);
	bind_str(st, 2, keep_hash);
	err = done(ix, st, "delete sessions");
	if (n)
		*n = err ? 0 : db_changes(ix);
	return err;
}

int idx_sessions_purge(struct idx *ix, int64_t now_us, int64_t *n)
{
	struct idx_st *st;
	int err = prep(ix, "DELETE FROM sessions WHERE expires_us <= ?1", &st);
	if (err)
		return err;
	db_bind_int64(st, 1, now_us);
	err = done(ix, st, "purge sessions");
	if (n)
		*n = err ? 0 : db_changes(ix);
	return err;
}

/* ---- the audit log --------------------------------------------------------------- */

int idx_audit_last(struct idx *ix, int64_t *seq, char hash[IDX_HEX256])
{
	struct idx_st *st;
	/* The caller's transaction appends the successor: one appender at a
	 * time across processes (SQLite's write lock; PostgreSQL an advisory
	 * lock to the transaction's end, taken before the head is read). */
	int err = ix->eng->in_tx(ix) ? ix->eng->lock(ix, DB_LOCK_AUDIT) : 0;
	if (err || (err = prep(ix, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st)))
		return err;
	*seq = 0;
	hash[0] = '\0';
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*seq = db_col_int64(st, 0);
		col_copy(st, 1, hash, IDX_HEX256);
	} else if (rc != DB_DONE) {
		err = idx_fail(ix, "read audit head");
	}
	db_finalize(st);
	return err;
}

int idx_audit_insert(struct idx *ix, const struct idx_audit *a)
{
	struct idx_st *st;
	int err = prep(ix,
		       "INSERT INTO audit (seq, time_us, user, action, object, remote, outcome,"
		       " detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		       &st);
	if (err)
		return err;
	db_bind_int64(st, 1, a->seq);
	db_bind_int64(st, 2, a->time_us);
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
		" WHERE (CAST(?1 AS TEXT) IS NULL OR user = ?1)"
		" AND (CAST(?2 AS TEXT) IS NULL OR action = ?2"
		" OR (?3 <> 0 AND substr(action, 1, length(?2)) = ?2))"
		" AND time_us >= ?4 AND seq > ?5"
		" ORDER BY seq DESC LIMIT ?6) AS newest ORDER BY seq";
	struct idx_audit_filter none = {0};
	if (!f)
		f = &none;
	struct idx_st *st;
	int err = prep(ix, sql, &st), rc;
	if (err)
		return err;
	size_t alen = f->action ? strlen(f->action) : 0;
	bind_str(st, 1, f->user);
	bind_str(st, 2, f->action);
	db_bind_int64(st, 3, alen > 0 && f->action[alen - 1] == '.');
	db_bind_int64(st, 4, f->since_us);
	db_bind_int64(st, 5, f->after_seq);
	db_bind_int64(st, 6, f->limit ? (int64_t)f->limit : INT64_MAX);
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_audit a = {
			.seq = db_col_int64(st, 0),
			.time_us = db_col_int64(st, 1),
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
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "list audit");
	db_finalize(st);
	return err;
}
