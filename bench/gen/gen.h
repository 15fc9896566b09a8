/*
 * gen.h - the parts of gen_calls (bench/gen_calls.c) shared between its
 * source files.
 *
 * CMake builds every C file directly in bench/ into its own program, so the generator is one
 * translation unit: bench/gen_calls.c #includes the files of bench/gen/ (all their
 * functions are static).  This is acceptable for a bench tool; the split is
 * by concern only: pkt.c frames the packets (link, IP, UDP, TCP,
 * fragmentation), sip_msgs.c writes SIP/SDP text, media.c writes RTP, RTCP
 * and RFC 4733 events, out.c orders and writes frames and keeps the truth,
 * call.c plans each call and plays it one event at a time.
 *
 * The event model: every call has a plan (its SIP steps with times, its two
 * RTP legs with a start time and a slot count) and is kept in a min-heap by
 * the time of its next event.  Playing an event builds frames and hands them
 * to the output heap, which orders them by capture time (stable) and writes
 * every frame older than the current time minus a small lag.  Memory is thus
 * bounded by the number of calls, not by the number of packets.
 */
#ifndef GEN_H
#define GEN_H

#include "core/core.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#define GEN_TAG "gen_calls"
#define GEN_MAX_CALLS 60000
#define GEN_MAX_STEPS 20
#define GEN_MAX_FRAGS 8
#define GEN_SNAPLEN 65535
/* Capture times start here: 2026-01-15T09:00:00Z. */
#define GEN_T0_US (INT64_C(1768467600) * ES_US_PER_SEC)
/* A duplicate follows its original by at most this much. */
#define GEN_DUP_DELTA_MAX_US 400
#define GEN_SIP_PORT 5060
#define GEN_PT_EVENT 101
#define GEN_DTMF_DIGITS "123#"
#define GEN_PT_VIDEO 99      /* H264/90000 (RFC 6184) */
#define GEN_VIDEO_BYTES 600  /* payload of every video packet */
#define GEN_VIDEO_PORT_CALLER 62000
#define GEN_VIDEO_PORT_CALLEE 62002

enum gen_linktype { LT_EN10MB, LT_RAW, LT_SLL, LT_NULL };

/* --tunnel layers (tunnel.c) */
enum gen_tunnel { TK_GRE, TK_ERSPAN2, TK_ERSPAN3, TK_VXLAN, TK_GENEVE, TK_IPIP, TK_IP6, TK_MPLS };
#define GEN_MAX_TUN 12

enum gen_outcome { OUT_ANSWERED, OUT_BUSY, OUT_NO_ANSWER, OUT_CANCELLED, OUT_REJECTED };

/* --codec: what the RTP carries (audio.c has the table).  GEN_CODEC_TONES is
 * the default without --codec, --audio-caller, --audio-callee and --drift:
 * fixed G.711 tones, each call PCMU or PCMA at random. */
enum gen_codec {
	GC_PCMU, GC_PCMA, GC_G722, GC_G726_32, GC_G729, GC_GSM, GC_OPUS, GC_L16,
	/* not in "mixed" (GC_MIXED_N): codecs earshot decoded later, and LPC */
	GC_SPEEX, GC_SPEEX_WB, GC_AMR, GC_AMR_BE, GC_AMR_WB, GC_G723, GC_LPC, GC_N
};
#define GC_MIXED_N GC_SPEEX
#define GEN_CODEC_TONES (-1)
#define GEN_CODEC_MIXED GC_N
#define GEN_AUDIO_MAX_S 300 /* longest source loop */

/* Where a call's capture starts (--missing-invite). */
enum gen_miss { MISS_NONE, MISS_FROM_200, MISS_RTP_ONLY };

