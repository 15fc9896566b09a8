/*
 * test_codec_formats.c - the RTP payload formats of the codecs added for
 * #14, through their real encoders where Debian has one: AMR and AMR-WB
 * (RFC 4867, octet-aligned and bandwidth-efficient, opencore-amrnb and
 * vo-amrwbenc), iLBC frame sizes (RFC 3952: 20 ms in 38 bytes, 30 ms in 50;
 * Debian has no iLBC encoder), Speex (RFC 5574, several frames a packet,
 * libspeex) and G.723.1 frame lengths; whole, truncated and malformed
 * payloads, which must be refused without a crash.
 */
#include "check.h"
#include "codec/codec_internal.h"
#include "codec_signal.h"

#include <opencore-amrnb/interf_enc.h>
#include <speex/speex.h>
#include <stdlib.h>
#include <string.h>
#include <vo-amrwbenc/enc_if.h>

/* Bits n..n+k of a storage-format frame (after its header byte). */
static unsigned sbit(const uint8_t *s, size_t i)
{
	return s[1 + i / 8] >> (7 - i % 8) & 1u;
}

/* Pack storage-format frames (header + bits) as one RFC 4867 payload. */
static size_t amr_pack(bool wb, bool octet, uint8_t *const *fr, size_t n, uint8_t *out)
{
	size_t pos = 0;
	memset(out, 0, 400);
#define PUT(v, k) do { for (int b_ = (k) - 1; b_ >= 0; b_--, pos++) \
	if (((v) >> b_) & 1u) out[pos / 8] |= (uint8_t)(0x80 >> (pos % 8)); } while (0)
	PUT(15u, 4); /* CMR: no request */
	if (octet)
		pos += 4;
	for (size_t k = 0; k < n; k++) {
		unsigned ft = fr[k][0] >> 3 & 15, q = fr[k][0] >> 2 & 1;
		PUT(k + 1 < n ? 1u : 0u, 1);
		PUT(ft, 4);
		PUT(q, 1);
		if (octet)
			pos += 2;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned ft = fr[k][0] >> 3 & 15, bits = codec_amr_frame_bits(wb, ft);
		for (unsigned i = 0; i < bits; i++)
			PUT(sbit(fr[k], i), 1);
		if (octet)
			pos = (pos + 7) / 8 * 8;
	}
#undef PUT
	return (pos + 7) / 8;
}

/* Encode 3 frames of the test tone with the real AMR encoders, pack them
 * both ways, unpack and decode: the same frames, the same audio. */
