/*
 * live_call.c - a finished live call, deep-copied out of the worker that
 * finished it (its engine frees the call's memory right after), for the
 * thread that owns the index (record/live.c queues them).
 */
#include "record/record_internal.h"

#include <stdlib.h>

static void copy_party(struct es_arena *a, struct idx_party *p, bool *oom)
{
	p->uri = es_arena_strdup(a, p->uri, oom);
	p->user = es_arena_strdup(a, p->user, oom);
	p->display = es_arena_strdup(a, p->display, oom);
	p->pai = es_arena_strdup(a, p->pai, oom);
	p->ua = es_arena_strdup(a, p->ua, oom);
	p->sdp_addr = es_arena_strdup(a, p->sdp_addr, oom);
}

struct rec_live_call *rec_live_call_clone(const struct idx_call *c, const char *media_log)
{
	struct rec_live_call *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return NULL;
	struct es_arena *a = &lc->mem;
	bool oom = false;
	struct idx_call *o = &lc->call;
	*o = *c;
	o->call_id = es_arena_strdup(a, c->call_id, &oom);
	copy_party(a, &o->caller, &oom);
	copy_party(a, &o->callee, &oom);
	o->outcome = es_arena_strdup(a, c->outcome, &oom);
	o->end_reason = es_arena_strdup(a, c->end_reason, &oom);
	o->flags = es_arena_strdup(a, c->flags, &oom);
	o->extra_json = es_arena_strdup(a, c->extra_json, &oom);
	o->consent_json = es_arena_strdup(a, c->consent_json, &oom); /* consent[]: static names */
	o->source = es_arena_strdup(a, c->source, &oom);
	o->rule = es_arena_strdup(a, c->rule, &oom);
	o->recording = NULL;
	lc->media_log = es_arena_strdup(a, media_log, &oom);
	o->streams = c->nstreams ? es_arena_alloc(a, c->nstreams * sizeof(*o->streams)) : NULL;
	o->events = c->nevents ? es_arena_alloc(a, c->nevents * sizeof(*o->events)) : NULL;
	o->msgs = c->nmsgs ? es_arena_alloc(a, c->nmsgs * sizeof(*o->msgs)) : NULL;
	if ((c->nstreams && !o->streams) || (c->nevents && !o->events) || (c->nmsgs && !o->msgs))
		oom = true;
	for (unsigned i = 0; !oom && i < c->nstreams; i++) {
		o->streams[i] = c->streams[i];
		o->streams[i].payload_types = es_arena_strdup(a, c->streams[i].payload_types, &oom);
		o->streams[i].codecs = es_arena_strdup(a, c->streams[i].codecs, &oom);
		o->streams[i].rtcp_json = es_arena_strdup(a, c->streams[i].rtcp_json, &oom);
		o->streams[i].quality_json = es_arena_strdup(a, c->streams[i].quality_json, &oom);
	}
	for (unsigned i = 0; !oom && i < c->nevents; i++) {
		o->events[i] = c->events[i];
		o->events[i].kind = es_arena_strdup(a, c->events[i].kind, &oom);
		o->events[i].detail = es_arena_strdup(a, c->events[i].detail, &oom);
	}
	for (unsigned i = 0; !oom && i < c->nmsgs; i++) {
		o->msgs[i] = c->msgs[i];
		o->msgs[i].transport = es_arena_strdup(a, c->msgs[i].transport, &oom);
		o->msgs[i].label = es_arena_strdup(a, c->msgs[i].label, &oom);
		o->msgs[i].cseq_method = es_arena_strdup(a, c->msgs[i].cseq_method, &oom);
	}
	if (oom) {
		es_arena_free(a);
		free(lc);
		return NULL;
	}
	return lc;
}

struct idx_call *rec_live_call_row_mut(struct rec_live_call *c) { return &c->call; }
const char *rec_live_call_media_log(const struct rec_live_call *c) { return c->media_log; }

void rec_live_call_free(struct rec_live_call *c)
{
	if (!c)
		return;
	es_arena_free(&c->mem);
	free(c);
}

