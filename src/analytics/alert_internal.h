/* alert_internal.h - state shared by alert.c (rules, raising) and
 * alert_outbox.c (the outbox and its sender thread). */
#ifndef ES_ANALYTICS_ALERT_INTERNAL_H
#define ES_ANALYTICS_ALERT_INTERNAL_H

#include "analytics/alert.h"

#include <pthread.h>

#define AN_ALERT_MAX_RULES 64
#define AN_ALERT_MAX_PEERS 16
#define AN_ALERT_DEDUP_SLOTS 4096 /* (alert, call) keys remembered */
#define AN_ALERT_DEDUP_PROBE 8
#define AN_ALERT_QUEUE_MAX 10000  /* raised, not yet in the outbox */

struct an_peer {
	struct es_addr addr;
	unsigned bits;
};

struct an_alert_rule {
	const char *section;      /* the configuration's, identifies the rule */
	unsigned line;
	char name[64];
	int kind;                 /* enum an_alert_kind, -1 until given */
	double threshold;
	char rule[64];            /* recording rule filter, "" = any */
	struct an_peer peers[AN_ALERT_MAX_PEERS];
	unsigned npeers;
	bool actions_set, webhook, syslog;
	char severity[12];
	int64_t interval_us;      /* de-duplication and the rate window */
	unsigned max_per_interval;
	/* the rate window (the lock held) */
	int64_t win_start_us;
	unsigned win_count;
	uint64_t win_suppressed;
};

struct an_dedup {
	uint64_t key;             /* 0 = empty */
	int64_t last_us;
};

struct an_event {
	struct an_event *next;
	char id[33];
	int64_t time_us;
	unsigned rule;
	char *body;
	size_t len;
};

struct an_alerts {
	struct an_alert_rule r[AN_ALERT_MAX_RULES];
	unsigned n;
	bool want[AN_ALERT_NKINDS];
	char *url, *secret;
	int64_t timeout_us, retry_max_us;
	char node[128];
	char outbox[4096];        /* DATA/alerts/outbox */
	char events_log[4096];    /* DATA/alerts/events.jsonl */
	/* shared with the sender thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool lock_ok;
	struct an_dedup dedup[AN_ALERT_DEDUP_SLOTS];
	struct an_event *queue, **qtail;
	size_t nqueue;
	struct an_alert_stats st;
	pthread_t thread;
	bool running, stop;
};

/* The lock, the queue, the paths (alert_outbox.c). */
int alert_state_init(struct an_alerts *a, const char *data_dir);
/* Summaries of rate windows that have passed (the lock held; alert.c). */
void alert_tick_locked(struct an_alerts *a, int64_t now_us);

#endif /* ES_ANALYTICS_ALERT_INTERNAL_H */
