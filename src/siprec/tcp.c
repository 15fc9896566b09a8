/* tcp.c - the recording server's TCP and TLS SIP transport: accepting
 * (the allow list and the connection limits are checked here, before a
 * byte is read), framing messages out of the stream, writing, TLS
 * handshakes, and closing connections that are idle or never send a
 * request. */
#include "siprec/srs_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAG "srs"

static struct srs_conn *conn_find(struct srs *s, uint64_t id)
{
	for (struct srs_conn *c = s->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void srs_conn_close(struct srs *s, struct srs_conn *c)
{
	for (struct srs_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srs_tls_conn_free(c);
	close(c->fd);
	es_buf_free(&c->in);
	es_buf_free(&c->out);
	free(c);
	s->nconns--;
}

/* The epoll interest of c: always readable; writable while output is
 * pending or TLS waits to write (its handshake included). */
static void conn_interest(struct srs *s, struct srs_conn *c)
{
	uint32_t ev = EPOLLIN;
	if (c->out.len || c->tls_want_write)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	struct epoll_event e = {.events = ev, .data.u64 = EV(EV_CONN, c->id)};
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* A TLS handshake failed or took too long: counted, closed. */
static void tls_fail(struct srs *s, struct srs_conn *c)
{
	s->st.tls_failures++;
	srs_conn_close(s, c);
}

/* Go on with c's handshake; false when c was closed. */
static bool tls_handshake(struct srs *s, struct srs_conn *c)
{
	int r = srs_tls_handshake(c);
	c->tls_want_write = r == SRS_TLS_WANT_WRITE;
	if (r == 1) {
		c->tls = SRS_TLS_OPEN;
		s->st.tls_connections++;
	} else if (r != SRS_TLS_WANT_READ && r != SRS_TLS_WANT_WRITE) {
		tls_fail(s, c);
		return false;
	}
	conn_interest(s, c);
	return true;
}

/* Write what is pending; false when the connection had to be closed. */
static bool conn_flush(struct srs *s, struct srs_conn *c)
{
	if (c->tls == SRS_TLS_HANDSHAKE) {
		conn_interest(s, c); /* written once the handshake is done */
		return true;
	}
	c->tls_want_write = false;
	while (c->out.len) {
		if (c->ssl) {
			int n = srs_tls_write(c, c->out.p, c->out.len);
			if (n == SRS_TLS_WANT_WRITE) {
				c->tls_want_write = true;
				break;
			}
			if (n == SRS_TLS_WANT_READ)
				break; /* EPOLLIN is always wanted: retried after a read */
			if (n <= 0) {
				srs_conn_close(s, c);
				return false;
			}
			es_buf_consume(&c->out, (size_t)n);
			continue;
		}
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			srs_conn_close(s, c);
			return false;
		}
		es_buf_consume(&c->out, (size_t)n);
	}
	conn_interest(s, c);
	return true;
}

/* Whether a connection from peer may stay: the allow list, the server's
 * limit and the per-host limit, checked before any byte is read (a host
 * the allow list refuses must not hold slots the clients need). */
static bool accept_ok(struct srs *s, const struct es_addr *peer)
{
	uint64_t *why = NULL;
	if (!srs_allowed(s, peer)) {
		why = &s->st.drops.tcp_forbidden;
	} else if (s->nconns >= SRS_MAX_CONNS) {
		why = &s->st.drops.tcp_limit;
	} else {
		unsigned n = 0;
		for (struct srs_conn *c = s->conns; c; c = c->next)
			n += es_addr_ip_eq(&c->peer, peer);
		if (n >= s->cfg.max_conns_per_host)
			why = &s->st.drops.tcp_per_host;
	}
	if (!why)
		return true;
	(*why)++;
	if (srs_ratelog_ok(&s->refusals, srs_now_us(), "refusals")) {
		char a[ES_ADDR_STRLEN];
		es_addr_fmt(peer, true, a, sizeof(a));
		ES_LOG_WARNING(TAG, "TCP connection from %s refused: %s", a,
			       why == &s->st.drops.tcp_forbidden ? "not in the allow list"
			       : why == &s->st.drops.tcp_limit
				       ? "the server's connection limit is reached"
				       : "too many connections from that address");
	}
	return false;
}

/* Close an accepted socket with a reset: no TIME_WAIT kept for a refused
 * peer. */
static void close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void srs_on_accept(struct srs *s, unsigned li)
{
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s->lst[li].fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct es_addr peer;
		srs_from_sockaddr(&ss, &peer);
		if (!accept_ok(s, &peer)) {
			close_reset(fd);
			continue;
		}
		struct srs_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++s->next_conn_id;
		c->events = EPOLLIN;
		if (s->lst[li].proto == SRS_PROTO_TLS) {
			if (srs_tls_conn_new(s->tls_ctx, c)) {
				close(fd);
				free(c);
				continue;
			}
			c->tls = SRS_TLS_HANDSHAKE;
			c->tls_deadline = srs_now_us() + SRS_TLS_HANDSHAKE_US;
		}
		c->peer = peer;
		c->local = s->lst[li].local;
		c->last_us = c->accepted_us = srs_now_us();
		es_buf_init(&c->in);
		es_buf_init(&c->out);
		if (srs_ep_add(s, fd, EPOLLIN, EV(EV_CONN, c->id))) {
			srs_tls_conn_free(c);
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
		s->st.tcp_connections++;
	}
}

/* Frame and handle the messages in c->in; false when c was closed. */
static bool conn_messages(struct srs *s, struct srs_conn *c)
{
	size_t max = s->cfg.max_msg;
	uint64_t id = c->id;
	for (;;) {
		size_t skip = 0, mlen = 0;
		int e = sip_frame((const char *)c->in.p, c->in.len, max, &skip, &mlen);
		if (e == ES_EAGAIN) {
			es_buf_consume(&c->in, skip);
			if (c->in.len > max) {
				s->st.sip_errors++;
				srs_conn_close(s, c);
				return false;
			}
			return true;
		}
		if (e || mlen > max) {
			s->st.sip_errors++;
			srs_conn_close(s, c);
			return false;
		}
		c->got_message = true;
		struct srs_route r = {.proto = NET_PROTO_TCP, .udp_fd = -1, .conn_id = c->id,
				      .tls = c->ssl != NULL, .peer = c->peer, .local = c->local};
		/* the message is copied out: handling it may write to (or close) c */
		memcpy(s->rx, c->in.p + skip, mlen);
		es_buf_consume(&c->in, skip + mlen);
		srs_on_sip(s, &r, (const char *)s->rx, mlen);
		if (!(c = conn_find(s, id)))
			return false;
	}
}

/* Read what TLS has: SSL may hold decrypted bytes epoll knows nothing of,
 * so read until it wants more from the socket. */
static void tls_input(struct srs *s, struct srs_conn *c)
{
	uint64_t id = c->id;
	uint8_t tmp[16384];
	for (;;) {
		int n = srs_tls_read(c, tmp, sizeof(tmp));
		if (n == SRS_TLS_WANT_READ || n == SRS_TLS_WANT_WRITE) {
			if (n == SRS_TLS_WANT_WRITE && !c->tls_want_write) {
				c->tls_want_write = true;
				conn_interest(s, c);
			}
			return;
		}
		if (n <= 0) {
			srs_conn_close(s, c);
			return;
		}
		c->last_us = srs_now_us();
		if (es_buf_append(&c->in, tmp, (size_t)n)) {
			srs_conn_close(s, c);
			return;
		}
		if (!conn_messages(s, c) || !(c = conn_find(s, id)))
			return;
		/* a response written while reading: it may wait for this read */
		if (c->out.len && !conn_flush(s, c))
			return;
	}
}

void srs_on_conn(struct srs *s, uint64_t id, uint32_t events)
{
	struct srs_conn *c = conn_find(s, id);
	if (!c)
		return;
	if (c->tls == SRS_TLS_HANDSHAKE) {
		if (!tls_handshake(s, c) || c->tls != SRS_TLS_OPEN)
			return;
		c->last_us = srs_now_us();
		/* open: what came with the handshake's last flight is read below */
		events |= EPOLLIN | (c->out.len ? EPOLLOUT : 0u);
	}
	if ((events & EPOLLOUT) && !conn_flush(s, c))
		return;
	if (c->ssl) {
		/* TLS reads and writes may each wait for the other direction:
		 * try both on any event */
		tls_input(s, c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	uint8_t tmp[16384];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		srs_conn_close(s, c);
		return;
	}
	if (n < 0)
		return;
	c->last_us = srs_now_us();
	if (es_buf_append(&c->in, tmp, (size_t)n)) {
		srs_conn_close(s, c);
		return;
	}
	conn_messages(s, c);
}

bool srs_conn_send(struct srs *s, const struct srs_route *r, const void *p, size_t len)
{
	struct srs_conn *c = conn_find(s, r->conn_id);
	if (!c) {
		char a[ES_ADDR_STRLEN];
		es_addr_fmt(&r->peer, true, a, sizeof(a));
		ES_LOG_WARNING(TAG, "TCP connection to %s is gone: message not sent", a);
		return false;
	}
	if (c->out.len + len > SRS_TCP_OUT_MAX || es_buf_append(&c->out, p, len)) {
		srs_conn_close(s, c);
		return false;
	}
	return conn_flush(s, c);
}

void srs_conns_timers(struct srs *s, int64_t now)
{
	/* idle TCP connections of no session, TLS handshakes taking too long,
	 * connections that never sent a whole message (slots held open) */
	for (struct srs_conn *c = s->conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->tls == SRS_TLS_HANDSHAKE && now > c->tls_deadline) {
			tls_fail(s, c);
		} else if (!c->got_message &&
			   now - c->accepted_us > s->cfg.tcp_request_timeout_us) {
			s->st.drops.tcp_no_request++;
			srs_conn_close(s, c);
		} else if (now - c->last_us > SRS_TCP_IDLE_US) {
			srs_conn_close(s, c);
		}
	}
}
