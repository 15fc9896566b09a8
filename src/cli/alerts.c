/* alerts.c - the recorder's alerts (docs/ALERTS.md): `[alert NAME]` read
 * with the configuration, the sender thread started with the run, the
 * conditions the main loop sees (finished calls, recordings, drops, disk,
 * SIPREC refusals, backlog) raised through analytics/alert.h, and the
 * counters status.json and /metrics show.  The engines raise one-way audio
 * and dead air themselves (record/alert_live.c). */
#include "analytics/alert.h"
#include "cli/cli.h"
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "alert"

int cli_alerts_open(struct cli_run *r, const struct es_conf *c, const char *cmd)
{
	char err[1024];
	int rc = an_alerts_from_conf(&r->alerts, c, r->ctx->data_dir, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return CLI_USAGE;
	}
	/* what the web UI's admin page shows (no secrets) */
	char dir[4200], path[4300], tmp[4400];
	snprintf(dir, sizeof(dir), "%s/run", r->ctx->data_dir);
	snprintf(path, sizeof(path), "%s/alerts.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* 0640 by its own mode: this runs before the data folder's umask is set */
	int fd = es_mkdirs(dir, true) ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (fd >= 0 && !f)
		close(fd);
	if (f) {
		struct es_json j;
		es_json_init(&j, f, true);
		an_alerts_json(r->alerts, &j);
		es_json_end(&j);
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	if (!r->alerts)
		return CLI_OK;
	if (an_alerts_start(r->alerts, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return CLI_ERR;
	}
	return CLI_OK;
}

void cli_alerts_close(struct cli_run *r)
{
	an_alerts_free(r->alerts);
	r->alerts = NULL;
}

/* "ip:port" or "[v6]:port" of an SDP address into a. */
static bool parse_hostport(const char *s, struct es_addr *a)
{
	if (!s || !*s)
		return false;
	const char *p = s, *end;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else {
		end = strrchr(p, ':');
		if (end && strchr(p, ':') != end)
			end = NULL; /* a bare IPv6 address */
	}
	size_t n = end ? (size_t)(end - p) : strlen(p);
	return es_addr_parse_ip((struct slice){p, n}, a) == 0;
}

static bool has_flag(const char *flags, const char *f)
{
	size_t n = strlen(f);
	for (const char *p = flags; p && (p = strstr(p, f)); p += n)
		if ((p == flags || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

void cli_alerts_call(struct cli_run *r, const struct idx_call *c)
{
	struct an_alerts *a = r->alerts;
	if (!a)
		return;
	struct es_addr peers[2];
	unsigned np = 0;
	if (parse_hostport(c->caller.sdp_addr, &peers[np]))
		np++;
	if (parse_hostport(c->callee.sdp_addr, &peers[np]))
		np++;
	struct an_alert_call call = {.call_id = c->call_id, .caller = c->caller.user,
				     .callee = c->callee.user, .rule = c->rule,
				     .source = c->source, .start_us = c->start_us,
				     .peers = peers, .npeers = np};
	int64_t now = cli_wall_us();
	if (c->quality.set) {
		struct an_alert_field f[3] = {{.key = "mos", .num = c->quality.mos},
					      {.key = "loss_pct", .num = c->quality.loss_pct},
					      {.key = "jitter_ms", .num = c->quality.jitter_ms}};
		an_alert_raise(a, AN_ALERT_MOS_BELOW, c->quality.mos, &call, f, 3, now);
		an_alert_raise(a, AN_ALERT_LOSS_ABOVE, c->quality.loss_pct, &call, f, 3, now);
	}
	if (has_flag(c->flags, "recording_cut")) {
		struct an_alert_field f = {.key = "reason", .str = "the spool failed (recording_cut)"};
		an_alert_raise(a, AN_ALERT_RECORDING_FAILED, 1, &call, &f, 1, now);
	}
}

void cli_alerts_recording(struct cli_run *r, const struct rec_done *d)
{
	if (!r->alerts || !d->err)
		return;
	char id[32];
	snprintf(id, sizeof(id), "row %lld", (long long)d->call_row);
	struct an_alert_call call = {.call_id = id, .source = "recording"};
	struct an_alert_field f[2] = {{.key = "reason", .str = d->msg ? d->msg : es_strerror(d->err)},
				      {.key = "call_row", .num = (double)d->call_row}};
	an_alert_raise(r->alerts, AN_ALERT_RECORDING_FAILED, 1, &call, f, 2, cli_wall_us());
}

void cli_alerts_system(struct cli_run *r, const struct cli_alert_sample *s)
{
	struct an_alerts *a = r->alerts;
	struct cli_alert_state *st = &r->alert_state;
	if (!a)
		return;
	int64_t now = cli_wall_us();
	/* drops since the last look (a second ago) */
	if (st->have_drops && s->drops >= st->drops) {
		struct an_alert_field f = {.key = "drops_total", .num = (double)s->drops};
		an_alert_raise(a, AN_ALERT_DROPS, (double)(s->drops - st->drops), NULL, &f, 1, now);
	}
	st->drops = s->drops;
	st->have_drops = true;
	if (s->disk_known) {
		struct an_alert_field f = {.key = "folder", .str = r->ctx->data_dir};
		an_alert_raise(a, AN_ALERT_DISK_FREE, (double)s->disk_free, NULL, &f, 1, now);
	}
	/* refusals over the last minute: a ring of one sample a second */
	unsigned i = st->ref_n % CLI_ALERT_RING;
	st->ref[i] = s->srs_refusals;
	st->ref_n++;
	uint64_t old = st->ref_n > CLI_ALERT_RING ? st->ref[st->ref_n % CLI_ALERT_RING] : st->ref[0];
	if (s->srs_refusals >= old) {
		struct an_alert_field f = {.key = "refusals_total", .num = (double)s->srs_refusals};
		an_alert_raise(a, AN_ALERT_SRS_REFUSALS, (double)(s->srs_refusals - old), NULL, &f, 1,
			       now);
	}
	an_alert_raise(a, AN_ALERT_BACKLOG, (double)s->backlog, NULL, NULL, 0, now);
}

void cli_alerts_status(struct cli_run *r, struct es_json *j)
{
	struct an_alert_stats st;
	an_alerts_stats(r->alerts, &st);
	es_json_obj_begin(j);
	es_json_key(j, "configured"); es_json_bool(j, r->alerts != NULL);
	es_json_key(j, "raised"); es_json_int(j, (int64_t)st.raised);
	es_json_key(j, "suppressed"); es_json_int(j, (int64_t)st.suppressed);
	es_json_key(j, "delivered"); es_json_int(j, (int64_t)st.delivered);
	es_json_key(j, "failed"); es_json_int(j, (int64_t)st.failed);
	es_json_key(j, "rejected"); es_json_int(j, (int64_t)st.rejected);
	es_json_key(j, "syslog"); es_json_int(j, (int64_t)st.syslog);
	es_json_key(j, "outbox"); es_json_int(j, (int64_t)st.outbox);
	es_json_obj_end(j);
}
