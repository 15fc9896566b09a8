/*
 * http.c - the HTTP plumbing of the REST API: the libmicrohttpd daemon
 * (thread pool, optional TLS 1.2+, a per-address connection limit and the
 * request deadline of conn_guard.c), one request's life (body bounded to
 * API_SRV_BODY_MAX), the pool of index connections, JSON responses with the
 * security headers, and authentication (Bearer token or session cookie).
 */
#include "api/server_internal.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define TAG "api"
#define SRV_CONN_MEMORY (32 * 1024) /* per connection: request line + headers */
#define SRV_CONN_TIMEOUT_S 60
/* TLS 1.2 at least (issue #13, finding 12), as the SIPREC server
 * (siprec/tls.c); GnuTLS priority syntax, the rest of NORMAL kept. */
#define SRV_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define SRV_PEM_MAX (1024 * 1024)
#define SRV_RL_CAPACITY 4096

/* A strict policy for the static pages to come (web/): our own files only. */
#define SRV_CSP                                                                          \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"media-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; "       \
	"form-action 'self'; frame-ancestors 'none'"

int64_t srv_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

bool api_server_has_tls(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* ---- index connections ------------------------------------------------------------ */

struct idx *srv_ix_take(struct api_server *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->ix_idle && s->ix_open >= s->ix_max)
		pthread_cond_wait(&s->ix_free, &s->lock);
	if (s->ix_idle) {
		struct idx *ix = s->ix_pool[--s->ix_idle];
		pthread_mutex_unlock(&s->lock);
		return ix;
	}
	s->ix_open++;
	pthread_mutex_unlock(&s->lock);
	char err[512];
	struct idx *ix = NULL;
	if (idx_open(&ix, s->index_path, err, sizeof(err))) {
		ES_LOG_ERR(TAG, "%s", err);
		pthread_mutex_lock(&s->lock);
		s->ix_open--;
		pthread_cond_signal(&s->ix_free);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	/* the transcripts' search key: unwrapped at the first search */
	idx_set_search_key_fn(ix, rec_tr_search_key, &s->trkey);
	/* which recordings are this folder's own (a missing file is gone, not
	 * on another node) */
	if (s->node[0] && idx_set_node(ix, s->node))
		ES_LOG_WARNING(TAG, "node name %s not set on an index connection", s->node);
	return ix;
}

void srv_ix_give(struct api_server *s, struct idx *ix)
{
	if (!ix)
		return;
	idx_rollback(ix); /* nothing may stay open between requests */
	pthread_mutex_lock(&s->lock);
	s->ix_pool[s->ix_idle++] = ix;
	pthread_cond_signal(&s->ix_free);
	pthread_mutex_unlock(&s->lock);
}

/* ---- responses -------------------------------------------------------------------- */

void srv_headers(struct MHD_Response *resp, bool json)
{
	if (json)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Content-Security-Policy", SRV_CSP);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

int srv_queue(struct srv_req *r, unsigned status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	if (r->srv->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&r->srv->http_codes[status - 100], 1, memory_order_relaxed);
	return rc;
}

bool srv_json_begin(struct srv_json *o)
{
	memset(o, 0, sizeof(*o));
	o->f = open_memstream(&o->buf, &o->len);
	if (!o->f)
		return false;
	es_json_init(&o->j, o->f, false);
	return true;
}

void srv_json_discard(struct srv_json *o)
{
	es_json_end(&o->j);
	fclose(o->f);
	free(o->buf);
}

int srv_json_send(struct srv_req *r, unsigned status, struct srv_json *o)
{
	return srv_json_send_hdrs(r, status, o, NULL);
}

int srv_json_send_hdrs(struct srv_req *r, unsigned status, struct srv_json *o,
		       const char *const *hdrs)
{
	es_json_end(&o->j);
	bool bad = ferror(o->f) != 0;
	fclose(o->f);
	if (bad || !o->buf) {
		free(o->buf);
		return MHD_NO;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(o->len, o->buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(o->buf);
		return MHD_NO;
	}
	srv_headers(resp, true);
	for (; hdrs && hdrs[0]; hdrs += 2)
		MHD_add_response_header(resp, hdrs[0], hdrs[1]);
	return srv_queue(r, status, resp);
}

int srv_error(struct srv_req *r, unsigned status, const char *code, const char *param,
	      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, code);
	es_json_key(&o.j, "message"); es_json_str(&o.j, msg);
	if (param) {
		es_json_key(&o.j, "parameter");
		es_json_str(&o.j, param);
	}
	es_json_obj_end(&o.j);
	return srv_json_send(r, status, &o);
}

/* ---- request parts ---------------------------------------------------------------- */

const char *srv_arg(struct srv_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_header(struct srv_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct args_walk {
	const char *const *allowed;
	const char *bad;  /* first unknown or repeated name */
	bool repeated;
	const char *seen[16];
	unsigned nseen;
};

static enum MHD_Result args_one(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	(void)kind;
	(void)value;
	struct args_walk *w = cls;
	bool known = false;
	for (const char *const *a = w->allowed; *a; a++)
		known |= key && !strcmp(*a, key);
	if (!known) {
		w->bad = key ? key : "";
		return MHD_NO;
	}
	for (unsigned i = 0; i < w->nseen; i++)
		if (!strcmp(w->seen[i], key)) {
			w->bad = key;
			w->repeated = true;
			return MHD_NO;
		}
	if (w->nseen < 16)
		w->seen[w->nseen++] = key;
	return MHD_YES;
}

int srv_args_check(struct srv_req *r, const char *const *allowed, bool *answered)
{
	struct args_walk w = {.allowed = allowed};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, args_one, &w);
	*answered = false;
	if (!w.bad)
		return 0;
	*answered = true;
	char name[65];
	snprintf(name, sizeof(name), "%s", w.bad);
	return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", name,
			 w.repeated ? "parameter given more than once" : "unknown parameter");
}

/* ---- audit and roles ----------------------------------------------------------------- */

void srv_audit(struct srv_req *r, const char *action, const char *object, const char *outcome,
	       const char *detail)
{
	const char *who = r->auth != SRV_AUTH_NONE ? r->user.name : "-";
	int rc = r->ix ? api_audit_append(r->ix, srv_now_us(), who, action, object, r->remote,
					  outcome, detail, NULL)
		       : ES_EDB;
	if (rc)
		ES_LOG_ERR(TAG, "audit %s by %s from %s: %s", action, who, r->remote,
			   r->ix ? idx_errmsg(r->ix) : "no index");
}

bool srv_allow(struct srv_req *r, enum api_action act, bool own, const char *action,
	       const char *object, int *rc)
{
	if (srv_may(r, act, own))
		return true;
	char detail[96];
	snprintf(detail, sizeof(detail), "role %s may not %s%s", api_role_name(r->user.role),
		 api_action_name(act), own ? "" : " this call");
	srv_audit(r, action, object, API_AUDIT_DENIED, detail);
	*rc = srv_error(r, MHD_HTTP_FORBIDDEN, "forbidden", NULL, "not allowed");
	return false;
}

bool srv_allow_call(struct srv_req *r, enum api_action act, bool found, bool own,
		    const char *action, const char *object, int *rc)
{
	/* A role that may not do act even on its own calls is told so for
	 * any id: that answer does not depend on the call. */
	if (!srv_allow(r, act, true, action, object, rc))
		return false;
	if (found && srv_may(r, act, own))
		return true;
	/* Issue #13, finding 13a: "not yours" and "no such call" get one
	 * answer, so that ids cannot be probed; the audit keeps which. */
	char detail[96];
	if (found)
		snprintf(detail, sizeof(detail), "role %s may not %s this call (answered as absent)",
			 api_role_name(r->user.role), api_action_name(act));
	srv_audit(r, action, object, found ? API_AUDIT_DENIED : API_AUDIT_FAILED,
		  found ? detail : "no such call");
	*rc = srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call");
	return false;
}

/* ---- authentication ---------------------------------------------------------------------- */

static int unauthorized(struct srv_req *r, const char *why)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "error"); es_json_str(&o.j, "unauthorized");
	es_json_key(&o.j, "message"); es_json_str(&o.j, why);
	es_json_obj_end(&o.j);
	const char *const hdrs[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"earshot\"",
				    NULL};
	return srv_json_send_hdrs(r, MHD_HTTP_UNAUTHORIZED, &o, hdrs);
}

