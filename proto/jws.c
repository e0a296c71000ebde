/* JWS compact: building signing input, signing and verifying raw signatures
 * (ES256 in the JOSE r||s form), and the strict parser for tokens from outside. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "jsonlim.h"
#include "jws.h"

#define JWS_EC_COORD 32

char *
jws_signing_input(const json_t *header, const json_t *payload)
{
    char *hjson = NULL, *pjson = NULL, *h64 = NULL, *p64 = NULL, *out = NULL;
    size_t hl, pl;

    if (!json_is_object(header) || !json_is_object(payload))
        goto fail;
    if ((hjson = json_dumps(header, JSON_COMPACT)) == NULL ||
        (pjson = json_dumps(payload, JSON_COMPACT)) == NULL)
        goto fail;
    if ((h64 = b64url_encode(hjson, strlen(hjson))) == NULL ||
        (p64 = b64url_encode(pjson, strlen(pjson))) == NULL)
        goto fail;
    hl = strlen(h64);
    pl = strlen(p64);
    if ((out = malloc(hl + 1 + pl + 1)) == NULL)
        goto fail;
    memcpy(out, h64, hl);
    out[hl] = '.';
    memcpy(out + hl + 1, p64, pl + 1);
fail:
    free(hjson);
    free(pjson);
    free(h64);
    free(p64);
    return out;
}

/* A digest context for alg on key: SHA-256 for ES256 and RS256 (PKCS#1
 * v1.5 padding pinned), none for Ed25519. */
static EVP_MD_CTX *
jws_md_ctx(EVP_PKEY *key, enum jwk_alg alg, int sign)
{
    const EVP_MD *md = alg == JWK_ALG_EDDSA ? NULL : EVP_sha256();
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx;
    int rc;

    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return NULL;
    rc = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
              : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);
    if (rc != 1)
        goto fail;
    if (alg == JWK_ALG_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        goto fail;
    return ctx;
fail:
    EVP_MD_CTX_free(ctx);
    return NULL;
}

int
jws_sign_raw(EVP_PKEY *priv, enum jwk_alg alg, const void *msg, size_t len, uint8_t *sig,
             size_t *siglen)
{
    uint8_t der[256];
    size_t derlen = sizeof(der), need;
    const unsigned char *p = der;
    ECDSA_SIG *esig = NULL;
    EVP_MD_CTX *ctx = NULL;
    enum jwk_alg keyalg;
    int rc = -1;

    if (jwk_alg_of_key(priv, &keyalg) == -1 || keyalg != alg)
        goto fail;
    if ((ctx = jws_md_ctx(priv, alg, 1)) == NULL)
        goto fail;
    switch (alg) {
    case JWK_ALG_EDDSA:
    case JWK_ALG_RS256:
        if (EVP_DigestSign(ctx, NULL, &need, msg, len) != 1 || need > *siglen)
            goto fail;
        if (EVP_DigestSign(ctx, sig, siglen, msg, len) != 1)
            goto fail;
        break;
    case JWK_ALG_ES256:
        if (*siglen < 2 * JWS_EC_COORD)
            goto fail;
        if (EVP_DigestSign(ctx, der, &derlen, msg, len) != 1)
            goto fail;
        if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
            goto fail;
        if (BN_bn2binpad(ECDSA_SIG_get0_r(esig), sig, JWS_EC_COORD) != JWS_EC_COORD ||
            BN_bn2binpad(ECDSA_SIG_get0_s(esig), sig + JWS_EC_COORD, JWS_EC_COORD) != JWS_EC_COORD)
            goto fail;
        *siglen = 2 * JWS_EC_COORD;
        break;
    default:
        goto fail;
    }
    rc = 0;
fail:
    if (rc == -1)
        ERR_clear_error();
    ECDSA_SIG_free(esig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* DER ECDSA-Sig-Value from a JOSE r||s signature; *der malloc'd by OpenSSL. */
static int
jws_es256_der(const uint8_t *sig, unsigned char **der, int *derlen)
{
    ECDSA_SIG *esig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    int rc = -1;

    if ((esig = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, JWS_EC_COORD, NULL)) == NULL ||
        (s = BN_bin2bn(sig + JWS_EC_COORD, JWS_EC_COORD, NULL)) == NULL)
        goto fail;
    if (ECDSA_SIG_set0(esig, r, s) != 1)
        goto fail;
    r = s = NULL; /* now owned by esig */
    *der = NULL;
    if ((*derlen = i2d_ECDSA_SIG(esig, der)) <= 0)
        goto fail;
    rc = 0;
fail:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(esig);
    return rc;
}

int
jws_verify_raw(EVP_PKEY *pub, enum jwk_alg alg, const void *msg, size_t len, const uint8_t *sig,
               size_t siglen)
{
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = NULL;
    enum jwk_alg keyalg;
    int derlen, rc = -1;

    if (sig == NULL || jwk_alg_of_key(pub, &keyalg) == -1 || keyalg != alg)
        goto fail;
    switch (alg) {
    case JWK_ALG_EDDSA:
        if (siglen != 64)
            goto fail;
        break;
    case JWK_ALG_ES256:
        /* OpenSSL itself refuses r or s of zero or not below the order. */
        if (siglen != 2 * JWS_EC_COORD || jws_es256_der(sig, &der, &derlen) == -1)
            goto fail;
        sig = der;
        siglen = (size_t)derlen;
        break;
    case JWK_ALG_RS256:
        if (siglen != (size_t)EVP_PKEY_get_size(pub))
            goto fail;
        break;
    default:
        goto fail;
    }
    if ((ctx = jws_md_ctx(pub, alg, 0)) == NULL)
        goto fail;
    if (EVP_DigestVerify(ctx, sig, siglen, msg, len) != 1)
        goto fail;
    rc = 0;
fail:
    if (rc == -1)
        ERR_clear_error();
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return rc;
}

char *
jws_compact(const char *signing_input, const uint8_t *sig, size_t siglen)
{
    size_t il, sl;
    char *out;

    if (signing_input == NULL || sig == NULL || siglen > JWS_SIG_MAX)
        return NULL;
    il = strlen(signing_input);
    sl = b64url_encoded_len(siglen);
    if ((out = malloc(il + 1 + sl + 1)) == NULL)
        return NULL;
    memcpy(out, signing_input, il);
    out[il] = '.';
    (void)b64url_encode_buf(sig, siglen, out + il + 1, sl + 1);
    return out;
}

char *
jws_sign(EVP_PKEY *priv, enum jwk_alg alg, const json_t *header, const json_t *payload)
{
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);
    char *input, *out = NULL;

    if ((input = jws_signing_input(header, payload)) == NULL)
        return NULL;
    if (jws_sign_raw(priv, alg, input, strlen(input), sig, &siglen) == 0)
        out = jws_compact(input, sig, siglen);
    free(input);
    return out;
}

