/*
 * rules.c - the recording rules (policy.h): built once from the
 * configuration, then read-only; pol_decide allocates nothing.
 */
#include "policy.h"
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POL_SAMPLE_SEED UINT64_C(0x9e3779b97f4a7c15)

/* ---- loading helpers ----------------------------------------------------- */

struct pol_load {
	const struct es_conf *c;
	const struct es_conf_entry *e; /* being read */
	char *err;
	size_t errlen;
};

static int fail(struct pol_load *l, int rc, const char *fmt, const char *arg)
{
	if (l->err && l->errlen) {
		int n = snprintf(l->err, l->errlen, "%s:%u: %s: ", l->c->path, l->e->line,
				 l->e->key);
		if (n >= 0 && (size_t)n < l->errlen)
			snprintf(l->err + n, l->errlen - (size_t)n, fmt, arg);
	}
	return rc;
}

/* Call fn on every comma-separated, trimmed item of the entry's value. */
typedef int (*item_fn)(struct pol_load *l, struct slice item, void *arg);

static int for_items(struct pol_load *l, item_fn fn, void *arg)
{
	struct slice rest = sl_cstr(l->e->value), item;
	if (!sl_trim(rest).len)
		return fail(l, ES_EPARSE, "%s", "empty value");
	for (;;) {
		bool more = sl_split(rest, ',', &item, &rest);
		item = sl_trim(item);
		if (!item.len)
			return fail(l, ES_EPARSE, "%s", "empty item in list");
		int rc = fn(l, item, arg);
		if (rc || !more)
			return rc;
	}
}

static bool all_digits(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return s.len > 0;
}

static int grow(void **v, unsigned n, size_t size)
{
	if (n & (n - 1)) /* capacity is the next power of two */
		return 0;
	void *p = realloc(*v, (n ? n * 2 : 1) * size);
	if (!p)
		return ES_ENOMEM;
	*v = p;
	return 0;
}

static int add_pattern(struct pol_load *l, struct slice it, void *arg)
{
	struct pol_list *list = arg;
	struct pol_pat p = {.kind = PAT_EXACT};
	struct slice a, b;
	char tmp[64];
	if (sl_split(it, '-', &a, &b) && all_digits(a) && all_digits(b)) {
		if (sl_to_u64(a, &p.lo) || sl_to_u64(b, &p.hi) || a.len > 19 || b.len > 19)
			return fail(l, ES_EPARSE, "number range too long: %s",
				    (sl_copy(tmp, sizeof(tmp), it), tmp));
		if (p.lo > p.hi)
			return fail(l, ES_EPARSE, "range %s ends before it starts",
				    (sl_copy(tmp, sizeof(tmp), it), tmp));
		p.kind = PAT_RANGE;
		p.width = a.len == b.len ? (unsigned)a.len : 0;
	} else {
		if (!(p.s = sl_strdup(it)))
			return ES_ENOMEM;
		const char *why = pol_glob_check(p.s);
		if (why) {
			int rc = fail(l, ES_EPARSE, "bad pattern '%s'", p.s);
			free(p.s);
			return rc;
		}
		if (strpbrk(p.s, "*?["))
			p.kind = PAT_GLOB;
	}
	if (grow((void **)&list->v, list->n, sizeof(p))) {
		free(p.s);
		return ES_ENOMEM;
	}
	list->v[list->n++] = p;
	return 0;
}

static int add_domain(struct pol_load *l, struct slice it, void *arg)
{
	struct pol_list *list = arg;
	struct pol_pat p = {.kind = PAT_GLOB};
	if (!(p.s = sl_strdup(it)))
		return ES_ENOMEM;
	if (pol_glob_check(p.s)) {
		int rc = fail(l, ES_EPARSE, "bad domain pattern '%s'", p.s);
		free(p.s);
		return rc;
	}
	if (grow((void **)&list->v, list->n, sizeof(p))) {
		free(p.s);
		return ES_ENOMEM;
	}
	list->v[list->n++] = p;
	return 0;
}

