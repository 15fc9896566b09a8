/*
 * lookup.c - one call without its children, for an access check on every
 * request (the API's audio Range requests, waveform, tags, notes, evidence):
 * the call row, both parties and the recording row, read with the handle's
 * cached statements (ST_CALL_GET, ST_REC_GET).  Streams, events and SIP
 * messages are not read (idx_call_get reads everything).  Rows are copied
 * into an arena, as in query.c, so that the callback may use the index.
 */
#include "index/index_internal.h"

#include <string.h>

struct brief_mem {
	struct es_arena arena;
	bool oom;
};

static const char *b_str(struct brief_mem *m, sqlite3_stmt *st, int i)
{
	return es_arena_strdup(&m->arena, (const char *)sqlite3_column_text(st, i), &m->oom);
}

static void b_party(struct brief_mem *m, sqlite3_stmt *st, int i, struct idx_party *p)
{
	p->uri = b_str(m, st, i);
	p->user = b_str(m, st, i + 1);
	p->display = b_str(m, st, i + 2);
	p->pai = b_str(m, st, i + 3);
	p->ua = b_str(m, st, i + 4);
	p->sdp_addr = b_str(m, st, i + 5);
}

/* A row of IDX_CALL_SELECT (the column order of index_internal.h). */
static void b_call(struct brief_mem *m, sqlite3_stmt *st, struct idx_call *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->call_id = b_str(m, st, 1);
	c->start_us = sqlite3_column_int64(st, 2);
	c->answer_us = sqlite3_column_int64(st, 3);
	c->end_us = sqlite3_column_int64(st, 4);
	c->outcome = b_str(m, st, 5);
	c->sip_code = sqlite3_column_int(st, 6);
	c->end_reason = b_str(m, st, 7);
	c->flags = b_str(m, st, 8);
	c->extra_json = b_str(m, st, 9);
	c->source = b_str(m, st, 10);
	c->import_id = sqlite3_column_int64(st, 11);
	b_party(m, st, 12, &c->caller);
	b_party(m, st, 18, &c->callee);
	c->rule = b_str(m, st, 24);
}

static int b_recording(struct idx *ix, struct brief_mem *m, struct idx_call *c)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_REC_GET);
	if (!st)
		return ES_EDB;
	sqlite3_bind_int64(st, 1, c->id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct idx_recording *r = es_arena_alloc(&m->arena, sizeof(*r));
		if (r) {
			memset(r, 0, sizeof(*r));
			r->call_row = sqlite3_column_int64(st, 0);
			r->path = b_str(m, st, 1);
			r->format = b_str(m, st, 2);
			r->bytes = (uint64_t)sqlite3_column_int64(st, 3);
			r->sha256 = b_str(m, st, 4);
			r->start_us = sqlite3_column_int64(st, 5);
			r->duration_us = sqlite3_column_int64(st, 6);
			r->rate = (uint32_t)sqlite3_column_int64(st, 7);
			r->channels = (unsigned)sqlite3_column_int(st, 8);
			r->codecs = b_str(m, st, 9);
			r->flags = b_str(m, st, 10);
			r->stats_json = b_str(m, st, 11);
			r->created_us = sqlite3_column_int64(st, 12);
			r->plain_sha256 = b_str(m, st, 13);
			r->encrypted = sqlite3_column_int(st, 14) != 0;
			c->recording = r;
		} else
			m->oom = true;
	}
	int err = m->oom ? ES_ENOMEM : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
									     : idx_fail(ix, "read recording");
	sqlite3_reset(st);
	return err;
}

int idx_call_brief(struct idx *ix, int64_t id, idx_call_fn fn, void *ud)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_CALL_GET);
	if (!st)
		return ES_EDB;
	struct brief_mem m = {0};
	struct idx_call c;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st), err = 0;
	if (rc == SQLITE_ROW)
		b_call(&m, st, &c);
	else if (rc == SQLITE_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "read call");
	sqlite3_reset(st);
	if (!err && m.oom)
		err = ES_ENOMEM;
	if (!err)
		err = b_recording(ix, &m, &c);
	if (!err)
		err = fn(ud, &c);
	es_arena_free(&m.arena);
	return err;
}
