/* archive.c - the evidence parts of a data folder for the commands that
 * store recordings: the vault (encryption at rest) and the ledger. */
#include "cli/cli.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <stdio.h>

int cli_archive_open(struct cli_ctx *ctx, struct idx *ix, bool encrypt, struct cli_archive *a,
		     const char *cmd)
{
	char err[1024];
	a->vault = NULL;
	a->ledger = NULL;
	if (encrypt && st_vault_open(&a->vault, ctx->data_dir, true, err, sizeof(err))) {
		fprintf(stderr, "%s: encryption keys: %s\n", cmd, err);
		return CLI_ERR;
	}
	if (rec_ledger_open(ctx->data_dir, ix, true, &a->ledger, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s: integrity ledger: %s\n", cmd, err);
		st_vault_close(a->vault);
		a->vault = NULL;
		return CLI_ERR;
	}
	return CLI_OK;
}

int cli_archive_commit(struct cli_archive *a)
{
	int rc = a->ledger ? st_ledger_commit(a->ledger) : 0;
	if (rc)
		ES_LOG_ERR("ledger", "cannot commit the integrity ledger: %s", es_strerror(rc));
	return rc;
}

void cli_archive_close(struct cli_archive *a)
{
	st_ledger_close(a->ledger);
	st_vault_close(a->vault);
	a->ledger = NULL;
	a->vault = NULL;
}
