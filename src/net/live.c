/*
 * live.c - live capture through libpcap: open and activate an interface
 * with our ring size, snap length and BPF filter, deliver frames with
 * microsecond timestamps, and keep 64-bit drop counters.
 *
 * Waiting: with TPACKET_V3 (immediate mode off) libpcap blocks in poll()
 * without a timeout, so an idle interface would never return from
 * pcap_dispatch.  We therefore poll() ourselves, on libpcap's selectable fd
 * and on an eventfd that net_live_break writes, with the delivery timeout,
 * and call pcap_dispatch only when the ring has something (or may still
 * hold frames from a block a previous dispatch stopped in the middle of).
 */
#include "net/net_internal.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LIVE_TAG "net"

struct net_live {
	pcap_t *p;
	int fd;       /* libpcap's selectable fd */
	int wake_fd;  /* eventfd written by net_live_break */
	atomic_bool break_req;
	bool maybe_pending;    /* last dispatch stopped at max: frames may
				  remain in libpcap's current block */
	int timeout_ms;
	int dlt;
	bool nano;             /* libpcap gives nanoseconds in tv_usec */
	/* pcap_stats counters are u_int and wrap: keep running 64-bit totals
	 * from the differences between calls. */
	unsigned last_recv, last_drop, last_ifdrop;
	struct net_live_stats totals;
	char *iface;
	char err[PCAP_ERRBUF_SIZE + 512];
};

struct live_ctx {
	struct net_live *l;
	net_live_fn fn;
	void *ud;
	int n;
	bool broke; /* a net_live_break ended the dispatch */
};

static void live_seterr(struct net_live *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void live_seterr(struct net_live *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
}

/* What pcap_activate's error codes mean, in words an operator acts on. */
static const struct {
	int code;
	const char *what;
} activate_errs[] = {
	{PCAP_ERROR_NO_SUCH_DEVICE, "no such device"},
	{PCAP_ERROR_PERM_DENIED, "permission denied (needs CAP_NET_RAW)"},
	{PCAP_ERROR_PROMISC_PERM_DENIED, "permission denied for promiscuous mode"},
	{PCAP_ERROR_IFACE_NOT_UP, "interface is down"},
	{PCAP_ERROR_RFMON_NOTSUP, "monitor mode not supported"},
	{PCAP_ERROR_ACTIVATED, "already activated"},
	{PCAP_ERROR, "cannot open"},
};

static const char *activate_what(int rc)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(activate_errs); i++)
		if (activate_errs[i].code == rc)
			return activate_errs[i].what;
	return "cannot open";
}

/* A failed pcap_set_* on an un-activated handle: only bad values or an
 * already active handle get here. */
static int live_setopt_fail(struct net_live *l, const char *what, int rc)
{
	live_seterr(l, "%s: cannot set %s (%s)", l->iface, what, pcap_statustostr(rc));
	return ES_EIO;
}

static int live_configure(struct net_live *l, const struct net_live_config *c)
{
	int rc;
	int snaplen = c->snaplen > 0 ? c->snaplen : 65535;
	size_t buf = c->buffer_bytes ? c->buffer_bytes : (size_t)64 << 20;
	if (buf > (size_t)INT32_MAX)
		buf = (size_t)INT32_MAX;
	if ((rc = pcap_set_snaplen(l->p, snaplen)) != 0)
		return live_setopt_fail(l, "snaplen", rc);
	if ((rc = pcap_set_promisc(l->p, 1)) != 0)
		return live_setopt_fail(l, "promiscuous mode", rc);
	if ((rc = pcap_set_buffer_size(l->p, (int)buf)) != 0)
		return live_setopt_fail(l, "buffer size", rc);
	if ((rc = pcap_set_timeout(l->p, l->timeout_ms)) != 0)
		return live_setopt_fail(l, "timeout", rc);
	if ((rc = pcap_set_immediate_mode(l->p, c->immediate ? 1 : 0)) != 0)
		return live_setopt_fail(l, "immediate mode", rc);
	/* Microseconds are what we keep; a libpcap without precision
	 * selection gives them anyway. */
	rc = pcap_set_tstamp_precision(l->p, PCAP_TSTAMP_PRECISION_MICRO);
	if (rc != 0)
		es_log(ES_LOG_WARN, LIVE_TAG, "%s: cannot select microsecond timestamps: %s",
		       l->iface, pcap_statustostr(rc));
	return 0;
}

