/* test_audit.c - api/audit.c: the hash-chained audit log; tampering with
 * its rows through SQL is found and named by seq. */
#include "api/api.h"
#include "check.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64] = "/tmp/es-audit-XXXXXX";
static char dbpath[128];
static char pristine[160];

#define T0 INT64_C(1700000000000000)
#define N 1000

static void rm_db(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static struct idx *open_db(void)
{
	char err[256];
	struct idx *ix = NULL;
	if (idx_open(&ix, dbpath, err, sizeof(err))) {
		fprintf(stderr, "idx_open: %s\n", err);
		exit(1);
	}
	return ix;
}

/* Run SQL on its own connection (the tamperer's). */
static void tamper(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
		CHECK(0);
	}
	sqlite3_free(msg);
	sqlite3_close(db);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CHECK_INT(system(cmd), 0);
}

/* Back to the untouched log of N entries. */
static void restore(void)
{
	rm_db(dbpath);
	copy_file(pristine, dbpath);
}

/* Verify and return the broken seq (0 = intact). */
static int64_t verify_bad_seq(const char *what)
{
	struct idx *ix = open_db();
	struct api_audit_check r;
	int err = api_audit_verify(ix, &r);
	idx_close(ix);
	if (err && err != API_EAUTH) {
		fprintf(stderr, "%s: verify failed: %s\n", what, es_strerror(err));
		CHECK(0);
	}
	if (err)
		fprintf(stderr, "  %s: seq %lld: %s\n", what, (long long)r.bad_seq, r.reason);
	CHECK(err ? r.bad_seq != 0 : r.bad_seq == 0);
	return err ? r.bad_seq : 0;
}

struct cnt {
	unsigned n;
	int64_t first, last;
};

static int count(void *ud, const struct idx_audit *a)
{
	struct cnt *c = ud;
	if (!c->n++)
		c->first = a->seq;
	c->last = a->seq;
	return 0;
}

static unsigned list_n(struct idx *ix, struct idx_audit_filter f, struct cnt *c)
{
	memset(c, 0, sizeof(*c));
	CHECK_INT(api_audit_list(ix, &f, count, c), 0);
	return c->n;
}

static void test_append_verify(void)
{
	struct idx *ix = open_db();
	static const char *const users[] = {"alice", "bob", "cli:root", NULL};
	static const char *const actions[] = {"login", "call.listen", "call.search", "user.add"};
	char obj[32], detail[64];
	for (int i = 0; i < N; i++) {
		int64_t seq = 0;
		snprintf(obj, sizeof(obj), "call %d", i % 37);
		/* details with the characters the canonical form escapes */
		snprintf(detail, sizeof(detail), "%s%d", i % 10 == 0 ? "tab\there\\n\nline\r" : "n=",
			 i);
		CHECK_INT(api_audit_append(ix, T0 + i * ES_US_PER_SEC, users[i % 4], actions[i % 4],
					   obj, i % 2 ? "192.0.2.1" : NULL,
					   i % 5 ? API_AUDIT_OK : API_AUDIT_DENIED, detail, &seq),
			  0);
		CHECK_INT(seq, i + 1);
	}
	struct api_audit_check r;
	CHECK_INT(api_audit_verify(ix, &r), 0);
	CHECK_INT(r.entries, N);
	CHECK_INT(r.first_seq, 1);
	CHECK_INT(r.last_seq, N);
	CHECK_INT(r.bad_seq, 0);
	CHECK_INT((int)strlen(r.last_hash), 64);

	/* filters */
	struct cnt c;
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.user = "alice"}, &c), N / 4);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.user = "-"}, &c), N / 4); /* NULL user */
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.action = "call."}, &c), N / 2);
	/* not a prefix without the dot; LIKE wildcards mean nothing */
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.action = "call"}, &c), 0);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.action = "%"}, &c), 0);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.action = "%."}, &c), 0);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.since_us = T0 + 990 * ES_US_PER_SEC}, &c),
		  10);
	CHECK_INT(c.first, 991);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.limit = 3}, &c), 3);
	CHECK_INT(c.first, N - 2); /* the newest three, oldest first */
	CHECK_INT(c.last, N);
	CHECK_INT(list_n(ix, (struct idx_audit_filter){.after_seq = 995}, &c), 5);
	idx_close(ix);
	copy_file(dbpath, pristine);
	CHECK_INT(verify_bad_seq("pristine"), 0);
}

