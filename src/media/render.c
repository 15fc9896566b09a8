/*
 * render.c - media log to recording.
 *
 * Pass 1 finds the codecs used (the recording rate) and the capture time of
 * the first decodable audio packet (sample 0).  Pass 2 decodes every packet
 * with one decoder per (stream, codec), resamples it to the recording rate
 * when needed, and writes it into the timeline (timeline.c) at the place
 * its stream segment's clock gives; audio older than the newest capture
 * position minus TL_LAG_MS is final and goes to the writer.
 *
 * Loss: a sequence jump of up to GAP_MAX packets whose timestamp advanced by
 * as many frames is concealed (codec_conceal) once the next packet shows the
 * missing ones did not arrive late; longer gaps are silence, or comfort
 * noise after a CN packet.  Mono mixing adds the two parties with
 * saturation (no halving: parties rarely talk at once, and halving would
 * make each quieter than in the stereo file).
 */
#include "media/media_internal.h"
#include "codec/codec.h"

#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STREAMS 1024
#define MAX_DECODERS 8
#define GAP_MAX 5
#define PRE_WINDOW_US (INT64_C(1) * ES_US_PER_SEC)
#define PRE_MAX_US (INT64_C(200) * 1000) /* a longer start burst is not one */
#define SEQ_AHEAD_MAX 3000 /* a sequence step forward, not a restart (RFC 3550 A.1) */
#define RS_QUALITY 4
#define OUT_FRAMES 1024
#define MIN_CLOCK 1000
#define MAX_CLOCK 384000
#define DEFAULT_MAX_US (INT64_C(24) * 3600 * ES_US_PER_SEC)
#define CAP_US (INT64_C(48) * 3600 * ES_US_PER_SEC)

struct pmap {
	uint8_t state; /* 0 no map, 1 mapped to info, 2 mapped to nothing known */
	struct codec_info info;
};

struct rdec {
	bool used;
	unsigned stream;
	struct codec_info info;
	struct codec_dec *dec;
	SpeexResamplerState *rs;
	uint32_t in_rate;
	bool rs_live;       /* the resampler holds audio of a continuing run */
	int64_t out_pos;    /* where its next output sample goes */
	int64_t expect_pos; /* where the run's next input would be placed */
	uint64_t lru;
};

struct rstream {
	bool declared;
	unsigned party;
	struct tl_seg seg;
	bool have;
	uint16_t hi_seq;
	int64_t hi_ext;     /* highest extended timestamp */
	uint32_t last_ticks;
	size_t last_n;      /* samples of the newest packet (decoder rate) */
	int64_t last_step;  /* its length at the recording rate */
	int64_t next_pos;   /* where the audio after the newest packet goes */
	/* the last packet dropped as far from its place: when the next one
	 * follows it in sequence and time, both sequence and timestamp
	 * restarted (an SBC may do that too) */
	bool alt;
	uint16_t alt_seq;
	int64_t alt_ext;
	/* pass 1: the stream's start offset, the least (capture - RTP) time
	 * over its first PRE_WINDOW_US relative to its first packet (<= 0:
	 * that packet was captured late, e.g. sent together with the next) */
	bool pre_have;
	uint32_t pre_clock, pre_rtp;
	int64_t pre_ts, pre_off_us;
	int last_dec;       /* decoder of the newest packet, -1 none */
	/* a pending gap: missing seqs [gap_seq, gap_seq + gap_n) at gap_pos */
	unsigned gap_n;
	uint16_t gap_seq;
	uint8_t gap_filled;
	int64_t gap_pos;
	int gap_dec;
	size_t gap_len;     /* samples per missing packet, decoder rate */
	int64_t gap_step;
	/* comfort noise from cn_pos on */
	int cn_dec;
	int64_t cn_pos;
};

struct render {
	const char *path;
	const struct render_opts *o;
	struct render_result *res;
	char *err;
	size_t errlen;
	uint64_t recno;
	uint32_t rate;
	struct pmap map[2][128];
	struct rstream *st;
	unsigned nst;
	struct rdec dec[MAX_DECODERS];
	uint64_t lru;
	struct timeline tl;
	struct media_writer *w;
	uint64_t frames_out;
	int64_t max_cpos;
	int16_t pcm[CODEC_MAX_SAMPLES];
	int16_t rsout[CODEC_MAX_SAMPLES * 6 + 64];
	int16_t out[OUT_FRAMES * 2];
};

/* ---- lookups ------------------------------------------------------------------- */

