/* metrics.c: counters by route and status, histogram buckets, start time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics.h"

static char *
render(struct metrics *m)
{
    struct evbuffer *buf = evbuffer_new();
    size_t len;
    char *text;

    metrics_render(m, buf);
    len = evbuffer_get_length(buf);
    text = malloc(len + 1);
    evbuffer_remove(buf, text, len);
    text[len] = '\0';
    evbuffer_free(buf);
    return text;
}

static void
test_counts_by_route_and_status(void **state)
{
    static const char *const names[] = {"healthz", "keys", "not_found"};
    struct metrics *m = metrics_new(names, 3, 1700000000);
    char *text;

    metrics_request(m, 0, 200, 100);
    metrics_request(m, 0, 200, 3000);
    metrics_request(m, 2, 404, 50);
    metrics_request(m, 7, 200, 50);  /* out of range: ignored */
    metrics_request(m, 1, 9999, 50); /* odd status: only timed */
    text = render(m);
    assert_non_null(strstr(text, "process_start_time_seconds 1700000000\n"));
    assert_non_null(
        strstr(text, "sitetoken_http_requests_total{route=\"healthz\",status=\"200\"} 2\n"));
    assert_non_null(
        strstr(text, "sitetoken_http_requests_total{route=\"not_found\",status=\"404\"} 1\n"));
    assert_null(strstr(text, "route=\"keys\",status"));
    assert_non_null(strstr(
        text,
        "sitetoken_http_request_duration_seconds_bucket{route=\"healthz\",le=\"0.0005\"} 1\n"));
    assert_non_null(
        strstr(text, "sitetoken_http_request_duration_seconds_count{route=\"healthz\"} 2\n"));
    free(text);
    metrics_free(m);
}

static void
test_counter_of_another_module(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    char text[256];
    size_t len;

    metrics_render_counter(buf, "sitetoken_bulkcache_hits_total", "Hits.", 42);
    len = evbuffer_remove(buf, text, sizeof(text) - 1);
    text[len] = '\0';
    assert_string_equal(text, "# HELP sitetoken_bulkcache_hits_total Hits.\n"
                              "# TYPE sitetoken_bulkcache_hits_total counter\n"
                              "sitetoken_bulkcache_hits_total 42\n");
    evbuffer_free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_by_route_and_status),
        cmocka_unit_test(test_counter_of_another_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
