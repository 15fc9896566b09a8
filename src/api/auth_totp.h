/*
 * auth_totp.h - time-based one-time passwords (RFC 6238 over RFC 4226's
 * HOTP, HMAC-SHA-1), their RFC 4648 base32 secrets, the otpauth:// URI an
 * authenticator app scans, and one-time recovery codes.  Pure functions:
 * storing the (sealed) secret and the hashed recovery codes is the caller's.
 */
#ifndef ES_API_AUTH_TOTP_H
#define ES_API_AUTH_TOTP_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

#define API_TOTP_KEY_LEN 20    /* RFC 4226 4 R6: 160-bit shared secret */
#define API_TOTP_STEP 30       /* RFC 6238 5.2: the recommended time step */
#define API_TOTP_DIGITS 6
#define API_TOTP_WINDOW 1      /* steps accepted either side (RFC 6238 5.2) */
#define API_TOTP_B32_MAX 64    /* a base32 key of up to 40 bytes, with NUL */
#define API_TOTP_RECOVERY_N 10 /* recovery codes handed out per enrolment */
#define API_TOTP_RECOVERY_LEN 20 /* "xxxx-xxxx-xxxx-xxxx" is 19 chars + NUL */

/* RFC 4226 5.3: the HOTP value of counter c, digits (6..8) decimal digits. */
int api_hotp(const uint8_t *key, size_t klen, uint64_t counter, unsigned digits,
	     uint32_t *out);
/* RFC 6238 4.2: the TOTP value at Unix time t_s (T0 = 0, step seconds). */
int api_totp(const uint8_t *key, size_t klen, int64_t t_s, unsigned step, unsigned digits,
	     uint32_t *out);
/* Checks a 6-digit code typed by a user at Unix time now_s against the
 * steps now-WINDOW..now+WINDOW.  A step at or before *last_step (the last
 * one accepted for this key, 0 for none) is refused, so a code cannot be
 * replayed (RFC 6238 5.2); on success *last_step is set to the matched
 * step.  0 or API_EAUTH-like ES_ECRYPTO; ES_EINVAL for a code that is not
 * six digits (spaces are ignored). */
int api_totp_check(const uint8_t *key, size_t klen, const char *code, int64_t now_s,
		   int64_t *last_step);

/* RFC 4648 6 base32 without padding ("=" is dropped, as authenticator
 * apps expect); ES_ELIMIT when out is too small. */
int api_base32_encode(const uint8_t *p, size_t n, char *out, size_t cap);
/* Decodes base32, case-insensitive, ignoring spaces and "=" padding;
 * ES_EPARSE for any other character or trailing bits that are not zero. */
int api_base32_decode(const char *s, uint8_t *out, size_t cap, size_t *n);

/* otpauth://totp/ISSUER:USER?secret=...&issuer=ISSUER&algorithm=SHA1&
 * digits=6&period=30 (Key Uri Format of Google Authenticator), with the
 * label and issuer percent-encoded. */
int api_totp_uri(const char *issuer, const char *user, const char *secret_b32, char *out,
		 size_t cap);

/* A fresh recovery code: 16 base32 characters of randomness (80 bits) in
 * groups of four, e.g. "k3vq-27mz-paxw-4rdn"; stored only as its SHA-256
 * (80 random bits need no slow hash). */
void api_recovery_code(char out[API_TOTP_RECOVERY_LEN]);
/* The canonical form of a typed recovery code (lower case, no dashes or
 * spaces) for hashing; ES_EINVAL when it is not one. */
int api_recovery_norm(const char *typed, char *out, size_t cap);

#endif /* ES_API_AUTH_TOTP_H */
