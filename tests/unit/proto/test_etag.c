/* proto/etag.c: the published documents' ETags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "etag.h"

static void
test_etag(void **state)
{
    char a[ETAG_LEN], b[ETAG_LEN], c[ETAG_LEN];

    (void)state;
    /* SHA-256("abc") = ba7816bf 8f01cfea ...: its first 16 bytes, base64url. */
    etag_of(NULL, "abc", 3, a);
    assert_string_equal(a, "\"ungWv48Bz-pBQUDeXa4iIw\"");
    etag_of("j", "abc", 3, b);
    assert_string_equal(b + 2, a + 1); /* the same hash, after the prefix */
    assert_int_equal(b[1], 'j');
    etag_of("j", "abd", 3, c);
    assert_string_not_equal(b, c);
    etag_of("toolongprefix", "abc", 3, c);
    assert_int_equal(strlen(c), 2 + 8 + 22);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
