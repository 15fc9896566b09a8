/*
 * users_admin.c - the user changes of the administration API (api.h,
 * api_user_update): several fields at once, atomically, with the "last
 * enabled admin" guard that the single-field changes of `earshot user`
 * (auth.c) do not have: on the command line root can always repair.
 */
#include "api/auth_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static bool is_active_admin(const struct idx_user *u)
{
	return !u->disabled && !strcmp(u->role, "admin");
}

struct admin_count {
	int64_t except_id;
	unsigned n;
};

static int count_admin(void *ud, const struct idx_user *u)
{
	struct admin_count *c = ud;
	if (u->id != c->except_id && is_active_admin(u))
		c->n++;
	return 0;
}

/* Append "; what from -> to" to detail. */
static void note(char *detail, size_t cap, const char *what, const char *from, const char *to)
{
	size_t n = strlen(detail);
	if (n < cap)
		snprintf(detail + n, cap - n, "%s%s %s -> %s", n ? "; " : "", what, from, to);
}

static const char *yn(bool b) { return b ? "yes" : "no"; }

/* Apply p to u, describing the changes in detail. */
static void apply(struct idx_user *u, const struct api_user_patch *p, const char *numbers,
		  char *detail, size_t cap)
{
	if (p->set_role && strcmp(u->role, api_role_name(p->role))) {
		note(detail, cap, "role", u->role, api_role_name(p->role));
		snprintf(u->role, sizeof(u->role), "%s", api_role_name(p->role));
	}
	if (p->set_numbers && strcmp(u->numbers, numbers)) {
		note(detail, cap, "numbers", u->numbers, numbers);
		snprintf(u->numbers, sizeof(u->numbers), "%s", numbers);
	}
	if (p->set_can_listen && u->can_listen != p->can_listen) {
		note(detail, cap, "can_listen", yn(u->can_listen), yn(p->can_listen));
		u->can_listen = p->can_listen;
	}
	if (p->set_disabled && u->disabled != p->disabled) {
		note(detail, cap, "disabled", yn(u->disabled), yn(p->disabled));
		u->disabled = p->disabled;
	}
	if (!detail[0])
		snprintf(detail, cap, "no change");
}

int api_user_update(struct idx *ix, const struct api_actor *who, const char *name,
		    const struct api_user_patch *p, int64_t now_us, struct api_user *out)
{
	char norm[IDX_NUMBERS_MAX + 1] = "";
	if ((p->set_role && !api_role_name(p->role)) ||
	    (p->set_numbers && api_numbers_norm(p->numbers, norm, sizeof(norm))))
		return ES_EINVAL;
	const char *user = who && who->user && who->user[0] ? who->user : "-";
	const char *remote = who && who->remote ? who->remote : "";
	struct idx_user u;
	memset(&u, 0, sizeof(u));
	char detail[2 * IDX_NUMBERS_MAX + 160] = "";
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &u)))
		goto fail;
	bool was_admin = is_active_admin(&u), was_disabled = u.disabled;
	apply(&u, p, norm, detail, sizeof(detail));
	if (was_admin && !is_active_admin(&u)) {
		struct admin_count c = {.except_id = u.id};
		if ((err = idx_users_list(ix, count_admin, &c)))
			goto fail;
		if (!c.n) {
			err = API_ELASTADMIN;
			goto fail;
		}
	}
	u.updated_us = now_us;
	if ((err = idx_user_update(ix, &u)) ||
	    (u.disabled && !was_disabled &&
	     (err = auth_user_signout_tx(ix, who, &u, NULL, "user disabled", now_us))) ||
	    (err = api_audit_append_tx(ix, now_us, user, "user.update", u.name, remote,
				       API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(u.pwhash, sizeof(u.pwhash));
	return out ? api_user_get(ix, u.name, out) : 0;
fail:
	sodium_memzero(u.pwhash, sizeof(u.pwhash));
	idx_rollback(ix);
	if (err == ES_ENOTFOUND || err == API_ELASTADMIN)
		api_audit_append(ix, now_us, user, "user.update", name, remote, API_AUDIT_FAILED,
				 err == API_ELASTADMIN ? "would leave no enabled admin"
						       : es_strerror(err),
				 NULL);
	return err;
}
