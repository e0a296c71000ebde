/* store/devices.c: devices by id and by key thumbprint, touch, block, the
 * filtered id-ordered list; tokens: insert, get, revoke (twice), the newest-
 * first list per device and overall, and the latest expiry; families:
 * superseding a branch, revoking a family, migration 3 on older rows. */
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

/* Adds a token to the chain: kind, prev and family as the writer sets them. */
static void
add_token(struct store *st, const char *jti, const char *kind, const char *device_id,
          const char *prev, const char *family, int64_t issued, int64_t life)
{
    struct store_token t;
    const char *err = NULL;

    make_token(&t, jti, device_id, issued);
    snprintf(t.kind, sizeof(t.kind), "%s", kind);
    snprintf(t.prev_jti, sizeof(t.prev_jti), "%s", prev != NULL ? prev : "");
    snprintf(t.family, sizeof(t.family), "%s", family != NULL ? family : "");
    t.expires_at = issued + life;
    if (store_token_insert(st, &t, &err) != 0)
        fail_msg("insert %s: %s", jti, err);
}

struct revoked {
    int n, stop_at;
    char v[16][65];
};

static int
revoked_cb(const struct store_token_revoked *r, void *arg)
{
    struct revoked *rv = arg;

    if (rv->stop_at > 0 && rv->n + 1 >= rv->stop_at)
        return 1;
    snprintf(rv->v[rv->n++], sizeof(rv->v[0]), "%s", r->jti);
    return 0;
}

static int
revoked_has(const struct revoked *rv, const char *jti)
{
    for (int i = 0; i < rv->n; i++)
        if (strcmp(rv->v[i], jti) == 0)
            return 1;
    return 0;
}

static void
assert_status(struct store *st, const char *jti, int64_t revoked_at, const char *reason)
{
    struct store_token out;
    const char *err = NULL;

    assert_int_equal(store_token_get(st, jti, &out, &err), 0);
    if (out.revoked_at != revoked_at)
        fail_msg("%s: revoked_at %lld, want %lld", jti, (long long)out.revoked_at,
                 (long long)revoked_at);
    if (reason != NULL)
        assert_string_equal(out.revoke_reason, reason);
}

#define CLIENT_LIFE (90 * 86400)
#define ACCESS_LIFE (8 * 3600)

/*   root -> s1 -> s11 (-> a11), s1 -> a1; root -> a0; root -> s2 (the retry)
 * plus an expired access token under s1 and a revoked branch. */
static void
test_token_supersede(void **state)
{
    struct store *st = FX(state);
    struct store_device d;
    struct revoked rv;
    struct store_token out;
    const char *err = NULL;

    make_device(&d, 1, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    add_token(st, "root", "client", d.id, NULL, NULL, NOW, CLIENT_LIFE);
    add_token(st, "a0", "access", d.id, "root", "root", NOW, ACCESS_LIFE);
    add_token(st, "s1", "client", d.id, "root", "root", NOW + 10, CLIENT_LIFE);
    add_token(st, "a1-old", "access", d.id, "s1", "root", NOW - ACCESS_LIFE, ACCESS_LIFE);
    add_token(st, "a1", "access", d.id, "s1", "root", NOW + 20, ACCESS_LIFE);
    add_token(st, "s11", "client", d.id, "s1", "root", NOW + 30, CLIENT_LIFE);
    add_token(st, "a11", "access", d.id, "s11", "root", NOW + 40, ACCESS_LIFE);
    assert_int_equal(store_token_get(st, "root", &out, &err), 0);
    assert_string_equal(out.family, "root"); /* "" on insert: its own jti */
    assert_int_equal(out.device_blocked, 0);

    /* a cb that stops: -1, and the caller would roll back */
    memset(&rv, 0, sizeof(rv));
    rv.stop_at = 2;
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_token_supersede(st, "root", NOW + 50, NOW + 50, revoked_cb, &rv, &err),
                     -1);
    store_savepoint_rollback(st);
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_status(st, "s1", 0, "");

    memset(&rv, 0, sizeof(rv));
    assert_int_equal(store_token_supersede(st, "root", NOW + 50, NOW + 50, revoked_cb, &rv, &err),
                     4);
    assert_true(revoked_has(&rv, "s1") && revoked_has(&rv, "a1") && revoked_has(&rv, "s11") &&
                revoked_has(&rv, "a11"));
    assert_status(st, "s1", NOW + 50, STORE_REASON_SUPERSEDED);
    assert_status(st, "a11", NOW + 50, STORE_REASON_SUPERSEDED);
    assert_status(st, "a1-old", 0, ""); /* expired: left alone */
    assert_status(st, "root", 0, "");   /* the renewed token itself lives */
    assert_status(st, "a0", 0, "");     /* minted from it: not a successor */

    /* the retry's successor; renewing root again supersedes only s2 */
    add_token(st, "s2", "client", d.id, "root", "root", NOW + 60, CLIENT_LIFE);
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(store_token_supersede(st, "root", NOW + 70, NOW + 70, revoked_cb, &rv, &err),
                     1);
    assert_string_equal(rv.v[0], "s2");
    assert_status(st, "s1", NOW + 50, NULL); /* the first revocation stands */
    /* nothing to supersede */
    assert_int_equal(store_token_supersede(st, "s11", NOW + 80, NOW + 80, NULL, NULL, &err), 0);
    assert_int_equal(store_token_supersede(st, "nope", NOW + 80, NOW + 80, NULL, NULL, &err), 0);
}

