/*
 * index_sqlite.c - the SQLite engine of the index (db.h): one file, WAL
 * journal, PRAGMA user_version for the schema version.  The default.
 */
#include "index/index_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_BUSY_TIMEOUT_MS 5000
/* Virtual machine steps between two looks at the clock under a time limit:
 * a few microseconds of work, so the limit is kept to well under a
 * millisecond while the clock costs nothing measurable. */
#define SQ_PROGRESS_STEPS 1000

struct sq_st {
	struct idx_st base;
	sqlite3_stmt *s;
};

static sqlite3 *db(struct idx *ix) { return ix->conn; }
static sqlite3_stmt *S(struct idx_st *st) { return ((struct sq_st *)st)->s; }

static const char *sq_errmsg(struct idx *ix)
{
	return ix->conn ? sqlite3_errmsg(db(ix)) : "not open";
}

static int sq_exec(struct idx *ix, const char *sql)
{
	if (sqlite3_exec(db(ix), sql, NULL, NULL, NULL) != SQLITE_OK)
		return idx_fail(ix, sql);
	return 0;
}

static int sq_prepare(struct idx *ix, const char *sql, struct idx_st **out)
{
	struct sq_st *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: out of memory", ix->path);
		return ES_ENOMEM;
	}
	st->base.ix = ix;
	if (sqlite3_prepare_v3(db(ix), sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL) !=
	    SQLITE_OK) {
		free(st);
		return idx_fail(ix, "prepare");
	}
	*out = &st->base;
	return 0;
}

static void sq_finalize(struct idx_st *st)
{
	sqlite3_finalize(S(st));
	free(st);
}

static void sq_reset(struct idx_st *st)
{
	sqlite3_reset(S(st));
	sqlite3_clear_bindings(S(st));
}

static void sq_bind_int64(struct idx_st *st, int i, int64_t v) { sqlite3_bind_int64(S(st), i, v); }
static void sq_bind_double(struct idx_st *st, int i, double v) { sqlite3_bind_double(S(st), i, v); }

static void sq_bind_text(struct idx_st *st, int i, const char *s, int len)
{
	if (s)
		sqlite3_bind_text(S(st), i, s, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(S(st), i);
}

static int sq_param_index(struct idx_st *st, const char *name)
{
	return sqlite3_bind_parameter_index(S(st), name);
}

static int sq_step(struct idx_st *st)
{
	int rc = sqlite3_step(S(st));
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	idx_fail(st->ix, "step");
	switch (rc) {
	case SQLITE_INTERRUPT:
		return st->ix->timed_out ? DB_ETIMEOUT : DB_ERR;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return DB_EUNIQUE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return DB_EFK;
	case SQLITE_CONSTRAINT_CHECK:
		return DB_ECHECK;
	default:
		return DB_ERR;
	}
}

static int64_t sq_col_int64(struct idx_st *st, int i) { return sqlite3_column_int64(S(st), i); }
static double sq_col_double(struct idx_st *st, int i) { return sqlite3_column_double(S(st), i); }

static const char *sq_col_text(struct idx_st *st, int i)
{
	return (const char *)sqlite3_column_text(S(st), i);
}

static int64_t sq_changes(struct idx *ix) { return sqlite3_changes(db(ix)); }

/* Past the deadline: interrupt the statement (SQLITE_INTERRUPT; a read
 * only, so nothing of a transaction is rolled back). */
static int sq_progress(void *ud)
{
	struct idx *ix = ud;
	if (es_mono_us() < ix->limit_deadline_us)
		return 0;
	ix->timed_out = true;
	return 1;
}

static int sq_time_limit(struct idx *ix, int64_t ms)
{
	if (ms > 0) {
		ix->limit_deadline_us = es_mono_us() + ms * 1000;
		sqlite3_progress_handler(db(ix), SQ_PROGRESS_STEPS, sq_progress, ix);
	} else {
		sqlite3_progress_handler(db(ix), 0, NULL, NULL);
	}
	return 0;
}

static bool sq_in_tx(struct idx *ix) { return !sqlite3_get_autocommit(db(ix)); }

/* BEGIN IMMEDIATE already holds the database's one write lock. */
static int sq_lock(struct idx *ix, enum db_lock what)
{
	(void)ix;
	(void)what;
	return 0;
}

/* One integer from a PRAGMA (no user data in sql). */
static int pragma_int(struct idx *ix, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db(ix), sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int err = idx_fail(ix, sql);
		sqlite3_finalize(st);
		return err;
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int set_wal(struct idx *ix)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db(ix), "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int err = idx_fail(ix, "set WAL journal");
		sqlite3_finalize(st);
		return err;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	/* An in-memory database answers "memory"; anything else means WAL
	 * could not be had (e.g. a file system without shared memory). */
	bool ok = mode && (!strcmp(mode, "wal") || !strcmp(mode, "memory"));
	if (!ok)
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: WAL journal refused (mode %s)",
			 ix->path, mode ? mode : "?");
	sqlite3_finalize(st);
	return ok ? 0 : ES_EDB;
}

