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

/* ---- backup_cut.c: the ledger cut that matches an index snapshot ---------- */
struct bk_cut_rows {
	bool (*is_row)(void *ud, const char *path);   /* a row of the snapshot names it */
	bool (*is_known)(void *ud, const char *path); /* a row or a kept original */
	size_t nrows;                                 /* distinct paths of is_row */
	void *ud;
};
struct bk_cut {
	uint64_t size;      /* leaves kept */
	size_t entries_len; /* bytes of entries.log kept */
	size_t heads_len;   /* bytes of heads.log kept: up to the head of size */
};
/* The newest signed head of the whole lines in entries and heads at which
 * the ledger and the snapshot's rows agree (backup_cut.c says how), leaving
 * out only leaves younger than now_us - window_us.  ES_ENOTFOUND: none. */
int bk_cut_find(const struct es_buf *entries, const struct es_buf *heads,
		const struct bk_cut_rows *rows, int64_t now_us, int64_t window_us,
		struct bk_cut *out);
/* The tree size of one heads.log line (without its newline, through
 * st_head_parse); 0 when it is not a tree head. */
uint64_t bk_head_size(const uint8_t *line, size_t len);

#endif /* ES_CLI_BACKUP_H */
