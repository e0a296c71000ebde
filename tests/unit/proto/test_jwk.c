/* jwk: algorithm names, key kinds, JWK import/export and every refusal,
 * RFC 7638 / RFC 8037 thumbprints, PKCS#8 round trips, JWKS sets. */
#include "testutil.h"
#include "vectors.h"

#include <openssl/core_names.h>

static EVP_PKEY *keys[JWK_ALG_COUNT];

static int
setup(void **state)
{
    const char *err = NULL;

    for (int i = 0; i < JWK_ALG_COUNT; i++)
        if ((keys[i] = jwk_generate((enum jwk_alg)i, &err)) == NULL)
            return -1;
    return 0;
}

static int
teardown(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

/* Parse JWK text; NULL when refused (the reason in *err). */
static EVP_PKEY *
from_text(const char *text, const char **err)
{
    json_t *j = tu_json(text);
    EVP_PKEY *k = jwk_public_from_json(j, err);

    json_decref(j);
    return k;
}

static void
assert_refused(const char *text)
{
    const char *err = NULL;
    EVP_PKEY *k = from_text(text, &err);

    if (k != NULL)
        fail_msg("accepted: %s", text);
    assert_non_null(err);
}

static void
test_alg_names(void **state)
{
    enum jwk_alg a;

    assert_string_equal(jwk_alg_name(JWK_ALG_EDDSA), "EdDSA");
    assert_string_equal(jwk_alg_name(JWK_ALG_ES256), "ES256");
    assert_string_equal(jwk_alg_name(JWK_ALG_RS256), "RS256");
    assert_null(jwk_alg_name(JWK_ALG_COUNT));
    assert_int_equal(jwk_alg_from_name("EdDSA", &a), 0);
    assert_int_equal(a, JWK_ALG_EDDSA);
    assert_int_equal(jwk_alg_from_name("ES256", &a), 0);
    assert_int_equal(a, JWK_ALG_ES256);
    assert_int_equal(jwk_alg_from_name("RS256", &a), 0);
    assert_int_equal(a, JWK_ALG_RS256);
    /* RFC 9864: the fully specified name of EdDSA with Ed25519 */
    assert_int_equal(jwk_alg_from_name("Ed25519", &a), 0);
    assert_int_equal(a, JWK_ALG_EDDSA);
    assert_string_equal(jwk_alg_name(JWK_ALG_EDDSA), "EdDSA"); /* what we write */
    static const char *bad[] = {"none",  "HS256",   "HS384", "HS512", "PS256",  "ES384",
                                "RS512", "ed25519", "eddsa", "",      "EdDSA ", "Ed448"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jwk_alg_from_name(bad[i], &a), -1);
    assert_int_equal(jwk_alg_from_name(NULL, &a), -1);
}

static void
test_alg_of_key(void **state)
{
    enum jwk_alg a;
    EVP_PKEY *k;

    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        assert_int_equal(jwk_alg_of_key(keys[i], &a), 0);
        assert_int_equal(a, i);
    }
    assert_int_equal(jwk_alg_of_key(NULL, &a), -1);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(k);
    assert_int_equal(jwk_alg_of_key(k, &a), -1);
    EVP_PKEY_free(k);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(k);
    assert_int_equal(jwk_alg_of_key(k, &a), -1);
    EVP_PKEY_free(k);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    assert_non_null(k);
    assert_int_equal(jwk_alg_of_key(k, &a), -1);
    EVP_PKEY_free(k);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_non_null(k);
    assert_int_equal(jwk_alg_of_key(k, &a), -1);
    EVP_PKEY_free(k);
}

static void
test_generate_unknown(void **state)
{
    const char *err = NULL;

    assert_null(jwk_generate(JWK_ALG_COUNT, &err));
    assert_non_null(err);
}

