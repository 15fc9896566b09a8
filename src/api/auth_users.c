/*
 * auth_users.c - users: adding and changing them, listing, the login check (api.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- users ------------------------------------------------------------------------------- */

bool api_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > IDX_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
			return false;
	}
	return true;
}

int api_user_add(struct idx *ix, const struct api_actor *who, const char *name,
		 enum api_role role, const char *numbers, bool can_listen, const char *password,
		 int64_t now_us, struct api_user *out)
{
	struct idx_user r = {0};
	if (!api_name_valid(name) || !api_role_name(role) ||
	    api_numbers_norm(numbers, r.numbers, sizeof(r.numbers)))
		return ES_EINVAL;
	int err = api_password_hash(password, r.pwhash);
	if (err)
		return err;
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.role, sizeof(r.role), "%s", api_role_name(role));
	r.can_listen = can_listen;
	r.created_us = r.updated_us = now_us;
	char detail[IDX_NUMBERS_MAX + 64];
	snprintf(detail, sizeof(detail), "role=%s numbers=%s can_listen=%s", r.role, r.numbers,
		 can_listen ? "yes" : "no");
	if ((err = idx_begin(ix)))
		return err;
	if ((err = idx_user_insert(ix, &r)) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), "user.add", name,
				       auth_actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix))) {
		idx_rollback(ix);
		if (err == ES_EEXIST)
			auth_audit_failed(ix, who, now_us, "user.add", name, err);
		return err;
	}
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return out ? auth_user_out(&r, out) : 0;
}

/* One change of a user row: mutate fills detail for the audit entry. */
typedef int (*mutate_fn)(struct idx_user *u, const void *arg, char *detail, size_t cap);

/* What a change does to the user's sessions and tokens. */
struct signout {
	const char *why;       /* NULL: nothing */
	const char *keep_hash; /* the session that stays, or NULL */
};

static int change_user(struct idx *ix, const struct api_actor *who, const char *name,
		       const char *action, mutate_fn mutate, const void *arg,
		       const struct signout *so, int64_t now_us)
{
	struct idx_user r;
	char detail[2 * IDX_NUMBERS_MAX + 64] = "";
	int err = idx_begin(ix);
	if (err)
		return err;
	if ((err = idx_user_get(ix, name, &r)) || (err = mutate(&r, arg, detail, sizeof(detail))))
		goto fail;
	r.updated_us = now_us;
	if ((err = idx_user_update(ix, &r)) ||
	    (so && so->why &&
	     (err = auth_user_signout_tx(ix, who, &r, so->keep_hash, so->why, now_us))) ||
	    (err = api_audit_append_tx(ix, now_us, auth_actor_user(who), action, r.name,
				       auth_actor_remote(who), API_AUDIT_OK, detail, NULL)) ||
	    (err = idx_commit(ix)))
		goto fail;
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return 0;
fail:
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	idx_rollback(ix);
	if (err == ES_ENOTFOUND)
		auth_audit_failed(ix, who, now_us, action, name, err);
	return err;
}

static int set_pwhash(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	(void)detail, (void)cap;
	snprintf(u->pwhash, sizeof(u->pwhash), "%s", (const char *)arg);
	return 0;
}

int api_user_passwd(struct idx *ix, const struct api_actor *who, const char *name,
		    const char *password, int64_t now_us)
{
	char h[IDX_PWHASH_MAX];
	int err = api_password_hash(password, h);
	const struct signout so = {"password reset", NULL};
	if (!err)
		err = change_user(ix, who, name, "user.passwd", set_pwhash, h, &so, now_us);
	sodium_memzero(h, sizeof(h));
	return err;
}

struct self_pw {
	const char *current;
	const char *hash;
};

/* The current password is checked inside the transaction that replaces it. */
static int set_pwhash_self(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	const struct self_pw *s = arg;
	if (api_password_verify(u->pwhash, s->current))
		return API_EAUTH;
	snprintf(detail, cap, "self");
	snprintf(u->pwhash, sizeof(u->pwhash), "%s", s->hash);
	return 0;
}

int api_user_passwd_self(struct idx *ix, const struct api_actor *who, const char *name,
			 const char *current, const char *password, const char *keep_cookie,
			 int64_t now_us)
{
	char h[IDX_PWHASH_MAX], keep[IDX_HEX256];
	int err = api_password_hash(password, h);
	if (err)
		return err;
	struct self_pw s = {current, h};
	struct signout so = {"password changed", NULL};
	if (keep_cookie && auth_cookie_hash(keep_cookie, keep))
		so.keep_hash = keep;
	err = change_user(ix, who, name, "user.passwd", set_pwhash_self, &s, &so, now_us);
	sodium_memzero(h, sizeof(h));
	if (err == API_EAUTH)
		api_audit_append(ix, now_us, auth_actor_user(who), "user.passwd", name,
				 auth_actor_remote(who), API_AUDIT_FAILED, "wrong current password",
				 NULL);
	return err;
}

