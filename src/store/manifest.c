/* manifest.c - a backup's signed manifest (the format is in manifest.h):
 * built, formatted, parsed back strictly, signed and checked. */
#include "store/manifest.h"
#include "store/blob.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAGIC "earshot-backup-sig-v1 "
#define SIGNED_PREFIX ST_MANIFEST_FORMAT "\n"
#define MAX_FILES (16u << 20)

void st_manifest_init(struct st_manifest *m) { memset(m, 0, sizeof(*m)); }

void st_manifest_free(struct st_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->files[i].path);
	free(m->files);
	memset(m, 0, sizeof(*m));
}

static bool hex_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A blob key that is also a plain relative file path: no empty or "."
 * segment, no trailing '/' (".." is already refused by st_blob_key_ok). */
static bool path_ok(const char *p)
{
	if (!st_blob_key_ok(p))
		return false;
	for (const char *s = p;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			return false;
		if (!e)
			return true;
		s = e + 1;
	}
}

static int add_owned(struct st_manifest *m, char *path, uint64_t size, uint32_t mode,
		     const char *sha)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct st_manifest_file *f = realloc(m->files, cap * sizeof(*f));
		if (!f)
			return ES_ENOMEM;
		m->files = f;
		m->cap = cap;
	}
	struct st_manifest_file *f = &m->files[m->n++];
	f->path = path;
	f->size = size;
	f->mode = mode;
	memcpy(f->sha256, sha, 64);
	f->sha256[64] = 0;
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp((*(const struct st_manifest_file *const *)a)->path,
		      (*(const struct st_manifest_file *const *)b)->path);
}

/* Whether a path is given twice (sorted copies of the pointers). */
static int check_unique(const struct st_manifest *m, char *err, size_t errlen)
{
	if (m->n < 2)
		return 0;
	const struct st_manifest_file **v = malloc(m->n * sizeof(*v));
	if (!v)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++)
		v[i] = &m->files[i];
	qsort(v, m->n, sizeof(*v), cmp_path);
	int rc = 0;
	for (size_t i = 1; i < m->n && !rc; i++)
		if (!strcmp(v[i - 1]->path, v[i]->path))
			rc = es_errf(err, errlen, ES_EPARSE, "manifest.json: %s is listed twice",
				     v[i]->path);
	free(v);
	return rc;
}

int st_manifest_add(struct st_manifest *m, const char *path, uint64_t size, uint32_t mode,
		    const char *sha256_hex)
{
	if (!path_ok(path) || strlen(sha256_hex) != 64 || !hex_ok(sha256_hex, 64))
		return ES_EINVAL;
	char *p = strdup(path);
	if (!p)
		return ES_ENOMEM;
	int rc = add_owned(m, p, size, mode & 07777, sha256_hex);
	if (rc)
		free(p);
	return rc;
}

static int format_header(struct es_buf *b, int64_t created_us, const char *key_id)
{
	return es_buf_printf(b,
			     "{\"format\":\"" ST_MANIFEST_FORMAT "\",\"created_us\":%" PRId64
			     ",\"key_id\":\"%s\",\"files\":[\n",
			     created_us, key_id);
}

static int format_file(struct es_buf *b, const struct st_manifest_file *f, bool last)
{
	return es_buf_printf(b,
			     "{\"path\":\"%s\",\"size\":%" PRIu64 ",\"mode\":%u,\"sha256\":\"%s\"}%s\n",
			     f->path, f->size, (unsigned)f->mode, f->sha256, last ? "" : ",");
}

int st_manifest_format(const struct st_manifest *m, struct es_buf *out)
{
	int rc = format_header(out, m->created_us, m->key_id);
	for (size_t i = 0; i < m->n && !rc; i++)
		rc = format_file(out, &m->files[i], i + 1 == m->n);
	return rc ? rc : es_buf_printf(out, "]}\n");
}

/* ---- parsing: fields out of a line, then the line formatted again must be
 * the same bytes ---------------------------------------------------------------- */

