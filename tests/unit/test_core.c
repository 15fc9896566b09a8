/* test_core.c - slices, buffers, addresses, time, hash table, UTF-8, JSON, log. */
#include "check.h"
#include "core/core.h"

#include <stdlib.h>
#include <unistd.h>

static void test_slices(void)
{
	struct slice s = SL_LIT("  Hello World \r\n");
	CHECK_SL(sl_trim(s), "Hello World");
	CHECK(sl_eq_str_ci(sl_trim(s), "hello world"));
	CHECK(sl_starts_ci(sl_trim(s), "HELLO"));
	CHECK_INT(sl_index(s, 'W'), 8);
	CHECK_INT(sl_find(s, SL_LIT("World")), 8);
	CHECK_INT(sl_find(s, SL_LIT("xyz")), -1);
	CHECK_INT(sl_find_ci(s, SL_LIT("WORLD")), 8);
	CHECK_SL(sl_sub(s, 2, 5), "Hello");
	CHECK_SL(sl_sub(s, 100, 5), "");
	struct slice h, r;
	CHECK(sl_split(SL_LIT("a=b=c"), '=', &h, &r));
	CHECK_SL(h, "a");
	CHECK_SL(r, "b=c");
	CHECK(!sl_split(SL_LIT("abc"), '=', &h, &r));
	uint64_t v;
	CHECK_INT(sl_to_u64(SL_LIT("18446744073709551615"), &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(sl_to_u64(SL_LIT("18446744073709551616"), &v), ES_EPARSE);
	CHECK_INT(sl_to_u64(SL_LIT(""), &v), ES_EPARSE);
	CHECK_INT(sl_to_u64(SL_LIT("12a"), &v), ES_EPARSE);
	uint32_t u;
	CHECK_INT(sl_to_u32(SL_LIT("4294967296"), &u), ES_EPARSE);
	double d = 0;
	CHECK(sl_to_decimal(SL_LIT("3.5"), &d) == 0 && d == 3.5);
	CHECK(sl_to_decimal(SL_LIT("2"), &d) == 0 && d == 2);
	CHECK(sl_to_decimal(SL_LIT(".25"), &d) == 0 && d == 0.25);
	CHECK_INT(sl_to_decimal(SL_LIT("."), &d), ES_EPARSE);
	CHECK_INT(sl_to_decimal(SL_LIT("1.2.3"), &d), ES_EPARSE);
	CHECK_INT(sl_to_decimal(SL_LIT("-1"), &d), ES_EPARSE);
	CHECK_INT(sl_to_decimal(SL_LIT("1e3"), &d), ES_EPARSE);
	CHECK_INT(sl_to_decimal(SL_LIT(""), &d), ES_EPARSE);
	CHECK_INT(sl_to_decimal(SL_LIT("1234567890123"), &d), ES_EPARSE);
	char buf[4];
	CHECK_INT(sl_copy(buf, sizeof(buf), SL_LIT("abcdef")), 3);
	CHECK_STR(buf, "abc");
	CHECK_STR(es_strerror(ES_EPARSE), "malformed input");
	CHECK_STR(es_strerror(-999), "unknown error");
}

static void test_buf(void)
{
	struct es_buf b;
	es_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		CHECK_INT(es_buf_append(&b, "xy", 2), 0);
	CHECK_INT(b.len, 2000);
	es_buf_consume(&b, 1999);
	CHECK_INT(b.len, 1);
	CHECK(b.p[0] == 'y');
	es_buf_reset(&b);
	CHECK_INT(es_buf_printf(&b, "%d-%s", 42, "x"), 0);
	CHECK(b.len == 4 && memcmp(b.p, "42-x", 4) == 0);
	es_buf_free(&b);
}

static void test_addr(void)
{
	struct es_addr a = {0}, b = {0};
	char s[ES_ADDR_STRLEN];
	CHECK_INT(es_addr_parse_ip(SL_LIT("192.0.2.1"), &a), 0);
	a.port = 5060;
	es_addr_fmt(&a, true, s, sizeof(s));
	CHECK_STR(s, "192.0.2.1:5060");
	CHECK_INT(es_addr_parse_ip(SL_LIT("2001:db8::1"), &b), 0);
	b.port = 8000;
	es_addr_fmt(&b, true, s, sizeof(s));
	CHECK_STR(s, "[2001:db8::1]:8000");
	es_addr_fmt(&b, false, s, sizeof(s));
	CHECK_STR(s, "2001:db8::1");
	CHECK(!es_addr_eq(&a, &b));
	CHECK_INT(es_addr_parse_ip(SL_LIT("999.1.1.1"), &a), ES_EPARSE);
	CHECK_INT(es_addr_parse_ip(SL_LIT(""), &a), ES_EPARSE);
}

static void test_time(void)
{
	char s[ES_TIME_STRLEN];
	int64_t us;
	CHECK_INT(es_time_parse("2026-11-24T07:54:04.123Z", &us), 0);
	es_time_fmt(us, s, sizeof(s));
	CHECK_STR(s, "2026-11-24T07:54:04.123Z");
	CHECK_INT(es_time_parse("2026-11-24", &us), 0);
	es_time_fmt(us, s, sizeof(s));
	CHECK_STR(s, "2026-11-24T00:00:00.000Z");
	CHECK_INT(es_time_parse("1000", &us), 0);
	CHECK(us == 1000 * ES_US_PER_SEC);
	CHECK_INT(es_time_parse("2026-13-01", &us), ES_EPARSE);
	CHECK_INT(es_time_parse("yesterday", &us), ES_EPARSE);
}

struct item {
	struct es_hnode node;
	int key;
};

static bool item_eq(const struct es_hnode *n, const void *key)
{
	return ES_CONTAINER_OF(n, struct item, node)->key == *(const int *)key;
}

static void test_htab(void)
{
	struct es_htab h;
	CHECK_INT(es_htab_init(&h, 0), 0);
	enum { N = 5000 };
	struct item *items = calloc(N, sizeof(*items));
	for (int i = 0; i < N; i++) {
		items[i].key = i;
		CHECK_INT(es_htab_insert(&h, &items[i].node, es_hash(&i, sizeof(i), 0)), 0);
	}
	CHECK_INT(h.n, N);
	int k = 1234;
	struct es_hnode *n = es_htab_find(&h, es_hash(&k, sizeof(k), 0), item_eq, &k);
	CHECK(n && ES_CONTAINER_OF(n, struct item, node)->key == 1234);
	/* remove the even keys while iterating */
	size_t pos = 0, seen = 0;
	struct es_hnode *cur = NULL;
	while ((n = es_htab_next(&h, &pos, &cur))) {
		seen++;
		if (ES_CONTAINER_OF(n, struct item, node)->key % 2 == 0)
			es_htab_remove(&h, n);
	}
	CHECK_INT(seen, N);
	CHECK_INT(h.n, N / 2);
	CHECK(!es_htab_find(&h, es_hash(&k, sizeof(k), 0), item_eq, &k));
	es_htab_free(&h);
	free(items);
	CHECK(es_hash_ci("ABC", 3, 1) == es_hash_ci("abc", 3, 1));
	CHECK(es_hash("ABC", 3, 1) != es_hash("abc", 3, 1));
}

static void test_json(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "a");
	es_json_int(&j, -5);
	es_json_key(&j, "s");
	es_json_str(&j, "q\"\\\n\x01\xe2\x82\xac\xff");
	es_json_key(&j, "l");
	es_json_arr_begin(&j);
	es_json_bool(&j, true);
	es_json_null(&j);
	es_json_double(&j, 1.25, 2);
	es_json_arr_end(&j);
	es_json_key(&j, "e");
	es_json_arr_begin(&j);
	es_json_arr_end(&j);
	es_json_obj_end(&j);
	fclose(f);
	CHECK_STR(out, "{\"a\":-5,\"s\":\"q\\\"\\\\\\n\\u0001\xe2\x82\xac\\ufffd\",\"l\":[true,null,1.25],\"e\":[]}");
	free(out);
}

/* One string through the JSON writer, without the quotes. */
static char *json_of(const char *s, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_strn(&j, s, n);
	fclose(f);
	if (len >= 2) {
		memmove(out, out + 1, len - 2);
		out[len - 2] = 0;
	}
	return out;
}

/* The classic malformed UTF-8 cases (Markus Kuhn's stress test, RFC 3629
 * section 10): each comes out as valid JSON with U+FFFD per bad byte, and
 * control characters come out escaped. */
static void test_json_utf8(void)
{
	static const struct {
		const char *in;
		size_t n; /* 0: strlen(in) */
		const char *out;
	} cases[] = {
		{"plain", 0, "plain"},
		{"\xc3\xa9t\xc3\xa9", 0, "\xc3\xa9t\xc3\xa9"},          /* é, 2 bytes */
		{"\xe2\x82\xac", 0, "\xe2\x82\xac"},                    /* €, 3 bytes */
		{"\xf0\x9f\x93\x9e", 0, "\xf0\x9f\x93\x9e"},            /* 📞, 4 bytes */
		{"\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf"},            /* U+10FFFF */
		{"\xef\xbf\xbd", 0, "\xef\xbf\xbd"},                    /* U+FFFD itself */
		{"\xc0\xaf", 0, "\\ufffd\\ufffd"},                      /* overlong '/' 2 bytes */
		{"\xc1\xbf", 0, "\\ufffd\\ufffd"},                      /* overlong 2 bytes */
		{"\xe0\x80\xaf", 0, "\\ufffd\\ufffd\\ufffd"},           /* overlong 3 bytes */
		{"\xe0\x9f\xbf", 0, "\\ufffd\\ufffd\\ufffd"},           /* overlong U+07FF */
		{"\xf0\x80\x80\xaf", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* overlong 4 bytes */
		{"\xf0\x8f\xbf\xbf", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* overlong U+FFFF */
		{"\xed\xa0\x80", 0, "\\ufffd\\ufffd\\ufffd"},           /* U+D800 */
		{"\xed\xbf\xbf", 0, "\\ufffd\\ufffd\\ufffd"},           /* U+DFFF */
		{"\xed\xa0\xbd\xed\xb2\x9e", 0, "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"}, /* CESU pair */
		{"\xed\x9f\xbf", 0, "\xed\x9f\xbf"},                    /* U+D7FF is fine */
		{"\xf4\x90\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* U+110000 */
		{"\xf5\x80\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* F5 lead */
		{"\xf8\x88\x80\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"}, /* 5 bytes */
		{"a\xfe" "b\xff", 0, "a\\ufffdb\\ufffd"},               /* FE, FF */
		{"\x80", 0, "\\ufffd"},                                 /* lone continuation */
		{"x\xc3", 0, "x\\ufffd"},                               /* truncated at the end */
		{"x\xe2\x82", 0, "x\\ufffd\\ufffd"},
		{"x\xf0\x9f\x93", 0, "x\\ufffd\\ufffd\\ufffd"},
		{"\xe2\x82" "A", 0, "\\ufffd\\ufffdA"},                 /* cut by an ASCII byte */
		{"\xe2\x82\xac", 2, "\\ufffd\\ufffd"},                  /* cut by the length */
		{"\x01\x1b[31m\x7f", 0, "\\u0001\\u001b[31m\\u007f"},   /* C0, ESC, DEL */
		{"\xc2\x80\xc2\x9b\xc2\x9f\xc2\xa0", 0, "\\u0080\\u009b\\u009f\xc2\xa0"}, /* C1 */
		{"\xe2\x80\xa8\xe2\x80\xa9", 0, "\\u2028\\u2029"},
		{"q\"\\/\b\f\n\r\t", 0, "q\\\"\\\\/\\u0008\\u000c\\n\\r\\t"},
		{"a\0b", 3, "a\\u0000b"},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
		char *got = json_of(cases[i].in, n);
		if (!got || strcmp(got, cases[i].out) != 0)
			fprintf(stderr, "json_utf8 case %zu: got \"%s\"\n", i, got ? got : "(null)");
		CHECK_STR(got, cases[i].out);
		free(got);
	}
	uint32_t cp = 0;
	CHECK_INT(es_utf8_seq("\xf0\x9f\x93\x9e", 4, &cp), 4);
	CHECK_INT(cp, 0x1f4de);
	CHECK_INT(es_utf8_seq("", 0, &cp), 0);
	CHECK_INT(es_utf8_seq("\xed\xa0\x80", 3, &cp), 0);
}

/* Log lines carry packet bytes: run one through es_log with stderr in a
 * file and read back clean text. */
static void test_log_escapes(void)
{
	char path[] = "/tmp/es-test-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	es_log(ES_LOG_ERROR, "test", "bad header '%s' at %d", "A\x1b[2J\r\nearshot[x] error: forged\x01\xc0\xaf\xff\xc2\x9b\t\xc3\xa9", 7);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char buf[512] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	if (n > 0)
		buf[n] = 0;
	CHECK_STR(buf, "earshot[test] error: bad header 'A\\x1b[2J\\x0d\\x0aearshot[x] error: "
		       "forged\\x01\\xc0\\xaf\\xff\\xc2\\x9b\t\xc3\xa9' at 7\n");
}

static void test_log_level_parse(void)
{
	int lvl = -1;
	CHECK_INT(es_log_level_parse("error", &lvl), 0);
	CHECK_INT(lvl, ES_LOG_ERROR);
	CHECK_INT(es_log_level_parse("warn", &lvl), 0);
	CHECK_INT(lvl, ES_LOG_WARN);
	CHECK_INT(es_log_level_parse("warning", &lvl), 0);
	CHECK_INT(lvl, ES_LOG_WARN);
	CHECK_INT(es_log_level_parse("info", &lvl), 0);
	CHECK_INT(lvl, ES_LOG_INFO);
	CHECK_INT(es_log_level_parse("DEBUG", &lvl), 0);
	CHECK_INT(lvl, ES_LOG_DEBUG);
	lvl = 42;
	CHECK_INT(es_log_level_parse("", &lvl), ES_EINVAL);
	CHECK_INT(es_log_level_parse("verbose", &lvl), ES_EINVAL);
	CHECK_INT(es_log_level_parse("info ", &lvl), ES_EINVAL);
	CHECK_INT(es_log_level_parse("warnings", &lvl), ES_EINVAL);
	CHECK_INT(es_log_level_parse("3", &lvl), ES_EINVAL);
	CHECK_INT(es_log_level_parse(NULL, &lvl), ES_EINVAL);
	CHECK_INT(lvl, 42); /* untouched on error */

	enum es_log_level old = es_log_get_level();
	es_log_set_level(ES_LOG_DEBUG);
	CHECK_INT(es_log_get_level(), ES_LOG_DEBUG);
	es_log_set_level(old);
	CHECK_INT(es_log_get_level(), old);
}

int main(void)
{
	RUN(test_slices);
	RUN(test_buf);
	RUN(test_addr);
	RUN(test_time);
	RUN(test_htab);
	RUN(test_json);
	RUN(test_json_utf8);
	RUN(test_log_escapes);
	RUN(test_log_level_parse);
	return CHECK_DONE();
}
