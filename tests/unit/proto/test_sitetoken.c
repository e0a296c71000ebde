/* libsitetoken's API over tokens minted with our own signer: all three
 * algorithms, every result code, key reloads, and argument checks. */
#include "testutil.h"

#include <pthread.h>

#include <openssl/sha.h>

#include "b64url.h"
#include "ids.h"
#include "jwt.h"
#include "sitetoken.h"

#define NOW 1700000000
#define ISS "urn:sitetoken:PS1"
#define AUD "urn:sitetoken:gateway"
#define DEVICE "GUID:0f8fad5b-d9cb-469f-a165-70867728950e"

static EVP_PKEY *keys[JWK_ALG_COUNT];
static char *jwks_text;

static int
setup(void **state)
{
    const char *err = NULL;
    json_t *arr = json_array(), *doc;

    for (int i = 0; i < JWK_ALG_COUNT; i++) {
        char kid[16];

        if ((keys[i] = jwk_generate((enum jwk_alg)i, &err)) == NULL)
            return -1;
        snprintf(kid, sizeof(kid), "k%d", i);
        json_array_append_new(arr, jwk_public_to_json(keys[i], kid));
    }
    doc = json_pack("{s:o}", "keys", arr);
    jwks_text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return 0;
}

static int
teardown(void **state)
{
    for (int i = 0; i < JWK_ALG_COUNT; i++)
        EVP_PKEY_free(keys[i]);
    free(jwks_text);
    return 0;
}

static char *
mint(enum jwt_kind kind, int alg, int64_t exp_offset)
{
    char kid[16], jti[IDS_UUID_LEN + 1], jkt[44];
    json_t *h, *c;
    char *tok;

    snprintf(kid, sizeof(kid), "k%d", alg);
    h = jwt_header(kind, (enum jwk_alg)alg, kid);
    c = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "iat", (json_int_t)NOW,
                  "nbf", (json_int_t)NOW, "exp", (json_int_t)(NOW + exp_offset), "site", "PS1");
    if (kind == JWT_KIND_BULK) {
        ids_uuid4(jti);
    } else {
        ids_jti(jti);
        assert_int_equal(jwk_thumbprint(keys[0], jkt), 0);
        json_object_set_new(c, "sub", json_string(DEVICE));
        json_object_set_new(c, "cnf", json_pack("{s:s}", "jkt", jkt));
    }
    if (kind == JWT_KIND_CLIENT) {
        json_object_set_new(c, "reg", json_string("intranet"));
        json_object_set_new(c, "gen", json_integer(0));
    }
    json_object_set_new(c, "jti", json_string(jti));
    tok = jws_sign(keys[alg], (enum jwk_alg)alg, h, c);
    assert_non_null(tok);
    json_decref(h);
    json_decref(c);
    return tok;
}

static struct sitetoken_verifier *
verifier(void)
{
    struct sitetoken_verifier *v = sitetoken_verifier_new(ISS, AUD, 60);
    const char *err = NULL;

    assert_non_null(v);
    assert_int_equal(sitetoken_verifier_load_jwks(v, jwks_text, strlen(jwks_text), &err), 0);
    assert_int_equal(sitetoken_verifier_key_count(v), 3);
    return v;
}

