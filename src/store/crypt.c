/* crypt.c - the chunked ".enc" file format: streaming writer, random-access
 * reader and whole-file helpers.  Format and rationale: see crypt.h. */
#include "store/crypt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SS_HDR crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define TAG_MSG crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FIN crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define AD_BYTES (ST_ENC_HDR_BYTES + 8)
#define ERR_CAP 512

_Static_assert(SS_HDR + SS_ABYTES == ST_ENC_CHUNK_OVERHEAD, "chunk overhead");

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Associated data of chunk idx: header || idx (big-endian). */
static void chunk_ad(uint8_t ad[AD_BYTES], const uint8_t hdr[ST_ENC_HDR_BYTES], uint64_t idx)
{
	memcpy(ad, hdr, ST_ENC_HDR_BYTES);
	put_be64(ad + ST_ENC_HDR_BYTES, idx);
}

static void hex32(char out[65], const uint8_t md[32])
{
	sodium_bin2hex(out, 65, md, 32);
}


/* ---- writer ------------------------------------------------------------ */

struct st_enc_writer {
	int fd;
	char *path;
	struct st_dek *dek; /* own copy */
	uint8_t hdr[ST_ENC_HDR_BYTES];
	uint32_t chunk;
	uint64_t idx;      /* next chunk's index */
	uint8_t *plain;    /* chunk bytes waiting (wiped on free) */
	size_t plain_len;
	uint8_t *out;      /* one encrypted chunk */
	uint64_t cipher_size, plain_size;
	struct st_sha256 *hc, *hp; /* of the file, of the plaintext */
	bool failed, finished;
	char err[ERR_CAP];
};

const char *st_enc_writer_error(const struct st_enc_writer *w)
{
	return w->err;
}

static int w_fail(struct st_enc_writer *w, int rc, const char *what)
{
	w->failed = true;
	snprintf(w->err, sizeof(w->err), "%s: %s%s%s", w->path, what, errno ? ": " : "",
		 errno ? strerror(errno) : "");
	return rc;
}

/* Encrypt len bytes at plain as chunk w->idx with tag, and append it. */
static int w_seal(struct st_enc_writer *w, const uint8_t *plain, size_t len, unsigned char tag)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t ad[AD_BYTES];
	chunk_ad(ad, w->hdr, w->idx);
	crypto_secretstream_xchacha20poly1305_init_push(&st, w->out, w->dek->k);
	unsigned long long clen = 0;
	crypto_secretstream_xchacha20poly1305_push(&st, w->out + SS_HDR, &clen, plain, len, ad,
						   sizeof(ad), tag);
	sodium_memzero(&st, sizeof(st));
	size_t n = SS_HDR + (size_t)clen;
	errno = 0;
	if (es_write_all(w->fd, w->out, n))
		return w_fail(w, ES_EIO, "write failed");
	st_sha256_update(w->hc, w->out, n);
	w->cipher_size += n;
	w->idx++;
	return 0;
}

/* The waiting plaintext as the next chunk. */
static int w_flush(struct st_enc_writer *w, unsigned char tag)
{
	int rc = w_seal(w, w->plain, w->plain_len, tag);
	w->plain_len = 0;
	return rc;
}

void st_enc_writer_free(struct st_enc_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->plain) {
		sodium_memzero(w->plain, w->chunk);
		free(w->plain);
	}
	st_dek_free(w->dek);
	st_sha256_free(w->hc);
	st_sha256_free(w->hp);
	free(w->out);
	free(w->path);
	free(w);
}

