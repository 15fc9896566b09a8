/*
 * retain.c - a recording gets its retention policy, minimum and expiry when
 * it is indexed (policy/retention.c decides, the index keeps them); `earshot
 * retention apply` recomputes them after a policy change.
 */
#include "record/record.h"

struct assign {
	const struct pol_retention *pol;
	struct pol_ret_decision d;
	bool found;
};

static int decide(void *ud, const struct idx_ret_rec *r)
{
	struct assign *a = ud;
	struct pol_ret_call c = {.rule = r->rule, .caller = r->caller, .callee = r->callee,
				 .source = r->source, .flags = r->flags, .tags = r->tags,
				 .start_us = r->start_us};
	pol_retention_decide(a->pol, &c, &a->d);
	a->found = true;
	return 0;
}

int rec_retention_assign(struct idx *ix, const struct pol_retention *pol, int64_t call_row)
{
	struct assign a = {.pol = pol};
	int rc = idx_retention_list(ix, IDX_RET_CALL, call_row, decide, &a);
	if (!rc && a.found)
		rc = idx_retention_set(ix, call_row, a.d.policy, a.d.keep_until_us,
				       a.d.retain_until_us);
	return rc;
}
