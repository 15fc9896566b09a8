/*
 * auth_ratelimit.c - the login rate limiter, in memory (api.h).
 */
#include "api/auth_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the login rate limiter ------------------------------------------------------------------ */

#define RL_KEY_MAX 80

struct rl_slot {
	char key[RL_KEY_MAX];  /* "a:<remote>" or "u:<lower-case name>"; "" free */
	unsigned failures;     /* in the window starting at window_us */
	int64_t window_us;
	int64_t locked_until;  /* 0 = not locked */
	int64_t last_us;       /* last failure */
};

struct api_rl {
	struct rl_slot *slots;
	unsigned cap;
	unsigned max_failures;
	int64_t window_us;
	int64_t lockout_us;
};

int api_rl_new(struct api_rl **out, unsigned capacity, unsigned max_failures,
	       int64_t window_us, int64_t lockout_us)
{
	*out = NULL;
	if (!capacity || !max_failures || window_us <= 0 || lockout_us <= 0)
		return ES_EINVAL;
	struct api_rl *rl = calloc(1, sizeof(*rl));
	if (rl)
		rl->slots = calloc(capacity, sizeof(*rl->slots));
	if (!rl || !rl->slots) {
		free(rl);
		return ES_ENOMEM;
	}
	rl->cap = capacity;
	rl->max_failures = max_failures;
	rl->window_us = window_us;
	rl->lockout_us = lockout_us;
	*out = rl;
	return 0;
}

void api_rl_free(struct api_rl *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* The key of a remote ('a') or a name ('u', names compare in any case);
 * false for NULL or empty.  Longer values are cut: still one key each. */
static bool rl_key(char kind, const char *v, char key[RL_KEY_MAX])
{
	if (!v || !v[0])
		return false;
	size_t n = 0;
	key[n++] = kind;
	key[n++] = ':';
	for (; *v && n + 1 < RL_KEY_MAX; v++)
		key[n++] = kind == 'u' ? (char)tolower((unsigned char)*v) : *v;
	key[n] = '\0';
	return true;
}

static bool rl_idle(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	return s->locked_until <= now && now - s->window_us >= rl->window_us;
}

/* Which slot a new key takes: free or idle first (0), then unlocked (1),
 * then locked (2); the oldest within a class. */
static int rl_class(const struct api_rl *rl, const struct rl_slot *s, int64_t now)
{
	if (!s->key[0] || rl_idle(rl, s, now))
		return 0;
	return s->locked_until > now ? 2 : 1;
}

/* The slot of key, or NULL; with make, a new one when absent. */
static struct rl_slot *rl_find(struct api_rl *rl, const char *key, bool make, int64_t now)
{
	struct rl_slot *victim = NULL;
	int vclass = 3;
	for (unsigned i = 0; i < rl->cap; i++) {
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

static int64_t rl_locked(struct api_rl *rl, char kind, const char *v, int64_t now)
{
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key(kind, v, key) ? rl_find(rl, key, false, now) : NULL;
	return s && s->locked_until > now ? s->locked_until : 0;
}

int api_rl_check(struct api_rl *rl, const char *remote, const char *name, int64_t now_us,
		 int64_t *retry_after_us)
{
	int64_t a = rl_locked(rl, 'a', remote, now_us), u = rl_locked(rl, 'u', name, now_us);
	int64_t until = ES_MAX(a, u);
	if (retry_after_us)
		*retry_after_us = until;
	return until ? ES_ELIMIT : 0;
}

static void rl_count(struct api_rl *rl, char kind, const char *v, int64_t now)
{
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key(kind, v, key) ? rl_find(rl, key, true, now) : NULL;
	if (!s)
		return;
	if (s->locked_until > now)
		return; /* already locked: the lock does not grow with attempts */
	if (now - s->window_us >= rl->window_us) {
		s->window_us = now;
		s->failures = 0;
	}
	s->last_us = now;
	if (++s->failures >= rl->max_failures) {
		s->locked_until = now + rl->lockout_us;
		s->failures = 0;
		s->window_us = now;
	}
}

void api_rl_failure(struct api_rl *rl, const char *remote, const char *name, int64_t now_us)
{
	rl_count(rl, 'a', remote, now_us);
	rl_count(rl, 'u', name, now_us);
}

void api_rl_success(struct api_rl *rl, const char *remote, const char *name, int64_t now_us)
{
	(void)remote;
	char key[RL_KEY_MAX];
	struct rl_slot *s = rl_key('u', name, key) ? rl_find(rl, key, false, now_us) : NULL;
	if (s && s->locked_until <= now_us)
		memset(s, 0, sizeof(*s));
}
