/* test_manifest.c - a backup's manifest (src/store/manifest.c): format and
 * parse back, the strict parser's refusals (a path leaving the folder, a
 * path twice, a changed byte of form, truncation, text after the end), and
 * the signature by a real ledger's key: valid, over a changed manifest,
 * by another key, malformed. */
#include "check.h"
#include "store/manifest.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *H1 = "1650b7ed323d586ac33d4a51e3136443d301777640be0aec875cdc265c456f1f";
static const char *H2 = "e8f8841eb0d45f79f35c4d68ba5c7daf4b7183c43c5c4cdb7a94ea509aee391d";
static char dir[64];

static void make(struct st_manifest *m)
{
	st_manifest_init(m);
	m->created_us = 1796615730972260;
	snprintf(m->key_id, sizeof(m->key_id), "2e75a842f4b5fe02");
	CHECK_INT(st_manifest_add(m, "index.sqlite", 212992, 0100640, H1), 0);
	CHECK_INT(st_manifest_add(m, "keys/dek/recordings~2026~01~15~1.opus.enc.dek", 120, 0600, H2), 0);
}

static int parse_text(const char *t, char *err, size_t cap)
{
	struct st_manifest m;
	int rc = st_manifest_parse(t, strlen(t), &m, err, cap);
	if (!rc)
		st_manifest_free(&m);
	return rc;
}

static void test_round_trip(void)
{
	struct st_manifest m, back;
	struct es_buf b;
	char err[256];
	es_buf_init(&b);
	make(&m);
	CHECK_INT(st_manifest_add(&m, "../etc/passwd", 1, 0600, H1), ES_EINVAL);
	CHECK_INT(st_manifest_add(&m, "/abs", 1, 0600, H1), ES_EINVAL);
	CHECK_INT(st_manifest_add(&m, "a//b", 1, 0600, H1), ES_EINVAL);
	CHECK_INT(st_manifest_add(&m, "a/./b", 1, 0600, H1), ES_EINVAL);
	CHECK_INT(st_manifest_add(&m, "x", 1, 0600, "ABC"), ES_EINVAL);
	CHECK_INT(st_manifest_format(&m, &b), 0);
	CHECK_INT(es_buf_append(&b, "", 1), 0);
	const char *t = (const char *)b.p;
	CHECK(strstr(t, "\"mode\":416") != NULL); /* 0640, the type bits dropped */
	CHECK_INT(st_manifest_parse(t, strlen(t), &back, err, sizeof(err)), 0);
	CHECK_INT(back.n, 2);
	CHECK_STR(back.files[1].path, "keys/dek/recordings~2026~01~15~1.opus.enc.dek");
	CHECK_INT(back.files[0].size, 212992);
	CHECK_STR(back.key_id, "2e75a842f4b5fe02");
	st_manifest_free(&back);

	/* every refusal, on a copy of the good text */
	char *bad = strdup(t);
	char *p = strstr(bad, "index.sqlite");
	memcpy(p, "../x.sqlite0", 12); /* same length, leaves the folder */
	CHECK_INT(parse_text(bad, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "manifest.json:2") != NULL);
	free(bad);
	bad = strdup(t);
	*strstr(bad, "\"size\":212992") = ' '; /* not the canonical form */
	CHECK_INT(parse_text(bad, err, sizeof(err)), ES_EPARSE);
	free(bad);
	bad = strdup(t);
	bad[strlen(bad) - 1] = 0; /* no final newline */
	CHECK_INT(parse_text(bad, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "truncated") != NULL);
	bad[strlen(bad) - 3] = 0; /* no "]}" */
	CHECK_INT(parse_text(bad, err, sizeof(err)), ES_EPARSE);
	free(bad);
	struct es_buf more;
	es_buf_init(&more);
	CHECK_INT(es_buf_printf(&more, "%sextra\n", t), 0);
	CHECK_INT(es_buf_append(&more, "", 1), 0);
	CHECK_INT(parse_text((const char *)more.p, err, sizeof(err)), ES_EPARSE);
	es_buf_free(&more);
	/* a path twice */
	struct st_manifest d;
	make(&d);
	CHECK_INT(st_manifest_add(&d, "index.sqlite", 5, 0600, H2), 0);
	es_buf_reset(&more);
	CHECK_INT(st_manifest_format(&d, &more), 0);
	CHECK_INT(st_manifest_parse((const char *)more.p, more.len, &back, err, sizeof(err)),
		  ES_EPARSE);
	CHECK(strstr(err, "listed twice") != NULL);
	es_buf_free(&more);
	st_manifest_free(&d);
	CHECK_INT(parse_text("", err, sizeof(err)), ES_EPARSE);
	st_manifest_free(&m);
	es_buf_free(&b);
}

static void test_signature(void)
{
	char l1[128], l2[128], err[256], sig[ST_MANIFEST_SIG_MAX], pub[160];
	struct st_ledger *l;
	snprintf(l1, sizeof(l1), "%s/l1", dir);
	snprintf(l2, sizeof(l2), "%s/l2", dir);
	CHECK_INT(st_ledger_open(&l, l1, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	st_ledger_close(l);
	CHECK_INT(st_ledger_open(&l, l2, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	st_ledger_close(l);
	uint8_t pk1[ST_LEDGER_PK_LEN], pk2[ST_LEDGER_PK_LEN];
	snprintf(pub, sizeof(pub), "%s/ledger.pub", l1);
	CHECK_INT(st_ledger_read_pub(pub, pk1, err, sizeof(err)), 0);
	snprintf(pub, sizeof(pub), "%s/ledger.pub", l2);
	CHECK_INT(st_ledger_read_pub(pub, pk2, err, sizeof(err)), 0);

	const char *text = "manifest bytes\n";
	CHECK_INT(st_manifest_sign(text, strlen(text), l1, NULL, sig, err, sizeof(err)), 0);
	CHECK(!strncmp(sig, "earshot-backup-sig-v1 ", 22));
	CHECK_INT(st_manifest_check(text, strlen(text), sig, strlen(sig), pk1, err, sizeof(err)), 0);
	CHECK_INT(st_manifest_check("manifest bytez\n", 15, sig, strlen(sig), pk1, err, sizeof(err)),
		  ES_ECRYPTO);
	CHECK(strstr(err, "altered") != NULL);
	CHECK_INT(st_manifest_check(text, strlen(text), sig, strlen(sig), pk2, err, sizeof(err)),
		  ES_ECRYPTO);
	CHECK(strstr(err, "another key") != NULL);
	CHECK_INT(st_manifest_check(text, strlen(text), sig, strlen(sig) - 1, pk1, err, sizeof(err)),
		  ES_ECRYPTO);
	/* the key must be there and match ledger.pub */
	char key[160], moved[160];
	snprintf(key, sizeof(key), "%s/ledger.key", l1);
	snprintf(moved, sizeof(moved), "%s/moved.key", dir);
	CHECK_INT(rename(key, moved), 0);
	CHECK_INT(st_manifest_sign(text, strlen(text), l1, NULL, sig, err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(st_manifest_sign(text, strlen(text), l1, moved, sig, err, sizeof(err)), 0);
	snprintf(key, sizeof(key), "%s/ledger.key", l2);
	CHECK_INT(st_manifest_sign(text, strlen(text), l1, key, sig, err, sizeof(err)), ES_EFORMAT);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/earshot-manifest-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_round_trip);
	RUN(test_signature);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
