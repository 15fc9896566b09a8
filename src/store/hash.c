/* hash.c - SHA-256 of a file (libsodium), for everything that checks a
 * stored file against the index or the ledger. */
#include "store/crypt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int st_sha256_file(const char *path, uint8_t md[32], char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT || errno == ENOTDIR ? ES_ENOTFOUND : ES_EIO;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	int bad = ferror(f);
	int e = errno;
	fclose(f);
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, d);
	if (md)
		memcpy(md, d, sizeof(d));
	if (hex)
		sodium_bin2hex(hex, 65, d, sizeof(d));
	errno = e;
	return bad ? ES_EIO : 0;
}
