/*
 * peaks.c - the waveform of a stored recording, for the web player
 * (GET /api/calls/{id}/peaks): the recording's plaintext, as a stream the
 * caller opened (a decrypting one for .enc files), is decoded by the media
 * layer's readers and reduced to a few points per channel.
 *
 * Decoding is the cost (about 16 s for a 30-minute call here), so it is
 * done once per recording at a fixed resolution (REC_PEAKS_STORED points)
 * and kept in DATA/peaks/<recording path>.peaks, encrypted with the
 * recording's own data key when the recording is encrypted; every point
 * count a player asks for is derived from it (rec_peaks_derive).
 */
#include "media/media.h"
#include "record/record.h"
#include "store/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rec_recording_peaks(FILE *plain, const char *name, unsigned points, struct rec_peaks *out,
			char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct media_reader *mr = NULL;
	int rc = media_reader_open_stream(&mr, plain, name, err, errlen);
	if (rc)
		return rc;
	struct media_peaks pk = {0};
	char perr[256] = "";
	rc = media_peaks(mr, points, &pk, perr, sizeof(perr));
	media_reader_close(mr);
	if (rc) {
		snprintf(err, errlen, "%.200s: %.250s", name, perr);
		media_peaks_free(&pk);
		return rc;
	}
	out->rate = pk.rate;
	out->channels = pk.channels;
	out->points = pk.points;
	out->frames = pk.frames;
	out->v = pk.v; /* media_peaks_free is free(v) */
	return 0;
}

void rec_peaks_free(struct rec_peaks *p)
{
	struct media_peaks pk = {.v = p->v};
	media_peaks_free(&pk);
	p->v = NULL;
}

/* ---- the stored waveform: one fine reduction, every point count from it ---------- */

#define PK_MAGIC "ESPEAKS1"
#define PK_HDR (8 + 64 + 4 + 4 + 4 + 8) /* magic, sha256 hex, rate, ch, points, frames */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rec_peaks_encode(const struct rec_peaks *p, const char *sha256, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!sha256 || strlen(sha256) != 64 || p->channels < 1 || p->channels > 2 || !p->points ||
	    p->points > REC_PEAKS_STORED_MAX)
		return ES_EINVAL;
	size_t n = (size_t)p->channels * p->points;
	uint8_t *b = malloc(PK_HDR + n);
	if (!b)
		return ES_ENOMEM;
	memcpy(b, PK_MAGIC, 8);
	memcpy(b + 8, sha256, 64);
	put32(b + 72, p->rate);
	put32(b + 76, p->channels);
	put32(b + 80, p->points);
	put32(b + 84, (uint32_t)(p->frames >> 32));
	put32(b + 88, (uint32_t)p->frames);
	memcpy(b + PK_HDR, p->v, n);
	*buf = b;
	*len = PK_HDR + n;
	return 0;
}

int rec_peaks_decode(const uint8_t *buf, size_t len, const char *sha256, struct rec_peaks *out,
		     char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < PK_HDR || memcmp(buf, PK_MAGIC, 8))
		return es_errf(err, errlen, ES_EFORMAT, "not a stored waveform (no %s header)",
			       PK_MAGIC);
	uint32_t rate = get32(buf + 72), ch = get32(buf + 76), points = get32(buf + 80);
	uint64_t frames = (uint64_t)get32(buf + 84) << 32 | get32(buf + 88);
	if (ch < 1 || ch > 2 || points < 1 || points > REC_PEAKS_STORED_MAX || !rate)
		return es_errf(err, errlen, ES_EFORMAT,
			       "stored waveform: impossible header (%u Hz, %u channels, %u points)",
			       (unsigned)rate, (unsigned)ch, (unsigned)points);
	if (len != PK_HDR + (size_t)ch * points)
		return es_errf(err, errlen, ES_EFORMAT,
			       "stored waveform: %zu bytes, its header announces %zu", len,
			       (size_t)PK_HDR + (size_t)ch * points);
	/* made from another version of the file: not this recording's */
	if (sha256 && (strlen(sha256) != 64 || memcmp(buf + 8, sha256, 64)))
		return es_errf(err, errlen, ES_ENOTFOUND,
			       "stored waveform: made from another file than the recording");
	out->v = malloc((size_t)ch * points);
	if (!out->v)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	memcpy(out->v, buf + PK_HDR, (size_t)ch * points);
	out->rate = rate;
	out->channels = ch;
	out->points = points;
	out->frames = frames;
	return 0;
}

