/*
 * query.c - searching calls and reading one call with everything.  Rows are
 * copied into an arena before the callback runs, so that the callback may
 * itself use the index; the arena is freed when the callback returns.
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

/* Everything one row handed to a callback owns. */
struct row_mem {
	struct es_arena arena;
	bool oom;
};

static const char *col_str(struct row_mem *m, struct idx_st *st, int i)
{
	return es_arena_strdup(&m->arena, db_col_text(st, i), &m->oom);
}

static void col_addr(struct idx_st *st, int i, char dst[ES_ADDR_STRLEN])
{
	const char *s = db_col_text(st, i);
	snprintf(dst, ES_ADDR_STRLEN, "%s", s ? s : "");
}

static void read_party(struct row_mem *m, struct idx_st *st, int i, struct idx_party *p)
{
	p->uri = col_str(m, st, i);
	p->user = col_str(m, st, i + 1);
	p->display = col_str(m, st, i + 2);
	p->pai = col_str(m, st, i + 3);
	p->ua = col_str(m, st, i + 4);
	p->sdp_addr = col_str(m, st, i + 5);
}

/* A row of IDX_CALL_SELECT into c (children left empty). */
static void read_call(struct row_mem *m, struct idx_st *st, struct idx_call *c)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int64(st, 0);
	c->call_id = col_str(m, st, 1);
	c->start_us = db_col_int64(st, 2);
	c->answer_us = db_col_int64(st, 3);
	c->end_us = db_col_int64(st, 4);
	c->outcome = col_str(m, st, 5);
	c->sip_code = db_col_int(st, 6);
	c->end_reason = col_str(m, st, 7);
	c->flags = col_str(m, st, 8);
	c->extra_json = col_str(m, st, 9);
	c->source = col_str(m, st, 10);
	c->import_id = db_col_int64(st, 11);
	read_party(m, st, 12, &c->caller);
	read_party(m, st, 18, &c->callee);
	c->rule = col_str(m, st, 24);
	c->consent[0] = col_str(m, st, 25);
	c->consent[1] = col_str(m, st, 26);
	c->consent_json = col_str(m, st, 27);
	c->clock_json = col_str(m, st, 28);
	if (db_col_text(st, 29)) {
		c->quality.set = true;
		c->quality.mos = db_col_double(st, 29);
		c->quality.mos_min = db_col_double(st, 30);
		c->quality.loss_pct = db_col_double(st, 31);
		c->quality.jitter_ms = db_col_double(st, 32);
	}
	c->talk.json = col_str(m, st, 33);
	c->talk.ratio = db_col_text(st, 34) ? db_col_double(st, 34) : -1;
	c->talk.overtalk_ms = db_col_int64(st, 35);
	c->talk.dead_air_ms = db_col_int64(st, 36);
	c->checks_json = col_str(m, st, 37);
	c->node = col_str(m, st, 38);
	c->speech.sentiment_set = db_col_text(st, 39) != NULL;
	c->speech.sentiment = db_col_double(st, 39);
	c->speech.json = col_str(m, st, 40);
}

/* Grow an arena array of elements of size sz: arrays here are small, so
 * doubling inside the arena wastes little. */
static void *grow(struct row_mem *m, void *arr, unsigned n, unsigned *cap, size_t sz)
{
	if (n < *cap)
		return arr;
	unsigned ncap = *cap ? *cap * 2 : 8;
	void *p = es_arena_alloc(&m->arena, (size_t)ncap * sz);
	if (!p) {
		m->oom = true;
		return NULL;
	}
	if (n)
		memcpy(p, arr, (size_t)n * sz);
	*cap = ncap;
	return p;
}

/* A row of ST_STREAMS_GET's columns from column b on, appended to c's
 * streams (*cap: the array's room). */
static void read_stream(struct row_mem *m, struct idx_st *st, int b, struct idx_call *c,
			unsigned *cap)
{
	struct idx_stream *arr = grow(m, c->streams, c->nstreams, cap, sizeof(*arr));
	if (!arr)
		return;
	c->streams = arr;
	struct idx_stream *s = &arr[c->nstreams++];
	memset(s, 0, sizeof(*s));
	s->party = db_col_int(st, b);
	s->ssrc = (uint32_t)db_col_int64(st, b + 1);
	col_addr(st, b + 2, s->src);
	col_addr(st, b + 3, s->dst);
	s->payload_types = col_str(m, st, b + 4);
	s->codecs = col_str(m, st, b + 5);
	s->packets = (uint64_t)db_col_int64(st, b + 6);
	s->expected = (uint64_t)db_col_int64(st, b + 7);
	s->lost = db_col_int64(st, b + 8);
	s->duplicates = (uint64_t)db_col_int64(st, b + 9);
	s->out_of_order = (uint64_t)db_col_int64(st, b + 10);
	s->jitter_max_ms = db_col_double(st, b + 11);
	s->jitter_mean_ms = db_col_double(st, b + 12);
	s->delta_max_ms = db_col_double(st, b + 13);
	s->first_us = db_col_int64(st, b + 14);
	s->last_us = db_col_int64(st, b + 15);
	s->rtcp_json = col_str(m, st, b + 16);
	s->quality_json = col_str(m, st, b + 17);
}

