/* htab.c - hashing and the intrusive chained hash table. */
#include "core.h"

#include <stdlib.h>

/* FNV-1a 64 with a final avalanche (es_hash_mix), so that the low bits used
 * for bucket selection depend on every input byte. */
uint64_t es_hash(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return es_hash_mix(h);
}

uint64_t es_hash_ci(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];
		if (c >= 'A' && c <= 'Z')
			c += 32;
		h ^= c;
		h *= UINT64_C(0x100000001b3);
	}
	return es_hash_mix(h);
}

int es_htab_init(struct es_htab *h, size_t hint)
{
	size_t nb = 16;
	while (nb < hint)
		nb *= 2;
	h->b = calloc(nb, sizeof(*h->b));
	if (!h->b)
		return ES_ENOMEM;
	h->nb = nb;
	h->n = 0;
	return 0;
}

void es_htab_free(struct es_htab *h)
{
	free(h->b);
	h->b = NULL;
	h->nb = h->n = 0;
}

struct es_hnode *es_htab_find(const struct es_htab *h, uint64_t hash,
			      es_htab_eq_fn eq, const void *key)
{
	if (!h->nb)
		return NULL;
	for (struct es_hnode *n = h->b[hash & (h->nb - 1)]; n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

static void grow(struct es_htab *h)
{
	size_t nb = h->nb * 2;
	struct es_hnode **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < h->nb; i++) {
		struct es_hnode *n = h->b[i];
		while (n) {
			struct es_hnode *next = n->next;
			size_t j = n->hash & (nb - 1);
			n->next = b[j];
			b[j] = n;
			n = next;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

int es_htab_insert(struct es_htab *h, struct es_hnode *n, uint64_t hash)
{
	if (!h->nb) {
		int err = es_htab_init(h, 16);
		if (err)
			return err;
	}
	if (h->n >= h->nb)
		grow(h);
	n->hash = hash;
	size_t i = hash & (h->nb - 1);
	n->next = h->b[i];
	h->b[i] = n;
	h->n++;
	return 0;
}

void es_htab_remove(struct es_htab *h, struct es_hnode *n)
{
	if (!h->nb)
		return;
	struct es_hnode **pp = &h->b[n->hash & (h->nb - 1)];
	while (*pp) {
		if (*pp == n) {
			*pp = n->next;
			h->n--;
			return;
		}
		pp = &(*pp)->next;
	}
}

struct es_hnode *es_htab_next(const struct es_htab *h, size_t *pos,
			      struct es_hnode **cur)
{
	/* *cur holds the node to return next within bucket *pos - 1, so the
	 * caller may remove the node it was just given. */
	if (*cur) {
		struct es_hnode *n = *cur;
		*cur = n->next;
		return n;
	}
	while (*pos < h->nb) {
		struct es_hnode *n = h->b[(*pos)++];
		if (n) {
			*cur = n->next;
			return n;
		}
	}
	return NULL;
}
