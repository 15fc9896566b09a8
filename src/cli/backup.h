/* backup.h - `earshot backup` (backup.c) and `earshot restore`
 * (restore.c): a signed snapshot of an embedded deployment and its way
 * back (docs/OPERATIONS.md). */
#ifndef ES_CLI_BACKUP_H
#define ES_CLI_BACKUP_H

#include "cli/cli.h"

int cli_backup(struct cli_ctx *ctx, int argc, char **argv);
int cli_restore(struct cli_ctx *ctx, int argc, char **argv);
int cli_migrate(struct cli_ctx *ctx, int argc, char **argv); /* migrate.c */
/* Open where a backup goes or comes from: a folder (created when create),
 * or s3://BUCKET/PREFIX with the [s3] settings of config (which may also
 * set the data folder, and [ledger] signing_key into key_path when it is
 * not NULL); b NULL: only the configuration is read.  CLI_OK, or the
 * exit code said on stderr with cmd. */
int cli_backup_store_open(struct cli_ctx *ctx, const char *where, const char *config,
			  bool create, struct st_blob *b, char *key_path, size_t kcap,
			  const char *cmd);

#endif /* ES_CLI_BACKUP_H */
