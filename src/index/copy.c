/* copy.c - a consistent snapshot of a live SQLite index (copy.h). */
#include "index/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUSY_MS 30000

int idx_sqlite_snapshot(const char *src, const char *dst, char *err, size_t errlen)
{
	sqlite3 *in = NULL, *out = NULL;
	sqlite3_backup *bk = NULL;
	int rc = 0;
	unlink(dst);
	if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = es_errf(err, errlen, ES_EDB, "%s: %s", src, in ? sqlite3_errmsg(in) : "no memory");
		goto out;
	}
	/* a recorder holding the write lock for a moment must not fail us */
	sqlite3_busy_timeout(in, BUSY_MS);
	if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = es_errf(err, errlen, ES_EDB, "%s: %s", dst,
			     out ? sqlite3_errmsg(out) : "no memory");
		goto out;
	}
	if (!(bk = sqlite3_backup_init(out, "main", in, "main"))) {
		rc = es_errf(err, errlen, ES_EDB, "%s: backup: %s", dst, sqlite3_errmsg(out));
		goto out;
	}
	/* All pages in one step: the source's read transaction spans the whole
	 * copy, so the snapshot is one consistent state (a step-wise copy
	 * restarts whenever another connection writes). */
	int s;
	while ((s = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || s == SQLITE_LOCKED)
		sqlite3_sleep(50);
	if (s != SQLITE_DONE)
		rc = es_errf(err, errlen, ES_EDB, "%s: backup of %s: %s", dst, src,
			     sqlite3_errstr(s));
out:
	if (bk && sqlite3_backup_finish(bk) != SQLITE_OK && !rc)
		rc = es_errf(err, errlen, ES_EDB, "%s: %s", dst, sqlite3_errmsg(out));
	sqlite3_close(in);
	if (out && sqlite3_close(out) != SQLITE_OK && !rc)
		rc = es_errf(err, errlen, ES_EDB, "%s: cannot close", dst);
	if (!rc) {
		/* the snapshot is in the journal mode of a fresh file; make it durable */
		int fd = open(dst, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			rc = es_errf(err, errlen, ES_EIO, "%s: %s", dst, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (rc)
		unlink(dst);
	return rc;
}
