/*
 * index.h - the metadata index: calls, parties, streams, events, SIP
 * messages and imports in SQLite (WAL mode, the default) or PostgreSQL,
 * with numbered schema migrations, search and detail queries.  Plain
 * structs in, plain structs out: the index knows nothing of packets.
 */
#ifndef ES_INDEX_H
#define ES_INDEX_H

#include "core/core.h"

struct idx;

/* The name of the consent migration (schema v10 when written; the lead
 * may renumber): tests find it by name. */
#define IDX_MIGRATION_CONSENT "consent per party"

/* Open (creating if needed) the index at path, apply every pending
 * migration.  path is a SQLite file (switched to WAL) or a PostgreSQL URL
 * "postgresql://[user[:password]@][host][:port]/db[?param=value...]"
 * (libpq's; the database must exist).  On failure writes a message into
 * err, a password masked. */
int idx_open(struct idx **out, const char *path, char *err, size_t errlen);
void idx_close(struct idx *ix);
/* Schema version after migrations. */
int idx_schema_version(struct idx *ix);
/* The last error message (for logs; a password in the location masked). */
const char *idx_errmsg(struct idx *ix);
/* "sqlite" or "postgresql". */
const char *idx_engine_name(struct idx *ix);

int idx_begin(struct idx *ix);
int idx_commit(struct idx *ix);
int idx_rollback(struct idx *ix);

/* ---- rows ------------------------------------------------------------------
 * Strings are NUL-terminated and may be NULL (stored as NULL).  In rows
 * handed to callbacks they point into the index's memory and are valid only
 * during the callback. */

enum idx_party_role { IDX_CALLER = 0, IDX_CALLEE = 1 };

struct idx_party {
	const char *uri;      /* "sip:alice@example.com" */
	const char *user;     /* user part / number: "alice", "+15551234" */
	const char *display;  /* display name, unquoted */
	const char *pai;      /* P-Asserted-Identity URI, if any */
	const char *ua;       /* User-Agent / Server of this party */
	const char *sdp_addr; /* last announced media "ip:port" */
};

struct idx_stream {
	int party;            /* IDX_CALLER (sent by the caller) or IDX_CALLEE;
				 -1 when unknown */
	uint32_t ssrc;
	char src[ES_ADDR_STRLEN];
	char dst[ES_ADDR_STRLEN];
	const char *payload_types; /* "8,101" in order of first use */
	const char *codecs;        /* "PCMA,telephone-event" */
	uint64_t packets;
	uint64_t expected;
	int64_t lost;
	uint64_t duplicates;
	uint64_t out_of_order;
	double jitter_max_ms;
	double jitter_mean_ms;
	double delta_max_ms;
	int64_t first_us;
	int64_t last_us;
	const char *rtcp_json;     /* RTCP reports kept with the stream, or NULL */
	const char *quality_json;  /* network quality (analytics/quality.h,
				      docs/QUALITY.md), or NULL (schema v10) */
};

struct idx_event {
	int64_t ts_us;
	const char *kind;     /* "dtmf", "hold", "resume", "reinvite", "update",
				 "ssrc_change", "info_dtmf", ... */
	int party;            /* IDX_CALLER / IDX_CALLEE / -1 */
	const char *detail;   /* short text: digit and duration, new codec ... */
};

struct idx_msg {
	int64_t ts_us;
	uint64_t frame;
	char src[ES_ADDR_STRLEN];
	char dst[ES_ADDR_STRLEN];
	const char *transport;  /* "udp" / "tcp" */
	const char *label;      /* "INVITE", "180 Ringing", "200 OK" ... */
	uint32_t cseq;
	const char *cseq_method;
	bool retransmission;
	bool has_sdp;
};

/* The recording of a call: a file under the data folder. */
struct idx_recording {
	int64_t call_row;         /* the call's id */
	const char *path;         /* relative to the data folder */
	const char *format;       /* "opus", "wav", "flac" */
	uint64_t bytes;
	const char *sha256;       /* hex digest of the file as stored */
	const char *plain_sha256; /* of the plaintext (encrypted files), or NULL */
	bool encrypted;           /* stored as <path> = "...<ext>.enc" (store/crypt.h) */
	int64_t start_us;         /* capture time of the first sample */
	int64_t duration_us;
	uint32_t rate;
	unsigned channels;        /* 2: caller left, callee right; 1: mixed */
	const char *codecs;       /* decoded codecs: "PCMA,G722" */
	const char *flags;        /* comma list: "one_sided", "caller_silent",
				     "callee_silent", "recovered", "torn" */
	const char *stats_json;   /* what the renderer counted */
	int64_t created_us;       /* wall clock */
};

struct idx_call {
	int64_t id;               /* assigned by insert */
	const char *call_id;
	struct idx_party caller;
	struct idx_party callee;
	int64_t start_us;         /* first message of the call */
	int64_t answer_us;        /* 2xx to INVITE; 0 = not answered */
	int64_t end_us;           /* BYE / CANCEL / final failure / last packet */
	const char *outcome;      /* "answered", "busy", "no_answer",
				     "cancelled", "rejected", "redirected",
				     "failed", "in_progress" */
	int sip_code;             /* final response code to the INVITE, 0 = none */
	const char *end_reason;   /* "bye", "cancel", "final_response",
				     "timeout", "capture_end" */
	const char *flags;        /* comma list: "no_invite", "forked",
				     "one_way", "no_media", "orphan_rtp",
				     "not_recorded" (a rule said so),
				     "recording_cut" (the spool failed, e.g. disk
				     full), "recovered" (finished after a crash) */
	const char *extra_json;   /* configured extra headers: {"X-Case":"42"} */
	const char *source;       /* "import", "live", "siprec" */
	const char *node;         /* the recorder node (IDX_MIG_NODES); NULL on
				     insert: the index's idx_set_node */
	const char *rule;         /* the recording rule that decided, or NULL */
	const char *consent[2];   /* each party's consent state (IDX_CALLER,
				     IDX_CALLEE): "given", "refused", "announced",
				     "missing", "not_required"; NULL when the rule
				     asked for none (policy/policy.h) */
	const char *consent_json; /* the evidence: {"caller": {"state", "source",
				     "ts_us"}, "callee": {...}, "agent", "keep"} */
	const char *clock_json;   /* the recorder's clock state while the call was
				     captured (core/clock.h), NULL = unknown */
	int64_t import_id;        /* 0 = none */
	/* network quality over the audio streams (schema v10; docs/QUALITY.md):
	 * set = false when no audio stream had packets */
	struct idx_call_quality {
		bool set;
		double mos;       /* the worst direction's MOS, adaptive buffer */
		double mos_min;   /* the lowest MOS of any direction's 5 s bin */
		double loss_pct;  /* the worst direction's network loss */
		double jitter_ms; /* the worst direction's jitter p95 */
	} quality;
	/* talk metrics (schema IDX_MIG_TALK; docs/ANALYTICS.md): read back
	 * only, entered by idx_call_set_talk; json NULL = not analysed */
	struct idx_call_talk {
		const char *json;     /* every figure and the speech segments */
		double ratio;         /* caller's share of talk, -1 = nobody spoke */
		int64_t overtalk_ms;  /* both speaking, total */
		int64_t dead_air_ms;  /* the longest silence of both */
	} talk;
	/* audio checks (schema IDX_MIG_CHECKS; analytics/audiocheck.h): read
	 * back only, entered by idx_call_set_checks; NULL = not checked.  Their
	 * flags are also in the recording's flags (searched with the call's). */
	const char *checks_json;
	/* transcript findings (schema IDX_MIG_SPEECH; record/transcript.c):
	 * read back only, entered by idx_call_set_speech; json NULL = none */
	struct idx_call_speech {
		const char *json;     /* keyword hits, missing lists, sentiment,
					 masked number spans */
		bool sentiment_set;   /* then: the call's mean compound, -1..1 */
		double sentiment;
	} speech;
	struct idx_stream *streams;
	unsigned nstreams;
	struct idx_event *events;
	unsigned nevents;
	struct idx_msg *msgs;
	unsigned nmsgs;
	const struct idx_recording *recording; /* read back only; NULL = none */
};

