/* fuzz_metrics.c - libFuzzer harness for api_status_scan and
 * api_metrics_render, the reader of DATA/run/status.json behind GET
 * /metrics (api/metrics.h): the input is the file's bytes in an exactly
 * sized heap buffer, so that ASan catches over-reads; every path handed
 * out must be a NUL-terminated string within the path bound, and the
 * exposition must be text lines. */
#include "api/metrics.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void on_value(void *ud, const char *path, double num, const char *str, size_t n)
{
	(void)ud;
	size_t l = strlen(path);
	if (l > 96)
		abort();
	sink += l + (size_t)(num == num) + (str ? n : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	api_status_scan(buf, size, on_value, NULL);
	struct es_buf out;
	es_buf_init(&out);
	uint64_t codes[API_HTTP_CODES] = {[100] = 3};
	if (api_metrics_render(&out, NULL, buf, size, 1700000000000000LL, codes) == 0 &&
	    (out.len == 0 || out.p[out.len - 1] != '\n'))
		abort();
	es_buf_free(&out);
	free(buf);
	return 0;
}
