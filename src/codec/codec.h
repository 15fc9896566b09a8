/*
 * codec.h - one decoder interface for the telephony codecs: RTP payloads
 * in, 16-bit mono PCM out.  A codec is found by the SDP encoding name and
 * clock (or a static payload type); a decoder turns one RTP payload into
 * samples and conceals lost frames (the codec's own PLC where it has one,
 * silence or faded repetition otherwise).  Bad payloads return an error and
 * leave the decoder usable; nothing here aborts on input.
 *
 * Codecs: PCMU, PCMA (G.711), G722 (spandsp), G726-16/24/32/40 and
 * AAL2-G726-* (spandsp), G729 / G729A / annex B SID frames (bcg729), GSM
 * 06.10 (libgsm), opus (libopus, mono or stereo, mixed down), L16 (any
 * clock, 1 or 2 channels, mixed down), speex (libspeex, RFC 5574, 8/16/32
 * kHz), iLBC (RFC 3952, 20 and 30 ms) and G723 (G.723.1) through
 * libavcodec, AMR and AMR-WB (opencore-amr, RFC 4867 octet-aligned and
 * bandwidth-efficient), CN (RFC 3389 comfort noise) and telephone-event
 * (RFC 4733: recognised, not audio).
 */
#ifndef ES_CODEC_H
#define ES_CODEC_H

#include "core/core.h"

enum codec_id {
	CODEC_UNKNOWN = 0,
	CODEC_PCMU,
	CODEC_PCMA,
	CODEC_G722,
	CODEC_G726_16,
	CODEC_G726_24,
	CODEC_G726_32,
	CODEC_G726_40,
	CODEC_AAL2_G726_16,
	CODEC_AAL2_G726_24,
	CODEC_AAL2_G726_32,
	CODEC_AAL2_G726_40,
	CODEC_G729,
	CODEC_GSM,
	CODEC_OPUS,
	CODEC_L16,
	CODEC_SPEEX,
	CODEC_ILBC,
	CODEC_AMR,
	CODEC_AMR_WB,
	CODEC_G723,
	CODEC_CN,
	CODEC_TELEPHONE_EVENT,
	CODEC__COUNT
};

struct codec_info {
	enum codec_id id;
	const char *name;   /* canonical SDP name: "PCMU", "G722", "opus" ... */
	uint32_t clock;     /* RTP timestamp clock (G.722: 8000) */
	uint32_t rate;      /* natural decoded sample rate (G.722: 16000,
			       opus: 48000, L16: its clock) */
	unsigned channels;  /* channels in the payload (opus, L16: 1 or 2) */
	bool audio;         /* false for telephone-event */
	bool wideband;      /* natural rate >= 16000 */
};

/* Find a codec by SDP encoding name (case-insensitive), RTP clock and
 * channel count (0 = default).  ES_ENOTFOUND when unknown. */
int codec_lookup(const char *name, uint32_t clock, unsigned channels, struct codec_info *out);
/* The codec of a static RTP payload type (RFC 3551: 0 PCMU, 3 GSM, 8 PCMA,
 * 9 G722, 13 CN, 18 G729, ...).  ES_ENOTFOUND for dynamic or unknown. */
int codec_static(uint8_t pt, struct codec_info *out);
const char *codec_name(enum codec_id id);
/* Whether earshot can decode media of this SDP encoding name, clock and
 * channel count: false for a codec it does not know (LPC, a vendor's
 * dynamic codec) or one it knows only by name.  Comfort noise and
 * telephone-event count as decodable (they are not audio to lose). */
bool codec_decodable(const char *name, uint32_t clock, unsigned channels);

struct codec_dec;

/* A decoder for codec `info` producing mono samples at out_rate.  out_rate 0
 * means the codec's natural rate; opus decodes natively at 8000, 12000,
 * 16000, 24000 or 48000; other codecs accept only their natural rate (the
 * caller resamples).  ES_EINVAL for an unsupported combination, ES_ENOMEM. */
int codec_dec_new(struct codec_dec **out, const struct codec_info *info, uint32_t out_rate);
void codec_dec_free(struct codec_dec *d);
/* The sample rate of the decoder's output. */
uint32_t codec_dec_rate(const struct codec_dec *d);

/* The most samples one payload may decode to (120 ms at 48 kHz). */
#define CODEC_MAX_SAMPLES 5760

/* Decode one RTP payload into at most `cap` samples (cap >= CODEC_MAX_SAMPLES
 * is always enough).  Returns the number of samples (>= 0), or a negative
 * ES_E* code for a payload the codec cannot decode (truncated frame, corrupt
 * opus packet): the decoder stays usable.  A comfort-noise payload (CN, G.729
 * SID) returns 0 samples and sets the noise that codec_conceal then makes. */
int codec_decode(struct codec_dec *d, const uint8_t *payload, size_t len, int16_t *out,
		 size_t cap);
/* Make n samples to stand in for audio that did not arrive: the codec's
 * packet loss concealment (opus, G.729, G.722 where possible), comfort noise
 * after a SID/CN frame, a short fade of the last frame otherwise, then
 * silence.  Always returns n. */
size_t codec_conceal(struct codec_dec *d, int16_t *out, size_t n);
/* Feed an RFC 3389 comfort-noise payload that arrived on the stream's own
 * CN payload type to the stream's audio decoder d: codec_conceal then makes
 * noise at its level (white, byte 0 = -dBov) until the next audio payload.
 * ES_ETRUNC for an empty payload. */
int codec_comfort_noise(struct codec_dec *d, const uint8_t *payload, size_t len);
/* The number of RTP clock ticks a payload covers (frames x frame length),
 * or 0 when not knowable from the payload alone. */
uint32_t codec_payload_ticks(const struct codec_info *info, const uint8_t *payload, size_t len);

#endif /* ES_CODEC_H */
