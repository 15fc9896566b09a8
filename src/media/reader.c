/*
 * reader.c - reads back what writer.c writes: WAV (PCM 16-bit, 1-2
 * channels), FLAC (16-bit, libFLAC) and Ogg/Opus (opusfile).  The format
 * comes from the file's first bytes.  Opus decodes at 48 kHz and is
 * resampled (speexdsp) to the rate the writer was given, as recorded in
 * OpusHead's input_sample_rate, with the resampler's delay removed so that
 * the decoded length equals the encoded one.
 */
#include "media/io_internal.h"

#include <FLAC/stream_decoder.h>
#include <errno.h>
#include <limits.h>
#include <opus/opusfile.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>

#define OPUS_IN_FRAMES 5760       /* 120 ms at 48 kHz: op_read's largest packet */
#define OPUS_OUT_FRAMES (OPUS_IN_FRAMES + 64)
#define OPUS_FLUSH_FRAMES 480
#define RESAMPLE_QUALITY 5
#define WAV_MAX_CHUNKS 64

struct media_reader {
	enum media_format fmt;
	uint32_t rate;
	unsigned channels;
	int err;  /* sticky error, returned once the buffered frames are out */
	FILE *f;  /* all formats (Opus through opusfile's callbacks) */
	uint64_t frames; /* length the container announces; 0 = unknown */

	/* WAV */
	uint64_t remain; /* data bytes left */
	bool to_eof;     /* sizes never patched: read to the end */

	/* FLAC: one decoded block, interleaved */
	FLAC__StreamDecoder *dec;
	int16_t *fb;
	size_t fb_cap, fb_len, fb_pos; /* fb_cap in samples, len/pos in frames */
	unsigned bps;
	bool info;

	/* Opus */
	OggOpusFile *of;
	SpeexResamplerState *rs;
	int16_t *in;  /* 48 kHz, OPUS_IN_FRAMES */
	int16_t *ob;  /* output rate, OPUS_OUT_FRAMES */
	size_t ob_len, ob_pos;
	uint64_t in_total, out_total; /* 48 kHz frames decoded, frames produced */
	uint32_t skip;                /* resampler delay still to drop */
	bool in_eof;
	bool eof;
	struct opus_split *split; /* per-stream decoders (opus_split_cb), or NULL */
};

/* ---- WAV ----------------------------------------------------------------- */

static const uint8_t pcm_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
					  0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};

static int wav_fmt(struct media_reader *r, const uint8_t *p, uint32_t size, const char *path,
		   char *err, size_t errlen)
{
	uint16_t tag = mio_le16(p), ch = mio_le16(p + 2), align = mio_le16(p + 12);
	uint16_t bits = mio_le16(p + 14);
	uint32_t rate = mio_le32(p + 4);

	/* WAVE_FORMAT_EXTENSIBLE with the PCM sub-format is PCM too. */
	if (tag == 0xfffe && size >= 40 && mio_le16(p + 24) == 1 &&
	    !memcmp(p + 26, pcm_guid_tail, sizeof(pcm_guid_tail)))
		tag = 1;
	if (tag != 1 || bits != 16 || ch < 1 || ch > 2 || align != ch * 2 || rate < 1000 ||
	    rate > 384000) {
		mio_err(err, errlen,
			"%s: unsupported WAV format (tag 0x%04x, %u bits, %u channels, %u Hz): "
			"only PCM 16-bit mono/stereo",
			path, tag, bits, ch, rate);
		return ES_EFORMAT;
	}
	r->rate = rate;
	r->channels = ch;
	return 0;
}

static int wav_open(struct media_reader *r, const char *path, char *err, size_t errlen)
{
	uint8_t h[40];
	bool have_fmt = false;

	if (fseeko(r->f, 12, SEEK_SET) != 0)
		goto trunc;
	for (int i = 0; i < WAV_MAX_CHUNKS; i++) {
		if (fread(h, 1, 8, r->f) != 8)
			goto trunc;
		uint32_t size = mio_le32(h + 4);
		if (!memcmp(h, "fmt ", 4)) {
			if (size < 16) {
				mio_err(err, errlen, "%s: WAV fmt chunk too short", path);
				return ES_EFORMAT;
			}
			size_t n = ES_MIN(size, sizeof(h));
			if (fread(h, 1, n, r->f) != n)
				goto trunc;
			int rc = wav_fmt(r, h, size, path, err, errlen);
			if (rc)
				return rc;
			have_fmt = true;
			if (fseeko(r->f, (off_t)(size - n + (size & 1)), SEEK_CUR) != 0)
				goto trunc;
		} else if (!memcmp(h, "data", 4)) {
			if (!have_fmt) {
				mio_err(err, errlen, "%s: WAV data before fmt", path);
				return ES_EFORMAT;
			}
			r->to_eof = size == 0 || size == UINT32_MAX;
			r->remain = size;
			if (!r->to_eof)
				r->frames = size / (2u * r->channels);
			return 0;
		} else if (fseeko(r->f, (off_t)size + (size & 1), SEEK_CUR) != 0) {
			goto trunc;
		}
	}
	mio_err(err, errlen, "%s: no WAV data chunk", path);
	return ES_EFORMAT;
trunc:
	mio_err(err, errlen, "%s: truncated WAV header", path);
	return ES_ETRUNC;
}

