/*
 * mfa.c - a user's second factor (TOTP secret, sealed), recovery code
 * hashes and pending two-step sign-ins (schema IDX_MIG_MFA).  Storage only:
 * api/auth_mfa.c seals, checks and hashes.  Statements are prepared per
 * call, as in users.c: they run once per sign-in or enrolment.
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

/* Step st to its end (no row wanted), finalize; ES_ENOTFOUND when one_row
 * and nothing changed. */
static int run(struct idx *ix, struct idx_st *st, const char *what, bool one_row)
{
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, what);
	db_finalize(st);
	if (!err && one_row && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_totp_get(struct idx *ix, int64_t user_id, struct idx_totp *out)
{
	struct idx_st *st = idx_prep(ix, "SELECT sealed, enabled, last_step, created_us,"
					 " enabled_us FROM user_totp WHERE user_id = ?1");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW) {
		memset(out, 0, sizeof(*out));
		out->user_id = user_id;
		const char *s = db_col_text(st, 0);
		snprintf(out->sealed, sizeof(out->sealed), "%s", s ? s : "");
		out->enabled = db_col_int(st, 1) != 0;
		out->last_step = db_col_int64(st, 2);
		out->created_us = db_col_int64(st, 3);
		out->enabled_us = db_col_int64(st, 4);
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "read totp");
	}
	db_finalize(st);
	return err;
}

int idx_totp_put(struct idx *ix, const struct idx_totp *t)
{
	struct idx_st *st = idx_prep(
		ix, "INSERT INTO user_totp (user_id, sealed, enabled, last_step, created_us,"
		    " enabled_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id) DO UPDATE"
		    " SET sealed = excluded.sealed, enabled = excluded.enabled,"
		    " last_step = excluded.last_step, created_us = excluded.created_us,"
		    " enabled_us = excluded.enabled_us");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, t->user_id);
	db_bind_text(st, 2, t->sealed);
	db_bind_int64(st, 3, t->enabled);
	db_bind_int64(st, 4, t->last_step);
	db_bind_int64(st, 5, t->created_us);
	db_bind_int64(st, 6, t->enabled_us);
	return run(ix, st, "write totp", false);
}

int idx_totp_users(struct idx *ix, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	struct idx_st *st = idx_prep(ix, "SELECT user_id FROM user_totp ORDER BY user_id");
	if (!st)
		return ES_EDB;
	int rc, err = 0;
	size_t cap = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			int64_t *p = realloc(*ids, cap * sizeof(**ids));
			if (!p) {
				err = ES_ENOMEM;
				break;
			}
			*ids = p;
		}
		(*ids)[(*n)++] = db_col_int64(st, 0);
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "list totp users");
	db_finalize(st);
	if (err) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return err;
}

int idx_totp_reseal(struct idx *ix, int64_t user_id, const char *old_sealed,
		    const char *new_sealed)
{
	/* only over the value read: an enrolment meanwhile is kept */
	struct idx_st *st = idx_prep(ix, "UPDATE user_totp SET sealed = ?3"
					 " WHERE user_id = ?1 AND sealed = ?2");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, old_sealed);
	db_bind_text(st, 3, new_sealed);
	return run(ix, st, "reseal totp", true);
}

int idx_totp_step(struct idx *ix, int64_t user_id, int64_t step)
{
	struct idx_st *st = idx_prep(ix, "UPDATE user_totp SET last_step = ?2"
					 " WHERE user_id = ?1 AND last_step < ?2");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_int64(st, 2, step);
	return run(ix, st, "totp step", true);
}

int idx_totp_delete(struct idx *ix, int64_t user_id, bool *had)
{
	struct idx_st *st = idx_prep(ix, "DELETE FROM user_recovery WHERE user_id = ?1");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int err = run(ix, st, "delete recovery codes", false);
	if (err)
		return err;
	if (!(st = idx_prep(ix, "DELETE FROM user_totp WHERE user_id = ?1")))
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	err = run(ix, st, "delete totp", true);
	if (had)
		*had = !err;
	return err == ES_ENOTFOUND ? 0 : err;
}

int idx_recovery_add(struct idx *ix, int64_t user_id, const char *hash)
{
	struct idx_st *st =
		idx_prep(ix, "INSERT INTO user_recovery (user_id, code_hash) VALUES (?1, ?2)");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, hash);
	return run(ix, st, "add recovery code", false);
}

int idx_recovery_use(struct idx *ix, int64_t user_id, const char *hash, int64_t now_us)
{
	struct idx_st *st = idx_prep(ix, "UPDATE user_recovery SET used_us = ?3"
					 " WHERE user_id = ?1 AND code_hash = ?2 AND used_us = 0");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, hash);
	db_bind_int64(st, 3, now_us > 0 ? now_us : 1);
	return run(ix, st, "use recovery code", true);
}

int idx_recovery_left(struct idx *ix, int64_t user_id, int64_t *n)
{
	struct idx_st *st = idx_prep(ix, "SELECT count(*) FROM user_recovery"
					 " WHERE user_id = ?1 AND used_us = 0");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int err = 0;
	if (db_step(st) == DB_ROW)
		*n = db_col_int64(st, 0);
	else
		err = idx_fail(ix, "count recovery codes");
	db_finalize(st);
	return err;
}

int idx_pending_add(struct idx *ix, const char *id_hash, int64_t user_id, int64_t expires_us,
		    const char *remote)
{
	/* the expired ones of anybody go first: the table stays small */
	struct idx_st *st = idx_prep(ix, "DELETE FROM login_pending WHERE expires_us <= ?1");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, expires_us - 3600 * ES_US_PER_SEC);
	int err = run(ix, st, "purge pending sign-ins", false);
	if (err)
		return err;
	if (!(st = idx_prep(ix, "INSERT INTO login_pending (id_hash, user_id, expires_us, remote)"
				" VALUES (?1, ?2, ?3, ?4)")))
		return ES_EDB;
	db_bind_text(st, 1, id_hash);
	db_bind_int64(st, 2, user_id);
	db_bind_int64(st, 3, expires_us);
	db_bind_text(st, 4, remote ? remote : "");
	return run(ix, st, "add pending sign-in", false);
}

int idx_pending_get(struct idx *ix, const char *id_hash, int64_t now_us, int64_t *user_id)
{
	struct idx_st *st = idx_prep(
		ix, "SELECT user_id, expires_us FROM login_pending WHERE id_hash = ?1");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, id_hash);
	int rc = db_step(st), err = 0;
	bool expired = false;
	if (rc == DB_ROW) {
		*user_id = db_col_int64(st, 0);
		expired = db_col_int64(st, 1) <= now_us;
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "read pending sign-in");
	}
	db_finalize(st);
	if (!err && expired) {
		idx_pending_delete(ix, id_hash);
		err = ES_ENOTFOUND;
	}
	return err;
}

int idx_pending_delete(struct idx *ix, const char *id_hash)
{
	struct idx_st *st = idx_prep(ix, "DELETE FROM login_pending WHERE id_hash = ?1");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, id_hash);
	return run(ix, st, "delete pending sign-in", true);
}
