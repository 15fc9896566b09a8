/*
 * keys.c - `earshot keys status|rotate|publish|shred`: the data folder's keys
 * (store/vault.h).  Key material is never printed: only key ids and counts.
 */
#include "api/api.h"
#include "cli/cli.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYS_CANNOT_OPEN 3 /* no DATA/keys, or it cannot be read */

static void keys_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot keys status [--json]\n"
		"       earshot keys rotate\n"
		"       earshot keys publish\n"
		"       earshot keys shred ID [--yes]\n"
		"\n"
		"The encryption keys of the data folder (DATA/keys): one key-encryption\n"
		"key (KEK) wraps each recording's own data key.\n"
		"\n"
		"  status   the current KEK's id, how many KEKs and how many data keys\n"
		"           there are (never any key material)\n"
		"  rotate   make a new KEK current and wrap every data key again with\n"
		"           it; the recordings themselves are not touched and still play;\n"
		"           on a shared index (PostgreSQL) the index's copies too\n"
		"  publish  copy every wrapped data key of the data folder into the index\n"
		"           (wrapped, never in plain), so that a web node holding the KEK\n"
		"           opens these recordings without this folder: recorders do it\n"
		"           for each new recording; this catches up the earlier ones\n"
		"  shred    crypto-shred the recording of call ID (a number from `earshot\n"
		"           calls`, or a Call-ID): destroy its data key and log a\n"
		"           \"shredded\" tombstone in the ledger.  Nobody can decrypt it\n"
		"           afterwards; its index row stays and `earshot verify` reports\n"
		"           it as shredded.  Irreversible: needs --yes.\n"
		"\n"
		"Options:\n"
		"  --json              status as JSON\n"
		"  --yes               shred: really do it\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage (also: shred without --yes), 3 no keys\n"
		"in the data folder, 4 no such call or it has no recording, 6 shred refused:\n"
		"a legal hold covers the recording (audited).\n");
}

static int open_vault(struct cli_ctx *ctx, const char *cmd, struct st_vault **v)
{
	char kdir[4200], err[512] = "";
	struct stat st;
	snprintf(kdir, sizeof(kdir), "%s/keys", ctx->data_dir);
	if (stat(kdir, &st) != 0) {
		fprintf(stderr, "earshot keys %s: no keys at %s (nothing was recorded encrypted "
				"there yet, or --data is wrong)\n",
			cmd, kdir);
		return KEYS_CANNOT_OPEN;
	}
	int rc = st_vault_open(v, ctx->data_dir, false, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot keys %s: cannot open the keys: %s\n", cmd,
			*err ? err : es_strerror(rc));
		return KEYS_CANNOT_OPEN;
	}
	return CLI_OK;
}

/* Wrapped data keys: DATA/keys/dek/<name>.dek (vault.h). */
static long count_deks(struct cli_ctx *ctx)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/keys/dek", ctx->data_dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	long n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".dek"))
			n++;
	}
	closedir(d);
	return n;
}

static int keys_status(struct cli_ctx *ctx, bool json)
{
	struct st_vault *v;
	int rc = open_vault(ctx, "status", &v);
	if (rc)
		return rc;
	long deks = count_deks(ctx);
	const char *id = st_vault_kek_id(v);
	const char *env = getenv(ST_KEK_ENV);
	bool from_env = env && *env;
	if (json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "kek_current"); es_json_str(&j, id);
		es_json_key(&j, "kek_count"); es_json_int(&j, (int64_t)st_vault_kek_count(v));
		es_json_key(&j, "kek_source"); es_json_str(&j, from_env ? "environment" : "keyring");
		es_json_key(&j, "data_keys");
		if (deks >= 0)
			es_json_int(&j, deks);
		else
			es_json_null(&j);
		es_json_obj_end(&j);
		es_json_end(&j);
	} else {
		printf("key-encryption key  %s (current, from %s)\n", id ? id : "-",
		       from_env ? "$" ST_KEK_ENV : "the keyring");
		printf("KEKs                %zu\n", st_vault_kek_count(v));
		if (deks >= 0)
			printf("data keys           %ld\n", deks);
		else
			printf("data keys           unknown (%s/keys/dek cannot be read)\n",
			       ctx->data_dir);
	}
	st_vault_close(v);
	return deks < 0 ? CLI_ERR : CLI_OK;
}

