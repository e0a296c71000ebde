/* store/keys.c: insert, list oldest first with the sealed blob intact, the
 * status changes and their timestamps, delete; on a file and on :memory:. */
#include "fixture.h"

#include "keys.h"

static void
make_key(struct store_key *k, const char *kid, const char *status, int64_t created, uint8_t *blob,
         size_t bloblen)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    snprintf(k->alg, sizeof(k->alg), "EdDSA");
    snprintf(k->status, sizeof(k->status), "%s", status);
    k->created_at = created;
    k->activates_at = created + 86400;
    k->public_jwk = (char *)"{\"kty\":\"OKP\"}";
    k->sealed = blob;
    k->sealed_len = bloblen;
}

static void
test_insert_list(void **state)
{
    struct store *st = FX(state);
    uint8_t blob[5] = {0, 1, 2, 0xff, 0};
    struct store_key k, *keys = NULL;
    const char *err = NULL;
    size_t n = 99;

    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    store_keys_free(keys, n);

    make_key(&k, "kid-b", "active", 200, blob, sizeof(blob));
    assert_int_equal(store_key_insert(st, &k, &err), 0);
    make_key(&k, "kid-a", "next", 100, blob, 3);
    k.alg[0] = '\0';
    snprintf(k.alg, sizeof(k.alg), "ES256");
    assert_int_equal(store_key_insert(st, &k, &err), 0);
    make_key(&k, "kid-c", "retired", 100, blob, 1);
    k.retired_at = 150;
    assert_int_equal(store_key_insert(st, &k, &err), 0);

    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    assert_int_equal(n, 3);
    /* oldest first; equal created_at in insertion order */
    assert_string_equal(keys[0].kid, "kid-a");
    assert_string_equal(keys[1].kid, "kid-c");
    assert_string_equal(keys[2].kid, "kid-b");
    assert_string_equal(keys[0].alg, "ES256");
    assert_string_equal(keys[0].status, "next");
    assert_int_equal(keys[0].created_at, 100);
    assert_int_equal(keys[0].activates_at, 100 + 86400);
    assert_int_equal(keys[0].retired_at, 0);
    assert_int_equal(keys[1].retired_at, 150);
    assert_string_equal(keys[2].public_jwk, "{\"kty\":\"OKP\"}");
    assert_int_equal(keys[2].sealed_len, sizeof(blob));
    assert_memory_equal(keys[2].sealed, blob, sizeof(blob));
    assert_int_equal(keys[0].sealed_len, 3);
    store_keys_free(keys, n);
    store_keys_free(NULL, 0);
}

static void
test_insert_refusals(void **state)
{
    struct store *st = FX(state);
    uint8_t blob[1] = {7};
    struct store_key k;
    const char *err = NULL;

    make_key(&k, "kid", "next", 1, blob, 1);
    assert_int_equal(store_key_insert(st, &k, &err), 0);
    err = NULL;
    assert_int_equal(store_key_insert(st, &k, &err), -1); /* duplicate kid */
    assert_non_null(err);
    make_key(&k, "kid2", "next", 1, blob, 1);
    k.public_jwk = NULL;
    assert_int_equal(store_key_insert(st, &k, &err), -1);
    make_key(&k, "kid2", "next", 1, blob, 0);
    assert_int_equal(store_key_insert(st, &k, &err), -1);
    make_key(&k, "kid2", "pending", 1, blob, 1); /* CHECK constraint */
    assert_int_equal(store_key_insert(st, &k, &err), -1);
    make_key(&k, "kid2", "next", 1, blob, 1);
    snprintf(k.alg, sizeof(k.alg), "HS256");
    assert_int_equal(store_key_insert(st, &k, &err), -1);
}

static void
test_status_and_delete(void **state)
{
    struct store *st = FX(state);
    uint8_t blob[1] = {7};
    struct store_key k, *keys = NULL;
    const char *err = NULL;
    size_t n = 0;

    make_key(&k, "k1", "next", 10, blob, 1);
    assert_int_equal(store_key_insert(st, &k, &err), 0);
    assert_int_equal(store_key_set_status(st, "k1", "active", 500, &err), 0);
    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    assert_string_equal(keys[0].status, "active");
    assert_int_equal(keys[0].activates_at, 500);
    assert_int_equal(keys[0].retired_at, 0);
    store_keys_free(keys, n);

    assert_int_equal(store_key_set_status(st, "k1", "retired", 900, &err), 0);
    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    assert_string_equal(keys[0].status, "retired");
    assert_int_equal(keys[0].activates_at, 500);
    assert_int_equal(keys[0].retired_at, 900);
    store_keys_free(keys, n);

    assert_int_equal(store_key_set_status(st, "nope", "active", 1, &err), 1);
    assert_int_equal(store_key_set_status(st, "k1", "bogus", 1, &err), -1);
    assert_int_equal(store_key_delete(st, "k1", &err), 0);
    assert_int_equal(store_key_delete(st, "k1", &err), 1);
    assert_int_equal(store_keys_list(st, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    store_keys_free(keys, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_insert_list),
        FX_TEST(test_insert_refusals),
        FX_TEST(test_status_and_delete),
    };
    return FX_RUN(tests);
}