/* ---- writing ---------------------------------------------------------------- */

struct idx_import {
	int64_t id;
	const char *path;
	const char *file_key;   /* identity of the file: size + hash of its head */
	int64_t started_us;     /* wall clock */
	int64_t finished_us;
	uint64_t frames;
	uint64_t calls_new;
	uint64_t calls_dup;
	uint64_t streams;
	const char *status;     /* "running", "done", "partial" (input error) */
	const char *summary_json;
};
/* Start an import row (status "running"); sets imp->id. */
int idx_import_begin(struct idx *ix, struct idx_import *imp);
/* Update the row with the counters, status and summary. */
int idx_import_finish(struct idx *ix, const struct idx_import *imp);

/* Insert a call with its parties, streams, events and messages.  A call is
 * identified by (call_id, start_us): inserting one already present changes
 * nothing, sets *duplicate and c->id to the existing row. */
int idx_call_insert(struct idx *ix, struct idx_call *c, bool *duplicate);

/* Enter the recording of call rec->call_row (its file must be durable
 * already).  ES_EEXIST if the call has one. */
int idx_recording_insert(struct idx *ix, const struct idx_recording *rec);
/* Remove the recording row of call call_row (the call's row stays):
 * ES_ENOTFOUND when it has none. */
int idx_recording_delete(struct idx *ix, int64_t call_row);
/* Store the talk metrics of call call_row (schema IDX_MIG_TALK): json as
 * analytics/talk.h writes it, the searched figures beside (ratio < 0 =
 * nobody spoke: NULL).  ES_ENOTFOUND when there is no such call. */
int idx_call_set_talk(struct idx *ix, int64_t call_row, const struct idx_call_talk *t);
/* Store the audio checks of call call_row (schema IDX_MIG_CHECKS): json as
 * analytics/audiocheck.h writes it.  ES_ENOTFOUND when there is no such call. */
int idx_call_set_checks(struct idx *ix, int64_t call_row, const char *json);
/* The row id of the call (call_id, start_us): ES_ENOTFOUND if absent. */
int idx_call_find(struct idx *ix, const char *call_id, int64_t start_us, int64_t *id);

/* ---- reading ------------------------------------------------------------------ */

/* The migration that gives the party search on PostgreSQL one trigram
 * index over both parties' text per call (schema.c; nothing on SQLite). */
#define IDX_MIG_PARTY_TEXT "party search text per call (PostgreSQL)"
/* The migration that gives tag and duration searches their indexes
 * (schema.c: each tag row carries its call's start; issue #16). */
#define IDX_MIG_SEARCH_FAST "search indexes: tags by time, answered duration"

struct idx_filter {
	const char *party;        /* substring of caller/callee uri, user,
				     display or PAI (case-insensitive) */
	int64_t from_us;          /* start >= from (0 = unbounded) */
	int64_t to_us;            /* start < to (0 = unbounded) */
	const char *outcome;      /* exact outcome, NULL = any */
	int64_t min_duration_us;  /* answered duration >= this (0 = any) */
	int64_t max_duration_us;  /* duration <= this (0 = any; unanswered calls
				     have duration 0) */
	const char *call_id;      /* exact Call-ID, NULL = any */
	const char *codec;        /* a stream with this codec name (any case) */
	const char *flag;         /* the call or its recording has this flag */
	const char *source;       /* exact source: "import", "live", ... */
	const char *tag;          /* the call has this tag (any case) */
	const char *consent;      /* either party's consent state is this */
	double max_mos;           /* quality.mos <= this (0 = any; calls
				     without quality never match) */
	double min_loss;          /* quality.loss_pct >= this, percent (0 = any) */
	/* talk metrics (docs/ANALYTICS.md); calls without them never match */
	int64_t min_overtalk_ms;  /* overtalk total >= this (0 = any) */
	int64_t min_dead_air_ms;  /* longest dead air >= this (0 = any) */
	bool talk_ratio_set;      /* then: caller's talk ratio <= max_talk_ratio */
	double max_talk_ratio;
	/* transcript search (idx_tr_match's syntax; the blind index, both
	 * engines): NULL = any; text_party 0 = either party's words,
	 * IDX_CALLER + 1 or IDX_CALLEE + 1 = that party's only */
	const char *text;
	int text_party;
	/* transcript findings (IDX_MIG_SPEECH): a keyword hit whose category,
	 * list or phrase is keyword (any case), NULL = any; the call's
	 * sentiment within [min, max] when set (calls without one never match) */
	const char *keyword;
	bool min_sentiment_set, max_sentiment_set;
	double min_sentiment, max_sentiment;
	enum idx_sort {
		IDX_SORT_START = 0,   /* start time (newest_first reverses) */
		IDX_SORT_MOS,         /* worst first: lowest MOS, no quality last */
		IDX_SORT_LOSS,        /* highest loss first */
		IDX_SORT_JITTER,      /* highest jitter p95 first */
	} sort;                   /* paging (after_id) needs IDX_SORT_START:
				     ES_EINVAL otherwise */
	bool newest_first;        /* by start time descending (paging too) */
	unsigned limit;           /* 0 = no limit */
	int64_t after_id;         /* pagination: the rows after call after_id
				     in list order ((start, id), or its reverse
				     with newest_first); plain id > after_id
				     (< with newest_first) if that call is gone */
	int64_t timeout_ms;       /* a person's search ([index] search_timeout):
				     stopped after this many ms with ES_ETIMEOUT
				     and idx_errmsg naming the limit; fn may
				     have had some calls by then.  0 = none
				     (every internal walk: holds, backups) */
};

/* [index] search_timeout's default: the API's and the CLI's searches. */
#define IDX_SEARCH_TIMEOUT_MS_DEFAULT 10000

/* Duration of a call as shown: end - answer for answered calls, else 0. */
int64_t idx_call_duration_us(const struct idx_call *c);

/* Calls matching f, ordered by start time then id (or the reverse); each is handed to fn
 * with its streams and recording loaded (events and messages are not:
 * nevents = nmsgs = 0).  fn returns non-zero to stop, which is then returned. */
typedef int (*idx_call_fn)(void *ud, const struct idx_call *c);
int idx_calls_list(struct idx *ix, const struct idx_filter *f, idx_call_fn fn, void *ud);
/* One call with everything: streams, events, messages, recording.
 * ES_ENOTFOUND. */
int idx_call_get(struct idx *ix, int64_t id, idx_call_fn fn, void *ud);
/* One call for an access check: the call row, both parties and the
 * recording, without streams, events or SIP messages (nstreams = nevents =
 * nmsgs = 0).  ES_ENOTFOUND. */
int idx_call_brief(struct idx *ix, int64_t id, idx_call_fn fn, void *ud);

