/* srtp.c - SDES-keyed SRTP (RFC 4568, RFC 3711) for the recording server:
 * the SRC's key from its a=crypto, an inbound libsrtp2 session, and the
 * answer's a=crypto with a fresh key.  Keys are never logged. */
#include "siprec/srs_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

struct srs_srtp {
	srtp_t ctx;
	bool mki;
};

typedef void (*srs_policy_fn)(srtp_crypto_policy_t *p);

/* RFC 4568 6.2 / RFC 6188: SRTCP always uses the 80-bit tag. */
static const struct {
	const char *name;
	srs_policy_fn rtp, rtcp;
	size_t keylen; /* master key + salt */
} suites[] = {
	{"AES_CM_128_HMAC_SHA1_80", srtp_crypto_policy_set_rtp_default,
	 srtp_crypto_policy_set_rtp_default, 30},
	{"AES_CM_128_HMAC_SHA1_32", srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
	 srtp_crypto_policy_set_rtp_default, 30},
	{"AES_256_CM_HMAC_SHA1_80", srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80,
	 srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80, 46},
	{"AES_256_CM_HMAC_SHA1_32", srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32,
	 srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80, 46},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;

static void do_init(void)
{
	init_ok = srtp_init() == srtp_err_status_ok && sodium_init() >= 0;
}

/* Next space-separated token of *s. */
static struct slice token(struct slice *s)
{
	size_t i = 0;
	while (i < s->len && (s->p[i] == ' ' || s->p[i] == '\t'))
		i++;
	size_t b = i;
	while (i < s->len && s->p[i] != ' ' && s->p[i] != '\t')
		i++;
	struct slice t = sl_make(s->p + b, i - b);
	*s = sl_sub(*s, i, s->len);
	return t;
}

int srs_srtp_new(struct slice crypto, struct srs_srtp **out, char *answer, size_t cap)
{
	pthread_once(&init_once, do_init);
	if (!init_ok)
		return ES_EIO;
	struct slice rest = sl_trim(crypto);
	struct slice tag = token(&rest), suite = token(&rest), kp = token(&rest);
	struct slice session_params = sl_trim(rest);
	uint32_t tagv;
	if (sl_to_u32(tag, &tagv) || tag.len > 9 || !suite.len || !kp.len)
		return ES_EPARSE;
	if (session_params.len)
		return ES_EUNSUP; /* UNENCRYPTED_SRTP, KDR, FEC_ORDER ...: not supported */
	size_t si = ES_ARRAY_LEN(suites);
	for (size_t i = 0; i < ES_ARRAY_LEN(suites); i++)
		if (sl_eq_str_ci(suite, suites[i].name))
			si = i;
	if (si == ES_ARRAY_LEN(suites))
		return ES_EUNSUP;
	struct slice first, more;
	sl_split(kp, ';', &first, &more); /* several keys: the first is used */
	if (!sl_starts_ci(first, "inline:"))
		return ES_EPARSE;
	first = sl_sub(first, 7, first.len);
	struct slice b64, opts;
	sl_split(first, '|', &b64, &opts);
	uint8_t mki[8];
	size_t mki_len = 0;
	while (opts.len) {
		struct slice item, r2;
		sl_split(opts, '|', &item, &r2);
		opts = r2;
		struct slice v, l;
		if (sl_split(item, ':', &v, &l)) { /* MKI:length */
			uint32_t mv, ml;
			if (sl_to_u32(v, &mv) || sl_to_u32(l, &ml) || ml < 1 || ml > 4)
				return ES_EPARSE;
			mki_len = ml;
			for (size_t k = 0; k < ml; k++)
				mki[k] = (uint8_t)(mv >> (8 * (ml - 1 - k)));
		} /* else a lifetime: not enforced */
	}
	uint8_t key[64];
	size_t keylen = 0;
	char b64s[128];
	if (b64.len >= sizeof(b64s))
		return ES_EPARSE;
	sl_copy(b64s, sizeof(b64s), b64);
	if (sodium_base642bin(key, sizeof(key), b64s, b64.len, NULL, &keylen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    keylen != suites[si].keylen) {
		sodium_memzero(key, sizeof(key));
		return ES_EPARSE;
	}
	struct srs_srtp *c = calloc(1, sizeof(*c));
	if (!c) {
		sodium_memzero(key, sizeof(key));
		return ES_ENOMEM;
	}
	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	suites[si].rtp(&pol.rtp);
	suites[si].rtcp(&pol.rtcp);
	pol.ssrc.type = ssrc_any_inbound;
	pol.window_size = 1024;
	srtp_master_key_t mk, *mkp = &mk;
	if (mki_len) {
		mk.key = key;
		mk.mki_id = mki;
		mk.mki_size = (unsigned)mki_len;
		pol.keys = &mkp;
		pol.num_master_keys = 1;
		c->mki = true;
	} else {
		pol.key = key;
	}
	srtp_err_status_t e = srtp_create(&c->ctx, &pol);
	sodium_memzero(key, sizeof(key));
	if (e != srtp_err_status_ok) {
		free(c);
		return ES_EUNSUP;
	}
	/* the answer: same tag and suite, our own key (RFC 4568 6.1) */
	uint8_t mine[64];
	char mine64[96];
	randombytes_buf(mine, suites[si].keylen);
	sodium_bin2base64(mine64, sizeof(mine64), mine, suites[si].keylen,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(mine, sizeof(mine));
	int n = snprintf(answer, cap, "%u %s inline:%s", tagv, suites[si].name, mine64);
	sodium_memzero(mine64, sizeof(mine64));
	if (n < 0 || (size_t)n >= cap) {
		srs_srtp_free(c);
		return ES_ELIMIT;
	}
	*out = c;
	return 0;
}

int srs_srtp_unprotect(struct srs_srtp *c, bool rtcp, uint8_t *buf, size_t *len)
{
	if (*len > INT32_MAX)
		return ES_EINVAL;
	int n = (int)*len;
	srtp_err_status_t e;
	if (rtcp)
		e = c->mki ? srtp_unprotect_rtcp_mki(c->ctx, buf, &n, 1)
			   : srtp_unprotect_rtcp(c->ctx, buf, &n);
	else
		e = c->mki ? srtp_unprotect_mki(c->ctx, buf, &n, 1) : srtp_unprotect(c->ctx, buf, &n);
	if (e != srtp_err_status_ok)
		return ES_EPARSE;
	*len = (size_t)n;
	return 0;
}

void srs_srtp_free(struct srs_srtp *c)
{
	if (!c)
		return;
	srtp_dealloc(c->ctx);
	free(c);
}
