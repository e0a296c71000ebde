/* Keys as the wire sees them: algorithm names, public JWKs in and out,
 * RFC 7638 thumbprints, PKCS#8 for the sealed store, and JWKS sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "jsonlim.h"
#include "jwk.h"

#define JWK_EC_COORD 32
#define JWK_ED25519_LEN 32
#define JWK_RSA_E_MAX 4 /* bytes: e < 2^32 */
#define JWKS_MAX_DEPTH 8

#define JWK_ALG_NAME(alg, name) [alg] = name,
static const char *const jwk_alg_names[JWK_ALG_COUNT] = {JWK_ALGS(JWK_ALG_NAME)};
#undef JWK_ALG_NAME

/* Members that only a private (or symmetric) JWK carries. */
static const char *const jwk_private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* The public members of a key, base64url-encoded (malloc'd). */
struct jwk_members {
    const char *kty;
    const char *crv; /* NULL for RSA */
    char *x, *y;     /* OKP: x; EC: x, y */
    char *n, *e;     /* RSA */
};

struct jwks_entry {
    char kid[JWK_KID_MAX + 1];
    enum jwk_alg alg;
    EVP_PKEY *key;
};

struct jwks {
    size_t count;
    struct jwks_entry keys[JWKS_MAX_KEYS];
};

const char *
jwk_alg_name(enum jwk_alg alg)
{
    return (unsigned)alg < JWK_ALG_COUNT ? jwk_alg_names[alg] : NULL;
}

int
jwk_alg_from_name(const char *name, enum jwk_alg *out)
{
    /* RFC 9864: the fully specified name means the same for our key type. */
    static const struct {
        const char *name;
        enum jwk_alg alg;
    } aliases[] = {{"Ed25519", JWK_ALG_EDDSA}};

    if (name == NULL)
        return -1;
    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        if (strcmp(name, jwk_alg_names[i]) == 0) {
            *out = (enum jwk_alg)i;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcmp(name, aliases[i].name) == 0) {
            *out = aliases[i].alg;
            return 0;
        }
    }
    return -1;
}

int
jwk_key_is_enrollable(EVP_PKEY *key)
{
    BIGNUM *e = NULL;
    enum jwk_alg alg;
    int ok;

    if (jwk_alg_of_key(key, &alg) == -1)
        return 0;
    if (alg != JWK_ALG_RS256)
        return 1;
    if (EVP_PKEY_get_bits(key) > JWK_RSA_NEW_MAX_BITS ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        ERR_clear_error();
        return 0;
    }
    ok = BN_is_word(e, 65537);
    BN_free(e);
    return ok;
}

int
jwk_alg_of_key(EVP_PKEY *key, enum jwk_alg *out)
{
    char group[64];
    int bits;

    if (key == NULL)
        return -1;
    if (EVP_PKEY_is_a(key, "ED25519")) {
        *out = JWK_ALG_EDDSA;
        return 0;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        if (EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) != 1) {
            ERR_clear_error();
            return -1;
        }
        if (OBJ_sn2nid(group) != NID_X9_62_prime256v1 &&
            EC_curve_nist2nid(group) != NID_X9_62_prime256v1)
            return -1;
        *out = JWK_ALG_ES256;
        return 0;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        bits = EVP_PKEY_get_bits(key);
        if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS)
            return -1;
        *out = JWK_ALG_RS256;
        return 0;
    }
    return -1;
}

EVP_PKEY *
jwk_generate(enum jwk_alg alg, const char **errstr)
{
    EVP_PKEY *key = NULL;

    switch (alg) {
    case JWK_ALG_EDDSA:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case JWK_ALG_ES256:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case JWK_ALG_RS256:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)JWK_RSA_MIN_BITS);
        break;
    default:
        *errstr = "unknown algorithm";
        return NULL;
    }
    if (key == NULL) {
        ERR_clear_error();
        *errstr = "key generation failed";
    }
    return key;
}

/* base64url of a BIGNUM parameter, big-endian; padded to pad bytes when pad
 * is not 0, else minimal. NULL on failure. */
static char *
jwk_bn_b64(EVP_PKEY *key, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    uint8_t buf[JWK_RSA_MAX_BITS / 8];
    char *out = NULL;
    int n;

    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
        goto fail;
    if (pad > 0) {
        if (BN_bn2binpad(bn, buf, pad) != pad)
            goto fail;
        n = pad;
    } else {
        if (BN_num_bytes(bn) > (int)sizeof(buf))
            goto fail;
        n = BN_bn2bin(bn, buf);
    }
    out = b64url_encode(buf, (size_t)n);
fail:
    if (out == NULL)
        ERR_clear_error();
    BN_free(bn);
    return out;
}

