/*
 * bookmarks.c - bookmarks, comments and clips on a call's recording (schema
 * IDX_MIG_BOOKMARKS, issue #18).  Storage only: api/handlers_bookmarks.c
 * checks who may add, see and play them.  Statements are prepared per call
 * as in tags.c (they run once per request).
 */
#include "index/index_internal.h"

#include <stdio.h>
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

/* An INSERT ... RETURNING id stepped: 0 and *id, or the error. */
static int insert_done(struct idx *ix, struct idx_st *st, int64_t *id, const char *what)
{
	int rc = db_step(st), err = 0;
	if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc == DB_ECHECK)
		err = ES_EINVAL;
	else if (rc != DB_ROW)
		err = idx_fail(ix, what);
	else if (id)
		*id = db_col_int64(st, 0);
	db_finalize(st);
	return err;
}

int idx_bookmark_add(struct idx *ix, const struct idx_bookmark *b, int64_t *id)
{
	struct idx_st *st;
	if (b->at_ms < 0 || (b->end_ms >= 0 && b->end_ms <= b->at_ms))
		return ES_EINVAL;
	if (prep(ix, "INSERT INTO call_bookmarks (call_row, user, at_ms, end_ms, text, created_us)"
		     " VALUES (?, ?, ?, NULLIF(?, -1), ?, ?) RETURNING id", &st))
		return ES_EDB;
	db_bind_int64(st, 1, b->call_row);
	db_bind_text(st, 2, b->user);
	db_bind_int64(st, 3, b->at_ms);
	db_bind_int64(st, 4, b->end_ms >= 0 ? b->end_ms : -1); /* -1: NULL, a point */
	db_bind_text(st, 5, b->text);
	db_bind_int64(st, 6, b->created_us);
	return insert_done(ix, st, id, "bookmark add");
}

int idx_bookmarks_list(struct idx *ix, int64_t call_row, int64_t id, idx_bookmark_fn fn,
		       void *ud)
{
	struct idx_st *st;
	if (prep(ix, id > 0 ? "SELECT id, call_row, user, at_ms, ifnull(end_ms, -1), text, created_us"
			      " FROM call_bookmarks WHERE call_row = ? AND id = ?"
			    : "SELECT id, call_row, user, at_ms, ifnull(end_ms, -1), text, created_us"
			      " FROM call_bookmarks WHERE call_row = ? ORDER BY at_ms, id",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	if (id > 0)
		db_bind_int64(st, 2, id);
	int rc, err = 0;
	unsigned n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_bookmark b = {
			.id = db_col_int64(st, 0),
			.call_row = db_col_int64(st, 1),
			.user = col(st, 2),
			.at_ms = db_col_int64(st, 3),
			.end_ms = db_col_int64(st, 4),
			.text = col(st, 5),
			.created_us = db_col_int64(st, 6),
		};
		n++;
		if ((err = fn(ud, &b)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "bookmarks list");
	db_finalize(st);
	if (!err && id > 0 && !n)
		err = ES_ENOTFOUND;
	return err;
}

int idx_bookmark_delete(struct idx *ix, int64_t call_row, int64_t id)
{
	struct idx_st *st;
	if (prep(ix, "DELETE FROM call_bookmarks WHERE call_row = ? AND id = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_int64(st, 2, id);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "bookmark delete");
	db_finalize(st);
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_clip_add(struct idx *ix, const struct idx_clip *c, int64_t *id)
{
	struct idx_st *st;
	if (c->start_ms < 0 || c->end_ms <= c->start_ms)
		return ES_EINVAL;
	if (prep(ix, "INSERT INTO call_clips (call_row, creator, start_ms, end_ms, title,"
		     " created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", &st))
		return ES_EDB;
	db_bind_int64(st, 1, c->call_row);
	db_bind_text(st, 2, c->creator);
	db_bind_int64(st, 3, c->start_ms);
	db_bind_int64(st, 4, c->end_ms);
	db_bind_text(st, 5, c->title);
	db_bind_int64(st, 6, c->created_us);
	db_bind_int64(st, 7, c->expires_us);
	return insert_done(ix, st, id, "clip add");
}

#define CLIP_COLS "id, call_row, creator, start_ms, end_ms, title, created_us, expires_us"

static void clip_row(struct idx_st *st, struct idx_clip *c)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int64(st, 0);
	c->call_row = db_col_int64(st, 1);
	snprintf(c->creator, sizeof(c->creator), "%s", col(st, 2));
	c->start_ms = db_col_int64(st, 3);
	c->end_ms = db_col_int64(st, 4);
	snprintf(c->title, sizeof(c->title), "%s", col(st, 5));
	c->created_us = db_col_int64(st, 6);
	c->expires_us = db_col_int64(st, 7);
}

int idx_clip_get(struct idx *ix, int64_t id, struct idx_clip *out)
{
	struct idx_st *st;
	if (prep(ix, "SELECT " CLIP_COLS " FROM call_clips WHERE id = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, id);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		clip_row(st, out);
	else
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "clip get");
	db_finalize(st);
	return err;
}

int idx_clips_list(struct idx *ix, int64_t call_row, idx_clip_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT " CLIP_COLS " FROM call_clips WHERE call_row = ? ORDER BY id", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc, err = 0;
	struct idx_clip c;
	while ((rc = db_step(st)) == DB_ROW) {
		clip_row(st, &c);
		if ((err = fn(ud, &c)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "clips list");
	db_finalize(st);
	return err;
}

int idx_bookmarks_delete(struct idx *ix, int64_t call_row)
{
	static const char *const sql[] = {"DELETE FROM call_bookmarks WHERE call_row = ?",
					  "DELETE FROM call_clips WHERE call_row = ?"};
	for (size_t i = 0; i < ES_ARRAY_LEN(sql); i++) {
		struct idx_st *st;
		if (prep(ix, sql[i], &st))
			return ES_EDB;
		db_bind_int64(st, 1, call_row);
		int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, "bookmarks delete");
		db_finalize(st);
		if (err)
			return err;
	}
	return 0;
}
