/* fuzz_totp.c - libFuzzer harness for what a client sends to the second
 * factor (src/api/auth_totp.c): a typed code (api_totp_check), a recovery
 * code (api_recovery_norm) and a base32 secret (api_base32_decode, at
 * several output sizes).  Bytes that decode must encode back to the same
 * letters (upper case, without spaces or padding). */
#include "api/auth_totp.h"
#include "fuzz_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_text(data, size);
	if (!s)
		return 0;
	static const uint8_t key[API_TOTP_KEY_LEN] = {1, 2, 3};
	int64_t last = 0;
	int rc = api_totp_check(key, sizeof(key), s, 1700000000, &last);
	if (rc != 0 && last != 0)
		abort(); /* a refused code leaves the last step alone */
	char norm[32];
	if (api_recovery_norm(s, norm, sizeof(norm)) == 0 && strlen(norm) != 16)
		abort();
	static const size_t caps[] = {0, 1, 5, 64, 4096};
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		uint8_t *out = malloc(caps[k] ? caps[k] : 1);
		size_t n = 0;
		if (out && api_base32_decode(s, out, caps[k], &n) == 0) {
			if (n > caps[k])
				abort();
			size_t cap = n * 8 / 5 + 2;
			char *back = malloc(cap);
			if (back && api_base32_encode(out, n, back, cap) == 0) {
				/* the input's letters, upper case, without ' ' and '=' */
				size_t j = 0;
				for (const char *c = s; *c; c++) {
					if (*c == ' ' || *c == '=')
						continue;
					if (toupper((unsigned char)*c) != back[j++])
						abort();
				}
				if (back[j] != '\0')
					abort();
			}
			free(back);
		}
		free(out);
	}
	free(s);
	return 0;
}
