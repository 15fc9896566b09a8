/* srs.c - the recording server's event loop: the UDP SIP transport (TCP and
 * TLS connections are tcp.c's), the media sockets of the port pool, the
 * engine hand-off and the timers.  Single-threaded, nonblocking sockets,
 * one epoll set. */
#include "record/record.h"
#include "siprec/srs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAG "srs"

int64_t srs_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

void srs_random(void *p, size_t n)
{
	static bool ok;
	if (!ok)
		ok = sodium_init() >= 0;
	randombytes_buf(p, n);
}

static socklen_t to_sockaddr(const struct es_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == ES_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->ip, 16);
		s6->sin6_port = htons(a->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, a->ip, 4);
	s4->sin_port = htons(a->port);
	return sizeof(*s4);
}

void srs_from_sockaddr(const struct sockaddr_storage *ss, struct es_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *ip = (const uint8_t *)&s6->sin6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(ip, mapped, 12) == 0)
			es_addr_set_v4(a, ip + 12, ntohs(s6->sin6_port));
		else
			es_addr_set_v6(a, ip, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		es_addr_set_v4(a, (const uint8_t *)&s4->sin_addr, ntohs(s4->sin_port));
	}
}

static bool is_wildcard(const struct es_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->ip, zero, 16) == 0;
}

/* reuse: SO_REUSEADDR, for TCP listeners only (a restart while old
 * connections are in TIME_WAIT); on a UDP socket Linux would let a second
 * server bind the same port and take part of its traffic. */
