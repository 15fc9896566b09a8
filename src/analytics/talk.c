/*
 * talk.c - voice activity per channel and the conversation figures from it
 * (talk.h; every parameter and definition: docs/ANALYTICS.md).
 */
#include "analytics/talk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES(ms) ((uint64_t)(ms) / AN_TALK_FRAME_MS)

/* ---- the detector ------------------------------------------------------------- */

static void vad_init(struct an_vad *v, uint32_t rate)
{
	memset(v, 0, sizeof(*v));
	v->frame_len = rate / (1000 / AN_TALK_FRAME_MS);
	if (!v->frame_len)
		v->frame_len = 1;
	v->block_min = HUGE_VAL;
	/* until the window has seen real blocks, a quiet line's floor */
	for (unsigned i = 0; i < AN_TALK_FLOOR_BLOCKS; i++)
		v->mins[i] = AN_TALK_FLOOR_INIT_DBFS;
}

static void seg_push(struct an_vad *v, uint64_t start, uint64_t end)
{
	if (v->nsegs == AN_TALK_MAX_SEGS) {
		v->truncated = true;
		return;
	}
	if (v->nsegs == v->cap) {
		uint32_t ncap = v->cap ? v->cap * 2 : 64;
		if (ncap > AN_TALK_MAX_SEGS)
			ncap = AN_TALK_MAX_SEGS;
		struct an_talk_seg *p = realloc(v->segs, ncap * sizeof(*p));
		if (!p) {
			v->oom = true;
			v->truncated = true;
			return;
		}
		v->segs = p;
		v->cap = ncap;
	}
	/* frames to ms; a call longer than 49 days saturates */
	uint64_t s = start * AN_TALK_FRAME_MS, e = end * AN_TALK_FRAME_MS;
	v->segs[v->nsegs].start_ms = (uint32_t)ES_MIN(s, UINT32_MAX);
	v->segs[v->nsegs].end_ms = (uint32_t)ES_MIN(e, UINT32_MAX);
	v->nsegs++;
}

/* The noise floor: the lowest frame energy of the last
 * AN_TALK_FLOOR_BLOCKS blocks and of the current one (minimum statistics:
 * speech has pauses, noise has none, so the minimum follows the noise). */
static double vad_floor(const struct an_vad *v)
{
	double f = v->block_min;
	for (unsigned i = 0; i < AN_TALK_FLOOR_BLOCKS; i++)
		f = ES_MIN(f, v->mins[i]);
	return f;
}

/* One complete frame of mean square ms (full scale = 1). */
static void vad_frame(struct an_vad *v, double ms)
{
	double db = 10.0 * log10(ms + 1e-12);
	if (db < v->block_min)
		v->block_min = db;
	bool active = db > vad_floor(v) + AN_TALK_MARGIN_DB && db > AN_TALK_GATE_DBFS;
	uint64_t f = v->frame;
	if (active) {
		if (!v->in_seg && ++v->run >= FRAMES(AN_TALK_ONSET_MS)) {
			v->in_seg = true;
			v->seg_start = f + 1 - v->run;
		}
		v->last_active = f + 1;
	} else {
		v->run = 0;
		/* the segment ends where its speech ended, not where the
		 * hangover ran out: times stay exact to a frame */
		if (v->in_seg && f + 1 - v->last_active >= FRAMES(AN_TALK_HANGOVER_MS)) {
			seg_push(v, v->seg_start, v->last_active);
			v->in_seg = false;
		}
	}
	v->frame++;
	if (++v->block_frames == FRAMES(AN_TALK_FLOOR_BLOCK_MS)) {
		v->mins[v->imin] = v->block_min;
		v->imin = (v->imin + 1) % AN_TALK_FLOOR_BLOCKS;
		v->block_min = HUGE_VAL;
		v->block_frames = 0;
	}
}

/* Squares are summed in integers a frame's run at a time (exact, and a loop
 * the compiler vectorises: this ran per sample in doubles and was a fifth
 * of a WAV recording's CPU), then scaled to full scale = 1. */
static void vad_feed(struct an_vad *v, const int16_t *x, size_t n)
{
	while (n) {
		size_t k = ES_MIN(n, (size_t)(v->frame_len - v->nin));
		int64_t sq = 0;
		for (size_t i = 0; i < k; i++)
			sq += (int32_t)x[i] * x[i];
		v->acc += (double)sq / (32768.0 * 32768.0);
		v->nin += (uint32_t)k;
		x += k;
		n -= k;
		if (v->nin == v->frame_len) {
			vad_frame(v, v->acc / v->nin);
			v->acc = 0;
			v->nin = 0;
		}
	}
}

