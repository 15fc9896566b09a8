/*
 * audiocheck.c - checks of a decoded recording (audiocheck.h; every figure
 * and default: docs/ANALYTICS.md).  Speech and silence come from talk.c's
 * segments, so a call has one voice activity detector, not two.
 */
#include "analytics/audiocheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- thresholds ------------------------------------------------------------------ */

void an_check_limits_default(struct an_check_limits *l)
{
	l->dead_air_us = 10 * ES_US_PER_SEC;
	l->clipping_pct = 1.0;
	l->low_level_dbfs = -36.0;
	l->recording_gap_us = 5 * ES_US_PER_SEC;
}

/* A decimal in [lo, hi] from section [checks]. */
static int conf_double(const struct es_conf *c, const char *key, double lo, double hi,
		       double *out, char *err, size_t errlen)
{
	const struct es_conf_entry *e = es_conf_find(c, "checks", key);
	if (!e)
		return ES_ENOTFOUND;
	char *end;
	double v = strtod(e->value, &end);
	while (*end == ' ')
		end++;
	if (*end == '%' && !strcmp(key, "clipping"))
		end++;
	if (end == e->value || *end || !(v >= lo && v <= hi)) {
		snprintf(err, errlen, "%s:%u: %s: '%s' is not a number from %g to %g", c->path,
			 e->line, key, e->value, lo, hi);
		return ES_EPARSE;
	}
	*out = v;
	return 0;
}

