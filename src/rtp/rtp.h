/*
 * rtp.h - RTP and RTCP parsing (RFC 3550), per-stream statistics (RFC 3550
 * A.1, A.3, A.8, computed the way Wireshark's RTP analysis does so that our
 * figures compare with tshark's), RFC 4733 telephone-events and the static
 * payload types of RFC 3551.
 */
#ifndef ES_RTP_H
#define ES_RTP_H

#include "core/core.h"

struct rtp_hdr {
	uint8_t version;
	bool padding;
	bool extension;
	uint8_t cc;
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload; /* after CSRCs, extension; padding removed */
	size_t payload_len;
};

/* Parse an RTP packet.  ES_ETRUNC when shorter than its header, CSRC list,
 * extension or padding says; ES_EPARSE when the version is not 2 or it is
 * RTCP (PT 72..76 with the marker bit, i.e. RTCP packet types 200..204). */
int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *h);

/* True when p looks like RTCP: version 2, packet type 192..223 (RFC 5761
 * section 4 rules for telling RTP and RTCP apart on one port). */
bool rtp_is_rtcp(const uint8_t *p, size_t len);

/* ---- RTCP --------------------------------------------------------------- */
struct rtcp_block {
	uint32_t ssrc;          /* source this block reports on */
	uint8_t fraction_lost;  /* /256 */
	int32_t cum_lost;       /* 24-bit signed */
	uint32_t ext_max_seq;
	uint32_t jitter;        /* timestamp units */
	uint32_t lsr;
	uint32_t dlsr;
};
#define RTCP_MAX_BLOCKS 31
struct rtcp_report {
	uint8_t type;           /* 200 SR or 201 RR */
	uint32_t sender_ssrc;
	bool has_sender_info;   /* SR only */
	uint64_t ntp;
	uint32_t rtp_ts;
	uint32_t sender_packets;
	uint32_t sender_octets;
	struct rtcp_block blocks[RTCP_MAX_BLOCKS];
	unsigned nblocks;
};
/* Parse a compound RTCP packet; SR and RR reports go to out[0..max) with
 * their count in *n; SDES, BYE, APP and others are checked for length and
 * skipped.  ES_EPARSE / ES_ETRUNC on malformed input (reports parsed before
 * the bad part are kept in out and *n). */
int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_report *out,
	       unsigned max, unsigned *n);

/* RTCP XR VoIP metrics (RFC 3611 section 4.7, block type 7): what an
 * endpoint reports about the stream it receives from ssrc.  Rates are
 * /256, MOS x10; 127 in r_factor, mos_lq, mos_cq (and signal/noise) means
 * unavailable (4.7.5, 4.7.6). */
struct rtcp_xr_voip {
	uint32_t reporter_ssrc;  /* the XR packet's sender */
	uint32_t ssrc;           /* the source reported on */
	uint8_t loss_rate, discard_rate, burst_density, gap_density;
	uint16_t burst_ms, gap_ms;
	uint16_t rtt_ms, end_system_ms;
	int8_t signal_dbm, noise_dbm;
	uint8_t rerl, gmin;
	uint8_t r_factor, ext_r_factor, mos_lq, mos_cq;
	uint8_t rx_config;
	uint16_t jb_nominal_ms, jb_max_ms, jb_abs_max_ms;
};
/* The VoIP metrics blocks of the XR packets (type 207) in a compound RTCP
 * packet, to out[0..max) with their count in *n; other packets and block
 * types are length-checked and skipped.  ES_EPARSE / ES_ETRUNC on
 * malformed input (blocks before the bad part are kept). */
int rtcp_parse_xr(const uint8_t *p, size_t len, struct rtcp_xr_voip *out, unsigned max,
		  unsigned *n);

/* ---- statistics ----------------------------------------------------------
 * One stream = one SSRC between one source and one destination.  The
 * figures follow Wireshark's RTP stream analysis (tshark -z rtp,streams):
 * packets counts every packet received; expected = extended sequence of
 * the LAST packet (not the highest: a late final packet lowers it, as in
 * tshark) - first sequence + 1; lost = expected - packets (negative when
 * duplicates outnumber losses, as tshark shows); jitter per RFC 3550 A.8
 * in milliseconds, using the payload type's clock rate.  A large sequence
 * jump is counted in seq_jumps and, like tshark, as loss: splitting a
 * restarted stream is the caller's decision. */