/* Counts for a summary. */
int idx_count_calls(struct idx *ix, int64_t *n);

/* ---- access control (schema v5; users.c) ----------------------------------
 * Plain storage for api/api.h, which owns the rules: hashing, roles, the
 * audit chain.  Nothing here checks a password or computes a hash.  Fixed
 * buffers: rows are copied out, the caller owns them. */

#define IDX_NAME_MAX 64      /* user names: bytes, without the NUL */
#define IDX_NUMBERS_MAX 1024 /* the comma list of a user's numbers */
#define IDX_PWHASH_MAX 128   /* crypto_pwhash_STRBYTES */
#define IDX_HEX256 65        /* a hex SHA-256 with its NUL */

struct idx_user {
	int64_t id;                        /* assigned by insert */
	char name[IDX_NAME_MAX + 1];
	char pwhash[IDX_PWHASH_MAX];       /* "$argon2id$..." */
	char role[16];                     /* admin|supervisor|agent|auditor */
	char numbers[IDX_NUMBERS_MAX + 1]; /* "1001,+15551234" or "" */
	bool can_listen;
	bool disabled;
	int64_t created_us;
	int64_t updated_us;
};

/* Insert u (u->id set); ES_EEXIST when the name is taken (names compare
 * ASCII case-insensitively). */
int idx_user_insert(struct idx *ix, struct idx_user *u);
/* Rewrite every field but id, name and created_us of the row u->id;
 * ES_ENOTFOUND if it is gone. */
int idx_user_update(struct idx *ix, const struct idx_user *u);
/* By name (any case) or by id: ES_ENOTFOUND. */
int idx_user_get(struct idx *ix, const char *name, struct idx_user *out);
int idx_user_get_id(struct idx *ix, int64_t id, struct idx_user *out);
/* Every user by name; fn returns non-zero to stop (then returned). */
typedef int (*idx_user_fn)(void *ud, const struct idx_user *u);
int idx_users_list(struct idx *ix, idx_user_fn fn, void *ud);

struct idx_token {
	int64_t id;                  /* assigned by insert */
	int64_t user_id;
	char hash[IDX_HEX256];       /* hex SHA-256 of the secret */
	char label[128];
	int64_t created_us;
	int64_t last_used_us;        /* 0 = never */
	int64_t expires_us;          /* 0 = never (schema v8) */
	bool revoked;
	int64_t revoked_us;          /* 0 = not revoked, or before v8 */
	char revoked_why[64];        /* "" = not revoked, or before v8 */
};
/* Insert t (t->id set). */
int idx_token_insert(struct idx *ix, struct idx_token *t);
int idx_token_get(struct idx *ix, int64_t id, struct idx_token *out);
int idx_token_touch(struct idx *ix, int64_t id, int64_t now_us);
/* ES_ENOTFOUND when there is no such token (revoking twice is fine: the
 * first time and reason stay). */
int idx_token_revoke(struct idx *ix, int64_t id, int64_t now_us, const char *why);
/* Tokens of user_id (0 = all users), by id. */
typedef int (*idx_token_fn)(void *ud, const struct idx_token *t);
int idx_tokens_list(struct idx *ix, int64_t user_id, idx_token_fn fn, void *ud);

struct idx_session {
	char id_hash[IDX_HEX256];    /* hex SHA-256 of the cookie's id */
	int64_t user_id;
	char csrf[IDX_HEX256];       /* hex, random */
	int64_t created_us;
	int64_t expires_us;
	char remote[64];
};
int idx_session_insert(struct idx *ix, const struct idx_session *s);
int idx_session_get(struct idx *ix, const char *id_hash, struct idx_session *out);
int idx_session_delete(struct idx *ix, const char *id_hash);
/* Drop every session of a user (password change, disable) but the one of
 * keep_hash (NULL: all); *n (may be NULL) how many. */
int idx_sessions_delete_user(struct idx *ix, int64_t user_id, const char *keep_hash,
			     int64_t *n);
/* Drop the sessions expired at now_us; *n (may be NULL) how many. */
int idx_sessions_purge(struct idx *ix, int64_t now_us, int64_t *n);

/* One audit entry.  Strings are never NULL in rows read back. */
struct idx_audit {
	int64_t seq;
	int64_t time_us;
	const char *user;
	const char *action;
	const char *object;
	const char *remote;
	const char *outcome;
	const char *detail;
	char prev_hash[IDX_HEX256];
	char hash[IDX_HEX256];
};
/* The newest entry's seq and hash; seq 0 and hash "" when the log is
 * empty. */
int idx_audit_last(struct idx *ix, int64_t *seq, char hash[IDX_HEX256]);
/* Insert a with its seq; ES_EEXIST if the seq is taken.  The caller holds
 * the transaction that read idx_audit_last (api/audit.c). */
int idx_audit_insert(struct idx *ix, const struct idx_audit *a);

struct idx_audit_filter {
	const char *user;      /* exact, NULL = any */
	const char *action;    /* exact, or a prefix when it ends in '.'
				  ("user." = every user change); NULL = any */
	int64_t since_us;      /* time_us >= since (0 = unbounded) */
	int64_t after_seq;     /* seq > after_seq (paging) */
	unsigned limit;        /* the newest `limit` matches (0 = all) */
};
/* Matching entries in seq order (oldest first); fn returns non-zero to
 * stop.  Row strings are valid during the callback only. */
typedef int (*idx_audit_fn)(void *ud, const struct idx_audit *a);
int idx_audit_list(struct idx *ix, const struct idx_audit_filter *f, idx_audit_fn fn, void *ud);

/* ---- tags and notes (schema v6; tags.c) -------------------------------------
 * The caller checks a tag's characters (api/); a tag is unique per call in
 * any case.  Strings in rows are valid during the callback only. */
#define IDX_TAG_MAX 40
#define IDX_NOTE_MAX 4000

struct idx_tag {
	int64_t call_row;
	const char *tag;
	const char *user;
	int64_t created_us;
};
struct idx_note {
	int64_t id;
	int64_t call_row;
	const char *user;
	const char *text;
	int64_t created_us;
};
/* ES_EEXIST when the call has the tag already (any case). */
int idx_tag_add(struct idx *ix, int64_t call_row, const char *tag, const char *user,
		int64_t now_us);
/* ES_ENOTFOUND when the call does not have the tag. */
int idx_tag_remove(struct idx *ix, int64_t call_row, const char *tag);
/* A call's tags by name (case-insensitive order). */
typedef int (*idx_tag_fn)(void *ud, const struct idx_tag *t);
int idx_tags_list(struct idx *ix, int64_t call_row, idx_tag_fn fn, void *ud);
/* Does call_row have tag (any case)?  1 yes, 0 no, < 0 error. */
int idx_call_has_tag(struct idx *ix, int64_t call_row, const char *tag);
/* Append a note; *id (may be NULL) gets its id. */
int idx_note_add(struct idx *ix, int64_t call_row, const char *user, const char *text,
		 int64_t now_us, int64_t *id);
/* A call's notes, oldest first. */
typedef int (*idx_note_fn)(void *ud, const struct idx_note *n);
int idx_notes_list(struct idx *ix, int64_t call_row, idx_note_fn fn, void *ud);

/* ---- retention and legal hold (schema v9; retention.c) ----------------------
 * Storage only: policy/ decides the times, record/delete.c deletes.  Strings
 * in rows are valid during the callback only. */

