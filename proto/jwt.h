/* Our three token kinds (bulk, client, access): headers and claim checks. */
#ifndef SITETOKEN_JWT_H
#define SITETOKEN_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errcode.h"
#include "jwk.h"

enum jwt_kind { JWT_KIND_BULK, JWT_KIND_CLIENT, JWT_KIND_ACCESS, JWT_KIND_COUNT };

#define JWT_SITE_MAX 15             /* longest site claim */
#define JWT_JTI_MAX 64              /* longest jti */
#define JWT_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define JWT_SKEW_MAX 86400          /* larger skews are clamped to this */

struct jwt_expect {
    enum jwt_kind kind;
    const char *iss;
    const char *aud;
    /* A second audience also accepted, or NULL: the authority passes the
     * gateway audience for bulk and client tokens, which carried it before
     * their aud became the issuer (DESIGN.md, "The tokens"); they stay
     * accepted until they expire. */
    const char *aud_legacy;
    int64_t now;  /* seconds since the epoch, clamped to [0, JWT_TIME_MAX] */
    int64_t skew; /* seconds, clamped to [0, JWT_SKEW_MAX] */
};

struct jwt_claims {
    json_t *claims; /* owned: the verified payload */
    json_t *header; /* owned: the verified header (kid points into it) */
    /* All borrowed from claims/header; NULL when absent. */
    const char *jti, *sub, *jkt /* cnf.jkt */, *site, *reg, *bulk, *kid;
    int64_t iat, nbf, exp;
    int64_t gen; /* client tokens; -1 for the other kinds */
    enum jwt_kind kind;
};

/* A clock skew clamped to [0, JWT_SKEW_MAX] and a time to [0, JWT_TIME_MAX]
 * seconds: every verifier clamps both, so that now + skew cannot overflow. */
int64_t jwt_clamp_skew(int64_t skew);
int64_t jwt_clamp_time(int64_t t);

/* What a new token says: the claim table in jwt.c decides which of these a
 * kind carries (DESIGN.md, "The tokens"); the rest are ignored. */
struct jwt_mint {
    enum jwt_kind kind;
    const char *iss, *aud, *site, *jti;
    int64_t iat, exp;      /* nbf = iat */
    const char *sub, *jkt; /* client and access: the device and its key */
    const char *reg;       /* client: "intranet" or "bulk" */
    const char *bulk;      /* client: the bulk token id, NULL or "" for none */
    int64_t gen;           /* client */
    const json_t *labels;  /* client and access: an object of labels, or NULL */
};
/* The claims of a new token of m->kind, ready for the signer; a new
 * reference, NULL on bad input (a required string missing) or no memory. */
json_t *jwt_claims_new(const struct jwt_mint *m);

/* "sitetoken-bulk+jwt", "sitetoken-client+jwt", "sitetoken-access+jwt"; NULL
 * out of range. */
const char *jwt_kind_typ(enum jwt_kind kind);
/* "bulk", "client", "access"; NULL out of range. */
const char *jwt_kind_name(enum jwt_kind kind);
/* {alg, kid, typ} for a token of that kind; new reference, NULL on bad input. */
json_t *jwt_header(enum jwt_kind kind, enum jwk_alg alg, const char *kid);
/* 1 when aud is the string want or an array of strings containing it. */
int jwt_aud_contains(const json_t *aud, const char *want);

/* Verify a token of kind exp->kind. Checks, in order, each with its error:
 * parse (INVALID_REQUEST), typ (WRONG_TOKEN_TYPE; RFC 7515 §4.1.9, see
 * jws_typ_is; before the signature, so that a token of another kind costs
 * no verification), alg one of ours (BAD_SIGNATURE), kid known
 * (UNKNOWN_KEY), signature (BAD_SIGNATURE), required
 * claims present and well-typed (INVALID_REQUEST), iss and aud (aud or
 * aud_legacy; WRONG_TOKEN_TYPE), now >= exp + skew (TOKEN_EXPIRED), nbf or iat > now +
 * skew (TOKEN_NOT_YET_VALID). out is always initialised: call
 * jwt_claims_clear whatever the result. Once the signature has verified, out
 * holds the claims even when a later check fails (the fields that passed
 * their checks are set), so that a caller can log the jti of a refused token. */
enum errcode jwt_verify(const char *token, size_t len, const struct jwks *keys,
                        const struct jwt_expect *exp, struct jwt_claims *out, const char **errstr);
void jwt_claims_clear(struct jwt_claims *c);

#endif
