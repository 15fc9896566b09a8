/*
 * writer.c - the recording writers: canonical WAV (PCM 16-bit LE), Ogg/Opus
 * (oggopus.c: libopus + libogg) and FLAC (libFLAC), all streaming through
 * one FILE* that this file owns, so that close can fflush + fsync before
 * reporting the size, or into a caller's memory buffer (media_writer_open_mem:
 * the recorder encrypts and hashes from there in one pass, with no file, no
 * syscall and no read back), or in order into a caller's sink
 * (media_writer_open_sink: a long call straight into the encryptor, with
 * no seeking back).  A write error is kept (first errno wins) and
 * reported by close with the file's name.
 */
#include "media/io_internal.h"
#include "media/oggopus_internal.h"

#include <FLAC/metadata.h>
#include <FLAC/stream_encoder.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIO_WAV_BUF (64 * 1024)

struct media_writer {
	enum media_format fmt;
	char *path;
	FILE *f;
	struct es_buf *mem; /* instead of f: the file's bytes */
	media_sink_fn sink; /* instead of f and mem: the bytes in order */
	void *sink_ud;
	int sink_rc;        /* the sink's first failure */
	uint64_t sink_bytes;
	uint64_t wav_data;  /* sink: the PCM bytes the WAV header announced */
	size_t pos;         /* mem: where the next byte goes (WAV and FLAC seek back) */
	uint32_t rate;
	unsigned channels;
	int io_errno;       /* first errno of a failed write; 0 = none */
	const char *io_what; /* what failed: "write", "seek" ... */
	int fmt_err;        /* encoder failure (ES_E*), 0 = none */
	char fmt_msg[96];
	uint64_t data_bytes; /* WAV: PCM bytes written */
	struct oggopus *oo;
	FLAC__StreamEncoder *flac;
	FLAC__StreamMetadata *vc;
};

static const struct {
	const char *name;
	const char *ext;
} formats[] = {
	[MEDIA_OPUS] = {"opus", ".opus"},
	[MEDIA_WAV] = {"wav", ".wav"},
	[MEDIA_FLAC] = {"flac", ".flac"},
};

void mio_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *media_format_name(enum media_format f)
{
	return (unsigned)f < ES_ARRAY_LEN(formats) ? formats[f].name : "?";
}

const char *media_format_ext(enum media_format f)
{
	return (unsigned)f < ES_ARRAY_LEN(formats) ? formats[f].ext : "";
}

int media_format_parse(const char *s, enum media_format *out)
{
	if (!s)
		return ES_EINVAL;
	if (!strcasecmp(s, "ogg")) {
		*out = MEDIA_OPUS;
		return 0;
	}
	for (size_t i = 0; i < ES_ARRAY_LEN(formats); i++) {
		if (!strcasecmp(s, formats[i].name)) {
			*out = (enum media_format)i;
			return 0;
		}
	}
	return ES_EINVAL;
}

static void io_fail(struct media_writer *w, const char *what)
{
	if (!w->io_errno) {
		w->io_errno = errno ? errno : EIO;
		w->io_what = what;
	}
}

/* Room for n bytes at w->pos in memory: the pointer, or NULL (ENOMEM). */
static uint8_t *mem_room(struct media_writer *w, size_t n)
{
	struct es_buf *b = w->mem;
	if (w->pos + n > b->len) {
		if (es_buf_reserve(b, w->pos + n - b->len)) {
			errno = ENOMEM;
			io_fail(w, "write failed");
			return NULL;
		}
		b->len = w->pos + n;
	}
	uint8_t *at = b->p + w->pos;
	w->pos += n;
	return at;
}

static int put_bytes(struct media_writer *w, const void *p, size_t n)
{
	if (w->io_errno)
		return ES_EIO;
	if (w->sink) {
		int rc = n ? w->sink(w->sink_ud, p, n) : 0;
		if (rc) {
			w->sink_rc = rc;
			errno = EIO;
			io_fail(w, "write failed");
			return rc;
		}
		w->sink_bytes += n;
		return 0;
	}
	if (w->mem) {
		uint8_t *at = n ? mem_room(w, n) : NULL;
		if (n && !at)
			return ES_EIO;
		if (n)
			memcpy(at, p, n);
		return 0;
	}
	errno = 0;
	if (n && fwrite(p, 1, n, w->f) != n) {
		io_fail(w, "write failed");
		return ES_EIO;
	}
	return 0;
}

