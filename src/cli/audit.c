/* audit.c - `earshot audit`: list and verify the hash-chained audit log
 * (api/api.h). */
#include "api/api.h"
#include "cli/cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void audit_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot audit [--user U] [--action A] [--since TIME] [--limit N] [--json]\n"
		"       earshot audit --reveal [--user U] [--action A] [--since TIME] [--limit N]\n"
		"                     [--json]\n"
		"       earshot audit --verify [--json]\n"
		"\n"
		"The audit log: every login, access to a call and administrative change\n"
		"(who, what, when, from where, and whether it was allowed).  Entries are\n"
		"hash-chained: each one's hash covers the previous hash and its own\n"
		"fields.\n"
		"\n"
		"Options:\n"
		"  --user U            entries of user U (exact: \"alice\", \"cli:root\")\n"
		"  --action A          entries of action A (\"login\", \"user.add\"); a\n"
		"                      value ending in '.' is a prefix (\"user.\")\n"
		"  --since TIME        at or after TIME (2026-11-24, 2026-11-24T08:00[:SS]Z,\n"
		"                      or seconds since 1970; UTC)\n"
		"  --limit N           the newest N matching entries (still oldest first)\n"
		"  --reveal            open the sealed values (what a search's text= and\n"
		"                      keyword= looked for: \"sealed:...\" as stored); needs\n"
		"                      the data folder's keys; audited as audit.reveal\n"
		"  --verify            recompute the whole chain; name the first broken entry\n"
		"  --json              JSON output\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"--verify finds edited, deleted (other than the newest), reordered and\n"
		"renumbered entries.  Removing the newest entries cannot be seen from the\n"
		"chain alone: keep the printed newest seq and hash somewhere else and\n"
		"compare later.\n"
		"\n"
		"Exit codes: 0 ok (--verify: the chain is intact), 1 error or (--verify)\n"
		"the chain is broken, 2 usage.\n");
}

struct out {
	bool json;
	struct es_json j;
	unsigned n;
	struct idx *reveal; /* --reveal: the index whose key opens sealed values */
	struct es_buf shown;
	unsigned opened;
	int err;
};

static int print_entry(void *ud, const struct idx_audit *a)
{
	struct out *o = ud;
	char t[ES_TIME_STRLEN];
	struct idx_audit shown;
	if (o->reveal) {
		/* the stored detail stays what the chain's hash covers; only
		 * the copy shown is opened */
		unsigned k = 0;
		if ((o->err = api_audit_reveal(o->reveal, a->detail, &o->shown, &k)))
			return o->err;
		o->opened += k;
		shown = *a;
		shown.detail = (const char *)o->shown.p;
		a = &shown;
	}
	es_time_fmt(a->time_us, t, sizeof(t));
	if (o->json) {
		struct es_json *j = &o->j;
		es_json_obj_begin(j);
		es_json_key(j, "seq"); es_json_int(j, a->seq);
		es_json_key(j, "time"); es_json_str(j, t);
		es_json_key(j, "time_us"); es_json_int(j, a->time_us);
		es_json_key(j, "user"); es_json_str(j, a->user);
		es_json_key(j, "action"); es_json_str(j, a->action);
		es_json_key(j, "object"); es_json_str(j, a->object);
		es_json_key(j, "remote"); es_json_str(j, a->remote);
		es_json_key(j, "outcome"); es_json_str(j, a->outcome);
		es_json_key(j, "detail"); es_json_str(j, a->detail);
		es_json_key(j, "prev_hash"); es_json_str(j, a->prev_hash);
		es_json_key(j, "hash"); es_json_str(j, a->hash);
		es_json_obj_end(j);
	} else {
		if (!o->n)
			printf("%6s  %-24s  %-16s  %-16s  %-20s  %-15s  %-7s  %s\n", "SEQ", "TIME",
			       "USER", "ACTION", "OBJECT", "REMOTE", "OUTCOME", "DETAIL");
		printf("%6lld  %-24s  %-16s  %-16s  %-20s  %-15s  %-7s  %s\n", (long long)a->seq,
		       t, a->user, a->action, a->object[0] ? a->object : "-",
		       a->remote[0] ? a->remote : "-", a->outcome, a->detail);
	}
	o->n++;
	return 0;
}