static int open_socket(const struct es_addr *a, int type, bool reuse)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(a, &ss);
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int srs_ep_add(struct srs *s, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

void srs_to_engine(struct srs *s, uint8_t proto, const struct es_addr *src,
		   const struct es_addr *dst, const void *p, size_t len)
{
	struct net_pkt pkt;
	memset(&pkt, 0, sizeof(pkt));
	pkt.frame = ++s->frame;
	pkt.ts_us = srs_now_us();
	pkt.proto = proto;
	pkt.src = *src;
	pkt.dst = *dst;
	pkt.data = p;
	pkt.len = len;
	rec_engine_datagram(s->engine, &pkt);
}

void srs_send(struct srs *s, const struct srs_route *r, const void *p, size_t len, bool record)
{
	if (r->proto == NET_PROTO_UDP) {
		struct sockaddr_storage ss;
		socklen_t sl = to_sockaddr(&r->peer, &ss);
		if (sendto(r->udp_fd, p, len, 0, (struct sockaddr *)&ss, sl) < 0)
			ES_LOG_DBG(TAG, "sendto: %s", strerror(errno));
	} else if (!srs_conn_send(s, r, p, len)) {
		return;
	}
	if (record)
		srs_to_engine(s, r->proto, &r->local, &r->peer, p, len);
}

static void on_udp(struct srs *s, unsigned li)
{
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(s->lst[li].fd, s->rx, sizeof(s->rx) - 1, 0,
				     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		struct srs_route r = {.proto = NET_PROTO_UDP, .udp_fd = s->lst[li].fd,
				      .local = s->lst[li].local};
		srs_from_sockaddr(&ss, &r.peer);
		if (n == 0 || (n <= 4 && strspn((const char *)s->rx, "\r\n") == (size_t)n))
			continue; /* keep-alive (RFC 5626 3.5.1) */
		if ((size_t)n > s->cfg.max_msg) {
			s->st.sip_errors++;
			continue;
		}
		srs_on_sip(s, &r, (const char *)s->rx, (size_t)n);
	}
}

/* ---- media ---- */

int srs_media_open(struct srs *s, struct srs_session *sess, unsigned idx)
{
	struct srs_stream *st = &sess->st[idx];
	struct es_addr a = s->cfg.media_addr;
	unsigned slot = (unsigned)(st->port - s->port_first);
	a.port = st->port;
	st->fd_rtp = open_socket(&a, SOCK_DGRAM, false);
	a.port = (uint16_t)(st->port + 1);
	st->fd_rtcp = st->fd_rtp >= 0 ? open_socket(&a, SOCK_DGRAM, false) : -1;
	if (st->fd_rtcp < 0 || srs_ep_add(s, st->fd_rtp, EPOLLIN, EV(EV_MEDIA, slot)) ||
	    srs_ep_add(s, st->fd_rtcp, EPOLLIN, EV(EV_MEDIA, slot + 1))) {
		ES_LOG_WARNING(TAG, "cannot bind media port %u: %s", st->port, strerror(errno));
		srs_media_close(s, st);
		return ES_EIO;
	}
	s->media[slot] = (struct srs_media){sess, idx, false};
	s->media[slot + 1] = (struct srs_media){sess, idx, true};
	return 0;
}

/* Close the sockets and give the port back (the port stays in st). */
void srs_media_close(struct srs *s, struct srs_stream *st)
{
	if (st->fd_rtp >= 0)
		close(st->fd_rtp);
	if (st->fd_rtcp >= 0)
		close(st->fd_rtcp);
	st->fd_rtp = st->fd_rtcp = -1;
	if (st->port) {
		unsigned slot = (unsigned)(st->port - s->port_first);
		if (slot + 1 < s->nmedia_slots)
			s->media[slot].sess = s->media[slot + 1].sess = NULL;
		srs_ports_give(s->ports, st->port);
	}
	srs_srtp_free(st->srtp);
	st->srtp = NULL;
}

static void on_media(struct srs *s, unsigned slot)
{
	if (slot >= s->nmedia_slots)
		return;
	for (int k = 0; k < 64; k++) {
		struct srs_media *m = &s->media[slot];
		if (!m->sess)
			return; /* a closed pair: its socket is gone too */
		struct srs_stream *st = &m->sess->st[m->stream];
		int fd = m->rtcp ? st->fd_rtcp : st->fd_rtp;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, s->rx, sizeof(s->rx) - 1, 0, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		size_t len = (size_t)n;
		/* RFC 5761 4: RTCP multiplexed on the RTP port has PT 192..223 */
		bool rtcp = m->rtcp || (len >= 2 && s->rx[1] >= 192 && s->rx[1] <= 223);
		if (len < (rtcp ? 8u : 12u) || (s->rx[0] >> 6) != 2) {
			s->st.drops.media_malformed++;
			continue;
		}
		struct es_addr src, dst = s->cfg.media_addr;
		srs_from_sockaddr(&ss, &src);
		bool latch;
		uint64_t *drop = srs_source_check(s, &st->src, m->rtcp, &src, &latch);
		if (drop) {
			(*drop)++;
			continue;
		}
		if (st->srtp && srs_srtp_unprotect(st->srtp, rtcp, s->rx, &len)) {
			s->st.drops.media_srtp_auth++;
			continue;
		}
		if (latch)
			srs_source_latch(&st->src, m->rtcp, &src);
		dst.port = (uint16_t)(s->port_first + slot);
		if (rtcp)
			s->st.rtcp_packets++;
		else
			s->st.rtp_packets++;
		m->sess->last_activity = srs_now_us();
		srs_to_engine(s, NET_PROTO_UDP, &src, &dst, s->rx, len);
	}
}

/* ---- client transactions: the BYEs the server sends ---- */

void srs_uac_add(struct srs *s, const struct srs_route *r, const char *branch,
		 struct es_buf *msg)
{
	srs_send(s, r, msg->p, msg->len, true);
	struct srs_uac *u = calloc(1, sizeof(*u));
	if (!u) {
		es_buf_free(msg);
		return;
	}
	int64_t now = srs_now_us();
	u->route = *r;
	snprintf(u->branch, sizeof(u->branch), "%s", branch);
	u->msg = *msg; /* taken over */
	es_buf_init(msg);
	u->retx_interval = SRS_T1_US;
	u->retx_at = r->proto == NET_PROTO_UDP ? now + SRS_T1_US : INT64_MAX;
	u->deadline = now + SRS_TXN_US;
	u->next = s->uacs;
	s->uacs = u;
}

/* A response: ends the BYE transaction of its branch (any final). */
bool srs_uac_response(struct srs *s, struct slice branch, unsigned status)
{
	for (struct srs_uac **pp = &s->uacs; *pp; pp = &(*pp)->next) {
		struct srs_uac *u = *pp;
		if (sl_eq(branch, sl_cstr(u->branch))) {
			if (status >= 200) {
				*pp = u->next;
				es_buf_free(&u->msg);
				free(u);
			}
			return true;
		}
	}
	return false;
}

static int64_t uac_timers(struct srs *s, int64_t now)
{
	int64_t next = INT64_MAX;
	for (struct srs_uac **pp = &s->uacs; *pp;) {
		struct srs_uac *u = *pp;
		if (now >= u->deadline) {
			*pp = u->next;
			es_buf_free(&u->msg);
			free(u);
			continue;
		}
		if (now >= u->retx_at) {
			srs_send(s, &u->route, u->msg.p, u->msg.len, true);
			s->st.retransmissions_sent++;
			u->retx_interval = ES_MIN(u->retx_interval * 2, SRS_T2_US);
			u->retx_at = now + u->retx_interval;
		}
		next = ES_MIN(next, ES_MIN(u->retx_at, u->deadline));
		pp = &u->next;
	}
	return next;
}

/* ---- the server ---- */

static int setup_listeners(struct srs *s, char *err, size_t errlen)
{
	for (unsigned i = 0; i < s->cfg.nlisten; i++) {
		const struct srs_listen *l = &s->cfg.listen[i];
		struct srs_listener *x = &s->lst[s->nlst];
		char a[ES_ADDR_STRLEN];
		es_addr_fmt(&l->addr, true, a, sizeof(a));
		bool tls = l->proto == SRS_PROTO_TLS;
		bool tcp = l->proto == NET_PROTO_TCP || tls;
		if (!tcp && l->proto != NET_PROTO_UDP) {
			snprintf(err, errlen, "listen %s: protocol must be UDP, TCP or TLS", a);
			return ES_EINVAL;
		}
		x->proto = l->proto;
		x->fd = open_socket(&l->addr, tcp ? SOCK_STREAM : SOCK_DGRAM, tcp);
		if (x->fd < 0) {
			snprintf(err, errlen, "cannot listen on %s/%s: %s", a,
				 tls ? "tls" : tcp ? "tcp" : "udp", strerror(errno));
			return ES_EIO;
		}
		s->nlst++;
		x->local = l->addr;
		if (is_wildcard(&l->addr)) {
			x->local = s->cfg.media_addr;
			x->local.port = l->addr.port;
		}
		if (srs_ep_add(s, x->fd, EPOLLIN, EV(tcp ? EV_TCP_LISTEN : EV_UDP, i))) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			return ES_EIO;
		}
	}
	return 0;
}