static int live_activate(struct net_live *l)
{
	int rc = pcap_activate(l->p);
	if (rc > 0) {
		/* PCAP_WARNING*: capture works, but not quite as asked. */
		const char *msg = rc == PCAP_WARNING ? pcap_geterr(l->p) : pcap_statustostr(rc);
		es_log(ES_LOG_WARN, LIVE_TAG, "%s: %s", l->iface, msg);
	} else if (rc < 0) {
		const char *detail = (rc == PCAP_ERROR || rc == PCAP_ERROR_NO_SUCH_DEVICE ||
				      rc == PCAP_ERROR_PERM_DENIED ||
				      rc == PCAP_ERROR_PROMISC_PERM_DENIED)
					     ? pcap_geterr(l->p)
					     : pcap_statustostr(rc);
		if (!detail || !detail[0])
			detail = pcap_statustostr(rc);
		live_seterr(l, "%s: %s (pcap_activate: %s)", l->iface, activate_what(rc), detail);
		return ES_EIO;
	}
	return 0;
}

static int live_set_filter(struct net_live *l, const char *filter)
{
	if (!filter || !filter[0])
		return 0;
	struct bpf_program prog;
	if (pcap_compile(l->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		live_seterr(l, "%s: bad capture filter \"%s\": %s", l->iface, filter,
			    pcap_geterr(l->p));
		return ES_EIO;
	}
	int rc = pcap_setfilter(l->p, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		live_seterr(l, "%s: cannot install capture filter \"%s\": %s", l->iface,
			    filter, pcap_geterr(l->p));
		return ES_EIO;
	}
	return 0;
}

int net_live_open(struct net_live **out, const struct net_live_config *c, char *err,
		  size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!c || !c->iface || !c->iface[0]) {
		if (err && errlen)
			snprintf(err, errlen, "live capture: no interface given");
		return ES_EINVAL;
	}
	struct net_live *l = calloc(1, sizeof(*l));
	if (!l)
		return ES_ENOMEM;
	int rc = ES_ENOMEM;
	l->fd = -1;
	l->wake_fd = -1;
	atomic_init(&l->break_req, false);
	l->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 100;
	l->iface = strdup(c->iface);
	if (!l->iface)
		goto out;

	char ebuf[PCAP_ERRBUF_SIZE];
	ebuf[0] = '\0';
	l->p = pcap_create(c->iface, ebuf);
	if (!l->p) {
		live_seterr(l, "%s: cannot open (pcap_create: %s)", c->iface, ebuf);
		rc = ES_EIO;
		goto out;
	}
	if ((rc = live_configure(l, c)) != 0)
		goto out;
	if ((rc = live_activate(l)) != 0)
		goto out;
	l->nano = pcap_get_tstamp_precision(l->p) == PCAP_TSTAMP_PRECISION_NANO;
	l->dlt = pcap_datalink(l->p);
	if ((rc = live_set_filter(l, c->filter)) != 0)
		goto out;
	if (pcap_setnonblock(l->p, 0, ebuf) != 0) {
		live_seterr(l, "%s: cannot set blocking mode (%s)", c->iface, ebuf);
		rc = ES_EIO;
		goto out;
	}
	l->fd = pcap_get_selectable_fd(l->p);
	if (l->fd < 0) {
		live_seterr(l, "%s: no selectable descriptor for the capture", c->iface);
		rc = ES_EIO;
		goto out;
	}
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0) {
		live_seterr(l, "%s: eventfd: %s", c->iface, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	*out = l;
	return 0;
out:
	if (err && errlen)
		snprintf(err, errlen, "%s", l->err[0] ? l->err : es_strerror(rc));
	net_live_close(l);
	return rc;
}

int net_live_dlt(const struct net_live *l) { return l->dlt; }

const char *net_live_error(const struct net_live *l) { return l->err; }

static void live_adapter(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct live_ctx *ctx = (struct live_ctx *)(void *)user;
	int64_t frac = ctx->l->nano ? (int64_t)h->ts.tv_usec / 1000 : (int64_t)h->ts.tv_usec;
	int64_t ts = (int64_t)h->ts.tv_sec * ES_US_PER_SEC + frac;
	ctx->n++;
	ctx->fn(ctx->ud, bytes, h->caplen, ts);
}

/* Consume a break request: the eventfd's count and the flag. */
static void live_take_break(struct net_live *l)
{
	/* Flag first: a break racing with us stays pending, not lost. */
	atomic_store(&l->break_req, false);
	uint64_t v;
	while (read(l->wake_fd, &v, sizeof(v)) > 0)
		;
}

/* One pcap_dispatch.  Returns frames delivered (also when a break cut it
 * short), 0 after a break, or ES_EIO. */
static int live_pcap_dispatch(struct net_live *l, int max, struct live_ctx *ctx)
{
	for (int tries = 0; tries < 3; tries++) {
		int rc = pcap_dispatch(l->p, max > 0 ? max : -1, live_adapter, (u_char *)ctx);
		if (rc >= 0) {
			l->maybe_pending = max > 0 && ctx->n >= max;
			return ctx->n;
		}
		if (rc == PCAP_ERROR_BREAK) {
			if (atomic_load(&l->break_req) || ctx->n > 0) {
				live_take_break(l);
				ctx->broke = true;
				return ctx->n;
			}
			/* A break we already honoured in poll(): not a new one. */
			continue;
		}
		live_seterr(l, "%s: capture failed: %s", l->iface, pcap_geterr(l->p));
		return ES_EIO;
	}
	return ctx->n;
}

int net_live_dispatch(struct net_live *l, int max, net_live_fn fn, void *ud)
{
	struct live_ctx ctx = {l, fn, ud, 0, false};
	if (atomic_load(&l->break_req)) {
		live_take_break(l);
		return 0;
	}
	if (l->maybe_pending) {
		/* Frames left in libpcap's current block are not visible to
		 * poll(): take them without waiting. */
		char ebuf[PCAP_ERRBUF_SIZE];
		l->maybe_pending = false;
		if (pcap_setnonblock(l->p, 1, ebuf) == 0) {
			int rc = live_pcap_dispatch(l, max, &ctx);
			if (pcap_setnonblock(l->p, 0, ebuf) != 0) {
				live_seterr(l, "%s: cannot set blocking mode (%s)", l->iface, ebuf);
				return ES_EIO;
			}
			if (rc != 0 || ctx.broke)
				return rc;
		}
	}
	/* Frames that arrived before the filter was installed sit in the ring
	 * too; libpcap filters them in user space, so a readable descriptor
	 * may yield nothing: wait again for what is left of the timeout. */
	int64_t deadline = es_mono_us() + (int64_t)l->timeout_ms * 1000;
	for (;;) {
		int64_t left_us = deadline - es_mono_us();
		if (left_us < 0)
			left_us = 0;
		struct pollfd pfd[2] = {{.fd = l->fd, .events = POLLIN},
					{.fd = l->wake_fd, .events = POLLIN}};
		int n = poll(pfd, 2, (int)((left_us + 999) / 1000));
		if (n < 0) {
			if (errno == EINTR)
				return 0;
			live_seterr(l, "%s: poll: %s", l->iface, strerror(errno));
			return ES_EIO;
		}
		if (pfd[1].revents & POLLIN) {
			/* net_live_break also set libpcap's own flag; the next
			 * pcap_dispatch reports it once more and is retried. */
			live_take_break(l);
			return 0;
		}
		if (n == 0)
			return 0;
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			live_seterr(l, "%s: capture descriptor failed (interface gone?)", l->iface);
			return ES_EIO;
		}
		int rc = live_pcap_dispatch(l, max, &ctx);
		if (rc != 0 || ctx.broke || left_us == 0)
			return rc;
	}
}

