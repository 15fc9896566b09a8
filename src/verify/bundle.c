/* bundle.c - reading and checking an evidence bundle offline (bundle.h). */
#include "verify/bundle.h"
#include "store/crypt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>



/* ---- loading ----------------------------------------------------------------- */

int ev_bundle_add(struct ev_bundle *b, const char *name, const uint8_t *p, size_t len)
{
	size_t nlen = strlen(name);
	if (!st_zip_name_ok(name, nlen))
		return ES_EINVAL;
	if (b->n == EV_MAX_FILES)
		return ES_ELIMIT;
	if (ev_bundle_find(b, name))
		return ES_EEXIST;
	struct ev_file *f = &b->f[b->n++];
	memcpy(f->name, name, nlen + 1);
	f->p = p;
	f->len = len;
	return 0;
}

const struct ev_file *ev_bundle_find(const struct ev_bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->f[i].name, name))
			return &b->f[i];
	return NULL;
}

int ev_bundle_from_zip(struct ev_bundle *b, const uint8_t *p, size_t n, char *err,
		       size_t errlen)
{
	struct st_zip local, *zp = &local;
	int rc = st_zip_parse(p, n, zp, err, errlen);
	if (rc)
		return rc;
	b->is_zip = true;
	for (size_t i = 0; i < zp->n; i++) {
		char name[ST_ZIP_NAME_MAX + 1];
		sl_copy(name, sizeof(name), zp->e[i].name);
		if ((rc = ev_bundle_add(b, name, zp->e[i].data, zp->e[i].size)))
			return es_errf(err, errlen, rc, "%s: cannot be part of a bundle", name);
	}
	return 0;
}

static int read_all(const char *path, void **out, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		int rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((uint64_t)st.st_size > ST_ZIP_SIZE_MAX) {
		close(fd);
		return es_errf(err, errlen, ES_ELIMIT, "%s: larger than 4 GiB", path);
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *p = malloc(n ? n : 1);
	if (!p) {
		close(fd);
		return es_errf(err, errlen, ES_ENOMEM, "%s: out of memory", path);
	}
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(p);
			close(fd);
			return es_errf(err, errlen, ES_EIO, "%s: read failed", path);
		}
		got += (size_t)k;
	}
	close(fd);
	*out = p;
	*len = n;
	return 0;
}

static int load_dir(struct ev_bundle *b, const char *path, char *err, size_t errlen)
{
	DIR *d = opendir(path);
	if (!d)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char fp[4096];
		struct stat st;
		snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
		if (lstat(fp, &st) || !S_ISREG(st.st_mode)) {
			rc = es_errf(err, errlen, ES_EFORMAT, "%s: not a regular file (a bundle is a "
				    "flat folder of files)", fp);
			break;
		}
		if (!st_zip_name_ok(de->d_name, strlen(de->d_name))) {
			rc = es_errf(err, errlen, ES_EFORMAT, "%s: not a bundle file name", fp);
			break;
		}
		if (b->nowned == EV_MAX_FILES) {
			rc = es_errf(err, errlen, ES_ELIMIT, "%s: more than %u files", path,
				    EV_MAX_FILES);
			break;
		}
		void *p = NULL;
		size_t n = 0;
		if ((rc = read_all(fp, &p, &n, err, errlen)))
			break;
		b->owned[b->nowned++] = p;
		if ((rc = ev_bundle_add(b, de->d_name, p, n)))
			es_errf(err, errlen, rc, "%s: cannot be part of a bundle", fp);
	}
	closedir(d);
	return rc;
}

int ev_bundle_load(struct ev_bundle *b, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st))
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return load_dir(b, path, err, errlen);
	if (!S_ISREG(st.st_mode))
		return es_errf(err, errlen, ES_EINVAL, "%s: neither a folder nor a ZIP file", path);
	if ((uint64_t)st.st_size > ST_ZIP_SIZE_MAX)
		return es_errf(err, errlen, ES_ELIMIT, "%s: larger than 4 GiB (no ZIP64)", path);
	if (st.st_size == 0)
		return es_errf(err, errlen, ES_EFORMAT, "%s: empty file, not a ZIP archive", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	b->map = m;
	b->maplen = (size_t)st.st_size;
	char why[400];
	int rc = ev_bundle_from_zip(b, m, b->maplen, why, sizeof(why));
	if (rc)
		es_errf(err, errlen, rc, "%s: %s", path, why);
	return rc;
}

