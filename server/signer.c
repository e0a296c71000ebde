/* The signer (see signer.h). Private keys are generated here, sealed with
 * AES-256-GCM (additional data: the kid) before they reach the store, and
 * unsealed only into EVP_PKEYs held by this module. A mutex guards the key
 * table and the current snapshot; signing takes a reference to the active key
 * under it and signs outside it, so threads sign in parallel. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "etag.h"
#include "ids.h"
#include "jwk.h"
#include "jws.h"
#include "keys.h"
#include "signer.h"
#include "timefmt.h"

/* Keys published at once (DESIGN.md "Keys"; libsitetoken loads up to 64).
 * A rotation past it is refused; a store holding more (made by an older
 * version) still loads, so a restart always succeeds. */
#define SIGNER_MAX_PUBLISHED 32
/* A retired key stays at least this long: a token signed just before the
 * rotation took effect in memory may still be on its way to the store. */
#define SIGNER_RETIRE_GRACE_S 60

struct signer_key {
    char kid[65];
    enum jwk_alg alg;
    char status[8];
    int64_t created_at, activates_at, retired_at;
    int64_t tainted_at, revoked_at; /* 0 unless tainted, revoked */
    int64_t removable_at;           /* retired keys: when nothing it signed is valid any more */
    EVP_PKEY *priv;
};

struct signer_keys_ref {
    struct signer_keys pub;
    _Atomic int refs;
};

struct signer {
    uint8_t seal_key[SEAL_KEY_LEN];
    struct signer_policy policy;
    enum jwk_alg alg;
    pthread_mutex_t mu;
    /* Held across a whole reload (store read to install): reloads read in the
     * order they install, so the last one installed read the newest keys. */
    pthread_mutex_t reload_mu;
    struct signer_key *keys;      /* guarded by mu */
    size_t nkeys;                 /* guarded by mu */
    int active;                   /* index, -1 when none; guarded by mu */
    struct signer_keys_ref *snap; /* guarded by mu */
    uint64_t gen;                 /* reloads installed; guarded by mu */
};

struct signer *
signer_new(const uint8_t seal_key[SEAL_KEY_LEN], const struct signer_policy *p)
{
    struct signer *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    memcpy(s->seal_key, seal_key, SEAL_KEY_LEN);
    s->policy = *p;
    if (jwk_alg_from_name(p->algorithm, &s->alg) == -1)
        s->alg = JWK_ALG_EDDSA;
    s->active = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->reload_mu, NULL);
    return s;
}

static void
signer_clear_keys(struct signer *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        EVP_PKEY_free(s->keys[i].priv);
    free(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
    s->active = -1;
}

static void
signer_snap_unref(struct signer_keys_ref *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    jwks_free(r->pub.jwks);
    jwks_free(r->pub.revoked);
    free(r->pub.doc);
    free(r);
}

/* What is published for a key: tainted wins over its lifecycle status. */
static const char *
signer_published_status(const char *status, int64_t tainted_at)
{
    return tainted_at > 0 ? "tainted" : status;
}

void
signer_free(struct signer *s)
{
    if (s == NULL)
        return;
    signer_clear_keys(s);
    signer_snap_unref(s->snap);
    OPENSSL_cleanse(s->seal_key, sizeof(s->seal_key));
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->reload_mu);
    free(s);
}

