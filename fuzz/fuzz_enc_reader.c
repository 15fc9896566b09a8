/* fuzz_enc_reader.c - libFuzzer harness for the .enc reader: the input is an
 * encrypted file (header parse, layout from the size, chunk authentication)
 * opened with a fixed data key, the bytes 0..31 that the seeds in
 * fuzz/corpus/enc_reader/ were made with (tests/unit/test_crypt.c,
 * ES_CRYPT_SEEDS).  When it opens, everything is read whole and then in
 * pieces at offsets taken from the input, and the two must agree. */
#include "store/crypt.h"

#include <stdlib.h>
#include <string.h>

static struct st_dek *dek;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dek) {
		uint8_t key[ST_KEY_BYTES];
		for (int i = 0; i < ST_KEY_BYTES; i++)
			key[i] = (uint8_t)i;
		dek = st_dek_from_bytes(key);
		if (!dek)
			return 0;
	}
	/* An exactly sized copy so that ASan sees any over-read. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	char err[512];
	struct st_enc_reader *r;
	if (st_enc_reader_open_mem(&r, copy, size, "fuzz.enc", dek, err, sizeof(err)) == 0) {
		uint64_t n = st_enc_reader_size(r);
		if (n > size)
			__builtin_trap(); /* plaintext is never larger than the file */
		uint8_t *all = malloc(n + 1), *part = malloc(n + 1);
		size_t got = 0;
		int rc = all && part ? st_enc_reader_pread(r, all, n, 0, &got) : -1;
		if (rc == 0) {
			if (got != n)
				__builtin_trap();
			uint64_t off = size ? data[size - 1] % (n + 2) : 0;
			size_t len = size > 1 ? data[size - 2] * 7u + 1 : 1;
			while (off < n) {
				size_t g;
				if (st_enc_reader_pread(r, part, len, off, &g) || g == 0 ||
				    memcmp(part, all + off, g) != 0)
					__builtin_trap();
				off += g;
			}
		}
		free(all);
		free(part);
		st_enc_reader_close(r);
	}
	free(copy);
	return 0;
}
