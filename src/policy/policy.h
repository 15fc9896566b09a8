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

struct pol_decision {
	bool record;
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
 *               "sample_percent": 25.0}...]}   (rules in file order)
 * A PATTERN is written as configured: "+49*", "17[0-9][0-9]", "1000-1999".
 * An empty condition list means "any".  r NULL: the rules of no
 * configuration (record everything).  0, or ES_EIO when j's stream failed
 * (e.g. a memstream out of memory).
 */
int pol_rules_json(const struct pol_rules *r, struct es_json *j);

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
