/* store/purge.c and store/maint.c: which devices a purge takes (not seen
 * since, no token valid with the skew), dry run, limit and more, tombstones
 * for blocked ones; which bulk tokens a prune takes (a blocked one only once
 * it cannot verify, none while a device of it holds a valid token); the
 * devices of a bulk token, an MP's last use and new key. */
#include "fixture.h"

#include "bulk.h"
#include "devices.h"
#include "maint.h"
#include "mps.h"
#include "purge.h"

#define NOW 1700000000
#define DAY 86400
#define SKEW 300

static void
add_device(struct store *st, int i, int64_t seen, int blocked, const char *bulk_id,
           int64_t token_exp)
{
    struct store_device d;
    struct store_token t;
    const char *err = NULL;

    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "GUID:00000000-0000-4000-8000-%012d", i);
    snprintf(d.jkt, sizeof(d.jkt), "jkt-%04d", i);
    snprintf(d.hardware_id, sizeof(d.hardware_id), "hw-%d", i);
    snprintf(d.name, sizeof(d.name), "dev-%d", i);
    snprintf(d.reg, sizeof(d.reg), "%s", bulk_id != NULL ? "bulk" : "intranet");
    snprintf(d.bulk_id, sizeof(d.bulk_id), "%s", bulk_id != NULL ? bulk_id : "");
    snprintf(d.mp_id, sizeof(d.mp_id), "mp-1");
    d.created_at = d.last_seen_at = seen;
    d.blocked = blocked;
    if (store_device_insert(st, &d, &err) != 0)
        fail_msg("device insert: %s", err);
    if (token_exp != 0) {
        memset(&t, 0, sizeof(t));
        snprintf(t.jti, sizeof(t.jti), "jti-%04d", i);
        snprintf(t.kind, sizeof(t.kind), "client");
        snprintf(t.device_id, sizeof(t.device_id), "%s", d.id);
        snprintf(t.kid, sizeof(t.kid), "kid-1");
        t.issued_at = seen;
        t.expires_at = token_exp;
        if (store_token_insert(st, &t, &err) != 0)
            fail_msg("token insert: %s", err);
    }
}

static void
add_bulk(struct store *st, const char *id, int64_t exp, int blocked)
{
    struct store_bulk b;
    const char *err = NULL;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    memset(b.token_hash, id[35], sizeof(b.token_hash));
    b.created_at = b.not_before = exp - DAY;
    b.expires_at = exp;
    snprintf(b.created_by, sizeof(b.created_by), "admin:0");
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    if (blocked)
        assert_int_equal(store_bulk_set_blocked(st, id, 1, &err), 0);
}

static int
count_cb(const struct store_device *dev, void *arg)
{
    (void)dev;
    (*(int *)arg)++;
    return 0;
}

static void
test_device_purge(void **state)
{
    struct store *st = FX(state);
    struct store_purge r;
    const char *err = NULL;

    add_device(st, 1, NOW - 100 * DAY, 0, NULL, NOW - 10 * DAY); /* old, tokens expired */
    add_device(st, 2, NOW - 100 * DAY, 1, NULL, NOW - 10 * DAY); /* same, blocked */
    add_device(st, 3, NOW - 100 * DAY, 0, NULL, NOW - 60);       /* expired, inside the skew */
    add_device(st, 4, NOW - 1 * DAY, 0, NULL, NOW - 10);         /* seen recently */
    add_device(st, 5, NOW - 100 * DAY, 0, NULL, 0);              /* no tokens at all */

    assert_int_equal(
        store_purge_devices(st, NOW - 30 * DAY, NOW, SKEW, 1000, 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.tombstones, 1);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM devices"), 5); /* dry run */
    /* limit 2: more */
    assert_int_equal(store_purge_devices(st, NOW - 30 * DAY, NOW, SKEW, 2, 0, NULL, NULL, &r, &err),
                     0);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.more, 1);
    assert_int_equal(store_purge_devices(st, NOW - 30 * DAY, NOW, SKEW, 2, 0, NULL, NULL, &r, &err),
                     0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.more, 0);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM devices"), 2);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM tokens"), 2);
    assert_int_equal(store_purge_tombstone(st, "jkt-0002", &err), 0);
    assert_int_equal(store_purge_tombstone(st, "jkt-0001", &err), 1);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM device_tombstones WHERE hardware_id = "
                                "'hw-2'"),
                     1);
}

static void
test_bulk_prune_and_devices(void **state)
{
    static const char *const a = "00000000-0000-4000-8000-00000000000a",
                             *b = "00000000-0000-4000-8000-00000000000b",
                             *c = "00000000-0000-4000-8000-00000000000c",
                             *d = "00000000-0000-4000-8000-00000000000d";
    struct store *st = FX(state);
    struct store_purge r;
    const char *err = NULL;
    int n = 0;

    add_bulk(st, a, NOW - 10 * DAY, 0); /* long expired, no devices: pruned */
    add_bulk(st, b, NOW + DAY, 1);      /* blocked, could still verify: kept */
    add_bulk(st, c, NOW - 10 * DAY, 0); /* expired, a device with a valid token: kept */
    add_bulk(st, d, NOW - 10 * DAY, 1); /* blocked and expired, device tokens expired: pruned */
    add_device(st, 1, NOW - DAY, 0, c, NOW + 30 * DAY);
    add_device(st, 2, NOW - DAY, 0, d, NOW - 5 * DAY);
    assert_int_equal(store_device_list_bulk(st, c, 10, count_cb, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_purge_bulk(st, NOW, NOW, SKEW, 1000, 0, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM bulk_tokens"), 2);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM devices WHERE bulk_id IS NULL"), 1);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM devices WHERE reg = 'bulk'"), 2);
}

static void
test_mp_key_and_last_use(void **state)
{
    struct store *st = FX(state);
    struct store_mp mp, out;
    const char *err = NULL;
    uint8_t hash[32];
    int64_t at = -1;

    memset(&mp, 0, sizeof(mp));
    snprintf(mp.id, sizeof(mp.id), "00000000-0000-4000-8000-000000000001");
    snprintf(mp.name, sizeof(mp.name), "mp-a");
    memset(mp.key_hash, 1, sizeof(mp.key_hash));
    mp.created_at = NOW;
    assert_int_equal(store_mp_insert(st, &mp, &err), 0);
    assert_int_equal(store_maint_mp_last_use(st, mp.id, &at, &err), 0);
    assert_int_equal(at, 0);
    add_device(st, 1, NOW + 5, 0, NULL, 0);
    fx_exec(st, "UPDATE devices SET mp_id = '00000000-0000-4000-8000-000000000001'");
    assert_int_equal(store_maint_mp_last_use(st, mp.id, &at, &err), 0);
    assert_int_equal(at, NOW + 5);
    memset(hash, 2, sizeof(hash));
    assert_int_equal(store_maint_mp_set_key(st, mp.id, hash, &err), 0);
    assert_int_equal(store_mp_find_by_key_hash(st, mp.key_hash, &out, &err), 1);
    assert_int_equal(store_mp_find_by_key_hash(st, hash, &out, &err), 0);
    assert_int_equal(store_mp_remove(st, mp.id, NOW, &err), 0);
    assert_int_equal(store_maint_mp_set_key(st, mp.id, mp.key_hash, &err), 1);
    assert_int_equal(store_maint_mp_set_key(st, "nope", mp.key_hash, &err), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_device_purge),
        FX_TEST(test_bulk_prune_and_devices),
        FX_TEST(test_mp_key_and_last_use),
    };

    return FX_RUN(tests);
}
