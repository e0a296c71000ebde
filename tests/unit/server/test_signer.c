/* signer.c: the first key, signing with the active key (verified through
 * proto against the published set), prepublication, activation, retirement,
 * removal, rotation at once, an algorithm change, and a wrong seal key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "jwt.h"
#include "bulk.h"
#include "keys.h"
#include "signer.h"
#include "store.h"

#define HOUR 3600
#define DAY 86400
#define T0 1800000000

static const uint8_t seal_key[SEAL_KEY_LEN] = {1, 2, 3};

static struct signer *
new_signer(const char *alg)
{
    const struct signer_policy p = {.algorithm = alg,
                                    .rotation_period_s = 30 * DAY,
                                    .prepublish_s = DAY,
                                    .max_token_lifetime_s = 90 * DAY};

    return signer_new(seal_key, &p);
}

static int
count_status(struct store *st, const char *status)
{
    struct store_key *keys;
    size_t n;
    const char *err;
    int c = 0;

    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        c += strcmp(keys[i].status, status) == 0;
    store_keys_free(keys, n);
    return c;
}

static void
step(struct signer *s, struct store *st, int64_t now, enum signer_mode mode)
{
    const char *err = NULL;
    char changed[256];

    assert_int_equal(signer_lifecycle(s, st, now, mode, changed, sizeof(changed), NULL, 0),
                     ERRCODE_OK);
    assert_int_equal(signer_reload(s, st, &err), 0);
}

/* Signs a client-shaped token and verifies it with the published keys. */
static void
sign_and_verify(struct signer *s, int64_t now, char kid[65])
{
    json_t *claims = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:{s:s}, s:s, s:s, s:i}", "iss", "urn:sitetoken:PS1",
        "aud", "urn:sitetoken:gateway", "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
        (json_int_t)(now + HOUR), "jti", "abcdefghijklmnopqrstuv", "sub",
        "GUID:9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f", "cnf", "jkt",
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "site", "PS1", "reg", "intranet", "gen", 0);
    const struct jwt_expect want = {.kind = JWT_KIND_CLIENT,
                                    .iss = "urn:sitetoken:PS1",
                                    .aud = "urn:sitetoken:gateway",
                                    .now = now,
                                    .skew = 60};
    struct signer_keys *keys = signer_keys_get(s);
    struct jwt_claims out;
    const char *err = NULL;
    char *token = NULL;

    assert_int_equal(signer_sign(s, JWT_KIND_CLIENT, claims, &token, kid), ERRCODE_OK);
    memset(&out, 0, sizeof(out));
    assert_int_equal(jwt_verify(token, strlen(token), keys->jwks, &want, &out, &err), ERRCODE_OK);
    assert_string_equal(out.kid, kid);
    jwt_claims_clear(&out);
    signer_keys_put(keys);
    json_decref(claims);
    free(token);
}

static void
test_lifecycle(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(":memory:", 1000, &err);
    struct signer *s = new_signer("EdDSA");
    struct signer_keys *k;
    char kid1[65], kid2[65], kid3[65], *none = NULL;
    json_t *empty = json_object();

    assert_non_null(st);
    assert_int_equal(signer_sign(s, JWT_KIND_CLIENT, empty, &none, kid1),
                     ERRCODE_UNAVAILABLE); /* no key yet */
    json_decref(empty);
    step(s, st, T0, SIGNER_TICK);
    assert_int_equal(count_status(st, "active"), 1);
    k = signer_keys_get(s);
    assert_true(k->has_active);
    assert_non_null(strstr(k->doc, "\"status\":\"active\""));
    assert_null(strstr(k->doc, "\"d\""));
    assert_int_equal(k->max_age_s, 3600); /* a quarter of prepublish, at most an hour */
    signer_keys_put(k);
    sign_and_verify(s, T0, kid1);

    step(s, st, T0 + HOUR, SIGNER_TICK); /* nothing due */
    assert_int_equal(count_status(st, "next"), 0);
    step(s, st, T0 + 29 * DAY, SIGNER_TICK); /* prepublished one day ahead */
    assert_int_equal(count_status(st, "next"), 1);
    sign_and_verify(s, T0 + 29 * DAY, kid2);
    assert_string_equal(kid1, kid2);         /* the next key does not sign yet */
    step(s, st, T0 + 30 * DAY, SIGNER_TICK); /* due: activated, old retired */
    assert_int_equal(count_status(st, "retired"), 1);
    sign_and_verify(s, T0 + 30 * DAY, kid2);
    assert_string_not_equal(kid1, kid2);
    step(s, st, T0 + 30 * DAY + 90 * DAY, SIGNER_TICK); /* retired key outlived its tokens */
    assert_int_equal(count_status(st, "retired"), 0);

    step(s, st, T0 + 121 * DAY, SIGNER_ROTATE_NOW);
    sign_and_verify(s, T0 + 121 * DAY, kid3);
    assert_string_not_equal(kid2, kid3);
    assert_int_equal(count_status(st, "retired"), 1);
    signer_free(s);
    store_close(st);
}

