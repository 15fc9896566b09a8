/*
 * srtp_pcap.c - turns the RTP of a capture into SRTP, for the SIPREC tests:
 * a copy of IN.pcap where the payload of every RTP packet (UDP, version 2,
 * not RTCP) is protected with libsrtp2 under one SDES key (RFC 4568
 * inline key: 16 bytes master key then 14 bytes master salt, base64), as
 * an SRC sending RTP/SAVP would.  Each packet grows by the auth tag; the
 * IPv4 total length and header checksum, the UDP length and the UDP
 * checksum are fixed, the pcap record lengths too.  Other packets are
 * copied as they are.
 *
 * Classic pcap only (either byte order, micro- or nanosecond), link types
 * Ethernet (optionally one 802.1Q tag) and raw IPv4; IPv4 only.
 */
#include <srtp2/srtp.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "srtp_pcap"
#define MAX_PKT 65536

static void usage(FILE *f)
{
	fprintf(f,
		"usage: srtp_pcap IN.pcap OUT.pcap --key BASE64 [--suite SUITE]\n"
		"Copies IN.pcap to OUT.pcap, encrypting and authenticating every RTP\n"
		"packet with SRTP (libsrtp2, one outbound context for any SSRC).\n"
		"IPv4 and UDP lengths and checksums are fixed; other packets are\n"
		"copied unchanged.\n\n"
		"  --key BASE64   the SDES inline key: 30 bytes (master key || salt)\n"
		"  --suite SUITE  AES_CM_128_HMAC_SHA1_80 (default) or\n"
		"                 AES_CM_128_HMAC_SHA1_32\n"
		"  -h, --help     this help\n\n"
		"Prints how many packets were encrypted and copied.  Exit status:\n"
		"0 done, 1 I/O, capture or SRTP error, 2 usage.\n");
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 (padding optional); -1 on a bad character or overflow. */
static int b64decode(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		int v = b64val((unsigned char)*in);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	for (; *in == '='; in++)
		;
	return *in ? -1 : (int)n;
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void wr32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Offset of the IPv4 header in a frame of this link type, or -1. */
static long ip_offset(uint32_t linktype, const uint8_t *p, size_t len)
{
	if (linktype == 101 || linktype == 228)
		return 0;
	if (linktype != 1 || len < 14)
		return -1;
	size_t off = 12;
	uint16_t et = (uint16_t)(p[off] << 8 | p[off + 1]);
	if (et == 0x8100 && len >= 18) {
		off += 4;
		et = (uint16_t)(p[off] << 8 | p[off + 1]);
	}
	return et == 0x0800 ? (long)(off + 2) : -1;
}

static bool is_rtp(const uint8_t *p, size_t len)
{
	if (len < 12 || (p[0] >> 6) != 2)
		return false;
	unsigned pt = p[1] & 0x7F;
	return pt < 72 || pt > 76; /* 200..204 with the marker bit: RTCP */
}

/* Protects the RTP in frame p (caplen bytes, room for SRTP_MAX_TRAILER_LEN
 * more); returns the bytes added (0: not RTP), or -1 on an SRTP error. */
static int protect(srtp_t srtp, uint32_t linktype, uint8_t *p, size_t caplen)
{
	long ipo = ip_offset(linktype, p, caplen);
	if (ipo < 0 || caplen < (size_t)ipo + 20)
		return 0;
	uint8_t *ip = p + ipo;
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || (ip[6] & 0x3F) || ip[7])
		return 0; /* not UDP, or a fragment */
	size_t tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot < ihl + 8 || (size_t)ipo + tot != caplen)
		return 0; /* truncated or padded: leave it */
	uint8_t *udp = ip + ihl;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	if (ulen != tot - ihl)
		return 0;
	uint8_t *rtp = udp + 8;
	int len = (int)(ulen - 8);
	if (!is_rtp(rtp, (size_t)len))
		return 0;
	int before = len;
	srtp_err_status_t st = srtp_protect(srtp, rtp, &len);
	if (st != srtp_err_status_ok) {
		fprintf(stderr, TAG ": srtp_protect failed (%d)\n", (int)st);
		return -1;
	}
	int added = len - before;
	tot += (size_t)added;
	ulen += (size_t)added;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[10] = ip[11] = 0;
	uint16_t hc = csum_fold(csum_add(0, ip, ihl));
	ip[10] = (uint8_t)(hc >> 8);
	ip[11] = (uint8_t)hc;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = (uint8_t)(ulen >> 8);
	pseudo[11] = (uint8_t)ulen;
	uint16_t uc = csum_fold(csum_add(csum_add(0, pseudo, 12), udp, ulen));
	if (uc == 0)
		uc = 0xFFFF;
	udp[6] = (uint8_t)(uc >> 8);
	udp[7] = (uint8_t)uc;
	return added;
}

