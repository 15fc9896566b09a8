/*
 * record.h - the recording engine: captured frames in, finished calls out.
 * It is the one place that knows calls (sip/), streams (rtp/) and packets
 * (net/) together: it pairs RTP/RTCP with call parties through the SDP
 * endpoints (and learns NATed sources), keeps per-stream statistics and
 * DTMF, decides when a call is over, and hands each finished call to a
 * callback as an index row (index/).
 */
#ifndef ES_RECORD_H
#define ES_RECORD_H

#include "analytics/audiocheck.h"
#include "core/core.h"
#include "index/index.h"
#include "media/media.h"
#include "net/net.h"
#include "policy/policy.h"

#include <stdio.h>

struct st_vault;
struct an_alerts;
struct st_ledger;

struct rec_config {
	const char *const *extra_headers; /* SIP headers kept per call, NULL-terminated */
	int64_t end_linger_us;   /* a call stays open this long after BYE or a final
				    failure, for trailing RTP/RTCP (default 10 s) */
	int64_t challenge_wait_us; /* a call whose INVITE was challenged (401/407)
				    stays open this long for the retry with
				    the next CSeq (default 120 s) */
	int64_t idle_timeout_us; /* no SIP nor RTP for this long ends a call
				    (default 300 s) */
	int64_t rtp_timeout_us;  /* an answered call whose RTP stopped this long
				    ago (and no BYE) ends; 0 = off */
	int64_t max_duration_us; /* a call ends at this length; 0 = no limit */
	bool session_timers;     /* end calls whose Session-Expires passed */
	/* Recording rules, read at each new call; the pointer may be swapped
	 * by another thread (SIGHUP); NULL = record every call. */
	const struct pol_rules *_Atomic *rules;
	size_t sip_max_msg;      /* largest SIP message over TCP (default 64 KiB) */
	const char *source;      /* "import" (default) or "live" */
	const char *spool_dir;   /* each call's RTP payloads go to a media log
				    (media/mlog) here; NULL = no audio kept */
	size_t spool_buf_bytes;  /* buffered per call before a write (0 = 32 KiB) */
	bool spool_sync;         /* fsync a call's media log when it is flushed */
	int64_t spool_flush_us;  /* write each open call's media log at least
				    this often (capture time); 0 = when its
				    buffer fills and at the end */
	struct st_vault *spool_vault; /* media logs are encrypted (media/mlog.c
				    format 2) with keys wrapped by its KEK;
				    NULL = plain logs */
	struct an_alerts *alerts; /* one-way audio and dead air of calls in
				    progress are raised here, checked once a
				    second per call (alert_live.c); NULL = off */
	struct net_config net;
};
void rec_config_default(struct rec_config *cfg);

/* Why UDP/TCP payloads were not part of a call; all counted once. */
struct rec_stats {
	uint64_t sip_messages;
	uint64_t sip_parse_errors;   /* looked like SIP, did not parse */
	uint64_t sip_non_call;       /* REGISTER, OPTIONS, ... */
	uint64_t sip_late;           /* for a call already finished */
	uint64_t sip_orphans;        /* responses, ACK, CANCEL of no known call */
	uint64_t sip_retransmissions;
	uint64_t sdp_errors;
	uint64_t rtp_packets;        /* matched to a call */
	uint64_t rtcp_packets;       /* matched to a call */
	uint64_t rtp_no_call;        /* RTP-like, no call endpoint matches */
	uint64_t rtcp_no_call;
	uint64_t udp_other;          /* neither SIP nor RTP/RTCP */
	uint64_t tcp_not_sip;        /* TCP bytes that were not SIP */
	uint64_t calls;              /* calls finished and handed on */
	uint64_t streams;
	uint64_t active_calls;
	uint64_t max_active_calls;
	uint64_t spool_errors;       /* calls whose media log failed */
	uint64_t siprec_meta_errors; /* recording metadata refused (RFC 7865) */
	uint64_t call_bytes;         /* memory now held for active calls (approx.) */
	uint64_t max_call_bytes;
};

/* A finished call, valid during the callback only, and the path of its
 * media log (NULL when it had no RTP or no spool is configured): the
 * callback owns the file from then on.  Return non-zero to report an error
 * (counted; the engine goes on). */
typedef int (*rec_call_fn)(void *ud, struct idx_call *c, const char *media_log);

struct rec_engine;
int rec_engine_new(struct rec_engine **out, const struct rec_config *cfg,
		   rec_call_fn on_call, void *ud);
/* Frees everything; calls still open are dropped (call rec_engine_flush
 * first to hand them on). */
void rec_engine_free(struct rec_engine *e);

/* One captured frame (DLT link type dlt). */
int rec_engine_frame(struct rec_engine *e, int dlt, const uint8_t *data, size_t caplen,
		     int64_t ts_us, uint64_t frame);
/* The next frame's capture time was corrected (import found it alone
 * hours or seconds away from its neighbours): the call it belongs to gets
 * the flag capture_time_fixed. */
void rec_engine_time_fixed(struct rec_engine *e);
/* Finish every open call (end reason capture_end) and hand them on. */
void rec_engine_flush(struct rec_engine *e, int64_t now_us);
/* Live: finish every open call with end reason "shutdown". */
void rec_engine_shutdown(struct rec_engine *e, int64_t now_us);
/* Live: the clock moved to now_us without packets; end what is due and
 * flush media logs as configured. */
void rec_engine_tick(struct rec_engine *e, int64_t now_us);
/* A datagram already decoded by someone else (a dispatcher thread): a UDP
 * payload, or one whole SIP message framed from a TCP stream. */
void rec_engine_datagram(struct rec_engine *e, const struct net_pkt *pkt);
struct sip_call;
/* The decision for a new call under the rules (exposed for the
 * dispatcher and tests). */
void rec_decide(const struct pol_rules *rules, const struct sip_call *sc, struct pol_decision *d);

const struct rec_stats *rec_engine_stats(const struct rec_engine *e);
const struct net_stats *rec_engine_net_stats(const struct rec_engine *e);

/* ---- capture file import ------------------------------------------------ */
struct rec_progress {
	const char *path;
	uint64_t bytes_done;
	uint64_t bytes_total;
	uint64_t frames;
	uint64_t calls;
};
typedef void (*rec_progress_fn)(void *ud, const struct rec_progress *p);

struct rec_import_result {
	uint64_t frames;
	int64_t first_us;
	int64_t last_us;
	uint64_t times_fixed;  /* frames whose capture time alone jumped: given a
				  neighbour's (rec_engine_time_fixed) */
	int status;            /* 0, or the error that stopped the read */
	char error[256];       /* the message for status, naming file and frame */
};

/* Feed every frame of a capture file to the engine (the calls are not
 * flushed: several files may form one capture).  Returns 0 when the file
 * was read to its end; otherwise the error code, with res->error set.
 * Frames read before an error stay in the engine. */
int rec_import_file(struct rec_engine *e, const char *path, rec_progress_fn progress,
		    void *ud, struct rec_import_result *res);

/* Feed n capture files as one capture (import_merge.c): their frames merged
 * by capture time (equal times in the order given), so that the calls found
 * are the same whatever the order of the files, and a call split over two
 * rotated files is one call.  res has n entries, one per file (status,
 * error naming the file and frame, frames, first/last time).  Returns 0
 * when every file was read to its end, else the first error; what was read
 * stays in the engine.  At most REC_IMPORT_MAX_FILES files are open at once. */
#define REC_IMPORT_MAX_FILES 512
int rec_import_files(struct rec_engine *e, const char *const *paths, unsigned n,
		     rec_progress_fn progress, void *ud, struct rec_import_result *res);

/* ---- recordings ----------------------------------------------------------
 * A pool of worker threads renders finished calls' media logs into
 * recording files under the data folder (recordings/YYYY/MM/DD/<call
 * row>.<ext>, dated by the call's start in UTC), each fsynced and hashed
 * (SHA-256) before it is handed back, so that the index only ever names a
 * durable file.  Encoding is thus off the thread that reads packets. */
struct rec_store_config {
	const char *data_dir;
	struct render_opts render;
	unsigned threads;        /* 0 = one per online core (encode_threads = auto) */
	bool keep_media_log;     /* keep the spool file after rendering */
	bool no_raw;             /* remove the media log after rendering instead
				    of keeping it as the call's raw data */
	/* Encryption at rest: each recording is rendered in memory (never a
	 * plaintext file), then written encrypted, in the same pass that
	 * hashes it, with its own data key from this vault as <id>.<ext>.enc.
	 * NULL = plain files. */
	struct st_vault *vault;
	/* Thresholds of the audio checks ([checks]); NULL = the defaults. */
	const struct an_check_limits *checks;
};

