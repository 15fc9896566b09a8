/*
 * retention.c - retention times per recording and legal holds (schema v9).
 * Storage only: policy/retention.c computes the times, record/delete.c
 * checks the holds before it deletes anything.
 */
#include "index/index_internal.h"

#include <string.h>

static int prep(struct idx *ix, const char *sql, struct idx_st **st)
{
	*st = idx_prep(ix, sql);
	return *st ? 0 : ES_EDB;
}

static const char *col(struct idx_st *st, int i)
{
	return db_col_text(st, i);
}

/* ---- retention ---------------------------------------------------------------- */

#define RET_SELECT \
	"SELECT r.call_row, c.call_id, r.path, r.bytes, r.encrypted, c.start_us," \
	" a.user, b.user, c.rule, c.source," \
	" trim(ifnull(c.flags, '') || ',' || ifnull(r.flags, ''), ',')," \
	" (SELECT group_concat(tag, ',') FROM call_tags t WHERE t.call_row = r.call_row)," \
	" r.retention, r.keep_until_us, r.retain_until_us" \
	" FROM recordings r JOIN calls c ON c.id = r.call_row" \
	" LEFT JOIN parties a ON a.call_row = c.id AND a.role = 0" \
	" LEFT JOIN parties b ON b.call_row = c.id AND b.role = 1"