static int load_streams(struct idx *ix, struct row_mem *m, struct idx_call *c)
{
	struct idx_st *st = idx_stmt(ix, ST_STREAMS_GET);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, c->id);
	unsigned cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW && !m->oom)
		read_stream(m, st, 0, c, &cap);
	int err = m->oom ? ES_ENOMEM : rc == DB_DONE || rc == DB_ROW ? 0
									     : idx_fail(ix, "read streams");
	db_reset(st);
	return err;
}

static int load_events(struct idx *ix, struct row_mem *m, struct idx_call *c)
{
	struct idx_st *st = idx_stmt(ix, ST_EVENTS_GET);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, c->id);
	unsigned cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_event *arr = grow(m, c->events, c->nevents, &cap, sizeof(*arr));
		if (!arr)
			break;
		c->events = arr;
		struct idx_event *e = &arr[c->nevents++];
		e->ts_us = db_col_int64(st, 0);
		e->kind = col_str(m, st, 1);
		e->party = db_col_int(st, 2);
		e->detail = col_str(m, st, 3);
	}
	int err = m->oom ? ES_ENOMEM : rc == DB_DONE || rc == DB_ROW ? 0
									     : idx_fail(ix, "read events");
	db_reset(st);
	return err;
}

static int load_msgs(struct idx *ix, struct row_mem *m, struct idx_call *c)
{
	struct idx_st *st = idx_stmt(ix, ST_MSGS_GET);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, c->id);
	unsigned cap = 0;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_msg *arr = grow(m, c->msgs, c->nmsgs, &cap, sizeof(*arr));
		if (!arr)
			break;
		c->msgs = arr;
		struct idx_msg *o = &arr[c->nmsgs++];
		memset(o, 0, sizeof(*o));
		o->ts_us = db_col_int64(st, 0);
		o->frame = (uint64_t)db_col_int64(st, 1);
		col_addr(st, 2, o->src);
		col_addr(st, 3, o->dst);
		o->transport = col_str(m, st, 4);
		o->label = col_str(m, st, 5);
		o->cseq = (uint32_t)db_col_int64(st, 6);
		o->cseq_method = col_str(m, st, 7);
		o->retransmission = db_col_int(st, 8) != 0;
		o->has_sdp = db_col_int(st, 9) != 0;
	}
	int err = m->oom ? ES_ENOMEM : rc == DB_DONE || rc == DB_ROW ? 0
									     : idx_fail(ix, "read messages");
	db_reset(st);
	return err;
}

/* A row of ST_REC_GET into c->recording. */
static void read_recording(struct row_mem *m, struct idx_st *st, struct idx_call *c)
{
	struct idx_recording *r = es_arena_alloc(&m->arena, sizeof(*r));
	if (!r) {
		m->oom = true;
		return;
	}
	r->call_row = db_col_int64(st, 0);
	r->path = col_str(m, st, 1);
	r->format = col_str(m, st, 2);
	r->bytes = (uint64_t)db_col_int64(st, 3);
	r->sha256 = col_str(m, st, 4);
	r->start_us = db_col_int64(st, 5);
	r->duration_us = db_col_int64(st, 6);
	r->rate = (uint32_t)db_col_int64(st, 7);
	r->channels = (unsigned)db_col_int(st, 8);
	r->codecs = col_str(m, st, 9);
	r->flags = col_str(m, st, 10);
	r->stats_json = col_str(m, st, 11);
	r->created_us = db_col_int64(st, 12);
	r->plain_sha256 = col_str(m, st, 13);
	r->encrypted = db_col_int(st, 14) != 0;
	c->recording = r;
}

static int load_recording(struct idx *ix, struct row_mem *m, struct idx_call *c)
{
	struct idx_st *st = idx_stmt(ix, ST_REC_GET);
	if (!st)
		return ES_EDB;
	c->recording = NULL;
	db_bind_int64(st, 1, c->id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		read_recording(m, st, c);
	int err = m->oom ? ES_ENOMEM : rc == DB_DONE || rc == DB_ROW ? 0
									     : idx_fail(ix, "read recording");
	db_reset(st);
	return err;
}

/* One call row with its parties, its children when asked (streams,
 * events, SIP messages) and its recording, read into one arena, then fn: the shared body of idx_call_get and idx_call_brief. */
static int call_read(struct idx *ix, int64_t id, bool children, idx_call_fn fn, void *ud)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_GET);
	if (!st)
		return ES_EDB;
	struct row_mem m = {0};
	struct idx_call c;
	db_bind_int64(st, 1, id);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		read_call(&m, st, &c);
	else if (rc == DB_DONE)
		err = ES_ENOTFOUND;
	else
		err = idx_fail(ix, "read call");
	db_reset(st);
	if (!err && m.oom)
		err = ES_ENOMEM;
	if (!err && children)
		err = load_streams(ix, &m, &c);
	if (!err && children)
		err = load_events(ix, &m, &c);
	if (!err && children)
		err = load_msgs(ix, &m, &c);
	if (!err)
		err = load_recording(ix, &m, &c);
	if (!err)
		err = idx_call_speech_open(ix, &m.arena, &c);
	if (!err)
		err = fn(ud, &c);
	es_arena_free(&m.arena);
	return err;
}