int an_check_conf(struct an_check_limits *l, const struct es_conf *c, char *err, size_t errlen)
{
	static const char *const keys[] = {"dead_air", "clipping", "low_level", "recording_gap",
					   NULL};
	int rc = es_conf_check_keys(c, "checks", keys, err, errlen);
	if (rc)
		return rc;
	if ((rc = es_conf_duration(c, "checks", "dead_air", &l->dead_air_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = conf_double(c, "clipping", 0, 100, &l->clipping_pct, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = conf_double(c, "low_level", -100, 0, &l->low_level_dbfs, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_duration(c, "checks", "recording_gap", &l->recording_gap_us, err,
				   errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	return 0;
}

/* ---- the samples ------------------------------------------------------------------ */

void an_check_init(struct an_check *c, uint32_t rate)
{
	memset(c, 0, sizeof(*c));
	c->rate = rate;
	/* the same 10 ms frames as the talk analysis */
	c->frame_len = rate / (1000 / AN_TALK_FRAME_MS);
	if (!c->frame_len)
		c->frame_len = 1;
}

/* Sums in integers over a frame's run at a time (exact, vectorised: per
 * sample in doubles this was a tenth of a WAV recording's CPU). */
static void chan_feed(struct an_check_chan *ch, uint32_t frame_len, const int16_t *s, size_t n)
{
	ch->n += n;
	while (n) {
		size_t k = ES_MIN(n, (size_t)(frame_len - ch->fn));
		int64_t sum = 0, sq = 0, clipped = 0;
		for (size_t i = 0; i < k; i++) {
			int32_t x = s[i];
			sum += x;
			sq += x * x;
			clipped += x >= AN_CHECK_CLIP_LEVEL || x <= -AN_CHECK_CLIP_LEVEL;
		}
		ch->sum += sum;
		ch->sumsq += (double)sq;
		ch->clipped += (uint64_t)clipped;
		ch->facc += (double)sq;
		ch->fn += (uint32_t)k;
		s += k;
		n -= k;
		if (ch->fn == frame_len) {
			double ms = ch->facc / ((double)frame_len * 32768.0 * 32768.0);
			double db = 10.0 * log10(ms + 1e-12);
			int bin = (int)floor(db) + AN_CHECK_HIST_DB;
			ch->hist[ES_MAX(0, ES_MIN(bin, AN_CHECK_HIST_DB))]++;
			ch->frames++;
			ch->facc = 0;
			ch->fn = 0;
		}
	}
}

void an_check_feed(struct an_check *c, const int16_t *caller, const int16_t *callee, size_t n)
{
	chan_feed(&c->ch[0], c->frame_len, caller, n);
	chan_feed(&c->ch[1], c->frame_len, callee, n);
}

/* ---- the figures ------------------------------------------------------------------ */

/* The level (dBFS, bin's lower edge) under which a share p of the frames lie. */
static double hist_pct(const struct an_check_chan *ch, double p)
{
	if (!ch->frames)
		return -(double)AN_CHECK_HIST_DB;
	uint64_t want = (uint64_t)ceil(p * (double)ch->frames), acc = 0;
	for (int i = 0; i <= AN_CHECK_HIST_DB; i++) {
		acc += ch->hist[i];
		if (acc >= want && acc)
			return (double)(i - AN_CHECK_HIST_DB);
	}
	return 0;
}

/* The longest stretch of [0, dur) outside the sorted segments a and b
 * (b may be empty): a channel's silence, or with both, dead air. */
static uint32_t longest_gap(const struct an_talk_seg *a, uint32_t na,
			    const struct an_talk_seg *b, uint32_t nb, uint32_t dur)
{
	uint32_t best = 0, covered = 0, i = 0, k = 0;
	while (i < na || k < nb) {
		const struct an_talk_seg *s;
		if (k >= nb || (i < na && a[i].start_ms <= b[k].start_ms))
			s = &a[i++];
		else
			s = &b[k++];
		if (s->start_ms > covered)
			best = ES_MAX(best, s->start_ms - covered);
		covered = ES_MAX(covered, s->end_ms);
	}
	if (dur > covered)
		best = ES_MAX(best, dur - covered);
	return best;
}

static void add_flag(char *flags, size_t cap, const char *f)
{
	size_t l = strlen(flags);
	snprintf(flags + l, cap - l, "%s%s", l ? "," : "", f);
}

void an_check_finish(const struct an_check *c, const struct an_talk *talk,
		     const struct an_check_span *span, const struct an_check_limits *l,
		     struct an_check_result *r)
{
	memset(r, 0, sizeof(*r));
	uint64_t n = ES_MAX(c->ch[0].n, c->ch[1].n);
	r->duration_ms = c->rate ? (uint32_t)ES_MIN(n * 1000 / c->rate, UINT32_MAX) : 0;
	static const struct an_talk_seg none[1];
	const struct an_talk_seg *seg[2] = {none, none};
	uint32_t nseg[2] = {0, 0};
	for (int p = 0; p < 2 && talk; p++) {
		seg[p] = talk->ch[p].nsegs ? talk->ch[p].segs : none;
		nseg[p] = talk->ch[p].nsegs;
	}
	bool clipping = false, low = false;
	for (int p = 0; p < 2; p++) {
		const struct an_check_chan *ch = &c->ch[p];
		double cn = ch->n ? (double)ch->n : 1;
		uint64_t speech = 0;
		for (uint32_t i = 0; i < nseg[p]; i++)
			speech += seg[p][i].end_ms - seg[p][i].start_ms;
		r->ch[p].speech_ratio = r->duration_ms ? (double)speech / r->duration_ms : 0;
		r->ch[p].silent = nseg[p] == 0;
		r->ch[p].longest_silence_ms = longest_gap(seg[p], nseg[p], none, 0, r->duration_ms);
		r->ch[p].clipping_pct = 100.0 * (double)ch->clipped / cn;
		r->ch[p].rms_dbfs =
			10.0 * log10(ch->sumsq / (cn * 32768.0 * 32768.0) + 1e-12);
		r->ch[p].speech_dbfs = hist_pct(ch, 0.95);
		r->ch[p].noise_floor_dbfs = hist_pct(ch, 0.10);
		r->ch[p].dc_offset = (double)ch->sum / cn / 32768.0;
		clipping |= l->clipping_pct > 0 && r->ch[p].clipping_pct >= l->clipping_pct;
		low |= !r->ch[p].silent && r->ch[p].speech_dbfs < l->low_level_dbfs;
	}
	r->dead_air_ms = longest_gap(seg[0], nseg[0], seg[1], nseg[1], r->duration_ms);

	/* completeness: the answered span against the recorded one */
	if (span && span->answer_us && span->end_us > span->answer_us && span->rec_dur_us) {
		int64_t rec_end = span->rec_start_us + span->rec_dur_us;
		r->missing_head_ms = ES_MAX(0, span->rec_start_us - span->answer_us) / 1000;
		r->missing_tail_ms = ES_MAX(0, span->end_us - rec_end) / 1000;
	}
	if (span && c->rate)
		r->lost_ms = (int64_t)((span->samples_concealed + span->samples_missing) * 1000 /
				       c->rate);
	r->gap_ms = r->missing_head_ms + r->missing_tail_ms + r->lost_ms;

	char *f = r->flags;
	size_t cap = sizeof(r->flags);
	if (r->ch[0].silent && r->ch[1].silent)
		add_flag(f, cap, "both_silent");
	else if (r->ch[0].silent || r->ch[1].silent)
		add_flag(f, cap, r->ch[0].silent ? "one_way_audio,no_caller_speech"
						 : "one_way_audio,no_callee_speech");
	if (l->dead_air_us > 0 && (int64_t)r->dead_air_ms * 1000 >= l->dead_air_us)
		add_flag(f, cap, "dead_air");
	if (clipping)
		add_flag(f, cap, "clipping");
	if (low)
		add_flag(f, cap, "low_level");
	if ((span && span->cut) ||
	    (l->recording_gap_us > 0 && r->gap_ms * 1000 >= l->recording_gap_us))
		add_flag(f, cap, "recording_gap");
}

int an_check_json(const struct an_check_result *r, struct es_buf *b)
{
	int err = es_buf_printf(b,
				"{\"duration_ms\":%u,\"dead_air_ms\":%u,\"missing_head_ms\":%lld,"
				"\"missing_tail_ms\":%lld,\"lost_ms\":%lld,\"gap_ms\":%lld,"
				"\"flags\":\"%s\"",
				r->duration_ms, r->dead_air_ms, (long long)r->missing_head_ms,
				(long long)r->missing_tail_ms, (long long)r->lost_ms,
				(long long)r->gap_ms, r->flags);
	static const char *const names[2] = {"caller", "callee"};
	for (int p = 0; p < 2 && !err; p++)
		err = es_buf_printf(b,
				    ",\"%s\":{\"speech_ratio\":%.4f,\"longest_silence_ms\":%u,"
				    "\"clipping_pct\":%.4f,\"rms_dbfs\":%.1f,\"speech_dbfs\":%.0f,"
				    "\"noise_floor_dbfs\":%.0f,\"dc_offset\":%.4f,\"silent\":%s}",
				    names[p], r->ch[p].speech_ratio, r->ch[p].longest_silence_ms,
				    r->ch[p].clipping_pct, r->ch[p].rms_dbfs, r->ch[p].speech_dbfs,
				    r->ch[p].noise_floor_dbfs, r->ch[p].dc_offset,
				    r->ch[p].silent ? "true" : "false");
	if (!err)
		err = es_buf_append(b, "}", 2);
	return err;
}
