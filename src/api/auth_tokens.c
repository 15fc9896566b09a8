/*
 * auth_tokens.c - API tokens: creation, authentication, revocation (api.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- API tokens ---------------------------------------------------------------------------- */

#define TOKEN_PREFIX "est_"

int api_token_create(struct idx *ix, const struct api_actor *who, const char *name,
		     const char *label, int64_t now_us, char token[API_TOKEN_STRLEN],
		     int64_t *id)
{
	if (!auth_crypto_ready())
		return ES_ENOMEM;
	token[0] = '\0';
	struct idx_user r;
	struct idx_token t = {.created_us = now_us};
	unsigned char secret[AUTH_SECRET_LEN];
	char hex[2 * AUTH_SECRET_LEN + 1];
	snprintf(t.label, sizeof(t.label), "%s", label ? label : "");
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	/* The row keeps the secret's hash; the id in the token finds the row. */
	auth_sha256_hex(hex, strlen(hex), t.hash);
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
	if ((err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "token.create", obj,
				       auth_actor_remote(who), API_AUDIT_OK,
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
		auth_audit_failed(ix, who, now_us, "token.create", name, err);
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
	    rest.len != 2 * AUTH_SECRET_LEN)
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
	if (!auth_crypto_ready() || !token_parse(token, &id, &secret))
		return API_EAUTH;
	int err = idx_token_get(ix, id, &t);
	if (err)
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	char h[IDX_HEX256];
	auth_sha256_hex(secret.p, secret.len, h);
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
	return auth_user_out(&r, out);
}

int api_token_revoke(struct idx *ix, const struct api_actor *who, int64_t id, int64_t now_us)
{
	char obj[32];
	snprintf(obj, sizeof(obj), "token %lld", (long long)id);
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_token_revoke(ix, id)) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "token.revoke", obj,
				       auth_actor_remote(who), API_AUDIT_OK, NULL, NULL)) ||
	    (err = idx_commit(ix))) {
		idx_rollback(ix);
		if (err == ES_ENOTFOUND)
			auth_audit_failed(ix, who, now_us, "token.revoke", obj, err);
		return err;
	}
	return 0;
}
