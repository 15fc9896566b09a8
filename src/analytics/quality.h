/*
 * quality.h - network quality of one RTP stream: the ITU-T G.107 E-model
 * (R-factor, MOS-CQ) with the codec impairments of ITU-T G.113 Appendix I,
 * burst-aware loss (the 2-state Markov model's BurstR), simulated receiver
 * jitter buffers (fixed 50 ms, fixed 200 ms, adaptive up to 500 ms), jitter
 * percentiles, the RTCP round trip (RFC 3550 6.4.1) and a time series in
 * 5 s bins.  Every formula and constant, with its source: docs/QUALITY.md.
 *
 * The caller (the recording engine) feeds plain per-packet values; every
 * call is O(1) and allocates only when the time series grows by doubling.
 * The results are plain numbers another module can test against thresholds.
 */
#ifndef ES_ANALYTICS_QUALITY_H
#define ES_ANALYTICS_QUALITY_H

#include "core/core.h"

/* ---- the E-model (ITU-T G.107, default parameters) ----------------------- */

/* One codec's equipment impairment Ie and packet-loss robustness Bpl. */
struct an_codec_imp {
	const char *name;   /* as in SDP (case-insensitive): "PCMU", "G729" ... */
	double ie;
	double bpl;
	const char *source; /* "G.113" or "earshot" (no G.113 value; see docs) */
};
/* The impairments of an SDP codec name; never NULL: an unknown codec gets
 * G.711's with PLC (Ie 0, Bpl 25.1) and source "default". */
const struct an_codec_imp *an_codec_imp(const char *name, size_t len);

/* G.107 delay impairment Idd for the absolute one-way delay ta_ms
 * (0 for ta_ms <= 100). */
double an_idd(double ta_ms);
/* G.107 effective equipment impairment: Ie + (95 - Ie) * Ppl / (Ppl/BurstR
 * + Bpl), Ppl in percent, BurstR >= 1 (1 = random loss). */
double an_ie_eff(double ie, double bpl, double ppl_pct, double burst_r);
/* R = 93.2 - Idd(ta_ms) - Ie,eff (the default values of every other
 * parameter give Ro - Is - Id(echo) = 93.2), clamped to 0..100. */
double an_r_factor(double ie, double bpl, double ppl_pct, double burst_r, double ta_ms);
/* MOS-CQ from R (G.107 Annex B): 1 for R < 0, 4.5 above 100. */
double an_mos(double r);
/* BurstR of the 2-state Markov model from counts of packets found and lost
 * and of the transitions found->lost and lost->found: 1/(p+q) with
 * p = P(lost | previous found), q = P(found | previous lost); 1 when there
 * is no loss or not enough data. */
double an_burst_r(uint64_t found, uint64_t lost, uint64_t found_lost, uint64_t lost_found);

/* ---- one stream --------------------------------------------------------- */

enum { AN_JB_50 = 0, AN_JB_200 = 1, AN_JB_ADAPTIVE = 2, AN_NJB = 3 };
#define AN_JB_ADAPTIVE_MIN_MS 20.0
#define AN_JB_ADAPTIVE_START_MS 40.0
#define AN_JB_ADAPTIVE_MAX_MS 500.0
#define AN_BIN_US 5000000      /* the time series' bin */
#define AN_MAX_BINS 17280      /* 24 h of bins; later packets go to the last */
#define AN_JITTER_BINS 18
#define AN_GAP_RESTART 3000    /* a sequence jump this long is a restart */

/* Packets found and lost in sequence order, with the runs of loss. */
struct an_loss {
	uint32_t found;
	uint32_t lost;
	uint32_t found_lost;   /* transitions found -> lost */
	uint32_t lost_found;   /* transitions lost -> found */
	uint32_t run;          /* current run of losses */
	uint32_t longest;      /* longest run of losses */
	bool last_lost;
	bool started;
};

/* One 5 s bin: packets expected and lost (sequence gaps), packets late
 * for the adaptive buffer, largest RFC 3550 jitter in 0.1 ms. */
struct an_bin {
	uint16_t expected;
	uint16_t lost;
	uint16_t late;
	uint16_t jitter_dms;
};

