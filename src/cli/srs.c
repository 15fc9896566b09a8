/* srs.c - `earshot srs`: the SIPREC recording server (siprec/) in the
 * recorder run of record.c/run.c.  Here: its options and [srs] section, and
 * its engine, whose finished calls are stored from the main thread (the one
 * that drives srs_step and owns the index). */
#include "cli/cli.h"
#include "core/config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "srs"

void cli_srs_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot srs [options]\n"
		"\n"
		"Run the SIPREC recording server (RFC 7866) until SIGTERM or SIGINT:\n"
		"session recording clients (SBCs, PBXs) send it recording sessions over\n"
		"SIP (UDP, TCP and TLS); it answers receive-only from its RTP port range,\n"
		"decrypts SRTP (SDES), and records and indexes each session as a call\n"
		"with the original call's parties (RFC 7865 metadata), like `earshot\n"
		"record` does: same data folder, rules, spool and crash recovery,\n"
		"status.json.  SIGTERM/SIGINT end every session with a BYE and wait for\n"
		"the recordings; SIGHUP reloads the recording rules.  `earshot record\n"
		"--srs` runs the same server beside live capture.\n"
		"\n"
		"Options (each overrides the configuration file; docs/CONFIG.md):\n"
		"  --listen [PROTO:]ADDR:PORT  SIP socket (repeatable): udp:0.0.0.0:5060,\n"
		"                         tcp:[::1]:5060, tls:0.0.0.0:5061; without PROTO\n"
		"                         both udp and tcp (default udp and tcp on\n"
		"                         0.0.0.0:5060)\n"
		"  --tls-cert FILE        PEM certificate (chain) of tls listeners\n"
		"  --tls-key FILE         its PEM private key (both required with tls:)\n"
		"  --tls-ca FILE          PEM CA certificates: mutual TLS, clients must\n"
		"                         present a certificate they signed\n"
		"  --media-addr ADDR      address announced in SDP, where RTP is received\n"
		"                         (default the first listen address, when concrete)\n"
		"  --rtp-ports LO-HI      RTP/RTCP port range (40000-49999)\n"
		"  --max-sessions N       concurrent sessions; more get 503 (500)\n"
		"  --retry-after SEC      Retry-After of that 503 (30)\n"
		"  --allow CIDR           who may send requests (repeatable; default anyone,\n"
		"                         with a warning); others get 403\n"
		"  --session-timeout SEC  end a session without SIP nor media (300)\n"
		"  --require-srtp         refuse plain RTP streams (SRTP with SDES only)\n"
		"  -c, --config FILE      earshot.conf: settings, [srs], recording rules\n"
		"  --data DIR             data folder (default from the configuration,\n"
		"                         else $EARSHOT_DATA or ./earshot-data)\n"
		"  --format FMT           opus (default), wav or flac\n"
		"  --mix                  mono recordings\n"
		"  --encode-threads N     threads encoding recordings: auto (one per core,\n"
		"                         the default) or 1..64\n"
		"  --idle-timeout SEC, --rtp-timeout SEC, --max-duration SEC\n"
		"                         as for `earshot record` (300, 60, 14400)\n"
		"  --status-interval SEC  how often DIR/run/status.json is written (1)\n"
		"  --min-free BYTES       warn when free space in DIR falls below (1G)\n"
		"  --api ADDR:PORT        also serve the web UI and REST API there\n"
		"                         ([api] in the configuration)\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 stopped cleanly, 1 error (SIP sockets, index, a recording),\n"
		"2 usage or a bad configuration file.\n");
}

void cli_srs_settings_init(struct cli_srs_settings *o)
{
	memset(o, 0, sizeof(*o));
	o->max_sessions = -1;
	o->retry_after_us = -1;
	o->session_timeout_us = -1;
	o->require_srtp = -1;
	o->max_conns_per_host = -1;
	o->tcp_request_timeout_us = -1;
}

/* ---- parsing values -------------------------------------------------------------
 * Each writes why a value is bad into err (the caller names the option or
 * the file and line). */

static bool addr_is_any(const struct es_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->ip, zero, 16) == 0;
}

static int parse_ip(struct slice v, struct es_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (es_addr_parse_ip(v, a)) {
		snprintf(err, errlen, "'%.*s' is not an IPv4 or IPv6 address", (int)v.len, v.p);
		return ES_EPARSE;
	}
	return 0;
}

