/*
 * audio_state.c - what GET /api/calls/{id}/audio keeps between requests (a
 * browser plays a recording as many Range requests; issue #7):
 *
 * The data-key cache: unwrapped data keys of recently played recordings,
 * keyed by the recording's id (its path) and the stored file's SHA-256, at
 * most SRV_KEYCACHE_MAX, least recently used out.  Keys stay in
 * sodium_malloc'd (guarded, locked) memory (struct st_dek) and are wiped
 * when evicted, when older than SRV_KEYCACHE_TTL_US and when the server
 * stops.  Every use first checks (a stat) that the wrapped key file still
 * exists, so `earshot keys shred` stops playback at the next request.
 *
 * The listening table: who (user, remote address) was audited listening to
 * which recording (call id, stored SHA-256), and when.  The audio handler
 * audits the first request of a playback and skips the audit entry of later
 * ones within SRV_LISTEN_WINDOW_US; a full table forgets the oldest entry,
 * which only means one more audit entry.
 */
#include "api/server_internal.h"
#include "store/vault.h"

#include <stdlib.h>
#include <string.h>

#define KEY_ID_MAX (1100 + IDX_HEX256)

struct srv_key {
	char id[KEY_ID_MAX];       /* rec_id "\n" sha256 */
	struct st_dek *dek;        /* sodium_malloc'd */
	int64_t loaded_us;
	uint64_t used;             /* LRU tick */
	unsigned refs;             /* borrowers (srv_keycache_get .. _put) */
	bool cached;               /* in the table (else freed at refs 0) */
};

struct listened {
	uint64_t h;                /* of the fields below; 0 = free slot */
	int64_t call;
	int64_t at_us;             /* when audited */
	char user[IDX_NAME_MAX + 1];
	char remote[64];
	char sha256[IDX_HEX256];
};

struct srv_audio_cache {
	pthread_mutex_t lock;
	struct srv_key *keys[SRV_KEYCACHE_MAX];
	uint64_t tick;
	struct listened seen[SRV_LISTENED_MAX];
};

int srv_audio_cache_new(struct srv_audio_cache **out)
{
	*out = NULL;
	struct srv_audio_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return ES_ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return ES_ENOMEM;
	}
	*out = c;
	return 0;
}

static void key_free(struct srv_key *k)
{
	st_dek_free(k->dek); /* sodium_free wipes */
	free(k);
}

/* Take k out of the table (c->lock held); returns k when nobody borrows it
 * (the caller frees it after unlocking), else NULL (its last put frees it). */
static struct srv_key *key_unlink(struct srv_audio_cache *c, unsigned i)
{
	struct srv_key *k = c->keys[i];
	c->keys[i] = NULL;
	k->cached = false;
	return k->refs ? NULL : k;
}

void srv_audio_cache_free(struct srv_audio_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < SRV_KEYCACHE_MAX; i++)
		if (c->keys[i])
			key_free(c->keys[i]); /* the server is stopped: no borrowers */
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int key_find(struct srv_audio_cache *c, const char *id)
{
	for (unsigned i = 0; i < SRV_KEYCACHE_MAX; i++)
		if (c->keys[i] && !strcmp(c->keys[i]->id, id))
			return (int)i;
	return -1;
}

/* Drop the entry of id, if any (c->lock not held). */
static void key_forget(struct srv_audio_cache *c, const char *id)
{
	pthread_mutex_lock(&c->lock);
	int i = key_find(c, id);
	struct srv_key *dead = i >= 0 ? key_unlink(c, (unsigned)i) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (dead)
		key_free(dead);
}

