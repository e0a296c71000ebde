/* routes.c: exact and {} matches, method mismatch, decoding and bounds of
 * captured segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "routes.h"

static int
find(const char *name)
{
    for (int i = 0; i < routes_count; i++)
        if (strcmp(routes_table[i].name, name) == 0)
            return i;
    return -1;
}

static void
test_exact_and_misses(void **state)
{
    char params[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN];

    assert_int_equal(routes_match(ROUTE_GET, "/healthz", params, HTTP_MAX_PARAMS), find("healthz"));
    assert_int_equal(routes_match(ROUTE_GET, "/healthz/", params, HTTP_MAX_PARAMS), -1);
    assert_int_equal(routes_match(ROUTE_GET, "/health", params, HTTP_MAX_PARAMS), -1);
    assert_int_equal(routes_match(ROUTE_GET, "/", params, HTTP_MAX_PARAMS), -1);
    assert_int_equal(routes_match(ROUTE_POST, "/healthz", params, HTTP_MAX_PARAMS), -2);
    assert_int_equal(routes_match(ROUTE_DELETE, "/metrics", params, HTTP_MAX_PARAMS), -2);
}

static void
test_names_have_not_found_last(void **state)
{
    const char *const *names = routes_names();

    assert_int_equal(routes_not_found_id(), routes_count);
    assert_string_equal(names[routes_count], "not_found");
    for (int i = 0; i < routes_count; i++) {
        assert_non_null(routes_table[i].handler);
        assert_string_equal(names[i], routes_table[i].name);
    }
}

static void
test_every_pattern_matches_itself(void **state)
{
    char params[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN];

    for (int i = 0; i < routes_count; i++) {
        char path[256];
        const char *p = routes_table[i].pattern;
        size_t o = 0;

        while (*p != '\0' && o < sizeof(path) - 8) {
            if (p[0] == '{' && p[1] == '}') {
                memcpy(path + o, "GUID%3Aab", 9);
                o += 9;
                p += 2;
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = '\0';
        int m = routes_match(routes_table[i].method, path, params, HTTP_MAX_PARAMS);
        assert_true(m >= 0);
        assert_string_equal(routes_table[m].pattern, routes_table[i].pattern);
        if (strstr(routes_table[i].pattern, "{}") != NULL)
            assert_string_equal(params[0], "GUID:ab");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_misses),
        cmocka_unit_test(test_names_have_not_found_last),
        cmocka_unit_test(test_every_pattern_matches_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
