/* serve.c - `earshot serve`: the REST API and the web UI over HTTP(S) until
 * SIGTERM/SIGINT.  The server's settings ([api], the web folder, the
 * rules' JSON) are web.c's, shared with `record --api`. */
#include "api/server.h"
#include "cli/cli.h"
#include "core/config.h"
#include "policy/policy.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_CMD "earshot serve"

static void serve_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot serve [options]\n"
		"\n"
		"Serve the web UI and the REST API (docs/openapi.yaml) of the data folder\n"
		"until SIGTERM or SIGINT: search and view calls, stream recordings with\n"
		"HTTP Range (decrypted on the fly), verify a call, export evidence, the\n"
		"calls in progress of a running recorder, the audit log, user\n"
		"administration.  Users log in with the accounts of `earshot user`;\n"
		"every access is audited.  `earshot record --api` runs the same server\n"
		"inside the recorder.\n"
		"\n"
		"Options (each overrides [api] of the configuration file):\n"
		"  --listen ADDR:PORT  address to listen on (default 127.0.0.1:%d;\n"
		"                      IPv6 as [::1]:8080)\n"
		"  --tls-cert FILE     PEM certificate (chain): serve HTTPS\n"
		"  --tls-key FILE      PEM private key of the certificate\n"
		"  --threads N         worker threads, 1..%d (default %d)\n"
		"  --data DIR          data folder (default from the configuration, else\n"
		"                      $EARSHOT_DATA or ./earshot-data)\n"
		"  -c, --config FILE   earshot.conf: its [api] section, and the recording\n"
		"                      rules the admin view shows read-only (GET\n"
		"                      /api/rules); without it no rules are shown\n"
		"  --web DIR           the web UI's folder (index.html, app.js, ...;\n"
		"                      default: web/ of the source tree beside the\n"
		"                      executable, BIN/../web; --web '' serves the API only)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 stopped by a signal, 1 error (index, keys, address in use),\n"
		"2 usage or a bad configuration file (also: TLS asked for but this\n"
		"libmicrohttpd lacks it).\n",
		CLI_WEB_DEFAULT_PORT, API_SRV_THREADS_MAX, CLI_WEB_DEFAULT_THREADS);
}

/* The configuration file: [earshot] data, [api], and the rules as JSON into
 * *rules_json.  false: the message is printed. */
static bool load_config(struct cli_ctx *ctx, const char *path, struct cli_web_settings *w,
			char **rules_json)
{
	struct es_conf conf = {0};
	struct pol_rules *rules = NULL;
	char err[1024];
	bool ok = false;
	const struct es_conf_entry *e;
	if (es_conf_load(&conf, path, err, sizeof(err)) ||
	    cli_web_apply_config(w, &conf, err, sizeof(err)) ||
	    pol_rules_from_conf(&rules, &conf, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", SERVE_CMD, err);
		goto out;
	}
	if (!ctx->data_explicit && (e = es_conf_find(&conf, "earshot", "data")) &&
	    !(ctx->data_dir = strdup(e->value))) {
		fprintf(stderr, "%s: out of memory\n", SERVE_CMD);
		goto out;
	}
	if (!ctx->index_explicit && (e = es_conf_find(&conf, "earshot", "index")) &&
	    !(ctx->index = strdup(e->value))) {
		fprintf(stderr, "%s: out of memory\n", SERVE_CMD);
		goto out;
	}
	if (cli_rules_json(rules, rules_json)) {
		fprintf(stderr, "%s: out of memory\n", SERVE_CMD);
		goto out;
	}
	ok = true;
out:
	pol_rules_free(rules);
	es_conf_free(&conf);
	return ok;
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
	const char *listen = NULL, *tls_cert = NULL, *tls_key = NULL, *web = NULL, *config = NULL;
	unsigned threads = 0;
	int c;
	uint32_t n;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'C': tls_cert = optarg; break;
		case 'c': config = optarg; break;
		case 'k': tls_key = optarg; break;
		case 't':
			if (sl_to_u32(sl_cstr(optarg), &n) || !n || n > API_SRV_THREADS_MAX) {
				fprintf(stderr, "%s: --threads: 1..%d, not '%s'\n", SERVE_CMD,
					API_SRV_THREADS_MAX, optarg);
				return CLI_USAGE;
			}
			threads = n;
			break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'w': web = optarg; break;
		case 'h': serve_usage(stdout); return CLI_OK;
		default: serve_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", SERVE_CMD, argv[optind]);
		return CLI_USAGE;
	}
	struct cli_web_settings w;
	cli_web_defaults(&w);
	char *rules_json = NULL;
	if (config && !load_config(ctx, config, &w, &rules_json))
		return CLI_USAGE;
	int rc = CLI_USAGE;
	if (listen && cli_parse_listen(listen, w.host, sizeof(w.host), &w.port)) {
		fprintf(stderr, "%s: --listen: expected ADDR:PORT, not '%s'\n", SERVE_CMD, listen);
		goto out;
	}
	if (threads)
		w.threads = threads;
	if ((tls_cert && strlen(tls_cert) >= sizeof(w.tls_cert)) ||
	    (tls_key && strlen(tls_key) >= sizeof(w.tls_key)) ||
	    (web && strlen(web) >= sizeof(w.web))) {
		fprintf(stderr, "%s: a path longer than %zu bytes\n", SERVE_CMD, sizeof(w.web) - 1);
		goto out;
	}
	if (tls_cert)
		snprintf(w.tls_cert, sizeof(w.tls_cert), "%s", tls_cert);
	if (tls_key)
		snprintf(w.tls_key, sizeof(w.tls_key), "%s", tls_key);
	if (web) {
		snprintf(w.web, sizeof(w.web), "%s", web);
		w.web_set = true;
	}

	/* Block the stop signals before the server's threads start, so that
	 * they inherit the mask and only sigwait below sees the signals. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct api_server *srv;
	if ((rc = cli_web_start(ctx, &w, rules_json, SERVE_CMD, &srv)))
		goto out;
	/* [transcription] configured: its worker runs here too */
	struct cli_tr_bg *tr = NULL;
	if ((rc = cli_tr_bg_start(ctx, config, &tr))) {
		api_server_stop(srv);
		goto out;
	}
	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "%s: %s, stopping\n", SERVE_CMD, sig == SIGINT ? "SIGINT" : "SIGTERM");
	cli_tr_bg_stop(tr);
	api_server_stop(srv);
	rc = CLI_OK;
out:
	free(rules_json);
	return rc;
}
