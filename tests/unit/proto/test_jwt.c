/* jwt: the three token kinds, each error code in its place in the order of
 * checks, skew edges, and the claim syntax rules. */
#include "testutil.h"

#include "ids.h"
#include "jws.h"
#include "jwt.h"

#define NOW 1700000000
#define SKEW 60
#define ISS "urn:sitetoken:PS1"
#define AUD "urn:sitetoken:gateway"
#define DEVICE "GUID:0f8fad5b-d9cb-469f-a165-70867728950e"
#define BULK_ID "9b2c6d1e-3f4a-4b5c-8d6e-7f8091a2b3c4"
#define JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static EVP_PKEY *keys[JWK_ALG_COUNT], *other;
static struct jwks *set;

static int
setup(void **state)
{
    const char *err = NULL;

    set = jwks_new();
    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char kid[16];

        if ((keys[i] = jwk_generate((enum jwk_alg)i, &err)) == NULL)
            return -1;
        snprintf(kid, sizeof(kid), "k%d", i);
        EVP_PKEY *pub = tu_public(keys[i]);
        if (jwks_add(set, kid, pub) == -1)
            return -1;
        EVP_PKEY_free(pub);
    }
    other = jwk_generate(JWK_ALG_EDDSA, &err);
    return other != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++)
        EVP_PKEY_free(keys[i]);
    EVP_PKEY_free(other);
    jwks_free(set);
    return 0;
}

/* Valid claims of a kind, issued at NOW for an hour. */
static json_t *
claims_for(enum jwt_kind kind)
{
    json_t *c =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "iat", (json_int_t)NOW,
                  "nbf", (json_int_t)NOW, "exp", (json_int_t)NOW + 3600, "site", "PS1");
    char jti[IDS_UUID_LEN + 1];

    if (kind == JWT_KIND_BULK) {
        ids_uuid4(jti);
    } else {
        ids_jti(jti);
        json_object_set_new(c, "sub", json_string(DEVICE));
        json_object_set_new(c, "cnf", json_pack("{s:s}", "jkt", JKT));
    }
    json_object_set_new(c, "jti", json_string(jti));
    if (kind == JWT_KIND_CLIENT) {
        json_object_set_new(c, "reg", json_string("bulk"));
        json_object_set_new(c, "bulk", json_string(BULK_ID));
        json_object_set_new(c, "gen", json_integer(2));
    }
    return c;
}

/* Sign claims (reference stolen) as kind with key index alg under kid. */
static char *
mint_with(EVP_PKEY *key, const char *alg, const char *kid, const char *typ, json_t *claims)
{
    json_t *h = json_object();
    char *tok, *htext, *ptext;

    json_object_set_new(h, "alg", json_string(alg));
    if (kid != NULL)
        json_object_set_new(h, "kid", json_string(kid));
    if (typ != NULL)
        json_object_set_new(h, "typ", json_string(typ));
    htext = json_dumps(h, JSON_COMPACT);
    ptext = json_dumps(claims, JSON_COMPACT);
    tok = tu_sign_text(key, htext, ptext);
    free(htext);
    free(ptext);
    json_decref(h);
    json_decref(claims);
    return tok;
}

static char *
mint(enum jwt_kind kind, json_t *claims)
{
    return mint_with(keys[JWK_ALG_EDDSA], "EdDSA", "k0", jwt_kind_typ(kind), claims);
}

static enum errcode
check_at(const char *tok, enum jwt_kind kind, int64_t now, int64_t skew)
{
    struct jwt_expect e = {.kind = kind, .iss = ISS, .aud = AUD, .now = now, .skew = skew};
    struct jwt_claims c;
    const char *err = NULL;
    enum errcode rc = jwt_verify(tok, strlen(tok), set, &e, &c, &err);

    if (rc != ERRCODE_OK)
        assert_non_null(err);
    jwt_claims_clear(&c);
    return rc;
}

static enum errcode
check(const char *tok, enum jwt_kind kind)
{
    return check_at(tok, kind, NOW, SKEW);
}

