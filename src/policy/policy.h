/*
 * policy.h - recording rules (which calls are recorded), retention (how
 * long) and legal hold names.
 *
 * The rules come from the configuration file (core/config.h):
 *
 *   [recording]
 *   default = record            ; or skip: when no rule matches
 *   timezone = Europe/Berlin    ; for time windows (default: the system's)
 *
 *   [networks]
 *   local = 10.0.0.0/8, 192.168.0.0/16, 2001:db8::/32
 *   local_numbers = 1000-1999, +4930555*
 *
 *   [do-not-record]             ; checked before any rule; either party
 *   number = +4930555123
 *   number = 0800*
 *
 *   [rule sales-inbound]        ; in file order: the first that matches wins
 *   action = record             ; or skip
 *   caller = +49*               ; number patterns (see below)
 *   callee = 2000-2999
 *   number = ...                ; either party
 *   domain = example.com        ; either party's SIP host (case-insensitive, "*.x" allowed)
 *   direction = inbound         ; inbound, outbound, internal, external, any
 *   time = 08:00-18:00          ; local time window, may cross midnight
 *   days = mon-fri              ; or mon,wed,sat
 *   sample = 25                 ; percent of the matching calls recorded
 *
 * Number patterns (comma-separated lists allowed): a glob on the user part
 * as written (`*` any run, `?` one character, `[0-9]` a class; `+` is
 * literal), or a numeric range `1000-1999` (both ends inclusive, the number
 * must be all digits).  A party is local when its number matches
 * local_numbers or its signalling address is in a local network; direction
 * is inbound (external caller, local callee), outbound, internal (both
 * local) or external (neither).  Sampling is deterministic: a hash of the
 * Call-ID decides, so the same call is always decided the same way.
 */
#ifndef ES_POLICY_H
#define ES_POLICY_H

#include "core/config.h"
#include "core/core.h"

struct pol_call {
	const char *call_id;
	const char *caller_user;       /* number or extension; may be NULL */
	const char *callee_user;
	const char *caller_host;       /* SIP domain of From / To; may be NULL */
	const char *callee_host;
	const struct es_addr *caller_addr; /* where the INVITE came from; may be NULL */
	const struct es_addr *callee_addr; /* where it went */
	int64_t start_us;              /* UTC microseconds */
};

enum pol_direction { POL_DIR_UNKNOWN = 0, POL_INBOUND, POL_OUTBOUND, POL_INTERNAL, POL_EXTERNAL };

/* PCI DSS pause/resume and DTMF masking of a rule (record/pause.c applies
 * them):
 *   pause_dtmf = *1       ; a DTMF sequence (0-9 * # A-D, 1-8 keys) that pauses
 *   resume_dtmf = *2      ; and the one that resumes
 *   max_pause = 5m        ; a pause resumes by itself after this (0 = never)
 *   pause_fill = silence  ; or tone: what the recording has over a pause
 *   mask_dtmf = yes       ; digits are stored as '*', their tones muted */
#define POL_DTMF_SEQ_MAX 8
struct pol_pci {
	char pause_dtmf[POL_DTMF_SEQ_MAX + 1];  /* "" none */
	char resume_dtmf[POL_DTMF_SEQ_MAX + 1]; /* "" none */
	int64_t max_pause_us;                   /* 0: no automatic resume */
	bool fill_tone;                         /* pause_fill = tone */
	bool mask_dtmf;
};
struct pol_consent;

struct pol_decision {
	bool record;
	const struct pol_consent *consent; /* the matching rule's consent settings,
					      NULL for none; valid while the rules live */
	const char *rule;              /* the rule's name, "do-not-record" or "default";
					  valid while the rules live */
	bool sampled_out;              /* a record rule matched but sampling skipped it */
	enum pol_direction direction;
	const struct pol_pci *pci;     /* the rule's; never NULL after
					  pol_decide (all off without a rule) */
};

struct pol_rules;
/* Build the rules from a loaded configuration; a configuration with no
 * rules records everything.  ES_EPARSE with "path:line: why" in err for a
 * bad pattern, range, time, day, percentage, network or unknown key. */
int pol_rules_from_conf(struct pol_rules **out, const struct es_conf *c, char *err,
			size_t errlen);
void pol_rules_free(struct pol_rules *r);
/* Decide for one call; never fails. */
void pol_decide(const struct pol_rules *r, const struct pol_call *call, struct pol_decision *d);
const char *pol_direction_name(enum pol_direction d); /* "inbound", ... "unknown" */
unsigned pol_rule_count(const struct pol_rules *r);

