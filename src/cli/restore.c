/*
 * restore.c - `earshot restore SRC`: a backup of `earshot backup` back into
 * an empty data folder.  Nothing is put in place before everything is
 * checked: the manifest's signature (by the ledger key of the backup, or
 * the one --pub pins), then every file fetched into a staging folder with
 * its SHA-256 and size checked against the manifest; only then are the
 * files moved into place, and `earshot verify` runs over the result.
 */
#include "cli/backup.h"
#include "store/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_CMD "earshot restore"
#define RS_STAGE ".restore-staging"

static void rs_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot restore [--data DIR] [-c FILE] [--pub FILE] [--force] [--json] SRC\n"
		"\n"
		"Restore a backup made by `earshot backup` (a folder, or s3://BUCKET/PREFIX\n"
		"with the [s3] settings of -c FILE) into the data folder DIR, which must be\n"
		"empty or absent.  First the manifest's signature is checked, then every\n"
		"file's SHA-256 and size; only when all hold is anything put in place.\n"
		"Then the checks of `earshot verify` run over the restored folder.\n"
		"\n"
		"Options:\n"
		"  --pub FILE   the ledger's public key (ledger.pub) the manifest must be\n"
		"               signed by; default: the backup's own ledger.pub, which\n"
		"               proves only that the backup is whole (pin the key you\n"
		"               published to detect a backup forged with another key)\n"
		"  --force      restore into a folder that is not empty (its files named\n"
		"               by the backup are replaced, and a stale index WAL removed)\n"
		"  --json       verify's findings as JSON on stdout\n"
		"\n"
		"Exit codes: 0 restored and verified, 1 a file or the manifest fails its\n"
		"check (named on stderr; nothing restored) or verify found problems,\n"
		"2 usage or a non-empty target without --force.\n");
}

struct rs {
	struct cli_ctx *ctx;
	struct st_blob src;
	struct st_manifest m;
	char stage[4200];
	char err[1024];
};

/* Whether dir is absent or has no entries. */
static bool rs_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

/* The whole small file at path into b. */
static int rs_slurp(const char *path, struct es_buf *b)
{
	int rc = es_read_file(path, b);
	return rc == ES_ENOTFOUND ? ES_EIO : rc;
}

static void rs_stage_path(const struct rs *r, size_t i, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%zu", r->stage, i);
}