static int keys_rotate(struct cli_ctx *ctx)
{
	struct st_vault *v;
	int rc = open_vault(ctx, "rotate", &v);
	if (rc)
		return rc;
	char err[512] = "";
	unsigned n = 0;
	rc = st_vault_rotate(v, &n, err, sizeof(err));
	if (rc == ES_EUNSUP)
		fprintf(stderr, "earshot keys rotate: the KEK comes from $%s: rotate it there "
				"(a keyring file is needed to rotate here)\n",
			ST_KEK_ENV);
	else if (rc)
		fprintf(stderr, "earshot keys rotate: %s (%u data keys were rewrapped before the "
				"failure; the old KEK still unwraps the others)\n",
			*err ? err : es_strerror(rc), n);
	else
		printf("new key-encryption key %s; %u data keys rewrapped\n", st_vault_kek_id(v),
		       n);
	/* the index's copies follow, so that no node keeps opening them only
	 * with the retired KEK (the old KEK still opens both meanwhile) */
	struct idx *ix = NULL;
	if (!rc && ctx->index && cli_open_index(ctx, false, &ix) == 0 && idx_shared(ix)) {
		unsigned pub = 0;
		if (rec_keys_publish_all(ix, v, &pub)) {
			fprintf(stderr, "earshot keys rotate: the index's copies keep the old wrapping "
					"(run `earshot keys publish`): %s\n", idx_errmsg(ix));
			rc = ES_EDB;
		} else {
			printf("%u wrapped data keys rewritten in the index\n", pub);
		}
	}
	/* the second factors' secrets are sealed by the same KEK (they live in
	 * the index, on any engine) */
	char ipath[4200];
	snprintf(ipath, sizeof(ipath), "%s/index.sqlite", ctx->data_dir);
	if (!rc && !ix && (ctx->index || access(ipath, F_OK) == 0) &&
	    cli_open_index(ctx, false, &ix))
		ix = NULL;
	if (!rc && ix) {
		unsigned m = 0;
		char merr[512] = "";
		if (api_mfa_rewrap_all(ix, v, &m, merr, sizeof(merr))) {
			fprintf(stderr, "earshot keys rotate: second-factor secrets keep the old "
					"wrapping (the old KEK still opens them): %s\n", merr);
			rc = ES_EDB;
		} else if (m) {
			printf("%u second-factor secrets rewrapped\n", m);
		}
	}
	idx_close(ix);
	st_vault_close(v);
	return rc ? CLI_ERR : CLI_OK;
}

static int keys_publish(struct cli_ctx *ctx)
{
	struct st_vault *v;
	int rc = open_vault(ctx, "publish", &v);
	if (rc)
		return rc;
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix)) {
		st_vault_close(v);
		return CLI_ERR;
	}
	unsigned n = 0;
	rc = rec_keys_publish_all(ix, v, &n);
	if (rc)
		fprintf(stderr, "earshot keys publish: %s\n",
			rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
	else
		printf("%u wrapped data keys published in the index%s\n", n,
		       idx_shared(ix) ? "" : " (not shared: only this node reads it)");
	idx_close(ix);
	st_vault_close(v);
	return rc ? CLI_ERR : CLI_OK;
}

struct shred_target {
	bool found;
	bool encrypted;
	char path[1024];
};

static int take_rec(void *ud, const struct idx_call *c)
{
	struct shred_target *t = ud;
	if (c->recording && c->recording->path) {
		t->found = true;
		t->encrypted = c->recording->encrypted;
		snprintf(t->path, sizeof(t->path), "%s", c->recording->path);
	}
	return 0;
}

/* Key first, then the tombstone: a crash between them leaves a recording
 * without key nor tombstone, which verify reports and a second `keys shred`
 * completes (the missing key is then not an error). */
