/*
 * clock.c - the recorder's clock state (clock.h): adjtimex(2), chrony,
 * systemd-timesyncd, and the samples kept to date a call's start.
 */
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

/* ---- the NTP clients, through their documented commands ---------------------------- */

static bool have(const char *const *paths, const char **found)
{
	for (; *paths; paths++)
		if (!access(*paths, X_OK)) {
			*found = *paths;
			return true;
		}
	return false;
}

/* The first line of a command's output into buf; false when it failed. */
static bool first_line(const char *cmd, char *buf, size_t cap)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	bool ok = fgets(buf, (int)cap, p) != NULL;
	int st = pclose(p);
	if (!ok || st != 0)
		return false;
	buf[strcspn(buf, "\r\n")] = '\0';
	return true;
}

/* chronyc -c tracking (chronyc(1), "tracking", CSV): reference id, name,
 * stratum, reference time, system time offset (s), last offset (s), ...,
 * leap status ("Normal", "Not synchronised"). */
static bool probe_chrony(struct es_clock_state *s)
{
	static const char *const paths[] = {"/usr/bin/chronyc", "/usr/sbin/chronyc", NULL};
	const char *bin;
	char cmd[128], line[512];
	if (!have(paths, &bin))
		return false;
	snprintf(cmd, sizeof(cmd), "timeout 2 %s -c tracking 2>/dev/null", bin);
	if (!first_line(cmd, line, sizeof(line)))
		return false;
	char *f[16], *save = NULL, *tok = strtok_r(line, ",", &save);
	unsigned n = 0;
	for (; tok && n < 16; tok = strtok_r(NULL, ",", &save))
		f[n++] = tok;
	if (n < 14)
		return false;
	snprintf(s->source, sizeof(s->source), "chrony");
	snprintf(s->server, sizeof(s->server), "%s", f[1]);
	s->stratum = atoi(f[2]);
	s->offset_us = (int64_t)(strtod(f[4], NULL) * 1e6);
	if (!strcmp(f[13], "Not synchronised"))
		s->synchronised = false;
	return true;
}

/* timedatectl show -p NTPSynchronized --value, show-timesync -p ServerName
 * --value (timedatectl(1)). */
static bool probe_timesyncd(struct es_clock_state *s)
{
	static const char *const paths[] = {"/usr/bin/timedatectl", "/bin/timedatectl", NULL};
	const char *bin;
	char cmd[160], line[128];
	if (!have(paths, &bin))
		return false;
	snprintf(cmd, sizeof(cmd), "timeout 2 %s show -p NTPSynchronized --value 2>/dev/null", bin);
	if (!first_line(cmd, line, sizeof(line)) || (strcmp(line, "yes") && strcmp(line, "no")))
		return false;
	snprintf(s->source, sizeof(s->source), "systemd-timesyncd");
	if (!strcmp(line, "no"))
		s->synchronised = false;
	snprintf(cmd, sizeof(cmd), "timeout 2 %s show-timesync -p ServerName --value 2>/dev/null",
		 bin);
	if (first_line(cmd, line, sizeof(line)))
		snprintf(s->server, sizeof(s->server), "%.63s", line);
	return true;
}

