/* alert.c - `[alert NAME]` sections, their conditions, de-duplication and
 * rate limiting, and the event each raise makes (docs/ALERTS.md).  The
 * outbox, the signature and the sender thread are in alert_outbox.c. */
#include "analytics/alert.h"
#include "analytics/alert_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TAG "alert"

/* ---- the conditions ------------------------------------------------------------ */

enum cmp { CMP_BELOW, CMP_ABOVE, CMP_AT_LEAST, CMP_FLAG };
enum unit { U_NUM, U_PCT, U_SECS, U_BYTES, U_NONE };

static const struct kind_def {
	const char *name;
	bool call;
	enum cmp cmp;
	enum unit unit;
	double def; /* the threshold when none is given */
	const char *what; /* for the event's message */
} kinds[AN_ALERT_NKINDS] = {
	[AN_ALERT_MOS_BELOW] = {"mos_below", true, CMP_BELOW, U_NUM, 3.5, "MOS"},
	[AN_ALERT_LOSS_ABOVE] = {"loss_above", true, CMP_ABOVE, U_PCT, 5, "packet loss %"},
	[AN_ALERT_ONE_WAY] = {"one_way", true, CMP_AT_LEAST, U_SECS, 5, "one-way audio, s"},
	[AN_ALERT_DEAD_AIR] = {"dead_air", true, CMP_AT_LEAST, U_SECS, 10, "dead air, s"},
	[AN_ALERT_RECORDING_FAILED] = {"recording_failed", true, CMP_FLAG, U_NONE, 0,
				       "recording failed"},
	[AN_ALERT_RECORDING_GAP] = {"recording_gap", true, CMP_FLAG, U_NONE, 0, "recording gap"},
	[AN_ALERT_CLIPPING] = {"clipping", true, CMP_FLAG, U_NONE, 0, "clipping"},
	[AN_ALERT_LOW_LEVEL] = {"low_level", true, CMP_FLAG, U_NONE, 0, "low level"},
	[AN_ALERT_DROPS] = {"drops", false, CMP_ABOVE, U_NUM, 0, "packets dropped"},
	[AN_ALERT_DISK_FREE] = {"disk_free", false, CMP_BELOW, U_BYTES, 1073741824.0,
				"bytes free"},
	[AN_ALERT_SRS_REFUSALS] = {"srs_refusals", false, CMP_ABOVE, U_NUM, 10,
				   "SIPREC refusals a minute"},
	[AN_ALERT_BACKLOG] = {"backlog", false, CMP_ABOVE, U_NUM, 100, "recordings waiting"},
	[AN_ALERT_KEYWORD] = {"keyword", true, CMP_FLAG, U_NONE, 0, "keyword spoken"},
};

const char *an_alert_kind_name(enum an_alert_kind k)
{
	return (unsigned)k < AN_ALERT_NKINDS ? kinds[k].name : NULL;
}

int an_alert_kind_parse(const char *name)
{
	for (int i = 0; i < AN_ALERT_NKINDS; i++)
		if (!strcasecmp(name, kinds[i].name))
			return i;
	return -1;
}

bool an_alert_kind_is_call(enum an_alert_kind k)
{
	return (unsigned)k < AN_ALERT_NKINDS && kinds[k].call;
}

/* ---- configuration ------------------------------------------------------------ */

bool an_alerts_is_section(const char *s)
{
	return !strcasecmp(s, "alerts") || !strncasecmp(s, "alert ", 6);
}

static int bad(char *err, size_t errlen, const struct es_conf *c, unsigned line, const char *sec,
	       const char *why)
{
	return es_errf(err, errlen, ES_EPARSE, "%s:%u: [%s] %s", c->path, line, sec, why);
}

/* "192.0.2.7" or "192.0.2.0/24", "2001:db8::/32" */
static int parse_peer(const char *v, struct an_peer *p)
{
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	memset(p, 0, sizeof(*p));
	if (es_addr_parse_ip((struct slice){v, n}, &p->addr))
		return ES_EPARSE;
	unsigned max = p->addr.family == ES_AF_INET ? 32 : 128;
	p->bits = max;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || b < 0 || b > (long)max)
			return ES_EPARSE;
		p->bits = (unsigned)b;
	}
	return 0;
}

