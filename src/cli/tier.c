/*
 * tier.c - the blob store settings of the configuration ([earshot] blobs,
 * archive_after, [s3]) and `earshot archive run|status|probe`: recordings
 * move from the data folder to the bucket (record/tier.c).  Credentials come
 * from [s3] access_key/secret_key, from AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, or from [s3] credentials_file; none is ever
 * printed or logged.
 */
#include "cli/cli.h"
#include "core/config.h"
#include "record/ledger_pub.h"
#include "store/blob.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_blobs_apply_config(struct cli_blob_settings *o, const struct es_conf *c, char *err,
			   size_t errlen)
{
	static const char *const k_s3[] = {"endpoint", "region", "path_style", "access_key",
					   "secret_key", "credentials_file", "multipart_above",
					   "part_size", "retries", "backoff", "timeout",
					   "object_lock", "lock_days", "upload_interval",
					   "cache_max_bytes", NULL};
	int rc;
	memset(o, 0, sizeof(*o));
	if ((rc = es_conf_check_keys(c, "s3", k_s3, err, errlen)))
		return rc;
	const struct es_conf_entry *e = es_conf_find(c, "earshot", "blobs");
	if (!e || !strcmp(e->value, "folder"))
		return 0;
	struct st_blob_conf *b = &o->conf;
	char why[512];
	if (st_blob_parse_url(e->value, b, why, sizeof(why)))
		return es_errf(err, errlen, ES_EPARSE, "%s:%u: blobs: %s", c->path, e->line, why);
	if (!(e = es_conf_find(c, "s3", "endpoint")) ||
	    (strncmp(e->value, "http://", 7) && strncmp(e->value, "https://", 8)))
		return es_errf(err, errlen, ES_EPARSE,
			       "%s: blobs = s3://...: [s3] endpoint = http(s)://host[:port] is needed",
			       c->path);
	snprintf(b->endpoint, sizeof(b->endpoint), "%s", e->value);
	size_t el = strlen(b->endpoint);
	while (el && b->endpoint[el - 1] == '/')
		b->endpoint[--el] = 0;
	if ((e = es_conf_find(c, "s3", "region")))
		snprintf(b->region, sizeof(b->region), "%s", e->value);
	b->path_style = true;
	if ((rc = es_conf_bool(c, "s3", "path_style", &b->path_style, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if ((e = es_conf_find(c, "s3", "credentials_file")) &&
	    (rc = st_blob_read_credentials(e->value, b, why, sizeof(why))))
		return es_errf(err, errlen, rc, "%s:%u: %s", c->path, e->line, why);
	if ((e = es_conf_find(c, "s3", "access_key")))
		snprintf(b->access_key, sizeof(b->access_key), "%s", e->value);
	if ((e = es_conf_find(c, "s3", "secret_key")))
		snprintf(b->secret_key, sizeof(b->secret_key), "%s", e->value);
	if (ak && *ak && sk && *sk) {
		snprintf(b->access_key, sizeof(b->access_key), "%s", ak);
		snprintf(b->secret_key, sizeof(b->secret_key), "%s", sk);
	}
	if (!b->access_key[0] || !b->secret_key[0])
		return es_errf(err, errlen, ES_EPARSE,
			       "%s: blobs = s3://...: no credentials ([s3] access_key and secret_key, "
			       "credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
			       c->path);
	int64_t v;
	if ((rc = es_conf_size(c, "s3", "multipart_above", &b->multipart_above, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_size(c, "s3", "part_size", &b->part_size, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_size(c, "s3", "cache_max_bytes", &b->cache_max_bytes, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	b->retries = 5;
	if (!(rc = es_conf_int(c, "s3", "retries", 0, 30, &v, err, errlen)))
		b->retries = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_duration(c, "s3", "backoff", &b->backoff_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_duration(c, "s3", "timeout", &b->timeout_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((e = es_conf_find(c, "s3", "object_lock")) && strcasecmp(e->value, "off")) {
		if (strcasecmp(e->value, "governance") && strcasecmp(e->value, "compliance"))
			return es_errf(err, errlen, ES_EPARSE,
				       "%s:%u: object_lock: '%s' is not off, governance or compliance",
				       c->path, e->line, e->value);
		snprintf(b->lock_mode, sizeof(b->lock_mode), "%s",
			 !strcasecmp(e->value, "governance") ? "GOVERNANCE" : "COMPLIANCE");
		b->lock_days = 365;
		if (!(rc = es_conf_int(c, "s3", "lock_days", 1, 36500, &v, err, errlen)))
			b->lock_days = v;
		else if (rc != ES_ENOTFOUND)
			return rc;
	}
	if ((rc = es_conf_duration(c, "earshot", "archive_after", &o->after_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	o->interval_us = 60 * ES_US_PER_SEC;
	if ((rc = es_conf_duration(c, "s3", "upload_interval", &o->interval_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if (o->interval_us < ES_US_PER_SEC)
		o->interval_us = ES_US_PER_SEC;
	o->on = true;
	return 0;
}

int cli_blobs_remember(struct cli_ctx *ctx, struct cli_blob_settings *o, const char *cmd)
{
	char err[1024];
	if (!o->on)
		return CLI_OK;
	int rc = rec_blobs_save(ctx->data_dir, &o->conf, o->after_us, err, sizeof(err));
	sodium_memzero(o->conf.secret_key, sizeof(o->conf.secret_key));
	if (rc) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return CLI_ERR;
	}
	return CLI_OK;
}

int cli_ledger_publish(struct cli_ctx *ctx, struct idx *ix, struct rec_ledger_pub_counts *n)
{
	char err[1024];
	struct rec_ledger_pub_counts tmp;
	int rc = rec_ledger_publish(ctx->data_dir, n ? n : &tmp, err, sizeof(err));
	/* the head web nodes check the bucket's copy against: in the index
	 * (a recorder's loop publishes each commit's; `import` and `archive
	 * run` this one) */
	if ((n ? n : &tmp)->has_head)
		cli_node_publish_head_of(ctx, ix, &(n ? n : &tmp)->head);
	if (rc)
		ES_LOG_WARNING("tier", "the ledger is not published to the bucket (web nodes cannot "
			       "make evidence bundles of the newest recordings; retried at the next "
			       "pass): %s", err);
	else if ((n ? n : &tmp)->objects)
		ES_LOG_INF("tier", "ledger published: %llu leaves, %llu heads (%llu objects, %llu "
			   "bytes)", (unsigned long long)(n ? n : &tmp)->leaves,
			   (unsigned long long)(n ? n : &tmp)->heads,
			   (unsigned long long)(n ? n : &tmp)->objects,
			   (unsigned long long)(n ? n : &tmp)->bytes);
	return rc;
}

int cli_blobs_pass(struct cli_ctx *ctx, struct idx *ix, int64_t now_us, bool quiet,
		   struct rec_tier_counts *n, const char *cmd)
{
	char err[1024];
	int64_t after = 0;
	struct st_blob b;
	int rc = rec_blobs_open(ctx->data_dir, &b, &after, err, sizeof(err));
	if (rc == ES_ENOTFOUND) {
		memset(n, 0, sizeof(*n));
		return CLI_OK;
	}
	st_blob_close(&b);
	if (!rc)
		rc = rec_tier_move(ctx->data_dir, ix, now_us, after, 0, n, err, sizeof(err));
	/* the ledger's new leaves and heads too: web nodes prove what they
	 * read from the bucket with them (record/ledger_pub.c) */
	cli_ledger_publish(ctx, ix, NULL);
	if (rc) {
		/* a refused secret or an Object Lock the bucket lacks will not
		 * mend by waiting: an error; an outage is */
		bool fatal = rc == ES_EINVAL || rc == ES_EUNSUP;
		fprintf(stderr, "%s: %s (the recordings stay queued in the data folder)\n", cmd,
			err);
		return fatal ? CLI_ERR : CLI_OK;
	}
	if (!quiet && n->moved)
		ES_LOG_INF("tier", "%llu recording(s) moved to the bucket",
			    (unsigned long long)n->moved);
	return CLI_OK;
}

void cli_blobs_backlog_line(struct cli_ctx *ctx)
{
	char err[1024];
	int64_t after = 0;
	struct st_blob b;
	if (rec_blobs_open(ctx->data_dir, &b, &after, err, sizeof(err)))
		return;
	const char *where = b.ops->describe(b.state);
	struct idx *ix;
	uint64_t n = 0;
	if (cli_open_index(ctx, false, &ix) == 0) {
		if (rec_tier_backlog(ctx->data_dir, ix, cli_wall_us(), after, &n) == 0)
			printf("upload backlog: %llu recording(s) due for %s, still in the data "
			       "folder\n",
			       (unsigned long long)n, where);
		idx_close(ix);
	}
	st_blob_close(&b);
}

/* ---- earshot archive ------------------------------------------------------------- */

static void arch_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot archive run [-c FILE] [--now TIME] [--max N] [--json]\n"
		"       earshot archive status [-c FILE] [--now TIME] [--json]\n"
		"       earshot archive words [-c FILE] [--max N] [--json]\n"
		"       earshot archive probe [-c FILE]\n"
		"       earshot archive cat ID --range FIRST-LAST\n"
		"\n"
		"The archive tier: recordings start in the data folder and move to the\n"
		"bucket of [earshot] blobs = s3://BUCKET/PREFIX once their call is older\n"
		"than [earshot] archive_after (default 0: as soon as they are indexed).\n"
		"\n"
		"  run      upload each due recording, read it back and check its SHA-256\n"
		"           against the index, then remove the local copy; a failure leaves\n"
		"           it in the data folder for the next run\n"
		"           and publish the ledger's new leaves and signed heads under\n"
		"           PREFIX/ledger/ (web nodes make evidence bundles from them)\n"
		"  words    the words files of archived recordings into the bucket where\n"
		"           it lacks them or holds other bytes (recordings archived by an\n"
		"           earshot that did not move words files yet); --max N puts at\n"
		"           most N files\n"
		"  status   the upload backlog: recordings due but still local\n"
		"  probe    whether the bucket supports S3 Object Lock (legal holds)\n"
		"  cat      bytes FIRST to LAST (inclusive) of call ID's stored (encrypted)\n"
		"           object, read with a Range request, to stdout\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   the configuration (else the bucket the data folder\n"
		"                      remembers from an earlier run)\n"
		"  --now TIME          the time to judge ages by (default: now)\n"
		"  --max N             run: move at most N recordings\n"
		"  --json              the summary as JSON\n"
		"\n"
		"Exit codes: 0 ok, 1 error (a refused secret; the server unreachable after\n"
		"retries: what failed stays queued), 2 usage or a bad configuration,\n"
		"4 no bucket configured.\n");
}

static int take_path(void *ud, const struct idx_call *c)
{
	if (c->recording && c->recording->path)
		snprintf(ud, ST_BLOB_KEY_MAX, "%s", c->recording->path);
	return 0;
}

/* A Range request for bytes first..last of the call's object; closes b. */
static int arch_cat(struct cli_ctx *ctx, struct st_blob *b, const char *ref,
		    unsigned long long first, unsigned long long last)
{
	struct idx *ix;
	char key[ST_BLOB_KEY_MAX] = "", err[1024];
	int out = CLI_OK;
	if (cli_open_index(ctx, false, &ix)) {
		st_blob_close(b);
		return CLI_ERR;
	}
	idx_call_get(ix, cli_call_ref(ix, ref), take_path, key);
	idx_close(ix);
	if (!key[0]) {
		fprintf(stderr, "earshot archive: no recording of call %s\n", ref);
		st_blob_close(b);
		return CLI_NOTFOUND;
	}
	struct es_buf buf;
	es_buf_init(&buf);
	int rc = b->ops->get_range(b->state, key, first, last - first + 1, &buf, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot archive: %s\n", err);
		out = rc == ES_ENOTFOUND ? CLI_NOTFOUND : CLI_ERR;
	} else if (fwrite(buf.p, 1, buf.len, stdout) != buf.len || fflush(stdout)) {
		out = CLI_ERR;
	}
	es_buf_free(&buf);
	st_blob_close(b);
	return out;
}

int cli_archive_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		arch_usage(stderr);
		return CLI_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		arch_usage(stdout);
		return CLI_OK;
	}
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"now", required_argument, NULL, 'n'},
		{"max", required_argument, NULL, 'm'},    {"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
		{"range", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0}};
	const char *config = NULL;
	int64_t now = cli_wall_us();
	long max = 0;
	bool json = false;
	unsigned long long first = 0, last = 0;
	bool ranged = false;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n':
			if (es_time_parse(optarg, &now)) {
				fprintf(stderr, "earshot archive: --now: '%s' is not a time\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'm': max = strtol(optarg, NULL, 10); break;
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'h': arch_usage(stdout); return CLI_OK;
		case 'r':
			if (sscanf(optarg, "%llu-%llu", &first, &last) != 2 || last < first ||
			    last - first >= (64u << 20)) {
				fprintf(stderr, "earshot archive: --range: '%s' is not FIRST-LAST "
						"(at most 64 MiB)\n", optarg);
				return CLI_USAGE;
			}
			ranged = true;
			break;
		default: arch_usage(stderr); return CLI_USAGE;
		}
	}
	if (!strcmp(sub, "cat") && (!ranged || optind >= argc)) {
		arch_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(sub, "run") && strcmp(sub, "status") && strcmp(sub, "probe") &&
	    strcmp(sub, "cat") && strcmp(sub, "words")) {
		fprintf(stderr, "earshot archive: unknown subcommand '%s'\n", sub);
		arch_usage(stderr);
		return CLI_USAGE;
	}
	char err[1024];
	if (config) {
		struct es_conf conf;
		struct cli_blob_settings bs;
		int rc = es_conf_load(&conf, config, err, sizeof(err));
		if (!rc) {
			const struct es_conf_entry *e = es_conf_find(&conf, "earshot", "data");
			if (!ctx->data_explicit && e)
				ctx->data_dir = strdup(e->value); /* lives as long as the process */
			rc = cli_blobs_apply_config(&bs, &conf, err, sizeof(err));
		}
		es_conf_free(&conf);
		if (rc) {
			fprintf(stderr, "earshot archive: %s\n", err);
			return CLI_USAGE;
		}
		if (cli_blobs_remember(ctx, &bs, "earshot archive"))
			return CLI_ERR;
	}
	struct st_blob b;
	int64_t after = 0;
	int rc = rec_blobs_open(ctx->data_dir, &b, &after, err, sizeof(err));
	if (rc == ES_ENOTFOUND) {
		fprintf(stderr, "earshot archive: %s has no bucket ([earshot] blobs = s3://... with -c)\n",
			ctx->data_dir);
		return CLI_NOTFOUND;
	}
	if (rc) {
		fprintf(stderr, "earshot archive: %s\n", err);
		return CLI_ERR;
	}
	if (!strcmp(sub, "probe")) {
		rc = b.ops->probe_lock(b.state, err, sizeof(err));
		printf("%s: object lock %s%s%s\n", b.ops->describe(b.state),
		       rc ? "not supported" : "supported", rc ? ": " : "", rc ? err : "");
		st_blob_close(&b);
		return rc && rc != ES_EUNSUP ? CLI_ERR : CLI_OK;
	}
	if (!strcmp(sub, "cat"))
		return arch_cat(ctx, &b, argv[optind], first, last);
	st_blob_close(&b);
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct rec_tier_counts n = {0};
	struct rec_ledger_pub_counts lp = {0};
	int out = CLI_OK;
	if (!strcmp(sub, "words")) {
		struct rec_words_counts w;
		rc = rec_tier_words_backfill(ctx->data_dir, ix, (size_t)(max > 0 ? max : 0), &w, err,
					     sizeof(err));
		idx_close(ix);
		if (rc)
			fprintf(stderr, "earshot archive: %s\n", err);
		if (json)
			printf("{\"checked\":%llu,\"put\":%llu}\n", (unsigned long long)w.checked,
			       (unsigned long long)w.put);
		else
			printf("%llu words file(s) of archived recordings checked, %llu put into the "
			       "bucket\n", (unsigned long long)w.checked, (unsigned long long)w.put);
		return rc ? CLI_ERR : CLI_OK;
	}
	if (!strcmp(sub, "status")) {
		rc = rec_tier_backlog(ctx->data_dir, ix, now, after, &n.due);
	} else {
		rec_keys_publish_blobs(ctx->data_dir, ix); /* web nodes read what it moves */
		rc = rec_tier_move(ctx->data_dir, ix, now, after, (size_t)(max > 0 ? max : 0), &n, err,
				   sizeof(err));
		if (rc) {
			fprintf(stderr, "earshot archive: %s\n", err);
			out = CLI_ERR;
		}
		if (cli_ledger_publish(ctx, ix, &lp))
			out = CLI_ERR;
	}
	if (json)
		printf("{\"due\":%llu,\"moved\":%llu,\"failed\":%llu,\"bytes\":%llu,"
		       "\"multipart\":%llu,\"archive_after_s\":%lld,\"ledger_leaves\":%llu,"
		       "\"ledger_published\":%llu}\n",
		       (unsigned long long)n.due, (unsigned long long)n.moved,
		       (unsigned long long)n.failed, (unsigned long long)n.bytes,
		       (unsigned long long)n.multipart, (long long)(after / ES_US_PER_SEC),
		       (unsigned long long)lp.leaves, (unsigned long long)lp.size);
	else if (!strcmp(sub, "status"))
		printf("%llu recording(s) due for the bucket and still in the data folder\n",
		       (unsigned long long)n.due);
	else
		printf("%llu due, %llu moved (%llu bytes, %llu multipart), %llu failed\n",
		       (unsigned long long)n.due, (unsigned long long)n.moved,
		       (unsigned long long)n.bytes, (unsigned long long)n.multipart,
		       (unsigned long long)n.failed);
	idx_close(ix);
	return out;
}
