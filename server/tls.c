/* TLS listeners: builds OpenSSL server contexts (TLS 1.2 and 1.3 only, no
 * renegotiation, client certificates verified against client_ca when it is
 * set) and the bufferevents evhttp runs connections on. A reload builds a new
 * context and swaps it in; SSL objects hold a reference to the context they
 * were made from, so open connections are not affected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

struct tls {
    char *certificate, *key, *client_ca; /* owned copies of the paths */
    SSL_CTX *ctx;                        /* current; each SSL holds its own reference */
};

static char tls_err[512];

static const char *
tls_error(const char *what, const char *path)
{
    char ossl[256] = "";
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, ossl, sizeof(ossl));
    ERR_clear_error();
    snprintf(tls_err, sizeof(tls_err), "tls %s %.200s: %s", what, path, ossl[0] ? ossl : "failed");
    return tls_err;
}

static SSL_CTX *
tls_ctx_build(const struct tls *t, const char **errstr)
{
    static const unsigned char sid[] = "sitetoken";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    STACK_OF(X509_NAME) * names;

    if (ctx == NULL) {
        *errstr = tls_error("context", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->certificate) != 1) {
        *errstr = tls_error("certificate", t->certificate);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        *errstr = tls_error("key", t->key);
        goto fail;
    }
    if (t->client_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1 ||
            (names = SSL_load_client_CA_file(t->client_ca)) == NULL) {
            *errstr = tls_error("client_ca", t->client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        /* Requested, and verified when presented; an MP may still use its
         * API key, and gateways present none. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls *
tls_new(const char *certificate, const char *key, const char *client_ca, const char **errstr)
{
    struct tls *t = calloc(1, sizeof(*t));

    if (t == NULL || (t->certificate = strdup(certificate)) == NULL ||
        (t->key = strdup(key)) == NULL ||
        (client_ca != NULL && (t->client_ca = strdup(client_ca)) == NULL)) {
        *errstr = "out of memory";
        tls_free(t);
        return NULL;
    }
    if ((t->ctx = tls_ctx_build(t, errstr)) == NULL) {
        tls_free(t);
        return NULL;
    }
    return t;
}

int
tls_reload(struct tls *t, const char **errstr)
{
    SSL_CTX *ctx = tls_ctx_build(t, errstr);

    if (ctx == NULL)
        return -1;
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

void
tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->certificate);
    free(t->key);
    free(t->client_ca);
    free(t);
}

struct bufferevent *
tls_bufferevent_new(struct tls *t, struct event_base *base)
{
    SSL *ssl = SSL_new(t->ctx);
    struct bufferevent *bev;

    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* A clean close is not an error worth a log line per client. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void
tls_hex(const unsigned char *md, unsigned int n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
tls_x509_fingerprint(X509 *x, char out[TLS_FINGERPRINT_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != TLS_FINGERPRINT_LEN / 2)
        return -1;
    tls_hex(md, n, out);
    return 0;
}

int
tls_peer_fingerprint(struct bufferevent *bev, char out[TLS_FINGERPRINT_LEN + 1])
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *x;

    out[0] = '\0';
    if (ssl == NULL || (x = SSL_get0_peer_certificate(ssl)) == NULL)
        return 0;
    if (SSL_get_verify_result(ssl) != X509_V_OK || tls_x509_fingerprint(x, out) == -1) {
        out[0] = '\0';
        return 0;
    }
    return 1;
}

int
tls_pem_fingerprint(const char *pem, size_t len, char out[TLS_FINGERPRINT_LEN + 1],
                    const char **errstr)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int rc = -1;

    *errstr = "certificate: not a PEM certificate";
    if (x != NULL && tls_x509_fingerprint(x, out) == 0)
        rc = 0;
    ERR_clear_error();
    X509_free(x);
    BIO_free(bio);
    return rc;
}