static void
test_round_trip(void **state)
{
    static const char *members[JWK_ALG_COUNT][3] = {
        {"x", NULL, NULL}, {"x", "y", NULL}, {"n", "e", NULL}};
    static const char *forbidden[] = {"d", "p", "q", "dp", "dq", "qi", "k"};

    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char t1[44], t2[44];
        const char *err = NULL;
        json_t *j = jwk_public_to_json(keys[i], NULL), *jk;
        EVP_PKEY *pub;
        enum jwk_alg a;

        assert_non_null(j);
        for (int m = 0; members[i][m] != NULL; m++)
            assert_true(json_is_string(json_object_get(j, members[i][m])));
        for (size_t f = 0; f < sizeof(forbidden) / sizeof(forbidden[0]); f++)
            assert_null(json_object_get(j, forbidden[f]));
        assert_null(json_object_get(j, "kid"));
        assert_null(json_object_get(j, "alg"));
        pub = jwk_public_from_json(j, &err);
        assert_non_null(pub);
        assert_int_equal(jwk_alg_of_key(pub, &a), 0);
        assert_int_equal(a, i);
        assert_int_equal(EVP_PKEY_eq(pub, keys[i]), 1);
        assert_int_equal(jwk_thumbprint(keys[i], t1), 0);
        assert_int_equal(jwk_thumbprint(pub, t2), 0);
        assert_string_equal(t1, t2);
        assert_int_equal(strlen(t1), 43);

        jk = jwk_public_to_json(pub, "key-1");
        assert_string_equal(json_string_value(json_object_get(jk, "kid")), "key-1");
        assert_string_equal(json_string_value(json_object_get(jk, "alg")), jwk_alg_name(a));
        assert_string_equal(json_string_value(json_object_get(jk, "use")), "sig");
        EVP_PKEY_free(pub);
        /* alg, kid and use round-trip too */
        pub = jwk_public_from_json(jk, &err);
        assert_non_null(pub);
        EVP_PKEY_free(pub);
        json_decref(jk);
        json_decref(j);
    }
}

static void
test_thumbprint_rfc8037(void **state)
{
    const char *err = NULL;
    char t[44];
    EVP_PKEY *k = from_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}", &err);

    assert_non_null(k);
    assert_int_equal(jwk_thumbprint(k, t), 0);
    assert_string_equal(t, RFC8037_THUMBPRINT);
    EVP_PKEY_free(k);
}

static void
test_thumbprint_rfc7638(void **state)
{
    const char *err = NULL;
    char t[44];
    /* Optional members (alg, kid) do not count. */
    EVP_PKEY *k = from_text("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N
                            "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
                            &err);

    assert_non_null(k);
    assert_int_equal(jwk_thumbprint(k, t), 0);
    assert_string_equal(t, RFC7638_THUMBPRINT);
    EVP_PKEY_free(k);
}

static void
test_thumbprint_unusable_key(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    char t[44];

    assert_int_equal(jwk_thumbprint(k, t), -1);
    assert_null(jwk_public_to_json(k, NULL));
    EVP_PKEY_free(k);
}

static void
test_private_members_refused(void **state)
{
    static const char *members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    char buf[512];

    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        snprintf(buf, sizeof(buf),
                 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\",\"%s\":\"AAAA\"}",
                 members[i]);
        assert_refused(buf);
    }
    /* The RFC 8037 private JWK as given. */
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D "\",\"x\":\"" RFC8037_X
                   "\"}");
}

static void
test_kty_refused(void **state)
{
    assert_refused("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ\"}");
    assert_refused("{\"kty\":\"oct\"}");
    assert_refused("{\"kty\":\"XYZ\",\"x\":\"" RFC8037_X "\"}");
    assert_refused("{\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}");
    assert_refused("{\"kty\":1,\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}");
    assert_refused("[]");
}

static void
test_okp_refused(void **state)
{
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" RFC8037_X "\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" RFC8037_X "\"}");
    assert_refused("{\"kty\":\"OKP\",\"x\":\"" RFC8037_X "\"}");
    /* 31 and 33 bytes */
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
                   "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUQ\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "AA\"}");
    /* padded, or not base64url */
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "=\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS+"
                   "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":42}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}");
}

