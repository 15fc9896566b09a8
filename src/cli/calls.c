/* calls.c - `earshot calls` and `earshot show ID`. */
#include "analytics/quality.h"
#include "api/api.h"
#include "api/calljson.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum out_fmt { OUT_TABLE, OUT_JSON, OUT_CSV };

static void calls_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot calls [options]\n"
		"\n"
		"List the calls in the index, oldest first.\n"
		"\n"
		"Filters:\n"
		"  --party TEXT        caller or callee URI, number, name or\n"
		"                      P-Asserted-Identity contains TEXT (any case)\n"
		"  --number TEXT       the same as --party\n"
		"  --from TIME         started at or after TIME\n"
		"  --to TIME           started before TIME\n"
		"                      (TIME: 2026-11-24, 2026-11-24T08:00[:SS[.fff]][Z],\n"
		"                      or seconds since 1970; UTC)\n"
		"  --outcome OUTCOME   answered, busy, no_answer, cancelled, rejected,\n"
		"                      redirected\n"
		"  --min-duration SEC  answered for at least SEC seconds\n"
		"  --call-id ID        this SIP Call-ID\n"
		"  --consent STATE     either party's consent is STATE: given, refused,\n"
		"                      missing, announced, not_required\n"
		"  --flag FLAG         the call or its recording has FLAG (no_consent, ...)\n"
		"  --max-mos MOS       the worst direction's MOS at most MOS (e.g. 3.5)\n"
		"  --min-loss PCT      the worst direction's packet loss at least PCT %%\n"
		"  --min-overtalk S    both parties speaking for at least S seconds in all\n"
		"  --max-talk-ratio R  the caller's share of talk time at most R (0..1)\n"
		"  --min-dead-air S    a silence of both parties of at least S seconds\n"
		"  --text WORDS        the transcript has every word (\"a phrase\", pre*)\n"
		"  --text-party P      caller or callee: only that party's words\n"
		"  --keyword K         a keyword hit whose category, list or phrase is K\n"
		"  --min-sentiment S   the call's sentiment (-1..1) is at least S\n"
		"  --max-sentiment S   ... at most S (calls not analysed never match)\n"
		"  --sort KEY          start (default), mos (lowest first), loss or\n"
		"                      jitter (highest first); not with --after\n"
		"  --limit N           at most N calls\n"
		"  --after ID          the calls listed after call ID (paging)\n"
		"  --timeout SEC       stop the search after SEC seconds (default 10;\n"
		"                      0: no limit); exit code 9\n"
		"Output:\n"
		"  --json              JSON array (docs/CLI.md describes the fields)\n"
		"  --csv               CSV with a header line\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok (also when nothing matched), 1 error, 2 usage,\n"
		"9 the search took longer than --timeout.\n");
}

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot show [--json] [--data DIR] ID\n"
		"\n"
		"Show one call: its parties, outcome and times, every RTP stream with\n"
		"its statistics, its events (DTMF, hold, re-INVITE) and the sequence of\n"
		"SIP messages.  ID is the number `earshot calls` prints, or a Call-ID.\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 4 no such call.\n");
}

static const char *party_name(int p)
{
	return p == IDX_CALLER ? "caller" : p == IDX_CALLEE ? "callee" : NULL;
}

/* ---- output of the list --------------------------------------------------------- */

struct list_out {
	enum out_fmt fmt;
	struct es_json j;
	unsigned n;
};

static const char *who(const struct idx_party *p)
{
	return p->user ? p->user : p->uri ? p->uri : "?";
}

