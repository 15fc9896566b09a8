/*
 * ledger_pub.c - a recorder's ledger in its bucket, and another node's
 * read back and checked (record/ledger_pub.h, issue #16).  The evidence a
 * web node builds from it is the recorder's: the same leaves, the same
 * signed heads, the same public key; the web node adds nothing it could
 * forge, and refuses a copy its checks do not hold for.
 */
#include "record/ledger_pub.h"
#include "record/record_internal.h"
#include "store/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "ledgerpub"
#define PUB_STATE "published.txt"
#define PUB_MAGIC "earshot-ledger-published-v1"
#define FETCH_STATE "fetched.txt"
#define KEY_PUB "ledger/ledger.pub"

static const char *const kind_name[2] = {"entries", "heads"};
static const char *const kind_file[2] = {"entries.log", "heads.log"};

static void seg_key(int kind, uint64_t first, char *out, size_t cap)
{
	snprintf(out, cap, "ledger/%s/%012" PRIu64, kind_name[kind], first);
}

/* Up to max whole lines of path from byte off, appended to b; *lines their
 * count.  A last line without its newline (being written) is left out. */
static int read_lines(const char *path, uint64_t off, uint64_t max, struct es_buf *b,
		      uint64_t *lines)
{
	enum { CHUNK = 256 * 1024 };
	*lines = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : ES_EIO;
	size_t whole = b->len, base = b->len;
	int rc = 0;
	while (*lines < max) {
		if (es_buf_reserve(b, CHUNK)) {
			rc = ES_ENOMEM;
			break;
		}
		ssize_t k = pread(fd, b->p + b->len, CHUNK, (off_t)(off + (b->len - base)));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = ES_EIO;
			break;
		}
		if (!k)
			break;
		size_t from = b->len;
		b->len += (size_t)k;
		for (size_t i = from; i < b->len && *lines < max; i++)
			if (b->p[i] == '\n') {
				++*lines;
				whole = i + 1;
			}
	}
	b->len = whole;
	close(fd);
	return rc;
}

static uint64_t count_lines(const uint8_t *p, size_t n)
{
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* ---- the recorder: its ledger into its bucket ---------------------------------------- */

struct pub_state {
	uint64_t next[2]; /* leaves, heads published */
	uint64_t off[2];  /* their bytes in entries.log, heads.log */
	unsigned pub;     /* ledger.pub put */
};

static void state_read(int fd, struct pub_state *s)
{
	char buf[256];
	memset(s, 0, sizeof(*s));
	ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);
	if (k <= 0)
		return;
	buf[k] = 0;
	/* anything else (damaged, another version): start over, which reads
	 * the bucket's segments back before putting anything */
	if (sscanf(buf, PUB_MAGIC " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %u",
		   &s->next[0], &s->off[0], &s->next[1], &s->off[1], &s->pub) != 5)
		memset(s, 0, sizeof(*s));
}

static int state_write(int fd, const struct pub_state *s)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), PUB_MAGIC " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			 " %u\n", s->next[0], s->off[0], s->next[1], s->off[1], s->pub);
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n || fdatasync(fd))
		return ES_EIO;
	return 0;
}

/* The buffer as an object: through a file, as the blob stores take them. */
static int put_buf(struct st_blob *b, const char *tmp, const char *key, const void *p, size_t n,
		   struct rec_ledger_pub_counts *c, char *err, size_t errlen)
{
	uint8_t md[32];
	char hx[65];
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || es_write_all(fd, p, n)) {
		if (fd >= 0)
			close(fd);
		return es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	}
	close(fd);
	crypto_hash_sha256(md, p, n);
	sodium_bin2hex(hx, sizeof(hx), md, 32);
	struct st_blob_put_info info;
	int rc = b->ops->put_file(b->state, key, tmp, hx, &info, err, errlen);
	unlink(tmp);
	if (!rc) {
		c->objects++;
		c->bytes += n;
	}
	return rc;
}

/* Segments of kind already in the bucket from s->next on (a put whose
 * state was not saved, or a lost published.txt): each must be the
 * folder's own bytes there; the state moves past them. */
