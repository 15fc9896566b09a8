/*
 * index_pg.c - the PostgreSQL engine of the index (db.h), through libpq:
 * chosen by an index location "postgresql://..." (or "postgres://").
 * One connection per handle; every statement is SQLite-dialect SQL
 * rewritten once (db_rewrite.c) and prepared on the server once per
 * connection and parameter types.  Results are read whole, so that a
 * callback may use the index while a list is being handed out.  A lost
 * connection (server restart) is reset and the statement retried once,
 * unless a transaction was open: that one fails, as it would anyway.
 */
#include "index/index_internal.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_CACHE_MAX 256 /* prepared statements kept per connection */
#define PG_OID_INT8 20
#define PG_OID_FLOAT8 701

struct pg_prep {
	char *key; /* parameter types, '\1', SQL */
	char name[16];
};

struct pg_conn {
	PGconn *c;
	char *conninfo;
	struct pg_prep cache[PG_CACHE_MAX];
	unsigned ncache, serial;
	int64_t changes;
	char err[512];
	/* db_time_limit: on; the transaction it began (else the caller's,
	 * whose statement_timeout, limit_old, is put back) */
	bool limit_on, limit_began;
	char limit_old[64];
};

struct pg_st {
	struct idx_st base;
	char *sql;
	char **names;
	int n;           /* parameters */
	char **vals;     /* text form, NULL = SQL NULL */
	char (*num)[64]; /* numbers and fixed address buffers */
	char **own;      /* text made valid UTF-8 by bind_text, freed on reset */
	char *types;     /* 'i' int8, 'd' float8, 'u' unknown (text, NULL) */
	PGresult *res;
	int row, nrows;
	bool done;
	bool write; /* INSERT, UPDATE or DELETE */
};

static struct pg_conn *pc(struct idx *ix) { return ix->conn; }
static struct pg_st *P(struct idx_st *st) { return (struct pg_st *)st; }

static const char *pg_errmsg(struct idx *ix)
{
	struct pg_conn *c = pc(ix);
	return c ? c->err : "not open";
}

/* Keep libpq's message (one line) for idx_fail. */
static void keep_err(struct pg_conn *c, const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : "";
	if (!m || !*m)
		m = PQerrorMessage(c->c);
	snprintf(c->err, sizeof(c->err), "%s", m && *m ? m : "unknown error");
	size_t n = strlen(c->err);
	while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
		c->err[--n] = '\0';
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs ("extension exists, skipping") are not news */
}

static void forget_prepared(struct pg_conn *c)
{
	for (unsigned i = 0; i < c->ncache; i++)
		free(c->cache[i].key);
	c->ncache = 0;
}

static bool conn_lost(struct pg_conn *c) { return PQstatus(c->c) == CONNECTION_BAD; }

/* 57014 (query_canceled) under db_time_limit: its statement_timeout
 * (ix->timed_out set). */
static bool limit_hit(struct idx *ix, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (!state || strcmp(state, "57014") || !pc(ix)->limit_on)
		return false;
	ix->timed_out = true;
	return true;
}

/* A session's settings, after every (re)connect.  Custom plans always:
 * statements are prepared once and cached, and after five runs the server
 * may keep a generic plan made without the values, which for a search is
 * the wrong one for every needle but the typical (a party text LIKE
 * estimated at 0.5 % walks every call for a needle in one call).  Planning
 * a cached INSERT again costs microseconds; its round trip costs more. */
static const char session_sql[] = "SET client_min_messages = warning;"
				  "SET plan_cache_mode = force_custom_plan";

/* After a server restart: a fresh connection, nothing prepared on it. */
static bool reconnect(struct idx *ix)
{
	struct pg_conn *c = pc(ix);
	forget_prepared(c);
	PQreset(c->c);
	PGresult *r = conn_lost(c) ? NULL : PQexec(c->c, session_sql);
	PQclear(r);
	if (conn_lost(c)) {
		keep_err(c, NULL);
		return false;
	}
	ES_LOG_WARNING("index", "%s: reconnected to the database", ix->path);
	return true;
}

