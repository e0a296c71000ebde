/* The seal key file (created once, 0600, refused when others can read it) and
 * AES-256-GCM sealing of private key material stored in the database. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

#define SEAL_VERSION 1
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16

static int
seal_key_create(const char *path, const char **errstr)
{
    static char err[512];
    uint8_t key[SEAL_KEY_LEN];
    int fd;
    ssize_t n;

    if (RAND_bytes(key, sizeof(key)) != 1) {
        *errstr = "seal key: no randomness";
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        snprintf(err, sizeof(err), "seal key file %s: cannot create: %s", path, strerror(errno));
        *errstr = err;
        OPENSSL_cleanse(key, sizeof(key));
        return -1;
    }
    n = write(fd, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    if (n != (ssize_t)sizeof(key) || fchmod(fd, 0600) == -1 || fsync(fd) == -1) {
        snprintf(err, sizeof(err), "seal key file %s: cannot write: %s", path, strerror(errno));
        *errstr = err;
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

int
seal_key_load(const char *path, uint8_t key[SEAL_KEY_LEN], int *created, const char **errstr)
{
    static char err[512];
    struct stat sb;
    int fd;
    ssize_t n;
    uint8_t extra;

    *created = 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 && errno == ENOENT) {
        if (seal_key_create(path, errstr) == -1)
            return -1;
        *created = 1;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd == -1) {
        snprintf(err, sizeof(err), "seal key file %s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
        snprintf(err, sizeof(err), "seal key file %s: not a regular file", path);
        goto fail_fd;
    }
    if ((sb.st_mode & 077) != 0) {
        snprintf(err, sizeof(err),
                 "seal key file %s: mode %04o lets group or others access it; "
                 "it must be readable by its owner only (chmod 600)",
                 path, (unsigned)(sb.st_mode & 07777));
        goto fail_fd;
    }
    if (sb.st_uid != geteuid()) {
        snprintf(err, sizeof(err), "seal key file %s: owned by uid %ld, not by this process (%ld)",
                 path, (long)sb.st_uid, (long)geteuid());
        goto fail_fd;
    }
    n = read(fd, key, SEAL_KEY_LEN);
    if (n != SEAL_KEY_LEN || read(fd, &extra, 1) != 0) {
        OPENSSL_cleanse(key, SEAL_KEY_LEN);
        snprintf(err, sizeof(err), "seal key file %s: must hold exactly %d bytes", path,
                 SEAL_KEY_LEN);
        goto fail_fd;
    }
    close(fd);
    return 0;
fail_fd:
    close(fd);
fail:
    *errstr = err;
    return -1;
}

/* One AES-256-GCM pass; enc selects the direction. */
static int
seal_gcm(int enc, const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN],
         const char *aad, const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len, ok = 0;

    if (ctx == NULL || inlen > INT32_MAX)
        goto done;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        goto done;
    if (aad != NULL &&
        EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)aad, (int)strlen(aad)) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) != 1)
        goto done;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
        goto done;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int
seal_encrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad, const uint8_t *pt, size_t ptlen,
             uint8_t **out, size_t *outlen)
{
    size_t len = 1 + SEAL_NONCE_LEN + ptlen + SEAL_TAG_LEN;
    uint8_t *blob = malloc(len);

    if (blob == NULL)
        return -1;
    blob[0] = SEAL_VERSION;
    if (RAND_bytes(blob + 1, SEAL_NONCE_LEN) != 1 ||
        seal_gcm(1, key, blob + 1, aad, pt, ptlen, blob + 1 + SEAL_NONCE_LEN,
                 blob + 1 + SEAL_NONCE_LEN + ptlen) == -1) {
        free(blob);
        return -1;
    }
    *out = blob;
    *outlen = len;
    return 0;
}

int
seal_decrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad, const uint8_t *blob, size_t bloblen,
             uint8_t **out, size_t *outlen)
{
    size_t ptlen;
    uint8_t *pt, tag[SEAL_TAG_LEN];

    if (bloblen < 1 + SEAL_NONCE_LEN + SEAL_TAG_LEN || blob[0] != SEAL_VERSION)
        return -1;
    ptlen = bloblen - 1 - SEAL_NONCE_LEN - SEAL_TAG_LEN;
    if ((pt = malloc(ptlen + 1)) == NULL)
        return -1;
    memcpy(tag, blob + bloblen - SEAL_TAG_LEN, SEAL_TAG_LEN);
    if (seal_gcm(0, key, blob + 1, aad, blob + 1 + SEAL_NONCE_LEN, ptlen, pt, tag) == -1) {
        OPENSSL_clear_free(pt, ptlen + 1);
        return -1;
    }
    *out = pt;
    *outlen = ptlen;
    return 0;
}
