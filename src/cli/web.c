/*
 * web.c - the HTTP server (REST API and web UI) as `earshot serve` and
 * `earshot record` / `srs` start it: the [api] section of the
 * configuration, the listen address, the web folder, the rules' JSON.
 */
#include "api/api.h"
#include "api/server.h"
#include "cli/cli.h"
#include "policy/policy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_parse_listen(const char *v, char *host, size_t cap, uint16_t *port)
{
	const char *colon;
	size_t hl;
	const char *h = v;
	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return -1;
		h = v + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - v);
	}
	uint32_t p;
	if (!hl || hl >= cap || sl_to_u32(sl_cstr(colon + 1), &p) || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (uint16_t)p;
	return 0;
}

bool cli_web_dir_ok(const char *dir)
{
	char p[4200];
	struct stat st;
	return (size_t)snprintf(p, sizeof(p), "%s/index.html", dir) < sizeof(p) && !stat(p, &st) &&
	       S_ISREG(st.st_mode);
}

/* The web/ folder of the source tree, found from the executable's folder
 * (build/earshot -> web/): BIN/../web, then BIN/web.  false: none. */
static bool web_dir_default(char *out, size_t cap)
{
	static const char *const rel[] = {"/../web", "/web"};
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[4200], real[PATH_MAX];
		if ((size_t)snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]) >= sizeof(cand))
			continue;
		if (cli_web_dir_ok(cand) && realpath(cand, real) && strlen(real) < cap) {
			memcpy(out, real, strlen(real) + 1);
			return true;
		}
	}
	return false;
}

void cli_web_defaults(struct cli_web_settings *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = CLI_WEB_DEFAULT_PORT;
	o->threads = CLI_WEB_DEFAULT_THREADS;
	o->per_ip = API_SRV_PER_IP_DEFAULT;
	o->search_timeout_ms = IDX_SEARCH_TIMEOUT_MS_DEFAULT;
}

/* [index] search_timeout: 0 (none) or 1 ms to an hour. */
static int apply_index(struct cli_web_settings *o, const struct es_conf *c, char *err,
		       size_t errlen)
{
	static const char *const known[] = {"search_timeout", NULL};
	int rc = es_conf_check_keys(c, "index", known, err, errlen);
	int64_t us;
	if (rc || (rc = es_conf_duration(c, "index", "search_timeout", &us, err, errlen)))
		return rc == ES_ENOTFOUND ? 0 : rc;
	if (us < 0 || us > 3600 * ES_US_PER_SEC || (us > 0 && us < 1000)) {
		const struct es_conf_entry *e = es_conf_find(c, "index", "search_timeout");
		snprintf(err, errlen, "%s:%u: search_timeout: 0 (no limit) or 1ms to 1h, not '%s'",
			 c->path, e->line, e->value);
		return ES_EPARSE;
	}
	o->search_timeout_ms = us / 1000;
	return 0;
}

static int set_str(char *dst, size_t cap, const char *v, const struct es_conf *c,
		   const struct es_conf_entry *e, char *err, size_t errlen)
{
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "%s:%u: %s: longer than %zu bytes", c->path, e->line, e->key,
			 cap - 1);
		return ES_EPARSE;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* login_* of [api]: counts 1..10000, durations of at least a second. */
static int apply_login_limits(struct cli_web_settings *o, const struct es_conf *c, char *err,
			      size_t errlen)
{
	static const char *const counts[] = {"login_max_failures", "login_max_failures_address"};
	unsigned *cdst[] = {&o->login_max_failures, &o->login_max_failures_address};
	static const char *const durs[] = {"login_window", "login_lockout"};
	int64_t *ddst[] = {&o->login_window_us, &o->login_lockout_us};
	int64_t v;
	int rc;
	for (size_t i = 0; i < 2; i++) {
		if (!(rc = es_conf_int(c, "api", counts[i], 1, 10000, &v, err, errlen)))
			*cdst[i] = (unsigned)v;
		else if (rc != ES_ENOTFOUND)
			return rc;
		if (!(rc = es_conf_duration(c, "api", durs[i], &v, err, errlen))) {
			if (v < ES_US_PER_SEC) {
				const struct es_conf_entry *e = es_conf_find(c, "api", durs[i]);
				snprintf(err, errlen, "%s:%u: %s: at least 1s", c->path,
					 e ? e->line : 0, durs[i]);
				return ES_EPARSE;
			}
			*ddst[i] = v;
		} else if (rc != ES_ENOTFOUND) {
			return rc;
		}
	}
	return 0;
}

/* [api] required_mfa: a comma list of roles whose users must have a
 * second factor ("admin, supervisor"); empty or "none": nobody. */