/* Mint a token of kind whose claims were edited by removing del and, when
 * set_key is not NULL, setting it to the JSON text set_val; verify it. */
static enum errcode
edited(enum jwt_kind kind, const char *del, const char *set_key, const char *set_val)
{
    json_t *c = claims_for(kind);
    enum errcode rc;
    char *tok;

    if (del != NULL)
        json_object_del(c, del);
    if (set_key != NULL) {
        json_error_t je;
        json_t *v = json_loads(set_val, JSON_DECODE_ANY, &je);

        assert_non_null(v);
        json_object_set_new(c, set_key, v);
    }
    tok = mint(kind, c);
    rc = check(tok, kind);
    free(tok);
    return rc;
}

static void
test_names(void **state)
{
    assert_string_equal(jwt_kind_typ(JWT_KIND_BULK), "sitetoken-bulk+jwt");
    assert_string_equal(jwt_kind_typ(JWT_KIND_CLIENT), "sitetoken-client+jwt");
    assert_string_equal(jwt_kind_typ(JWT_KIND_ACCESS), "sitetoken-access+jwt");
    assert_null(jwt_kind_typ(JWT_KIND_COUNT));
    assert_string_equal(jwt_kind_name(JWT_KIND_BULK), "bulk");
    assert_string_equal(jwt_kind_name(JWT_KIND_CLIENT), "client");
    assert_string_equal(jwt_kind_name(JWT_KIND_ACCESS), "access");
    assert_null(jwt_kind_name(JWT_KIND_COUNT));
}

static void
test_header(void **state)
{
    json_t *h = jwt_header(JWT_KIND_CLIENT, JWK_ALG_ES256, "kid-1");
    char *text = json_dumps(h, JSON_COMPACT);

    assert_string_equal(text,
                        "{\"alg\":\"ES256\",\"kid\":\"kid-1\",\"typ\":\"sitetoken-client+jwt\"}");
    free(text);
    json_decref(h);
    assert_null(jwt_header(JWT_KIND_COUNT, JWK_ALG_ES256, "k"));
    assert_null(jwt_header(JWT_KIND_BULK, JWK_ALG_COUNT, "k"));
    assert_null(jwt_header(JWT_KIND_BULK, JWK_ALG_EDDSA, NULL));
    assert_null(jwt_header(JWT_KIND_BULK, JWK_ALG_EDDSA, ""));
}

static void
test_aud_contains(void **state)
{
    json_t *s = json_string("a"), *arr = json_pack("[s, s]", "b", "a"),
           *mixed = json_pack("[i, s]", 1, "a"), *num = json_integer(1);

    assert_true(jwt_aud_contains(s, "a"));
    assert_false(jwt_aud_contains(s, "b"));
    assert_true(jwt_aud_contains(arr, "a"));
    assert_true(jwt_aud_contains(arr, "b"));
    assert_false(jwt_aud_contains(arr, "c"));
    assert_true(jwt_aud_contains(mixed, "a"));
    assert_false(jwt_aud_contains(num, "a"));
    assert_false(jwt_aud_contains(NULL, "a"));
    assert_false(jwt_aud_contains(s, NULL));
    json_decref(s);
    json_decref(arr);
    json_decref(mixed);
    json_decref(num);
}