static int keys_shred(struct cli_ctx *ctx, const char *arg, bool yes)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return KEYS_CANNOT_OPEN;
	struct shred_target t = {0};
	int64_t row = cli_call_ref(ix, arg);
	int rc = row ? idx_call_get(ix, row, take_rec, &t) : ES_ENOTFOUND;
	if (rc && rc != ES_ENOTFOUND)
		fprintf(stderr, "earshot keys shred: %s\n", idx_errmsg(ix));
	idx_close(ix);
	if (rc == ES_ENOTFOUND || (!rc && !t.found)) {
		fprintf(stderr, "earshot keys shred: %s %s\n",
			rc ? "no call" : "no recording for call", arg);
		return CLI_NOTFOUND;
	}
	if (rc)
		return CLI_ERR;
	if (!t.encrypted) {
		fprintf(stderr, "earshot keys shred: the recording of call %s (%s) is not "
				"encrypted: there is no key to shred\n",
			arg, t.path);
		return CLI_ERR;
	}
	if (!yes) {
		fprintf(stderr,
			"earshot keys shred: this destroys the data key of %s (call %s).\n"
			"Nobody can decrypt that recording with this data folder's keys afterwards;\n"
			"the ledger records it as shredded.  This cannot be undone.  Copies of\n"
			"%s/keys made before (backups) still hold the key: shred those too.\n"
			"Run again with --yes to do it.\n",
			t.path, arg, ctx->data_dir);
		return CLI_USAGE;
	}

	char ldir[4200], err[512] = "";
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	struct st_ledger *l = NULL;
	rc = st_ledger_open(&l, ldir, 0, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot keys shred: cannot open the ledger for writing: %s%s\n",
			*err ? err : es_strerror(rc),
			rc == ES_EAGAIN || rc == ES_EIO ? " (is `earshot record` running?)" : "");
		return CLI_ERR;
	}
	struct st_vault *v;
	rc = open_vault(ctx, "shred", &v);
	if (rc) {
		st_ledger_close(l);
		return rc;
	}
	struct idx *wix = NULL;
	if (cli_open_index(ctx, false, &wix)) {
		st_vault_close(v);
		st_ledger_close(l);
		return KEYS_CANNOT_OPEN;
	}
	struct rec_deleter d = {.data_dir = ctx->data_dir, .ix = wix, .ledger = l, .vault = v};
	struct rec_del_target tg = {.call_row = row, .path = t.path, .encrypted = true};
	uint64_t seq = 0;
	bool had_key, already;
	char held[IDX_HOLD_NAME_MAX + 1] = "";
	rc = rec_del_shred(&d, &tg, cli_wall_us(), &seq, &had_key, &already, held, sizeof(held), err,
			   sizeof(err));
	if (rc == ES_EHELD)
		cli_audit_refusal(wix, "keys.shred", row, held);
	if (rc) {
		fprintf(stderr, "earshot keys shred: %s\n", *err ? err : es_strerror(rc));
		goto out;
	}
	if (already)
		printf("%s (call %s) was already shredded\n", t.path, arg);
	else
		printf("%s (call %s): %s; ledger entry %llu\n", t.path, arg,
		       had_key ? "data key destroyed" : "data key was already gone, tombstone added",
		       (unsigned long long)seq);
out:
	idx_close(wix);
	st_vault_close(v);
	st_ledger_close(l);
	return rc == ES_EHELD ? CLI_HELD : rc ? CLI_ERR : CLI_OK;
}

int cli_keys(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'J'},
		{"yes", no_argument, NULL, 'y'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool json = false, yes = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': json = true; break;
		case 'y': yes = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': keys_usage(stdout); return CLI_OK;
		default: keys_usage(stderr); return CLI_USAGE;
		}
	}
	int n = argc - optind;
	const char *sub = n > 0 ? argv[optind] : NULL;
	if (sub && !strcmp(sub, "status") && n == 1)
		return keys_status(ctx, json);
	if (sub && !strcmp(sub, "rotate") && n == 1 && !json)
		return keys_rotate(ctx);
	if (sub && !strcmp(sub, "publish") && n == 1 && !json)
		return keys_publish(ctx);
	if (sub && !strcmp(sub, "shred") && n == 2 && !json)
		return keys_shred(ctx, argv[optind + 1], yes);
	if (!sub)
		fprintf(stderr, "earshot keys: give status, rotate, publish or shred ID\n");
	else if (strcmp(sub, "status") && strcmp(sub, "rotate") && strcmp(sub, "publish") &&
		 strcmp(sub, "shred"))
		fprintf(stderr, "earshot keys: unknown subcommand '%s'\n", sub);
	else
		fprintf(stderr, "earshot keys %s: wrong arguments\n", sub);
	keys_usage(stderr);
	return CLI_USAGE;
}

/* ---- earshot delete ------------------------------------------------------------ */

