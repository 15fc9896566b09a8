/*
 * metrics.c - status.json to the Prometheus text exposition format 0.0.4
 * (metrics.h).  The JSON is read by a small bounded scanner (no general
 * parser is linked): it only reports numbers and strings with their path.
 */
#include "api/metrics.h"
#include "record/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* ---- the scanner ---------------------------------------------------------- */

#define SCAN_DEPTH 8
#define SCAN_PATH 96

struct scan {
	const char *p, *end;
	api_status_fn fn;
	void *ud;
	char path[SCAN_PATH + 1];
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* A string at s->p ('"'): its raw bytes (escapes left as they are). */
static int scan_string(struct scan *s, const char **str, size_t *len)
{
	if (s->p >= s->end || *s->p != '"')
		return ES_EPARSE;
	const char *b = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' && s->p + 1 < s->end)
			s->p++;
		s->p++;
	}
	if (s->p >= s->end)
		return ES_ETRUNC;
	*str = b;
	*len = (size_t)(s->p - b);
	s->p++;
	return 0;
}

/* path += ".name" (or "name" at the root), cut at SCAN_PATH bytes. */
static void path_push(struct scan *s, size_t plen, const char *name, size_t n)
{
	size_t at = plen;
	if (at && at < SCAN_PATH)
		s->path[at++] = '.';
	size_t room = SCAN_PATH - at;
	if (n > room)
		n = room;
	memcpy(s->path + at, name, n);
	s->path[at + n] = '\0';
}

static int scan_value(struct scan *s, int depth);

static int scan_container(struct scan *s, int depth, bool obj)
{
	size_t plen = strlen(s->path);
	char close = obj ? '}' : ']';
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (unsigned i = 0;; i++) {
		skip_ws(s);
		if (obj) {
			const char *k;
			size_t kn;
			int err = scan_string(s, &k, &kn);
			if (err)
				return err;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return ES_EPARSE;
			s->p++;
			path_push(s, plen, k, kn);
		} else {
			char idx[12];
			int n = snprintf(idx, sizeof(idx), "%u", i);
			path_push(s, plen, idx, (size_t)n);
		}
		int err = scan_value(s, depth + 1);
		s->path[plen] = '\0';
		if (err)
			return err;
		skip_ws(s);
		if (s->p >= s->end)
			return ES_ETRUNC;
		if (*s->p == ',') {
			s->p++;
			continue;
		}
		if (*s->p != close)
			return ES_EPARSE;
		s->p++;
		return 0;
	}
}

static int scan_value(struct scan *s, int depth)
{
	if (depth > SCAN_DEPTH)
		return ES_ELIMIT;
	skip_ws(s);
	if (s->p >= s->end)
		return ES_ETRUNC;
	char c = *s->p;
	if (c == '{' || c == '[')
		return scan_container(s, depth, c == '{');
	if (c == '"') {
		const char *str;
		size_t n;
		int err = scan_string(s, &str, &n);
		if (!err)
			s->fn(s->ud, s->path, 0, str, n);
		return err;
	}
	static const struct {
		const char *word;
		double v;
		bool report;
	} words[] = {{"true", 1, true}, {"false", 0, true}, {"null", 0, false}};
	for (size_t i = 0; i < ES_ARRAY_LEN(words); i++) {
		size_t n = strlen(words[i].word);
		if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, words[i].word, n)) {
			s->p += n;
			if (words[i].report)
				s->fn(s->ud, s->path, words[i].v, NULL, 0);
			return 0;
		}
	}
	/* a number: copied out, the buffer need not end in a NUL */
	char num[40];
	size_t n = 0;
	while (s->p + n < s->end && n < sizeof(num) - 1 && strchr("0123456789+-.eE", s->p[n]) &&
	       s->p[n])
		n++;
	if (!n)
		return ES_EPARSE;
	memcpy(num, s->p, n);
	num[n] = '\0';
	char *e;
	double v = strtod(num, &e);
	if (e != num + n)
		return ES_EPARSE;
	s->p += n;
	s->fn(s->ud, s->path, v, NULL, 0);
	return 0;
}

