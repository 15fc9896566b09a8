/* test_index.c - the index: schema and reopen, insert with children
 * and duplicates, every search filter (LIKE escaping, unicode), cursor
 * paging, full round trip of a call, imports, foreign files.  With --pg
 * the engine-independent tests run again on a throwaway PostgreSQL
 * cluster (ctest: pg_test_index; exit 77 when PostgreSQL is missing). */
#include "check.h"
#include "index/index.h"
#include "index/index_internal.h"
#include "pg_helper.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

/* The newest schema version.  Each migration after v9 has its undo here
 * (they were written on parallel branches and numbered at merge); undoing
 * all of them (AFTER_V9_UNDO, below) makes a v9 index. */
#define SCHEMA_LATEST ((int)idx_nmigrations)
#define REDACT_UNDO "DROP TABLE redactions; "

static char dir[64];
static char dbpath[128];
static bool pg_mode; /* dbpath is a PostgreSQL URL */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/es_test_index_XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(dbpath, sizeof(dbpath), "%s/index.sqlite", dir);
}

static void rm_db(const char *path)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void teardown(void)
{
	rm_db(dbpath);
	char p[160];
	snprintf(p, sizeof(p), "%s/notsqlite", dir);
	unlink(p);
	rmdir(dir);
}

static struct idx *fresh(void)
{
	char err[256];
	struct idx *ix = NULL;
	if (pg_mode)
		pgh_fresh(dbpath, sizeof(dbpath));
	else
		rm_db(dbpath);
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	if (!ix) {
		fprintf(stderr, "idx_open: %s\n", err);
		exit(1);
	}
	return ix;
}

/* One text value from SQL run on a separate connection. */
static void sql_text(const char *sql, char *out, size_t cap)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	out[0] = '\0';
	if (pg_mode) {
		pgh_text(dbpath, sql, out, cap);
		return;
	}
	CHECK_INT(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A simple call: caller/callee users and start time, answered for dur s. */
static struct idx_call simple(const char *call_id, const char *from, const char *to,
			      int64_t start_s, int64_t dur_s)
{
	static char uris[64][2][96];
	static unsigned next;
	unsigned k = next++ % 64;
	snprintf(uris[k][0], sizeof(uris[k][0]), "sip:%s@example.com", from);
	snprintf(uris[k][1], sizeof(uris[k][1]), "sip:%s@example.com", to);
	struct idx_call c = {
		.call_id = call_id,
		.caller = {.uri = uris[k][0], .user = from},
		.callee = {.uri = uris[k][1], .user = to},
		.start_us = start_s * ES_US_PER_SEC,
		.answer_us = dur_s ? (start_s + 2) * ES_US_PER_SEC : 0,
		.end_us = (start_s + 2 + dur_s) * ES_US_PER_SEC,
		.outcome = dur_s ? "answered" : "busy",
		.sip_code = dur_s ? 200 : 486,
		.end_reason = dur_s ? "bye" : "final_response",
		.source = "import",
	};
	return c;
}

static int64_t insert(struct idx *ix, struct idx_call c)
{
	bool dup = true;
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	CHECK(!dup);
	CHECK(c.id > 0);
	return c.id;
}

struct ids {
	int64_t id[128];
	unsigned n;
	unsigned streams[128];
	unsigned stop_after; /* 0 = never */
};

static int collect(void *ud, const struct idx_call *c)
{
	struct ids *r = ud;
	if (r->n < 128) {
		r->streams[r->n] = c->nstreams;
		r->id[r->n++] = c->id;
	}
	CHECK_INT(c->nevents, 0);
	CHECK_INT(c->nmsgs, 0);
	return r->stop_after && r->n >= r->stop_after ? 42 : 0;
}

static struct ids list(struct idx *ix, struct idx_filter f)
{
	struct ids r = {0};
	CHECK_INT(idx_calls_list(ix, &f, collect, &r), 0);
	return r;
}

static void test_open_schema(void)
{
	struct idx *ix = fresh();
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	int64_t n = -1;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 0);
	insert(ix, simple("a@x", "alice", "bob", 1000, 10));
	idx_close(ix);

	char buf[64];
	sql_text("PRAGMA journal_mode", buf, sizeof(buf));
	CHECK_STR(buf, "wal");
	sql_text("PRAGMA user_version", buf, sizeof(buf));
	CHECK_INT(atoi(buf), (int)idx_nmigrations);

	char err[256];
	ix = NULL;
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 1);
	idx_close(ix);
	sql_text("PRAGMA integrity_check", buf, sizeof(buf));
	CHECK_STR(buf, "ok");
	sql_text("PRAGMA foreign_key_check", buf, sizeof(buf));
	CHECK_STR(buf, "");
}

static void test_not_sqlite(void)
{
	char p[160], err[512];
	snprintf(p, sizeof(p), "%s/notsqlite", dir);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	for (int i = 0; f && i < 200; i++)
		fputs("this is a text file, not an index at all\n", f);
	if (f)
		fclose(f);
	struct idx *ix = (struct idx *)&ix;
	CHECK_INT(idx_open(&ix, p, err, sizeof(err)), ES_EDB);
	CHECK(ix == NULL);
	CHECK(strstr(err, p) != NULL);
	CHECK(strstr(err, "not a database") != NULL);

	/* A directory cannot be opened either. */
	CHECK_INT(idx_open(&ix, dir, err, sizeof(err)), ES_EDB);
	CHECK(ix == NULL);
	CHECK(err[0] != '\0');

	/* A SQLite database of someone else's is refused by its application_id. */
	sqlite3 *db;
	unlink(p);
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 1", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(idx_open(&ix, p, err, sizeof(err)), ES_EFORMAT);
	CHECK(ix == NULL);
	CHECK(strstr(err, "not an earshot index") != NULL);
}

/* ---- full round trip ------------------------------------------------------- */

static struct idx_stream full_streams[2] = {
	{.party = IDX_CALLER, .ssrc = 0xDEADBEEF, .src = "10.0.0.1:4000", .dst = "10.0.0.2:5000",
	 .payload_types = "8,101", .codecs = "PCMA,telephone-event", .packets = 1500,
	 .expected = 1502, .lost = 2, .duplicates = 1, .out_of_order = 3, .jitter_max_ms = 12.5,
	 .jitter_mean_ms = 1.25, .delta_max_ms = 40.125, .first_us = 1700000002000000,
	 .last_us = 1700000032000000, .rtcp_json = "[{\"type\":\"SR\",\"lsr\":7}]"},
	{.party = -1, .ssrc = 7, .src = "[2001:db8::1]:6000", .dst = "", .payload_types = NULL,
	 .codecs = NULL, .packets = UINT64_MAX, .expected = 0, .lost = -5,
	 .first_us = 1700000003000000, .last_us = 1700000031000000, .rtcp_json = NULL},
};
static struct idx_event full_events[3] = {
	{.ts_us = 1700000010000000, .kind = "dtmf", .party = IDX_CALLER, .detail = "5 160ms"},
	{.ts_us = 1700000011000000, .kind = "hold", .party = IDX_CALLEE, .detail = NULL},
	{.ts_us = 1700000012000000, .kind = "ssrc_change", .party = -1, .detail = "0x7"},
};
static struct idx_msg full_msgs[3] = {
	{.ts_us = 1700000000000000, .frame = 1, .src = "10.0.0.1:5060", .dst = "10.0.0.2:5060",
	 .transport = "udp", .label = "INVITE", .cseq = 1, .cseq_method = "INVITE",
	 .has_sdp = true},
	{.ts_us = 1700000000500000, .frame = 2, .src = "10.0.0.1:5060", .dst = "10.0.0.2:5060",
	 .transport = "udp", .label = "INVITE", .cseq = 1, .cseq_method = "INVITE",
	 .retransmission = true, .has_sdp = true},
	{.ts_us = 1700000002000000, .frame = 4000000000ULL, .src = "10.0.0.2:5060",
	 .dst = "10.0.0.1:5060", .transport = "tcp", .label = "200 OK", .cseq = 4294967295u,
	 .cseq_method = "INVITE"},
};

static struct idx_call full_call(void)
{
	struct idx_call c = {
		.call_id = "abc-123@host",
		.caller = {.uri = "sip:j.muller@example.com", .user = "j.muller",
			   .display = "Jürgen Müller", .pai = "sip:+4930123@carrier.net",
			   .ua = "Yealink T46", .sdp_addr = "10.0.0.1:4000"},
		.callee = {.uri = "sip:+15551234@example.com", .user = "+15551234",
			   .display = NULL, .pai = NULL, .ua = "Asterisk 20",
			   .sdp_addr = NULL},
		.start_us = 1700000000000000,
		.answer_us = 1700000002000000,
		.end_us = 1700000033000000,
		.outcome = "answered",
		.sip_code = 200,
		.end_reason = "bye",
		.flags = "forked,one_way",
		.extra_json = "{\"X-Case\":\"42\"}",
		.source = "live",
		.streams = full_streams,
		.nstreams = 2,
		.events = full_events,
		.nevents = 3,
		.msgs = full_msgs,
		.nmsgs = 3,
	};
	return c;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

#define CHECK_SAME(a, b) \
	do { \
		if (!same_str((a), (b))) \
			fprintf(stderr, "  got \"%s\" want \"%s\"\n", (a) ? (a) : "(null)", \
				(b) ? (b) : "(null)"); \
		CHECK(same_str((a), (b))); \
	} while (0)

static void check_party(const struct idx_party *g, const struct idx_party *w)
{
	CHECK_SAME(g->uri, w->uri);
	CHECK_SAME(g->user, w->user);
	CHECK_SAME(g->display, w->display);
	CHECK_SAME(g->pai, w->pai);
	CHECK_SAME(g->ua, w->ua);
	CHECK_SAME(g->sdp_addr, w->sdp_addr);
}

struct want {
	const struct idx_call *c;
	int calls;
};

static int check_full(void *ud, const struct idx_call *g)
{
	struct want *wa = ud;
	const struct idx_call *w = wa->c;
	wa->calls++;
	CHECK_INT(g->id, w->id);
	CHECK_SAME(g->call_id, w->call_id);
	check_party(&g->caller, &w->caller);
	check_party(&g->callee, &w->callee);
	CHECK_INT(g->start_us, w->start_us);
	CHECK_INT(g->answer_us, w->answer_us);
	CHECK_INT(g->end_us, w->end_us);
	CHECK_SAME(g->outcome, w->outcome);
	CHECK_INT(g->sip_code, w->sip_code);
	CHECK_SAME(g->end_reason, w->end_reason);
	CHECK_SAME(g->flags, w->flags);
	CHECK_SAME(g->extra_json, w->extra_json);
	CHECK_SAME(g->source, w->source);
	CHECK_INT(g->import_id, w->import_id);
	CHECK_INT(g->nstreams, w->nstreams);
	for (unsigned i = 0; i < g->nstreams && i < w->nstreams; i++) {
		const struct idx_stream *a = &g->streams[i], *b = &w->streams[i];
		CHECK_INT(a->party, b->party);
		CHECK(a->ssrc == b->ssrc);
		CHECK_STR(a->src, b->src);
		CHECK_SAME(a->dst, b->dst);
		CHECK_SAME(a->payload_types, b->payload_types);
		CHECK_SAME(a->codecs, b->codecs);
		CHECK(a->packets == b->packets);
		CHECK(a->expected == b->expected);
		CHECK_INT(a->lost, b->lost);
		CHECK(a->duplicates == b->duplicates);
		CHECK(a->out_of_order == b->out_of_order);
		CHECK(a->jitter_max_ms == b->jitter_max_ms);
		CHECK(a->jitter_mean_ms == b->jitter_mean_ms);
		CHECK(a->delta_max_ms == b->delta_max_ms);
		CHECK_INT(a->first_us, b->first_us);
		CHECK_INT(a->last_us, b->last_us);
		CHECK_SAME(a->rtcp_json, b->rtcp_json);
	}
	CHECK_INT(g->nevents, w->nevents);
	for (unsigned i = 0; i < g->nevents && i < w->nevents; i++) {
		const struct idx_event *a = &g->events[i], *b = &w->events[i];
		CHECK_INT(a->ts_us, b->ts_us);
		CHECK_SAME(a->kind, b->kind);
		CHECK_INT(a->party, b->party);
		CHECK_SAME(a->detail, b->detail);
	}
	CHECK_INT(g->nmsgs, w->nmsgs);
	for (unsigned i = 0; i < g->nmsgs && i < w->nmsgs; i++) {
		const struct idx_msg *a = &g->msgs[i], *b = &w->msgs[i];
		CHECK_INT(a->ts_us, b->ts_us);
		CHECK(a->frame == b->frame);
		CHECK_STR(a->src, b->src);
		CHECK_STR(a->dst, b->dst);
		CHECK_SAME(a->transport, b->transport);
		CHECK_SAME(a->label, b->label);
		CHECK(a->cseq == b->cseq);
		CHECK_SAME(a->cseq_method, b->cseq_method);
		CHECK(a->retransmission == b->retransmission);
		CHECK(a->has_sdp == b->has_sdp);
	}
	return 0;
}

static int never(void *ud, const struct idx_call *c)
{
	(void)ud;
	(void)c;
	CHECK(0);
	return 0;
}

static void test_roundtrip(void)
{
	struct idx *ix = fresh();
	struct idx_import imp = {.path = "/cap/a.pcap", .file_key = "123:abcd",
				 .started_us = 1700000100000000, .status = "running"};
	CHECK_INT(idx_import_begin(ix, &imp), 0);
	CHECK(imp.id > 0);

	struct idx_call c = full_call();
	c.import_id = imp.id;
	bool dup = true;
	CHECK_INT(idx_begin(ix), 0);
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	CHECK(!dup);
	CHECK(c.id > 0);
	CHECK_INT(idx_commit(ix), 0);
	CHECK_INT(idx_call_duration_us(&c), 31 * ES_US_PER_SEC);

	struct want w = {.c = &c};
	CHECK_INT(idx_call_get(ix, c.id, check_full, &w), 0);
	CHECK_INT(w.calls, 1);
	CHECK_INT(idx_call_get(ix, c.id + 100, never, NULL), ES_ENOTFOUND);

	/* The list hands the same call with streams but no events/messages. */
	struct ids r = list(ix, (struct idx_filter){.call_id = "abc-123@host"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], c.id);
	CHECK_INT(r.streams[0], 2);

	imp.finished_us = 1700000200000000;
	imp.frames = 12345;
	imp.calls_new = 1;
	imp.calls_dup = 0;
	imp.streams = 2;
	imp.status = "done";
	imp.summary_json = "{\"ok\":true}";
	CHECK_INT(idx_import_finish(ix, &imp), 0);
	struct idx_import bad = imp;
	bad.id = imp.id + 50;
	CHECK_INT(idx_import_finish(ix, &bad), ES_ENOTFOUND);
	idx_close(ix);

	char buf[256];
	sql_text("SELECT path || '|' || file_key || '|' || started_us || '|' || finished_us || '|'"
		 " || frames || '|' || calls_new || '|' || calls_dup || '|' || streams || '|' ||"
		 " status || '|' || summary_json FROM imports",
		 buf, sizeof(buf));
	CHECK_STR(buf, "/cap/a.pcap|123:abcd|1700000100000000|1700000200000000|12345|1|0|2|done|"
		       "{\"ok\":true}");
	sql_text("SELECT import_id FROM calls", buf, sizeof(buf));
	CHECK_INT(atoll(buf), imp.id);
}

/* A call with more children than one multi-row INSERT takes (write.c,
 * 32 rows a statement): every row back, in order, on both engines. */
static void test_many_children(void)
{
	struct idx *ix = fresh();
	static struct idx_stream ss[33];
	static struct idx_event ev[65];
	static struct idx_msg ms[70];
	static char labels[70][16];
	for (unsigned i = 0; i < ES_ARRAY_LEN(ss); i++)
		ss[i] = (struct idx_stream){.party = (int)(i % 2), .ssrc = 1000 + i,
					    .src = "10.0.0.1:4000", .packets = i};
	for (unsigned i = 0; i < ES_ARRAY_LEN(ev); i++)
		ev[i] = (struct idx_event){.ts_us = 10 * i, .kind = "dtmf", .party = -1};
	for (unsigned i = 0; i < ES_ARRAY_LEN(ms); i++) {
		snprintf(labels[i], sizeof(labels[i]), "INFO %u", i);
		ms[i] = (struct idx_msg){.ts_us = i, .frame = i + 1, .src = "10.0.0.1:5060",
					 .dst = "10.0.0.2:5060", .transport = "udp",
					 .label = labels[i], .cseq = i};
	}
	struct idx_call c = full_call();
	c.streams = ss;
	c.nstreams = ES_ARRAY_LEN(ss);
	c.events = ev;
	c.nevents = ES_ARRAY_LEN(ev);
	c.msgs = ms;
	c.nmsgs = ES_ARRAY_LEN(ms);
	bool dup;
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	struct want w = {.c = &c};
	CHECK_INT(idx_call_get(ix, c.id, check_full, &w), 0);
	CHECK_INT(w.calls, 1);
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 1);
	idx_close(ix);
}

