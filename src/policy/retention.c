/*
 * retention.c - retention policies (policy.h): which recordings are kept how
 * long.  Built once from the configuration, then read-only; deciding
 * allocates nothing.
 */
#include "policy.h"
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A comma list of words (rule globs, sources, tags, flags), as written. */
struct ret_words {
	char **v;
	unsigned n;
};

struct ret_policy {
	char name[POL_RET_NAME_MAX + 1];
	const char *section;
	unsigned line;
	struct ret_words rule, source, tag, flag;
	struct pol_list caller, callee, number;
	struct pol_span keep, del;
	bool has_keep, has_del;
	bool drop_metadata;
};

struct pol_retention {
	struct ret_policy *p;
	unsigned n;
	struct ret_policy def; /* [retention default], or keep-forever */
	uint64_t max_bytes;
};

/* ---- durations ----------------------------------------------------------- */

const char *pol_span_parse(const char *s, bool never_ok, struct pol_span *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return "empty duration";
	if (!strcasecmp(s, "never")) {
		if (!never_ok)
			return "never is only for delete_after";
		out->never = true;
		return NULL;
	}
	uint64_t n = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > 100000)
			return "duration too long";
	}
	if (!i)
		return "a duration is a number and a unit: 90d, 2w, 18m, 7y";
	if (!s[i] && n == 0)
		return NULL; /* "0": no minimum */
	if (!s[i])
		return "a duration needs a unit: d, w, m (months) or y";
	if (s[i + 1] || !strchr("dwmy", s[i]))
		return "unknown duration unit (d, w, m for months, y)";
	out->n = (unsigned)n;
	out->u = s[i];
	return NULL;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 1 && leap(y) ? 29 : d[m];
}

int64_t pol_span_add(int64_t t_us, const struct pol_span *sp)
{
	if (sp->never)
		return 0;
	if (!sp->n)
		return t_us;
	if (sp->u == 'd' || sp->u == 'w')
		return t_us + (int64_t)sp->n * (sp->u == 'w' ? 7 : 1) * 86400 * ES_US_PER_SEC;
	time_t t = (time_t)(t_us / ES_US_PER_SEC);
	int64_t frac = t_us % ES_US_PER_SEC;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return t_us;
	int64_t months = (int64_t)tm.tm_mon + (int64_t)sp->n * (sp->u == 'y' ? 12 : 1);
	tm.tm_year += (int)(months / 12);
	tm.tm_mon = (int)(months % 12);
	int md = month_days(tm.tm_year + 1900, tm.tm_mon);
	if (tm.tm_mday > md)
		tm.tm_mday = md; /* Jan 31 + 1m = Feb 28/29 */
	return (int64_t)timegm(&tm) * ES_US_PER_SEC + frac;
}

/* ---- loading --------------------------------------------------------------- */

static void words_free(struct ret_words *w)
{
	for (unsigned i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static void policy_free(struct ret_policy *p)
{
	words_free(&p->rule);
	words_free(&p->source);
	words_free(&p->tag);
	words_free(&p->flag);
	pol_list_free(&p->caller);
	pol_list_free(&p->callee);
	pol_list_free(&p->number);
}

void pol_retention_free(struct pol_retention *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		policy_free(&r->p[i]);
	policy_free(&r->def);
	free(r->p);
	free(r);
}

static int ferr(char *err, size_t errlen, const struct es_conf *c, const struct es_conf_entry *e,
		const char *why, const char *arg)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s:%u: [%s] %s: ", c->path, e->line, e->section,
				 e->key);
		if (n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, why, arg);
	}
	return ES_EPARSE;
}

static int words_parse(const char *v, struct ret_words *w, bool glob)
{
	struct slice rest = sl_cstr(v), it;
	bool more;
	do {
		more = sl_split(rest, ',', &it, &rest);
		it = sl_trim(it);
		if (!it.len)
			return ES_EPARSE;
		void *p = realloc(w->v, (w->n + 1) * sizeof(*w->v));
		if (!p)
			return ES_ENOMEM;
		w->v = p;
		if (!(w->v[w->n] = sl_strdup(it)))
			return ES_ENOMEM;
		w->n++;
		if (glob && pol_glob_check(w->v[w->n - 1]))
			return ES_EPARSE;
	} while (more);
	return 0;
}

