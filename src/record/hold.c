/*
 * hold.c - placing and releasing legal holds (record.h): the index keeps
 * the hold and its calls, the ledger a hold or release leaf per recording
 * so that the hold is provable offline.  record/delete.c refuses to delete
 * what an active hold covers.
 */
#include "record/record.h"
#include "store/ledger.h"

#include <stdlib.h>
#include <string.h>

int rec_hold_query_parse(char *buf, struct idx_filter *f, char *err, size_t errlen)
{
	for (char *save = NULL, *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		char *v = strchr(it, '=');
		if (!v || v == it || !v[1]) {
			snprintf(err, errlen, "query: '%.100s' is not key=value", it);
			return ES_EINVAL;
		}
		*v++ = '\0';
		if (!strcmp(it, "party")) f->party = v;
		else if (!strcmp(it, "tag")) f->tag = v;
		else if (!strcmp(it, "source")) f->source = v;
		else if (!strcmp(it, "outcome")) f->outcome = v;
		else if (!strcmp(it, "flag")) f->flag = v;
		else if (!strcmp(it, "call-id")) f->call_id = v;
		else if (!strcmp(it, "from") || !strcmp(it, "to")) {
			if (es_time_parse(v, !strcmp(it, "from") ? &f->from_us : &f->to_us)) {
				snprintf(err, errlen, "query: %s: cannot read time '%.100s'", it, v);
				return ES_EINVAL;
			}
		} else {
			snprintf(err, errlen, "query: unknown key '%.60s' (party, from, to, tag, source, "
					      "outcome, flag, call-id)", it);
			return ES_EINVAL;
		}
	}
	return 0;
}

/* ---- the calls of a new hold ------------------------------------------------------- */

struct hcall {
	int64_t row;
	char *path; /* the recording's id, NULL when the call has none */
};
struct hcalls {
	struct hcall *v;
	size_t n, cap;
	bool oom;
};

static int take_call(void *ud, const struct idx_call *c)
{
	struct hcalls *h = ud;
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].row == c->id)
			return 0; /* the same call given twice */
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		void *p = realloc(h->v, cap * sizeof(*h->v));
		if (!p)
			return h->oom = true, ES_ENOMEM;
		h->v = p;
		h->cap = cap;
	}
	struct hcall *x = &h->v[h->n];
	x->row = c->id;
	x->path = NULL;
	if (c->recording && c->recording->path && !(x->path = strdup(c->recording->path)))
		return h->oom = true, ES_ENOMEM;
	h->n++;
	return 0;
}

static void hcalls_free(struct hcalls *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].path);
	free(h->v);
}

static int resolve(struct idx *ix, const struct rec_hold_req *q, struct hcalls *h, char *err,
		   size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < q->nrows && !rc; i++) {
		rc = idx_call_brief(ix, q->rows[i], take_call, h);
		if (rc == ES_ENOTFOUND)
			snprintf(err, errlen, "no call %lld; no hold placed", (long long)q->rows[i]);
	}
	if (!rc && q->query) {
		struct idx_filter f = {0};
		char *buf = strdup(q->query);
		if (!buf)
			return ES_ENOMEM;
		rc = rec_hold_query_parse(buf, &f, err, errlen);
		if (!rc)
			rc = idx_calls_list(ix, &f, take_call, h);
		free(buf);
	}
	if (rc && rc != ES_ENOTFOUND && rc != ES_EINVAL)
		snprintf(err, errlen, "%s", h->oom ? "out of memory" : idx_errmsg(ix));
	if (!rc && !h->n) {
		snprintf(err, errlen, "the query matches no call; no hold placed");
		rc = ES_ENOTFOUND;
	}
	return rc;
}

