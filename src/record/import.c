/*
 * import.c - reading a capture file into the engine.
 *
 * Capture times are trusted only as far as their neighbours agree: one
 * flipped byte in a pcap or pcapng timestamp can put a frame hours away
 * from the rest, which would move the engine's clock (ending every call as
 * idle) and stretch a recording over the gap.  A frame more than
 * IMPORT_JUMP_US away from the one before is held until the next frame
 * says which was right: when the next one is back near the frame before,
 * the held frame alone jumped and gets its successor's time (the call it
 * belongs to is flagged capture_time_fixed); otherwise the capture's clock
 * really moved (a quiet spell, a clock step) and it keeps its own.
 */
#include "record/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "import"
#define IMPORT_JUMP_US (INT64_C(1) * ES_US_PER_SEC)
/* the file's last frame has no successor to ask: only a jump longer than
 * any call's idle time is taken for damage there */
#define IMPORT_LAST_JUMP_US (INT64_C(300) * ES_US_PER_SEC)

struct held {
	bool have;
	uint8_t *data;
	size_t len, cap;
	int64_t ts;
	uint64_t frame;
};

static int64_t dist(int64_t a, int64_t b)
{
	int64_t d;
	if (__builtin_sub_overflow(a, b, &d) || d == INT64_MIN)
		return INT64_MAX;
	return d < 0 ? -d : d;
}

static int hold(struct held *h, const uint8_t *data, size_t len, int64_t ts, uint64_t frame)
{
	if (len > h->cap) {
		uint8_t *p = realloc(h->data, len);
		if (!p)
			return ES_ENOMEM;
		h->data = p;
		h->cap = len;
	}
	memcpy(h->data, data, len);
	h->len = len;
	h->ts = ts;
	h->frame = frame;
	h->have = true;
	return 0;
}

/* Hand the held frame on, at its own time or, when it alone jumped, at
 * its neighbour's time `near` (the frame after it, but at the end of the
 * file). */
static void release(struct rec_engine *e, int dlt, struct held *h, bool alone, int64_t near,
		    const char *path, struct rec_import_result *res)
{
	int64_t ts = h->ts;
	if (alone) {
		ES_LOG_WARNING(TAG, "%s: frame %llu: capture time %+.3f s away from the frames "
			       "around it: taken as its neighbour's",
			       path, (unsigned long long)h->frame, (double)(h->ts - near) / 1e6);
		ts = near;
		res->times_fixed++;
		rec_engine_time_fixed(e);
	}
	rec_engine_frame(e, dlt, h->data, h->len, ts, h->frame);
	h->have = false;
}

int rec_import_file(struct rec_engine *e, const char *path, rec_progress_fn progress,
		    void *ud, struct rec_import_result *res)
{
	memset(res, 0, sizeof(*res));
	struct net_file *f = NULL;
	int err = net_file_open(&f, path, res->error, sizeof(res->error));
	if (err) {
		res->status = err;
		return err;
	}
	int dlt = net_file_dlt(f);
	struct rec_progress pr = {.path = path, .bytes_total = net_file_size(f)};
	int64_t next_report = es_mono_us() + 200000;
	struct held h = {0};
	struct held first = {0}; /* the file's first frame, until a later one vouches for it */
	bool started = false;    /* prev is known */
	int64_t prev = 0;        /* time of the last frame handed on */
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	uint64_t frame;
	int rc;
	while ((rc = net_file_next(f, &data, &caplen, &ts, &frame)) == 1) {
		if (res->frames == 0)
			res->first_us = ts;
		res->frames++;
		if (!started) {
			/* the first frame has no frame before it: the next one
			 * or two say whether it alone jumped */
			bool near1 = first.have && dist(ts, first.ts) <= IMPORT_JUMP_US;
			if (!first.have || (!near1 && !h.have)) {
				if (hold(first.have ? &h : &first, data, caplen, ts, frame) == 0)
					continue;
			}
			if (first.have) {
				bool near2 = h.have && dist(ts, h.ts) <= IMPORT_JUMP_US;
				release(e, dlt, &first, near2, near2 ? h.ts : first.ts, path, res);
				prev = near2 ? h.ts : first.ts;
			}
			started = true;
		}
		if (h.have) {
			/* alone, it takes the time of the frame after it: a late
			 * time only adds to what the renderer takes for network
			 * delay, an early one would move the audio */
			bool alone = dist(ts, prev) <= IMPORT_JUMP_US && dist(ts, h.ts) > IMPORT_JUMP_US;
			release(e, dlt, &h, alone, ts, path, res);
			prev = alone ? ts : h.ts;
		}
		if (res->frames > 1 && dist(ts, prev) > IMPORT_JUMP_US &&
		    hold(&h, data, caplen, ts, frame) == 0)
			continue;
		prev = ts;
		rec_engine_frame(e, dlt, data, caplen, ts, frame);
		if (progress && (res->frames & 0x3fff) == 0 && es_mono_us() >= next_report) {
			pr.bytes_done = net_file_offset(f);
			pr.frames = res->frames;
			pr.calls = rec_engine_stats(e)->calls + rec_engine_stats(e)->active_calls;
			progress(ud, &pr);
			next_report = es_mono_us() + 200000;
		}
	}
	if (first.have) {
		prev = first.ts;
		release(e, dlt, &first, false, prev, path, res);
	}
	if (h.have) {
		bool alone = dist(h.ts, prev) > IMPORT_LAST_JUMP_US;
		if (!alone)
			prev = h.ts;
		release(e, dlt, &h, alone, prev, path, res);
	}
	free(h.data);
	free(first.data);
	res->last_us = prev;
	if (rc < 0) {
		res->status = rc;
		snprintf(res->error, sizeof(res->error), "%s", net_file_error(f));
	}
	if (progress) {
		pr.bytes_done = pr.bytes_total;
		pr.frames = res->frames;
		pr.calls = rec_engine_stats(e)->calls + rec_engine_stats(e)->active_calls;
		progress(ud, &pr);
	}
	net_file_close(f);
	return rc < 0 ? rc : 0;
}
