/*
 * hold.c - `earshot hold add|list|show|release`: legal holds.  A hold names
 * calls (given, or found by a query when it is placed); while it is active
 * no deletion path removes their recordings (record/delete.c).  Each held
 * recording gets a hold leaf in the ledger, and a release leaf when the
 * hold is released, so the hold is provable offline; the index keeps the
 * hold, who placed and released it, and why.
 */
#include "api/api.h"
#include "cli/cli.h"
#include "policy/policy.h"
#include "store/ledger.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void hold_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot hold add NAME --reason TEXT (--call ID... | --query FILTERS)\n"
		"       earshot hold list [--json]\n"
		"       earshot hold show NAME [--json]\n"
		"       earshot hold release NAME --reason TEXT\n"
		"\n"
		"Legal holds.  While a hold is active, no recording it names can be\n"
		"deleted: retention, the quota, `earshot delete` and `keys shred` refuse\n"
		"it with an error naming the hold, and the refusal is audited.  Placing\n"
		"and releasing a hold writes a hold or release leaf per recording to the\n"
		"integrity ledger (`earshot verify` checks that nothing was deleted under\n"
		"a hold).  A call may be in several holds: releasing one keeps the others.\n"
		"\n"
		"  NAME                1-64 of a-z 0-9 . _ -, unique (also after release)\n"
		"  --reason TEXT       why (required; shown, audited)\n"
		"  --call ID           a call (a number from `earshot calls` or a Call-ID);\n"
		"                      repeat for more\n"
		"  --query FILTERS     the calls matching, now: comma-separated key=value of\n"
		"                      party, from, to (times as `earshot calls`), tag,\n"
		"                      source, outcome, flag, call-id\n"
		"  --json              list, show: as JSON\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage (bad name, reason, query), 4 no such\n"
		"hold or call, 6 the hold exists already or is released.\n");
}

/* ---- shared with keys.c and retention.c ------------------------------------------ */

void cli_audit_refusal(struct idx *ix, const char *action, int64_t call_row, const char *hold)
{
	char actor[128], obj[64], detail[160];
	cli_actor(actor, sizeof(actor));
	snprintf(obj, sizeof(obj), "call:%lld", (long long)call_row);
	snprintf(detail, sizeof(detail), "under legal hold %s", hold);
	if (api_audit_append(ix, cli_wall_us(), actor, action, obj, "", API_AUDIT_DENIED, detail,
			     NULL))
		fprintf(stderr, "earshot: the audit log could not record the refusal: %s\n",
			idx_errmsg(ix));
}

int cli_ledger_open(struct cli_ctx *ctx, const char *cmd, struct st_ledger **l)
{
	char ldir[4200], err[512] = "";
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	int rc = st_ledger_open(l, ldir, ST_LEDGER_CREATE, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot %s: cannot open the ledger for writing: %s%s\n", cmd,
			*err ? err : es_strerror(rc),
			rc == ES_EAGAIN || rc == ES_EIO ? " (is `earshot record` running?)" : "");
		return CLI_ERR;
	}
	return CLI_OK;
}

/* ---- the calls of a new hold -------------------------------------------------------- */

struct hcall {
	int64_t row;
	char *path; /* the recording's id, NULL when the call has none */
};
struct hcalls {
	struct hcall *v;
	size_t n, cap;
	bool oom;
};

static int take_call(void *ud, const struct idx_call *c)
{
	struct hcalls *h = ud;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		void *p = realloc(h->v, cap * sizeof(*h->v));
		if (!p)
			return h->oom = true, ES_ENOMEM;
		h->v = p;
		h->cap = cap;
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].row == c->id)
			return 0; /* the same call given twice */
	struct hcall *x = &h->v[h->n];
	x->row = c->id;
	x->path = NULL;
	if (c->recording && c->recording->path && !(x->path = strdup(c->recording->path)))
		return h->oom = true, ES_ENOMEM;
	h->n++;
	return 0;
}

static void hcalls_free(struct hcalls *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].path);
	free(h->v);
}

