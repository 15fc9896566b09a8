/*
 * handlers_alerts.c - GET /api/alerts: the recent alert events a recorder
 * raised (DATA/alerts/events.jsonl and its rotated .1, one JSON event a
 * line, written by analytics/alert_outbox.c), newest first, and the
 * configured alerts (DATA/run/alerts.json, written at the recorder's start,
 * without secrets) for the admin page's read-only view.  Events name calls
 * and parties of any call, so the roles that may search every call see
 * them (an agent, who sees only their own calls, does not).  docs/ALERTS.md.
 */
#include "api/server_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV_ALERTS_DEFAULT 100
#define SRV_ALERTS_MAX 1000
#define SRV_ALERTS_FILE_MAX (4u << 20)

/* The whole of a small file (NUL-terminated), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n >= 0 && (unsigned long)n <= SRV_ALERTS_FILE_MAX && fseek(f, 0, SEEK_SET) == 0 &&
		    (buf = malloc((size_t)n + 1))) {
			*len = fread(buf, 1, (size_t)n, f);
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Up to *left events of text, newest (last line) first.  A line that is
 * not one whole object (a crash in the middle of a write) is skipped. */
static void events_newest_first(struct es_json *j, char *text, size_t len, unsigned *left)
{
	size_t end = len;
	while (end > 0 && *left) {
		size_t start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		size_t n = end - start;
		while (n && (text[start + n - 1] == '\n' || text[start + n - 1] == '\r'))
			n--;
		if (n >= 2 && text[start] == '{' && text[start + n - 1] == '}') {
			text[start + n] = '\0';
			es_json_raw(j, text + start);
			(*left)--;
		}
		end = start ? start - 1 : 0;
	}
}

int srv_alerts(struct srv_req *r)
{
	static const char *const params[] = {"limit", NULL};
	int rc;
	if (!srv_begin(r, params, &rc))
		return rc;
	if (!srv_allow(r, API_ACT_SEARCH, false, "alerts.list", NULL, &rc))
		return rc;
	unsigned limit = SRV_ALERTS_DEFAULT;
	const char *v = srv_arg(r, "limit");
	if (v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 1 || n > SRV_ALERTS_MAX)
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "limit", "1..%d",
					 SRV_ALERTS_MAX);
		limit = (unsigned)n;
	}
	struct srv_json o;
	if (!srv_json_begin(&o))
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	char path[4200];
	size_t len = 0;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "alerts");
	es_json_arr_begin(&o.j);
	unsigned left = limit;
	static const char *const logs[] = {"events.jsonl", "events.jsonl.1"};
	for (size_t i = 0; i < 2 && left; i++) {
		snprintf(path, sizeof(path), "%s/alerts/%s", r->srv->data_dir, logs[i]);
		char *text = slurp(path, &len);
		if (text)
			events_newest_first(&o.j, text, len, &left);
		free(text);
	}
	es_json_arr_end(&o.j);
	es_json_key(&o.j, "configured");
	snprintf(path, sizeof(path), "%s/run/alerts.json", r->srv->data_dir);
	char *conf = slurp(path, &len);
	const char *c = conf;
	while (c && (*c == ' ' || *c == '\n'))
		c++;
	/* the recorder's own file, one array; anything else shows as none */
	while (conf && len && (conf[len - 1] == '\n' || conf[len - 1] == ' '))
		conf[--len] = '\0';
	if (c && *c == '[' && len && conf[len - 1] == ']')
		es_json_raw(&o.j, c);
	else
		es_json_null(&o.j);
	free(conf);
	es_json_obj_end(&o.j);
	char detail[48];
	snprintf(detail, sizeof(detail), "%u shown", limit - left);
	srv_audit(r, "alerts.list", NULL, API_AUDIT_OK, detail);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}
