/*
 * reconcile.c - `earshot reconcile --from T --to T [--json] [-o FILE]`:
 * every answered call of the window against its recording
 * (record/reconcile.c), the report signed with the ledger's key
 * (store/sigdoc.h); `earshot reconcile --verify FILE [--key LEDGER.PUB]`
 * checks a report offline.  Exit codes: docs/CLI.md.
 */
#include "cli/cli.h"
#include "core/config.h"
#include "store/sigdoc.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD "earshot reconcile"
#define MAGIC "earshot-reconcile-v1"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot reconcile --from TIME --to TIME [--json] [-o FILE] [-c FILE]\n"
		"       earshot reconcile --verify FILE [--key LEDGER.PUB] [--json]\n"
		"Every answered call that started in [--from, --to) against its recording:\n"
		"recorded, not recorded and why (rule, consent, paused, no_media, disk_full,\n"
		"undecoded_codec, crash, deleted), or unexplained.\n"
		"  --json          the report as JSON on stdout\n"
		"  -o, --out FILE  also write the report signed with the ledger's key\n"
		"  -c, --config F  [ledger] signing_key from this earshot.conf\n"
		"  --verify FILE   check a signed report offline: its signature, and with\n"
		"                  --key (or the data folder's ledger/ledger.pub) its key\n"
		"Exit codes: 0 every call explained (--verify: the report checks), 1 error\n"
		"(--verify: it does not check), 2 usage, 3 no index (--verify: not a report),\n"
		"8 unexplained gaps.\n");
}

