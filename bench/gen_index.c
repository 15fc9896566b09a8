/*
 * gen_index.c - a seeded generator of a large call index for the API load
 * benchmark (bench/api_load.sh).  Every row goes through the index layer
 * (idx_call_insert, idx_tag_add), so the tables, search indexes and
 * migrations are the real ones.  The calls have no recordings: the
 * benchmark imports a few dozen real ones beside them.
 *
 * The calls: an office of 400 agents (extensions 1000..1399, named) and
 * 20,000 outside numbers (+1 555 ..., a third of them with a caller name),
 * spread over six months, weighted to working hours on weekdays; outcomes,
 * durations (log-normal, median ~2 min), codecs, stream quality, events,
 * SIP messages, flags, sources and tags in proportions of a call centre.
 *
 * With --queries FILE it also writes search requests that match the data:
 * one a line, "QUERY_STRING<TAB>SQL", the SQL being what the search runs
 * (src/index/query.c build_sql, with the values inline) for the
 * sqlite3 CLI peer.
 *
 *   gen_index --data DIR [--index URL] [--calls N] [--seed N] [--queries FILE] [--nqueries N]
 *
 * --index: a PostgreSQL index (index.h) instead of DIR/index.sqlite; the
 * seconds taken are printed, for the engines' insert rates side by side
 * (bench/index_pg.sh).
 */
#include "core/core.h"
#include "index/index.h"
/* bench only: --copies multiplies the rows in SQL through the statement
 * layer (the product never does this; it writes through index.h) */
#include "index/db.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define GI_AGENTS 400
#define GI_OUTSIDE 20000
#define GI_BATCH 5000
#define GI_DAYS 183
/* 2026-06-01T00:00:00Z */
#define GI_EPOCH_S INT64_C(1780272000)

static const char *const first_names[] = {
	"Maria",  "James",   "Mary",    "Robert", "Linda",  "Michael", "Marco",   "Sofia",
	"David",  "Sarah",   "Thomas",  "Karen",  "Daniel", "Nancy",   "Mark",    "Lisa",
	"Paul",   "Sandra",  "Steven",  "Ashley", "Andrew", "Emily",   "Joshua",  "Donna",
	"Kevin",  "Michelle","Brian",   "Carol",  "George", "Amanda",  "Martin",  "Margaret",
	"Ahmed",  "Fatima",  "Wei",     "Mei",    "Hiroshi","Yuki",    "Olga",    "Ivan",
	"Pierre", "Claire",  "Hans",    "Greta",  "Luca",   "Giulia",  "Pedro",   "Ana"};
static const char *const last_names[] = {
	"Smith",   "Johnson", "Williams", "Brown",    "Jones",  "Garcia",  "Miller",  "Davis",
	"Martinez","Lopez",   "Wilson",   "Anderson", "Taylor", "Thomas",  "Moore",   "Martin",
	"Jackson", "Lee",     "Harris",   "Clark",    "Lewis",  "Walker",  "Hall",    "Allen",
	"Young",   "King",    "Wright",   "Scott",    "Green",  "Baker",   "Adams",   "Nelson",
	"Muller",  "Schmidt", "Rossi",    "Bianchi",  "Dubois", "Moreau",  "Tanaka",  "Sato",
	"Chen",    "Wang",    "Ivanov",   "Petrova",  "Silva",  "Santos",  "Kowalski","Novak"};
static const char *const tags[] = {"complaint", "sales",   "escalation", "training",
				   "vip",       "callback", "fraud-review", "billing"};
static const char *const agent_uas[] = {"Yealink SIP-T46U 66.86.0.15", "Polycom/6.4.3 VVX-450",
					"Zoiper rv2.10.19", "Cisco-CP8845/14.2"};
static const char *const trunk_uas[] = {"Asterisk PBX 20.5.0", "FreeSWITCH-mod_sofia/1.10.11",
					"Kamailio (5.7.2)", "Sonus SBC"};

