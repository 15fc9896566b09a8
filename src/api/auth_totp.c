/*
 * auth_totp.c - RFC 6238 time-based one-time passwords, base32 secrets,
 * otpauth:// URIs and recovery codes (auth_totp.h).
 */
#include "api/auth_totp.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; /* RFC 4648 6 */

/* ---- HOTP / TOTP --------------------------------------------------------------- */

int api_hotp(const uint8_t *key, size_t klen, uint64_t counter, unsigned digits,
	     uint32_t *out)
{
	static const uint32_t pow10[] = {1,	 10,	   100,	      1000,	10000,
					 100000, 1000000, 10000000, 100000000};
	unsigned char msg[8], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!key || !klen || klen > 64 || digits < 6 || digits > 8)
		return ES_EINVAL;
	/* RFC 4226 5.2: the counter as 8 bytes, big-endian */
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (unsigned char)(counter & 0xff);
	if (!HMAC(EVP_sha1(), key, (int)klen, msg, sizeof(msg), md, &mdlen) || mdlen != 20)
		return ES_ECRYPTO;
	/* RFC 4226 5.3: dynamic truncation */
	unsigned off = md[19] & 0x0f;
	uint32_t bin = ((uint32_t)(md[off] & 0x7f) << 24) | ((uint32_t)md[off + 1] << 16) |
		       ((uint32_t)md[off + 2] << 8) | (uint32_t)md[off + 3];
	sodium_memzero(md, sizeof(md));
	*out = bin % pow10[digits];
	return 0;
}

int api_totp(const uint8_t *key, size_t klen, int64_t t_s, unsigned step, unsigned digits,
	     uint32_t *out)
{
	if (t_s < 0 || !step)
		return ES_EINVAL;
	/* RFC 6238 4.2: T = floor((now - T0) / X), T0 = 0 */
	return api_hotp(key, klen, (uint64_t)t_s / step, digits, out);
}

int api_totp_check(const uint8_t *key, size_t klen, const char *code, int64_t now_s,
		   int64_t *last_step)
{
	char want[API_TOTP_DIGITS + 1], got[API_TOTP_DIGITS + 1];
	size_t n = 0;
	for (const char *c = code; c && *c; c++) {
		if (*c == ' ')
			continue;
		if (!isdigit((unsigned char)*c) || n >= API_TOTP_DIGITS)
			return ES_EINVAL;
		got[n++] = *c;
	}
	if (n != API_TOTP_DIGITS || now_s < 0)
		return ES_EINVAL;
	got[n] = '\0';
	int64_t now_step = now_s / API_TOTP_STEP;
	int found = 0;
	int64_t match = 0;
	/* every step of the window is computed, so the time taken does not
	 * say which one matched */
	for (int64_t s = now_step - API_TOTP_WINDOW; s <= now_step + API_TOTP_WINDOW; s++) {
		uint32_t v;
		if (s < 0 || api_hotp(key, klen, (uint64_t)s, API_TOTP_DIGITS, &v))
			continue;
		snprintf(want, sizeof(want), "%06u", (unsigned)v);
		if (sodium_memcmp(want, got, API_TOTP_DIGITS) == 0 && s > *last_step && !found) {
			found = 1;
			match = s;
		}
	}
	sodium_memzero(want, sizeof(want));
	sodium_memzero(got, sizeof(got));
	if (!found)
		return ES_ECRYPTO;
	*last_step = match;
	return 0;
}

/* ---- base32 -------------------------------------------------------------------- */

int api_base32_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t need = (n * 8 + 4) / 5 + 1, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (!cap || need > cap)
		return ES_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

int api_base32_decode(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (; s && *s; s++) {
		if (*s == ' ' || *s == '=')
			continue;
		const char *at = strchr(b32_alphabet, toupper((unsigned char)*s));
		if (!at || !*at)
			return ES_EPARSE;
		acc = (acc << 5) | (uint32_t)(at - b32_alphabet);
		bits += 5;
		if (bits >= 8) {
			if (o >= cap)
				return ES_ELIMIT;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	/* RFC 4648 3.5: the pad bits are zero, and fewer than five (a whole
	 * character more than the bytes need is no encoding's output) */
	if (acc || bits >= 5)
		return ES_EPARSE;
	*n = o;
	return 0;
}

/* ---- otpauth:// ------------------------------------------------------------------ */

/* Appends s percent-encoded (RFC 3986 2.1; unreserved characters stay). */
static bool put_enc(char *out, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
		if (*o + (plain ? 1 : 3) >= cap)
			return false;
		if (plain) {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return true;
}

static bool put_raw(char *out, size_t cap, size_t *o, const char *s)
{
	size_t len = strlen(s);
	if (*o + len >= cap)
		return false;
	memcpy(out + *o, s, len + 1);
	*o += len;
	return true;
}

int api_totp_uri(const char *issuer, const char *user, const char *secret_b32, char *out,
		 size_t cap)
{
	size_t o = 0;
	char tail[64];
	if (!cap || !issuer || !user || !secret_b32)
		return ES_EINVAL;
	snprintf(tail, sizeof(tail), "&algorithm=SHA1&digits=%d&period=%d", API_TOTP_DIGITS,
		 API_TOTP_STEP);
	if (put_raw(out, cap, &o, "otpauth://totp/") && put_enc(out, cap, &o, issuer) &&
	    put_raw(out, cap, &o, ":") && put_enc(out, cap, &o, user) &&
	    put_raw(out, cap, &o, "?secret=") && put_raw(out, cap, &o, secret_b32) &&
	    put_raw(out, cap, &o, "&issuer=") && put_enc(out, cap, &o, issuer) &&
	    put_raw(out, cap, &o, tail))
		return 0;
	out[0] = '\0';
	return ES_ELIMIT;
}

/* ---- recovery codes ---------------------------------------------------------------- */

void api_recovery_code(char out[API_TOTP_RECOVERY_LEN])
{
	uint8_t b[10];
	char s[17];
	randombytes_buf(b, sizeof(b));
	api_base32_encode(b, sizeof(b), s, sizeof(s)); /* 80 bits: 16 characters */
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = (char)tolower((unsigned char)s[i]);
	}
	out[o] = '\0';
	sodium_memzero(b, sizeof(b));
	sodium_memzero(s, sizeof(s));
}

int api_recovery_norm(const char *typed, char *out, size_t cap)
{
	size_t o = 0;
	if (cap < 17)
		return ES_EINVAL;
	for (const char *c = typed; c && *c; c++) {
		if (*c == '-' || *c == ' ')
			continue;
		char l = (char)toupper((unsigned char)*c);
		if (o >= 16 || !strchr(b32_alphabet, l) || !l)
			return ES_EINVAL;
		out[o++] = (char)tolower((unsigned char)l);
	}
	if (o != 16)
		return ES_EINVAL;
	out[o] = '\0';
	return 0;
}
