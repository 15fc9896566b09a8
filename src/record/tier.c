/* tier.c - where a recording's stored bytes live: in the data folder (where
 * every recording starts), or, once moved, in the bucket (store/blob.h).
 * The data folder remembers its bucket in DATA/keys/blobs.conf (0600, like
 * the KEKs beside it), so that every command that reads recordings (play,
 * export, verify, serve, delete) finds archived ones without a
 * configuration of its own; AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in
 * the environment take precedence over the saved credentials.
 *
 * A recording is moved only when it is durable and indexed: upload (the
 * server checks the payload hash), read back and hash against the index
 * row, then the local file is removed.  A failed upload leaves the local
 * file in place, so the next pass tries again and nothing is lost. */
#include "record/record_internal.h"
#include "store/blob.h"
#include "store/crypt.h"

#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "tier"
#define BLOBS_FILE "keys/blobs.conf"

/* ---- the data folder's bucket ------------------------------------------------------ */

int rec_blobs_save(const char *data_dir, const struct st_blob_conf *c, int64_t after_us,
		   char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", data_dir, BLOBS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (es_mkdirs(path, false))
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	}
	fprintf(f,
		"# earshot: the bucket of this data folder (written from the configuration)\n"
		"bucket = %s\nprefix = %s\nendpoint = %s\nregion = %s\npath_style = %d\n"
		"access_key = %s\nsecret_key = %s\nmultipart_above = %llu\npart_size = %llu\n"
		"retries = %u\nbackoff_us = %lld\ntimeout_us = %lld\nlock_mode = %s\n"
		"lock_days = %lld\narchive_after_us = %lld\ncache_max_bytes = %llu\n",
		c->bucket, c->prefix, c->endpoint, c->region, c->path_style ? 1 : 0, c->access_key,
		c->secret_key, (unsigned long long)c->multipart_above,
		(unsigned long long)c->part_size, c->retries, (long long)c->backoff_us,
		(long long)c->timeout_us, c->lock_mode, (long long)c->lock_days, (long long)after_us,
		(unsigned long long)c->cache_max_bytes);
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) || !ok || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(e));
	}
	return 0;
}

static void kv(const char *line, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name);
	if (strncmp(line, name, n) || strncmp(line + n, " = ", 3))
		return;
	const char *v = line + n + 3;
	size_t l = strcspn(v, "\n");
	if (l < cap) {
		memcpy(dst, v, l);
		dst[l] = 0;
	}
}

/* One "name = value" line of blobs.conf into c (num: the numbers' text,
 * converted by blobs_numbers). */
static void blobs_line(const char *line, struct st_blob_conf *c, char num[8][32])
{
	kv(line, "bucket", c->bucket, sizeof(c->bucket));
	kv(line, "prefix", c->prefix, sizeof(c->prefix));
	kv(line, "endpoint", c->endpoint, sizeof(c->endpoint));
	kv(line, "region", c->region, sizeof(c->region));
	kv(line, "access_key", c->access_key, sizeof(c->access_key));
	kv(line, "secret_key", c->secret_key, sizeof(c->secret_key));
	kv(line, "lock_mode", c->lock_mode, sizeof(c->lock_mode));
	kv(line, "path_style", num[0], sizeof(num[0]));
	kv(line, "multipart_above", num[1], sizeof(num[1]));
	kv(line, "part_size", num[2], sizeof(num[2]));
	kv(line, "retries", num[3], sizeof(num[3]));
	kv(line, "backoff_us", num[4], sizeof(num[4]));
	kv(line, "timeout_us", num[5], sizeof(num[5]));
	kv(line, "lock_days", num[6], sizeof(num[6]));
	kv(line, "archive_after_us", num[7], sizeof(num[7]));
}

static void blobs_numbers(struct st_blob_conf *c, char num[8][32], int64_t *after_us)
{
	c->path_style = atoi(num[0]) != 0;
	c->multipart_above = strtoull(num[1], NULL, 10);
	c->part_size = strtoull(num[2], NULL, 10);
	c->retries = (unsigned)strtoul(num[3], NULL, 10);
	c->backoff_us = strtoll(num[4], NULL, 10);
	c->timeout_us = strtoll(num[5], NULL, 10);
	c->lock_days = strtoll(num[6], NULL, 10);
	if (after_us)
		*after_us = strtoll(num[7], NULL, 10);
}

