/* proto/revdoc.c and libsitetoken's revocation cache: well-formed documents
 * and entries, refusals of malformed ones, RFC 3339 times, a signed (JWS)
 * document checked against a key set, and the cache's replace/add/check
 * semantics (bulk entries never refuse a client token). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jwk.h"
#include "jws.h"
#include "revdoc.h"
#include "sitetoken.h"

#define E(serial, kind, id, exp)                                                                   \
    "{\"serial\":" #serial ",\"kind\":\"" kind "\",\"id\":\"" id                                   \
    "\",\"revoked_at\":\"2026-01-01T00:00:00Z\",\"expires_at\":\"" exp "\",\"reason\":\"r\"}"
#define T2030 1893456000 /* 2030-01-01T00:00:00Z */

static const char doc3[] =
    "{\"serial\":7,\"entries\":[" E(3, "token", "jti-a", "2030-01-01T00:00:00Z") "," E(
        5, "device", "GUID:d", "2030-01-01T00:00:00Z") "," E(7, "bulk", "b-1",
                                                             "2030-01-01T00:00:00Z") "]}";

static void
test_time(void **state)
{
    int64_t t;

    assert_int_equal(revdoc_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(revdoc_time("2030-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, T2030);
    assert_int_equal(revdoc_time("2024-02-29T23:59:59Z", &t), 0);
    assert_int_equal(t, 1709251199);
    const char *bad[] = {"2023-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-01-01T24:00:00Z",
                         "2026-01-01T00:00:00",
                         "2026-01-01 00:00:00Z",
                         "1969-12-31T23:59:59Z",
                         "",
                         "2026-01-01T00:00:00+00:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(revdoc_time(bad[i], &t), -1);
    assert_int_equal(revdoc_time(NULL, &t), -1);
}

static void
test_parse(void **state)
{
    struct revdoc d;
    const char *err = NULL;

    assert_int_equal(revdoc_parse(doc3, strlen(doc3), &d, &err), ERRCODE_OK);
    assert_int_equal(d.serial, 7);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.entries[1].kind, REVDOC_DEVICE);
    assert_string_equal(d.entries[1].id, "GUID:d");
    assert_int_equal(d.entries[1].expires_at, T2030);
    revdoc_clear(&d);

    const char *bad[] = {
        "[]",
        "{\"entries\":[]}",
        "{\"serial\":-1,\"entries\":[]}",
        "{\"serial\":1}",
        "{\"serial\":1,\"entries\":{}}",
        "{\"serial\":1,\"entries\":[1]}",
        "{\"serial\":1,\"entries\":[" E(2, "token", "x", "2030-01-01T00:00:00Z") "]}",
        "{\"serial\":9,\"entries\":[" E(2, "token", "", "2030-01-01T00:00:00Z") "]}",
        "{\"serial\":9,\"entries\":[" E(0, "token", "x", "2030-01-01T00:00:00Z") "]}",
        "{\"serial\":9,\"entries\":[" E(2, "token", "x", "tomorrow") "]}",
        "{\"serial\":9,\"serial\":9,\"entries\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(revdoc_parse(bad[i], strlen(bad[i]), &d, &err), ERRCODE_OK);
        revdoc_clear(&d);
    }
    /* an entry of a kind we do not know parses, marked to be ignored */
    const char unk[] = "{\"serial\":9,\"entries\":[" E(2, "key", "x", "2030-01-01T00:00:00Z") "]}";
    assert_int_equal(revdoc_parse(unk, strlen(unk), &d, &err), ERRCODE_OK);
    assert_int_equal(d.entries[0].kind, REVDOC_UNKNOWN);
    revdoc_clear(&d);
    struct revdoc_entry e;
    const char ev[] = E(12, "token", "jti-z", "2030-01-01T00:00:00Z");
    assert_int_equal(revdoc_parse_entry(ev, strlen(ev), &e, &err), ERRCODE_OK);
    assert_int_equal(e.serial, 12);
    assert_int_equal(revdoc_parse_entry("{}", 2, &e, &err), ERRCODE_INVALID_REQUEST);
}

static void
test_jws(void **state)
{
    EVP_PKEY *key = jwk_generate(JWK_ALG_EDDSA, &(const char *){NULL}), *other;
    struct jwks *keys = jwks_new();
    json_t *payload = json_loads(doc3, 0, NULL), *header;
    struct revdoc d;
    const char *err = NULL;
    char *jws;

    assert_non_null(key);
    assert_int_equal(jwks_add(keys, "k1", key), 0);
    assert_int_equal(revdoc_set_claims(payload, "urn:sitetoken:PS1", "urn:sitetoken:gateway", 1000,
                                       REVDOC_MAX_AGE_DEFAULT),
                     0);
    header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "kid", "k1", "typ", REVDOC_TYP);
    jws = jws_sign(key, JWK_ALG_EDDSA, header, payload);
    assert_int_equal(revdoc_parse_jws(jws, strlen(jws), keys, &d, &err), ERRCODE_OK);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.iss, "urn:sitetoken:PS1");
    assert_string_equal(d.aud, "urn:sitetoken:gateway");
    assert_int_equal(d.iat, 1000);
    assert_int_equal(d.exp, 1000 + REVDOC_MAX_AGE_DEFAULT);
    revdoc_clear(&d);
    /* tampered payload */
    jws[strchr(jws, '.') - jws + 3] ^= 1;
    assert_int_not_equal(revdoc_parse_jws(jws, strlen(jws), keys, &d, &err), ERRCODE_OK);
    revdoc_clear(&d);
    free(jws);
    /* wrong typ, unknown kid, another key */
    json_object_set_new(header, "typ", json_string("sitetoken-client+jwt"));
    jws = jws_sign(key, JWK_ALG_EDDSA, header, payload);
    assert_int_equal(revdoc_parse_jws(jws, strlen(jws), keys, &d, &err), ERRCODE_WRONG_TOKEN_TYPE);
    revdoc_clear(&d);
    free(jws);
    json_object_set_new(header, "typ", json_string(REVDOC_TYP));
    json_object_set_new(header, "kid", json_string("k2"));
    jws = jws_sign(key, JWK_ALG_EDDSA, header, payload);
    assert_int_equal(revdoc_parse_jws(jws, strlen(jws), keys, &d, &err), ERRCODE_UNKNOWN_KEY);
    revdoc_clear(&d);
    free(jws);
    other = jwk_generate(JWK_ALG_EDDSA, &(const char *){NULL});
    json_object_set_new(header, "kid", json_string("k1"));
    jws = jws_sign(other, JWK_ALG_EDDSA, header, payload);
    assert_int_equal(revdoc_parse_jws(jws, strlen(jws), keys, &d, &err), ERRCODE_BAD_SIGNATURE);
    revdoc_clear(&d);
    free(jws);
    assert_int_not_equal(revdoc_parse_jws("a.b", 3, keys, &d, &err), ERRCODE_OK);
    revdoc_clear(&d);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    jwks_free(keys);
    json_decref(header);
    json_decref(payload);
}

static void
test_cache(void **state)
{
    struct sitetoken_revocations *r = sitetoken_revocations_new();
    struct sitetoken_claims c;
    const char *err = NULL;
    const char ev[] = E(8, "token", "jti-b", "2030-01-01T00:00:00Z");
    const char full[] =
        "{\"serial\":9,\"entries\":[" E(9, "token", "jti-b", "2030-01-01T00:00:00Z") "]}";
    char id[40];

    assert_non_null(r);
    assert_int_equal(sitetoken_revocations_load(r, doc3, strlen(doc3), 1, &err), 0);
    assert_int_equal(sitetoken_revocations_serial(r), 7);
    assert_int_equal(sitetoken_revocations_count(r), 3);
    memset(&c, 0, sizeof(c));
    strcpy(c.jti, "jti-a");
    strcpy(c.sub, "GUID:other");
    assert_int_equal(sitetoken_revocations_check(r, &c, T2030 - 1), SITETOKEN_E_TOKEN_REVOKED);
    /* held until expires_at + skew (the token is accepted until exp + skew) */
    sitetoken_revocations_set_skew(r, 300);
    assert_int_equal(sitetoken_revocations_check(r, &c, T2030 + 299), SITETOKEN_E_TOKEN_REVOKED);
    assert_int_equal(sitetoken_revocations_check(r, &c, T2030 + 300), SITETOKEN_OK);
    strcpy(c.jti, "jti-x");
    strcpy(c.sub, "GUID:d");
    assert_int_equal(sitetoken_revocations_check(r, &c, 0), SITETOKEN_E_TOKEN_REVOKED);
    strcpy(c.sub, "b-1"); /* a bulk entry is not a device entry */
    assert_int_equal(sitetoken_revocations_check(r, &c, 0), SITETOKEN_OK);
    /* an event adds; a bad document changes nothing */
    assert_int_equal(sitetoken_revocations_add_event(r, ev, strlen(ev), &err), 0);
    assert_int_equal(sitetoken_revocations_serial(r), 8);
    assert_int_equal(sitetoken_revocations_load(r, "{", 1, 1, &err), -1);
    assert_int_equal(sitetoken_revocations_count(r), 4);
    /* a full load replaces (an unblocked device disappears) */
    assert_int_equal(sitetoken_revocations_load(r, full, strlen(full), 1, &err), 0);
    assert_int_equal(sitetoken_revocations_count(r), 1);
    strcpy(c.sub, "GUID:d");
    assert_int_equal(sitetoken_revocations_check(r, &c, 0), SITETOKEN_OK);
    /* growth */
    for (int i = 0; i < 1000; i++) {
        char e[400];

        snprintf(id, sizeof(id), "j%d", i);
        snprintf(e, sizeof(e),
                 "{\"serial\":%d,\"kind\":\"token\",\"id\":\"%s\",\"revoked_at\":"
                 "\"2026-01-01T00:00:00Z\",\"expires_at\":\"2030-01-01T00:00:00Z\"}",
                 100 + i, id);
        assert_int_equal(sitetoken_revocations_add_event(r, e, strlen(e), &err), 0);
    }
    assert_int_equal(sitetoken_revocations_count(r), 1001);
    strcpy(c.jti, "j777");
    assert_int_equal(sitetoken_revocations_check(r, &c, 0), SITETOKEN_E_TOKEN_REVOKED);
    sitetoken_revocations_free(r);
}

/* The entry the authority writes is the entry revdoc_parse_entry reads. */
static void
test_entry_round_trip(void **state)
{
    struct revdoc_entry e;
    const char *err = NULL;
    json_t *j;
    char *text;

    (void)state;
    assert_non_null(j = revdoc_entry_json(42, "device", "GUID:d", T2030 - 60, T2030, NULL));
    assert_string_equal(json_string_value(json_object_get(j, "revoked_at")),
                        "2029-12-31T23:59:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "");
    assert_non_null(text = json_dumps(j, JSON_COMPACT));
    assert_int_equal(revdoc_parse_entry(text, strlen(text), &e, &err), ERRCODE_OK);
    assert_int_equal(e.serial, 42);
    assert_int_equal(e.kind, REVDOC_DEVICE);
    assert_string_equal(e.id, "GUID:d");
    assert_int_equal(e.revoked_at, T2030 - 60);
    assert_int_equal(e.expires_at, T2030);
    free(text);
    json_decref(j);
    assert_null(revdoc_entry_json(1, NULL, "x", 0, 0, NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_jws),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_entry_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
