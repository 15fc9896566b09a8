/*
 * api.h - access control for the web UI, the REST API and the command line:
 * local users with roles, passwords (Argon2id), API tokens, browser
 * sessions with CSRF tokens, a login rate limiter, the role model, and the
 * hash-chained audit log.  The HTTP server (issue #7) is built on these;
 * `earshot user` and `earshot audit` use them today.
 *
 * Storage is the index (index/index.h, schema v5).  No secret is stored:
 * a password as its crypto_pwhash_str string, a token and a session id as
 * the SHA-256 of the random value, which is handed out exactly once.
 *
 * Functions return 0 or a negative es_err.  Authentication failures of
 * every kind (no such user, wrong password, disabled user, unknown, revoked
 * or malformed token, expired session) are the one code API_EAUTH, so that
 * a client learns nothing about which part was wrong; the audit entry
 * written by api_login says which (for the administrators).
 */
#ifndef ES_API_H
#define ES_API_H

#include "core/core.h"
#include "api/auth_totp.h"
#include "index/index.h"

#define API_EAUTH ES_ECRYPTO /* the one "authentication failed" */

/* ---- roles and the permission matrix ----------------------------------------- */

enum api_role {
	API_ROLE_ADMIN = 0,
	API_ROLE_SUPERVISOR,
	API_ROLE_AGENT,
	API_ROLE_AUDITOR,
	API_ROLE__COUNT
};

enum api_action {
	API_ACT_SEARCH = 0, /* a call appears in search results / lists */
	API_ACT_VIEW,       /* a call's metadata: parties, streams, SIP, events */
	API_ACT_LISTEN,     /* stream / play the audio */
	API_ACT_EXPORT,     /* evidence export, download of the recording */
	API_ACT_TAG,        /* add tags and notes */
	API_ACT_VERIFY,     /* check a recording against the ledger */
	API_ACT_AUDIT_READ, /* read the audit log */
	API_ACT_ADMIN,      /* users, tokens, roles; the rules' read-only view */
	API_ACT_HOLD,       /* legal holds: list, place, release (#15) */
	API_ACT_REDACT,     /* make a redacted version of a recording (#15) */
	API_ACT_ORIGINAL,   /* hear a redaction's kept original (#15) */
	API_ACT_EVALUATE,   /* score a call with a QA form (#18, handlers_qa.c) */
	API_ACT__COUNT
};

/* "admin", "supervisor", "agent", "auditor"; NULL for an invalid value. */
const char *api_role_name(enum api_role r);
/* ES_EINVAL for anything else (exact, lower case). */
int api_role_parse(const char *s, enum api_role *out);
/* "search", "view", "listen", "export", "tag", "verify", "audit_read",
 * "admin", "hold". */
const char *api_action_name(enum api_action a);
int api_action_parse(const char *s, enum api_action *out);

/*
 * May a user of role `role` do `action`?  For the call actions (search,
 * view, listen, export, tag, verify) call_is_own says whether one of the
 * user's numbers is a party of the call (api_call_is_own); for audit_read
 * and admin it is ignored.  can_listen is the explicit grant an auditor
 * needs to hear or export recordings; it means nothing for other roles.
 *
 *                 search view listen export tag verify audit_read admin hold redact original evaluate
 *   admin           all  all   all    all   all  all      yes      yes   yes  all    all      all
 *   supervisor      all  all   all    all   all  all      no       no    no   all    no       all
 *   agent           own  own   own    no    own  no       no       no    no   no     no       no
 *   auditor         all  all   grant  grant no   all      yes      no    yes  no     grant    no
 *
 * ("all": every call; "own": only calls where call_is_own; "grant": only
 * with can_listen.)  Supervisors do not read the audit log: it records
 * their own accesses, and separating the watcher from the watched is the
 * point of an auditor role.  Agents do not export (a copy leaves the
 * system's control) and do not verify (an integrity check is the
 * auditor's and supervisor's job).  Auditors do not tag: they must not
 * change what they audit; they do place and release legal holds, which
 * change nothing but keep evidence from being deleted (the compliance
 * officer's role: no new role, docs/openapi.yaml).  A redaction's original,
 * kept under [redaction] original = restrict, is heard by admins and by
 * auditors with the listen grant only: supervisors redact but then hear the
 * redacted version like everybody else.  Anything not listed is denied, including
 * out-of-range roles and actions.
 */