/* "192.0.2.1:5060", "[2001:db8::1]:5060" */
static int parse_hostport(struct slice v, struct es_addr *a, char *err, size_t errlen)
{
	struct slice ip, port;
	const char *end = v.p + v.len;
	if (v.len && v.p[0] == '[') {
		const char *rb = memchr(v.p, ']', v.len);
		if (!rb || rb + 1 >= end || rb[1] != ':') {
			snprintf(err, errlen, "'%.*s': expected [IPv6]:PORT", (int)v.len, v.p);
			return ES_EPARSE;
		}
		ip = (struct slice){v.p + 1, (size_t)(rb - v.p - 1)};
		port = (struct slice){rb + 2, (size_t)(end - rb - 2)};
	} else {
		const char *colon = NULL;
		for (const char *p = v.p; p < end; p++)
			if (*p == ':')
				colon = p;
		if (!colon) {
			snprintf(err, errlen, "'%.*s': expected ADDR:PORT", (int)v.len, v.p);
			return ES_EPARSE;
		}
		if (memchr(v.p, ':', (size_t)(colon - v.p))) {
			snprintf(err, errlen, "'%.*s': an IPv6 address goes in brackets, "
				 "e.g. [::1]:5060", (int)v.len, v.p);
			return ES_EPARSE;
		}
		ip = (struct slice){v.p, (size_t)(colon - v.p)};
		port = (struct slice){colon + 1, (size_t)(end - colon - 1)};
	}
	uint64_t n;
	if (parse_ip(ip, a, err, errlen))
		return ES_EPARSE;
	if (sl_to_u64(port, &n) || n == 0 || n > 65535) {
		snprintf(err, errlen, "'%.*s': bad port '%.*s'", (int)v.len, v.p, (int)port.len,
			 port.p);
		return ES_EPARSE;
	}
	a->port = (uint16_t)n;
	return 0;
}

static const char *proto_name(uint8_t proto)
{
	return proto == SRS_PROTO_TLS ? "tls" : proto == NET_PROTO_TCP ? "tcp" : "udp";
}

/* One "[udp:|tcp:|tls:]ADDR:PORT": one socket, or two (udp and tcp). */
static int add_listen(struct cli_srs_settings *o, struct slice v, char *err, size_t errlen)
{
	uint8_t protos[2] = {NET_PROTO_UDP, NET_PROTO_TCP};
	unsigned np = 2;
	if (v.len > 4 && (!strncasecmp(v.p, "udp:", 4) || !strncasecmp(v.p, "tcp:", 4) ||
			  !strncasecmp(v.p, "tls:", 4))) {
		protos[0] = !strncasecmp(v.p, "udp:", 4)   ? NET_PROTO_UDP
			    : !strncasecmp(v.p, "tcp:", 4) ? NET_PROTO_TCP
							   : SRS_PROTO_TLS;
		np = 1;
		v.p += 4;
		v.len -= 4;
	}
	struct es_addr a;
	if (parse_hostport(v, &a, err, errlen))
		return ES_EPARSE;
	if (o->nlisten + np > SRS_MAX_LISTEN) {
		snprintf(err, errlen, "at most %d SIP sockets (udp, tcp, tls count apart)",
			 SRS_MAX_LISTEN);
		return ES_ELIMIT;
	}
	for (unsigned i = 0; i < np; i++)
		for (unsigned k = 0; k < o->nlisten; k++)
			if ((o->listen[k].proto == protos[i] ||
			     (o->listen[k].proto != NET_PROTO_UDP && protos[i] != NET_PROTO_UDP)) &&
			    es_addr_eq(&o->listen[k].addr, &a)) {
				/* tcp and tls are both TCP sockets: one port each */
				snprintf(err, errlen, "'%.*s': %s on that address and port is "
					 "given twice", (int)v.len, v.p,
					 protos[i] == o->listen[k].proto
						 ? proto_name(protos[i])
						 : "a TCP socket (tcp and tls)");
				return ES_EPARSE;
			}
	for (unsigned i = 0; i < np; i++)
		o->listen[o->nlisten++] = (struct srs_listen){.proto = protos[i], .addr = a};
	return 0;
}

