/* log.c: level names, the quoting of values in key=value lines, the redaction
 * of problem details, and json lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static void
test_detail_redacts_secrets(void **state)
{
    char buf[256];
    const char *jws = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    assert_string_equal(log_detail("hardware_id: required", buf, sizeof(buf)),
                        "\"hardware_id: required\"");
    snprintf(buf, sizeof(buf), "%s: unknown field", jws);
    char in[256];
    snprintf(in, sizeof(in), "%s", buf);
    assert_string_equal(log_detail(in, buf, sizeof(buf)), "\"[redacted]: unknown field\"");
    assert_string_equal(
        log_detail("key stmp_T4VDFJgII67YYbLkd5DJbUDPX6EI4IrVrYj-WM3YlSs bad", buf, sizeof(buf)),
        "\"key [redacted] bad\"");
    /* ids stay: a UUID is 36 characters */
    assert_string_equal(
        log_detail("no such device 595ddc2e-edfd-484e-aebf-b7f3856aeaff", buf, sizeof(buf)),
        "\"no such device 595ddc2e-edfd-484e-aebf-b7f3856aeaff\"");
    assert_string_equal(log_detail("plain", buf, sizeof(buf)), "plain");
}

/* Runs one log_info with stderr on a pipe; returns what was written. */
static void
capture_line(char *out, size_t n, const char *value)
{
    int fds[2], saved = dup(STDERR_FILENO);
    ssize_t got;
    char q[128];

    assert_int_equal(pipe(fds), 0);
    dup2(fds[1], STDERR_FILENO);
    log_info("event=test v=%s n=3 msg", log_quote(value, q, sizeof(q)));
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    got = read(fds[0], out, n - 1);
    close(fds[0]);
    out[got > 0 ? got : 0] = '\0';
}

static void
test_json_lines(void **state)
{
    char line[1024];

    log_set_level(LOG_LEVEL_INFO);
    log_set_format(LOG_FORMAT_JSON);
    capture_line(line, sizeof(line), "a \"b\"\n\\c=d");
    log_set_format(LOG_FORMAT_LOGFMT);
    assert_non_null(strstr(line, "{\"ts\":\""));
    assert_non_null(strstr(line, ",\"level\":\"info\",\"event\":\"test\","));
    assert_non_null(strstr(line, ",\"v\":\"a \\\"b\\\"\\u000a\\\\c=d\","));
    assert_non_null(strstr(line, ",\"n\":\"3\",\"msg\":\"msg\"}\n"));
    capture_line(line, sizeof(line), "x y");
    assert_non_null(strstr(line, " level=info event=test v=\"x y\" n=3 msg\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_detail_redacts_secrets),
        cmocka_unit_test(test_json_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
