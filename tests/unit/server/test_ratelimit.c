/* ratelimit.c: the per-MP bucket allows a second's burst and refills; the
 * failed-exchange budgets are per MP and per bulk token and count only
 * refusals of authenticated exchanges; a full table never refuses a
 * newcomer, a flood of other identities never resets a budget, and workers
 * admitting at once never admit more than the budget. Buckets are keyed on
 * the authenticated identity (auth.h: "mp:<id>" or "cert:<sha256>"). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000

static void
test_mp_rate_burst_and_refill(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 3, 0);
    struct ratelimit_ticket t;
    const char *why = NULL;

    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_admit(rl, &t, "mp:a", NULL, 0, &why), ERRCODE_OK);
    assert_int_equal(ratelimit_admit(rl, &t, "mp:a", NULL, 0, &why), ERRCODE_RATE_LIMITED);
    assert_non_null(why);
    assert_int_equal(t.retry_after, 1); /* a third of a second, rounded up */
    /* another credential has its own bucket */
    assert_int_equal(ratelimit_admit(rl, &t, "mp:b", NULL, 0, &why), ERRCODE_OK);
    /* a third of a second refills one request */
    assert_int_equal(ratelimit_admit(rl, &t, "mp:a", NULL, SEC / 3 + 1, &why), ERRCODE_OK);
    assert_int_equal(ratelimit_admit(rl, &t, "mp:a", NULL, SEC / 3 + 2, &why),
                     ERRCODE_RATE_LIMITED);
    ratelimit_free(rl);
}

static void
test_unlimited_by_default(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 0, 0);
    struct ratelimit_ticket t;
    const char *why = NULL;

    for (int i = 0; i < 10000; i++) {
        assert_int_equal(ratelimit_admit(rl, &t, "k", "bulk", 0, &why), ERRCODE_OK);
        ratelimit_exchange_done(rl, &t, ERRCODE_PROOF_INVALID, 0);
    }
    ratelimit_free(rl);
}

static void
test_failed_exchanges_per_mp_and_bulk(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 0, 2);
    struct ratelimit_ticket t;
    const char *why = NULL;

    /* successes, unavailable and rate_limited answers cost nothing */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B1", 0, &why), ERRCODE_OK);
        ratelimit_exchange_done(rl, &t, i % 2 ? ERRCODE_OK : ERRCODE_UNAVAILABLE, 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B1", 0, &why), ERRCODE_OK);
        ratelimit_exchange_done(rl, &t, ERRCODE_BAD_SIGNATURE, 0);
    }
    assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B1", 0, &why), ERRCODE_RATE_LIMITED);
    assert_int_equal(t.retry_after, 30); /* 2 a minute: one back in 30 s */
    assert_int_equal(ratelimit_admit(rl, &t, "mpB", "B1", 10 * (int64_t)SEC, &why),
                     ERRCODE_RATE_LIMITED);
    assert_int_equal(t.retry_after, 20);
    assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B2", 0, &why), ERRCODE_RATE_LIMITED);
    assert_int_equal(ratelimit_admit(rl, &t, "mpB", "B2", 0, &why), ERRCODE_OK);
    /* not an exchange: the failure budget does not apply */
    assert_int_equal(ratelimit_admit(rl, &t, "mpA", NULL, 0, &why), ERRCODE_OK);
    /* 2 a minute: one comes back after 30 s */
    assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B1", 31 * (int64_t)SEC, &why), ERRCODE_OK);
    ratelimit_free(rl);
}

static void
test_full_table_admits_newcomers(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 1, 0);
    struct ratelimit_ticket t;
    const char *why = NULL;
    char key[32];

    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        assert_int_equal(ratelimit_admit(rl, &t, key, NULL, i, &why), ERRCODE_OK);
    }
    ratelimit_free(rl);
}

static void
test_unauthenticated_flood_cannot_reset_a_failure_budget(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 1000, 2);
    struct ratelimit_ticket t;
    const char *why = NULL;
    char key[32];

    for (int i = 0; i < 2; i++) {
        assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B1", 0, &why), ERRCODE_OK);
        ratelimit_exchange_done(rl, &t, ERRCODE_PROOF_INVALID, 0);
    }
    /* made-up credentials, exchanges refused as unauthenticated */
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "junk-%d", i);
        assert_int_equal(ratelimit_admit(rl, &t, key, key, 1, &why), ERRCODE_OK);
        ratelimit_exchange_done(rl, &t, ERRCODE_UNAUTHENTICATED, 1);
    }
    assert_int_equal(ratelimit_admit(rl, &t, "mpA", "B9", 2, &why), ERRCODE_RATE_LIMITED);
    assert_int_equal(ratelimit_admit(rl, &t, "mpB", "B1", 2, &why), ERRCODE_RATE_LIMITED);
    ratelimit_free(rl);
}

struct admit_thread {
    struct ratelimit *rl;
    int admitted;
};

static void *
admit_main(void *arg)
{
    struct admit_thread *a = arg;
    struct ratelimit_ticket t;
    const char *why = NULL;

    for (int i = 0; i < 2000; i++)
        if (ratelimit_admit(a->rl, &t, "mp:shared", NULL, 0, &why) == ERRCODE_OK)
            a->admitted++;
    return NULL;
}

static void
test_concurrent_workers_share_one_budget(void **state)
{
    struct ratelimit *rl = ratelimit_new(64, 1000, 0);
    struct admit_thread a[4];
    pthread_t th[4];
    int total = 0;

    for (int i = 0; i < 4; i++) {
        a[i] = (struct admit_thread){.rl = rl};
        assert_int_equal(pthread_create(&th[i], NULL, admit_main, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += a[i].admitted;
    }
    assert_int_equal(total, 1000); /* the burst, exactly, at one instant */
    ratelimit_free(rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp_rate_burst_and_refill),
        cmocka_unit_test(test_unlimited_by_default),
        cmocka_unit_test(test_failed_exchanges_per_mp_and_bulk),
        cmocka_unit_test(test_full_table_admits_newcomers),
        cmocka_unit_test(test_unauthenticated_flood_cannot_reset_a_failure_budget),
        cmocka_unit_test(test_concurrent_workers_share_one_budget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