static void
test_client_and_access_each_alg(void **state)
{
    struct sitetoken_verifier *v = verifier();

    for (int a = 0; a < JWK_ALG_COUNT; a++) {
        char *client = mint(JWT_KIND_CLIENT, a, 90 * 86400),
             *access = mint(JWT_KIND_ACCESS, a, 8 * 3600);
        struct sitetoken_claims c;
        char jkt[44], kid[16];

        assert_int_equal(jwk_thumbprint(keys[0], jkt), 0);
        snprintf(kid, sizeof(kid), "k%d", a);
        assert_int_equal(
            sitetoken_verify(v, client, strlen(client), SITETOKEN_KIND_CLIENT, NOW + 10, &c),
            SITETOKEN_OK);
        assert_string_equal(c.sub, DEVICE);
        assert_string_equal(c.jkt, jkt);
        assert_string_equal(c.kid, kid);
        assert_string_equal(c.site, "PS1");
        assert_true(ids_is_jti(c.jti));
        assert_int_equal(c.gen, 0);
        assert_int_equal(c.kind, SITETOKEN_KIND_CLIENT);
        assert_int_equal(c.iat, NOW);
        assert_int_equal(c.exp, NOW + 90 * 86400);
        assert_int_equal(
            sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW + 10, &c),
            SITETOKEN_OK);
        assert_int_equal(c.kind, SITETOKEN_KIND_ACCESS);
        assert_int_equal(c.gen, -1);
        /* swapped kinds */
        assert_int_equal(
            sitetoken_verify(v, client, strlen(client), SITETOKEN_KIND_ACCESS, NOW + 10, &c),
            SITETOKEN_E_WRONG_TOKEN_TYPE);
        assert_int_equal(
            sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_CLIENT, NOW + 10, &c),
            SITETOKEN_E_WRONG_TOKEN_TYPE);
        free(client);
        free(access);
    }
    sitetoken_verifier_free(v);
}