/* The data folder's blobs.conf into c: ES_ENOTFOUND without one. */
static int blobs_read(const char *data_dir, struct st_blob_conf *c, int64_t *after_us, char *err,
		      size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", data_dir, BLOBS_FILE);
	memset(c, 0, sizeof(*c));
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? ES_ENOTFOUND
				       : es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	char line[1024], num[8][32];
	memset(num, 0, sizeof(num));
	while (fgets(line, sizeof(line), f))
		blobs_line(line, c, num);
	fclose(f);
	sodium_memzero(line, sizeof(line));
	blobs_numbers(c, num, after_us);
	return 0;
}

/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, when both are set, into c. */
static void blobs_env_credentials(struct st_blob_conf *c)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && *ak && sk && *sk) {
		snprintf(c->access_key, sizeof(c->access_key), "%s", ak);
		snprintf(c->secret_key, sizeof(c->secret_key), "%s", sk);
	}
}

int rec_blobs_open(const char *data_dir, struct st_blob *b, int64_t *after_us, char *err,
		   size_t errlen)
{
	struct st_blob_conf c;
	int rc = blobs_read(data_dir, &c, after_us, err, errlen);
	if (rc)
		return rc;
	blobs_env_credentials(&c);
	rc = st_blob_open(b, &st_blob_s3, &c, err, errlen);
	sodium_memzero(c.secret_key, sizeof(c.secret_key));
	return rc;
}

int rec_blobs_public(const char *data_dir, char *out, size_t cap)
{
	struct st_blob_conf c;
	int rc = blobs_read(data_dir, &c, NULL, NULL, 0);
	sodium_memzero(c.secret_key, sizeof(c.secret_key));
	if (rc)
		return rc;
	/* where the objects are, never who may read them */
	int n = snprintf(out, cap,
			 "bucket = %s\nprefix = %s\nendpoint = %s\nregion = %s\npath_style = %d\n"
			 "retries = %u\nbackoff_us = %lld\ntimeout_us = %lld\n",
			 c.bucket, c.prefix, c.endpoint, c.region, c.path_style ? 1 : 0, c.retries,
			 (long long)c.backoff_us, (long long)c.timeout_us);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

int rec_blobs_open_public(const char *data_dir, const char *text, struct st_blob *b, char *err,
			  size_t errlen)
{
	struct st_blob_conf c, own;
	char num[8][32], line[1024];
	memset(&c, 0, sizeof(c));
	memset(num, 0, sizeof(num));
	for (const char *p = text; p && *p;) {
		size_t l = strcspn(p, "\n");
		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = 0;
			c.access_key[0] = c.secret_key[0] = 0;
			blobs_line(line, &c, num);
			/* published settings never carry credentials: ignore any */
			c.access_key[0] = c.secret_key[0] = 0;
		}
		p += l + (p[l] == '\n');
	}
	blobs_numbers(&c, num, NULL);
	/* this node's own credentials: its data folder's bucket's, or the
	 * environment's (which take precedence, as in rec_blobs_open) */
	if (!blobs_read(data_dir, &own, NULL, NULL, 0)) {
		snprintf(c.access_key, sizeof(c.access_key), "%s", own.access_key);
		snprintf(c.secret_key, sizeof(c.secret_key), "%s", own.secret_key);
		sodium_memzero(own.secret_key, sizeof(own.secret_key));
	}
	blobs_env_credentials(&c);
	int rc;
	if (!c.bucket[0])
		rc = es_errf(err, errlen, ES_EINVAL, "the published bucket settings name no bucket%s",
			     "");
	else if (!c.access_key[0] || !c.secret_key[0])
		rc = es_errf(err, errlen, ES_EINVAL,
			     "bucket %s: this node has no S3 credentials (set AWS_ACCESS_KEY_ID and "
			     "AWS_SECRET_ACCESS_KEY, or [s3] in its configuration)",
			     c.bucket);
	else
		rc = st_blob_open(b, &st_blob_s3, &c, err, errlen);
	sodium_memzero(c.secret_key, sizeof(c.secret_key));
	return rc;
}

/* ---- reading an archived recording --------------------------------------------------- */

#define CACHE_DEFAULT_MAX (1024ull * 1024 * 1024)

/* [s3] cache_max_bytes as saved in blobs.conf (0 there: the default). */
static uint64_t cache_cap(const char *data_dir)
{
	char path[4200], line[256], num[32] = "";
	snprintf(path, sizeof(path), "%s/%s", data_dir, BLOBS_FILE);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		kv(line, "cache_max_bytes", num, sizeof(num));
	if (f)
		fclose(f);
	sodium_memzero(line, sizeof(line)); /* a line may have been the secret's */
	uint64_t v = strtoull(num, NULL, 10);
	return v ? v : CACHE_DEFAULT_MAX;
}

