/*
 * bundle_internal.h - what record/bundle.c gathers for an evidence bundle,
 * shared with the README's text (bundle_readme.c).  Not for other layers.
 */
#ifndef ES_RECORD_BUNDLE_INTERNAL_H
#define ES_RECORD_BUNDLE_INTERNAL_H

#include "core/core.h"
#include "index/index.h"
#include "store/ledger.h"

/* The recording row, copied out of the index callback. */
struct ev_rec {
	bool found;
	int64_t row;
	char path[ST_LEDGER_ID_MAX + 1];
	char format[16];
	char sha256[65];
	char plain[65];
	bool encrypted;
	bool too_long;
	char node[IDX_NODE_MAX];
};

/* Everything of the bundle but the audio, gathered before anything is
 * written. */
struct ev_parts {
	struct ev_rec rec;
	struct es_buf meta, leaf, proof, head, pub, readme, cons;
	struct es_buf tr[2]; /* the transcripts (record/transcript.c), empty: none */
	/* their tr leaves and inclusion proofs under the same head, empty when
	 * the ledger has none yet (record/tr_ledger.c) */
	struct es_buf trleaf[2], trproof[2];
	uint8_t trplain[2][32];
	struct st_ledger_entry e;
	struct st_head h;
	char audio_name[32];
};

/* The README of the bundle into p->readme: arg names the call, plen is
 * the recording's audit path length. */
void rec_bundle_readme(struct ev_parts *p, const char *arg, size_t plen);

#endif /* ES_RECORD_BUNDLE_INTERNAL_H */
