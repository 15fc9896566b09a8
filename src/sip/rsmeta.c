/* rsmeta.c - SIPREC recording metadata (RFC 7865) through libxml2. */
#include "sip/rsmeta.h"
#include "sip/rsmeta_internal.h"

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One parse: the result, the error text and libxml2's first message. */
struct pctx {
	struct rsmeta *m;
	char *err;
	size_t errlen;
	char xmlmsg[160]; /* libxml2's first error, for the EPARSE text */
	bool have_xmlmsg;
	bool oom;
	unsigned count[9]; /* elements seen per enum el_kind */
};

/* Top-level children of <recording>, for the per-kind element bound. */
enum el_kind {
	EL_GROUP, EL_SESSION, EL_PART, EL_STREAM, EL_SRASSOC, EL_PSASSOC, EL_PSTASSOC,
	EL_DATAMODE, EL_OTHER,
};

static void seterr(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(struct pctx *c, const char *fmt, ...)
{
	if (!c->err || !c->errlen || c->err[0])
		return; /* keep the first reason */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

/* ---- libxml2 glue -------------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

/* Keep libxml2's first error (its messages end in a newline) instead of
 * letting it print to stderr. */
static void on_xml_error(void *data, xmlErrorPtr e)
{
	struct pctx *c = data;
	if (!c || !e || c->have_xmlmsg || e->level < XML_ERR_ERROR)
		return;
	const char *msg = e->message ? e->message : "error";
	size_t n = strcspn(msg, "\r\n");
	if (e->line > 0)
		snprintf(c->xmlmsg, sizeof(c->xmlmsg), "line %d: %.*s", e->line, (int)n, msg);
	else
		snprintf(c->xmlmsg, sizeof(c->xmlmsg), "%.*s", (int)n, msg);
	c->have_xmlmsg = true;
}

static void on_generic_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static bool is_el(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, RSMETA_NS) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static unsigned count_el(const xmlNode *n, const char *name)
{
	unsigned k = 0;
	for (const xmlNode *ch = n->children; ch; ch = ch->next)
		k += is_el(ch, name);
	return k;
}

/* An arena copy of s with surrounding XML white space dropped. */
static const char *dup_trim(struct pctx *c, const char *s)
{
	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	char *p = es_arena_alloc(&c->m->arena, n + 1);
	if (!p) {
		c->oom = true;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* The element's text (its descendants' text, trimmed); NULL when empty. */
static const char *text_of(struct pctx *c, const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *r = dup_trim(c, t ? (const char *)t : "");
	xmlFree(t);
	return r && *r ? r : NULL;
}

/* An unprefixed attribute, trimmed; NULL when absent or empty. */
static const char *attr_of(struct pctx *c, const xmlNode *n, const char *name)
{
	xmlChar *t = xmlGetNoNsProp(n, (const xmlChar *)name);
	if (!t)
		return NULL;
	const char *r = dup_trim(c, (const char *)t);
	xmlFree(t);
	return r && *r ? r : NULL;
}

/* xs:dateTime: es_time_parse() plus an optional +hh:mm / -hh:mm offset;
 * 0 when absent or unparseable (tolerated: times are informative). */
static int64_t parse_time(const char *s)
{
	char buf[64];
	int64_t us, off = 0;
	if (!s || strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	size_t n = strlen(buf);
	if (n > 16 && (buf[n - 6] == '+' || buf[n - 6] == '-') && buf[n - 3] == ':') {
		int h = atoi(buf + n - 5), mi = atoi(buf + n - 2);
		if (h > 23 || mi > 59)
			return 0;
		off = ((int64_t)h * 3600 + mi * 60) * ES_US_PER_SEC;
		if (buf[n - 6] == '-')
			off = -off;
		buf[n - 6] = '\0';
	}
	if (es_time_parse(buf, &us) || us == 0)
		return 0;
	return us - off;
}

static int64_t time_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (!is_el(ch, name))
			continue;
		xmlChar *t = xmlNodeGetContent(ch);
		char buf[64];
		size_t k = 0;
		for (const xmlChar *p = t; p && *p && k + 1 < sizeof(buf); p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				buf[k++] = (char)*p;
		buf[k] = '\0';
		xmlFree(t);
		return parse_time(buf);
	}
	return 0;
}

/* ---- arrays in the arena -------------------------------------------------- */

/* arr with room for element n (doubling into the arena; the old array is
 * left there); NULL with *rc set on ES_ELIMIT / ES_ENOMEM. */
static void *grow(struct es_arena *a, void *arr, unsigned n, unsigned *cap, size_t elsz,
		  unsigned max, int *rc)
{
	if (n < *cap)
		return arr;
	if (n >= max) {
		*rc = ES_ELIMIT;
		return NULL;
	}
	unsigned ncap = *cap ? *cap * 2 : 4;
	if (ncap > max)
		ncap = max;
	void *p = es_arena_alloc(a, (size_t)ncap * elsz);
	if (!p) {
		*rc = ES_ENOMEM;
		return NULL;
	}
	if (n)
		memcpy(p, arr, (size_t)n * elsz);
	memset((char *)p + (size_t)n * elsz, 0, (size_t)(ncap - n) * elsz);
	*cap = ncap;
	return p;
}

/* Find-or-add by id for each top-level kind: the id is copied on add. */
#define DEFINE_GET(fn, type, arr, n, cap) \
	type *fn(struct rsmeta *m, const char *id, bool *added, int *rc) \
	{ \
		for (unsigned i = 0; i < m->n; i++) \
			if (strcmp(m->arr[i].id, id) == 0) \
				return &m->arr[i]; \
		type *a = grow(&m->arena, m->arr, m->n, &m->cap, sizeof(type), RSMETA_MAX_ELEMS, rc); \
		if (!a) \
			return NULL; \
		m->arr = a; \
		bool oom = false; \
		type *e = &m->arr[m->n]; \
		memset(e, 0, sizeof(*e)); \
		e->id = es_arena_strdup(&m->arena, id, &oom); \
		if (oom) { \
			*rc = ES_ENOMEM; \
			return NULL; \
		} \
		m->n++; \
		if (added) \
			*added = true; \
		return e; \
	}
DEFINE_GET(rsm_group_get, struct rsmeta_group, groups, ngroups, cap_groups)
DEFINE_GET(rsm_session_get, struct rsmeta_session, sessions, nsessions, cap_sessions)
DEFINE_GET(rsm_part_get, struct rsmeta_participant, parts, nparts, cap_parts)
DEFINE_GET(rsm_stream_get, struct rsmeta_stream, streams, nstreams, cap_streams)

struct rsmeta_psess *rsm_psess_get(struct es_arena *a, struct rsmeta_participant *p,
				      const char *session_id, int *rc)
{
	for (unsigned i = 0; i < p->nsessions; i++)
		if (strcmp(p->sessions[i].session_id, session_id) == 0)
			return &p->sessions[i];
	struct rsmeta_psess *s = grow(a, p->sessions, p->nsessions, &p->cap_sessions,
				      sizeof(*s), RSMETA_MAX_ELEMS, rc);
	if (!s)
		return NULL;
	p->sessions = s;
	bool oom = false;
	s = &p->sessions[p->nsessions];
	memset(s, 0, sizeof(*s));
	s->session_id = es_arena_strdup(a, session_id, &oom);
	if (oom) {
		*rc = ES_ENOMEM;
		return NULL;
	}
	p->nsessions++;
	return s;
}

/* ---- AOR -> number ---------------------------------------------------------- */

/* The user part of a sip:/sips:/tel: AOR (RFC 3261 19.1.1, RFC 3966);
 * phone-number visual separators are dropped. */
static const char *aor_number(struct pctx *c, const char *aor)
{
	const char *p = aor;
	if (*p == '<')
		p++;
	size_t n;
	if (strncasecmp(p, "sip:", 4) == 0 || strncasecmp(p, "sips:", 5) == 0) {
		p += p[3] == ':' ? 4 : 5;
		const char *at = strchr(p, '@');
		if (!at)
			return NULL;
		n = (size_t)(at - p);
		n = strcspn(p, ";:@") < n ? strcspn(p, ";:@") : n; /* drop password, params */
	} else if (strncasecmp(p, "tel:", 4) == 0) {
		p += 4;
		n = strcspn(p, ";>");
	} else {
		return NULL;
	}
	if (n == 0)
		return NULL;
	bool phone = true, digit = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			digit = true;
		else if (!strchr("+-.() ", p[i]) || (p[i] == '+' && i))
			phone = false;
	}
	char *out = es_arena_alloc(&c->m->arena, n + 1);
	if (!out) {
		c->oom = true;
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!(phone && digit) || !strchr("-.() ", p[i]))
			out[k++] = p[i];
	out[k] = '\0';
	return k ? out : NULL;
}

/* ---- elements (RFC 7865 4, 5) ------------------------------------------------ */

static int need_id(struct pctx *c, const char *id, const char *el, const char *attr)
{
	if (id)
		return 0;
	seterr(c, "<%s> without its %s attribute", el, attr);
	return c->oom ? ES_ENOMEM : ES_EPARSE;
}

static int el_group(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *id = attr_of(c, n, "group_id");
	if ((rc = need_id(c, id, "group", "group_id")))
		return rc;
	struct rsmeta_group *g = rsm_group_get(c->m, id, NULL, &rc);
	if (!g)
		return rc;
	int64_t t = time_child(n, "associate-time");
	if (t)
		g->associate_us = t;
	return 0;
}

static int el_session(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *id = attr_of(c, n, "session_id");
	if ((rc = need_id(c, id, "session", "session_id")))
		return rc;
	struct rsmeta_session *s = rsm_session_get(c->m, id, NULL, &rc);
	if (!s)
		return rc;
	const char *gid = attr_of(c, n, "group_id"); /* pre-RFC drafts */
	if (gid)
		s->group_id = gid;
	unsigned k = count_el(n, "sipSessionID");
	if (k > RSMETA_MAX_LIST) {
		seterr(c, "session %s has %u sipSessionIDs, more than %u", id, k, RSMETA_MAX_LIST);
		return ES_ELIMIT;
	}
	if (k) {
		s->sip_session_ids = es_arena_alloc(&c->m->arena, k * sizeof(char *));
		if (!s->sip_session_ids)
			return ES_ENOMEM;
		s->nsip_session_ids = 0;
	}
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (is_el(ch, "sipSessionID")) {
			const char *v = text_of(c, ch);
			if (v)
				s->sip_session_ids[s->nsip_session_ids++] = v;
		} else if (is_el(ch, "group-ref")) {
			const char *v = text_of(c, ch);
			if (v)
				s->group_id = v;
		}
	}
	int64_t t;
	if ((t = time_child(n, "start-time")))
		s->start_us = t;
	if ((t = time_child(n, "stop-time")))
		s->stop_us = t;
	return c->oom ? ES_ENOMEM : 0;
}

static int el_nameid(struct pctx *c, const xmlNode *n, struct rsmeta_nameid *ni)
{
	ni->aor = attr_of(c, n, "aor");
	if (ni->aor)
		ni->number = aor_number(c, ni->aor);
	unsigned k = count_el(n, "name");
	if (k > RSMETA_MAX_LIST) {
		seterr(c, "nameID with %u names, more than %u", k, RSMETA_MAX_LIST);
		return ES_ELIMIT;
	}
	if (k && !(ni->names = es_arena_alloc(&c->m->arena, k * sizeof(*ni->names))))
		return ES_ENOMEM;
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (!is_el(ch, "name"))
			continue;
		const char *v = text_of(c, ch);
		if (!v)
			continue;
		struct rsmeta_name *nm = &ni->names[ni->nnames++];
		nm->name = v;
		nm->lang = NULL;
		xmlChar *lang = xmlGetNsProp(ch, (const xmlChar *)"lang", XML_XML_NAMESPACE);
		if (lang) {
			nm->lang = dup_trim(c, (const char *)lang);
			xmlFree(lang);
		}
	}
	return c->oom ? ES_ENOMEM : 0;
}