bool srv_authenticate(struct srv_req *r, int *rc)
{
	int64_t now = srv_now_us();
	const char *authz = srv_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) || strlen(authz + 7) >= API_TOKEN_STRLEN ||
		    api_token_auth(r->ix, authz + 7, now, &r->user)) {
			srv_audit(r, "auth", NULL, API_AUDIT_FAILED, "bad bearer token");
			*rc = unauthorized(r, "bad or revoked token");
			return false;
		}
		r->auth = SRV_AUTH_TOKEN;
		return srv_mfa_gate(r, rc) && srv_scope_load(r, rc);
	}
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "earshot_session");
	if (!cookie) {
		*rc = unauthorized(r, "log in first");
		return false;
	}
	if (strlen(cookie) >= sizeof(r->cookie) ||
	    api_session_lookup(r->ix, cookie, now, &r->session, &r->user)) {
		srv_audit(r, "auth", NULL, API_AUDIT_FAILED, "bad or expired session cookie");
		*rc = unauthorized(r, "session unknown or expired");
		return false;
	}
	snprintf(r->cookie, sizeof(r->cookie), "%s", cookie);
	r->auth = SRV_AUTH_SESSION;
	/* Every state change of a browser session carries its CSRF token. */
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		const char *t = srv_header(r, "X-CSRF-Token");
		if (!t || strlen(t) >= IDX_HEX256 || !api_csrf_ok(&r->session, t)) {
			srv_audit(r, "csrf", r->url, API_AUDIT_DENIED, "missing or wrong X-CSRF-Token");
			*rc = srv_error(r, MHD_HTTP_FORBIDDEN, "csrf", NULL,
					"X-CSRF-Token missing or wrong");
			return false;
		}
	}
	return srv_mfa_gate(r, rc) && srv_scope_load(r, rc);
}