static void
test_token_revoke_family(void **state)
{
    struct store *st = FX(state);
    struct store_device d, e;
    struct revoked rv;
    struct store_token out;
    char reason[200];
    const char *err = NULL;

    make_device(&d, 1, 0);
    make_device(&e, 2, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_device_insert(st, &e, &err), 0);
    add_token(st, "t0", "client", d.id, NULL, NULL, NOW, CLIENT_LIFE);
    add_token(st, "t1", "client", d.id, "t0", "t0", NOW + 10, CLIENT_LIFE);
    add_token(st, "t2", "client", d.id, "t1", "t0", NOW + 20, CLIENT_LIFE);
    add_token(st, "a2", "access", d.id, "t2", "t0", NOW + 30, ACCESS_LIFE);
    add_token(st, "a-old", "access", d.id, "t0", "t0", NOW - ACCESS_LIFE, ACCESS_LIFE);
    add_token(st, "u0", "client", e.id, NULL, NULL, NOW, CLIENT_LIFE); /* another family */
    assert_int_equal(store_token_revoke(st, "t1", NOW + 40, "first", &err), 0);

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(
        store_token_revoke_family(st, "t0", NOW + 50, NOW + 50, reason, NULL, NULL, &err), -1);
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(
        store_token_revoke_family(st, "t0", NOW + 50, NOW + 50, "stolen", revoked_cb, &rv, &err),
        3);
    assert_true(revoked_has(&rv, "t0") && revoked_has(&rv, "t2") && revoked_has(&rv, "a2"));
    assert_status(st, "t1", NOW + 40, "first"); /* already revoked: kept */
    assert_status(st, "t2", NOW + 50, "stolen");
    assert_status(st, "a-old", 0, "");
    assert_status(st, "u0", 0, "");
    assert_int_equal(
        store_token_revoke_family(st, "t0", NOW + 60, NOW + 60, "again", NULL, NULL, &err), 0);

    /* the device's blocked flag reads through */
    assert_int_equal(store_device_set_blocked(st, e.id, 1, &err), 0);
    assert_int_equal(store_token_get(st, "u0", &out, &err), 0);
    assert_int_equal(out.device_blocked, 1);
}

/* Migration 3 on rows written before it: families from the prev_jti links. */
static void
test_family_migration(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st;
    struct store_device d;
    struct store_token out;
    const char *err = NULL;
    static const char *const want[][2] = {
        {"r", "r"}, {"c1", "r"}, {"c2", "r"}, {"a", "r"}, {"orphan", "orphan"}, {"x", "x"},
    };

    if (fx->memory)
        skip(); /* reopening needs the file */
    make_device(&d, 1, 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    add_token(st, "r", "client", d.id, NULL, NULL, NOW, CLIENT_LIFE);
    add_token(st, "c1", "client", d.id, "r", NULL, NOW + 1, CLIENT_LIFE);
    add_token(st, "c2", "client", d.id, "c1", NULL, NOW + 2, CLIENT_LIFE);
    add_token(st, "a", "access", d.id, "c2", NULL, NOW + 3, ACCESS_LIFE);
    add_token(st, "orphan", "client", d.id, "gone", NULL, NOW + 4, CLIENT_LIFE);
    add_token(st, "x", "client", d.id, NULL, NULL, NOW + 5, CLIENT_LIFE);
    /* back to schema 2: every later migration is applied again on reopen */
    assert_int_equal(store_exec(st,
                                "DROP INDEX tokens_family; DROP INDEX tokens_prev;"
                                "DROP INDEX tokens_kid; DROP TABLE proof_jtis;"
                                "ALTER TABLE tokens DROP COLUMN family;"
                                "ALTER TABLE keys DROP COLUMN tainted_at;"
                                "ALTER TABLE keys DROP COLUMN revoked_at;"
                                "ALTER TABLE bulk_tokens DROP COLUMN labels;"
                                "ALTER TABLE bulk_tokens DROP COLUMN cidrs;"
                                "ALTER TABLE bulk_tokens DROP COLUMN rate_per_second;"
                                "ALTER TABLE mps DROP COLUMN labels;"
                                "DROP TABLE device_labels;"
                                "DROP INDEX tokens_kid_live; DROP INDEX tokens_bulk_live;"
                                "ALTER TABLE devices DROP COLUMN labels;"
                                "DROP TABLE bulk_allow;"
                                "ALTER TABLE bulk_tokens DROP COLUMN allow_total;"
                                "ALTER TABLE bulk_tokens DROP COLUMN allow_used;"
                                "DELETE FROM schema_migrations WHERE version >= 3;",
                                &err),
                     0);
    store_close(st);
    fx->st = st = store_open(fx->path, 1000, &err);
    assert_non_null(st);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(store_token_get(st, want[i][0], &out, &err), 0);
        if (strcmp(out.family, want[i][1]) != 0)
            fail_msg("%s: family %s, want %s", want[i][0], out.family, want[i][1]);
    }
    assert_int_equal(store_token_revoke_family(st, "r", NOW + 10, NOW + 10, "", NULL, NULL, &err),
                     4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_device_insert_lookup), FX_TEST(test_device_touch_block),
        FX_TEST(test_device_list),          FX_TEST(test_token_insert_get_revoke),
        FX_TEST(test_token_list),           FX_TEST(test_token_supersede),
        FX_TEST(test_token_revoke_family),  FX_TEST_SQLITE(test_family_migration),
    };
    return FX_RUN(tests);
}
