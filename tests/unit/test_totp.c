/* test_totp.c - api/auth_totp.c against RFC 4226 appendix D, RFC 6238
 * appendix B and RFC 4648 section 10 test vectors; the window, replay and
 * malformed codes; otpauth:// URIs; recovery codes. */
#include "api/auth_totp.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

static const uint8_t rfc_key[] = "12345678901234567890"; /* both RFCs' SHA-1 seed */
#define RFC_KLEN 20

static void test_hotp_rfc4226(void)
{
	static const uint32_t want[10] = {755224, 287082, 359152, 969429, 338314,
					  254676, 287922, 162583, 399871, 520489};
	for (uint64_t c = 0; c < 10; c++) {
		uint32_t v = 0;
		CHECK_INT(api_hotp(rfc_key, RFC_KLEN, c, 6, &v), 0);
		CHECK_INT(v, want[c]);
	}
	uint32_t v;
	CHECK_INT(api_hotp(rfc_key, RFC_KLEN, 0, 5, &v), ES_EINVAL);
	CHECK_INT(api_hotp(rfc_key, 0, 0, 6, &v), ES_EINVAL);
}

static void test_totp_rfc6238(void)
{
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {{59, 94287082},	 {1111111109, 7081804},	 {1111111111, 14050471},
		 {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t got = 0;
		CHECK_INT(api_totp(rfc_key, RFC_KLEN, v[i].t, 30, 8, &got), 0);
		CHECK_INT(got, v[i].code);
	}
}

static void code_at(int64_t t, char out[8])
{
	uint32_t v = 0;
	api_totp(rfc_key, RFC_KLEN, t, API_TOTP_STEP, API_TOTP_DIGITS, &v);
	snprintf(out, 8, "%06u", (unsigned)v);
}

static void test_window(void)
{
	const int64_t now = 1700000015; /* inside a step: 1700000010..39 */
	char c[8];
	int64_t last = 0;
	/* -1, 0 and +1 steps are accepted; -2 and +2 (t+90 is +3) are not */
	static const int64_t ok[] = {-30, 0, 30}, bad[] = {-60, 60, 90};
	for (size_t i = 0; i < 3; i++) {
		last = 0;
		code_at(now + ok[i], c);
		CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), 0);
		CHECK_INT(last, (now + ok[i]) / 30);
		last = 0;
		code_at(now + bad[i], c);
		CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), ES_ECRYPTO);
		CHECK_INT(last, 0);
	}
	/* a code is good once: the same step again, or an older one, is refused */
	last = 0;
	code_at(now, c);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), 0);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), ES_ECRYPTO);
	code_at(now - 30, c);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), ES_ECRYPTO);
	code_at(now + 30, c);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, c, now, &last), 0);
	/* spaces are fine ("123 456"); anything else that is not six digits is not */
	last = 0;
	code_at(now, c);
	char spaced[10];
	snprintf(spaced, sizeof(spaced), "%.3s %s", c, c + 3);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, spaced, now, &last), 0);
	static const char *const junk[] = {"", "12345", "1234567", "12a456", "-12345", NULL};
	for (size_t i = 0; junk[i]; i++)
		CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, junk[i], now, &last), ES_EINVAL);
	CHECK_INT(api_totp_check(rfc_key, RFC_KLEN, NULL, now, &last), ES_EINVAL);
}

static void test_base32(void)
{
	/* RFC 4648 10, without the padding */
	static const char *const v[][2] = {{"", ""},	       {"f", "MY"},
					   {"fo", "MZXQ"},     {"foo", "MZXW6"},
					   {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"},
					   {"foobar", "MZXW6YTBOI"}};
	char out[32];
	uint8_t back[16];
	size_t n;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i][0]);
		CHECK_INT(api_base32_encode((const uint8_t *)v[i][0], len, out, sizeof(out)), 0);
		CHECK_STR(out, v[i][1]);
		CHECK_INT(api_base32_decode(v[i][1], back, sizeof(back), &n), 0);
		CHECK(n == len && !memcmp(back, v[i][0], len));
	}
	CHECK_INT(api_base32_decode("mzxw6ytboi======", back, sizeof(back), &n), 0);
	CHECK(n == 6 && !memcmp(back, "foobar", 6));
	CHECK_INT(api_base32_decode("MZXW1", back, sizeof(back), &n), ES_EPARSE); /* '1' */
	CHECK_INT(api_base32_decode("MZ", back, sizeof(back), &n), ES_EPARSE);    /* pad bits */
	/* one character too many, even of zero bits (found by fuzz_totp) */
	CHECK_INT(api_base32_decode("MZXW4YYTBOABOA", back, sizeof(back), &n), ES_EPARSE);
	CHECK_INT(api_base32_decode("MZA", back, sizeof(back), &n), ES_EPARSE);
	CHECK_INT(api_base32_decode("MZXW6YTBOI", back, 3, &n), ES_ELIMIT);
	CHECK_INT(api_base32_encode((const uint8_t *)"foobar", 6, out, 10), ES_ELIMIT);
}

static void test_uri(void)
{
	char u[256];
	CHECK_INT(api_totp_uri("earshot", "alice@example.com", "GEZDGNBV", u, sizeof(u)), 0);
	CHECK_STR(u, "otpauth://totp/earshot:alice%40example.com?secret=GEZDGNBV&issuer=earshot"
		     "&algorithm=SHA1&digits=6&period=30");
	CHECK_INT(api_totp_uri("ACME Rec", "bob", "GEZDGNBV", u, sizeof(u)), 0);
	CHECK(strstr(u, "totp/ACME%20Rec:bob?") && strstr(u, "&issuer=ACME%20Rec&"));
	CHECK_INT(api_totp_uri("earshot", "bob", "GEZDGNBV", u, 20), ES_ELIMIT);
	CHECK_STR(u, "");
}

static void test_recovery(void)
{
	char a[API_TOTP_RECOVERY_LEN], b[API_TOTP_RECOVERY_LEN], n[32];
	api_recovery_code(a);
	api_recovery_code(b);
	CHECK_INT(strlen(a), 19);
	CHECK(a[4] == '-' && a[9] == '-' && a[14] == '-');
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(api_recovery_norm(a, n, sizeof(n)), 0);
	CHECK_INT(strlen(n), 16);
	char typed[40];
	snprintf(typed, sizeof(typed), " %c%c%c%c %s", a[0] - 32 * (a[0] >= 'a'), a[1], a[2],
		 a[3], a + 5);
	char n2[32];
	CHECK_INT(api_recovery_norm(typed, n2, sizeof(n2)), 0);
	CHECK_STR(n2, n);
	CHECK_INT(api_recovery_norm("abcd-efgh", n2, sizeof(n2)), ES_EINVAL);
	CHECK_INT(api_recovery_norm("abcd-efgh-ijkl-mno1", n2, sizeof(n2)), ES_EINVAL);
	CHECK_INT(api_recovery_norm("abcd-efgh-ijkl-mnop-q", n2, sizeof(n2)), ES_EINVAL);
}

int main(void)
{
	RUN(test_hotp_rfc4226);
	RUN(test_totp_rfc6238);
	RUN(test_window);
	RUN(test_base32);
	RUN(test_uri);
	RUN(test_recovery);
	return CHECK_DONE();
}