int srs_new(struct srs **out, const struct srs_config *cfg, struct rec_engine *engine,
	    char *err, size_t errlen)
{
	char dummy[8];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!cfg || !engine || !out || cfg->nlisten == 0 || cfg->nlisten > SRS_MAX_LISTEN ||
	    cfg->nallow > SRS_MAX_ALLOW) {
		snprintf(err, errlen, "no listen address (or too many)");
		return ES_EINVAL;
	}
	if (cfg->media_addr.family == ES_AF_NONE || is_wildcard(&cfg->media_addr)) {
		snprintf(err, errlen, "the media address must be a concrete address");
		return ES_EINVAL;
	}
	struct srs *s = calloc(1, sizeof(*s));
	if (!s)
		return ES_ENOMEM;
	s->cfg = *cfg;
	s->engine = engine;
	s->ep = -1;
	if (!s->cfg.retry_after_s)
		s->cfg.retry_after_s = 30;
	if (!s->cfg.session_timeout_us)
		s->cfg.session_timeout_us = 300 * ES_US_PER_SEC;
	if (!s->cfg.max_msg || s->cfg.max_msg > 65536)
		s->cfg.max_msg = 65536;
	if (!s->cfg.max_sessions)
		s->cfg.max_sessions = UINT32_MAX;
	if (!s->cfg.server_name)
		s->cfg.server_name = "earshot";
	if (!s->cfg.max_conns_per_host)
		s->cfg.max_conns_per_host = SRS_CONNS_PER_HOST;
	if (s->cfg.tcp_request_timeout_us <= 0)
		s->cfg.tcp_request_timeout_us = SRS_TCP_REQUEST_US;
	es_addr_fmt(&cfg->media_addr, false, s->media_ip, sizeof(s->media_ip));
	int rc = srs_ports_new(&s->ports, cfg->rtp_lo, cfg->rtp_hi);
	if (rc) {
		snprintf(err, errlen, "bad RTP port range %u-%u", cfg->rtp_lo, cfg->rtp_hi);
		goto fail;
	}
	s->port_first = (uint16_t)(cfg->rtp_lo + (cfg->rtp_lo & 1u));
	s->nmedia_slots = 2 * srs_ports_available(s->ports);
	s->media = calloc(s->nmedia_slots, sizeof(*s->media));
	rc = ES_ENOMEM;
	if (!s->media || es_htab_init(&s->sessions, 64) || es_htab_init(&s->txns, 256))
		goto fail;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		rc = ES_EIO;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < SRS_MAX_LISTEN; i++)
		s->lst[i].fd = -1;
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		if (cfg->listen[i].proto == SRS_PROTO_TLS) {
			if ((rc = srs_tls_ctx_new(cfg, &s->tls_ctx, err, errlen)))
				goto fail;
			break;
		}
	}
	if ((rc = setup_listeners(s, err, errlen)))
		goto fail;
	s->last_tick = srs_now_us();
	*out = s;
	return 0;
