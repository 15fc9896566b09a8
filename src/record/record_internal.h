/* record_internal.h - state shared by the engine's files. */
#ifndef ES_RECORD_INTERNAL_H
#define ES_RECORD_INTERNAL_H

#include "analytics/quality.h"
#include "media/media.h"
#include "record/record.h"
#include "rtp/rtp.h"
#include "sip/dialog.h"
#include "sip/rsmeta.h"

#define REC_MAX_PT 16
#define REC_MAX_ENDPOINTS 16

/* What one party announced it can receive (its SDP payload map). */
struct rec_ptmap {
	uint8_t pt;
	uint8_t channels; /* 0 = the codec's default (no SDP channel count) */
	uint32_t clock;
	char name[24];
};

struct rec_party_media {
	struct rec_ptmap map[REC_MAX_PT];
	unsigned nmap;
	int te_pt; /* telephone-event payload type, -1 none */
	char sdp_addr[ES_ADDR_STRLEN];
};

struct rec_rtcp {
	uint32_t sr;           /* sender reports from this stream's source */
	uint32_t rr_blocks;    /* report blocks about this stream */
	uint8_t fraction_lost_max;
	int32_t cum_lost;      /* last reported */
	double jitter_max_ms;  /* largest jitter reported about this stream */
};

struct rec_call;

struct rec_stream {
	struct rec_stream *next;  /* the call's streams */
	struct es_hnode node;     /* the engine's table by (src, dst, SSRC) */
	bool in_table;
	struct rec_call *call;
	/* the last payload type's clock and kind, valid while the call's
	 * payload maps are at media_gen */
	int cache_pt;
	uint32_t cache_clock;
	bool cache_te;
	unsigned cache_gen;
	struct es_addr src;
	struct es_addr dst;
	int party; /* sender: SIP_CALLER / SIP_CALLEE */
	bool video; /* an m=video stream: statistics only, not recorded */
	int ml_id; /* stream number in the call's media log, -1 = not yet */
	struct rtp_stats st;
	struct rec_rtcp rtcp;
	struct an_stream q; /* network quality (analytics/quality.h) */
};

struct rec_endpoint_ref {
	struct es_addr addr;
};

/* PCI pause/resume and DTMF masking of one call (pause.c). */
struct rec_pause {
	struct pol_pci pci;        /* the deciding rule's settings */
	bool paused;               /* no media of the call reaches the spool */
	int64_t since_us;          /* when the pause began */
	int64_t resumed_us;        /* when it ended: a frame captured before
				      but handled after (queued) is dropped */
	unsigned ev_seen;          /* the call's events already looked at */
	char keys[POL_DTMF_SEQ_MAX + 1]; /* the last DTMF keys, newest last */
	int64_t key_us;            /* when the newest came */
	int64_t mute_until_us[2];  /* mask_dtmf: a sender's audio is muted
				      until (a digit's tone) */
};

