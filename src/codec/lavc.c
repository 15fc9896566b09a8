/*
 * lavc.c - the codecs Debian has only in FFmpeg's libavcodec: iLBC
 * (RFC 3952) and G.723.1 (RFC 3551 4.5.3).  There is no libilbc in Debian
 * 12, and G.723.1's reference code is not packaged; libavcodec's decoders
 * are maintained and fuzzed (OSS-Fuzz).  Each payload is cut into frames
 * here and each frame goes to libavcodec alone, so a frame length is never
 * left to the library to guess.
 *
 * iLBC, RFC 3952 section 3: 38-byte frames of 20 ms or 50-byte frames of
 * 30 ms, the mode known from the payload size (the SDP "mode" is not in the
 * media log); a payload both could split (1900 bytes) keeps the mode in
 * use.  libavcodec fixes the mode when the decoder opens, so a change of
 * mode reopens it.
 *
 * G.723.1, ITU-T G.723.1 section 5.4: the two low bits of a frame's first
 * byte give its length: 24 (6.3 kbit/s), 20 (5.3 kbit/s), 4 (SID) or 1
 * (untransmitted); 240 samples a frame, SID and untransmitted frames
 * making comfort noise.
 *
 * libavcodec is loaded with dlopen when the first such decoder starts, not
 * linked: it pulled in 76 of earshot's 159 shared libraries (AV1, VP9,
 * Theora ...), whose loading and relocation took three quarters of every
 * earshot process's start (about 0.08 s of CPU on the 2-core machine, a
 * few % of an import of 50 short calls, and again for each command a test
 * runs), while nearly no call is in iLBC or G.723.1.
 */
#include "codec/codec_internal.h"

#include <dlfcn.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LAVC_STR2(x) #x
#define LAVC_STR(x) LAVC_STR2(x)
/* The sonames of the major versions the headers are from. */
#define LAVC_AVCODEC "libavcodec.so." LAVC_STR(LIBAVCODEC_VERSION_MAJOR)
#define LAVC_AVUTIL "libavutil.so." LAVC_STR(LIBAVUTIL_VERSION_MAJOR)

/* The functions used, resolved once (lv_load). */
static struct {
	bool ok;
	const AVCodec *(*find_decoder)(enum AVCodecID);
	AVCodecContext *(*alloc_context3)(const AVCodec *);
	void (*free_context)(AVCodecContext **);
	int (*open2)(AVCodecContext *, const AVCodec *, AVDictionary **);
	int (*send_packet)(AVCodecContext *, const AVPacket *);
	int (*receive_frame)(AVCodecContext *, AVFrame *);
	AVPacket *(*packet_alloc)(void);
	void (*packet_free)(AVPacket **);
	void (*packet_unref)(AVPacket *);
	int (*new_packet)(AVPacket *, int);
	AVFrame *(*frame_alloc)(void);
	void (*frame_free)(AVFrame **);
	void (*frame_unref)(AVFrame *);
	void (*layout_default)(AVChannelLayout *, int);
	void (*log_set_level)(int);
} lv;
static pthread_once_t lv_once = PTHREAD_ONCE_INIT;

/* dlsym into a function pointer (POSIX allows the conversion). */
#define LV_SYM(h, field, name) \
	(*(void **)(&lv.field) = dlsym(h, name), lv.field != NULL)

static void lv_load(void)
{
	/* both stay loaded for the process's life */
	void *u = dlopen(LAVC_AVUTIL, RTLD_NOW | RTLD_LOCAL);
	void *c = u ? dlopen(LAVC_AVCODEC, RTLD_NOW | RTLD_LOCAL) : NULL;
	if (!c) {
		ES_LOG_WARNING("codec", "iLBC and G.723.1 need %s: %s", LAVC_AVCODEC, dlerror());
		return;
	}
	lv.ok = LV_SYM(c, find_decoder, "avcodec_find_decoder") &&
		LV_SYM(c, alloc_context3, "avcodec_alloc_context3") &&
		LV_SYM(c, free_context, "avcodec_free_context") &&
		LV_SYM(c, open2, "avcodec_open2") && LV_SYM(c, send_packet, "avcodec_send_packet") &&
		LV_SYM(c, receive_frame, "avcodec_receive_frame") &&
		LV_SYM(c, packet_alloc, "av_packet_alloc") &&
		LV_SYM(c, packet_free, "av_packet_free") &&
		LV_SYM(c, packet_unref, "av_packet_unref") &&
		LV_SYM(c, new_packet, "av_new_packet") && LV_SYM(u, frame_alloc, "av_frame_alloc") &&
		LV_SYM(u, frame_free, "av_frame_free") && LV_SYM(u, frame_unref, "av_frame_unref") &&
		LV_SYM(u, layout_default, "av_channel_layout_default") &&
		LV_SYM(u, log_set_level, "av_log_set_level");
	if (!lv.ok)
		ES_LOG_WARNING("codec", "%s lacks a function earshot uses", LAVC_AVCODEC);
	else /* libavcodec logs every damaged frame to stderr; earshot counts them */
		lv.log_set_level(AV_LOG_QUIET);
}

struct lavc {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frm;
	int block; /* iLBC: the frame length the decoder was opened with */
};

static void lavc_close(struct lavc *l)
{
	if (l->ctx)
		lv.free_context(&l->ctx);
}

