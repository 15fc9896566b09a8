/*
 * db.h - the thin statement layer under src/index/: prepare, bind, step,
 * column, exec over either engine (SQLite, PostgreSQL).  Every query in
 * src/index/ is written once in SQLite's dialect with '?N', '?' or ':name'
 * parameters; the PostgreSQL engine rewrites it (db_pg_rewrite: $n
 * parameters, identity columns, CITEXT for COLLATE NOCASE, ILIKE, ...).
 * Callers never test which engine they have, except where a query
 * genuinely differs (kept side by side, see query.c's party search and
 * schema.c's pg_sql).  Nothing outside src/index/ includes this.
 */
#ifndef ES_INDEX_DB_H
#define ES_INDEX_DB_H

#include "core/core.h"

struct idx;
struct idx_st;

/* What a step answered: a row, the end, or an error class (the engine's
 * message is in ix->errmsg through idx_fail). */
enum db_rc {
	DB_ROW = 1,
	DB_DONE = 0,
	DB_ERR = -1,     /* anything else */
	DB_EUNIQUE = -2, /* a UNIQUE or PRIMARY KEY conflict */
	DB_EFK = -3,     /* a FOREIGN KEY violation */
	DB_ECHECK = -4,  /* a CHECK constraint */
	DB_ETIMEOUT = -5, /* stopped at the time limit of db_time_limit */
};

/* Engine-specific advisory locks, held to the end of the transaction. */
enum db_lock { DB_LOCK_AUDIT = 1, DB_LOCK_SCHEMA = 2 };

/* One engine: a const table per engine (index_sqlite.c, index_pg.c). */
struct idx_engine {
	const char *name;
	int (*open)(struct idx *ix, const char *where);
	void (*close)(struct idx *ix);
	int (*prepare)(struct idx *ix, const char *sql, struct idx_st **out);
	void (*finalize)(struct idx_st *st);
	void (*reset)(struct idx_st *st); /* and clear the bindings */
	void (*bind_int64)(struct idx_st *st, int i, int64_t v);
	void (*bind_double)(struct idx_st *st, int i, double v);
	/* s NULL binds NULL; s must stay valid until the next reset */
	void (*bind_text)(struct idx_st *st, int i, const char *s, int len);
	int (*param_index)(struct idx_st *st, const char *name);
	int (*step)(struct idx_st *st);
	int64_t (*col_int64)(struct idx_st *st, int i);
	double (*col_double)(struct idx_st *st, int i);
	const char *(*col_text)(struct idx_st *st, int i); /* NULL for NULL */
	int64_t (*changes)(struct idx *ix);
	int (*exec)(struct idx *ix, const char *sql); /* several statements, no data */
	bool (*in_tx)(struct idx *ix);
	int (*lock)(struct idx *ix, enum db_lock what); /* inside a transaction */
	const char *(*errmsg)(struct idx *ix);
	/* schema version bookkeeping (PRAGMA user_version or a table) */
	int (*migrate)(struct idx *ix);
	/* A time limit of ms on the statements that follow (ms > 0), or none
	 * again (ms = 0); see db_time_limit. */
	int (*time_limit)(struct idx *ix, int64_t ms);
};

extern const struct idx_engine idx_engine_sqlite;
extern const struct idx_engine idx_engine_pg;

/* The common part of every engine's statement. */
struct idx_st {
	struct idx *ix;
	bool hot; /* cached for the call path (idx_stmt): no per-statement guard */
};

int db_prepare(struct idx *ix, const char *sql, struct idx_st **out);
void db_finalize(struct idx_st *st);
void db_reset(struct idx_st *st);
void db_bind_int64(struct idx_st *st, int i, int64_t v);
void db_bind_double(struct idx_st *st, int i, double v);
void db_bind_text(struct idx_st *st, int i, const char *s);
/* A fixed buffer of at most cap bytes, empty = NULL. */
void db_bind_textn(struct idx_st *st, int i, const char *s, size_t cap);
/* By ':name'; nothing when the statement has no such parameter. */
void db_bind_named_text(struct idx_st *st, const char *name, const char *s);
void db_bind_named_int64(struct idx_st *st, const char *name, int64_t v);
void db_bind_named_double(struct idx_st *st, const char *name, double v);
int db_step(struct idx_st *st);
int64_t db_col_int64(struct idx_st *st, int i);
int db_col_int(struct idx_st *st, int i);
double db_col_double(struct idx_st *st, int i);
const char *db_col_text(struct idx_st *st, int i);
int64_t db_changes(struct idx *ix);
bool db_is_pg(const struct idx *ix);
/* Searches only (never a migration, an import or the audit append): the
 * statements that follow until db_time_limit(ix, 0) are stopped once ms
 * have passed since this call, their step answering DB_ETIMEOUT and
 * ix->timed_out set.  SQLite: a progress handler that interrupts past the
 * deadline; PostgreSQL: SET LOCAL statement_timeout (per statement) in a
 * transaction of its own, or in the caller's, whose setting is put back.
 * Lifting always succeeds as far as the caller is concerned. */
int db_time_limit(struct idx *ix, int64_t ms);

/* Rewrite SQLite-dialect SQL for PostgreSQL (db_rewrite.c).  *names gets
 * the ':name' parameters by their number (names[n - 1], NULL for '?'
 * ones), *nparams the highest number; both may be NULL.  The caller frees
 * the result and names (db_names_free). */
char *db_pg_rewrite(const char *sql, char ***names, int *nparams);
void db_names_free(char **names, int n);

/* A URL or conninfo with its password replaced by "***" (for every
 * message); the caller frees it. */
char *db_mask_secret(const char *where);

#endif /* ES_INDEX_DB_H */
