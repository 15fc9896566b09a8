/*
 * subject.c - what a data-subject erasure does to a call's metadata row
 * (GDPR art. 17; docs/OPERATIONS.md "Data-subject requests"), and the
 * recorder's clock evidence per call (schema IDX_MIG_SUBJECT).
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

static int prep(struct idx *ix, const char *sql, struct idx_st **st)
{
	if (db_prepare(ix, sql, st)) {
		*st = NULL;
		return idx_fail(ix, "prepare");
	}
	return 0;
}

/* Run one statement bound to (call_row, text); *changed rows touched. */
static int run2(struct idx *ix, const char *sql, int64_t row, const char *text, int *changed,
		const char *what)
{
	struct idx_st *st;
	if (prep(ix, sql, &st))
		return ES_EDB;
	db_bind_int64(st, 1, row);
	if (strstr(sql, "?2"))
		db_bind_text(st, 2, text);
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, what);
	if (!err && changed)
		*changed = db_changes(ix);
	db_finalize(st);
	return err;
}

int idx_call_erase_parties(struct idx *ix, int64_t call_row, unsigned roles,
			   const char *pseudonym)
{
	if (!pseudonym || !roles || roles > 3)
		return ES_EINVAL;
	/* the old values are overwritten in the file, not only unlinked
	 * (freed cells, pages), and the WAL's copies of them go at the end */
	int err = db_is_pg(ix) ? 0 : idx_exec(ix, "PRAGMA secure_delete = ON"), n = 0;
	if (!err)
		err = idx_begin(ix);
	if (err)
		return err;
	/* the update trigger of party_text (v7) replaces the search text too */
	for (int role = IDX_CALLER; !err && role <= IDX_CALLEE; role++) {
		if (!(roles & (1u << role)))
			continue;
		err = run2(ix,
			   role == IDX_CALLER
				   ? "UPDATE parties SET uri = ?2, user = ?2, display = NULL,"
				     " pai = NULL, ua = NULL, sdp_addr = NULL"
				     " WHERE call_row = ?1 AND role = 0"
				   : "UPDATE parties SET uri = ?2, user = ?2, display = NULL,"
				     " pai = NULL, ua = NULL, sdp_addr = NULL"
				     " WHERE call_row = ?1 AND role = 1",
			   call_row, pseudonym, NULL, "erase party");
	}
	/* configured extra headers and free-text notes may name the party */
	if (!err)
		err = run2(ix,
			   "UPDATE calls SET extra_json = NULL,"
			   " flags = CASE WHEN flags IS NULL OR flags = '' THEN 'erased'"
			   " WHEN instr(',' || flags || ',', ',erased,') > 0 THEN flags"
			   " ELSE flags || ',erased' END WHERE id = ?1",
			   call_row, NULL, &n, "erase call");
	if (!err && !n)
		err = ES_ENOTFOUND;
	if (!err)
		err = run2(ix, "DELETE FROM call_notes WHERE call_row = ?1", call_row, NULL, NULL,
			   "erase notes");
	/* bookmarks' comments are free text too, and a clip is the party's voice */
	if (!err)
		err = idx_bookmarks_delete(ix, call_row);
	if (err) {
		idx_rollback(ix);
		return err;
	}
	if ((err = idx_commit(ix)))
		return err;
	/* best effort: a reader holding an old snapshot keeps its frames until
	 * the next checkpoint */
	if (!db_is_pg(ix))
		(void)idx_exec(ix, "PRAGMA wal_checkpoint(TRUNCATE)");
	return 0;
}

int idx_call_set_clock(struct idx *ix, int64_t call_row, const char *clock_json)
{
	int n = 0;
	int err = run2(ix, "UPDATE calls SET clock = ?2 WHERE id = ?1", call_row, clock_json, &n,
		       "set clock");
	return err ? err : n ? 0 : ES_ENOTFOUND;
}

int idx_call_get_clock(struct idx *ix, int64_t call_row, char **out)
{
	struct idx_st *st;
	*out = NULL;
	if (prep(ix, "SELECT clock FROM calls WHERE id = ?1", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW) {
		const char *t = db_col_text(st, 0);
		if (t && !(*out = strdup(t)))
			err = ES_ENOMEM;
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "get clock");
	}
	db_finalize(st);
	return err;
}
