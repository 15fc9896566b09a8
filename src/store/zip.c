/* zip.c - STORED-only ZIP writer and reader for flat bundles (zip.h). */
#include "store/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* APPNOTE 4.3.7, 4.3.12, 4.3.16 */
#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG 0x06054b50u
#define ZIP_LOCAL_LEN 30u
#define ZIP_CENTRAL_LEN 46u
#define ZIP_END_LEN 22u
#define ZIP_VERSION 10u         /* 1.0: stored entries, nothing more */
#define ZIP_MADE_BY 0x0314u     /* Unix, spec 2.0 */
#define ZIP_DOS_DATE 0x0021u    /* 1980-01-01 */
#define ZIP_FLAG_ENCRYPTED 0x0001u
#define ZIP_FLAG_DESCRIPTOR 0x0008u
#define ZIP_FLAG_STRONG 0x0040u

/* ---- CRC-32 (reflected, polynomial 0xedb88320) ------------------------------- */

/* crc_table[n]: n through 8 rounds of the reflected polynomial 0xedb88320. */
static const uint32_t crc_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
	0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
	0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
	0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
	0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
	0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
	0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
	0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
	0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
	0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
	0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
	0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
	0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
	0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
	0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
	0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
	0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
	0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
	0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
	0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
	0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
	0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
	0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
	0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
	0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
	0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
	0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
	0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
	0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
	0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
	0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
	0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
	0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
	0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
	0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t st_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xffu] ^ (crc >> 8);
	return ~crc;
}

bool st_zip_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > ST_ZIP_NAME_MAX)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x21 || c > 0x7e || c == '/' || c == '\\' || c == ':')
			return false;
	}
	return true;
}

/* ---- little-endian fields ------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v);
	wr16(p + 2, v >> 16);
}

/* ---- reader ----------------------------------------------------------------- */



/* The end of central directory record: the last signature whose comment
 * reaches exactly the end of the archive (APPNOTE 4.3.16). */
static bool find_end(const uint8_t *p, size_t len, size_t *at)
{
	if (len < ZIP_END_LEN)
		return false;
	size_t lo = len - ZIP_END_LEN > 0xffff ? len - ZIP_END_LEN - 0xffff : 0;
	for (size_t i = len - ZIP_END_LEN + 1; i-- > lo;) {
		if (rd32(p + i) == ZIP_END_SIG && i + ZIP_END_LEN + rd16(p + i + 20) == len) {
			*at = i;
			return true;
		}
	}
	return false;
}

struct zip_span {
	uint64_t from, to; /* local header .. end of data */
};

