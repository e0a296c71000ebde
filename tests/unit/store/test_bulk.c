/* store/bulk.c and the transaction functions of store.c: insert and get,
 * every refusal of store_bulk_use in its documented order, the max_uses cap,
 * block/unblock, newest-first keyset pagination, savepoints in a transaction
 * and the statement cache's refusal of re-entry. */
#include "fixture.h"

#include "bulk.h"

#define NOW 1700000000

static void
make_bulk(struct store_bulk *b, const char *id, uint8_t fill, int64_t created)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->id, sizeof(b->id), "%s", id);
    memset(b->token_hash, fill, sizeof(b->token_hash));
    b->created_at = created;
    b->not_before = created;
    b->expires_at = created + 3 * 86400;
    snprintf(b->created_by, sizeof(b->created_by), "admin");
}

static void
test_insert_get(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b, out;
    const char *err = NULL;

    make_bulk(&b, "b1", 0x11, NOW);
    b.max_uses = 5;
    snprintf(b.note, sizeof(b.note), "lab machines");
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_bulk_insert(st, &b, &err), -1); /* same id */
    make_bulk(&b, "b2", 0x11, NOW);                        /* same hash */
    assert_int_equal(store_bulk_insert(st, &b, &err), -1);
    make_bulk(&b, "b3", 0x12, NOW);
    b.max_uses = -1;
    assert_int_equal(store_bulk_insert(st, &b, &err), -1);

    assert_int_equal(store_bulk_get(st, "b1", &out, &err), 0);
    assert_string_equal(out.id, "b1");
    assert_int_equal(out.token_hash[0], 0x11);
    assert_int_equal(out.created_at, NOW);
    assert_int_equal(out.not_before, NOW);
    assert_int_equal(out.expires_at, NOW + 3 * 86400);
    assert_int_equal(out.max_uses, 5);
    assert_int_equal(out.uses, 0);
    assert_int_equal(out.blocked, 0);
    assert_int_equal(out.last_used_at, 0); /* NULL -> 0 */
    assert_string_equal(out.note, "lab machines");
    assert_string_equal(out.created_by, "admin");
    assert_int_equal(store_bulk_get(st, "nope", &out, &err), 1);
}

static void
test_use_refusals(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b, out;
    uint8_t good[32], bad[32];
    const char *err = NULL;

    memset(good, 0x22, sizeof(good));
    memcpy(bad, good, sizeof(bad));
    bad[31] ^= 1;
    make_bulk(&b, "b", 0x22, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);

    assert_int_equal(store_bulk_use(st, "unknown", good, NOW, &err), STORE_BULK_UNKNOWN);
    assert_int_equal(store_bulk_use(st, "b", bad, NOW, &err), STORE_BULK_UNKNOWN);
    assert_int_equal(store_bulk_use(st, "b", good, NOW - 1, &err), STORE_BULK_NOT_YET);
    assert_int_equal(store_bulk_use(st, "b", good, NOW + 3 * 86400, &err), STORE_BULK_EXPIRED);
    assert_int_equal(store_bulk_use(st, "b", good, NOW + 3 * 86400 - 1, &err), STORE_BULK_USED);

    assert_int_equal(store_bulk_set_blocked(st, "b", 1, &err), 0);
    assert_int_equal(store_bulk_use(st, "b", good, NOW, &err), STORE_BULK_BLOCKED);
    /* order: a wrong hash is a bad signature even when blocked; blocked wins
     * over the window */
    assert_int_equal(store_bulk_use(st, "b", bad, NOW, &err), STORE_BULK_UNKNOWN);
    assert_int_equal(store_bulk_use(st, "b", good, NOW - 1, &err), STORE_BULK_BLOCKED);
    assert_int_equal(store_bulk_use(st, "b", good, NOW + 9 * 86400, &err), STORE_BULK_BLOCKED);
    assert_int_equal(store_bulk_set_blocked(st, "b", 0, &err), 0);
    assert_int_equal(store_bulk_use(st, "b", good, NOW + 5, &err), STORE_BULK_USED);
    assert_int_equal(store_bulk_set_blocked(st, "nope", 1, &err), 1);

    /* refusals counted nothing */
    assert_int_equal(store_bulk_get(st, "b", &out, &err), 0);
    assert_int_equal(out.uses, 2);
    assert_int_equal(out.last_used_at, NOW + 5);
    assert_int_equal(out.blocked, 0);
}

