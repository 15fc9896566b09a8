/*
 * codec_internal.h - what the codec files share: the decoder struct, the
 * per-codec operations table and the static codec descriptions.  Not for
 * other layers; they use codec.h.
 */
#ifndef ES_CODEC_INTERNAL_H
#define ES_CODEC_INTERNAL_H

#include "codec/codec.h"

/* Concealment generated ahead of need (a G.729 frame, an opus 2.5 ms step,
 * the output of a G.729 SID frame) waits here: 20 ms at 48 kHz. */
#define CODEC_PEND_MAX 960
/* The fade-out concealment repeats the last 10 ms (up to 192 kHz L16). */
#define CODEC_HIST_MAX 1920
/* Continuous concealment beyond this becomes silence (or comfort noise). */
#define CODEC_CONCEAL_MS 60

struct codec_dec;

struct codec_ops {
	/* Create the library state in d->lib (d->info and d->rate are set). */
	int (*init)(struct codec_dec *d);
	void (*fini)(struct codec_dec *d);
	/* Decode one payload: validate its length first, never read past
	 * len, refuse with ES_E* leaving the state as it was. */
	int (*decode)(struct codec_dec *d, const uint8_t *p, size_t len, int16_t *out, size_t cap);
	/* The codec's own concealment: writes between 1 and CODEC_PEND_MAX
	 * samples (want is a hint, 1..CODEC_PEND_MAX) and returns how many.
	 * NULL: the generic spandsp PLC (8 kHz) or fade-out is used. */
	size_t (*plc)(struct codec_dec *d, int16_t *out, size_t want);
};

struct codec_dec {
	struct codec_info info;
	uint32_t rate;               /* output rate */
	const struct codec_ops *ops;
	void *lib;                   /* library decoder state, owned */
	int16_t *tmp;                /* scratch for stereo decoding, owned */
	void *plc;                   /* spandsp plc_state_t for 8 kHz, owned */

	/* comfort noise */
	bool own_cng;                /* G.729 SID seen: bcg729 makes the noise */
	int noise_level;             /* RFC 3389 level in -dBov, -1 = none */
	int32_t noise_amp;           /* peak of the uniform noise */
	uint32_t rng;                /* xorshift32 state */

	uint64_t lost;               /* samples concealed since the last audio */
	int16_t pend[CODEC_PEND_MAX];
	size_t pend_off, pend_len;
	int16_t hist[CODEC_HIST_MAX]; /* ring of the last decoded samples */
	size_t hist_len, hist_pos, hist_fill;
};

extern const struct codec_ops codec_ops_pcmu, codec_ops_pcma, codec_ops_l16, codec_ops_cn,
	codec_ops_g722, codec_ops_g726, codec_ops_g729, codec_ops_gsm, codec_ops_opus,
	codec_ops_speex, codec_ops_ilbc, codec_ops_g723, codec_ops_amr;

/* ---- payload formats (exposed for the unit tests and the fuzzer) ---------- */

/* One AMR frame of an RFC 4867 payload: its frame type, quality bit and
 * where its speech bits start (a bit offset into the payload). */
struct codec_amr_frame {
	uint8_t ft, q;
	size_t bit_off;
};
/* Speech bits of AMR (wb false) or AMR-WB frame type ft; 0 for NO_DATA. */
unsigned codec_amr_frame_bits(bool wb, unsigned ft);
/* Split an RFC 4867 payload, octet-aligned or bandwidth-efficient (found
 * by its layout; *octet_aligned says which, may be NULL), into at most max
 * frames.  ES_ETRUNC for a payload shorter than its ToC says, ES_EPARSE
 * for a malformed one (bad frame type, nonzero padding, extra bytes). */
int codec_amr_unpack(bool wb, const uint8_t *p, size_t len, struct codec_amr_frame *fr,
		     size_t max, size_t *nfr, bool *octet_aligned);
/* Write frame fr of payload p in the storage format (RFC 4867 section 5:
 * header byte, bits padded to an octet) to out (room for 62 bytes);
 * returns its length. */
size_t codec_amr_storage(bool wb, const uint8_t *p, const struct codec_amr_frame *fr,
			 uint8_t *out);
/* RTP ticks of an AMR payload: 160 (NB) or 320 (WB) a frame; 0 if bad. */
uint32_t codec_amr_ticks(bool wb, const uint8_t *p, size_t len);
/* The iLBC frame length (38: 20 ms, 50: 30 ms, RFC 3952 section 3) of a
 * payload of len bytes; current breaks the tie of a length both divide.
 * ES_EPARSE when neither does, ES_ETRUNC when empty. */
int codec_ilbc_frame_len(size_t len, int current);
/* The length of the G.723.1 frame starting with byte first: 24, 20, 4, 1. */
size_t codec_g723_frame_len(uint8_t first);

/* Bits per sample of a G.726 variant (2..5), 0 for other codecs. */
unsigned codec_g726_bits(enum codec_id id);
/* Set the comfort-noise level (RFC 3389 -dBov, 0..127) of d. */
void codec_noise_set(struct codec_dec *d, unsigned level);

#endif /* ES_CODEC_INTERNAL_H */
