/*
 * mlog.c - the media log: the compact, append-only spool of one call.
 *
 * Byte format (version 1, all integers little-endian):
 *
 *   file header
 *     0  4  magic "ESML"
 *     4  1  version (1)
 *     5  1  reserved (0)
 *     6  2  call_id length L (<= MLOG_MAX_CALL_ID)
 *     8  8  start_us (int64, capture time of the call's first message)
 *    16  L  call_id bytes (no NUL)
 *  16+L  4  CRC-32 (IEEE) of bytes [0, 16+L)
 *
 *   records, one after another to the end of the file
 *     0  1  type (1 STREAM, 2 PTMAP, 3 RTP, 4 META; other types are skipped)
 *     1  2  body length N (so a record is at most 7 + 65535 bytes)
 *     3  N  body
 *   3+N  4  CRC-32 of bytes [0, 3+N) of the record
 *
 *   STREAM body: varint stream, u8 party, u32 ssrc
 *   PTMAP  body: u8 party, u8 pt, u32 clock, u8 channels, u8 name length,
 *                name (<= 23 bytes)
 *   RTP    body: varint stream, zigzag varint (ts_us - previous RTP
 *                record's ts_us; the first one is relative to the header's
 *                start_us), u16 seq, u32 rtp_ts, u8 pt | marker << 7,
 *                payload (the rest of the body)
 *   META   body: text (the call's metadata, "key=value" lines, written by
 *                the recorder)
 *   ADDR   body: varint stream, address src, address dst (the stream's
 *                capture addresses; an address is u8 family, 16 bytes IP,
 *                u16 port)
 *   SIP    body: i64 ts_us (absolute capture time), address src, address
 *                dst, u8 transport (IP protocol number, 0xfe WebSocket),
 *                the message's bytes (the rest of the body)
 *
 * ADDR and SIP records keep what is needed to rebuild the call's packets
 * (its "raw data"); readers of an earlier version skip them as unknown.
 *
 * An RTP record is payload + 14..17 bytes.  A reader that finds fewer bytes
 * at the end than the last record needs reports a torn tail (end of log,
 * mlog_torn()); a complete record whose CRC does not match, or whose body
 * does not parse, is ES_EPARSE naming the file and byte offset.
 *
 * Encrypted format (version 2), for a spool at rest: no audio, SDP, number
 * or Call-ID is written in plain.
 *
 *   file header (plain: what is needed to find the key)
 *     0  4  magic "ESML"
 *     4  1  version (2)
 *     5  1  reserved (0)
 *     6  2  wrapped key length K (1 .. MLOG_WRAPPED_MAX - 1)
 *     8 16  file id (random)
 *    24  K  the log's data key, wrapped by the caller's keyring (text)
 *  24+K  4  CRC-32 of bytes [0, 24+K)
 *
 *   chunks, one per flush, one after another to the end of the file
 *     0  4  N: ciphertext length (plaintext + 16), u32
 *     4 24  nonce (random)
 *    28  N  XChaCha20-Poly1305 (IETF) of the plaintext, then its 16-byte tag;
 *           associated data: file id || chunk index (u64, 0, 1, ...)
 *
 *   The plaintext of the chunks, read in order, is a version 1 record
 *   stream without the CRC-32 after each record (the chunk's tag covers
 *   it, and the CRC was most of the plain writer's CPU), and a record never
 *   spans two chunks.  Chunk 0 starts with a
 *   HEAD record (type 5, skipped as unknown by mlog_next): i64 start_us,
 *   then the call_id bytes.  The data key is random per file and the nonce
 *   random per chunk (drawn again when a failed append is retried, so a
 *   nonce never covers two plaintexts); the index in the associated data
 *   keeps chunks from being reordered, dropped from the middle or moved
 *   between files.  A last chunk that is short or does not authenticate is
 *   a torn tail (a crash mid-write): the chunks before it still read.  An
 *   earlier chunk that does not authenticate is ES_ECRYPTO.  Overhead: 28 +
 *   16 bytes per flush (about once a second per live call).
 *
 * The writer buffers records in memory and appends them with
 * open(O_APPEND)/write/close, so no descriptor is held between flushes.  A
 * failed append is cut back (ftruncate) to the size before it, so the file
 * never keeps half a batch in front of later ones.
 */
#include "media/mlog_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---- writer ---------------------------------------------------------------- */

