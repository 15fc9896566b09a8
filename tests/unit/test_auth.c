/* test_auth.c - api/auth.c: passwords, users, tokens, sessions, the rate
 * limiter, the role matrix and "own call" matching. */
#include "api/api.h"
#include "check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64] = "/tmp/es-auth-XXXXXX";
static char dbpath[128];

static void rm_db(void)
{
	char p[160];
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

static struct idx *fresh(void)
{
	char err[256];
	struct idx *ix = NULL;
	rm_db();
	if (idx_open(&ix, dbpath, err, sizeof(err))) {
		fprintf(stderr, "idx_open: %s\n", err);
		exit(1);
	}
	return ix;
}

static const struct api_actor admin = {"cli:test", ""};
#define T0 INT64_C(1700000000000000)

static int count_audit(void *ud, const struct idx_audit *a)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

static int audit_count(struct idx *ix, const char *action)
{
	struct idx_audit_filter f = {.action = action};
	int n = 0;
	CHECK_INT(api_audit_list(ix, &f, count_audit, &n), 0);
	return n;
}

static void test_password(void)
{
	char h[IDX_PWHASH_MAX], h2[IDX_PWHASH_MAX];
	CHECK_INT(api_password_hash("correct horse", h), 0);
	CHECK(!strncmp(h, "$argon2id$", 10));
	CHECK_INT(api_password_verify(h, "correct horse"), 0);
	CHECK_INT(api_password_verify(h, "correct horsE"), API_EAUTH);
	CHECK_INT(api_password_verify(h, ""), API_EAUTH);
	CHECK_INT(api_password_verify("garbage", "correct horse"), API_EAUTH);
	/* salted: the same password hashes differently */
	CHECK_INT(api_password_hash("correct horse", h2), 0);
	CHECK(strcmp(h, h2) != 0);
	CHECK_INT(api_password_hash("short", h), ES_EINVAL);
	CHECK_INT(api_password_hash(NULL, h), ES_EINVAL);
}

static void test_users_login(void)
{
	struct idx *ix = fresh();
	struct api_user u;
	CHECK_INT(api_user_add(ix, &admin, "alice", API_ROLE_AGENT, "1001, +1 (555) 123-4567",
			       false, "alice-password", T0, &u),
		  0);
	CHECK(u.id > 0);
	CHECK_STR(u.numbers, "1001,15551234567");
	CHECK_INT(u.role, API_ROLE_AGENT);
	CHECK_INT(api_user_add(ix, &admin, "ALICE", API_ROLE_ADMIN, NULL, false,
			       "other-password", T0, NULL),
		  ES_EEXIST);
	CHECK_INT(api_user_add(ix, &admin, "bad name", API_ROLE_ADMIN, NULL, false,
			       "other-password", T0, NULL),
		  ES_EINVAL);
	CHECK_INT(api_user_add(ix, &admin, "bob", API_ROLE_ADMIN, "12;34", false,
			       "other-password", T0, NULL),
		  ES_EINVAL);
	CHECK_INT(api_user_add(ix, &admin, "bob", API_ROLE_ADMIN, NULL, false, "short", T0, NULL),
		  ES_EINVAL);

	CHECK_INT(api_login(ix, "192.0.2.1", "alice", "alice-password", T0 + 1, &u), 0);
	CHECK_STR(u.name, "alice");
	CHECK_INT(api_login(ix, "192.0.2.1", "Alice", "alice-password", T0 + 1, &u), 0);
	CHECK_INT(api_login(ix, "192.0.2.1", "alice", "wrong-password", T0 + 2, &u), API_EAUTH);
	CHECK_INT(api_login(ix, "192.0.2.1", "nobody", "alice-password", T0 + 3, &u), API_EAUTH);
	CHECK_INT(api_login(ix, "192.0.2.1", "../etc", "x", T0 + 3, &u), API_EAUTH);

	CHECK_INT(api_user_passwd(ix, &admin, "alice", "new-password", T0 + 4), 0);
	CHECK_INT(api_login(ix, NULL, "alice", "alice-password", T0 + 5, &u), API_EAUTH);
	CHECK_INT(api_login(ix, NULL, "alice", "new-password", T0 + 5, &u), 0);
	CHECK_INT(api_user_passwd(ix, &admin, "nobody", "new-password", T0 + 4), ES_ENOTFOUND);

	CHECK_INT(api_user_set_disabled(ix, &admin, "alice", true, T0 + 6), 0);
	CHECK_INT(api_login(ix, NULL, "alice", "new-password", T0 + 7, &u), API_EAUTH);
	CHECK_INT(api_user_set_disabled(ix, &admin, "alice", false, T0 + 8), 0);
	CHECK_INT(api_login(ix, NULL, "alice", "new-password", T0 + 9, &u), 0);

	CHECK_INT(api_user_set_role(ix, &admin, "alice", API_ROLE_SUPERVISOR, T0 + 10), 0);
	CHECK_INT(api_user_set_numbers(ix, &admin, "alice", "2002", T0 + 10), 0);
	CHECK_INT(api_user_set_numbers(ix, &admin, "alice", "20,,02", T0 + 10), ES_EINVAL);
	CHECK_INT(api_user_set_can_listen(ix, &admin, "alice", true, T0 + 10), 0);
	CHECK_INT(api_user_get(ix, "alice", &u), 0);
	CHECK_INT(u.role, API_ROLE_SUPERVISOR);
	CHECK_STR(u.numbers, "2002");
	CHECK(u.can_listen);
	CHECK(!u.disabled);
	CHECK_INT(u.updated_us, T0 + 10);
	CHECK_INT(api_user_set_role(ix, &admin, "nobody", API_ROLE_ADMIN, T0), ES_ENOTFOUND);

	/* the audit trail: changes, failures, logins; never a password */
	CHECK_INT(audit_count(ix, "user.add"), 2); /* alice ok, ALICE failed */
	CHECK_INT(audit_count(ix, "login"), 9);
	CHECK_INT(audit_count(ix, "user."), 10);
	struct api_audit_check r;
	CHECK_INT(api_audit_verify(ix, &r), 0);
	idx_close(ix);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "grep -c -- 'new-password\\|alice-password' %s >/dev/null",
		 dbpath);
	CHECK(system(cmd) != 0); /* no password in the database file */
}

