/* tier_words.c - archived recordings' words files in the bucket (issue
 * #16): the backfill for recordings archived before their words went with
 * them, and the bucket copies a redaction leaves behind.  rec_tier_move
 * (tier.c) puts the words files of each recording it moves; these keep the
 * bucket's copies the same as the data folder's afterwards. */
#include "record/record_internal.h"
#include "store/blob.h"
#include "store/crypt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "tier"

struct words_walk {
	const char *data_dir;
	struct st_blob *b;
	size_t max;
	struct rec_words_counts *n;
	int rc;
	char *err;
	size_t errlen;
};

/* Whether key in the bucket already holds exactly local's bytes (sha). */
static int same_object(struct words_walk *w, const char *key, const char *local,
		       const char *sha)
{
	struct stat st;
	uint64_t size = 0;
	char tmp[4400], why[512];
	int rc = w->b->ops->size(w->b->state, key, &size, why, sizeof(why));
	if (rc == ES_ENOTFOUND)
		return 0;
	if (rc)
		return es_errf(w->err, w->errlen, rc, "%s", why);
	if (stat(local, &st) || (uint64_t)st.st_size != size)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/cache/.words-%d", w->data_dir, (int)getpid());
	if (es_mkdirs(tmp, false))
		return es_errf(w->err, w->errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	rc = w->b->ops->get_file(w->b->state, key, tmp, sha, why, sizeof(why));
	unlink(tmp);
	if (rc == ES_ECRYPTO)
		return 0; /* the same size, other bytes: a stale copy */
	if (rc)
		return es_errf(w->err, w->errlen, rc, "%s", why);
	return 1;
}

static int words_one(void *ud, const struct idx_ret_rec *r)
{
	struct words_walk *w = ud;
	char rec[4400];
	struct stat st;
	if (w->max && w->n->put >= w->max)
		return 1;
	snprintf(rec, sizeof(rec), "%s/%s", w->data_dir, r->path);
	if (!stat(rec, &st))
		return 0; /* still local: its words go with it when it moves */
	for (int ch = 0; ch < 2; ch++) {
		char local[4400], key[4400], sha[65];
		if (rec_transcript_path(w->data_dir, r->path, ch, local, sizeof(local)) ||
		    access(local, F_OK))
			continue; /* not transcribed, or another node's */
		snprintf(key, sizeof(key), "%s", local + strlen(w->data_dir) + 1);
		int rc = st_sha256_file(local, NULL, sha);
		if (rc) {
			w->rc = es_errf(w->err, w->errlen, rc, "%s: cannot be read", local);
			return 1;
		}
		w->n->checked++;
		if ((rc = same_object(w, key, local, sha)) > 0)
			continue;
		struct st_blob_put_info info;
		if (!rc)
			rc = w->b->ops->put_file(w->b->state, key, local, sha, &info, w->err,
						 w->errlen);
		if (rc) {
			w->rc = rc;
			return 1; /* the bucket fails: the rest waits for the next run */
		}
		w->n->put++;
	}
	return 0;
}

int rec_tier_words_backfill(const char *data_dir, struct idx *ix, size_t max,
			    struct rec_words_counts *n, char *err, size_t errlen)
{
	memset(n, 0, sizeof(*n));
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc)
		return rc;
	struct words_walk w = {.data_dir = data_dir, .b = &b, .max = max, .n = n, .err = err,
			       .errlen = errlen};
	rc = idx_retention_list(ix, IDX_RET_ALL, 0, words_one, &w);
	if (rc < 0 && !w.rc)
		w.rc = es_errf(err, errlen, rc, "%s", idx_errmsg(ix));
	st_blob_close(&b);
	return w.rc;
}

int rec_tier_drop_words(const char *data_dir, const char *rec_path, char *err, size_t errlen)
{
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc == ES_ENOTFOUND)
		return 0; /* no bucket: nothing there */
	if (rc)
		return rc;
	for (int ch = 0; ch < 2 && !rc; ch++) {
		char local[4400];
		if (rec_transcript_path(data_dir, rec_path, ch, local, sizeof(local)))
			continue;
		rc = b.ops->remove(b.state, local + strlen(data_dir) + 1, err, errlen);
		if (rc == ES_ENOTFOUND)
			rc = 0;
	}
	st_blob_close(&b);
	return rc;
}
