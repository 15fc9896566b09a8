/* test_index_pg.c - what only the PostgreSQL engine of the index has to
 * show, on a throwaway cluster (tests/pg_cluster.sh; exit 77 without
 * PostgreSQL): several processes migrating and writing at once (no lost
 * call, no duplicate, an intact audit chain), a server restart between
 * two writes, a password never in a message, and the access-control,
 * tag and hold storage (a conflict inside a transaction leaves it usable,
 * names compare in any case), text that is not UTF-8. */
#include "check.h"
#include "api/api.h"
#include "index/index.h"
#include "index/index_internal.h" /* idx_migrations: the upgrade by step name */
#include "pg_helper.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char url[160];

static struct idx *open_ix(void)
{
	char err[512];
	struct idx *ix = NULL;
	if (idx_open(&ix, url, err, sizeof(err))) {
		fprintf(stderr, "idx_open: %s\n", err);
		exit(1);
	}
	return ix;
}

static struct idx_call call(const char *id, int64_t start_s)
{
	return (struct idx_call){
		.call_id = id,
		.caller = {.uri = "sip:alice@example.com", .user = "alice"},
		.callee = {.uri = "sip:bob@example.com", .user = "bob"},
		.start_us = start_s * 1000000,
		.answer_us = start_s * 1000000 + 1,
		.end_us = start_s * 1000000 + 2000000,
		.outcome = "answered",
		.source = "import",
	};
}

#define WRITERS 3
#define PER_WRITER 150
#define SHARED 40

/* One writer process: its own calls, the shared ones (which every writer
 * also inserts: exactly one row each must result), an audit entry per
 * call.  Exit 0 when every write succeeded. */
static int writer(int k)
{
	struct idx *ix = open_ix();
	char id[64];
	int bad = 0;
	for (int i = 0; i < PER_WRITER + SHARED; i++) {
		bool dup;
		if (i < PER_WRITER)
			snprintf(id, sizeof(id), "w%d-%d@x", k, i);
		else
			snprintf(id, sizeof(id), "shared-%d@x", i);
		struct idx_call c = call(id, 1000 + i);
		bad |= idx_begin(ix) != 0;
		bad |= idx_call_insert(ix, &c, &dup) != 0;
		bad |= c.id <= 0;
		bad |= idx_commit(ix) != 0;
		bad |= api_audit_append(ix, 1000 + i, "w", "call.insert", id, "", "ok", "", NULL) != 0;
		if (bad) {
			fprintf(stderr, "writer %d at %d: %s\n", k, i, idx_errmsg(ix));
			break;
		}
	}
	idx_close(ix);
	return bad;
}

static int count_fn(void *ud, const struct idx_call *c)
{
	(void)c;
	++*(int64_t *)ud;
	return 0;
}

static void test_concurrent_writers(void)
{
	pgh_fresh(url, sizeof(url));
	/* the migration races too: every writer opens a fresh database */
	pid_t pid[WRITERS];
	for (int k = 0; k < WRITERS; k++)
		if ((pid[k] = fork()) == 0)
			_exit(writer(k));
	for (int k = 0; k < WRITERS; k++) {
		int st;
		CHECK(waitpid(pid[k], &st, 0) == pid[k]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct idx *ix = open_ix();
	int64_t n = 0, listed = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, WRITERS * PER_WRITER + SHARED);
	CHECK_INT(idx_calls_list(ix, &(struct idx_filter){.party = "alice"}, count_fn, &listed), 0);
	CHECK_INT(listed, n);
	char v[32];
	pgh_text(url, "SELECT count(DISTINCT id) FROM calls", v, sizeof(v));
	CHECK_INT(atoll(v), n);
	struct api_audit_check r;
	CHECK_INT(api_audit_verify(ix, &r), 0);
	CHECK_INT((int64_t)r.entries, WRITERS * (PER_WRITER + SHARED));
	CHECK_INT(r.bad_seq, 0);
	CHECK_INT(idx_schema_version(ix) > 0, 1);
	idx_close(ix);
}

static void test_restart(void)
{
	pgh_fresh(url, sizeof(url));
	struct idx *ix = open_ix();
	struct idx_call c = call("before@x", 1);
	bool dup;
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	pgh_restart();
	/* the connection is gone: the next statement reconnects */
	struct idx_call d = call("after@x", 2);
	CHECK_INT(idx_call_insert(ix, &d, &dup), 0);
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 2);
	pgh_restart();
	CHECK_INT(idx_calls_list(ix, &(struct idx_filter){.party = "ali"}, count_fn, &n), 0);
	CHECK_INT(n, 4);
	idx_close(ix);
}

