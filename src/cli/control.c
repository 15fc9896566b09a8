/* control.c - `earshot pause|resume ID`: a command to the running recorder
 * of the data folder (record/control.c), and its answer. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CONTROL_WAIT_MS 5000

static int usage(const char *verb, FILE *f)
{
	fprintf(f,
		"Usage: earshot %s [--data DIR] CALL-ID\n\n"
		"%s the call in progress CALL-ID (as `earshot status` and /api/active\n"
		"show it) in the `earshot record` or `earshot srs` running with DIR.\n"
		"While a call is paused none of its media is written, not even to the\n"
		"spool; the recording has silence over the span and the call a\n"
		"\"%s\" event by \"cli\".\n\n"
		"Exit codes: 0 done, 1 no recorder answered or the call is already\n"
		"%s, 2 usage, 4 no such call in progress.\n",
		verb, !strcmp(verb, "pause") ? "Pause" : "Resume the recording of", verb,
		!strcmp(verb, "pause") ? "paused" : "recording");
	return f == stdout ? CLI_OK : CLI_USAGE;
}

static int control_main(struct cli_ctx *ctx, int argc, char **argv, enum rec_cmd_verb verb)
{
	const char *name = rec_cmd_verb_name(verb);
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ctx->data_dir = optarg; break;
		case 'h': return usage(name, stdout);
		default: return usage(name, stderr);
		}
	}
	if (optind + 1 != argc)
		return usage(name, stderr);
	struct rec_cmd cmd = {.verb = verb};
	if (snprintf(cmd.call_id, sizeof(cmd.call_id), "%s", argv[optind]) >=
	    (int)sizeof(cmd.call_id)) {
		fprintf(stderr, "earshot %s: a call id is at most %zu bytes\n", name,
			sizeof(cmd.call_id) - 1);
		return CLI_USAGE;
	}
	snprintf(cmd.by, sizeof(cmd.by), "cli");
	char id[REC_CMD_ID_MAX + 1], err[512], msg[256];
	int rc = rec_control_send(ctx->data_dir, &cmd, id, sizeof(id), err, sizeof(err));
	if (rc == ES_EINVAL) {
		fprintf(stderr, "earshot %s: %s\n", name, err);
		return CLI_USAGE;
	}
	if (rc) {
		fprintf(stderr, "earshot %s: %s\n", name, err);
		return CLI_ERR;
	}
	int status = 0;
	rc = rec_control_wait(ctx->data_dir, id, CONTROL_WAIT_MS, &status, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "earshot %s: %s (is `earshot record` or `srs` running with %s?)\n",
			name, rc == ES_EAGAIN ? msg : "the answer was unreadable", ctx->data_dir);
		return CLI_ERR;
	}
	if (status) {
		fprintf(stderr, "earshot %s: %s: %s\n", name, cmd.call_id, msg);
		return status == ES_ENOTFOUND ? CLI_NOTFOUND
		       : status == ES_EPARSE  ? CLI_USAGE
					      : CLI_ERR;
	}
	printf("%s: %s\n", cmd.call_id, msg);
	return CLI_OK;
}

int cli_pause(struct cli_ctx *ctx, int argc, char **argv)
{
	return control_main(ctx, argc, argv, REC_CMD_PAUSE);
}

int cli_resume(struct cli_ctx *ctx, int argc, char **argv)
{
	return control_main(ctx, argc, argv, REC_CMD_RESUME);
}
