/* rsmeta_merge.c - lookups over parsed SIPREC metadata and the merge of
 * partial and complete updates (RFC 7865 5). */
#include "sip/rsmeta.h"
#include "sip/rsmeta_internal.h"

#include <string.h>

/* ---- lookups --------------------------------------------------------------- */

const struct rsmeta_participant *rsmeta_participant_find(const struct rsmeta *m, const char *id)
{
	for (unsigned i = 0; m && id && i < m->nparts; i++)
		if (strcmp(m->parts[i].id, id) == 0)
			return &m->parts[i];
	return NULL;
}

const struct rsmeta_stream *rsmeta_stream_find(const struct rsmeta *m, const char *id)
{
	for (unsigned i = 0; m && id && i < m->nstreams; i++)
		if (strcmp(m->streams[i].id, id) == 0)
			return &m->streams[i];
	return NULL;
}

const struct rsmeta_session *rsmeta_session_find(const struct rsmeta *m, const char *id)
{
	for (unsigned i = 0; m && id && i < m->nsessions; i++)
		if (strcmp(m->sessions[i].id, id) == 0)
			return &m->sessions[i];
	return NULL;
}

const struct rsmeta_stream *rsmeta_stream_by_label(const struct rsmeta *m, const char *label)
{
	for (unsigned i = 0; m && label && i < m->nstreams; i++)
		if (m->streams[i].label && strcmp(m->streams[i].label, label) == 0)
			return &m->streams[i];
	return NULL;
}

const struct rsmeta_participant *rsmeta_sender_of_label(const struct rsmeta *m, const char *label)
{
	/* Several sessions may reuse a label: take the first labelled stream
	 * somebody sends. */
	for (unsigned i = 0; m && label && i < m->nstreams; i++) {
		const struct rsmeta_stream *s = &m->streams[i];
		if (!s->label || strcmp(s->label, label) != 0)
			continue;
		for (unsigned j = 0; j < m->nparts; j++) {
			const struct rsmeta_participant *p = &m->parts[j];
			for (unsigned k = 0; k < p->nsend; k++)
				if (strcmp(p->send[k], s->id) == 0)
					return p;
		}
	}
	return NULL;
}

bool rsmeta_participant_left(const struct rsmeta_participant *p)
{
	if (!p || !p->nsessions)
		return false;
	for (unsigned i = 0; i < p->nsessions; i++)
		if (!p->sessions[i].disassociate_us)
			return false;
	return true;
}

/* ---- merge (RFC 7865 5: datamode) ------------------------------------------ */