struct cfile {
	char *path;
	uint64_t size;
	int64_t used; /* the later of atime and mtime, ns */
};
struct cwalk {
	struct cfile *v;
	size_t n, cap;
	uint64_t total;
	int err;
};

static void walk_add(struct cwalk *w, const char *path, const struct stat *st)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		void *p = realloc(w->v, cap * sizeof(*w->v));
		if (!p) {
			w->err = ES_ENOMEM;
			return;
		}
		w->v = p;
		w->cap = cap;
	}
	int64_t a = (int64_t)st->st_atim.tv_sec * 1000000000 + st->st_atim.tv_nsec;
	int64_t m = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	if (!(w->v[w->n].path = strdup(path))) {
		w->err = ES_ENOMEM;
		return;
	}
	w->v[w->n].size = (uint64_t)st->st_size;
	w->v[w->n].used = a > m ? a : m;
	w->total += (uint64_t)st->st_size;
	w->n++;
}

/* Every checked copy under dir; verify's unchecked copies, the upload's
 * read-back check and fetches in progress (.part) belong to their owners. */
static void walk_dir(struct cwalk *w, const char *dir, int depth)
{
	DIR *d = depth < 32 ? opendir(dir) : NULL;
	struct dirent *de;
	char path[4400];
	while (d && !w->err && (de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		if (n[0] == '.' || (len > 5 && !strcmp(n + len - 5, ".part")))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, n) >= sizeof(path))
			continue;
		struct stat st;
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			walk_dir(w, path, depth + 1);
		else if (S_ISREG(st.st_mode))
			walk_add(w, path, &st);
	}
	if (d)
		closedir(d);
}

static int by_use(const void *a, const void *b)
{
	int64_t x = ((const struct cfile *)a)->used, y = ((const struct cfile *)b)->used;
	return x < y ? -1 : x > y;
}

int rec_tier_cache_trim(const char *data_dir, uint64_t max_bytes, const char *keep,
			unsigned *removed)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/cache", data_dir);
	struct cwalk w = {0};
	*removed = 0;
	walk_dir(&w, dir, 0);
	/* least recently used first, until the cache fits; the file a reader
	 * is about to open stays even when it alone is over the cap */
	if (!w.err)
		qsort(w.v, w.n, sizeof(*w.v), by_use);
	for (size_t i = 0; !w.err && i < w.n && w.total > max_bytes; i++) {
		if (keep && !strcmp(w.v[i].path, keep))
			continue;
		if (!unlink(w.v[i].path)) {
			w.total -= w.v[i].size;
			++*removed;
		}
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i].path);
	free(w.v);
	return w.err;
}

int rec_blobs_open_node(const char *data_dir, struct idx *ix, const char *node,
			struct st_blob *b, char *err, size_t errlen)
{
	/* another recorder's recording: its bucket as it published it (issue
	 * #16), so that a web node needs no configuration per recorder */
	if (node && *node && idx_shared(ix) && (!idx_node(ix) || strcmp(node, idx_node(ix)))) {
		char *text = NULL;
		int rc = idx_node_blobs_get(ix, node, &text);
		if (!rc) {
			rc = rec_blobs_open_public(data_dir, text, b, err, errlen);
			free(text);
			return rc;
		}
		if (rc != ES_ENOTFOUND)
			return es_errf(err, errlen, rc, "node %s's bucket cannot be read from the index: %s",
				       node, idx_errmsg(ix));
	}
	return rec_blobs_open(data_dir, b, NULL, err, errlen);
}

int rec_tier_fetch(const char *data_dir, const char *rel, const char *sha256, char *out,
		   size_t cap, char *err, size_t errlen)
{
	return rec_tier_fetch_node(data_dir, NULL, NULL, rel, sha256, out, cap, err, errlen);
}