/* A recording as retention sees it: what a policy matches on and its times. */
struct idx_ret_rec {
	int64_t call_row;
	const char *call_id;
	const char *path;         /* the recording's id in the ledger */
	uint64_t bytes;
	bool encrypted;
	int64_t start_us;         /* the call's */
	const char *caller, *callee; /* party users, NULL when unknown */
	const char *rule, *source;
	const char *flags;        /* the call's and the recording's, comma list */
	const char *tags;         /* comma list, NULL when none */
	const char *retention;    /* the policy, NULL = not assigned yet */
	int64_t keep_until_us;    /* minimum: not deleted before (0 = none) */
	int64_t retain_until_us;  /* expires then (0 = never) */
};
enum idx_ret_which {
	IDX_RET_ALL,        /* every recording, by call row */
	IDX_RET_UNASSIGNED, /* without a policy yet, by call row */
	IDX_RET_DUE,        /* 0 < retain_until <= until_us, by retain_until */
	IDX_RET_QUOTA,      /* keep_until <= until_us, oldest call first */
	IDX_RET_CALL,       /* the recording of call row until_us */
};
typedef int (*idx_ret_fn)(void *ud, const struct idx_ret_rec *r);
int idx_retention_list(struct idx *ix, enum idx_ret_which which, int64_t until_us,
		       idx_ret_fn fn, void *ud);
/* Set a recording's policy and times.  ES_ENOTFOUND: no recording. */
int idx_retention_set(struct idx *ix, int64_t call_row, const char *policy,
		      int64_t keep_until_us, int64_t retain_until_us);
/* Bytes of all recordings. */
int idx_recordings_bytes(struct idx *ix, uint64_t *total);
/* After its recording expired: flag the call "expired", or drop its row. */
int idx_call_expire(struct idx *ix, int64_t call_row, bool drop);

#define IDX_HOLD_NAME_MAX 64
struct idx_hold {
	int64_t id;
	const char *name, *reason, *query; /* query: the filters, or NULL */
	int64_t created_us;
	const char *created_by;
	int64_t released_us;      /* 0: active */
	const char *released_by, *release_reason;
	int64_t ncalls;
};
typedef int (*idx_hold_fn)(void *ud, const struct idx_hold *h);
/* ES_EEXIST when a hold (even a released one) has the name. */
int idx_hold_create(struct idx *ix, const char *name, const char *reason, const char *query,
		    const char *by, int64_t now_us, int64_t *id);
/* Put call_row (recording path, may be NULL) under hold_id; ES_EEXIST if it is. */
int idx_hold_add_call(struct idx *ix, int64_t hold_id, int64_t call_row, const char *path);
/* ES_ENOTFOUND; name compared exactly. */
int idx_hold_get(struct idx *ix, const char *name, idx_hold_fn fn, void *ud);
/* Every hold, newest first. */
int idx_holds_list(struct idx *ix, idx_hold_fn fn, void *ud);
typedef int (*idx_hold_call_fn)(void *ud, int64_t call_row, const char *path);
int idx_hold_calls(struct idx *ix, int64_t hold_id, idx_hold_call_fn fn, void *ud);
/* ES_EINVAL when already released. */
int idx_hold_release(struct idx *ix, int64_t hold_id, const char *by, const char *reason,
		     int64_t now_us);
/* 1 and the name of an active hold over call_row in name (the oldest), 0
 * when none holds it, < 0 on error. */
int idx_call_held(struct idx *ix, int64_t call_row, char *name, size_t cap);

/* ---- redactions (redact.c) ----------------------------------------------------
 * A redaction replaces a call's recording row with the redacted recording
 * and keeps the original's identity in the redactions table (schema v10,
 * IDX_REDACTIONS_MIGRATION). */
#define IDX_REDACTIONS_MIGRATION "redactions"
struct idx_redaction {
	int64_t id, call_row;
	int n;                    /* 1, 2, ... per call */
	int64_t from_us, to_us;   /* from the recording's first sample */
	const char *channel;      /* "caller", "callee", "both" */
	const char *fill;         /* "silence", "tone" */
	const char *reason, *by;
	int64_t created_us;
	const char *path;         /* the redacted recording (its ledger id) */
	int64_t leaf;             /* its redact leaf */
	const char *original_path, *original_sha256, *original_plain_sha256, *original_format;
	bool original_encrypted;
	int64_t original_leaf;    /* the original's rec leaf */
	const char *original_state; /* "restricted", "shredded" */
};
/* Replace call rec->call_row's recording row by rec (path, hashes, format,
 * sizes, flags; retention times stay) and insert the redaction r (its n
 * and id are set), in the caller's transaction.  ES_ENOTFOUND: no
 * recording. */
int idx_redaction_apply(struct idx *ix, const struct idx_recording *rec, struct idx_redaction *r);
typedef int (*idx_redaction_fn)(void *ud, const struct idx_redaction *r);
/* The redactions of call_row in order (n), or of every call when call_row
 * is 0. */
int idx_redactions_list(struct idx *ix, int64_t call_row, idx_redaction_fn fn, void *ud);
/* Mark the original of redaction id shredded. */
int idx_redaction_shredded(struct idx *ix, int64_t id);
/* ---- data-subject erasure and clock evidence (schema IDX_MIG_SUBJECT;
 * subject.c) ----------------------------------------------------------------
 * The migration that adds calls.clock (the recorder's clock state while the
 * call was captured, a JSON object; NULL for calls indexed before it).  Named
 * so that tests and code survive the lead's renumbering at merge. */
#define IDX_MIG_SUBJECT "clock evidence per call"
/* The talk metrics' migration (issue #19). */
#define IDX_MIG_TALK "talk metrics per call"
/* The audio checks' migration (issue #17). */
#define IDX_MIG_CHECKS "audio checks per call"

/* ---- recorder nodes (schema IDX_MIG_NODES; nodes.c) ---------------------------
 * Several recorders (`record`, `srs`) and web servers share one PostgreSQL
 * index (docs/OPERATIONS.md, "Several nodes").  Each recorder has a node
 * name, kept with each call it indexes; it publishes its ledger's newest
 * signed head and its calls in progress into the nodes table. */
#define IDX_MIG_NODES "recorder nodes: node per call, signed heads, calls in progress"
#define IDX_NODE_MAX 64 /* a name's bytes, NUL included */
/* A node name is 1-63 of [A-Za-z0-9._-] (it names folders and objects). */
bool idx_node_name_ok(const char *name);
/* The node new calls are written with (copied; NULL: none).  ES_EINVAL for
 * a bad name. */
int idx_set_node(struct idx *ix, const char *name);
/* The node set, or NULL. */
const char *idx_node(const struct idx *ix);
/* Whether the engine is shared by several nodes (PostgreSQL). */
bool idx_shared(const struct idx *ix);
/* Whether a call written by node (its row's node) is this node's: always
 * on an index of one node (SQLite: a changed host name changes nothing);
 * on a shared one, calls without a node (indexed before IDX_MIG_NODES)
 * and those of idx_node.  Each node's ledger holds only its own calls. */
bool idx_call_is_mine(const struct idx *ix, const char *node);
/* Publish node's newest signed head (st_head_format_published's line) of
 * size leaves and where its ledger lives.  A head older (fewer leaves)
 * than the one published already changes nothing: published heads never
 * go back. */
int idx_node_head_set(struct idx *ix, const char *node, const char *ledger, const char *head,
		      uint64_t size, int64_t now_us);