static void
test_valid_each_kind_and_alg(void **state)
{
    for (int k = 0; k < JWT_KIND_COUNT; k++) {
        for (int a = 0; a < JWK_ALG_COUNT; a++) {
            json_t *h = jwt_header((enum jwt_kind)k, (enum jwk_alg)a,
                                   a == 0   ? "k0"
                                   : a == 1 ? "k1"
                                            : "k2");
            json_t *c = claims_for((enum jwt_kind)k);
            char *tok = jws_sign(keys[a], (enum jwk_alg)a, h, c);
            struct jwt_expect e = {
                .kind = (enum jwt_kind)k, .iss = ISS, .aud = AUD, .now = NOW, .skew = SKEW};
            struct jwt_claims out;
            const char *err = NULL;

            assert_non_null(tok);
            assert_int_equal(jwt_verify(tok, strlen(tok), set, &e, &out, &err), ERRCODE_OK);
            assert_int_equal(out.kind, k);
            assert_non_null(out.jti);
            assert_string_equal(out.site, "PS1");
            assert_string_equal(out.kid, json_string_value(json_object_get(h, "kid")));
            assert_int_equal(out.iat, NOW);
            assert_int_equal(out.nbf, NOW);
            assert_int_equal(out.exp, NOW + 3600);
            if (k == JWT_KIND_BULK) {
                assert_true(ids_is_uuid4(out.jti));
                assert_null(out.sub);
                assert_null(out.jkt);
                assert_int_equal(out.gen, -1);
            } else {
                assert_string_equal(out.sub, DEVICE);
                assert_string_equal(out.jkt, JKT);
            }
            if (k == JWT_KIND_CLIENT) {
                assert_string_equal(out.reg, "bulk");
                assert_string_equal(out.bulk, BULK_ID);
                assert_int_equal(out.gen, 2);
            } else {
                assert_null(out.reg);
                assert_null(out.bulk);
            }
            jwt_claims_clear(&out);
            free(tok);
            json_decref(h);
            json_decref(c);
        }
    }
}

static void
test_intranet_client(void **state)
{
    json_t *c = claims_for(JWT_KIND_CLIENT);
    char *tok;

    json_object_set_new(c, "reg", json_string("intranet"));
    json_object_del(c, "bulk");
    json_object_set_new(c, "gen", json_integer(0));
    json_object_set_new(c, "aud", json_pack("[s, s]", "urn:other", AUD));
    tok = mint(JWT_KIND_CLIENT, c);
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_OK);
    free(tok);
}