int rec_tier_fetch_node(const char *data_dir, struct idx *ix, const char *node, const char *rel,
			const char *sha256, char *out, size_t cap, char *err, size_t errlen)
{
	/* unchecked copies (verify's, which judges the bytes itself) never
	 * land where checked ones are reused */
	int n = snprintf(out, cap, "%s/cache/%s%s", data_dir, sha256 ? "" : ".unchecked/", rel);
	if (n < 0 || (size_t)n >= cap)
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", rel);
	struct stat st;
	if (sha256 && !stat(out, &st)) {
		/* fetched before, checked then; used now: its time is what the
		 * eviction orders by (atime alone is not kept under relatime) */
		utimensat(AT_FDCWD, out, NULL, 0);
		return 0;
	}
	struct st_blob b;
	int rc = rec_blobs_open_node(data_dir, ix, node, &b, err, errlen);
	if (rc)
		return rc;
	if (es_mkdirs(out, false)) { /* a web node's empty folder has no cache yet */
		st_blob_close(&b);
		return es_errf(err, errlen, ES_EIO, "%s: %s", out, strerror(errno));
	}
	rc = b.ops->get_file(b.state, rel, out, sha256, err, errlen);
	st_blob_close(&b);
	if (rc) {
		ES_LOG_WARNING(TAG, "%s", err);
		return rc;
	}
	unsigned gone = 0;
	if (sha256 && rec_tier_cache_trim(data_dir, cache_cap(data_dir), out, &gone))
		ES_LOG_WARNING(TAG, "%s/cache: could not be trimmed to its size", data_dir);
	if (gone)
		ES_LOG_INF(TAG, "%s/cache: %u least recently used copies removed", data_dir, gone);
	return 0;
}

int rec_tier_remove(const char *data_dir, const char *rel, char *err, size_t errlen)
{
	char cached[4200];
	snprintf(cached, sizeof(cached), "%s/cache/%s", data_dir, rel);
	unlink(cached);
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc == ES_ENOTFOUND)
		return 0; /* no bucket: nothing there */
	if (rc)
		return rc;
	rc = b.ops->remove(b.state, rel, err, errlen);
	st_blob_close(&b);
	return rc == ES_ENOTFOUND ? 0 : rc;
}

int rec_tier_legal_hold(const char *data_dir, const char *rel, bool on, char *err, size_t errlen)
{
	char local[4200];
	struct stat st;
	snprintf(local, sizeof(local), "%s/%s", data_dir, rel);
	if (!stat(local, &st))
		return 0; /* still local: the hold is the index's and the ledger's */
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc)
		return rc == ES_ENOTFOUND ? 0 : rc;
	rc = b.ops->legal_hold(b.state, rel, on, err, errlen);
	st_blob_close(&b);
	return rc;
}

/* ---- moving recordings to the bucket -------------------------------------------------- */

struct cand {
	int64_t row;
	char *path;
	int64_t start_us;
};
struct cands {
	struct cand *v;
	size_t n, cap;
	const char *data_dir;
	int64_t cutoff;
	bool oom;
};

static int take_cand(void *ud, const struct idx_ret_rec *r)
{
	struct cands *s = ud;
	char local[4200];
	struct stat st;
	if (r->start_us > s->cutoff)
		return 0;
	snprintf(local, sizeof(local), "%s/%s", s->data_dir, r->path);
	if (stat(local, &st))
		return 0; /* already in the bucket (or missing: verify's business) */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, cap * sizeof(*s->v));
		if (!p)
			return s->oom = true, ES_ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	if (!(s->v[s->n].path = strdup(r->path)))
		return s->oom = true, ES_ENOMEM;
	s->v[s->n].row = r->call_row;
	s->v[s->n].start_us = r->start_us;
	s->n++;
	return 0;
}

static void cands_free(struct cands *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
}

static int take_sha(void *ud, const struct idx_call *c)
{
	if (c->recording && c->recording->sha256)
		snprintf(ud, 65, "%s", c->recording->sha256);
	return 0;
}

/* The recording's words files (DATA/transcripts/<path>.<party>.json), sealed
 * as they are, to the bucket beside it under the same relative names: a web
 * node with an empty data folder reads them there (issue #16,
 * rec_transcript_load_node).  The local copies stay: this node's searches
 * and transcripts read them. */
static int put_words(const char *data_dir, struct st_blob *b, const char *rec_path, char *err,
		     size_t errlen)
{
	for (int ch = 0; ch < 2; ch++) {
		char local[4400], key[4400], sha[65];
		struct st_blob_put_info info;
		if (rec_transcript_path(data_dir, rec_path, ch, local, sizeof(local)) ||
		    access(local, F_OK))
			continue; /* not transcribed (yet) */
		snprintf(key, sizeof(key), "%s", local + strlen(data_dir) + 1);
		int rc = st_sha256_file(local, NULL, sha);
		if (rc)
			return es_errf(err, errlen, rc, "%s: cannot be read", local);
		if ((rc = b->ops->put_file(b->state, key, local, sha, &info, err, errlen)))
			return rc;
	}
	return 0;
}

