/* The verified-token cache (see bulkcache.h): a direct-mapped table
 * (slots.c) of SHA-256 -> the token's claims, its mutex held only to copy an
 * entry. A collision evicts; a miss costs one signature check. The issuer
 * and audiences a token was checked against are the process's (config), so
 * an entry records only the kind it was verified as. A labelled token's
 * labels are kept beside its entry as their canonical text, allocated to
 * its length (at most LABELS_TEXT_MAX): most tokens have none, and a table
 * of 16,384 entries each with room for the longest would be ~34 MB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bulkcache.h"
#include "labels.h"
#include "slots.h"

struct bulkcache_entry {
    uint8_t hash[32];
    struct bulkcache_claims t;
    char *labels; /* canonical labels text (ours, freed on eviction), NULL for none */
    int used;
};

struct bulkcache {
    struct slots slots; /* of struct bulkcache_entry */
};

struct bulkcache *
bulkcache_new(size_t slots)
{
    struct bulkcache *c = calloc(1, sizeof(*c));

    if (c == NULL || slots_init(&c->slots, slots, sizeof(struct bulkcache_entry)) == -1) {
        free(c);
        return NULL;
    }
    return c;
}

static void
bulkcache_drop(void *entry)
{
    free(((struct bulkcache_entry *)entry)->labels);
}

void
bulkcache_free(struct bulkcache *c)
{
    if (c == NULL)
        return;
    slots_clear(&c->slots, bulkcache_drop);
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

/* 0 when every claim fit; labels (LABELS_TEXT_MAX bytes) gets the labels
 * claim's canonical text ("" for none). */
static int
bulkcache_from_claims(struct bulkcache_claims *t, char *labels, const struct jwt_claims *c)
{
    const json_t *l = c->claims != NULL ? json_object_get(c->claims, "labels") : NULL;
    char why[160];
    int cut = 0;

    memset(t, 0, sizeof(*t));
    labels[0] = '\0';
    if (l != NULL && labels_check(l, why, sizeof(why)) == 0) {
        t->has_labels = 1;
        labels_canon(l, labels);
    } else if (l != NULL) {
        t->has_labels = -1; /* not labels: no canonical text to keep */
        cut = 1;
    }
    t->iat = c->iat;
    t->nbf = c->nbf;
    t->exp = c->exp;
    t->gen = c->gen;
    t->kind = c->kind;
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

/* Cache first, then jwt_verify. out (and labels, LABELS_TEXT_MAX bytes or
 * NULL) keep the claims of a genuine token refused for its window too, for
 * the caller's ids. */
static enum errcode
bulkcache_lookup(struct bulkcache *c, const char *token, const struct jwks *keys,
                 const struct jwt_expect *want, uint8_t hash[32], struct bulkcache_claims *out,
                 char *labels, int *genuine, const char **errstr)
{
    struct jwt_claims claims;
    struct bulkcache_entry *e;
    char own[LABELS_TEXT_MAX], *text = labels != NULL ? labels : own, *copy = NULL, *old;
    size_t len = strlen(token);
    enum errcode code;
    int found = 0;

    *genuine = 0;
    SHA256((const uint8_t *)token, len, hash);
    e = slots_entry(&c->slots, hash);
    slots_lock(&c->slots);
    if (e->used && e->t.kind == want->kind && memcmp(e->hash, hash, 32) == 0) {
        *out = e->t;
        if (labels != NULL)
            snprintf(labels, LABELS_TEXT_MAX, "%s", e->labels != NULL ? e->labels : "");
        found = 1;
    }
    slots_count(&c->slots, found);
    slots_unlock(&c->slots);
    if (found) {
        *genuine = 1;
        return bulkcache_recheck(out, keys, want, errstr);
    }
    memset(&claims, 0, sizeof(claims));
    code = jwt_verify(token, len, keys, want, &claims, errstr);
    if (code == ERRCODE_OK || code == ERRCODE_TOKEN_EXPIRED ||
        code == ERRCODE_TOKEN_NOT_YET_VALID) {
        /* genuine (the signature verified); only a fitting one is kept */
        int fits = bulkcache_from_claims(out, text, &claims) == 0;

        *genuine = claims.jti != NULL;
        if (code == ERRCODE_OK && fits && (text[0] == '\0' || (copy = strdup(text)) != NULL)) {
            slots_lock(&c->slots);
            old = e->labels;
            memcpy(e->hash, hash, 32);
            e->t = *out;
            e->labels = copy;
            e->used = 1;
            slots_unlock(&c->slots);
            free(old); /* the evicted entry's, outside the lock */
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

    code = bulkcache_lookup(c, token, keys, want, hash, &t, NULL, &genuine, errstr);
    if (genuine && (code == ERRCODE_OK || code == ERRCODE_TOKEN_EXPIRED ||
                    code == ERRCODE_TOKEN_NOT_YET_VALID))
        snprintf(id, 37, "%.36s", t.jti); /* out of its window: for the audit trail */
    return code;
}

enum errcode
bulkcache_verify_claims(struct bulkcache *c, const char *token, const struct jwks *keys,
                        const struct jwt_expect *want, struct bulkcache_claims *out, char *labels,
                        const char **errstr)
{
    uint8_t hash[32];
    int genuine = 0;

    return bulkcache_lookup(c, token, keys, want, hash, out, labels, &genuine, errstr);
}

void
bulkcache_stats(struct bulkcache *c, uint64_t *hits, uint64_t *misses)
{
    slots_stats(&c->slots, hits, misses);
}