void ev_bundle_free(struct ev_bundle *b)
{
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	if (b->map)
		munmap(b->map, b->maplen);
	memset(b, 0, sizeof(*b));
}

/* ---- small parsers -------------------------------------------------------------- */

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* lowercase only, like the ledger */
}

/* 2*n lowercase hex digits -> n bytes. */
static bool unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val((unsigned char)s[2 * i]), lo = hex_val((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void tohex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* A canonical decimal: digits, no leading zero, fits in 64 bits. */
static bool dec_u64(struct slice s, uint64_t *v)
{
	if (s.len == 0 || s.len > 20 || (s.len > 1 && s.p[0] == '0'))
		return false;
	return sl_to_u64(s, v) == 0;
}

/* The next "\n"-terminated line of p[*at..n). */
static bool next_line(const uint8_t *p, size_t n, size_t *at, struct slice *line)
{
	if (*at >= n)
		return false;
	const uint8_t *nl = memchr(p + *at, '\n', n - *at);
	if (!nl)
		return false;
	*line = sl_make(p + *at, (size_t)(nl - (p + *at)));
	*at = (size_t)(nl - p) + 1;
	return true;
}

int ev_pub_parse(const uint8_t *p, size_t n, uint8_t pk[ST_LEDGER_PK_LEN], char *err,
		 size_t errlen)
{
	size_t mlen = sizeof(EV_PUB_MAGIC) - 1, want = mlen + 1 + 2 * ST_LEDGER_PK_LEN + 1;
	if (n != want || memcmp(p, EV_PUB_MAGIC, mlen) || p[mlen] != ' ' || p[n - 1] != '\n' ||
	    !unhex((const char *)p + mlen + 1, 2 * ST_LEDGER_PK_LEN, pk, ST_LEDGER_PK_LEN))
		return es_errf(err, errlen, ES_EPARSE, "not \"" EV_PUB_MAGIC " <64 lowercase hex "
			      "digits>\" and a newline");
	return 0;
}

int ev_proof_parse(const uint8_t *p, size_t n, uint64_t *seq, uint64_t *size,
		   uint8_t (*path)[ST_HASH_LEN], size_t *len, char *err, size_t errlen)
{
	size_t at = 0;
	struct slice l, k, v;
	*len = 0;
	if (!next_line(p, n, &at, &l) || !sl_eq(l, SL_LIT(EV_PROOF_MAGIC)))
		return es_errf(err, errlen, ES_EPARSE, "line 1 is not \"" EV_PROOF_MAGIC "\"");
	if (!next_line(p, n, &at, &l) || !sl_split(l, ' ', &k, &v) || !sl_eq(k, SL_LIT("seq")) ||
	    !dec_u64(v, seq))
		return es_errf(err, errlen, ES_EPARSE, "line 2 is not \"seq <leaf index>\"");
	if (!next_line(p, n, &at, &l) || !sl_split(l, ' ', &k, &v) ||
	    !sl_eq(k, SL_LIT("size")) || !dec_u64(v, size))
		return es_errf(err, errlen, ES_EPARSE, "line 3 is not \"size <tree size>\"");
	while (at < n) {
		if (!next_line(p, n, &at, &l))
			return es_errf(err, errlen, ES_EPARSE, "the last line has no newline");
		if (*len == ST_MERKLE_MAX_PROOF)
			return es_errf(err, errlen, ES_ELIMIT, "more than %d hashes",
				      ST_MERKLE_MAX_PROOF);
		if (!unhex(l.p, l.len, path[*len], ST_HASH_LEN))
			return es_errf(err, errlen, ES_EPARSE, "line %zu is not a hash of 64 "
				      "lowercase hex digits", *len + 4);
		(*len)++;
	}
	return 0;
}

int ev_proof_format(struct es_buf *b, uint64_t seq, uint64_t size,
		    const uint8_t (*path)[ST_HASH_LEN], size_t len)
{
	int rc = es_buf_printf(b, EV_PROOF_MAGIC "\nseq %" PRIu64 "\nsize %" PRIu64 "\n", seq,
			       size);
	for (size_t i = 0; i < len && !rc; i++) {
		char hex[2 * ST_HASH_LEN + 2];
		tohex(path[i], ST_HASH_LEN, hex);
		rc = es_buf_printf(b, "%s\n", hex);
	}
	return rc;
}

/* ---- metadata.json: a small strict JSON reader (RFC 8259) ------------------------ */

#define JSON_DEPTH 32

struct jp {
	const uint8_t *p;
	size_t n, i;
	const char *err;
};

static void jws(struct jp *j)
{
	while (j->i < j->n && (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\n' ||
			       j->p[j->i] == '\r'))
		j->i++;
}

static bool jfail(struct jp *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return false;
}

static void put_utf8(char *out, size_t cap, size_t *o, uint32_t c)
{
	uint8_t b[4];
	size_t k;
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		k = 2;
	} else {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		k = 3;
	}
	for (size_t i = 0; i < k; i++, (*o)++)
		if (out && *o + 1 < cap)
			out[*o] = (char)b[i];
}

/* A string at j->i; its decoded bytes into out (cap, NUL-terminated; *olen
 * is the full length even when it did not fit). */
static bool jstring(struct jp *j, char *out, size_t cap, size_t *olen)
{
	size_t o = 0;
	if (j->i >= j->n || j->p[j->i] != '"')
		return jfail(j, "a string was expected");
	j->i++;
	for (;;) {
		if (j->i >= j->n)
			return jfail(j, "a string has no end");
		uint8_t c = j->p[j->i++];
		if (c == '"')
			break;
		if (c < 0x20)
			return jfail(j, "a control character in a string");
		if (c != '\\') {
			if (out && o + 1 < cap)
				out[o] = (char)c;
			o++;
			continue;
		}
		if (j->i >= j->n)
			return jfail(j, "a string has no end");
		c = j->p[j->i++];
		static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";
		const char *e = c ? strchr(esc, c) : NULL;
		if (e) {
			put_utf8(out, cap, &o, (uint8_t)val[e - esc]);
			continue;
		}
		if (c != 'u' || j->n - j->i < 4)
			return jfail(j, "a bad escape in a string");
		uint32_t u = 0;
		for (int k = 0; k < 4; k++) {
			int h = j->p[j->i + (size_t)k];
			int d = hex_val(h >= 'A' && h <= 'F' ? h + 32 : h);
			if (d < 0)
				return jfail(j, "a bad \\u escape in a string");
			u = u << 4 | (uint32_t)d;
		}
		j->i += 4;
		put_utf8(out, cap, &o, u);
	}
	if (out && cap)
		out[o < cap ? o : cap - 1] = 0;
	if (olen)
		*olen = o;
	return true;
}

static bool jdigits(struct jp *j)
{
	size_t s = j->i;
	while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
		j->i++;
	return j->i > s || jfail(j, "a bad number");
}

static bool jnumber(struct jp *j)
{
	if (j->i < j->n && j->p[j->i] == '-')
		j->i++;
	if (j->i < j->n && j->p[j->i] == '0')
		j->i++;
	else if (!jdigits(j))
		return false;
	if (j->i < j->n && j->p[j->i] == '.') {
		j->i++;
		if (!jdigits(j))
			return false;
	}
	if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-'))
			j->i++;
		if (!jdigits(j))
			return false;
	}
	return true;
}

