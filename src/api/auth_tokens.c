/*
 * auth_tokens.c - API tokens: creation, authentication, listing,
 * revocation, and signing a user out everywhere (api.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- API tokens ---------------------------------------------------------------------------- */

#define TOKEN_PREFIX "est_"

int api_token_create(struct idx *ix, const struct api_actor *who, const char *name,
		     const char *label, int64_t expires_us, int64_t now_us,
		     char token[API_TOKEN_STRLEN], int64_t *id)
{
	token[0] = '\0';
	if (!api_token_label_valid(label) || (expires_us && expires_us <= now_us))
		return ES_EINVAL;
	if (!auth_crypto_ready())
		return ES_ENOMEM;
	struct idx_user r;
	struct idx_token t = {.created_us = now_us, .expires_us = expires_us};
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
	char obj[IDX_NAME_MAX + 32], detail[sizeof(t.label) + 64], exp[ES_TIME_STRLEN] = "never";
	snprintf(obj, sizeof(obj), "%s token %lld", r.name, (long long)t.id);
	if (expires_us)
		es_time_fmt(expires_us, exp, sizeof(exp));
	snprintf(detail, sizeof(detail), "expires %s%s%s", exp, t.label[0] ? "; label " : "",
		 t.label);
	if ((err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "token.create", obj,
				       auth_actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
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
	if (!match || t.revoked || (t.expires_us && now_us >= t.expires_us))
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

bool api_token_label_valid(const char *label)
{
	size_t n = label ? strlen(label) : 0;
	if (n > API_TOKEN_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return false; /* no control characters in lists and the audit log */
	return true;
}

static void to_api_token(const struct idx_token *r, struct api_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = r->id;
	t->user_id = r->user_id;
	snprintf(t->label, sizeof(t->label), "%s", r->label);
	t->created_us = r->created_us;
	t->last_used_us = r->last_used_us;
	t->expires_us = r->expires_us;
	t->revoked = r->revoked;
	t->revoked_us = r->revoked_us;
	snprintf(t->revoked_why, sizeof(t->revoked_why), "%s", r->revoked_why);
}

/* Revoke token t of user name with its audit entry, inside the caller's
 * transaction. */
static int revoke_tx(struct idx *ix, const struct api_actor *who, const struct idx_token *t,
		     const char *name, const char *why, int64_t now_us)
{
	char obj[32], detail[IDX_NAME_MAX + 256]; /* "of NAME: WHY", WHY up to a revoked_why */
	snprintf(obj, sizeof(obj), "token %lld", (long long)t->id);
	snprintf(detail, sizeof(detail), "of %s: %s", name, why);
	int err = idx_token_revoke(ix, t->id, now_us, why);
	return err ? err
		   : api_audit_append_tx(ix, now_us, auth_actor_user(who), "token.revoke", obj,
					 auth_actor_remote(who), API_AUDIT_OK, detail, NULL);
}

int api_token_revoke(struct idx *ix, const struct api_actor *who, int64_t id, int64_t owner_id,
		     int64_t now_us)
{
	char obj[32], why[IDX_NAME_MAX + 32];
	snprintf(obj, sizeof(obj), "token %lld", (long long)id);
	snprintf(why, sizeof(why), "revoked by %s", auth_actor_user(who));
	struct idx_token t;
	struct idx_user r;
	int err = idx_begin(ix);
	if (err)
		return err;
	/* Someone else's token is "not found": its existence is not theirs. */
	if ((err = idx_token_get(ix, id, &t)) ||
	    (owner_id && t.user_id != owner_id && (err = ES_ENOTFOUND)) ||
	    (err = idx_user_get_id(ix, t.user_id, &r)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	if ((err = revoke_tx(ix, who, &t, r.name, why, now_us)) || (err = idx_commit(ix)))
		goto fail;
	return 0;
fail:
	idx_rollback(ix);
	if (err == ES_ENOTFOUND)
		auth_audit_failed(ix, who, now_us, "token.revoke", obj, err);
	return err;
}

struct list_ctx {
	api_token_fn fn;
	void *ud;
};

static int list_one(void *ud, const struct idx_token *r)
{
	struct list_ctx *l = ud;
	struct api_token t;
	to_api_token(r, &t);
	return l->fn(l->ud, &t);
}

int api_tokens_list(struct idx *ix, int64_t user_id, api_token_fn fn, void *ud)
{
	if (user_id <= 0)
		return ES_EINVAL;
	struct list_ctx l = {fn, ud};
	return idx_tokens_list(ix, user_id, list_one, &l);
}

/* ---- signing a user out everywhere ------------------------------------------------------ */

#define SIGNOUT_BATCH 64

struct live_ids {
	int64_t id[SIGNOUT_BATCH];
	unsigned n;
	bool more;
};

static int live_one(void *ud, const struct idx_token *t)
{
	struct live_ids *l = ud;
	if (t->revoked)
		return 0;
	if (l->n == SIGNOUT_BATCH) {
		l->more = true;
		return 1; /* stop: this batch is full */
	}
	l->id[l->n++] = t->id;
	return 0;
}

int auth_user_signout_tx(struct idx *ix, const struct api_actor *who, const struct idx_user *u,
			 const char *keep_hash, const char *why, int64_t now_us)
{
	struct live_ids l;
	int err;
	/* In batches: a revoked token leaves the live list, so each pass
	 * starts again from the first live one. */
	do {
		memset(&l, 0, sizeof(l));
		err = idx_tokens_list(ix, u->id, live_one, &l);
		if (err && err != 1)
			return err;
		for (unsigned i = 0; i < l.n; i++) {
			struct idx_token t = {.id = l.id[i]};
			if ((err = revoke_tx(ix, who, &t, u->name, why, now_us)))
				return err;
		}
	} while (l.more);
	int64_t n = 0;
	if ((err = idx_sessions_delete_user(ix, u->id, keep_hash, &n)))
		return err;
	if (!n)
		return 0;
	char detail[128];
	snprintf(detail, sizeof(detail), "%lld session%s%s: %s", (long long)n, n == 1 ? "" : "s",
		 keep_hash ? " (all but the current one)" : "", why);
	return api_audit_append_tx(ix, now_us, auth_actor_user(who), "session.end", u->name,
				   auth_actor_remote(who), API_AUDIT_OK, detail, NULL);
}