static void
test_algorithm_change_and_key_list(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(":memory:", 1000, &err);
    struct signer *s = new_signer("EdDSA"), *s2;
    char kid[65];
    json_t *list;

    step(s, st, T0, SIGNER_TICK);
    signer_free(s);
    s2 = new_signer("ES256");
    assert_int_equal(signer_reload(s2, st, &err), 0);
    step(s2, st, T0 + 10, SIGNER_TICK); /* an ES256 key is published at once */
    assert_int_equal(count_status(st, "next"), 1);
    step(s2, st, T0 + 10 + DAY, SIGNER_TICK);
    sign_and_verify(s2, T0 + 10 + DAY, kid);
    list = signer_key_list(s2);
    assert_int_equal(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(e, "kid")), kid) == 0)
            assert_string_equal(json_string_value(json_object_get(e, "alg")), "ES256");
    }
    json_decref(list);
    signer_free(s2);
    store_close(st);
}

static void
test_wrong_seal_key_refused(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(":memory:", 1000, &err);
    struct signer *s = new_signer("RS256"), *other;
    const uint8_t wrong[SEAL_KEY_LEN] = {9};
    const struct signer_policy p = {.algorithm = "RS256",
                                    .rotation_period_s = DAY,
                                    .prepublish_s = HOUR,
                                    .max_token_lifetime_s = DAY};

    step(s, st, T0, SIGNER_TICK);
    other = signer_new(wrong, &p);
    assert_int_equal(signer_reload(other, st, &err), -1);
    assert_non_null(strstr(err, "unseal"));
    signer_free(other);
    signer_free(s);
    store_close(st);
}

/* Item 7: at most 32 published keys. Rotations at once fill the cap; the
 * next is refused with conflict saying when a slot frees (the grace after
 * the oldest retirement, as no token row names those keys), changes
 * nothing, and succeeds once that time has come, the spent keys gone. A
 * bulk token made while a key was active keeps it until it expires. */
static void
test_published_cap(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(":memory:", 1000, &err);
    struct signer *s = new_signer("EdDSA");
    struct store_bulk b;
    char changed[512], detail[192], kid[65], bulk_kid[65];
    int64_t now = T0;

    assert_non_null(st);
    step(s, st, now, SIGNER_TICK);
    sign_and_verify(s, now, bulk_kid);
    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "0b8c7f3e-1d2a-4b5c-8d9e-0f1a2b3c4d5e");
    b.token_hash[0] = 1;
    b.created_at = b.not_before = now;
    b.expires_at = now + 3 * DAY;
    snprintf(b.created_by, sizeof(b.created_by), "admin:test");
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    now += DAY;
    for (int i = 0; i < 31; i++)
        step(s, st, now, SIGNER_ROTATE_NOW);
    assert_int_equal(count_status(st, "retired"), 31);
    assert_int_equal(signer_lifecycle(s, st, now, SIGNER_ROTATE_NOW, changed, sizeof(changed),
                                      detail, sizeof(detail)),
                     ERRCODE_CONFLICT);
    assert_non_null(strstr(detail, "32 keys are published"));
    assert_non_null(strstr(detail, "frees at 2027-01-16T08:01:00Z")); /* a day and 60 s on */
    assert_int_equal(signer_lifecycle(s, st, now, SIGNER_ROTATE, changed, sizeof(changed), detail,
                                      sizeof(detail)),
                     ERRCODE_CONFLICT);
    assert_int_equal(count_status(st, "retired"), 31);
    step(s, st, now, SIGNER_TICK); /* the timer waits, never fails */

    now += 61;
    assert_int_equal(signer_lifecycle(s, st, now, SIGNER_ROTATE_NOW, changed, sizeof(changed),
                                      detail, sizeof(detail)),
                     ERRCODE_OK);
    assert_int_equal(signer_reload(s, st, &err), 0);
    assert_non_null(strstr(changed, "removed:"));
    /* only the key that signed the live bulk token is left of the retired */
    assert_int_equal(count_status(st, "retired"), 2);
    {
        struct signer_keys *k = signer_keys_get(s);

        assert_non_null(strstr(k->doc, bulk_kid));
        signer_keys_put(k);
    }
    now += 2 * DAY;
    step(s, st, now, SIGNER_TICK);
    assert_int_equal(count_status(st, "retired"), 0);
    sign_and_verify(s, now, kid);
    assert_int_equal(count_status(st, "active"), 1);
    signer_free(s);
    store_close(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_algorithm_change_and_key_list),
        cmocka_unit_test(test_wrong_seal_key_refused),
        cmocka_unit_test(test_published_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
