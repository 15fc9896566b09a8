/* fuzz_api_body.c - libFuzzer harness for the REST API's request body
 * reader (srv_body_fields, src/api/routes.c): every field type (string,
 * boolean, list, non-negative integer) at once, as the admin and token
 * endpoints read them, then the one-key reader (srv_body_one).  The input
 * is the body in an exactly sized heap buffer, so that ASan catches
 * over-reads; every string handed out must be NUL-terminated and NUL-free,
 * an integer never negative. */
#include "api/server_internal.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct es_buf body = {.p = buf, .len = size, .cap = size};
	struct srv_jfield f[] = {
		{.key = "name", .type = SRV_JSTR},
		{.key = "password", .type = SRV_JSTR},
		{.key = "label", .type = SRV_JSTR},
		{.key = "disabled", .type = SRV_JBOOL},
		{.key = "numbers", .type = SRV_JLIST},
		{.key = "expires_days", .type = SRV_JUINT},
	};
	const size_t n = sizeof(f) / sizeof(f[0]);
	const char *bad = NULL;
	if (srv_body_fields(&body, f, n, &bad) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (f[i].s)
				sink += strlen(f[i].s);
			if (f[i].i < 0)
				abort(); /* SRV_JUINT hands out non-negative values only */
			sink += (size_t)f[i].i + f[i].b;
		}
		srv_fields_free(f, n);
	} else if (bad) {
		sink += strlen(bad);
	}
	char *one = NULL;
	if (srv_body_one(&body, "password", &one) == 0) {
		sink += strlen(one);
		free(one);
	}
	free(buf);
	return 0;
}
