/*
 * test_policy_json.c - pol_rules_json: the parsed rules as JSON, compared
 * byte for byte with the expected text (ranges keep their zeros, networks
 * are normalised, "any" conditions are empty lists, file order is kept).
 */
#include "check.h"
#include "core/config.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON of a configuration's rules (malloc'd), or NULL when it does not load. */
static char *rules_json(const char *text)
{
	struct es_conf c = {0};
	struct pol_rules *r = NULL;
	char err[256], *buf = NULL;
	size_t len = 0;
	if (text) {
		if (es_conf_parse(&c, "test.conf", text, err, sizeof(err)) ||
		    pol_rules_from_conf(&r, &c, err, sizeof(err))) {
			fprintf(stderr, "load: %s\n", err);
			es_conf_free(&c);
			return NULL;
		}
	}
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	struct es_json j;
	es_json_init(&j, f, false);
	int rc = pol_rules_json(r, &j);
	es_json_end(&j);
	fclose(f);
	if (rc) {
		free(buf);
		buf = NULL;
	} else if (len && buf[len - 1] == '\n') /* es_json_end's */
		buf[len - 1] = 0;
	pol_rules_free(r);
	es_conf_free(&c);
	return buf;
}

static void test_full(void)
{
	static const char conf[] =
		"[recording]\n"
		"default = skip\n"
		"timezone = Europe/Berlin\n"
		"[networks]\n"
		"local = 10.0.0.0/8, 2001:db8:100::/48\n"
		"local = 192.168.1.7\n"
		"local_numbers = 1000-1999, +4930555*\n"
		"[do-not-record]\n"
		"number = +4930555123\n"
		"number = 0800*, 0100-0199\n"
		"[rule sales-inbound]\n"
		"action = record\n"
		"direction = inbound\n"
		"callee = 1200-1299\n"
		"caller = +49*\n"
		"domain = *.example.com\n"
		"time = 08:00-12:30, 13:00-24:00\n"
		"days = fri-mon\n"
		"sample = 12.5\n"
		"[rule lawyers]\n"
		"action = skip\n"
		"number = 17[0-9][0-9]\n"
		"direction = internal, external\n";
	static const char want[] =
		"{\"default\":\"skip\",\"timezone\":\"Europe/Berlin\","
		"\"do_not_record\":[\"+4930555123\",\"0800*\",\"0100-0199\"],"
		"\"networks\":{\"local\":[\"10.0.0.0/8\",\"2001:db8:100::/48\",\"192.168.1.7/32\"],"
		"\"local_numbers\":[\"1000-1999\",\"+4930555*\"]},"
		"\"rules\":["
		"{\"name\":\"sales-inbound\",\"line\":12,\"action\":\"record\","
		"\"caller\":[\"+49*\"],\"callee\":[\"1200-1299\"],\"number\":[],"
		"\"domain\":[\"*.example.com\"],\"direction\":[\"inbound\"],"
		"\"time\":[{\"from\":\"08:00\",\"to\":\"12:30\",\"zone\":\"Europe/Berlin\"},"
		"{\"from\":\"13:00\",\"to\":\"24:00\",\"zone\":\"Europe/Berlin\"}],"
		"\"days\":[\"mon\",\"fri\",\"sat\",\"sun\"],\"sample_percent\":12.50},"
		"{\"name\":\"lawyers\",\"line\":21,\"action\":\"skip\","
		"\"caller\":[],\"callee\":[],\"number\":[\"17[0-9][0-9]\"],\"domain\":[],"
		"\"direction\":[\"internal\",\"external\"],\"time\":[],\"days\":[],"
		"\"sample_percent\":100.00}]}";
	char *got = rules_json(conf);
	CHECK(got != NULL);
	if (got)
		CHECK_STR(got, want);
	free(got);
}

static void test_empty(void)
{
	static const char want[] =
		"{\"default\":\"record\",\"timezone\":null,\"do_not_record\":[],"
		"\"networks\":{\"local\":[],\"local_numbers\":[]},\"rules\":[]}";
	/* No configuration at all, and a configuration without rules. */
	char *got = rules_json(NULL);
	CHECK(got != NULL);
	if (got)
		CHECK_STR(got, want);
	free(got);
	got = rules_json("[earshot]\ndata = /tmp/x\n");
	CHECK(got != NULL);
	if (got)
		CHECK_STR(got, want);
	free(got);
	/* "any" direction, every day, a range of unequal widths, no zone. */
	got = rules_json("[rule a]\naction = record\ndirection = any\ndays = mon-sun\n"
			 "callee = 5-120\ntime = 22:00-06:00\n");
	CHECK(got != NULL);
	if (got)
		CHECK_STR(got, "{\"default\":\"record\",\"timezone\":null,\"do_not_record\":[],"
			       "\"networks\":{\"local\":[],\"local_numbers\":[]},\"rules\":["
			       "{\"name\":\"a\",\"line\":2,\"action\":\"record\",\"caller\":[],"
			       "\"callee\":[\"5-120\"],\"number\":[],\"domain\":[],"
			       "\"direction\":[],\"time\":[{\"from\":\"22:00\",\"to\":\"06:00\","
			       "\"zone\":null}],\"days\":[],\"sample_percent\":100.00}]}");
	free(got);
	/* consent settings, only on the rule that has them */
	got = rules_json("[rule c]\naction = record\nconsent = required\nconsent_dtmf = 1\n"
			 "consent_header = X-Consent\nno_consent_keep = agent\nagent = callee\n");
	CHECK(got != NULL);
	if (got)
		CHECK(strstr(got, "\"sample_percent\":100.00,\"consent\":{\"mode\":\"required\","
				  "\"header\":\"X-Consent\",\"dtmf\":\"1\",\"dtmf_refuse\":null,"
				  "\"window_s\":15,\"siprec\":true,\"no_consent_keep\":\"agent\","
				  "\"agent\":\"callee\"}}]}") != NULL);
	free(got);
}

/* Strings in patterns are escaped by the JSON writer. */
static void test_escape(void)
{
	char *got = rules_json("[rule \"q\"]\naction = skip\ndomain = a\\\"b\n");
	CHECK(got != NULL);
	if (got)
		CHECK(strstr(got, "\"name\":\"\\\"q\\\"\"") && strstr(got, "[\"a\\\\\\\"b\"]"));
	free(got);
}

int main(void)
{
	RUN(test_full);
	RUN(test_empty);
	RUN(test_escape);
	return CHECK_DONE();
}
