/* bundle_head.c - does an evidence bundle's signed head extend a head
 * trusted from outside the recorder (an anchor: `--head FILE`)?  The
 * bundle carries RFC 9162 consistency proofs from earlier heads of its
 * ledger (consistency.txt, store/ledger.h); a trusted head of one of those
 * sizes, or of the bundle's own size, can be checked; a newer one only by
 * the recorder (`earshot verify --head`). */
#include "verify/bundle.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_anchor(struct ev_result *r, enum ev_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_anchor(struct ev_result *r, enum ev_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->c[EV_C_ANCHOR].why, sizeof(r->c[EV_C_ANCHOR].why), fmt, ap);
	va_end(ap);
	r->c[EV_C_ANCHOR].state = s;
}

/* head.txt and ledger.pub, as ev_bundle_check read them. */
static bool bundle_head(const struct ev_bundle *b, struct st_head *h, uint8_t pk[ST_LEDGER_PK_LEN])
{
	const struct ev_file *hf = ev_bundle_find(b, "head.txt"),
			     *pf = ev_bundle_find(b, "ledger.pub");
	char why[128];
	return hf && pf && hf->len > 1 && hf->p[hf->len - 1] == '\n' &&
	       !st_head_parse((const char *)hf->p, hf->len - 1, h, why, sizeof(why)) &&
	       !ev_pub_parse(pf->p, pf->len, pk, why, sizeof(why)) && !st_head_verify(h, pk);
}

static void check_all(const struct ev_bundle *b, const struct st_head *heads, size_t n,
		      struct ev_result *r, struct st_cons_entry *cons)
{
	struct st_head bh;
	uint8_t pk[ST_LEDGER_PK_LEN];
	char why[512], err[256];
	if (!bundle_head(b, &bh, pk)) {
		set_anchor(r, EV_FAIL, "head.txt or ledger.pub is unusable (see above)");
		return;
	}
	size_t ncons = 0;
	const struct ev_file *cf = ev_bundle_find(b, "consistency.txt");
	uint64_t csize = 0;
	if (cf && st_cons_parse(cf->p, cf->len, &csize, cons, ST_CONS_MAX, &ncons, err,
				sizeof(err))) {
		set_anchor(r, EV_FAIL, "consistency.txt: %s", err);
		return;
	}
	if (cf && csize != bh.size) {
		set_anchor(r, EV_FAIL, "consistency.txt: for a head of %" PRIu64 " leaves, head.txt "
			   "is of %" PRIu64, csize, bh.size);
		return;
	}
	unsigned ours = 0, ok = 0, newer = 0, unproven = 0;
	const struct st_head *best = NULL, *top = NULL;
	char best_why[512] = "";
	/* the newest trusted head no newer than the bundle's must be proven:
	 * an honest bundle carries its own head or a recent one, and one made
	 * from a rolled-back ledger cannot prove the head it left behind */
	for (size_t i = 0; i < n; i++)
		if (!memcmp(heads[i].key_id, pk, ST_LEDGER_KEYID_LEN) && heads[i].size <= bh.size &&
		    (!top || heads[i].size > top->size))
			top = &heads[i];
	for (size_t i = 0; i < n; i++) {
		const struct st_head *t = &heads[i];
		if (memcmp(t->key_id, pk, ST_LEDGER_KEYID_LEN) != 0)
			continue;
		ours++;
		if (st_head_verify(t, pk)) {
			set_anchor(r, EV_FAIL, "a trusted head of %" PRIu64 " leaves names the bundle's "
				   "key but its signature does not verify with it", t->size);
			return;
		}
		enum st_trust k = st_cons_check(&bh, cons, ncons, t, why, sizeof(why));
		if (k == ST_TRUST_NEWER)
			newer++;
		else if (k == ST_TRUST_UNPROVEN && t->size == top->size) {
			set_anchor(r, EV_FAIL, "%s, the newest trusted head not newer than the bundle's "
				   "(%zu proofs carried): a bundle of a rolled-back or forked ledger "
				   "looks like this; `earshot verify --head` on the recorder decides",
				   why, ncons);
			return;
		} else if (k == ST_TRUST_UNPROVEN)
			unproven++;
		else if (k != ST_TRUST_OK) {
			set_anchor(r, EV_FAIL, "%s", why);
			return;
		} else {
			ok++;
			if (!best || t->size > best->size) {
				best = t;
				snprintf(best_why, sizeof(best_why), "%s", why);
			}
		}
	}
	if (!ours) {
		char kid[2 * ST_LEDGER_KEYID_LEN + 1];
		for (size_t i = 0; i < ST_LEDGER_KEYID_LEN; i++)
			snprintf(kid + 2 * i, 3, "%02x", pk[i]);
		set_anchor(r, EV_FAIL, "none of the %zu trusted heads is signed by the bundle's "
			   "key %s: another recorder's anchor, or the bundle's key is not the "
			   "recorder's", n, kid);
		return;
	}
	if (!ok) {
		set_anchor(r, EV_FAIL, "no trusted head could be proven: %u newer than the bundle "
			   "(export it again, or ask the recorder: earshot verify --head), %u "
			   "older without a proof in consistency.txt (%zu proofs carried)",
			   newer, unproven, ncons);
		return;
	}
	set_anchor(r, EV_OK, "%s; leaf %" PRIu64 " %s; %u trusted head%s proven, %u newer "
		   "(only the recorder can prove those), %u older without a proof here",
		   best_why,
		   r->seq, r->seq < best->size ? "was already in that trusted head"
					       : "came after that trusted head",
		   ok, ok == 1 ? "" : "s", newer, unproven);
}

void ev_bundle_check_heads(const struct ev_bundle *b, const struct st_head *heads, size_t n,
			   struct ev_result *r)
{
	struct st_cons_entry *cons = calloc(ST_CONS_MAX, sizeof(*cons));
	if (!cons)
		set_anchor(r, EV_FAIL, "out of memory");
	else
		check_all(b, heads, n, r, cons);
	free(cons);
	if (r->c[EV_C_ANCHOR].state == EV_FAIL)
		r->ok = false;
}