static bool jlit(struct jp *j, const char *w)
{
	size_t k = strlen(w);
	if (j->n - j->i < k || memcmp(j->p + j->i, w, k))
		return jfail(j, "an unknown word");
	j->i += k;
	return true;
}

/* Where we are: 0 elsewhere, 1 the top object, 2 the recording object. */
static bool jvalue(struct jp *j, int depth, int where, struct ev_meta *m, unsigned *seen);

static bool jobject(struct jp *j, int depth, int where, struct ev_meta *m, unsigned *seen)
{
	j->i++;
	jws(j);
	if (j->i < j->n && j->p[j->i] == '}') {
		j->i++;
		return true;
	}
	for (;;) {
		char key[32];
		size_t klen;
		jws(j);
		if (!jstring(j, key, sizeof(key), &klen))
			return false;
		jws(j);
		if (j->i >= j->n || j->p[j->i] != ':')
			return jfail(j, "':' was expected");
		j->i++;
		jws(j);
		int next = 0;
		unsigned bit = 0;
		if (klen < sizeof(key) && where == 1 && !strcmp(key, "recording")) {
			next = 2;
			bit = 1;
		} else if (klen < sizeof(key) && where == 2) {
			static const char *const keys[] = {"path", "sha256", "plain_sha256", "format"};
			for (unsigned k = 0; k < 4; k++)
				if (!strcmp(key, keys[k])) {
					next = 3 + (int)k;
					bit = 2u << k;
				}
		}
		if (bit && (*seen & bit))
			return jfail(j, "a key appears twice");
		*seen |= bit;
		if (!jvalue(j, depth + 1, next, m, seen))
			return false;
		jws(j);
		if (j->i < j->n && j->p[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->i < j->n && j->p[j->i] == '}') {
			j->i++;
			return true;
		}
		return jfail(j, "',' or '}' was expected");
	}
}

static bool jvalue(struct jp *j, int depth, int where, struct ev_meta *m, unsigned *seen)
{
	if (depth > JSON_DEPTH)
		return jfail(j, "nested too deep");
	jws(j);
	if (j->i >= j->n)
		return jfail(j, "a value was expected");
	uint8_t c = j->p[j->i];
	if (where >= 3 && c == '"') {
		static const size_t caps[] = {sizeof(m->path), sizeof(m->sha256),
					      sizeof(m->plain_sha256), sizeof(m->format)};
		char *outs[] = {m->path, m->sha256, m->plain_sha256, m->format};
		bool *has[] = {&m->has_path, &m->has_sha256, &m->has_plain, &m->has_format};
		size_t len;
		int k = where - 3;
		if (!jstring(j, outs[k], caps[k], &len))
			return false;
		if (len >= caps[k] - 1) /* too long to be a valid value: cannot match */
			snprintf(outs[k], caps[k], "%s", "(too long)");
		*has[k] = true;
		return true;
	}
	if (c == '{')
		return jobject(j, depth, where == 2 ? 2 : 0, m, seen);
	if (where == 2)
		return jfail(j, "\"recording\" is not an object");
	if (c == '[') {
		j->i++;
		jws(j);
		if (j->i < j->n && j->p[j->i] == ']') {
			j->i++;
			return true;
		}
		for (;;) {
			if (!jvalue(j, depth + 1, 0, m, seen))
				return false;
			jws(j);
			if (j->i < j->n && j->p[j->i] == ',') {
				j->i++;
				continue;
			}
			if (j->i < j->n && j->p[j->i] == ']') {
				j->i++;
				return true;
			}
			return jfail(j, "',' or ']' was expected");
		}
	}
	if (c == '"')
		return jstring(j, NULL, 0, NULL);
	if (c == 't')
		return jlit(j, "true");
	if (c == 'f')
		return jlit(j, "false");
	if (c == 'n')
		return jlit(j, "null");
	return jnumber(j);
}

int ev_meta_parse(const uint8_t *p, size_t n, struct ev_meta *m, char *err, size_t errlen)
{
	struct jp j = {p, n, 0, NULL};
	unsigned seen = 0;
	memset(m, 0, sizeof(*m));
	jws(&j);
	if (j.i >= n || p[j.i] != '{')
		return es_errf(err, errlen, ES_EPARSE, "not a JSON object");
	bool ok = jobject(&j, 1, 1, m, &seen);
	if (ok) {
		jws(&j);
		if (j.i != n)
			ok = jfail(&j, "text after the object");
	}
	if (!ok)
		return es_errf(err, errlen, ES_EPARSE, "not valid JSON: %s at byte %zu", j.err, j.i);
	if (!(seen & 1))
		return es_errf(err, errlen, ES_EPARSE, "no \"recording\" object");
	return 0;
}

/* ---- the checks -------------------------------------------------------------------- */

static const char *const check_names[EV_NCHECKS] = {
	"files", "leaf", "audio", "metadata", "id", "proof", "signature", "inclusion", "key",
	"anchor", "transcripts",
};

static void set(struct ev_result *r, enum ev_check_id c, enum ev_state s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct ev_result *r, enum ev_check_id c, enum ev_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->c[c].why, sizeof(r->c[c].why), fmt, ap);
	va_end(ap);
	r->c[c].state = s;
}

