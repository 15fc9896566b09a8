/*
 * backup.c - `earshot backup DEST`: a consistent snapshot of an embedded
 * deployment (docs/OPERATIONS.md) into a folder or a bucket, through the
 * blob store interface:
 *
 *   DEST/blobs/<hh>/<sha256>   every file's content, once per hash, so a
 *                              second backup into DEST copies only what is new
 *   DEST/manifest.json, .sig   the newest snapshot: every file's path, size,
 *                              mode and SHA-256, signed with the ledger's key
 *   DEST/manifests/<us>.json   each snapshot's manifest and signature, kept
 *
 * What a snapshot holds, taken in this order so that it is one consistent
 * state: the index (SQLite's online backup API), then the ledger cut at the
 * newest signed head that agrees with it (backup_cut.c: a recorder appends
 * a recording's leaf before it commits its row, so the ledger read after
 * the index may end with leaves of rows still to come; taken again when no
 * head agrees), then the keys, the other
 * files of the data folder, and the recordings that the snapshot's rows
 * name (a recording stored after the index was copied would be an
 * "unexpected file" to verify).  Left out: the run/, spool/ and cache/
 * folders (state of a running recorder; a call in progress is in the next
 * backup) and unfinished ".part" files.
 */
#include "cli/backup.h"
#include "core/config.h"
#include "index/copy.h"
#include "store/crypt.h"
#include "store/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BK_CMD "earshot backup"
#define BK_LEDGER_TRIES 50 /* x 100 ms: waiting for a recorder's signed head */
#define BK_SNAP_TRIES 25   /* index snapshot and ledger cut, 200 ms apart */
/* A leaf younger than this without its row may be a write in progress, left
 * for the next backup; an older one is a finding, kept. */
#define BK_INFLIGHT_US (120 * ES_US_PER_SEC)

static void bk_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot backup [-c FILE] [--json] DEST\n"
		"\n"
		"A consistent snapshot of the data folder (an embedded deployment: SQLite\n"
		"index and local recordings) while it runs: the index through SQLite's\n"
		"online backup API, the keys as they are stored (still sealed), the\n"
		"ledger, the recordings, and a manifest of every file's SHA-256 signed\n"
		"with the ledger's key.  DEST is a folder, or s3://BUCKET/PREFIX with\n"
		"the [s3] settings of -c FILE.  Each file's content is stored once under\n"
		"its hash: a second backup into DEST copies only what is new.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   the configuration ([s3] for a bucket, [ledger]\n"
		"                      signing_key when the key is outside the folder)\n"
		"  --json              the summary as JSON on stdout\n"
		"\n"
		"Exit codes: 0 ok, 1 error (said on stderr, naming the file), 2 usage.\n"
		"Restore with `earshot restore DEST --data DIR`.\n");
}

/* ---- the destination or source store ------------------------------------------ */