struct rec_call {
	struct sip_call *sip;
	struct rec_stream *streams;
	unsigned nstreams;
	struct rec_party_media media[2];
	struct rec_party_media video[2]; /* the first m=video line's map */
	unsigned media_gen; /* bumped when a payload map changes */
	struct rtp_dtmf_tracker dtmf[2];
	struct rec_endpoint_ref eps[REC_MAX_ENDPOINTS];
	unsigned neps;
	int64_t last_rtp_us;
	int64_t close_at_us; /* 0 = open */
	bool orphan;         /* created from RTP only */
	bool time_fixed;     /* a packet's capture time was corrected (import.c) */
	/* the media log (spool) of the call's RTP, opened on its first packet */
	struct mlog_writer *ml;
	char *ml_path;
	unsigned ml_nstreams;
	unsigned ml_gen;     /* media_gen + 1 whose payload maps are logged */
	int64_t ml_meta_answer; /* the answer time the log's metadata has */
	bool ml_failed;
	bool record;         /* the rules said to keep its audio */
	struct rec_siprec *siprec; /* a SIPREC recording session (srec.c), or NULL */
	const char *rule;    /* which rule decided (lives as long as the rules) */
	struct rec_pause pz;
	/* consent (consent.c): the rule's settings (NULL: none asked) */
	const struct pol_consent *consent;
	int direction;       /* enum pol_direction of the decision */
	unsigned consent_scanned; /* events looked at for DTMF consent */
	int8_t consent_hdr[2];    /* the header's last value per party: -1 none */
	int8_t consent_meta[2];   /* the same for SIPREC metadata */
	bool consent_drop[2];     /* stop spooling this party's audio */
	bool consent_done;        /* the decision is final (window passed) */
	bool no_consent;          /* at the end: required consent never came */
	unsigned consent_nev;     /* the call's events at the last check */
	char *consent_json;       /* the evidence, built at the end */
	const char *consent_state[2];
	/* what an end right now would decide (a crash: recover.c applies it
	 * from the log's metadata): parties to cut, no_consent, states */
	bool crash_drop[2];
	bool crash_no_consent;
	const char *crash_state[2];
	unsigned crash_sig;       /* the above in one number, 0 = no rule */
	unsigned ml_meta_consent; /* the crash_sig the log's metadata has */
	int64_t alert_check_us;   /* the last in-call alert check (alert_live.c) */
	/* packets the kernel's capture ring or earshot's worker queue dropped
	 * while the call was in progress (live.c): which call a lost packet
	 * belonged to is unknowable, so every call open then counts them */
	uint64_t capture_drops;
};

/* Calls that share one announced address (a media server or a B2BUA often
 * announces the same port in every call): the newest first. */
#define REC_EP_OWNERS 8

struct rec_ep_owner {
	struct rec_call *call;
	int party; /* receives at the address; sends from it */
	int line;  /* the SDP m= line that announced it (-1 learned) */
	bool video; /* announced by an m=video line */
};

/* An announced (or learned) address: packets to it are received by
 * `party` of an owner call, packets from it are sent by that party. */
struct rec_endpoint {
	struct es_hnode node;
	struct es_addr addr;
	unsigned nown;
	struct rec_ep_owner own[REC_EP_OWNERS];
};

/* fsync the folder that holds path, so that a rename into it is durable
 * (recording.c). */
int rec_fsync_dir_of(const char *path);

/* endpoints.c: the table of announced addresses (struct rec_endpoint by
 * address) and the payload maps of an SDP. */
struct rec_endpoint *rec_ep_find(struct es_htab *eps, const struct es_addr *a);
int rec_ep_owner_index(const struct rec_endpoint *ep, const struct rec_call *rc);
/* Announce addr as where `party` of rc receives (m= line `line`, -1 when
 * learned from a packet).  Several calls may share an address; the newest
 * announcement comes first. */
void rec_ep_add(struct es_htab *eps, struct rec_call *rc, int party, const struct es_addr *addr,
		int line, bool video);
/* Forget every address of rc. */
void rec_ep_release_call(struct es_htab *eps, struct rec_call *rc);
void rec_ep_free_all(struct es_htab *eps);
void rec_media_from_sdp(struct rec_party_media *pm, const struct sdp_media *m);

/* spool.c: the media log of each call while it is open. */
struct rec_spool {
	const char *dir;     /* NULL: no audio is kept */
	size_t buf_bytes;
	bool sync;           /* fsync when a log is flushed */
	const char *source;  /* "import", "live": kept in each log's metadata */
	uint64_t seq;        /* makes file names unique within a run */
	uint64_t errors;
	struct mlog_keys keys; /* keys.ud == NULL: plain logs */
};

/* Write what rc's log buffers now (live: at least every second). */
void rec_spool_flush(struct rec_spool *sp, struct rec_call *rc);
/* Append one RTP packet of stream s (sent by s->party) to rc's log. */
void rec_spool_rtp(struct rec_spool *sp, struct rec_call *rc, struct rec_stream *s,
		   const struct rtp_hdr *h, int64_t ts_us);