static int add_net(struct pol_load *l, struct slice it, void *arg)
{
	struct pol_rules *r = arg;
	struct pol_net n = {0};
	struct slice ip, len;
	char tmp[80];
	sl_copy(tmp, sizeof(tmp), it);
	bool has_len = sl_split(it, '/', &ip, &len);
	struct es_addr a = {0};
	if (es_addr_parse_ip(sl_trim(ip), &a))
		return fail(l, ES_EPARSE, "bad network '%s'", tmp);
	unsigned max = a.family == ES_AF_INET ? 32 : 128;
	uint32_t bits = max;
	if (has_len && (!all_digits(len) || sl_to_u32(len, &bits) || bits > max))
		return fail(l, ES_EPARSE, "bad prefix length in '%s'", tmp);
	n.family = a.family;
	n.bits = (uint8_t)bits;
	memcpy(n.ip, a.ip, 16);
	if (grow((void **)&r->nets, r->nnets, sizeof(n)))
		return ES_ENOMEM;
	r->nets[r->nnets++] = n;
	return 0;
}

static int parse_hhmm(struct slice s, bool end, uint16_t *out)
{
	uint32_t h, m;
	struct slice hs, ms;
	if (!sl_split(s, ':', &hs, &ms) || !all_digits(hs) || hs.len > 2 || ms.len != 2 ||
	    !all_digits(ms) || sl_to_u32(hs, &h) || sl_to_u32(ms, &m))
		return ES_EPARSE;
	if (m > 59 || h > 24 || (h == 24 && (m || !end)))
		return ES_EPARSE;
	*out = (uint16_t)(h * 60 + m);
	return 0;
}

static int add_window(struct pol_load *l, struct slice it, void *arg)
{
	struct pol_rule *ru = arg;
	struct pol_win w;
	struct slice a, b;
	char tmp[64];
	sl_copy(tmp, sizeof(tmp), it);
	if (!sl_split(it, '-', &a, &b) || parse_hhmm(sl_trim(a), false, &w.from) ||
	    parse_hhmm(sl_trim(b), true, &w.to))
		return fail(l, ES_EPARSE, "bad time window '%s' (expected HH:MM-HH:MM)", tmp);
	if (w.from == w.to)
		return fail(l, ES_EPARSE, "empty time window '%s'", tmp);
	if (grow((void **)&ru->win, ru->nwin, sizeof(w)))
		return ES_ENOMEM;
	ru->win[ru->nwin++] = w;
	return 0;
}

static int day_index(struct slice s)
{
	static const char *const names[] = {"sunday",	"monday", "tuesday", "wednesday",
					    "thursday", "friday", "saturday"};
	for (int i = 0; i < 7; i++)
		if ((s.len == 3 || s.len == strlen(names[i])) &&
		    strncasecmp(s.p, names[i], s.len) == 0)
			return i;
	return -1;
}

static int add_days(struct pol_load *l, struct slice it, void *arg)
{
	struct pol_rule *ru = arg;
	struct slice a, b;
	char tmp[64];
	sl_copy(tmp, sizeof(tmp), it);
	bool range = sl_split(it, '-', &a, &b);
	int from = day_index(sl_trim(a)), to = range ? day_index(sl_trim(b)) : from;
	if (from < 0 || to < 0)
		return fail(l, ES_EPARSE, "bad day '%s' (mon..sun, ranges like mon-fri)", tmp);
	for (int d = from;; d = (d + 1) % 7) { /* fri-mon wraps over the weekend */
		ru->days |= (uint8_t)(1u << d);
		if (d == to)
			break;
	}
	return 0;
}

static int add_direction(struct pol_load *l, struct slice it, void *arg)
{
	static const char *const names[] = {"any", "inbound", "outbound", "internal", "external"};
	struct pol_rule *ru = arg;
	char tmp[64];
	for (unsigned i = 0; i < ES_ARRAY_LEN(names); i++)
		if (sl_eq_str_ci(it, names[i])) {
			ru->dirs |= (uint8_t)(i ? 1u << i : 0xff);
			return 0;
		}
	sl_copy(tmp, sizeof(tmp), it);
	return fail(l, ES_EPARSE,
		    "bad direction '%s' (inbound, outbound, internal, external, any)", tmp);
}

static int parse_action(struct pol_load *l, const char *v, int *out)
{
	if (strcasecmp(v, "record") == 0)
		*out = 1;
	else if (strcasecmp(v, "skip") == 0)
		*out = 0;
	else
		return fail(l, ES_EPARSE, "expected record or skip, got '%s'", v);
	return 0;
}