static int catch_up(struct st_blob *b, const char *ldir, const char *tmp, int kind,
		    struct pub_state *s, char *err, size_t errlen)
{
	for (;;) {
		char key[64], path[4400];
		uint64_t size = 0;
		seg_key(kind, s->next[kind], key, sizeof(key));
		int rc = b->ops->size(b->state, key, &size, err, errlen);
		if (rc == ES_ENOTFOUND)
			return 0;
		if (rc)
			return rc;
		if ((rc = b->ops->get_file(b->state, key, tmp, NULL, err, errlen)))
			return rc;
		struct es_buf theirs, ours;
		es_buf_init(&theirs);
		es_buf_init(&ours);
		uint64_t n = 0, m = 0;
		rc = es_read_file(tmp, &theirs);
		unlink(tmp);
		n = rc ? 0 : count_lines(theirs.p, theirs.len);
		snprintf(path, sizeof(path), "%s/%s", ldir, kind_file[kind]);
		if (!rc)
			rc = read_lines(path, s->off[kind], n, &ours, &m);
		if (!rc && (!n || m != n || ours.len != theirs.len ||
			    memcmp(ours.p, theirs.p, ours.len)))
			rc = es_errf(err, errlen, ES_EFORMAT,
				     "%s in %s is not this data folder's ledger (a restored or "
				     "replaced folder under the same prefix?): nothing more is published "
				     "until it is moved away [%llu/%llu lines, %zu/%zu bytes at %llu]", key, b->ops->describe(b->state),
				     (unsigned long long)n, (unsigned long long)m, theirs.len, ours.len, (unsigned long long)s->off[kind]);
		else if (rc)
			es_errf(err, errlen, rc, "%s: cannot be read back", key);
		size_t len = ours.len;
		es_buf_free(&theirs);
		es_buf_free(&ours);
		if (rc)
			return rc;
		s->next[kind] += n;
		s->off[kind] += len;
	}
}