/* Run sql (no parameters, maybe several statements); one retry after a
 * reset when the connection was lost outside a transaction. */
static int pg_exec(struct idx *ix, const char *sql)
{
	struct pg_conn *c = pc(ix);
	for (int attempt = 0;; attempt++) {
		bool idle = PQtransactionStatus(c->c) == PQTRANS_IDLE;
		PGresult *r = PQexec(c->c, sql);
		ExecStatusType s = PQresultStatus(r);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
			c->changes = atoll(PQcmdTuples(r));
			PQclear(r);
			return 0;
		}
		keep_err(c, r);
		PQclear(r);
		if (attempt || !idle || !conn_lost(c) || !reconnect(ix))
			return idx_fail(ix, sql);
	}
}

/* idx_exec's SQL is SQLite's dialect too (BEGIN IMMEDIATE, SAVEPOINT ...). */
static int pg_exec_sql(struct idx *ix, const char *sql)
{
	char *pg = db_pg_rewrite(sql, NULL, NULL);
	if (!pg) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: out of memory", ix->path);
		return ES_ENOMEM;
	}
	int err = pg_exec(ix, pg);
	free(pg);
	return err;
}

static int pg_prepare(struct idx *ix, const char *sql, struct idx_st **out)
{
	struct pg_st *st = calloc(1, sizeof(*st));
	if (!st || !(st->sql = db_pg_rewrite(sql, &st->names, &st->n)))
		goto oom;
	st->base.ix = ix;
	const char *w = st->sql + strspn(st->sql, " \t\n");
	st->write = !strncasecmp(w, "INSERT", 6) || !strncasecmp(w, "UPDATE", 6) ||
		    !strncasecmp(w, "DELETE", 6);
	if (st->n) {
		st->vals = calloc((size_t)st->n, sizeof(*st->vals));
		st->num = calloc((size_t)st->n, sizeof(*st->num));
		st->own = calloc((size_t)st->n, sizeof(*st->own));
		st->types = calloc((size_t)st->n + 1, 1);
		if (!st->vals || !st->num || !st->own || !st->types)
			goto oom;
		memset(st->types, 'u', (size_t)st->n);
	}
	*out = &st->base;
	return 0;
oom:
	if (st) {
		free(st->sql);
		db_names_free(st->names, st->n);
		free(st->vals);
		free(st->num);
		free(st->own);
		free(st->types);
		free(st);
	}
	snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: out of memory", ix->path);
	return ES_ENOMEM;
}

static void pg_reset(struct idx_st *st)
{
	struct pg_st *p = P(st);
	PQclear(p->res);
	p->res = NULL;
	p->row = p->nrows = 0;
	p->done = false;
	for (int i = 0; i < p->n; i++) {
		p->vals[i] = NULL;
		p->types[i] = 'u';
		free(p->own[i]);
		p->own[i] = NULL;
	}
}

static void pg_finalize(struct idx_st *st)
{
	struct pg_st *p = P(st);
	PQclear(p->res);
	free(p->sql);
	db_names_free(p->names, p->n);
	free(p->vals);
	free(p->num);
	for (int i = 0; i < p->n; i++)
		free(p->own[i]);
	free(p->own);
	free(p->types);
	free(p);
}

static void pg_bind_int64(struct idx_st *st, int i, int64_t v)
{
	struct pg_st *p = P(st);
	if (i < 1 || i > p->n)
		return;
	snprintf(p->num[i - 1], sizeof(p->num[0]), "%lld", (long long)v);
	p->vals[i - 1] = p->num[i - 1];
	p->types[i - 1] = 'i';
}

static void pg_bind_double(struct idx_st *st, int i, double v)
{
	struct pg_st *p = P(st);
	if (i < 1 || i > p->n)
		return;
	snprintf(p->num[i - 1], sizeof(p->num[0]), "%.17g", v);
	p->vals[i - 1] = p->num[i - 1];
	p->types[i - 1] = 'd';
}

