/*
 * auth_sessions.c - browser sessions and their CSRF tokens (api.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- sessions -------------------------------------------------------------------------------- */

/* The stored hash of a cookie value (64 lower-case hex digits). */
bool auth_cookie_hash(const char *cookie, char out[IDX_HEX256])
{
	unsigned char id[AUTH_SECRET_LEN];
	size_t n = 0;
	if (!cookie || strlen(cookie) != 2 * AUTH_SECRET_LEN)
		return false;
	for (const char *c = cookie; *c; c++)
		if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
			return false;
	if (sodium_hex2bin(id, sizeof(id), cookie, 2 * AUTH_SECRET_LEN, NULL, &n, NULL) != 0 ||
	    n != AUTH_SECRET_LEN)
		return false;
	auth_sha256_hex(id, sizeof(id), out);
	sodium_memzero(id, sizeof(id));
	return true;
}

int api_session_create(struct idx *ix, const struct api_user *u, const char *remote,
		       int64_t now_us, int64_t ttl_us, struct api_session *out)
{
	if (!auth_crypto_ready())
		return ES_ENOMEM;
	if (ttl_us <= 0)
		return ES_EINVAL;
	struct idx_session s = {.user_id = u->id, .created_us = now_us,
				.expires_us = now_us + ttl_us};
	memset(out, 0, sizeof(*out));
	auth_random_hex(out->id);
	auth_random_hex(s.csrf);
	auth_cookie_hash(out->id, s.id_hash);
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
	if (!auth_crypto_ready() || !auth_cookie_hash(cookie, h))
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
	return auth_user_out(&r, u);
}

bool api_csrf_ok(const struct api_session *s, const char *token)
{
	size_t n = strnlen(s->csrf, sizeof(s->csrf));
	return token && n == 2 * AUTH_SECRET_LEN && strlen(token) == n &&
	       sodium_memcmp(s->csrf, token, n) == 0;
}

int api_session_delete(struct idx *ix, const char *cookie)
{
	char h[IDX_HEX256];
	if (!auth_crypto_ready() || !auth_cookie_hash(cookie, h))
		return ES_ENOTFOUND;
	return idx_session_delete(ix, h);
}
