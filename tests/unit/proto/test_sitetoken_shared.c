/* libsitetoken as a gateway sees it: only <sitetoken.h>, linked against the
 * shared library, verifying tokens minted by an independent implementation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixed_tokens.h"
#include "sitetoken.h"

static struct sitetoken_verifier *
verifier(void)
{
    struct sitetoken_verifier *v =
        sitetoken_verifier_new("urn:sitetoken:PS1", "urn:sitetoken:gateway", 300);
    const char *err = NULL;

    assert_non_null(v);
    assert_int_equal(sitetoken_verifier_load_jwks(v, FIXED_JWKS, strlen(FIXED_JWKS), &err), 0);
    assert_int_equal(sitetoken_verifier_key_count(v), 1);
    return v;
}

static void
test_client(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_claims c;

    assert_int_equal(sitetoken_verify(v, FIXED_CLIENT, strlen(FIXED_CLIENT), SITETOKEN_KIND_CLIENT,
                                      FIXED_IAT + 86400, &c),
                     SITETOKEN_OK);
    assert_string_equal(c.sub, "GUID:0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_string_equal(c.jti, "q8Uq0m3n2hV1lYFf8k2Q9A");
    assert_string_equal(c.jkt, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_string_equal(c.site, "PS1");
    assert_string_equal(c.kid, "rfc8037");
    assert_int_equal(c.iat, FIXED_IAT);
    assert_int_equal(c.exp, FIXED_IAT + 90 * 86400);
    assert_int_equal(c.gen, 1);
    assert_int_equal(c.kind, SITETOKEN_KIND_CLIENT);
    /* past expiry plus skew */
    assert_int_equal(sitetoken_verify(v, FIXED_CLIENT, strlen(FIXED_CLIENT), SITETOKEN_KIND_CLIENT,
                                      FIXED_IAT + 90 * 86400 + 300, &c),
                     SITETOKEN_E_TOKEN_EXPIRED);
    assert_string_equal(c.sub, "");
    sitetoken_verifier_free(v);
}

static void
test_access(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_claims c;

    assert_int_equal(sitetoken_verify(v, FIXED_ACCESS, strlen(FIXED_ACCESS), SITETOKEN_KIND_ACCESS,
                                      FIXED_IAT + 60, &c),
                     SITETOKEN_OK);
    assert_int_equal(c.kind, SITETOKEN_KIND_ACCESS);
    assert_int_equal(c.gen, -1);
    assert_int_equal(sitetoken_verify(v, FIXED_ACCESS, strlen(FIXED_ACCESS), SITETOKEN_KIND_CLIENT,
                                      FIXED_IAT + 60, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    assert_int_equal(sitetoken_verify(v, FIXED_ACCESS, strlen(FIXED_ACCESS), SITETOKEN_KIND_ACCESS,
                                      FIXED_IAT - 301, &c),
                     SITETOKEN_E_TOKEN_NOT_YET_VALID);
    sitetoken_verifier_free(v);
}

static void
test_bulk_refused(void **state)
{
    struct sitetoken_verifier *v = verifier();
    struct sitetoken_claims c;

    assert_int_equal(sitetoken_verify(v, FIXED_BULK, strlen(FIXED_BULK), SITETOKEN_KIND_CLIENT,
                                      FIXED_IAT + 60, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    assert_int_equal(sitetoken_verify(v, FIXED_BULK, strlen(FIXED_BULK), SITETOKEN_KIND_ACCESS,
                                      FIXED_IAT + 60, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    /* there is no bulk kind in the library */
    assert_int_equal(sitetoken_verify(v, FIXED_BULK, strlen(FIXED_BULK), 0, FIXED_IAT + 60, &c),
                     SITETOKEN_E_INVALID_REQUEST);
    sitetoken_verifier_free(v);
}

static void
test_wrong_verifier(void **state)
{
    struct sitetoken_verifier *v =
        sitetoken_verifier_new("urn:sitetoken:PS2", "urn:sitetoken:gateway", 300);
    struct sitetoken_claims c;

    assert_int_equal(sitetoken_verify(v, FIXED_ACCESS, strlen(FIXED_ACCESS), SITETOKEN_KIND_ACCESS,
                                      FIXED_IAT, &c),
                     SITETOKEN_E_UNKNOWN_KEY); /* no keys loaded yet */
    assert_int_equal(sitetoken_verifier_load_jwks(v, FIXED_JWKS, strlen(FIXED_JWKS), NULL), 0);
    assert_int_equal(sitetoken_verify(v, FIXED_ACCESS, strlen(FIXED_ACCESS), SITETOKEN_KIND_ACCESS,
                                      FIXED_IAT, &c),
                     SITETOKEN_E_WRONG_TOKEN_TYPE);
    sitetoken_verifier_free(v);
}

static void
test_error_names(void **state)
{
    assert_string_equal(sitetoken_error_name(SITETOKEN_OK), "ok");
    assert_string_equal(sitetoken_error_name(SITETOKEN_E_TOKEN_EXPIRED), "token_expired");
    assert_string_equal(sitetoken_error_name(SITETOKEN_E_UNKNOWN_KEY), "unknown_key");
    assert_string_equal(sitetoken_error_name(99), "unavailable");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client),       cmocka_unit_test(test_access),
        cmocka_unit_test(test_bulk_refused), cmocka_unit_test(test_wrong_verifier),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