static void test_tokens(void)
{
	struct idx *ix = fresh();
	struct api_user u;
	char tok[API_TOKEN_STRLEN], tok2[API_TOKEN_STRLEN];
	int64_t id, id2;
	CHECK_INT(api_user_add(ix, &admin, "bot", API_ROLE_AUDITOR, NULL, false, "bot-password",
			       T0, NULL),
		  0);
	CHECK_INT(api_token_create(ix, &admin, "bot", "ci", 0, T0, tok, &id), 0);
	CHECK(!strncmp(tok, "est_", 4));
	CHECK_INT(api_token_create(ix, &admin, "bot", NULL, 0, T0, tok2, &id2), 0);
	CHECK(id2 != id);
	CHECK_INT(api_token_create(ix, &admin, "nobody", NULL, 0, T0, tok2, &id2), ES_ENOTFOUND);
	char big[API_TOKEN_LABEL_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_INT(api_token_create(ix, &admin, "bot", big, 0, T0, tok2, &id2), ES_EINVAL);
	CHECK_INT(api_token_create(ix, &admin, "bot", "a\nb", 0, T0, tok2, &id2), ES_EINVAL);
	CHECK_INT(api_token_create(ix, &admin, "bot", NULL, T0, T0, tok2, &id2), ES_EINVAL);
	CHECK_INT(api_token_auth(ix, tok, T0 + 5, &u), 0);
	CHECK_STR(u.name, "bot");
	CHECK_INT(u.role, API_ROLE_AUDITOR);
	struct idx_token t;
	CHECK_INT(idx_token_get(ix, id, &t), 0);
	CHECK_INT(t.last_used_us, T0 + 5);
	CHECK(!strstr(tok, t.hash) && strlen(t.hash) == 64); /* only a hash is kept */
	/* last_used_us is written at most once a minute (no write per request) */
	CHECK_INT(api_token_auth(ix, tok, T0 + 5 + 59 * ES_US_PER_SEC, &u), 0);
	CHECK_INT(idx_token_get(ix, id, &t), 0);
	CHECK_INT(t.last_used_us, T0 + 5);
	CHECK_INT(api_token_auth(ix, tok, T0 + 5 + 60 * ES_US_PER_SEC, &u), 0);
	CHECK_INT(idx_token_get(ix, id, &t), 0);
	CHECK_INT(t.last_used_us, T0 + 5 + 60 * ES_US_PER_SEC);
	CHECK_INT(api_token_auth(ix, tok, T0 + 6, &u), 0); /* the clock went back: written */
	CHECK_INT(idx_token_get(ix, id, &t), 0);
	CHECK_INT(t.last_used_us, T0 + 6);

	/* a wrong secret, a wrong id, malformed tokens */
	char bad[API_TOKEN_STRLEN];
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	CHECK_INT(api_token_auth(ix, bad, T0, &u), API_EAUTH);
	snprintf(bad, sizeof(bad), "est_%lld_%s", (long long)id2, strrchr(tok, '_') + 1);
	CHECK_INT(api_token_auth(ix, bad, T0, &u), API_EAUTH);
	CHECK_INT(api_token_auth(ix, "est_1_", T0, &u), API_EAUTH);
	CHECK_INT(api_token_auth(ix, "", T0, &u), API_EAUTH);
	CHECK_INT(api_token_auth(ix, NULL, T0, &u), API_EAUTH);
	CHECK_INT(api_token_auth(ix, "est_99999_00", T0, &u), API_EAUTH);

	/* revoke, by anyone (0) or only as the owner */
	CHECK_INT(api_token_revoke(ix, &admin, id, u.id + 1000, T0), ES_ENOTFOUND);
	CHECK_INT(api_token_auth(ix, tok, T0, &u), 0);
	CHECK_INT(api_token_revoke(ix, &admin, id, u.id, T0), 0);
	CHECK_INT(api_token_auth(ix, tok, T0, &u), API_EAUTH);
	CHECK_INT(api_token_revoke(ix, &admin, 424242, 0, T0), ES_ENOTFOUND);
	CHECK_INT(idx_token_get(ix, id, &t), 0);
	CHECK(t.revoked && t.revoked_us == T0 && !strcmp(t.revoked_why, "revoked by cli:test"));
	/* 2 ok + 1 failed create, 1 ok + 2 failed revoke */
	CHECK_INT(audit_count(ix, "token."), 6);

	/* expiry: works until expires_us, refused from then on */
	const int64_t day = 86400 * ES_US_PER_SEC;
	char tok3[API_TOKEN_STRLEN];
	int64_t id3;
	CHECK_INT(api_token_create(ix, &admin, "bot", "short", T0 + day, T0, tok3, &id3), 0);
	CHECK_INT(api_token_auth(ix, tok3, T0 + day - 1, &u), 0);
	CHECK_INT(api_token_auth(ix, tok3, T0 + day, &u), API_EAUTH);
	idx_close(ix);
}

struct tok_seen {
	int n, live;
	char why[8][64];
};

static int tok_row(void *ud, const struct api_token *t)
{
	struct tok_seen *s = ud;
	if (s->n < 8)
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", t->revoked_why);
	s->n++;
	s->live += !t->revoked;
	return 0;
}

/* Issue #13, finding 5: a password change, reset or disable revokes the
 * user's tokens and ends their sessions, and an enable revives nothing;
 * a self-service change keeps the session that made it. */
static void test_signout(void)
{
	struct idx *ix = fresh();
	struct api_user u, v;
	struct api_session s1, s2, got;
	char t1[API_TOKEN_STRLEN], t2[API_TOKEN_STRLEN];
	int64_t id1, id2;
	CHECK_INT(api_user_add(ix, &admin, "ann", API_ROLE_AGENT, "1001", false, "ann-password-1",
			       T0, &u),
		  0);
	CHECK_INT(api_user_add(ix, &admin, "bob", API_ROLE_AGENT, "1002", false, "bob-password-1",
			       T0, NULL),
		  0);
	char tb[API_TOKEN_STRLEN];
	CHECK_INT(api_token_create(ix, &admin, "bob", NULL, 0, T0, tb, NULL), 0);

	/* an admin's reset */
	CHECK_INT(api_token_create(ix, &admin, "ann", "a", 0, T0, t1, &id1), 0);
	CHECK_INT(api_session_create(ix, &u, NULL, T0, API_SESSION_TTL_US, &s1), 0);
	CHECK_INT(api_user_passwd(ix, &admin, "ann", "ann-password-2", T0 + 1), 0);
	CHECK_INT(api_token_auth(ix, t1, T0 + 2, &v), API_EAUTH);
	CHECK_INT(api_session_lookup(ix, s1.id, T0 + 2, &got, &v), API_EAUTH);
	CHECK_INT(api_token_auth(ix, tb, T0 + 2, &v), 0); /* another user's: untouched */

	/* a disable, then an enable: nothing comes back */
	CHECK_INT(api_token_create(ix, &admin, "ann", "b", 0, T0, t2, &id2), 0);
	CHECK_INT(api_user_set_disabled(ix, &admin, "ann", true, T0 + 3), 0);
	CHECK_INT(api_token_auth(ix, t2, T0 + 4, &v), API_EAUTH);
	CHECK_INT(api_user_set_disabled(ix, &admin, "ann", false, T0 + 5), 0);
	CHECK_INT(api_token_auth(ix, t2, T0 + 6, &v), API_EAUTH);
	CHECK_INT(api_token_auth(ix, t1, T0 + 6, &v), API_EAUTH);
	/* the same through the API's PATCH */
	CHECK_INT(api_token_create(ix, &admin, "ann", "c", 0, T0, t2, &id2), 0);
	struct api_user_patch p = {.set_disabled = true, .disabled = true};
	CHECK_INT(api_user_update(ix, &admin, "ann", &p, T0 + 7, NULL), 0);
	p.disabled = false;
	CHECK_INT(api_user_update(ix, &admin, "ann", &p, T0 + 8, NULL), 0);
	CHECK_INT(api_token_auth(ix, t2, T0 + 9, &v), API_EAUTH);

	/* a self-service change: the wrong current password changes nothing */
	CHECK_INT(api_token_create(ix, &admin, "ann", "d", 0, T0, t2, &id2), 0);
	CHECK_INT(api_session_create(ix, &u, NULL, T0, API_SESSION_TTL_US, &s1), 0);
	CHECK_INT(api_session_create(ix, &u, NULL, T0, API_SESSION_TTL_US, &s2), 0);
	CHECK_INT(api_user_passwd_self(ix, &admin, "ann", "wrong", "ann-password-3", s1.id,
				       T0 + 10),
		  API_EAUTH);
	CHECK_INT(api_token_auth(ix, t2, T0 + 11, &v), 0);
	CHECK_INT(api_login(ix, NULL, "ann", "ann-password-2", T0 + 11, &v), 0);
	/* the right one: the other session and the tokens end, s1 stays */
	CHECK_INT(api_user_passwd_self(ix, &admin, "ann", "ann-password-2", "ann-password-3",
				       s1.id, T0 + 12),
		  0);
	CHECK_INT(api_session_lookup(ix, s1.id, T0 + 13, &got, &v), 0);
	CHECK_INT(api_session_lookup(ix, s2.id, T0 + 13, &got, &v), API_EAUTH);
	CHECK_INT(api_token_auth(ix, t2, T0 + 13, &v), API_EAUTH);
	CHECK_INT(api_login(ix, NULL, "ann", "ann-password-3", T0 + 13, &v), 0);

	/* the list says why each went */
	struct tok_seen seen = {0};
	CHECK_INT(api_tokens_list(ix, u.id, tok_row, &seen), 0);
	CHECK_INT(seen.n, 4);
	CHECK_INT(seen.live, 0);
	CHECK_STR(seen.why[0], "password reset");
	CHECK_STR(seen.why[1], "user disabled");
	CHECK_STR(seen.why[2], "user disabled");
	CHECK_STR(seen.why[3], "password changed");
	CHECK_INT(api_tokens_list(ix, 0, tok_row, &seen), ES_EINVAL);
	/* each revocation and each ending of sessions is audited */
	CHECK_INT(audit_count(ix, "token.revoke"), 4);
	CHECK_INT(audit_count(ix, "session.end"), 2); /* the reset and the self-service change */
	idx_close(ix);
}

static void test_sessions(void)
{
	struct idx *ix = fresh();
	struct api_user u, v;
	struct api_session s, s2, got;
	CHECK_INT(api_user_add(ix, &admin, "sue", API_ROLE_SUPERVISOR, NULL, false, "sue-password",
			       T0, &u),
		  0);
	CHECK_INT(api_session_create(ix, &u, "198.51.100.7", T0, 3600 * ES_US_PER_SEC, &s), 0);
	CHECK_INT((int)strlen(s.id), 64);
	CHECK_INT((int)strlen(s.csrf), 64);
	CHECK(strcmp(s.id, s.csrf) != 0);
	CHECK_INT(api_session_lookup(ix, s.id, T0 + 1, &got, &v), 0);
	CHECK_STR(v.name, "sue");
	CHECK_STR(got.remote, "198.51.100.7");
	CHECK(api_csrf_ok(&got, s.csrf));
	CHECK(!api_csrf_ok(&got, s.id));
	CHECK(!api_csrf_ok(&got, ""));
	CHECK(!api_csrf_ok(&got, NULL));
	/* the stored key is a hash, not the cookie */
	struct idx_session row;
	CHECK_INT(idx_session_get(ix, s.id, &row), ES_ENOTFOUND);
	/* bad cookies */
	CHECK_INT(api_session_lookup(ix, "nope", T0, &got, &v), API_EAUTH);
	char upper[65];
	snprintf(upper, sizeof(upper), "%s", s.id);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 32);
	CHECK_INT(api_session_lookup(ix, upper, T0, &got, &v), API_EAUTH);
	/* expiry: exactly at expires_us it is gone, and deleted */
	CHECK_INT(api_session_lookup(ix, s.id, T0 + 3600 * ES_US_PER_SEC - 1, &got, &v), 0);
	CHECK_INT(api_session_lookup(ix, s.id, T0 + 3600 * ES_US_PER_SEC, &got, &v), API_EAUTH);
	CHECK_INT(api_session_lookup(ix, s.id, T0, &got, &v), API_EAUTH);
	/* logout; a password change ends the sessions */
	CHECK_INT(api_session_create(ix, &u, NULL, T0, API_SESSION_TTL_US, &s), 0);
	CHECK_INT(api_session_create(ix, &u, NULL, T0, API_SESSION_TTL_US, &s2), 0);
	CHECK_INT(api_session_delete(ix, s.id), 0);
	CHECK_INT(api_session_delete(ix, s.id), ES_ENOTFOUND);
	CHECK_INT(api_session_lookup(ix, s.id, T0, &got, &v), API_EAUTH);
	CHECK_INT(api_session_lookup(ix, s2.id, T0, &got, &v), 0);
	CHECK_INT(api_user_set_disabled(ix, &admin, "sue", true, T0), 0);
	CHECK_INT(api_session_lookup(ix, s2.id, T0, &got, &v), API_EAUTH);
	CHECK_INT(api_user_set_disabled(ix, &admin, "sue", false, T0), 0);
	CHECK_INT(api_session_lookup(ix, s2.id, T0, &got, &v), API_EAUTH); /* ended, not paused */
	/* purge */
	CHECK_INT(api_session_create(ix, &u, NULL, T0, 10, &s), 0);
	int64_t n = -1;
	CHECK_INT(idx_sessions_purge(ix, T0 + 10, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(api_session_create(ix, &u, NULL, T0, 0, &s), ES_EINVAL);
	idx_close(ix);
}

static struct api_rl *rl_make(unsigned cap, unsigned per_pair, unsigned per_addr)
{
	struct api_rl *rl = NULL;
	const struct api_rl_limits lim = {cap, per_pair, per_addr, API_RL_WINDOW_US,
					  API_RL_LOCKOUT_US};
	CHECK_INT(api_rl_new(&rl, &lim), 0);
	return rl;
}

/* One whole attempt: begin, and when allowed end with its outcome. */
static int rl_try(struct api_rl *rl, const char *remote, const char *name, bool failed,
		  int64_t now, int64_t *until)
{
	int rc = api_rl_begin(rl, remote, name, now, until);
	if (!rc)
		api_rl_end(rl, remote, name, failed ? API_EAUTH : 0, now);
	return rc;
}

static void test_rate_limit(void)
{
	int64_t now = T0, until = 0;
	const int64_t min = 60 * ES_US_PER_SEC;
	struct api_rl *rl = rl_make(64, API_RL_MAX_FAILURES, API_RL_MAX_FAILURES_ADDRESS);
	/* five failures of one name from one address lock that pair */
	for (int i = 0; i < 5; i++) {
		CHECK_INT(rl_try(rl, "192.0.2.1", "alice", true, now, NULL), 0);
		now += 10 * ES_US_PER_SEC;
	}
	CHECK_INT(api_rl_begin(rl, "192.0.2.1", "alice", now, &until), ES_ELIMIT);
	CHECK_INT(until, now - 10 * ES_US_PER_SEC + API_RL_LOCKOUT_US);
	CHECK_INT(api_rl_begin(rl, "192.0.2.1", "ALICE", now, NULL), ES_ELIMIT); /* any case */
	/* the attacker's failures do not lock the name elsewhere (issue #13,
	 * finding 11): the right password from another address gets in */
	CHECK_INT(rl_try(rl, "203.0.113.9", "alice", false, now, NULL), 0);
	CHECK_INT(rl_try(rl, "203.0.113.9", "ALICE", false, now, NULL), 0);
	/* nor the address for other names, below the address's limit */
	CHECK_INT(rl_try(rl, "192.0.2.1", "bob", false, now, NULL), 0);
	/* the lock ends after lockout_us */
	CHECK_INT(api_rl_begin(rl, "192.0.2.1", "alice", until - 1, NULL), ES_ELIMIT);
	CHECK_INT(rl_try(rl, "192.0.2.1", "alice", true, until, NULL), 0);
	/* failures spread wider than the window never lock */
	now = until + 2 * API_RL_WINDOW_US;
	for (int i = 0; i < 20; i++) {
		CHECK_INT(rl_try(rl, "198.51.100.1", "carol", true, now, NULL), 0);
		now += min + (i % 4 == 3 ? API_RL_WINDOW_US : 0);
	}
	/* a success clears the pair's count but not the address's */
	now += 2 * API_RL_WINDOW_US;
	for (int i = 0; i < 4; i++)
		CHECK_INT(rl_try(rl, "198.51.100.2", "dave", true, now, NULL), 0);
	CHECK_INT(rl_try(rl, "198.51.100.2", "dave", false, now, NULL), 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(rl_try(rl, "198.51.100.2", "dave", true, now, NULL), 0);
	CHECK_INT(rl_try(rl, "198.51.100.2", "dave", true, now, NULL), 0);
	CHECK_INT(api_rl_begin(rl, "198.51.100.2", "dave", now, NULL), ES_ELIMIT);
	/* the address's limit holds across names: 2 each of 10 names */
	now += 2 * API_RL_WINDOW_US;
	char nm[32];
	for (int i = 0; i < 20; i++) {
		snprintf(nm, sizeof(nm), "user%d", i / 2);
		CHECK_INT(rl_try(rl, "198.51.100.3", nm, true, now, NULL), 0);
	}
	CHECK_INT(api_rl_begin(rl, "198.51.100.3", "fresh-name", now, &until), ES_ELIMIT);
	CHECK_INT(until, now + API_RL_LOCKOUT_US);
	CHECK_INT(rl_try(rl, "198.51.100.4", "user0", false, now, NULL), 0); /* not elsewhere */
	/* attempts in flight count: with 3 failures counted, 2 may be checked
	 * at once and the third waits (Retry-After a second) */
	now += 2 * API_RL_WINDOW_US;
	for (int i = 0; i < 3; i++)
		CHECK_INT(rl_try(rl, "192.0.2.7", "erin", true, now, NULL), 0);
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, NULL), 0);
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, NULL), 0);
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, &until), ES_ELIMIT);
	CHECK_INT(until, now + ES_US_PER_SEC);
	api_rl_end(rl, "192.0.2.7", "erin", 0, now); /* one was right */
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, NULL), 0); /* count cleared */
	api_rl_end(rl, "192.0.2.7", "erin", API_EAUTH, now);
	api_rl_end(rl, "192.0.2.7", "erin", API_EAUTH, now);
	CHECK_INT(rl_try(rl, "192.0.2.7", "erin", true, now, NULL), 0);
	/* an index failure teaches nothing: the count stays (3 now, 4 below) */
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, NULL), 0);
	api_rl_end(rl, "192.0.2.7", "erin", ES_EDB, now);
	CHECK_INT(rl_try(rl, "192.0.2.7", "erin", true, now, NULL), 0);
	CHECK_INT(rl_try(rl, "192.0.2.7", "erin", true, now, NULL), 0);
	CHECK_INT(api_rl_begin(rl, "192.0.2.7", "erin", now, NULL), ES_ELIMIT);
	/* no address: nothing to limit by */
	for (int i = 0; i < 10; i++)
		CHECK_INT(rl_try(rl, NULL, "frank", true, now, NULL), 0);
	api_rl_free(rl);

	/* a full table reuses slots but keeps locked keys */
	rl = rl_make(4, 2, 50);
	now = T0;
	rl_try(rl, "10.0.0.1", "x", true, now, NULL);
	rl_try(rl, "10.0.0.1", "x", true, now, NULL);
	char a[32];
	for (int i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "10.1.0.%d", i);
		rl_try(rl, a, "x", true, now + i, NULL);
	}
	CHECK_INT(api_rl_begin(rl, "10.0.0.1", "x", now + 100, NULL), ES_ELIMIT);
	api_rl_free(rl);
	const struct api_rl_limits zero = {0, 5, 5, 1, 1};
	CHECK_INT(api_rl_new(&rl, &zero), ES_EINVAL);
}

