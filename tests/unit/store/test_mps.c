/* store/mps.c: insert with the live-name conflict, lookup by key hash (only
 * live MPs, exact hash), get, removal kept for the audit trail, list by name. */
#include "fixture.h"

#include "mps.h"

static void
make_mp(struct store_mp *mp, const char *id, const char *name, uint8_t fill)
{
    memset(mp, 0, sizeof(*mp));
    snprintf(mp->id, sizeof(mp->id), "%s", id);
    snprintf(mp->name, sizeof(mp->name), "%s", name);
    memset(mp->key_hash, fill, sizeof(mp->key_hash));
    mp->created_at = 1000;
}

static void
test_insert_get_find(void **state)
{
    struct store *st = FX(state);
    struct store_mp mp, out;
    uint8_t hash[32];
    const char *err = NULL;

    make_mp(&mp, "11111111-1111-4111-8111-111111111111", "mp1", 0xa1);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    make_mp(&mp, "22222222-2222-4222-8222-222222222222", "mp2", 0xa2);
    snprintf(mp.cert_sha256, sizeof(mp.cert_sha256), "%064d", 7);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);

    memset(hash, 0xa1, sizeof(hash));
    assert_int_equal(store_mp_find_by_key_hash(st, hash, &out, &err), 0);
    assert_string_equal(out.id, "11111111-1111-4111-8111-111111111111");
    assert_string_equal(out.name, "mp1");
    assert_string_equal(out.cert_sha256, ""); /* NULL -> "" */
    assert_int_equal(out.created_at, 1000);
    assert_int_equal(out.removed_at, 0);
    assert_memory_equal(out.key_hash, hash, 32);

    hash[31] ^= 1; /* one bit off: no match */
    assert_int_equal(store_mp_find_by_key_hash(st, hash, &out, &err), 1);
    hash[31] ^= 1;
    hash[0] ^= 0x80;
    assert_int_equal(store_mp_find_by_key_hash(st, hash, &out, &err), 1);

    assert_int_equal(store_mp_get(st, "22222222-2222-4222-8222-222222222222", &out, &err), 0);
    assert_string_equal(out.name, "mp2");
    assert_int_equal(strlen(out.cert_sha256), 64);
    assert_int_equal(store_mp_get(st, "nope", &out, &err), 1);
}

static void
test_conflicts(void **state)
{
    struct store *st = FX(state);
    struct store_mp mp;
    const char *err = NULL;

    make_mp(&mp, "id-1", "same", 1);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    make_mp(&mp, "id-2", "same", 2); /* a live MP has that name */
    err = NULL;
    assert_int_equal(store_mp_insert(st, &mp, &err), 1);
    assert_non_null(err);
    make_mp(&mp, "id-1", "other", 3); /* duplicate id: an error, not a conflict */
    assert_int_equal(store_mp_insert(st, &mp, &err), -1);
    make_mp(&mp, "id-3", "other", 1); /* duplicate key hash */
    assert_int_equal(store_mp_insert(st, &mp, &err), -1);
    /* two MPs without a certificate: "" is stored as NULL, not a duplicate */
    make_mp(&mp, "id-4", "four", 4);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
}

static void
test_remove(void **state)
{
    struct store *st = FX(state);
    struct store_mp mp, out;
    uint8_t hash[32];
    const char *err = NULL;

    make_mp(&mp, "id-1", "gone", 9);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    assert_int_equal(store_mp_remove(st, "id-1", 5000, &err), 0);
    assert_int_equal(store_mp_remove(st, "id-1", 6000, &err), 1); /* not live any more */
    assert_int_equal(store_mp_remove(st, "nope", 6000, &err), 1);
    memset(hash, 9, sizeof(hash));
    assert_int_equal(store_mp_find_by_key_hash(st, hash, &out, &err), 1);
    assert_int_equal(store_mp_get(st, "id-1", &out, &err), 0); /* kept */
    assert_int_equal(out.removed_at, 5000);
    /* the name is free again */
    make_mp(&mp, "id-2", "gone", 10);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
}

struct names {
    char v[8][129];
    int n, stop_after;
};

static int
collect_cb(const struct store_mp *mp, void *arg)
{
    struct names *c = arg;

    snprintf(c->v[c->n++], sizeof(c->v[0]), "%s", mp->name);
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static void
test_list(void **state)
{
    struct store *st = FX(state);
    struct store_mp mp;
    struct names c = {.n = 0};
    const char *err = NULL;

    make_mp(&mp, "id-c", "charlie", 3);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    make_mp(&mp, "id-a", "alpha", 1);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    make_mp(&mp, "id-b", "bravo", 2);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    make_mp(&mp, "id-d", "delta", 4);
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    assert_int_equal(store_mp_remove(st, "id-d", 1, &err), 0);

    assert_int_equal(store_mp_list(st, collect_cb, &c, &err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "alpha");
    assert_string_equal(c.v[1], "bravo");
    assert_string_equal(c.v[2], "charlie");

    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    assert_int_equal(store_mp_list(st, collect_cb, &c, &err), 0);
    assert_int_equal(c.n, 2);
    /* the stopped statement was reset: the list runs again from the start */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_mp_list(st, collect_cb, &c, &err), 0);
    assert_int_equal(c.n, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_insert_get_find),
        FX_TEST(test_conflicts),
        FX_TEST(test_remove),
        FX_TEST(test_list),
    };
    return FX_RUN(tests);
}
