/* test_config.c - earshot.conf parsing, typed getters, unknown keys. */
#include "check.h"
#include "core/config.h"

#include <stdlib.h>
#include <unistd.h>

#define CHECK_HAS(s, sub) \
	do { \
		const char *check_h_ = (s); \
		check_count++; \
		if (!strstr(check_h_, (sub))) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__, \
				__LINE__, check_h_, (sub)); \
		} \
	} while (0)

static const char sample[] =
	"; earshot.conf\n"
	"# full-line comments with both characters\n"
	"\n"
	"[capture]\n"
	"interface = eth0\n"
	"interface = eth1 ; the second one\n"
	"  filter = \"udp port 5060 ; or not\"   ; indented, quoted, commented\n"
	"snaplen: 1500\n"
	"\n"
	"[ rule office hours ]\n"
	"action = record\n"
	"time = 08:00-18:00\n"
	"[rule night]\r\n"
	"action=skip\r\n"
	"[capture]\n"
	"interface = eth2#not-a-comment\n"
	"empty =\n"
	"quoted = \"\"\n"
	"semi = a;b\n";

static void test_parse(void)
{
	struct es_conf c;
	char err[256];
	CHECK_INT(es_conf_parse(&c, "t.conf", sample, err, sizeof(err)), 0);
	CHECK_INT(c.n, 11);
	CHECK_STR(c.path, "t.conf");
	CHECK_STR(c.e[0].section, "capture");
	CHECK_STR(c.e[0].value, "eth0");
	CHECK_INT(c.e[0].line, 5);
	CHECK_STR(c.e[1].value, "eth1");
	CHECK_STR(c.e[2].key, "filter");
	CHECK_STR(c.e[2].value, "udp port 5060 ; or not");
	CHECK_INT(c.e[2].line, 7);
	CHECK_STR(c.e[3].key, "snaplen");
	CHECK_STR(c.e[3].value, "1500");
	CHECK_STR(c.e[4].section, "rule office hours");
	CHECK_INT(c.e[4].line, 11);
	CHECK_STR(c.e[6].section, "rule night");
	CHECK_STR(c.e[6].value, "skip");
	CHECK_INT(c.e[6].line, 14);
	CHECK_STR(c.e[7].value, "eth2#not-a-comment");
	CHECK_STR(c.e[8].value, "");
	CHECK_STR(c.e[9].value, "");
	CHECK_STR(c.e[10].value, "a;b");
	CHECK_INT(c.e[10].line, 19);

	/* The last value wins; sections compare case-insensitively. */
	const struct es_conf_entry *e = es_conf_find(&c, "CAPTURE", "interface");
	CHECK(e && strcmp(e->value, "eth2#not-a-comment") == 0);
	CHECK(es_conf_find(&c, "capture", "Interface") == NULL);
	CHECK(es_conf_find(&c, "nope", "interface") == NULL);
	es_conf_free(&c);
	es_conf_free(&c); /* harmless twice */

	CHECK_INT(es_conf_parse(&c, "e.conf", "", err, sizeof(err)), 0);
	CHECK_INT(c.n, 0);
	es_conf_free(&c);
	CHECK_INT(es_conf_parse(&c, "e.conf", "\xEF\xBB\xBF[a]\nk = v", err, sizeof(err)), 0);
	CHECK_INT(c.n, 1);
	CHECK_STR(c.e[0].value, "v");
	es_conf_free(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"[a]\nk = v\njunk\n", "bad.conf:3: expected 'key = value'"},
		{"k = v\n", "bad.conf:1: key outside of a [section]"},
		{"\n\n[a\n", "bad.conf:3: missing ']'"},
		{"[a] b\n", "bad.conf:1: text after ']'"},
		{"[ ]\n", "bad.conf:1: empty section name"},
		{"[a]\n= v\n", "bad.conf:2: empty key"},
		{"[a]\nk = \"open\n", "bad.conf:2: unterminated quote"},
		{"[a]\nk = \"x\" y\n", "bad.conf:2: text after the closing quote"},
		{"[a]\nk ; = v\n", "bad.conf:2: expected"},
		{"[rule 0123456789012345678901234567890123456789012345]\n", "bad.conf:1: section name too long"},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		struct es_conf c;
		char err[256] = "";
		CHECK_INT(es_conf_parse(&c, "bad.conf", cases[i].text, err, sizeof(err)), ES_EPARSE);
		CHECK_HAS(err, cases[i].msg);
		CHECK(c.e == NULL && c.n == 0);
		es_conf_free(&c);
	}
	/* A line longer than libinih's buffer is an error, not two lines. */
	char big[400];
	memset(big, 'x', sizeof(big));
	memcpy(big, "[a]\nk = ", 8);
	big[sizeof(big) - 1] = '\0';
	struct es_conf c;
	char err[256];
	CHECK_INT(es_conf_parse(&c, "long.conf", big, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "long.conf:2: line too long");
	/* 190 bytes fit. */
	big[8 + 190] = '\0';
	CHECK_INT(es_conf_parse(&c, "long.conf", big, err, sizeof(err)), 0);
	CHECK_INT(strlen(c.e[0].value), 190);
	es_conf_free(&c);
	/* A NULL err is allowed. */
	CHECK_INT(es_conf_parse(&c, "x", "junk", NULL, 0), ES_EPARSE);
}