static void delete_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot delete ID --yes [--reason WORD]\n"
		"\n"
		"Delete the recording of call ID (a number from `earshot calls`, or a\n"
		"Call-ID), as a retention policy or a data subject's request asks: a\n"
		"tombstone leaf with the reason (default \"deleted\") is written to the\n"
		"integrity ledger first, so the removal is visible and explained; then\n"
		"the recording's data key is destroyed, its file removed and its row\n"
		"taken out of the index.  The call's metadata row stays.  `earshot\n"
		"verify` does not report a recording removed this way.  An interrupted\n"
		"delete is completed by running it again.\n"
		"\n"
		"Options:\n"
		"  --yes               really do it (it cannot be undone)\n"
		"  --reason WORD       the tombstone's reason: 1-64 of a-z 0-9 . _ -\n"
		"                      (default deleted; e.g. retention, request)\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 deleted, 1 error, 2 usage (also: without --yes), 3 no index,\n"
		"4 no such call or it has no recording, 6 refused: the recording is under\n"
		"a legal hold (`earshot hold`; the refusal is in the audit log).\n");
}

int cli_delete(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"yes", no_argument, NULL, 'y'},
		{"reason", required_argument, NULL, 'r'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool yes = false;
	const char *reason = "deleted";
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'y': yes = true; break;
		case 'r': reason = optarg; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': delete_usage(stdout); return CLI_OK;
		default: delete_usage(stderr); return CLI_USAGE;
		}
	}
	size_t rl = strlen(reason);
	bool reason_ok = rl >= 1 && rl <= 64 && strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789._-") == rl;
	if (argc - optind != 1 || !reason_ok) {
		fprintf(stderr, "earshot delete: %s\n",
			reason_ok ? "give one call ID" : "--reason: 1-64 of a-z 0-9 . _ -");
		delete_usage(stderr);
		return CLI_USAGE;
	}
	const char *arg = argv[optind];
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return KEYS_CANNOT_OPEN;
	struct shred_target t = {0};
	int64_t row = cli_call_ref(ix, arg);
	int rc = row ? idx_call_get(ix, row, take_rec, &t) : ES_ENOTFOUND;
	if (rc == ES_ENOTFOUND || (!rc && !t.found)) {
		fprintf(stderr, "earshot delete: %s %s\n", rc ? "no call" : "no recording for call", arg);
		idx_close(ix);
		return CLI_NOTFOUND;
	}
	if (rc) {
		fprintf(stderr, "earshot delete: %s\n", idx_errmsg(ix));
		idx_close(ix);
		return CLI_ERR;
	}
	if (!yes) {
		fprintf(stderr, "earshot delete: this removes the recording %s of call %s for good.\n"
				"Run again with --yes to do it.\n", t.path, arg);
		idx_close(ix);
		return CLI_USAGE;
	}
	char ldir[4200], err[512] = "", path[4300];
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	snprintf(path, sizeof(path), "%s/%s", ctx->data_dir, t.path);
	struct st_ledger *l = NULL;
	struct st_vault *v = NULL;
	rc = st_ledger_open(&l, ldir, 0, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot delete: cannot open the ledger for writing: %s%s\n",
			*err ? err : es_strerror(rc),
			rc == ES_EAGAIN || rc == ES_EIO ? " (is `earshot record` running?)" : "");
		idx_close(ix);
		return CLI_ERR;
	}
	if (t.encrypted && (rc = open_vault(ctx, "delete", &v)) != 0) {
		st_ledger_close(l);
		idx_close(ix);
		return rc;
	}
	/* the tombstone first: whatever happens next, the removal is explained */
	struct rec_deleter d = {.data_dir = ctx->data_dir, .ix = ix, .ledger = l, .vault = v};
	struct rec_del_target tg = {.call_row = row, .path = t.path, .encrypted = t.encrypted};
	uint64_t seq = 0;
	char held[IDX_HOLD_NAME_MAX + 1] = "";
	rc = rec_del_begin(&d, &tg, reason, cli_wall_us(), &seq, held, sizeof(held), err,
			   sizeof(err));
	if (rc == ES_EHELD)
		cli_audit_refusal(ix, "delete", row, held);
	if (!rc && (rc = st_ledger_commit(l)) != 0)
		snprintf(err, sizeof(err), "the ledger could not record it: %s", es_strerror(rc));
	if (rc) {
		fprintf(stderr, "earshot delete: %s; nothing was deleted\n", err);
		goto out;
	}
	if ((rc = rec_del_end(&d, &tg, err, sizeof(err))) != 0) {
		fprintf(stderr, "earshot delete: %s\n", err);
		goto out;
	}
	printf("%s (call %s) deleted; ledger tombstone %llu (%s)\n", t.path, arg,
	       (unsigned long long)seq, reason);
out:
	st_vault_close(v);
	st_ledger_close(l);
	idx_close(ix);
	return rc == ES_EHELD ? CLI_HELD : rc ? CLI_ERR : CLI_OK;
}
