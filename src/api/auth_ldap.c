/*
 * auth_ldap.c - sign-in against an LDAP directory or Active Directory
 * (api.h): bind as the user, map groups to roles, keep a local shadow row.
 * libldap's synchronous calls, one connection per sign-in (a sign-in is
 * rare and already costs an Argon2id-sized wait; no pool to keep healthy).
 */
#include "api/auth_internal.h"

#include <ldap.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define LDAP_TIMEOUT_DEFAULT_US (5 * ES_US_PER_SEC)

/* ---- escaping ------------------------------------------------------------------------ */

int api_ldap_filter_escape(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		/* RFC 4515 3: the assertion value's *, (, ), \ and NUL (and, as
		 * libldap's ldap_bv2escaped_filter_value does, controls) */
		bool esc = *p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p < 0x20;
		if (o + (esc ? 3 : 1) >= cap)
			return ES_ELIMIT;
		if (esc) {
			out[o++] = '\\';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	if (!cap)
		return ES_ELIMIT;
	out[o] = '\0';
	return 0;
}

int api_ldap_dn_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0, n = strlen(in);
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		/* RFC 4514 2.4: ",+\"\\<>;" anywhere, '#' or ' ' first, ' ' last */
		bool esc = strchr(",+\"\\<>;=", c) || (i == 0 && (c == '#' || c == ' ')) ||
			   (i == n - 1 && c == ' ');
		if (o + (esc ? 2 : 1) >= cap)
			return ES_ELIMIT;
		if (esc)
			out[o++] = '\\';
		out[o++] = c;
	}
	if (!cap)
		return ES_ELIMIT;
	out[o] = '\0';
	return 0;
}

/* A template with one "%s" filled with value (already escaped). */
static int fill(const char *tmpl, const char *value, char *out, size_t cap)
{
	const char *at = strstr(tmpl, "%s");
	if (!at || strstr(at + 2, "%s"))
		return ES_EINVAL;
	int n = snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, value, at + 2);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* ---- the directory ---------------------------------------------------------------------- */

static void log_ldap(const char *what, LDAP *ld, int rc)
{
	char *diag = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	ES_LOG_ERR("api", "ldap: %s: %s%s%s", what, ldap_err2string(rc), diag && *diag ? ": " : "",
		   diag && *diag ? diag : "");
	ldap_memfree(diag);
}

/* A connection to cfg's directory, TLS checked against ca_file (the
 * certificate is always demanded), StartTLS done when asked for. */
static int dir_open(const struct api_ldap_config *cfg, LDAP **out)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, cfg->url);
	if (rc != LDAP_SUCCESS) {
		log_ldap("bad url", NULL, rc);
		return ES_EINVAL;
	}
	int64_t us = cfg->timeout_us > 0 ? cfg->timeout_us : LDAP_TIMEOUT_DEFAULT_US;
	struct timeval tv = {.tv_sec = us / ES_US_PER_SEC, .tv_usec = us % ES_US_PER_SEC};
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); /* no chasing with our password */
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (cfg->ca_file[0])
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file);
	ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (cfg->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		log_ldap("StartTLS", ld, rc);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return ES_EIO;
	}
	*out = ld;
	return 0;
}

/* A simple bind (RFC 4513 5.1.3): API_EAUTH for wrong credentials. */
static int dir_bind(LDAP *ld, const char *dn, const char *password)
{
	struct berval cred = {.bv_val = (char *)password, .bv_len = strlen(password)};
	int rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX ||
	    rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INAPPROPRIATE_AUTH)
		return API_EAUTH;
	log_ldap("bind", ld, rc);
	return ES_EIO;
}

/* Entries of a search (attributes none): *n, and the first's DN in dn. */
static int dir_search(LDAP *ld, const char *base, int scope, const char *filter, int *n,
		      char *dn, size_t cap)
{
	char *none[] = {LDAP_NO_ATTRS, NULL};
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(ld, base, scope, filter, none, 1, NULL, NULL, NULL, 2, &res);
	*n = 0;
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return 0;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		log_ldap("search", ld, rc);
		ldap_msgfree(res);
		return ES_EIO;
	}
	*n = ldap_count_entries(ld, res);
	LDAPMessage *e = ldap_first_entry(ld, res);
	if (e && dn) {
		char *d = ldap_get_dn(ld, e);
		snprintf(dn, cap, "%s", d ? d : "");
		ldap_memfree(d);
	}
	ldap_msgfree(res);
	return 0;
}

/* The user's DN: from bind_dn, or the one entry a search finds. */
static int dir_user_dn(LDAP *ld, const struct api_ldap_config *cfg, const char *name, char *dn,
		       size_t cap)
{
	char esc[3 * IDX_NAME_MAX + 1], filter[512];
	int err, n = 0;
	if (cfg->bind_dn[0])
		return api_ldap_dn_escape(name, esc, sizeof(esc)) ? ES_EINVAL
								   : fill(cfg->bind_dn, esc, dn, cap);
	if ((err = api_ldap_filter_escape(name, esc, sizeof(esc))) ||
	    (err = fill(cfg->filter[0] ? cfg->filter : "(uid=%s)", esc, filter, sizeof(filter))))
		return err;
	if (cfg->service_dn[0] && (err = dir_bind(ld, cfg->service_dn, cfg->service_password)))
		return err == API_EAUTH ? ES_EIO : err; /* our account, not the user's fault */
	if ((err = dir_search(ld, cfg->base, LDAP_SCOPE_SUBTREE, filter, &n, dn, cap)))
		return err;
	return n == 1 ? 0 : API_EAUTH; /* none, or a name that is not one person */
}

