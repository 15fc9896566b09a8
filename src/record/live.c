/*
 * live.c - live recording: capture threads, a dispatcher in each, worker
 * threads each running its own engine, and a queue of finished calls.
 *
 *   interface ─► capture thread: libpcap ─► net_decoder ─► route ─┬─► ring ─► worker 0: rec_engine ─┐
 *   (one each)                  (defrag, TCP, SIP framing)        └─► ring ─► worker 1: rec_engine ─┴─► finished calls
 *
 * Routing keeps every packet of a call on one worker without locks: a SIP
 * message goes to the worker chosen by a hash of its Call-ID; the
 * dispatcher reads the SDP bodies it passes on and remembers which worker
 * owns each announced media address, so RTP/RTCP to or from that address
 * goes to the same worker; media of no known call goes by a hash of its
 * address pair.  Each (capture thread, worker) pair has its own
 * single-producer single-consumer ring of decoded datagrams; a full ring
 * drops the datagram and counts it (never blocks the capture).  Finished
 * calls are deep-copied into a queue (one mutex, taken once per call, not
 * per packet) for the thread that owns the index.
 */
#include "record/record_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAG "live"
#define LIVE_MAX_WORKERS 64
#define LIVE_MAX_IFACES 16
#define EP_EXPIRE_US (3600 * ES_US_PER_SEC)

/* ---- SPSC ring of datagrams ---------------------------------------------------- */

struct ring_hdr {
	uint32_t len;  /* payload bytes; UINT32_MAX marks a wrap to the start */
	uint8_t proto;
	uint8_t pad[3];
	int64_t ts_us;
	uint64_t frame;
	struct es_addr src, dst;
};

struct ring {
	uint8_t *buf;
	size_t cap;
	_Atomic size_t head; /* written by the producer */
	_Atomic size_t tail; /* written by the consumer */
	_Atomic uint64_t drops;
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static int ring_init(struct ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = cap;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->drops, 0);
	return r->buf ? 0 : ES_ENOMEM;
}

/* Producer: false (counted as a drop) when there is no room. */
static bool ring_put(struct ring *r, const struct net_pkt *pkt)
{
	size_t need = align8(sizeof(struct ring_hdr) + pkt->len);
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t used = head - tail;
	size_t off = head % r->cap;
	size_t to_end = r->cap - off;
	size_t total = need <= to_end ? need : to_end + need;
	if (need > r->cap / 2 || used + total > r->cap) {
		atomic_fetch_add_explicit(&r->drops, 1, memory_order_relaxed);
		return false;
	}
	if (need > to_end) {
		/* a wrap marker, then the record at the start */
		if (to_end >= sizeof(uint32_t)) {
			uint32_t mark = UINT32_MAX;
			memcpy(r->buf + off, &mark, sizeof(mark));
		}
		head += to_end;
		off = 0;
	}
	struct ring_hdr h = {.len = (uint32_t)pkt->len, .proto = pkt->proto, .ts_us = pkt->ts_us,
			     .frame = pkt->frame, .src = pkt->src, .dst = pkt->dst};
	memcpy(r->buf + off, &h, sizeof(h));
	memcpy(r->buf + off + sizeof(h), pkt->data, pkt->len);
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	return true;
}

/* Consumer: the next datagram into pkt (data points into the ring until
 * ring_pop), or false when empty. */
static bool ring_peek(struct ring *r, struct net_pkt *pkt, size_t *adv)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	for (;;) {
		if (tail == head)
			return false;
		size_t off = tail % r->cap;
		size_t to_end = r->cap - off;
		uint32_t len = UINT32_MAX;
		if (to_end >= sizeof(uint32_t))
			memcpy(&len, r->buf + off, sizeof(len));
		if (to_end < sizeof(struct ring_hdr) || len == UINT32_MAX) {
			tail += to_end; /* wrap */
			atomic_store_explicit(&r->tail, tail, memory_order_release);
			continue;
		}
		struct ring_hdr h;
		memcpy(&h, r->buf + off, sizeof(h));
		memset(pkt, 0, sizeof(*pkt));
		pkt->frame = h.frame;
		pkt->ts_us = h.ts_us;
		pkt->proto = h.proto;
		pkt->src = h.src;
		pkt->dst = h.dst;
		pkt->data = r->buf + off + sizeof(h);
		pkt->len = h.len;
		*adv = align8(sizeof(h) + h.len);
		return true;
	}
}