struct es_json;
/*
 * The parsed rules as one JSON object, written to j (rules_json.c), for
 * the read-only view of GET /api/rules:
 *   {"default": "record"|"skip", "timezone": NAME|null (null: the system's),
 *    "do_not_record": [PATTERN...],
 *    "networks": {"local": ["10.0.0.0/8"...], "local_numbers": [PATTERN...]},
 *    "rules": [{"name", "line" (of its first key), "action": "record"|"skip",
 *               "caller", "callee", "number", "domain": [PATTERN...],
 *               "direction": ["inbound"...], "time": [{"from": "08:00",
 *               "to": "18:00", "zone": NAME|null}...], "days": ["mon"...],
 *               "sample_percent": 25.0, "consent": {"mode", "header", "dtmf",
 *               "dtmf_refuse", "window_s", "siprec", "no_consent_keep", "agent"}
 *               (only when the rule asks for consent)}...]}   (rules in file order)
 * A PATTERN is written as configured: "+49*", "17[0-9][0-9]", "1000-1999".
 * An empty condition list means "any".  r NULL: the rules of no
 * configuration (record everything).  0, or ES_EIO when j's stream failed
 * (e.g. a memstream out of memory).
 */
int pol_rules_json(const struct pol_rules *r, struct es_json *j);

/* ---- consent (consent.c) ------------------------------------------------------
 *
 *   [rule sales-inbound]
 *   consent = required          ; none (default), announce, required
 *   consent_header = X-Recording-Consent ; a SIP header: "yes" or "no"
 *   consent_dtmf = 1            ; a key that gives consent (0-9 * # A-D)
 *   consent_dtmf_refuse = 2     ; a key that refuses it (optional)
 *   consent_window = 15s        ; from answer: how long consent may take
 *   consent_siprec = yes        ; SIPREC metadata may carry it (default yes)
 *   no_consent_keep = agent     ; nothing (default) or agent
 *   agent = callee              ; caller or callee; default from direction
 *
 * Consent is data: every piece of evidence is a call event of kind
 * "consent", party caller/callee, detail "yes SOURCE" or "no SOURCE"
 * (SOURCE "header:NAME", "dtmf:KEY", "siprec", "api:USER").  The evaluator
 * reads those events whatever made them.  The agent (the inbound call's
 * callee, the outbound call's caller, or the rule's `agent`) needs no
 * consent; every other party does when consent = required.
 */
enum pol_consent_mode { POL_CONSENT_NONE = 0, POL_CONSENT_ANNOUNCE, POL_CONSENT_REQUIRED };
enum pol_consent_keep { POL_KEEP_NOTHING = 0, POL_KEEP_AGENT };

#define POL_CONSENT_HEADER_MAX 32

struct pol_consent {
	enum pol_consent_mode mode;
	char header[POL_CONSENT_HEADER_MAX + 1]; /* "" = no header source */
	char dtmf_yes, dtmf_no;                  /* '\0' = none */
	int64_t window_us;                       /* from answer */
	bool siprec;
	enum pol_consent_keep keep;
	int agent;                               /* 0 caller, 1 callee, -1 from direction */
};

enum pol_consent_state {
	POL_CS_NOT_REQUIRED = 0,
	POL_CS_ANNOUNCED,
	POL_CS_MISSING,
	POL_CS_GIVEN,
	POL_CS_REFUSED,
	POL_CS_PENDING, /* required, none yet, the window still open */
};
/* "not_required", "announced", "missing", "given", "refused", "pending" */
const char *pol_consent_state_name(enum pol_consent_state s);
/* The state of that name (any of the above), or -1. */
int pol_consent_state_parse(const char *name);

/* One call event as the evaluator reads it (kind "consent" only). */
struct pol_consent_ev {
	int64_t ts_us;
	int party;          /* 0 caller, 1 callee; others are ignored */
	const char *detail; /* "yes header:X-Recording-Consent" */
};

struct pol_consent_party {
	enum pol_consent_state state;
	int64_t ts_us;      /* of the deciding evidence, 0 = none */
	char source[80];    /* "header:X-Recording-Consent", "" = none */
	bool required;
};

struct pol_consent_result {
	struct pol_consent_party p[2];
	int agent;          /* 0, 1, or -1 when no party is the agent */
	bool no_consent;    /* required consent refused, or missing once decided */
	bool keep[2];       /* may this party's audio be kept (now)? */
};

/* The agent party under cfg for a call of direction dir: cfg->agent when
 * set, else the callee of an inbound and the caller of an outbound call,
 * else -1. */