static void test_hash_rule(void)
{
	/* the documented rule, recomputed by hand for one entry */
	struct idx_audit a = {.seq = 1, .time_us = 5, .user = "u", .action = "a", .object = "o",
			      .remote = "r", .outcome = "ok", .detail = "x\ty"};
	char h[IDX_HEX256], want[IDX_HEX256];
	CHECK_INT(api_audit_hash("", &a, h), 0);
	unsigned char buf[128] = {0}, md[32];
	const char *text = "1\t5\tu\ta\to\tr\tok\tx\\ty";
	memcpy(buf + 32, text, strlen(text));
	crypto_hash_sha256(md, buf, 32 + strlen(text));
	sodium_bin2hex(want, sizeof(want), md, sizeof(md));
	CHECK_STR(h, want);
	/* escaping keeps fields apart: a tab inside a field differs from a
	 * field boundary */
	struct idx_audit b = a;
	b.object = "o\tr";
	b.remote = "";
	char h2[IDX_HEX256];
	struct idx_audit c = a;
	c.object = "o";
	c.remote = "r";
	CHECK_INT(api_audit_hash("", &b, h2), 0);
	CHECK_INT(api_audit_hash("", &c, h), 0);
	CHECK(strcmp(h, h2) != 0);
	CHECK_INT(api_audit_hash("zz", &a, h), ES_EINVAL);
}

static void expect_bad(const char *what, const char *sql, int64_t seq)
{
	restore();
	tamper(sql);
	CHECK_INT(verify_bad_seq(what), seq);
}

static void test_tamper(void)
{
	expect_bad("edit detail", "UPDATE audit SET detail = 'nothing to see' WHERE seq = 500",
		   500);
	expect_bad("edit user", "UPDATE audit SET user = 'mallory' WHERE seq = 123", 123);
	expect_bad("edit time", "UPDATE audit SET time_us = time_us + 1 WHERE seq = 777", 777);
	expect_bad("edit outcome", "UPDATE audit SET outcome = 'ok' WHERE seq = 6", 6);
	expect_bad("edit the first", "UPDATE audit SET action = 'x' WHERE seq = 1", 1);
	expect_bad("edit the newest", "UPDATE audit SET remote = '10.0.0.1' WHERE seq = 1000",
		   1000);
	/* an edit whose hash is recomputed breaks the link to the next */
	expect_bad("forged hash", "UPDATE audit SET hash = (SELECT hash FROM audit WHERE seq = 2)"
				  " WHERE seq = 300",
		   300);
	expect_bad("delete middle", "DELETE FROM audit WHERE seq = 400", 401);
	expect_bad("delete range", "DELETE FROM audit WHERE seq BETWEEN 10 AND 20", 21);
	expect_bad("delete first", "DELETE FROM audit WHERE seq = 1", 2);
	/* delete and renumber the rest to close the gap: prev_hash breaks */
	expect_bad("delete and renumber",
		   "DELETE FROM audit WHERE seq = 600;"
		   " UPDATE audit SET seq = seq - 1 WHERE seq > 600",
		   600);
	expect_bad("swap two rows",
		   "UPDATE audit SET seq = -1 WHERE seq = 250;"
		   " UPDATE audit SET seq = 250 WHERE seq = 251;"
		   " UPDATE audit SET seq = 251 WHERE seq = -1",
		   250);
	expect_bad("not hex", "UPDATE audit SET prev_hash = 'zz' WHERE seq = 50", 50);
	/* the documented blind spot: the newest entries removed */
	restore();
	tamper("DELETE FROM audit WHERE seq > 990");
	CHECK_INT(verify_bad_seq("truncated tail"), 0);
	/* appending after damage continues the chain from the stored head */
	restore();
	tamper("UPDATE audit SET detail = 'x' WHERE seq = 10");
	struct idx *ix = open_db();
	int64_t seq;
	CHECK_INT(api_audit_append(ix, T0, "u", "a", NULL, NULL, "ok", NULL, &seq), 0);
	CHECK_INT(seq, N + 1);
	idx_close(ix);
	CHECK_INT(verify_bad_seq("damaged, then appended"), 10);
}

