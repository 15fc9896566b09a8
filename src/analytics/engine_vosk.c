/*
 * engine_vosk.c - the Vosk server engine (transcribe.h) over a WebSocket
 * (RFC 6455) of its own: net/ws.c parses the frames of captured traffic
 * in the capture layer, which analytics may not include, and a client
 * needs the other half (masked frames out, the handshake's accept check).
 * The protocol is vosk-server's: a text frame {"config": {"sample_rate":
 * R, "words": 1}}, binary frames of 16-bit little-endian PCM, each
 * answered by one message (a "partial" or a "result"), then {"eof" : 1},
 * answered by the final result.  ws:// only: a wss:// URL is refused
 * (ES_EUNSUP) rather than sending audio in the clear to a TLS endpoint.
 */
#include "analytics/transcribe.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define VOSK_CHUNK_FRAMES 4000     /* 0.5 s at 8 kHz per binary frame */
#define VOSK_MSG_MAX (4u << 20)    /* one reply message */
#define VOSK_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */

int tr_ws_frame_parse(const uint8_t *p, size_t n, size_t max, struct tr_ws_frame *f)
{
	memset(f, 0, sizeof(*f));
	if (n < 2)
		return ES_EAGAIN;
	if (p[0] & 0x70) /* RSV1-3: no extension was negotiated */
		return ES_EPARSE;
	f->fin = p[0] & 0x80;
	f->opcode = p[0] & 0x0f;
	if ((f->opcode > 2 && f->opcode < 8) || f->opcode > 10)
		return ES_EPARSE;
	if (p[1] & 0x80) /* a server never masks (5.1) */
		return ES_EPARSE;
	uint64_t len = p[1] & 0x7f;
	size_t h = 2;
	if (len == 126) {
		if (n < 4)
			return ES_EAGAIN;
		len = (uint64_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (n < 10)
			return ES_EAGAIN;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		h = 10;
	}
	if (f->opcode >= 8 && (len > 125 || !f->fin)) /* 5.5 */
		return ES_EPARSE;
	if (len > max)
		return ES_EPARSE;
	if (n - h < len)
		return ES_EAGAIN;
	f->payload = p + h;
	f->len = (size_t)len;
	f->size = h + (size_t)len;
	return 0;
}

struct conn {
	int fd;
	struct es_buf in;     /* bytes read, not yet consumed */
	const char *url;
	char *err;
	size_t errlen;
	atomic_int *stop;     /* tr_conf.stop: a wait given up when set */
	long timeout_s;       /* a reply waited for at most this long */
};

/* Wait until fd is readable, in slices short enough that a stop (the
 * recorder shutting down, a worker stopped) is seen within a quarter of
 * a second rather than after the whole timeout. */
static int wait_readable(struct conn *c)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (c->stop && atomic_load(c->stop)) {
			snprintf(c->err, c->errlen, "%s: stopped", c->url);
			return ES_EAGAIN;
		}
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int k = poll(&p, 1, 250);
		if (k > 0)
			return 0;
		if (k < 0 && errno != EINTR) {
			snprintf(c->err, c->errlen, "%s: poll: %s", c->url, strerror(errno));
			return ES_EIO;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= c->timeout_s) {
			snprintf(c->err, c->errlen, "%s: timed out", c->url);
			return ES_EIO;
		}
	}
}

