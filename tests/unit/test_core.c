/* test_core.c - slices, buffers, addresses, time, hash table, JSON. */
#include "check.h"
#include "core/core.h"

#include <stdlib.h>

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
	CHECK_STR(out, "{\"a\":-5,\"s\":\"q\\\"\\\\\\n\\u0001\xe2\x82\xac\\u00ff\",\"l\":[true,null,1.25],\"e\":[]}");
	free(out);
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
	RUN(test_log_level_parse);
	return CHECK_DONE();
}
