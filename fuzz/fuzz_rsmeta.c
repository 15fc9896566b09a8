/* fuzz_rsmeta.c - libFuzzer harness for rsmeta_parse (SIPREC metadata,
 * RFC 7865) through libxml2; when a document parses, every lookup helper
 * runs over it and it is merged into itself, then into a second parse of
 * itself as a partial and as a complete update.  The input is copied into
 * an exactly sized heap buffer so that ASan catches any over-read. */
#include "sip/rsmeta.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void walk(const struct rsmeta *m)
{
	if (m->nparts > RSMETA_MAX_ELEMS || m->nstreams > RSMETA_MAX_ELEMS ||
	    m->nsessions > RSMETA_MAX_ELEMS || m->ngroups > RSMETA_MAX_ELEMS)
		__builtin_trap();
	for (unsigned i = 0; i < m->nstreams; i++) {
		const struct rsmeta_stream *s = &m->streams[i];
		if (rsmeta_stream_find(m, s->id) == NULL)
			__builtin_trap();
		const struct rsmeta_participant *p = rsmeta_sender_of_label(m, s->label);
		if (p)
			sink += strlen(p->id) + (p->number ? strlen(p->number) : 0);
		sink += rsmeta_session_find(m, s->session_id) != NULL;
	}
	for (unsigned i = 0; i < m->nparts; i++) {
		const struct rsmeta_participant *p = &m->parts[i];
		if (rsmeta_participant_find(m, p->id) != p)
			__builtin_trap();
		sink += rsmeta_participant_left(p) + p->nsend + p->nrecv;
		for (unsigned k = 0; k < p->nnameids; k++)
			for (unsigned j = 0; j < p->nameids[k].nnames; j++)
				sink += strlen(p->nameids[k].names[j].name);
		for (unsigned k = 0; k < p->nsessions; k++)
			sink += strlen(p->sessions[k].session_id);
	}
	for (unsigned i = 0; i < m->nsessions; i++)
		for (unsigned k = 0; k < m->sessions[i].nsip_session_ids; k++)
			sink += strlen(m->sessions[i].sip_session_ids[k]);
	sink += strlen(rsmeta_datamode_name(m->datamode));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	struct rsmeta m, u;
	char err[128];
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	if (!p)
		goto out;
	memcpy(p, data, size);
	if (rsmeta_parse(&m, p, size, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			__builtin_trap(); /* every failure says why */
		goto out;
	}
	walk(&m);
	unsigned nparts = m.nparts;
	if (rsmeta_merge(&m, &m) != 0 || m.nparts != nparts)
		__builtin_trap();
	walk(&m);
	if (rsmeta_parse(&u, p, size, NULL, 0) != 0)
		__builtin_trap(); /* parsing is deterministic */
	u.datamode = RSMETA_PARTIAL;
	if (rsmeta_merge(&m, &u) == 0)
		walk(&m);
	u.datamode = RSMETA_COMPLETE;
	if (rsmeta_merge(&m, &u) == 0) {
		walk(&m);
		if (m.nparts != u.nparts || m.nstreams != u.nstreams)
			__builtin_trap();
	}
out:
	rsmeta_free(&u);
	rsmeta_free(&m);
	free(p);
	return 0;
}
