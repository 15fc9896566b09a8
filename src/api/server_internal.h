/*
 * server_internal.h - shared by the HTTP server's files: http.c (the MHD
 * plumbing, responses, authentication), routes.c (login, users, audit),
 * handlers_calls.c (search, detail, verify) and handlers_audio.c (audio
 * with Range).  Nothing here is for other layers.
 */
#ifndef ES_API_SERVER_INTERNAL_H
#define ES_API_SERVER_INTERNAL_H

#include "api/api.h"
#include "api/calljson.h"
#include "api/server.h"
#include "record/record.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

struct MHD_Connection;
struct MHD_Response;
struct st_vault;
struct st_dek;

struct srv_peaks_jobs;
struct srv_peaks_task;
struct srv_audio_cache;
struct srv_guard;
struct srv_keyix;
enum MHD_ConnectionNotificationCode;

/* A pool of index connections: taken by a request, given back after. */
#define SRV_IX_POOL_MAX (API_SRV_THREADS_MAX + 4)

struct api_server {
	struct api_server_config cfg;
	char data_dir[4096];
	char index_path[4200];
	char node[IDX_NODE_MAX]; /* api_server_config.node, "" none */
	struct MHD_Daemon *mhd;
	bool tls;
	uint16_t port;
	struct st_vault *vault; /* NULL: no DATA/keys and no $EARSHOT_KEK */
	struct rec_tr_keysrc trkey; /* each connection's transcript search key */
	/* on a shared index, the vault's way to other nodes' keys (shared_keys.c) */
	struct srv_keyix *keyix;
	/* DATA/ledger read once and then only what is appended (verify and
	 * evidence requests; store/ledger.h) */
	struct st_ledger_cache *ledger;
	pthread_mutex_t lock;   /* the pool (the rate limiter has its own) */
	pthread_cond_t ix_free;
	struct idx *ix_pool[SRV_IX_POOL_MAX];
	unsigned ix_idle;       /* connections in ix_pool */
	unsigned ix_open;       /* connections opened in all */
	unsigned ix_max;
	struct api_rl *rl;
	char *tls_cert_pem, *tls_key_pem;
	char *rules_json;       /* GET /api/rules; under lock (api_server_set_rules_json) */
	/* The waveform decodes in progress (handlers_peaks.c), with their own
	 * lock: a first peaks request decodes a whole recording. */
	struct srv_peaks_jobs *peaks;
	/* The listen-in streams (handlers_listen.c), each with its thread. */
	struct srv_listen_jobs *listen;
	/* Data keys and who listened lately (audio_state.c), with their own lock. */
	struct srv_audio_cache *audio;
	/* The deadline on receiving a whole request (conn_guard.c). */
	struct srv_guard *guard;
	/* DATA/keys opened (created if absent) for sealing second factors when
	 * vault is NULL; under lock (handlers_mfa.c) */
	struct st_vault *mfa_vault;
	/* libmicrohttpd's messages, rate-limited (http.c, on_mhd_log) */
	pthread_mutex_t log_lock;
	int64_t log_window; /* CLOCK_MONOTONIC second the window began */
	unsigned log_count, log_dropped;
	/* responses by status 100..599, for /metrics (handlers_health.c) */
	_Atomic uint64_t http_codes[500];
	/* bytes of archived recordings read by ranges from the bucket
	 * (handlers_audio.c), for /metrics */
	_Atomic uint64_t archive_range_bytes;
};

enum srv_auth { SRV_AUTH_NONE = 0, SRV_AUTH_SESSION, SRV_AUTH_TOKEN };

/* One request. */
struct srv_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	char remote[64];
	struct es_buf body;
	bool started;              /* the first call of the access handler is done */
	bool nul_in_url;           /* "%00" in the raw URL (MHD would cut there) */
	bool body_too_large;
	struct idx *ix;            /* borrowed from the pool while handling */
	/* who, after srv_authenticate */
	enum srv_auth auth;
	struct api_user user;
	struct api_session session;
	char cookie[IDX_HEX256 + 1];
	/* a waveform decode on its own thread, the request suspended
	 * (handlers_peaks.c); freed by srv_peaks_deferred_free */
	struct srv_peaks_task *deferred;
	/* a supervisor limited to their teams' calls (handlers_teams.c): their
	 * calls are those of scope_numbers (malloc'd; freed with r) */
	bool scoped;
	char *scope_numbers;
};