/* Publish node's calls in progress (record/active.c's text; NULL: none,
 * the recorder stopped) stamped now_us, the heartbeat readers check. */
int idx_node_active_set(struct idx *ix, const char *node, const char *active, int64_t now_us);
struct idx_node {
	const char *name;
	const char *ledger;   /* where its ledger lives, or NULL */
	const char *head;     /* the newest signed head, or NULL */
	uint64_t head_size;
	int64_t head_us;      /* when it was published */
	const char *active;   /* calls in progress, or NULL */
	int64_t active_us;    /* the heartbeat */
};
/* Each node by name; fn's non-zero return stops the walk and is returned. */
typedef int (*idx_node_fn)(void *ud, const struct idx_node *n);
int idx_nodes_list(struct idx *ix, idx_node_fn fn, void *ud);
/* Every recording row by call row with only what a ledger's catch-up
 * needs (record/evidence.c rec_ledger_open): the call row, the recording's
 * path and the call's node (NULL: none), read in pages so that a big
 * index is never listed in one result.  Strings are valid during fn; fn's
 * non-zero return stops the walk and is returned. */
struct idx_rec_path {
	int64_t call_row;
	const char *path;
	const char *node;
};
typedef int (*idx_rec_path_fn)(void *ud, const struct idx_rec_path *r);
int idx_recording_paths(struct idx *ix, idx_rec_path_fn fn, void *ud);
/* Every transcript row by (call row, channel) with only what the ledger's
 * transcript catch-up and verify need (record/tr_ledger.c): its call row,
 * channel, created time, the recording's path and the call's node, read
 * in pages as idx_recording_paths. */
struct idx_tr_key {
	int64_t call_row;
	int channel;
	int64_t created_us;
	const char *path;
	const char *node;
};
typedef int (*idx_tr_key_fn)(void *ud, const struct idx_tr_key *k);
int idx_transcript_keys(struct idx *ix, idx_tr_key_fn fn, void *ud);

/* ---- shared data keys (schema IDX_MIG_SHARED_KEYS; reckeys.c) ------------------
 * Each recording's data key wrapped by the KEK (store/crypt.h's text, never
 * a plaintext key), so that a web node holding the KEK but not the
 * recorder's data folder opens any recording (docs/OPERATIONS.md, "Several
 * nodes"); and each recorder's bucket, without credentials. */
#define IDX_MIG_SHARED_KEYS "shared data keys: wrapped key per recording, node's bucket"
/* Insert or replace path's wrapped key, written by node (may be NULL). */
int idx_reckey_put(struct idx *ix, const char *path, const char *wrapped, const char *node,
		   int64_t now_us);
/* path's wrapped key into out (cap bytes): ES_ENOTFOUND when there is none
 * (shredded, never published), ES_ELIMIT when it does not fit. */
int idx_reckey_get(struct idx *ix, const char *path, char *out, size_t cap);
/* Delete path's wrapped key (shredding): 0 also when there was none. */
int idx_reckey_del(struct idx *ix, const char *path);
/* Publish node's bucket settings (record/tier.c's text without
 * credentials; NULL: none). */
int idx_node_blobs_set(struct idx *ix, const char *node, const char *blobs);
/* *out (malloc'd, the caller frees) node's published bucket settings:
 * ES_ENOTFOUND when it published none. */
int idx_node_blobs_get(struct idx *ix, const char *node, char **out);

/* Pseudonymise the parties of call_row named by roles (bit 1 << IDX_CALLER,
 * 1 << IDX_CALLEE): their uri and user become pseudonym ("erased:<keyed
 * hash>"), display, PAI, User-Agent and media address are removed; the
 * call's configured extra headers and its notes go too, and the call is
 * flagged "erased" (docs/OPERATIONS.md).  ES_ENOTFOUND: no such call. */
int idx_call_erase_parties(struct idx *ix, int64_t call_row, unsigned roles,
			   const char *pseudonym);
/* Set the clock evidence (JSON, may be NULL) of call_row. */
int idx_call_set_clock(struct idx *ix, int64_t call_row, const char *clock_json);
/* *out (malloc'd, the caller frees; NULL when none) the clock JSON of
 * call_row.  ES_ENOTFOUND: no such call. */
int idx_call_get_clock(struct idx *ix, int64_t call_row, char **out);

/* ---- saved searches and dashboard figures (searches.c, stats.c; issues
 * #17/#18) ---------------------------------------------------------------
 * The migration that adds saved_searches: named searches per user, the
 * query being the call list's URL parameters as the web UI writes them
 * ("party=alice&max_mos=3.5"), checked by api/ before it is stored. */
#define IDX_MIG_SEARCHES "saved searches per user"
#define IDX_SEARCH_NAME_MAX 80    /* bytes of a saved search's name */
#define IDX_SEARCH_QUERY_MAX 1000 /* bytes of its query */
#define IDX_SEARCHES_MAX 100      /* saved searches per user */

struct idx_search {
	int64_t id;
	const char *name;  /* valid during the callback */
	const char *query;
	int64_t created_us;
};
typedef int (*idx_search_fn)(void *ud, const struct idx_search *s);
/* Save (user_id, name) = query, replacing that name's query; *id the row.
 * ES_ELIMIT when the user has IDX_SEARCHES_MAX others already;
 * ES_ENOTFOUND when no such user. */
int idx_search_save(struct idx *ix, int64_t user_id, const char *name, const char *query,
		    int64_t now_us, int64_t *id);
/* The user's saved searches by name. */
int idx_searches_list(struct idx *ix, int64_t user_id, idx_search_fn fn, void *ud);
/* Delete the user's search id: ES_ENOTFOUND when it is not the user's. */
int idx_search_delete(struct idx *ix, int64_t user_id, int64_t id);

/* How many calls match f (its sort, limit and after_id are ignored): one
 * count query, for the call list's total. */
int idx_calls_count(struct idx *ix, const struct idx_filter *f, int64_t *n);

/* Figures over the calls that started in [from_us, to_us). */
struct idx_stats_bin {      /* one bin of calls per time */
	int64_t start_us;
	int64_t calls, answered;
};
struct idx_stats_count {    /* calls per outcome; per MOS band */
	const char *key;        /* valid during the callback */
	int64_t n;
};
struct idx_stats_route {    /* calls grouped by a route key */
	const char *a, *b;      /* caller's and callee's media address (no
				   port), or the rule and NULL */
	int64_t calls;
	double mos_avg, mos_min, loss_avg; /* over the calls with figures */
	int64_t with_quality;
};
struct idx_stats_fns {
	void *ud;
	int (*bin)(void *ud, const struct idx_stats_bin *b);       /* in time order */
	int (*outcome)(void *ud, const struct idx_stats_count *c);
	int (*band)(void *ud, const struct idx_stats_count *c);    /* MOS bands */
	int (*route)(void *ud, const struct idx_stats_route *r);   /* worst first */
	int (*rule)(void *ud, const struct idx_stats_route *r);    /* worst first */
};
/* The MOS bands of idx_stats' band callback, best first: ITU-T G.107
 * Annex B, Table B.1 (user satisfaction by R) at the MOS of each R limit. */
#define IDX_STATS_BANDS {"best", 4.34}, {"high", 4.03}, {"medium", 3.60}, \
	{"low", 3.10}, {"poor", 2.58}, {"bad", 0}
/* Calls per bin_us (from from_us, UTC), per outcome, per MOS band, and the
 * nroutes worst media routes and rules by mean MOS: aggregate queries,
 * each callback in turn (NULL callbacks are skipped). */
