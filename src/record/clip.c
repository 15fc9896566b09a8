/*
 * clip.c - a span of a stored recording as WAV in memory (a shared clip of
 * a call, issue #18).  The stored file is checked against its SHA-256 and
 * decrypted into a memfd (plain.c: nothing of the plaintext touches the
 * disk), decoded from its start (Ogg/Opus and FLAC are read in order; the
 * samples before the span are decoded and dropped, so the span's samples
 * are exactly those of the whole recording decoded), and the span's frames
 * written as 16-bit WAV at the recording's rate and channels.
 */
#include "record/record_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CLIP_BLOCK 4096 /* frames decoded at a time */

/* Frame index of ms at rate, rounded down. */
static uint64_t ms_frame(int64_t ms, uint32_t rate)
{
	return (uint64_t)ms * rate / 1000;
}

/* Decode r to its end, keeping frames [from, to) in w; *kept counts them. */
static int span_copy(struct media_reader *r, struct media_writer *w, uint64_t from, uint64_t to,
		     uint64_t *kept, const char *path, char *err, size_t errlen)
{
	int16_t pcm[CLIP_BLOCK * 2];
	unsigned ch = media_reader_channels(r);
	uint64_t pos = 0;
	*kept = 0;
	while (pos < to) {
		long n = media_reader_read(r, pcm, CLIP_BLOCK);
		if (n < 0)
			return es_errf(err, errlen, (int)n, "recording %s cannot be decoded: %s",
				       path, es_strerror((int)n));
		if (!n)
			break;
		uint64_t a = pos, b = pos + (uint64_t)n;
		pos = b;
		if (b <= from)
			continue;
		uint64_t lo = a < from ? from : a, hi = b < to ? b : to;
		if (media_writer_write(w, pcm + (lo - a) * ch, (size_t)(hi - lo)))
			return es_errf(err, errlen, ES_ENOMEM, "clip of %s: out of memory", path);
		*kept += hi - lo;
	}
	return 0;
}

int rec_recording_span(const char *data_dir, struct st_vault *vault,
		       const struct idx_recording *rec, int64_t start_ms, int64_t end_ms,
		       struct es_buf *out, struct rec_span *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	if (start_ms < 0 || end_ms <= start_ms)
		return es_errf(err, errlen, ES_EINVAL, "the span %lld-%lld ms is empty",
			       (long long)start_ms, (long long)end_ms);
	int pfd = memfd_create("earshot-clip", MFD_CLOEXEC);
	if (pfd < 0)
		return es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	int rc = rec_plain_into(data_dir, vault, rec->path, rec->sha256, rec->encrypted, pfd,
				"no clip made", err, errlen);
	FILE *f = NULL;
	if (!rc && (lseek(pfd, 0, SEEK_SET) < 0 || !(f = fdopen(dup(pfd), "rb"))))
		rc = es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	close(pfd);
	if (rc)
		return rc;
	struct media_reader *r = NULL;
	if ((rc = media_reader_open_stream(&r, f, rec->path, err, errlen)))
		return rc; /* f closed by the reader */
	uint32_t rate = media_reader_rate(r);
	unsigned ch = media_reader_channels(r);
	uint64_t from = ms_frame(start_ms, rate), to = ms_frame(end_ms, rate);
	struct media_writer *w = NULL;
	struct media_writer_opts wo = {.opus_complexity = -1};
	if (!rate || !ch || ch > 2)
		rc = es_errf(err, errlen, ES_EFORMAT, "recording %s: %u channels at %u Hz",
			     rec->path, ch, rate);
	if (!rc)
		rc = media_writer_open_mem(&w, out, "clip", MEDIA_WAV, rate, ch, &wo, err, errlen);
	uint64_t kept = 0;
	if (!rc)
		rc = span_copy(r, w, from, to, &kept, rec->path, err, errlen);
	media_reader_close(r);
	if (w) {
		char cerr[256];
		int crc = media_writer_close(w, NULL, cerr, sizeof(cerr));
		if (!rc && crc)
			rc = es_errf(err, errlen, crc, "clip of %s: %s", rec->path, cerr);
	}
	if (!rc && !kept)
		rc = es_errf(err, errlen, ES_ENOTFOUND,
			     "the span starts at %lld ms, after the recording's end", (long long)start_ms);
	if (!rc) {
		info->rate = rate;
		info->channels = ch;
		info->first_frame = from;
		info->frames = kept;
	}
	return rc;
}
