/*
 * migrate.c - `earshot migrate --to postgresql://... [--blobs s3://...]`:
 * an embedded deployment (SQLite index, recordings in the data folder)
 * moved to the shared engines (docs/OPERATIONS.md).  Every table's rows go
 * through the index layer with their ids (index/migrate.c), so the audit
 * log's hash chain, users, sessions and tokens carry over as they are; the
 * copy is compared back row by row.  Recordings go to the bucket through
 * the archive tier (upload, read back, hash against the row, then the
 * local copy is removed), and `earshot verify` runs over the new index.
 * Rows and recordings already moved are skipped, so a second run
 * continues an interrupted one.  The data folder keeps the keys and the
 * ledger.
 */
#include "cli/backup.h"
#include "core/config.h"
#include "index/copy.h"

#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MG_CMD "earshot migrate"

static void mg_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot migrate --to postgresql://... [--blobs s3://BUCKET/PREFIX -c FILE]\n"
		"                       [--json]\n"
		"\n"
		"Move this data folder's deployment (SQLite index, recordings in the folder)\n"
		"to PostgreSQL and, with --blobs, an S3 bucket: every table's rows with their\n"
		"ids, compared back row by row; each recording uploaded, read back and\n"
		"hash-checked before its local copy is removed; then `earshot verify` over\n"
		"the new index.  Run it again after an interruption: what is there already\n"
		"is skipped.  Stop the recorders first.  At the end the configuration\n"
		"change is printed.\n"
		"\n"
		"  --to URL       the PostgreSQL index (an empty database, or one an earlier\n"
		"                 run of this command filled)\n"
		"  --blobs URL    the bucket; its server and credentials come from -c FILE's\n"
		"                 [s3] (and [earshot] blobs, which --blobs overrides)\n"
		"  -c FILE        the configuration\n"
		"  --json         the summary as JSON\n"
		"\n"
		"Exit codes: 0 moved and verified, 1 an error or a difference (said on\n"
		"stderr), 2 usage.\n");
}

static void mg_progress(void *ud, const char *table, uint64_t rows)
{
	(void)ud;
	fprintf(stderr, "%s: %s: %llu rows\n", MG_CMD, table, (unsigned long long)rows);
}

/* [s3] of config with the bucket of url; saved as the data folder's bucket. */
static int mg_bucket(struct cli_ctx *ctx, const char *url, const char *config)
{
	char err[1024];
	struct cli_blob_settings bs;
	struct es_conf conf;
	if (!config) {
		fprintf(stderr, "%s: --blobs needs -c FILE with the bucket's [s3] settings\n", MG_CMD);
		return CLI_USAGE;
	}
	int rc = es_conf_load(&conf, config, err, sizeof(err));
	if (!rc)
		rc = cli_blobs_apply_config(&bs, &conf, err, sizeof(err));
	es_conf_free(&conf);
	if (!rc && !bs.on)
		rc = es_errf(err, sizeof(err), ES_EPARSE,
			     "%s: [earshot] blobs = s3://... and [s3] are needed", config);
	if (!rc)
		rc = st_blob_parse_url(url, &bs.conf, err, sizeof(err));
	if (rc) {
		sodium_memzero(bs.conf.secret_key, sizeof(bs.conf.secret_key));
		fprintf(stderr, "%s: %s\n", MG_CMD, err);
		return CLI_USAGE;
	}
	bs.after_us = 0; /* every recording moves now */
	return cli_blobs_remember(ctx, &bs, MG_CMD);
}

