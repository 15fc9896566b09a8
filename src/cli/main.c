/* main.c - `earshot <command>`: global options and dispatch. */
#include "cli/backup.h"
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EARSHOT_VERSION "0.1.0"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--data DIR] [--allow-open-data] [-v|-q] <command> [options]\n"
		"\n"
		"earshot records telephone calls: SIP dialogs and their RTP streams,\n"
		"indexed and searchable.\n"
		"\n"
		"Commands:\n"
		"  import FILE...   read pcap/pcapng captures into the index\n"
		"  calls            list and search calls (table, --json, --csv)\n"
		"  show ID          one call: parties, streams, events, SIP messages\n"
		"  export ID -o F   write a call's recording (wav, flac or opus; --mix)\n"
		"  play ID          play a call's recording on this machine's sound device\n"
		"  record -i IFACE  record calls live from network interfaces (until SIGTERM)\n"
		"  srs              SIPREC recording server: SBCs/PBXs send it calls to record\n"
		"  status           what a running `earshot record`/`srs` is doing\n"
		"  verify [ID...]   check recordings against the signed integrity ledger\n"
		"  keys SUBCOMMAND  encryption keys: status, rotate, shred ID\n"
		"  user SUBCOMMAND  users of the web UI/API: add, passwd, role, list, token\n"
		"  team SUBCOMMAND  teams of agents and supervisors, a supervisor's scope\n"
		"  audit            list (--verify: check) the hash-chained audit log\n"
		"  serve            the REST API over HTTP(S) (docs/openapi.yaml)\n"
		"  delete ID        remove a call's recording, with a tombstone in the ledger\n"
		"  retention CMD    retention policies: apply, run, report\n"
		"  redact ID        a span of a recording made silent (or a tone)\n"
		"  textan --words F keywords, sentiment and spoken numbers in a transcript's words\n"
		"  archive CMD      the archive tier (bucket): run, status, probe\n"
		"  hold CMD         legal holds: add, list, show, release\n"
		"  pause ID         pause a call in progress (PCI: nothing is written)\n"
		"  resume ID        resume recording a paused call\n"
		"  subject CMD      data-subject requests for one party: export, erase\n"
		"  backup DEST      a signed, consistent snapshot into a folder or bucket\n"
		"  restore SRC      a backup back into an empty data folder, verified\n"
		"  migrate --to URL this deployment to PostgreSQL (and a bucket), verified\n"
		"  reconcile        every answered call of a window against its recording (signed)\n"
		"  transcribe ID    queue calls for transcription; status, run, show\n"
		"\n"
		"Global options:\n"
		"  --data DIR       data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  --allow-open-data  run even if other users may enter the data folder\n"
		"  -v, --verbose    more log output (repeat for debug)\n"
		"  -q, --quiet      errors only\n"
		"  --version        print the version\n"
		"  -h, --help       this help; `%s COMMAND --help` for a command\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 3 bad input (readable part imported),\n"
		"4 not found, 5 no sound device (play), 6 refused by a legal hold,\n"
		"7 retention: the quota cannot be met without breaking a minimum.\n",
		prog, prog);
}

int cli_data_guard(struct cli_ctx *ctx)
{
	/* Every file the process makes from here on (index, WAL, spool,
	 * recordings, ledger, status) is at most 0640 and every folder 0750,
	 * whatever umask the shell or the service manager gave us; files with
	 * secrets (keys, run/active.tsv) are created 0600 explicitly. */
	static bool masked;
	if (!masked) {
		umask(027);
		masked = true;
	}
	char err[4300];
	int rc = es_dir_private(ctx->data_dir, err, sizeof(err));
	if (rc == ES_ENOTFOUND)
		return 0;
	if (rc == ES_EINVAL && ctx->allow_open_data) {
		ES_LOG_WARNING("data", "%s; running anyway (--allow-open-data)", err);
		return 0;
	}
	if (rc == ES_EINVAL)
		fprintf(stderr,
			"%s: data folder %s: anyone on this machine could read the calls, the "
			"password hashes and the audit log.  Fix it with `chmod 700 %s` (or "
			"`chmod o= %s`), or start with --allow-open-data to run anyway\n",
			ctx->prog, err, ctx->data_dir, ctx->data_dir);
	else if (rc)
		fprintf(stderr, "%s: data folder %s\n", ctx->prog, err);
	return rc;
}