/* Many threads guess at once: no more than the limit are let through,
 * however the attempts interleave (issue #13: a parallel burst got 8). */
struct rl_burst {
	struct api_rl *rl;
	pthread_barrier_t *go;
	int allowed;
};

static void *rl_burst_one(void *arg)
{
	struct rl_burst *b = arg;
	pthread_barrier_wait(b->go);
	b->allowed = api_rl_begin(b->rl, "192.0.2.99", "victim", T0, NULL) == 0;
	if (b->allowed) {
		usleep(20000); /* the password check: the others arrive meanwhile */
		api_rl_end(b->rl, "192.0.2.99", "victim", API_EAUTH, T0);
	}
	return NULL;
}

static void test_rate_limit_burst(void)
{
	enum { N = 16 };
	struct api_rl *rl = rl_make(64, API_RL_MAX_FAILURES, API_RL_MAX_FAILURES_ADDRESS);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	pthread_t th[N];
	struct rl_burst b[N];
	for (int i = 0; i < N; i++) {
		b[i] = (struct rl_burst){rl, &go, 0};
		CHECK_INT(pthread_create(&th[i], NULL, rl_burst_one, &b[i]), 0);
	}
	int allowed = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		allowed += b[i].allowed;
	}
	pthread_barrier_destroy(&go);
	CHECK_INT(allowed, API_RL_MAX_FAILURES);
	CHECK_INT(api_rl_begin(rl, "192.0.2.99", "victim", T0, NULL), ES_ELIMIT);
	api_rl_free(rl);
}