/* "party=alice,tag=case-7" into f (pointers into buf, a copy of q). */
static int parse_query(char *buf, struct idx_filter *f)
{
	for (char *save = NULL, *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		char *v = strchr(it, '=');
		if (!v || v == it || !v[1]) {
			fprintf(stderr, "earshot hold add: --query: '%s' is not key=value\n", it);
			return CLI_USAGE;
		}
		*v++ = '\0';
		if (!strcmp(it, "party")) f->party = v;
		else if (!strcmp(it, "tag")) f->tag = v;
		else if (!strcmp(it, "source")) f->source = v;
		else if (!strcmp(it, "outcome")) f->outcome = v;
		else if (!strcmp(it, "flag")) f->flag = v;
		else if (!strcmp(it, "call-id")) f->call_id = v;
		else if (!strcmp(it, "from") || !strcmp(it, "to")) {
			if (es_time_parse(v, !strcmp(it, "from") ? &f->from_us : &f->to_us)) {
				fprintf(stderr, "earshot hold add: --query: %s: cannot read time '%s'\n", it, v);
				return CLI_USAGE;
			}
		} else {
			fprintf(stderr, "earshot hold add: --query: unknown key '%s' (party, from, to, tag, "
					"source, outcome, flag, call-id)\n", it);
			return CLI_USAGE;
		}
	}
	return CLI_OK;
}