/* A file of exactly one "\n"-terminated line: the line without it. */
static bool one_line(const struct ev_file *f, struct slice *line)
{
	if (!f || f->len == 0 || f->p[f->len - 1] != '\n' ||
	    memchr(f->p, '\n', f->len - 1) != NULL || f->len - 1 > ST_LEDGER_LINE_MAX)
		return false;
	*line = sl_make(f->p, f->len - 1);
	return true;
}

/* The format of the recording id: "recordings/.../12.opus.enc" -> "opus". */
static void id_ext(const char *id, char *out, size_t cap)
{
	const char *base = strrchr(id, '/');
	base = base ? base + 1 : id;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ST_ENC_SUFFIX))
		n -= 4;
	const char *dot = NULL;
	for (size_t i = 0; i < n; i++)
		if (base[i] == '.')
			dot = base + i;
	if (!dot) {
		snprintf(out, cap, "%s", "");
		return;
	}
	snprintf(out, cap, "%.*s", (int)(n - (size_t)(dot + 1 - base)), dot + 1);
}

static void check_files(const struct ev_bundle *b, struct ev_result *r,
			const struct ev_file **audio)
{
	static const char *const need[] = {"metadata.json", "leaf.txt", "proof.txt", "head.txt",
					   "ledger.pub"};
	char missing[256] = "", extra[256] = "";
	size_t naudio = 0;
	*audio = NULL;
	for (size_t i = 0; i < ES_ARRAY_LEN(need); i++)
		if (!ev_bundle_find(b, need[i]))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 *missing ? ", " : "", need[i]);
	for (size_t i = 0; i < b->n; i++) {
		const char *nm = b->f[i].name;
		bool known = !strcmp(nm, "README.txt") || !strcmp(nm, "consistency.txt") ||
			     !strncmp(nm, "transcript.", 11);
		for (size_t k = 0; k < ES_ARRAY_LEN(need); k++)
			known = known || !strcmp(nm, need[k]);
		if (!strncmp(nm, "audio.", 6) && nm[6]) {
			naudio++;
			*audio = &b->f[i];
			known = true;
		}
		if (!known)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s%s",
				 *extra ? ", " : "", nm);
	}
	if (naudio == 0)
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 *missing ? ", " : "", "audio.<ext>");
	if (*missing)
		set(r, EV_C_FILES, EV_FAIL, "missing from the bundle: %s", missing);
	else if (naudio > 1)
		set(r, EV_C_FILES, EV_FAIL, "%zu audio.* files: which one is the recording?",
		    naudio);
	else
		set(r, EV_C_FILES, EV_OK, "%s, metadata.json, leaf.txt, proof.txt, head.txt, "
		    "ledger.pub present%s%s%s", (*audio)->name, *extra ? " (not part of the "
		    "evidence, ignored: " : "", extra, *extra ? ")" : "");
	if (naudio > 1)
		*audio = NULL;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	crypto_hash_sha256(out, p, n);
}