/* s[0..n) with each byte that is not part of a well-formed UTF-8 sequence
 * replaced by U+FFFD, as the JSON writer shows it (core.h), in a new
 * string; NULL when s is well-formed already (or out of memory: the server
 * then refuses the text itself, naming it). */
static char *utf8_valid_copy(const char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;
	while (i < n) {
		size_t l = (unsigned char)s[i] < 0x80 ? 1 : es_utf8_seq(s + i, n - i, &cp);
		if (!l)
			break;
		i += l;
	}
	if (i == n)
		return NULL;
	char *out = malloc(n * 3 + 1), *o = out;
	if (!out)
		return NULL;
	memcpy(o, s, i);
	o += i;
	while (i < n) {
		size_t l = es_utf8_seq(s + i, n - i, &cp);
		if (l) {
			memcpy(o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

/* Text goes as an untyped parameter, so that the server takes the type of
 * what it meets (TEXT, CITEXT, BIGINT for NULL ...).  The database's
 * encoding is UTF-8 and PostgreSQL refuses any other byte sequence in text,
 * where SQLite stores any bytes: a display name from the wire with one
 * stray byte would cost the whole call's insert, and a search for such
 * bytes a 503.  So such text is stored and searched as the JSON shows it
 * on both engines: each stray byte as U+FFFD (RFC 3629 section 4). */
static void pg_bind_text(struct idx_st *st, int i, const char *s, int len)
{
	struct pg_st *p = P(st);
	if (i < 1 || i > p->n)
		return;
	p->types[i - 1] = 'u';
	free(p->own[i - 1]);
	p->own[i - 1] = NULL;
	if (s && len >= 0 && s[len] != '\0') {
		/* a fixed buffer without its NUL: only addresses, which fit */
		if ((size_t)len >= sizeof(p->num[0]))
			len = sizeof(p->num[0]) - 1;
		memcpy(p->num[i - 1], s, (size_t)len);
		p->num[i - 1][len] = '\0';
		s = p->num[i - 1];
	}
	if (s && (p->own[i - 1] = utf8_valid_copy(s, len >= 0 ? (size_t)len : strlen(s))))
		s = p->own[i - 1];
	p->vals[i - 1] = (char *)s;
}

static int pg_param_index(struct idx_st *st, const char *name)
{
	struct pg_st *p = P(st);
	for (int i = 0; i < p->n; i++)
		if (p->names && p->names[i] && !strcmp(p->names[i], name))
			return i + 1;
	return 0;
}

/* The server-side name of st's statement with its current parameter
 * types, prepared on first use on this connection; NULL on failure. */
static const char *prepared(struct pg_st *p, int *err)
{
	struct idx *ix = p->base.ix;
	struct pg_conn *c = pc(ix);
	size_t kl = (size_t)p->n + 1 + strlen(p->sql) + 1;
	char *key = malloc(kl);
	if (!key) {
		*err = ES_ENOMEM;
		return NULL;
	}
	snprintf(key, kl, "%s\1%s", p->types ? p->types : "", p->sql);
	for (unsigned i = 0; i < c->ncache; i++)
		if (!strcmp(c->cache[i].key, key)) {
			free(key);
			return c->cache[i].name;
		}
	Oid types[p->n > 0 ? p->n : 1];
	for (int i = 0; i < p->n; i++)
		types[i] = p->types[i] == 'i' ? PG_OID_INT8 : p->types[i] == 'd' ? PG_OID_FLOAT8 : 0;
	/* Past the cache's size (searches with inline ids): the unnamed
	 * statement, prepared again each time. */
	struct pg_prep *slot = c->ncache < PG_CACHE_MAX ? &c->cache[c->ncache] : NULL;
	static const char unnamed[] = "";
	const char *name = unnamed;
	if (slot) {
		snprintf(slot->name, sizeof(slot->name), "es%u", ++c->serial);
		name = slot->name;
	}
	PGresult *r = PQprepare(c->c, name, p->sql, p->n, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		keep_err(c, r);
		/* planning counts against statement_timeout too */
		*err = limit_hit(p->base.ix, r) ? ES_ETIMEOUT : ES_EDB;
		PQclear(r);
		free(key);
		return NULL;
	}
	PQclear(r);
	if (slot) {
		slot->key = key;
		c->ncache++;
	} else {
		free(key);
	}
	return name;
}

static int run_once(struct pg_st *p);

/* SQLSTATE class 23: integrity constraint violations; a statement
 * stopped by db_time_limit's statement_timeout (limit_hit). */
static int constraint_rc(struct idx *ix, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (!state)
		return DB_ERR;
	if (limit_hit(ix, r))
		return DB_ETIMEOUT;
	if (!strcmp(state, "23505"))
		return DB_EUNIQUE;
	if (!strcmp(state, "23503"))
		return DB_EFK;
	if (!strcmp(state, "23514"))
		return DB_ECHECK;
	return DB_ERR;
}

/* Inside a transaction a failed statement aborts the whole transaction in
 * PostgreSQL, not in SQLite, where callers go on after ES_EEXIST (a taken
 * name, a tag present).  Writes other than the hot path's cached ones run
 * under a savepoint so that a conflict leaves the transaction usable. */
static int guard(struct pg_st *p, const char *sql)
{
	if (!p->write || p->base.hot || PQtransactionStatus(pc(p->base.ix)->c) != PQTRANS_INTRANS)
		return 0;
	PGresult *r = PQexec(pc(p->base.ix)->c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 1 : 0;
}

static int run(struct pg_st *p)
{
	struct idx *ix = p->base.ix;
	struct pg_conn *c = pc(ix);
	int guarded = guard(p, "SAVEPOINT es_guard");
	int rc = run_once(p);
	if (guarded)
		PQclear(PQexec(c->c, rc ? "ROLLBACK TO SAVEPOINT es_guard; RELEASE SAVEPOINT es_guard"
					: "RELEASE SAVEPOINT es_guard"));
	return rc;
}

static int run_once(struct pg_st *p)
{
	struct idx *ix = p->base.ix;
	struct pg_conn *c = pc(ix);
	for (int attempt = 0;; attempt++) {
		bool idle = PQtransactionStatus(c->c) == PQTRANS_IDLE;
		int err = 0;
		const char *name = prepared(p, &err);
		PGresult *r = NULL;
		if (name)
			r = PQexecPrepared(c->c, name, p->n, (const char *const *)p->vals, NULL, NULL,
					   0);
		ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
			c->changes = atoll(PQcmdTuples(r));
			p->res = r;
			p->nrows = s == PGRES_TUPLES_OK ? PQntuples(r) : 0;
			p->row = -1;
			return 0;
		}
		if (err == ES_ENOMEM) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return DB_ERR;
		}
		if (r)
			keep_err(c, r);
		int rc = err == ES_ETIMEOUT ? DB_ETIMEOUT : constraint_rc(ix, r);
		PQclear(r);
		if (attempt || !idle || !conn_lost(c) || !reconnect(ix)) {
			idx_fail(ix, "step");
			return rc;
		}
	}
}

static int pg_step(struct idx_st *st)
{
	struct pg_st *p = P(st);
	if (p->done)
		return DB_DONE;
	if (!p->res) {
		int rc = run(p);
		if (rc)
			return rc;
	}
	if (++p->row < p->nrows)
		return DB_ROW;
	p->done = true;
	return DB_DONE;
}

static const char *pg_col_text(struct idx_st *st, int i)
{
	struct pg_st *p = P(st);
	if (!p->res || p->row < 0 || p->row >= p->nrows || i >= PQnfields(p->res) ||
	    PQgetisnull(p->res, p->row, i))
		return NULL;
	return PQgetvalue(p->res, p->row, i);
}

static int64_t pg_col_int64(struct idx_st *st, int i)
{
	const char *s = pg_col_text(st, i);
	if (!s)
		return 0;
	if (s[0] == 't' || s[0] == 'f') /* a boolean */
		return s[0] == 't';
	return strtoll(s, NULL, 10);
}

static double pg_col_double(struct idx_st *st, int i)
{
	const char *s = pg_col_text(st, i);
	return s ? strtod(s, NULL) : 0;
}

static int64_t pg_changes(struct idx *ix) { return pc(ix)->changes; }

static bool pg_in_tx(struct idx *ix) { return PQtransactionStatus(pc(ix)->c) != PQTRANS_IDLE; }

/* The caller's transaction's statement_timeout into limit_old. */
static int keep_timeout(struct idx *ix)
{
	struct pg_conn *c = pc(ix);
	PGresult *r = PQexec(c->c, "SELECT current_setting('statement_timeout')");
	int err = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(c->limit_old, sizeof(c->limit_old), "%s", PQgetvalue(r, 0, 0));
	else {
		keep_err(c, r);
		err = idx_fail(ix, "search time limit");
	}
	PQclear(r);
	return err;
}

/* SET LOCAL lasts to the end of the transaction, so a search outside one
 * gets its own (read only: its COMMIT writes nothing, and a statement
 * stopped by the limit leaves it aborted, which the COMMIT rolls back);
 * inside the caller's the old value is set again after the search (an
 * aborted transaction refuses that, and its rollback undoes the SET). */
static int pg_time_limit(struct idx *ix, int64_t ms)
{
	struct pg_conn *c = pc(ix);
	int err = 0;
	if (ms > 0) {
		c->limit_old[0] = '\0';
		if (!pg_in_tx(ix)) {
			if ((err = pg_exec(ix, "BEGIN")))
				return err;
			c->limit_began = true;
		} else if ((err = keep_timeout(ix))) {
			return err;
		}
		char sql[64];
		snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %lld", (long long)ms);
		if ((err = pg_exec(ix, sql))) {
			pg_time_limit(ix, 0);
			return err;
		}
		c->limit_on = true;
		return 0;
	}
	c->limit_on = false;
	if (c->limit_began) {
		c->limit_began = false;
		PQclear(PQexec(c->c, "COMMIT"));
	} else if (c->limit_old[0] && PQtransactionStatus(c->c) == PQTRANS_INTRANS) {
		const char *v[1] = {c->limit_old};
		PQclear(PQexecParams(c->c, "SELECT set_config('statement_timeout', $1, true)", 1,
				     NULL, v, NULL, NULL, 0));
	}
	return 0;
}

/* Transaction-scoped advisory locks: the audit chain's append (read the
 * head, write its successor) and the schema migration are one writer at a
 * time across every process and node. */
static int pg_lock(struct idx *ix, enum db_lock what)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %d)", IDX_APPLICATION_ID,
		 (int)what);
	return pg_exec(ix, sql);
}

