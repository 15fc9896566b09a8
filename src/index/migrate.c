/* migrate.c - every table's rows of an embedded (SQLite) index copied into
 * another index of the same schema version (PostgreSQL), ids kept, and
 * compared back row by row (copy.h).  Generic over the schema: the tables
 * and columns are read from SQLite's catalogue, so a migration that adds a
 * table or column needs nothing here. */
#include "index/copy.h"
#include "index/index_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TABLES 64
#define MAX_COLS 64
#define BATCH 2000 /* rows per transaction on the target */

enum col_kind { COL_TEXT, COL_INT, COL_REAL };

struct mtable {
	char name[64];
	char cols[MAX_COLS][64];
	enum col_kind kind[MAX_COLS];
	int pk[MAX_COLS]; /* column indexes of the primary key, in key order */
	int ncols, npk;
	char deps[MAX_TABLES][64];
	int ndeps;
	bool done;
};

struct mplan {
	struct mtable t[MAX_TABLES];
	int n;
	int order[MAX_TABLES];
};

static bool ident_ok(const char *s)
{
	if (!*s || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static enum col_kind kind_of(const char *type)
{
	if (!type)
		return COL_TEXT;
	if (strcasestr(type, "INT"))
		return COL_INT;
	if (strcasestr(type, "REAL") || strcasestr(type, "DOUB") || strcasestr(type, "FLOA"))
		return COL_REAL;
	return COL_TEXT;
}

/* Columns, primary key and foreign-key parents of one table. */
static int plan_table(struct idx *from, struct mtable *t, char *err, size_t errlen)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", t->name);
	struct idx_st *st = idx_prep(from, sql);
	if (!st)
		return es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
	int pkpos[MAX_COLS] = {0}, rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 1), *type = db_col_text(st, 2);
		int pk = db_col_int(st, 5);
		if (t->ncols == MAX_COLS || !name || !ident_ok(name)) {
			db_finalize(st);
			return es_errf(err, errlen, ES_EUNSUP, "table %s: column %s cannot be copied",
				       t->name, name ? name : "?");
		}
		if (type && strcasestr(type, "BLOB")) {
			db_finalize(st);
			return es_errf(err, errlen, ES_EUNSUP, "table %s: BLOB column %s", t->name,
				       name);
		}
		snprintf(t->cols[t->ncols], 64, "%s", name);
		t->kind[t->ncols] = kind_of(type);
		if (pk > 0 && pk <= MAX_COLS) {
			pkpos[pk - 1] = t->ncols + 1;
			t->npk = pk > t->npk ? pk : t->npk;
		}
		t->ncols++;
	}
	db_finalize(st);
	if (rc != DB_DONE)
		return es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
	for (int i = 0; i < t->npk; i++)
		t->pk[i] = pkpos[i] - 1;
	snprintf(sql, sizeof(sql), "PRAGMA foreign_key_list(\"%s\")", t->name);
	if (!(st = idx_prep(from, sql)))
		return es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
	while ((rc = db_step(st)) == DB_ROW && t->ndeps < MAX_TABLES) {
		const char *parent = db_col_text(st, 2);
		if (parent && strcmp(parent, t->name))
			snprintf(t->deps[t->ndeps++], 64, "%s", parent);
	}
	db_finalize(st);
	return 0;
}

/* The tables of the SQLite index (not the full-text index's virtual table
 * and its shadow tables, which the target builds for itself), parents
 * before children. */