/* A response being built: JSON into a memstream. */
struct srv_json {
	char *buf;
	size_t len;
	FILE *f;
	struct es_json j;
};

/* ---- http.c ---------------------------------------------------------------------- */

int64_t srv_now_us(void);
/* A copy of the rules' JSON (free it), NULL when none (*oom: no memory). */
char *srv_rules_json_copy(struct api_server *s, bool *oom);
/* Borrow / give back an index connection (NULL when none can be opened). */
struct idx *srv_ix_take(struct api_server *s);
void srv_ix_give(struct api_server *s, struct idx *ix);

/* ---- shared_keys.c ----------------------------------------------------------------- */
/* Let s->vault (when there is one) find the keys DATA/keys lacks in the
 * shared index, through a connection of its own (issue #16). */
int srv_keys_remote(struct api_server *s);
void srv_keys_remote_free(struct srv_keyix *k); /* NULL is fine */

/* Start a JSON body (an object is opened by the caller). false: no memory. */
bool srv_json_begin(struct srv_json *o);
/* Drop o unsent (an error is answered instead); frees o. */
void srv_json_discard(struct srv_json *o);
/* Queue o as the response with status; frees o. */
int srv_json_send(struct srv_req *r, unsigned status, struct srv_json *o);
/* The same with more response headers: name, value, ..., NULL. */
int srv_json_send_hdrs(struct srv_req *r, unsigned status, struct srv_json *o,
		       const char *const *hdrs);
