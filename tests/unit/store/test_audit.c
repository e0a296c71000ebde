/* store/audit.c: the hash chain's exact format (a known answer), listing,
 * and that verify finds an edited detail, actor or time, a deleted record,
 * a missing first record and swapped records (a deleted last record is, by
 * design, not something a chain alone can see). */
#include "fixture.h"

#include <openssl/sha.h>

#include "audit.h"

#define NOW 1700000000
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static void
append5(struct store *st)
{
    const char *err = NULL;
    char detail[64];

    for (int i = 1; i <= 5; i++) {
        snprintf(detail, sizeof(detail), "{\"n\": %d, \"a\": \"x\"}", i);
        if (store_audit_append(st, NOW + i, "admin", "bulk.create", "subject", detail, &err) != 0)
            fail_msg("append %d: %s", i, err);
    }
}

static void
verify(struct store *st, int *ok, int64_t *first_bad, int64_t *records, char head[65])
{
    const char *err = NULL;

    if (store_audit_verify(st, ok, first_bad, records, head, &err) != 0)
        fail_msg("verify: %s", err);
}

static void
test_known_answer(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    /* detail keys are sorted and spaces dropped before hashing and storing */
    const char *canonical =
        ZEROS "[1,1700000000,\"admin\",\"bulk.create\",\"ab\\\"c\",{\"a\":1,\"b\":[true,null]}]";
    unsigned char md[32];
    char hex[65], head[65];
    int ok;
    int64_t first_bad, records;

    assert_int_equal(store_audit_append(st, NOW, "admin", "bulk.create", "ab\"c",
                                        "{ \"b\": [true, null], \"a\": 1 }", &err),
                     0);
    SHA256((const unsigned char *)canonical, strlen(canonical), md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(records, 1);
    assert_string_equal(head, hex);
    assert_int_equal(fx_int(st, "SELECT detail = '{\"a\":1,\"b\":[true,null]}' FROM audit"), 1);
    assert_int_equal(fx_int(st, "SELECT prev_hash = '" ZEROS "' FROM audit"), 1);
}

static void
test_empty_and_refusals(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    char head[65], big[200];
    int ok = 0;
    int64_t first_bad = -1, records = -1;

    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(first_bad, 0);
    assert_int_equal(records, 0);
    assert_string_equal(head, ZEROS);

    assert_int_equal(store_audit_append(st, NOW, "a", "b", "", "[1,2]", &err), -1);
    assert_int_equal(store_audit_append(st, NOW, "a", "b", "", "{\"a\":", &err), -1);
    assert_int_equal(store_audit_append(st, NOW, "a", "b", "", "{\"a\":1,\"a\":2}", &err), -1);
    assert_int_equal(store_audit_append(st, NOW, "a", "b", "", "\"str\"", &err), -1);
    assert_int_equal(store_audit_append(st, NOW, "bad\xff", "b", "", "{}", &err), -1);
    assert_int_equal(store_audit_append(st, NOW, NULL, "b", "", "{}", &err), -1);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(store_audit_append(st, NOW, big, "b", "", "{}", &err), -1);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM audit"), 0);

    /* NULL or "" detail is {}, NULL subject is "" */
    assert_int_equal(store_audit_append(st, NOW, "a", "b", NULL, NULL, &err), 0);
    assert_int_equal(store_audit_append(st, NOW, "a", "b", "s", "", &err), 0);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM audit WHERE detail = '{}'"), 2);
    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(records, 2);
}

struct rows {
    int64_t seq[16];
    char detail[16][64];
    char hash[16][65], prev[16][65];
    int n;
};

static int
rows_cb(const struct store_audit *a, void *arg)
{
    struct rows *r = arg;

    r->seq[r->n] = a->seq;
    snprintf(r->detail[r->n], sizeof(r->detail[0]), "%s", a->detail);
    snprintf(r->hash[r->n], sizeof(r->hash[0]), "%s", a->hash);
    snprintf(r->prev[r->n], sizeof(r->prev[0]), "%s", a->prev_hash);
    r->n++;
    return 0;
}

static void
test_append_list_verify(void **state)
{
    struct store *st = FX(state);
    struct rows r = {.n = 0};
    const char *err = NULL;
    char head[65];
    int ok;
    int64_t first_bad, records;

    append5(st);
    assert_int_equal(store_audit_list(st, 0, 0, rows_cb, &r, &err), 0);
    assert_int_equal(r.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r.seq[i], i + 1);
        assert_int_equal(strlen(r.hash[i]), 64);
        assert_string_equal(r.prev[i], i == 0 ? ZEROS : r.hash[i - 1]);
    }
    assert_string_equal(r.detail[0], "{\"a\":\"x\",\"n\":1}");
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_audit_list(st, 3, 10, rows_cb, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[0], 4);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_audit_list(st, 1, 2, rows_cb, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[1], 3);

    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(first_bad, 0);
    assert_int_equal(records, 5);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM audit WHERE seq = 5 AND hash = "
                                "(SELECT hash FROM audit WHERE seq = 5)"),
                     1);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_audit_list(st, 4, 1, rows_cb, &r, &err), 0);
    assert_string_equal(head, r.hash[0]);
}