int idx_stats(struct idx *ix, int64_t from_us, int64_t to_us, int64_t bin_us, unsigned nroutes,
	      const struct idx_stats_fns *fns);
/* ---- transcripts and their queue (schema IDX_MIG_TRANSCRIPT; transcripts.c)
 * Storage only: record/transcript.c runs the jobs, analytics/transcribe.h
 * talks to the engines.  One job and one transcript per call and channel
 * (IDX_CALLER = 0 the left channel, IDX_CALLEE = 1 the right; a mono
 * recording has channel 0 only).  Strings in rows are valid during the
 * callback only. */
#define IDX_MIG_TRANSCRIPT "transcripts and their queue"
struct idx_tr_job {
	int64_t id, call_row;
	int channel;
	const char *state;        /* "queued", "running", "retry", "done", "failed" */
	int attempts;             /* engine calls that failed so far */
	int64_t next_us;          /* due at (queued, retry) */
	const char *error;        /* the last failure, NULL = none */
	int64_t created_us, updated_us;
	const char *claimed_by;   /* the worker that claimed it last (schema
				     IDX_MIG_TR_CLAIM), NULL = none or unknown */
};
/* IDX_MIG_TR_CLAIM: which worker runs a job, so that several workers
 * (processes on one SQLite file, nodes on PostgreSQL) share one queue and a
 * starting worker requeues only the jobs of workers that are gone. */
#define IDX_MIG_TR_CLAIM "transcription jobs: the worker that claimed each"
/* Queue (call_row, channel); a job already there stays as it is unless
 * again (then it is due now with its attempts reset, whatever its state).
 * *added (may be NULL): a job was queued.  ES_ENOTFOUND: no such call. */
int idx_tr_enqueue(struct idx *ix, int64_t call_row, int channel, int64_t now_us, bool again,
		   bool *added);
/* The oldest due job (queued or retry with next_us <= now_us), marked
 * "running" and claimed by owner (a worker's name, may be NULL), into fn;
 * ES_ENOTFOUND when none is due.  Atomic across workers: the UPDATE that
 * claims re-checks the state, so of two workers racing for one job one
 * gets it and the other the next due job. */
typedef int (*idx_tr_job_fn)(void *ud, const struct idx_tr_job *j);
int idx_tr_claim(struct idx *ix, int64_t now_us, const char *owner, idx_tr_job_fn fn, void *ud);
/* A job's end: done, or a failure (error) that is tried again at next_us
 * ("retry") or not at all (give_up: "failed"). */
int idx_tr_job_done(struct idx *ix, int64_t job_id, int64_t now_us);
int idx_tr_job_fail(struct idx *ix, int64_t job_id, const char *error, int64_t next_us,
		    bool give_up, int64_t now_us);
/* Queue every channel of each recorded call whose rule is rule and that
 * has no job yet (a rule with transcribe = yes); *n (may be NULL) how
 * many jobs were queued. */
int idx_tr_enqueue_rule(struct idx *ix, const char *rule, int64_t now_us, int64_t *n);
/* One running job due again now, only if it is still running and claimed
 * by claimed_by (NULL: by nobody known): *done (may be NULL) whether it
 * was (a worker that finished it meanwhile wins). */
int idx_tr_requeue_job(struct idx *ix, int64_t job_id, const char *claimed_by, int64_t now_us,
		       bool *done);
/* Every job (call_row 0) or a call's, by id. */
int idx_tr_jobs_list(struct idx *ix, int64_t call_row, idx_tr_job_fn fn, void *ud);

struct idx_transcript {
	int64_t call_row;
	int channel;
	const char *engine;       /* "whisper", "openai", "vosk", ... */
	int64_t words;
	const char *times;        /* not stored (IDX_MIG_TR_BLIND): the hits'
				     times come from the sealed words */
	const char *text;         /* the words, one space apart: put hashes
				     them into the blind index and keeps none;
				     NULL when read back */
	int64_t created_us;
};
/* Enter (or replace) the transcript of t->call_row, t->channel. */
int idx_transcript_put(struct idx *ix, const struct idx_transcript *t);
typedef int (*idx_transcript_fn)(void *ud, const struct idx_transcript *t);
int idx_transcripts_get(struct idx *ix, int64_t call_row, idx_transcript_fn fn, void *ud);
/* A call's transcripts, jobs and findings (IDX_MIG_SPEECH) out of the
 * index (its recording went). */
int idx_transcripts_delete(struct idx *ix, int64_t call_row);
/* The search syntax: words are ANDed, "double quoted words" are a phrase,
 * a word ending in * a prefix (2 characters or more); every other
 * character is a term's text, never syntax.  idx_tr_match: the search as
 * understood (malloc'd) or NULL (no memory, no term, a 1-letter prefix, or
 * more than 64 terms / 128 words). */
char *idx_tr_match(const char *text);
/* The hits of text in one channel's words (decrypted by the caller, e.g.
 * the calls of one page): when the words match the whole search, fn gets
 * a snippet with the hit words in [ ] and the start of each hit (ms; at
 * most IDX_TR_HITS_MAX); no call when they do not.  ES_EINVAL: no term. */
#define IDX_TR_HITS_MAX 32
struct idx_tr_hit {
	int channel;
	const char *snippet;
	int64_t at_ms[IDX_TR_HITS_MAX];
	unsigned nat;
};
typedef int (*idx_tr_hit_fn)(void *ud, const struct idx_tr_hit *h);
struct idx_tr_word {
	const char *w;
	int64_t start_ms;
};
int idx_tr_hits_words(const char *text, int channel, const struct idx_tr_word *w, size_t n,
		      idx_tr_hit_fn fn, void *ud);

/* ---- the blind transcript index (schema IDX_MIG_TR_BLIND; trblind.c) ------------
 * The searchable index holds keyed hashes of the words (HMAC-SHA-256 under
 * the search key), never the words; the key is random, kept in the index
 * wrapped by the data folder's KEK (record/tr_search.c wraps and unwraps:
 * the index cannot).  Transcripts indexed before IDX_MIG_TR_BLIND are not
 * searchable until `earshot transcribe reindex` (or `transcribe run`,
 * which does it first) enters them again from their sealed words files. */
#define IDX_MIG_TR_BLIND "transcripts: a blind (keyed hash) search index, no plain text"
/* SQLite's blind index without FTS5's second copy of every token (schema.c,
 * IDX_MIG_TR_COMPACT); nothing on PostgreSQL. */
#define IDX_MIG_TR_COMPACT "transcripts: contentless blind index, tokens kept once as ids"
#define IDX_TR_KEY_BYTES 32
#define IDX_TR_TOKEN_MAX 44 /* a keyword phrase's token, without the NUL */
#define IDX_TR_WRAPPED_MAX 256
/* Where the key comes from: fn fills key (0) or says why not in err. */
typedef int (*idx_key_fn)(void *ud, struct idx *ix, uint8_t key[IDX_TR_KEY_BYTES], char *err,
			  size_t errlen);
/* The key itself (tests, benchmarks), or a loader called on first need. */
void idx_set_search_key(struct idx *ix, const uint8_t key[IDX_TR_KEY_BYTES]);
void idx_set_search_key_fn(struct idx *ix, idx_key_fn fn, void *ud);
/* The stored (wrapped) key: ES_ENOTFOUND when none; put stores it unless
 * one is there already (then the caller reads that one back). */
