/* Proof of possession (DESIGN.md, "Proof of possession"): a DPoP-style JWS a
 * device signs with its own key for each request. */
#ifndef SITETOKEN_PROOF_H
#define SITETOKEN_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "errcode.h"
#include "jwk.h"

#define PROOF_TYP "sitetoken-proof+jwt"
#define PROOF_JTI_MAX 64

struct proof_expect {
    const char *aud; /* the issuer */
    const char *act; /* register, exchange, renew or access */
    const char *ath; /* base64url SHA-256 of the client token; NULL when not required */
    int64_t now;
    int64_t skew; /* seconds, clamped to [0, JWT_SKEW_MAX] */
};

struct proof_result {
    char jti[PROOF_JTI_MAX + 1];
    int64_t iat;
    char jkt[JWK_THUMBPRINT_LEN + 1]; /* thumbprint of key */
    EVP_PKEY *key;                    /* the device's public key; owned, see proof_result_clear */
};

/* Verify a proof: typ, alg one of ours and the alg of the header jwk (a
 * public JWK), signature with that key, aud, iat within skew of now, jti 1..64
 * characters, act, and ath when exp->ath is set (constant-time). Replay
 * detection is the caller's, with out->jti and out->iat. out is always
 * initialised: call proof_result_clear whatever the result. ERRCODE_OK or
 * ERRCODE_PROOF_INVALID with a precise *errstr. */
enum errcode proof_verify(const char *proof, size_t len, const struct proof_expect *exp,
                          struct proof_result *out, const char **errstr);
void proof_result_clear(struct proof_result *r);
/* base64url(SHA-256(token)) into out (43 chars + NUL). 0/-1. */
int proof_ath(const char *token, size_t len, char out[JWK_THUMBPRINT_LEN + 1]);

#endif
