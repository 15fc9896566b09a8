/*
 * crypt.h - encryption at rest: key-encryption keys (a keyring), per-recording
 * data keys wrapped by them, and the chunked ".enc" file format.
 *
 * Keys: every recording gets its own random 32-byte data key (DEK).  The DEK
 * is stored only wrapped by a key-encryption key (KEK), as the text
 * "v1:<kek id>:<base64 nonce||ciphertext>", with the recording's identifier
 * as associated data so that a wrapped key cannot be moved to another
 * recording.  Deleting the wrapped key shreds the recording: there is no
 * other copy of the DEK.  KEKs live in a keyring file, or one KEK comes from
 * the environment (EARSHOT_KEK).  Rotating adds a KEK that wraps from then
 * on; the old ones stay to unwrap, and st_dek_rewrap moves a wrapped key to
 * the current KEK without touching the audio.
 *
 * Keyring file (text, mode 0600 in a 0700 folder, rewritten atomically):
 *     # earshot keyring v1: id created key state
 *     3f9c0a5e12b7d4e8 2026-11-24T07:54:04.123Z <base64 of 32 bytes> active
 * one KEK a line, oldest first; '#' lines and blank lines are ignored.  id is
 * 1-32 of [A-Za-z0-9_-] (16 random hex digits when we make it), created is
 * UTC, state is "active" or "retired".  The current KEK (the one that wraps)
 * is the last active line.  A file readable or writable by group or other is
 * refused.
 *
 * Encrypted file (".enc" after the recording's own extension, 12.opus.enc):
 *     header, ST_ENC_HDR_BYTES = 28:
 *       0  5  magic "ESENC"
 *       5  1  version, 1
 *       6  2  reserved, 0
 *       8  4  chunk size C: plaintext bytes per chunk, big-endian
 *             (ST_ENC_CHUNK_MIN..ST_ENC_CHUNK_MAX, default 65536)
 *      12 16  file id, random
 *     then chunks 0..n-1, n >= 1, each:
 *      24     libsodium secretstream header (crypto_secretstream_xchacha20poly1305)
 *       m+17  one secretstream message: m plaintext bytes + 1 tag byte + 16 MAC
 *     Every chunk but the last holds exactly C plaintext bytes and is pushed
 *     with TAG_MESSAGE; the last holds 0..C bytes (0 only when the whole
 *     plaintext is empty) and is pushed with TAG_FINAL.  The associated data
 *     of chunk i is the 28 header bytes || i as 64-bit big-endian.  So the
 *     plaintext size follows from the file size, a chunk cannot be moved,
 *     reordered, or taken from another file (another file id), the header
 *     cannot be altered, and cutting the file at a chunk boundary leaves a
 *     last chunk without TAG_FINAL.
 *
 * Why a fresh secretstream per chunk and not one stream for the whole file:
 * secretstream's state ratchets forward with every message, so a single
 * stream can only be decrypted from its start.  Playback seeks and HTTP
 * range requests need any chunk on its own, so each chunk starts its own
 * stream (with its own random 24-byte header, i.e. its own key/nonce
 * derivation from the DEK) and carries one message; the order and
 * completeness the ratchet would have given are restored by the chunk index
 * in the associated data and by TAG_FINAL on the last chunk.  Overhead: 41
 * bytes per 64 KiB chunk (0.06 %) + 28 bytes.
 *
 * Errors: every authentication failure (tampered, truncated, reordered,
 * wrong key) is ST_ECRYPTO, with a message that names the file and chunk.
 * Malformed headers are ES_EFORMAT (bad magic, impossible chunk size) or
 * ES_EUNSUP (another version).  Key material never appears in a message or
 * in the log.
 *
 * Threads: a keyring may be shared for wrap/unwrap once opened, but
 * st_kr_rotate must not run concurrently with them.  Readers and writers
 * belong to one thread each.
 */
#ifndef ES_STORE_CRYPT_H
#define ES_STORE_CRYPT_H

#include "core/core.h"

/* Authentication failed: tampered, truncated or the wrong key. */
#define ST_ECRYPTO ES_ECRYPTO

#define ST_KEY_BYTES 32
#define ST_KEK_ID_MAX 32 /* characters, without the NUL */
#define ST_KEK_ENV "EARSHOT_KEK"
#define ST_KEK_ENV_ID "env"
/* Longest wrapped-key text, with its NUL: "v1:" id ":" base64(24+32+16). */
#define ST_WRAPPED_MAX (3 + ST_KEK_ID_MAX + 1 + 96 + 1)

/* ---- keyring ----------------------------------------------------------- */

struct st_keyring;