static void test_duplicates(void)
{
	struct idx *ix = fresh();
	struct idx_call c = full_call();
	bool dup = true;
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0); /* outside a transaction */
	CHECK(!dup);
	int64_t first = c.id;

	struct idx_call again = full_call();
	again.outcome = "busy"; /* ignored: the stored call stays */
	again.nstreams = 1;
	CHECK_INT(idx_begin(ix), 0);
	CHECK_INT(idx_call_insert(ix, &again, &dup), 0);
	CHECK(dup);
	CHECK_INT(again.id, first);
	CHECK_INT(idx_commit(ix), 0);
	CHECK_INT(idx_call_insert(ix, &again, NULL), 0); /* NULL flag allowed */

	/* Same Call-ID but another start: a different call. */
	struct idx_call other = full_call();
	other.start_us += 1;
	CHECK_INT(idx_call_insert(ix, &other, &dup), 0);
	CHECK(!dup);
	CHECK(other.id != first);

	int64_t n;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 2);
	c.id = first;
	struct want w = {.c = &c};
	CHECK_INT(idx_call_get(ix, first, check_full, &w), 0);

	/* Rolled back inserts leave nothing. */
	CHECK_INT(idx_begin(ix), 0);
	insert(ix, simple("rb@x", "r", "b", 5, 0));
	CHECK_INT(idx_rollback(ix), 0);
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(idx_rollback(ix), 0); /* nothing open: harmless */
	CHECK_INT(idx_commit(ix), ES_EDB);
	CHECK(strstr(idx_errmsg(ix), dbpath) != NULL);

	/* A call without Call-ID is refused. */
	struct idx_call bad = simple(NULL, "x", "y", 9, 0);
	CHECK_INT(idx_call_insert(ix, &bad, &dup), ES_EINVAL);

	/* A failing child (duplicate role is impossible; use a foreign key
	 * to a missing import) rolls the whole call back. */
	struct idx_call orphan = simple("fk@x", "x", "y", 10, 0);
	orphan.import_id = 999;
	CHECK_INT(idx_call_insert(ix, &orphan, &dup), ES_EDB);
	CHECK(!dup);
	CHECK_INT(orphan.id, 0);
	CHECK(strcasestr(idx_errmsg(ix), "FOREIGN KEY") != NULL);
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 2);
	idx_close(ix);
	char buf[32];
	sql_text("SELECT count(*) FROM parties", buf, sizeof(buf));
	CHECK_STR(buf, "4");
	sql_text("SELECT count(*) FROM streams", buf, sizeof(buf));
	CHECK_STR(buf, "4");
}

/* ---- filters ------------------------------------------------------------------ */

static void test_filters(void)
{
	struct idx *ix = fresh();
	CHECK_INT(idx_begin(ix), 0);
	int64_t a = insert(ix, simple("1@x", "alice", "bob", 1000, 60));
	int64_t b = insert(ix, simple("2@x", "bob", "carol", 2000, 0));
	struct idx_call cc = simple("3@x", "dave", "erin", 3000, 5);
	cc.caller.display = "100%_Off Sale";
	int64_t c = insert(ix, cc);
	struct idx_call cd = simple("4@x", "frank", "grace", 4000, 600);
	cd.callee.display = "Jürgen Müller";
	cd.callee.pai = "sip:+4930555@carrier.net";
	int64_t d = insert(ix, cd);
	struct idx_call ce = simple("5@x", "back\\slash", "a_b", 5000, 0);
	ce.outcome = "cancelled";
	int64_t e = insert(ix, ce);
	struct idx_call cf = simple("6@x", "100x_Off", "axb", 6000, 0);
	int64_t f = insert(ix, cf);
	CHECK_INT(idx_commit(ix), 0);

	struct ids r = list(ix, (struct idx_filter){0});
	CHECK_INT(r.n, 6);
	CHECK_INT(r.id[0], a);
	CHECK_INT(r.id[5], f);

	/* party: case-insensitive over uri/user/display/pai */
	r = list(ix, (struct idx_filter){.party = "ALICE"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], a);
	r = list(ix, (struct idx_filter){.party = "bob"});
	CHECK_INT(r.n, 2);
	r = list(ix, (struct idx_filter){.party = "example.COM"});
	CHECK_INT(r.n, 6);
	r = list(ix, (struct idx_filter){.party = "+4930555"}); /* PAI only */
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], d);
	r = list(ix, (struct idx_filter){.party = "off sale"}); /* display only */
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], c);

	/* % and _ are literal: "100%_" matches only the display with them */
	r = list(ix, (struct idx_filter){.party = "100%_off"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], c);
	r = list(ix, (struct idx_filter){.party = "%"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], c);
	r = list(ix, (struct idx_filter){.party = "a_b"}); /* not "axb" */
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], e);
	r = list(ix, (struct idx_filter){.party = "_"});
	CHECK_INT(r.n, 3); /* c (display), e (a_b), f (100x_Off) */
	r = list(ix, (struct idx_filter){.party = "k\\s"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], e);
	r = list(ix, (struct idx_filter){.party = "\\"});
	CHECK_INT(r.n, 1);
	r = list(ix, (struct idx_filter){.party = "' OR 1=1 --"});
	CHECK_INT(r.n, 0);

	/* unicode display names (LIKE folds ASCII case only) */
	r = list(ix, (struct idx_filter){.party = "ürgen M"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], d);
	r = list(ix, (struct idx_filter){.party = "JÜRGEN"});
	CHECK_INT(r.n, pg_mode ? 1 : 0); /* PostgreSQL's ILIKE folds Unicode case */
	r = list(ix, (struct idx_filter){.party = "jürgen müller"});
	CHECK_INT(r.n, 1);

	/* time range: [from, to) */
	r = list(ix, (struct idx_filter){.from_us = 2000 * ES_US_PER_SEC,
					 .to_us = 4000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], b);
	CHECK_INT(r.id[1], c);
	r = list(ix, (struct idx_filter){.from_us = 5000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	r = list(ix, (struct idx_filter){.to_us = 1000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 0);

	/* outcome */
	r = list(ix, (struct idx_filter){.outcome = "answered"});
	CHECK_INT(r.n, 3);
	r = list(ix, (struct idx_filter){.outcome = "cancelled"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], e);
	r = list(ix, (struct idx_filter){.outcome = "answered%"});
	CHECK_INT(r.n, 0);

	/* minimum answered duration */
	r = list(ix, (struct idx_filter){.min_duration_us = 60 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], a);
	CHECK_INT(r.id[1], d);
	r = list(ix, (struct idx_filter){.min_duration_us = 1});
	CHECK_INT(r.n, 3);

	/* call_id, exact */
	r = list(ix, (struct idx_filter){.call_id = "4@x"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], d);
	r = list(ix, (struct idx_filter){.call_id = "4@"});
	CHECK_INT(r.n, 0);

	/* combined, and limit */
	r = list(ix, (struct idx_filter){.party = "bob", .outcome = "busy"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], b);
	r = list(ix, (struct idx_filter){.limit = 2});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[1], b);
	CHECK_INT(idx_calls_list(ix, NULL, collect, &r), 0);

	/* the callback's non-zero stops the walk and is returned */
	struct ids s = {.stop_after = 2};
	struct idx_filter all = {0};
	CHECK_INT(idx_calls_list(ix, &all, collect, &s), 42);
	CHECK_INT(s.n, 2);
	idx_close(ix);
}

/* The callback may use the index itself (rows are copies). */
struct nested {
	struct idx *ix;
	int gets;
};

static int count_get(void *ud, const struct idx_call *c)
{
	(void)c;
	((struct nested *)ud)->gets++;
	return 0;
}

static int nested_row(void *ud, const struct idx_call *c)
{
	struct nested *n = ud;
	CHECK_INT(idx_call_get(n->ix, c->id, count_get, n), 0);
	return 0;
}

static void test_pagination(void)
{
	struct idx *ix = fresh();
	/* Insert in an order where ids do not follow start times. */
	CHECK_INT(idx_begin(ix), 0);
	static char cid[25][16];
	for (int i = 0; i < 25; i++) {
		int k = (i * 7) % 25;
		snprintf(cid[i], sizeof(cid[i]), "p%02d@x", k);
		struct idx_call c = simple(cid[i], "pager", "peer", 10000 + k * 10, k % 3 ? 30 : 0);
		insert(ix, c);
	}
	/* Two calls with the same start: the id breaks the tie. */
	insert(ix, simple("tie1@x", "pager", "peer", 10000 + 12 * 10, 0));
	CHECK_INT(idx_commit(ix), 0);

	struct ids all = list(ix, (struct idx_filter){.party = "pager"});
	CHECK_INT(all.n, 26);
	struct ids pages = {0};
	int64_t after = 0;
	int npages = 0;
	for (;;) {
		struct ids p = list(ix, (struct idx_filter){.party = "pager", .limit = 10,
							    .after_id = after});
		if (!p.n)
			break;
		CHECK(p.n <= 10);
		for (unsigned i = 0; i < p.n; i++)
			pages.id[pages.n++] = p.id[i];
		after = p.id[p.n - 1];
		if (++npages > 10)
			break;
	}
	CHECK_INT(npages, 3);
	CHECK_INT(pages.n, all.n);
	for (unsigned i = 0; i < all.n && i < pages.n; i++)
		CHECK_INT(pages.id[i], all.id[i]);

	/* with a filter on top */
	struct ids ans = list(ix, (struct idx_filter){.outcome = "answered"});
	struct ids p1 = list(ix, (struct idx_filter){.outcome = "answered", .limit = 5});
	struct ids p2 = list(ix, (struct idx_filter){.outcome = "answered", .limit = 100,
						     .after_id = p1.id[4]});
	CHECK_INT(p1.n + p2.n, ans.n);
	CHECK_INT(p2.id[0], ans.id[5]);

	/* a cursor to a deleted call falls back to id order */
	sqlite3 *db;
	if (pg_mode) {
		char none[8];
		pgh_text(dbpath, "DELETE FROM calls WHERE id = 24", none, sizeof(none));
	} else {
		CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM calls WHERE id = 24",
				       NULL, NULL, NULL),
			  SQLITE_OK);
		sqlite3_close(db);
	}
	struct ids gone = list(ix, (struct idx_filter){.after_id = 24});
	CHECK_INT(gone.n, 2);

	struct nested n = {.ix = ix};
	struct idx_filter f = {.limit = 5};
	CHECK_INT(idx_calls_list(ix, &f, nested_row, &n), 0);
	CHECK_INT(n.gets, 5);
	idx_close(ix);
}

/* ---- recordings ------------------------------------------------------------ */

static int get_rec(void *ud, const struct idx_call *c)
{
	struct idx_recording *out = ud;
	CHECK(c->recording != NULL);
	if (!c->recording)
		return 1;
	*out = *c->recording;
	/* the strings die with the callback: keep the checks here */
	CHECK_STR(c->recording->path, "recordings/2026/01/15/1.opus");
	CHECK_STR(c->recording->format, "opus");
	CHECK_STR(c->recording->sha256, "ab01");
	CHECK_STR(c->recording->codecs, "PCMA,G722");
	CHECK_STR(c->recording->flags, "one_sided");
	CHECK_STR(c->recording->plain_sha256, "cd02");
	CHECK(c->recording->encrypted);
	return 0;
}

static int no_rec(void *ud, const struct idx_call *c)
{
	(void)ud;
	CHECK(c->recording == NULL);
	return 0;
}

static void test_recordings(void)
{
	struct idx *ix = fresh();
	int64_t a = insert(ix, simple("r1@x", "alice", "bob", 5000, 30));
	int64_t b = insert(ix, simple("r2@x", "carol", "dave", 6000, 0));
	struct idx_recording r = {
		.call_row = a, .path = "recordings/2026/01/15/1.opus", .format = "opus",
		.bytes = 12345, .sha256 = "ab01", .start_us = 5002 * ES_US_PER_SEC,
		.duration_us = 30 * ES_US_PER_SEC, .rate = 16000, .channels = 2,
		.codecs = "PCMA,G722", .flags = "one_sided", .stats_json = "{}", .created_us = 9,
		.plain_sha256 = "cd02", .encrypted = true,
	};
	CHECK_INT(idx_recording_insert(ix, &r), 0);
	CHECK_INT(idx_recording_insert(ix, &r), ES_EEXIST);
	CHECK(strstr(idx_errmsg(ix), "already has a recording") != NULL);
	struct idx_recording got = {0};
	CHECK_INT(idx_call_get(ix, a, get_rec, &got), 0);
	CHECK_INT(got.bytes, 12345);
	CHECK_INT(got.duration_us, 30 * ES_US_PER_SEC);
	CHECK_INT(got.rate, 16000);
	CHECK_INT(got.channels, 2);
	CHECK_INT(got.start_us, 5002 * ES_US_PER_SEC);
	CHECK_INT(idx_call_get(ix, b, no_rec, NULL), 0);
	/* the list carries it too */
	struct idx_filter f = {.call_id = "r1@x"};
	CHECK_INT(idx_calls_list(ix, &f, get_rec, &got), 0);
	int64_t row = 0;
	CHECK_INT(idx_call_find(ix, "r2@x", 6000 * ES_US_PER_SEC, &row), 0);
	CHECK_INT(row, b);
	CHECK_INT(idx_call_find(ix, "r2@x", 1, &row), ES_ENOTFOUND);
	idx_close(ix);
}

/* Back from the quality migration (v10) to v9. */
#define QUALITY_UNDO \
	"DROP INDEX calls_mos; ALTER TABLE streams DROP COLUMN quality_json;" \
	" ALTER TABLE calls DROP COLUMN mos; ALTER TABLE calls DROP COLUMN mos_min;" \
	" ALTER TABLE calls DROP COLUMN loss_pct; ALTER TABLE calls DROP COLUMN jitter_ms; "
/* Back from the consent migration (the newest when written) to v9. */
#define CONSENT_UNDO \
	"DROP INDEX calls_consent; ALTER TABLE calls DROP COLUMN consent_caller;" \
	" ALTER TABLE calls DROP COLUMN consent_callee;" \
	" ALTER TABLE calls DROP COLUMN consent_json; "
/* Back from the subject/clock migration (IDX_MIG_SUBJECT) to v9. */
#define SUBJECT_UNDO "ALTER TABLE calls DROP COLUMN clock; "
/* Back from the talk metrics' migration (IDX_MIG_TALK). */
#define TALK_UNDO \
	"ALTER TABLE calls DROP COLUMN talk_json; ALTER TABLE calls DROP COLUMN talk_ratio;" \
	" ALTER TABLE calls DROP COLUMN overtalk_ms; ALTER TABLE calls DROP COLUMN dead_air_ms; "
/* The step of the migration named name (tests find them by name: the lead
 * renumbers at merge). */
static unsigned mig_step(const char *name)
{
	for (unsigned i = 0; i < idx_nmigrations; i++)
		if (!strcmp(idx_migrations[i].name, name))
			return i;
	CHECK(!"no such migration");
	return 0;
}

/* Back from the audio checks' migration (IDX_MIG_CHECKS). */
#define CHECKS_UNDO "ALTER TABLE calls DROP COLUMN checks_json; "
/* Back from the saved searches' migration (IDX_MIG_SEARCHES). */
#define SEARCHES_UNDO "DROP TABLE saved_searches; "
/* Back from the nodes' migration (IDX_MIG_NODES). */
#define NODES_UNDO \
	"DROP INDEX calls_node; ALTER TABLE calls DROP COLUMN node; DROP TABLE nodes; "
/* Back from the transcripts' migration (IDX_MIG_TRANSCRIPT). */
#define TRANSCRIPT_UNDO \
	"DROP TRIGGER transcripts_ai; DROP TRIGGER transcripts_ad; DROP TRIGGER transcripts_au;" \
	" DROP TABLE transcript_text; DROP TABLE transcripts; DROP TABLE transcribe_jobs; "
/* Back from the teams' and QA migration (IDX_MIG_QA). */
#define QA_UNDO \
	"DROP TABLE qa_answers; DROP TABLE qa_evaluations; DROP TABLE qa_forms;" \
	" DROP TABLE user_scopes; DROP TABLE team_members; DROP TABLE teams; "
/* Back from the speech findings' migration (IDX_MIG_SPEECH). */
#define SPEECH_UNDO \
	"DROP TABLE keyword_hits; ALTER TABLE calls DROP COLUMN sentiment;" \
	" ALTER TABLE calls DROP COLUMN speech_json; "
/* Back from the party text's migration (IDX_MIG_PARTY_TEXT): PostgreSQL
 * only, nothing on SQLite. */
#define PARTY_TEXT_UNDO ""
#define MFA_UNDO "DROP TABLE login_pending; DROP TABLE user_recovery; DROP TABLE user_totp; "
/* Back from the bookmarks' migration (IDX_MIG_BOOKMARKS). */
#define BOOKMARKS_UNDO "DROP TABLE call_clips; DROP TABLE call_bookmarks; "
#define TR_CLAIM_UNDO "ALTER TABLE transcribe_jobs DROP COLUMN claimed_by; "
/* Back from the blind transcript index (IDX_MIG_TR_BLIND): the plain text
 * columns and IDX_MIG_TRANSCRIPT's FTS5 table with its triggers. */