/* One central record at p[*pos]; checks it and its local header. */
static int parse_entry(const uint8_t *p, uint64_t cd_off, uint64_t cd_end, uint64_t *pos,
		       size_t i, struct st_zip_entry *e, struct zip_span *span, char *err,
		       size_t errlen)
{
	const uint8_t *c = p + *pos;
	if (*pos + ZIP_CENTRAL_LEN > cd_end || rd32(c) != ZIP_CENTRAL_SIG)
		return es_errf(err, errlen, ES_EFORMAT, "central directory entry %zu is damaged", i + 1);
	uint16_t flags = rd16(c + 8), method = rd16(c + 10), nlen = rd16(c + 28);
	uint32_t crc = rd32(c + 16), csize = rd32(c + 20), usize = rd32(c + 24);
	uint64_t rec_len = (uint64_t)ZIP_CENTRAL_LEN + nlen + rd16(c + 30) + rd16(c + 32);
	uint32_t loff = rd32(c + 42);
	if (*pos + rec_len > cd_end)
		return es_errf(err, errlen, ES_EFORMAT, "central directory entry %zu runs past the "
			    "directory", i + 1);
	const char *name = (const char *)c + ZIP_CENTRAL_LEN;
	if (nlen > ST_ZIP_NAME_MAX)
		return es_errf(err, errlen, ES_ELIMIT, "entry %zu: name of %u bytes (at most %u)",
			    i + 1, nlen, ST_ZIP_NAME_MAX);
	if (!st_zip_name_ok(name, nlen))
		return es_errf(err, errlen, ES_ELIMIT, "entry %zu: name is not a plain file name "
			    "(a bundle is flat: no folders, no \"..\", printable ASCII only)", i + 1);
	int nl = (int)nlen;
	if (flags & (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG))
		return es_errf(err, errlen, ES_EUNSUP, "%.*s: encrypted entries are not supported", nl,
			    name);
	if (method != 0)
		return es_errf(err, errlen, ES_EUNSUP, "%.*s: compression method %u (only STORED, 0, "
			    "is supported)", nl, name, method);
	if (csize == 0xffffffffu || usize == 0xffffffffu || loff == 0xffffffffu ||
	    rd16(c + 34) == 0xffffu)
		return es_errf(err, errlen, ES_EUNSUP, "%.*s: ZIP64 is not supported", nl, name);
	if (rd16(c + 34) != 0)
		return es_errf(err, errlen, ES_EUNSUP, "%.*s: multi-disk archives are not supported", nl,
			    name);
	if (csize != usize)
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: stored entry with sizes %u and %u", nl,
			    name, csize, usize);
	/* the local header, APPNOTE 4.3.7 */
	if ((uint64_t)loff + ZIP_LOCAL_LEN > cd_off)
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: local header outside the archive's data",
			    nl, name);
	const uint8_t *l = p + loff;
	if (rd32(l) != ZIP_LOCAL_SIG)
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: no local header at offset %u", nl, name,
			    loff);
	uint16_t lflags = rd16(l + 6), lnlen = rd16(l + 26);
	bool desc = (lflags & ZIP_FLAG_DESCRIPTOR) != 0;
	if (rd16(l + 8) != method || (lflags & (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG)) ||
	    (!desc && (rd32(l + 14) != crc || rd32(l + 18) != csize || rd32(l + 22) != usize)))
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: local header disagrees with the central "
			    "directory", nl, name);
	uint64_t data = (uint64_t)loff + ZIP_LOCAL_LEN + lnlen + rd16(l + 28);
	if (lnlen != nlen || (uint64_t)loff + ZIP_LOCAL_LEN + lnlen > cd_off ||
	    memcmp(l + ZIP_LOCAL_LEN, name, nlen) != 0)
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: local header names another file", nl,
			    name);
	if (data + usize > cd_off)
		return es_errf(err, errlen, ES_EFORMAT, "%.*s: data runs into the central directory",
			    nl, name);
	e->name = sl_make(name, nlen);
	e->data = p + data;
	e->size = usize;
	e->crc = crc;
	span->from = loff;
	span->to = data + usize;
	*pos += rec_len;
	return 0;
}

int st_zip_parse(const uint8_t *p, size_t len, struct st_zip *z, char *err, size_t errlen)
{
	struct zip_span span[ST_ZIP_MAX_ENTRIES];
	size_t end;
	z->n = 0;
	if (!find_end(p, len, &end))
		return es_errf(err, errlen, ES_EFORMAT, "not a ZIP archive (no end of central "
			    "directory record)");
	const uint8_t *r = p + end;
	uint16_t disk = rd16(r + 4), cd_disk = rd16(r + 6), here = rd16(r + 8), total = rd16(r + 10);
	uint32_t cd_size = rd32(r + 12), cd_off = rd32(r + 16);
	if (total == 0xffffu || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
		return es_errf(err, errlen, ES_EUNSUP, "ZIP64 archives are not supported");
	if (disk || cd_disk || here != total)
		return es_errf(err, errlen, ES_EUNSUP, "multi-disk archives are not supported");
	if (total > ST_ZIP_MAX_ENTRIES)
		return es_errf(err, errlen, ES_ELIMIT, "%u entries (a bundle has at most %u)", total,
			    ST_ZIP_MAX_ENTRIES);
	if ((uint64_t)cd_off + cd_size > end)
		return es_errf(err, errlen, ES_EFORMAT, "the central directory lies outside the archive");
	uint64_t pos = cd_off, cd_end = (uint64_t)cd_off + cd_size;
	for (size_t i = 0; i < total; i++) {
		struct st_zip_entry *e = &z->e[i];
		int rc = parse_entry(p, cd_off, cd_end, &pos, i, e, &span[i], err, errlen);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (sl_eq(z->e[j].name, e->name))
				return es_errf(err, errlen, ES_EFORMAT, "%.*s: the archive holds it twice",
					    (int)e->name.len, e->name.p);
			if (span[i].from < span[j].to && span[j].from < span[i].to)
				return es_errf(err, errlen, ES_EFORMAT, "%.*s overlaps %.*s",
					    (int)e->name.len, e->name.p, (int)z->e[j].name.len,
					    z->e[j].name.p);
		}
		uint32_t got = st_crc32(0, e->data, e->size);
		if (got != e->crc)
			return es_errf(err, errlen, ES_EFORMAT, "%.*s: CRC-32 %08x, the archive says %08x "
				    "(the entry is damaged or was altered)", (int)e->name.len,
				    e->name.p, got, e->crc);
	}
	if (pos != cd_end)
		return es_errf(err, errlen, ES_EFORMAT, "the central directory has %llu bytes more than "
			    "its %u entries", (unsigned long long)(cd_end - pos), total);
	z->n = total;
	return 0;
}