bool api_allow(enum api_role role, bool can_listen, enum api_action action, bool call_is_own);

/* ---- numbers and "own call" ----------------------------------------------------
 * A user's numbers are a comma list of numbers or extensions ("1001,
 * +1 (555) 123-4567, alice").  Matching is exact on the normalised user
 * part: a leading '+' is dropped and the visual separators space, '-',
 * '.', '(', ')' and '/' are removed; letters keep their case.  So
 * "+1 555-1234" matches "15551234" and "sip:+15551234@pbx;user=phone", but
 * "1234" does not match "15551234" (no suffix or prefix matching). */

/* Normalise one number into out (cap >= 2): false when nothing is left or
 * it does not fit. */
bool api_number_norm(struct slice num, char *out, size_t cap);
/* Check and normalise a whole list into out ("1001,15551234"): ES_EINVAL
 * for an empty item, an item with characters other than letters, digits,
 * the separators and '_', '*', '#', or a result longer than
 * IDX_NUMBERS_MAX.  An empty list is valid (a user without numbers). */
int api_numbers_norm(const char *list, char *out, size_t cap);
/* A search's party text as the index should match it: a phone number typed
 * with spaces, dashes, dots, parentheses or a leading '+' ("+49 30 555 00";
 * it starts with a digit, '+' or '(') becomes its digits ("493055500"), as the agents' numbers are stored, so
 * it matches "+493055500..." in any notation; any other text (a name, a
 * URI) is returned unchanged.  Returns q or out (cap bytes). */
const char *api_party_query(const char *q, char *out, size_t cap);
/* Is a party with this user part / URI one of numbers?  The user part of
 * party_user, or when that is NULL or empty of the URI (sip:, sips:, tel:;
 * up to '@' or ';'), is normalised and compared with each number. */
bool api_party_matches(const char *numbers, const char *party_user, const char *party_uri);
/* Is the caller or the callee of c one of numbers? */
bool api_call_is_own(const char *numbers, const struct idx_call *c);

/* ---- passwords ----------------------------------------------------------------- */

#define API_PW_MIN 8
#define API_PW_MAX 1024
/* crypto_pwhash_str, Argon2id with OPSLIMIT/MEMLIMIT_INTERACTIVE, into out
 * (IDX_PWHASH_MAX).  ES_EINVAL for a password shorter than API_PW_MIN or
 * longer than API_PW_MAX bytes; ES_ENOMEM when Argon2id's memory could not
 * be had. */
int api_password_hash(const char *password, char out[IDX_PWHASH_MAX]);
/* 0 when password matches hash, else API_EAUTH. */
int api_password_verify(const char *hash, const char *password);

/* ---- users ----------------------------------------------------------------------- */

struct api_user {
	int64_t id;
	char name[IDX_NAME_MAX + 1];
	enum api_role role;
	char numbers[IDX_NUMBERS_MAX + 1]; /* normalised comma list */
	bool can_listen;
	bool disabled;
	int64_t created_us;
	int64_t updated_us;
};

/* Who makes a change, for the audit log: "cli:root", "alice"; remote is
 * the client's address or "" (command line). */
struct api_actor {
	const char *user;
	const char *remote;
};

/* A valid user name: 1..IDX_NAME_MAX bytes of letters, digits, '.', '_',
 * '-', '@', starting with a letter or digit. */
bool api_name_valid(const char *name);

/*
 * The user changes.  Each one and its audit entry (action "user.add",
 * "user.passwd", "user.role", "user.numbers", "user.can_listen",
 * "user.disable", "user.enable"; object the user name; never the password)
 * commit in one transaction.  A change that fails for a reason of the
 * request (ES_EEXIST, ES_ENOTFOUND) is audited as "failed".  A password
 * change and a disable sign the user out everywhere in the same
 * transaction: every session ends ("session.end") and every API token is
 * revoked ("token.revoke" each), so an enable brings none back.  now_us is
 * the wall clock.
 *
 * ES_EINVAL: bad name, numbers or password (nothing audited);
 * ES_EEXIST: name taken; ES_ENOTFOUND: no such user; ES_EDB: the index.
 */
