/* fuzz_manifest.c - libFuzzer harness for a backup's manifest
 * (src/store/manifest.c), which `earshot restore` reads from a folder or a
 * bucket it may not trust: st_manifest_parse on the bytes before the first
 * NUL, in an exactly sized heap buffer so that ASan catches over-reads; a
 * manifest that parses must format back to the same bytes, and every path
 * must stay inside the folder (no "..", no leading '/').  The bytes after
 * the NUL are checked as its manifest.sig with a fixed public key. */
#include "store/manifest.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t mlen = nul ? (size_t)(nul - data) : size;
	size_t slen = nul ? size - mlen - 1 : 0;
	char *text = malloc(mlen ? mlen : 1), *sig = malloc(slen ? slen : 1);
	if (!text || !sig)
		goto out;
	memcpy(text, data, mlen);
	if (slen)
		memcpy(sig, nul + 1, slen);
	struct st_manifest m;
	char err[512];
	if (st_manifest_parse(text, mlen, &m, err, sizeof(err)) == 0) {
		struct es_buf b;
		es_buf_init(&b);
		if (st_manifest_format(&m, &b) == 0 && (b.len != mlen || memcmp(b.p, text, mlen)))
			abort(); /* the parser accepted a form the writer does not write */
		for (size_t i = 0; i < m.n; i++)
			if (m.files[i].path[0] == '/' || strstr(m.files[i].path, ".."))
				abort();
		es_buf_free(&b);
		st_manifest_free(&m);
	}
	static const uint8_t pk[ST_LEDGER_PK_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	st_manifest_check(text, mlen, sig, slen, pk, err, sizeof(err));
out:
	free(text);
	free(sig);
	return 0;
}