static void
test_ec_refused(void **state)
{
    const char *err = NULL;
    EVP_PKEY *k;

    k = from_text("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X
                  "\",\"y\":\"" RFC7515_EC_Y "\"}",
                  &err);
    assert_non_null(k);
    EVP_PKEY_free(k);
    /* Off the curve: the last bit of y flipped (...I5a0 -> ...I5a1). */
    assert_refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X
                   "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}");
    /* x = y = 0 */
    assert_refused("{\"kty\":\"EC\",\"crv\":\"P-256\","
                   "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                   "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
    assert_refused("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" RFC7515_EC_X
                   "\",\"y\":\"" RFC7515_EC_Y "\"}");
    assert_refused("{\"kty\":\"EC\",\"x\":\"" RFC7515_EC_X "\",\"y\":\"" RFC7515_EC_Y "\"}");
    assert_refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X "\"}");
    /* 31-byte x, 33-byte y (leading zero) */
    assert_refused(
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA\","
        "\"y\":\"" RFC7515_EC_Y "\"}");
    assert_refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X
                   "\",\"y\":\"AMfxRM0bvZt-hyzf7bnuufSzaV1uqQsnrYpGIyiFiOWt\"}");
}

/* base64url of an RSA key's n. */
static char *
rsa_n(EVP_PKEY *k)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    int n;
    char *out;

    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
    n = BN_bn2bin(bn, buf);
    out = b64url_encode(buf, (size_t)n);
    BN_free(bn);
    return out;
}

static void
test_rsa_refused(void **state)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char *n = rsa_n(small), buf[2048];
    uint8_t raw[512], *dec;
    size_t len;
    char *zero_n;

    snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n);
    assert_refused(buf);
    /* Leading zero byte on a good modulus. */
    assert_int_equal(b64url_decode(RFC7638_N, strlen(RFC7638_N), &dec, &len), 0);
    raw[0] = 0;
    memcpy(raw + 1, dec, len);
    zero_n = b64url_encode(raw, len + 1);
    snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", zero_n);
    assert_refused(buf);
    /* Exponents: even, 1, leading zero, 5 bytes, missing. */
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAA\"}");
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"}");
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AAEAAQ\"}");
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAAAAE\"}");
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}");
    assert_refused("{\"kty\":\"RSA\",\"e\":\"AQAB\"}");
    free(n);
    free(zero_n);
    free(dec);
    EVP_PKEY_free(small);
}

static void
test_alg_and_use_members(void **state)
{
    const char *err = NULL;
    EVP_PKEY *k;

    k = from_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
                  "\",\"alg\":\"EdDSA\",\"use\":\"sig\"}",
                  &err);
    assert_non_null(k);
    EVP_PKEY_free(k);
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
                   "\",\"alg\":\"ES256\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
                   "\",\"alg\":\"HS256\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
                   "\",\"alg\":\"none\"}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\",\"alg\":7}");
    assert_refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\",\"use\":\"enc\"}");
    assert_refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"PS256\"}");
}

static void
test_private_der(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        uint8_t *der = NULL, sig[JWS_SIG_MAX];
        size_t len = 0, siglen = sizeof(sig);
        EVP_PKEY *back;

        assert_int_equal(jwk_private_to_der(keys[i], &der, &len), 0);
        assert_true(len > 32);
        back = jwk_private_from_der(der, len);
        assert_non_null(back);
        assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
        assert_int_equal(jws_sign_raw(back, (enum jwk_alg)i, "msg", 3, sig, &siglen), 0);
        assert_int_equal(jws_verify_raw(keys[i], (enum jwk_alg)i, "msg", 3, sig, siglen), 0);
        EVP_PKEY_free(back);
        /* truncated, trailing garbage, empty */
        assert_null(jwk_private_from_der(der, len - 1));
        {
            uint8_t *longer = malloc(len + 1);

            memcpy(longer, der, len);
            longer[len] = 0;
            assert_null(jwk_private_from_der(longer, len + 1));
            free(longer);
        }
        assert_null(jwk_private_from_der(der, 0));
        assert_null(jwk_private_from_der(NULL, 10));
        OPENSSL_clear_free(der, len);
    }
}

