/* test_ldap.c - api/auth_ldap.c's escaping: RFC 4515 section 3 for search
 * filters (a name with "*)(" matches only itself) and RFC 4514 section 2.4
 * for DN values; too small a buffer is an error, never a cut value. */
#include "api/api.h"
#include "check.h"

#include <string.h>

static void test_filter_escape(void)
{
	char out[64];
	CHECK_INT(api_ldap_filter_escape("alice", out, sizeof(out)), 0);
	CHECK_STR(out, "alice");
	/* the injection a name could carry: every special character escaped */
	CHECK_INT(api_ldap_filter_escape("*)(uid=*", out, sizeof(out)), 0);
	CHECK_STR(out, "\\2a\\29\\28uid=\\2a");
	CHECK_INT(api_ldap_filter_escape("a\\b", out, sizeof(out)), 0);
	CHECK_STR(out, "a\\5cb");
	CHECK_INT(api_ldap_filter_escape("\x01", out, sizeof(out)), 0);
	CHECK_STR(out, "\\01");
	CHECK_INT(api_ldap_filter_escape("**", out, 6), ES_ELIMIT);
	CHECK_INT(api_ldap_filter_escape("**", out, 7), 0);
	CHECK_INT(api_ldap_filter_escape("", out, sizeof(out)), 0);
	CHECK_STR(out, "");
}

static void test_dn_escape(void)
{
	char out[64];
	CHECK_INT(api_ldap_dn_escape("alice", out, sizeof(out)), 0);
	CHECK_STR(out, "alice");
	CHECK_INT(api_ldap_dn_escape("a,ou=admins", out, sizeof(out)), 0);
	CHECK_STR(out, "a\\,ou\\=admins");
	CHECK_INT(api_ldap_dn_escape("#x y ", out, sizeof(out)), 0);
	CHECK_STR(out, "\\#x y\\ ");
	CHECK_INT(api_ldap_dn_escape("a+b;c<d>\"e\\", out, sizeof(out)), 0);
	CHECK_STR(out, "a\\+b\\;c\\<d\\>\\\"e\\\\");
	CHECK_INT(api_ldap_dn_escape(",,", out, 4), ES_ELIMIT);
}

int main(void)
{
	RUN(test_filter_escape);
	RUN(test_dn_escape);
	return CHECK_DONE();
}
