/* buf.c - growable byte buffers and IP addresses. */
#include "core.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void es_buf_init(struct es_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void es_buf_free(struct es_buf *b)
{
	free(b->p);
	es_buf_init(b);
}

int es_buf_reserve(struct es_buf *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len)
		return ES_ENOMEM;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return ES_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int es_buf_append(struct es_buf *b, const void *p, size_t n)
{
	int err = es_buf_reserve(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int es_buf_printf(struct es_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ES_EINVAL;
	int err = es_buf_reserve(b, (size_t)n + 1);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void es_buf_consume(struct es_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

int es_addr_parse_ip(struct slice s, struct es_addr *a)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	if (s.len == 0 || s.len >= sizeof(tmp))
		return ES_EPARSE;
	sl_copy(tmp, sizeof(tmp), s);
	uint8_t ip[16];
	if (memchr(s.p, ':', s.len)) {
		if (inet_pton(AF_INET6, tmp, ip) != 1)
			return ES_EPARSE;
		memcpy(a->ip, ip, 16);
		a->family = ES_AF_INET6;
	} else {
		if (inet_pton(AF_INET, tmp, ip) != 1)
			return ES_EPARSE;
		memset(a->ip, 0, 16);
		memcpy(a->ip, ip, 4);
		a->family = ES_AF_INET;
	}
	return 0;
}

void es_addr_set_v4(struct es_addr *a, const uint8_t ip[4], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = ES_AF_INET;
	memcpy(a->ip, ip, 4);
	a->port = port;
}

void es_addr_set_v6(struct es_addr *a, const uint8_t ip[16], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = ES_AF_INET6;
	memcpy(a->ip, ip, 16);
	a->port = port;
}

size_t es_addr_fmt(const struct es_addr *a, bool with_port, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (a->family == ES_AF_INET)
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
	else if (a->family == ES_AF_INET6)
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
	else
		strcpy(ip, "-");
	int n;
	if (!with_port)
		n = snprintf(buf, cap, "%s", ip);
	else if (a->family == ES_AF_INET6)
		n = snprintf(buf, cap, "[%s]:%u", ip, a->port);
	else
		n = snprintf(buf, cap, "%s:%u", ip, a->port);
	if (n < 0)
		n = 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

bool es_addr_ip_eq(const struct es_addr *a, const struct es_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

bool es_addr_eq(const struct es_addr *a, const struct es_addr *b)
{
	return a->port == b->port && es_addr_ip_eq(a, b);
}

uint64_t es_addr_hash(const struct es_addr *a, uint64_t seed)
{
	/* on the per-packet path: two words and two mixes, not a byte loop */
	uint64_t w0, w1;
	memcpy(&w0, a->ip, 8);
	memcpy(&w1, a->ip + 8, 8);
	uint64_t h = es_hash_mix(w0 ^ seed ^ ((uint64_t)a->port << 40) ^ ((uint64_t)a->family << 56));
	return es_hash_mix(h ^ w1);
}
