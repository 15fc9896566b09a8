/*
 * test_rsmeta.c - SIPREC recording metadata (RFC 7865): the documents of
 * tests/data/siprec/ (reconstructions of the RFC 7865 / RFC 7866 examples
 * and two written for earshot), partial-update merges, and hostile input
 * (XXE, billion laughs, size and count bombs, deep nesting), each of which
 * must fail with a clear message, quickly.
 */
#include "check.h"
#include "sip/rsmeta.h"

#include <stdlib.h>

#define DATA ES_SOURCE_DIR "/tests/data/siprec/"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	char *p = malloc(RSMETA_MAX_INPUT + 1);
	*len = p ? fread(p, 1, RSMETA_MAX_INPUT, f) : 0;
	fclose(f);
	return p;
}

/* Parse a file of tests/data/siprec/; 0 on success. */
static int parse_file(struct rsmeta *m, const char *name)
{
	char path[512], err[256];
	size_t len = 0;
	snprintf(path, sizeof(path), DATA "%s", name);
	char *xml = slurp(path, &len);
	if (!xml) {
		memset(m, 0, sizeof(*m));
		return ES_EIO;
	}
	int rc = rsmeta_parse(m, xml, len, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s: %s\n", name, err);
	free(xml);
	return rc;
}

static const char *sender_name(const struct rsmeta *m, const char *label)
{
	const struct rsmeta_participant *p = rsmeta_sender_of_label(m, label);
	return p ? (p->name ? p->name : p->id) : "(none)";
}

static void test_rfc7865_complete(void)
{
	struct rsmeta m;
	CHECK_INT(parse_file(&m, "rfc7865-complete.xml"), 0);
	CHECK_INT(m.datamode, RSMETA_COMPLETE);
	CHECK_INT(m.ngroups, 1);
	CHECK_INT(m.nsessions, 1);
	CHECK_INT(m.nparts, 2);
	CHECK_INT(m.nstreams, 2);
	if (m.ngroups == 1) {
		CHECK_STR(m.groups[0].id, "7+OTCyoxTmqmqyA/1weDAg==");
		CHECK(m.groups[0].associate_us == INT64_C(1292542867) * ES_US_PER_SEC);
	}
	const struct rsmeta_session *s = rsmeta_session_find(&m, "hVpd7YQgRW2nD22h7q60JQ==");
	CHECK(s != NULL);
	if (s) {
		CHECK_STR(s->group_id, "7+OTCyoxTmqmqyA/1weDAg==");
		CHECK_INT(s->nsip_session_ids, 1);
		if (s->nsip_session_ids)
			CHECK_STR(s->sip_session_ids[0],
				  "ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2");
		CHECK(s->associate_us == INT64_C(1292542867) * ES_US_PER_SEC);
		CHECK(s->disassociate_us == 0);
	}
	const struct rsmeta_participant *a = rsmeta_participant_find(&m, "srfBElmCRp2QB23b7Mpk0w==");
	const struct rsmeta_participant *b = rsmeta_participant_find(&m, "zSfPoSvdSDCmU3A3TRDxAw==");
	CHECK(a && b);
	if (a && b) {
		CHECK_STR(a->name, "Alice");
		CHECK_STR(a->aor, "sip:alice@atlanta.com");
		CHECK_STR(a->number, "alice");
		CHECK_INT(a->nnameids, 2);
		CHECK_STR(a->nameids[1].aor, "sip:alice@example.net");
		CHECK_STR(a->nameids[0].names[0].lang, "it");
		CHECK(a->has_names && a->has_streams);
		CHECK_STR(b->name, "Bob");
		CHECK_STR(b->aor, "sip:bob@biloxi.com");
		CHECK_INT(a->nsend, 1);
		CHECK_INT(a->nrecv, 1);
		CHECK_INT(b->nsessions, 1);
		CHECK(!rsmeta_participant_left(b));
	}
	const struct rsmeta_stream *st = rsmeta_stream_by_label(&m, "96");
	CHECK(st && strcmp(st->id, "UAAMm5GRQKSCMVvLyl4rFw==") == 0);
	CHECK(st && st->session_id && strcmp(st->session_id, "hVpd7YQgRW2nD22h7q60JQ==") == 0);
	CHECK_STR(sender_name(&m, "96"), "Bob");
	CHECK_STR(sender_name(&m, "97"), "Alice");
	CHECK(rsmeta_sender_of_label(&m, "98") == NULL);
	rsmeta_free(&m);
	CHECK(m.nparts == 0 && m.parts == NULL);
	rsmeta_free(&m); /* twice is harmless */
}

static void test_rfc7865_partial_merge(void)
{
	struct rsmeta m, u;
	CHECK_INT(parse_file(&m, "rfc7865-complete.xml"), 0);
	CHECK_INT(parse_file(&u, "rfc7865-partial.xml"), 0);
	CHECK_INT(u.datamode, RSMETA_PARTIAL);
	CHECK_INT(u.nparts, 1); /* only named by an association */
	if (u.nparts)
		CHECK(!u.parts[0].has_names && !u.parts[0].has_streams && u.parts[0].name == NULL);
	CHECK_INT(rsmeta_merge(&m, &u), 0);
	CHECK_INT(m.datamode, RSMETA_COMPLETE);
	CHECK_INT(m.nparts, 2);
	const struct rsmeta_participant *b = rsmeta_participant_find(&m, "zSfPoSvdSDCmU3A3TRDxAw==");
	CHECK(b && b->name && strcmp(b->name, "Bob") == 0); /* names kept */
	CHECK(b && rsmeta_participant_left(b));
	CHECK(b && b->nsessions == 1 && b->sessions[0].associate_us == INT64_C(1292542867) * ES_US_PER_SEC);
	CHECK(b && b->sessions[0].disassociate_us == INT64_C(1292542987) * ES_US_PER_SEC);
	CHECK(!rsmeta_participant_left(rsmeta_participant_find(&m, "srfBElmCRp2QB23b7Mpk0w==")));
	const struct rsmeta_session *s = rsmeta_session_find(&m, "hVpd7YQgRW2nD22h7q60JQ==");
	CHECK(s && s->stop_us == INT64_C(1292542989) * ES_US_PER_SEC);
	CHECK(s && s->disassociate_us == INT64_C(1292542989) * ES_US_PER_SEC);
	CHECK(s && s->nsip_session_ids == 1 && s->group_id); /* untouched fields kept */
	CHECK_STR(sender_name(&m, "96"), "Bob");
	rsmeta_free(&u);
	/* The update's memory is gone; the merged copy must not point into it. */
	CHECK_STR(rsmeta_session_find(&m, "hVpd7YQgRW2nD22h7q60JQ==")->id, "hVpd7YQgRW2nD22h7q60JQ==");
	CHECK_STR(m.parts[1].sessions[0].session_id, "hVpd7YQgRW2nD22h7q60JQ==");

	/* A complete update replaces everything. */
	CHECK_INT(parse_file(&u, "rfc7866-invite.xml"), 0);
	CHECK_INT(rsmeta_merge(&m, &u), 0);
	rsmeta_free(&u);
	CHECK_INT(m.nsessions, 1);
	CHECK_INT(m.ngroups, 0);
	CHECK(rsmeta_session_find(&m, "0PdZlc5ZS6eRa9XVh7WuZg==") != NULL);
	CHECK(!rsmeta_participant_left(rsmeta_participant_find(&m, "zSfPoSvdSDCmU3A3TRDxAw==")));
	CHECK_STR(sender_name(&m, "97"), "Alice");
	/* Merging a document into itself changes nothing. */
	CHECK_INT(rsmeta_merge(&m, &m), 0);
	m.datamode = RSMETA_PARTIAL;
	CHECK_INT(rsmeta_merge(&m, &m), 0);
	CHECK_INT(m.nparts, 2);
	CHECK_INT(m.nstreams, 2);
	CHECK_STR(sender_name(&m, "96"), "Bob");
	rsmeta_free(&m);
}

static void test_rfc7866_invite(void)
{
	struct rsmeta m;
	CHECK_INT(parse_file(&m, "rfc7866-invite.xml"), 0);
	CHECK_INT(m.nsessions, 1);
	CHECK_INT(m.nparts, 2);
	CHECK_INT(m.nstreams, 2);
	const struct rsmeta_session *s = rsmeta_session_find(&m, "0PdZlc5ZS6eRa9XVh7WuZg==");
	CHECK(s && s->start_us == INT64_C(1292542867) * ES_US_PER_SEC && s->group_id == NULL);
	CHECK_STR(sender_name(&m, "96"), "Bob");
	CHECK_STR(sender_name(&m, "97"), "Alice");
	const struct rsmeta_participant *a = rsmeta_sender_of_label(&m, "97");
	CHECK(a && a->nsessions == 1 && a->sessions[0].associate_us != 0);
	CHECK(a && a->nrecv == 1 && strcmp(a->recv[0], "UAAMm5GRQKSCMVvLyl4rFw==") == 0);
	rsmeta_free(&m);
}

static void test_conference(void)
{
	struct rsmeta m, u;
	CHECK_INT(parse_file(&m, "conference.xml"), 0);
	CHECK_INT(m.nparts, 3);
	CHECK_INT(m.nstreams, 3);
	/* 10:00+01:00 = 09:00Z = 1709283600 */
	CHECK(m.ngroups == 1 && m.groups[0].associate_us == INT64_C(1709283600) * ES_US_PER_SEC);
	const struct rsmeta_participant *c = rsmeta_sender_of_label(&m, "1");
	const struct rsmeta_participant *d = rsmeta_sender_of_label(&m, "2");
	const struct rsmeta_participant *e = rsmeta_sender_of_label(&m, "3");
	CHECK(c && d && e);
	if (c && d && e) {
		CHECK_STR(c->name, "Carol Ng");
		CHECK_STR(c->number, "+15551234");
		CHECK_STR(c->aor, "sip:+15551234@pbx.example.com;user=phone");
		CHECK(c->nnameids == 1 && c->nameids[0].nnames == 2);
		CHECK_STR(c->nameids[0].names[1].lang, "fr");
		CHECK_STR(c->nameids[0].names[1].name, "Carole Ng");
		CHECK_STR(d->name, "Dave");
		CHECK(d->nameids[0].names[0].lang == NULL);
		CHECK_STR(d->number, "+15550100");
		CHECK(e->name == NULL);
		CHECK_STR(e->number, "erin");
		CHECK_INT(c->nrecv, 2);
	}
	CHECK_INT(parse_file(&u, "conference-reinvite-partial.xml"), 0);
	CHECK_INT(rsmeta_merge(&m, &u), 0);
	rsmeta_free(&u);
	CHECK_INT(m.nparts, 3);
	CHECK_INT(m.nstreams, 4);
	d = rsmeta_participant_find(&m, "cGFydC1i");
	CHECK(d && rsmeta_participant_left(d) && d->nsend == 0 && d->nrecv == 0);
	CHECK(d && d->name && strcmp(d->name, "Dave") == 0);
	CHECK(rsmeta_sender_of_label(&m, "2") == NULL);
	CHECK_STR(sender_name(&m, "4"), "Carol Ng");
	CHECK_STR(sender_name(&m, "1"), "Carol Ng");
	CHECK_STR(sender_name(&m, "3"), "cGFydC1j");
	CHECK(!rsmeta_participant_left(rsmeta_participant_find(&m, "cGFydC1h")));
	rsmeta_free(&m);
}

/* Minimal documents and the AOR -> number rule. */
static void test_numbers(void)
{
	static const struct {
		const char *aor, *number;
	} cases[] = {
		{"sip:+15551234@x", "+15551234"},
		{"tel:+1555", "+1555"},
		{"tel:+1-555-123.4567;phone-context=x", "+15551234567"},
		{"sips:alice:secret@host", "alice"},
		{"sip:host.example.com", NULL},
		{"SIP:0044 (20) 7946@x;user=phone", "0044207946"},
		{"sip:ali-ce@x", "ali-ce"},
		{"mailto:a@b", NULL},
		{"tel:", NULL},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		char xml[512], err[128];
		struct rsmeta m;
		snprintf(xml, sizeof(xml),
			 "<recording xmlns='" RSMETA_NS "'><participant participant_id='p'>"
			 "<nameID aor='%s'/></participant></recording>",
			 cases[i].aor);
		CHECK_INT(rsmeta_parse(&m, xml, strlen(xml), err, sizeof(err)), 0);
		CHECK_INT(m.nparts, 1);
		if (cases[i].number)
			CHECK_STR(m.parts[0].number, cases[i].number);
		else
			CHECK(m.parts[0].number == NULL);
		rsmeta_free(&m);
	}
}

/* Parse xml expecting error want, whose message contains needle; < 100 ms. */
static void expect_err(const char *what, const char *xml, size_t len, int want, const char *needle)
{
	struct rsmeta m;
	char err[256];
	memset(err, 'x', sizeof(err));
	int64_t t0 = es_mono_us();
	int rc = rsmeta_parse(&m, xml, len, err, sizeof(err));
	int64_t dt = es_mono_us() - t0;
	rsmeta_free(&m);
	CHECK_INT(rc, want);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (!strstr(err, needle)) {
		check_failures++;
		fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", what, err, needle);
	}
	if (dt > 100000) {
		check_failures++;
		fprintf(stderr, "%s: took %lld us\n", what, (long long)dt);
	}
	fprintf(stderr, "  %-22s %4lld us  %s\n", what, (long long)dt, err);
}

static char *repeat(const char *head, const char *unit, unsigned n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *p = malloc(hl + ul * n + tl + 1);
	if (!p)
		abort();
	memcpy(p, head, hl);
	for (unsigned i = 0; i < n; i++)
		memcpy(p + hl + (size_t)i * ul, unit, ul);
	memcpy(p + hl + (size_t)n * ul, tail, tl + 1);
	*len = hl + ul * n + tl;
	return p;
}

#define S(x) x, strlen(x)
#define ROOT "<recording xmlns='" RSMETA_NS "'>"

static void test_bad_inputs(void)
{
	expect_err("not XML", S("hello, world"), ES_EPARSE, "not XML");
	expect_err("empty", "", 0, ES_EPARSE, "empty");
	expect_err("truncated", S(ROOT "<participant participant_id='a'>"), ES_EPARSE,
		   "not well-formed XML: line 1");
	expect_err("wrong root", S("<session xmlns='" RSMETA_NS "'/>"), ES_EPARSE,
		   "root element is <session>");
	expect_err("no namespace", S("<recording><datamode>complete</datamode></recording>"),
		   ES_EPARSE, "namespace \"\"");
	expect_err("wrong namespace", S("<recording xmlns='urn:ietf:params:xml:ns:recording'/>"),
		   ES_EPARSE, "not urn:ietf:params:xml:ns:recording:1");
	expect_err("bad datamode", S(ROOT "<datamode>some</datamode></recording>"), ES_EPARSE,
		   "neither complete nor partial");
	expect_err("participant no id", S(ROOT "<participant><nameID aor='sip:a@b'/></participant></recording>"),
		   ES_EPARSE, "without its participant_id");
	expect_err("psassoc no session", S(ROOT "<participantsessionassoc participant_id='x'/></recording>"),
		   ES_EPARSE, "without its session_id");
	expect_err("XXE",
		   S("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		     ROOT "<participant participant_id='a'><nameID aor='sip:a@b'><name>&x;</name>"
		     "</nameID></participant></recording>"),
		   ES_EPARSE, "DOCTYPE not allowed");
	expect_err("billion laughs",
		   S("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		     "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
		     "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
		     "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
		     "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
		     "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
		     "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
		     "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
		     "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
		     "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
		     ROOT "<datamode>&lol9;</datamode></recording>"),
		   ES_EPARSE, "DOCTYPE not allowed");
	/* An undeclared entity (no DOCTYPE to declare it) is just an error. */
	expect_err("undeclared entity", S(ROOT "<datamode>&lol9;</datamode></recording>"), ES_EPARSE,
		   "not well-formed XML");
	/* UTF-16 would hide "<!DOCTYPE" from the byte scan: refused. */
	expect_err("UTF-16", "<\0r\0/\0>\0", 8, ES_EPARSE, "not XML in UTF-8");
	expect_err("EBCDIC", S("\x4c\x6f\xa7\x94\x93"), ES_EPARSE, "not XML in UTF-8");

	size_t len;
	char *p = repeat(ROOT, "<!-- padding padding padding padding -->", 8000, "</recording>", &len);
	expect_err("huge input", p, len, ES_ELIMIT, "more than the 262144 allowed");
	free(p);
	p = repeat(ROOT, "<participant/>", 10000, "</recording>", &len);
	expect_err("10000 participants", p, len, ES_ELIMIT, "more than 256 <participant>");
	free(p);
	/* 300 distinct participants named only by associations. */
	char *q = malloc(300 * 96 + 256);
	size_t n = (size_t)sprintf(q, ROOT);
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(q + n, i & 1 ? "<participantsessionassoc participant_id='p%d' session_id='s'/>"
					       : "<participantstreamassoc participant_id='p%d'/>", i);
	n += (size_t)sprintf(q + n, "</recording>");
	expect_err("300 via assoc", q, n, ES_ELIMIT, "more than 256 participants");
	free(q);
	p = repeat(ROOT "<participantstreamassoc participant_id='p'>", "<send>s</send>", 300,
		   "</participantstreamassoc></recording>", &len);
	expect_err("300 sends", p, len, ES_ELIMIT, "300 <send>");
	free(p);

	/* 1,000 levels of nesting (inside an ignored extension element). */
	char *d = malloc(1000 * 16 + 256);
	n = (size_t)sprintf(d, "<recording xmlns='" RSMETA_NS "' xmlns:x='u'>");
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(d + n, "<x:a%d>", i % 10);
	for (int i = 999; i >= 0; i--)
		n += (size_t)sprintf(d + n, "</x:a%d>", i % 10);
	n += (size_t)sprintf(d + n, "</recording>");
	expect_err("1000 levels", d, n, ES_EPARSE, "depth");
	free(d);

	/* NULL arguments. */
	struct rsmeta m;
	CHECK_INT(rsmeta_parse(NULL, "<a/>", 4, NULL, 0), ES_EINVAL);
	CHECK_INT(rsmeta_parse(&m, NULL, 4, NULL, 0), ES_EINVAL);
	CHECK_INT(rsmeta_merge(NULL, &m), ES_EINVAL);
	/* err may be NULL. */
	CHECK_INT(rsmeta_parse(&m, S("junk"), NULL, 0), ES_EPARSE);
	rsmeta_free(&m);
}

/* Merges stay within the element bound. */
/* earshot's consent extension (RSMETA_CONSENT_NS): yes/no per participant,
 * strict; a partial update changes it; elsewhere it is ignored. */
static void test_consent_ext(void)
{
#define CX_HEAD "<recording xmlns='" RSMETA_NS "' xmlns:c='" RSMETA_CONSENT_NS "'>"
	static const char ok[] = CX_HEAD
		"<participant participant_id='a'><nameID aor='sip:1@x'/><c:consent> yes </c:consent>"
		"</participant><participant participant_id='b'><c:consent>no</c:consent></participant>"
		"<participant participant_id='n'/><c:consent>maybe</c:consent></recording>";
	static const char upd[] = CX_HEAD "<datamode>partial</datamode>"
		"<participant participant_id='a'><c:consent>no</c:consent></participant></recording>";
	struct rsmeta m, u;
	char err[256];
	CHECK_INT(rsmeta_parse(&m, ok, sizeof(ok) - 1, err, sizeof(err)), 0);
	CHECK_INT(m.nparts, 3);
	CHECK_INT(rsmeta_participant_find(&m, "a")->consent, RSMETA_CONSENT_YES);
	CHECK_INT(rsmeta_participant_find(&m, "b")->consent, RSMETA_CONSENT_NO);
	CHECK_INT(rsmeta_participant_find(&m, "n")->consent, RSMETA_CONSENT_NONE);
	CHECK_INT(rsmeta_parse(&u, upd, sizeof(upd) - 1, err, sizeof(err)), 0);
	CHECK_INT(rsmeta_merge(&m, &u), 0);
	CHECK_INT(rsmeta_participant_find(&m, "a")->consent, RSMETA_CONSENT_NO);
	rsmeta_free(&u);
	rsmeta_free(&m);
	static const char bad[] = CX_HEAD
		"<participant participant_id='p7'><c:consent>perhaps</c:consent></participant></recording>";
	expect_err("consent value", bad, sizeof(bad) - 1, ES_EPARSE,
		   "participant p7: <consent> must be yes or no");
	static const char empty[] = CX_HEAD
		"<participant participant_id='p8'><c:consent/></participant></recording>";
	expect_err("empty consent", empty, sizeof(empty) - 1, ES_EPARSE, "participant p8");
	static const char two[] = CX_HEAD "<participant participant_id='p9'><c:consent>yes"
		"</c:consent><c:consent>no</c:consent></participant></recording>";
	expect_err("two consents", two, sizeof(two) - 1, ES_EPARSE,
		   "participant p9 has more than one <consent>");
#undef CX_HEAD
}

static void test_merge_limit(void)
{
	struct rsmeta m, u;
	char xml[128];
	int rc = 0;
	memset(&m, 0, sizeof(m));
	m.datamode = RSMETA_COMPLETE;
	for (int i = 0; i < 300 && !rc; i++) {
		snprintf(xml, sizeof(xml),
			 ROOT "<datamode>partial</datamode><stream stream_id='s%d'/></recording>", i);
		CHECK_INT(rsmeta_parse(&u, xml, strlen(xml), NULL, 0), 0);
		rc = rsmeta_merge(&m, &u);
		rsmeta_free(&u);
	}
	CHECK_INT(rc, ES_ELIMIT);
	CHECK_INT(m.nstreams, RSMETA_MAX_ELEMS);
	rsmeta_free(&m);
}

/* Unknown elements, other namespaces, comments, CDATA and a BOM are fine;
 * libxml2's own stderr output is silenced (checked by eye in the log). */
static void test_tolerance(void)
{
	static const char xml[] =
		"\xEF\xBB\xBF<?xml version='1.0' encoding='ISO-8859-1'?>\n"
		"<recording xmlns='" RSMETA_NS "' xmlns:e='urn:example'>"
		"<!-- c --><e:ext><participant participant_id='hidden'/></e:ext>"
		"<unknown-future-element a='1'><x/></unknown-future-element>"
		"<participant participant_id=' p1 ' xmlns:o='urn:other'><o:nameID aor='sip:x@y'/>"
		"<nameID aor='sip:1000@pbx'><name><![CDATA[Zoë]]></name></nameID></participant>"
		"<stream stream_id='s1'><label> 7 </label></stream>"
		"<participantstreamassoc participant_id='p1'><send>s1</send></participantstreamassoc>"
		"</recording>";
	struct rsmeta m;
	char err[128];
	CHECK_INT(rsmeta_parse(&m, xml, sizeof(xml) - 1, err, sizeof(err)), 0);
	CHECK_INT(m.nparts, 1);
	CHECK_STR(m.parts[0].id, "p1");
	CHECK_INT(m.parts[0].nnameids, 1);
	CHECK_STR(m.parts[0].name, "Zo\xC3\xAB"); /* UTF-8 kept: the declared encoding is ignored */
	CHECK_STR(m.parts[0].number, "1000");
	CHECK_STR(sender_name(&m, "7"), "Zo\xC3\xAB");
	rsmeta_free(&m);
}

int main(void)
{
	RUN(test_rfc7865_complete);
	RUN(test_rfc7865_partial_merge);
	RUN(test_rfc7866_invite);
	RUN(test_conference);
	RUN(test_numbers);
	RUN(test_bad_inputs);
	RUN(test_merge_limit);
	RUN(test_consent_ext);
	RUN(test_tolerance);
	return CHECK_DONE();
}