/* "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (one host) */
static int add_allow(struct cli_srs_settings *o, struct slice v, char *err, size_t errlen)
{
	const char *slash = memchr(v.p, '/', v.len);
	struct slice ip = {v.p, slash ? (size_t)(slash - v.p) : v.len};
	struct srs_allow al;
	if (parse_ip(ip, &al.net, err, errlen))
		return ES_EPARSE;
	unsigned max = al.net.family == ES_AF_INET ? 32 : 128;
	al.bits = max;
	if (slash) {
		uint64_t n;
		struct slice b = {slash + 1, (size_t)(v.p + v.len - slash - 1)};
		if (sl_to_u64(b, &n) || n > max) {
			snprintf(err, errlen, "'%.*s': bad prefix length (0-%u)", (int)v.len, v.p, max);
			return ES_EPARSE;
		}
		al.bits = (unsigned)n;
	}
	/* keep the network part only, so that 10.1.2.3/8 means 10.0.0.0/8 */
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = al.bits > i * 8 ? al.bits - i * 8 : 0;
		if (keep < 8)
			al.net.ip[i] &= (uint8_t)(0xff00 >> keep);
	}
	if (o->nallow == SRS_MAX_ALLOW) {
		snprintf(err, errlen, "at most %d allowed networks", SRS_MAX_ALLOW);
		return ES_ELIMIT;
	}
	o->allow[o->nallow++] = al;
	return 0;
}

