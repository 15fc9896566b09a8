/* es_mlog_dump.c - print a media log's RTP frames through the project's own
 * reader (media/mlog), for tests that must check what reached the spool
 * frame by frame (PCI pause: no frame inside a paused span), whatever the
 * file's encoding on disk.
 *
 *   es_mlog_dump FILE [DATA]
 *   (DATA: the data folder whose key ring opens an encrypted log)
 *   -> one line per record: "rtp TS_US PARTY PT SEQ LEN HEX" (HEX: the
 *      payload's first 8 bytes) or "stream N PARTY"
 *   exit 0, or 1 with the reader's error on stderr. */
#include "media/media.h"
#include "record/record.h"
#include "store/vault.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: es_mlog_dump FILE [DATA]\n");
		return 2;
	}
	char err[512];
	struct st_vault *v = NULL;
	struct mlog_keys keys = {0};
	if (argc == 3) {
		if (st_vault_open(&v, argv[2], false, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		rec_spool_keys(&keys, v);
	}
	struct mlog_reader *r;
	if (mlog_open_keyed(&r, argv[1], v ? &keys : NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		st_vault_close(v);
		return 1;
	}
	int party[256] = {0};
	struct mlog_rec rec;
	int rc;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1) {
		if (rec.type == MLOG_REC_STREAM && rec.stream < 256) {
			party[rec.stream] = (int)rec.party;
			printf("stream %u %d\n", rec.stream, (int)rec.party);
		} else if (rec.type == MLOG_REC_RTP) {
			printf("rtp %lld %d %u %u %zu ", (long long)rec.ts_us,
			       rec.stream < 256 ? party[rec.stream] : -1, rec.pt, rec.seq, rec.len);
			for (size_t i = 0; i < rec.len && i < 8; i++)
				printf("%02x", rec.payload[i]);
			printf("%s\n", rec.len ? "" : "-");
		}
	}
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	mlog_reader_close(r);
	st_vault_close(v);
	return rc < 0 ? 1 : 0;
}