int idx_call_brief(struct idx *ix, int64_t id, idx_call_fn fn, void *ud)
{
	return call_read(ix, id, false, fn, ud);
}

int idx_call_get(struct idx *ix, int64_t id, idx_call_fn fn, void *ud)
{
	return call_read(ix, id, true, fn, ud);
}

/* ---- search ------------------------------------------------------------------ */

/* "%needle%" with % _ and \ escaped for LIKE ... ESCAPE '\'. */
static char *like_pattern(const char *needle)
{
	size_t n = strlen(needle);
	char *p = malloc(2 * n + 3), *o = p;
	if (!p)
		return NULL;
	*o++ = '%';
	for (const char *s = needle; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

/* Where the anchor of an after_id cursor sits; *found false when the call
 * is gone. */
static int anchor_start(struct idx *ix, int64_t id, int64_t *start, bool *found)
{
	struct idx_st *st = idx_stmt(ix, ST_CALL_START);
	if (!st)
		return ES_EDB;
	db_bind_int64(st, 1, id);
	int rc = db_step(st), err = 0;
	*found = rc == DB_ROW;
	if (*found)
		*start = db_col_int64(st, 0);
	else if (rc != DB_DONE)
		err = idx_fail(ix, "read cursor");
	db_reset(st);
	return err;
}

/* How the party filter runs.  The exact LIKE on the four fields is always
 * there; the trigram index (schema v7, party_text) only narrows which calls
 * it is tried on, and it is chosen per search by how many parties the index
 * offers (party_probe), measured on 100,000 calls (docs/PERFORMANCE.md). */
enum party_plan {
	PARTY_LIKE, /* every call in list order: needles under 3 characters,
		       which a trigram cannot serve, and needles so common
		       that a page fills from the first calls anyway */
	PARTY_IDS,  /* few candidates: c.id IN (their ids), which the planner
		       can drive from (or test, given a narrower time range) */
	PARTY_SET,  /* many: the matches as a set tested on each call in list
		       order (the "+" keeps the set from driving the plan) */
	PARTY_PG,   /* PostgreSQL: the call's party text (IDX_MIG_PARTY_TEXT),
		       which its planner either finds through the pg_trgm
		       index or tests on each call in list order, as the
		       column's statistics say (exact for a needle without
		       a newline, see build_sql) */
	PARTY_PG_SET, /* PostgreSQL, up to PG_SET_MAX matches expected: the
		       trigram index's matches, sorted (never walked) */
};
/* Party rows: up to PARTY_IDS_MAX the ids go into the SQL; above
 * PARTY_SET_MAX (5 % of the parties at 100,000 calls) the LIKE scan
 * finds a page sooner than the set is built. */
#define PARTY_IDS_MAX 1000
#define PARTY_SET_MAX 10000
/* PostgreSQL: the sorted matches cost a heap visit each, the walk about
 * limit x calls / matches calls a page; near 10,000 matches of 1,000,000
 * they cost the same.  Data inserted in time order favours the walk. */
#define PG_SET_MAX 10000

/* Unicode characters in s as SQLite reads UTF-8 (a lead byte and its
 * continuation bytes are one; a stray continuation byte is one of its own,
 * not counted here, so the count never exceeds SQLite's). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The needle as an FTS5 string: in double quotes, each '"' doubled.  The
 * trigram tokenizer keeps every other character (%, _, \, spaces), so the
 * phrase matches the literal substring, in any case. */
static char *fts_phrase(const char *needle)
{
	size_t n = strlen(needle);
	char *p = malloc(2 * n + 3), *o = p;
	if (!p)
		return NULL;
	*o++ = '"';
	for (const char *s = needle; *s; s++) {
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return p;
}

/* Ask the trigram index for phrase: *plan PARTY_IDS with the distinct call
 * ids in ids ("1,5,9", possibly empty: then nothing matches), PARTY_SET or
 * PARTY_LIKE by how many parties match (counting stops at PARTY_SET_MAX).
 * Outside a transaction the probe and the search read two snapshots: a
 * call entered in between is missing from this answer, as if the search
 * had run a moment earlier (parties are never updated, only added and
 * deleted with their call). */
static int party_probe(struct idx *ix, const char *phrase, struct es_buf *ids,
		       enum party_plan *plan)
{
	struct idx_st *st =
		idx_prep(ix, "SELECT rowid >> 1 FROM party_text WHERE party_text MATCH ?1 LIMIT ?2");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, phrase);
	db_bind_int64(st, 2, PARTY_SET_MAX + 1);
	int rc, err = 0, n = 0;
	int64_t last = -1;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_col_int64(st, 0);
		/* rowid order: a call's two parties are neighbours */
		if (++n <= PARTY_IDS_MAX && id != last) {
			err = es_buf_printf(ids, "%s%lld", last < 0 ? "" : ",", (long long)id);
			if (err)
				break;
			last = id;
		}
	}
	if (!err && rc != DB_DONE && rc != DB_ROW)
		err = idx_fail(ix, "party probe");
	db_finalize(st);
	*plan = n <= PARTY_IDS_MAX ? PARTY_IDS : n <= PARTY_SET_MAX ? PARTY_SET : PARTY_LIKE;
	return err;
}

/* PostgreSQL's planner estimate of the calls that match where (one
 * planning round trip, no rows read), ?1 bound to text or else to num. */
static int pg_estimate(struct idx *ix, const char *where, const char *text, int64_t num,
		       double *rows)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "EXPLAIN SELECT 1 FROM calls c WHERE %s", where);
	struct idx_st *st = idx_prep(ix, sql);
	if (!st)
		return ES_EDB;
	if (text)
		db_bind_text(st, 1, text);
	else
		db_bind_int64(st, 1, num);
	int err = 0;
	const char *line, *r;
	*rows = 0;
	/* the first line is the plan's top node: "... rows=N width=..." */
	if (db_step(st) == DB_ROW && (line = db_col_text(st, 0)) && (r = strstr(line, " rows=")))
		*rows = strtod(r + 6, NULL);
	else
		err = idx_fail(ix, "search estimate");
	db_finalize(st);
	return err;
}

