/*
 * write.c - inserting calls with their children, and import bookkeeping.
 */
#include "index/index_internal.h"

#include <string.h>

/* Bind a C string or NULL. */
static void bind_text(struct idx_st *st, int i, const char *s) { db_bind_text(st, i, s); }

/* Bind a fixed address buffer: empty means unknown (NULL). */
static void bind_addr(struct idx_st *st, int i, const char *s)
{
	db_bind_textn(st, i, s, ES_ADDR_STRLEN);
}

/* Step a bound statement that returns no row, then reset it. */
static int run(struct idx *ix, struct idx_st *st, const char *what)
{
	int rc = db_step(st);
	int err = rc == DB_DONE ? 0 : idx_fail(ix, what);
	db_reset(st);
	return err;
}

/* A call's children go in one multi-row INSERT per table (at most
 * ROWS_MAX rows a statement): on PostgreSQL each statement is a round trip
 * to the server, which one row a statement made the most of a call's
 * write (~30 a call; docs/PERFORMANCE.md).  Each child's binder fills its
 * columns from parameter base + 1 on. */
#define ROWS_MAX 32

struct child_table {
	const char *head; /* "INSERT INTO t (cols) VALUES " */
	int ncols;
	const char *what; /* for messages */
};

static const struct child_table party_tab = {
	"INSERT INTO parties (call_row, role, uri, user, display, pai, ua, sdp_addr) VALUES ", 8,
	"insert party"};
static const struct child_table stream_tab = {
	"INSERT INTO streams (call_row, seq, party, ssrc, src, dst, payload_types, codecs, packets,"
	" expected, lost, duplicates, out_of_order, jitter_max_ms, jitter_mean_ms, delta_max_ms,"
	" first_us, last_us, rtcp_json, quality_json) VALUES ",
	20, "insert stream"};
static const struct child_table event_tab = {
	"INSERT INTO events (call_row, seq, ts_us, kind, party, detail) VALUES ", 6,
	"insert event"};
static const struct child_table msg_tab = {
	"INSERT INTO sip_msgs (call_row, seq, ts_us, frame, src, dst, transport, label, cseq,"
	" cseq_method, retransmission, has_sdp) VALUES ",
	12, "insert message"};

static void bind_party(struct idx_st *st, int b, int64_t row, unsigned role, const void *v)
{
	const struct idx_party *p = v;
	db_bind_int64(st, b + 1, row);
	db_bind_int64(st, b + 2, role);
	bind_text(st, b + 3, p->uri);
	bind_text(st, b + 4, p->user);
	bind_text(st, b + 5, p->display);
	bind_text(st, b + 6, p->pai);
	bind_text(st, b + 7, p->ua);
	bind_text(st, b + 8, p->sdp_addr);
}

static void bind_stream(struct idx_st *st, int b, int64_t row, unsigned seq, const void *v)
{
	const struct idx_stream *s = v;
	db_bind_int64(st, b + 1, row);
	db_bind_int64(st, b + 2, seq);
	db_bind_int64(st, b + 3, s->party);
	db_bind_int64(st, b + 4, s->ssrc);
	bind_addr(st, b + 5, s->src);
	bind_addr(st, b + 6, s->dst);
	bind_text(st, b + 7, s->payload_types);
	bind_text(st, b + 8, s->codecs);
	/* uint64 counters are stored as their int64 bit pattern */
	db_bind_int64(st, b + 9, (int64_t)s->packets);
	db_bind_int64(st, b + 10, (int64_t)s->expected);
	db_bind_int64(st, b + 11, s->lost);
	db_bind_int64(st, b + 12, (int64_t)s->duplicates);
	db_bind_int64(st, b + 13, (int64_t)s->out_of_order);
	db_bind_double(st, b + 14, s->jitter_max_ms);
	db_bind_double(st, b + 15, s->jitter_mean_ms);
	db_bind_double(st, b + 16, s->delta_max_ms);
	db_bind_int64(st, b + 17, s->first_us);
	db_bind_int64(st, b + 18, s->last_us);
	bind_text(st, b + 19, s->rtcp_json);
	bind_text(st, b + 20, s->quality_json);
}