/* Generates a key, seals it and inserts it with the given status. */
static enum errcode
signer_create_key(struct signer *s, struct store *st, const char *status, int64_t now,
                  int64_t activates_at, char *kid_out)
{
    struct store_key k;
    EVP_PKEY *key;
    const char *errstr = NULL;
    uint8_t *der = NULL;
    size_t derlen = 0;
    json_t *jwk = NULL;
    enum errcode rc = ERRCODE_UNAVAILABLE;

    memset(&k, 0, sizeof(k));
    if ((key = jwk_generate(s->alg, &errstr)) == NULL)
        return ERRCODE_UNAVAILABLE;
    if (jwk_thumbprint(key, k.kid) == -1 || jwk_private_to_der(key, &der, &derlen) == -1)
        goto done;
    if (seal_encrypt(s->seal_key, k.kid, der, derlen, &k.sealed, &k.sealed_len) == -1)
        goto done;
    if ((jwk = jwk_public_to_json(key, NULL)) == NULL ||
        (k.public_jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        goto done;
    snprintf(k.alg, sizeof(k.alg), "%s", jwk_alg_name(s->alg));
    snprintf(k.status, sizeof(k.status), "%s", status);
    k.created_at = now;
    k.activates_at = activates_at;
    if (store_key_insert(st, &k, &errstr) == -1)
        goto done;
    snprintf(kid_out, 65, "%s", k.kid);
    rc = ERRCODE_OK;
done:
    if (der != NULL)
        OPENSSL_clear_free(der, derlen);
    json_decref(jwk);
    free(k.public_jwk);
    free(k.sealed);
    EVP_PKEY_free(key);
    return rc;
}

static void
signer_note(char *changed, size_t len, const char *fmt, const char *kid)
{
    size_t used;

    if (changed == NULL || len == 0)
        return;
    used = strlen(changed);
    if (used + 2 < len)
        snprintf(changed + used, len - used, "%s%s:%s", used ? " " : "", fmt, kid);
}

/* When retired key k may leave: once everything the store says it signed
 * has expired (plus the clock skew a verifier allows), never before the
 * grace after its retirement, and at the latest when the longest token
 * lifetime has passed since then. */
static int
signer_removable_at(const struct signer *s, struct store *st, const struct store_key *k,
                    int64_t *at, const char **errstr)
{
    const struct signer_policy *p = &s->policy;
    int64_t until = 0, t;

    if (store_key_signed_until(st, k->kid, k->activates_at - SIGNER_RETIRE_GRACE_S,
                               k->retired_at + SIGNER_RETIRE_GRACE_S, &until, errstr) == -1)
        return -1;
    t = until > 0 ? until + p->skew_s : 0;
    if (t > k->retired_at + p->max_token_lifetime_s)
        t = k->retired_at + p->max_token_lifetime_s;
    if (t < k->retired_at + SIGNER_RETIRE_GRACE_S)
        t = k->retired_at + SIGNER_RETIRE_GRACE_S;
    *at = t;
    return 0;
}

static void signer_detail(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
signer_detail(char *detail, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (detail == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, len, fmt, ap);
    va_end(ap);
}

enum errcode
signer_lifecycle(struct signer *s, struct store *st, int64_t now, enum signer_mode mode,
                 char *changed, size_t changed_len, char *detail, size_t detail_len)
{
    struct store_key *keys = NULL;
    size_t n = 0, live = 0;
    const char *errstr = NULL;
    const struct signer_policy *p = &s->policy;
    struct store_key *active = NULL, *next = NULL;
    int64_t frees_at = 0;
    char kid[65], when[TIMEFMT_LEN + 1];
    enum errcode rc = ERRCODE_UNAVAILABLE;

    if (changed != NULL && changed_len > 0)
        changed[0] = '\0';
    signer_detail(detail, detail_len, "key lifecycle failed");
    if (store_keys_list(st, &keys, &n, &errstr) == -1)
        goto store_fail;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].status, "active") == 0)
            active = &keys[i];
        else if (strcmp(keys[i].status, "next") == 0)
            next = &keys[i];
    }
    /* Retired keys go as soon as nothing they signed is still valid. */
    live = n;
    for (size_t i = 0; i < n; i++) {
        int64_t at;

        if (strcmp(keys[i].status, "retired") != 0)
            continue;
        if (signer_removable_at(s, st, &keys[i], &at, &errstr) == -1)
            goto store_fail;
        if (at > now) {
            if (frees_at == 0 || at < frees_at)
                frees_at = at;
            continue;
        }
        if (store_key_delete(st, keys[i].kid, &errstr) == -1)
            goto store_fail;
        signer_note(changed, changed_len, "removed", keys[i].kid);
        live--;
    }
    if (active == NULL && next == NULL) {
        if (signer_create_key(s, st, "active", now, now, kid) != ERRCODE_OK)
            goto done;
        signer_note(changed, changed_len, "created-active", kid);
        rc = ERRCODE_OK;
        goto done;
    }
    /* A new key would pass the published cap: refuse an operator's rotation
     * (saying when a slot frees), let the timer wait for one. */
    if (next == NULL && live >= SIGNER_MAX_PUBLISHED) {
        if (mode == SIGNER_TICK) {
            rc = ERRCODE_OK;
            goto done;
        }
        timefmt_rfc3339(frees_at, when);
        signer_detail(detail, detail_len,
                      "%zu keys are published, the most allowed (%d); the next slot frees at %s",
                      live, SIGNER_MAX_PUBLISHED, frees_at > 0 ? when : "(no retired key)");
        rc = ERRCODE_CONFLICT;
        goto done;
    }
    if (mode == SIGNER_ROTATE_NOW && next == NULL) {
        if (signer_create_key(s, st, "next", now, now, kid) != ERRCODE_OK)
            goto done;
        signer_note(changed, changed_len, "created-next", kid);
        if (store_key_set_status(st, kid, "active", now, &errstr) != 0)
            goto store_fail;
        if (active != NULL && store_key_set_status(st, active->kid, "retired", now, &errstr) != 0)
            goto store_fail;
        if (active != NULL)
            signer_note(changed, changed_len, "retired", active->kid);
        signer_note(changed, changed_len, "activated", kid);
        rc = ERRCODE_OK;
        goto done;
    }
    if (next != NULL && (next->activates_at <= now || mode == SIGNER_ROTATE_NOW)) {
        if (store_key_set_status(st, next->kid, "active", now, &errstr) != 0)
            goto store_fail;
        if (active != NULL && store_key_set_status(st, active->kid, "retired", now, &errstr) != 0)
            goto store_fail;
        if (active != NULL)
            signer_note(changed, changed_len, "retired", active->kid);
        signer_note(changed, changed_len, "activated", next->kid);
        rc = ERRCODE_OK;
        goto done;
    }
    if (next == NULL && active != NULL) {
        int64_t due = active->activates_at + p->rotation_period_s;
        int wrong_alg = strcmp(active->alg, jwk_alg_name(s->alg)) != 0;

        if (mode == SIGNER_ROTATE || wrong_alg || due - p->prepublish_s <= now) {
            int64_t at = now + p->prepublish_s;

            if (mode == SIGNER_TICK && !wrong_alg && due > at)
                at = due;
            if (signer_create_key(s, st, "next", now, at, kid) != ERRCODE_OK)
                goto done;
            signer_note(changed, changed_len, "created-next", kid);
        }
    }
    rc = ERRCODE_OK;
    goto done;