/* ---- one request ------------------------------------------------------------------------- */

static void remote_of(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, cap, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST))
		snprintf(out, cap, "?");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct api_server *s = cls;
	struct srv_req *r = *con_cls;
	if (!r)
		return MHD_NO; /* on_uri failed to allocate */
	if (!r->started) {
		r->started = true;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->url = url;
		es_buf_init(&r->body);
		remote_of(conn, r->remote, sizeof(r->remote));
		if (r->nul_in_url) {
			srv_guard_request_in(s->guard, conn);
			return (enum MHD_Result)srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
							  "NUL in the URL");
		}
		/* A declared body that is too large is refused before it is read. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl && (sl_to_u64(sl_cstr(cl), &n) || n > API_SRV_BODY_MAX)) {
			r->body_too_large = true;
			srv_guard_request_in(s->guard, conn);
			return (enum MHD_Result)srv_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
							  NULL, "request body over %d bytes",
							  API_SRV_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->body_too_large &&
		    (r->body.len + *upload_data_size > API_SRV_BODY_MAX ||
		     es_buf_append(&r->body, upload_data, *upload_data_size)))
			r->body_too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	srv_guard_request_in(s->guard, conn);
	if (r->body_too_large)
		return (enum MHD_Result)srv_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
						  "request body over %d bytes", API_SRV_BODY_MAX);
	/* alive and its counters: whether or not the index opens */
	if (!strcmp(url, "/healthz"))
		return (enum MHD_Result)srv_healthz(r);
	if (!strcmp(url, "/metrics"))
		return (enum MHD_Result)srv_metrics(r);
	if (s->cfg.metrics_only && strcmp(url, "/readyz"))
		return (enum MHD_Result)srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL,
						  "this listener serves /metrics, /healthz, /readyz");
	r->ix = srv_ix_take(s);
	if (!r->ix)
		return (enum MHD_Result)srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
						  NULL, "the index cannot be opened");
	int rc = srv_route(r);
	srv_ix_give(s, r->ix);
	r->ix = NULL;
	return rc == MHD_YES ? MHD_YES : MHD_NO;
}

/* Called with the raw URL before MHD unescapes it: a "%00" would cut the
 * path or a parameter short without a trace, so it is refused.  The value
 * returned becomes the request's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	struct srv_req *r = calloc(1, sizeof(*r));
	if (r)
		r->nul_in_url = uri && strstr(uri, "%00") != NULL;
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	(void)toe;
	srv_guard_request_done(s->guard, conn);
	struct srv_req *r = *con_cls;
	if (!r)
		return;
	srv_peaks_deferred_free(r);
	es_buf_free(&r->body);
	free(r->scope_numbers);
	sodium_memzero(r->cookie, sizeof(r->cookie));
	free(r);
	*con_cls = NULL;
}

/* MHD logs one line per refused or failed connection: under a flood that
 * would fill the log (or block the server on a full stderr pipe).  At most
 * SRV_MHD_LOG_BURST lines per SRV_MHD_LOG_WINDOW_S, then one line counting
 * what was left out. */
