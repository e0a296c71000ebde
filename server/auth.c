/* MP authentication by TLS client certificate (its SHA-256 fingerprint, from
 * a certificate the TLS layer verified against client_ca) or by bearer API
 * key: the header is parsed strictly (one spelling of a key, up to the
 * scheme's case), the key bounded, hashed with SHA-256 and looked up by
 * hash; the store compares the hash in constant time. Keys are never logged;
 * the MP's name is. A malformed header is unauthenticated (401), like an
 * unknown key: a client learns nothing more from one than from the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "b64url.h"
#include "http.h"
#include "log.h"
#include "mps.h"
#include "slots.h"

void
auth_hash_key(const char *key, size_t len, uint8_t hash[32])
{
    SHA256((const uint8_t *)key, len, hash);
}

void
auth_new_key(char key[64], uint8_t hash[32])
{
    uint8_t raw[32];

    RAND_bytes(raw, sizeof(raw));
    memcpy(key, AUTH_KEY_PREFIX, sizeof(AUTH_KEY_PREFIX) - 1);
    b64url_encode_buf(raw, sizeof(raw), key + sizeof(AUTH_KEY_PREFIX) - 1,
                      64 - (sizeof(AUTH_KEY_PREFIX) - 1));
    OPENSSL_cleanse(raw, sizeof(raw));
    auth_hash_key(key, strlen(key), hash);
}

void
auth_challenge(struct http_req *req)
{
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"sitetoken\"");
}

/* RFC 7235 token68 characters, the "=" padding aside. */
static int
auth_token68_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int
auth_bearer_parse(const char *h, const char **key, size_t *len, const char **why)
{
    size_t n = 0, pad = 0;

    if (h == NULL) {
        *why = "an MP API key is required";
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0')) {
        *why = "Authorization must be Bearer";
        return -1;
    }
    h += 6;
    if (*h != ' ' || h[1] == ' ' || h[1] == '\0') {
        *why = "Authorization must be \"Bearer\", one space and the key";
        return -1;
    }
    h++;
    while (auth_token68_char((unsigned char)h[n]))
        n++;
    while (h[n + pad] == '=')
        pad++;
    if (n == 0 || h[n + pad] != '\0' || n + pad > AUTH_KEY_MAX) {
        *why = "the MP API key is not valid";
        return -1;
    }
    *key = h;
    *len = n + pad;
    return 0;
}

enum errcode
auth_mp_check(const char *h, const char *cert_sha256, struct store *st, struct auth_mp *mp,
              const char **why)
{
    const char *errstr = NULL, *key = NULL;
    struct store_mp row;
    uint8_t hash[32];
    size_t len = 0;
    int rc;

    if (cert_sha256 != NULL && cert_sha256[0] != '\0') {
        rc = store_mp_find_by_cert(st, cert_sha256, &row, &errstr);
        if (rc == -1) {
            *why = errstr;
            return ERRCODE_UNAVAILABLE;
        }
        if (rc == 0) {
            snprintf(mp->id, sizeof(mp->id), "%s", row.id);
            snprintf(mp->name, sizeof(mp->name), "%s", row.name);
            snprintf(mp->identity, sizeof(mp->identity), "cert:%.64s", cert_sha256);
            return ERRCODE_OK;
        }
        if (h == NULL) {
            *why = "the client certificate is not registered to an MP";
            return ERRCODE_UNAUTHENTICATED;
        }
    }
    if (auth_bearer_parse(h, &key, &len, why) == -1)
        return ERRCODE_UNAUTHENTICATED;
    *why = "the MP API key is not valid";
    auth_hash_key(key, len, hash);
    rc = store_mp_find_by_key_hash(st, hash, &row, &errstr);
    if (rc == -1) {
        *why = errstr;
        return ERRCODE_UNAVAILABLE;
    }
    if (rc == 1)
        return ERRCODE_UNAUTHENTICATED;
    snprintf(mp->id, sizeof(mp->id), "%s", row.id);
    snprintf(mp->name, sizeof(mp->name), "%s", row.name);
    snprintf(mp->identity, sizeof(mp->identity), "mp:%.36s", row.id);
    return ERRCODE_OK;
}

