/*
 * dialog.h - SIP call tracking: groups messages into calls by Call-ID,
 * follows the INVITE dialog (provisional, 2xx, ACK, BYE, CANCEL, final
 * failures, re-INVITE/UPDATE, forked early dialogs, calls whose INVITE was
 * not captured), counts retransmissions once, and reports each SDP with
 * the party that sent it.  It knows SIP only: RTP and storage are the
 * caller's business (record/).
 */
#ifndef ES_SIP_DIALOG_H
#define ES_SIP_DIALOG_H

#include "sip/sip.h"

enum sip_party { SIP_CALLER = 0, SIP_CALLEE = 1 };

enum sip_outcome {
	SIP_OUT_IN_PROGRESS = 0,
	SIP_OUT_ANSWERED,
	SIP_OUT_BUSY,       /* 486, 600 */
	SIP_OUT_NO_ANSWER,  /* 408, 480, or no final response at all */
	SIP_OUT_CANCELLED,  /* CANCEL or 487 */
	SIP_OUT_REJECTED,   /* other 4xx-6xx */
	SIP_OUT_REDIRECTED, /* 3xx */
};
const char *sip_outcome_name(enum sip_outcome o);

enum sip_end_reason {
	SIP_END_NONE = 0,
	SIP_END_BYE,
	SIP_END_CANCEL,
	SIP_END_FINAL,    /* final non-2xx response to the INVITE */
	SIP_END_TIMEOUT,  /* decided by the caller of the tracker */
	SIP_END_CAPTURE,  /* input ended */
	SIP_END_RTP_TIMEOUT,   /* answered, media stopped, no BYE (the caller decides) */
	SIP_END_MAX_DURATION,  /* reached the configured longest call */
	SIP_END_SESSION_TIMER, /* Session-Expires passed without a refresh (RFC 4028) */
	SIP_END_SHUTDOWN,      /* the recorder was stopped */
};
const char *sip_end_reason_name(enum sip_end_reason r);

/* One party as the signalling names it; malloc'd strings or NULL. */
struct sip_party_info {
	char *uri;
	char *user;
	char *display;
	char *pai;
	char *ua;
};

/* One message of the call's sequence, compact. */
struct sip_call_msg {
	int64_t ts_us;
	uint64_t frame;
	struct es_addr src;
	struct es_addr dst;
	uint8_t proto;           /* NET_PROTO_* value (6 TCP, 17 UDP) */
	bool retransmission;
	bool has_sdp;
	int8_t sender;           /* SIP_CALLER / SIP_CALLEE */
	uint32_t cseq;
	char cseq_method[12];
	char label[40];          /* "INVITE", "180 Ringing" */
};

/* Events of the signalling: re-INVITE, hold/resume, SIP INFO DTMF. */
struct sip_call_event {
	int64_t ts_us;
	int8_t party;
	char kind[16];
	char detail[48];
};

#define SIP_CALL_MAX_MSGS 512
#define SIP_CALL_MAX_EVENTS 256
#define SIP_CALL_MAX_TAGS 4

struct sip_call {
	struct es_hnode node;
	char *call_id;
	struct sip_party_info party[2];
	char *from_tag;                  /* the caller's tag */
	char *to_tags[SIP_CALL_MAX_TAGS]; /* callee tags seen (forks) */
	unsigned nto_tags;
	char *answered_tag;              /* the tag of the 2xx that won */
	char *extra_json;                /* configured extra headers, or NULL */

	int64_t start_us;                /* first message */
	int64_t invite_us;               /* initial INVITE, 0 if not seen */
	int64_t answer_us;
	int64_t end_us;
	int64_t last_sip_us;
	uint32_t invite_cseq;            /* CSeq of the latest initial INVITE */
	enum sip_outcome outcome;
	int sip_code;                    /* final response to the INVITE */
	enum sip_end_reason end_reason;
	bool invite_seen;
	bool cancel_seen;
	bool forked;
	bool challenged;                 /* the last final response was a 401/407
					    challenge: a retry may follow */
	bool hold[2];                    /* party currently on hold */
	bool siprec;                     /* a SIPREC recording session (RFC 7866):
					    the caller is the recording client */
	uint64_t invite_sig;             /* CSeq and Via branch of the latest
					    initial INVITE (reuse of the Call-ID) */
	uint32_t offerless_cseq;         /* CSeq of the latest INVITE without SDP:
					    its responses' SDP is the offer */
	uint32_t session_expires_s;      /* RFC 4028 interval of the last 2xx, 0 = none */
	int64_t session_refresh_us;      /* when it was last refreshed */

