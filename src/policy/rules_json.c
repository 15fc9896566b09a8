/*
 * rules_json.c - the parsed recording rules described as JSON (policy.h,
 * pol_rules_json): what the rules are after parsing, so that a reader sees
 * the rules the recorder applies, not the file's text.
 */
#include "policy.h"
#include "policy_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put_pat(struct es_json *j, const struct pol_pat *p)
{
	char b[64];
	if (p->kind != PAT_RANGE) {
		es_json_str(j, p->s);
		return;
	}
	/* A range of equal-width ends keeps its leading zeros: "0100-0199". */
	snprintf(b, sizeof(b), "%0*" PRIu64 "-%0*" PRIu64, (int)p->width, p->lo, (int)p->width,
		 p->hi);
	es_json_str(j, b);
}

static void put_list(struct es_json *j, const char *key, const struct pol_list *l)
{
	es_json_key(j, key);
	es_json_arr_begin(j);
	for (unsigned i = 0; l && i < l->n; i++)
		put_pat(j, &l->v[i]);
	es_json_arr_end(j);
}

static void put_net(struct es_json *j, const struct pol_net *n)
{
	struct es_addr a = {.family = n->family};
	memcpy(a.ip, n->ip, sizeof(a.ip));
	char ip[ES_ADDR_STRLEN], b[ES_ADDR_STRLEN + 8];
	es_addr_fmt(&a, false, ip, sizeof(ip));
	snprintf(b, sizeof(b), "%s/%u", ip, (unsigned)n->bits);
	es_json_str(j, b);
}

static void put_hhmm(struct es_json *j, unsigned min)
{
	char b[8];
	snprintf(b, sizeof(b), "%02u:%02u", (min / 60) % 100, min % 60);
	es_json_str(j, b);
}

/* Only for rules that ask for consent: the JSON of other rules is as before. */
static void consent_json(struct es_json *j, const struct pol_consent *c)
{
	char key[2] = {0};
	es_json_key(j, "consent");
	es_json_obj_begin(j);
	es_json_key(j, "mode");
	es_json_str(j, c->mode == POL_CONSENT_REQUIRED ? "required" : "announce");
	es_json_key(j, "header"); es_json_str(j, c->header[0] ? c->header : NULL);
	key[0] = c->dtmf_yes;
	es_json_key(j, "dtmf"); es_json_str(j, key[0] ? key : NULL);
	key[0] = c->dtmf_no;
	es_json_key(j, "dtmf_refuse"); es_json_str(j, key[0] ? key : NULL);
	es_json_key(j, "window_s"); es_json_int(j, c->window_us / ES_US_PER_SEC);
	es_json_key(j, "siprec"); es_json_bool(j, c->siprec);
	es_json_key(j, "no_consent_keep");
	es_json_str(j, c->keep == POL_KEEP_AGENT ? "agent" : "nothing");
	es_json_key(j, "agent");
	es_json_str(j, c->agent == 0 ? "caller" : c->agent == 1 ? "callee" : NULL);
	es_json_obj_end(j);
}

static void put_rule(struct es_json *j, const struct pol_rules *r, const struct pol_rule *ru)
{
	/* Same order as enum pol_direction and tm_wday. */
	static const char *const dirs[] = {"unknown", "inbound", "outbound", "internal",
					   "external"};
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	es_json_obj_begin(j);
	es_json_key(j, "name"); es_json_str(j, ru->name);
	es_json_key(j, "line"); es_json_int(j, ru->line);
	es_json_key(j, "action"); es_json_str(j, ru->action == 1 ? "record" : "skip");
	put_list(j, "caller", &ru->caller);
	put_list(j, "callee", &ru->callee);
	put_list(j, "number", &ru->number);
	put_list(j, "domain", &ru->domain);
	es_json_key(j, "direction");
	es_json_arr_begin(j);
	if (ru->dirs != 0xff) /* "any" was named */
		for (unsigned d = POL_INBOUND; d <= POL_EXTERNAL; d++)
			if (ru->dirs & (1u << d))
				es_json_str(j, dirs[d]);
	es_json_arr_end(j);
	es_json_key(j, "time");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < ru->nwin; i++) {
		es_json_obj_begin(j);
		es_json_key(j, "from"); put_hhmm(j, ru->win[i].from);
		es_json_key(j, "to"); put_hhmm(j, ru->win[i].to);
		es_json_key(j, "zone"); es_json_str(j, r->tz_name);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
	es_json_key(j, "days");
	es_json_arr_begin(j);
	if (ru->days != 0x7f) /* every day is no condition */
		for (unsigned k = 1; k <= 7; k++) /* mon..sun */
			if (ru->days & (1u << (k % 7)))
				es_json_str(j, days[k % 7]);
	es_json_arr_end(j);
	es_json_key(j, "sample_percent"); es_json_double(j, ru->sample / 100.0, 2);
	if (ru->consent.mode != POL_CONSENT_NONE)
		consent_json(j, &ru->consent);
	es_json_obj_end(j);
}

int pol_rules_json(const struct pol_rules *r, struct es_json *j)
{
	es_json_obj_begin(j);
	es_json_key(j, "default"); es_json_str(j, !r || r->default_record ? "record" : "skip");
	es_json_key(j, "timezone"); es_json_str(j, r ? r->tz_name : NULL);
	put_list(j, "do_not_record", r ? &r->dnr : NULL);
	es_json_key(j, "networks");
	es_json_obj_begin(j);
	es_json_key(j, "local");
	es_json_arr_begin(j);
	for (unsigned i = 0; r && i < r->nnets; i++)
		put_net(j, &r->nets[i]);
	es_json_arr_end(j);
	put_list(j, "local_numbers", r ? &r->local_numbers : NULL);
	es_json_obj_end(j);
	es_json_key(j, "rules");
	es_json_arr_begin(j);
	for (unsigned i = 0; r && i < r->n; i++)
		put_rule(j, r, &r->r[i]);
	es_json_arr_end(j);
	es_json_obj_end(j);
	return ferror(j->f) ? ES_EIO : 0;
}
