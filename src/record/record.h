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

#include "core/core.h"
#include "index/index.h"
#include "media/media.h"
#include "net/net.h"
#include "policy/policy.h"

#include <stdio.h>

struct st_vault;
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
	unsigned threads;        /* 0 = one per core */
	bool keep_media_log;     /* keep the spool file after rendering */
	/* Encryption at rest: each recording is rendered in memory (a memfd,
	 * never a plaintext file), then written encrypted with its own data
	 * key from this vault as <id>.<ext>.enc.  NULL = plain files. */
	struct st_vault *vault;
};

struct rec_recorder;
int rec_recorder_new(struct rec_recorder **out, const struct rec_store_config *cfg);
/* Queue the media log of call row call_row (the path is copied); flag
 * (may be NULL), e.g. "recovered", is added to the recording's flags.
 * The call's start and end (0: unknown) bound its audio (render_opts
 * span). */
int rec_recorder_submit(struct rec_recorder *r, int64_t call_row, int64_t call_start_us,
			int64_t call_end_us, const char *media_log, const char *flag);
/* Jobs queued or being rendered. */
unsigned rec_recorder_pending(struct rec_recorder *r);

/* A finished job: rec is the row to enter in the index (strings valid
 * during the callback), or NULL with err ES_ENOTFOUND (no audio: no file)
 * or another error and its message. */
struct rec_done {
	int64_t call_row;
	const struct idx_recording *rec;
	const struct render_result *render;
	int err;
	const char *msg;
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
/* Parse a whole file's bytes: hdr, then fn (when not NULL) for each call.  ES_EPARSE with
 * "line N: why" in err for anything malformed (nothing is handed to fn
 * after an error). */
int rec_active_parse(const char *buf, size_t len, struct rec_active_hdr *hdr, rec_active_fn fn,
		     void *ud, char *err, size_t errlen);
/* Read and parse path (at most 64 MiB): ES_ENOTFOUND when absent. */
int rec_active_read(const char *path, struct rec_active_hdr *hdr, rec_active_fn fn, void *ud,
		    char *err, size_t errlen);

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
unsigned rec_recover_spool(const char *spool_dir, rec_recover_fn fn, void *ud);

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
/* Write the plaintext of recording rec to dst (created, via a temporary
 * file): the stored file is first checked against rec->sha256 (ES_ECRYPTO
 * when it differs: altered), then decrypted with its data key from vault
 * (an encrypted recording; ES_ENOTFOUND when its key was shredded) or
 * copied (a plain one). */
int rec_recording_plain(const char *data_dir, struct st_vault *vault,
			const struct idx_recording *rec, const char *dst, char *err, size_t errlen);

/* The file of a recording row: data_dir + "/" + rec->path. */
int rec_recording_path(const char *data_dir, const struct idx_recording *rec, char *out,
		       size_t cap);

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
};
/* "party=alice,tag=case-7" into f: its strings point into buf (modified).
 * Keys: party, from, to, tag, source, outcome, flag, call-id. */
int rec_hold_query_parse(char *buf, struct idx_filter *f, char *err, size_t errlen);
int rec_hold_place(struct idx *ix, struct st_ledger *l, const struct rec_hold_req *q,
		   size_t *ncalls, size_t *nrecordings, char *err, size_t errlen);
int rec_hold_release(struct idx *ix, struct st_ledger *l, const char *name, const char *by,
		     const char *reason, int64_t now_us, size_t *nrecordings, char *err,
		     size_t errlen);

#endif /* ES_RECORD_H */
