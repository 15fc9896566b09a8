/*
 * test_policy.c - the recording rules: a table of calls against one
 * configuration, sampling, time zones against glibc, and bad configs.
 *
 * Europe/Berlin in 2025: CET (UTC+1) until Sun 30 March 01:00 UTC, CEST
 * (UTC+2) until Sun 26 October 01:00 UTC.  The table's times are UTC.
 */
#include "check.h"
#include "core/config.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"

#include <stdlib.h>
#include <time.h>

static const char rules_conf[] =
	"[recording]\n"
	"default = record\n"
	"timezone = Europe/Berlin\n"
	"\n"
	"[networks]\n"
	"local = 10.0.0.0/8, 192.168.0.0/16\n"
	"local = 2001:db8:100::/48\n"
	"local_numbers = 1000-1999, +4930555*\n"
	"\n"
	"[do-not-record]\n"
	"number = +4930555123\n"
	"number = 0800*, 110\n"
	"\n"
	"[rule lawyers]          ; never the legal department\n"
	"action = skip\n"
	"number = 17[0-9][0-9]\n"
	"\n"
	"[rule partner]\n"
	"action = record\n"
	"domain = *.partner.example, partner.example\n"
	"\n"
	"[rule sales-inbound]\n"
	"action = record\n"
	"direction = inbound\n"
	"callee = 1200-1299\n"
	"time = 08:00-18:00\n"
	"days = mon-fri\n"
	"\n"
	"[rule night-shift]\n"
	"action = record\n"
	"callee = 1300-1399\n"
	"time = 22:00-06:00\n"
	"\n"
	"[rule weekend]\n"
	"action = skip\n"
	"days = sat-sun\n"
	"\n"
	"[rule internal-sample]\n"
	"action = record\n"
	"direction = internal\n"
	"sample = 25\n"
	"\n"
	"[rule transit]\n"
	"action = skip\n"
	"direction = external\n"
	"\n"
	"[rule us-outbound]\n"
	"action = record\n"
	"direction = outbound, internal\n"
	"caller = 1000-1999\n"
	"callee = +1*, 001*\n";

/* Addresses of the table. */
#define EXT4 "203.0.113.5"
#define LOC4 "10.1.2.3"
#define LAN4 "192.168.1.10"
#define EXT6 "2001:db8:200::1"
#define LOC6 "2001:db8:100::5"
#define MAP4 "::ffff:10.9.9.9"

enum { SKIP = 0, REC = 1, SAMPLED = 2 /* either; decided by the Call-ID */ };

struct row {
	const char *caller, *callee, *caller_host, *callee_host, *caller_ip, *callee_ip;
	const char *when; /* UTC */
	int record;
	const char *rule;
	enum pol_direction dir;
};