static bool peer_match(const struct an_peer *p, const struct es_addr *a)
{
	if (p->addr.family != a->family)
		return false;
	unsigned full = p->bits / 8, rest = p->bits % 8;
	if (memcmp(p->addr.ip, a->ip, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xFF << (8 - rest));
		return (p->addr.ip[full] & mask) == (a->ip[full] & mask);
	}
	return true;
}

/* Each item of a comma list through fn. */
static int for_items(const char *v, int (*fn)(void *ud, const char *item), void *ud)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", v);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		int rc = fn(ud, t);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_peer(void *ud, const char *item)
{
	struct an_alert_rule *r = ud;
	if (r->npeers == AN_ALERT_MAX_PEERS)
		return ES_ELIMIT;
	return parse_peer(item, &r->peers[r->npeers++]);
}

static int add_action(void *ud, const char *item)
{
	struct an_alert_rule *r = ud;
	if (!strcasecmp(item, "webhook"))
		r->webhook = true;
	else if (!strcasecmp(item, "syslog"))
		r->syslog = true;
	else if (strcasecmp(item, "ui"))
		return ES_EPARSE;
	return 0;
}

/* The threshold of r's condition from text, in the condition's unit. */
static int parse_threshold(const struct es_conf *c, const struct es_conf_entry *e,
			   struct an_alert_rule *r, char *err, size_t errlen)
{
	const struct kind_def *k = &kinds[r->kind];
	char why[160];
	int rc = 0;
	if (k->unit == U_NONE)
		return bad(err, errlen, c, e->line, e->section,
			   "threshold: this condition is a flag and takes none");
	if (k->unit == U_SECS) {
		int64_t us;
		rc = es_conf_duration(c, e->section, "threshold", &us, err, errlen);
		if (!rc)
			r->threshold = (double)us / 1e6;
		return rc;
	}
	if (k->unit == U_BYTES) {
		uint64_t b;
		rc = es_conf_size(c, e->section, "threshold", &b, err, errlen);
		if (!rc)
			r->threshold = (double)b;
		return rc;
	}
	char *end;
	double v = strtod(e->value, &end);
	if (k->unit == U_PCT && *end == '%')
		end++;
	if (end == e->value || *end || v < 0 || v > 1e12) {
		snprintf(why, sizeof(why), "threshold: '%s' is not a number%s", e->value,
			 k->unit == U_PCT ? " (a percentage: 5 or 5%)" : "");
		return bad(err, errlen, c, e->line, e->section, why);
	}
	r->threshold = v;
	return 0;
}

/* The rule of section sec (made on its first key). */
static struct an_alert_rule *rule_of(struct an_alerts *a, const struct es_conf_entry *e)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->r[i].section == e->section)
			return &a->r[i];
	if (a->n == AN_ALERT_MAX_RULES)
		return NULL;
	struct an_alert_rule *r = &a->r[a->n++];
	memset(r, 0, sizeof(*r));
	r->section = e->section;
	r->line = e->line;
	r->kind = -1;
	r->interval_us = 600 * ES_US_PER_SEC;
	r->max_per_interval = 10;
	snprintf(r->name, sizeof(r->name), "%s", e->section + 6);
	snprintf(r->severity, sizeof(r->severity), "warning");
	return r;
}

