/* audio.c - gen_calls: the audio mode (--codec, --audio-caller,
 * --audio-callee, --drift): each party's source audio, looped, resampled to
 * the codec's rate and encoded once per codec; the legs then send the
 * encoded packets by slot.
 * #included by bench/gen_calls.c after media.c (see gen.h). */

#include <bcg729/encoder.h>
#include <gsm.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <opencore-amrnb/interf_enc.h>
#include <opus/opus.h>
#include <spandsp.h>
#include <speex/speex.h>
#include <vo-amrwbenc/enc_if.h>

#include "wav.c"

/* Dynamic payload types are 96.. (RFC 3551 3); each call offers one codec. */
static const struct codec_desc codecs[GC_N] = {
	[GC_PCMU] = {"pcmu", "PCMU", 0, 0, 8000, 8000, NULL},
	[GC_PCMA] = {"pcma", "PCMA", 8, 0, 8000, 8000, NULL},
	/* RFC 3551 4.5.2: the G.722 clock is 8000 although it samples at 16 kHz */
	[GC_G722] = {"g722", "G722", 9, 0, 8000, 16000, NULL},
	[GC_G726_32] = {"g726-32", "G726-32", 96, 0, 8000, 8000, NULL},
	[GC_G729] = {"g729", "G729", 18, 0, 8000, 8000, "annexb=no"},
	[GC_GSM] = {"gsm", "GSM", 3, 0, 8000, 8000, NULL},
	/* RFC 7587 7: always opus/48000/2 */
	[GC_OPUS] = {"opus", "opus", 97, 2, 48000, 16000,
		     "maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=0"},
	[GC_L16] = {"l16", "L16", 98, 0, 16000, 16000, NULL},
	/* RFC 5574, RFC 4867, RFC 3551 4.5.3 (G723), 4.5.9 (LPC) */
	[GC_SPEEX] = {"speex", "speex", 99, 0, 8000, 8000, NULL},
	[GC_SPEEX_WB] = {"speex-wb", "speex", 100, 0, 16000, 16000, NULL},
	[GC_AMR] = {"amr", "AMR", 102, 0, 8000, 8000, "octet-align=1"},
	[GC_AMR_BE] = {"amr-be", "AMR", 103, 0, 8000, 8000, NULL},
	[GC_AMR_WB] = {"amr-wb", "AMR-WB", 104, 0, 16000, 16000, NULL},
	[GC_G723] = {"g723", "G723", 4, 0, 8000, 8000, "annexa=no"},
	[GC_LPC] = {"lpc", "LPC", 7, 0, 8000, 8000, NULL},
};

#define SYNTH_RATE 16000
#define SYNTH_LEN_S 4.2 /* a whole number of any ptime 10..60 ms */

/* The RTP clock of telephone-events in a call of codec c: the audio's
 * clock, so that one stream has one clock (RFC 4733 2.1). */
static uint32_t codec_event_clock(int c) { return c < 0 ? 8000 : codecs[c].clock; }

static int codec_by_name(const char *s)
{
	if (!strcmp(s, "mixed"))
		return GEN_CODEC_MIXED;
	for (int i = 0; i < GC_N; i++)
		if (!strcmp(s, codecs[i].opt))
			return i;
	return GEN_CODEC_TONES;
}

/* A raised-cosine edge of 10 ms at both ends of a burst of len s. */
static double synth_env(double t, double len)
{
	double e = 0.010, x = t < e ? t / e : len - t < e ? (len - t) / e : 1.0;
	return x >= 1.0 ? 1.0 : 0.5 - 0.5 * cos(M_PI * x);
}

/* The synthetic signals, 4.2 s long, about -12 dBFS peaks (see --help):
 * caller: 7 tone bursts of 0.5 s, each followed by 0.1 s of silence, at
 *         440, 1250, 700, 2000, 550, 1600, 900 Hz;
 * callee: a chirp up 300 -> 3300 Hz over 1.6 s, 0.5 s silence, a chirp
 *         down 3000 -> 400 Hz over 1.6 s, 0.5 s silence. */
