/*
 * server.h - the HTTP server of the REST API (issue #7): libmicrohttpd with
 * a thread pool, optional TLS, JSON everywhere.  The endpoints, their
 * parameters and statuses are documented in docs/openapi.yaml; access
 * control and the audit log are api.h's.
 *
 * Threads: the server runs on its own threads (MHD's pool); each request
 * borrows an index connection from a small pool (SQLite connections are
 * opened NOMUTEX: one thread at a time each), so requests never share one.
 */
#ifndef ES_API_SERVER_H
#define ES_API_SERVER_H

#include "core/core.h"

#define API_SRV_BODY_MAX (64 * 1024)  /* request bodies: 413 beyond */
#define API_SRV_THREADS_MAX 64
#define API_SRV_CONN_MAX 1024      /* connections at once, all addresses */
#define API_SRV_PER_IP_DEFAULT 64  /* connections at once from one address */
#define API_SRV_LISTEN_PER_USER_DEFAULT 2 /* listen-in streams at once per user */

struct api_server_config {
	const char *data_dir;  /* DATA: index.sqlite, keys/, ledger/, recordings */
	const char *index;     /* a PostgreSQL URL (index.h); NULL: DATA/index.sqlite */
	const char *node;      /* this data folder's node name (idx_set_node of each
				* index connection: its own recordings are not
				* another node's); NULL: none.  Copied */
	const char *host;      /* numeric IPv4 or IPv6 address to bind */
	uint16_t port;         /* 0: any free port (see api_server_port) */
	unsigned threads;      /* 1..API_SRV_THREADS_MAX */
	unsigned per_ip;       /* connections at once from one address, at most
				* API_SRV_CONN_MAX; 0: API_SRV_PER_IP_DEFAULT */
	const char *tls_cert;  /* PEM files; both NULL: plain HTTP */
	const char *tls_key;
	const char *web_dir;   /* the web UI's files (index.html, app.js, app.css);
				* NULL: API only.  Borrowed: must outlive the server */
	const char *rules_json; /* the recording rules as one JSON object
				 * (pol_rules_json), for GET /api/rules; NULL: no
				 * configuration was given.  Copied */
	/* The login rate limiter ([api] login_*; api.h api_rl_*); 0: the
	 * default (API_RL_*). */
	unsigned login_max_failures;         /* per (address, name) */
	unsigned login_max_failures_address; /* per address, any names */
	int64_t login_window_us;
	int64_t login_lockout_us;
	bool redaction_shred;  /* [redaction] original = shred (default: restrict) */
	/* [api] required_mfa: the roles (bit 1 << enum api_role) whose users
	 * must have a second factor; until they do they reach only enrolment */
	unsigned mfa_roles;
	/* [ldap]: sign-in against a directory (api.h); NULL: local users only.
	 * Borrowed: must outlive the server */
	const struct api_ldap_config *ldap;
	/* [api] listen_reason: whether a playback must say why (?reason= or
	 * X-Listen-Reason), recorded in its call.listen audit entry */
	enum api_listen_reason { API_REASON_OFF = 0, API_REASON_OPTIONAL, API_REASON_REQUIRED }
		listen_reason;
	/* Only GET /metrics, /healthz and /readyz (the recorder's [metrics]
	 * listener); everything else is 404. */
	bool metrics_only;
	/* [api] supervisor_scope = teams: a supervisor without a scope of their
	 * own acts only on their teams' calls (api/teams.h) */
	bool supervisor_scope_teams;
	/* [api] listen_streams_per_user: listen-in streams one user may have
	 * open at once (GET /api/active/{call}/listen), at most
	 * API_SRV_CONN_MAX; beyond, 429.  0: API_SRV_LISTEN_PER_USER_DEFAULT */
	unsigned listen_per_user;
	/* [index] search_timeout: the time one search request (GET /api/calls,
	 * its CSV, its total) may take in the index, in ms; past it 503
	 * search_timeout.  0: none */
	int64_t search_timeout_ms;
};

struct api_server;

/* Start serving: the index must exist (it is not created); DATA/keys is
 * opened when present (encrypted recordings need it).  On failure err says
 * why: ES_EUNSUP when TLS was asked for and libmicrohttpd lacks it,
 * ES_EINVAL for a bad address, ES_EIO for a port that cannot be bound or
 * unreadable PEM files. */
int api_server_start(struct api_server **out, const struct api_server_config *cfg, char *err,
		     size_t errlen);
/* The port actually bound. */
uint16_t api_server_port(const struct api_server *s);
/* Replace the rules' JSON GET /api/rules shows (copied; NULL: none), e.g.
 * after the recorder reloaded its rules on SIGHUP.  ES_ENOMEM keeps the old. */
int api_server_set_rules_json(struct api_server *s, const char *json);
/* Stop accepting, finish the requests in progress, close everything. */
void api_server_stop(struct api_server *s);
/* Whether this libmicrohttpd was built with TLS. */
bool api_server_has_tls(void);

#endif /* ES_API_SERVER_H */