static int hold_add(struct cli_ctx *ctx, const char *name, const char *reason, char **calls,
		    size_t ncalls, const char *query)
{
	const char *why = pol_hold_name_check(name);
	if (!why)
		why = pol_hold_reason_check(reason);
	if (!why && !ncalls == !query)
		why = "give --call ID... or --query FILTERS (one of them)";
	if (why) {
		fprintf(stderr, "earshot hold add: %s\n", why);
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct hcalls h = {0};
	struct st_ledger *l = NULL;
	char *qbuf = NULL, actor[128];
	int rc = 0, ret = CLI_ERR;
	for (size_t i = 0; i < ncalls && !rc; i++) {
		int64_t row = cli_call_ref(ix, calls[i]);
		if (row)
			rc = idx_call_brief(ix, row, take_call, &h);
		if (!row || rc == ES_ENOTFOUND) {
			fprintf(stderr, "earshot hold add: no call %s; no hold placed\n", calls[i]);
			ret = CLI_NOTFOUND;
			goto out;
		}
	}
	if (query) {
		struct idx_filter f = {0};
		if (!(qbuf = strdup(query)) || (ret = parse_query(qbuf, &f)) != CLI_OK) {
			ret = qbuf ? ret : CLI_ERR;
			goto out;
		}
		ret = CLI_ERR;
		rc = idx_calls_list(ix, &f, take_call, &h);
	}
	if (rc) {
		fprintf(stderr, "earshot hold add: %s\n", h.oom ? "out of memory" : idx_errmsg(ix));
		goto out;
	}
	if (!h.n) {
		fprintf(stderr, "earshot hold add: the query matches no call; no hold placed\n");
		ret = CLI_NOTFOUND;
		goto out;
	}
	if (cli_ledger_open(ctx, "hold add", &l))
		goto out;
	cli_actor(actor, sizeof(actor));
	int64_t now = cli_wall_us(), id = 0;
	/* index first (inside a transaction), ledger leaves, commit both: a
	 * hold is in force once the index has it */
	if ((rc = idx_begin(ix)) || (rc = idx_hold_create(ix, name, reason, query, actor, now, &id))) {
		if (rc == ES_EEXIST)
			fprintf(stderr, "earshot hold add: a hold named %s exists already (`earshot "
					"hold show %s`)\n", name, name);
		else
			fprintf(stderr, "earshot hold add: %s\n", idx_errmsg(ix));
		ret = rc == ES_EEXIST ? CLI_HELD : CLI_ERR;
		idx_rollback(ix);
		goto out;
	}
	size_t nrec = 0;
	for (size_t i = 0; i < h.n && !rc; i++) {
		rc = idx_hold_add_call(ix, id, h.v[i].row, h.v[i].path);
		if (!rc && h.v[i].path) {
			rc = st_ledger_append_hold(l, h.v[i].path, name, false, now, NULL);
			nrec++;
		}
	}
	if (!rc)
		rc = idx_commit(ix);
	if (!rc)
		rc = st_ledger_commit(l);
	if (rc) {
		fprintf(stderr, "earshot hold add: %s\n", rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
		idx_rollback(ix);
		goto out;
	}
	char detail[1200];
	snprintf(detail, sizeof(detail), "%zu calls, %zu recordings: %s", h.n, nrec, reason);
	api_audit_append(ix, now, actor, "hold.add", name, "", API_AUDIT_OK, detail, NULL);
	printf("hold %s placed on %zu calls (%zu recordings)\n", name, h.n, nrec);
	ret = CLI_OK;
out:
	free(qbuf);
	hcalls_free(&h);
	st_ledger_close(l);
	idx_close(ix);
	return ret;
}

/* ---- list, show, release ---------------------------------------------------------- */

struct hview {
	bool json;
	struct es_json *j;
	struct idx_hold h;    /* show/release: copied scalars */
	char name[IDX_HOLD_NAME_MAX + 1];
	bool found;
};

static void hold_json(struct es_json *j, const struct idx_hold *h)
{
	char t[ES_TIME_STRLEN];
	es_json_key(j, "name"); es_json_str(j, h->name);
	es_json_key(j, "active"); es_json_bool(j, !h->released_us);
	es_json_key(j, "reason"); es_json_str(j, h->reason);
	es_json_key(j, "query");
	if (h->query) es_json_str(j, h->query); else es_json_null(j);
	es_json_key(j, "calls"); es_json_int(j, h->ncalls);
	es_time_fmt(h->created_us, t, sizeof(t));
	es_json_key(j, "created"); es_json_str(j, t);
	es_json_key(j, "created_by"); es_json_str(j, h->created_by);
	es_json_key(j, "released");
	if (h->released_us) {
		es_time_fmt(h->released_us, t, sizeof(t));
		es_json_str(j, t);
	} else {
		es_json_null(j);
	}
	es_json_key(j, "released_by");
	if (h->released_by) es_json_str(j, h->released_by); else es_json_null(j);
	es_json_key(j, "release_reason");
	if (h->release_reason) es_json_str(j, h->release_reason); else es_json_null(j);
}

static void hold_text(const struct idx_hold *h)
{
	char t[ES_TIME_STRLEN];
	es_time_fmt(h->created_us, t, sizeof(t));
	printf("%-24s %-8s %6lld  %s  %s  %s\n", h->name, h->released_us ? "released" : "active",
	       (long long)h->ncalls, t, h->created_by, h->reason);
}

static int list_one(void *ud, const struct idx_hold *h)
{
	struct hview *v = ud;
	v->found = true;
	if (v->json) {
		es_json_obj_begin(v->j);
		hold_json(v->j, h);
		es_json_obj_end(v->j);
	} else {
		hold_text(h);
	}
	v->h.id = h->id;
	v->h.released_us = h->released_us;
	return 0;
}

static int show_call(void *ud, int64_t row, const char *path)
{
	struct hview *v = ud;
	if (v->json) {
		es_json_obj_begin(v->j);
		es_json_key(v->j, "call_row"); es_json_int(v->j, row);
		es_json_key(v->j, "recording");
		if (path) es_json_str(v->j, path); else es_json_null(v->j);
		es_json_obj_end(v->j);
	} else {
		printf("  call %lld  %s\n", (long long)row, path ? path : "(no recording)");
	}
	return 0;
}

static int hold_list(struct cli_ctx *ctx, const char *name, bool json)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct es_json j;
	struct hview v = {.json = json, .j = &j};
	if (json)
		es_json_init(&j, stdout, true);
	int rc;
	if (name) {
		if (json)
			es_json_obj_begin(&j);
		if (json)
			es_json_key(&j, "hold");
		rc = idx_hold_get(ix, name, list_one, &v);
		if (!rc && json) {
			es_json_key(&j, "calls");
			es_json_arr_begin(&j);
		}
		if (!rc)
			rc = idx_hold_calls(ix, v.h.id, show_call, &v);
		if (!rc && json) {
			es_json_arr_end(&j);
			es_json_obj_end(&j);
		}
	} else {
		if (json)
			es_json_arr_begin(&j);
		rc = idx_holds_list(ix, list_one, &v);
		if (json)
			es_json_arr_end(&j);
	}
	if (json)
		fputc('\n', stdout);
	if (rc == ES_ENOTFOUND)
		fprintf(stderr, "earshot hold show: no hold named %s\n", name);
	else if (rc)
		fprintf(stderr, "earshot hold: %s\n", idx_errmsg(ix));
	idx_close(ix);
	return rc == ES_ENOTFOUND ? CLI_NOTFOUND : rc ? CLI_ERR : CLI_OK;
}

struct rel_ctx {
	struct st_ledger *l;
	const char *name;
	int64_t now;
	size_t n;
};

static int release_leaf(void *ud, int64_t row, const char *path)
{
	(void)row;
	struct rel_ctx *r = ud;
	if (!path)
		return 0;
	r->n++;
	return st_ledger_append_hold(r->l, path, r->name, true, r->now, NULL);
}

static int hold_release(struct cli_ctx *ctx, const char *name, const char *reason)
{
	const char *why = pol_hold_reason_check(reason);
	if (why) {
		fprintf(stderr, "earshot hold release: %s\n", why);
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct hview v = {0};
	struct st_ledger *l = NULL;
	int ret = CLI_ERR, rc = idx_hold_get(ix, name, list_one, &v);
	if (rc == ES_ENOTFOUND) {
		fprintf(stderr, "earshot hold release: no hold named %s\n", name);
		ret = CLI_NOTFOUND;
		goto out;
	}
	if (!rc && v.h.released_us) {
		fprintf(stderr, "earshot hold release: hold %s is released already\n", name);
		ret = CLI_HELD;
		goto out;
	}
	if (rc || cli_ledger_open(ctx, "hold release", &l))
		goto out;
	char actor[128];
	cli_actor(actor, sizeof(actor));
	struct rel_ctx r = {.l = l, .name = name, .now = cli_wall_us()};
	/* ledger leaves first: the release is provable before it takes effect */
	rc = idx_hold_calls(ix, v.h.id, release_leaf, &r);
	if (!rc)
		rc = st_ledger_commit(l);
	if (!rc)
		rc = idx_hold_release(ix, v.h.id, actor, reason, r.now);
	if (rc) {
		fprintf(stderr, "earshot hold release: %s\n", rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
		goto out;
	}
	api_audit_append(ix, r.now, actor, "hold.release", name, "", API_AUDIT_OK, reason, NULL);
	printf("hold %s released (%zu recordings)\n", name, r.n);
	ret = CLI_OK;
out:
	st_ledger_close(l);
	idx_close(ix);
	return ret;
}

int cli_hold(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"call", required_argument, NULL, 'c'},
		{"query", required_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *reason = NULL, *query = NULL;
	char **calls = calloc((size_t)argc + 1, sizeof(*calls));
	size_t ncalls = 0;
	bool json = false;
	int c, ret = CLI_USAGE;
	if (!calls)
		return CLI_ERR;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason = optarg; break;
		case 'c': calls[ncalls++] = optarg; break;
		case 'q': query = optarg; break;
		case 'J': json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': hold_usage(stdout); free(calls); return CLI_OK;
		default: hold_usage(stderr); free(calls); return CLI_USAGE;
		}
	}
	int n = argc - optind;
	const char *sub = n > 0 ? argv[optind] : NULL, *name = n > 1 ? argv[optind + 1] : NULL;
	if (sub && !strcmp(sub, "add") && n == 2)
		ret = hold_add(ctx, name, reason ? reason : "", calls, ncalls, query);
	else if (sub && !strcmp(sub, "list") && n == 1)
		ret = hold_list(ctx, NULL, json);
	else if (sub && !strcmp(sub, "show") && n == 2)
		ret = hold_list(ctx, name, json);
	else if (sub && !strcmp(sub, "release") && n == 2)
		ret = hold_release(ctx, name, reason ? reason : "");
	else {
		fprintf(stderr, "earshot hold: give add NAME, list, show NAME or release NAME\n");
		hold_usage(stderr);
	}
	free(calls);
	return ret;
}
