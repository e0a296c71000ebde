/* replay.c: first sightings pass, replays are caught for at least the window
 * whoever relays them, entries are forgotten after two windows, the set grows
 * as needed, and each MP has its own quota: one MP that fills its quota is
 * refused (never forgets) while every other MP keeps working. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

#define CHECK(r, mp, jti, now) replay_check((r), (mp), (jti), strlen(jti), (now))

static void
test_first_then_replay(void **state)
{
    struct replay *r = replay_new(100, 1000);

    assert_int_equal(CHECK(r, "mpA", "a", 0), REPLAY_FRESH);
    assert_int_equal(CHECK(r, "mpA", "b", 10), REPLAY_FRESH);
    assert_int_equal(CHECK(r, "mpA", "a", 20), REPLAY_SEEN);
    assert_int_equal(CHECK(r, "mpA", "ab", 20), REPLAY_FRESH); /* not a prefix match */
    /* a proof replayed through another MP is a replay too */
    assert_int_equal(CHECK(r, "mpB", "a", 30), REPLAY_SEEN);
    assert_int_equal(CHECK(r, NULL, "b", 30), REPLAY_SEEN);
    assert_int_equal(replay_count(r), 3);
    assert_int_equal(replay_mp_count(r, "mpA"), 3);
    assert_int_equal(replay_mp_count(r, "mpB"), 0);
    replay_free(r);
}

static void
test_remembered_for_a_window_forgotten_after_two(void **state)
{
    struct replay *r = replay_new(100, 1000);

    assert_int_equal(CHECK(r, "m", "x", 0), REPLAY_FRESH);
    assert_int_equal(CHECK(r, "m", "y", 999), REPLAY_FRESH);    /* late in generation 1 */
    assert_int_equal(CHECK(r, "m", "x", 1500), REPLAY_SEEN);    /* previous generation */
    assert_int_equal(CHECK(r, "m", "y", 1998), REPLAY_SEEN);    /* y kept >= one window */
    assert_int_equal(CHECK(r, "m", "x", 2500), REPLAY_FRESH);   /* two windows on: forgotten */
    assert_int_equal(CHECK(r, "m", "z", 100000), REPLAY_FRESH); /* long idle: both cleared */
    assert_int_equal(CHECK(r, "m", "x", 100001), REPLAY_FRESH);
    replay_free(r);
}

static void
test_quota_is_per_mp(void **state)
{
    struct replay *r = replay_new(4, 1000);
    char jti[16];

    for (int i = 0; i < 4; i++) {
        snprintf(jti, sizeof(jti), "a%d", i);
        assert_int_equal(CHECK(r, "mpA", jti, 0), REPLAY_FRESH);
    }
    /* A is over its quota: refused, never forgotten */
    assert_int_equal(CHECK(r, "mpA", "a-new", 100), REPLAY_OVER_QUOTA);
    assert_int_equal(CHECK(r, "mpA", "a2", 100), REPLAY_SEEN); /* still caught when full */
    assert_int_equal(replay_retry_after(r, 100), 1);           /* 900 ms to the next window */
    assert_int_equal(replay_mp_count(r, "mpA"), 4);
    /* B is not touched by A's flood: its whole quota is there */
    for (int i = 0; i < 4; i++) {
        snprintf(jti, sizeof(jti), "b%d", i);
        assert_int_equal(CHECK(r, "mpB", jti, 200), REPLAY_FRESH);
    }
    assert_int_equal(CHECK(r, "mpB", "b-new", 200), REPLAY_OVER_QUOTA);
    /* and B cannot slip A's jtis past as fresh */
    assert_int_equal(CHECK(r, "mpB", "a0", 200), REPLAY_SEEN);
    /* the next generation gives A its quota back; what it added is still known */
    assert_int_equal(CHECK(r, "mpA", "a-new", 1000), REPLAY_FRESH);
    assert_int_equal(CHECK(r, "mpA", "a3", 1000), REPLAY_SEEN);
    assert_int_equal(replay_mp_count(r, "mpA"), 1);
    replay_free(r);
}

static void
test_add_ignores_the_quota(void **state)
{
    struct replay *r = replay_new(2, 1000);
    char jti[16];

    /* start-up: everything persisted is loaded, whatever the quota */
    for (int i = 0; i < 10; i++) {
        snprintf(jti, sizeof(jti), "old%d", i);
        assert_int_equal(replay_add(r, "mpA", jti, strlen(jti), 0), 0);
    }
    assert_int_equal(replay_add(r, "mpA", "old3", 4, 0), 0); /* twice: once */
    assert_int_equal(replay_count(r), 10);
    assert_int_equal(CHECK(r, "mpB", "old9", 1), REPLAY_SEEN);
    assert_int_equal(CHECK(r, "mpA", "fresh", 1), REPLAY_OVER_QUOTA);
    assert_int_equal(CHECK(r, "mpB", "fresh", 1), REPLAY_FRESH);
    replay_free(r);
}

static void
test_many_entries_and_mps(void **state)
{
    struct replay *r = replay_new(50000, 60000);
    char jti[32], mp[32];

    /* far past the initial table size: the set grows */
    for (int i = 0; i < 50000; i++) {
        snprintf(jti, sizeof(jti), "jti-%d", i);
        assert_int_equal(CHECK(r, "big", jti, 5), REPLAY_FRESH);
    }
    for (int i = 0; i < 50000; i += 997) {
        snprintf(jti, sizeof(jti), "jti-%d", i);
        assert_int_equal(CHECK(r, "other", jti, 6), REPLAY_SEEN);
    }
    /* many MPs, each with its own count */
    for (int i = 0; i < 500; i++) {
        snprintf(mp, sizeof(mp), "mp-%d", i);
        snprintf(jti, sizeof(jti), "mpjti-%d", i);
        assert_int_equal(CHECK(r, mp, jti, 7), REPLAY_FRESH);
    }
    for (int i = 0; i < 500; i += 50) {
        snprintf(mp, sizeof(mp), "mp-%d", i);
        assert_int_equal(replay_mp_count(r, mp), 1);
    }
    assert_int_equal(replay_mp_count(r, "big"), 50000);
    assert_int_equal(replay_count(r), 50500);
    /* two windows later all of it is gone and its memory given back */
    assert_int_equal(CHECK(r, "big", "jti-0", 200000), REPLAY_FRESH);
    assert_int_equal(replay_count(r), 1);
    replay_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_then_replay),
        cmocka_unit_test(test_remembered_for_a_window_forgotten_after_two),
        cmocka_unit_test(test_quota_is_per_mp),
        cmocka_unit_test(test_add_ignores_the_quota),
        cmocka_unit_test(test_many_entries_and_mps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