struct rec_recorder;
int rec_recorder_new(struct rec_recorder **out, const struct rec_store_config *cfg);
/* Queue the media log of call row call_row (the path is copied); flag
 * (may be NULL), e.g. "recovered", is added to the recording's flags.
 * The call's start and end (0: unknown) bound its audio (render_opts
 * span); its answer (0: not answered) and cut (the engine could not spool
 * all of it) are what the audio checks measure completeness by. */
int rec_recorder_submit(struct rec_recorder *r, int64_t call_row, int64_t call_start_us,
			int64_t call_end_us, int64_t answer_us, bool cut, const char *media_log,
			const char *flag);
/* Jobs queued or being rendered. */
unsigned rec_recorder_pending(struct rec_recorder *r);

/* A finished call whose recording is still queued (queued.c): its media
 * log in DATA/spool, found by call_id and start_us and decrypted with the
 * vault's keys (NULL: plain logs), rendered into out as WAV with the span
 * rule of the encoder (the call's start and end).  ES_ENOTFOUND when the
 * spool has no log of the call (never spooled, or already encoded). */
int rec_queued_render(const char *data_dir, struct st_vault *vault, const char *call_id,
		      int64_t start_us, int64_t end_us, struct es_buf *out,
		      struct render_result *res, char *err, size_t errlen);

/* The backlog as status and metrics show it. */
struct rec_backlog {
	unsigned threads;     /* encoder threads running */
	unsigned pending;     /* queued, being encoded, or done but not yet entered */
	unsigned encoding;    /* being encoded now */
	unsigned encoding_max; /* the most encoded at once since the start */
	double oldest_s;      /* age of the oldest job not yet encoded; 0 = none */
};
void rec_recorder_backlog(struct rec_recorder *r, struct rec_backlog *out);

/* A finished job: rec is the row to enter in the index (strings valid
 * during the callback), or NULL with err ES_ENOTFOUND (no audio: no file)
 * or another error and its message. */
struct rec_done {
	int64_t call_row;
	const struct idx_recording *rec;
	const struct render_result *render;
	int err;
	const char *msg;
	const struct idx_call_talk *talk; /* talk metrics, NULL = none */
	const char *checks_json;          /* audio checks (analytics/audiocheck.h), NULL = none */
};
typedef void (*rec_done_fn)(void *ud, const struct rec_done *d);
/* Hand finished jobs to fn on the calling thread; with wait, until every
 * submitted job is done. */
void rec_recorder_drain(struct rec_recorder *r, bool wait, rec_done_fn fn, void *ud);
/* Stops the workers (after their current job; queued jobs are dropped and
 * their media logs kept). */
void rec_recorder_free(struct rec_recorder *r);

/* ---- the waveform of a recording (peaks.c) ------------------------------------
 * plain is the recording's plaintext as a readable, seekable stream (a
 * decrypting one for .enc files), owned and closed by this call; name is
 * used in messages.  out->v holds channels * points values, channel by
 * channel: v[c * points + i] = round(max |sample| of point i * 255 / 32768),
 * point i covering frames [ceil(i*T/N), ceil((i+1)*T/N)) of the T frames
 * the file announces.  ES_EFORMAT when the file does not state its length or
 * does not decode (err says why); out is the caller's (rec_peaks_free). */
struct rec_peaks {
	uint32_t rate;
	unsigned channels;
	unsigned points;
	uint64_t frames; /* frames read: the duration is frames / rate */
	uint8_t *v;
};
int rec_recording_peaks(FILE *plain, const char *name, unsigned points, struct rec_peaks *out,
			char *err, size_t errlen);
void rec_peaks_free(struct rec_peaks *p);

/* The stored waveform: a recording decoded once and reduced to
 * REC_PEAKS_STORED points (2 x 16,000 bytes for a stereo call), kept in
 * DATA/REC_PEAKS_DIR/<recording path>REC_PEAKS_SUFFIX, encrypted with the
 * recording's data key when the recording is encrypted (a waveform shows
 * when each party speaks).  The file binds the stored SHA-256 of the
 * recording it was made from:
 *     "ESPEAKS1", sha256 (64 hex), rate, channels, points (u32 BE),
 *     frames (u64 BE), then channels * points values as in rec_peaks. */
#define REC_PEAKS_STORED 16000
#define REC_PEAKS_STORED_MAX 65536
#define REC_PEAKS_DIR "peaks"
#define REC_PEAKS_SUFFIX ".peaks"
struct st_dek;
/* *buf (malloc'd, *len bytes) holds p bound to sha256 (64 hex digits). */
int rec_peaks_encode(const struct rec_peaks *p, const char *sha256, uint8_t **buf, size_t *len);
/* Parse a stored waveform.  ES_EFORMAT (err says why) when malformed;
 * ES_ENOTFOUND when sha256 (not NULL) is not the one it was made from. */
int rec_peaks_decode(const uint8_t *buf, size_t len, const char *sha256, struct rec_peaks *out,
		     char *err, size_t errlen);
/* points values per channel from base: point i is the largest of the base
 * points that overlap the stretch [i/points, (i+1)/points) of the file (so
 * an edge may show its neighbour's peak, by at most 1/REC_PEAKS_STORED of
 * the call).  ES_EINVAL, ES_ENOMEM. */
int rec_peaks_derive(const struct rec_peaks *base, unsigned points, struct rec_peaks *out);
/* DATA/peaks/<rec_path>.peaks into out (ES_ELIMIT when it does not fit). */
int rec_peaks_path(const char *data_dir, const char *rec_path, char *out, size_t cap);
/* Write p (bound to sha256) to path through a temporary file and a rename,
 * making the folders; encrypted with dek unless it is NULL. */
int rec_peaks_save(const char *path, const struct st_dek *dek, const struct rec_peaks *p,
		   const char *sha256, char *err, size_t errlen);
/* Read what rec_peaks_save wrote (with the same dek, or NULL): ES_ENOTFOUND
 * when there is none or it was made from another file than sha256; else
 * errors as rec_peaks_decode, ST_ECRYPTO when it does not authenticate. */
int rec_peaks_load(const char *path, const struct st_dek *dek, const char *sha256,
		   struct rec_peaks *out, char *err, size_t errlen);
/* Remove the stored waveform of rec_path (delete, shred); none is fine. */
int rec_peaks_drop(const char *data_dir, const char *rec_path);
/* buf to path through a temporary file, fsync and a rename, making the
 * folders; encrypted with dek (store/crypt.h) unless it is NULL.  The
 * waveform and the transcripts are stored this way. */
int rec_sealed_save(const char *path, const struct st_dek *dek, const void *buf, size_t len,
		    char *err, size_t errlen);

/* ---- transcripts (transcript.c) -------------------------------------------------
 * The transcription queue's worker: a due job's recording is decrypted in
 * memory (a memfd), decoded, its channel sent to the configured engine
 * (analytics/transcribe.h); the words are stored as
 * DATA/transcripts/<rec path>.<caller|callee>.json, encrypted with the
 * recording's own data key when the recording is encrypted (so shredding
 * the key makes the transcript unreadable too), and the searchable text
 * goes into the index (IDX_MIG_TRANSCRIPT).  A failed job is tried again
 * after backoff * 2^attempts (at most backoff_max), max_attempts times. */