/* The role of the first mapped group that has the user; API_EAUTH: none. */
static int dir_role(LDAP *ld, const struct api_ldap_config *cfg, const char *name,
		    const char *dn, enum api_role *role, const char **group)
{
	char edn[1024], ename[3 * IDX_NAME_MAX + 1], filter[2 * 1024 + 3 * IDX_NAME_MAX + 64];
	if (api_ldap_filter_escape(dn, edn, sizeof(edn)) ||
	    api_ldap_filter_escape(name, ename, sizeof(ename)))
		return API_EAUTH;
	snprintf(filter, sizeof(filter), "(|(member=%s)(uniqueMember=%s)(memberUid=%s))", edn, edn,
		 ename);
	for (unsigned i = 0; i < cfg->ngroups; i++) {
		int n = 0, err = dir_search(ld, cfg->groups[i].dn, LDAP_SCOPE_BASE, filter, &n, NULL, 0);
		if (err)
			return err;
		if (n > 0) {
			*role = cfg->groups[i].role;
			*group = cfg->groups[i].dn;
			return 0;
		}
	}
	return API_EAUTH;
}

/* ---- the shadow row ------------------------------------------------------------------------ */

bool api_ldap_applies(struct idx *ix, const char *name)
{
	struct idx_user r;
	int err = idx_user_get(ix, name, &r);
	bool yes = err == ES_ENOTFOUND || (!err && !strcmp(r.pwhash, API_LDAP_PWHASH));
	sodium_memzero(r.pwhash, sizeof(r.pwhash));
	return yes;
}

/* Make or update name's shadow row with role; API_EAUTH when it is
 * disabled locally or a local user took the name meanwhile. */
static int shadow(struct idx *ix, const char *name, enum api_role role, const char *remote,
		  int64_t now_us, struct api_user *out)
{
	struct idx_user r = {0};
	int err = idx_begin(ix);
	if (err)
		return err;
	err = idx_user_get(ix, name, &r);
	if (err == ES_ENOTFOUND) {
		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "%s", name);
		snprintf(r.pwhash, sizeof(r.pwhash), "%s", API_LDAP_PWHASH);
		snprintf(r.role, sizeof(r.role), "%s", api_role_name(role));
		r.created_us = r.updated_us = now_us;
		err = idx_user_insert(ix, &r);
		if (!err)
			err = api_audit_append_tx(ix, now_us, "ldap", "user.add", name, remote,
						  API_AUDIT_OK, r.role, NULL);
	} else if (!err && (strcmp(r.pwhash, API_LDAP_PWHASH) || r.disabled)) {
		err = API_EAUTH;
	} else if (!err && strcmp(r.role, api_role_name(role))) {
		char detail[64];
		snprintf(detail, sizeof(detail), "role %s -> %s (directory groups)", r.role,
			 api_role_name(role));
		snprintf(r.role, sizeof(r.role), "%s", api_role_name(role));
		r.updated_us = now_us;
		if (!(err = idx_user_update(ix, &r)))
			err = api_audit_append_tx(ix, now_us, "ldap", "user.role", name, remote,
						  API_AUDIT_OK, detail, NULL);
	}
	if (err || (err = idx_commit(ix))) {
		idx_rollback(ix);
		return err;
	}
	return auth_user_out(&r, out);
}

int api_ldap_login(struct idx *ix, const struct api_ldap_config *cfg, const char *remote,
		   const char *name, const char *password, int64_t now_us, struct api_user *out)
{
	LDAP *ld = NULL;
	char dn[1024] = "";
	enum api_role role = API_ROLE_AGENT;
	const char *group = NULL, *why = NULL;
	/* an empty password would be an unauthenticated bind, which many
	 * servers answer "success" (RFC 4513 5.1.2) */
	int err = !password || !*password || !api_name_valid(name) ? API_EAUTH : dir_open(cfg, &ld);
	if (!err && !(err = dir_user_dn(ld, cfg, name, dn, sizeof(dn))) &&
	    !(err = dir_bind(ld, dn, password)))
		err = dir_role(ld, cfg, name, dn, &role, &group);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	if (!err)
		err = shadow(ix, name, role, remote, now_us, out);
	if (err == API_EAUTH)
		why = group ? "ldap: disabled here" : dn[0] ? "ldap: wrong password or no mapped group"
							  : "ldap: no such user";
	else if (err)
		why = "ldap: directory unavailable";
	char detail[640];
	snprintf(detail, sizeof(detail), "ldap %s", group ? group : "");
	api_audit_append(ix, now_us, api_name_valid(name) ? name : "-", "login", NULL, remote,
			 err ? API_AUDIT_FAILED : API_AUDIT_OK, why ? why : detail, NULL);
	return err == API_EAUTH || !err ? err : ES_EIO;
}