store_fail:
    signer_detail(detail, detail_len, "store: %s", errstr != NULL ? errstr : "error");
    rc = ERRCODE_UNAVAILABLE;
done:
    store_keys_free(keys, n);
    return rc;
}

static struct signer_keys_ref *
signer_build_snapshot(struct signer *s, struct store_key *keys, size_t n)
{
    struct signer_keys_ref *r = calloc(1, sizeof(*r));
    json_t *doc = json_object(), *arr = json_array();
    int64_t max_age = s->policy.prepublish_s / 4;

    if (r == NULL || doc == NULL || arr == NULL || (r->pub.jwks = jwks_new()) == NULL ||
        (r->pub.revoked = jwks_new()) == NULL)
        goto fail;
    atomic_store(&r->refs, 1);
    for (size_t i = 0; i < n; i++) {
        const char *errstr = NULL;
        json_t *jwk = json_loads(keys[i].public_jwk, 0, NULL);
        EVP_PKEY *pub = jwk != NULL ? jwk_public_from_json(jwk, &errstr) : NULL;

        /* a revoked key verifies nothing; it is kept aside only so that
         * its tokens are told token_revoked rather than unknown_key */
        if (pub == NULL || jwks_add(keys[i].revoked_at > 0 ? r->pub.revoked : r->pub.jwks,
                                    keys[i].kid, pub) == -1) {
            json_decref(jwk);
            EVP_PKEY_free(pub);
            goto fail;
        }
        EVP_PKEY_free(pub);
        if (keys[i].revoked_at > 0) {
            json_decref(jwk);
            continue;
        }
        json_object_set_new(jwk, "kid", json_string(keys[i].kid));
        json_object_set_new(jwk, "alg", json_string(keys[i].alg));
        json_object_set_new(jwk, "use", json_string("sig"));
        json_object_set_new(
            jwk, "status",
            json_string(signer_published_status(keys[i].status, keys[i].tainted_at)));
        json_array_append_new(arr, jwk);
        if (strcmp(keys[i].status, "active") == 0)
            r->pub.has_active = 1;
    }
    json_object_set_new(doc, "keys", arr);
    arr = NULL;
    if ((r->pub.doc = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto fail;
    r->pub.doclen = strlen(r->pub.doc);
    etag_of(NULL, r->pub.doc, r->pub.doclen, r->pub.etag);
    if (max_age > 3600)
        max_age = 3600;
    r->pub.max_age_s = max_age;
    json_decref(doc);
    return r;
fail:
    json_decref(doc);
    json_decref(arr);
    if (r != NULL) {
        jwks_free(r->pub.jwks);
        jwks_free(r->pub.revoked);
        free(r->pub.doc);
        free(r);
    }
    return NULL;
}

uint64_t
signer_generation(struct signer *s)
{
    uint64_t gen;

    pthread_mutex_lock(&s->mu);
    gen = s->gen;
    pthread_mutex_unlock(&s->mu);
    return gen;
}

/* since: install only if no other reload was installed since generation
 * *since (else 1: what was read may be older than what is in force). */
static int
signer_reload_locked(struct signer *s, struct store *st, const uint64_t *since, const char **errstr)
{
    struct store_key *keys = NULL;
    size_t n = 0;
    struct signer_key *loaded = NULL, *oldkeys;
    size_t nloaded = 0, nold;
    int active = -1;
    struct signer_keys_ref *snap, *old;

    if (store_keys_list(st, &keys, &n, errstr) == -1)
        return -1;
    if ((loaded = calloc(n > 0 ? n : 1, sizeof(*loaded))) == NULL) {
        *errstr = "out of memory";
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct signer_key *k = &loaded[nloaded];
        uint8_t *der = NULL;
        size_t derlen = 0;

        snprintf(k->kid, sizeof(k->kid), "%s", keys[i].kid);
        snprintf(k->status, sizeof(k->status), "%s", keys[i].status);
        k->created_at = keys[i].created_at;
        k->activates_at = keys[i].activates_at;
        k->retired_at = keys[i].retired_at;
        k->tainted_at = keys[i].tainted_at;
        k->revoked_at = keys[i].revoked_at;
        if (jwk_alg_from_name(keys[i].alg, &k->alg) == -1) {
            *errstr = "a stored key has an unknown algorithm";
            goto fail;
        }
        if (k->retired_at > 0 && strcmp(k->status, "retired") == 0 &&
            signer_removable_at(s, st, &keys[i], &k->removable_at, errstr) == -1)
            goto fail;
        if (seal_decrypt(s->seal_key, keys[i].kid, keys[i].sealed, keys[i].sealed_len, &der,
                         &derlen) == -1) {
            *errstr = "a stored key does not unseal: wrong seal key file?";
            goto fail;
        }
        k->priv = jwk_private_from_der(der, derlen);
        OPENSSL_clear_free(der, derlen);
        if (k->priv == NULL) {
            *errstr = "a stored key does not parse";
            goto fail;
        }
        if (strcmp(k->status, "active") == 0)
            active = (int)nloaded;
        nloaded++;
    }
    if ((snap = signer_build_snapshot(s, keys, n)) == NULL) {
        *errstr = "cannot build the key set";
        goto fail;
    }
    pthread_mutex_lock(&s->mu);
    if (since != NULL && s->gen != *since) {
        pthread_mutex_unlock(&s->mu);
        signer_snap_unref(snap);
        for (size_t i = 0; i < nloaded; i++)
            EVP_PKEY_free(loaded[i].priv);
        free(loaded);
        store_keys_free(keys, n);
        return 1;
    }
    s->gen++;
    oldkeys = s->keys;
    nold = s->nkeys;
    s->keys = loaded;
    s->nkeys = nloaded;
    s->active = active;
    old = s->snap;
    s->snap = snap;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < nold; i++)
        EVP_PKEY_free(oldkeys[i].priv);
    free(oldkeys);
    signer_snap_unref(old);
    store_keys_free(keys, n);
    return 0;
fail:
    for (size_t i = 0; loaded != NULL && i < n; i++)
        EVP_PKEY_free(loaded[i].priv);
    free(loaded);
    store_keys_free(keys, n);
    return -1;
}

static int
signer_reload_gen(struct signer *s, struct store *st, const uint64_t *since, const char **errstr)
{
    int rc;

    pthread_mutex_lock(&s->reload_mu);
    rc = signer_reload_locked(s, st, since, errstr);
    pthread_mutex_unlock(&s->reload_mu);
    return rc;
}

int
signer_reload(struct signer *s, struct store *st, const char **errstr)
{
    return signer_reload_gen(s, st, NULL, errstr);
}

int
signer_reload_since(struct signer *s, struct store *st, uint64_t since, const char **errstr)
{
    return signer_reload_gen(s, st, &since, errstr);
}

/* Signs claims with the active key; the header is jwt_header(kind) or, when
 * typ is not NULL, {alg, kid, typ}. */
static enum errcode
signer_sign_with(struct signer *s, enum jwt_kind kind, const char *typ, const json_t *claims,
                 char **token, char kid[65])
{
    EVP_PKEY *key = NULL;
    enum jwk_alg alg = JWK_ALG_EDDSA;
    json_t *header = NULL;
    char *input = NULL;
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);
    enum errcode rc = ERRCODE_UNAVAILABLE;

    pthread_mutex_lock(&s->mu);
    if (s->active >= 0) {
        key = s->keys[s->active].priv;
        EVP_PKEY_up_ref(key);
        alg = s->keys[s->active].alg;
        snprintf(kid, 65, "%s", s->keys[s->active].kid);
    }
    pthread_mutex_unlock(&s->mu);
    if (key == NULL)
        return ERRCODE_UNAVAILABLE;
    header = typ != NULL
                 ? json_pack("{s:s, s:s, s:s}", "alg", jwk_alg_name(alg), "kid", kid, "typ", typ)
                 : jwt_header(kind, alg, kid);
    if (header == NULL || (input = jws_signing_input(header, claims)) == NULL ||
        jws_sign_raw(key, alg, input, strlen(input), sig, &siglen) == -1 ||
        (*token = jws_compact(input, sig, siglen)) == NULL)
        goto done;
    rc = ERRCODE_OK;
done:
    json_decref(header);
    free(input);
    EVP_PKEY_free(key);
    return rc;
}