#define REC_TR_DIR "transcripts"
struct ta_config;
struct ta_lexicon;
struct an_alerts;
struct tr_conf;
struct tr_engine;
/* The outage pause's state (transcript_pause.c); the worker's own. */
#define REC_TR_SUSPECTS 32
struct rec_tr_pause {
	bool paused;              /* no claims until resume_us */
	bool probing;             /* the pause is over: the next engine call decides */
	int errors;               /* engine failures in a row */
	int64_t since_us;         /* the outage's first pause began (0: none) */
	int64_t resume_us, pause_us;
	uint64_t answered;        /* engine calls answered (done or the job's fault) */
	uint64_t pauses;          /* pauses begun, probes that failed included */
	/* jobs whose engine call failed, and answered then: a job that fails
	 * again after the engine answered others is charged (its own fault) */
	struct {
		int64_t job;
		uint64_t answered;
	} suspect[REC_TR_SUSPECTS];
	unsigned nsuspect;
	char last_error[256];
	char state_path[4300];    /* DATA/run/transcribe-PID.tsv once written */
};
struct rec_tr_worker {
	const char *data_dir;
	struct idx *ix;
	struct st_vault *vault;          /* NULL: opened on first need */
	const struct tr_conf *conf;
	const struct tr_engine *engine;
	int max_attempts;                /* 0: 5 */
	int64_t backoff_us;              /* 0: 30 s */
	int64_t backoff_max_us;          /* 0: 1 h */
	/* the text analyses (analytics/textan.h) of each stored transcript:
	 * spoken numbers masked, keyword hits and sentiment into the index */
	const struct ta_config *ta;      /* NULL: no keyword lists, cards only */
	const struct ta_lexicon *lx;     /* NULL: no sentiment */
	struct an_alerts *alerts;        /* keyword hits raise "keyword"; NULL: none */
	/* a spoken number just masked in a channel's transcript: its audio
	 * span (ms from the recording's start, padded and inside it; channel
	 * "caller", "callee" or "both" for a mono mix) is the caller's to
	 * redact (cli/transcribe.c: rec_redact and the audit, as a manual
	 * redaction); NULL: not redacted.  Non-zero is logged. */
	int (*redact)(void *ud, int64_t call_row, const char *channel, int64_t from_ms,
		      int64_t to_ms, const char *kind);
	void *redact_ud;
	const char *owner;               /* this worker's name in the queue
					    (rec_tr_owner); NULL: none */
	/* the engine's outage (transcript_pause.c): after outage_after engine
	 * failures in a row (connection, timeout, HTTP 5xx/408/429) no job is
	 * claimed for outage_pause, doubled after each failed probe up to
	 * outage_pause_max; such failures spend no job's attempt */
	int outage_after;                /* 0: 5 */
	int64_t outage_pause_us;         /* 0: 10 s */
	int64_t outage_pause_max_us;     /* 0: 5 min */
	struct rec_tr_pause pause;       /* zero at start */
	bool own_vault;
};
/* Words' times are the engine's estimate: a masked number's audio span is
 * widened by this on each side. */
#define REC_TR_REDACT_PAD_MS 250
/* Queue every channel of call_row's recording (again: also those done or
 * failed); *added (may be NULL) jobs queued.  ES_ENOTFOUND: no such call
 * or it has no recording. */
int rec_tr_enqueue(struct idx *ix, int64_t call_row, int64_t now_us, bool again,
		   unsigned *added);
/* Run the oldest due job, if any: *ran tells.  A job's own failure is
 * recorded in the queue (its error and next try) and returns 0 with
 * *failed set and the reason in err; errors of the index return. */
int rec_tr_run_one(struct rec_tr_worker *w, int64_t now_us, bool *ran, bool *failed, char *err,
		   size_t errlen);
void rec_tr_worker_close(struct rec_tr_worker *w);
/* The outage pause (transcript_pause.c).  holds: whether no job may be
 * claimed now (a pause under way; once it is over the next engine call is
 * the probe).  answered: the engine answered (a transcript or the job's
 * own error): the run of failures ends, a probe ends the pause.  failed:
 * an engine failure (ES_EIO from the engine) of job: true when it is the
 * job's to count (it failed before and the engine answered others since),
 * false when the job is to be queued again unspent; may begin a pause.
 * close: the state file removed (rec_tr_worker_close calls it). */
bool rec_tr_pause_holds(struct rec_tr_worker *w, int64_t now_us);
void rec_tr_pause_answered(struct rec_tr_worker *w, int64_t now_us);
bool rec_tr_pause_failed(struct rec_tr_worker *w, int64_t job, const char *error, int64_t now_us);
void rec_tr_pause_close(struct rec_tr_worker *w);
/* A running worker's pause as its state file tells (DATA/run/
 * transcribe-PID.tsv; the files of workers that are gone are removed). */
struct rec_tr_pause_info {
	long pid;
	char owner[320];
	bool paused;              /* paused, or its probe is under way */
	int64_t since_us, resume_us, pause_us, updated_us;
	int errors;
	uint64_t pauses;
	char last_error[256];
};
int rec_tr_pause_list(const char *data_dir, int (*fn)(void *ud, const struct rec_tr_pause_info *),
		      void *ud);
/* This process's name as a queue owner: "host:pid". */
void rec_tr_owner(char *out, size_t cap);
/* At a worker's start: the jobs left "running" by workers that are gone
 * are due again: those of this host whose process is not alive, those
 * claimed by nobody known (an older earshot), and those of another host
 * not touched for lease_us (a node that died).  A job of a worker still
 * at it stays.  *n (may be NULL) how many. */
#define REC_TR_LEASE_US (6 * 3600 * ES_US_PER_SEC)
int rec_tr_requeue_orphans(struct idx *ix, int64_t now_us, int64_t lease_us, int64_t *n);
/* DATA/transcripts/<rec_path>.<channel name>.json into out. */
int rec_transcript_path(const char *data_dir, const char *rec_path, int channel, char *out,
			size_t cap);
/* The transcripts' search key (record/tr_search.c): where it comes from
 * (data_dir's KEK; *vault when set, else DATA/keys opened for the moment),
 * an idx_key_fn for idx_set_search_key_fn with a rec_tr_keysrc as ud. */
struct rec_tr_keysrc {
	const char *data_dir;
	struct st_vault *const *vault; /* may be NULL */
};
int rec_tr_search_key(void *ud, struct idx *ix, uint8_t key[IDX_TR_KEY_BYTES], char *err,
		      size_t errlen);
/* Enter every transcript stored before the blind index (IDX_MIG_TR_BLIND)
 * again from its sealed words file: *done and *failed (a file or key that
 * is gone; logged, left out) count them. */
int rec_tr_reindex(struct idx *ix, const struct rec_tr_keysrc *src, unsigned *done,
		   unsigned *failed, char *err, size_t errlen);
/* The stored JSON of a channel (rec: the call's recording row; vault NULL
 * for a plain one) into out: ES_ENOTFOUND when there is none. */
int rec_transcript_load(const char *data_dir, struct st_vault *vault,
			const struct idx_recording *rec, int channel, struct es_buf *out,
			char *err, size_t errlen);
/* The same for a recording made by node (ix and node NULL: the same as
 * rec_transcript_load): a words file this data folder lacks is read from
 * node's published bucket, where its recorder archives it beside the
 * recording (issue #16). */
int rec_transcript_load_node(const char *data_dir, struct idx *ix, const char *node,
			     struct st_vault *vault, const struct idx_recording *rec, int channel,
			     struct es_buf *out, char *err, size_t errlen);
/* The transcripts of a recording that another replaced (a redaction):
 * read with old_path's key, sealed again with new_path's (encrypted) at
 * new_path's place, the old files removed; none is fine. */
int rec_transcript_move(const char *data_dir, struct st_vault *vault, const char *old_path,
			bool encrypted, const char *new_path, char *err, size_t errlen);
/* Remove the transcripts of rec_path (delete, shred); none is fine. */
int rec_transcript_drop(const char *data_dir, const char *rec_path);

/* ---- calls in progress ---------------------------------------------------------
 * What a running recorder is recording now, for `GET /api/active` and the
 * web UI's live page: each engine lists its open calls (record/active.c),
 * the recorder writes the list to DATA/run/active.tsv about every second,
 * and the API server (the same process or `earshot serve`) reads it. */
#define REC_ACTIVE_STR 128
#define REC_ACTIVE_SHORT 64
struct rec_active {
	char call_id[REC_ACTIVE_STR];
	char caller_user[REC_ACTIVE_SHORT], caller_display[REC_ACTIVE_SHORT],
		caller_uri[REC_ACTIVE_STR];
	char callee_user[REC_ACTIVE_SHORT], callee_display[REC_ACTIVE_SHORT],
		callee_uri[REC_ACTIVE_STR];
	int64_t start_us;          /* first message (UTC) */
	int64_t answer_us;         /* 0: not answered */
	char state[16];            /* "ringing", "answered", "hold", "paused", "ending" */
	bool recording;            /* the rules keep its audio */
	bool siprec;               /* a SIPREC recording session */
	char rule[REC_ACTIVE_SHORT]; /* the rule that decided, "" none */
	char codec[24];            /* the first stream's payload, "" none yet */
	unsigned streams;
	uint64_t packets;
	int64_t lost;
	double jitter_max_ms;
	/* per party (caller, callee), in memory only (not in the file): 0 no
	 * consent awaited (none asked, given, or not required), 'w' awaited
	 * (an end now would cut its audio), 'x' refused or missing: its audio
	 * is being dropped.  Live keywords stream only what will be kept. */
	char consent[2];
};
typedef void (*rec_active_fn)(void *ud, const struct rec_active *a);
/* Each open call of e (not yet finished), in no particular order. */
void rec_engine_active(struct rec_engine *e, rec_active_fn fn, void *ud);