static int apply_required_mfa(struct cli_web_settings *o, const struct es_conf *c, char *err,
			      size_t errlen)
{
	const struct es_conf_entry *e = es_conf_find(c, "api", "required_mfa");
	if (!e)
		return 0;
	struct slice rest = sl_trim(sl_cstr(e->value)), one;
	o->mfa_roles = 0;
	if (!rest.len || sl_eq(rest, sl_cstr("none")))
		return 0;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		one = sl_trim(one);
		char name[16];
		enum api_role role;
		snprintf(name, sizeof(name), "%.*s", (int)ES_MIN(one.len, sizeof(name) - 1), one.p);
		if (one.len >= sizeof(name) || api_role_parse(name, &role)) {
			snprintf(err, errlen, "%s:%u: required_mfa: '%.*s' is no role (admin, "
					      "supervisor, agent, auditor)",
				 c->path, e->line, (int)ES_MIN(one.len, 64), one.p);
			return ES_EPARSE;
		}
		o->mfa_roles |= 1u << (unsigned)role;
		rest = sl_trim(rest);
	}
	return 0;
}

/* One string key of [ldap] into dst (cap bytes); absent leaves it. */
static int ldap_str(const struct es_conf *c, const char *key, char *dst, size_t cap, char *err,
		    size_t errlen)
{
	const struct es_conf_entry *e = es_conf_find(c, "ldap", key);
	return e ? set_str(dst, cap, e->value, c, e, err, errlen) : 0;
}

/* [ldap]: url, starttls, bind_dn or base/filter/service_dn/service_password,
 * ca_file, timeout, and group_role = GROUP_DN:ROLE (repeated, in order). */