static int set_role(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	const char *to = api_role_name(*(const enum api_role *)arg);
	snprintf(detail, cap, "role %s -> %s", u->role, to);
	snprintf(u->role, sizeof(u->role), "%s", to);
	return 0;
}

int api_user_set_role(struct idx *ix, const struct api_actor *who, const char *name,
		      enum api_role role, int64_t now_us)
{
	if (!api_role_name(role))
		return ES_EINVAL;
	return change_user(ix, who, name, "user.role", set_role, &role, NULL, now_us);
}

static int set_numbers(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	snprintf(detail, cap, "numbers %s -> %s", u->numbers, (const char *)arg);
	snprintf(u->numbers, sizeof(u->numbers), "%s", (const char *)arg);
	return 0;
}

int api_user_set_numbers(struct idx *ix, const struct api_actor *who, const char *name,
			 const char *numbers, int64_t now_us)
{
	char norm[IDX_NUMBERS_MAX + 1];
	if (api_numbers_norm(numbers, norm, sizeof(norm)))
		return ES_EINVAL;
	return change_user(ix, who, name, "user.numbers", set_numbers, norm, NULL, now_us);
}

static int set_listen(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	u->can_listen = *(const bool *)arg;
	snprintf(detail, cap, "can_listen=%s", u->can_listen ? "yes" : "no");
	return 0;
}

int api_user_set_can_listen(struct idx *ix, const struct api_actor *who, const char *name,
			    bool can_listen, int64_t now_us)
{
	return change_user(ix, who, name, "user.can_listen", set_listen, &can_listen, NULL,
			   now_us);
}

static int set_disabled(struct idx_user *u, const void *arg, char *detail, size_t cap)
{
	(void)detail, (void)cap;
	u->disabled = *(const bool *)arg;
	return 0;
}

int api_user_set_disabled(struct idx *ix, const struct api_actor *who, const char *name,
			  bool disabled, int64_t now_us)
{
	const struct signout so = {disabled ? "user disabled" : NULL, NULL};
	return change_user(ix, who, name, disabled ? "user.disable" : "user.enable",
			   set_disabled, &disabled, &so, now_us);
}

int api_user_get(struct idx *ix, const char *name, struct api_user *out)
{
	struct idx_user r;
	int err = idx_user_get(ix, name, &r);
	if (!err)
		err = auth_user_out(&r, out);
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return err;
}

struct list_ctx {
	api_user_fn fn;
	void *ud;
};

static int list_one(void *ud, const struct idx_user *r)
{
	struct list_ctx *l = ud;
	struct api_user u;
	int err = auth_user_out(r, &u);
	return err ? err : l->fn(l->ud, &u);
}

int api_users_list(struct idx *ix, api_user_fn fn, void *ud)
{
	struct list_ctx l = {fn, ud};
	return idx_users_list(ix, list_one, &l);
}

int api_login(struct idx *ix, const char *remote, const char *name, const char *password,
	      int64_t now_us, struct api_user *out)
{
	struct idx_user r = {0};
	const char *why = NULL;
	bool valid = api_name_valid(name);
	int err = valid ? idx_user_get(ix, name, &r) : ES_ENOTFOUND;
	if (err == ES_ENOTFOUND) {
		/* Spend what a verification costs, so that the answer's time
		 * does not say whether the name exists. */
		char burn[IDX_PWHASH_MAX];
		if (api_password_hash(password, burn) == ES_EINVAL)
			(void)!api_password_hash("not a password", burn);
		why = valid ? "no such user" : "invalid user name";
	} else if (err) {
		return err; /* the index failed: not an authentication answer */
	} else if (api_password_verify(r.pwhash, password)) {
		why = "wrong password";
	} else if (r.disabled) {
		why = "user disabled";
	}
	const char *who = valid ? name : "-";
	if (why) {
		api_audit_append(ix, now_us, who, "login", NULL, remote, API_AUDIT_FAILED, why,
				 NULL);
		sodium_memzero(r.pwhash, sizeof(r.pwhash));
		return API_EAUTH;
	}
	/* Hashes made with weaker parameters are upgraded on the way. */
	if (crypto_pwhash_str_needs_rehash(r.pwhash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 &&
	    !api_password_hash(password, r.pwhash))
		idx_user_update(ix, &r);
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	api_audit_append(ix, now_us, r.name, "login", NULL, remote, API_AUDIT_OK, NULL, NULL);
	return auth_user_out(&r, out);
}
