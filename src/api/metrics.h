/*
 * metrics.h - the Prometheus text exposition (format 0.0.4) of a recorder's
 * counters, read from the status.json it rewrites every second
 * (DATA/run/status.json), plus disk free and the HTTP requests by status.
 * One renderer for `earshot serve` and for the recorder's own listener
 * ([metrics] listen): both read the same file, so the figures agree.
 * Metric names and meanings: docs/OPERATIONS.md "Monitoring".  No personal
 * data: counters and gauges only, no numbers, URIs or addresses.
 */
#ifndef ES_API_METRICS_H
#define ES_API_METRICS_H

#include "core/core.h"

#define API_HTTP_CODES 500 /* status 100..599 */

/* Walk the status JSON: fn gets each number (and true/false as 1/0) with
 * its path, dot-separated ("active_calls", "srs.dropped.tcp_limit",
 * "workers.0.queue_bytes"; array elements by index), and each string with
 * str set (num 0).  Depth is bounded (8) and paths past 96 bytes are cut;
 * ES_EPARSE on malformed JSON (what was reported before stays reported).
 * A parser of file input: fuzz/fuzz_metrics.c. */
typedef void (*api_status_fn)(void *ud, const char *path, double num, const char *str,
			      size_t str_len);
int api_status_scan(const char *json, size_t len, api_status_fn fn, void *ud);

/* Append the exposition to out: the recorder's figures from status (may be
 * NULL or empty: no recorder has written one), how old it is at now_us,
 * disk free of data_dir, and the HTTP requests counted in http_codes
 * (API_HTTP_CODES entries, or NULL).  ES_ENOMEM. */
int api_metrics_render(struct es_buf *out, const char *data_dir, const char *status,
		       size_t status_len, int64_t now_us, const uint64_t *http_codes);

/* Bytes free for earshot (not root) in dir's file system; -1 unknown. */
int64_t api_disk_free(const char *dir);

/* Read DATA/run/status.json into a malloc'd buffer (*out, *len); NULL and
 * 0 when there is none.  ES_ENOMEM. */
int api_status_read(const char *data_dir, char **out, size_t *len);

#endif /* ES_API_METRICS_H */
