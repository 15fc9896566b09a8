/*
 * codec.c - the codec table (names, clocks, static payload types), decoder
 * creation and the decode/conceal dispatch shared by every codec.
 *
 * Concealment, in order of preference:
 *  1. samples already generated (pend: a G.729 frame, an opus step, the
 *     output of a SID frame);
 *  2. after a G.729 SID, bcg729's own comfort noise, without limit;
 *  3. after an RFC 3389 CN payload, white noise at its level, without limit;
 *  4. up to CODEC_CONCEAL_MS of the codec's own PLC (opus, G.729), spandsp's
 *     PLC for 8 kHz codecs (G.711, GSM, G.726, L16/8000), or else (G.722,
 *     L16 at other clocks) the last 10 ms repeated with a linear fade to 0;
 *  5. silence.
 */
#include "codec/codec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <spandsp.h>

struct codec_def {
	enum codec_id id;
	const char *name;
	uint32_t clock;     /* fixed RTP clock, 0 = any */
	uint32_t def_clock; /* the clock when the caller gives 0 */
	uint32_t rate;      /* natural decoded rate, 0 = the clock */
	uint8_t max_ch, def_ch;
	bool audio;
	const struct codec_ops *ops;
};

/* RFC 3551 section 4.5 and 6, RFC 7587 (opus: clock 48000, "/2" in SDP). */
static const struct codec_def codec_defs[] = {
	{CODEC_PCMU, "PCMU", 8000, 8000, 8000, 1, 1, true, &codec_ops_pcmu},
	{CODEC_PCMA, "PCMA", 8000, 8000, 8000, 1, 1, true, &codec_ops_pcma},
	{CODEC_G722, "G722", 8000, 8000, 16000, 1, 1, true, &codec_ops_g722},
	{CODEC_G726_16, "G726-16", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_G726_24, "G726-24", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_G726_32, "G726-32", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_G726_40, "G726-40", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_AAL2_G726_16, "AAL2-G726-16", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_AAL2_G726_24, "AAL2-G726-24", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_AAL2_G726_32, "AAL2-G726-32", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_AAL2_G726_40, "AAL2-G726-40", 8000, 8000, 8000, 1, 1, true, &codec_ops_g726},
	{CODEC_G729, "G729", 8000, 8000, 8000, 1, 1, true, &codec_ops_g729},
	{CODEC_GSM, "GSM", 8000, 8000, 8000, 1, 1, true, &codec_ops_gsm},
	{CODEC_OPUS, "opus", 48000, 48000, 48000, 2, 2, true, &codec_ops_opus},
	{CODEC_L16, "L16", 0, 8000, 0, 2, 1, true, &codec_ops_l16},
	/* RFC 5574 3.1: speex/8000, /16000 or /32000 (libspeex refuses others) */
	{CODEC_SPEEX, "speex", 0, 8000, 0, 1, 1, true, &codec_ops_speex},
	{CODEC_ILBC, "iLBC", 8000, 8000, 8000, 1, 1, true, &codec_ops_ilbc},
	/* RFC 4867 8.1 and 8.3: AMR/8000, AMR-WB/16000 */
	{CODEC_AMR, "AMR", 8000, 8000, 8000, 1, 1, true, &codec_ops_amr},
	{CODEC_AMR_WB, "AMR-WB", 16000, 16000, 16000, 1, 1, true, &codec_ops_amr},
	{CODEC_G723, "G723", 8000, 8000, 8000, 1, 1, true, &codec_ops_g723},
	{CODEC_CN, "CN", 0, 8000, 0, 1, 1, true, &codec_ops_cn},
	{CODEC_TELEPHONE_EVENT, "telephone-event", 0, 8000, 0, 1, 1, false, NULL},
};

/* Other names seen in SDP for the same codec. */
static const struct {
	const char *name;
	enum codec_id id;
} codec_aliases[] = {
	{"G729A", CODEC_G729},
	{"G7231", CODEC_G723},
	{"G723.1", CODEC_G723},
};

/* RFC 3551 table 4: the static audio payload types we decode. */
static const struct {
	uint8_t pt;
	enum codec_id id;
	uint32_t clock;
	unsigned channels;
} codec_statics[] = {
	{0, CODEC_PCMU, 8000, 1},  {3, CODEC_GSM, 8000, 1},    {4, CODEC_G723, 8000, 1},
	{8, CODEC_PCMA, 8000, 1},
	{9, CODEC_G722, 8000, 1},  {10, CODEC_L16, 44100, 2},  {11, CODEC_L16, 44100, 1},
	{13, CODEC_CN, 8000, 1},   {18, CODEC_G729, 8000, 1},
};