/* ---- WAV --------------------------------------------------------------- */

/* RIFF/WAVE PCM header; sizes are the placeholders 0xFFFFFFFF ("unknown",
 * read to the end) until close patches them, so a crashed writer's file is
 * still playable.  Into a sink the sizes are the announced ones from the
 * start: nothing is patched. */
static void wav_header(uint8_t h[MIO_WAV_HDR], uint32_t rate, unsigned ch, uint32_t riff,
		       uint32_t data)
{
	memcpy(h, "RIFF", 4);
	mio_put_le32(h + 4, riff);
	memcpy(h + 8, "WAVEfmt ", 8);
	mio_put_le32(h + 16, 16);
	mio_put_le16(h + 20, 1); /* WAVE_FORMAT_PCM */
	mio_put_le16(h + 22, (uint16_t)ch);
	mio_put_le32(h + 24, rate);
	mio_put_le32(h + 28, rate * ch * 2);
	mio_put_le16(h + 32, (uint16_t)(ch * 2));
	mio_put_le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	mio_put_le32(h + 40, data);
}

static int wav_open(struct media_writer *w)
{
	uint8_t h[MIO_WAV_HDR];

	if (w->f && setvbuf(w->f, NULL, _IOFBF, MIO_WAV_BUF) != 0)
		return ES_ENOMEM;
	if (w->sink)
		wav_header(h, w->rate, w->channels, (uint32_t)(w->wav_data + MIO_WAV_HDR - 8),
			   (uint32_t)w->wav_data);
	else
		wav_header(h, w->rate, w->channels, UINT32_MAX, UINT32_MAX);
	return put_bytes(w, h, sizeof(h));
}

static int wav_write(struct media_writer *w, const int16_t *pcm, size_t frames)
{
	uint8_t b[4096];
	size_t n = frames * w->channels, i = 0;

	if (n * 2 > MIO_WAV_MAX_DATA - w->data_bytes)
		return ES_ELIMIT;
	if (w->sink && n * 2 > w->wav_data - w->data_bytes) {
		snprintf(w->fmt_msg, sizeof(w->fmt_msg),
			 "more audio than the %llu bytes the header announced",
			 (unsigned long long)w->wav_data);
		return w->fmt_err = ES_EINVAL;
	}
	if (w->mem) { /* straight into the buffer, no staging copy */
		if (w->io_errno)
			return ES_EIO;
		uint8_t *at = mem_room(w, n * 2);
		if (!at)
			return ES_EIO;
		for (size_t j = 0; j < n; j++)
			mio_put_le16(at + 2 * j, (uint16_t)pcm[j]);
		w->data_bytes += n * 2;
		return 0;
	}
	while (i < n) {
		size_t k = ES_MIN(n - i, sizeof(b) / 2);
		for (size_t j = 0; j < k; j++)
			mio_put_le16(b + 2 * j, (uint16_t)pcm[i + j]);
		int rc = put_bytes(w, b, k * 2);
		if (rc)
			return rc;
		i += k;
	}
	w->data_bytes += n * 2;
	return 0;
}

static int wav_finish(struct media_writer *w)
{
	uint8_t h[MIO_WAV_HDR];
	uint32_t data = (uint32_t)w->data_bytes;

	if (w->io_errno)
		return ES_EIO;
	if (w->sink) { /* the header said how long: it must be true */
		if (w->data_bytes == w->wav_data)
			return 0;
		snprintf(w->fmt_msg, sizeof(w->fmt_msg),
			 "%llu bytes of audio written, the header announced %llu",
			 (unsigned long long)w->data_bytes, (unsigned long long)w->wav_data);
		return w->fmt_err = ES_EINVAL;
	}
	wav_header(h, w->rate, w->channels, data + MIO_WAV_HDR - 8, data);
	if (w->mem) {
		w->pos = 0;
		return put_bytes(w, h, sizeof(h));
	}
	if (fflush(w->f) != 0) {
		io_fail(w, "write failed");
		return ES_EIO;
	}
	errno = 0;
	if (fseeko(w->f, 0, SEEK_SET) != 0) {
		io_fail(w, "seek failed");
		return ES_EIO;
	}
	return put_bytes(w, h, sizeof(h));
}

/* ---- Ogg/Opus (oggopus.c) -------------------------------------------------- */

