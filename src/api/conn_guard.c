/*
 * conn_guard.c - a deadline on receiving a whole request (issue #13,
 * finding 4: slow-header denial of service).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout: every
 * byte restarts it, so a client sending one header byte a second holds its
 * connection for ever, and ~1,000 of them take every slot.  Two controls
 * answer that: MHD_OPTION_PER_IP_CONNECTION_LIMIT (http.c) keeps one address
 * from taking the slots, and this file bounds the time from a connection's
 * start (or the end of its previous request, for keep-alive) to the moment
 * its request line, headers and body are all in (SRV_REQUEST_DEADLINE_US).
 *
 * MHD 0.9 has no call that closes a connection from outside its own event
 * loop, so a watcher thread shuts the late connection's socket down
 * (shutdown(2), never close): MHD's loop then reads end-of-file and closes
 * the connection itself, through its ordinary path.  Connections are
 * tracked from MHD_CONNECTION_NOTIFY_STARTED to _CLOSED; MHD sends _CLOSED
 * before it closes the descriptor, and both the watcher's shutdown and the
 * removal hold g->lock, so a descriptor number is never shut down after it
 * was closed (and perhaps reused by another socket).
 */
#include "api/server_internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define TAG "api"
#define GUARD_TICK_MS 200
#define GUARD_LOG_EVERY_US (10 * ES_US_PER_SEC) /* at most one warning per */

struct srv_conn {
	struct srv_conn *prev, *next;
	int fd;
	int64_t since_us; /* the current request may start arriving from here */
	bool busy;        /* the whole request is in: it is handled or answered */
	bool shut;        /* already shut down by the watcher */
};

struct srv_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stop;
	int64_t deadline_us;
	struct srv_conn *head;
	uint64_t shut_total, shut_logged;
	int64_t logged_at_us;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

static void guard_sweep(struct srv_guard *g)
{
	int64_t now = mono_us();
	for (struct srv_conn *c = g->head; c; c = c->next) {
		if (c->busy || c->shut || now - c->since_us < g->deadline_us)
			continue;
		/* MHD still owns fd (it is closed only after _CLOSED, which
		 * waits for g->lock): end-of-file makes its loop close it. */
		shutdown(c->fd, SHUT_RDWR);
		c->shut = true;
		g->shut_total++;
	}
	if (g->shut_total != g->shut_logged && now - g->logged_at_us >= GUARD_LOG_EVERY_US) {
		ES_LOG_WARNING(TAG,
			       "closed %llu connections that did not send a whole request "
			       "within %lld s (%llu since start)",
			       (unsigned long long)(g->shut_total - g->shut_logged),
			       (long long)(g->deadline_us / ES_US_PER_SEC),
			       (unsigned long long)g->shut_total);
		g->shut_logged = g->shut_total;
		g->logged_at_us = now;
	}
}

static void *guard_main(void *arg)
{
	struct srv_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		guard_sweep(g);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int srv_guard_new(struct srv_guard **out, int64_t deadline_us)
{
	*out = NULL;
	struct srv_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return ES_ENOMEM;
	g->deadline_us = deadline_us;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, guard_main, g)) {
		srv_guard_free(g);
		return ES_ENOMEM;
	}
	g->started = true;
	*out = g;
	return 0;
}

void srv_guard_free(struct srv_guard *g)
{
	if (!g)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->lock);
		g->stop = true;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->thread, NULL);
	}
	while (g->head) { /* none left once MHD has stopped; kept safe anyway */
		struct srv_conn *c = g->head;
		g->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	struct srv_guard *g = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct srv_conn *c = ci ? calloc(1, sizeof(*c)) : NULL;
		*socket_context = c;
		if (!c)
			return; /* not watched: only the idle timeout applies */
		c->fd = ci->connect_fd;
		c->since_us = mono_us();
		pthread_mutex_lock(&g->lock);
		c->next = g->head;
		if (g->head)
			g->head->prev = c;
		g->head = c;
		pthread_mutex_unlock(&g->lock);
		return;
	}
	struct srv_conn *c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

static struct srv_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void srv_guard_request_in(struct srv_guard *g, struct MHD_Connection *conn)
{
	struct srv_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->busy = true;
	pthread_mutex_unlock(&g->lock);
}

void srv_guard_request_done(struct srv_guard *g, struct MHD_Connection *conn)
{
	struct srv_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->busy = false;
	c->since_us = mono_us(); /* keep-alive: the next request's clock */
	pthread_mutex_unlock(&g->lock);
}