/* Remove the staging folder and what it holds. */
static void rs_unstage(struct rs *r)
{
	DIR *d = opendir(r->stage);
	if (d) {
		struct dirent *de;
		char p[4500];
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", r->stage, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(r->stage);
}

/* manifest.json and manifest.sig fetched and checked; the manifest parsed. */
static int rs_manifest(struct rs *r, const char *pub_file)
{
	char mp[4300], sp[4300], pp[4300];
	snprintf(mp, sizeof(mp), "%s/manifest.json", r->stage);
	snprintf(sp, sizeof(sp), "%s/manifest.sig", r->stage);
	snprintf(pp, sizeof(pp), "%s/ledger.pub", r->stage);
	const struct st_blob_ops *o = r->src.ops;
	const char *where = o->describe(r->src.state);
	struct es_buf mt, st;
	es_buf_init(&mt);
	es_buf_init(&st);
	int rc = o->get_file(r->src.state, "manifest.json", mp, NULL, r->err, sizeof(r->err));
	if (!rc)
		rc = o->get_file(r->src.state, "manifest.sig", sp, NULL, r->err, sizeof(r->err));
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", RS_CMD, where,
			rc == ES_ENOTFOUND ? "no backup there (manifest.json or manifest.sig missing)"
					   : r->err);
		goto out;
	}
	if ((rc = rs_slurp(mp, &mt)) || (rc = rs_slurp(sp, &st))) {
		fprintf(stderr, "%s: %s: %s\n", RS_CMD, r->stage, es_strerror(rc));
		goto out;
	}
	/* Strict parse first (it trusts nothing), then the key, then the
	 * signature over the exact bytes. */
	if ((rc = st_manifest_parse((const char *)mt.p, mt.len, &r->m, r->err, sizeof(r->err)))) {
		fprintf(stderr, "%s: %s: %s\n", RS_CMD, where, r->err);
		goto out;
	}
	uint8_t pk[ST_LEDGER_PK_LEN];
	if (!pub_file) {
		size_t i = 0;
		while (i < r->m.n && strcmp(r->m.files[i].path, "ledger/ledger.pub"))
			i++;
		char key[80];
		if (i == r->m.n) {
			fprintf(stderr, "%s: %s: the manifest lists no ledger/ledger.pub: give --pub\n",
				RS_CMD, where);
			rc = ES_ENOTFOUND;
			goto out;
		}
		st_manifest_blob_key(r->m.files[i].sha256, key);
		rc = o->get_file(r->src.state, key, pp, r->m.files[i].sha256, r->err, sizeof(r->err));
		if (rc) {
			fprintf(stderr, "%s: ledger/ledger.pub (%s): %s\n", RS_CMD, key, r->err);
			goto out;
		}
		pub_file = pp;
	}
	if ((rc = st_ledger_read_pub(pub_file, pk, r->err, sizeof(r->err)))) {
		fprintf(stderr, "%s: %s\n", RS_CMD, r->err);
		goto out;
	}
	rc = st_manifest_check((const char *)mt.p, mt.len, (const char *)st.p, st.len, pk, r->err,
			       sizeof(r->err));
	if (rc)
		fprintf(stderr, "%s: %s: %s\n", RS_CMD, where, r->err);
out:
	unlink(mp);
	unlink(sp);
	unlink(pp);
	es_buf_free(&mt);
	es_buf_free(&st);
	return rc;
}

/* Every file into the staging folder, hash and size checked. */
static int rs_fetch(struct rs *r)
{
	const struct st_blob_ops *o = r->src.ops;
	int64_t last = es_mono_us();
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->m.n; i++) {
		const struct st_manifest_file *f = &r->m.files[i];
		char key[80], dst[4300];
		struct stat st;
		st_manifest_blob_key(f->sha256, key);
		rs_stage_path(r, i, dst, sizeof(dst));
		int rc = o->get_file(r->src.state, key, dst, f->sha256, r->err, sizeof(r->err));
		if (rc == ES_ECRYPTO)
			snprintf(r->err, sizeof(r->err),
				 "its content does not match its SHA-256 in the manifest: altered");
		else if (rc == ES_ENOTFOUND)
			snprintf(r->err, sizeof(r->err), "missing from the backup");
		else if (!rc && (stat(dst, &st) != 0 || (uint64_t)st.st_size != f->size))
			rc = es_errf(r->err, sizeof(r->err), ES_ECRYPTO,
				     "its size is not the manifest's %llu bytes",
				     (unsigned long long)f->size);
		if (rc) {
			fprintf(stderr, "%s: %s (%s): %s\n", RS_CMD, f->path, key, r->err);
			return rc;
		}
		bytes += f->size;
		if (es_mono_us() - last >= ES_US_PER_SEC || i + 1 == r->m.n) {
			last = es_mono_us();
			fprintf(stderr, "%s: %zu/%zu files checked, %.1f MiB\n", RS_CMD, i + 1,
				r->m.n, (double)bytes / 1048576.0);
		}
	}
	return 0;
}

