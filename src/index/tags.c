/*
 * tags.c - tags and notes on calls (schema v6).  Storage only: api/ checks
 * who may tag and what a tag may contain.  Statements are prepared per call
 * as in users.c (they run once per request).
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
	const char *s = db_col_text(st, i);
	return s ? s : "";
}

int idx_tag_add(struct idx *ix, int64_t call_row, const char *tag, const char *user,
		int64_t now_us)
{
	struct idx_st *st;
	if (prep(ix, "INSERT INTO call_tags (call_row, tag, user, created_us) VALUES (?, ?, ?, ?)",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, tag);
	db_bind_text(st, 3, user);
	db_bind_int64(st, 4, now_us);
	int rc = db_step(st), err = 0;
	if (rc == DB_EUNIQUE)
		err = ES_EEXIST;
	else if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc != DB_DONE)
		err = idx_fail(ix, "tag add");
	db_finalize(st);
	return err;
}

int idx_tag_remove(struct idx *ix, int64_t call_row, const char *tag)
{
	struct idx_st *st;
	if (prep(ix, "DELETE FROM call_tags WHERE call_row = ? AND tag = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, tag);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "tag remove");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_tags_list(struct idx *ix, int64_t call_row, idx_tag_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT call_row, tag, user, created_us FROM call_tags WHERE call_row = ?"
		     " ORDER BY tag, created_us", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_tag t = {
			.call_row = db_col_int64(st, 0),
			.tag = col(st, 1),
			.user = col(st, 2),
			.created_us = db_col_int64(st, 3),
		};
		if ((err = fn(ud, &t)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "tags list");
	db_finalize(st);
	return err;
}

int idx_call_has_tag(struct idx *ix, int64_t call_row, const char *tag)
{
	struct idx_st *st;
	if (prep(ix, "SELECT 1 FROM call_tags WHERE call_row = ? AND tag = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, tag);
	int rc = db_step(st);
	int r = rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : idx_fail(ix, "tag lookup");
	db_finalize(st);
	return r;
}

int idx_note_add(struct idx *ix, int64_t call_row, const char *user, const char *text,
		 int64_t now_us, int64_t *id)
{
	struct idx_st *st;
	if (prep(ix, "INSERT INTO call_notes (call_row, user, text, created_us) VALUES (?, ?, ?, ?)"
		 " RETURNING id",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, user);
	db_bind_text(st, 3, text);
	db_bind_int64(st, 4, now_us);
	int rc = db_step(st), err = 0;
	if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc == DB_ECHECK)
		err = ES_EINVAL;
	else if (rc != DB_ROW)
		err = idx_fail(ix, "note add");
	else if (id)
		*id = db_col_int64(st, 0);
	db_finalize(st);
	return err;
}

int idx_notes_list(struct idx *ix, int64_t call_row, idx_note_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT id, call_row, user, text, created_us FROM call_notes"
		     " WHERE call_row = ? ORDER BY id", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_note n = {
			.id = db_col_int64(st, 0),
			.call_row = db_col_int64(st, 1),
			.user = col(st, 2),
			.text = col(st, 3),
			.created_us = db_col_int64(st, 4),
		};
		if ((err = fn(ud, &n)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "notes list");
	db_finalize(st);
	return err;
}
