/* fuzz_qa_form.c - libFuzzer harness for the QA scorecard form definition
 * parser (srv_qa_form_check, src/api/handlers_qa.c), which reads what an
 * admin's client sends to POST /api/forms.  The input is the request body
 * in an exactly sized heap buffer (ASan catches over-reads), parsed as the
 * handler parses it.  A form that passes is written anew in one shape: that
 * shape must parse, pass again and come out byte for byte the same (the
 * stored form is what evaluations and the UI read back). */
#include "api/server_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	cJSON *in = size ? cJSON_ParseWithLength(buf, size) : NULL;
	char *out = NULL;
	const char *why = srv_qa_form_check(in, &out);
	if (why && out)
		abort(); /* a refusal hands out nothing */
	if (!why) {
		if (!out)
			abort(); /* an accepted form is written */
		cJSON *again = cJSON_Parse(out);
		char *out2 = NULL;
		const char *why2 = srv_qa_form_check(again, &out2);
		if (why2 && strcmp(why2, "memory"))
			abort(); /* the stored shape is a valid form */
		if (!why2 && strcmp(out, out2))
			abort(); /* and a fixed point */
		sink += strlen(out);
		free(out2);
		cJSON_Delete(again);
	}
	free(out);
	cJSON_Delete(in);
	free(buf);
	return 0;
}