static int opus_out_cb(void *user, const void *p, size_t n)
{
	return put_bytes(user, p, n);
}

static int opus_open(struct media_writer *w, const struct media_writer_opts *o)
{
	int rc = oggopus_open(&w->oo, w->rate, w->channels, o, opus_out_cb, w, w->fmt_msg,
			      sizeof(w->fmt_msg));
	return rc && w->io_errno ? ES_EIO : rc;
}

static int opus_write(struct media_writer *w, const int16_t *pcm, size_t frames)
{
	int rc = oggopus_write(w->oo, pcm, frames, w->fmt_msg, sizeof(w->fmt_msg));
	if (rc && !w->io_errno)
		w->fmt_err = rc;
	return rc;
}

static int opus_finish(struct media_writer *w)
{
	int rc = oggopus_finish(w->oo, w->fmt_msg, sizeof(w->fmt_msg));
	oggopus_free(w->oo);
	w->oo = NULL;
	return rc && w->io_errno ? ES_EIO : rc;
}

/* ---- FLAC ------------------------------------------------------------------ */

static FLAC__StreamEncoderWriteStatus flac_write_cb(const FLAC__StreamEncoder *e,
						    const FLAC__byte buf[], size_t n,
						    uint32_t samples, uint32_t frame, void *user)
{
	(void)e;
	(void)samples;
	(void)frame;
	return put_bytes(user, buf, n) ? FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR
				       : FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
}

static FLAC__StreamEncoderSeekStatus flac_seek_cb(const FLAC__StreamEncoder *e,
						  FLAC__uint64 off, void *user)
{
	struct media_writer *w = user;
	(void)e;
	if (w->io_errno)
		return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
	if (w->mem) {
		if (off > w->mem->len)
			return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
		w->pos = (size_t)off;
		return FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
	}
	errno = 0;
	if (fflush(w->f) != 0) {
		io_fail(w, "write failed");
		return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
	}
	if (off > (FLAC__uint64)INT64_MAX || fseeko(w->f, (off_t)off, SEEK_SET) != 0) {
		io_fail(w, "seek failed");
		return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR;
	}
	return FLAC__STREAM_ENCODER_SEEK_STATUS_OK;
}

static FLAC__StreamEncoderTellStatus flac_tell_cb(const FLAC__StreamEncoder *e,
						  FLAC__uint64 *off, void *user)
{
	struct media_writer *w = user;
	(void)e;
	if (w->io_errno)
		return FLAC__STREAM_ENCODER_TELL_STATUS_ERROR;
	if (w->mem) {
		*off = w->pos;
		return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
	}
	off_t pos = ftello(w->f);
	if (pos < 0)
		return FLAC__STREAM_ENCODER_TELL_STATUS_ERROR;
	*off = (FLAC__uint64)pos;
	return FLAC__STREAM_ENCODER_TELL_STATUS_OK;
}

static int flac_tags(struct media_writer *w, const char *const *tags)
{
	w->vc = FLAC__metadata_object_new(FLAC__METADATA_TYPE_VORBIS_COMMENT);
	if (!w->vc)
		return ES_ENOMEM;
	for (const char *const *t = tags; *t; t++) {
		FLAC__StreamMetadata_VorbisComment_Entry ent;
		size_t len = strlen(*t);
		if (!strchr(*t, '=') || len > UINT32_MAX) {
			snprintf(w->fmt_msg, sizeof(w->fmt_msg), "bad tag \"%.40s\"", *t);
			return ES_EINVAL;
		}
		ent.length = (FLAC__uint32)len;
		ent.entry = (FLAC__byte *)(uintptr_t)*t; /* copied by append */
		if (!FLAC__metadata_object_vorbiscomment_append_comment(w->vc, ent, true))
			return ES_ENOMEM;
	}
	FLAC__StreamMetadata *md[1] = {w->vc};
	if (!FLAC__stream_encoder_set_metadata(w->flac, md, 1))
		return ES_ENOMEM;
	return 0;
}