int api_user_add(struct idx *ix, const struct api_actor *who, const char *name,
		 enum api_role role, const char *numbers, bool can_listen, const char *password,
		 int64_t now_us, struct api_user *out);
int api_user_passwd(struct idx *ix, const struct api_actor *who, const char *name,
		    const char *password, int64_t now_us);
/* A user changes their own password: current must be right (API_EAUTH,
 * audited "failed"), then as api_user_passwd but the session of the cookie
 * keep_cookie (may be NULL) stays signed in.  Audited "user.passwd" with
 * detail "self". */
int api_user_passwd_self(struct idx *ix, const struct api_actor *who, const char *name,
			 const char *current, const char *password, const char *keep_cookie,
			 int64_t now_us);
int api_user_set_role(struct idx *ix, const struct api_actor *who, const char *name,
		      enum api_role role, int64_t now_us);
int api_user_set_numbers(struct idx *ix, const struct api_actor *who, const char *name,
			 const char *numbers, int64_t now_us);
int api_user_set_can_listen(struct idx *ix, const struct api_actor *who, const char *name,
			    bool can_listen, int64_t now_us);
int api_user_set_disabled(struct idx *ix, const struct api_actor *who, const char *name,
			  bool disabled, int64_t now_us);
/*
 * Several changes of one user at once (the API's PATCH; users_admin.c):
 * the fields whose set_ flag is true.  One transaction, one audit entry
 * "user.update" whose detail says what changed ("role agent -> admin;
 * disabled no -> yes").  A disable signs the user out everywhere (sessions
 * end, tokens are revoked) in the same transaction.
 *
 * API_ELASTADMIN when the change would leave no enabled admin (the one
 * left demoted or disabled): the count is read in the same transaction,
 * so two admins disabling each other cannot both succeed.  Audited
 * "failed", as ES_ENOTFOUND is.  ES_EINVAL: bad role or numbers (nothing
 * audited).  out (may be NULL) gets the user as changed.
 */
#define API_ELASTADMIN ES_ELIMIT
struct api_user_patch {
	bool set_role, set_numbers, set_can_listen, set_disabled;
	enum api_role role;
	const char *numbers; /* a list as api_numbers_norm takes it */
	bool can_listen;
	bool disabled;
};
int api_user_update(struct idx *ix, const struct api_actor *who, const char *name,
		    const struct api_user_patch *p, int64_t now_us, struct api_user *out);
/* By name (any case): ES_ENOTFOUND. */
int api_user_get(struct idx *ix, const char *name, struct api_user *out);
/* Every user by name. */
typedef int (*api_user_fn)(void *ud, const struct api_user *u);
int api_users_list(struct idx *ix, api_user_fn fn, void *ud);

/* Name + password → the user, or API_EAUTH for any failure (unknown name,
 * wrong password, disabled).  An unknown name still costs one Argon2id
 * computation, so that timing does not tell names apart.  Every attempt
 * is audited (action "login", outcome "ok" or "failed" with the reason in
 * detail; the remote from who).  Rate limiting is the caller's
 * (api_rl_begin before, api_rl_end after). */
int api_login(struct idx *ix, const char *remote, const char *name, const char *password,
	      int64_t now_us, struct api_user *out);

/* ---- the second factor (auth_mfa.c; RFC 6238 TOTP, issue #18) -------------------------
 * A user may add a TOTP second factor: enrolment makes a fresh 160-bit
 * secret, sealed with the data folder's KEK (store/vault.h; the user's id
 * as associated data) and kept in the index; the user types one code to
 * turn it on and gets API_TOTP_RECOVERY_N one-time recovery codes, kept as
 * their SHA-256.  A code is accepted in the steps now-1..now+1 and never
 * twice (the newest accepted step is kept).  Sign-in then takes two steps:
 * the password answers a pending token (API_PENDING_TTL_US, its SHA-256
 * stored), the code or a recovery code turns it into a session.  Every
 * change and attempt is audited ("totp.enrol", "totp.enable",
 * "totp.disable", "user.totp_reset", "login.totp"). */
