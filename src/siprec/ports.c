/* ports.c - the RTP port pool of the recording server.
 *
 * Each take starts its search at a random pair (libsodium), so the ports of
 * the next session cannot be guessed from those of the last: a host that
 * could guess them could send media to a session's ports before its
 * recording client does.  A pair given back rests (see siprec.h). */
#include "siprec/siprec.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct srs_ports {
	uint16_t first;   /* lowest even port */
	unsigned npairs;
	uint8_t *taken;   /* one flag per pair */
	uint64_t *given;  /* per pair: the give count when it was given back, 0 = never */
	uint64_t gives;   /* pairs given back so far */
	unsigned used;
};

int srs_ports_new(struct srs_ports **out, uint16_t lo, uint16_t hi)
{
	unsigned first = lo + (lo & 1u);
	if (lo == 0 || hi < lo || first + 1 > hi)
		return ES_EINVAL;
	if (sodium_init() < 0)
		return ES_EIO;
	struct srs_ports *p = calloc(1, sizeof(*p));
	if (!p)
		return ES_ENOMEM;
	p->first = (uint16_t)first;
	p->npairs = ((unsigned)hi - first + 1) / 2;
	p->taken = calloc(p->npairs, 1);
	p->given = calloc(p->npairs, sizeof(*p->given));
	if (!p->taken || !p->given) {
		srs_ports_free(p);
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
	free(p->given);
	free(p);
}

/* Whether pair i rests: given back while fewer than half the pool's pairs
 * were given back after it. */
static bool resting(const struct srs_ports *p, unsigned i)
{
	return p->given[i] && p->gives - p->given[i] < p->npairs / 2;
}

/* The first run of npairs free pairs from a random start (not wrapping
 * round the end of the range), skipping resting pairs when rest is set;
 * npairs when there is none. */
static unsigned find_run(const struct srs_ports *p, unsigned npairs, unsigned start, bool rest)
{
	for (unsigned k = 0; k < p->npairs; k++) {
		unsigned i = (start + k) % p->npairs;
		if (i + npairs > p->npairs)
			continue;
		unsigned j = 0;
		while (j < npairs && !p->taken[i + j] && !(rest && resting(p, i + j)))
			j++;
		if (j == npairs)
			return i;
	}
	return p->npairs;
}

int srs_ports_take_block(struct srs_ports *p, unsigned npairs, uint16_t *first)
{
	if (npairs == 0 || npairs > p->npairs || p->npairs - p->used < npairs)
		return ES_ELIMIT;
	unsigned start = randombytes_uniform(p->npairs);
	unsigned i = find_run(p, npairs, start, true);
	if (i == p->npairs)
		i = find_run(p, npairs, start, false);
	if (i == p->npairs)
		return ES_ELIMIT;
	for (unsigned j = 0; j < npairs; j++)
		p->taken[i + j] = 1;
	p->used += npairs;
	*first = (uint16_t)(p->first + 2 * i);
	return 0;
}

int srs_ports_take(struct srs_ports *p, uint16_t *port)
{
	return srs_ports_take_block(p, 1, port);
}

void srs_ports_give(struct srs_ports *p, uint16_t port)
{
	if (port < p->first || (port - p->first) & 1u)
		return;
	unsigned i = (unsigned)(port - p->first) / 2;
	if (i >= p->npairs || !p->taken[i])
		return;
	p->taken[i] = 0;
	p->given[i] = ++p->gives;
	p->used--;
}

unsigned srs_ports_available(const struct srs_ports *p) { return p->npairs - p->used; }