/* PostgreSQL's own probe: how many calls the planner expects for pattern
 * on the party text (pg_trgm's estimate from the column's statistics),
 * *plan PARTY_PG_SET or PARTY_PG (the planner's choice: a walk, for that
 * many) by it.  Left to itself the planner weighs the two by the same
 * estimate but prices the walk as if the matches were spread evenly in
 * time: a number called on a few days was walked through 100,000 calls. */
static int party_probe_pg(struct idx *ix, const char *pattern, enum party_plan *plan)
{
	double rows;
	int err = pg_estimate(ix, "c.party_text LIKE ?1 ESCAPE '\\'", pattern, 0, &rows);
	*plan = rows <= PG_SET_MAX ? PARTY_PG_SET : PARTY_PG;
	return err;
}

/* The answered duration as PostgreSQL's calls_duration indexes it
 * (IDX_MIG_SEARCH_FAST; NULL, never true, for a call not answered). */
#define DURATION_SQL "(CASE WHEN c.answer_us <> 0 THEN c.end_us - c.answer_us END)"

/* The search SQL: fixed fragments chosen by which filters are set; every
 * value travels as a bound parameter, but for the call ids of PARTY_IDS,
 * integers read from the index, inline so that the planner counts them. */
/* How a transcript search joins the calls (transcripts.c, idx_tr_probe). */
enum text_plan {
	TEXT_SUB,    /* every match in a subquery (PostgreSQL: the GIN index) */
	TEXT_IDS,    /* the few matching calls, listed */
	TEXT_EACH,   /* a common term: each call in list order probed */
};