static void
jwk_members_clear(struct jwk_members *m)
{
    free(m->x);
    free(m->y);
    free(m->n);
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* Fill m with key's public members. 0/-1. */
static int
jwk_members_get(EVP_PKEY *key, struct jwk_members *m)
{
    uint8_t raw[JWK_ED25519_LEN];
    size_t rawlen = sizeof(raw);
    enum jwk_alg alg;

    memset(m, 0, sizeof(*m));
    if (jwk_alg_of_key(key, &alg) == -1)
        return -1;
    switch (alg) {
    case JWK_ALG_EDDSA:
        m->kty = "OKP";
        m->crv = "Ed25519";
        if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1 || rawlen != sizeof(raw))
            goto fail;
        if ((m->x = b64url_encode(raw, rawlen)) == NULL)
            goto fail;
        return 0;
    case JWK_ALG_ES256:
        m->kty = "EC";
        m->crv = "P-256";
        m->x = jwk_bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, JWK_EC_COORD);
        m->y = jwk_bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, JWK_EC_COORD);
        if (m->x == NULL || m->y == NULL)
            goto fail;
        return 0;
    case JWK_ALG_RS256:
        m->kty = "RSA";
        m->n = jwk_bn_b64(key, OSSL_PKEY_PARAM_RSA_N, 0);
        m->e = jwk_bn_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
        if (m->n == NULL || m->e == NULL)
            goto fail;
        return 0;
    default:
        break;
    }
fail:
    ERR_clear_error();
    jwk_members_clear(m);
    return -1;
}

json_t *
jwk_public_to_json(EVP_PKEY *key, const char *kid)
{
    struct jwk_members m;
    json_t *obj = NULL;
    enum jwk_alg alg;
    int rc = 0;

    if (jwk_members_get(key, &m) == -1)
        return NULL;
    (void)jwk_alg_of_key(key, &alg);
    if ((obj = json_object()) == NULL)
        goto fail;
    rc |= json_object_set_new(obj, "kty", json_string(m.kty));
    if (m.crv != NULL) {
        rc |= json_object_set_new(obj, "crv", json_string(m.crv));
        rc |= json_object_set_new(obj, "x", json_string(m.x));
        if (m.y != NULL)
            rc |= json_object_set_new(obj, "y", json_string(m.y));
    } else {
        rc |= json_object_set_new(obj, "n", json_string(m.n));
        rc |= json_object_set_new(obj, "e", json_string(m.e));
    }
    if (kid != NULL) {
        rc |= json_object_set_new(obj, "kid", json_string(kid));
        rc |= json_object_set_new(obj, "alg", json_string(jwk_alg_name(alg)));
        rc |= json_object_set_new(obj, "use", json_string("sig"));
    }
    if (rc != 0)
        goto fail;
    jwk_members_clear(&m);
    return obj;
fail:
    json_decref(obj);
    jwk_members_clear(&m);
    return NULL;
}

/* Decode a base64url member of jwk into buf; its decoded length must be in
 * [minlen, maxlen] (maxlen <= bufsz). 0/-1. */
static int
jwk_get_bytes(const json_t *jwk, const char *name, uint8_t *buf, size_t minlen, size_t maxlen,
              size_t *outlen)
{
    const char *s = jsonlim_get_string(jwk, name, 1, b64url_encoded_len(maxlen));

    if (s == NULL)
        return -1;
    if (b64url_decode_buf(s, strlen(s), buf, maxlen, outlen) == -1)
        return -1;
    return *outlen >= minlen ? 0 : -1;
}

static EVP_PKEY *
jwk_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;

    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto fail;
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
        goto fail;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto fail;
fail:
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* The y coordinates (little-endian, sign bit cleared) of every Ed25519 point
 * of order 1, 2, 4 or 8, canonical and not (p, p + 1 and p - 1 alias 0, 1 and
 * -1): with the sign bit either way they cover all small-order encodings,
 * as libsodium's blocklist does. A public key among them lets a signature
 * verify without a private key. */
