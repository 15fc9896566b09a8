/*
 * auth.c - users, passwords, API tokens, sessions, the login rate limiter,
 * the role matrix and "own call" matching (api.h).
 */
#include "api/api.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool crypto_ready(void) { return sodium_init() >= 0; }

/* ---- roles ------------------------------------------------------------------ */

static const char *const role_names[API_ROLE__COUNT] = {
	[API_ROLE_ADMIN] = "admin",
	[API_ROLE_SUPERVISOR] = "supervisor",
	[API_ROLE_AGENT] = "agent",
	[API_ROLE_AUDITOR] = "auditor",
};

static const char *const action_names[API_ACT__COUNT] = {
	[API_ACT_SEARCH] = "search", [API_ACT_VIEW] = "view",     [API_ACT_LISTEN] = "listen",
	[API_ACT_EXPORT] = "export", [API_ACT_TAG] = "tag",       [API_ACT_VERIFY] = "verify",
	[API_ACT_AUDIT_READ] = "audit_read", [API_ACT_ADMIN] = "admin",
};

const char *api_role_name(enum api_role r)
{
	return (unsigned)r < API_ROLE__COUNT ? role_names[r] : NULL;
}

int api_role_parse(const char *s, enum api_role *out)
{
	for (unsigned i = 0; s && i < API_ROLE__COUNT; i++)
		if (!strcmp(s, role_names[i])) {
			*out = (enum api_role)i;
			return 0;
		}
	return ES_EINVAL;
}

const char *api_action_name(enum api_action a)
{
	return (unsigned)a < API_ACT__COUNT ? action_names[a] : NULL;
}

int api_action_parse(const char *s, enum api_action *out)
{
	for (unsigned i = 0; s && i < API_ACT__COUNT; i++)
		if (!strcmp(s, action_names[i])) {
			*out = (enum api_action)i;
			return 0;
		}
	return ES_EINVAL;
}

/* The matrix of api.h as a table: what each role may do. */
enum grant { NO = 0, ALL, OWN, LISTEN_GRANT };
static const unsigned char matrix[API_ROLE__COUNT][API_ACT__COUNT] = {
	/*                  search view listen export tag verify audit admin */
	[API_ROLE_ADMIN] = {ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL},
	[API_ROLE_SUPERVISOR] = {ALL, ALL, ALL, ALL, ALL, ALL, NO, NO},
	[API_ROLE_AGENT] = {OWN, OWN, OWN, NO, OWN, NO, NO, NO},
	[API_ROLE_AUDITOR] = {ALL, ALL, LISTEN_GRANT, LISTEN_GRANT, NO, ALL, ALL, NO},
};

bool api_allow(enum api_role role, bool can_listen, enum api_action action, bool call_is_own)
{
	if ((unsigned)role >= API_ROLE__COUNT || (unsigned)action >= API_ACT__COUNT)
		return false;
	switch (matrix[role][action]) {
	case ALL:
		return true;
	case OWN:
		return call_is_own;
	case LISTEN_GRANT:
		return can_listen;
	default:
		return false;
	}
}

/* ---- numbers -------------------------------------------------------------------- */

static bool is_sep(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t';
}

bool api_number_norm(struct slice num, char *out, size_t cap)
{
	num = sl_trim(num);
	if (num.len && num.p[0] == '+')
		num = sl_sub(num, 1, num.len - 1);
	size_t n = 0;
	for (size_t i = 0; i < num.len; i++) {
		if (is_sep(num.p[i]))
			continue;
		if (n + 1 >= cap)
			return false;
		out[n++] = num.p[i];
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return n > 0;
}

static bool number_chars_ok(struct slice s)
{
	s = sl_trim(s);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (isalnum(c) || is_sep((char)c) || c == '_' || c == '*' || c == '#')
			continue;
		if (c == '+' && i == 0)
			continue;
		return false;
	}
	return true;
}

