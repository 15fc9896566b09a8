/*
 * scorecards.c - QA evaluation forms (versioned) and evaluations of calls,
 * and the QA report's aggregates (schema IDX_MIG_QA).  Storage only:
 * api/handlers_qa.c parses forms, scores answers and decides who sees
 * what.  Statements are prepared per call, as in users.c.
 */
#include "index/index_internal.h"

#include <string.h>

/* Weeks start on Mondays, 00:00 UTC (ISO 8601): 1970-01-05 was one, so a
 * week is 345600000000 µs (4 days) plus a multiple of 604800000000. */
#define QA_WEEK "(345600000000 + ((e.created_us - 345600000000) / 604800000000) * 604800000000)"

/* ---- forms ------------------------------------------------------------------- */

int idx_qa_form_save(struct idx *ix, const char *name, const char *body, const char *by,
		     int64_t now_us, int64_t *id, int64_t *version)
{
	/* the next version in the same statement: two admins saving at once
	 * meet the UNIQUE (name, version) instead of sharing a number */
	struct idx_st *st = idx_prep(
		ix, "INSERT INTO qa_forms (name, version, body, created_us, created_by)"
		    " SELECT ?, ifnull(max(version), 0) + 1, ?, ?, ? FROM qa_forms WHERE name = ?"
		    " RETURNING id, version");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, body);
	db_bind_int64(st, 3, now_us);
	db_bind_text(st, 4, by);
	db_bind_text(st, 5, name);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW) {
		*id = db_col_int64(st, 0);
		*version = db_col_int64(st, 1);
	} else {
		err = rc == DB_EUNIQUE ? ES_EEXIST : idx_fail(ix, "qa form save");
	}
	db_finalize(st);
	return err;
}

static int form_rows(struct idx *ix, struct idx_st *st, idx_qa_form_fn fn, void *ud,
		     bool *any)
{
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 1), *body = db_col_text(st, 3),
			   *by = db_col_text(st, 5);
		struct idx_qa_form f = {.id = db_col_int64(st, 0),
					.name = name ? name : "",
					.version = db_col_int64(st, 2),
					.body = body ? body : "",
					.created_us = db_col_int64(st, 4),
					.created_by = by ? by : ""};
		*any = true;
		if ((err = fn(ud, &f)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "qa forms");
	db_finalize(st);
	return err;
}

#define FORM_COLS "SELECT id, name, version, body, created_us, created_by FROM qa_forms"

int idx_qa_forms_list(struct idx *ix, bool all, idx_qa_form_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(
		ix, all ? FORM_COLS " ORDER BY name, version"
			: FORM_COLS " f WHERE version = (SELECT max(version) FROM qa_forms g"
				    " WHERE g.name = f.name) ORDER BY name");
	bool any = false;
	return st ? form_rows(ix, st, fn, ud, &any) : ES_EDB;
}

int idx_qa_form_get(struct idx *ix, int64_t id, idx_qa_form_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(ix, FORM_COLS " WHERE id = ?");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, id);
	bool any = false;
	int err = form_rows(ix, st, fn, ud, &any);
	return err ? err : any ? 0 : ES_ENOTFOUND;
}

/* ---- evaluations -------------------------------------------------------------- */

int idx_qa_eval_add(struct idx *ix, struct idx_qa_eval *e, const struct idx_qa_answer *a,
		    size_t n)
{
	int err = idx_savepoint(ix, "qa_eval");
	if (err)
		return err;
	struct idx_st *st = idx_prep(
		ix, "INSERT INTO qa_evaluations (call_row, form_id, evaluator, agent, score, fatal,"
		    " comment, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
	if (!st) {
		err = ES_EDB;
		goto out;
	}
	db_bind_int64(st, 1, e->call_row);
	db_bind_int64(st, 2, e->form_id);
	db_bind_text(st, 3, e->evaluator);
	db_bind_text(st, 4, e->agent ? e->agent : "");
	db_bind_double(st, 5, e->score);
	db_bind_int64(st, 6, e->fatal);
	db_bind_text(st, 7, e->comment ? e->comment : "");
	db_bind_int64(st, 8, e->created_us);
	int rc = db_step(st);
	if (rc == DB_ROW)
		e->id = db_col_int64(st, 0);
	else
		err = rc == DB_EFK ? ES_ENOTFOUND : idx_fail(ix, "qa evaluation");
	db_finalize(st);
	for (size_t i = 0; i < n && !err; i++) {
		if (!(st = idx_prep(ix, "INSERT INTO qa_answers (evaluation_id, question, answer,"
					" earned, possible) VALUES (?, ?, ?, ?, ?)"))) {
			err = ES_EDB;
			break;
		}
		db_bind_int64(st, 1, e->id);
		db_bind_text(st, 2, a[i].question);
		db_bind_text(st, 3, a[i].answer);
		db_bind_double(st, 4, a[i].earned);
		db_bind_double(st, 5, a[i].possible);
		rc = db_step(st);
		if (rc != DB_DONE)
			err = rc == DB_EUNIQUE ? ES_EEXIST : idx_fail(ix, "qa answer");
		db_finalize(st);
	}
out:
	if (err) {
		idx_rollback_to(ix, "qa_eval");
		return err;
	}
	return idx_release(ix, "qa_eval");
}

#define EVAL_COLS \
	"SELECT e.id, e.call_row, e.form_id, f.version, f.name, e.evaluator, e.agent," \
	" e.comment, e.score, e.fatal, e.created_us FROM qa_evaluations e" \
	" JOIN qa_forms f ON f.id = e.form_id"

static struct idx_qa_eval eval_row(struct idx_st *st)
{
	struct idx_qa_eval e = {
		.id = db_col_int64(st, 0),
		.call_row = db_col_int64(st, 1),
		.form_id = db_col_int64(st, 2),
		.form_version = db_col_int64(st, 3),
		.form_name = db_col_text(st, 4),
		.evaluator = db_col_text(st, 5),
		.agent = db_col_text(st, 6),
		.comment = db_col_text(st, 7),
		.score = db_col_double(st, 8),
		.fatal = db_col_int64(st, 9) != 0,
		.created_us = db_col_int64(st, 10),
	};
	return e;
}

static int answers_of(struct idx *ix, int64_t eval_id, idx_qa_answer_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(ix, "SELECT question, answer, earned, possible FROM qa_answers"
					 " WHERE evaluation_id = ? ORDER BY question");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, eval_id);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_qa_answer a = {db_col_text(st, 0), db_col_text(st, 1),
					  db_col_double(st, 2), db_col_double(st, 3)};
		if ((err = fn(ud, &a)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "qa answers");
	db_finalize(st);
	return err;
}

int idx_qa_evals_of_call(struct idx *ix, int64_t call_row, idx_qa_eval_fn eval,
			 idx_qa_answer_fn answer, void *ud)
{
	struct idx_st *st = idx_prep(ix, EVAL_COLS " WHERE e.call_row = ? ORDER BY e.id");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_qa_eval e = eval_row(st);
		if ((err = eval(ud, &e)) || (answer && (err = answers_of(ix, e.id, answer, ud))))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "qa evaluations");
	db_finalize(st);
	return err;
}