void net_live_break(struct net_live *l)
{
	atomic_store(&l->break_req, true);
	uint64_t one = 1;
	ssize_t w = write(l->wake_fd, &one, sizeof(one));
	(void)w; /* full counter: a wake-up is pending anyway */
	pcap_breakloop(l->p);
}

int net_live_stats(struct net_live *l, struct net_live_stats *s)
{
	struct pcap_stat ps;
	if (pcap_stats(l->p, &ps) != 0) {
		live_seterr(l, "%s: pcap_stats: %s", l->iface, pcap_geterr(l->p));
		return ES_EIO;
	}
	/* Unsigned differences are right across one wrap of the counters. */
	l->totals.received += (unsigned)(ps.ps_recv - l->last_recv);
	l->totals.dropped += (unsigned)(ps.ps_drop - l->last_drop);
	l->totals.if_dropped += (unsigned)(ps.ps_ifdrop - l->last_ifdrop);
	l->last_recv = ps.ps_recv;
	l->last_drop = ps.ps_drop;
	l->last_ifdrop = ps.ps_ifdrop;
	*s = l->totals;
	return 0;
}

void net_live_close(struct net_live *l)
{
	if (!l)
		return;
	if (l->p)
		pcap_close(l->p);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	free(l->iface);
	free(l);
}
