/* proto/cidr.c: parsing (one spelling per range: host bits zero), IPv4 and
 * IPv6 containment, IPv4-mapped addresses, and the list match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"

static void
test_parse(void **state)
{
    static const char *const good[] = {"10.1.0.0/16",     "0.0.0.0/0",     "192.0.2.1",
                                       "192.0.2.1/32",    "2001:db8::/32", "::/0",
                                       "2001:db8::1/128", "10.1.128.0/17"};
    static const char *const bad[] = {
        "10.1.0.1/16",    "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",  "10.0.0.0/016",  "10.0.0/8",
        "2001:db8::/129", "x",           "",          "10.0.0.0/8/8", "2001:db8::1/32"};
    struct cidr c;
    char out[CIDR_TEXT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (cidr_parse(good[i], &c) != 0)
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cidr_parse(bad[i], &c) != -1)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(cidr_parse("2001:0db8:0::/32", &c), 0);
    cidr_format(&c, out);
    assert_string_equal(out, "2001:db8::/32");
    assert_int_equal(cidr_parse("192.0.2.1", &c), 0);
    cidr_format(&c, out);
    assert_string_equal(out, "192.0.2.1/32");
}

static void
test_match(void **state)
{
    const char *list = "10.1.0.0/16,2001:db8::/32,192.0.2.128/25";

    (void)state;
    assert_int_equal(cidr_list_match(list, "10.1.255.255"), 1);
    assert_int_equal(cidr_list_match(list, "10.2.0.0"), 0);
    assert_int_equal(cidr_list_match(list, "192.0.2.128"), 1);
    assert_int_equal(cidr_list_match(list, "192.0.2.127"), 0);
    assert_int_equal(cidr_list_match(list, "2001:db8:ffff::1"), 1);
    assert_int_equal(cidr_list_match(list, "2001:db9::1"), 0);
    assert_int_equal(cidr_list_match(list, "::ffff:10.1.2.3"), 1); /* IPv4-mapped */
    assert_int_equal(cidr_list_match(list, "::10.1.2.3"), 0);
    assert_int_equal(cidr_list_match(list, "10.1.2.3/32"), -1); /* an address, not a range */
    assert_int_equal(cidr_list_match(list, "nonsense"), -1);
    assert_int_equal(cidr_list_match("", "10.1.2.3"), 0);
    assert_int_equal(cidr_list_match("0.0.0.0/0", "203.0.113.9"), 1);
    assert_int_equal(cidr_list_match("0.0.0.0/0", "2001:db8::1"), 0); /* families apart */
    assert_int_equal(cidr_list_match("bad,10.0.0.0/8", "10.0.0.1"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
