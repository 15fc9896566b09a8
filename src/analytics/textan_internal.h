/* textan_internal.h - helpers shared by the textan*.c files only. */
#ifndef ES_ANALYTICS_TEXTAN_INTERNAL_H
#define ES_ANALYTICS_TEXTAN_INTERNAL_H

#include <stdlib.h>

/* Make room for one more element of size sz in *arr (count *n, capacity
 * *cap); 0 or ES_ENOMEM. */
static inline int ta_grow(void *arr, size_t *n, size_t *cap, size_t sz)
{
	void **a = (void **)arr;
	if (*n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*a, nc * sz);
	if (!p)
		return -3; /* ES_ENOMEM */
	*a = p;
	*cap = nc;
	return 0;
}

#endif