/* A decimal of at most 19 digits at *p (advanced). */
static bool take_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	size_t n = 0;
	while (s < end && *s >= '0' && *s <= '9' && n < 19) {
		x = x * 10 + (uint64_t)(*s++ - '0');
		n++;
	}
	if (!n)
		return false;
	*p = s;
	*v = x;
	return true;
}

static bool take_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/* A string of up to cap-1 bytes without '"' or '\\' up to the next '"'. */
static bool take_str(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;
	while (s < end && *s != '"' && *s != '\\' && n + 1 < cap)
		out[n++] = *s++;
	if (s >= end || *s != '"')
		return false;
	out[n] = 0;
	*p = s + 1;
	return true;
}

/* The line [p, end) formatted again by fmt must be these bytes. */
static bool same_bytes(const struct es_buf *b, const char *p, const char *end)
{
	return b->len == (size_t)(end - p) + 1 && !memcmp(b->p, p, b->len - 1) &&
	       b->p[b->len - 1] == '\n';
}

static int parse_header(const char *p, const char *end, struct st_manifest *m)
{
	const char *s = p;
	uint64_t t;
	if (!take_lit(&s, end, "{\"format\":\"" ST_MANIFEST_FORMAT "\",\"created_us\":") ||
	    !take_u64(&s, end, &t) || t > INT64_MAX || !take_lit(&s, end, ",\"key_id\":\"") ||
	    !take_str(&s, end, m->key_id, sizeof(m->key_id)) || strlen(m->key_id) != 16 ||
	    !hex_ok(m->key_id, 16))
		return ES_EPARSE;
	m->created_us = (int64_t)t;
	struct es_buf b;
	es_buf_init(&b);
	int rc = format_header(&b, m->created_us, m->key_id);
	if (!rc && !same_bytes(&b, p, end))
		rc = ES_EPARSE;
	es_buf_free(&b);
	return rc;
}

static int parse_file(const char *p, const char *end, bool last, struct st_manifest *m)
{
	struct st_manifest_file f = {0};
	char path[ST_BLOB_KEY_MAX];
	uint64_t mode;
	const char *s = p;
	if (!take_lit(&s, end, "{\"path\":\"") || !take_str(&s, end, path, sizeof(path)) ||
	    !path_ok(path) || !take_lit(&s, end, ",\"size\":") || !take_u64(&s, end, &f.size) ||
	    !take_lit(&s, end, ",\"mode\":") || !take_u64(&s, end, &mode) || mode > 07777 ||
	    !take_lit(&s, end, ",\"sha256\":\"") || !take_str(&s, end, f.sha256, sizeof(f.sha256)) ||
	    strlen(f.sha256) != 64 || !hex_ok(f.sha256, 64))
		return ES_EPARSE;
	f.path = path;
	f.mode = (uint32_t)mode;
	struct es_buf b;
	es_buf_init(&b);
	int rc = format_file(&b, &f, last);
	if (!rc && !same_bytes(&b, p, end))
		rc = ES_EPARSE;
	es_buf_free(&b);
	if (rc)
		return rc;
	if (m->n >= MAX_FILES)
		return ES_ELIMIT;
	char *dup = strdup(path);
	if (!dup)
		return ES_ENOMEM;
	if ((rc = add_owned(m, dup, f.size, f.mode, f.sha256)))
		free(dup);
	return rc;
}