int
auth_mp_presented(struct http_req *req)
{
    const char *authz = http_header(req, "Authorization"), *key = NULL, *bad = NULL;
    size_t keylen = 0;

    if (authz == NULL && req->cert_sha256[0] == '\0')
        bad = "an MP API key is required";
    else if (authz != NULL && strlen(authz) >= AUTH_KEY_MAX + 16)
        bad = "the MP API key is not valid";
    else if (authz != NULL && req->cert_sha256[0] == '\0')
        auth_bearer_parse(authz, &key, &keylen, &bad); /* sets bad only when malformed */
    if (bad == NULL)
        return 0;
    auth_challenge(req);
    http_reply_problem(req, ERRCODE_UNAUTHENTICATED, "%s", bad);
    return -1;
}

/* A direct-mapped table (slots.c); its mutex also guards the generation,
 * bumped by every committed MP change. */
struct authcache_entry {
    uint8_t hash[32];
    struct auth_mp mp;
    uint64_t gen;
    int used;
};

struct authcache {
    struct slots slots;
    uint64_t gen; /* guarded by slots.mu */
};

struct authcache *
authcache_new(size_t slots)
{
    struct authcache *c = calloc(1, sizeof(*c));

    if (c == NULL || slots_init(&c->slots, slots, sizeof(struct authcache_entry)) == -1) {
        free(c);
        return NULL;
    }
    c->gen = 1; /* an all-zero entry is never current */
    return c;
}

void
authcache_free(struct authcache *c)
{
    if (c == NULL)
        return;
    slots_clear(&c->slots, NULL);
    free(c);
}

void
auth_mp_changed(struct authcache *c)
{
    if (c == NULL)
        return;
    slots_lock(&c->slots);
    c->gen++;
    slots_unlock(&c->slots);
}

void
authcache_stats(struct authcache *c, uint64_t *hits, uint64_t *misses)
{
    slots_stats(&c->slots, hits, misses);
}

enum errcode
auth_mp_check_cached(struct authcache *c, const char *h, const char *cert_sha256, struct store *st,
                     struct auth_mp *mp, const char **why)
{
    const char *key = NULL;
    struct authcache_entry *e;
    uint8_t hash[32];
    uint64_t gen;
    size_t len = 0;
    enum errcode code;
    int found = 0;

    if (c == NULL || (cert_sha256 != NULL && cert_sha256[0] != '\0'))
        return auth_mp_check(h, cert_sha256, st, mp, why);
    if (auth_bearer_parse(h, &key, &len, why) == -1)
        return ERRCODE_UNAUTHENTICATED;
    auth_hash_key(key, len, hash);
    e = slots_entry(&c->slots, hash);
    slots_lock(&c->slots);
    gen = c->gen; /* what a store read from now on may be cached under */
    if (e->used && e->gen == gen && CRYPTO_memcmp(e->hash, hash, 32) == 0) {
        *mp = e->mp;
        found = 1;
    }
    slots_count(&c->slots, found);
    slots_unlock(&c->slots);
    if (found) {
        OPENSSL_cleanse(hash, sizeof(hash));
        return ERRCODE_OK;
    }
    code = auth_mp_check(h, NULL, st, mp, why);
    if (code == ERRCODE_OK) {
        slots_lock(&c->slots);
        if (c->gen == gen) { /* no change committed since the read began */
            memcpy(e->hash, hash, 32);
            e->mp = *mp;
            e->gen = gen;
            e->used = 1;
        }
        slots_unlock(&c->slots);
    }
    OPENSSL_cleanse(hash, sizeof(hash));
    return code;
}
