/*
 * plain.c - a stored recording's plaintext into a file descriptor (a memfd:
 * nothing of it touches the disk), its stored file checked against the
 * index's SHA-256 first.  Shared by redaction (the original to fill),
 * transcription (the audio to send to the engine), export and clips.
 */
#include "record/record_internal.h"
#include "store/crypt.h"
#include "store/vault.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int plain_once(struct st_vault *vault, const char *file, const char *path, const char *sha,
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

int rec_plain_into(const char *data_dir, struct st_vault *vault, const char *path,
		   const char *sha, bool encrypted, int fd, const char *not_done, char *err,
		   size_t errlen)
{
	int rc = 0;
	for (int tries = 0;; tries++) {
		char file[4300];
		/* an archived recording: its checked copy fetched from the bucket
		 * (tier.c), as playing it does */
		const struct idx_recording rec = {.path = path, .sha256 = sha};
		if (rec_recording_path(data_dir, &rec, file, sizeof(file)))
			return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", path);
		/* a second try starts fd again (a memfd; a pipe cannot) */
		if (tries && (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0))
			return rc;
		rc = plain_once(vault, file, path, sha, encrypted, fd, not_done, err, errlen);
		/* gone between finding and reading it: moved to the bucket by the
		 * archive pass, or a cached copy evicted; found again once */
		if (!rc || tries || !access(file, F_OK))
			return rc;
	}
}
