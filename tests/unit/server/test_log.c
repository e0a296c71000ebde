/* log.c: level names and the quoting of values in key=value lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static void
test_level_names(void **state)
{
    assert_int_equal(log_level_from_name("error"), LOG_LEVEL_ERROR);
    assert_int_equal(log_level_from_name("debug"), LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_from_name("verbose"), -1);
    assert_int_equal(log_level_from_name(NULL), -1);
    log_set_level(LOG_LEVEL_WARN);
    assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
}

static void
test_quote(void **state)
{
    char buf[64];

    assert_string_equal(log_quote("plain", buf, sizeof(buf)), "plain");
    assert_string_equal(log_quote("two words", buf, sizeof(buf)), "\"two words\"");
    assert_string_equal(log_quote("a\"b", buf, sizeof(buf)), "\"a\\\"b\"");
    assert_string_equal(log_quote("k=v", buf, sizeof(buf)), "\"k=v\"");
    assert_string_equal(log_quote("nl\n", buf, sizeof(buf)), "\"nl\\x0a\"");
    assert_string_equal(log_quote("", buf, sizeof(buf)), "\"\"");
    assert_string_equal(log_quote(NULL, buf, sizeof(buf)), "\"\"");
    /* never overflows: a long value is cut, still quoted */
    char small[8];
    const char *q = log_quote("a b c d e f g h", small, sizeof(small));
    assert_true(strlen(q) < sizeof(small));
    assert_int_equal(q[0], '"');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
