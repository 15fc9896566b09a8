/* fuzz_evidence.c - libFuzzer harness for evidence bundles: the ZIP reader
 * (st_zip_parse, st_crc32) on the input, then the bundle checks of
 * earshot-verify-evidence (ev_bundle_check: leaf, head, proof, ledger.pub
 * and metadata.json parsers) on the files it found.  When the input is not
 * a ZIP, it is split at NUL bytes into the six bundle files instead, so
 * that the text parsers see arbitrary bytes too (the seventh part is
 * consistency.txt).  Each bundle is also checked against trusted heads
 * (ev_bundle_check_heads): its own head.txt, and that head with each size
 * below it.  The bundle code lives in src/verify/ (the verifier program,
 * not earshot_lib), so it is compiled in here. */
#include "../src/verify/bundle.c"
#include "../src/verify/bundle_head.c"

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
	/* trusted heads: the bundle's own, then smaller sizes with the roots
	 * consistency.txt claims (signatures will not verify: the paths up to
	 * that point are what is exercised) */
	struct st_head t[4];
	const struct ev_file *hf = ev_bundle_find(b, "head.txt");
	char why[128];
	size_t nt = 0;
	if (hf && hf->len > 1 &&
	    st_head_parse((const char *)hf->p, hf->len - 1, &t[0], why, sizeof(why)) == 0) {
		nt = 1;
		for (uint64_t k = 1; k < 4 && k <= t[0].size; k++) {
			t[nt] = t[0];
			t[nt++].size = t[0].size - k;
		}
	}
	ev_bundle_check_heads(b, t, nt, &r);
	sink += r.ok + strlen(r.c[EV_C_ANCHOR].why);
	const struct ev_file *cf = ev_bundle_find(b, "consistency.txt");
	if (cf && nt) {
		struct st_cons_entry *v = calloc(ST_CONS_MAX, sizeof(*v));
		size_t nv = 0;
		uint64_t n;
		if (v && st_cons_parse(cf->p, cf->len, &n, v, ST_CONS_MAX, &nv, why, sizeof(why)) == 0)
			for (size_t i = 0; i < nt; i++)
				sink += (size_t)st_cons_check(&t[0], v, nv, &t[i], why, sizeof(why));
		free(v);
	}
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
		static const char *const names[] = {"leaf.txt",      "head.txt",   "proof.txt",
						    "ledger.pub",    "metadata.json", "audio.opus",
						    "consistency.txt"};
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
