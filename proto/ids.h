/* Identifiers (token ids, UUIDs, device ids) and their syntax checks. New ids
 * are time-ordered (DESIGN.md, "The tokens"); the checks accept any
 * well-formed id, so older UUIDv4 and random jtis stay valid. */
#ifndef SITETOKEN_IDS_H
#define SITETOKEN_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_JTI_LEN 22       /* 128 bits, base64url */
#define IDS_UUID_LEN 36      /* 8-4-4-4-12 lower-case hex */
#define IDS_DEVICE_ID_LEN 41 /* "GUID:" + uuid */

/* Fill out with a fresh identifier and a NUL. These draw from RAND_bytes and
 * abort() if the CSPRNG fails: no request input can cause that, and handing
 * out a predictable id would be worse.
 * ids_jti: 16 bytes, the first 6 the big-endian Unix time in milliseconds
 * (the wall clock), the other 10 random, base64url. ids_uuid7: a lower-case
 * UUIDv7 (RFC 9562 §5.7: 48-bit ms time, version 7, 74 random bits, variant
 * 10xx). ids_device_id: "GUID:" + a UUIDv7. ids_uuid4: all random (MP ids). */
void ids_jti(char out[IDS_JTI_LEN + 1]);
void ids_uuid4(char out[IDS_UUID_LEN + 1]);
void ids_uuid7(char out[IDS_UUID_LEN + 1]);
void ids_device_id(char out[IDS_DEVICE_ID_LEN + 1]);
/* The same with the time given (ms since the epoch, clamped to 48 bits):
 * for tests and for callers that run on a debug clock. */
void ids_jti_at(int64_t ms, char out[IDS_JTI_LEN + 1]);
void ids_uuid7_at(int64_t ms, char out[IDS_UUID_LEN + 1]);

/* 1 when s (NUL-terminated, may be NULL) has exactly that syntax, else 0.
 * ids_is_uuid4: lower-case, version 4, variant 10xx. ids_is_uuid: lower-case,
 * version 4 or 7, variant 10xx (what bulk token ids and device ids may be).
 * ids_is_device_id: "GUID:" + ids_is_uuid. ids_is_jti: 22 characters of
 * base64url for 16 bytes (random or time-ordered alike). */
int ids_is_uuid4(const char *s);
int ids_is_uuid(const char *s);
int ids_is_device_id(const char *s);
int ids_is_jti(const char *s);
/* The ms time of a UUIDv7 (or a time-ordered jti): 0 and *ms set, or -1 when
 * s is not one. A jti carries no version, so any jti decodes. */
int ids_uuid7_time(const char *s, int64_t *ms);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void ids_hex(const uint8_t *in, size_t n, char *out);
/* Constant-time comparison of n bytes: 1 when equal, 0 otherwise. */
int ids_ct_equal(const void *a, const void *b, size_t n);

#endif
