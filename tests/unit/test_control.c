/* test_control.c - the command channel to a running recorder
 * (src/record/control.c): the strict command format, its answers, a whole
 * send/poll/answer round over a real folder, and the PCI keys of the
 * recording rules (src/policy/rules.c). */
#include "check.h"
#include "core/config.h"
#include "policy/policy.h"
#include "record/record.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse(const char *text, struct rec_cmd *c, char *err, size_t errlen)
{
	return rec_cmd_parse(text, strlen(text), c, err, errlen);
}

static void test_parse_good(void)
{
	struct rec_cmd c;
	char err[200];
	CHECK_INT(parse("earshot-control\t1\nverb\tpause\ncall\tabc@10.0.0.1\nby\tapi:alice\n", &c,
			err, sizeof(err)), 0);
	CHECK_INT(c.verb, REC_CMD_PAUSE);
	CHECK_STR(c.call_id, "abc@10.0.0.1");
	CHECK_STR(c.by, "api:alice");
	/* keys in any order */
	CHECK_INT(parse("earshot-control\t1\nby\tcli\ncall\tx\nverb\tresume\n", &c, err, sizeof(err)),
		  0);
	CHECK_INT(c.verb, REC_CMD_RESUME);
	CHECK_INT(parse("earshot-control\t1\nverb\tconsent\ncall\tx\nby\tcli\nparty\tcallee\n"
			"value\tno\n", &c, err, sizeof(err)), 0);
	CHECK_INT(c.verb, REC_CMD_CONSENT);
	CHECK_INT(c.party, 1);
	CHECK(!c.yes);
	/* round trip */
	struct es_buf b = {0};
	struct rec_cmd back;
	CHECK_INT(rec_cmd_format(&c, &b), 0);
	CHECK_INT(rec_cmd_parse((const char *)b.p, b.len, &back, err, sizeof(err)), 0);
	CHECK_INT(back.verb, c.verb);
	CHECK_INT(back.party, c.party);
	es_buf_free(&b);
}

static void test_parse_bad(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "empty file"},
		{"earshot-control\t1\nverb\tpause\ncall\tx\nby\tcli", "no end of line"},
		{"earshot-active\t1\n", "not an earshot command file"},
		{"earshot-control\t2\nverb\tpause\ncall\tx\nby\tcli\n", "version not 1"},
		{"earshot-control\t1\nverb\tpause\ncall\tx\n", "verb, call and by are required"},
		{"earshot-control\t1\nverb\tstop\ncall\tx\nby\tcli\n", "not pause, resume or consent"},
		{"earshot-control\t1\nverb\tpause\nverb\tpause\ncall\tx\nby\tcli\n", "twice"},
		{"earshot-control\t1\nverb\tpause\ncall\tx\nby\tcli\nwho\tme\n", "unknown key"},
		{"earshot-control\t1\nverb\tpause\ncall\t\nby\tcli\n", "call: empty"},
		{"earshot-control\t1\nverb\tpause\ncall\ta\rb\nby\tcli\n", "control character"},
		{"earshot-control\t1\nverb\tpause\ncall\tx\nby\tcli\nparty\tcaller\n", "consent only"},
		{"earshot-control\t1\nverb\tconsent\ncall\tx\nby\tcli\nparty\tcaller\n",
		 "needs party and value"},
		{"earshot-control\t1\nverb\tconsent\ncall\tx\nby\tcli\nparty\tboss\nvalue\tyes\n",
		 "not caller or callee"},
		{"earshot-control\t1\nverb\tconsent\ncall\tx\nby\tcli\nparty\tcaller\nvalue\tok\n",
		 "not yes or no"},
		{"earshot-control\t1\nverb pause\n", "KEY<TAB>VALUE"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec_cmd c;
		char err[200] = "";
		CHECK_INT(parse(bad[i].text, &c, err, sizeof(err)), ES_EPARSE);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "case %zu: \"%s\" does not say \"%s\"\n", i, err, bad[i].why);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
	/* a call id longer than the list's */
	char big[400];
	snprintf(big, sizeof(big), "earshot-control\t1\nverb\tpause\ncall\t%0300d\nby\tcli\n", 7);
	struct rec_cmd c;
	char err[200];
	CHECK_INT(parse(big, &c, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "longer than") != NULL);
	/* nothing to format from an empty or control-character field */
	struct rec_cmd f = {.verb = REC_CMD_PAUSE};
	struct es_buf b = {0};
	CHECK_INT(rec_cmd_format(&f, &b), ES_EINVAL);
	snprintf(f.call_id, sizeof(f.call_id), "a\nb");
	snprintf(f.by, sizeof(f.by), "cli");
	CHECK_INT(rec_cmd_format(&f, &b), ES_EINVAL);
	es_buf_free(&b);
}

static void test_ack(void)
{
	int st = 99;
	char msg[64];
	const char *ok = "earshot-control-ack\t1\nstatus\tnot_found\nmessage\tno call\n";
	CHECK_INT(rec_ack_parse(ok, strlen(ok), &st, msg, sizeof(msg)), 0);
	CHECK_INT(st, ES_ENOTFOUND);
	CHECK_STR(msg, "no call");
	const char *bad = "earshot-control-ack\t1\nstatus\tmaybe\nmessage\tx\n";
	CHECK_INT(rec_ack_parse(bad, strlen(bad), &st, msg, sizeof(msg)), ES_EPARSE);
	CHECK_INT(rec_ack_parse(ok, strlen(ok) - 1, &st, msg, sizeof(msg)), ES_EPARSE);
}

struct seen {
	int n;
	struct rec_cmd last;
};