struct st_vault;
#define API_PENDING_TTL_US (5 * 60 * ES_US_PER_SEC)
#define API_PENDING_STRLEN IDX_HEX256 /* 64 hex digits and the NUL */

struct api_mfa_state {
	bool enrolled;         /* on: sign-in needs a code */
	bool begun;            /* enrolment begun, not confirmed */
	int64_t recovery_left; /* unused recovery codes */
};
int api_mfa_state(struct idx *ix, int64_t user_id, struct api_mfa_state *out);
/* After a KEK rotation: every user's sealed TOTP secret wrapped again with
 * v's current KEK (the secret stays the same); *n counts them.  A
 * secret changed meanwhile is left as it is. */
int api_mfa_rewrap_all(struct idx *ix, struct st_vault *v, unsigned *n, char *err,
		       size_t errlen);
/* Begin (or begin again) enrolment of u: the base32 secret (shown to the
 * user once) and its otpauth:// URI for issuer.  ES_EEXIST when a second
 * factor is already on (remove it first). */
int api_totp_enrol(struct idx *ix, struct st_vault *v, const struct api_actor *who,
		   const struct api_user *u, const char *issuer, int64_t now_us,
		   char secret_b32[API_TOTP_B32_MAX], char *uri, size_t uri_cap);
/* Turn enrolment on with one right code: the recovery codes (shown once).
 * ES_ENOTFOUND: no enrolment begun; ES_EEXIST: already on; API_EAUTH: a
 * wrong code (audited); ES_EINVAL: not six digits. */
int api_totp_confirm(struct idx *ix, struct st_vault *v, const struct api_actor *who,
		     const struct api_user *u, const char *code, int64_t now_us,
		     char codes[][API_TOTP_RECOVERY_LEN], unsigned ncodes);
/* The second step: code (six digits) or recovery (a recovery code, used
 * up) of u, who has a second factor on.  API_EAUTH for a wrong, replayed or
 * used code (audited "login.totp" failed, with which). */
int api_totp_verify(struct idx *ix, struct st_vault *v, const char *remote,
		    const struct api_user *u, const char *code, const char *recovery,
		    int64_t now_us);
/* Remove name's second factor: by the user (action "totp.disable") or an
 * admin (action "user.totp_reset", which also signs the user out
 * everywhere).  ES_ENOTFOUND: no such user or no second factor. */
int api_totp_remove(struct idx *ix, const struct api_actor *who, const char *name,
		    bool by_admin, int64_t now_us);
/* The user removes their own second factor: password and a current code
 * (none while enrolment is unconfirmed) must be right (API_EAUTH, audited
 * "totp.disable" failed).  ES_ENOTFOUND: none to remove. */
int api_totp_disable_self(struct idx *ix, struct st_vault *v, const struct api_actor *who,
			  const char *name, const char *password, const char *code, int64_t now_us);
/* A pending sign-in of u after a right password: its token (shown once). */
int api_pending_create(struct idx *ix, const struct api_user *u, const char *remote,
		       int64_t now_us, char token[API_PENDING_STRLEN]);
/* The user of a pending token (API_EAUTH: unknown, malformed, expired or a
 * disabled user); api_pending_end drops it once used. */
int api_pending_user(struct idx *ix, const char *token, int64_t now_us, struct api_user *out);
void api_pending_end(struct idx *ix, const char *token);

/* ---- LDAP / Active Directory sign-in (auth_ldap.c, issue #18) -------------------------
 * [ldap] in the configuration (docs/CONFIG.md): the password is checked by a
 * bind as the user (its DN from bind_dn with the name escaped, RFC 4514, or
 * found by a service account's search with the name escaped, RFC 4515);
 * the role is that of the first group_role whose group has the user as
 * member, uniqueMember or memberUid; no mapped group, no sign-in.  The user
 * gets a local shadow row (password hash API_LDAP_PWHASH, which no password
 * matches) for sessions, tokens, the second factor and the audit; its role
 * follows the directory at each sign-in, and a local disable still holds.
 * A local user with a password is never signed in through the directory. */