/* The matrix as the test states it, independently of auth.c's table:
 * 'A' all calls, 'O' own calls only, 'G' only with can_listen, '-' never. */
static const char *const expect[API_ROLE__COUNT] = {
	/*               search view listen export tag verify audit admin hold redact original evaluate */
	[API_ROLE_ADMIN] = "AAAAAAAAAAAA",
	[API_ROLE_SUPERVISOR] = "AAAAAA---A-A",
	[API_ROLE_AGENT] = "OOO-O-------",
	[API_ROLE_AUDITOR] = "AAGG-AA-A-G-",
};

static void test_role_matrix(void)
{
	unsigned n = 0;
	for (int r = 0; r < API_ROLE__COUNT; r++)
		for (int a = 0; a < API_ACT__COUNT; a++)
			for (int listen = 0; listen < 2; listen++)
				for (int own = 0; own < 2; own++) {
					char e = expect[r][a];
					bool want = e == 'A' || (e == 'O' && own) ||
						    (e == 'G' && listen);
					bool got = api_allow((enum api_role)r, listen,
							     (enum api_action)a, own);
					if (got != want)
						fprintf(stderr, "role %s action %s listen %d own %d\n",
							api_role_name((enum api_role)r),
							api_action_name((enum api_action)a), listen,
							own);
					CHECK(got == want);
					n++;
				}
	CHECK_INT(n, 4 * 12 * 4);
	CHECK(!api_allow(API_ROLE__COUNT, true, API_ACT_SEARCH, true));
	CHECK(!api_allow((enum api_role)-1, true, API_ACT_SEARCH, true));
	CHECK(!api_allow(API_ROLE_ADMIN, true, API_ACT__COUNT, true));
	/* names round-trip */
	for (int r = 0; r < API_ROLE__COUNT; r++) {
		enum api_role back;
		CHECK_INT(api_role_parse(api_role_name((enum api_role)r), &back), 0);
		CHECK_INT(back, r);
	}
	for (int a = 0; a < API_ACT__COUNT; a++) {
		enum api_action back;
		CHECK_INT(api_action_parse(api_action_name((enum api_action)a), &back), 0);
		CHECK_INT(back, a);
	}
	enum api_role rr;
	CHECK_INT(api_role_parse("Admin", &rr), ES_EINVAL);
	CHECK_INT(api_role_parse("root", &rr), ES_EINVAL);
	CHECK(api_role_name(API_ROLE__COUNT) == NULL);
}

