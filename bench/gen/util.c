/* util.c - gen_calls: random numbers, checksums, addresses.
 * #included by bench/gen_calls.c (see gen.h). */

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed * UINT64_C(0x2545f4914f6cdd1d) + stream;
	(void)rng_next(r);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return hi <= lo ? lo : lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability pct percent. */
static bool rng_chance(struct rng *r, double pct)
{
	if (pct <= 0)
		return false;
	double u = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
	return u * 100.0 < pct;
}

/* ---- Internet checksum (RFC 1071) -------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The sum of the UDP/TCP pseudo header (RFC 768, RFC 8200 8.1). */
static uint32_t csum_pseudo(const struct es_addr *src, const struct es_addr *dst,
			    uint8_t proto, size_t l4len)
{
	size_t alen = src->family == ES_AF_INET6 ? 16 : 4;
	uint32_t sum = csum_add(0, src->ip, alen);
	sum = csum_add(sum, dst->ip, alen);
	return sum + proto + (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- addresses ----------------------------------------------------------- */

/* The host of party `group` (1 caller, 2 callee, 3 a forked branch) of call
 * idx: 10.G.x.y, or 2001:db8:G::N for IPv6. */
static void addr_host(struct es_addr *a, bool v6, int group, uint32_t idx)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};
		memcpy(a->ip, pfx, 4);
		a->ip[5] = (uint8_t)group;
		a->ip[14] = (uint8_t)((idx + 1) >> 8);
		a->ip[15] = (uint8_t)(idx + 1);
		a->family = ES_AF_INET6;
	} else {
		a->ip[0] = 10;
		a->ip[1] = (uint8_t)group;
		a->ip[2] = (uint8_t)(idx / 250);
		a->ip[3] = (uint8_t)(idx % 250 + 1);
		a->family = ES_AF_INET;
	}
	a->port = GEN_SIP_PORT;
}

static struct es_addr addr_with_port(const struct es_addr *a, uint16_t port)
{
	struct es_addr r = *a;
	r.port = port;
	return r;
}

/* The host as written in a SIP URI or Via: IPv6 in brackets. */
static const char *addr_uri_host(const struct es_addr *a, char *buf, size_t cap)
{
	char ip[ES_ADDR_STRLEN];
	es_addr_fmt(a, false, ip, sizeof(ip));
	if (snprintf(buf, cap, a->family == ES_AF_INET6 ? "[%s]" : "%s", ip) >= (int)cap)
		buf[0] = 0; /* cannot happen: callers give ES_ADDR_STRLEN */
	return buf;
}

/* The host as written in SDP (RFC 4566 c=/o=): never in brackets. */
static const char *addr_plain(const struct es_addr *a, char *buf, size_t cap)
{
	es_addr_fmt(a, false, buf, cap);
	return buf;
}
