/*
 * subject.c - `earshot subject export|erase`: data-subject requests (GDPR
 * art. 15/17, CCPA) for one party's number.  The work is api/subject.c's
 * (shared with POST /api/subject/...); this file parses and reports.
 */
#include "api/api.h"
#include "cli/cli.h"
#include "store/ledger.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void subject_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot subject export --party NUMBER -o FILE.zip\n"
		"       earshot subject erase --party NUMBER --reason TEXT (--dry-run | --yes)\n"
		"                             [--json]\n"
		"\n"
		"Data-subject requests (GDPR art. 15 and 17, CCPA) for the calls of one\n"
		"party: those whose caller or callee has NUMBER as the user part of its\n"
		"URI or P-Asserted-Identity, compared as user numbers are (a leading '+'\n"
		"and the separators \" -.()/\" do not count; no prefix matching).\n"
		"\n"
		"  export   every call's metadata and, for each recording, its evidence\n"
		"           bundle, in one ZIP with a manifest (verify it offline with\n"
		"           earshot-verify-evidence FILE.zip)\n"
		"  erase    every recording of the party is deleted (ledger tombstone\n"
		"           \"erasure.<reason>\", its key destroyed) and the party is\n"
		"           pseudonymised in the index rows (docs/OPERATIONS.md); calls\n"
		"           under a legal hold are kept whole and reported with the hold\n"
		"\n"
		"  --party NUMBER   the party's number\n"
		"  -o FILE.zip      export: the file to write (must not exist)\n"
		"  --reason TEXT    erase: the request's reference (audited; its\n"
		"                   [a-z0-9._-] form is in the tombstones: no personal data)\n"
		"  --dry-run        erase: report what would be erased, change nothing\n"
		"  --yes            erase: do it\n"
		"  --json           erase: the report as JSON\n"
		"  --data DIR       data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"\n"
		"Exit codes: 0 ok (also when a hold kept calls: the report names them),\n"
		"1 error, 2 usage, 4 no call of that party.\n");
}

static int subject_export(struct cli_ctx *ctx, const char *party, const char *out)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	char err[1200] = "", actor[128];
	struct api_subject_export q = {.data_dir = ctx->data_dir, .ix = ix, .number = party,
				       .out = out, .out_fd = -1, .now_us = cli_wall_us()};
	int rc = api_subject_export(&q, err, sizeof(err));
	cli_actor(actor, sizeof(actor));
	/* the audit names the party by its pseudonym, never the number */
	char norm[IDX_NUMBERS_MAX + 1], pseudo[API_PSEUDO_MAX] = "", obj[API_PSEUDO_MAX + 8],
		detail[160], perr[300];
	if (!api_subject_number(party, norm, sizeof(norm)) &&
	    !api_subject_pseudonym(ctx->data_dir, norm, pseudo, perr, sizeof(perr))) {
		snprintf(obj, sizeof(obj), "party:%s", pseudo);
		snprintf(detail, sizeof(detail), "%zu calls, %zu evidence bundles", q.ncalls,
			 q.nbundles);
		api_audit_append(ix, q.now_us, actor, "subject.export", obj, "",
				 rc ? API_AUDIT_FAILED : API_AUDIT_OK, rc ? err : detail, NULL);
	}
	idx_close(ix);
	if (rc) {
		fprintf(stderr, "earshot subject export: %s\n", err);
		return rc == ES_EINVAL ? CLI_USAGE : CLI_ERR;
	}
	if (!q.ncalls) {
		fprintf(stderr, "earshot subject export: no call of party %s; %s holds only the "
				"manifest\n", party, out);
		return CLI_NOTFOUND;
	}
	printf("%zu calls of party %s (%zu recordings with their evidence) written to %s\n",
	       q.ncalls, party, q.nbundles, out);
	return CLI_OK;
}

