/* verify_head.c - `earshot verify --head FILE`: does the ledger extend the
 * heads published outside the data folder (store/anchor.h)?  FILE is an
 * anchor file, a syslog collector's file, or one head line; every distinct
 * head signed by this ledger's key is checked (--newest-head: the newest
 * only). */
#include "cli/cli.h"
#include "store/ledger.h"

#include <stdlib.h>
#include <string.h>

static const char *const trust_kind[] = {
	[ST_TRUST_OK] = "head_ok",
	[ST_TRUST_KEY] = "head_key",
	[ST_TRUST_TRUNCATED] = "head_truncated",
	[ST_TRUST_FORK] = "head_forked",
	[ST_TRUST_PROOF] = "head_proof",
};

/* Newer: more leaves, then later. */
static bool newer(const struct st_head *a, const struct st_head *b)
{
	return a->size > b->size || (a->size == b->size && a->time_us > b->time_us);
}

/* Oldest first; equal heads (a head published twice) side by side. */
static int cmp_head(const void *a, const void *b)
{
	const struct st_head *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? -1 : 1;
	return memcmp(x, y, sizeof(*x));
}

#define MAX_REPORTED 20 /* failing heads named one by one; the rest counted */

int cli_verify_heads(const char *ledger_dir, const char *file, bool newest_only,
		     cli_head_report_fn report, void *ctx)
{
	char err[1024] = "", why[1024], msg[1400];
	struct st_head *v = NULL;
	size_t n = 0;
	struct st_ledger *l = NULL;
	int rc = st_heads_read(file, &v, &n, err, sizeof(err));
	if (rc) {
		report(ctx, "head_unreadable", err, true);
		return 0;
	}
	rc = st_ledger_open(&l, ledger_dir, ST_LEDGER_RDONLY, err, sizeof(err));
	if (rc) {
		report(ctx, "head_unchecked", err, true);
		free(v);
		return 0;
	}
	uint8_t pk[ST_LEDGER_PK_LEN];
	st_ledger_public_key(l, pk);
	qsort(v, n, sizeof(*v), cmp_head);
	/* the heads of this ledger's key (the file may hold other recorders'
	 * heads); when there is none, the newest head is itself the finding */
	const struct st_head *pick = NULL, *any = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!any || newer(&v[i], any))
			any = &v[i];
		if (!memcmp(v[i].key_id, pk, ST_LEDGER_KEYID_LEN) && (!pick || newer(&v[i], pick)))
			pick = &v[i];
	}
	bool none_ours = !pick;
	if (!pick)
		pick = any;
	unsigned checked = 0, failed = 0;
	enum st_trust newest_t = ST_TRUST_OK;
	char newest_why[1024] = "";
	for (size_t i = 0; i < n; i++) {
		const struct st_head *h = &v[i];
		bool ours = !memcmp(h->key_id, pk, ST_LEDGER_KEYID_LEN);
		if (h != pick && (newest_only || !ours))
			continue;
		if (i && !memcmp(&v[i - 1], h, sizeof(*h)))
			continue; /* the same head again (republished at a start) */
		/* every head the anchor holds: a rolled-back ledger that grew
		 * again may extend the newest head but not an older one */
		enum st_trust t = st_ledger_check_trusted(l, h, why, sizeof(why));
		checked++;
		if (h == pick) {
			newest_t = t;
			snprintf(newest_why, sizeof(newest_why), "%s", why);
		}
		if (t != ST_TRUST_OK && failed++ < MAX_REPORTED) {
			snprintf(msg, sizeof(msg), "%s: %s", file, why);
			report(ctx, trust_kind[t], msg, true);
		}
	}
	if (failed > MAX_REPORTED) {
		snprintf(msg, sizeof(msg), "%s: %u more heads fail the same way", file,
			 failed - MAX_REPORTED);
		report(ctx, "head_more", msg, true);
	}
	if (!failed) {
		snprintf(msg, sizeof(msg), "%s: %u head%s checked; the newest %s", file, checked,
			 checked == 1 ? "" : "s", newest_why);
		report(ctx, trust_kind[ST_TRUST_OK], msg, false);
	} else if (newest_t == ST_TRUST_OK && !none_ours) {
		snprintf(msg, sizeof(msg), "%s: the newest head passes (%s) but older ones do not: "
			 "the ledger was rolled back and grew again", file, newest_why);
		report(ctx, "head_forked", msg, true);
	}
	st_ledger_close(l);
	free(v);
	return (int)checked;
}