static int parse_sample(struct pol_load *l, const char *v, unsigned *out)
{
	struct slice s = sl_cstr(v), whole, frac = SL_NULL;
	if (s.len && s.p[s.len - 1] == '%')
		s = sl_trim(sl_sub(s, 0, s.len - 1));
	bool dot = sl_split(s, '.', &whole, &frac);
	uint32_t w = 0, f = 0;
	if (!all_digits(whole) || whole.len > 3 || sl_to_u32(whole, &w) ||
	    (dot && (!all_digits(frac) || frac.len > 2 || sl_to_u32(frac, &f))))
		return fail(l, ES_EPARSE, "expected a percentage 0..100, got '%s'", v);
	if (dot && frac.len == 1)
		f *= 10;
	if (w * 100 + f > 10000)
		return fail(l, ES_EPARSE, "percentage above 100: '%s'", v);
	*out = w * 100 + f;
	return 0;
}

/* ---- building ------------------------------------------------------------ */

static void list_free(struct pol_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
}

void pol_rules_free(struct pol_rules *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++) {
		struct pol_rule *ru = &r->r[i];
		free(ru->name);
		list_free(&ru->caller);
		list_free(&ru->callee);
		list_free(&ru->number);
		list_free(&ru->domain);
		free(ru->win);
	}
	free(r->r);
	list_free(&r->dnr);
	list_free(&r->local_numbers);
	free(r->nets);
	pol_tz_free(r->tz);
	free(r->tz_name);
	free(r);
}

/* "rule NAME" -> NAME, or an empty slice when the section is no rule. */
static bool rule_section(const char *sec, struct slice *name)
{
	if (strncasecmp(sec, "rule", 4) != 0 || (sec[4] && sec[4] != ' ' && sec[4] != '\t'))
		return false;
	*name = sl_trim(sl_cstr(sec + 4));
	return true;
}

/* A DTMF key sequence: 1..POL_DTMF_SEQ_MAX of the RFC 4733 3.2 keys
 * 0-9 * # A-D (upper case). */
static int parse_dtmf_seq(struct pol_load *l, const char *v, char *out)
{
	size_t n = strlen(v);
	if (!n || n > POL_DTMF_SEQ_MAX || strspn(v, "0123456789*#ABCD") != n)
		return fail(l, ES_EPARSE, "expected 1 to 8 DTMF keys (0-9 * # A-D), got '%s'", v);
	memcpy(out, v, n + 1);
	return 0;
}

static int pci_key(struct pol_load *l, struct pol_pci *p, const char *k, bool *done)
{
	const char *v = l->e->value;
	*done = true;
	if (strcmp(k, "pause_dtmf") == 0)
		return parse_dtmf_seq(l, v, p->pause_dtmf);
	if (strcmp(k, "resume_dtmf") == 0)
		return parse_dtmf_seq(l, v, p->resume_dtmf);
	if (strcmp(k, "max_pause") == 0)
		return es_conf_duration(l->c, l->e->section, k, &p->max_pause_us, l->err, l->errlen);
	if (strcmp(k, "mask_dtmf") == 0)
		return es_conf_bool(l->c, l->e->section, k, &p->mask_dtmf, l->err, l->errlen);
	if (strcmp(k, "pause_fill") == 0) {
		if (strcasecmp(v, "silence") && strcasecmp(v, "tone"))
			return fail(l, ES_EPARSE, "expected silence or tone, got '%s'", v);
		p->fill_tone = strcasecmp(v, "tone") == 0;
		return 0;
	}
	*done = false;
	return 0;
}

static int rule_key(struct pol_load *l, struct pol_rule *ru)
{
	const char *k = l->e->key;
	bool pci = false;
	int prc = pci_key(l, &ru->pci, k, &pci);
	if (pci)
		return prc;
	if (strcmp(k, "action") == 0)
		return parse_action(l, l->e->value, &ru->action);
	if (strcmp(k, "sample") == 0)
		return parse_sample(l, l->e->value, &ru->sample);
	if (strcmp(k, "caller") == 0)
		return for_items(l, add_pattern, &ru->caller);
	if (strcmp(k, "callee") == 0)
		return for_items(l, add_pattern, &ru->callee);
	if (strcmp(k, "number") == 0)
		return for_items(l, add_pattern, &ru->number);
	if (strcmp(k, "domain") == 0)
		return for_items(l, add_domain, &ru->domain);
	if (strcmp(k, "direction") == 0)
		return for_items(l, add_direction, ru);
	if (strcmp(k, "time") == 0)
		return for_items(l, add_window, ru);
	if (strcmp(k, "days") == 0)
		return for_items(l, add_days, ru);
	if (pol_consent_is_key(k))
		return pol_consent_key(l->c, l->e, &ru->consent, l->err, l->errlen);
	if (strcmp(k, "transcribe") == 0) { /* checked here, used by `transcribe run` */
		bool on;
		return es_conf_bool(l->c, l->e->section, k, &on, l->err, l->errlen);
	}
	return fail(l, ES_EPARSE, "unknown key in [%s]", l->e->section);
}