/* The file: "earshot-active 1 WRITTEN_US PID COUNT", then one line per call,
 * tab-separated, strings escaped (\\, \t, \n, \r).  Written to a temporary
 * name and renamed, so a reader sees a whole file. */
#define REC_ACTIVE_MAX 100000
struct rec_active_hdr {
	int64_t written_us;
	long pid;
	uint64_t count;
};
int rec_active_write(const char *path, const struct rec_active *calls, size_t n,
		     int64_t now_us);
/* The same text into *out (malloc'd, NUL-terminated; the caller frees):
 * what a recorder publishes into a shared index (idx_node_active_set). */
int rec_active_text(const struct rec_active *calls, size_t n, int64_t now_us, char **out);
/* Parse a whole file's bytes: hdr, then fn (when not NULL) for each call.  ES_EPARSE with
 * "line N: why" in err for anything malformed (nothing is handed to fn
 * after an error). */
int rec_active_parse(const char *buf, size_t len, struct rec_active_hdr *hdr, rec_active_fn fn,
		     void *ud, char *err, size_t errlen);
/* Read and parse path (at most 64 MiB): ES_ENOTFOUND when absent. */
int rec_active_read(const char *path, struct rec_active_hdr *hdr, rec_active_fn fn, void *ud,
		    char *err, size_t errlen);

/* ---- keyword alerts during the call (tr_live.c) ---------------------------------
 * [transcription] live = yes with engine = vosk: each answered, recorded
 * call of the recorder's list (optionally only those of the rules named)
 * is followed from its spool and its channels streamed to the Vosk server
 * while it runs; a keyword hit raises the "keyword" alert within seconds.
 * rec_trlive_update is the recorder's main loop's, about once a second,
 * with the calls it just listed; each followed call has its own thread,
 * at most max_calls; a call over the limit is counted as skipped. */
struct tr_conf;
struct ta_config;
struct an_alerts;
struct rec_trlive_conf {
	const char *data_dir;
	struct st_vault *vault;          /* the spool's keys (NULL: plain) */
	const struct tr_conf *tr;        /* url, token of the Vosk server */
	const struct ta_config *ta;      /* [keywords NAME] */
	struct an_alerts *alerts;
	unsigned max_calls;              /* 0: 8 */
	long timeout_s;                  /* a socket wait (0: 10 s) */
	const char *rules;               /* "a,b": only these rules' calls; NULL: all */
};
struct rec_trlive_stats {
	uint64_t followed;               /* calls streamed */
	uint64_t skipped;                /* calls over max_calls */
	uint64_t failed;                 /* calls given up: engine down, refused, ... */
	uint64_t finished;               /* calls streamed to their end */
	uint64_t hits;                   /* keyword hits raised */
	int64_t delay_ms_last;           /* the last hit: from the word's end to its raise */
	unsigned running, max_calls;
};
struct rec_trlive;
/* Strings and pointers of cf stay the caller's until rec_trlive_free. */
int rec_trlive_new(struct rec_trlive **out, const struct rec_trlive_conf *cf);
void rec_trlive_update(struct rec_trlive *l, const struct rec_active *calls, size_t n,
		       int64_t now_us);
void rec_trlive_stats(struct rec_trlive *l, struct rec_trlive_stats *st);
void rec_trlive_free(struct rec_trlive *l); /* stops and joins every thread; NULL is fine */
/* Whether the hit (list, phrase) of channel was raised live: the mark is
 * taken (once per hit), so the post-call transcript skips it. */
bool rec_trlive_mark_take(const char *data_dir, const char *call_id, int channel,
			  const char *list, const char *phrase);

/* ---- commands to a running recorder (control.c) -----------------------------------
 * `earshot serve` and the CLI ask the recorder (another process) to pause,
 * resume or record consent on a call in progress: one file per command in
 * DATA/REC_CONTROL_DIR (mode 0770, files 0660), written atomically; the
 * recorder takes each within about 0.2 s, applies it, removes it and
 * answers in ID.ack (status ok, not_found, conflict, bad or error and a
 * message), which the sender reads and removes. */
#define REC_CONTROL_DIR "run/control"
#define REC_CMD_ID_MAX 64
enum rec_cmd_verb { REC_CMD_PAUSE = 1, REC_CMD_RESUME, REC_CMD_CONSENT };
struct rec_cmd {
	enum rec_cmd_verb verb;
	char call_id[REC_ACTIVE_STR]; /* as active.tsv names the call */
	char by[72];                  /* "api:alice", "cli": in the call's event */
	int party;                    /* consent: 0 caller, 1 callee */
	bool yes;                     /* consent: yes or no */
};
const char *rec_cmd_verb_name(enum rec_cmd_verb v);
/* Parse a command file's bytes strictly: ES_EPARSE with "line N: why". */
int rec_cmd_parse(const char *buf, size_t len, struct rec_cmd *c, char *err, size_t errlen);
/* Append c in the file's format (ES_EINVAL: a field is empty or has a
 * control character). */
int rec_cmd_format(const struct rec_cmd *c, struct es_buf *out);
/* Parse an answer: *status 0, ES_ENOTFOUND, ES_EEXIST, ES_EPARSE or ES_EIO,
 * and its message. */
int rec_ack_parse(const char *buf, size_t len, int *status, char *msg, size_t cap);
/* DATA/REC_CONTROL_DIR into out. */
int rec_control_dir(const char *data_dir, char *out, size_t cap);
/* The recorder: create the folder (0770). */
int rec_control_open(const char *data_dir, char *err, size_t errlen);
/* A sender: write c as a new command; its id (for rec_control_wait) in id.
 * ES_ENOTFOUND when no recorder ever made the folder. */
int rec_control_send(const char *data_dir, const struct rec_cmd *c, char *id, size_t idcap,
		     char *err, size_t errlen);
/* A sender: wait up to timeout_ms for the answer to command id: 0 with
 * *status and msg; ES_EAGAIN (msg says why) when none came, the command
 * then withdrawn if the recorder had not taken it. */
int rec_control_wait(const char *data_dir, const char *id, int timeout_ms, int *status,
		     char *msg, size_t cap);
/* The recorder: apply each command waiting (at most 64 a call) through fn,
 * which returns 0, ES_ENOTFOUND (no such call) or ES_EEXIST (already in
 * that state) with a message; returns how many were handled.  Malformed
 * files are answered "bad" and removed, nothing else is touched. */
typedef int (*rec_cmd_fn)(void *ud, const struct rec_cmd *c, char *msg, size_t cap);
unsigned rec_control_poll(const char *data_dir, rec_cmd_fn fn, void *ud);
/* Apply c to the open call it names in e (pause.c); results as rec_cmd_fn. */
int rec_engine_command(struct rec_engine *e, const struct rec_cmd *c, int64_t now_us,
		       char *msg, size_t cap);

/* ---- live recording ----------------------------------------------------------
 * Capture threads (one per interface) decode frames and route each datagram
 * to one of N worker threads by its call (record/live.c); each worker runs
 * its own engine; finished calls come out of a queue, deep-copied. */
struct rec_live_config {
	const struct net_live_config *ifaces;
	unsigned nifaces;
	unsigned workers;          /* 0 = cores - 1, at least 1 */
	size_t ring_bytes;         /* per capture->worker queue (0 = 32 MiB) */
	struct rec_config engine;  /* each worker's engine (spool, rules, timeouts) */
};

#define REC_LIVE_MAX 64
struct rec_live_status {
	unsigned nifaces, nworkers;
	struct {
		char name[64];
		uint64_t frames;       /* frames read */
		uint64_t received;     /* what the kernel saw */
		uint64_t dropped;      /* lost in the kernel ring */
		uint64_t if_dropped;   /* lost by the interface */
	} iface[16];
	struct {
		uint64_t queue_bytes;
		uint64_t active_calls;
	} worker[REC_LIVE_MAX];
	uint64_t frames, queue_drops, active_calls, calls, rtp_packets, sip_messages,
		spool_errors, call_bytes;
};

