/* test_anchor.c - heads trusted from outside the data folder: the published
 * forms and their reader, the ledger's check against a trusted head
 * (truncation, fork, another key, a valid extension), the signing key
 * outside the folder, and the anchor sinks (a file, a UDP syslog collector
 * on a loopback port, a command) with failures and retries. */
#include "check.h"
#include "store/anchor.h"
#include "store/ledger.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void add(struct st_ledger *l, int from, int to)
{
	uint8_t h[32];
	for (int i = from; i < to; i++) {
		char id[64];
		snprintf(id, sizeof(id), "recordings/%04d.opus", i);
		memset(h, i & 0xff, sizeof(h));
		CHECK_INT(st_ledger_append_recording(l, id, h, h, h, 1000000 + i, NULL), 0);
	}
	CHECK_INT(st_ledger_commit(l), 0);
}

static struct st_head newest(const struct st_ledger *l)
{
	struct st_head h = {0};
	st_ledger_head(l, st_ledger_head_count(l) - 1, &h);
	return h;
}

static void test_published_forms(void)
{
	char dir[300], err[256], line[1200], pub[1200], path[400];
	snprintf(dir, sizeof(dir), "%s/forms", base);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	add(l, 0, 5);
	struct st_head h = newest(l), g;
	int n = st_head_format(&h, line, sizeof(line));
	int pn = st_head_format_published(&h, pub, sizeof(pub));
	CHECK(n > 0 && pn > 0 && !strchr(pub, '\t'));
	CHECK(strncmp(pub, ST_HEAD_PUBLISHED_TAG, strlen(ST_HEAD_PUBLISHED_TAG)) == 0);
	/* a heads.log line, the spaced form, the spaced form inside a syslog
	 * collector's line with text after it */
	CHECK_INT(st_head_parse_published(line, (size_t)n, &g, err, sizeof(err)), 0);
	CHECK(memcmp(&g, &h, sizeof(h)) == 0);
	CHECK_INT(st_head_parse_published(pub, (size_t)pn, &g, err, sizeof(err)), 0);
	CHECK(memcmp(&g, &h, sizeof(h)) == 0);
	char sys[1500];
	snprintf(sys, sizeof(sys), "Dec  6 21:00:00 rec1 earshot[42]: %s trailing words\n", pub);
	CHECK_INT(st_head_parse_published(sys, strlen(sys), &g, err, sizeof(err)), 0);
	CHECK(memcmp(&g, &h, sizeof(h)) == 0);
	CHECK_INT(st_head_parse_published("nothing here", 12, &g, err, sizeof(err)), ES_ENOTFOUND);
	/* the tag with a damaged head is an error, not a skipped line */
	pub[pn - 3] = 'x';
	CHECK_INT(st_head_parse_published(pub, (size_t)pn, &g, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(st_head_parse_published(pub, 20, &g, err, sizeof(err)), ES_EPARSE);

	/* a file: noise, two heads, noise; then a bad head names its line */
	snprintf(path, sizeof(path), "%s/anchor.txt", base);
	FILE *f = fopen(path, "w");
	add(l, 5, 6);
	struct st_head h2 = newest(l);
	st_head_format_published(&h2, pub, sizeof(pub));
	fprintf(f, "# anchor\n%s\nsome other syslog line\nx %s\n", line, pub);
	fclose(f);
	struct st_head *v = NULL;
	size_t nv = 0;
	CHECK_INT(st_heads_read(path, &v, &nv, err, sizeof(err)), 0);
	CHECK_INT(nv, 2);
	if (nv == 2)
		CHECK(v[0].size == 5 && v[1].size == 6);
	free(v);
	f = fopen(path, "a");
	fprintf(f, "earshot-head 1 7 nonsense\n");
	fclose(f);
	CHECK_INT(st_heads_read(path, &v, &nv, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "anchor.txt:5:") != NULL);
	snprintf(path, sizeof(path), "%s/empty.txt", base);
	fclose(fopen(path, "w"));
	CHECK_INT(st_heads_read(path, &v, &nv, err, sizeof(err)), ES_ENOTFOUND);
	st_ledger_close(l);
}

static enum st_trust trust(const char *dir, const struct st_head *t, char *why, size_t cap)
{
	char err[256];
	struct st_ledger *l;
	if (st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)))
		return (enum st_trust)99;
	enum st_trust r = st_ledger_check_trusted(l, t, why, cap);
	st_ledger_close(l);
	return r;
}