static const uint8_t jwk_ed25519_small_order[][JWK_ED25519_LEN] = {
    /* 0 (order 4) */
    {0},
    /* 1 (the identity) */
    {0x01},
    /* order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    /* order 8 */
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    /* p - 1 (order 2) */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* p (= 0) */
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* p + 1 (= 1) */
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

/* 1 when x is a small-order point or a non-canonical encoding (y >= p). */
static int
jwk_ed25519_weak(const uint8_t x[JWK_ED25519_LEN])
{
    uint8_t y[JWK_ED25519_LEN];
    int i, high = 1;

    memcpy(y, x, sizeof(y));
    y[JWK_ED25519_LEN - 1] &= 0x7f;
    for (size_t k = 0; k < sizeof(jwk_ed25519_small_order) / sizeof(jwk_ed25519_small_order[0]);
         k++)
        if (memcmp(y, jwk_ed25519_small_order[k], sizeof(y)) == 0)
            return 1;
    /* y >= p = 2^255 - 19: 0x7f, then 30 bytes of 0xff, then a low byte >= 0xed. */
    if (y[JWK_ED25519_LEN - 1] != 0x7f)
        high = 0;
    for (i = 1; high && i < JWK_ED25519_LEN - 1; i++)
        if (y[i] != 0xff)
            high = 0;
    return high && y[0] >= 0xed;
}

static EVP_PKEY *
jwk_okp_from_json(const json_t *jwk, const char **errstr)
{
    const char *crv = jsonlim_get_string(jwk, "crv", 1, 16);
    uint8_t x[JWK_ED25519_LEN];
    size_t xlen;
    EVP_PKEY *key;

    if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
        *errstr = "OKP key: crv must be Ed25519";
        return NULL;
    }
    if (jwk_get_bytes(jwk, "x", x, sizeof(x), sizeof(x), &xlen) == -1) {
        *errstr = "OKP key: x must be 32 bytes of base64url";
        return NULL;
    }
    if (jwk_ed25519_weak(x)) {
        *errstr = "OKP key: a small-order or non-canonical Ed25519 point";
        return NULL;
    }
    if ((key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen)) == NULL) {
        ERR_clear_error();
        *errstr = "OKP key: not an Ed25519 public key";
    }
    return key;
}

static EVP_PKEY *
jwk_ec_from_json(const json_t *jwk, const char **errstr)
{
    const char *crv = jsonlim_get_string(jwk, "crv", 1, 16);
    uint8_t point[1 + 2 * JWK_EC_COORD];
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *key = NULL;
    size_t len;

    if (crv == NULL || strcmp(crv, "P-256") != 0) {
        *errstr = "EC key: crv must be P-256";
        goto fail;
    }
    /* Uncompressed point 04 || x || y; each coordinate exactly 32 bytes. */
    point[0] = 0x04;
    if (jwk_get_bytes(jwk, "x", point + 1, JWK_EC_COORD, JWK_EC_COORD, &len) == -1 ||
        jwk_get_bytes(jwk, "y", point + 1 + JWK_EC_COORD, JWK_EC_COORD, JWK_EC_COORD, &len) == -1) {
        *errstr = "EC key: x and y must be 32 bytes of base64url each";
        goto fail;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1) {
        *errstr = "out of memory";
        goto fail;
    }
    if ((key = jwk_from_params("EC", bld)) == NULL) {
        *errstr = "EC key: point is not on P-256";
        goto fail;
    }
    /* fromdata decodes the point (which checks the curve equation); the
     * explicit check also refuses the point at infinity and wrong order. */
    if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
        EVP_PKEY_public_check(check) != 1) {
        *errstr = "EC key: point is not on P-256";
        EVP_PKEY_free(key);
        key = NULL;
        goto fail;
    }
fail:
    if (key == NULL)
        ERR_clear_error();
    EVP_PKEY_CTX_free(check);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

static EVP_PKEY *
jwk_rsa_from_json(const json_t *jwk, const char **errstr)
{
    uint8_t nbuf[JWK_RSA_MAX_BITS / 8], ebuf[JWK_RSA_E_MAX];
    size_t nlen, elen;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *key = NULL;

    if (jwk_get_bytes(jwk, "n", nbuf, JWK_RSA_MIN_BITS / 8, sizeof(nbuf), &nlen) == -1 ||
        nbuf[0] == 0) {
        *errstr = "RSA key: n must be a 2048 to 8192-bit modulus without leading zeros";
        goto fail;
    }
    if (jwk_get_bytes(jwk, "e", ebuf, 1, sizeof(ebuf), &elen) == -1 || ebuf[0] == 0 ||
        (ebuf[elen - 1] & 1) == 0 || (elen == 1 && ebuf[0] < 3)) {
        *errstr = "RSA key: e must be an odd exponent of 3 to 2^32-1 without leading zeros";
        goto fail;
    }
    if ((n = BN_bin2bn(nbuf, (int)nlen, NULL)) == NULL ||
        (e = BN_bin2bn(ebuf, (int)elen, NULL)) == NULL) {
        *errstr = "out of memory";
        goto fail;
    }
    if (BN_num_bits(n) < JWK_RSA_MIN_BITS || !BN_is_odd(n)) {
        *errstr = "RSA key: modulus too small (2048 bits at least)";
        goto fail;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
        *errstr = "out of memory";
        goto fail;
    }
    if ((key = jwk_from_params("RSA", bld)) == NULL)
        *errstr = "RSA key: refused by OpenSSL";
fail:
    if (key == NULL)
        ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return key;
}

