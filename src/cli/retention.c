/*
 * retention.c - `earshot retention apply|run|report`: the retention
 * policies of the configuration (policy/retention.c) applied to the
 * recordings of the index.  Deletion goes through record/delete.c, so a
 * held recording is refused there and every removal has its tombstone,
 * whose reason names the cause: "retention.<policy>" or "quota.<policy>".
 */
#include "api/api.h"
#include "cli/cli.h"
#include "core/config.h"
#include "policy/policy.h"
#include "store/ledger.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define TAG "retention"
#define BATCH 1000 /* deletions per signed ledger head and index transaction */

static void ret_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot retention apply [--yes] [options]\n"
		"       earshot retention run [--dry-run] [options]\n"
		"       earshot retention report [--days N] [options]\n"
		"\n"
		"Retention policies ([retention NAME] sections of the configuration,\n"
		"docs/CONFIG.md).  Each recording has a policy, a minimum keep time and\n"
		"an expiry, set from the policy that matched it when retention first saw it.\n"
		"\n"
		"  apply    recompute every recording's policy and times with the current\n"
		"           configuration (after a policy change); shows what would change,\n"
		"           changes it only with --yes\n"
		"  run      delete the expired recordings (crypto-shred the key, remove the\n"
		"           file, a ledger tombstone \"retention.POLICY\"), then, above the\n"
		"           quota ([retention] max_bytes), the oldest ones past their\n"
		"           minimum (\"quota.POLICY\").  The call's row stays, flagged\n"
		"           expired, unless the policy says drop_metadata.  Recordings\n"
		"           under a legal hold are kept (each refusal audited)\n"
		"  report   what expires in the next N days (default 30), by policy\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   the configuration with the policies (without it,\n"
		"                      every recording is kept for good by \"default\")\n"
		"  --now TIME          the time to judge by (default: now); as `calls --from`\n"
		"  --policy NAME       only recordings of this policy (it must exist)\n"
		"  --yes               apply: write the changes\n"
		"  --dry-run           run: say what would be deleted, delete nothing\n"
		"  --days N            report: the window (1-36500 days)\n"
		"  --json              the summary as JSON\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage or a bad configuration (also: an\n"
		"unknown policy; nothing is deleted then), 7 run: the quota cannot be met\n"
		"without deleting recordings before their minimum keep time (what could\n"
		"go went; the rest is reported).\n");
}

struct ropts {
	const char *config, *policy;
	int64_t now;
	bool yes, dry, json;
	bool quiet; /* inside `earshot record`: a log line, not a summary */
	int64_t days;
};

/* ---- the recordings, copied out of the index ------------------------------------ */

struct rrec {
	int64_t row;
	char *path;
	char policy[POL_RET_NAME_MAX + 1]; /* stored (or, for apply, new) */
	uint64_t bytes;
	bool encrypted;
	int64_t keep, until;
	bool changed; /* apply */
};
struct rset {
	struct rrec *v;
	size_t n, cap;
	const struct pol_retention *pol;
	const struct ropts *o;
	bool assign;  /* compute the policy (apply, unassigned) */
	bool oom;
	size_t unknown;
	char unknown_name[POL_RET_NAME_MAX + 8];
};

