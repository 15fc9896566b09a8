/* arena.c - a bump allocator freed all at once. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

struct es_arena_chunk {
	struct es_arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_CHUNK 8192

void *es_arena_alloc(struct es_arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (n == 0)
		n = sizeof(max_align_t);
	struct es_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

const char *es_arena_strdup(struct es_arena *a, const char *s, bool *oom)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = es_arena_alloc(a, n);
	if (!p) {
		*oom = true;
		return NULL;
	}
	memcpy(p, s, n);
	return p;
}

void es_arena_free(struct es_arena *a)
{
	while (a->head) {
		struct es_arena_chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}
