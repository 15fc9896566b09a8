/*
 * clock.h - the recorder's clock state, as evidence that timestamps are
 * traceable to UTC (MiFID II RTS 25, art. 1-4): synchronised or not, the
 * kernel's error bounds, and which NTP client keeps it.
 *
 * The kernel's view comes from adjtimex(2) with modes = 0 (read only; no
 * daemon needed): STA_UNSYNC, esterror, maxerror, offset.  When chrony is
 * installed, `chronyc -c tracking` adds its reference, stratum and offset;
 * else when timedatectl is, `timedatectl show` (NTPSynchronized) and
 * `timedatectl show-timesync` (ServerName) name systemd-timesyncd.  Those
 * commands run once a minute in es_clock_track's own thread, never on the
 * recorder's loop nor per packet.
 *
 * For tests only: EARSHOT_TEST_CLOCK=synced|unsynced in the environment
 * overrides the synchronised flag (and the source says "simulated"), so
 * that both states can be tested on one machine (docs/OPERATIONS.md).
 */
#ifndef ES_CORE_CLOCK_H
#define ES_CORE_CLOCK_H

#include "core/core.h"

#include <pthread.h>

struct es_clock_state {
	int64_t at_us;          /* wall clock when sampled */
	bool known;             /* adjtimex answered */
	bool synchronised;      /* kernel: !STA_UNSYNC (and the client agrees) */
	int64_t offset_us;      /* the NTP client's last offset (chrony), else the kernel's */
	int64_t esterror_us;    /* kernel: estimated error */
	int64_t maxerror_us;    /* kernel: maximum error */
	int stratum;            /* chrony's stratum, 0 = unknown */
	char source[24];        /* "chrony", "systemd-timesyncd", "kernel", "simulated" */
	char server[64];        /* the reference / NTP server, "" = unknown */
};

/* The kernel's state now (adjtimex), then the NTP client's when probe is
 * true (runs a command: not for hot paths). */
void es_clock_sample(struct es_clock_state *s, bool probe);
/* s as one JSON object (the call's "clock", status.json's). */
void es_clock_json(struct es_json *j, const struct es_clock_state *s);

/* Samples kept over time, so that a call's start state can be looked up
 * when the call ends: one a minute for the last ES_CLOCK_RING minutes. */
#define ES_CLOCK_RING 1440
struct es_clock_track {
	struct es_clock_state ring[ES_CLOCK_RING];
	unsigned n, next;
	struct es_clock_state now; /* the newest sample */
	int64_t kept_us;           /* when the ring got its last sample */
	/* the NTP client's view, probed by the thread (mu guards it) */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, have_client;
	struct es_clock_state client;
};
/* Start the thread that asks the NTP client once a minute (first at
 * once); without it only the kernel's view is used.  0 or ES_ENOMEM. */
int es_clock_track_start(struct es_clock_track *t);
/* Stop and join it (nothing when it was not started). */
void es_clock_track_stop(struct es_clock_track *t);
/* Sample the kernel (each call; cheap) and add the NTP client's last view;
 * true when the synchronised state changed (log it). */
bool es_clock_track_tick(struct es_clock_track *t, int64_t now_us);
/* The newest sample taken at or before us; NULL when none is that old. */
const struct es_clock_state *es_clock_track_at(const struct es_clock_track *t, int64_t us);
/* A call's clock evidence as a JSON object into out (cap bytes): the state
 * at its start (start_us) and now, at its end; "synchronised" only when
 * both were.  false when it does not fit. */
bool es_clock_call_json(const struct es_clock_track *t, int64_t start_us, char *out, size_t cap);

#endif /* ES_CORE_CLOCK_H */
