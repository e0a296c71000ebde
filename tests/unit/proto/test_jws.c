/* jws: known-answer vectors (RFC 8037 A.4, RFC 7515 A.2 and A.3), round trips
 * for the three algorithms, and every refusal of the parser and verifier. */
#include "testutil.h"
#include "vectors.h"

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

static EVP_PKEY *
key_from_text(const char *text)
{
    const char *err = NULL;
    json_t *j = tu_json(text);
    EVP_PKEY *k = jwk_public_from_json(j, &err);

    json_decref(j);
    assert_non_null(k);
    return k;
}

static uint8_t *
decode(const char *s, size_t *n)
{
    uint8_t *out;

    assert_int_equal(b64url_decode(s, strlen(s), &out, n), 0);
    return out;
}

static void
test_rfc8037_sign_and_verify(void **state)
{
    size_t dlen, siglen, elen;
    uint8_t *d = decode(RFC8037_D, &dlen), *expect = decode(RFC8037_SIG, &elen), sig[64];
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dlen);
    EVP_PKEY *pub = key_from_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}");
    char *compact;

    assert_non_null(priv);
    siglen = sizeof(sig);
    assert_int_equal(
        jws_sign_raw(priv, JWK_ALG_EDDSA, RFC8037_INPUT, strlen(RFC8037_INPUT), sig, &siglen), 0);
    assert_int_equal(siglen, 64);
    assert_memory_equal(sig, expect, 64); /* Ed25519 is deterministic */
    assert_int_equal(
        jws_verify_raw(pub, JWK_ALG_EDDSA, RFC8037_INPUT, strlen(RFC8037_INPUT), expect, elen), 0);
    compact = jws_compact(RFC8037_INPUT, sig, siglen);
    assert_string_equal(compact, RFC8037_INPUT "." RFC8037_SIG);
    /* A flipped bit anywhere fails. */
    expect[10] ^= 1;
    assert_int_equal(
        jws_verify_raw(pub, JWK_ALG_EDDSA, RFC8037_INPUT, strlen(RFC8037_INPUT), expect, elen), -1);
    /* Wrong algorithm for the key. */
    assert_int_equal(
        jws_verify_raw(pub, JWK_ALG_ES256, RFC8037_INPUT, strlen(RFC8037_INPUT), sig, 64), -1);
    siglen = 63;
    assert_int_equal(jws_sign_raw(priv, JWK_ALG_EDDSA, "x", 1, sig, &siglen), -1);
    free(compact);
    free(d);
    free(expect);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
}

static void
test_rfc7515_es256(void **state)
{
    EVP_PKEY *pub = key_from_text("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X
                                  "\",\"y\":\"" RFC7515_EC_Y "\"}");
    const char *err = NULL;
    struct jws jws;

    assert_int_equal(jws_parse(RFC7515_EC_COMPACT, strlen(RFC7515_EC_COMPACT), &jws, &err),
                     ERRCODE_OK);
    assert_string_equal(jws.alg, "ES256");
    assert_null(jws.kid);
    assert_null(jws.typ);
    assert_int_equal(json_integer_value(json_object_get(jws.payload, "exp")), 1300819380);
    assert_int_equal(jws.siglen, 64);
    assert_int_equal(jws_verify(&jws, pub), ERRCODE_OK);
    /* Not with another P-256 key, nor an Ed25519 key. */
    assert_int_equal(jws_verify(&jws, keys[JWK_ALG_ES256]), ERRCODE_BAD_SIGNATURE);
    assert_int_equal(jws_verify(&jws, keys[JWK_ALG_EDDSA]), ERRCODE_BAD_SIGNATURE);
    jws_clear(&jws);
    EVP_PKEY_free(pub);
}

static void
test_es256_signature_shape(void **state)
{
    EVP_PKEY *pub = key_from_text("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_EC_X
                                  "\",\"y\":\"" RFC7515_EC_Y "\"}");
    const char *in = "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD;
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                      0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    size_t n;
    uint8_t *sig = decode(strrchr(RFC7515_EC_COMPACT, '.') + 1, &n), buf[80];

    assert_int_equal(n, 64);
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), sig, 64), 0);
    /* 63, 65 bytes */
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), sig, 63), -1);
    memcpy(buf, sig, 64);
    buf[64] = 0;
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), buf, 65), -1);
    /* r = 0, s = 0 */
    memset(buf, 0, 32);
    memcpy(buf + 32, sig + 32, 32);
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), buf, 64), -1);
    memcpy(buf, sig, 32);
    memset(buf + 32, 0, 32);
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), buf, 64), -1);
    /* s + n (as r||s with s = n: out of range) */
    memcpy(buf, sig, 32);
    memcpy(buf + 32, order, 32);
    assert_int_equal(jws_verify_raw(pub, JWK_ALG_ES256, in, strlen(in), buf, 64), -1);
    /* A DER signature (what OpenSSL produces) is not accepted where r||s is expected. */
    {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t der[80];
        size_t dl = sizeof(der);

        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, keys[JWK_ALG_ES256]), 1);
        assert_int_equal(EVP_DigestSign(ctx, der, &dl, (const uint8_t *)"m", 1), 1);
        assert_int_equal(jws_verify_raw(keys[JWK_ALG_ES256], JWK_ALG_ES256, "m", 1, der, dl), -1);
        EVP_MD_CTX_free(ctx);
    }
    free(sig);
    EVP_PKEY_free(pub);
}