/* Append one SIP message of rc (as captured: the whole message) to rc's
 * log, opening it if needed: the call's raw data (raw.c). */
void rec_spool_sip(struct rec_spool *sp, struct rec_call *rc, const struct net_pkt *pkt,
		   const uint8_t *p, size_t len);
/* Close rc's log; returns its path (the caller owns it) or NULL when the
 * call had no RTP or the log failed. */
char *rec_spool_close(struct rec_spool *sp, struct rec_call *rc);
/* Drop rc's log writer without finishing it (the file stays). */
void rec_spool_discard(struct rec_call *rc);
/* The media log in the spool folder of the call call_id that started at
 * start_us (what the index and active.tsv say of it): a log named
 * START_US-*.mlog whose header's Call-ID is call_id (a dialog's) or whose
 * first metadata says call_id= (a SIPREC session's recorded call: the
 * header and the name's hash are the session's).  Its path into out; with
 * ml, also the log opened and rewound (the caller closes it).  0;
 * ES_ENOTFOUND when there is none (yet: a log just created may not hold
 * its header); ES_EIO when the folder cannot be read; the message in err. */
int rec_spool_find(const char *spool, const struct mlog_keys *keys, const char *call_id,
		   int64_t start_us, char *out, size_t cap, struct mlog_reader **ml, char *err,
		   size_t errlen);

/* srec.c: calls that are SIPREC recording sessions. */
struct rec_siprec;
int rec_srec_attach(struct rec_call *rc);
void rec_srec_free(struct rec_call *rc);
/* Consent statements of the metadata's participants (the RSMETA_CONSENT_NS
 * extension) as consent events, when the call's rule asks for consent. */
void rec_srec_consent(struct rec_call *rc);
/* Fold a metadata document into the call's. */
int rec_srec_meta(struct rec_call *rc, const struct rsmeta *update);
/* A metadata update in a request of the dialog (moved into rc, *update
 * zeroed): it applies when the request's 2xx is seen (rec_srec_response),
 * or at the end of the call when no final response was (rec_srec_settle). */
void rec_srec_stash(struct rec_call *rc, struct rsmeta *update, uint32_t cseq);
void rec_srec_response(struct rec_call *rc, uint32_t cseq, unsigned status);
void rec_srec_settle(struct rec_call *rc);
/* The party whose stream the recording client sends on m= line `line`. */
int rec_srec_party(const struct rec_call *rc, int line);
/* An SDP of the recording client: labels and pause/resume events. */
void rec_srec_sdp(struct rec_call *rc, const struct sdp *sdp, int64_t ts_us);
void rec_srec_decide(const struct pol_rules *rules, const struct rec_call *rc,
		     struct pol_decision *d);
/* The call's extra JSON with a "siprec" object added (valid while rc
 * lives); extra_json itself for other calls. */
const char *rec_srec_json(const struct rec_call *rc, const char *extra_json);
/* The parties and Call-ID a call is stored with: the signalling's, or for
 * a recording session the metadata's participants and original Call-ID.
 * Strings valid while rc lives. */
void rec_call_view(const struct rec_call *rc, struct idx_party out[2], const char **call_id);

/* consent.c: consent evidence of a call (policy/policy.h).  Each source
 * adds a call event of kind "consent"; rec_consent_check evaluates them,
 * stops the spooling of parties whose audio may not be kept (with a
 * "no_consent" event) and, at the end (ended), fills consent_state and
 * consent_json. */
void rec_consent_init(struct rec_call *rc, const struct pol_decision *d);
/* The configured header in message m sent by `party`. */
void rec_consent_header(struct rec_call *rc, const struct sip_msg *m, int party, int64_t ts_us);
/* New DTMF events (RTP or SIP INFO) of the configured keys. */
void rec_consent_scan(struct rec_call *rc);
/* SIPREC metadata consent of a participant (srec.c). */
void rec_consent_siprec(struct rec_call *rc, int party, bool yes, int64_t ts_us);
void rec_consent_check(struct rec_call *rc, int64_t now_us, bool ended);
/* At the end: drop from the media log at path the streams of parties
 * whose audio may not be kept; *gone when nothing is left (the file is
 * removed).  0, or an error code: the cut failed and the whole log was
 * removed (*gone then says whether that worked). */
