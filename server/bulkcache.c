/* The verified-token cache (see bulkcache.h): a direct-mapped table of
 * SHA-256 -> the token's claims under one mutex, held only to copy an entry.
 * A collision evicts; a miss costs one signature check. The issuer and
 * audiences a token was checked against are the process's (config), so an
 * entry records only the kind it was verified as. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bulkcache.h"

struct bulkcache_entry {
    uint8_t hash[32];
    struct bulkcache_claims t;
    int used;
};

struct bulkcache {
    pthread_mutex_t mu;
    size_t n;
    struct bulkcache_entry *e; /* guarded by mu */
    uint64_t hits, misses;     /* guarded by mu */
};

struct bulkcache *
bulkcache_new(size_t slots)
{
    struct bulkcache *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->e = calloc(slots ? slots : 1, sizeof(*c->e))) == NULL) {
        free(c);
        return NULL;
    }
    c->n = slots ? slots : 1;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void
bulkcache_free(struct bulkcache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->e);
    free(c);
}

/* Copies s into dst of size n, cut to fit; 1 when it was cut (such a token
 * is never cached). */
static int
bulkcache_copy(char *dst, size_t n, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0, cut = len >= n;

    if (cut)
        len = n - 1;
    memcpy(dst, s != NULL ? s : "", len);
    dst[len] = '\0';
    return (int)cut;
}

/* 0 when every claim fit. */
static int
bulkcache_from_claims(struct bulkcache_claims *t, const struct jwt_claims *c)
{
    int cut = 0;

    memset(t, 0, sizeof(*t));
    t->iat = c->iat;
    t->nbf = c->nbf;
    t->exp = c->exp;
    t->gen = c->gen;
    t->kind = c->kind;
    t->has_labels = c->claims != NULL && json_object_get(c->claims, "labels") != NULL;
    cut |= bulkcache_copy(t->jti, sizeof(t->jti), c->jti);
    cut |= bulkcache_copy(t->sub, sizeof(t->sub), c->sub);
    cut |= bulkcache_copy(t->jkt, sizeof(t->jkt), c->jkt);
    cut |= bulkcache_copy(t->reg, sizeof(t->reg), c->reg);
    cut |= bulkcache_copy(t->bulk, sizeof(t->bulk), c->bulk);
    cut |= bulkcache_copy(t->kid, sizeof(t->kid), c->kid);
    return cut ? -1 : 0;
}

/* What jwt_verify checks after the signature and that can change with time
 * or with the key set: the kid still in it, the window (same order, same
 * clamps, same answers). */
static enum errcode
bulkcache_recheck(const struct bulkcache_claims *t, const struct jwks *keys,
                  const struct jwt_expect *want, const char **errstr)
{
    int64_t now = jwt_clamp_time(want->now), skew = jwt_clamp_skew(want->skew);

    if (jwks_find(keys, t->kid, NULL) == NULL) {
        *errstr = "unknown kid";
        return ERRCODE_UNKNOWN_KEY;
    }
    if (now >= t->exp + skew) {
        *errstr = "token expired";
        return ERRCODE_TOKEN_EXPIRED;
    }
    if (t->nbf > now + skew || t->iat > now + skew) {
        *errstr = "token not yet valid";
        return ERRCODE_TOKEN_NOT_YET_VALID;
    }
    return ERRCODE_OK;
}

/* Cache first, then jwt_verify. *claims_out (NULL when not wanted) keeps the
 * claims of a genuine token refused for its window, for the caller's ids. */
static enum errcode
bulkcache_lookup(struct bulkcache *c, const char *token, const struct jwks *keys,
                 const struct jwt_expect *want, uint8_t hash[32], struct bulkcache_claims *out,
                 int *genuine, const char **errstr)
{
    struct jwt_claims claims;
    size_t len = strlen(token), slot;
    enum errcode code;
    int found = 0;

    *genuine = 0;
    SHA256((const uint8_t *)token, len, hash);
    memcpy(&slot, hash, sizeof(slot));
    slot %= c->n;
    pthread_mutex_lock(&c->mu);
    if (c->e[slot].used && c->e[slot].t.kind == want->kind &&
        memcmp(c->e[slot].hash, hash, 32) == 0) {
        *out = c->e[slot].t;
        found = 1;
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    if (found) {
        *genuine = 1;
        return bulkcache_recheck(out, keys, want, errstr);
    }
    memset(&claims, 0, sizeof(claims));
    code = jwt_verify(token, len, keys, want, &claims, errstr);
    if (code == ERRCODE_OK || code == ERRCODE_TOKEN_EXPIRED ||
        code == ERRCODE_TOKEN_NOT_YET_VALID) {
        /* genuine (the signature verified); only a fitting one is kept */
        int fits = bulkcache_from_claims(out, &claims) == 0;

        *genuine = claims.jti != NULL;
        if (code == ERRCODE_OK && fits) {
            pthread_mutex_lock(&c->mu);
            memcpy(c->e[slot].hash, hash, 32);
            c->e[slot].t = *out;
            c->e[slot].used = 1;
            pthread_mutex_unlock(&c->mu);
        }
    }
    jwt_claims_clear(&claims);
    return code;
}

enum errcode
bulkcache_verify(struct bulkcache *c, const char *token, const struct jwks *keys,
                 const struct jwt_expect *want, char id[37], uint8_t hash[32], const char **errstr)
{
    struct bulkcache_claims t;
    enum errcode code;
    int genuine = 0;

    code = bulkcache_lookup(c, token, keys, want, hash, &t, &genuine, errstr);
    if (genuine && (code == ERRCODE_OK || code == ERRCODE_TOKEN_EXPIRED ||
                    code == ERRCODE_TOKEN_NOT_YET_VALID))
        snprintf(id, 37, "%.36s", t.jti); /* out of its window: for the audit trail */
    return code;
}

enum errcode
bulkcache_verify_claims(struct bulkcache *c, const char *token, const struct jwks *keys,
                        const struct jwt_expect *want, struct bulkcache_claims *out,
                        const char **errstr)
{
    uint8_t hash[32];
    int genuine = 0;

    return bulkcache_lookup(c, token, keys, want, hash, out, &genuine, errstr);
}

void
bulkcache_stats(struct bulkcache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