/* Point the aor/name/number shortcuts at the first nameID that has each. */
void rsm_part_shortcuts(struct rsmeta_participant *p)
{
	p->aor = p->name = p->number = NULL;
	for (unsigned i = 0; i < p->nnameids; i++) {
		const struct rsmeta_nameid *ni = &p->nameids[i];
		if (!p->aor)
			p->aor = ni->aor;
		if (!p->number)
			p->number = ni->number;
		if (!p->name && ni->nnames)
			p->name = ni->names[0].name;
	}
}

static bool is_consent(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, RSMETA_CONSENT_NS) == 0 &&
	       strcmp((const char *)n->name, "consent") == 0;
}

/* The consent extension of a participant (RSMETA_CONSENT_NS), strictly. */
static int part_consent(struct pctx *c, const xmlNode *n, const char *id,
			struct rsmeta_participant *p)
{
	bool seen = false;
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (!is_consent(ch))
			continue;
		if (seen) {
			seterr(c, "participant %.60s has more than one <consent>", id);
			return ES_EPARSE;
		}
		seen = true;
		const char *v = text_of(c, ch);
		if (c->oom)
			return ES_ENOMEM;
		if (v && strcmp(v, "yes") == 0)
			p->consent = RSMETA_CONSENT_YES;
		else if (v && strcmp(v, "no") == 0)
			p->consent = RSMETA_CONSENT_NO;
		else {
			seterr(c, "participant %.60s: <consent> must be yes or no", id);
			return ES_EPARSE;
		}
	}
	return 0;
}

