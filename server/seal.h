/* The seal key and sealing: private keys are stored only as AES-256-GCM
 * ciphertext under a 32-byte key kept in a file of mode 0600. */
#ifndef SITETOKEN_SEAL_H
#define SITETOKEN_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32

/* Reads the seal key from path, creating it (mode 0600, random) if missing.
 * Refuses a file that group or others may access, that is not a regular file,
 * or that does not hold exactly SEAL_KEY_LEN bytes. *created tells which. */
int seal_key_load(const char *path, uint8_t key[SEAL_KEY_LEN], int *created, const char **errstr);

/* Sealed blob: version byte 1 || 12-byte nonce || ciphertext || 16-byte tag.
 * aad binds the blob to its context (a key id), so blobs cannot be swapped.
 * *out is malloc'd; free with free() (ciphertext is not secret). */
int seal_encrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad, const uint8_t *pt, size_t ptlen,
                 uint8_t **out, size_t *outlen);
/* *out is malloc'd plaintext: the caller wipes it with OPENSSL_clear_free. */
int seal_decrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad, const uint8_t *blob,
                 size_t bloblen, uint8_t **out, size_t *outlen);

#endif