static void
test_bulk_refused_as_client(void **state)
{
    struct sitetoken_verifier *v = verifier();
    char *bulk = mint(JWT_KIND_BULK, 0, 3 * 86400);
    struct sitetoken_claims c;

    assert_int_equal(sitetoken_verify(v, bulk, strlen(bulk), SITETOKEN_KIND_CLIENT, NOW, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    assert_int_equal(sitetoken_verify(v, bulk, strlen(bulk), SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    free(bulk);
    sitetoken_verifier_free(v);
}

static void
test_result_codes(void **state)
{
    struct sitetoken_verifier *v = verifier();
    char *access = mint(JWT_KIND_ACCESS, 0, 3600), *bad;
    struct sitetoken_claims c;

    assert_int_equal(
        sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW + 3600 + 60, &c),
        SITETOKEN_E_TOKEN_EXPIRED);
    assert_int_equal(
        sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW - 61, &c),
        SITETOKEN_E_TOKEN_NOT_YET_VALID);
    assert_int_equal(sitetoken_verify(v, "x.y.z", 5, SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_E_INVALID_REQUEST);
    bad = strdup(access);
    bad[strlen(bad) - 10] = bad[strlen(bad) - 10] == 'A' ? 'B' : 'A';
    assert_int_equal(sitetoken_verify(v, bad, strlen(bad), SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_E_BAD_SIGNATURE);
    free(bad);
    /* unknown key once the set no longer has k0 */
    {
        json_t *arr = json_array(), *doc;
        char *text;
        const char *err = NULL;

        json_array_append_new(arr, jwk_public_to_json(keys[1], "k1"));
        doc = json_pack("{s:o}", "keys", arr);
        text = json_dumps(doc, JSON_COMPACT);
        assert_int_equal(sitetoken_verifier_load_jwks(v, text, strlen(text), &err), 0);
        assert_int_equal(sitetoken_verifier_key_count(v), 1);
        assert_int_equal(
            sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW, &c),
            SITETOKEN_E_UNKNOWN_KEY);
        free(text);
        json_decref(doc);
    }
    free(access);
    sitetoken_verifier_free(v);
}

static void
test_failed_load_keeps_keys(void **state)
{
    struct sitetoken_verifier *v = verifier();
    const char *err = NULL;

    assert_int_equal(sitetoken_verifier_load_jwks(v, "{\"keys\":7}", 10, &err), -1);
    assert_non_null(err);
    assert_int_equal(sitetoken_verifier_load_jwks(v, "nonsense", 8, NULL), -1);
    assert_int_equal(sitetoken_verifier_load_jwks(v, NULL, 0, &err), -1);
    assert_int_equal(sitetoken_verifier_key_count(v), 3);
    assert_int_equal(sitetoken_verifier_load_jwks(NULL, jwks_text, strlen(jwks_text), &err), -1);
    sitetoken_verifier_free(v);
}

static void
test_arguments(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_claims c;
    char *access = mint(JWT_KIND_ACCESS, 0, 3600);

    assert_null(sitetoken_verifier_new(NULL, AUD, 0));
    assert_null(sitetoken_verifier_new(ISS, NULL, 0));
    assert_null(sitetoken_verifier_new("", AUD, 0));
    assert_int_equal(sitetoken_verify(NULL, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_E_INVALID_REQUEST);
    assert_int_equal(sitetoken_verify(v, NULL, 0, SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_E_INVALID_REQUEST);
    assert_int_equal(sitetoken_verify(v, access, strlen(access), 3, NOW, &c),
                     SITETOKEN_E_INVALID_REQUEST);
    assert_int_equal(sitetoken_verify(v, access, strlen(access), SITETOKEN_KIND_ACCESS, NOW, NULL),
                     SITETOKEN_E_INVALID_REQUEST);
    assert_int_equal(sitetoken_verifier_key_count(NULL), 0);
    sitetoken_verifier_free(NULL);
    free(access);
    sitetoken_verifier_free(v);
}

static void
test_error_names(void **state)
{
    static const char *names[] = {
        "ok",          "invalid_request",  "token_expired", "token_not_yet_valid", "bad_signature",
        "unknown_key", "wrong_token_type", "token_revoked", "unavailable"};

    for (int i = 0; i <= SITETOKEN_E_UNAVAILABLE; i++)
        assert_string_equal(sitetoken_error_name(i), names[i]);
    assert_string_equal(sitetoken_error_name(-1), "unavailable");
    assert_string_equal(sitetoken_error_name(100), "unavailable");
}

/* A DPoP proof for method and htu over token, signed with key (whose public
 * JWK goes in the header), at iat. */
static char *
proof(EVP_PKEY *key, const char *method, const char *htu, const char *token, int64_t iat,
      const char *jti)
{
    unsigned char h[32];
    char ath[64];
    json_t *hd, *c, *jwk = jwk_public_to_json(key, NULL);
    char *p;

    SHA256((const unsigned char *)token, strlen(token), h);
    assert_int_equal(b64url_encode_buf(h, sizeof(h), ath, sizeof(ath)), 0);
    json_object_del(jwk, "kid");
    json_object_del(jwk, "use");
    json_object_del(jwk, "alg");
    hd = json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg", "EdDSA", "jwk", jwk);
    c = json_pack("{s:s, s:s, s:s, s:I, s:s}", "jti", jti, "htm", method, "htu", htu, "iat",
                  (json_int_t)iat, "ath", ath);
    p = jws_sign(key, JWK_ALG_EDDSA, hd, c);
    assert_non_null(p);
    json_decref(hd);
    json_decref(c);
    return p;
}

/* sitetoken_verify_dpop end to end: a token verified, then its proof, signed
 * for real; each check of the proof fails on its own. */
static void
test_verify_dpop_end_to_end(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_replay *r = sitetoken_replay_new(1000);
    char *tok = mint(JWT_KIND_ACCESS, JWK_ALG_EDDSA, 3600), *other_tok;
    const char *url = "https://gw.example/api/x?q=1";
    EVP_PKEY *stranger = jwk_generate(JWK_ALG_EDDSA, &(const char *){NULL});
    struct sitetoken_claims c;
    char *p;

    assert_non_null(r);
    assert_int_equal(sitetoken_verify(v, tok, strlen(tok), SITETOKEN_KIND_ACCESS, NOW, &c),
                     SITETOKEN_OK);
#define CHECK(pr, method, u, t, want)                                                              \
    do {                                                                                           \
        p = (pr);                                                                                  \
        assert_int_equal(                                                                          \
            sitetoken_verify_dpop(v, r, p, strlen(p), method, u, t, strlen(t), &c, NOW), want);    \
        free(p);                                                                                   \
    } while (0)
    /* good, with the htu normalised (case, default port, dot segments) */
    CHECK(proof(keys[0], "GET", "https://GW.example:443/api/./x", tok, NOW, "j1"), "GET", url, tok,
          SITETOKEN_OK);
    /* the same jti again: replayed */
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", tok, NOW, "j1"), "GET", url, tok,
          SITETOKEN_E_PROOF_REPLAYED);
    CHECK(proof(keys[0], "POST", "https://gw.example/api/x", tok, NOW, "j2"), "GET", url, tok,
          SITETOKEN_E_PROOF_INVALID);
    CHECK(proof(keys[0], "GET", "https://gw.example/api/y", tok, NOW, "j3"), "GET", url, tok,
          SITETOKEN_E_PROOF_INVALID);
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", tok, NOW - 600, "j4"), "GET", url, tok,
          SITETOKEN_E_PROOF_INVALID);
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", tok, NOW + 600, "j5"), "GET", url, tok,
          SITETOKEN_E_PROOF_INVALID);
    /* ath of another token */
    other_tok = mint(JWT_KIND_ACCESS, JWK_ALG_EDDSA, 3600);
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", other_tok, NOW, "j6"), "GET", url, tok,
          SITETOKEN_E_PROOF_INVALID);
    /* signed by a key that is not the token's cnf.jkt */
    CHECK(proof(stranger, "GET", "https://gw.example/api/x", tok, NOW, "j7"), "GET", url, tok,
          SITETOKEN_E_BINDING_MISMATCH);
    /* a URL that cannot be normalised */
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", tok, NOW, "j8"), "GET", "not a url",
          tok, SITETOKEN_E_INVALID_REQUEST);
    /* none of the refused proofs took a replay slot: j2 is good now */
    CHECK(proof(keys[0], "GET", "https://gw.example/api/x", tok, NOW, "j2"), "GET", url, tok,
          SITETOKEN_OK);
#undef CHECK
    EVP_PKEY_free(stranger);
    free(tok);
    free(other_tok);
    sitetoken_replay_free(r);
    sitetoken_verifier_free(v);
}