/* A comma-separated list, each item trimmed, through fn. */
static int add_list(struct cli_srs_settings *o, const char *v,
		    int (*fn)(struct cli_srs_settings *, struct slice, char *, size_t), char *err,
		    size_t errlen)
{
	const char *p = v;
	for (;;) {
		const char *comma = strchr(p, ',');
		struct slice item = sl_trim((struct slice){p, comma ? (size_t)(comma - p) : strlen(p)});
		if (item.len == 0) {
			snprintf(err, errlen, "empty value in '%s'", v);
			return ES_EPARSE;
		}
		int rc = fn(o, item, err, errlen);
		if (rc)
			return rc;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int parse_ports(const char *v, uint16_t *lo, uint16_t *hi, char *err, size_t errlen)
{
	const char *dash = strchr(v, '-');
	uint64_t a, b;
	if (!dash || sl_to_u64(sl_trim((struct slice){v, (size_t)(dash - v)}), &a) ||
	    sl_to_u64(sl_trim(sl_cstr(dash + 1)), &b) || a == 0 || b > 65535 || a >= b) {
		snprintf(err, errlen, "'%s': expected LO-HI, 1 <= LO < HI <= 65535 "
			 "(e.g. 40000-49999)", v);
		return ES_EPARSE;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int parse_media(const char *v, struct es_addr *a, char *err, size_t errlen)
{
	if (parse_ip(sl_trim(sl_cstr(v)), a, err, errlen))
		return ES_EPARSE;
	if (addr_is_any(a)) {
		snprintf(err, errlen, "'%s' is not a concrete address: give the one the "
			 "recording clients send RTP to", v);
		return ES_EPARSE;
	}
	return 0;
}

/* A TLS file name into out (a path, not read here: srs_new does). */
static int set_path(char *out, size_t cap, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n == 0 || n >= cap) {
		snprintf(err, errlen, "'%s': expected a file name (at most %zu bytes)", v, cap - 1);
		return ES_EPARSE;
	}
	memcpy(out, v, n + 1);
	return 0;
}

int cli_srs_option(const char *cmd, struct cli_srs_settings *o, const char *opt, const char *arg)
{
	char err[512] = "";
	int rc = 0;
	uint64_t n;
	if (!strcmp(opt, "listen")) {
		rc = add_list(o, arg, add_listen, err, sizeof(err));
	} else if (!strcmp(opt, "allow")) {
		rc = add_list(o, arg, add_allow, err, sizeof(err));
	} else if (!strcmp(opt, "tls-cert")) {
		rc = set_path(o->tls_cert, sizeof(o->tls_cert), arg, err, sizeof(err));
	} else if (!strcmp(opt, "tls-key")) {
		rc = set_path(o->tls_key, sizeof(o->tls_key), arg, err, sizeof(err));
	} else if (!strcmp(opt, "tls-ca")) {
		rc = set_path(o->tls_ca, sizeof(o->tls_ca), arg, err, sizeof(err));
	} else if (!strcmp(opt, "media-addr")) {
		rc = parse_media(arg, &o->media_addr, err, sizeof(err));
	} else if (!strcmp(opt, "rtp-ports")) {
		rc = parse_ports(arg, &o->rtp_lo, &o->rtp_hi, err, sizeof(err));
	} else if (!strcmp(opt, "max-sessions")) {
		if (sl_to_u64(sl_cstr(arg), &n) || n == 0 || n > 100000) {
			snprintf(err, sizeof(err), "'%s': expected a number from 1 to 100000", arg);
			rc = ES_EPARSE;
		} else {
			o->max_sessions = (int64_t)n;
		}
	} else if (!strcmp(opt, "require-srtp")) {
		o->require_srtp = 1;
	} else if (!strcmp(opt, "retry-after")) {
		return cli_parse_secs(cmd, "--retry-after", arg, &o->retry_after_us);
	} else if (!strcmp(opt, "session-timeout")) {
		if ((rc = cli_parse_secs(cmd, "--session-timeout", arg, &o->session_timeout_us)))
			return rc;
		if (o->session_timeout_us == 0) {
			fprintf(stderr, "%s: --session-timeout: must be at least 1 second\n", cmd);
			return CLI_USAGE;
		}
		return 0;
	} else {
		fprintf(stderr, "%s: unknown option --%s\n", cmd, opt);
		return CLI_USAGE;
	}
	if (rc) {
		fprintf(stderr, "%s: --%s: %s\n", cmd, opt, err);
		return CLI_USAGE;
	}
	return 0;
}

int cli_srs_apply_config(struct cli_srs_settings *o, const struct es_conf *c, char *err,
			 size_t errlen)
{
	static const char *const known[] = {"enabled", "listen", "media_addr", "rtp_ports",
					    "max_sessions", "retry_after", "allow",
					    "session_timeout", "tls_cert", "tls_key", "tls_ca",
					    "require_srtp", "max_connections_per_host",
					    "tcp_request_timeout", NULL};
	int rc = es_conf_check_keys(c, "srs", known, err, errlen);
	if (rc)
		return rc;
	char why[400];
	for (size_t i = 0; i < c->n; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (strcasecmp(e->section, "srs"))
			continue;
		why[0] = '\0';
		if (!strcmp(e->key, "listen"))
			rc = add_list(o, e->value, add_listen, why, sizeof(why));
		else if (!strcmp(e->key, "allow"))
			rc = add_list(o, e->value, add_allow, why, sizeof(why));
		else if (!strcmp(e->key, "media_addr"))
			rc = parse_media(e->value, &o->media_addr, why, sizeof(why));
		else if (!strcmp(e->key, "rtp_ports"))
			rc = parse_ports(e->value, &o->rtp_lo, &o->rtp_hi, why, sizeof(why));
		else if (!strcmp(e->key, "tls_cert"))
			rc = set_path(o->tls_cert, sizeof(o->tls_cert), e->value, why, sizeof(why));
		else if (!strcmp(e->key, "tls_key"))
			rc = set_path(o->tls_key, sizeof(o->tls_key), e->value, why, sizeof(why));
		else if (!strcmp(e->key, "tls_ca"))
			rc = set_path(o->tls_ca, sizeof(o->tls_ca), e->value, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "%s:%u: %s: %s", c->path, e->line, e->key, why);
			return ES_EPARSE;
		}
	}
	int64_t v;
#define OPT(call) do { rc = (call); if (rc && rc != ES_ENOTFOUND) return rc; } while (0)
	OPT(es_conf_bool(c, "srs", "enabled", &o->enabled, err, errlen));
	if (!(rc = es_conf_int(c, "srs", "max_sessions", 1, 100000, &v, err, errlen)))
		o->max_sessions = v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_duration(c, "srs", "retry_after", &o->retry_after_us, err, errlen));
	OPT(es_conf_duration(c, "srs", "session_timeout", &o->session_timeout_us, err, errlen));
	bool b;
	if (!(rc = es_conf_bool(c, "srs", "require_srtp", &b, err, errlen)))
		o->require_srtp = b;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (!(rc = es_conf_int(c, "srs", "max_connections_per_host", 1, 1024, &v, err, errlen)))
		o->max_conns_per_host = v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_duration(c, "srs", "tcp_request_timeout", &o->tcp_request_timeout_us, err,
			     errlen));
#undef OPT
	const struct es_conf_entry *e;
	if (o->retry_after_us > 86400 * ES_US_PER_SEC && (e = es_conf_find(c, "srs", "retry_after"))) {
		snprintf(err, errlen, "%s:%u: retry_after: at most a day", c->path, e->line);
		return ES_EPARSE;
	}
	if (o->session_timeout_us >= 0 && o->session_timeout_us < ES_US_PER_SEC &&
	    (e = es_conf_find(c, "srs", "session_timeout"))) {
		snprintf(err, errlen, "%s:%u: session_timeout: at least 1s", c->path, e->line);
		return ES_EPARSE;
	}
	if (o->tcp_request_timeout_us >= 0 &&
	    (o->tcp_request_timeout_us < ES_US_PER_SEC ||
	     o->tcp_request_timeout_us > 600 * ES_US_PER_SEC) &&
	    (e = es_conf_find(c, "srs", "tcp_request_timeout"))) {
		snprintf(err, errlen, "%s:%u: tcp_request_timeout: from 1s to 10min", c->path,
			 e->line);
		return ES_EPARSE;
	}
	return 0;
}