static int flac_open(struct media_writer *w, const struct media_writer_opts *o)
{
	w->flac = FLAC__stream_encoder_new();
	if (!w->flac)
		return ES_ENOMEM;
	FLAC__stream_encoder_set_channels(w->flac, w->channels);
	FLAC__stream_encoder_set_bits_per_sample(w->flac, 16);
	FLAC__stream_encoder_set_sample_rate(w->flac, w->rate);
	FLAC__stream_encoder_set_compression_level(w->flac, 5);
	if (o && o->tags && o->tags[0]) {
		int rc = flac_tags(w, o->tags);
		if (rc)
			return rc;
	}
	FLAC__StreamEncoderInitStatus st = FLAC__stream_encoder_init_stream(
		w->flac, flac_write_cb, flac_seek_cb, flac_tell_cb, NULL, w);
	if (st != FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
		snprintf(w->fmt_msg, sizeof(w->fmt_msg), "flac encoder: %s",
			 FLAC__StreamEncoderInitStatusString[st]);
		return w->io_errno ? ES_EIO : ES_EINVAL;
	}
	return 0;
}

static int flac_fail(struct media_writer *w)
{
	if (w->io_errno)
		return ES_EIO;
	FLAC__StreamEncoderState st = FLAC__stream_encoder_get_state(w->flac);
	snprintf(w->fmt_msg, sizeof(w->fmt_msg), "flac encoder: %s",
		 FLAC__StreamEncoderStateString[st]);
	w->fmt_err = ES_EIO;
	return ES_EIO;
}

static int flac_write(struct media_writer *w, const int16_t *pcm, size_t frames)
{
	FLAC__int32 b[2048];
	size_t per = ES_ARRAY_LEN(b) / w->channels;

	while (frames) {
		size_t k = ES_MIN(frames, per);
		for (size_t j = 0; j < k * w->channels; j++)
			b[j] = pcm[j];
		if (!FLAC__stream_encoder_process_interleaved(w->flac, b, (uint32_t)k))
			return flac_fail(w);
		pcm += k * w->channels;
		frames -= k;
	}
	return 0;
}

static int flac_finish(struct media_writer *w)
{
	if (!FLAC__stream_encoder_finish(w->flac))
		return flac_fail(w);
	return w->io_errno ? ES_EIO : 0;
}

/* ---- the public writer -------------------------------------------------- */

static void writer_free(struct media_writer *w)
{
	oggopus_free(w->oo);
	if (w->flac)
		FLAC__stream_encoder_delete(w->flac);
	if (w->vc)
		FLAC__metadata_object_delete(w->vc);
	if (w->f)
		fclose(w->f);
	free(w->path);
	free(w);
}

/* "path: write failed: No space left on device" or the encoder's message. */
static void writer_msg(const struct media_writer *w, int rc, char *err, size_t errlen)
{
	if (w->io_errno)
		mio_err(err, errlen, "%s: %s: %s", w->path, w->io_what, strerror(w->io_errno));
	else if (w->fmt_msg[0])
		mio_err(err, errlen, "%s: %s", w->path, w->fmt_msg);
	else
		mio_err(err, errlen, "%s: %s", w->path, es_strerror(rc));
}

/* Where a writer's bytes go when not to a file it creates. */
struct wdest {
	struct es_buf *mem;
	media_sink_fn sink;
	void *ud;
	uint64_t wav_frames; /* sink, WAV: announced in the header */
};

/* The writer over path (w->f, created), memory or a sink; the format's
 * header written. */
