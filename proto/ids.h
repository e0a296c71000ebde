/* Random identifiers (token ids, UUIDs, device ids) and their syntax checks. */
#ifndef SITETOKEN_IDS_H
#define SITETOKEN_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_JTI_LEN 22       /* 128 bits, base64url */
#define IDS_UUID_LEN 36      /* 8-4-4-4-12 lower-case hex */
#define IDS_DEVICE_ID_LEN 41 /* "GUID:" + uuid */

/* Fill out with a fresh identifier and a NUL. These draw from RAND_bytes and
 * abort() if the CSPRNG fails: no request input can cause that, and handing
 * out a predictable id would be worse. */
void ids_jti(char out[IDS_JTI_LEN + 1]);
void ids_uuid4(char out[IDS_UUID_LEN + 1]);
void ids_device_id(char out[IDS_DEVICE_ID_LEN + 1]);

/* 1 when s (NUL-terminated, may be NULL) has exactly that syntax, else 0.
 * UUIDs must be lower-case version 4, variant 10xx. */
int ids_is_uuid4(const char *s);
int ids_is_device_id(const char *s);
int ids_is_jti(const char *s);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void ids_hex(const uint8_t *in, size_t n, char *out);
/* Constant-time comparison of n bytes: 1 when equal, 0 otherwise. */
int ids_ct_equal(const void *a, const void *b, size_t n);

#endif
