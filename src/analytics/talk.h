/*
 * talk.h - talk metrics of a two-party call without words (issue #19): a
 * voice activity detector per channel on decoded 16-bit PCM (frame energy
 * against an adaptive noise floor, with a minimum onset and a hangover),
 * the speech segments it finds, and the conversation figures computed from
 * them: talk time and ratio, silence and dead air, overtalk, interruptions,
 * longest monologue, time to first words.  Every parameter and definition:
 * docs/ANALYTICS.md.
 *
 * Streaming: an_talk_feed takes any number of samples per call; the state
 * per channel is constant apart from the segment list, which is the
 * output (at most AN_TALK_MAX_SEGS per channel; later speech still counts
 * in no figure and sets "truncated").  The caller owns struct an_talk.
 */
#ifndef ES_ANALYTICS_TALK_H
#define ES_ANALYTICS_TALK_H

#include "core/core.h"

#define AN_TALK_FRAME_MS 10         /* analysis frame */
#define AN_TALK_MARGIN_DB 12.0      /* speech: this far above the noise floor */
#define AN_TALK_GATE_DBFS (-55.0)   /* ... and above this absolute level */
#define AN_TALK_FLOOR_INIT_DBFS (-60.0) /* floor before the window has filled */
#define AN_TALK_FLOOR_BLOCK_MS 1000 /* the floor: the minimum frame energy ... */
#define AN_TALK_FLOOR_BLOCKS 8      /* ... over the last 8 blocks of 1 s */
#define AN_TALK_ONSET_MS 50         /* speech must last this long to open a segment */
#define AN_TALK_HANGOVER_MS 300     /* pauses shorter than this do not end one */
#define AN_TALK_DEAD_AIR_MS 2000    /* a shared silence this long is dead air */
#define AN_TALK_INTERRUPT_MS 2000   /* the interrupted party stops within this */
#define AN_TALK_TURN_GAP_MS 2000    /* a pause this long ends a monologue */
#define AN_TALK_MAX_SEGS 20000      /* per channel */

/* One stretch of speech, in ms from the start of the recording. */
struct an_talk_seg {
	uint32_t start_ms;
	uint32_t end_ms;
};

/* The detector of one channel. */
struct an_vad {
	uint32_t frame_len;        /* samples per frame */
	uint32_t nin;              /* samples in the current frame */
	double acc;                /* their sum of squares */
	uint64_t frame;            /* frames completed */
	double block_min;          /* lowest frame energy of the current block */
	uint32_t block_frames;
	double mins[AN_TALK_FLOOR_BLOCKS]; /* the last blocks' minima (dBFS) */
	unsigned imin;
	uint32_t run;              /* consecutive speech frames before a segment */
	bool in_seg;
	uint64_t seg_start;        /* frames */
	uint64_t last_active;      /* end of the last speech frame (frames) */
	struct an_talk_seg *segs;  /* owned */
	uint32_t nsegs, cap;
	bool truncated;
	bool oom;
};

struct an_talk {
	struct an_vad ch[2];       /* 0 = caller, 1 = callee */
	uint32_t rate;
	uint64_t samples;          /* per channel fed so far */
};

/* The figures of one call (times in ms). */
struct an_talk_metrics {
	uint32_t duration_ms;
	uint32_t talk_ms[2];        /* per party: sum of its segments */
	double talk_ratio;          /* caller's share of all talk, 0..1; -1 = nobody spoke */
	uint32_t silence_ms;        /* neither speaks, over the whole recording */
	uint32_t dead_air_ms;       /* total of the shared silences >= AN_TALK_DEAD_AIR_MS
				       between the first and the last words */
	uint32_t dead_air_max_ms;   /* the longest shared silence there (any length) */
	uint32_t dead_air_count;
	uint32_t overtalk_ms;       /* both speak */
	uint32_t overtalk_count;    /* stretches where both speak */
	uint32_t interruptions[2];  /* by this party (definition in docs) */
	uint32_t monologue_ms[2];   /* the party's longest monologue */
	int64_t first_words_ms;     /* first segment's start, -1 = nobody spoke */
	int64_t first_words_party_ms[2];
	uint32_t nsegs[2];
	bool truncated;
};

/* rate: samples per second of both channels (8000, 16000 ...). */
int an_talk_init(struct an_talk *t, uint32_t rate);
void an_talk_free(struct an_talk *t);
/* n samples of each party, aligned on the recording's timeline. */
void an_talk_feed(struct an_talk *t, const int16_t *caller, const int16_t *callee, size_t n);
/* Close open segments and compute the figures.  ES_ENOMEM if a segment
 * list could not grow (the figures then miss its later speech). */
int an_talk_finish(struct an_talk *t, struct an_talk_metrics *m);
/* The figures from two sorted, non-overlapping segment lists (what
 * an_talk_finish uses; exposed for tests). */
void an_talk_compute(const struct an_talk_seg *a, uint32_t na, const struct an_talk_seg *b,
		     uint32_t nb, uint32_t duration_ms, struct an_talk_metrics *m);
/* The figures and both segment lists as one JSON object appended to b
 * (NUL-terminated): the call's figures at the top level, then "caller" and
 * "callee" objects with the party's figures and its segments as a flat
 * [start, end, start, end ...] list in ms (docs/ANALYTICS.md). */
int an_talk_json(const struct an_talk *t, const struct an_talk_metrics *m, struct es_buf *b);

#endif /* ES_ANALYTICS_TALK_H */
