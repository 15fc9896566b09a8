/*
 * api_load.c - the HTTP load client of bench/api_load.sh: plain blocking
 * sockets, one thread per connection, HTTP/1.1 keep-alive.
 *
 * Searches (--queries FILE, one query string a line, a TAB and anything
 * after it ignored): open loop at --rate per second, requests scheduled at
 * start + i / rate and handed to --workers connections; latency counts from
 * the scheduled time, so a server that falls behind shows it in the
 * percentiles (no coordinated omission).  After a page with a next_cursor a
 * worker follows it with --cursor-pct percent probability (paging), the
 * page counting as one of the scheduled searches.
 *
 * Streams (--audio FILE, one path a line): --streams connections, each
 * reading whole files in Range requests of --chunk bytes, as a browser's
 * player does, one file after another, as fast as the server answers.
 * Time to first byte: from sending a file's first request to the first
 * byte of the response.
 *
 * Searches not sent by the end of --duration (the workers were all waiting)
 * are counted as missed.  Both may run at once.  Prints key=value lines and the client's own CPU
 * (getrusage), so the driver can tell when the client is the bottleneck.
 *
 *   api_load --port P [--host A] [--token T] [--duration S]
 *            [--queries F --rate R --workers N --cursor-pct P --path PREFIX]
 *            [--audio F --streams N --chunk BYTES]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct cfg {
	const char *host, *token, *path_prefix;
	int port;
	double duration, rate;
	unsigned workers, streams, cursor_pct;
	size_t chunk;
	char **queries, **audio;
	size_t nqueries, naudio;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A growable array of samples (ms). */
struct samples {
	double *v;
	size_t n, cap;
};
static void samples_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(double));
		if (!s->v) {
			perror("api_load");
			exit(1);
		}
	}
	s->v[s->n++] = x;
}
static void samples_merge(struct samples *dst, const struct samples *src)
{
	for (size_t i = 0; i < src->n; i++)
		samples_add(dst, src->v[i]);
}
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static double pct(struct samples *s, double p)
{
	if (!s->n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
	return s->v[i];
}

/* ---- one HTTP/1.1 connection ----------------------------------------------------- */

struct conn {
	const struct cfg *cfg;
	int fd;
	char buf[65536];
	size_t have, off; /* unread bytes are buf[off .. have) */
	char *body;       /* kept when asked (search pages) */
	size_t blen, bcap;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->cfg->port)};
	if (inet_pton(AF_INET, c->cfg->host, &a.sin_addr) != 1)
		return -1;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {.tv_sec = 10};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->have = c->off = 0;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int fill(struct conn *c)
{
	if (c->off == c->have)
		c->off = c->have = 0;
	if (c->have == sizeof(c->buf)) {
		memmove(c->buf, c->buf + c->off, c->have - c->off);
		c->have -= c->off;
		c->off = 0;
	}
	ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	return 0;
}

static void keep(struct conn *c, const char *p, size_t n)
{
	if (c->blen + n + 1 > c->bcap) {
		c->bcap = (c->blen + n + 1) * 2;
		c->body = realloc(c->body, c->bcap);
		if (!c->body) {
			perror("api_load");
			exit(1);
		}
	}
	memcpy(c->body + c->blen, p, n);
	c->blen += n;
	c->body[c->blen] = '\0';
}

/* Read n body bytes (keep them if asked). */
static int read_body(struct conn *c, uint64_t n, bool keep_it)
{
	while (n) {
		if (c->off == c->have && fill(c))
			return -1;
		size_t k = c->have - c->off;
		if (k > n)
			k = (size_t)n;
		if (keep_it)
			keep(c, c->buf + c->off, k);
		c->off += k;
		n -= k;
	}
	return 0;
}

/* A line ending in CRLF into out (NUL-terminated, at most outlen - 1). */
static int read_line(struct conn *c, char *out, size_t outlen)
{
	size_t o = 0;
	for (;;) {
		if (c->off == c->have && fill(c))
			return -1;
		char ch = c->buf[c->off++];
		if (ch == '\n') {
			if (o && out[o - 1] == '\r')
				o--;
			out[o] = '\0';
			return 0;
		}
		if (o + 1 < outlen)
			out[o++] = ch;
	}
}

struct resp {
	int status;
	uint64_t total;   /* from Content-Range, 0 if none */
	uint64_t bytes;   /* body bytes */
	double ttfb;      /* seconds from send to the first response byte */
	bool close;
};