/* One replay cache shared by many threads (as the gateway's loops share
 * it): every thread checks the same proofs, and each proof is accepted by
 * exactly one of them. */
#define SHARED_THREADS 4
#define SHARED_PROOFS 100

struct shared_run {
    pthread_t tid;
    struct sitetoken_verifier *v;
    struct sitetoken_replay *r;
    const char *tok;
    struct sitetoken_claims c;
    char **proofs;
    int ok, replayed;
};

static void *
shared_main(void *arg)
{
    struct shared_run *s = arg;

    for (int i = 0; i < SHARED_PROOFS; i++) {
        int rc = sitetoken_verify_dpop(s->v, s->r, s->proofs[i], strlen(s->proofs[i]), "GET",
                                       "https://gw.example/x", s->tok, strlen(s->tok), &s->c, NOW);

        s->ok += rc == SITETOKEN_OK;
        s->replayed += rc == SITETOKEN_E_PROOF_REPLAYED;
    }
    return NULL;
}

static void
test_replay_shared_by_threads(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_replay *r = sitetoken_replay_new(1000);
    char *tok = mint(JWT_KIND_ACCESS, JWK_ALG_EDDSA, 3600), *proofs[SHARED_PROOFS], jti[16];
    struct shared_run runs[SHARED_THREADS];
    int ok = 0, replayed = 0;

    assert_non_null(r);
    for (int i = 0; i < SHARED_PROOFS; i++) {
        snprintf(jti, sizeof(jti), "s%d", i);
        proofs[i] = proof(keys[0], "GET", "https://gw.example/x", tok, NOW, jti);
    }
    for (int t = 0; t < SHARED_THREADS; t++) {
        runs[t] = (struct shared_run){.v = v, .r = r, .tok = tok, .proofs = proofs};
        assert_int_equal(
            sitetoken_verify(v, tok, strlen(tok), SITETOKEN_KIND_ACCESS, NOW, &runs[t].c),
            SITETOKEN_OK);
    }
    for (int t = 0; t < SHARED_THREADS; t++)
        assert_int_equal(pthread_create(&runs[t].tid, NULL, shared_main, &runs[t]), 0);
    for (int t = 0; t < SHARED_THREADS; t++) {
        pthread_join(runs[t].tid, NULL);
        ok += runs[t].ok;
        replayed += runs[t].replayed;
    }
    assert_int_equal(ok, SHARED_PROOFS);
    assert_int_equal(replayed, (SHARED_THREADS - 1) * SHARED_PROOFS);
    assert_int_equal(sitetoken_replay_count(r, NOW), SHARED_PROOFS);
    for (int i = 0; i < SHARED_PROOFS; i++)
        free(proofs[i]);
    free(tok);
    sitetoken_replay_free(r);
    sitetoken_verifier_free(v);
}

