/* fuzz_control.c - libFuzzer harness for the recorder's command files
 * (rec_cmd_parse, the .cmd files of DATA/run/control, written by `earshot serve` or
 * the CLI, possibly as another user of the group) and their answers
 * (rec_ack_parse, read back by the sender).  The input is the file's bytes
 * in an exactly sized heap buffer, so that ASan catches over-reads; a
 * command that parses must format back into the same command.  The same
 * bytes as a queued redaction (rec_redact_job_parse, the .rd files of
 * DATA/ledger/pending/ that a transcription worker leaves for the
 * recorder): one that parses must format back to the same bytes. */
#include "record/record.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct rec_cmd c, back;
	char err[256], msg[256];
	if (rec_cmd_parse(buf, size, &c, err, sizeof(err)) == 0) {
		struct es_buf b = {0};
		if (rec_cmd_format(&c, &b) != 0 ||
		    rec_cmd_parse((const char *)b.p, b.len, &back, err, sizeof(err)) != 0 ||
		    back.verb != c.verb || strcmp(back.call_id, c.call_id) || strcmp(back.by, c.by) ||
		    (c.verb == REC_CMD_CONSENT && (back.party != c.party || back.yes != c.yes)))
			abort(); /* a parsed command must survive a round trip */
		es_buf_free(&b);
		sink += strlen(c.call_id) + strlen(c.by);
	} else {
		sink += strlen(err);
	}
	int status;
	if (rec_ack_parse(buf, size, &status, msg, sizeof(msg)) == 0)
		sink += strlen(msg) + (size_t)(status < 0);
	/* parsing cuts the buffer at its tabs: a fresh copy */
	memcpy(buf, data, size);
	struct rec_redact_job jb;
	if (rec_redact_job_parse(buf, size, &jb) == 0) {
		char line[REC_REDACT_LINE_MAX];
		int n = rec_redact_job_format(&jb, line, sizeof(line));
		if (n < 0 || (size_t)n != size || memcmp(line, data, size))
			abort(); /* a parsed job must format back to its bytes */
		sink += strlen(jb.reason);
	}
	free(buf);
	return 0;
}