static void
test_rfc7515_rs256(void **state)
{
    EVP_PKEY *pub = key_from_text("{\"kty\":\"RSA\",\"n\":\"" RFC7515_RS_N "\",\"e\":\"AQAB\"}");
    const char *err = NULL;
    struct jws jws;
    char *bad;

    assert_int_equal(jws_parse(RFC7515_RS_COMPACT, strlen(RFC7515_RS_COMPACT), &jws, &err),
                     ERRCODE_OK);
    assert_string_equal(jws.alg, "RS256");
    assert_int_equal(jws.siglen, 256);
    assert_int_equal(jws_verify(&jws, pub), ERRCODE_OK);
    assert_int_equal(jws_verify(&jws, keys[JWK_ALG_RS256]), ERRCODE_BAD_SIGNATURE);
    jws_clear(&jws);
    /* Payload altered: signature fails. */
    bad = strdup(RFC7515_RS_COMPACT);
    bad[30] = bad[30] == 'A' ? 'B' : 'A';
    if (jws_parse(bad, strlen(bad), &jws, &err) == ERRCODE_OK)
        assert_int_equal(jws_verify(&jws, pub), ERRCODE_BAD_SIGNATURE);
    jws_clear(&jws);
    free(bad);
    EVP_PKEY_free(pub);
}

static void
test_round_trip(void **state)
{
    json_t *payload =
        json_pack("{s:s, s:i, s:[s, s]}", "sub", "x\xc3\xa9/\"y", "n", 42, "aud", "a", "b");

    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        json_t *header = json_pack("{s:s, s:s}", "alg", jwk_alg_name((enum jwk_alg)i), "kid", "k");
        EVP_PKEY *pub = tu_public(keys[i]);
        const char *err = NULL;
        struct jws jws;
        char *tok = jws_sign(keys[i], (enum jwk_alg)i, header, payload), *input;

        assert_non_null(tok);
        assert_int_equal(jws_parse(tok, strlen(tok), &jws, &err), ERRCODE_OK);
        assert_string_equal(jws.kid, "k");
        assert_true(json_equal(jws.payload, payload));
        assert_int_equal(jws_verify(&jws, pub), ERRCODE_OK);
        for (int j = 0; j < JWK_ALG_COUNT; j++)
            if (j != i)
                assert_int_equal(jws_verify(&jws, keys[j]), ERRCODE_BAD_SIGNATURE);
        jws_clear(&jws);
        /* signing_input is compact JSON, base64url */
        input = jws_signing_input(header, payload);
        assert_memory_equal(tok, input, strlen(input));
        assert_null(strchr(input, '='));
        free(input);
        /* a key of the wrong algorithm cannot sign */
        assert_null(jws_sign(keys[i], (enum jwk_alg)((i + 1) % JWK_ALG_COUNT), header, payload));
        free(tok);
        EVP_PKEY_free(pub);
        json_decref(header);
    }
    {
        json_t *arr = json_array();

        assert_null(jws_signing_input(payload, arr));
        json_decref(arr);
    }
    json_decref(payload);
}

static void
test_signing_input_compact(void **state)
{
    json_t *h = json_pack("{s:s}", "alg", "EdDSA"), *p = json_pack("{s:i}", "a", 1);
    char *in = jws_signing_input(h, p);

    /* {"alg":"EdDSA"} . {"a":1} */
    assert_string_equal(in, "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ");
    free(in);
    json_decref(h);
    json_decref(p);
}

static enum errcode
parse_text(const char *h, const char *p, const char *sig64)
{
    char *tok = tu_compact_raw(h, p, sig64);
    const char *err = NULL;
    struct jws jws;
    enum errcode rc = jws_parse(tok, strlen(tok), &jws, &err);

    if (rc != ERRCODE_OK)
        assert_non_null(err);
    jws_clear(&jws);
    free(tok);
    return rc;
}

