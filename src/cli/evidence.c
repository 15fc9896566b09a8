/*
 * evidence.c - `earshot export ID --evidence -o DIR|FILE.zip`: a bundle that
 * proves itself without the data folder (checked by earshot-verify-evidence;
 * format in src/verify/bundle.h and docs/CLI.md): the plaintext audio, the
 * canonical metadata, the recording's ledger leaf, its inclusion proof
 * against the latest signed tree head, that head, and the ledger's public
 * key.  Everything is checked against the ledger before it is written.
 * The bundle itself is built by record/bundle.c (shared with the REST
 * API's GET /api/calls/{id}/evidence); this file checks the output and
 * reports.
 */
#include "cli/cli.h"
#include "record/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD "earshot export"

/* Whether out can take a bundle: a new or empty folder, or a new .zip. */
static int check_output(const char *out, bool zip, bool *exists)
{
	struct stat st;
	*exists = lstat(out, &st) == 0;
	if (zip && *exists) {
		fprintf(stderr, CMD ": %s exists; an evidence bundle is never written over a file\n",
			out);
		return CLI_ERR;
	}
	if (zip || !*exists)
		return CLI_OK;
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, CMD ": %s exists and is not a folder\n", out);
		return CLI_ERR;
	}
	bool empty = true;
	DIR *d = opendir(out);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	if (d)
		closedir(d);
	if (!d || !empty) {
		fprintf(stderr, CMD ": %s is not an empty folder (give a new or empty folder, or a "
			"FILE.zip)\n", out);
		return CLI_ERR;
	}
	return CLI_OK;
}

static int export_evidence(struct cli_ctx *ctx, const char *arg, const char *out,
			   const struct st_head *trusted, size_t ntrusted);

int cli_export_evidence(struct cli_ctx *ctx, const char *arg, const char *out,
			const char *head_file)
{
	struct st_head *trusted = NULL;
	size_t ntrusted = 0;
	char err[2048];
	if (head_file && st_heads_read(head_file, &trusted, &ntrusted, err, sizeof(err))) {
		fprintf(stderr, CMD ": --head %s\n", err);
		return CLI_USAGE;
	}
	int rc = export_evidence(ctx, arg, out, trusted, ntrusted);
	free(trusted);
	return rc;
}

static int export_evidence(struct cli_ctx *ctx, const char *arg, const char *out,
			   const struct st_head *trusted, size_t ntrusted)
{
	size_t ol = strlen(out);
	bool zip = ol > 4 && !strcasecmp(out + ol - 4, ".zip"), exists;
	int rc = check_output(out, zip, &exists);
	if (rc)
		return rc;
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	bool made = false;
	if (!zip && !exists) {
		if (mkdir(out, 0755)) {
			fprintf(stderr, CMD ": %s: %s\n", out, strerror(errno));
			idx_close(ix);
			return CLI_ERR;
		}
		made = true;
	}
	char err[2048];
	struct rec_evidence_info info;
	int e = rec_evidence_bundle(ctx->data_dir, NULL, ix, cli_call_ref(ix, arg), arg, out, zip,
				    made, trusted, ntrusted, &info, err, sizeof(err));
	idx_close(ix);
	if (e) {
		/* another node's recording: its leaf not yet in the ledger it
		 * publishes (ES_EAGAIN), that copy altered (ES_ECRYPTO), its
		 * bucket out of reach: each said in err, exit 1 */
		fprintf(stderr, CMD ": %s\n", err);
		return e == ES_ENOTFOUND ? CLI_NOTFOUND : CLI_ERR;
	}
	printf("evidence for call %s: recording %s, leaf %" PRIu64 " of %" PRIu64
	       " (signed head), written to %s\n", arg, info.path, info.seq, info.size, out);
	return CLI_OK;
}
