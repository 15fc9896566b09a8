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

/* ---- add ------------------------------------------------------------------------------ */

static int hold_exit(int rc)
{
	return rc == ES_EINVAL ? CLI_USAGE : rc == ES_ENOTFOUND ? CLI_NOTFOUND
	       : rc == ES_EEXIST ? CLI_HELD : CLI_ERR;
}

static int hold_add(struct cli_ctx *ctx, const char *name, const char *reason, char **calls,
		    size_t ncalls, const char *query)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int64_t *rows = calloc(ncalls + 1, sizeof(*rows));
	struct st_ledger *l = NULL;
	char actor[128], err[600] = "";
	int ret = CLI_ERR;
	if (!rows)
		goto out;
	for (size_t i = 0; i < ncalls; i++)
		if (!(rows[i] = cli_call_ref(ix, calls[i]))) {
			fprintf(stderr, "earshot hold add: no call %s; no hold placed\n", calls[i]);
			ret = CLI_NOTFOUND;
			goto out;
		}
	/* check what needs no ledger first: bad input never takes its lock */
	const char *why = pol_hold_name_check(name);
	if (!why)
		why = pol_hold_reason_check(reason);
	if (why) {
		fprintf(stderr, "earshot hold add: %s\n", why);
		ret = CLI_USAGE;
		goto out;
	}
	if (cli_ledger_open(ctx, "hold add", &l))
		goto out;
	cli_actor(actor, sizeof(actor));
	struct rec_hold_req q = {.name = name, .reason = reason, .rows = ncalls ? rows : NULL,
				 .nrows = ncalls, .query = query, .by = actor,
				 .now_us = cli_wall_us(), .data_dir = ctx->data_dir};
	size_t nc = 0, nr = 0;
	int rc = rec_hold_place(ix, l, &q, &nc, &nr, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot hold add: %s\n", err);
		ret = hold_exit(rc);
		goto out;
	}
	char detail[1200];
	snprintf(detail, sizeof(detail), "%zu calls, %zu recordings: %s", nc, nr, reason);
	api_audit_append(ix, q.now_us, actor, "hold.add", name, "", API_AUDIT_OK, detail, NULL);
	printf("hold %s placed on %zu calls (%zu recordings)\n", name, nc, nr);
	ret = CLI_OK;
out:
	free(rows);
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
		api_hold_json(v->j, h);
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
	struct st_ledger *l = NULL;
	char actor[128], err[600] = "";
	int ret = CLI_ERR;
	if (cli_ledger_open(ctx, "hold release", &l))
		goto out;
	cli_actor(actor, sizeof(actor));
	int64_t now = cli_wall_us();
	size_t nr = 0;
	int rc = rec_hold_release(ix, l, ctx->data_dir, name, actor, reason, now, &nr, err,
				  sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot hold release: %s\n", err);
		ret = hold_exit(rc);
		goto out;
	}
	api_audit_append(ix, now, actor, "hold.release", name, "", API_AUDIT_OK, reason, NULL);
	printf("hold %s released (%zu recordings)\n", name, nr);
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