/* Verify (with the key of that alg) a token whose header text is h. */
static enum errcode
verify_text(EVP_PKEY *key, const char *h)
{
    char *tok = tu_sign_text(key, h, "{\"a\":1}");
    const char *err = NULL;
    struct jws jws;
    enum errcode rc = jws_parse(tok, strlen(tok), &jws, &err);

    if (rc == ERRCODE_OK)
        rc = jws_verify(&jws, key);
    jws_clear(&jws);
    free(tok);
    return rc;
}

static void
test_alg_refusals(void **state)
{
    EVP_PKEY *ed = keys[JWK_ALG_EDDSA];

    assert_int_equal(verify_text(ed, "{\"alg\":\"EdDSA\"}"), ERRCODE_OK);
    assert_int_equal(verify_text(ed, "{\"alg\":\"none\"}"), ERRCODE_BAD_SIGNATURE);
    assert_int_equal(verify_text(ed, "{\"alg\":\"HS256\"}"), ERRCODE_BAD_SIGNATURE);
    assert_int_equal(verify_text(ed, "{\"alg\":\"ES256\"}"), ERRCODE_BAD_SIGNATURE);
    /* RFC 9864 name of the same algorithm */
    assert_int_equal(verify_text(ed, "{\"alg\":\"Ed25519\"}"), ERRCODE_OK);
    assert_int_equal(verify_text(keys[JWK_ALG_ES256], "{\"alg\":\"Ed25519\"}"),
                     ERRCODE_BAD_SIGNATURE);
    assert_int_equal(verify_text(keys[JWK_ALG_RS256], "{\"alg\":\"PS256\"}"),
                     ERRCODE_BAD_SIGNATURE);
    assert_int_equal(verify_text(keys[JWK_ALG_ES256], "{\"alg\":\"RS256\"}"),
                     ERRCODE_BAD_SIGNATURE);
    /* alg none with an empty signature parses, never verifies */
    {
        char *tok = tu_compact_raw("{\"alg\":\"none\"}", "{\"a\":1}", "");
        const char *err = NULL;
        struct jws jws;

        assert_int_equal(jws_parse(tok, strlen(tok), &jws, &err), ERRCODE_OK);
        for (int i = 0; i < JWK_ALG_COUNT; i++)
            assert_int_equal(jws_verify(&jws, keys[i]), ERRCODE_BAD_SIGNATURE);
        jws_clear(&jws);
        free(tok);
    }
    /* a key outside our algorithms */
    {
        EVP_PKEY *rsa1k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        char *tok = tu_compact_raw("{\"alg\":\"RS256\"}", "{\"a\":1}", "AAAA");
        const char *err = NULL;
        struct jws jws;

        assert_int_equal(jws_parse(tok, strlen(tok), &jws, &err), ERRCODE_OK);
        assert_int_equal(jws_verify(&jws, rsa1k), ERRCODE_BAD_SIGNATURE);
        assert_int_equal(jws_verify(&jws, NULL), ERRCODE_BAD_SIGNATURE);
        jws_clear(&jws);
        free(tok);
        EVP_PKEY_free(rsa1k);
    }
}