static const struct row table[] = {
	/* do-not-record beats every rule, either party, exact or glob */
	{"+4930555123", "1201", NULL, NULL, EXT4, LOC4, "2025-01-14T09:00:00Z", SKIP, "do-not-record", POL_INTERNAL},
	{"1001", "0800123456", NULL, NULL, LOC4, EXT4, "2025-01-14T09:00:00Z", SKIP, "do-not-record", POL_OUTBOUND},
	{"1005", "110", NULL, NULL, LOC4, EXT4, "2025-01-14T09:00:00Z", SKIP, "do-not-record", POL_OUTBOUND},
	{"+4930555999", "1201", "x.partner.example", NULL, EXT4, LOC4, "2025-01-14T09:00:00Z", REC, "partner", POL_INTERNAL},
	{"1005", "1100", NULL, NULL, LOC4, LOC4, "2025-01-14T09:00:00Z", SAMPLED, "internal-sample", POL_INTERNAL},
	/* number lists are OR over both parties */
	{"+4915112345", "1701", NULL, NULL, EXT4, "10.0.0.17", "2025-01-13T09:00:00Z", SKIP, "lawyers", POL_INBOUND},
	{"1799", "+15551234", NULL, NULL, LOC4, EXT4, "2025-01-13T09:00:00Z", SKIP, "lawyers", POL_OUTBOUND},
	/* domains: case-insensitive, "*.x" is subdomains only */
	{"+331234", "1500", "sip.partner.example", "pbx.local", EXT4, LOC4, "2025-01-18T10:00:00Z", REC, "partner", POL_INBOUND},
	{"+331234", "1500", NULL, "PARTNER.EXAMPLE", EXT4, LOC4, "2025-01-18T10:00:00Z", REC, "partner", POL_INBOUND},
	{"+331234", "1250", "notpartner.example", "partner.example.evil", EXT4, LOC4, "2025-01-14T08:00:00Z", REC, "sales-inbound", POL_INBOUND},
	/* office hours in CET: 08:00 <= t < 18:00 */
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-01-14T16:59:59Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-01-14T17:00:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-01-14T06:59:00Z", REC, "default", POL_INBOUND},
	/* ... and in CEST the same UTC hour is one hour later locally */
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-07-07T06:30:00Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-01-13T06:30:00Z", REC, "default", POL_INBOUND},
	/* around the spring change (Sun 30 March) */
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-03-28T07:30:00Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-03-31T06:30:00Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-03-31T05:30:00Z", REC, "default", POL_INBOUND},
	/* around the autumn change (Sun 26 October) */
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-10-24T06:30:00Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-10-24T05:30:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-10-27T07:30:00Z", REC, "sales-inbound", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-10-27T06:30:00Z", REC, "default", POL_INBOUND},
	/* a window across midnight */
	{"+331234", "1301", NULL, NULL, EXT4, LOC4, "2025-01-15T21:30:00Z", REC, "night-shift", POL_INBOUND},
	{"+331234", "1301", NULL, NULL, EXT4, LOC4, "2025-01-16T04:59:00Z", REC, "night-shift", POL_INBOUND},
	{"+331234", "1301", NULL, NULL, EXT4, LOC4, "2025-01-16T05:00:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1301", NULL, NULL, EXT4, LOC4, "2025-07-09T20:30:00Z", REC, "night-shift", POL_INBOUND},
	{"+331234", "1301", NULL, NULL, EXT4, LOC4, "2025-07-09T19:30:00Z", REC, "default", POL_INBOUND},
	/* days change at local midnight */
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-01-17T22:59:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-01-17T23:00:00Z", SKIP, "weekend", POL_INBOUND},
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-07-11T21:59:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-07-11T22:00:00Z", SKIP, "weekend", POL_INBOUND},
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-01-19T22:59:00Z", SKIP, "weekend", POL_INBOUND},
	{"+331234", "1400", NULL, NULL, EXT4, LOC4, "2025-01-19T23:00:00Z", REC, "default", POL_INBOUND},
	{"+331234", "1250", NULL, NULL, EXT4, LOC4, "2025-01-18T10:00:00Z", SKIP, "weekend", POL_INBOUND},
	/* direction */
	{"+441234", "+331234", NULL, NULL, EXT4, EXT4, "2025-01-14T09:00:00Z", SKIP, "transit", POL_EXTERNAL},
	{NULL, NULL, NULL, NULL, NULL, NULL, "2025-01-14T09:00:00Z", SKIP, "transit", POL_EXTERNAL},
	{"1042", "+12125551234", NULL, NULL, LOC4, EXT4, "2025-01-14T09:00:00Z", REC, "us-outbound", POL_OUTBOUND},
	{"1042", "0012125551234", NULL, NULL, LOC4, EXT4, "2025-01-14T09:00:00Z", REC, "us-outbound", POL_OUTBOUND},
	{"1042", "+442071234567", NULL, NULL, LOC4, EXT4, "2025-01-14T09:00:00Z", REC, "default", POL_OUTBOUND},
	{"+4989123", "1210", NULL, NULL, EXT6, "2001:db8:100::7", "2025-01-14T09:00:00Z", REC, "sales-inbound", POL_INBOUND},
	{"alice", "bob", NULL, NULL, LOC6, "2001:db8:100:ffff::6", "2025-01-14T09:00:00Z", SAMPLED, "internal-sample", POL_INTERNAL},
	{"alice", "bob", NULL, NULL, LOC6, "2001:db8:101::6", "2025-01-14T09:00:00Z", REC, "default", POL_OUTBOUND},
	{"carol", "+12125551234", NULL, NULL, MAP4, EXT4, "2025-01-14T09:00:00Z", REC, "default", POL_OUTBOUND},
	{"1003", "1004", NULL, NULL, LAN4, "192.168.7.7", "2025-01-14T09:00:00Z", SAMPLED, "internal-sample", POL_INTERNAL},
	/* ranges need all digits and, with equal-width ends, that width */
	{"+331234", "12a5", NULL, NULL, EXT4, LOC4, "2025-01-14T09:00:00Z", REC, "default", POL_INBOUND},
	{"+331234", "01250", NULL, NULL, EXT4, LOC4, "2025-01-14T09:00:00Z", REC, "default", POL_INBOUND},
	/* do-not-record is exact unless it is a glob; local_numbers make it internal */
	{"+49305551234", "1201", NULL, NULL, EXT4, EXT4, "2025-01-14T09:00:00Z", SAMPLED, "internal-sample", POL_INTERNAL},
};

