/* fuzz_alert.c - libFuzzer harness for the alert sections (`[alerts]` and
 * `[alert NAME]`, analytics/alert.c): the input is a configuration file;
 * when it loads, every condition is raised with a few values about a few
 * calls (thresholds, rule and peer filters, de-duplication, rate windows
 * and their summaries, the event JSON), the configured list is written
 * out, and the queued events are dropped (an_alerts_drop_queued: nothing
 * is written to a folder or syslog; the sender is never started). */
#include "analytics/alert.h"
#include "core/config.h"
#include "fuzz_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	struct es_conf c;
	char err[512];
	if (es_conf_parse(&c, "fuzz.conf", text, err, sizeof(err))) {
		free(text);
		return 0;
	}
	struct an_alerts *a = NULL;
	if (an_alerts_from_conf(&a, &c, "/nonexistent/earshot-fuzz", err, sizeof(err)) == 0 && a) {
		struct es_addr peers[2];
		es_addr_parse_ip(sl_cstr("192.0.2.9"), &peers[0]);
		es_addr_parse_ip(sl_cstr("2001:db8::1"), &peers[1]);
		static const char *const rules[] = {"sales", NULL, "SALES", "x"};
		static const double values[] = {-1, 0, 3.1, 5, 1e12};
		struct an_alert_field f[2] = {{.key = "k", .str = "\xff\x01"}, {.key = "n", .num = 1.5}};
		int64_t t = INT64_C(1796000000000000);
		for (int k = 0; k < AN_ALERT_NKINDS; k++) {
			sink += (size_t)(an_alerts_min_threshold(a, (enum an_alert_kind)k) > 0);
			for (size_t v = 0; v < ES_ARRAY_LEN(values); v++)
				for (size_t r = 0; r < ES_ARRAY_LEN(rules); r++) {
					char id[16];
					snprintf(id, sizeof(id), "c%zu", r + v);
					struct an_alert_call call = {.call_id = id, .rule = rules[r],
								     .peers = peers, .npeers = 2};
					sink += (size_t)an_alert_raise(a, (enum an_alert_kind)k, values[v],
								       r == 3 ? NULL : &call, f, 2, t);
					t += 400 * ES_US_PER_SEC;
				}
		}
		FILE *out = fopen("/dev/null", "w");
		if (out) {
			struct es_json j;
			es_json_init(&j, out, false);
			an_alerts_json(a, &j);
			es_json_end(&j);
			fclose(out);
		}
		struct an_alert_stats st;
		an_alerts_stats(a, &st);
		if (st.raised > 100000 || an_alerts_drop_queued(a) > st.raised)
			__builtin_trap();
	}
	an_alerts_free(a);
	es_conf_free(&c);
	free(text);
	return 0;
}