static void test_trusted(void)
{
	char dir[300], old[300], fork[300], other[300], err[256], why[512];
	snprintf(dir, sizeof(dir), "%s/trust", base);
	snprintf(old, sizeof(old), "%s/trust-old", base);
	snprintf(fork, sizeof(fork), "%s/trust-fork", base);
	snprintf(other, sizeof(other), "%s/trust-other", base);
	struct st_ledger *l, *o;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	add(l, 0, 7);
	struct st_head h7 = newest(l);
	st_ledger_close(l);
	CHECK_INT(sh("cp -a '%s' '%s'", dir, old), 0);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	add(l, 7, 20);
	struct st_head h20 = newest(l);
	st_ledger_close(l);

	/* a valid extension, and equal heads */
	CHECK_INT(trust(dir, &h7, why, sizeof(why)), ST_TRUST_OK);
	CHECK(strstr(why, "extends") != NULL);
	CHECK_INT(trust(dir, &h20, why, sizeof(why)), ST_TRUST_OK);
	/* the old copy restored: shorter than the trusted head */
	CHECK_INT(trust(old, &h20, why, sizeof(why)), ST_TRUST_TRUNCATED);
	CHECK(strstr(why, "lines 8..20 were removed") != NULL);
	CHECK_INT(trust(old, &h7, why, sizeof(why)), ST_TRUST_OK);
	/* restored and grown again past the trusted size: a fork */
	CHECK_INT(sh("cp -a '%s' '%s'", old, fork), 0);
	CHECK_INT(st_ledger_open(&l, fork, 0, err, sizeof(err)), 0);
	if (l) {
		add(l, 100, 125);
		st_ledger_close(l);
	}
	CHECK_INT(trust(fork, &h20, why, sizeof(why)), ST_TRUST_FORK);
	CHECK(strstr(why, "forked: the first 20 leaves") != NULL);
	CHECK_INT(trust(fork, &h7, why, sizeof(why)), ST_TRUST_OK);
	/* heads.log cut but entries.log kept: the newest signed head is short */
	char hp[400];
	snprintf(hp, sizeof(hp), "%s/heads.log", old);
	CHECK_INT(sh("sed -i '$d' '%s'%s", hp, ""), 0);
	CHECK_INT(trust(old, &h7, why, sizeof(why)), ST_TRUST_TRUNCATED);
	CHECK(strstr(why, "heads.log was cut") != NULL);
	/* another ledger's head, and a head whose signature was altered */
	CHECK_INT(st_ledger_open(&o, other, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (o) {
		add(o, 0, 7);
		struct st_head oh = newest(o);
		st_ledger_close(o);
		CHECK_INT(trust(dir, &oh, why, sizeof(why)), ST_TRUST_KEY);
		CHECK(strstr(why, "key id") != NULL);
	}
	struct st_head bad = h7;
	bad.sig[5] ^= 1;
	CHECK_INT(trust(dir, &bad, why, sizeof(why)), ST_TRUST_KEY);
	bad = h7;
	bad.root[0] ^= 1; /* a forged root fails the signature before anything */
	CHECK_INT(trust(dir, &bad, why, sizeof(why)), ST_TRUST_KEY);
}

static void test_key_outside(void)
{
	char dir[300], kdir[300], key[400], err[512], path[400];
	snprintf(dir, sizeof(dir), "%s/kout", base);
	snprintf(kdir, sizeof(kdir), "%s/kout-secrets", base);
	snprintf(key, sizeof(key), "%s/ledger.key", kdir);
	mkdir(kdir, 0700);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open_key(&l, dir, ST_LEDGER_CREATE, key, err, sizeof(err)), 0);
	if (!l)
		return;
	add(l, 0, 3);
	st_ledger_close(l);
	struct stat st;
	snprintf(path, sizeof(path), "%s/ledger.key", dir);
	CHECK(stat(path, &st) != 0);                       /* not in the folder */
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* a writer without the key is refused; a reader needs only ledger.pub */
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), ES_ENOTFOUND);
	CHECK(strstr(err, "restore it") != NULL);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	uint64_t problems = 9;
	if (l)
		CHECK_INT(st_ledger_verify(l, NULL, NULL, &problems), 0);
	CHECK_INT(problems, 0);
	st_ledger_close(l);
	/* $EARSHOT_LEDGER_KEY, then systemd's credential */
	setenv(ST_LEDGER_KEY_ENV, key, 1);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (l) {
		add(l, 3, 4);
		st_ledger_close(l);
	}
	unsetenv(ST_LEDGER_KEY_ENV);
	char cred[400];
	snprintf(cred, sizeof(cred), "%s/" ST_LEDGER_CREDENTIAL, kdir);
	CHECK_INT(rename(key, cred), 0);
	setenv("CREDENTIALS_DIRECTORY", kdir, 1);
	bool outside = false;
	CHECK_INT(st_ledger_key_path(dir, NULL, path, sizeof(path), &outside), 0);
	CHECK(outside && !strcmp(path, cred));
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (l) {
		add(l, 4, 5);
		st_ledger_close(l);
	}
	/* an unreadable key (group-readable) is refused, naming the file */
	chmod(cred, 0640);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, ST_LEDGER_CREDENTIAL) != NULL);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static int udp_listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_sinks(void)
{
	char dir[300], err[512], file[400], cmdout[400], cmd[1200], target[64], baddir[400];
	snprintf(dir, sizeof(dir), "%s/sinks", base);
	snprintf(file, sizeof(file), "%s/anchor-mount/heads.anchor", base);
	snprintf(baddir, sizeof(baddir), "%s/anchor-mount", base);
	snprintf(cmdout, sizeof(cmdout), "%s/cmd.out", base);
	uint16_t port = 0;
	int ufd = udp_listener(&port);
	CHECK(ufd >= 0);
	snprintf(target, sizeof(target), "udp:127.0.0.1:%u", port);
	snprintf(cmd, sizeof(cmd), "cat >> '%s' && echo \"size=$EARSHOT_HEAD_SIZE\" >> '%s'", cmdout,
		 cmdout);

	struct st_anchor_conf c = {.retry_us = 50000, .timeout_us = 3 * ES_US_PER_SEC};
	CHECK_INT(st_anchor_conf_add(&c, "file", file, err, sizeof(err)), 0);
	CHECK_INT(st_anchor_conf_add(&c, "syslog", target, err, sizeof(err)), 0);
	CHECK_INT(st_anchor_conf_add(&c, "command", cmd, err, sizeof(err)), 0);
	/* configuration errors name the sink */
	CHECK_INT(st_anchor_conf_add(&c, "s3", "x", err, sizeof(err)), ES_EINVAL);
	CHECK_INT(st_anchor_conf_add(&c, "syslog", "udp:host", err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "udp:HOST:PORT") != NULL);
	CHECK_INT(st_anchor_conf_add(&c, "syslog", "udp:h:99999", err, sizeof(err)), ES_EINVAL);
	CHECK_INT(st_anchor_conf_add(&c, "file", "relative/path", err, sizeof(err)), ES_EINVAL);
	CHECK_INT(c.nsinks, 3);

	struct st_anchor *a = NULL;
	CHECK_INT(st_anchor_new(&a, &c, err, sizeof(err)), 0);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!a || !l)
		return;
	/* the file's folder does not exist yet (an unmounted share): the
	 * file sink fails and retries, the others publish */
	add(l, 0, 3);
	struct st_head h1 = newest(l);
	st_anchor_publish(a, &h1);
	add(l, 3, 6);
	struct st_head h2 = newest(l);
	st_anchor_publish(a, &h2);
	int64_t f0 = es_mono_us();
	CHECK(!st_anchor_flush(a, 3 * ES_US_PER_SEC)); /* not waiting for a failing sink */
	CHECK(es_mono_us() - f0 < ES_US_PER_SEC);
	struct st_anchor_stats s0, s1, s2;
	st_anchor_stats(a, 0, &s0);
	st_anchor_stats(a, 1, &s1);
	st_anchor_stats(a, 2, &s2);
	CHECK(s0.failures >= 1 && s0.pending == 2 && s0.published == 0);
	CHECK(strstr(s0.last_error, "anchor-mount") != NULL);
	CHECK_INT(s1.published, 2);
	CHECK_INT(s2.published, 2);
	/* the share comes back: both heads arrive, in order */
	mkdir(baddir, 0755);
	usleep(200000);
	CHECK(st_anchor_flush(a, 3 * ES_US_PER_SEC));
	st_anchor_stats(a, 0, &s0);
	CHECK_INT(s0.published, 2);
	CHECK_INT(s0.pending, 0);

	/* publishing never waits for a sink: a command that sleeps */
	st_anchor_free(a);
	struct st_anchor_conf slow = {.timeout_us = 200000};
	st_anchor_conf_add(&slow, "command", "sleep 5", err, sizeof(err));
	CHECK_INT(st_anchor_new(&a, &slow, err, sizeof(err)), 0);
	int64_t t0 = es_mono_us();
	for (int i = 0; i < 1000; i++)
		st_anchor_publish(a, &h2); /* more than the queue: the oldest are skipped */
	int64_t t1 = es_mono_us();
	CHECK(t1 - t0 < 100000);
	usleep(300000); /* the first run is killed at its timeout, counted */
	st_anchor_stats(a, 0, &s0);
	CHECK(s0.failures >= 1 && s0.skipped == 1000 - ST_ANCHOR_QUEUE);
	CHECK(strstr(s0.last_error, "killed") != NULL);
	st_anchor_free(a);
	fprintf(stderr, "anchor: 1000 publishes in %.3f ms with a stuck sink\n",
		(double)(t1 - t0) / 1000.0);

	/* what arrived: the anchor file, the UDP messages, the command's input */
	struct st_head *v = NULL;
	size_t nv = 0;
	CHECK_INT(st_heads_read(file, &v, &nv, err, sizeof(err)), 0);
	CHECK_INT(nv, 2);
	if (nv == 2)
		CHECK(!memcmp(&v[0], &h1, sizeof(h1)) && !memcmp(&v[1], &h2, sizeof(h2)));
	free(v);
	CHECK_INT(st_heads_read(cmdout, &v, &nv, err, sizeof(err)), 0);
	CHECK_INT(nv, 2);
	free(v);
	for (int i = 0; i < 2; i++) {
		char msg[2048];
		struct pollfd p = {.fd = ufd, .events = POLLIN};
		ssize_t n = poll(&p, 1, 1000) == 1 ? recv(ufd, msg, sizeof(msg) - 1, 0) : -1;
		CHECK(n > 0);
		if (n <= 0)
			break;
		msg[n] = '\0';
		struct st_head g;
		/* RFC 5424: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD MSG */
		CHECK(strncmp(msg, "<133>1 ", 7) == 0);
		CHECK(strstr(msg, " earshot ") != NULL && strstr(msg, " sth - earshot-head 1 ") != NULL);
		CHECK_INT(st_head_parse_published(msg, (size_t)n, &g, err, sizeof(err)), 0);
		CHECK(!memcmp(&g, i ? &h2 : &h1, sizeof(g)));
	}
	close(ufd);
	st_ledger_close(l);
}