static int build_sql(struct es_buf *b, const struct idx_filter *f, bool anchored,
		     enum party_plan plan, bool sorted, const struct es_buf *ids, bool count,
		     const char *select, bool pg, enum text_plan tplan, const struct es_buf *tids)
{
	/* the filters name only c, t and their own subqueries: a count needs
	 * neither the parties' joins nor an order */
	int err = es_buf_printf(b, "%s", count ? "SELECT count(*) FROM calls c" : select);
	/* A tag is a join, not an EXISTS: a call has a tag at most once
	 * (UNIQUE (call_row, tag)), so the rows are the same, and the tag row
	 * carries its call's start (IDX_MIG_SEARCH_FAST), so ordering by
	 * (t.start_us, t.call_row), which is the list order, lets either
	 * planner walk (tag, start_us, call_row) and stop after a page.  As an
	 * EXISTS, both read every call of the range and probed its tags (a
	 * month and tag=vip: 8.3 s, 115,000 buffers at 1,000,000 calls;
	 * docs/PERFORMANCE.md).  The bounds are on t as well, for the same
	 * reason. */
	bool by_tag = f->tag && f->sort == IDX_SORT_START && plan != PARTY_PG_SET;
	const char *ge = f->newest_first ? "<=" : ">=";
	if (!err && f->tag)
		err = es_buf_printf(b, " JOIN call_tags t ON t.call_row = c.id AND t.tag = :tag%s%s%s%s%s",
				    f->from_us ? " AND t.start_us >= :from" : "",
				    f->to_us ? " AND t.start_us < :to" : "",
				    by_tag && f->after_id && anchored ? " AND t.start_us " : "",
				    by_tag && f->after_id && anchored ? ge : "",
				    by_tag && f->after_id && anchored ? " :astart" : "");
	if (!err)
		err = es_buf_printf(b, " WHERE 1 = 1");
	if (!err && f->party && plan == PARTY_IDS)
		err = es_buf_printf(b, " AND c.id IN (%.*s)", (int)ids->len,
				    ids->len ? (const char *)ids->p : "");
	if (!err && f->party && plan == PARTY_SET)
		err = es_buf_printf(b, " AND +c.id IN (SELECT rowid >> 1 FROM party_text"
				       " WHERE party_text MATCH :phrase)");
	/* The two engines' party searches differ: side by side here.  The
	 * call's text holds every field, so it is a superset of the exact
	 * test below (a needle may also span two fields of the text). */
	if (!err && f->party && (plan == PARTY_PG || plan == PARTY_PG_SET))
		err = es_buf_printf(b, " AND c.party_text LIKE :party ESCAPE '\\'");
	/* The text joins the fields with newlines: a needle without one
	 * matches the text exactly where it matches a field (the same ILIKE),
	 * and the test of the parties is left out.  It was what sank the
	 * plans at 1,000,000 calls: the planner took the EXISTS of four ORed
	 * ILIKEs for a rare match (423 rows for 19,000) and drove the search
	 * from a sequential scan of the parties (docs/PERFORMANCE.md). */
	bool pg_exact = plan != PARTY_LIKE && plan != PARTY_IDS && plan != PARTY_SET &&
			f->party && !strchr(f->party, '\n');
	if (!err && f->party && !pg_exact)
		err = es_buf_printf(b, " AND EXISTS (SELECT 1 FROM parties p WHERE p.call_row = c.id"
				       " AND (p.uri LIKE :party ESCAPE '\\'"
				       " OR p.user LIKE :party ESCAPE '\\'"
				       " OR p.display LIKE :party ESCAPE '\\'"
				       " OR p.pai LIKE :party ESCAPE '\\'))");
	if (!err && f->from_us)
		err = es_buf_printf(b, " AND c.start_us >= :from");
	if (!err && f->to_us)
		err = es_buf_printf(b, " AND c.start_us < :to");
	if (!err && f->outcome)
		err = es_buf_printf(b, " AND c.outcome = :outcome");
	if (!err && f->min_duration_us)
		err = es_buf_printf(b, " AND " DURATION_SQL " >= :mindur");
	if (!err && f->max_duration_us)
		err = es_buf_printf(b, " AND (c.answer_us = 0 OR c.end_us - c.answer_us <= :maxdur)");
	if (!err && f->call_id)
		err = es_buf_printf(b, " AND c.call_id = :callid");
	/* Comma lists ("PCMU,telephone-event", "one_way,siprec") match a whole
	 * item: ",a,b," contains ",item,". */
	if (!err && f->codec)
		err = es_buf_printf(b, " AND EXISTS (SELECT 1 FROM streams s WHERE s.call_row = c.id"
				       " AND instr(',' || lower(s.codecs) || ',',"
				       " ',' || lower(:codec) || ',') > 0)");
	if (!err && f->flag)
		err = es_buf_printf(b, " AND (instr(',' || ifnull(c.flags, '') || ',',"
				       " ',' || :flag || ',') > 0"
				       " OR EXISTS (SELECT 1 FROM recordings r WHERE r.call_row = c.id"
				       " AND instr(',' || ifnull(r.flags, '') || ',',"
				       " ',' || :flag || ',') > 0))");
	if (!err && f->source)
		err = es_buf_printf(b, " AND c.source = :source");
	if (!err && f->consent)
		err = es_buf_printf(b, " AND (c.consent_caller = :consent OR c.consent_callee = :consent)");
	if (!err && f->max_mos > 0)
		err = es_buf_printf(b, " AND c.mos <= :maxmos");
	if (!err && f->min_loss > 0)
		err = es_buf_printf(b, " AND c.loss_pct >= :minloss");
	if (!err && f->min_overtalk_ms > 0)
		err = es_buf_printf(b, " AND c.overtalk_ms >= :minover");
	if (!err && f->min_dead_air_ms > 0)
		err = es_buf_printf(b, " AND c.dead_air_ms >= :mindead");
	if (!err && f->talk_ratio_set)
		err = es_buf_printf(b, " AND c.talk_ratio <= :maxratio");
	/* transcripts: the blind index (trblind.c), :text its query */
	if (!err && f->text && tplan == TEXT_IDS)
		err = es_buf_printf(b, " AND c.id IN (%.*s)", (int)tids->len,
				    tids->len ? (const char *)tids->p : "");
	else if (!err && f->text && tplan == TEXT_EACH)
		err = es_buf_printf(b, " AND EXISTS (SELECT 1 FROM transcripts tr"
				       " JOIN transcript_text ON transcript_text.rowid = tr.fts_key"
				       " WHERE tr.call_row = c.id AND (:tparty = 0 OR tr.channel = :tparty - 1)"
				       " AND transcript_text MATCH :text)");
	else if (!err && f->text)
		err = es_buf_printf(b, " AND c.id IN (SELECT tr.call_row FROM %s"
				       " AND (:tparty = 0 OR tr.channel = :tparty - 1))",
				    pg ? "transcripts tr WHERE tr.tsv @@ CAST(:text AS tsquery)"
				       : "transcript_text JOIN transcripts tr"
					 " ON tr.fts_key = transcript_text.rowid"
					 " WHERE transcript_text MATCH :text");
	/* transcript findings (transcripts.c) */
	if (!err && f->keyword)
		err = es_buf_printf(b, " AND c.id IN (SELECT k.call_row FROM keyword_hits k"
				       " WHERE k.missing = 0 AND (lower(k.category) = lower(:kw)"
				       " OR lower(k.list) = lower(:kw) OR k.phrase = :kwtok))");
	if (!err && f->min_sentiment_set)
		err = es_buf_printf(b, " AND c.sentiment >= :minsent");
	if (!err && f->max_sentiment_set)
		err = es_buf_printf(b, " AND c.sentiment <= :maxsent");
	const char *gt = f->newest_first ? "<" : ">";
	if (!err && f->after_id) {
		/* Keyset paging in list order (start, id): the rows after the
		 * anchor call.  Without the anchor, plain id order. */
		if (anchored)
			err = es_buf_printf(b, " AND (c.start_us %s :astart"
					       " OR (c.start_us = :astart AND c.id %s :after))", gt, gt);
		else
			err = es_buf_printf(b, " AND c.id %s :after", gt);
	}
	/* the quality sorts: worst first, calls without figures last */
	static const char *const quality_order[] = {
		[IDX_SORT_MOS] = " ORDER BY c.mos IS NULL, c.mos, c.id",
		[IDX_SORT_LOSS] = " ORDER BY c.loss_pct IS NULL, c.loss_pct DESC, c.id",
		[IDX_SORT_JITTER] = " ORDER BY c.jitter_ms IS NULL, c.jitter_ms DESC, c.id",
	};
	if (!err && count)
		; /* one row */
	else if (!err && f->sort != IDX_SORT_START)
		err = es_buf_printf(b, "%s", quality_order[f->sort]);
	else if (!err && by_tag) /* t's start and call are c's */
		err = es_buf_printf(b, f->newest_first ? " ORDER BY t.start_us DESC, t.call_row DESC"
						       : " ORDER BY t.start_us, t.call_row");
	else if (!err && (plan == PARTY_PG_SET || sorted)) /* "+ 0": sorted, not walked */
		err = es_buf_printf(b, f->newest_first ? " ORDER BY c.start_us + 0 DESC, c.id DESC"
						       : " ORDER BY c.start_us + 0, c.id");
	else if (!err)
		err = es_buf_printf(b, f->newest_first ? " ORDER BY c.start_us DESC, c.id DESC"
						       : " ORDER BY c.start_us, c.id");
	if (!err && f->limit && !count)
		err = es_buf_printf(b, " LIMIT :limit");
	if (!err)
		err = es_buf_append(b, "", 1);
	return err;
}