struct mlog_writer {
	char *path;
	struct es_buf buf;  /* encrypted: CH_HDR bytes kept free at its start */
	size_t buf_bytes;
	unsigned nstreams;
	int64_t last_ts_us; /* the delta base of the next RTP record */
	bool enc;
	uint64_t chunk;     /* index of the next chunk */
	uint8_t file_id[MLOG_FILE_ID];
	uint8_t key[MLOG_KEY_BYTES];
};

/* Where records start in the buffer. */
static size_t rec_base(const struct mlog_writer *w) { return w->enc ? CH_HDR : 0; }

static int buf_clear(struct mlog_writer *w)
{
	es_buf_reset(&w->buf);
	if (!w->enc)
		return 0;
	if (es_buf_reserve(&w->buf, CH_HDR))
		return ES_ENOMEM;
	w->buf.len = CH_HDR;
	return 0;
}

/* Encrypt the buffered records in place into one chunk (no second buffer:
 * a writer per live call must stay small). */
static int seal(struct mlog_writer *w)
{
	size_t n = w->buf.len - CH_HDR;
	if (es_buf_reserve(&w->buf, CH_MAC))
		return ES_ENOMEM;
	uint8_t *p = w->buf.p, ad[MLOG_FILE_ID + 8];
	put_u32(p, (uint32_t)(n + CH_MAC));
	randombytes_buf(p + 4, CH_HDR - 4);
	chunk_ad(ad, w->file_id, w->chunk);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(p + CH_HDR, p + CH_HDR + n, NULL,
							    p + CH_HDR, n, ad, sizeof(ad), NULL,
							    p + 4, w->key);
	w->buf.len += CH_MAC;
	return 0;
}

/* Undo seal after a failed append, so the records can be sealed again
 * (with a new nonce) at the next flush. */
static void unseal(struct mlog_writer *w)
{
	w->buf.len -= CH_MAC;
	size_t n = w->buf.len - CH_HDR;
	uint8_t *p = w->buf.p, ad[MLOG_FILE_ID + 8];
	chunk_ad(ad, w->file_id, w->chunk);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(p + CH_HDR, NULL, p + CH_HDR, n,
								p + CH_HDR + n, ad, sizeof(ad),
								p + 4, w->key))
		ES_LOG_ERR("mlog", "%s: cannot restore a chunk after a failed append", w->path);
}

static void writer_free(struct mlog_writer *w)
{
	if (w->buf.p)
		sodium_memzero(w->buf.p, w->buf.cap);
	es_buf_free(&w->buf);
	sodium_memzero(w->key, sizeof(w->key));
	free(w->path);
	free(w);
}

/* The plain header: version 1 with the call id, version 2 with the
 * wrapped key.  Returns its length. */
static size_t header(const struct mlog_writer *w, uint8_t *hdr, const char *call_id,
		     size_t idlen, int64_t start_us, const char *wrapped)
{
	memcpy(hdr, MLOG_MAGIC, 4);
	hdr[5] = 0;
	size_t n;
	if (w->enc) {
		size_t kl = strlen(wrapped);
		hdr[4] = MLOG_VERSION_ENC;
		put_u16(hdr + 6, (uint16_t)kl);
		memcpy(hdr + 8, w->file_id, MLOG_FILE_ID);
		memcpy(hdr + MLOG_HDR2_FIXED, wrapped, kl);
		n = MLOG_HDR2_FIXED + kl;
	} else {
		hdr[4] = MLOG_VERSION;
		put_u16(hdr + 6, (uint16_t)idlen);
		put_u64(hdr + 8, (uint64_t)start_us);
		memcpy(hdr + MLOG_HDR_FIXED, call_id, idlen);
		n = MLOG_HDR_FIXED + idlen;
	}
	put_u32(hdr + n, crc32_upd(0, hdr, n));
	return n + 4;
}

static int add_record(struct mlog_writer *w, uint8_t type, const uint8_t *head, size_t hlen,
		      const uint8_t *tail, size_t tlen);

int mlog_create(struct mlog_writer **out, const char *path, const char *call_id,
		int64_t start_us, size_t buf_bytes)
{
	return mlog_create_keyed(out, path, call_id, start_us, buf_bytes, NULL);
}