static int writer_open(struct media_writer **out, const char *path, const struct wdest *d,
		       enum media_format fmt, uint32_t rate, unsigned channels,
		       const struct media_writer_opts *o, char *err, size_t errlen)
{
	struct media_writer *w;
	int rc;

	*out = NULL;
	if (!path || (unsigned)fmt >= ES_ARRAY_LEN(formats) || channels < 1 || channels > 2 ||
	    rate < 1000 || rate > 192000) {
		mio_err(err, errlen, "%s: unsupported format %s, %u Hz, %u channels",
			path ? path : "(null)", media_format_name(fmt), rate, channels);
		return ES_EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		mio_err(err, errlen, "%s: out of memory", path);
		return ES_ENOMEM;
	}
	w->fmt = fmt;
	w->rate = rate;
	w->channels = channels;
	if (d && d->sink) {
		w->sink = d->sink;
		w->sink_ud = d->ud;
		w->wav_data = d->wav_frames * channels * 2;
		rc = 0;
		if (fmt == MEDIA_FLAC) /* STREAMINFO is written last, at the start */
			rc = ES_EUNSUP;
		else if (fmt == MEDIA_WAV && d->wav_frames > MIO_WAV_MAX_DATA / (channels * 2u))
			rc = ES_ELIMIT;
		if (rc) {
			mio_err(err, errlen, "%s: %s cannot be written in one pass (%s)", path,
				media_format_name(fmt), es_strerror(rc));
			writer_free(w);
			return rc;
		}
	} else if (d && d->mem) {
		w->mem = d->mem;
		w->mem->len = 0;
	} else if (!(w->f = fopen(path, "wb"))) {
		mio_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		writer_free(w);
		return ES_EIO;
	}
	switch (fmt) {
	case MEDIA_WAV: rc = wav_open(w); break;
	case MEDIA_OPUS: rc = opus_open(w, o); break;
	default: rc = flac_open(w, o); break;
	}
	if (rc) {
		writer_msg(w, rc, err, errlen);
		media_writer_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

int media_writer_open(struct media_writer **out, const char *path, enum media_format fmt,
		      uint32_t rate, unsigned channels, const struct media_writer_opts *o,
		      char *err, size_t errlen)
{
	return writer_open(out, path, NULL, fmt, rate, channels, o, err, errlen);
}

int media_writer_open_mem(struct media_writer **out, struct es_buf *mem, const char *name,
			  enum media_format fmt, uint32_t rate, unsigned channels,
			  const struct media_writer_opts *o, char *err, size_t errlen)
{
	if (!mem) {
		*out = NULL;
		return ES_EINVAL;
	}
	struct wdest d = {.mem = mem};
	return writer_open(out, name ? name : "(memory)", &d, fmt, rate, channels, o, err,
			   errlen);
}

int media_writer_open_sink(struct media_writer **out, media_sink_fn sink, void *ud,
			   const char *name, enum media_format fmt, uint32_t rate,
			   unsigned channels, uint64_t frames, const struct media_writer_opts *o,
			   char *err, size_t errlen)
{
	if (!sink) {
		*out = NULL;
		return ES_EINVAL;
	}
	struct wdest d = {.sink = sink, .ud = ud, .wav_frames = frames};
	return writer_open(out, name ? name : "(stream)", &d, fmt, rate, channels, o, err,
			   errlen);
}

int media_writer_write(struct media_writer *w, const int16_t *pcm, size_t frames)
{
	if (w->io_errno)
		return ES_EIO;
	if (w->fmt_err)
		return w->fmt_err;
	if (!frames)
		return 0;
	switch (w->fmt) {
	case MEDIA_WAV: return wav_write(w, pcm, frames);
	case MEDIA_OPUS: return opus_write(w, pcm, frames);
	default: return flac_write(w, pcm, frames);
	}
}

int media_writer_close(struct media_writer *w, uint64_t *bytes, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (bytes)
		*bytes = 0;
	if (w->fmt_err)
		rc = w->fmt_err;
	else if (w->io_errno)
		rc = w->sink_rc ? w->sink_rc : ES_EIO;
	else if (w->fmt == MEDIA_WAV)
		rc = wav_finish(w);
	else if (w->fmt == MEDIA_OPUS)
		rc = opus_finish(w);
	else
		rc = flac_finish(w);
	if (!rc && w->sink) {
		if (bytes)
			*bytes = w->sink_bytes;
	} else if (!rc && w->mem) {
		if (bytes)
			*bytes = w->mem->len;
	} else if (!rc) {
		errno = 0;
		if (fflush(w->f) != 0) {
			io_fail(w, "write failed");
			rc = ES_EIO;
		} else if (fsync(fileno(w->f)) != 0) {
			io_fail(w, "fsync failed");
			rc = ES_EIO;
		} else if (fstat(fileno(w->f), &st) == 0 && bytes) {
			*bytes = (uint64_t)st.st_size;
		}
	}
	if (!rc && w->f) {
		FILE *f = w->f;
		w->f = NULL;
		errno = 0;
		if (fclose(f) != 0) {
			io_fail(w, "close failed");
			rc = ES_EIO;
		}
	}
	if (rc)
		writer_msg(w, rc, err, errlen);
	writer_free(w);
	return rc;
}

void media_writer_abort(struct media_writer *w)
{
	if (!w)
		return;
	/* Finishing an encoder would write its trailer to a file that is
	 * about to go: drop the encoders first, with writes disabled. */
	if (!w->io_errno) {
		w->io_errno = ECANCELED;
		w->io_what = "aborted";
	}
	if (w->f) {
		fclose(w->f);
		w->f = NULL;
		unlink(w->path);
	}
	writer_free(w);
}
