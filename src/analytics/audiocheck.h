/*
 * audiocheck.h - checks of a decoded recording (issue #17): per channel the
 * share of speech and the longest silence (from talk.c's voice activity
 * segments: one VAD for both), the clipping ratio, the RMS level, the
 * speech level and the noise floor in dBFS, the DC offset; per call
 * one-way audio, both sides silent, dead air, and completeness: the
 * recorded media against the call's answered span, with the audio missing
 * inside it from loss.  Flags come from thresholds in the [checks] section
 * of the configuration.  Every figure and default: docs/ANALYTICS.md.
 *
 * Streaming: an_check_feed takes any number of samples; the state is
 * constant (a level histogram per channel).  The caller owns the structs.
 */
#ifndef ES_ANALYTICS_AUDIOCHECK_H
#define ES_ANALYTICS_AUDIOCHECK_H

#include "analytics/talk.h"
#include "core/config.h"

#define AN_CHECK_CLIP_LEVEL 32000 /* |sample| at or above: clipped (G.711's top codes) */
#define AN_CHECK_HIST_DB 100      /* frame levels from -100 to 0 dBFS, 1 dB bins */

/* The thresholds ([checks] in the configuration). */
struct an_check_limits {
	int64_t dead_air_us;      /* dead_air: neither party speaks this long */
	double clipping_pct;      /* clipping: this share of a channel's samples clipped */
	double low_level_dbfs;    /* low_level: a speaking channel's speech level below */
	int64_t recording_gap_us; /* recording_gap: this much of the answered span missing */
};

void an_check_limits_default(struct an_check_limits *l);
/* Read [checks] (absent keys keep their value): ES_EPARSE with
 * "path:line: key: why" in err for a bad value or an unknown key. */
int an_check_conf(struct an_check_limits *l, const struct es_conf *c, char *err, size_t errlen);

struct an_check_chan {
	uint64_t n;                /* samples */
	int64_t sum;               /* their sum (DC) */
	double sumsq;              /* and sum of squares (RMS) */
	uint64_t clipped;
	double facc;               /* the current 10 ms frame's sum of squares */
	uint32_t fn;
	uint32_t hist[AN_CHECK_HIST_DB + 1]; /* complete frames by level */
	uint64_t frames;
};

struct an_check {
	struct an_check_chan ch[2]; /* 0 = caller, 1 = callee */
	uint32_t rate;
	uint32_t frame_len;
};

/* What the render knew, for completeness (all times in us; 0 = unknown). */
struct an_check_span {
	int64_t answer_us, end_us;      /* the call's answered span */
	int64_t rec_start_us, rec_dur_us; /* the recording's */
	uint64_t samples_concealed;     /* both parties, summed (short losses) */
	uint64_t samples_missing;       /* both parties, summed (longer holes) */
	bool cut;                       /* the engine could not spool all (recording_cut) */
};

struct an_check_result {
	struct {
		double speech_ratio;      /* share of the recording with speech */
		uint32_t longest_silence_ms;
		double clipping_pct;
		double rms_dbfs;          /* the whole channel */
		double speech_dbfs;       /* 95th percentile of 10 ms frame levels */
		double noise_floor_dbfs;  /* 10th percentile */
		double dc_offset;         /* mean sample, full scale = 1 */
		bool silent;              /* the VAD found no speech */
	} ch[2];
	uint32_t duration_ms;
	uint32_t dead_air_ms;         /* longest stretch neither party speaks */
	int64_t missing_head_ms;      /* answered but not yet recorded */
	int64_t missing_tail_ms;      /* answered, no longer recorded */
	int64_t lost_ms;              /* concealed or missing inside, per party on average */
	int64_t gap_ms;               /* the sum of the three */
	char flags[160];              /* "dead_air,clipping,..." or "" */
};

void an_check_init(struct an_check *c, uint32_t rate);
/* n samples of each party, aligned (as for an_talk_feed). */
void an_check_feed(struct an_check *c, const int16_t *caller, const int16_t *callee, size_t n);
/* The figures and flags, with the finished talk analysis of the same
 * samples (its segments; NULL = no speech known) and the span. */
void an_check_finish(const struct an_check *c, const struct an_talk *talk,
		     const struct an_check_span *span, const struct an_check_limits *l,
		     struct an_check_result *r);
/* r as one JSON object appended to b (NUL-terminated). */
int an_check_json(const struct an_check_result *r, struct es_buf *b);

#endif /* ES_ANALYTICS_AUDIOCHECK_H */