int cli_backup_store_open(struct cli_ctx *ctx, const char *where, const char *config,
			  bool create, struct st_blob *b, char *key_path, size_t kcap,
			  const char *cmd)
{
	char err[1024];
	struct cli_blob_settings bs;
	struct cli_ledger_settings ls;
	memset(&bs, 0, sizeof(bs));
	memset(&ls, 0, sizeof(ls));
	if (config) {
		struct es_conf conf;
		int rc = es_conf_load(&conf, config, err, sizeof(err));
		if (!rc) {
			const struct es_conf_entry *e = es_conf_find(&conf, "earshot", "data");
			if (!ctx->data_explicit && e)
				ctx->data_dir = strdup(e->value); /* lives as long as the process */
			rc = cli_ledger_apply_config(&ls, &conf, err, sizeof(err));
			if (!rc && !strncmp(where, "s3://", 5))
				rc = cli_blobs_apply_config(&bs, &conf, err, sizeof(err));
		}
		es_conf_free(&conf);
		if (rc) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			return CLI_USAGE;
		}
	}
	if (key_path)
		snprintf(key_path, kcap, "%s", ls.key_path);
	if (!b) /* the configuration only */
		return CLI_OK;
	int rc;
	if (!strncmp(where, "s3://", 5)) {
		if (!bs.on) {
			fprintf(stderr,
				"%s: %s: the bucket's server and credentials come from -c FILE "
				"([earshot] blobs = s3://... and [s3], docs/CONFIG.md)\n",
				cmd, where);
			return CLI_USAGE;
		}
		if (st_blob_parse_url(where, &bs.conf, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			return CLI_USAGE;
		}
		rc = st_blob_open(b, &st_blob_s3, &bs.conf, err, sizeof(err));
		sodium_memzero(bs.conf.secret_key, sizeof(bs.conf.secret_key));
	} else {
		struct st_blob_conf fc = {0};
		struct stat st;
		if (create && es_mkdirs(where, true)) {
			fprintf(stderr, "%s: cannot create %s: %s\n", cmd, where, strerror(errno));
			return CLI_ERR;
		}
		if (stat(where, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "%s: %s: not a folder\n", cmd, where);
			return CLI_ERR;
		}
		snprintf(fc.root, sizeof(fc.root), "%s", where);
		rc = st_blob_open(b, &st_blob_fs, &fc, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return CLI_ERR;
	}
	return CLI_OK;
}

/* ---- the snapshot ---------------------------------------------------------------- */

struct bk {
	struct cli_ctx *ctx;
	struct st_blob dst;
	char stage[4200];        /* DATA/run/backup-<pid>: the index copy, the ledger cut */
	char key_path[1024];     /* [ledger] signing_key, "" = the default */
	struct es_htab recs;     /* recording paths the snapshot's rows name */
	size_t nrows;            /* of them, named by rows */
	struct st_manifest m;
	uint64_t bytes, copied, copied_bytes, reused, in_bucket;
	int64_t t0, last_progress;
	bool oom;
	char err[1024];
};

struct bk_path {
	struct es_hnode node;
	bool row; /* named by a row (else a kept redaction original) */
	char path[];
};

static bool bk_path_eq(const struct es_hnode *n, const void *key)
{
	return !strcmp(ES_CONTAINER_OF(n, struct bk_path, node)->path, key);
}

static struct bk_path *bk_rec_find(const struct bk *k, const char *path)
{
	struct es_hnode *n = es_htab_find(&k->recs, es_hash(path, strlen(path), 0), bk_path_eq, path);
	return n ? ES_CONTAINER_OF(n, struct bk_path, node) : NULL;
}

static void bk_rec_add(struct bk *k, const char *path, bool row)
{
	struct bk_path *p = bk_rec_find(k, path);
	if (p) {
		k->nrows += row && !p->row;
		p->row |= row;
		return;
	}
	size_t n = strlen(path);
	if (!(p = malloc(sizeof(*p) + n + 1))) {
		k->oom = true;
		return;
	}
	p->row = row;
	memcpy(p->path, path, n + 1);
	if (es_htab_insert(&k->recs, &p->node, es_hash(path, n, 0))) {
		free(p);
		k->oom = true;
		return;
	}
	k->nrows += row;
}

static void bk_recs_clear(struct bk *k)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&k->recs, &pos, &cur))) {
		es_htab_remove(&k->recs, n);
		free(ES_CONTAINER_OF(n, struct bk_path, node));
	}
	k->nrows = 0;
}

static bool bk_is_row(void *ud, const char *path)
{
	const struct bk_path *p = bk_rec_find(ud, path);
	return p && p->row;
}

static bool bk_is_known(void *ud, const char *path)
{
	return bk_rec_find(ud, path) != NULL;
}

static int bk_take_call(void *ud, const struct idx_call *c)
{
	if (c->recording && c->recording->path)
		bk_rec_add(ud, c->recording->path, true);
	return 0;
}

