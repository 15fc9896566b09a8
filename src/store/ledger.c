/* ledger.c - the integrity ledger's folder: entries.log, heads.log and the
 * signing key; open, read back, append, commit a signed head (the formats
 * are described in ledger.h, parsed in ledger_format.c; checks are in
 * ledger_verify.c). */
#include "store/ledger_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "ledger"
#define ENTRIES ST_LD_ENTRIES
#define HEADS ST_LD_HEADS
#define KEYFILE "ledger.key"
#define PUBFILE "ledger.pub"
#define KEY_MAGIC ST_LD_KEY_MAGIC
#define PUB_MAGIC ST_LD_PUB_MAGIC

static int ld_path(const struct st_ledger *l, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", l->dir, name);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* The whole file into b. */
int st_ld_slurp(int fd, struct es_buf *b)
{
	uint64_t off = 0;
	for (;;) {
		if (es_buf_reserve(b, 65536))
			return ES_ENOMEM;
		ssize_t n = pread(fd, b->p + b->len, b->cap - b->len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ES_EIO;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		off += (uint64_t)n;
	}
}

static bool ld_id_eq(const struct es_hnode *n, const void *key)
{
	return strcmp(ES_CONTAINER_OF(n, struct ld_id, node)->id, key) == 0;
}

static int index_id(struct st_ledger *l, const char *id, uint64_t seq, bool tomb)
{
	size_t len = strlen(id);
	uint64_t h = es_hash(id, len, 0);
	struct es_hnode *n = es_htab_find(&l->ids, h, ld_id_eq, id);
	if (n) {
		struct ld_id *d = ES_CONTAINER_OF(n, struct ld_id, node);
		d->seq = seq;
		d->tomb = tomb;
		return 0;
	}
	struct ld_id *d = malloc(sizeof(*d) + len + 1);
	if (!d)
		return ES_ENOMEM;
	memcpy(d->id, id, len + 1);
	d->seq = seq;
	d->tomb = tomb;
	if (es_htab_insert(&l->ids, &d->node, h)) {
		free(d);
		return ES_ENOMEM;
	}
	return 0;
}

/* Record a leaf whose line lies at off in entries.log. */
static int add_leaf(struct st_ledger *l, const struct st_ledger_entry *e, uint64_t off, size_t len)
{
	uint64_t n = l->tree.size;
	if (n == l->cap_offs) {
		size_t cap = l->cap_offs ? l->cap_offs * 2 : 1024;
		void *p = realloc(l->offs, cap * sizeof(*l->offs));
		if (!p)
			return ES_ENOMEM;
		l->offs = p;
		l->cap_offs = cap;
	}
	int rc = st_merkle_tree_append(&l->tree, e->leaf_hash);
	if (rc)
		return rc;
	l->offs[n].off = off;
	l->offs[n].len = (uint32_t)len;
	/* hold and release leaves say nothing about whether id exists */
	if ((e->type == ST_ENTRY_RECORDING || e->type == ST_ENTRY_TOMBSTONE) &&
	    (rc = index_id(l, e->id, e->seq, e->type == ST_ENTRY_TOMBSTONE))) {
		st_merkle_tree_truncate(&l->tree, n);
		return rc;
	}
	/* transcripts under "<id>\t<party>": a tab is never in an id */
	if (e->type == ST_ENTRY_TRANSCRIPT || e->type == ST_ENTRY_TR_TOMB) {
		char key[ST_LEDGER_ID_MAX + ST_REDACT_CHANNEL_MAX + 2];
		snprintf(key, sizeof(key), "%s\t%s", e->id, e->channel);
		if ((rc = index_id(l, key, e->seq, e->type == ST_ENTRY_TR_TOMB))) {
			st_merkle_tree_truncate(&l->tree, n);
			return rc;
		}
	}
	return 0;
}

typedef st_ld_line_fn line_fn;
static int each_line_from(const struct es_buf *b, line_fn fn, void *ctx, uint64_t off0,
			  uint64_t lineno, uint64_t *end, uint64_t *torn);
int st_ld_each_line(const struct es_buf *b, line_fn fn, void *ctx, uint64_t *end, uint64_t *torn)
{
	return each_line_from(b, fn, ctx, 0, 0, end, torn);
}

/* each_line over b, the bytes of a file from offset off0 on, which starts
 * at line lineno + 1: offsets and line numbers given to fn (and *end) are
 * the file's. */
static int each_line_from(const struct es_buf *b, line_fn fn, void *ctx, uint64_t off0,
			  uint64_t lineno, uint64_t *end, uint64_t *torn)
{
	size_t pos = 0;
	const char *p = (const char *)b->p;
	while (pos < b->len) {
		const char *nl = memchr(p + pos, '\n', b->len - pos);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (p + pos));
		int rc = fn(ctx, p + pos, len, ++lineno, off0 + pos);
		if (rc)
			return rc;
		pos += len + 1;
	}
	*end = off0 + pos;
	*torn = b->len - pos;
	return 0;
}

struct load_ctx {
	struct st_ledger *l;
	char *err;
	size_t errlen;
};

static int load_entry(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct load_ctx *c = ctx;
	struct st_ledger_entry e;
	char why[128];
	if (st_ledger_entry_parse(p, len, &e, why, sizeof(why))) {
		es_errf(c->err, c->errlen, 0, "%s/" ENTRIES ":%" PRIu64 ": %s", c->l->dir, lineno, why);
		return ES_EPARSE;
	}
	if (e.seq != lineno - 1) {
		es_errf(c->err, c->errlen, 0,
		       "%s/" ENTRIES ":%" PRIu64 ": sequence %" PRIu64 ", expected %" PRIu64
		       " (a line is missing or out of order)",
		       c->l->dir, lineno, e.seq, lineno - 1);
		return ES_EPARSE;
	}
	int rc = add_leaf(c->l, &e, off, len);
	if (rc)
		es_errf(c->err, c->errlen, 0, "%s", es_strerror(rc));
	return rc;
}

static int load_head(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct load_ctx *c = ctx;
	struct st_ledger *l = c->l;
	char why[128];
	(void)off;
	if (l->nheads == l->cap_heads) {
		size_t cap = l->cap_heads ? l->cap_heads * 2 : 64;
		void *np = realloc(l->heads, cap * sizeof(*l->heads));
		if (!np) {
			es_errf(c->err, c->errlen, 0, "%s", es_strerror(ES_ENOMEM));
			return ES_ENOMEM;
		}
		l->heads = np;
		l->cap_heads = cap;
	}
	if (st_head_parse(p, len, &l->heads[l->nheads], why, sizeof(why))) {
		es_errf(c->err, c->errlen, 0, "%s/" HEADS ":%" PRIu64 ": %s", l->dir, lineno, why);
		return ES_EPARSE;
	}
	l->nheads++;
	return 0;
}

/* Open name, read it and feed its lines to fn; a torn tail is reported
 * and, when writable, truncated away. */
static int load_file(struct st_ledger *l, const char *name, int *fd, line_fn fn, uint64_t *end,
		     uint64_t *torn, char *err, size_t errlen)
{
	char path[4096];
	if (ld_path(l, name, path, sizeof(path))) {
		es_errf(err, errlen, 0, "%s: path too long", l->dir);
		return ES_ELIMIT;
	}
	bool ro = l->flags & ST_LEDGER_RDONLY;
	int oflags = ro ? O_RDONLY : O_RDWR | O_APPEND | ((l->flags & ST_LEDGER_CREATE) ? O_CREAT : 0);
	*fd = open(path, oflags | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (*fd < 0) {
		if (errno == ENOENT && ro)
			return 0; /* an empty ledger: nothing to read */
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	}
	if (!ro && fn == load_entry && flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		es_errf(err, errlen, 0, "%s: in use by another writer", path);
		return ES_EAGAIN;
	}
	struct es_buf b;
	es_buf_init(&b);
	struct load_ctx c = {l, err, errlen};
	int rc = st_ld_slurp(*fd, &b);
	if (rc)
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
	if (!rc)
		rc = st_ld_each_line(&b, fn, &c, end, torn);
	es_buf_free(&b);
	if (rc || !*torn)
		return rc;
	ES_LOG_WARNING(TAG, "%s: ignoring a torn last line (%" PRIu64 " bytes, no newline)%s", path,
		       *torn, ro ? "" : "; truncating it");
	if (!ro && (ftruncate(*fd, (off_t)*end) != 0 || fdatasync(*fd) != 0)) {
		es_errf(err, errlen, 0, "%s: cannot truncate the torn line: %s", path, strerror(errno));
		return ES_EIO;
	}
	return 0;
}

/* Read a small text file: "<magic><64 hex>\n" into out32.  *missing when
 * it does not exist.  For the secret key, the mode is checked first. */
int st_ld_read_keyfile(const char *path, const char *magic, bool secret, uint8_t out[32],
		       bool *missing, char *err, size_t errlen)
{
	*missing = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return 0;
		}
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
		return ES_EIO;
	}
	struct stat st;
	char buf[160];
	int rc = 0;
	ssize_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		es_errf(err, errlen, 0, "%s: not a regular file", path);
		rc = ES_EINVAL;
	} else if (secret && (st.st_mode & 077)) {
		es_errf(err, errlen, 0,
		       "%s: refusing a signing key with mode %04o: group or other may access it "
		       "(chmod 600 it, and consider the key compromised if others could read it)",
		       path, (unsigned)(st.st_mode & 07777));
		rc = ES_EINVAL;
	} else if ((n = read(fd, buf, sizeof(buf))) < 0) {
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
		rc = ES_EIO;
	} else {
		size_t ml = strlen(magic);
		if ((size_t)n != ml + 65 || memcmp(buf, magic, ml) != 0 || buf[n - 1] != '\n' ||
		    !st_ld_hex_decode(sl_make(buf + ml, 64), out, 32)) {
			es_errf(err, errlen, 0, "%s: not an earshot ledger key file", path);
			rc = ES_EFORMAT;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int write_keyfile(const char *path, const char *magic, const uint8_t v[32], mode_t mode,
			 char *err, size_t errlen)
{
	char buf[160];
	size_t ml = strlen(magic);
	memcpy(buf, magic, ml);
	st_ld_hex_encode(v, 32, buf + ml);
	buf[ml + 64] = '\n';
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 || fchmod(fd, mode) != 0 || write(fd, buf, ml + 65) != (ssize_t)(ml + 65) ||
	    fsync(fd) != 0) {
		es_errf(err, errlen, 0, "%s: cannot write: %s", path, strerror(errno));
		rc = ES_EIO;
	}
	if (fd >= 0)
		close(fd);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) != 0)
			ES_LOG_WARNING(TAG, "%s: fsync: %s", dir, strerror(errno));
		close(fd);
	}
}