#define API_LDAP_PWHASH "!ldap"
#define API_LDAP_GROUPS_MAX 16
struct api_ldap_group {
	char dn[512];
	enum api_role role;
};
struct api_ldap_config {
	char url[512];           /* ldap://host:port or ldaps://host:port */
	bool starttls;           /* ldap:// upgraded with StartTLS (RFC 4511 4.14) */
	char bind_dn[512];       /* "uid=%s,ou=people,dc=example,dc=org"; "" = search */
	char base[512];          /* the search's base (search then bind) */
	char filter[256];        /* the search's filter, %s the escaped name */
	char service_dn[512];    /* the account that searches ("" = anonymous) */
	char service_password[256];
	char ca_file[1024];      /* PEM CA certificates for ldaps:// and StartTLS */
	struct api_ldap_group groups[API_LDAP_GROUPS_MAX];
	unsigned ngroups;
	int64_t timeout_us;      /* per operation; 0: 5 s */
};
/* RFC 4515 3: *, (, ), \ and NUL-to-0x1f as \XX; ES_ELIMIT when too long. */
int api_ldap_filter_escape(const char *in, char *out, size_t cap);
/* RFC 4514 2.4: a DN attribute value's special characters escaped. */
int api_ldap_dn_escape(const char *in, char *out, size_t cap);
/* Is name for the directory: no local user, or an LDAP shadow one? */
bool api_ldap_applies(struct idx *ix, const char *name);
/* Sign name in through the directory (audited "login", as api_login):
 * API_EAUTH for a wrong password, an unknown user, no mapped group or a
 * locally disabled shadow; ES_EIO when the directory cannot be reached or
 * TLS fails (logged; not counted by the rate limiter). */
int api_ldap_login(struct idx *ix, const struct api_ldap_config *cfg, const char *remote,
		   const char *name, const char *password, int64_t now_us, struct api_user *out);

/* ---- API tokens (auth_tokens.c) ------------------------------------------------------
 * A token is "est_<id>_<64 hex digits>": the id finds the row, the secret's
 * SHA-256 is compared in constant time with the stored one.  Tokens act as
 * their user (same role, same numbers) and stop working when the user is
 * disabled, the token revoked or past its expiry.  A password change or
 * reset and a disable revoke all of the user's tokens (issue #13, finding
 * 5): an enable does not bring them back. */
#define API_TOKEN_STRLEN 96
#define API_TOKEN_LABEL_MAX 100 /* bytes */
#define API_TOKEN_TTL_DEFAULT_US (INT64_C(90) * 86400 * ES_US_PER_SEC)

struct api_token {
	int64_t id;
	int64_t user_id;
	char label[API_TOKEN_LABEL_MAX + 28];
	int64_t created_us;
	int64_t last_used_us; /* 0 = never; written at most once a minute */
	int64_t expires_us;   /* 0 = never */
	bool revoked;
	int64_t revoked_us;   /* 0 when unknown (revoked before schema v8) */
	char revoked_why[64]; /* "password reset", "revoked by alice", ... */
};

/* At most API_TOKEN_LABEL_MAX bytes without control characters (NULL ok). */
bool api_token_label_valid(const char *label);
/* A new token for user name (label may be NULL; expires_us 0 = never, else
 * after now_us): the token is written to token (shown once; not stored),
 * its id to *id.  Audited "token.create" (the expiry and label in detail).
 * ES_EINVAL for a bad label or expiry, ES_ENOTFOUND. */
int api_token_create(struct idx *ix, const struct api_actor *who, const char *name,
		     const char *label, int64_t expires_us, int64_t now_us,
		     char token[API_TOKEN_STRLEN], int64_t *id);
/* The token's user (last use recorded), or API_EAUTH. */
int api_token_auth(struct idx *ix, const char *token, int64_t now_us, struct api_user *out);
/* Revoke token id; with owner_id (not 0) only a token of that user (any
 * other is ES_ENOTFOUND, as if it did not exist).  Audited "token.revoke"
 * (object "token <id>", detail whose and by whom); revoking twice is fine. */
int api_token_revoke(struct idx *ix, const struct api_actor *who, int64_t id, int64_t owner_id,
		     int64_t now_us);