struct rec_live;
struct rec_live_call;
int rec_live_start(struct rec_live **out, const struct rec_live_config *cfg, char *err,
		   size_t errlen);
/* The next finished call, or NULL (never blocks); free it when done. */
struct rec_live_call *rec_live_next_call(struct rec_live *l);
/* The call's row (the index fills in its id on insert). */
struct idx_call *rec_live_call_row_mut(struct rec_live_call *c);
const char *rec_live_call_media_log(const struct rec_live_call *c);
void rec_live_call_free(struct rec_live_call *c);
void rec_live_status(struct rec_live *l, struct rec_live_status *st);
/* The calls the workers had open at their last snapshot (each worker takes
 * one about every second); returns how many were handed to fn. */
size_t rec_live_active(struct rec_live *l, rec_active_fn fn, void *ud);
/* Apply c in the worker that has the call (each worker checks between two
 * batches of packets); waits up to a second.  Results as rec_cmd_fn. */
int rec_live_command(struct rec_live *l, const struct rec_cmd *c, char *msg, size_t cap);
/* Stop capturing, let the workers empty their queues, finish every open
 * call (end reason "shutdown"); the calls are then in the queue. */
void rec_live_stop(struct rec_live *l);
void rec_live_free(struct rec_live *l);

/* ---- recovery ------------------------------------------------------------------
 * Media logs left in the spool by a crash: each becomes a call row (from
 * the log's metadata) with the flag "recovered" and its recording, through
 * the same path as a finished call. */
typedef int (*rec_recover_fn)(void *ud, struct idx_call *c, const char *media_log);
/* Hand every *.mlog in spool_dir to fn; returns how many were found. */
unsigned rec_recover_spool(const char *spool_dir, struct st_vault *vault, rec_recover_fn fn,
			   void *ud);
/* Keys for encrypted media logs from vault's KEK (k->ud = vault; a NULL
 * vault leaves every callback NULL).  The reader API for a spool, e.g.
 * listening to a call in progress: mlog_open_keyed(&r, path, &k, ...)
 * decrypts in memory, never to a file; the log may still be growing (a
 * chunk being written reads as the torn end for now). */
void rec_spool_keys(struct mlog_keys *k, struct st_vault *vault);

/* ---- listen-in: a call in progress from its spool (listen.c) -----------------------
 * The call as active.tsv lists it (call_id, start_us) is found in
 * DATA/spool and followed as it grows; its audio, decoded in memory like
 * the recording (caller and callee at the rate rec_listen_rate gives once
 * known), goes to fn from shortly before the moment of joining on. */
typedef void (*rec_listen_fn)(void *ud, const int16_t *caller, const int16_t *callee, size_t n);
struct rec_listen;
int rec_listen_open(struct rec_listen **out, const char *data_dir, struct st_vault *vault,
		    const char *call_id, int64_t start_us, rec_listen_fn fn, void *ud);
/* Read what the recorder appended since the last poll (first: find the
 * log; *found says whether it exists yet) and decode it to fn.  An error
 * names the file and record in err. */
int rec_listen_poll(struct rec_listen *l, bool *found, char *err, size_t errlen);
/* The log left the spool: the call ended and its recording is being made. */
bool rec_listen_gone(const struct rec_listen *l);
/* Decode from the log's first record instead of the live edge (before the
 * first poll): the live keyword alerts want every word. */
void rec_listen_from_start(struct rec_listen *l);
/* The call ended: hand out the audio still held back. */
int rec_listen_end(struct rec_listen *l);
uint32_t rec_listen_rate(const struct rec_listen *l);    /* 0 until audio came */
int64_t rec_listen_start_us(const struct rec_listen *l); /* capture time of sample 0 */
void rec_listen_close(struct rec_listen *l);             /* NULL is fine */

/* ---- storing finished calls -------------------------------------------------
 * What import and the live recorder do with a finished (or recovered)
 * call and with a durable recording, on the thread that owns the index;
 * errors are logged and counted. */
struct rec_store_counts {
	uint64_t calls, calls_dup, streams, not_recorded, cut, recovered, store_errors;
	uint64_t recordings, recording_bytes, no_audio, recording_errors, one_sided, ledger_errors;
	int64_t recorded_us;
	/* calls flagged undecoded_codec, and those codecs' names ("LPC,X-A") */
	uint64_t undecoded;
	char undecoded_codecs[64];
};
/* The clock evidence of imported calls (idx_call.clock_json). */
#define REC_CLOCK_IMPORTED \
	"{\"synchronised\":null,\"source\":\"imported: capture clock unknown\"}"
/* Enter c in the index and queue its media log (may be NULL) for
 * rendering; a duplicate call keeps the recording it has and its new log
 * is removed (a recovered log is rendered all the same).  Imported calls
 * without clock evidence get REC_CLOCK_IMPORTED.  Returns the
 * index's error; the media log is then left where it is. */
int rec_store_call(struct idx *ix, struct rec_recorder *rec, struct idx_call *c,
		   const char *media_log, struct rec_store_counts *n);
/* Enter a finished job's recording (rec_done_fn's work) and, with a ledger
 * (may be NULL), append its leaf: the recording's id (its path), the
 * SHA-256 of its canonical metadata (rec_canon_meta), of the stored file
 * and of the plaintext.  The caller commits the index transaction, then
 * the ledger (st_ledger_commit: fsync + a signed head). */
void rec_store_recording(struct idx *ix, struct st_ledger *ledger, const struct rec_done *d,
			 struct rec_store_counts *n);

/* ---- evidence ------------------------------------------------------------------
 * The canonical metadata of call row call_row and its recording, as the
 * index holds them: compact JSON with a fixed key order (see recording.c),
 * the bytes whose SHA-256 a ledger leaf carries.  ES_ENOTFOUND when the
 * call or its recording is missing. */
int rec_canon_meta(struct idx *ix, int64_t call_row, struct es_buf *out);
/* Append the leaf of recording row rec (its call row must be in ix). */
int rec_ledger_leaf(struct idx *ix, struct st_ledger *l, const struct idx_recording *rec);
/* The integrity ledger of a data folder (DATA/ledger, store/ledger.h):
 * opened for appending (created when absent if create), any appended but
 * unsigned leaves get a signed head, and every recording row of the index
 * without a leaf (a crash between the index commit and the ledger's) gets
 * one; *added (may be NULL) counts those.  key_path: the signing key
 * (NULL: as st_ledger_key_path finds it). */
int rec_ledger_open(const char *data_dir, struct idx *ix, bool create, const char *key_path,
		    struct st_ledger **out, unsigned *added, char *err, size_t errlen);
/* ---- transcripts in the ledger (tr_ledger.c) ----------------------------------
 * A stored transcript's tr leaf (store/ledger.h) carries the SHA-256 of its
 * sealed words file, of their plaintext and of its index row.  The worker
 * leaves the leaf in DATA/ledger/pending/ before its index commit; the
 * ledger's one writer (the recorder's loop, or a process that gets the
 * lock) appends it once the row is there and still hashes to it. */
#define REC_TR_PENDING_DIR "ledger/pending"
struct st_ledger_entry;
/* SHA-256 of the canonical form of transcript row t of recording rec_path. */
void rec_tr_row_hash(const char *rec_path, const struct idx_transcript *t, uint8_t out[32]);
/* The tr leaf of row t of recording rec_path with the words' hashes. */
int rec_tr_leaf_make(struct st_ledger_entry *e, const char *rec_path,
		     const struct idx_transcript *t, const uint8_t sealed[32],
		     const uint8_t plain[32]);
/* The SHA-256 of the words file of rec's channel as stored and of its
 * plaintext (decrypted with vault's key when encrypted).  ES_ENOTFOUND
 * when the file is missing; err says which. */
int rec_tr_file_hashes(const char *data_dir, struct st_vault *vault,
		       const struct idx_recording *rec, int channel, uint8_t sealed[32],
		       uint8_t plain[32], char *err, size_t errlen);
/* Queue leaf e of call_row's transcript for the ledger's writer (durable
 * on return); drop it again (an index commit that failed); whether it is
 * queued. */
