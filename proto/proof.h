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
    /* renew, access: the cnf.jkt of the client token, which the proof's key
     * must match (then any key we accept will do: it enrolled already);
     * NULL for a new key (register, exchange), which must pass
     * jwk_key_is_enrollable (RSA 2048..4096 bits, e = 65537). */
    const char *jkt;
    int64_t now;
    int64_t skew; /* seconds, clamped to [0, JWT_SKEW_MAX] */
};

struct proof_result {
    char jti[PROOF_JTI_MAX + 1];
    int64_t iat;
    char jkt[JWK_THUMBPRINT_LEN + 1]; /* thumbprint of key */
    EVP_PKEY *key;                    /* the device's public key; owned, see proof_result_clear */
};

/* Verify a proof. Every cheap check comes before the signature, so that a
 * proof that would be refused anyway costs no public-key operation: typ
 * (RFC 7515 §4.1.9), alg one of ours (or "Ed25519") and the alg of the header
 * jwk (a public JWK), aud, iat within skew of now (the replay window), jti
 * 1..64 characters, act, ath when exp->ath is set (constant-time), the key:
 * its thumbprint = exp->jkt (else ERRCODE_BINDING_MISMATCH) or, with no
 * exp->jkt, enrollable; then the signature with that key. Replay detection is
 * the caller's, with out->jti and out->iat. out is always initialised: call
 * proof_result_clear whatever the result. ERRCODE_OK, ERRCODE_BINDING_MISMATCH
 * or ERRCODE_PROOF_INVALID, with a precise *errstr. */
enum errcode proof_verify(const char *proof, size_t len, const struct proof_expect *exp,
                          struct proof_result *out, const char **errstr);
void proof_result_clear(struct proof_result *r);
/* base64url(SHA-256(token)) into out (43 chars + NUL). 0/-1. */
int proof_ath(const char *token, size_t len, char out[JWK_THUMBPRINT_LEN + 1]);

#endif