static void
test_invalid_request(void **state)
{
    assert_int_equal(check("not a token", JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
    assert_int_equal(check("a.b.c", JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
    assert_int_equal(check("", JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
    {
        struct jwt_expect e = {.kind = JWT_KIND_COUNT, .iss = ISS, .aud = AUD, .now = NOW};
        struct jwt_claims c;
        const char *err = NULL;

        assert_int_equal(jwt_verify("x", 1, set, &e, &c, &err), ERRCODE_INVALID_REQUEST);
        jwt_claims_clear(&c);
    }
}

static void
test_bad_alg(void **state)
{
    char *tok;

    tok = tu_compact_raw("{\"alg\":\"none\",\"kid\":\"k0\",\"typ\":\"sitetoken-client+jwt\"}", "{}",
                         "");
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
    /* HS256 "signed" with the public key bytes as secret: refused before any key lookup */
    tok = tu_compact_raw("{\"alg\":\"HS256\",\"kid\":\"nope\",\"typ\":\"sitetoken-client+jwt\"}",
                         "{}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
    /* header alg not the key's */
    tok = mint_with(keys[JWK_ALG_EDDSA], "ES256", "k0", "sitetoken-client+jwt",
                    claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
    /* key k1 is ES256, token says EdDSA */
    tok = mint_with(keys[JWK_ALG_EDDSA], "EdDSA", "k1", "sitetoken-client+jwt",
                    claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
}

static void
test_unknown_key(void **state)
{
    char *tok;

    tok = mint_with(keys[JWK_ALG_EDDSA], "EdDSA", "k9", "sitetoken-client+jwt",
                    claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_UNKNOWN_KEY);
    free(tok);
    tok = mint_with(keys[JWK_ALG_EDDSA], "EdDSA", NULL, "sitetoken-client+jwt",
                    claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_UNKNOWN_KEY);
    free(tok);
}

static void
test_bad_signature(void **state)
{
    char *tok =
        mint_with(other, "EdDSA", "k0", "sitetoken-client+jwt", claims_for(JWT_KIND_CLIENT));

    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
    /* a good token with one signature character changed */
    tok = mint(JWT_KIND_CLIENT, claims_for(JWT_KIND_CLIENT));
    tok[strlen(tok) - 10] = tok[strlen(tok) - 10] == 'A' ? 'B' : 'A';
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    /* and cut to 64 - 3 bytes (a canonical length): too short for Ed25519 */
    tok[strlen(tok) - 4] = '\0';
    tok[strlen(tok) - 1] = 'A';
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
}

static void
test_wrong_type(void **state)
{
    char *tok = mint(JWT_KIND_CLIENT, claims_for(JWT_KIND_CLIENT));

    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_OK);
    assert_int_equal(check(tok, JWT_KIND_ACCESS), ERRCODE_WRONG_TOKEN_TYPE);
    assert_int_equal(check(tok, JWT_KIND_BULK), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    tok = mint(JWT_KIND_BULK, claims_for(JWT_KIND_BULK));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    tok = mint_with(keys[0], "EdDSA", "k0", NULL, claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    tok = mint_with(keys[0], "EdDSA", "k0", "JWT", claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    /* an access token's claims under a client typ would still be refused for missing claims */
    tok = mint(JWT_KIND_CLIENT, claims_for(JWT_KIND_ACCESS));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
    free(tok);
}

static void
test_missing_claims(void **state)
{
    static const char *all[] = {"iss", "aud", "iat", "nbf", "exp", "jti", "site"};
    static const char *bound[] = {"sub", "cnf"};
    static const char *client[] = {"reg", "gen", "bulk"};

    for (int k = 0; k < JWT_KIND_COUNT; k++)
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            assert_int_equal(edited((enum jwt_kind)k, all[i], NULL, NULL), ERRCODE_INVALID_REQUEST);
    for (int k = JWT_KIND_CLIENT; k <= JWT_KIND_ACCESS; k++)
        for (size_t i = 0; i < sizeof(bound) / sizeof(bound[0]); i++)
            assert_int_equal(edited((enum jwt_kind)k, bound[i], NULL, NULL),
                             ERRCODE_INVALID_REQUEST);
    for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++)
        assert_int_equal(edited(JWT_KIND_CLIENT, client[i], NULL, NULL), ERRCODE_INVALID_REQUEST);
}

static void
test_ill_typed_claims(void **state)
{
    static const struct {
        enum jwt_kind kind;
        const char *key, *val;
    } cases[] = {
        {JWT_KIND_ACCESS, "iat", "1700000000.5"},
        {JWT_KIND_ACCESS, "exp", "\"1700003600\""},
        {JWT_KIND_ACCESS, "nbf", "-1"},
        {JWT_KIND_ACCESS, "exp", "253402300800"},
        {JWT_KIND_ACCESS, "iss", "7"},
        {JWT_KIND_ACCESS, "iss", "\"\""},
        {JWT_KIND_ACCESS, "aud", "7"},
        {JWT_KIND_ACCESS, "aud", "[]"},
        {JWT_KIND_ACCESS, "aud", "[\"" AUD "\", 7]"},
        {JWT_KIND_ACCESS, "jti", "7"},
        {JWT_KIND_ACCESS, "jti", "\"\""},
        {JWT_KIND_ACCESS, "jti",
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
        {JWT_KIND_ACCESS, "site", "\"SITECODETOOLONG1\""},
        {JWT_KIND_ACCESS, "sub", "\"0f8fad5b-d9cb-469f-a165-70867728950e\""},
        {JWT_KIND_ACCESS, "sub", "\"GUID:0F8FAD5B-D9CB-469F-A165-70867728950E\""},
        {JWT_KIND_ACCESS, "cnf", "\"" JKT "\""},
        {JWT_KIND_ACCESS, "cnf", "{}"},
        {JWT_KIND_ACCESS, "cnf", "{\"jkt\":\"short\"}"},
        {JWT_KIND_ACCESS, "cnf", "{\"jkt\":\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4+\"}"},
        {JWT_KIND_CLIENT, "gen", "-1"},
        {JWT_KIND_CLIENT, "gen", "1.0"},
        {JWT_KIND_CLIENT, "gen", "\"1\""},
        {JWT_KIND_CLIENT, "gen", "4294967296"},
        {JWT_KIND_CLIENT, "reg", "\"internet\""},
        {JWT_KIND_CLIENT, "reg", "7"},
        {JWT_KIND_CLIENT, "bulk", "\"not-a-uuid\""},
        {JWT_KIND_CLIENT, "bulk", "7"},
        {JWT_KIND_BULK, "jti", "\"AAAAAAAAAAAAAAAAAAAAAA\""},
        {JWT_KIND_BULK, "jti", "\"9B2C6D1E-3F4A-4B5C-8D6E-7F8091A2B3C4\""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum errcode rc = edited(cases[i].kind, NULL, cases[i].key, cases[i].val);

        if (rc != ERRCODE_INVALID_REQUEST)
            fail_msg("%s=%s: %s", cases[i].key, cases[i].val, errcode_name(rc));
    }
}

static void
test_intranet_with_bulk_refused(void **state)
{
    assert_int_equal(edited(JWT_KIND_CLIENT, NULL, "reg", "\"intranet\""), ERRCODE_INVALID_REQUEST);
}

static void
test_iss_aud(void **state)
{
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "iss", "\"urn:sitetoken:PS2\""),
                     ERRCODE_WRONG_TOKEN_TYPE);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "aud", "\"urn:other\""),
                     ERRCODE_WRONG_TOKEN_TYPE);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "aud", "[\"urn:a\", \"urn:b\"]"),
                     ERRCODE_WRONG_TOKEN_TYPE);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "aud", "[\"urn:a\", \"" AUD "\"]"), ERRCODE_OK);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "aud", "[\"" AUD "\"]"), ERRCODE_OK);
}

static void
test_time_edges(void **state)
{
    char *tok = mint(JWT_KIND_ACCESS, claims_for(JWT_KIND_ACCESS)); /* iat=nbf=NOW, exp=NOW+3600 */

    /* expiry: valid while now < exp + skew */
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW + 3600 + SKEW - 1, SKEW), ERRCODE_OK);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW + 3600 + SKEW, SKEW),
                     ERRCODE_TOKEN_EXPIRED);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW + 3599, 0), ERRCODE_OK);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW + 3600, 0), ERRCODE_TOKEN_EXPIRED);
    /* not yet valid: nbf/iat may be up to skew ahead of now */
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW - SKEW, SKEW), ERRCODE_OK);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW - SKEW - 1, SKEW),
                     ERRCODE_TOKEN_NOT_YET_VALID);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW, 0), ERRCODE_OK);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW - 1, 0), ERRCODE_TOKEN_NOT_YET_VALID);
    /* negative skew counts as 0; absurd now values are clamped, not overflowed */
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, NOW - 1, -100), ERRCODE_TOKEN_NOT_YET_VALID);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, INT64_MAX, INT64_MAX), ERRCODE_TOKEN_EXPIRED);
    assert_int_equal(check_at(tok, JWT_KIND_ACCESS, INT64_MIN, 0), ERRCODE_TOKEN_NOT_YET_VALID);
    free(tok);
    /* iat in the future with nbf fine */
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "iat", "1700000061"),
                     ERRCODE_TOKEN_NOT_YET_VALID);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "iat", "1700000060"), ERRCODE_OK);
    assert_int_equal(edited(JWT_KIND_ACCESS, NULL, "nbf", "1700000061"),
                     ERRCODE_TOKEN_NOT_YET_VALID);
}