/* The recordings named by the snapshot (rows and kept redaction originals). */
static int bk_snapshot_paths(struct bk *k, const char *snap)
{
	struct idx *ix;
	char err[512];
	int rc = idx_open(&ix, snap, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: the index snapshot: %s\n", BK_CMD, err);
		return CLI_ERR;
	}
	rc = idx_calls_list(ix, &(struct idx_filter){0}, bk_take_call, k);
	struct cli_vr *vr = NULL;
	if (!rc && !(rc = cli_verify_redactions_load(ix, 0, &vr))) {
		const char *orig[4096];
		size_t n = cli_verify_redactions_originals(vr, orig, ES_ARRAY_LEN(orig));
		for (size_t i = 0; i < n; i++)
			bk_rec_add(k, orig[i], false);
		cli_verify_redactions_free(vr);
	}
	if (rc)
		fprintf(stderr, "%s: the index snapshot: %s\n", BK_CMD, idx_errmsg(ix));
	idx_close(ix);
	if (!rc && k->oom) {
		fprintf(stderr, "%s: out of memory\n", BK_CMD);
		rc = ES_ENOMEM;
	}
	return rc ? CLI_ERR : CLI_OK;
}

/* The whole lines of the file at path into b. */
static int bk_read_lines(const char *path, struct es_buf *b, uint64_t *lines)
{
	es_buf_reset(b);
	*lines = 0;
	int rc = es_read_file(path, b);
	if (rc == ES_ENOTFOUND)
		return 0;
	while (b->len && b->p[b->len - 1] != '\n')
		b->len--; /* a line being written: not ours yet */
	for (size_t i = 0; i < b->len; i++)
		*lines += b->p[i] == '\n';
	return rc;
}

/* The tree size of the last head line of heads.log's bytes; 0 when none. */
static uint64_t bk_last_head_size(const struct es_buf *h)
{
	if (!h->len)
		return 0;
	size_t end = h->len - (h->p[h->len - 1] == '\n'), i = end;
	while (i && h->p[i - 1] != '\n')
		i--;
	return bk_head_size(h->p + i, end - i);
}

static int bk_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return ES_EIO;
	int rc = es_write_all(fd, p, n);
	if (!rc && fsync(fd))
		rc = ES_EIO;
	close(fd);
	return rc;
}

/* entries.log and heads.log cut at the newest signed head that matches the
 * index snapshot (backup_cut.c).  None found: BK_RETRY, for the caller to
 * take the snapshot again; on the last try (last), the newest head that
 * covers every whole line, waiting for a recorder to sign its leaves, as
 * it is (restore's verify then names what disagrees). */