void cli_srs_merge(struct cli_srs_settings *s, const struct cli_srs_settings *over)
{
	s->enabled = s->enabled || over->enabled;
	if (over->nlisten) {
		memcpy(s->listen, over->listen, sizeof(s->listen));
		s->nlisten = over->nlisten;
	}
	if (over->media_addr.family != ES_AF_NONE)
		s->media_addr = over->media_addr;
	if (over->rtp_lo) {
		s->rtp_lo = over->rtp_lo;
		s->rtp_hi = over->rtp_hi;
	}
	if (over->max_sessions >= 0)
		s->max_sessions = over->max_sessions;
	if (over->retry_after_us >= 0)
		s->retry_after_us = over->retry_after_us;
	if (over->session_timeout_us >= 0)
		s->session_timeout_us = over->session_timeout_us;
	if (over->require_srtp >= 0)
		s->require_srtp = over->require_srtp;
	if (over->max_conns_per_host >= 0)
		s->max_conns_per_host = over->max_conns_per_host;
	if (over->tcp_request_timeout_us >= 0)
		s->tcp_request_timeout_us = over->tcp_request_timeout_us;
	if (over->nallow) {
		memcpy(s->allow, over->allow, sizeof(s->allow));
		s->nallow = over->nallow;
	}
	if (over->tls_cert[0])
		memcpy(s->tls_cert, over->tls_cert, sizeof(s->tls_cert));
	if (over->tls_key[0])
		memcpy(s->tls_key, over->tls_key, sizeof(s->tls_key));
	if (over->tls_ca[0])
		memcpy(s->tls_ca, over->tls_ca, sizeof(s->tls_ca));
}

/* The server's configuration: the settings with their defaults.  The
 * media address defaults to the first concrete listen address. */