static int send_all(struct conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(c->err, c->errlen, "%s: send: %s", c->url,
				 k < 0 ? strerror(errno) : "closed");
			return ES_EIO;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read more bytes into c->in; ES_EIO on close, error or timeout,
 * ES_EAGAIN when stopped. */
static int fill(struct conn *c)
{
	if (es_buf_reserve(&c->in, 65536))
		return ES_ENOMEM;
	int rc = wait_readable(c);
	if (rc)
		return rc;
	ssize_t k;
	do
		k = recv(c->fd, c->in.p + c->in.len, 65536, 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0) {
		snprintf(c->err, c->errlen, "%s: %s", c->url,
			 k == 0 ? "connection closed before the final result"
			 : errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
								 : strerror(errno));
		return ES_EIO;
	}
	c->in.len += (size_t)k;
	return 0;
}

/* A client frame: always masked (5.3). */
static int send_frame(struct conn *c, unsigned opcode, const void *p, size_t n)
{
	uint8_t h[14];
	size_t hl = 2;
	h[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	uint8_t key[4];
	randombytes_buf(key, 4);
	memcpy(h + hl, key, 4);
	hl += 4;
	uint8_t *m = malloc(n ? n : 1);
	if (!m)
		return ES_ENOMEM;
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		m[i] = s[i] ^ key[i & 3];
	int rc = send_all(c, h, hl);
	if (!rc)
		rc = send_all(c, m, n);
	free(m);
	return rc;
}

/* The next text message (pings answered, fragments joined) into msg. */
static int recv_msg(struct conn *c, struct es_buf *msg)
{
	es_buf_reset(msg);
	for (;;) {
		struct tr_ws_frame f;
		int rc = tr_ws_frame_parse(c->in.p, c->in.len, VOSK_MSG_MAX, &f);
		if (rc == ES_EAGAIN) {
			if ((rc = fill(c)))
				return rc;
			continue;
		}
		if (rc) {
			snprintf(c->err, c->errlen, "%s: malformed WebSocket frame", c->url);
			return ES_EPARSE;
		}
		if (f.opcode == 8) {
			snprintf(c->err, c->errlen, "%s: the server closed before the final result",
				 c->url);
			return ES_EIO;
		}
		if (f.opcode == 9)
			rc = send_frame(c, 10, f.payload, f.len);
		else if (f.opcode <= 2 && msg->len + f.len > VOSK_MSG_MAX)
			rc = ES_ELIMIT;
		else if (f.opcode <= 2)
			rc = es_buf_append(msg, f.payload, f.len);
		bool end = f.opcode <= 2 && f.fin;
		es_buf_consume(&c->in, f.size);
		if (rc) {
			snprintf(c->err, c->errlen, "%s: a message too large", c->url);
			return rc;
		}
		if (end)
			return 0;
	}
}

/* ws://host[:port][/path] into its parts. */
static int parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
		     const char **path)
{
	if (!strncmp(url, "wss://", 6))
		return ES_EUNSUP;
	if (strncmp(url, "ws://", 5))
		return ES_EINVAL;
	const char *h = url + 5, *e = h + strcspn(h, "/");
	*path = *e ? e : "/";
	const char *colon = h;
	if (*h == '[') { /* [IPv6]:port */
		const char *rb = memchr(h, ']', (size_t)(e - h));
		if (!rb)
			return ES_EINVAL;
		snprintf(host, hcap, "%.*s", (int)(rb - h - 1), h + 1);
		colon = rb + 1;
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		snprintf(host, hcap, "%.*s", (int)((colon ? colon : e) - h), h);
		if (!colon)
			colon = e;
	}
	if (*colon == ':')
		snprintf(port, pcap, "%.*s", (int)(e - colon - 1), colon + 1);
	else
		snprintf(port, pcap, "80");
	return *host && *port ? 0 : ES_EINVAL;
}

static int dial(struct conn *c, const char *host, const char *port, long timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g) {
		snprintf(c->err, c->errlen, "%s: %s", c->url, gai_strerror(g));
		return ES_EIO;
	}
	int rc = ES_EIO;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = timeout_s};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			c->fd = fd;
			rc = 0;
			break;
		}
		snprintf(c->err, c->errlen, "%s: connect: %s", c->url, strerror(errno));
		close(fd);
	}
	freeaddrinfo(ai);
	return rc;
}

