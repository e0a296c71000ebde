/* Unit tests for server/config_duration.c: durations read and written back, their errors, and
 * the duration keys' messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "test_config_util.h"

/* ---- durations ---- */

static void
test_duration_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"90d 8h 5m 0s", 90 * DAY + 8 * HOUR + 5 * MIN},
        {"2ms", 2},
        {"10080m", 10080 * MIN},
        {"0s", 0},
        {"1h30m", 90 * MIN},
        {"1d  2h", DAY + 2 * HOUR},
        {"1s 500ms", 1500},
        {"106751991167d", 106751991167LL * DAY},
        {"9223372036854775807ms", INT64_MAX},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        const char *err = NULL;
        if (config_parse_duration(cases[i].s, &ms, &err) != 0)
            fail_msg("%s: %s", cases[i].s, err);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void
test_duration_invalid(void **state)
{
    static const struct {
        const char *s, *err;
    } cases[] = {
        {"5", "missing unit"},
        {"5x", "unknown unit"},
        {"5 m", "missing unit"},
        {"1h 2h", "a unit appears twice"},
        {"1m 1h", "units must go from largest to smallest"},
        {"1ms 1s", "units must go from largest to smallest"},
        {"106751991168d", "duration too large"},
        {"99999999999999999999s", "duration too large"},
        {"9223372036854775807ms 1ms", "a unit appears twice"},
        {"9223372036854775s 808ms", "duration too large"},
        {"106751991167d 1d", "a unit appears twice"},
        {"106751991167d 23h 100m", "duration too large"},
        {"", "empty duration"},
        {"   ", "empty duration"},
        {"-5m", "expected a number"},
        {"5m,", "expected a number"},
        {"5M", "missing unit"},
        {"h", "expected a number"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 12345;
        const char *err = NULL;
        if (config_parse_duration(cases[i].s, &ms, &err) != -1)
            fail_msg("\"%s\" was accepted", cases[i].s);
        assert_non_null(err);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("\"%s\": got \"%s\", wanted \"%s\"", cases[i].s, err, cases[i].err);
        assert_int_equal(ms, 12345); /* untouched on failure */
    }
}

static void
test_duration_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "0s"},
        {2, "2ms"},
        {90 * DAY, "90d"},
        {4320 * MIN, "3d"},
        {DAY + 8 * HOUR + 5 * MIN + 1, "1d 8h 5m 1ms"},
        {-90 * MIN, "-1h 30m"},
    };
    char buf[64];
    int64_t back;
    const char *err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_format_duration(cases[i].ms, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
        if (cases[i].ms >= 0) {
            assert_int_equal(config_parse_duration(buf, &back, &err), 0);
            assert_int_equal(back, cases[i].ms);
        }
    }
    config_format_duration(INT64_MIN, buf, sizeof(buf)); /* no overflow */
    assert_int_equal(buf[0], '-');
    config_format_duration(90 * DAY + 1, buf, 4); /* truncated, terminated */
    assert_string_equal(buf, "90d");
}

static void
test_duration_keys(void **state)
{
    struct config cfg;

    expect_error("tokens:\n  bulk_max_lifetime: 5\n",
                 "t.yaml:2: tokens.bulk_max_lifetime: \"5\" has no unit (did you mean 5m?)");
    expect_error("keys:\n  rotation_period: 30\n",
                 "t.yaml:2: keys.rotation_period: \"30\" has no unit (did you mean 30d?)");
    expect_error("store:\n  commit_delay: 5x\n",
                 "t.yaml:2: store.commit_delay: \"5x\": unknown unit");
    expect_error("tokens: {clock_skew: 1m 1h}\n",
                 "t.yaml:1: tokens.clock_skew: \"1m 1h\": units must go from largest");
    expect_ok(&cfg, "store: {commit_delay: 0s, busy_timeout: 0s}\ntokens: {clock_skew: 0s}\n");
    assert_int_equal(cfg.commit_delay_ms, 0);
    assert_int_equal(cfg.clock_skew_ms, 0);
    config_free(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_valid),
        cmocka_unit_test(test_duration_invalid),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