#define bind_named_text db_bind_named_text
#define bind_named_int db_bind_named_int64

#define bind_named_double db_bind_named_double

/* A page's calls are handed out LIST_BATCH at a time, with the streams
 * and recordings of the batch read by one statement each: one per call
 * made a page of 100 calls 200 round trips on PostgreSQL, most of a
 * search's time (docs/PERFORMANCE.md).  The SQL is one text (unused
 * places bound to 0, which no call has), so it is prepared once. */
#define LIST_BATCH 64

struct listed {
	struct row_mem m;
	struct idx_call c;
	unsigned scap; /* room in c.streams */
};

static struct listed *listed_find(struct listed *b, unsigned n, int64_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (b[i].c.id == id)
			return &b[i];
	return NULL;
}

/* "SELECT <cols> FROM <table> WHERE call_row IN (?1, ..., ?LIST_BATCH)<tail>" */
static struct idx_st *batch_prep(struct idx *ix, const char *cols, const char *table,
				 const char *tail, const struct listed *b, unsigned n)
{
	struct es_buf q;
	es_buf_init(&q);
	int err = es_buf_printf(&q, "SELECT %s FROM %s WHERE call_row IN (", cols, table);
	for (unsigned i = 0; !err && i < LIST_BATCH; i++)
		err = es_buf_printf(&q, "%s?%u", i ? ", " : "", i + 1);
	if (!err)
		err = es_buf_printf(&q, ")%s", tail);
	if (!err)
		err = es_buf_append(&q, "", 1);
	struct idx_st *st = err ? NULL : idx_prep(ix, (const char *)q.p);
	es_buf_free(&q);
	for (unsigned i = 0; st && i < LIST_BATCH; i++)
		db_bind_int64(st, (int)i + 1, i < n ? b[i].c.id : 0);
	return st;
}

static int batch_children(struct idx *ix, struct listed *b, unsigned n)
{
	struct idx_st *st = batch_prep(ix,
				       "call_row, party, ssrc, src, dst, payload_types, codecs,"
				       " packets, expected, lost, duplicates, out_of_order,"
				       " jitter_max_ms, jitter_mean_ms, delta_max_ms, first_us,"
				       " last_us, rtcp_json, quality_json",
				       "streams", " ORDER BY call_row, seq", b, n);
	if (!st)
		return ES_EDB;
	int rc, err = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct listed *l = listed_find(b, n, db_col_int64(st, 0));
		if (l)
			read_stream(&l->m, st, 1, &l->c, &l->scap);
	}
	if (rc != DB_DONE)
		err = idx_fail(ix, "read streams");
	db_finalize(st);
	if (err || !(st = batch_prep(ix,
				     "call_row, path, format, bytes, sha256, start_us, duration_us,"
				     " rate, channels, codecs, flags, stats_json, created_us,"
				     " plain_sha256, encrypted",
				     "recordings", "", b, n)))
		return err ? err : ES_EDB;
	while ((rc = db_step(st)) == DB_ROW) {
		struct listed *l = listed_find(b, n, db_col_int64(st, 0));
		if (l)
			read_recording(&l->m, st, &l->c);
	}
	if (rc != DB_DONE)
		err = idx_fail(ix, "read recordings");
	db_finalize(st);
	for (unsigned i = 0; !err && i < n; i++)
		if (b[i].m.oom)
			err = ES_ENOMEM;
	return err;
}