int rec_tier_put_words(const char *data_dir, const char *rec_path, char *err, size_t errlen)
{
	char local[4200];
	struct stat st;
	snprintf(local, sizeof(local), "%s/%s", data_dir, rec_path);
	if (!stat(local, &st))
		return 0; /* still local: its words go with it when it moves */
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc)
		return rc == ES_ENOTFOUND ? 0 : rc;
	rc = put_words(data_dir, &b, rec_path, err, errlen);
	st_blob_close(&b);
	return rc;
}

/* One recording: upload, read back and hash, then remove the local file. */
static int move_one(const char *data_dir, struct idx *ix, struct st_blob *b, const struct cand *c,
		    struct rec_tier_counts *n, char *err, size_t errlen)
{
	char sha[65] = "", local[4200], check[4300];
	int rc = idx_call_get(ix, c->row, take_sha, sha);
	if (rc || strlen(sha) != 64)
		return es_errf(err, errlen, rc ? rc : ES_ENOTFOUND, "%s: no SHA-256 in the index",
			       c->path);
	snprintf(local, sizeof(local), "%s/%s", data_dir, c->path);
	struct st_blob_put_info info;
	if ((rc = b->ops->put_file(b->state, c->path, local, sha, &info, err, errlen)))
		return rc;
	/* read back what the bucket now holds and hash it: only then is the
	 * local copy expendable */
	snprintf(check, sizeof(check), "%s/cache/.verify-%d", data_dir, (int)getpid());
	rc = b->ops->get_file(b->state, c->path, check, sha, err, errlen);
	unlink(check);
	if (rc)
		return rc;
	/* a hold placed while the recording was local (hold.c set no object
	 * hold then) goes on the object before the local copy does; where the
	 * bucket has no Object Lock the hold is the index's and the ledger's */
	char held[IDX_HOLD_NAME_MAX + 1] = "";
	if (idx_call_held(ix, c->row, held, sizeof(held)) > 0) {
		rc = b->ops->legal_hold(b->state, c->path, true, err, errlen);
		if (rc == ES_EUNSUP)
			rc = 0;
		else if (rc)
			return rc; /* stays local and queued: retried next pass */
		else
			ES_LOG_INF(TAG, "%s: object legal hold set (hold %s)", c->path, held);
	}
	/* its words before the local copy goes: once it is gone, web nodes
	 * look for both in the bucket */
	if ((rc = put_words(data_dir, b, c->path, err, errlen)))
		return rc;
	if (unlink(local) && errno != ENOENT)
		return es_errf(err, errlen, ES_EIO, "%s: %s", local, strerror(errno));
	n->moved++;
	n->bytes += info.size;
	n->multipart += info.multipart;
	return 0;
}

int rec_tier_move(const char *data_dir, struct idx *ix, int64_t now_us, int64_t after_us,
		  size_t max, struct rec_tier_counts *n, char *err, size_t errlen)
{
	memset(n, 0, sizeof(*n));
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc)
		return rc;
	struct cands s = {.data_dir = data_dir, .cutoff = now_us - after_us};
	rc = idx_retention_list(ix, IDX_RET_ALL, 0, take_cand, &s);
	if (rc) {
		es_errf(err, errlen, rc, "%s", s.oom ? "out of memory" : idx_errmsg(ix));
		goto out;
	}
	n->due = s.n;
	for (size_t i = 0; i < s.n && (!max || n->moved < max); i++) {
		char why[1024];
		int r = move_one(data_dir, ix, &b, &s.v[i], n, why, sizeof(why));
		if (!r)
			continue;
		n->failed++;
		ES_LOG_WARNING(TAG, "%s stays in the data folder for now: %s", s.v[i].path, why);
		if (!rc) {
			rc = r;
			snprintf(err, errlen, "%s", why);
		}
		/* a refused secret, an unreachable server or a missing Object
		 * Lock fails every other recording too: stop, they stay queued */
		if (r == ES_EINVAL || r == ES_EIO || r == ES_EUNSUP)
			break;
	}
out:
	cands_free(&s);
	st_blob_close(&b);
	return rc;
}

int rec_tier_backlog(const char *data_dir, struct idx *ix, int64_t now_us, int64_t after_us,
		     uint64_t *count)
{
	struct cands s = {.data_dir = data_dir, .cutoff = now_us - after_us};
	int rc = idx_retention_list(ix, IDX_RET_ALL, 0, take_cand, &s);
	*count = s.n;
	cands_free(&s);
	return rc;
}
