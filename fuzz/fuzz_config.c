/* fuzz_config.c - libFuzzer harness for es_conf_parse, the typed getters and
 * the rules built from it: the input is a configuration file, copied into an
 * exactly sized NUL-terminated heap buffer so that ASan catches over-reads;
 * when it loads, a few fixed calls are decided against it, by the recording
 * rules and by the retention policies. */
#include "core/config.h"
#include "policy/policy.h"
#include "fuzz_text.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void decide_some(const struct pol_rules *r)
{
	static const struct {
		const char *id, *caller, *callee, *chost, *ehost, *cip, *eip;
		int64_t start_us;
	} calls[] = {
		{"a@x", "+4930555123", "1201", "x.example.com", NULL, "203.0.113.5", "10.1.2.3",
		 INT64_C(1736845200000000)},
		{"b@y", "1001", "+12125551234", NULL, "Example.COM", "2001:db8:100::5",
		 "::ffff:10.0.0.1", INT64_C(1751869800000000)},
		{NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
		{"c", "", "", "", "", "0.0.0.0", "::", INT64_C(-86400000001)},
		{"d", "123456789012345678901234567890", "0", "*", "[", "255.255.255.255",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", INT64_MAX / 2},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(calls); i++) {
		struct es_addr a = {0}, b = {0};
		bool ha = calls[i].cip && es_addr_parse_ip(sl_cstr(calls[i].cip), &a) == 0;
		bool hb = calls[i].eip && es_addr_parse_ip(sl_cstr(calls[i].eip), &b) == 0;
		struct pol_call c = {
			.call_id = calls[i].id,
			.caller_user = calls[i].caller,
			.callee_user = calls[i].callee,
			.caller_host = calls[i].chost,
			.callee_host = calls[i].ehost,
			.caller_addr = ha ? &a : NULL,
			.callee_addr = hb ? &b : NULL,
			.start_us = calls[i].start_us,
		};
		struct pol_decision d;
		pol_decide(r, &c, &d);
		if (!d.rule || (d.sampled_out && d.record))
			__builtin_trap();
		sink += strlen(d.rule) + d.record + strlen(pol_direction_name(d.direction));
	}
}

static void retain_some(const struct pol_retention *r)
{
	static const struct pol_ret_call calls[] = {
		{.rule = "trading", .caller = "+4930555123", .callee = "1201", .source = "live",
		 .flags = "one_sided,recovered", .tags = "mifid,phi", .start_us = INT64_C(1736845200000000)},
		{.start_us = 0},
		{.rule = "", .caller = "", .callee = "", .source = "", .flags = ",,", .tags = ",",
		 .start_us = INT64_C(-86400000001)},
		{.caller = "99999999999999999999", .start_us = INT64_MAX / 4},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(calls); i++) {
		struct pol_ret_decision d;
		pol_retention_decide(r, &calls[i], &d);
		if (!d.policy || !pol_retention_known(r, d.policy, NULL))
			__builtin_trap();
		sink += strlen(d.policy) + (size_t)d.keep_until_us + (size_t)d.retain_until_us;
	}
	sink += (size_t)pol_retention_max_bytes(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	char err[256];
	struct es_conf c;
	if (es_conf_parse(&c, "fuzz.conf", text, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < c.n; i++) {
			const struct es_conf_entry *e = &c.e[i];
			if (!e->section || !e->key || !e->value || !e->line)
				__builtin_trap();
			bool b;
			int64_t v;
			uint64_t u;
			sink += (size_t)es_conf_bool(&c, e->section, e->key, &b, err, sizeof(err));
			sink += (size_t)es_conf_int(&c, e->section, e->key, -5, 5, &v, err, sizeof(err));
			sink += (size_t)es_conf_duration(&c, e->section, e->key, &v, err, sizeof(err));
			sink += (size_t)es_conf_size(&c, e->section, e->key, &u, err, sizeof(err));
		}
		static const char *const known[] = {"action", "caller", NULL};
		sink += (size_t)es_conf_check_keys(&c, "rule", known, err, sizeof(err));
		struct pol_rules *r = NULL;
		if (pol_rules_from_conf(&r, &c, err, sizeof(err)) == 0) {
			decide_some(r);
			pol_rules_free(r);
		}
		struct pol_retention *ret = NULL;
		if (pol_retention_from_conf(&ret, &c, err, sizeof(err)) == 0) {
			retain_some(ret);
			pol_retention_free(ret);
		}
		es_conf_free(&c);
	}
	sink += strlen(err);
	free(text);
	return 0;
}