int rec_hold_place(struct idx *ix, struct st_ledger *l, const struct rec_hold_req *q,
		   size_t *ncalls, size_t *nrecordings, char *err, size_t errlen)
{
	*ncalls = *nrecordings = 0;
	const char *why = pol_hold_name_check(q->name);
	if (!why)
		why = pol_hold_reason_check(q->reason);
	if (!why && !q->nrows == !q->query)
		why = "give calls or a query (one of them)";
	if (why) {
		snprintf(err, errlen, "%s", why);
		return ES_EINVAL;
	}
	struct hcalls h = {0};
	int64_t id = 0;
	int rc = resolve(ix, q, &h, err, errlen);
	if (rc)
		goto out;
	/* index first, in one transaction with the leaves appended: the hold is
	 * in force once the index has it; the ledger commit signs the leaves */
	if ((rc = idx_begin(ix)) ||
	    (rc = idx_hold_create(ix, q->name, q->reason, q->query, q->by, q->now_us, &id))) {
		if (rc == ES_EEXIST)
			snprintf(err, errlen, "a hold named %s exists already", q->name);
		else
			snprintf(err, errlen, "%s", idx_errmsg(ix));
		idx_rollback(ix);
		goto out;
	}
	for (size_t i = 0; i < h.n && !rc; i++) {
		rc = idx_hold_add_call(ix, id, h.v[i].row, h.v[i].path);
		if (!rc && h.v[i].path) {
			rc = st_ledger_append_hold(l, h.v[i].path, q->name, false, q->now_us, NULL);
			++*nrecordings;
		}
	}
	if (!rc)
		rc = idx_commit(ix);
	if (rc) {
		snprintf(err, errlen, "%s", rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
		idx_rollback(ix);
		goto out;
	}
	if ((rc = st_ledger_commit(l)))
		snprintf(err, errlen, "the hold is in force but the ledger could not sign its "
				      "leaves: %s (the next commit signs them)", es_strerror(rc));
	*ncalls = h.n;
	/* archived recordings: the object's own legal hold too, where the
	 * bucket has Object Lock, so the storage refuses a deletion as well */
	for (size_t i = 0; i < h.n && q->data_dir; i++) {
		char why[1024];
		int lr = h.v[i].path ? rec_tier_legal_hold(q->data_dir, h.v[i].path, true, why,
							   sizeof(why))
				     : 0;
		if (lr == ES_EUNSUP) {
			ES_LOG_INF("hold", "%s; the hold is in the index and the ledger", why);
			break;
		}
		if (lr)
			ES_LOG_WARNING("hold", "%s: object legal hold: %s", h.v[i].path, why);
	}
out:
	hcalls_free(&h);
	return rc;
}

/* ---- release ------------------------------------------------------------------------- */

struct rel_ctx {
	struct st_ledger *l;
	const char *name;
	int64_t now;
	size_t n;
};

static int release_leaf(void *ud, int64_t row, const char *path)
{
	(void)row;
	struct rel_ctx *r = ud;
	if (!path)
		return 0;
	r->n++;
	return st_ledger_append_hold(r->l, path, r->name, true, r->now, NULL);
}

struct hold_state {
	int64_t id, released_us;
};

static int take_hold(void *ud, const struct idx_hold *h)
{
	struct hold_state *s = ud;
	s->id = h->id;
	s->released_us = h->released_us;
	return 0;
}

struct obj {
	int64_t row;
	char *path;
};
struct objs {
	struct obj *v;
	size_t n, cap;
	int err;
};

static int take_obj(void *ud, int64_t row, const char *path)
{
	struct objs *o = ud;
	if (!path)
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		void *p = realloc(o->v, cap * sizeof(*o->v));
		if (!p)
			return o->err = ES_ENOMEM;
		o->v = p;
		o->cap = cap;
	}
	if (!(o->v[o->n].path = strdup(path)))
		return o->err = ES_ENOMEM;
	o->v[o->n++].row = row;
	return 0;
}

/* After a release: the Object Lock legal hold of each archived object of
 * the hold's calls is cleared, unless another active hold still covers
 * the call (the storage would otherwise keep refusing the deletion that
 * retention or an erasure is now allowed to make). */
static void release_objects(struct idx *ix, const char *data_dir, int64_t hold_id)
{
	struct objs o = {0};
	if (idx_hold_calls(ix, hold_id, take_obj, &o) || o.err)
		ES_LOG_WARNING("hold", "the released calls cannot be listed (%s): their objects "
			       "keep their legal hold", o.err ? es_strerror(o.err) : idx_errmsg(ix));
	for (size_t i = 0; i < o.n; i++) {
		char other[IDX_HOLD_NAME_MAX + 1] = "", why[1024];
		if (idx_call_held(ix, o.v[i].row, other, sizeof(other)) != 0)
			continue; /* still held (or unknown): the object's hold stays */
		int lr = rec_tier_legal_hold(data_dir, o.v[i].path, false, why, sizeof(why));
		if (lr == ES_EUNSUP) {
			ES_LOG_INF("hold", "%s; the release is in the index and the ledger", why);
			break;
		}
		if (lr)
			ES_LOG_WARNING("hold", "%s: object legal hold not cleared: %s", o.v[i].path,
				       why);
	}
	for (size_t i = 0; i < o.n; i++)
		free(o.v[i].path);
	free(o.v);
}

int rec_hold_release(struct idx *ix, struct st_ledger *l, const char *data_dir, const char *name,
		     const char *by, const char *reason, int64_t now_us, size_t *nrecordings,
		     char *err, size_t errlen)
{
	*nrecordings = 0;
	const char *why = pol_hold_reason_check(reason);
	if (why) {
		snprintf(err, errlen, "%s", why);
		return ES_EINVAL;
	}
	struct hold_state hs = {0};
	int rc = idx_hold_get(ix, name, take_hold, &hs);
	if (rc == ES_ENOTFOUND)
		snprintf(err, errlen, "no hold named %s", name);
	else if (rc)
		snprintf(err, errlen, "%s", idx_errmsg(ix));
	else if (hs.released_us) {
		snprintf(err, errlen, "hold %s is released already", name);
		rc = ES_EEXIST;
	}
	if (rc)
		return rc;
	/* ledger leaves first: the release is provable before it takes effect */
	struct rel_ctx r = {.l = l, .name = name, .now = now_us};
	rc = idx_hold_calls(ix, hs.id, release_leaf, &r);
	if (!rc)
		rc = st_ledger_commit(l);
	if (!rc)
		rc = idx_hold_release(ix, hs.id, by, reason, now_us);
	if (rc)
		snprintf(err, errlen, "%s", rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
	else if (data_dir)
		release_objects(ix, data_dir, hs.id);
	*nrecordings = r.n;
	return rc;
}