static void ring_pop(struct ring *r, size_t adv)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tail + adv, memory_order_release);
}

static size_t ring_used(struct ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

/* ---- threads ------------------------------------------------------------------------ */

struct live_worker {
	struct rec_live *live;
	unsigned idx;
	pthread_t th;
	bool started;
	struct rec_engine *engine;
	struct ring rings[LIVE_MAX_IFACES]; /* one per capture thread */
	/* published by the worker for the status */
	_Atomic uint64_t active_calls, calls, rtp_packets, sip_messages, spool_errors, call_bytes;
	/* its open calls, published about every second: snap under the live's
	 * snap_mu; build is the worker's own scratch (swapped with snap) */
	struct rec_active *snap, *build;
	size_t nsnap, nbuild, snap_cap, build_cap;
	bool build_oom;
	int64_t snap_us;
	uint64_t cmd_seen; /* the last command looked at (rec_live_command) */
	uint64_t drops_seen; /* the drops its calls were told of (note_drops) */
};

struct ep_entry {
	struct es_hnode node;
	struct es_addr addr;
	unsigned worker;
	int64_t last_us;
};

struct live_capture {
	struct rec_live *live;
	unsigned idx;
	char name[64];
	pthread_t th;
	bool started;
	struct net_live *pcap;
	struct net_decoder *dec;
	int dlt;
	struct es_htab eps; /* announced media address -> worker */
	int64_t last_expire_us;
	uint64_t frames;
	_Atomic uint64_t pub_frames, pub_received, pub_dropped, pub_if_dropped;
};

struct rec_live {
	struct rec_live_config cfg;
	struct live_capture cap[LIVE_MAX_IFACES];
	unsigned ncap;
	struct live_worker wk[LIVE_MAX_WORKERS];
	unsigned nwk;
	_Atomic bool stop_capture;
	_Atomic unsigned captures_done;
	_Atomic bool stop_workers;
	pthread_mutex_t mu;
	pthread_mutex_t snap_mu; /* every worker's snap */
	struct rec_live_call *done, **done_tail;
	uint64_t done_total;
	uint64_t clone_failures;
	/* one command at a time from the main thread to every worker: each
	 * compares cmd_seq with the last it saw (no lock on the hot path) */
	pthread_mutex_t cmd_mu;
	pthread_cond_t cmd_cond;
	_Atomic uint64_t cmd_seq;
	const struct rec_cmd *cmd;
	unsigned cmd_pending;  /* workers yet to answer */
	int cmd_rc;            /* the best answer so far: 0, EEXIST, ENOTFOUND */
	char cmd_msg[256];
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- dispatcher (in each capture thread) ------------------------------------------ */

static bool ep_eq(const struct es_hnode *n, const void *key)
{
	return es_addr_eq(&ES_CONTAINER_OF(n, struct ep_entry, node)->addr, key);
}

static struct ep_entry *ep_find(struct live_capture *c, const struct es_addr *a)
{
	struct es_hnode *n = es_htab_find(&c->eps, es_addr_hash(a, 0), ep_eq, a);
	return n ? ES_CONTAINER_OF(n, struct ep_entry, node) : NULL;
}

static void ep_learn(struct live_capture *c, const struct es_addr *a, unsigned w, int64_t now)
{
	if (a->family == ES_AF_NONE || a->port == 0)
		return;
	struct ep_entry *e = ep_find(c, a);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->addr = *a;
		if (es_htab_insert(&c->eps, &e->node, es_addr_hash(a, 0))) {
			free(e);
			return;
		}
	}
	e->worker = w;
	e->last_us = now;
}

static void ep_expire(struct live_capture *c, int64_t now)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&c->eps, &pos, &cur))) {
		struct ep_entry *e = ES_CONTAINER_OF(n, struct ep_entry, node);
		if (now - e->last_us > EP_EXPIRE_US) {
			es_htab_remove(&c->eps, &e->node);
			free(e);
		}
	}
}

