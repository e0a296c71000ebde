/* store/proofs.c: rows keyed by (iat, jti), listed from a time on in order,
 * a repeat is no error, bad lengths are refused, and a prune removes exactly
 * the oldest rows below its bound, never more than its limit, never a row
 * still inside the window. */
#include "fixture.h"
#include "proofs.h"

struct seen {
    int n;
    int64_t last_iat;
    char first_jti[80], first_mp[40];
};

static int
count_cb(int64_t iat, const char *jti, const char *mp_id, void *arg)
{
    struct seen *s = arg;

    assert_true(iat >= s->last_iat); /* oldest first */
    s->last_iat = iat;
    if (s->n++ == 0) {
        snprintf(s->first_jti, sizeof(s->first_jti), "%s", jti);
        snprintf(s->first_mp, sizeof(s->first_mp), "%s", mp_id);
    }
    return 0;
}

static int
stop_cb(int64_t iat, const char *jti, const char *mp_id, void *arg)
{
    (*(int *)arg)++;
    return 1;
}

static int
list_count(struct store *st, int64_t since)
{
    struct seen s = {0};
    const char *err = NULL;

    assert_int_equal(store_proof_list(st, since, count_cb, &s, &err), 0);
    return s.n;
}

static void
test_add_and_list(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    struct seen s = {0};
    int stops = 0;

    assert_int_equal(store_proof_add(st, 200, "b", "mp-1", &err), 0);
    assert_int_equal(store_proof_add(st, 100, "a", "mp-2", &err), 0);
    assert_int_equal(store_proof_add(st, 300, "c", NULL, &err), 0);
    /* the same (iat, jti) again: no error, no second row, and told (1) */
    assert_int_equal(store_proof_add(st, 200, "b", "mp-1", &err), 1);
    assert_int_equal(store_proof_add(st, 200, "b", "mp-2", &err), 1);
    /* the same jti at another iat is another row (a replay repeats its iat) */
    assert_int_equal(store_proof_add(st, 201, "b", "mp-1", &err), 0);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis"), 4);

    assert_int_equal(store_proof_list(st, 0, count_cb, &s, &err), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.first_jti, "a");
    assert_string_equal(s.first_mp, "mp-2");
    assert_int_equal(list_count(st, 200), 3);
    assert_int_equal(list_count(st, 301), 0);
    assert_int_equal(store_proof_list(st, 0, stop_cb, &stops, &err), 0);
    assert_int_equal(stops, 1);
}

static void
test_bad_lengths_refused(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    char jti[80];

    memset(jti, 'j', sizeof(jti) - 1);
    jti[sizeof(jti) - 1] = '\0';
    assert_int_equal(store_proof_add(st, 1, jti, "", &err), -1);
    assert_non_null(err);
    jti[STORE_PROOF_JTI_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(store_proof_add(st, 1, jti, "", &err), 0);
    assert_int_equal(store_proof_add(st, 1, "", "", &err), -1);
    assert_int_equal(store_proof_add(st, 1, NULL, "", &err), -1);
    assert_int_equal(
        store_proof_add(st, 1, "x", "mp-0123456789012345678901234567890123456789", &err), -1);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis"), 1);
}

static void
test_prune_bounded_and_exact(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    char jti[32];

    /* 10 seconds with 50 proofs each: many rows share an iat */
    for (int t = 0; t < 10; t++)
        for (int i = 0; i < 50; i++) {
            snprintf(jti, sizeof(jti), "jti-%02d-%03d", t, i);
            assert_int_equal(store_proof_add(st, 1000 + t, jti, "mp", &err), 0);
        }
    assert_int_equal(store_proof_prune(st, 1000, 64, &err), 0); /* nothing older */
    /* rows older than 1005 (250 of them), 64 at a time, in time order */
    assert_int_equal(store_proof_prune(st, 1005, 64, &err), 64);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis"), 436);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis WHERE iat = 1000"), 0);
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis WHERE iat = 1001"), 36);
    assert_int_equal(store_proof_prune(st, 1005, 64, &err), 64);
    assert_int_equal(store_proof_prune(st, 1005, 64, &err), 64);
    assert_int_equal(store_proof_prune(st, 1005, 64, &err), 58); /* the rest below the bound */
    assert_int_equal(store_proof_prune(st, 1005, 64, &err), 0);
    /* everything from the bound on is still there */
    assert_int_equal(fx_int(st, "SELECT count(*) FROM proof_jtis"), 250);
    assert_int_equal(fx_int(st, "SELECT min(iat) FROM proof_jtis"), 1005);
    assert_int_equal(store_proof_prune(st, 1005, 0, &err), -1);
}

static void
test_rows_survive_reopen(void **state)
{
    struct fx *fx = *state;
    const char *err = NULL;

    if (fx->memory)
        skip();
    assert_int_equal(store_proof_add(fx->st, 42, "kept", "mp", &err), 0);
    store_close(fx->st);
    fx->st = store_open(fx->path, 1000, &err);
    assert_non_null(fx->st);
    assert_int_equal(list_count(fx->st, 42), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(test_add_and_list),
        FX_TEST(test_bad_lengths_refused),
        FX_TEST(test_prune_bounded_and_exact),
        FX_TEST(test_rows_survive_reopen),
    };
    return FX_RUN(tests);
}