/* One integer from sql (no user data), *found false when no row. */
static int query_int(struct idx *ix, const char *sql, int64_t *out, bool *found)
{
	struct pg_conn *c = pc(ix);
	PGresult *r = PQexec(c->c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		keep_err(c, r);
		PQclear(r);
		return idx_fail(ix, sql);
	}
	*found = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0);
	*out = *found ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

/* The schema version lives in a one-row table (PRAGMA user_version's
 * stand-in) with the application id.  Each step runs in one transaction
 * under an advisory lock, re-reading the version under it, so that two
 * nodes starting at once do not both migrate. */
static int pg_migrate(struct idx *ix)
{
	static const char boot[] =
		"CREATE EXTENSION IF NOT EXISTS citext;"
		"CREATE EXTENSION IF NOT EXISTS pg_trgm;"
		"CREATE TABLE IF NOT EXISTS earshot_schema ("
		"  one INTEGER PRIMARY KEY CHECK (one = 1),"
		"  version INTEGER NOT NULL,"
		"  application_id INTEGER NOT NULL);"
		"INSERT INTO earshot_schema VALUES (1, 0, 1161908819) ON CONFLICT DO NOTHING;";
	int64_t ver = 0, app = 0;
	bool found;
	int err;
	if ((err = pg_exec(ix, "BEGIN")) || (err = pg_lock(ix, DB_LOCK_SCHEMA)) ||
	    (err = pg_exec(ix, boot)) ||
	    (err = query_int(ix, "SELECT application_id FROM earshot_schema", &app, &found)) ||
	    (err = pg_exec(ix, "COMMIT")))
		goto fail;
	if (app != IDX_APPLICATION_ID) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: not an earshot index (application_id %lld)", ix->path,
			 (long long)app);
		return ES_EFORMAT;
	}
	for (;;) {
		if ((err = pg_exec(ix, "BEGIN")) || (err = pg_lock(ix, DB_LOCK_SCHEMA)) ||
		    (err = query_int(ix, "SELECT version FROM earshot_schema", &ver, &found)))
			goto fail;
		if (ver < 0 || ver > (int64_t)idx_nmigrations) {
			pg_exec(ix, "ROLLBACK");
			snprintf(ix->errmsg, sizeof(ix->errmsg),
				 "index %s: schema version %lld is newer than this program's (%u)",
				 ix->path, (long long)ver, idx_nmigrations);
			return ES_EUNSUP;
		}
		if (ver == (int64_t)idx_nmigrations)
			break;
		const struct idx_migration *m = &idx_migrations[ver];
		const char *own = idx_migration_pg_sql((unsigned)ver);
		char *sql = own ? strdup(own) : db_pg_rewrite(m->sql, NULL, NULL);
		char bump[80];
		if (!sql) {
			err = ES_ENOMEM;
			goto fail;
		}
		snprintf(bump, sizeof(bump), "UPDATE earshot_schema SET version = %lld",
			 (long long)ver + 1);
		err = pg_exec(ix, sql);
		free(sql);
		if (err) {
			idx_fail(ix, m->name);
			goto fail;
		}
		if ((err = pg_exec(ix, bump)) || (err = pg_exec(ix, "COMMIT")))
			goto fail;
		es_log(ES_LOG_INFO, "index", "%s: schema version %lld (%s)", ix->path,
		       (long long)ver + 1, m->name);
	}
	if ((err = pg_exec(ix, "COMMIT")))
		return err;
	ix->version = (int)ver;
	return 0;