static int plan(struct idx *from, struct mplan *p, char *err, size_t errlen)
{
	struct idx_st *st = idx_prep(from, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
					   " AND name NOT LIKE 'sqlite_%' ORDER BY name");
	if (!st)
		return es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
	char virt[MAX_TABLES][64];
	int nvirt = 0, rc;
	p->n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 0), *sql = db_col_text(st, 1);
		if (!name)
			continue;
		if (sql && !strncasecmp(sql, "CREATE VIRTUAL", 14)) {
			if (nvirt < MAX_TABLES)
				snprintf(virt[nvirt++], 64, "%s", name);
			continue;
		}
		if (p->n == MAX_TABLES || !ident_ok(name)) {
			db_finalize(st);
			return es_errf(err, errlen, ES_EUNSUP, "table %s cannot be copied", name);
		}
		memset(&p->t[p->n], 0, sizeof(p->t[p->n]));
		snprintf(p->t[p->n++].name, 64, "%s", name);
	}
	db_finalize(st);
	if (rc != DB_DONE)
		return es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
	/* drop the shadow tables ("<virtual>_data"...) */
	for (int i = 0; i < p->n; i++)
		for (int v = 0; v < nvirt; v++) {
			size_t vl = strlen(virt[v]);
			if (!strncmp(p->t[i].name, virt[v], vl) && p->t[i].name[vl] == '_') {
				p->t[i--] = p->t[--p->n];
				break;
			}
		}
	for (int i = 0; i < p->n; i++)
		if ((rc = plan_table(from, &p->t[i], err, errlen)))
			return rc;
	/* parents first: repeated passes (a handful of tables) */
	int placed = 0;
	while (placed < p->n) {
		int before = placed;
		for (int i = 0; i < p->n; i++) {
			struct mtable *t = &p->t[i];
			if (t->done)
				continue;
			bool ready = true;
			for (int d = 0; d < t->ndeps && ready; d++)
				for (int j = 0; j < p->n; j++)
					if (!strcmp(p->t[j].name, t->deps[d]) && !p->t[j].done)
						ready = false;
			if (ready) {
				t->done = true;
				p->order[placed++] = i;
			}
		}
		if (placed == before)
			return es_errf(err, errlen, ES_EUNSUP, "foreign keys form a cycle");
	}
	return 0;
}

static int cols_sql(const struct mtable *t, struct es_buf *b)
{
	int rc = 0;
	for (int i = 0; i < t->ncols && !rc; i++)
		rc = es_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i]);
	return rc;
}

/* In key order (a table's own parent rows first where it refers to itself). */
static int order_sql(const struct mtable *t, struct es_buf *b)
{
	int rc = 0;
	for (int k = 0; k < t->npk && !rc; k++)
		rc = es_buf_printf(b, "%s%s", k ? ", " : " ORDER BY ", t->cols[t->pk[k]]);
	return rc;
}

/* Bind source column i of src to parameter i + 1 of dst by its kind. */
static void bind_col(const struct mtable *t, struct idx_st *src, struct idx_st *dst, int i)
{
	const char *s = db_col_text(src, i);
	if (!s)
		db_bind_text(dst, i + 1, NULL);
	else if (t->kind[i] == COL_INT)
		db_bind_int64(dst, i + 1, db_col_int64(src, i));
	else if (t->kind[i] == COL_REAL)
		db_bind_double(dst, i + 1, db_col_double(src, i));
	else
		db_bind_text(dst, i + 1, s);
}

/* Identity columns continue after the highest id copied (PostgreSQL). */
static int bump_sequence(struct idx *to, const struct mtable *t)
{
	if (!db_is_pg(to) || t->npk != 1 || t->kind[t->pk[0]] != COL_INT)
		return 0;
	char sql[512];
	const char *c = t->cols[t->pk[0]], *n = t->name;
	snprintf(sql, sizeof(sql),
		 "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
		 "(SELECT COALESCE(MAX(%s), 0) + 1 FROM %s), false) "
		 "WHERE pg_get_serial_sequence('%s', '%s') IS NOT NULL",
		 n, c, c, n, n, c);
	struct idx_st *st = idx_prep(to, sql);
	if (!st)
		return ES_EDB;
	int rc = db_step(st);
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : ES_EDB;
}