enum errcode
signer_sign(struct signer *s, enum jwt_kind kind, const json_t *claims, char **token, char kid[65])
{
    return signer_sign_with(s, kind, NULL, claims, token, kid);
}

enum errcode
signer_sign_typ(struct signer *s, const char *typ, const json_t *claims, char **token, char kid[65])
{
    return signer_sign_with(s, JWT_KIND_COUNT, typ, claims, token, kid);
}

struct signer_keys *
signer_keys_get(struct signer *s)
{
    struct signer_keys_ref *r;

    pthread_mutex_lock(&s->mu);
    r = s->snap;
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&s->mu);
    return r != NULL ? &r->pub : NULL;
}

void
signer_keys_put(struct signer_keys *k)
{
    signer_snap_unref((struct signer_keys_ref *)k);
}

json_t *
signer_key_list(struct signer *s)
{
    json_t *arr = json_array();

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct signer_key *k = &s->keys[i];
        char created[TIMEFMT_LEN + 1], activates[TIMEFMT_LEN + 1], retires[TIMEFMT_LEN + 1];
        json_t *o;

        timefmt_rfc3339(k->created_at, created);
        timefmt_rfc3339(k->activates_at, activates);
        timefmt_rfc3339(k->retired_at > 0 ? k->retired_at : 0, retires);
        o = json_pack(
            "{s:s, s:s, s:s, s:s, s:s}", "kid", k->kid, "alg", jwk_alg_name(k->alg), "status",
            k->revoked_at > 0 ? "revoked" : signer_published_status(k->status, k->tainted_at),
            "created_at", created, "activates_at", activates);
        timefmt_rfc3339(k->tainted_at, retires);
        json_object_set_new(o, "tainted_at",
                            k->tainted_at > 0 ? json_string(retires) : json_null());
        timefmt_rfc3339(k->revoked_at, retires);
        json_object_set_new(o, "revoked_at",
                            k->revoked_at > 0 ? json_string(retires) : json_null());
        if (k->retired_at > 0) {
            json_object_set_new(o, "retired_at", json_string(retires));
            timefmt_rfc3339(k->removable_at, retires);
            json_object_set_new(o, "removed_after", json_string(retires));
        } else {
            json_object_set_new(o, "retired_at", json_null());
            json_object_set_new(o, "removed_after", json_null());
        }
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&s->mu);
    return arr;
}