int mlog_create_keyed(struct mlog_writer **out, const char *path, const char *call_id,
		      int64_t start_us, size_t buf_bytes, const struct mlog_keys *keys)
{
	*out = NULL;
	if (!path || !call_id || (keys && !keys->new_key))
		return ES_EINVAL;
	if (keys && sodium_init() < 0)
		return ES_EUNSUP;
	size_t idlen = strlen(call_id);
	if (idlen > MLOG_MAX_CALL_ID)
		idlen = MLOG_MAX_CALL_ID;
	struct mlog_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return ES_ENOMEM;
	w->path = strdup(path);
	es_buf_init(&w->buf);
	w->buf_bytes = buf_bytes ? buf_bytes : MLOG_DEFAULT_BUF;
	w->last_ts_us = start_us;
	w->enc = keys != NULL;
	char wrapped[MLOG_WRAPPED_MAX] = "";
	int rc = w->path ? buf_clear(w) : ES_ENOMEM;
	if (rc)
		goto fail;
	if (w->enc) {
		/* a chunk must fit the reader's buffer (MLOG_CHUNK_MAX) */
		if (w->buf_bytes > 64 * 1024)
			w->buf_bytes = 64 * 1024;
		char kid[6 + 2 * MLOG_FILE_ID + 1];
		randombytes_buf(w->file_id, sizeof(w->file_id));
		key_id(w->file_id, kid);
		rc = keys->new_key(keys->ud, kid, w->key, wrapped, sizeof(wrapped));
		if (!rc && (!memchr(wrapped, 0, sizeof(wrapped)) || !wrapped[0]))
			rc = ES_EINVAL;
		if (rc)
			goto fail;
	}
	uint8_t hdr[MLOG_HDR_FIXED + MLOG_MAX_CALL_ID + 4];
	size_t hlen = header(w, hdr, call_id, idlen, start_us, wrapped);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = errno == EEXIST ? ES_EEXIST : ES_EIO;
		goto fail;
	}
	rc = es_write_all(fd, hdr, hlen);
	if (close(fd) != 0 && rc == 0)
		rc = ES_EIO;
	if (rc == 0 && w->enc) {
		/* the call's identity goes in the first chunk, written at once */
		uint8_t b[8 + MLOG_MAX_CALL_ID];
		put_u64(b, (uint64_t)start_us);
		memcpy(b + 8, call_id, idlen);
		rc = add_record(w, MLOG_REC_HEAD, b, 8 + idlen, NULL, 0);
		if (!rc)
			rc = mlog_flush(w, false);
	}
	if (rc) {
		unlink(path);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	writer_free(w);
	return rc;
}

int mlog_flush(struct mlog_writer *w, bool sync)
{
	if (!w)
		return ES_EINVAL;
	size_t base = rec_base(w);
	if (w->buf.len <= base && !sync)
		return 0;
	int fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return ES_EIO;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : ES_EIO;
	if (rc == 0 && w->buf.len > base) {
		bool sealed = false;
		if (w->enc)
			sealed = (rc = seal(w)) == 0;
		if (rc == 0)
			rc = es_write_all(fd, w->buf.p, w->buf.len);
		if (rc && ftruncate(fd, st.st_size) != 0)
			ES_LOG_ERR("mlog", "%s: cannot cut back a failed append", w->path);
		if (rc && sealed)
			unseal(w);
		/* once written, the batch is in the file whatever fsync says:
		 * never append it twice */
		if (rc == 0) {
			w->chunk++;
			rc = buf_clear(w);
		}
	}
	if (rc == 0 && sync && fsync(fd) != 0)
		rc = ES_EIO;
	if (close(fd) != 0 && rc == 0)
		rc = ES_EIO;
	return rc;
}

/* Frame a record body (already at buf[start + MLOG_REC_HDR ...]) in place. */
static int add_record(struct mlog_writer *w, uint8_t type, const uint8_t *head, size_t hlen,
		      const uint8_t *tail, size_t tlen)
{
	size_t body = hlen + tlen;
	if (body > MLOG_REC_MAX_BODY)
		return ES_EINVAL;
	/* encrypted: no CRC, the chunk's tag covers the record */
	size_t need = MLOG_REC_HDR + body + (w->enc ? 0 : 4), base = rec_base(w);
	if (w->buf.len > base && w->buf.len - base + need > w->buf_bytes) {
		int rc = mlog_flush(w, false);
		if (rc)
			return rc;
	}
	if (es_buf_reserve(&w->buf, need))
		return ES_ENOMEM;
	uint8_t *r = w->buf.p + w->buf.len;
	r[0] = type;
	put_u16(r + 1, (uint16_t)body);
	memcpy(r + MLOG_REC_HDR, head, hlen);
	if (tlen)
		memcpy(r + MLOG_REC_HDR + hlen, tail, tlen);
	if (!w->enc)
		put_u32(r + MLOG_REC_HDR + body, crc32_upd(0, r, MLOG_REC_HDR + body));
	w->buf.len += need;
	if (w->buf.len - base >= w->buf_bytes)
		return mlog_flush(w, false);
	return 0;
}

