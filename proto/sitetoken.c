/* libsitetoken: the token verifier a gateway embeds, a thin shell over jwk and
 * jwt that keeps OpenSSL and jansson out of its public header. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpop.h"
#include "errcode.h"
#include "jwk.h"
#include "jwt.h"
#include "proof.h"
#include "revdoc.h"
#include "sitetoken.h"

struct sitetoken_verifier {
    char *issuer;
    char *audience;
    int64_t skew;
    struct jwks *keys; /* owned; never NULL */
};

/* Our results and the client-visible codes they stand for. */
static const enum errcode sitetoken_errcodes[] = {
    [SITETOKEN_OK] = ERRCODE_OK,
    [SITETOKEN_E_INVALID_REQUEST] = ERRCODE_INVALID_REQUEST,
    [SITETOKEN_E_TOKEN_EXPIRED] = ERRCODE_TOKEN_EXPIRED,
    [SITETOKEN_E_TOKEN_NOT_YET_VALID] = ERRCODE_TOKEN_NOT_YET_VALID,
    [SITETOKEN_E_BAD_SIGNATURE] = ERRCODE_BAD_SIGNATURE,
    [SITETOKEN_E_UNKNOWN_KEY] = ERRCODE_UNKNOWN_KEY,
    [SITETOKEN_E_WRONG_TOKEN_TYPE] = ERRCODE_WRONG_TOKEN_TYPE,
    [SITETOKEN_E_TOKEN_REVOKED] = ERRCODE_TOKEN_REVOKED,
    [SITETOKEN_E_UNAVAILABLE] = ERRCODE_UNAVAILABLE,
    [SITETOKEN_E_PROOF_INVALID] = ERRCODE_PROOF_INVALID,
    [SITETOKEN_E_PROOF_REPLAYED] = ERRCODE_PROOF_REPLAYED,
    [SITETOKEN_E_BINDING_MISMATCH] = ERRCODE_BINDING_MISMATCH,
    [SITETOKEN_E_RATE_LIMITED] = ERRCODE_RATE_LIMITED,
    [SITETOKEN_E_BULK_TOKEN_BLOCKED] = ERRCODE_BULK_TOKEN_BLOCKED,
};

#define SITETOKEN_NRESULTS (sizeof(sitetoken_errcodes) / sizeof(sitetoken_errcodes[0]))

static int
sitetoken_from_errcode(enum errcode e)
{
    for (size_t i = 0; i < SITETOKEN_NRESULTS; i++)
        if (sitetoken_errcodes[i] == e)
            return (int)i;
    return SITETOKEN_E_INVALID_REQUEST;
}

const char *
sitetoken_error_name(int code)
{
    if (code < 0 || (size_t)code >= SITETOKEN_NRESULTS)
        return errcode_name(ERRCODE_UNAVAILABLE);
    return errcode_name(sitetoken_errcodes[code]);
}

struct sitetoken_verifier *
sitetoken_verifier_new(const char *issuer, const char *audience, int64_t skew_seconds)
{
    struct sitetoken_verifier *v;

    if (issuer == NULL || audience == NULL || *issuer == '\0' || *audience == '\0')
        return NULL;
    if ((v = calloc(1, sizeof(*v))) == NULL)
        return NULL;
    v->issuer = strdup(issuer);
    v->audience = strdup(audience);
    v->keys = jwks_new();
    v->skew = jwt_clamp_skew(skew_seconds);
    if (v->issuer == NULL || v->audience == NULL || v->keys == NULL) {
        sitetoken_verifier_free(v);
        return NULL;
    }
    return v;
}

void
sitetoken_verifier_free(struct sitetoken_verifier *v)
{
    if (v == NULL)
        return;
    free(v->issuer);
    free(v->audience);
    jwks_free(v->keys);
    free(v);
}

int
sitetoken_verifier_load_jwks(struct sitetoken_verifier *v, const char *doc, size_t len,
                             const char **errstr)
{
    const char *dummy;
    struct jwks *keys;

    if (errstr == NULL)
        errstr = &dummy;
    if (v == NULL) {
        *errstr = "no verifier";
        return -1;
    }
    if ((keys = jwks_parse(doc, len, errstr)) == NULL)
        return -1;
    jwks_free(v->keys);
    v->keys = keys;
    return 0;
}