struct gen_opts {
	const char *out_path;
	const char *truth_path;
	int ncalls;
	double duration_s;
	uint64_t seed;
	int ptime_ms;
	double loss_pct, reorder_pct, dup_pct;
	double burst_r; /* --burst: loss in runs (2-state Markov), 0/1 = random */
	int jitter_ms;
	bool dtmf, ipv6, tcp, fragment, reinvite, ssrc_change, ts_jump;
	bool missing_invite, fork, outcomes, rtcp;
	int vlan;                   /* 0 = none */
	int qinq_outer, qinq_inner; /* 0 = none */
	enum gen_linktype linktype;
	int concurrency; /* calls in progress at once; 0 = all of them */
	int codec;       /* enum gen_codec, GEN_CODEC_MIXED or GEN_CODEC_TONES */
	const char *audio_path[2]; /* [0] caller, [1] callee; NULL: synthetic */
	uint32_t party_base;       /* call i's parties are numbered party_base + i */
	double drift_ppm;          /* the callee's RTP clock, fast by this much */
	const char *audio_out;     /* prefix of the WAVs of both loops, or NULL */
	uint8_t tun[GEN_MAX_TUN];  /* --tunnel: enum gen_tunnel, outer first */
	int ntun;
	bool tun_callee_sip;       /* only the callee's SIP goes through them */
	bool sctp, ws;             /* SIP over SCTP; over WebSocket (sets tcp) */
	double challenge_s; /* every INVITE is first challenged (407), retried
			       this much later; 0 = none */
	double reuse_s;     /* the second half of the calls reuses the first
			       half's Call-IDs this much later; 0 = none */
	bool one_way;       /* recvonly offers answered sendonly: callee RTP only */
	bool stray;         /* a stray 200 to a BYE and a stray 403 per call */
	bool video;         /* an m=video line (H.264) and video RTP both ways */
};

/* splitmix64: small, fast, good enough for traffic. */
struct rng {
	uint64_t s;
};

/* What one RTP stream (keyed like tshark: src, dst, SSRC) really got in the
 * file; updated as frames are written, so it reflects loss, duplicates,
 * reordering and the capture start. */
struct call;

struct stream_truth {
	struct stream_truth *next;
	struct es_addr src, dst;
	uint32_t ssrc;
	bool signalled; /* an SDP naming it was captured before its media */
	/* RFC 3550 A.1/A.3 bookkeeping over the written packets */
	uint64_t packets;
	uint64_t dups; /* written copies of an already written packet */
	uint16_t base_seq, max_seq;
	uint32_t cycles; /* count of wraps * 65536 */
	uint64_t pt_mask[2];
	char digits[8];       /* DTMF sent in this stream, in order */
	uint8_t ndigits;
	uint8_t digits_written; /* bit i: some packet of digit i was written */
	/* audio mode (--codec ...) only */
	int8_t codec;         /* enum gen_codec; -1: tones */
	uint8_t side;         /* 0: the caller sends it, 1: the callee */
	int64_t first_us;     /* capture time of the first packet written */
	int64_t ts_jump_us;   /* --ts-jump: capture time of the first packet after
				 the timestamp jump; 0 none */
	uint32_t first_slot;  /* its slot in the leg */
	bool video;           /* --video: an H.264 stream */
};

enum frame_kind { FK_OTHER, FK_SIP, FK_RTP, FK_RTCP };

/* One captured frame, link header included. */
struct frame {
	int64_t ts;     /* capture time, µs */
	uint64_t order; /* creation order, makes the sort stable */
	struct call *call;
	struct stream_truth *st; /* RTP: the stream it counts for */
	uint16_t rtp_seq;
	uint8_t rtp_pt;
	uint8_t dtmf_idx; /* 0xff: not a DTMF event packet */
	uint8_t kind;     /* enum frame_kind */
	uint8_t sip_msgs; /* SIP messages that start in this frame */
	uint8_t dup;      /* RTP: a copy made by --dup */
	uint32_t rtp_slot; /* RTP: the slot of its leg */
	uint32_t len;
	uint8_t data[];
};

/* A SIP step of a call's plan. */
enum gen_msg {
	M_TCP_OPEN,
	M_INVITE,
	M_100,
	M_180,
	M_180_FORK,
	M_200_INV,
	M_ACK,
	M_REINVITE,
	M_200_RE,
	M_ACK_RE,
	M_BYE,
	M_200_BYE,
	M_CANCEL,
	M_200_CANCEL,
	M_487,
	M_FAIL,
	M_ACK_FAIL,
	M_TCP_CLOSE,
	M_INVITE_CH,    /* --challenge: the first INVITE, */
	M_407,          /* its 407 */
	M_ACK_407,      /* and its ACK */
	M_STRAY_200BYE, /* --stray: a 200 to a BYE of a garbled Call-ID */
	M_STRAY_403,    /* a 403 to an INVITE never sent */
};

