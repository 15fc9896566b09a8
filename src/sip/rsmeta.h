/*
 * rsmeta.h - SIPREC recording metadata (RFC 7865), the
 * application/rs-metadata+xml body an SRC sends in its INVITEs and
 * re-INVITEs (RFC 7866 6.1, 8).
 *
 * The XML is parsed with libxml2 into a tree and folded into plain structs:
 * groups, communication sessions, participants (with their session and
 * stream associations folded in) and streams.  Every string and array of a
 * struct rsmeta lives in its arena and stays valid until rsmeta_free(); none
 * points into the caller's XML buffer.
 *
 * Input is untrusted.  A document with a DOCTYPE is refused (no entity can be
 * declared, so neither XXE nor entity expansion is possible), the network is
 * never touched, the input size and element counts are capped
 * (ES_ELIMIT), and libxml2 never prints: its first message goes into err.
 * Unknown elements and elements of other namespaces (extensions, RFC 7865 6)
 * are ignored; the root must be <recording> in RSMETA_NS.
 */
#ifndef ES_SIP_RSMETA_H
#define ES_SIP_RSMETA_H

#include "core/core.h"

#define RSMETA_NS "urn:ietf:params:xml:ns:recording:1"
/* RFC 7865 has no consent element.  earshot's extension (RFC 7865 6 allows
 * elements of other namespaces): at most one
 *   <consent xmlns="urn:earshot:params:xml:ns:consent:1">yes</consent>
 * inside a <participant>, text "yes" or "no" (white space around allowed),
 * parsed strictly: any other text or a second one is ES_EPARSE naming the
 * participant (elsewhere it is an unknown extension element, ignored). */
#define RSMETA_CONSENT_NS "urn:earshot:params:xml:ns:consent:1"

enum rsmeta_consent { RSMETA_CONSENT_NONE = 0, RSMETA_CONSENT_YES, RSMETA_CONSENT_NO };
#define RSMETA_MAX_INPUT (256u * 1024u) /* bytes; larger = ES_ELIMIT */
/* Groups, sessions, participants and streams each, and also the
 * association elements of one document; more = ES_ELIMIT.  rsmeta_merge()
 * holds the merged result to the same bound. */
#define RSMETA_MAX_ELEMS 256u
/* nameIDs and names per participant, sipSessionIDs per session, send and
 * recv entries per association: more = ES_ELIMIT. */
#define RSMETA_MAX_LIST 256u

enum rsmeta_datamode {
	RSMETA_COMPLETE = 0, /* the whole metadata set (also when absent) */
	RSMETA_PARTIAL = 1,  /* only the changes since the last snapshot */
};

/* Times are microseconds since the Unix epoch, UTC (RFC 3339 / xs:dateTime
 * with "Z" or a +hh:mm offset); 0 = absent or not parseable. */

struct rsmeta_group {
	const char *id;           /* group_id */
	int64_t associate_us;
};

struct rsmeta_session {
	const char *id;           /* session_id */
	const char *group_id;     /* <group-ref> (or a group_id attribute); NULL = none */
	const char **sip_session_ids; /* <sipSessionID> values (RFC 7989) */
	unsigned nsip_session_ids;
	int64_t start_us, stop_us;                 /* <start-time>, <stop-time> */
	int64_t associate_us, disassociate_us;     /* <sessionrecordingassoc> */
};

struct rsmeta_name {
	const char *lang;         /* xml:lang; NULL = none */
	const char *name;         /* display name */
};

struct rsmeta_nameid {
	const char *aor;          /* the aor attribute; NULL = none */
	/* The AOR's user part, visual separators dropped when it is a phone
	 * number: "sip:+15551234@x" -> "+15551234", "tel:+1-555;x=y" -> "+1555";
	 * NULL when the AOR has no user part. */
	const char *number;
	struct rsmeta_name *names;
	unsigned nnames;
};

/* One <participantsessionassoc>. */
struct rsmeta_psess {
	const char *session_id;
	int64_t associate_us, disassociate_us;
};