static bool name_ok(struct slice n)
{
	if (!n.len || n.len > POL_RET_NAME_MAX)
		return false;
	for (size_t i = 0; i < n.len; i++) {
		char ch = n.p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int policy_key(const struct es_conf *c, const struct es_conf_entry *e,
		      struct ret_policy *p, bool is_default, char *err, size_t errlen)
{
	const char *k = e->key, *why;
	int rc;
	struct ret_words *w = !strcmp(k, "rule") ? &p->rule
			      : !strcmp(k, "source") ? &p->source
			      : !strcmp(k, "tag") ? &p->tag
			      : !strcmp(k, "flag") ? &p->flag : NULL;
	struct pol_list *l = !strcmp(k, "caller") ? &p->caller
			     : !strcmp(k, "callee") ? &p->callee
			     : !strcmp(k, "number") ? &p->number : NULL;
	if ((w || l) && is_default)
		return ferr(err, errlen, c, e, "%s", "the default policy takes the rest: no conditions");
	if (w) {
		rc = words_parse(e->value, w, w == &p->rule);
		return rc == ES_EPARSE ? ferr(err, errlen, c, e, "bad list '%s'", e->value) : rc;
	}
	if (l)
		return pol_list_parse(c, e, l, err, errlen);
	if ((!strcmp(k, "keep") && p->has_keep) || (!strcmp(k, "delete_after") && p->has_del))
		return ferr(err, errlen, c, e, "%s", "given twice for this policy");
	if (!strcmp(k, "keep")) {
		if ((why = pol_span_parse(e->value, false, &p->keep)))
			return ferr(err, errlen, c, e, "%s", why);
		p->has_keep = true;
		return 0;
	}
	if (!strcmp(k, "delete_after")) {
		if ((why = pol_span_parse(e->value, true, &p->del)))
			return ferr(err, errlen, c, e, "%s", why);
		p->has_del = true;
		return 0;
	}
	if (!strcmp(k, "drop_metadata")) {
		const char *v = e->value;
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
			p->drop_metadata = true;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
			p->drop_metadata = false;
		else
			return ferr(err, errlen, c, e, "'%s' is not yes or no", v);
		return 0;
	}
	return ferr(err, errlen, c, e, "%s", "unknown key");
}

/* Does keep end after delete_after from some start?  Tried from the ends of
 * months of a leap and a common year, where calendar spans differ most. */
static bool keep_longer(const struct pol_span *keep, const struct pol_span *del)
{
	static const int64_t starts[] = {951782400, 954460800, 1706659200, 1738281600};
	if (del->never || !keep->n)
		return false;
	for (size_t i = 0; i < ES_ARRAY_LEN(starts); i++) {
		int64_t t = starts[i] * ES_US_PER_SEC;
		if (pol_span_add(t, keep) > pol_span_add(t, del))
			return true;
	}
	return false;
}

static int check_policy(const struct es_conf *c, const struct ret_policy *p, char *err,
			size_t errlen)
{
	const char *why = NULL;
	if (!p->has_del)
		why = "has no delete_after (a duration, or never)";
	else if (p->has_keep && keep_longer(&p->keep, &p->del))
		why = "deletes before its minimum: delete_after is shorter than keep";
	if (why && err && errlen)
		snprintf(err, errlen, "%s:%u: [retention %s] %s", c->path, p->line, p->name, why);
	return why ? ES_EPARSE : 0;
}

static int load_section(const struct es_conf *c, const struct es_conf_entry *e,
			struct pol_retention *r, char *err, size_t errlen)
{
	struct slice name = sl_trim(sl_cstr(e->section + 9));
	if (!name.len) {
		if (strcmp(e->key, "max_bytes"))
			return ferr(err, errlen, c, e, "%s", "unknown key (only max_bytes here)");
		int rc = es_conf_size(c, e->section, "max_bytes", &r->max_bytes, err, errlen);
		return rc ? ES_EPARSE : 0;
	}
	char nm[POL_RET_NAME_MAX + 1];
	sl_copy(nm, sizeof(nm), name);
	if (!name_ok(name))
		return ferr(err, errlen, c, e, "bad policy name '%s' (1-40 of a-z 0-9 _ -)", nm);
	bool is_def = !strcmp(nm, "default");
	struct ret_policy *p = NULL;
	if (is_def) {
		p = &r->def;
	} else if (r->n && r->p[r->n - 1].section == e->section) {
		p = &r->p[r->n - 1];
	} else {
		for (unsigned i = 0; i < r->n; i++)
			if (!strcmp(r->p[i].name, nm)) {
				if (err && errlen)
					snprintf(err, errlen, "%s:%u: duplicate [retention %s] (first at line %u)",
						 c->path, e->line, nm, r->p[i].line);
				return ES_EPARSE;
			}
		void *v = realloc(r->p, (r->n + 1) * sizeof(*r->p));
		if (!v)
			return ES_ENOMEM;
		r->p = v;
		p = &r->p[r->n++];
		memset(p, 0, sizeof(*p));
	}
	if (p->section && p->section != e->section && is_def) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%u: duplicate [retention default] (first at line %u)",
				 c->path, e->line, p->line);
		return ES_EPARSE;
	}
	if (!p->section) {
		p->section = e->section;
		p->line = e->line;
		snprintf(p->name, sizeof(p->name), "%s", nm);
	}
	return policy_key(c, e, p, is_def, err, errlen);
}