#define BK_RETRY (-100)
static int bk_ledger_cut(struct bk *k, bool last)
{
	char e[4300], h[4300], oe[4300], oh[4300];
	snprintf(e, sizeof(e), "%s/ledger/entries.log", k->ctx->data_dir);
	snprintf(h, sizeof(h), "%s/ledger/heads.log", k->ctx->data_dir);
	struct es_buf eb, hb;
	es_buf_init(&eb);
	es_buf_init(&hb);
	uint64_t elines = 0, hlines = 0;
	struct bk_cut cut = {0};
	const struct bk_cut_rows rows = {bk_is_row, bk_is_known, k->nrows, k};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_us = (int64_t)now.tv_sec * ES_US_PER_SEC + now.tv_nsec / 1000;
	/* heads first: every head read then covers lines read after it */
	int rc = bk_read_lines(h, &hb, &hlines);
	if (!rc)
		rc = bk_read_lines(e, &eb, &elines);
	if (!rc && elines) {
		int c = bk_cut_find(&eb, &hb, &rows, now_us, BK_INFLIGHT_US, &cut);
		if (!c) {
			eb.len = cut.entries_len;
			hb.len = cut.heads_len;
		} else if (c == ES_ENOTFOUND && !last) {
			rc = BK_RETRY;
		} else if (c != ES_ENOTFOUND) {
			rc = c;
		}
		for (int i = 0; c == ES_ENOTFOUND && last && !rc && i < BK_LEDGER_TRIES; i++) {
			if (i)
				nanosleep(&(struct timespec){0, 100000000}, NULL);
			if ((rc = bk_read_lines(h, &hb, &hlines)) || (rc = bk_read_lines(e, &eb, &elines)))
				break;
			if (bk_last_head_size(&hb) == elines)
				break;
			if (i + 1 == BK_LEDGER_TRIES)
				fprintf(stderr, "%s: warning: the ledger's newest head covers %llu of %llu "
						"leaves after %d s; backed up as it is\n",
					BK_CMD, (unsigned long long)bk_last_head_size(&hb),
					(unsigned long long)elines, BK_LEDGER_TRIES / 10);
		}
		if (c == ES_ENOTFOUND && last && !rc)
			fprintf(stderr, "%s: warning: the ledger and the index do not agree at any "
					"signed head (a recording without its leaf or a leaf without its "
					"row): backed up as they are; restore's verify names them\n",
				BK_CMD);
	}
	snprintf(oe, sizeof(oe), "%s/entries.log", k->stage);
	snprintf(oh, sizeof(oh), "%s/heads.log", k->stage);
	if (!rc && elines == 0)
		rc = ES_ENOTFOUND;
	if (!rc)
		rc = bk_write_file(oe, eb.p, eb.len);
	if (!rc)
		rc = bk_write_file(oh, hb.p, hb.len);
	es_buf_free(&eb);
	es_buf_free(&hb);
	if (rc == BK_RETRY)
		return rc;
	if (rc)
		fprintf(stderr, "%s: %s: %s\n", BK_CMD, rc == ES_ENOTFOUND ? e : k->stage,
			rc == ES_ENOTFOUND ? "no ledger to back up" : es_strerror(rc));
	return rc ? CLI_ERR : CLI_OK;
}

static void bk_progress(struct bk *k, bool last)
{
	int64_t now = es_mono_us();
	if (!last && now - k->last_progress < ES_US_PER_SEC)
		return;
	k->last_progress = now;
	fprintf(stderr, "%s: %zu files, %.1f MiB (%llu copied, %llu already there)%s\n", BK_CMD,
		k->m.n, (double)k->bytes / 1048576.0, (unsigned long long)k->copied,
		(unsigned long long)k->reused, last ? ": done" : "");
}

/* One file: hashed, stored under its hash unless DEST has it, listed. */
static int bk_file(struct bk *k, const char *rel, const char *src)
{
	struct stat st;
	char hex[65], key[80];
	if (stat(src, &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", BK_CMD, src, strerror(errno));
		return CLI_ERR;
	}
	int rc = st_sha256_file(src, NULL, hex);
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", BK_CMD, src, strerror(errno));
		return CLI_ERR;
	}
	st_manifest_blob_key(hex, key);
	uint64_t have = 0;
	const struct st_blob_ops *o = k->dst.ops;
	if (o->size(k->dst.state, key, &have, k->err, sizeof(k->err)) == 0 &&
	    have == (uint64_t)st.st_size) {
		k->reused++;
	} else {
		rc = o->put_file(k->dst.state, key, src, hex, NULL, k->err, sizeof(k->err));
		if (rc) {
			fprintf(stderr, "%s: %s: %s\n", BK_CMD, rel, k->err);
			return CLI_ERR;
		}
		k->copied++;
		k->copied_bytes += (uint64_t)st.st_size;
	}
	rc = st_manifest_add(&k->m, rel, (uint64_t)st.st_size, (uint32_t)st.st_mode, hex);
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", BK_CMD, rel,
			rc == ES_EINVAL ? "a name a backup cannot hold (A-Z a-z 0-9 . _ ~ / - only)"
					: es_strerror(rc));
		return CLI_ERR;
	}
	k->bytes += (uint64_t)st.st_size;
	bk_progress(k, false);
	return CLI_OK;
}