int api_status_scan(const char *json, size_t len, api_status_fn fn, void *ud)
{
	struct scan s = {.p = json, .end = json + len, .fn = fn, .ud = ud};
	s.path[0] = '\0';
	return scan_value(&s, 0);
}

/* ---- the exposition ---------------------------------------------------------- */

/* Plain top-level (or srs.) figures: one metric each. */
static const struct plain {
	const char *path;
	const char *name;
	const char *type;
	const char *help;
} plain[] = {
	{"packets", "earshot_capture_packets_total", "counter", "Frames captured."},
	{"packets_per_s", "earshot_capture_packets_per_second", "gauge",
	 "Frames captured per second over the last status interval."},
	{"active_calls", "earshot_calls_in_progress", "gauge", "Calls in progress."},
	{"calls_total", "earshot_calls_total", "counter", "Calls finished and indexed."},
	{"calls_not_recorded", "earshot_calls_not_recorded_total", "counter",
	 "Calls a rule left unrecorded."},
	{"calls_cut", "earshot_calls_cut_total", "counter", "Calls whose recording was cut."},
	{"calls_recovered", "earshot_calls_recovered_total", "counter",
	 "Calls finished after a crash."},
	{"recordings", "earshot_recordings_total", "counter",
	 "Recordings encoded and stored (its rate is the encode rate)."},
	{"recording_errors", "earshot_recording_errors_total", "counter",
	 "Recordings that failed."},
	{"recording_queue", "earshot_recording_backlog", "gauge",
	 "Finished calls waiting for their recording to be encoded."},
	{"recording_queue_oldest_seconds", "earshot_recording_queue_oldest_seconds", "gauge",
	 "Age of the oldest finished call whose recording is not encoded yet."},
	{"recording_encoding", "earshot_recordings_encoding", "gauge",
	 "Recordings being encoded now."},
	{"encode_threads", "earshot_encode_threads", "gauge", "Threads encoding recordings."},
	{"rtp_packets", "earshot_rtp_packets_total", "counter", "RTP packets matched to calls."},
	{"sip_messages", "earshot_sip_messages_total", "counter", "SIP messages."},
	{"spool_errors", "earshot_spool_errors_total", "counter", "Media log write errors."},
	{"call_bytes", "earshot_call_state_bytes", "gauge", "Memory held by calls in progress."},
	{"disk_low", "earshot_disk_low", "gauge", "1 while the data folder is below min_free."},
	{"uptime_s", "earshot_recorder_uptime_seconds", "gauge", "Seconds since the recorder started."},
	{"srs.sessions_active", "earshot_siprec_sessions", "gauge", "SIPREC sessions in progress."},
	{"srs.sessions_total", "earshot_siprec_sessions_total", "counter", "SIPREC sessions accepted."},
	{"srs.requests", "earshot_siprec_requests_total", "counter", "SIP requests to the SRS."},
	{"srs.tls_failures", "earshot_siprec_tls_failures_total", "counter",
	 "TLS handshakes that failed."},
	{"alerts.raised", "earshot_alert_events_total", "counter",
	 "Alert events raised ([alert NAME], docs/ALERTS.md)."},
	{"alerts.suppressed", "earshot_alert_suppressed_total", "counter",
	 "Alert events held back by the rate limit."},
	{"alerts.outbox", "earshot_alert_outbox", "gauge",
	 "Alert events waiting in the outbox for the webhook."},
	{"live_keywords.running", "earshot_live_keyword_streams", "gauge",
	 "Calls streamed to the speech engine now for keyword alerts."},
	{"live_keywords.followed", "earshot_live_keyword_calls_total", "counter",
	 "Calls streamed for keyword alerts during the call."},
	{"live_keywords.skipped", "earshot_live_keyword_calls_skipped_total", "counter",
	 "Answered calls not streamed: live_max_calls were already."},
	{"live_keywords.failed", "earshot_live_keyword_calls_failed_total", "counter",
	 "Calls whose live stream was given up (engine down, refused, too slow)."},
	{"live_keywords.hits", "earshot_live_keyword_hits_total", "counter",
	 "Keyword hits raised during calls."},
};