static void
test_order_of_checks(void **state)
{
    json_t *c;
    char *tok;

    /* expired and wrong typ: typ first */
    c = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(c, "exp", json_integer(NOW - 1000));
    tok = mint(JWT_KIND_CLIENT, c);
    assert_int_equal(check(tok, JWT_KIND_ACCESS), ERRCODE_WRONG_TOKEN_TYPE);
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_TOKEN_EXPIRED);
    free(tok);
    /* expired and missing claim: missing claim first */
    c = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(c, "exp", json_integer(NOW - 1000));
    json_object_del(c, "site");
    tok = mint(JWT_KIND_CLIENT, c);
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
    free(tok);
    /* expired and wrong issuer: issuer first */
    c = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(c, "exp", json_integer(NOW - 1000));
    json_object_set_new(c, "iss", json_string("urn:x"));
    tok = mint(JWT_KIND_CLIENT, c);
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    /* bad signature and wrong typ: typ first (a token of another kind costs
     * no signature check) */
    tok = mint_with(other, "EdDSA", "k0", "JWT", claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
    free(tok);
    /* bad alg and unknown kid: alg first */
    tok = tu_compact_raw("{\"alg\":\"none\",\"kid\":\"zz\",\"typ\":\"sitetoken-client+jwt\"}", "{}",
                         "");
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_BAD_SIGNATURE);
    free(tok);
    /* unknown kid and bad signature: kid first */
    tok = mint_with(other, "EdDSA", "zz", "sitetoken-client+jwt", claims_for(JWT_KIND_CLIENT));
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_UNKNOWN_KEY);
    free(tok);
}