static long wav_read(struct media_reader *r, int16_t *pcm, size_t frames)
{
	size_t fsz = 2 * r->channels;
	size_t want = frames;

	if (r->err)
		return r->err;
	if (!r->to_eof)
		want = (size_t)ES_MIN((uint64_t)want, r->remain / fsz);
	if (!want)
		return 0;
	uint8_t *b = (uint8_t *)pcm;
	size_t got = fread(b, 1, want * fsz, r->f);
	if (got < want * fsz) {
		if (ferror(r->f))
			r->err = ES_EIO;
		else if (!r->to_eof)
			r->err = ES_ETRUNC; /* the data chunk claims more */
	}
	got /= fsz;
	r->remain -= got * fsz;
	/* In place: sample i reads and writes bytes 2i and 2i+1 only. */
	for (size_t i = 0; i < got * r->channels; i++)
		pcm[i] = (int16_t)mio_le16(b + 2 * i);
	if (!got && r->err)
		return r->err;
	return (long)got;
}

/* ---- FLAC ----------------------------------------------------------------- */

static FLAC__StreamDecoderReadStatus flac_read_cb(const FLAC__StreamDecoder *d,
						  FLAC__byte buf[], size_t *n, void *user)
{
	struct media_reader *r = user;
	(void)d;
	if (!*n)
		return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
	*n = fread(buf, 1, *n, r->f);
	if (ferror(r->f))
		return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
	if (!*n)
		return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
	return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
}

static FLAC__bool flac_eof_cb(const FLAC__StreamDecoder *d, void *user)
{
	struct media_reader *r = user;
	(void)d;
	return feof(r->f) ? true : false;
}

static FLAC__StreamDecoderWriteStatus flac_write_cb(const FLAC__StreamDecoder *d,
						    const FLAC__Frame *fr,
						    const FLAC__int32 *const buf[], void *user)
{
	struct media_reader *r = user;
	unsigned ch = fr->header.channels, n = fr->header.blocksize;
	(void)d;

	if (!r->info || ch != r->channels || fr->header.bits_per_sample != 16) {
		r->err = ES_EFORMAT;
		return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
	}
	if ((size_t)n * ch > r->fb_cap) {
		int16_t *nb = realloc(r->fb, (size_t)n * ch * sizeof(*nb));
		if (!nb) {
			r->err = ES_ENOMEM;
			return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
		}
		r->fb = nb;
		r->fb_cap = (size_t)n * ch;
	}
	for (unsigned i = 0; i < n; i++) {
		for (unsigned c = 0; c < ch; c++) {
			FLAC__int32 v = buf[c][i];
			r->fb[(size_t)i * ch + c] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
		}
	}
	r->fb_len = n;
	r->fb_pos = 0;
	return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}

static void flac_meta_cb(const FLAC__StreamDecoder *d, const FLAC__StreamMetadata *m, void *user)
{
	struct media_reader *r = user;
	(void)d;
	if (m->type == FLAC__METADATA_TYPE_STREAMINFO && !r->info) {
		r->rate = m->data.stream_info.sample_rate;
		r->channels = m->data.stream_info.channels;
		r->bps = m->data.stream_info.bits_per_sample;
		r->frames = m->data.stream_info.total_samples;
		r->info = true;
	}
}

static void flac_error_cb(const FLAC__StreamDecoder *d, FLAC__StreamDecoderErrorStatus st,
			  void *user)
{
	struct media_reader *r = user;
	(void)d;
	(void)st;
	/* Lost sync, bad header, CRC mismatch: not a file this module wrote
	 * intact. */
	if (!r->err)
		r->err = ES_EFORMAT;
}