static void check_meta(const struct ev_bundle *b, const struct st_ledger_entry *e,
		       const char *ext, struct ev_result *r)
{
	const struct ev_file *f = ev_bundle_find(b, "metadata.json");
	if (!f)
		return;
	uint8_t h[32];
	char hex[65], want[65];
	sha256(f->p, f->len, h);
	tohex(h, 32, hex);
	if (!e->has_meta)
		set(r, EV_C_META, EV_FAIL, "leaf.txt carries no metadata hash (meta=-)");
	else if (memcmp(h, e->meta_sha256, 32)) {
		tohex(e->meta_sha256, 32, want);
		set(r, EV_C_META, EV_FAIL, "metadata.json: SHA-256 %s, the leaf's meta= is %s: the "
		    "metadata was altered", hex, want);
	} else
		set(r, EV_C_META, EV_OK, "metadata.json: SHA-256 %s = the leaf's meta=", hex);

	struct ev_meta m;
	char why[200];
	if (ev_meta_parse(f->p, f->len, &m, why, sizeof(why))) {
		set(r, EV_C_ID, EV_FAIL, "metadata.json: %s", why);
		return;
	}
	char cipher[65] = "", plain[65] = "";
	if (e->has_cipher)
		tohex(e->cipher_sha256, 32, cipher);
	if (e->has_plain)
		tohex(e->plain_sha256, 32, plain);
	if (!m.has_path || strcmp(m.path, e->id))
		set(r, EV_C_ID, EV_FAIL, "metadata.json: recording.path is %s%s%s, leaf.txt is "
		    "about %s", m.has_path ? "\"" : "", m.has_path ? m.path : "missing",
		    m.has_path ? "\"" : "", e->id);
	else if (e->has_cipher && (!m.has_sha256 || strcmp(m.sha256, cipher)))
		set(r, EV_C_ID, EV_FAIL, "metadata.json: recording.sha256 is not the leaf's cipher=");
	else if (e->has_plain ? !m.has_plain || strcmp(m.plain_sha256, plain) : m.has_plain)
		set(r, EV_C_ID, EV_FAIL, "metadata.json: recording.plain_sha256 is not the leaf's "
		    "plain=");
	else if (m.has_format && strcmp(m.format, ext))
		set(r, EV_C_ID, EV_FAIL, "metadata.json: recording.format \"%s\" but the recording "
		    "%s is %s", m.format, e->id, ext);
	else
		set(r, EV_C_ID, EV_OK, "metadata.json describes recording %s, as leaf.txt", e->id);
}