/* The rule for the entry's section: the current one, or a new one. */
static int rule_for(struct pol_load *l, struct pol_rules *r, struct slice name,
		    struct pol_rule **out)
{
	if (r->n && r->r[r->n - 1].section == l->e->section) {
		*out = &r->r[r->n - 1];
		return 0;
	}
	char tmp[128];
	sl_copy(tmp, sizeof(tmp), name);
	if (!name.len)
		return fail(l, ES_EPARSE, "%s", "a rule needs a name: [rule NAME]");
	for (unsigned i = 0; i < r->n; i++)
		if (sl_eq_str_ci(name, r->r[i].name)) {
			if (l->err && l->errlen)
				snprintf(l->err, l->errlen, "%s:%u: duplicate [rule %s] (first at line %u)",
					 l->c->path, l->e->line, tmp, r->r[i].line);
			return ES_EPARSE;
		}
	if (grow((void **)&r->r, r->n, sizeof(*r->r)))
		return ES_ENOMEM;
	struct pol_rule *ru = &r->r[r->n];
	memset(ru, 0, sizeof(*ru));
	if (!(ru->name = sl_strdup(name)))
		return ES_ENOMEM;
	r->n++;
	ru->section = l->e->section;
	ru->line = l->e->line;
	ru->action = -1;
	ru->sample = 10000;
	pol_consent_defaults(&ru->consent);
	*out = ru;
	return 0;
}

static int load_entry(struct pol_load *l, struct pol_rules *r)
{
	const char *sec = l->e->section, *k = l->e->key;
	struct slice name;
	if (rule_section(sec, &name)) {
		struct pol_rule *ru = NULL;
		int rc = rule_for(l, r, name, &ru);
		return rc ? rc : rule_key(l, ru);
	}
	if (strcasecmp(sec, "networks") == 0) {
		r->have_local = true;
		if (strcmp(k, "local") == 0)
			return for_items(l, add_net, r);
		if (strcmp(k, "local_numbers") == 0)
			return for_items(l, add_pattern, &r->local_numbers);
		return fail(l, ES_EPARSE, "unknown key in [%s]", sec);
	}
	if (strcasecmp(sec, "do-not-record") == 0) {
		if (strcmp(k, "number") == 0)
			return for_items(l, add_pattern, &r->dnr);
		return fail(l, ES_EPARSE, "unknown key in [%s]", sec);
	}
	if (strcasecmp(sec, "recording") == 0 && strcmp(k, "default") == 0) {
		int a = 1;
		int rc = parse_action(l, l->e->value, &a);
		r->default_record = a == 1;
		return rc;
	}
	if (strcasecmp(sec, "recording") == 0 && strcmp(k, "timezone") == 0) {
		pol_tz_free(r->tz);
		free(r->tz_name);
		r->tz = NULL;
		r->tz_name = NULL;
		int rc = pol_tz_load(&r->tz, l->e->value);
		if (rc == ES_ENOMEM)
			return rc;
		if (rc)
			return fail(l, ES_EPARSE, "unknown time zone '%s' (a name under "
				    "/usr/share/zoneinfo, like Europe/Berlin)", l->e->value);
		if (!(r->tz_name = strdup(l->e->value)))
			return ES_ENOMEM;
	}
	return 0; /* other sections belong to the CLI */
}

/* Checks that need the whole rule: an action, sampling only when recording. */
static int check_rules(const struct es_conf *c, const struct pol_rules *r, char *err,
		       size_t errlen)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct pol_rule *ru = &r->r[i];
		const char *why = NULL;
		if (ru->action < 0)
			why = "has no action (action = record or skip)";
		else if (ru->action == 0 && ru->sample != 10000)
			why = "samples but skips: sample needs action = record";
		if (why) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: [rule %s] %s", c->path, ru->line,
					 ru->name, why);
			return ES_EPARSE;
		}
	}
	return 0;
}