int idx_tr_key_get(struct idx *ix, char *wrapped, size_t cap);
int idx_tr_key_put(struct idx *ix, const char *wrapped);
/* Each transcript not in the blind index (call_row, channel). */
typedef int (*idx_tr_row_fn)(void *ud, int64_t call_row, int channel);
int idx_tr_unindexed(struct idx *ix, idx_tr_row_fn fn, void *ud);
/* Enter a transcript's words (one space apart) into the blind index in
 * place of what it had. */
int idx_tr_reindex(struct idx *ix, int64_t call_row, int channel, const char *text);

/* ---- teams and supervisor scope (schema IDX_MIG_QA; teams.c; issue #18) ----
 * Storage only: api/ decides who may change them and what a scope means
 * (a supervisor whose scope is "teams" acts on the calls of the agents of
 * the teams they supervise).  Team names are checked by api/ (as user
 * names) and compare ASCII case-insensitively. */
#define IDX_MIG_QA "teams, supervisor scope, evaluation forms and evaluations"
#define IDX_TEAMS_MAX 1000 /* teams in all */

struct idx_team {
	int64_t id;
	const char *name;      /* valid during the callback */
	int64_t created_us;
	int64_t agents, supervisors;
};
typedef int (*idx_team_fn)(void *ud, const struct idx_team *t);
/* ES_EEXIST: the name is taken; ES_ELIMIT: IDX_TEAMS_MAX teams already. */
int idx_team_add(struct idx *ix, const char *name, int64_t now_us, int64_t *id);
/* With its memberships; ES_ENOTFOUND. */
int idx_team_del(struct idx *ix, const char *name);
/* Every team by name, with its member counts. */
int idx_teams_list(struct idx *ix, idx_team_fn fn, void *ud);

/* A membership: kind "agent" (their calls are the team's) or "supervisor"
 * (a scoped supervisor sees the team's calls). */
struct idx_team_member {
	const char *team, *user, *kind, *role, *numbers; /* valid during the callback */
};
typedef int (*idx_team_member_fn)(void *ud, const struct idx_team_member *m);
/* Add (add) or remove user_id as kind of team name.  ES_ENOTFOUND: no such
 * team (or, removing, no such membership); ES_EEXIST: already a member. */
int idx_team_member_set(struct idx *ix, const char *team, int64_t user_id, const char *kind,
			bool add);
/* The members of team (NULL: of every team), by team, kind and user name.
 * ES_ENOTFOUND when team is given and does not exist. */
int idx_team_members(struct idx *ix, const char *team, idx_team_member_fn fn, void *ud);
/* The numbers (each agent's comma list) of the enabled agent members of
 * every team user_id supervises: fn once per agent. */
typedef int (*idx_numbers_fn)(void *ud, const char *user, const char *numbers);
int idx_team_scope_numbers(struct idx *ix, int64_t user_id, idx_numbers_fn fn, void *ud);
/* A user's own scope: "all", "teams", or "" when none is set (the
 * server's default applies).  set with scope NULL or "" clears it. */
int idx_user_scope_get(struct idx *ix, int64_t user_id, char out[8]);
int idx_user_scope_set(struct idx *ix, int64_t user_id, const char *scope);

/* ---- QA evaluation forms and evaluations (schema IDX_MIG_QA; scorecards.c) ----
 * Storage only: api/ parses and checks a form's body (JSON: sections,
 * questions, weights), scores the answers and decides who may see what.
 * A form is saved as a new version each time (name, version 1, 2, ...);
 * an evaluation refers to the version it was scored with. */
#define IDX_QA_FORM_MAX 32768 /* bytes of a form's body */

struct idx_qa_form {
	int64_t id;
	const char *name, *body, *created_by; /* valid during the callback */
	int64_t version, created_us;
};
typedef int (*idx_qa_form_fn)(void *ud, const struct idx_qa_form *f);
/* A new version of form name (1 when new): *id and *version. */
int idx_qa_form_save(struct idx *ix, const char *name, const char *body, const char *by,
		     int64_t now_us, int64_t *id, int64_t *version);
/* The newest version of every form, by name (all: every version). */
int idx_qa_forms_list(struct idx *ix, bool all, idx_qa_form_fn fn, void *ud);
/* One version by id: ES_ENOTFOUND. */
int idx_qa_form_get(struct idx *ix, int64_t id, idx_qa_form_fn fn, void *ud);

struct idx_qa_answer {
	const char *question, *answer; /* "yes", "no", "na", "1".."5" */
	double earned, possible;       /* possible 0: not applicable */
};
struct idx_qa_eval {
	int64_t id, call_row, form_id, form_version;
	const char *form_name, *evaluator, *agent, *comment;
	double score;                  /* 0..100 */
	bool fatal;
	int64_t created_us;
};
/* Store e (e->id set) and its n answers in one savepoint.  ES_ENOTFOUND:
 * no such call or form. */
int idx_qa_eval_add(struct idx *ix, struct idx_qa_eval *e, const struct idx_qa_answer *a,
		    size_t n);
/* The evaluations of call_row, oldest first, each then its answers
 * (answer may be NULL). */
typedef int (*idx_qa_eval_fn)(void *ud, const struct idx_qa_eval *e);
typedef int (*idx_qa_answer_fn)(void *ud, const struct idx_qa_answer *a);
int idx_qa_evals_of_call(struct idx *ix, int64_t call_row, idx_qa_eval_fn eval,
			 idx_qa_answer_fn answer, void *ud);

/* The report over evaluations created in [from_us, to_us) of form_name
 * (NULL: any) and of the agents in the comma list agents (NULL: any). */
struct idx_qa_filter {
	int64_t from_us, to_us;
	const char *form_name;
	const char *agents;
};
struct idx_qa_row {
	const char *key;           /* agent, question; NULL for totals/weeks */
	int64_t week_us;           /* weeks: the Monday 00:00 UTC it starts */
	int64_t count;
	double average;            /* score, or earned/possible in % (questions) */
};
struct idx_qa_report_fns {
	void *ud;
	int (*total)(void *ud, const struct idx_qa_row *r);
	int (*week)(void *ud, const struct idx_qa_row *r);     /* in time order */
	int (*agent)(void *ud, const struct idx_qa_row *r);    /* by name */
	int (*question)(void *ud, const struct idx_qa_row *r); /* lowest first, nlow */
	int (*eval)(void *ud, const struct idx_qa_eval *e);    /* each, newest first */
};
int idx_qa_report(struct idx *ix, const struct idx_qa_filter *f, unsigned nlow,
		  const struct idx_qa_report_fns *fns);

/* ---- transcript findings (schema IDX_MIG_SPEECH; transcripts.c) ------------------
 * What analytics/textan.h found in a call's transcripts, entered by the
 * transcription worker each time a channel's transcript is stored. */
#define IDX_MIG_SPEECH "keyword hits and sentiment per call"
struct idx_kw_hit {
	int channel;              /* IDX_CALLER, IDX_CALLEE; -1 = either (missing) */
	const char *list, *category, *phrase; /* phrase NULL when missing */
	int64_t start_ms, end_ms; /* -1 when missing */
	bool missing;             /* a required list without a hit */
};
/* Replace call_row's findings: json (shown as the call's "speech"), the
 * mean sentiment (sentiment_set false: none) and the hits.  ES_ENOTFOUND
 * when there is no such call. */
int idx_call_set_speech(struct idx *ix, int64_t call_row, const char *json, bool sentiment_set,
			double sentiment, const struct idx_kw_hit *hits, size_t nhits);
