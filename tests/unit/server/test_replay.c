/* replay.c: first sightings pass, replays are caught for at least the window,
 * entries are forgotten after two windows, and a full cache refuses rather
 * than forgets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

static void
test_first_then_replay(void **state)
{
    struct replay *r = replay_new(100, 1000);

    assert_int_equal(replay_check(r, "a", 1, 0), 0);
    assert_int_equal(replay_check(r, "b", 1, 10), 0);
    assert_int_equal(replay_check(r, "a", 1, 20), 1);
    assert_int_equal(replay_check(r, "ab", 2, 20), 0); /* not a prefix match */
    assert_int_equal(replay_count(r), 3);
    replay_free(r);
}

static void
test_remembered_for_a_window_forgotten_after_two(void **state)
{
    struct replay *r = replay_new(100, 1000);

    assert_int_equal(replay_check(r, "x", 1, 0), 0);
    assert_int_equal(replay_check(r, "y", 1, 999), 0);    /* late in generation 1 */
    assert_int_equal(replay_check(r, "x", 1, 1500), 1);   /* previous generation */
    assert_int_equal(replay_check(r, "y", 1, 1998), 1);   /* y kept >= one window */
    assert_int_equal(replay_check(r, "x", 1, 2500), 0);   /* two windows on: forgotten */
    assert_int_equal(replay_check(r, "z", 1, 100000), 0); /* long idle: both cleared */
    assert_int_equal(replay_check(r, "x", 1, 100001), 0);
    replay_free(r);
}

static void
test_full_refuses(void **state)
{
    struct replay *r = replay_new(4, 1000);
    char jti[16];

    for (int i = 0; i < 4; i++) {
        snprintf(jti, sizeof(jti), "j%d", i);
        assert_int_equal(replay_check(r, jti, strlen(jti), 0), 0);
    }
    assert_int_equal(replay_check(r, "new", 3, 0), -1);
    assert_int_equal(replay_check(r, "j2", 2, 0), 1);     /* still caught when full */
    assert_int_equal(replay_check(r, "new", 3, 1000), 0); /* the next generation has room */
    replay_free(r);
}

static void
test_many_entries(void **state)
{
    struct replay *r = replay_new(50000, 60000);
    char jti[32];

    for (int i = 0; i < 50000; i++) {
        snprintf(jti, sizeof(jti), "jti-%d", i);
        assert_int_equal(replay_check(r, jti, strlen(jti), 5), 0);
    }
    for (int i = 0; i < 50000; i += 997) {
        snprintf(jti, sizeof(jti), "jti-%d", i);
        assert_int_equal(replay_check(r, jti, strlen(jti), 6), 1);
    }
    replay_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_then_replay),
        cmocka_unit_test(test_remembered_for_a_window_forgotten_after_two),
        cmocka_unit_test(test_full_refuses),
        cmocka_unit_test(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