static void test_own_call(void)
{
	static const struct {
		const char *numbers, *user, *uri;
		bool want;
	} cases[] = {
		{"1001", "1001", NULL, true},
		{"1001", NULL, "sip:1001@pbx.example.com", true},
		{"1001", "", "sips:1001@pbx.example.com:5061", true},
		{"1001", NULL, "SIP:1001@pbx", true},
		{"+15551234", "15551234", NULL, true},
		{"15551234", "+15551234", NULL, true},
		{"+1 555-1234", NULL, "sip:+15551234@carrier;user=phone", true},
		{"(555) 1234", "555.1234", NULL, true},
		{"1 555 1234", NULL, "tel:+1-555-1234", true},
		{"15551234", NULL, "sip:+15551234;phone-context=example.com@gw", true},
		{"15551234", NULL, "tel:+15551234;phone-context=+1", true},
		{"2002,1001", "1001", NULL, true},
		{"alice", "alice", NULL, true},
		/* no match */
		{"1001", "10011", NULL, false},
		{"1001", "100", NULL, false},
		{"1234", "15551234", NULL, false},
		{"15551234", "1234", NULL, false},
		{"alice", "Alice", NULL, false},
		{"1001", NULL, "sip:pbx.example.com", false},
		{"1001", NULL, "http://1001@x", false},
		{"1001", NULL, NULL, false},
		{"", "1001", NULL, false},
		{NULL, "1001", NULL, false},
		{"+", "", NULL, false},
		{"1001", "+", NULL, false},
		{"001555", "+1555", NULL, false},
	};
	for (unsigned i = 0; i < ES_ARRAY_LEN(cases); i++) {
		bool got = api_party_matches(cases[i].numbers, cases[i].user, cases[i].uri);
		if (got != cases[i].want)
			fprintf(stderr, "case %u: numbers %s user %s uri %s\n", i,
				cases[i].numbers ? cases[i].numbers : "(null)",
				cases[i].user ? cases[i].user : "(null)",
				cases[i].uri ? cases[i].uri : "(null)");
		CHECK(got == cases[i].want);
	}
	struct idx_call c = {0};
	c.caller.user = "2001";
	c.caller.uri = "sip:2001@pbx";
	c.callee.uri = "sip:+4930123456@carrier";
	CHECK(api_call_is_own("2001", &c));
	CHECK(api_call_is_own("+49 30 123456", &c));
	CHECK(!api_call_is_own("2002,30123456", &c));

	char out[IDX_NUMBERS_MAX + 1];
	CHECK_INT(api_numbers_norm(" 1001 , +1 (555) 123-4567,*99#", out, sizeof(out)), 0);
	CHECK_STR(out, "1001,15551234567,*99#");
	CHECK_INT(api_numbers_norm("", out, sizeof(out)), 0);
	CHECK_STR(out, "");
	CHECK_INT(api_numbers_norm("1001,", out, sizeof(out)), ES_EINVAL);
	CHECK_INT(api_numbers_norm("10+01", out, sizeof(out)), ES_EINVAL);
	CHECK_INT(api_numbers_norm("1001;x", out, sizeof(out)), ES_EINVAL);
	CHECK_INT(api_numbers_norm("' OR 1=1 --", out, sizeof(out)), ES_EINVAL);
	CHECK_INT(api_numbers_norm("+", out, sizeof(out)), ES_EINVAL);
	char big[1100];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(api_numbers_norm(big, out, sizeof(out)), ES_EINVAL);

	CHECK(api_name_valid("alice"));
	CHECK(api_name_valid("a.b-c_d@example.com"));
	CHECK(!api_name_valid(""));
	CHECK(!api_name_valid(".hidden"));
	CHECK(!api_name_valid("a b"));
	CHECK(!api_name_valid("a'b"));
	CHECK(!api_name_valid(NULL));
	memset(big, 'a', 65);
	big[65] = '\0';
	CHECK(!api_name_valid(big));
	big[64] = '\0';
	CHECK(api_name_valid(big));
}