/* Children for b[0..n), then fn for each in order; the arenas freed. */
static int batch_hand(struct idx *ix, struct listed *b, unsigned n, idx_call_fn fn, void *ud)
{
	int err = n ? batch_children(ix, b, n) : 0;
	for (unsigned i = 0; i < n; i++) {
		if (!err)
			err = fn(ud, &b[i].c);
		es_arena_free(&b[i].m.arena);
	}
	return err;
}

/* The search (fn per call) or, with count set, its number of calls. */
static int calls_run(struct idx *ix, const struct idx_filter *f, idx_call_fn fn, void *ud,
		     int64_t *count)
{
	static const struct idx_filter none = {0};
	if (!f)
		f = &none;
	int64_t astart = 0;
	bool anchored = false;
	int err = 0;
	if (f->sort > IDX_SORT_JITTER || (f->sort != IDX_SORT_START && f->after_id && !count))
		return ES_EINVAL;
	if (!count && f->after_id && (err = anchor_start(ix, f->after_id, &astart, &anchored)))
		return err;

	struct es_buf sql, ids;
	es_buf_init(&sql);
	es_buf_init(&ids);
	char *pattern = NULL, *phrase = NULL, *text = NULL;
	char kwtok[IDX_TR_TOKEN_MAX + 1] = ""; /* bound as is: lives to the end */
	struct es_buf tids;
	es_buf_init(&tids);
	enum text_plan tplan = TEXT_SUB;
	struct idx_st *st = NULL;
	struct listed *batch = NULL;
	enum party_plan plan = PARTY_LIKE;
	if (f->text && (err = idx_tr_query(ix, f->text, &text)))
		goto out;
	/* a prefix merges the doclists of every word it covers for each
	 * probe: read once in the subquery instead */
	if (f->text && !db_is_pg(ix) && !count && !strchr(text, '*')) {
		bool common = false;
		if ((err = idx_tr_probe(ix, text, f->text_party, &tids, &common)))
			goto out;
		tplan = common ? TEXT_EACH : TEXT_IDS;
	}
	if (f->party && !(pattern = like_pattern(f->party))) {
		err = ES_ENOMEM;
		goto out;
	}
	if (f->party && db_is_pg(ix)) {
		/* under 3 characters no trigram: the planner walks */
		plan = PARTY_PG;
		if (!count && utf8_chars(f->party) >= 3 && (err = party_probe_pg(ix, pattern, &plan)))
			goto out;
	} else if (f->party && utf8_chars(f->party) >= 3) {
		if (!(phrase = fts_phrase(f->party))) {
			err = ES_ENOMEM;
			goto out;
		}
		if ((err = party_probe(ix, phrase, &ids, &plan)))
			goto out;
	}
	/* PostgreSQL, a long minimum duration: the same choice as for a party
	 * (PG_SET_MAX), on calls_duration's statistics.  The planner walked a
	 * month of calls in time order (86,500 read, 4.6 s) for a 30-minute
	 * minimum whose 1,060 expected matches it took as spread evenly. */
	double dur_rows = 0;
	if (!count && db_is_pg(ix) && f->min_duration_us && plan != PARTY_PG_SET && !f->tag &&
	    (err = pg_estimate(ix, DURATION_SQL " >= ?1", NULL, f->min_duration_us, &dur_rows)))
		goto out;
	bool sorted = !count && db_is_pg(ix) && f->min_duration_us && plan != PARTY_PG_SET &&
		      !f->tag && dur_rows <= PG_SET_MAX;
	/* PostgreSQL, a party walked in time order (PARTY_PG): the page's ids
	 * first, by the same search through calls_start_party, whose tuples
	 * carry the party text (IDX_MIG_SEARCH_FAST), so the walk tests the
	 * needle on the index (an index-only scan) and reads a call's row
	 * only for the page; then the page's rows by id.  Walking the heap
	 * read a row per call passed over: party=Emily, 100 rows, 24,526
	 * buffers; ids first, 1,644 (docs/PERFORMANCE.md).  The same filters
	 * in both, so the rows are the same. */
	bool ids_first = !count && db_is_pg(ix) && plan == PARTY_PG && f->limit &&
			 f->sort == IDX_SORT_START && !f->tag;
	if (ids_first) {
		if ((err = build_sql(&sql, f, anchored, plan, sorted, &ids, false,
				     IDX_CALL_SELECT " WHERE c.id IN (SELECT c.id FROM calls c",
				     db_is_pg(ix), tplan, &tids)))
			goto out;
		sql.len--; /* the NUL */
		err = es_buf_printf(&sql, ")%s LIMIT :limit",
				    f->newest_first ? " ORDER BY c.start_us DESC, c.id DESC"
						    : " ORDER BY c.start_us, c.id");
		if (!err)
			err = es_buf_append(&sql, "", 1);
	} else {
		err = build_sql(&sql, f, anchored, plan, sorted, &ids, count != NULL,
				IDX_CALL_SELECT, db_is_pg(ix), tplan, &tids);
	}
	if (err)
		goto out;
	if (!(st = idx_prep(ix, (const char *)sql.p))) {
		err = ES_EDB;
		goto out;
	}
	if (pattern)
		bind_named_text(st, ":party", pattern);
	if (phrase)
		bind_named_text(st, ":phrase", phrase);
	bind_named_int(st, ":from", f->from_us);
	bind_named_int(st, ":to", f->to_us);
	if (f->outcome)
		bind_named_text(st, ":outcome", f->outcome);
	bind_named_int(st, ":mindur", f->min_duration_us);
	bind_named_int(st, ":maxdur", f->max_duration_us);
	if (f->call_id)
		bind_named_text(st, ":callid", f->call_id);
	if (f->codec)
		bind_named_text(st, ":codec", f->codec);
	if (f->flag)
		bind_named_text(st, ":flag", f->flag);
	if (f->source)
		bind_named_text(st, ":source", f->source);
	if (f->consent)
		bind_named_text(st, ":consent", f->consent);
	if (f->tag)
		bind_named_text(st, ":tag", f->tag);
	bind_named_double(st, ":maxmos", f->max_mos);
	bind_named_double(st, ":minloss", f->min_loss);
	bind_named_int(st, ":minover", f->min_overtalk_ms);
	bind_named_int(st, ":mindead", f->min_dead_air_ms);
	bind_named_double(st, ":maxratio", f->max_talk_ratio);
	if (text)
		bind_named_text(st, ":text", text);
	bind_named_int(st, ":tparty", f->text_party);
	if (f->keyword) {
		/* a phrase is stored as its keyed token; without the key only
		 * categories and lists are found */
		bind_named_text(st, ":kw", f->keyword);
		if (idx_tr_kw_token(ix, f->keyword, kwtok))
			kwtok[0] = '\0';
		bind_named_text(st, ":kwtok", kwtok);
	}
	bind_named_double(st, ":minsent", f->min_sentiment);
	bind_named_double(st, ":maxsent", f->max_sentiment);
	int rc;
	if (count) {
		if ((rc = db_step(st)) == DB_ROW)
			*count = db_col_int64(st, 0);
		else
			err = idx_fail(ix, "count");
		goto out;
	}
	bind_named_int(st, ":astart", astart);
	bind_named_int(st, ":after", f->after_id);
	bind_named_int(st, ":limit", f->limit);

	if (!(batch = calloc(LIST_BATCH, sizeof(*batch)))) {
		err = ES_ENOMEM;
		goto out;
	}
	unsigned nb = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		read_call(&batch[nb].m, st, &batch[nb].c);
		batch[nb].scap = 0;
		if (++nb == LIST_BATCH) {
			err = batch_hand(ix, batch, nb, fn, ud);
			nb = 0;
			if (err)
				goto out;
		}
	}
	if (rc != DB_DONE) {
		err = idx_fail(ix, "search");
		for (unsigned i = 0; i < nb; i++)
			es_arena_free(&batch[i].m.arena);
	} else {
		err = batch_hand(ix, batch, nb, fn, ud);
	}