/* status.json's "alerts" counters as earshot_alert_deliveries_total. */
static const struct {
	const char *path, *action, *result;
} alert_deliveries[] = {
	{"alerts.delivered", "webhook", "delivered"},
	{"alerts.failed", "webhook", "failed"},
	{"alerts.rejected", "webhook", "rejected"},
	{"alerts.syslog", "syslog", "delivered"},
};

#define MAX_WORKERS 64
#define MAX_REASONS 24

struct label_val {
	char label[32];
	double v;
};

struct status_vals {
	double plain[ES_ARRAY_LEN(plain)];
	bool plain_set[ES_ARRAY_LEN(plain)];
	double updated_us;
	bool have;
	struct label_val drops[MAX_REASONS];
	unsigned ndrops;
	struct label_val refusals[4];
	unsigned nrefusals;
	double worker_queue[MAX_WORKERS], worker_calls[MAX_WORKERS];
	unsigned nworkers;
	double deliveries[ES_ARRAY_LEN(alert_deliveries)];
	bool have_deliveries;
};

static void add_label(struct label_val *arr, unsigned *n, unsigned max, const char *label,
		      size_t llen, double v)
{
	for (unsigned i = 0; i < *n; i++)
		if (strlen(arr[i].label) == llen && !memcmp(arr[i].label, label, llen)) {
			arr[i].v += v;
			return;
		}
	if (*n >= max)
		return;
	/* label values are our own key names: letters, digits and '_' only */
	size_t k = 0;
	for (size_t i = 0; i < llen && k < sizeof(arr[0].label) - 1; i++)
		if ((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= '0' && label[i] <= '9') ||
		    label[i] == '_')
			arr[*n].label[k++] = label[i];
	arr[*n].label[k] = '\0';
	arr[*n].v = v;
	(*n)++;
}

static void on_status(void *ud, const char *path, double num, const char *str, size_t n)
{
	struct status_vals *sv = ud;
	if (str)
		return;
	sv->have = true;
	for (size_t i = 0; i < ES_ARRAY_LEN(plain); i++)
		if (!strcmp(path, plain[i].path)) {
			sv->plain[i] = num;
			sv->plain_set[i] = true;
			return;
		}
	(void)n;
	for (size_t i = 0; i < ES_ARRAY_LEN(alert_deliveries); i++)
		if (!strcmp(path, alert_deliveries[i].path)) {
			sv->deliveries[i] = num;
			sv->have_deliveries = true;
			return;
		}
	if (!strcmp(path, "updated_us"))
		sv->updated_us = num;
	else if (!strcmp(path, "kernel_drops"))
		add_label(sv->drops, &sv->ndrops, MAX_REASONS, "kernel", 6, num);
	else if (!strcmp(path, "queue_drops"))
		add_label(sv->drops, &sv->ndrops, MAX_REASONS, "queue", 5, num);
	else if (!strncmp(path, "interfaces.", 11) && strstr(path, ".if_dropped"))
		add_label(sv->drops, &sv->ndrops, MAX_REASONS, "interface", 9, num);
	else if (!strncmp(path, "srs.dropped.", 12)) {
		char r[40];
		int k = snprintf(r, sizeof(r), "siprec_%s", path + 12);
		add_label(sv->drops, &sv->ndrops, MAX_REASONS, r,
			  k > 0 && (size_t)k < sizeof(r) ? (size_t)k : sizeof(r) - 1, num);
	} else if (!strncmp(path, "srs.rejected_", 13))
		add_label(sv->refusals, &sv->nrefusals, 4, path + 13, strlen(path + 13), num);
	else if (!strncmp(path, "workers.", 8)) {
		char *e;
		unsigned long w = strtoul(path + 8, &e, 10);
		if (w >= MAX_WORKERS || *e != '.')
			return;
		if (!strcmp(e, ".queue_bytes"))
			sv->worker_queue[w] = num;
		else if (!strcmp(e, ".active_calls"))
			sv->worker_calls[w] = num;
		if (w + 1 > sv->nworkers)
			sv->nworkers = (unsigned)w + 1;
	}
}