#define SRV_MHD_LOG_BURST 20
#define SRV_MHD_LOG_WINDOW_S 10
static bool mhd_log_admit(struct api_server *s, unsigned *dropped)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&s->log_lock);
	*dropped = 0;
	if (ts.tv_sec - s->log_window >= SRV_MHD_LOG_WINDOW_S) {
		*dropped = s->log_dropped;
		s->log_window = ts.tv_sec;
		s->log_count = s->log_dropped = 0;
	}
	bool ok = s->log_count < SRV_MHD_LOG_BURST;
	if (ok)
		s->log_count++;
	else
		s->log_dropped++;
	pthread_mutex_unlock(&s->log_lock);
	return ok;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	unsigned dropped;
	bool ok = mhd_log_admit(cls, &dropped);
	if (dropped)
		ES_LOG_WARNING(TAG, "%u more libmicrohttpd messages left out in %d s", dropped,
			       SRV_MHD_LOG_WINDOW_S);
	if (!ok)
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	ES_LOG_WARNING(TAG, "%s", msg);
}

/* ---- start and stop ---------------------------------------------------------------------- */

static int read_pem(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	char *buf = malloc(SRV_PEM_MAX + 1);
	size_t n = buf ? fread(buf, 1, SRV_PEM_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f) || n == 0 || n > SRV_PEM_MAX;
	fclose(f);
	if (bad) {
		free(buf);
		return es_errf(err, errlen, ES_EIO, "%s: cannot read a PEM file", path);
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

static void server_free(struct api_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->ix_idle; i++)
		idx_close(s->ix_pool[i]);
	api_rl_free(s->rl);
	srv_guard_free(s->guard);
	srv_peaks_jobs_free(s->peaks);
	srv_listen_jobs_free(s->listen);
	srv_audio_cache_free(s->audio);
	st_vault_close(s->vault);
	srv_keys_remote_free(s->keyix);
	st_vault_close(s->mfa_vault);
	st_ledger_cache_free(s->ledger);
	free(s->tls_cert_pem);
	free(s->tls_key_pem);
	free(s->rules_json);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->log_lock);
	pthread_cond_destroy(&s->ix_free);
	free(s);
}

