/*
 * timeline.c - where decoded audio lands: a ring per party indexed by
 * absolute sample position, flushed in order once final; and the segment
 * clock that maps RTP timestamps to positions, anchored to capture time and
 * corrected for drift with a running minimum of the capture-vs-RTP offset.
 */
#include "media/media_internal.h"

#include <stdlib.h>
#include <string.h>

int tl_init(struct timeline *t, uint32_t rate, int64_t max_pos, tl_emit_fn emit, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->rate = rate;
	t->ring_len = (size_t)rate * TL_RING_SEC;
	t->max_pos = max_pos;
	t->emit = emit;
	t->ctx = ctx;
	for (unsigned p = 0; p < TL_PARTIES; p++) {
		t->ring[p] = calloc(t->ring_len, sizeof(int16_t));
		if (!t->ring[p]) {
			tl_free(t);
			return ES_ENOMEM;
		}
	}
	return 0;
}

void tl_free(struct timeline *t)
{
	for (unsigned p = 0; p < TL_PARTIES; p++) {
		free(t->ring[p]);
		t->ring[p] = NULL;
	}
}

int tl_flush(struct timeline *t, int64_t upto)
{
	if (upto > t->max_pos)
		upto = t->max_pos;
	while (!t->err && t->flushed < upto) {
		size_t off = (size_t)(t->flushed % (int64_t)t->ring_len);
		size_t n = t->ring_len - off;
		if ((int64_t)n > upto - t->flushed)
			n = (size_t)(upto - t->flushed);
		int rc = t->emit(t->ctx, t->ring[0] + off, t->ring[1] + off, n);
		if (rc)
			t->err = rc;
		for (unsigned p = 0; p < TL_PARTIES; p++)
			memset(t->ring[p] + off, 0, n * sizeof(int16_t));
		t->flushed += (int64_t)n;
	}
	return t->err;
}

size_t tl_write(struct timeline *t, unsigned p, int64_t pos, const int16_t *s, size_t n)
{
	if (p >= TL_PARTIES || n == 0)
		return 0;
	if (pos >= t->max_pos)
		return 0;
	if ((int64_t)n > t->max_pos - pos)
		n = (size_t)(t->max_pos - pos);
	if (pos + (int64_t)n <= t->flushed)
		return 0;
	if (pos < t->flushed) {
		size_t skip = (size_t)(t->flushed - pos);
		s += skip;
		n -= skip;
		pos = t->flushed;
	}
	if (pos + (int64_t)n > t->flushed + (int64_t)t->ring_len)
		tl_flush(t, pos + (int64_t)n - (int64_t)t->ring_len);
	if (t->err)
		return 0;
	size_t off = (size_t)(pos % (int64_t)t->ring_len);
	size_t first = ES_MIN(n, t->ring_len - off);
	memcpy(t->ring[p] + off, s, first * sizeof(int16_t));
	if (n > first)
		memcpy(t->ring[p], s + first, (n - first) * sizeof(int16_t));
	if (pos + (int64_t)n > t->end)
		t->end = pos + (int64_t)n;
	return n;
}

/* ---- segment clock ----------------------------------------------------------- */

void tl_seg_anchor(struct tl_seg *s, uint32_t clock, int64_t ext, int64_t cpos)
{
	memset(s, 0, sizeof(*s));
	s->active = true;
	s->clock = clock;
	s->anchor_ext = ext;
	s->anchor_pos = cpos;
	s->first_cpos = cpos;
	s->last_cpos = cpos;
	for (unsigned i = 0; i < TL_WIN_BUCKETS; i++)
		s->bucket_id[i] = INT64_MIN;
}