static int el_participant(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *id = attr_of(c, n, "participant_id");
	if ((rc = need_id(c, id, "participant", "participant_id")))
		return rc;
	struct rsmeta_participant *p = rsm_part_get(c->m, id, NULL, &rc);
	if (!p)
		return rc;
	unsigned k = count_el(n, "nameID");
	if (k > RSMETA_MAX_LIST) {
		seterr(c, "participant %s has %u nameIDs, more than %u", id, k, RSMETA_MAX_LIST);
		return ES_ELIMIT;
	}
	p->has_names = true;
	p->nameids = NULL;
	p->nnameids = 0;
	if (k && !(p->nameids = es_arena_alloc(&c->m->arena, k * sizeof(*p->nameids))))
		return ES_ENOMEM;
	for (const xmlNode *ch = n->children; ch; ch = ch->next) {
		if (!is_el(ch, "nameID"))
			continue;
		struct rsmeta_nameid *ni = &p->nameids[p->nnameids++];
		memset(ni, 0, sizeof(*ni));
		if ((rc = el_nameid(c, ch, ni)))
			return rc;
	}
	rsm_part_shortcuts(p);
	return part_consent(c, n, id, p);
}

static int el_stream(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *id = attr_of(c, n, "stream_id");
	if ((rc = need_id(c, id, "stream", "stream_id")))
		return rc;
	struct rsmeta_stream *s = rsm_stream_get(c->m, id, NULL, &rc);
	if (!s)
		return rc;
	const char *sid = attr_of(c, n, "session_id");
	if (sid)
		s->session_id = sid;
	for (const xmlNode *ch = n->children; ch; ch = ch->next)
		if (is_el(ch, "label")) {
			const char *v = text_of(c, ch);
			if (v)
				s->label = v;
		}
	return c->oom ? ES_ENOMEM : 0;
}

