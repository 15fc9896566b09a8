/* test_live.c - live capture on the loopback interface: delivery of every
 * datagram with its payload and timestamps, counters, errors that name the
 * interface and the filter, timeouts and net_live_break.  Needs
 * CAP_NET_RAW; without it the test says so and passes. */
#include "check.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COUNT 1000

/* The sink's port, picked by the kernel (bind to port 0): a fixed port may
 * be held by another program on the machine. */
static uint16_t port;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

struct rx {
	struct net_decoder *dec;
	int dlt;
	uint64_t frame;
	int64_t last_ts;
	int64_t start_us;
	bool ts_backwards;
	bool ts_far;
	int bad_payload;
	int dups;
	int seen;
	bool got[COUNT];
};

static void on_udp(void *ud, const struct net_pkt *pkt)
{
	struct rx *rx = ud;
	if (pkt->dst.port != port)
		return;
	char want[64];
	unsigned seq;
	if (pkt->len < 16 || sscanf((const char *)pkt->data, "earshot-live %u", &seq) != 1 ||
	    seq >= COUNT) {
		rx->bad_payload++;
		return;
	}
	int n = snprintf(want, sizeof(want), "earshot-live %04u payload", seq);
	if ((size_t)n != pkt->len || memcmp(want, pkt->data, pkt->len) != 0)
		rx->bad_payload++;
	if (rx->got[seq])
		rx->dups++;
	else
		rx->seen++;
	rx->got[seq] = true;
}

static void on_frame(void *ud, const uint8_t *data, size_t caplen, int64_t ts_us)
{
	struct rx *rx = ud;
	if (ts_us < rx->last_ts)
		rx->ts_backwards = true;
	rx->last_ts = ts_us;
	/* Captured while this test runs, on a clock within a second of ours. */
	if (ts_us < rx->start_us - ES_US_PER_SEC || ts_us > now_us() + ES_US_PER_SEC)
		rx->ts_far = true;
	net_decode_frame(rx->dec, rx->dlt, data, caplen, ts_us, ++rx->frame);
}

static void *sender(void *arg)
{
	(void)arg;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return NULL;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < COUNT; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "earshot-live %04u payload", i);
		sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to));
		if (i % 100 == 99)
			sleep_ms(2);
	}
	close(s);
	return NULL;
}

/* A socket bound to a free port (into port), so that the kernel does not
 * answer each datagram with ICMP port unreachable.  -1 on failure. */
static int sink_open(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	int big = 8 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
		close(s);
		return -1;
	}
	port = ntohs(a.sin_port);
	return s;
}

static void capture_all(bool immediate)
{
	/* Immediate mode uses TPACKET_V2, whose ring slots are each as large
	 * as the snap length (capped by the MTU, 64 KiB on lo): the 64 MiB
	 * default would hold only ~1000 frames, and lo puts every datagram in
	 * the ring twice (sent and received; libpcap drops the copy).  A
	 * snap length like an Ethernet interface's makes it ~30000 slots. */
	int sink = sink_open();
	CHECK(sink >= 0);
	if (sink < 0)
		return;
	char filter[32];
	snprintf(filter, sizeof(filter), "udp port %u", (unsigned)port);
	struct net_live_config c = {.iface = "lo", .filter = filter,
				    .snaplen = immediate ? 2048 : 0, .timeout_ms = 50,
				    .immediate = immediate};
	struct net_live *l;
	char err[512];
	int rc = net_live_open(&l, &c, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err);
		close(sink);
		return;
	}
	struct rx *rx = calloc(1, sizeof(*rx));
	rx->dlt = net_live_dlt(l);
	rx->start_us = now_us();
	CHECK_INT(net_decoder_new(&rx->dec, NULL, on_udp, NULL, rx), 0);

	pthread_t th;
	CHECK_INT(pthread_create(&th, NULL, sender, NULL), 0);
	int64_t deadline = es_mono_us() + 5 * ES_US_PER_SEC;
	int frames = 0;
	while (rx->seen < COUNT && es_mono_us() < deadline) {
		int n = net_live_dispatch(l, 64, on_frame, rx);
		CHECK(n >= 0);
		if (n < 0) {
			fprintf(stderr, "  %s\n", net_live_error(l));
			break;
		}
		CHECK(n <= 64);
		frames += n;
	}
	pthread_join(th, NULL);
	CHECK_INT(rx->seen, COUNT);
	CHECK_INT(rx->dups, 0);
	CHECK_INT(rx->bad_payload, 0);
	CHECK(!rx->ts_backwards);
	CHECK(!rx->ts_far);
	CHECK(frames >= COUNT);

	struct net_live_stats st;
	CHECK_INT(net_live_stats(l, &st), 0);
	CHECK(st.received >= COUNT);
	CHECK_INT(st.dropped, 0);
	fprintf(stderr, "  %s: %d frames, stats received %llu dropped %llu if_dropped %llu\n",
		immediate ? "immediate" : "blocks", frames, (unsigned long long)st.received,
		(unsigned long long)st.dropped, (unsigned long long)st.if_dropped);
	/* Totals never go down. */
	struct net_live_stats st2;
	CHECK_INT(net_live_stats(l, &st2), 0);
	CHECK(st2.received >= st.received);

	close(sink);
	net_decoder_free(rx->dec);
	free(rx);
	net_live_close(l);
}

