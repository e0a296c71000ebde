/* proof: device proofs of possession, accepted for each algorithm and
 * refused (always ERRCODE_PROOF_INVALID) for each broken rule. */
#include "testutil.h"
#include "vectors.h"

#include <openssl/rsa.h>

#include "jwt.h"
#include "proof.h"

#define NOW 1700000000
#define SKEW 300
#define ISS "urn:sitetoken:PS1"
#define ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
#define JKT_OTHER "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static EVP_PKEY *keys[JWK_ALG_COUNT], *other;

static int
setup(void **state)
{
    const char *err = NULL;

    for (int i = 0; i < JWK_ALG_COUNT; i++)
        if ((keys[i] = jwk_generate((enum jwk_alg)i, &err)) == NULL)
            return -1;
    other = jwk_generate(JWK_ALG_EDDSA, &err);
    return other != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++)
        EVP_PKEY_free(keys[i]);
    EVP_PKEY_free(other);
    return 0;
}

static json_t *
proof_header(EVP_PKEY *key)
{
    enum jwk_alg a;

    assert_int_equal(jwk_alg_of_key(key, &a), 0);
    return json_pack("{s:s, s:s, s:o}", "typ", PROOF_TYP, "alg", jwk_alg_name(a), "jwk",
                     jwk_public_to_json(key, NULL));
}

static json_t *
proof_claims(const char *act, const char *ath)
{
    json_t *c = json_pack("{s:s, s:I, s:s, s:s}", "aud", ISS, "iat", (json_int_t)NOW, "jti",
                          "proof-1", "act", act);

    if (ath != NULL)
        json_object_set_new(c, "ath", json_string(ath));
    return c;
}

/* Sign header and claims (references stolen) with signer. */
static char *
make(EVP_PKEY *signer, json_t *h, json_t *c)
{
    char *ht = json_dumps(h, JSON_COMPACT), *ct = json_dumps(c, JSON_COMPACT);
    char *tok = tu_sign_text(signer, ht, ct);

    free(ht);
    free(ct);
    json_decref(h);
    json_decref(c);
    return tok;
}

static enum errcode
check_full(const char *tok, const char *act, const char *ath, int64_t now)
{
    struct proof_expect e = {.aud = ISS, .act = act, .ath = ath, .now = now, .skew = SKEW};
    struct proof_result r;
    const char *err = NULL;
    enum errcode rc = proof_verify(tok, strlen(tok), &e, &r, &err);

    if (rc != ERRCODE_OK) {
        assert_int_equal(rc, ERRCODE_PROOF_INVALID);
        assert_non_null(err);
        assert_null(r.key);
    }
    proof_result_clear(&r);
    return rc;
}

static enum errcode
check(const char *tok)
{
    return check_full(tok, "register", NULL, NOW);
}

/* A register proof by keys[0] with one header member and one claim replaced
 * (JSON text; NULL value deletes); NULL names change nothing. */
static enum errcode
edited(const char *hkey, const char *hval, const char *ckey, const char *cval)
{
    json_t *h = proof_header(keys[0]), *c = proof_claims("register", NULL);
    enum errcode rc;
    char *tok;

    if (hkey != NULL) {
        if (hval == NULL)
            json_object_del(h, hkey);
        else
            json_object_set_new(h, hkey, tu_json(hval));
    }
    if (ckey != NULL) {
        if (cval == NULL)
            json_object_del(c, ckey);
        else
            json_object_set_new(c, ckey, json_loads(cval, JSON_DECODE_ANY, NULL));
    }
    tok = make(keys[0], h, c);
    rc = check(tok);
    free(tok);
    return rc;
}

static void
test_valid_each_alg(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char *tok = make(keys[i], proof_header(keys[i]), proof_claims("renew", ATH)), jkt[44];
        struct proof_expect e = {.aud = ISS, .act = "renew", .ath = ATH, .now = NOW, .skew = SKEW};
        struct proof_result r;
        const char *err = NULL;

        assert_int_equal(proof_verify(tok, strlen(tok), &e, &r, &err), ERRCODE_OK);
        assert_string_equal(r.jti, "proof-1");
        assert_int_equal(r.iat, NOW);
        assert_int_equal(jwk_thumbprint(keys[i], jkt), 0);
        assert_string_equal(r.jkt, jkt);
        assert_int_equal(EVP_PKEY_eq(r.key, keys[i]), 1);
        proof_result_clear(&r);
        assert_null(r.key);
        free(tok);
    }
}

