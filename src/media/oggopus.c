/*
 * oggopus.c - Ogg Opus (RFC 7845) with libopus and libogg directly.
 *
 * libopus takes 8, 12, 16, 24 and 48 kHz, so a recording at 8 or 16 kHz
 * is encoded at its own rate: no resampling to 48 kHz first, which was
 * a third of libopusenc's cost (docs/PERFORMANCE.md).  Other rates are
 * resampled to 48 kHz with speexdsp.  Granule positions count 48 kHz
 * samples whatever the coding rate (RFC 7845 section 4), so every packet
 * of 20 ms advances them by 960.
 *
 * Channels: a stereo recording holds two parties (left the caller, right
 * the callee), coded as two uncoupled mono Opus streams in one
 * multistream packet (channel mapping family 1, RFC 7845 section 5.1.1.2)
 * rather than one coupled stereo stream, whose joint coding let one party
 * leak into the other's silence (a redacted span) below complexity 5.
 * Two streams keep the parties apart at any complexity.  Mono stays one
 * stream, mapping family 0.
 *
 * Each stream has its own OpusEncoder, and the multistream packet is
 * framed here (RFC 6716 appendix B), not by opus_multistream_encode:
 * Debian's libopus (1.3.1, custom modes on) runs CPUID twice inside every
 * opus_multistream_encode call (it sizes its sub-encoders per call, and
 * sizing the CELT one looks up the CPU), and CPUID traps to the
 * hypervisor on a virtual machine: 17 % of an import's CPU at complexity
 * 0 (docs/PERFORMANCE.md).  The packets are byte for byte those of
 * opus_multistream_encode (tests/unit/test_oggopus.c compares them).
 *
 * Pages: OpusHead alone on the first page, OpusTags on the next (both
 * flushed, section 3), then audio pages of at most about one second, so a
 * reader streaming the file while it grows (a live call being played)
 * gets the audio a second behind; the last page has the end-of-stream
 * flag and a granule position that trims the encoder's padding.
 */
#include "media/oggopus_internal.h"

#include <errno.h>
#include <ogg/ogg.h>
#include <opus/opus.h>
#include <speex/speex_resampler.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/io_internal.h"

#define OO_MAX_RATE 48000
#define OO_FRAME_MS 20
#define OO_MAX_FRAME (OO_MAX_RATE / (1000 / OO_FRAME_MS)) /* 960 */
/* RFC 6716 section 3.4 (R2): a 20 ms frame is at most 1275 bytes (+ TOC),
 * per stream; in a multistream packet every stream but the last also has
 * a self-delimiting length (Appendix B): two streams fit in 2 x 1280. */
#define OO_MAX_PACKET (2 * 1280)
/* One stream's packet: libopus never writes more than this (R2). */
#define OO_STREAM_PACKET 1276
/* A page is written after at most this many packets (1 s): see above. */
#define OO_PAGE_PACKETS 50
/* OpusTags bigger than this are refused (tags come from the call's
 * metadata; a page holds 64 KiB and a sane comment block is far less). */
#define OO_MAX_TAGS_BYTES (48 * 1024)
#define OO_RESAMPLE_QUALITY 5

/* RFC 7845 section 5.1.1.2 (family 1, Vorbis order): output channel i is
 * decoded from stream mapping[i]; with no coupled streams, stream i is
 * channel i (left = caller, right = callee). */
static const unsigned char oo_mapping[2] = {0, 1};

struct oggopus {
	OpusEncoder *enc[2];     /* one mono stream per channel, none coupled */
	SpeexResamplerState *rs; /* only for rates libopus cannot take */
	ogg_stream_state os;
	bool os_ready;
	oggopus_out_fn fn;
	void *user;
	uint32_t rate;     /* the input's, written to OpusHead */
	uint32_t enc_rate; /* libopus's */
	unsigned ch;
	int frame;         /* samples per channel in one packet at enc_rate */
	uint32_t mul;      /* 48000 / enc_rate */
	uint32_t preskip;  /* 48 kHz samples to drop at the start */
	uint64_t in_frames;  /* input frames at rate */
	uint64_t enc_frames; /* frames encoded at enc_rate, padding included */
	uint64_t end_gp;     /* the last page's granule position, once known */
	bool ending;
	int64_t packetno;
	unsigned unpaged; /* packets since the last page was written */
	int fail;         /* ES_E* after a failed write or encode */
	int buf_n;        /* frames in buf */
	int16_t buf[OO_MAX_FRAME * 2];
	int16_t rbuf[OO_MAX_FRAME * 2]; /* resampler output */
	int16_t cbuf[OO_MAX_FRAME];     /* one channel of buf */
	unsigned char spkt[OO_STREAM_PACKET]; /* one stream's packet */
	unsigned char pkt[OO_MAX_PACKET];
};

