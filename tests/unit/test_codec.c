/*
 * test_codec.c - the codec layer: name and static payload type tables,
 * G.711 against the G.711 definition for all 256 codes, round trips through
 * the libraries' own encoders (a 1 kHz + 300 Hz mix, one second, compared
 * after the best alignment), concealment, comfort noise, refused payloads
 * and random garbage that must neither crash nor break a decoder
 * (test_codec_formats.c has the payload formats of the codecs added later).
 */
#include "check.h"
#include "codec/codec_internal.h"

#include <math.h>
#include <stdlib.h>

#include <bcg729/encoder.h>
#include <gsm.h>
#include <opus/opus.h>
#include <spandsp.h>
#include <speex/speex.h>

#include "codec_signal.h"

static void test_lookup(void)
{
	struct codec_info ci;

	CHECK_INT(codec_lookup("pcmu", 0, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_PCMU);
	CHECK_STR(ci.name, "PCMU");
	CHECK_INT(ci.clock, 8000);
	CHECK_INT(ci.rate, 8000);
	CHECK_INT(ci.channels, 1);
	CHECK(ci.audio && !ci.wideband);
	CHECK_INT(codec_lookup("PCMA", 8000, 1, &ci), 0);
	CHECK_INT(ci.id, CODEC_PCMA);
	CHECK_INT(codec_lookup("PCMU", 16000, 0, &ci), ES_ENOTFOUND);
	CHECK_INT(codec_lookup("PCMU", 8000, 2, &ci), ES_ENOTFOUND);

	CHECK_INT(codec_lookup("g722", 8000, 1, &ci), 0);
	CHECK_INT(ci.id, CODEC_G722);
	CHECK_INT(ci.clock, 8000);
	CHECK_INT(ci.rate, 16000);
	CHECK(ci.wideband);

	static const struct {
		const char *name;
		enum codec_id id;
	} g726[] = {
		{"G726-16", CODEC_G726_16},         {"g726-24", CODEC_G726_24},
		{"G726-32", CODEC_G726_32},         {"G726-40", CODEC_G726_40},
		{"AAL2-G726-16", CODEC_AAL2_G726_16}, {"aal2-g726-24", CODEC_AAL2_G726_24},
		{"AAL2-G726-32", CODEC_AAL2_G726_32}, {"AAL2-G726-40", CODEC_AAL2_G726_40},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(g726); i++) {
		CHECK_INT(codec_lookup(g726[i].name, 0, 0, &ci), 0);
		CHECK_INT(ci.id, g726[i].id);
		CHECK(strcasecmp(codec_name(ci.id), g726[i].name) == 0);
	}
	CHECK_INT(codec_lookup("G726", 0, 0, &ci), ES_ENOTFOUND);

	CHECK_INT(codec_lookup("G729", 8000, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_G729);
	CHECK_INT(codec_lookup("G729a", 8000, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_G729);
	CHECK_STR(ci.name, "G729");
	CHECK_INT(codec_lookup("G729A", 0, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_G729);
	CHECK_INT(codec_lookup("gsm", 8000, 1, &ci), 0);
	CHECK_INT(ci.id, CODEC_GSM);

	CHECK_INT(codec_lookup("OPUS", 48000, 2, &ci), 0);
	CHECK_INT(ci.id, CODEC_OPUS);
	CHECK_STR(ci.name, "opus");
	CHECK_INT(ci.clock, 48000);
	CHECK_INT(ci.channels, 2);
	CHECK_INT(codec_lookup("opus", 0, 0, &ci), 0);
	CHECK_INT(ci.clock, 48000);
	CHECK_INT(codec_lookup("opus", 8000, 2, &ci), ES_ENOTFOUND);

	CHECK_INT(codec_lookup("L16", 16000, 2, &ci), 0);
	CHECK_INT(ci.id, CODEC_L16);
	CHECK_INT(ci.clock, 16000);
	CHECK_INT(ci.rate, 16000);
	CHECK_INT(ci.channels, 2);
	CHECK(ci.wideband);
	CHECK_INT(codec_lookup("l16", 0, 0, &ci), 0);
	CHECK_INT(ci.clock, 8000);
	CHECK_INT(ci.channels, 1);
	CHECK_INT(codec_lookup("L16", 8000, 3, &ci), ES_ENOTFOUND);

	CHECK_INT(codec_lookup("CN", 0, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_CN);
	CHECK(ci.audio);
	CHECK_INT(codec_lookup("telephone-event", 8000, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_TELEPHONE_EVENT);
	CHECK(!ci.audio);
	CHECK_INT(codec_lookup("TELEPHONE-EVENT", 48000, 0, &ci), 0);
	CHECK_INT(ci.clock, 48000);

	CHECK_INT(codec_lookup("AMR", 8000, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_AMR);
	CHECK_INT(codec_lookup("AMR-WB", 16000, 0, &ci), 0);
	CHECK(ci.id == CODEC_AMR_WB && ci.rate == 16000 && ci.wideband);
	CHECK_INT(codec_lookup("AMR-WB", 8000, 0, &ci), ES_ENOTFOUND);
	CHECK_INT(codec_lookup("ilbc", 8000, 0, &ci), 0);
	CHECK_STR(ci.name, "iLBC");
	CHECK_INT(codec_lookup("speex", 32000, 0, &ci), 0);
	CHECK(ci.id == CODEC_SPEEX && ci.rate == 32000);
	CHECK_INT(codec_lookup("G7231", 8000, 0, &ci), 0);
	CHECK_INT(ci.id, CODEC_G723);
	CHECK_INT(codec_lookup("LPC", 8000, 0, &ci), ES_ENOTFOUND);
	CHECK(!codec_decodable("LPC", 8000, 1));
	CHECK(!codec_decodable("X-VENDOR", 8000, 1));
	CHECK(!codec_decodable("speex", 11025, 1));
	CHECK(codec_decodable("speex", 16000, 1));
	CHECK(codec_decodable("telephone-event", 8000, 1));
	CHECK(!codec_decodable("DVI4", 8000, 0) && codec_decodable("CN", 8000, 0));
	CHECK_INT(codec_lookup("", 8000, 0, &ci), ES_ENOTFOUND);
	CHECK_INT(codec_lookup("PCMUX", 8000, 0, &ci), ES_ENOTFOUND);
	CHECK_INT(codec_lookup(NULL, 8000, 0, &ci), ES_EINVAL);
	CHECK_STR(codec_name(CODEC_UNKNOWN), "unknown");
	CHECK_STR(codec_name(CODEC_TELEPHONE_EVENT), "telephone-event");
}

static void test_static(void)
{
	static const struct {
		uint8_t pt;
		enum codec_id id;
		uint32_t clock;
		unsigned ch;
	} want[] = {
		{0, CODEC_PCMU, 8000, 1}, {3, CODEC_GSM, 8000, 1},     {8, CODEC_PCMA, 8000, 1},
		{9, CODEC_G722, 8000, 1}, {10, CODEC_L16, 44100, 2},   {11, CODEC_L16, 44100, 1},
		{13, CODEC_CN, 8000, 1},  {18, CODEC_G729, 8000, 1},   {4, CODEC_G723, 8000, 1},
	};
	struct codec_info ci;
	for (size_t i = 0; i < ES_ARRAY_LEN(want); i++) {
		CHECK_INT(codec_static(want[i].pt, &ci), 0);
		CHECK_INT(ci.id, want[i].id);
		CHECK_INT(ci.clock, want[i].clock);
		CHECK_INT(ci.channels, want[i].ch);
	}
	CHECK_INT(codec_static(9, &ci), 0);
	CHECK_INT(ci.rate, 16000);
	static const uint8_t none[] = {1, 2, 5, 6, 7, 12, 14, 15, 19, 34, 96, 101, 127, 255};
	for (size_t i = 0; i < ES_ARRAY_LEN(none); i++)
		CHECK_INT(codec_static(none[i], &ci), ES_ENOTFOUND);
}

/* G.711 table 1a/2a: the decoder output value of every code, from the
 * segment endpoints, computed in floating point (14-bit µ-law and 13-bit
 * A-law scaled to 16 bits). */
static int ulaw_ref(unsigned code)
{
	unsigned u = ~code & 0xff;
	int seg = (u >> 4) & 7, step = u & 15;
	double start = 33.0 * (pow(2.0, seg) - 1.0); /* segment's lowest value */
	double mag = (start + step * pow(2.0, seg + 1)) * 4.0;
	return (u & 0x80) ? -(int)mag : (int)mag;
}

static int alaw_ref(unsigned code)
{
	unsigned a = code ^ 0x55;
	int seg = (a >> 4) & 7, step = a & 15;
	double mag = seg == 0 ? 2.0 * step + 1.0
			      : pow(2.0, seg + 4) + step * pow(2.0, seg) + pow(2.0, seg - 1);
	mag *= 8.0;
	return (a & 0x80) ? (int)mag : -(int)mag;
}

static void test_g711(void)
{
	struct codec_info cu, ca;
	struct codec_dec *du, *da;
	uint8_t all[256];
	int16_t out[CODEC_MAX_SAMPLES];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	CHECK_INT(codec_lookup("PCMU", 8000, 1, &cu), 0);
	CHECK_INT(codec_lookup("PCMA", 8000, 1, &ca), 0);
	CHECK_INT(codec_dec_new(&du, &cu, 0), 0);
	CHECK_INT(codec_dec_new(&da, &ca, 8000), 0);
	CHECK_INT(codec_dec_rate(du), 8000);

	CHECK_INT(codec_decode(du, all, 256, out, CODEC_MAX_SAMPLES), 256);
	int bad = 0;
	for (int i = 0; i < 256; i++)
		bad += out[i] != ulaw_ref((unsigned)i) || out[i] != ulaw_to_linear((uint8_t)i);
	CHECK_INT(bad, 0);
	CHECK_INT(out[0xff], 0);
	CHECK_INT(out[0x7f], 0);
	CHECK_INT(out[0x00], -32124);
	CHECK_INT(out[0x80], 32124);

	/* a fresh decoder: spandsp's PLC smooths the first samples after a
	 * concealment, not after plain decoding, so this is exact too */
	CHECK_INT(codec_decode(da, all, 256, out, CODEC_MAX_SAMPLES), 256);
	bad = 0;
	for (int i = 0; i < 256; i++)
		bad += out[i] != alaw_ref((unsigned)i) || out[i] != alaw_to_linear((uint8_t)i);
	CHECK_INT(bad, 0);
	CHECK_INT(out[0xd5], 8);
	CHECK_INT(out[0x55], -8);
	CHECK_INT(out[0xaa], 32256);
	CHECK_INT(out[0x2a], -32256);

	CHECK_INT(codec_decode(du, all, 0, out, CODEC_MAX_SAMPLES), 0);
	CHECK_INT(codec_decode(du, all, 256, out, 100), ES_ELIMIT);
	CHECK_INT(codec_decode(du, NULL, 5, out, 100), ES_EINVAL);
	codec_dec_free(du);
	codec_dec_free(da);
}

static void test_ticks(void)
{
	struct codec_info ci;
	uint8_t p[400] = {0};

	CHECK_INT(codec_lookup("PCMU", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 160), 160);
	CHECK_INT(codec_lookup("G722", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 160), 160);
	CHECK_INT(codec_lookup("G726-32", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 80), 160);
	CHECK_INT(codec_lookup("G726-24", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 60), 160);
	CHECK_INT(codec_lookup("AAL2-G726-40", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 100), 160);
	CHECK_INT(codec_lookup("G726-16", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 40), 160);
	CHECK_INT(codec_lookup("G729", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 20), 160);
	CHECK_INT(codec_payload_ticks(&ci, p, 22), 160);
	CHECK_INT(codec_payload_ticks(&ci, p, 2), 0);
	CHECK_INT(codec_lookup("GSM", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 33), 160);
	CHECK_INT(codec_payload_ticks(&ci, p, 66), 320);
	CHECK_INT(codec_lookup("L16", 44100, 2, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 400), 100);
	CHECK_INT(codec_lookup("L16", 16000, 1, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 400), 200);
	CHECK_INT(codec_lookup("CN", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 1), 0);
	CHECK_INT(codec_lookup("telephone-event", 0, 0, &ci), 0);
	CHECK_INT(codec_payload_ticks(&ci, p, 4), 0);

	/* opus TOC: config 1 = SILK NB 20 ms, code 0 = one frame; config 16 =
	 * CELT NB 2.5 ms; code 3 with a frame count byte of 3 */
	CHECK_INT(codec_lookup("opus", 48000, 2, &ci), 0);
	uint8_t toc = 1 << 3;
	CHECK_INT(codec_payload_ticks(&ci, &toc, 1), 960);
	toc = 16 << 3;
	CHECK_INT(codec_payload_ticks(&ci, &toc, 1), 120);
	uint8_t c3[] = {(1 << 3) | 3, 3, 0, 0, 0};
	CHECK_INT(codec_payload_ticks(&ci, c3, sizeof(c3)), 2880);
	CHECK_INT(codec_payload_ticks(&ci, p, 0), 0);
}

/* ---- round trips through the libraries' encoders ---------------------- */


/* in_ch 2: left has the 1 kHz part doubled, right the 300 Hz part doubled,
 * so that their average is tone(). */

struct rt_case {
	const char *label;
	const char *name;
	uint32_t clock;
	unsigned channels;
	uint32_t out_rate; /* decoder output, 0 = natural */
	uint32_t in_rate;  /* encoder input */
	unsigned in_ch;
	size_t frame;      /* input samples per channel in one payload */
};

struct enc {
	const struct rt_case *c;
	g722_encode_state_t *g722;
	g726_state_t *g726;
	bcg729EncoderChannelContextStruct *g729;
	gsm gsm;
	OpusEncoder *opus;
	int lookahead; /* opus, at 48 kHz */
};

static int enc_open(struct enc *e, const struct rt_case *c, const struct codec_info *ci)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	int err = 0;
	switch (ci->id) {
	case CODEC_G722:
		e->g722 = g722_encode_init(NULL, 64000, 0);
		return e->g722 ? 0 : -1;
	case CODEC_G729:
		e->g729 = initBcg729EncoderChannel(0);
		return e->g729 ? 0 : -1;
	case CODEC_GSM:
		e->gsm = gsm_create();
		return e->gsm ? 0 : -1;
	case CODEC_OPUS:
		e->opus = opus_encoder_create((opus_int32)c->in_rate, (int)c->in_ch,
					      OPUS_APPLICATION_AUDIO, &err);
		if (!e->opus)
			return -1;
		opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(64000));
		opus_encoder_ctl(e->opus, OPUS_GET_LOOKAHEAD(&e->lookahead));
		return 0;
	default:
		break;
	}
	if (ci->id >= CODEC_G726_16 && ci->id <= CODEC_AAL2_G726_40) {
		int bits = 2 + (int)((ci->id - CODEC_G726_16) % 4);
		int packing = ci->id >= CODEC_AAL2_G726_16 ? G726_PACKING_LEFT : G726_PACKING_RIGHT;
		e->g726 = g726_init(NULL, bits * 8000, G726_ENCODING_LINEAR, packing);
		return e->g726 ? 0 : -1;
	}
	return 0;
}

static void enc_close(struct enc *e)
{
	if (e->g722)
		g722_encode_free(e->g722);
	if (e->g726)
		g726_free(e->g726);
	if (e->g729)
		closeBcg729EncoderChannel(e->g729);
	if (e->gsm)
		gsm_destroy(e->gsm);
	if (e->opus)
		opus_encoder_destroy(e->opus);
}

/* Encode one payload from e->c->frame samples (interleaved); its length. */
static size_t enc_frame(struct enc *e, enum codec_id id, const int16_t *in, uint8_t *out)
{
	size_t n = e->c->frame;
	switch (id) {
	case CODEC_PCMU:
		for (size_t i = 0; i < n; i++)
			out[i] = linear_to_ulaw(in[i]);
		return n;
	case CODEC_PCMA:
		for (size_t i = 0; i < n; i++)
			out[i] = linear_to_alaw(in[i]);
		return n;
	case CODEC_G722:
		return (size_t)g722_encode(e->g722, out, in, (int)n);
	case CODEC_G729: {
		size_t len = 0;
		for (size_t f = 0; f + 80 <= n; f += 80) {
			uint8_t bl = 0;
			bcg729Encoder(e->g729, in + f, out + len, &bl);
			len += bl;
		}
		return len;
	}
	case CODEC_GSM: {
		gsm_signal sig[160];
		memcpy(sig, in, sizeof(sig));
		gsm_encode(e->gsm, sig, out);
		return 33;
	}
	case CODEC_OPUS: {
		int r = opus_encode(e->opus, in, (int)n, out, 1500);
		return r > 0 ? (size_t)r : 0;
	}
	case CODEC_L16:
		for (size_t i = 0; i < n * e->c->in_ch; i++) {
			out[2 * i] = (uint8_t)((uint16_t)in[i] >> 8);
			out[2 * i + 1] = (uint8_t)in[i];
		}
		return n * 2 * e->c->in_ch;
	default:
		return (size_t)g726_encode(e->g726, out, in, (int)n);
	}
}

/* Correlation of ref and got after the best delay of got in 0..maxlag, and
 * the SNR of ref against got scaled by the best gain. */

static const struct rt_case rt_cases[] = {
	{"PCMU", "PCMU", 8000, 1, 0, 8000, 1, 160},
	{"PCMA", "PCMA", 8000, 1, 0, 8000, 1, 160},
	{"G722", "G722", 8000, 1, 0, 16000, 1, 320},
	{"G726-16", "G726-16", 8000, 1, 0, 8000, 1, 160},
	{"G726-24", "G726-24", 8000, 1, 0, 8000, 1, 160},
	{"G726-32", "G726-32", 8000, 1, 0, 8000, 1, 160},
	{"G726-40", "G726-40", 8000, 1, 0, 8000, 1, 160},
	{"AAL2-G726-16", "AAL2-G726-16", 8000, 1, 0, 8000, 1, 160},
	{"AAL2-G726-24", "AAL2-G726-24", 8000, 1, 0, 8000, 1, 160},
	{"AAL2-G726-32", "AAL2-G726-32", 8000, 1, 0, 8000, 1, 160},
	{"AAL2-G726-40", "AAL2-G726-40", 8000, 1, 0, 8000, 1, 160},
	{"G729", "G729", 8000, 1, 0, 8000, 1, 160},
	{"GSM", "GSM", 8000, 1, 0, 8000, 1, 160},
	{"opus mono->8k", "opus", 48000, 1, 8000, 48000, 1, 960},
	{"opus mono->16k", "opus", 48000, 1, 16000, 48000, 1, 960},
	{"opus stereo->8k", "opus", 48000, 2, 8000, 48000, 2, 960},
	{"opus stereo->16k", "opus", 48000, 2, 16000, 48000, 2, 960},
	{"opus stereo->48k", "opus", 48000, 2, 0, 48000, 2, 960},
	{"L16/16000 mono", "L16", 16000, 1, 0, 16000, 1, 320},
	{"L16/16000 stereo", "L16", 16000, 2, 0, 16000, 2, 320},
};

/* Encode one second of the tone per case, decode it payload by payload,
 * check the correlation; then conceal and check the concealment. */
static void round_trip(const struct rt_case *c)
{
	struct codec_info ci;
	struct codec_dec *d = NULL;
	struct enc e;
	CHECK_INT(codec_lookup(c->name, c->clock, c->channels, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, c->out_rate), 0);
	CHECK_INT(enc_open(&e, c, &ci), 0);
	if (!d || (ci.id != CODEC_PCMU && ci.id != CODEC_PCMA && ci.id != CODEC_L16 &&
		   !e.g722 && !e.g726 && !e.g729 && !e.gsm && !e.opus)) {
		codec_dec_free(d);
		enc_close(&e);
		return;
	}
	uint32_t rate = codec_dec_rate(d);
	size_t n_in = c->in_rate, n_out = rate;
	int16_t *in = calloc(n_in * c->in_ch, sizeof(*in));
	int16_t *ref = calloc(n_out, sizeof(*ref));
	int16_t *got = calloc(n_out + CODEC_MAX_SAMPLES, sizeof(*got));
	uint8_t pl[4000];
	gen(in, c->in_rate, c->in_ch, n_in);
	gen(ref, rate, 1, n_out);

	size_t have = 0;
	int refused = 0;
	for (size_t off = 0; off + c->frame <= n_in; off += c->frame) {
		size_t len = enc_frame(&e, ci.id, in + off * c->in_ch, pl);
		CHECK_INT(codec_payload_ticks(&ci, pl, len),
			  (uint64_t)c->frame * ci.clock / c->in_rate);
		int r = codec_decode(d, pl, len, got + have, CODEC_MAX_SAMPLES);
		if (r < 0)
			refused++;
		else
			have += (size_t)r;
	}
	CHECK_INT(refused, 0);
	CHECK_INT(have, n_out);

	/* opus delays by its lookahead (6.5 ms): widen the search for it */
	size_t maxlag = 100 + (size_t)e.lookahead * rate / 48000;
	size_t lag;
	double snr, corr = best_corr(ref, got, ES_MIN(have, n_out), maxlag, &lag, &snr);
	fprintf(stderr, "     %-18s rate %5u  corr %.4f  snr %5.1f dB  lag %zu\n", c->label,
		rate, corr, snr, lag);
	CHECK(corr >= 0.9);

	/* Concealment: n samples, the first 10 ms near the signal's level (not
	 * garbage: bounded, not silent), silence after 60 ms. */
	size_t ms = rate / 1000;
	double rms_ref = 0;
	for (size_t i = 0; i < 20 * ms; i++)
		rms_ref += (double)got[have - 1 - i] * got[have - 1 - i];
	rms_ref = sqrt(rms_ref / (20.0 * ms));
	int16_t plc[100 * 48];
	size_t done = 0;
	while (done < 100 * ms) { /* odd-sized pieces on purpose */
		size_t k = ES_MIN((size_t)7 * ms + 3, 100 * ms - done);
		CHECK_INT(codec_conceal(d, plc + done, k), k);
		done += k;
	}
	double rms = 0;
	for (size_t i = 0; i < 10 * ms; i++)
		rms += (double)plc[i] * plc[i];
	rms = sqrt(rms / (10.0 * ms));
	int nonzero = 0;
	for (size_t i = 61 * ms; i < 100 * ms; i++)
		nonzero += plc[i] != 0;
	fprintf(stderr, "     %-18s plc rms %.0f of %.0f\n", c->label, rms, rms_ref);
	CHECK(rms > 0.1 * rms_ref && rms < 2.0 * rms_ref);
	CHECK_INT(nonzero, 0);

	/* and it decodes again after the loss */
	size_t len = enc_frame(&e, ci.id, in, pl);
	CHECK(codec_decode(d, pl, len, got, CODEC_MAX_SAMPLES) > 0);

	free(in);
	free(ref);
	free(got);
	enc_close(&e);
	codec_dec_free(d);
}

static void test_round_trip(void)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(rt_cases); i++)
		round_trip(&rt_cases[i]);
}

static double rms_of(const int16_t *s, size_t n)
{
	double a = 0;
	for (size_t i = 0; i < n; i++)
		a += (double)s[i] * s[i];
	return n ? sqrt(a / (double)n) : 0.0;
}

static void test_comfort_noise(void)
{
	struct codec_info ci;
	struct codec_dec *d;
	int16_t out[CODEC_MAX_SAMPLES];

	/* A CN decoder: silence before any CN, then noise at the level:
	 * 40 -dBov = RMS 327.67 */
	CHECK_INT(codec_lookup("CN", 8000, 1, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
	CHECK_INT(codec_conceal(d, out, 160), 160);
	CHECK(rms_of(out, 160) == 0.0);
	uint8_t cn[] = {40, 0x11, 0x22};
	CHECK_INT(codec_decode(d, cn, sizeof(cn), out, CODEC_MAX_SAMPLES), 0);
	CHECK_INT(codec_decode(d, cn, 0, out, CODEC_MAX_SAMPLES), ES_ETRUNC);
	CHECK_INT(codec_conceal(d, out, 4000), 4000);
	double r = rms_of(out, 4000);
	fprintf(stderr, "     CN level 40: rms %.1f (want 327.7)\n", r);
	CHECK(r > 300 && r < 355);
	cn[0] = 127;
	CHECK_INT(codec_decode(d, cn, 1, out, CODEC_MAX_SAMPLES), 0);
	CHECK_INT(codec_conceal(d, out, 160), 160);
	CHECK(rms_of(out, 160) < 1.0);
	codec_dec_free(d);

	/* CN fed to a PCMU decoder: noise in its gaps, beyond 60 ms, until
	 * audio resumes */
	CHECK_INT(codec_lookup("PCMU", 8000, 1, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
	uint8_t pl[160];
	memset(pl, 0xff, sizeof(pl));
	CHECK_INT(codec_decode(d, pl, 160, out, CODEC_MAX_SAMPLES), 160);
	cn[0] = 30;
	CHECK_INT(codec_comfort_noise(d, cn, 1), 0);
	CHECK_INT(codec_comfort_noise(d, cn, 0), ES_ETRUNC);
	CHECK_INT(codec_conceal(d, out, 1600), 1600);
	CHECK(rms_of(out + 1200, 400) > 500);
	CHECK_INT(codec_decode(d, pl, 160, out, CODEC_MAX_SAMPLES), 160);
	CHECK_INT(codec_conceal(d, out, 1600), 1600);
	CHECK(rms_of(out + 1200, 400) == 0.0);
	codec_dec_free(d);

	/* G.729 annex B: bcg729's VAD makes SID frames out of quiet noise;
	 * a SID payload decodes to 0 samples and the gaps are filled. */
	bcg729EncoderChannelContextStruct *enc = initBcg729EncoderChannel(1);
	CHECK_INT(codec_lookup("G729", 8000, 1, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
	uint32_t seed = 7;
	int sids = 0, voice = 0;
	int16_t frame[80];
	for (int f = 0; f < 300; f++) {
		for (int i = 0; i < 80; i++) {
			seed = seed * 1103515245u + 12345u;
			double s = f < 50 ? tone((f * 80 + i) / 8000.0) : 0.0;
			frame[i] = (int16_t)(s + (double)((seed >> 16) % 61) - 30.0);
		}
		uint8_t bits[10], bl = 0;
		bcg729Encoder(enc, frame, bits, &bl);
		if (bl == 2) {
			sids++;
			CHECK_INT(codec_decode(d, bits, 2, out, CODEC_MAX_SAMPLES), 0);
		} else if (bl == 10) {
			voice++;
			CHECK_INT(codec_decode(d, bits, 10, out, CODEC_MAX_SAMPLES), 80);
		} else {
			CHECK_INT(codec_conceal(d, out, 80), 80);
		}
	}
	fprintf(stderr, "     G729B: %d voice, %d SID frames\n", voice, sids);
	CHECK(sids > 0 && voice > 0);
	if (sids) { /* noise goes on well beyond 60 ms */
		CHECK_INT(codec_conceal(d, out, 2000), 2000);
		CHECK(rms_of(out + 1000, 1000) < 2000.0);
	}
	closeBcg729EncoderChannel(enc);
	codec_dec_free(d);
}

static void test_refused(void)
{
	struct codec_info ci;
	struct codec_dec *d;
	int16_t out[CODEC_MAX_SAMPLES];
	uint8_t p[2000] = {0};

	CHECK_INT(codec_lookup("telephone-event", 8000, 0, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 0), ES_EINVAL);
	CHECK_INT(codec_lookup("PCMU", 8000, 0, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 16000), ES_EINVAL);
	CHECK_INT(codec_lookup("G722", 8000, 0, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 8000), ES_EINVAL);
	CHECK_INT(codec_dec_new(&d, &ci, 16000), 0);
	CHECK_INT(codec_dec_rate(d), 16000);
	CHECK_INT(codec_decode(d, p, 2000, out, CODEC_MAX_SAMPLES), 4000);
	CHECK_INT(codec_decode(d, p, 2000, out, 3999), ES_ELIMIT);
	codec_dec_free(d);
	CHECK_INT(codec_lookup("opus", 48000, 2, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 44100), ES_EINVAL);
	CHECK_INT(codec_dec_new(&d, &ci, 24000), 0);
	CHECK_INT(codec_dec_rate(d), 24000);
	CHECK_INT(codec_decode(d, p, 0, out, CODEC_MAX_SAMPLES), 0);
	uint8_t bad_opus[] = {0xff, 0xff}; /* code 3 with 63 frames of 20 ms */
	CHECK(codec_decode(d, bad_opus, sizeof(bad_opus), out, CODEC_MAX_SAMPLES) < 0);
	codec_dec_free(d);
	codec_dec_free(NULL);

	struct {
		const char *name;
		uint32_t clock;
		unsigned ch;
		size_t len;
		int want;
	} cases[] = {
		{"L16", 8000, 1, 3, ES_ETRUNC},     {"L16", 8000, 2, 6, ES_ETRUNC},
		{"L16", 8000, 2, 8, 2},             {"G729", 8000, 1, 11, ES_ETRUNC},
		{"G729", 8000, 1, 1, ES_ETRUNC},    {"G729", 8000, 1, 12, 80},
		{"G729", 8000, 1, 2, 0},            {"GSM", 8000, 1, 32, ES_ETRUNC},
		{"GSM", 8000, 1, 33, ES_EPARSE},    {"G726-24", 8000, 1, 4, ES_ETRUNC},
		{"G726-24", 8000, 1, 6, 16},        {"G726-40", 8000, 1, 5, 8},
		{"AAL2-G726-40", 8000, 1, 7, ES_ETRUNC}, {"CN", 8000, 1, 0, ES_ETRUNC},
		{"PCMU", 8000, 1, 2000, 2000},      {"G726-16", 8000, 1, 1500, ES_ELIMIT},
		{"G729", 8000, 1, 0, 0},            {"GSM", 8000, 1, 0, 0},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		CHECK_INT(codec_lookup(cases[i].name, cases[i].clock, cases[i].ch, &ci), 0);
		CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
		int r = codec_decode(d, p, cases[i].len, out, CODEC_MAX_SAMPLES);
		if (r != cases[i].want)
			fprintf(stderr, "     %s len %zu: %d\n", cases[i].name, cases[i].len, r);
		CHECK_INT(r, cases[i].want);
		codec_dec_free(d);
	}
}

/* Random payloads of random lengths: no crash (the ASan build checks the
 * reads), results within cap, and a good payload still decodes after. */
static void test_garbage(void)
{
	static const struct {
		const char *name;
		uint32_t clock;
		unsigned ch;
		uint32_t out_rate;
	} all[] = {
		{"PCMU", 0, 0, 0},      {"PCMA", 0, 0, 0},         {"G722", 0, 0, 0},
		{"G726-16", 0, 0, 0},   {"G726-24", 0, 0, 0},      {"G726-32", 0, 0, 0},
		{"G726-40", 0, 0, 0},   {"AAL2-G726-24", 0, 0, 0}, {"AAL2-G726-40", 0, 0, 0},
		{"G729", 0, 0, 0},      {"GSM", 0, 0, 0},          {"opus", 0, 1, 8000},
		{"opus", 0, 2, 16000},  {"opus", 0, 2, 48000},     {"L16", 16000, 1, 0},
		{"L16", 44100, 2, 0},   {"CN", 0, 0, 0},           {"speex", 8000, 0, 0},
		{"speex", 16000, 0, 0}, {"speex", 32000, 0, 0},    {"iLBC", 0, 0, 0},
		{"AMR", 0, 0, 0},       {"AMR-WB", 0, 0, 0},       {"G723", 0, 0, 0},
	};
	uint32_t seed = 12345;
	uint8_t p[2000];
	int16_t out[CODEC_MAX_SAMPLES];

	/* one 20 ms opus packet made by the encoder, for "still usable" */
	int err;
	OpusEncoder *oe = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	int16_t pcm[960];
	gen(pcm, 48000, 1, 960);
	uint8_t good_opus[1500];
	int good_opus_len = oe ? opus_encode(oe, pcm, 960, good_opus, sizeof(good_opus)) : -1;
	CHECK(good_opus_len > 0);
	if (oe)
		opus_encoder_destroy(oe);

	for (size_t c = 0; c < ES_ARRAY_LEN(all); c++) {
		struct codec_info ci;
		struct codec_dec *d;
		CHECK_INT(codec_lookup(all[c].name, all[c].clock, all[c].ch, &ci), 0);
		if (codec_dec_new(&d, &ci, all[c].out_rate) != 0) {
			CHECK(0);
			continue;
		}
		int ok = 0, bad = 0;
		for (int it = 0; it < 400; it++) {
			seed = seed * 1664525u + 1013904223u;
			size_t len = (seed >> 8) % 2001;
			if (it % 4 == 0) /* lengths near the codecs' frame sizes */
				len %= 70;
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1664525u + 1013904223u;
				p[i] = (uint8_t)(seed >> 24);
			}
			if (it % 8 == 1 && len > 0) /* a GSM signature now and then */
				p[0] = (uint8_t)(0xd0 | (p[0] & 15));
			int16_t *o = malloc(CODEC_MAX_SAMPLES * sizeof(*o));
			int r = codec_decode(d, p, len, o, CODEC_MAX_SAMPLES);
			free(o);
			if (r >= 0) {
				ok++;
				CHECK(r <= CODEC_MAX_SAMPLES);
			} else {
				bad++;
			}
			size_t k = (seed >> 4) % 1000;
			CHECK_INT(codec_conceal(d, out, k), k);
		}
		/* still usable */
		int r;
		if (ci.id == CODEC_OPUS)
			r = codec_decode(d, good_opus, (size_t)good_opus_len, out, CODEC_MAX_SAMPLES);
		else if (ci.id == CODEC_CN)
			r = codec_decode(d, p, 1, out, CODEC_MAX_SAMPLES) == 0 ? 1 : -1;
		else if (ci.id == CODEC_GSM) {
			gsm g = gsm_create();
			gsm_signal s[160];
			gen(s, 8000, 1, 160);
			gsm_encode(g, s, p);
			gsm_destroy(g);
			r = codec_decode(d, p, 33, out, CODEC_MAX_SAMPLES);
		} else if (ci.id == CODEC_SPEEX) {
			void *e = speex_encoder_init(ci.clock == 8000 ? &speex_nb_mode
						     : ci.clock == 16000 ? &speex_wb_mode
									 : &speex_uwb_mode);
			SpeexBits b;
			speex_bits_init(&b);
			int16_t s[640];
			gen(s, ci.clock, 1, 640);
			speex_encode_int(e, s, &b);
			int n = speex_bits_write(&b, (char *)p, (int)sizeof(p));
			speex_bits_destroy(&b);
			speex_encoder_destroy(e);
			r = codec_decode(d, p, (size_t)n, out, CODEC_MAX_SAMPLES);
		} else if (ci.id == CODEC_AMR || ci.id == CODEC_AMR_WB) {
			/* NO_DATA, in whichever packing the garbage fixed */
			static const uint8_t oa[] = {0xf0, 15 << 3 | 4}, be[] = {0xf7, 0xc0};
			r = codec_decode(d, oa, 2, out, CODEC_MAX_SAMPLES);
			if (r <= 0)
				r = codec_decode(d, be, 2, out, CODEC_MAX_SAMPLES);
		} else if (ci.id == CODEC_ILBC) {
			memset(p, 0x55, 150);
			r = codec_decode(d, p, 150, out, CODEC_MAX_SAMPLES);
		} else {
			/* 120 bytes: whole frames and samples for every codec */
			memset(p, 0x55, 120);
			r = codec_decode(d, p, 120, out, CODEC_MAX_SAMPLES);
		}
		CHECK(r > 0);
		fprintf(stderr, "     garbage %-13s ch %u: %d decoded, %d refused\n", all[c].name,
			ci.channels, ok, bad);
		codec_dec_free(d);
	}
}

int main(void)
{
	RUN(test_lookup);
	RUN(test_static);
	RUN(test_g711);
	RUN(test_ticks);
	RUN(test_round_trip);
	RUN(test_comfort_noise);
	RUN(test_refused);
	RUN(test_garbage);
	return CHECK_DONE();
}
