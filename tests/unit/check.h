/*
 * check.h - the unit tests' assertions.  Each test program runs its cases,
 * counts failures and exits non-zero when any failed, so ctest reports it.
 */
#ifndef ES_CHECK_H
#define ES_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) \
	do { \
		check_count++; \
		if (!(cond)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_INT(a, b) \
	do { \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		check_count++; \
		if (check_a_ != check_b_) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *check_a_ = (a), *check_b_ = (b); \
		check_count++; \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)"); \
		} \
	} while (0)

/* Compare a slice with a C string. */
#define CHECK_SL(sl, str) \
	do { \
		struct slice check_s_ = (sl); \
		const char *check_e_ = (str); \
		check_count++; \
		if (check_s_.len != strlen(check_e_) || \
		    (check_s_.len && memcmp(check_s_.p, check_e_, check_s_.len) != 0)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s == \"%s\" (got \"%.*s\")\n", \
				__FILE__, __LINE__, #sl, check_e_, (int)check_s_.len, \
				check_s_.p ? check_s_.p : ""); \
		} \
	} while (0)

#define RUN(fn) \
	do { \
		int check_before_ = check_failures; \
		fn(); \
		fprintf(stderr, "%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL", #fn); \
	} while (0)

#define CHECK_DONE() \
	(fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), \
	 check_failures ? 1 : 0)

#endif