static int apply_ldap(struct cli_web_settings *o, const struct es_conf *c, char *err,
		      size_t errlen)
{
	static const char *const known[] = {"url", "starttls", "bind_dn", "base", "filter",
					    "service_dn", "service_password", "ca_file",
					    "group_role", "timeout", NULL};
	struct api_ldap_config *l = &o->ldap;
	int rc = es_conf_check_keys(c, "ldap", known, err, errlen);
	const struct es_conf_entry *e = es_conf_find(c, "ldap", "url");
	if (rc || !e)
		return rc;
	static const char *const strs[] = {"url", "bind_dn", "base", "filter", "service_dn",
					   "service_password", "ca_file"};
	char *dsts[] = {l->url, l->bind_dn, l->base, l->filter, l->service_dn,
			l->service_password, l->ca_file};
	size_t caps[] = {sizeof(l->url), sizeof(l->bind_dn), sizeof(l->base), sizeof(l->filter),
			 sizeof(l->service_dn), sizeof(l->service_password), sizeof(l->ca_file)};
	for (size_t i = 0; i < ES_ARRAY_LEN(strs); i++)
		if ((rc = ldap_str(c, strs[i], dsts[i], caps[i], err, errlen)))
			return rc;
	if (strncmp(l->url, "ldap://", 7) && strncmp(l->url, "ldaps://", 8)) {
		snprintf(err, errlen, "%s:%u: url: ldap://HOST[:PORT] or ldaps://HOST[:PORT], not '%s'",
			 c->path, e->line, e->value);
		return ES_EPARSE;
	}
	if ((rc = es_conf_bool(c, "ldap", "starttls", &l->starttls, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_duration(c, "ldap", "timeout", &l->timeout_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	const char *tmpl = l->bind_dn[0] ? l->bind_dn : l->filter;
	if ((l->bind_dn[0] || l->filter[0]) &&
	    (!strstr(tmpl, "%s") || strstr(strstr(tmpl, "%s") + 2, "%s") ||
	     strchr(tmpl, '%') != strstr(tmpl, "%s"))) {
		snprintf(err, errlen, "%s:%u: [ldap] %s: exactly one %%s (the user name), no other %%",
			 c->path, e->line, l->bind_dn[0] ? "bind_dn" : "filter");
		return ES_EPARSE;
	}
	if (!l->bind_dn[0] && !l->base[0]) {
		snprintf(err, errlen, "%s:%u: [ldap] needs bind_dn (uid=%%s,ou=people,...) or base "
				      "(search then bind)", c->path, e->line);
		return ES_EPARSE;
	}
	l->ngroups = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct es_conf_entry *g = &c->e[i];
		if (strcasecmp(g->section, "ldap") || strcmp(g->key, "group_role"))
			continue;
		const char *colon = strrchr(g->value, ':');
		struct api_ldap_group *lg = &l->groups[l->ngroups];
		char role[16] = "";
		if (colon)
			snprintf(role, sizeof(role), "%s", colon + 1);
		if (!colon || colon == g->value || (size_t)(colon - g->value) >= sizeof(lg->dn) ||
		    api_role_parse(role, &lg->role) || l->ngroups >= API_LDAP_GROUPS_MAX) {
			snprintf(err, errlen, "%s:%u: group_role: GROUP_DN:ROLE (admin, supervisor, "
					      "agent, auditor; at most %d), not '%s'",
				 c->path, g->line, API_LDAP_GROUPS_MAX, g->value);
			return ES_EPARSE;
		}
		snprintf(lg->dn, sizeof(lg->dn), "%.*s", (int)(colon - g->value), g->value);
		l->ngroups++;
	}
	if (!l->ngroups) {
		snprintf(err, errlen, "%s:%u: [ldap] needs at least one group_role = GROUP_DN:ROLE "
				      "(nobody signs in without a mapped group)", c->path, e->line);
		return ES_EPARSE;
	}
	o->ldap_on = true;
	return 0;
}

int cli_web_apply_config(struct cli_web_settings *o, const struct es_conf *c, char *err,
			 size_t errlen)
{
	static const char *const known[] = {"enabled", "listen", "threads", "tls_cert",
					    "tls_key", "web", "login_max_failures",
					    "login_max_failures_address", "login_window",
					    "login_lockout", "per_ip_connections",
					    "supervisor_scope", "required_mfa", "listen_reason",
					    "listen_streams_per_user", NULL};
	int rc = es_conf_check_keys(c, "api", known, err, errlen);
	if (rc)
		return rc;
	const struct es_conf_entry *e;
	if ((e = es_conf_find(c, "api", "listen")) &&
	    cli_parse_listen(e->value, o->host, sizeof(o->host), &o->port)) {
		snprintf(err, errlen, "%s:%u: listen: expected ADDR:PORT, not '%s'", c->path,
			 e->line, e->value);
		return ES_EPARSE;
	}
	if ((e = es_conf_find(c, "api", "tls_cert")) &&
	    (rc = set_str(o->tls_cert, sizeof(o->tls_cert), e->value, c, e, err, errlen)))
		return rc;
	if ((e = es_conf_find(c, "api", "tls_key")) &&
	    (rc = set_str(o->tls_key, sizeof(o->tls_key), e->value, c, e, err, errlen)))
		return rc;
	if ((e = es_conf_find(c, "api", "web"))) {
		if ((rc = set_str(o->web, sizeof(o->web), e->value, c, e, err, errlen)))
			return rc;
		o->web_set = true;
	}
	int64_t v;
	if (!(rc = es_conf_int(c, "api", "threads", 1, API_SRV_THREADS_MAX, &v, err, errlen)))
		o->threads = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (!(rc = es_conf_int(c, "api", "per_ip_connections", 1, API_SRV_CONN_MAX, &v, err,
			       errlen)))
		o->per_ip = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (!(rc = es_conf_int(c, "api", "listen_streams_per_user", 1, API_SRV_CONN_MAX, &v, err,
			       errlen)))
		o->listen_per_user = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_bool(c, "api", "enabled", &o->enabled, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	/* [api] supervisor_scope: a supervisor without their own sees all calls
	 * or only their teams' (api/teams.h) */
	if ((e = es_conf_find(c, "api", "supervisor_scope"))) {
		if (strcmp(e->value, "all") && strcmp(e->value, "teams")) {
			snprintf(err, errlen, "%s:%u: supervisor_scope: all or teams, not '%s'",
				 c->path, e->line, e->value);
			return ES_EPARSE;
		}
		o->supervisor_scope_teams = !strcmp(e->value, "teams");
	}
	/* [redaction] original: what POST /api/calls/{id}/redact does with it */
	if ((e = es_conf_find(c, "redaction", "original"))) {
		if (strcmp(e->value, "shred") && strcmp(e->value, "restrict")) {
			snprintf(err, errlen, "%s:%u: [redaction] original: shred or restrict, not '%s'",
				 c->path, e->line, e->value);
			return ES_EPARSE;
		}
		o->redaction_shred = !strcmp(e->value, "shred");
	}
	if ((rc = apply_required_mfa(o, c, err, errlen)) || (rc = apply_ldap(o, c, err, errlen)) ||
	    (rc = apply_index(o, c, err, errlen)))
		return rc;
	if ((e = es_conf_find(c, "api", "listen_reason"))) {
		static const char *const modes[] = {"off", "optional", "required"};
		unsigned i = 0;
		while (i < 3 && strcmp(e->value, modes[i]))
			i++;
		if (i == 3) {
			snprintf(err, errlen, "%s:%u: listen_reason: required, optional or off, not '%s'",
				 c->path, e->line, e->value);
			return ES_EPARSE;
		}
		o->listen_reason = i;
	}
	return apply_login_limits(o, c, err, errlen);
}

int cli_rules_json(const struct pol_rules *rules, char **out)
{
	*out = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return ES_ENOMEM;
	struct es_json j;
	es_json_init(&j, f, false);
	int rc = pol_rules_json(rules, &j);
	es_json_end(&j);
	if (fclose(f) || rc) {
		free(buf);
		return rc ? rc : ES_ENOMEM;
	}
	*out = buf;
	return 0;
}

int cli_metrics_start(struct cli_ctx *ctx, const char *host, uint16_t port, const char *cmd,
		      struct api_server **out)
{
	struct api_server_config cfg = {
		.data_dir = ctx->data_dir,
		.host = host,
		.port = port,
		.threads = 1,
		.metrics_only = true,
	};
	char err[512] = "";
	int rc = api_server_start(out, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: metrics listener: %s\n", cmd, *err ? err : es_strerror(rc));
		return CLI_ERR;
	}
	bool v6 = strchr(host, ':') != NULL;
	printf("%s: metrics on http://%s%s%s:%u/metrics\n", cmd, v6 ? "[" : "", host, v6 ? "]" : "",
	       (unsigned)api_server_port(*out));
	fflush(stdout);
	return CLI_OK;
}

int cli_web_start(struct cli_ctx *ctx, struct cli_web_settings *o, const char *rules_json,
		  const char *cmd, struct api_server **out)
{
	*out = NULL;
	if (!o->tls_cert[0] != !o->tls_key[0]) {
		fprintf(stderr, "%s: the web server's tls_cert and tls_key go together\n", cmd);
		return CLI_USAGE;
	}
	if (o->tls_cert[0] && !api_server_has_tls()) {
		fprintf(stderr, "%s: this libmicrohttpd was built without TLS: HTTPS is not "
				"available (serve plain HTTP behind a TLS proxy, or rebuild "
				"libmicrohttpd with GnuTLS)\n",
			cmd);
		return CLI_USAGE;
	}
	if (o->web_set && o->web[0] && !cli_web_dir_ok(o->web)) {
		fprintf(stderr, "%s: web: no index.html in '%s'\n", cmd, o->web);
		return CLI_USAGE;
	}
	if (cli_data_guard(ctx))
		return CLI_ERR;
	char node[IDX_NODE_MAX] = "";
	if (cli_node_name(ctx, node, sizeof(node)))
		return CLI_USAGE;
	struct api_server_config cfg = {
		.data_dir = ctx->data_dir,
		.index = ctx->index,
		.node = node,
		.host = o->host,
		.port = o->port,
		.threads = o->threads,
		.per_ip = o->per_ip,
		.tls_cert = o->tls_cert[0] ? o->tls_cert : NULL,
		.tls_key = o->tls_key[0] ? o->tls_key : NULL,
		.rules_json = rules_json,
		.login_max_failures = o->login_max_failures,
		.login_max_failures_address = o->login_max_failures_address,
		.login_window_us = o->login_window_us,
		.login_lockout_us = o->login_lockout_us,
		.redaction_shred = o->redaction_shred,
		.supervisor_scope_teams = o->supervisor_scope_teams,
		.mfa_roles = o->mfa_roles,
		.ldap = o->ldap_on ? &o->ldap : NULL,
		.listen_reason = (enum api_listen_reason)o->listen_reason,
		.listen_per_user = o->listen_per_user,
		.search_timeout_ms = o->search_timeout_ms,
	};
	if (o->web_set)
		cfg.web_dir = o->web[0] ? o->web : NULL;
	else if (web_dir_default(o->web_found, sizeof(o->web_found)))
		cfg.web_dir = o->web_found;
	char err[512] = "";
	int rc = api_server_start(out, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: web server: %s\n", cmd, *err ? err : es_strerror(rc));
		return rc == ES_EUNSUP ? CLI_USAGE : CLI_ERR;
	}
	bool v6 = strchr(o->host, ':') != NULL;
	printf("%s: listening on %s://%s%s%s:%u (%u threads, data %s, web UI %s)\n", cmd,
	       cfg.tls_cert ? "https" : "http", v6 ? "[" : "", o->host, v6 ? "]" : "",
	       (unsigned)api_server_port(*out), cfg.threads, ctx->data_dir,
	       cfg.web_dir ? cfg.web_dir : "off");
	fflush(stdout);
	return CLI_OK;
}
