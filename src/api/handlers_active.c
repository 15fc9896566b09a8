/*
 * handlers_active.c - GET /api/active: the calls a running recorder
 * (`earshot record` or `earshot srs`, in this process or another) is
 * recording now, from the list it rewrites about every second in
 * DATA/run/active.tsv (record/active.c).
 *
 * A list older than SRV_ACTIVE_STALE_S is not shown as live: the recorder
 * stopped or hung, and its calls are not "in progress" any more.  Calls go
 * through api_allow like search results: an agent sees only calls where
 * one of their numbers is a party.
 */
#include "api/metrics.h"
#include "api/server_internal.h"
#include "record/record.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SRV_ACTIVE_STALE_S 10

struct active_out {
	struct srv_req *r;
	struct es_json *j;
	int64_t now_us;
	const struct rec_active_hdr *hdr; /* filled before the first call */
	int fresh;                        /* 0 not yet known, 1 live, -1 stale */
	unsigned shown, hidden;
	const char *node;                 /* the recorder node (shared index), or NULL */
};

/* Written at most SRV_ACTIVE_STALE_S ago (and not in the future). */
static bool fresh(const struct rec_active_hdr *h, int64_t now_us)
{
	return h->written_us <= now_us + ES_US_PER_SEC &&
	       now_us - h->written_us <= (int64_t)SRV_ACTIVE_STALE_S * ES_US_PER_SEC;
}

static void party(struct es_json *j, const char *key, const char *user, const char *display,
		  const char *uri)
{
	es_json_key(j, key);
	es_json_obj_begin(j);
	es_json_key(j, "user");
	es_json_str(j, *user ? user : NULL);
	es_json_key(j, "display");
	es_json_str(j, *display ? display : NULL);
	es_json_key(j, "uri");
	es_json_str(j, *uri ? uri : NULL);
	es_json_obj_end(j);
}

static void active_row(void *ud, const struct rec_active *a)
{
	struct active_out *o = ud;
	if (!o->fresh)
		o->fresh = fresh(o->hdr, o->now_us) ? 1 : -1;
	if (o->fresh < 0)
		return; /* a stale list shows no call */
	bool own = srv_active_own(o->r, a);
	if (!srv_may(o->r, API_ACT_SEARCH, own)) {
		o->hidden++;
		return;
	}
	struct es_json *j = o->j;
	o->shown++;
	es_json_obj_begin(j);
	es_json_key(j, "call_id");
	es_json_str(j, a->call_id);
	es_json_key(j, "start");
	api_json_time(j, a->start_us);
	es_json_key(j, "answer");
	api_json_time(j, a->answer_us);
	es_json_key(j, "duration_s");
	int64_t from = a->answer_us ? a->answer_us : a->start_us;
	es_json_double(j, from && o->now_us > from ? (double)(o->now_us - from) / 1e6 : 0.0, 1);
	es_json_key(j, "state");
	es_json_str(j, a->state);
	party(j, "caller", a->caller_user, a->caller_display, a->caller_uri);
	party(j, "callee", a->callee_user, a->callee_display, a->callee_uri);
	es_json_key(j, "recording");
	es_json_bool(j, a->recording);
	es_json_key(j, "rule");
	es_json_str(j, *a->rule ? a->rule : NULL);
	es_json_key(j, "source");
	es_json_str(j, a->siprec ? "siprec" : "live");
	es_json_key(j, "codec");
	es_json_str(j, *a->codec ? a->codec : NULL);
	es_json_key(j, "streams");
	es_json_int(j, a->streams);
	es_json_key(j, "packets");
	es_json_int(j, (int64_t)a->packets);
	es_json_key(j, "lost");
	es_json_int(j, a->lost);
	es_json_key(j, "jitter_max_ms");
	es_json_double(j, a->jitter_max_ms, 1);
	es_json_key(j, "node");
	es_json_str(j, o->node);
	es_json_obj_end(j);
}

/* ---- a shared index: every recorder node's calls ---------------------------------
 * On PostgreSQL several recorders publish their calls in progress into
 * the nodes table (index/nodes.c) about every second; each node's list is
 * parsed as the file is (the same untrusted-input parser) and shown while
 * its heartbeat is fresh, so a recorder killed without a goodbye drops out
 * after SRV_ACTIVE_STALE_S. */

#define SRV_ACTIVE_NODES_MAX 256

struct nodes_out {
	struct active_out *out;
	unsigned n, live;
	int64_t newest_us;
	struct {
		char name[IDX_NODE_MAX];
		int64_t updated_us;
		bool live;
		unsigned calls;
	} node[SRV_ACTIVE_NODES_MAX];
};