	struct sip_call_msg *msgs;
	unsigned nmsgs, msgs_cap;
	unsigned msgs_dropped;           /* beyond SIP_CALL_MAX_MSGS */
	struct sip_call_event *events;
	unsigned nevents, events_cap;
	uint64_t recent[16];             /* signatures, for retransmissions */
	unsigned nrecent;

	void *user;                      /* the tracker's user's per-call data */
};

/* Called for each SDP in the call: which party sent it, the parsed SDP
 * (valid during the callback only), and whether it is an offer. */
typedef void (*sip_sdp_fn)(void *ud, struct sip_call *c, enum sip_party from,
			   const struct sdp *sdp, int64_t ts_us);

struct sip_tracker_stats {
	uint64_t messages;       /* parsed SIP messages */
	uint64_t parse_errors;   /* payloads that looked like SIP but did not parse */
	uint64_t non_call;       /* REGISTER, OPTIONS, ... outside calls */
	uint64_t orphans;        /* responses (and ACK/CANCEL) with no call to
				    belong to: a stray 403, a 200 to a BYE */
	uint64_t late;           /* messages of a call already finished */
	uint64_t retransmissions;
	uint64_t calls;          /* calls created */
	uint64_t sdp_errors;     /* SDP bodies that did not parse */
};

struct sip_tracker_config {
	const char *const *extra_headers; /* names to keep, NULL-terminated */
	int64_t linger_us;                /* how long a finished Call-ID still
					     swallows stragglers (default 60 s) */
};

struct sip_tracker;
int sip_tracker_new(struct sip_tracker **out, const struct sip_tracker_config *cfg,
		    sip_sdp_fn on_sdp, void *ud);
void sip_tracker_free(struct sip_tracker *t);

/* Metadata of one message as captured. */
struct sip_meta {
	int64_t ts_us;
	uint64_t frame;
	struct es_addr src;
	struct es_addr dst;
	uint8_t proto;
};

/* Account one parsed message.  *call receives the call it belongs to (NULL
 * when it belongs to none: REGISTER, OPTIONS, late stragglers, orphans).
 * A message of an unknown Call-ID opens a call only when it proves a call
 * exists: an INVITE, an in-dialog request, or a 1xx/2xx to an INVITE
 * carrying SDP (a capture that starts mid-call). */
int sip_tracker_feed(struct sip_tracker *t, const struct sip_msg *m,
		     const struct sip_meta *meta, struct sip_call **call);

/* Take a call out of the tracker (the caller is done with it) and free it;
 * its Call-ID lingers (linger_us from last_us, the call's last activity)
 * so that stragglers are not taken for a new call.  A new initial INVITE
 * (another CSeq or branch than the call's last) opens a new call even
 * while the Call-ID lingers: the Call-ID was reused. */
void sip_tracker_release(struct sip_tracker *t, struct sip_call *c, int64_t last_us);
/* Forget lingering Call-IDs older than the linger time. */
void sip_tracker_expire(struct sip_tracker *t, int64_t now_us);

/* Iterate the live calls (see es_htab_next for pos/cur). */
struct sip_call *sip_tracker_next(struct sip_tracker *t, size_t *pos, struct es_hnode **cur);
size_t sip_tracker_count(const struct sip_tracker *t);
const struct sip_tracker_stats *sip_tracker_stats(const struct sip_tracker *t);

/* Record an event on the call (used by the tracker and by record/). */
void sip_call_add_event(struct sip_call *c, int64_t ts_us, int party,
			const char *kind, const char *detail);

#endif /* ES_SIP_DIALOG_H */