static int list_row(void *ud, const struct idx_call *c)
{
	struct list_out *o = ud;
	char start[ES_TIME_STRLEN] = "-", answer[ES_TIME_STRLEN] = "", end[ES_TIME_STRLEN] = "";
	if (c->start_us)
		es_time_fmt(c->start_us, start, sizeof(start));
	if (c->answer_us)
		es_time_fmt(c->answer_us, answer, sizeof(answer));
	if (c->end_us)
		es_time_fmt(c->end_us, end, sizeof(end));
	double dur = (double)idx_call_duration_us(c) / 1e6;
	switch (o->fmt) {
	case OUT_JSON:
		api_call_json(&o->j, c, false);
		break;
	case OUT_CSV:
		api_call_csv_row(stdout, c);
		break;
	case OUT_TABLE:
	{
		char mos[8] = "-", loss[12] = "-";
		if (c->quality.set) {
			snprintf(mos, sizeof(mos), "%.2f", c->quality.mos);
			snprintf(loss, sizeof(loss), "%.2f", c->quality.loss_pct);
		}
		printf("%6lld  %-23s  %-20.20s  %-20.20s  %9.1f  %-10s %4d  %7u  %4s %6s  %s\n",
		       (long long)c->id, start, who(&c->caller), who(&c->callee), dur,
		       c->outcome ? c->outcome : "", c->sip_code, c->nstreams, mos, loss,
		       c->flags ? c->flags : "");
	}
		break;
	}
	o->n++;
	return 0;
}

static int parse_time_opt(const char *opt, const char *v, int64_t *out)
{
	if (es_time_parse(v, out)) {
		fprintf(stderr, "earshot calls: %s: cannot read time '%s'\n", opt, v);
		return -1;
	}
	return 0;
}