/* keys: the spool's (NULL or keys->ud == NULL: plain logs only) */
int rec_consent_trim(const struct rec_call *rc, const char *path, const struct mlog_keys *keys,
		     bool *gone);
/* The same cut for a log without its call (recover.c): drop[p] says
 * which party's streams go; call_id names the call in the log. */
int rec_consent_cut(const char *path, const bool drop[2], const char *call_id,
		    const struct mlog_keys *keys, bool *gone);
void rec_consent_free(struct rec_call *rc);

/* engine.c: the engine's SIP tracker (active.c walks its calls). */
struct sip_tracker *rec_engine_tracker(struct rec_engine *e);
/* srec.c: is any stream of a recording session paused by its client? */
bool rec_srec_paused(const struct rec_call *rc);

/* engine.c: the host of a SIP URI, copied into out (NULL when uri is). */
const char *rec_uri_host(const char *uri, char *out, size_t cap);

/* pause.c: PCI pause/resume by command, DTMF sequence and max_pause, and
 * DTMF masking.  pause_set: ES_EEXIST when already in that state; by is
 * who or what ("api:alice", "dtmf:*1", "auto:max_pause", "cli"). */
void rec_pause_init(struct rec_call *rc, const struct pol_pci *pci);
int rec_pause_set(struct rec_call *rc, bool pause, int party, const char *by, int64_t now_us);
/* Look at the events added since the last call: DTMF keys (RFC 4733 or SIP
 * INFO) drive the sequences, and are masked when the rule says or while
 * paused (a card number typed during the pause). */
void rec_pause_events(struct rec_call *rc, int64_t now_us);
/* The automatic resume after max_pause. */
void rec_pause_tick(struct rec_call *rc, int64_t now_us);
/* One-way audio and dead air of a call in progress, raised to alerts once
 * a second at most (alert_live.c). */
void rec_alert_check(struct an_alerts *alerts, struct rec_call *rc, int64_t now_us);
/* Whether an RTP packet of sender must not reach the spool: the call is
 * paused, or (mask_dtmf) it is a telephone-event or audio during a
 * digit's tone. */
bool rec_pause_drop(struct rec_call *rc, int sender, bool te, int64_t ts_us);
/* pause_fill = tone: the frame to spool instead of a dropped one (a tone of
 * the same length in the frame's G.711 law, payload in buf[cap]); false
 * when none (not paused, silence, another codec). */
#define REC_FILL_MAX 1920
bool rec_pause_fill(const struct rec_call *rc, const struct rtp_hdr *h, bool te,
		    struct rtp_hdr *out, uint8_t *buf, size_t cap);

/* live_call.c: a deep copy of a finished call and its media log's path
 * (rec_live_call_free), or NULL when out of memory; live.c queues them. */
struct rec_live_call {
	struct rec_live_call *next;
	struct idx_call call;
	const char *media_log;
	struct es_arena mem; /* every string and array of call */
};
struct rec_live_call *rec_live_call_clone(const struct idx_call *c, const char *media_log);

/* finish.c */
/* Build the index row of a finished call; strings point into rc (valid
 * while rc lives) or into memory freed by rec_idx_call_free. */
int rec_call_to_idx(const struct rec_call *rc, const char *source, struct idx_call *out);
void rec_idx_call_free(struct idx_call *c);

/* ---- import (import.c): one capture file's frames, their capture times
 * checked against their neighbours (a frame that alone jumped gets its
 * neighbour's time, fixed = true); pulled by the merge (import_merge.c).
 * A frame's data is valid until the next rec_imp_next on the same reader. */
