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

#endif /* ES_INDEX_COPY_H */
