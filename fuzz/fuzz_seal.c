/* fuzz_seal.c - libFuzzer harness for the sealed values read back from the
 * index (issue #19): idx_unseal over a stored form (calls.speech_json,
 * saved_searches.query) and api_audit_reveal over an audit entry's detail,
 * both from a copy of the index someone may have edited.  A fixed search
 * key (bytes 0x42).  Checks: nothing but a stored form opens; the input
 * sealed opens back to itself, and a detail made of it reveals to it. */
#include "api/api.h"
#include "index/index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct idx *ix;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/es-fuzz-seal-XXXXXX";
	char path[64], err[256];
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	if (idx_open(&ix, path, err, sizeof(err)))
		abort();
	static const uint8_t key[IDX_TR_KEY_BYTES] = {0x42, 0x42, 0x42, 0x42};
	idx_set_search_key(ix, key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct es_buf out, sealed, detail;
	es_buf_init(&out);
	es_buf_init(&sealed);
	es_buf_init(&detail);
	if (!s)
		goto done;
	memcpy(s, data, size);
	s[size] = '\0';
	/* the input as a stored form: opens only if it is one */
	int e = idx_unseal(ix, IDX_SEAL_AUDIT, 0, s, size, &out);
	if (!e && !idx_is_sealed(s))
		abort();
	/* the input as an audit detail */
	unsigned opened = 0;
	if (!api_audit_reveal(ix, s, &out, &opened) && (!out.p || out.p[out.len] != '\0'))
		abort();
	/* the input sealed opens back to itself, bound to its label and ctx */
	if (!idx_seal(ix, IDX_SEAL_SPEECH, 7, data, size, 64, &sealed)) {
		if (idx_unseal(ix, IDX_SEAL_SPEECH, 7, (const char *)sealed.p, sealed.len, &out) ||
		    out.len != size || memcmp(out.p, data, size))
			abort();
		if (!idx_unseal(ix, IDX_SEAL_SPEECH, 8, (const char *)sealed.p, sealed.len, &out) ||
		    !idx_unseal(ix, IDX_SEAL_AUDIT, 7, (const char *)sealed.p, sealed.len, &out))
			abort();
	}
	/* a search's value (no NUL inside) as the audit writes and reveals it */
	if (strlen(s) == size && size <= 120 && !strstr(s, IDX_SEAL_PREFIX) &&
	    !api_audit_put_param(ix, &detail, "text", s)) {
		if (api_audit_reveal(ix, (const char *)detail.p, &out, &opened) || opened != 1 ||
		    out.len != size + 7 || memcmp(out.p, "; text=", 7) ||
		    memcmp(out.p + 7, data, size))
			abort();
	}
done:
	es_buf_free(&out);
	es_buf_free(&sealed);
	es_buf_free(&detail);
	free(s);
	return 0;
}