/* 1 when kid is a key of the last reload that is tainted (revoked: 0) or
 * revoked (revoked: 1). */
static int
signer_kid_flag(struct signer *s, const char *kid, int revoked)
{
    int set = 0;

    if (kid == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i].kid, kid) == 0)
            set = (revoked ? s->keys[i].revoked_at : s->keys[i].tainted_at) > 0;
    pthread_mutex_unlock(&s->mu);
    return set;
}

int
signer_kid_tainted(struct signer *s, const char *kid)
{
    return signer_kid_flag(s, kid, 0);
}

int
signer_kid_revoked(struct signer *s, const char *kid)
{
    return signer_kid_flag(s, kid, 1);
}

enum errcode
signer_verify(const struct signer_keys *keys, const char *token, const struct jwt_expect *want,
              struct jwt_claims *c, const char **errstr)
{
    enum errcode code = jwt_verify(token, strlen(token), keys->jwks, want, c, errstr);
    struct jwt_claims r;
    const char *e = NULL;

    if (code != ERRCODE_UNKNOWN_KEY || keys->revoked == NULL)
        return code;
    memset(&r, 0, sizeof(r));
    if (jwt_verify(token, strlen(token), keys->revoked, want, &r, &e) != ERRCODE_UNKNOWN_KEY &&
        r.kid != NULL) {
        *errstr = "signed by a revoked key";
        code = ERRCODE_TOKEN_REVOKED;
    }
    jwt_claims_clear(&r);
    return code;
}