static int flac_open(struct media_reader *r, const char *path, char *err, size_t errlen)
{
	r->dec = FLAC__stream_decoder_new();
	if (!r->dec) {
		mio_err(err, errlen, "%s: out of memory", path);
		return ES_ENOMEM;
	}
	FLAC__StreamDecoderInitStatus st = FLAC__stream_decoder_init_stream(
		r->dec, flac_read_cb, NULL, NULL, NULL, flac_eof_cb, flac_write_cb, flac_meta_cb,
		flac_error_cb, r);
	if (st != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
		mio_err(err, errlen, "%s: flac decoder: %s", path,
			FLAC__StreamDecoderInitStatusString[st]);
		return ES_ENOMEM;
	}
	if (!FLAC__stream_decoder_process_until_end_of_metadata(r->dec) || r->err || !r->info) {
		mio_err(err, errlen, "%s: damaged FLAC header", path);
		return ES_EFORMAT;
	}
	if (r->bps != 16 || r->channels < 1 || r->channels > 2 || !r->rate) {
		mio_err(err, errlen, "%s: unsupported FLAC (%u bits, %u channels): only 16-bit mono/stereo",
			path, r->bps, r->channels);
		return ES_EFORMAT;
	}
	return 0;
}

/* Decode until a block is buffered; 0 at the end, ES_E* when damaged. */
static int flac_fill(struct media_reader *r)
{
	while (r->fb_pos == r->fb_len && !r->eof) {
		bool ok = FLAC__stream_decoder_process_single(r->dec);
		if (r->err)
			return r->err;
		FLAC__StreamDecoderState st = FLAC__stream_decoder_get_state(r->dec);
		if (st == FLAC__STREAM_DECODER_END_OF_STREAM)
			r->eof = true;
		else if (!ok || st > FLAC__STREAM_DECODER_END_OF_STREAM)
			return r->err = ES_EFORMAT;
	}
	return 0;
}

static long flac_read(struct media_reader *r, int16_t *pcm, size_t frames)
{
	size_t got = 0;

	while (got < frames) {
		if (r->fb_pos == r->fb_len) {
			int rc = flac_fill(r);
			if (rc)
				return got ? (long)got : rc;
			if (r->fb_pos == r->fb_len)
				break;
		}
		size_t k = ES_MIN(frames - got, r->fb_len - r->fb_pos);
		memcpy(pcm + got * r->channels, r->fb + r->fb_pos * r->channels,
		       k * r->channels * sizeof(*pcm));
		r->fb_pos += k;
		got += k;
	}
	return (long)got;
}

/* ---- Ogg/Opus ---------------------------------------------------------------- */

static bool opus_rate_ok(uint32_t rate)
{
	static const uint32_t rates[] = {8000, 12000, 16000, 24000, 48000};
	for (size_t i = 0; i < ES_ARRAY_LEN(rates); i++)
		if (rate == rates[i])
			return true;
	return false;
}

/* Per-stream decoding of the files oggopus.c writes.  Debian's libopus
 * (1.3.1, custom modes on) runs CPUID inside every opus_multistream_decode
 * call, as in opus_multistream_encode (it sizes its sub-decoders per call;
 * oggopus.c), and CPUID traps to the hypervisor on a virtual machine: a
 * seventh of a long call's export.  So a link of one or two uncoupled mono
 * streams in channel order with no output gain (what oggopus.c writes,
 * RFC 7845 5.1.1) is decoded here with one OpusDecoder per stream: each
 * stream but the last is self-delimited (RFC 6716 appendix B); a code-0
 * one (one frame, all oggopus.c writes) is made a plain packet again.  The
 * samples are opus_multistream_decode's (the same decoder per stream, the
 * same soft clipping); any other packet or layout goes to opusfile's own
 * decoder (OP_DEC_USE_DEFAULT) for the rest of the file. */
struct opus_split {
	OpusDecoder *d[2];
	int n;        /* streams */
	int li;       /* the link the decoders belong to */
	bool off;     /* opusfile decodes */
	unsigned char pkt[1280];
	float f[OPUS_IN_FRAMES];
	opus_int16 s[OPUS_IN_FRAMES];
};

static void opus_split_free(struct opus_split *sp)
{
	if (!sp)
		return;
	for (int i = 0; i < 2; i++)
		if (sp->d[i])
			opus_decoder_destroy(sp->d[i]);
	free(sp);
}