int api_numbers_norm(const char *list, char *out, size_t cap)
{
	if (!cap)
		return ES_EINVAL;
	out[0] = '\0';
	struct slice rest = sl_trim(sl_cstr(list)), one;
	size_t n = 0;
	if (!rest.len)
		return 0;
	char tmp[IDX_NUMBERS_MAX + 1];
	while (true) {
		bool more = sl_split(rest, ',', &one, &rest);
		if (!number_chars_ok(one) || !api_number_norm(one, tmp, sizeof(tmp)))
			return ES_EINVAL;
		size_t len = strlen(tmp);
		if (n + len + 2 > cap || n + len + (n ? 1 : 0) > IDX_NUMBERS_MAX)
			return ES_EINVAL;
		if (n)
			out[n++] = ',';
		memcpy(out + n, tmp, len + 1);
		n += len;
		if (!more)
			break;
	}
	return 0;
}

/* The user part of a party: its user field, else from its URI. */
static struct slice party_part(const char *user, const char *uri)
{
	struct slice s = sl_cstr(user);
	if (!s.len) {
		s = sl_trim(sl_cstr(uri));
		if (sl_starts_ci(s, "sip:") || sl_starts_ci(s, "tel:"))
			s = sl_sub(s, 4, s.len);
		else if (sl_starts_ci(s, "sips:"))
			s = sl_sub(s, 5, s.len);
		else
			return SL_NULL; /* not a URI we know */
		long at = sl_index(s, '@');
		if (at >= 0)
			s.len = (size_t)at;
	}
	long semi = sl_index(s, ';'); /* ";phone-context=...", ";isub=" */
	if (semi >= 0)
		s.len = (size_t)semi;
	return s;
}

bool api_party_matches(const char *numbers, const char *party_user, const char *party_uri)
{
	char party[IDX_NUMBERS_MAX + 1], mine[IDX_NUMBERS_MAX + 1];
	if (!api_number_norm(party_part(party_user, party_uri), party, sizeof(party)))
		return false;
	struct slice rest = sl_cstr(numbers), one;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		if (api_number_norm(one, mine, sizeof(mine)) && !strcmp(mine, party))
			return true;
	}
	return false;
}

bool api_call_is_own(const char *numbers, const struct idx_call *c)
{
	return api_party_matches(numbers, c->caller.user, c->caller.uri) ||
	       api_party_matches(numbers, c->callee.user, c->callee.uri);
}

/* ---- passwords ----------------------------------------------------------------------- */

int api_password_hash(const char *password, char out[IDX_PWHASH_MAX])
{
	size_t len = password ? strlen(password) : 0;
	if (len < API_PW_MIN || len > API_PW_MAX)
		return ES_EINVAL;
	if (!crypto_ready())
		return ES_ENOMEM;
	_Static_assert(crypto_pwhash_STRBYTES <= IDX_PWHASH_MAX, "pwhash string fits");
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return ES_ENOMEM; /* the only documented failure: memory */
	return 0;
}

int api_password_verify(const char *hash, const char *password)
{
	if (!hash || !password || !crypto_ready())
		return API_EAUTH;
	size_t len = strlen(password);
	if (len > API_PW_MAX || strnlen(hash, IDX_PWHASH_MAX) >= IDX_PWHASH_MAX)
		return API_EAUTH;
	return crypto_pwhash_str_verify(hash, password, len) == 0 ? 0 : API_EAUTH;
}

/* ---- users ------------------------------------------------------------------------------- */

bool api_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > IDX_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
			return false;
	}
	return true;
}

static int to_api_user(const struct idx_user *r, struct api_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = r->id;
	snprintf(u->name, sizeof(u->name), "%s", r->name);
	if (api_role_parse(r->role, &u->role))
		return ES_EFORMAT; /* the CHECK constraint makes this a damaged row */
	snprintf(u->numbers, sizeof(u->numbers), "%s", r->numbers);
	u->can_listen = r->can_listen;
	u->disabled = r->disabled;
	u->created_us = r->created_us;
	u->updated_us = r->updated_us;
	return 0;
}

static const char *actor_user(const struct api_actor *who)
{
	return who && who->user && who->user[0] ? who->user : "-";
}

static const char *actor_remote(const struct api_actor *who)
{
	return who && who->remote ? who->remote : "";
}

/* A refused change still leaves a trace; its own error is not the
 * caller's concern (the change's code is). */