static void
test_private_der_refuses_other_keys(void **state)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    unsigned char *der = NULL;
    uint8_t *der2 = NULL;
    size_t len2;
    int len;

    /* jwk_private_to_der refuses it outright; encode it by hand instead. */
    assert_int_equal(jwk_private_to_der(small, &der2, &len2), -1);
    len = i2d_PrivateKey(small, &der);
    assert_true(len > 0);
    assert_null(jwk_private_from_der(der, (size_t)len));
    OPENSSL_free(der);
    EVP_PKEY_free(small);
    assert_null(jwk_private_from_der((const uint8_t *)"\x30\x03\x02\x01\x00", 5));
}

static void
test_jwks_add_find(void **state)
{
    struct jwks *set = jwks_new();
    char kid[80];
    enum jwk_alg a;

    assert_int_equal(jwks_count(set), 0);
    assert_int_equal(jwks_add(set, "a", keys[0]), 0);
    assert_int_equal(jwks_add(set, "b", keys[1]), 0);
    assert_int_equal(jwks_add(set, "c", keys[2]), 0);
    assert_int_equal(jwks_add(set, "a", keys[1]), -1); /* repeated kid */
    assert_int_equal(jwks_add(set, "", keys[1]), -1);
    memset(kid, 'k', 65);
    kid[65] = '\0';
    assert_int_equal(jwks_add(set, kid, keys[1]), -1);
    kid[64] = '\0';
    assert_int_equal(jwks_add(set, kid, keys[1]), 0);
    assert_int_equal(jwks_add(set, NULL, keys[1]), -1);
    assert_int_equal(jwks_count(set), 4);
    assert_ptr_equal(jwks_find(set, "b", &a), keys[1]);
    assert_int_equal(a, JWK_ALG_ES256);
    assert_ptr_equal(jwks_find(set, "c", NULL), keys[2]);
    assert_null(jwks_find(set, "d", &a));
    assert_null(jwks_find(set, NULL, &a));
    assert_null(jwks_find(NULL, "a", &a));
    for (int i = 4; i < JWKS_MAX_KEYS; i++) {
        snprintf(kid, sizeof(kid), "k%d", i);
        assert_int_equal(jwks_add(set, kid, keys[0]), 0);
    }
    assert_int_equal(jwks_add(set, "one-too-many", keys[0]), -1);
    assert_int_equal(jwks_count(set), JWKS_MAX_KEYS);
    jwks_free(set);
    jwks_free(NULL);
}

static char *
jwks_doc(const char *extra)
{
    json_t *arr = json_array(), *doc;
    char *text, *out;

    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char kid[16];

        snprintf(kid, sizeof(kid), "k%d", i);
        json_array_append_new(arr, jwk_public_to_json(keys[i], kid));
    }
    doc = json_pack("{s:o}", "keys", arr);
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    /* splice extra entries in before the closing "]}" */
    if (extra != NULL) {
        text[strlen(text) - 2] = '\0';
        assert_true(asprintf(&out, "%s,%s]}", text, extra) > 0);
        free(text);
        return out;
    }
    return text;
}

static void
test_jwks_parse(void **state)
{
    const char *err = NULL;
    char *doc = jwks_doc(
        "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AAAA\"},"
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"x\",\"x\":\"" RFC8037_X "\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p\",\"x\":\"AA\",\"y\":\"AA\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"e\",\"use\":\"enc\",\"x\":\"" RFC8037_X
        "\"},"
        "{\"kty\":\"RSA\",\"kid\":\"ps\",\"alg\":\"PS256\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ok\",\"status\":\"next\",\"x\":\"" RFC8037_X
        "\"}");
    struct jwks *set = jwks_parse(doc, strlen(doc), &err);
    enum jwk_alg a;

    if (set == NULL)
        fail_msg("jwks_parse: %s", err);
    assert_int_equal(jwks_count(set), 4);
    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char kid[16];
        EVP_PKEY *k;

        snprintf(kid, sizeof(kid), "k%d", i);
        k = jwks_find(set, kid, &a);
        assert_non_null(k);
        assert_int_equal(a, i);
        assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
    }
    assert_non_null(jwks_find(set, "ok", NULL));
    assert_null(jwks_find(set, "h", NULL));
    jwks_free(set);
    free(doc);
}