static int lavc_open(struct codec_dec *d, int block)
{
	struct lavc *l = d->lib;
	enum AVCodecID id = d->info.id == CODEC_ILBC ? AV_CODEC_ID_ILBC : AV_CODEC_ID_G723_1;
	const AVCodec *c = lv.find_decoder(id);
	if (!c)
		return ES_EINVAL;
	lavc_close(l);
	l->ctx = lv.alloc_context3(c);
	if (!l->ctx)
		return ES_ENOMEM;
	l->ctx->sample_rate = 8000;
	lv.layout_default(&l->ctx->ch_layout, 1);
	l->ctx->block_align = block;
	if (lv.open2(l->ctx, c, NULL) < 0) {
		lavc_close(l);
		return ES_EINVAL;
	}
	l->block = block;
	return 0;
}

static int lavc_init(struct codec_dec *d)
{
	pthread_once(&lv_once, lv_load);
	if (!lv.ok)
		return ES_EUNSUP;
	struct lavc *l = calloc(1, sizeof(*l));
	if (!l)
		return ES_ENOMEM;
	d->lib = l;
	l->pkt = lv.packet_alloc();
	l->frm = lv.frame_alloc();
	if (!l->pkt || !l->frm)
		return ES_ENOMEM;
	return lavc_open(d, d->info.id == CODEC_ILBC ? 38 : 0);
}

static void lavc_fini(struct codec_dec *d)
{
	struct lavc *l = d->lib;
	if (!l)
		return;
	lavc_close(l);
	if (l->pkt)
		lv.packet_free(&l->pkt);
	if (l->frm)
		lv.frame_free(&l->frm);
	free(l);
}

/* Decode one frame of len bytes into out (room for cap samples). */
static int lavc_frame(struct lavc *l, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	if (lv.new_packet(l->pkt, (int)len) < 0)
		return ES_ENOMEM;
	memcpy(l->pkt->data, p, len);
	int r = lv.send_packet(l->ctx, l->pkt);
	lv.packet_unref(l->pkt);
	if (r < 0)
		return ES_EPARSE;
	size_t n = 0;
	while (lv.receive_frame(l->ctx, l->frm) == 0) {
		size_t m = (size_t)l->frm->nb_samples;
		if (m > cap - n) {
			lv.frame_unref(l->frm);
			return ES_ELIMIT;
		}
		for (size_t i = 0; i < m; i++) {
			float f;
			switch (l->frm->format) {
			case AV_SAMPLE_FMT_S16:
			case AV_SAMPLE_FMT_S16P:
				out[n + i] = ((const int16_t *)(const void *)l->frm->data[0])[i];
				continue;
			case AV_SAMPLE_FMT_FLT:
			case AV_SAMPLE_FMT_FLTP:
				f = ((const float *)(const void *)l->frm->data[0])[i] * 32768.0f;
				out[n + i] = (int16_t)(f > 32767.0f ? 32767 : f < -32768.0f ? -32768 : f);
				continue;
			default:
				lv.frame_unref(l->frm);
				return ES_EINVAL;
			}
		}
		n += m;
		lv.frame_unref(l->frm);
	}
	return (int)n;
}

static int ilbc_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	struct lavc *l = d->lib;
	int block = codec_ilbc_frame_len(len, l->block);
	if (block < 0)
		return block;
	if (block != l->block) {
		int rc = lavc_open(d, block);
		if (rc)
			return rc;
	}
	size_t per = block == 38 ? 160 : 240, frames = len / (size_t)block, n = 0;
	if (frames > cap / per)
		return ES_ELIMIT;
	for (size_t k = 0; k < frames; k++) {
		int r = lavc_frame(l, p + k * (size_t)block, (size_t)block, out + n, cap - n);
		if (r < 0)
			return n ? (int)n : r;
		n += (size_t)r;
	}
	return (int)n;
}

int codec_ilbc_frame_len(size_t len, int current)
{
	bool m20 = len && len % 38 == 0, m30 = len && len % 50 == 0;
	if (m20 && m30)
		return current == 50 ? 50 : 38;
	if (m20)
		return 38;
	if (m30)
		return 50;
	return len ? ES_EPARSE : ES_ETRUNC;
}

size_t codec_g723_frame_len(uint8_t first)
{
	static const uint8_t len[4] = {24, 20, 4, 1};
	return len[first & 3];
}

static int g723_dec(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap)
{
	struct lavc *l = d->lib;
	if (!len)
		return ES_ETRUNC;
	/* the whole payload is checked before any frame is decoded */
	size_t frames = 0;
	for (size_t off = 0; off < len; frames++) {
		size_t fl = codec_g723_frame_len(p[off]);
		if (fl > len - off)
			return ES_ETRUNC;
		off += fl;
	}
	if (frames > cap / 240)
		return ES_ELIMIT;
	size_t n = 0;
	for (size_t off = 0; off < len;) {
		size_t fl = codec_g723_frame_len(p[off]);
		int r = lavc_frame(l, p + off, fl, out + n, cap - n);
		if (r < 0)
			return n ? (int)n : r;
		n += (size_t)r;
		off += fl;
	}
	return (int)n;
}

const struct codec_ops codec_ops_ilbc = {lavc_init, lavc_fini, ilbc_dec, NULL};
const struct codec_ops codec_ops_g723 = {lavc_init, lavc_fini, g723_dec, NULL};