int rec_tr_pending_put(const char *data_dir, int64_t call_row, const struct st_ledger_entry *e,
		       char *err, size_t errlen);
/* The worker's hook: the leaf of row t (the words just sealed into
 * words_file, plain their plaintext) queued. */
int rec_tr_seal_queue(const char *data_dir, const char *rec_path, const struct idx_transcript *t,
		      const char *words_file, const struct es_buf *plain, char *err,
		      size_t errlen);
void rec_tr_pending_drop(const char *data_dir, int64_t call_row, int channel, int64_t made_us);
bool rec_tr_pending_has(const char *data_dir, int64_t call_row, int channel, int64_t made_us);
/* The writer: append the queued leaves whose rows are in the index and
 * hash to them (a live earlier leaf of the same party gets a trtomb
 * "replaced"), commit, then remove them; *added how many. */
int rec_tr_ledger_drain(const char *data_dir, struct idx *ix, struct st_ledger *l,
			unsigned *added, char *err, size_t errlen);
/* Append the leaves of the transcripts of recording rec (its call_row,
 * path, encrypted) hashed from their files now, where the ledger lacks
 * them (catch-up, a redaction's moved transcripts). */
int rec_tr_ledger_seal_call(const char *data_dir, struct idx *ix, struct st_vault *vault,
			    struct st_ledger *l, const struct idx_recording *rec, int64_t now_us,
			    unsigned *added);
/* At open: every transcript of this node with no leaf and none queued
 * (a crash, or made before transcripts were sealed) gets one. */
int rec_tr_ledger_catch_up(const char *data_dir, struct idx *ix, struct st_vault *vault,
			   struct st_ledger *l, unsigned *added, char *err, size_t errlen);
/* A trtomb leaf (reason) for each live transcript leaf of rec_path. */
int rec_tr_ledger_tombstone(struct st_ledger *l, const char *rec_path, const char *reason,
			    int64_t now_us);
/* Write the plaintext of recording rec to dst (created, via a temporary
 * file): the stored file is first checked against rec->sha256 (ES_ECRYPTO
 * when it differs: altered), then decrypted with its data key from vault
 * (an encrypted recording; ES_ENOTFOUND when its key was shredded) or
 * copied (a plain one). */
int rec_recording_plain(const char *data_dir, struct st_vault *vault,
			const struct idx_recording *rec, const char *dst, char *err, size_t errlen);
/* Recording rec as fmt ("wav", "flac", "opus" or "mp3") into out_fd (the
 * caller's, e.g. a memfd, empty; nothing is written to a file): checked and
 * decrypted as rec_recording_plain does, then copied (the stored format)
 * or converted (export.c).  ES_EINVAL for an unknown format. */
int rec_recording_export_fd(const char *data_dir, struct st_vault *vault,
			    const struct idx_recording *rec, const char *fmt, int out_fd, char *err,
			    size_t errlen);
/* The same for a finished call whose recording is still queued: its media
 * log in DATA/spool rendered as rec_queued_render does (the WAV the encoder
 * will write), then converted to fmt.  ES_ENOTFOUND when the spool holds no
 * log of the call. */
int rec_queued_export_fd(const char *data_dir, struct st_vault *vault, const char *call_id,
			 int64_t start_us, int64_t end_us, const char *fmt, int out_fd, char *err,
			 size_t errlen);

/* A span of a recording (clip.c, the API's clips): */
struct rec_span {
	uint32_t rate;        /* of the recording, and of the clip */
	unsigned channels;
	uint64_t first_frame; /* the span's first frame in the whole recording */
	uint64_t frames;      /* in the clip (fewer when the recording ends first) */
};
/* The frames of recording rec from start_ms to end_ms (from its first
 * sample) as a WAV file at its rate and channels into out (caller-owned,
 * emptied first): checked and decrypted as rec_recording_plain does, into
 * memory only, and decoded from the start, so the samples are those of the
 * whole recording decoded.  ES_ENOTFOUND when the span starts after the
 * recording's end; else as rec_recording_plain, or the decoder's error. */
int rec_recording_span(const char *data_dir, struct st_vault *vault,
		       const struct idx_recording *rec, int64_t start_ms, int64_t end_ms,
		       struct es_buf *out, struct rec_span *info, char *err, size_t errlen);

/* The file of a recording row: data_dir + "/" + rec->path, or, when that
 * file is not there and the data folder has a bucket (tier.c), a copy of
 * the archived object fetched into DATA/cache/ and checked against
 * rec->sha256 (a fetch that fails leaves the data folder's path, which the
 * caller then finds missing, and a warning in the log). */
int rec_recording_path(const char *data_dir, const struct idx_recording *rec, char *out,
		       size_t cap);

/* ---- the archive tier (tier.c) -----------------------------------------------------
 * Recordings start in the data folder and move to the data folder's bucket
 * (store/blob.h), whose settings DATA/keys/blobs.conf keeps. */
struct st_blob;
struct st_blob_conf;
/* Remember c (and the archive age) as the data folder's bucket. */
int rec_blobs_save(const char *data_dir, const struct st_blob_conf *c, int64_t after_us,
		   char *err, size_t errlen);
/* Open the data folder's bucket; ES_ENOTFOUND when it has none.
 * *after_us (may be NULL): the archive age saved with it. */
int rec_blobs_open(const char *data_dir, struct st_blob *b, int64_t *after_us, char *err,
		   size_t errlen);
/* The data folder's bucket settings without credentials (the text a
 * recorder publishes in the nodes table, idx_node_blobs_set) into out:
 * ES_ENOTFOUND when it has no bucket, ES_ELIMIT when out is too small. */
int rec_blobs_public(const char *data_dir, char *out, size_t cap);
/* Open the bucket of published settings (rec_blobs_public's text) with
 * this node's own credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
 * else its data folder's bucket's; ES_EINVAL (err says so) without any. */
int rec_blobs_open_public(const char *data_dir, const char *text, struct st_blob *b, char *err,
			  size_t errlen);
/* The bucket of a recording made by node: on a shared index, another
 * node's published bucket (when it published one), else the data folder's
 * (rec_blobs_open's ES_ENOTFOUND when there is none). */
int rec_blobs_open_node(const char *data_dir, struct idx *ix, const char *node,
			struct st_blob *b, char *err, size_t errlen);
struct rec_tier_counts {
	uint64_t due;       /* local recordings old enough to move */
	uint64_t moved;     /* uploaded, read back, local copy removed */
	uint64_t failed;    /* stay local, tried again next time */
	uint64_t bytes;     /* moved */
	uint64_t multipart; /* of those moved, in several parts */
};
/* Move local recordings whose call started at or before now - after_us
 * (at most max, 0: all) to the bucket.  Returns the first failure (the
 * others are logged); a failed recording stays in the data folder. */
int rec_tier_move(const char *data_dir, struct idx *ix, int64_t now_us, int64_t after_us,
		  size_t max, struct rec_tier_counts *n, char *err, size_t errlen);
/* How many local recordings are due to move (the upload backlog). */
int rec_tier_backlog(const char *data_dir, struct idx *ix, int64_t now_us, int64_t after_us,
		     uint64_t *count);
/* The archived object of rec id rel into DATA/cache/rel (checked against
 * sha256); out receives that path.  sha256 NULL: not checked, into
 * DATA/cache/.unchecked/rel, which the caller removes after use. */
int rec_tier_fetch(const char *data_dir, const char *rel, const char *sha256, char *out,
		   size_t cap, char *err, size_t errlen);
/* The same for a recording made by node, from rec_blobs_open_node's
 * bucket (ix and node NULL: rec_tier_fetch). */
int rec_tier_fetch_node(const char *data_dir, struct idx *ix, const char *node, const char *rel,
			const char *sha256, char *out, size_t cap, char *err, size_t errlen);
/* An archived recording's words files (sealed as they are) to this node's
 * bucket beside it, as rec_tier_move puts them there: for a transcript made
 * after the recording moved.  0 when the recording is still local or there
 * is no bucket. */
int rec_tier_put_words(const char *data_dir, const char *rec_path, char *err, size_t errlen);
/* The backfill (tier_words.c): the words files of archived recordings
 * (recordings archived before their words went with them, or whose
 * bucket copy is stale) put where the bucket lacks them or holds other
 * bytes, at most max put (0: all).  ES_ENOTFOUND: no bucket. */
