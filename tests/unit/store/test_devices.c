/* store/devices.c: devices by id and by key thumbprint, touch, block, the
 * filtered id-ordered list; tokens: insert, get, revoke (twice), the newest-
 * first list per device and overall, and the latest expiry. */
#include "fixture.h"

#include "bulk.h"
#include "devices.h"

#define NOW 1700000000

static void
make_device(struct store_device *d, int i, int blocked)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "GUID:00000000-0000-4000-8000-%012d", i);
    snprintf(d->jkt, sizeof(d->jkt), "jkt-%04d", i);
    snprintf(d->hardware_id, sizeof(d->hardware_id), "hw-%d", i);
    snprintf(d->name, sizeof(d->name), "%s-%02d", i % 2 ? "odd" : "even", i);
    snprintf(d->reg, sizeof(d->reg), "intranet");
    snprintf(d->mp_id, sizeof(d->mp_id), "mp-1");
    d->created_at = NOW;
    d->last_seen_at = NOW;
    d->blocked = blocked;
}

static void
make_token(struct store_token *t, const char *jti, const char *device_id, int64_t issued)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->jti, sizeof(t->jti), "%s", jti);
    snprintf(t->kind, sizeof(t->kind), "client");
    snprintf(t->device_id, sizeof(t->device_id), "%s", device_id);
    snprintf(t->kid, sizeof(t->kid), "kid-1");
    t->issued_at = issued;
    t->expires_at = issued + 90 * 86400;
}

static void
test_device_insert_lookup(void **state)
{
    struct store *st = FX(state);
    struct store_device d, out;
    struct store_bulk b;
    const char *err = NULL;

    make_device(&d, 1, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_memory_equal(&out, &d, sizeof(d));
    assert_int_equal(store_device_by_jkt(st, "jkt-0001", &out, &err), 0);
    assert_string_equal(out.id, d.id);
    assert_string_equal(out.bulk_id, ""); /* NULL -> "" */
    assert_int_equal(store_device_by_jkt(st, "jkt-9999", &out, &err), 1);
    assert_int_equal(store_device_get(st, "GUID:nope", &out, &err), 1);

    /* same key again: a second device is refused */
    make_device(&d, 2, 0);
    snprintf(d.jkt, sizeof(d.jkt), "jkt-0001");
    assert_int_equal(store_device_insert(st, &d, &err), -1);
    /* bad reg */
    make_device(&d, 2, 0);
    snprintf(d.reg, sizeof(d.reg), "magic");
    assert_int_equal(store_device_insert(st, &d, &err), -1);
    /* a bulk device must name an existing bulk token */
    make_device(&d, 2, 0);
    snprintf(d.reg, sizeof(d.reg), "bulk");
    snprintf(d.bulk_id, sizeof(d.bulk_id), "no-such-bulk");
    assert_int_equal(store_device_insert(st, &d, &err), -1);
    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "no-such-bulk");
    snprintf(b.created_by, sizeof(b.created_by), "admin");
    b.expires_at = NOW + 10;
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_string_equal(out.reg, "bulk");
    assert_string_equal(out.bulk_id, "no-such-bulk");
}