static int el_srassoc(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *id = attr_of(c, n, "session_id");
	if ((rc = need_id(c, id, "sessionrecordingassoc", "session_id")))
		return rc;
	struct rsmeta_session *s = rsm_session_get(c->m, id, NULL, &rc);
	if (!s)
		return rc;
	int64_t t;
	if ((t = time_child(n, "associate-time")))
		s->associate_us = t;
	if ((t = time_child(n, "disassociate-time")))
		s->disassociate_us = t;
	return 0;
}

static int el_psassoc(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *pid = attr_of(c, n, "participant_id");
	const char *sid = attr_of(c, n, "session_id");
	if ((rc = need_id(c, pid, "participantsessionassoc", "participant_id")) ||
	    (rc = need_id(c, sid, "participantsessionassoc", "session_id")))
		return rc;
	struct rsmeta_participant *p = rsm_part_get(c->m, pid, NULL, &rc);
	struct rsmeta_psess *ps = p ? rsm_psess_get(&c->m->arena, p, sid, &rc) : NULL;
	if (!ps)
		return rc;
	int64_t t;
	if ((t = time_child(n, "associate-time")))
		ps->associate_us = t;
	if ((t = time_child(n, "disassociate-time")))
		ps->disassociate_us = t;
	return 0;
}

/* The <send> or <recv> children of n as an arena array. */
static int id_list(struct pctx *c, const xmlNode *n, const char *name, const char ***out,
		   unsigned *nout)
{
	unsigned k = count_el(n, name);
	*out = NULL;
	*nout = 0;
	if (k > RSMETA_MAX_LIST) {
		seterr(c, "participantstreamassoc with %u <%s>, more than %u", k, name, RSMETA_MAX_LIST);
		return ES_ELIMIT;
	}
	if (!k)
		return 0;
	const char **v = es_arena_alloc(&c->m->arena, k * sizeof(*v));
	if (!v)
		return ES_ENOMEM;
	unsigned j = 0;
	for (const xmlNode *ch = n->children; ch; ch = ch->next)
		if (is_el(ch, name)) {
			const char *s = text_of(c, ch);
			if (s)
				v[j++] = s;
		}
	*out = v;
	*nout = j;
	return c->oom ? ES_ENOMEM : 0;
}

