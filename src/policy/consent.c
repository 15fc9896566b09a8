/*
 * consent.c - consent per recording rule (policy.h): the rule keys, and
 * the evaluator that turns a call's "consent" events into each party's
 * state.  Pure functions: the engine (record/) gathers the events.
 */
#include "policy.h"
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int key_fail(const struct es_conf *c, const struct es_conf_entry *e, char *err,
		    size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s:%u: %s: %s (got '%s')", c->path, e->line, e->key, why,
			 e->value);
	return ES_EPARSE;
}

/* A DTMF key: one of 0-9 * # A-D (RFC 4733 3.2 events 0-15). */
static char dtmf_key(const char *v)
{
	if (!v[0] || v[1])
		return 0;
	char k = v[0] >= 'a' && v[0] <= 'd' ? (char)(v[0] - 32) : v[0];
	return strchr("0123456789*#ABCD", k) ? k : 0;
}

/* RFC 3261 7.3.1: a header name is a token. */
static bool header_name_ok(const char *v)
{
	size_t n = strlen(v);
	if (!n || n > POL_CONSENT_HEADER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] >= 'a' && v[i] <= 'z') && !(v[i] >= 'A' && v[i] <= 'Z') &&
		    !(v[i] >= '0' && v[i] <= '9') && !strchr("-.!%*_+`'~", v[i]))
			return false;
	return true;
}

bool pol_consent_is_key(const char *k)
{
	return strncmp(k, "consent", 7) == 0 || strcmp(k, "no_consent_keep") == 0 ||
	       strcmp(k, "agent") == 0;
}

int pol_consent_key(const struct es_conf *c, const struct es_conf_entry *e,
		    struct pol_consent *cfg, char *err, size_t errlen)
{
	const char *k = e->key, *v = e->value;
	if (strcmp(k, "consent") == 0) {
		if (strcasecmp(v, "none") == 0)
			cfg->mode = POL_CONSENT_NONE;
		else if (strcasecmp(v, "announce") == 0)
			cfg->mode = POL_CONSENT_ANNOUNCE;
		else if (strcasecmp(v, "required") == 0)
			cfg->mode = POL_CONSENT_REQUIRED;
		else
			return key_fail(c, e, err, errlen, "expected none, announce or required");
		return 0;
	}
	if (strcmp(k, "consent_header") == 0) {
		if (!header_name_ok(v))
			return key_fail(c, e, err, errlen, "expected a SIP header name (a token, "
					"at most 32 characters)");
		snprintf(cfg->header, sizeof(cfg->header), "%s", v);
		return 0;
	}
	if (strcmp(k, "consent_dtmf") == 0 || strcmp(k, "consent_dtmf_refuse") == 0) {
		char key = dtmf_key(v);
		if (!key)
			return key_fail(c, e, err, errlen, "expected one DTMF key: 0-9, *, #, A-D");
		*(k[12] ? &cfg->dtmf_no : &cfg->dtmf_yes) = key;
		return 0;
	}
	if (strcmp(k, "consent_window") == 0) {
		int64_t us = 0;
		if (es_conf_duration(c, e->section, k, &us, err, errlen))
			return ES_EPARSE;
		if (us <= 0 || us > 3600 * ES_US_PER_SEC)
			return key_fail(c, e, err, errlen, "expected a duration from 1s to 1h");
		cfg->window_us = us;
		return 0;
	}
	if (strcmp(k, "consent_siprec") == 0) {
		if (es_conf_bool(c, e->section, k, &cfg->siprec, err, errlen))
			return ES_EPARSE;
		return 0;
	}
	if (strcmp(k, "no_consent_keep") == 0) {
		if (strcasecmp(v, "nothing") == 0)
			cfg->keep = POL_KEEP_NOTHING;
		else if (strcasecmp(v, "agent") == 0)
			cfg->keep = POL_KEEP_AGENT;
		else
			return key_fail(c, e, err, errlen, "expected nothing or agent");
		return 0;
	}
	if (strcmp(k, "agent") == 0) {
		if (strcasecmp(v, "caller") == 0)
			cfg->agent = 0;
		else if (strcasecmp(v, "callee") == 0)
			cfg->agent = 1;
		else
			return key_fail(c, e, err, errlen, "expected caller or callee");
		return 0;
	}
	return key_fail(c, e, err, errlen, "unknown consent key");
}