struct an_stream {
	struct an_loss net;               /* the network's loss */
	struct an_loss jb[AN_NJB];        /* loss + late, per buffer */
	double anchor_ms[2];              /* the fixed buffers' reference transit */
	double min_transit_ms;            /* the adaptive buffer's reference */
	double ajb_ms;                    /* the adaptive buffer's size now */
	double ajb_max_ms;
	double ajb_sum_ms;                /* for its mean (its delay) */
	uint32_t ajb_n;
	bool have_transit;
	double jitter_max_ms;
	uint32_t jitter_hist[AN_JITTER_BINS];
	/* time series */
	struct an_bin *bins;              /* owned; NULL until the first packet */
	uint32_t nbins;
	uint32_t cap;
	int64_t t0_us;
	int64_t bin_end_us;
	bool bins_oom;                    /* the series stopped growing */
	/* RTCP round trip (RFC 3550 6.4.1, seen from the capture point) */
	uint32_t sr_ntp_mid[2];           /* the last two SRs of this stream */
	int64_t sr_us[2];
	unsigned sr_next;
	double rtt_sum_ms;
	double rtt_max_ms;
	uint32_t rtt_n;
	/* RTCP XR VoIP metrics (RFC 3611 4.7) reported about this stream */
	bool has_xr;
	uint8_t xr_loss_rate;             /* /256 */
	uint8_t xr_discard_rate;          /* /256 */
	uint8_t xr_r_factor;              /* 127 = unavailable */
	uint8_t xr_mos_cq;                /* x10, 127 = unavailable */
	uint16_t xr_rtt_ms;               /* round trip delay */
	uint16_t xr_end_system_ms;
};

void an_stream_init(struct an_stream *q);
void an_stream_free(struct an_stream *q);

/* One packet, in arrival order.  gap: packets missing just before it in
 * sequence order (0 in order); fills_gap: a late (reordered) packet whose
 * slot an earlier gap counted as lost: it takes that loss back, for the
 * network and for each buffer it is not too late for (gap is then
 * ignored); a duplicate is not passed at all.  transit_ms: arrival time
 * minus the packet's media time (RFC 3550 A.8 "transit"), any fixed
 * offset; has_transit false when the clock is unknown (telephone-event).
 * marker: the RTP marker bit (a talkspurt starts: buffers may re-sync).
 * jitter_ms: RFC 3550 jitter after this packet. */
void an_stream_packet(struct an_stream *q, int64_t arrival_us, uint32_t gap, bool fills_gap,
		      bool has_transit, double transit_ms, bool marker, double jitter_ms);
/* An RTCP SR from this stream's source: the middle 32 bits of its NTP
 * timestamp, captured at arrival_us. */
void an_stream_sr(struct an_stream *q, uint32_t ntp_mid, int64_t arrival_us);
/* A report block about this stream (LSR, DLSR in 1/65536 s), captured at
 * arrival_us: a round trip when LSR names an SR seen here. */
void an_stream_rr(struct an_stream *q, uint32_t lsr, uint32_t dlsr, int64_t arrival_us);

/* The figures of one stream, plain values. */
struct an_result {
	const struct an_codec_imp *codec;
	double ta_ms[AN_NJB];        /* one-way delay used for Idd */
	double loss_pct[AN_NJB];     /* lost + late for that buffer */
	double burst_r[AN_NJB];
	double r[AN_NJB];
	double mos[AN_NJB];
	double net_loss_pct;         /* sequence gaps only */
	double net_burst_r;
	uint32_t longest_burst;      /* longest run of lost packets */
	double jitter_p50_ms;        /* upper edge of the histogram bin */
	double jitter_p95_ms;
	double jitter_p99_ms;
	double jitter_max_ms;
	double adaptive_mean_ms;     /* the adaptive buffer's mean size */
	double adaptive_max_ms;
	double rtt_ms;               /* mean round trip, -1 without RTCP */
	double mos_min_bin;          /* lowest MOS of a 5 s bin, adaptive buffer */
	uint32_t packets;            /* found by the network tracker */
};
/* Compute the figures; codec NULL = the default impairments. */
void an_stream_result(const struct an_stream *q, const struct an_codec_imp *codec,
		      struct an_result *out);
/* The MOS of the adaptive buffer for bin i (random loss in the bin). */
double an_bin_mos(const struct an_stream *q, const struct an_result *r, uint32_t i);
/* The stream's figures and series as one JSON object appended to b
 * (shape: docs/QUALITY.md).  ES_ENOMEM. */
int an_stream_json(const struct an_stream *q, const struct an_result *r, struct es_buf *b);

/* Read back one number of a JSON object that an_stream_json wrote: key
 * at the top level (obj NULL) or inside the object obj ("jb50", "adaptive",
 * "xr").  ES_ENOTFOUND when absent (or null).  Only for this module's own
 * fixed layout, not a general JSON parser. */
int an_json_number(const char *json, const char *obj, const char *key, double *out);

#endif /* ES_ANALYTICS_QUALITY_H */