/* The bulk pre-screen: a bulk token verifies (and only as a bulk token), a
 * client or access token does not, an expired one does not, and a blocked
 * one is found in the feed. */
static void
test_bulk_prescreen(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_revocations *revs = sitetoken_revocations_new();
    char *bulk = mint(JWT_KIND_BULK, JWK_ALG_ES256, 3600);
    char *client = mint(JWT_KIND_CLIENT, JWK_ALG_EDDSA, 3600);
    char *access = mint(JWT_KIND_ACCESS, JWK_ALG_EDDSA, 3600);
    struct sitetoken_claims c;
    const char *err = NULL;
    char doc[512];

    assert_int_equal(sitetoken_verify_bulk(v, bulk, strlen(bulk), NOW, &c), SITETOKEN_OK);
    assert_int_equal(sitetoken_revocations_check_bulk(revs, &c, NOW), SITETOKEN_OK);
    assert_int_equal(sitetoken_verify_bulk(v, client, strlen(client), NOW, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    assert_int_equal(sitetoken_verify_bulk(v, access, strlen(access), NOW, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    assert_int_equal(sitetoken_verify_bulk(v, bulk, strlen(bulk), NOW + 7200, &c),
                     SITETOKEN_E_TOKEN_EXPIRED);
    bulk[strlen(bulk) - 2] ^= 1; /* in the signature */
    assert_int_not_equal(sitetoken_verify_bulk(v, bulk, strlen(bulk), NOW, &c), SITETOKEN_OK);
    bulk[strlen(bulk) - 2] ^= 1;
    assert_int_equal(sitetoken_verify_bulk(v, bulk, strlen(bulk), NOW, &c), SITETOKEN_OK);
    snprintf(doc, sizeof(doc),
             "{\"serial\": 5, \"entries\": [{\"serial\": 5, \"kind\": \"bulk\", \"id\": \"%s\", "
             "\"revoked_at\": \"2023-11-14T22:13:20Z\", \"expires_at\": \"2033-11-14T22:13:20Z\", "
             "\"reason\": \"blocked\"}]}",
             c.jti);
    assert_int_equal(sitetoken_revocations_load_at(revs, doc, strlen(doc), 1, NOW, &err), 0);
    assert_int_equal(sitetoken_revocations_check_bulk(revs, &c, NOW),
                     SITETOKEN_E_BULK_TOKEN_BLOCKED);
    free(bulk);
    free(client);
    free(access);
    sitetoken_revocations_free(revs);
    sitetoken_verifier_free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_and_access_each_alg),
        cmocka_unit_test(test_bulk_refused_as_client),
        cmocka_unit_test(test_result_codes),
        cmocka_unit_test(test_failed_load_keeps_keys),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_verify_dpop_end_to_end),
        cmocka_unit_test(test_replay_shared_by_threads),
        cmocka_unit_test(test_bulk_prescreen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
