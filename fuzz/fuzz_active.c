/* fuzz_active.c - libFuzzer harness for rec_active_parse, the reader of
 * DATA/run/active.tsv (the calls a running recorder has open, read by the
 * API server): the input is the file's bytes in an exactly sized heap
 * buffer, so that ASan catches over-reads; every call handed out must be
 * NUL-terminated in each field. */
#include "record/record.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void on_call(void *ud, const struct rec_active *a)
{
	(void)ud;
	sink += strlen(a->call_id) + strlen(a->caller_user) + strlen(a->caller_display) +
		strlen(a->caller_uri) + strlen(a->callee_user) + strlen(a->callee_display) +
		strlen(a->callee_uri) + strlen(a->state) + strlen(a->rule) + strlen(a->codec) +
		a->streams + (size_t)a->packets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct rec_active_hdr hdr;
	char err[256];
	if (rec_active_parse(buf, size, &hdr, on_call, NULL, err, sizeof(err)) != 0)
		sink += strlen(err);
	free(buf);
	return 0;
}