struct rtp_stats {
	uint32_t ssrc;
	uint64_t packets;
	uint64_t expected;
	int64_t lost;
	uint64_t duplicates;     /* same sequence number seen recently */
	uint64_t out_of_order;   /* sequence lower than the highest seen */
	uint64_t seq_jumps;      /* sequence jumps tshark would flag */
	uint64_t bytes;          /* payload bytes */
	double jitter_ms;        /* current */
	double jitter_max_ms;
	double jitter_mean_ms;
	double delta_max_ms;     /* largest gap between arrivals */
	int64_t first_us;
	int64_t last_us;
	uint8_t pts[8];          /* payload types seen, in order of first use */
	unsigned npts;
	uint32_t clock_rate;     /* last clock rate used, 0 = unknown */
	/* state, private to rtp_stats_update */
	uint16_t base_seq;
	uint16_t max_seq;
	uint32_t cycles;
	int64_t last_arrival_us;
	double last_transit;
	double jitter_sum;
	uint64_t jitter_n;
	uint32_t last_ts;
	uint64_t seen_window[2]; /* recent sequence numbers, for duplicates */
	bool started;
	bool under;              /* sequence below the first: wrapped */
	uint16_t seq_num;        /* last in-order sequence, for seq_jumps */
	uint8_t last_pt;
	uint32_t first_ts;
	int64_t ext_ts;          /* timestamp unwrapped from the first, in ticks */
	double delta_ms;         /* last arrival gap with a known clock */
};
void rtp_stats_init(struct rtp_stats *s, uint32_t ssrc);
/* Account one packet arriving at arrival_us; clock_rate 0 = unknown (jitter
 * is then not computed, as tshark does).  Pass 0 for telephone-event
 * packets too: tshark leaves them out of jitter (their timestamp is the
 * event's start), and so must we to match it. */
void rtp_stats_update(struct rtp_stats *s, const struct rtp_hdr *h,
		      int64_t arrival_us, uint32_t clock_rate);

/* ---- RFC 4733 telephone-events ----------------------------------------- */
struct rtp_event {
	uint8_t event;      /* 0-9, 10 '*', 11 '#', 12-15 A-D, 16 flash */
	bool end;
	uint8_t volume;
	uint16_t duration;  /* timestamp units */
};
int rtp_event_parse(const uint8_t *p, size_t len, struct rtp_event *e);
/* '0'..'9', '*', '#', 'A'..'D', '!' for flash, '?' otherwise. */
char rtp_event_char(uint8_t event);

/* One party's events become digits: the tracker reports each event once
 * (the first end packet, or a new event start timestamp ending the last). */
struct rtp_dtmf_tracker {
	bool active;
	bool reported;
	uint32_t ts;         /* RTP timestamp of the current event */
	uint8_t event;
	uint16_t duration;
	int64_t start_us;
	uint8_t volume;      /* of the current event's last packet */
};
struct rtp_dtmf {
	char digit;
	int64_t start_us;
	uint32_t duration_ts; /* timestamp units */
	uint8_t volume;
};
/* Feed one telephone-event packet; returns true and fills *out when a
 * digit is complete. */
bool rtp_dtmf_feed(struct rtp_dtmf_tracker *t, const struct rtp_hdr *h,
		   const struct rtp_event *e, int64_t arrival_us,
		   struct rtp_dtmf *out);

/* ---- payload types (RFC 3551 table 4/5) --------------------------------- */
struct rtp_pt_info {
	const char *name;   /* "PCMU", "PCMA", "G722", "G729", "GSM", ... */
	uint32_t clock;     /* RTP clock rate */
	uint8_t channels;
};
/* Static payload type info, or NULL for dynamic/unassigned ones. */
const struct rtp_pt_info *rtp_pt_static(uint8_t pt);

#endif /* ES_RTP_H */