static void
test_parse_refusals(void **state)
{
    const char *err = NULL;
    struct jws jws;
    char deep[128], *big, *tok;
    size_t i;

    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{}", "AAAA"), ERRCODE_OK);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\",\"crit\":[\"exp\"]}", "{}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", "{}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{\"a\":1,\"a\":2}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"typ\":\"x\"}", "{}", "AAAA"), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":7}", "{}", "AAAA"), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\",\"kid\":7}", "{}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\",\"kid\":\"\"}", "{}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\",\"typ\":[]}", "{}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("[\"alg\"]", "{}", "AAAA"), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "[1]", "AAAA"), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "\"str\"", "AAAA"), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "not json", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{\"a\":\"\\u0000\"}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{\"a\":\"\xff\"}", "AAAA"),
                     ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{}", "AAA="), ERRCODE_INVALID_REQUEST);
    assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", "{}", "AA+A"), ERRCODE_INVALID_REQUEST);
    /* depth 16 passes, 17 does not */
    for (i = 0; i < 15; i++)
        deep[i] = '[';
    deep[15] = '\0';
    {
        char p[256];

        snprintf(p, sizeof(p), "{\"a\":%s%s}", deep, "]]]]]]]]]]]]]]]");
        assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", p, "AAAA"), ERRCODE_OK);
        snprintf(p, sizeof(p), "{\"a\":[%s%s]}", deep, "]]]]]]]]]]]]]]]");
        assert_int_equal(parse_text("{\"alg\":\"EdDSA\"}", p, "AAAA"), ERRCODE_INVALID_REQUEST);
        /* brackets inside strings do not count */
        assert_int_equal(
            parse_text("{\"alg\":\"EdDSA\"}", "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[\\\"\"}", "AAAA"),
            ERRCODE_OK);
    }
    /* segments: 2, 4, empty */
    static const char *shapes[] = {
        "eyJhbGciOiJFZERTQSJ9.e30",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA.AAAA",
        "eyJhbGciOiJFZERTQSJ9..AAAA",
        ".e30.AAAA",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA.",
        "..",
        "",
        "eyJhbGciOiJFZERTQSJ9 .e30.AAAA",
        "eyJhbGciOiJFZERTQSJ9.e30=.AAAA",
    };
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        assert_int_equal(jws_parse(shapes[i], strlen(shapes[i]), &jws, &err),
                         ERRCODE_INVALID_REQUEST);
        jws_clear(&jws);
    }
    assert_int_equal(jws_parse(NULL, 0, &jws, &err), ERRCODE_INVALID_REQUEST);
    /* An embedded NUL inside the given length */
    assert_int_equal(jws_parse("eyJhbGciOiJFZERTQSJ9.e30\0.AAAA", 30, &jws, &err),
                     ERRCODE_INVALID_REQUEST);
    /* oversize: 8193 bytes */
    big = malloc(JWS_MAX_LEN + 100);
    tok = tu_compact_raw("{\"alg\":\"EdDSA\"}", "{}", "");
    strcpy(big, tok);
    memset(big + strlen(tok), 'A', JWS_MAX_LEN + 1 - strlen(tok));
    /* make the signature length canonical-friendly: total = 8193 */
    big[JWS_MAX_LEN + 1] = '\0';
    assert_int_equal(jws_parse(big, strlen(big), &jws, &err), ERRCODE_INVALID_REQUEST);
    assert_string_equal(err, "token too long");
    free(big);
    free(tok);
}

static void
test_max_size_accepted(void **state)
{
    /* A token of exactly JWS_MAX_LEN bytes parses. */
    char *tok = tu_compact_raw("{\"alg\":\"EdDSA\"}", "{}", ""), *big;
    size_t base = strlen(tok), pad = JWS_MAX_LEN - base;
    const char *err = NULL;
    struct jws jws;

    /* signature segment of pad chars; pad % 4 must not be 1 */
    if (pad % 4 == 1) {
        free(tok);
        tok = tu_compact_raw("{\"alg\":\"EdDSA\" }", "{}", "");
        base = strlen(tok);
        pad = JWS_MAX_LEN - base;
    }
    big = malloc(JWS_MAX_LEN + 1);
    strcpy(big, tok);
    memset(big + base, 'A', pad);
    big[JWS_MAX_LEN] = '\0';
    assert_int_equal(strlen(big), JWS_MAX_LEN);
    assert_int_equal(jws_parse(big, strlen(big), &jws, &err), ERRCODE_OK);
    jws_clear(&jws);
    free(big);
    free(tok);
}

static void
test_compact_bounds(void **state)
{
    uint8_t sig[4] = {1, 2, 3, 4};
    char *c = jws_compact("a.b", sig, 4);

    assert_string_equal(c, "a.b.AQIDBA");
    free(c);
    assert_null(jws_compact(NULL, sig, 4));
    assert_null(jws_compact("a.b", NULL, 4));
    assert_null(jws_compact("a.b", sig, JWS_SIG_MAX + 1));
}

/* jws_split: exactly three segments, each where it stands. */
static void
test_split(void **state)
{
    struct jws_segments seg;
    static const char *const bad[] = {"", "a", "a.b", "a.b.c.d", "...."};

    (void)state;
    assert_int_equal(jws_split("hh.ppp.s", 8, &seg), 0);
    assert_int_equal(seg.header_len, 2);
    assert_memory_equal(seg.payload, "ppp", 3);
    assert_int_equal(seg.payload_len, 3);
    assert_memory_equal(seg.sig, "s", 1);
    assert_int_equal(seg.sig_len, 1);
    assert_int_equal(seg.signing_input_len, 6);
    assert_int_equal(jws_split("..", 2, &seg), 0); /* empty segments are the decoders' call */
    assert_int_equal(seg.sig_len, 0);
    assert_int_equal(jws_split("a.b.c.d", 5, &seg), 0); /* only len bytes count */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jws_split(bad[i], strlen(bad[i]), &seg), -1);
    assert_int_equal(jws_split(NULL, 0, &seg), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8037_sign_and_verify),
        cmocka_unit_test(test_rfc7515_es256),
        cmocka_unit_test(test_es256_signature_shape),
        cmocka_unit_test(test_rfc7515_rs256),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_signing_input_compact),
        cmocka_unit_test(test_alg_refusals),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_max_size_accepted),
        cmocka_unit_test(test_compact_bounds),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
