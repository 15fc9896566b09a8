/* ledger_sign.c - the ledger's key used outside the tree: a detached
 * Ed25519 signature over other bytes (a backup's manifest), and the public
 * key read from a ledger.pub for checking one.  The key is read from its
 * file for each signature and wiped at once; it is never logged. */
#include "store/ledger_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int st_ledger_read_pub(const char *path, uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen)
{
	bool missing;
	int rc = st_ld_read_keyfile(path, ST_LD_PUB_MAGIC, false, pk, &missing, err, errlen);
	if (!rc && missing)
		rc = es_errf(err, errlen, ES_ENOTFOUND, "%s: missing", path);
	return rc;
}

int st_ledger_sign_detached(const char *dir, const char *configured, const void *msg, size_t len,
			    uint8_t sig[ST_LEDGER_SIG_LEN], uint8_t pk[ST_LEDGER_PK_LEN],
			    char *err, size_t errlen)
{
	char kpath[4096], ppath[4200];
	bool outside, missing;
	uint8_t seed[32], pub[32], sk[crypto_sign_SECRETKEYBYTES];
	int rc;
	if (sodium_init() < 0)
		return es_errf(err, errlen, ES_EIO, "libsodium failed to initialise");
	if (st_ledger_key_path(dir, configured, kpath, sizeof(kpath), &outside))
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", dir);
	snprintf(ppath, sizeof(ppath), "%s/ledger.pub", dir);
	if ((rc = st_ledger_read_pub(ppath, pub, err, errlen)))
		return rc;
	rc = st_ld_read_keyfile(kpath, ST_LD_KEY_MAGIC, true, seed, &missing, err, errlen);
	if (!rc && missing)
		rc = es_errf(err, errlen, ES_ENOTFOUND,
			     "%s: missing (the ledger's signing key is needed to sign)", kpath);
	if (rc)
		goto out;
	crypto_sign_seed_keypair(pk, sk, seed);
	if (memcmp(pk, pub, 32) != 0) {
		rc = es_errf(err, errlen, ES_EFORMAT, "%s does not match %s (a key file was replaced)",
			     ppath, kpath);
		goto out;
	}
	crypto_sign_detached(sig, NULL, msg, len, sk);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}
