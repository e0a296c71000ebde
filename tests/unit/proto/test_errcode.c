/* errcode: the table, and the problem documents built from it, which must
 * parse back whatever bytes the detail held (issue 10 item 15). */
#include "testutil.h"

#include "errcode.h"

static json_t *
problem(enum errcode e, const char *detail)
{
    char *text = errcode_problem_text(e, detail);
    json_t *doc;

    assert_non_null(text);
    doc = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "code")), errcode_name(e));
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), errcode_status(e));
    return doc;
}

static void
test_problem_document(void **state)
{
    json_t *doc = problem(ERRCODE_PROOF_INVALID, "proof: bad");

    assert_string_equal(json_string_value(json_object_get(doc, "type")),
                        "urn:sitetoken:error:proof_invalid");
    assert_string_equal(json_string_value(json_object_get(doc, "title")),
                        errcode_title(ERRCODE_PROOF_INVALID));
    assert_string_equal(json_string_value(json_object_get(doc, "detail")), "proof: bad");
    json_decref(doc);
    doc = problem(ERRCODE_NOT_FOUND, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "detail")), "");
    json_decref(doc);
}

static void
test_invalid_utf8_detail(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"caf\xc3\xa9", "caf\xc3\xa9"},                       /* valid: kept */
        {"aaa\xc3", "aaa?"},                                  /* cut after the lead byte */
        {"x\xe2\x82", "x??"},                                 /* a 3-byte sequence cut */
        {"\xf0\x9f\x98", "???"},                              /* a 4-byte sequence cut */
        {"\xff\xfe", "??"},                                   /* never UTF-8 */
        {"\xc0\xaf", "??"},                                   /* overlong */
        {"\xed\xa0\x80", "???"},                              /* a surrogate */
        {"\xf4\x90\x80\x80", "????"},                         /* past U+10FFFF */
        {"ok \xf0\x9f\x98\x80 ok", "ok \xf0\x9f\x98\x80 ok"}, /* valid 4-byte */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        json_t *doc;

        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        errcode_utf8_sanitize(buf);
        assert_string_equal(buf, cases[i].out);
        doc = problem(ERRCODE_INVALID_REQUEST, cases[i].in);
        assert_string_equal(json_string_value(json_object_get(doc, "detail")), cases[i].out);
        json_decref(doc);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_document),
        cmocka_unit_test(test_invalid_utf8_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
