/* import.c - reading a capture file into the engine. */
#include "record/record.h"

#include <stdio.h>
#include <string.h>

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
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	uint64_t frame;
	int rc;
	while ((rc = net_file_next(f, &data, &caplen, &ts, &frame)) == 1) {
		if (res->frames == 0)
			res->first_us = ts;
		res->last_us = ts;
		res->frames++;
		rec_engine_frame(e, dlt, data, caplen, ts, frame);
		if (progress && (res->frames & 0x3fff) == 0 && es_mono_us() >= next_report) {
			pr.bytes_done = net_file_offset(f);
			pr.frames = res->frames;
			pr.calls = rec_engine_stats(e)->calls + rec_engine_stats(e)->active_calls;
			progress(ud, &pr);
			next_report = es_mono_us() + 200000;
		}
	}
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
