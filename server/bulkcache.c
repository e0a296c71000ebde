/* The verified-bulk-token cache (see bulkcache.h): a direct-mapped table of
 * SHA-256 -> (id, nbf, exp) under one mutex, held only to copy an entry. A
 * collision evicts; a miss costs one signature check. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bulkcache.h"

struct bulkcache_entry {
    uint8_t hash[32];
    char id[37];
    int64_t nbf, exp;
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

enum errcode
bulkcache_verify(struct bulkcache *c, const char *token, const struct jwks *keys,
                 const struct jwt_expect *want, char id[37], uint8_t hash[32], const char **errstr)
{
    struct bulkcache_entry hit;
    struct jwt_claims claims;
    size_t len = strlen(token), slot;
    enum errcode code;
    int found = 0;

    SHA256((const uint8_t *)token, len, hash);
    memcpy(&slot, hash, sizeof(slot));
    slot %= c->n;
    pthread_mutex_lock(&c->mu);
    if (c->e[slot].used && memcmp(c->e[slot].hash, hash, 32) == 0) {
        hit = c->e[slot];
        found = 1;
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    if (found) {
        memcpy(id, hit.id, 37);
        if (want->now >= hit.exp + want->skew) {
            *errstr = "expired";
            return ERRCODE_TOKEN_EXPIRED;
        }
        if (hit.nbf > want->now + want->skew) {
            *errstr = "not yet valid";
            return ERRCODE_TOKEN_NOT_YET_VALID;
        }
        return ERRCODE_OK;
    }
    memset(&claims, 0, sizeof(claims));
    code = jwt_verify(token, len, keys, want, &claims, errstr);
    if ((code == ERRCODE_TOKEN_EXPIRED || code == ERRCODE_TOKEN_NOT_YET_VALID) &&
        claims.jti != NULL)
        snprintf(id, 37, "%s", claims.jti); /* genuine, out of its window */
    if (code == ERRCODE_OK) {
        snprintf(id, 37, "%s", claims.jti);
        pthread_mutex_lock(&c->mu);
        memcpy(c->e[slot].hash, hash, 32);
        memcpy(c->e[slot].id, id, 37);
        c->e[slot].nbf = claims.nbf;
        c->e[slot].exp = claims.exp;
        c->e[slot].used = 1;
        pthread_mutex_unlock(&c->mu);
    }
    jwt_claims_clear(&claims);
    return code;
}

void
bulkcache_stats(struct bulkcache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
