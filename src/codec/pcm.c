/*
 * pcm.c - the codecs earshot decodes itself: G.711 µ-law and A-law,
 * L16 (RFC 3551 section 4.5.11: big-endian, 1 or 2 channels mixed down by
 * averaging) and CN (RFC 3389: byte 0 is the noise level in -dBov; the
 * spectral parameters that may follow are ignored, the noise is white).
 *
 * A payload that is not a whole number of samples (an odd L16 byte) is
 * refused with ES_ETRUNC and nothing is decoded: the caller conceals it.
 */
#include "codec/codec_internal.h"

/* ITU-T G.711 expansion to 16 bits, generated from the definition:
 * µ-law: invert all bits; e = bits 6-4, m = bits 3-0;
 *        |x| = (((2m + 33) << e) - 33) * 4, negative when bit 7 is set.
 * A-law: xor 0x55; e = bits 6-4, m = bits 3-0;
 *        |x| = (e ? (2m + 33) << (e - 1) : 2m + 1) * 8, positive when bit 7
 *        is set. */
static const int16_t ulaw_tab[256] = {
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
	-11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316,
	-7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140,
	-5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092,
	-3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004,
	-2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980,
	-1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436,
	-1372, -1308, -1244, -1180, -1116, -1052, -988, -924,
	-876, -844, -812, -780, -748, -716, -684, -652,
	-620, -588, -556, -524, -492, -460, -428, -396,
	-372, -356, -340, -324, -308, -292, -276, -260,
	-244, -228, -212, -196, -180, -164, -148, -132,
	-120, -112, -104, -96, -88, -80, -72, -64,
	-56, -48, -40, -32, -24, -16, -8, 0,
	32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956,
	23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764,
	15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412,
	11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316,
	7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140,
	5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092,
	3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004,
	2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980,
	1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436,
	1372, 1308, 1244, 1180, 1116, 1052, 988, 924,
	876, 844, 812, 780, 748, 716, 684, 652,
	620, 588, 556, 524, 492, 460, 428, 396,
	372, 356, 340, 324, 308, 292, 276, 260,
	244, 228, 212, 196, 180, 164, 148, 132,
	120, 112, 104, 96, 88, 80, 72, 64,
	56, 48, 40, 32, 24, 16, 8, 0,
};

static const int16_t alaw_tab[256] = {
	-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736,
	-7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784,
	-2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368,
	-3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392,
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
	-11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472,
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
	-344, -328, -376, -360, -280, -264, -312, -296,
	-472, -456, -504, -488, -408, -392, -440, -424,
	-88, -72, -120, -104, -24, -8, -56, -40,
	-216, -200, -248, -232, -152, -136, -184, -168,
	-1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184,
	-1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696,
	-688, -656, -752, -720, -560, -528, -624, -592,
	-944, -912, -1008, -976, -816, -784, -880, -848,
	5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736,
	7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784,
	2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368,
	3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392,
	22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944,
	30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136,
	11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472,
	15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568,
	344, 328, 376, 360, 280, 264, 312, 296,
	472, 456, 504, 488, 408, 392, 440, 424,
	88, 72, 120, 104, 24, 8, 56, 40,
	216, 200, 248, 232, 152, 136, 184, 168,
	1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184,
	1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696,
	688, 656, 752, 720, 560, 528, 624, 592,
	944, 912, 1008, 976, 816, 784, 880, 848,
};

static int noop_init(struct codec_dec *d)
{
	(void)d;
	return 0;
}

static int g711_decode(const int16_t *tab, const uint8_t *p, size_t len, int16_t *out,
		       size_t cap)
{
	if (len > cap || len > INT32_MAX)
		return ES_ELIMIT;
	for (size_t i = 0; i < len; i++)
		out[i] = tab[p[i]];
	return (int)len;
}

static int pcmu_decode(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out,
		       size_t cap)
{
	(void)d;
	return g711_decode(ulaw_tab, p, len, out, cap);
}

static int pcma_decode(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out,
		       size_t cap)
{
	(void)d;
	return g711_decode(alaw_tab, p, len, out, cap);
}

static int l16_decode(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out,
		      size_t cap)
{
	size_t ch = d->info.channels == 2 ? 2 : 1;
	size_t frame = 2 * ch;
	if (len % frame)
		return ES_ETRUNC;
	size_t n = len / frame;
	if (n > cap || n > INT32_MAX)
		return ES_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *s = p + i * frame;
		int32_t v = (int16_t)(uint16_t)((unsigned)s[0] << 8 | s[1]);
		if (ch == 2) {
			int32_t r = (int16_t)(uint16_t)((unsigned)s[2] << 8 | s[3]);
			v = (v + r) / 2;
		}
		out[i] = (int16_t)v;
	}
	return (int)n;
}

static int cn_decode(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out,
		     size_t cap)
{
	(void)out;
	(void)cap;
	if (len < 1)
		return ES_ETRUNC;
	codec_noise_set(d, p[0]);
	return 0;
}

const struct codec_ops codec_ops_pcmu = {noop_init, NULL, pcmu_decode, NULL};
const struct codec_ops codec_ops_pcma = {noop_init, NULL, pcma_decode, NULL};
const struct codec_ops codec_ops_l16 = {noop_init, NULL, l16_decode, NULL};
const struct codec_ops codec_ops_cn = {noop_init, NULL, cn_decode, NULL};