/* Send a GET (range: bytes lo..hi when hi >= lo) and read the response. */
static int conn_get(struct conn *c, const char *path, uint64_t lo, uint64_t hi, bool keep_it,
		    struct resp *r)
{
	char req[2048], rng[64] = "", auth[300] = "";
	if (hi >= lo && hi != UINT64_MAX)
		snprintf(rng, sizeof(rng), "Range: bytes=%" PRIu64 "-%" PRIu64 "\r\n", lo, hi);
	if (c->cfg->token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", c->cfg->token);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s\r\n", path,
			 c->cfg->host, c->cfg->port, auth, rng);
	if (n <= 0 || (size_t)n >= sizeof(req))
		return -1;
	if (c->fd < 0 && conn_open(c))
		return -1;
	memset(r, 0, sizeof(*r));
	c->blen = 0;
	double t0 = now_s();
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	if (c->off == c->have && fill(c))
		return -1;
	r->ttfb = now_s() - t0;
	char line[1024];
	if (read_line(c, line, sizeof(line)) || sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	uint64_t clen = UINT64_MAX;
	bool chunked = false;
	for (;;) {
		if (read_line(c, line, sizeof(line)))
			return -1;
		if (!*line)
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtoull(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strstr(line, "chunked"))
			chunked = true;
		else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close"))
			r->close = true;
		else if (!strncasecmp(line, "Content-Range:", 14)) {
			const char *sl = strchr(line, '/');
			if (sl)
				r->total = strtoull(sl + 1, NULL, 10);
		}
	}
	if (chunked) {
		for (;;) {
			if (read_line(c, line, sizeof(line)))
				return -1;
			uint64_t k = strtoull(line, NULL, 16);
			if (!k)
				break;
			if (read_body(c, k, keep_it) || read_line(c, line, sizeof(line)))
				return -1;
			r->bytes += k;
		}
		if (read_line(c, line, sizeof(line))) /* the last CRLF (no trailers) */
			return -1;
	} else if (clen != UINT64_MAX) {
		if (read_body(c, clen, keep_it))
			return -1;
		r->bytes = clen;
	} else
		return -1; /* to-close bodies are not used by either server */
	if (r->close)
		conn_close(c);
	return 0;
}

/* ---- searches ---------------------------------------------------------------------- */

struct search_state {
	const struct cfg *cfg;
	double t0;
	uint64_t total; /* searches to send */
	atomic_uint_fast64_t next;
};

struct search_worker {
	pthread_t th;
	struct search_state *st;
	unsigned id;
	struct samples lat;
	uint64_t ok, err, pages_followed;
	struct conn c;
};

static void *search_main(void *arg)
{
	struct search_worker *w = arg;
	const struct cfg *cfg = w->st->cfg;
	unsigned seed = 0x9e37u * (w->id + 1);
	char path[4096], cursor[32] = "";
	size_t qi = 0;
	for (;;) {
		uint64_t i = atomic_fetch_add(&w->st->next, 1);
		if (i >= w->st->total || now_s() > w->st->t0 + cfg->duration)
			break; /* the rest of the schedule is missed: counted */
		double due = w->st->t0 + (double)i / cfg->rate, t = now_s();
		if (due > t) {
			double d = due - t;
			struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
			nanosleep(&ts, NULL);
		}
		if (*cursor && (unsigned)rand_r(&seed) % 100 < cfg->cursor_pct) {
			snprintf(path, sizeof(path), "%s/api/calls?%s&cursor=%s", cfg->path_prefix,
				 cfg->queries[qi], cursor);
			w->pages_followed++;
		} else {
			qi = (size_t)(i * 7919 + w->id) % cfg->nqueries;
			snprintf(path, sizeof(path), "%s/api/calls?%s", cfg->path_prefix, cfg->queries[qi]);
		}
		*cursor = '\0';
		struct resp r;
		int rc = conn_get(&w->c, path, 1, 0, true, &r);
		double done = now_s();
		if (rc || r.status != 200) {
			w->err++;
			conn_close(&w->c);
			if (!rc && w->err <= 3)
				fprintf(stderr, "api_load: search HTTP %d: %.200s\n", r.status,
					w->c.body ? w->c.body : "");
			continue;
		}
		w->ok++;
		samples_add(&w->lat, (done - due) * 1e3);
		const char *nc = w->c.body ? strstr(w->c.body, "\"next_cursor\":\"") : NULL;
		if (nc) {
			nc += 15;
			size_t k = strspn(nc, "0123456789");
			if (k && k < sizeof(cursor)) {
				memcpy(cursor, nc, k);
				cursor[k] = '\0';
			}
		}
	}
	conn_close(&w->c);
	return NULL;
}

/* ---- streams ---------------------------------------------------------------------- */

struct stream_worker {
	pthread_t th;
	const struct cfg *cfg;
	unsigned id;
	double stop;
	struct samples ttfb, chunk_lat;
	uint64_t bytes, files, requests, err;
	struct conn c;
};

static void *stream_main(void *arg)
{
	struct stream_worker *w = arg;
	const struct cfg *cfg = w->cfg;
	char path[4096];
	for (size_t k = w->id; now_s() < w->stop; k++) {
		snprintf(path, sizeof(path), "%s", cfg->audio[k % cfg->naudio]);
		uint64_t lo = 0, total = UINT64_MAX;
		bool first = true;
		while (lo < total && now_s() < w->stop) {
			struct resp r;
			double t0 = now_s();
			int rc = conn_get(&w->c, path, lo, lo + cfg->chunk - 1, false, &r);
			w->requests++;
			if (rc || (r.status != 206 && r.status != 200)) {
				w->err++;
				conn_close(&w->c);
				if (!rc && w->err <= 3)
					fprintf(stderr, "api_load: %s: HTTP %d\n", path, r.status);
				break;
			}
			if (first)
				samples_add(&w->ttfb, r.ttfb * 1e3);
			samples_add(&w->chunk_lat, (now_s() - t0) * 1e3);
			first = false;
			w->bytes += r.bytes;
			total = r.status == 200 ? r.bytes : r.total;
			lo += r.bytes;
			if (!r.bytes)
				break;
		}
		if (lo >= total)
			w->files++;
	}
	conn_close(&w->c);
	return NULL;
}

/* ---- main ---------------------------------------------------------------------------- */

static char **read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	char **v = NULL, line[8192];
	size_t cap = 0;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\t\r\n")] = '\0';
		if (!*line)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			v = realloc(v, cap * sizeof(*v));
		}
		if (!v || !(v[*n] = strdup(line))) {
			perror("api_load");
			exit(1);
		}
		(*n)++;
	}
	fclose(f);
	if (!*n) {
		fprintf(stderr, "api_load: %s is empty\n", path);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: api_load --port P [--host ADDR] [--token T] [--duration S]\n"
		   "         [--queries FILE --rate R --workers N --cursor-pct P]\n"
		   "         [--audio FILE --streams N --chunk BYTES] [--path-prefix P]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},   {"port", required_argument, NULL, 'p'},
		{"token", required_argument, NULL, 't'},  {"duration", required_argument, NULL, 'd'},
		{"queries", required_argument, NULL, 'q'}, {"rate", required_argument, NULL, 'r'},
		{"workers", required_argument, NULL, 'w'}, {"cursor-pct", required_argument, NULL, 'C'},
		{"audio", required_argument, NULL, 'a'},  {"streams", required_argument, NULL, 's'},
		{"chunk", required_argument, NULL, 'k'},  {"path-prefix", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	struct cfg cfg = {.host = "127.0.0.1", .path_prefix = "", .duration = 30, .rate = 200,
			  .workers = 16, .streams = 50, .cursor_pct = 30, .chunk = 256 * 1024};
	const char *qfile = NULL, *afile = NULL;
	int o;
	while ((o = getopt_long(argc, argv, "H:p:t:d:q:r:w:C:a:s:k:P:h", opts, NULL)) != -1) {
		switch (o) {
		case 'H': cfg.host = optarg; break;
		case 'p': cfg.port = atoi(optarg); break;
		case 't': cfg.token = optarg; break;
		case 'd': cfg.duration = atof(optarg); break;
		case 'q': qfile = optarg; break;
		case 'r': cfg.rate = atof(optarg); break;
		case 'w': cfg.workers = (unsigned)atoi(optarg); break;
		case 'C': cfg.cursor_pct = (unsigned)atoi(optarg); break;
		case 'a': afile = optarg; break;
		case 's': cfg.streams = (unsigned)atoi(optarg); break;
		case 'k': cfg.chunk = (size_t)strtoull(optarg, NULL, 10); break;
		case 'P': cfg.path_prefix = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cfg.port || (!qfile && !afile) || cfg.rate <= 0 || !cfg.workers || !cfg.chunk) {
		usage(stderr);
		return 2;
	}
	if (qfile)
		cfg.queries = read_lines(qfile, &cfg.nqueries);
	if (afile)
		cfg.audio = read_lines(afile, &cfg.naudio);

	struct search_state ss = {.cfg = &cfg};
	struct search_worker *sw = calloc(qfile ? cfg.workers : 1, sizeof(*sw));
	struct stream_worker *aw = calloc(afile ? cfg.streams : 1, sizeof(*aw));
	if (!sw || !aw)
		return 1;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	double t0 = now_s();
	ss.t0 = t0 + 0.05;
	ss.total = (uint64_t)(cfg.rate * cfg.duration);
	atomic_init(&ss.next, 0);
	if (afile)
		for (unsigned i = 0; i < cfg.streams; i++) {
			aw[i] = (struct stream_worker){.cfg = &cfg, .id = i, .stop = t0 + cfg.duration,
						       .c = {.cfg = &cfg, .fd = -1}};
			pthread_create(&aw[i].th, NULL, stream_main, &aw[i]);
		}
	if (qfile)
		for (unsigned i = 0; i < cfg.workers; i++) {
			sw[i] = (struct search_worker){.st = &ss, .id = i, .c = {.cfg = &cfg, .fd = -1}};
			pthread_create(&sw[i].th, NULL, search_main, &sw[i]);
		}

	struct samples lat = {0}, ttfb = {0}, clat = {0};
	uint64_t ok = 0, err = 0, follow = 0;
	double search_end = t0;
	if (qfile) {
		for (unsigned i = 0; i < cfg.workers; i++) {
			pthread_join(sw[i].th, NULL);
			samples_merge(&lat, &sw[i].lat);
			ok += sw[i].ok;
			err += sw[i].err;
			follow += sw[i].pages_followed;
		}
		search_end = now_s();
	}
	uint64_t bytes = 0, files = 0, reqs = 0, aerr = 0;
	double stream_end = t0;
	if (afile) {
		for (unsigned i = 0; i < cfg.streams; i++) {
			pthread_join(aw[i].th, NULL);
			samples_merge(&ttfb, &aw[i].ttfb);
			samples_merge(&clat, &aw[i].chunk_lat);
			bytes += aw[i].bytes;
			files += aw[i].files;
			reqs += aw[i].requests;
			aerr += aw[i].err;
		}
		stream_end = now_s();
	}
	getrusage(RUSAGE_SELF, &ru1);
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		     (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6 +
		     (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		     (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6;
	double wall = now_s() - t0;

	if (qfile) {
		qsort(lat.v, lat.n, sizeof(double), cmp_d);
		/* the rate achieved over the scheduled period (or longer, when
		 * the last answers came late) */
		double el = search_end - ss.t0;
		if (el < cfg.duration)
			el = cfg.duration;
		uint64_t sent = ok + err, missed = ss.total > sent ? ss.total - sent : 0;
		printf("search_scheduled=%" PRIu64 " search_missed=%" PRIu64 " ", ss.total, missed);
		printf("search_sent=%" PRIu64 " search_ok=%" PRIu64 " search_err=%" PRIu64
		       " search_pages_followed=%" PRIu64 " search_rate=%.1f search_p50_ms=%.2f"
		       " search_p95_ms=%.2f search_p99_ms=%.2f search_max_ms=%.2f\n",
		       ok + err, ok, err, follow, (double)ok / el, pct(&lat, 50),
		       pct(&lat, 95), pct(&lat, 99), lat.n ? lat.v[lat.n - 1] : 0);
	}
	if (afile) {
		qsort(ttfb.v, ttfb.n, sizeof(double), cmp_d);
		qsort(clat.v, clat.n, sizeof(double), cmp_d);
		double el = stream_end - t0;
		printf("stream_bytes=%" PRIu64 " stream_mbps=%.2f stream_files=%" PRIu64
		       " stream_requests=%" PRIu64 " stream_err=%" PRIu64 " stream_ttfb_p50_ms=%.2f"
		       " stream_ttfb_p95_ms=%.2f stream_chunk_p95_ms=%.2f\n",
		       bytes, el > 0 ? (double)bytes / el / 1e6 : 0, files, reqs, aerr, pct(&ttfb, 50),
		       pct(&ttfb, 95), pct(&clat, 95));
	}
	printf("client_cpu_s=%.2f client_wall_s=%.2f client_cpu_pct=%.0f\n", cpu, wall,
	       wall > 0 ? 100.0 * cpu / wall : 0);
	return 0;
}