fail:
	srs_free(s);
	return rc;
}

int srs_step(struct srs *s, int timeout_ms)
{
	int64_t now = srs_now_us();
	int64_t due = ES_MIN(srs_sessions_timers(s, now), uac_timers(s, now));
	due = ES_MIN(due, s->last_tick + 100000);
	int64_t wait = (due - now + 999) / 1000;
	if (timeout_ms < 0 || wait < timeout_ms)
		timeout_ms = (int)ES_MAX(wait, 0);
	struct epoll_event evs[64];
	int n = epoll_wait(s->ep, evs, 64, timeout_ms);
	if (n < 0 && errno != EINTR)
		return ES_EIO;
	for (int i = 0; i < n; i++) {
		uint64_t d = evs[i].data.u64;
		unsigned kind = (unsigned)(d >> 56);
		uint64_t v = d & ((UINT64_C(1) << 56) - 1);
		switch (kind) {
		case EV_UDP: on_udp(s, (unsigned)v); break;
		case EV_TCP_LISTEN: srs_on_accept(s, (unsigned)v); break;
		case EV_CONN: srs_on_conn(s, v, evs[i].events); break;
		case EV_MEDIA: on_media(s, (unsigned)v); break;
		default: break;
		}
	}
	now = srs_now_us();
	srs_sessions_timers(s, now);
	uac_timers(s, now);
	srs_conns_timers(s, now);
	if (now - s->last_tick >= 100000 || now < s->last_tick) {
		rec_engine_tick(s->engine, now);
		s->last_tick = now;
	}
	return 0;
}

void srs_shutdown(struct srs *s)
{
	s->shutting_down = true;
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&s->sessions, &pos, &cur)))
		srs_session_end(s, ES_CONTAINER_OF(n, struct srs_session, node), "shutdown", true);
}

void srs_stats(const struct srs *s, struct srs_stats *out) { *out = s->st; }

void srs_free(struct srs *s)
{
	if (!s)
		return;
	if (s->sessions.b) {
		size_t pos = 0;
		struct es_hnode *cur = NULL, *n;
		while ((n = es_htab_next(&s->sessions, &pos, &cur)))
			srs_session_end(s, ES_CONTAINER_OF(n, struct srs_session, node), "freed",
					false);
	}
	es_htab_free(&s->sessions);
	srs_txn_free_all(s);
	es_htab_free(&s->txns);
	while (s->uacs) {
		struct srs_uac *u = s->uacs;
		s->uacs = u->next;
		es_buf_free(&u->msg);
		free(u);
	}
	while (s->conns)
		srs_conn_close(s, s->conns);
	for (unsigned i = 0; i < s->nlst; i++)
		if (s->lst[i].fd >= 0)
			close(s->lst[i].fd);
	if (s->ep >= 0)
		close(s->ep);
	srs_tls_ctx_free(s->tls_ctx);
	srs_ports_free(s->ports);
	free(s->media);
	free(s);
}