static int el_pstassoc(struct pctx *c, const xmlNode *n)
{
	int rc = 0;
	const char *pid = attr_of(c, n, "participant_id");
	if ((rc = need_id(c, pid, "participantstreamassoc", "participant_id")))
		return rc;
	struct rsmeta_participant *p = rsm_part_get(c->m, pid, NULL, &rc);
	if (!p)
		return rc;
	p->has_streams = true;
	if ((rc = id_list(c, n, "send", &p->send, &p->nsend)))
		return rc;
	return id_list(c, n, "recv", &p->recv, &p->nrecv);
}

static int el_datamode(struct pctx *c, const xmlNode *n)
{
	const char *v = text_of(c, n);
	if (v && strcmp(v, "complete") == 0)
		c->m->datamode = RSMETA_COMPLETE;
	else if (v && strcmp(v, "partial") == 0)
		c->m->datamode = RSMETA_PARTIAL;
	else {
		seterr(c, "datamode \"%.32s\" is neither complete nor partial", v ? v : "");
		return c->oom ? ES_ENOMEM : ES_EPARSE;
	}
	return 0;
}

static const struct {
	const char *name;
	enum el_kind kind;
	int (*fn)(struct pctx *c, const xmlNode *n);
} elements[] = {
	{"datamode", EL_DATAMODE, el_datamode},
	{"group", EL_GROUP, el_group},
	{"session", EL_SESSION, el_session},
	{"participant", EL_PART, el_participant},
	{"stream", EL_STREAM, el_stream},
	{"sessionrecordingassoc", EL_SRASSOC, el_srassoc},
	{"participantsessionassoc", EL_PSASSOC, el_psassoc},
	{"participantstreamassoc", EL_PSTASSOC, el_pstassoc},
};

/* The element table's index of n, or -1. */
static int el_index(const xmlNode *n)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(elements); i++)
		if (is_el(n, elements[i].name))
			return (int)i;
	return -1;
}