static void
test_device_touch_block(void **state)
{
    struct store *st = FX(state);
    struct store_device d, out;
    char longname[300];
    const char *err = NULL;

    make_device(&d, 1, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_device_touch(st, d.id, "hw-new", "renamed", NULL, NOW + 50, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_string_equal(out.hardware_id, "hw-new");
    assert_string_equal(out.name, "renamed");
    assert_string_equal(out.mp_id, "mp-1"); /* NULL keeps it */
    assert_int_equal(out.last_seen_at, NOW + 50);
    assert_int_equal(out.created_at, NOW);
    assert_int_equal(store_device_touch(st, d.id, "hw-new", "renamed", "mp-2", NOW + 60, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_string_equal(out.mp_id, "mp-2");
    assert_int_equal(store_device_touch(st, "GUID:nope", "h", "n", NULL, NOW, &err), 1);

    /* too long for the struct: refused, not truncated */
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    err = NULL;
    assert_int_equal(store_device_touch(st, d.id, "hw", longname, NULL, NOW, &err), -1);
    assert_non_null(strstr(err, "too long"));
    longname[256] = '\0'; /* exactly the buffer: fits */
    assert_int_equal(store_device_touch(st, d.id, "hw", longname, NULL, NOW, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_int_equal(strlen(out.name), 256);

    assert_int_equal(store_device_set_blocked(st, d.id, 1, &err), 0);
    assert_int_equal(store_device_by_jkt(st, d.jkt, &out, &err), 0);
    assert_int_equal(out.blocked, 1);
    assert_int_equal(store_device_set_blocked(st, d.id, 0, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), 0);
    assert_int_equal(out.blocked, 0);
    assert_int_equal(store_device_set_blocked(st, "GUID:nope", 1, &err), 1);
}

struct ids {
    char v[64][65];
    int n, stop_after;
};

static int
device_cb(const struct store_device *d, void *arg)
{
    struct ids *s = arg;

    snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", d->id);
    return s->stop_after > 0 && s->n >= s->stop_after;
}

/* Pages through store_device_list by `page` and returns the page sizes
 * (terminated by 0) with every id in *all. */
static void
page_devices(struct store *st, const char *status, const char *prefix, int page, struct ids *all,
             int *sizes)
{
    char cursor[65] = "";
    const char *err = NULL;
    struct ids one;
    int p = 0;

    memset(all, 0, sizeof(*all));
    do {
        memset(&one, 0, sizeof(one));
        assert_int_equal(store_device_list(st, status, prefix, cursor, page, device_cb, &one, &err),
                         0);
        sizes[p++] = one.n;
        for (int i = 0; i < one.n; i++)
            memcpy(all->v[all->n++], one.v[i], sizeof(one.v[0]));
        if (one.n > 0)
            snprintf(cursor, sizeof(cursor), "%s", one.v[one.n - 1]);
    } while (one.n > 0);
}

static void
test_device_list(void **state)
{
    struct store *st = FX(state);
    struct store_device d;
    struct ids all, one;
    const char *err = NULL;
    int sizes[16];

    /* inserted out of id order; every third one blocked */
    for (int i = 0; i < 25; i++) {
        make_device(&d, (i * 7) % 25, ((i * 7) % 25) % 3 == 0);
        assert_int_equal(store_device_insert(st, &d, &err), 0);
    }
    page_devices(st, "", "", 10, &all, sizes);
    assert_int_equal(sizes[0], 10);
    assert_int_equal(sizes[1], 10);
    assert_int_equal(sizes[2], 5);
    assert_int_equal(sizes[3], 0);
    assert_int_equal(all.n, 25);
    for (int i = 1; i < all.n; i++) /* ordered by id, so no duplicate */
        assert_true(strcmp(all.v[i - 1], all.v[i]) < 0);

    page_devices(st, "blocked", NULL, 4, &all, sizes); /* 0,3,...,24 */
    assert_int_equal(all.n, 9);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[2], 1);
    page_devices(st, "active", "", 10, &all, sizes);
    assert_int_equal(all.n, 16);
    page_devices(st, "", "odd", 5, &all, sizes); /* odd-01 ... odd-23 */
    assert_int_equal(all.n, 12);
    assert_int_equal(sizes[0], 5);
    assert_int_equal(sizes[2], 2);
    page_devices(st, "blocked", "even", 10, &all, sizes); /* 0, 6, 12, 18, 24 */
    assert_int_equal(all.n, 5);
    page_devices(st, "active", "odd-0", 10, &all, sizes); /* 1, 5, 7 */
    assert_int_equal(all.n, 3);
    page_devices(st, "", "zzz", 10, &all, sizes);
    assert_int_equal(all.n, 0);

    /* no limit, early stop, bad status */
    memset(&one, 0, sizeof(one));
    assert_int_equal(store_device_list(st, NULL, NULL, NULL, 0, device_cb, &one, &err), 0);
    assert_int_equal(one.n, 25);
    memset(&one, 0, sizeof(one));
    one.stop_after = 2;
    assert_int_equal(store_device_list(st, "", "", "", 10, device_cb, &one, &err), 0);
    assert_int_equal(one.n, 2);
    assert_int_equal(store_device_list(st, "lost", "", "", 10, device_cb, &one, &err), -1);
}

static void
test_token_insert_get_revoke(void **state)
{
    struct store *st = FX(state);
    struct store_device d;
    struct store_token t, out;
    char reason[200];
    const char *err = NULL;

    make_device(&d, 1, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    make_token(&t, "jti-1", d.id, NOW);
    t.gen = 2;
    snprintf(t.prev_jti, sizeof(t.prev_jti), "jti-0");
    snprintf(t.mp_id, sizeof(t.mp_id), "mp-1");
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), -1); /* same jti */
    make_token(&t, "jti-x", "GUID:unknown", NOW);           /* no such device */
    assert_int_equal(store_token_insert(st, &t, &err), -1);

    assert_int_equal(store_token_get(st, "jti-1", &out, &err), 0);
    assert_string_equal(out.jti, "jti-1");
    assert_string_equal(out.kind, "client");
    assert_string_equal(out.device_id, d.id);
    assert_string_equal(out.kid, "kid-1");
    assert_int_equal(out.issued_at, NOW);
    assert_int_equal(out.expires_at, NOW + 90 * 86400);
    assert_int_equal(out.gen, 2);
    assert_string_equal(out.bulk_id, "");
    assert_string_equal(out.mp_id, "mp-1");
    assert_string_equal(out.prev_jti, "jti-0");
    assert_int_equal(out.revoked_at, 0);
    assert_string_equal(out.revoke_reason, "");
    assert_int_equal(store_token_get(st, "jti-2", &out, &err), 1);

    assert_int_equal(store_token_revoke(st, "jti-1", NOW + 10, "lost laptop", &err), 0);
    assert_int_equal(store_token_revoke(st, "jti-1", NOW + 20, "again", &err), 2);
    assert_int_equal(store_token_revoke(st, "jti-2", NOW + 20, NULL, &err), 1);
    assert_int_equal(store_token_get(st, "jti-1", &out, &err), 0);
    assert_int_equal(out.revoked_at, NOW + 10); /* the first revocation stands */
    assert_string_equal(out.revoke_reason, "lost laptop");

    make_token(&t, "jti-3", d.id, NOW);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(store_token_revoke(st, "jti-3", NOW, reason, &err), -1);
    assert_int_equal(store_token_revoke(st, "jti-3", NOW, NULL, &err), 0);
    assert_int_equal(store_token_get(st, "jti-3", &out, &err), 0);
    assert_int_equal(out.revoked_at, NOW);
}

static int
token_cb(const struct store_token *t, void *arg)
{
    struct ids *s = arg;

    snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", t->jti);
    return s->stop_after > 0 && s->n >= s->stop_after;
}

static void
page_tokens(struct store *st, const char *device_id, int page, struct ids *all, int *sizes)
{
    char cursor[65] = "";
    const char *err = NULL;
    struct ids one;
    int p = 0;

    memset(all, 0, sizeof(*all));
    do {
        memset(&one, 0, sizeof(one));
        assert_int_equal(store_token_list(st, device_id, cursor, page, token_cb, &one, &err), 0);
        sizes[p++] = one.n;
        for (int i = 0; i < one.n; i++)
            memcpy(all->v[all->n++], one.v[i], sizeof(one.v[0]));
        if (one.n > 0)
            snprintf(cursor, sizeof(cursor), "%s", one.v[one.n - 1]);
    } while (one.n > 0);
}

static void
test_token_list(void **state)
{
    struct store *st = FX(state);
    struct store_device a, b;
    struct store_token t;
    struct ids all, one;
    char jti[65];
    const char *err = NULL;
    int sizes[16];

    make_device(&a, 1, 0);
    make_device(&b, 2, 0);
    assert_int_equal(store_device_insert(st, &a, &err), 0);
    assert_int_equal(store_device_insert(st, &b, &err), 0);
    assert_int_equal(store_device_last_expiry(st, a.id), 0);
    /* 25 tokens for a, 4 per second (ties), interleaved with 6 for b */
    for (int i = 0; i < 25; i++) {
        snprintf(jti, sizeof(jti), "a-%02d", i);
        make_token(&t, jti, a.id, NOW + i / 4);
        assert_int_equal(store_token_insert(st, &t, &err), 0);
        if (i % 4 == 0) {
            snprintf(jti, sizeof(jti), "b-%02d", i);
            make_token(&t, jti, b.id, NOW + i / 4);
            assert_int_equal(store_token_insert(st, &t, &err), 0);
        }
    }
    page_tokens(st, a.id, 10, &all, sizes);
    assert_int_equal(sizes[0], 10);
    assert_int_equal(sizes[1], 10);
    assert_int_equal(sizes[2], 5);
    assert_int_equal(sizes[3], 0);
    assert_int_equal(all.n, 25);
    for (int i = 0; i < 25; i++) { /* newest first, each once */
        snprintf(jti, sizeof(jti), "a-%02d", 24 - i);
        assert_string_equal(all.v[i], jti);
    }
    page_tokens(st, b.id, 4, &all, sizes);
    assert_int_equal(all.n, 7);
    assert_string_equal(all.v[0], "b-24");
    page_tokens(st, "", 10, &all, sizes); /* every device */
    assert_int_equal(all.n, 32);
    assert_int_equal(sizes[3], 2);
    for (int i = 0; i < all.n; i++)
        for (int j = i + 1; j < all.n; j++)
            assert_string_not_equal(all.v[i], all.v[j]);
    page_tokens(st, NULL, 0, &all, sizes);
    assert_int_equal(all.n, 32);
    assert_int_equal(sizes[0], 32);
    page_tokens(st, "GUID:nobody", 10, &all, sizes);
    assert_int_equal(all.n, 0);

    memset(&one, 0, sizeof(one));
    one.stop_after = 3;
    assert_int_equal(store_token_list(st, a.id, "", 10, token_cb, &one, &err), 0);
    assert_int_equal(one.n, 3);
    memset(&one, 0, sizeof(one));
    assert_int_equal(store_token_list(st, a.id, "no-such-jti", 10, token_cb, &one, &err), 0);
    assert_int_equal(one.n, 0);

    assert_int_equal(store_device_last_expiry(st, a.id), NOW + 6 + 90 * 86400);
    assert_int_equal(store_device_last_expiry(st, "GUID:nobody"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_device_insert_lookup), FX_TEST(test_device_touch_block),
        FX_TEST(test_device_list),          FX_TEST(test_token_insert_get_revoke),
        FX_TEST(test_token_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