static unsigned pair_worker(const struct rec_live *l, const struct es_addr *a,
			    const struct es_addr *b)
{
	uint64_t h = es_addr_hash(a, 0) ^ es_addr_hash(b, 0); /* the same both ways */
	return (unsigned)(es_hash_mix(h) % l->nwk);
}

static void forward(struct live_capture *c, unsigned w, const struct net_pkt *pkt)
{
	ring_put(&c->live->wk[w].rings[c->idx], pkt);
}

/* A SIP message: its Call-ID picks the worker; its SDP teaches where the
 * call's media will flow. */
static void route_sip(struct live_capture *c, const struct net_pkt *pkt, const uint8_t *p,
		      size_t len)
{
	struct rec_live *l = c->live;
	struct sip_msg m;
	unsigned w = 0;
	if (sip_msg_parse(&m, (const char *)p, len) == 0 && m.call_id.len) {
		w = (unsigned)(es_hash(m.call_id.p, m.call_id.len, 0) % l->nwk);
		struct slice body;
		struct sdp sdp;
		if (m.body.len &&
		    sip_body_find(m.content_type, m.body, "application/sdp", &body) == 0 &&
		    sdp_parse(&sdp, body.p, body.len) == 0) {
			for (unsigned i = 0; i < sdp.nmedia; i++) {
				const struct sdp_media *md = &sdp.media[i];
				if (md->port == 0)
					continue;
				ep_learn(c, &md->addr, w, pkt->ts_us);
				if (!md->rtcp_mux && md->rtcp_port) {
					struct es_addr r = md->addr;
					r.port = md->rtcp_port;
					ep_learn(c, &r, w, pkt->ts_us);
				}
			}
		}
	} else {
		w = pair_worker(l, &pkt->src, &pkt->dst);
	}
	struct net_pkt one = *pkt;
	one.data = p;
	one.len = len;
	forward(c, w, &one);
}

static void on_udp(void *ud, const struct net_pkt *pkt)
{
	struct live_capture *c = ud;
	const uint8_t *p = pkt->data;
	if (pkt->len && (p[0] & 0xC0) == 0x80) {
		struct ep_entry *e = ep_find(c, &pkt->dst);
		if (!e)
			e = ep_find(c, &pkt->src);
		unsigned w;
		if (e) {
			w = e->worker;
			e->last_us = pkt->ts_us;
		} else {
			w = pair_worker(c->live, &pkt->src, &pkt->dst);
		}
		forward(c, w, pkt);
	} else if (sip_looks_like(p, pkt->len)) {
		route_sip(c, pkt, p, pkt->len);
	} else {
		forward(c, pair_worker(c->live, &pkt->src, &pkt->dst), pkt);
	}
}

/* SIP over TCP: frame whole messages here, hand each on as one datagram. */
static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	struct live_capture *c = ud;
	size_t used = 0;
	while (used < pkt->len) {
		size_t skip = 0, mlen = 0;
		const char *p = (const char *)pkt->data + used;
		int err = sip_frame(p, pkt->len - used, c->live->cfg.engine.sip_max_msg ?
							   c->live->cfg.engine.sip_max_msg : 65536,
				    &skip, &mlen);
		if (err == ES_EAGAIN) {
			used += skip;
			break;
		}
		if (err)
			return pkt->len; /* not SIP: resync (the worker never sees it) */
		route_sip(c, pkt, (const uint8_t *)p + skip, mlen);
		used += skip + mlen;
	}
	return used;
}

static void on_frame(void *ud, const uint8_t *data, size_t caplen, int64_t ts_us)
{
	struct live_capture *c = ud;
	net_decode_frame(c->dec, c->dlt, data, caplen, ts_us, ++c->frames);
}

