/* fuzz_evidence.c - libFuzzer harness for evidence bundles: the ZIP reader
 * (st_zip_parse, st_crc32) on the input, then the bundle checks of
 * earshot-verify-evidence (ev_bundle_check: leaf, head, proof, ledger.pub
 * and metadata.json parsers) on the files it found.  When the input is not
 * a ZIP, it is split at NUL bytes into the six bundle files instead, so
 * that the text parsers see arbitrary bytes too.  The bundle code lives in
 * src/verify/ (the verifier program, not earshot_lib), so it is compiled in
 * here. */
#include "../src/verify/bundle.c"

static volatile size_t sink;

static void check(const struct ev_bundle *b)
{
	static const uint8_t pub[] = "earshot-ledger-pub-v1 "
				     "0000000000000000000000000000000000000000000000000000000000000000\n";
	struct ev_result r;
	ev_bundle_check(b, NULL, 0, &r);
	sink += r.ok + strlen(r.c[EV_C_ID].why);
	ev_bundle_check(b, pub, sizeof(pub) - 1, &r);
	sink += r.ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exactly sized copy, so that ASan sees over-reads */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct ev_bundle b;
	memset(&b, 0, sizeof(b));
	char err[256];
	if (ev_bundle_from_zip(&b, p, size, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < b.n; i++)
			sink += st_crc32(0, b.f[i].p, b.f[i].len);
		check(&b);
	} else {
		sink += strlen(err);
		memset(&b, 0, sizeof(b));
		static const char *const names[] = {"leaf.txt",   "head.txt",      "proof.txt",
						    "ledger.pub", "metadata.json", "audio.opus"};
		size_t at = 0;
		for (size_t k = 0; k < ES_ARRAY_LEN(names) && at <= size; k++) {
			const uint8_t *nul = at < size ? memchr(p + at, 0, size - at) : NULL;
			size_t end = nul ? (size_t)(nul - p) : size;
			ev_bundle_add(&b, names[k], p + at, end - at);
			at = end + 1;
		}
		check(&b);
		struct ev_meta m;
		sink += (size_t)ev_meta_parse(p, size, &m, err, sizeof(err));
	}
	ev_bundle_free(&b);
	free(p);
	return 0;
}
