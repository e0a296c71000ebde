/* store/revocations.c: serials that only grow (also across a prune of the
 * newest entry and a reopen), the list's since/expiry filters and limit,
 * prune, and exists. */
#include "fixture.h"

#include "revocations.h"

/* In the future (2096): serial = max(previous + 1, revoked_at in
 * microseconds) then counts up from S(1) one by one, so the checks below
 * can name serials. test_restore_never_reuses covers the wall clock. */
#define NOW 4000000000LL
#define S(n) ((int64_t)NOW * 1000000 + (n)-1)

struct entries {
    struct store_revocation v[16];
    int n, stop_after;
};

static int
entries_cb(const struct store_revocation *r, void *arg)
{
    struct entries *e = arg;

    e->v[e->n++] = *r;
    return e->stop_after > 0 && e->n >= e->stop_after;
}

static void
test_add_list(void **state)
{
    struct store *st = FX(state);
    struct entries e = {.n = 0};
    const char *err = NULL;
    int64_t serial = 0;

    assert_int_equal(store_revocation_serial(st), 0);
    assert_int_equal(
        store_revocation_add(st, "token", "jti-1", NOW, NOW + 100, "lost", &serial, &err), 0);
    assert_int_equal(serial, S(1));
    assert_int_equal(
        store_revocation_add(st, "device", "GUID:d", NOW, NOW + 5, NULL, &serial, &err), 0);
    assert_int_equal(serial, S(2));
    assert_int_equal(store_revocation_add(st, "bulk", "b-1", NOW, NOW + 200, "", NULL, &err), 0);
    assert_int_equal(store_revocation_serial(st), S(3));

    assert_int_equal(store_revocation_list(st, 0, NOW, 0, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.v[0].serial, S(1));
    assert_string_equal(e.v[0].kind, "token");
    assert_string_equal(e.v[0].id, "jti-1");
    assert_int_equal(e.v[0].revoked_at, NOW);
    assert_int_equal(e.v[0].expires_at, NOW + 100);
    assert_string_equal(e.v[0].reason, "lost");
    assert_string_equal(e.v[1].reason, "");
    assert_int_equal(e.v[2].serial, S(3));

    /* since, expiry (expires_at == now is expired) and limit */
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_revocation_list(st, S(1), NOW, 10, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.v[0].serial, S(2));
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_revocation_list(st, 0, NOW + 5, 10, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.v[0].serial, S(1));
    assert_int_equal(e.v[1].serial, S(3));
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_revocation_list(st, 0, NOW, 1, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 1);
    memset(&e, 0, sizeof(e));
    e.stop_after = 2;
    assert_int_equal(store_revocation_list(st, 0, NOW, 10, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 2);
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_revocation_list(st, S(3), NOW, 10, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 0);
}

static void
test_refusals(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    char longid[80];
    int64_t serial = 0;

    assert_int_equal(store_revocation_add(st, "key", "x", NOW, NOW + 1, "", &serial, &err), -1);
    memset(longid, 'i', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    err = NULL;
    assert_int_equal(store_revocation_add(st, "token", longid, NOW, NOW + 1, "", &serial, &err),
                     -1);
    assert_non_null(strstr(err, "too long"));
    assert_int_equal(store_revocation_add(st, "tokenized", "x", NOW, NOW + 1, "", &serial, &err),
                     -1);
    assert_int_equal(store_revocation_serial(st), 0);
}

static void
test_prune_keeps_serials(void **state)
{
    struct store *st = FX(state);
    struct entries e = {.n = 0};
    const char *err = NULL;
    int64_t serial = 0;

    assert_int_equal(store_revocation_add(st, "token", "old-1", NOW, NOW + 1, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_add(st, "token", "live", NOW, NOW + 1000, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_add(st, "token", "old-2", NOW, NOW + 2, "", &serial, &err),
                     0);
    assert_int_equal(serial, S(3));

    assert_int_equal(store_revocation_exists(st, "token", "old-2", NOW), 1);
    assert_int_equal(store_revocation_exists(st, "token", "old-2", NOW + 2), 0);
    assert_int_equal(store_revocation_exists(st, "device", "live", NOW), 0);
    assert_int_equal(store_revocation_exists(st, "token", "nope", NOW), 0);

    assert_int_equal(store_revocation_prune(st, NOW + 2, &err), 1); /* expired before now */
    assert_int_equal(store_revocation_prune(st, NOW + 3, &err), 1);
    assert_int_equal(store_revocation_prune(st, NOW + 3, &err), 0);
    /* the newest entry (serial 3) is gone, yet the serial does not go back */
    assert_int_equal(store_revocation_serial(st), S(3));
    assert_int_equal(store_revocation_add(st, "device", "d", NOW, NOW + 9, "", &serial, &err), 0);
    assert_int_equal(serial, S(4));
    assert_int_equal(store_revocation_list(st, 0, NOW + 3, 0, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.v[0].serial, S(2));
    assert_int_equal(e.v[1].serial, S(4));

    /* prune everything: still 4 */
    assert_int_equal(store_revocation_prune(st, NOW + 5000, &err), 2);
    assert_int_equal(store_revocation_serial(st), S(4));
    assert_int_equal(store_revocation_add(st, "bulk", "b", NOW, NOW + 9, "", &serial, &err), 0);
    assert_int_equal(serial, S(5));
}

static void
test_remove(void **state)
{
    struct store *st = FX(state);
    struct entries e = {.n = 0};
    const char *err = NULL;
    int64_t serial = 0;

    assert_int_equal(store_revocation_add(st, "device", "GUID:a", NOW, NOW + 9, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_add(st, "token", "GUID:a", NOW, NOW + 9, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_add(st, "device", "GUID:b", NOW, NOW + 9, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_add(st, "device", "GUID:a", NOW, NOW + 9, "", &serial, &err),
                     0);
    /* both device entries of a go; the token entry of the same id stays */
    assert_int_equal(store_revocation_remove(st, "device", "GUID:a", &err), 2);
    assert_int_equal(store_revocation_remove(st, "device", "GUID:a", &err), 0);
    assert_int_equal(store_revocation_exists(st, "device", "GUID:a", NOW), 0);
    assert_int_equal(store_revocation_exists(st, "token", "GUID:a", NOW), 1);
    assert_int_equal(store_revocation_list(st, 0, NOW, 0, entries_cb, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.v[0].serial, S(2));
    assert_int_equal(e.v[1].serial, S(3));
    /* removing the newest entry does not take its serial back */
    assert_int_equal(store_revocation_remove(st, "device", "GUID:b", &err), 1);
    assert_int_equal(store_revocation_serial(st), S(4));
    assert_int_equal(store_revocation_add(st, "bulk", "b", NOW, NOW + 9, "", &serial, &err), 0);
    assert_int_equal(serial, S(5));
}

static void
test_serial_survives_reopen(void **state)
{
    struct fx *fx = *state;
    const char *err = NULL;
    int64_t serial = 0;

    assert_int_equal(store_revocation_add(fx->st, "token", "t", NOW, NOW + 1, "", &serial, &err),
                     0);
    assert_int_equal(store_revocation_prune(fx->st, NOW + 10, &err), 1);
    store_close(fx->st);
    assert_non_null(fx->st = store_open(fx->path, 1000, &err));
    assert_int_equal(store_revocation_serial(fx->st), S(1));
    assert_int_equal(store_revocation_add(fx->st, "token", "u", NOW, NOW + 1, "", &serial, &err),
                     0);
    assert_int_equal(serial, S(2));
}

/* The restore of item 10: a database copied before revocations were made,
 * then put back, hands out serials above every one given out before (the
 * wall clock in microseconds), never one that meant something else. */
static void
test_restore_never_reuses(void **state)
{
    struct fx *fx = *state;
    const char *err = NULL;
    char backup[512], cmd[2048];
    int64_t before = 0, lost = 0, after = 0, past = 1700000000;

    assert_int_equal(store_revocation_add(fx->st, "token", "a", past, past + 9, "", &before, &err),
                     0);
    assert_true(before > (int64_t)1700000000 * 1000000 && before < STORE_SERIAL_MAX);
    store_close(fx->st);
    snprintf(backup, sizeof(backup), "%s.bak", fx->path);
    snprintf(cmd, sizeof(cmd), "cp %s %s", fx->path, backup);
    assert_int_equal(system(cmd), 0);
    assert_non_null(fx->st = store_open(fx->path, 1000, &err));
    assert_int_equal(store_revocation_add(fx->st, "token", "b", past, past + 9, "", &lost, &err),
                     0);
    assert_true(lost > before);
    store_close(fx->st);
    snprintf(cmd, sizeof(cmd), "cp %s %s && rm -f %s-wal %s-shm", backup, fx->path, fx->path,
             fx->path);
    assert_int_equal(system(cmd), 0);
    assert_non_null(fx->st = store_open(fx->path, 1000, &err));
    assert_int_equal(store_revocation_serial(fx->st), before);
    assert_int_equal(store_revocation_add(fx->st, "token", "c", past, past + 9, "", &after, &err),
                     0);
    assert_true(after > lost);
    unlink(backup);
}

/* The writer's journal: what a commit made durable, savepoints honoured. */
static void
test_journal(void **state)
{
    struct store *st = FX(state);
    struct store_rev_changes *c;
    const char *err = NULL;
    int64_t serial = 0;
    int lost = 1;

    assert_null(store_journal_take(st, &lost));
    assert_int_equal(lost, 0);
    /* off: nothing recorded */
    assert_int_equal(store_revocation_add(st, "token", "off", NOW, NOW + 9, "", NULL, &err), 0);
    assert_null(store_journal_take(st, &lost));
    store_journal(st, 1);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_revocation_add(st, "token", "kept", NOW, NOW + 9, "r", &serial, &err),
                     0);
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_revocation_add(st, "token", "undone", NOW, NOW + 9, "", NULL, &err), 0);
    store_savepoint_rollback(st);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_revocation_remove(st, "token", "off", &err), 1);
    assert_int_equal(store_revocation_remove(st, "token", "none", &err), 0); /* not recorded */
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_non_null(c = store_journal_take(st, &lost));
    assert_int_equal(lost, 0);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->v[0].removed, 0);
    assert_string_equal(c->v[0].r.id, "kept");
    assert_string_equal(c->v[0].r.reason, "r");
    assert_int_equal(c->v[0].r.serial, serial);
    assert_int_equal(c->v[0].r.expires_at, NOW + 9);
    assert_int_equal(c->v[1].removed, 1);
    assert_string_equal(c->v[1].r.id, "off");
    store_rev_changes_free(c);
    /* a rolled back transaction hands over nothing */
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_revocation_add(st, "token", "gone", NOW, NOW + 9, "", NULL, &err), 0);
    store_tx_rollback(st);
    assert_null(store_journal_take(st, &lost));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_add_list),
        FX_TEST(test_refusals),
        FX_TEST(test_prune_keeps_serials),
        FX_TEST(test_remove),
        FX_TEST(test_journal),
        /* a file only: there is nothing to reopen in :memory: */
        cmocka_unit_test_prestate_setup_teardown(test_serial_survives_reopen, fx_setup, fx_teardown,
                                                 (void *)"file"),
        cmocka_unit_test_prestate_setup_teardown(test_restore_never_reuses, fx_setup, fx_teardown,
                                                 (void *)"file"),
    };
    return FX_RUN(tests);
}