static int build_config(const struct cli_srs_settings *o, struct srs_config *cfg, char *err,
			size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (o->nlisten) {
		memcpy(cfg->listen, o->listen, sizeof(cfg->listen));
		cfg->nlisten = o->nlisten;
	} else {
		static const uint8_t any[4] = {0, 0, 0, 0};
		cfg->nlisten = 2;
		cfg->listen[0].proto = NET_PROTO_UDP;
		cfg->listen[1].proto = NET_PROTO_TCP;
		es_addr_set_v4(&cfg->listen[0].addr, any, 5060);
		es_addr_set_v4(&cfg->listen[1].addr, any, 5060);
	}
	if (o->media_addr.family != ES_AF_NONE) {
		cfg->media_addr = o->media_addr;
	} else {
		for (unsigned i = 0; i < cfg->nlisten && cfg->media_addr.family == ES_AF_NONE; i++)
			if (!addr_is_any(&cfg->listen[i].addr))
				cfg->media_addr = cfg->listen[i].addr;
		if (cfg->media_addr.family == ES_AF_NONE) {
			snprintf(err, errlen, "no media address: give --media-addr ADDR (or "
				 "media_addr in [srs]), the address announced in SDP where "
				 "recording clients send RTP; the SIP sockets listen on every "
				 "address, which is not one");
			return ES_EINVAL;
		}
	}
	cfg->media_addr.port = 0;
	cfg->rtp_lo = o->rtp_lo ? o->rtp_lo : 40000;
	cfg->rtp_hi = o->rtp_lo ? o->rtp_hi : 49999;
	cfg->max_sessions = o->max_sessions >= 0 ? (unsigned)o->max_sessions : 500;
	cfg->retry_after_s = o->retry_after_us >= 0 ? (unsigned)(o->retry_after_us / ES_US_PER_SEC)
						    : 30;
	memcpy(cfg->allow, o->allow, sizeof(cfg->allow));
	cfg->nallow = o->nallow;
	cfg->session_timeout_us = o->session_timeout_us > 0 ? o->session_timeout_us
							    : 300 * ES_US_PER_SEC;
	cfg->require_srtp = o->require_srtp > 0;
	cfg->max_conns_per_host = o->max_conns_per_host > 0 ? (unsigned)o->max_conns_per_host : 0;
	cfg->tcp_request_timeout_us = o->tcp_request_timeout_us > 0 ? o->tcp_request_timeout_us : 0;
	/* the strings stay o's: cfg is used while o lives (srs_new copies
	 * nothing of them but reads the files at once) */
	cfg->tls_cert = o->tls_cert[0] ? o->tls_cert : NULL;
	cfg->tls_key = o->tls_key[0] ? o->tls_key : NULL;
	cfg->tls_ca = o->tls_ca[0] ? o->tls_ca : NULL;
	bool tls = false;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		tls = tls || cfg->listen[i].proto == SRS_PROTO_TLS;
	if (tls && (!cfg->tls_cert || !cfg->tls_key)) {
		snprintf(err, errlen, "a tls listener needs %s (or %s in [srs])",
			 !cfg->tls_cert && !cfg->tls_key ? "--tls-cert FILE and --tls-key FILE"
			 : !cfg->tls_cert		  ? "--tls-cert FILE"
							  : "--tls-key FILE",
			 !cfg->tls_cert && !cfg->tls_key ? "tls_cert and tls_key"
			 : !cfg->tls_cert		  ? "tls_cert"
							  : "tls_key");
		return ES_EINVAL;
	}
	return 0;
}

/* ---- the server in the run ------------------------------------------------------- */

/* A finished recording session: stored at once, in its own transaction
 * (the main thread is inside srs_step or stopping: no other is open). */
static int srs_take_call(void *ud, struct idx_call *c, const char *media_log)
{
	struct cli_run *r = ud;
	cli_run_clock_stamp(r, c);
	cli_alerts_call(r, c);
	if (idx_begin(r->ix)) {
		ES_LOG_ERR(TAG, "index: %s", idx_errmsg(r->ix));
		r->n.store_errors++;
		return ES_EIO;
	}
	int rc = rec_store_call(r->ix, r->rec, c, media_log, &r->n);
	if (rc) {
		idx_rollback(r->ix);
		return rc;
	}
	if ((rc = idx_commit(r->ix))) {
		ES_LOG_ERR(TAG, "index: %s", idx_errmsg(r->ix));
		r->n.store_errors++;
	}
	return rc;
}