int cli_calls(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"party", required_argument, NULL, 'p'},
		{"number", required_argument, NULL, 'p'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"outcome", required_argument, NULL, 'o'},
		{"min-duration", required_argument, NULL, 'm'},
		{"call-id", required_argument, NULL, 'c'},
		{"consent", required_argument, NULL, 'K'},
		{"flag", required_argument, NULL, 'F'},
		{"limit", required_argument, NULL, 'l'},
		{"after", required_argument, NULL, 'a'},
		{"max-mos", required_argument, NULL, 'M'},
		{"min-loss", required_argument, NULL, 'L'},
		{"sort", required_argument, NULL, 'S'},
		{"min-overtalk", required_argument, NULL, 'O'},
		{"max-talk-ratio", required_argument, NULL, 'R'},
		{"min-dead-air", required_argument, NULL, 'D'},
		{"text", required_argument, NULL, 'T'},
		{"text-party", required_argument, NULL, 'P'},
		{"keyword", required_argument, NULL, 'k'},
		{"min-sentiment", required_argument, NULL, 'n'},
		{"max-sentiment", required_argument, NULL, 'x'},
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'Z'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	static const char *const outcomes[] = {"answered", "busy", "no_answer", "cancelled",
					       "rejected", "redirected", NULL};
	struct idx_filter f = {.timeout_ms = IDX_SEARCH_TIMEOUT_MS_DEFAULT};
	char party[512]; /* a number, normalised as the API does (api_party_query) */
	struct list_out o = {.fmt = OUT_TABLE};
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': f.party = api_party_query(optarg, party, sizeof(party)); break;
		case 'f': if (parse_time_opt("--from", optarg, &f.from_us)) return CLI_USAGE; break;
		case 't': if (parse_time_opt("--to", optarg, &f.to_us)) return CLI_USAGE; break;
		case 'o': {
			bool ok = false;
			for (const char *const *k = outcomes; *k; k++)
				ok |= !strcmp(*k, optarg);
			if (!ok) {
				fprintf(stderr, "earshot calls: unknown outcome '%s'\n", optarg);
				return CLI_USAGE;
			}
			f.outcome = optarg;
			break;
		}
		case 'm':
		case 'l':
		case 'a':
			if (sl_to_u64(sl_cstr(optarg), &v) || v > INT32_MAX) {
				fprintf(stderr, "earshot calls: not a number: '%s'\n", optarg);
				return CLI_USAGE;
			}
			if (c == 'm')
				f.min_duration_us = (int64_t)v * ES_US_PER_SEC;
			else if (c == 'l')
				f.limit = (unsigned)v;
			else
				f.after_id = (int64_t)v;
			break;
		case 'c': f.call_id = optarg; break;
		case 'K': {
			static const char *const states[] = {"given", "refused", "missing", "announced",
							     "not_required", NULL};
			bool ok = false;
			for (const char *const *k = states; *k; k++)
				ok |= !strcmp(*k, optarg);
			if (!ok) {
				fprintf(stderr, "earshot calls: --consent: unknown state '%s' (given, "
					"refused, missing, announced, not_required)\n", optarg);
				return CLI_USAGE;
			}
			f.consent = optarg;
			break;
		}
		case 'F': f.flag = optarg; break;
		case 'M':
			if (sl_to_decimal(sl_cstr(optarg), &f.max_mos) || f.max_mos < 1 ||
			    f.max_mos > 5) {
				fprintf(stderr, "earshot calls: --max-mos: not a MOS from 1 to 5: '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'L':
			if (sl_to_decimal(sl_cstr(optarg), &f.min_loss) || f.min_loss > 100) {
				fprintf(stderr, "earshot calls: --min-loss: not a percentage: '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'O':
		case 'D': {
			double s;
			if (sl_to_decimal(sl_cstr(optarg), &s) || s > 86400) {
				fprintf(stderr, "earshot calls: --%s: not seconds from 0 to 86400: "
					"'%s'\n", c == 'O' ? "min-overtalk" : "min-dead-air", optarg);
				return CLI_USAGE;
			}
			*(c == 'O' ? &f.min_overtalk_ms : &f.min_dead_air_ms) =
				(int64_t)(s * 1000 + 0.5);
			break;
		}
		case 'T': f.text = optarg; break;
		case 'k': f.keyword = optarg; break;
		case 'n':
		case 'x': {
			/* the call's mean sentiment, -1 (negative) to 1 (positive) */
			char *end;
			double v = strtod(optarg, &end);
			if (end == optarg || *end || !(v >= -1 && v <= 1)) {
				fprintf(stderr, "earshot calls: --%s-sentiment: a score from -1 to 1, "
					"not '%s'\n", c == 'n' ? "min" : "max", optarg);
				return CLI_USAGE;
			}
			*(c == 'n' ? &f.min_sentiment : &f.max_sentiment) = v;
			*(c == 'n' ? &f.min_sentiment_set : &f.max_sentiment_set) = true;
			break;
		}
		case 'P':
			f.text_party = !strcmp(optarg, "caller") ? IDX_CALLER + 1
				     : !strcmp(optarg, "callee") ? IDX_CALLEE + 1 : -1;
			if (f.text_party < 0) {
				fprintf(stderr, "earshot calls: --text-party: caller or callee, not "
					"'%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'R':
			if (sl_to_decimal(sl_cstr(optarg), &f.max_talk_ratio) ||
			    f.max_talk_ratio > 1) {
				fprintf(stderr, "earshot calls: --max-talk-ratio: not a ratio from 0 "
					"to 1: '%s'\n", optarg);
				return CLI_USAGE;
			}
			f.talk_ratio_set = true;
			break;
		case 'S':
			if (!strcmp(optarg, "mos"))
				f.sort = IDX_SORT_MOS;
			else if (!strcmp(optarg, "loss"))
				f.sort = IDX_SORT_LOSS;
			else if (!strcmp(optarg, "jitter"))
				f.sort = IDX_SORT_JITTER;
			else if (strcmp(optarg, "start")) {
				fprintf(stderr, "earshot calls: --sort: start, mos, loss or jitter, "
					"not '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'Z': {
			/* a person's search: bounded like the API's ([index]
			 * search_timeout), so that it cannot hold a database
			 * backend for hours by mistake */
			double sec;
			if (sl_to_decimal(sl_cstr(optarg), &sec) || sec > 3600) {
				fprintf(stderr, "earshot calls: --timeout: seconds from 0 (no "
					"limit) to 3600, not '%s'\n", optarg);
				return CLI_USAGE;
			}
			f.timeout_ms = (int64_t)(sec * 1000 + 0.5);
			if (sec > 0 && !f.timeout_ms)
				f.timeout_ms = 1;
			break;
		}
		case 'J': o.fmt = OUT_JSON; break;
		case 'C': o.fmt = OUT_CSV; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': calls_usage(stdout); return CLI_OK;
		default: calls_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "earshot calls: unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}
	if (f.sort != IDX_SORT_START && f.after_id) {
		fprintf(stderr, "earshot calls: --after pages in start order, not with --sort %s\n",
			f.sort == IDX_SORT_MOS ? "mos" : f.sort == IDX_SORT_LOSS ? "loss" : "jitter");
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	if (o.fmt == OUT_JSON) {
		es_json_init(&o.j, stdout, true);
		es_json_arr_begin(&o.j);
	} else if (o.fmt == OUT_CSV) {
		api_call_csv_header(stdout);
	} else {
		printf("%6s  %-23s  %-20s  %-20s  %9s  %-10s %4s  %7s  %4s %6s  %s\n", "ID",
		       "START (UTC)", "CALLER", "CALLEE", "DURATION", "OUTCOME", "CODE", "STREAMS",
		       "MOS", "LOSS%", "FLAGS");
	}
	int err = idx_calls_list(ix, &f, list_row, &o);
	if (o.fmt == OUT_JSON) {
		es_json_arr_end(&o.j);
		es_json_end(&o.j);
	}
	if (err == ES_EINVAL && f.text)
		fprintf(stderr, "earshot calls: --text: no word to search for\n");
	else if (err == ES_ETIMEOUT)
		fprintf(stderr, "earshot calls: %s: narrow it (a shorter --from/--to range, more "
			"of the name or number) or raise --timeout (0: no limit)\n",
			idx_errmsg(ix));
	else if (err)
		fprintf(stderr, "earshot calls: %s\n", idx_errmsg(ix));
	idx_close(ix);
	if (err == ES_ETIMEOUT)
		return CLI_TIMEOUT;
	return err == ES_EINVAL && f.text ? CLI_USAGE : err ? CLI_ERR : CLI_OK;
}

/* ---- show ------------------------------------------------------------------------- */

/* One figure of a stream's quality JSON as text, "-" when absent. */
static const char *qnum(const char *json, const char *obj, const char *key, const char *fmt,
			char *buf, size_t cap)
{
	double v;
	if (an_json_number(json, obj, key, &v))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, fmt, v);
	return buf;
}

/* The network quality per direction (docs/QUALITY.md). */
static void show_quality(const struct idx_call *c)
{
	if (!c->quality.set)
		return;
	printf("\nQuality (E-model, ITU-T G.107; MOS per jitter buffer: fixed 50 ms, "
	       "fixed 200 ms, adaptive)\n  %-6s %-10s %7s %6s %5s %17s %7s %5s %5s %5s %8s\n",
	       "party", "ssrc", "loss %", "burst", "run", "jitter p50/95/99", "rtt ms",
	       "jb50", "jb200", "adapt", "worst 5s");
	for (unsigned i = 0; i < c->nstreams; i++) {
		const struct idx_stream *s = &c->streams[i];
		const char *q = s->quality_json;
		if (!q)
			continue;
		char b[11][24], jit[80];
		snprintf(jit, sizeof(jit), "%s/%s/%s",
			 qnum(q, NULL, "jitter_p50_ms", "%.0f", b[0], 24),
			 qnum(q, NULL, "jitter_p95_ms", "%.0f", b[1], 24),
			 qnum(q, NULL, "jitter_p99_ms", "%.0f", b[2], 24));
		printf("  %-6s 0x%08X %7s %6s %5s %17s %7s %5s %5s %5s %8s\n",
		       party_name(s->party) ? party_name(s->party) : "?", s->ssrc,
		       qnum(q, NULL, "loss_pct", "%.2f", b[3], 24),
		       qnum(q, NULL, "burst_r", "%.2f", b[4], 24),
		       qnum(q, NULL, "longest_burst", "%.0f", b[5], 24), jit,
		       qnum(q, NULL, "rtt_ms", "%.0f", b[6], 24),
		       qnum(q, "jb50", "mos", "%.2f", b[7], 24),
		       qnum(q, "jb200", "mos", "%.2f", b[8], 24),
		       qnum(q, "adaptive", "mos", "%.2f", b[9], 24),
		       qnum(q, NULL, "mos_min_bin", "%.2f", b[10], 24));
		double v;
		if (!an_json_number(q, "xr", "loss_pct", &v)) /* RFC 3611 4.7, as reported */
			printf("  %-6s %-10s %7s %6s %5s %17s %7s  R %s, MOS-CQ %s, discarded %s %%, "
			       "end system delay %s ms\n", "", "(RTCP XR)",
			       qnum(q, "xr", "loss_pct", "%.2f", b[0], 24), "", "", "",
			       qnum(q, "xr", "rtt_ms", "%.0f", b[1], 24),
			       qnum(q, "xr", "r_factor", "%.0f", b[2], 24),
			       qnum(q, "xr", "mos_cq", "%.1f", b[3], 24),
			       qnum(q, "xr", "discard_pct", "%.2f", b[4], 24),
			       qnum(q, "xr", "end_system_ms", "%.0f", b[5], 24));
	}
	printf("  call: MOS %.2f (worst direction, adaptive buffer), lowest 5 s %.2f, "
	       "loss %.2f %%, jitter p95 %.0f ms\n", c->quality.mos, c->quality.mos_min,
	       c->quality.loss_pct, c->quality.jitter_ms);
}

/* The talk metrics (docs/ANALYTICS.md). */
static void show_talk(const struct idx_call *c)
{
	const char *t = c->talk.json;
	if (!t)
		return;
	double v[8];
	const char *keys[] = {"duration_ms", "silence_ms", "dead_air_ms", "dead_air_max_ms",
			      "dead_air_count", "overtalk_ms", "overtalk_count", "first_words_ms"};
	for (int i = 0; i < 8; i++)
		if (an_json_number(t, NULL, keys[i], &v[i]))
			v[i] = -1;
	printf("\nTalk (voice activity per channel; docs/ANALYTICS.md)\n");
	if (c->talk.ratio < 0) {
		printf("  nobody spoke (%.1f s of silence)\n", v[0] / 1e3);
		return;
	}
	printf("  %-6s %9s %13s %15s %12s\n", "party", "talk s", "interruptions",
	       "monologue max s", "first words s");
	static const char *const party[2] = {"caller", "callee"};
	for (int p = 0; p < 2; p++) {
		double w[4] = {0, 0, 0, -1};
		an_json_number(t, party[p], "talk_ms", &w[0]);
		an_json_number(t, party[p], "interruptions", &w[1]);
		an_json_number(t, party[p], "monologue_max_ms", &w[2]);
		an_json_number(t, party[p], "first_words_ms", &w[3]);
		char fw[24] = "-";
		if (w[3] >= 0)
			snprintf(fw, sizeof(fw), "%.1f", w[3] / 1e3);
		printf("  %-6s %9.1f %13.0f %15.1f %12s\n", party[p], w[0] / 1e3, w[1], w[2] / 1e3,
		       fw);
	}
	printf("  call: talk ratio %.2f (caller's share), overtalk %.1f s in %.0f, silence "
	       "%.1f s,\n        dead air %.1f s in %.0f (longest silence %.1f s), first "
	       "words at %.1f s\n", c->talk.ratio, v[5] / 1e3, v[6], v[1] / 1e3, v[2] / 1e3,
	       v[4], v[3] / 1e3, v[7] / 1e3);
	/* from the answer: the recording starts at the first audio packet */
	if (v[7] >= 0 && c->answer_us && c->recording && c->recording->start_us)
		printf("  first words %.1f s after the answer\n",
		       (double)(c->recording->start_us + (int64_t)v[7] * 1000 - c->answer_us) / 1e6);
}

/* The audio checks of the decoded recording (docs/ANALYTICS.md). */
static void show_checks(const struct idx_call *c)
{
	const char *k = c->checks_json;
	if (!k)
		return;
	printf("\nAudio checks (decoded recording; docs/ANALYTICS.md)\n");
	printf("  %-6s %7s %11s %7s %7s %8s %7s %8s\n", "party", "speech", "silence max",
	       "clipped", "rms", "speech", "floor", "dc");
	static const char *const party[2] = {"caller", "callee"};
	for (int p = 0; p < 2; p++) {
		double v[7] = {0};
		static const char *const keys[7] = {"speech_ratio", "longest_silence_ms",
						    "clipping_pct", "rms_dbfs", "speech_dbfs",
						    "noise_floor_dbfs", "dc_offset"};
		for (int i = 0; i < 7; i++)
			an_json_number(k, party[p], keys[i], &v[i]);
		printf("  %-6s %6.0f%% %9.1f s %6.2f%% %7.1f %8.0f %7.0f %8.4f\n", party[p],
		       v[0] * 100, v[1] / 1e3, v[2], v[3], v[4], v[5], v[6]);
	}
	double d[5] = {0};
	static const char *const ck[5] = {"dead_air_ms", "missing_head_ms", "missing_tail_ms",
					  "lost_ms", "gap_ms"};
	for (int i = 0; i < 5; i++)
		an_json_number(k, NULL, ck[i], &d[i]);
	printf("  call: longest dead air %.1f s; missing from the answered span %.1f s "
	       "(start %.1f, end %.1f, lost inside %.1f)\n", d[0] / 1e3, d[4] / 1e3, d[1] / 1e3,
	       d[2] / 1e3, d[3] / 1e3);
	const char *f = strstr(k, "\"flags\":\"");
	if (f) {
		f += 9;
		if (*f == '"')
			printf("  flags: none\n");
		else
			printf("  flags: %.*s\n", (int)strcspn(f, "\""), f);
	}
}

static int show_text(void *ud, const struct idx_call *c)
{
	(void)ud;
	char t[ES_TIME_STRLEN];
	printf("Call %lld  %s\n", (long long)c->id, c->call_id);
	for (int p = 0; p < 2; p++) {
		const struct idx_party *pa = p == 0 ? &c->caller : &c->callee;
		printf("  %-7s %s%s%s%s  %s", p == 0 ? "caller" : "callee",
		       pa->display ? "\"" : "", pa->display ? pa->display : "",
		       pa->display ? "\" " : "", pa->uri ? pa->uri : "?", pa->ua ? pa->ua : "");
		if (pa->pai)
			printf("  (asserted %s)", pa->pai);
		putchar('\n');
	}
	es_time_fmt(c->start_us, t, sizeof(t));
	printf("  start   %s\n", t);
	if (c->answer_us) {
		es_time_fmt(c->answer_us, t, sizeof(t));
		printf("  answer  %s\n", t);
	}
	if (c->end_us) {
		es_time_fmt(c->end_us, t, sizeof(t));
		printf("  end     %s (%s)\n", t, c->end_reason ? c->end_reason : "");
	}
	printf("  outcome %s", c->outcome ? c->outcome : "?");
	if (c->sip_code)
		printf(" (%d)", c->sip_code);
	printf(", duration %.1f s\n", (double)idx_call_duration_us(c) / 1e6);
	if (c->flags)
		printf("  flags   %s\n", c->flags);
	if (c->extra_json)
		printf("  headers %s\n", c->extra_json);
	if (c->consent[0] || c->consent[1])
		printf("  consent caller %s, callee %s%s\n", c->consent[0] ? c->consent[0] : "-",
		       c->consent[1] ? c->consent[1] : "-",
		       c->flags && strstr(c->flags, "no_consent") ? " (no_consent)" : "");
	/* the recorder's clock while it captured: synchronised or not first */
	if (c->clock_json)
		printf("  clock   %s %s\n",
		       strstr(c->clock_json, "\"synchronised\":true") ? "synchronised to UTC:"
		       : strstr(c->clock_json, "\"synchronised\":false") ? "NOT synchronised:"
									: "unknown:",
		       c->clock_json);
	printf("\nStreams\n  %-6s %-10s %-22s %-22s %-14s %8s %6s %9s %9s\n", "party", "ssrc",
	       "from", "to", "codecs", "packets", "lost", "jitter", "maxdelta");
	for (unsigned i = 0; i < c->nstreams; i++) {
		const struct idx_stream *s = &c->streams[i];
		printf("  %-6s 0x%08X %-22s %-22s %-14.14s %8llu %6lld %7.2fms %7.1fms\n",
		       party_name(s->party) ? party_name(s->party) : "?", s->ssrc, s->src, s->dst,
		       s->codecs ? s->codecs : "", (unsigned long long)s->packets,
		       (long long)s->lost, s->jitter_max_ms, s->delta_max_ms);
	}
	show_quality(c);
	show_talk(c);
	show_checks(c);
	const struct idx_recording *r = c->recording;
	if (r) {
		printf("\nRecording\n  %s  %s, %u Hz, %s, %.1f s, %.1f KiB, codecs %s%s%s\n"
		       "  sha256 %s\n", r->path, r->format, r->rate,
		       r->channels == 2 ? "stereo (caller left, callee right)" : "mono",
		       (double)r->duration_us / 1e6, (double)r->bytes / 1024.0,
		       r->codecs ? r->codecs : "-", r->flags ? ", " : "", r->flags ? r->flags : "",
		       r->sha256);
		if (r->encrypted)
			printf("  encrypted at rest; plaintext sha256 %s\n",
			       r->plain_sha256 ? r->plain_sha256 : "-");
		if (r->flags && strstr(r->flags, "undecoded_packets"))
			printf("  some packets were not decoded: %s\n", r->stats_json ? r->stats_json : "");
	} else {
		printf("\nRecording\n  none\n");
	}
	if (c->nevents) {
		printf("\nEvents\n");
		for (unsigned i = 0; i < c->nevents; i++) {
			const struct idx_event *e = &c->events[i];
			es_time_fmt(e->ts_us, t, sizeof(t));
			char at[32] = "";
			if (r && e->ts_us >= r->start_us)
				snprintf(at, sizeof(at), "%9.3fs", (double)(e->ts_us - r->start_us) / 1e6);
			printf("  %s %10s  %-6s %-12s %s\n", t, at,
			       party_name(e->party) ? party_name(e->party) : "", e->kind,
			       e->detail ? e->detail : "");
		}
	}
	printf("\nSIP messages\n");
	for (unsigned i = 0; i < c->nmsgs; i++) {
		const struct idx_msg *m = &c->msgs[i];
		es_time_fmt(m->ts_us, t, sizeof(t));
		printf("  %s  #%-7llu %-22s -> %-22s %s %-24s CSeq %u %s%s%s\n", t,
		       (unsigned long long)m->frame, m->src, m->dst, m->transport, m->label, m->cseq,
		       m->cseq_method, m->has_sdp ? " [SDP]" : "",
		       m->retransmission ? " (retransmission)" : "");
	}
	return 0;
}

/* Spans still waiting for the ledger's writer (record/redact_queue.c). */
struct show_extra {
	const char *data_dir;
	int64_t id;
};

static void show_pending(void *ud, struct es_json *j)
{
	const struct show_extra *x = ud;
	es_json_key(j, "redactions_pending");
	rec_redact_queue_json(x->data_dir, x->id, j);
}

static int show_json(void *ud, const struct idx_call *c)
{
	struct es_json j;
	struct show_extra x = {((struct cli_ctx *)ud)->data_dir, c->id};
	es_json_init(&j, stdout, true);
	api_call_json_ex(&j, c, true, show_pending, &x);
	es_json_end(&j);
	return 0;
}

struct first_id {
	int64_t id;
};

static int take_id(void *ud, const struct idx_call *c)
{
	((struct first_id *)ud)->id = c->id;
	return 1;
}

int64_t cli_call_ref(struct idx *ix, const char *arg)
{
	uint64_t v;
	struct first_id fid = {0};
	if (sl_to_u64(sl_cstr(arg), &v) == 0 && v <= INT64_MAX)
		return (int64_t)v;
	struct idx_filter f = {.call_id = arg, .limit = 1};
	idx_calls_list(ix, &f, take_id, &fid);
	return fid.id;
}

int cli_show(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': show_usage(stdout); return CLI_OK;
		default: show_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "earshot show: give exactly one call ID\n");
		show_usage(stderr);
		return CLI_USAGE;
	}
	const char *arg = argv[optind];
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int err = idx_call_get(ix, cli_call_ref(ix, arg), json ? show_json : show_text, json ? (void *)ctx : NULL);
	int rc = CLI_OK;
	if (err == ES_ENOTFOUND) {
		fprintf(stderr, "earshot show: no call %s in %s\n", arg, ctx->data_dir);
		rc = CLI_NOTFOUND;
	} else if (err) {
		fprintf(stderr, "earshot show: %s\n", idx_errmsg(ix));
		rc = CLI_ERR;
	}
	idx_close(ix);
	return rc;
}