static void
test_ath(void **state)
{
    char ath[44];
    char *tok = make(keys[0], proof_header(keys[0]), proof_claims("access", ATH));

    assert_int_equal(proof_ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", 43, ath), 0);
    assert_string_equal(ath, ATH); /* RFC 9449 §7.1 example */
    assert_int_equal(proof_ath(NULL, 0, ath), -1);
    assert_int_equal(check_full(tok, "access", ATH, NOW), ERRCODE_OK);
    assert_int_equal(check_full(tok, "access", NULL, NOW), ERRCODE_OK); /* not required */
    assert_int_equal(check_full(tok, "access", "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEp", NOW),
                     ERRCODE_PROOF_INVALID);
    assert_int_equal(check_full(tok, "access", "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQE", NOW),
                     ERRCODE_PROOF_INVALID);
    free(tok);
    tok = make(keys[0], proof_header(keys[0]), proof_claims("access", NULL));
    assert_int_equal(check_full(tok, "access", ATH, NOW), ERRCODE_PROOF_INVALID);
    free(tok);
}

static void
test_act(void **state)
{
    char *tok = make(keys[0], proof_header(keys[0]), proof_claims("exchange", NULL));

    assert_int_equal(check_full(tok, "exchange", NULL, NOW), ERRCODE_OK);
    assert_int_equal(check_full(tok, "register", NULL, NOW), ERRCODE_PROOF_INVALID);
    assert_int_equal(check_full(tok, NULL, NULL, NOW), ERRCODE_PROOF_INVALID);
    free(tok);
    assert_int_equal(edited(NULL, NULL, "act", NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "act", "7"), ERRCODE_PROOF_INVALID);
}

static void
test_iat_window(void **state)
{
    char *tok = make(keys[0], proof_header(keys[0]), proof_claims("register", NULL));

    assert_int_equal(check_full(tok, "register", NULL, NOW + SKEW), ERRCODE_OK);
    assert_int_equal(check_full(tok, "register", NULL, NOW - SKEW), ERRCODE_OK);
    assert_int_equal(check_full(tok, "register", NULL, NOW + SKEW + 1), ERRCODE_PROOF_INVALID);
    assert_int_equal(check_full(tok, "register", NULL, NOW - SKEW - 1), ERRCODE_PROOF_INVALID);
    free(tok);
    assert_int_equal(edited(NULL, NULL, "iat", NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "iat", "1700000000.0"), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "iat", "\"1700000000\""), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "iat", "-1"), ERRCODE_PROOF_INVALID);
}

static void
test_jti(void **state)
{
    assert_int_equal(edited(NULL, NULL, "jti", NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "jti", "\"\""), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "jti", "7"), ERRCODE_PROOF_INVALID);
    assert_int_equal(
        edited(NULL, NULL, "jti",
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "jti",
                            "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
                     ERRCODE_OK);
}

static void
test_aud(void **state)
{
    assert_int_equal(edited(NULL, NULL, "aud", NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "aud", "\"urn:sitetoken:PS2\""), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited(NULL, NULL, "aud", "[\"urn:x\", \"" ISS "\"]"), ERRCODE_OK);
    assert_int_equal(edited(NULL, NULL, "aud", "[\"urn:x\"]"), ERRCODE_PROOF_INVALID);
}

