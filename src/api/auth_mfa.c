/*
 * auth_mfa.c - the TOTP second factor wired to the index and the key vault:
 * enrolment, confirmation with recovery codes, the second step of sign-in
 * with replay refused, removal and an admin's reset, pending sign-ins
 * (api.h; the RFC 6238 arithmetic is auth_totp.c's).
 */
#include "api/auth_internal.h"
#include "store/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The vault wraps 32-byte keys; a TOTP secret is the first 20 of one
 * (RFC 4226 4 R6: 160 bits), which authenticator apps all take. */
_Static_assert(API_TOTP_KEY_LEN <= ST_KEY_BYTES, "a TOTP key fits a vault key");

/* The associated data of a user's sealed secret: a sealed value copied
 * onto another user's row does not open. */
static void seal_id(int64_t user_id, char out[40])
{
	snprintf(out, 40, "totp:%lld", (long long)user_id);
}

static int unseal(struct st_vault *v, const struct idx_totp *t, uint8_t key[ST_KEY_BYTES])
{
	char id[40], err[128];
	seal_id(t->user_id, id);
	if (!v)
		return ES_ENOTFOUND;
	int rc = st_vault_unwrap(v, id, t->sealed, key, err, sizeof(err));
	if (rc)
		ES_LOG_ERR("api", "second factor of user %lld: %s", (long long)t->user_id, err);
	return rc;
}

int api_mfa_rewrap_all(struct idx *ix, struct st_vault *v, unsigned *n, char *err,
		       size_t errlen)
{
	int64_t *ids = NULL;
	size_t nids = 0;
	*n = 0;
	int rc = idx_totp_users(ix, &ids, &nids);
	if (rc)
		return es_errf(err, errlen, rc, "%s", idx_errmsg(ix));
	for (size_t i = 0; !rc && i < nids; i++) {
		struct idx_totp t;
		char id[40], fresh[IDX_SEALED_MAX];
		seal_id(ids[i], id);
		if ((rc = idx_totp_get(ix, ids[i], &t)) == ES_ENOTFOUND) {
			rc = 0; /* removed meanwhile */
			continue;
		}
		if (!rc)
			rc = st_vault_rewrap(v, id, t.sealed, fresh, sizeof(fresh), err, errlen);
		if (!rc) {
			rc = idx_totp_reseal(ix, ids[i], t.sealed, fresh);
			if (rc == ES_ENOTFOUND)
				rc = 0; /* re-enrolled meanwhile: sealed with the new KEK */
			else if (!rc)
				(*n)++;
			else
				es_errf(err, errlen, rc, "%s", idx_errmsg(ix));
		} else if (rc == ES_EDB) {
			es_errf(err, errlen, rc, "%s", idx_errmsg(ix));
		}
		sodium_memzero(&t, sizeof(t));
		sodium_memzero(fresh, sizeof(fresh));
	}
	free(ids);
	return rc;
}

int api_mfa_state(struct idx *ix, int64_t user_id, struct api_mfa_state *out)
{
	struct idx_totp t;
	memset(out, 0, sizeof(*out));
	int err = idx_totp_get(ix, user_id, &t);
	if (err == ES_ENOTFOUND)
		return 0;
	if (err)
		return err;
	out->enrolled = t.enabled;
	out->begun = !t.enabled;
	sodium_memzero(t.sealed, sizeof(t.sealed));
	return t.enabled ? idx_recovery_left(ix, user_id, &out->recovery_left) : 0;
}

int api_totp_enrol(struct idx *ix, struct st_vault *v, const struct api_actor *who,
		   const struct api_user *u, const char *issuer, int64_t now_us,
		   char secret_b32[API_TOTP_B32_MAX], char *uri, size_t uri_cap)
{
	uint8_t key[ST_KEY_BYTES];
	struct idx_totp t = {.user_id = u->id, .created_us = now_us}, old;
	char id[40];
	secret_b32[0] = '\0';
	if (!v)
		return ES_ENOTFOUND;
	seal_id(u->id, id);
	int err = st_vault_wrap_new(v, id, key, t.sealed, sizeof(t.sealed));
	if (err)
		return err;
	if ((err = api_base32_encode(key, API_TOTP_KEY_LEN, secret_b32, API_TOTP_B32_MAX)) ||
	    (err = api_totp_uri(issuer, u->name, secret_b32, uri, uri_cap)))
		goto out;
	if ((err = idx_begin(ix)))
		goto out;
	err = idx_totp_get(ix, u->id, &old);
	if (!err && old.enabled)
		err = ES_EEXIST; /* one factor at a time: remove it first */
	else if (!err || err == ES_ENOTFOUND)
		err = idx_totp_put(ix, &t);
	if (!err)
		err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "totp.enrol", u->name,
					  auth_actor_remote(who), API_AUDIT_OK, "begun", NULL);
	if (!err)
		err = idx_commit(ix);
	if (err)
		idx_rollback(ix);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&t, sizeof(t));
	if (err) {
		sodium_memzero(secret_b32, API_TOTP_B32_MAX);
		if (err == ES_EEXIST)
			auth_audit_failed(ix, who, now_us, "totp.enrol", u->name, err);
	}
	return err;
}

