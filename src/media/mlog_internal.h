/* mlog_internal.h - what the media log's writer (mlog.c) and reader
 * (mlog_read.c) share: the format's constants and byte helpers.  The format
 * is described at the top of mlog.c. */
#ifndef ES_MEDIA_MLOG_INTERNAL_H
#define ES_MEDIA_MLOG_INTERNAL_H

#include "media/media.h"

#include <sodium.h>
#include <string.h>

#define MLOG_MAGIC "ESML"
#define MLOG_VERSION 1
#define MLOG_HDR_FIXED 16
#define MLOG_MAX_CALL_ID 1024
#define MLOG_REC_HDR 3
#define MLOG_REC_MAX_BODY 65535
#define MLOG_DEFAULT_BUF (32 * 1024)
#define MLOG_NAME_MAX 23
#define MLOG_ADDR_BYTES 19 /* family, 16 bytes IP, port */
#define MLOG_VERSION_ENC 2
#define MLOG_HDR2_FIXED 24
#define MLOG_FILE_ID 16
#define MLOG_REC_HEAD 5
#define CH_HDR 28 /* length + nonce */
#define CH_MAC crypto_aead_xchacha20poly1305_ietf_ABYTES
/* Largest chunk plaintext: the encrypted writer buffers at most 64 KiB, or
 * one record (at most 7 + 65535 bytes) on its own. */
#define MLOG_CHUNK_MAX (64 * 1024 + 64)

/* ---- little helpers ---------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), a nibble at a time: a 16-entry
 * constant table instead of 1 KiB. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static inline uint32_t crc32_upd(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

static inline void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static inline size_t put_varint(uint8_t *p, uint64_t v)
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
static inline bool get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
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

static inline void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* The key id of a log: "spool:" and its file id in hex. */
static inline void key_id(const uint8_t fid[MLOG_FILE_ID], char out[6 + 2 * MLOG_FILE_ID + 1])
{
	memcpy(out, "spool:", 6);
	sodium_bin2hex(out + 6, 2 * MLOG_FILE_ID + 1, fid, MLOG_FILE_ID);
}

/* A chunk's associated data: file id || chunk index. */
static inline void chunk_ad(uint8_t ad[MLOG_FILE_ID + 8], const uint8_t fid[MLOG_FILE_ID], uint64_t i)
{
	memcpy(ad, fid, MLOG_FILE_ID);
	put_u64(ad + MLOG_FILE_ID, i);
}

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