/* The decoders for link li; false when its layout is not ours. */
static bool opus_split_link(struct media_reader *r, struct opus_split *sp, int li)
{
	if (sp->li == li && sp->d[0])
		return true;
	for (int i = 0; i < 2; i++)
		if (sp->d[i]) {
			opus_decoder_destroy(sp->d[i]);
			sp->d[i] = NULL;
		}
	const OpusHead *h = op_head(r->of, li);
	if (!h || h->output_gain || h->coupled_count || h->stream_count < 1 ||
	    h->stream_count > 2 || h->channel_count != h->stream_count)
		return false;
	for (int i = 0; i < h->channel_count; i++)
		if (h->mapping[i] != i)
			return false;
	for (int i = 0; i < h->stream_count; i++) {
		int e = 0;
		if (!(sp->d[i] = opus_decoder_create(48000, 1, &e)))
			return false;
	}
	sp->n = h->stream_count;
	sp->li = li;
	return true;
}

/* Stream s of the packet (p, n) as a plain packet: *q, *qn; the rest
 * after it at *next.  false when it is not framed as oggopus.c frames it. */
static bool opus_split_stream(struct opus_split *sp, int s, const unsigned char *p, long n,
			      const unsigned char **q, long *qn, long *next)
{
	if (s == sp->n - 1) { /* the last: a plain packet already */
		*q = p;
		*qn = n;
		*next = n;
		return n > 0;
	}
	if (n < 2 || (p[0] & 3) != 0)
		return false;
	long len = p[1], hdr = 2;
	if (p[1] >= 252) {
		if (n < 3)
			return false;
		len += 4 * (long)p[2];
		hdr = 3;
	}
	if (len + hdr > n || len + 1 > (long)sizeof(sp->pkt))
		return false;
	sp->pkt[0] = p[0];
	memcpy(sp->pkt + 1, p + hdr, (size_t)len);
	*q = sp->pkt;
	*qn = len + 1;
	*next = hdr + len;
	return true;
}

/* op_decode_cb_func: the packet decoded per stream, interleaved. */
static int opus_split_cb(void *ctx, OpusMSDecoder *dec, void *pcm, const ogg_packet *op,
			 int nsamples, int nchannels, int format, int li)
{
	struct media_reader *r = ctx;
	struct opus_split *sp = r->split;
	(void)dec;
	if (sp->off || nsamples > OPUS_IN_FRAMES || !opus_split_link(r, sp, li) ||
	    nchannels != sp->n) {
		sp->off = true;
		return OP_DEC_USE_DEFAULT;
	}
	const unsigned char *p = op->packet;
	long left = op->bytes;
	const unsigned char *q[2];
	long qn[2];
	for (int s = 0; s < sp->n; s++) {
		long next;
		if (!opus_split_stream(sp, s, p, left, &q[s], &qn[s], &next)) {
			/* not framed as ours (another writer's file):
			 * opusfile's decoder from here on */
			sp->off = true;
			return OP_DEC_USE_DEFAULT;
		}
		p += next;
		left -= next;
	}
	for (int s = 0; s < sp->n; s++) {
		int got = format == OP_DEC_FORMAT_FLOAT
				  ? opus_decode_float(sp->d[s], q[s], (opus_int32)qn[s], sp->f, nsamples, 0)
				  : opus_decode(sp->d[s], q[s], (opus_int32)qn[s], sp->s, nsamples, 0);
		if (got < 0)
			return got;
		if (got != nsamples)
			return OPUS_INVALID_PACKET;
		for (int i = 0; i < nsamples; i++) {
			if (format == OP_DEC_FORMAT_FLOAT)
				((float *)pcm)[i * sp->n + s] = sp->f[i];
			else
				((opus_int16 *)pcm)[i * sp->n + s] = sp->s[i];
		}
	}
	return 0;
}

/* opusfile over our FILE (which the reader owns and closes itself). */
static int opus_cb_read(void *f, unsigned char *p, int n)
{
	size_t got = n > 0 ? fread(p, 1, (size_t)n, f) : 0;
	return ferror((FILE *)f) ? -1 : (int)got;
}

static int opus_cb_seek(void *f, opus_int64 off, int whence)
{
	return fseeko(f, (off_t)off, whence) ? -1 : 0;
}

static opus_int64 opus_cb_tell(void *f)
{
	return (opus_int64)ftello(f);
}

static const OpusFileCallbacks opus_cbs = {opus_cb_read, opus_cb_seek, opus_cb_tell, NULL};

