/*
 * test_alert.c - src/analytics/alert*.c: the [alert NAME] sections and
 * their errors, the in-call condition (one-way audio, dead air), the
 * threshold and filter evaluation, de-duplication per (alert, call), the
 * rate limit and its summary event, the HMAC (RFC 4231 vectors), and the
 * outbox: an event written and then "crashed" before its send (a fresh
 * process's deliver finds it), a half-written temporary file ignored,
 * delivery to a real HTTP listener on a socket (2xx deletes, 503 keeps,
 * 400 sets aside).
 */
#include "analytics/alert.h"
#include "check.h"
#include "core/config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 (INT64_C(1796000000) * ES_US_PER_SEC)
#define SECRET "0123456789abcdef-secret"

static char tmp[256];

static struct an_alerts *load(const char *text, char *err, size_t errlen, int *rc)
{
	struct es_conf c;
	struct an_alerts *a = NULL;
	*rc = es_conf_parse(&c, "t.conf", text, err, errlen);
	if (!*rc)
		*rc = an_alerts_from_conf(&a, &c, tmp, err, errlen);
	es_conf_free(&c);
	return a;
}

static void test_config(void)
{
	char err[512];
	int rc;
	struct an_alerts *a = load("[recording]\nformat = wav\n", err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	CHECK(a == NULL); /* nothing configured: NULL, and NULL does nothing */
	CHECK_INT(an_alert_raise(NULL, AN_ALERT_ONE_WAY, 9, NULL, NULL, 0, T0), 0);
	CHECK(!an_alerts_want(NULL, AN_ALERT_ONE_WAY));

	a = load("[alert ow]\ncondition = one_way\nthreshold = 7s\n[alert mos]\n"
		 "condition = mos_below\nthreshold = 3.1\n[alert loss]\ncondition = loss_above\n"
		 "threshold = 2.5%\n", err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	CHECK(a != NULL);
	CHECK(an_alerts_want(a, AN_ALERT_ONE_WAY) && !an_alerts_want(a, AN_ALERT_DEAD_AIR));
	CHECK(an_alerts_min_threshold(a, AN_ALERT_ONE_WAY) == 7.0);
	CHECK(an_alerts_min_threshold(a, AN_ALERT_MOS_BELOW) == 3.1);
	CHECK(an_alerts_min_threshold(a, AN_ALERT_LOSS_ABOVE) == 2.5);
	CHECK(an_alerts_min_threshold(a, AN_ALERT_DEAD_AIR) == -1);
	an_alerts_free(a);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"[alert x]\ncondition = nope\n", "t.conf:2: [alert x] condition: 'nope' is not one of"},
		{"[alert x]\nthreshold = 3\n", "t.conf:2: [alert x] threshold: give condition = first"},
		{"[alert x]\ncondition = clipping\nthreshold = 3\n", "takes none"},
		{"[alert x]\ncondition = mos_below\nthreshold = low\n", "t.conf:3: [alert x] threshold: 'low'"},
		{"[alert x]\ncondition = one_way\ncolour = red\n", "t.conf:3: [alert x] unknown key 'colour'"},
		{"[alert x]\nrule = r\n", "t.conf:2: [alert x] has no condition"},
		{"[alert x]\ncondition = drops\npeer = 300.1.1.1\n", "peer: expected addresses"},
		{"[alert x]\ncondition = drops\nactions = webhook\n", "no webhook = URL"},
		{"[alerts]\nwebhook = http://127.0.0.1:1/\n[alert x]\ncondition = drops\n",
		 "webhook needs secret"},
		{"[alerts]\nwebhook = ftp://x/\n", "http:// or https://"},
		{"[alerts]\nsecret = short\n", "at least 16 characters"},
		{"[alert x]\ncondition = drops\n[alert X]\ncondition = backlog\n", "a second alert"},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		a = load(bad[i].text, err, sizeof(err), &rc);
		CHECK_INT(rc, ES_EPARSE);
		CHECK(a == NULL);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, bad[i].want);
		CHECK(strstr(err, bad[i].want) != NULL);
	}
}

static void test_live_eval(void)
{
	double ow, dead;
	int silent;
	struct an_alert_live in = {.now_us = T0 + 10 * ES_US_PER_SEC, .answer_us = 0};
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 0 && dead == 0 && silent == -1); /* not answered: nothing */
	/* the caller sends, the callee never did: one-way since the answer */
	in.answer_us = T0;
	in.last_rtp_us[0] = in.now_us - 20000;
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 10.0 && silent == 1 && dead == 0);
	/* the callee stopped 4 s ago */
	in.last_rtp_us[1] = in.now_us - 4 * ES_US_PER_SEC;
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 4.0 && silent == 1);
	/* both send: nothing */
	in.last_rtp_us[1] = in.now_us - 20000;
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 0 && dead == 0);
	/* both stopped: dead air since the later one */
	in.last_rtp_us[0] = in.now_us - 6 * ES_US_PER_SEC;
	in.last_rtp_us[1] = in.now_us - 3 * ES_US_PER_SEC;
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 0 && dead == 3.0);
	/* a packet 2 s old still counts as sending (the check runs once a second) */
	in.last_rtp_us[0] = in.now_us - 2 * ES_US_PER_SEC;
	in.last_rtp_us[1] = 0;
	an_alert_live_eval(&in, &ow, &silent, &dead);
	CHECK(ow == 10.0 && silent == 1);
}