int st_ledger_key_path(const char *dir, const char *configured, char *buf, size_t cap,
		       bool *outside)
{
	const char *env = getenv(ST_LEDGER_KEY_ENV), *creds = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	int n;
	*outside = true;
	if (configured && *configured)
		n = snprintf(buf, cap, "%s", configured);
	else if (env && *env)
		n = snprintf(buf, cap, "%s", env);
	else if (creds && *creds &&
		 (n = snprintf(buf, cap, "%s/" ST_LEDGER_CREDENTIAL, creds)) > 0 &&
		 (size_t)n < cap && stat(buf, &st) == 0)
		; /* systemd's LoadCredential=earshot-ledger-key:PATH */
	else {
		*outside = false;
		n = snprintf(buf, cap, "%s/" KEYFILE, dir);
	}
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

static int load_keys(struct st_ledger *l, const char *key_path, char *err, size_t errlen)
{
	char kpath[4096], ppath[4096];
	bool outside;
	if (st_ledger_key_path(l->dir, key_path, kpath, sizeof(kpath), &outside) ||
	    ld_path(l, PUBFILE, ppath, sizeof(ppath)))
		return ES_ELIMIT;
	if (outside && (l->flags & ST_LEDGER_RDONLY) && !(l->flags & ST_LEDGER_SIGN)) {
		/* a reader needs only the public key, and may not read the key */
		bool pmiss;
		int rc = st_ld_read_keyfile(ppath, PUB_MAGIC, false, l->pk, &pmiss, err, errlen);
		if (!rc && pmiss)
			rc = es_errf(err, errlen, ES_ENOTFOUND, "%s: missing", ppath);
		return rc;
	}
	if (outside && !(l->flags & ST_LEDGER_RDONLY)) {
		char inside[4096];
		struct stat st;
		if (!ld_path(l, KEYFILE, inside, sizeof(inside)) && stat(inside, &st) == 0)
			ES_LOG_WARNING(TAG, "%s: the signing key is %s now, but a copy is still in "
				       "the data folder: shred it (docs/OPERATIONS.md)", inside, kpath);
	}
	uint8_t seed[32], pub[32];
	bool kmiss, pmiss;
	int rc = st_ld_read_keyfile(kpath, KEY_MAGIC, true, seed, &kmiss, err, errlen);
	if (!rc)
		rc = st_ld_read_keyfile(ppath, PUB_MAGIC, false, pub, &pmiss, err, errlen);
	if (rc)
		goto out;
	bool ro = l->flags & ST_LEDGER_RDONLY;
	if (kmiss && !ro) {
		if (!(l->flags & ST_LEDGER_CREATE) || l->nheads > 0 || !pmiss) {
			es_errf(err, errlen, 0, "%s: missing%s", kpath,
			       l->nheads || !pmiss ? " (the ledger already has a key: restore it)"
						   : "");
			rc = ES_ENOTFOUND;
			goto out;
		}
		crypto_sign_keypair(l->pk, l->sk);
		crypto_sign_ed25519_sk_to_seed(seed, l->sk);
		/* The public key is no secret, but nothing in the data folder is
		 * for other users (the operator publishes a copy): 0640. */
		if ((rc = write_keyfile(kpath, KEY_MAGIC, seed, 0600, err, errlen)) ||
		    (rc = write_keyfile(ppath, PUB_MAGIC, l->pk, 0640, err, errlen)))
			goto out;
		sync_dir(l->dir);
		if (outside) {
			char kdir[4096];
			snprintf(kdir, sizeof(kdir), "%s", kpath);
			char *slash = strrchr(kdir, '/');
			if (slash && slash != kdir) {
				*slash = '\0';
				sync_dir(kdir);
			}
		}
		l->has_sk = true;
		ES_LOG_INF(TAG, "%s: created a new Ed25519 signing key", l->dir);
		goto out;
	}
	if (kmiss) { /* read-only: the public key is enough */
		if (pmiss) {
			es_errf(err, errlen, 0, "%s: missing (and no %s)", ppath, KEYFILE);
			rc = ES_ENOTFOUND;
			goto out;
		}
		memcpy(l->pk, pub, 32);
		goto out;
	}
	crypto_sign_seed_keypair(l->pk, l->sk, seed);
	l->has_sk = true;
	if (pmiss) {
		es_errf(err, errlen, 0, "%s: missing", ppath);
		rc = ES_ENOTFOUND;
	} else if (memcmp(pub, l->pk, 32) != 0) {
		es_errf(err, errlen, 0, "%s does not match %s (a key file was replaced)", ppath, kpath);
		rc = ES_EFORMAT;
	}
out:
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

void st_ledger_close(struct st_ledger *l)
{
	if (!l)
		return;
	if (l->efd >= 0)
		close(l->efd);
	if (l->hfd >= 0)
		close(l->hfd);
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&l->ids, &pos, &cur)))
		free(ES_CONTAINER_OF(n, struct ld_id, node));
	es_htab_free(&l->ids);
	st_merkle_tree_free(&l->tree);
	free(l->offs);
	free(l->heads);
	free(l->dir);
	sodium_memzero(l->sk, sizeof(l->sk));
	free(l);
}

