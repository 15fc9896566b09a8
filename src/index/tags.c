/*
 * tags.c - tags and notes on calls (schema v6).  Storage only: api/ checks
 * who may tag and what a tag may contain.  Statements are prepared per call
 * as in users.c (they run once per request).
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

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

int idx_tag_add(struct idx *ix, int64_t call_row, const char *tag, const char *user,
		int64_t now_us)
{
	sqlite3_stmt *st;
	if (prep(ix, "INSERT INTO call_tags (call_row, tag, user, created_us) VALUES (?, ?, ?, ?)",
		 &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_us);
	int rc = sqlite3_step(st), err = 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = ES_EEXIST;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = ES_ENOTFOUND;
	else if (rc != SQLITE_DONE)
		err = idx_fail(ix, "tag add");
	sqlite3_finalize(st);
	return err;
}

int idx_tag_remove(struct idx *ix, int64_t call_row, const char *tag)
{
	sqlite3_stmt *st;
	if (prep(ix, "DELETE FROM call_tags WHERE call_row = ? AND tag = ?", &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	int err = sqlite3_step(st) == SQLITE_DONE ? 0 : idx_fail(ix, "tag remove");
	sqlite3_finalize(st);
	if (!err && sqlite3_changes(ix->db) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_tags_list(struct idx *ix, int64_t call_row, idx_tag_fn fn, void *ud)
{
	sqlite3_stmt *st;
	if (prep(ix, "SELECT call_row, tag, user, created_us FROM call_tags WHERE call_row = ?"
		     " ORDER BY tag, created_us", &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_tag t = {
			.call_row = sqlite3_column_int64(st, 0),
			.tag = col(st, 1),
			.user = col(st, 2),
			.created_us = sqlite3_column_int64(st, 3),
		};
		if ((err = fn(ud, &t)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = idx_fail(ix, "tags list");
	sqlite3_finalize(st);
	return err;
}

int idx_call_has_tag(struct idx *ix, int64_t call_row, const char *tag)
{
	sqlite3_stmt *st;
	if (prep(ix, "SELECT 1 FROM call_tags WHERE call_row = ? AND tag = ?", &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : idx_fail(ix, "tag lookup");
	sqlite3_finalize(st);
	return r;
}

int idx_note_add(struct idx *ix, int64_t call_row, const char *user, const char *text,
		 int64_t now_us, int64_t *id)
{
	sqlite3_stmt *st;
	if (prep(ix, "INSERT INTO call_notes (call_row, user, text, created_us) VALUES (?, ?, ?, ?)",
		 &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_us);
	int rc = sqlite3_step(st), err = 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = ES_ENOTFOUND;
	else if (rc == SQLITE_CONSTRAINT_CHECK)
		err = ES_EINVAL;
	else if (rc != SQLITE_DONE)
		err = idx_fail(ix, "note add");
	else if (id)
		*id = sqlite3_last_insert_rowid(ix->db);
	sqlite3_finalize(st);
	return err;
}

int idx_notes_list(struct idx *ix, int64_t call_row, idx_note_fn fn, void *ud)
{
	sqlite3_stmt *st;
	if (prep(ix, "SELECT id, call_row, user, text, created_us FROM call_notes"
		     " WHERE call_row = ? ORDER BY id", &st))
		return ES_EDB;
	sqlite3_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_note n = {
			.id = sqlite3_column_int64(st, 0),
			.call_row = sqlite3_column_int64(st, 1),
			.user = col(st, 2),
			.text = col(st, 3),
			.created_us = sqlite3_column_int64(st, 4),
		};
		if ((err = fn(ud, &n)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = idx_fail(ix, "notes list");
	sqlite3_finalize(st);
	return err;
}