/* Decode one base64url segment holding a JSON object. */
static json_t *
jws_segment_json(const char *seg, size_t len, const char **errstr)
{
    uint8_t *buf = NULL;
    size_t n;
    json_t *obj = NULL;

    if (len == 0) {
        *errstr = "empty JWS segment";
        goto fail;
    }
    if (b64url_decode(seg, len, &buf, &n) == -1) {
        *errstr = "JWS segment is not strict base64url";
        goto fail;
    }
    obj = jsonlim_load_object((const char *)buf, n, JWS_MAX_LEN, JWS_MAX_DEPTH, errstr);
fail:
    free(buf);
    return obj;
}

int
jws_split(const char *compact, size_t len, struct jws_segments *out)
{
    const char *dot1, *dot2;

    if (compact == NULL || (dot1 = memchr(compact, '.', len)) == NULL ||
        (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - compact))) == NULL ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - compact)) != NULL)
        return -1;
    out->header = compact;
    out->header_len = (size_t)(dot1 - compact);
    out->payload = dot1 + 1;
    out->payload_len = (size_t)(dot2 - dot1 - 1);
    out->sig = dot2 + 1;
    out->sig_len = len - (size_t)(dot2 + 1 - compact);
    out->signing_input_len = (size_t)(dot2 - compact);
    return 0;
}

enum errcode
jws_parse(const char *compact, size_t len, struct jws *out, const char **errstr)
{
    struct jws_segments seg;
    json_t *v;

    memset(out, 0, sizeof(*out));
    if (compact == NULL || len == 0) {
        *errstr = "empty token";
        goto fail;
    }
    if (len > JWS_MAX_LEN) {
        *errstr = "token too long";
        goto fail;
    }
    if (jws_split(compact, len, &seg) == -1) {
        *errstr = "token is not three dot-separated segments";
        goto fail;
    }
    if ((out->header = jws_segment_json(seg.header, seg.header_len, errstr)) == NULL ||
        (out->payload = jws_segment_json(seg.payload, seg.payload_len, errstr)) == NULL)
        goto fail;
    if (b64url_decode(seg.sig, seg.sig_len, &out->sig, &out->siglen) == -1) {
        *errstr = "JWS signature is not strict base64url";
        goto fail;
    }
    if ((out->alg = jsonlim_get_string(out->header, "alg", 1, 32)) == NULL) {
        *errstr = "JWS header: alg missing or not a string";
        goto fail;
    }
    if ((v = json_object_get(out->header, "kid")) != NULL &&
        (out->kid = jsonlim_get_string(out->header, "kid", 1, JWK_KID_MAX)) == NULL) {
        *errstr = "JWS header: kid is not a string of 1 to 64 characters";
        goto fail;
    }
    if ((v = json_object_get(out->header, "typ")) != NULL &&
        (out->typ = jsonlim_get_string(out->header, "typ", 1, 64)) == NULL) {
        *errstr = "JWS header: typ is not a short string";
        goto fail;
    }
    if (json_object_get(out->header, "crit") != NULL) {
        *errstr = "JWS header: crit is not supported";
        goto fail;
    }
    out->signing_input_len = seg.signing_input_len;
    if ((out->signing_input = strndup(compact, out->signing_input_len)) == NULL) {
        *errstr = "out of memory";
        goto fail;
    }
    return ERRCODE_OK;
fail:
    jws_clear(out);
    return ERRCODE_INVALID_REQUEST;
}

void
jws_clear(struct jws *jws)
{
    if (jws == NULL)
        return;
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->signing_input);
    free(jws->sig);
    memset(jws, 0, sizeof(*jws));
}

int
jws_typ_is(const char *typ, const char *want)
{
    static const char prefix[] = "application/";

    if (typ == NULL || want == NULL)
        return 0;
    if (strncasecmp(typ, prefix, sizeof(prefix) - 1) == 0)
        typ += sizeof(prefix) - 1;
    return strcasecmp(typ, want) == 0;
}

enum errcode
jws_verify(const struct jws *jws, EVP_PKEY *pub)
{
    enum jwk_alg alg, named;

    if (jws == NULL || jws->alg == NULL || jws->signing_input == NULL)
        return ERRCODE_BAD_SIGNATURE;
    if (jwk_alg_of_key(pub, &alg) == -1 || jwk_alg_from_name(jws->alg, &named) == -1 ||
        named != alg)
        return ERRCODE_BAD_SIGNATURE;
    if (jws_verify_raw(pub, alg, jws->signing_input, jws->signing_input_len, jws->sig,
                       jws->siglen) == -1)
        return ERRCODE_BAD_SIGNATURE;
    return ERRCODE_OK;
}