static void test_getters(void)
{
	static const char text[] = "[g]\n"
				   "b1 = yes\nb2 = Off\nb3 = maybe\n"
				   "i1 = -42\ni2 = 65535\ni3 = 12x\ni4 = 99999999999999999999\n"
				   "d1 = 300\nd2 = 300s\nd3 = 5m\nd4 = 2h\nd5 = 1500ms\nd6 = 1d\n"
				   "d7 = 5 parsecs\nd8 = -1s\nd9 = 9999999999999h\n"
				   "s1 = 64\ns2 = 64k\ns3 = 64KiB\ns4 = 512M\ns5 = 2G\ns6 = 1 TB\n"
				   "s7 = 2X\ns8 = 99999999999T\n";
	struct es_conf c;
	char err[256];
	CHECK_INT(es_conf_parse(&c, "g.conf", text, err, sizeof(err)), 0);
	bool b = false;
	CHECK_INT(es_conf_bool(&c, "g", "b1", &b, err, sizeof(err)), 0);
	CHECK(b);
	CHECK_INT(es_conf_bool(&c, "g", "b2", &b, err, sizeof(err)), 0);
	CHECK(!b);
	CHECK_INT(es_conf_bool(&c, "g", "b3", &b, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "g.conf:4: b3:");
	b = true;
	CHECK_INT(es_conf_bool(&c, "g", "nope", &b, err, sizeof(err)), ES_ENOTFOUND);
	CHECK(b);

	int64_t v = 7;
	CHECK_INT(es_conf_int(&c, "g", "i1", -100, 100, &v, err, sizeof(err)), 0);
	CHECK_INT(v, -42);
	CHECK_INT(es_conf_int(&c, "g", "i2", 1, 65535, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 65535);
	CHECK_INT(es_conf_int(&c, "g", "i2", 1, 65534, &v, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "g.conf:6: i2: 65535 is out of range [1, 65534]");
	CHECK_INT(es_conf_int(&c, "g", "i3", 0, 100, &v, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "g.conf:7: i3:");
	CHECK_INT(es_conf_int(&c, "g", "i4", INT64_MIN, INT64_MAX, &v, err, sizeof(err)),
		  ES_EPARSE);
	v = 7;
	CHECK_INT(es_conf_int(&c, "g", "zz", 0, 1, &v, err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(v, 7);

	static const struct {
		const char *key;
		int64_t us;
	} durs[] = {{"d1", 300000000}, {"d2", 300000000}, {"d3", 300000000},
		    {"d4", INT64_C(7200000000)}, {"d5", 1500000}, {"d6", INT64_C(86400000000)}};
	for (size_t i = 0; i < ES_ARRAY_LEN(durs); i++) {
		int64_t us = 0;
		CHECK_INT(es_conf_duration(&c, "g", durs[i].key, &us, err, sizeof(err)), 0);
		CHECK_INT(us, durs[i].us);
	}
	int64_t us;
	CHECK_INT(es_conf_duration(&c, "g", "d7", &us, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "g.conf:15: d7:");
	CHECK_INT(es_conf_duration(&c, "g", "d8", &us, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(es_conf_duration(&c, "g", "d9", &us, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "too large");

	static const struct {
		const char *key;
		uint64_t n;
	} sizes[] = {{"s1", 64}, {"s2", 65536}, {"s3", 65536}, {"s4", 512u << 20},
		     {"s5", UINT64_C(2) << 30}, {"s6", UINT64_C(1) << 40}};
	for (size_t i = 0; i < ES_ARRAY_LEN(sizes); i++) {
		uint64_t n = 0;
		CHECK_INT(es_conf_size(&c, "g", sizes[i].key, &n, err, sizeof(err)), 0);
		CHECK(n == sizes[i].n);
	}
	uint64_t n;
	CHECK_INT(es_conf_size(&c, "g", "s7", &n, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "g.conf:24: s7:");
	CHECK_INT(es_conf_size(&c, "g", "s8", &n, err, sizeof(err)), ES_EPARSE);
	es_conf_free(&c);
}

static void test_check_keys(void)
{
	static const char text[] = "[recording]\nformat = opus\nmix = no\n"
				   "[rule a]\naction = record\n"
				   "[rule b]\naction = skip\nwhen = never\n"
				   "[rules]\nfoo = 1\n";
	static const char *const rec[] = {"format", "mix", NULL};
	static const char *const rule[] = {"action", NULL};
	static const char *const none[] = {NULL};
	struct es_conf c;
	char err[256];
	CHECK_INT(es_conf_parse(&c, "k.conf", text, err, sizeof(err)), 0);
	CHECK_INT(es_conf_check_keys(&c, "recording", rec, err, sizeof(err)), 0);
	CHECK_INT(es_conf_check_keys(&c, "recording", none, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "k.conf:2: unknown key 'format' in [recording]");
	CHECK_INT(es_conf_check_keys(&c, "rule", rule, err, sizeof(err)), ES_EPARSE);
	CHECK_HAS(err, "k.conf:8: unknown key 'when' in [rule b]");
	/* [rules] is not a [rule NAME]. */
	static const char *const rule2[] = {"action", "when", NULL};
	CHECK_INT(es_conf_check_keys(&c, "rule", rule2, err, sizeof(err)), 0);
	CHECK_INT(es_conf_check_keys(&c, "absent", none, err, sizeof(err)), 0);
	es_conf_free(&c);
}

static void test_load(void)
{
	struct es_conf c;
	char err[256];
	CHECK_INT(es_conf_load(&c, "/nonexistent/earshot.conf", err, sizeof(err)), ES_ENOTFOUND);
	CHECK_HAS(err, "/nonexistent/earshot.conf");
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	static const char text[] = "[a]\nx = 1\n\n[b]\ny = 2\nbad line\n";
	CHECK_INT(write(fd, text, sizeof(text) - 1), (long)(sizeof(text) - 1));
	close(fd);
	CHECK_INT(es_conf_load(&c, path, err, sizeof(err)), ES_EPARSE);
	char want[300];
	snprintf(want, sizeof(want), "%s:6: ", path);
	CHECK_HAS(err, want);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("[a]\nx = 1\n", f);
		fclose(f);
	}
	CHECK_INT(es_conf_load(&c, path, err, sizeof(err)), 0);
	CHECK_STR(c.path, path);
	CHECK_INT(c.n, 1);
	es_conf_free(&c);
	unlink(path);
}

int main(void)
{
	RUN(test_parse);
	RUN(test_errors);
	RUN(test_getters);
	RUN(test_check_keys);
	RUN(test_load);
	return CHECK_DONE();
}