static bool rate_native(uint32_t r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

static int emit(struct oggopus *e, const ogg_page *pg)
{
	if (e->fail)
		return e->fail;
	if (e->fn(e->user, pg->header, (size_t)pg->header_len) ||
	    e->fn(e->user, pg->body, (size_t)pg->body_len))
		e->fail = ES_EIO;
	return e->fail;
}

/* Write the pages libogg has completed; all of them with `flush`. */
static int pages_out(struct oggopus *e, bool flush)
{
	ogg_page pg;

	while (flush ? ogg_stream_flush(&e->os, &pg) : ogg_stream_pageout(&e->os, &pg)) {
		int rc = emit(e, &pg);
		if (rc)
			return rc;
		e->unpaged = 0;
	}
	return 0;
}

static int packet_in(struct oggopus *e, unsigned char *p, long n, int64_t gp, bool bos,
		     bool eos)
{
	ogg_packet op = {.packet = p,
			 .bytes = n,
			 .b_o_s = bos,
			 .e_o_s = eos,
			 .granulepos = gp,
			 .packetno = e->packetno++};
	if (ogg_stream_packetin(&e->os, &op))
		return ES_ENOMEM;
	return 0;
}

/* RFC 7845 section 5.1: the identification header.  Mono is family 0
 * (19 bytes); stereo is family 1 with its channel mapping table (5.1.1):
 * stream count, coupled stream count, then one stream index per channel. */
static int head_page(struct oggopus *e)
{
	unsigned char h[19 + 2 + sizeof(oo_mapping)];
	size_t n = 19;

	memcpy(h, "OpusHead", 8);
	h[8] = 1; /* version */
	h[9] = (unsigned char)e->ch;
	mio_put_le16(h + 10, (uint16_t)e->preskip);
	mio_put_le32(h + 12, e->rate);
	mio_put_le16(h + 16, 0); /* output gain */
	if (e->ch == 1) {
		h[18] = 0; /* family 0: one stream, no table (5.1.1.1) */
	} else {
		h[18] = 1;                    /* family 1 (5.1.1.2) */
		h[19] = (unsigned char)e->ch; /* streams: one per channel */
		h[20] = 0;                    /* none of them coupled */
		memcpy(h + 21, oo_mapping, e->ch);
		n = 21 + e->ch;
	}
	int rc = packet_in(e, h, (long)n, 0, true, false);
	return rc ? rc : pages_out(e, true);
}

/* RFC 7845 section 5.2: the comment header, "KEY=value" each. */
static int tags_page(struct oggopus *e, const char *const *tags, char *msg, size_t msglen)
{
	const char *vendor = opus_get_version_string();
	size_t n = 8 + 4 + strlen(vendor) + 4, count = 0;
	unsigned char *b, *p;
	int rc;

	for (const char *const *t = tags; t && *t; t++, count++) {
		if (!strchr(*t, '=') || **t == '=') {
			mio_err(msg, msglen, "bad tag \"%.40s\"", *t);
			return ES_EINVAL;
		}
		n += 4 + strlen(*t);
		if (n > OO_MAX_TAGS_BYTES) {
			mio_err(msg, msglen, "tags exceed %d bytes", OO_MAX_TAGS_BYTES);
			return ES_ELIMIT;
		}
	}
	b = malloc(n);
	if (!b)
		return ES_ENOMEM;
	p = b;
	memcpy(p, "OpusTags", 8);
	p += 8;
	mio_put_le32(p, (uint32_t)strlen(vendor));
	memcpy(p + 4, vendor, strlen(vendor));
	p += 4 + strlen(vendor);
	mio_put_le32(p, (uint32_t)count);
	p += 4;
	for (const char *const *t = tags; t && *t; t++) {
		size_t l = strlen(*t);
		mio_put_le32(p, (uint32_t)l);
		memcpy(p + 4, *t, l);
		p += 4 + l;
	}
	rc = packet_in(e, b, (long)n, 0, false, false);
	free(b);
	return rc ? rc : pages_out(e, true);
}

/* The stream's serial number only needs to differ between streams that
 * might be chained or multiplexed in one file (RFC 3533 section 4, RFC 7845
 * section 3); earshot writes one stream per file.  It is derived from the
 * stream's format and tags (FNV-1a), not drawn at random, so that the same
 * call rendered twice gives the same bytes: a recording can be re-rendered
 * and compared, and two index engines fed the same capture agree. */
static int serial_number(unsigned rate, unsigned channels, const char *const *tags)
{
	uint32_t h = 2166136261u;
	uint32_t v[2] = {rate, channels};
	const unsigned char *p = (const unsigned char *)v;
	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ p[i]) * 16777619u;
	for (const char *const *t = tags; t && *t; t++)
		for (const unsigned char *c = (const unsigned char *)*t; *c; c++)
			h = (h ^ *c) * 16777619u;
	return (int)(h & 0x7fffffff);
}