static void map_set(struct render *r, const struct mlog_rec *rec)
{
	if (rec->pt > 127)
		return;
	struct pmap *m = &r->map[rec->party][rec->pt];
	if (codec_lookup(rec->name, rec->clock, rec->channels, &m->info) == 0 &&
	    m->info.clock >= MIN_CLOCK && m->info.clock <= MAX_CLOCK)
		m->state = 1;
	else
		m->state = 2;
}

/* The codec of pt as sent by party; false when unknown. */
static bool map_get(struct render *r, unsigned party, uint8_t pt, struct codec_info *ci)
{
	if (pt > 127)
		return false;
	const struct pmap *m = &r->map[party][pt];
	if (m->state == 1) {
		*ci = m->info;
		return true;
	}
	if (m->state == 2)
		return false;
	return codec_static(pt, ci) == 0 && ci->clock >= MIN_CLOCK && ci->clock <= MAX_CLOCK;
}

static int stream_declare(struct render *r, const struct mlog_rec *rec)
{
	if (rec->stream >= MAX_STREAMS)
		return 0;
	if (rec->stream >= r->nst) {
		unsigned n = rec->stream + 1;
		struct rstream *p = realloc(r->st, n * sizeof(*p));
		if (!p)
			return ES_ENOMEM;
		memset(p + r->nst, 0, (n - r->nst) * sizeof(*p));
		for (unsigned i = r->nst; i < n; i++)
			p[i].last_dec = p[i].gap_dec = p[i].cn_dec = -1;
		r->st = p;
		r->nst = n;
	}
	r->st[rec->stream].declared = true;
	r->st[rec->stream].party = rec->party;
	return 0;
}

static bool is_audio(const struct codec_info *ci)
{
	return ci->audio && ci->id != CODEC_CN && ci->id != CODEC_TELEPHONE_EVENT;
}

static void list_add(char *list, size_t cap, const char *item)
{
	size_t n = strlen(list), il = strlen(item);
	/* already there? */
	const char *p = list;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == il && memcmp(p, item, il) == 0)
			return;
		if (!c)
			break;
		p = c + 1;
	}
	if (n + il + 2 > cap)
		return;
	if (n)
		list[n++] = ',';
	memcpy(list + n, item, il + 1);
}

/* Capture position of ts_us; false when absurdly far from the start. */
static bool cpos_of(struct render *r, int64_t ts_us, int64_t *cpos)
{
	int64_t d;
	if (__builtin_sub_overflow(ts_us, r->res->start_us, &d) || d > CAP_US || d < -CAP_US)
		return false;
	*cpos = tl_muldiv(d, r->rate, ES_US_PER_SEC);
	return true;
}

/* Whether ts_us lies within the call's signalled span (with its slack). */
static bool in_span(const struct render_opts *o, int64_t ts_us)
{
	if (!o->span_start_us && !o->span_end_us)
		return true;
	if (o->span_start_us && ts_us < o->span_start_us - RENDER_SPAN_BEFORE_US)
		return false;
	return !o->span_end_us || o->span_end_us < o->span_start_us ||
	       ts_us <= o->span_end_us + RENDER_SPAN_AFTER_US;
}

/* ---- output ---------------------------------------------------------------------- */