static void test_empty(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/empty.sqlite", dir);
	struct idx *ix = NULL;
	char err[256];
	CHECK_INT(idx_open(&ix, p, err, sizeof(err)), 0);
	struct api_audit_check r;
	CHECK_INT(api_audit_verify(ix, &r), 0);
	CHECK_INT(r.entries, 0);
	CHECK_INT(r.last_seq, 0);
	idx_close(ix);
	rm_db(p);
}

/* A search's words are sealed in the detail, the rest as given; the chain
 * covers the sealed form; only the key opens it (issue #19). */
static void test_sealed_params(void)
{
	char p[160], err[256];
	snprintf(p, sizeof(p), "%s/sealed.sqlite", dir);
	struct idx *ix = NULL;
	CHECK_INT(idx_open(&ix, p, err, sizeof(err)), 0);
	struct es_buf d, shown;
	es_buf_init(&d);
	es_buf_init(&shown);
	CHECK_INT(es_buf_printf(&d, "2 results"), 0);
	/* no key: withheld, never written as typed */
	CHECK_INT(api_audit_put_param(ix, &d, "text", "refund please"), 0);
	CHECK_STR((const char *)d.p, "2 results; text=[withheld]");
	static const uint8_t key[IDX_TR_KEY_BYTES] = {9, 9};
	idx_set_search_key(ix, key);
	es_buf_reset(&d);
	CHECK_INT(es_buf_printf(&d, "2 results"), 0);
	CHECK_INT(api_audit_put_param(ix, &d, "party", "alice"), 0);
	CHECK_INT(api_audit_put_param(ix, &d, "text", "\"refund please\""), 0);
	CHECK_INT(api_audit_put_param(ix, &d, "keyword", "cancel*"), 0);
	const char *det = (const char *)d.p;
	CHECK(!strstr(det, "refund") && !strstr(det, "cancel") && strstr(det, "; party=alice"));
	CHECK(strstr(det, "; text=" IDX_SEAL_PREFIX) && strstr(det, "; keyword=" IDX_SEAL_PREFIX));
	CHECK_INT(api_audit_append(ix, T0, "alice", "call.search", NULL, "192.0.2.1",
				   API_AUDIT_OK, det, NULL),
		  0);
	struct api_audit_check r;
	CHECK_INT(api_audit_verify(ix, &r), 0);
	unsigned opened = 0;
	CHECK_INT(api_audit_reveal(ix, det, &shown, &opened), 0);
	CHECK_INT(opened, 2);
	CHECK_STR((const char *)shown.p,
		  "2 results; party=alice; text=\"refund please\"; keyword=cancel*");
	/* another key (another index's) opens nothing, and says so */
	static const uint8_t other[IDX_TR_KEY_BYTES] = {8};
	idx_set_search_key(ix, other);
	CHECK_INT(api_audit_reveal(ix, det, &shown, &opened), 0);
	CHECK_INT(opened, 0);
	CHECK(strstr((const char *)shown.p, "[cannot be opened]") &&
	      !strstr((const char *)shown.p, "refund"));
	/* the sealed form is what the chain covers: an edited one is found */
	idx_close(ix);
	es_buf_free(&d);
	es_buf_free(&shown);
	char sql[200];
	snprintf(sql, sizeof(sql), "UPDATE audit SET detail = replace(detail, 'text=sealed:',"
				   " 'text=sealed:A') WHERE seq = 1");
	sqlite3 *db;
	CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(idx_open(&ix, p, err, sizeof(err)), 0);
	CHECK_INT(api_audit_verify(ix, &r), API_EAUTH);
	CHECK_INT(r.bad_seq, 1);
	idx_close(ix);
	rm_db(p);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/index.sqlite", dir);
	snprintf(pristine, sizeof(pristine), "%s/pristine.sqlite", dir);
	RUN(test_hash_rule);
	RUN(test_append_verify);
	RUN(test_tamper);
	RUN(test_empty);
	RUN(test_sealed_params);
	rm_db(dbpath);
	unlink(pristine);
	rmdir(dir);
	return CHECK_DONE();
}
