/*
 * mlog_read.c - reading a media log, plain (version 1) or encrypted
 * (version 2, decrypted in memory only); the format is described at the
 * top of mlog.c.
 */
#include "media/mlog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Holds the largest record twice over; encrypted: the rest of a record
 * (less than one) and a whole decrypted chunk. */
#define RD_BUF (160 * 1024)
/* Encrypted: the ciphertext is read ahead in windows of this size from the
 * chunk wanted on, a few dozen of a call's chunks (one a flush) per read,
 * where reading each chunk's header and body on its own and checking the
 * file's size cost three system calls a chunk (a third of a call's system
 * calls in an import, each dear on a virtual machine).  It holds the
 * largest chunk. */
#define RD_CT_BUF (256 * 1024)
_Static_assert(RD_CT_BUF >= CH_HDR + MLOG_CHUNK_MAX + CH_MAC, "a chunk fits the window");

struct mlog_reader {
	char *path;
	int fd;
	char call_id[MLOG_MAX_CALL_ID + 1];
	int64_t start_us;
	uint64_t data_off;  /* file offset of the first record (encrypted: chunk) */
	uint8_t *buf;       /* encrypted: the decrypted record stream */
	size_t pos, len;    /* unread bytes are buf[pos, len) */
	uint64_t buf_off;   /* offset of buf[0] (encrypted: in the plaintext) */
	bool eof, torn;
	int64_t last_ts_us;
	/* encrypted */
	bool enc, ctorn;    /* ctorn: the last chunk was cut short */
	uint64_t chunk;     /* index of the next chunk */
	uint64_t foff;      /* its file offset */
	uint8_t file_id[MLOG_FILE_ID];
	uint8_t key[MLOG_KEY_BYTES];
	uint8_t *ct;        /* ciphertext read ahead: file bytes [ct_off, ct_off + ct_len) */
	uint64_t ct_off;
	size_t ct_len;
	char emsg[160];     /* why the last read failed */
};

/* Point *p at the n file bytes at off, from the read-ahead window or from
 * a new window read there (the file may have grown since: a live call);
 * *got < n when the file ends first. */
static int rd_ct(struct mlog_reader *r, uint64_t off, size_t n, const uint8_t **p, size_t *got)
{
	if (off < r->ct_off || off + n > r->ct_off + r->ct_len) {
		size_t len = 0;
		r->ct_off = off;
		r->ct_len = 0;
		while (len < RD_CT_BUF) {
			ssize_t k = pread(r->fd, r->ct + len, RD_CT_BUF - len, (off_t)(off + len));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				snprintf(r->emsg, sizeof(r->emsg), "read error at byte offset %llu",
					 (unsigned long long)(off + len));
				return ES_EIO;
			}
			if (k == 0)
				break;
			len += (size_t)k;
		}
		r->ct_len = len;
	}
	*p = r->ct + (off - r->ct_off);
	*got = ES_MIN(n, (size_t)(r->ct_off + r->ct_len - off));
	return 0;
}

/* Whether the file ends at byte `end` (for a chunk that fails: the last
 * one is a torn write); -1 when it cannot be told. */
static int rd_ends_at(struct mlog_reader *r, uint64_t end)
{
	struct stat st;
	if (fstat(r->fd, &st) != 0) {
		snprintf(r->emsg, sizeof(r->emsg), "cannot stat: %s", strerror(errno));
		return -1;
	}
	return (uint64_t)st.st_size <= end;
}

/* Append the next chunk's plaintext to buf; at the end of the file, or at
 * a torn last chunk, set eof (and ctorn). */
static int rd_chunk(struct mlog_reader *r)
{
	const uint8_t *h;
	size_t got;
	int rc = rd_ct(r, r->foff, CH_HDR, &h, &got);
	if (rc)
		return rc;
	if (got == 0) {
		r->eof = true;
		return 0;
	}
	if (got < CH_HDR) {
		r->eof = r->ctorn = true; /* a write cut short */
		return 0;
	}
	size_t n = get_u32(h);
	if (n < CH_MAC || n > MLOG_CHUNK_MAX + CH_MAC) {
		/* past the end of the file: a write cut short; else damage */
		int end = rd_ends_at(r, r->foff + CH_HDR + n - 1);
		if (end < 0)
			return ES_EIO;
		r->eof = true;
		if (end) {
			r->ctorn = true;
			return 0;
		}
		snprintf(r->emsg, sizeof(r->emsg), "chunk %llu at byte offset %llu: bad length %zu",
			 (unsigned long long)r->chunk, (unsigned long long)r->foff, n);
		return ES_EPARSE;
	}
	if ((rc = rd_ct(r, r->foff, CH_HDR + n, &h, &got)))
		return rc;
	if (got < CH_HDR + n) {
		r->eof = r->ctorn = true; /* a write cut short */
		return 0;
	}
	uint8_t ad[MLOG_FILE_ID + 8];
	chunk_ad(ad, r->file_id, r->chunk);
	const uint8_t *c = h + CH_HDR;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(r->buf + r->len, NULL, c,
								n - CH_MAC, c + n - CH_MAC, ad,
								sizeof(ad), h + 4, r->key)) {
		r->eof = true;
		int end = rd_ends_at(r, r->foff + CH_HDR + n);
		if (end < 0)
			return ES_EIO;
		if (end) {
			r->ctorn = true; /* the last one: a crash mid-write */
			return 0;
		}
		snprintf(r->emsg, sizeof(r->emsg),
			 "chunk %llu at byte offset %llu does not authenticate (altered, moved "
			 "or not this log's)", (unsigned long long)r->chunk,
			 (unsigned long long)r->foff);
		return ES_ECRYPTO;
	}
	r->len += n - CH_MAC;
	r->foff += CH_HDR + n;
	r->chunk++;
	return 0;
}