static int emit(void *ctx, const int16_t *a, const int16_t *b, size_t n)
{
	struct render *r = ctx;
	if (r->o->pcm_tap)
		r->o->pcm_tap(r->o->pcm_tap_ud, a, b, n, r->rate);
	if (!r->w) { /* a call in progress, tapped only; or frames counted */
		r->frames_out += n;
		return 0;
	}
	while (n) {
		size_t k = ES_MIN(n, (size_t)OUT_FRAMES);
		if (r->o->mix) {
			for (size_t i = 0; i < k; i++) {
				int s = a[i] + b[i];
				r->out[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
			}
		} else {
			for (size_t i = 0; i < k; i++) {
				r->out[2 * i] = a[i];
				r->out[2 * i + 1] = b[i];
			}
		}
		int rc = media_writer_write(r->w, r->out, k);
		if (rc)
			return rc;
		r->frames_out += k;
		a += k;
		b += k;
		n -= k;
	}
	return 0;
}

/* ---- decoders ---------------------------------------------------------------------- */

static void dec_free(struct render *r, int i)
{
	struct rdec *d = &r->dec[i];
	if (!d->used)
		return;
	codec_dec_free(d->dec);
	if (d->rs)
		speex_resampler_destroy(d->rs);
	memset(d, 0, sizeof(*d));
	for (unsigned s = 0; s < r->nst; s++) {
		struct rstream *st = &r->st[s];
		if (st->last_dec == i)
			st->last_dec = -1;
		if (st->gap_dec == i) {
			st->gap_dec = -1;
			st->gap_n = 0;
		}
		if (st->cn_dec == i)
			st->cn_dec = -1;
	}
}

/* The decoder for (stream, codec), made on demand; -1 when it cannot be. */
static int dec_get(struct render *r, unsigned stream, const struct codec_info *ci)
{
	int lru = 0;
	for (int i = 0; i < MAX_DECODERS; i++) {
		struct rdec *d = &r->dec[i];
		if (d->used && d->stream == stream && d->info.id == ci->id &&
		    d->info.clock == ci->clock && d->info.channels == ci->channels) {
			d->lru = ++r->lru;
			return i;
		}
		if (!d->used || (r->dec[lru].used && d->lru < r->dec[lru].lru))
			lru = i;
	}
	dec_free(r, lru); /* bounded: the least recently used one goes */
	struct rdec *d = &r->dec[lru];
	uint32_t want = ci->id == CODEC_OPUS ? r->rate : 0;
	if (codec_dec_new(&d->dec, ci, want) != 0)
		return -1;
	d->used = true;
	d->stream = stream;
	d->info = *ci;
	d->in_rate = codec_dec_rate(d->dec);
	d->lru = ++r->lru;
	if (d->in_rate != r->rate) {
		int e = 0;
		d->rs = speex_resampler_init(1, d->in_rate, r->rate, RS_QUALITY, &e);
		if (!d->rs) {
			dec_free(r, lru);
			return -1;
		}
		speex_resampler_skip_zeros(d->rs);
	}
	return lru;
}

/* Resample and write; in is n samples at the decoder rate placed at pos. */
static void dec_emit(struct render *r, int di, unsigned party, int64_t pos, const int16_t *in,
		     size_t n)
{
	struct rdec *d = &r->dec[di];
	if (!d->rs) {
		tl_write(&r->tl, party, pos, in, n);
		return;
	}
	int64_t slack = pos - d->expect_pos;
	if (!d->rs_live || slack > 2 || slack < -2) {
		if (d->rs_live) {
			/* drain the held tail of the previous run into its place */
			spx_uint32_t zl = (spx_uint32_t)speex_resampler_get_input_latency(d->rs);
			static const int16_t zeros[256];
			while (zl && d->out_pos < d->expect_pos) {
				spx_uint32_t il = ES_MIN(zl, 256u), ol = 256;
				speex_resampler_process_int(d->rs, 0, zeros, &il, r->rsout, &ol);
				size_t keep = (size_t)ES_MIN((int64_t)ol, d->expect_pos - d->out_pos);
				tl_write(&r->tl, party, d->out_pos, r->rsout, keep);
				d->out_pos += (int64_t)ol;
				zl -= il;
				if (!il)
					break;
			}
		}
		speex_resampler_reset_mem(d->rs);
		speex_resampler_skip_zeros(d->rs);
		d->out_pos = pos;
		d->rs_live = true;
	}
	spx_uint32_t il = (spx_uint32_t)n, ol = (spx_uint32_t)ES_ARRAY_LEN(r->rsout);
	speex_resampler_process_int(d->rs, 0, in, &il, r->rsout, &ol);
	tl_write(&r->tl, party, d->out_pos, r->rsout, ol);
	d->out_pos += (int64_t)ol;
	d->expect_pos = pos + tl_muldiv((int64_t)n, r->rate, d->in_rate);
}

/* n samples (decoder rate) of concealment or comfort noise at pos. */
static void dec_fill(struct render *r, int di, unsigned party, int64_t pos, size_t n)
{
	struct rdec *d = &r->dec[di];
	while (n) {
		size_t k = ES_MIN(n, (size_t)CODEC_MAX_SAMPLES);
		codec_conceal(d->dec, r->pcm, k);
		dec_emit(r, di, party, pos, r->pcm, k);
		pos += tl_muldiv((int64_t)k, r->rate, d->in_rate);
		n -= k;
	}
}

/* ---- gaps and comfort noise ----------------------------------------------------- */

static void gap_resolve(struct render *r, struct rstream *st)
{
	if (!st->gap_n)
		return;
	if (st->gap_dec >= 0) {
		for (unsigned i = 0; i < st->gap_n; i++) {
			if (st->gap_filled & (1u << i))
				continue;
			dec_fill(r, st->gap_dec, st->party, st->gap_pos + (int64_t)i * st->gap_step,
				 st->gap_len);
			r->res->samples_concealed += st->gap_len;
		}
	}
	st->gap_n = 0;
}

/* Comfort noise of the stream up to position upto. */
static void cn_fill(struct render *r, struct rstream *st, int64_t upto)
{
	if (st->cn_dec < 0 || upto <= st->cn_pos)
		return;
	if (st->cn_pos < r->tl.flushed)
		st->cn_pos = r->tl.flushed;
	if (upto - st->cn_pos > (int64_t)r->tl.ring_len)
		upto = st->cn_pos + (int64_t)r->tl.ring_len;
	const struct rdec *d = &r->dec[st->cn_dec];
	int64_t n = tl_muldiv(upto - st->cn_pos, d->in_rate, r->rate);
	if (n > 0)
		dec_fill(r, st->cn_dec, st->party, st->cn_pos, (size_t)n);
	st->cn_pos = upto;
}

/* Everything below upto is final: settle what may still land there. */
static int flush_to(struct render *r, int64_t upto)
{
	if (upto <= r->tl.flushed)
		return r->tl.err;
	for (unsigned s = 0; s < r->nst; s++) {
		struct rstream *st = &r->st[s];
		if (st->gap_n && st->gap_pos < upto)
			gap_resolve(r, st);
		while (st->cn_dec >= 0 && st->cn_pos < upto && !r->tl.err) {
			int64_t before = st->cn_pos;
			cn_fill(r, st, upto);
			if (st->cn_pos == before)
				break;
		}
	}
	return tl_flush(&r->tl, upto);
}

/* A timestamp jump within a running stream: audio that goes on in sequence
 * and in capture time continues where the stream's last packet ended (the
 * jump moves nothing); otherwise the segment starts at capture time. */
static void jump_segment(struct render *r, struct rstream *st, uint16_t seq, uint32_t clock,
			 int64_t ext, int64_t cpos)
{
	r->res->ts_jumps++;
	uint16_t ds = (uint16_t)(seq - st->hi_seq);
	int64_t at = st->next_pos + (int64_t)(ds - 1) * st->last_step;
	int64_t far = (int64_t)r->rate * TL_REANCHOR_MS / 1000;
	if (st->have && st->last_step > 0 && ds >= 1 && ds <= GAP_MAX + 1 && at - cpos <= far &&
	    cpos - at <= far)
		tl_seg_continue(&st->seg, r->rate, clock, ext, cpos, at);
	else
		tl_seg_anchor(&st->seg, clock, ext, cpos);
}

/* ---- one RTP record ------------------------------------------------------------------ */

static void rtp_record(struct render *r, const struct mlog_rec *rec)
{
	struct render_result *res = r->res;
	res->packets++;
	if (rec->stream >= r->nst || !r->st[rec->stream].declared) {
		res->packets_bad++;
		return;
	}
	struct rstream *st = &r->st[rec->stream];
	struct codec_info ci;
	if (!map_get(r, st->party, rec->pt, &ci)) {
		res->packets_unknown_pt++;
		char b[8];
		snprintf(b, sizeof(b), "%u", rec->pt);
		list_add(res->unknown, sizeof(res->unknown), b);
		return;
	}
	if (!ci.audio || ci.id == CODEC_TELEPHONE_EVENT) {
		res->packets_event++;
		return;
	}
	if (!in_span(r->o, rec->ts_us)) {
		res->packets_outside++;
		return;
	}
	int64_t cpos;
	if (!cpos_of(r, rec->ts_us, &cpos)) {
		res->packets_late++;
		return;
	}
	/* extended timestamp and sequence order */
	int64_t ext;
	bool newer, back = false;
	if (!st->have) {
		ext = rec->rtp_ts;
		newer = true;
	} else {
		ext = st->hi_ext + (int32_t)(rec->rtp_ts - (uint32_t)st->hi_ext);
		int16_t ds = (int16_t)(rec->seq - st->hi_seq);
		newer = ext > st->hi_ext || (ext == st->hi_ext && ds > 0);
		/* Gateways and SBCs restart the timestamp within one SSRC on a
		 * re-INVITE (fax fallback, codec change, transfer, hold) while
		 * the sequence goes on (RFC 3550 5.1 wants neither).  The next
		 * packets in sequence with an older timestamp are that restart,
		 * not late packets: they start a segment at their capture time
		 * like a forward jump does.  Packets behind in sequence whose
		 * timestamp is far ahead are late ones from before it. */
		if (!newer && ds > 0 && ds <= SEQ_AHEAD_MAX) {
			newer = true;
			back = true;
		} else if (newer && ds < 0 && ds >= -SEQ_AHEAD_MAX &&
			   ext - st->hi_ext > (int64_t)ci.clock * TL_REANCHOR_MS / 1000) {
			newer = false;
		}
		if (!newer && st->alt && rec->seq == (uint16_t)(st->alt_seq + 1) &&
		    ext > st->alt_ext && ext - st->alt_ext <= (int64_t)ci.clock) {
			newer = true;
			back = true;
		}
	}
	bool fresh = !st->seg.active || st->seg.clock != ci.clock;
	int64_t at;
	if (fresh && !st->have && st->pre_off_us && ci.clock == st->pre_clock &&
	    cpos_of(r, rec->ts_us + st->pre_off_us, &at)) {
		/* the stream's first packet, at its start offset (pass 1) */
		tl_seg_continue(&st->seg, r->rate, ci.clock, ext, cpos, at);
	} else if (fresh) {
		gap_resolve(r, st);
		tl_seg_anchor(&st->seg, ci.clock, ext, cpos);
	} else if (back) {
		gap_resolve(r, st);
		jump_segment(r, st, rec->seq, ci.clock, ext, cpos);
		fresh = true;
	}
	int64_t pos, shift;
	enum tl_place pl = tl_seg_place(&st->seg, r->rate, ext, cpos, newer, &pos, &shift);
	if (pl == TL_DROP) {
		res->packets_late++;
		st->alt = true;
		st->alt_seq = rec->seq;
		st->alt_ext = ext;
		return;
	}
	res->drift_corrected_us += tl_muldiv(shift < 0 ? -shift : shift, ES_US_PER_SEC, r->rate);
	if (pl == TL_JUMP) {
		jump_segment(r, st, rec->seq, ci.clock, ext, cpos);
		pos = st->seg.anchor_pos + st->seg.corr;
	}
	if (pl != TL_PLACED)
		fresh = true;
	/* a packet filling a pending gap? */
	if (!newer && st->gap_n) {
		uint16_t k = (uint16_t)(rec->seq - st->gap_seq);
		if (k < st->gap_n)
			st->gap_filled |= (uint8_t)(1u << k);
	}
	if (newer) {
		if (st->gap_n)
			gap_resolve(r, st);
		if (st->cn_dec >= 0) {
			cn_fill(r, st, pos);
			st->cn_dec = -1;
		}
	}
	if (pos + ES_MAX(st->last_step, 1) <= r->tl.flushed && newer && st->have &&
	    (uint16_t)(rec->seq - st->hi_seq) == 1 && cpos >= r->tl.flushed) {
		/* The next packet in sequence, on time, yet its timestamp puts it
		 * behind what is final: the sender's clock runs slower than its
		 * packets (L16/11025 sent as 256 samples every 32 ms).  It is not
		 * late: it starts a segment at its capture time. */
		gap_resolve(r, st);
		tl_seg_anchor(&st->seg, ci.clock, ext, cpos);
		pos = cpos;
		fresh = true;
	}
	if (pos + ES_MAX(st->last_step, 1) <= r->tl.flushed) {
		res->packets_late++; /* its place has been written out already */
		goto track;
	}
	if (ci.id == CODEC_CN) {
		int di = -1;
		if (st->last_dec >= 0 &&
		    codec_comfort_noise(r->dec[st->last_dec].dec, rec->payload, rec->len) == 0)
			di = st->last_dec;
		if (di < 0) {
			di = dec_get(r, rec->stream, &ci);
			if (di < 0 || codec_decode(r->dec[di].dec, rec->payload, rec->len, r->pcm,
						   ES_ARRAY_LEN(r->pcm)) < 0) {
				res->packets_bad++;
				goto track;
			}
		}
		res->packets_decoded++;
		if (newer) {
			st->cn_dec = di;
			st->cn_pos = pos;
		}
		goto track;
	}
	int di = dec_get(r, rec->stream, &ci);
	if (di < 0) {
		res->packets_bad++;
		goto track;
	}
	list_add(res->codecs, sizeof(res->codecs), ci.name);
	int n = codec_decode(r->dec[di].dec, rec->payload, rec->len, r->pcm, ES_ARRAY_LEN(r->pcm));
	if (n < 0) {
		res->packets_bad++;
		goto track;
	}
	res->packets_decoded++;
	if (n == 0) {
		if (newer) { /* a SID frame: comfort noise until the next packet */
			st->cn_dec = di;
			st->cn_pos = pos;
		}
		goto track;
	}
	res->party_audio[st->party] = true;
	dec_emit(r, di, st->party, pos, r->pcm, (size_t)n);
	if (newer) {
		st->last_n = (size_t)n;
		st->last_step = tl_muldiv(n, r->rate, r->dec[di].in_rate);
		st->last_ticks = (uint32_t)tl_muldiv(n, ci.clock, r->dec[di].in_rate);
		st->last_dec = di;
	}
track:
	if (newer) {
		/* loss inside a continuing segment: seq skipped by k packets and
		 * the timestamp moved by exactly k + 1 frames */
		if (st->have && !fresh) {
			uint16_t miss = (uint16_t)(rec->seq - st->hi_seq - 1);
			if (miss >= 1 && miss <= GAP_MAX && st->last_ticks && st->last_dec >= 0 &&
			    ext - st->hi_ext == (int64_t)(miss + 1) * st->last_ticks) {
				st->gap_n = miss;
				st->gap_seq = (uint16_t)(st->hi_seq + 1);
				st->gap_filled = 0;
				st->gap_step = st->last_step;
				st->gap_pos = pos - (int64_t)miss * st->gap_step;
				st->gap_len = st->last_n;
				st->gap_dec = st->last_dec;
			} else if (miss > GAP_MAX && miss <= SEQ_AHEAD_MAX && st->last_step > 0) {
				/* too long to conceal: the hole stays silent, and
				 * the audio checks count it as missing */
				r->res->samples_missing += (uint64_t)miss * (uint64_t)st->last_step;
			}
		}
		st->have = true;
		st->hi_seq = rec->seq;
		st->hi_ext = ext;
		st->next_pos = pos + st->last_step;
	}
	if (cpos > r->max_cpos)
		r->max_cpos = cpos;
	flush_to(r, r->max_cpos - (int64_t)r->rate * TL_LAG_MS / 1000);
}

/* ---- passes ---------------------------------------------------------------------- */

static int fail(struct render *r, int rc, const char *what)
{
	if (r->err && r->errlen && !r->err[0])
		snprintf(r->err, r->errlen, "%s: record %llu: %s", r->path,
			 (unsigned long long)r->recno, what);
	return rc;
}

/* Pass 1, for each decodable audio packet: the stream's start offset.
 * Senders often hold their first packet and send it with the second (a
 * start burst): anchored at its capture time, the whole stream would sit
 * late until drift correction moved it back a millisecond at a time. */
static void pre_offset(struct rstream *st, const struct mlog_rec *rec, uint32_t clock)
{
	if (!st->pre_have) {
		st->pre_have = true;
		st->pre_clock = clock;
		st->pre_rtp = rec->rtp_ts;
		st->pre_ts = rec->ts_us;
		st->pre_off_us = 0;
		return;
	}
	int64_t dt = rec->ts_us - st->pre_ts;
	if (clock != st->pre_clock || dt < 0 || dt > PRE_WINDOW_US)
		return;
	int32_t ticks = (int32_t)(rec->rtp_ts - st->pre_rtp);
	if (ticks <= 0)
		return;
	int64_t off = dt - tl_muldiv(ticks, ES_US_PER_SEC, clock);
	if (off < st->pre_off_us && off >= -PRE_MAX_US)
		st->pre_off_us = off;
}

/* Pass 1: the recording rate and sample 0. */
static int scan(struct render *r, struct mlog_reader *lg)
{
	struct mlog_rec rec;
	bool found = false, wide = false;
	int rc;
	r->recno = 0;
	while ((rc = mlog_next(lg, &rec, r->err, r->errlen)) == 1) {
		r->recno++;
		if (rec.type == MLOG_REC_STREAM) {
			if ((rc = stream_declare(r, &rec)))
				return fail(r, rc, "out of memory");
		} else if (rec.type == MLOG_REC_PTMAP) {
			map_set(r, &rec);
		} else if (rec.type == MLOG_REC_RTP && rec.stream < r->nst &&
			   r->st[rec.stream].declared) {
			struct codec_info ci;
			if (!map_get(r, r->st[rec.stream].party, rec.pt, &ci) || !is_audio(&ci) ||
			    !in_span(r->o, rec.ts_us))
				continue;
			pre_offset(&r->st[rec.stream], &rec, ci.clock);
			found = true;
			wide |= ci.wideband;
		}
	}
	if (rc < 0)
		return rc;
	if (!found) {
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen, "%s: no decodable audio", r->path);
		return ES_ENOTFOUND;
	}
	/* sample 0: where the earliest stream's first packet belongs */
	bool first = true;
	for (unsigned i = 0; i < r->nst; i++) {
		const struct rstream *st = &r->st[i];
		if (st->pre_have && (first || st->pre_ts + st->pre_off_us < r->res->start_us))
			r->res->start_us = st->pre_ts + st->pre_off_us;
		first &= !st->pre_have;
	}
	r->rate = r->o->rate ? r->o->rate : wide ? 16000 : 8000;
	return 0;
}