/* The stored row of kid among keys, or NULL. */
static const struct store_key *
signer_find(const struct store_key *keys, size_t n, const char *kid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].kid, kid) == 0)
            return &keys[i];
    return NULL;
}

/* The stored keys (*keys, *n: the caller frees them) and kid's row among
 * them: ERRCODE_OK, NOT_FOUND, or UNAVAILABLE (a store error), with detail. */
static enum errcode
signer_key_of(struct store *st, const char *kid, struct store_key **keys, size_t *n,
              const struct store_key **k, char *detail, size_t detail_len)
{
    const char *errstr = NULL;

    if (store_keys_list(st, keys, n, &errstr) == -1) {
        signer_detail(detail, detail_len, "store: %s", errstr != NULL ? errstr : "error");
        return ERRCODE_UNAVAILABLE;
    }
    if ((*k = signer_find(*keys, *n, kid)) == NULL) {
        signer_detail(detail, detail_len, "no key %s", kid);
        return ERRCODE_NOT_FOUND;
    }
    return ERRCODE_OK;
}

/* Taint (revoke 0) or revoke kid: see signer.h. */
static enum errcode
signer_key_change(struct signer *s, struct store *st, const char *kid, int64_t now, int revoke,
                  char *changed, size_t changed_len, char *detail, size_t detail_len)
{
    struct store_key *keys = NULL;
    const struct store_key *k;
    const char *errstr = NULL;
    size_t n = 0;
    int active;
    enum errcode rc;

    if (changed != NULL && changed_len > 0)
        changed[0] = '\0';
    if ((rc = signer_key_of(st, kid, &keys, &n, &k, detail, detail_len)) != ERRCODE_OK)
        goto done;
    active = strcmp(k->status, "active") == 0;
    rc = ERRCODE_CONFLICT;
    if (k->revoked_at > 0 || (!revoke && k->tainted_at > 0)) {
        signer_detail(detail, detail_len, "key %s is already %s", kid,
                      k->revoked_at > 0 ? "revoked" : "tainted");
        goto done;
    }
    if (revoke && active) {
        signer_detail(detail, detail_len,
                      "key %s is the active key: taint it first (key taint), which promotes "
                      "another key, then revoke it",
                      kid);
        goto done;
    }
    store_keys_free(keys, n);
    keys = NULL;
    n = 0;
    /* Tainting the active key: the next one (or a new one) signs from this
     * commit. */
    if (!revoke && active &&
        (rc = signer_lifecycle(s, st, now, SIGNER_ROTATE_NOW, changed, changed_len, detail,
                               detail_len)) != ERRCODE_OK)
        goto done;
    if ((revoke ? store_key_revoke : store_key_taint)(st, kid, now, &errstr) != 0) {
        signer_detail(detail, detail_len, "store: %s", errstr != NULL ? errstr : "error");
        rc = ERRCODE_UNAVAILABLE;
        goto done;
    }
    signer_note(changed, changed_len, revoke ? "revoked" : "tainted", kid);
    rc = ERRCODE_OK;
done:
    store_keys_free(keys, n);
    return rc;
}

enum errcode
signer_taint(struct signer *s, struct store *st, const char *kid, int64_t now, char *changed,
             size_t changed_len, char *detail, size_t detail_len)
{
    return signer_key_change(s, st, kid, now, 0, changed, changed_len, detail, detail_len);
}

enum errcode
signer_revoke(struct signer *s, struct store *st, const char *kid, int64_t now, char *changed,
              size_t changed_len, char *detail, size_t detail_len)
{
    return signer_key_change(s, st, kid, now, 1, changed, changed_len, detail, detail_len);
}
