/*
 * handlers_health.c - GET /metrics (Prometheus text, api/metrics.h),
 * /healthz (the process answers) and /readyz (the index answers, the data
 * folder is there, a recorder writing here is capturing).  None needs a
 * login: they carry counters and states only, no personal data
 * (docs/OPERATIONS.md "Monitoring" says how to restrict who reaches them).
 */
#include "api/metrics.h"
#include "api/server_internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A recorder's status.json older than this is stale. */
#define SRV_STATUS_FRESH_S 10

static int send_text(struct srv_req *r, unsigned status, const char *ctype, const char *p,
		     size_t n)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return srv_queue(r, status, resp);
}

int srv_healthz(struct srv_req *r)
{
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return srv_method_not_allowed(r, "GET");
	return send_text(r, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3);
}

int srv_metrics(struct srv_req *r)
{
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return srv_method_not_allowed(r, "GET");
	struct api_server *s = r->srv;
	uint64_t codes[API_HTTP_CODES];
	for (unsigned i = 0; i < API_HTTP_CODES; i++)
		codes[i] = atomic_load_explicit(&s->http_codes[i], memory_order_relaxed);
	char *status = NULL;
	size_t len = 0;
	struct es_buf out;
	es_buf_init(&out);
	int err = api_status_read(s->data_dir, &status, &len);
	if (!err)
		err = api_metrics_render(&out, s->data_dir, status, len, srv_now_us(), codes);
	if (!err)
		err = es_buf_printf(&out,
				    "# HELP earshot_archive_range_bytes_total Bytes of archived "
				    "recordings fetched from the bucket by range for playback.\n"
				    "# TYPE earshot_archive_range_bytes_total counter\n"
				    "earshot_archive_range_bytes_total %llu\n",
				    (unsigned long long)atomic_load_explicit(&s->archive_range_bytes,
									  memory_order_relaxed));
	free(status);
	int rc = err ? srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory")
		     : send_text(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
				 (const char *)out.p, out.len);
	es_buf_free(&out);
	return rc;
}

/* The recorder's state from status.json: "none" (no recorder has run
 * here, or it stopped: its pid is gone), "capturing" (rewritten within
 * SRV_STATUS_FRESH_S), "stalled" (its process lives but stopped writing). */
static const char *recorder_state(const char *data_dir)
{
	char *st = NULL;
	size_t len = 0;
	if (api_status_read(data_dir, &st, &len) || !st)
		return "none";
	struct {
		double pid, updated_us;
	} v = {0, 0};
	const char *p = strstr(st, "\"pid\":"), *u = strstr(st, "\"updated_us\":");
	/* status.json is ours and NUL-free; the buffer is not NUL-ended */
	char tmp[32];
	if (p && (size_t)(p - st) + 6 < len) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)ES_MIN(len - (size_t)(p - st) - 6, 20), p + 6);
		v.pid = atof(tmp);
	}
	if (u && (size_t)(u - st) + 13 < len) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)ES_MIN(len - (size_t)(u - st) - 13, 24), u + 13);
		v.updated_us = atof(tmp);
	}
	free(st);
	if (v.pid <= 0 || (kill((pid_t)v.pid, 0) != 0 && errno == ESRCH))
		return "none";
	double age = ((double)srv_now_us() - v.updated_us) / 1e6;
	return age >= 0 && age < SRV_STATUS_FRESH_S ? "capturing" : "stalled";
}

int srv_readyz(struct srv_req *r)
{
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return srv_method_not_allowed(r, "GET");
	int64_t n;
	bool index_ok = idx_count_calls(r->ix, &n) == 0;
	struct stat sb;
	char rec[4200];
	snprintf(rec, sizeof(rec), "%s/recordings", r->srv->data_dir);
	bool data_ok = stat(r->srv->data_dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		       access(r->srv->data_dir, R_OK | X_OK) == 0 &&
		       (stat(rec, &sb) != 0 || access(rec, R_OK | X_OK) == 0);
	const char *recorder = recorder_state(r->srv->data_dir);
	bool ready = index_ok && data_ok && strcmp(recorder, "stalled") != 0;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "ready"); es_json_bool(&o.j, ready);
	es_json_key(&o.j, "index"); es_json_str(&o.j, index_ok ? "ok" : "failed");
	es_json_key(&o.j, "data"); es_json_str(&o.j, data_ok ? "ok" : "unusable");
	es_json_key(&o.j, "recorder"); es_json_str(&o.j, recorder);
	es_json_obj_end(&o.j);
	return srv_json_send(r, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, &o);
}