/* Make at least n unread bytes available if the file has them. */
static int rd_fill(struct mlog_reader *r, size_t n)
{
	if (r->len - r->pos >= n)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->buf_off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	while (r->len < n && !r->eof) {
		if (r->enc) {
			int rc = rd_chunk(r);
			if (rc)
				return rc;
			continue;
		}
		ssize_t got = read(r->fd, r->buf + r->len, RD_BUF - r->len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->emsg, sizeof(r->emsg), "read error: %s", strerror(errno));
			return ES_EIO;
		}
		if (got == 0)
			r->eof = true;
		r->len += (size_t)got;
	}
	return 0;
}

static int rd_seek(struct mlog_reader *r, uint64_t off)
{
	if (!r->enc && lseek(r->fd, (off_t)off, SEEK_SET) < 0)
		return ES_EIO;
	r->pos = r->len = 0;
	r->buf_off = r->enc ? 0 : off;
	r->foff = off;
	r->chunk = 0;
	r->eof = r->torn = r->ctorn = false;
	r->last_ts_us = r->start_us;
	return 0;
}

/* Version 2: the key from the header, then the call's identity from the
 * HEAD record that starts chunk 0 (absent when the crash came before it). */
static int open_enc(struct mlog_reader *r, const struct mlog_keys *keys, char *err,
		    size_t errlen)
{
	const char *path = r->path;
	if (rd_fill(r, MLOG_HDR2_FIXED) || r->len < MLOG_HDR2_FIXED)
		return es_errf(err, errlen, ES_EFORMAT, "%s: damaged media log header", path);
	size_t kl = get_u16(r->buf + 6);
	if (kl == 0 || kl >= MLOG_WRAPPED_MAX || rd_fill(r, MLOG_HDR2_FIXED + kl + 4) ||
	    r->len < MLOG_HDR2_FIXED + kl + 4 ||
	    get_u32(r->buf + MLOG_HDR2_FIXED + kl) != crc32_upd(0, r->buf, MLOG_HDR2_FIXED + kl))
		return es_errf(err, errlen, ES_EFORMAT, "%s: damaged media log header", path);
	if (!keys || !keys->unwrap)
		return es_errf(err, errlen, ES_EUNSUP,
			       "%s: encrypted media log, and no key ring to open it", path);
	if (sodium_init() < 0)
		return es_errf(err, errlen, ES_EUNSUP, "%s: libsodium does not start", path);
	char wrapped[MLOG_WRAPPED_MAX], kid[6 + 2 * MLOG_FILE_ID + 1], why[256] = "";
	memcpy(wrapped, r->buf + MLOG_HDR2_FIXED, kl);
	wrapped[kl] = '\0';
	memcpy(r->file_id, r->buf + 8, MLOG_FILE_ID);
	key_id(r->file_id, kid);
	int rc = keys->unwrap(keys->ud, kid, wrapped, r->key, why, sizeof(why));
	if (rc)
		return es_errf(err, errlen, rc, "%s: cannot unwrap its key: %s", path,
			       why[0] ? why : es_strerror(rc));
	r->ct = malloc(RD_CT_BUF);
	if (!r->ct)
		return ES_ENOMEM;
	r->enc = true;
	r->data_off = MLOG_HDR2_FIXED + kl + 4;
	rd_seek(r, r->data_off);
	rc = rd_fill(r, MLOG_REC_HDR);
	const uint8_t *h = r->buf;
	size_t body = r->len >= MLOG_REC_HDR ? get_u16(h + 1) : 0;
	if (!rc && r->len >= MLOG_REC_HDR && h[0] == MLOG_REC_HEAD)
		rc = rd_fill(r, MLOG_REC_HDR + body);
	if (rc)
		return es_errf(err, errlen, rc, "%s: %s", path, r->emsg);
	h = r->buf;
	if (r->len >= MLOG_REC_HDR + body && h[0] == MLOG_REC_HEAD) {
		if (body < 8 || body > 8 + MLOG_MAX_CALL_ID)
			return es_errf(err, errlen, ES_EPARSE, "%s: damaged first record", path);
		r->start_us = (int64_t)get_u64(h + MLOG_REC_HDR);
		memcpy(r->call_id, h + MLOG_REC_HDR + 8, body - 8);
		r->call_id[body - 8] = '\0';
	}
	r->last_ts_us = r->start_us;
	return 0;
}