int api_server_start(struct api_server **out, const struct api_server_config *cfg, char *err,
		     size_t errlen)
{
	*out = NULL;
	if (!cfg->data_dir || !cfg->host || !cfg->threads || cfg->threads > API_SRV_THREADS_MAX ||
	    cfg->per_ip > API_SRV_CONN_MAX || cfg->listen_per_user > API_SRV_CONN_MAX)
		return es_errf(err, errlen, ES_EINVAL, "bad server settings");
	if (!cfg->tls_cert != !cfg->tls_key)
		return es_errf(err, errlen, ES_EINVAL, "TLS needs both a certificate and a key");
	if (cfg->tls_cert && !api_server_has_tls())
		return es_errf(err, errlen, ES_EUNSUP,
			       "this libmicrohttpd was built without TLS: cannot serve HTTPS");
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	bool ipv6 = false;
	if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(cfg->port);
		ipv6 = true;
	} else {
		return es_errf(err, errlen, ES_EINVAL, "not a numeric IP address: %s", cfg->host);
	}

	struct api_server *s = calloc(1, sizeof(*s));
	if (!s)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	int rc;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->log_lock, NULL);
	pthread_cond_init(&s->ix_free, NULL);
	s->cfg = *cfg;
	s->cfg.rules_json = NULL; /* the server's own copy: s->rules_json */
	if (cfg->rules_json && !(s->rules_json = strdup(cfg->rules_json))) {
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(s->data_dir, sizeof(s->data_dir), "%s", cfg->data_dir);
	s->cfg.data_dir = s->data_dir;
	s->trkey = (struct rec_tr_keysrc){.data_dir = s->data_dir, .vault = &s->vault};
	snprintf(s->index_path, sizeof(s->index_path), "%s/index.sqlite", s->data_dir);
	snprintf(s->node, sizeof(s->node), "%s", cfg->node ? cfg->node : "");
	if (cfg->index)
		snprintf(s->index_path, sizeof(s->index_path), "%s", cfg->index);
	s->cfg.index = cfg->index ? s->index_path : NULL;
	s->ix_max = cfg->threads + 2;
	struct stat st;
	if (!cfg->index && stat(s->index_path, &st) != 0) {
		rc = es_errf(err, errlen, ES_ENOTFOUND, "no index at %s", s->index_path);
		goto fail;
	}
	/* One connection now: the index opens (and is migrated) before the
	 * first request. */
	struct idx *ix = srv_ix_take(s);
	if (!ix) {
		rc = es_errf(err, errlen, ES_EDB, "cannot open the index %s",
			     cfg->index ? "(see the log)" : s->index_path);
		goto fail;
	}
	bool shared = idx_shared(ix);
	srv_ix_give(s, ix);
	char kdir[4200];
	snprintf(kdir, sizeof(kdir), "%s/ledger", s->data_dir);
	if ((rc = st_ledger_cache_new(&s->ledger, kdir))) {
		es_errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	snprintf(kdir, sizeof(kdir), "%s/keys", s->data_dir);
	/* a web node of several needs no DATA/keys of its own: $EARSHOT_KEK
	 * and the wrapped keys in the shared index open the recorders' files */
	const char *kek = getenv(ST_KEK_ENV);
	if (stat(kdir, &st) == 0 || (kek && *kek)) {
		char verr[512] = "";
		rc = st_vault_open(&s->vault, s->data_dir, false, verr, sizeof(verr));
		if (rc) {
			es_errf(err, errlen, rc, "cannot open the keys: %s",
				*verr ? verr : es_strerror(rc));
			goto fail;
		}
	}
	if (shared && (rc = srv_keys_remote(s))) {
		es_errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	const struct api_rl_limits lim = {
		.capacity = SRV_RL_CAPACITY,
		.max_failures = cfg->login_max_failures ? cfg->login_max_failures
							: API_RL_MAX_FAILURES,
		.max_failures_address = cfg->login_max_failures_address
						? cfg->login_max_failures_address
						: API_RL_MAX_FAILURES_ADDRESS,
		.window_us = cfg->login_window_us > 0 ? cfg->login_window_us : API_RL_WINDOW_US,
		.lockout_us = cfg->login_lockout_us > 0 ? cfg->login_lockout_us : API_RL_LOCKOUT_US,
	};
	if ((rc = api_rl_new(&s->rl, &lim)) ||
	    (rc = srv_peaks_jobs_new(&s->peaks)) || (rc = srv_listen_jobs_new(&s->listen)) ||
	    (rc = srv_audio_cache_new(&s->audio)) ||
	    (rc = srv_guard_new(&s->guard, SRV_REQUEST_DEADLINE_US))) {
		es_errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	if (cfg->tls_cert) {
		if ((rc = read_pem(cfg->tls_cert, &s->tls_cert_pem, err, errlen)) ||
		    (rc = read_pem(cfg->tls_key, &s->tls_key_pem, err, errlen)))
			goto fail;
		s->tls = true;
	}

	/* suspend/resume: a waveform decode runs off MHD's threads */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	if (s->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[16];
	unsigned n = 0;
	/* the logger first, so that MHD's own messages about options go to it */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log,
					    s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed,
					    s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
					    (intptr_t)srv_guard_notify, s->guard};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					    SRV_CONN_MEMORY, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, SRV_CONN_TIMEOUT_S,
					    NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, API_SRV_CONN_MAX, NULL};
	/* one address cannot take every slot (issue #13, finding 4) */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					    cfg->per_ip ? cfg->per_ip : API_SRV_PER_IP_DEFAULT,
					    NULL};
	if (cfg->threads > 1)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
						    NULL};
	if (s->tls) {
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)SRV_TLS_PRIORITIES};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	s->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
				  opts, MHD_OPTION_END);
	if (!s->mhd) {
		rc = es_errf(err, errlen, ES_EIO,
			     "cannot listen on %s port %u (address in use, or a bad TLS "
			     "certificate/key)",
			     cfg->host, (unsigned)cfg->port);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : cfg->port;
	*out = s;
	return 0;
fail:
	server_free(s);
	return rc;
}

int api_server_set_rules_json(struct api_server *s, const char *json)
{
	char *copy = NULL;
	if (json && !(copy = strdup(json)))
		return ES_ENOMEM;
	pthread_mutex_lock(&s->lock);
	char *old = s->rules_json;
	s->rules_json = copy;
	pthread_mutex_unlock(&s->lock);
	free(old);
	return 0;
}

char *srv_rules_json_copy(struct api_server *s, bool *oom)
{
	*oom = false;
	pthread_mutex_lock(&s->lock);
	char *copy = s->rules_json ? strdup(s->rules_json) : NULL;
	*oom = s->rules_json && !copy;
	pthread_mutex_unlock(&s->lock);
	return copy;
}

uint16_t api_server_port(const struct api_server *s)
{
	return s->port;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	srv_peaks_jobs_wait(s->peaks);
	srv_listen_jobs_wait(s->listen);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	server_free(s);
}

bool srv_begin(struct srv_req *r, const char *const *params, int *rc)
{
	static const char *const none[] = {NULL};
	bool answered;
	if (!srv_authenticate(r, rc))
		return false;
	*rc = srv_args_check(r, params ? params : none, &answered);
	return !answered;
}