/* consistency.txt: written from a ledger, parsed, checked against trusted
 * heads of every kind; malformed texts are refused with the line. */
static void test_bundle_proofs(void)
{
	char dir[300], err[256], why[512];
	snprintf(dir, sizeof(dir), "%s/cons", base);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	struct st_head h[40];
	size_t nh = 0;
	for (int i = 0; i < 40; i++) { /* 40 heads of 1, 3, 5... leaves */
		add(l, 2 * i, 2 * i + (i ? 2 : 1));
		h[nh++] = newest(l);
	}
	struct st_head b = h[nh - 1];
	struct es_buf t;
	es_buf_init(&t);
	size_t count = 0;
	CHECK_INT(st_ledger_consistency_text(l, b.size, NULL, 0, &t, &count), 0);
	CHECK(count >= 16 && count <= ST_CONS_MAX);
	struct es_buf none;
	es_buf_init(&none);
	CHECK_INT(st_ledger_consistency_text(l, b.size - 1, NULL, 0, &none, NULL), ES_ENOTFOUND);
	es_buf_free(&none);
	static struct st_cons_entry v[ST_CONS_MAX];
	size_t nv = 0;
	uint64_t n = 0;
	CHECK_INT(st_cons_parse(t.p, t.len, &n, v, ST_CONS_MAX, &nv, err, sizeof(err)), 0);
	CHECK(n == b.size && nv == count);
	/* the 16 newest heads below b, and the first, are proven */
	unsigned ok = 0, unproven = 0;
	for (size_t i = 0; i + 1 < nh; i++) {
		enum st_trust r = st_cons_check(&b, v, nv, &h[i], why, sizeof(why));
		ok += r == ST_TRUST_OK;
		unproven += r == ST_TRUST_UNPROVEN;
		CHECK(r == ST_TRUST_OK || r == ST_TRUST_UNPROVEN);
		if (i + 17 >= nh || i == 0)
			CHECK_INT(r, ST_TRUST_OK);
	}
	CHECK_INT(ok, count);
	CHECK_INT(ok + unproven, nh - 1);
	CHECK_INT(st_cons_check(&b, v, nv, &b, why, sizeof(why)), ST_TRUST_OK);
	/* a trusted head the bundle cannot know, another root, a bad proof */
	struct st_head t2 = b;
	t2.size++;
	CHECK_INT(st_cons_check(&b, v, nv, &t2, why, sizeof(why)), ST_TRUST_NEWER);
	t2 = b;
	t2.root[3] ^= 1;
	CHECK_INT(st_cons_check(&b, v, nv, &t2, why, sizeof(why)), ST_TRUST_FORK);
	t2 = h[nh - 2];
	t2.root[3] ^= 1;
	CHECK_INT(st_cons_check(&b, v, nv, &t2, why, sizeof(why)), ST_TRUST_FORK);
	struct st_cons_entry *e = &v[nv - 1];
	e->proof[0][0] ^= 1;
	CHECK_INT(st_cons_check(&b, v, nv, &h[nh - 2], why, sizeof(why)), ST_TRUST_PROOF);
	CHECK(strstr(why, "does not verify") != NULL);
	/* malformed texts */
	static const char *const bad[] = {
		"",
		"earshot-consistency-v2\nsize 5\n",
		ST_CONS_MAGIC "\nsize x\n",
		ST_CONS_MAGIC "\nsize 5\n00\n",
		ST_CONS_MAGIC "\nsize 5\nfrom 5 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		ST_CONS_MAGIC "\nsize 5\nfrom 0 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		ST_CONS_MAGIC "\nsize 5\nfrom 3 "
		"0000000000000000000000000000000000000000000000000000000000000000\nfrom 2 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		ST_CONS_MAGIC "\nsize 5\nfrom 3 00\n",
		ST_CONS_MAGIC "\nsize 5\nfrom 3 "
		"0000000000000000000000000000000000000000000000000000000000000000\nxyz\n",
		ST_CONS_MAGIC "\nsize 5", /* no final newline */
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		int rc = st_cons_parse((const uint8_t *)bad[i], strlen(bad[i]), &n, v, ST_CONS_MAX, &nv,
				       err, sizeof(err));
		if (rc != ES_EPARSE)
			fprintf(stderr, "bad text %zu parsed: %d\n", i, rc);
		CHECK_INT(rc, ES_EPARSE);
	}
	CHECK_INT(st_cons_parse(t.p, t.len, &n, v, 2, &nv, err, sizeof(err)), ES_ELIMIT);
	es_buf_free(&t);
	st_ledger_close(l);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/es-anchor-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv(ST_LEDGER_KEY_ENV);
	unsetenv("CREDENTIALS_DIRECTORY");
	RUN(test_published_forms);
	RUN(test_trusted);
	RUN(test_key_outside);
	RUN(test_bundle_proofs);
	RUN(test_sinks);
	if (!getenv("ES_KEEP_TMP"))
		sh("rm -rf '%s'%s", base, "");
	return CHECK_DONE();
}