int pol_rules_from_conf(struct pol_rules **out, const struct es_conf *c, char *err,
			size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	struct pol_rules *r = calloc(1, sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	r->default_record = true;
	struct pol_load l = {.c = c, .err = err, .errlen = errlen};
	int rc = 0;
	for (size_t i = 0; i < c->n && !rc; i++) {
		l.e = &c->e[i];
		rc = load_entry(&l, r);
	}
	if (rc == ES_ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", c->path);
	if (!rc)
		rc = check_rules(c, r, err, errlen);
	if (rc) {
		pol_rules_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

unsigned pol_rule_count(const struct pol_rules *r) { return r ? r->n : 0; }

const char *pol_direction_name(enum pol_direction d)
{
	switch (d) {
	case POL_INBOUND: return "inbound";
	case POL_OUTBOUND: return "outbound";
	case POL_INTERNAL: return "internal";
	case POL_EXTERNAL: return "external";
	default: return "unknown";
	}
}

/* ---- matching ------------------------------------------------------------ */

static bool class_match(const char **pp, char c, bool ci)
{
	const char *p = *pp + 1;
	bool neg = *p == '!' || *p == '^', hit = false;
	if (neg)
		p++;
	if (ci && c >= 'A' && c <= 'Z')
		c = (char)(c + 32);
	do {
		char lo = *p, hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			p += 2;
		}
		if (ci && lo >= 'A' && lo <= 'Z')
			lo = (char)(lo + 32);
		if (ci && hi >= 'A' && hi <= 'Z')
			hi = (char)(hi + 32);
		hit |= c >= lo && c <= hi;
		p++;
	} while (*p != ']');
	*pp = p + 1;
	return hit != neg;
}

const char *pol_glob_check(const char *pat)
{
	for (const char *p = pat; *p; p++) {
		if (*p != '[')
			continue;
		p++;
		if (*p == '!' || *p == '^')
			p++;
		if (!*p || *p == ']')
			return "empty character class";
		while (*p && *p != ']')
			p++;
		if (!*p)
			return "missing ']'";
	}
	return NULL;
}

static bool chr_eq(char a, char b, bool ci)
{
	if (ci) {
		a = (char)(a >= 'A' && a <= 'Z' ? a + 32 : a);
		b = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
	}
	return a == b;
}

/* Iterative glob with backtracking to the last '*': linear space, no
 * recursion, O(len(pat) * len(s)) at worst. */
bool pol_glob_match(const char *p, const char *s, bool ci)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*p == '*') {
			star = ++p;
			resume = s;
			continue;
		}
		const char *q = p;
		bool ok = false;
		if (*p == '?') {
			ok = true;
			q++;
		} else if (*p == '[') {
			ok = class_match(&q, *s, ci);
		} else if (*p) {
			ok = chr_eq(*p, *s, ci);
			q++;
		}
		if (ok) {
			p = q;
			s++;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

static bool pat_match(const struct pol_pat *p, const char *s)
{
	if (p->kind == PAT_EXACT)
		return strcmp(p->s, s) == 0;
	if (p->kind == PAT_GLOB)
		return pol_glob_match(p->s, s, false);
	size_t n = strlen(s);
	uint64_t v;
	if ((p->width && n != p->width) || !all_digits(sl_make(s, n)) || sl_to_u64(sl_make(s, n), &v))
		return false;
	return v >= p->lo && v <= p->hi;
}

static bool list_match(const struct pol_list *l, const char *s)
{
	if (!s)
		return false;
	for (unsigned i = 0; i < l->n; i++)
		if (pat_match(&l->v[i], s))
			return true;
	return false;
}

static bool domain_match(const struct pol_list *l, const char *host)
{
	if (!host)
		return false;
	for (unsigned i = 0; i < l->n; i++)
		if (pol_glob_match(l->v[i].s, host, true))
			return true;
	return false;
}

static bool net_match(const struct pol_net *n, const struct es_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *ip = a->ip;
	if (a->family == ES_AF_INET6 && n->family == ES_AF_INET &&
	    memcmp(a->ip, mapped, 12) == 0)
		ip = a->ip + 12; /* ::ffff:10.1.2.3 is 10.1.2.3 */
	else if (a->family != n->family)
		return false;
	unsigned full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(ip, n->ip, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (ip[full] & mask) == (n->ip[full] & mask);
}

static bool party_local(const struct pol_rules *r, const char *user, const struct es_addr *a)
{
	if (list_match(&r->local_numbers, user))
		return true;
	if (!a || (a->family != ES_AF_INET && a->family != ES_AF_INET6))
		return false;
	for (unsigned i = 0; i < r->nnets; i++)
		if (net_match(&r->nets[i], a))
			return true;
	return false;
}

static enum pol_direction direction(const struct pol_rules *r, const struct pol_call *c)
{
	if (!r->have_local)
		return POL_DIR_UNKNOWN;
	bool a = party_local(r, c->caller_user, c->caller_addr);
	bool b = party_local(r, c->callee_user, c->callee_addr);
	if (a && b)
		return POL_INTERNAL;
	if (a)
		return POL_OUTBOUND;
	return b ? POL_INBOUND : POL_EXTERNAL;
}

struct pol_when {
	bool done;
	int minute; /* of the local day */
	int wday;   /* 0 = Sunday */
};

static void local_time(const struct pol_rules *r, int64_t us, struct pol_when *w)
{
	int64_t t = us >= 0 ? us / ES_US_PER_SEC : -((-us + ES_US_PER_SEC - 1) / ES_US_PER_SEC);
	w->done = true;
	if (r->tz) {
		int64_t lt = t + pol_tz_offset(r->tz, t);
		int64_t days = lt >= 0 ? lt / 86400 : -((-lt + 86399) / 86400);
		w->minute = (int)((lt - days * 86400) / 60);
		w->wday = (int)(((days % 7) + 11) % 7);
		return;
	}
	/* No [recording] timezone: the process's zone (TZ or /etc/localtime). */
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm)) {
		w->minute = 0;
		w->wday = 0;
		return;
	}
	w->minute = tm.tm_hour * 60 + tm.tm_min;
	w->wday = tm.tm_wday;
}

static bool rule_match(const struct pol_rules *r, const struct pol_rule *ru,
		       const struct pol_call *c, enum pol_direction dir, struct pol_when *w)
{
	if (ru->caller.n && !list_match(&ru->caller, c->caller_user))
		return false;
	if (ru->callee.n && !list_match(&ru->callee, c->callee_user))
		return false;
	if (ru->number.n && !list_match(&ru->number, c->caller_user) &&
	    !list_match(&ru->number, c->callee_user))
		return false;
	if (ru->domain.n && !domain_match(&ru->domain, c->caller_host) &&
	    !domain_match(&ru->domain, c->callee_host))
		return false;
	if (ru->dirs && ru->dirs != 0xff && !(ru->dirs & (1u << dir)))
		return false;
	if ((ru->days || ru->nwin) && !w->done)
		local_time(r, c->start_us, w);
	if (ru->days && !(ru->days & (1u << w->wday)))
		return false;
	if (!ru->nwin)
		return true;
	for (unsigned i = 0; i < ru->nwin; i++) {
		const struct pol_win *win = &ru->win[i];
		bool in = win->from < win->to ? w->minute >= win->from && w->minute < win->to
					      : w->minute >= win->from || w->minute < win->to;
		if (in)
			return true;
	}
	return false;
}

void pol_decide(const struct pol_rules *r, const struct pol_call *call, struct pol_decision *d)
{
	static const struct pol_pci no_pci;
	d->pci = &no_pci;
	d->record = true;
	d->rule = "default";
	d->sampled_out = false;
	d->direction = POL_DIR_UNKNOWN;
	d->consent = NULL;
	if (!r)
		return;
	d->direction = direction(r, call);
	d->record = r->default_record;
	if (list_match(&r->dnr, call->caller_user) || list_match(&r->dnr, call->callee_user)) {
		d->record = false;
		d->rule = "do-not-record";
		return;
	}
	struct pol_when w = {0};
	for (unsigned i = 0; i < r->n; i++) {
		const struct pol_rule *ru = &r->r[i];
		if (!rule_match(r, ru, call, d->direction, &w))
			continue;
		d->rule = ru->name;
		d->record = ru->action == 1;
		d->pci = &ru->pci;
		d->consent = ru->consent.mode != POL_CONSENT_NONE ? &ru->consent : NULL;
		if (d->record && ru->sample < 10000) {
			const char *id = call->call_id ? call->call_id : "";
			uint64_t h = es_hash(id, strlen(id), POL_SAMPLE_SEED);
			if (h % 10000 >= ru->sample) {
				d->record = false;
				d->sampled_out = true;
			}
		}
		return;
	}
}

/* ---- number lists for the other policies (retention.c) -------------------- */

int pol_list_parse(const struct es_conf *c, const struct es_conf_entry *e, struct pol_list *list,
		   char *err, size_t errlen)
{
	struct pol_load l = {.c = c, .e = e, .err = err, .errlen = errlen};
	return for_items(&l, add_pattern, list);
}

bool pol_list_match(const struct pol_list *l, const char *s) { return list_match(l, s); }

void pol_list_free(struct pol_list *l) { list_free(l); }