static double synth_sample(int side, double t)
{
	static const double hz[7] = {440, 1250, 700, 2000, 550, 1600, 900};
	const double a = 8000.0;
	if (side == 0) {
		int b = (int)(t / 0.6);
		double tau = t - 0.6 * b;
		if (b > 6 || tau >= 0.5)
			return 0;
		return a * synth_env(tau, 0.5) * sin(2 * M_PI * hz[b] * tau);
	}
	double f0 = 300, f1 = 3300, tau = t;
	if (t >= 2.1) {
		f0 = 3000;
		f1 = 400;
		tau = t - 2.1;
	}
	if (tau >= 1.6)
		return 0;
	double ph = 2 * M_PI * (f0 * tau + (f1 - f0) * tau * tau / (2 * 1.6));
	return a * synth_env(tau, 1.6) * sin(ph);
}

static int16_t *synth_make(int side, uint32_t rate, uint32_t n)
{
	int16_t *p = malloc((size_t)n * 2 + 2);
	if (!p)
		die_oom();
	for (uint32_t i = 0; i < n; i++)
		p[i] = (int16_t)lrint(synth_sample(side, (double)i / rate));
	return p;
}

/* The loop: the source padded with silence to a whole number of ptimes (of
 * a duration that is a whole number of samples at the source rate). */
static uint32_t audio_loop_len(uint32_t rate, uint32_t n, int ptime_ms)
{
	uint64_t k = 1;
	while ((uint64_t)rate * ptime_ms * k % 1000)
		k++;
	uint64_t q = (uint64_t)rate * ptime_ms * k / 1000;
	return (uint32_t)((n + q - 1) / q * q);
}

/* Loads the sources of both parties; prints why and returns -1 on failure. */
static int audio_init(struct gen *g)
{
	for (int side = 0; side < 2; side++) {
		struct audio_src *a = &g->audio[side];
		memset(a, 0, sizeof(*a));
		a->path = g->o.audio_path[side];
		if (!a->path) {
			a->rate = SYNTH_RATE;
			a->src_len = a->loop_len = (uint32_t)lrint(SYNTH_LEN_S * SYNTH_RATE);
			a->pcm = synth_make(side, a->rate, a->loop_len);
			continue;
		}
		struct wav w;
		char err[300];
		if (wav_read(a->path, &w, err, sizeof(err))) {
			fprintf(stderr, GEN_TAG ": %s\n", err);
			return -1;
		}
		if (w.frames < w.rate / 10 || w.frames > (size_t)w.rate * GEN_AUDIO_MAX_S) {
			fprintf(stderr, GEN_TAG ": %s: audio must last 0.1 to %d s\n", a->path,
				GEN_AUDIO_MAX_S);
			wav_free(&w);
			return -1;
		}
		a->rate = w.rate;
		a->src_len = (uint32_t)w.frames;
		a->loop_len = audio_loop_len(w.rate, a->src_len, g->o.ptime_ms);
		a->pcm = calloc(a->loop_len + 1, 2);
		if (!a->pcm)
			die_oom();
		for (uint32_t i = 0; i < a->src_len; i++)
			a->pcm[i] = w.pcm[(size_t)i * w.channels]; /* the first channel */
		wav_free(&w);
	}
	return 0;
}

