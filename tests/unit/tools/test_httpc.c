/* httpc: the tools' URL parser (normalised origin and RFC 9449 htu, every
 * refusal) and the failures a request reports without a server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpc.h"

static void
test_url_parse_normalises(void **state)
{
    static const struct {
        const char *url, *host, *path, *origin, *htu;
        int tls, port;
    } v[] = {
        {"http://127.0.0.1:8080", "127.0.0.1", "/", "http://127.0.0.1:8080",
         "http://127.0.0.1:8080/", 0, 8080},
        {"HTTPS://GW.Example.COM/a/b?x=1&y=2#frag", "gw.example.com", "/a/b?x=1&y=2",
         "https://gw.example.com", "https://gw.example.com/a/b", 1, 443},
        {"https://gw.example.com:443/", "gw.example.com", "/", "https://gw.example.com",
         "https://gw.example.com/", 1, 443},
        {"http://gw:80/p", "gw", "/p", "http://gw", "http://gw/p", 0, 80},
        {"https://gw:8443/p?", "gw", "/p", "https://gw:8443", "https://gw:8443/p", 1, 8443},
        {"http://[::1]:9000/x", "::1", "/x", "http://[::1]:9000", "http://[::1]:9000/x", 0, 9000},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct httpc_url u;
        const char *errstr = NULL;

        assert_int_equal(httpc_url_parse(v[i].url, &u, &errstr), 0);
        assert_string_equal(u.host, v[i].host);
        assert_string_equal(u.path, v[i].path);
        assert_string_equal(u.origin, v[i].origin);
        assert_string_equal(u.htu, v[i].htu);
        assert_int_equal(u.tls, v[i].tls);
        assert_int_equal(u.port, v[i].port);
    }
}

static void
test_url_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1:8080",
        "ftp://h/",
        "file:///etc/passwd",
        "http://",
        "http://h:0/",
        "http://h:65536/",
        "http://h:x/",
        "http://user:pw@h/",
        "http://user@h/",
        "gopher://h/",
        "http://h /",
        "//h/",
    };
    char *big = malloc(9000);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct httpc_url u;
        const char *errstr = NULL;

        assert_int_equal(httpc_url_parse(bad[i], &u, &errstr), -1);
        assert_non_null(errstr);
    }
    assert_non_null(big);
    memcpy(big, "http://h/", 9);
    memset(big + 9, 'a', 8990);
    big[8999] = '\0';
    {
        struct httpc_url u;
        const char *errstr = NULL;

        assert_int_equal(httpc_url_parse(big, &u, &errstr), -1);
    }
    free(big);
}

static void
test_request_failures_are_classified(void **state)
{
    struct httpc_target none = {0}, sock = {.unix_path = "/nonexistent/sitetoken/admin.sock"};
    struct httpc_response resp;
    const char *errstr = NULL;

    assert_int_equal(httpc_request(&none, "GET", "/x", NULL, NULL, 0, &resp, &errstr), -1);
    assert_int_equal(resp.fail, HTTPC_FAIL_USAGE);
    assert_null(resp.body);
    httpc_response_free(&resp);

    assert_int_equal(httpc_request(&sock, "GET", "/v1/admin/status", NULL, NULL, 0, &resp, &errstr),
                     -1);
    assert_int_equal(resp.fail, HTTPC_FAIL_CONNECT);
    assert_ptr_equal(errstr, resp.error);
    assert_non_null(strstr(errstr, "No such file"));
    httpc_response_free(&resp);
    assert_string_equal(httpc_fail_name(HTTPC_FAIL_TLS), "TLS failed");
    assert_string_equal(httpc_fail_name((enum httpc_fail)99), "failed");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_normalises),
        cmocka_unit_test(test_url_parse_refuses),
        cmocka_unit_test(test_request_failures_are_classified),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