static void
test_claims_kept_after_late_refusal(void **state)
{
    json_t *c = claims_for(JWT_KIND_ACCESS);
    struct jwt_expect e = {.kind = JWT_KIND_ACCESS, .iss = ISS, .aud = AUD, .now = NOW + 7200};
    struct jwt_claims out;
    const char *err = NULL;
    char *tok, jti[64];

    snprintf(jti, sizeof(jti), "%s", json_string_value(json_object_get(c, "jti")));
    tok = mint(JWT_KIND_ACCESS, c);
    assert_int_equal(jwt_verify(tok, strlen(tok), set, &e, &out, &err), ERRCODE_TOKEN_EXPIRED);
    assert_non_null(out.claims);
    assert_string_equal(out.jti, jti);
    assert_string_equal(out.kid, "k0");
    jwt_claims_clear(&out);
    assert_null(out.claims);
    /* before the signature is checked, nothing is kept */
    tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'Q' : 'A';
    e.now = NOW;
    assert_int_equal(jwt_verify(tok, strlen(tok), set, &e, &out, &err), ERRCODE_BAD_SIGNATURE);
    assert_null(out.claims);
    jwt_claims_clear(&out);
    free(tok);
}

/* issue 10 item 16: a reg of 17 to 1024 bytes passed the type check and
 * reached strcmp as NULL. */
static void
test_long_reg(void **state)
{
    char reg[1025];

    memset(reg, 'b', sizeof(reg) - 1);
    reg[sizeof(reg) - 1] = '\0';
    for (size_t len = 17; len <= 1024; len += 1007) {
        json_t *c = claims_for(JWT_KIND_CLIENT);
        char *tok;

        reg[len] = '\0';
        json_object_set_new(c, "reg", json_string(reg));
        tok = mint(JWT_KIND_CLIENT, c);
        assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_INVALID_REQUEST);
        free(tok);
        reg[len] = 'b';
    }
}

/* RFC 7515 §4.1.9: typ without regard to case, with or without application/. */
static void
test_typ_comparison(void **state)
{
    static const char *good[] = {"sitetoken-client+jwt", "application/sitetoken-client+jwt",
                                 "SITETOKEN-CLIENT+JWT", "Application/Sitetoken-Client+JWT"};
    static const char *bad[] = {"sitetoken-client", "text/sitetoken-client+jwt",
                                "application/application/sitetoken-client+jwt", "application/",
                                "sitetoken-client+jwt "};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *tok =
            mint_with(keys[JWK_ALG_EDDSA], "EdDSA", "k0", good[i], claims_for(JWT_KIND_CLIENT));

        assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_OK);
        free(tok);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok =
            mint_with(keys[JWK_ALG_EDDSA], "EdDSA", "k0", bad[i], claims_for(JWT_KIND_CLIENT));

        assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_WRONG_TOKEN_TYPE);
        free(tok);
    }
    assert_true(jws_typ_is("DPoP+JWT", "dpop+jwt"));
    assert_false(jws_typ_is(NULL, "dpop+jwt"));
}