struct rec_words_counts {
	uint64_t checked; /* local words files of archived recordings */
	uint64_t put;     /* of those, put (missing or different in the bucket) */
};
int rec_tier_words_backfill(const char *data_dir, struct idx *ix, size_t max,
			    struct rec_words_counts *n, char *err, size_t errlen);
/* Remove the bucket's words files of rec_path (a redaction moved them to
 * its new recording); 0 when there is no bucket or none there. */
int rec_tier_drop_words(const char *data_dir, const char *rec_path, char *err, size_t errlen);
/* Remove the least recently used (later of atime, mtime) checked copies in
 * DATA/cache until it holds at most max_bytes, never the file keep (may be
 * NULL); rec_tier_fetch does it after each fetch with [s3]
 * cache_max_bytes (saved in blobs.conf; 0: 1 GiB). */
int rec_tier_cache_trim(const char *data_dir, uint64_t max_bytes, const char *keep,
			unsigned *removed);
/* Remove rel's object (and cached copy); 0 when there is no bucket or no
 * such object. */
int rec_tier_remove(const char *data_dir, const char *rel, char *err, size_t errlen);
/* Object Lock legal hold on an archived recording's object; 0 for a local
 * one, ES_EUNSUP where the server has no Object Lock. */
int rec_tier_legal_hold(const char *data_dir, const char *rel, bool on, char *err,
			size_t errlen);

/* ---- data keys and buckets shared through the index (shared_keys.c) ----------
 * Several nodes on one index (issue #16): each recording's wrapped data key
 * (the vault's text, never a plaintext key) goes into the index with its
 * row, so that a web node holding the KEK opens it without the recorder's
 * data folder; each recorder publishes its bucket (without credentials).
 * All do nothing on an index that is not shared (SQLite). */
/* Publish rec's wrapped key from v (before its row is inserted); errors
 * are logged: the key stays in the data folder, `keys publish` retries. */
int rec_keys_publish(struct idx *ix, struct st_vault *v, const struct idx_recording *rec);
/* Every wrapped key of v's data folder into the index, in one transaction
 * (`earshot keys publish`, and after `keys rotate`); *n counts them.  Done
 * on any index, shared or not. */
int rec_keys_publish_all(struct idx *ix, struct st_vault *v, unsigned *n);
/* Let v find the keys it lacks in ix and shred their copies there
 * (st_vault_set_remote over one handle: v and ix on one thread). */
void rec_keys_remote(struct st_vault *v, struct idx *ix);
/* Whether the recording at path (relative), missing from data_dir, is
 * another node's on a shared index (issue #16): its file is on node or in
 * node's published bucket.  Never when node is idx_node(ix), this folder's
 * own (its missing file is gone). */
bool rec_recording_elsewhere(const char *data_dir, struct idx *ix, const char *node,
			     const char *path);
/* The one way to another node's recording: when rec_recording_elsewhere,
 * fetched from node's published bucket into DATA/cache, checked against
 * sha256 (the index's), where rec_recording_path finds it.  0: here,
 * cached or fetched; ES_EUNSUP: not reachable (on node, not yet in its
 * bucket, or the bucket cannot be read), err in rec_elsewhere_msg's words;
 * ES_ECRYPTO: the bucket's copy is not the index's. */
int rec_recording_reach(const char *data_dir, struct idx *ix, const char *node,
			const char *path, const char *sha256, char *err, size_t errlen);
/* "the recording is kept by node N and is not in its bucket yet: ...: why"
 * into out, returned. */
const char *rec_elsewhere_msg(const char *node, const char *why, char *out, size_t cap);
/* Publish data_dir's bucket settings as idx_node(ix)'s (errors logged). */
int rec_keys_publish_blobs(const char *data_dir, struct idx *ix);

/* ---- deleting a recording (delete.c) -----------------------------------------
 * The one deletion path: `earshot delete`, `keys shred`, retention and the
 * quota all come here.  A recording under an active legal hold is refused
 * (ES_EHELD, the hold's name in held).  Deleting is two steps so that many
 * deletions share one signed ledger head: rec_del_begin appends the
 * tombstone (naming the cause), the caller commits the ledger
 * (st_ledger_commit), then rec_del_end destroys the data key, removes the
 * file and takes the recording's row out of the index.  Nothing is removed
 * before its tombstone is durable; an interrupted run is completed by the
 * next (a tombstone already there is not written twice). */
struct rec_deleter {
	const char *data_dir;
	struct idx *ix;
	struct st_ledger *ledger;  /* opened for writing by the caller */
	struct st_vault *vault;    /* the caller's; NULL: opened on first need */
	bool own_vault;
};
struct rec_del_target {
	int64_t call_row;
	const char *path;          /* the recording's id (relative path) */
	bool encrypted;
};
/* Tombstone t with reason (1-64 of a-z 0-9 . _ -); *seq its leaf (may be
 * NULL).  ES_EHELD with the hold's name in held (may be NULL). */
int rec_del_begin(struct rec_deleter *d, const struct rec_del_target *t, const char *reason,
		  int64_t now_us, uint64_t *seq, char *held, size_t heldcap, char *err, size_t errlen);
/* After the ledger commit: key, file, index row (the call's row stays). */
int rec_del_end(struct rec_deleter *d, const struct rec_del_target *t, char *err, size_t errlen);
/* `keys shred`: refuse a held recording, destroy the data key first, then
 * a "shredded" tombstone and a commit (the row and file stay).
 * *already: the key was gone and the tombstone there. */
int rec_del_shred(struct rec_deleter *d, const struct rec_del_target *t, int64_t now_us,
		  uint64_t *seq,
		  bool *had_key, bool *already, char *held, size_t heldcap, char *err,
		  size_t errlen);
void rec_deleter_close(struct rec_deleter *d); /* the vault if it opened it */
/* The original of a redaction (redact.c), which is no longer the call's
 * recording row: refused under a legal hold on the call (ES_EHELD), a
 * tombstone with reason, a ledger commit, then its data key (encrypted) or
 * its file (plain) and its stored waveform; the index is the caller's. */
int rec_del_original(struct rec_deleter *d, const struct rec_del_target *t, const char *reason,
		     int64_t now_us, uint64_t *seq, char *held, size_t heldcap, char *err,
		     size_t errlen);

/* ---- redaction (redact.c) ----------------------------------------------------------
 * A span of a recording made silent (or a soft tone) on one channel or
 * both: the recording is decoded from its plaintext (in memory, a memfd),
 * the span filled, encoded again in its format, encrypted with a new data
 * key as recordings/.../<call row>.r<n>.<ext>.enc, and made the call's
 * recording row (so playback, peaks, export and evidence use it); a rec
 * leaf for it and a redact leaf linking to the original's leaf go into the
 * ledger; the original is kept for the restricted roles or shredded
 * (rec_del_original, tombstone "redacted").  Each redaction applies on top
 * of the latest.  Errors: ES_EINVAL (bad span, channel, fill, reason: err
 * says which, nothing changed), ES_ENOTFOUND (no call or recording),
 * ES_EHELD (shred asked, a hold covers the call), ES_ECRYPTO (the stored
 * file does not match its hash), ES_EIO, ES_EDB. */
#define REC_REDACT_TOMBSTONE "redacted"
#define REC_REDACT_REASON_MAX 1000
struct rec_redact_req {
	const char *data_dir;
	struct idx *ix;
	struct st_ledger *ledger;  /* opened for writing */
	struct st_vault *vault;    /* NULL for plain recordings */
	int64_t call_row;
	int64_t from_us, to_us;    /* from the recording's first sample */
	const char *channel;       /* "caller", "callee", "both" */
	const char *fill;          /* "silence" (NULL) or "tone" */
	const char *reason, *by;
	bool shred_original;       /* [redaction] original = shred */
	int64_t now_us;
	/* a ledger shared with another thread (the recorder's loop): called
	 * with true before rec_redact touches the ledger or the index's
	 * writes and with false after, never while it decodes and encodes;
	 * NULL: the caller's alone */
	void (*hold)(void *ud, bool on);
	void *hold_ud;
};
struct rec_redact_result {
	int n;                     /* this call's redaction number */
	char path[512];            /* the redacted recording's id */
	char original[512];
	uint64_t rec_leaf, redact_leaf, original_leaf, tomb_leaf;
	bool shredded;
	char held[IDX_HOLD_NAME_MAX + 1]; /* ES_EHELD: the hold */
};
int rec_redact(const struct rec_redact_req *q, struct rec_redact_result *out, char *err,
	       size_t errlen);