static int take(void *ud, const struct idx_ret_rec *r)
{
	struct rset *s = ud;
	char pol[POL_RET_NAME_MAX + 1] = "";
	int64_t keep = r->keep_until_us, until = r->retain_until_us;
	if (s->assign) {
		struct pol_ret_call c = {.rule = r->rule, .caller = r->caller, .callee = r->callee,
					 .source = r->source, .flags = r->flags, .tags = r->tags,
					 .start_us = r->start_us};
		struct pol_ret_decision d;
		pol_retention_decide(s->pol, &c, &d);
		snprintf(pol, sizeof(pol), "%s", d.policy);
		keep = d.keep_until_us;
		until = d.retain_until_us;
	} else {
		snprintf(pol, sizeof(pol), "%s", r->retention ? r->retention : "default");
		if (!pol_retention_known(s->pol, pol, NULL)) {
			/* configured no more: never delete by a policy nobody wrote */
			if (!s->unknown++)
				snprintf(s->unknown_name, sizeof(s->unknown_name), "%s", pol);
			return 0;
		}
	}
	if (s->o->policy && strcmp(pol, s->o->policy))
		return 0;
	bool changed = !r->retention || strcmp(r->retention, pol) || keep != r->keep_until_us ||
		       until != r->retain_until_us;
	if (s->assign && !changed)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		void *p = realloc(s->v, cap * sizeof(*s->v));
		if (!p)
			return s->oom = true, ES_ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	struct rrec *x = &s->v[s->n];
	if (!(x->path = strdup(r->path)))
		return s->oom = true, ES_ENOMEM;
	x->row = r->call_row;
	memcpy(x->policy, pol, sizeof(pol));
	x->bytes = r->bytes;
	x->encrypted = r->encrypted;
	x->keep = keep;
	x->until = until;
	x->changed = changed;
	s->n++;
	return 0;
}