int cli_open_index(struct cli_ctx *ctx, bool create, struct idx **out)
{
	char path[4096], err[512];
	int grc = cli_data_guard(ctx);
	if (grc)
		return grc;
	snprintf(path, sizeof(path), "%s/index.sqlite", ctx->data_dir);
	if (ctx->index)
		snprintf(path, sizeof(path), "%s", ctx->index);
	struct stat st;
	if (!create && !ctx->index && stat(path, &st) != 0) {
		fprintf(stderr, "%s: no index at %s (run `%s import FILE` first, or set --data)\n",
			ctx->prog, path, ctx->prog);
		return ES_ENOTFOUND;
	}
	if (create && es_mkdirs(ctx->data_dir, true)) {
		fprintf(stderr, "%s: cannot create data folder %s: %s\n", ctx->prog,
			ctx->data_dir, strerror(errno));
		return ES_EIO;
	}
	int rc = idx_open(out, path, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s\n", ctx->prog, err);
		return rc;
	}
	/* the transcripts' search key, unwrapped when first needed */
	ctx->trkey = (struct rec_tr_keysrc){.data_dir = ctx->data_dir};
	idx_set_search_key_fn(*out, rec_tr_search_key, &ctx->trkey);
	/* the node new calls are written with (IDX_MIG_NODES) */
	char node[IDX_NODE_MAX];
	if ((rc = cli_node_name(ctx, node, sizeof(node))) || (rc = idx_set_node(*out, node))) {
		idx_close(*out);
		*out = NULL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {.prog = "earshot"};
	const char *env = getenv("EARSHOT_DATA");
	ctx.data_dir = env && *env ? env : "./earshot-data";
	ctx.data_explicit = env && *env;
	/* A PostgreSQL index (docs/CONFIG.md): the environment wins over
	 * the configuration file's [earshot] index. */
	if ((env = getenv("EARSHOT_INDEX")) && *env) {
		ctx.index = env;
		ctx.index_explicit = true;
	}
	if ((env = getenv("EARSHOT_NODE")) && *env) {
		ctx.node = env;
		ctx.node_explicit = true;
	}
	int verbosity = ES_LOG_WARN;

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, ctx.prog);
			return CLI_OK;
		} else if (!strcmp(a, "--version")) {
			printf("earshot %s\n", EARSHOT_VERSION);
			return CLI_OK;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbosity++;
			ctx.verbosity_explicit = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			verbosity = ES_LOG_ERROR;
			ctx.verbosity_explicit = true;
		} else if (!strcmp(a, "--allow-open-data")) {
			ctx.allow_open_data = true;
		} else if (!strcmp(a, "--data") && i + 1 < argc) {
			ctx.data_dir = argv[++i];
			ctx.data_explicit = true;
		} else if (!strncmp(a, "--data=", 7)) {
			ctx.data_dir = a + 7;
			ctx.data_explicit = true;
		} else {
			fprintf(stderr, "%s: unknown option %s\n", ctx.prog, a);
			usage(stderr, ctx.prog);
			return CLI_USAGE;
		}
	}
	es_log_set_level(verbosity > ES_LOG_DEBUG ? ES_LOG_DEBUG : (enum es_log_level)verbosity);
	if (i >= argc) {
		usage(stderr, ctx.prog);
		return CLI_USAGE;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	optind = 1;
	if (!strcmp(cmd, "import"))
		return cli_import(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "calls"))
		return cli_calls(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "show"))
		return cli_show(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "export"))
		return cli_export(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "play"))
		return cli_play(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "record"))
		return cli_record(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "srs"))
		return cli_srs(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "status"))
		return cli_status(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "verify"))
		return cli_verify(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "keys"))
		return cli_keys(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "user"))
		return cli_user(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "audit"))
		return cli_audit(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "team"))
		return cli_team(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "serve"))
		return cli_serve(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "delete"))
		return cli_delete(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "hold"))
		return cli_hold(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "pause"))
		return cli_pause(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "resume"))
		return cli_resume(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "retention"))
		return cli_retention(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "redact"))
		return cli_redact(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "textan"))
		return cli_textan(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "archive"))
		return cli_archive_cmd(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "subject"))
		return cli_subject(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "backup"))
		return cli_backup(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "restore"))
		return cli_restore(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "migrate"))
		return cli_migrate(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "reconcile"))
		return cli_reconcile(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "transcribe"))
		return cli_transcribe(&ctx, sub_argc, sub_argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout, ctx.prog);
		return CLI_OK;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", ctx.prog, cmd);
	usage(stderr, ctx.prog);
	return CLI_USAGE;
}
