/*
 * policy_internal.h - shared between the policy layer's files and its
 * tests; not a contract for other layers.
 */
#ifndef ES_POLICY_INTERNAL_H
#define ES_POLICY_INTERNAL_H

#include "core/core.h"

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

#endif /* ES_POLICY_INTERNAL_H */