static int node_row(void *ud, const struct idx_node *n)
{
	struct nodes_out *no = ud;
	struct active_out *o = no->out;
	if (!n->active_us || no->n == SRV_ACTIVE_NODES_MAX)
		return 0; /* a node that only published its ledger's head */
	struct rec_active_hdr hdr = {0};
	char err[256] = "";
	bool live = false;
	if (n->active) {
		/* the text checked whole before any call is shown: a malformed
		 * list shows none, as a torn file does */
		int rc = rec_active_parse(n->active, strlen(n->active), &hdr, NULL, NULL, err,
					  sizeof(err));
		live = !rc && fresh(&hdr, o->now_us);
		if (rc)
			ES_LOG_WARNING("api", "node %s: calls in progress: %s", n->name, err);
	}
	unsigned before = o->shown;
	if (live) {
		o->hdr = &hdr;
		o->fresh = 1;
		o->node = n->name;
		rec_active_parse(n->active, strlen(n->active), &hdr, active_row, o, err, sizeof(err));
		o->node = NULL;
		no->live++;
	}
	snprintf(no->node[no->n].name, IDX_NODE_MAX, "%s", n->name);
	no->node[no->n].updated_us = n->active_us;
	no->node[no->n].live = live;
	no->node[no->n].calls = o->shown - before;
	no->n++;
	if (n->active_us > no->newest_us)
		no->newest_us = n->active_us;
	return 0;
}

/* The body of GET /api/active on a shared index: the calls of every live
 * node, "recorder" summing them up, "nodes" each recorder's state. */
static void active_shared(struct srv_req *r, struct active_out *out)
{
	struct es_json *j = out->j;
	struct nodes_out *no = calloc(1, sizeof(*no));
	es_json_key(j, "calls");
	es_json_arr_begin(j);
	int rc = no ? idx_nodes_list(r->ix, node_row, (no->out = out, no)) : ES_ENOMEM;
	es_json_arr_end(j);
	if (rc)
		ES_LOG_WARNING("api", "calls in progress: %s",
			       rc == ES_ENOMEM ? "out of memory" : idx_errmsg(r->ix));
	unsigned live = no ? no->live : 0, n = no ? no->n : 0;
	es_json_key(j, "recorder");
	es_json_obj_begin(j);
	es_json_key(j, "running");
	es_json_bool(j, live > 0);
	es_json_key(j, "updated");
	api_json_time(j, no ? no->newest_us : 0);
	es_json_key(j, "pid");
	es_json_null(j);
	es_json_key(j, "problem");
	es_json_str(j, rc ? "the recorders' lists of calls are unreadable"
		       : !n ? "no recorder is running"
		       : !live ? "the recorders' lists of calls are out of date" : NULL);
	es_json_obj_end(j);
	es_json_key(j, "nodes");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < n; i++) {
		es_json_obj_begin(j);
		es_json_key(j, "node");
		es_json_str(j, no->node[i].name);
		es_json_key(j, "running");
		es_json_bool(j, no->node[i].live);
		es_json_key(j, "updated");
		api_json_time(j, no->node[i].updated_us);
		es_json_key(j, "calls");
		es_json_int(j, no->node[i].calls);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
	free(no);
}

/* ---- the recorder's health for the Live page -------------------------------------
 * From the status.json the recorder rewrites every second (the figures
 * /metrics exports): packets dropped before they were handled (kernel,
 * capture queue, interface, SIPREC), calls waiting to be made into
 * recordings, spool failures, and the data folder's free space. */

struct health {
	double drops, backlog, spool_errors, disk_low;
	bool any;
};

static void health_val(void *ud, const char *path, double num, const char *str, size_t n)
{
	struct health *h = ud;
	(void)n;
	if (str)
		return;
	h->any = true;
	if (!strcmp(path, "kernel_drops") || !strcmp(path, "queue_drops") ||
	    !strncmp(path, "srs.dropped.", 12) ||
	    (!strncmp(path, "interfaces.", 11) && strstr(path, ".if_dropped")))
		h->drops += num;
	else if (!strcmp(path, "recording_queue"))
		h->backlog = num;
	else if (!strcmp(path, "spool_errors"))
		h->spool_errors = num;
	else if (!strcmp(path, "disk_low"))
		h->disk_low = num;
}