/* RFC 6455 4.1: the upgrade request, a 101 and the right accept value. */
static int handshake(struct conn *c, const char *host, const char *port, const char *path,
		     const char *token)
{
	uint8_t nonce[16];
	char key[32], want[64], req[4096];
	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2base64(key, sizeof(key), nonce, sizeof(nonce), sodium_base64_VARIANT_ORIGINAL);
	char cat[96];
	snprintf(cat, sizeof(cat), "%s%s", key, VOSK_GUID);
	uint8_t md[SHA_DIGEST_LENGTH];
	SHA1((const uint8_t *)cat, strlen(cat), md);
	sodium_bin2base64(want, sizeof(want), md, sizeof(md), sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n",
			 path, host, port, key);
	if (n < 0 || (size_t)n >= sizeof(req))
		return ES_ELIMIT;
	int rc = send_all(c, req, (size_t)n);
	if (!rc && token && *token) {
		/* written straight to the socket, never into a message */
		rc = send_all(c, "Authorization: Bearer ", 22);
		if (!rc)
			rc = send_all(c, token, strlen(token));
		if (!rc)
			rc = send_all(c, "\r\n", 2);
	}
	if (!rc)
		rc = send_all(c, "\r\n", 2);
	/* the response head, up to the blank line */
	char *end = NULL;
	while (!rc && !(end = c->in.len ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL)) {
		if (c->in.len > 16384) {
			snprintf(c->err, c->errlen, "%s: handshake reply too long", c->url);
			return ES_EPARSE;
		}
		rc = fill(c);
	}
	if (rc)
		return rc;
	size_t hl = (size_t)(end - (char *)c->in.p) + 4;
	char *head = strndup((const char *)c->in.p, hl);
	if (!head)
		return ES_ENOMEM;
	es_buf_consume(&c->in, hl);
	rc = 0;
	if (strncmp(head, "HTTP/1.1 101", 12)) {
		snprintf(c->err, c->errlen, "%s: no WebSocket upgrade: %.60s", c->url,
			 strtok(head, "\r\n") ? head : "");
		rc = ES_EIO;
	} else {
		bool ok = false;
		for (char *l = strtok(head, "\r\n"); l; l = strtok(NULL, "\r\n"))
			if (!strncasecmp(l, "Sec-WebSocket-Accept:", 21)) {
				char *v = l + 21;
				while (*v == ' ')
					v++;
				ok = !strcmp(v, want);
			}
		if (!ok) {
			snprintf(c->err, c->errlen, "%s: wrong Sec-WebSocket-Accept", c->url);
			rc = ES_EPARSE;
		}
	}
	free(head);
	return rc;
}

/* One reply: a result's words appended to out. */
static int take_reply(struct conn *c, struct es_buf *msg, struct tr_text *out, bool *final)
{
	int rc = recv_msg(c, msg);
	if (rc)
		return rc;
	char perr[200] = "";
	rc = tr_parse_vosk((const char *)msg->p, msg->len, out, final, perr, sizeof(perr));
	if (rc)
		snprintf(c->err, c->errlen, "%s: %s", c->url, perr);
	return rc;
}

/* ---- a stream: one WebSocket, audio in as it comes, words out -------------------------- */

struct tr_vosk {
	struct conn c;
	struct es_buf msg;
	uint8_t *chunk;           /* VOSK_CHUNK_FRAMES little-endian samples */
};