static void bind_event(struct idx_st *st, int b, int64_t row, unsigned seq, const void *v)
{
	const struct idx_event *e = v;
	db_bind_int64(st, b + 1, row);
	db_bind_int64(st, b + 2, seq);
	db_bind_int64(st, b + 3, e->ts_us);
	bind_text(st, b + 4, e->kind);
	db_bind_int64(st, b + 5, e->party);
	bind_text(st, b + 6, e->detail);
}

static void bind_msg(struct idx_st *st, int b, int64_t row, unsigned seq, const void *v)
{
	const struct idx_msg *m = v;
	db_bind_int64(st, b + 1, row);
	db_bind_int64(st, b + 2, seq);
	db_bind_int64(st, b + 3, m->ts_us);
	db_bind_int64(st, b + 4, (int64_t)m->frame);
	bind_addr(st, b + 5, m->src);
	bind_addr(st, b + 6, m->dst);
	bind_text(st, b + 7, m->transport);
	bind_text(st, b + 8, m->label);
	db_bind_int64(st, b + 9, m->cseq);
	bind_text(st, b + 10, m->cseq_method);
	db_bind_int64(st, b + 11, m->retransmission);
	db_bind_int64(st, b + 12, m->has_sdp);
}

typedef void (*child_bind_fn)(struct idx_st *st, int base, int64_t row, unsigned seq,
			      const void *v);

/* Rows [0, n) of v (size bytes each) as children of row, seq = their
 * index, ROWS_MAX at a time.  The SQL of each row count is one text, so
 * the engine prepares it once per connection. */
static int insert_rows(struct idx *ix, const struct child_table *t, int64_t row, const void *v,
		       size_t size, unsigned n, child_bind_fn bind)
{
	int err = 0;
	for (unsigned at = 0; !err && at < n; at += ROWS_MAX) {
		unsigned k = n - at < ROWS_MAX ? n - at : ROWS_MAX;
		struct es_buf sql;
		es_buf_init(&sql);
		err = es_buf_printf(&sql, "%s", t->head);
		for (unsigned r = 0; !err && r < k; r++) {
			err = es_buf_printf(&sql, "%s(", r ? ", " : "");
			for (int c = 0; !err && c < t->ncols; c++)
				err = es_buf_printf(&sql, "%s?%u", c ? ", " : "",
						    r * (unsigned)t->ncols + (unsigned)c + 1);
			if (!err)
				err = es_buf_printf(&sql, ")");
		}
		if (!err)
			err = es_buf_append(&sql, "", 1);
		struct idx_st *st = err ? NULL : idx_prep(ix, (const char *)sql.p);
		es_buf_free(&sql);
		if (!err && !st)
			err = ES_EDB;
		if (st)
			st->hot = true; /* inside idx_call_insert's savepoint */
		for (unsigned r = 0; !err && r < k; r++)
			bind(st, (int)(r * (unsigned)t->ncols), row, at + r,
			     (const char *)v + (size_t)(at + r) * size);
		if (!err && db_step(st) != DB_DONE)
			err = idx_fail(ix, t->what);
		db_finalize(st);
	}
	return err;
}

/* The call's quality summary (schema v10), kept out of the insert so
 * that calls without audio leave the columns NULL. */
static int update_quality(struct idx *ix, int64_t row, const struct idx_call_quality *q)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_QUALITY);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, row);
	db_bind_double(st, 2, q->mos);
	db_bind_double(st, 3, q->mos_min);
	db_bind_double(st, 4, q->loss_pct);
	db_bind_double(st, 5, q->jitter_ms);
	return run(ix, st, "store call quality");
}

