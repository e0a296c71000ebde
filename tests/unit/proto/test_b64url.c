/* b64url: round trips, RFC 4648 vectors, and every refusal of the strict decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64url.h"

static void
test_vectors(void **state)
{
    static const struct {
        const char *raw, *enc;
    } v[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *enc = b64url_encode(v[i].raw, strlen(v[i].raw));
        uint8_t *dec;
        size_t n;

        assert_non_null(enc);
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(b64url_encoded_len(strlen(v[i].raw)), strlen(v[i].enc));
        assert_int_equal(b64url_decode(enc, strlen(enc), &dec, &n), 0);
        assert_int_equal(n, strlen(v[i].raw));
        assert_memory_equal(dec, v[i].raw, n);
        free(enc);
        free(dec);
    }
}

static void
test_url_alphabet(void **state)
{
    const uint8_t raw[] = {0xfb, 0xff, 0xbf};
    char *enc = b64url_encode(raw, sizeof(raw));
    uint8_t out[3];
    size_t n;

    assert_string_equal(enc, "-_-_");
    assert_int_equal(b64url_decode_buf("-_-_", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, raw, 3);
    free(enc);
}

static void
test_round_trip_all_lengths(void **state)
{
    uint8_t raw[300], *dec;
    size_t n;

    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(raw); len++) {
        char *enc = b64url_encode(raw, len);

        assert_non_null(enc);
        assert_int_equal(strlen(enc), b64url_encoded_len(len));
        assert_true(b64url_decoded_max(strlen(enc)) >= len);
        assert_int_equal(b64url_decode(enc, strlen(enc), &dec, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, raw, len);
        free(enc);
        free(dec);
    }
}

static void
test_refusals(void **state)
{
    static const char *bad[] = {
        "Zg==",        /* padding */
        "Zg=",         /* padding */
        "Zm9v=",       /* padding after a full quantum */
        "Zm+v",        /* standard alphabet */
        "Zm/v",        /* standard alphabet */
        "Zm 9v",       /* whitespace */
        "Zm9v\n",      /* newline */
        "Z",           /* length 1 mod 4 */
        "Zm9vY",       /* length 1 mod 4 */
        "Zh",          /* non-zero tail bits (canonical: Zg) */
        "Zm8",         /* fine: canonical for "fo" */
        "Zm8B",        /* fine: full quantum */
        "Zm9=",        /* '=' */
        "Zm*v",        /* punctuation */
        "Zm\xc3\xa9v", /* non-ASCII */
    };
    static const int ok[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    uint8_t *out;
    size_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = b64url_decode(bad[i], strlen(bad[i]), &out, &n);

        assert_int_equal(rc, ok[i] ? 0 : -1);
        if (rc == 0)
            free(out);
    }
    /* Non-canonical tail bits for a 2-byte tail: "Zm8" is "fo", "Zm9" is not. */
    assert_int_equal(b64url_decode("Zm9", 3, &out, &n), -1);
    assert_int_equal(b64url_decode("Zm-", 3, &out, &n), -1);
    /* Embedded NUL inside the given length. */
    assert_int_equal(b64url_decode("Zm\0v", 4, &out, &n), -1);
}

static void
test_decode_buf_bounds(void **state)
{
    uint8_t out[6];
    size_t n;

    assert_int_equal(b64url_decode_buf("Zm9vYmFy", 8, out, 6, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(b64url_decode_buf("Zm9vYmFy", 8, out, 5, &n), -1);
    assert_int_equal(b64url_decode_buf("Zm9vYmE", 7, out, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(b64url_decode_buf("", 0, out, 0, &n), 0);
    assert_int_equal(n, 0);
}

static void
test_encode_buf(void **state)
{
    char out[5];

    assert_int_equal(b64url_encode_buf("foo", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "Zm9v");
    assert_int_equal(b64url_encode_buf("foo", 3, out, 4), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_round_trip_all_lengths),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_decode_buf_bounds),
        cmocka_unit_test(test_encode_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