static void publish_capture(struct live_capture *c)
{
	struct net_live_stats st;
	atomic_store_explicit(&c->pub_frames, c->frames, memory_order_relaxed);
	if (net_live_stats(c->pcap, &st) == 0) {
		atomic_store_explicit(&c->pub_received, st.received, memory_order_relaxed);
		atomic_store_explicit(&c->pub_dropped, st.dropped, memory_order_relaxed);
		atomic_store_explicit(&c->pub_if_dropped, st.if_dropped, memory_order_relaxed);
	}
}

static void *capture_main(void *arg)
{
	struct live_capture *c = arg;
	struct rec_live *l = c->live;
	int64_t last_pub = 0;
	while (!atomic_load(&l->stop_capture)) {
		int n = net_live_dispatch(c->pcap, 4096, on_frame, c);
		if (n < 0) {
			ES_LOG_ERR(TAG, "%s: capture failed: %s", c->name, net_live_error(c->pcap));
			break;
		}
		int64_t now = wall_us();
		if (now - last_pub >= ES_US_PER_SEC / 4) {
			publish_capture(c);
			net_decoder_expire(c->dec, now);
			last_pub = now;
		}
		if (now - c->last_expire_us >= 10 * ES_US_PER_SEC) {
			ep_expire(c, now);
			c->last_expire_us = now;
		}
	}
	publish_capture(c);
	atomic_fetch_add(&l->captures_done, 1);
	return NULL;
}

/* ---- workers ------------------------------------------------------------------------- */

static int on_call(void *ud, struct idx_call *ic, const char *media_log)
{
	struct live_worker *w = ud;
	struct rec_live *l = w->live;
	struct rec_live_call *lc = rec_live_call_clone(ic, media_log);
	pthread_mutex_lock(&l->mu);
	if (lc) {
		*l->done_tail = lc;
		l->done_tail = &lc->next;
		l->done_total++;
	} else {
		l->clone_failures++;
	}
	pthread_mutex_unlock(&l->mu);
	if (!lc) {
		ES_LOG_ERR(TAG, "call %s: out of memory, not stored", ic->call_id);
		return ES_ENOMEM;
	}
	return 0;
}

static void publish_worker(struct live_worker *w)
{
	const struct rec_stats *s = rec_engine_stats(w->engine);
	atomic_store_explicit(&w->active_calls, s->active_calls, memory_order_relaxed);
	atomic_store_explicit(&w->calls, s->calls, memory_order_relaxed);
	atomic_store_explicit(&w->rtp_packets, s->rtp_packets, memory_order_relaxed);
	atomic_store_explicit(&w->sip_messages, s->sip_messages, memory_order_relaxed);
	atomic_store_explicit(&w->spool_errors, s->spool_errors, memory_order_relaxed);
	atomic_store_explicit(&w->call_bytes, s->call_bytes, memory_order_relaxed);
}

static void snap_add(void *ud, const struct rec_active *a)
{
	struct live_worker *w = ud;
	if (w->nbuild == w->build_cap) {
		size_t cap = w->build_cap ? w->build_cap * 2 : 64;
		struct rec_active *b = cap <= REC_ACTIVE_MAX ? realloc(w->build, cap * sizeof(*b))
							     : NULL;
		if (!b) {
			w->build_oom = true; /* the list is cut short, the recording goes on */
			return;
		}
		w->build = b;
		w->build_cap = cap;
	}
	w->build[w->nbuild++] = *a;
}

/* List the worker's open calls and publish the list (rec_live_active). */
static void publish_active(struct live_worker *w, int64_t now)
{
	w->nbuild = 0;
	w->build_oom = false;
	rec_engine_active(w->engine, snap_add, w);
	pthread_mutex_lock(&w->live->snap_mu);
	struct rec_active *t = w->snap;
	size_t tcap = w->snap_cap;
	w->snap = w->build;
	w->snap_cap = w->build_cap;
	w->nsnap = w->nbuild;
	pthread_mutex_unlock(&w->live->snap_mu);
	w->build = t;
	w->build_cap = tcap;
	w->snap_us = now;
}

