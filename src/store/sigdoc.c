/*
 * sigdoc.c - documents signed with the ledger's key (sigdoc.h).
 */
#include "store/sigdoc.h"
#include "store/ledger_internal.h"

#include <sodium.h>
#include <string.h>

#define SIG_PREFIX "sig "

int st_pub_parse(const uint8_t *p, size_t n, uint8_t pk[ST_LEDGER_PK_LEN])
{
	size_t ml = sizeof(ST_PUB_MAGIC) - 1;
	if (n != ml + 1 + 2 * ST_LEDGER_PK_LEN + 1 || memcmp(p, ST_PUB_MAGIC, ml) || p[ml] != ' ' ||
	    p[n - 1] != '\n' ||
	    !st_ld_hex_decode(sl_make((const char *)p + ml + 1, 2 * ST_LEDGER_PK_LEN), pk,
			      ST_LEDGER_PK_LEN))
		return ES_EFORMAT;
	return 0;
}

int st_sigdoc_write(struct es_buf *out, const struct st_ledger *l, const char *magic,
		    const char *body, size_t len)
{
	if (memchr(body, '\n', len) || strchr(magic, '\n'))
		return ES_EINVAL;
	uint8_t pk[ST_LEDGER_PK_LEN], sig[ST_LEDGER_SIG_LEN];
	char pkhex[2 * ST_LEDGER_PK_LEN + 1], sighex[2 * ST_LEDGER_SIG_LEN + 1];
	st_ledger_public_key(l, pk);
	st_ld_hex_encode(pk, sizeof(pk), pkhex);
	size_t start = out->len;
	int err = es_buf_printf(out, "%s\n", magic);
	if (!err)
		err = es_buf_append(out, body, len);
	if (!err)
		err = es_buf_printf(out, "\n" ST_PUB_MAGIC " %s\n", pkhex);
	if (!err)
		err = st_ledger_sign(l, out->p + start, out->len - start, sig);
	if (!err) {
		st_ld_hex_encode(sig, sizeof(sig), sighex);
		err = es_buf_printf(out, SIG_PREFIX "%s\n", sighex);
	}
	return err;
}

/* The line at *at (without its newline); false when no newline ends it. */
static bool take_line(const uint8_t *p, size_t n, size_t *at, struct slice *line)
{
	const uint8_t *nl = *at < n ? memchr(p + *at, '\n', n - *at) : NULL;
	if (!nl)
		return false;
	*line = sl_make((const char *)p + *at, (size_t)(nl - (p + *at)));
	*at = (size_t)(nl - p) + 1;
	return true;
}

int st_sigdoc_check(const uint8_t *p, size_t n, const char *magic, struct st_sigdoc *d,
		    char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	size_t at = 0, signed_end;
	struct slice l1, l3, l4;
	if (!take_line(p, n, &at, &l1) || l1.len != strlen(magic) || memcmp(l1.p, magic, l1.len))
		return es_errf(err, errlen, ES_EFORMAT, "line 1 is not \"%s\"", magic);
	if (!take_line(p, n, &at, &d->body) || !d->body.len)
		return es_errf(err, errlen, ES_EFORMAT, "line 2 (the report) is missing");
	size_t pub_at = at;
	if (!take_line(p, n, &at, &l3) ||
	    st_pub_parse(p + pub_at, at - pub_at, d->pk))
		return es_errf(err, errlen, ES_EFORMAT,
			       "line 3 is not \"" ST_PUB_MAGIC " <64 lowercase hex digits>\"");
	d->pub_line = sl_make((const char *)p + pub_at, at - pub_at);
	signed_end = at;
	uint8_t sig[ST_LEDGER_SIG_LEN];
	size_t sl = sizeof(SIG_PREFIX) - 1;
	if (!take_line(p, n, &at, &l4) || l4.len != sl + 2 * ST_LEDGER_SIG_LEN ||
	    memcmp(l4.p, SIG_PREFIX, sl) ||
	    !st_ld_hex_decode(sl_make(l4.p + sl, 2 * ST_LEDGER_SIG_LEN), sig, sizeof(sig)))
		return es_errf(err, errlen, ES_EFORMAT, "line 4 is not \"sig <128 lowercase hex "
			       "digits>\"");
	if (at != n)
		return es_errf(err, errlen, ES_EFORMAT, "%zu bytes after the signature", n - at);
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const uint8_t *)d->pub_line.p, d->pub_line.len);
	st_ld_hex_encode(h, sizeof(h), d->fingerprint);
	if (st_sig_verify(d->pk, p, signed_end, sig))
		return es_errf(err, errlen, ES_EPARSE, "the signature does not verify with the key "
			       "of line 3: the report was changed after it was signed");
	return 0;
}