/* The bit rate of each of `n` uncoupled streams out of `total`, split the
 * way libopus's multistream encoder splits it (no coupled and no LFE
 * stream), so that the packets are the ones it wrote: each stream gets 40
 * bits a frame for its band energies, then a flat start of half of what
 * is left over n, then an even share of the rest. */
static opus_int32 stream_bitrate(opus_int32 total, unsigned n, opus_int32 rate, int frame)
{
	opus_int32 k = (opus_int32)n;
	total = ES_MIN(300000 * k, ES_MAX(500 * k, total));
	opus_int32 energy = 40 * ES_MAX(50, rate / frame);
	opus_int32 start = ES_MAX(0, ES_MIN(20000, (total - energy * k) / k / 2));
	opus_int32 share = (total - start * k - energy * k) / k;
	return ES_MAX(500, energy + ES_MAX(0, start + share));
}

static int encoder_setup(struct oggopus *e, const struct media_writer_opts *o, char *msg,
			 size_t msglen)
{
	int err = 0;
	int bitrate = o && o->opus_bitrate > 0 ? o->opus_bitrate
					       : OGGOPUS_BITRATE_PER_CH * (int)e->ch;
	int cx = o && o->opus_complexity >= 0 && o->opus_complexity <= 10 ? o->opus_complexity
		 : e->rate <= 8000 ? OGGOPUS_COMPLEXITY_NB
				   : OGGOPUS_COMPLEXITY_WB;
	opus_int32 la = 0;

	/* One mono stream per channel, none coupled (see the top); with one
	 * channel this is a plain Opus stream.  The bit rate is split evenly
	 * between the streams (stream_bitrate).  The parties' streams
	 * are CELT only (the "restricted low delay" application): libopus
	 * chose CELT for the coupled stereo at 32 kbit/s anyway, but for a mono
	 * stream at 16 kbit/s it would choose SILK, 2-3x slower at complexity
	 * 0 and no better on speech (docs/PERFORMANCE.md).  Mono keeps the
	 * encoder's own choice. */
	int app = e->ch == 2 ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_AUDIO;
	opus_int32 rate = stream_bitrate(bitrate, e->ch, (opus_int32)e->enc_rate, e->frame);
	/* No bits for bands the input cannot have.  The signal type is left
	 * to the encoder: forcing "voice" cost a third of the speed and, on
	 * two unrelated 8 kHz parties, quality too (docs/PERFORMANCE.md). */
	int bw = e->rate <= 8000    ? OPUS_BANDWIDTH_NARROWBAND
		 : e->rate <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND
		 : e->rate <= 16000 ? OPUS_BANDWIDTH_WIDEBAND
		 : e->rate <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND
				    : OPUS_BANDWIDTH_FULLBAND;
	for (unsigned c = 0; c < e->ch; c++) {
		e->enc[c] = opus_encoder_create((opus_int32)e->enc_rate, 1, app, &err);
		if (!e->enc[c]) {
			mio_err(msg, msglen, "opus encoder: %s", opus_strerror(err));
			return err == OPUS_ALLOC_FAIL ? ES_ENOMEM : ES_EINVAL;
		}
		if (opus_encoder_ctl(e->enc[c], OPUS_SET_MAX_BANDWIDTH(bw)) != OPUS_OK ||
		    opus_encoder_ctl(e->enc[c], OPUS_SET_BITRATE(rate)) != OPUS_OK ||
		    opus_encoder_ctl(e->enc[c], OPUS_SET_COMPLEXITY(cx)) != OPUS_OK ||
		    opus_encoder_ctl(e->enc[c], OPUS_GET_LOOKAHEAD(&la)) != OPUS_OK || la < 0) {
			mio_err(msg, msglen, "opus encoder refused bitrate %d or complexity %d",
				bitrate, cx);
			return ES_EINVAL;
		}
	}
	/* RFC 7845 section 4.2: pre-skip covers the encoder's lookahead, in
	 * 48 kHz samples; plus the resampler's delay when there is one. */
	e->preskip = (uint32_t)la * e->mul;
	if (e->rs)
		e->preskip += (uint32_t)speex_resampler_get_output_latency(e->rs);
	return 0;
}