static void
test_header_refusals(void **state)
{
    assert_int_equal(edited(NULL, NULL, NULL, NULL), ERRCODE_OK);
    assert_int_equal(edited("typ", NULL, NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("typ", "\"dpop+jwt\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("typ", "\"sitetoken-client+jwt\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("alg", "\"none\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("alg", "\"HS256\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("alg", "\"ES256\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("jwk", NULL, NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("jwk", "\"key\"", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("crit", "[\"act\"]", NULL, NULL), ERRCODE_PROOF_INVALID);
    assert_int_equal(edited("jwk", "{\"kty\":\"oct\",\"k\":\"AAAA\"}", NULL, NULL),
                     ERRCODE_PROOF_INVALID);
    /* a jwk carrying its private half */
    assert_int_equal(edited("jwk",
                            "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D
                            "\",\"x\":\"" RFC8037_X "\"}",
                            NULL, NULL),
                     ERRCODE_PROOF_INVALID);
}

static void
test_signature_refusals(void **state)
{
    char *tok;
    json_t *h;

    /* signed by another key than the one in jwk */
    tok = make(other, proof_header(keys[0]), proof_claims("register", NULL));
    assert_int_equal(check(tok), ERRCODE_PROOF_INVALID);
    free(tok);
    /* jwk is an RSA-1024 key, and the proof is properly signed with it */
    {
        EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        BIGNUM *bn = NULL;
        uint8_t sig[256], nraw[128];
        size_t siglen = sizeof(sig);
        char *n64, *ht, *ct, *in, *full;
        json_t *c = proof_claims("register", NULL);

        assert_int_equal(EVP_PKEY_get_bn_param(small, "n", &bn), 1);
        assert_int_equal(BN_bn2bin(bn, nraw), 128);
        n64 = b64url_encode(nraw, 128);
        h = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "typ", PROOF_TYP, "alg", "RS256", "jwk",
                      "kty", "RSA", "n", n64, "e", "AQAB");
        ht = json_dumps(h, JSON_COMPACT);
        ct = json_dumps(c, JSON_COMPACT);
        in = tu_input(ht, ct);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, small), 1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)in, strlen(in)), 1);
        full = jws_compact(in, sig, siglen);
        assert_int_equal(check(full), ERRCODE_PROOF_INVALID);
        free(full);
        free(in);
        free(ht);
        free(ct);
        free(n64);
        BN_free(bn);
        json_decref(h);
        json_decref(c);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(small);
    }
    /* a valid proof with its payload swapped for another */
    {
        char *a = make(keys[0], proof_header(keys[0]), proof_claims("register", NULL));
        char *b = make(keys[0], proof_header(keys[0]), proof_claims("renew", NULL));
        char *d1a = strchr(a, '.'), *d2a = strrchr(a, '.'), *d1b = strchr(b, '.'),
             *d2b = strrchr(b, '.'), *mix;

        assert_true(asprintf(&mix, "%.*s%.*s%s", (int)(d1a - a), a, (int)(d2b - d1b), d1b, d2a) >
                    0);
        assert_int_equal(check_full(mix, "renew", NULL, NOW), ERRCODE_PROOF_INVALID);
        free(mix);
        free(a);
        free(b);
    }
}

/* proof_verify with a bound key (renew, access): rc, and *errstr when wanted. */
static enum errcode
check_bound(const char *tok, const char *jkt, const char **why)
{
    struct proof_expect e = {.aud = ISS, .act = "renew", .jkt = jkt, .now = NOW, .skew = SKEW};
    struct proof_result r;
    const char *err = NULL;
    enum errcode rc = proof_verify(tok, strlen(tok), &e, &r, &err);

    if (why != NULL)
        *why = err;
    proof_result_clear(&r);
    return rc;
}

/* RFC 7515 §4.1.9 and RFC 9864 in proofs. */
static void
test_typ_and_alg_names(void **state)
{
    json_t *h;
    char *tok;

    assert_int_equal(edited("typ", "\"application/sitetoken-proof+jwt\"", NULL, NULL), ERRCODE_OK);
    assert_int_equal(edited("typ", "\"SiteToken-Proof+JWT\"", NULL, NULL), ERRCODE_OK);
    assert_int_equal(edited("typ", "\"APPLICATION/sitetoken-proof+jwt\"", NULL, NULL), ERRCODE_OK);
    assert_int_equal(edited("typ", "\"image/sitetoken-proof+jwt\"", NULL, NULL),
                     ERRCODE_PROOF_INVALID);
    /* Ed25519 as the alg of an Ed25519 key, in the header and in the jwk */
    h = proof_header(keys[JWK_ALG_EDDSA]);
    json_object_set_new(h, "alg", json_string("Ed25519"));
    json_object_set_new(json_object_get(h, "jwk"), "alg", json_string("Ed25519"));
    tok = make(keys[JWK_ALG_EDDSA], h, proof_claims("register", NULL));
    assert_int_equal(check(tok), ERRCODE_OK);
    free(tok);
    /* but not for another key type */
    h = proof_header(keys[JWK_ALG_ES256]);
    json_object_set_new(h, "alg", json_string("Ed25519"));
    tok = make(keys[JWK_ALG_ES256], h, proof_claims("register", NULL));
    assert_int_equal(check(tok), ERRCODE_PROOF_INVALID);
    free(tok);
}