static int opus_open(struct media_reader *r, const char *path, char *err, size_t errlen)
{
	int e = 0;

	r->of = op_open_callbacks(r->f, &opus_cbs, NULL, 0, &e);
	if (!r->of) {
		mio_err(err, errlen, "%s: not a readable Ogg/Opus file (opusfile error %d)", path, e);
		return ES_EFORMAT;
	}
	const OpusHead *h = op_head(r->of, 0);
	int ch = op_channel_count(r->of, 0);
	if (!h || ch < 1 || ch > 2) {
		mio_err(err, errlen, "%s: unsupported Opus stream (%d channels)", path, ch);
		return ES_EFORMAT;
	}
	r->channels = (unsigned)ch;
	r->rate = opus_rate_ok(h->input_sample_rate) ? h->input_sample_rate : 48000;
	r->split = calloc(1, sizeof(*r->split));
	if (!r->split)
		goto nomem;
	r->split->li = -1;
	op_set_decode_callback(r->of, opus_split_cb, r);
	/* The length opus_fill will produce: the 48 kHz total at the file's rate. */
	ogg_int64_t total = op_pcm_total(r->of, -1);
	if (total > 0)
		r->frames = ((uint64_t)total * r->rate + 24000) / 48000;
	r->in = malloc((size_t)OPUS_IN_FRAMES * 2 * sizeof(*r->in));
	r->ob = malloc((size_t)OPUS_OUT_FRAMES * 2 * sizeof(*r->ob));
	if (!r->in || !r->ob)
		goto nomem;
	if (r->rate != 48000) {
		r->rs = speex_resampler_init(r->channels, 48000, r->rate, RESAMPLE_QUALITY, &e);
		if (!r->rs)
			goto nomem;
		r->skip = (uint32_t)speex_resampler_get_output_latency(r->rs);
	}
	return 0;
nomem:
	mio_err(err, errlen, "%s: out of memory", path);
	return ES_ENOMEM;
}

/* Resample n 48 kHz frames (NULL: silence, to flush) into ob, dropping the
 * resampler's delay from the front. */
static void opus_resample(struct media_reader *r, const int16_t *in, size_t n)
{
	static const int16_t zeros[OPUS_FLUSH_FRAMES * 2];
	unsigned ch = r->channels;

	while (n) {
		spx_uint32_t ilen = (spx_uint32_t)n;
		spx_uint32_t olen = (spx_uint32_t)(OPUS_OUT_FRAMES - r->ob_len);
		int16_t *o = r->ob + r->ob_len * ch;
		speex_resampler_process_interleaved_int(r->rs, in ? in : zeros, &ilen, o, &olen);
		if (r->skip) {
			size_t d = ES_MIN((size_t)r->skip, (size_t)olen);
			memmove(o, o + d * ch, ((size_t)olen - d) * ch * sizeof(*o));
			olen -= (spx_uint32_t)d;
			r->skip -= (uint32_t)d;
		}
		r->ob_len += olen;
		if (!ilen && !olen)
			break; /* cannot happen with room in ob; do not spin */
		n -= ilen;
		if (in)
			in += (size_t)ilen * ch;
	}
}

/* Refill ob (empty on entry); 0 with ob still empty = end of stream. */
static int opus_fill(struct media_reader *r)
{
	unsigned ch = r->channels;

	r->ob_len = r->ob_pos = 0;
	while (!r->ob_len && !r->eof) {
		if (r->in_eof) {
			/* Flush the resampler with silence up to the length the
			 * 48 kHz stream implies at the output rate. */
			uint64_t target = (r->in_total * r->rate + 24000) / 48000;
			if (r->out_total >= target) {
				r->eof = true;
				break;
			}
			opus_resample(r, NULL, OPUS_FLUSH_FRAMES);
			r->ob_len = (size_t)ES_MIN((uint64_t)r->ob_len, target - r->out_total);
			if (!r->ob_len)
				r->eof = true; /* nothing more comes out */
			break;
		}
		int li = -1;
		int16_t *dst = r->rs ? r->in : r->ob;
		int n = op_read(r->of, dst, OPUS_IN_FRAMES * (int)ch, &li);
		if (n == OP_HOLE)
			continue; /* a gap in a damaged file: opusfile resyncs */
		if (n < 0)
			return r->err = ES_EFORMAT;
		if (n > 0 && op_channel_count(r->of, li) != (int)ch)
			return r->err = ES_EFORMAT; /* a chained link that changed layout */
		if (!n) {
			r->in_eof = true;
			if (!r->rs)
				r->eof = true;
			continue;
		}
		r->in_total += (uint64_t)n;
		if (r->rs)
			opus_resample(r, r->in, (size_t)n);
		else
			r->ob_len = (size_t)n;
	}
	r->out_total += r->ob_len;
	return 0;
}