#define TR_BLIND_UNDO \
	"DROP TABLE tr_search_key; DROP TRIGGER transcripts_ad; DROP TABLE transcript_text;" \
	" DROP INDEX transcripts_fts_key; ALTER TABLE transcripts DROP COLUMN fts_key;" \
	" ALTER TABLE transcripts ADD COLUMN times TEXT NOT NULL DEFAULT '';" \
	" ALTER TABLE transcripts ADD COLUMN text TEXT NOT NULL DEFAULT '';" \
	" CREATE VIRTUAL TABLE transcript_text USING fts5(text, content = 'transcripts'," \
	" content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');" \
	" CREATE TRIGGER transcripts_ai AFTER INSERT ON transcripts BEGIN" \
	" INSERT INTO transcript_text (rowid, text) VALUES (NEW.id, NEW.text); END;" \
	" CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN" \
	" INSERT INTO transcript_text (transcript_text, rowid, text)" \
	" VALUES ('delete', OLD.id, OLD.text); END;" \
	" CREATE TRIGGER transcripts_au AFTER UPDATE ON transcripts BEGIN" \
	" INSERT INTO transcript_text (transcript_text, rowid, text)" \
	" VALUES ('delete', OLD.id, OLD.text);" \
	" INSERT INTO transcript_text (rowid, text) VALUES (NEW.id, NEW.text); END; "
/* Back from the search indexes' migration (IDX_MIG_SEARCH_FAST). */
#define SEARCH_FAST_UNDO \
	"DROP INDEX call_tags_time; DROP TRIGGER call_tags_start;" \
	" ALTER TABLE call_tags DROP COLUMN start_us;" \
	" CREATE INDEX call_tags_tag ON call_tags(tag, call_row); "
/* Back from the shared data keys' migration (IDX_MIG_SHARED_KEYS). */
#define SHARED_KEYS_UNDO "DROP TABLE rec_keys; ALTER TABLE nodes DROP COLUMN blobs; "
/* Back from the contentless blind index (IDX_MIG_TR_COMPACT): FTS5 with its
 * own copy again, each entry's distinct tokens (no positions: words only). */
#define TR_COMPACT_UNDO \
	"CREATE VIRTUAL TABLE tr_old USING fts5(tokens, tokenize = 'ascii');" \
	" INSERT INTO tr_old (rowid, tokens) SELECT t.fts_key, (SELECT group_concat(v.token, ' ')" \
	" FROM json_each(t.fts_ids) j JOIN tr_vocab v ON v.id = j.value) FROM transcripts t" \
	" WHERE t.fts_key IS NOT NULL;" \
	" DROP TRIGGER transcripts_au; DROP TRIGGER transcripts_ad; DROP TABLE transcript_text;" \
	" ALTER TABLE tr_old RENAME TO transcript_text;" \
	" CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN" \
	" DELETE FROM transcript_text WHERE rowid = OLD.fts_key; END;" \
	" ALTER TABLE transcripts DROP COLUMN fts_ids; DROP TABLE tr_vocab; "
#define AFTER_V9_UNDO TR_COMPACT_UNDO SHARED_KEYS_UNDO SEARCH_FAST_UNDO TR_BLIND_UNDO TR_CLAIM_UNDO BOOKMARKS_UNDO MFA_UNDO PARTY_TEXT_UNDO SPEECH_UNDO QA_UNDO TRANSCRIPT_UNDO NODES_UNDO CHECKS_UNDO SEARCHES_UNDO TALK_UNDO QUALITY_UNDO SUBJECT_UNDO REDACT_UNDO CONSENT_UNDO
/* The undo of each migration after v9, by the migration's name: branches
 * append their migrations independently and the lead orders them at merge,
 * so a test rewinds by name, never by number. */
static const struct {
	const char *name, *undo;
} mig_undo[] = {
	{IDX_MIGRATION_CONSENT, CONSENT_UNDO},
	{IDX_REDACTIONS_MIGRATION, REDACT_UNDO},
	{IDX_MIG_SUBJECT, SUBJECT_UNDO},
	{"network quality per stream and call", QUALITY_UNDO},
	{IDX_MIG_TALK, TALK_UNDO},
	{IDX_MIG_SEARCHES, SEARCHES_UNDO},
	{IDX_MIG_CHECKS, CHECKS_UNDO},
	{IDX_MIG_NODES, NODES_UNDO},
	{IDX_MIG_TRANSCRIPT, TRANSCRIPT_UNDO},
	{IDX_MIG_QA, QA_UNDO},
	{IDX_MIG_SPEECH, SPEECH_UNDO},
	{IDX_MIG_PARTY_TEXT, PARTY_TEXT_UNDO},
	{IDX_MIG_MFA, MFA_UNDO},
	{IDX_MIG_BOOKMARKS, BOOKMARKS_UNDO},
	{IDX_MIG_TR_CLAIM, TR_CLAIM_UNDO},
	{IDX_MIG_TR_BLIND, TR_BLIND_UNDO},
	{IDX_MIG_SEARCH_FAST, SEARCH_FAST_UNDO},
	{IDX_MIG_SHARED_KEYS, SHARED_KEYS_UNDO},
	{IDX_MIG_TR_COMPACT, TR_COMPACT_UNDO},
};

/* Take the index at dbpath back to just before migration name: every later
 * step is undone, newest first, and user_version says so. */