static void active_health(struct srv_req *r, struct es_json *j, bool running)
{
	char *st = NULL;
	size_t len = 0;
	struct health h = {0};
	if (running && !api_status_read(r->srv->data_dir, &st, &len) && st)
		api_status_scan(st, len, health_val, &h);
	free(st);
	es_json_key(j, "health");
	es_json_obj_begin(j);
	es_json_key(j, "capture_drops");
	if (h.any)
		es_json_int(j, (int64_t)h.drops);
	else
		es_json_null(j);
	es_json_key(j, "recording_backlog");
	if (h.any)
		es_json_int(j, (int64_t)h.backlog);
	else
		es_json_null(j);
	es_json_key(j, "spool_errors");
	if (h.any)
		es_json_int(j, (int64_t)h.spool_errors);
	else
		es_json_null(j);
	es_json_key(j, "disk_low");
	es_json_bool(j, h.disk_low != 0);
	es_json_key(j, "disk_free_bytes");
	int64_t avail = api_disk_free(r->srv->data_dir);
	if (avail >= 0)
		es_json_int(j, avail);
	else
		es_json_null(j);
	es_json_obj_end(j);
}

int srv_active(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	/* every role may search (agents their own calls): a denial here is
	 * only a role outside the matrix */
	if (!srv_allow(r, API_ACT_SEARCH, true, "active.list", NULL, &rc))
		return rc;
	char path[4200];
	snprintf(path, sizeof(path), "%s/run/active.tsv", r->srv->data_dir);
	struct rec_active_hdr hdr;
	char err[512] = "";
	struct srv_json o;
	if (!srv_json_begin(&o))
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	struct active_out out = {.r = r, .j = &o.j, .now_us = srv_now_us(), .hdr = &hdr};
	if (idx_shared(r->ix)) {
		es_json_obj_begin(&o.j);
		active_shared(r, &out);
		es_json_obj_end(&o.j);
		goto done;
	}
	/* One read: the calls are handed out only once the whole file parsed
	 * (a torn one gives none), and only while it is fresh. */
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "calls");
	es_json_arr_begin(&o.j);
	int err_rc = rec_active_read(path, &hdr, active_row, &out, err, sizeof(err));
	es_json_arr_end(&o.j);
	bool live = !err_rc && fresh(&hdr, out.now_us);
	if (err_rc && err_rc != ES_ENOTFOUND)
		ES_LOG_WARNING("api", "%s", err);
	es_json_key(&o.j, "recorder");
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "running");
	es_json_bool(&o.j, live);
	es_json_key(&o.j, "updated");
	api_json_time(&o.j, err_rc ? 0 : hdr.written_us);
	es_json_key(&o.j, "pid");
	if (err_rc)
		es_json_null(&o.j);
	else
		es_json_int(&o.j, hdr.pid);
	es_json_key(&o.j, "problem");
	es_json_str(&o.j, err_rc == ES_ENOTFOUND ? "no recorder is running"
			  : err_rc		  ? "the recorder's list of calls is unreadable"
			  : !live		  ? "the recorder's list of calls is out of date"
						  : NULL);
	es_json_obj_end(&o.j);
	/* the health of this data folder's recorder; agents see calls only */
	if (r->user.role != API_ROLE_AGENT)
		active_health(r, &o.j, live);
	es_json_obj_end(&o.j);
done:;
	char detail[64];
	snprintf(detail, sizeof(detail), "%u shown, %u not allowed", out.shown, out.hidden);
	srv_audit(r, "active.list", NULL, API_AUDIT_OK, detail);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

/* ---- POST /api/active/{id}/pause|resume|consent --------------------------------------
 * A command to the recorder (record/control.c), answered by it within a
 * few tenths of a second.  Who may: the roles that may tag a call (admin
 * and supervisor any call they see, agents their own calls, auditors
 * none: they must not change what they audit), checked against the call
 * as the recorder lists it now. */

#define SRV_CONTROL_WAIT_MS 3000

struct find_call {
	const char *id;
	bool found;
	struct rec_active a;
};

static void find_row(void *ud, const struct rec_active *a)
{
	struct find_call *f = ud;
	if (!f->found && !strcmp(a->call_id, f->id)) {
		f->found = true;
		f->a = *a;
	}
}

int srv_active_find(struct api_server *s, const char *call_id, struct rec_active *a, bool *found)
{
	char path[4200], err[512];
	snprintf(path, sizeof(path), "%s/run/active.tsv", s->data_dir);
	struct rec_active_hdr hdr;
	struct find_call f = {.id = call_id};
	int rc = rec_active_read(path, &hdr, find_row, &f, err, sizeof(err));
	if (rc || !fresh(&hdr, srv_now_us()))
		return ES_ENOTFOUND;
	*found = f.found;
	if (f.found)
		*a = f.a;
	return 0;
}

bool srv_active_own(const struct srv_req *r, const struct rec_active *a)
{
	return srv_party_own(r, a->caller_user, a->caller_uri) ||
	       srv_party_own(r, a->callee_user, a->callee_uri);
}