/* The checked files into their places (same file system: renames). */
static int rs_place(struct rs *r)
{
	for (size_t i = 0; i < r->m.n; i++) {
		const struct st_manifest_file *f = &r->m.files[i];
		char src[4300], dst[4300];
		rs_stage_path(r, i, src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s/%s", r->ctx->data_dir, f->path);
		/* keys and the signing key keep their 0600; nothing is wider than 0640 */
		mode_t mode = (mode_t)(f->mode & 0640);
		if (es_mkdirs(dst, false) || chmod(src, mode ? mode : 0600) || rename(src, dst)) {
			fprintf(stderr, "%s: %s: %s\n", RS_CMD, dst, strerror(errno));
			return ES_EIO;
		}
	}
	/* key folders are 0700 (store/vault.c) */
	static const char *const kdirs[] = {"keys", "keys/dek"};
	for (size_t i = 0; i < ES_ARRAY_LEN(kdirs); i++) {
		char kdir[4300];
		snprintf(kdir, sizeof(kdir), "%s/%s", r->ctx->data_dir, kdirs[i]);
		chmod(kdir, 0700);
	}
	return 0;
}

int cli_restore(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},   {"force", no_argument, NULL, 'f'},
		{"pub", required_argument, NULL, 'p'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *config = NULL, *pub = NULL;
	bool json = false, force = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'f': force = true; break;
		case 'p': pub = optarg; break;
		case 'h': rs_usage(stdout); return CLI_OK;
		default: rs_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		rs_usage(stderr);
		return CLI_USAGE;
	}
	if (ctx->index) {
		fprintf(stderr, "%s: EARSHOT_INDEX names a PostgreSQL index: a backup restores an "
				"embedded deployment (unset it)\n", RS_CMD);
		return CLI_USAGE;
	}
	if (sodium_init() < 0)
		return CLI_ERR;
	struct rs r = {.ctx = ctx};
	st_manifest_init(&r.m);
	int rc = cli_backup_store_open(ctx, argv[optind], config, false, &r.src, NULL, 0, RS_CMD);
	if (rc)
		return rc;
	if (!rs_empty(ctx->data_dir) && !force) {
		fprintf(stderr, "%s: %s is not empty: restore into an empty folder, or give --force "
				"to replace the files the backup holds\n", RS_CMD, ctx->data_dir);
		st_blob_close(&r.src);
		return CLI_USAGE;
	}
	int out = CLI_ERR;
	if (es_mkdirs(ctx->data_dir, true) || chmod(ctx->data_dir, 0750)) {
		fprintf(stderr, "%s: cannot create %s: %s\n", RS_CMD, ctx->data_dir, strerror(errno));
		goto done;
	}
	if (cli_data_guard(ctx))
		goto done;
	snprintf(r.stage, sizeof(r.stage), "%s/" RS_STAGE, ctx->data_dir);
	if (mkdir(r.stage, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create %s: %s\n", RS_CMD, r.stage, strerror(errno));
		goto done;
	}
	if (rs_manifest(&r, pub) || rs_fetch(&r)) {
		fprintf(stderr, "%s: nothing was restored into %s\n", RS_CMD, ctx->data_dir);
		goto done;
	}
	if (force) {
		static const char *const stale[] = {"index.sqlite-wal", "index.sqlite-shm",
						    "index.sqlite-journal"};
		for (size_t i = 0; i < ES_ARRAY_LEN(stale); i++) {
			char p[4300];
			snprintf(p, sizeof(p), "%s/%s", ctx->data_dir, stale[i]);
			unlink(p);
		}
	}
	if (rs_place(&r))
		goto done;
	rs_unstage(&r);
	fprintf(stderr, "%s: %zu files restored into %s; verifying\n", RS_CMD, r.m.n,
		ctx->data_dir);
	char *vargv[] = {"verify", json ? "--json" : NULL, NULL};
	optind = 1;
	int vrc = cli_verify(ctx, json ? 2 : 1, vargv);
	if (vrc)
		fprintf(stderr, "%s: the files are restored, but verify found problems (above)\n",
			RS_CMD);
	out = vrc ? CLI_ERR : CLI_OK;
done:
	if (r.stage[0])
		rs_unstage(&r);
	st_manifest_free(&r.m);
	st_blob_close(&r.src);
	return out;
}
