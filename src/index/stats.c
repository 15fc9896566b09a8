/*
 * stats.c - the dashboard's figures (GET /api/stats, issue #17): calls per
 * time bin, per outcome and per MOS band, and the worst media routes and
 * rules, each one aggregate query over the calls that started in a period
 * (calls_start serves the range).  Written in SQLite's dialect like every
 * statement here; db_rewrite.c makes PostgreSQL's (instr -> strpos).
 */
#include "index/index_internal.h"

#include <stdio.h>

/* A media address without its port: "[2001:db8::1]:4000" -> 2001:db8::1,
 * "192.0.2.1:4000" -> 192.0.2.1 (record/ writes them with es_addr_fmt). */
#define HOST_OF(x) \
	"CASE WHEN " x " IS NULL THEN '-' WHEN substr(" x ", 1, 1) = '['" \
	" THEN substr(" x ", 2, instr(" x ", ']') - 2)" \
	" WHEN instr(" x ", ':') > 0 THEN substr(" x ", 1, instr(" x ", ':') - 1)" \
	" ELSE " x " END"

static int bins(struct idx *ix, int64_t from, int64_t to, int64_t bin_us,
		const struct idx_stats_fns *f)
{
	/* integer division in both engines (BIGINT in PostgreSQL) */
	struct idx_st *st = idx_prep(
		ix, "SELECT (start_us - ?1) / ?3 AS b, count(*),"
		    " sum(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END)"
		    " FROM calls WHERE start_us >= ?1 AND start_us < ?2 GROUP BY b ORDER BY b");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, from);
	db_bind_int64(st, 2, to);
	db_bind_int64(st, 3, bin_us);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_stats_bin b = {.start_us = from + db_col_int64(st, 0) * bin_us,
					  .calls = db_col_int64(st, 1),
					  .answered = db_col_int64(st, 2)};
		if ((err = f->bin(f->ud, &b)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "stats per time");
	db_finalize(st);
	return err;
}

static int counts(struct idx *ix, const char *sql, const char *what, int64_t from, int64_t to,
		  int (*fn)(void *, const struct idx_stats_count *), void *ud)
{
	struct idx_st *st = idx_prep(ix, sql);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, from);
	db_bind_int64(st, 2, to);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *k = db_col_text(st, 0);
		struct idx_stats_count c = {.key = k ? k : "unknown", .n = db_col_int64(st, 1)};
		if ((err = fn(ud, &c)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, what);
	db_finalize(st);
	return err;
}

/* Routes (group "a, b") or rules (group "c.rule"), worst mean MOS first;
 * groups without any figure last. */
static int worst(struct idx *ix, const char *sql, const char *what, int64_t from, int64_t to,
		 unsigned n, bool pair, int (*fn)(void *, const struct idx_stats_route *), void *ud)
{
	struct idx_st *st = idx_prep(ix, sql);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, from);
	db_bind_int64(st, 2, to);
	db_bind_int64(st, 3, n);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *a = db_col_text(st, 0), *b = pair ? db_col_text(st, 1) : NULL;
		struct idx_stats_route r = {.a = a ? a : "-", .b = pair ? (b ? b : "-") : NULL,
					    .calls = db_col_int64(st, 2),
					    .with_quality = db_col_int64(st, 3),
					    .mos_avg = db_col_double(st, 4),
					    .mos_min = db_col_double(st, 5),
					    .loss_avg = db_col_double(st, 6)};
		if ((err = fn(ud, &r)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, what);
	db_finalize(st);
	return err;
}

#define PERIOD " WHERE c.start_us >= ?1 AND c.start_us < ?2"
#define FIGURES \
	" count(*), count(c.mos), avg(c.mos), min(c.mos), avg(c.loss_pct)"
#define WORST_ORDER " ORDER BY count(c.mos) = 0, avg(c.mos), count(*) DESC LIMIT ?3"

int idx_stats(struct idx *ix, int64_t from_us, int64_t to_us, int64_t bin_us, unsigned nroutes,
	      const struct idx_stats_fns *f)
{
	if (bin_us <= 0 || to_us <= from_us)
		return ES_EINVAL;
	int err = 0;
	if (f->bin)
		err = bins(ix, from_us, to_us, bin_us, f);
	if (!err && f->outcome)
		err = counts(ix,
			     "SELECT ifnull(c.outcome, 'unknown') AS k, count(*) FROM calls c" PERIOD
			     " GROUP BY k ORDER BY count(*) DESC, k",
			     "stats per outcome", from_us, to_us, f->outcome, f->ud);
	if (!err && f->band) {
		/* IDX_STATS_BANDS as SQL: the first band whose lower MOS the call
		 * reaches */
		static const struct {
			const char *name;
			double lo;
		} bands[] = {IDX_STATS_BANDS};
		char sql[1024];
		int n = snprintf(sql, sizeof(sql), "SELECT CASE");
		for (size_t i = 0; i + 1 < ES_ARRAY_LEN(bands); i++)
			n += snprintf(sql + n, sizeof(sql) - (size_t)n, " WHEN c.mos >= %.2f THEN '%s'",
				      bands[i].lo, bands[i].name);
		snprintf(sql + n, sizeof(sql) - (size_t)n,
			 " ELSE '%s' END AS k, count(*) FROM calls c" PERIOD
			 " AND c.mos IS NOT NULL GROUP BY k",
			 bands[ES_ARRAY_LEN(bands) - 1].name);
		err = counts(ix, sql, "stats per MOS band", from_us, to_us, f->band, f->ud);
	}
	if (!err && f->route)
		err = worst(ix,
			    "SELECT " HOST_OF("a.sdp_addr") " AS ha, " HOST_OF("b.sdp_addr") " AS hb,"
			    FIGURES " FROM calls c"
			    " LEFT JOIN parties a ON a.call_row = c.id AND a.role = 0"
			    " LEFT JOIN parties b ON b.call_row = c.id AND b.role = 1" PERIOD
			    " GROUP BY ha, hb" WORST_ORDER,
			    "stats per route", from_us, to_us, nroutes, true, f->route, f->ud);
	if (!err && f->rule)
		err = worst(ix,
			    "SELECT ifnull(c.rule, '-') AS k, NULL," FIGURES " FROM calls c" PERIOD
			    " GROUP BY k" WORST_ORDER,
			    "stats per rule", from_us, to_us, nroutes, false, f->rule, f->ud);
	return err;
}
