/*
 * plain.c - a stored recording's plaintext into a file descriptor (a memfd:
 * nothing of it touches the disk), its stored file checked against the
 * index's SHA-256 first.  Shared by redaction (the original to fill) and
 * transcription (the audio to send to the engine).
 */
#include "record/record_internal.h"
#include "store/crypt.h"
#include "store/vault.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int rec_plain_into(struct st_vault *vault, const char *file, const char *path, const char *sha,
		   bool encrypted, int fd, const char *not_done, char *err, size_t errlen)
{
	char hex[65];
	int rc = st_sha256_file(file, NULL, hex);
	if (rc)
		return es_errf(err, errlen, rc == ES_ENOTFOUND ? ES_ENOTFOUND : ES_EIO,
			       "%s: cannot be read: %s", file, es_strerror(rc));
	if (strcmp(hex, sha))
		return es_errf(err, errlen, ES_ECRYPTO,
			       "%s does not match its SHA-256 in the index: %s", file, not_done);
	FILE *out = fdopen(dup(fd), "w");
	if (!out)
		return es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	if (encrypted) {
		struct st_dek *dek = NULL;
		rc = vault ? st_vault_key(vault, path, &dek, err, errlen)
			   : es_errf(err, errlen, ES_ENOKEK,
				     "%s: this node has no key-encryption key ($%s or "
				     "DATA/keys/kek.keys)", path, ST_KEK_ENV);
		if (rc == ES_ENOTFOUND)
			snprintf(err, errlen, "%s: its data key is gone (shredded)", path);
		if (!rc)
			rc = st_enc_decrypt_to_stream(file, out, dek, err, errlen);
		st_dek_free(dek);
	} else {
		FILE *in = fopen(file, "rb");
		char buf[65536];
		size_t n;
		rc = in ? 0 : ES_EIO;
		while (in && (n = fread(buf, 1, sizeof(buf), in)) > 0)
			if (fwrite(buf, 1, n, out) != n)
				rc = ES_EIO;
		if (in)
			fclose(in);
		if (rc)
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
	}
	if (fclose(out) && !rc)
		rc = es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	return rc;
}