const struct st_zip_entry *st_zip_find(const struct st_zip *z, const char *name)
{
	struct slice s = sl_cstr(name);
	for (size_t i = 0; i < z->n; i++)
		if (sl_eq(z->e[i].name, s))
			return &z->e[i];
	return NULL;
}

/* ---- writer ----------------------------------------------------------------- */

struct zip_wentry {
	char name[ST_ZIP_NAME_MAX + 1];
	uint32_t crc, size, off;
};

struct st_zip_writer {
	int fd;
	bool own_fd;  /* opened (and, unfinished, removed) by the writer */
	char *path;   /* the file, or only a name for messages */
	uint64_t off; /* bytes written so far */
	struct zip_wentry e[ST_ZIP_MAX_ENTRIES];
	size_t n;
	bool open_entry, finished, failed;
	uint32_t crc;
	uint64_t size;
	char err[320];
};

static int wfail(struct st_zip_writer *w, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int wfail(struct st_zip_writer *w, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->failed = true;
	return rc;
}

static int put_at(struct st_zip_writer *w, const void *p, size_t n, uint64_t at)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = pwrite(w->fd, b, n, (off_t)at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return wfail(w, ES_EIO, "%s: write failed: %s", w->path,
				     k < 0 ? strerror(errno) : "no space");
		b += k;
		n -= (size_t)k;
		at += (uint64_t)k;
	}
	return 0;
}

static int put(struct st_zip_writer *w, const void *p, size_t n)
{
	if (w->off + n > ST_ZIP_SIZE_MAX)
		return wfail(w, ES_ELIMIT, "%s: the archive would reach 4 GiB (no ZIP64)", w->path);
	int rc = put_at(w, p, n, w->off);
	if (!rc)
		w->off += n;
	return rc;
}

int st_zip_writer_open(struct st_zip_writer **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	struct st_zip_writer *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
		free(w->path);
		free(w);
		return rc;
	}
	w->own_fd = true;
	*out = w;
	return 0;
}

int st_zip_writer_open_fd(struct st_zip_writer **out, int fd, const char *name, char *err,
			  size_t errlen)
{
	*out = NULL;
	struct st_zip_writer *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(name))) {
		free(w);
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	}
	w->fd = fd;
	*out = w;
	return 0;
}

static int entry_begin(struct st_zip_writer *w, const char *name)
{
	size_t nlen = strlen(name);
	if (w->failed || w->finished)
		return wfail(w, ES_EINVAL, "%s: the archive is closed", w->path);
	if (!st_zip_name_ok(name, nlen))
		return wfail(w, ES_EINVAL, "%s: '%s' is not a plain file name", w->path, name);
	if (w->n == ST_ZIP_MAX_ENTRIES)
		return wfail(w, ES_ELIMIT, "%s: more than %u entries", w->path, ST_ZIP_MAX_ENTRIES);
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->e[i].name, name))
			return wfail(w, ES_EEXIST, "%s: %s added twice", w->path, name);
	struct zip_wentry *e = &w->e[w->n];
	memcpy(e->name, name, nlen + 1);
	e->off = (uint32_t)w->off;
	uint8_t h[ZIP_LOCAL_LEN] = {0};
	wr32(h, ZIP_LOCAL_SIG);
	wr16(h + 4, ZIP_VERSION);
	wr16(h + 12, ZIP_DOS_DATE);
	wr16(h + 26, (uint32_t)nlen); /* CRC and sizes are patched at the end */
	int rc = put(w, h, sizeof(h));
	if (!rc)
		rc = put(w, name, nlen);
	w->crc = 0;
	w->size = 0;
	return rc;
}

static int entry_data(struct st_zip_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return ES_EINVAL;
	w->crc = st_crc32(w->crc, p, n);
	w->size += n;
	return put(w, p, n);
}