/* {"error": code, "message": msg, "parameter": param (when not NULL)} */
int srv_error(struct srv_req *r, unsigned status, const char *code, const char *param,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The headers every response gets (security, no-store; JSON type when json). */
void srv_headers(struct MHD_Response *resp, bool json);
/* Queue resp (and destroy our reference). */
int srv_queue(struct srv_req *r, unsigned status, struct MHD_Response *resp);

/* A query parameter (NULL when absent). */
const char *srv_arg(struct srv_req *r, const char *name);
/* 400 naming the first query parameter not in allowed (NULL-terminated),
 * or given twice; 0 when all are known. */
int srv_args_check(struct srv_req *r, const char *const *allowed, bool *answered);
/* The start of most handlers: srv_authenticate, then srv_args_check with
 * params (NULL: no parameter allowed).  false: the answer is queued (*rc). */
bool srv_begin(struct srv_req *r, const char *const *params, int *rc);
/* 405 with the Allow header (routes.c). */
int srv_method_not_allowed(struct srv_req *r, const char *allow);
/* A request header (NULL when absent). */
const char *srv_header(struct srv_req *r, const char *name);

/* Authenticate from the Bearer token or the session cookie: true when
 * r->user is set; else a 401 has been queued (*rc). */
bool srv_authenticate(struct srv_req *r, int *rc);
/* Audit one entry as r's user. */
void srv_audit(struct srv_req *r, const char *action, const char *object, const char *outcome,
	       const char *detail);
/* api_allow for r's user; a denial is audited (action, object) and answered
 * 403 (*rc).  true: allowed. */
bool srv_allow(struct srv_req *r, enum api_action act, bool own, const char *action,
	       const char *object, int *rc);
/* The check of a per-call request: 403 (srv_allow) when r's role may not do
 * act even on its own calls; else one and the same 404 "no such call" when
 * the call is not found or not r's to act on (the audit says which).
 * true: allowed. */
bool srv_allow_call(struct srv_req *r, enum api_action act, bool found, bool own,
		    const char *action, const char *object, int *rc);

/* ---- routes.c -------------------------------------------------------------------- */
int srv_route(struct srv_req *r);
int srv_login(struct srv_req *r);
/* Send o with a Set-Cookie header for the session cookie. */
int srv_send_with_cookie(struct srv_req *r, struct srv_json *o, const char *value,
			 int64_t max_age_s);
int srv_logout(struct srv_req *r);
int srv_me(struct srv_req *r);
int srv_users(struct srv_req *r);
int srv_audit_list(struct srv_req *r);
int srv_audit_verify(struct srv_req *r);
/* A JSON body that is exactly {"<key>": "<string>"}: *out (malloc'd,
 * NUL-free) or ES_EPARSE / ES_ENOMEM. */
int srv_body_one(const struct es_buf *body, const char *key, char **out);

/* One key of a flat JSON object body (srv_body_fields). */
enum srv_jtype {
	SRV_JSTR,  /* a string: s */
	SRV_JBOOL, /* true or false: b */
	SRV_JLIST, /* a string, or an array of comma-free strings: s joined with ',' */
	SRV_JUINT, /* a non-negative integer of at most 15 digits: i */
};
struct srv_jfield {
	const char *key;
	enum srv_jtype type;
	bool required;
	/* out */
	bool present;
	char *s;                   /* malloc'd, NUL-free; srv_fields_free */
	bool b;
	int64_t i;
};
/* A JSON object whose keys are among f's (each at most once, the required
 * ones present) with values of their types.  ES_EPARSE with *bad naming the
 * key whose value is bad or missing, else "body" (not JSON, an unknown or
 * repeated key); ES_ENOMEM.  On failure nothing is left to free. */
int srv_body_fields(const struct es_buf *body, struct srv_jfield *f, size_t n,
		    const char **bad);
/* Wipe (they may hold a password) and free the strings of f. */
void srv_fields_free(struct srv_jfield *f, size_t n);

/* ---- handlers_redact.c: redaction (#15) ---------------------------------------------- */
/* POST /api/calls/{id}/redact. */
struct srv_rec;
int srv_call_redact(struct srv_req *r, int64_t id);
/* GET .../audio?version=original: replace ar's recording by the kept
 * original of the call's first redaction, for those allowed
 * (API_ACT_ORIGINAL); 0, or an answer queued (*rc) and false. */
bool srv_original_audio(struct srv_req *r, int64_t id, const char *obj, struct srv_rec *ar,
			int *rc);

/* ---- handlers_holds.c: legal holds (#15) ------------------------------------------------ */
/* /api/holds (rest NULL) and /api/holds/{rest}. */
int srv_holds_route(struct srv_req *r, const char *rest);
/* handlers_subject.c: /api/subject/<rest> (export, erase). */
int srv_subject_route(struct srv_req *r, const char *rest);

/* ---- handlers_tokens.c: API tokens, one's own password ---------------------------- */
/* /api/tokens (rest NULL) and /api/tokens/{rest}. */
int srv_tokens_route(struct srv_req *r, const char *rest);
/* GET /api/users/{name}/tokens (name valid). */
int srv_user_tokens(struct srv_req *r, const char *name);
/* POST /api/me/password. */
int srv_me_password(struct srv_req *r);
/* false (a 415 queued in *rc, action audited) unless the body is JSON. */
bool srv_json_body(struct srv_req *r, const char *action, int *rc);
/* false (a 403 queued in *rc, action audited) when r came with an API token:
 * what only a signed-in person may do. */
bool srv_session_only(struct srv_req *r, const char *action, int *rc);
/* 429 with Retry-After until (the rate limiter's answer) and msg. */
int srv_too_many(struct srv_req *r, int64_t until, int64_t now, const char *msg);

/* ---- handlers_mfa.c: the TOTP second factor (#18) --------------------------------- */
/* POST /api/login/totp: the second step of a sign-in. */
int srv_login_totp(struct srv_req *r);
/* /api/me/totp (GET state, POST enrol, DELETE remove) and, confirm,
 * POST /api/me/totp/confirm. */
int srv_me_totp(struct srv_req *r, bool confirm);
/* DELETE /api/users/{name}/totp: an admin resets a user's second factor. */
int srv_user_totp_reset(struct srv_req *r, const char *name);
/* A new session for u (its cookie set) answered as a login is. */
int srv_login_finish(struct srv_req *r, const struct api_user *u, int64_t now);
/* After the first step of a login (u's password was right): a session, or
 * with a second factor on a pending token to take to /api/login/totp. */
int srv_login_second(struct srv_req *r, const struct api_user *u, int64_t now);
/* Does u's role need a second factor ([api] required_mfa)? */
bool srv_mfa_required(const struct srv_req *r, const struct api_user *u);
/* ...and has u none yet (then only enrolment is open to u)? */
bool srv_mfa_owed(struct srv_req *r, const struct api_user *u);
/* Called by srv_authenticate: false (and *rc, a 403 "mfa_enrolment_required")
 * when r's user owes a second factor and r is not part of enrolling one. */
bool srv_mfa_gate(struct srv_req *r, int *rc);

/* ---- handlers_calls.c ------------------------------------------------------------ */
int srv_calls(struct srv_req *r);
/* GET /api/alerts (handlers_alerts.c) */
int srv_alerts(struct srv_req *r);
extern const char *const srv_calls_params[]; /* its query parameters, NULL-ended */
/* handlers_searches.c: /api/searches (rest NULL) and /api/searches/{id}. */
int srv_searches_route(struct srv_req *r, const char *rest);
/* handlers_stats.c: GET /api/stats (the dashboard). */
int srv_stats(struct srv_req *r);
/* GET /api/calls.csv: the same search as CSV (API_ACT_EXPORT, audited). */
int srv_calls_csv(struct srv_req *r);
/* handlers_health.c: no login; /healthz and /metrics answer without the
 * index, /readyz asks it */
int srv_healthz(struct srv_req *r);
int srv_metrics(struct srv_req *r);
int srv_readyz(struct srv_req *r);
int srv_call(struct srv_req *r, int64_t id);
int srv_call_verify(struct srv_req *r, int64_t id);
/* The JSON of a call as `earshot show --json` / `calls --json` write it. */

/* ---- static.c: GET of the web UI's allow-listed files (not /api/) -------------- */
int srv_static(struct srv_req *r);

/* ---- handlers_audio.c ------------------------------------------------------------ */
int srv_call_audio(struct srv_req *r, int64_t id);
#define SRV_REASON_MAX 200 /* bytes of a reason for listening */
/* The reason for listening ([api] listen_reason; handlers_audio.c):
 * ?reason= or X-Listen-Reason into *out (NULL: none given); false when
 * refused (*rc queued; a missing required reason audited as action). */
bool srv_listen_reason(struct srv_req *r, const char *action, const char *obj,
		       const char **out, int *rc);

/* ---- audio_state.c: what the audio handler keeps between requests ------------- */
#define SRV_KEYCACHE_MAX 64                              /* data keys cached */
#define SRV_KEYCACHE_TTL_US (5 * 60 * ES_US_PER_SEC)     /* then unwrapped again */
#define SRV_LISTENED_MAX 1024                            /* (user, remote, recording) */
#define SRV_LISTEN_WINDOW_US (10 * 60 * ES_US_PER_SEC)   /* one call.listen entry per */
struct srv_key;
int srv_audio_cache_new(struct srv_audio_cache **out);
/* Wipes every cached key (no request may be running). */
void srv_audio_cache_free(struct srv_audio_cache *c); /* NULL is fine */
/* The data key of recording rec_id stored with sha256: cached (loaded less
 * than SRV_KEYCACHE_TTL_US ago) or unwrapped from v and cached; first a stat
 * of the wrapped key file, whose absence (shredded) drops the cached key and
 * answers ES_ENOTFOUND.  Else errors as st_vault_key.  *dek is borrowed
 * until srv_keycache_put(c, *ref, drop); drop: forget it (it failed). */
int srv_keycache_get(struct srv_audio_cache *c, struct st_vault *v, const char *rec_id,
		     const char *sha256, int64_t now_us, struct srv_key **ref,
		     const struct st_dek **dek, char *err, size_t errlen);
void srv_keycache_put(struct srv_audio_cache *c, struct srv_key *ref, bool drop);
/* Whether user at remote was audited listening to recording (call, sha256)
 * less than SRV_LISTEN_WINDOW_US ago (srv_listened_mark after the audit). */
bool srv_listened_recently(struct srv_audio_cache *c, const char *user, const char *remote,
			   int64_t call, const char *sha256, int64_t now_us);
void srv_listened_mark(struct srv_audio_cache *c, const char *user, const char *remote,
		       int64_t call, const char *sha256, int64_t now_us);

/* ---- conn_guard.c: a deadline on receiving a whole request ------------------- */
/* From a connection's start, or the end of its previous request, to its
 * request line, headers and body all received; then its socket is shut
 * down (MHD's idle timeout restarts with every byte, this does not). */
#define SRV_REQUEST_DEADLINE_US (10 * ES_US_PER_SEC)
/* Start the watcher thread (ES_ENOMEM). */
int srv_guard_new(struct srv_guard **out, int64_t deadline_us);
/* Stop the watcher; after MHD_stop_daemon.  NULL is fine. */
void srv_guard_free(struct srv_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION with g as its closure. */
void srv_guard_notify(void *g, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
/* The whole request is in (no deadline while it is handled and answered). */
void srv_guard_request_in(struct srv_guard *g, struct MHD_Connection *conn);
/* Its answer is done: the next request's deadline starts now. */
void srv_guard_request_done(struct srv_guard *g, struct MHD_Connection *conn);

/* ---- handlers_tags.c: tags and notes ------------------------------------------- */
/* Authenticate, refuse query parameters, find call id and check act on it
 * (obj gets the id as text): true to go on; else the answer is queued
 * (*rc) and audited as action. */
bool srv_access_call(struct srv_req *r, int64_t id, enum api_action act, const char *action,
		     char obj[24], int *rc);
/* The same with the query parameters allowed (NULL-terminated) and row
 * (may be NULL) handed the call as it is read, e.g. to keep its recording
 * (idx_call_brief: parties and recording, no streams, events or messages). */
bool srv_access_call_ex(struct srv_req *r, int64_t id, enum api_action act, const char *action,
			const char *const *params, idx_call_fn row, void *ud, char obj[24], int *rc);
/* A call's recording row kept past the index callback: srv_rec_row (an
 * idx_call_fn for srv_access_call_ex) copies the strings a handler needs;
 * rec.path, rec.format, rec.sha256 and rec.plain_sha256 point at the
 * copies, its other strings are NULL. */
struct srv_rec {
	bool has_rec;
	bool bad_path;   /* absolute, with "..", or too long: never opened */
	struct idx_recording rec;
	int64_t call;
	char path[1024];
	char format[16];
	char sha256[IDX_HEX256];       /* of the file as stored */
	char plain_sha256[IDX_HEX256]; /* of the plaintext, "" unknown */
	/* the call itself, with or without a recording: a queued one is
	 * rendered from its media log by these (record/queued.c) */
	char call_id[512];
	int64_t start_us, end_us;
	char node[IDX_NODE_MAX]; /* the recorder's, "" none (a shared index) */
};
int srv_rec_row(void *ud, const struct idx_call *c);
/* Whether ar's recording, missing from this data folder, is another node's
 * on a shared index (issue #16): its file is on that node or its bucket. */
bool srv_rec_elsewhere(struct srv_req *r, const char *node, const char *path);
/* A recording of another node fetched from that node's published bucket
 * into DATA/cache (rec_tier_fetch_node; sha256 NULL: unchecked, the caller
 * removes it): 0 with the path in out, or an error with err set. */
int srv_rec_fetch(struct srv_req *r, const char *node, const char *path, const char *sha256,
		  char *out, size_t cap, char *err, size_t errlen);
/* The one way a handler reaches a call's recording wherever it is (issue
 * #16), before it opens it as a local file: another node's archived
 * recording is fetched from that node's published bucket into DATA/cache
 * (checked against the index's SHA-256), where rec_recording_path finds
 * it.  0: reachable (local, cached or fetched; no recording: nothing to
 * do); ES_ENOKEK: encrypted and this node has no KEK; ES_EUNSUP: kept by
 * another node and not in its bucket (or the bucket cannot be read);
 * ES_ECRYPTO: the bucket's copy is not the index's.  err says which in
 * the words srv_rec_unreachable answers with. */
int srv_rec_reach(struct srv_req *r, const struct srv_rec *ar, char *err, size_t errlen);
/* The answer to srv_rec_reach's failure e (audited as action on obj):
 * 503 no_kek, 503 elsewhere, 500 tampered. */
int srv_rec_unreachable(struct srv_req *r, const char *action, const char *obj, int e,
			const char *err);
/* A channel's stored transcript of ar's recording, wherever it is (issue
 * #16): rec_transcript_load_node with ar's node when the recording is
 * another node's.  ES_ENOTFOUND: none. */
int srv_transcript_load(struct srv_req *r, const struct srv_rec *ar, int ch, struct es_buf *out,
			char *err, size_t errlen);
/* The words of those answers (GET .../audio's too): into out, returned. */
const char *srv_no_kek_msg(char *out, size_t cap);
const char *srv_elsewhere_msg(const char *node, const char *why, char *out, size_t cap);
int srv_call_tags(struct srv_req *r, int64_t id);
int srv_call_tag(struct srv_req *r, int64_t id);
int srv_call_untag(struct srv_req *r, int64_t id, struct slice tag);
int srv_call_notes(struct srv_req *r, int64_t id);
int srv_call_note(struct srv_req *r, int64_t id);
/* Valid UTF-8 without control characters other than TAB, CR and LF, and
 * not only white space (a note's, a bookmark's text). */
bool srv_text_ok(const char *s, size_t n);
/* A valid tag: 1..IDX_TAG_MAX bytes of letters, digits, '-', '_', '.' and
 * space, not starting or ending with a space. */
bool srv_tag_ok(const char *s, size_t n);
/* The call's tags as a JSON array of strings. */
int srv_tags_json(struct srv_req *r, int64_t id, struct es_json *j);

/* ---- handlers_evidence.c: GET /api/calls/{id}/evidence (a ZIP) ------------------ */
int srv_call_evidence(struct srv_req *r, int64_t id);

/* ---- handlers_export.c: a call's SIP messages and rebuilt capture ----------------- */
int srv_call_sip(struct srv_req *r, int64_t id);
int srv_call_pcap(struct srv_req *r, int64_t id);
/* GET /api/calls/{id}/export?format=; POST /api/export.zip */
int srv_call_export(struct srv_req *r, int64_t id);
int srv_export_zip(struct srv_req *r);

/* ---- handlers_peaks.c: GET /api/calls/{id}/peaks (the player's waveform) ------- */
int srv_call_peaks(struct srv_req *r, int64_t id);
/* Decodes of recordings for their waveform at once: per user, in all. */
#define SRV_PEAKS_PER_USER 1
#define SRV_PEAKS_AT_ONCE 2
#define SRV_PEAKS_RETRY_S "2" /* Retry-After of the 429 beyond them */
int srv_peaks_jobs_new(struct srv_peaks_jobs **out);
void srv_peaks_jobs_free(struct srv_peaks_jobs *c); /* NULL is fine */
/* Refuse new decodes and wait for the running ones (their requests are
 * resumed): before MHD_stop_daemon, which may not meet a suspended one. */
void srv_peaks_jobs_wait(struct srv_peaks_jobs *c);
/* A request's deferred decode, when it ends unanswered (NULL is fine). */
void srv_peaks_deferred_free(struct srv_req *r);

/* ---- handlers_admin.c: user administration and the rules' read-only view -------- */
/* POST /api/users */
int srv_user_create(struct srv_req *r);
/* /api/users/{rest}: name is the rest of the URL after "/api/users/" */
int srv_user_route(struct srv_req *r, const char *rest);
/* GET /api/rules */
int srv_rules(struct srv_req *r);

/* ---- handlers_active.c: GET /api/active (calls being recorded now) ------------- */
int srv_active(struct srv_req *r);
/* POST /api/active/{call_id}/{verb}: pause, resume, consent. */
int srv_active_control(struct srv_req *r, const char *call_id, const char *verb);
/* The call as the recorder lists it now in DATA/run/active.tsv (*found);
 * ES_ENOTFOUND when no recorder runs (no list, or a stale one). */
struct rec_active;
int srv_active_find(struct api_server *s, const char *call_id, struct rec_active *a, bool *found);
/* One of the requester's numbers (with a team scope, its agents') is a party of the call in progress. */
bool srv_active_own(const struct srv_req *r, const struct rec_active *a);

/* ---- handlers_listen.c: GET /api/active/{call_id}/listen (listen-in) ------------ */
int srv_active_listen(struct srv_req *r, const char *call_id);
struct srv_listen_jobs;
int srv_listen_jobs_new(struct srv_listen_jobs **out);
void srv_listen_jobs_free(struct srv_listen_jobs *c); /* NULL is fine */
/* End every listen-in stream and wait for their threads: before
 * MHD_stop_daemon, which may not meet a suspended connection. */
void srv_listen_jobs_wait(struct srv_listen_jobs *c);

/* ---- transcripts (handlers_transcripts.c) ---------------------------------------
 * The search's text and text_party into f: false when it answered (a bad
 * value: 400; PostgreSQL, which has no transcript search yet: 501), *rc
 * then being the handler's return. */
#define SRV_HITS_CALLS 500
bool srv_text_filter(struct srv_req *r, struct idx_filter *f, int *rc);
/* POST /api/calls/{id}/transcribe (handlers_transcripts.c). */
int srv_call_transcribe(struct srv_req *r, int64_t id);
/* GET /api/calls/{id}/transcript (handlers_transcripts.c): both parties'
 * words as stored (masked), to whoever may listen; audited call.transcript. */
int srv_call_transcript(struct srv_req *r, int64_t id);
/* "hits": {"<call id>": [{"party", "snippet", "at_ms": [...]}]} for the
 * calls of a page found by f->text. */
void srv_text_hits(struct srv_req *r, struct es_json *j, const struct idx_filter *f,
		   const int64_t *ids, unsigned n);

/* ---- handlers_teams.c: teams and the supervisor's scope (issue #18) ------------- */
/* After authentication: whether r's user is a scoped supervisor, and the
 * numbers their calls are matched with.  false: 503 queued (*rc). */
bool srv_scope_load(struct srv_req *r, int *rc);
/* Is the call r's to act on under the own-call rule: for an agent one of
 * their numbers is a party, for a scoped supervisor one of their teams'
 * agents' numbers (api_call_is_own over the matching list). */
bool srv_call_own(const struct srv_req *r, const struct idx_call *c);
bool srv_party_own(const struct srv_req *r, const char *user, const char *uri);
/* api_allow for r's user, the scope applied: a scoped supervisor's grants
 * on calls hold only for their own (in-scope) calls. */
bool srv_may(const struct srv_req *r, enum api_action act, bool own);
/* /api/teams (rest NULL) and /api/teams/{rest}; /api/scopes/{rest}. */
int srv_teams_route(struct srv_req *r, const char *rest);
int srv_scopes_route(struct srv_req *r, const char *rest);
/* handlers_qa.c: /api/forms[/{id}], /api/calls/{id}/evaluations, /api/reports/qa */
int srv_forms_route(struct srv_req *r, const char *rest);
int srv_call_evaluations(struct srv_req *r, int64_t id);
int srv_qa_report(struct srv_req *r);
/* A QA form definition as POST /api/forms takes it (cJSON *in: an object
 * of name and sections) checked against the limits and written anew with
 * known keys only: NULL and *out (malloc'd, compact JSON) or the name of
 * the part that is wrong ("body", "name", "sections", "questions",
 * "memory") and *out NULL. */
struct cJSON;
const char *srv_qa_form_check(const struct cJSON *in, char **out);

/* ---- handlers_bookmarks.c: bookmarks, comments and clips (issue #18) ----------- */
/* /api/calls/{id}/bookmarks[/{bid}] (clips false) and /api/calls/{id}/clips
 * (clips true); rest: what follows the collection's name and its '/'. */
int srv_call_bookmarks_route(struct srv_req *r, int64_t id, bool clips, struct slice rest);
/* /api/clips/{rest}: {cid}, {cid}/audio, {cid}/export. */
int srv_clips_route(struct srv_req *r, const char *rest);

#endif /* ES_API_SERVER_INTERNAL_H */