static void amr_case(bool wb)
{
	unsigned per = wb ? 320 : 160, rate = wb ? 16000 : 8000;
	int16_t in[3 * 320];
	gen(in, rate, 1, 3 * per);
	uint8_t enc[3][64], *fr[3] = {enc[0], enc[1], enc[2]};
	void *st = wb ? E_IF_init() : Encoder_Interface_init(0);
	CHECK(st != NULL);
	for (int k = 0; k < 3; k++) {
		int n = wb ? E_IF_encode(st, 8, in + k * per, enc[k], 0)
			   : Encoder_Interface_Encode(st, MR122, in + k * per, enc[k], 0);
		CHECK(n > 1);
	}
	if (wb)
		E_IF_exit(st);
	else
		Encoder_Interface_exit(st);

	struct codec_info ci;
	CHECK_INT(codec_lookup(wb ? "AMR-WB" : "AMR", 0, 0, &ci), 0);
	int16_t out[2][CODEC_MAX_SAMPLES];
	uint8_t pl[400];
	for (int octet = 0; octet < 2; octet++) {
		size_t len = amr_pack(wb, octet, fr, 3, pl);
		struct codec_amr_frame f[8];
		size_t n = 0;
		bool oa = !octet;
		CHECK_INT(codec_amr_unpack(wb, pl, len, f, 8, &n, &oa), 0);
		CHECK_INT(n, 3);
		CHECK_INT(oa, octet);
		for (size_t k = 0; k < n; k++) {
			uint8_t s[64];
			size_t sl = codec_amr_storage(wb, pl, &f[k], s);
			CHECK_INT(sl, 1 + (codec_amr_frame_bits(wb, f[k].ft) + 7) / 8);
			CHECK(memcmp(s, enc[k], sl) == 0);
		}
		CHECK_INT(codec_payload_ticks(&ci, pl, len), 3 * per);
		struct codec_dec *d = NULL;
		CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
		CHECK_INT(codec_decode(d, pl, len, out[octet], CODEC_MAX_SAMPLES), 3 * per);
		/* truncated by one byte, and every shorter cut: refused, no crash
		 * (the stream's packing is known from its first payload) */
		for (size_t cut = 0; cut < len; cut++) {
			int r = codec_decode(d, pl, cut, out[octet] + 3 * per, CODEC_MAX_SAMPLES);
			CHECK(r < 0);
		}
		/* one byte too many */
		pl[len] = 0;
		CHECK(codec_decode(d, pl, len + 1, out[octet] + 3 * per, CODEC_MAX_SAMPLES) < 0);
		codec_dec_free(d);
	}
	CHECK(memcmp(out[0], out[1], 3 * per * sizeof(int16_t)) == 0);
	int nonzero = 0;
	for (unsigned i = per; i < 3 * per; i++)
		nonzero += out[0][i] != 0;
	CHECK(nonzero > (int)per);

	/* malformed: a reserved frame type, nonzero octet-aligned padding */
	struct codec_amr_frame f[8];
	size_t n;
	uint8_t bad_ft[] = {0xf0, 12 << 3 | 4};
	uint8_t bad_pad[40] = {0xf0, 7 << 3 | 4 | 1};
	CHECK(codec_amr_unpack(wb, bad_ft, sizeof(bad_ft), f, 8, &n, NULL) < 0);
	CHECK(codec_amr_unpack(wb, bad_pad, 2 + 31, f, 8, &n, NULL) < 0);
	/* a ToC that never ends (F set on every entry) */
	uint8_t endless[20];
	memset(endless, 0xff, sizeof(endless));
	CHECK(codec_amr_unpack(wb, endless, sizeof(endless), f, 8, &n, NULL) < 0);
	/* NO_DATA alone (octet-aligned): one frame, no bits */
	uint8_t nodata[] = {0xf0, 15 << 3 | 4};
	CHECK_INT(codec_amr_unpack(wb, nodata, 2, f, 8, &n, NULL), 0);
	CHECK_INT(n, 1);
}

static void test_amr(void)
{
	amr_case(false);
	amr_case(true);
}

static void test_ilbc(void)
{
	CHECK_INT(codec_ilbc_frame_len(38, 0), 38);
	CHECK_INT(codec_ilbc_frame_len(76, 50), 38);
	CHECK_INT(codec_ilbc_frame_len(50, 38), 50);
	CHECK_INT(codec_ilbc_frame_len(150, 38), 50);
	CHECK_INT(codec_ilbc_frame_len(1900, 38), 38);
	CHECK_INT(codec_ilbc_frame_len(1900, 50), 50);
	CHECK_INT(codec_ilbc_frame_len(37, 38), ES_EPARSE);
	CHECK_INT(codec_ilbc_frame_len(0, 38), ES_ETRUNC);
	struct codec_info ci;
	CHECK_INT(codec_lookup("iLBC", 8000, 1, &ci), 0);
	uint8_t p[100];
	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(i * 37 + 11);
	CHECK_INT(codec_payload_ticks(&ci, p, 38), 160);
	CHECK_INT(codec_payload_ticks(&ci, p, 100), 480);
	struct codec_dec *d = NULL;
	CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
	int16_t out[CODEC_MAX_SAMPLES];
	/* 20 ms, then 30 ms frames (the decoder reopens in the other mode),
	 * then back; any bits decode to some audio, sizes decide */
	int r20 = codec_decode(d, p, 38, out, CODEC_MAX_SAMPLES);
	int r30 = codec_decode(d, p, 100, out, CODEC_MAX_SAMPLES);
	CHECK(r20 == 160 || r20 == ES_EPARSE);
	CHECK(r30 == 480 || r30 == ES_EPARSE);
	CHECK(r20 == 160 || r30 == 480);
	CHECK_INT(codec_decode(d, p, 37, out, CODEC_MAX_SAMPLES), ES_EPARSE);
	CHECK_INT(codec_decode(d, p, 0, out, CODEC_MAX_SAMPLES), ES_ETRUNC);
	CHECK_INT(codec_decode(d, p, 76, out, 100), ES_ELIMIT);
	codec_dec_free(d);
}

/* Speex: three frames of the tone in one payload (RFC 5574 3.3), each
 * mode; the payload cut short decodes what is whole or is refused. */