/* --audio-out: each party's loop as PREFIX.caller.wav, PREFIX.callee.wav. */
static int audio_write(const struct gen *g, const char *prefix)
{
	for (int side = 0; side < 2; side++) {
		const struct audio_src *a = &g->audio[side];
		char path[4096];
		snprintf(path, sizeof(path), "%s.%s.wav", prefix, side ? "callee" : "caller");
		if (wav_write(path, a->pcm, a->loop_len, a->rate)) {
			fprintf(stderr, GEN_TAG ": %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The party's loop at 8000 or 16000 Hz, made on first use.  A file is
 * resampled as a periodic signal: copies of the loop on either side, keep
 * the middle, so that the seam has no filter edge. */
static const int16_t *audio_at(struct gen *g, int side, uint32_t rate)
{
	struct audio_src *a = &g->audio[side];
	int r = rate == 16000;
	if (a->at[r])
		return a->at[r];
	uint32_t n = (uint32_t)((uint64_t)a->loop_len * rate / a->rate);
	if (!a->path) {
		a->at[r] = synth_make(side, rate, n);
	} else if (a->rate == rate) {
		a->at[r] = malloc((size_t)n * 2 + 2);
		if (!a->at[r])
			die_oom();
		memcpy(a->at[r], a->pcm, (size_t)n * 2);
	} else {
		size_t m = (2048 + a->loop_len - 1) / a->loop_len; /* copies each side */
		size_t reps = 2 * m + 1, outn;
		int16_t *rep = malloc(reps * a->loop_len * 2);
		if (!rep)
			die_oom();
		for (size_t i = 0; i < reps; i++)
			memcpy(rep + i * a->loop_len, a->pcm, (size_t)a->loop_len * 2);
		int16_t *o = wav_resample(rep, reps * a->loop_len, a->rate, rate, 10, &outn);
		free(rep);
		if (!o || outn < (m + 1) * n)
			die_oom();
		a->at[r] = malloc((size_t)n * 2 + 2);
		if (!a->at[r])
			die_oom();
		memcpy(a->at[r], o + m * n, (size_t)n * 2);
		free(o);
	}
	return a->at[r];
}

/* Speech bits of AMR (wb false) or AMR-WB frame type ft (RFC 4867 3.1). */
static unsigned amr_bits(bool wb, unsigned ft)
{
	static const uint16_t nb[16] = {95, 103, 118, 134, 148, 159, 204, 244, 39};
	static const uint16_t w[16] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40};
	return ft < 16 ? (wb ? w : nb)[ft] : 0;
}

/* RFC 4867 4.3 / 4.4: storage-format frames (header byte FT << 3 | Q << 2,
 * then the bits) packed as one payload; returns its length. */
static size_t amr_payload(bool wb, bool octet, uint8_t (*fr)[64], size_t n, uint8_t *out)
{
	size_t pos = 0;
	memset(out, 0, 64 * n + 8);
#define PUTB(v, k) do { for (int b_ = (k) - 1; b_ >= 0; b_--, pos++) \
	if (((unsigned)(v) >> b_) & 1u) out[pos / 8] |= (uint8_t)(0x80 >> (pos % 8)); } while (0)
	PUTB(15, 4); /* CMR: no mode request */
	if (octet)
		pos += 4;
	for (size_t k = 0; k < n; k++) {
		PUTB(k + 1 < n, 1);
		PUTB(fr[k][0] >> 3 & 15, 4);
		PUTB(fr[k][0] >> 2 & 1, 1);
		if (octet)
			pos += 2;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned bits = amr_bits(wb, fr[k][0] >> 3 & 15);
		for (unsigned i = 0; i < bits; i++)
			PUTB(fr[k][1 + i / 8] >> (7 - i % 8) & 1, 1);
		if (octet)
			pos = (pos + 7) / 8 * 8;
	}
#undef PUTB
	return (pos + 7) / 8;
}

/* G.723.1 through libavcodec's encoder (6.3 kbit/s, 240-sample frames). */
static size_t g723_packet(AVCodecContext *ctx, const int16_t *in, uint32_t n, uint8_t *out)
{
	size_t len = 0;
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	if (!f || !pkt)
		die_oom();
	for (uint32_t i = 0; i + 240 <= n; i += 240) {
		f->nb_samples = 240;
		f->format = AV_SAMPLE_FMT_S16;
		av_channel_layout_default(&f->ch_layout, 1);
		if (av_frame_get_buffer(f, 0) < 0)
			die_oom();
		memcpy(f->data[0], in + i, 240 * 2);
		if (avcodec_send_frame(ctx, f) < 0) {
			fprintf(stderr, GEN_TAG ": g723_1 encoder refused a frame\n");
			exit(1);
		}
		av_frame_unref(f);
		while (avcodec_receive_packet(ctx, pkt) == 0) {
			memcpy(out + len, pkt->data, (size_t)pkt->size);
			len += (size_t)pkt->size;
			av_packet_unref(pkt);
		}
	}
	av_frame_free(&f);
	av_packet_free(&pkt);
	return len;
}

/* Encodes one packet of n samples with codec c; returns its length. */
static size_t enc_packet(int c, void *st, const int16_t *in, uint32_t n, uint8_t *out)
{
	size_t len = 0;
	switch (c) {
	case GC_PCMU:
		for (uint32_t i = 0; i < n; i++)
			out[i] = g711_ulaw(in[i]);
		return n;
	case GC_PCMA:
		for (uint32_t i = 0; i < n; i++)
			out[i] = g711_alaw(in[i]);
		return n;
	case GC_L16: /* RFC 3551 4.5.11: network byte order */
		for (uint32_t i = 0; i < n; i++)
			put16(out + 2 * i, (uint16_t)in[i]);
		return 2 * (size_t)n;
	case GC_G722: return (size_t)g722_encode(st, out, in, (int)n);
	case GC_G726_32: return (size_t)g726_encode(st, out, in, (int)n);
	case GC_G729:
		for (uint32_t i = 0; i + 80 <= n; i += 80) {
			uint8_t l = 0;
			bcg729Encoder(st, in + i, out + len, &l);
			len += l;
		}
		return len;
	case GC_GSM:
		for (uint32_t i = 0; i + 160 <= n; i += 160) {
			gsm_signal frame[160];
			memcpy(frame, in + i, sizeof(frame));
			gsm_encode(st, frame, out + len);
			len += 33;
		}
		return len;
	case GC_SPEEX:
	case GC_SPEEX_WB: { /* RFC 5574 3.3: the packet's frames in one bit stream */
		SpeexBits bits;
		int fs = 0;
		speex_encoder_ctl(st, SPEEX_GET_FRAME_SIZE, &fs);
		speex_bits_init(&bits);
		for (uint32_t i = 0; fs > 0 && i + (uint32_t)fs <= n; i += (uint32_t)fs)
			speex_encode_int(st, (int16_t *)(uintptr_t)(in + i), &bits);
		speex_bits_insert_terminator(&bits);
		len = (size_t)speex_bits_write(&bits, (char *)out, 1500);
		speex_bits_destroy(&bits);
		return len;
	}
	case GC_AMR:
	case GC_AMR_BE:
	case GC_AMR_WB: {
		bool wb = c == GC_AMR_WB;
		uint32_t per = wb ? 320 : 160;
		uint8_t fr[3][64];
		size_t k = 0;
		for (uint32_t i = 0; i + per <= n && k < 3; i += per, k++) {
			int r = wb ? E_IF_encode(st, 8, in + i, fr[k], 0)
				   : Encoder_Interface_Encode(st, MR122, in + i, fr[k], 0);
			if (r < 1) {
				fprintf(stderr, GEN_TAG ": AMR encoder failed\n");
				exit(1);
			}
		}
		return amr_payload(wb, c == GC_AMR, fr, k, out);
	}
	case GC_G723: return g723_packet(st, in, n, out);
	case GC_LPC: /* not LPC: 14 bytes a 22.5 ms frame, from the samples */
		for (uint32_t i = 0; i < n * 14 / 180; i++)
			out[i] = (uint8_t)(in[i] >> 8);
		return n * 14 / 180;
	case GC_OPUS: {
		int r = opus_encode(st, in, (int)n, out, 1500);
		if (r < 0) {
			fprintf(stderr, GEN_TAG ": opus_encode: %s\n", opus_strerror(r));
			exit(1);
		}
		return (size_t)r;
	}
	}
	return 0;
}

static void *enc_new(int c)
{
	int err = 0;
	void *st = NULL;
	switch (c) {
	case GC_G722: st = g722_encode_init(NULL, 64000, 0); break;
	case GC_G726_32: st = g726_init(NULL, 32000, G726_ENCODING_LINEAR, G726_PACKING_RIGHT); break;
	case GC_G729: st = initBcg729EncoderChannel(0); break;
	case GC_GSM: st = gsm_create(); break;
	case GC_OPUS:
		st = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
		if (st)
			opus_encoder_ctl(st, OPUS_SET_BITRATE(32000));
		break;
	case GC_SPEEX:
	case GC_SPEEX_WB: {
		st = speex_encoder_init(c == GC_SPEEX ? &speex_nb_mode : &speex_wb_mode);
		int q = 8;
		if (st)
			speex_encoder_ctl(st, SPEEX_SET_QUALITY, &q);
		break;
	}
	case GC_AMR:
	case GC_AMR_BE: st = Encoder_Interface_init(0); break;
	case GC_AMR_WB: st = E_IF_init(); break;
	case GC_G723: {
		const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_G723_1);
		AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
		if (!ctx) {
			fprintf(stderr, GEN_TAG ": no G.723.1 encoder in libavcodec\n");
			exit(1);
		}
		ctx->sample_rate = 8000;
		ctx->bit_rate = 6300;
		ctx->sample_fmt = AV_SAMPLE_FMT_S16;
		av_channel_layout_default(&ctx->ch_layout, 1);
		if (avcodec_open2(ctx, codec, NULL) < 0) {
			fprintf(stderr, GEN_TAG ": cannot open the G.723.1 encoder\n");
			exit(1);
		}
		st = ctx;
		break;
	}
	default: return NULL;
	}
	if (!st)
		die_oom();
	return st;
}

static void enc_free(int c, void *st)
{
	switch (c) {
	case GC_G722: g722_encode_free(st); break;
	case GC_G726_32: g726_free(st); break;
	case GC_G729: closeBcg729EncoderChannel(st); break;
	case GC_GSM: gsm_destroy(st); break;
	case GC_OPUS: opus_encoder_destroy(st); break;
	case GC_SPEEX:
	case GC_SPEEX_WB: speex_encoder_destroy(st); break;
	case GC_AMR:
	case GC_AMR_BE: Encoder_Interface_exit(st); break;
	case GC_AMR_WB: E_IF_exit(st); break;
	case GC_G723: {
		AVCodecContext *ctx = st;
		avcodec_free_context(&ctx);
		break;
	}
	default: break;
	}
}

/* The party's loop encoded with codec c, made on first use; the encoder
 * starts cold at the loop's first packet, so the seam of a loop is the only
 * place where a decoder's state differs from the encoder's. */
static const struct enc_loop *audio_enc(struct gen *g, int side, int c)
{
	struct enc_loop *e = &g->audio[side].enc[c];
	if (e->npkts)
		return e;
	uint32_t rate = codecs[c].rate;
	const int16_t *pcm = audio_at(g, side, rate);
	uint32_t n = rate / 1000 * (uint32_t)g->o.ptime_ms;
	uint32_t len = (uint32_t)((uint64_t)g->audio[side].loop_len * rate / g->audio[side].rate);
	e->npkts = len / n;
	e->off = malloc(((size_t)e->npkts + 1) * sizeof(*e->off));
	size_t cap = (size_t)e->npkts * 2 * n + 1600, used = 0;
	e->data = malloc(cap);
	if (!e->off || !e->data)
		die_oom();
	void *st = enc_new(c);
	for (uint32_t k = 0; k < e->npkts; k++) {
		e->off[k] = (uint32_t)used;
		used += enc_packet(c, st, pcm + (size_t)k * n, n, e->data + used);
		if (used + 1600 > cap) /* opus: at most 1500 a packet */
			die_oom();
	}
	e->off[e->npkts] = (uint32_t)used;
	enc_free(c, st);
	return e;
}

static void audio_free(struct gen *g)
{
	for (int side = 0; side < 2; side++) {
		struct audio_src *a = &g->audio[side];
		free(a->pcm);
		free(a->at[0]);
		free(a->at[1]);
		for (int c = 0; c < GC_N; c++) {
			free(a->enc[c].off);
			free(a->enc[c].data);
		}
	}
}