static void
test_use_cap(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b, out;
    uint8_t h[32];
    const char *err = NULL;

    memset(h, 0x33, sizeof(h));
    make_bulk(&b, "capped", 0x33, NOW);
    b.max_uses = 3;
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_bulk_use(st, "capped", h, NOW + i, &err), STORE_BULK_USED);
    assert_int_equal(store_bulk_use(st, "capped", h, NOW + 10, &err), STORE_BULK_EXHAUSTED);
    assert_int_equal(store_bulk_get(st, "capped", &out, &err), 0);
    assert_int_equal(out.uses, 3);
    assert_int_equal(out.last_used_at, NOW + 2);
    /* an expired token says expired before exhausted */
    assert_int_equal(store_bulk_use(st, "capped", h, NOW + 4 * 86400, &err), STORE_BULK_EXPIRED);

    /* max_uses 0 is unlimited */
    memset(h, 0x34, sizeof(h));
    make_bulk(&b, "free", 0x34, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(store_bulk_use(st, "free", h, NOW, &err), STORE_BULK_USED);
    assert_int_equal(store_bulk_get(st, "free", &out, &err), 0);
    assert_int_equal(out.uses, 20);
    assert_int_equal(out.max_uses, 0);
}

/* A retried first exchange: the facts without the cap, and no use taken. */
static void
test_retry_takes_no_use(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b, out;
    uint8_t h[32], bad[32];
    const char *err = NULL;

    memset(h, 0x35, sizeof(h));
    memset(bad, 0x36, sizeof(bad));
    make_bulk(&b, "once", 0x35, NOW);
    b.max_uses = 1;
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_bulk_use(st, "once", h, NOW, &err), STORE_BULK_USED);
    assert_int_equal(store_bulk_use(st, "once", h, NOW, &err), STORE_BULK_EXHAUSTED);
    assert_int_equal(store_bulk_retry(st, "once", h, NOW + 1, &err), STORE_BULK_USED);
    assert_int_equal(store_bulk_retry(st, "once", bad, NOW, &err), STORE_BULK_UNKNOWN);
    assert_int_equal(store_bulk_retry(st, "once", h, NOW + 3 * 86400, &err), STORE_BULK_EXPIRED);
    assert_int_equal(store_bulk_set_blocked(st, "once", 1, &err), 0);
    assert_int_equal(store_bulk_retry(st, "once", h, NOW, &err), STORE_BULK_BLOCKED);
    assert_int_equal(store_bulk_get(st, "once", &out, &err), 0);
    assert_int_equal(out.uses, 1);
    assert_int_equal(out.last_used_at, NOW);
}

struct seen {
    char ids[64][37];
    int n, stop_after;
};

static int
seen_cb(const struct store_bulk *b, void *arg)
{
    struct seen *s = arg;

    snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", b->id);
    return s->stop_after > 0 && s->n >= s->stop_after;
}

static void
test_list_pagination(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b;
    struct seen all = {.n = 0}, page;
    const char *err = NULL;
    char id[37], cursor[37] = "";
    int sizes[3];

    /* 25 tokens; created_at repeats (5 per second) so ties must page right */
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "bulk-%02d", i);
        make_bulk(&b, id, (uint8_t)i, NOW + i / 5);
        assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    }
    for (int p = 0; p < 3; p++) {
        memset(&page, 0, sizeof(page));
        assert_int_equal(store_bulk_list(st, cursor, 10, seen_cb, &page, &err), 0);
        sizes[p] = page.n;
        for (int i = 0; i < page.n; i++)
            memcpy(all.ids[all.n++], page.ids[i], sizeof(page.ids[0]));
        if (page.n > 0)
            snprintf(cursor, sizeof(cursor), "%s", page.ids[page.n - 1]);
    }
    assert_int_equal(sizes[0], 10);
    assert_int_equal(sizes[1], 10);
    assert_int_equal(sizes[2], 5);
    memset(&page, 0, sizeof(page));
    assert_int_equal(store_bulk_list(st, cursor, 10, seen_cb, &page, &err), 0);
    assert_int_equal(page.n, 0);
    /* newest first, each exactly once: inserted in time order, so reversed */
    assert_int_equal(all.n, 25);
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "bulk-%02d", 24 - i);
        assert_string_equal(all.ids[i], id);
    }

    /* no limit, early stop, unknown cursor */
    memset(&page, 0, sizeof(page));
    assert_int_equal(store_bulk_list(st, NULL, 0, seen_cb, &page, &err), 0);
    assert_int_equal(page.n, 25);
    memset(&page, 0, sizeof(page));
    page.stop_after = 3;
    assert_int_equal(store_bulk_list(st, "", 10, seen_cb, &page, &err), 0);
    assert_int_equal(page.n, 3);
    memset(&page, 0, sizeof(page));
    assert_int_equal(store_bulk_list(st, "no-such-id", 10, seen_cb, &page, &err), 0);
    assert_int_equal(page.n, 0);
}

static int
reenter_cb(const struct store_bulk *b, void *arg)
{
    struct store *st = arg;
    const char *err = NULL;
    struct seen s = {.n = 0};

    /* the same cached statement is running: refused, not silently reset */
    assert_int_equal(store_bulk_list(st, "", 10, seen_cb, &s, &err), -1);
    assert_non_null(strstr(err, "re-entered"));
    return 1;
}

