/*
 * verify_evidence.c - `earshot-verify-evidence BUNDLE [--key PUB] [--json]`:
 * checks an evidence bundle of `earshot export ID --evidence` on its own
 * (no index, no data folder): the audio and metadata against the ledger
 * leaf, the leaf against the signed tree head by its inclusion proof, the
 * head's signature, optionally that the signing key is the trusted one,
 * and with --head that the bundle's head extends a head kept outside the
 * recorder (an anchor).
 */
#include "verify/bundle.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot-verify-evidence [--key LEDGER.PUB] [--head FILE] [--json] BUNDLE\n"
		"\n"
		"Check an evidence bundle made by `earshot export ID --evidence -o BUNDLE`\n"
		"(a folder or a .zip) without the recorder's data folder:\n"
		"  files      the bundle holds audio.<ext>, metadata.json, leaf.txt,\n"
		"             proof.txt, head.txt and ledger.pub\n"
		"  leaf       leaf.txt is one ledger entry of a recording\n"
		"  audio      SHA-256 of audio.<ext> = the leaf's plain= (cipher= for a\n"
		"             recording stored unencrypted)\n"
		"  metadata   SHA-256 of metadata.json = the leaf's meta=\n"
		"  id         metadata.json describes the leaf's recording (path, hashes)\n"
		"  proof      proof.txt is for the leaf's index and the head's tree size\n"
		"  signature  head.txt's Ed25519 signature verifies with ledger.pub\n"
		"  inclusion  the audit path leads from the leaf to head.txt's root\n"
		"  key        with --key: ledger.pub is that trusted key; without, a note\n"
		"             with its fingerprint (SHA-256 of ledger.pub) to compare with\n"
		"             the one the recorder publishes\n"
		"  anchor     with --head: head.txt extends a trusted head of FILE (an\n"
		"             anchor file, syslog lines or one head line) signed by the\n"
		"             same key: equal, or by an RFC 9162 consistency proof of\n"
		"             consistency.txt; heads newer than the bundle's cannot be\n"
		"             proven from it (`earshot verify --head` on the recorder can)\n"
		"\n"
		"Options:\n"
		"  --key FILE   the trusted ledger.pub (from the recorder, not the bundle)\n"
		"  --head FILE  signed heads kept outside the recorder (docs/OPERATIONS.md)\n"
		"  --json       one JSON object on stdout\n"
		"  -h, --help   this help\n"
		"\n"
		"A data-subject export (`earshot subject export`) is checked bundle by\n"
		"bundle, and every bundle its manifest names must be in it.\n"
		"\n"
		"Exit codes: 0 every check passed, 1 a check failed or the bundle could\n"
		"not be read, 2 usage.\n");
}

static const char *state_word(enum ev_state s)
{
	switch (s) {
	case EV_OK: return "ok";
	case EV_FAIL: return "FAIL";
	case EV_NOTE: return "note";
	default: return "-";
	}
}

static void utc(int64_t us, char *buf, size_t cap)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRId64 " us", us);
}

static int read_key(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "earshot-verify-evidence: --key %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	uint8_t buf[512];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	*out = malloc(n ? n : 1);
	if (!*out)
		return EXIT_FAIL;
	memcpy(*out, buf, n);
	*len = n;
	return 0;
}