int pol_retention_from_conf(struct pol_retention **out, const struct es_conf *c, char *err,
			    size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	struct pol_retention *r = calloc(1, sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	snprintf(r->def.name, sizeof(r->def.name), "default");
	r->def.del.never = true;
	int rc = 0;
	for (size_t i = 0; i < c->n && !rc; i++) {
		const char *sec = c->e[i].section;
		if (!strncasecmp(sec, "retention", 9) && (!sec[9] || sec[9] == ' ' || sec[9] == '\t'))
			rc = load_section(c, &c->e[i], r, err, errlen);
	}
	for (unsigned i = 0; i < r->n && !rc; i++)
		rc = check_policy(c, &r->p[i], err, errlen);
	if (!rc && r->def.section)
		rc = check_policy(c, &r->def, err, errlen);
	if (rc == ES_ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", c->path);
	if (rc) {
		pol_retention_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* ---- deciding -------------------------------------------------------------- */

/* Is one of the comma list's items (any case) matched by one of w's words? */
static bool words_match(const struct ret_words *w, const char *list, bool glob)
{
	if (!list)
		return false;
	struct slice rest = sl_cstr(list), it;
	bool more;
	char one[128];
	do {
		more = sl_split(rest, ',', &it, &rest);
		sl_copy(one, sizeof(one), sl_trim(it));
		for (unsigned i = 0; i < w->n; i++)
			if (glob ? pol_glob_match(w->v[i], one, true) : !strcasecmp(w->v[i], one))
				return true;
	} while (more);
	return false;
}

static bool policy_match(const struct ret_policy *p, const struct pol_ret_call *c)
{
	if (p->rule.n && !words_match(&p->rule, c->rule, true))
		return false;
	if (p->source.n && !words_match(&p->source, c->source, false))
		return false;
	if (p->tag.n && !words_match(&p->tag, c->tags, false))
		return false;
	if (p->flag.n && !words_match(&p->flag, c->flags, false))
		return false;
	if (p->caller.n && !pol_list_match(&p->caller, c->caller))
		return false;
	if (p->callee.n && !pol_list_match(&p->callee, c->callee))
		return false;
	if (p->number.n && !pol_list_match(&p->number, c->caller) &&
	    !pol_list_match(&p->number, c->callee))
		return false;
	return true;
}

void pol_retention_decide(const struct pol_retention *r, const struct pol_ret_call *call,
			  struct pol_ret_decision *d)
{
	static const struct ret_policy forever = {.name = "default", .del = {.never = true}};
	const struct ret_policy *p = r ? &r->def : &forever;
	for (unsigned i = 0; r && i < r->n; i++)
		if (policy_match(&r->p[i], call)) {
			p = &r->p[i];
			break;
		}
	d->policy = p->name;
	d->keep_until_us = p->keep.n ? pol_span_add(call->start_us, &p->keep) : 0;
	d->retain_until_us = pol_span_add(call->start_us, &p->del);
	if (d->retain_until_us && d->retain_until_us < d->keep_until_us)
		d->retain_until_us = d->keep_until_us;
	d->drop_metadata = p->drop_metadata;
}

bool pol_retention_known(const struct pol_retention *r, const char *name, bool *drop_metadata)
{
	const struct ret_policy *p = NULL;
	if (name && !strcmp(name, "default"))
		p = r ? &r->def : NULL;
	for (unsigned i = 0; r && name && !p && i < r->n; i++)
		if (!strcmp(r->p[i].name, name))
			p = &r->p[i];
	if (drop_metadata)
		*drop_metadata = p && p->drop_metadata;
	return p || (name && !strcmp(name, "default"));
}

uint64_t pol_retention_max_bytes(const struct pol_retention *r) { return r ? r->max_bytes : 0; }
