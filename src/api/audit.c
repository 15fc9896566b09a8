/*
 * audit.c - the hash-chained audit log (api.h): appending, listing and
 * verifying.  The chain's rule is written once, in entry_hash().
 */
#include "api/api.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* The canonical form's escaping: '\\', TAB, LF, CR; so that no field can
 * forge a separator. */
static void put_field(crypto_hash_sha256_state *h, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc = NULL;
		switch (*s) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: continue;
		}
		crypto_hash_sha256_update(h, (const unsigned char *)run, (size_t)(s - run));
		crypto_hash_sha256_update(h, (const unsigned char *)esc, 2);
		run = s + 1;
	}
	crypto_hash_sha256_update(h, (const unsigned char *)run, (size_t)(s - run));
}

static bool hex32(const char *hex, unsigned char out[32])
{
	size_t n = 0;
	if (!hex || strlen(hex) != 64)
		return false;
	for (const char *c = hex; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return sodium_hex2bin(out, 32, hex, 64, NULL, &n, NULL) == 0 && n == 32;
}

static const char *nz(const char *s) { return s ? s : ""; }

int api_audit_hash(const char *prev_hash, const struct idx_audit *a, char out[IDX_HEX256])
{
	unsigned char prev[32], md[32];
	if (sodium_init() < 0)
		return ES_ENOMEM;
	if (!prev_hash || !prev_hash[0])
		prev_hash = ZERO_HASH;
	if (!hex32(prev_hash, prev))
		return ES_EINVAL;
	char nums[48];
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, prev, sizeof(prev));
	snprintf(nums, sizeof(nums), "%lld\t%lld\t", (long long)a->seq, (long long)a->time_us);
	crypto_hash_sha256_update(&h, (const unsigned char *)nums, strlen(nums));
	const char *fields[] = {a->user ? a->user : "-", nz(a->action), nz(a->object),
				nz(a->remote), nz(a->outcome), nz(a->detail)};
	for (unsigned i = 0; i < ES_ARRAY_LEN(fields); i++) {
		if (i)
			crypto_hash_sha256_update(&h, (const unsigned char *)"\t", 1);
		put_field(&h, fields[i]);
	}
	crypto_hash_sha256_final(&h, md);
	sodium_bin2hex(out, IDX_HEX256, md, sizeof(md));
	return 0;
}

int api_audit_append_tx(struct idx *ix, int64_t time_us, const char *user, const char *action,
			const char *object, const char *remote, const char *outcome,
			const char *detail, int64_t *seq)
{
	struct idx_audit a = {
		.time_us = time_us,
		.user = user && user[0] ? user : "-",
		.action = nz(action),
		.object = nz(object),
		.remote = nz(remote),
		.outcome = nz(outcome),
		.detail = nz(detail),
	};
	int64_t last;
	int err = idx_audit_last(ix, &last, a.prev_hash);
	if (err)
		return err;
	if (!a.prev_hash[0])
		memcpy(a.prev_hash, ZERO_HASH, sizeof(a.prev_hash));
	a.seq = last + 1;
	/* A damaged head (not hex) still gets a successor: the chain stays
	 * broken at the damaged entry, where verify says so. */
	if (api_audit_hash(a.prev_hash, &a, a.hash) == ES_EINVAL) {
		memcpy(a.prev_hash, ZERO_HASH, sizeof(a.prev_hash));
		if ((err = api_audit_hash(a.prev_hash, &a, a.hash)))
			return err;
	}
	if ((err = idx_audit_insert(ix, &a)))
		return err;
	if (seq)
		*seq = a.seq;
	return 0;
}

int api_audit_append(struct idx *ix, int64_t time_us, const char *user, const char *action,
		     const char *object, const char *remote, const char *outcome,
		     const char *detail, int64_t *seq)
{
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = api_audit_append_tx(ix, time_us, user, action, object, remote, outcome,
				       detail, seq)) ||
	    (err = idx_commit(ix)))
		idx_rollback(ix);
	return err;
}

int api_audit_list(struct idx *ix, const struct idx_audit_filter *f, idx_audit_fn fn, void *ud)
{
	return idx_audit_list(ix, f, fn, ud);
}

struct walk {
	struct api_audit_check *r;
	char prev[IDX_HEX256];
	int64_t prev_seq;
};

static int broken(struct walk *w, int64_t seq, const char *reason)
{
	w->r->bad_seq = seq;
	snprintf(w->r->reason, sizeof(w->r->reason), "%s", reason);
	return API_EAUTH;
}