static void render_free(struct render *r)
{
	for (int i = 0; i < MAX_DECODERS; i++)
		dec_free(r, i);
	tl_free(&r->tl);
	free(r->st);
	free(r);
}

/* Where render_run puts the file: one of path, mem, sink; or nowhere,
 * counting the frames it would hold (count). */
struct rdest {
	const char *path;
	struct es_buf *mem;
	media_sink_fn sink;
	void *ud;
	uint64_t frames; /* sink: the WAV's announced frames; count: the result */
	bool count;
};

/* media_render, media_render_mem and media_render_sink's passes. */
static int render_run(const char *mlog_path, struct rdest *d, const struct render_opts *o,
		      struct render_result *res, char *err, size_t errlen)
{
	if (!mlog_path || !(d->path || d->mem || d->sink || d->count) || !o || !res)
		return ES_EINVAL;
	if (o->rate && (o->rate < 8000 || o->rate > 48000))
		return ES_EINVAL;
	memset(res, 0, sizeof(*res));
	if (err && errlen)
		err[0] = '\0';
	struct mlog_reader *lg = NULL;
	int rc = mlog_open_keyed(&lg, mlog_path, o->mlog_keys, err, errlen);
	if (rc)
		return rc;
	struct render *r = calloc(1, sizeof(*r));
	if (!r) {
		mlog_reader_close(lg);
		return ES_ENOMEM;
	}
	r->path = mlog_path;
	r->o = o;
	r->res = res;
	r->err = err;
	r->errlen = errlen;
	rc = scan(r, lg);
	if (rc)
		goto out;
	/* pass 2 starts from a clean slate of maps and streams */
	memset(r->map, 0, sizeof(r->map));
	for (unsigned s = 0; s < r->nst; s++)
		r->st[s].declared = false;
	int64_t max_us = o->max_duration_us > 0 ? o->max_duration_us : DEFAULT_MAX_US;
	rc = tl_init(&r->tl, r->rate, tl_muldiv(ES_MIN(max_us, CAP_US), r->rate, ES_US_PER_SEC),
		     emit, r);
	if (rc)
		goto out;
	unsigned ch = o->mix ? 1 : 2;
	if (d->count)
		rc = 0;
	else if (d->mem)
		rc = media_writer_open_mem(&r->w, d->mem, mlog_path, o->format, r->rate, ch,
					   &o->writer, err, errlen);
	else if (d->sink)
		rc = media_writer_open_sink(&r->w, d->sink, d->ud, mlog_path, o->format, r->rate,
					    ch, d->frames, &o->writer, err, errlen);
	else
		rc = media_writer_open(&r->w, d->path, o->format, r->rate, ch, &o->writer, err,
				       errlen);
	if (rc)
		goto out;
	rc = mlog_rewind(lg);
	if (rc) {
		fail(r, rc, "cannot rewind");
		goto out;
	}
	struct mlog_rec rec;
	r->recno = 0;
	while ((rc = mlog_next(lg, &rec, err, errlen)) == 1) {
		r->recno++;
		rc = 0;
		if (rec.type == MLOG_REC_STREAM)
			rc = stream_declare(r, &rec);
		else if (rec.type == MLOG_REC_PTMAP)
			map_set(r, &rec);
		else if (rec.type == MLOG_REC_RTP)
			rtp_record(r, &rec);
		if (rc || r->tl.err) {
			rc = rc ? rc : r->tl.err;
			fail(r, rc, es_strerror(rc));
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	/* the end: everything up to the end of the last packet of any party */
	for (unsigned s = 0; s < r->nst; s++)
		gap_resolve(r, &r->st[s]);
	int64_t end = r->tl.end;
	rc = flush_to(r, end);
	if (rc) {
		fail(r, rc, es_strerror(rc));
		goto out;
	}
	res->rate = r->rate;
	res->channels = o->mix ? 1 : 2;
	res->duration_us = (int64_t)(r->frames_out * (uint64_t)ES_US_PER_SEC / r->rate);
	res->torn = mlog_torn(lg);
	d->frames = r->frames_out;
	if (d->count)
		goto out;
	struct media_writer *w = r->w;
	r->w = NULL;
	rc = media_writer_close(w, &res->bytes, err, errlen);
out:
	if (r->w)
		media_writer_abort(r->w);
	mlog_reader_close(lg);
	render_free(r);
	return rc;
}

int media_render(const char *mlog_path, const char *out_path, const struct render_opts *o,
		 struct render_result *res, char *err, size_t errlen)
{
	struct rdest d = {.path = out_path};
	return render_run(mlog_path, &d, o, res, err, errlen);
}

int media_render_mem(const char *mlog_path, struct es_buf *out, const struct render_opts *o,
		     struct render_result *res, char *err, size_t errlen)
{
	struct rdest d = {.mem = out};
	return render_run(mlog_path, &d, o, res, err, errlen);
}

int media_render_sink(const char *mlog_path, media_sink_fn sink, void *ud,
		      const struct render_opts *o, struct render_result *res, char *err,
		      size_t errlen)
{
	if (!sink || !o)
		return ES_EINVAL;
	struct rdest d = {.sink = sink, .ud = ud};
	if (o->format == MEDIA_WAV) {
		/* the header goes first and states the length: count it */
		struct render_opts co = *o;
		co.pcm_tap = NULL;
		struct rdest c = {.count = true};
		int rc = render_run(mlog_path, &c, &co, res, err, errlen);
		if (rc)
			return rc;
		d.frames = c.frames;
	}
	return render_run(mlog_path, &d, o, res, err, errlen);
}

/* ---- a call in progress: fed one record at a time (media.h) ------------------- */

struct media_live {
	struct render *r;
	struct render_opts o;
	struct render_result res;
	bool started;
};

int media_live_new(struct media_live **out, uint32_t rate,
		   void (*tap)(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
			       uint32_t rate),
		   void *ud)
{
	*out = NULL;
	if (rate && (rate < 8000 || rate > 48000))
		return ES_EINVAL;
	struct media_live *l = calloc(1, sizeof(*l));
	struct render *r = calloc(1, sizeof(*r));
	if (!l || !r) {
		free(l);
		free(r);
		return ES_ENOMEM;
	}
	l->r = r;
	l->o.rate = rate;
	l->o.pcm_tap = tap;
	l->o.pcm_tap_ud = ud;
	r->path = "live";
	r->o = &l->o;
	r->res = &l->res;
	*out = l;
	return 0;
}

/* The first decodable audio packet fixes sample 0 and the rate (no pass 1:
 * the rest of the log is not written yet). */
static int live_start(struct media_live *l, const struct mlog_rec *rec)
{
	struct render *r = l->r;
	struct codec_info ci;
	if (rec->stream >= r->nst || !r->st[rec->stream].declared ||
	    !map_get(r, r->st[rec->stream].party, rec->pt, &ci) || !is_audio(&ci))
		return 0;
	r->rate = l->o.rate ? l->o.rate : ci.wideband ? 16000 : 8000;
	l->res.start_us = rec->ts_us;
	int rc = tl_init(&r->tl, r->rate, tl_muldiv(DEFAULT_MAX_US, r->rate, ES_US_PER_SEC), emit, r);
	if (!rc)
		l->started = true;
	return rc;
}

int media_live_feed(struct media_live *l, const struct mlog_rec *rec)
{
	struct render *r = l->r;
	int rc = 0;
	if (rec->type == MLOG_REC_STREAM)
		return stream_declare(r, rec);
	if (rec->type == MLOG_REC_PTMAP) {
		map_set(r, rec);
		return 0;
	}
	if (rec->type != MLOG_REC_RTP)
		return 0;
	if (!l->started && (rc = live_start(l, rec)))
		return rc;
	if (!l->started)
		return 0;
	rtp_record(r, rec);
	return r->tl.err;
}

int media_live_end(struct media_live *l)
{
	struct render *r = l->r;
	if (!l->started)
		return 0;
	for (unsigned s = 0; s < r->nst; s++)
		gap_resolve(r, &r->st[s]);
	return flush_to(r, r->tl.end);
}

uint32_t media_live_rate(const struct media_live *l) { return l->started ? l->r->rate : 0; }
int64_t media_live_start_us(const struct media_live *l) { return l->started ? l->res.start_us : 0; }

void media_live_free(struct media_live *l)
{
	if (!l)
		return;
	render_free(l->r);
	free(l);
}