static void
assert_jwks_refused(const char *doc, size_t len)
{
    const char *err = NULL;
    struct jwks *set = jwks_parse(doc, len, &err);

    if (set != NULL)
        fail_msg("accepted JWKS: %.200s", doc != NULL ? doc : "(null)");
    assert_non_null(err);
}

static void
test_jwks_refused(void **state)
{
    char *doc, *big;
    size_t i, off;

    doc = jwks_doc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"z\",\"d\":\"" RFC8037_D
                   "\",\"x\":\"" RFC8037_X "\"}");
    assert_jwks_refused(doc, strlen(doc));
    free(doc);
    doc = jwks_doc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k0\",\"x\":\"" RFC8037_X "\"}");
    assert_jwks_refused(doc, strlen(doc)); /* repeated kid */
    free(doc);
    doc = jwks_doc("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"bad\",\"x\":\"" RFC7515_EC_X
                   "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}");
    assert_jwks_refused(doc, strlen(doc)); /* off curve */
    free(doc);
    doc = jwks_doc("7");
    assert_jwks_refused(doc, strlen(doc)); /* entry not an object */
    free(doc);
    assert_jwks_refused("{\"keys\":{}}", 11);
    assert_jwks_refused("{}", 2);
    assert_jwks_refused("[]", 2);
    assert_jwks_refused("{\"keys\":[]", 10);
    assert_jwks_refused("{\"keys\":[],\"keys\":[]}", 21);
    assert_jwks_refused(NULL, 0);
    /* 65 entries (all skipped kinds): too many */
    big = malloc(65 * 32 + 32);
    off = (size_t)sprintf(big, "{\"keys\":[");
    for (i = 0; i < 65; i++)
        off += (size_t)sprintf(big + off, "%s{\"kty\":\"oct\"}", i ? "," : "");
    sprintf(big + off, "]}");
    assert_jwks_refused(big, strlen(big));
    free(big);
    /* more than 256 KiB */
    big = malloc(JWKS_MAX_DOC + 64);
    off = (size_t)sprintf(big, "{\"keys\":[],\"pad\":\"");
    memset(big + off, 'a', JWKS_MAX_DOC);
    sprintf(big + off + JWKS_MAX_DOC, "\"}");
    assert_jwks_refused(big, strlen(big));
    free(big);
    /* nested too deeply */
    assert_jwks_refused("{\"keys\":[],\"x\":[[[[[[[[[[]]]]]]]]]]}", 36);
}

static void
test_jwks_empty_ok(void **state)
{
    const char *err = NULL;
    struct jwks *set = jwks_parse("{\"keys\":[]}", 11, &err);

    assert_non_null(set);
    assert_int_equal(jwks_count(set), 0);
    jwks_free(set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_alg_of_key),
        cmocka_unit_test(test_generate_unknown),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_thumbprint_rfc8037),
        cmocka_unit_test(test_thumbprint_rfc7638),
        cmocka_unit_test(test_thumbprint_unusable_key),
        cmocka_unit_test(test_private_members_refused),
        cmocka_unit_test(test_kty_refused),
        cmocka_unit_test(test_okp_refused),
        cmocka_unit_test(test_ec_refused),
        cmocka_unit_test(test_rsa_refused),
        cmocka_unit_test(test_alg_and_use_members),
        cmocka_unit_test(test_private_der),
        cmocka_unit_test(test_private_der_refuses_other_keys),
        cmocka_unit_test(test_jwks_add_find),
        cmocka_unit_test(test_jwks_parse),
        cmocka_unit_test(test_jwks_refused),
        cmocka_unit_test(test_jwks_empty_ok),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