/* json is stored sealed (IDX_SEAL_SPEECH, bound to call_row), so that no
 * phrase hit is readable in the index; rows read back carry it opened
 * (idx_call_get, idx_call_brief; NULL when the key cannot be had, logged).
 * Findings stored before the seal are sealed by idx_speech_reseal (run by
 * `earshot transcribe run` and `transcribe reindex`): *n how many. */
int idx_speech_reseal(struct idx *ix, unsigned *n);

/* ---- sealed values (seal.c; issue #19) ---------------------------------------------
 * What says which words were spoken or searched for but has to sit beside
 * plain metadata (a call's findings, a search's text= in the audit log) is
 * sealed: XChaCha20-Poly1305 under HMAC(search key, 's' + label), the search
 * key being wrapped by the data folder's KEK (record/tr_search.c), with
 * label and ctx as associated data (a value sealed for one purpose or row
 * never opens as another).  Stored form: IDX_SEAL_PREFIX + base64url(nonce
 * || ciphertext), no '=' or ';' or white space in it. */
#define IDX_SEAL_PREFIX "sealed:"
#define IDX_SEAL_SPEECH "calls.speech_json"
#define IDX_SEAL_AUDIT "audit.detail"
#define IDX_SEAL_SEARCH "saved_searches.query"
bool idx_is_sealed(const char *s);
/* Seal plain[0..n) (its length rounded up to a multiple of pad, pad 0 = as
 * it is) into out: the stored form, NUL-terminated (out->len without the
 * NUL).  ES_EUNSUP (ix's errmsg says why) when the key cannot be had. */
int idx_seal(struct idx *ix, const char *label, int64_t ctx, const void *plain, size_t n,
	     size_t pad, struct es_buf *out);
/* Open the stored form s[0..n) sealed with label and ctx into out,
 * NUL-terminated (out->len without the NUL).  ES_EPARSE: not a stored
 * form; ES_ECRYPTO: tampered, or another key, label or ctx. */
int idx_unseal(struct idx *ix, const char *label, int64_t ctx, const char *s, size_t n,
	       struct es_buf *out);
/* ---- second factor and two-step sign-in (schema IDX_MIG_MFA; mfa.c) --------
 * Storage only: api/auth_mfa.c seals the secret, checks codes and hashes the
 * recovery codes and pending tokens. */
#define IDX_MIG_MFA "second factor: totp secrets, recovery codes, pending sign-ins"
#define IDX_SEALED_MAX 160 /* a sealed secret's text (store/vault.h), NUL included */
struct idx_totp {
	int64_t user_id;
	char sealed[IDX_SEALED_MAX];
	bool enabled;          /* false: enrolment begun, not yet confirmed */
	int64_t last_step;     /* the newest RFC 6238 time step accepted, 0 none */
	int64_t created_us, enabled_us;
};
/* A user's second factor: ES_ENOTFOUND when none. */
int idx_totp_get(struct idx *ix, int64_t user_id, struct idx_totp *out);
/* Insert or replace the whole row of t->user_id. */
int idx_totp_put(struct idx *ix, const struct idx_totp *t);
/* The users with a second factor (*ids malloc'd, the caller frees). */
int idx_totp_users(struct idx *ix, int64_t **ids, size_t *n);
/* Replace user_id's sealed secret old_sealed by new_sealed (a KEK
 * rotation): ES_ENOTFOUND when it is no longer old_sealed. */
int idx_totp_reseal(struct idx *ix, int64_t user_id, const char *old_sealed,
		    const char *new_sealed);
/* The newest step accepted (only ever forward: ES_ENOTFOUND when step is not
 * after the stored one, so two requests cannot both take one code). */
int idx_totp_step(struct idx *ix, int64_t user_id, int64_t step);
/* Drop the user's second factor and recovery codes; *had (may be NULL):
 * there was one. */
int idx_totp_delete(struct idx *ix, int64_t user_id, bool *had);
/* One recovery code's hash (hex SHA-256). */
int idx_recovery_add(struct idx *ix, int64_t user_id, const char *hash);
/* Mark an unused code used: ES_ENOTFOUND when there is no such unused one. */
int idx_recovery_use(struct idx *ix, int64_t user_id, const char *hash, int64_t now_us);
/* How many unused recovery codes the user has. */
int idx_recovery_left(struct idx *ix, int64_t user_id, int64_t *n);
/* A pending sign-in (the first step passed): its token's hash. */
int idx_pending_add(struct idx *ix, const char *id_hash, int64_t user_id, int64_t expires_us,
		    const char *remote);
/* Its user, when not expired (expired ones are dropped): ES_ENOTFOUND. */
int idx_pending_get(struct idx *ix, const char *id_hash, int64_t now_us, int64_t *user_id);
int idx_pending_delete(struct idx *ix, const char *id_hash);

/* ---- bookmarks, comments and clips (schema IDX_MIG_BOOKMARKS; bookmarks.c;
 * issue #18) ------------------------------------------------------------------
 * Storage only: api/handlers_bookmarks.c checks who may add, see and play
 * them and what a text may contain. */
#define IDX_MIG_BOOKMARKS "bookmarks and clips per call"
#define IDX_BOOKMARK_TEXT_MAX 2000 /* characters of a comment (UTF-8 code points) */
#define IDX_CLIP_TITLE_MAX 200     /* characters of a clip's title */
struct idx_bookmark {
	int64_t id, call_row;
	const char *user;
	int64_t at_ms;  /* from the recording's start */
	int64_t end_ms; /* a span's end, -1 for a point */
	const char *text;
	int64_t created_us;
};
/* Add b (its id ignored); *id (may be NULL) gets the new one.  ES_ENOTFOUND
 * when the call is not there, ES_EINVAL when the times are out of order. */
int idx_bookmark_add(struct idx *ix, const struct idx_bookmark *b, int64_t *id);
typedef int (*idx_bookmark_fn)(void *ud, const struct idx_bookmark *b);
/* A call's bookmarks by time; with id > 0 only that one (ES_ENOTFOUND when
 * the call has no such bookmark). */
int idx_bookmarks_list(struct idx *ix, int64_t call_row, int64_t id, idx_bookmark_fn fn,
		       void *ud);
/* ES_ENOTFOUND when the call has no bookmark id. */
int idx_bookmark_delete(struct idx *ix, int64_t call_row, int64_t id);
struct idx_clip {
	int64_t id, call_row;
	char creator[IDX_NAME_MAX + 1];
	int64_t start_ms, end_ms;
	char title[4 * IDX_CLIP_TITLE_MAX + 1];
	int64_t created_us;
	int64_t expires_us; /* 0: never */
};
/* Add c (its id ignored): as idx_bookmark_add. */
int idx_clip_add(struct idx *ix, const struct idx_clip *c, int64_t *id);
/* Clip id into *out: ES_ENOTFOUND when there is none. */
int idx_clip_get(struct idx *ix, int64_t id, struct idx_clip *out);
typedef int (*idx_clip_fn)(void *ud, const struct idx_clip *c);
/* A call's clips, oldest first. */
int idx_clips_list(struct idx *ix, int64_t call_row, idx_clip_fn fn, void *ud);
/* Every bookmark and clip of a call (its recording deleted, shredded or
 * erased); inside the caller's transaction when one is open. */
int idx_bookmarks_delete(struct idx *ix, int64_t call_row);

#endif /* ES_INDEX_H */