#define REC_IMP_AHEAD 3
struct rec_imp_frame {
	const uint8_t *data;
	size_t len;
	int64_t ts;
	uint64_t frame;
	bool fixed;
};
struct rec_imp_buf {
	uint8_t *data;
	size_t cap;
};
struct rec_imp {
	struct net_file *f;
	const char *path;
	struct rec_import_result *res; /* frames, first/last time, times_fixed, errors */
	struct rec_imp_frame q[REC_IMP_AHEAD]; /* read, not yet handed on (a ring) */
	struct rec_imp_buf buf[REC_IMP_AHEAD]; /* copies for q's slots */
	unsigned head, nq;
	bool started, eof;
	int64_t prev; /* the time of the frame handed on last */
};
/* Open path (res is cleared, and names the error); 0 or an error code. */
int rec_imp_open(struct rec_imp *r, const char *path, struct rec_import_result *res);
/* The next frame in file order, its time checked; false at the end or on an
 * error (in res). */
bool rec_imp_next(struct rec_imp *r, struct rec_imp_frame *out);
void rec_imp_close(struct rec_imp *r);

/* A stored recording's plaintext into fd (plain.c): its file (local, or
 * the bucket's copy fetched and checked: rec_recording_path; found again
 * once when it moved meanwhile) is checked against sha (hex) first, then decrypted with path's data key from
 * vault (NULL: the key counts as gone) or copied.  not_done ends the
 * message of a hash mismatch ("not redacted").  ES_ENOTFOUND: the file or
 * its key is gone; ES_ECRYPTO: altered. */
struct st_vault;
int rec_plain_into(const char *data_dir, struct st_vault *vault, const char *path,
		   const char *sha, bool encrypted, int fd, const char *not_done, char *err,
		   size_t errlen);

/* ---- the text analyses of stored transcripts (transcript_an.c) ------------------- */
struct tr_text;
/* A spoken number found in a channel: ms from the recording's start. */
struct rec_tr_span {
	char kind[32]; /* "card" or a pattern's kind */
	int64_t start_ms, end_ms;
	unsigned ndigits;
};
struct rec_tr_spans {
	struct rec_tr_span *span;
	size_t n;
	struct es_buf json; /* [{"kind","s","e","digits"}...], NUL-terminated */
};
/* Mask the spoken numbers of channel's words t in place (w->ta's patterns
 * and cards) and list their spans in out (rec_tr_spans_free, whatever the
 * outcome).  ES_ENOMEM. */
int rec_tr_mask(const struct rec_tr_worker *w, int channel, struct tr_text *t,
		struct rec_tr_spans *out);
void rec_tr_spans_free(struct rec_tr_spans *s);
/* The names in a queue folder (DATA/ledger/pending/: transcript leaves,
 * queued redactions) ending in suffix, at most max, in name order (the
 * queued time leads each name, so oldest first); with infix, only names
 * holding it after their 20-digit time.  0 and none for a missing folder;
 * ES_EIO (errno set) when it cannot be read; ES_ENOMEM with what was read.
 * The list is freed with rec_pending_names_free. */
int rec_pending_names(const char *dir, const char *suffix, const char *infix, size_t max,
		      char ***names, size_t *n);
void rec_pending_names_free(char **names, size_t n);
/* The call a job is about, as the worker reads it from the index. */
struct rec_tr_call {
	int64_t row;
	bool found;
	char path[512], sha[65];
	bool encrypted;
	unsigned channels;
	int64_t duration_us;
	char call_id[256], caller[128], callee[128], rule[128], source[16];
	int64_t start_us;
};
/* Both channels' stored transcripts analysed together (keywords, required
 * lists, sentiment) into the index's findings; the keyword hits of channel
 * raise the "keyword" alert.  err says why. */
int rec_tr_analyse_call(struct rec_tr_worker *w, const struct rec_tr_call *c, int channel,
			int64_t now_us, char *err, size_t errlen);

#endif