/* A search's party: numbers in any notation become digits, other text stays. */
static void test_party_query(void)
{
	static const struct {
		const char *q, *want;
	} cases[] = {
		{"+49 30 555 00000", "493055500000"},
		{"+4930555", "4930555"},
		{"030 55500000", "03055500000"},
		{"(030) 555-000.00", "03055500000"},
		{" 1001 ", "1001"},
		{"alice", "alice"},
		{"sip:+4930@x", "sip:+4930@x"},
		{"*21#", "*21#"},
		{"30+5", "30+5"},
		{"+", "+"},
		{"- -", "- -"},
		{"-5", "-5"},
		{"(0)30 555", "030555"},
	};
	char out[64];
	for (unsigned i = 0; i < ES_ARRAY_LEN(cases); i++)
		CHECK_STR(api_party_query(cases[i].q, out, sizeof(out)), cases[i].want);
	char tiny[4]; /* does not fit: searched as typed */
	CHECK_STR(api_party_query("+49 30 555", tiny, sizeof(tiny)), "+49 30 555");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/index.sqlite", dir);
	RUN(test_password);
	RUN(test_users_login);
	RUN(test_tokens);
	RUN(test_sessions);
	RUN(test_signout);
	RUN(test_rate_limit);
	RUN(test_rate_limit_burst);
	RUN(test_role_matrix);
	RUN(test_own_call);
	RUN(test_party_query);
	rm_db();
	rmdir(dir);
	return CHECK_DONE();
}