int idx_call_set_talk(struct idx *ix, int64_t call_row, const struct idx_call_talk *t)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_TALK);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, t->json);
	if (t->ratio >= 0)
		db_bind_double(st, 3, t->ratio);
	else
		db_bind_text(st, 3, NULL);
	db_bind_int64(st, 4, t->overtalk_ms);
	db_bind_int64(st, 5, t->dead_air_ms);
	int err = run(ix, st, "store talk metrics");
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

int idx_call_set_checks(struct idx *ix, int64_t call_row, const char *json)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_CHECKS);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_text(st, 2, json);
	int err = run(ix, st, "store audio checks");
	if (!err && db_changes(ix) == 0)
		err = ES_ENOTFOUND;
	return err;
}

/* The call row; *row = 0 when (call_id, start_us) is already present. */
static int insert_call_row(struct idx *ix, const struct idx_call *c, int64_t *row)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_INSERT);
	if (!st)
		return ES_EDB;
	bind_text(st, 1, c->call_id);
	db_bind_int64(st, 2, c->start_us);
	db_bind_int64(st, 3, c->answer_us);
	db_bind_int64(st, 4, c->end_us);
	bind_text(st, 5, c->outcome);
	db_bind_int64(st, 6, c->sip_code);
	bind_text(st, 7, c->end_reason);
	bind_text(st, 8, c->flags);
	bind_text(st, 9, c->extra_json);
	bind_text(st, 10, c->source);
	if (c->import_id)
		db_bind_int64(st, 11, c->import_id);
	else
		db_bind_text(st, 11, NULL);
	bind_text(st, 12, c->rule);
	bind_text(st, 13, c->consent[0]);
	bind_text(st, 14, c->consent[1]);
	bind_text(st, 15, c->consent_json);
	bind_text(st, 16, c->clock_json);
	bind_text(st, 17, c->node ? c->node : ix->node);
	/* RETURNING: the new row's id, no row when the call is present */
	int rc = db_step(st);
	int err = rc < 0 ? idx_fail(ix, "insert call") : 0;
	*row = rc == DB_ROW ? db_col_int64(st, 0) : 0;
	db_reset(st);
	return err;
}

int idx_call_find(struct idx *ix, const char *call_id, int64_t start_us, int64_t *row)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_FIND);
	if (!st)
		return ES_EDB;
	bind_text(st, 1, call_id);
	db_bind_int64(st, 2, start_us);
	int rc = db_step(st);
	int err = 0;
	if (rc == DB_ROW)
		*row = db_col_int64(st, 0);
	else if (rc == DB_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "find call");
	db_reset(st);
	return err;
}

/* The row of a call whose insert was ignored as a duplicate. */
static int find_call(struct idx *ix, const char *call_id, int64_t start_us, int64_t *row)
{
	int err = idx_call_find(ix, call_id, start_us, row);
	if (err == ES_ENOTFOUND) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: call %s vanished", ix->path,
			 call_id);
		err = ES_EDB;
	}
	return err;
}

static int insert_children(struct idx *ix, int64_t row, const struct idx_call *c)
{
	/* role = the index: IDX_CALLER 0, IDX_CALLEE 1 */
	const struct idx_party parties[2] = {c->caller, c->callee};
	int err = insert_rows(ix, &party_tab, row, parties, sizeof(parties[0]), 2, bind_party);
	if (!err)
		err = insert_rows(ix, &stream_tab, row, c->streams, sizeof(c->streams[0]),
				  c->nstreams, bind_stream);
	if (!err)
		err = insert_rows(ix, &event_tab, row, c->events, sizeof(c->events[0]), c->nevents,
				  bind_event);
	if (!err)
		err = insert_rows(ix, &msg_tab, row, c->msgs, sizeof(c->msgs[0]), c->nmsgs, bind_msg);
	return err;
}

