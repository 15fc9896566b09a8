/* redact.c - the index side of redactions (index.h): the recording row
 * swapped for the redacted one, the original kept in the redactions table
 * (schema v10). */
#include "index/index_internal.h"

#include <stdio.h>
#include <string.h>

static void bind_str(struct idx_st *st, int i, const char *s)
{
	if (s)
		db_bind_text(st, i, s);
	else
		db_bind_text(st, i, NULL);
}

static const char *col(struct idx_st *st, int i)
{
	return db_col_text(st, i);
}

int idx_redaction_apply(struct idx *ix, const struct idx_recording *rec, struct idx_redaction *r)
{
	struct idx_st *st = NULL;
	int err = 0;
	if (db_prepare(ix, "UPDATE recordings SET path = ?2, format = ?3, bytes = ?4, sha256 = ?5,"
			       " plain_sha256 = ?6, encrypted = ?7, flags = ?8, duration_us = ?9"
			       " WHERE call_row = ?1", &st))
		return idx_fail(ix, "prepare redaction");
	db_bind_int64(st, 1, rec->call_row);
	bind_str(st, 2, rec->path);
	bind_str(st, 3, rec->format);
	db_bind_int64(st, 4, (int64_t)rec->bytes);
	bind_str(st, 5, rec->sha256);
	bind_str(st, 6, rec->plain_sha256);
	db_bind_int64(st, 7, rec->encrypted ? 1 : 0);
	bind_str(st, 8, rec->flags);
	db_bind_int64(st, 9, rec->duration_us);
	int rc = db_step(st);
	err = rc != DB_DONE ? idx_fail(ix, "replace recording") : db_changes(ix) ? 0 : ES_ENOTFOUND;
	db_finalize(st);
	if (err)
		return err;
	if (db_prepare(ix, "INSERT INTO redactions (call_row, n, from_us, to_us, channel, fill,"
			       " reason, author, created_us, path, leaf, original_path, original_sha256,"
			       " original_plain_sha256, original_encrypted, original_format,"
			       " original_leaf, original_state) VALUES (?1, (SELECT ifnull(max(n), 0)"
			       " + 1 FROM redactions WHERE call_row = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			       " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) RETURNING id, n", &st))
		return idx_fail(ix, "prepare redaction insert");
	db_bind_int64(st, 1, r->call_row);
	db_bind_int64(st, 2, r->from_us);
	db_bind_int64(st, 3, r->to_us);
	bind_str(st, 4, r->channel);
	bind_str(st, 5, r->fill);
	bind_str(st, 6, r->reason);
	bind_str(st, 7, r->by);
	db_bind_int64(st, 8, r->created_us);
	bind_str(st, 9, r->path);
	db_bind_int64(st, 10, r->leaf);
	bind_str(st, 11, r->original_path);
	bind_str(st, 12, r->original_sha256);
	bind_str(st, 13, r->original_plain_sha256);
	db_bind_int64(st, 14, r->original_encrypted ? 1 : 0);
	bind_str(st, 15, r->original_format);
	db_bind_int64(st, 16, r->original_leaf);
	bind_str(st, 17, r->original_state);
	rc = db_step(st);
	if (rc == DB_ROW) {
		r->id = db_col_int64(st, 0);
		r->n = db_col_int(st, 1);
		rc = db_step(st);
	}
	err = rc == DB_DONE ? 0 : idx_fail(ix, "insert redaction");
	db_finalize(st);
	return err;
}

int idx_redactions_list(struct idx *ix, int64_t call_row, idx_redaction_fn fn, void *ud)
{
	struct idx_st *st = NULL;
	if (db_prepare(ix, "SELECT id, call_row, n, from_us, to_us, channel, fill, reason, author,"
			       " created_us, path, leaf, original_path, original_sha256,"
			       " original_plain_sha256, original_encrypted, original_format,"
			       " original_leaf, original_state FROM redactions"
			       " WHERE ?1 = 0 OR call_row = ?1 ORDER BY call_row, n", &st))
		return idx_fail(ix, "prepare redactions");
	db_bind_int64(st, 1, call_row);
	int rc, ret = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_redaction r = {
			.id = db_col_int64(st, 0),
			.call_row = db_col_int64(st, 1),
			.n = db_col_int(st, 2),
			.from_us = db_col_int64(st, 3),
			.to_us = db_col_int64(st, 4),
			.channel = col(st, 5),
			.fill = col(st, 6),
			.reason = col(st, 7),
			.by = col(st, 8),
			.created_us = db_col_int64(st, 9),
			.path = col(st, 10),
			.leaf = db_col_int64(st, 11),
			.original_path = col(st, 12),
			.original_sha256 = col(st, 13),
			.original_plain_sha256 = col(st, 14),
			.original_encrypted = db_col_int(st, 15) != 0,
			.original_format = col(st, 16),
			.original_leaf = db_col_int64(st, 17),
			.original_state = col(st, 18),
		};
		if ((ret = fn(ud, &r)))
			break;
	}
	if (!ret && rc != DB_DONE)
		ret = idx_fail(ix, "read redactions");
	db_finalize(st);
	return ret;
}

int idx_redaction_shredded(struct idx *ix, int64_t id)
{
	struct idx_st *st = NULL;
	if (db_prepare(ix, "UPDATE redactions SET original_state = 'shredded' WHERE id = ?1", &st))
		return idx_fail(ix, "prepare redaction shred");
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	int err = rc == DB_DONE ? 0 : idx_fail(ix, "mark redaction shredded");
	db_finalize(st);
	return err;
}
