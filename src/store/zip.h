/*
 * zip.h - a minimal ZIP archive (PKWARE APPNOTE 6.3.x) writer and reader for
 * flat bundles: the STORED method only (the audio in a bundle is already
 * compressed), CRC-32 checked on read, no ZIP64, no encryption, no
 * folders.  Evidence bundles (`earshot export --evidence`) use it.
 *
 * Bounds, enforced by both sides: at most ST_ZIP_MAX_ENTRIES entries, names
 * of 1..ST_ZIP_NAME_MAX bytes of 0x21..0x7e without '/', '\\' or ':' and
 * not "." or "..", every size and offset below 4 GiB (0xffffffff, ZIP64's
 * marker, is refused).  Anything else is refused with a reason.
 *
 * Reader (APPNOTE 4.3.16 end of central directory, 4.3.12 central
 * directory, 4.3.7 local header): over bytes in memory, which it never
 * reads past nor changes; entries are views into them.  Each entry's local
 * header must agree with its central record (method, sizes, CRC, name),
 * its data must lie before the central directory, entries must not
 * overlap, names must be unique, and the data's CRC-32 must match.
 *
 * Writer: entries are streamed into a file or a descriptor the caller
 * owns (a memfd: nothing of the archive touches a disk; the local header is written
 * first and patched with the CRC and size once the data is in, so general
 * purpose bit 3, the data descriptor, is never used); finish writes the
 * central directory and the end record and fsyncs.  Times are fixed
 * (1980-01-01 00:00) so that the same content makes the same archive.
 */
#ifndef ES_STORE_ZIP_H
#define ES_STORE_ZIP_H

#include "core/core.h"

#define ST_ZIP_MAX_ENTRIES 64
#define ST_ZIP_NAME_MAX 255
#define ST_ZIP_SIZE_MAX 0xfffffffeu /* 0xffffffff means ZIP64 */

/* CRC-32 of ISO 3309 / ITU-T V.42 (the one of ZIP and gzip): start with
 * crc = 0, feed the result back for the next piece. */
uint32_t st_crc32(uint32_t crc, const void *p, size_t n);

/* Whether name (len bytes) is a name a flat bundle may hold (see above). */
bool st_zip_name_ok(const char *name, size_t len);

/* ---- reader ----------------------------------------------------------------- */

struct st_zip_entry {
	struct slice name;  /* view into the archive, not NUL-terminated */
	const uint8_t *data;
	uint32_t size;
	uint32_t crc;
};

struct st_zip {
	struct st_zip_entry e[ST_ZIP_MAX_ENTRIES];
	size_t n;
};

/* Parse the archive p[0..len).  0, or ES_EFORMAT (not a ZIP, or damaged:
 * bad CRC, overlapping entries...), ES_EUNSUP (ZIP64, compression,
 * encryption, several disks) or ES_ELIMIT (too many entries, a name too
 * long or not flat), with a reason in err (may be NULL). */
int st_zip_parse(const uint8_t *p, size_t len, struct st_zip *z, char *err, size_t errlen);
/* The entry named name (a C string), or NULL. */
const struct st_zip_entry *st_zip_find(const struct st_zip *z, const char *name);

/* ---- writer ----------------------------------------------------------------- */

struct st_zip_writer;

/* Create path (mode 0644; it must not exist: O_EXCL). */
int st_zip_writer_open(struct st_zip_writer **out, const char *path, char *err, size_t errlen);
/* Write into fd (the caller's, e.g. a memfd; empty, written from offset 0
 * with pwrite, never closed by the writer); name is used in messages.
 * finish then neither fsyncs nor closes, free leaves fd alone. */
int st_zip_writer_open_fd(struct st_zip_writer **out, int fd, const char *name, char *err,
			  size_t errlen);
/* Add an entry with n bytes from p. */
int st_zip_writer_add(struct st_zip_writer *w, const char *name, const void *p, size_t n);
/* Add an entry with the content of the file src, streamed. */
int st_zip_writer_add_file(struct st_zip_writer *w, const char *name, const char *src);
/* Add an entry streamed in pieces: begin, write any number of times, end.
 * No other entry may be added in between. */
int st_zip_writer_begin(struct st_zip_writer *w, const char *name);
int st_zip_writer_write(struct st_zip_writer *w, const void *p, size_t n);
int st_zip_writer_end(struct st_zip_writer *w);
/* Central directory, end record, fsync, close.  Nothing may be added after. */
int st_zip_writer_finish(struct st_zip_writer *w);
/* The message of the writer's last failure ("" when none). */
const char *st_zip_writer_error(const struct st_zip_writer *w);
/* Close and free; the file of a writer not finished is removed. */
void st_zip_writer_free(struct st_zip_writer *w);

#endif /* ES_STORE_ZIP_H */
