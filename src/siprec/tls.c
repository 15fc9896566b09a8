/* tls.c - SIP over TLS (RFC 3261 26.2) for the recording server: the
 * server's SSL_CTX and nonblocking OpenSSL I/O on a connection.  srs.c
 * drives the states (handshake, open) from its epoll loop; here each call
 * maps OpenSSL's result to "bytes", "want read/write", "closed", "error".
 * Writing to a peer that has gone raises SIGPIPE through SSL_write: the
 * program ignores SIGPIPE (cli/run.c does). */
#include "siprec/srs_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define TAG "srs"

/* OpenSSL's first queued error as text ("" when none); clears the queue. */
static void ssl_reason(char *out, size_t cap)
{
	unsigned long e = ERR_get_error();
	out[0] = '\0';
	if (e)
		ERR_error_string_n(e, out, cap);
	ERR_clear_error();
}

/* A readable file, or why not. */
static int check_file(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ES_EIO;
	}
	fclose(f);
	return 0;
}

int srs_tls_ctx_new(const struct srs_config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
	char why[256];
	int rc = ES_EINVAL;
	*out = NULL;
	if (!cfg->tls_cert || !cfg->tls_cert[0] || !cfg->tls_key || !cfg->tls_key[0]) {
		snprintf(err, errlen, "a TLS listener needs %s", !cfg->tls_cert || !cfg->tls_cert[0]
			 ? (!cfg->tls_key || !cfg->tls_key[0] ? "a certificate and a key (tls_cert, "
				"tls_key)" : "a certificate (tls_cert)")
			 : "a private key (tls_key)");
		return ES_EINVAL;
	}
	if ((rc = check_file("TLS certificate", cfg->tls_cert, err, errlen)) ||
	    (rc = check_file("TLS key", cfg->tls_key, err, errlen)) ||
	    (cfg->tls_ca && cfg->tls_ca[0] &&
	     (rc = check_file("TLS CA file", cfg->tls_ca, err, errlen))))
		return rc;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create a context");
		return ES_ENOMEM;
	}
	rc = ES_EINVAL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION);
	/* SSL_write may write part of a buffer, and is retried from the
	 * pending-output buffer, which moves as it is consumed */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	static const unsigned char sid[] = "earshot-srs";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS certificate %s: not a PEM certificate (%s)", cfg->tls_cert,
			 why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS key %s: not a PEM private key, or it does not match the "
			 "certificate %s (%s)", cfg->tls_key, cfg->tls_cert, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "TLS key %s does not match the certificate %s", cfg->tls_key,
			 cfg->tls_cert);
		goto fail;
	}
	if (cfg->tls_ca && cfg->tls_ca[0]) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca);
		if (!names || SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			ssl_reason(why, sizeof(why));
			snprintf(err, errlen, "TLS CA file %s: no PEM certificate in it (%s)",
				 cfg->tls_ca, why);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names); /* taken over */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

void srs_tls_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

int srs_tls_conn_new(SSL_CTX *ctx, struct srs_conn *c)
{
	ERR_clear_error();
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
		return ES_ENOMEM;
	}
	SSL_set_accept_state(c->ssl);
	return 0;
}

/* r: what an SSL_* call returned (<= 0) */
static int map_error(struct srs_conn *c, int r, const char *op)
{
	int e = SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ: return SRS_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE: return SRS_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return SRS_TLS_CLOSED;
	default: break;
	}
	char why[256], a[ES_ADDR_STRLEN];
	int sys = errno;
	ssl_reason(why, sizeof(why));
	es_addr_fmt(&c->peer, true, a, sizeof(a));
	if (e == SSL_ERROR_SYSCALL && !why[0])
		snprintf(why, sizeof(why), "%s", sys ? strerror(sys) : "connection closed");
	if (c->tls == SRS_TLS_HANDSHAKE) {
		long v = SSL_get_verify_result(c->ssl);
		ES_LOG_WARNING(TAG, "TLS handshake with %s failed: %s%s%s", a, why,
			       v != X509_V_OK ? "; client certificate: " : "",
			       v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
	} else {
		ES_LOG_DBG(TAG, "TLS %s with %s: %s", op, a, why);
	}
	return e == SSL_ERROR_SYSCALL && c->tls == SRS_TLS_OPEN ? SRS_TLS_CLOSED : SRS_TLS_ERROR;
}

int srs_tls_handshake(struct srs_conn *c)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(c->ssl);
	return r == 1 ? 1 : map_error(c, r, "handshake");
}

int srs_tls_read(struct srs_conn *c, void *p, size_t len)
{
	ERR_clear_error();
	errno = 0;
	size_t n = 0;
	int r = SSL_read_ex(c->ssl, p, len, &n);
	return r == 1 ? (int)n : map_error(c, r, "read");
}

int srs_tls_write(struct srs_conn *c, const void *p, size_t len)
{
	ERR_clear_error();
	errno = 0;
	size_t n = 0;
	int r = SSL_write_ex(c->ssl, p, ES_MIN(len, (size_t)1 << 20), &n);
	return r == 1 ? (int)n : map_error(c, r, "write");
}

void srs_tls_conn_free(struct srs_conn *c)
{
	if (!c->ssl)
		return;
	if (c->tls == SRS_TLS_OPEN) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* close_notify, nonblocking: no wait for the peer's */
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
}
