/*
 * rsmeta_internal.h - what rsmeta.c (parsing) shares with rsmeta_merge.c
 * (lookups, merge); not for other modules.
 */
#ifndef ES_SIP_RSMETA_INTERNAL_H
#define ES_SIP_RSMETA_INTERNAL_H

#include "sip/rsmeta.h"

/* Find by id, or append a zeroed element with a copy of id (in m's arena);
 * NULL with *rc = ES_ELIMIT (RSMETA_MAX_ELEMS reached) or ES_ENOMEM.
 * *added (may be NULL) is set when a new element was appended.  Appending
 * may move the array: earlier pointers into it stay readable (the arena
 * keeps the old copy) but are no longer the live element. */
struct rsmeta_group *rsm_group_get(struct rsmeta *m, const char *id, bool *added, int *rc);
struct rsmeta_session *rsm_session_get(struct rsmeta *m, const char *id, bool *added, int *rc);
struct rsmeta_participant *rsm_part_get(struct rsmeta *m, const char *id, bool *added, int *rc);
struct rsmeta_stream *rsm_stream_get(struct rsmeta *m, const char *id, bool *added, int *rc);
/* The same for one participant's session association, in arena a. */
struct rsmeta_psess *rsm_psess_get(struct es_arena *a, struct rsmeta_participant *p,
				   const char *session_id, int *rc);
/* Point p's aor/name/number shortcuts at the first nameID having each. */
void rsm_part_shortcuts(struct rsmeta_participant *p);

#endif
