/* libsitetoken: the token verifier a gateway embeds, a thin shell over jwk and
 * jwt that keeps OpenSSL and jansson out of its public header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jwk.h"
#include "jwt.h"
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
    v->skew = skew_seconds < 0 ? 0 : skew_seconds > JWT_SKEW_MAX ? JWT_SKEW_MAX : skew_seconds;
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

int
sitetoken_verify(struct sitetoken_verifier *v, const char *token, size_t len, int kind, int64_t now,
                 struct sitetoken_claims *out)
{
    struct jwt_expect expect;
    struct jwt_claims claims;
    const char *errstr = NULL;
    enum errcode rc;

    if (out == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    memset(out, 0, sizeof(*out));
    if (v == NULL || token == NULL ||
        (kind != SITETOKEN_KIND_CLIENT && kind != SITETOKEN_KIND_ACCESS))
        return SITETOKEN_E_INVALID_REQUEST;
    expect = (struct jwt_expect){
        .kind = kind == SITETOKEN_KIND_CLIENT ? JWT_KIND_CLIENT : JWT_KIND_ACCESS,
        .iss = v->issuer,
        .aud = v->audience,
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

/* The revocation cache: an open-addressing hash set of (kind, id) with each
 * entry's expiry, linear probing, grown at half full. Entries are only ever
 * added; a full load builds a new table and swaps it in. */
struct sitetoken_rev_slot {
    int64_t expires_at; /* 0: empty slot */
    char kind;          /* 't', 'd', 'b' */
    char id[REVDOC_ID_MAX + 1];
};

struct sitetoken_revocations {
    struct sitetoken_rev_slot *slots;
    size_t cap, n; /* cap a power of two */
    int64_t serial;
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
sitetoken_rev_put(struct sitetoken_revocations *r, const struct revdoc_entry *e)
{
    char kind = sitetoken_rev_kinds[e->kind];
    struct sitetoken_rev_slot *s;

    if (e->expires_at <= 0)
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
    s = sitetoken_rev_find(r, kind, e->id);
    if (s->expires_at == 0) {
        s->kind = kind;
        memcpy(s->id, e->id, sizeof(s->id));
        r->n++;
    }
    if (e->expires_at > s->expires_at)
        s->expires_at = e->expires_at;
    if (e->serial > r->serial)
        r->serial = e->serial;
    return 0;
}

struct sitetoken_revocations *
sitetoken_revocations_new(void)
{
    return calloc(1, sizeof(struct sitetoken_revocations));
}

void
sitetoken_revocations_free(struct sitetoken_revocations *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

/* Applies a parsed document: into a fresh table when full, else in place. */
static int
sitetoken_rev_apply(struct sitetoken_revocations *r, const struct revdoc *doc, int full,
                    const char **errstr)
{
    struct sitetoken_revocations fresh = {.serial = 0};
    struct sitetoken_revocations *into = full ? &fresh : r;

    for (size_t i = 0; i < doc->n; i++)
        if (sitetoken_rev_put(into, &doc->entries[i]) == -1) {
            free(fresh.slots);
            *errstr = "out of memory";
            return -1;
        }
    if (full) {
        free(r->slots);
        *r = fresh;
    }
    if (doc->serial > r->serial)
        r->serial = doc->serial;
    return 0;
}

int
sitetoken_revocations_load(struct sitetoken_revocations *r, const char *text, size_t len, int full,
                           const char **errstr)
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
        rc = sitetoken_rev_apply(r, &doc, full, errstr);
    revdoc_clear(&doc);
    return rc;
}

int
sitetoken_revocations_load_jws(struct sitetoken_revocations *r, const struct sitetoken_verifier *v,
                               const char *jws, size_t len, int full, const char **errstr)
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
    if (revdoc_parse_jws(jws, len, v->keys, &doc, errstr) == ERRCODE_OK) {
        if (strcmp(doc.iss, v->issuer) != 0)
            *errstr = "revocations: signed for another issuer";
        else
            rc = sitetoken_rev_apply(r, &doc, full, errstr);
    }
    revdoc_clear(&doc);
    return rc;
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

int
sitetoken_revocations_check(const struct sitetoken_revocations *r,
                            const struct sitetoken_claims *claims, int64_t now)
{
    const struct sitetoken_rev_slot *s;

    if (r == NULL || claims == NULL)
        return SITETOKEN_E_INVALID_REQUEST;
    if (claims->jti[0] != '\0' && (s = sitetoken_rev_find(r, 't', claims->jti)) != NULL &&
        s->expires_at > now)
        return SITETOKEN_E_TOKEN_REVOKED;
    if (claims->sub[0] != '\0' && (s = sitetoken_rev_find(r, 'd', claims->sub)) != NULL &&
        s->expires_at > now)
        return SITETOKEN_E_TOKEN_REVOKED;
    return SITETOKEN_OK;
}
