/*
 * manifest.h - a backup's manifest: every file of a data folder snapshot
 * with its size, mode and SHA-256, signed with the ledger's key so that a
 * changed, added or removed file, or a changed manifest, is detected before
 * anything is restored (docs/OPERATIONS.md).
 *
 * The manifest is JSON in one canonical form, one file per line, written
 * and read only by this module (a line is accepted only if it is exactly
 * the line this module would write):
 *
 *   {"format":"earshot-backup-v1","created_us":<t>,"key_id":"<16 hex>","files":[
 *   {"path":"<key>","size":<n>,"mode":<m>,"sha256":"<64 hex>"},
 *   ...
 *   {"path":"<key>","size":<n>,"mode":<m>,"sha256":"<64 hex>"}
 *   ]}
 *
 * <key> is a path relative to the data folder with the blob key alphabet
 * (st_blob_key_ok: no "..", no leading '/'), so a manifest cannot name a
 * file outside the folder it is restored into.  Paths are unique.
 *
 * The signature is a separate one-line file (manifest.sig):
 *   earshot-backup-sig-v1 <16 hex key id> <128 hex Ed25519 signature>\n
 * over the bytes "earshot-backup-v1\n" followed by the manifest's bytes
 * (the prefix keeps it apart from the ledger's signed heads).
 *
 * A file's content is stored once under its hash: st_manifest_blob_key.
 */
#ifndef ES_STORE_MANIFEST_H
#define ES_STORE_MANIFEST_H

#include "core/core.h"
#include "store/ledger.h"

#define ST_MANIFEST_FORMAT "earshot-backup-v1"
#define ST_MANIFEST_SIG_MAX 256

struct st_manifest_file {
	char *path;       /* owned */
	uint64_t size;
	uint32_t mode;    /* permission bits (0600, 0640) */
	char sha256[65];  /* lowercase hex */
};

struct st_manifest {
	int64_t created_us;
	char key_id[17];
	struct st_manifest_file *files; /* owned */
	size_t n, cap;
};

void st_manifest_init(struct st_manifest *m);
void st_manifest_free(struct st_manifest *m);
/* Add a file (path copied; the caller gives each path once, which
 * st_manifest_parse checks); ES_EINVAL for a path outside the alphabet or
 * a hash that is not 64 lowercase hex. */
int st_manifest_add(struct st_manifest *m, const char *path, uint64_t size, uint32_t mode,
		    const char *sha256_hex);
/* The canonical text into out (appended). */
int st_manifest_format(const struct st_manifest *m, struct es_buf *out);
/* Parse the text (any bytes); ES_EPARSE with "manifest.json:<line>: why"
 * in err when it is not exactly the canonical form. */
int st_manifest_parse(const char *p, size_t len, struct st_manifest *m, char *err,
		      size_t errlen);
/* Sign text with the ledger of ledger_dir (key as st_ledger_sign_detached
 * finds it); the signature line (with its newline) into sig. */
int st_manifest_sign(const char *text, size_t len, const char *ledger_dir, const char *key_path,
		     char sig[ST_MANIFEST_SIG_MAX], char *err, size_t errlen);
/* 0 when sig (the file's bytes) is a valid signature of text by pk;
 * ES_ECRYPTO with why in err otherwise. */
int st_manifest_check(const char *text, size_t len, const char *sig, size_t siglen,
		      const uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen);
/* Where the content of a file with that hash is stored:
 * "blobs/<first two hex>/<64 hex>". */
void st_manifest_blob_key(const char *sha256_hex, char out[80]);

#endif /* ES_STORE_MANIFEST_H */