static void test_capture_blocks(void) { capture_all(false); }

static void test_capture_immediate(void) { capture_all(true); }

static void test_bad_interface(void)
{
	struct net_live_config c = {.iface = "es-nosuch9"};
	struct net_live *l = (struct net_live *)&c;
	char err[512];
	CHECK_INT(net_live_open(&l, &c, err, sizeof(err)), ES_EIO);
	CHECK(l == NULL);
	CHECK(strncmp(err, "es-nosuch9: ", 12) == 0);
	CHECK(strstr(err, "no such device") != NULL);
	fprintf(stderr, "  %s\n", err);

	struct net_live_config none = {0};
	CHECK_INT(net_live_open(&l, &none, err, sizeof(err)), ES_EINVAL);
}

static void test_bad_filter(void)
{
	struct net_live_config c = {.iface = "lo", .filter = "udp port sixty((", .timeout_ms = 10};
	struct net_live *l;
	char err[512];
	CHECK_INT(net_live_open(&l, &c, err, sizeof(err)), ES_EIO);
	CHECK(l == NULL);
	CHECK(strstr(err, "lo: ") == err);
	CHECK(strstr(err, "\"udp port sixty((\"") != NULL);
	fprintf(stderr, "  %s\n", err);
}

static void dummy_frame(void *ud, const uint8_t *data, size_t caplen, int64_t ts_us)
{
	(void)data;
	(void)caplen;
	(void)ts_us;
	(*(int *)ud)++;
}

/* Nothing matches the filter: dispatch returns 0 after the timeout, also
 * with TPACKET_V3 blocks where libpcap itself would wait forever. */
static void test_timeout(void)
{
	for (int imm = 0; imm < 2; imm++) {
		struct net_live_config c = {.iface = "lo", .filter = "udp port 39997",
					    .timeout_ms = 100, .immediate = imm};
		struct net_live *l;
		char err[512];
		int rc = net_live_open(&l, &c, err, sizeof(err));
		CHECK_INT(rc, 0);
		if (rc)
			continue;
		int got = 0;
		int64_t t0 = es_mono_us();
		CHECK_INT(net_live_dispatch(l, 0, dummy_frame, &got), 0);
		int64_t el = es_mono_us() - t0;
		CHECK(el >= 50000 && el < 2 * ES_US_PER_SEC);
		CHECK_INT(got, 0);
		net_live_close(l);
	}
}

struct breaker {
	struct net_live *l;
	int delay_ms;
};

static void *break_later(void *arg)
{
	struct breaker *b = arg;
	sleep_ms(b->delay_ms);
	net_live_break(b->l);
	return NULL;
}

/* A dispatch waiting with a long timeout returns at once on a break from
 * another thread, and the capture keeps working afterwards. */
static void test_break(void)
{
	for (int imm = 0; imm < 2; imm++) {
		struct net_live_config c = {.iface = "lo", .filter = "udp port 39997",
					    .timeout_ms = 20000, .immediate = imm};
		struct net_live *l;
		char err[512];
		int rc = net_live_open(&l, &c, err, sizeof(err));
		CHECK_INT(rc, 0);
		if (rc)
			continue;
		struct breaker b = {l, 200};
		pthread_t th;
		int got = 0;
		int64_t t0 = es_mono_us();
		CHECK_INT(pthread_create(&th, NULL, break_later, &b), 0);
		CHECK_INT(net_live_dispatch(l, 0, dummy_frame, &got), 0);
		int64_t el = es_mono_us() - t0;
		pthread_join(th, NULL);
		CHECK(el >= 150000 && el < 5 * ES_US_PER_SEC);

		/* A break before dispatch makes the next one return at once. */
		net_live_break(l);
		t0 = es_mono_us();
		CHECK_INT(net_live_dispatch(l, 0, dummy_frame, &got), 0);
		CHECK(es_mono_us() - t0 < ES_US_PER_SEC);

		/* Later breaks still work, and a stale libpcap break flag
		 * does not end a dispatch early on its own. */
		b.delay_ms = 300;
		t0 = es_mono_us();
		CHECK_INT(pthread_create(&th, NULL, break_later, &b), 0);
		CHECK_INT(net_live_dispatch(l, 0, dummy_frame, &got), 0);
		el = es_mono_us() - t0;
		pthread_join(th, NULL);
		CHECK(el >= 250000 && el < 5 * ES_US_PER_SEC);
		CHECK_INT(got, 0);
		net_live_close(l);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP test_live: live capture needs root (CAP_NET_RAW)\n");
		return 0;
	}
	struct net_live_config probe = {.iface = "lo"};
	struct net_live *l;
	char err[512];
	if (net_live_open(&l, &probe, err, sizeof(err)) != 0) {
		fprintf(stderr, "SKIP test_live: cannot capture on lo: %s\n", err);
		return 0;
	}
	net_live_close(l);
	RUN(test_bad_interface);
	RUN(test_bad_filter);
	RUN(test_timeout);
	RUN(test_break);
	RUN(test_capture_blocks);
	RUN(test_capture_immediate);
	return CHECK_DONE();
}