int mlog_open(struct mlog_reader **out, const char *path, char *err, size_t errlen)
{
	return mlog_open_keyed(out, path, NULL, err, errlen);
}

int mlog_open_keyed(struct mlog_reader **out, const char *path, const struct mlog_keys *keys,
		    char *err, size_t errlen)
{
	*out = NULL;
	struct mlog_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	r->fd = -1;
	r->path = strdup(path);
	r->buf = malloc(RD_BUF);
	int rc = ES_ENOMEM;
	if (!r->path || !r->buf)
		goto fail;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
		es_errf(err, errlen, 0, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	rc = rd_fill(r, MLOG_HDR_FIXED);
	if (rc) {
		es_errf(err, errlen, 0, "%s: read error", path);
		goto fail;
	}
	rc = ES_EFORMAT;
	if (r->len < MLOG_HDR_FIXED || memcmp(r->buf, MLOG_MAGIC, 4) != 0) {
		es_errf(err, errlen, 0, "%s: not a media log", path);
		goto fail;
	}
	if (r->buf[4] == MLOG_VERSION_ENC) {
		rc = open_enc(r, keys, err, errlen);
		if (rc)
			goto fail;
		*out = r;
		return 0;
	}
	if (r->buf[4] != MLOG_VERSION) {
		es_errf(err, errlen, 0, "%s: media log version %u not supported", path, r->buf[4]);
		goto fail;
	}
	size_t idlen = get_u16(r->buf + 6);
	if (idlen > MLOG_MAX_CALL_ID || rd_fill(r, MLOG_HDR_FIXED + idlen + 4) ||
	    r->len < MLOG_HDR_FIXED + idlen + 4 ||
	    get_u32(r->buf + MLOG_HDR_FIXED + idlen) != crc32_upd(0, r->buf, MLOG_HDR_FIXED + idlen)) {
		es_errf(err, errlen, 0, "%s: damaged media log header", path);
		goto fail;
	}
	r->start_us = (int64_t)get_u64(r->buf + 8);
	memcpy(r->call_id, r->buf + MLOG_HDR_FIXED, idlen);
	r->call_id[idlen] = '\0';
	r->data_off = MLOG_HDR_FIXED + idlen + 4;
	r->pos = (size_t)r->data_off;
	r->last_ts_us = r->start_us;
	*out = r;
	return 0;
fail:
	mlog_reader_close(r);
	return rc;
}

const char *mlog_call_id(const struct mlog_reader *r) { return r->call_id; }
int64_t mlog_start_us(const struct mlog_reader *r) { return r->start_us; }
bool mlog_torn(const struct mlog_reader *r) { return r->torn; }
bool mlog_encrypted(const struct mlog_reader *r) { return r->enc; }
int mlog_rewind(struct mlog_reader *r) { return rd_seek(r, r->data_off); }

/* What stopped the last read is forgotten: a torn record or chunk was not
 * consumed (pos and foff stay before it), so it is read again whole. */
void mlog_follow(struct mlog_reader *r) { r->eof = r->torn = r->ctorn = false; }

void mlog_reader_close(struct mlog_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->buf)
		sodium_memzero(r->buf, RD_BUF);
	free(r->buf);
	free(r->ct);
	sodium_memzero(r->key, sizeof(r->key));
	free(r->path);
	free(r);
}

bool mlog_file_encrypted(const char *path)
{
	uint8_t h[5];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool enc = read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) && !memcmp(h, MLOG_MAGIC, 4) &&
		   h[4] == MLOG_VERSION_ENC;
	close(fd);
	return enc;
}

/* An address of an ADDR or SIP record; false for an unknown family. */
static bool get_addr(const uint8_t *p, struct es_addr *a)
{
	if (p[0] != ES_AF_INET && p[0] != ES_AF_INET6)
		return false;
	a->family = p[0];
	memcpy(a->ip, p + 1, 16);
	a->port = get_u16(p + 17);
	return true;
}