static void rewind_before(const char *name)
{
	unsigned to = mig_step(name);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	for (unsigned i = idx_nmigrations; i-- > to;) {
		const char *undo = NULL;
		for (size_t k = 0; k < ES_ARRAY_LEN(mig_undo); k++)
			if (!strcmp(mig_undo[k].name, idx_migrations[i].name))
				undo = mig_undo[k].undo;
		if (!undo) {
			fprintf(stderr, "no undo for migration '%s'\n", idx_migrations[i].name);
			CHECK(!"every migration after v9 has its undo in mig_undo");
			break;
		}
		CHECK_INT(sqlite3_exec(db, undo, NULL, NULL, NULL), SQLITE_OK);
	}
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", to);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}
/* Back from schema v8 to v7: the token columns v8 added. */
#define V9_UNDO AFTER_V9_UNDO \
	"DROP INDEX recordings_retain; DROP TABLE hold_calls; DROP TABLE holds;" \
	" ALTER TABLE recordings DROP COLUMN retention;" \
	" ALTER TABLE recordings DROP COLUMN keep_until_us;" \
	" ALTER TABLE recordings DROP COLUMN retain_until_us; "
#define V8_UNDO V9_UNDO \
	"ALTER TABLE api_tokens DROP COLUMN expires_us;" \
	" ALTER TABLE api_tokens DROP COLUMN revoked_us;" \
	" ALTER TABLE api_tokens DROP COLUMN revoked_why; "

/* A v7 index with users and tokens is migrated: the columns are there with
 * their defaults, and the live tokens of a disabled user are revoked (an
 * enable would have brought them back; issue #13, finding 5). */
static void test_migrate_v7(void)
{
	struct idx *ix = fresh();
	struct idx_user on = {.role = "agent", .pwhash = "x"}, off = on;
	snprintf(on.name, sizeof(on.name), "on");
	snprintf(off.name, sizeof(off.name), "off");
	off.disabled = true;
	CHECK_INT(idx_user_insert(ix, &on), 0);
	CHECK_INT(idx_user_insert(ix, &off), 0);
	struct idx_token t1 = {.user_id = on.id, .hash = "h1", .created_us = 5};
	struct idx_token t2 = {.user_id = off.id, .hash = "h2", .created_us = 5};
	struct idx_token t3 = {.user_id = off.id, .hash = "h3", .created_us = 5, .revoked = true};
	CHECK_INT(idx_token_insert(ix, &t1), 0);
	CHECK_INT(idx_token_insert(ix, &t2), 0);
	CHECK_INT(idx_token_insert(ix, &t3), 0);
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, V8_UNDO "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	struct idx_token t;
	CHECK_INT(idx_token_get(ix, t1.id, &t), 0);
	CHECK(!t.revoked && !t.expires_us && !t.revoked_us && !t.revoked_why[0]);
	CHECK_INT(idx_token_get(ix, t2.id, &t), 0);
	CHECK(t.revoked && !strcmp(t.revoked_why, "user disabled"));
	CHECK_INT(idx_token_get(ix, t3.id, &t), 0);
	CHECK(t.revoked && !t.revoked_why[0]); /* revoked before: left as it was */
	/* a second revoke keeps the first time and reason */
	CHECK_INT(idx_token_revoke(ix, t1.id, 100, "first"), 0);
	CHECK_INT(idx_token_revoke(ix, t1.id, 200, "second"), 0);
	CHECK_INT(idx_token_get(ix, t1.id, &t), 0);
	CHECK(t.revoked && t.revoked_us == 100 && !strcmp(t.revoked_why, "first"));
	CHECK_INT(idx_token_revoke(ix, 999, 200, "x"), ES_ENOTFOUND);
	idx_close(ix);
}

static int take_quality(void *ud, const struct idx_call *c)
{
	struct idx_call_quality *q = ud;
	*q = c->quality;
	if (c->nstreams && c->streams[0].quality_json)
		CHECK(strstr(c->streams[0].quality_json, "\"mos\":4.10") != NULL);
	return 0;
}

/* A v9 index (calls without quality) is migrated: old calls have none and
 * never match a quality filter; new calls store and return theirs; the
 * filters and sorts of `earshot calls --max-mos --min-loss --sort`. */
/* The row's strings live until the callback returns: the JSON is copied. */
static char talk_json_copy[256];
static int take_talk(void *ud, const struct idx_call *c)
{
	struct idx_call_talk *t = ud;
	*t = c->talk;
	if (c->talk.json) {
		snprintf(talk_json_copy, sizeof(talk_json_copy), "%s", c->talk.json);
		t->json = talk_json_copy;
	}
	return 0;
}

/* An index from before IDX_MIG_TALK is upgraded; its calls have no talk
 * metrics and match no talk filter; stored figures are read back and
 * searched. */
static void test_migrate_talk(void)
{
	struct idx *ix = fresh();
	int64_t old = insert(ix, simple("t0@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	rewind_before(IDX_MIG_TALK);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_STR(idx_migrations[mig_step(IDX_MIG_TALK)].name, IDX_MIG_TALK);
	struct idx_call_talk t = {.json = "x"};
	CHECK_INT(idx_call_get(ix, old, take_talk, &t), 0);
	CHECK(t.json == NULL);
	CHECK(t.ratio < 0);

	int64_t a = insert(ix, simple("t1@x", "alice", "bob", 1100, 10));
	int64_t b = insert(ix, simple("t2@x", "alice", "bob", 1200, 10));
	int64_t q = insert(ix, simple("t3@x", "alice", "bob", 1300, 10));
	struct idx_call_talk ta = {"{\"talk_ratio\":0.2}", 0.2, 3000, 500};
	struct idx_call_talk tb = {"{\"talk_ratio\":0.7}", 0.7, 200, 9000};
	struct idx_call_talk tq = {"{\"talk_ratio\":null}", -1, 0, 10000};
	CHECK_INT(idx_call_set_talk(ix, a, &ta), 0);
	CHECK_INT(idx_call_set_talk(ix, b, &tb), 0);
	CHECK_INT(idx_call_set_talk(ix, q, &tq), 0);
	CHECK_INT(idx_call_set_talk(ix, 999999, &ta), ES_ENOTFOUND);
	memset(&t, 0, sizeof(t));
	CHECK_INT(idx_call_get(ix, a, take_talk, &t), 0);
	CHECK_STR(t.json, "{\"talk_ratio\":0.2}");
	CHECK(fabs(t.ratio - 0.2) < 1e-9);
	CHECK_INT(t.overtalk_ms, 3000);
	CHECK_INT(t.dead_air_ms, 500);
	CHECK_INT(idx_call_get(ix, q, take_talk, &t), 0);
	CHECK(t.ratio < 0);

	struct ids r = list(ix, (struct idx_filter){.min_overtalk_ms = 1000});
	CHECK(r.n == 1 && r.id[0] == a);
	r = list(ix, (struct idx_filter){.min_dead_air_ms = 5000});
	CHECK(r.n == 2 && r.id[0] == b && r.id[1] == q);
	r = list(ix, (struct idx_filter){.talk_ratio_set = true, .max_talk_ratio = 0.5});
	CHECK(r.n == 1 && r.id[0] == a);
	r = list(ix, (struct idx_filter){.talk_ratio_set = true, .max_talk_ratio = 0});
	CHECK_INT(r.n, 0);
	idx_close(ix);
}

static char checks_copy[256];
static int take_checks(void *ud, const struct idx_call *c)
{
	const char **out = ud;
	*out = NULL;
	if (c->checks_json) {
		snprintf(checks_copy, sizeof(checks_copy), "%s", c->checks_json);
		*out = checks_copy;
	}
	return 0;
}

/* An index from before IDX_MIG_CHECKS is upgraded: its calls have no audio
 * checks; stored ones are read back. */
static void test_migrate_checks(void)
{
	struct idx *ix = fresh();
	int64_t old = insert(ix, simple("k0@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	rewind_before(IDX_MIG_CHECKS);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_STR(idx_migrations[mig_step(IDX_MIG_CHECKS)].name, IDX_MIG_CHECKS);
	const char *j = "x";
	CHECK_INT(idx_call_get(ix, old, take_checks, &j), 0);
	CHECK(j == NULL);
	CHECK_INT(idx_call_set_checks(ix, old, "{\"flags\":\"dead_air\"}"), 0);
	CHECK_INT(idx_call_get(ix, old, take_checks, &j), 0);
	CHECK_STR(j, "{\"flags\":\"dead_air\"}");
	CHECK_INT(idx_call_set_checks(ix, 999999, "{}"), ES_ENOTFOUND);
	idx_close(ix);
}

static int take_node(void *ud, const struct idx_call *c)
{
	snprintf(ud, IDX_NODE_MAX, "%s", c->node ? c->node : "(null)");
	return 0;
}

/* An index from before IDX_MIG_NODES: its calls have no node (and so
 * belong to every node's ledger check), new ones keep theirs. */
static void test_migrate_nodes(void)
{
	struct idx *ix = fresh();
	int64_t old = insert(ix, simple("n0@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	rewind_before(IDX_MIG_NODES);
	char err[256], node[IDX_NODE_MAX];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_INT(idx_call_get(ix, old, take_node, node), 0);
	CHECK_STR(node, "(null)");
	CHECK_INT(idx_set_node(ix, "rec-1"), 0);
	int64_t neu = insert(ix, simple("n1@x", "alice", "bob", 1100, 10));
	CHECK_INT(idx_call_get(ix, neu, take_node, node), 0);
	CHECK_STR(node, "rec-1");
	CHECK_INT(idx_node_head_set(ix, "rec-1", "/l", "earshot-head 1 1 x", 1, 5), 0);
	idx_close(ix);
}

static void test_migrate_quality(void)
{
	struct idx *ix = fresh();
	int64_t old = insert(ix, simple("q0@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, AFTER_V9_UNDO "PRAGMA user_version = 9", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	struct idx_call_quality q = {.set = true};
	CHECK_INT(idx_call_get(ix, old, take_quality, &q), 0);
	CHECK(!q.set);

	struct idx_stream s = {.party = 0, .ssrc = 1, .quality_json = "{\"mos\":4.10}"};
	struct idx_call good = simple("q1@x", "alice", "bob", 1100, 10);
	good.quality = (struct idx_call_quality){true, 4.10, 3.9, 0.5, 2.0};
	good.streams = &s;
	good.nstreams = 1;
	struct idx_call bad = simple("q2@x", "alice", "bob", 1200, 10);
	bad.quality = (struct idx_call_quality){true, 3.20, 2.5, 6.0, 40.0};
	struct idx_call mid = simple("q3@x", "alice", "bob", 1300, 10);
	mid.quality = (struct idx_call_quality){true, 3.60, 3.0, 2.5, 80.0};
	int64_t g = insert(ix, good), b = insert(ix, bad), m = insert(ix, mid);
	memset(&q, 0, sizeof(q));
	CHECK_INT(idx_call_get(ix, g, take_quality, &q), 0);
	CHECK(q.set && q.mos == 4.10 && q.mos_min == 3.9 && q.loss_pct == 0.5 && q.jitter_ms == 2.0);

	struct ids r = list(ix, (struct idx_filter){.max_mos = 3.5});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], b);
	r = list(ix, (struct idx_filter){.min_loss = 2});
	CHECK_INT(r.n, 2);
	r = list(ix, (struct idx_filter){.max_mos = 3.7, .min_loss = 2, .sort = IDX_SORT_MOS});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], b);
	CHECK_INT(r.id[1], m);
	r = list(ix, (struct idx_filter){.sort = IDX_SORT_MOS});
	CHECK_INT(r.n, 4);
	CHECK(r.id[0] == b && r.id[1] == m && r.id[2] == g && r.id[3] == old);
	r = list(ix, (struct idx_filter){.sort = IDX_SORT_JITTER});
	CHECK(r.id[0] == m && r.id[1] == b && r.id[2] == g);
	r = list(ix, (struct idx_filter){.sort = IDX_SORT_LOSS});
	CHECK(r.id[0] == b && r.id[1] == m && r.id[2] == g);
	struct idx_filter paged = {.sort = IDX_SORT_MOS, .after_id = b};
	CHECK_INT(idx_calls_list(ix, &paged, collect, &r), ES_EINVAL);
	idx_close(ix);
}

static int take_ret(void *ud, const struct idx_ret_rec *r)
{
	struct idx_ret_rec *out = ud;
	out->call_row = r->call_row;
	out->retain_until_us = r->retain_until_us;
	out->keep_until_us = r->keep_until_us;
	out->retention = r->retention ? "set" : NULL;
	return 0;
}

static int count_hold(void *ud, const struct idx_hold *h)
{
	*(int64_t *)ud += h->ncalls;
	return 0;
}

/* A v8 index with a recording is migrated to v9: the recording has no
 * policy yet (retention assigns it on its first run), holds work, and a
 * call in two holds stays held until both are released. */
static void test_migrate_v8(void)
{
	struct idx *ix = fresh();
	int64_t row = insert(ix, simple("r9@x", "alice", "bob", 1000, 10));
	struct idx_recording rec = {.call_row = row, .path = "recordings/r9.opus", .format = "opus",
				    .bytes = 100, .sha256 = "00"};
	CHECK_INT(idx_recording_insert(ix, &rec), 0);
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, V9_UNDO "PRAGMA user_version = 8", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[256], name[IDX_HOLD_NAME_MAX + 1];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	struct idx_ret_rec r = {0};
	CHECK_INT(idx_retention_list(ix, IDX_RET_UNASSIGNED, 0, take_ret, &r), 0);
	CHECK(r.call_row == row && !r.retention && !r.retain_until_us);
	CHECK_INT(idx_retention_set(ix, row, "short", 50, 100), 0);
	CHECK_INT(idx_retention_set(ix, 999, "short", 50, 100), ES_ENOTFOUND);
	memset(&r, 0, sizeof(r));
	CHECK_INT(idx_retention_list(ix, IDX_RET_DUE, 99, take_ret, &r), 0);
	CHECK(r.call_row == 0); /* not due yet */
	CHECK_INT(idx_retention_list(ix, IDX_RET_DUE, 100, take_ret, &r), 0);
	CHECK(r.call_row == row && r.keep_until_us == 50 && r.retention);
	int64_t h1, h2, n = 0;
	CHECK_INT(idx_call_held(ix, row, name, sizeof(name)), 0);
	CHECK_INT(idx_hold_create(ix, "case-1", "why", NULL, "t", 1, &h1), 0);
	CHECK_INT(idx_hold_create(ix, "case-1", "why", NULL, "t", 1, NULL), ES_EEXIST);
	CHECK_INT(idx_hold_create(ix, "case-2", "why", "party=alice", "t", 1, &h2), 0);
	CHECK_INT(idx_hold_add_call(ix, h1, row, rec.path), 0);
	CHECK_INT(idx_hold_add_call(ix, h1, row, rec.path), ES_EEXIST);
	CHECK_INT(idx_hold_add_call(ix, h2, row, rec.path), 0);
	CHECK_INT(idx_holds_list(ix, count_hold, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(idx_call_held(ix, row, name, sizeof(name)), 1);
	CHECK_STR(name, "case-1");
	CHECK_INT(idx_hold_release(ix, h1, "t", "done", 5), 0);
	CHECK_INT(idx_hold_release(ix, h1, "t", "done", 5), ES_EINVAL);
	CHECK_INT(idx_call_held(ix, row, name, sizeof(name)), 1);
	CHECK_STR(name, "case-2");
	CHECK_INT(idx_hold_release(ix, h2, "t", "done", 6), 0);
	CHECK_INT(idx_call_held(ix, row, name, sizeof(name)), 0);
	CHECK_INT(idx_call_expire(ix, row, false), 0);
	CHECK_INT(idx_call_expire(ix, row, false), 0); /* once only */
	char buf[64];
	idx_close(ix);
	sql_text("SELECT flags FROM calls", buf, sizeof(buf));
	CHECK_STR(buf, "expired");
}

static int take_redaction(void *ud, const struct idx_redaction *r)
{
	struct idx_redaction *out = ud;
	*out = *r;
	out->channel = out->fill = out->reason = out->by = out->path = NULL;
	out->original_path = out->original_sha256 = out->original_plain_sha256 = NULL;
	out->original_format = out->original_state = NULL;
	return 0;
}

/* A v9 index with a recording is migrated to v10 (IDX_REDACTIONS_MIGRATION):
 * a redaction replaces the recording row (its retention times stay) and
 * keeps the original; the second of a call gets n = 2; the table refuses
 * a span with to <= from. */
static void test_migrate_v9(void)
{
	struct idx *ix = fresh();
	int64_t row = insert(ix, simple("r10@x", "alice", "bob", 1000, 10));
	struct idx_recording rec = {.call_row = row, .path = "recordings/r10.opus", .format = "opus",
				    .bytes = 100, .sha256 = "00", .duration_us = 5000000};
	CHECK_INT(idx_recording_insert(ix, &rec), 0);
	CHECK_INT(idx_retention_set(ix, row, "short", 50, 100), 0);
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, AFTER_V9_UNDO "PRAGMA user_version = 9", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), SCHEMA_LATEST);
	struct idx_recording nr = {.call_row = row, .path = "recordings/r10.r1.opus", .format = "opus",
				   .bytes = 90, .sha256 = "11", .duration_us = 5000000,
				   .flags = "redacted"};
	struct idx_redaction r = {.call_row = row, .from_us = 1000000, .to_us = 2000000,
				  .channel = "caller", .fill = "silence", .reason = "pin",
				  .by = "sup1", .created_us = 7, .path = nr.path, .leaf = 2,
				  .original_path = rec.path, .original_sha256 = "00",
				  .original_format = "opus", .original_leaf = 0,
				  .original_state = "restricted"};
	CHECK_INT(idx_begin(ix), 0);
	CHECK_INT(idx_redaction_apply(ix, &nr, &r), 0);
	CHECK_INT(idx_commit(ix), 0);
	CHECK_INT(r.n, 1);
	struct idx_redaction got = {0};
	CHECK_INT(idx_redactions_list(ix, row, take_redaction, &got), 0);
	CHECK(got.id == r.id && got.n == 1 && got.from_us == 1000000 && got.original_leaf == 0);
	struct idx_ret_rec rr = {0};
	CHECK_INT(idx_retention_list(ix, IDX_RET_DUE, 100, take_ret, &rr), 0);
	CHECK(rr.call_row == row && rr.keep_until_us == 50); /* retention kept */
	struct idx_recording n2 = nr;
	n2.path = "recordings/r10.r2.opus";
	struct idx_redaction r2 = r;
	r2.path = n2.path;
	r2.original_path = nr.path;
	CHECK_INT(idx_redaction_apply(ix, &n2, &r2), 0);
	CHECK_INT(r2.n, 2);
	CHECK_INT(idx_redaction_shredded(ix, r.id), 0);
	struct idx_recording n3 = nr;
	n3.path = "recordings/r10.r3.opus";
	struct idx_redaction r3 = r;
	r3.path = n3.path;
	r3.original_path = n2.path;
	r3.to_us = r3.from_us;
	CHECK_INT(idx_begin(ix), 0);
	CHECK_INT(idx_redaction_apply(ix, &n3, &r3), ES_EDB); /* to <= from */
	CHECK_INT(idx_rollback(ix), 0);
	idx_close(ix);
	char buf[64];
	sql_text("SELECT path FROM recordings", buf, sizeof(buf));
	CHECK_STR(buf, "recordings/r10.r2.opus"); /* rolled back with it */
}

static int count_calls_cb(void *ud, const struct idx_call *c)
{
	(void)c;
	++*(int64_t *)ud;
	return 0;
}

/* A v9 index is migrated by IDX_MIG_SUBJECT: calls have no clock
 * evidence until it is set; erasing a party pseudonymises only that
 * party, drops the extra headers and notes, flags the call once, and the
 * party search no longer finds it. */
static void test_migrate_subject(void)
{
	struct idx *ix = fresh();
	struct idx_call c = simple("s1@x", "+4930555", "bob", 1000, 10);
	c.caller.display = "Alice Example";
	c.caller.pai = "sip:+4930555@pai.example";
	c.extra_json = "{\"X-Case\":\"+4930555\"}";
	int64_t row = insert(ix, c);
	CHECK_INT(idx_note_add(ix, row, "u", "called about +4930555", 5, NULL), 0);
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, AFTER_V9_UNDO "PRAGMA user_version = 9", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	char err[256], *clock = (char *)"x";
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), SCHEMA_LATEST);
	CHECK_INT(idx_call_get_clock(ix, row, &clock), 0);
	CHECK(clock == NULL);
	CHECK_INT(idx_call_set_clock(ix, row, "{\"synchronised\":true}"), 0);
	CHECK_INT(idx_call_set_clock(ix, 999, "{}"), ES_ENOTFOUND);
	CHECK_INT(idx_call_get_clock(ix, row, &clock), 0);
	CHECK_STR(clock, "{\"synchronised\":true}");
	free(clock);
	CHECK_INT(idx_call_get_clock(ix, 999, &clock), ES_ENOTFOUND);
	CHECK_INT(idx_call_erase_parties(ix, row, 0, "erased:1"), ES_EINVAL);
	CHECK_INT(idx_call_erase_parties(ix, 999, 1u << IDX_CALLER, "erased:1"), ES_ENOTFOUND);
	CHECK_INT(idx_call_erase_parties(ix, row, 1u << IDX_CALLER, "erased:1"), 0);
	CHECK_INT(idx_call_erase_parties(ix, row, 1u << IDX_CALLER, "erased:1"), 0);
	struct idx_filter f = {.party = "4930555"};
	int64_t n = 0;
	CHECK_INT(idx_calls_list(ix, &f, count_calls_cb, &n), 0);
	CHECK_INT(n, 0);
	idx_close(ix);
	char buf[128];
	sql_text("SELECT uri || '|' || user || '|' || ifnull(display, '-') || '|' ||"
		 " ifnull(pai, '-') FROM parties WHERE role = 0", buf, sizeof(buf));
	CHECK_STR(buf, "erased:1|erased:1|-|-");
	sql_text("SELECT user FROM parties WHERE role = 1", buf, sizeof(buf));
	CHECK_STR(buf, "bob");
	sql_text("SELECT flags || '|' || ifnull(extra_json, '-') || '|' ||"
		 " (SELECT count(*) FROM call_notes) FROM calls", buf, sizeof(buf));
	CHECK_STR(buf, "erased|-|0");
}

/* An index made by schema version 1 is brought to the current version. */
static void test_migrate_v1(void)
{
	struct idx *ix = fresh();
	insert(ix, simple("m1@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, AFTER_V9_UNDO "DROP TABLE hold_calls; DROP TABLE holds;"
			       " DROP TRIGGER parties_text_insert; DROP TRIGGER parties_text_delete;"
			       " DROP TRIGGER parties_text_update; DROP TABLE party_text;"
			       " DROP TABLE call_notes; DROP TABLE call_tags;"
			       " DROP TABLE recordings; ALTER TABLE calls DROP COLUMN rule;"
			       " DROP TABLE audit; DROP TABLE sessions; DROP TABLE api_tokens;"
			       " DROP TABLE users; PRAGMA user_version = 1", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 1);
	idx_close(ix);
}

static int count_tag(void *ud, const struct idx_tag *t)
{
	(void)t;
	(*(int *)ud)++;
	return 0;
}

static int count_note(void *ud, const struct idx_note *n)
{
	(void)n;
	(*(int *)ud)++;
	return 0;
}

/* Tags are unique per call in any case; notes append. */
static void test_tags_notes(void)
{
	struct idx *ix = fresh();
	int64_t row = insert(ix, simple("t1@x", "alice", "bob", 1000, 10));
	CHECK_INT(idx_tag_add(ix, row, "Review", "alice", 1), 0);
	CHECK_INT(idx_tag_add(ix, row, "review", "bob", 2), ES_EEXIST);
	CHECK_INT(idx_tag_add(ix, row + 1000, "x", "bob", 2), ES_ENOTFOUND);
	CHECK_INT(idx_call_has_tag(ix, row, "REVIEW"), 1);
	CHECK_INT(idx_call_has_tag(ix, row, "other"), 0);
	int n = 0;
	CHECK_INT(idx_tags_list(ix, row, count_tag, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(idx_tag_remove(ix, row, "rEVIEW"), 0);
	CHECK_INT(idx_tag_remove(ix, row, "review"), ES_ENOTFOUND);
	int64_t id = 0;
	CHECK_INT(idx_note_add(ix, row, "alice", "called back", 3, &id), 0);
	CHECK(id > 0);
	CHECK_INT(idx_note_add(ix, row, "alice", "", 3, NULL), ES_EINVAL);
	n = 0;
	CHECK_INT(idx_notes_list(ix, row, count_note, &n), 0);
	CHECK_INT(n, 1);
	idx_close(ix);
}

/* ---- party search through the trigram index (schema v7) ---------------------- */

#define PT_CALLS 5500 /* 11,000 parties: every plan of query.c is reached */

static const char *const pt_names[] = {
	"J\xc3\xbcrgen Wei\xc3\x9f", /* Jürgen Weiß */
	"\xc3\x89MILE Zola",         /* ÉMILE */
	"\xc5\x81ukasz",             /* Łukasz */
	"50%_off \"Sales\"",
	"back\\slash",
	"Alice",
	"ALICE B",
	"x\xff\xfeyz", /* not UTF-8 */
	NULL,
};
static const char *const pt_agents[] = {"Maria Rossi", "James Smith", "Mei Wang", NULL};
static const char *const pt_domains[] = {"example.com", "b.example", "carrier.net"};

/* Call i of the party data set: an outside caller (a number at one of three
 * domains, a name or none, sometimes a PAI) and an agent (extension 1000 +
 * i % 400 at pbx.example.com). */
struct pt_buf {
	char num[32], uri[96], ext[16], euri[96];
};

static void pt_call(unsigned i, struct idx_call *c, struct pt_buf *b)
{
	unsigned num = (i * 7919u) % 10000000u;
	snprintf(b->num, sizeof(b->num), "+1555%07u", num);
	snprintf(b->uri, sizeof(b->uri), "sip:+1555%07u@%s", num, pt_domains[i % 3]);
	snprintf(b->ext, sizeof(b->ext), "%u", 1000 + i % 400);
	snprintf(b->euri, sizeof(b->euri), "sip:%u@pbx.example.com", 1000 + i % 400);
	static char call_id[32], pai[96];
	snprintf(call_id, sizeof(call_id), "pt%u@x", i);
	snprintf(pai, sizeof(pai), "sip:+1555%07u@pai.carrier", (num + 1) % 10000000u);
	*c = simple(call_id, b->num, b->ext, 1000000 + (int64_t)(i * 37u % PT_CALLS) * 60, 30);
	c->caller.uri = b->uri;
	c->caller.display = pt_names[i % ES_ARRAY_LEN(pt_names)];
	c->caller.pai = i % 5 == 0 ? pai : NULL;
	c->callee.uri = b->euri;
	c->callee.display = pt_agents[i % ES_ARRAY_LEN(pt_agents)];
}

static void pt_fill(struct idx *ix, unsigned from, unsigned to)
{
	CHECK_INT(idx_begin(ix), 0);
	for (unsigned i = from; i < to; i++) {
		struct idx_call c;
		struct pt_buf b;
		pt_call(i, &c, &b);
		insert(ix, c);
	}
	CHECK_INT(idx_commit(ix), 0);
}

/* Needles: numbers whole and in part, names in mixed case, non-ASCII (which
 * LIKE folds only in ASCII: "ÜRG" must not find "Jürgen" although FTS5
 * folds it), LIKE wildcards, quotes, backslashes, 1 to 3 characters, and
 * strings across fields (newline: never inside one field). */
static const char *const pt_terms[] = {
	"+1555", "1555", "555", "55", "5", "1042", "1", "10", "104", "+15550007919",
	"0007919", "7919@b", "@pai.carrier", "sip:", "sip:+1555", "@example.com", "example.com",
	"b.example", "carrier.net", "pbx", "PBX.Example", "ex", "J\xc3\xbcr", "j\xc3\xbcr",
	"\xc3\xbcrg", "\xc3\x9cRG", "JÜRGEN", "wei\xc3\x9f", "WEI\xc3\x9f", "\xc3\x9f",
	"i\xc3\x9f", "\xc3\x89mile", "\xc3\xa9mile", "MILE", "\xc5\x81uk", "\xc5\x82uk", "%",
	"_", "50%", "0%_", "%_o", "%%", "__", "\"", "\"S", "\"sales\"", "\" ", "es\"", "ff \"S", "\\", "k\\s",
	"back\\", "alice", "ALICE", "e b", "ce B", "x\xff\xfe", "\xfe", "\xff", "\xfeyz",
	"zzz", "a", "", "com\nJ", "net\n50", "ia R", "rossi", "MEI", "Mei Wang", "1399@",
	"e.com", "om", ".",
};

struct pt_ids {
	int64_t *id;
	size_t n, cap;
};

static int pt_collect(void *ud, const struct idx_call *c)
{
	struct pt_ids *r = ud;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->id = realloc(r->id, r->cap * sizeof(*r->id));
		if (!r->id)
			abort();
	}
	r->id[r->n++] = c->id;
	return 0;
}

/* The search as it was before the trigram index (schema v6): the LIKE
 * scan, on a connection of its own. */
static struct pt_ids pt_reference(sqlite3 *db, const char *needle, bool newest)
{
	struct pt_ids r = {0};
	char pat[256], *o = pat;
	*o++ = '%';
	for (const char *s = needle; *s && o < pat + sizeof(pat) - 3; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '%';
	*o = '\0';
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT c.id FROM calls c WHERE EXISTS (SELECT 1 FROM parties p"
		 " WHERE p.call_row = c.id AND (p.uri LIKE ?1 ESCAPE '\\' OR p.user LIKE ?1"
		 " ESCAPE '\\' OR p.display LIKE ?1 ESCAPE '\\' OR p.pai LIKE ?1 ESCAPE '\\'))"
		 " ORDER BY c.start_us %s, c.id %s", newest ? "DESC" : "", newest ? "DESC" : "");
	sqlite3_stmt *st;
	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct idx_call c = {.id = sqlite3_column_int64(st, 0)};
		pt_collect(&r, &c);
	}
	sqlite3_finalize(st);
	return r;
}

static bool pt_same(const struct pt_ids *a, const struct pt_ids *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->id, b->id, a->n * sizeof(*a->id)));
}

/* Every needle: idx_calls_list finds what the LIKE scan finds, in both
 * orders; a few page through with a cursor.  Returns the total of rows. */
static size_t pt_compare(struct idx *ix)
{
	sqlite3 *db;
	CHECK_INT(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	size_t total = 0;
	for (size_t t = 0; t < ES_ARRAY_LEN(pt_terms); t++) {
		for (int newest = 0; newest < 2; newest++) {
			struct pt_ids want = pt_reference(db, pt_terms[t], newest);
			struct pt_ids got = {0};
			struct idx_filter f = {.party = pt_terms[t], .newest_first = newest};
			CHECK_INT(idx_calls_list(ix, &f, pt_collect, &got), 0);
			if (!pt_same(&got, &want))
				fprintf(stderr, "party '%s' newest %d: %zu rows, LIKE scan %zu\n",
					pt_terms[t], newest, got.n, want.n);
			CHECK(pt_same(&got, &want));
			/* pages of 700 with the cursor (start, id) */
			if (t % 7 == 0) {
				struct pt_ids paged = {0};
				f.limit = 700;
				for (;;) {
					size_t before = paged.n;
					CHECK_INT(idx_calls_list(ix, &f, pt_collect, &paged), 0);
					if (paged.n - before < f.limit)
						break;
					f.after_id = paged.id[paged.n - 1];
				}
				CHECK(pt_same(&paged, &want));
				free(paged.id);
			}
			total += want.n;
			free(want.id);
			free(got.id);
		}
	}
	sqlite3_close(db);
	return total;
}

/* Rows the trigram index holds for a needle (a separate connection). */
static int64_t pt_fts_count(const char *needle)
{
	char sql[256], buf[32];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM party_text WHERE party_text MATCH '\"%s\"'", needle);
	sql_text(sql, buf, sizeof(buf));
	return atoll(buf);
}

/* Distinct trigrams left in the index (fts5vocab, a temp table of a
 * connection of its own). */
static int64_t pt_vocab_rows(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, party_text, row)",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM temp.v", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static size_t pt_count(struct idx *ix, const char *needle)
{
	struct pt_ids r = {0};
	struct idx_filter f = {.party = needle};
	CHECK_INT(idx_calls_list(ix, &f, pt_collect, &r), 0);
	free(r.id);
	return r.n;
}

static void pt_sql(const char *sql)
{
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
	CHECK_INT(rc, SQLITE_OK);
	sqlite3_free(msg);
	sqlite3_close(db);
}

/* The migration before the consent one: its calls get no consent state
 * (NULL: no rule asked), new calls keep theirs, and the consent filter
 * matches either party's state. */
struct consent_got {
	char s[2][16];
};

static int take_consent(void *ud, const struct idx_call *c)
{
	struct consent_got *g = ud;
	for (int i = 0; i < 2; i++)
		snprintf(g->s[i], sizeof(g->s[i]), "%s", c->consent[i] ? c->consent[i] : "(null)");
	return 0;
}

static void test_migrate_consent(void)
{
	struct idx *ix = fresh();
	int64_t old = insert(ix, simple("c0@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	/* back to v9, before the consent migration and those after it */
	const char *sql = AFTER_V9_UNDO "PRAGMA user_version = 9";
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	struct idx_call c = simple("c1@x", "carol", "dave", 2000, 10);
	c.consent[0] = "refused";
	c.consent[1] = "not_required";
	c.consent_json = "{\"caller\":{\"state\":\"refused\"}}";
	int64_t neu = insert(ix, c);
	struct consent_got got;
	struct ids r = list(ix, (struct idx_filter){.consent = "refused"});
	CHECK_INT(r.n, 1);
	CHECK(r.id[0] == neu);
	r = list(ix, (struct idx_filter){.consent = "not_required"});
	CHECK_INT(r.n, 1);
	r = list(ix, (struct idx_filter){.consent = "given"});
	CHECK_INT(r.n, 0);
	CHECK_INT(idx_call_get(ix, neu, take_consent, &got), 0);
	CHECK_STR(got.s[0], "refused");
	CHECK_STR(got.s[1], "not_required");
	CHECK_INT(idx_call_get(ix, old, take_consent, &got), 0);
	CHECK_STR(got.s[0], "(null)");
	idx_close(ix);
}

/* A v6 index with calls is migrated (the trigram index is filled from the
 * parties); then inserts, deletes (ON DELETE CASCADE fires the trigger) and
 * an update keep it in step, and searches stay identical to the LIKE scan. */
static void test_party_fts(void)
{
	struct idx *ix = fresh();
	pt_fill(ix, 0, PT_CALLS);
	idx_close(ix);
	/* back to v6, as an index written by the previous version */
	pt_sql(V8_UNDO "DROP TRIGGER parties_text_insert; DROP TRIGGER parties_text_delete;"
	       " DROP TRIGGER parties_text_update; DROP TABLE party_text; PRAGMA user_version = 6");
	char err[256], buf[64];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	/* each plan is reached: few candidates, a set, more than the set's
	 * limit (query.c PARTY_IDS_MAX 1000, PARTY_SET_MAX 10000) */
	CHECK(pt_fts_count("1042") > 0 && pt_fts_count("1042") <= 1000);
	CHECK(pt_fts_count("example.com") > 1000 && pt_fts_count("example.com") <= 10000);
	CHECK(pt_fts_count("sip:") > 10000);
	/* not vacuous: LIKE folds ASCII only, FTS5 more */
	CHECK(pt_count(ix, "\xc3\xbcrg") > 0);
	CHECK_INT((int)pt_count(ix, "\xc3\x9cRG"), 0);
	CHECK(pt_fts_count("\xc3\x9cRG") > 0);
	CHECK_INT((int)pt_count(ix, "50%"), PT_CALLS / ES_ARRAY_LEN(pt_names));
	CHECK_INT((int)pt_count(ix, "sip:"), PT_CALLS);
	CHECK(pt_compare(ix) > 0);

	/* delete a third of the calls: their text leaves the trigram index */
	struct pt_buf victim;
	struct idx_call vc;
	pt_call(3, &vc, &victim);
	CHECK_INT((int)pt_fts_count(victim.num), 1);
	pt_sql("PRAGMA foreign_keys = ON; DELETE FROM calls WHERE call_id GLOB 'pt*[0369]@x'");
	CHECK_INT((int)pt_fts_count(victim.num), 0);
	CHECK_INT((int)pt_count(ix, victim.num), 0);
	CHECK(pt_compare(ix) > 0);
	/* new calls (their ids may be those of deleted ones) */
	pt_fill(ix, PT_CALLS, PT_CALLS + 300);
	/* an update of a party (nothing in the program does one today) */
	pt_sql("UPDATE parties SET display = 'Zebediah Q' WHERE role = 0 AND call_row ="
	       " (SELECT min(call_row) FROM parties WHERE display = 'Alice')");
	CHECK_INT((int)pt_count(ix, "zebediah"), 1);
	CHECK(pt_compare(ix) > 0);
	/* every call gone: nothing left in the trigram index */
	pt_sql("PRAGMA foreign_keys = ON; DELETE FROM calls");
	idx_close(ix);
	CHECK_INT((int)pt_vocab_rows(), 0);
	sql_text("SELECT count(*) FROM party_text WHERE party_text MATCH '\"sip\"'", buf,
		 sizeof(buf));
	CHECK_STR(buf, "0");
	pt_sql("INSERT INTO party_text (party_text) VALUES ('integrity-check')");
}


static int search_cat(void *ud, const struct idx_search *x)
{
	char *o = ud;
	size_t n = strlen(o);
	snprintf(o + n, 256 - n, "%s=%s;", x->name, x->query);
	return 0;
}

/* Saved searches (searches.c): per user, a name saved again replaces its
 * query, another user's id is not found, the bound per user holds. */
static void test_searches(void)
{
	struct idx *ix = fresh();
	struct idx_user a = {.name = "ss_a", .pwhash = "x", .role = "agent"};
	struct idx_user b = {.name = "ss_b", .pwhash = "x", .role = "supervisor"};
	CHECK_INT(idx_user_insert(ix, &a), 0);
	CHECK_INT(idx_user_insert(ix, &b), 0);
	int64_t id1 = 0, id2 = 0, id3 = 0;
	CHECK_INT(idx_search_save(ix, a.id, "bad", "max_mos=3.5", 1, &id1), 0);
	CHECK_INT(idx_search_save(ix, a.id, "bad", "max_mos=3", 2, &id2), 0);
	CHECK_INT((int)id2, (int)id1); /* replaced, same row */
	CHECK_INT(idx_search_save(ix, b.id, "bad", "min_loss=2", 3, &id3), 0);
	CHECK(id3 != id1);
	CHECK_INT(idx_search_save(ix, 999999, "x", "", 3, &id3), ES_ENOTFOUND);
	char buf[256] = "";
	CHECK_INT(idx_searches_list(ix, a.id, search_cat, buf), 0);
	CHECK_STR(buf, "bad=max_mos=3;");
	CHECK_INT(idx_search_delete(ix, b.id, id1), ES_ENOTFOUND); /* a's, not b's */
	CHECK_INT(idx_search_delete(ix, a.id, id1), 0);
	CHECK_INT(idx_search_delete(ix, a.id, id1), ES_ENOTFOUND);
	for (int i = 0; i < IDX_SEARCHES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		CHECK_INT(idx_search_save(ix, a.id, name, "tag=x", 4, &id2), 0);
	}
	CHECK_INT(idx_search_save(ix, a.id, "one more", "tag=x", 5, &id2), ES_ELIMIT);
	CHECK_INT(idx_search_save(ix, a.id, "s7", "tag=y", 5, &id2), 0); /* a replace is fine */
	buf[0] = 0;
	CHECK_INT(idx_searches_list(ix, b.id, search_cat, buf), 0);
	CHECK_STR(buf, "bad=min_loss=2;");
	idx_close(ix);
}

static int stats_bin(void *ud, const struct idx_stats_bin *b)
{
	char *o = ud;
	size_t n = strlen(o);
	snprintf(o + n, 512 - n, "%lld:%lld/%lld;", (long long)(b->start_us / ES_US_PER_SEC),
		 (long long)b->calls, (long long)b->answered);
	return 0;
}

static int stats_count(void *ud, const struct idx_stats_count *c)
{
	char *o = ud;
	size_t n = strlen(o);
	snprintf(o + n, 512 - n, "%s=%lld;", c->key, (long long)c->n);
	return 0;
}

static int stats_route(void *ud, const struct idx_stats_route *r)
{
	char *o = ud;
	size_t n = strlen(o);
	snprintf(o + n, 512 - n, "%s>%s:%lld/%lld %.2f %.2f;", r->a, r->b ? r->b : "",
		 (long long)r->calls, (long long)r->with_quality, r->mos_avg, r->mos_min);
	return 0;
}

/* The dashboard's aggregates (stats.c) and the list's count on known calls:
 * two hours, outcomes, MOS bands (G.107 Table B.1 limits), routes by media
 * address without the port (IPv4 and IPv6), the worst first. */
static void test_stats(void)
{
	struct idx *ix = fresh();
	struct { const char *id; int64_t start; int64_t dur; double mos; const char *a, *b; } k[] = {
		{"st1@x", 7200, 10, 4.40, "192.0.2.1:4000", "192.0.2.9:5000"},
		{"st2@x", 7300, 10, 3.20, "192.0.2.1:4002", "192.0.2.9:5002"},
		{"st3@x", 9000, 0, 0, NULL, NULL},
		{"st4@x", 10900, 10, 2.00, "[2001:db8::1]:4000", "[2001:db8::2]:6000"},
		{"st5@x", 20000, 10, 1.00, "192.0.2.1:1", "192.0.2.9:1"}, /* after the period */
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(k); i++) {
		struct idx_call c = simple(k[i].id, "alice", "bob", k[i].start, k[i].dur);
		c.caller.sdp_addr = k[i].a;
		c.callee.sdp_addr = k[i].b;
		if (k[i].mos > 0)
			c.quality = (struct idx_call_quality){true, k[i].mos, k[i].mos, 1.0, 5.0};
		insert(ix, c);
	}
	int64_t from = 7200 * ES_US_PER_SEC, to = 14400 * ES_US_PER_SEC, n = -1;
	struct idx_filter f = {.from_us = from, .to_us = to, .limit = 1, .after_id = 1};
	CHECK_INT(idx_calls_count(ix, &f, &n), 0);
	CHECK_INT((int)n, 4);
	f.outcome = "answered";
	f.max_mos = 3.5;
	f.sort = IDX_SORT_MOS;
	CHECK_INT(idx_calls_count(ix, &f, &n), 0);
	CHECK_INT((int)n, 2);
	char bins[512] = "", outc[512] = "", bands[512] = "", routes[512] = "";
	struct idx_stats_fns fns = {.ud = bins, .bin = stats_bin};
	CHECK_INT(idx_stats(ix, from, to, 3600 * ES_US_PER_SEC, 10, &fns), 0);
	CHECK_STR(bins, "7200:3/2;10800:1/1;");
	fns = (struct idx_stats_fns){.ud = outc, .outcome = stats_count};
	CHECK_INT(idx_stats(ix, from, to, 3600 * ES_US_PER_SEC, 10, &fns), 0);
	CHECK_STR(outc, "answered=3;busy=1;");
	fns = (struct idx_stats_fns){.ud = bands, .band = stats_count};
	CHECK_INT(idx_stats(ix, from, to, 3600 * ES_US_PER_SEC, 10, &fns), 0);
	CHECK(strstr(bands, "best=1;") && strstr(bands, "low=1;") && strstr(bands, "bad=1;"));
	fns = (struct idx_stats_fns){.ud = routes, .route = stats_route};
	CHECK_INT(idx_stats(ix, from, to, 3600 * ES_US_PER_SEC, 10, &fns), 0);
	CHECK_STR(routes, "2001:db8::1>2001:db8::2:1/1 2.00 2.00;192.0.2.1>192.0.2.9:2/2 3.80 3.20;"
			  "->-:1/0 0.00 0.00;");
	CHECK_INT(idx_stats(ix, to, from, 3600, 10, &fns), ES_EINVAL);
	idx_close(ix);
}

static void test_migrate_searches(void)
{
	struct idx *ix = fresh();
	idx_close(ix);
	rewind_before(IDX_MIG_SEARCHES);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), SCHEMA_LATEST);
	struct idx_user u = {.name = "ms_u", .pwhash = "x", .role = "admin"};
	CHECK_INT(idx_user_insert(ix, &u), 0);
	int64_t id = 0;
	CHECK_INT(idx_search_save(ix, u.id, "n", "party=1", 1, &id), 0);
	CHECK(id > 0);
	idx_close(ix);
}

/* ---- teams and QA evaluations (IDX_MIG_QA) ---------------------------------------- */

static int qa_scope_cat(void *ud, const char *user, const char *numbers)
{
	char *b = ud;
	snprintf(b + strlen(b), 256 - strlen(b), "%s=%s;", user, numbers);
	return 0;
}

static int qa_row_cat(void *ud, const struct idx_qa_row *r)
{
	char *b = ud;
	snprintf(b + strlen(b), 256 - strlen(b), "%s:%lld:%.1f;", r->key ? r->key : "-",
		 (long long)r->count, r->average);
	return 0;
}

static int qa_form_version(void *ud, const struct idx_qa_form *f)
{
	*(int64_t *)ud = f->version;
	return 0;
}

/* Teams, memberships, the scope's numbers, a user's scope; forms get
 * versions, evaluations and answers are stored and aggregated, on either
 * engine. */
static void test_qa(void)
{
	struct idx *ix = fresh();
	struct idx_user sup = {.name = "qa_s", .pwhash = "x", .role = "supervisor"};
	struct idx_user ag = {.name = "qa_a", .pwhash = "x", .role = "agent", .numbers = "1001"};
	CHECK_INT(idx_user_insert(ix, &sup), 0);
	CHECK_INT(idx_user_insert(ix, &ag), 0);
	int64_t tid = 0;
	CHECK_INT(idx_team_add(ix, "Red", 1, &tid), 0);
	CHECK_INT(idx_team_add(ix, "red", 1, &tid), ES_EEXIST);
	CHECK_INT(idx_team_member_set(ix, "red", ag.id, "agent", true), 0);
	CHECK_INT(idx_team_member_set(ix, "red", ag.id, "agent", true), ES_EEXIST);
	CHECK_INT(idx_team_member_set(ix, "red", sup.id, "supervisor", true), 0);
	CHECK_INT(idx_team_member_set(ix, "nosuch", sup.id, "supervisor", true), ES_ENOTFOUND);
	char buf[256] = "";
	CHECK_INT(idx_team_scope_numbers(ix, sup.id, qa_scope_cat, buf), 0);
	CHECK_STR(buf, "qa_a=1001;");
	char sc[8];
	CHECK_INT(idx_user_scope_get(ix, sup.id, sc), 0);
	CHECK_STR(sc, "");
	CHECK_INT(idx_user_scope_set(ix, sup.id, "teams"), 0);
	CHECK_INT(idx_user_scope_set(ix, sup.id, "teams"), 0);
	CHECK_INT(idx_user_scope_get(ix, sup.id, sc), 0);
	CHECK_STR(sc, "teams");
	CHECK_INT(idx_user_scope_set(ix, sup.id, "bogus"), ES_EINVAL);

	int64_t c = insert(ix, simple("qa1@x", "1001", "2002", 1000, 10));
	int64_t f1 = 0, f2 = 0, v = 0;
	CHECK_INT(idx_qa_form_save(ix, "F", "{}", "qa_s", 1, &f1, &v), 0);
	CHECK_INT((int)v, 1);
	CHECK_INT(idx_qa_form_save(ix, "F", "{}", "qa_s", 2, &f2, &v), 0);
	CHECK_INT((int)v, 2);
	CHECK_INT(idx_qa_form_get(ix, f1, qa_form_version, &v), 0);
	CHECK_INT((int)v, 1);
	struct idx_qa_answer a[2] = {{"q1", "yes", 2, 2}, {"q2", "1", 0, 3}};
	struct idx_qa_eval e = {.call_row = c, .form_id = f1, .evaluator = "qa_s", .agent = "qa_a",
				.score = 40, .created_us = 7 * 86400 * ES_US_PER_SEC};
	CHECK_INT(idx_qa_eval_add(ix, &e, a, 2), 0);
	CHECK(e.id > 0);
	e.form_id = 999999;
	CHECK_INT(idx_qa_eval_add(ix, &e, a, 2), ES_ENOTFOUND);
	struct idx_qa_filter f = {.from_us = 0, .to_us = INT64_MAX, .agents = "x,qa_a"};
	buf[0] = 0;
	struct idx_qa_report_fns fns = {.ud = buf, .total = qa_row_cat, .agent = qa_row_cat,
					.question = qa_row_cat};
	CHECK_INT(idx_qa_report(ix, &f, 5, &fns), 0);
	CHECK_STR(buf, "-:1:40.0;qa_a:1:40.0;q2:1:0.0;q1:1:100.0;");
	f.agents = "";
	buf[0] = 0;
	CHECK_INT(idx_qa_report(ix, &f, 5, &fns), 0);
	CHECK_STR(buf, "-:0:0.0;");
	CHECK_INT(idx_team_del(ix, "RED"), 0);
	buf[0] = 0;
	CHECK_INT(idx_team_scope_numbers(ix, sup.id, qa_scope_cat, buf), 0);
	CHECK_STR(buf, "");
	idx_close(ix);
}

/* IDX_MIG_MFA on an index from before it: the second factor's rows work,
 * a step only moves forward (a replayed code cannot be taken twice), a
 * recovery code is used once, a pending sign-in expires. */
static void test_migrate_mfa(void)
{
	struct idx *ix = fresh();
	idx_close(ix);
	rewind_before(IDX_MIG_MFA);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), SCHEMA_LATEST);
	struct idx_user u = {.name = "mfa_u", .pwhash = "x", .role = "admin"};
	CHECK_INT(idx_user_insert(ix, &u), 0);
	struct idx_totp t = {.user_id = u.id, .sealed = "v1:k:abc", .created_us = 5}, got;
	CHECK_INT(idx_totp_get(ix, u.id, &got), ES_ENOTFOUND);
	CHECK_INT(idx_totp_put(ix, &t), 0);
	t.enabled = true;
	t.last_step = 100;
	CHECK_INT(idx_totp_put(ix, &t), 0);
	CHECK_INT(idx_totp_get(ix, u.id, &got), 0);
	CHECK(got.enabled);
	CHECK_STR(got.sealed, "v1:k:abc");
	CHECK_INT(idx_totp_step(ix, u.id, 101), 0);
	CHECK_INT(idx_totp_step(ix, u.id, 101), ES_ENOTFOUND);
	CHECK_INT(idx_totp_step(ix, u.id, 99), ES_ENOTFOUND);
	CHECK_INT(idx_recovery_add(ix, u.id, "h1"), 0);
	CHECK_INT(idx_recovery_add(ix, u.id, "h2"), 0);
	int64_t n = 0;
	CHECK_INT(idx_recovery_left(ix, u.id, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(idx_recovery_use(ix, u.id, "h1", 7), 0);
	CHECK_INT(idx_recovery_use(ix, u.id, "h1", 8), ES_ENOTFOUND);
	CHECK_INT(idx_recovery_left(ix, u.id, &n), 0);
	CHECK_INT(n, 1);
	int64_t who = 0;
	CHECK_INT(idx_pending_add(ix, "p1", u.id, 1000, "127.0.0.1"), 0);
	CHECK_INT(idx_pending_get(ix, "p1", 999, &who), 0);
	CHECK_INT(who, u.id);
	CHECK_INT(idx_pending_get(ix, "p1", 1000, &who), ES_ENOTFOUND);
	CHECK_INT(idx_pending_get(ix, "p1", 1, &who), ES_ENOTFOUND); /* dropped */
	bool had = false;
	CHECK_INT(idx_totp_delete(ix, u.id, &had), 0);
	CHECK(had);
	CHECK_INT(idx_totp_delete(ix, u.id, &had), 0);
	CHECK(!had);
	CHECK_INT(idx_recovery_left(ix, u.id, &n), 0);
	CHECK_INT(n, 0);
	idx_close(ix);
}

/* ---- bookmarks and clips (IDX_MIG_BOOKMARKS) --------------------------------------- */

struct bm_seen {
	int n;
	int64_t at[4], end[4];
	char text[4][32];
};

static int bm_row(void *ud, const struct idx_bookmark *b)
{
	struct bm_seen *s = ud;
	if (s->n < 4) {
		s->at[s->n] = b->at_ms;
		s->end[s->n] = b->end_ms;
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s", b->text);
	}
	s->n++;
	return 0;
}

static int clip_count(void *ud, const struct idx_clip *c)
{
	(void)c;
	(*(int *)ud)++;
	return 0;
}

/* Bookmarks by time, points and spans, a span the wrong way round refused;
 * clips kept and read back; both gone with the recording's deletion
 * (idx_bookmarks_delete), a data-subject erasure and the call's row. */
static void test_bookmarks(void)
{
	struct idx *ix = fresh();
	int64_t row = insert(ix, simple("bm1@x", "alice", "bob", 1000, 10));
	int64_t id1 = 0, id2 = 0, cid = 0;
	struct idx_bookmark b = {.call_row = row, .user = "alice", .at_ms = 7300, .end_ms = -1,
				 .text = "said the account number", .created_us = 5};
	CHECK_INT(idx_bookmark_add(ix, &b, &id1), 0);
	b.at_ms = 1200;
	b.end_ms = 2500;
	b.text = "greeting";
	CHECK_INT(idx_bookmark_add(ix, &b, &id2), 0);
	b.end_ms = 1200; /* an empty span */
	CHECK_INT(idx_bookmark_add(ix, &b, NULL), ES_EINVAL);
	b.end_ms = -1;
	b.call_row = row + 1000;
	CHECK_INT(idx_bookmark_add(ix, &b, NULL), ES_ENOTFOUND);
	struct bm_seen s = {0};
	CHECK_INT(idx_bookmarks_list(ix, row, 0, bm_row, &s), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.at[0], 1200);
	CHECK_INT(s.end[0], 2500);
	CHECK_STR(s.text[0], "greeting");
	CHECK_INT(s.at[1], 7300);
	CHECK_INT(s.end[1], -1);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_bookmarks_list(ix, row, id1, bm_row, &s), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(idx_bookmarks_list(ix, row + 1, id1, bm_row, &s), ES_ENOTFOUND);
	CHECK_INT(idx_bookmark_delete(ix, row, id1), 0);
	CHECK_INT(idx_bookmark_delete(ix, row, id1), ES_ENOTFOUND);
	struct idx_clip c = {.call_row = row, .start_ms = 1000, .end_ms = 4000,
			     .created_us = 9, .expires_us = 99};
	snprintf(c.creator, sizeof(c.creator), "alice");
	snprintf(c.title, sizeof(c.title), "the greeting");
	CHECK_INT(idx_clip_add(ix, &c, &cid), 0);
	c.end_ms = 1000;
	CHECK_INT(idx_clip_add(ix, &c, NULL), ES_EINVAL);
	struct idx_clip got;
	CHECK_INT(idx_clip_get(ix, cid, &got), 0);
	CHECK_INT(got.call_row, row);
	CHECK_INT(got.start_ms, 1000);
	CHECK_INT(got.end_ms, 4000);
	CHECK_INT(got.expires_us, 99);
	CHECK_STR(got.creator, "alice");
	CHECK_STR(got.title, "the greeting");
	CHECK_INT(idx_clip_get(ix, cid + 1000, &got), ES_ENOTFOUND);
	int n = 0;
	CHECK_INT(idx_clips_list(ix, row, clip_count, &n), 0);
	CHECK_INT(n, 1);
	/* the recording deleted or shredded (record/delete.c) */
	CHECK_INT(idx_bookmarks_delete(ix, row), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_bookmarks_list(ix, row, 0, bm_row, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(idx_clip_get(ix, cid, &got), ES_ENOTFOUND);
	/* a data-subject erasure */
	b.call_row = row;
	CHECK_INT(idx_bookmark_add(ix, &b, &id1), 0);
	CHECK_INT(idx_clip_add(ix, (c.end_ms = 4000, &c), &cid), 0);
	CHECK_INT(idx_call_erase_parties(ix, row, 1u << IDX_CALLER, "erased-1"), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_bookmarks_list(ix, row, 0, bm_row, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(idx_clip_get(ix, cid, &got), ES_ENOTFOUND);
	/* the call's row dropped by retention: ON DELETE CASCADE */
	CHECK_INT(idx_bookmark_add(ix, &b, &id1), 0);
	CHECK_INT(idx_clip_add(ix, &c, &cid), 0);
	CHECK_INT(idx_call_expire(ix, row, true), 0);
	CHECK_INT(idx_bookmarks_list(ix, row, id1, bm_row, &s), ES_ENOTFOUND);
	CHECK_INT(idx_clip_get(ix, cid, &got), ES_ENOTFOUND);
	idx_close(ix);
}

/* IDX_MIG_BOOKMARKS on an index from before it: the tables are made and
 * work. */
static void test_migrate_bookmarks(void)
{
	struct idx *ix = fresh();
	idx_close(ix);
	rewind_before(IDX_MIG_BOOKMARKS);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), SCHEMA_LATEST);
	idx_close(ix);
	test_bookmarks();
}

struct owner_seen {
	char owner[64];
	int64_t id;
};

static int see_owner(void *ud, const struct idx_tr_job *j)
{
	struct owner_seen *o = ud;
	o->id = j->id;
	snprintf(o->owner, sizeof(o->owner), "%s", j->claimed_by ? j->claimed_by : "(null)");
	return 0;
}

/* IDX_MIG_TR_CLAIM: a job left running by an older earshot (no owner) is
 * upgraded and can be requeued; a claim names its worker; a requeue names
 * the owner it saw, so a job another worker has claimed since stays. */
static void test_tr_claim_owner(void)
{
	struct idx *ix = fresh();
	int64_t a = insert(ix, simple("own1@x", "alice", "bob", 1000, 10));
	CHECK_INT(idx_tr_enqueue(ix, a, 0, 100, false, NULL), 0);
	CHECK_INT(idx_tr_enqueue(ix, a, 1, 100, false, NULL), 0);
	struct owner_seen o = {0};
	CHECK_INT(idx_tr_claim(ix, 200, NULL, see_owner, &o), 0);
	idx_close(ix);
	if (!pg_mode)
		rewind_before(IDX_MIG_TR_CLAIM);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	int64_t old = o.id;
	bool again = false;
	CHECK_INT(idx_tr_requeue_job(ix, old, "h:9", 300, &again), 0);
	CHECK(!again); /* not that owner's */
	CHECK_INT(idx_tr_requeue_job(ix, old, NULL, 300, &again), 0);
	CHECK(again);
	memset(&o, 0, sizeof(o));
	CHECK_INT(idx_tr_claim(ix, 400, "h:1", see_owner, &o), 0);
	CHECK_STR(o.owner, "h:1");
	CHECK(o.id != old); /* the other channel: due since 100, before 300 */
	struct owner_seen p = {0};
	CHECK_INT(idx_tr_claim(ix, 400, "h:2", see_owner, &p), 0);
	CHECK_STR(p.owner, "h:2");
	CHECK_INT(p.id, old);
	CHECK_INT(idx_tr_claim(ix, 400, "h:3", see_owner, &p), ES_ENOTFOUND);
	CHECK_INT(idx_tr_requeue_job(ix, o.id, "h:2", 500, &again), 0);
	CHECK(!again);
	CHECK_INT(idx_tr_requeue_job(ix, o.id, "h:1", 500, &again), 0);
	CHECK(again);
	idx_close(ix);
}

static void test_transcripts(void);
/* IDX_MIG_SEARCH_FAST: tags written before the migration get their
 * call's start, tags written after get it from the trigger, and the tag
 * and duration searches (served by the new indexes) return the rows they
 * returned before, in list order, with and without a time range. */
static void test_search_fast(void)
{
	struct idx *ix = fresh();
	int64_t a = insert(ix, simple("sf1@x", "alice", "bob", 1000, 10));
	int64_t b = insert(ix, simple("sf2@x", "alice", "bob", 2000, 4000));
	int64_t c = insert(ix, simple("sf3@x", "alice", "bob", 2000, 0));
	int64_t d = insert(ix, simple("sf4@x", "alice", "bob", 3000, 2000));
	CHECK_INT(idx_tag_add(ix, a, "vip", "u", 1), 0);
	CHECK_INT(idx_tag_add(ix, c, "VIP", "u", 1), 0);
	idx_close(ix);
	if (!pg_mode)
		rewind_before(IDX_MIG_SEARCH_FAST);
	char err[256], buf[64];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_INT(idx_tag_add(ix, d, "vip", "u", 2), 0);
	CHECK_INT(idx_tag_add(ix, b, "Vip", "u", 2), 0);
	CHECK_INT(idx_tag_add(ix, b, "other", "u", 2), 0);
	sql_text("SELECT count(*) FROM call_tags t JOIN calls c ON c.id = t.call_row"
		 " WHERE t.start_us = c.start_us",
		 buf, sizeof(buf));
	CHECK_STR(buf, "5");
	struct ids r = list(ix, (struct idx_filter){.tag = "vip"});
	CHECK_INT(r.n, 4);
	CHECK_INT(r.id[0], a);
	CHECK_INT(r.id[1], b); /* same start as c: by id */
	CHECK_INT(r.id[2], c);
	CHECK_INT(r.id[3], d);
	r = list(ix, (struct idx_filter){.tag = "vip", .newest_first = true, .limit = 2});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], d);
	CHECK_INT(r.id[1], c);
	r = list(ix, (struct idx_filter){.tag = "VIP",
					 .from_us = 2000 * ES_US_PER_SEC,
					 .to_us = 3000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], b);
	CHECK_INT(r.id[1], c);
	r = list(ix, (struct idx_filter){.tag = "vip", .from_us = 2001 * ES_US_PER_SEC});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], d);
	r = list(ix, (struct idx_filter){.tag = "vip", .after_id = b, .limit = 5});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], c);
	CHECK_INT(r.id[1], d);
	r = list(ix, (struct idx_filter){.min_duration_us = 1800 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], b);
	CHECK_INT(r.id[1], d);
	r = list(ix, (struct idx_filter){.min_duration_us = 3000 * ES_US_PER_SEC,
					 .to_us = 2500 * ES_US_PER_SEC});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], b);
	/* a needle under 3 characters is walked in time order; on PostgreSQL
	 * the page's ids first (calls_start_party), then its rows */
	r = list(ix, (struct idx_filter){.party = "al", .limit = 2});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], a);
	CHECK_INT(r.id[1], b);
	r = list(ix, (struct idx_filter){.party = "al", .limit = 2, .after_id = b});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], c);
	CHECK_INT(r.id[1], d);
	r = list(ix, (struct idx_filter){.party = "bo", .limit = 3, .newest_first = true,
					 .to_us = 3000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 3);
	CHECK_INT(r.id[0], c);
	CHECK_INT(r.id[1], b);
	CHECK_INT(r.id[2], a);
	r = list(ix, (struct idx_filter){.party = "al", .limit = 5, .tag = "other"});
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], b);
	CHECK_INT(idx_tag_remove(ix, b, "VIP"), 0);
	r = list(ix, (struct idx_filter){.tag = "vip", .from_us = 2000 * ES_US_PER_SEC});
	CHECK_INT(r.n, 2);
	CHECK_INT(r.id[0], c);
	idx_close(ix);
}

