/* What gateways fetch without a credential. The JWKS document is built once
 * per key change by the signer; here it is only served, with its ETag, a
 * max-age shorter than the prepublish window, and 304 for a current copy.
 * The metadata document (GET /.well-known/sitetoken) names the issuer, the
 * gateway audience, the absolute URIs of the public routes and the
 * algorithms; its origin is site.public_url when configured, else the
 * listener's scheme and the request's Host. Each origin's document is built
 * once and kept, and only the main loop touches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>

#include "config.h"
#include "http.h"
#include "ids.h"
#include "publish.h"
#include "signer.h"
#include "sitetokend.h"

#define PUBLISH_ORIGINS 8      /* documents kept, one per origin */
#define PUBLISH_ORIGIN_MAX 300 /* "https://" + a 255-byte host[:port] */
#define PUBLISH_MAX_AGE_S 3600

struct publish_doc {
    char origin[PUBLISH_ORIGIN_MAX + 1]; /* "" = unused slot */
    char etag[40];                       /* "\"<32 hex>\"" */
    char *text;
};

struct publish {
    struct publish_doc docs[PUBLISH_ORIGINS];
    int next; /* the slot replaced next */
};

void
publish_keys(struct http_req *req)
{
    struct signer_keys *k = signer_keys_get(req->env->signer);
    struct evbuffer *buf;
    char cc[64];

    if (k == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "no keys yet");
        return;
    }
    snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)k->max_age_s);
    http_add_header(req, "Cache-Control", cc);
    if (http_reply_not_modified(req, k->etag)) {
        signer_keys_put(k);
        return;
    }
    http_add_header(req, "ETag", k->etag);
    if ((buf = evbuffer_new()) == NULL) {
        signer_keys_put(k);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    evbuffer_add(buf, k->doc, k->doclen);
    signer_keys_put(k);
    http_reply_buffer(req, 200, "application/json", buf);
    evbuffer_free(buf);
}

void
publish_free(struct publish *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < PUBLISH_ORIGINS; i++)
        free(p->docs[i].text);
    free(p);
}

/* A Host header we are willing to echo into a URI: 1..255 bytes of
 * letters, digits, '.', '-', ':' and the brackets of an IPv6 literal. */
static int
publish_host_ok(const char *host)
{
    size_t len;

    if (host == NULL || (len = strlen(host)) == 0 || len > 255)
        return 0;
    return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
           len;
}

/* The metadata for origin, as compact JSON (malloc'd), NULL when out of memory. */
static char *
publish_metadata_text(const struct config *cfg, const char *origin)
{
    char jwks[PUBLISH_ORIGIN_MAX + 32], rev[PUBLISH_ORIGIN_MAX + 32], ev[PUBLISH_ORIGIN_MAX + 32];
    json_t *doc;
    char *text;

    snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json", origin);
    snprintf(rev, sizeof(rev), "%s/v1/revocations", origin);
    snprintf(ev, sizeof(ev), "%s/v1/events", origin);
    /* Our tokens are signed with one of three algorithms (the key says which);
     * device proofs may also name Ed25519 by its RFC 9864 name. */
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[sss], s:[ssss], s:I}", "issuer", cfg->issuer,
                    "gateway_audience", cfg->audience, "jwks_uri", jwks, "revocations_uri", rev,
                    "events_uri", ev, "algorithms_supported", "EdDSA", "ES256", "RS256",
                    "dpop_signing_alg_values_supported", "EdDSA", "Ed25519", "ES256", "RS256",
                    "feed_max_age", (json_int_t)(cfg->feed_max_age_ms / 1000));
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    return text;
}

/* The kept document for origin, built now if it is new. NULL when out of memory. */
static const struct publish_doc *
publish_doc_for(struct sitetokend *env, const char *origin)
{
    struct publish *p = env->publish;
    struct publish_doc *d;
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[2 * 16 + 1];
    char *text;

    if (p == NULL && (p = env->publish = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    for (int i = 0; i < PUBLISH_ORIGINS; i++)
        if (p->docs[i].text != NULL && strcmp(p->docs[i].origin, origin) == 0)
            return &p->docs[i];
    if ((text = publish_metadata_text(env->cfg, origin)) == NULL)
        return NULL;
    d = &p->docs[p->next];
    p->next = (p->next + 1) % PUBLISH_ORIGINS;
    free(d->text);
    d->text = text;
    snprintf(d->origin, sizeof(d->origin), "%s", origin);
    SHA256((const uint8_t *)text, strlen(text), md);
    ids_hex(md, 16, hex);
    snprintf(d->etag, sizeof(d->etag), "\"%s\"", hex);
    return d;
}

void
publish_metadata(struct http_req *req)
{
    const struct config *cfg = req->env->cfg;
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
    const char *host = http_header(req, "Host");
    const struct publish_doc *d;
    char origin[PUBLISH_ORIGIN_MAX + 1], cc[64];
    struct evbuffer *buf;

    if (cfg->public_url != NULL) {
        snprintf(origin, sizeof(origin), "%s", cfg->public_url);
    } else {
        if (!publish_host_ok(host)) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                               "a Host header naming this authority is required");
            return;
        }
        snprintf(origin, sizeof(origin), "%s://%s",
                 bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL ? "https" : "http", host);
        http_add_header(req, "Vary", "Host");
    }
    if ((d = publish_doc_for(req->env, origin)) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    snprintf(cc, sizeof(cc), "public, max-age=%d", PUBLISH_MAX_AGE_S);
    http_add_header(req, "Cache-Control", cc);
    if (http_reply_not_modified(req, d->etag))
        return;
    http_add_header(req, "ETag", d->etag);
    if ((buf = evbuffer_new()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    evbuffer_add(buf, d->text, strlen(d->text));
    http_reply_buffer(req, 200, "application/json", buf);
    evbuffer_free(buf);
}