out:
	free(batch);
	db_finalize(st);
	free(pattern);
	free(phrase);
	free(text);
	es_buf_free(&tids);
	es_buf_free(&ids);
	es_buf_free(&sql);
	return err;
}

/* calls_run under f's time limit, if any: every statement of the search
 * (probes, estimates, the search, the page's streams) is stopped past it
 * (db_time_limit), so that an expensive search cannot hold a PostgreSQL
 * backend and a web worker for long (docs/THREAT_MODEL.md). */
static int calls_query(struct idx *ix, const struct idx_filter *f, idx_call_fn fn, void *ud,
		       int64_t *count)
{
	if (!f || f->timeout_ms <= 0)
		return calls_run(ix, f, fn, ud, count);
	int err = db_time_limit(ix, f->timeout_ms);
	if (err)
		return err;
	err = calls_run(ix, f, fn, ud, count);
	db_time_limit(ix, 0);
	if (err && ix->timed_out) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: the search took longer than its limit of %lld ms",
			 ix->path ? ix->path : "?", (long long)f->timeout_ms);
		err = ES_ETIMEOUT;
	}
	return err;
}

int idx_calls_list(struct idx *ix, const struct idx_filter *f, idx_call_fn fn, void *ud)
{
	return calls_query(ix, f, fn, ud, NULL);
}

int idx_calls_count(struct idx *ix, const struct idx_filter *f, int64_t *n)
{
	struct idx_filter g = f ? *f : (struct idx_filter){0};
	g.after_id = 0; /* the whole list, not the rest of a page */
	g.limit = 0;
	*n = 0;
	return calls_query(ix, &g, NULL, NULL, n);
}

int idx_count_calls(struct idx *ix, int64_t *n)
{
	struct idx_st *st = idx_stmt(ix, ST_COUNT_CALLS);
	if (!st)
		return ES_EDB;
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		*n = db_col_int64(st, 0);
	else
		err = idx_fail(ix, "count calls");
	db_reset(st);
	return err;
}