/* The events DATA/alerts/events.jsonl has, as one string. */
static char *events(void)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/alerts/events.jsonl", tmp);
	FILE *f = fopen(path, "r");
	if (!f)
		return calloc(1, 1);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return strdup(buf);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_raise(void)
{
	char err[512];
	int rc;
	struct an_alerts *a = load(
		"[alert ow]\ncondition = one_way\nthreshold = 5s\nrule = sales\n"
		"peer = 192.0.2.0/24, 2001:db8::/32\nmax_per_interval = 3\ninterval = 60s\n"
		"[alert disk]\ncondition = disk_free\nthreshold = 1M\ninterval = 10s\n",
		err, sizeof(err), &rc);
	CHECK_INT(rc, 0);
	if (!a)
		return;
	struct es_addr in_net, out_net, v6;
	es_addr_parse_ip(sl_cstr("192.0.2.77"), &in_net);
	es_addr_parse_ip(sl_cstr("198.51.100.1"), &out_net);
	es_addr_parse_ip(sl_cstr("2001:db8::5"), &v6);
	struct an_alert_call c = {.call_id = "c1", .caller = "100", .callee = "200",
				  .rule = "sales", .peers = &in_net, .npeers = 1};
	/* under the threshold; then at it */
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 4.9, &c, NULL, 0, T0), 0);
	struct an_alert_field f = {.key = "silent_party", .str = "callee"};
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 5.0, &c, &f, 1, T0), 1);
	/* the same call again: de-duplicated, not counted as held back */
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 6.0, &c, &f, 1, T0 + ES_US_PER_SEC), 0);
	/* filters: another rule, another peer */
	struct an_alert_call other = c;
	other.call_id = "c2";
	other.rule = "support";
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 9, &other, NULL, 0, T0), 0);
	other.rule = "SALES";
	other.peers = &out_net;
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 9, &other, NULL, 0, T0), 0);
	other.peers = &v6;
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 9, &other, NULL, 0, T0), 1);
	/* a bad trunk: 1000 calls one-way in the same minute; 3 an interval */
	int made = 0;
	for (int i = 0; i < 1000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "bad%d", i);
		c.call_id = id;
		made += an_alert_raise(a, AN_ALERT_ONE_WAY, 8, &c, NULL, 0, T0 + 2 * ES_US_PER_SEC);
	}
	CHECK_INT(made, 1);
	struct an_alert_stats st;
	an_alerts_stats(a, &st);
	CHECK_INT(st.raised, 3);
	CHECK_INT(st.suppressed, 999);
	/* the next interval: its first raise comes after a summary */
	c.call_id = "late";
	CHECK_INT(an_alert_raise(a, AN_ALERT_ONE_WAY, 8, &c, NULL, 0, T0 + 61 * ES_US_PER_SEC), 1);
	/* a system alert: once an interval while it lasts */
	CHECK_INT(an_alert_raise(a, AN_ALERT_DISK_FREE, 2e6, NULL, NULL, 0, T0), 0);
	CHECK_INT(an_alert_raise(a, AN_ALERT_DISK_FREE, 5e5, NULL, NULL, 0, T0), 1);
	CHECK_INT(an_alert_raise(a, AN_ALERT_DISK_FREE, 5e5, NULL, NULL, 0, T0 + 5 * ES_US_PER_SEC), 0);
	CHECK_INT(an_alert_raise(a, AN_ALERT_DISK_FREE, 5e5, NULL, NULL, 0, T0 + 11 * ES_US_PER_SEC), 1);
	an_alerts_stop(a); /* never started: the queue is written out */
	char *ev = events();
	CHECK_INT(count(ev, "\n"), 7);
	CHECK_INT(count(ev, "\"type\":\"alert.suppressed\""), 1);
	CHECK(strstr(ev, "\"suppressed\":999") != NULL);
	CHECK(strstr(ev, "\"alert\":\"ow\",\"condition\":\"one_way\",\"scope\":\"call\"") != NULL);
	CHECK(strstr(ev, "\"call\":{\"call_id\":\"c1\",\"caller\":\"100\",\"callee\":\"200\","
			 "\"rule\":\"sales\"") != NULL);
	CHECK(strstr(ev, "\"fields\":{\"silent_party\":\"callee\"}") != NULL);
	CHECK(strstr(ev, "\"value\":5.000,\"threshold\":5.000") != NULL);
	CHECK(strstr(ev, "\"condition\":\"disk_free\",\"scope\":\"system\"") != NULL);
	/* the summary comes before the event that opened the new window */
	const char *sum = strstr(ev, "alert.suppressed"), *late = strstr(ev, "\"late\"");
	CHECK(sum && late && sum < late);
	free(ev);
	an_alerts_free(a);
}

