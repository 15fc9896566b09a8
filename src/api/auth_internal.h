/*
 * auth_internal.h - what auth.c shares with auth_users.c, auth_tokens.c and
 * auth_sessions.c (not part of api.h's contract).
 */
#ifndef ES_API_AUTH_INTERNAL_H
#define ES_API_AUTH_INTERNAL_H

#include "api/api.h"

#define AUTH_SECRET_LEN 32 /* random bytes of a token secret or a session id */

/* libsodium is initialised (idempotent). */
bool auth_crypto_ready(void);
/* The lower-case hex SHA-256 of p[0..n). */
void auth_sha256_hex(const void *p, size_t n, char out[IDX_HEX256]);
/* AUTH_SECRET_LEN random bytes as lower-case hex. */
void auth_random_hex(char out[IDX_HEX256]);
/* A stored row as the api's user (never the hash); ES_EFORMAT for a
 * damaged role. */
int auth_user_out(const struct idx_user *r, struct api_user *u);
/* The actor's name ("-" when none) and address ("" when none). */
const char *auth_actor_user(const struct api_actor *who);
const char *auth_actor_remote(const struct api_actor *who);
/* A refused change still leaves a trace (outcome "failed"). */
void auth_audit_failed(struct idx *ix, const struct api_actor *who, int64_t now_us,
		       const char *action, const char *object, int err);

/* The stored hash of a session cookie value (64 lower-case hex digits);
 * false when it is not one. */
bool auth_cookie_hash(const char *cookie, char out[IDX_HEX256]);
/* Sign user u out everywhere inside the caller's transaction: revoke every
 * live API token ("token.revoke" each) and end every session but the one
 * whose id hash is keep_hash (NULL: all; "session.end" with the count);
 * why says what caused it ("password reset", "user disabled"). */
int auth_user_signout_tx(struct idx *ix, const struct api_actor *who, const struct idx_user *u,
			 const char *keep_hash, const char *why, int64_t now_us);

#endif /* ES_API_AUTH_INTERNAL_H */
