/* cli.h - the earshot command line: wiring only. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include "core/core.h"
#include "index/index.h"

/* Exit codes (docs/CLI.md). */
enum {
	CLI_OK = 0,
	CLI_ERR = 1,      /* could not do the job: index, I/O, memory */
	CLI_USAGE = 2,    /* bad command line */
	CLI_INPUT = 3,    /* some input was unreadable, truncated or corrupt;
			     everything readable was imported */
	CLI_NOTFOUND = 4, /* no such call, or it has no recording */
	CLI_UNAVAILABLE = 5, /* no sound device (play) */
};

struct cli_ctx {
	const char *data_dir;
	bool data_explicit;       /* --data or $EARSHOT_DATA given */
	bool verbosity_explicit;  /* -v or -q given */
	const char *prog;
};

int cli_import(struct cli_ctx *ctx, int argc, char **argv);
int cli_calls(struct cli_ctx *ctx, int argc, char **argv);
int cli_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_export(struct cli_ctx *ctx, int argc, char **argv);
int cli_play(struct cli_ctx *ctx, int argc, char **argv);
int cli_record(struct cli_ctx *ctx, int argc, char **argv);
int cli_status(struct cli_ctx *ctx, int argc, char **argv);

/* The row id a call argument names: a number is an id, anything else a
 * Call-ID (the first call with it); 0 when there is none. */
int64_t cli_call_ref(struct idx *ix, const char *arg);

/* Open DATA/index.sqlite; create the folder when create is true. */
int cli_open_index(struct cli_ctx *ctx, bool create, struct idx **out);
/* JSON of one call (the stable interface of docs/CLI.md). */
void cli_call_json(struct es_json *j, const struct idx_call *c, bool detail);

#endif