EVP_PKEY *
jwk_public_from_json(const json_t *jwk, const char **errstr)
{
    const char *kty, *use, *algname;
    EVP_PKEY *key = NULL;
    enum jwk_alg alg, keyalg;
    size_t i;

    if (!json_is_object(jwk)) {
        *errstr = "JWK is not an object";
        goto fail;
    }
    for (i = 0; i < sizeof(jwk_private_members) / sizeof(jwk_private_members[0]); i++) {
        if (json_object_get(jwk, jwk_private_members[i]) != NULL) {
            *errstr = "JWK carries private key material";
            goto fail;
        }
    }
    if ((kty = jsonlim_get_string(jwk, "kty", 1, 16)) == NULL) {
        *errstr = "JWK: kty missing or not a string";
        goto fail;
    }
    if (json_object_get(jwk, "use") != NULL &&
        ((use = jsonlim_get_string(jwk, "use", 1, 16)) == NULL || strcmp(use, "sig") != 0)) {
        *errstr = "JWK: use is not sig";
        goto fail;
    }
    if (strcmp(kty, "OKP") == 0)
        key = jwk_okp_from_json(jwk, errstr);
    else if (strcmp(kty, "EC") == 0)
        key = jwk_ec_from_json(jwk, errstr);
    else if (strcmp(kty, "RSA") == 0)
        key = jwk_rsa_from_json(jwk, errstr);
    else if (strcmp(kty, "oct") == 0)
        *errstr = "JWK: symmetric keys are refused";
    else
        *errstr = "JWK: unsupported kty";
    if (key == NULL)
        goto fail;
    if (jwk_alg_of_key(key, &keyalg) == -1) {
        *errstr = "JWK: key not usable with our algorithms";
        goto fail;
    }
    if (json_object_get(jwk, "alg") != NULL &&
        ((algname = jsonlim_get_string(jwk, "alg", 1, 16)) == NULL ||
         jwk_alg_from_name(algname, &alg) == -1 || alg != keyalg)) {
        *errstr = "JWK: alg does not match the key";
        goto fail;
    }
    return key;
fail:
    EVP_PKEY_free(key);
    return NULL;
}

int
jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1])
{
    struct jwk_members m;
    uint8_t digest[32];
    char *canon = NULL;
    int len, rc = -1;

    if (jwk_members_get(key, &m) == -1)
        return -1;
    /* RFC 7638 §3.2: required members only, lexicographic order, no spaces;
     * values are base64url or fixed names, so nothing needs escaping. */
    if (m.n != NULL)
        len = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m.e, m.n);
    else if (m.y != NULL)
        len = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", m.crv,
                       m.kty, m.x, m.y);
    else
        len = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\"}", m.crv, m.kty, m.x);
    if (len < 0) {
        canon = NULL;
        goto fail;
    }
    if (EVP_Digest(canon, (size_t)len, digest, NULL, EVP_sha256(), NULL) != 1)
        goto fail;
    rc = b64url_encode_buf(digest, sizeof(digest), out, JWK_THUMBPRINT_LEN + 1);
fail:
    if (rc == -1)
        ERR_clear_error();
    free(canon);
    jwk_members_clear(&m);
    return rc;
}

int
jwk_private_to_der(EVP_PKEY *key, uint8_t **der, size_t *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    unsigned char *buf = NULL;
    enum jwk_alg alg;
    int n, rc = -1;

    if (jwk_alg_of_key(key, &alg) == -1)
        goto fail;
    /* The PKCS8 structure wipes its key octets when freed. */
    if ((p8 = EVP_PKEY2PKCS8(key)) == NULL)
        goto fail;
    if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf)) <= 0)
        goto fail;
    *der = buf;
    *len = (size_t)n;
    rc = 0;
fail:
    if (rc == -1)
        ERR_clear_error();
    PKCS8_PRIV_KEY_INFO_free(p8);
    return rc;
}