/* issue 11: bulk and client tokens carry aud = the issuer; those issued
 * before the rule (aud = the gateways) stay accepted by the authority, which
 * passes the gateway audience as aud_legacy. A gateway's verifier (no
 * aud_legacy, aud = the gateways) refuses the new ones. */
static void
test_aud_legacy(void **state)
{
    const struct jwt_expect authority = {.kind = JWT_KIND_CLIENT,
                                         .iss = ISS,
                                         .aud = ISS,
                                         .aud_legacy = AUD,
                                         .now = NOW,
                                         .skew = SKEW};
    const struct jwt_expect gateway = {
        .kind = JWT_KIND_CLIENT, .iss = ISS, .aud = AUD, .now = NOW, .skew = SKEW};
    const char *err = NULL;
    struct jwt_claims c;
    json_t *claims;
    char *new_tok, *old_tok, *other_tok;

    claims = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(claims, "aud", json_string(ISS));
    new_tok = mint(JWT_KIND_CLIENT, claims);
    old_tok = mint(JWT_KIND_CLIENT, claims_for(JWT_KIND_CLIENT)); /* aud = AUD */
    claims = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(claims, "aud", json_string("urn:someone-else"));
    other_tok = mint(JWT_KIND_CLIENT, claims);

    assert_int_equal(jwt_verify(new_tok, strlen(new_tok), set, &authority, &c, &err), ERRCODE_OK);
    jwt_claims_clear(&c);
    assert_int_equal(jwt_verify(old_tok, strlen(old_tok), set, &authority, &c, &err), ERRCODE_OK);
    jwt_claims_clear(&c);
    assert_int_equal(jwt_verify(other_tok, strlen(other_tok), set, &authority, &c, &err),
                     ERRCODE_WRONG_TOKEN_TYPE);
    jwt_claims_clear(&c);
    assert_int_equal(jwt_verify(new_tok, strlen(new_tok), set, &gateway, &c, &err),
                     ERRCODE_WRONG_TOKEN_TYPE);
    jwt_claims_clear(&c);
    free(new_tok);
    free(old_tok);
    free(other_tok);
}

/* Time-ordered ids: a bulk token with a UUIDv7 jti and a client token whose
 * bulk claim is one are accepted; UUIDv4 ones (issued before) still are. */
static void
test_uuid7_ids(void **state)
{
    char u7[IDS_UUID_LEN + 1], dev[IDS_DEVICE_ID_LEN + 1];
    json_t *c;
    char *tok;

    ids_uuid7(u7);
    ids_device_id(dev);
    c = claims_for(JWT_KIND_BULK);
    json_object_set_new(c, "jti", json_string(u7));
    tok = mint(JWT_KIND_BULK, c);
    assert_int_equal(check(tok, JWT_KIND_BULK), ERRCODE_OK);
    free(tok);
    c = claims_for(JWT_KIND_CLIENT);
    json_object_set_new(c, "bulk", json_string(u7));
    json_object_set_new(c, "sub", json_string(dev));
    tok = mint(JWT_KIND_CLIENT, c);
    assert_int_equal(check(tok, JWT_KIND_CLIENT), ERRCODE_OK);
    free(tok);
    tok = mint(JWT_KIND_BULK, claims_for(JWT_KIND_BULK)); /* UUIDv4 */
    assert_int_equal(check(tok, JWT_KIND_BULK), ERRCODE_OK);
    free(tok);
}

/* jwt_claims_new writes what the claim table requires of each kind, and no
 * more: the tokens it builds verify, and an access token carries no reg. */