/* Double the calls and their parties in SQL (ids shifted past the
 * highest; bench/gen_index --copies does the same): a big index quickly. */
static void double_calls(struct idx *ix)
{
	static const char *const sql[] = {
		"INSERT INTO calls (id, call_id, start_us, answer_us, end_us, outcome, sip_code,"
		" end_reason, source) SELECT id + ?1, call_id || '-' || ?1, start_us + id,"
		" answer_us, end_us, outcome, sip_code, end_reason, source FROM calls",
		"INSERT INTO parties (call_row, role, uri, \"user\")"
		" SELECT call_row + ?1, role, uri, \"user\" FROM parties",
	};
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(idx_begin(ix), 0);
	for (size_t i = 0; i < ES_ARRAY_LEN(sql); i++) {
		struct idx_st *st = idx_prep(ix, sql[i]);
		CHECK(st != NULL);
		db_bind_int64(st, 1, n);
		CHECK_INT(db_step(st), DB_DONE);
		db_finalize(st);
	}
	/* the ids were given: PostgreSQL's sequence must pass them */
	struct idx_st *st = NULL;
	if (db_is_pg(ix)) {
		CHECK((st = idx_prep(ix, "SELECT setval(pg_get_serial_sequence('calls', 'id'),"
					 " (SELECT max(id) FROM calls))")) != NULL);
		CHECK_INT(db_step(st), DB_ROW);
		db_finalize(st);
	}
	CHECK_INT(idx_commit(ix), 0);
}