/* The tokens of user_id (revoked and expired ones too), by id. */
typedef int (*api_token_fn)(void *ud, const struct api_token *t);
int api_tokens_list(struct idx *ix, int64_t user_id, api_token_fn fn, void *ud);

/* ---- sessions -----------------------------------------------------------------------
 * After a login the server creates a session: a random 32-byte id, hex in
 * the cookie (HttpOnly, Secure, SameSite=Strict: the server's job), stored
 * as its SHA-256; and a random CSRF token the page sends back in a header
 * with every state change. */
#define API_SESSION_TTL_US (8 * 3600 * ES_US_PER_SEC) /* a working day */

struct api_session {
	char id[IDX_HEX256];   /* the cookie value: only filled by create */
	char csrf[IDX_HEX256];
	int64_t user_id;
	int64_t created_us;
	int64_t expires_us;
	char remote[64];
};

int api_session_create(struct idx *ix, const struct api_user *u, const char *remote,
		       int64_t now_us, int64_t ttl_us, struct api_session *out);
/* The session of a cookie value and its user: API_EAUTH for an unknown,
 * malformed or expired id (an expired one is deleted) or a disabled user. */
int api_session_lookup(struct idx *ix, const char *cookie, int64_t now_us,
		       struct api_session *s, struct api_user *u);
/* Constant-time: is token the session's CSRF token? */
bool api_csrf_ok(const struct api_session *s, const char *token);
/* Logout: ES_ENOTFOUND when there is no such session. */
int api_session_delete(struct idx *ix, const char *cookie);

/* ---- login rate limiting (auth_ratelimit.c) -------------------------------------------
 * In memory, per (remote address, user name) and per remote address:
 * `max_failures` failed logins of one name from one address, or
 * `max_failures_address` of any names from one address, within `window_us`
 * lock that pair (or that address) for `lockout_us`.  There is no limit by
 * name alone: an address that has not failed is never refused, so nobody
 * can lock another out of an account.  A success clears the pair's count,
 * not the address's (one valid account must not reset an address that is
 * guessing others).  Each attempt is reserved by api_rl_begin and settled
 * by api_rl_end: attempts in flight count, so N parallel guesses get at most
 * the configured number checked.  Thread-safe (one mutex).  Time is passed
 * in (now_us), so that tests use a fake clock.  The table holds `capacity`
 * keys; when full, idle keys are reused first, then the oldest unlocked. */
struct api_rl;
#define API_RL_MAX_FAILURES 5          /* per (address, name) */
#define API_RL_MAX_FAILURES_ADDRESS 20 /* per address, any names */
#define API_RL_WINDOW_US (300 * ES_US_PER_SEC)
#define API_RL_LOCKOUT_US (300 * ES_US_PER_SEC)

struct api_rl_limits {
	unsigned capacity; /* keys kept */
	unsigned max_failures;
	unsigned max_failures_address;
	int64_t window_us;
	int64_t lockout_us;
};

/* ES_EINVAL for a zero limit, ES_ENOMEM. */
int api_rl_new(struct api_rl **out, const struct api_rl_limits *lim);
void api_rl_free(struct api_rl *rl);
/* Reserve one login attempt of remote as name: 0, and then api_rl_end must
 * follow once; or ES_ELIMIT with *retry_until_us (may be NULL) when to try
 * again.  Without a remote nothing is limited. */
int api_rl_begin(struct api_rl *rl, const char *remote, const char *name, int64_t now_us,
		 int64_t *retry_until_us);
/* Settle an attempt api_rl_begin allowed with what the check answered:
 * API_EAUTH (a wrong name or password) counts towards the locks, 0 (the
 * right password) clears the pair's count, anything else (the index
 * failed: nothing was learnt) only releases the reservation. */
void api_rl_end(struct api_rl *rl, const char *remote, const char *name, int result,
		int64_t now_us);

