/* redact.c - `earshot redact ID --from S --to S ...`: wiring for
 * rec_redact (record/redact.c) and the [redaction] settings. */
#include "api/api.h"
#include "cli/cli.h"
#include "core/config.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void redact_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot redact ID --from S --to S --reason TEXT [options]\n"
		"\n"
		"Make a redacted version of call ID's recording: the span [S, S) in seconds\n"
		"from the recording's start is silent (or a soft 440 Hz tone) on the chosen\n"
		"channel.  The redacted recording is stored encrypted, becomes the one that\n"
		"playback, the waveform, export and evidence bundles use, and is entered in\n"
		"the ledger with a link to the original's leaf.  The original is kept for\n"
		"admins and auditors with the listen grant, or shredded, as\n"
		"[redaction] original says (default restrict).  A call may be redacted\n"
		"again: each redaction applies on top of the latest.\n"
		"\n"
		"Options:\n"
		"  --from S, --to S    the span in seconds (decimals allowed), from < to,\n"
		"                      within the recording\n"
		"  --channel CH        caller, callee or both (default both)\n"
		"  --fill F            silence (default) or tone\n"
		"  --reason TEXT       why (required; in the index, the audit log and, as a\n"
		"                      hash, the ledger)\n"
		"  --as USER           who asked (default: cli:<your unix user>)\n"
		"  --original MODE     shred or restrict: overrides [redaction] original\n"
		"  -c, --config FILE   the configuration ([redaction] original)\n"
		"  --data DIR          data folder\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage or bad span/channel/reason (nothing\n"
		"changed), 4 no such call or no recording, 6 shred refused: a legal hold\n"
		"covers the call (nothing changed).\n");
}

int cli_redaction_mode(const char *config, const char *override, bool *shred)
{
	const char *mode = override;
	struct es_conf conf = {0};
	char err[512];
	*shred = false;
	if (!mode && config) {
		int rc = es_conf_load(&conf, config, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "earshot: %s: %s\n", config, *err ? err : es_strerror(rc));
			return CLI_USAGE;
		}
		static const char *const known[] = {"original", NULL};
		if (es_conf_check_keys(&conf, "redaction", known, err, sizeof(err))) {
			fprintf(stderr, "earshot: %s\n", err);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		const struct es_conf_entry *e = es_conf_find(&conf, "redaction", "original");
		mode = e ? e->value : NULL;
	}
	int ret = CLI_OK;
	if (mode && !strcmp(mode, "shred"))
		*shred = true;
	else if (mode && strcmp(mode, "restrict")) {
		fprintf(stderr, "earshot: [redaction] original = '%s': give shred or restrict\n",
			mode);
		ret = CLI_USAGE;
	}
	es_conf_free(&conf);
	return ret;
}

static bool parse_secs(const char *s, int64_t *us)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0 || v > 864000)
		return false;
	*us = llround(v * 1e6);
	return true;
}

int cli_redact(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"channel", required_argument, NULL, 'C'},
		{"fill", required_argument, NULL, 'F'},
		{"reason", required_argument, NULL, 'r'},
		{"as", required_argument, NULL, 'a'},
		{"original", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *from = NULL, *to = NULL, *channel = "both", *fill = "silence", *reason = NULL,
		   *as = NULL, *original = NULL, *config = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'C': channel = optarg; break;
		case 'F': fill = optarg; break;
		case 'r': reason = optarg; break;
		case 'a': as = optarg; break;
		case 'o': original = optarg; break;
		case 'c': config = optarg; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': redact_usage(stdout); return CLI_OK;
		default: redact_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "earshot redact: give one call ID\n");
		redact_usage(stderr);
		return CLI_USAGE;
	}
	struct rec_redact_req q = {.data_dir = ctx->data_dir, .channel = channel, .fill = fill,
				   .reason = reason, .now_us = cli_wall_us()};
	if (!from || !to || !parse_secs(from, &q.from_us) || !parse_secs(to, &q.to_us)) {
		fprintf(stderr, "earshot redact: --from and --to are required: seconds from the "
			"recording's start (e.g. --from 12.5 --to 20)\n");
		return CLI_USAGE;
	}
	int st = cli_redaction_mode(config, original, &q.shred_original);
	if (st)
		return st;
	char actor[128], err[1024] = "";
	cli_actor(actor, sizeof(actor));
	q.by = as && *as ? as : actor;
	/* bad input is refused before the index or the ledger is touched */
	struct rec_redact_result res;
	if (rec_redact_channel_mask(channel) == 0 || !reason || !*reason) {
		fprintf(stderr, "earshot redact: %s\n",
			!rec_redact_channel_mask(channel) ? "--channel: give caller, callee or both"
							   : "--reason is required");
		return CLI_USAGE;
	}
	struct idx *ix = NULL;
	struct st_ledger *l = NULL;
	struct st_vault *v = NULL;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	q.ix = ix;
	q.call_row = cli_call_ref(ix, argv[optind]);
	int ret = CLI_ERR;
	if (!q.call_row) {
		fprintf(stderr, "earshot redact: no call %s in %s\n", argv[optind], ctx->data_dir);
		ret = CLI_NOTFOUND;
		goto out;
	}
	if (cli_ledger_open(ctx, "redact", &l))
		goto out;
	q.ledger = l;
	char kdir[4200];
	snprintf(kdir, sizeof(kdir), "%s/keys", ctx->data_dir);
	if (access(kdir, F_OK) == 0 && st_vault_open(&v, ctx->data_dir, false, err, sizeof(err))) {
		fprintf(stderr, "earshot redact: encryption keys: %s\n", err);
		goto out;
	}
	q.vault = v;
	char obj[32];
	snprintf(obj, sizeof(obj), "%lld", (long long)q.call_row);
	int rc = rec_redact(&q, &res, err, sizeof(err));
	if (rc == ES_EHELD) {
		cli_audit_refusal(ix, "call.redact", q.call_row, res.held);
		fprintf(stderr, "earshot redact: %s\n", err);
		ret = CLI_HELD;
		goto out;
	}
	if (rc && !res.path[0]) {
		fprintf(stderr, "earshot redact: %s\n", err);
		ret = rc == ES_EINVAL ? CLI_USAGE : rc == ES_ENOTFOUND ? CLI_NOTFOUND : CLI_ERR;
		goto out;
	}
	char detail[1400];
	snprintf(detail, sizeof(detail), "redaction %d: %s %.3f-%.3f s (%s) by %s, original %s%s: %s",
		 res.n, channel, q.from_us / 1e6, q.to_us / 1e6, fill, q.by,
		 res.shredded ? "shredded" : "kept (restricted)", rc ? " (incomplete)" : "", reason);
	api_audit_append(ix, q.now_us, actor, "call.redact", obj, "", rc ? API_AUDIT_FAILED
									  : API_AUDIT_OK, detail, NULL);
	if (rc) {
		fprintf(stderr, "earshot redact: %s\n", err);
		goto out;
	}
	printf("call %lld: redaction %d of %.3f-%.3f s (%s, %s) is %s (ledger leaves %llu, %llu; "
	       "original %s, leaf %llu, %s)\n",
	       (long long)q.call_row, res.n, q.from_us / 1e6, q.to_us / 1e6, channel, fill, res.path,
	       (unsigned long long)res.rec_leaf, (unsigned long long)res.redact_leaf, res.original,
	       (unsigned long long)res.original_leaf, res.shredded ? "shredded" : "kept, restricted");
	ret = CLI_OK;
out:
	st_vault_close(v);
	st_ledger_close(l);
	idx_close(ix);
	return ret;
}