static int head(struct es_buf *b, const char *name, const char *type, const char *help)
{
	return es_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The transcription workers running here (record/transcript_pause.c). */
struct tr_workers {
	unsigned n, paused;
	double since_s, pauses;
};

static int take_tr_worker(void *ud, const struct rec_tr_pause_info *in)
{
	struct tr_workers *t = ud;
	t->n++;
	t->pauses += (double)in->pauses;
	if (in->paused) {
		double since = (double)in->since_us / 1e6;
		if (!t->paused || since < t->since_s)
			t->since_s = since;
		t->paused++;
	}
	return 0;
}

static int render_transcription(struct es_buf *out, const char *data_dir)
{
	struct tr_workers t = {0};
	rec_tr_pause_list(data_dir, take_tr_worker, &t);
	if (!t.n)
		return 0;
	int rc = head(out, "earshot_transcription_workers", "gauge",
		      "Transcription workers running on this node.");
	rc |= es_buf_printf(out, "earshot_transcription_workers %u\n", t.n);
	rc |= head(out, "earshot_transcription_paused", "gauge",
		   "1 while a transcription worker claims no job: the engine is out.");
	rc |= es_buf_printf(out, "earshot_transcription_paused %d\n", t.paused > 0);
	rc |= head(out, "earshot_transcription_pauses_total", "counter",
		   "Outage pauses begun by the running workers (failed probes included).");
	rc |= es_buf_printf(out, "earshot_transcription_pauses_total %.17g\n", t.pauses);
	if (t.paused) {
		rc |= head(out, "earshot_transcription_paused_since_seconds", "gauge",
			   "Unix time the transcription outage pause under way began.");
		rc |= es_buf_printf(out, "earshot_transcription_paused_since_seconds %.3f\n",
				    t.since_s);
	}
	return rc;
}

int api_metrics_render(struct es_buf *out, const char *data_dir, const char *status,
		       size_t status_len, int64_t now_us, const uint64_t *http_codes)
{
	struct status_vals *sv = calloc(1, sizeof(*sv));
	if (!sv)
		return ES_ENOMEM;
	int rc = 0;
	bool parsed = status && status_len &&
		      api_status_scan(status, status_len, on_status, sv) == 0 && sv->have;
	double age = parsed && sv->updated_us > 0 ? ((double)now_us - sv->updated_us) / 1e6 : -1;

	rc |= head(out, "earshot_recorder_up", "gauge",
		   "1 when a recorder's status.json was rewritten in the last 10 s.");
	rc |= es_buf_printf(out, "earshot_recorder_up %d\n", parsed && age >= 0 && age < 10);
	if (parsed && age >= 0) {
		rc |= head(out, "earshot_recorder_status_age_seconds", "gauge",
			   "Seconds since the recorder last wrote status.json.");
		rc |= es_buf_printf(out, "earshot_recorder_status_age_seconds %.3f\n", age);
	}
	for (size_t i = 0; parsed && i < ES_ARRAY_LEN(plain); i++) {
		if (!sv->plain_set[i])
			continue;
		rc |= head(out, plain[i].name, plain[i].type, plain[i].help);
		rc |= es_buf_printf(out, "%s %.17g\n", plain[i].name, sv->plain[i]);
	}
	if (parsed && sv->ndrops) {
		rc |= head(out, "earshot_drops_total", "counter",
			   "Packets or connections dropped, by reason.");
		for (unsigned i = 0; i < sv->ndrops; i++)
			rc |= es_buf_printf(out, "earshot_drops_total{reason=\"%s\"} %.17g\n",
					    sv->drops[i].label, sv->drops[i].v);
	}
	if (parsed && sv->nrefusals) {
		rc |= head(out, "earshot_siprec_refusals_total", "counter",
			   "SIPREC requests refused, by reason.");
		for (unsigned i = 0; i < sv->nrefusals; i++)
			rc |= es_buf_printf(out, "earshot_siprec_refusals_total{reason=\"%s\"} %.17g\n",
					    sv->refusals[i].label, sv->refusals[i].v);
	}
	if (parsed && sv->nworkers) {
		rc |= head(out, "earshot_worker_queue_bytes", "gauge",
			   "Bytes waiting in each capture worker's queue.");
		for (unsigned i = 0; i < sv->nworkers; i++)
			rc |= es_buf_printf(out, "earshot_worker_queue_bytes{worker=\"%u\"} %.17g\n", i,
					    sv->worker_queue[i]);
		rc |= head(out, "earshot_worker_calls_in_progress", "gauge",
			   "Calls in progress on each capture worker.");
		for (unsigned i = 0; i < sv->nworkers; i++)
			rc |= es_buf_printf(out, "earshot_worker_calls_in_progress{worker=\"%u\"} %.17g\n",
					    i, sv->worker_calls[i]);
	}
	if (parsed && sv->have_deliveries) {
		rc |= head(out, "earshot_alert_deliveries_total", "counter",
			   "Alert event deliveries, by action and result.");
		for (size_t i = 0; i < ES_ARRAY_LEN(alert_deliveries); i++)
			rc |= es_buf_printf(out, "earshot_alert_deliveries_total{action=\"%s\","
					    "result=\"%s\"} %.17g\n", alert_deliveries[i].action,
					    alert_deliveries[i].result, sv->deliveries[i]);
	}
	int64_t avail = data_dir ? api_disk_free(data_dir) : -1;
	if (avail >= 0) {
		rc |= head(out, "earshot_disk_free_bytes", "gauge",
			   "Bytes free for earshot in the data folder's file system.");
		rc |= es_buf_printf(out, "earshot_disk_free_bytes %llu\n", (unsigned long long)avail);
	}
	if (data_dir)
		rc |= render_transcription(out, data_dir);
	if (http_codes) {
		rc |= head(out, "earshot_http_requests_total", "counter",
			   "HTTP responses of this server, by status code.");
		bool any = false;
		for (unsigned i = 0; i < API_HTTP_CODES; i++)
			if (http_codes[i]) {
				any = true;
				rc |= es_buf_printf(out, "earshot_http_requests_total{code=\"%u\"} %llu\n",
						    i + 100, (unsigned long long)http_codes[i]);
			}
		if (!any)
			rc |= es_buf_printf(out, "earshot_http_requests_total{code=\"200\"} 0\n");
	}
	free(sv);
	return rc ? ES_ENOMEM : 0;
}

int api_status_read(const char *data_dir, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	char path[4200];
	snprintf(path, sizeof(path), "%s/run/status.json", data_dir);
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	struct es_buf b;
	es_buf_init(&b);
	char chunk[4096];
	size_t n;
	int rc = 0;
	/* status.json is a few KiB; 1 MiB bounds a stray file */
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
		rc = es_buf_append(&b, chunk, n);
	fclose(f);
	if (rc) {
		es_buf_free(&b);
		return ES_ENOMEM;
	}
	*out = (char *)b.p;
	*len = b.len;
	return 0;
}

int64_t api_disk_free(const char *dir)
{
	struct statvfs vfs;
	if (statvfs(dir, &vfs))
		return -1;
	return (int64_t)((uint64_t)vfs.f_bavail * vfs.f_frsize);
}