static void check_audio(const struct ev_file *audio, const struct st_ledger_entry *e,
			const char *ext, struct ev_result *r)
{
	if (!audio)
		return;
	uint8_t h[32];
	char hex[65], want[65];
	if (strcmp(audio->name + 6, ext)) {
		set(r, EV_C_AUDIO, EV_FAIL, "%s: the leaf's recording %s is a .%s file",
		    audio->name, e->id, ext);
		return;
	}
	sha256(audio->p, audio->len, h);
	tohex(h, 32, hex);
	const uint8_t *ref = e->has_plain ? e->plain_sha256 : e->has_cipher ? e->cipher_sha256 : NULL;
	const char *which = e->has_plain ? "plain=" : "cipher= (an unencrypted recording)";
	if (!ref) {
		set(r, EV_C_AUDIO, EV_FAIL, "leaf.txt carries no audio hash (plain=- and cipher=-)");
		return;
	}
	tohex(ref, 32, want);
	if (memcmp(h, ref, 32))
		set(r, EV_C_AUDIO, EV_FAIL, "%s: SHA-256 %s, the leaf's %s is %s: the audio was "
		    "altered", audio->name, hex, which, want);
	else
		set(r, EV_C_AUDIO, EV_OK, "%s: SHA-256 %s = the leaf's %s (%zu bytes)", audio->name,
		    hex, which, audio->len);
}

/* One party's transcript: "" when fine (*proven says whether it has a
 * leaf), else why it fails, in why. */
static bool check_one_tr(const struct ev_bundle *b, const char *party,
			 const struct st_ledger_entry *rec, const struct st_head *h, bool *proven,
			 bool *present, char *why, size_t whylen)
{
	char nj[64], nl[64], np[64], pw[300];
	snprintf(nj, sizeof(nj), "transcript.%s.json", party);
	snprintf(nl, sizeof(nl), "transcript.%s.leaf.txt", party);
	snprintf(np, sizeof(np), "transcript.%s.proof.txt", party);
	const struct ev_file *fj = ev_bundle_find(b, nj), *fl = ev_bundle_find(b, nl),
			     *fp = ev_bundle_find(b, np);
	*proven = false;
	*present = fj != NULL;
	if (!fl && !fp)
		return true; /* carried unproven, or not at all */
	struct st_ledger_entry e;
	struct slice line;
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN], md[32];
	size_t plen = 0;
	uint64_t pseq = 0, psize = 0;
	if (!fj || !fl || !fp) {
		snprintf(why, whylen, "%s: %s missing beside it", fj ? nj : fl ? nl : np,
			 !fj ? nj : !fl ? nl : np);
		return false;
	}
	if (!one_line(fl, &line) || st_ledger_entry_parse(line.p, line.len, &e, pw, sizeof(pw)) ||
	    e.type != ST_ENTRY_TRANSCRIPT || strcmp(e.channel, party)) {
		snprintf(why, whylen, "%s: not the ledger entry of a %s transcript", nl, party);
		return false;
	}
	if (strcmp(e.id, rec->id)) {
		snprintf(why, whylen, "%s: names another recording than leaf.txt (%.200s)", nl,
			 e.id);
		return false;
	}
	sha256(fj->p, fj->len, md);
	if (memcmp(md, e.plain_sha256, 32)) {
		snprintf(why, whylen, "%s: its SHA-256 is not %s's plain= (the words were altered)",
			 nj, nl);
		return false;
	}
	if (ev_proof_parse(fp->p, fp->len, &pseq, &psize, path, &plen, pw, sizeof(pw)) ||
	    pseq != e.seq || psize != h->size || e.seq >= h->size ||
	    st_merkle_inclusion_verify(e.leaf_hash, e.seq, h->size,
				       (const uint8_t(*)[ST_HASH_LEN])path, plen, h->root)) {
		snprintf(why, whylen, "%s: does not prove %s (leaf %" PRIu64 ") under head.txt", np,
			 nl, e.seq);
		return false;
	}
	*proven = true;
	return true;
}

