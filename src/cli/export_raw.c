/* export_raw.c - `earshot export --format pcap ID -o FILE`: the call's raw
 * data (its SIP messages and RTP, kept encrypted in the data folder)
 * rebuilt as a pcapng capture (record/pcap_rebuild.c). */
#include "cli/cli.h"
#include "record/record.h"
#include "store/vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int take_row(void *ud, const struct idx_call *c)
{
	*(int64_t *)ud = c->id;
	return 0;
}

int cli_export_pcap(struct cli_ctx *ctx, const char *arg, const char *out)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int64_t row = 0;
	int err = idx_call_get(ix, cli_call_ref(ix, arg), take_row, &row);
	if (err == ES_ENOTFOUND) {
		fprintf(stderr, "earshot export: no call %s in %s\n", arg, ctx->data_dir);
		idx_close(ix);
		return CLI_NOTFOUND;
	}
	if (err) {
		fprintf(stderr, "earshot export: %s\n", idx_errmsg(ix));
		idx_close(ix);
		return CLI_ERR;
	}
	idx_close(ix);
	/* a plain data folder has no keys: its raw data is plain too */
	char msg[1024];
	struct st_vault *v = NULL;
	if (st_vault_open(&v, ctx->data_dir, false, msg, sizeof(msg)))
		v = NULL;
	struct mlog_reader *r = NULL;
	int rc = CLI_OK;
	err = rec_raw_open(ctx->data_dir, v, row, &r, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "earshot export: %s\n", msg);
		rc = err == ES_ENOTFOUND ? CLI_NOTFOUND : CLI_ERR;
		goto out;
	}
	/* written beside the target, then renamed: never half a capture */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", out, (long)getpid());
	FILE *f = fopen(tmp, "wbx");
	if (!f) {
		fprintf(stderr, "earshot export: %s: cannot create it\n", tmp);
		rc = CLI_ERR;
		goto out;
	}
	struct rec_pcap_stats st;
	err = rec_raw_pcap(r, f, &st, msg, sizeof(msg));
	if (fclose(f) && !err)
		err = ES_EIO, snprintf(msg, sizeof(msg), "write failed");
	if (!err && rename(tmp, out))
		err = ES_EIO, snprintf(msg, sizeof(msg), "cannot move it into place");
	if (err) {
		unlink(tmp);
		fprintf(stderr, "earshot export: call %s: %s: %s\n", arg, out, msg);
		rc = CLI_ERR;
		goto out;
	}
	fprintf(stderr, "earshot export: %s: %llu SIP messages, %llu RTP packets rebuilt from the "
		"stored raw data%s\n", out, (unsigned long long)st.sip, (unsigned long long)st.rtp,
		st.skipped ? " (some records could not be packets: see docs/CLI.md)" : "");
out:
	mlog_reader_close(r);
	st_vault_close(v);
	return rc;
}