int st_ledger_open(struct st_ledger **out, const char *dir, int flags, char *err, size_t errlen)
{
	return st_ledger_open_key(out, dir, flags, NULL, err, errlen);
}

int st_ledger_open_key(struct st_ledger **out, const char *dir, int flags, const char *key_path,
		       char *err, size_t errlen)
{
	*out = NULL;
	if (!dir || !*dir || ((flags & ST_LEDGER_CREATE) && (flags & ST_LEDGER_RDONLY))) {
		es_errf(err, errlen, 0, "bad ledger folder or flags");
		return ES_EINVAL;
	}
	if (sodium_init() < 0) {
		es_errf(err, errlen, 0, "libsodium failed to initialise");
		return ES_EIO;
	}
	struct st_ledger *l = calloc(1, sizeof(*l));
	if (!l || !(l->dir = strdup(dir)) || es_htab_init(&l->ids, 1024)) {
		if (l)
			free(l->dir);
		free(l);
		es_errf(err, errlen, 0, "out of memory");
		return ES_ENOMEM;
	}
	l->flags = flags;
	l->efd = l->hfd = -1;
	st_merkle_tree_init(&l->tree);
	int rc = 0;
	if ((flags & ST_LEDGER_CREATE) && es_mkdirs(dir, true)) {
		es_errf(err, errlen, 0, "%s: cannot create: %s", dir, strerror(errno));
		rc = ES_EIO;
	}
	if (!rc)
		rc = load_file(l, ENTRIES, &l->efd, load_entry, &l->eend, &l->torn_e, err, errlen);
	if (!rc)
		rc = load_file(l, HEADS, &l->hfd, load_head, &l->hend, &l->torn_h, err, errlen);
	if (!rc)
		rc = load_keys(l, key_path, err, errlen);
	if (rc) {
		st_ledger_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- reading what another process appended -------------------------------------- */

/* Whether the file at path is still the one open as fd, and no shorter than
 * end (the end of what was read of it); *size gets its size. */
static bool same_file(const char *path, int fd, uint64_t end, uint64_t *size)
{
	struct stat a, b;
	if (stat(path, &a) != 0 || fstat(fd, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino || (uint64_t)a.st_size < end)
		return false;
	*size = (uint64_t)a.st_size;
	return true;
}

/* Whether the line of length len ending at end (its newline) still reads
 * back as it did: the cheap sign that what was read was not rewritten. */
static bool last_line_intact(int fd, uint64_t end, size_t len, const uint8_t *leaf_hash)
{
	char line[ST_LEDGER_LINE_MAX + 1];
	if (!end)
		return true;
	if (len + 1 > end || len > ST_LEDGER_LINE_MAX ||
	    pread(fd, line, len + 1, (off_t)(end - len - 1)) != (ssize_t)(len + 1) ||
	    line[len] != '\n')
		return false;
	if (!leaf_hash)
		return true;
	uint8_t h[ST_HASH_LEN];
	st_merkle_leaf_hash(line, len, h);
	return memcmp(h, leaf_hash, ST_HASH_LEN) == 0;
}

/* Read the bytes of name from *end on and feed its whole lines to fn. */
static int read_tail(struct st_ledger *l, const char *name, int fd, line_fn fn, uint64_t lines,
		     uint64_t *end, uint64_t *torn, char *err, size_t errlen)
{
	struct es_buf b;
	es_buf_init(&b);
	struct load_ctx c = {l, err, errlen};
	int rc = 0;
	for (;;) {
		if (es_buf_reserve(&b, 65536)) {
			rc = ES_ENOMEM;
			break;
		}
		ssize_t n = pread(fd, b.p + b.len, b.cap - b.len, (off_t)(*end + b.len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			es_errf(err, errlen, 0, "%s/%s: %s", l->dir, name, strerror(errno));
			rc = ES_EIO;
		}
		if (n <= 0)
			break;
		b.len += (size_t)n;
	}
	if (!rc)
		rc = each_line_from(&b, fn, &c, *end, lines, end, torn);
	es_buf_free(&b);
	return rc;
}

int st_ledger_refresh(struct st_ledger *l, bool *reopen, uint64_t *added, char *err,
		      size_t errlen)
{
	char ep[4096], hp[4096];
	uint64_t esize = 0, hsize = 0, n0 = l->tree.size;
	struct stat st;
	*reopen = false;
	if (added)
		*added = 0;
	if (!(l->flags & ST_LEDGER_RDONLY))
		return ES_EINVAL;
	if (ld_path(l, ENTRIES, ep, sizeof(ep)) || ld_path(l, HEADS, hp, sizeof(hp)))
		return ES_ELIMIT;
	/* a file that appeared, was replaced, shrank, or whose last line read
	 * changed: only a full read says what it holds now */
	bool eok = l->efd < 0 ? stat(ep, &st) != 0 : same_file(ep, l->efd, l->eend, &esize);
	bool hok = l->hfd < 0 ? stat(hp, &st) != 0 : same_file(hp, l->hfd, l->hend, &hsize);
	uint64_t n = l->tree.size;
	if (eok && l->efd >= 0 && n)
		eok = l->eend == l->offs[n - 1].off + l->offs[n - 1].len + 1 &&
		      last_line_intact(l->efd, l->eend, l->offs[n - 1].len,
				       st_merkle_tree_leaf(&l->tree, n - 1));
	if (hok && l->hfd >= 0)
		hok = last_line_intact(l->hfd, l->hend, 0, NULL); /* still a newline there */
	if (!eok || !hok) {
		*reopen = true;
		return 0;
	}
	int rc = 0;
	if (l->efd >= 0 && esize > l->eend)
		rc = read_tail(l, ENTRIES, l->efd, load_entry, l->tree.size, &l->eend, &l->torn_e,
			       err, errlen);
	if (!rc && l->hfd >= 0 && hsize > l->hend)
		rc = read_tail(l, HEADS, l->hfd, load_head, l->nheads, &l->hend, &l->torn_h, err,
			       errlen);
	if (added)
		*added = l->tree.size - n0;
	return rc;
}

uint64_t st_ledger_torn_entries(const struct st_ledger *l) { return l->torn_e; }
uint64_t st_ledger_torn_heads(const struct st_ledger *l) { return l->torn_h; }
uint64_t st_ledger_size(const struct st_ledger *l) { return l->tree.size; }

void st_ledger_public_key(const struct st_ledger *l, uint8_t out[ST_LEDGER_PK_LEN])
{
	memcpy(out, l->pk, ST_LEDGER_PK_LEN);
}

int st_ledger_sign(const struct st_ledger *l, const void *msg, size_t len,
		   uint8_t sig[ST_LEDGER_SIG_LEN])
{
	if (!l->has_sk)
		return ES_EINVAL;
	crypto_sign_detached(sig, NULL, msg, len, l->sk);
	return 0;
}

int st_sig_verify(const uint8_t pk[ST_LEDGER_PK_LEN], const void *msg, size_t len,
		  const uint8_t sig[ST_LEDGER_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : ES_EPARSE;
}


static int append_entry(struct st_ledger *l, struct st_ledger_entry *e, uint64_t *seq)
{
	if ((l->flags & ST_LEDGER_RDONLY) || l->efd < 0)
		return ES_EINVAL;
	char line[ST_LEDGER_LINE_MAX + 2];
	e->seq = l->tree.size;
	int n = st_ledger_entry_format(e, line, sizeof(line) - 1);
	if (n < 0)
		return n;
	if (n > ST_LEDGER_LINE_MAX)
		return ES_ELIMIT;
	st_merkle_leaf_hash(line, (size_t)n, e->leaf_hash);
	line[n] = '\n';
	int rc = es_write_all(l->efd, line, (size_t)n + 1);
	if (!rc)
		rc = add_leaf(l, e, l->eend, (size_t)n);
	if (rc) {
		/* take back whatever part of the line reached the file */
		if (ftruncate(l->efd, (off_t)l->eend) != 0)
			ES_LOG_ERR(TAG, "%s/" ENTRIES ": cannot take back a failed append: %s",
				   l->dir, strerror(errno));
		return rc;
	}
	l->eend += (uint64_t)n + 1;
	if (seq)
		*seq = e->seq;
	return 0;
}

int st_ledger_append_recording(struct st_ledger *l, const char *id, const uint8_t meta_sha256[32],
			       const uint8_t cipher_sha256[32], const uint8_t plain_sha256[32],
			       int64_t time_us, uint64_t *seq)
{
	struct st_ledger_entry e = {.type = ST_ENTRY_RECORDING, .time_us = time_us};
	if (!id || !st_ld_id_valid(id, strlen(id)))
		return ES_EINVAL;
	memcpy(e.id, id, strlen(id) + 1);
	if ((e.has_meta = meta_sha256 != NULL))
		memcpy(e.meta_sha256, meta_sha256, 32);
	if ((e.has_cipher = cipher_sha256 != NULL))
		memcpy(e.cipher_sha256, cipher_sha256, 32);
	if ((e.has_plain = plain_sha256 != NULL))
		memcpy(e.plain_sha256, plain_sha256, 32);
	return append_entry(l, &e, seq);
}

int st_ledger_append_tombstone(struct st_ledger *l, const char *id, const char *reason,
			       int64_t time_us, uint64_t *seq)
{
	struct st_ledger_entry e = {.type = ST_ENTRY_TOMBSTONE, .time_us = time_us};
	if (!id || !st_ld_id_valid(id, strlen(id)) || !reason || !st_ld_reason_valid(reason, strlen(reason)))
		return ES_EINVAL;
	memcpy(e.id, id, strlen(id) + 1);
	memcpy(e.reason, reason, strlen(reason) + 1);
	return append_entry(l, &e, seq);
}

int st_ledger_append_hold(struct st_ledger *l, const char *id, const char *name, bool release,
			  int64_t time_us, uint64_t *seq)
{
	struct st_ledger_entry e = {.type = release ? ST_ENTRY_RELEASE : ST_ENTRY_HOLD,
				    .time_us = time_us};
	if (!id || !st_ld_id_valid(id, strlen(id)) || !name ||
	    !st_ld_reason_valid(name, strlen(name)))
		return ES_EINVAL;
	memcpy(e.id, id, strlen(id) + 1);
	memcpy(e.reason, name, strlen(name) + 1);
	return append_entry(l, &e, seq);
}

int st_ledger_append_redact(struct st_ledger *l, const char *id, uint64_t of_seq,
			    uint64_t from_ms, uint64_t to_ms, const char *channel,
			    const uint8_t detail[32], int64_t time_us, uint64_t *seq)
{
	struct st_ledger_entry e = {.type = ST_ENTRY_REDACT, .time_us = time_us, .of_seq = of_seq,
				    .span_from_ms = from_ms, .span_to_ms = to_ms};
	if (!id || !st_ld_id_valid(id, strlen(id)) || !channel ||
	    strlen(channel) > ST_REDACT_CHANNEL_MAX || !detail)
		return ES_EINVAL;
	memcpy(e.id, id, strlen(id) + 1);
	memcpy(e.channel, channel, strlen(channel) + 1);
	memcpy(e.detail_sha256, detail, 32);
	return append_entry(l, &e, seq);
}

int st_ledger_append_transcript(struct st_ledger *l, struct st_ledger_entry *e, int64_t time_us,
				uint64_t *seq)
{
	if (e->type != ST_ENTRY_TRANSCRIPT && e->type != ST_ENTRY_TR_TOMB)
		return ES_EINVAL;
	e->time_us = time_us;
	return append_entry(l, e, seq); /* the format checks every field */
}

int st_ledger_commit(struct st_ledger *l)
{
	if ((l->flags & ST_LEDGER_RDONLY) || !l->has_sk || l->hfd < 0)
		return ES_EINVAL;
	if (fdatasync(l->efd) != 0) {
		ES_LOG_ERR(TAG, "%s/" ENTRIES ": fsync: %s", l->dir, strerror(errno));
		return ES_EIO;
	}
	if (l->nheads && l->heads[l->nheads - 1].size == l->tree.size)
		return 0;
	if (l->nheads == l->cap_heads) {
		size_t cap = l->cap_heads ? l->cap_heads * 2 : 64;
		void *p = realloc(l->heads, cap * sizeof(*l->heads));
		if (!p)
			return ES_ENOMEM;
		l->heads = p;
		l->cap_heads = cap;
	}
	struct st_head h = {.size = l->tree.size};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.time_us = (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
	if (l->nheads && h.time_us < l->heads[l->nheads - 1].time_us)
		h.time_us = l->heads[l->nheads - 1].time_us; /* never back in time */
	st_merkle_tree_root(&l->tree, h.size, h.root);
	memcpy(h.key_id, l->pk, ST_LEDGER_KEYID_LEN);
	char msg[256], line[ST_LEDGER_LINE_MAX + 2];
	int mn = st_head_message(&h, msg, sizeof(msg));
	if (mn < 0)
		return mn;
	crypto_sign_detached(h.sig, NULL, (const uint8_t *)msg, (size_t)mn, l->sk);
	int n = st_head_format(&h, line, sizeof(line) - 1);
	if (n < 0)
		return n;
	line[n] = '\n';
	if (es_write_all(l->hfd, line, (size_t)n + 1) || fdatasync(l->hfd) != 0) {
		ES_LOG_ERR(TAG, "%s/" HEADS ": write: %s", l->dir, strerror(errno));
		return ES_EIO;
	}
	l->heads[l->nheads++] = h;
	return 0;
}

int st_ledger_root(const struct st_ledger *l, uint64_t size, uint8_t out[ST_HASH_LEN])
{
	return st_merkle_tree_root(&l->tree, size, out);
}

int st_ledger_entry_line(const struct st_ledger *l, uint64_t seq, char *buf, size_t cap,
			 size_t *len)
{
	if (seq >= l->tree.size || l->efd < 0)
		return ES_ENOTFOUND;
	const struct ld_off *o = &l->offs[seq];
	if (cap <= o->len)
		return ES_ELIMIT;
	ssize_t n = pread(l->efd, buf, o->len, (off_t)o->off);
	if (n != (ssize_t)o->len)
		return ES_EIO;
	buf[n] = '\0';
	if (len)
		*len = o->len;
	return 0;
}

int st_ledger_entry(const struct st_ledger *l, uint64_t seq, struct st_ledger_entry *e)
{
	char line[ST_LEDGER_LINE_MAX + 1];
	size_t len;
	int rc = st_ledger_entry_line(l, seq, line, sizeof(line), &len);
	if (rc)
		return rc;
	if (st_ledger_entry_parse(line, len, e, NULL, 0) || e->seq != seq ||
	    memcmp(e->leaf_hash, st_merkle_tree_leaf(&l->tree, seq), ST_HASH_LEN) != 0)
		return ES_EFORMAT; /* the file changed under us */
	return 0;
}

int st_ledger_find(const struct st_ledger *l, const char *id, uint64_t *seq, bool *tombstoned)
{
	if (!id)
		return ES_EINVAL;
	struct es_hnode *n = es_htab_find(&l->ids, es_hash(id, strlen(id), 0), ld_id_eq, id);
	if (!n)
		return ES_ENOTFOUND;
	const struct ld_id *d = ES_CONTAINER_OF(n, struct ld_id, node);
	if (seq)
		*seq = d->seq;
	if (tombstoned)
		*tombstoned = d->tomb;
	return 0;
}

int st_ledger_find_transcript(const struct st_ledger *l, const char *id, const char *channel,
			      uint64_t *seq, bool *tombstoned)
{
	char key[ST_LEDGER_ID_MAX + ST_REDACT_CHANNEL_MAX + 2];
	if (!id || !channel || strlen(id) > ST_LEDGER_ID_MAX ||
	    strlen(channel) > ST_REDACT_CHANNEL_MAX)
		return ES_EINVAL;
	snprintf(key, sizeof(key), "%s\t%s", id, channel);
	return st_ledger_find(l, key, seq, tombstoned);
}

size_t st_ledger_head_count(const struct st_ledger *l) { return l->nheads; }

int st_ledger_head(const struct st_ledger *l, size_t i, struct st_head *h)
{
	if (i >= l->nheads)
		return ES_ENOTFOUND;
	*h = l->heads[i];
	return 0;
}

int st_ledger_inclusion_proof(const struct st_ledger *l, uint64_t seq, uint64_t tree_size,
			      uint8_t (*path)[ST_HASH_LEN], size_t *len)
{
	return st_merkle_tree_inclusion_proof(&l->tree, tree_size, seq, path, len);
}

int st_ledger_consistency_proof(const struct st_ledger *l, uint64_t m, uint64_t n,
				uint8_t (*proof)[ST_HASH_LEN], size_t *len)
{
	return st_merkle_tree_consistency_proof(&l->tree, n, m, proof, len);
}