/* The worker's part of a command: apply it if its engine has the call. */
static void take_command(struct live_worker *w)
{
	struct rec_live *l = w->live;
	uint64_t seq = atomic_load_explicit(&l->cmd_seq, memory_order_acquire);
	if (seq == w->cmd_seen)
		return;
	w->cmd_seen = seq;
	pthread_mutex_lock(&l->cmd_mu);
	if (l->cmd && l->cmd_pending) {
		char msg[256];
		int rc = rec_engine_command(w->engine, l->cmd, wall_us(), msg, sizeof(msg));
		/* a found call beats "not here": ok or conflict over not_found */
		if (rc != ES_ENOTFOUND && l->cmd_rc == ES_ENOTFOUND) {
			l->cmd_rc = rc;
			snprintf(l->cmd_msg, sizeof(l->cmd_msg), "%s", msg);
		}
		if (--l->cmd_pending == 0)
			pthread_cond_signal(&l->cmd_cond);
	}
	pthread_mutex_unlock(&l->cmd_mu);
}

int rec_live_command(struct rec_live *l, const struct rec_cmd *c, char *msg, size_t cap)
{
	pthread_mutex_lock(&l->cmd_mu);
	l->cmd = c;
	l->cmd_pending = l->nwk;
	l->cmd_rc = ES_ENOTFOUND;
	snprintf(l->cmd_msg, sizeof(l->cmd_msg), "no call in progress with this id");
	atomic_fetch_add_explicit(&l->cmd_seq, 1, memory_order_release);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	int rc = 0;
	while (l->cmd_pending && rc == 0)
		rc = pthread_cond_timedwait(&l->cmd_cond, &l->cmd_mu, &until);
	int out = l->cmd_rc;
	if (l->cmd_pending && out == ES_ENOTFOUND) {
		/* a worker stuck behind a full queue may have it: do not claim
		 * there is no such call */
		out = ES_EIO;
		snprintf(l->cmd_msg, sizeof(l->cmd_msg), "the recorder is busy; try again");
	}
	snprintf(msg, cap, "%s", l->cmd_msg);
	l->cmd = NULL;
	l->cmd_pending = 0;
	pthread_mutex_unlock(&l->cmd_mu);
	return out;
}

/* Per-call capture-drop attribution: packets lost in any kernel ring
 * (they may have been any call's) or in this worker's own queues (they
 * were for one of its calls) since the last look are counted on each of
 * the worker's calls in progress (rec_call.capture_drops, the call's
 * "capture_drops" flag).  The kernel's count arrives with the capture
 * thread's next publish (a quarter second) and a worker's queue may still
 * hold packets from before a drop, so the attribution is to within about
 * that long: a call that began just after a drop may be counted, one whose
 * first packets still waited in a queue may not. */
static void note_drops(struct live_worker *w)
{
	struct rec_live *l = w->live;
	uint64_t total = 0;
	for (unsigned i = 0; i < l->ncap; i++) {
		total += atomic_load_explicit(&l->cap[i].pub_dropped, memory_order_relaxed);
		total += atomic_load_explicit(&w->rings[i].drops, memory_order_relaxed);
	}
	if (total <= w->drops_seen)
		return;
	uint64_t n = total - w->drops_seen;
	w->drops_seen = total;
	struct sip_tracker *t = rec_engine_tracker(w->engine);
	size_t pos = 0;
	struct es_hnode *cur = NULL;
	struct sip_call *sc;
	while ((sc = sip_tracker_next(t, &pos, &cur))) {
		struct rec_call *rc = sc->user;
		if (rc && sc->end_reason == SIP_END_NONE)
			rc->capture_drops += n;
	}
}

