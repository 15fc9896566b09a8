/*
 * render_internal.h - what the two halves of media rendering share:
 * render.c decodes one media-log record at a time into the timeline
 * (decoders, resampling, loss concealment, comfort noise, the writer),
 * render_passes.c drives it (the two passes over a finished log, and a call
 * in progress fed record by record).  Not a contract outside src/media/.
 */
#ifndef ES_MEDIA_RENDER_INTERNAL_H
#define ES_MEDIA_RENDER_INTERNAL_H

#include "media/media_internal.h"
#include "codec/codec.h"

#include <speex/speex_resampler.h>

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

/* render.c: a PTMAP record into r's payload-type maps. */
void render_map_set(struct render *r, const struct mlog_rec *rec);
/* render.c: what pt of party means (false: nothing known). */
bool render_map_get(struct render *r, unsigned party, uint8_t pt, struct codec_info *ci);
/* render.c: a STREAM record: the stream's party (ES_ENOMEM, ES_EFORMAT). */
int render_stream_declare(struct render *r, const struct mlog_rec *rec);
bool render_is_audio(const struct codec_info *ci);
/* render.c: whether ts_us lies within the call's signalled span. */
bool render_in_span(const struct render_opts *o, int64_t ts_us);
/* render.c: the timeline's output (tl_init's callback, ctx a struct render). */
int render_emit(void *ctx, const int16_t *a, const int16_t *b, size_t n);
/* render.c, pass 2: one RTP record into the timeline (errors in r->tl.err). */
void render_rtp_record(struct render *r, const struct mlog_rec *rec);
/* render.c: a pending gap of st settled (the stream's end or the log's). */
void render_gap_resolve(struct render *r, struct rstream *st);
/* render.c: everything below upto is final: to the writer. */
int render_flush_to(struct render *r, int64_t upto);
/* render.c: r with its decoders, timeline and streams (not r->w). */
void render_free(struct render *r);

#endif