static bool bk_skip(const char *rel, bool dir)
{
	static const char *const dirs[] = {"run", "spool", "cache"};
	static const char *const files[] = {"index.sqlite", "index.sqlite-wal",
					    "index.sqlite-shm", "index.sqlite-journal",
					    "ledger/entries.log", "ledger/heads.log"};
	for (size_t i = 0; dir && i < ES_ARRAY_LEN(dirs); i++)
		if (!strcmp(rel, dirs[i]))
			return true;
	for (size_t i = 0; !dir && i < ES_ARRAY_LEN(files); i++)
		if (!strcmp(rel, files[i]))
			return true;
	size_t n = strlen(rel);
	return !dir && n > 5 && !strcmp(rel + n - 5, ".part");
}

/* Every file under DATA/<rel> (rel "" for the folder itself). */
static int bk_walk(struct bk *k, char *rel, size_t cap, int depth)
{
	char dir[4300];
	snprintf(dir, sizeof(dir), "%s%s%s", k->ctx->data_dir, *rel ? "/" : "", rel);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s: %s\n", BK_CMD, dir, strerror(errno));
		return CLI_ERR;
	}
	size_t len = strlen(rel);
	bool in_recs = !strncmp(rel, "recordings", 10) && (rel[10] == 0 || rel[10] == '/');
	int rc = CLI_OK;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 2 + strlen(de->d_name) > cap)
			continue;
		snprintf(rel + len, cap - len, "%s%s", len ? "/" : "", de->d_name);
		char full[4400];
		struct stat st;
		snprintf(full, sizeof(full), "%s/%s", k->ctx->data_dir, rel);
		if (lstat(full, &st) != 0) {
			rel[len] = 0;
			continue; /* removed meanwhile */
		}
		bool isdir = S_ISDIR(st.st_mode);
		if (bk_skip(rel, isdir) || (!isdir && !S_ISREG(st.st_mode))) {
			;
		} else if (isdir) {
			if (depth < 16)
				rc = bk_walk(k, rel, cap, depth + 1);
		} else if (!in_recs || es_htab_find(&k->recs, es_hash(rel, strlen(rel), 0), bk_path_eq, rel)) {
			rc = bk_file(k, rel, full);
		}
		rel[len] = 0;
	}
	closedir(d);
	return rc;
}

static void bk_count_remote(struct bk *k)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&k->recs, &pos, &cur))) {
		char full[4400];
		struct stat st;
		snprintf(full, sizeof(full), "%s/%s", k->ctx->data_dir,
			 ES_CONTAINER_OF(n, struct bk_path, node)->path);
		if (stat(full, &st) != 0)
			k->in_bucket++;
	}
}

/* The manifest, signed, stored last: a backup cut short leaves the previous
 * manifest in place. */
