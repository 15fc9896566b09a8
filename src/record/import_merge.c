/* import_merge.c - several capture files read as one capture: their frames
 * merged by capture time, so that the calls found do not depend on the
 * order the files are given in (rotated captures, one file per sensor). */
#include "record/record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One input: its reader (times checked per file, import.c) and the frame
 * waiting to be fed. */
struct merge_in {
	struct rec_imp r;
	int dlt;
	struct rec_imp_frame fr; /* valid until the next read of r */
	int64_t ts;              /* fr.ts, the heap's key */
	struct rec_import_result *res;
};

/* Min-heap of inputs by (time, position on the command line): equal times
 * keep the given order, so the merge is deterministic. */
static bool in_before(const struct merge_in *a, const struct merge_in *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->res < b->res);
}

static void heap_down(struct merge_in **h, unsigned n, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i;
		if (l < n && in_before(h[l], h[m]))
			m = l;
		if (l + 1 < n && in_before(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct merge_in *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Read the next frame of in; false at its end or on an error (kept in its
 * result, naming the file and frame). */
static bool in_next(struct merge_in *in)
{
	if (!rec_imp_next(&in->r, &in->fr))
		return false;
	in->ts = in->fr.ts;
	return true;
}

/* Fill pr with the reading so far; hand it to progress (when not NULL). */
static void report(rec_progress_fn progress, void *ud, struct rec_engine *e,
		   struct rec_progress *pr, const struct merge_in *ins, unsigned n, uint64_t frames)
{
	pr->bytes_done = 0;
	for (unsigned i = 0; i < n; i++)
		pr->bytes_done += ins[i].r.f ? net_file_offset(ins[i].r.f) : 0;
	pr->frames = frames;
	pr->calls = rec_engine_stats(e)->calls + rec_engine_stats(e)->active_calls;
	if (progress)
		progress(ud, pr);
}

int rec_import_files(struct rec_engine *e, const char *const *paths, unsigned n,
		     rec_progress_fn progress, void *ud, struct rec_import_result *res)
{
	if (n == 0)
		return 0;
	if (n > REC_IMPORT_MAX_FILES) {
		memset(res, 0, sizeof(*res));
		snprintf(res->error, sizeof(res->error),
			 "%u capture files at once: at most %d (merge them first, e.g. with mergecap)",
			 n, REC_IMPORT_MAX_FILES);
		res->status = ES_EINVAL;
		return ES_EINVAL;
	}
	struct merge_in *ins = calloc(n, sizeof(*ins));
	struct merge_in **heap = calloc(n, sizeof(*heap));
	int err = 0;
	if (!ins || !heap) {
		err = ES_ENOMEM;
		goto out;
	}
	struct rec_progress pr = {.path = n == 1 ? paths[0] : "capture files"};
	unsigned nheap = 0;
	for (unsigned i = 0; i < n; i++) {
		struct merge_in *in = &ins[i];
		in->res = &res[i];
		int rc = rec_imp_open(&in->r, paths[i], &res[i]);
		if (rc) {
			err = err ? err : rc;
			continue;
		}
		pr.bytes_total += net_file_size(in->r.f);
		in->dlt = net_file_dlt(in->r.f);
		if (in_next(in))
			heap[nheap++] = in;
	}
	for (unsigned i = nheap; i-- > 0;)
		heap_down(heap, nheap, i);

	uint64_t frames = 0;
	int64_t next_report = es_mono_us() + 200000;
	while (nheap) {
		struct merge_in *in = heap[0];
		frames++;
		if (in->fr.fixed)
			rec_engine_time_fixed(e);
		rec_engine_frame(e, in->dlt, in->fr.data, in->fr.len, in->ts, in->fr.frame);
		if (!in_next(in))
			heap[0] = heap[--nheap];
		heap_down(heap, nheap, 0);
		if (progress && (frames & 0x3fff) == 0 && es_mono_us() >= next_report) {
			report(progress, ud, e, &pr, ins, n, frames);
			next_report = es_mono_us() + 200000;
		}
	}
	if (progress) {
		report(NULL, NULL, e, &pr, ins, n, frames);
		pr.bytes_done = pr.bytes_total; /* the bar ends even when a file was cut */
		progress(ud, &pr);
	}
	for (unsigned i = 0; i < n; i++)
		if (res[i].status && !err)
			err = res[i].status;
out:
	if (ins)
		for (unsigned i = 0; i < n; i++)
			rec_imp_close(&ins[i].r);
	free(ins);
	free(heap);
	return err;
}