/* The canonical JSON of redaction r of call call_id, whose SHA-256 the
 * redact leaf carries ("detail"). */
int rec_redaction_detail(const char *call_id, const struct idx_redaction *r, struct es_buf *out);
/* "caller", "callee", "both": which channel of a stereo file (1, 2, 3 as
 * a mask); 0 for anything else. */
unsigned rec_redact_channel_mask(const char *channel);
/* ---- redactions queued for the ledger's writer (redact_queue.c) --------------------
 * A redaction asked by a process or thread that cannot get the ledger (a
 * transcription worker while the recorder holds its lock): what to redact,
 * never audio, one durable file in DATA/ledger/pending/ (REC_TR_PENDING_DIR)
 * named "<queued_us>-<call row>-<from_us>.rd", carried out by the lock
 * holder through rec_redact and removed after (cli/redact_spoken.c).
 * Until then the call's JSON lists it under "redactions_pending". */
struct rec_redact_job {
	int64_t call_row;
	const char *channel;       /* "caller", "callee", "both" */
	int64_t from_us, to_us;
	const char *fill;          /* "silence" or "tone" */
	const char *reason, *by;
	int64_t queued_us;
	const char *file;          /* set by rec_redact_queue_each: its file */
};
/* The file's one line: "earshot-redact-v1", call row, channel, from_us,
 * to_us, fill, queued_us, by, reason, tab-separated, '\n' at the end
 * (tabs and line ends in by and reason become spaces).  format: its
 * length, or ES_EINVAL (not a redaction) / ES_ELIMIT; parse: jb's strings
 * point into line, which it cuts at the tabs; ES_EPARSE for anything
 * else (fuzz/fuzz_control.c). */
#define REC_REDACT_BY_MAX 127
#define REC_REDACT_LINE_MAX (REC_REDACT_REASON_MAX + REC_REDACT_BY_MAX + 160)
int rec_redact_job_format(const struct rec_redact_job *jb, char *out, size_t cap);
int rec_redact_job_parse(char *line, size_t len, struct rec_redact_job *jb);
/* Queue jb (durable on return: fsync'd file and folder). */
int rec_redact_queue_put(const char *data_dir, const struct rec_redact_job *jb, char *err,
			 size_t errlen);
/* The queued jobs in queue order, of call_row only when > 0 (a file that
 * does not parse is set aside as NAME.bad, logged); fn's non-zero stops
 * and returns.  The job's strings live until fn returns. */
typedef int (*rec_redact_job_fn)(void *ud, const struct rec_redact_job *jb);
int rec_redact_queue_each(const char *data_dir, int64_t call_row, rec_redact_job_fn fn,
			  void *ud);
/* Whether any redaction is queued (a look before opening keys). */
bool rec_redact_queue_pending(const char *data_dir);
/* Remove jb's file (carried out, or refused for good). */
void rec_redact_queue_done(const struct rec_redact_job *jb);
/* Whether the index has jb's redaction already (same span, channel,
 * reason and author): a crash between the commit and the removal. */
int rec_redact_queue_is_done(struct idx *ix, const struct rec_redact_job *jb, bool *done);
/* call_row's queued redactions as a JSON array of {channel, from_ms,
 * to_ms, fill, reason, by, queued_us} ([] for none). */
void rec_redact_queue_json(const char *data_dir, int64_t call_row, struct es_json *j);
/* Give the recording of call_row, just indexed, its retention policy and
 * times (retain.c); 0 also when it has no recording. */
int rec_retention_assign(struct idx *ix, const struct pol_retention *pol, int64_t call_row);

/* ---- legal holds (hold.c) ---------------------------------------------------------
 * Shared by `earshot hold` and the REST API.  Placing: the calls are
 * resolved (rows, or a query run now), the hold and its calls go into the
 * index in one transaction, a hold leaf per recording into the ledger;
 * releasing appends the release leaves, commits them, then marks the hold
 * released.  Errors: ES_EINVAL (bad name, reason, query: err says which),
 * ES_ENOTFOUND (an unknown call, a query matching none, no such hold),
 * ES_EEXIST (the name is taken; release: already released), ES_EDB, ES_EIO. */
struct rec_hold_req {
	const char *name, *reason;
	const int64_t *rows;       /* call rows, or NULL */
	size_t nrows;
	const char *query;         /* "party=x,tag=y,from=T,...", or NULL */
	const char *by;            /* who, for the index and the audit log */
	int64_t now_us;
	const char *data_dir;      /* NULL: no Object Lock legal hold on archived
				      recordings' objects (tier.c) */
};
/* "party=alice,tag=case-7" into f: its strings point into buf (modified).
 * Keys: party, from, to, tag, source, outcome, flag, call-id. */
int rec_hold_query_parse(char *buf, struct idx_filter *f, char *err, size_t errlen);
int rec_hold_place(struct idx *ix, struct st_ledger *l, const struct rec_hold_req *q,
		   size_t *ncalls, size_t *nrecordings, char *err, size_t errlen);
/* data_dir (NULL: none): then the Object Lock legal hold of each archived
 * object of the hold's calls that no other active hold covers is cleared
 * (tier.c; nothing where the bucket has no Object Lock). */
int rec_hold_release(struct idx *ix, struct st_ledger *l, const char *data_dir, const char *name,
		     const char *by, const char *reason, int64_t now_us, size_t *nrecordings,
		     char *err, size_t errlen);

/* ---- proof of completeness (reconcile.c) ---------------------------------- */

enum rec_rc_status { REC_RC_RECORDED, REC_RC_NOT_RECORDED, REC_RC_UNEXPLAINED };
struct rec_reconcile_totals {
	unsigned answered, recorded, not_recorded, unexplained;
};
/* Every answered call that started in [from_us, to_us) against its
 * recording: recorded (its file present with its indexed size), not
 * recorded and why (rule, consent, paused, no_media, disk_full,
 * undecoded_codec, crash, deleted: the ledger's tombstone), or unexplained
 * (no recording and no reason, its file gone or changed in size, a ledger
 * leaf without its index row).  l (may be NULL: no ledger) gives the
 * tombstones.  The report as one line of JSON (no newline) in *json
 * (malloc'd, *jlen bytes) and the totals in t (docs/CLI.md). */
int rec_reconcile(struct idx *ix, const struct st_ledger *l, const char *data_dir,
		  int64_t from_us, int64_t to_us, int64_t now_us, char **json, size_t *jlen,
		  struct rec_reconcile_totals *t, char *err, size_t errlen);
/* ---- raw data: a call's SIP messages and RTP (raw.c, pcap_rebuild.c) -----------
 * A recorded call's media log is kept after rendering (unless
 * rec_store_config.no_raw) as DATA/raw/<row / 1000>/<row>.mlog, encrypted
 * like the spool; it holds each SIP message of the call as captured and the
 * RTP the spool kept. */
int rec_raw_path(const char *data_dir, int64_t row, char *out, size_t cap);
/* Move media_log (in the spool) to the call's raw data path; on failure
 * the log is removed (and the failure logged): the recording stands. */
int rec_raw_keep(const char *data_dir, int64_t row, const char *media_log);
/* Remove a call's raw data (0 when there was none). */
int rec_raw_remove(const char *data_dir, int64_t row);
/* Open a call's raw data for reading (vault: its keys; NULL for plain
 * logs).  ES_ENOTFOUND with a message when the call has none. */
int rec_raw_open(const char *data_dir, struct st_vault *vault, int64_t row,
		 struct mlog_reader **out, char *err, size_t errlen);
/* The call's SIP messages as a JSON array: ts_us, src, dst, transport,
 * label (method or status), request, call_id, cseq, sdp (per media line:
 * type, addr, direction, codecs; null without SDP) and text. */
int rec_raw_sip_json(struct mlog_reader *r, struct es_json *j, char *err, size_t errlen);
struct rec_pcap_stats {
	uint64_t sip;     /* SIP messages written */
	uint64_t rtp;     /* RTP packets written */
	uint64_t skipped; /* records that cannot be packets (no stream addresses) */
};
/* The raw data rebuilt as a pcapng capture into out (see pcap_rebuild.c
 * for what it holds and what it cannot). */
int rec_raw_pcap(struct mlog_reader *r, FILE *out, struct rec_pcap_stats *st, char *err,
		 size_t errlen);

#endif /* ES_RECORD_H */
