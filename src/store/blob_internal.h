/* blob_internal.h - shared by the blob engines (blob.c, blob_fs.c,
 * blob_s3.c): a file written via a temporary name while its SHA-256 is
 * taken, renamed into place only when the hash is the one wanted. */
#ifndef ES_STORE_BLOB_INTERNAL_H
#define ES_STORE_BLOB_INTERNAL_H

#include "store/blob.h"

#include <sodium.h>

struct st_blob_sink {
	int fd;
	char tmp[4200];
	char dst[4096];
	crypto_hash_sha256_state h;
	uint64_t n;
};

/* Create dst's folders and "<dst>.<random>.part" (0640), unique to this sink. */
int st_blob_sink_open(struct st_blob_sink *s, const char *dst, char *err, size_t errlen);
int st_blob_sink_write(struct st_blob_sink *s, const void *p, size_t n);
/* fsync, check the hash against want_hex (NULL: any; ES_ECRYPTO, the
 * temporary file removed), rename to dst, fsync the folder.  got_hex (may
 * be NULL, 65 bytes) receives the hash. */
int st_blob_sink_finish(struct st_blob_sink *s, const char *want_hex, char *got_hex, char *err,
			size_t errlen);
/* Close and remove the temporary file (after a failure). */
void st_blob_sink_abort(struct st_blob_sink *s);
/* fsync the folder that holds path. */
int st_blob_sync_dir(const char *path);

#endif /* ES_STORE_BLOB_INTERNAL_H */