static int check_one(void *ud, const struct idx_audit *a)
{
	struct walk *w = ud;
	struct api_audit_check *r = w->r;
	char want[IDX_HEX256], why[160];
	r->entries++;
	if (!r->first_seq)
		r->first_seq = a->seq;
	/* A gap is a deleted entry; the first entry must be 1 (deleting
	 * the oldest entries is a gap too). */
	if (a->seq != w->prev_seq + 1) {
		snprintf(why, sizeof(why), "expected seq %lld here: %s", (long long)(w->prev_seq + 1),
			 a->seq > w->prev_seq + 1 ? "an entry before it was removed"
						  : "entries were renumbered or reordered");
		return broken(w, a->seq, why);
	}
	if (strcmp(a->prev_hash, w->prev) != 0)
		return broken(w, a->seq,
			      "prev_hash does not match the previous entry's hash: an entry "
			      "before it was removed, replaced or reordered");
	if (api_audit_hash(a->prev_hash, a, want) || strcmp(want, a->hash) != 0)
		return broken(w, a->seq,
			      "hash does not match the entry's content: the entry was edited");
	w->prev_seq = a->seq;
	memcpy(w->prev, a->hash, sizeof(w->prev));
	r->last_seq = a->seq;
	memcpy(r->last_hash, a->hash, sizeof(r->last_hash));
	return 0;
}

int api_audit_verify(struct idx *ix, struct api_audit_check *r)
{
	memset(r, 0, sizeof(*r));
	struct walk w = {.r = r};
	memcpy(w.prev, ZERO_HASH, sizeof(w.prev));
	return idx_audit_list(ix, NULL, check_one, &w);
}

/* ---- what was searched for, sealed (issue #19) --------------------------------------- */

#define AUDIT_VALUE_MAX 120 /* bytes of one parameter's value kept */
#define AUDIT_SEAL_PAD 32   /* a sealed value's length says less about its words */

/* the parameters whose values are words someone may have said */
static const char *const sealed_params[] = {"text", "keyword", NULL};

bool api_audit_sealed_param(const char *k)
{
	for (const char *const *p = sealed_params; *p; p++)
		if (!strcmp(*p, k))
			return true;
	return false;
}

int api_audit_put_param(struct idx *ix, struct es_buf *out, const char *k, const char *v)
{
	size_t n = strnlen(v, AUDIT_VALUE_MAX);
	int err;
	if (!api_audit_sealed_param(k)) {
		err = es_buf_printf(out, "; %s=%.*s", k, (int)n, v);
	} else {
		struct es_buf sealed;
		es_buf_init(&sealed);
		int se = idx_seal(ix, IDX_SEAL_AUDIT, 0, v, n, AUDIT_SEAL_PAD, &sealed);
		if (se == ES_ENOMEM)
			err = se;
		else
			err = es_buf_printf(out, "; %s=%s", k,
					    se ? "[withheld]" : (const char *)sealed.p);
		es_buf_free(&sealed);
	}
	/* es_buf_printf keeps the NUL after len */
	return err;
}

static bool b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int api_audit_reveal(struct idx *ix, const char *detail, struct es_buf *out, unsigned *opened)
{
	const size_t pl = sizeof(IDX_SEAL_PREFIX) - 1;
	struct es_buf v;
	es_buf_init(&v);
	int err = 0;
	*opened = 0;
	es_buf_reset(out);
	const char *p = detail, *s;
	while (!err && (s = strstr(p, IDX_SEAL_PREFIX))) {
		const char *e = s + pl;
		while (b64url(*e))
			e++;
		if ((err = es_buf_append(out, p, (size_t)(s - p))))
			break;
		int oe = idx_unseal(ix, IDX_SEAL_AUDIT, 0, s, (size_t)(e - s), &v);
		if (oe == ES_ENOMEM) {
			err = oe;
		} else if (oe) {
			err = es_buf_append(out, s, (size_t)(e - s));
			if (!err)
				err = es_buf_append(out, " [cannot be opened]", 19);
		} else {
			err = es_buf_append(out, v.p, v.len);
			(*opened)++;
		}
		p = e;
	}
	if (!err)
		err = es_buf_append(out, p, strlen(p) + 1);
	if (!err)
		out->len--; /* the NUL stays after len */
	if (v.p)
		sodium_memzero(v.p, v.cap);
	es_buf_free(&v);
	return err;
}