static void rset_free(struct rset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int list(struct idx *ix, struct rset *s, enum idx_ret_which which, int64_t until)
{
	int rc = idx_retention_list(ix, which, until, take, s);
	if (rc)
		fprintf(stderr, "earshot retention: %s\n", s->oom ? "out of memory" : idx_errmsg(ix));
	return rc;
}

/* Write the computed policies and times, in one transaction. */
static int store(struct idx *ix, const struct rset *s)
{
	int rc = idx_begin(ix);
	for (size_t i = 0; i < s->n && !rc; i++)
		rc = idx_retention_set(ix, s->v[i].row, s->v[i].policy, s->v[i].keep, s->v[i].until);
	if (!rc)
		rc = idx_commit(ix);
	if (rc) {
		fprintf(stderr, "earshot retention: %s\n", idx_errmsg(ix));
		idx_rollback(ix);
	}
	return rc;
}

/* Recordings retention has not seen yet get the policy that matches them
 * now: this is their first assignment, not a change. */
static int assign_new(struct idx *ix, const struct pol_retention *pol, const struct ropts *o,
		      size_t *n)
{
	struct ropts all = *o;
	all.policy = NULL;
	struct rset s = {.pol = pol, .o = &all, .assign = true};
	int rc = list(ix, &s, IDX_RET_UNASSIGNED, 0);
	if (!rc && s.n && !o->dry)
		rc = store(ix, &s);
	*n = s.n;
	rset_free(&s);
	return rc;
}

/* ---- per-policy totals ---------------------------------------------------------- */

struct tot {
	char policy[POL_RET_NAME_MAX + 1];
	uint64_t count, bytes;
};
struct tots {
	struct tot v[64]; /* policies beyond 64 are summed into the last */
	unsigned n;
};

static void tot_add(struct tots *t, const char *policy, uint64_t bytes)
{
	unsigned i = 0;
	while (i < t->n && strcmp(t->v[i].policy, policy))
		i++;
	if (i == t->n) {
		if (t->n == ES_ARRAY_LEN(t->v))
			i = t->n - 1;
		else
			snprintf(t->v[t->n++].policy, sizeof(t->v[0].policy), "%s", policy);
	}
	t->v[i].count++;
	t->v[i].bytes += bytes;
}

static void tots_json(struct es_json *j, const char *key, const struct tots *t)
{
	es_json_key(j, key);
	es_json_arr_begin(j);
	for (unsigned i = 0; i < t->n; i++) {
		es_json_obj_begin(j);
		es_json_key(j, "policy"); es_json_str(j, t->v[i].policy);
		es_json_key(j, "count"); es_json_int(j, (int64_t)t->v[i].count);
		es_json_key(j, "bytes"); es_json_int(j, (int64_t)t->v[i].bytes);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

static void tots_text(const char *what, const struct tots *t)
{
	for (unsigned i = 0; i < t->n; i++)
		printf("%s %-24s %8llu recordings %14llu bytes\n", what, t->v[i].policy,
		       (unsigned long long)t->v[i].count, (unsigned long long)t->v[i].bytes);
}

/* ---- apply ---------------------------------------------------------------------- */

static int ret_apply(struct idx *ix, const struct pol_retention *pol, const struct ropts *o)
{
	struct rset s = {.pol = pol, .o = o, .assign = true};
	int rc = list(ix, &s, IDX_RET_ALL, 0);
	if (rc)
		return CLI_ERR;
	struct tots t = {0};
	for (size_t i = 0; i < s.n; i++)
		tot_add(&t, s.v[i].policy, s.v[i].bytes);
	if (o->yes && s.n)
		rc = store(ix, &s);
	if (o->json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "applied"); es_json_bool(&j, o->yes && !rc);
		es_json_key(&j, "changed"); es_json_int(&j, (int64_t)s.n);
		tots_json(&j, "by_policy", &t);
		es_json_obj_end(&j);
		fputc('\n', stdout);
	} else {
		tots_text(o->yes ? "set" : "would set", &t);
		printf("%zu recordings %s\n", s.n,
		       !s.n ? "already follow the policies"
		       : o->yes ? "updated" : "would change: run again with --yes to apply");
	}
	if (!rc && o->yes && s.n) {
		char actor[128], detail[64];
		cli_actor(actor, sizeof(actor));
		snprintf(detail, sizeof(detail), "%zu recordings", s.n);
		api_audit_append(ix, cli_wall_us(), actor, "retention.apply", "", "", API_AUDIT_OK,
				 detail, NULL);
	}
	rset_free(&s);
	return rc ? CLI_ERR : CLI_OK;
}

/* ---- run ------------------------------------------------------------------------- */

struct runner {
	struct idx *ix;
	struct rec_deleter d;
	const struct pol_retention *pol;
	const struct ropts *o;
	struct tots expired, quota;
	uint64_t held, failed, freed;
	struct rec_del_target pend[BATCH];
	const struct rrec *pendr[BATCH];
	const char *pendcause[BATCH];
	size_t npend;
};

/* Commit the batch's tombstones, then remove what they announce. */
static int flush(struct runner *r)
{
	if (!r->npend)
		return 0;
	char err[600] = "";
	int rc = st_ledger_commit(r->d.ledger);
	if (rc) {
		fprintf(stderr, "earshot retention run: the ledger could not record the deletions: "
				"%s; nothing of this batch was deleted\n", es_strerror(rc));
		return rc;
	}
	if ((rc = idx_begin(r->ix)))
		return rc;
	for (size_t i = 0; i < r->npend && !rc; i++) {
		const struct rrec *x = r->pendr[i];
		bool drop = false;
		pol_retention_known(r->pol, x->policy, &drop);
		if ((rc = rec_del_end(&r->d, &r->pend[i], err, sizeof(err))) ||
		    (rc = idx_call_expire(r->ix, x->row, drop))) {
			fprintf(stderr, "earshot retention run: %s\n", *err ? err : idx_errmsg(r->ix));
			break;
		}
		tot_add(!strcmp(r->pendcause[i], "quota") ? &r->quota : &r->expired, x->policy,
			x->bytes);
		r->freed += x->bytes;
	}
	int crc = idx_commit(r->ix);
	r->npend = 0;
	return rc ? rc : crc;
}

/* Delete x for cause ("retention" or "quota"); a held one is counted and
 * audited, not an error. */
static int delete_one(struct runner *r, const struct rrec *x, const char *cause)
{
	if (r->o->dry) {
		tot_add(!strcmp(cause, "quota") ? &r->quota : &r->expired, x->policy, x->bytes);
		r->freed += x->bytes;
		return 0;
	}
	char reason[ST_LEDGER_REASON_MAX + 1], held[IDX_HOLD_NAME_MAX + 1] = "", err[600] = "";
	snprintf(reason, sizeof(reason), "%s.%s", cause, x->policy);
	struct rec_del_target *t = &r->pend[r->npend];
	*t = (struct rec_del_target){.call_row = x->row, .path = x->path, .encrypted = x->encrypted};
	int rc = rec_del_begin(&r->d, t, reason, cli_wall_us(), NULL, held, sizeof(held), err,
			       sizeof(err));
	if (rc == ES_EHELD) {
		ES_LOG_INF(TAG, "%s", err);
		cli_audit_refusal(r->ix, "retention.run", x->row, held);
		r->held++;
		return 0;
	}
	if (rc) {
		fprintf(stderr, "earshot retention run: %s\n", err);
		return rc;
	}
	r->pendr[r->npend] = x;
	r->pendcause[r->npend++] = cause;
	return r->npend == BATCH ? flush(r) : 0;
}

static int run_quota(struct runner *r, bool *unmet, uint64_t *total_out)
{
	uint64_t max = pol_retention_max_bytes(r->pol), total = 0;
	*unmet = false;
	int rc = idx_recordings_bytes(r->ix, &total);
	if (rc)
		return rc;
	if (r->o->dry)
		total -= ES_MIN(total, r->freed); /* as if the expired were gone */
	*total_out = total;
	if (!max || total <= max)
		return 0;
	struct rset s = {.pol = r->pol, .o = r->o};
	if ((rc = list(r->ix, &s, IDX_RET_QUOTA, r->o->now)))
		return rc;
	uint64_t before = r->freed;
	for (size_t i = 0; i < s.n && !rc && total > max; i++) {
		uint64_t h = r->held;
		rc = delete_one(r, &s.v[i], "quota");
		if (r->held == h)
			total -= ES_MIN(total, s.v[i].bytes);
	}
	if (!rc)
		rc = flush(r);
	(void)before;
	*total_out = total;
	*unmet = total > max;
	rset_free(&s);
	return rc;
}

/* The run with a ledger open for writing (and the vault, may be NULL). */
static int ret_run_with(struct cli_ctx *ctx, struct idx *ix, struct st_ledger *ledger,
			struct st_vault *vault, const struct pol_retention *pol,
			const struct ropts *o)
{
	size_t nnew = 0;
	if (assign_new(ix, pol, o, &nnew))
		return CLI_ERR;
	struct rset s = {.pol = pol, .o = o};
	if (list(ix, &s, IDX_RET_DUE, o->now))
		return CLI_ERR;
	if (s.unknown) {
		fprintf(stderr, "earshot retention run: %zu expired recordings have policy '%s', which "
				"the configuration no longer has; nothing was deleted (restore the "
				"policy, or `earshot retention apply --yes` to re-assign)\n",
			s.unknown, s.unknown_name);
		rset_free(&s);
		return CLI_USAGE;
	}
	struct runner r = {.ix = ix, .pol = pol, .o = o,
			   .d = {.data_dir = ctx->data_dir, .ix = ix, .ledger = ledger,
				 .vault = vault}};
	int rc = 0, ret = CLI_ERR;
	for (size_t i = 0; i < s.n && !rc; i++)
		rc = delete_one(&r, &s.v[i], "retention");
	if (!rc)
		rc = flush(&r);
	bool unmet = false;
	uint64_t total = 0;
	if (!rc && !o->policy)
		rc = run_quota(&r, &unmet, &total);
	if (rc)
		goto out;
	uint64_t max = pol_retention_max_bytes(pol);
	if (unmet)
		ES_LOG_WARNING(TAG, "quota not met: %llu bytes of recordings, max_bytes %llu; the rest "
				 "is within its minimum keep time or held",
			    (unsigned long long)total, (unsigned long long)max);
	if (o->quiet) {
		ES_LOG_INF(TAG, "retention: %llu bytes freed (%llu recordings kept by a legal "
				"hold), %zu newly assigned%s", (unsigned long long)r.freed,
			   (unsigned long long)r.held, nnew, unmet ? "; quota NOT met" : "");
	} else if (o->json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "dry_run"); es_json_bool(&j, o->dry);
		es_json_key(&j, "assigned"); es_json_int(&j, (int64_t)nnew);
		tots_json(&j, "expired", &r.expired);
		tots_json(&j, "quota", &r.quota);
		es_json_key(&j, "held"); es_json_int(&j, (int64_t)r.held);
		es_json_key(&j, "freed_bytes"); es_json_int(&j, (int64_t)r.freed);
		es_json_key(&j, "total_bytes"); es_json_int(&j, (int64_t)total);
		es_json_key(&j, "max_bytes"); es_json_int(&j, (int64_t)max);
		es_json_key(&j, "quota_met"); es_json_bool(&j, !unmet);
		es_json_obj_end(&j);
		fputc('\n', stdout);
	} else {
		const char *verb = o->dry ? "would delete" : "deleted";
		tots_text(o->dry ? "would expire" : "expired", &r.expired);
		tots_text(o->dry ? "would free (quota)" : "freed (quota)", &r.quota);
		printf("%s %llu bytes; %llu recordings kept by a legal hold; %zu newly assigned\n",
		       verb, (unsigned long long)r.freed, (unsigned long long)r.held, nnew);
		if (unmet)
			printf("quota NOT met: %llu bytes, max_bytes %llu: the rest is within its "
			       "minimum keep time or held\n",
			       (unsigned long long)total, (unsigned long long)max);
	}
	if (!o->dry) {
		char actor[128], detail[200];
		cli_actor(actor, sizeof(actor));
		snprintf(detail, sizeof(detail), "freed %llu bytes, %llu held%s",
			 (unsigned long long)r.freed, (unsigned long long)r.held,
			 unmet ? ", quota not met" : "");
		api_audit_append(ix, cli_wall_us(), actor, "retention.run", "", "", API_AUDIT_OK,
				 detail, NULL);
	}
	ret = unmet ? CLI_QUOTA : CLI_OK;
out:
	rec_deleter_close(&r.d);
	rset_free(&s);
	return ret;
}

static int ret_run(struct cli_ctx *ctx, struct idx *ix, const struct pol_retention *pol,
		   const struct ropts *o)
{
	struct st_ledger *l = NULL;
	if (!o->dry && cli_ledger_open(ctx, "retention run", &l))
		return CLI_ERR;
	int ret = ret_run_with(ctx, ix, l, NULL, pol, o);
	st_ledger_close(l);
	return ret;
}

int cli_retention_daily(struct cli_run *r)
{
	struct ropts o = {.now = cli_wall_us(), .quiet = true};
	return ret_run_with(r->ctx, r->ix, r->arc.ledger, r->arc.vault, r->retention, &o);
}

/* ---- report ---------------------------------------------------------------------- */

static int ret_report(struct idx *ix, const struct pol_retention *pol, const struct ropts *o)
{
	struct ropts dry = *o;
	dry.dry = true; /* a report changes nothing, also not new assignments */
	struct rset s = {.pol = pol, .o = &dry};
	int64_t until = o->now + o->days * 86400 * ES_US_PER_SEC;
	if (list(ix, &s, IDX_RET_DUE, until))
		return CLI_ERR;
	struct rset u = {.pol = pol, .o = &dry, .assign = true};
	if (list(ix, &u, IDX_RET_UNASSIGNED, 0)) {
		rset_free(&s);
		return CLI_ERR;
	}
	struct tots t = {0};
	for (size_t i = 0; i < s.n; i++)
		tot_add(&t, s.v[i].policy, s.v[i].bytes);
	for (size_t i = 0; i < u.n; i++)
		if (u.v[i].until && u.v[i].until <= until)
			tot_add(&t, u.v[i].policy, u.v[i].bytes);
	uint64_t total = 0;
	idx_recordings_bytes(ix, &total);
	if (o->json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "days"); es_json_int(&j, o->days);
		tots_json(&j, "expiring", &t);
		es_json_key(&j, "unknown_policy"); es_json_int(&j, (int64_t)s.unknown);
		es_json_key(&j, "total_bytes"); es_json_int(&j, (int64_t)total);
		es_json_key(&j, "max_bytes"); es_json_int(&j, (int64_t)pol_retention_max_bytes(pol));
		es_json_obj_end(&j);
		fputc('\n', stdout);
	} else {
		printf("expiring in the next %lld days:\n", (long long)o->days);
		tots_text(" ", &t);
		if (!t.n)
			printf("  nothing\n");
		if (s.unknown)
			printf("%zu expired recordings have policy '%s', no longer configured\n",
			       s.unknown, s.unknown_name);
		printf("recordings: %llu bytes; max_bytes %llu (0: no quota)\n",
		       (unsigned long long)total, (unsigned long long)pol_retention_max_bytes(pol));
	}
	rset_free(&s);
	rset_free(&u);
	return CLI_OK;
}