/* Decode one checked body into rec; false when it does not parse. */
static bool parse_body(struct mlog_reader *r, uint8_t type, const uint8_t *b, size_t n,
		       struct mlog_rec *rec)
{
	size_t off = 0;
	uint64_t v;
	memset(rec, 0, sizeof(*rec));
	rec->type = (enum mlog_rec_type)type;
	switch (type) {
	case MLOG_REC_STREAM:
		if (!get_varint(b, n, &off, &v) || v > UINT32_MAX || n - off != 5 || b[off] > 1)
			return false;
		rec->stream = (unsigned)v;
		rec->party = (enum mlog_party)b[off];
		rec->ssrc = get_u32(b + off + 1);
		return true;
	case MLOG_REC_PTMAP:
		if (n < 8 || b[0] > 1 || b[7] > MLOG_NAME_MAX || n != 8u + b[7])
			return false;
		rec->party = (enum mlog_party)b[0];
		rec->pt = b[1];
		rec->clock = get_u32(b + 2);
		rec->channels = b[6];
		memcpy(rec->name, b + 8, b[7]);
		rec->name[b[7]] = '\0';
		return true;
	case MLOG_REC_RTP: {
		if (!get_varint(b, n, &off, &v) || v > UINT32_MAX)
			return false;
		rec->stream = (unsigned)v;
		if (!get_varint(b, n, &off, &v) || n - off < 7)
			return false;
		rec->ts_us = (int64_t)((uint64_t)r->last_ts_us + (uint64_t)unzigzag(v));
		rec->seq = get_u16(b + off);
		rec->rtp_ts = get_u32(b + off + 2);
		rec->pt = b[off + 6] & 0x7f;
		rec->marker = (b[off + 6] & 0x80) != 0;
		off += 7;
		rec->payload = b + off;
		rec->len = n - off;
		return true;
	}
	case MLOG_REC_META:
		rec->payload = b;
		rec->len = n;
		return true;
	case MLOG_REC_ADDR:
		if (!get_varint(b, n, &off, &v) || v > UINT32_MAX || n - off != 2 * MLOG_ADDR_BYTES)
			return false;
		rec->stream = (unsigned)v;
		return get_addr(b + off, &rec->src) && get_addr(b + off + MLOG_ADDR_BYTES, &rec->dst);
	case MLOG_REC_SIP:
		if (n < 9 + 2 * MLOG_ADDR_BYTES)
			return false;
		rec->ts_us = (int64_t)get_u64(b);
		if (!get_addr(b + 8, &rec->src) || !get_addr(b + 8 + MLOG_ADDR_BYTES, &rec->dst))
			return false;
		rec->proto = b[8 + 2 * MLOG_ADDR_BYTES];
		rec->payload = b + 9 + 2 * MLOG_ADDR_BYTES;
		rec->len = n - (9 + 2 * MLOG_ADDR_BYTES);
		return true;
	default:
		return false;
	}
}

int mlog_next(struct mlog_reader *r, struct mlog_rec *rec, char *err, size_t errlen)
{
	for (;;) {
		if (r->torn)
			return 0;
		int rc = rd_fill(r, MLOG_REC_HDR);
		if (rc) {
			es_errf(err, errlen, 0, "%s: %s", r->path, r->emsg);
			return rc;
		}
		size_t avail = r->len - r->pos;
		if (avail == 0) {
			r->torn = r->ctorn;
			return 0;
		}
		uint64_t off = r->buf_off + r->pos;
		if (avail < MLOG_REC_HDR) {
			r->torn = true;
			return 0;
		}
		const uint8_t *h = r->buf + r->pos;
		size_t body = get_u16(h + 1);
		size_t total = MLOG_REC_HDR + body + (r->enc ? 0 : 4);
		rc = rd_fill(r, total);
		if (rc) {
			es_errf(err, errlen, 0, "%s: %s", r->path, r->emsg);
			return rc;
		}
		if (r->len - r->pos < total) {
			r->torn = true;
			return 0;
		}
		h = r->buf + r->pos;
		if (!r->enc &&
		    get_u32(h + MLOG_REC_HDR + body) != crc32_upd(0, h, MLOG_REC_HDR + body)) {
			es_errf(err, errlen, 0, "%s: corrupt record at byte offset %llu (bad checksum)",
				r->path, (unsigned long long)off);
			return ES_EPARSE;
		}
		uint8_t type = h[0];
		if (type < MLOG_REC_STREAM || type > MLOG_REC_SIP || type == MLOG_REC_HEAD) {
			r->pos += total; /* a later version's record: skip it */
			continue;
		}
		if (!parse_body(r, type, h + MLOG_REC_HDR, body, rec)) {
			es_errf(err, errlen, 0, "%s: malformed record at byte offset %llu", r->path,
				(unsigned long long)off);
			return ES_EPARSE;
		}
		r->pos += total;
		if (type == MLOG_REC_RTP)
			r->last_ts_us = rec->ts_us;
		return 1;
	}
}
