/* import_merge.c - several capture files read as one capture: their frames
 * merged by capture time, so that the calls found do not depend on the
 * order the files are given in (rotated captures, one file per sensor). */
#include "record/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One input: its file and the frame waiting to be fed. */
struct merge_in {
	struct net_file *f;
	const char *path;
	int dlt;
	const uint8_t *data; /* valid until the next read of f (libpcap) */
	size_t caplen;
	int64_t ts;
	uint64_t frame;
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
	int rc = net_file_next(in->f, &in->data, &in->caplen, &in->ts, &in->frame);
	if (rc == 1)
		return true;
	if (rc < 0) {
		in->res->status = rc;
		snprintf(in->res->error, sizeof(in->res->error), "%s", net_file_error(in->f));
	}
	return false;
}

/* Fill pr with the reading so far; hand it to progress (when not NULL). */
static void report(rec_progress_fn progress, void *ud, struct rec_engine *e,
		   struct rec_progress *pr, const struct merge_in *ins, unsigned n, uint64_t frames)
{
	pr->bytes_done = 0;
	for (unsigned i = 0; i < n; i++)
		pr->bytes_done += ins[i].f ? net_file_offset(ins[i].f) : 0;
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
		memset(&res[i], 0, sizeof(res[i]));
		in->res = &res[i];
		in->path = paths[i];
		int rc = net_file_open(&in->f, paths[i], res[i].error, sizeof(res[i].error));
		if (rc) {
			res[i].status = rc;
			err = err ? err : rc;
			continue;
		}
		pr.bytes_total += net_file_size(in->f);
		in->dlt = net_file_dlt(in->f);
		if (in_next(in))
			heap[nheap++] = in;
	}
	for (unsigned i = nheap; i-- > 0;)
		heap_down(heap, nheap, i);

	uint64_t frames = 0;
	int64_t next_report = es_mono_us() + 200000;
	while (nheap) {
		struct merge_in *in = heap[0];
		struct rec_import_result *r = in->res;
		if (r->frames == 0)
			r->first_us = in->ts;
		r->last_us = in->ts;
		r->frames++;
		frames++;
		rec_engine_frame(e, in->dlt, in->data, in->caplen, in->ts, in->frame);
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
			net_file_close(ins[i].f);
	free(ins);
	free(heap);
	return err;
}