int rec_peaks_derive(const struct rec_peaks *base, unsigned points, struct rec_peaks *out)
{
	memset(out, 0, sizeof(*out));
	if (!points || !base->points || base->channels < 1 || base->channels > 2)
		return ES_EINVAL;
	out->v = calloc((size_t)points * base->channels, 1);
	if (!out->v)
		return ES_ENOMEM;
	uint64_t B = base->points;
	for (unsigned i = 0; i < points; i++) {
		/* the stored points overlapping [i/N, (i+1)/N) of the file */
		uint64_t lo = (uint64_t)i * B / points;
		uint64_t hi = ((uint64_t)(i + 1) * B + points - 1) / points; /* exclusive */
		if (hi <= lo)
			hi = lo + 1;
		for (unsigned c = 0; c < base->channels; c++) {
			const uint8_t *src = base->v + (size_t)c * B;
			uint8_t m = 0;
			for (uint64_t j = lo; j < hi && j < B; j++)
				if (src[j] > m)
					m = src[j];
			out->v[(size_t)c * points + i] = m;
		}
	}
	out->rate = base->rate;
	out->channels = base->channels;
	out->points = points;
	out->frames = base->frames;
	return 0;
}

int rec_peaks_path(const char *data_dir, const char *rec_path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s/%s%s", data_dir, REC_PEAKS_DIR, rec_path,
			 REC_PEAKS_SUFFIX);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

int rec_peaks_save(const char *path, const struct st_dek *dek, const struct rec_peaks *p,
		   const char *sha256, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = rec_peaks_encode(p, sha256, &buf, &len);
	if (rc)
		return es_errf(err, errlen, rc, "%s: cannot encode the waveform", path);
	rc = rec_sealed_save(path, dek, buf, len, err, errlen);
	free(buf);
	return rc;
}

int rec_sealed_save(const char *path, const struct st_dek *dek, const void *buf, size_t len,
		    char *err, size_t errlen)
{
	int rc = 0;
	char tmp[4400];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%u", path, randombytes_random()) >=
	    sizeof(tmp))
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", path);
	if (es_mkdirs(path, false))
		return es_errf(err, errlen, ES_EIO, "%s: cannot make its folder: %s", path,
			       strerror(errno));
	if (dek) {
		/* the recording's own data key: shredding it makes this
		 * unreadable too, and it is no weaker than the recording */
		struct st_enc_writer *w = NULL;
		rc = st_enc_writer_open(&w, tmp, dek, 0, err, errlen);
		if (!rc && (rc = st_enc_writer_write(w, buf, len)) == 0)
			rc = st_enc_writer_finish(w, NULL);
		if (rc && w)
			es_errf(err, errlen, rc, "%s: %s", tmp, st_enc_writer_error(w));
		st_enc_writer_free(w);
	} else {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		rc = fd < 0 || es_write_all(fd, buf, len) || fsync(fd) ? ES_EIO : 0;
		if (rc)
			es_errf(err, errlen, rc, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (!rc && rename(tmp, path))
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

int rec_peaks_load(const char *path, const struct st_dek *dek, const char *sha256,
		   struct rec_peaks *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	/* stored: 92 + 2 * REC_PEAKS_STORED_MAX bytes at most, + encryption */
	const size_t cap = PK_HDR + 2 * (size_t)REC_PEAKS_STORED_MAX;
	uint8_t *buf = malloc(cap + 1);
	if (!buf)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	size_t len = 0;
	int rc = 0;
	if (dek) {
		struct st_enc_reader *r = NULL;
		char rerr[300] = "";
		rc = access(path, F_OK) ? ES_ENOTFOUND
					: st_enc_reader_open(&r, path, dek, rerr, sizeof(rerr));
		if (!rc && st_enc_reader_size(r) > cap)
			rc = es_errf(rerr, sizeof(rerr), ES_EFORMAT, "too large for a waveform");
		if (!rc && (rc = st_enc_reader_pread(r, buf, cap, 0, &len)) != 0)
			snprintf(rerr, sizeof(rerr), "%s", st_enc_reader_error(r));
		st_enc_reader_close(r);
		if (rc && rc != ES_ENOTFOUND)
			es_errf(err, errlen, rc, "%s: %s", path, rerr);
	} else {
		FILE *f = fopen(path, "rb");
		if (!f) {
			rc = errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
		} else {
			len = fread(buf, 1, cap + 1, f);
			rc = ferror(f) ? ES_EIO : len > cap ? ES_EFORMAT : 0;
			fclose(f);
		}
		if (rc && rc != ES_ENOTFOUND)
			es_errf(err, errlen, rc, "%s: %s", path,
				rc == ES_EIO ? strerror(errno) : "too large for a waveform");
	}
	if (rc == ES_ENOTFOUND)
		es_errf(err, errlen, rc, "%s: not stored yet", path);
	if (!rc) {
		char derr[300] = "";
		rc = rec_peaks_decode(buf, len, sha256, out, derr, sizeof(derr));
		if (rc)
			es_errf(err, errlen, rc, "%s: %s", path, derr);
	}
	free(buf);
	return rc;
}

int rec_peaks_drop(const char *data_dir, const char *rec_path)
{
	char path[4400];
	if (rec_peaks_path(data_dir, rec_path, path, sizeof(path)))
		return ES_ELIMIT;
	return unlink(path) && errno != ENOENT ? ES_EIO : 0;
}