static void report_text(const struct api_subject_erase *q, const char *party)
{
	size_t ne = 0, nm = 0, nh = 0;
	for (size_t i = 0; i < q->ncalls; i++) {
		const struct api_subject_call *c = &q->calls[i];
		char t[ES_TIME_STRLEN];
		es_time_fmt(c->start_us, t, sizeof(t));
		const char *what = c->state == API_SUBJECT_HELD ? "kept by legal hold"
				   : c->path ? (q->dry_run ? "would erase" : "erased")
				   : (q->dry_run ? "would pseudonymise" : "pseudonymised");
		printf("call %-8lld %s  %-22s %s\n", (long long)c->row, t, what,
		       c->state == API_SUBJECT_HELD ? c->hold : c->path ? c->path : "(no recording)");
		if (c->seq)
			printf("              ledger leaf %llu (%s)\n", (unsigned long long)c->seq,
			       q->tombstone);
		ne += c->state != API_SUBJECT_HELD && c->path;
		nm += c->state != API_SUBJECT_HELD && !c->path;
		nh += c->state == API_SUBJECT_HELD;
	}
	printf("%s%zu recordings %s, %zu more calls %s, %zu calls kept by legal holds; party %s "
	       "%s %s in the index\n",
	       q->dry_run ? "dry run: " : "", ne, q->dry_run ? "to erase" : "erased", nm,
	       q->dry_run ? "to pseudonymise" : "pseudonymised", nh, party,
	       q->dry_run ? "would be" : "now", q->pseudonym);
}

static int subject_erase(struct cli_ctx *ctx, const char *party, const char *reason,
			 bool dry_run, bool json)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct st_ledger *l = NULL;
	char err[1200] = "", actor[128];
	int ret = CLI_ERR;
	if (!dry_run && cli_ledger_open(ctx, "subject erase", &l))
		goto out;
	cli_actor(actor, sizeof(actor));
	struct api_subject_erase q = {.data_dir = ctx->data_dir, .ix = ix, .ledger = l,
				      .number = party, .reason = reason, .dry_run = dry_run,
				      .actor = actor, .remote = "", .now_us = cli_wall_us()};
	int rc = api_subject_erase(&q, err, sizeof(err));
	if (json && (q.ncalls || !rc)) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		api_subject_report_json(&j, &q);
		es_json_end(&j);
		fputc('\n', stdout);
	} else if (!json && q.ncalls) {
		report_text(&q, party);
	}
	if (rc) {
		fprintf(stderr, "earshot subject erase: %s\n", err);
		ret = rc == ES_EINVAL ? CLI_USAGE : CLI_ERR;
	} else if (!q.ncalls) {
		fprintf(stderr, "earshot subject erase: no call of party %s\n", party);
		ret = CLI_NOTFOUND;
	} else {
		ret = CLI_OK;
	}
	api_subject_calls_free(q.calls, q.ncalls);
out:
	st_ledger_close(l);
	idx_close(ix);
	return ret;
}

int cli_subject(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"party", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"reason", required_argument, NULL, 'r'},
		{"dry-run", no_argument, NULL, 'n'},
		{"yes", no_argument, NULL, 'y'},
		{"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *party = NULL, *out = NULL, *reason = NULL;
	bool dry = false, yes = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': party = optarg; break;
		case 'o': out = optarg; break;
		case 'r': reason = optarg; break;
		case 'n': dry = true; break;
		case 'y': yes = true; break;
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': subject_usage(stdout); return CLI_OK;
		default: subject_usage(stderr); return CLI_USAGE;
		}
	}
	const char *why = NULL, *cmd = optind < argc ? argv[optind] : "";
	if (argc - optind > 1)
		why = "unexpected argument";
	else if (!party)
		why = "--party NUMBER is required";
	else if (!strcmp(cmd, "export") && !out)
		why = "export needs -o FILE.zip";
	else if (!strcmp(cmd, "export") && (reason || dry || yes))
		why = "--reason, --dry-run and --yes are for erase";
	else if (!strcmp(cmd, "erase") && !reason)
		why = "erase needs --reason TEXT";
	else if (!strcmp(cmd, "erase") && dry == yes)
		why = "erase needs exactly one of --dry-run (report only) and --yes (erase)";
	else if (!strcmp(cmd, "erase") && out)
		why = "-o is for export";
	else if (strcmp(cmd, "export") && strcmp(cmd, "erase"))
		why = "give export or erase";
	if (why) {
		fprintf(stderr, "earshot subject: %s\n", why);
		subject_usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(cmd, "export"))
		return subject_export(ctx, party, out);
	return subject_erase(ctx, party, reason, dry, json);
}
