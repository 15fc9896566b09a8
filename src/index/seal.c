/*
 * seal.c - values that say what was said, sealed in the index (issue #19):
 * the blind index (trblind.c) makes words searchable without keeping them,
 * but a call's findings (the keyword phrases hit, for the call page) and
 * the text= of a search in the audit log must be given back as they were.
 * They are encrypted under a key derived from the search key (wrapped by
 * the data folder's KEK; record/tr_search.c), so a copy of the index alone
 * (`sqlite3 .dump`, `pg_dump`) reads none of them, and no second key has
 * to be made, wrapped, rotated or shared between nodes.
 *
 * Stored form: "sealed:" base64url(nonce[24] || XChaCha20-Poly1305(pad(plain)))
 * with associated data label, NUL, ctx (8 bytes big-endian).  The padding
 * (ISO/IEC 7816-4, sodium_pad) rounds the length up so that a search's
 * length says less about its words.
 */
#include "index/index_internal.h"

#include <sodium.h>
#include <string.h>

#define SEAL_PREFIX_LEN (sizeof(IDX_SEAL_PREFIX) - 1)
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_PLAIN_MAX (16u << 20) /* far above any findings JSON */

bool idx_is_sealed(const char *s)
{
	return s && !strncmp(s, IDX_SEAL_PREFIX, SEAL_PREFIX_LEN);
}

/* label NUL ctx(8, big-endian) into ad; its length. */
static size_t seal_ad(const char *label, int64_t ctx, uint8_t *ad, size_t cap)
{
	size_t n = strlen(label);
	if (n + 9 > cap)
		n = cap - 9;
	memcpy(ad, label, n);
	ad[n] = 0;
	for (int i = 0; i < 8; i++)
		ad[n + 1 + i] = (uint8_t)((uint64_t)ctx >> (56 - 8 * i));
	return n + 9;
}

int idx_seal(struct idx *ix, const char *label, int64_t ctx, const void *plain, size_t n,
	     size_t pad, struct es_buf *out)
{
	uint8_t key[IDX_TR_KEY_BYTES], ad[80];
	uint8_t *buf = NULL;
	if (n > SEAL_PLAIN_MAX)
		return ES_ELIMIT;
	int err = idx_tr_subkey(ix, label, key);
	if (err)
		return err;
	size_t block = pad ? pad : 1, padded = 0;
	size_t room = n + block; /* sodium_pad adds 1..block bytes */
	size_t raw = SEAL_NONCE + room + SEAL_TAG;
	if (!(buf = malloc(raw + room))) {
		err = ES_ENOMEM;
		goto out;
	}
	uint8_t *pt = buf + raw;
	memcpy(pt, plain, n);
	if (sodium_pad(&padded, pt, n, block, room)) {
		err = ES_EINVAL;
		goto out;
	}
	randombytes_buf(buf, SEAL_NONCE);
	unsigned long long clen = 0;
	size_t adn = seal_ad(label, ctx, ad, sizeof(ad));
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + SEAL_NONCE, &clen, pt, padded, ad, adn,
						   NULL, buf, key);
	size_t b64 = sodium_base64_ENCODED_LEN(SEAL_NONCE + clen,
					       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	es_buf_reset(out);
	if ((err = es_buf_reserve(out, SEAL_PREFIX_LEN + b64)))
		goto out;
	memcpy(out->p, IDX_SEAL_PREFIX, SEAL_PREFIX_LEN);
	sodium_bin2base64((char *)out->p + SEAL_PREFIX_LEN, b64, buf, SEAL_NONCE + clen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out->len = strlen((const char *)out->p);
out:
	if (buf) {
		sodium_memzero(buf, raw + room);
		free(buf);
	}
	sodium_memzero(key, sizeof(key));
	return err;
}

int idx_unseal(struct idx *ix, const char *label, int64_t ctx, const char *s, size_t n,
	       struct es_buf *out)
{
	uint8_t key[IDX_TR_KEY_BYTES], ad[80];
	uint8_t *bin = NULL;
	size_t blen = 0;
	int err = 0;
	if (n < SEAL_PREFIX_LEN || strncmp(s, IDX_SEAL_PREFIX, SEAL_PREFIX_LEN))
		return ES_EPARSE;
	s += SEAL_PREFIX_LEN;
	n -= SEAL_PREFIX_LEN;
	if (n / 4 * 3 > SEAL_PLAIN_MAX + SEAL_NONCE + SEAL_TAG)
		return ES_ELIMIT;
	if (!(bin = malloc(n / 4 * 3 + 3)))
		return ES_ENOMEM;
	if (sodium_base642bin(bin, n / 4 * 3 + 3, s, n, NULL, &blen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    blen < SEAL_NONCE + SEAL_TAG + 1) {
		err = ES_EPARSE;
		goto out;
	}
	if ((err = idx_tr_subkey(ix, label, key)))
		goto out;
	size_t mlen = blen - SEAL_NONCE - SEAL_TAG, unpadded = 0;
	es_buf_reset(out);
	if ((err = es_buf_reserve(out, mlen + 1)))
		goto out;
	unsigned long long got = 0;
	size_t adn = seal_ad(label, ctx, ad, sizeof(ad));
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->p, &got, NULL, bin + SEAL_NONCE,
						       blen - SEAL_NONCE, ad, adn, bin, key) ||
	    /* the padding's marker is somewhere in the last block: a block of
	     * the whole message finds it wherever the sealer's block ended */
	    sodium_unpad(&unpadded, out->p, (size_t)got, (size_t)got)) {
		sodium_memzero(out->p, mlen);
		err = ES_ECRYPTO;
		goto out;
	}
	out->p[unpadded] = 0;
	out->len = unpadded;
out:
	sodium_memzero(key, sizeof(key));
	free(bin);
	return err;
}