static int verify(struct idx *ix, bool json)
{
	struct api_audit_check r;
	int err = api_audit_verify(ix, &r);
	if (err && err != API_EAUTH) {
		fprintf(stderr, "earshot audit: %s\n", idx_errmsg(ix));
		return CLI_ERR;
	}
	if (json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "intact"); es_json_bool(&j, !err);
		es_json_key(&j, "entries"); es_json_int(&j, (int64_t)r.entries);
		es_json_key(&j, "last_seq"); es_json_int(&j, r.last_seq);
		es_json_key(&j, "last_hash"); es_json_str(&j, r.last_hash[0] ? r.last_hash : NULL);
		es_json_key(&j, "bad_seq");
		if (err)
			es_json_int(&j, r.bad_seq);
		else
			es_json_null(&j);
		es_json_key(&j, "reason"); es_json_str(&j, err ? r.reason : NULL);
		es_json_obj_end(&j);
		es_json_end(&j);
	} else if (err) {
		printf("audit log BROKEN at seq %lld: %s\n", (long long)r.bad_seq, r.reason);
		if (r.last_seq)
			printf("the entries before it (seq 1 to %lld) are intact\n",
			       (long long)r.last_seq);
	} else if (!r.entries) {
		printf("audit log empty: nothing to verify\n");
	} else {
		printf("audit log intact: %llu entries; the chain is intact up to seq %lld, the "
		       "newest entry\n"
		       "newest hash %s\n"
		       "removing the newest entries would not be visible without an external "
		       "anchor:\nkeep this seq and hash elsewhere and compare them later\n",
		       (unsigned long long)r.entries, (long long)r.last_seq, r.last_hash);
	}
	return err ? CLI_ERR : CLI_OK;
}

/* --reveal is itself audited, before anything is shown: who opened what
 * (the command's filters); CLI_ERR when it cannot be (nothing shown). */
static int audit_reveal(struct idx *ix, int argc, char **argv)
{
	char actor[128];
	struct es_buf d;
	es_buf_init(&d);
	int err = es_buf_printf(&d, "sealed values opened:");
	for (int i = 1; i < argc && !err; i++)
		if (strcmp(argv[i], "--reveal") && strcmp(argv[i], "--json"))
			err = es_buf_printf(&d, " %.120s", argv[i]);
	cli_actor(actor, sizeof(actor));
	if (!err)
		err = api_audit_append(ix, cli_wall_us(), actor, "audit.reveal", NULL, "",
				       API_AUDIT_OK, (const char *)d.p, NULL);
	es_buf_free(&d);
	if (err) {
		fprintf(stderr, "earshot audit: --reveal could not be audited, nothing shown: %s\n",
			err == ES_ENOMEM ? es_strerror(err) : idx_errmsg(ix));
		return CLI_ERR;
	}
	return CLI_OK;
}

int cli_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		{"action", required_argument, NULL, 'a'},
		{"since", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'l'},
		{"verify", no_argument, NULL, 'V'},
		{"reveal", no_argument, NULL, 'R'},
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct idx_audit_filter f = {0};
	struct out o = {0};
	bool do_verify = false, filtered = false, reveal = false;
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': f.user = optarg; filtered = true; break;
		case 'a': f.action = optarg; filtered = true; break;
		case 's':
			if (es_time_parse(optarg, &f.since_us)) {
				fprintf(stderr, "earshot audit: --since: cannot read time '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			filtered = true;
			break;
		case 'l':
			if (sl_to_u64(sl_cstr(optarg), &v) || v > INT32_MAX) {
				fprintf(stderr, "earshot audit: not a number: '%s'\n", optarg);
				return CLI_USAGE;
			}
			f.limit = (unsigned)v;
			filtered = true;
			break;
		case 'V': do_verify = true; break;
		case 'R': reveal = true; break;
		case 'J': o.json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': audit_usage(stdout); return CLI_OK;
		default: audit_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "earshot audit: unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}
	if (do_verify && reveal) {
		fprintf(stderr, "earshot audit: --verify and --reveal do not go together\n");
		return CLI_USAGE;
	}
	if (do_verify && filtered) {
		fprintf(stderr, "earshot audit: --verify checks the whole log; it takes no "
				"filters\n");
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int rc;
	es_buf_init(&o.shown);
	if (do_verify) {
		rc = verify(ix, o.json);
	} else if (reveal && (rc = audit_reveal(ix, argc, argv))) {
		/* not audited, not shown */
	} else {
		o.reveal = reveal ? ix : NULL;
		if (o.json) {
			es_json_init(&o.j, stdout, true);
			es_json_arr_begin(&o.j);
		}
		int err = api_audit_list(ix, &f, print_entry, &o);
		if (o.err)
			err = o.err;
		if (o.json) {
			es_json_arr_end(&o.j);
			es_json_end(&o.j);
		} else if (!err && !o.n) {
			printf("no audit entries%s\n", filtered ? " match" : "");
		}
		rc = CLI_OK;
		if (err) {
			fprintf(stderr, "earshot audit: %s\n",
				o.err ? es_strerror(o.err) : idx_errmsg(ix));
			rc = CLI_ERR;
		}
	}
	if (o.shown.p)
		sodium_memzero(o.shown.p, o.shown.cap);
	es_buf_free(&o.shown);
	idx_close(ix);
	return rc;
}