static const struct codec_def *def_of(enum codec_id id)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(codec_defs); i++)
		if (codec_defs[i].id == id)
			return &codec_defs[i];
	return NULL;
}

static bool name_eq(const char *a, const char *b)
{
	return sl_eq_str_ci(sl_cstr(a), b);
}

const char *codec_name(enum codec_id id)
{
	const struct codec_def *def = def_of(id);
	return def ? def->name : "unknown";
}

unsigned codec_g726_bits(enum codec_id id)
{
	switch (id) {
	case CODEC_G726_16: case CODEC_AAL2_G726_16: return 2;
	case CODEC_G726_24: case CODEC_AAL2_G726_24: return 3;
	case CODEC_G726_32: case CODEC_AAL2_G726_32: return 4;
	case CODEC_G726_40: case CODEC_AAL2_G726_40: return 5;
	default: return 0;
	}
}

static int fill_info(const struct codec_def *def, uint32_t clock, unsigned channels,
		     struct codec_info *out)
{
	if (!clock)
		clock = def->def_clock;
	if (!channels)
		channels = def->def_ch;
	if ((def->clock && clock != def->clock) || channels > def->max_ch)
		return ES_ENOTFOUND;
	memset(out, 0, sizeof(*out));
	out->id = def->id;
	out->name = def->name;
	out->clock = clock;
	out->rate = def->rate ? def->rate : clock;
	out->channels = channels;
	out->audio = def->audio;
	out->wideband = out->rate >= 16000;
	return 0;
}

int codec_lookup(const char *name, uint32_t clock, unsigned channels, struct codec_info *out)
{
	if (!name || !out)
		return ES_EINVAL;
	for (size_t i = 0; i < ES_ARRAY_LEN(codec_defs); i++)
		if (name_eq(name, codec_defs[i].name))
			return fill_info(&codec_defs[i], clock, channels, out);
	for (size_t i = 0; i < ES_ARRAY_LEN(codec_aliases); i++)
		if (name_eq(name, codec_aliases[i].name))
			return fill_info(def_of(codec_aliases[i].id), clock, channels, out);
	return ES_ENOTFOUND;
}

int codec_static(uint8_t pt, struct codec_info *out)
{
	if (!out)
		return ES_EINVAL;
	for (size_t i = 0; i < ES_ARRAY_LEN(codec_statics); i++)
		if (codec_statics[i].pt == pt)
			return fill_info(def_of(codec_statics[i].id), codec_statics[i].clock,
					 codec_statics[i].channels, out);
	return ES_ENOTFOUND;
}

bool codec_decodable(const char *name, uint32_t clock, unsigned channels)
{
	struct codec_info ci;
	if (!name || codec_lookup(name, clock, channels, &ci))
		return false;
	if (ci.id == CODEC_SPEEX) /* RFC 5574: three modes, three clocks */
		return ci.clock == 8000 || ci.clock == 16000 || ci.clock == 32000;
	return true;
}

uint32_t codec_payload_ticks(const struct codec_info *info, const uint8_t *payload, size_t len)
{
	if (!info || (!payload && len))
		return 0;
	if (len > UINT32_MAX / 8)
		return 0;
	switch (info->id) {
	case CODEC_PCMU:
	case CODEC_PCMA:
	case CODEC_G722: /* 2 samples at 16 kHz a byte, RTP clock 8000 */
		return (uint32_t)len;
	case CODEC_G729: /* a trailing 2-byte SID covers no time of its own */
		return (uint32_t)(len / 10) * 80;
	case CODEC_GSM:
		return (uint32_t)(len / 33) * 160;
	case CODEC_AMR:
	case CODEC_AMR_WB:
		return codec_amr_ticks(info->id == CODEC_AMR_WB, payload, len);
	case CODEC_ILBC: {
		int fl = codec_ilbc_frame_len(len, 38);
		return fl > 0 ? (uint32_t)(len / (size_t)fl) * (fl == 38 ? 160 : 240) : 0;
	}
	case CODEC_G723: {
		uint32_t t = 0;
		for (size_t off = 0; off < len; t += 240) {
			size_t fl = codec_g723_frame_len(payload[off]);
			if (fl > len - off)
				return 0;
			off += fl;
		}
		return t;
	}
	case CODEC_OPUS: {
		if (!len || len > INT32_MAX)
			return 0;
		int n = opus_packet_get_nb_samples(payload, (opus_int32)len, 48000);
		return n > 0 ? (uint32_t)n : 0;
	}
	case CODEC_L16: {
		unsigned ch = info->channels ? info->channels : 1;
		return (uint32_t)(len / (2 * ch));
	}
	default: {
		unsigned bits = codec_g726_bits(info->id);
		return bits ? (uint32_t)(len * 8 / bits) : 0;
	}
	}
}

