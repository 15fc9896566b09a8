/*
 * searches.c - saved searches per user (schema IDX_MIG_SEARCHES).  Storage
 * only: api/handlers_searches.c checks names and queries and decides that
 * a user sees and deletes only their own.  Statements are prepared per
 * call (one per request), as in users.c.
 */
#include "index/index_internal.h"

int idx_search_save(struct idx *ix, int64_t user_id, const char *name, const char *query,
		    int64_t now_us, int64_t *id)
{
	/* the bound: the user's other searches (a name saved again replaces) */
	struct idx_st *st = idx_prep(ix, "SELECT count(*) FROM saved_searches"
					 " WHERE user_id = ? AND name <> ?");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, name);
	int rc = db_step(st), err = 0;
	if (rc != DB_ROW)
		err = idx_fail(ix, "saved searches count");
	else if (db_col_int64(st, 0) >= IDX_SEARCHES_MAX)
		err = ES_ELIMIT;
	db_finalize(st);
	if (err)
		return err;
	st = idx_prep(ix, "INSERT INTO saved_searches (user_id, name, query, created_us)"
			  " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, name)"
			  " DO UPDATE SET query = excluded.query, created_us = excluded.created_us"
			  " RETURNING id");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, query);
	db_bind_int64(st, 4, now_us);
	rc = db_step(st);
	if (rc == DB_ROW)
		*id = db_col_int64(st, 0);
	else if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "saved search save");
	db_finalize(st);
	return err;
}

int idx_searches_list(struct idx *ix, int64_t user_id, idx_search_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(ix, "SELECT id, name, query, created_us FROM saved_searches"
					 " WHERE user_id = ? ORDER BY name, id");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, user_id);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 1), *query = db_col_text(st, 2);
		struct idx_search s = {.id = db_col_int64(st, 0),
				       .name = name ? name : "",
				       .query = query ? query : "",
				       .created_us = db_col_int64(st, 3)};
		if ((err = fn(ud, &s)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "saved searches list");
	db_finalize(st);
	return err;
}

int idx_search_delete(struct idx *ix, int64_t user_id, int64_t id)
{
	struct idx_st *st =
		idx_prep(ix, "DELETE FROM saved_searches WHERE id = ? AND user_id = ?");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, user_id);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "saved search delete");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}