static int rule_key(struct an_alerts *a, const struct es_conf *c, const struct es_conf_entry *e,
		    char *err, size_t errlen)
{
	struct an_alert_rule *r = rule_of(a, e);
	if (!r)
		return bad(err, errlen, c, e->line, e->section, "too many alerts (at most 64)");
	const char *k = e->key;
	int rc = 0;
	if (!strcmp(k, "condition")) {
		int kind = an_alert_kind_parse(e->value);
		if (kind < 0) {
			char why[600];
			size_t o = (size_t)snprintf(why, sizeof(why), "condition: '%s' is not one of",
						    e->value);
			for (int i = 0; i < AN_ALERT_NKINDS && o < sizeof(why); i++)
				o += (size_t)snprintf(why + o, sizeof(why) - o, " %s", kinds[i].name);
			return bad(err, errlen, c, e->line, e->section, why);
		}
		r->kind = kind;
		r->threshold = kinds[kind].def;
	} else if (!strcmp(k, "threshold")) {
		if (r->kind < 0)
			return bad(err, errlen, c, e->line, e->section,
				   "threshold: give condition = first");
		return parse_threshold(c, e, r, err, errlen);
	} else if (!strcmp(k, "rule")) {
		snprintf(r->rule, sizeof(r->rule), "%s", e->value);
	} else if (!strcmp(k, "peer")) {
		if ((rc = for_items(e->value, add_peer, r)))
			return bad(err, errlen, c, e->line, e->section,
				   rc == ES_ELIMIT ? "peer: at most 16 addresses"
						   : "peer: expected addresses or prefixes "
						     "(192.0.2.7, 192.0.2.0/24, 2001:db8::/32)");
	} else if (!strcmp(k, "actions")) {
		r->actions_set = true;
		r->webhook = r->syslog = false;
		if (for_items(e->value, add_action, r))
			return bad(err, errlen, c, e->line, e->section,
				   "actions: a list of webhook, syslog, ui");
	} else if (!strcmp(k, "interval")) {
		int64_t us;
		if ((rc = es_conf_duration(c, e->section, k, &us, err, errlen)))
			return rc;
		if (us < ES_US_PER_SEC)
			return bad(err, errlen, c, e->line, e->section, "interval: at least 1s");
		r->interval_us = us;
	} else if (!strcmp(k, "max_per_interval")) {
		int64_t v;
		if ((rc = es_conf_int(c, e->section, k, 1, 100000, &v, err, errlen)))
			return rc;
		r->max_per_interval = (unsigned)v;
	} else if (!strcmp(k, "severity")) {
		if (strcasecmp(e->value, "info") && strcasecmp(e->value, "warning") &&
		    strcasecmp(e->value, "critical"))
			return bad(err, errlen, c, e->line, e->section,
				   "severity: info, warning or critical");
		snprintf(r->severity, sizeof(r->severity), "%s", e->value);
	} else {
		char why[160];
		snprintf(why, sizeof(why), "unknown key '%s' (condition, threshold, rule, peer, "
			 "actions, interval, max_per_interval, severity)", k);
		return bad(err, errlen, c, e->line, e->section, why);
	}
	return 0;
}

static int alerts_key(struct an_alerts *a, const struct es_conf *c, const struct es_conf_entry *e,
		      char *err, size_t errlen)
{
	const char *k = e->key;
	if (!strcmp(k, "webhook")) {
		if (strncmp(e->value, "http://", 7) && strncmp(e->value, "https://", 8))
			return bad(err, errlen, c, e->line, e->section,
				   "webhook: an http:// or https:// URL");
		free(a->url);
		return (a->url = strdup(e->value)) ? 0 : ES_ENOMEM;
	}
	if (!strcmp(k, "secret")) {
		if (strlen(e->value) < 16)
			return bad(err, errlen, c, e->line, e->section,
				   "secret: at least 16 characters");
		free(a->secret);
		return (a->secret = strdup(e->value)) ? 0 : ES_ENOMEM;
	}
	if (!strcmp(k, "timeout") || !strcmp(k, "retry_max")) {
		int64_t us;
		int rc = es_conf_duration(c, e->section, k, &us, err, errlen);
		if (rc)
			return rc;
		if (us < 100000)
			return bad(err, errlen, c, e->line, e->section, "at least 100ms");
		*(k[0] == 't' ? &a->timeout_us : &a->retry_max_us) = us;
		return 0;
	}
	char why[160];
	snprintf(why, sizeof(why), "unknown key '%s' (webhook, secret, timeout, retry_max)", k);
	return bad(err, errlen, c, e->line, e->section, why);
}

