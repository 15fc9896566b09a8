/* endpoints.c - what the SDP announces: the addresses where each party of a
 * call receives (shared by several calls, learned from NAT), and the
 * payload map of its first audio and video streams. */
#include "record/record_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- endpoints ----------------------------------------------------------------- */

static bool ep_eq(const struct es_hnode *n, const void *key)
{
	return es_addr_eq(&ES_CONTAINER_OF(n, struct rec_endpoint, node)->addr, key);
}

struct rec_endpoint *rec_ep_find(struct es_htab *eps, const struct es_addr *a)
{
	struct es_hnode *n = es_htab_find(eps, es_addr_hash(a, 0), ep_eq, a);
	return n ? ES_CONTAINER_OF(n, struct rec_endpoint, node) : NULL;
}

static void ep_remove(struct es_htab *eps, struct rec_endpoint *ep)
{
	es_htab_remove(eps, &ep->node);
	free(ep);
}

int rec_ep_owner_index(const struct rec_endpoint *ep, const struct rec_call *rc)
{
	for (unsigned i = 0; i < ep->nown; i++)
		if (ep->own[i].call == rc)
			return (int)i;
	return -1;
}

/* Forget that rc uses addr. */
static void ep_drop(struct es_htab *eps, const struct es_addr *addr, const struct rec_call *rc)
{
	struct rec_endpoint *ep = rec_ep_find(eps, addr);
	if (!ep)
		return;
	int i = rec_ep_owner_index(ep, rc);
	if (i < 0)
		return;
	memmove(ep->own + i, ep->own + i + 1, (ep->nown - (unsigned)i - 1) * sizeof(ep->own[0]));
	if (--ep->nown == 0)
		ep_remove(eps, ep);
}

void rec_ep_add(struct es_htab *eps, struct rec_call *rc, int party, const struct es_addr *addr,
		int line, bool video)
{
	if (addr->family == ES_AF_NONE || addr->port == 0)
		return;
	struct rec_endpoint *ep = rec_ep_find(eps, addr);
	if (!ep) {
		ep = calloc(1, sizeof(*ep));
		if (!ep)
			return;
		ep->addr = *addr;
		if (es_htab_insert(eps, &ep->node, es_addr_hash(addr, 0))) {
			free(ep);
			return;
		}
	}
	int i = rec_ep_owner_index(ep, rc);
	if (i < 0) {
		if (ep->nown == REC_EP_OWNERS)
			ep->nown--; /* the oldest sharer loses the address */
		i = (int)ep->nown++;
	}
	/* move to the front */
	memmove(ep->own + 1, ep->own, (size_t)i * sizeof(ep->own[0]));
	ep->own[0] = (struct rec_ep_owner){rc, party, line, video};

	for (unsigned k = 0; k < rc->neps; k++)
		if (es_addr_eq(&rc->eps[k].addr, addr))
			return;
	if (rc->neps == REC_MAX_ENDPOINTS) {
		/* forget the call's oldest announcement */
		struct es_addr old = rc->eps[0].addr;
		memmove(rc->eps, rc->eps + 1, (REC_MAX_ENDPOINTS - 1) * sizeof(rc->eps[0]));
		rc->neps--;
		ep_drop(eps, &old, rc);
	}
	rc->eps[rc->neps++].addr = *addr;
}

void rec_ep_release_call(struct es_htab *eps, struct rec_call *rc)
{
	for (unsigned i = 0; i < rc->neps; i++)
		ep_drop(eps, &rc->eps[i].addr, rc);
	rc->neps = 0;
}

/* ---- payload maps ------------------------------------------------------------------------- */

void rec_media_from_sdp(struct rec_party_media *pm, const struct sdp_media *m)
{
	pm->nmap = 0;
	pm->te_pt = m->telephone_event_pt;
	for (unsigned i = 0; i < m->nfmt && pm->nmap < REC_MAX_PT; i++) {
		uint8_t pt = m->fmts[i];
		const struct sdp_rtpmap *map = sdp_rtpmap_find(m, pt);
		struct rec_ptmap *r = &pm->map[pm->nmap];
		r->pt = pt;
		r->clock = 0;
		r->channels = 0;
		r->name[0] = '\0';
		if (map && map->encoding.len) {
			r->clock = map->clock;
			r->channels = map->channels; /* L16/8000/2 is stereo */
			sl_copy(r->name, sizeof(r->name), map->encoding);
		} else {
			const struct rtp_pt_info *info = rtp_pt_static(pt);
			if (info) {
				r->clock = info->clock;
				r->channels = info->channels;
				snprintf(r->name, sizeof(r->name), "%s", info->name);
			}
		}
		pm->nmap++;
	}
}

void rec_ep_free_all(struct es_htab *eps)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(eps, &pos, &cur)))
		free(ES_CONTAINER_OF(n, struct rec_endpoint, node));
	es_htab_free(eps);
}
