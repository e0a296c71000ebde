/* store_bulk_use against another writer: the row changes between the read
 * that decides and the UPDATE that takes the use (another node's writer on a
 * shared PostgreSQL, or any caller outside a transaction). A step hook
 * on the first connection runs the second connection's change at the moment
 * the first one's UPDATE starts, so the interleaving is the same every run.
 * The UPDATE's own guard (blocked = 0, uses < max_uses, checked through the
 * changes count) must turn the stale decision into a refusal. On a file:
 * two connections need one (or PostgreSQL). */
#include "fixture.h"

#include "bulk.h"

#define NOW 1700000000

static const uint8_t hash[32] = {0x5a};

struct race {
    struct store *other; /* the second connection */
    int fired;
    int block;                  /* the other writer blocks instead of using */
    enum store_bulk_use result; /* the other writer's use */
};

/* At the start of the first connection's UPDATE of the counters (its read
 * is done and reset: no transaction is open on it), the other writer acts. */
static void
race_step_cb(const char *sql, void *arg)
{
    struct race *r = arg;
    const char *err = NULL;

    if (r->fired || strncmp(sql, "UPDATE bulk_tokens SET uses", 27) != 0)
        return;
    r->fired = 1;
    if (r->block)
        assert_int_equal(store_bulk_set_blocked(r->other, "b", 1, &err), 0);
    else
        r->result = store_bulk_use(r->other, "b", hash, NOW, &err);
}

static struct store *
race_setup(void **state, struct race *r, int64_t max_uses, int64_t uses)
{
    struct fx *fx = *state;
    struct store_bulk b = {.created_at = NOW, .not_before = NOW, .expires_at = NOW + 86400};
    const char *err = NULL;

    snprintf(b.id, sizeof(b.id), "b");
    memcpy(b.token_hash, hash, sizeof(hash));
    b.max_uses = max_uses;
    b.uses = uses;
    snprintf(b.created_by, sizeof(b.created_by), "admin");
    assert_int_equal(store_bulk_insert(fx->st, &b, &err), 0);
    r->other = store_open(fx->path, 1000, &err);
    assert_non_null(r->other);
    store_set_step_hook(fx->st, race_step_cb, r);
    return fx->st;
}

static void
race_teardown(struct store *st, struct race *r)
{
    store_set_step_hook(st, NULL, NULL);
    store_close(r->other);
}

/* Two writers, one use left: exactly one gets it, and uses stops at max. */
static void
test_last_use_taken_meanwhile(void **state)
{
    struct race r = {.result = STORE_BULK_ERROR};
    struct store *st = race_setup(state, &r, 3, 2);
    const char *err = NULL;
    enum store_bulk_use mine = store_bulk_use(st, "b", hash, NOW, &err);

    assert_true(r.fired);
    assert_int_equal(r.result, STORE_BULK_USED);  /* the other writer came first */
    assert_int_equal(mine, STORE_BULK_EXHAUSTED); /* the stale read does not count */
    assert_int_equal(fx_int(st, "SELECT uses FROM bulk_tokens WHERE id = 'b'"), 3);
    race_teardown(st, &r);
}

/* Unlimited tokens have no last use: both writers are admitted. */
static void
test_unlimited_both_used(void **state)
{
    struct race r = {.result = STORE_BULK_ERROR};
    struct store *st = race_setup(state, &r, 0, 7);
    const char *err = NULL;

    assert_int_equal(store_bulk_use(st, "b", hash, NOW, &err), STORE_BULK_USED);
    assert_true(r.fired);
    assert_int_equal(r.result, STORE_BULK_USED);
    assert_int_equal(fx_int(st, "SELECT uses FROM bulk_tokens WHERE id = 'b'"), 9);
    race_teardown(st, &r);
}

/* Blocked between the read and the update: no use is taken. */
static void
test_blocked_meanwhile(void **state)
{
    struct race r = {.block = 1};
    struct store *st = race_setup(state, &r, 0, 0);
    const char *err = NULL;

    assert_int_not_equal(store_bulk_use(st, "b", hash, NOW, &err), STORE_BULK_USED);
    assert_true(r.fired);
    assert_int_equal(fx_int(st, "SELECT uses FROM bulk_tokens WHERE id = 'b'"), 0);
    race_teardown(st, &r);
}

/* A file or PostgreSQL: two connections need one database (":memory:" is
 * one per connection). */
#define RACE_TEST(f)                                                                               \
    cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"file"),            \
        cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"postgresql")

int
main(void)
{
    const struct CMUnitTest tests[] = {
        RACE_TEST(test_last_use_taken_meanwhile),
        RACE_TEST(test_unlimited_both_used),
        RACE_TEST(test_blocked_meanwhile),
    };
    return FX_RUN(tests);
}
