/* ledger_format.c - the ledger's line formats (entries.log, heads.log) and
 * signed tree heads: parse, format, sign-message, verify; nothing here needs
 * the ledger folder (ledger.h describes the formats). */
#include "store/ledger_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STH_MAGIC "earshot-sth-v1\n"

/* ---- hex and fields ---------------------------------------------------------- */

void st_ld_hex_encode(const uint8_t *p, size_t n, char *out)
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
bool st_ld_hex_decode(struct slice s, uint8_t *out, size_t n)
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

bool st_ld_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > ST_LEDGER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
			return false;
	return true;
}

bool st_ld_reason_valid(const char *r, size_t len)
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
	return st_ld_hex_decode(v, out, 32) ? 0 : ES_EPARSE;
}

/* ---- entries ------------------------------------------------------------------ */

static bool starts(struct slice s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool redact_channel_valid(struct slice c)
{
	return sl_eq(c, SL_LIT("caller")) || sl_eq(c, SL_LIT("callee")) || sl_eq(c, SL_LIT("both"));
}

/* A transcript is one party's words: "caller" or "callee", never "both". */
static bool tr_channel_valid(struct slice c)
{
	return sl_eq(c, SL_LIT("caller")) || sl_eq(c, SL_LIT("callee"));
}

static struct slice cstr_n(const char *s, size_t cap)
{
	return sl_make(s, strnlen(s, cap));
}

/* The fields after the id of a tr leaf: channel=, sealed=, plain=, row=,
 * engine=, made=. */
static int format_tr(const struct st_ledger_entry *e, char *buf, size_t cap)
{
	if (!tr_channel_valid(cstr_n(e->channel, sizeof(e->channel))) ||
	    !st_ld_reason_valid(e->engine, strnlen(e->engine, sizeof(e->engine))) ||
	    e->made_us < 0)
		return ES_EINVAL;
	char h[3][65];
	st_ld_hex_encode(e->cipher_sha256, 32, h[0]);
	st_ld_hex_encode(e->plain_sha256, 32, h[1]);
	st_ld_hex_encode(e->meta_sha256, 32, h[2]);
	return snprintf(buf, cap,
			"1\ttr\t%" PRIu64 "\t%" PRId64 "\t%s\tchannel=%s\tsealed=%s\tplain=%s\trow=%s"
			"\tengine=%s\tmade=%" PRId64,
			e->seq, e->time_us, e->id, e->channel, h[0], h[1], h[2], e->engine,
			e->made_us);
}

static int parse_tr(const struct slice *f, size_t n, struct st_ledger_entry *e)
{
	struct slice v;
	bool has = false;
	uint64_t made;
	if (n != 11 || !starts(f[5], "channel="))
		return ES_EPARSE;
	v = sl_sub(f[5], 8, f[5].len - 8);
	if (!tr_channel_valid(v))
		return ES_EPARSE;
	memcpy(e->channel, v.p, v.len);
	if (parse_hash_field(f[6], "sealed", &has, e->cipher_sha256) || !has ||
	    parse_hash_field(f[7], "plain", &has, e->plain_sha256) || !has ||
	    parse_hash_field(f[8], "row", &has, e->meta_sha256) || !has)
		return ES_EPARSE;
	e->has_cipher = e->has_plain = e->has_meta = true;
	if (!starts(f[9], "engine="))
		return ES_EPARSE;
	v = sl_sub(f[9], 7, f[9].len - 7);
	if (!st_ld_reason_valid(v.p, v.len))
		return ES_EPARSE;
	memcpy(e->engine, v.p, v.len);
	if (!starts(f[10], "made=") || sl_to_u64(sl_sub(f[10], 5, f[10].len - 5), &made) ||
	    made > (uint64_t)INT64_MAX)
		return ES_EPARSE;
	e->made_us = (int64_t)made;
	return 0;
}

int st_ledger_entry_format(const struct st_ledger_entry *e, char *buf, size_t cap)
{
	size_t idlen = strnlen(e->id, sizeof(e->id));
	if (!st_ld_id_valid(e->id, idlen) || e->time_us < 0)
		return ES_EINVAL;
	int n;
	if (e->type == ST_ENTRY_RECORDING) {
		char h[3][65];
		const uint8_t *v[3] = {e->meta_sha256, e->cipher_sha256, e->plain_sha256};
		const bool has[3] = {e->has_meta, e->has_cipher, e->has_plain};
		for (int i = 0; i < 3; i++) {
			if (has[i])
				st_ld_hex_encode(v[i], 32, h[i]);
			else
				strcpy(h[i], "-");
		}
		n = snprintf(buf, cap, "1\trec\t%" PRIu64 "\t%" PRId64 "\t%s\tmeta=%s\tcipher=%s\tplain=%s",
			     e->seq, e->time_us, e->id, h[0], h[1], h[2]);
	} else if (e->type == ST_ENTRY_TOMBSTONE) {
		if (!st_ld_reason_valid(e->reason, strnlen(e->reason, sizeof(e->reason))))
			return ES_EINVAL;
		n = snprintf(buf, cap, "1\ttomb\t%" PRIu64 "\t%" PRId64 "\t%s\treason=%s", e->seq,
			     e->time_us, e->id, e->reason);
	} else if (e->type == ST_ENTRY_HOLD || e->type == ST_ENTRY_RELEASE) {
		if (!st_ld_reason_valid(e->reason, strnlen(e->reason, sizeof(e->reason))))
			return ES_EINVAL;
		n = snprintf(buf, cap, "1\t%s\t%" PRIu64 "\t%" PRId64 "\t%s\thold=%s",
			     e->type == ST_ENTRY_HOLD ? "hold" : "release", e->seq, e->time_us, e->id,
			     e->reason);
	} else if (e->type == ST_ENTRY_TRANSCRIPT) {
		n = format_tr(e, buf, cap);
	} else if (e->type == ST_ENTRY_TR_TOMB) {
		if (!tr_channel_valid(cstr_n(e->channel, sizeof(e->channel))) ||
		    !st_ld_reason_valid(e->reason, strnlen(e->reason, sizeof(e->reason))))
			return ES_EINVAL;
		n = snprintf(buf, cap, "1\ttrtomb\t%" PRIu64 "\t%" PRId64 "\t%s\tchannel=%s\treason=%s",
			     e->seq, e->time_us, e->id, e->channel, e->reason);
	} else if (e->type == ST_ENTRY_REDACT) {
		if (!redact_channel_valid(sl_make(e->channel, strnlen(e->channel, sizeof(e->channel)))) ||
		    e->span_from_ms >= e->span_to_ms || e->of_seq >= e->seq)
			return ES_EINVAL;
		char h[65];
		st_ld_hex_encode(e->detail_sha256, 32, h);
		n = snprintf(buf, cap,
			     "1\tredact\t%" PRIu64 "\t%" PRId64 "\t%s\tof=%" PRIu64 "\tspan=%" PRIu64
			     "-%" PRIu64 "\tchannel=%s\tdetail=%s",
			     e->seq, e->time_us, e->id, e->of_seq, e->span_from_ms, e->span_to_ms,
			     e->channel, h);
	} else {
		return ES_EINVAL;
	}
	if (n < 0 || (size_t)n >= cap)
		return ES_ELIMIT;
	return n;
}

/* The fields after the id of a redact leaf: of=, span=, channel=, detail=. */
static int parse_redact(const struct slice *f, size_t n, struct st_ledger_entry *e)
{
	struct slice v, a, b;
	if (n != 9 || !starts(f[5], "of=") ||
	    sl_to_u64(sl_sub(f[5], 3, f[5].len - 3), &e->of_seq))
		return ES_EPARSE;
	if (!starts(f[6], "span="))
		return ES_EPARSE;
	v = sl_sub(f[6], 5, f[6].len - 5);
	if (!sl_split(v, '-', &a, &b) || sl_to_u64(a, &e->span_from_ms) ||
	    sl_to_u64(b, &e->span_to_ms))
		return ES_EPARSE;
	if (!starts(f[7], "channel="))
		return ES_EPARSE;
	v = sl_sub(f[7], 8, f[7].len - 8);
	if (!redact_channel_valid(v))
		return ES_EPARSE;
	memcpy(e->channel, v.p, v.len);
	bool has = false;
	if (parse_hash_field(f[8], "detail", &has, e->detail_sha256) || !has)
		return ES_EPARSE;
	return 0;
}

int st_ledger_entry_parse(const char *line, size_t len, struct st_ledger_entry *e, char *err,
			  size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (len > ST_LEDGER_LINE_MAX) {
		es_errf(err, errlen, 0, "line longer than %d bytes", ST_LEDGER_LINE_MAX);
		return ES_EPARSE;
	}
	struct slice f[12];
	size_t n = split_tabs(sl_make(line, len), f, 11);
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
	else if (sl_eq(f[1], SL_LIT("redact")))
		e->type = ST_ENTRY_REDACT;
	else if (sl_eq(f[1], SL_LIT("tr")))
		e->type = ST_ENTRY_TRANSCRIPT;
	else if (sl_eq(f[1], SL_LIT("trtomb")))
		e->type = ST_ENTRY_TR_TOMB;
	else {
		es_errf(err, errlen, 0, "unknown entry type");
		return ES_EPARSE;
	}
	if (sl_to_u64(f[2], &e->seq) || parse_time(f[3], &e->time_us)) {
		es_errf(err, errlen, 0, "bad sequence number or time");
		return ES_EPARSE;
	}
	if (!st_ld_id_valid(f[4].p, f[4].len)) {
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
		    !st_ld_reason_valid(f[5].p + 5, f[5].len - 5)) {
			es_errf(err, errlen, 0, "bad hold name");
			return ES_EPARSE;
		}
		memcpy(e->reason, f[5].p + 5, f[5].len - 5);
	} else if (e->type == ST_ENTRY_REDACT) {
		if (parse_redact(f, n, e)) {
			es_errf(err, errlen, 0, "bad redaction (want of=, span=, channel=, detail=)");
			return ES_EPARSE;
		}
	} else if (e->type == ST_ENTRY_TRANSCRIPT) {
		if (parse_tr(f, n, e)) {
			es_errf(err, errlen, 0, "bad transcript (want channel=, sealed=, plain=, "
				"row=, engine=, made=)");
			return ES_EPARSE;
		}
	} else if (e->type == ST_ENTRY_TR_TOMB) {
		struct slice v = n == 7 && starts(f[5], "channel=") ? sl_sub(f[5], 8, f[5].len - 8)
								   : SL_LIT("");
		if (n != 7 || !tr_channel_valid(v) || f[6].len < 8 || memcmp(f[6].p, "reason=", 7) != 0 ||
		    !st_ld_reason_valid(f[6].p + 7, f[6].len - 7)) {
			es_errf(err, errlen, 0, "bad transcript tombstone (want channel=, reason=)");
			return ES_EPARSE;
		}
		memcpy(e->channel, v.p, v.len);
		memcpy(e->reason, f[6].p + 7, f[6].len - 7);
	} else {
		if (n != 6 || f[5].len < 8 || memcmp(f[5].p, "reason=", 7) != 0 ||
		    !st_ld_reason_valid(f[5].p + 7, f[5].len - 7)) {
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
	st_ld_hex_encode(h->root, sizeof(h->root), root);
	st_ld_hex_encode(h->key_id, sizeof(h->key_id), kid);
	st_ld_hex_encode(h->sig, sizeof(h->sig), sig);
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
	st_ld_hex_encode(h->root, sizeof(h->root), root);
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
	if (!st_ld_hex_decode(f[3], h->root, sizeof(h->root)) ||
	    !st_ld_hex_decode(f[4], h->key_id, sizeof(h->key_id)) ||
	    !st_ld_hex_decode(f[5], h->sig, sizeof(h->sig))) {
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

/* ---- published heads (anchors) ------------------------------------------------ */

int st_head_format_published(const struct st_head *h, char *buf, size_t cap)
{
	size_t tl = strlen(ST_HEAD_PUBLISHED_TAG);
	if (cap <= tl)
		return ES_ELIMIT;
	memcpy(buf, ST_HEAD_PUBLISHED_TAG, tl);
	int n = st_head_format(h, buf + tl, cap - tl);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (buf[tl + (size_t)i] == '\t')
			buf[tl + (size_t)i] = ' ';
	return (int)tl + n;
}

int st_head_parse_published(const char *line, size_t len, struct st_head *h, char *err,
			    size_t errlen)
{
	static const char tag[] = ST_HEAD_PUBLISHED_TAG;
	const size_t tl = sizeof(tag) - 1;
	char buf[ST_LEDGER_LINE_MAX + 1];
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	/* a heads.log line as written: "1\t..." */
	if (len > 2 && line[0] == '1' && line[1] == '\t')
		return st_head_parse(line, len, h, err, errlen);
	const char *p = NULL;
	for (size_t i = 0; i + tl <= len && !p; i++)
		if (line[i] == tag[0] && memcmp(line + i, tag, tl) == 0)
			p = line + i + tl;
	if (!p) {
		es_errf(err, errlen, 0, "no tree head in this line");
		return ES_ENOTFOUND;
	}
	/* the six spaced fields, up to the end of the line or the next space
	 * after them (a collector may append its own text) */
	size_t n = 0, fields = 0, rest = len - (size_t)(p - line);
	while (n < rest && n < sizeof(buf) - 1) {
		if (p[n] == ' ' && ++fields == 6)
			break;
		buf[n] = p[n] == ' ' ? '\t' : p[n];
		n++;
	}
	return st_head_parse(buf, n, h, err, errlen);
}

int st_heads_read(const char *path, struct st_head **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", path,
			       strerror(errno));
	char *line = NULL, why[128];
	size_t cap = 0, have = 0;
	ssize_t len;
	uint64_t lineno = 0;
	int rc = 0;
	struct st_head h, *v = NULL;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		int prc = st_head_parse_published(line, (size_t)len, &h, why, sizeof(why));
		if (prc == ES_ENOTFOUND)
			continue;
		if (prc) {
			rc = es_errf(err, errlen, ES_EPARSE, "%s:%" PRIu64 ": %s", path, lineno, why);
			break;
		}
		if (*n == have) {
			size_t nc = have ? have * 2 : 16;
			void *np = realloc(v, nc * sizeof(*v));
			if (!np) {
				rc = es_errf(err, errlen, ES_ENOMEM, "%s: out of memory", path);
				break;
			}
			v = np;
			have = nc;
		}
		v[(*n)++] = h;
	}
	if (!rc && ferror(f))
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	if (!rc && !*n)
		rc = es_errf(err, errlen, ES_ENOTFOUND, "%s: no tree head in it", path);
	free(line);
	fclose(f);
	if (rc) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
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