void pol_consent_defaults(struct pol_consent *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window_us = 15 * ES_US_PER_SEC;
	cfg->siprec = true;
	cfg->agent = -1;
}

/* ---- evaluation -------------------------------------------------------------- */

static const char *const state_names[] = {"not_required", "announced", "missing",
					  "given",	 "refused",   "pending"};

const char *pol_consent_state_name(enum pol_consent_state s)
{
	return (unsigned)s < ES_ARRAY_LEN(state_names) ? state_names[s] : "not_required";
}

int pol_consent_state_parse(const char *name)
{
	for (unsigned i = 0; name && i < ES_ARRAY_LEN(state_names); i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}

int pol_consent_value(struct slice v)
{
	v = sl_trim(v);
	if (sl_eq_str_ci(v, "yes") || sl_eq_str_ci(v, "true") || sl_eq_str_ci(v, "1"))
		return 1;
	if (sl_eq_str_ci(v, "no") || sl_eq_str_ci(v, "false") || sl_eq_str_ci(v, "0"))
		return 0;
	return -1;
}

bool pol_consent_detail(const char *detail, bool *yes, const char **source)
{
	if (!detail)
		return false;
	if (strncmp(detail, "yes", 3) == 0 && (!detail[3] || detail[3] == ' '))
		*yes = true;
	else if (strncmp(detail, "no", 2) == 0 && (!detail[2] || detail[2] == ' '))
		*yes = false;
	else
		return false;
	const char *s = detail + (*yes ? 3 : 2);
	while (*s == ' ')
		s++;
	*source = s;
	return true;
}

int pol_consent_agent(const struct pol_consent *cfg, enum pol_direction dir)
{
	if (cfg && cfg->agent >= 0)
		return cfg->agent;
	if (dir == POL_INBOUND)
		return 1;
	return dir == POL_OUTBOUND ? 0 : -1;
}

static int64_t cfg_window(const struct pol_consent *cfg)
{
	return cfg && cfg->window_us ? cfg->window_us : 15 * ES_US_PER_SEC;
}

void pol_consent_eval(const struct pol_consent *cfg, enum pol_direction dir,
		      const struct pol_consent_ev *ev, unsigned nev, int64_t answer_us,
		      int64_t now_us, bool ended, struct pol_consent_result *out)
{
	memset(out, 0, sizeof(*out));
	out->agent = pol_consent_agent(cfg, dir);
	out->keep[0] = out->keep[1] = true;
	enum pol_consent_mode mode = cfg ? cfg->mode : POL_CONSENT_NONE;
	int64_t deadline = answer_us ? answer_us + cfg_window(cfg) : 0;
	for (int p = 0; p < 2; p++) {
		struct pol_consent_party *pp = &out->p[p];
		pp->required = mode == POL_CONSENT_REQUIRED && p != out->agent;
		pp->state = mode == POL_CONSENT_ANNOUNCE ? POL_CS_ANNOUNCED : POL_CS_NOT_REQUIRED;
		if (mode == POL_CONSENT_NONE)
			continue;
		const struct pol_consent_ev *best = NULL;
		bool best_yes = false;
		const char *best_src = NULL;
		for (unsigned i = 0; i < nev; i++) {
			bool yes;
			const char *src;
			if (ev[i].party != p || !pol_consent_detail(ev[i].detail, &yes, &src))
				continue;
			/* after the window only a withdrawal counts: the audio
			 * of a party without consent is gone by then */
			if (yes && deadline && ev[i].ts_us > deadline)
				continue;
			if (!best || ev[i].ts_us >= best->ts_us) {
				best = &ev[i];
				best_yes = yes;
				best_src = src;
			}
		}
		if (best) {
			pp->state = best_yes ? POL_CS_GIVEN : POL_CS_REFUSED;
			pp->ts_us = best->ts_us;
			snprintf(pp->source, sizeof(pp->source), "%s", best_src);
		} else if (pp->required) {
			bool open = !ended && (!answer_us || now_us <= deadline);
			pp->state = open ? POL_CS_PENDING : POL_CS_MISSING;
		}
		if (pp->required && (pp->state == POL_CS_REFUSED || pp->state == POL_CS_MISSING))
			out->no_consent = true;
	}
	if (!out->no_consent)
		return;
	/* without the consent the rule requires, only what
	 * no_consent_keep allows stays */
	for (int p = 0; p < 2; p++)
		out->keep[p] = cfg->keep == POL_KEEP_AGENT && p == out->agent;
}
