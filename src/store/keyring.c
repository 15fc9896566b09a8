/* keyring.c - key-encryption keys (a keyring file or EARSHOT_KEK) and the
 * wrapping of per-recording data keys.  Formats: see crypt.h. */
#include "store/crypt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "crypt"
#define KR_FILE_MAX (1024 * 1024)
#define KR_LINE_MAX 192 /* generous bound of one formatted line */
#define WRAP_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAP_ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAP_RAW (WRAP_NONCE + ST_KEY_BYTES + WRAP_ABYTES)

struct kek {
	char id[ST_KEK_ID_MAX + 1];
	int64_t created_us;
	bool active;
	uint8_t *key; /* sodium_malloc'd, ST_KEY_BYTES */
};

/* Which file the keys were read from: a rotation (kr_save's rename) or a
 * copy of a rotated keyring gives the path another inode or mtime. */
struct kr_seen {
	dev_t dev;
	ino_t ino;
	int64_t mtime_ns;
	off_t size;
};

struct st_keyring {
	char *path; /* NULL for the environment keyring */
	struct kek *k;
	size_t n, cap;
	struct kr_seen seen; /* of the file the keys came from */
};

static struct kr_seen kr_seen_of(const struct stat *st)
{
	return (struct kr_seen){st->st_dev, st->st_ino,
				(int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
				st->st_size};
}

static bool kr_seen_eq(const struct kr_seen *a, const struct kr_seen *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns &&
	       a->size == b->size;
}

void st_crypt_errf(char *err, size_t errcap, const char *fmt, ...)
{
	if (!err || !errcap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

int st_crypt_init(void)
{
	return sodium_init() < 0 ? ES_EUNSUP : 0;
}

int st_crypt_fsync_dir(const char *path)
{
	char dir[4096];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return ES_ELIMIT;
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ES_EIO;
	int rc = fsync(fd) ? ES_EIO : 0;
	close(fd);
	return rc;
}

/* ---- keyring in memory ------------------------------------------------- */

static bool kek_id_ok(struct slice s)
{
	if (s.len == 0 || s.len > ST_KEK_ID_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static const struct kek *kr_find(const struct st_keyring *kr, struct slice id)
{
	for (size_t i = 0; i < kr->n; i++)
		if (sl_eq(sl_cstr(kr->k[i].id), id))
			return &kr->k[i];
	return NULL;
}

static const struct kek *kr_current(const struct st_keyring *kr)
{
	for (size_t i = kr->n; i-- > 0;)
		if (kr->k[i].active)
			return &kr->k[i];
	return NULL;
}

/* Append a KEK with a zeroed key; returns it or NULL on allocation failure. */
static struct kek *kr_add(struct st_keyring *kr)
{
	if (kr->n == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 4;
		struct kek *k = realloc(kr->k, cap * sizeof(*k));
		if (!k)
			return NULL;
		kr->k = k;
		kr->cap = cap;
	}
	struct kek *k = &kr->k[kr->n];
	memset(k, 0, sizeof(*k));
	k->key = sodium_malloc(ST_KEY_BYTES);
	if (!k->key)
		return NULL;
	kr->n++;
	return k;
}

void st_kr_free(struct st_keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		sodium_free(kr->k[i].key); /* wipes before freeing */
	free(kr->k);
	free(kr->path);
	free(kr);
}

const char *st_kr_current_id(const struct st_keyring *kr)
{
	const struct kek *k = kr_current(kr);
	return k ? k->id : "";
}

size_t st_kr_count(const struct st_keyring *kr)
{
	return kr->n;
}

/* A fresh KEK at the end of kr: random key, 16 hex digit id, now. */
static int kr_new_kek(struct st_keyring *kr)
{
	struct kek *k = kr_add(kr);
	if (!k)
		return ES_ENOMEM;
	do {
		uint8_t raw[8];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(k->id, sizeof(k->id), raw, sizeof(raw));
	} while (kr_find(kr, sl_cstr(k->id)) != k); /* ids stay unique */
	randombytes_buf(k->key, ST_KEY_BYTES);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	k->created_us = (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
	k->active = true;
	return 0;
}

/* Swap a's keys and file identity with b's. */
static void kr_swap_keys(struct st_keyring *a, struct st_keyring *b)
{
	struct kek *k = a->k;
	size_t n = a->n, cap = a->cap;
	struct kr_seen seen = a->seen;
	a->k = b->k;
	a->n = b->n;
	a->cap = b->cap;
	a->seen = b->seen;
	b->k = k;
	b->n = n;
	b->cap = cap;
	b->seen = seen;
}

/* ---- keyring file ------------------------------------------------------ */

/* Parse one non-comment line "id created key state" into a new KEK. */
static int kr_parse_line(struct st_keyring *kr, struct slice line)
{
	struct slice f[4], rest = line;
	size_t nf = 0;
	while (nf < 4) {
		rest = sl_trim(rest);
		if (sl_empty(rest))
			break;
		struct slice head;
		long sp = sl_index(rest, ' ');
		long tab = sl_index(rest, '\t');
		if (tab >= 0 && (sp < 0 || tab < sp))
			sp = tab;
		if (sp < 0) {
			head = rest;
			rest = SL_NULL;
		} else {
			head = sl_sub(rest, 0, (size_t)sp);
			rest = sl_sub(rest, (size_t)sp + 1, rest.len);
		}
		f[nf++] = head;
	}
	if (nf != 4 || !sl_empty(sl_trim(rest)))
		return ES_EPARSE;
	if (!kek_id_ok(f[0]) || kr_find(kr, f[0]) || sl_eq(f[0], SL_LIT(ST_KEK_ENV_ID)))
		return ES_EPARSE;
	char when[ES_TIME_STRLEN];
	if (f[1].len >= sizeof(when))
		return ES_EPARSE;
	sl_copy(when, sizeof(when), f[1]);
	int64_t created;
	if (es_time_parse(when, &created))
		return ES_EPARSE;
	bool active;
	if (sl_eq(f[3], SL_LIT("active")))
		active = true;
	else if (sl_eq(f[3], SL_LIT("retired")))
		active = false;
	else
		return ES_EPARSE;
	struct kek *k = kr_add(kr);
	if (!k)
		return ES_ENOMEM;
	size_t bin_len = 0;
	const char *end = NULL;
	if (sodium_base642bin(k->key, ST_KEY_BYTES, f[2].p, f[2].len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != ST_KEY_BYTES || end != f[2].p + f[2].len) {
		sodium_free(k->key);
		kr->n--;
		return ES_EPARSE;
	}
	sl_copy(k->id, sizeof(k->id), f[0]);
	k->created_us = created;
	k->active = active;
	return 0;
}

/* Read the keyring file at kr->path.  ES_ENOTFOUND when it does not exist. */
static int kr_load(struct st_keyring *kr, char *err, size_t errcap)
{
	int fd = open(kr->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return ES_ENOTFOUND;
		st_crypt_errf(err, errcap, "%s: cannot open keyring: %s", kr->path, strerror(errno));
		return ES_EIO;
	}
	int rc = 0;
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	if (fstat(fd, &st)) {
		st_crypt_errf(err, errcap, "%s: %s", kr->path, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		st_crypt_errf(err, errcap, "%s: keyring is not a regular file", kr->path);
		rc = ES_EINVAL;
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		st_crypt_errf(err, errcap,
			      "%s: keyring has mode %04o, readable or writable by group or other; "
			      "refusing it (chmod 600 %s)",
			      kr->path, (unsigned)(st.st_mode & 07777), kr->path);
		rc = ES_EINVAL;
		goto out;
	}
	kr->seen = kr_seen_of(&st);
	if (st.st_size > KR_FILE_MAX) {
		st_crypt_errf(err, errcap, "%s: keyring larger than %d bytes", kr->path, KR_FILE_MAX);
		rc = ES_ELIMIT;
		goto out;
	}
	/* The text holds keys in base64: keep it in wiped, locked memory. */
	text = sodium_malloc((size_t)st.st_size + 1);
	if (!text) {
		rc = ES_ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, text + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			st_crypt_errf(err, errcap, "%s: read failed", kr->path);
			rc = ES_EIO;
			goto out;
		}
		len += (size_t)r;
	}
	struct slice all = sl_make(text, len), line;
	unsigned lineno = 0;
	while (!sl_empty(all)) {
		if (!sl_split(all, '\n', &line, &all))
			all = SL_NULL;
		lineno++;
		line = sl_trim(line);
		if (sl_empty(line) || line.p[0] == '#')
			continue;
		rc = kr_parse_line(kr, line);
		if (rc) {
			/* Never quote the line: it holds a key. */
			st_crypt_errf(err, errcap,
				      "%s:%u: malformed keyring line (want: id created base64-key "
				      "active|retired, unique id)",
				      kr->path, lineno);
			goto out;
		}
	}
	if (!kr_current(kr)) {
		st_crypt_errf(err, errcap, "%s: keyring has no active key", kr->path);
		rc = ES_EPARSE;
	}
out:
	if (text) {
		sodium_memzero(text, (size_t)st.st_size + 1);
		sodium_free(text);
	}
	close(fd);
	return rc;
}


/* Write kr to kr->path: temporary 0600 file, fsync, rename, fsync folder. */
static int kr_save(const struct st_keyring *kr, char *err, size_t errcap)
{
	size_t cap = 64 + kr->n * KR_LINE_MAX;
	char *text = sodium_malloc(cap);
	char tmp[4200];
	int rc = 0, fd = -1;
	if (!text)
		return ES_ENOMEM;
	size_t len = (size_t)snprintf(text, cap, "# earshot keyring v1: id created key state\n");
	for (size_t i = 0; i < kr->n; i++) {
		const struct kek *k = &kr->k[i];
		char when[ES_TIME_STRLEN], b64[sodium_base64_ENCODED_LEN(
						   ST_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
		es_time_fmt(k->created_us, when, sizeof(when));
		sodium_bin2base64(b64, sizeof(b64), k->key, ST_KEY_BYTES,
				  sodium_base64_VARIANT_ORIGINAL);
		len += (size_t)snprintf(text + len, cap - len, "%s %s %s %s\n", k->id, when, b64,
					k->active ? "active" : "retired");
		sodium_memzero(b64, sizeof(b64));
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", kr->path, (long)getpid()) >= (int)sizeof(tmp)) {
		rc = ES_ELIMIT;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) || es_write_all(fd, text, len) || fsync(fd)) {
		st_crypt_errf(err, errcap, "%s: cannot write keyring: %s", tmp, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		st_crypt_errf(err, errcap, "%s: close: %s", tmp, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, kr->path)) {
		st_crypt_errf(err, errcap, "%s: rename: %s", kr->path, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	if (st_crypt_fsync_dir(kr->path)) {
		st_crypt_errf(err, errcap, "%s: fsync of its folder failed", kr->path);
		rc = ES_EIO;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	sodium_memzero(text, cap);
	sodium_free(text);
	return rc;
}

/* The keyring's folder: created 0700 if absent (parents 0750 like
 * es_mkdirs); an existing folder open to others is only warned about. */
static int kr_mkdir(const char *path, char *err, size_t errcap)
{
	char dir[4096];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return ES_ELIMIT;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (es_mkdirs(dir, false)) {
		st_crypt_errf(err, errcap, "%s: cannot create folder: %s", dir, strerror(errno));
		return ES_EIO;
	}
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		st_crypt_errf(err, errcap, "%s: cannot create folder: %s", dir, strerror(errno));
		return ES_EIO;
	}
	struct stat st;
	if (stat(dir, &st) == 0 && (st.st_mode & 077))
		ES_LOG_WARNING(TAG, "keyring folder %s has mode %04o; 0700 is advised", dir,
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Take the keyring's lock file (path.lock, 0600): rotation and creation are
 * read-modify-write and must not interleave between processes.  Returns the
 * fd to close, or -1. */
static int kr_lock(const char *path, char *err, size_t errcap)
{
	char lp[4200];
	if (snprintf(lp, sizeof(lp), "%s.lock", path) >= (int)sizeof(lp))
		return -1;
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		st_crypt_errf(err, errcap, "%s: %s", lp, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			st_crypt_errf(err, errcap, "%s: lock: %s", lp, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int kr_from_env(struct st_keyring *kr, const char *b64, char *err, size_t errcap)
{
	struct kek *k = kr_add(kr);
	if (!k)
		return ES_ENOMEM;
	size_t bin_len = 0;
	const char *end = NULL;
	size_t n = strlen(b64);
	while (n && (b64[n - 1] == '\n' || b64[n - 1] == '\r' || b64[n - 1] == ' '))
		n--;
	if (sodium_base642bin(k->key, ST_KEY_BYTES, b64, n, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != ST_KEY_BYTES || end != b64 + n) {
		st_crypt_errf(err, errcap, "%s is set but is not the base64 of %d bytes", ST_KEK_ENV,
			      ST_KEY_BYTES);
		return ES_EINVAL;
	}
	snprintf(k->id, sizeof(k->id), "%s", ST_KEK_ENV_ID);
	k->active = true;
	return 0;
}

int st_kr_open(struct st_keyring **out, const char *path, char *err, size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (st_crypt_init())
		return ES_EUNSUP;
	struct st_keyring *kr = calloc(1, sizeof(*kr));
	if (!kr)
		return ES_ENOMEM;
	int rc;
	const char *env = getenv(ST_KEK_ENV);
	if (env && *env) {
		rc = kr_from_env(kr, env, err, errcap);
		goto out;
	}
	if (!path || !*path) {
		st_crypt_errf(err, errcap, "no keyring path and %s is not set", ST_KEK_ENV);
		rc = ES_EINVAL;
		goto out;
	}
	kr->path = strdup(path);
	if (!kr->path) {
		rc = ES_ENOMEM;
		goto out;
	}
	rc = kr_load(kr, err, errcap);
	if (rc != ES_ENOTFOUND)
		goto out;
	/* Create it, under the lock and only if nobody did meanwhile: two
	 * processes starting together must end up with the same key. */
	rc = kr_mkdir(path, err, errcap);
	if (rc)
		goto out;
	int lock = kr_lock(path, err, errcap);
	if (lock < 0) {
		rc = ES_EIO;
		goto out;
	}
	rc = kr_load(kr, err, errcap);
	if (rc == ES_ENOTFOUND) {
		rc = kr_new_kek(kr);
		if (!rc)
			rc = kr_save(kr, err, errcap);
		if (!rc)
			ES_LOG_INF(TAG, "created keyring %s with key %s", path, kr->k[0].id);
	}
	close(lock);
out:
	if (rc) {
		if (err && errcap && !*err)
			st_crypt_errf(err, errcap, "%s: %s", path ? path : ST_KEK_ENV, es_strerror(rc));
		st_kr_free(kr);
		return rc;
	}
	*out = kr;
	return 0;
}

/* kr's file read into a new keyring (*out, freed by the caller even on
 * failure): what rotate starts from and refresh swaps in.  A file gone
 * meanwhile is ES_EIO, "keyring vanished". */
static int kr_read_again(const struct st_keyring *kr, struct st_keyring **out, char *err,
			 size_t errcap)
{
	struct st_keyring *fresh = *out = calloc(1, sizeof(*fresh));
	int rc = fresh ? 0 : ES_ENOMEM;
	if (!rc && !(fresh->path = strdup(kr->path)))
		rc = ES_ENOMEM;
	if (!rc)
		rc = kr_load(fresh, err, errcap);
	if (rc == ES_ENOTFOUND) {
		st_crypt_errf(err, errcap, "%s: keyring vanished", kr->path);
		rc = ES_EIO;
	}
	return rc;
}

int st_kr_rotate(struct st_keyring *kr, char *err, size_t errcap)
{
	st_crypt_errf(err, errcap, "%s", "");
	if (!kr->path) {
		st_crypt_errf(err, errcap, "the key from %s cannot be rotated here: set a new one "
			      "and rewrap", ST_KEK_ENV);
		return ES_EUNSUP;
	}
	/* Under the lock, start from the file as it is now: another process may
	 * have rotated since kr was read, and its key must not be lost. */
	int lock = kr_lock(kr->path, err, errcap);
	if (lock < 0)
		return ES_EIO;
	struct st_keyring *fresh = NULL;
	int rc = kr_read_again(kr, &fresh, err, errcap);
	if (!rc) {
		for (size_t i = 0; i < fresh->n; i++)
			fresh->k[i].active = false;
		rc = kr_new_kek(fresh);
	}
	if (!rc)
		rc = kr_save(fresh, err, errcap);
	close(lock); /* releases the lock */
	if (!rc) { /* kr takes the new keys; fresh frees the old ones */
		kr_swap_keys(kr, fresh);
		struct stat st;
		if (stat(kr->path, &st) == 0) /* the file just written: not news to kr */
			kr->seen = kr_seen_of(&st);
		ES_LOG_INF(TAG, "keyring %s: new current key %s", kr->path, st_kr_current_id(kr));
	}
	st_kr_free(fresh);
	return rc;
}

int st_kr_refresh(struct st_keyring *kr, bool *changed, char *err, size_t errcap)
{
	*changed = false;
	if (!kr->path)
		return 0; /* the environment's KEK changes only with a restart */
	struct stat st;
	if (stat(kr->path, &st) != 0) {
		st_crypt_errf(err, errcap, "%s: %s (the keys read before stay)", kr->path,
			      strerror(errno));
		return ES_EIO;
	}
	struct kr_seen now = kr_seen_of(&st);
	if (kr_seen_eq(&now, &kr->seen))
		return 0;
	struct st_keyring *fresh = NULL;
	int rc = kr_read_again(kr, &fresh, err, errcap);
	if (!rc) {
		kr_swap_keys(kr, fresh);
		*changed = true;
		ES_LOG_INF(TAG, "keyring %s read again: %zu keys, current %s", kr->path, kr->n,
			   st_kr_current_id(kr));
	}
	st_kr_free(fresh); /* the old keys, wiped */
	return rc;
}

/* ---- data keys --------------------------------------------------------- */

/* Freed DEKs' guarded pages, wiped, for the next key.  sodium_malloc maps
 * pages, mlocks them and mprotects guard pages around them; sodium_free
 * unmaps them: each change of a mapping makes the kernel flush the other
 * cores' TLBs, and a recording used about six keys (its media log's and
 * its file's, made and unwrapped), a tenth of a short call's import CPU
 * (docs/PERFORMANCE.md, issue #20).  A slot holds no key while pooled. */
#define DEK_POOL 16
static struct {
	pthread_mutex_t mu;
	struct st_dek *free[DEK_POOL];
	unsigned n;
} dek_pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct st_dek *dek_alloc(void)
{
	if (st_crypt_init())
		return NULL;
	struct st_dek *d = NULL;
	pthread_mutex_lock(&dek_pool.mu);
	if (dek_pool.n)
		d = dek_pool.free[--dek_pool.n];
	pthread_mutex_unlock(&dek_pool.mu);
	return d ? d : sodium_malloc(sizeof(*d));
}

struct st_dek *st_dek_new(void)
{
	struct st_dek *d = dek_alloc();
	if (d)
		randombytes_buf(d->k, sizeof(d->k));
	return d;
}

struct st_dek *st_dek_from_bytes(const uint8_t key[ST_KEY_BYTES])
{
	struct st_dek *d = dek_alloc();
	if (d)
		memcpy(d->k, key, ST_KEY_BYTES);
	return d;
}

void st_dek_free(struct st_dek *dek)
{
	if (!dek)
		return;
	sodium_memzero(dek->k, sizeof(dek->k));
	pthread_mutex_lock(&dek_pool.mu);
	bool kept = dek_pool.n < DEK_POOL;
	if (kept)
		dek_pool.free[dek_pool.n++] = dek;
	pthread_mutex_unlock(&dek_pool.mu);
	if (!kept)
		sodium_free(dek); /* wipes */
}

int st_dek_wrap(const struct st_keyring *kr, const struct st_dek *dek, const char *rec_id,
		char *out, size_t cap)
{
	const struct kek *k = kr_current(kr);
	if (!k || !rec_id || !*rec_id || cap < ST_WRAPPED_MAX)
		return ES_EINVAL;
	uint8_t raw[WRAP_RAW];
	randombytes_buf(raw, WRAP_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(raw + WRAP_NONCE, NULL, dek->k, ST_KEY_BYTES,
						   (const uint8_t *)rec_id, strlen(rec_id), NULL,
						   raw, k->key);
	int n = snprintf(out, cap, "v1:%s:", k->id);
	sodium_bin2base64(out + n, cap - (size_t)n, raw, sizeof(raw),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int st_dek_unwrap(const struct st_keyring *kr, const char *wrapped, const char *rec_id,
		  struct st_dek **out, char *err, size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (!wrapped || !rec_id || !*rec_id)
		return ES_EINVAL;
	struct slice s = sl_cstr(wrapped), ver, id, b64;
	if (!sl_split(s, ':', &ver, &s) || !sl_eq(ver, SL_LIT("v1")) ||
	    !sl_split(s, ':', &id, &b64) || !kek_id_ok(id)) {
		st_crypt_errf(err, errcap, "recording %s: wrapped key is not \"v1:<kek id>:<base64>\"",
			      rec_id);
		return ES_EPARSE;
	}
	uint8_t raw[WRAP_RAW];
	size_t bin_len = 0;
	const char *end = NULL;
	if (sodium_base642bin(raw, sizeof(raw), b64.p, b64.len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != sizeof(raw) || end != b64.p + b64.len) {
		st_crypt_errf(err, errcap, "recording %s: wrapped key has a malformed body", rec_id);
		return ES_EPARSE;
	}
	const struct kek *k = kr_find(kr, id);
	if (!k) {
		st_crypt_errf(err, errcap, "recording %s: key-encryption key %.*s is not in the keyring",
			      rec_id, (int)id.len, id.p);
		return ES_ENOTFOUND;
	}
	struct st_dek *d = dek_alloc();
	if (!d)
		return ES_ENOMEM;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(d->k, &mlen, NULL, raw + WRAP_NONCE,
						       ST_KEY_BYTES + WRAP_ABYTES,
						       (const uint8_t *)rec_id, strlen(rec_id), raw,
						       k->key) ||
	    mlen != ST_KEY_BYTES) {
		st_dek_free(d);
		st_crypt_errf(err, errcap,
			      "recording %s: wrapped key does not authenticate with key %s "
			      "(altered, or wrapped for another recording)",
			      rec_id, k->id);
		return ST_ECRYPTO;
	}
	*out = d;
	return 0;
}

int st_dek_rewrap(const struct st_keyring *kr, const char *wrapped, const char *rec_id,
		  char *out, size_t cap, char *err, size_t errcap)
{
	struct st_dek *d;
	int rc = st_dek_unwrap(kr, wrapped, rec_id, &d, err, errcap);
	if (rc)
		return rc;
	char tmp[ST_WRAPPED_MAX];
	rc = st_dek_wrap(kr, d, rec_id, tmp, sizeof(tmp));
	st_dek_free(d);
	if (rc) {
		st_crypt_errf(err, errcap, "recording %s: cannot wrap: %s", rec_id, es_strerror(rc));
		return rc;
	}
	if (strlen(tmp) >= cap)
		return ES_EINVAL;
	memcpy(out, tmp, strlen(tmp) + 1);
	return 0;
}