/* Open the KEKs.  When the environment has EARSHOT_KEK (base64 of 32 bytes),
 * that is the only KEK, with id "env", and path is not touched.  Otherwise
 * path is the keyring file: read it, or create it with one fresh KEK when it
 * does not exist (its folder 0700, the file 0600).  A keyring file whose mode
 * lets group or other read or write it is refused (ES_EINVAL); a malformed
 * one is ES_EPARSE.  err (may be NULL) receives a message on failure. */
int st_kr_open(struct st_keyring **out, const char *path, char *err, size_t errcap);
/* Wipe and free every key; NULL is fine. */
void st_kr_free(struct st_keyring *kr);
/* Add a fresh KEK that becomes current; the previous active ones turn
 * "retired" (still used to unwrap).  Under an flock on "<path>.lock" the file
 * is re-read (another process may have rotated meanwhile; its keys are kept
 * and kr picks them up), extended and rewritten atomically (temporary file,
 * fsync, rename, fsync of the folder).  Creation in st_kr_open takes the same
 * lock.  On failure kr is unchanged.  ES_EUNSUP for the environment keyring. */
int st_kr_rotate(struct st_keyring *kr, char *err, size_t errcap);
/* Read the keyring file again when it is not the one kr was read from (a
 * stat: another inode, mtime or size; a rotation by another process, or a
 * rotated keyring copied here): *changed then, and kr holds the file's keys
 * (the old ones wiped).  On failure kr keeps its keys.  Nothing to do for
 * the environment keyring.  Not concurrently with any other use of kr. */
int st_kr_refresh(struct st_keyring *kr, bool *changed, char *err, size_t errcap);
/* The id of the current KEK (owned by kr, valid until the next rotate or
 * refresh). */
const char *st_kr_current_id(const struct st_keyring *kr);
size_t st_kr_count(const struct st_keyring *kr);

/* ---- data keys --------------------------------------------------------- */

/* A DEK in sodium_malloc'd (guarded, unswappable) memory. */
struct st_dek;

/* A fresh random DEK, or NULL on allocation failure. */
struct st_dek *st_dek_new(void);
/* A DEK with the given bytes (tests, fuzzing); NULL on allocation failure. */
struct st_dek *st_dek_from_bytes(const uint8_t key[ST_KEY_BYTES]);
/* Wipe and free; NULL is fine. */
void st_dek_free(struct st_dek *dek);

/* Wrap dek with the current KEK for the recording rec_id (a non-empty C
 * string) into out as "v1:<kek id>:<base64>" (cap >= ST_WRAPPED_MAX). */
int st_dek_wrap(const struct st_keyring *kr, const struct st_dek *dek, const char *rec_id,
		char *out, size_t cap);
/* The DEK inside wrapped, for rec_id.  ES_EPARSE for malformed text,
 * ES_ENOTFOUND for a KEK id the keyring lacks, ST_ECRYPTO when it does not
 * authenticate (another recording's key, wrong KEK, altered text). */
int st_dek_unwrap(const struct st_keyring *kr, const char *wrapped, const char *rec_id,
		  struct st_dek **out, char *err, size_t errcap);
/* Unwrap with whichever KEK wrapped it and wrap again with the current one
 * (key rotation); the DEK and so the audio stay the same.  out may alias
 * wrapped. */
int st_dek_rewrap(const struct st_keyring *kr, const char *wrapped, const char *rec_id,
		  char *out, size_t cap, char *err, size_t errcap);

/* ---- hashes -------------------------------------------------------------- */

/* Streaming SHA-256 through OpenSSL's EVP, which uses the CPU's SHA
 * extensions where it has them: about 4x libsodium's portable code on this
 * machine (1.5 GB/s against 0.36 GB/s), the same digest.  Every hash of a
 * whole recording goes through it. */
struct st_sha256;
/* A fresh context, or NULL when out of memory. */
struct st_sha256 *st_sha256_new(void);
void st_sha256_update(struct st_sha256 *s, const void *p, size_t n);
/* The digest of what went in; the context is then spent (free it). */
void st_sha256_final(struct st_sha256 *s, uint8_t md[32]);
/* NULL is fine. */
void st_sha256_free(struct st_sha256 *s);

/* SHA-256 of the file at path into md and/or hex (lower case; either may be
 * NULL).  ES_ENOTFOUND when there is no such file, ES_EIO (errno set) when
 * it cannot be read. */
int st_sha256_file(const char *path, uint8_t md[32], char hex[65]);

/* ---- encrypted files --------------------------------------------------- */

