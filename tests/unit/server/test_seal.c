/* seal.c: the seal key file (created 0600, refused when others may read it,
 * exact length) and AES-256-GCM sealing bound to its context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "seal.h"

static char dir[64], path[128];

static int
setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/st-seal-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/seal.key", dir);
    return 0;
}

static int
teardown(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

static void
test_created_0600_and_stable(void **state)
{
    uint8_t k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN];
    const char *err = NULL;
    struct stat sb;
    int created = 0;

    assert_int_equal(seal_key_load(path, k1, &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, SEAL_KEY_LEN);
    assert_int_equal(seal_key_load(path, k2, &created, &err), 0);
    assert_int_equal(created, 0);
    assert_memory_equal(k1, k2, SEAL_KEY_LEN);
}

static void
test_group_readable_refused(void **state)
{
    uint8_t k[SEAL_KEY_LEN];
    const char *err = NULL;
    int created;

    assert_int_equal(seal_key_load(path, k, &created, &err), 0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(seal_key_load(path, k, &created, &err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "group or others"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(seal_key_load(path, k, &created, &err), -1);
}

static void
test_wrong_length_refused(void **state)
{
    uint8_t k[SEAL_KEY_LEN];
    const char *err = NULL;
    FILE *f = fopen(path, "w");
    int created;

    assert_non_null(f);
    fputs("short", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(seal_key_load(path, k, &created, &err), -1);
    assert_non_null(strstr(err, "exactly 32 bytes"));
}

static void
test_seal_round_trip_and_tamper(void **state)
{
    uint8_t key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
    const uint8_t secret[] = "private key material";
    uint8_t *blob, *pt;
    size_t bloblen, ptlen;

    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    assert_int_equal(seal_encrypt(key, "kid-1", secret, sizeof(secret), &blob, &bloblen), 0);
    assert_int_equal(bloblen, 1 + 12 + sizeof(secret) + 16);
    assert_null(memmem(blob, bloblen, "private", 7));
    assert_int_equal(seal_decrypt(key, "kid-1", blob, bloblen, &pt, &ptlen), 0);
    assert_int_equal(ptlen, sizeof(secret));
    assert_memory_equal(pt, secret, sizeof(secret));
    OPENSSL_clear_free(pt, ptlen);
    /* wrong key, wrong context, flipped bit, truncated: all refused */
    assert_int_equal(seal_decrypt(other, "kid-1", blob, bloblen, &pt, &ptlen), -1);
    assert_int_equal(seal_decrypt(key, "kid-2", blob, bloblen, &pt, &ptlen), -1);
    blob[20] ^= 1;
    assert_int_equal(seal_decrypt(key, "kid-1", blob, bloblen, &pt, &ptlen), -1);
    blob[20] ^= 1;
    assert_int_equal(seal_decrypt(key, "kid-1", blob, 20, &pt, &ptlen), -1);
    free(blob);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_created_0600_and_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_readable_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_length_refused, setup, teardown),
        cmocka_unit_test(test_seal_round_trip_and_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
