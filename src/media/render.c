/*
 * render.c - one media-log record at a time into a recording: the decoding
 * half of rendering (render_passes.c drives it over a log or a live call).
 *
 * Each packet is decoded with one decoder per (stream, codec), resampled to
 * the recording rate when needed, and written into the timeline
 * (timeline.c) at the place its stream segment's clock gives; audio older
 * than the newest capture position minus TL_LAG_MS is final and goes to
 * the writer.
 *
 * Loss: a sequence jump of up to GAP_MAX packets whose timestamp advanced by
 * as many frames is concealed (codec_conceal) once the next packet shows the
 * missing ones did not arrive late; longer gaps are silence, or comfort
 * noise after a CN packet.  Mono mixing adds the two parties with
 * saturation (no halving: parties rarely talk at once, and halving would
 * make each quieter than in the stereo file).
 */
#include "media/render_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- lookups ------------------------------------------------------------------- */

void render_map_set(struct render *r, const struct mlog_rec *rec)
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
bool render_map_get(struct render *r, unsigned party, uint8_t pt, struct codec_info *ci)
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

int render_stream_declare(struct render *r, const struct mlog_rec *rec)
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

bool render_is_audio(const struct codec_info *ci)
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
bool render_in_span(const struct render_opts *o, int64_t ts_us)
{
	if (!o->span_start_us && !o->span_end_us)
		return true;
	if (o->span_start_us && ts_us < o->span_start_us - RENDER_SPAN_BEFORE_US)
		return false;
	return !o->span_end_us || o->span_end_us < o->span_start_us ||
	       ts_us <= o->span_end_us + RENDER_SPAN_AFTER_US;
}

/* ---- output ---------------------------------------------------------------------- */

int render_emit(void *ctx, const int16_t *a, const int16_t *b, size_t n)
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

void render_gap_resolve(struct render *r, struct rstream *st)
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
int render_flush_to(struct render *r, int64_t upto)
{
	if (upto <= r->tl.flushed)
		return r->tl.err;
	for (unsigned s = 0; s < r->nst; s++) {
		struct rstream *st = &r->st[s];
		if (st->gap_n && st->gap_pos < upto)
			render_gap_resolve(r, st);
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

void render_rtp_record(struct render *r, const struct mlog_rec *rec)
{
	struct render_result *res = r->res;
	res->packets++;
	if (rec->stream >= r->nst || !r->st[rec->stream].declared) {
		res->packets_bad++;
		return;
	}
	struct rstream *st = &r->st[rec->stream];
	struct codec_info ci;
	if (!render_map_get(r, st->party, rec->pt, &ci)) {
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
	if (!render_in_span(r->o, rec->ts_us)) {
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
		render_gap_resolve(r, st);
		tl_seg_anchor(&st->seg, ci.clock, ext, cpos);
	} else if (back) {
		render_gap_resolve(r, st);
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
			render_gap_resolve(r, st);
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
		render_gap_resolve(r, st);
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
	render_flush_to(r, r->max_cpos - (int64_t)r->rate * TL_LAG_MS / 1000);
}

void render_free(struct render *r)
{
	for (int i = 0; i < MAX_DECODERS; i++)
		dec_free(r, i);
	tl_free(&r->tl);
	free(r->st);
	free(r);
}