struct rsmeta_participant {
	const char *id;           /* participant_id */
	struct rsmeta_nameid *nameids;
	unsigned nnameids;
	/* Shortcuts to the first nameID with that field (NULL = none). */
	const char *aor, *name, *number;
	struct rsmeta_psess *sessions; /* from <participantsessionassoc> */
	unsigned nsessions;
	const char **send, **recv;     /* stream ids, <participantstreamassoc> */
	unsigned nsend, nrecv;
	/* What this document said about the participant: a <participant>
	 * element (names), a <participantstreamassoc> (send/recv).  An
	 * association may name a participant the document does not declare
	 * (a partial update); it then appears here with has_names false. */
	bool has_names, has_streams;
	enum rsmeta_consent consent;   /* the consent extension, NONE = absent */
	unsigned cap_sessions;         /* private */
};

struct rsmeta_stream {
	const char *id;           /* stream_id */
	const char *session_id;   /* NULL = none */
	const char *label;        /* <label>: the SDP a=label (RFC 4574); NULL = none */
};

struct rsmeta {
	enum rsmeta_datamode datamode;
	/* The original call's SIP Call-ID when the SRC gave it in extension
	 * data (an element outside RSMETA_NS named callid, call-id or
	 * call_id); NULL = not given.  RFC 7865 itself only has sipSessionID. */
	const char *call_id;
	struct rsmeta_group *groups;
	struct rsmeta_session *sessions;
	struct rsmeta_participant *parts;
	struct rsmeta_stream *streams;
	unsigned ngroups, nsessions, nparts, nstreams;
	/* private: array capacities and the arena everything lives in */
	unsigned cap_groups, cap_sessions, cap_parts, cap_streams;
	struct es_arena arena;
};

/* Parse len bytes of metadata XML (no NUL needed) into *out, which the
 * caller owns and must rsmeta_free() whatever the result.  Errors:
 * ES_EINVAL (NULL arguments), ES_ELIMIT (too large, too many elements),
 * ES_EPARSE (not well-formed, DOCTYPE present, wrong root or namespace,
 * element without its id, bad datamode), ES_ENOMEM.  On error a one-line
 * English reason is written to err (always NUL-terminated when errlen > 0;
 * err may be NULL).  Safe to call from several threads. */
int rsmeta_parse(struct rsmeta *out, const char *xml, size_t len, char *err, size_t errlen);

/* Release everything *m owns and zero it; rsmeta_free of a zeroed struct is
 * a no-op. */
void rsmeta_free(struct rsmeta *m);

/* Fold update into *into (RFC 7865 5, RFC 7866 8.3).  A complete update
 * replaces everything.  A partial one adds or updates by id: groups,
 * sessions and streams field by field (fields the update carries win);
 * participants get their names replaced when the update has a <participant>
 * for them, their send/recv lists replaced when it has a
 * <participantstreamassoc>, and their session associations (including
 * disassociate times) added or updated per session.  update may be into.
 * ES_ELIMIT when the result would exceed RSMETA_MAX_ELEMS; ES_ENOMEM.  On
 * error *into is valid but may be half-merged.  Superseded strings stay in
 * into's arena until rsmeta_free. */
int rsmeta_merge(struct rsmeta *into, const struct rsmeta *update);

/* Lookups by id (exact string match); NULL when absent. */
const struct rsmeta_participant *rsmeta_participant_find(const struct rsmeta *m, const char *id);
const struct rsmeta_stream *rsmeta_stream_find(const struct rsmeta *m, const char *id);
const struct rsmeta_session *rsmeta_session_find(const struct rsmeta *m, const char *id);
/* The first stream whose <label> is label; NULL when none. */
const struct rsmeta_stream *rsmeta_stream_by_label(const struct rsmeta *m, const char *label);
/* The participant that sends the stream labelled label (the SDP a=label of
 * the recording session, RFC 7866 9.1); NULL when no stream has that label
 * or nobody sends it. */
const struct rsmeta_participant *rsmeta_sender_of_label(const struct rsmeta *m, const char *label);
/* True when every session association of p has a disassociate time (the
 * participant has left); false when it has none. */
bool rsmeta_participant_left(const struct rsmeta_participant *p);

/* "complete" or "partial". */
const char *rsmeta_datamode_name(enum rsmeta_datamode d);

#endif