/* One round: the heads not yet published, the leaves they cover first. */
static int publish_round(struct st_blob *b, const char *ldir, const char *tmp, int sfd,
			 struct pub_state *s, struct rec_ledger_pub_counts *c, bool *more, char *err,
			 size_t errlen)
{
	char path[4400], key[64];
	struct es_buf hb, eb;
	es_buf_init(&hb);
	es_buf_init(&eb);
	uint64_t hn = 0, en = 0;
	int rc;
	*more = false;
	snprintf(path, sizeof(path), "%s/heads.log", ldir);
	if ((rc = read_lines(path, s->off[1], REC_LEDGER_PUB_SEG_MAX, &hb, &hn)))
		es_errf(err, errlen, rc, "%s: %s", path, strerror(errno));
	if (rc || !hn)
		goto out;
	*more = hn == REC_LEDGER_PUB_SEG_MAX;
	/* the last new head says how many leaves are signed */
	const char *last = (const char *)hb.p + hb.len - 1, *p = last;
	while (p > (const char *)hb.p && p[-1] != '\n')
		p--;
	struct st_head h;
	char why[256];
	if ((rc = st_head_parse(p, (size_t)(last - p), &h, why, sizeof(why)))) {
		es_errf(err, errlen, ES_EFORMAT, "%s: %s", path, why);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/entries.log", ldir);
	while (s->next[0] < h.size) {
		uint64_t want = h.size - s->next[0];
		es_buf_reset(&eb);
		if (want > REC_LEDGER_PUB_SEG_MAX)
			want = REC_LEDGER_PUB_SEG_MAX;
		if ((rc = read_lines(path, s->off[0], want, &eb, &en)) || en != want) {
			rc = es_errf(err, errlen, rc ? rc : ES_EFORMAT, "%s: %" PRIu64 " leaves from "
				     "%" PRIu64 " are not there, yet a signed head covers them", path,
				     want, s->next[0]);
			goto out;
		}
		seg_key(0, s->next[0], key, sizeof(key));
		if ((rc = put_buf(b, tmp, key, eb.p, eb.len, c, err, errlen)))
			goto out;
		s->next[0] += en;
		s->off[0] += eb.len;
		c->leaves += en;
		if ((rc = state_write(sfd, s)))
			goto out_state;
	}
	if (!s->pub) {
		struct es_buf pb;
		es_buf_init(&pb);
		snprintf(path, sizeof(path), "%s/ledger.pub", ldir);
		rc = es_read_file(path, &pb);
		if (rc)
			es_errf(err, errlen, rc, "%s: %s", path, strerror(errno));
		else
			rc = put_buf(b, tmp, KEY_PUB, pb.p, pb.len, c, err, errlen);
		es_buf_free(&pb);
		if (rc)
			goto out;
		s->pub = 1;
	}
	seg_key(1, s->next[1], key, sizeof(key));
	if ((rc = put_buf(b, tmp, key, hb.p, hb.len, c, err, errlen)))
		goto out;
	s->next[1] += hn;
	s->off[1] += hb.len;
	c->heads += hn;
	if (!(rc = state_write(sfd, s)))
		goto out;
out_state:
	es_errf(err, errlen, rc, "%s/%s: %s", ldir, PUB_STATE, strerror(errno));
out:
	es_buf_free(&hb);
	es_buf_free(&eb);
	return rc;
}

/* The newest published head: the line of heads.log that ends at off. */
static bool last_head(const char *ldir, uint64_t off, struct st_head *h)
{
	char p[4400], buf[ST_LEDGER_LINE_MAX + 2], why[128];
	snprintf(p, sizeof(p), "%s/heads.log", ldir);
	uint64_t from = off > sizeof(buf) ? off - sizeof(buf) : 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t k = pread(fd, buf, (size_t)(off - from), (off_t)from);
	close(fd);
	if (k != (ssize_t)(off - from) || k < 2 || buf[k - 1] != '\n')
		return false;
	char *e = buf + k - 1, *b = e;
	while (b > buf && b[-1] != '\n')
		b--;
	if (b == buf && from)
		return false; /* longer than any head line */
	return !st_head_parse(b, (size_t)(e - b), h, why, sizeof(why));
}

int rec_ledger_publish(const char *data_dir, struct rec_ledger_pub_counts *n, char *err,
		       size_t errlen)
{
	char ldir[4200], spath[4300], tmp[4300];
	struct pub_state s = {0};
	memset(n, 0, sizeof(*n));
	struct st_blob b;
	int rc = rec_blobs_open(data_dir, &b, NULL, err, errlen);
	if (rc == ES_ENOTFOUND)
		return 0; /* no bucket: nothing to publish to */
	if (rc)
		return rc;
	snprintf(ldir, sizeof(ldir), "%s/ledger", data_dir);
	snprintf(spath, sizeof(spath), "%s/%s", ldir, PUB_STATE);
	snprintf(tmp, sizeof(tmp), "%s/published.%d.tmp", ldir, (int)getpid());
	int sfd = open(spath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sfd < 0) {
		rc = es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", spath,
			     strerror(errno));
		goto out;
	}
	/* one publisher at a time (the recorder's loop, `archive run`) */
	if (flock(sfd, LOCK_EX)) {
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", spath, strerror(errno));
		goto out;
	}
	state_read(sfd, &s);
	struct stat st[2];
	for (int k = 0; k < 2; k++) {
		char p[4400];
		snprintf(p, sizeof(p), "%s/%s", ldir, kind_file[k]);
		if (stat(p, &st[k]))
			st[k].st_size = 0;
		if ((uint64_t)st[k].st_size < s.off[k]) {
			/* the ledger is shorter than what was published: the
			 * bucket's copy is checked against it from the start */
			ES_LOG_WARNING(TAG, "%s is shorter than what was published from it: "
				       "comparing the bucket's copy from the start", p);
			memset(&s, 0, sizeof(s));
		}
	}
	if ((uint64_t)st[1].st_size == s.off[1])
		goto out; /* no head since the last round: nothing to put */
	for (int k = 0; k < 2 && !rc; k++)
		rc = catch_up(&b, ldir, tmp, k, &s, err, errlen);
	if (!rc && (rc = state_write(sfd, &s)))
		es_errf(err, errlen, rc, "%s: %s", spath, strerror(errno));
	bool more = !rc;
	while (!rc && more)
		rc = publish_round(&b, ldir, tmp, sfd, &s, n, &more, err, errlen);
out:
	n->size = s.next[0];
	if (sfd >= 0 && s.next[1])
		n->has_head = last_head(ldir, s.off[1], &n->head);
	if (sfd >= 0)
		close(sfd); /* and its lock */
	st_blob_close(&b);
	return rc;
}

/* ---- another node's, read back -------------------------------------------------------- */

struct find_head {
	const char *node;
	char head[ST_LEDGER_LINE_MAX + 1];
	bool found;
};

static int find_head_fn(void *ud, const struct idx_node *n)
{
	struct find_head *f = ud;
	if (strcmp(n->name, f->node) || !n->head)
		return 0;
	snprintf(f->head, sizeof(f->head), "%s", n->head);
	f->found = true;
	return 1;
}

