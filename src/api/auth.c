/*
 * auth.c - the role matrix, "own call" matching, passwords, and the
 * helpers auth_users.c, auth_tokens.c and auth_sessions.c share
 * (auth_internal.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

bool auth_crypto_ready(void) { return sodium_init() >= 0; }

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
	[API_ACT_AUDIT_READ] = "audit_read", [API_ACT_ADMIN] = "admin", [API_ACT_HOLD] = "hold",
	[API_ACT_REDACT] = "redact", [API_ACT_ORIGINAL] = "original",
	[API_ACT_EVALUATE] = "evaluate",
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
	/*                  search view listen export tag verify audit admin hold redact original evaluate */
	[API_ROLE_ADMIN] = {ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL},
	[API_ROLE_SUPERVISOR] = {ALL, ALL, ALL, ALL, ALL, ALL, NO, NO, NO, ALL, NO, ALL},
	[API_ROLE_AGENT] = {OWN, OWN, OWN, NO, OWN, NO, NO, NO, NO, NO, NO, NO},
	[API_ROLE_AUDITOR] = {ALL, ALL, LISTEN_GRANT, LISTEN_GRANT, NO, ALL, ALL, NO, ALL, NO,
			      LISTEN_GRANT, NO},
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

const char *api_party_query(const char *q, char *out, size_t cap)
{
	struct slice s = sl_trim(sl_cstr(q));
	size_t digits = 0;
	/* a number starts like one: "-5" or ". 1" stay text */
	if (!s.len || !(isdigit((unsigned char)s.p[0]) || s.p[0] == '+' || s.p[0] == '('))
		return q;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (isdigit(c))
			digits++;
		else if (!is_sep((char)c) && !(c == '+' && i == 0))
			return q; /* a name, a URI, "*21#": searched as typed */
	}
	if (!digits || !api_number_norm(s, out, cap))
		return q;
	return out;
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
	if (!auth_crypto_ready())
		return ES_ENOMEM;
	_Static_assert(crypto_pwhash_STRBYTES <= IDX_PWHASH_MAX, "pwhash string fits");
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return ES_ENOMEM; /* the only documented failure: memory */
	return 0;
}

int api_password_verify(const char *hash, const char *password)
{
	if (!hash || !password || !auth_crypto_ready())
		return API_EAUTH;
	size_t len = strlen(password);
	if (len > API_PW_MAX || strnlen(hash, IDX_PWHASH_MAX) >= IDX_PWHASH_MAX)
		return API_EAUTH;
	return crypto_pwhash_str_verify(hash, password, len) == 0 ? 0 : API_EAUTH;
}

/* ---- shared by users, tokens and sessions ---------------------------------------- */

void auth_sha256_hex(const void *p, size_t n, char out[IDX_HEX256])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, p, n);
	sodium_bin2hex(out, IDX_HEX256, md, sizeof(md));
}

void auth_random_hex(char out[IDX_HEX256])
{
	unsigned char b[AUTH_SECRET_LEN];
	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, IDX_HEX256, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
}

int auth_user_out(const struct idx_user *r, struct api_user *u)
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

const char *auth_actor_user(const struct api_actor *who)
{
	return who && who->user && who->user[0] ? who->user : "-";
}

const char *auth_actor_remote(const struct api_actor *who)
{
	return who && who->remote ? who->remote : "";
}

/* A refused change still leaves a trace; its own error is not the
 * caller's concern (the change's code is). */
void auth_audit_failed(struct idx *ix, const struct api_actor *who, int64_t now_us,
		       const char *action, const char *object, int err)
{
	api_audit_append(ix, now_us, auth_actor_user(who), action, object, auth_actor_remote(who),
			 API_AUDIT_FAILED, es_strerror(err), NULL);
}