int mlog_stream(struct mlog_writer *w, unsigned stream, enum mlog_party party, uint32_t ssrc)
{
	if (!w || stream != w->nstreams || (party != MLOG_CALLER && party != MLOG_CALLEE))
		return ES_EINVAL;
	uint8_t b[16];
	size_t n = put_varint(b, stream);
	b[n++] = (uint8_t)party;
	put_u32(b + n, ssrc);
	n += 4;
	int rc = add_record(w, MLOG_REC_STREAM, b, n, NULL, 0);
	if (rc == 0)
		w->nstreams++;
	return rc;
}

int mlog_ptmap(struct mlog_writer *w, enum mlog_party party, uint8_t pt, const char *name,
	       uint32_t clock, unsigned channels)
{
	if (!w || !name || (party != MLOG_CALLER && party != MLOG_CALLEE) || channels > 255)
		return ES_EINVAL;
	size_t nl = strlen(name);
	if (nl > MLOG_NAME_MAX)
		nl = MLOG_NAME_MAX;
	uint8_t b[8 + MLOG_NAME_MAX];
	b[0] = (uint8_t)party;
	b[1] = pt;
	put_u32(b + 2, clock);
	b[6] = (uint8_t)channels;
	b[7] = (uint8_t)nl;
	memcpy(b + 8, name, nl);
	return add_record(w, MLOG_REC_PTMAP, b, 8 + nl, NULL, 0);
}

int mlog_rtp(struct mlog_writer *w, unsigned stream, int64_t ts_us, uint16_t seq,
	     uint32_t rtp_ts, uint8_t pt, bool marker, const uint8_t *payload, size_t len)
{
	if (!w || stream >= w->nstreams || pt > 127 || (len && !payload))
		return ES_EINVAL;
	uint8_t b[32];
	size_t n = put_varint(b, stream);
	n += put_varint(b + n, zigzag((int64_t)((uint64_t)ts_us - (uint64_t)w->last_ts_us)));
	put_u16(b + n, seq);
	put_u32(b + n + 2, rtp_ts);
	b[n + 6] = (uint8_t)(pt | (marker ? 0x80 : 0));
	n += 7;
	int rc = add_record(w, MLOG_REC_RTP, b, n, payload, len);
	if (rc == 0)
		w->last_ts_us = ts_us;
	return rc;
}

int mlog_meta(struct mlog_writer *w, const char *text, size_t len)
{
	if (len > 60000)
		return ES_ELIMIT;
	return add_record(w, MLOG_REC_META, (const uint8_t *)text, len, NULL, 0);
}

static size_t put_addr(uint8_t *p, const struct es_addr *a)
{
	p[0] = a->family;
	memcpy(p + 1, a->ip, 16);
	put_u16(p + 17, a->port);
	return MLOG_ADDR_BYTES;
}

int mlog_addr(struct mlog_writer *w, unsigned stream, const struct es_addr *src,
	      const struct es_addr *dst)
{
	if (!w || !src || !dst || stream >= w->nstreams)
		return ES_EINVAL;
	uint8_t b[16 + 2 * MLOG_ADDR_BYTES];
	size_t n = put_varint(b, stream);
	n += put_addr(b + n, src);
	n += put_addr(b + n, dst);
	return add_record(w, MLOG_REC_ADDR, b, n, NULL, 0);
}

int mlog_sip(struct mlog_writer *w, int64_t ts_us, const struct es_addr *src,
	     const struct es_addr *dst, uint8_t proto, const uint8_t *text, size_t len)
{
	if (!w || !src || !dst || (len && !text))
		return ES_EINVAL;
	if (len > MLOG_SIP_MAX_TEXT)
		return ES_ELIMIT;
	uint8_t b[9 + 2 * MLOG_ADDR_BYTES];
	put_u64(b, (uint64_t)ts_us);
	size_t n = 8;
	n += put_addr(b + n, src);
	n += put_addr(b + n, dst);
	b[n++] = proto;
	return add_record(w, MLOG_REC_SIP, b, n, text, len);
}

int mlog_close(struct mlog_writer *w)
{
	if (!w)
		return ES_EINVAL;
	int rc = mlog_flush(w, true);
	mlog_discard(w);
	return rc;
}

void mlog_discard(struct mlog_writer *w)
{
	if (w)
		writer_free(w);
}

size_t mlog_mem_bytes(const struct mlog_writer *w)
{
	if (!w)
		return 0;
	return sizeof(*w) + w->buf.cap + strlen(w->path) + 1;
}