/* Add offset d seen at capture position cpos; return the window minimum. */
static int64_t win_add(struct tl_seg *s, uint32_t rate, int64_t cpos, int64_t d)
{
	int64_t blen = (int64_t)rate * TL_BUCKET_MS / 1000;
	int64_t id = cpos >= 0 ? cpos / blen : -((-cpos + blen - 1) / blen);
	unsigned slot = (unsigned)(((id % TL_WIN_BUCKETS) + TL_WIN_BUCKETS) % TL_WIN_BUCKETS);
	if (s->bucket_id[slot] != id) {
		if (s->bucket_id[slot] == INT64_MIN || id > s->bucket_id[slot]) {
			s->bucket_id[slot] = id;
			s->bucket_min[slot] = d;
		}
		/* an older bucket's packet (capture time went back): ignore */
	} else if (d < s->bucket_min[slot]) {
		s->bucket_min[slot] = d;
	}
	int64_t newest = INT64_MIN;
	for (unsigned i = 0; i < TL_WIN_BUCKETS; i++)
		if (s->bucket_id[i] > newest)
			newest = s->bucket_id[i];
	int64_t m = INT64_MAX;
	for (unsigned i = 0; i < TL_WIN_BUCKETS; i++)
		if (s->bucket_id[i] != INT64_MIN && s->bucket_id[i] > newest - TL_WIN_BUCKETS &&
		    s->bucket_min[i] < m)
			m = s->bucket_min[i];
	return m == INT64_MAX ? d : m;
}

void tl_seg_continue(struct tl_seg *s, uint32_t rate, uint32_t clock, int64_t ext, int64_t cpos,
		     int64_t pos)
{
	tl_seg_anchor(s, clock, ext, cpos);
	s->corr = pos - cpos;
	/* this packet's own offset is 0; the stream's so far is corr */
	win_add(s, rate, cpos, ES_MIN(s->corr, 0));
}

enum tl_place tl_seg_place(struct tl_seg *s, uint32_t rate, int64_t ext, int64_t cpos,
			   bool newer, int64_t *pos, int64_t *shift)
{
	enum tl_place ret = TL_PLACED;
	*shift = 0;
	int64_t base = s->anchor_pos + tl_muldiv(ext - s->anchor_ext, rate, s->clock);
	int64_t d = cpos - base;
	int64_t far = (int64_t)rate * TL_REANCHOR_MS / 1000;
	/* After a pause the sender's timestamps may have moved by what it
	 * thought the pause lasted, not by what it did: that is not drift to
	 * be corrected a millisecond at a time but a new start. */
	int64_t near = (int64_t)rate * TL_DRIFT_MS / 1000;
	bool resumed = newer && cpos - s->last_cpos > (int64_t)rate * TL_RESUME_MS / 1000 &&
		       (d - s->corr > near || s->corr - d > near);
	bool jumped = d - s->corr > far || s->corr - d > far;
	if (jumped || resumed) {
		if (!newer)
			return TL_DROP;
		tl_seg_anchor(s, s->clock, ext, cpos);
		base = cpos;
		d = 0;
		ret = jumped && !resumed ? TL_JUMP : TL_NEW_SEGMENT;
	}
	if (newer) {
		s->last_cpos = cpos;
		/* The running minimum of d is the offset seen by the packets with
		 * the least network delay: jitter only ever adds to d. */
		int64_t m = win_add(s, rate, cpos, d);
		int64_t window = (int64_t)rate * TL_BUCKET_MS * TL_WIN_BUCKETS / 1000;
		int64_t thr = (int64_t)rate *
			      (cpos - s->first_cpos < window ? TL_SETTLE_MS : TL_DRIFT_MS) / 1000;
		int64_t diff = m - s->corr;
		if (!s->correcting && (diff > thr || -diff > thr))
			s->correcting = true;
		if (s->correcting) {
			int64_t step = (int64_t)rate * TL_STEP_US / 1000000;
			if (step < 1)
				step = 1;
			int64_t mv = diff > step ? step : diff < -step ? -step : diff;
			s->corr += mv;
			*shift = mv;
			if (s->corr == m)
				s->correcting = false;
		}
	}
	*pos = base + s->corr;
	return ret;
}