/* ---- the audit log (audit.c) -----------------------------------------------------------
 * Every entry: seq (1, 2, ...), time, user (name, "cli:<unix user>" or
 * "-"), action ("login", "call.listen", "user.add", ...), object (a call
 * id, a user name), remote, outcome ("ok", "denied", "failed"), detail.
 *
 *   hash = SHA-256(prev_hash || canonical)   (prev_hash as 32 raw bytes;
 *                                            the first entry's is zeros)
 *   canonical = "seq\ttime_us\tuser\taction\tobject\tremote\toutcome\tdetail"
 *               with '\\', TAB, LF and CR in the fields written as "\\\\",
 *               "\\t", "\\n", "\\r"; numbers in decimal.
 *
 * Verification recomputes the chain from the first entry and names the
 * first broken link: an edited field, a deleted entry in the middle, a
 * reordered or renumbered entry, a forged hash.  What the chain alone
 * cannot show: removal of the newest entries (the shorter chain is intact),
 * or a rewrite of everything after some entry by someone who recomputes the
 * hashes.  Both need an external anchor: the newest seq and hash kept
 * elsewhere (printed by `earshot audit --verify`; a signed head as the
 * recording ledger has is the next step). */
#define API_AUDIT_OK "ok"
#define API_AUDIT_DENIED "denied"
#define API_AUDIT_FAILED "failed"

/* Append one entry in its own transaction (BEGIN IMMEDIATE: concurrent
 * writers queue); *seq (may be NULL) gets its number.  NULL strings are
 * stored as "" (user as "-"). */
int api_audit_append(struct idx *ix, int64_t time_us, const char *user, const char *action,
		     const char *object, const char *remote, const char *outcome,
		     const char *detail, int64_t *seq);
/* The same inside a transaction the caller holds (BEGIN IMMEDIATE, so that
 * reading the head and inserting are atomic). */
int api_audit_append_tx(struct idx *ix, int64_t time_us, const char *user, const char *action,
			const char *object, const char *remote, const char *outcome,
			const char *detail, int64_t *seq);
/* Entries matching f, oldest first (index/index.h). */
int api_audit_list(struct idx *ix, const struct idx_audit_filter *f, idx_audit_fn fn, void *ud);
/* The hex hash an entry must have after prev_hash (hex, or "" for the
 * first): out gets 64 hex digits.  ES_EINVAL if prev_hash is not hex. */
int api_audit_hash(const char *prev_hash, const struct idx_audit *a, char out[IDX_HEX256]);

struct api_audit_check {
	uint64_t entries;          /* rows read */
	int64_t first_seq;         /* 0 = empty log */
	int64_t last_seq;          /* the newest intact entry's seq */
	char last_hash[IDX_HEX256];
	int64_t bad_seq;           /* the first broken entry; 0 = none */
	char reason[192];          /* why, when bad_seq */
};
/* Walk the whole log: 0 when the chain is intact (r->last_seq/last_hash the
 * newest entry), API_EAUTH when broken (r->bad_seq and r->reason), or an
 * index error. */
int api_audit_verify(struct idx *ix, struct api_audit_check *r);

/* What was searched for in spoken words (issue #19): a search's text= and
 * keyword= are written to the audit log sealed (index.h, idx_seal under
 * the search key's wrap), the other parameters as given.  The chain's hash
 * covers the stored (sealed) form, so verification needs no key.
 * api_audit_sealed_param: whether parameter k is one of them.
 * api_audit_put_param appends "; k=v" (v cut at 120 bytes, sealed when k
 * is one of them) to out, which stays NUL-terminated; a value that cannot
 * be sealed (no key) is written "[withheld]", never in plain text. */
bool api_audit_sealed_param(const char *k);
int api_audit_put_param(struct idx *ix, struct es_buf *out, const char *k, const char *v);
/* detail with every sealed value opened, into out (NUL-terminated); one
 * that cannot be opened stays as stored, followed by " [cannot be opened]".
 * *opened: how many were.  For `earshot audit --reveal`, which audits it. */
int api_audit_reveal(struct idx *ix, const char *detail, struct es_buf *out, unsigned *opened);

/* One legal hold as a JSON object's members (name, active, reason, query,
 * calls, created, created_by, released, released_by, release_reason): the
 * shape shared by GET /api/holds and `earshot hold --json`. */
struct idx_hold;
void api_hold_json(struct es_json *j, const struct idx_hold *h);

/* ---- data-subject requests (subject.c; GDPR art. 15/17, CCPA) -----------------
 * A party is one number, normalised as api_number_norm does; its calls are
 * those whose caller or callee has it as user part of the URI or of the
 * P-Asserted-Identity (exact, like api_party_matches). */
