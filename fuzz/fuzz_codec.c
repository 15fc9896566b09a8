/*
 * fuzz_codec.c - libFuzzer harness for the codec layer: byte 0 picks a
 * decoder from the table below (fuzz/seed.py writes its seeds with the same
 * indices), the rest is a sequence of records, each a 2-byte big-endian
 * word w then:
 *   w & 0x8000: conceal (w & 0x7fff) % 4000 samples, no bytes follow;
 *   w & 0x4000: (w & 0x3fff) bytes fed as an RFC 3389 CN payload;
 *   otherwise:  w bytes decoded as one RTP payload.
 * Truncated records use what is left of the input.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *name;
	uint32_t clock;
	unsigned channels;
	uint32_t out_rate;
} fuzz_codecs[] = {
	{"PCMU", 8000, 1, 0},          /* 0 */
	{"PCMA", 8000, 1, 0},          /* 1 */
	{"G722", 8000, 1, 0},          /* 2 */
	{"G726-16", 8000, 1, 0},       /* 3 */
	{"G726-24", 8000, 1, 0},       /* 4 */
	{"G726-32", 8000, 1, 0},       /* 5 */
	{"G726-40", 8000, 1, 0},       /* 6 */
	{"AAL2-G726-16", 8000, 1, 0},  /* 7 */
	{"AAL2-G726-24", 8000, 1, 0},  /* 8 */
	{"AAL2-G726-32", 8000, 1, 0},  /* 9 */
	{"AAL2-G726-40", 8000, 1, 0},  /* 10 */
	{"G729", 8000, 1, 0},          /* 11 */
	{"GSM", 8000, 1, 0},           /* 12 */
	{"opus", 48000, 1, 8000},      /* 13 */
	{"opus", 48000, 1, 16000},     /* 14 */
	{"opus", 48000, 1, 48000},     /* 15 */
	{"opus", 48000, 2, 8000},      /* 16 */
	{"opus", 48000, 2, 16000},     /* 17 */
	{"opus", 48000, 2, 48000},     /* 18 */
	{"L16", 8000, 1, 0},           /* 19 */
	{"L16", 44100, 2, 0},          /* 20 */
	{"CN", 8000, 1, 0},            /* 21 */
	{"speex", 8000, 1, 0},         /* 22 */
	{"speex", 16000, 1, 0},        /* 23 */
	{"speex", 32000, 1, 0},        /* 24 */
	{"iLBC", 8000, 1, 0},          /* 25 */
	{"AMR", 8000, 1, 0},           /* 26 */
	{"AMR-WB", 16000, 1, 0},       /* 27 */
	{"G723", 8000, 1, 0},          /* 28 */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int16_t out[CODEC_MAX_SAMPLES];
	struct codec_info ci;
	struct codec_dec *d;

	if (size < 1)
		return 0;
	size_t sel = data[0] % ES_ARRAY_LEN(fuzz_codecs);
	if (codec_lookup(fuzz_codecs[sel].name, fuzz_codecs[sel].clock,
			 fuzz_codecs[sel].channels, &ci) != 0)
		abort();
	if (codec_dec_new(&d, &ci, fuzz_codecs[sel].out_rate) != 0)
		abort();
	size_t off = 1;
	while (size - off >= 2) {
		unsigned w = (unsigned)data[off] << 8 | data[off + 1];
		off += 2;
		if (w & 0x8000) {
			size_t n = (w & 0x7fff) % 4000;
			if (codec_conceal(d, out, n) != n)
				abort();
			continue;
		}
		size_t len = ES_MIN((size_t)(w & 0x3fff), size - off);
		/* a copy of exactly len bytes, so that ASan sees any overread */
		uint8_t *p = malloc(len ? len : 1);
		if (!p)
			break;
		memcpy(p, data + off, len);
		off += len;
		if (w & 0x4000) {
			(void)codec_comfort_noise(d, p, len);
		} else {
			(void)codec_payload_ticks(&ci, p, len);
			int r = codec_decode(d, p, len, out, CODEC_MAX_SAMPLES);
			if (r > CODEC_MAX_SAMPLES)
				abort();
		}
		free(p);
	}
	/* what is left of the input, as a whole payload */
	(void)codec_decode(d, data + 1, size - 1, out, CODEC_MAX_SAMPLES);
	(void)codec_conceal(d, out, 480);
	codec_dec_free(d);
	return 0;
}
