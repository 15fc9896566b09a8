/* hash.c - SHA-256 (OpenSSL's EVP, for its use of the CPU's SHA
 * instructions) of a stream or a file, for everything that hashes a stored
 * file for the index or the ledger. */
#include "store/crypt.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_sha256 {
	EVP_MD_CTX *ctx;
};

struct st_sha256 *st_sha256_new(void)
{
	struct st_sha256 *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || !EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL)) {
		st_sha256_free(s);
		return NULL;
	}
	return s;
}

void st_sha256_update(struct st_sha256 *s, const void *p, size_t n)
{
	if (n)
		EVP_DigestUpdate(s->ctx, p, n);
}

void st_sha256_final(struct st_sha256 *s, uint8_t md[32])
{
	unsigned len = 0;
	EVP_DigestFinal_ex(s->ctx, md, &len);
}

void st_sha256_free(struct st_sha256 *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}

int st_sha256_file(const char *path, uint8_t md[32], char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT || errno == ENOTDIR ? ES_ENOTFOUND : ES_EIO;
	struct st_sha256 *st = st_sha256_new();
	if (!st) {
		fclose(f);
		return ES_ENOMEM;
	}
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		st_sha256_update(st, buf, n);
	int bad = ferror(f);
	int e = errno;
	fclose(f);
	uint8_t d[32];
	st_sha256_final(st, d);
	st_sha256_free(st);
	if (md)
		memcpy(md, d, sizeof(d));
	if (hex)
		sodium_bin2hex(hex, 65, d, sizeof(d));
	errno = e;
	return bad ? ES_EIO : 0;
}
