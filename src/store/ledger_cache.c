/*
 * ledger_cache.c - a read-only ledger view shared by a server's threads and
 * kept up to date with the files (ledger.h): re-read only what changed, so
 * that a request costs a few stat(2) calls instead of a read of the whole
 * log.
 */
#include "store/ledger.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TAG "ledger"

/* What a file looked like when it was last read. */
struct lc_stamp {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

enum { LC_ENTRIES, LC_HEADS, LC_PUB, LC_FILES };
static const char *const lc_names[LC_FILES] = {"entries.log", "heads.log", "ledger.pub"};

struct st_ledger_cache {
	char *dir;
	pthread_rwlock_t lock;
	struct st_ledger *l;               /* NULL: never read, or the last open failed */
	bool loaded;                       /* stamps and rc/err describe a read */
	struct lc_stamp stamp[LC_FILES];
	int rc;                            /* the last open's failure, while l is NULL */
	char err[512];
	pthread_mutex_t stats_lock;
	struct st_ledger_cache_stats stats;
};

static void stamp_take(const char *dir, struct lc_stamp s[LC_FILES])
{
	char path[4200];
	for (int i = 0; i < LC_FILES; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, lc_names[i]);
		memset(&s[i], 0, sizeof(s[i]));
		if (stat(path, &st) != 0)
			continue;
		s[i].exists = true;
		s[i].dev = st.st_dev;
		s[i].ino = st.st_ino;
		s[i].size = st.st_size;
		s[i].mtime = st.st_mtim;
		s[i].ctime = st.st_ctim;
	}
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool stamp_eq(const struct lc_stamp *a, const struct lc_stamp *b)
{
	if (a->exists != b->exists)
		return false;
	return !a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
			      ts_eq(a->mtime, b->mtime) && ts_eq(a->ctime, b->ctime));
}

/* Only appended to: the same file, grown (an append moves the size; a
 * rewrite of the same length only the times). */
static bool stamp_grew(const struct lc_stamp *was, const struct lc_stamp *now)
{
	if (stamp_eq(was, now))
		return true;
	return was->exists && now->exists && was->dev == now->dev && was->ino == now->ino &&
	       now->size > was->size;
}

static void count(struct st_ledger_cache *c, uint64_t *field)
{
	pthread_mutex_lock(&c->stats_lock);
	(*field)++;
	pthread_mutex_unlock(&c->stats_lock);
}

int st_ledger_cache_new(struct st_ledger_cache **out, const char *dir)
{
	*out = NULL;
	struct st_ledger_cache *c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		return ES_ENOMEM;
	}
	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	*out = c;
	return 0;
}

void st_ledger_cache_free(struct st_ledger_cache *c)
{
	if (!c)
		return;
	st_ledger_close(c->l);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->stats_lock);
	free(c->dir);
	free(c);
}

/* Whether the view matches the files (read or write lock held). */
static bool fresh(const struct st_ledger_cache *c, const struct lc_stamp now[LC_FILES])
{
	if (!c->loaded)
		return false;
	for (int i = 0; i < LC_FILES; i++)
		if (!stamp_eq(&c->stamp[i], &now[i]))
			return false;
	return true;
}

/* Bring the view up to date (write lock held).  The stamps are taken
 * before reading: a line appended meanwhile is either read now or makes
 * the next get look again. */
static void update(struct st_ledger_cache *c)
{
	struct lc_stamp now[LC_FILES];
	stamp_take(c->dir, now);
	if (fresh(c, now))
		return; /* another thread did it */
	bool tail = c->l && stamp_eq(&c->stamp[LC_PUB], &now[LC_PUB]) &&
		    stamp_grew(&c->stamp[LC_ENTRIES], &now[LC_ENTRIES]) &&
		    stamp_grew(&c->stamp[LC_HEADS], &now[LC_HEADS]);
	if (tail) {
		bool reopen = false;
		int rc = st_ledger_refresh(c->l, &reopen, NULL, c->err, sizeof(c->err));
		if (!rc && !reopen) {
			memcpy(c->stamp, now, sizeof(now));
			count(c, &c->stats.tails);
			return;
		}
		if (rc) {
			/* a malformed appended line: the open would refuse the
			 * ledger too, so say what it says */
			ES_LOG_WARNING(TAG, "%s: %s", c->dir, c->err);
		}
	}
	st_ledger_close(c->l);
	c->l = NULL;
	c->err[0] = '\0';
	c->rc = st_ledger_open(&c->l, c->dir, ST_LEDGER_RDONLY, c->err, sizeof(c->err));
	memcpy(c->stamp, now, sizeof(now));
	c->loaded = true;
	count(c, &c->stats.opens);
}

int st_ledger_cache_get(struct st_ledger_cache *c, const struct st_ledger **l, char *err,
			size_t errlen)
{
	struct lc_stamp now[LC_FILES];
	*l = NULL;
	for (int round = 0;; round++) {
		stamp_take(c->dir, now);
		pthread_rwlock_rdlock(&c->lock);
		/* after two updates, a log that keeps growing is served as read:
		 * it was current a moment ago */
		if (fresh(c, now) || (round >= 2 && c->loaded)) {
			if (c->l) {
				if (!round)
					count(c, &c->stats.hits);
				*l = c->l;
				return 0;
			}
			int rc = c->rc ? c->rc : ES_EIO;
			es_errf(err, errlen, 0, "%s", c->err[0] ? c->err : es_strerror(rc));
			pthread_rwlock_unlock(&c->lock);
			return rc;
		}
		pthread_rwlock_unlock(&c->lock);
		pthread_rwlock_wrlock(&c->lock);
		update(c);
		pthread_rwlock_unlock(&c->lock);
	}
}

void st_ledger_cache_put(struct st_ledger_cache *c)
{
	pthread_rwlock_unlock(&c->lock);
}

void st_ledger_cache_stats(struct st_ledger_cache *c, struct st_ledger_cache_stats *out)
{
	pthread_mutex_lock(&c->stats_lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->stats_lock);
}
