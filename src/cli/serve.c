/* serve.c - `earshot serve`: the REST API over HTTP(S) until SIGTERM/SIGINT. */
#include "api/server.h"
#include "cli/cli.h"
#include "core/config.h"
#include "policy/policy.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVE_CMD "earshot serve"
#define SERVE_DEFAULT_PORT 8080
#define SERVE_DEFAULT_THREADS 4

static void serve_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot serve [options]\n"
		"\n"
		"Serve the REST API (docs/openapi.yaml) of the data folder until SIGTERM or\n"
		"SIGINT: search and view calls, stream recordings with HTTP Range\n"
		"(decrypted on the fly), verify a call, read the audit log.  Users log in\n"
		"with the accounts of `earshot user`; every access is audited.\n"
		"\n"
		"Options:\n"
		"  --listen ADDR:PORT  address to listen on (default 127.0.0.1:%d;\n"
		"                      IPv6 as [::1]:8080)\n"
		"  --tls-cert FILE     PEM certificate (chain): serve HTTPS\n"
		"  --tls-key FILE      PEM private key of the certificate\n"
		"  --threads N         worker threads, 1..%d (default %d)\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -c, --config FILE   the configuration whose recording rules ([recording],\n"
		"                      [networks], [do-not-record], [rule NAME]) the\n"
		"                      admin view shows read-only (GET /api/rules); without\n"
		"                      it the API says no rules are configured\n"
		"  --web DIR           the web UI's folder (index.html, app.js, app.css;\n"
		"                      default: web/ of the source tree beside the\n"
		"                      executable, BIN/../web; --web '' serves the API only)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 stopped by a signal, 1 error (index, keys, address in use),\n"
		"2 usage (also: TLS asked for but this libmicrohttpd lacks it).\n",
		SERVE_DEFAULT_PORT, API_SRV_THREADS_MAX, SERVE_DEFAULT_THREADS);
}

/* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80" into host (a copy) and port. */
static int parse_listen(const char *v, char *host, size_t cap, uint16_t *port)
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

/* DIR/index.html is a regular file. */
static bool web_dir_ok(const char *dir)
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
		char cand[4200];
		if ((size_t)snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]) >= sizeof(cand))
			continue;
		if (web_dir_ok(cand) && realpath(cand, out) && strlen(out) < cap)
			return true;
	}
	return false;
}

/* Load path's recording rules and describe them as JSON (pol_rules_json)
 * into *out (malloc'd).  false: the message is printed. */
static bool rules_json_load(const char *path, char **out)
{
	struct es_conf conf = {0};
	struct pol_rules *rules = NULL;
	char err[1024];
	size_t len = 0;
	*out = NULL;
	if (es_conf_load(&conf, path, err, sizeof(err)) ||
	    pol_rules_from_conf(&rules, &conf, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", SERVE_CMD, err);
		es_conf_free(&conf);
		return false;
	}
	FILE *f = open_memstream(out, &len);
	int rc = ES_ENOMEM;
	if (f) {
		struct es_json j;
		es_json_init(&j, f, false);
		rc = pol_rules_json(rules, &j);
		es_json_end(&j);
	}
	if (!f || fclose(f) || rc) {
		fprintf(stderr, "%s: out of memory\n", SERVE_CMD);
		free(*out);
		*out = NULL;
	}
	pol_rules_free(rules);
	es_conf_free(&conf);
	return *out != NULL;
}

int cli_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"config", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"threads", required_argument, NULL, 't'},
		{"data", required_argument, NULL, 'd'},
		{"web", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	char host[64] = "127.0.0.1";
	char web[PATH_MAX] = "";
	const char *web_opt = NULL, *config = NULL;
	struct api_server_config cfg = {
		.host = host, .port = SERVE_DEFAULT_PORT, .threads = SERVE_DEFAULT_THREADS};
	int c;
	uint32_t n;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_listen(optarg, host, sizeof(host), &cfg.port)) {
				fprintf(stderr, "%s: --listen: expected ADDR:PORT, not '%s'\n",
					SERVE_CMD, optarg);
				return CLI_USAGE;
			}
			break;
		case 'C': cfg.tls_cert = optarg; break;
		case 'c': config = optarg; break;
		case 'k': cfg.tls_key = optarg; break;
		case 't':
			if (sl_to_u32(sl_cstr(optarg), &n) || !n || n > API_SRV_THREADS_MAX) {
				fprintf(stderr, "%s: --threads: 1..%d, not '%s'\n", SERVE_CMD,
					API_SRV_THREADS_MAX, optarg);
				return CLI_USAGE;
			}
			cfg.threads = n;
			break;
		case 'd': ctx->data_dir = optarg; break;
		case 'w': web_opt = optarg; break;
		case 'h': serve_usage(stdout); return CLI_OK;
		default: serve_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", SERVE_CMD, argv[optind]);
		return CLI_USAGE;
	}
	if (!cfg.tls_cert != !cfg.tls_key) {
		fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", SERVE_CMD);
		return CLI_USAGE;
	}
	if (cfg.tls_cert && !api_server_has_tls()) {
		fprintf(stderr, "%s: this libmicrohttpd was built without TLS: HTTPS is not "
				"available (serve plain HTTP behind a TLS proxy, or rebuild "
				"libmicrohttpd with GnuTLS)\n",
			SERVE_CMD);
		return CLI_USAGE;
	}
	cfg.data_dir = ctx->data_dir;
	if (web_opt && *web_opt && !web_dir_ok(web_opt)) {
		fprintf(stderr, "%s: --web: no index.html in '%s'\n", SERVE_CMD, web_opt);
		return CLI_USAGE;
	}
	if (web_opt)
		cfg.web_dir = *web_opt ? web_opt : NULL;
	else if (web_dir_default(web, sizeof(web)))
		cfg.web_dir = web;
	char *rules_json = NULL;
	if (config && !rules_json_load(config, &rules_json))
		return CLI_USAGE;
	cfg.rules_json = rules_json;

	/* Block the stop signals before the server's threads start, so that
	 * they inherit the mask and only sigwait below sees the signals. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct api_server *srv;
	char err[512] = "";
	int rc = api_server_start(&srv, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s\n", SERVE_CMD, *err ? err : es_strerror(rc));
		free(rules_json);
		return rc == ES_EUNSUP ? CLI_USAGE : CLI_ERR;
	}
	bool v6 = strchr(host, ':') != NULL;
	printf("%s: listening on %s://%s%s%s:%u (%u threads, data %s, web UI %s)\n", SERVE_CMD,
	       cfg.tls_cert ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
	       (unsigned)api_server_port(srv), cfg.threads, ctx->data_dir,
	       cfg.web_dir ? cfg.web_dir : "off");
	fflush(stdout);
	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "%s: %s, stopping\n", SERVE_CMD, sig == SIGINT ? "SIGINT" : "SIGTERM");
	api_server_stop(srv);
	free(rules_json);
	return CLI_OK;
}
