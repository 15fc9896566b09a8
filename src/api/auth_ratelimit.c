/*
 * auth_ratelimit.c - the login rate limiter, in memory (api.h).
 *
 * Two kinds of key: the pair (address, name) and the address alone.  There
 * is no key for a name alone: that let anyone lock an account, admins
 * included, from anywhere by failing five times (issue #13, finding 11).  An
 * address that has not failed has no slot, so nothing another address does
 * can refuse its correct login.
 *
 * Every attempt is reserved before the password is checked (api_rl_begin)
 * and settled after (api_rl_end), under one mutex: attempts in flight count
 * against the budget, so a burst of parallel guesses cannot all pass the
 * check before the first failure is counted.
 */
#include "api/api.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_KEY_MAX 96
#define RL_BUSY_US ES_US_PER_SEC /* Retry-After while the budget is in flight */

struct rl_slot {
	char key[RL_KEY_MAX]; /* "a:<remote>" or "p:<remote> <lower-case name>"; "" free */
	unsigned failures;    /* in the window starting at window_us */
	unsigned pending;     /* attempts begun and not yet ended */
	int64_t window_us;
	int64_t locked_until; /* 0 = not locked */
	int64_t last_us;      /* last attempt */
};

struct api_rl {
	pthread_mutex_t lock;
	struct rl_slot *slots;
	struct api_rl_limits lim;
};

int api_rl_new(struct api_rl **out, const struct api_rl_limits *lim)
{
	*out = NULL;
	if (!lim->capacity || !lim->max_failures || !lim->max_failures_address ||
	    lim->window_us <= 0 || lim->lockout_us <= 0)
		return ES_EINVAL;
	struct api_rl *rl = calloc(1, sizeof(*rl));
	if (rl)
		rl->slots = calloc(lim->capacity, sizeof(*rl->slots));
	if (!rl || !rl->slots || pthread_mutex_init(&rl->lock, NULL)) {
		if (rl)
			free(rl->slots);
		free(rl);
		return ES_ENOMEM;
	}
	rl->lim = *lim;
	*out = rl;
	return 0;
}

void api_rl_free(struct api_rl *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

/* The key of an address ('a') or of the pair ('p'; names compare in any
 * case); false without an address.  Longer values are cut: still one key
 * each (an address is at most 45 bytes, a name IDX_NAME_MAX). */
static bool rl_key(char kind, const char *remote, const char *name, char key[RL_KEY_MAX])
{
	if (!remote || !remote[0] || (kind == 'p' && (!name || !name[0])))
		return false;
	int n = snprintf(key, RL_KEY_MAX, "%c:%s", kind, remote);
	if (kind == 'p' && n > 0 && n + 1 < RL_KEY_MAX) {
		key[n++] = ' ';
		for (; *name && n + 1 < RL_KEY_MAX; name++)
			key[n++] = (char)tolower((unsigned char)*name);
		key[n] = '\0';
	}
	return true;
}

static bool rl_idle(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	return !s->pending && s->locked_until <= now && now - s->window_us >= rl->lim.window_us;
}

/* Which slot a new key takes: free or idle first (0), then unlocked (1),
 * then locked or busy (2); the oldest within a class. */
static int rl_class(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	if (!s->key[0] || rl_idle(rl, s, now))
		return 0;
	return s->locked_until > now || s->pending ? 2 : 1;
}

/* The slot of key, or NULL; with make, a new one when absent. */
static struct rl_slot *rl_find(struct api_rl *rl, const char *key, bool make, int64_t now)
{
	struct rl_slot *victim = NULL;
	int vclass = 3;
	for (unsigned i = 0; i < rl->lim.capacity; i++) {
		struct rl_slot *s = &rl->slots[i];
		if (s->key[0] && !strcmp(s->key, key))
			return s;
		if (!make)
			continue;
		int c = rl_class(rl, s, now);
		if (c < vclass || (c == vclass && s->last_us < victim->last_us)) {
			victim = s;
			vclass = c;
		}
	}
	if (!make || !victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->window_us = now;
	return victim;
}

/* A window that has passed starts again. */
static void rl_roll(const struct api_rl *rl, struct rl_slot *s, int64_t now)
{
	if (now - s->window_us >= rl->lim.window_us || now < s->window_us) {
		s->window_us = now;
		s->failures = 0;
	}
}

/* When s refuses one more attempt: its lock's end, now + RL_BUSY_US when
 * attempts in flight may use up what is left, else 0. */
static int64_t rl_refuses(const struct api_rl *rl, struct rl_slot *s, unsigned max, int64_t now)
{
	if (!s)
		return 0;
	if (s->locked_until > now)
		return s->locked_until;
	rl_roll(rl, s, now);
	return s->failures + s->pending >= max ? now + RL_BUSY_US : 0;
}

int api_rl_begin(struct api_rl *rl, const char *remote, const char *name, int64_t now_us,
		 int64_t *retry_until_us)
{
	char pk[RL_KEY_MAX], ak[RL_KEY_MAX];
	bool has_p = rl_key('p', remote, name, pk), has_a = rl_key('a', remote, NULL, ak);
	pthread_mutex_lock(&rl->lock);
	struct rl_slot *p = has_p ? rl_find(rl, pk, false, now_us) : NULL;
	struct rl_slot *a = has_a ? rl_find(rl, ak, false, now_us) : NULL;
	int64_t until = ES_MAX(rl_refuses(rl, p, rl->lim.max_failures, now_us),
			       rl_refuses(rl, a, rl->lim.max_failures_address, now_us));
	if (!until) {
		/* The address first: making the pair's slot must not evict it. */
		if (has_a && (a = rl_find(rl, ak, true, now_us)))
			a->pending++, a->last_us = now_us;
		if (has_p && (p = rl_find(rl, pk, true, now_us)))
			p->pending++, p->last_us = now_us;
	}
	pthread_mutex_unlock(&rl->lock);
	if (retry_until_us)
		*retry_until_us = until;
	return until ? ES_ELIMIT : 0;
}

/* Settle one attempt on s: a failure counts and may lock; a success
 * clears the count when clear. */
static void rl_settle(struct api_rl *rl, struct rl_slot *s, unsigned max, int result,
		      bool clear, int64_t now)
{
	if (!s)
		return;
	if (s->pending)
		s->pending--;
	s->last_us = now;
	if (s->locked_until > now)
		return; /* already locked: the lock does not grow with attempts */
	rl_roll(rl, s, now);
	if (result != API_EAUTH) {
		if (clear && result == 0)
			s->failures = 0;
		return;
	}
	if (++s->failures >= max) {
		s->locked_until = now + rl->lim.lockout_us;
		s->failures = 0;
		s->window_us = now;
	}
}

void api_rl_end(struct api_rl *rl, const char *remote, const char *name, int result,
		int64_t now_us)
{
	bool failed = result == API_EAUTH;
	char pk[RL_KEY_MAX], ak[RL_KEY_MAX];
	bool has_p = rl_key('p', remote, name, pk), has_a = rl_key('a', remote, NULL, ak);
	pthread_mutex_lock(&rl->lock);
	/* A slot evicted meanwhile (a full table) is made again for a failure:
	 * the failure still counts. */
	struct rl_slot *a = has_a ? rl_find(rl, ak, failed, now_us) : NULL;
	rl_settle(rl, a, rl->lim.max_failures_address, result, false, now_us);
	struct rl_slot *p = has_p ? rl_find(rl, pk, failed, now_us) : NULL;
	rl_settle(rl, p, rl->lim.max_failures, result, true, now_us);
	pthread_mutex_unlock(&rl->lock);
}
