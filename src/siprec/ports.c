/* ports.c - the RTP port pool of the recording server. */
#include "siprec/siprec.h"

#include <stdlib.h>
#include <string.h>

struct srs_ports {
	uint16_t first;   /* lowest even port */
	unsigned npairs;
	uint8_t *taken;   /* one flag per pair */
	unsigned next;    /* where the next search starts (round robin) */
	unsigned used;
};

int srs_ports_new(struct srs_ports **out, uint16_t lo, uint16_t hi)
{
	unsigned first = lo + (lo & 1u);
	if (lo == 0 || hi < lo || first + 1 > hi)
		return ES_EINVAL;
	struct srs_ports *p = calloc(1, sizeof(*p));
	if (!p)
		return ES_ENOMEM;
	p->first = (uint16_t)first;
	p->npairs = ((unsigned)hi - first + 1) / 2;
	p->taken = calloc(p->npairs, 1);
	if (!p->taken) {
		free(p);
		return ES_ENOMEM;
	}
	*out = p;
	return 0;
}

void srs_ports_free(struct srs_ports *p)
{
	if (!p)
		return;
	free(p->taken);
	free(p);
}

int srs_ports_take(struct srs_ports *p, uint16_t *port)
{
	for (unsigned k = 0; k < p->npairs; k++) {
		unsigned i = (p->next + k) % p->npairs;
		if (!p->taken[i]) {
			p->taken[i] = 1;
			p->used++;
			p->next = (i + 1) % p->npairs;
			*port = (uint16_t)(p->first + 2 * i);
			return 0;
		}
	}
	return ES_ELIMIT;
}

void srs_ports_give(struct srs_ports *p, uint16_t port)
{
	if (port < p->first || (port - p->first) & 1u)
		return;
	unsigned i = (unsigned)(port - p->first) / 2;
	if (i >= p->npairs || !p->taken[i])
		return;
	p->taken[i] = 0;
	p->used--;
}

unsigned srs_ports_available(const struct srs_ports *p) { return p->npairs - p->used; }

int srs_ports_take_block(struct srs_ports *p, unsigned npairs, uint16_t *first)
{
	if (npairs == 0 || npairs > p->npairs)
		return ES_ELIMIT;
	/* a run cannot wrap around the end of the range */
	for (unsigned k = 0; k < p->npairs; k++) {
		unsigned i = (p->next + k) % p->npairs;
		if (i + npairs > p->npairs)
			continue;
		unsigned j = 0;
		while (j < npairs && !p->taken[i + j])
			j++;
		if (j < npairs)
			continue;
		for (j = 0; j < npairs; j++)
			p->taken[i + j] = 1;
		p->used += npairs;
		p->next = (i + npairs) % p->npairs;
		*first = (uint16_t)(p->first + 2 * i);
		return 0;
	}
	return ES_ELIMIT;
}