#define ST_ENC_MAGIC "ESENC"
#define ST_ENC_VERSION 1
#define ST_ENC_HDR_BYTES 28
#define ST_ENC_CHUNK_DEFAULT 65536u
#define ST_ENC_CHUNK_MIN 64u
#define ST_ENC_CHUNK_MAX (16u * 1024 * 1024)
#define ST_ENC_CHUNK_OVERHEAD 41u /* secretstream header 24 + ABYTES 17 */
#define ST_ENC_SUFFIX ".enc"

/* What st_enc_writer_finish reports: SHA-256 (lower-case hex) of the file
 * as written and of the plaintext that went in, and both sizes. */
struct st_enc_hashes {
	char cipher_sha256[65];
	char plain_sha256[65];
	uint64_t cipher_size;
	uint64_t plain_size;
};

struct st_enc_writer;

/* Create (or truncate) path, mode 0640, and write the header.  chunk = 0
 * means ST_ENC_CHUNK_DEFAULT.  The writer keeps its own copy of the DEK. */
int st_enc_writer_open(struct st_enc_writer **out, const char *path, const struct st_dek *dek,
		       uint32_t chunk, char *err, size_t errcap);
/* Encrypt and append n bytes; full chunks go to disk as they fill. */
int st_enc_writer_write(struct st_enc_writer *w, const void *p, size_t n);
/* Push the last chunk (TAG_FINAL), fsync the file and its folder, close it,
 * and fill h (may be NULL).  Nothing may be written after. */
int st_enc_writer_finish(struct st_enc_writer *w, struct st_enc_hashes *h);
/* The message of the writer's last failure ("" when none). */
const char *st_enc_writer_error(const struct st_enc_writer *w);
/* Close and free.  A writer freed before finish leaves a file without a
 * final chunk, which every reader rejects as truncated; the caller unlinks
 * it or keeps it for inspection. */
void st_enc_writer_free(struct st_enc_writer *w);

/* Encrypt the file src into dst (created or truncated) in one go. */
int st_enc_encrypt_file(const char *src, const char *dst, const struct st_dek *dek,
			uint32_t chunk, struct st_enc_hashes *h, char *err, size_t errcap);

struct st_enc_reader;

/* Open an encrypted file: parse the header, derive the plaintext size from
 * the file size and authenticate the last chunk (so truncation and a wrong
 * key are found here, not at the end of playback). */
int st_enc_reader_open(struct st_enc_reader **out, const char *path, const struct st_dek *dek,
		       char *err, size_t errcap);
/* The same over bytes in memory (not copied: they must outlive the reader);
 * name is used in messages. */
int st_enc_reader_open_mem(struct st_enc_reader **out, const uint8_t *p, size_t n,
			   const char *name, const struct st_dek *dek, char *err, size_t errcap);
/* The same over a source the caller provides: src(ud, buf, n, off, err,
 * errcap) fills buf with the n stored bytes at off (all of them, or an
 * error code with a message in err), and size is the stored size.  Only the
 * header, the last chunk and the chunks a read covers are asked for, so a
 * source that fetches ranges of a remote object (an archived recording)
 * never needs the whole object.  ud must outlive the reader. */
typedef int (*st_enc_src_fn)(void *ud, uint8_t *buf, size_t n, uint64_t off, char *err,
			     size_t errcap);
int st_enc_reader_open_src(struct st_enc_reader **out, uint64_t size, st_enc_src_fn src,
			   void *ud, const char *name, const struct st_dek *dek, char *err,
			   size_t errcap);
uint64_t st_enc_reader_size(const struct st_enc_reader *r);
uint32_t st_enc_reader_chunk_size(const struct st_enc_reader *r);
/* Up to len plaintext bytes from offset off into buf; *got is len unless the
 * end comes first (0 at or past the end).  Only the chunks covering the range
 * are read and decrypted; the last one decrypted is cached. */
int st_enc_reader_pread(struct st_enc_reader *r, void *buf, size_t len, uint64_t off,
			size_t *got);
/* The message of the reader's last failure ("" when none). */
const char *st_enc_reader_error(const struct st_enc_reader *r);
void st_enc_reader_close(struct st_enc_reader *r);

/* Decrypt all of src into out.  On failure out has received a prefix of the
 * plaintext (at most up to the failing chunk): the caller discards it. */
int st_enc_decrypt_to_stream(const char *src, FILE *out, const struct st_dek *dek, char *err,
			     size_t errcap);
/* Decrypt all of src into dst (created 0640 via a temporary file in the same
 * folder, fsync'd and renamed, so dst never holds a partial plaintext). */
int st_enc_decrypt_file(const char *src, const char *dst, const struct st_dek *dek, char *err,
			size_t errcap);

#endif /* ES_STORE_CRYPT_H */