static void vad_close(struct an_vad *v)
{
	if (v->in_seg)
		seg_push(v, v->seg_start, v->last_active);
	v->in_seg = false;
	v->run = 0;
}

int an_talk_init(struct an_talk *t, uint32_t rate)
{
	if (rate < 1000)
		return ES_EINVAL;
	memset(t, 0, sizeof(*t));
	t->rate = rate;
	vad_init(&t->ch[0], rate);
	vad_init(&t->ch[1], rate);
	return 0;
}

void an_talk_free(struct an_talk *t)
{
	free(t->ch[0].segs);
	free(t->ch[1].segs);
	memset(t, 0, sizeof(*t));
}

void an_talk_feed(struct an_talk *t, const int16_t *caller, const int16_t *callee, size_t n)
{
	vad_feed(&t->ch[0], caller, n);
	vad_feed(&t->ch[1], callee, n);
	t->samples += n;
}

/* ---- the figures ---------------------------------------------------------------- */

static uint32_t seg_len(const struct an_talk_seg *s)
{
	return s->end_ms - s->start_ms;
}

/* Overtalk: the intersections of the two lists (two pointers). */
static void overtalk(const struct an_talk_seg *a, uint32_t na, const struct an_talk_seg *b,
		     uint32_t nb, struct an_talk_metrics *m)
{
	uint32_t i = 0, j = 0, last_end = 0;
	while (i < na && j < nb) {
		uint32_t s = ES_MAX(a[i].start_ms, b[j].start_ms);
		uint32_t e = ES_MIN(a[i].end_ms, b[j].end_ms);
		if (s < e) {
			m->overtalk_ms += e - s;
			/* touching pieces are one stretch of overtalk */
			if (!m->overtalk_count || s != last_end)
				m->overtalk_count++;
			last_end = e;
		}
		if (a[i].end_ms < b[j].end_ms)
			i++;
		else
			j++;
	}
}

/* Silence and dead air: the gaps of the union of both lists. */
static void silences(const struct an_talk_seg *a, uint32_t na, const struct an_talk_seg *b,
		     uint32_t nb, uint32_t duration_ms, struct an_talk_metrics *m)
{
	uint32_t i = 0, j = 0, speech = 0, cur_s = 0, cur_e = 0;
	bool open = false;
	while (i < na || j < nb) {
		const struct an_talk_seg *s =
			j >= nb || (i < na && a[i].start_ms <= b[j].start_ms) ? &a[i++] : &b[j++];
		if (open && s->start_ms <= cur_e) {
			cur_e = ES_MAX(cur_e, s->end_ms);
			continue;
		}
		if (open) {
			speech += cur_e - cur_s;
			uint32_t gap = s->start_ms - cur_e;
			m->dead_air_max_ms = ES_MAX(m->dead_air_max_ms, gap);
			if (gap >= AN_TALK_DEAD_AIR_MS) {
				m->dead_air_ms += gap;
				m->dead_air_count++;
			}
		}
		open = true;
		cur_s = s->start_ms;
		cur_e = s->end_ms;
	}
	if (open)
		speech += cur_e - cur_s;
	m->silence_ms = duration_ms > speech ? duration_ms - speech : 0;
}

/* Interruptions by x of y: x starts while y speaks, y stops within
 * AN_TALK_INTERRUPT_MS of that start, and x is still speaking then. */
static uint32_t interruptions(const struct an_talk_seg *x, uint32_t nx, const struct an_talk_seg *y,
			      uint32_t ny)
{
	uint32_t n = 0, j = 0;
	for (uint32_t i = 0; i < nx; i++) {
		uint32_t t = x[i].start_ms;
		while (j < ny && y[j].end_ms <= t)
			j++;
		if (j < ny && y[j].start_ms < t && y[j].end_ms - t <= AN_TALK_INTERRUPT_MS &&
		    x[i].end_ms > y[j].end_ms)
			n++;
	}
	return n;
}

/* The longest monologue of x: its segments joined while its pauses are
 * shorter than AN_TALK_TURN_GAP_MS and y starts no segment after the
 * monologue began (y's overtalk or reply ends it). */
