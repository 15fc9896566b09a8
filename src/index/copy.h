/* copy.h - copies of an embedded (SQLite) index: a consistent snapshot of a
 * live index file for a backup (copy.c). */
#ifndef ES_INDEX_COPY_H
#define ES_INDEX_COPY_H

#include "core/core.h"

/* Copy the SQLite index at src into a new file dst (removed first if it
 * exists) with SQLite's online backup API (sqlite3_backup_*, in one step,
 * so the copy is one transaction's view even while a recorder writes);
 * dst is fsynced.  ES_EDB with SQLite's message in err. */
int idx_sqlite_snapshot(const char *src, const char *dst, char *err, size_t errlen);

/* ---- an embedded index into a shared one (migrate.c) -------------------- */

struct idx;
struct idx_copy_stats {
	uint64_t tables, rows_read;
	uint64_t rows_added;   /* inserted now */
	uint64_t rows_present; /* already in the target (an earlier, interrupted run) */
};
/* After each batch and each table: the table and its rows read so far. */
typedef void (*idx_copy_progress_fn)(void *ud, const char *table, uint64_t rows);
/* Every table's rows of from (an SQLite index) into to (the same schema
 * version; PostgreSQL), parents before children, ids kept; a row whose
 * key is already in to is left as it is, so a second run continues an
 * interrupted one.  Each table is copied in transactions of a few thousand
 * rows; identity sequences then continue after the highest id.  The
 * full-text index's tables are not copied (the target has its own).
 * ES_EINVAL when the schema versions differ; ES_EDB with the table and row
 * in err. */
int idx_copy_rows(struct idx *from, struct idx *to, idx_copy_progress_fn fn, void *ud,
		  struct idx_copy_stats *s, char *err, size_t errlen);
/* Every table's row count, and every row by its primary key with every
 * column's value, in from and to; *mismatches counts the differences and
 * the first is described in err (0 returned).  ES_EDB when a side cannot
 * be read. */
int idx_copy_verify(struct idx *from, struct idx *to, uint64_t *mismatches, char *err,
		    size_t errlen);

/* An index location (URL or conninfo) with its password as "***", for
 * messages; the caller frees it (NULL: out of memory). */
char *idx_mask_location(const char *where);

#endif /* ES_INDEX_COPY_H */
