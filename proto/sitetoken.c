/* libsitetoken: the token verifier a gateway embeds, a thin shell over jwk and
 * jwt that keeps OpenSSL and jansson out of its public header. */
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jwk.h"
#include "jwt.h"
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