static void test_hmac(void)
{
	/* RFC 4231 test case 2 */
	char sig[72];
	const char *data = "what do ya want for nothing?";
	an_alert_sign("Jefe", data, strlen(data), sig);
	CHECK_STR(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* the body's every byte counts */
	char sig2[72];
	an_alert_sign("Jefe", data, strlen(data) - 1, sig2);
	CHECK(strcmp(sig, sig2) != 0);
}

/* ---- a real HTTP receiver on a socket ----------------------------------------- */

struct rx {
	int fd;
	int status;     /* what it answers */
	int requests;
	char last[8192];
};

static void *rx_run(void *ud)
{
	struct rx *r = ud;
	for (;;) {
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		size_t n = 0;
		ssize_t got;
		/* headers, then Content-Length bytes */
		while (n < sizeof(r->last) - 1 && (got = read(c, r->last + n, sizeof(r->last) - 1 - n)) > 0) {
			n += (size_t)got;
			r->last[n] = '\0';
			const char *end = strstr(r->last, "\r\n\r\n"), *cl = strcasestr(r->last, "Content-Length:");
			if (end && cl && n >= (size_t)(end + 4 - r->last) + (size_t)atoi(cl + 15))
				break;
		}
		r->requests++;
		char resp[128];
		int len = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n", r->status);
		if (write(c, resp, (size_t)len) < 0)
			perror("write");
		close(c);
	}
}

static int nfiles(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.' && strstr(e->d_name, ".json") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_outbox(void)
{
	char dir[400], url[128], err[256];
	snprintf(dir, sizeof(dir), "%s/outbox", tmp);
	CHECK_INT(es_mkdirs(dir, true), 0);
	struct rx r = {.status = 200};
	r.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	CHECK_INT(bind(r.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(listen(r.fd, 8), 0);
	getsockname(r.fd, (struct sockaddr *)&sa, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", ntohs(sa.sin_port));
	pthread_t th;
	pthread_create(&th, NULL, rx_run, &r);

	/* written, then the process "crashes" before any send; a crash in the
	 * middle of a write leaves only a temporary file, never sent */
	const char *body = "{\"id\":\"00112233445566778899aabbccddeeff\",\"type\":\"alert\"}";
	CHECK_INT(an_outbox_write(dir, "0000000000000001-00112233445566778899aabbccddeeff.json",
				  body, strlen(body), err, sizeof(err)), 0);
	char half[512];
	snprintf(half, sizeof(half), "%s/.0000000000000002-ffff.json.tmp", dir);
	FILE *f = fopen(half, "w");
	fputs("{\"id\":", f);
	fclose(f);
	CHECK_INT(nfiles(dir), 1);

	/* the receiver is failing: the event stays */
	struct an_alert_stats st = {0};
	r.status = 503;
	CHECK_INT(an_outbox_deliver(dir, url, SECRET, 2000, &st), ES_EAGAIN);
	CHECK_INT(st.failed, 1);
	CHECK_INT(nfiles(dir), 1);
	/* "the next run": it answers 200; the event goes, signed, with its id */
	r.status = 200;
	CHECK_INT(an_outbox_deliver(dir, url, SECRET, 2000, &st), 0);
	CHECK_INT(st.delivered, 1);
	CHECK_INT(nfiles(dir), 0);
	CHECK_INT(r.requests, 2);
	char sig[72], want[128];
	an_alert_sign(SECRET, body, strlen(body), sig);
	snprintf(want, sizeof(want), "X-Earshot-Signature: %s", sig);
	CHECK(strstr(r.last, want) != NULL);
	CHECK(strstr(r.last, "X-Earshot-Event: 00112233445566778899aabbccddeeff") != NULL);
	CHECK(strstr(r.last, "POST /hook HTTP/1.1") != NULL);
	CHECK(strstr(r.last, body) != NULL);
	/* nobody listening: a failure, kept */
	CHECK_INT(an_outbox_write(dir, "0000000000000003-aa.json", body, strlen(body), err,
				  sizeof(err)), 0);
	CHECK_INT(an_outbox_deliver(dir, "http://127.0.0.1:1/", SECRET, 500, &st), ES_EAGAIN);
	CHECK_INT(nfiles(dir), 1);
	/* a 400: never accepted, set aside and not retried */
	r.status = 400;
	CHECK_INT(an_outbox_deliver(dir, url, SECRET, 2000, &st), 0);
	CHECK_INT(st.rejected, 1);
	CHECK_INT(nfiles(dir), 0);
	char rej[512];
	snprintf(rej, sizeof(rej), "%s/rejected", dir);
	CHECK_INT(nfiles(rej), 1);
	/* an unreadable folder */
	CHECK_INT(an_outbox_deliver("/nonexistent/outbox", url, SECRET, 500, &st), ES_EIO);
	shutdown(r.fd, SHUT_RDWR);
	close(r.fd);
	pthread_join(th, NULL);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/es-test-alert-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_config);
	RUN(test_live_eval);
	RUN(test_raise);
	RUN(test_hmac);
	RUN(test_outbox);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmp);
	return CHECK_DONE();
}