int main(int argc, char **argv)
{
	const char *in_path = NULL, *out_path = NULL, *key_b64 = NULL;
	const char *suite = "AES_CM_128_HMAC_SHA1_80";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--key") || !strcmp(a, "--suite")) {
			if (i + 1 >= argc) {
				fprintf(stderr, TAG ": %s needs a value\n", a);
				return 2;
			}
			if (!strcmp(a, "--key"))
				key_b64 = argv[++i];
			else
				suite = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, TAG ": unknown option %s\n", a);
			usage(stderr);
			return 2;
		} else if (!in_path) {
			in_path = a;
		} else if (!out_path) {
			out_path = a;
		} else {
			fprintf(stderr, TAG ": too many arguments\n");
			return 2;
		}
	}
	if (!in_path || !out_path || !key_b64) {
		usage(stderr);
		return 2;
	}

	uint8_t key[64];
	int keylen = b64decode(key_b64, key, sizeof key);
	if (keylen != SRTP_AES_ICM_128_KEY_LEN_WSALT) {
		fprintf(stderr, TAG ": --key must be base64 of %d bytes (master key and salt)\n",
			SRTP_AES_ICM_128_KEY_LEN_WSALT);
		return 2;
	}

	srtp_policy_t policy;
	memset(&policy, 0, sizeof policy);
	if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
	} else if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
	} else {
		fprintf(stderr, TAG ": unsupported suite %s\n", suite);
		return 2;
	}
	srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
	policy.ssrc.type = ssrc_any_outbound;
	policy.key = key;
	policy.window_size = 1024;
	policy.next = NULL;

	int rc = 1;
	FILE *in = NULL, *out = NULL;
	srtp_t srtp = NULL;
	uint8_t *pkt = NULL;
	unsigned long encrypted = 0, copied = 0;

	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, TAG ": srtp_init failed\n");
		return 1;
	}
	if (srtp_create(&srtp, &policy) != srtp_err_status_ok) {
		fprintf(stderr, TAG ": srtp_create failed\n");
		goto out;
	}
	in = fopen(in_path, "rb");
	if (!in) {
		fprintf(stderr, TAG ": %s: %s\n", in_path, strerror(errno));
		goto out;
	}
	uint8_t gh[24];
	if (fread(gh, 1, sizeof gh, in) != sizeof gh) {
		fprintf(stderr, TAG ": %s: too short for a pcap header\n", in_path);
		goto out;
	}
	uint32_t magic;
	memcpy(&magic, gh, 4);
	bool swap;
	if (magic == 0xA1B2C3D4 || magic == 0xA1B23C4D)
		swap = false;
	else if (magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1)
		swap = true;
	else {
		fprintf(stderr, TAG ": %s: not a classic pcap file (pcapng is not supported)\n",
			in_path);
		goto out;
	}
	uint32_t linktype = rd32(gh + 20, swap) & 0x0FFFFFFF;
	if (linktype != 1 && linktype != 101 && linktype != 228) {
		fprintf(stderr, TAG ": %s: link type %u not supported (Ethernet or raw IPv4)\n",
			in_path, linktype);
		goto out;
	}
	out = fopen(out_path, "wb");
	if (!out) {
		fprintf(stderr, TAG ": %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	/* the snap length must admit the grown packets */
	if (rd32(gh + 16, swap) < MAX_PKT)
		wr32(gh + 16, MAX_PKT, swap);
	if (fwrite(gh, 1, sizeof gh, out) != sizeof gh)
		goto write_error;

	pkt = malloc(MAX_PKT + SRTP_MAX_TRAILER_LEN);
	if (!pkt) {
		fprintf(stderr, TAG ": out of memory\n");
		goto out;
	}
	for (;;) {
		uint8_t rh[16];
		size_t n = fread(rh, 1, sizeof rh, in);
		if (n == 0)
			break;
		if (n != sizeof rh) {
			fprintf(stderr, TAG ": %s: truncated record header\n", in_path);
			goto out;
		}
		uint32_t incl = rd32(rh + 8, swap), orig = rd32(rh + 12, swap);
		if (incl > MAX_PKT) {
			fprintf(stderr, TAG ": %s: record of %u bytes is too large\n", in_path, incl);
			goto out;
		}
		if (fread(pkt, 1, incl, in) != incl) {
			fprintf(stderr, TAG ": %s: truncated packet\n", in_path);
			goto out;
		}
		int added = incl == orig ? protect(srtp, linktype, pkt, incl) : 0;
		if (added < 0)
			goto out;
		if (added > 0)
			encrypted++;
		else
			copied++;
		wr32(rh + 8, incl + (uint32_t)added, swap);
		wr32(rh + 12, orig + (uint32_t)added, swap);
		if (fwrite(rh, 1, sizeof rh, out) != sizeof rh ||
		    fwrite(pkt, 1, incl + (uint32_t)added, out) != incl + (uint32_t)added)
			goto write_error;
	}
	if (fclose(out) != 0) {
		out = NULL;
		goto write_error;
	}
	out = NULL;
	printf("%lu packets encrypted, %lu copied\n", encrypted, copied);
	rc = 0;
	goto out;

write_error:
	fprintf(stderr, TAG ": %s: %s\n", out_path, strerror(errno));
out:
	free(pkt);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (srtp)
		srtp_dealloc(srtp);
	srtp_shutdown();
	return rc;
}