#define STEP_COALESCE 0x01 /* TCP: same segment as the next step */
#define STEP_SPLIT 0x02    /* TCP: split over 2-3 segments */

struct step {
	int64_t t;
	uint8_t msg;
	uint8_t flags;
};

/* A stream switch planned on a leg. */
/* SW_TS_RESTART: the RTP timestamp restarts at the stream's first value
 * (same SSRC and sequence),
 * SW_TS_AHEAD: it jumps GEN_TS_AHEAD_S ahead: what gateways and SBCs do on
 * a re-INVITE (--ts-jump). */
enum sw_kind { SW_SRC_PORT, SW_DST_PORT, SW_SSRC, SW_TS_RESTART, SW_TS_AHEAD };
#define GEN_TS_AHEAD_S 10800

struct leg_switch {
	int64_t t;
	uint8_t kind;
	uint16_t port;
};

/* One direction of RTP: a run of slots every ptime from t_start. */
struct leg {
	struct es_addr src, dst;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts_base;
	uint8_t pt;
	const uint8_t *payload; /* tones: one ptime of G.711 tone */
	const struct enc_loop *enc; /* audio mode: the encoded loop; NULL: tones */
	uint16_t video_len;         /* --video: payload bytes of a video leg */
	uint32_t spp;               /* RTP timestamp units per packet */
	double drift;               /* 0: none; else slots run this much faster */
	int64_t t_start;
	uint32_t slot, nslots;
	struct leg_switch sw[3];
	uint8_t nsw, next_sw;
	bool ts_jump_pending; /* the next packet is the first after a timestamp jump */
	uint32_t dtmf_slot; /* UINT32_MAX: no DTMF */
	/* the current stream: its slots, and the last one that will be kept
	 * (drawn when the stream opens, so that it can be delayed past every
	 * other packet of the stream: see leg_open_stream) */
	struct stream_truth *st;
	uint32_t st_first_slot, st_last_slot, st_last_kept;
	uint32_t kept_in_stream;
	/* RTCP */
	int64_t rtcp_next;
	uint32_t sent_pkts, sent_octets;
	uint32_t rr_expected_prior, rr_received_prior;
	uint32_t gen_sent, gen_kept; /* current stream, for reports about it */
	bool in_loss; /* --burst: the Markov chain is in its loss state */
};

struct tcp_conn {
	uint16_t caller_port; /* ephemeral */
	uint32_t seq[2];      /* next sequence number (SCTP: TSN): [0] caller, [1] callee */
	uint16_t ssn[2];      /* SCTP stream sequence numbers */
	bool ws;              /* WebSocket: the callee listens on GEN_WS_PORT */
};

struct call {
	uint32_t idx;
	uint32_t party; /* its parties' number: --party-base + idx (5 digits) */
	struct rng rng; /* plan */
	struct rng imp; /* impairments, separate so they do not move the plan */
	enum gen_outcome outcome;
	int sip_code;
	enum gen_miss miss;
	int64_t capture_from;
	bool forked, fork_first, reinvite, ssrc_change, callee_bye, ts_jump;
	bool xacct, pai, frag_reverse, pcma;
	bool challenged, video;
	uint32_t cid_idx; /* the index in its Call-ID (--reuse-callid: another's) */
	uint64_t br_challenge, chal_tag;
	int8_t codec; /* enum gen_codec; -1: tones (see pcma) */
	uint16_t pad_len; /* --fragment: filler in the INVITE */
	struct es_addr caller_ip, callee_ip, fork_ip; /* port 5060 */
	uint16_t caller_rtp, caller_rtp2, callee_rtp;
	uint64_t callid, from_tag, to_tag, fork_tag;
	uint64_t br_invite, br_ack, br_reinvite, br_ack_re, br_bye;
	uint32_t cseq, callee_cseq;
	uint32_t sess_caller, sess_callee;
	uint16_t ip_id;
	const char *ua_caller, *ua_callee, *name;
	struct step steps[GEN_MAX_STEPS];
	uint8_t nsteps, next_step;
	struct leg leg[4]; /* [0] caller -> callee, [1] callee -> caller;
			      --video: [2] and [3] the same for video */
	uint8_t nlegs;
	struct tcp_conn tcp;
	int64_t t_invite, t_answer, t_end; /* t_answer 0: never answered */
	uint32_t sip_written;
	struct stream_truth *streams, **streams_tail;
	/* scheduler */
	int64_t next_t;
	size_t heap_pos;
};