int codec_dec_new(struct codec_dec **out, const struct codec_info *info, uint32_t out_rate)
{
	if (!out || !info)
		return ES_EINVAL;
	*out = NULL;
	const struct codec_def *def = def_of(info->id);
	if (!def || !def->ops)
		return ES_EINVAL;
	uint32_t rate = def->rate ? def->rate : (info->rate ? info->rate : info->clock);
	unsigned ch = info->channels ? info->channels : def->def_ch;
	if (!rate || rate > 192000 || ch > def->max_ch)
		return ES_EINVAL;
	if (info->id == CODEC_OPUS) {
		if (!out_rate)
			out_rate = 48000;
		if (out_rate != 8000 && out_rate != 12000 && out_rate != 16000 &&
		    out_rate != 24000 && out_rate != 48000)
			return ES_EINVAL;
	} else if (out_rate && out_rate != rate) {
		return ES_EINVAL;
	} else {
		out_rate = rate;
	}

	struct codec_dec *d = calloc(1, sizeof(*d));
	if (!d)
		return ES_ENOMEM;
	d->info = *info;
	d->info.name = def->name;
	d->info.channels = ch;
	d->rate = out_rate;
	d->ops = def->ops;
	d->noise_level = -1;
	d->rng = 0x9e3779b9u ^ (uint32_t)info->id;
	d->hist_len = ES_MIN((size_t)out_rate / 100, (size_t)CODEC_HIST_MAX);
	int err = d->ops->init(d);
	if (err)
		goto fail;
	if (!d->ops->plc && out_rate == 8000 && info->id != CODEC_CN) {
		d->plc = plc_init(NULL);
		if (!d->plc) {
			err = ES_ENOMEM;
			goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	codec_dec_free(d);
	return err;
}

void codec_dec_free(struct codec_dec *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->fini)
		d->ops->fini(d);
	if (d->plc)
		plc_free(d->plc);
	free(d->tmp);
	free(d);
}

uint32_t codec_dec_rate(const struct codec_dec *d)
{
	return d ? d->rate : 0;
}

/* Keep the last 10 ms of output for the fade-out concealment. */
static void hist_push(struct codec_dec *d, const int16_t *s, size_t n)
{
	if (!d->hist_len)
		return;
	if (n > d->hist_len) {
		s += n - d->hist_len;
		n = d->hist_len;
	}
	for (size_t i = 0; i < n; i++) {
		d->hist[d->hist_pos] = s[i];
		d->hist_pos = (d->hist_pos + 1) % d->hist_len;
	}
	d->hist_fill = ES_MIN(d->hist_fill + n, d->hist_len);
}

int codec_decode(struct codec_dec *d, const uint8_t *payload, size_t len, int16_t *out,
		 size_t cap)
{
	if (!d || !out || (!payload && len))
		return ES_EINVAL;
	bool cng_before = d->own_cng;
	d->own_cng = false;
	d->pend_off = d->pend_len = 0;
	int r = d->ops->decode(d, payload, len, out, cap);
	if (r <= 0) {
		if (!d->own_cng) /* nothing decoded, no new SID */
			d->own_cng = cng_before;
		return r;
	}
	d->lost = 0;
	if (!d->own_cng)
		d->noise_level = -1;
	hist_push(d, out, (size_t)r);
	if (d->plc)
		plc_rx(d->plc, out, r);
	return r;
}

void codec_noise_set(struct codec_dec *d, unsigned level)
{
	/* RFC 3389 section 3.1 via G.711 appendix II: 0 dBov is the level of a
	 * full-scale square wave, so the RMS is 32767 * 10^(-level/20); a
	 * uniform distribution over [-a, a] has RMS a/sqrt(3). */
	double rms = 32767.0 * pow(10.0, -(double)(level & 0x7f) / 20.0);
	double amp = rms * sqrt(3.0);
	d->noise_amp = amp > 32767.0 ? 32767 : (int32_t)amp;
	d->noise_level = (int)(level & 0x7f);
	d->own_cng = false;
}

int codec_comfort_noise(struct codec_dec *d, const uint8_t *payload, size_t len)
{
	if (!d || (!payload && len))
		return ES_EINVAL;
	if (len < 1)
		return ES_ETRUNC;
	codec_noise_set(d, payload[0]);
	return 0;
}

static void make_noise(struct codec_dec *d, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t x = d->rng; /* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d->rng = x;
		int32_t u = (int32_t)(x >> 16) - 32768; /* -32768..32767 */
		out[i] = (int16_t)((int64_t)u * d->noise_amp / 32768);
	}
}