/* Every small-order Ed25519 point, canonical or not, in either sign: the
 * identity let a "device" register with no private key at all. */
static void
test_small_order_ed25519(void **state)
{
    static const char *y[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        /* other non-canonical encodings (y >= p) */
        "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    uint8_t raw[32], sig[64] = {0};
    const char *err = NULL;

    for (size_t i = 0; i < sizeof(y) / sizeof(y[0]); i++) {
        for (int sign = 0; sign < 2; sign++) {
            json_t *jwk;
            char *x64;
            EVP_PKEY *k;

            for (int b = 0; b < 32; b++)
                sscanf(y[i] + 2 * b, "%2hhx", &raw[b]);
            if (sign)
                raw[31] |= 0x80;
            x64 = b64url_encode(raw, 32);
            jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x64);
            k = jwk_public_from_json(jwk, &err);
            assert_null(k);
            /* and as a proof: identity R, s = 0 */
            {
                json_t *h =
                    json_pack("{s:s, s:s, s:O}", "typ", PROOF_TYP, "alg", "EdDSA", "jwk", jwk);
                char *ht = json_dumps(h, JSON_COMPACT);
                json_t *c = proof_claims("register", NULL);
                char *ct = json_dumps(c, JSON_COMPACT);
                char *in = tu_input(ht, ct), *tok;

                memcpy(sig, raw, 32);
                tok = jws_compact(in, sig, sizeof(sig));
                assert_int_equal(check(tok), ERRCODE_PROOF_INVALID);
                free(tok);
                free(in);
                free(ct);
                free(ht);
                json_decref(c);
                json_decref(h);
            }
            json_decref(jwk);
            free(x64);
        }
    }
    /* an ordinary key still passes */
    assert_int_equal(edited(NULL, NULL, NULL, NULL), ERRCODE_OK);
}

/* An RSA JWK of nbits whose modulus is odd garbage: never a real key, so a
 * proof made with it can only fail; what matters is how early. */
static json_t *
fake_rsa_jwk(int nbits, const char *e64)
{
    uint8_t n[1024];
    char *n64;
    json_t *jwk;

    memset(n, 0xa5, sizeof(n));
    n[0] = 0xc3;
    n[nbits / 8 - 1] |= 1;
    n64 = b64url_encode(n, (size_t)nbits / 8);
    jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n64, "e", e64);
    free(n64);
    return jwk;
}

/* issue 10 item 6: RSA proof keys for new devices are 2048..4096 bits with
 * e = 65537; a key a token is bound to is accepted whatever it is, and the
 * binding is checked before the signature. */