struct st_ledger;
#define API_PSEUDO_MAX 40 /* "erased:" + 24 hex digits + NUL */

/* Normalise one number (no list) into out: ES_EINVAL when it is not one. */
int api_subject_number(const char *number, char *out, size_t cap);
/* The pseudonym that replaces a normalised number in erased rows:
 * "erased:" + a keyed BLAKE2b of it, keyed by DATA/subject.key (made on
 * first use), so the same number always gets the same pseudonym and it
 * cannot be reversed without that key. */
int api_subject_pseudonym(const char *data_dir, const char *norm, char out[API_PSEUDO_MAX],
			  char *err, size_t errlen);

enum api_subject_state {
	API_SUBJECT_FOUND = 0,
	API_SUBJECT_ERASED,   /* recording deleted (tombstone), row pseudonymised */
	API_SUBJECT_METADATA, /* no recording: row pseudonymised */
	API_SUBJECT_HELD,     /* a legal hold keeps it whole */
};
const char *api_subject_state_name(enum api_subject_state s);

struct api_subject_call {
	int64_t row;
	char call_id[256];
	int64_t start_us;
	unsigned roles;       /* 1 << IDX_CALLER | 1 << IDX_CALLEE: the party's */
	char *path;           /* the recording (malloc'd), NULL when none */
	bool encrypted;
	enum api_subject_state state;
	char hold[IDX_HOLD_NAME_MAX + 1]; /* HELD: the hold that keeps it */
	uint64_t seq;         /* ERASED: the tombstone's leaf */
};
/* Every call of the normalised number norm, in start order: *out
 * (api_subject_calls_free) and *n. */
int api_subject_find(struct idx *ix, const char *norm, struct api_subject_call **out, size_t *n);
void api_subject_calls_free(struct api_subject_call *v, size_t n);

struct api_subject_export {
	const char *data_dir;
	struct idx *ix;
	const char *number;   /* as given */
	const char *out;      /* the ZIP to write; must not exist (with out_fd:
				 only its name, for messages) */
	int out_fd;           /* >= 0: write the ZIP there instead (a memfd of
				 the REST API); ES_ELIMIT when it needs parts */
	int64_t now_us;
	size_t ncalls, nbundles, nparts; /* out */
};
/* Calls per part: a part holds a bundle per call, the manifest and the
 * README within the flat ZIP's ST_ZIP_MAX_ENTRIES (store/zip.h). */
#define API_SUBJECT_PART_CALLS 60
/* A ZIP (store/zip.h, flat): manifest.json (each call's metadata, as `show
 * --json`), README.txt, and call-ID.zip, the evidence bundle
 * (record/bundle.h) of every recording.  More than API_SUBJECT_PART_CALLS
 * calls make more parts: out, then out's name with "-part2.zip"...  All
 * removed again on any failure.  ES_EINVAL bad number, ES_EEXIST a part's
 * file exists. */
int api_subject_export(struct api_subject_export *q, char *err, size_t errlen);

struct api_subject_erase {
	const char *data_dir;
	struct idx *ix;
	struct st_ledger *ledger; /* for writing; unused with dry_run (may be NULL) */
	const char *number, *reason;
	bool dry_run;
	const char *actor, *remote; /* for the audit log */
	int64_t now_us;
	/* out: the report (calls: api_subject_calls_free) */
	char pseudonym[API_PSEUDO_MAX];
	char tombstone[64 + 1];
	struct api_subject_call *calls;
	size_t ncalls;
};
/* Erase every call of the party that no legal hold keeps: each recording
 * through record/delete.c (tombstone "erasure.<reason>"), then the row
 * (idx_call_erase_parties); a held call is refused (audited) and left
 * whole.  The request is audited as subject.erase on "party:<pseudonym>"
 * (never the number).  On an error the report says how far it got. */
int api_subject_erase(struct api_subject_erase *q, char *err, size_t errlen);
/* The report of an erase (or dry run) as one JSON object. */
void api_subject_report_json(struct es_json *j, const struct api_subject_erase *q);

#endif /* ES_API_H */