/* The code against t's secret: 0 with *step the matched step, API_EAUTH
 * for a wrong or replayed code, ES_EINVAL for one that is not six digits. */
static int check_code(struct st_vault *v, const struct idx_totp *t, const char *code,
		      int64_t now_us, int64_t *step)
{
	uint8_t key[ST_KEY_BYTES];
	int err = unseal(v, t, key);
	if (err)
		return err;
	*step = t->last_step;
	err = api_totp_check(key, API_TOTP_KEY_LEN, code, now_us / ES_US_PER_SEC, step);
	sodium_memzero(key, sizeof(key));
	return err == ES_ECRYPTO ? API_EAUTH : err;
}

int api_totp_confirm(struct idx *ix, struct st_vault *v, const struct api_actor *who,
		     const struct api_user *u, const char *code, int64_t now_us,
		     char codes[][API_TOTP_RECOVERY_LEN], unsigned ncodes)
{
	struct idx_totp t;
	char norm[20], hash[IDX_HEX256];
	int64_t step = 0;
	const char *why = NULL;
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_totp_get(ix, u->id, &t)))
		goto fail;
	if (t.enabled) {
		err = ES_EEXIST;
		goto fail;
	}
	if ((err = check_code(v, &t, code, now_us, &step))) {
		why = err == API_EAUTH ? "wrong code" : NULL;
		goto fail;
	}
	t.enabled = true;
	t.enabled_us = now_us;
	t.last_step = step; /* the confirming code does not sign in later */
	if ((err = idx_totp_put(ix, &t)))
		goto fail;
	for (unsigned i = 0; i < ncodes; i++) {
		api_recovery_code(codes[i]);
		api_recovery_norm(codes[i], norm, sizeof(norm));
		auth_sha256_hex(norm, strlen(norm), hash);
		if ((err = idx_recovery_add(ix, u->id, hash)))
			goto fail;
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "on; %u recovery codes", ncodes);
	if ((err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "totp.enable", u->name,
				       auth_actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(&t, sizeof(t));
	return 0;
fail:
	idx_rollback(ix);
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(&t, sizeof(t));
	for (unsigned i = 0; i < ncodes; i++)
		sodium_memzero(codes[i], API_TOTP_RECOVERY_LEN);
	if (why)
		api_audit_append(ix, now_us, auth_actor_user(who), "totp.enable", u->name,
				 auth_actor_remote(who), API_AUDIT_FAILED, why, NULL);
	return err;
}

/* A recovery code of user_id, used up: API_EAUTH when it is none. */
static int use_recovery(struct idx *ix, int64_t user_id, const char *typed, int64_t now_us)
{
	char norm[20], hash[IDX_HEX256];
	if (api_recovery_norm(typed, norm, sizeof(norm)))
		return API_EAUTH;
	auth_sha256_hex(norm, strlen(norm), hash);
	sodium_memzero(norm, sizeof(norm));
	int err = idx_recovery_use(ix, user_id, hash, now_us);
	return err == ES_ENOTFOUND ? API_EAUTH : err;
}

int api_totp_verify(struct idx *ix, struct st_vault *v, const char *remote,
		    const struct api_user *u, const char *code, const char *recovery,
		    int64_t now_us)
{
	struct idx_totp t;
	int64_t step = 0, left = 0;
	const char *why = "no second factor";
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_totp_get(ix, u->id, &t)) || !t.enabled) {
		err = !err || err == ES_ENOTFOUND ? API_EAUTH : err;
		goto fail;
	}
	if (recovery) {
		why = "wrong or used recovery code";
		if ((err = use_recovery(ix, u->id, recovery, now_us)) ||
		    (err = idx_recovery_left(ix, u->id, &left)))
			goto fail;
	} else {
		why = "wrong or reused code";
		/* a code that is not six digits, or a secret that does not
		 * open (no vault), is refused like a wrong one: closed */
		err = check_code(v, &t, code, now_us, &step);
		/* the step moves only forward: of two requests with one code,
		 * the second finds it taken (ES_ENOTFOUND) */
		if (!err)
			err = idx_totp_step(ix, u->id, step);
		if (err) {
			err = err == ES_EDB ? err : API_EAUTH;
			goto fail;
		}
	}
	char detail[64];
	if (recovery)
		snprintf(detail, sizeof(detail), "recovery code (%lld left)", (long long)left);
	else
		snprintf(detail, sizeof(detail), "code");
	if ((err = api_audit_append_tx(ix, now_us, u->name, "login.totp", NULL, remote,
				       API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(&t, sizeof(t));
	return 0;
fail:
	idx_rollback(ix);
	sodium_memzero(&t, sizeof(t));
	if (err == API_EAUTH)
		api_audit_append(ix, now_us, u->name, "login.totp", NULL, remote, API_AUDIT_FAILED,
				 why, NULL);
	return err;
}

int api_totp_remove(struct idx *ix, const struct api_actor *who, const char *name,
		    bool by_admin, int64_t now_us)
{
	const char *action = by_admin ? "user.totp_reset" : "totp.disable";
	struct idx_user r;
	bool had = false;
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &r)) || (err = idx_totp_delete(ix, r.id, &had)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	if (!had) {
		err = ES_ENOTFOUND;
		goto fail;
	}
	/* A reset follows a lost (maybe stolen) device: whoever holds it
	 * must not stay signed in. */
	if ((by_admin &&
	     (err = auth_user_signout_tx(ix, who, &r, NULL, "second factor reset", now_us))) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), action, r.name,
				       auth_actor_remote(who), API_AUDIT_OK, "removed", NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	return 0;
fail:
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	idx_rollback(ix);
	if (err == ES_ENOTFOUND)
		auth_audit_failed(ix, who, now_us, action, name, err);
	return err;
}

int api_totp_disable_self(struct idx *ix, struct st_vault *v, const struct api_actor *who,
			  const char *name, const char *password, const char *code, int64_t now_us)
{
	struct idx_user r;
	struct idx_totp t;
	int64_t step = 0;
	const char *why = NULL;
	memset(&t, 0, sizeof(t));
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &r)) || (err = idx_totp_get(ix, r.id, &t)))
		goto fail;
	if (api_password_verify(r.pwhash, password)) {
		why = "wrong password";
		err = API_EAUTH;
		goto fail;
	}
	/* the code proves the device is at hand; it signs nobody in, so the
	 * one that just confirmed enrolment is fine too */
	t.last_step = 0;
	if (t.enabled && (err = check_code(v, &t, code, now_us, &step))) {
		why = "wrong code";
		err = API_EAUTH;
		goto fail;
	}
	bool had;
	if ((err = idx_totp_delete(ix, r.id, &had)) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "totp.disable", r.name,
				       auth_actor_remote(who), API_AUDIT_OK, "removed", NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	sodium_memzero(&t, sizeof(t));
	return 0;
fail:
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	sodium_memzero(&t, sizeof(t));
	idx_rollback(ix);
	if (why)
		api_audit_append(ix, now_us, auth_actor_user(who), "totp.disable", name,
				 auth_actor_remote(who), API_AUDIT_FAILED, why, NULL);
	return err;
}