static void
test_claims_new(void **state)
{
    (void)state;
    for (int k = 0; k < JWT_KIND_COUNT; k++) {
        char jti[IDS_UUID_LEN + 1];
        struct jwt_mint m = {.kind = (enum jwt_kind)k,
                             .iss = ISS,
                             .aud = AUD,
                             .site = "PS1",
                             .jti = jti,
                             .iat = NOW,
                             .exp = NOW + 3600,
                             .sub = DEVICE,
                             .jkt = JKT,
                             .reg = "bulk",
                             .bulk = BULK_ID,
                             .gen = 3};
        struct jwt_expect e = {
            .kind = (enum jwt_kind)k, .iss = ISS, .aud = AUD, .now = NOW, .skew = SKEW};
        struct jwt_claims out;
        const char *err = NULL;
        json_t *c, *h;
        char *tok;

        if (k == JWT_KIND_BULK)
            ids_uuid7(jti);
        else
            ids_jti(jti);
        assert_non_null(c = jwt_claims_new(&m));
        assert_int_equal(json_integer_value(json_object_get(c, "nbf")), NOW);
        assert_int_equal(json_object_get(c, "reg") != NULL, k == JWT_KIND_CLIENT);
        assert_int_equal(json_object_get(c, "gen") != NULL, k == JWT_KIND_CLIENT);
        assert_int_equal(json_object_get(c, "bulk") != NULL, k == JWT_KIND_CLIENT);
        assert_int_equal(json_object_get(c, "sub") != NULL, k != JWT_KIND_BULK);
        assert_int_equal(json_object_get(c, "cnf") != NULL, k != JWT_KIND_BULK);
        assert_non_null(h = jwt_header((enum jwt_kind)k, JWK_ALG_EDDSA, "k0"));
        assert_non_null(tok = jws_sign(keys[JWK_ALG_EDDSA], JWK_ALG_EDDSA, h, c));
        assert_int_equal(jwt_verify(tok, strlen(tok), set, &e, &out, &err), ERRCODE_OK);
        assert_string_equal(out.jti, jti);
        if (k == JWT_KIND_CLIENT) {
            assert_string_equal(out.bulk, BULK_ID);
            assert_int_equal(out.gen, 3);
        }
        jwt_claims_clear(&out);
        free(tok);
        json_decref(h);
        json_decref(c);
        /* A required claim missing: no claims at all. */
        m.site = NULL;
        assert_null(jwt_claims_new(&m));
    }
    /* An intranet client token: no bulk claim. */
    {
        struct jwt_mint m = {.kind = JWT_KIND_CLIENT,
                             .iss = ISS,
                             .aud = ISS,
                             .site = "PS1",
                             .jti = "j",
                             .iat = NOW,
                             .exp = NOW + 1,
                             .sub = DEVICE,
                             .jkt = JKT,
                             .reg = "intranet",
                             .bulk = ""};
        json_t *c = jwt_claims_new(&m);

        assert_non_null(c);
        assert_null(json_object_get(c, "bulk"));
        assert_int_equal(json_integer_value(json_object_get(c, "gen")), 0);
        json_decref(c);
    }
    assert_null(jwt_claims_new(NULL));
}

static void
test_clamps(void **state)
{
    (void)state;
    assert_int_equal(jwt_clamp_skew(-5), 0);
    assert_int_equal(jwt_clamp_skew(60), 60);
    assert_int_equal(jwt_clamp_skew(INT64_MAX), JWT_SKEW_MAX);
    assert_int_equal(jwt_clamp_time(-1), 0);
    assert_int_equal(jwt_clamp_time(NOW), NOW);
    assert_int_equal(jwt_clamp_time(INT64_MAX), JWT_TIME_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_aud_contains),
        cmocka_unit_test(test_valid_each_kind_and_alg),
        cmocka_unit_test(test_intranet_client),
        cmocka_unit_test(test_invalid_request),
        cmocka_unit_test(test_bad_alg),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_missing_claims),
        cmocka_unit_test(test_ill_typed_claims),
        cmocka_unit_test(test_intranet_with_bulk_refused),
        cmocka_unit_test(test_iss_aud),
        cmocka_unit_test(test_time_edges),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_claims_kept_after_late_refusal),
        cmocka_unit_test(test_long_reg),
        cmocka_unit_test(test_typ_comparison),
        cmocka_unit_test(test_aud_legacy),
        cmocka_unit_test(test_uuid7_ids),
        cmocka_unit_test(test_claims_new),
        cmocka_unit_test(test_clamps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