static long opus_read(struct media_reader *r, int16_t *pcm, size_t frames)
{
	size_t got = 0;
	unsigned ch = r->channels;

	while (got < frames) {
		if (r->ob_pos == r->ob_len) {
			if (r->eof)
				break;
			int rc = opus_fill(r);
			if (rc)
				return got ? (long)got : rc;
			if (!r->ob_len)
				break;
		}
		size_t k = ES_MIN(frames - got, r->ob_len - r->ob_pos);
		memcpy(pcm + got * ch, r->ob + r->ob_pos * ch, k * ch * sizeof(*pcm));
		r->ob_pos += k;
		got += k;
	}
	return (long)got;
}

/* ---- the public reader ------------------------------------------------------ */

/* The format from the first bytes; Ogg needs OpusHead in its first packet. */
static int sniff(const uint8_t *h, size_t n, enum media_format *fmt)
{
	if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
		*fmt = MEDIA_WAV;
		return 0;
	}
	if (n >= 4 && !memcmp(h, "fLaC", 4)) {
		*fmt = MEDIA_FLAC;
		return 0;
	}
	if (n >= 27 && !memcmp(h, "OggS", 4)) {
		size_t off = 27 + (size_t)h[26];
		if (n >= off + 8 && !memcmp(h + off, "OpusHead", 8)) {
			*fmt = MEDIA_OPUS;
			return 0;
		}
	}
	return ES_EFORMAT;
}

int media_reader_open(struct media_reader **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		mio_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? ES_ENOTFOUND : ES_EIO;
	}
	return media_reader_open_stream(out, f, path, err, errlen);
}

int media_reader_open_stream(struct media_reader **out, FILE *f, const char *name, char *err,
			     size_t errlen)
{
	struct media_reader *r;
	uint8_t h[27 + 255 + 8];
	int rc;
	const char *path = name ? name : "(stream)";

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		fclose(f);
		mio_err(err, errlen, "%s: out of memory", path);
		return ES_ENOMEM;
	}
	r->f = f;
	size_t n = fread(h, 1, sizeof(h), r->f);
	if (ferror(r->f)) {
		mio_err(err, errlen, "%s: read failed: %s", path, strerror(errno));
		rc = ES_EIO;
		goto fail;
	}
	if (sniff(h, n, &r->fmt) != 0) {
		mio_err(err, errlen, "%s: %s", path,
			n ? "not a WAV, FLAC or Ogg/Opus file" : "empty file");
		rc = ES_EFORMAT;
		goto fail;
	}
	switch (r->fmt) {
	case MEDIA_WAV: rc = wav_open(r, path, err, errlen); break;
	default:
		if (fseeko(r->f, 0, SEEK_SET) != 0) {
			mio_err(err, errlen, "%s: cannot seek: %s", path, strerror(errno));
			rc = ES_EIO;
			goto fail;
		}
		rc = r->fmt == MEDIA_FLAC ? flac_open(r, path, err, errlen)
					  : opus_open(r, path, err, errlen);
		break;
	}
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	media_reader_close(r);
	return rc;
}

uint64_t media_reader_frames(const struct media_reader *r) { return r->frames; }
enum media_format media_reader_format(const struct media_reader *r) { return r->fmt; }
uint32_t media_reader_rate(const struct media_reader *r) { return r->rate; }
unsigned media_reader_channels(const struct media_reader *r) { return r->channels; }

long media_reader_read(struct media_reader *r, int16_t *pcm, size_t frames)
{
	if (frames > (size_t)(LONG_MAX / 4))
		frames = (size_t)(LONG_MAX / 4);
	switch (r->fmt) {
	case MEDIA_WAV: return wav_read(r, pcm, frames);
	case MEDIA_FLAC: return r->err && r->fb_pos == r->fb_len ? r->err : flac_read(r, pcm, frames);
	default: return r->err && r->ob_pos == r->ob_len ? r->err : opus_read(r, pcm, frames);
	}
}

void media_reader_close(struct media_reader *r)
{
	if (!r)
		return;
	if (r->dec)
		FLAC__stream_decoder_delete(r->dec);
	if (r->of)
		op_free(r->of);
	opus_split_free(r->split);
	if (r->rs)
		speex_resampler_destroy(r->rs);
	if (r->f)
		fclose(r->f);
	free(r->fb);
	free(r->in);
	free(r->ob);
	free(r);
}
