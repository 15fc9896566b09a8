/* ledger.c - the integrity ledger: entries.log, heads.log and the signing
 * key in a folder; the formats are described in ledger.h. */
#include "store/ledger.h"

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
#define ENTRIES "entries.log"
#define HEADS "heads.log"
#define KEYFILE "ledger.key"
#define PUBFILE "ledger.pub"
#define KEY_MAGIC "earshot-ledger-key-v1 "
#define PUB_MAGIC "earshot-ledger-pub-v1 "
#define STH_MAGIC "earshot-sth-v1\n"



/* ---- hex and fields ---------------------------------------------------------- */

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lowercase hex digits. */
static bool hex_decode(struct slice s, uint8_t *out, size_t n)
{
	if (s.len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s.p[2 * i]), lo = hexval(s.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool id_valid(const char *id, size_t len)
{
	if (len == 0 || len > ST_LEDGER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
			return false;
	return true;
}

static bool reason_valid(const char *r, size_t len)
{
	if (len == 0 || len > ST_LEDGER_REASON_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = r[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Splits s at tabs into at most max fields; returns the count, or max + 1
 * when there are more. */
static size_t split_tabs(struct slice s, struct slice *f, size_t max)
{
	size_t n = 0;
	struct slice rest = s, head;
	for (;;) {
		bool more = sl_split(rest, '\t', &head, &rest);
		if (n == max)
			return max + 1;
		f[n++] = head;
		if (!more)
			return n;
	}
}

static int parse_time(struct slice s, int64_t *out)
{
	uint64_t v;
	if (sl_to_u64(s, &v) || v > (uint64_t)INT64_MAX)
		return ES_EPARSE;
	*out = (int64_t)v;
	return 0;
}

/* "name=<64 hex>" or "name=-" */
static int parse_hash_field(struct slice s, const char *name, bool *has, uint8_t out[32])
{
	size_t nl = strlen(name);
	if (s.len < nl + 1 || memcmp(s.p, name, nl) != 0 || s.p[nl] != '=')
		return ES_EPARSE;
	struct slice v = sl_sub(s, nl + 1, s.len);
	if (v.len == 1 && v.p[0] == '-') {
		*has = false;
		memset(out, 0, 32);
		return 0;
	}
	*has = true;
	return hex_decode(v, out, 32) ? 0 : ES_EPARSE;
}

/* ---- entries ------------------------------------------------------------------ */

int st_ledger_entry_format(const struct st_ledger_entry *e, char *buf, size_t cap)
{
	size_t idlen = strnlen(e->id, sizeof(e->id));
	if (!id_valid(e->id, idlen) || e->time_us < 0)
		return ES_EINVAL;
	int n;
	if (e->type == ST_ENTRY_RECORDING) {
		char h[3][65];
		const uint8_t *v[3] = {e->meta_sha256, e->cipher_sha256, e->plain_sha256};
		const bool has[3] = {e->has_meta, e->has_cipher, e->has_plain};
		for (int i = 0; i < 3; i++) {
			if (has[i])
				hex_encode(v[i], 32, h[i]);
			else
				strcpy(h[i], "-");
		}
		n = snprintf(buf, cap, "1\trec\t%" PRIu64 "\t%" PRId64 "\t%s\tmeta=%s\tcipher=%s\tplain=%s",
			     e->seq, e->time_us, e->id, h[0], h[1], h[2]);
	} else if (e->type == ST_ENTRY_TOMBSTONE) {
		if (!reason_valid(e->reason, strnlen(e->reason, sizeof(e->reason))))
			return ES_EINVAL;
		n = snprintf(buf, cap, "1\ttomb\t%" PRIu64 "\t%" PRId64 "\t%s\treason=%s", e->seq,
			     e->time_us, e->id, e->reason);
	} else if (e->type == ST_ENTRY_HOLD || e->type == ST_ENTRY_RELEASE) {
		if (!reason_valid(e->reason, strnlen(e->reason, sizeof(e->reason))))
			return ES_EINVAL;
		n = snprintf(buf, cap, "1\t%s\t%" PRIu64 "\t%" PRId64 "\t%s\thold=%s",
			     e->type == ST_ENTRY_HOLD ? "hold" : "release", e->seq, e->time_us, e->id,
			     e->reason);
	} else {
		return ES_EINVAL;
	}
	if (n < 0 || (size_t)n >= cap)
		return ES_ELIMIT;
	return n;
}

int st_ledger_entry_parse(const char *line, size_t len, struct st_ledger_entry *e, char *err,
			  size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (len > ST_LEDGER_LINE_MAX) {
		es_errf(err, errlen, 0, "line longer than %d bytes", ST_LEDGER_LINE_MAX);
		return ES_EPARSE;
	}
	struct slice f[9];
	size_t n = split_tabs(sl_make(line, len), f, 8);
	if (n < 6 || !sl_eq(f[0], SL_LIT("1"))) {
		es_errf(err, errlen, 0, "not a version 1 entry");
		return ES_EPARSE;
	}
	if (sl_eq(f[1], SL_LIT("rec")))
		e->type = ST_ENTRY_RECORDING;
	else if (sl_eq(f[1], SL_LIT("tomb")))
		e->type = ST_ENTRY_TOMBSTONE;
	else if (sl_eq(f[1], SL_LIT("hold")))
		e->type = ST_ENTRY_HOLD;
	else if (sl_eq(f[1], SL_LIT("release")))
		e->type = ST_ENTRY_RELEASE;
	else {
		es_errf(err, errlen, 0, "unknown entry type");
		return ES_EPARSE;
	}
	if (sl_to_u64(f[2], &e->seq) || parse_time(f[3], &e->time_us)) {
		es_errf(err, errlen, 0, "bad sequence number or time");
		return ES_EPARSE;
	}
	if (!id_valid(f[4].p, f[4].len)) {
		es_errf(err, errlen, 0, "bad recording id");
		return ES_EPARSE;
	}
	memcpy(e->id, f[4].p, f[4].len);
	if (e->type == ST_ENTRY_RECORDING) {
		if (n != 8 || parse_hash_field(f[5], "meta", &e->has_meta, e->meta_sha256) ||
		    parse_hash_field(f[6], "cipher", &e->has_cipher, e->cipher_sha256) ||
		    parse_hash_field(f[7], "plain", &e->has_plain, e->plain_sha256)) {
			es_errf(err, errlen, 0, "bad recording hashes (want meta=, cipher=, plain=)");
			return ES_EPARSE;
		}
	} else if (e->type == ST_ENTRY_HOLD || e->type == ST_ENTRY_RELEASE) {
		if (n != 6 || f[5].len < 6 || memcmp(f[5].p, "hold=", 5) != 0 ||
		    !reason_valid(f[5].p + 5, f[5].len - 5)) {
			es_errf(err, errlen, 0, "bad hold name");
			return ES_EPARSE;
		}
		memcpy(e->reason, f[5].p + 5, f[5].len - 5);
	} else {
		if (n != 6 || f[5].len < 8 || memcmp(f[5].p, "reason=", 7) != 0 ||
		    !reason_valid(f[5].p + 7, f[5].len - 7)) {
			es_errf(err, errlen, 0, "bad tombstone reason");
			return ES_EPARSE;
		}
		memcpy(e->reason, f[5].p + 7, f[5].len - 7);
	}
	/* canonical form only: what we would write, byte for byte */
	char canon[ST_LEDGER_LINE_MAX + 1];
	int cn = st_ledger_entry_format(e, canon, sizeof(canon));
	if (cn < 0 || (size_t)cn != len || memcmp(canon, line, len) != 0) {
		es_errf(err, errlen, 0, "not in canonical form");
		return ES_EPARSE;
	}
	st_merkle_leaf_hash(line, len, e->leaf_hash);
	return 0;
}

/* ---- heads -------------------------------------------------------------------- */

int st_head_format(const struct st_head *h, char *buf, size_t cap)
{
	char root[65], kid[17], sig[129];
	hex_encode(h->root, sizeof(h->root), root);
	hex_encode(h->key_id, sizeof(h->key_id), kid);
	hex_encode(h->sig, sizeof(h->sig), sig);
	if (h->time_us < 0)
		return ES_EINVAL;
	int n = snprintf(buf, cap, "1\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%s", h->size, h->time_us,
			 root, kid, sig);
	if (n < 0 || (size_t)n >= cap)
		return ES_ELIMIT;
	return n;
}

int st_head_message(const struct st_head *h, char *buf, size_t cap)
{
	char root[65];
	hex_encode(h->root, sizeof(h->root), root);
	int n = snprintf(buf, cap, STH_MAGIC "%" PRIu64 "\n%" PRId64 "\n%s\n", h->size, h->time_us,
			 root);
	if (n < 0 || (size_t)n >= cap)
		return ES_ELIMIT;
	return n;
}

int st_head_parse(const char *line, size_t len, struct st_head *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (len > ST_LEDGER_LINE_MAX) {
		es_errf(err, errlen, 0, "line longer than %d bytes", ST_LEDGER_LINE_MAX);
		return ES_EPARSE;
	}
	struct slice f[7];
	size_t n = split_tabs(sl_make(line, len), f, 6);
	if (n != 6 || !sl_eq(f[0], SL_LIT("1"))) {
		es_errf(err, errlen, 0, "not a version 1 tree head");
		return ES_EPARSE;
	}
	if (sl_to_u64(f[1], &h->size) || parse_time(f[2], &h->time_us)) {
		es_errf(err, errlen, 0, "bad tree size or time");
		return ES_EPARSE;
	}
	if (!hex_decode(f[3], h->root, sizeof(h->root)) ||
	    !hex_decode(f[4], h->key_id, sizeof(h->key_id)) ||
	    !hex_decode(f[5], h->sig, sizeof(h->sig))) {
		es_errf(err, errlen, 0, "bad root, key id or signature hex");
		return ES_EPARSE;
	}
	char canon[ST_LEDGER_LINE_MAX + 1];
	int cn = st_head_format(h, canon, sizeof(canon));
	if (cn < 0 || (size_t)cn != len || memcmp(canon, line, len) != 0) {
		es_errf(err, errlen, 0, "not in canonical form");
		return ES_EPARSE;
	}
	return 0;
}

int st_head_verify(const struct st_head *h, const uint8_t pk[ST_LEDGER_PK_LEN])
{
	char msg[256];
	int n = st_head_message(h, msg, sizeof(msg));
	if (n < 0)
		return n;
	if (memcmp(h->key_id, pk, ST_LEDGER_KEYID_LEN) != 0)
		return ES_EPARSE;
	if (crypto_sign_verify_detached(h->sig, (const uint8_t *)msg, (size_t)n, pk) != 0)
		return ES_EPARSE;
	return 0;
}

int st_ledger_verify_evidence(const char *entry_line, size_t entry_len, uint64_t seq,
			      const uint8_t (*path)[ST_HASH_LEN], size_t path_len,
			      const char *head_line, size_t head_len,
			      const uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen)
{
	char why[128];
	struct st_head h;
	struct st_ledger_entry e;
	if (sodium_init() < 0)
		return ES_EIO;
	if (st_head_parse(head_line, head_len, &h, why, sizeof(why))) {
		es_errf(err, errlen, 0, "tree head: %s", why);
		return ES_EPARSE;
	}
	if (st_head_verify(&h, pk)) {
		es_errf(err, errlen, 0, "tree head: the signature does not verify with this public key");
		return ES_EPARSE;
	}
	if (st_ledger_entry_parse(entry_line, entry_len, &e, why, sizeof(why))) {
		es_errf(err, errlen, 0, "entry: %s", why);
		return ES_EPARSE;
	}
	if (e.seq != seq) {
		es_errf(err, errlen, 0, "entry: sequence %" PRIu64 " is not the proven leaf %" PRIu64,
		       e.seq, seq);
		return ES_EPARSE;
	}
	if (seq >= h.size) {
		es_errf(err, errlen, 0, "leaf %" PRIu64 " is not in a tree of %" PRIu64 " leaves", seq,
		       h.size);
		return ES_EINVAL;
	}
	int rc = st_merkle_inclusion_verify(e.leaf_hash, seq, h.size, path, path_len, h.root);
	if (rc) {
		es_errf(err, errlen, 0, "the inclusion proof does not lead to the signed root (%s)",
		       es_strerror(rc));
		return rc;
	}
	return 0;
}

/* ---- the folder ------------------------------------------------------------------ */

struct ld_id {
	struct es_hnode node;
	uint64_t seq;
	bool tomb;
	char id[];
};

struct ld_off {
	uint64_t off;
	uint32_t len;
};

struct st_ledger {
	char *dir;
	int flags;
	int efd, hfd;
	uint64_t eend; /* end of the last whole line of entries.log */
	uint64_t hend; /* and of heads.log */
	uint64_t torn_e, torn_h;
	struct st_merkle_tree tree;
	struct ld_off *offs;
	size_t cap_offs;
	struct es_htab ids;
	struct st_head *heads;
	size_t nheads, cap_heads;
	uint8_t pk[ST_LEDGER_PK_LEN];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	bool has_sk;
};

static int ld_path(const struct st_ledger *l, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", l->dir, name);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* The whole file into b. */
static int slurp(int fd, struct es_buf *b)
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
	return 0;
}

/* Calls fn on every whole line of b; *torn gets the bytes after the last
 * newline.  Stops at the first non-zero return of fn. */
typedef int (*line_fn)(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off);
static int each_line_from(const struct es_buf *b, line_fn fn, void *ctx, uint64_t off0,
			  uint64_t lineno, uint64_t *end, uint64_t *torn);
static int each_line(const struct es_buf *b, line_fn fn, void *ctx, uint64_t *end, uint64_t *torn)
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
	int rc = slurp(*fd, &b);
	if (rc)
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
	if (!rc)
		rc = each_line(&b, fn, &c, end, torn);
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
static int read_keyfile(const char *path, const char *magic, bool secret, uint8_t out[32],
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
		    !hex_decode(sl_make(buf + ml, 64), out, 32)) {
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
	hex_encode(v, 32, buf + ml);
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

static int load_keys(struct st_ledger *l, char *err, size_t errlen)
{
	char kpath[4096], ppath[4096];
	if (ld_path(l, KEYFILE, kpath, sizeof(kpath)) || ld_path(l, PUBFILE, ppath, sizeof(ppath)))
		return ES_ELIMIT;
	uint8_t seed[32], pub[32];
	bool kmiss, pmiss;
	int rc = read_keyfile(kpath, KEY_MAGIC, true, seed, &kmiss, err, errlen);
	if (!rc)
		rc = read_keyfile(ppath, PUB_MAGIC, false, pub, &pmiss, err, errlen);
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
		if ((rc = write_keyfile(kpath, KEY_MAGIC, seed, 0600, err, errlen)) ||
		    (rc = write_keyfile(ppath, PUB_MAGIC, l->pk, 0644, err, errlen)))
			goto out;
		sync_dir(l->dir);
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
		rc = load_keys(l, err, errlen);
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
	if (!id || !id_valid(id, strlen(id)))
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
	if (!id || !id_valid(id, strlen(id)) || !reason || !reason_valid(reason, strlen(reason)))
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
	if (!id || !id_valid(id, strlen(id)) || !name || !reason_valid(name, strlen(name)))
		return ES_EINVAL;
	memcpy(e.id, id, strlen(id) + 1);
	memcpy(e.reason, name, strlen(name) + 1);
	return append_entry(l, &e, seq);
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

/* ---- verification ------------------------------------------------------------------ */

#define VERIFY_MAX_REPORTS 100 /* per file; the rest are only counted */

struct vctx {
	struct st_ledger *l;
	st_ledger_report_fn report;
	void *ctx;
	uint64_t problems, reported;
	struct st_merkle_tree t;
	bool have_prev;
	struct st_head prev;
	uint64_t prev_line, good_size, good_line;
};

static void finding(struct vctx *v, const char *file, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finding(struct vctx *v, const char *file, uint64_t line, const char *fmt, ...)
{
	v->problems++;
	if (!v->report || v->reported++ >= VERIFY_MAX_REPORTS)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->report(v->ctx, file, line, msg);
}

static int verify_entry(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct vctx *v = ctx;
	struct st_ledger_entry e;
	char why[128];
	uint8_t leaf[ST_HASH_LEN];
	(void)off;
	/* the leaf is the line whatever it holds, so that later heads can
	 * still be checked against the rest */
	st_merkle_leaf_hash(p, len, leaf);
	if (st_merkle_tree_append(&v->t, leaf))
		return ES_ENOMEM;
	if (st_ledger_entry_parse(p, len, &e, why, sizeof(why)))
		finding(v, ENTRIES, lineno, "malformed entry: %s", why);
	else if (e.seq != lineno - 1)
		finding(v, ENTRIES, lineno,
			"sequence %" PRIu64 ", expected %" PRIu64 " (a line is missing or out of order)",
			e.seq, lineno - 1);
	if (lineno - 1 < v->l->tree.size &&
	    memcmp(leaf, st_merkle_tree_leaf(&v->l->tree, lineno - 1), ST_HASH_LEN) != 0)
		finding(v, ENTRIES, lineno, "the line changed since the ledger was opened");
	return 0;
}

static void check_root(struct vctx *v, const struct st_head *h, uint64_t lineno)
{
	uint8_t root[ST_HASH_LEN];
	if (h->size > v->t.size) {
		finding(v, HEADS, lineno,
			"the head covers %" PRIu64 " leaves but entries.log has %" PRIu64
			" (lines were removed)",
			h->size, v->t.size);
		return;
	}
	st_merkle_tree_root(&v->t, h->size, root);
	if (memcmp(root, h->root, ST_HASH_LEN) == 0) {
		if (h->size >= v->good_size) {
			v->good_size = h->size;
			v->good_line = lineno;
		}
		return;
	}
	if (v->good_line)
		finding(v, HEADS, lineno,
			"the root does not match the first %" PRIu64 " leaves: entries.log lines %" PRIu64
			"..%" PRIu64 " were changed (or this head was), since the good head of heads.log "
			"line %" PRIu64,
			h->size, v->good_size + 1, h->size, v->good_line);
	else
		finding(v, HEADS, lineno,
			"the root does not match the first %" PRIu64 " leaves: entries.log lines 1..%" PRIu64
			" were changed (or this head was)",
			h->size, h->size);
}

static int verify_head(void *ctx, const char *p, size_t len, uint64_t lineno, uint64_t off)
{
	struct vctx *v = ctx;
	struct st_head h;
	char why[128];
	(void)off;
	if (st_head_parse(p, len, &h, why, sizeof(why))) {
		finding(v, HEADS, lineno, "malformed tree head: %s", why);
		return 0;
	}
	if (memcmp(h.key_id, v->l->pk, ST_LEDGER_KEYID_LEN) != 0) {
		char a[17], b[17];
		hex_encode(h.key_id, ST_LEDGER_KEYID_LEN, a);
		hex_encode(v->l->pk, ST_LEDGER_KEYID_LEN, b);
		finding(v, HEADS, lineno, "signed by key id %s, not by this ledger's key %s", a, b);
	} else if (st_head_verify(&h, v->l->pk) != 0) {
		finding(v, HEADS, lineno, "the signature does not verify with ledger.pub");
	}
	check_root(v, &h, lineno);
	if (v->have_prev) {
		const struct st_head *q = &v->prev;
		if (h.size < q->size)
			finding(v, HEADS, lineno,
				"the tree shrinks from %" PRIu64 " to %" PRIu64 " leaves", q->size, h.size);
		if (h.time_us < q->time_us)
			finding(v, HEADS, lineno, "the time goes back from the previous head");
		uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		size_t plen;
		if (h.size >= q->size && h.size <= v->t.size &&
		    (st_merkle_tree_consistency_proof(&v->t, h.size, q->size, proof, &plen) ||
		     st_merkle_consistency_verify(q->size, h.size, q->root, h.root,
						  (const uint8_t(*)[ST_HASH_LEN])proof, plen)))
			finding(v, HEADS, lineno,
				"not consistent with the head of line %" PRIu64
				" (RFC 9162 consistency proof %" PRIu64 " -> %" PRIu64 " fails)",
				v->prev_line, q->size, h.size);
	}
	v->prev = h;
	v->prev_line = lineno;
	v->have_prev = true;
	return 0;
}

static int verify_file(struct vctx *v, int fd, const char *name, line_fn fn)
{
	if (fd < 0)
		return 0; /* read-only ledger without this file: empty */
	struct es_buf b;
	es_buf_init(&b);
	uint64_t end, torn;
	int rc = slurp(fd, &b);
	v->reported = 0;
	if (!rc)
		rc = each_line(&b, fn, v, &end, &torn);
	es_buf_free(&b);
	if (!rc && torn)
		finding(v, name, 0, "a torn last line of %" PRIu64 " bytes (no newline) is ignored",
			torn);
	return rc;
}

int st_ledger_verify(struct st_ledger *l, st_ledger_report_fn report, void *ctx,
		     uint64_t *problems)
{
	struct vctx v = {.l = l, .report = report, .ctx = ctx};
	st_merkle_tree_init(&v.t);
	int rc = verify_file(&v, l->efd, ENTRIES, verify_entry);
	if (!rc && v.t.size != l->tree.size)
		finding(&v, ENTRIES, 0,
			"%" PRIu64 " leaves on disk, %" PRIu64 " when the ledger was opened or appended",
			v.t.size, l->tree.size);
	if (!rc)
		rc = verify_file(&v, l->hfd, HEADS, verify_head);
	if (!rc) {
		v.reported = 0;
		if (!v.have_prev && v.t.size)
			finding(&v, HEADS, 0, "no signed head covers the %" PRIu64 " leaves", v.t.size);
		else if (v.have_prev && v.prev.size < v.t.size)
			finding(&v, ENTRIES, v.prev.size + 1,
				"entries.log lines %" PRIu64 "..%" PRIu64
				" are not covered by a signed head (not committed)",
				v.prev.size + 1, v.t.size);
	}
	st_merkle_tree_free(&v.t);
	if (problems)
		*problems = v.problems;
	if (rc)
		return rc;
	return v.problems ? ES_EFORMAT : 0;
}