static int apply(void *ud, const struct rec_cmd *c, char *msg, size_t cap)
{
	struct seen *s = ud;
	s->n++;
	s->last = *c;
	if (!strcmp(c->call_id, "gone@x")) {
		snprintf(msg, cap, "no call in progress with this id");
		return ES_ENOTFOUND;
	}
	snprintf(msg, cap, "paused");
	return 0;
}

/* A sender and the recorder's poll over a real folder, in one process: the
 * sender's wait runs after the poll answered. */
static void test_round(void)
{
	char dir[] = "/tmp/es-control-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char err[512], id[REC_CMD_ID_MAX + 1], msg[256], cdir[4200];
	struct rec_cmd c = {.verb = REC_CMD_PAUSE};
	snprintf(c.call_id, sizeof(c.call_id), "abc@x");
	snprintf(c.by, sizeof(c.by), "cli");
	/* no recorder ever ran */
	CHECK_INT(rec_control_send(dir, &c, id, sizeof(id), err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(rec_control_open(dir, err, sizeof(err)), 0);
	rec_control_dir(dir, cdir, sizeof(cdir));
	struct stat st;
	CHECK(stat(cdir, &st) == 0 && (st.st_mode & 0777) == 0770);
	CHECK_INT(rec_control_send(dir, &c, id, sizeof(id), err, sizeof(err)), 0);
	struct seen s = {0};
	CHECK_INT(rec_control_poll(dir, apply, &s), 1);
	CHECK_INT(s.n, 1);
	CHECK_STR(s.last.call_id, "abc@x");
	int status = 99;
	CHECK_INT(rec_control_wait(dir, id, 1000, &status, msg, sizeof(msg)), 0);
	CHECK_INT(status, 0);
	CHECK_STR(msg, "paused");
	/* an unknown call */
	snprintf(c.call_id, sizeof(c.call_id), "gone@x");
	CHECK_INT(rec_control_send(dir, &c, id, sizeof(id), err, sizeof(err)), 0);
	CHECK_INT(rec_control_poll(dir, apply, &s), 1);
	CHECK_INT(rec_control_wait(dir, id, 1000, &status, msg, sizeof(msg)), 0);
	CHECK_INT(status, ES_ENOTFOUND);
	/* a malformed file and a bad name: answered or removed, never applied */
	char path[4400];
	snprintf(path, sizeof(path), "%s/junk.cmd", cdir);
	FILE *f = fopen(path, "w");
	fputs("earshot-control\t1\nverb\tpause\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bad name!.cmd", cdir);
	f = fopen(path, "w");
	fputs("x", f);
	fclose(f);
	s.n = 0;
	rec_control_poll(dir, apply, &s);
	CHECK_INT(s.n, 0);
	CHECK(access(path, F_OK) != 0);
	CHECK_INT(rec_control_wait(dir, "junk", 1000, &status, msg, sizeof(msg)), 0);
	CHECK_INT(status, ES_EPARSE);
	CHECK(strstr(msg, "junk.cmd: line 2") != NULL);
	/* nobody takes it: withdrawn */
	snprintf(c.call_id, sizeof(c.call_id), "abc@x");
	CHECK_INT(rec_control_send(dir, &c, id, sizeof(id), err, sizeof(err)), 0);
	CHECK_INT(rec_control_wait(dir, id, 100, &status, msg, sizeof(msg)), ES_EAGAIN);
	s.n = 0;
	CHECK_INT(rec_control_poll(dir, apply, &s), 0);
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

static void test_rule_keys(void)
{
	struct es_conf c;
	struct pol_rules *r = NULL;
	char err[512];
	const char *good = "[rule pci]\naction = record\ncallee = 2*\npause_dtmf = *1\n"
			   "resume_dtmf = #9A\nmax_pause = 5m\npause_fill = tone\nmask_dtmf = yes\n";
	CHECK_INT(es_conf_parse(&c, "t.conf", good, err, sizeof(err)), 0);
	CHECK_INT(pol_rules_from_conf(&r, &c, err, sizeof(err)), 0);
	struct pol_call call = {.call_id = "x", .caller_user = "100", .callee_user = "200"};
	struct pol_decision d;
	pol_decide(r, &call, &d);
	CHECK_STR(d.rule, "pci");
	CHECK_STR(d.pci->pause_dtmf, "*1");
	CHECK_STR(d.pci->resume_dtmf, "#9A");
	CHECK_INT(d.pci->max_pause_us, 300 * ES_US_PER_SEC);
	CHECK(d.pci->fill_tone && d.pci->mask_dtmf);
	call.callee_user = "300"; /* the default: nothing */
	pol_decide(r, &call, &d);
	CHECK(d.pci && !d.pci->pause_dtmf[0] && !d.pci->mask_dtmf);
	pol_rules_free(r);
	es_conf_free(&c);
	static const char *const bad[] = {
		"[rule a]\naction = record\npause_dtmf = *x\n",
		"[rule a]\naction = record\npause_dtmf = 123456789\n",
		"[rule a]\naction = record\nmax_pause = soon\n",
		"[rule a]\naction = record\npause_fill = music\n",
		"[rule a]\naction = record\nmask_dtmf = perhaps\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(es_conf_parse(&c, "t.conf", bad[i], err, sizeof(err)), 0);
		r = NULL;
		CHECK(pol_rules_from_conf(&r, &c, err, sizeof(err)) != 0);
		CHECK(strstr(err, "t.conf:3") != NULL);
		pol_rules_free(r);
		es_conf_free(&c);
	}
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_ack);
	RUN(test_round);
	RUN(test_rule_keys);
	return CHECK_DONE();
}