struct codec {
	const char *pts, *names;
	int weight;
};
static const struct codec codecs[] = {
	{"0,101", "PCMU,telephone-event", 40}, {"8,101", "PCMA,telephone-event", 25},
	{"9,101", "G722,telephone-event", 15}, {"111,101", "opus,telephone-event", 10},
	{"18", "G729", 7},                     {"3", "GSM", 3}};

struct outcome {
	const char *name, *end_reason;
	int code, weight;
};
static const struct outcome outcomes[] = {
	{"answered", "bye", 200, 720},        {"no_answer", "final_response", 408, 80},
	{"busy", "final_response", 486, 60},  {"cancelled", "cancel", 487, 80},
	{"rejected", "final_response", 603, 25}, {"failed", "final_response", 503, 20},
	{"redirected", "final_response", 302, 10}, {"in_progress", "capture_end", 0, 5}};

/* xorshift64*: seeded, the same bytes every run. */
struct rng {
	uint64_t s;
};
static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * UINT64_C(2685821657736338717);
}
static unsigned rndn(struct rng *r, unsigned n) { return (unsigned)(rnd(r) % n); }
static double rndf(struct rng *r) { return (double)(rnd(r) >> 11) / 9007199254740992.0; }
static double rnd_normal(struct rng *r)
{
	double u = rndf(r) + 1e-12, v = rndf(r);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static unsigned pick_weighted(struct rng *r, const int *w, unsigned n)
{
	int total = 0;
	for (unsigned i = 0; i < n; i++)
		total += w[i];
	int x = (int)rndn(r, (unsigned)total);
	for (unsigned i = 0; i < n; i++)
		if ((x -= w[i]) < 0)
			return i;
	return n - 1;
}

struct person {
	char number[24];
	char display[48]; /* "" = none */
};

static struct person agents[GI_AGENTS];
static struct person outside[GI_OUTSIDE];

static void people_init(struct rng *r)
{
	for (unsigned i = 0; i < GI_AGENTS; i++) {
		snprintf(agents[i].number, sizeof(agents[i].number), "%u", 1000 + i);
		snprintf(agents[i].display, sizeof(agents[i].display), "%s %s",
			 first_names[rndn(r, NELEM(first_names))], last_names[rndn(r, NELEM(last_names))]);
	}
	for (unsigned i = 0; i < GI_OUTSIDE; i++) {
		snprintf(outside[i].number, sizeof(outside[i].number), "+1555%07u",
			 (unsigned)(1000000 + rndn(r, 9000000)));
		if (rndn(r, 3) == 0)
			snprintf(outside[i].display, sizeof(outside[i].display), "%s %s",
				 first_names[rndn(r, NELEM(first_names))],
				 last_names[rndn(r, NELEM(last_names))]);
		else
			outside[i].display[0] = '\0';
	}
}

/* A start time: a weekday (weekends get a tenth of the calls), working
 * hours 08..18 local (UTC here) with a lunch dip; a few at night. */
static int64_t pick_start(struct rng *r)
{
	for (;;) {
		int64_t day = rndn(r, GI_DAYS);
		int dow = (int)((day + 1) % 7); /* 2026-06-01 is a Monday: 1 */
		bool weekend = dow == 6 || dow == 0;
		if (weekend && rndn(r, 10))
			continue;
		double h;
		if (rndn(r, 20) == 0)
			h = rndf(r) * 24.0;
		else {
			h = 8.0 + rndf(r) * 10.0;
			if (h >= 12.0 && h < 13.5 && rndn(r, 2))
				continue;
		}
		int64_t s = GI_EPOCH_S + day * 86400 + (int64_t)(h * 3600.0);
		return s * ES_US_PER_SEC + rndn(r, 1000000);
	}
}

struct gen_call {
	char call_id[64];
	char uri[2][96], pai[96], sdp[2][ES_ADDR_STRLEN], src[2][ES_ADDR_STRLEN];
	char flags[64], extra[64], events_detail[4][32];
	struct idx_stream streams[2];
	struct idx_event events[4];
	struct idx_msg msgs[7];
	const char *tag[2];
	unsigned ntags;
};

static void fill_party(struct idx_party *p, const struct person *who, bool agent, char *uri,
		       size_t urilen, const char *sdp, struct rng *r)
{
	snprintf(uri, urilen, "sip:%s@%s", who->number, agent ? "pbx.example.com" : "trunk.carrier.net");
	p->uri = uri;
	p->user = who->number;
	p->display = who->display[0] ? who->display : NULL;
	p->pai = NULL;
	p->ua = agent ? agent_uas[rndn(r, NELEM(agent_uas))] : trunk_uas[rndn(r, NELEM(trunk_uas))];
	p->sdp_addr = sdp;
}

static void add_msg(struct gen_call *g, struct idx_call *c, int64_t ts, const char *label,
		    uint32_t cseq, const char *method, bool sdp, bool from_caller)
{
	struct idx_msg *m = &g->msgs[c->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->ts_us = ts;
	m->frame = c->nmsgs;
	snprintf(m->src, sizeof(m->src), "%s", from_caller ? g->src[0] : g->src[1]);
	snprintf(m->dst, sizeof(m->dst), "%s", from_caller ? g->src[1] : g->src[0]);
	m->transport = "udp";
	m->label = label;
	m->cseq = cseq;
	m->cseq_method = method;
	m->has_sdp = sdp;
}

static void make_call(struct rng *r, unsigned n, struct gen_call *g, struct idx_call *c)
{
	static const char *const sources[] = {"live", "siprec", "import"};
	static const int source_w[] = {70, 25, 5};
	int ow[NELEM(outcomes)], cw[NELEM(codecs)];
	for (unsigned i = 0; i < NELEM(outcomes); i++)
		ow[i] = outcomes[i].weight;
	for (unsigned i = 0; i < NELEM(codecs); i++)
		cw[i] = codecs[i].weight;

	memset(g, 0, sizeof(*g));
	memset(c, 0, sizeof(*c));
	/* Outside numbers repeat: a few customers call often (Zipf-like). */
	unsigned oi = (unsigned)(pow(rndf(r), 2.5) * GI_OUTSIDE) % GI_OUTSIDE;
	const struct person *agent = &agents[rndn(r, GI_AGENTS)], *ext = &outside[oi];
	bool inbound = rndn(r, 100) < 65, internal = rndn(r, 100) < 8;
	if (internal)
		ext = &agents[rndn(r, GI_AGENTS)];
	const struct person *caller = inbound ? ext : agent, *callee = inbound ? agent : ext;

	snprintf(g->call_id, sizeof(g->call_id), "%016" PRIx64 "@%s", rnd(r),
		 inbound ? "10.20.0.1" : "pbx.example.com");
	snprintf(g->src[0], ES_ADDR_STRLEN, "10.20.%u.%u:5060", rndn(r, 4), 1 + rndn(r, 250));
	snprintf(g->src[1], ES_ADDR_STRLEN, "10.30.%u.%u:5060", rndn(r, 4), 1 + rndn(r, 250));
	snprintf(g->sdp[0], ES_ADDR_STRLEN, "10.20.%u.%u:%u", rndn(r, 4), 1 + rndn(r, 250),
		 10000 + 2 * rndn(r, 10000));
	snprintf(g->sdp[1], ES_ADDR_STRLEN, "10.30.%u.%u:%u", rndn(r, 4), 1 + rndn(r, 250),
		 10000 + 2 * rndn(r, 10000));
	fill_party(&c->caller, caller, !inbound || internal, g->uri[0], sizeof(g->uri[0]), g->sdp[0], r);
	fill_party(&c->callee, callee, inbound || internal, g->uri[1], sizeof(g->uri[1]), g->sdp[1], r);
	if (inbound && !internal && rndn(r, 4) == 0) {
		snprintf(g->pai, sizeof(g->pai), "sip:%s@carrier.net;user=phone", caller->number);
		c->caller.pai = g->pai;
	}

	const struct outcome *o = &outcomes[pick_weighted(r, ow, NELEM(outcomes))];
	c->call_id = g->call_id;
	c->start_us = pick_start(r);
	c->outcome = o->name;
	c->sip_code = o->code;
	c->end_reason = o->end_reason;
	c->source = sources[pick_weighted(r, source_w, NELEM(sources))];
	c->rule = rndn(r, 10) == 0 ? "compliance" : NULL;
	int64_t ring = (int64_t)(2 + rndn(r, 20)) * ES_US_PER_SEC + rndn(r, 1000000);
	bool answered = !strcmp(o->name, "answered");
	int64_t dur = 0;
	if (answered) {
		/* log-normal, median e^4.8 = 121 s, rarely over an hour */
		double s = exp(4.8 + 1.1 * rnd_normal(r));
		if (s < 1.0)
			s = 1.0;
		if (s > 7200.0)
			s = 7200.0;
		dur = (int64_t)(s * 1e6);
		c->answer_us = c->start_us + ring;
		c->end_us = c->answer_us + dur;
	} else
		c->end_us = c->start_us + ring;

	/* flags: quality and capture conditions */
	g->flags[0] = '\0';
	if (answered && rndn(r, 100) < 3)
		strcat(g->flags, "one_way,");
	if (rndn(r, 100) < 2)
		strcat(g->flags, "forked,");
	if (answered && rndn(r, 200) == 0)
		strcat(g->flags, "no_media,");
	if (rndn(r, 50) == 0)
		strcat(g->flags, "not_recorded,");
	size_t fl = strlen(g->flags);
	if (fl)
		g->flags[fl - 1] = '\0';
	c->flags = fl ? g->flags : NULL;
	if (inbound && rndn(r, 3) == 0) {
		snprintf(g->extra, sizeof(g->extra), "{\"X-Queue\":\"%s\"}",
			 (const char *[]){"support", "sales", "billing", "retention"}[rndn(r, 4)]);
		c->extra_json = g->extra;
	}

	/* SIP messages */
	add_msg(g, c, c->start_us, "INVITE", 1, "INVITE", true, true);
	add_msg(g, c, c->start_us + 30000, "100 Trying", 1, "INVITE", false, false);
	add_msg(g, c, c->start_us + ring / 3, "180 Ringing", 1, "INVITE", false, false);
	if (answered) {
		add_msg(g, c, c->answer_us, "200 OK", 1, "INVITE", true, false);
		add_msg(g, c, c->answer_us + 20000, "ACK", 1, "ACK", false, true);
		add_msg(g, c, c->end_us, "BYE", 2, "BYE", false, rndn(r, 2));
		add_msg(g, c, c->end_us + 15000, "200 OK", 2, "BYE", false, false);
	} else if (!strcmp(o->name, "cancelled")) {
		add_msg(g, c, c->end_us, "CANCEL", 1, "CANCEL", false, true);
	} else if (o->code) {
		static char label[5][24];
		snprintf(label[0], sizeof(label[0]), "%d", o->code);
		add_msg(g, c, c->end_us, label[0], 1, "INVITE", false, false);
	}

	/* streams: both ways when answered, early media sometimes */
	if (answered && !strstr(g->flags, "no_media")) {
		const struct codec *k = &codecs[pick_weighted(r, cw, NELEM(codecs))];
		for (int p = 0; p < 2; p++) {
			if (p == 1 && strstr(g->flags, "one_way"))
				break;
			struct idx_stream *s = &g->streams[c->nstreams++];
			s->party = p;
			s->ssrc = (uint32_t)rnd(r);
			memcpy(s->src, g->sdp[p], sizeof(g->sdp[p]));
			memcpy(s->dst, g->sdp[!p], sizeof(g->sdp[!p]));
			s->payload_types = k->pts;
			s->codecs = k->names;
			s->expected = (uint64_t)(dur / 20000);
			/* most calls clean, a tail with loss and jitter */
			bool bad = rndn(r, 100) < 7;
			double lossp = bad ? 0.5 + rndf(r) * 8.0 : rndf(r) * 0.2;
			s->lost = (int64_t)((double)s->expected * lossp / 100.0);
			s->packets = s->expected - (uint64_t)s->lost;
			s->duplicates = rndn(r, 50) == 0 ? rndn(r, 20) : 0;
			s->out_of_order = bad ? rndn(r, 40) : 0;
			s->jitter_mean_ms = bad ? 8.0 + rndf(r) * 40.0 : 0.3 + rndf(r) * 3.0;
			s->jitter_max_ms = s->jitter_mean_ms * (2.0 + rndf(r) * 4.0);
			s->delta_max_ms = 20.0 + s->jitter_max_ms * 1.5;
			s->first_us = c->answer_us + 40000;
			s->last_us = c->end_us - 20000;
		}
		c->streams = g->streams;
	}

	/* events: DTMF menus, hold and resume */
	if (answered) {
		if (rndn(r, 5) == 0) {
			struct idx_event *e = &g->events[c->nevents];
			snprintf(g->events_detail[c->nevents], 32, "%c 120ms", "0123456789*#"[rndn(r, 12)]);
			e->ts_us = c->answer_us + ES_US_PER_SEC * (1 + rndn(r, 10));
			e->kind = "dtmf";
			e->party = IDX_CALLER;
			e->detail = g->events_detail[c->nevents++];
		}
		if (dur > 60 * ES_US_PER_SEC && rndn(r, 8) == 0) {
			int64_t at = c->answer_us + dur / 3;
			g->events[c->nevents++] = (struct idx_event){at, "hold", IDX_CALLEE, NULL};
			g->events[c->nevents++] =
				(struct idx_event){at + dur / 6, "resume", IDX_CALLEE, NULL};
		}
		c->events = g->events;
	}
	c->msgs = g->msgs;

	/* tags: about one call in eight */
	g->ntags = 0;
	if (rndn(r, 8) == 0)
		g->tag[g->ntags++] = tags[pick_weighted(r, (const int[]){14, 20, 6, 10, 4, 12, 1, 10},
							  NELEM(tags))];
	if (g->ntags && rndn(r, 10) == 0) {
		const char *t = tags[rndn(r, NELEM(tags))];
		if (strcmp(t, g->tag[0]))
			g->tag[g->ntags++] = t;
	}
	(void)n;
}

/* ---- queries ---------------------------------------------------------------------- */

static void fmt_time(char *dst, size_t n, int64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(dst, n, "%Y-%m-%dT%H:%MZ", &tm);
}

/* SQL escaping of a literal: ' doubled. */
static void sql_lit(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	for (; *s && o + 3 < n; s++) {
		if (*s == '\'')
			dst[o++] = '\'';
		dst[o++] = *s;
	}
	dst[o] = '\0';
}

/* One search: its query string and the SQL of its first page (LIMIT
 * limit + 1, as the server stops after one more row than the page). */
static void write_query(FILE *f, struct rng *r)
{
	char qs[512] = "", where[1024] = "", tmp[256];
	unsigned limit = (const unsigned[]){25, 50, 50, 50, 100}[rndn(r, 5)];
	unsigned kind = rndn(r, 100);
	int64_t from = GI_EPOCH_S + (int64_t)rndn(r, GI_DAYS - 7) * 86400;
	size_t q = 0, w = 0;
#define QS(...) (q += (size_t)snprintf(qs + q, sizeof(qs) - q, __VA_ARGS__))
#define WH(...) (w += (size_t)snprintf(where + w, sizeof(where) - w, __VA_ARGS__))
	const char *party = NULL;
	char pbuf[48];
	if (kind < 25) { /* a number: whole, or its first digits */
		const struct person *p = rndn(r, 3) ? &outside[(unsigned)(pow(rndf(r), 2.5) * GI_OUTSIDE)
							       % GI_OUTSIDE]
						 : &agents[rndn(r, GI_AGENTS)];
		snprintf(pbuf, sizeof(pbuf), "%s", p->number);
		if (rndn(r, 3) == 0 && strlen(pbuf) > 8)
			pbuf[8] = '\0';
		party = pbuf;
	} else if (kind < 45) { /* a name, or the first letters typed */
		const char *nm = rndn(r, 2) ? last_names[rndn(r, NELEM(last_names))]
					    : first_names[rndn(r, NELEM(first_names))];
		snprintf(pbuf, sizeof(pbuf), "%s", nm);
		if (rndn(r, 2))
			pbuf[3 + rndn(r, 2)] = '\0';
		party = pbuf;
	}
	if (party) {
		QS("party=%s", party[0] == '+' ? "%2B" : "");
		QS("%s", party[0] == '+' ? party + 1 : party);
		sql_lit(tmp, sizeof(tmp), party);
		WH(" AND EXISTS (SELECT 1 FROM parties p WHERE p.call_row = c.id"
		   " AND (p.uri LIKE '%%%s%%' ESCAPE '\\' OR p.user LIKE '%%%s%%' ESCAPE '\\'"
		   " OR p.display LIKE '%%%s%%' ESCAPE '\\' OR p.pai LIKE '%%%s%%' ESCAPE '\\'))",
		   tmp, tmp, tmp, tmp);
	}
	/* a time range on most searches: a day, a week or a month */
	if (kind >= 45 || rndn(r, 2)) {
		int64_t span = (const int64_t[]){1, 1, 7, 7, 30}[rndn(r, 5)] * 86400;
		char a[32], b[32];
		fmt_time(a, sizeof(a), from);
		fmt_time(b, sizeof(b), from + span);
		QS("%sfrom=%s&to=%s", q ? "&" : "", a, b);
		WH(" AND c.start_us >= %" PRId64 " AND c.start_us < %" PRId64, from * ES_US_PER_SEC,
		   (from + span) * ES_US_PER_SEC);
	}
	if (kind >= 45 && kind < 60) {
		const char *o = (const char *[]){"answered", "no_answer", "busy", "cancelled",
						 "failed"}[rndn(r, 5)];
		QS("%soutcome=%s", q ? "&" : "", o);
		WH(" AND c.outcome = '%s'", o);
	}
	if ((kind >= 60 && kind < 72) || rndn(r, 10) == 0) {
		unsigned d = (const unsigned[]){30, 60, 300, 600, 1800}[rndn(r, 5)];
		QS("%smin_duration=%u", q ? "&" : "", d);
		WH(" AND c.answer_us <> 0 AND c.end_us - c.answer_us >= %" PRId64,
		   (int64_t)d * ES_US_PER_SEC);
	}
	if (kind >= 72 && kind < 87) {
		const char *t = tags[rndn(r, NELEM(tags))];
		QS("%stag=%s", q ? "&" : "", t);
		/* the server tests the tag per row in C (idx_call_has_tag) */
		WH(" AND EXISTS (SELECT 1 FROM call_tags t WHERE t.call_row = c.id"
		   " AND t.tag = '%s' COLLATE NOCASE)", t);
	}
	QS("%slimit=%u", q ? "&" : "", limit);
	fprintf(f,
		"%s\tSELECT c.id, c.call_id, c.start_us, c.answer_us, c.end_us, c.outcome"
		" FROM calls c WHERE 1%s ORDER BY c.start_us, c.id LIMIT %u;\n",
		qs, where, limit + 1);
#undef QS
#undef WH
}

/* ---- main ---------------------------------------------------------------------------- */

/* The tables a generated call has rows in, copied by --copies. */
static const char *const copy_tables[] = {"calls", "parties", "streams", "events", "sip_msgs",
					  "call_tags"};

/* Column list of table t, each name quoted ("user" is reserved in
 * PostgreSQL), into b; id and call_row shifted by off and call_id given
 * the suffix sfx into sel. */
static int copy_cols(struct idx *ix, const char *t, int64_t off, const char *sfx,
		     struct es_buf *cols, struct es_buf *sel)
{
	char q[256];
	if (db_is_pg(ix))
		snprintf(q, sizeof(q),
			 "SELECT column_name FROM information_schema.columns WHERE table_name = '%s'"
			 " ORDER BY ordinal_position", t);
	else
		snprintf(q, sizeof(q), "SELECT name FROM pragma_table_info('%s') ORDER BY cid", t);
	struct idx_st *st = NULL;
	int err = db_prepare(ix, q, &st), rc, n = 0;
	if (err)
		return err;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		const char *c = db_col_text(st, 0), *sep = n++ ? ", " : "";
		err = es_buf_printf(cols, "%s\"%s\"", sep, c);
		if (err)
			break;
		if (!strcmp(c, "call_row") || (!strcmp(c, "id") && !strcmp(t, "calls")))
			err = es_buf_printf(sel, "%s\"%s\" + %lld", sep, c, (long long)off);
		else if (!strcmp(c, "call_id"))
			err = es_buf_printf(sel, "%s\"%s\" || '%s'", sep, c, sfx);
		else
			err = es_buf_printf(sel, "%s\"%s\"", sep, c);
	}
	db_finalize(st);
	return err ? err : n ? 0 : ES_EDB;
}

/* --copies K: the first ncalls calls (ids 1..base) again K-1 times in SQL,
 * one transaction a copy, call ids shifted by base and Call-IDs suffixed:
 * the same distribution at K times the density, at the server's speed
 * instead of one round trip a row. */
static int copy_calls(struct idx *ix, int64_t base, unsigned long k)
{
	int err = 0;
	for (unsigned long i = 1; i < k && !err; i++) {
		if ((err = idx_begin(ix)))
			break;
		for (size_t t = 0; t < ES_ARRAY_LEN(copy_tables) && !err; t++) {
			struct es_buf cols, sel, q;
			es_buf_init(&cols);
			es_buf_init(&sel);
			es_buf_init(&q);
			char sfx[32];
			snprintf(sfx, sizeof(sfx), "-c%lu", i);
			err = copy_cols(ix, copy_tables[t], (int64_t)i * base, sfx, &cols, &sel);
			if (!err)
				err = es_buf_printf(&q, "INSERT INTO %s (%.*s) SELECT %.*s FROM %s WHERE %s <= %lld",
						    copy_tables[t], (int)cols.len, (const char *)cols.p,
						    (int)sel.len, (const char *)sel.p, copy_tables[t],
						    t ? "call_row" : "id", (long long)base);
			if (!err)
				err = es_buf_append(&q, "", 1);
			struct idx_st *st = NULL;
			if (!err && !(err = db_prepare(ix, (const char *)q.p, &st)))
				err = db_step(st) == DB_DONE ? 0 : ES_EDB;
			db_finalize(st);
			es_buf_free(&cols);
			es_buf_free(&sel);
			es_buf_free(&q);
		}
		if (!err)
			err = idx_commit(ix);
		else
			idx_rollback(ix);
	}
	/* the ids were given, not drawn: PostgreSQL's sequence must move past
	 * them, or the next call entered (an import after this) collides */
	struct idx_st *st = NULL;
	if (!err && db_is_pg(ix) &&
	    !(err = db_prepare(ix, "SELECT setval(pg_get_serial_sequence('calls', 'id'),"
				   " (SELECT max(id) FROM calls))", &st)))
		err = db_step(st) == DB_ROW ? 0 : ES_EDB;
	db_finalize(st);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gen_index --data DIR [--calls N] [--seed N] [--queries FILE] "
		   "[--nqueries N] [--recordings] [--index URL] [--copies K]\n"
		   "Adds N generated calls (default 100000) to DIR/index.sqlite through the\n"
		   "index layer; --queries writes N (default 2000) matching searches;\n"
		   "--recordings gives each answered call a recording row (no file: for\n"
		   "bench/retention.sh, which deletes them).  --copies K (into an empty\n"
		   "index) then repeats those calls K-1 times in SQL (Call-IDs suffixed):\n"
		   "N*K calls at the server's speed, for 1,000,000 (bench/index_pg.sh).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"calls", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {"queries", required_argument, NULL, 'q'},
					     {"nqueries", required_argument, NULL, 'Q'},
					     {"recordings", no_argument, NULL, 'R'},
					     {"index", required_argument, NULL, 'i'},
					     {"copies", required_argument, NULL, 'k'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool recs = false;
	const char *data = NULL, *qpath = NULL, *index = NULL;
	unsigned long ncalls = 100000, nq = 2000, seed = 1, copies = 1;
	int o;
	while ((o = getopt_long(argc, argv, "d:n:s:q:Q:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': data = optarg; break;
		case 'n': ncalls = strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoul(optarg, NULL, 10); break;
		case 'q': qpath = optarg; break;
		case 'Q': nq = strtoul(optarg, NULL, 10); break;
		case 'R': recs = true; break;
		case 'i': index = optarg; break;
		case 'k': copies = strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!data) {
		usage(stderr);
		return 2;
	}
	struct rng r = {UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)seed * UINT64_C(0x100000001b3))};
	rnd(&r);
	people_init(&r);

	char path[4096], err[256];
	mkdir(data, 0700);
	snprintf(path, sizeof(path), "%s/index.sqlite", data);
	if (index)
		snprintf(path, sizeof(path), "%s", index);
	int64_t t0 = es_mono_us();
	struct idx *ix = NULL;
	if (idx_open(&ix, path, err, sizeof(err))) {
		fprintf(stderr, "gen_index: %s: %s\n", path, err);
		return 1;
	}
	struct gen_call g;
	struct idx_call c;
	unsigned long dup = 0, ntag = 0;
	int rc = 0;
	for (unsigned long i = 0; i < ncalls && !rc; i++) {
		if (i % GI_BATCH == 0 && (rc = idx_begin(ix)))
			break;
		make_call(&r, (unsigned)i, &g, &c);
		bool d = false;
		if ((rc = idx_call_insert(ix, &c, &d)))
			break;
		dup += d;
		for (unsigned t = 0; t < g.ntags && !d && !rc; t++, ntag++)
			rc = idx_tag_add(ix, c.id, g.tag[t], "gen_index", c.end_us + ES_US_PER_SEC);
		if (recs && !d && !rc && c.answer_us) {
			/* about 4 kB/s: Opus at 32 kbit/s, as the recorder writes */
			char rp[64];
			snprintf(rp, sizeof(rp), "recordings/gen/%lu.opus", i);
			int64_t dur = c.end_us - c.answer_us;
			struct idx_recording rec = {.call_row = c.id, .path = rp, .format = "opus",
						    .bytes = (uint64_t)(dur / 250), .sha256 = "-",
						    .start_us = c.answer_us, .duration_us = dur,
						    .rate = 8000, .channels = 2,
						    .created_us = c.end_us};
			rc = idx_recording_insert(ix, &rec);
		}
		if (!rc && (i % GI_BATCH == GI_BATCH - 1 || i + 1 == ncalls))
			rc = idx_commit(ix);
	}
	if (rc) {
		fprintf(stderr, "gen_index: insert: %s (%s)\n", es_strerror(rc), idx_errmsg(ix));
		idx_rollback(ix);
		idx_close(ix);
		return 1;
	}
	int64_t total = 0;
	idx_count_calls(ix, &total);
	if (copies > 1 && (rc = copy_calls(ix, total, copies))) {
		fprintf(stderr, "gen_index: --copies: %s (%s)\n", es_strerror(rc), idx_errmsg(ix));
		idx_close(ix);
		return 1;
	}
	idx_count_calls(ix, &total);
	idx_close(ix);
	double secs = (double)(es_mono_us() - t0) / 1e6;
	printf("gen_index: %lu calls added (%lu duplicates), %lu tags; %" PRId64
	       " calls in the index; %.1f s, %.0f calls/s (%s)\n",
	       ncalls - dup, dup, ntag, total, secs,
	       (double)(ncalls - dup) * (double)copies / (secs > 0 ? secs : 1),
	       index ? "postgresql" : "sqlite");

	if (qpath) {
		FILE *f = fopen(qpath, "w");
		if (!f) {
			perror(qpath);
			return 1;
		}
		for (unsigned long i = 0; i < nq; i++)
			write_query(f, &r);
		if (fclose(f)) {
			perror(qpath);
			return 1;
		}
	}
	return 0;
}