size_t
sitetoken_verifier_key_count(const struct sitetoken_verifier *v)
{
    return v != NULL ? jwks_count(v->keys) : 0;
}

/* Copy a claim into a fixed buffer; -1 when it does not fit. */
static int
sitetoken_copy(char *dst, size_t dstsz, const char *src)
{
    size_t n;

    if (src == NULL) {
        dst[0] = '\0';
        return 0;
    }
    if ((n = strlen(src)) >= dstsz)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Our kinds and the jwt module's. */
static const enum jwt_kind sitetoken_kinds[] = {
    [SITETOKEN_KIND_CLIENT] = JWT_KIND_CLIENT,
    [SITETOKEN_KIND_ACCESS] = JWT_KIND_ACCESS,
    [SITETOKEN_KIND_BULK] = JWT_KIND_BULK,
};

static int
sitetoken_verify_aud(struct sitetoken_verifier *v, const char *token, size_t len, int kind,
                     const char *aud, int64_t now, struct sitetoken_claims *out)
{
    struct jwt_expect expect;
    struct jwt_claims claims;
    const char *errstr = NULL;
    enum errcode rc;

    expect = (struct jwt_expect){
        .kind = sitetoken_kinds[kind],
        .iss = v->issuer,
        .aud = aud,
        .now = now,
        .skew = v->skew,
    };
    rc = jwt_verify(token, len, v->keys, &expect, &claims, &errstr);
    if (rc == ERRCODE_OK && (sitetoken_copy(out->sub, sizeof(out->sub), claims.sub) == -1 ||
                             sitetoken_copy(out->jti, sizeof(out->jti), claims.jti) == -1 ||
                             sitetoken_copy(out->jkt, sizeof(out->jkt), claims.jkt) == -1 ||
                             sitetoken_copy(out->site, sizeof(out->site), claims.site) == -1 ||
                             sitetoken_copy(out->kid, sizeof(out->kid), claims.kid) == -1))
        rc = ERRCODE_INVALID_REQUEST;
    if (rc == ERRCODE_OK) {
        out->iat = claims.iat;
        out->exp = claims.exp;
        out->gen = (int)claims.gen;
        out->kind = kind;
    } else {
        memset(out, 0, sizeof(*out));
    }
    jwt_claims_clear(&claims);
    return sitetoken_from_errcode(rc);
}

int
sitetoken_verify(struct sitetoken_verifier *v, const char *token, size_t len, int kind, int64_t now,
                 struct sitetoken_claims *out)
{
    if (out == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    memset(out, 0, sizeof(*out));
    if (v == NULL || token == NULL ||
        (kind != SITETOKEN_KIND_CLIENT && kind != SITETOKEN_KIND_ACCESS))
        return SITETOKEN_E_INVALID_REQUEST;
    return sitetoken_verify_aud(v, token, len, kind, v->audience, now, out);
}

int
sitetoken_verify_bulk(struct sitetoken_verifier *v, const char *token, size_t len, int64_t now,
                      struct sitetoken_claims *out)
{
    int rc;

    if (out == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    memset(out, 0, sizeof(*out));
    if (v == NULL || token == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    /* aud = the issuer; a token made before the audience rule carries the
     * gateway audience and stays good until it expires (DESIGN.md). */
    rc = sitetoken_verify_aud(v, token, len, SITETOKEN_KIND_BULK, v->issuer, now, out);
    if (rc == SITETOKEN_E_WRONG_TOKEN_TYPE)
        rc = sitetoken_verify_aud(v, token, len, SITETOKEN_KIND_BULK, v->audience, now, out);
    return rc;
}

/* The replay cache, shared by every thread that checks proofs: the mutex
 * is held only for the lookup-and-insert (a hash and a probe), never for a
 * signature check, so many threads verify at once and one replayed proof
 * still meets exactly one winner. */
struct sitetoken_replay {
    pthread_mutex_t mu;
    struct dpop_replay *set; /* owned */
};

struct sitetoken_replay *
sitetoken_replay_new(size_t max_entries)
{
    struct sitetoken_replay *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->set = dpop_replay_new(max_entries)) == NULL) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void
sitetoken_replay_free(struct sitetoken_replay *r)
{
    if (r == NULL)
        return;
    dpop_replay_free(r->set);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

size_t
sitetoken_replay_count(const struct sitetoken_replay *r, int64_t now)
{
    struct sitetoken_replay *w = (struct sitetoken_replay *)r; /* the lock is not the data */
    size_t n;

    if (r == NULL)
        return 0;
    pthread_mutex_lock(&w->mu);
    n = dpop_replay_count(r->set, now);
    pthread_mutex_unlock(&w->mu);
    return n;
}

int
sitetoken_normalise_url(const char *url, size_t len, char *out, size_t outsz)
{
    return dpop_normalise_url(url, len, out, outsz);
}

int
sitetoken_verify_dpop(const struct sitetoken_verifier *v, struct sitetoken_replay *replay,
                      const char *proof, size_t proof_len, const char *method, const char *url,
                      const char *access_token, size_t token_len,
                      const struct sitetoken_claims *token_claims, int64_t now)
{
    char htu[DPOP_URL_MAX + 1], ath[JWK_THUMBPRINT_LEN + 1];
    struct dpop_expect expect;
    struct dpop_result res;
    const char *errstr = NULL;
    enum errcode rc;

    if (v == NULL || proof == NULL || method == NULL || url == NULL || access_token == NULL ||
        token_claims == NULL || token_claims->kind != SITETOKEN_KIND_ACCESS)
        return SITETOKEN_E_INVALID_REQUEST;
    if (dpop_normalise_url(url, strlen(url), htu, sizeof(htu)) == -1 ||
        proof_ath(access_token, token_len, ath) == -1)
        return SITETOKEN_E_INVALID_REQUEST;
    expect = (struct dpop_expect){
        .method = method,
        .url = htu,
        .ath = ath,
        .jkt = token_claims->jkt,
        .now = now,
        .skew = v->skew,
    };
    if ((rc = dpop_verify(proof, proof_len, &expect, &res, &errstr)) != ERRCODE_OK)
        return sitetoken_from_errcode(rc);
    if (replay != NULL) {
        pthread_mutex_lock(&replay->mu);
        rc = dpop_replay_check(replay->set, token_claims->jkt, res.jti, res.iat + v->skew + 1, now);
        pthread_mutex_unlock(&replay->mu);
    }
    return sitetoken_from_errcode(rc);
}

/* The revocation cache: an open-addressing hash set of (kind, id) with each
 * entry's expiry, linear probing, grown at half full. Entries are only ever
 * added; a full load builds a new table and swaps it in. An entry counts
 * until its expires_at + skew: tokens are accepted until exp + skew. */
struct sitetoken_rev_slot {
    int64_t expires_at; /* 0: empty slot */
    char kind;          /* 't', 'd', 'b' */
    char id[REVDOC_ID_MAX + 1];
};

struct sitetoken_revocations {
    struct sitetoken_rev_slot *slots;
    size_t cap, n; /* cap a power of two */
    int64_t serial;
    int64_t skew;
    int64_t full_serial; /* serial of the last full document loaded */
    int64_t jws_iat;     /* iat of the last signed full document loaded */
    int64_t jws_exp;     /* latest exp of a signed document loaded; 0: none */
};

static const char sitetoken_rev_kinds[] = {
    [REVDOC_TOKEN] = 't',
    [REVDOC_DEVICE] = 'd',
    [REVDOC_BULK] = 'b',
};

static size_t
sitetoken_rev_hash(char kind, const char *id)
{
    uint64_t h = 1469598103934665603ULL ^ (unsigned char)kind; /* FNV-1a */

    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ULL;
    return (size_t)h;
}

static struct sitetoken_rev_slot *
sitetoken_rev_find(const struct sitetoken_revocations *r, char kind, const char *id)
{
    size_t i;

    if (r->cap == 0)
        return NULL;
    for (i = sitetoken_rev_hash(kind, id) & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
        struct sitetoken_rev_slot *s = &r->slots[i];

        if (s->expires_at == 0 || (s->kind == kind && strcmp(s->id, id) == 0))
            return s;
    }
}

static int
sitetoken_rev_put_raw(struct sitetoken_revocations *r, char kind, const char *id,
                      int64_t expires_at)
{
    struct sitetoken_rev_slot *s;

    if (expires_at <= 0)
        return 0; /* never worth holding */
    if (2 * (r->n + 1) > r->cap) {
        struct sitetoken_revocations bigger = {.cap = r->cap ? 2 * r->cap : 64};

        if ((bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots))) == NULL)
            return -1;
        for (size_t i = 0; i < r->cap; i++)
            if (r->slots[i].expires_at != 0) {
                *sitetoken_rev_find(&bigger, r->slots[i].kind, r->slots[i].id) = r->slots[i];
                bigger.n++;
            }
        free(r->slots);
        r->slots = bigger.slots;
        r->cap = bigger.cap;
    }
    s = sitetoken_rev_find(r, kind, id);
    if (s->expires_at == 0) {
        s->kind = kind;
        snprintf(s->id, sizeof(s->id), "%s", id);
        r->n++;
    }
    if (expires_at > s->expires_at)
        s->expires_at = expires_at;
    return 0;
}

static int
sitetoken_rev_put(struct sitetoken_revocations *r, const struct revdoc_entry *e)
{
    if ((unsigned)e->kind >= sizeof(sitetoken_rev_kinds) || sitetoken_rev_kinds[e->kind] == 0)
        return 0; /* a kind we do not know: ignored (DESIGN.md) */
    if (sitetoken_rev_put_raw(r, sitetoken_rev_kinds[e->kind], e->id, e->expires_at) == -1)
        return -1;
    if (e->serial > r->serial)
        r->serial = e->serial;
    return 0;
}

struct sitetoken_revocations *
sitetoken_revocations_new(void)
{
    struct sitetoken_revocations *r = calloc(1, sizeof(struct sitetoken_revocations));

    if (r != NULL)
        r->skew = JWT_SKEW_MAX;
    return r;
}

void
sitetoken_revocations_set_skew(struct sitetoken_revocations *r, int64_t skew_seconds)
{
    if (r != NULL)
        r->skew = jwt_clamp_skew(skew_seconds);
}

void
sitetoken_revocations_free(struct sitetoken_revocations *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

/* Applies a parsed document: into a fresh table when full, else in place.
 * A full load keeps the old entries that the authority dropped as expired
 * while tokens they name are still accepted (until expires_at + skew). */
static int
sitetoken_rev_apply(struct sitetoken_revocations *r, const struct revdoc *doc, int full,
                    int64_t now, const char **errstr)
{
    struct sitetoken_revocations fresh = {.serial = 0, .skew = r->skew};
    struct sitetoken_revocations *into = full ? &fresh : r;

    if (full && doc->serial < r->full_serial) {
        *errstr = "revocations: older than the document held (serial rolls back)";
        return -1;
    }
    for (size_t i = 0; i < doc->n; i++)
        if (sitetoken_rev_put(into, &doc->entries[i]) == -1)
            goto oom;
    if (full) {
        for (size_t i = 0; i < r->cap; i++) {
            const struct sitetoken_rev_slot *s = &r->slots[i];

            if (s->expires_at != 0 && s->expires_at <= now && s->expires_at + r->skew > now &&
                sitetoken_rev_put_raw(&fresh, s->kind, s->id, s->expires_at) == -1)
                goto oom;
        }
        fresh.full_serial = doc->serial;
        fresh.jws_iat = r->jws_iat;
        fresh.jws_exp = r->jws_exp;
        if (r->serial > fresh.serial)
            fresh.serial = r->serial;
        free(r->slots);
        *r = fresh;
    }
    if (doc->serial > r->serial)
        r->serial = doc->serial;
    return 0;
oom:
    free(fresh.slots);
    *errstr = "out of memory";
    return -1;
}

int
sitetoken_revocations_load_at(struct sitetoken_revocations *r, const char *text, size_t len,
                              int full, int64_t now, const char **errstr)
{
    struct revdoc doc;
    const char *dummy;
    int rc = -1;

    if (errstr == NULL)
        errstr = &dummy;
    if (r == NULL) {
        *errstr = "no revocation cache";
        return -1;
    }
    if (revdoc_parse(text, len, &doc, errstr) == ERRCODE_OK)
        rc = sitetoken_rev_apply(r, &doc, full, now, errstr);
    revdoc_clear(&doc);
    return rc;
}

int
sitetoken_revocations_load(struct sitetoken_revocations *r, const char *text, size_t len, int full,
                           const char **errstr)
{
    return sitetoken_revocations_load_at(r, text, len, full, (int64_t)time(NULL), errstr);
}

int
sitetoken_revocations_load_jws_at(struct sitetoken_revocations *r,
                                  const struct sitetoken_verifier *v, const char *jws, size_t len,
                                  int full, int64_t now, const char **errstr)
{
    struct revdoc doc;
    const char *dummy;
    int rc = -1;

    if (errstr == NULL)
        errstr = &dummy;
    if (r == NULL || v == NULL) {
        *errstr = "no revocation cache or verifier";
        return -1;
    }
    if (revdoc_parse_jws(jws, len, v->keys, &doc, errstr) != ERRCODE_OK)
        goto done;
    if (strcmp(doc.iss, v->issuer) != 0)
        *errstr = "revocations: signed for another issuer";
    else if (strcmp(doc.aud, v->audience) != 0)
        *errstr = "revocations: signed for another audience";
    else if (doc.exp <= now)
        *errstr = "revocations: the signed document has expired";
    else if (doc.iat > now + v->skew)
        *errstr = "revocations: the signed document is from the future";
    else if (full && doc.iat < r->jws_iat)
        *errstr = "revocations: older than the document held (iat rolls back)";
    else if ((rc = sitetoken_rev_apply(r, &doc, full, now, errstr)) == 0) {
        if (full)
            r->jws_iat = doc.iat;
        if (doc.exp > r->jws_exp)
            r->jws_exp = doc.exp;
    }
done:
    revdoc_clear(&doc);
    return rc;
}

int
sitetoken_revocations_load_jws(struct sitetoken_revocations *r, const struct sitetoken_verifier *v,
                               const char *jws, size_t len, int full, const char **errstr)
{
    return sitetoken_revocations_load_jws_at(r, v, jws, len, full, (int64_t)time(NULL), errstr);
}

int64_t
sitetoken_revocations_jws_exp(const struct sitetoken_revocations *r)
{
    return r != NULL ? r->jws_exp : 0;
}

int
sitetoken_revocations_add_event(struct sitetoken_revocations *r, const char *data, size_t len,
                                const char **errstr)
{
    struct revdoc_entry e;
    const char *dummy;

    if (errstr == NULL)
        errstr = &dummy;
    if (r == NULL) {
        *errstr = "no revocation cache";
        return -1;
    }
    if (revdoc_parse_entry(data, len, &e, errstr) != ERRCODE_OK)
        return -1;
    if (sitetoken_rev_put(r, &e) == -1) {
        *errstr = "out of memory";
        return -1;
    }
    return 0;
}

int64_t
sitetoken_revocations_serial(const struct sitetoken_revocations *r)
{
    return r != NULL ? r->serial : 0;
}

size_t
sitetoken_revocations_count(const struct sitetoken_revocations *r)
{
    return r != NULL ? r->n : 0;
}

static int
sitetoken_rev_live(const struct sitetoken_revocations *r, char kind, const char *id, int64_t now)
{
    const struct sitetoken_rev_slot *s;

    return id[0] != '\0' && (s = sitetoken_rev_find(r, kind, id)) != NULL && s->expires_at != 0 &&
           s->expires_at + r->skew > now;
}

int
sitetoken_revocations_check(const struct sitetoken_revocations *r,
                            const struct sitetoken_claims *claims, int64_t now)
{
    if (r == NULL || claims == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    if (sitetoken_rev_live(r, 't', claims->jti, now) ||
        sitetoken_rev_live(r, 'd', claims->sub, now))
        return SITETOKEN_E_TOKEN_REVOKED;
    return SITETOKEN_OK;
}

int
sitetoken_revocations_check_bulk(const struct sitetoken_revocations *r,
                                 const struct sitetoken_claims *claims, int64_t now)
{
    if (r == NULL || claims == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    return sitetoken_rev_live(r, 'b', claims->jti, now) ? SITETOKEN_E_BULK_TOKEN_BLOCKED
                                                        : SITETOKEN_OK;
}