static const char **copy_strv(struct es_arena *a, const char *const *v, unsigned n, bool *oom)
{
	if (!n)
		return NULL;
	const char **r = es_arena_alloc(a, n * sizeof(*r));
	if (!r) {
		*oom = true;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		r[i] = es_arena_strdup(a, v[i], oom);
	return r;
}

static struct rsmeta_nameid *copy_nameids(struct es_arena *a, const struct rsmeta_nameid *v,
					  unsigned n, bool *oom)
{
	if (!n)
		return NULL;
	struct rsmeta_nameid *r = es_arena_alloc(a, n * sizeof(*r));
	if (!r) {
		*oom = true;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		r[i].aor = es_arena_strdup(a, v[i].aor, oom);
		r[i].number = es_arena_strdup(a, v[i].number, oom);
		r[i].nnames = 0;
		r[i].names = v[i].nnames ? es_arena_alloc(a, v[i].nnames * sizeof(*r[i].names)) : NULL;
		if (v[i].nnames && !r[i].names) {
			*oom = true;
			continue;
		}
		for (unsigned k = 0; k < v[i].nnames; k++) {
			r[i].names[k].lang = es_arena_strdup(a, v[i].names[k].lang, oom);
			r[i].names[k].name = es_arena_strdup(a, v[i].names[k].name, oom);
		}
		r[i].nnames = v[i].nnames;
	}
	return r;
}

static int merge_part(struct rsmeta *into, const struct rsmeta_participant *u)
{
	struct es_arena *a = &into->arena;
	int rc = 0;
	bool oom = false;
	struct rsmeta_participant *p = rsm_part_get(into, u->id, NULL, &rc);
	if (!p)
		return rc;
	if (u->consent != RSMETA_CONSENT_NONE)
		p->consent = u->consent; /* the newest statement counts */
	if (u->has_names) {
		struct rsmeta_nameid *ni = copy_nameids(a, u->nameids, u->nnameids, &oom);
		p->nameids = ni;
		p->nnameids = oom ? 0 : u->nnameids;
		p->has_names = true;
		rsm_part_shortcuts(p);
	}
	if (u->has_streams) {
		const char **send = copy_strv(a, u->send, u->nsend, &oom);
		const char **recv = copy_strv(a, u->recv, u->nrecv, &oom);
		unsigned nsend = u->nsend, nrecv = u->nrecv;
		p->send = send;
		p->recv = recv;
		p->nsend = oom ? 0 : nsend;
		p->nrecv = oom ? 0 : nrecv;
		p->has_streams = true;
	}
	for (unsigned i = 0, n = u->nsessions; i < n && !oom; i++) {
		struct rsmeta_psess us = u->sessions[i];
		struct rsmeta_psess *ps = rsm_psess_get(a, p, us.session_id, &rc);
		if (!ps)
			return rc;
		if (us.associate_us)
			ps->associate_us = us.associate_us;
		if (us.disassociate_us)
			ps->disassociate_us = us.disassociate_us;
	}
	return oom ? ES_ENOMEM : 0;
}

static int merge_partial(struct rsmeta *into, const struct rsmeta *up)
{
	struct es_arena *a = &into->arena;
	int rc = 0;
	bool oom = false;
	/* Counts are read once: when up == into, nothing is added anyway. */
	for (unsigned i = 0, n = up->ngroups; i < n; i++) {
		struct rsmeta_group u = up->groups[i];
		struct rsmeta_group *g = rsm_group_get(into, u.id, NULL, &rc);
		if (!g)
			return rc;
		if (u.associate_us)
			g->associate_us = u.associate_us;
	}
	for (unsigned i = 0, n = up->nsessions; i < n; i++) {
		struct rsmeta_session u = up->sessions[i];
		struct rsmeta_session *s = rsm_session_get(into, u.id, NULL, &rc);
		if (!s)
			return rc;
		if (u.group_id)
			s->group_id = es_arena_strdup(a, u.group_id, &oom);
		if (u.nsip_session_ids) {
			s->sip_session_ids = copy_strv(a, u.sip_session_ids, u.nsip_session_ids, &oom);
			s->nsip_session_ids = oom ? 0 : u.nsip_session_ids;
		}
		if (u.start_us)
			s->start_us = u.start_us;
		if (u.stop_us)
			s->stop_us = u.stop_us;
		if (u.associate_us)
			s->associate_us = u.associate_us;
		if (u.disassociate_us)
			s->disassociate_us = u.disassociate_us;
	}
	for (unsigned i = 0, n = up->nstreams; i < n; i++) {
		struct rsmeta_stream u = up->streams[i];
		struct rsmeta_stream *s = rsm_stream_get(into, u.id, NULL, &rc);
		if (!s)
			return rc;
		if (u.session_id)
			s->session_id = es_arena_strdup(a, u.session_id, &oom);
		if (u.label)
			s->label = es_arena_strdup(a, u.label, &oom);
	}
	for (unsigned i = 0, n = up->nparts; i < n && !oom; i++) {
		struct rsmeta_participant u = up->parts[i];
		if ((rc = merge_part(into, &u)))
			return rc;
	}
	return oom ? ES_ENOMEM : 0;
}

int rsmeta_merge(struct rsmeta *into, const struct rsmeta *update)
{
	if (!into || !update)
		return ES_EINVAL;
	if (update->datamode == RSMETA_COMPLETE) {
		if (update == into)
			return 0;
		/* A complete snapshot replaces everything; the old arrays stay
		 * in the arena until rsmeta_free. */
		into->groups = NULL;
		into->sessions = NULL;
		into->parts = NULL;
		into->streams = NULL;
		into->ngroups = into->nsessions = into->nparts = into->nstreams = 0;
		into->cap_groups = into->cap_sessions = into->cap_parts = into->cap_streams = 0;
		into->datamode = RSMETA_COMPLETE;
		into->call_id = NULL;
	}
	if (update->call_id && update != into) {
		size_t n = strlen(update->call_id) + 1;
		char *p = es_arena_alloc(&into->arena, n);
		if (!p)
			return ES_ENOMEM;
		memcpy(p, update->call_id, n);
		into->call_id = p;
	}
	return merge_partial(into, update);
}