int an_alerts_from_conf(struct an_alerts **out, const struct es_conf *c, const char *data_dir,
			char *err, size_t errlen)
{
	*out = NULL;
	struct an_alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return ES_ENOMEM;
	a->timeout_us = 5 * ES_US_PER_SEC;
	a->retry_max_us = 60 * ES_US_PER_SEC;
	int rc = 0;
	for (size_t i = 0; i < c->n && !rc; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (!strcasecmp(e->section, "alerts"))
			rc = alerts_key(a, c, e, err, errlen);
		else if (!strncasecmp(e->section, "alert ", 6))
			rc = rule_key(a, c, e, err, errlen);
	}
	for (unsigned i = 0; i < a->n && !rc; i++) {
		struct an_alert_rule *r = &a->r[i];
		if (r->kind < 0)
			rc = bad(err, errlen, c, r->line, r->section,
				 "has no condition (condition = one_way, mos_below, ...)");
		else if (!r->name[0])
			rc = bad(err, errlen, c, r->line, r->section, "an alert needs a name");
		for (unsigned k = 0; k < i && !rc; k++)
			if (!strcasecmp(a->r[k].name, r->name))
				rc = bad(err, errlen, c, r->line, r->section, "a second alert of this name");
		if (rc)
			break;
		if (!r->actions_set)
			r->webhook = a->url != NULL;
		if (r->webhook && !a->url)
			rc = bad(err, errlen, c, r->line, r->section,
				 "actions: webhook, but [alerts] has no webhook = URL");
		a->want[r->kind] = true;
	}
	if (!rc && a->url && !a->secret)
		rc = es_errf(err, errlen, ES_EPARSE, "%s: [alerts] webhook needs secret = (at least "
			     "16 characters: receivers check X-Earshot-Signature with it)", c->path);
	if (!rc && a->n == 0) {
		an_alerts_free(a);
		return 0;
	}
	if (!rc)
		rc = alert_state_init(a, data_dir);
	if (rc) {
		an_alerts_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

bool an_alerts_want(const struct an_alerts *a, enum an_alert_kind kind)
{
	return a && (unsigned)kind < AN_ALERT_NKINDS && a->want[kind];
}

double an_alerts_min_threshold(const struct an_alerts *a, enum an_alert_kind kind)
{
	double m = -1;
	if (!an_alerts_want(a, kind))
		return m;
	for (unsigned i = 0; i < a->n; i++)
		if (a->r[i].kind == (int)kind && (m < 0 || a->r[i].threshold < m))
			m = a->r[i].threshold;
	return m;
}

void an_alerts_json(const struct an_alerts *a, struct es_json *j)
{
	es_json_arr_begin(j);
	for (unsigned i = 0; a && i < a->n; i++) {
		const struct an_alert_rule *r = &a->r[i];
		const struct kind_def *k = &kinds[r->kind];
		es_json_obj_begin(j);
		es_json_key(j, "name"); es_json_str(j, r->name);
		es_json_key(j, "condition"); es_json_str(j, k->name);
		es_json_key(j, "scope"); es_json_str(j, k->call ? "call" : "system");
		es_json_key(j, "threshold");
		if (k->unit == U_NONE)
			es_json_null(j);
		else
			es_json_double(j, r->threshold, 3);
		es_json_key(j, "rule"); es_json_str(j, r->rule[0] ? r->rule : NULL);
		es_json_key(j, "peers");
		es_json_arr_begin(j);
		for (unsigned p = 0; p < r->npeers; p++) {
			char s[ES_ADDR_STRLEN + 8];
			size_t o = es_addr_fmt(&r->peers[p].addr, false, s, sizeof(s));
			snprintf(s + o, sizeof(s) - o, "/%u", r->peers[p].bits);
			es_json_str(j, s);
		}
		es_json_arr_end(j);
		es_json_key(j, "actions");
		es_json_arr_begin(j);
		if (r->webhook) es_json_str(j, "webhook");
		if (r->syslog) es_json_str(j, "syslog");
		es_json_str(j, "ui");
		es_json_arr_end(j);
		es_json_key(j, "severity"); es_json_str(j, r->severity);
		es_json_key(j, "interval_s"); es_json_int(j, r->interval_us / ES_US_PER_SEC);
		es_json_key(j, "max_per_interval"); es_json_int(j, r->max_per_interval);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

/* ---- the live check ------------------------------------------------------------ */

/* A party is sending when its last packet is this recent. */
#define LIVE_SENDING_US (2 * ES_US_PER_SEC)

void an_alert_live_eval(const struct an_alert_live *in, double *one_way_s, int *silent_party,
			double *dead_s)
{
	*one_way_s = 0;
	*dead_s = 0;
	*silent_party = -1;
	if (!in->answer_us || in->now_us <= in->answer_us)
		return;
	bool sending[2];
	for (int p = 0; p < 2; p++)
		sending[p] = in->last_rtp_us[p] && in->now_us - in->last_rtp_us[p] <= LIVE_SENDING_US;
	if (sending[0] && sending[1])
		return;
	if (sending[0] || sending[1]) {
		/* the silent one: since the answer or its last packet */
		int q = sending[0] ? 1 : 0;
		int64_t since = ES_MAX(in->answer_us, in->last_rtp_us[q]);
		*one_way_s = (double)(in->now_us - since) / 1e6;
		*silent_party = q;
		return;
	}
	int64_t since = ES_MAX(in->answer_us, ES_MAX(in->last_rtp_us[0], in->last_rtp_us[1]));
	*dead_s = (double)(in->now_us - since) / 1e6;
}

/* ---- raising ------------------------------------------------------------------- */

static bool threshold_met(const struct an_alert_rule *r, double v)
{
	switch (kinds[r->kind].cmp) {
	case CMP_BELOW: return v < r->threshold;
	case CMP_ABOVE: return v > r->threshold;
	case CMP_AT_LEAST: return v >= r->threshold;
	case CMP_FLAG: return true;
	}
	return false;
}

static bool filters_match(const struct an_alert_rule *r, const struct an_alert_call *call)
{
	if (r->rule[0] && (!call || !call->rule || strcasecmp(call->rule, r->rule)))
		return false;
	if (!r->npeers)
		return true;
	for (unsigned i = 0; call && i < call->npeers; i++)
		for (unsigned p = 0; p < r->npeers; p++)
			if (peer_match(&r->peers[p], &call->peers[i]))
				return true;
	return false;
}

/* The de-duplication slot of (rule, call): a bounded table, the oldest
 * of a probe sequence replaced.  Returns whether the key fired within the
 * rule's interval; marks it fired at now otherwise. */
static bool dedup_seen(struct an_alerts *a, unsigned ri, const char *call_id, int64_t now)
{
	const struct an_alert_rule *r = &a->r[ri];
	uint64_t h = es_hash(&ri, sizeof(ri), 0x9E3779B97F4A7C15ull);
	if (call_id)
		h = es_hash(call_id, strlen(call_id), h);
	h |= 1; /* 0 = empty */
	size_t base = (size_t)(h % AN_ALERT_DEDUP_SLOTS), victim = base;
	for (size_t i = 0; i < AN_ALERT_DEDUP_PROBE; i++) {
		struct an_dedup *d = &a->dedup[(base + i) % AN_ALERT_DEDUP_SLOTS];
		if (d->key == h) {
			if (now - d->last_us < r->interval_us)
				return true;
			d->last_us = now;
			return false;
		}
		if (d->last_us < a->dedup[victim].last_us)
			victim = (base + i) % AN_ALERT_DEDUP_SLOTS;
	}
	a->dedup[victim] = (struct an_dedup){h, now};
	return false;
}

static void event_id(char out[33])
{
	uint8_t b[16];
	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 33, b, sizeof(b));
}

/* One event's JSON (docs/ALERTS.md) into a malloc'd string. */
static char *event_json(const struct an_alerts *a, const struct an_alert_rule *r, const char *type,
			const char *id, double value, const struct an_alert_call *call,
			const struct an_alert_field *fields, size_t nfields, uint64_t suppressed,
			int64_t now, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	const struct kind_def *k = &kinds[r->kind];
	char ts[ES_TIME_STRLEN], msg[512];
	es_time_fmt(now, ts, sizeof(ts));
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "id"); es_json_str(&j, id);
	es_json_key(&j, "type"); es_json_str(&j, type);
	es_json_key(&j, "alert"); es_json_str(&j, r->name);
	es_json_key(&j, "condition"); es_json_str(&j, k->name);
	es_json_key(&j, "scope"); es_json_str(&j, k->call ? "call" : "system");
	es_json_key(&j, "severity"); es_json_str(&j, r->severity);
	es_json_key(&j, "time"); es_json_str(&j, ts);
	es_json_key(&j, "time_us"); es_json_int(&j, now);
	es_json_key(&j, "node"); es_json_str(&j, a->node);
	if (suppressed) {
		snprintf(msg, sizeof(msg), "alert %s: %llu more events held back in the last %llds",
			 r->name, (unsigned long long)suppressed,
			 (long long)(r->interval_us / ES_US_PER_SEC));
		es_json_key(&j, "suppressed"); es_json_int(&j, (int64_t)suppressed);
		es_json_key(&j, "interval_s"); es_json_int(&j, r->interval_us / ES_US_PER_SEC);
	} else if (k->unit == U_NONE) {
		snprintf(msg, sizeof(msg), "alert %s: %s%s%s", r->name, k->what,
			 call && call->call_id ? " in call " : "", call && call->call_id ? call->call_id : "");
	} else {
		snprintf(msg, sizeof(msg), "alert %s: %s %.6g (threshold %.6g)%s%s", r->name, k->what,
			 value, r->threshold, call && call->call_id ? " in call " : "",
			 call && call->call_id ? call->call_id : "");
	}
	if (!suppressed && k->unit != U_NONE) {
		es_json_key(&j, "value"); es_json_double(&j, value, 3);
		es_json_key(&j, "threshold"); es_json_double(&j, r->threshold, 3);
	}
	es_json_key(&j, "message"); es_json_str(&j, msg);
	es_json_key(&j, "call");
	if (call && !suppressed) {
		es_json_obj_begin(&j);
		es_json_key(&j, "call_id"); es_json_str(&j, call->call_id);
		es_json_key(&j, "caller"); es_json_str(&j, call->caller);
		es_json_key(&j, "callee"); es_json_str(&j, call->callee);
		es_json_key(&j, "rule"); es_json_str(&j, call->rule);
		es_json_key(&j, "source"); es_json_str(&j, call->source);
		es_json_key(&j, "start");
		if (call->start_us) {
			es_time_fmt(call->start_us, ts, sizeof(ts));
			es_json_str(&j, ts);
		} else {
			es_json_null(&j);
		}
		es_json_obj_end(&j);
	} else {
		es_json_null(&j);
	}
	es_json_key(&j, "fields");
	es_json_obj_begin(&j);
	for (size_t i = 0; i < nfields && !suppressed; i++) {
		es_json_key(&j, fields[i].key);
		if (fields[i].str)
			es_json_str(&j, fields[i].str);
		else
			es_json_double(&j, fields[i].num, 3);
	}
	es_json_obj_end(&j);
	es_json_obj_end(&j);
	bool ok = fclose(f) == 0;
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Queue one event of rule ri (the lock held). */
static void enqueue(struct an_alerts *a, unsigned ri, const char *type, double value,
		    const struct an_alert_call *call, const struct an_alert_field *fields,
		    size_t nfields, uint64_t suppressed, int64_t now)
{
	if (a->nqueue >= AN_ALERT_QUEUE_MAX) {
		a->st.suppressed++;
		ES_LOG_WARNING(TAG, "alert %s: the queue is full (%u events): event dropped",
			       a->r[ri].name, (unsigned)a->nqueue);
		return;
	}
	struct an_event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return;
	event_id(ev->id);
	ev->time_us = now;
	ev->rule = ri;
	ev->body = event_json(a, &a->r[ri], type, ev->id, value, call, fields, nfields, suppressed,
			      now, &ev->len);
	if (!ev->body) {
		free(ev);
		return;
	}
	*a->qtail = ev;
	a->qtail = &ev->next;
	a->nqueue++;
	a->st.raised++;
	pthread_cond_signal(&a->cond);
}

/* The rule's window: when it has passed, a summary of what it held back
 * (the lock held). */
static void window_roll(struct an_alerts *a, unsigned ri, int64_t now)
{
	struct an_alert_rule *r = &a->r[ri];
	if (r->win_start_us && now - r->win_start_us < r->interval_us)
		return;
	if (r->win_suppressed)
		enqueue(a, ri, "alert.suppressed", 0, NULL, NULL, 0, r->win_suppressed, now);
	r->win_start_us = now;
	r->win_count = 0;
	r->win_suppressed = 0;
}

void alert_tick_locked(struct an_alerts *a, int64_t now)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->r[i].win_suppressed)
			window_roll(a, i, now);
}

int an_alert_raise(struct an_alerts *a, enum an_alert_kind kind, double value,
		   const struct an_alert_call *call, const struct an_alert_field *fields,
		   size_t nfields, int64_t now_us)
{
	if (!an_alerts_want(a, kind))
		return 0;
	int made = 0;
	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < a->n; i++) {
		struct an_alert_rule *r = &a->r[i];
		if (r->kind != (int)kind || !threshold_met(r, value) || !filters_match(r, call))
			continue;
		/* the same call (or, for the recorder, the same alert) once an interval */
		if (dedup_seen(a, i, kinds[kind].call && call ? call->call_id : NULL, now_us))
			continue;
		window_roll(a, i, now_us);
		if (r->win_count >= r->max_per_interval) {
			r->win_suppressed++;
			a->st.suppressed++;
			continue;
		}
		r->win_count++;
		enqueue(a, i, "alert", value, call, fields, nfields, 0, now_us);
		made++;
	}
	pthread_mutex_unlock(&a->lock);
	return made;
}

void an_alerts_stats(struct an_alerts *a, struct an_alert_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	*st = a->st;
	pthread_mutex_unlock(&a->lock);
}