static void wipe(const char *dir)
{
	const char *const files[] = {"entries.log", "heads.log", "ledger.pub", FETCH_STATE};
	char p[4400];
	for (size_t i = 0; i < ES_ARRAY_LEN(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
}

static int append_file(const char *path, const struct es_buf *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return ES_EIO;
	int rc = es_write_all(fd, b->p, b->len) ? ES_EIO : 0;
	if (close(fd))
		rc = ES_EIO;
	return rc;
}

/* What is new in the bucket, appended to the copy (whole segments). */
static int sync_copy(struct st_blob *b, const char *dir, const char *node, char *err,
		     size_t errlen)
{
	char p[4400], tmp[4400], key[64], buf[128] = "";
	uint64_t next[2] = {0, 0};
	snprintf(tmp, sizeof(tmp), "%s/segment.%d.tmp", dir, (int)getpid());
	snprintf(p, sizeof(p), "%s/%s", dir, FETCH_STATE);
	FILE *f = fopen(p, "re");
	if (f) {
		if (!fgets(buf, sizeof(buf), f) ||
		    sscanf(buf, "%" SCNu64 " %" SCNu64, &next[0], &next[1]) != 2)
			next[0] = next[1] = 0;
		fclose(f);
	}
	if (!next[0] && !next[1])
		wipe(dir); /* no state: whatever is there is of unknown extent */
	snprintf(p, sizeof(p), "%s/ledger.pub", dir);
	int rc = 0;
	if (access(p, F_OK) &&
	    (rc = b->ops->get_file(b->state, KEY_PUB, p, NULL, err, errlen))) {
		if (rc == ES_ENOTFOUND)
			es_errf(err, errlen, ES_EAGAIN, "node %s has not published its ledger to its "
				"bucket yet (it does at each upload pass)", node);
		return rc == ES_ENOTFOUND ? ES_EAGAIN : ES_EUNSUP;
	}
	for (int k = 0; k < 2 && !rc; k++) {
		snprintf(p, sizeof(p), "%s/%s", dir, kind_file[k]);
		for (;;) {
			seg_key(k, next[k], key, sizeof(key));
			rc = b->ops->get_file(b->state, key, tmp, NULL, err, errlen);
			if (rc == ES_ENOTFOUND) {
				rc = 0;
				break;
			}
			if (rc) {
				rc = ES_EUNSUP;
				break;
			}
			struct es_buf seg;
			es_buf_init(&seg);
			rc = es_read_file(tmp, &seg);
			unlink(tmp);
			uint64_t n = rc ? 0 : count_lines(seg.p, seg.len);
			if (!rc && (!n || seg.p[seg.len - 1] != '\n'))
				rc = es_errf(err, errlen, ES_ECRYPTO, "%s of node %s's bucket is not "
					     "whole lines of its ledger", key, node);
			else if (!rc && append_file(p, &seg))
				rc = es_errf(err, errlen, ES_EIO, "%s: %s", p, strerror(errno));
			else if (rc && rc != ES_ECRYPTO)
				es_errf(err, errlen, rc, "%s: cannot be read", tmp);
			es_buf_free(&seg);
			if (rc)
				break;
			next[k] += n;
		}
	}
	snprintf(p, sizeof(p), "%s/%s", dir, FETCH_STATE);
	f = rc ? NULL : fopen(p, "we");
	if (f) {
		fprintf(f, "%" PRIu64 " %" PRIu64 "\n", next[0], next[1]);
		if (fclose(f))
			rc = ES_EIO;
	} else if (!rc) {
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", p, strerror(errno));
	}
	return rc;
}

/* The copy against what node signed and published in the index. */
static int check_copy(const char *dir, const char *node, const struct st_head *ixh, bool *trusted,
		      char *err, size_t errlen)
{
	struct st_ledger *l = NULL;
	char why[1024];
	uint8_t pk[ST_LEDGER_PK_LEN], root[ST_HASH_LEN];
	struct st_head h;
	*trusted = false;
	int rc = st_ledger_open(&l, dir, ST_LEDGER_RDONLY, why, sizeof(why));
	if (rc) {
		es_errf(err, errlen, ES_ECRYPTO, "node %s's published ledger cannot be read (altered or damaged): %s",
			node, why);
		return ES_ECRYPTO;
	}
	st_ledger_public_key(l, pk);
	size_t nh = st_ledger_head_count(l);
	rc = ES_ECRYPTO;
	if (st_head_verify(ixh, pk))
		es_errf(err, errlen, rc, "the ledger.pub in node %s's bucket is not the key that signed "
			"the head node %s published in the index: the published ledger was replaced",
			node, node);
	else if (!nh)
		rc = es_errf(err, errlen, ES_EAGAIN, "node %s has published no signed head to its "
			     "bucket yet", node);
	else if (st_ledger_head(l, nh - 1, &h) || st_head_verify(&h, pk))
		es_errf(err, errlen, rc, "the newest head in node %s's bucket is not signed by its "
			"key: the published ledger was altered", node);
	else if (h.size > st_ledger_size(l) || st_ledger_root(l, h.size, root) ||
		 memcmp(root, h.root, ST_HASH_LEN))
		es_errf(err, errlen, rc, "the leaves in node %s's bucket are not those its signed head "
			"of %" PRIu64 " leaves covers: the published ledger was altered", node, h.size);
	else if (ixh->size <= h.size &&
		 st_ledger_check_trusted(l, ixh, why, sizeof(why)) != ST_TRUST_OK)
		es_errf(err, errlen, rc, "node %s's published ledger does not extend the head it "
			"published in the index: %s", node, why);
	else
		rc = 0, *trusted = ixh->size <= h.size;
	st_ledger_close(l);
	return rc;
}

int rec_ledger_fetch_node(const char *data_dir, struct idx *ix, const char *node, char *dir,
			  size_t cap, struct st_head *ixhead, bool *trusted, char *err,
			  size_t errlen)
{
	struct find_head fh = {.node = node};
	char lock[4400];
	int lfd = -1;
	if (!node || !idx_node_name_ok(node))
		return es_errf(err, errlen, ES_EINVAL, "'%s' is not a node name", node ? node : "");
	int rc = idx_nodes_list(ix, find_head_fn, &fh);
	if (rc < 0)
		return es_errf(err, errlen, ES_EUNSUP, "the nodes of the index cannot be read: %s",
			       idx_errmsg(ix));
	snprintf(lock, sizeof(lock), "%s/ledger/ledger.pub", data_dir);
	if (!fh.found && !access(lock, F_OK))
		return ES_EEXIST; /* no head to tell: this folder's own ledger, as before */
	if (!fh.found)
		return es_errf(err, errlen, ES_EAGAIN, "node %s has published no signed head in the "
			       "index yet", node);
	char why[256];
	if (st_head_parse_published(fh.head, strlen(fh.head), ixhead, why, sizeof(why)))
		return es_errf(err, errlen, ES_ECRYPTO, "node %s's head in the index: %s", node, why);
	/* a recorder's own archived recording: its own ledger is the node's */
	uint8_t mine[ST_LEDGER_PK_LEN];
	if (!access(lock, F_OK) && !st_ledger_read_pub(lock, mine, why, sizeof(why)) &&
	    !memcmp(mine, ixhead->key_id, ST_LEDGER_KEYID_LEN) && !st_head_verify(ixhead, mine))
		return ES_EEXIST;
	if (snprintf(dir, cap, "%s/nodes/%s/ledger", data_dir, node) >= (int)cap)
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", data_dir);
	if (es_mkdirs(dir, true))
		return es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	struct st_blob b;
	if ((rc = rec_blobs_open_node(data_dir, ix, node, &b, err, errlen))) {
		char w[512];
		snprintf(w, sizeof(w), "%s", err);
		return es_errf(err, errlen, ES_EUNSUP, "node %s's bucket cannot be opened: %s", node,
			       w);
	}
	/* one fetcher at a time (the server's threads, a CLI beside it) */
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0 || flock(lfd, LOCK_EX)) {
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	rc = sync_copy(&b, dir, node, err, errlen);
	if (!rc)
		rc = check_copy(dir, node, ixhead, trusted, err, errlen);
	if (rc == ES_ECRYPTO) {
		/* a damaged copy here, or an altered one there: fetched anew
		 * once, and refused when it still fails */
		ES_LOG_WARNING(TAG, "%s; fetching it again", err);
		wipe(dir);
		rc = sync_copy(&b, dir, node, err, errlen);
		if (!rc)
			rc = check_copy(dir, node, ixhead, trusted, err, errlen);
		if (rc == ES_ECRYPTO)
			wipe(dir);
	}
out:
	if (lfd >= 0)
		close(lfd);
	st_blob_close(&b);
	return rc;
}
