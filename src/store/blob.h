/*
 * blob.h - one interface over the places a recording's stored bytes (the
 * ".enc" ciphertext, or a plain file when encryption is off) can live: the
 * data folder (the default, blob_fs.c) and an S3-compatible bucket
 * (blob_s3.c, libcurl with AWS SigV4).  An engine is a const table of
 * function pointers with an opaque state, chosen once by configuration;
 * callers never ask which one they have.
 *
 * Keys are a recording's id (its path relative to the data folder,
 * "recordings/2026/12/07/12.opus.enc"): 1-1023 bytes of [A-Za-z0-9._~/-],
 * no "..", no leading '/'.  A bucket adds its prefix in front.
 *
 * Only what is already encrypted is given to a store: encryption stays on
 * this side (store/crypt.c).  Keys, the ledger and derived files (peaks)
 * stay in the data folder.
 *
 * Errors: ES_ENOTFOUND (no such object), ES_ECRYPTO (the bytes' hash is not
 * the one expected), ES_EIO (the server or disk failed, after retries; the
 * message names the endpoint and bucket, never a secret), ES_EINVAL (access
 * refused: a wrong key or secret, 403), ES_EUNSUP (the server lacks the
 * feature, e.g. Object Lock).
 *
 * Threads: a store is used by one thread at a time.
 */
#ifndef ES_STORE_BLOB_H
#define ES_STORE_BLOB_H

#include "core/core.h"

#define ST_BLOB_KEY_MAX 1024
#define ST_BLOB_FIELD_MAX 256

/* What an S3 store needs (the folder store needs only root). */
struct st_blob_conf {
	char root[4096];                     /* fs: the data folder */
	char endpoint[ST_BLOB_FIELD_MAX];    /* s3: http(s)://host[:port] */
	char region[64];                     /* s3: default us-east-1 */
	char bucket[64];
	char prefix[ST_BLOB_FIELD_MAX];      /* "" or ending in '/' */
	bool path_style;                     /* endpoint/bucket/key, else bucket.host/key */
	char access_key[ST_BLOB_FIELD_MAX];  /* never logged */
	char secret_key[ST_BLOB_FIELD_MAX];  /* never logged */
	uint64_t multipart_above;            /* bytes; 0: 64 MiB */
	uint64_t part_size;                  /* bytes; 0: 16 MiB (S3's minimum is 5 MiB) */
	unsigned retries;                    /* after the first try; default 5 */
	int64_t backoff_us;                  /* first wait, doubled each retry; 0: 200 ms */
	int64_t timeout_us;                  /* per request without progress; 0: 30 s */
	char lock_mode[16];                  /* "", "GOVERNANCE" or "COMPLIANCE" */
	int64_t lock_days;                   /* retention of each object when lock_mode */
	uint64_t cache_max_bytes;            /* DATA/cache of archived reads; 0: 1 GiB */
};

/* What an upload reports. */
struct st_blob_put_info {
	uint64_t size;
	bool multipart;
	unsigned parts;
	bool etag_checked;                   /* the server's ETag was the MD5 we sent */
};

struct st_blob_ops {
	const char *name;                    /* "fs", "s3" */
	int (*open)(void **state, const struct st_blob_conf *c, char *err, size_t errlen);
	void (*close)(void *state);
	/* Store the file at path under key; sha256_hex (64 hex) is its hash,
	 * checked by the server where it can (S3: x-amz-content-sha256). */
	int (*put_file)(void *state, const char *key, const char *path, const char *sha256_hex,
			struct st_blob_put_info *info, char *err, size_t errlen);
	/* The whole object into the file dst (created 0640 via a temporary
	 * file and renamed); its SHA-256 must be want_sha256_hex (NULL: not
	 * checked), else ES_ECRYPTO and no dst. */
	int (*get_file)(void *state, const char *key, const char *dst, const char *want_sha256_hex,
			char *err, size_t errlen);
	/* Bytes [off, off+len) appended to out; fewer only at the end. */
	int (*get_range)(void *state, const char *key, uint64_t off, uint64_t len,
			 struct es_buf *out, char *err, size_t errlen);
	int (*size)(void *state, const char *key, uint64_t *size, char *err, size_t errlen);
	/* ES_ENOTFOUND when it was not there. */
	int (*remove)(void *state, const char *key, char *err, size_t errlen);
	/* Object Lock legal hold on or off (ES_EUNSUP where not supported). */
	int (*legal_hold)(void *state, const char *key, bool on, char *err, size_t errlen);
	/* Whether the store can lock objects: 0 yes, ES_EUNSUP no (why in err). */
	int (*probe_lock)(void *state, char *err, size_t errlen);
	/* "s3://bucket/prefix at endpoint" or the folder: for messages. */
	const char *(*describe)(void *state);
};

extern const struct st_blob_ops st_blob_fs;
extern const struct st_blob_ops st_blob_s3;

/* An open store: the engine and its state. */
struct st_blob {
	const struct st_blob_ops *ops;
	void *state;
};

/* Open the engine ops with c. */
int st_blob_open(struct st_blob *b, const struct st_blob_ops *ops, const struct st_blob_conf *c,
		 char *err, size_t errlen);
void st_blob_close(struct st_blob *b);

/* Parse "s3://bucket[/prefix]" into c->bucket and c->prefix (with a
 * trailing '/' added); ES_EPARSE with a message otherwise. */
int st_blob_parse_url(const char *url, struct st_blob_conf *c, char *err, size_t errlen);
/* Read "access_key = ..." / "secret_key = ..." lines (also the AWS
 * credentials file's aws_access_key_id / aws_secret_access_key) from path
 * into c.  The file must not be readable by group or other. */
int st_blob_read_credentials(const char *path, struct st_blob_conf *c, char *err, size_t errlen);
/* Whether key is acceptable (see above). */
bool st_blob_key_ok(const char *key);

/* The first <tag>...</tag> in an XML reply (S3's replies are flat enough
 * for this): its text into out (truncated to cap-1); false when absent. */
bool st_blob_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap);

#endif /* ES_STORE_BLOB_H */