static void audit_failed(struct idx *ix, const struct api_actor *who, int64_t now_us,
			 const char *action, const char *object, int err)
{
	api_audit_append(ix, now_us, actor_user(who), action, object, actor_remote(who),
			 API_AUDIT_FAILED, es_strerror(err), NULL);
}

int api_user_add(struct idx *ix, const struct api_actor *who, const char *name,
		 enum api_role role, const char *numbers, bool can_listen, const char *password,
		 int64_t now_us, struct api_user *out)
{
	struct idx_user r = {0};
	if (!api_name_valid(name) || !api_role_name(role) ||
	    api_numbers_norm(numbers, r.numbers, sizeof(r.numbers)))
		return ES_EINVAL;
	int err = api_password_hash(password, r.pwhash);
	if (err)
		return err;
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.role, sizeof(r.role), "%s", api_role_name(role));
	r.can_listen = can_listen;
	r.created_us = r.updated_us = now_us;
	char detail[IDX_NUMBERS_MAX + 64];
	snprintf(detail, sizeof(detail), "role=%s numbers=%s can_listen=%s", r.role, r.numbers,
		 can_listen ? "yes" : "no");
	if ((err = idx_begin(ix)))
		return err;
	if ((err = idx_user_insert(ix, &r)) ||
	    (err = api_audit_append_tx(ix, now_us, actor_user(who), "user.add", name,
				       actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix))) {
		idx_rollback(ix);
		if (err == ES_EEXIST)
			audit_failed(ix, who, now_us, "user.add", name, err);
		return err;
	}
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return out ? to_api_user(&r, out) : 0;
}

/* One change of a user row: mutate fills detail for the audit entry. */
typedef int (*mutate_fn)(struct idx_user *u, const void *arg, char *detail, size_t cap);