int api_pending_create(struct idx *ix, const struct api_user *u, const char *remote,
		       int64_t now_us, char token[API_PENDING_STRLEN])
{
	char h[IDX_HEX256];
	if (!auth_crypto_ready())
		return ES_ENOMEM;
	auth_random_hex(token);
	auth_cookie_hash(token, h);
	int err = idx_pending_add(ix, h, u->id, now_us + API_PENDING_TTL_US, remote);
	if (err)
		sodium_memzero(token, API_PENDING_STRLEN);
	return err;
}

int api_pending_user(struct idx *ix, const char *token, int64_t now_us, struct api_user *out)
{
	char h[IDX_HEX256];
	int64_t uid = 0;
	struct idx_user r;
	if (!auth_crypto_ready() || !auth_cookie_hash(token, h))
		return API_EAUTH;
	int err = idx_pending_get(ix, h, now_us, &uid);
	if (!err)
		err = idx_user_get_id(ix, uid, &r);
	if (err)
		return err == ES_ENOTFOUND ? API_EAUTH : err;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	if (r.disabled)
		return API_EAUTH;
	return auth_user_out(&r, out);
}

void api_pending_end(struct idx *ix, const char *token)
{
	char h[IDX_HEX256];
	if (auth_cookie_hash(token, h))
		idx_pending_delete(ix, h);
}