int idx_retention_list(struct idx *ix, enum idx_ret_which which, int64_t until_us,
		       idx_ret_fn fn, void *ud)
{
	static const char *const sql[] = {
		[IDX_RET_ALL] = RET_SELECT " ORDER BY r.call_row",
		[IDX_RET_UNASSIGNED] = RET_SELECT " WHERE r.retention IS NULL ORDER BY r.call_row",
		[IDX_RET_DUE] = RET_SELECT " WHERE r.retain_until_us > 0 AND r.retain_until_us <= ?1"
					   " ORDER BY r.retain_until_us, r.call_row",
		[IDX_RET_QUOTA] = RET_SELECT " WHERE r.keep_until_us <= ?1"
					     " ORDER BY c.start_us, r.call_row",
		[IDX_RET_CALL] = RET_SELECT " WHERE r.call_row = ?1",
	};
	if ((unsigned)which >= ES_ARRAY_LEN(sql))
		return ES_EINVAL;
	struct idx_st *st;
	if (prep(ix, sql[which], &st))
		return ES_EDB;
	if (which == IDX_RET_DUE || which == IDX_RET_QUOTA || which == IDX_RET_CALL)
		db_bind_int64(st, 1, until_us);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *flags = col(st, 10);
		struct idx_ret_rec r = {
			.call_row = db_col_int64(st, 0),
			.call_id = col(st, 1),
			.path = col(st, 2),
			.bytes = (uint64_t)db_col_int64(st, 3),
			.encrypted = db_col_int(st, 4) != 0,
			.start_us = db_col_int64(st, 5),
			.caller = col(st, 6),
			.callee = col(st, 7),
			.rule = col(st, 8),
			.source = col(st, 9),
			.flags = flags && *flags ? flags : NULL,
			.tags = col(st, 11),
			.retention = col(st, 12),
			.keep_until_us = db_col_int64(st, 13),
			.retain_until_us = db_col_int64(st, 14),
		};
		if ((err = fn(ud, &r)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "retention list");
	db_finalize(st);
	return err;
}

int idx_retention_set(struct idx *ix, int64_t call_row, const char *policy,
		      int64_t keep_until_us, int64_t retain_until_us)
{
	struct idx_st *st;
	if (prep(ix, "UPDATE recordings SET retention = ?2, keep_until_us = ?3,"
		     " retain_until_us = ?4 WHERE call_row = ?1", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, policy);
	db_bind_int64(st, 3, keep_until_us);
	db_bind_int64(st, 4, retain_until_us);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "retention set");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_recordings_bytes(struct idx *ix, uint64_t *total)
{
	struct idx_st *st;
	if (prep(ix, "SELECT ifnull(sum(bytes), 0) FROM recordings", &st))
		return ES_EDB;
	int err = 0;
	if (db_step(st) == DB_ROW)
		*total = (uint64_t)db_col_int64(st, 0);
	else
		err = idx_fail(ix, "recording bytes");
	db_finalize(st);
	return err;
}

int idx_call_expire(struct idx *ix, int64_t call_row, bool drop)
{
	struct idx_st *st;
	const char *sql =
		drop ? "DELETE FROM calls WHERE id = ?1"
		     : "UPDATE calls SET flags = CASE WHEN flags IS NULL OR flags = '' THEN 'expired'"
		       " ELSE flags || ',expired' END WHERE id = ?1"
		       " AND instr(',' || ifnull(flags, '') || ',', ',expired,') = 0";
	if (prep(ix, sql, &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "call expire");
	db_finalize(st);
	return err;
}

/* ---- legal holds ---------------------------------------------------------------- */

int idx_hold_create(struct idx *ix, const char *name, const char *reason, const char *query,
		    const char *by, int64_t now_us, int64_t *id)
{
	struct idx_st *st;
	if (prep(ix, "INSERT INTO holds (name, reason, query, created_us, created_by)"
		     " VALUES (?, ?, ?, ?, ?) RETURNING id", &st))
		return ES_EDB;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, reason);
	db_bind_text(st, 3, query);
	db_bind_int64(st, 4, now_us);
	db_bind_text(st, 5, by);
	int rc = db_step(st), err = 0;
	if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else if (rc != DB_ROW)
		err = idx_fail(ix, "hold create");
	else if (id)
		*id = db_col_int64(st, 0);
	db_finalize(st);
	return err;
}

int idx_hold_add_call(struct idx *ix, int64_t hold_id, int64_t call_row, const char *path)
{
	struct idx_st *st;
	if (prep(ix, "INSERT INTO hold_calls (hold_id, call_row, path) VALUES (?, ?, ?)", &st))
		return ES_EDB;
	db_bind_int64(st, 1, hold_id);
	db_bind_int64(st, 2, call_row);
	db_bind_text(st, 3, path);
	int rc = db_step(st), err = 0;
	if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else if (rc != DB_DONE)
		err = idx_fail(ix, "hold add call");
	db_finalize(st);
	return err;
}

#define HOLD_SELECT \
	"SELECT h.id, h.name, h.reason, h.query, h.created_us, h.created_by, h.released_us," \
	" h.released_by, h.release_reason," \
	" (SELECT count(*) FROM hold_calls k WHERE k.hold_id = h.id) FROM holds h"

static int holds_query(struct idx *ix, const char *sql, const char *name, idx_hold_fn fn,
		       void *ud)
{
	struct idx_st *st;
	if (prep(ix, sql, &st))
		return ES_EDB;
	if (name)
		db_bind_text(st, 1, name);
	int rc, err = 0, n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_hold h = {
			.id = db_col_int64(st, 0),
			.name = col(st, 1),
			.reason = col(st, 2),
			.query = col(st, 3),
			.created_us = db_col_int64(st, 4),
			.created_by = col(st, 5),
			.released_us = db_col_int64(st, 6),
			.released_by = col(st, 7),
			.release_reason = col(st, 8),
			.ncalls = db_col_int64(st, 9),
		};
		n++;
		if ((err = fn(ud, &h)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "holds");
	db_finalize(st);
	return !err && name && !n ? ES_ENOTFOUND : err;
}

int idx_hold_get(struct idx *ix, const char *name, idx_hold_fn fn, void *ud)
{
	return holds_query(ix, HOLD_SELECT " WHERE h.name = ?1", name, fn, ud);
}

int idx_holds_list(struct idx *ix, idx_hold_fn fn, void *ud)
{
	return holds_query(ix, HOLD_SELECT " ORDER BY h.id DESC", NULL, fn, ud);
}

int idx_hold_calls(struct idx *ix, int64_t hold_id, idx_hold_call_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT call_row, path FROM hold_calls WHERE hold_id = ? ORDER BY call_row",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, hold_id);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW)
		if ((err = fn(ud, db_col_int64(st, 0), col(st, 1))))
			break;
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "hold calls");
	db_finalize(st);
	return err;
}

int idx_hold_release(struct idx *ix, int64_t hold_id, const char *by, const char *reason,
		     int64_t now_us)
{
	struct idx_st *st;
	if (prep(ix, "UPDATE holds SET released_us = ?2, released_by = ?3, release_reason = ?4"
		     " WHERE id = ?1 AND released_us = 0", &st))
		return ES_EDB;
	db_bind_int64(st, 1, hold_id);
	db_bind_int64(st, 2, now_us > 0 ? now_us : 1);
	db_bind_text(st, 3, by);
	db_bind_text(st, 4, reason);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "hold release");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_EINVAL;
	return err;
}

int idx_call_held(struct idx *ix, int64_t call_row, char *name, size_t cap)
{
	struct idx_st *st;
	if (prep(ix, "SELECT h.name FROM hold_calls k JOIN holds h ON h.id = k.hold_id"
		     " WHERE k.call_row = ? AND h.released_us = 0 ORDER BY h.id LIMIT 1", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc = db_step(st), ret = 0;
	if (rc == DB_ROW) {
		ret = 1;
		if (name && cap)
			snprintf(name, cap, "%s", col(st, 0) ? col(st, 0) : "");
	} else if (rc != DB_DONE) {
		ret = idx_fail(ix, "call held");
	}
	db_finalize(st);
	return ret;
}