static int change_user(struct idx *ix, const struct api_actor *who, const char *name,
		       const char *action, mutate_fn mutate, const void *arg, bool end_sessions,
		       int64_t now_us)
{
	struct idx_user r;
	char detail[2 * IDX_NUMBERS_MAX + 64] = "";
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &r)) || (err = mutate(&r, arg, detail, sizeof(detail))))
		goto fail;
	r.updated_us = now_us;
	if ((err = idx_user_update(ix, &r)) ||
	    (end_sessions && (err = idx_sessions_delete_user(ix, r.id))) ||
	    (err = api_audit_append_tx(ix, now_us, actor_user(who), action, r.name,
				       actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return 0;
fail:
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	idx_rollback(ix);
	if (err == ES_ENOTFOUND)
		audit_failed(ix, who, now_us, action, name, err);
	return err;
}

static int set_pwhash(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	(void)detail, (void)cap;
	snprintf(u->pwhash, sizeof(u->pwhash), "%s", (const char *)arg);
	return 0;
}

int api_user_passwd(struct idx *ix, const struct api_actor *who, const char *name,
		    const char *password, int64_t now_us)
{
	char h[IDX_PWHASH_MAX];
	int err = api_password_hash(password, h);
	if (!err)
		err = change_user(ix, who, name, "user.passwd", set_pwhash, h, true, now_us);
	sodium_memzero(h, sizeof(h));
	return err;
}

static int set_role(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	const char *to = api_role_name(*(const enum api_role *)arg);
	snprintf(detail, cap, "role %s -> %s", u->role, to);
	snprintf(u->role, sizeof(u->role), "%s", to);
	return 0;
}

int api_user_set_role(struct idx *ix, const struct api_actor *who, const char *name,
		      enum api_role role, int64_t now_us)
{
	if (!api_role_name(role))
		return ES_EINVAL;
	return change_user(ix, who, name, "user.role", set_role, &role, false, now_us);
}

static int set_numbers(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	snprintf(detail, cap, "numbers %s -> %s", u->numbers, (const char *)arg);
	snprintf(u->numbers, sizeof(u->numbers), "%s", (const char *)arg);
	return 0;
}

int api_user_set_numbers(struct idx *ix, const struct api_actor *who, const char *name,
			 const char *numbers, int64_t now_us)
{
	char norm[IDX_NUMBERS_MAX + 1];
	if (api_numbers_norm(numbers, norm, sizeof(norm)))
		return ES_EINVAL;
	return change_user(ix, who, name, "user.numbers", set_numbers, norm, false, now_us);
}

static int set_listen(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	u->can_listen = *(const bool *)arg;
	snprintf(detail, cap, "can_listen=%s", u->can_listen ? "yes" : "no");
	return 0;
}

int api_user_set_can_listen(struct idx *ix, const struct api_actor *who, const char *name,
			    bool can_listen, int64_t now_us)
{
	return change_user(ix, who, name, "user.can_listen", set_listen, &can_listen, false,
			   now_us);
}

static int set_disabled(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	(void)detail, (void)cap;
	u->disabled = *(const bool *)arg;
	return 0;
}

int api_user_set_disabled(struct idx *ix, const struct api_actor *who, const char *name,
			  bool disabled, int64_t now_us)
{
	return change_user(ix, who, name, disabled ? "user.disable" : "user.enable",
			   set_disabled, &disabled, disabled, now_us);
}

int api_user_get(struct idx *ix, const char *name, struct api_user *out)
{
	struct idx_user r;
	int err = idx_user_get(ix, name, &r);
	if (!err)
		err = to_api_user(&r, out);
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return err;
}

struct list_ctx {
	api_user_fn fn;
	void *ud;
};

static int list_one(void *ud, const struct idx_user *r)
{
	struct list_ctx *l = ud;
	struct api_user u;
	int err = to_api_user(r, &u);
	return err ? err : l->fn(l->ud, &u);
}

int api_users_list(struct idx *ix, api_user_fn fn, void *ud)
{
	struct list_ctx l = {fn, ud};
	return idx_users_list(ix, list_one, &l);
}

int api_login(struct idx *ix, const char *remote, const char *name, const char *password,
	      int64_t now_us, struct api_user *out)
{
	struct idx_user r = {0};
	const char *why = NULL;
	bool valid = api_name_valid(name);
	int err = valid ? idx_user_get(ix, name, &r) : ES_ENOTFOUND;
	if (err == ES_ENOTFOUND) {
		/* Spend what a verification costs, so that the answer's time
		 * does not say whether the name exists. */
		char burn[IDX_PWHASH_MAX];
		if (api_password_hash(password, burn) == ES_EINVAL)
			(void)!api_password_hash("not a password", burn);
		why = valid ? "no such user" : "invalid user name";
	} else if (err) {
		return err; /* the index failed: not an authentication answer */
	} else if (api_password_verify(r.pwhash, password)) {
		why = "wrong password";
	} else if (r.disabled) {
		why = "user disabled";
	}
	const char *who = valid ? name : "-";
	if (why) {
		api_audit_append(ix, now_us, who, "login", NULL, remote, API_AUDIT_FAILED, why,
				 NULL);
		sodium_memzero(r.pwhash, sizeof(r.pwhash));
		return API_EAUTH;
	}
	/* Hashes made with weaker parameters are upgraded on the way. */
	if (crypto_pwhash_str_needs_rehash(r.pwhash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 &&
	    !api_password_hash(password, r.pwhash))
		idx_user_update(ix, &r);
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	api_audit_append(ix, now_us, r.name, "login", NULL, remote, API_AUDIT_OK, NULL, NULL);
	return to_api_user(&r, out);
}

/* ---- API tokens ---------------------------------------------------------------------------- */

#define TOKEN_PREFIX "est_"
#define SECRET_LEN 32

static void sha256_hex(const void *p, size_t n, char out[IDX_HEX256])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, p, n);
	sodium_bin2hex(out, IDX_HEX256, md, sizeof(md));
}

int api_token_create(struct idx *ix, const struct api_actor *who, const char *name,
		     const char *label, int64_t now_us, char token[API_TOKEN_STRLEN],
		     int64_t *id)
{
	if (!crypto_ready())
		return ES_ENOMEM;
	token[0] = '\0';
	struct idx_user r;
	struct idx_token t = {.created_us = now_us};
	unsigned char secret[SECRET_LEN];
	char hex[2 * SECRET_LEN + 1];
	snprintf(t.label, sizeof(t.label), "%s", label ? label : "");
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	/* The row keeps the secret's hash; the id in the token finds the row. */
	sha256_hex(hex, strlen(hex), t.hash);
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &r)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	t.user_id = r.id;
	if ((err = idx_token_insert(ix, &t)))
		goto fail;
	snprintf(token, API_TOKEN_STRLEN, TOKEN_PREFIX "%lld_%s", (long long)t.id, hex);
	char obj[IDX_NAME_MAX + 32];
	snprintf(obj, sizeof(obj), "%s token %lld", r.name, (long long)t.id);
	if ((err = api_audit_append_tx(ix, now_us, actor_user(who), "token.create", obj,
				       actor_remote(who), API_AUDIT_OK,
				       t.label[0] ? t.label : NULL, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(hex, sizeof(hex));
	if (id)
		*id = t.id;
	return 0;
fail:
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(token, API_TOKEN_STRLEN);
	token[0] = '\0';
	idx_rollback(ix);
	if (err == ES_ENOTFOUND)
		audit_failed(ix, who, now_us, "token.create", name, err);
	return err;
}

/* "est_<id>_<64 hex>" → id and the hex secret (a view into token). */
static bool token_parse(const char *token, int64_t *id, struct slice *secret)
{
	struct slice s = sl_cstr(token), num, rest;
	if (s.len >= API_TOKEN_STRLEN || !sl_starts_ci(s, TOKEN_PREFIX) ||
	    memcmp(s.p, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return false;
	s = sl_sub(s, strlen(TOKEN_PREFIX), s.len);
	uint64_t v;
	if (!sl_split(s, '_', &num, &rest) || sl_to_u64(num, &v) || v == 0 || v > INT64_MAX ||
	    rest.len != 2 * SECRET_LEN)
		return false;
	for (size_t i = 0; i < rest.len; i++)
		if (!isxdigit((unsigned char)rest.p[i]) || isupper((unsigned char)rest.p[i]))
			return false;
	*id = (int64_t)v;
	*secret = rest;
	return true;
}

#define API_TOKEN_TOUCH_US (60 * ES_US_PER_SEC) /* last_used_us granularity */

int api_token_auth(struct idx *ix, const char *token, int64_t now_us, struct api_user *out)
{
	int64_t id;
	struct slice secret;
	struct idx_token t;
	struct idx_user r;
	if (!crypto_ready() || !token_parse(token, &id, &secret))
		return API_EAUTH;
	int err = idx_token_get(ix, id, &t);
	if (err)
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	char h[IDX_HEX256];
	sha256_hex(secret.p, secret.len, h);
	/* Both are 64 hex digits when the row is sound; compare in constant
	 * time and only then look at the rest. */
	bool match = strlen(t.hash) == 64 && sodium_memcmp(h, t.hash, 64) == 0;
	if (!match || t.revoked)
		return API_EAUTH;
	if ((err = idx_user_get_id(ix, t.user_id, &r)))
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	if (r.disabled)
		return API_EAUTH;
	/* last_used_us is for people (GET /api/tokens), not for expiry: written
	 * at most once a minute per token, not a write transaction per request
	 * (a player's Range requests; issue #7). */
	if ((t.last_used_us <= 0 || now_us < t.last_used_us ||
	     now_us - t.last_used_us >= API_TOKEN_TOUCH_US) &&
	    (err = idx_token_touch(ix, id, now_us)))
		return err;
	return to_api_user(&r, out);
}

int api_token_revoke(struct idx *ix, const struct api_actor *who, int64_t id, int64_t now_us)
{
	char obj[32];
	snprintf(obj, sizeof(obj), "token %lld", (long long)id);
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_token_revoke(ix, id)) ||
	    (err = api_audit_append_tx(ix, now_us, actor_user(who), "token.revoke", obj,
				       actor_remote(who), API_AUDIT_OK, NULL, NULL)) ||
	    (err = idx_commit(ix))) {
		idx_rollback(ix);
		if (err == ES_ENOTFOUND)
			audit_failed(ix, who, now_us, "token.revoke", obj, err);
		return err;
	}
	return 0;
}

/* ---- sessions -------------------------------------------------------------------------------- */

/* The stored hash of a cookie value (64 lower-case hex digits). */
static bool cookie_hash(const char *cookie, char out[IDX_HEX256])
{
	unsigned char id[SECRET_LEN];
	size_t n = 0;
	if (!cookie || strlen(cookie) != 2 * SECRET_LEN)
		return false;
	for (const char *c = cookie; *c; c++)
		if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
			return false;
	if (sodium_hex2bin(id, sizeof(id), cookie, 2 * SECRET_LEN, NULL, &n, NULL) != 0 ||
	    n != SECRET_LEN)
		return false;
	sha256_hex(id, sizeof(id), out);
	sodium_memzero(id, sizeof(id));
	return true;
}

static void random_hex(char out[IDX_HEX256])
{
	unsigned char b[SECRET_LEN];
	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, IDX_HEX256, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
}

int api_session_create(struct idx *ix, const struct api_user *u, const char *remote,
		       int64_t now_us, int64_t ttl_us, struct api_session *out)
{
	if (!crypto_ready())
		return ES_ENOMEM;
	if (ttl_us <= 0)
		return ES_EINVAL;
	struct idx_session s = {.user_id = u->id, .created_us = now_us,
				.expires_us = now_us + ttl_us};
	memset(out, 0, sizeof(*out));
	random_hex(out->id);
	random_hex(s.csrf);
	cookie_hash(out->id, s.id_hash);
	snprintf(s.remote, sizeof(s.remote), "%s", remote ? remote : "");
	int err = idx_session_insert(ix, &s);
	if (err) {
		sodium_memzero(out, sizeof(*out));
		return err;
	}
	memcpy(out->csrf, s.csrf, sizeof(out->csrf));
	out->user_id = s.user_id;
	out->created_us = s.created_us;
	out->expires_us = s.expires_us;
	memcpy(out->remote, s.remote, sizeof(out->remote));
	return 0;
}

int api_session_lookup(struct idx *ix, const char *cookie, int64_t now_us,
		       struct api_session *s, struct api_user *u)
{
	char h[IDX_HEX256];
	struct idx_session row;
	struct idx_user r;
	if (!crypto_ready() || !cookie_hash(cookie, h))
		return API_EAUTH;
	int err = idx_session_get(ix, h, &row);
	if (err)
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	if (row.expires_us <= now_us) {
		idx_session_delete(ix, h);
		return API_EAUTH;
	}
	if ((err = idx_user_get_id(ix, row.user_id, &r)))
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	if (r.disabled)
		return API_EAUTH;
	memset(s, 0, sizeof(*s));
	memcpy(s->csrf, row.csrf, sizeof(s->csrf));
	s->user_id = row.user_id;
	s->created_us = row.created_us;
	s->expires_us = row.expires_us;
	memcpy(s->remote, row.remote, sizeof(s->remote));
	return to_api_user(&r, u);
}

bool api_csrf_ok(const struct api_session *s, const char *token)
{
	size_t n = strnlen(s->csrf, sizeof(s->csrf));
	return token && n == 2 * SECRET_LEN && strlen(token) == n &&
	       sodium_memcmp(s->csrf, token, n) == 0;
}

int api_session_delete(struct idx *ix, const char *cookie)
{
	char h[IDX_HEX256];
	if (!crypto_ready() || !cookie_hash(cookie, h))
		return ES_ENOTFOUND;
	return idx_session_delete(ix, h);
}

/* ---- the login rate limiter ------------------------------------------------------------------ */

#define RL_KEY_MAX 80

struct rl_slot {
	char key[RL_KEY_MAX];  /* "a:<remote>" or "u:<lower-case name>"; "" free */
	unsigned failures;     /* in the window starting at window_us */
	int64_t window_us;
	int64_t locked_until;  /* 0 = not locked */
	int64_t last_us;       /* last failure */
};

struct api_rl {
	struct rl_slot *slots;
	unsigned cap;
	unsigned max_failures;
	int64_t window_us;
	int64_t lockout_us;
};

int api_rl_new(struct api_rl **out, unsigned capacity, unsigned max_failures,
	       int64_t window_us, int64_t lockout_us)
{
	*out = NULL;
	if (!capacity || !max_failures || window_us <= 0 || lockout_us <= 0)
		return ES_EINVAL;
	struct api_rl *rl = calloc(1, sizeof(*rl));
	if (rl)
		rl->slots = calloc(capacity, sizeof(*rl->slots));
	if (!rl || !rl->slots) {
		free(rl);
		return ES_ENOMEM;
	}
	rl->cap = capacity;
	rl->max_failures = max_failures;
	rl->window_us = window_us;
	rl->lockout_us = lockout_us;
	*out = rl;
	return 0;
}

void api_rl_free(struct api_rl *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* The key of a remote ('a') or a name ('u', names compare in any case);
 * false for NULL or empty.  Longer values are cut: still one key each. */
static bool rl_key(char kind, const char *v, char key[RL_KEY_MAX])
{
	if (!v || !v[0])
		return false;
	size_t n = 0;
	key[n++] = kind;
	key[n++] = ':';
	for (; *v && n + 1 < RL_KEY_MAX; v++)
		key[n++] = kind == 'u' ? (char)tolower((unsigned char)*v) : *v;
	key[n] = '\0';
	return true;
}

static bool rl_idle(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	return s->locked_until <= now && now - s->window_us >= rl->window_us;
}

/* Which slot a new key takes: free or idle first (0), then unlocked (1),
 * then locked (2); the oldest within a class. */
static int rl_class(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	if (!s->key[0] || rl_idle(rl, s, now))
		return 0;
	return s->locked_until > now ? 2 : 1;
}

/* The slot of key, or NULL; with make, a new one when absent. */
static struct rl_slot *rl_find(struct api_rl *rl, const char *key, bool make, int64_t now)
{
	struct rl_slot *victim = NULL;
	int vclass = 3;
	for (unsigned i = 0; i < rl->cap; i++) {
		struct rl_slot *s = &rl->slots[i];
		if (s->key[0] && !strcmp(s->key, key))
			return s;
		if (!make)
			continue;
		int c = rl_class(rl, s, now);
		if (c < vclass || (c == vclass && s->last_us < victim->last_us)) {
			victim = s;
			vclass = c;
		}
	}
	if (!make || !victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->window_us = now;
	return victim;
}

static int64_t rl_locked(struct api_rl *rl, char kind, const char *v, int64_t now)
{
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key(kind, v, key) ? rl_find(rl, key, false, now) : NULL;
	return s && s->locked_until > now ? s->locked_until : 0;
}

int api_rl_check(struct api_rl *rl, const char *remote, const char *name, int64_t now_us,
		 int64_t *retry_after_us)
{
	int64_t a = rl_locked(rl, 'a', remote, now_us), u = rl_locked(rl, 'u', name, now_us);
	int64_t until = ES_MAX(a, u);
	if (retry_after_us)
		*retry_after_us = until;
	return until ? ES_ELIMIT : 0;
}

static void rl_count(struct api_rl *rl, char kind, const char *v, int64_t now)
{
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key(kind, v, key) ? rl_find(rl, key, true, now) : NULL;
	if (!s)
		return;
	if (s->locked_until > now)
		return; /* already locked: the lock does not grow with attempts */
	if (now - s->window_us >= rl->window_us) {
		s->window_us = now;
		s->failures = 0;
	}
	s->last_us = now;
	if (++s->failures >= rl->max_failures) {
		s->locked_until = now + rl->lockout_us;
		s->failures = 0;
		s->window_us = now;
	}
}

void api_rl_failure(struct api_rl *rl, const char *remote, const char *name, int64_t now_us)
{
	rl_count(rl, 'a', remote, now_us);
	rl_count(rl, 'u', name, now_us);
}

void api_rl_success(struct api_rl *rl, const char *remote, const char *name, int64_t now_us)
{
	(void)remote;
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key('u', name, key) ? rl_find(rl, key, false, now_us) : NULL;
	if (s && s->locked_until <= now_us)
		memset(s, 0, sizeof(*s));
}