static int bk_manifest(struct bk *k)
{
	char ldir[4200], sig[ST_MANIFEST_SIG_MAX], mpath[4300], spath[4300], key[128];
	struct es_buf text;
	es_buf_init(&text);
	snprintf(ldir, sizeof(ldir), "%s/ledger", k->ctx->data_dir);
	uint8_t pk[ST_LEDGER_PK_LEN];
	char pub[4300];
	snprintf(pub, sizeof(pub), "%s/ledger.pub", ldir);
	int rc = st_ledger_read_pub(pub, pk, k->err, sizeof(k->err));
	if (!rc) {
		sodium_bin2hex(k->m.key_id, sizeof(k->m.key_id), pk, ST_LEDGER_KEYID_LEN);
		rc = st_manifest_format(&k->m, &text);
		if (rc)
			snprintf(k->err, sizeof(k->err), "%s", es_strerror(rc));
	}
	if (!rc)
		rc = st_manifest_sign((const char *)text.p, text.len, ldir,
				      k->key_path[0] ? k->key_path : NULL, sig, k->err,
				      sizeof(k->err));
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", k->stage);
	snprintf(spath, sizeof(spath), "%s/manifest.sig", k->stage);
	if (!rc && (bk_write_file(mpath, text.p, text.len) || bk_write_file(spath, sig, strlen(sig))))
		rc = es_errf(k->err, sizeof(k->err), ES_EIO, "%s: %s", k->stage, strerror(errno));
	const struct st_blob_ops *o = k->dst.ops;
	char hex[65];
	/* the dated copy first, then the newest: signature before manifest in
	 * neither order matters to a reader, which checks both */
	for (int i = 0; !rc && i < 2; i++) {
		const char *what = i ? "manifest.sig" : "manifest.json";
		const char *src = i ? spath : mpath;
		st_sha256_file(src, NULL, hex);
		snprintf(key, sizeof(key), "manifests/%lld.%s", (long long)k->m.created_us,
			 i ? "sig" : "json");
		rc = o->put_file(k->dst.state, key, src, hex, NULL, k->err, sizeof(k->err));
		if (!rc)
			rc = o->put_file(k->dst.state, what, src, hex, NULL, k->err, sizeof(k->err));
	}
	/* the newest pair again, signature last is not atomic across two
	 * objects: restore names a mismatch as a tampered manifest, and the
	 * dated pair stays whole */
	es_buf_free(&text);
	if (rc)
		fprintf(stderr, "%s: the manifest: %s\n", BK_CMD, k->err);
	return rc ? CLI_ERR : CLI_OK;
}

/* Whether the folder dest is dir or inside it (a backup would copy itself). */
static bool bk_inside(const char *dir, const char *dest)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!strncmp(dest, "s3://", 5) || !realpath(dir, a) || !realpath(dest, b))
		return false;
	size_t n = strlen(a);
	return !strncmp(a, b, n) && (b[n] == 0 || b[n] == '/');
}

static void bk_rmstage(struct bk *k)
{
	static const char *const names[] = {"index.sqlite", "entries.log", "heads.log",
					    "manifest.json", "manifest.sig"};
	char p[4400];
	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", k->stage, names[i]);
		unlink(p);
	}
	rmdir(k->stage);
}

static int bk_run(struct bk *k)
{
	char idx_path[4200], snap[4300], rel[4096] = "";
	snprintf(idx_path, sizeof(idx_path), "%s/index.sqlite", k->ctx->data_dir);
	snprintf(k->stage, sizeof(k->stage), "%s/run/backup-%ld", k->ctx->data_dir, (long)getpid());
	if (es_mkdirs(k->stage, true)) {
		fprintf(stderr, "%s: cannot create %s: %s\n", BK_CMD, k->stage, strerror(errno));
		return CLI_ERR;
	}
	snprintf(snap, sizeof(snap), "%s/index.sqlite", k->stage);
	/* the index, then the ledger cut that matches it; again when a
	 * recorder's writes interleaved with the two */
	int rc = BK_RETRY;
	for (int t = 0; rc == BK_RETRY; t++) {
		if (t) {
			bk_recs_clear(k);
			unlink(snap);
			nanosleep(&(struct timespec){0, 200000000}, NULL);
		}
		if ((rc = idx_sqlite_snapshot(idx_path, snap, k->err, sizeof(k->err)))) {
			fprintf(stderr, "%s: the index: %s\n", BK_CMD, k->err);
			return CLI_ERR;
		}
		if ((rc = bk_snapshot_paths(k, snap)))
			return rc;
		rc = bk_ledger_cut(k, t + 1 == BK_SNAP_TRIES);
	}
	if (rc)
		return rc;
	char e[4300], h[4300];
	snprintf(e, sizeof(e), "%s/entries.log", k->stage);
	snprintf(h, sizeof(h), "%s/heads.log", k->stage);
	if ((rc = bk_file(k, "index.sqlite", snap)) || (rc = bk_file(k, "ledger/entries.log", e)) ||
	    (rc = bk_file(k, "ledger/heads.log", h)) || (rc = bk_walk(k, rel, sizeof(rel), 0)))
		return rc;
	bk_count_remote(k);
	if ((rc = bk_manifest(k)))
		return rc;
	bk_progress(k, true);
	return CLI_OK;
}