static int copy_table(struct idx *from, struct idx *to, const struct mtable *t,
		      idx_copy_progress_fn fn, void *ud, struct idx_copy_stats *s, char *err,
		      size_t errlen)
{
	struct es_buf sel, ins;
	es_buf_init(&sel);
	es_buf_init(&ins);
	struct idx_st *src = NULL, *dst = NULL;
	int rc = es_buf_printf(&sel, "SELECT ") || cols_sql(t, &sel) ||
		 es_buf_printf(&sel, " FROM %s", t->name) || order_sql(t, &sel) ||
		 es_buf_printf(&ins, "INSERT OR IGNORE INTO %s (", t->name) || cols_sql(t, &ins) ||
		 es_buf_printf(&ins, ") VALUES (");
	for (int i = 0; i < t->ncols && !rc; i++)
		rc = es_buf_printf(&ins, "%s?%d", i ? ", " : "", i + 1);
	if (rc || es_buf_printf(&ins, ")") || es_buf_append(&sel, "", 1) ||
	    es_buf_append(&ins, "", 1)) {
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
		goto out;
	}
	if (!(src = idx_prep(from, (const char *)sel.p))) {
		rc = es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
		goto out;
	}
	if (!(dst = idx_prep(to, (const char *)ins.p))) {
		rc = es_errf(err, errlen, ES_EDB, "table %s is not in the target as in the source: %s",
			     t->name, idx_errmsg(to));
		goto out;
	}
	uint64_t n = 0;
	int step;
	if (idx_exec(to, "BEGIN")) {
		rc = es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(to));
		goto out;
	}
	while ((step = db_step(src)) == DB_ROW) {
		db_reset(dst);
		for (int i = 0; i < t->ncols; i++)
			bind_col(t, src, dst, i);
		int r = db_step(dst);
		if (r != DB_DONE) {
			rc = es_errf(err, errlen, ES_EDB, "table %s, row %llu: %s", t->name,
				     (unsigned long long)n + 1, idx_errmsg(to));
			idx_exec(to, "ROLLBACK");
			goto out;
		}
		if (db_changes(to) > 0)
			s->rows_added++;
		else
			s->rows_present++;
		s->rows_read++;
		if (++n % BATCH == 0) {
			if (idx_exec(to, "COMMIT") || idx_exec(to, "BEGIN")) {
				rc = es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(to));
				goto out;
			}
			if (fn)
				fn(ud, t->name, n);
		}
	}
	if (step != DB_DONE) {
		idx_exec(to, "ROLLBACK");
		rc = es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(from));
		goto out;
	}
	if (idx_exec(to, "COMMIT") || bump_sequence(to, t)) {
		rc = es_errf(err, errlen, ES_EDB, "%s", idx_errmsg(to));
		goto out;
	}
	if (fn)
		fn(ud, t->name, n);
	s->tables++;
out:
	db_finalize(src);
	db_finalize(dst);
	es_buf_free(&sel);
	es_buf_free(&ins);
	return rc;
}

int idx_copy_rows(struct idx *from, struct idx *to, idx_copy_progress_fn fn, void *ud,
		  struct idx_copy_stats *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (db_is_pg(from))
		return es_errf(err, errlen, ES_EINVAL, "the source must be an SQLite index");
	if (from->version != to->version)
		return es_errf(err, errlen, ES_EINVAL,
			       "schema versions differ (source %d, target %d): run the same earshot "
			       "on both", from->version, to->version);
	struct mplan *p = calloc(1, sizeof(*p));
	if (!p)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	int rc = plan(from, p, err, errlen);
	for (int i = 0; i < p->n && !rc; i++)
		rc = copy_table(from, to, &p->t[p->order[i]], fn, ud, s, err, errlen);
	free(p);
	return rc;
}

/* ---- compare -------------------------------------------------------------------- */

static bool same_value(const struct mtable *t, struct idx_st *a, struct idx_st *b, int i)
{
	const char *x = db_col_text(a, i), *y = db_col_text(b, i);
	if (!x || !y)
		return !x && !y;
	if (t->kind[i] == COL_INT)
		return db_col_int64(a, i) == db_col_int64(b, i);
	if (t->kind[i] == COL_REAL) {
		double u = db_col_double(a, i), v = db_col_double(b, i);
		return u == v || fabs(u - v) <= 1e-12 * fmax(fabs(u), fabs(v));
	}
	return !strcmp(x, y);
}