EVP_PKEY *
jwk_private_from_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *key = NULL;
    enum jwk_alg alg;

    if (der == NULL || len == 0 || len > 16384)
        goto fail;
    if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL || p != der + len)
        goto fail;
    if ((key = EVP_PKCS82PKEY(p8)) == NULL)
        goto fail;
    if (jwk_alg_of_key(key, &alg) == -1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
fail:
    if (key == NULL)
        ERR_clear_error();
    PKCS8_PRIV_KEY_INFO_free(p8);
    return key;
}

struct jwks *
jwks_new(void)
{
    return calloc(1, sizeof(struct jwks));
}

void
jwks_free(struct jwks *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->count; i++)
        EVP_PKEY_free(set->keys[i].key);
    free(set);
}

int
jwks_add(struct jwks *set, const char *kid, EVP_PKEY *pub)
{
    struct jwks_entry *ent;
    enum jwk_alg alg;
    size_t len;

    if (set == NULL || kid == NULL || set->count >= JWKS_MAX_KEYS)
        return -1;
    len = strlen(kid);
    if (len == 0 || len > JWK_KID_MAX || jwks_find(set, kid, NULL) != NULL)
        return -1;
    if (jwk_alg_of_key(pub, &alg) == -1 || EVP_PKEY_up_ref(pub) != 1)
        return -1;
    ent = &set->keys[set->count++];
    memcpy(ent->kid, kid, len + 1);
    ent->alg = alg;
    ent->key = pub;
    return 0;
}

EVP_PKEY *
jwks_find(const struct jwks *set, const char *kid, enum jwk_alg *alg)
{
    if (set == NULL || kid == NULL)
        return NULL;
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->keys[i].kid, kid) == 0) {
            if (alg != NULL)
                *alg = set->keys[i].alg;
            return set->keys[i].key;
        }
    }
    return NULL;
}

size_t
jwks_count(const struct jwks *set)
{
    return set != NULL ? set->count : 0;
}

/* 1 when a JWKS entry names a key type, curve, use and alg we can verify with
 * (so that a malformed one is an error), 0 when it is to be skipped. */
static int
jwks_usable(const json_t *jwk)
{
    const char *kty = jsonlim_get_string(jwk, "kty", 1, 16);
    const char *crv = jsonlim_get_string(jwk, "crv", 1, 16);
    const char *use = jsonlim_get_string(jwk, "use", 1, 16);
    const char *alg = jsonlim_get_string(jwk, "alg", 1, 16);
    enum jwk_alg a;

    if (kty == NULL || jsonlim_get_string(jwk, "kid", 1, JWK_KID_MAX) == NULL)
        return 0;
    if (json_object_get(jwk, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0))
        return 0;
    if (json_object_get(jwk, "alg") != NULL && (alg == NULL || jwk_alg_from_name(alg, &a) == -1))
        return 0;
    if (strcmp(kty, "OKP") == 0)
        return crv != NULL && strcmp(crv, "Ed25519") == 0;
    if (strcmp(kty, "EC") == 0)
        return crv != NULL && strcmp(crv, "P-256") == 0;
    return strcmp(kty, "RSA") == 0;
}

struct jwks *
jwks_parse(const char *doc, size_t len, const char **errstr)
{
    struct jwks *set = NULL;
    json_t *root = NULL, *keys, *jwk;
    EVP_PKEY *key = NULL;
    size_t i;

    if (doc == NULL) {
        *errstr = "no JWKS document";
        goto fail;
    }
    if ((root = jsonlim_load_object(doc, len, JWKS_MAX_DOC, JWKS_MAX_DEPTH, errstr)) == NULL)
        goto fail;
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        *errstr = "JWKS: keys is not an array";
        goto fail;
    }
    if (json_array_size(keys) > JWKS_MAX_KEYS) {
        *errstr = "JWKS: too many keys";
        goto fail;
    }
    if ((set = jwks_new()) == NULL) {
        *errstr = "out of memory";
        goto fail;
    }
    json_array_foreach(keys, i, jwk)
    {
        if (!json_is_object(jwk)) {
            *errstr = "JWKS: a key is not an object";
            goto fail;
        }
        if (!jwks_usable(jwk))
            continue;
        if ((key = jwk_public_from_json(jwk, errstr)) == NULL)
            goto fail;
        if (jwks_add(set, json_string_value(json_object_get(jwk, "kid")), key) == -1) {
            *errstr = "JWKS: repeated kid";
            goto fail;
        }
        EVP_PKEY_free(key);
        key = NULL;
    }
    json_decref(root);
    return set;
fail:
    EVP_PKEY_free(key);
    jwks_free(set);
    json_decref(root);
    return NULL;
}
