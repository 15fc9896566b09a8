/*
 * import.c - reading one capture file's frames, with their capture times
 * checked against their neighbours.
 *
 * Capture times are trusted only as far as their neighbours agree: one
 * flipped byte in a pcap or pcapng timestamp can put a frame hours away
 * from the rest, which would move the engine's clock (ending every call as
 * idle) and stretch a recording over the gap.  A frame more than
 * IMPORT_JUMP_US away from the one before is decided by the frame after
 * it: when that one is back near the frame before, the frame alone jumped
 * and gets its successor's time (the call it belongs to is flagged
 * capture_time_fixed); otherwise the capture's clock really moved (a quiet
 * spell, a clock step) and it keeps its own.  The file's first frame is
 * decided by the two after it.
 *
 * The reader is pulled (rec_imp_next) by the merge of several files
 * (import_merge.c), so the check runs per file, before frames of
 * different files are ordered by time.  Frames are handed on as views
 * into libpcap's buffer; only the one or two frames read ahead around a
 * jump (and a file's first two) are copied.
 */
#include "record/record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "import"
#define IMPORT_JUMP_US (INT64_C(1) * ES_US_PER_SEC)
/* the file's last frame has no successor to ask: only a jump longer than
 * any call's idle time is taken for damage there */
#define IMPORT_LAST_JUMP_US (INT64_C(300) * ES_US_PER_SEC)

static int64_t dist(int64_t a, int64_t b)
{
	int64_t d;
	if (__builtin_sub_overflow(a, b, &d) || d == INT64_MIN)
		return INT64_MAX;
	return d < 0 ? -d : d;
}

int rec_imp_open(struct rec_imp *r, const char *path, struct rec_import_result *res)
{
	memset(r, 0, sizeof(*r));
	memset(res, 0, sizeof(*res));
	r->path = path;
	r->res = res;
	int err = net_file_open(&r->f, path, res->error, sizeof(res->error));
	if (err)
		res->status = err;
	return err;
}

void rec_imp_close(struct rec_imp *r)
{
	net_file_close(r->f);
	for (size_t i = 0; i < ES_ARRAY_LEN(r->buf); i++)
		free(r->buf[i].data);
	memset(r, 0, sizeof(*r));
}

/* Read one more frame onto the queue.  The frame that now points into
 * libpcap's buffer (the last one queued) is copied first, into its slot's
 * own buffer, since the read invalidates it.  false at the end or on an
 * error (kept in res, naming the file and frame). */
static bool fill(struct rec_imp *r)
{
	if (r->eof)
		return false;
	if (r->nq) {
		unsigned last = (r->head + r->nq - 1) % REC_IMP_AHEAD;
		struct rec_imp_frame *q = &r->q[last];
		struct rec_imp_buf *b = &r->buf[last];
		if (q->data != b->data) {
			if (q->len > b->cap) {
				uint8_t *p = realloc(b->data, q->len);
				if (!p) {
					r->res->status = ES_ENOMEM;
					snprintf(r->res->error, sizeof(r->res->error),
						 "%s: out of memory", r->path);
					r->eof = true;
					return false;
				}
				b->data = p;
				b->cap = q->len;
			}
			if (q->len) /* an empty frame may have no buffer at all */
				memcpy(b->data, q->data, q->len);
			q->data = b->data;
		}
	}
	struct rec_imp_frame *n = &r->q[(r->head + r->nq) % REC_IMP_AHEAD];
	int rc = net_file_next(r->f, &n->data, &n->len, &n->ts, &n->frame);
	if (rc != 1) {
		if (rc < 0) {
			r->res->status = rc;
			snprintf(r->res->error, sizeof(r->res->error), "%s", net_file_error(r->f));
		}
		r->eof = true;
		return false;
	}
	n->fixed = false;
	r->nq++;
	return true;
}

static const struct rec_imp_frame *at(const struct rec_imp *r, unsigned i)
{
	return &r->q[(r->head + i) % REC_IMP_AHEAD];
}

bool rec_imp_next(struct rec_imp *r, struct rec_imp_frame *out)
{
	unsigned need = r->started ? 1 : 3;
	while (r->nq < need && fill(r))
		;
	if (r->nq == 0)
		return false;
	struct rec_imp_frame f = *at(r, 0);
	if (!r->started) {
		/* the first frame has no frame before it: the next two say
		 * whether it alone jumped */
		if (r->nq >= 3 && dist(at(r, 1)->ts, f.ts) > IMPORT_JUMP_US &&
		    dist(at(r, 2)->ts, at(r, 1)->ts) <= IMPORT_JUMP_US) {
			f.ts = at(r, 1)->ts;
			f.fixed = true;
		}
	} else if (dist(f.ts, r->prev) > IMPORT_JUMP_US) {
		while (r->nq < 2 && fill(r))
			;
		f.data = at(r, 0)->data; /* reading ahead copied it out of libpcap's buffer */
		if (r->nq >= 2) {
			/* alone, it takes the time of the frame after it: a
			 * late time only adds to what the renderer takes for
			 * network delay, an early one would move the audio */
			int64_t next = at(r, 1)->ts;
			if (dist(next, r->prev) <= IMPORT_JUMP_US && dist(next, f.ts) > IMPORT_JUMP_US) {
				f.ts = next;
				f.fixed = true;
			}
		} else if (dist(f.ts, r->prev) > IMPORT_LAST_JUMP_US) {
			f.ts = r->prev;
			f.fixed = true;
		}
	}
	if (f.fixed) {
		ES_LOG_WARNING(TAG, "%s: frame %llu: capture time %+.3f s away from the frames "
			       "around it: taken as its neighbour's",
			       r->path, (unsigned long long)f.frame,
			       (double)(at(r, 0)->ts - f.ts) / 1e6);
		r->res->times_fixed++;
	}
	r->head = (r->head + 1) % REC_IMP_AHEAD;
	r->nq--;
	r->started = true;
	r->prev = f.ts;
	if (r->res->frames == 0)
		r->res->first_us = f.ts;
	r->res->last_us = f.ts;
	r->res->frames++;
	*out = f;
	return true;
}

int rec_import_file(struct rec_engine *e, const char *path, rec_progress_fn progress,
		    void *ud, struct rec_import_result *res)
{
	return rec_import_files(e, &path, 1, progress, ud, res);
}