static int entry_end(struct st_zip_writer *w)
{
	struct zip_wentry *e = &w->e[w->n];
	uint8_t f[12];
	e->crc = w->crc;
	e->size = (uint32_t)w->size;
	wr32(f, e->crc);
	wr32(f + 4, e->size);
	wr32(f + 8, e->size);
	int rc = put_at(w, f, sizeof(f), (uint64_t)e->off + 14);
	if (!rc)
		w->n++;
	return rc;
}

int st_zip_writer_add(struct st_zip_writer *w, const char *name, const void *p, size_t n)
{
	int rc = entry_begin(w, name);
	if (!rc && n)
		rc = entry_data(w, p, n);
	if (!rc)
		rc = entry_end(w);
	return rc;
}

int st_zip_writer_begin(struct st_zip_writer *w, const char *name)
{
	if (w->open_entry)
		return wfail(w, ES_EINVAL, "%s: an entry is already open", w->path);
	int rc = entry_begin(w, name);
	if (!rc)
		w->open_entry = true;
	return rc;
}

int st_zip_writer_write(struct st_zip_writer *w, const void *p, size_t n)
{
	if (!w->open_entry)
		return wfail(w, ES_EINVAL, "%s: no entry is open", w->path);
	return n ? entry_data(w, p, n) : 0;
}

int st_zip_writer_end(struct st_zip_writer *w)
{
	if (!w->open_entry || w->failed)
		return wfail(w, ES_EINVAL, "%s: no entry is open", w->path);
	w->open_entry = false;
	return entry_end(w);
}

int st_zip_writer_add_file(struct st_zip_writer *w, const char *name, const char *src)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wfail(w, ES_EIO, "%s: %s", src, strerror(errno));
	int rc = entry_begin(w, name);
	uint8_t buf[65536];
	while (!rc) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = wfail(w, ES_EIO, "%s: read failed: %s", src, strerror(errno));
		if (k <= 0)
			break;
		rc = entry_data(w, buf, (size_t)k);
	}
	close(fd);
	if (!rc)
		rc = entry_end(w);
	return rc;
}

int st_zip_writer_finish(struct st_zip_writer *w)
{
	if (w->failed || w->finished || w->open_entry)
		return wfail(w, ES_EINVAL, "%s: the archive is closed", w->path);
	uint64_t cd_off = w->off;
	int rc = 0;
	for (size_t i = 0; i < w->n && !rc; i++) {
		const struct zip_wentry *e = &w->e[i];
		size_t nlen = strlen(e->name);
		uint8_t c[ZIP_CENTRAL_LEN] = {0};
		wr32(c, ZIP_CENTRAL_SIG);
		wr16(c + 4, ZIP_MADE_BY);
		wr16(c + 6, ZIP_VERSION);
		wr16(c + 14, ZIP_DOS_DATE);
		wr32(c + 16, e->crc);
		wr32(c + 20, e->size);
		wr32(c + 24, e->size);
		wr16(c + 28, (uint32_t)nlen);
		wr32(c + 38, (uint32_t)(S_IFREG | 0644) << 16);
		wr32(c + 42, e->off);
		rc = put(w, c, sizeof(c));
		if (!rc)
			rc = put(w, e->name, nlen);
	}
	if (rc)
		return rc;
	uint8_t r[ZIP_END_LEN] = {0};
	wr32(r, ZIP_END_SIG);
	wr16(r + 8, (uint32_t)w->n);
	wr16(r + 10, (uint32_t)w->n);
	wr32(r + 12, (uint32_t)(w->off - cd_off));
	wr32(r + 16, (uint32_t)cd_off);
	if ((rc = put(w, r, sizeof(r))))
		return rc;
	if (!w->own_fd) { /* the caller's descriptor (a memfd): nothing to make durable */
		w->finished = true;
		return 0;
	}
	if (fsync(w->fd))
		return wfail(w, ES_EIO, "%s: fsync failed: %s", w->path, strerror(errno));
	int fd = w->fd;
	w->fd = -1;
	if (close(fd))
		return wfail(w, ES_EIO, "%s: close failed: %s", w->path, strerror(errno));
	w->finished = true;
	return 0;
}

const char *st_zip_writer_error(const struct st_zip_writer *w)
{
	return w ? w->err : "";
}

void st_zip_writer_free(struct st_zip_writer *w)
{
	if (!w)
		return;
	if (w->own_fd && w->fd >= 0)
		close(w->fd);
	if (w->own_fd && !w->finished)
		unlink(w->path);
	free(w->path);
	free(w);
}