/* [index] search_timeout (filter timeout_ms): a search that walks every
 * call (a 2-letter party that matches none: no trigram, so both engines
 * test each call) is stopped at a 1 ms limit with ES_ETIMEOUT and a
 * message naming the limit, list and count alike; without a limit or with
 * a generous one it answers; afterwards the handle writes and searches as
 * before (PostgreSQL: the search's own transaction is gone, a write is
 * seen by another connection), also inside a caller's transaction. */
static void test_search_timeout(void)
{
	struct idx *ix = fresh();
	CHECK_INT(idx_begin(ix), 0);
	char cid[32];
	for (int i = 0; i < 250; i++) {
		snprintf(cid, sizeof(cid), "to%d@x", i);
		insert(ix, simple(cid, "alice", "bob", 1000 + i, 10));
	}
	CHECK_INT(idx_commit(ix), 0);
	for (int i = 0; i < 8; i++) /* 64,000 calls */
		double_calls(ix);
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 64000);
	/* first (PostgreSQL: the statements not yet prepared, whose planning
	 * counts against the limit too), then again, prepared */
	struct ids r = {0};
	struct idx_filter f = {.party = "zz", .limit = 50, .timeout_ms = 1};
	for (int round = 0; round < 2; round++) {
		CHECK_INT(idx_calls_list(ix, &f, collect, &r), ES_ETIMEOUT);
		CHECK(strstr(idx_errmsg(ix), "limit of 1 ms") != NULL);
		CHECK_INT(idx_calls_count(ix, &f, &n), ES_ETIMEOUT);
		CHECK(strstr(idx_errmsg(ix), "limit of 1 ms") != NULL);
		int64_t t0 = es_mono_us();
		CHECK_INT(idx_calls_count(ix, &(struct idx_filter){.party = "zz"}, &n), 0);
		CHECK_INT(n, 0);
		if (round)
			fprintf(stderr, "  search_timeout: the walk takes %lld us unlimited\n",
				(long long)(es_mono_us() - t0));
	}

	/* the handle is usable: a write outside any transaction is committed */
	int64_t id = insert(ix, simple("to-after@x", "zzara", "bob", 5000, 3));
	char buf[64];
	sql_text("SELECT count(*) FROM calls WHERE call_id = 'to-after@x'", buf, sizeof(buf));
	CHECK_STR(buf, "1");
	f.timeout_ms = 60000;
	r = (struct ids){0};
	CHECK_INT(idx_calls_list(ix, &f, collect, &r), 0);
	CHECK_INT(r.n, 1);
	CHECK_INT(r.id[0], id);
	CHECK_INT(idx_calls_count(ix, &f, &n), 0);
	CHECK_INT(n, 1);

	/* inside a caller's transaction: stopped too; a search within its
	 * limit leaves the transaction as it was (no limit on what follows) */
	CHECK_INT(idx_begin(ix), 0);
	f.timeout_ms = 60000;
	r = (struct ids){0};
	CHECK_INT(idx_calls_list(ix, &f, collect, &r), 0);
	CHECK_INT(r.n, 1);
	insert(ix, simple("to-tx@x", "zzed", "bob", 6000, 3));
	CHECK_INT(idx_commit(ix), 0);
	CHECK_INT(idx_calls_count(ix, &(struct idx_filter){.party = "zz"}, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(idx_begin(ix), 0);
	f.timeout_ms = 1;
	CHECK_INT(idx_calls_count(ix, &f, &n), ES_ETIMEOUT);
	idx_rollback(ix);
	CHECK_INT(idx_calls_count(ix, &(struct idx_filter){.party = "zz"}, &n), 0);
	CHECK_INT(n, 2);
	idx_close(ix);
}

/* The SQL of every statement run on the handle (sqlite3_trace_v2),
 * distinct, triggers left out (their programs are not statements). */
struct traced {
	char *sql[64];
	unsigned n;
};

static int trace_stmt(unsigned what, void *ud, void *p, void *x)
{
	struct traced *t = ud;
	(void)what;
	(void)x;
	const char *sql = sqlite3_sql(p);
	if (!sql || !strncmp(sql, "--", 2))
		return 0;
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->sql[i], sql))
			return 0;
	if (t->n < ES_ARRAY_LEN(t->sql))
		t->sql[t->n++] = strdup(sql);
	return 0;
}

