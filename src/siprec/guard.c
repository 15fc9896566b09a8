/* guard.c - who may talk to the recording server: the allow list (SIP
 * requests and TCP/TLS connections), where a session's media may come from,
 * and a rate-limited log for what is refused (a flood must not become a
 * flood of log lines).
 *
 * Media sources.  RFC 7866 leaves the SRC free to send from any port, so
 * "signalled" here means addresses, not ports: a stream's RTP and RTCP are
 * accepted from the IP address of its m-line's c= (media level, else
 * session level; RFC 4566 5.7), and from the IP address the SRC's SIP
 * request came from (an SRC behind NAT signals a private c=).  When the c=
 * is not usable (absent, 0.0.0.0 / ::, multicast), the hosts of the allow
 * list count too.  Each of the stream's two sockets then latches on the
 * address and port of the first packet it accepts (after SRTP
 * authentication), and takes no other source until the SRC signals a move:
 * an offer whose c= address or m= port differs, or that comes from another
 * SIP source, resets the latches.  A new SSRC from the latched source is
 * accepted (RFC 3550 8.2: an SRC may change it); a new SSRC from any other
 * port is not.  RTCP on the RTP port (RFC 5761) follows the RTP latch. */
#include "siprec/srs_internal.h"

#include <string.h>

#define TAG "srs"

bool srs_ratelog_ok(struct srs_ratelog *l, int64_t now, const char *what)
{
	if (now - l->window >= SRS_LOG_WINDOW_US || now < l->window) {
		if (l->suppressed)
			ES_LOG_WARNING(TAG, "%llu more %s not logged in the last %lld s",
				       (unsigned long long)l->suppressed, what,
				       (long long)(SRS_LOG_WINDOW_US / ES_US_PER_SEC));
		l->window = now;
		l->lines = 0;
		l->suppressed = 0;
	}
	if (l->lines < SRS_LOG_BURST) {
		l->lines++;
		return true;
	}
	l->suppressed++;
	return false;
}

static bool in_net(const struct srs_allow *w, const struct es_addr *a)
{
	if (w->net.family != a->family)
		return false;
	unsigned max = a->family == ES_AF_INET ? 32 : 128;
	unsigned bits = ES_MIN(w->bits, max);
	for (unsigned k = 0; k < bits; k++) {
		unsigned bit = 7 - (k & 7);
		if (((w->net.ip[k / 8] >> bit) & 1) != ((a->ip[k / 8] >> bit) & 1))
			return false;
	}
	return true;
}

bool srs_allowed(const struct srs *s, const struct es_addr *a)
{
	if (!s->cfg.nallow)
		return true;
	for (unsigned i = 0; i < s->cfg.nallow; i++)
		if (in_net(&s->cfg.allow[i], a))
			return true;
	return false;
}

/* A c= address media can come from: not absent, unspecified or multicast
 * (224.0.0.0/4, ff00::/8). */
static bool usable(const struct es_addr *a)
{
	static const uint8_t zero[16];
	if (a->family == ES_AF_NONE || memcmp(a->ip, zero, 16) == 0)
		return false;
	if (a->family == ES_AF_INET)
		return (a->ip[0] & 0xf0) != 0xe0;
	return a->ip[0] != 0xff;
}

void srs_source_offer(struct srs_source *src, const struct sdp_media *md,
		      const struct es_addr *sip_src)
{
	struct srs_source n;
	memset(&n, 0, sizeof(n));
	if (usable(&md->addr)) {
		n.sig[n.nsig] = md->addr;
		n.sig[n.nsig++].port = 0;
	}
	if (!n.nsig || !es_addr_ip_eq(&n.sig[0], sip_src)) {
		n.sig[n.nsig] = *sip_src;
		n.sig[n.nsig++].port = 0;
	}
	n.allow_list = !usable(&md->addr);
	n.offer = md->addr;
	n.offer.port = md->port;
	bool same = src->nsig == n.nsig && src->allow_list == n.allow_list &&
		    es_addr_eq(&src->offer, &n.offer);
	for (unsigned i = 0; same && i < n.nsig; i++)
		same = es_addr_ip_eq(&src->sig[i], &n.sig[i]);
	if (same)
		return; /* a refresh or a pause: the latches stay */
	*src = n;   /* new, or the media moved: latch again */
}

uint64_t *srs_source_check(struct srs *s, struct srs_source *ms, bool rtcp_sock,
			   const struct es_addr *src, bool *latch)
{
	const struct es_addr *l = &ms->latch[rtcp_sock];
	bool signalled = false;
	*latch = false;
	if (!src->port)
		return &s->st.drops.media_foreign; /* not a source a reply could reach */
	for (unsigned i = 0; i < ms->nsig && !signalled; i++)
		signalled = es_addr_ip_eq(&ms->sig[i], src);
	if (!signalled && ms->allow_list && s->cfg.nallow)
		signalled = srs_allowed(s, src);
	if (!signalled)
		return &s->st.drops.media_foreign;
	if (l->port)
		return es_addr_eq(l, src) ? NULL : &s->st.drops.media_unlatched;
	*latch = true;
	return NULL;
}

void srs_source_latch(struct srs_source *ms, bool rtcp_sock, const struct es_addr *src)
{
	ms->latch[rtcp_sock] = *src;
}
