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

static int insert_party(struct idx *ix, int64_t row, int role, const struct idx_party *p)
{
	struct idx_st *st = idx_stmt(ix, ST_PARTY_INSERT);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, row);
	db_bind_int64(st, 2, role);
	bind_text(st, 3, p->uri);
	bind_text(st, 4, p->user);
	bind_text(st, 5, p->display);
	bind_text(st, 6, p->pai);
	bind_text(st, 7, p->ua);
	bind_text(st, 8, p->sdp_addr);
	return run(ix, st, "insert party");
}

static int insert_stream(struct idx *ix, int64_t row, unsigned seq, const struct idx_stream *s)
{
	struct idx_st *st = idx_stmt(ix, ST_STREAM_INSERT);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, row);
	db_bind_int64(st, 2, seq);
	db_bind_int64(st, 3, s->party);
	db_bind_int64(st, 4, s->ssrc);
	bind_addr(st, 5, s->src);
	bind_addr(st, 6, s->dst);
	bind_text(st, 7, s->payload_types);
	bind_text(st, 8, s->codecs);
	/* uint64 counters are stored as their int64 bit pattern */
	db_bind_int64(st, 9, (int64_t)s->packets);
	db_bind_int64(st, 10, (int64_t)s->expected);
	db_bind_int64(st, 11, s->lost);
	db_bind_int64(st, 12, (int64_t)s->duplicates);
	db_bind_int64(st, 13, (int64_t)s->out_of_order);
	db_bind_double(st, 14, s->jitter_max_ms);
	db_bind_double(st, 15, s->jitter_mean_ms);
	db_bind_double(st, 16, s->delta_max_ms);
	db_bind_int64(st, 17, s->first_us);
	db_bind_int64(st, 18, s->last_us);
	bind_text(st, 19, s->rtcp_json);
	bind_text(st, 20, s->quality_json);
	return run(ix, st, "insert stream");
}

static int insert_event(struct idx *ix, int64_t row, unsigned seq, const struct idx_event *e)
{
	struct idx_st *st = idx_stmt(ix, ST_EVENT_INSERT);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, row);
	db_bind_int64(st, 2, seq);
	db_bind_int64(st, 3, e->ts_us);
	bind_text(st, 4, e->kind);
	db_bind_int64(st, 5, e->party);
	bind_text(st, 6, e->detail);
	return run(ix, st, "insert event");
}

static int insert_msg(struct idx *ix, int64_t row, unsigned seq, const struct idx_msg *m)
{
	struct idx_st *st = idx_stmt(ix, ST_MSG_INSERT);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, row);
	db_bind_int64(st, 2, seq);
	db_bind_int64(st, 3, m->ts_us);
	db_bind_int64(st, 4, (int64_t)m->frame);
	bind_addr(st, 5, m->src);
	bind_addr(st, 6, m->dst);
	bind_text(st, 7, m->transport);
	bind_text(st, 8, m->label);
	db_bind_int64(st, 9, m->cseq);
	bind_text(st, 10, m->cseq_method);
	db_bind_int64(st, 11, m->retransmission);
	db_bind_int64(st, 12, m->has_sdp);
	return run(ix, st, "insert message");
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
	int err = insert_party(ix, row, IDX_CALLER, &c->caller);
	if (!err)
		err = insert_party(ix, row, IDX_CALLEE, &c->callee);
	for (unsigned i = 0; !err && i < c->nstreams; i++)
		err = insert_stream(ix, row, i, &c->streams[i]);
	for (unsigned i = 0; !err && i < c->nevents; i++)
		err = insert_event(ix, row, i, &c->events[i]);
	for (unsigned i = 0; !err && i < c->nmsgs; i++)
		err = insert_msg(ix, row, i, &c->msgs[i]);
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
