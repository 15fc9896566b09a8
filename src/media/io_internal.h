/*
 * io_internal.h - helpers shared by the media writers and readers
 * (writer.c, reader.c, convert.c).  Not part of the media.h contract.
 */
#ifndef ES_MEDIA_IO_INTERNAL_H
#define ES_MEDIA_IO_INTERNAL_H

#include "media/media.h"

#include <stdarg.h>

/* Canonical RIFF/WAVE PCM header: RIFF(12) + "fmt "(8+16) + "data"(8). */
#define MIO_WAV_HDR 44
/* The largest data chunk a WAV file can describe with 32-bit sizes. */
#define MIO_WAV_MAX_DATA (UINT32_MAX - (MIO_WAV_HDR - 8))

/* Frames per chunk when streaming between a reader and a writer. */
#define MIO_CHUNK_FRAMES 4096

static inline void mio_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void mio_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t mio_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t mio_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* snprintf into err when err is not NULL. */
void mio_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* ES_MEDIA_IO_INTERNAL_H */