int st_enc_writer_open(struct st_enc_writer **out, const char *path, const struct st_dek *dek,
		       uint32_t chunk, char *err, size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (st_crypt_init())
		return ES_EUNSUP;
	if (chunk == 0)
		chunk = ST_ENC_CHUNK_DEFAULT;
	if (chunk < ST_ENC_CHUNK_MIN || chunk > ST_ENC_CHUNK_MAX || !dek || !path) {
		st_crypt_errf(err, errcap, "%s: bad chunk size %u or missing key",
			      path ? path : "(null)", chunk);
		return ES_EINVAL;
	}
	struct st_enc_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return ES_ENOMEM;
	w->fd = -1;
	w->chunk = chunk;
	w->path = strdup(path);
	w->dek = st_dek_from_bytes(dek->k);
	w->plain = malloc(chunk);
	w->out = malloc((size_t)chunk + ST_ENC_CHUNK_OVERHEAD);
	w->hc = st_sha256_new();
	w->hp = st_sha256_new();
	int rc = 0;
	if (!w->path || !w->dek || !w->plain || !w->out || !w->hc || !w->hp) {
		rc = ES_ENOMEM;
		goto out;
	}
	memcpy(w->hdr, ST_ENC_MAGIC, 5);
	w->hdr[5] = ST_ENC_VERSION;
	w->hdr[6] = w->hdr[7] = 0;
	put_be32(w->hdr + 8, chunk);
	randombytes_buf(w->hdr + 12, 16);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (w->fd < 0 || es_write_all(w->fd, w->hdr, sizeof(w->hdr))) {
		st_crypt_errf(err, errcap, "%s: cannot create: %s", path, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	st_sha256_update(w->hc, w->hdr, sizeof(w->hdr));
	w->cipher_size = sizeof(w->hdr);
out:
	if (rc) {
		st_enc_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int st_enc_writer_write(struct st_enc_writer *w, const void *p, size_t n)
{
	if (w->failed || w->finished)
		return w->failed ? ES_EIO : ES_EINVAL;
	const uint8_t *b = p;
	st_sha256_update(w->hp, b, n);
	w->plain_size += n;
	while (n) {
		/* A full chunk goes out only once more data shows it is not the last. */
		if (w->plain_len == w->chunk) {
			int rc = w_flush(w, TAG_MSG);
			if (rc)
				return rc;
		}
		/* More than a whole chunk of the caller's (so not the last):
		 * sealed from where it lies, without the copy into w->plain. */
		if (w->plain_len == 0 && n > w->chunk) {
			int rc = w_seal(w, b, w->chunk, TAG_MSG);
			if (rc)
				return rc;
			b += w->chunk;
			n -= w->chunk;
			continue;
		}
		size_t take = ES_MIN(n, (size_t)w->chunk - w->plain_len);
		memcpy(w->plain + w->plain_len, b, take);
		w->plain_len += take;
		b += take;
		n -= take;
	}
	return 0;
}

int st_enc_writer_finish(struct st_enc_writer *w, struct st_enc_hashes *h)
{
	if (w->failed || w->finished)
		return w->failed ? ES_EIO : ES_EINVAL;
	int rc = w_flush(w, TAG_FIN);
	if (rc)
		return rc;
	w->finished = true;
	errno = 0;
	if (fsync(w->fd))
		return w_fail(w, ES_EIO, "fsync failed");
	int fd = w->fd;
	w->fd = -1;
	if (close(fd))
		return w_fail(w, ES_EIO, "close failed");
	if (st_crypt_fsync_dir(w->path))
		return w_fail(w, ES_EIO, "fsync of its folder failed");
	if (h) {
		uint8_t md[32];
		st_sha256_final(w->hc, md);
		hex32(h->cipher_sha256, md);
		st_sha256_final(w->hp, md);
		hex32(h->plain_sha256, md);
		h->cipher_size = w->cipher_size;
		h->plain_size = w->plain_size;
	}
	return 0;
}

int st_enc_encrypt_file(const char *src, const char *dst, const struct st_dek *dek,
			uint32_t chunk, struct st_enc_hashes *h, char *err, size_t errcap)
{
	st_crypt_errf(err, errcap, "%s", "");
	FILE *in = fopen(src, "rb");
	if (!in) {
		st_crypt_errf(err, errcap, "%s: %s", src, strerror(errno));
		return ES_EIO;
	}
	struct st_enc_writer *w = NULL;
	int rc = st_enc_writer_open(&w, dst, dek, chunk, err, errcap);
	uint8_t *buf = malloc(ST_ENC_CHUNK_DEFAULT);
	if (!rc && !buf)
		rc = ES_ENOMEM;
	while (!rc) {
		size_t n = fread(buf, 1, ST_ENC_CHUNK_DEFAULT, in);
		if (n)
			rc = st_enc_writer_write(w, buf, n);
		if (n < ST_ENC_CHUNK_DEFAULT) {
			if (ferror(in)) {
				st_crypt_errf(err, errcap, "%s: read failed", src);
				rc = ES_EIO;
			}
			break;
		}
	}
	if (!rc)
		rc = st_enc_writer_finish(w, h);
	bool created = w != NULL;
	if (rc && created && *st_enc_writer_error(w))
		st_crypt_errf(err, errcap, "%s", st_enc_writer_error(w));
	st_enc_writer_free(w);
	if (rc && created)
		unlink(dst);
	free(buf);
	fclose(in);
	return rc;
}

/* ---- reader ------------------------------------------------------------ */

struct st_enc_reader {
	int fd;             /* -1 when reading from memory or src */
	const uint8_t *mem;
	st_enc_src_fn src; /* the caller's source (e.g. ranges of an object), or NULL */
	void *src_ud;
	char *name;
	struct st_dek *dek; /* own copy */
	uint8_t hdr[ST_ENC_HDR_BYTES];
	uint32_t chunk;
	uint64_t file_size, plain_size, nchunks;
	uint8_t *in;        /* one encrypted chunk */
	uint8_t *cache;     /* plaintext of chunk cache_idx (wiped on free) */
	size_t cache_cap, cache_len;
	uint64_t cache_idx; /* UINT64_MAX = empty */
	char err[ERR_CAP];
};

const char *st_enc_reader_error(const struct st_enc_reader *r)
{
	return r->err;
}

uint64_t st_enc_reader_size(const struct st_enc_reader *r)
{
	return r->plain_size;
}

uint32_t st_enc_reader_chunk_size(const struct st_enc_reader *r)
{
	return r->chunk;
}

void st_enc_reader_close(struct st_enc_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->cache) {
		sodium_memzero(r->cache, r->cache_cap);
		free(r->cache);
	}
	st_dek_free(r->dek);
	free(r->in);
	free(r->name);
	free(r);
}

static int r_src(struct st_enc_reader *r, uint8_t *buf, size_t n, uint64_t off)
{
	if (r->src) {
		int rc = r->src(r->src_ud, buf, n, off, r->err, sizeof(r->err));
		if (rc && !*r->err)
			snprintf(r->err, sizeof(r->err), "%s: read failed: %s", r->name, es_strerror(rc));
		return rc;
	}
	if (r->fd < 0) {
		memcpy(buf, r->mem + off, n);
		return 0;
	}
	while (n) {
		ssize_t got = pread(r->fd, buf, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(r->err, sizeof(r->err), "%s: read failed: %s", r->name, strerror(errno));
			return ES_EIO;
		}
		if (got == 0) { /* shrank since open */
			snprintf(r->err, sizeof(r->err), "%s: file ends early (truncated while open)",
				 r->name);
			return ST_ECRYPTO;
		}
		buf += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* Plaintext bytes of chunk idx. */
static size_t chunk_plain_len(const struct st_enc_reader *r, uint64_t idx)
{
	if (idx + 1 < r->nchunks)
		return r->chunk;
	return (size_t)(r->plain_size - (r->nchunks - 1) * (uint64_t)r->chunk);
}

/* Read and decrypt chunk idx into dst (room for chunk_plain_len bytes). */
static int r_decrypt(struct st_enc_reader *r, uint64_t idx, uint8_t *dst)
{
	size_t plen = chunk_plain_len(r, idx);
	size_t clen = plen + ST_ENC_CHUNK_OVERHEAD;
	uint64_t off = ST_ENC_HDR_BYTES + idx * ((uint64_t)r->chunk + ST_ENC_CHUNK_OVERHEAD);
	int rc = r_src(r, r->in, clen, off);
	if (rc)
		return rc;
	uint8_t ad[AD_BYTES];
	chunk_ad(ad, r->hdr, idx);
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned long long mlen = 0;
	unsigned char tag = 0xff;
	bool bad = crypto_secretstream_xchacha20poly1305_init_pull(&st, r->in, r->dek->k) != 0 ||
		   crypto_secretstream_xchacha20poly1305_pull(&st, dst, &mlen, &tag, r->in + SS_HDR,
							      clen - SS_HDR, ad, sizeof(ad)) != 0;
	sodium_memzero(&st, sizeof(st));
	bool last = idx + 1 == r->nchunks;
	if (bad) {
		snprintf(r->err, sizeof(r->err),
			 "%s: chunk %llu of %llu does not authenticate (altered, moved, from "
			 "another file, or wrong key)",
			 r->name, (unsigned long long)idx, (unsigned long long)r->nchunks);
		return ST_ECRYPTO;
	}
	if (mlen != plen || tag != (last ? TAG_FIN : TAG_MSG)) {
		sodium_memzero(dst, plen);
		snprintf(r->err, sizeof(r->err), "%s: chunk %llu of %llu %s", r->name,
			 (unsigned long long)idx, (unsigned long long)r->nchunks,
			 last ? "is not the final chunk: the file is truncated"
			      : "is marked final but is not last: data was appended");
		return ST_ECRYPTO;
	}
	return 0;
}

/* Make chunk idx the cached one. */
static int r_load(struct st_enc_reader *r, uint64_t idx)
{
	if (r->cache_idx == idx)
		return 0;
	r->cache_idx = UINT64_MAX;
	int rc = r_decrypt(r, idx, r->cache);
	if (rc)
		return rc;
	r->cache_idx = idx;
	r->cache_len = chunk_plain_len(r, idx);
	return 0;
}

/* Parse the header and lay out the chunks from the file size. */
static int r_layout(struct st_enc_reader *r)
{
	if (r->file_size < 5 || memcmp(r->hdr, ST_ENC_MAGIC, 5) != 0) {
		snprintf(r->err, sizeof(r->err), "%s: not an earshot encrypted file (no ESENC magic)",
			 r->name);
		return ES_EFORMAT;
	}
	if (r->file_size < ST_ENC_HDR_BYTES) {
		snprintf(r->err, sizeof(r->err), "%s: header truncated", r->name);
		return ST_ECRYPTO;
	}
	if (r->hdr[5] != ST_ENC_VERSION) {
		snprintf(r->err, sizeof(r->err), "%s: encrypted file version %u not supported",
			 r->name, r->hdr[5]);
		return ES_EUNSUP;
	}
	r->chunk = get_be32(r->hdr + 8);
	if (r->hdr[6] || r->hdr[7] || r->chunk < ST_ENC_CHUNK_MIN || r->chunk > ST_ENC_CHUNK_MAX) {
		snprintf(r->err, sizeof(r->err), "%s: bad header (reserved bits or chunk size %u)",
			 r->name, r->chunk);
		return ES_EFORMAT;
	}
	uint64_t body = r->file_size - ST_ENC_HDR_BYTES;
	uint64_t full = (uint64_t)r->chunk + ST_ENC_CHUNK_OVERHEAD;
	if (body == 0) {
		snprintf(r->err, sizeof(r->err), "%s: chunk 0 missing: the file is truncated",
			 r->name);
		return ST_ECRYPTO;
	}
	r->nchunks = (body + full - 1) / full;
	uint64_t last = body - (r->nchunks - 1) * full;
	if (last < ST_ENC_CHUNK_OVERHEAD) {
		snprintf(r->err, sizeof(r->err),
			 "%s: chunk %llu is %llu bytes, shorter than any chunk: the file is truncated",
			 r->name, (unsigned long long)(r->nchunks - 1), (unsigned long long)last);
		return ST_ECRYPTO;
	}
	r->plain_size = (r->nchunks - 1) * (uint64_t)r->chunk + (last - ST_ENC_CHUNK_OVERHEAD);
	return 0;
}

static int r_open_any(struct st_enc_reader **out, int fd, const uint8_t *mem, st_enc_src_fn src,
		      void *ud, uint64_t size, const char *name, const struct st_dek *dek, char *err,
		      size_t errcap)
{
	struct st_enc_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		if (fd >= 0)
			close(fd);
		return ES_ENOMEM;
	}
	r->fd = fd;
	r->mem = mem;
	r->src = src;
	r->src_ud = ud;
	r->file_size = size;
	r->cache_idx = UINT64_MAX;
	r->name = strdup(name);
	r->dek = st_dek_from_bytes(dek->k);
	int rc = 0;
	if (!r->name || !r->dek) {
		rc = ES_ENOMEM;
		goto out;
	}
	size_t h = (size_t)ES_MIN(size, (uint64_t)ST_ENC_HDR_BYTES);
	rc = r_src(r, r->hdr, h, 0);
	if (!rc)
		rc = r_layout(r);
	if (rc)
		goto out;
	r->cache_cap = (size_t)ES_MIN((uint64_t)r->chunk, ES_MAX(r->plain_size, 1));
	r->cache = malloc(r->cache_cap);
	r->in = malloc((size_t)ES_MIN((uint64_t)r->chunk, r->plain_size) + ST_ENC_CHUNK_OVERHEAD);
	if (!r->cache || !r->in) {
		rc = ES_ENOMEM;
		goto out;
	}
	/* Authenticate the end now: truncation, appended data, another header
	 * or a wrong key show here. */
	rc = r_load(r, r->nchunks - 1);
out:
	if (rc) {
		if (err && errcap)
			st_crypt_errf(err, errcap, "%s", *r->err ? r->err : es_strerror(rc));
		st_enc_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

static int r_open(struct st_enc_reader **out, int fd, const uint8_t *mem, uint64_t size,
		  const char *name, const struct st_dek *dek, char *err, size_t errcap)
{
	return r_open_any(out, fd, mem, NULL, NULL, size, name, dek, err, errcap);
}

static int r_open_src(struct st_enc_reader **out, uint64_t size, st_enc_src_fn src, void *ud,
		      const char *name, const struct st_dek *dek, char *err, size_t errcap)
{
	return r_open_any(out, -1, NULL, src, ud, size, name, dek, err, errcap);
}

int st_enc_reader_open(struct st_enc_reader **out, const char *path, const struct st_dek *dek,
		       char *err, size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (st_crypt_init())
		return ES_EUNSUP;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		st_crypt_errf(err, errcap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		st_crypt_errf(err, errcap, "%s: not a regular file", path);
		close(fd);
		return ES_EINVAL;
	}
	return r_open(out, fd, NULL, (uint64_t)st.st_size, path, dek, err, errcap);
}

int st_enc_reader_open_mem(struct st_enc_reader **out, const uint8_t *p, size_t n,
			   const char *name, const struct st_dek *dek, char *err, size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (st_crypt_init())
		return ES_EUNSUP;
	return r_open(out, -1, p, n, name ? name : "(memory)", dek, err, errcap);
}

int st_enc_reader_open_src(struct st_enc_reader **out, uint64_t size, st_enc_src_fn src,
			   void *ud, const char *name, const struct st_dek *dek, char *err,
			   size_t errcap)
{
	*out = NULL;
	st_crypt_errf(err, errcap, "%s", "");
	if (st_crypt_init())
		return ES_EUNSUP;
	struct st_enc_reader *r = NULL;
	/* like a file: the header and the last chunk are read and
	 * authenticated now */
	int rc = r_open_src(&r, size, src, ud, name ? name : "(source)", dek, err, errcap);
	if (!rc)
		*out = r;
	return rc;
}

int st_enc_reader_pread(struct st_enc_reader *r, void *buf, size_t len, uint64_t off,
			size_t *got)
{
	*got = 0;
	if (off >= r->plain_size)
		return 0;
	len = (size_t)ES_MIN((uint64_t)len, r->plain_size - off);
	uint8_t *dst = buf;
	while (*got < len) {
		uint64_t pos = off + *got;
		uint64_t idx = pos / r->chunk;
		size_t in = (size_t)(pos % r->chunk);
		size_t plen = chunk_plain_len(r, idx);
		size_t want = len - *got;
		int rc;
		if (in == 0 && want >= plen && r->cache_idx != idx) {
			/* The whole chunk is wanted: decrypt straight into buf. */
			rc = r_decrypt(r, idx, dst + *got);
			if (rc)
				return rc;
			*got += plen;
			continue;
		}
		rc = r_load(r, idx);
		if (rc)
			return rc;
		size_t take = ES_MIN(want, plen - in);
		memcpy(dst + *got, r->cache + in, take);
		*got += take;
	}
	return 0;
}

/* ---- whole-file decryption --------------------------------------------- */

/* Decrypt r chunk by chunk into fd or f (one of them). */
static int r_dump(struct st_enc_reader *r, int fd, FILE *f, char *err, size_t errcap)
{
	for (uint64_t i = 0; i < r->nchunks; i++) {
		int rc = r_load(r, i);
		if (rc) {
			st_crypt_errf(err, errcap, "%s", r->err);
			return rc;
		}
		bool bad = f ? fwrite(r->cache, 1, r->cache_len, f) != r->cache_len
			     : es_write_all(fd, r->cache, r->cache_len) != 0;
		if (bad) {
			st_crypt_errf(err, errcap, "write of the plaintext failed: %s", strerror(errno));
			return ES_EIO;
		}
	}
	return 0;
}

int st_enc_decrypt_to_stream(const char *src, FILE *out, const struct st_dek *dek, char *err,
			     size_t errcap)
{
	struct st_enc_reader *r;
	int rc = st_enc_reader_open(&r, src, dek, err, errcap);
	if (rc)
		return rc;
	rc = r_dump(r, -1, out, err, errcap);
	if (!rc && fflush(out)) {
		st_crypt_errf(err, errcap, "write of the plaintext failed: %s", strerror(errno));
		rc = ES_EIO;
	}
	st_enc_reader_close(r);
	return rc;
}

int st_enc_decrypt_file(const char *src, const char *dst, const struct st_dek *dek, char *err,
			size_t errcap)
{
	struct st_enc_reader *r;
	int rc = st_enc_reader_open(&r, src, dek, err, errcap);
	if (rc)
		return rc;
	char tmp[4200];
	int fd = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dst, (long)getpid()) >= (int)sizeof(tmp)) {
		rc = ES_ELIMIT;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		st_crypt_errf(err, errcap, "%s: %s", tmp, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	rc = r_dump(r, fd, NULL, err, errcap);
	if (!rc && fsync(fd)) {
		st_crypt_errf(err, errcap, "%s: fsync: %s", tmp, strerror(errno));
		rc = ES_EIO;
	}
	if (close(fd) && !rc) {
		st_crypt_errf(err, errcap, "%s: close: %s", tmp, strerror(errno));
		rc = ES_EIO;
	}
	if (!rc && rename(tmp, dst)) {
		st_crypt_errf(err, errcap, "%s: rename: %s", dst, strerror(errno));
		rc = ES_EIO;
	}
	if (!rc)
		st_crypt_fsync_dir(dst);
out:
	if (rc && fd >= 0)
		unlink(tmp);
	st_enc_reader_close(r);
	return rc;
}