int srv_keycache_get(struct srv_audio_cache *c, struct st_vault *v, const char *rec_id,
		     const char *sha256, int64_t now_us, struct srv_key **ref,
		     const struct st_dek **dek, char *err, size_t errlen)
{
	*ref = NULL;
	*dek = NULL;
	char id[KEY_ID_MAX];
	if (snprintf(id, sizeof(id), "%s\n%s", rec_id, sha256 ? sha256 : "") >= (int)sizeof(id))
		return es_errf(err, errlen, ES_EINVAL, "%s: recording id too long%s", rec_id, "");
	/* Shredded (or gone for any reason): forget the key at once. */
	if (!st_vault_has_key(v, rec_id)) {
		key_forget(c, id);
		return es_errf(err, errlen, ES_ENOTFOUND,
			       "%s: no data key (shredded or never encrypted)%s", rec_id, "");
	}
	struct srv_key *dead = NULL;
	pthread_mutex_lock(&c->lock);
	int i = key_find(c, id);
	if (i >= 0) {
		struct srv_key *k = c->keys[i];
		if (now_us >= k->loaded_us && now_us - k->loaded_us < SRV_KEYCACHE_TTL_US) {
			k->refs++;
			k->used = ++c->tick;
			pthread_mutex_unlock(&c->lock);
			*ref = k;
			*dek = k->dek;
			return 0;
		}
		dead = key_unlink(c, (unsigned)i); /* too old: unwrap again */
	}
	pthread_mutex_unlock(&c->lock);
	if (dead)
		key_free(dead);

	struct srv_key *k = calloc(1, sizeof(*k));
	if (!k)
		return ES_ENOMEM;
	memcpy(k->id, id, sizeof(id));
	int rc = st_vault_key(v, rec_id, &k->dek, err, errlen);
	if (rc) {
		free(k);
		return rc;
	}
	k->loaded_us = now_us;
	k->refs = 1;
	k->cached = true;
	dead = NULL;
	struct srv_key *dead2 = NULL;
	pthread_mutex_lock(&c->lock);
	k->used = ++c->tick;
	/* another request may have loaded it meanwhile: ours replaces it */
	if ((i = key_find(c, id)) >= 0)
		dead = key_unlink(c, (unsigned)i);
	unsigned slot = 0;
	for (unsigned j = 0; j < SRV_KEYCACHE_MAX; j++) {
		if (!c->keys[j]) {
			slot = j;
			break;
		}
		if (c->keys[j]->used < c->keys[slot]->used)
			slot = j;
	}
	if (c->keys[slot])
		dead2 = key_unlink(c, slot);
	c->keys[slot] = k;
	pthread_mutex_unlock(&c->lock);
	if (dead)
		key_free(dead);
	if (dead2)
		key_free(dead2);
	*ref = k;
	*dek = k->dek;
	return 0;
}

void srv_keycache_put(struct srv_audio_cache *c, struct srv_key *ref, bool drop)
{
	if (!ref)
		return;
	struct srv_key *dead = NULL;
	pthread_mutex_lock(&c->lock);
	if (drop && ref->cached) {
		for (unsigned i = 0; i < SRV_KEYCACHE_MAX; i++)
			if (c->keys[i] == ref) {
				key_unlink(c, i);
				break;
			}
	}
	if (!--ref->refs && !ref->cached)
		dead = ref;
	pthread_mutex_unlock(&c->lock);
	if (dead)
		key_free(dead);
}

/* ---- the listening table ------------------------------------------------------------------ */

static uint64_t seen_hash(const char *user, const char *remote, int64_t call, const char *sha)
{
	uint64_t h = es_hash(user, strlen(user), 0x6c697374);
	h = es_hash(remote, strlen(remote), h);
	h = es_hash(&call, sizeof(call), h);
	h = es_hash(sha, strlen(sha), h);
	return h ? h : 1;
}

static bool seen_is(const struct listened *e, uint64_t h, const char *user, const char *remote,
		    int64_t call, const char *sha)
{
	return e->h == h && e->call == call && !strcmp(e->user, user) &&
	       !strcmp(e->remote, remote) && !strcmp(e->sha256, sha);
}

bool srv_listened_recently(struct srv_audio_cache *c, const char *user, const char *remote,
			   int64_t call, const char *sha256, int64_t now_us)
{
	sha256 = sha256 ? sha256 : "";
	uint64_t h = seen_hash(user, remote, call, sha256);
	bool yes = false;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < SRV_LISTENED_MAX && !yes; i++) {
		const struct listened *e = &c->seen[i];
		yes = seen_is(e, h, user, remote, call, sha256) && now_us >= e->at_us &&
		      now_us - e->at_us < SRV_LISTEN_WINDOW_US;
	}
	pthread_mutex_unlock(&c->lock);
	return yes;
}

void srv_listened_mark(struct srv_audio_cache *c, const char *user, const char *remote,
		       int64_t call, const char *sha256, int64_t now_us)
{
	sha256 = sha256 ? sha256 : "";
	/* names and addresses that do not fit are not remembered: audited every time */
	if (strlen(user) > IDX_NAME_MAX || strlen(remote) >= sizeof(c->seen[0].remote) ||
	    strlen(sha256) >= IDX_HEX256)
		return;
	uint64_t h = seen_hash(user, remote, call, sha256);
	pthread_mutex_lock(&c->lock);
	unsigned slot = 0;
	for (unsigned i = 0; i < SRV_LISTENED_MAX; i++) {
		const struct listened *e = &c->seen[i];
		if (seen_is(e, h, user, remote, call, sha256)) {
			slot = i;
			break;
		}
		if (!e->h || e->at_us < c->seen[slot].at_us)
			slot = i; /* free, or the oldest */
		if (!e->h)
			break;
	}
	struct listened *e = &c->seen[slot];
	e->h = h;
	e->call = call;
	e->at_us = now_us;
	snprintf(e->user, sizeof(e->user), "%s", user);
	snprintf(e->remote, sizeof(e->remote), "%s", remote);
	snprintf(e->sha256, sizeof(e->sha256), "%s", sha256);
	pthread_mutex_unlock(&c->lock);
}
