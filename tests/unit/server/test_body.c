/* body.c: field tables refuse unknown, missing, mistyped, oversized and
 * control-character values, and name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "body.h"

static const struct body_field fields[] = {
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = 8},
    {.name = "token", .type = BODY_TOKEN, .max = 16},
    {.name = "n", .type = BODY_INT, .min = 1, .imax = 10},
    {.name = "now", .type = BODY_BOOL},
};

static int
check(const char *json, char *why)
{
    json_t *doc = json_loads(json, 0, NULL);
    int rc;

    assert_non_null(doc);
    rc = body_check(doc, fields, 4, why, 160);
    json_decref(doc);
    return rc;
}

static void
test_accepts(void **state)
{
    char why[160];

    assert_int_equal(check("{\"name\":\"abc\"}", why), 0);
    assert_int_equal(check("{\"name\":\"\\u00e9t\\u00e9\",\"token\":\"a.b-c_d\",\"n\":10,"
                           "\"now\":true}",
                           why),
                     0);
    assert_int_equal(check("{\"name\":\"x\",\"token\":null}", why), 0);
}

static void
test_refusals_name_the_field(void **state)
{
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{}", "name: required"},
        {"{\"name\":null}", "name: required"},
        {"{\"name\":\"\"}", "name: must be 1 to 8 bytes"},
        {"{\"name\":\"123456789\"}", "name: must be 1 to 8 bytes"},
        {"{\"name\":5}", "name: must be a string"},
        {"{\"name\":\"a\\u0001\"}", "name: control"},
        {"{\"name\":\"a\\u0085\"}", "name: control"},
        {"{\"name\":\"a\",\"token\":\"a b\"}", "token: not a compact JWS"},
        {"{\"name\":\"a\",\"n\":0}", "n: must be an integer from 1 to 10"},
        {"{\"name\":\"a\",\"n\":1.5}", "n: must be an integer"},
        {"{\"name\":\"a\",\"now\":1}", "now: must be true or false"},
        {"{\"name\":\"a\",\"colour\":\"red\"}", "colour: unknown field"},
    };
    char why[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(check(cases[i].json, why), -1);
        if (strstr(why, cases[i].field) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].json, why, cases[i].field);
    }
}

static void
test_accessors(void **state)
{
    json_t *doc = json_loads("{\"s\":\"v\",\"i\":7}", 0, NULL);

    assert_string_equal(body_str(doc, "s"), "v");
    assert_null(body_str(doc, "i"));
    assert_int_equal(body_int(doc, "i", 3), 7);
    assert_int_equal(body_int(doc, "s", 3), 3);
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