static void test_speex(void)
{
	static const struct {
		uint32_t clock;
		const SpeexMode *mode;
	} modes[] = {{8000, &speex_nb_mode}, {16000, &speex_wb_mode}, {32000, &speex_uwb_mode}};
	for (size_t m = 0; m < ES_ARRAY_LEN(modes); m++) {
		void *enc = speex_encoder_init(modes[m].mode);
		int fs = 0, q = 8;
		speex_encoder_ctl(enc, SPEEX_GET_FRAME_SIZE, &fs);
		speex_encoder_ctl(enc, SPEEX_SET_QUALITY, &q);
		int16_t *in = calloc((size_t)fs * 30, sizeof(*in));
		int16_t *got = calloc((size_t)fs * 30 + CODEC_MAX_SAMPLES, sizeof(*got));
		gen(in, modes[m].clock, 1, (size_t)fs * 30);
		SpeexBits bits;
		speex_bits_init(&bits);
		struct codec_info ci;
		struct codec_dec *d = NULL;
		CHECK_INT(codec_lookup("speex", modes[m].clock, 1, &ci), 0);
		CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
		size_t have = 0;
		char pl[2000];
		int len = 0;
		for (int k = 0; k < 10; k++) {
			speex_bits_reset(&bits);
			for (int f = 0; f < 3; f++)
				speex_encode_int(enc, in + (k * 3 + f) * fs, &bits);
			speex_bits_insert_terminator(&bits);
			len = speex_bits_write(&bits, pl, sizeof(pl));
			int r = codec_decode(d, (const uint8_t *)pl, (size_t)len, got + have,
					     CODEC_MAX_SAMPLES);
			CHECK_INT(r, 3 * fs);
			if (r > 0)
				have += (size_t)r;
		}
		size_t lag;
		double snr, corr = best_corr(in, got, have, 200, &lag, &snr);
		fprintf(stderr, "     speex/%-12u rate %5u  corr %.4f  snr %5.1f dB  lag %zu\n",
			modes[m].clock, codec_dec_rate(d), corr, snr, lag);
		CHECK(corr >= 0.9);
		/* the last payload cut at every length: whole frames or an error */
		for (int cut = 0; cut < len; cut++) {
			int r = codec_decode(d, (const uint8_t *)pl, (size_t)cut, got,
					     CODEC_MAX_SAMPLES);
			CHECK(r < 0 || (r % fs == 0 && r <= 3 * fs));
		}
		CHECK_INT(codec_decode(d, (const uint8_t *)pl, (size_t)len, got, (size_t)fs), fs);
		speex_bits_destroy(&bits);
		speex_encoder_destroy(enc);
		codec_dec_free(d);
		free(in);
		free(got);
	}
	struct codec_info ci;
	struct codec_dec *d = NULL;
	CHECK_INT(codec_lookup("speex", 11025, 1, &ci), 0);
	CHECK_INT(codec_dec_new(&d, &ci, 0), ES_EINVAL);
}

static void test_g723(void)
{
	CHECK_INT(codec_g723_frame_len(0x00), 24);
	CHECK_INT(codec_g723_frame_len(0x01), 20);
	CHECK_INT(codec_g723_frame_len(0x02), 4);
	CHECK_INT(codec_g723_frame_len(0x03), 1);
	struct codec_info ci;
	CHECK_INT(codec_static(4, &ci), 0);
	uint8_t p[24 + 20 + 4] = {0};
	p[24] = 0x01;
	p[44] = 0x02;
	CHECK_INT(codec_payload_ticks(&ci, p, sizeof(p)), 720);
	CHECK_INT(codec_payload_ticks(&ci, p, 30), 0);
	struct codec_dec *d = NULL;
	CHECK_INT(codec_dec_new(&d, &ci, 0), 0);
	int16_t out[CODEC_MAX_SAMPLES];
	CHECK_INT(codec_decode(d, p, sizeof(p), out, CODEC_MAX_SAMPLES), 720);
	for (size_t cut = 1; cut < sizeof(p); cut++)
		if (cut != 24 && cut != 44)
			CHECK_INT(codec_decode(d, p, cut, out, CODEC_MAX_SAMPLES), ES_ETRUNC);
	CHECK_INT(codec_decode(d, p, 0, out, CODEC_MAX_SAMPLES), ES_ETRUNC);
	CHECK_INT(codec_decode(d, p, sizeof(p), out, 500), ES_ELIMIT);
	codec_dec_free(d);
}

int main(void)
{
	RUN(test_amr);
	RUN(test_ilbc);
	RUN(test_speex);
	RUN(test_g723);
	return CHECK_DONE();
}