static bool addr(const char *s, struct es_addr *a)
{
	memset(a, 0, sizeof(*a));
	return s && es_addr_parse_ip(sl_cstr(s), a) == 0;
}

static struct pol_rules *load(const char *text, char *err, size_t errlen, int *rc)
{
	struct es_conf c;
	struct pol_rules *r = NULL;
	*rc = es_conf_parse(&c, "rules.conf", text, err, errlen);
	if (*rc == 0)
		*rc = pol_rules_from_conf(&r, &c, err, errlen);
	es_conf_free(&c); /* the rules keep no pointer into the configuration */
	return r;
}

static void test_table(void)
{
	char err[256] = "";
	int rc;
	struct pol_rules *r = load(rules_conf, err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	if (!r) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_INT(pol_rule_count(r), 8);
	for (size_t i = 0; i < ES_ARRAY_LEN(table); i++) {
		const struct row *t = &table[i];
		struct es_addr a, b;
		char id[32];
		snprintf(id, sizeof(id), "row-%zu@test", i);
		struct pol_call call = {
			.call_id = id,
			.caller_user = t->caller,
			.callee_user = t->callee,
			.caller_host = t->caller_host,
			.callee_host = t->callee_host,
			.caller_addr = addr(t->caller_ip, &a) ? &a : NULL,
			.callee_addr = addr(t->callee_ip, &b) ? &b : NULL,
		};
		CHECK_INT(es_time_parse(t->when, &call.start_us), 0);
		struct pol_decision d;
		pol_decide(r, &call, &d);
		bool ok = strcmp(d.rule, t->rule) == 0 && d.direction == t->dir &&
			  (t->record == SAMPLED ? d.record != d.sampled_out
						: d.record == (t->record == REC) && !d.sampled_out);
		check_count++;
		if (!ok) {
			check_failures++;
			fprintf(stderr, "row %zu (%s -> %s at %s): got %s by %s, %s; want %d by %s, %s\n",
				i, t->caller ? t->caller : "-", t->callee ? t->callee : "-", t->when,
				d.record ? "record" : "skip", d.rule, pol_direction_name(d.direction),
				t->record, t->rule, pol_direction_name(t->dir));
		}
	}
	CHECK(ES_ARRAY_LEN(table) >= 30);
	pol_rules_free(r);
}

static void test_sampling(void)
{
	char err[256];
	int rc;
	struct pol_rules *r = load("[rule s]\naction = record\nsample = 25%\n", err, sizeof(err),
				   &rc);
	CHECK_INT(rc, 0);
	if (!r)
		return;
	int n = 0;
	for (int i = 0; i < 10000; i++) {
		char id[64];
		snprintf(id, sizeof(id), "%08x-%d@pbx.example.com", (unsigned)i * 2654435761u, i);
		struct pol_call call = {.call_id = id};
		struct pol_decision d1, d2;
		pol_decide(r, &call, &d1);
		pol_decide(r, &call, &d2);
		CHECK(d1.record == d2.record); /* stable */
		CHECK(d1.record != d1.sampled_out);
		n += d1.record;
	}
	CHECK(n >= 2200 && n <= 2800);
	fprintf(stderr, "  sampled 25%%: %d of 10000\n", n);
	pol_rules_free(r);

	/* 0 and 100 are absolute; fractions go to 0.01 %. */
	static const struct {
		const char *conf;
		int lo, hi;
	} edge[] = {
		{"[rule s]\naction = record\nsample = 0\n", 0, 0},
		{"[rule s]\naction = record\nsample = 100\n", 1000, 1000},
		{"[rule s]\naction = record\nsample = 2.5\n", 10, 45},
	};
	for (size_t k = 0; k < ES_ARRAY_LEN(edge); k++) {
		r = load(edge[k].conf, err, sizeof(err), &rc);
		CHECK_INT(rc, 0);
		if (!r)
			continue;
		int m = 0;
		for (int i = 0; i < 1000; i++) {
			char id[32];
			snprintf(id, sizeof(id), "c%d", i);
			struct pol_call call = {.call_id = id};
			struct pol_decision d;
			pol_decide(r, &call, &d);
			m += d.record;
		}
		CHECK(m >= edge[k].lo && m <= edge[k].hi);
		pol_rules_free(r);
	}
}

static void test_defaults(void)
{
	char err[256];
	int rc;
	struct pol_decision d;
	struct pol_call call = {.call_id = "x", .caller_user = "1", .callee_user = "2"};
	/* No rules: record everything, direction unknown without [networks]. */
	struct pol_rules *r = load("", err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	pol_decide(r, &call, &d);
	CHECK(d.record && !d.sampled_out);
	CHECK_STR(d.rule, "default");
	CHECK_INT(d.direction, POL_DIR_UNKNOWN);
	CHECK_INT(pol_rule_count(r), 0);
	pol_rules_free(r);
	/* default = skip; a rule with no conditions matches everything. */
	r = load("[recording]\ndefault = skip\n", err, sizeof(err), &rc);
	pol_decide(r, &call, &d);
	CHECK(!d.record);
	CHECK_STR(d.rule, "default");
	pol_rules_free(r);
	r = load("[recording]\ndefault = skip\n[rule all]\naction = record\n", err, sizeof(err),
		 &rc);
	pol_decide(r, &call, &d);
	CHECK(d.record);
	CHECK_STR(d.rule, "all");
	pol_rules_free(r);
	/* No timezone: the process's zone; direction = any matches unknown. */
	r = load("[rule any]\naction = skip\ndirection = any\ntime = 00:00-24:00\ndays = mon-sun\n",
		 err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	pol_decide(r, &call, &d);
	CHECK(!d.record);
	CHECK_STR(d.rule, "any");
	pol_rules_free(r);
	pol_decide(NULL, &call, &d);
	CHECK(d.record);
	CHECK_STR(pol_direction_name(POL_OUTBOUND), "outbound");
	CHECK_STR(pol_direction_name(POL_DIR_UNKNOWN), "unknown");
}

/* Consent from events, whatever made them: header, DTMF, SIPREC and the
 * API's events (POST /api/active/{id}/consent adds "yes api:USER"). */
static void test_consent(void)
{
	char err[256] = "";
	int rc;
	struct pol_rules *r = load("[networks]\nlocal_numbers = 1000-1999\n"
				   "[rule req]\naction = record\ncallee = 1000-1999\n"
				   "consent = required\nconsent_dtmf = 1\nconsent_window = 10s\n"
				   "no_consent_keep = agent\n"
				   "[rule ann]\naction = record\ncallee = 2000\nconsent = announce\n"
				   "[rule plain]\naction = record\n",
				   err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	if (!r) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct pol_call pc = {.call_id = "x", .caller_user = "+4930777", .callee_user = "1234"};
	struct pol_decision d;
	pol_decide(r, &pc, &d);
	CHECK_STR(d.rule, "req");
	CHECK(d.consent && d.consent->mode == POL_CONSENT_REQUIRED && d.consent->dtmf_yes == '1' &&
	      d.consent->window_us == 10 * ES_US_PER_SEC && d.consent->keep == POL_KEEP_AGENT);
	CHECK_INT(d.direction, POL_INBOUND);
	const int64_t ans = 100 * ES_US_PER_SEC, s = ES_US_PER_SEC;
	struct pol_consent_result res;
	/* nothing yet, the window open: pending, keep all */
	pol_consent_eval(d.consent, d.direction, NULL, 0, ans, ans + 5 * s, false, &res);
	CHECK_INT(res.agent, 1);
	CHECK_INT(res.p[0].state, POL_CS_PENDING);
	CHECK_INT(res.p[1].state, POL_CS_NOT_REQUIRED);
	CHECK(!res.no_consent && res.keep[0] && res.keep[1]);
	/* the window passed: missing, only the agent (callee) kept */
	pol_consent_eval(d.consent, d.direction, NULL, 0, ans, ans + 11 * s, false, &res);
	CHECK_INT(res.p[0].state, POL_CS_MISSING);
	CHECK(res.no_consent && !res.keep[0] && res.keep[1]);
	/* the API source: the caller says yes through the API in time */
	struct pol_consent_ev api[] = {{ans + 3 * s, 0, "yes api:alice"}};
	pol_consent_eval(d.consent, d.direction, api, 1, ans, ans + 60 * s, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_GIVEN);
	CHECK_STR(res.p[0].source, "api:alice");
	CHECK(res.p[0].ts_us == ans + 3 * s);
	CHECK(!res.no_consent && res.keep[0]);
	/* a late yes does not count; a withdrawal counts whenever it comes */
	struct pol_consent_ev late[] = {{ans + 30 * s, 0, "yes dtmf:1"}};
	pol_consent_eval(d.consent, d.direction, late, 1, ans, ans + 60 * s, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_MISSING);
	struct pol_consent_ev back[] = {{ans + 2 * s, 0, "yes header:X-Recording-Consent"},
					{ans + 40 * s, 0, "no api:bob"},
					{ans + 41 * s, 1, "garbage"}};
	pol_consent_eval(d.consent, d.direction, back, 3, ans, ans + 60 * s, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_REFUSED);
	CHECK_STR(res.p[0].source, "api:bob");
	CHECK(res.no_consent && !res.keep[0] && res.keep[1]);
	/* a call that ended before the window closed without consent */
	pol_consent_eval(d.consent, d.direction, NULL, 0, ans, ans + 2 * s, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_MISSING);
	/* announce: announced unless someone said otherwise; never drops */
	pc.callee_user = "2000";
	pol_decide(r, &pc, &d);
	CHECK_STR(d.rule, "ann");
	struct pol_consent_ev no[] = {{ans, 1, "no siprec"}};
	pol_consent_eval(d.consent, d.direction, no, 1, ans, ans + 60 * s, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_ANNOUNCED);
	CHECK_INT(res.p[1].state, POL_CS_REFUSED);
	CHECK(!res.no_consent && res.keep[0] && res.keep[1]);
	/* no consent setting: not required, no decision pointer */
	pc.callee_user = "3000";
	pol_decide(r, &pc, &d);
	CHECK(!d.consent);
	pol_consent_eval(NULL, d.direction, NULL, 0, ans, ans, true, &res);
	CHECK_INT(res.p[0].state, POL_CS_NOT_REQUIRED);
	CHECK_STR(pol_consent_state_name(POL_CS_MISSING), "missing");
	CHECK_INT(pol_consent_state_parse("given"), POL_CS_GIVEN);
	CHECK_INT(pol_consent_state_parse("maybe"), -1);
	/* nothing: neither party's audio stays */
	pol_rules_free(r);
	r = load("[rule all]\naction = record\nconsent = required\n", err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	pol_decide(r, &pc, &d);
	pol_consent_eval(d.consent, d.direction, NULL, 0, ans, ans + 20 * s, false, &res);
	CHECK_INT(res.agent, -1);
	CHECK(res.no_consent && !res.keep[0] && !res.keep[1]);
	CHECK(res.p[0].required && res.p[1].required);
	pol_rules_free(r);
}

static void test_bad(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"[rule a]\naction = record\n\n[rule b]\ncaller = 1*\n", "rules.conf:5: [rule b] has no action"},
		{"[rule a]\naction = maybe\n", "rules.conf:2: action: expected record or skip"},
		{"[rule a]\naction = record\nsample = 101\n", "rules.conf:3: sample: percentage above 100"},
		{"[rule a]\naction = record\nsample = x\n", "rules.conf:3: sample: expected a percentage"},
		{"[rule a]\naction = skip\nsample = 10\n", "rules.conf:2: [rule a] samples but skips"},
		{"[rule a]\naction = record\ncaller = 1999-1000\n", "rules.conf:3: caller: range 1999-1000 ends before"},
		{"[rule a]\naction = record\ncallee = 12[3\n", "rules.conf:3: callee: bad pattern"},
		{"[rule a]\naction = record\nnumber = 1,,2\n", "rules.conf:3: number: empty item"},
		{"[rule a]\naction = record\ntime = 8-18\n", "rules.conf:3: time: bad time window"},
		{"[rule a]\naction = record\ntime = 08:00-24:01\n", "rules.conf:3: time: bad time window"},
		{"[rule a]\naction = record\ntime = 08:00-08:00\n", "rules.conf:3: time: empty time window"},
		{"[rule a]\naction = record\ndays = mon-fry\n", "rules.conf:3: days: bad day 'mon-fry'"},
		{"[rule a]\naction = record\ndirection = sideways\n", "rules.conf:3: direction: bad direction"},
		{"[rule a]\naction = record\nwhen = now\n", "rules.conf:3: when: unknown key in [rule a]"},
		{"[rule a]\naction = record\n[rule A]\naction = skip\n", "rules.conf:4: duplicate [rule A] (first at line 2)"},
		{"[rule]\naction = record\n", "rules.conf:2: action: a rule needs a name"},
		{"[rule a]\naction = record\nconsent = maybe\n", "rules.conf:3: consent: expected none, announce or required (got 'maybe')"},
		{"[rule a]\naction = record\nconsent_window = 15 parsecs\n", "rules.conf:3: consent_window: "},
		{"[rule a]\naction = record\nconsent_window = 0s\n", "rules.conf:3: consent_window: expected a duration from 1s to 1h"},
		{"[rule a]\naction = record\nconsent_dtmf = 12\n", "rules.conf:3: consent_dtmf: expected one DTMF key"},
		{"[rule a]\naction = record\nconsent_header = X Consent\n", "rules.conf:3: consent_header: expected a SIP header name"},
		{"[rule a]\naction = record\nno_consent_keep = half\n", "rules.conf:3: no_consent_keep: expected nothing or agent"},
		{"[rule a]\naction = record\nagent = boss\n", "rules.conf:3: agent: expected caller or callee"},
		{"[rule a]\naction = record\nconsent_please = yes\n", "rules.conf:3: consent_please: unknown consent key"},
		{"[networks]\nlocal = 10.0.0.0/33\n", "rules.conf:2: local: bad prefix length in '10.0.0.0/33'"},
		{"[networks]\nlocal = 10.0.0/8\n", "rules.conf:2: local: bad network '10.0.0/8'"},
		{"[networks]\nlocal = 2001:db8::/129\n", "rules.conf:2: local: bad prefix length"},
		{"[networks]\nremote = 1.2.3.4\n", "rules.conf:2: remote: unknown key in [networks]"},
		{"[do-not-record]\ncaller = 1\n", "rules.conf:2: caller: unknown key in [do-not-record]"},
		{"[recording]\ndefault = often\n", "rules.conf:2: default: expected record or skip"},
		{"[recording]\ntimezone = Mars/Olympus\n", "rules.conf:2: timezone: unknown time zone"},
		{"[recording]\ntimezone = ../../etc/passwd\n", "rules.conf:2: timezone: unknown time zone"},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		char err[256] = "";
		int rc;
		struct pol_rules *r = load(cases[i].text, err, sizeof(err), &rc);
		CHECK_INT(rc, ES_EPARSE);
		CHECK(r == NULL);
		check_count++;
		if (!strstr(err, cases[i].msg)) {
			check_failures++;
			fprintf(stderr, "bad case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].msg);
		}
		pol_rules_free(r);
	}
}

/* Our TZif reader against glibc's localtime_r, from 1900 to 2100. */
static void test_tz(void)
{
	static const char *const zones[] = {"Europe/Berlin", "America/New_York",
					    "Australia/Sydney", "Asia/Kolkata",
					    "America/Sao_Paulo", "Pacific/Chatham", "UTC"};
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	for (size_t z = 0; z < ES_ARRAY_LEN(zones); z++) {
		struct pol_tz *tz;
		CHECK_INT(pol_tz_load(&tz, zones[z]), 0);
		if (!tz)
			continue;
		setenv("TZ", zones[z], 1);
		tzset();
		int bad = 0;
		uint64_t x = 88172645463325252ull;
		for (int64_t t = -2208988800; t < 4102444800; t += 86400 * 3 + (int64_t)(x % 86400)) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			time_t tt = (time_t)t;
			struct tm tm;
			localtime_r(&tt, &tm);
			if (tm.tm_gmtoff != pol_tz_offset(tz, t) && bad++ < 3)
				fprintf(stderr, "  %s at %lld: glibc %ld, ours %d\n", zones[z],
					(long long)t, tm.tm_gmtoff, pol_tz_offset(tz, t));
		}
		CHECK_INT(bad, 0);
		pol_tz_free(tz);
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	struct pol_tz *tz = NULL;
	CHECK_INT(pol_tz_load(&tz, "No/Such_Zone"), ES_ENOTFOUND);
	CHECK_INT(pol_tz_load(&tz, "/etc/passwd"), ES_EPARSE);
	CHECK_INT(pol_tz_load(&tz, ""), ES_EPARSE);
}

static void test_glob(void)
{
	CHECK(pol_glob_match("+49*", "+4930", false));
	CHECK(!pol_glob_match("+49*", "0049", false));
	CHECK(pol_glob_match("1?3", "123", false));
	CHECK(!pol_glob_match("1?3", "13", false));
	CHECK(pol_glob_match("[0-9][!0-9]", "1a", false));
	CHECK(!pol_glob_match("[0-9][!0-9]", "12", false));
	CHECK(pol_glob_match("*a*b*c", "xxaxxbxxbxc", false));
	CHECK(pol_glob_match("*.EXAMPLE.com", "sip.example.COM", true));
	CHECK(!pol_glob_match("*.example.com", "example.com", true));
	CHECK(pol_glob_match("**", "", false));
	CHECK(pol_glob_match("[a-]x", "-x", false));
	CHECK(pol_glob_check("[") != NULL);
	CHECK(pol_glob_check("[]") != NULL);
	CHECK(pol_glob_check("[!]") != NULL);
	CHECK(pol_glob_check("a[bc]*") == NULL);
}

static struct pol_retention *ret_load(const char *text, char *err, size_t errlen, int *rc)
{
	struct es_conf c;
	struct pol_retention *r = NULL;
	*rc = es_conf_parse(&c, "ret.conf", text, err, errlen);
	if (*rc == 0)
		*rc = pol_retention_from_conf(&r, &c, err, errlen);
	es_conf_free(&c);
	return r;
}

/* Keep times in calendar arithmetic, policies in file order, the default. */
static void test_retention(void)
{
	struct pol_span sp;
	int64_t t0 = 1706659200 * ES_US_PER_SEC; /* 2024-01-31T00:00:00Z */
	CHECK(pol_span_parse("1m", false, &sp) == NULL);
	CHECK(pol_span_add(t0, &sp) == 1709164800 * ES_US_PER_SEC); /* 2024-02-29 */
	CHECK(pol_span_parse("1y", false, &sp) == NULL);
	CHECK(pol_span_add(1709164800 * ES_US_PER_SEC, &sp) == 1740700800 * ES_US_PER_SEC); /* 2025-02-28 */
	CHECK(pol_span_parse("2w", false, &sp) == NULL);
	CHECK(pol_span_add(t0, &sp) == t0 + 14 * 86400 * ES_US_PER_SEC);
	CHECK(pol_span_parse("0", false, &sp) == NULL && pol_span_add(t0, &sp) == t0);
	CHECK(pol_span_parse("never", true, &sp) == NULL && pol_span_add(t0, &sp) == 0);
	CHECK(pol_span_parse("never", false, &sp) != NULL);
	CHECK(pol_span_parse("5", false, &sp) != NULL);
	CHECK(pol_span_parse("5h", false, &sp) != NULL);
	CHECK(pol_span_parse("5dd", false, &sp) != NULL);
	CHECK(pol_span_parse("-5d", false, &sp) != NULL);
	CHECK(pol_span_parse("999999999y", false, &sp) != NULL);

	char err[256];
	int rc;
	struct pol_retention *r = ret_load("[retention]\nmax_bytes = 2G\n"
					   "[retention mifid]\ntag = MiFID\nkeep = 5y\ndelete_after = 7y\n"
					   "[retention pci]\ncallee = 2000-2999\nsource = live\n"
					   "delete_after = 90d\ndrop_metadata = yes\n"
					   "[retention default]\ndelete_after = 1y\n", err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	CHECK(pol_retention_max_bytes(r) == UINT64_C(2) << 30);
	struct pol_ret_call c = {.tags = "x,mifid", .callee = "2001", .source = "live",
				 .start_us = t0};
	struct pol_ret_decision d;
	pol_retention_decide(r, &c, &d);
	CHECK_STR(d.policy, "mifid");
	CHECK(d.keep_until_us > t0 && d.retain_until_us > d.keep_until_us && !d.drop_metadata);
	c.tags = NULL;
	pol_retention_decide(r, &c, &d);
	CHECK_STR(d.policy, "pci");
	CHECK(d.drop_metadata && d.keep_until_us == 0 &&
	      d.retain_until_us == t0 + 90 * 86400 * ES_US_PER_SEC);
	c.source = "import";
	pol_retention_decide(r, &c, &d);
	CHECK_STR(d.policy, "default");
	CHECK(pol_retention_known(r, "pci", NULL) && !pol_retention_known(r, "nosuch", NULL));
	pol_retention_free(r);
	pol_retention_decide(NULL, &c, &d); /* no configuration: kept for good */
	CHECK(!strcmp(d.policy, "default") && d.retain_until_us == 0);

	static const char *const bad[] = {
		"[retention x]\nkeep = 5 y\ndelete_after = 7y\n",
		"[retention x]\nkeep = 7y\ndelete_after = 5y\n",
		"[retention x]\nkeep = 13m\ndelete_after = 1y\n",
		"[retention x]\nkeep = 1y\n",
		"[retention X]\ndelete_after = 1y\n",
		"[retention x]\ndelete_after = 1y\n[retention x]\ndelete_after = 2y\n",
		"[retention default]\ncaller = 1*\ndelete_after = 1y\n",
		"[retention x]\ndelete_after = 1y\ndrop_metadata = maybe\n",
		"[retention]\nmax_bytes = lots\n",
		"[retention]\nkeep = 1y\n",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		r = ret_load(bad[i], err, sizeof(err), &rc);
		CHECK(rc == ES_EPARSE && !r && strstr(err, "ret.conf:") == err);
		if (rc != ES_EPARSE || strstr(err, "ret.conf:") != err)
			fprintf(stderr, "  %zu: %d %s\n", i, rc, err);
		pol_retention_free(r);
	}
	CHECK(pol_hold_name_check("case-7.a_b") == NULL);
	CHECK(pol_hold_name_check("Case") != NULL && pol_hold_name_check("") != NULL);
	CHECK(pol_hold_reason_check("a\nb") != NULL && pol_hold_reason_check("ok") == NULL);
}

int main(void)
{
	RUN(test_table);
	RUN(test_sampling);
	RUN(test_defaults);
	RUN(test_bad);
	RUN(test_consent);
	RUN(test_tz);
	RUN(test_glob);
	RUN(test_retention);
	return CHECK_DONE();
}