static void
test_list_reentry_refused(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b;
    const char *err = NULL;

    make_bulk(&b, "b", 1, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_bulk_list(st, "", 10, reenter_cb, st, &err), 0);
}

static void
test_savepoints(void **state)
{
    struct store *st = FX(state);
    struct store_bulk b, out;
    const char *err = NULL;

    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    make_bulk(&b, "A", 0xa, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    make_bulk(&b, "B", 0xb, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    store_savepoint_rollback(st);
    /* the transaction goes on after the rolled back savepoint */
    assert_int_equal(store_savepoint(st, &err), 0);
    make_bulk(&b, "C", 0xc, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_int_equal(store_bulk_get(st, "A", &out, &err), 0);
    assert_int_equal(store_bulk_get(st, "B", &out, &err), 1);
    assert_int_equal(store_bulk_get(st, "C", &out, &err), 0);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM bulk_tokens"), 2);

    /* a rolled back transaction leaves nothing; rollback outside one is harmless */
    assert_int_equal(store_tx_begin(st, &err), 0);
    make_bulk(&b, "D", 0xd, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    store_tx_rollback(st);
    assert_int_equal(store_bulk_get(st, "D", &out, &err), 1);
    store_tx_rollback(st);

    /* errors: commit with no transaction, release with no savepoint, nested
     * BEGIN */
    err = NULL;
    assert_int_equal(store_tx_commit(st, &err), -1);
    assert_non_null(err);
    assert_int_equal(store_savepoint_release(st, &err), -1);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_tx_begin(st, &err), -1);
    store_tx_rollback(st);
}

/* The class of each kind of failure, which callers map to their answer. */
static void
test_error_classes(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st, *other;
    struct store_bulk b, out;
    const char *err = NULL;
    uint8_t h[32];

    assert_int_equal(store_error(st), STORE_ERR_NONE);
    make_bulk(&b, "classes", 0x41, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
    assert_int_equal(store_bulk_insert(st, &b, &err), -1); /* same id */
    assert_int_equal(store_error(st), STORE_ERR_CONFLICT);
    assert_string_equal(store_error_name(store_error(st)), "conflict");
    memset(b.note, 'n', sizeof(b.note) - 1); /* fills the buffer: still fits */
    b.note[sizeof(b.note) - 1] = '\0';
    snprintf(b.id, sizeof(b.id), "classes2");
    b.max_uses = -2;
    assert_int_equal(store_bulk_insert(st, &b, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_INVALID);

    /* A row this code did not write is corrupt, for get, use and list. */
    fx_exec(st, FX_SQL(fx, "UPDATE bulk_tokens SET token_hash = x'00' WHERE id = 'classes'",
                       "UPDATE bulk_tokens SET token_hash = '\\x00' WHERE id = 'classes'"));
    assert_int_equal(store_bulk_get(st, "classes", &out, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_CORRUPT);
    assert_non_null(strstr(err, "unreadable row"));
    memset(h, 0x41, sizeof(h));
    assert_int_equal(store_bulk_use(st, "classes", h, NOW, &err), STORE_BULK_ERROR);
    assert_int_equal(store_error(st), STORE_ERR_CORRUPT);
    assert_int_equal(store_bulk_list(st, NULL, 0, NULL, NULL, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_CORRUPT);

    /* Another connection holding the write lock past the busy timeout. */
    if (fx->memory)
        return;
    assert_non_null(other = store_open(fx->path, 10, &err));
    assert_int_equal(store_tx_begin(other, &err), 0);
    if (fx->pg) /* BEGIN takes no lock there: a table lock does */
        fx_exec(other, "LOCK TABLE bulk_tokens IN EXCLUSIVE MODE");
    store_close(st);
    assert_non_null(fx->st = st = store_open(fx->path, 10, &err));
    if (!fx->pg) {
        assert_int_equal(store_tx_begin(st, &err), -1);
        assert_int_equal(store_error(st), STORE_ERR_BUSY);
    }
    assert_string_equal(store_error_name(STORE_ERR_BUSY), "busy");
    make_bulk(&b, "classes3", 0x43, NOW);
    assert_int_equal(store_bulk_insert(st, &b, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_BUSY);
    store_tx_rollback(other);
    store_close(other);
    assert_int_equal(store_bulk_insert(st, &b, &err), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_insert_get),      FX_TEST(test_use_refusals),
        FX_TEST(test_use_cap),         FX_TEST(test_retry_takes_no_use),
        FX_TEST(test_list_pagination), FX_TEST(test_list_reentry_refused),
        FX_TEST(test_savepoints),      FX_TEST(test_error_classes),
    };
    return FX_RUN(tests);
}