int cli_retention(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"now", required_argument, NULL, 'n'},
		{"policy", required_argument, NULL, 'p'},
		{"yes", no_argument, NULL, 'y'},
		{"dry-run", no_argument, NULL, 'D'},
		{"days", required_argument, NULL, 'N'},
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct ropts o = {.now = cli_wall_us(), .days = 30};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'n':
			if (es_time_parse(optarg, &o.now)) {
				fprintf(stderr, "earshot retention: --now: cannot read time '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'p': o.policy = optarg; break;
		case 'y': o.yes = true; break;
		case 'D': o.dry = true; break;
		case 'N':
			o.days = strtoll(optarg, &end, 10);
			if (*end || end == optarg || o.days < 1 || o.days > 36500) {
				fprintf(stderr, "earshot retention: --days: 1-36500, not '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'J': o.json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': ret_usage(stdout); return CLI_OK;
		default: ret_usage(stderr); return CLI_USAGE;
		}
	}
	const char *sub = optind < argc ? argv[optind] : NULL;
	if (!sub || optind + 1 != argc ||
	    (strcmp(sub, "apply") && strcmp(sub, "run") && strcmp(sub, "report"))) {
		fprintf(stderr, "earshot retention: give apply, run or report\n");
		ret_usage(stderr);
		return CLI_USAGE;
	}
	struct pol_retention *pol = NULL;
	char err[1024] = "";
	if (o.config) {
		struct es_conf conf;
		int rc = es_conf_load(&conf, o.config, err, sizeof(err));
		if (!rc) {
			rc = pol_retention_from_conf(&pol, &conf, err, sizeof(err));
			es_conf_free(&conf);
		}
		if (rc) {
			fprintf(stderr, "earshot retention: %s\n", *err ? err : es_strerror(rc));
			return CLI_USAGE;
		}
	}
	if (o.policy && !pol_retention_known(pol, o.policy, NULL)) {
		fprintf(stderr, "earshot retention: --policy: no policy '%s' in %s\n", o.policy,
			o.config ? o.config : "the configuration (none given)");
		pol_retention_free(pol);
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix)) {
		pol_retention_free(pol);
		return CLI_ERR;
	}
	int ret = !strcmp(sub, "apply") ? ret_apply(ix, pol, &o)
		  : !strcmp(sub, "run") ? ret_run(ctx, ix, pol, &o) : ret_report(ix, pol, &o);
	idx_close(ix);
	pol_retention_free(pol);
	return ret;
}
