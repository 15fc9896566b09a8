/*
 * hold.c - legal hold names and reasons (policy.h).  The holds themselves
 * live in the index (schema v9) and the ledger (hold and release leaves);
 * record/delete.c refuses to delete a held recording.
 */
#include "policy.h"

#include <string.h>

const char *pol_hold_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (!n || n > POL_HOLD_NAME_MAX)
		return "a hold name is 1-64 characters";
	/* the ledger's alphabet for names in leaves (store/ledger.h) */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return "a hold name is made of a-z 0-9 . _ - only";
	return NULL;
}

const char *pol_hold_reason_check(const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;
	if (!n)
		return "a reason is required";
	if (n > POL_HOLD_REASON_MAX)
		return "the reason is longer than 1000 bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return "the reason has a control character";
	return NULL;
}