void es_clock_sample(struct es_clock_state *s, bool probe)
{
	memset(s, 0, sizeof(*s));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->at_us = (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
	struct timex tx = {.modes = 0}; /* read only: needs no privilege */
	int st = adjtimex(&tx);
	snprintf(s->source, sizeof(s->source), "kernel");
	if (st >= 0) {
		s->known = true;
		/* TIME_ERROR: the clock is not synchronised (adjtimex(2)) */
		s->synchronised = !(tx.status & STA_UNSYNC) && st != TIME_ERROR;
		s->esterror_us = tx.esterror;
		s->maxerror_us = tx.maxerror;
		s->offset_us = (tx.status & STA_NANO) ? tx.offset / 1000 : tx.offset;
	}
	if (probe && !probe_chrony(s))
		probe_timesyncd(s);
	const char *sim = getenv("EARSHOT_TEST_CLOCK");
	if (sim && (!strcmp(sim, "synced") || !strcmp(sim, "unsynced"))) {
		s->synchronised = !strcmp(sim, "synced");
		snprintf(s->source, sizeof(s->source), "simulated");
	}
}

void es_clock_json(struct es_json *j, const struct es_clock_state *s)
{
	char t[ES_TIME_STRLEN];
	es_json_obj_begin(j);
	es_json_key(j, "synchronised");
	if (s->known)
		es_json_bool(j, s->synchronised);
	else
		es_json_null(j);
	es_json_key(j, "source"); es_json_str(j, s->source);
	es_json_key(j, "server"); es_json_str(j, s->server[0] ? s->server : NULL);
	es_json_key(j, "stratum");
	if (s->stratum) es_json_int(j, s->stratum); else es_json_null(j);
	es_json_key(j, "offset_us"); es_json_int(j, s->offset_us);
	es_json_key(j, "esterror_us"); es_json_int(j, s->esterror_us);
	es_json_key(j, "maxerror_us"); es_json_int(j, s->maxerror_us);
	es_time_fmt(s->at_us, t, sizeof(t));
	es_json_key(j, "sampled"); es_json_str(j, t);
	es_json_obj_end(j);
}

/* ---- samples over time ---------------------------------------------------------- */

#define PROBE_EVERY_US (60 * ES_US_PER_SEC)

static void *probe_thread(void *arg)
{
	struct es_clock_track *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		pthread_mutex_unlock(&t->mu);
		struct es_clock_state s;
		es_clock_sample(&s, true); /* runs chronyc / timedatectl: up to seconds */
		pthread_mutex_lock(&t->mu);
		t->client = s;
		t->have_client = true;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PROBE_EVERY_US / ES_US_PER_SEC;
		while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int es_clock_track_start(struct es_clock_track *t)
{
	if (pthread_mutex_init(&t->mu, NULL))
		return ES_ENOMEM;
	if (pthread_cond_init(&t->cv, NULL)) {
		pthread_mutex_destroy(&t->mu);
		return ES_ENOMEM;
	}
	t->stop = false;
	if (pthread_create(&t->thread, NULL, probe_thread, t)) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		return ES_ENOMEM;
	}
	t->started = true;
	return 0;
}

void es_clock_track_stop(struct es_clock_track *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	t->started = false;
}

bool es_clock_track_tick(struct es_clock_track *t, int64_t now_us)
{
	bool was_known = t->now.known || t->n, was = t->now.synchronised;
	struct es_clock_state s;
	es_clock_sample(&s, false);
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		if (t->have_client && strcmp(t->client.source, "kernel")) {
			/* the client's view of its last probe stands */
			if (strcmp(s.source, "simulated"))
				memcpy(s.source, t->client.source, sizeof(s.source));
			memcpy(s.server, t->client.server, sizeof(s.server));
			s.stratum = t->client.stratum;
			if (!strcmp(t->client.source, "chrony"))
				s.offset_us = t->client.offset_us;
			if (!t->client.synchronised && strcmp(s.source, "simulated"))
				s.synchronised = false; /* the client said so */
		}
		pthread_mutex_unlock(&t->mu);
	}
	if (!t->kept_us || now_us - t->kept_us >= PROBE_EVERY_US || now_us < t->kept_us) {
		t->kept_us = now_us;
		t->ring[t->next] = s; /* one kept a minute */
		t->next = (t->next + 1) % ES_CLOCK_RING;
		if (t->n < ES_CLOCK_RING)
			t->n++;
	}
	t->now = s;
	return !was_known || was != s.synchronised;
}

const struct es_clock_state *es_clock_track_at(const struct es_clock_track *t, int64_t us)
{
	const struct es_clock_state *best = NULL;
	for (unsigned i = 0; i < t->n; i++) {
		const struct es_clock_state *s = &t->ring[i];
		if (s->at_us <= us && (!best || s->at_us > best->at_us))
			best = s;
	}
	if (t->now.known && t->now.at_us <= us && (!best || t->now.at_us > best->at_us))
		best = &t->now;
	return best;
}

bool es_clock_call_json(const struct es_clock_track *t, int64_t start_us, char *out, size_t cap)
{
	const struct es_clock_state *a = es_clock_track_at(t, start_us), *b = &t->now;
	FILE *f = fmemopen(out, cap, "w");
	if (!f)
		return false;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "synchronised");
	if (b->known && (!a || a->known))
		es_json_bool(&j, b->synchronised && (!a || a->synchronised));
	else
		es_json_null(&j);
	es_json_key(&j, "source"); es_json_str(&j, b->source);
	es_json_key(&j, "start");
	if (a)
		es_clock_json(&j, a);
	else
		es_json_null(&j); /* the recorder started after the call did */
	es_json_key(&j, "end");
	es_clock_json(&j, b);
	es_json_obj_end(&j);
	bool ok = !ferror(f) && ftell(f) < (long)cap - 1;
	fclose(f);
	return ok;
}