int tr_vosk_open(struct tr_vosk **out, const struct tr_conf *cf, uint32_t rate, char *err,
		 size_t errlen)
{
	*out = NULL;
	struct tr_vosk *v = calloc(1, sizeof(*v));
	if (!v)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	long to = cf->timeout_s > 0 ? cf->timeout_s : 300;
	v->c = (struct conn){.fd = -1, .url = cf->url ? cf->url : "", .err = err, .errlen = errlen,
			     .stop = cf->stop, .timeout_s = to};
	es_buf_init(&v->c.in);
	es_buf_init(&v->msg);
	char host[256], port[16];
	const char *path;
	int rc = parse_url(v->c.url, host, sizeof(host), port, sizeof(port), &path);
	if (rc == ES_EUNSUP)
		snprintf(err, errlen, "%s: wss:// is not supported by the built-in Vosk client;"
				      " use ws:// on a trusted network or a TLS tunnel", v->c.url);
	else if (rc)
		snprintf(err, errlen, "[transcription] url '%s' is not ws://host:port", v->c.url);
	if (rc)
		goto out;
	if ((rc = dial(&v->c, host, port, to)) ||
	    (rc = handshake(&v->c, host, port, path, cf->token)))
		goto out;
	char cfg[128];
	int n = snprintf(cfg, sizeof(cfg), "{\"config\": {\"sample_rate\": %u, \"words\": 1}}",
			 rate);
	if ((rc = send_frame(&v->c, 1, cfg, (size_t)n)))
		goto out;
	if (!(v->chunk = malloc(VOSK_CHUNK_FRAMES * 2)))
		rc = ES_ENOMEM;
out:
	if (rc == ES_ENOMEM && !*err)
		snprintf(err, errlen, "out of memory");
	if (rc) {
		tr_vosk_close(v);
		return rc;
	}
	*out = v;
	return 0;
}

int tr_vosk_feed(struct tr_vosk *v, const int16_t *pcm, size_t frames, struct tr_text *out,
		 char *err, size_t errlen)
{
	v->c.err = err;
	v->c.errlen = errlen;
	/* vosk-server answers every audio frame: read each answer before
	 * the next frame, so neither side's buffers fill */
	for (size_t i = 0; i < frames; i += VOSK_CHUNK_FRAMES) {
		size_t k = frames - i < VOSK_CHUNK_FRAMES ? frames - i : VOSK_CHUNK_FRAMES;
		for (size_t j = 0; j < k; j++) {
			v->chunk[2 * j] = (uint8_t)pcm[i + j];
			v->chunk[2 * j + 1] = (uint8_t)((uint16_t)pcm[i + j] >> 8);
		}
		bool final = false;
		int rc = send_frame(&v->c, 2, v->chunk, k * 2);
		if (rc || (rc = take_reply(&v->c, &v->msg, out, &final)))
			return rc;
	}
	return 0;
}

int tr_vosk_finish(struct tr_vosk *v, struct tr_text *out, char *err, size_t errlen)
{
	v->c.err = err;
	v->c.errlen = errlen;
	static const char eof[] = "{\"eof\" : 1}";
	int rc = send_frame(&v->c, 1, eof, sizeof(eof) - 1);
	if (rc)
		return rc;
	/* the final result; a "partial" here is skipped */
	bool final = false;
	do
		rc = take_reply(&v->c, &v->msg, out, &final);
	while (!rc && !final);
	if (!rc)
		send_frame(&v->c, 8, "\x03\xe8", 2); /* 1000: normal closure */
	return rc;
}

void tr_vosk_close(struct tr_vosk *v)
{
	if (!v)
		return;
	if (v->c.fd >= 0)
		close(v->c.fd);
	free(v->chunk);
	es_buf_free(&v->msg);
	es_buf_free(&v->c.in);
	free(v);
}

static int vosk_run(const struct tr_conf *cf, const int16_t *pcm, size_t frames, uint32_t rate,
		    struct tr_text *out, char *err, size_t errlen)
{
	struct tr_vosk *v = NULL;
	int rc = tr_vosk_open(&v, cf, rate, err, errlen);
	if (!rc)
		rc = tr_vosk_feed(v, pcm, frames, out, err, errlen);
	if (!rc)
		rc = tr_vosk_finish(v, out, err, errlen);
	if (rc == ES_ENOMEM && !*err)
		snprintf(err, errlen, "out of memory");
	tr_vosk_close(v);
	return rc;
}

const struct tr_engine tr_engine_vosk = {"vosk", vosk_run};
