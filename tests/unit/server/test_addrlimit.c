/* addrlimit.c: addresses key by bytes (IPv4 alone, IPv6 per /64, mapped
 * IPv4 as IPv4); rate buckets burst, refill and say when to come back; a
 * refusal budget is checked without spending and charged on refusal; stream
 * counts cap per address and come back on release; a table flooded with
 * addresses stays bounded and never resets a live count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "addrlimit.h"

#define SEC 1000000

static struct addrlimit_addr
v4(const char *s)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct addrlimit_addr a;

    assert_int_equal(inet_pton(AF_INET, s, &sin.sin_addr), 1);
    assert_int_equal(addrlimit_addr_from((struct sockaddr *)&sin, &a), 0);
    return a;
}

static struct addrlimit_addr
v6(const char *s)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    struct addrlimit_addr a;

    assert_int_equal(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1);
    assert_int_equal(addrlimit_addr_from((struct sockaddr *)&sin6, &a), 0);
    return a;
}

static void
test_addresses(void **state)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct addrlimit_addr a, b;

    a = v4("127.0.0.1");
    b = v4("127.0.0.2");
    assert_memory_not_equal(&a, &b, sizeof(a));
    /* one /64 is one key; the next /64 is another */
    a = v6("2001:db8:1:2:aaaa::1");
    b = v6("2001:db8:1:2:bbbb:cccc:dddd:eeee");
    assert_memory_equal(&a, &b, sizeof(a));
    b = v6("2001:db8:1:3::1");
    assert_memory_not_equal(&a, &b, sizeof(a));
    /* an IPv4-mapped address is that IPv4 host */
    a = v6("::ffff:10.0.0.1");
    b = v4("10.0.0.1");
    assert_memory_equal(&a, &b, sizeof(a));
    b = v6("::ffff:10.0.0.2");
    assert_memory_not_equal(&a, &b, sizeof(a));
    assert_int_equal(addrlimit_addr_from((struct sockaddr *)&sun, &a), -1);
    assert_int_equal(addrlimit_addr_from(NULL, &a), -1);
}

static void
test_rate_burst_refill_retry(void **state)
{
    struct addrlimit *al = addrlimit_new(64);
    struct addrlimit_addr a = v4("192.0.2.1"), b = v4("192.0.2.2");
    int retry = 0;

    /* unlimited until configured */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, 0, &retry), 0);
    addrlimit_set_rate(al, ADDRLIMIT_PUBLIC, 60, 3); /* one a second, three at once */
    for (int i = 0; i < 3; i++)
        assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, 0, &retry), 0);
    assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, 0, &retry), -1);
    assert_int_equal(retry, 1);
    assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &b, 0, &retry), 0);
    assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, SEC / 2, &retry), -1);
    assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, SEC + 1, &retry), 0);
    /* a long pause refills to the burst, not beyond */
    for (int i = 0; i < 3; i++)
        assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, 3600LL * SEC, &retry), 0);
    assert_int_equal(addrlimit_take(al, ADDRLIMIT_PUBLIC, &a, 3600LL * SEC, &retry), -1);
    /* kinds are apart */
    assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &a, 0, &retry), 0);
    addrlimit_free(al);
}

static void
test_refusal_budget(void **state)
{
    struct addrlimit *al = addrlimit_new(64);
    struct addrlimit_addr a = v4("198.51.100.7"), b = v4("198.51.100.8");
    int retry = 0;

    addrlimit_set_rate(al, ADDRLIMIT_FAILED_AUTH, 2, 0); /* two a minute */
    for (int i = 0; i < 10; i++)                         /* checking spends nothing */
        assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &a, 0, &retry), 0);
    addrlimit_charge(al, ADDRLIMIT_FAILED_AUTH, &a, 0);
    assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &a, 0, &retry), 0);
    addrlimit_charge(al, ADDRLIMIT_FAILED_AUTH, &a, 0);
    addrlimit_charge(al, ADDRLIMIT_FAILED_AUTH, &a, 0); /* never below empty */
    assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &a, 0, &retry), -1);
    assert_int_equal(retry, 30); /* one unit comes back in half a minute */
    assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &b, 0, &retry), 0);
    assert_int_equal(addrlimit_check(al, ADDRLIMIT_FAILED_AUTH, &a, 30LL * SEC, &retry), 0);
    addrlimit_free(al);
}

static void
test_stream_counts(void **state)
{
    struct addrlimit *al = addrlimit_new(64);
    struct addrlimit_addr a = v4("203.0.113.1"), b = v4("203.0.113.2");

    addrlimit_set_count(al, ADDRLIMIT_STREAMS, 2);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), 0);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), 0);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), -1);
    assert_int_equal(addrlimit_held(al, ADDRLIMIT_STREAMS, &a), 2);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &b), 0);
    addrlimit_release(al, ADDRLIMIT_STREAMS, &a);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), 0);
    addrlimit_release(al, ADDRLIMIT_STREAMS, &a);
    addrlimit_release(al, ADDRLIMIT_STREAMS, &a);
    addrlimit_release(al, ADDRLIMIT_STREAMS, &a); /* one too many: harmless */
    assert_int_equal(addrlimit_held(al, ADDRLIMIT_STREAMS, &a), 0);
    assert_int_equal(addrlimit_held(al, ADDRLIMIT_STREAMS, &b), 1);
    addrlimit_free(al);
}

static void
test_flood_is_bounded(void **state)
{
    struct addrlimit *al = addrlimit_new(64);
    struct addrlimit_addr a = v4("10.1.1.1"), x;
    int retry = 0, refused = 0;
    char buf[32];

    addrlimit_set_rate(al, ADDRLIMIT_FAILED_AUTH, 1, 1);
    addrlimit_set_count(al, ADDRLIMIT_STREAMS, 1);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), 0);
    /* 100,000 addresses through a 64-slot table: a live count survives */
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof(buf), "10.2.%d.%d", (i >> 8) & 255, i & 255);
        x = v4(buf);
        addrlimit_charge(al, ADDRLIMIT_FAILED_AUTH, &x, 0);
        if (addrlimit_acquire(al, ADDRLIMIT_STREAMS, &x) == -1)
            refused++;
    }
    assert_true(refused > 0); /* no room: newcomers refused, nothing grew */
    assert_int_equal(addrlimit_held(al, ADDRLIMIT_STREAMS, &a), 1);
    assert_int_equal(addrlimit_acquire(al, ADDRLIMIT_STREAMS, &a), -1);
    (void)retry;
    addrlimit_free(al);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),        cmocka_unit_test(test_rate_burst_refill_retry),
        cmocka_unit_test(test_refusal_budget),   cmocka_unit_test(test_stream_counts),
        cmocka_unit_test(test_flood_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
