/* Device proofs of possession: a self-contained JWS whose header carries the
 * device's public key, checked for freshness, purpose and token binding. */
#include <string.h>

#include <openssl/err.h>

#include "b64url.h"
#include "ids.h"
#include "jsonlim.h"
#include "jws.h"
#include "jwt.h"
#include "proof.h"

enum errcode
proof_verify(const char *proof, size_t len, const struct proof_expect *exp,
             struct proof_result *out, const char **errstr)
{
    struct jws jws;
    enum jwk_alg alg, keyalg;
    const char *jti, *act, *ath;
    int64_t iat, now, skew;
    json_t *claims;
    enum errcode rc = ERRCODE_PROOF_INVALID;

    memset(out, 0, sizeof(*out));
    if (jws_parse(proof, len, &jws, errstr) != ERRCODE_OK)
        goto fail;
    if (!jws_typ_is(jws.typ, PROOF_TYP)) {
        *errstr = "proof typ is not " PROOF_TYP;
        goto fail;
    }
    if (jwk_alg_from_name(jws.alg, &alg) == -1) {
        *errstr = "proof alg not accepted";
        goto fail;
    }
    /* The claims first: each is a string compare or two. */
    claims = jws.payload;
    if (!jwt_aud_contains(json_object_get(claims, "aud"), exp->aud)) {
        *errstr = "proof aud is not this issuer";
        goto fail;
    }
    now = jwt_clamp_time(exp->now);
    skew = jwt_clamp_skew(exp->skew);
    if (jsonlim_get_int(claims, "iat", 0, JWT_TIME_MAX, &iat) == -1) {
        *errstr = "proof iat missing or not an integer";
        goto fail;
    }
    if (iat > now + skew || iat < now - skew) {
        *errstr = "proof iat outside the allowed clock skew";
        goto fail;
    }
    if ((jti = jsonlim_get_string(claims, "jti", 1, PROOF_JTI_MAX)) == NULL) {
        *errstr = "proof jti must be a string of 1 to 64 characters";
        goto fail;
    }
    if ((act = jsonlim_get_string(claims, "act", 1, 32)) == NULL || exp->act == NULL ||
        strcmp(act, exp->act) != 0) {
        *errstr = "proof act does not match the request";
        goto fail;
    }
    if (exp->ath != NULL) {
        ath = jsonlim_get_string(claims, "ath", 1, 64);
        if (ath == NULL || strlen(ath) != strlen(exp->ath) ||
            !ids_ct_equal(ath, exp->ath, strlen(ath))) {
            *errstr = "proof ath does not match the token";
            goto fail;
        }
    }
    /* Then the key: decoded (no public-key operation), bound or enrollable. */
    if (!json_is_object(json_object_get(jws.header, "jwk"))) {
        *errstr = "proof header has no jwk object";
        goto fail;
    }
    if ((out->key = jwk_public_from_json(json_object_get(jws.header, "jwk"), errstr)) == NULL)
        goto fail;
    if (jwk_alg_of_key(out->key, &keyalg) == -1 || keyalg != alg) {
        *errstr = "proof alg does not match its jwk";
        goto fail;
    }
    if (jwk_thumbprint(out->key, out->jkt) == -1) {
        *errstr = "cannot compute the key thumbprint";
        goto fail;
    }
    if (exp->jkt != NULL) {
        if (strlen(exp->jkt) != JWK_THUMBPRINT_LEN ||
            !ids_ct_equal(exp->jkt, out->jkt, JWK_THUMBPRINT_LEN)) {
            *errstr = "the proof's key is not the key the token is bound to";
            rc = ERRCODE_BINDING_MISMATCH;
            goto fail;
        }
    } else if (!jwk_key_is_enrollable(out->key)) {
        *errstr = "proof key refused for a new device: RSA keys must be 2048 to 4096 bits "
                  "with e = 65537";
        goto fail;
    }
    /* Last, the one expensive step. */
    if (jws_verify(&jws, out->key) != ERRCODE_OK) {
        *errstr = "proof signature does not verify with its jwk";
        goto fail;
    }
    memcpy(out->jti, jti, strlen(jti) + 1);
    out->iat = iat;
    jws_clear(&jws);
    return ERRCODE_OK;
fail:
    jws_clear(&jws);
    proof_result_clear(out);
    return rc;
}

void
proof_result_clear(struct proof_result *r)
{
    if (r == NULL)
        return;
    EVP_PKEY_free(r->key);
    memset(r, 0, sizeof(*r));
}

int
proof_ath(const char *token, size_t len, char out[JWK_THUMBPRINT_LEN + 1])
{
    uint8_t digest[32];

    if (token == NULL || EVP_Digest(token, len, digest, NULL, EVP_sha256(), NULL) != 1) {
        ERR_clear_error();
        return -1;
    }
    return b64url_encode_buf(digest, sizeof(digest), out, JWK_THUMBPRINT_LEN + 1);
}
