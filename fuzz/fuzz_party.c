/* fuzz_party.c - libFuzzer harness for the number normalisation of the
 * search's party text (api_party_query, src/api/auth.c) and of users'
 * numbers (api_numbers_norm, api_party_matches), which read what a client
 * sends.  The input is split at its first NUL-free 0x0a: the first part is
 * the query, the rest a user's number list.  api_party_query must return
 * its input or a digits-only string that fits its buffer, at any size. */
#include "api/api.h"
#include "fuzz_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size);
	if (!s)
		return 0;
	char *list = strchr(s, '\n');
	if (list)
		*list++ = '\0';
	static const size_t caps[] = {1, 2, 4, 16, 300};
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		char *out = malloc(caps[k]);
		if (!out)
			break;
		const char *q = api_party_query(s, out, caps[k]);
		if (q != s) {
			size_t n = strnlen(out, caps[k]);
			if (q != out || n == 0 || n >= caps[k])
				abort(); /* a normalised number fits, NUL-terminated */
			for (size_t i = 0; i < n; i++)
				if (!isdigit((unsigned char)out[i]))
					abort(); /* only digits are left of a number */
		}
		sink += strlen(q);
		free(out);
	}
	if (list) {
		char norm[IDX_NUMBERS_MAX + 1];
		if (api_numbers_norm(list, norm, sizeof(norm)) == 0)
			sink += api_party_matches(norm, s, NULL);
	}
	free(s);
	return 0;
}