int pol_consent_agent(const struct pol_consent *cfg, enum pol_direction dir);
/*
 * Evaluate consent at now_us: answer_us the answer (0 = not answered),
 * ended when the call is over (pending becomes missing).  Within the
 * window (answer + window) a party's latest "yes"/"no" counts; after it,
 * only a "no" (a withdrawal) still does.  cfg NULL: nothing required.
 * Never fails; malformed details are ignored.
 */
void pol_consent_eval(const struct pol_consent *cfg, enum pol_direction dir,
		      const struct pol_consent_ev *ev, unsigned nev, int64_t answer_us,
		      int64_t now_us, bool ended, struct pol_consent_result *out);
/* A "consent" event detail: "yes SOURCE"/"no SOURCE" into *yes and
 * source; false when malformed. */
bool pol_consent_detail(const char *detail, bool *yes, const char **source);
/* The consent value of a header or metadata element: "yes", "no"
 * (any case; also "true"/"false", "1"/"0"): 1 yes, 0 no, -1 neither. */
int pol_consent_value(struct slice v);

/* ---- retention (retention.c) --------------------------------------------------
 *
 *   [retention]                 ; the data folder's quota (optional)
 *   max_bytes = 500G            ; recordings' bytes; oldest past keep go first
 *
 *   [retention mifid]           ; in file order: the first that matches wins
 *   rule = trading-*            ; recording rule names (globs, any case)
 *   caller = / callee = / number = ; number patterns as in [rule]
 *   source = live, siprec       ; import, live, siprec
 *   tag = mifid                 ; the call has one of these tags (any case)
 *   flag = one_sided            ; the call or its recording has one of these
 *   keep = 5y                   ; minimum: nothing deletes it earlier
 *   delete_after = 7y           ; then it expires (never: kept for good)
 *   drop_metadata = no          ; yes: the call's row goes with it
 *
 *   [retention default]         ; the rest (no conditions); without it, the
 *                               ; rest is kept for good
 *
 * Durations: a whole number and a unit, d (days), w (weeks), m (calendar
 * months), y (calendar years), counted from the call's start in UTC; "0"
 * for no minimum; "never" for delete_after.  A policy name is 1-40 of
 * a-z 0-9 _ - (it goes into the ledger's tombstones).
 */
#define POL_RET_NAME_MAX 40

struct pol_retention;

/* What a retention policy matches on: a recorded call as indexed. */
struct pol_ret_call {
	const char *rule, *caller, *callee, *source; /* may be NULL */
	const char *flags, *tags;  /* comma lists, may be NULL */
	int64_t start_us;
};

struct pol_ret_decision {
	const char *policy;       /* its name, valid while the policies live */
	int64_t keep_until_us;    /* 0: no minimum */
	int64_t retain_until_us;  /* 0: never expires */
	bool drop_metadata;
};

int pol_retention_from_conf(struct pol_retention **out, const struct es_conf *c, char *err,
			    size_t errlen);
void pol_retention_free(struct pol_retention *r);
/* Never fails; r NULL keeps everything for good under "default". */
void pol_retention_decide(const struct pol_retention *r, const struct pol_ret_call *call,
			  struct pol_ret_decision *d);
/* Is name a configured policy ("default" always is)?  *drop_metadata (may
 * be NULL) gets its setting. */
bool pol_retention_known(const struct pol_retention *r, const char *name, bool *drop_metadata);
uint64_t pol_retention_max_bytes(const struct pol_retention *r); /* 0: no quota */

/* A keep time: n units, u one of 'd', 'w', 'm', 'y'; n 0 = none. */
struct pol_span {
	unsigned n;
	char u;
	bool never;
};
/* "5y", "90d", "18m", "2w", "0", "never" (only when never_ok).  NULL when
 * valid, else why not. */
const char *pol_span_parse(const char *s, bool never_ok, struct pol_span *out);
/* t + span in UTC calendar arithmetic (day clamped: Feb 29 + 1y is Feb 28);
 * 0 for a never span. */
int64_t pol_span_add(int64_t t_us, const struct pol_span *sp);

/* ---- legal hold (hold.c) ------------------------------------------------------ */

#define POL_HOLD_NAME_MAX 64
#define POL_HOLD_REASON_MAX 1000
/* NULL when name may name a hold (1-64 of a-z 0-9 . _ -: it goes into
 * ledger leaves), else why not. */
const char *pol_hold_name_check(const char *name);
/* NULL when a hold or release reason is acceptable text, else why not. */
const char *pol_hold_reason_check(const char *reason);

#endif /* ES_POLICY_H */