static int compare_table(struct idx *from, struct idx *to, const struct mtable *t,
			 uint64_t *bad, char *first, size_t cap)
{
	struct es_buf sel, get;
	es_buf_init(&sel);
	es_buf_init(&get);
	struct idx_st *a = NULL, *b = NULL;
	int rc = es_buf_printf(&sel, "SELECT ") || cols_sql(t, &sel) ||
		 es_buf_printf(&sel, " FROM %s", t->name) || es_buf_printf(&get, "SELECT ") ||
		 cols_sql(t, &get) || es_buf_printf(&get, " FROM %s WHERE ", t->name);
	for (int k = 0; k < t->npk && !rc; k++)
		rc = es_buf_printf(&get, "%s%s = ?%d", k ? " AND " : "", t->cols[t->pk[k]], k + 1);
	if (rc || es_buf_append(&sel, "", 1) || es_buf_append(&get, "", 1)) {
		rc = ES_ENOMEM;
		goto out;
	}
	if (!(a = idx_prep(from, (const char *)sel.p)) || !(b = idx_prep(to, (const char *)get.p))) {
		rc = ES_EDB;
		goto out;
	}
	int step;
	while ((step = db_step(a)) == DB_ROW) {
		db_reset(b);
		for (int k = 0; k < t->npk; k++) {
			int c = t->pk[k];
			if (t->kind[c] == COL_INT)
				db_bind_int64(b, k + 1, db_col_int64(a, c));
			else
				db_bind_text(b, k + 1, db_col_text(a, c));
		}
		int r = db_step(b);
		bool same = r == DB_ROW;
		for (int i = 0; same && i < t->ncols; i++)
			same = same_value(t, a, b, i);
		if (!same) {
			if (!(*bad)++)
				snprintf(first, cap, "table %s: the row with %s = %s %s", t->name,
					 t->cols[t->pk[0]], db_col_text(a, t->pk[0]),
					 r == DB_ROW ? "differs in the target" : "is missing in the target");
		}
	}
	rc = step == DB_DONE ? 0 : ES_EDB;
out:
	db_finalize(a);
	db_finalize(b);
	es_buf_free(&sel);
	es_buf_free(&get);
	return rc;
}

/* Row counts of a table on one side. */
static int count_rows(struct idx *ix, const char *table, int64_t *n)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	struct idx_st *st = idx_prep(ix, sql);
	if (!st)
		return ES_EDB;
	int rc = db_step(st) == DB_ROW ? 0 : ES_EDB;
	*n = rc ? 0 : db_col_int64(st, 0);
	db_finalize(st);
	return rc;
}

int idx_copy_verify(struct idx *from, struct idx *to, uint64_t *mismatches, char *err,
		    size_t errlen)
{
	*mismatches = 0;
	struct mplan *p = calloc(1, sizeof(*p));
	if (!p)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	char first[512] = "";
	int rc = plan(from, p, err, errlen);
	for (int i = 0; i < p->n && !rc; i++) {
		const struct mtable *t = &p->t[i];
		int64_t na, nb;
		if (count_rows(from, t->name, &na) || count_rows(to, t->name, &nb)) {
			rc = es_errf(err, errlen, ES_EDB, "%s: %s", t->name, idx_errmsg(to));
			break;
		}
		if (na != nb && !(*mismatches)++)
			snprintf(first, sizeof(first), "table %s: %lld rows in the source, %lld in the "
				 "target", t->name, (long long)na, (long long)nb);
		/* rows by primary key (a table without one is compared by count) */
		if (t->npk && compare_table(from, to, t, mismatches, first, sizeof(first)))
			rc = es_errf(err, errlen, ES_EDB, "%s: %s", t->name, idx_errmsg(to));
	}
	free(p);
	if (!rc && *mismatches)
		es_errf(err, errlen, 0, "%s", first);
	return rc;
}

char *idx_mask_location(const char *where) { return db_mask_secret(where); }
