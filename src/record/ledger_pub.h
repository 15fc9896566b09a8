/*
 * ledger_pub.h - a recorder's ledger published to its bucket, and read
 * back by other nodes (issue #16), so that any web node builds the same
 * evidence bundle the recorder would.
 *
 * What the bucket gets, under the recorder's prefix (store/blob.h keys):
 *   ledger/ledger.pub             the ledger's public key file, as is
 *   ledger/entries/<n, 12 digits> whole lines of entries.log from leaf n on
 *   ledger/heads/<n, 12 digits>   whole lines of heads.log from head n on
 * Segments are append-only copies of the recorder's own lines (never the
 * signing key): a reader that holds leaves [0, n) asks for entries/<n>
 * next, so it needs no listing.  Only leaves under a signed head are
 * published, and leaves before the heads that cover them.  What was
 * published is kept in DATA/ledger/published.txt; when that file is lost
 * or behind, the segments already in the bucket are read back and compared
 * byte for byte with the folder's before anything new is put.
 *
 * A reader keeps the copy in DATA/nodes/<node>/ledger (entries.log,
 * heads.log, ledger.pub: a ledger folder st_ledger_open reads), fetches
 * what is new, and checks it before use against the head the node
 * published in the shared index (cli/nodes.c): that head's signature with
 * the copy's key, the copy's newest head's signature and root over its
 * leaves, and, when the copy reaches the index's head, consistency from it.
 */
#ifndef ES_RECORD_LEDGER_PUB_H
#define ES_RECORD_LEDGER_PUB_H

#include "core/core.h"
#include "index/index.h"
#include "store/ledger.h"

#define REC_LEDGER_PUB_SEG_MAX 65536 /* lines per segment object */
#define REC_LEDGER_PUB_RETRY_S "60"  /* Retry-After for a leaf not yet published */

struct rec_ledger_pub_counts {
	uint64_t leaves;  /* new leaves published by this call */
	uint64_t heads;   /* new signed heads */
	uint64_t objects; /* objects put */
	uint64_t bytes;   /* their bytes */
	uint64_t size;    /* leaves published in all */
	bool has_head;    /* head: the newest head in the bucket (all calls) */
	struct st_head head;
};

/* Publish what the data folder's ledger signed since the last call to its
 * bucket (DATA/keys/blobs.conf).  0 with nothing done when there is no
 * bucket; ES_EFORMAT when the bucket holds a published ledger that is not
 * this folder's (a restored or replaced folder: said in err, nothing put).
 * Safe beside the ledger's writer (reads whole lines only) and beside
 * another publisher (a lock on published.txt). */
int rec_ledger_publish(const char *data_dir, struct rec_ledger_pub_counts *n, char *err,
		       size_t errlen);

/* Node's published ledger, fetched into DATA/nodes/<node>/ledger (dir, of
 * cap bytes) and checked against node's head in the shared index (*ixhead;
 * *trusted: the copy reaches it, so a bundle can carry a proof from it).
 * ES_EEXIST: the data folder's own ledger is node's (a recorder's own
 * archived recording), or node published no head and the folder has a
 * ledger: use that.  ES_EAGAIN: nothing published yet; ES_ECRYPTO: the published copy is not
 * what node signed (altered, or another key), refused after one fresh
 * fetch, the copy removed; ES_EUNSUP: the bucket cannot be read (why in
 * err). */
int rec_ledger_fetch_node(const char *data_dir, struct idx *ix, const char *node, char *dir,
			  size_t cap, struct st_head *ixhead, bool *trusted, char *err,
			  size_t errlen);

#endif /* ES_RECORD_LEDGER_PUB_H */