/* ---- the report ---------------------------------------------------------------------- */

/* The filter's WHERE over e (qa_evaluations) and f (qa_forms): parameters
 * 1..6 (bound by bind_filter). */
#define QA_WHERE \
	" WHERE e.created_us >= ? AND e.created_us < ?" \
	" AND (? = '' OR f.name = ?)" \
	" AND (? = 0 OR instr(',' || ? || ',', ',' || e.agent || ',') > 0)"

static void bind_filter(struct idx_st *st, const struct idx_qa_filter *q)
{
	db_bind_int64(st, 1, q->from_us);
	db_bind_int64(st, 2, q->to_us);
	/* no NULL parameters: PostgreSQL cannot type "$3 IS NULL" */
	db_bind_text(st, 3, q->form_name ? q->form_name : "");
	db_bind_text(st, 4, q->form_name ? q->form_name : "");
	db_bind_int64(st, 5, q->agents != NULL);
	db_bind_text(st, 6, q->agents ? q->agents : "");
}

/* One aggregate query: rows of (key, week, count, average) to fn. */
static int aggregate(struct idx *ix, const char *sql, const struct idx_qa_filter *q,
		     unsigned limit, int (*fn)(void *, const struct idx_qa_row *), void *ud)
{
	if (!fn)
		return 0;
	struct idx_st *st = idx_prep(ix, sql);
	if (!st)
		return ES_EDB;
	bind_filter(st, q);
	if (limit)
		db_bind_int64(st, 7, limit);
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_qa_row r = {.key = db_col_text(st, 0),
				       .week_us = db_col_int64(st, 1),
				       .count = db_col_int64(st, 2),
				       .average = db_col_double(st, 3)};
		if ((err = fn(ud, &r)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "qa report");
	db_finalize(st);
	return err;
}

#define QA_FROM " FROM qa_evaluations e JOIN qa_forms f ON f.id = e.form_id"

int idx_qa_report(struct idx *ix, const struct idx_qa_filter *q, unsigned nlow,
		  const struct idx_qa_report_fns *fns)
{
	int err;
	if ((err = aggregate(ix, "SELECT NULL, 0, count(*), ifnull(avg(e.score), 0)" QA_FROM
				 QA_WHERE, q, 0, fns->total, fns->ud)) ||
	    (err = aggregate(ix, "SELECT NULL, " QA_WEEK ", count(*), avg(e.score)" QA_FROM
				 QA_WHERE " GROUP BY " QA_WEEK " ORDER BY 2",
			     q, 0, fns->week, fns->ud)) ||
	    (err = aggregate(ix, "SELECT e.agent, 0, count(*), avg(e.score)" QA_FROM QA_WHERE
				 " GROUP BY e.agent ORDER BY e.agent", q, 0, fns->agent, fns->ud)) ||
	    (err = aggregate(ix, "SELECT a.question, 0, count(*),"
				 " 100.0 * sum(a.earned) / sum(a.possible)" QA_FROM
				 " JOIN qa_answers a ON a.evaluation_id = e.id" QA_WHERE
				 " AND a.possible > 0 GROUP BY a.question ORDER BY 4, 1 LIMIT ?",
			     q, nlow ? nlow : 5, fns->question, fns->ud)))
		return err;
	if (!fns->eval)
		return 0;
	struct idx_st *st = idx_prep(ix, EVAL_COLS QA_WHERE " ORDER BY e.created_us DESC, e.id DESC");
	if (!st)
		return ES_EDB;
	bind_filter(st, q);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_qa_eval e = eval_row(st);
		if ((err = fns->eval(fns->ud, &e)))
			break;
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "qa report rows");
	db_finalize(st);
	return err;
}