fail:
	if (pg_in_tx(ix))
		PQclear(PQexec(pc(ix)->c, "ROLLBACK"));
	return err;
}

static int pg_open(struct idx *ix, const char *where)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c || !(c->conninfo = strdup(where))) {
		free(c);
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: out of memory", ix->path);
		return ES_ENOMEM;
	}
	ix->conn = c;
	c->c = PQconnectdb(where);
	if (!c->c || conn_lost(c)) {
		snprintf(c->err, sizeof(c->err), "%s",
			 c->c ? PQerrorMessage(c->c) : "out of memory");
		size_t n = strlen(c->err);
		while (n && c->err[n - 1] == '\n')
			c->err[--n] = '\0';
		return idx_fail(ix, "connect");
	}
	PQsetNoticeProcessor(c->c, quiet, NULL);
	return pg_exec(ix, session_sql);
}

static void pg_close(struct idx *ix)
{
	struct pg_conn *c = pc(ix);
	if (!c)
		return;
	forget_prepared(c);
	if (c->c)
		PQfinish(c->c);
	free(c->conninfo);
	free(c);
	ix->conn = NULL;
}

const struct idx_engine idx_engine_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.param_index = pg_param_index,
	.step = pg_step,
	.col_int64 = pg_col_int64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.changes = pg_changes,
	.exec = pg_exec_sql,
	.in_tx = pg_in_tx,
	.time_limit = pg_time_limit,
	.lock = pg_lock,
	.errmsg = pg_errmsg,
	.migrate = pg_migrate,
};