int cli_backup(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *config = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'h': bk_usage(stdout); return CLI_OK;
		default: bk_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		bk_usage(stderr);
		return CLI_USAGE;
	}
	const char *dest = argv[optind];
	if (ctx->index) {
		fprintf(stderr, "%s: the index is PostgreSQL (%s): back it up with pg_dump or "
				"pg_basebackup (docs/OPERATIONS.md); this command copies an embedded "
				"deployment\n", BK_CMD, "EARSHOT_INDEX");
		return CLI_USAGE;
	}
	if (sodium_init() < 0 || cli_data_guard(ctx))
		return CLI_ERR;
	struct bk k = {.ctx = ctx, .t0 = es_mono_us()};
	k.last_progress = k.t0;
	st_manifest_init(&k.m);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	k.m.created_us = (int64_t)now.tv_sec * ES_US_PER_SEC + now.tv_nsec / 1000;
	int rc = cli_backup_store_open(ctx, dest, config, false, NULL, k.key_path,
				       sizeof(k.key_path), BK_CMD);
	char idx_path[4200];
	struct stat st;
	snprintf(idx_path, sizeof(idx_path), "%s/index.sqlite", ctx->data_dir);
	if (!rc && stat(idx_path, &st) != 0) {
		fprintf(stderr, "%s: no index at %s: nothing to back up\n", BK_CMD, idx_path);
		rc = CLI_ERR;
	}
	if (!rc)
		rc = cli_backup_store_open(ctx, dest, config, true, &k.dst, NULL, 0, BK_CMD);
	if (rc)
		return rc;
	if (bk_inside(ctx->data_dir, dest)) {
		fprintf(stderr, "%s: %s is inside the data folder %s: back up to another place\n",
			BK_CMD, dest, ctx->data_dir);
		st_blob_close(&k.dst);
		rmdir(dest); /* made just now, when it was not there */
		return CLI_USAGE;
	}
	if (es_htab_init(&k.recs, 1024)) {
		st_blob_close(&k.dst);
		fprintf(stderr, "%s: out of memory\n", BK_CMD);
		return CLI_ERR;
	}
	rc = bk_run(&k);
	double secs = (double)(es_mono_us() - k.t0) / 1e6;
	if (!rc && json)
		printf("{\"ok\":true,\"destination\":\"%s\",\"created_us\":%lld,\"files\":%zu,"
		       "\"bytes\":%llu,\"copied\":%llu,\"copied_bytes\":%llu,\"reused\":%llu,"
		       "\"recordings_in_bucket\":%llu,\"seconds\":%.3f}\n",
		       k.dst.ops->describe(k.dst.state), (long long)k.m.created_us, k.m.n,
		       (unsigned long long)k.bytes, (unsigned long long)k.copied,
		       (unsigned long long)k.copied_bytes, (unsigned long long)k.reused,
		       (unsigned long long)k.in_bucket, secs);
	else if (!rc)
		printf("backed up %zu files (%llu bytes; %llu copied, %llu already in %s) in %.2f s\n",
		       k.m.n, (unsigned long long)k.bytes, (unsigned long long)k.copied,
		       (unsigned long long)k.reused, k.dst.ops->describe(k.dst.state), secs);
	if (!rc && k.in_bucket)
		fprintf(stderr, "%s: %llu recording(s) are in the bucket, not in the data folder: "
				"they are not copied (keep the bucket's own versioning, "
				"docs/OPERATIONS.md)\n",
			BK_CMD, (unsigned long long)k.in_bucket);
	bk_rmstage(&k);
	bk_recs_clear(&k);
	es_htab_free(&k.recs);
	st_manifest_free(&k.m);
	st_blob_close(&k.dst);
	return rc;
}