/* A codec as offered in SDP and encoded by audio.c. */
struct codec_desc {
	const char *opt;    /* --codec name */
	const char *name;   /* SDP encoding name (RFC 3551, RFC 7587) */
	uint8_t pt;
	uint8_t sdp_chans;  /* rtpmap channels field, 0: none */
	uint32_t clock;     /* RTP clock rate */
	uint32_t rate;      /* sample rate of the audio it encodes */
	const char *fmtp;   /* NULL or the a=fmtp parameters */
};

/* One loop of a party's audio encoded with one codec: slot k of a leg
 * carries packet k % npkts. */
struct enc_loop {
	uint32_t npkts; /* 0: not built yet */
	uint32_t *off;  /* npkts + 1 offsets into data */
	uint8_t *data;
};

/* What a party sends in audio mode: the source (a WAV file or the synthetic
 * signal), looped; the loop is the source plus silence up to a whole number
 * of ptimes. */
struct audio_src {
	const char *path;   /* NULL: synthetic */
	uint32_t rate;      /* of the source */
	uint32_t src_len;   /* samples in the file (or the synthetic signal) */
	uint32_t loop_len;  /* samples in the loop */
	int16_t *pcm;       /* loop_len samples at rate */
	int16_t *at[2];     /* the loop at 8000 and 16000 Hz, made when needed */
	struct enc_loop enc[GC_N];
};

/* Output: frames ordered by capture time, then written. */
struct out {
	pcap_t *pd;
	pcap_dumper_t *dump;
	struct frame **heap;
	size_t n, cap;
	uint64_t order;
	bool io_error;
	/* bench/gen_live.c: each frame goes here, in capture-time order,
	 * instead of into a file (pd and dump stay NULL) */
	void (*live)(void *ud, const struct frame *f);
	void *live_ud;
	/* totals over written frames */
	uint64_t packets, rtp_packets, rtcp_packets, sip_messages, bytes;
};

struct gen {
	struct gen_opts o;
	struct call *calls;
	struct call **sched; /* min-heap by next_t */
	size_t nsched;
	struct out out;
	int64_t ptime_us;
	int64_t delay_max_us; /* largest delay any RTP frame can get */
	int64_t lag_us;       /* frames older than now - lag are final */
	uint8_t scratch[GEN_SNAPLEN];
	struct es_buf sip;    /* SIP text being built */
	struct es_buf body;   /* its SDP body */
	uint8_t tone[4][480]; /* [pcma][callee]: up to 60 ms of tone */
	/* --tunnel, --sctp, --ws */
	bool wrap;            /* the frames being built go through the tunnels */
	uint32_t tun_seq;     /* GRE sequence numbers, ERSPAN timestamps */
	uint16_t tun_ipid;
	struct es_buf ws;     /* WebSocket frames being sent */
	uint8_t tunbuf[GEN_SNAPLEN + 512];
	uint8_t scratch2[GEN_SNAPLEN]; /* an SCTP packet */
	uint8_t video_payload[GEN_VIDEO_BYTES]; /* a fixed H.264 slice */
	struct audio_src audio[2]; /* audio mode: [0] caller, [1] callee */
};

/* Defined in later parts of the one translation unit. */
struct gen_opts;
static struct frame *tun_frame(struct gen *g, struct call *c, const uint8_t *ip, size_t len,
			       int64_t t);
static void push_sip_frames(struct gen *g, struct call *c, struct frame **fr, int n,
			    uint8_t msgs, bool reverse);
static void sip_endpoints(const struct call *c, bool from_caller, struct es_addr *src,
			  struct es_addr *dst);
static void wrap_for(struct gen *g, bool sip, bool from_caller);
static void tcp_send(struct gen *g, struct call *c, bool from_caller, const uint8_t *data,
		     size_t len, bool split, bool allow_frag, uint8_t msgs, int64_t t);
static void sctp_send(struct gen *g, struct call *c, bool from_caller, const size_t *cut,
		      int ncut, uint8_t msgs, int64_t t);
static void ws_wrap(struct gen *g, struct call *c, bool from_caller, const size_t *cut, int ncut,
		    bool split);
static void ws_handshake(struct gen *g, struct call *c, int64_t t);

#endif /* GEN_H */
