/*
 * gen_live.c - a live traffic source for the sustained benchmark
 * (bench/live.sh --calls): N G.711 calls in progress at once, sent in real
 * time onto a network interface, for as long as asked.
 *
 * The packets are gen_calls' (the same SIP/SDP and RTP builders, #included
 * from bench/gen/ as gen_calls.c does); only the output differs: instead of
 * a pcap file, every frame goes out through a packet socket (AF_PACKET,
 * SOCK_RAW, Ethernet frames as built) when its capture time comes, paced by
 * CLOCK_MONOTONIC and batched per millisecond with sendmmsg(2).  tcpreplay
 * replaying a file could not keep the capture's pace under load; this
 * sends from memory, one syscall per millisecond tick, and reports how late
 * it was, so a run says whether the source or the recorder fell behind.
 *
 * The calls: N lines; each line runs calls one after another, each lasting
 * --min-len..--max-len s (uniform, seeded), so about N calls are in progress
 * at any time with calls starting and ending continuously (the first ones
 * start within --ramp s).  The last call of a line is cut at --duration.
 *
 * Every --report s one line on stderr: the calls in progress, packets
 * sent, the lateness of the batches (the newest batch's first frame against
 * its due time: max and how many frames went out more than 10 ms late),
 * send errors and the generator's own CPU.  Needs CAP_NET_RAW.
 */
#include "gen/gen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* gen_calls' parts whole: this program leaves the file output, the truth,
 * the audio modes and the tunnels unused */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "gen/util.c"
#include "gen/pkt.c"
#include "gen/media.c"
#include "gen/audio.c"
#include "gen/sip_msgs.c"
#include "gen/tunnel.c"
#include "gen/out.c"
#include "gen/call.c"
#pragma GCC diagnostic pop

#define LIVE_TAG "gen_live"
#define LIVE_BATCH 512        /* frames per sendmmsg at most */
#define LIVE_FRAME_MAX 2048   /* a G.711 call's frames are far smaller */
#define LIVE_TICK_US 1000     /* frames due in the same tick go together */
#define LIVE_LATE_US 10000    /* "late" in the report */