/* A whole small file into a malloc'd buffer. */
static int slurp(const char *path, uint8_t **out, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ES_EIO;
	struct es_buf b;
	es_buf_init(&b);
	uint8_t chunk[65536];
	size_t k;
	int err = 0;
	while (!err && (k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = b.len + k > (64u << 20) ? ES_ELIMIT : es_buf_append(&b, chunk, k);
	if (!err && ferror(f))
		err = ES_EIO;
	fclose(f);
	if (err) {
		es_buf_free(&b);
		return err;
	}
	*out = b.p;
	*n = b.len;
	return 0;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- verify ------------------------------------------------------------------------ */

static int verify(struct cli_ctx *ctx, const char *path, const char *key, bool json)
{
	uint8_t *p = NULL, *kp = NULL;
	size_t n = 0, kn = 0;
	char err[512] = "";
	if (slurp(path, &p, &n)) {
		fprintf(stderr, CMD ": %s: %s\n", path, strerror(errno ? errno : EIO));
		return CLI_INPUT;
	}
	struct st_sigdoc d;
	int rc = st_sigdoc_check(p, n, MAGIC, &d, err, sizeof(err));
	int ret = CLI_OK;
	const char *key_state = "not checked";
	if (rc == ES_EFORMAT) {
		fprintf(stderr, CMD ": %s: not a signed reconcile report: %s\n", path, err);
		ret = CLI_INPUT;
		goto out;
	}
	if (rc) {
		ret = CLI_ERR;
		key_state = "-";
	} else {
		/* the key: the operator's trusted ledger.pub (--key), else this
		 * data folder's; without either only the fingerprint is said */
		char def[4200];
		snprintf(def, sizeof(def), "%s/ledger/ledger.pub", ctx->data_dir);
		struct stat st;
		const char *kpath = key ? key : stat(def, &st) == 0 ? def : NULL;
		uint8_t tk[ST_LEDGER_PK_LEN];
		if (kpath && (slurp(kpath, &kp, &kn) || st_pub_parse(kp, kn, tk))) {
			fprintf(stderr, CMD ": %s: not a readable ledger.pub\n", kpath);
			ret = CLI_INPUT;
			goto out;
		}
		if (!kpath) {
			key_state = "unknown (give --key LEDGER.PUB)";
		} else if (memcmp(tk, d.pk, sizeof(tk))) {
			key_state = "NOT the trusted key";
			snprintf(err, sizeof(err), "signed by key %s, not by %.300s", d.fingerprint, kpath);
			ret = CLI_ERR;
		} else {
			key_state = key ? "the trusted key (--key)" : "the data folder's ledger key";
		}
	}
	if (json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "ok"); es_json_bool(&j, ret == CLI_OK);
		es_json_key(&j, "error"); es_json_str(&j, ret == CLI_OK ? NULL : err);
		es_json_key(&j, "fingerprint"); es_json_str(&j, rc ? NULL : d.fingerprint);
		es_json_key(&j, "key"); es_json_str(&j, key_state);
		es_json_key(&j, "report");
		if (rc) {
			es_json_null(&j);
		} else {
			char *body = sl_strdup(d.body);
			if (body)
				es_json_raw(&j, body);
			else
				es_json_null(&j);
			free(body);
		}
		es_json_obj_end(&j);
		es_json_end(&j);
	} else {
		printf("%s: %s\n", path, ret == CLI_OK ? "the signature verifies" : err);
		if (!rc)
			printf("  key fingerprint (SHA-256 of ledger.pub) %s: %s\n", d.fingerprint,
			       key_state);
	}
out:
	free(p);
	free(kp);
	return ret;
}

/* ---- the report -------------------------------------------------------------------- */

/* The text view: one line per call that is not plainly recorded. */
static void print_text(const char *json, const struct rec_reconcile_totals *t, int64_t from,
		       int64_t to)
{
	char a[ES_TIME_STRLEN], b[ES_TIME_STRLEN];
	es_time_fmt(from, a, sizeof(a));
	es_time_fmt(to, b, sizeof(b));
	printf("%s to %s: %u answered calls: %u recorded, %u not recorded (explained), "
	       "%u unexplained\n", a, b, t->answered, t->recorded, t->not_recorded,
	       t->unexplained);
	/* the per-call lines come from the JSON (one writer of the verdicts) */
	for (const char *p = json; (p = strstr(p, "{\"id\":")) != NULL; p++) {
		long long id = strtoll(p + 6, NULL, 10);
		const char *st = strstr(p, "\"status\":\""), *re = strstr(p, "\"reason\":");
		const char *de = strstr(p, "\"detail\":");
		if (!st || !re || !de)
			break;
		st += 10;
		re += 9;
		de += 9;
		int sl = (int)strcspn(st, "\"");
		if (!strncmp(st, "recorded", 8) && !strncmp(re, "null", 4))
			continue;
		int rl = *re == '"' ? (int)strcspn(re + 1, "\"") : 4;
		int dl = *de == '"' ? (int)strcspn(de + 1, "\"") : 0;
		printf("  call %-6lld %-13.*s %-22.*s %.*s\n", id, sl, st, rl, *re == '"' ? re + 1 : re,
		       dl, de + 1);
	}
}

int cli_reconcile(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'J'},       {"out", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'}, {"verify", required_argument, NULL, 'V'},
		{"key", required_argument, NULL, 'K'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int64_t from = -1, to = -1;
	bool json = false;
	const char *out = NULL, *config = NULL, *vpath = NULL, *key = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
		case 't':
			if (es_time_parse(optarg, c == 'f' ? &from : &to)) {
				fprintf(stderr, CMD ": --%s: not a time: '%s'\n", c == 'f' ? "from" : "to",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'J': json = true; break;
		case 'o': out = optarg; break;
		case 'c': config = optarg; break;
		case 'V': vpath = optarg; break;
		case 'K': key = optarg; break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, CMD ": unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}
	if (vpath)
		return verify(ctx, vpath, key, json);
	if (from < 0 || to < 0 || to <= from) {
		fprintf(stderr, CMD ": give --from and --to, --from before --to\n");
		usage(stderr);
		return CLI_USAGE;
	}
	struct cli_ledger_settings ls = {0};
	if (config) {
		struct es_conf conf;
		char err[1024];
		int rc = es_conf_load(&conf, config, err, sizeof(err));
		if (!rc) {
			rc = cli_ledger_apply_config(&ls, &conf, err, sizeof(err));
			es_conf_free(&conf);
		}
		if (rc) {
			fprintf(stderr, CMD ": %s\n", err);
			return CLI_USAGE;
		}
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_INPUT;
	/* read-only: a running recorder keeps the ledger's lock; the key in
	 * the data folder (or the configured one) still signs */
	struct st_ledger *l = NULL;
	char ldir[4200], err[1024] = "";
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	struct stat st;
	int ret = CLI_ERR;
	char *body = NULL;
	size_t blen = 0;
	struct es_buf doc;
	es_buf_init(&doc);
	if (stat(ldir, &st) == 0 &&
	    st_ledger_open_key(&l, ldir, ST_LEDGER_RDONLY | (out ? ST_LEDGER_SIGN : 0),
			       ls.key_path[0] ? ls.key_path : NULL, err, sizeof(err))) {
		fprintf(stderr, CMD ": cannot read the ledger: %s\n", err);
		goto out;
	}
	struct rec_reconcile_totals t;
	if (rec_reconcile(ix, l, ctx->data_dir, from, to, now_us(), &body, &blen, &t, err,
			  sizeof(err))) {
		fprintf(stderr, CMD ": %s\n", err);
		goto out;
	}
	if (out) {
		FILE *f = NULL;
		int rc = l ? st_sigdoc_write(&doc, l, MAGIC, body, blen) : ES_ENOTFOUND;
		if (rc) {
			fprintf(stderr, CMD ": cannot sign the report: %s\n",
				!l ? "no ledger in the data folder"
				: rc == ES_EINVAL ? "the ledger's signing key is not readable here "
						    "(run as the recorder's user, or give -c with "
						    "[ledger] signing_key)"
						  : es_strerror(rc));
			goto out;
		}
		if (!(f = fopen(out, "wx")) || fwrite(doc.p, 1, doc.len, f) != doc.len ||
		    fflush(f) || fsync(fileno(f))) {
			fprintf(stderr, CMD ": %s: %s\n", out, strerror(errno));
			if (f)
				fclose(f);
			goto out;
		}
		fclose(f);
	}
	if (json)
		printf("%.*s\n", (int)blen, body);
	else
		print_text(body, &t, from, to);
	ret = t.unexplained ? CLI_GAPS : CLI_OK;
out:
	es_buf_free(&doc);
	free(body);
	st_ledger_close(l);
	idx_close(ix);
	return ret;
}