int oggopus_open(struct oggopus **out, uint32_t rate, unsigned channels,
		 const struct media_writer_opts *o, oggopus_out_fn fn, void *user, char *msg,
		 size_t msglen)
{
	struct oggopus *e;
	int rc, err = 0;

	*out = NULL;
	if (channels < 1 || channels > 2 || !rate || rate > 192000) {
		mio_err(msg, msglen, "opus: unsupported %u Hz, %u channels", rate, channels);
		return ES_EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return ES_ENOMEM;
	e->fn = fn;
	e->user = user;
	e->rate = rate;
	e->ch = channels;
	e->enc_rate = rate_native(rate) ? rate : OO_MAX_RATE;
	e->mul = OO_MAX_RATE / e->enc_rate;
	e->frame = (int)(e->enc_rate / (1000 / OO_FRAME_MS));
	if (!rate_native(rate)) {
		e->rs = speex_resampler_init(channels, rate, OO_MAX_RATE, OO_RESAMPLE_QUALITY, &err);
		if (!e->rs) {
			rc = ES_ENOMEM;
			goto fail;
		}
		speex_resampler_skip_zeros(e->rs);
	}
	if ((rc = encoder_setup(e, o, msg, msglen)))
		goto fail;
	if (ogg_stream_init(&e->os, serial_number(rate, channels, o ? o->tags : NULL))) {
		rc = ES_ENOMEM;
		goto fail;
	}
	e->os_ready = true;
	if ((rc = head_page(e)) || (rc = tags_page(e, o ? o->tags : NULL, msg, msglen)))
		goto fail;
	*out = e;
	return 0;
fail:
	if (rc == ES_EIO)
		mio_err(msg, msglen, "write failed");
	oggopus_free(e);
	return rc;
}

/* RFC 6716 section 3.2.1: a frame length in one byte below 252, else in
 * two (252 + len % 4, then (len - that) / 4). */
static size_t put_length(unsigned char *p, int len)
{
	if (len < 252) {
		p[0] = (unsigned char)len;
		return 1;
	}
	p[0] = (unsigned char)(252 + (len & 3));
	p[1] = (unsigned char)((len - p[0]) >> 2);
	return 2;
}

/* Encode channel c of buf as stream c and append it to the multistream
 * packet at e->pkt + off (RFC 7845 section 5.1.1: streams in order, all
 * but the last self-delimited, RFC 6716 appendix B).  A 20 ms packet is
 * one frame (code 0); it is re-framed as libopus's repacketizer does in
 * opus_multistream_encode (the TOC's code bits cleared, any padding
 * dropped) so that the bytes are the same.  Returns the new offset, or a
 * negative opus error. */
static opus_int32 encode_stream(struct oggopus *e, unsigned c, opus_int32 off)
{
	const int16_t *in = e->buf;
	const unsigned char *fr[48];
	opus_int16 fsz[48];
	unsigned char toc;

	if (e->ch > 1) {
		for (int i = 0; i < e->frame; i++)
			e->cbuf[i] = e->buf[(size_t)i * e->ch + c];
		in = e->cbuf;
	}
	opus_int32 n =
		opus_encode(e->enc[c], in, e->frame, e->spkt, (opus_int32)sizeof(e->spkt));
	if (n < 0)
		return n;
	int frames = opus_packet_parse(e->spkt, n, &toc, fr, fsz, NULL);
	if (frames < 0)
		return frames;
	if (frames != 1)
		return OPUS_INTERNAL_ERROR; /* a 20 ms packet holds one frame */
	unsigned char *p = e->pkt + off;
	*p++ = toc & 0xFC;
	if (c + 1 < e->ch)
		p += put_length(p, fsz[0]);
	memcpy(p, fr[0], (size_t)fsz[0]);
	return (opus_int32)(p + fsz[0] - e->pkt);
}

/* Encode the full frame in buf as one packet. */
static int encode_frame(struct oggopus *e, char *msg, size_t msglen)
{
	opus_int32 n = 0;
	for (unsigned c = 0; c < e->ch && n >= 0; c++)
		n = encode_stream(e, c, n);
	if (n < 0) {
		mio_err(msg, msglen, "opus encoder: %s", opus_strerror(n));
		return e->fail = ES_EIO;
	}
	e->buf_n = 0;
	e->enc_frames += (uint64_t)e->frame;
	/* Section 4: the granule position counts decoded samples, the
	 * pre-skip included (the decoder's output lags the input by it).
	 * 4.4: the end's is less than the samples the packets hold, which
	 * trims the padding; earlier pages never pass it (monotonic). */
	uint64_t gp = e->enc_frames * e->mul;
	bool last = e->ending && gp >= e->end_gp;
	if (e->ending && gp > e->end_gp)
		gp = e->end_gp;
	int rc = packet_in(e, e->pkt, n, (int64_t)gp, false, last);
	if (rc)
		return rc;
	if (++e->unpaged >= OO_PAGE_PACKETS || last)
		return pages_out(e, true);
	return pages_out(e, false);
}

/* Append frames at the encoder's rate to buf, encoding each full frame. */
static int push(struct oggopus *e, const int16_t *pcm, size_t frames, char *msg, size_t msglen)
{
	while (frames) {
		size_t k = ES_MIN(frames, (size_t)(e->frame - e->buf_n));
		if (pcm)
			memcpy(e->buf + (size_t)e->buf_n * e->ch, pcm, k * e->ch * sizeof(*pcm));
		else
			memset(e->buf + (size_t)e->buf_n * e->ch, 0, k * e->ch * sizeof(*e->buf));
		e->buf_n += (int)k;
		frames -= k;
		if (pcm)
			pcm += k * e->ch;
		if (e->buf_n == e->frame) {
			int rc = encode_frame(e, msg, msglen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Through the resampler (pcm NULL: silence, to flush its tail). */
static int push_resampled(struct oggopus *e, const int16_t *pcm, size_t frames, char *msg,
			  size_t msglen)
{
	static const int16_t zeros[OO_MAX_FRAME * 2];

	while (frames) {
		spx_uint32_t in = (spx_uint32_t)ES_MIN(frames, (size_t)OO_MAX_FRAME / 4);
		spx_uint32_t outn = OO_MAX_FRAME;
		speex_resampler_process_interleaved_int(e->rs, pcm ? pcm : zeros, &in, e->rbuf,
							&outn);
		int rc = push(e, e->rbuf, outn, msg, msglen);
		if (rc)
			return rc;
		frames -= in;
		if (pcm)
			pcm += (size_t)in * e->ch;
	}
	return 0;
}

int oggopus_write(struct oggopus *e, const int16_t *pcm, size_t frames, char *msg,
		  size_t msglen)
{
	if (e->fail)
		return e->fail;
	if (e->ending)
		return ES_EINVAL;
	e->in_frames += frames;
	return e->rs ? push_resampled(e, pcm, frames, msg, msglen)
		     : push(e, pcm, frames, msg, msglen);
}

int oggopus_finish(struct oggopus *e, char *msg, size_t msglen)
{
	int rc;

	if (e->fail)
		return e->fail;
	if (e->ending)
		return ES_EINVAL;
	/* The input's length at 48 kHz (exact at the native rates). */
	uint64_t in48 = (e->in_frames * OO_MAX_RATE + e->rate / 2) / e->rate;
	if (e->rs) {
		/* The resampler's tail: its delay in input frames, and some. */
		size_t tail = (size_t)speex_resampler_get_input_latency(e->rs) + 1;
		if ((rc = push_resampled(e, NULL, tail, msg, msglen)))
			return rc;
	}
	e->end_gp = e->preskip + in48;
	e->ending = true;
	/* Pad with silence until the packets cover the last input sample
	 * past the lookahead; at least one packet, so that even an empty
	 * recording has an audio page (section 3). */
	do {
		rc = push(e, NULL, (size_t)(e->frame - e->buf_n), msg, msglen);
		if (rc)
			return rc;
	} while (e->enc_frames * e->mul < e->end_gp);
	/* encode_frame flushed the page of the last packet (e_o_s set). */
	return e->fail;
}

void oggopus_free(struct oggopus *e)
{
	if (!e)
		return;
	for (unsigned c = 0; c < 2; c++)
		if (e->enc[c])
			opus_encoder_destroy(e->enc[c]);
	if (e->rs)
		speex_resampler_destroy(e->rs);
	if (e->os_ready)
		ogg_stream_clear(&e->os);
	free(e);
}