/* Appends five records, applies the tampering, and returns verify's answer. */
static void
tamper(struct store *st, const char *sql, int64_t want_bad, int64_t want_records)
{
    char head[65];
    int ok;
    int64_t first_bad, records;

    append5(st);
    fx_exec(st, sql);
    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 0);
    assert_int_equal(first_bad, want_bad);
    assert_int_equal(records, want_records);
}

static void
test_edited_detail(void **state)
{
    tamper(FX(state), "UPDATE audit SET detail = '{\"a\":\"x\",\"n\":33}' WHERE seq = 3", 3, 5);
}

static void
test_edited_actor(void **state)
{
    tamper(FX(state), "UPDATE audit SET actor = 'mallory' WHERE seq = 4", 4, 5);
}

static void
test_edited_time(void **state)
{
    tamper(FX(state), "UPDATE audit SET time = time + 1 WHERE seq = 1", 1, 5);
}

static void
test_rehashed_edit(void **state)
{
    /* an edit that also replaces the record's hash breaks the next link */
    tamper(FX(state),
           "UPDATE audit SET detail = '{}', hash = (SELECT hash FROM audit WHERE seq = 1)"
           " WHERE seq = 2",
           2, 5);
}

static void
test_deleted_middle(void **state)
{
    tamper(FX(state), "DELETE FROM audit WHERE seq = 2", 2, 4);
}

static void
test_deleted_first(void **state)
{
    tamper(FX(state), "DELETE FROM audit WHERE seq = 1", 1, 4);
}

static void
test_swapped(void **state)
{
    tamper(FX(state),
           "UPDATE audit SET seq = -2 WHERE seq = 2;"
           "UPDATE audit SET seq = 2 WHERE seq = 4;"
           "UPDATE audit SET seq = 4 WHERE seq = -2;",
           2, 5);
}

static void
test_swapped_contents(void **state)
{
    /* rows keep their seq but trade everything else */
    tamper(FX(state),
           "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (3, 4);"
           "UPDATE audit SET (time, actor, action, subject, detail, prev_hash, hash) ="
           " (SELECT time, actor, action, subject, detail, prev_hash, hash FROM t"
           "  WHERE t.seq = 7 - audit.seq) WHERE seq IN (3, 4);",
           3, 5);
}

static void
test_deleted_last_undetectable(void **state)
{
    struct store *st = FX(state);
    char head[65];
    int ok;
    int64_t first_bad, records;

    /* Documented limit: truncating the tail leaves a valid shorter chain; only
     * a head recorded elsewhere (exported, logged) can show it. */
    append5(st);
    fx_exec(st, "DELETE FROM audit WHERE seq = 5");
    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(records, 4);
    /* appending after the truncation chains onto record 4 */
    append5(st);
    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(records, 9);
}

/* Counts the statements that take the audit chain's lock ([0]) and that
 * read its last record ([1]). */
static void
lock_count_cb(const char *sql, void *arg)
{
    int *n = arg;

    if (strstr(sql, "'audit_chain'") != NULL)
        n[0]++;
    if (strstr(sql, "ORDER BY seq DESC LIMIT 1") != NULL)
        n[1]++;
}

static void
append_one(struct store *st, const char *what)
{
    const char *err = NULL;

    assert_int_equal(store_audit_append(st, 1000, "admin", what, "", "{}", &err), 0);
}

/* One lock statement per transaction however many records it appends
 * (PostgreSQL; SQLite's BEGIN IMMEDIATE needs none), and one taken inside a
 * savepoint is taken again after that savepoint's rollback. Under the lock
 * the last record is read once: the next appends chain onto what this
 * transaction wrote, until a savepoint's rollback undoes it. The chain
 * verifies whole. */
static void
test_lock_once_per_transaction(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st;
    const char *err = NULL;
    char head[65];
    int n[2] = {0, 0}, ok;
    int64_t first_bad, records;

    store_set_step_hook(st, lock_count_cb, n);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_audit_lock(st, &err), 0);
    append_one(st, "a");
    append_one(st, "b");
    append_one(st, "b2");
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_int_equal(n[0], fx->pg ? 1 : 0);
    assert_int_equal(n[1], 1);

    n[0] = n[1] = 0;
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    append_one(st, "c"); /* inside a savepoint: not known to last */
    store_savepoint_rollback(st);
    append_one(st, "d");
    append_one(st, "e");
    assert_int_equal(store_savepoint(st, &err), 0);
    append_one(st, "f");
    store_savepoint_rollback(st); /* f undone: the head is read again */
    append_one(st, "g");
    assert_int_equal(store_tx_commit(st, &err), 0);
    store_set_step_hook(st, NULL, NULL);
    assert_int_equal(n[0], fx->pg ? 2 : 0);
    assert_int_equal(n[1], 3);

    verify(st, &ok, &first_bad, &records, head);
    assert_int_equal(ok, 1);
    assert_int_equal(records, 6); /* a b b2 d e g */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_known_answer),
        FX_TEST(test_empty_and_refusals),
        FX_TEST(test_append_list_verify),
        FX_TEST(test_edited_detail),
        FX_TEST(test_edited_actor),
        FX_TEST(test_edited_time),
        FX_TEST(test_rehashed_edit),
        FX_TEST(test_deleted_middle),
        FX_TEST(test_deleted_first),
        FX_TEST(test_swapped),
        FX_TEST(test_swapped_contents),
        FX_TEST(test_deleted_last_undetectable),
        FX_TEST(test_lock_once_per_transaction),
    };
    return FX_RUN(tests);
}