static void check_transcripts(const struct ev_bundle *b, const struct st_ledger_entry *rec,
			      const struct st_head *h, struct ev_result *r)
{
	static const char *const parties[2] = {"caller", "callee"};
	char why[600] = "";
	unsigned proven = 0, present = 0;
	for (int i = 0; i < 2; i++) {
		bool pv, pr;
		if (!check_one_tr(b, parties[i], rec, h, &pv, &pr, why, sizeof(why))) {
			set(r, EV_C_TRANSCRIPTS, EV_FAIL, "%s", why);
			return;
		}
		proven += pv;
		present += pr;
	}
	if (!present)
		set(r, EV_C_TRANSCRIPTS, EV_OK, "none carried");
	else if (proven == present)
		set(r, EV_C_TRANSCRIPTS, EV_OK, "%u transcript(s), each the words of its ledger "
		    "entry, in the signed tree (RFC 9162 inclusion proofs)", proven);
	else
		set(r, EV_C_TRANSCRIPTS, EV_NOTE, "%u of %u transcript(s) proven; the others are "
		    "carried for the reader, not sealed into the ledger", proven, present);
}

void ev_bundle_check(const struct ev_bundle *b, const uint8_t *trusted_pub, size_t trusted_len,
		     struct ev_result *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < EV_NCHECKS; i++)
		r->c[i].name = check_names[i];
	if (sodium_init() < 0) {
		set(r, EV_C_FILES, EV_FAIL, "libsodium failed to start");
		return;
	}
	const struct ev_file *audio;
	check_files(b, r, &audio);
	if (audio)
		snprintf(r->audio, sizeof(r->audio), "%s", audio->name);

	/* leaf.txt */
	struct st_ledger_entry e;
	struct slice line = SL_NULL;
	memset(&e, 0, sizeof(e));
	char why[300], ext[32] = "";
	const struct ev_file *lf = ev_bundle_find(b, "leaf.txt");
	if (lf && !one_line(lf, &line))
		set(r, EV_C_LEAF, EV_FAIL, "leaf.txt: not one line ending in a newline");
	else if (lf && st_ledger_entry_parse(line.p, line.len, &e, why, sizeof(why)))
		set(r, EV_C_LEAF, EV_FAIL, "leaf.txt: not a ledger entry: %s", why);
	else if (lf && e.type != ST_ENTRY_RECORDING)
		set(r, EV_C_LEAF, EV_FAIL, "leaf.txt: a deletion (tombstone), not a recording");
	else if (lf) {
		r->have_leaf = true;
		r->seq = e.seq;
		r->encrypted = e.has_plain;
		snprintf(r->id, sizeof(r->id), "%s", e.id);
		id_ext(e.id, ext, sizeof(ext));
		set(r, EV_C_LEAF, EV_OK, "leaf.txt: recording %s, leaf %" PRIu64 "%s", e.id, e.seq,
		    e.has_plain ? "" : " (stored unencrypted)");
	}
	if (r->have_leaf) {
		check_audio(audio, &e, ext, r);
		check_meta(b, &e, ext, r);
	}

	/* ledger.pub, head.txt */
	uint8_t pk[ST_LEDGER_PK_LEN];
	const struct ev_file *pf = ev_bundle_find(b, "ledger.pub");
	if (pf) {
		uint8_t fp[32];
		sha256(pf->p, pf->len, fp);
		tohex(fp, 32, r->fingerprint);
		if (ev_pub_parse(pf->p, pf->len, pk, why, sizeof(why)))
			set(r, EV_C_SIG, EV_FAIL, "ledger.pub: %s", why);
		else {
			r->have_key = true;
			tohex(pk, ST_LEDGER_KEYID_LEN, r->key_id);
		}
	}
	struct st_head h;
	memset(&h, 0, sizeof(h));
	const struct ev_file *hf = ev_bundle_find(b, "head.txt");
	if (hf && !one_line(hf, &line))
		set(r, EV_C_SIG, EV_FAIL, "head.txt: not one line ending in a newline");
	else if (hf && st_head_parse(line.p, line.len, &h, why, sizeof(why)))
		set(r, EV_C_SIG, EV_FAIL, "head.txt: not a signed tree head: %s", why);
	else if (hf) {
		r->have_head = true;
		r->tree_size = h.size;
		r->head_time_us = h.time_us;
		char kid[17];
		tohex(h.key_id, ST_LEDGER_KEYID_LEN, kid);
		if (r->have_key && memcmp(h.key_id, pk, ST_LEDGER_KEYID_LEN))
			set(r, EV_C_SIG, EV_FAIL, "head.txt: signed by key %s, ledger.pub is key %s",
			    kid, r->key_id);
		else if (r->have_key && st_head_verify(&h, pk))
			set(r, EV_C_SIG, EV_FAIL, "head.txt: the signature does not verify with "
			    "ledger.pub's key: the head (size, time, root) or its signature was "
			    "altered");
		else if (r->have_key)
			set(r, EV_C_SIG, EV_OK, "head.txt: tree of %" PRIu64 " leaves, Ed25519 "
			    "signature by key %s verifies", h.size, kid);
	}

	/* proof.txt and the inclusion */
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t plen = 0;
	uint64_t pseq = 0, psize = 0;
	bool have_proof = false;
	const struct ev_file *qf = ev_bundle_find(b, "proof.txt");
	if (qf && ev_proof_parse(qf->p, qf->len, &pseq, &psize, path, &plen, why, sizeof(why)))
		set(r, EV_C_PROOF, EV_FAIL, "proof.txt: %s", why);
	else if (qf && r->have_leaf && pseq != e.seq)
		set(r, EV_C_PROOF, EV_FAIL, "proof.txt: proves leaf %" PRIu64 ", leaf.txt is leaf "
		    "%" PRIu64, pseq, e.seq);
	else if (qf && r->have_head && psize != h.size)
		set(r, EV_C_PROOF, EV_FAIL, "proof.txt: for a tree of %" PRIu64 " leaves, head.txt "
		    "is of %" PRIu64, psize, h.size);
	else if (qf && r->have_leaf && r->have_head) {
		have_proof = true;
		set(r, EV_C_PROOF, EV_OK, "proof.txt: %zu hashes for leaf %" PRIu64 " of %" PRIu64,
		    plen, pseq, psize);
	}
	if (have_proof) {
		int rc = e.seq < h.size ? st_merkle_inclusion_verify(e.leaf_hash, e.seq, h.size,
			(const uint8_t(*)[ST_HASH_LEN])path, plen, h.root) : ES_EINVAL;
		if (rc)
			set(r, EV_C_INCLUSION, EV_FAIL, "proof.txt: the audit path from leaf.txt does "
			    "not lead to head.txt's root (a hash of proof.txt, leaf.txt or the root "
			    "in head.txt was altered)");
		else
			set(r, EV_C_INCLUSION, EV_OK, "leaf.txt is leaf %" PRIu64 " of the signed "
			    "tree of %" PRIu64 " (RFC 9162 inclusion proof)", e.seq, h.size);
	}

	if (r->have_leaf && r->have_head)
		check_transcripts(b, &e, &h, r);
	else
		set(r, EV_C_TRANSCRIPTS, EV_NOTE, "not checked: no recording leaf or head");

	/* whose key */
	if (trusted_pub) {
		uint8_t tk[ST_LEDGER_PK_LEN];
		if (ev_pub_parse(trusted_pub, trusted_len, tk, why, sizeof(why)))
			set(r, EV_C_KEY, EV_FAIL, "--key: %s", why);
		else if (!r->have_key)
			set(r, EV_C_KEY, EV_FAIL, "ledger.pub: no usable key in the bundle");
		else if (memcmp(tk, pk, sizeof(pk)))
			set(r, EV_C_KEY, EV_FAIL, "ledger.pub: not the trusted key given with --key "
			    "(the bundle is signed with another key)");
		else
			set(r, EV_C_KEY, EV_OK, "ledger.pub is the trusted key given with --key");
	} else if (r->have_key) {
		set(r, EV_C_KEY, EV_NOTE, "the key came from the bundle itself: compare its "
		    "fingerprint %s with the one the recorder publishes (sha256sum "
		    "DATA/ledger/ledger.pub), or give the trusted key with --key", r->fingerprint);
	}

	r->ok = true;
	for (int i = 0; i < EV_NCHECKS; i++) {
		if (r->c[i].state == EV_NOT_RUN && i != EV_C_KEY && i != EV_C_ANCHOR)
			set(r, (enum ev_check_id)i, EV_FAIL, "not checked: %s", "an earlier check "
			    "failed");
		if (r->c[i].state == EV_FAIL || (r->c[i].state == EV_NOT_RUN && i != EV_C_ANCHOR))
			r->ok = false;
	}
}