static void print_json(const char *bundle, const char *load_err, const struct ev_result *r,
		       bool trusted)
{
	struct es_json j;
	es_json_init(&j, stdout, true);
	es_json_obj_begin(&j);
	es_json_key(&j, "bundle");
	es_json_str(&j, bundle);
	es_json_key(&j, "ok");
	es_json_bool(&j, !load_err && r->ok);
	if (load_err) {
		es_json_key(&j, "error");
		es_json_str(&j, load_err);
		es_json_obj_end(&j);
		es_json_end(&j);
		return;
	}
	es_json_key(&j, "recording");
	es_json_str(&j, r->have_leaf ? r->id : NULL);
	es_json_key(&j, "audio");
	es_json_str(&j, r->audio[0] ? r->audio : NULL);
	es_json_key(&j, "encrypted_at_rest");
	if (r->have_leaf)
		es_json_bool(&j, r->encrypted);
	else
		es_json_null(&j);
	es_json_key(&j, "seq");
	if (r->have_leaf)
		es_json_int(&j, (int64_t)r->seq);
	else
		es_json_null(&j);
	es_json_key(&j, "tree_size");
	if (r->have_head)
		es_json_int(&j, (int64_t)r->tree_size);
	else
		es_json_null(&j);
	es_json_key(&j, "head_time");
	if (r->have_head) {
		char t[40];
		utc(r->head_time_us, t, sizeof(t));
		es_json_str(&j, t);
	} else {
		es_json_null(&j);
	}
	es_json_key(&j, "key");
	es_json_obj_begin(&j);
	es_json_key(&j, "fingerprint");
	es_json_str(&j, r->fingerprint[0] ? r->fingerprint : NULL);
	es_json_key(&j, "key_id");
	es_json_str(&j, r->have_key ? r->key_id : NULL);
	es_json_key(&j, "source");
	es_json_str(&j, trusted ? "--key" : "bundle");
	es_json_obj_end(&j);
	es_json_key(&j, "checks");
	es_json_arr_begin(&j);
	for (int i = 0; i < EV_NCHECKS; i++) {
		if (r->c[i].state == EV_NOT_RUN)
			continue;
		es_json_obj_begin(&j);
		es_json_key(&j, "check");
		es_json_str(&j, r->c[i].name);
		es_json_key(&j, "result");
		es_json_str(&j, r->c[i].state == EV_OK ? "ok" : r->c[i].state == EV_NOTE ? "note"
										 : "fail");
		es_json_key(&j, "detail");
		es_json_str(&j, r->c[i].why);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	es_json_obj_end(&j);
	es_json_end(&j);
}

static void print_text(const char *bundle, const struct ev_result *r)
{
	printf("evidence bundle %s\n", bundle);
	for (int i = 0; i < EV_NCHECKS; i++) {
		if (r->c[i].state == EV_NOT_RUN)
			continue;
		printf("  %-4s  %-9s  %s\n", state_word(r->c[i].state), r->c[i].name, r->c[i].why);
	}
	if (r->have_leaf && r->have_head) {
		char t[40];
		utc(r->head_time_us, t, sizeof(t));
		printf("recording %s: leaf %" PRIu64 " of a tree of %" PRIu64 " leaves signed %s\n",
		       r->id, r->seq, r->tree_size, t);
	}
	if (r->fingerprint[0])
		printf("ledger key %s, fingerprint (SHA-256 of ledger.pub) %s\n",
		       r->have_key ? r->key_id : "(unreadable)", r->fingerprint);
	unsigned failed = 0;
	for (int i = 0; i < EV_NCHECKS; i++)
		failed += r->c[i].state == EV_FAIL;
	if (r->ok)
		printf("RESULT: ok: the audio and metadata are those the recorder's ledger signed\n");
	else
		printf("RESULT: FAILED: %u check%s failed\n", failed, failed == 1 ? "" : "s");
}

/* ---- a data-subject export (`earshot subject export`, api/subject.c) ----------------
 * A flat ZIP of manifest.json ("format": "earshot-subject-export"), README.txt
 * and one evidence bundle per recording, call-ID.zip: each is checked as a
 * bundle on its own, and every bundle the manifest names must be there. */

static bool is_subject_export(const struct ev_bundle *b)
{
	const struct ev_file *m = ev_bundle_find(b, "manifest.json");
	static const char tag[] = "\"format\": \"earshot-subject-export\"";
	return m && m->len >= sizeof(tag) - 1 && memmem(m->p, m->len, tag, sizeof(tag) - 1);
}

static bool bundle_name(const char *name)
{
	size_t n = strlen(name);
	return n > 9 && !strncmp(name, "call-", 5) && !strcmp(name + n - 4, ".zip");
}

/* The bundles manifest.json names ("evidence": "call-N.zip") that are not
 * in the export: counted, each said on stdout (text) or listed (json). */
static unsigned missing_bundles(const struct ev_bundle *b, struct es_json *j)
{
	const struct ev_file *m = ev_bundle_find(b, "manifest.json");
	static const char key[] = "\"evidence\": \"";
	unsigned missing = 0;
	const uint8_t *p = m->p, *end = m->p + m->len;
	while ((p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1))) {
		p += sizeof(key) - 1;
		const uint8_t *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			break;
		char name[ST_ZIP_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)(q - p), (const char *)p);
		if (!ev_bundle_find(b, name)) {
			missing++;
			if (j)
				es_json_str(j, name);
			else
				printf("  FAIL  manifest   names %s, which is not in the export\n", name);
		}
		p = q;
	}
	return missing;
}