static uint32_t monologue(const struct an_talk_seg *x, uint32_t nx, const struct an_talk_seg *y,
			  uint32_t ny)
{
	uint32_t best = 0, j = 0, start = 0;
	for (uint32_t i = 0; i < nx; i++) {
		bool y_started = false;
		while (j < ny && y[j].start_ms <= x[i].start_ms) {
			if (i && y[j].start_ms >= start)
				y_started = true;
			j++;
		}
		if (!i || y_started || x[i].start_ms - x[i - 1].end_ms >= AN_TALK_TURN_GAP_MS)
			start = x[i].start_ms;
		best = ES_MAX(best, x[i].end_ms - start);
	}
	return best;
}

void an_talk_compute(const struct an_talk_seg *a, uint32_t na, const struct an_talk_seg *b,
		     uint32_t nb, uint32_t duration_ms, struct an_talk_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->duration_ms = duration_ms;
	m->nsegs[0] = na;
	m->nsegs[1] = nb;
	const struct an_talk_seg *l[2] = {a, b};
	uint32_t n[2] = {na, nb};
	for (int p = 0; p < 2; p++) {
		for (uint32_t i = 0; i < n[p]; i++)
			m->talk_ms[p] += seg_len(&l[p][i]);
		m->first_words_party_ms[p] = n[p] ? (int64_t)l[p][0].start_ms : -1;
		m->interruptions[p] = interruptions(l[p], n[p], l[!p], n[!p]);
		m->monologue_ms[p] = monologue(l[p], n[p], l[!p], n[!p]);
	}
	uint64_t total = (uint64_t)m->talk_ms[0] + m->talk_ms[1];
	m->talk_ratio = total ? (double)m->talk_ms[0] / (double)total : -1;
	int64_t f0 = m->first_words_party_ms[0], f1 = m->first_words_party_ms[1];
	m->first_words_ms = f0 < 0 ? f1 : f1 < 0 ? f0 : ES_MIN(f0, f1);
	overtalk(a, na, b, nb, m);
	silences(a, na, b, nb, duration_ms, m);
}

int an_talk_finish(struct an_talk *t, struct an_talk_metrics *m)
{
	vad_close(&t->ch[0]);
	vad_close(&t->ch[1]);
	uint64_t d = t->rate ? t->samples * 1000 / t->rate : 0;
	an_talk_compute(t->ch[0].segs, t->ch[0].nsegs, t->ch[1].segs, t->ch[1].nsegs,
			(uint32_t)ES_MIN(d, UINT32_MAX), m);
	m->truncated = t->ch[0].truncated || t->ch[1].truncated;
	return t->ch[0].oom || t->ch[1].oom ? ES_ENOMEM : 0;
}

int an_talk_json(const struct an_talk *t, const struct an_talk_metrics *m, struct es_buf *b)
{
	/* top-level numbers first, then one flat object per party (the layout
	 * an_json_number reads back) */
	int err = es_buf_printf(b, "{\"duration_ms\":%u,\"talk_ratio\":", m->duration_ms);
	if (!err)
		err = m->talk_ratio < 0 ? es_buf_printf(b, "null")
					: es_buf_printf(b, "%.4f", m->talk_ratio);
	if (!err)
		err = es_buf_printf(
			b,
			",\"silence_ms\":%u,\"dead_air_ms\":%u,\"dead_air_max_ms\":%u,"
			"\"dead_air_count\":%u,\"overtalk_ms\":%u,\"overtalk_count\":%u,"
			"\"first_words_ms\":%lld,\"truncated\":%s",
			m->silence_ms, m->dead_air_ms, m->dead_air_max_ms, m->dead_air_count,
			m->overtalk_ms, m->overtalk_count, (long long)m->first_words_ms,
			m->truncated ? "true" : "false");
	static const char *const names[2] = {"caller", "callee"};
	for (int p = 0; p < 2 && !err; p++) {
		err = es_buf_printf(b,
				    ",\"%s\":{\"talk_ms\":%u,\"interruptions\":%u,"
				    "\"monologue_max_ms\":%u,\"first_words_ms\":%lld,\"segments\":[",
				    names[p], m->talk_ms[p], m->interruptions[p], m->monologue_ms[p],
				    (long long)m->first_words_party_ms[p]);
		for (uint32_t i = 0; i < t->ch[p].nsegs && !err; i++)
			err = es_buf_printf(b, "%s%u,%u", i ? "," : "", t->ch[p].segs[i].start_ms,
					    t->ch[p].segs[i].end_ms);
		if (!err)
			err = es_buf_printf(b, "]}");
	}
	if (!err)
		err = es_buf_append(b, "}", 2);
	return err;
}