static int see_path(void *ud, const struct idx_rec_path *r)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

/* The statements an import runs (its row, each call with its children,
 * recording, talk and checks, the ledger catch-up's pages of recording
 * paths) read the tables that grow with the calls only through an index:
 * EXPLAIN QUERY PLAN of each has no SCAN of them.  One that read a whole
 * table made an import into a 1,000,000-call index 0.56 calls/s
 * (docs/PERFORMANCE.md); this holds whatever the index's size. */
static void test_import_plans(void)
{
	static const char *const big[] = {"calls",    "parties",    "streams", "events",
					  "sip_msgs", "recordings", "call_tags", "rec_keys",
					  "transcripts", "c", "p", "s", "r", "a", "b", NULL};
	struct idx *ix = fresh();
	struct traced t = {0};
	sqlite3_trace_v2(ix->conn, SQLITE_TRACE_STMT, trace_stmt, &t);
	struct idx_import imp = {.path = "x.pcap", .file_key = "k1", .status = "running"};
	CHECK_INT(idx_import_begin(ix, &imp), 0);
	CHECK_INT(idx_begin(ix), 0);
	int64_t last = 0;
	for (int i = 0; i < 3; i++) {
		struct idx_call c = full_call();
		char cid[32];
		snprintf(cid, sizeof(cid), "plan%d@x", i);
		c.call_id = cid;
		c.import_id = imp.id;
		bool dup = true;
		CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
		dup = false; /* the same again: a duplicate */
		CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
		CHECK(dup);
		struct idx_recording r = {.call_row = c.id, .path = cid, .format = "opus",
					  .sha256 = "ab", .stats_json = "{}", .channels = 2};
		CHECK_INT(idx_recording_insert(ix, &r), 0);
		struct idx_call_talk tk = {.json = "{}", .ratio = 0.5};
		CHECK_INT(idx_call_set_talk(ix, c.id, &tk), 0);
		CHECK_INT(idx_call_set_checks(ix, c.id, "{}"), 0);
		last = c.id;
	}
	CHECK_INT(idx_commit(ix), 0);
	imp.status = "done";
	CHECK_INT(idx_import_finish(ix, &imp), 0);
	int npaths = 0;
	CHECK_INT(idx_recording_paths(ix, see_path, &npaths), 0);
	CHECK_INT(npaths, 3);
	CHECK(idx_call_is_mine(ix, NULL));
	int64_t found = 0;
	CHECK_INT(idx_call_find(ix, "plan2@x", full_call().start_us, &found), 0);
	CHECK_INT(found, last);
	sqlite3_trace_v2(ix->conn, 0, NULL, NULL);
	CHECK(t.n >= 8);
	for (unsigned i = 0; i < t.n; i++) {
		char *q = NULL;
		CHECK(asprintf(&q, "EXPLAIN QUERY PLAN %s", t.sql[i]) > 0);
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(ix->conn, q, -1, &st, NULL) == SQLITE_OK) {
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *d = (const char *)sqlite3_column_text(st, 3);
				char name[64] = "";
				if (!d || sscanf(d, "SCAN %63s", name) != 1)
					continue;
				bool grows = false;
				for (unsigned k = 0; big[k]; k++)
					grows |= !strcmp(name, big[k]);
				if (grows)
					fprintf(stderr, "  whole-table read: %s\n    in %s\n", d, t.sql[i]);
				CHECK(!grows);
			}
		}
		sqlite3_finalize(st);
		free(q);
		free(t.sql[i]);
	}
	idx_close(ix);
}

/* IDX_MIG_SHARED_KEYS: a recording's wrapped key in, replaced, read back
 * (too small a buffer refused), deleted (twice: a shred run again); a
 * node's bucket published and replaced.  On SQLite from an index made
 * before the step. */
static void test_shared_keys(void)
{
	struct idx *ix = fresh();
	idx_close(ix);
	if (!pg_mode)
		rewind_before(IDX_MIG_SHARED_KEYS);
	char err[256], got[128];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	const char *path = "recordings/2026/12/07/7.opus.enc";
	CHECK_INT(idx_reckey_get(ix, path, got, sizeof(got)), ES_ENOTFOUND);
	CHECK_INT(idx_reckey_put(ix, path, "v1:env:AAAA", "rec-1", 100), 0);
	CHECK_INT(idx_reckey_put(ix, path, "v1:k2:BBBB", "rec-1", 200), 0); /* rotated */
	CHECK_INT(idx_reckey_get(ix, path, got, sizeof(got)), 0);
	CHECK_STR(got, "v1:k2:BBBB");
	CHECK_INT(idx_reckey_get(ix, path, got, 5), ES_ELIMIT);
	CHECK_INT(idx_reckey_put(ix, path, "", NULL, 1), ES_EINVAL);
	CHECK_INT(idx_reckey_del(ix, path), 0);
	CHECK_INT(idx_reckey_del(ix, path), 0);
	CHECK_INT(idx_reckey_get(ix, path, got, sizeof(got)), ES_ENOTFOUND);
	char *text = NULL;
	CHECK_INT(idx_node_blobs_get(ix, "rec-1", &text), ES_ENOTFOUND);
	CHECK_INT(idx_node_head_set(ix, "rec-1", "/d/ledger", "earshot-head x", 3, 5), 0);
	CHECK_INT(idx_node_blobs_get(ix, "rec-1", &text), ES_ENOTFOUND); /* none yet */
	CHECK_INT(idx_node_blobs_set(ix, "rec-1", "bucket = a\nprefix = rec-1\n"), 0);
	CHECK_INT(idx_node_blobs_set(ix, "rec-1", "bucket = b\nprefix = rec-1\n"), 0);
	CHECK_INT(idx_node_blobs_get(ix, "rec-1", &text), 0);
	CHECK_STR(text, "bucket = b\nprefix = rec-1\n");
	free(text);
	CHECK_INT(idx_node_blobs_set(ix, "../x", "bucket = c\n"), ES_EINVAL);
	idx_close(ix);
}

/* The engine-independent tests on PostgreSQL. */
static int main_pg(void)
{
	es_log_set_level(ES_LOG_WARN);
	int rc = pgh_start();
	if (rc) {
		fprintf(stderr, "no PostgreSQL cluster (%d): skipped\n", rc);
		return rc == 77 ? 77 : 1;
	}
	pg_mode = true;
	RUN(test_roundtrip);
	RUN(test_many_children);
	RUN(test_duplicates);
	RUN(test_filters);
	RUN(test_pagination);
	RUN(test_recordings);
	RUN(test_searches);
	RUN(test_stats);
	RUN(test_qa);
	RUN(test_bookmarks);
	RUN(test_tr_claim_owner);
	RUN(test_transcripts);
	RUN(test_search_fast);
	RUN(test_search_timeout);
	RUN(test_shared_keys);
	pgh_stop();
	return CHECK_DONE();
}

/* ---- transcripts and their queue (IDX_MIG_TRANSCRIPT) ---------------------------- */

struct jobs_seen {
	int n;
	char state[4][16];
	int attempts[4];
	int64_t id[4];
};

static int see_job(void *ud, const struct idx_tr_job *j)
{
	struct jobs_seen *s = ud;
	if (s->n < 4) {
		snprintf(s->state[s->n], sizeof(s->state[0]), "%s", j->state);
		s->attempts[s->n] = j->attempts;
		s->id[s->n] = j->id;
	}
	s->n++;
	return 0;
}

struct hits_seen {
	int n;
	int channel[2];
	char snippet[2][256];
	int64_t at[2][4];
	unsigned nat[2];
};

static int see_hit(void *ud, const struct idx_tr_hit *h)
{
	struct hits_seen *s = ud;
	if (s->n < 2) {
		s->channel[s->n] = h->channel;
		snprintf(s->snippet[s->n], sizeof(s->snippet[0]), "%s", h->snippet);
		s->nat[s->n] = h->nat;
		for (unsigned i = 0; i < h->nat && i < 4; i++)
			s->at[s->n][i] = h->at_ms[i];
	}
	s->n++;
	return 0;
}

static int count_unindexed(void *ud, int64_t call_row, int channel)
{
	(void)call_row;
	(void)channel;
	((struct jobs_seen *)ud)->n++;
	return 0;
}

/* Whether the file at path (or its -wal) holds the bytes of s. */
static bool file_has(const char *path, const char *s)
{
	static const char *const sfx[] = {"", "-wal"};
	bool found = false;
	for (size_t i = 0; i < 2 && !found; i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		static char buf[1 << 22];
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		found = memmem(buf, n, s, strlen(s)) != NULL;
	}
	return found;
}

static int64_t count_text(struct idx *ix, const char *text, int party)
{
	struct idx_filter f = {.text = text, .text_party = party};
	int64_t n = 0;
	int rc = idx_calls_list(ix, &f, count_calls_cb, &n);
	return rc ? rc : n;
}

/* An index from before IDX_MIG_TRANSCRIPT is upgraded; the queue claims
 * the oldest due job, a failure waits for its next try, a job left running
 * is due again after a restart; transcripts are found by word, phrase,
 * prefix and party, with the time of each hit; deleting removes them. */
/* An index with plain transcript text (before IDX_MIG_TR_BLIND) is
 * upgraded: the words leave the file (free pages too), the transcript is
 * listed for the reindex and searchable once entered again. */