int idx_call_insert(struct idx *ix, struct idx_call *c, bool *duplicate)
{
	if (duplicate)
		*duplicate = false;
	if (!c->call_id) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: call without Call-ID", ix->path);
		return ES_EINVAL;
	}
	/* A savepoint makes the call and its children all-or-nothing, inside
	 * the caller's transaction or on its own. */
	int err = idx_savepoint(ix, "idx_call");
	if (err)
		return err;
	int64_t row = 0;
	err = insert_call_row(ix, c, &row);
	if (!err && row == 0) {
		err = find_call(ix, c->call_id, c->start_us, &row);
		if (!err && duplicate)
			*duplicate = true;
	} else if (!err) {
		err = insert_children(ix, row, c);
		if (!err && c->quality.set)
			err = update_quality(ix, row, &c->quality);
	}
	if (err) {
		idx_rollback_to(ix, "idx_call");
		if (duplicate)
			*duplicate = false;
		c->id = 0;
		return err;
	}
	if ((err = idx_release(ix, "idx_call"))) {
		c->id = 0;
		return err;
	}
	c->id = row;
	return 0;
}

int idx_import_begin(struct idx *ix, struct idx_import *imp)
{
	struct idx_st *st = idx_stmt(ix, ST_IMPORT_INSERT);
	if (!st)
		return ES_EDB;
	bind_text(st, 1, imp->path);
	bind_text(st, 2, imp->file_key);
	db_bind_int64(st, 3, imp->started_us);
	bind_text(st, 4, imp->status ? imp->status : "running");
	int rc = db_step(st);
	int err = rc == DB_ROW ? 0 : idx_fail(ix, "insert import");
	imp->id = err ? 0 : db_col_int64(st, 0);
	db_reset(st);
	return err;
}

int idx_import_finish(struct idx *ix, const struct idx_import *imp)
{
	struct idx_st *st = idx_stmt(ix, ST_IMPORT_UPDATE);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, imp->id);
	db_bind_int64(st, 2, imp->finished_us);
	db_bind_int64(st, 3, (int64_t)imp->frames);
	db_bind_int64(st, 4, (int64_t)imp->calls_new);
	db_bind_int64(st, 5, (int64_t)imp->calls_dup);
	db_bind_int64(st, 6, (int64_t)imp->streams);
	bind_text(st, 7, imp->status ? imp->status : "done");
	bind_text(st, 8, imp->summary_json);
	int err = run(ix, st, "update import");
	if (!err && db_changes(ix) == 0) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: no import %lld", ix->path,
			 (long long)imp->id);
		return ES_ENOTFOUND;
	}
	return err;
}

int idx_recording_insert(struct idx *ix, const struct idx_recording *r)
{
	struct idx_st *st = idx_stmt(ix, ST_REC_INSERT);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, r->call_row);
	bind_text(st, 2, r->path);
	bind_text(st, 3, r->format);
	db_bind_int64(st, 4, (int64_t)r->bytes);
	bind_text(st, 5, r->sha256);
	db_bind_int64(st, 6, r->start_us);
	db_bind_int64(st, 7, r->duration_us);
	db_bind_int64(st, 8, r->rate);
	db_bind_int64(st, 9, (int)r->channels);
	bind_text(st, 10, r->codecs);
	bind_text(st, 11, r->flags);
	bind_text(st, 12, r->stats_json);
	db_bind_int64(st, 13, r->created_us);
	bind_text(st, 14, r->plain_sha256);
	db_bind_int64(st, 15, r->encrypted ? 1 : 0);
	int rc = db_step(st);
	int err = rc == DB_DONE ? 0 : rc == DB_EUNIQUE ? ES_EEXIST : idx_fail(ix, "insert recording");
	if (err == ES_EEXIST)
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: call %lld already has a recording",
			 ix->path, (long long)r->call_row);
	db_reset(st);
	return err;
}

int idx_recording_delete(struct idx *ix, int64_t call_row)
{
	struct idx_st *st = idx_prep(ix, "DELETE FROM recordings WHERE call_row = ?1");
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc = db_step(st);
	int err = rc == DB_DONE ? (db_changes(ix) ? 0 : ES_ENOTFOUND)
				    : idx_fail(ix, "delete recording");
	db_finalize(st);
	return err;
}
