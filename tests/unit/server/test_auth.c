/* auth.c: the strict Authorization parser (RFC 9110 11.6.2, RFC 6750 2.1):
 * the scheme in any case, exactly one space, one token68 and nothing else,
 * so one key has one spelling up to the scheme's case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static void
test_accepted_spellings(void **state)
{
    static const char *ok[] = {"Bearer stmp_abc-DEF_123", "bearer stmp_abc-DEF_123",
                               "BEARER stmp_abc-DEF_123", "bEaReR stmp_abc-DEF_123"};
    const char *key = NULL, *why = NULL;
    size_t len = 0;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(auth_bearer_parse(ok[i], &key, &len, &why), 0);
        assert_int_equal(len, strlen("stmp_abc-DEF_123"));
        assert_memory_equal(key, "stmp_abc-DEF_123", len);
    }
    /* every token68 character, and trailing padding */
    assert_int_equal(auth_bearer_parse("Bearer aZ09-._~+/==", &key, &len, &why), 0);
    assert_int_equal(len, strlen("aZ09-._~+/=="));
}

static void
test_refused_spellings(void **state)
{
    static const char *bad[] = {
        NULL,        "",          "Bearer",           "Bearer ",      "Bearer  k",
        " Bearer k", "Bearer\tk", "Bearerk",          "Bearer k ",    "Bearer k k",
        "Bearer k,", "Bearer =k", "Bearer k=x",       "Bearer \"k\"", "Bearer key=k",
        "Basic k",   "Bearerx k", "Bearer k\xc3\xa9", "Bearer k\r\n", "Bear k",
    };
    const char *key = NULL, *why = NULL;
    size_t len = 0;
    char longkey[7 + AUTH_KEY_MAX + 2];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(auth_bearer_parse(bad[i], &key, &len, &why), -1);
        assert_non_null(why);
    }
    /* AUTH_KEY_MAX characters pass, one more does not */
    memcpy(longkey, "Bearer ", 7);
    memset(longkey + 7, 'k', AUTH_KEY_MAX);
    longkey[7 + AUTH_KEY_MAX] = '\0';
    assert_int_equal(auth_bearer_parse(longkey, &key, &len, &why), 0);
    longkey[7 + AUTH_KEY_MAX] = 'k';
    longkey[7 + AUTH_KEY_MAX + 1] = '\0';
    assert_int_equal(auth_bearer_parse(longkey, &key, &len, &why), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_spellings),
        cmocka_unit_test(test_refused_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
