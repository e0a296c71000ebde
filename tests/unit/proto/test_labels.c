/* proto/labels.c: the checks, the canonical form, the merge (the bulk
 * token's value wins, and the overridden keys are reported) and the header
 * form. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "labels.h"

static void
test_check(void **state)
{
    char why[200];
    json_t *o = json_pack("{s:s, s:s}", "ring", "pilot", "site.x-1_y", "Lab 4 (east)");

    (void)state;
    assert_int_equal(labels_check(o, why, sizeof(why)), 0);
    json_object_set_new(o, "Ring", json_string("x"));
    assert_int_equal(labels_check(o, why, sizeof(why)), -1);
    json_decref(o);
    assert_false(labels_value_ok("a,b", 3));
    assert_false(labels_value_ok("a=b", 3));
    assert_false(labels_value_ok("", 0));
    assert_false(labels_value_ok("\x7f", 1));
    assert_false(labels_value_ok("caf\xc3\xa9", 5));
    assert_true(labels_value_ok(" ~", 2));
    assert_false(labels_key_ok("", 0));
    assert_true(
        labels_key_ok("0123456789012345678901234567890123456789012345678901234567890123", 64));
    assert_false(
        labels_key_ok("01234567890123456789012345678901234567890123456789012345678901234", 65));
    o = json_object();
    for (int i = 0; i < 17; i++) {
        char k[8];

        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(o, k, json_string("v"));
    }
    assert_int_equal(labels_check(o, why, sizeof(why)), -1);
    json_decref(o);
    o = json_array();
    assert_int_equal(labels_check(o, why, sizeof(why)), -1);
    json_decref(o);
}

static void
test_canon_parse_header(void **state)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "site", "lab4", "ring", "pilot", "a", "1"), *back;
    char canon[LABELS_TEXT_MAX], hdr[LABELS_TEXT_MAX + LABELS_MAX];

    (void)state;
    labels_canon(o, canon);
    assert_string_equal(canon, "a=1,ring=pilot,site=lab4");
    back = labels_parse(canon);
    assert_true(json_equal(back, o));
    labels_header(canon, hdr, sizeof(hdr));
    assert_string_equal(hdr, "a=1, ring=pilot, site=lab4");
    labels_canon(NULL, canon);
    assert_string_equal(canon, "");
    json_decref(back);
    back = labels_parse("");
    assert_int_equal(json_object_size(back), 0);
    json_decref(back);
    assert_null(labels_parse("novalue"));
    assert_null(labels_parse("A=b"));
    json_decref(o);
}

static void
test_merge(void **state)
{
    char out[LABELS_TEXT_MAX], many[LABELS_TEXT_MAX] = "", more[LABELS_TEXT_MAX] = "";
    json_t *over = NULL;

    (void)state;
    assert_int_equal(labels_merge("site=hq,zone=z1", "ring=pilot,site=lab4", out, &over), 0);
    assert_string_equal(out, "ring=pilot,site=lab4,zone=z1");
    assert_non_null(over);
    assert_string_equal(json_string_value(json_object_get(json_object_get(over, "site"), "mp")),
                        "hq");
    assert_string_equal(json_string_value(json_object_get(json_object_get(over, "site"), "bulk")),
                        "lab4");
    json_decref(over);
    assert_int_equal(labels_merge("site=hq", "site=hq", out, &over), 0);
    assert_null(over); /* the same value overrides nothing */
    assert_int_equal(labels_merge("", "", out, NULL), 0);
    assert_string_equal(out, "");
    for (int i = 0; i < 10; i++) {
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sm%d=v", i ? "," : "", i);
        snprintf(more + strlen(more), sizeof(more) - strlen(more), "%sb%d=v", i ? "," : "", i);
    }
    assert_int_equal(labels_merge(many, more, out, &over), -1); /* 20 pairs */
    assert_null(over);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_canon_parse_header),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
