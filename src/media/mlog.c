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
 *
 * An RTP record is payload + 14..17 bytes.  A reader that finds fewer bytes
 * at the end than the last record needs reports a torn tail (end of log,
 * mlog_torn()); a complete record whose CRC does not match, or whose body
 * does not parse, is ES_EPARSE naming the file and byte offset.
 *
 * The writer buffers records in memory and appends them with
 * open(O_APPEND)/write/close, so no descriptor is held between flushes.  A
 * failed append is cut back (ftruncate) to the size before it, so the file
 * never keeps half a batch in front of later ones.
 */
#include "media/media.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MLOG_MAGIC "ESML"
#define MLOG_VERSION 1
#define MLOG_HDR_FIXED 16
#define MLOG_MAX_CALL_ID 1024
#define MLOG_REC_HDR 3
#define MLOG_REC_MAX_BODY 65535
#define MLOG_DEFAULT_BUF (32 * 1024)
#define MLOG_NAME_MAX 23

/* ---- little helpers ---------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), a nibble at a time: a 16-entry
 * constant table instead of 1 KiB. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static uint32_t crc32_upd(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads a varint from p[*off, len); false when it runs off the end or is
 * longer than 10 bytes. */
static bool get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*off >= len)
			return false;
		uint8_t b = p[(*off)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- writer ---------------------------------------------------------------- */

struct mlog_writer {
	char *path;
	struct es_buf buf;
	size_t buf_bytes;
	unsigned nstreams;
	int64_t last_ts_us; /* the delta base of the next RTP record */
};


int mlog_create(struct mlog_writer **out, const char *path, const char *call_id,
		int64_t start_us, size_t buf_bytes)
{
	*out = NULL;
	if (!path || !call_id)
		return ES_EINVAL;
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
	uint8_t hdr[MLOG_HDR_FIXED + MLOG_MAX_CALL_ID + 4];
	memcpy(hdr, MLOG_MAGIC, 4);
	hdr[4] = MLOG_VERSION;
	hdr[5] = 0;
	put_u16(hdr + 6, (uint16_t)idlen);
	put_u32(hdr + 8, (uint32_t)(uint64_t)start_us);
	put_u32(hdr + 12, (uint32_t)((uint64_t)start_us >> 32));
	memcpy(hdr + MLOG_HDR_FIXED, call_id, idlen);
	put_u32(hdr + MLOG_HDR_FIXED + idlen, crc32_upd(0, hdr, MLOG_HDR_FIXED + idlen));
	if (!w->path) {
		free(w);
		return ES_ENOMEM;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		int e = errno == EEXIST ? ES_EEXIST : ES_EIO;
		free(w->path);
		free(w);
		return e;
	}
	int rc = es_write_all(fd, hdr, MLOG_HDR_FIXED + idlen + 4);
	if (close(fd) != 0 && rc == 0)
		rc = ES_EIO;
	if (rc) {
		unlink(path);
		free(w->path);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int mlog_flush(struct mlog_writer *w, bool sync)
{
	if (!w)
		return ES_EINVAL;
	if (w->buf.len == 0 && !sync)
		return 0;
	int fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return ES_EIO;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : ES_EIO;
	if (rc == 0 && w->buf.len) {
		rc = es_write_all(fd, w->buf.p, w->buf.len);
		if (rc && ftruncate(fd, st.st_size) != 0)
			ES_LOG_ERR("mlog", "%s: cannot cut back a failed append", w->path);
	}
	if (rc == 0 && sync && fsync(fd) != 0)
		rc = ES_EIO;
	if (close(fd) != 0 && rc == 0)
		rc = ES_EIO;
	if (rc == 0)
		es_buf_reset(&w->buf);
	return rc;
}

/* Frame a record body (already at buf[start + MLOG_REC_HDR ...]) in place. */
static int add_record(struct mlog_writer *w, uint8_t type, const uint8_t *head, size_t hlen,
		      const uint8_t *tail, size_t tlen)
{
	size_t body = hlen + tlen;
	if (body > MLOG_REC_MAX_BODY)
		return ES_EINVAL;
	size_t need = MLOG_REC_HDR + body + 4;
	if (w->buf.len && w->buf.len + need > w->buf_bytes) {
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
	put_u32(r + MLOG_REC_HDR + body, crc32_upd(0, r, MLOG_REC_HDR + body));
	w->buf.len += need;
	if (w->buf.len >= w->buf_bytes)
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
	if (!w)
		return;
	es_buf_free(&w->buf);
	free(w->path);
	free(w);
}

size_t mlog_mem_bytes(const struct mlog_writer *w)
{
	if (!w)
		return 0;
	return sizeof(*w) + w->buf.cap + strlen(w->path) + 1;
}

/* ---- reader ---------------------------------------------------------------- */

#define RD_BUF (128 * 1024) /* holds the largest record twice over */

struct mlog_reader {
	char *path;
	int fd;
	char call_id[MLOG_MAX_CALL_ID + 1];
	int64_t start_us;
	uint64_t data_off;  /* file offset of the first record */
	uint8_t *buf;
	size_t pos, len;    /* unread bytes are buf[pos, len) */
	uint64_t buf_off;   /* file offset of buf[0] */
	bool eof, torn;
	int64_t last_ts_us;
};



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
		ssize_t got = read(r->fd, r->buf + r->len, RD_BUF - r->len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
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
	if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
		return ES_EIO;
	r->pos = r->len = 0;
	r->buf_off = off;
	r->eof = r->torn = false;
	r->last_ts_us = r->start_us;
	return 0;
}

int mlog_open(struct mlog_reader **out, const char *path, char *err, size_t errlen)
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
int mlog_rewind(struct mlog_reader *r) { return rd_seek(r, r->data_off); }

void mlog_reader_close(struct mlog_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->path);
	free(r);
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
			es_errf(err, errlen, 0, "%s: read error", r->path);
			return rc;
		}
		size_t avail = r->len - r->pos;
		if (avail == 0)
			return 0;
		uint64_t off = r->buf_off + r->pos;
		if (avail < MLOG_REC_HDR) {
			r->torn = true;
			return 0;
		}
		const uint8_t *h = r->buf + r->pos;
		size_t body = get_u16(h + 1);
		size_t total = MLOG_REC_HDR + body + 4;
		rc = rd_fill(r, total);
		if (rc) {
			es_errf(err, errlen, 0, "%s: read error", r->path);
			return rc;
		}
		if (r->len - r->pos < total) {
			r->torn = true;
			return 0;
		}
		h = r->buf + r->pos;
		if (get_u32(h + MLOG_REC_HDR + body) != crc32_upd(0, h, MLOG_REC_HDR + body)) {
			es_errf(err, errlen, 0, "%s: corrupt record at byte offset %llu (bad checksum)",
				r->path, (unsigned long long)off);
			return ES_EPARSE;
		}
		uint8_t type = h[0];
		if (type < MLOG_REC_STREAM || type > MLOG_REC_META) {
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