static void fmt_listen(const struct srs_config *cfg, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < cfg->nlisten && n < cap; i++) {
		char a[ES_ADDR_STRLEN];
		es_addr_fmt(&cfg->listen[i].addr, true, a, sizeof(a));
		int w = snprintf(out + n, cap - n, "%s%s:%s", i ? ", " : "",
				 proto_name(cfg->listen[i].proto), a);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int cli_srs_check(const struct cli_settings *s)
{
	struct srs_config cfg;
	char err[1024];
	if (build_config(&s->srs, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", s->cmd, err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_srs_start(struct cli_run *r)
{
	const struct cli_settings *s = r->s;
	struct srs_config cfg;
	char err[1024];
	if (build_config(&s->srs, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", s->cmd, err);
		return CLI_USAGE;
	}
	/* the engine of recording sessions: like a capture worker's, but a
	 * session has no trailing RTP after its BYE to wait for */
	struct rec_config ec = s->engine;
	ec.source = "siprec";
	ec.spool_dir = r->spool;
	ec.spool_vault = r->arc.vault;
	ec.end_linger_us = 2 * ES_US_PER_SEC;
	ec.rules = &r->rules;
	if (rec_engine_new(&r->srs_engine, &ec, srs_take_call, r)) {
		fprintf(stderr, "%s: cannot create the recording engine\n", s->cmd);
		return CLI_ERR;
	}
	if (srs_new(&r->srs, &cfg, r->srs_engine, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", s->cmd, err);
		r->srs = NULL;
		return CLI_ERR;
	}
	char where[600], media[ES_ADDR_STRLEN];
	fmt_listen(&cfg, where, sizeof(where));
	es_addr_fmt(&cfg.media_addr, false, media, sizeof(media));
	ES_LOG_INF(TAG, "SIPREC server listening on %s; media address %s, RTP ports %u-%u, "
		   "at most %u sessions", where, media, cfg.rtp_lo, cfg.rtp_hi, cfg.max_sessions);
	if (cfg.nallow == 0)
		ES_LOG_WARNING(TAG, "no allow list: any host that reaches %s can start recording "
			       "sessions (--allow CIDR or allow = in [srs])", where);
	return CLI_OK;
}

int cli_srs_step(struct cli_run *r, int timeout_ms)
{
	int rc = srs_step(r->srs, timeout_ms);
	if (rc)
		ES_LOG_ERR(TAG, "event loop: %s", es_strerror(rc));
	return rc;
}

void cli_srs_stop(struct cli_run *r)
{
	if (!r->srs || r->srs_stopped)
		return;
	r->srs_stopped = true;
	srs_shutdown(r->srs);
	/* a moment for the clients' answers to our BYEs (and retransmissions
	 * over UDP); the calls are finished below whatever happens */
	int64_t until = cli_wall_us() + ES_US_PER_SEC;
	struct srs_stats st;
	for (;;) {
		srs_stats(r->srs, &st);
		if (st.sessions_active == 0 || cli_wall_us() >= until)
			break;
		if (srs_step(r->srs, 50))
			break;
	}
	rec_engine_shutdown(r->srs_engine, cli_wall_us());
}

void cli_srs_free(struct cli_run *r)
{
	if (r->srs)
		srs_free(r->srs);
	r->srs = NULL;
	rec_engine_free(r->srs_engine);
	r->srs_engine = NULL;
}

const struct rec_stats *cli_srs_engine_stats(const struct cli_run *r)
{
	return r->srs_engine ? rec_engine_stats(r->srs_engine) : NULL;
}

void cli_srs_status(struct cli_run *r, struct es_json *j)
{
	struct srs_stats st;
	srs_stats(r->srs, &st);
	const struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{"sessions_active", st.sessions_active},
		{"sessions_total", st.sessions_total},
		{"sessions_ended", st.sessions_ended},
		{"rejected_busy", st.rejected_busy},
		{"rejected_forbidden", st.rejected_forbidden},
		{"rejected_bad", st.rejected_bad},
		{"requests", st.requests},
		{"responses_sent", st.responses_sent},
		{"retransmissions_sent", st.retransmissions_sent},
		{"sip_errors", st.sip_errors},
		{"rtp_packets", st.rtp_packets},
		{"rtcp_packets", st.rtcp_packets},
		{"tcp_connections", st.tcp_connections},
		{"tls_connections", st.tls_connections},
		{"tls_failures", st.tls_failures},
	};
	/* what was dropped, by reason (struct srs_drops, field for field) */
	const struct srs_drops *d = &st.drops;
	const struct {
		const char *name;
		uint64_t v;
	} dr[] = {
		{"media_malformed", d->media_malformed},
		{"media_foreign", d->media_foreign},
		{"media_unlatched", d->media_unlatched},
		{"media_srtp_auth", d->media_srtp_auth},
		{"tcp_forbidden", d->tcp_forbidden},
		{"tcp_per_host", d->tcp_per_host},
		{"tcp_limit", d->tcp_limit},
		{"tcp_no_request", d->tcp_no_request},
	};
	es_json_obj_begin(j);
	for (size_t i = 0; i < ES_ARRAY_LEN(f); i++) {
		es_json_key(j, f[i].name);
		es_json_int(j, (int64_t)f[i].v);
	}
	es_json_key(j, "dropped");
	es_json_obj_begin(j);
	for (size_t i = 0; i < ES_ARRAY_LEN(dr); i++) {
		es_json_key(j, dr[i].name);
		es_json_int(j, (int64_t)dr[i].v);
	}
	es_json_obj_end(j);
	es_json_obj_end(j);
}

int cli_srs(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_record_main(ctx, argc, argv, true);
}
