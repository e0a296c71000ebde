/* libsitetoken's DPoP parts and the revocation cache fixes: URL
 * normalisation, the replay cache that refuses when full, entries held until
 * expires_at + skew across a full load, and full loads that roll back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dpop.h"
#include "sitetoken.h"

static void
test_normalise(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"HTTP://Example.COM:80/a/./b/../c?q=1#f", "http://example.com/a/c"},
        {"https://h:443", "https://h/"},
        {"https://h:8443/%7euser/%2f%41", "https://h:8443/~user/%2FA"},
        {"http://h:/x/%aa", "http://h/x/%AA"},
        {"http://[::1]:9180/auth/..", "http://[::1]:9180/"},
        {"http://h/a/b/../../../c", "http://h/c"},
    };
    static const char *const bad[] = {"ftp://h/",        "http://u@h/", "http://h/%zz", "http:/h",
                                      "http://h:99999/", "http://h /",  "//h/x",        ""};
    char out[DPOP_URL_MAX + 1];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(dpop_normalise_url(ok[i].in, strlen(ok[i].in), out, sizeof(out)), 0);
        assert_string_equal(out, ok[i].out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dpop_normalise_url(bad[i], strlen(bad[i]), out, sizeof(out)), -1);
    assert_true(dpop_typ_is("application/DPoP+JWT", "dpop+jwt"));
    assert_true(dpop_typ_is("dpop+jwt", "dpop+jwt"));
    assert_false(dpop_typ_is("sitetoken-proof+jwt", "dpop+jwt"));
    assert_false(dpop_typ_is(NULL, "dpop+jwt"));
}

static void
test_replay_full_refuses(void **state)
{
    struct dpop_replay *r = dpop_replay_new(1000);
    char jti[32];

    assert_non_null(r);
    assert_int_equal(dpop_replay_check(r, "k", "a", 200, 100), ERRCODE_OK);
    assert_int_equal(dpop_replay_check(r, "k", "a", 200, 150), ERRCODE_PROOF_REPLAYED);
    assert_int_equal(dpop_replay_check(r, "other", "a", 200, 150), ERRCODE_OK); /* per key */
    for (int i = 0; i < 998; i++) {
        snprintf(jti, sizeof(jti), "j%d", i);
        assert_int_equal(dpop_replay_check(r, "k", jti, 200, 100), ERRCODE_OK);
    }
    /* full of live entries: refuse, and never forget one early */
    assert_int_equal(dpop_replay_check(r, "k", "new", 200, 150), ERRCODE_RATE_LIMITED);
    assert_int_equal(dpop_replay_check(r, "k", "j5", 200, 199), ERRCODE_PROOF_REPLAYED);
    assert_int_equal(dpop_replay_check(r, "k", "a", 200, 199), ERRCODE_PROOF_REPLAYED);
    /* once they expire, room again */
    assert_int_equal(dpop_replay_check(r, "k", "new", 400, 200), ERRCODE_OK);
    assert_int_equal(dpop_replay_count(r, 200), 1);
    dpop_replay_free(r);
}

#define E(serial, kind, id, exp)                                                                   \
    "{\"serial\":" #serial ",\"kind\":\"" kind "\",\"id\":\"" id                                   \
    "\",\"revoked_at\":\"2026-01-01T00:00:00Z\",\"expires_at\":\"" exp "\"}"
#define T2030 1893456000LL

static void
test_revocations_fixes(void **state)
{
    struct sitetoken_revocations *r = sitetoken_revocations_new();
    struct sitetoken_claims c;
    const char *err = NULL;
    const char d1[] =
        "{\"serial\":5,\"entries\":[" E(5, "token", "t1", "2030-01-01T00:00:00Z") "]}";
    const char d_empty[] = "{\"serial\":6,\"entries\":[]}";
    const char d_old[] = "{\"serial\":4,\"entries\":[]}";
    const char unk[] = E(7, "family", "f1", "2030-01-01T00:00:00Z");

    memset(&c, 0, sizeof(c));
    strcpy(c.jti, "t1");
    sitetoken_revocations_set_skew(r, 300);
    assert_int_equal(sitetoken_revocations_load_at(r, d1, strlen(d1), 1, T2030 - 10, &err), 0);
    /* (a) the authority drops the expired entry from its feed; the cache
     * keeps it until expires_at + skew, while the token is still accepted */
    assert_int_equal(sitetoken_revocations_load_at(r, d_empty, strlen(d_empty), 1, T2030 + 1, &err),
                     0);
    assert_int_equal(sitetoken_revocations_check(r, &c, T2030 + 299), SITETOKEN_E_TOKEN_REVOKED);
    assert_int_equal(sitetoken_revocations_check(r, &c, T2030 + 300), SITETOKEN_OK);
    /* (b) an older full document is refused and the serial stays */
    assert_int_equal(sitetoken_revocations_load_at(r, d_old, strlen(d_old), 1, T2030, &err), -1);
    assert_int_equal(sitetoken_revocations_serial(r), 6);
    /* an entry of a kind we do not know is ignored */
    assert_int_equal(sitetoken_revocations_add_event(r, unk, strlen(unk), &err), 0);
    sitetoken_revocations_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_replay_full_refuses),
        cmocka_unit_test(test_revocations_fixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