static void test_password_masked(void)
{
	char bad[256], err[512];
	struct idx *ix = NULL;
	snprintf(bad, sizeof(bad), "postgresql://earshot:s3cr3t@/no_such_db?host=%s", pgh_dir);
	CHECK_INT(idx_open(&ix, bad, err, sizeof(err)), ES_EDB);
	CHECK(strstr(err, "s3cr3t") == NULL);
	CHECK(strstr(err, "earshot:***@") != NULL);
	CHECK(strstr(err, "no_such_db") != NULL);
	snprintf(bad, sizeof(bad), "postgresql:///no_such_db?host=%s&password=s3cr3t", pgh_dir);
	CHECK_INT(idx_open(&ix, bad, err, sizeof(err)), ES_EDB);
	CHECK(strstr(err, "s3cr3t") == NULL);
	CHECK(strstr(err, "password=***") != NULL);
}

static int user_fn(void *ud, const struct idx_user *u)
{
	char *o = ud;
	size_t n = strlen(o);
	if (n + strlen(u->name) + 2 <= 64) {
		strcat(o, u->name);
		strcat(o, ",");
	}
	return 0;
}

static void test_access_tags_holds(void)
{
	pgh_fresh(url, sizeof(url));
	struct idx *ix = open_ix();
	struct idx_user u = {.pwhash = "$argon2id$x", .role = "admin", .numbers = ""};
	snprintf(u.name, sizeof(u.name), "Alice");
	CHECK_INT(idx_user_insert(ix, &u), 0);
	CHECK(u.id > 0);
	/* a taken name (any case) inside a transaction: the transaction
	 * goes on */
	CHECK_INT(idx_begin(ix), 0);
	struct idx_user dup = u;
	snprintf(dup.name, sizeof(dup.name), "ALICE");
	CHECK_INT(idx_user_insert(ix, &dup), ES_EEXIST);
	struct idx_user b = {.pwhash = "$argon2id$y", .role = "agent", .numbers = "1001"};
	snprintf(b.name, sizeof(b.name), "bob");
	CHECK_INT(idx_user_insert(ix, &b), 0);
	CHECK_INT(idx_commit(ix), 0);
	struct idx_user got;
	CHECK_INT(idx_user_get(ix, "aLiCe", &got), 0);
	CHECK_INT(got.id, u.id);
	char names[64] = "";
	CHECK_INT(idx_users_list(ix, user_fn, names), 0);
	CHECK_STR(names, "Alice,bob,");

	struct idx_token t = {.user_id = b.id, .created_us = 5};
	snprintf(t.hash, sizeof(t.hash), "%064d", 7);
	CHECK_INT(idx_token_insert(ix, &t), 0);
	CHECK_INT(idx_token_insert(ix, &t), ES_EEXIST);
	CHECK_INT(idx_token_revoke(ix, t.id, 9, "test"), 0);
	CHECK_INT(idx_token_revoke(ix, t.id, 10, "again"), 0);
	struct idx_token tg;
	CHECK_INT(idx_token_get(ix, t.id, &tg), 0);
	CHECK(tg.revoked);
	CHECK_INT(tg.revoked_us, 9);
	CHECK_STR(tg.revoked_why, "test");

	struct idx_session s = {.user_id = b.id, .expires_us = 100};
	snprintf(s.id_hash, sizeof(s.id_hash), "%064d", 1);
	snprintf(s.csrf, sizeof(s.csrf), "c");
	CHECK_INT(idx_session_insert(ix, &s), 0);
	snprintf(s.id_hash, sizeof(s.id_hash), "%064d", 2);
	CHECK_INT(idx_session_insert(ix, &s), 0);
	int64_t n = 0;
	CHECK_INT(idx_sessions_delete_user(ix, b.id, s.id_hash, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(idx_sessions_delete_user(ix, b.id, NULL, &n), 0);
	CHECK_INT(n, 1);

	struct idx_audit_filter af = {.action = "user."};
	CHECK_INT(api_audit_append(ix, 1, "alice", "user.add", "bob", "", "ok", "", NULL), 0);
	CHECK_INT(api_audit_append(ix, 2, "alice", "login", "", "", "ok", "", NULL), 0);
	n = 0;
	CHECK_INT(idx_audit_list(ix, &af, (idx_audit_fn)count_fn, &n), 0);
	CHECK_INT(n, 1);

	struct idx_call c = call("tagged@x", 3);
	bool d;
	CHECK_INT(idx_call_insert(ix, &c, &d), 0);
	CHECK_INT(idx_tag_add(ix, c.id, "Urgent", "alice", 1), 0);
	CHECK_INT(idx_tag_add(ix, c.id, "URGENT", "alice", 1), ES_EEXIST);
	CHECK_INT(idx_tag_add(ix, 999999, "x", "alice", 1), ES_ENOTFOUND);
	CHECK_INT(idx_call_has_tag(ix, c.id, "urgent"), 1);
	int64_t noteid = 0;
	CHECK_INT(idx_note_add(ix, c.id, "alice", "hello", 2, &noteid), 0);
	CHECK(noteid > 0);
	CHECK_INT(idx_note_add(ix, c.id, "alice", "", 2, NULL), ES_EINVAL);

	int64_t hid = 0;
	CHECK_INT(idx_hold_create(ix, "case-1", "lawsuit", NULL, "alice", 5, &hid), 0);
	CHECK_INT(idx_hold_create(ix, "case-1", "again", NULL, "alice", 5, NULL), ES_EEXIST);
	CHECK_INT(idx_hold_add_call(ix, hid, c.id, "rec/1.opus"), 0);
	CHECK_INT(idx_hold_add_call(ix, hid, c.id, "rec/1.opus"), ES_EEXIST);
	char held[64];
	CHECK_INT(idx_call_held(ix, c.id, held, sizeof(held)), 1);
	CHECK_STR(held, "case-1");
	CHECK_INT(idx_hold_release(ix, hid, "alice", "settled", 6), 0);
	CHECK_INT(idx_hold_release(ix, hid, "alice", "settled", 6), ES_EINVAL);
	CHECK_INT(idx_call_held(ix, c.id, held, sizeof(held)), 0);
	struct idx_recording rec = {.call_row = c.id, .path = "rec/1.opus", .format = "opus",
				    .bytes = 1234, .sha256 = "ab"};
	CHECK_INT(idx_recording_insert(ix, &rec), 0);
	/* a second recording inside a transaction: refused, and the
	 * transaction's other writes still commit */
	CHECK_INT(idx_begin(ix), 0);
	CHECK_INT(idx_recording_insert(ix, &rec), ES_EEXIST);
	CHECK_INT(idx_note_add(ix, c.id, "alice", "after a conflict", 3, NULL), 0);
	CHECK_INT(idx_commit(ix), 0);
	char notes[16];
	pgh_text(url, "SELECT count(*) FROM call_notes", notes, sizeof(notes));
	CHECK_STR(notes, "2");
	uint64_t bytes = 0;
	CHECK_INT(idx_recordings_bytes(ix, &bytes), 0);
	CHECK_INT((int64_t)bytes, 1234);
	CHECK_INT(idx_retention_set(ix, c.id, "short", 0, 50), 0);
	n = 0;
	CHECK_INT(idx_retention_list(ix, IDX_RET_DUE, 60, (idx_ret_fn)count_fn, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(idx_call_expire(ix, c.id, false), 0);
	CHECK_INT(idx_call_expire(ix, c.id, false), 0);
	char flags[64];
	pgh_text(url, "SELECT flags FROM calls WHERE call_id = 'tagged@x'", flags, sizeof(flags));
	CHECK_STR(flags, "expired");
	idx_close(ix);
}

static int64_t party_count(struct idx *ix, const char *needle)
{
	int64_t n = 0;
	CHECK_INT(idx_calls_list(ix, &(struct idx_filter){.party = needle, .limit = 1000},
				 count_fn, &n),
		  0);
	return n;
}

/* The party search's text per call (IDX_MIG_PARTY_TEXT): kept by the
 * trigger on parties through insert, erasure and delete, filled in for
 * calls written before the migration, and the search's rows stay those of
 * the exact per-field LIKE (SQLite's): no match across two fields, LIKE's
 * wildcards literal, ASCII case folded. */
static void test_party_text(void)
{
	pgh_fresh(url, sizeof(url));
	struct idx *ix = open_ix();
	static const char *const disp[] = {"Anna Smith", "Bo Smithers", "50% Off", NULL};
	bool dup;
	for (int i = 0; i < 40; i++) {
		char id[32], uri[64], user[32];
		snprintf(id, sizeof(id), "pt%d@x", i);
		snprintf(user, sizeof(user), "+4930%04d", i);
		snprintf(uri, sizeof(uri), "sip:%s@pbx.example", user);
		struct idx_call c = call(id, 100 + i);
		c.caller = (struct idx_party){.uri = uri, .user = user, .display = disp[i % 4]};
		if (i % 5 == 0)
			c.callee.pai = "sip:desk@pai.example";
		CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	}
	char v[256];
	pgh_text(url, "SELECT count(*) FROM calls WHERE party_text IS NULL", v, sizeof(v));
	CHECK_STR(v, "0");
	CHECK_INT(party_count(ix, "smith"), 20);
	CHECK_INT(party_count(ix, "SMITHERS"), 10);
	CHECK_INT(party_count(ix, "50%"), 10);
	CHECK_INT(party_count(ix, "5_%"), 0);
	CHECK_INT(party_count(ix, "pai.ex"), 8);
	CHECK_INT(party_count(ix, "+49300007"), 1);
	CHECK_INT(party_count(ix, "bob"), 40);
	/* the text joins the fields with a newline; the exact test does not */
	CHECK_INT(party_count(ix, "+49300001\nBo"), 0);
	CHECK_INT(party_count(ix, "example\n+4930"), 0);
	CHECK_INT(party_count(ix, "example\n"), 0);
	/* an erased party leaves the text */
	int64_t row = 0;
	CHECK_INT(idx_call_find(ix, "pt7@x", 107 * 1000000LL, &row), 0);
	CHECK_INT(idx_call_erase_parties(ix, row, 1u << IDX_CALLER, "erased:7"), 0);
	CHECK_INT(party_count(ix, "+49300007"), 0);
	CHECK_INT(party_count(ix, "erased:7"), 1);
	pgh_text(url, "SELECT count(*) FROM calls WHERE party_text LIKE '%+49300007%'", v,
		 sizeof(v));
	CHECK_STR(v, "0");
	idx_close(ix);

	/* an index written before the migration (when it is the newest step:
	 * a later one would need its own undo here) */
	unsigned step = 0;
	while (step < idx_nmigrations && strcmp(idx_migrations[step].name, IDX_MIG_PARTY_TEXT))
		step++;
	CHECK(step < idx_nmigrations);
	if (step + 1 != idx_nmigrations) {
		fprintf(stderr, "test_party_text: upgrade part skipped (%s is not the newest step)\n",
			IDX_MIG_PARTY_TEXT);
		return;
	}
	char undo[1024];
	snprintf(undo, sizeof(undo),
		 "DROP TRIGGER parties_text_insert ON parties; DROP TRIGGER parties_text_delete ON parties;"
		 " DROP TRIGGER parties_text_update ON parties; DROP FUNCTION earshot_parties_text();"
		 " ALTER TABLE calls DROP COLUMN party_text;"
		 " CREATE INDEX parties_uri_trgm ON parties USING gin (uri gin_trgm_ops);"
		 " CREATE INDEX parties_user_trgm ON parties USING gin (\"user\" gin_trgm_ops);"
		 " CREATE INDEX parties_display_trgm ON parties USING gin (display gin_trgm_ops);"
		 " CREATE INDEX parties_pai_trgm ON parties USING gin (pai gin_trgm_ops);"
		 " UPDATE earshot_schema SET version = %u; SELECT version FROM earshot_schema",
		 step);
	pgh_text(url, undo, v, sizeof(v));
	CHECK_INT(atoi(v), (int)step);
	ix = open_ix();
	CHECK_INT(idx_schema_version(ix), (int)idx_nmigrations);
	pgh_text(url, "SELECT count(*) FROM calls WHERE party_text IS NULL", v, sizeof(v));
	CHECK_STR(v, "0");
	pgh_text(url, "SELECT party_text FROM calls WHERE call_id = 'pt1@x'", v, sizeof(v));
	CHECK_STR(v, "sip:+49300001@pbx.example\n+49300001\nBo Smithers\nsip:bob@example.com\nbob");
	CHECK_INT(party_count(ix, "smith"), 20);
	CHECK_INT(party_count(ix, "erased:7"), 1);
	idx_close(ix);
}

/* Text that is not UTF-8 (a display name from the wire: an overlong '/',
 * C0 AF, and a UTF-8-encoded surrogate, ED A0 80), which PostgreSQL refuses
 * and SQLite stores: the call is stored all the same, the bad bytes as
 * U+FFFD each (as the JSON shows them on either engine), and a search
 * for those bytes finds it instead of failing. */
static void test_not_utf8(void)
{
	pgh_fresh(url, sizeof(url));
	struct idx *ix = open_ix();
	struct idx_call c = call("bad-utf8@x", 100);
	c.caller.display = "\xc0\xaf\xed\xa0\x80 Al\xc3\xaf" "ce";
	bool dup;
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	char v[256];
	pgh_text(url, "SELECT display FROM parties WHERE display IS NOT NULL", v, sizeof(v));
	CHECK_STR(v, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd Al\xc3\xaf" "ce");
	CHECK_INT(party_count(ix, "\xc0\xaf"), 1);
	CHECK_INT(party_count(ix, "Al\xc3\xaf" "ce"), 1);
	idx_close(ix);
}

int main(void)
{
	es_log_set_level(ES_LOG_ERROR);
	int rc = pgh_start();
	if (rc) {
		fprintf(stderr, "no PostgreSQL cluster (%d): skipped\n", rc);
		return rc == 77 ? 77 : 1;
	}
	RUN(test_password_masked);
	RUN(test_access_tags_holds);
	RUN(test_restart);
	RUN(test_concurrent_writers);
	RUN(test_party_text);
	RUN(test_not_utf8);
	pgh_stop();
	return CHECK_DONE();
}