static unsigned drain_rings(struct live_worker *w, unsigned budget)
{
	struct rec_live *l = w->live;
	unsigned n = 0;
	for (unsigned i = 0; i < l->ncap; i++) {
		struct net_pkt pkt;
		size_t adv;
		while (n < budget && ring_peek(&w->rings[i], &pkt, &adv)) {
			rec_engine_datagram(w->engine, &pkt);
			ring_pop(&w->rings[i], adv);
			n++;
		}
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct live_worker *w = arg;
	struct rec_live *l = w->live;
	int64_t last_tick = 0;
	for (;;) {
		unsigned n = drain_rings(w, 1024);
		take_command(w);
		int64_t now = wall_us();
		if (now - last_tick >= ES_US_PER_SEC / 10) {
			note_drops(w);
			rec_engine_tick(w->engine, now);
			publish_worker(w);
			if (now - w->snap_us >= ES_US_PER_SEC)
				publish_active(w, now);
			last_tick = now;
		}
		if (n)
			continue;
		/* empty: stop once every capture has stopped and nothing is left */
		if (atomic_load(&l->stop_workers) && atomic_load(&l->captures_done) == l->ncap &&
		    drain_rings(w, 1024) == 0)
			break;
		usleep(1000);
	}
	rec_engine_shutdown(w->engine, wall_us());
	publish_worker(w);
	publish_active(w, wall_us());
	return NULL;
}

/* ---- the whole ------------------------------------------------------------------------- */

int rec_live_start(struct rec_live **out, const struct rec_live_config *cfg, char *err,
		   size_t errlen)
{
	if (cfg->nifaces == 0 || cfg->nifaces > LIVE_MAX_IFACES) {
		snprintf(err, errlen, "give 1 to %d interfaces", LIVE_MAX_IFACES);
		return ES_EINVAL;
	}
	struct rec_live *l = calloc(1, sizeof(*l));
	if (!l)
		return ES_ENOMEM;
	l->cfg = *cfg;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->snap_mu, NULL);
	pthread_mutex_init(&l->cmd_mu, NULL);
	pthread_cond_init(&l->cmd_cond, NULL);
	l->done_tail = &l->done;
	unsigned nw = cfg->workers;
	if (nw == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		nw = c > 1 ? (unsigned)c - 1 : 1;
	}
	if (nw > LIVE_MAX_WORKERS)
		nw = LIVE_MAX_WORKERS;
	l->nwk = nw;
	l->ncap = cfg->nifaces;
	size_t ring = cfg->ring_bytes ? cfg->ring_bytes : (size_t)32 << 20;
	int rc = 0;
	for (unsigned i = 0; i < l->ncap && !rc; i++) {
		struct live_capture *c = &l->cap[i];
		c->live = l;
		c->idx = i;
		snprintf(c->name, sizeof(c->name), "%s", cfg->ifaces[i].iface);
		if ((rc = net_live_open(&c->pcap, &cfg->ifaces[i], err, errlen)))
			break;
		c->dlt = net_live_dlt(c->pcap);
		if ((rc = es_htab_init(&c->eps, 4096)) ||
		    (rc = net_decoder_new(&c->dec, &cfg->engine.net, on_udp, on_tcp, c))) {
			snprintf(err, errlen, "out of memory");
			break;
		}
	}
	for (unsigned i = 0; i < nw && !rc; i++) {
		struct live_worker *w = &l->wk[i];
		w->live = l;
		w->idx = i;
		for (unsigned k = 0; k < l->ncap && !rc; k++)
			rc = ring_init(&w->rings[k], ring);
		if (!rc)
			rc = rec_engine_new(&w->engine, &cfg->engine, on_call, w);
		if (rc)
			snprintf(err, errlen, "out of memory");
	}
	for (unsigned i = 0; i < nw && !rc; i++) {
		if (pthread_create(&l->wk[i].th, NULL, worker_main, &l->wk[i])) {
			rc = ES_ENOMEM;
			snprintf(err, errlen, "cannot start worker threads: %s", strerror(errno));
		} else {
			l->wk[i].started = true;
		}
	}
	for (unsigned i = 0; i < l->ncap && !rc; i++) {
		if (pthread_create(&l->cap[i].th, NULL, capture_main, &l->cap[i])) {
			rc = ES_ENOMEM;
			snprintf(err, errlen, "cannot start capture threads: %s", strerror(errno));
		} else {
			l->cap[i].started = true;
		}
	}
	if (rc) {
		rec_live_stop(l);
		rec_live_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

struct rec_live_call *rec_live_next_call(struct rec_live *l)
{
	pthread_mutex_lock(&l->mu);
	struct rec_live_call *c = l->done;
	if (c) {
		l->done = c->next;
		if (!l->done)
			l->done_tail = &l->done;
		c->next = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	return c;
}

void rec_live_status(struct rec_live *l, struct rec_live_status *st)
{
	memset(st, 0, sizeof(*st));
	st->nifaces = l->ncap;
	for (unsigned i = 0; i < l->ncap; i++) {
		struct live_capture *c = &l->cap[i];
		snprintf(st->iface[i].name, sizeof(st->iface[i].name), "%s", c->name);
		st->iface[i].frames = atomic_load(&c->pub_frames);
		st->iface[i].received = atomic_load(&c->pub_received);
		st->iface[i].dropped = atomic_load(&c->pub_dropped);
		st->iface[i].if_dropped = atomic_load(&c->pub_if_dropped);
		st->frames += st->iface[i].frames;
	}
	st->nworkers = l->nwk;
	for (unsigned i = 0; i < l->nwk; i++) {
		struct live_worker *w = &l->wk[i];
		size_t depth = 0;
		for (unsigned k = 0; k < l->ncap; k++) {
			depth += ring_used(&w->rings[k]);
			st->queue_drops += atomic_load(&w->rings[k].drops);
		}
		st->worker[i].queue_bytes = depth;
		st->worker[i].active_calls = atomic_load(&w->active_calls);
		st->active_calls += st->worker[i].active_calls;
		st->calls += atomic_load(&w->calls);
		st->rtp_packets += atomic_load(&w->rtp_packets);
		st->sip_messages += atomic_load(&w->sip_messages);
		st->spool_errors += atomic_load(&w->spool_errors);
		st->call_bytes += atomic_load(&w->call_bytes);
	}
}

size_t rec_live_active(struct rec_live *l, rec_active_fn fn, void *ud)
{
	size_t n = 0;
	pthread_mutex_lock(&l->snap_mu);
	for (unsigned i = 0; i < l->nwk; i++) {
		const struct live_worker *w = &l->wk[i];
		for (size_t k = 0; k < w->nsnap; k++)
			fn(ud, &w->snap[k]);
		n += w->nsnap;
	}
	pthread_mutex_unlock(&l->snap_mu);
	return n;
}

void rec_live_stop(struct rec_live *l)
{
	atomic_store(&l->stop_capture, true);
	for (unsigned i = 0; i < l->ncap; i++) {
		if (l->cap[i].started) {
			net_live_break(l->cap[i].pcap);
			pthread_join(l->cap[i].th, NULL);
			l->cap[i].started = false;
		} else {
			atomic_fetch_add(&l->captures_done, 1);
			l->cap[i].started = false;
		}
	}
	atomic_store(&l->captures_done, l->ncap);
	atomic_store(&l->stop_workers, true);
	for (unsigned i = 0; i < l->nwk; i++) {
		if (l->wk[i].started) {
			pthread_join(l->wk[i].th, NULL);
			l->wk[i].started = false;
		}
	}
}

void rec_live_free(struct rec_live *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->nwk; i++) {
		rec_engine_free(l->wk[i].engine);
		free(l->wk[i].snap);
		free(l->wk[i].build);
		for (unsigned k = 0; k < LIVE_MAX_IFACES; k++)
			free(l->wk[i].rings[k].buf);
	}
	for (unsigned i = 0; i < l->ncap; i++) {
		struct live_capture *c = &l->cap[i];
		if (c->eps.b) {
			size_t pos = 0;
			struct es_hnode *cur = NULL, *n;
			while ((n = es_htab_next(&c->eps, &pos, &cur)))
				free(ES_CONTAINER_OF(n, struct ep_entry, node));
			es_htab_free(&c->eps);
		}
		net_decoder_free(c->dec);
		if (c->pcap)
			net_live_close(c->pcap);
	}
	struct rec_live_call *c;
	while ((c = rec_live_next_call(l)))
		rec_live_call_free(c);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->snap_mu);
	pthread_mutex_destroy(&l->cmd_mu);
	pthread_cond_destroy(&l->cmd_cond);
	free(l);
}