static void
test_rsa_key_policy(void **state)
{
    EVP_PKEY *e3 = NULL;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *three = BN_new();
    char jkt[JWK_THUMBPRINT_LEN + 1];
    const char *why = NULL;
    json_t *h;
    char *tok;

    /* an RSA-2048 key with e = 3: refused for a new device, fine when bound */
    assert_non_null(kctx);
    assert_int_equal(BN_set_word(three, 3), 1);
    assert_int_equal(EVP_PKEY_keygen_init(kctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(kctx, 2048), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(kctx, three), 1);
    assert_int_equal(EVP_PKEY_keygen(kctx, &e3), 1);
    assert_false(jwk_key_is_enrollable(e3));
    assert_true(jwk_key_is_enrollable(keys[JWK_ALG_RS256]));
    tok = make(e3, proof_header(e3), proof_claims("register", NULL));
    assert_int_equal(check(tok), ERRCODE_PROOF_INVALID);
    free(tok);
    assert_int_equal(jwk_thumbprint(e3, jkt), 0);
    tok = make(e3, proof_header(e3), proof_claims("renew", NULL));
    assert_int_equal(check_bound(tok, jkt, NULL), ERRCODE_OK);
    /* bound to another key: binding_mismatch */
    assert_int_equal(check_bound(tok, JKT_OTHER, &why), ERRCODE_BINDING_MISMATCH);
    free(tok);

    /* RSA-8192 (or 4104) for a new device: refused without a signature check */
    for (int bits = 4104; bits <= 8192; bits += 4088) {
        h = json_pack("{s:s, s:s, s:o}", "typ", PROOF_TYP, "alg", "RS256", "jwk",
                      fake_rsa_jwk(bits, "AQAB"));
        tok = make(keys[JWK_ALG_EDDSA], h, proof_claims("register", NULL));
        why = NULL;
        {
            struct proof_expect e = {.aud = ISS, .act = "register", .now = NOW, .skew = SKEW};
            struct proof_result r;

            assert_int_equal(proof_verify(tok, strlen(tok), &e, &r, &why), ERRCODE_PROOF_INVALID);
            proof_result_clear(&r);
        }
        assert_non_null(strstr(why, "new device"));
        free(tok);
    }
    BN_free(three);
    EVP_PKEY_CTX_free(kctx);
    EVP_PKEY_free(e3);
}

/* The cheap claim checks come before the signature: a proof with both a
 * bad claim and a bad signature is refused for the claim. */
static void
test_claims_before_signature(void **state)
{
    static const struct {
        const char *key, *val, *reason;
    } cases[] = {
        {"aud", "\"urn:other\"", "aud"},
        {"iat", "1", "iat"},
        {"act", "\"access\"", "act"},
        {"jti", "\"\"", "jti"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *c = proof_claims("register", NULL);
        struct proof_expect e = {.aud = ISS, .act = "register", .now = NOW, .skew = SKEW};
        struct proof_result r;
        const char *why = NULL;
        char *tok;

        json_object_set_new(c, cases[i].key, json_loads(cases[i].val, JSON_DECODE_ANY, NULL));
        /* signed by another key than its jwk: the signature is bad too */
        tok = make(other, proof_header(keys[0]), c);
        assert_int_equal(proof_verify(tok, strlen(tok), &e, &r, &why), ERRCODE_PROOF_INVALID);
        assert_non_null(strstr(why, cases[i].reason));
        assert_null(strstr(why, "signature"));
        proof_result_clear(&r);
        free(tok);
    }
    /* every claim good, the signature bad: the signature */
    {
        char *tok = make(other, proof_header(keys[0]), proof_claims("register", NULL));
        struct proof_expect e = {.aud = ISS, .act = "register", .now = NOW, .skew = SKEW};
        struct proof_result r;
        const char *why = NULL;

        assert_int_equal(proof_verify(tok, strlen(tok), &e, &r, &why), ERRCODE_PROOF_INVALID);
        assert_non_null(strstr(why, "signature"));
        proof_result_clear(&r);
        free(tok);
    }
}

static void
test_malformed(void **state)
{
    char *big;

    assert_int_equal(check("garbage"), ERRCODE_PROOF_INVALID);
    assert_int_equal(check(""), ERRCODE_PROOF_INVALID);
    assert_int_equal(check("a.b.c"), ERRCODE_PROOF_INVALID);
    big = malloc(JWS_MAX_LEN + 2);
    memset(big, 'A', JWS_MAX_LEN + 1);
    big[10] = '.';
    big[20] = '.';
    big[JWS_MAX_LEN + 1] = '\0';
    assert_int_equal(check(big), ERRCODE_PROOF_INVALID);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_each_alg),
        cmocka_unit_test(test_ath),
        cmocka_unit_test(test_act),
        cmocka_unit_test(test_iat_window),
        cmocka_unit_test(test_jti),
        cmocka_unit_test(test_aud),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_signature_refusals),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_typ_and_alg_names),
        cmocka_unit_test(test_small_order_ed25519),
        cmocka_unit_test(test_rsa_key_policy),
        cmocka_unit_test(test_claims_before_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