static void test_tr_blind_migrate(void)
{
	struct idx *ix = fresh();
	int64_t a = insert(ix, simple("tb1@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	rewind_before(IDX_MIG_TR_BLIND);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	char sql[256];
	snprintf(sql, sizeof(sql), "INSERT INTO transcripts (call_row, channel, engine, words, times,"
		 " text) VALUES (%lld, 0, 'whisper', 3, '0,400,800', 'zanzibar refund quokka')",
		 (long long)a);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK(file_has(dbpath, "zanzibar")); /* the old schema: readable words */
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	idx_close(ix);
	CHECK(!file_has(dbpath, "zanzibar") && !file_has(dbpath, "quokka"));
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	static const uint8_t key[IDX_TR_KEY_BYTES] = {9};
	idx_set_search_key(ix, key);
	struct jobs_seen s = {0};
	CHECK_INT(idx_tr_unindexed(ix, count_unindexed, &s), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(count_text(ix, "zanzibar", 0), 0);
	CHECK_INT(idx_tr_reindex(ix, a, 0, "zanzibar refund quokka"), 0);
	CHECK_INT(count_text(ix, "zanzibar", 0), 1);
	CHECK_INT(count_text(ix, "\"refund quok*\"", 0), 1);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_tr_unindexed(ix, count_unindexed, &s), 0);
	CHECK_INT(s.n, 0);
	idx_close(ix);
}

/* The first column of sql's first row on the SQLite index, -1 on error. */
static int64_t sqlite_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}
/* The instances in SQLite's blind FTS5 index (stale ones too: a search
 * joins them away), -1 on error. */
static int64_t tr_instances(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.trv USING fts5vocab(main, transcript_text,"
			     " 'instance')", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM temp.trv", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* IDX_MIG_TR_COMPACT (issue #19): SQLite's blind index holds each
 * transcript's tokens once (FTS5's own copy made it 2.6x larger); an index
 * from before is rebuilt without the key; a reindex and a delete leave no
 * entry behind; 40 transcripts of 300 words take < 9 KB each with all
 * their tables (7.2 KB measured; FTS5's copy alone was ~8 KB more). */
static void test_tr_compact(void)
{
	struct idx *ix = fresh();
	static const uint8_t key[IDX_TR_KEY_BYTES] = {7};
	idx_set_search_key(ix, key);
	int64_t a = insert(ix, simple("tc1@x", "alice", "bob", 1000, 10));
	int64_t b = insert(ix, simple("tc2@x", "carol", "dave", 2000, 10));
	struct idx_transcript t = {.call_row = a, .engine = "whisper", .words = 3,
				   .text = "zanzibar refund quokka", .created_us = 1};
	CHECK_INT(idx_transcript_put(ix, &t), 0);
	t = (struct idx_transcript){.call_row = b, .engine = "whisper", .words = 2,
				    .text = "refund walrus", .created_us = 1};
	CHECK_INT(idx_transcript_put(ix, &t), 0);
	idx_close(ix);
	char err[256];
	if (!pg_mode) {
		rewind_before(IDX_MIG_TR_COMPACT);
		CHECK_INT(sqlite_int("SELECT count(*) FROM transcript_text_content"), 2);
		CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
		CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
		idx_close(ix);
		CHECK_INT(sqlite_int("SELECT count(*) FROM sqlite_schema WHERE name ="
				     " 'transcript_text_content'"), 0);
		CHECK_INT(tr_instances(), 5);
	}
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	idx_set_search_key(ix, key);
	CHECK_INT(count_text(ix, "zanzibar", 0), 1);
	CHECK_INT(count_text(ix, "refund", 0), 2);
	/* a reindex moves the entry: the old one's tokens go */
	CHECK_INT(idx_tr_reindex(ix, a, 0, "zanzibar zanzibar okapi"), 0);
	CHECK_INT(count_text(ix, "quokka", 0), 0);
	CHECK_INT(count_text(ix, "\"zanzibar okapi\"", 0), 1);
	if (!pg_mode)
		CHECK_INT(tr_instances(), 5);
	/* put replaces (delete + insert), the call's delete takes the rest */
	t = (struct idx_transcript){.call_row = b, .engine = "whisper", .words = 1,
				    .text = "walrus", .created_us = 2};
	CHECK_INT(idx_transcript_put(ix, &t), 0);
	CHECK_INT(count_text(ix, "refund", 0), 0);
	CHECK_INT(idx_transcripts_delete(ix, a), 0);
	CHECK_INT(count_text(ix, "okapi", 0), 0);
	if (!pg_mode)
		CHECK_INT(tr_instances(), 1);
	/* the size: 40 transcripts of 300 words from 400 made-up ones */
	CHECK_INT(idx_begin(ix), 0);
	uint64_t r = 12345;
	for (int i = 0; i < 40; i++) {
		char cid[32], text[300 * 8] = "";
		size_t tl = 0;
		snprintf(cid, sizeof(cid), "tcs%d@x", i);
		int64_t id = insert(ix, simple(cid, "alice", "bob", 3000 + i, 5));
		for (int w = 0; w < 300; w++) {
			r = r * 6364136223846793005u + 1442695040888963407u;
			tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "%sw%x", w ? " " : "",
					       (unsigned)(r >> 33) % 400);
		}
		t = (struct idx_transcript){.call_row = id, .engine = "whisper", .words = 300,
					    .text = text, .created_us = 1};
		CHECK_INT(idx_transcript_put(ix, &t), 0);
	}
	CHECK_INT(idx_commit(ix), 0);
	idx_close(ix);
	if (!pg_mode) {
		/* the transcripts' tables, the FTS5 index's, the tokens' */
		int64_t bytes = sqlite_int("SELECT sum(pgsize) FROM dbstat WHERE name LIKE"
					   " 'transcript%' OR name LIKE '%tr_vocab%'");
		CHECK(bytes > 0 && bytes / 40 < 9000);
	}
}

struct ids_seen {
	int n;
	int64_t id[16];
};

static int see_ids(void *ud, const struct idx_call *c)
{
	struct ids_seen *s = ud;
	if (s->n < 16)
		s->id[s->n] = c->id;
	s->n++;
	return 0;
}

/* A term in more transcripts than the probe lists (IDX_TR_PROBE_MAX): the
 * page is the same newest (or oldest) calls, found by probing each call in
 * list order instead of reading every match. */
/* A call's findings as read back (NULL: none, or not opened). */
static int see_speech(void *ud, const struct idx_call *c)
{
	char *out = ud;
	snprintf(out, 200, "%s", c->speech.json ? c->speech.json : "(null)");
	return 0;
}

static void test_tr_common(void)
{
	struct idx *ix = fresh();
	static const uint8_t key[IDX_TR_KEY_BYTES] = {5};
	idx_set_search_key(ix, key);
	enum { N = IDX_TR_PROBE_MAX + 40 };
	int64_t id[N];
	CHECK_INT(idx_begin(ix), 0);
	for (int i = 0; i < N; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "common%d@x", i);
		id[i] = insert(ix, simple(cid, "alice", "bob", 1000 + i, 5));
		struct idx_transcript t = {.call_row = id[i], .channel = 0, .engine = "whisper",
					   .words = 2, .text = i % 2 ? "hello odd" : "hello even",
					   .created_us = 1};
		CHECK_INT(idx_transcript_put(ix, &t), 0);
	}
	CHECK_INT(idx_commit(ix), 0);
	struct idx_filter f = {.text = "hello", .newest_first = true, .limit = 10};
	struct ids_seen s = {0};
	CHECK_INT(idx_calls_list(ix, &f, see_ids, &s), 0);
	CHECK_INT(s.n, 10);
	CHECK_INT(s.id[0], id[N - 1]);
	CHECK_INT(s.id[9], id[N - 10]);
	f.text = "\"hello odd\"";
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_calls_list(ix, &f, see_ids, &s), 0);
	CHECK_INT(s.n, 10);
	CHECK_INT(s.id[0], id[N - 1]); /* N - 1 is odd */
	CHECK_INT(s.id[1], id[N - 3]);
	f.newest_first = false;
	f.text = "hell*";
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_calls_list(ix, &f, see_ids, &s), 0);
	CHECK_INT(s.id[0], id[0]);
	CHECK_INT(s.id[9], id[9]);
	f.text_party = IDX_CALLEE + 1;
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_calls_list(ix, &f, see_ids, &s), 0);
	CHECK_INT(s.n, 0);
	int64_t n = 0;
	f.text_party = 0;
	CHECK_INT(idx_calls_count(ix, &f, &n), 0);
	CHECK_INT(n, N);
	idx_close(ix);
}

static void test_transcripts(void)
{
	struct idx *ix = fresh();
	int64_t a = insert(ix, simple("tr1@x", "alice", "bob", 1000, 10));
	idx_close(ix);
	if (!pg_mode)
		rewind_before(IDX_MIG_TRANSCRIPT);
	char err[256];
	CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	CHECK_STR(idx_migrations[mig_step(IDX_MIG_TRANSCRIPT)].name, IDX_MIG_TRANSCRIPT);
	int64_t b = insert(ix, simple("tr2@x", "carol", "dave", 2000, 10));
	/* no key, no transcript: nothing enters an index no search could read */
	struct idx_transcript t0 = {.call_row = b, .channel = 0, .engine = "whisper", .words = 1,
				    .text = "hello", .created_us = 1};
	CHECK_INT(idx_transcript_put(ix, &t0), ES_EUNSUP);
	static const uint8_t key[IDX_TR_KEY_BYTES] = {7, 7, 7};
	idx_set_search_key(ix, key);

	bool added = false;
	CHECK_INT(idx_tr_enqueue(ix, a, 0, 100, false, &added), 0);
	CHECK(added);
	CHECK_INT(idx_tr_enqueue(ix, a, 1, 100, false, &added), 0);
	CHECK_INT(idx_tr_enqueue(ix, a, 0, 150, false, &added), 0);
	CHECK(!added); /* already there */
	CHECK_INT(idx_tr_enqueue(ix, 999999, 0, 100, false, &added), ES_ENOTFOUND);
	struct jobs_seen s = {0};
	CHECK_INT(idx_tr_claim(ix, 50, NULL, see_job, &s), ES_ENOTFOUND); /* not due yet */
	CHECK_INT(idx_tr_claim(ix, 200, "h:1", see_job, &s), 0);
	CHECK_STR(s.state[0], "running");
	CHECK_INT(idx_tr_job_fail(ix, s.id[0], "HTTP 500", 1000, false, 200), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_tr_claim(ix, 300, "h:2", see_job, &s), 0); /* the other channel */
	int64_t second = s.id[0];
	CHECK(second != 0);
	/* a stopped worker (h:2): its running job is due again */
	bool again = false;
	CHECK_INT(idx_tr_requeue_job(ix, second, "h:2", 400, &again), 0);
	CHECK(again);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_tr_jobs_list(ix, a, see_job, &s), 0);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.state[0], "retry");
	CHECK_INT(s.attempts[0], 1);
	CHECK_STR(s.state[1], "queued");
	CHECK_INT(idx_tr_job_done(ix, second, 500), 0);
	/* asked again: due now with its attempts reset */
	CHECK_INT(idx_tr_enqueue(ix, a, 0, 600, true, &added), 0);
	CHECK(added);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_tr_jobs_list(ix, a, see_job, &s), 0);
	CHECK_STR(s.state[0], "queued");
	CHECK_INT(s.attempts[0], 0);

	struct idx_transcript ta = {.call_row = a, .channel = 0, .engine = "whisper", .words = 6,
				    .times = "0,400,900,1500,2100,2600",
				    .text = "I would like a refund please", .created_us = 1};
	struct idx_transcript tb = {.call_row = a, .channel = 1, .engine = "whisper", .words = 4,
				    .times = "100,500,1000,1400", .text = "the refund is processed",
				    .created_us = 1};
	struct idx_transcript tc = {.call_row = b, .channel = 0, .engine = "whisper", .words = 3,
				    .times = "0,300,700", .text = "please hold the line",
				    .created_us = 1};
	CHECK_INT(idx_transcript_put(ix, &ta), 0);
	CHECK_INT(idx_transcript_put(ix, &tb), 0);
	CHECK_INT(idx_transcript_put(ix, &tc), 0);
	CHECK_INT(idx_transcript_put(ix, &tc), 0); /* replaced, not doubled */
	CHECK_INT(count_text(ix, "refund", 0), 1);
	CHECK_INT(count_text(ix, "please", 0), 2);
	CHECK_INT(count_text(ix, "\"refund please\"", 0), 1);
	CHECK_INT(count_text(ix, "\"please refund\"", 0), 0);
	CHECK_INT(count_text(ix, "refu*", 0), 1);
	CHECK_INT(count_text(ix, "proc*", IDX_CALLEE + 1), 1);
	CHECK_INT(count_text(ix, "proc*", IDX_CALLER + 1), 0);
	CHECK_INT(count_text(ix, "REFUND", 0), 1); /* any case */
	/* syntax is text: quotes, stars, colons and operators find nothing odd */
	CHECK_INT(count_text(ix, "text:refund", 0), 0);
	CHECK_INT(count_text(ix, "refund OR hold", 0), 0);
	CHECK_INT(count_text(ix, "\"unclosed refund", 0), 0);
	CHECK_INT(count_text(ix, "refund proc*", 0), 1); /* either party's words */
	CHECK_INT(count_text(ix, "\"the refund\" \"refund is\"", 0), 1);
	CHECK_INT(count_text(ix, "\"refund proc\"*", 0), 0); /* "refund is processed" */
	CHECK_INT(count_text(ix, "\"is proc\"*", 0), 1);
	CHECK_INT(count_text(ix, "\"is proc*\"", 0), 1);
	struct idx_filter f = {.text = "  * \"\" "};
	int64_t k = 0;
	CHECK_INT(idx_calls_list(ix, &f, count_calls_cb, &k), ES_EINVAL);
	f.text = "r*"; /* a prefix needs two letters */
	CHECK_INT(idx_calls_list(ix, &f, count_calls_cb, &k), ES_EINVAL);

	/* the hits of a page's call, from its words (decrypted by the API) */
	static const char *const wa[] = {"I", "would", "like", "a", "refund", "please"};
	static const int64_t ma[] = {0, 400, 900, 1500, 2100, 2600};
	static const char *const wb[] = {"the", "refund", "is", "processed"};
	static const int64_t mb[] = {100, 500, 1000, 1400};
	struct idx_tr_word twa[6], twb[4];
	for (int i = 0; i < 6; i++)
		twa[i] = (struct idx_tr_word){wa[i], ma[i]};
	for (int i = 0; i < 4; i++)
		twb[i] = (struct idx_tr_word){wb[i], mb[i]};
	struct hits_seen h = {0};
	CHECK_INT(idx_tr_hits_words("refund", 0, twa, 6, see_hit, &h), 0);
	CHECK_INT(idx_tr_hits_words("refund", 1, twb, 4, see_hit, &h), 0);
	CHECK_INT(h.n, 2);
	CHECK_INT(h.channel[0], 0);
	CHECK_INT(h.nat[0], 1);
	CHECK_INT(h.at[0][0], 2100);
	CHECK_STR(h.snippet[0], "...would like a [refund] please");
	CHECK_INT(h.at[1][0], 500);
	memset(&h, 0, sizeof(h));
	CHECK_INT(idx_tr_hits_words("\"a refund\"", 0, twa, 6, see_hit, &h), 0);
	CHECK_INT(idx_tr_hits_words("\"a refund\"", 1, twb, 4, see_hit, &h), 0);
	CHECK_INT(h.n, 1);
	CHECK_INT(h.nat[0], 2);
	CHECK_INT(h.at[0][0], 1500);
	CHECK_INT(h.at[0][1], 2100);
	memset(&h, 0, sizeof(h));
	CHECK_INT(idx_tr_hits_words("REFU* pleas*", 0, twa, 6, see_hit, &h), 0);
	CHECK_INT(idx_tr_hits_words("refund please", 1, twb, 4, see_hit, &h), 0);
	CHECK_INT(h.n, 1); /* the callee never said please */
	CHECK_INT(h.nat[0], 2);

	/* keyword hits keep their phrase as a token, found by the phrase */
	struct idx_kw_hit kh = {.channel = 0, .list = "churn", .category = "risk",
				.phrase = "a Refund", .start_ms = 1500, .end_ms = 2500};
	/* the findings name the phrase: sealed, opened for the call's page */
	static const char fjs[] = "{\"keywords\":[{\"phrase\":\"a Refund\"}]}";
	char seen[200];
	CHECK_INT(idx_call_set_speech(ix, a, fjs, false, 0, &kh, 1), 0);
	CHECK_INT(idx_call_get(ix, a, see_speech, seen), 0);
	CHECK_STR(seen, fjs);
	struct idx_filter fk = {.keyword = "a refund"};
	k = 0;
	CHECK_INT(idx_calls_list(ix, &fk, count_calls_cb, &k), 0);
	CHECK_INT(k, 1);
	fk.keyword = "refund";
	k = 0;
	CHECK_INT(idx_calls_list(ix, &fk, count_calls_cb, &k), 0);
	CHECK_INT(k, 0);
	fk.keyword = "RISK";
	k = 0;
	CHECK_INT(idx_calls_list(ix, &fk, count_calls_cb, &k), 0);
	CHECK_INT(k, 1);
	int64_t c3 = insert(ix, simple("tr3@x", "erin", "frank", 3000, 10));
	if (!pg_mode) {
		/* the index file holds none of the words, nor the phrase */
		idx_close(ix);
		CHECK(!file_has(dbpath, "refund") && !file_has(dbpath, "processed") &&
		      !file_has(dbpath, "please"));
		/* a sealed copy moved to another call does not open there;
		 * findings stored before the seal are sealed by the reseal */
		sqlite3 *db;
		char sql[300];
		snprintf(sql, sizeof(sql),
			 "UPDATE calls SET speech_json = (SELECT speech_json FROM calls WHERE"
			 " id = %lld) WHERE id = %lld; UPDATE calls SET speech_json ="
			 " '{\"old\":\"plain words\"}' WHERE id = %lld",
			 (long long)a, (long long)b, (long long)c3);
		CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
		CHECK_INT(idx_call_get(ix, a, see_speech, seen), 0);
		CHECK_STR(seen, "(null)"); /* no key: the call without its findings */
		idx_set_search_key(ix, key);
		CHECK_INT(idx_call_get(ix, b, see_speech, seen), 0);
		CHECK_STR(seen, "(null)");
		unsigned resealed = 0;
		CHECK_INT(idx_speech_reseal(ix, &resealed), 0);
		CHECK_INT(resealed, 1);
		CHECK_INT(idx_speech_reseal(ix, &resealed), 0);
		CHECK_INT(resealed, 0);
		CHECK_INT(idx_call_get(ix, c3, see_speech, seen), 0);
		CHECK_STR(seen, "{\"old\":\"plain words\"}");
		idx_close(ix);
		CHECK(!file_has(dbpath, "plain words"));
		CHECK_INT(idx_open(&ix, dbpath, err, sizeof(err)), 0);
		idx_set_search_key(ix, key);
	}

	CHECK_INT(idx_transcripts_delete(ix, a), 0);
	CHECK_INT(count_text(ix, "refund", 0), 0);
	CHECK_INT(count_text(ix, "please", 0), 1);
	memset(&s, 0, sizeof(s));
	CHECK_INT(idx_tr_jobs_list(ix, a, see_job, &s), 0);
	CHECK_INT(s.n, 0);
	idx_close(ix);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--pg"))
		return main_pg();
	setup();
	es_log_set_level(ES_LOG_WARN);
	RUN(test_open_schema);
	RUN(test_tags_notes);
	RUN(test_not_sqlite);
	RUN(test_roundtrip);
	RUN(test_many_children);
	RUN(test_duplicates);
	RUN(test_filters);
	RUN(test_pagination);
	RUN(test_recordings);
	RUN(test_migrate_v1);
	RUN(test_migrate_v7);
	RUN(test_migrate_v8);
	RUN(test_migrate_v9);
	RUN(test_migrate_subject);
	RUN(test_migrate_quality);
	RUN(test_migrate_talk);
	RUN(test_migrate_checks);
	RUN(test_migrate_nodes);
	RUN(test_transcripts);
	RUN(test_tr_blind_migrate);
	RUN(test_tr_common);
	RUN(test_tr_compact);
	RUN(test_party_fts);
	RUN(test_migrate_consent);
	RUN(test_searches);
	RUN(test_stats);
	RUN(test_migrate_searches);
	RUN(test_qa);
	RUN(test_migrate_mfa);
	RUN(test_bookmarks);
	RUN(test_migrate_bookmarks);
	RUN(test_tr_claim_owner);
	RUN(test_search_fast);
	RUN(test_search_timeout);
	RUN(test_import_plans);
	RUN(test_shared_keys);
	teardown();
	return CHECK_DONE();
}