/* Apply every migration step above the stored user_version, each in its own
 * transaction together with its version bump. */
static int sq_migrate(struct idx *ix)
{
	int ver = 0, app = 0;
	int err = pragma_int(ix, "PRAGMA user_version", &ver);
	if (!err)
		err = pragma_int(ix, "PRAGMA application_id", &app);
	if (err)
		return err;
	if (ver > 0 && app != IDX_APPLICATION_ID) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: not an earshot index (application_id %d)", ix->path, app);
		return ES_EFORMAT;
	}
	if (ver < 0 || (unsigned)ver > idx_nmigrations) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: schema version %d is newer than this program's (%u)", ix->path,
			 ver, idx_nmigrations);
		return ES_EUNSUP;
	}
	for (unsigned v = (unsigned)ver; v < idx_nmigrations; v++) {
		char bump[96];
		if ((err = sq_exec(ix, "BEGIN IMMEDIATE")))
			return err;
		/* Re-read under the write lock: another process may have
		 * migrated meanwhile. */
		int now = 0;
		if ((err = pragma_int(ix, "PRAGMA user_version", &now)))
			goto fail;
		if ((unsigned)now > v) {
			if ((err = sq_exec(ix, "COMMIT")))
				return err;
			v = (unsigned)now - 1;
			continue;
		}
		if (sqlite3_exec(db(ix), idx_migrations[v].sql, NULL, NULL, NULL) != SQLITE_OK) {
			err = idx_fail(ix, idx_migrations[v].name);
			goto fail;
		}
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %u; PRAGMA application_id = %d",
			 v + 1, IDX_APPLICATION_ID);
		if ((err = sq_exec(ix, bump)) || (err = sq_exec(ix, "COMMIT")))
			goto fail;
		es_log(ES_LOG_INFO, "index", "%s: schema version %u (%s)", ix->path, v + 1,
		       idx_migrations[v].name);
	}
	return pragma_int(ix, "PRAGMA user_version", &ix->version);
fail:
	sqlite3_exec(db(ix), "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* An index made by an older earshot (or copied with cp) may be 0644:
 * take away what "other" users may do with it and its WAL files. */
static void private_files(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[4200];
	struct stat st;
	for (size_t i = 0; i < ES_ARRAY_LEN(sfx); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
			return;
		if (!lstat(p, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) &&
		    chmod(p, st.st_mode & 07770))
			ES_LOG_WARNING("index", "%s: cannot take away other users' access: %s", p,
				       strerror(errno));
	}
}

static int sq_open(struct idx *ix, const char *path)
{
	/* The index holds every call's parties, the password hashes and the
	 * audit log: it is created 0600 (SQLite would make it 0644 less the
	 * umask), and SQLite gives its -wal, -shm and -journal files the mode
	 * of the database file. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	sqlite3 *d = NULL;
	int rc = sqlite3_open_v2(path, &d,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	ix->conn = d;
	if (rc != SQLITE_OK)
		return idx_fail(ix, "open");
	sqlite3_extended_result_codes(d, 1);
	sqlite3_busy_timeout(d, IDX_BUSY_TIMEOUT_MS);
	int err;
	if ((err = set_wal(ix)) || (err = sq_exec(ix, "PRAGMA synchronous = NORMAL")) ||
	    (err = sq_exec(ix, "PRAGMA foreign_keys = ON")))
		return err;
	private_files(path);
	return 0;
}

static void sq_close(struct idx *ix)
{
	/* sqlite3_close_v2: a statement left open elsewhere cannot turn
	 * close into a leak of the connection. */
	if (ix->conn)
		sqlite3_close_v2(db(ix));
	ix->conn = NULL;
}

const struct idx_engine idx_engine_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.reset = sq_reset,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.param_index = sq_param_index,
	.step = sq_step,
	.col_int64 = sq_col_int64,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.changes = sq_changes,
	.exec = sq_exec,
	.in_tx = sq_in_tx,
	.lock = sq_lock,
	.errmsg = sq_errmsg,
	.migrate = sq_migrate,
	.time_limit = sq_time_limit,
};
