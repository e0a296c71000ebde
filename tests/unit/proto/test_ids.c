/* ids: shape of generated identifiers, their validators, hex, constant-time compare. */
#include "testutil.h"

#include "ids.h"

static void
test_jti(void **state)
{
    char a[IDS_JTI_LEN + 1], b[IDS_JTI_LEN + 1];

    ids_jti(a);
    ids_jti(b);
    assert_int_equal(strlen(a), 22);
    assert_true(ids_is_jti(a));
    assert_string_not_equal(a, b);
    assert_false(ids_is_jti(NULL));
    assert_false(ids_is_jti(""));
    assert_false(ids_is_jti("AAAAAAAAAAAAAAAAAAAAA"));   /* 21 */
    assert_false(ids_is_jti("AAAAAAAAAAAAAAAAAAAAAAA")); /* 23 */
    assert_false(ids_is_jti("AAAAAAAAAAAAAAAAAAAAAB"));  /* tail bits set */
    assert_true(ids_is_jti("AAAAAAAAAAAAAAAAAAAAAA"));
    assert_false(ids_is_jti("AAAAAAAAAAAAAAAAAAAA+A"));
}

static void
test_uuid4(void **state)
{
    char u[IDS_UUID_LEN + 1], v[IDS_UUID_LEN + 1];

    for (int i = 0; i < 64; i++) {
        ids_uuid4(u);
        assert_int_equal(strlen(u), 36);
        assert_true(ids_is_uuid4(u));
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
    }
    ids_uuid4(v);
    assert_string_not_equal(u, v);
    assert_true(ids_is_uuid4("0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(ids_is_uuid4("0F8FAD5B-D9CB-469F-A165-70867728950E")); /* upper case */
    assert_false(ids_is_uuid4("0f8fad5b-d9cb-169f-a165-70867728950e")); /* version 1 */
    assert_false(ids_is_uuid4("0f8fad5b-d9cb-469f-c165-70867728950e")); /* variant */
    assert_false(ids_is_uuid4("0f8fad5bd9cb469fa16570867728950e"));     /* no dashes */
    assert_false(ids_is_uuid4("0f8fad5b-d9cb-469f-a165-70867728950"));  /* short */
    assert_false(ids_is_uuid4("0f8fad5b-d9cb-469f-a165-70867728950e0"));
    assert_false(ids_is_uuid4("0f8fad5b-d9cb-469f-a165-70867728950g"));
    assert_false(ids_is_uuid4(NULL));
}

static void
test_device_id(void **state)
{
    char d[IDS_DEVICE_ID_LEN + 1];

    ids_device_id(d);
    assert_int_equal(strlen(d), 41);
    assert_memory_equal(d, "GUID:", 5);
    assert_true(ids_is_device_id(d));
    assert_true(ids_is_uuid(d + 5));
    assert_false(ids_is_uuid4(d + 5)); /* a UUIDv7 now (DESIGN.md, "The tokens") */
    assert_int_equal(d[5 + 14], '7');
    /* device ids issued before stay valid */
    assert_true(ids_is_device_id("GUID:0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(ids_is_device_id(d + 5));
    assert_false(ids_is_device_id("guid:0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(ids_is_device_id("GUID:"));
    assert_false(ids_is_device_id(NULL));
    assert_true(ids_is_device_id("GUID:0f8fad5b-d9cb-469f-a165-70867728950e"));
}

static void
test_hex(void **state)
{
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
    char out[9];

    ids_hex(in, sizeof(in), out);
    assert_string_equal(out, "0001abff");
    ids_hex(in, 0, out);
    assert_string_equal(out, "");
}

static void
test_ct_equal(void **state)
{
    assert_true(ids_ct_equal("abc", "abc", 3));
    assert_false(ids_ct_equal("abc", "abd", 3));
    assert_true(ids_ct_equal("abc", "abd", 2));
    assert_true(ids_ct_equal("", "", 0));
}

/* Time-ordered ids (DESIGN.md, "The tokens"). */
static void
test_time_ordered(void **state)
{
    char a[IDS_UUID_LEN + 1], b[IDS_UUID_LEN + 1], j[IDS_JTI_LEN + 1];
    int64_t ms = 0;

    ids_uuid7_at(1700000000123LL, a);
    assert_true(ids_is_uuid(a));
    assert_false(ids_is_uuid4(a));
    assert_int_equal(a[14], '7');
    assert_non_null(strchr("89ab", a[19]));
    assert_memory_equal(a, "018bcfe5-687b-7", 15); /* 0x018bcfe5687b = 1700000000123 */
    assert_int_equal(ids_uuid7_time(a, &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    ids_uuid7_at(1700000000124LL, b);
    assert_true(strcmp(a, b) < 0); /* later sorts after */
    ids_uuid7(b);
    assert_int_equal(ids_uuid7_time(b, &ms), 0);
    assert_true(ms > 1700000000123LL);
    /* jti: 6 bytes of ms time, then 10 random */
    ids_jti_at(1700000000123LL, j);
    assert_true(ids_is_jti(j));
    assert_int_equal(ids_uuid7_time(j, &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    assert_memory_equal(j, "AYvP5Wh7", 8); /* base64url of 01 8b cf e5 68 7b */
    /* v4 stays valid, other versions and upper case do not */
    assert_true(ids_is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(ids_is_uuid("0f8fad5b-d9cb-169f-a165-70867728950e"));
    assert_false(ids_is_uuid("018BCFE5-687B-7000-8000-000000000000"));
    assert_false(ids_is_uuid("018bcfe5-687b-7000-c000-000000000000"));
    assert_int_equal(ids_uuid7_time("0f8fad5b-d9cb-469f-a165-70867728950e", &ms), -1);
    assert_true(ids_is_device_id("GUID:018bcfe5-687b-7000-8000-000000000000"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_ordered), cmocka_unit_test(test_jti),
        cmocka_unit_test(test_uuid4),        cmocka_unit_test(test_device_id),
        cmocka_unit_test(test_hex),          cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
