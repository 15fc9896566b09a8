/*
 * policy_internal.h - shared between the policy layer's files and its
 * tests; not a contract for other layers.
 */
#ifndef ES_POLICY_INTERNAL_H
#define ES_POLICY_INTERNAL_H

#include "core/core.h"
#include "policy/policy.h"

/* A time zone read from a TZif file (RFC 8536) under /usr/share/zoneinfo,
 * including its POSIX TZ footer for times after the last transition.  Kept
 * per rule set, read-only after loading: no TZ environment variable, no
 * tzset(), so several rule sets with different zones may live in one
 * process and pol_decide stays thread-safe. */
struct pol_tz;

/* name like "Europe/Berlin" or "UTC".  ES_ENOTFOUND (no such zone),
 * ES_EFORMAT (not a TZif file), ES_EPARSE (bad name), ES_ENOMEM. */
int pol_tz_load(struct pol_tz **out, const char *name);
void pol_tz_free(struct pol_tz *tz);
/* Seconds east of UTC at the UTC instant t (seconds). */
int32_t pol_tz_offset(const struct pol_tz *tz, int64_t t);

/* Glob on a C string: '*', '?', '[a-z]' and '[!a-z]'; ci folds ASCII case.
 * The pattern must have passed pol_glob_check. */
bool pol_glob_match(const char *pat, const char *s, bool ci);
/* NULL when pat is a valid glob, else why not. */
const char *pol_glob_check(const char *pat);

/* ---- the parsed rules (rules.c builds them, rules_json.c describes them) ---- */

enum pat_kind { PAT_EXACT, PAT_GLOB, PAT_RANGE };

struct pol_pat {
	enum pat_kind kind;
	char *s;          /* EXACT, GLOB */
	uint64_t lo, hi;  /* RANGE, inclusive */
	unsigned width;   /* RANGE: digits the number must have, 0 = any */
};

struct pol_list {
	struct pol_pat *v;
	unsigned n;
};

struct pol_net {
	uint8_t family, bits;
	uint8_t ip[16];
};

struct pol_win {
	uint16_t from, to; /* minutes of the day, [from, to), to may be 1440 */
};

struct pol_rule {
	char *name;
	const char *section; /* the configuration's string: one rule per section run */
	unsigned line;
	int action;          /* -1 unset, 0 skip, 1 record */
	unsigned sample;     /* in 1/10000, 10000 = all */
	struct pol_list caller, callee, number, domain;
	uint8_t dirs;        /* 1 << enum pol_direction; 0 = any */
	uint8_t days;        /* 1 << tm_wday; 0 = any */
	struct pol_win *win;
	unsigned nwin;
	struct pol_pci pci;  /* pause/resume and DTMF masking (policy.h) */
	struct pol_consent consent; /* consent.c */
};

struct pol_rules {
	struct pol_rule *r;
	unsigned n;
	struct pol_list dnr;
	struct pol_list local_numbers;
	struct pol_net *nets;
	unsigned nnets;
	bool have_local;
	bool default_record;
	struct pol_tz *tz; /* NULL: the process's local time (localtime_r) */
	char *tz_name;     /* [recording] timezone as written; NULL with tz */
};

/* A rule's number pattern list from entry e ("+49*, 1000-1999"), as the
 * rules parse caller/callee/number; ES_EPARSE with "path:line: key: why". */
struct es_conf;
struct es_conf_entry;
int pol_list_parse(const struct es_conf *c, const struct es_conf_entry *e, struct pol_list *list,
		   char *err, size_t errlen);
bool pol_list_match(const struct pol_list *l, const char *s); /* s NULL: false */
void pol_list_free(struct pol_list *l);

/* consent.c: the consent keys of a [rule] (consent, consent_*,
 * no_consent_keep, agent); ES_EPARSE with "path:line: key: why". */
bool pol_consent_is_key(const char *key);
int pol_consent_key(const struct es_conf *c, const struct es_conf_entry *e,
		    struct pol_consent *cfg, char *err, size_t errlen);
void pol_consent_defaults(struct pol_consent *cfg);

#endif /* ES_POLICY_INTERNAL_H */