int st_manifest_parse(const char *p, size_t len, struct st_manifest *m, char *err,
		      size_t errlen)
{
	st_manifest_init(m);
	const char *end = p + len;
	uint64_t lineno = 0;
	bool closed = false;
	int rc = 0;
	while (p < end && !rc) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (!nl) {
			rc = es_errf(err, errlen, ES_EPARSE, "manifest.json:%" PRIu64
				     ": the last line has no newline (truncated)", lineno);
			break;
		}
		if (closed) {
			rc = es_errf(err, errlen, ES_EPARSE,
				     "manifest.json:%" PRIu64 ": text after the end", lineno);
		} else if (lineno == 1) {
			if (parse_header(p, nl, m))
				rc = es_errf(err, errlen, ES_EPARSE,
					     "manifest.json:1: not an earshot backup manifest");
		} else if (nl - p == 2 && !memcmp(p, "]}", 2)) {
			closed = true;
		} else {
			/* the next line says whether this one is the last */
			const char *next = nl + 1;
			bool last = end - next >= 2 && !memcmp(next, "]}", 2);
			int frc = parse_file(p, nl, last, m);
			if (frc == ES_ENOMEM || frc == ES_ELIMIT)
				rc = es_errf(err, errlen, frc, "manifest.json:%" PRIu64 ": %s",
					     lineno, es_strerror(frc));
			else if (frc)
				rc = es_errf(err, errlen, ES_EPARSE,
					     "manifest.json:%" PRIu64 ": not a file line of a "
					     "manifest", lineno);
		}
		p = nl + 1;
	}
	if (!rc && !closed)
		rc = es_errf(err, errlen, ES_EPARSE, "manifest.json: no end (\"]}\"): truncated");
	if (!rc)
		rc = check_unique(m, err, errlen);
	if (rc)
		st_manifest_free(m);
	return rc;
}

/* ---- signature ------------------------------------------------------------------ */

static int signed_bytes(const char *text, size_t len, struct es_buf *b)
{
	es_buf_init(b);
	int rc = es_buf_append(b, SIGNED_PREFIX, strlen(SIGNED_PREFIX));
	return rc ? rc : es_buf_append(b, text, len);
}

int st_manifest_sign(const char *text, size_t len, const char *ledger_dir, const char *key_path,
		     char sig[ST_MANIFEST_SIG_MAX], char *err, size_t errlen)
{
	struct es_buf b;
	uint8_t s[ST_LEDGER_SIG_LEN], pk[ST_LEDGER_PK_LEN];
	int rc = signed_bytes(text, len, &b);
	if (rc) {
		es_buf_free(&b);
		return es_errf(err, errlen, rc, "out of memory");
	}
	rc = st_ledger_sign_detached(ledger_dir, key_path, b.p, b.len, s, pk, err, errlen);
	es_buf_free(&b);
	if (rc)
		return rc;
	char kid[17], hex[129];
	sodium_bin2hex(kid, sizeof(kid), pk, ST_LEDGER_KEYID_LEN);
	sodium_bin2hex(hex, sizeof(hex), s, sizeof(s));
	snprintf(sig, ST_MANIFEST_SIG_MAX, SIG_MAGIC "%s %s\n", kid, hex);
	return 0;
}

int st_manifest_check(const char *text, size_t len, const char *sig, size_t siglen,
		      const uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen)
{
	size_t ml = strlen(SIG_MAGIC);
	uint8_t kid[ST_LEDGER_KEYID_LEN], s[ST_LEDGER_SIG_LEN];
	if (siglen != ml + 16 + 1 + 128 + 1 || memcmp(sig, SIG_MAGIC, ml) || sig[ml + 16] != ' ' ||
	    sig[siglen - 1] != '\n' || !hex_ok(sig + ml, 16) || !hex_ok(sig + ml + 17, 128) ||
	    sodium_hex2bin(kid, sizeof(kid), sig + ml, 16, NULL, NULL, NULL) ||
	    sodium_hex2bin(s, sizeof(s), sig + ml + 17, 128, NULL, NULL, NULL))
		return es_errf(err, errlen, ES_ECRYPTO, "manifest.sig: not an earshot backup signature");
	if (memcmp(kid, pk, sizeof(kid)))
		return es_errf(err, errlen, ES_ECRYPTO,
			       "manifest.sig: signed by another key (key id %.16s) than the ledger's",
			       sig + ml);
	struct es_buf b;
	int rc = signed_bytes(text, len, &b);
	if (!rc && crypto_sign_verify_detached(s, b.p, b.len, pk) != 0)
		rc = es_errf(err, errlen, ES_ECRYPTO,
			     "manifest.json: the signature does not match: the manifest was altered "
			     "(or signed by another key)");
	else if (rc)
		rc = es_errf(err, errlen, rc, "out of memory");
	es_buf_free(&b);
	return rc;
}

void st_manifest_blob_key(const char *sha256_hex, char out[80])
{
	snprintf(out, 80, "blobs/%.2s/%.64s", sha256_hex, sha256_hex);
}