static int walk(struct pctx *c, const xmlNode *root)
{
	/* Count first, so that a flood is refused as such before any of its
	 * elements is looked at. */
	for (const xmlNode *ch = root->children; ch; ch = ch->next) {
		int i = el_index(ch);
		if (i >= 0 && ++c->count[elements[i].kind] > RSMETA_MAX_ELEMS) {
			seterr(c, "more than %u <%s> elements", RSMETA_MAX_ELEMS, elements[i].name);
			return ES_ELIMIT;
		}
	}
	for (const xmlNode *ch = root->children; ch; ch = ch->next) {
		for (size_t i = 0; i < ES_ARRAY_LEN(elements); i++) {
			if (!is_el(ch, elements[i].name))
				continue;
			int rc = elements[i].fn(c, ch);
			if (rc == ES_ELIMIT)
				seterr(c, "more than %u participants, sessions, streams or groups",
				       RSMETA_MAX_ELEMS);
			if (rc == ES_ENOMEM)
				seterr(c, "out of memory");
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}

/* The original call's Call-ID.  RFC 7865 has no element for it (only
 * sipSessionID), so SRCs carry it in extension data of their own namespace
 * (RFC 7865 6): the first element outside RSMETA_NS whose local name is
 * callid, call-id or call_id (any case), searched depth first with bounds,
 * gives it. */
static bool is_callid_name(const char *n)
{
	return strcasecmp(n, "callid") == 0 || strcasecmp(n, "call-id") == 0 ||
	       strcasecmp(n, "call_id") == 0;
}

static const char *find_call_id(struct pctx *c, const xmlNode *n, unsigned depth,
				unsigned *budget)
{
	for (const xmlNode *ch = n->children; ch && *budget; ch = ch->next, (*budget)--) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		bool ours = ch->ns && ch->ns->href &&
			    strcmp((const char *)ch->ns->href, RSMETA_NS) == 0;
		if (!ours && is_callid_name((const char *)ch->name)) {
			const char *v = text_of(c, ch);
			if (v && strlen(v) <= 256)
				return v;
		}
		if (depth < 8) {
			const char *v = find_call_id(c, ch, depth + 1, budget);
			if (v)
				return v;
		}
	}
	return NULL;
}

/* ---- parse ----------------------------------------------------------------- */

/* Refuse what could make libxml2 read the bytes in another encoding than
 * UTF-8 (a NUL means UTF-16/32, a first byte other than '<' EBCDIC or worse),
 * so that the DOCTYPE scan below sees what the parser sees. */
static int precheck(struct pctx *c, const char *xml, size_t len)
{
	if (len > RSMETA_MAX_INPUT) {
		seterr(c, "metadata is %zu bytes, more than the %u allowed", len, RSMETA_MAX_INPUT);
		return ES_ELIMIT;
	}
	size_t i = 0;
	if (len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (xml[i] == ' ' || xml[i] == '\t' || xml[i] == '\r' || xml[i] == '\n'))
		i++;
	if (i == len) {
		seterr(c, "empty metadata");
		return ES_EPARSE;
	}
	if (xml[i] != '<' || memchr(xml, '\0', len)) {
		seterr(c, "not XML in UTF-8 (must start with '<' and hold no NUL byte)");
		return ES_EPARSE;
	}
	/* RFC 7865 has no DTD; a DOCTYPE only serves entity tricks (XXE,
	 * billion laughs).  Refused before libxml2 sees it. */
	if (memmem(xml, len, "<!DOCTYPE", 9)) {
		seterr(c, "DOCTYPE not allowed in recording metadata (entities refused)");
		return ES_EPARSE;
	}
	return 0;
}

int rsmeta_parse(struct rsmeta *out, const char *xml, size_t len, char *err, size_t errlen)
{
	struct pctx c = {.m = out, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!out || (!xml && len)) {
		seterr(&c, "bad arguments");
		return ES_EINVAL;
	}
	memset(out, 0, sizeof(*out));
	int rc = precheck(&c, xml, len);
	if (rc)
		return rc;
	pthread_once(&xml_once, xml_init);

	/* Both handlers are per thread in libxml2; restore the caller's. */
	xmlStructuredErrorFunc old_s = xmlStructuredError;
	void *old_sctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc old_g = xmlGenericError;
	void *old_gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(&c, on_xml_error);
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	/* No NOENT (no entity substitution), no DTDLOAD/DTDATTR/DTDVALID (no
	 * external subset), NONET; the declared encoding is ignored: UTF-8. */
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "rs-metadata.xml", "UTF-8",
				      XML_PARSE_NONET | XML_PARSE_IGNORE_ENC | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(old_sctx, old_s);
	xmlSetGenericErrorFunc(old_gctx, old_g);

	if (!doc) {
		seterr(&c, "not well-formed XML: %s", c.have_xmlmsg ? c.xmlmsg : "parse failed");
		rc = ES_EPARSE;
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		seterr(&c, "DOCTYPE not allowed in recording metadata (entities refused)");
		rc = ES_EPARSE;
		goto out;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || strcmp((const char *)root->name, "recording") != 0) {
		seterr(&c, "root element is <%.40s>, not <recording>",
		       root ? (const char *)root->name : "");
		rc = ES_EPARSE;
		goto out;
	}
	if (!root->ns || !root->ns->href || strcmp((const char *)root->ns->href, RSMETA_NS) != 0) {
		seterr(&c, "<recording> is in namespace \"%.60s\", not " RSMETA_NS,
		       root->ns && root->ns->href ? (const char *)root->ns->href : "");
		rc = ES_EPARSE;
		goto out;
	}
	rc = walk(&c, root);
	if (!rc) {
		unsigned budget = 4 * RSMETA_MAX_ELEMS;
		out->call_id = find_call_id(&c, root, 0, &budget);
	}
	if (!rc && c.oom) {
		seterr(&c, "out of memory");
		rc = ES_ENOMEM;
	}
out:
	xmlFreeDoc(doc);
	return rc;
}

void rsmeta_free(struct rsmeta *m)
{
	if (!m)
		return;
	es_arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
}

const char *rsmeta_datamode_name(enum rsmeta_datamode d)
{
	return d == RSMETA_PARTIAL ? "partial" : "complete";
}