int cli_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},     {"blobs", required_argument, NULL, 'b'},
		{"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *to_url = NULL, *blobs = NULL, *config = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': to_url = optarg; break;
		case 'b': blobs = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'h': mg_usage(stdout); return CLI_OK;
		default: mg_usage(stderr); return CLI_USAGE;
		}
	}
	if (!to_url || optind != argc || (strncmp(to_url, "postgresql://", 13) &&
					  strncmp(to_url, "postgres://", 11))) {
		mg_usage(stderr);
		return CLI_USAGE;
	}
	if (ctx->index) {
		fprintf(stderr, "%s: the source is the data folder's SQLite index: unset "
				"EARSHOT_INDEX\n", MG_CMD);
		return CLI_USAGE;
	}
	if (sodium_init() < 0)
		return CLI_ERR;
	char *masked = idx_mask_location(to_url);
	struct idx *from = NULL, *to = NULL;
	char err[1024];
	int out = CLI_ERR;
	struct idx_copy_stats s;
	struct rec_tier_counts n = {0};
	uint64_t diff = 0;
	int64_t t0 = es_mono_us();
	if (blobs && !config) {
		fprintf(stderr, "%s: --blobs needs -c FILE with the bucket's [s3] settings\n", MG_CMD);
		out = CLI_USAGE;
		goto done;
	}
	if (cli_open_index(ctx, false, &from))
		goto done;
	if (idx_open(&to, to_url, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", MG_CMD, err);
		goto done;
	}
	if (idx_copy_rows(from, to, mg_progress, NULL, &s, err, sizeof(err))) {
		fprintf(stderr, "%s: %s (run it again to continue)\n", MG_CMD, err);
		goto done;
	}
	if (idx_copy_verify(from, to, &diff, err, sizeof(err)) || diff) {
		fprintf(stderr, "%s: the copy differs from the source: %s (%llu difference(s))\n",
			MG_CMD, err, (unsigned long long)diff);
		goto done;
	}
	fprintf(stderr, "%s: %llu tables, %llu rows (%llu copied now, %llu there already), "
			"compared row by row\n", MG_CMD, (unsigned long long)s.tables,
		(unsigned long long)s.rows_read, (unsigned long long)s.rows_added,
		(unsigned long long)s.rows_present);
	/* the data folder takes the bucket only once its rows are safe */
	if (blobs && (out = mg_bucket(ctx, blobs, config)))
		goto done;
	out = CLI_ERR;
	if (blobs) {
		int rc = rec_tier_move(ctx->data_dir, from, cli_wall_us(), 0, 0, &n, err, sizeof(err));
		fprintf(stderr, "%s: recordings: %llu moved to %s (%llu bytes), %llu failed\n", MG_CMD,
			(unsigned long long)n.moved, blobs, (unsigned long long)n.bytes,
			(unsigned long long)n.failed);
		if (rc || n.failed) {
			fprintf(stderr, "%s: %s (the rest stays in the data folder: run it again)\n",
				MG_CMD, rc ? err : "some recordings did not move");
			goto done;
		}
	}
	idx_close(from);
	from = NULL;
	idx_close(to);
	to = NULL;
	/* every call's recording against the ledger, through the new index
	 * (a folder that never stored a recording has no ledger) */
	ctx->index = to_url;
	char entries[4200];
	struct stat est;
	snprintf(entries, sizeof(entries), "%s/ledger/entries.log", ctx->data_dir);
	bool has_ledger = stat(entries, &est) == 0;
	if (!has_ledger)
		fprintf(stderr, "%s: no ledger in %s: no recording to verify\n", MG_CMD,
			ctx->data_dir);
	char *vargv[] = {"verify", "--quick", NULL};
	optind = 1;
	if (has_ledger)
		fprintf(stderr, "%s: verifying every recording through the new index\n", MG_CMD);
	/* --json: stdout carries only the summary (verify's findings: run it) */
	fflush(stdout);
	int saved = json ? dup(STDOUT_FILENO) : -1, null = json ? open("/dev/null", O_WRONLY) : -1;
	if (saved >= 0 && null >= 0)
		dup2(null, STDOUT_FILENO);
	int vrc = has_ledger ? cli_verify(ctx, 2, vargv) : CLI_OK;
	fflush(stdout);
	if (saved >= 0 && null >= 0)
		dup2(saved, STDOUT_FILENO);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	if (vrc) {
		fprintf(stderr, "%s: verify found problems (above)\n", MG_CMD);
		goto done;
	}
	out = CLI_OK;
	double secs = (double)(es_mono_us() - t0) / 1e6;
	if (json) {
		printf("{\"ok\":true,\"tables\":%llu,\"rows\":%llu,\"rows_copied\":%llu,"
		       "\"rows_present\":%llu,\"recordings_moved\":%llu,\"bytes_moved\":%llu,"
		       "\"seconds\":%.3f}\n",
		       (unsigned long long)s.tables, (unsigned long long)s.rows_read,
		       (unsigned long long)s.rows_added, (unsigned long long)s.rows_present,
		       (unsigned long long)n.moved, (unsigned long long)n.bytes, secs);
	} else {
		printf("\nMigrated in %.1f s.  Put this in the configuration of every node (the "
		       "password in ~/.pgpass or the URL):\n\n[earshot]\nindex = %s\n",
		       secs, masked ? masked : "postgresql://...");
		if (blobs)
			printf("blobs = %s\n# and the [s3] section of %s\n", blobs, config);
		printf("\nKeep this data folder (keys/, ledger/) on the node that recorded it.\n");
	}
done:
	if (from)
		idx_close(from);
	if (to)
		idx_close(to);
	free(masked);
	return out;
}