/* The last 10 ms repeated, fading linearly to 0 over `limit` samples. */
static void fade(struct codec_dec *d, int16_t *out, size_t n, uint64_t limit)
{
	size_t oldest = d->hist_fill < d->hist_len ? 0 : d->hist_pos;
	for (size_t i = 0; i < n; i++) {
		uint64_t pos = d->lost + i;
		if (!d->hist_fill || pos >= limit) {
			out[i] = 0;
			continue;
		}
		int32_t s = d->hist[(oldest + pos % d->hist_fill) % d->hist_len];
		out[i] = (int16_t)((int64_t)s * (int64_t)(limit - pos) / (int64_t)limit);
	}
}

/* spandsp's plc_fillin rotates its history ring with an overlapping memcpy
 * (undefined, and fatal under ASan) unless the ring already starts at 0:
 * rotate it here first, which leaves the ring's contents in the same order. */
static void plc_conceal(plc_state_t *s, int16_t *out, size_t n)
{
	if (s->buf_ptr > 0 && s->buf_ptr < PLC_HISTORY_LEN) {
		int16_t tmp[PLC_HISTORY_LEN];
		size_t k = (size_t)s->buf_ptr;
		memcpy(tmp, s->history + k, sizeof(int16_t) * (PLC_HISTORY_LEN - k));
		memcpy(tmp + PLC_HISTORY_LEN - k, s->history, sizeof(int16_t) * k);
		memcpy(s->history, tmp, sizeof(tmp));
		s->buf_ptr = 0;
	}
	plc_fillin(s, out, (int)n);
}

size_t codec_conceal(struct codec_dec *d, int16_t *out, size_t n)
{
	if (!d || !out)
		return n;
	uint64_t limit = (uint64_t)d->rate * CODEC_CONCEAL_MS / 1000;
	size_t i = 0;
	while (i < n) {
		size_t want = n - i;
		if (d->pend_off < d->pend_len) {
			size_t m = ES_MIN(want, d->pend_len - d->pend_off);
			memcpy(out + i, d->pend + d->pend_off, m * sizeof(*out));
			d->pend_off += m;
			i += m;
			continue;
		}
		if (d->own_cng && d->ops->plc) {
			d->pend_len = d->ops->plc(d, d->pend, ES_MIN(want, (size_t)CODEC_PEND_MAX));
			d->pend_off = 0;
			if (!d->pend_len)
				break;
			continue;
		}
		if (d->noise_level >= 0) {
			make_noise(d, out + i, want);
			i += want;
			continue;
		}
		if (d->lost >= limit) {
			memset(out + i, 0, want * sizeof(*out));
			d->lost += want;
			i += want;
			continue;
		}
		size_t chunk = (size_t)ES_MIN((uint64_t)want, limit - d->lost);
		chunk = ES_MIN(chunk, (size_t)CODEC_PEND_MAX);
		if (d->ops->plc) {
			d->pend_len = d->ops->plc(d, d->pend, chunk);
			d->pend_off = 0;
			d->lost += d->pend_len;
			if (!d->pend_len)
				break;
			continue;
		}
		if (d->plc)
			plc_conceal(d->plc, out + i, chunk);
		else
			fade(d, out + i, chunk, limit);
		d->lost += chunk;
		i += chunk;
	}
	if (i < n) /* a codec PLC that made nothing: silence */
		memset(out + i, 0, (n - i) * sizeof(*out));
	return n;
}