static int verify_subject(const struct ev_bundle *b, const char *path, const uint8_t *trusted,
			  size_t tlen, const char *head, bool json)
{
	static struct ev_result r;
	struct st_head *hv = NULL;
	size_t hn = 0, nb = 0, nfail = 0;
	char herr[480] = "", label[4400];
	bool heads_bad = head && st_heads_read(head, &hv, &hn, herr, sizeof(herr));
	struct es_json j;
	if (json) {
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "export"); es_json_str(&j, path);
		es_json_key(&j, "failed");
		es_json_arr_begin(&j);
	} else {
		printf("data-subject export %s\n", path);
	}
	for (size_t i = 0; i < b->n; i++) {
		if (!bundle_name(b->f[i].name))
			continue;
		struct ev_bundle in;
		char err[600];
		memset(&in, 0, sizeof(in));
		memset(&r, 0, sizeof(r));
		snprintf(label, sizeof(label), "%s:%s", path, b->f[i].name);
		nb++;
		if (ev_bundle_from_zip(&in, b->f[i].p, b->f[i].len, err, sizeof(err))) {
			r.ok = false;
			if (!json)
				printf("evidence bundle %s\n  FAIL  bundle     %s\n", label, err);
		} else {
			ev_bundle_check(&in, trusted, tlen, &r);
			if (head && !heads_bad)
				ev_bundle_check_heads(&in, hv, hn, &r);
			if (heads_bad)
				r.ok = false;
			if (!json)
				print_text(label, &r);
		}
		ev_bundle_free(&in);
		if (!r.ok) {
			nfail++;
			if (json)
				es_json_str(&j, b->f[i].name);
		}
	}
	if (json) {
		es_json_arr_end(&j);
		es_json_key(&j, "missing");
		es_json_arr_begin(&j);
	}
	unsigned missing = missing_bundles(b, json ? &j : NULL);
	bool ok = !nfail && !missing && !heads_bad;
	if (json) {
		es_json_arr_end(&j);
		es_json_key(&j, "bundles"); es_json_int(&j, (int64_t)nb);
		es_json_key(&j, "ok"); es_json_bool(&j, ok);
		es_json_obj_end(&j);
		es_json_end(&j);
		fputc('\n', stdout);
	} else {
		if (heads_bad)
			printf("  FAIL  anchor     --head %s\n", herr);
		printf("EXPORT: %s: %zu evidence bundles, %zu failed, %u missing\n",
		       ok ? "ok" : "FAILED", nb, nfail, missing);
	}
	free(hv);
	return ok ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"head", required_argument, NULL, 'H'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *key = NULL, *head = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'H': head = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "earshot-verify-evidence: give one bundle (a folder or a .zip)\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *path = argv[optind];
	uint8_t *trusted = NULL;
	size_t tlen = 0;
	if (key) {
		int rc = read_key(key, &trusted, &tlen);
		if (rc)
			return rc;
	}
	struct ev_bundle b;
	memset(&b, 0, sizeof(b));
	char err[600];
	int rc = ev_bundle_load(&b, path, err, sizeof(err));
	static struct ev_result r;
	if (rc) {
		if (json)
			print_json(path, err, &r, key != NULL);
		else
			printf("evidence bundle %s\n  FAIL  bundle     %s\nRESULT: FAILED: the "
			       "bundle could not be read\n", path, err);
		ev_bundle_free(&b);
		free(trusted);
		return EXIT_FAIL;
	}
	if (is_subject_export(&b)) {
		rc = verify_subject(&b, path, trusted, tlen, head, json);
		ev_bundle_free(&b);
		free(trusted);
		return rc;
	}
	ev_bundle_check(&b, trusted, tlen, &r);
	if (head) {
		struct st_head *hv = NULL;
		size_t hn = 0;
		char herr[480];
		if (st_heads_read(head, &hv, &hn, herr, sizeof(herr))) {
			r.c[EV_C_ANCHOR].state = EV_FAIL;
			snprintf(r.c[EV_C_ANCHOR].why, sizeof(r.c[EV_C_ANCHOR].why), "--head %s", herr);
			r.ok = false;
		} else {
			ev_bundle_check_heads(&b, hv, hn, &r);
		}
		free(hv);
	}
	if (json)
		print_json(path, NULL, &r, key != NULL);
	else
		print_text(path, &r);
	ev_bundle_free(&b);
	free(trusted);
	return r.ok ? EXIT_OK : EXIT_FAIL;
}