static int control_answer(struct srv_req *r, const char *action, const char *call_id,
			  const char *state, const char *msg)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	srv_audit(r, action, call_id, API_AUDIT_OK, msg);
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "call_id");
	es_json_str(&o.j, call_id);
	es_json_key(&o.j, "state");
	es_json_str(&o.j, state);
	es_json_key(&o.j, "message");
	es_json_str(&o.j, msg);
	es_json_obj_end(&o.j);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

int srv_active_control(struct srv_req *r, const char *call_id, const char *verb)
{
	int rc;
	struct rec_cmd cmd = {0};
	for (int v = REC_CMD_PAUSE; v <= REC_CMD_CONSENT; v++)
		if (!strcmp(verb, rec_cmd_verb_name((enum rec_cmd_verb)v)))
			cmd.verb = (enum rec_cmd_verb)v;
	if (!cmd.verb)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	char action[24];
	snprintf(action, sizeof(action), "active.%s", verb);
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (!*call_id || strlen(call_id) >= sizeof(cmd.call_id))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
				 "a call id of 1 to %zu bytes", sizeof(cmd.call_id) - 1);
	/* the call as the recorder lists it now: is it there, whose is it */
	struct find_call f = {.id = call_id};
	if (srv_active_find(r->srv, call_id, &f.a, &f.found)) {
		srv_audit(r, action, call_id, API_AUDIT_FAILED, "no recorder");
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder", NULL,
				 "no recorder is running with this data folder");
	}
	char err[512];
	bool own = f.found && srv_active_own(r, &f.a);
	if (!srv_allow_call(r, API_ACT_TAG, f.found, own, action, call_id, &rc))
		return rc;
	if (cmd.verb == REC_CMD_CONSENT) {
		struct srv_jfield fl[] = {{.key = "party", .type = SRV_JSTR, .required = true},
					  {.key = "value", .type = SRV_JSTR, .required = true}};
		const char *bad = "body";
		int perr = srv_body_fields(&r->body, fl, ES_ARRAY_LEN(fl), &bad);
		if (perr == ES_ENOMEM)
			return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
					 "out of memory");
		bool ok = !perr && (!strcmp(fl[0].s, "caller") || !strcmp(fl[0].s, "callee")) &&
			  (!strcmp(fl[1].s, "yes") || !strcmp(fl[1].s, "no"));
		if (ok) {
			cmd.party = !strcmp(fl[0].s, "callee");
			cmd.yes = !strcmp(fl[1].s, "yes");
		}
		if (!perr)
			srv_fields_free(fl, ES_ARRAY_LEN(fl));
		if (!ok) {
			srv_audit(r, action, call_id, API_AUDIT_FAILED, "bad body");
			return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", perr ? bad : "body",
					 "expected {\"party\": \"caller\"|\"callee\", "
					 "\"value\": \"yes\"|\"no\"}");
		}
	}
	snprintf(cmd.call_id, sizeof(cmd.call_id), "%s", call_id);
	snprintf(cmd.by, sizeof(cmd.by), "api:%s", r->user.name);
	char id[REC_CMD_ID_MAX + 1], msg[256];
	int status = 0;
	int src = rec_control_send(r->srv->data_dir, &cmd, id, sizeof(id), err, sizeof(err));
	if (!src)
		src = rec_control_wait(r->srv->data_dir, id, SRV_CONTROL_WAIT_MS, &status, msg,
				       sizeof(msg));
	if (src) {
		ES_LOG_WARNING("api", "%s of call %s: %s", verb, call_id,
			       src == ES_EAGAIN ? msg : err);
		srv_audit(r, action, call_id, API_AUDIT_FAILED, "the recorder did not answer");
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder", NULL,
				 "the recorder did not answer");
	}
	if (status == ES_ENOTFOUND) {
		/* it ended between the list and the command */
		srv_audit(r, action, call_id, API_AUDIT_FAILED, msg);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call in progress");
	}
	if (status == ES_EEXIST) {
		srv_audit(r, action, call_id, API_AUDIT_FAILED, msg);
		return srv_error(r, MHD_HTTP_CONFLICT, "conflict", NULL, "%s", msg);
	}
	if (status) {
		srv_audit(r, action, call_id, API_AUDIT_FAILED, msg);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", msg);
	}
	const char *state = cmd.verb == REC_CMD_PAUSE	 ? "paused"
			    : cmd.verb == REC_CMD_RESUME ? "answered"
							 : f.a.state;
	return control_answer(r, action, call_id, state, msg);
}