struct live {
	int fd;
	int64_t start_us;        /* CLOCK_MONOTONIC at capture time GEN_T0_US */
	unsigned n;              /* frames in the batch */
	int64_t due0;            /* the batch's first frame's due time (rel. µs) */
	int64_t tick_end;        /* frames due before this join the batch */
	struct mmsghdr msg[LIVE_BATCH];
	struct iovec iov[LIVE_BATCH];
	uint8_t buf[LIVE_BATCH][LIVE_FRAME_MAX];
	/* totals, and since the last report */
	uint64_t sent, errors, too_long, late_frames;
	int64_t late_max_us, late_max_iv_us;
	uint64_t sent_iv, late_iv;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

static void sleep_until(int64_t abs_us)
{
	struct timespec ts = {.tv_sec = abs_us / ES_US_PER_SEC,
			      .tv_nsec = (long)(abs_us % ES_US_PER_SEC) * 1000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Sends the batch; its lateness is that of its first (oldest) frame. */
static void live_send(struct live *l)
{
	if (!l->n)
		return;
	int64_t late = mono_us() - (l->start_us + l->due0);
	unsigned done = 0;
	while (done < l->n) {
		int k = sendmmsg(l->fd, l->msg + done, l->n - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS and the like: this frame is lost, count it */
			l->errors++;
			done++;
			continue;
		}
		done += (unsigned)k;
	}
	l->sent += l->n;
	l->sent_iv += l->n;
	if (late > LIVE_LATE_US) {
		l->late_frames += l->n;
		l->late_iv += l->n;
	}
	l->late_max_us = ES_MAX(l->late_max_us, late);
	l->late_max_iv_us = ES_MAX(l->late_max_iv_us, late);
	l->n = 0;
}

/* out.c's output in live mode: frames come in capture-time order. */
static void live_frame(void *ud, const struct frame *f)
{
	struct live *l = ud;
	int64_t due = f->ts - GEN_T0_US;
	if (l->n && (due >= l->tick_end || l->n == LIVE_BATCH))
		live_send(l);
	if (f->len > LIVE_FRAME_MAX) {
		l->too_long++;
		return;
	}
	if (!l->n) {
		/* wait for the tick, not for each frame: one wake-up a ms */
		l->due0 = due;
		l->tick_end = (due / LIVE_TICK_US + 1) * LIVE_TICK_US;
		if (l->start_us + due > mono_us())
			sleep_until(l->start_us + due);
	}
	memcpy(l->buf[l->n], f->data, f->len);
	l->iov[l->n] = (struct iovec){.iov_base = l->buf[l->n], .iov_len = f->len};
	l->msg[l->n].msg_hdr = (struct msghdr){.msg_iov = &l->iov[l->n], .msg_iovlen = 1};
	l->n++;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct live_opts {
	const char *iface;
	int lines;
	double duration_s, min_len_s, max_len_s, ramp_s, report_s;
	uint64_t seed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen_live -i IFACE -n N [options]\n"
		"Sends N concurrent G.711 calls (gen_calls' SIP and 20 ms RTP) onto IFACE in\n"
		"real time through a packet socket, calls starting and ending continuously.\n"
		"  -i, --iface IF      the interface (e.g. lo in a network namespace)\n"
		"  -n, --calls N       calls in progress at once (1..%d)\n"
		"  -d, --duration S    seconds to run (default 60)\n"
		"      --min-len S     shortest call (default 60)\n"
		"      --max-len S     longest call (default 180)\n"
		"      --ramp S        the first calls start within S s (default 10)\n"
		"      --report S      a report line every S s on stderr (default 10)\n"
		"  -s, --seed N        random seed (default 1)\n"
		"Exit status 0, 1 on a socket error, 2 on bad options.\n",
		GEN_MAX_CALLS);
}

static int parse_opts(int argc, char **argv, struct live_opts *o)
{
	static const struct option lopts[] = {
		{"iface", required_argument, NULL, 'i'},   {"calls", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 's'},
		{"min-len", required_argument, NULL, 1},   {"max-len", required_argument, NULL, 2},
		{"ramp", required_argument, NULL, 3},      {"report", required_argument, NULL, 4},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	*o = (struct live_opts){.duration_s = 60, .min_len_s = 60, .max_len_s = 180,
				.ramp_s = 10, .report_s = 10, .seed = 1};
	int ch;
	while ((ch = getopt_long(argc, argv, "i:n:d:s:h", lopts, NULL)) != -1) {
		char *end = NULL;
		double v = optarg ? strtod(optarg, &end) : 0;
		bool bad = optarg && (end == optarg || *end || v < 0);
		switch (ch) {
		case 'i': o->iface = optarg; bad = false; break;
		case 'n': o->lines = (int)v; bad |= v < 1 || v > GEN_MAX_CALLS; break;
		case 'd': o->duration_s = v; bad |= v < 1; break;
		case 's': o->seed = (uint64_t)v; break;
		case 1: o->min_len_s = v; bad |= v < 10; break;
		case 2: o->max_len_s = v; break;
		case 3: o->ramp_s = v; break;
		case 4: o->report_s = v; bad |= v < 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, LIVE_TAG ": bad value '%s' (see --help)\n", optarg);
			return 2;
		}
	}
	if (!o->iface || !o->lines || optind < argc || o->max_len_s < o->min_len_s) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The calls' windows, line by line; returns how many (at most cap). */
static int plan_windows(const struct live_opts *o, int64_t (*w)[2], int cap)
{
	struct rng r;
	rng_seed(&r, o->seed, 0); /* call i draws streams 2i+1, 2i+2 */
	int64_t end = GEN_T0_US + (int64_t)(o->duration_s * ES_US_PER_SEC);
	int64_t lo = (int64_t)(o->min_len_s * ES_US_PER_SEC);
	int64_t hi = (int64_t)(o->max_len_s * ES_US_PER_SEC);
	int n = 0;
	for (int line = 0; line < o->lines; line++) {
		int64_t t = GEN_T0_US + (int64_t)(o->ramp_s * ES_US_PER_SEC) * line / o->lines;
		while (t < end) {
			int64_t len = rng_range(&r, lo, hi); /* once: ES_MIN evaluates twice */
			int64_t t1 = ES_MIN(end, t + len);
			if (t1 - t < 10 * ES_US_PER_SEC)
				break; /* too short a stub at the end */
			if (w && n < cap) {
				w[n][0] = t;
				w[n][1] = t1;
			}
			n++;
			t = t1;
		}
	}
	return n;
}

static int live_open(struct live *l, const char *iface)
{
	unsigned idx = if_nametoindex(iface);
	if (!idx) {
		fprintf(stderr, LIVE_TAG ": %s: no such interface\n", iface);
		return 1;
	}
	l->fd = socket(AF_PACKET, SOCK_RAW, 0); /* send only: no protocol, no receive */
	if (l->fd < 0) {
		fprintf(stderr, LIVE_TAG ": packet socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return 1;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)idx};
	if (bind(l->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, LIVE_TAG ": bind to %s: %s\n", iface, strerror(errno));
		close(l->fd);
		return 1;
	}
	int sz = 4 << 20;
	(void)setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

static int active_calls(const struct gen *g, int n, int64_t now)
{
	int a = 0;
	for (int i = 0; i < n; i++)
		a += g->calls[i].t_invite <= now && now < g->calls[i].t_end;
	return a;
}

/* The report: called between events, at most once per --report s. */
struct reporter {
	struct live *l;
	const struct live_opts *o;
	int ncalls;
	int64_t next_us;
	double cpu0;
	int64_t wall0;
};

static void report(struct gen *g, struct reporter *rp, bool last)
{
	struct live *l = rp->l;
	int64_t now = mono_us();
	if (!last && now < rp->next_us)
		return;
	double cpu = cpu_s(), t = (double)(now - l->start_us) / 1e6;
	if (last) {
		/* the call-seconds sent: what a recorder's CPU is divided by */
		double call_s = 0;
		for (int i = 0; i < rp->ncalls; i++)
			call_s += (double)(g->calls[i].t_end - g->calls[i].t_invite) / 1e6;
		fprintf(stderr,
			LIVE_TAG ": total %.0f s: %d calls, %.0f call-s, %" PRIu64 " packets (%.0f/s), "
			"late max %.1f ms, %" PRIu64 " packets > %d ms late, %" PRIu64 " send errors, "
			"%" PRIu64 " frames too long, CPU %.1f s (%.1f %%)\n",
			t, rp->ncalls, call_s, l->sent, (double)l->sent / ES_MAX(t, 1e-3),
			l->late_max_us / 1e3, l->late_frames, LIVE_LATE_US / 1000, l->errors, l->too_long,
			cpu, 100.0 * cpu / ES_MAX(t, 1e-3));
		return;
	}
	double wall = (double)(now - rp->wall0) / 1e6;
	fprintf(stderr,
		LIVE_TAG ": t=%.0f s: %d calls in progress, %.0f packets/s, late max %.1f ms, "
		"%" PRIu64 " packets > %d ms late, %" PRIu64 " send errors, CPU %.1f %%\n",
		t, active_calls(g, rp->ncalls, GEN_T0_US + now - l->start_us),
		(double)l->sent_iv / ES_MAX(wall, 1e-3), l->late_max_iv_us / 1e3, l->late_iv,
		LIVE_LATE_US / 1000, l->errors, 100.0 * (cpu - rp->cpu0) / ES_MAX(wall, 1e-3));
	l->sent_iv = l->late_iv = 0;
	l->late_max_iv_us = 0;
	rp->cpu0 = cpu;
	rp->wall0 = now;
	rp->next_us = now + (int64_t)(rp->o->report_s * ES_US_PER_SEC);
}

static void report_tick(struct gen *g, void *ud) { report(g, ud, false); }

int main(int argc, char **argv)
{
	static struct gen g;    /* large: the scratch packet */
	static struct live l;   /* large: the batch */
	struct live_opts lo;
	int rc = parse_opts(argc, argv, &lo);
	if (rc)
		return rc;
	/* gen_calls' defaults: G.711 tones (PCMU or PCMA), 20 ms, Ethernet */
	g.o.seed = lo.seed;
	g.o.ptime_ms = 20;
	g.o.linktype = LT_EN10MB;
	g.o.codec = GEN_CODEC_TONES;
	g.o.duration_s = lo.duration_s;
	g.ptime_us = (int64_t)g.o.ptime_ms * 1000;
	g.delay_max_us = g.ptime_us + g.ptime_us / 2 + GEN_DUP_DELTA_MAX_US;
	es_buf_init(&g.sip);
	es_buf_init(&g.body);
	es_buf_init(&g.ws);
	tones_init(&g);

	int n = plan_windows(&lo, NULL, 0);
	if (n > GEN_MAX_CALLS) {
		fprintf(stderr, LIVE_TAG ": %d calls planned, at most %d (fewer -n or -d)\n", n,
			GEN_MAX_CALLS);
		return 2;
	}
	int64_t (*win)[2] = malloc((size_t)n * sizeof(*win));
	g.calls = calloc((size_t)n, sizeof(*g.calls));
	g.sched = malloc((size_t)n * sizeof(*g.sched));
	if (!win || !g.calls || !g.sched)
		die_oom();
	plan_windows(&lo, win, n);
	g.o.ncalls = n;
	for (int i = 0; i < n; i++) {
		call_plan(&g, &g.calls[i], (uint32_t)i, win[i][0], win[i][1]);
		gen_sched_add(&g, &g.calls[i]);
	}
	free(win);
	if (live_open(&l, lo.iface))
		return 1;
	g.out.live = live_frame;
	g.out.live_ud = &l;
	fprintf(stderr, LIVE_TAG ": %d lines, %d calls of %.0f-%.0f s over %.0f s onto %s\n",
		lo.lines, n, lo.min_len_s, lo.max_len_s, lo.duration_s, lo.iface);

	struct reporter rp = {.l = &l, .o = &lo, .ncalls = n};
	l.start_us = mono_us() + 100 * 1000; /* time to get going */
	rp.wall0 = mono_us();
	rp.cpu0 = cpu_s();
	rp.next_us = l.start_us + (int64_t)(lo.report_s * ES_US_PER_SEC);
	gen_play(&g, report_tick, &rp);
	out_flush(&g.out, INT64_MAX);
	live_send(&l);
	report(&g, &rp, true);
	close(l.fd);
	gen_free(&g, n);
	return l.errors ? 1 : 0;
}
