/*
 * media_internal.h - the renderer's timeline (timeline.c), shared with
 * render.c.  Not part of the media.h contract.
 *
 * Positions are sample indexes at the recording rate; sample 0 is the
 * capture time of the call's first decodable audio packet.
 */
#ifndef ES_MEDIA_INTERNAL_H
#define ES_MEDIA_INTERNAL_H

#include "media/media.h"

#define TL_PARTIES 2
#define TL_RING_SEC 3       /* ring length: lag + 1 s re-anchor slack + margin */
#define TL_LAG_MS 500       /* audio older than (capture position - lag) is final */
#define TL_WIN_BUCKETS 12   /* running-min window: 12 buckets ... */
#define TL_BUCKET_MS 250    /* ... of 250 ms = 3 s */
#define TL_REANCHOR_MS 1000 /* RTP vs capture disagreement that starts a segment */
#define TL_RESUME_MS 1000   /* a stream silent this long (pause, hold) whose
			       timestamps then disagree with capture time by
			       more than TL_DRIFT_MS also starts a segment */
#define TL_DRIFT_MS 10      /* correct when the running min is this far off */
#define TL_SETTLE_MS 2      /* the same during a segment's first window */
#define TL_STEP_US 1000     /* largest move of the anchor per packet */

/* Gets final audio: n samples of each party (b is NULL for one party). */
typedef int (*tl_emit_fn)(void *ctx, const int16_t *a, const int16_t *b, size_t n);

struct timeline {
	uint32_t rate;
	size_t ring_len;
	int16_t *ring[TL_PARTIES];
	int64_t flushed;  /* positions below are handed to emit */
	int64_t end;      /* one past the last sample written */
	int64_t max_pos;  /* nothing at or beyond is kept */
	tl_emit_fn emit;
	void *ctx;
	int err;          /* first error from emit */
};

int tl_init(struct timeline *t, uint32_t rate, int64_t max_pos, tl_emit_fn emit, void *ctx);
void tl_free(struct timeline *t);
/* Write n samples of party p at pos (overwriting).  Returns the samples
 * kept: fewer when part lies before the flushed point (late) or beyond
 * max_pos.  Makes room by flushing when pos + n is beyond the ring. */
size_t tl_write(struct timeline *t, unsigned p, int64_t pos, const int16_t *s, size_t n);
/* Hand everything below upto (clipped to max_pos) to emit; ring slots are
 * reset to silence.  Returns t->err. */
int tl_flush(struct timeline *t, int64_t upto);

/* One segment of a stream: RTP time anchored to capture time. */
struct tl_seg {
	bool active;
	uint32_t clock;
	int64_t anchor_ext;  /* extended RTP timestamp at the anchor */
	int64_t anchor_pos;  /* its position */
	int64_t corr;        /* drift correction now applied, samples */
	int64_t first_cpos;  /* capture position of the segment's first packet */
	int64_t last_cpos;   /* of its newest packet */
	bool correcting;
	int64_t bucket_id[TL_WIN_BUCKETS];
	int64_t bucket_min[TL_WIN_BUCKETS];
};

/* TL_JUMP: re-anchored because the timestamp disagreed with capture time
 * by more than TL_REANCHOR_MS while the stream was running (a timestamp
 * jump, not a resumption after a pause). */
enum tl_place { TL_PLACED = 0, TL_NEW_SEGMENT = 1, TL_DROP = 2, TL_JUMP = 3 };

/* Start a segment at capture position cpos for extended timestamp ext. */
void tl_seg_anchor(struct tl_seg *s, uint32_t clock, int64_t ext, int64_t cpos);
/* Start a segment for a stream whose timestamp jumped while its audio went
 * on: the packet with timestamp ext captured at cpos continues at pos (the
 * end of the stream's previous packet), and the offset that placement
 * implies seeds the running minimum, so the jump moves nothing. */
void tl_seg_continue(struct tl_seg *s, uint32_t rate, uint32_t clock, int64_t ext, int64_t cpos,
		     int64_t pos);
/* The position of a packet with extended timestamp ext captured at cpos
 * (*pos).  newer: the packet is the stream's newest so far (only those may
 * re-anchor or move the correction).  TL_NEW_SEGMENT when it re-anchored
 * after a pause, TL_JUMP when it re-anchored on a jump, TL_DROP for an old
 * packet far from its place.  *shift gets the
 * correction moved (samples, signed). */
enum tl_place tl_seg_place(struct tl_seg *s, uint32_t rate, int64_t ext, int64_t cpos,
			   bool newer, int64_t *pos, int64_t *shift);

/* floor(a * num / den) for den > 0 without overflow in the usual ranges. */
static inline int64_t tl_muldiv(int64_t a, int64_t num, int64_t den)
{
	int64_t p = a * num;
	int64_t q = p / den;
	if ((p % den) != 0 && ((p < 0) != (den < 0)))
		q--;
	return q;
}

#endif /* ES_MEDIA_INTERNAL_H */
