/* Identifiers: time-ordered token ids (6 bytes of ms time, 10 random),
 * lower-case UUIDv7 for bulk tokens and device ids in ConfigMgr's
 * "GUID:<uuid>" shape, UUIDv4 where order does not matter, and validators that
 * accept every well-formed version we ever issued. Time-ordered ids make the
 * indexes they key grow at their right edge. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64url.h"
#include "ids.h"

static void
ids_random(uint8_t *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1)
        abort();
}

/* The wall clock in ms since the epoch. */
static int64_t
ids_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms, clamped to 48 bits, big-endian into raw[0..5]. */
static void
ids_put_ms(uint8_t raw[6], int64_t ms)
{
    uint64_t t = ms < 0 ? 0 : ms > 0xffffffffffffLL ? 0xffffffffffffULL : (uint64_t)ms;

    for (int i = 5; i >= 0; i--) {
        raw[i] = (uint8_t)(t & 0xff);
        t >>= 8;
    }
}

void
ids_jti_at(int64_t ms, char out[IDS_JTI_LEN + 1])
{
    uint8_t raw[16];

    ids_put_ms(raw, ms);
    ids_random(raw + 6, sizeof(raw) - 6);
    (void)b64url_encode_buf(raw, sizeof(raw), out, IDS_JTI_LEN + 1);
}

void
ids_jti(char out[IDS_JTI_LEN + 1])
{
    ids_jti_at(ids_now_ms(), out);
}

/* 8-4-4-4-12 lower-case hex of 16 bytes. */
static void
ids_uuid_text(const uint8_t raw[16], char out[IDS_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[raw[i] >> 4];
        out[o++] = hex[raw[i] & 15];
    }
    out[o] = '\0';
}

void
ids_uuid4(char out[IDS_UUID_LEN + 1])
{
    uint8_t raw[16];

    ids_random(raw, sizeof(raw));
    raw[6] = (raw[6] & 0x0f) | 0x40; /* version 4 */
    raw[8] = (raw[8] & 0x3f) | 0x80; /* variant 10xx */
    ids_uuid_text(raw, out);
}

void
ids_uuid7_at(int64_t ms, char out[IDS_UUID_LEN + 1])
{
    uint8_t raw[16];

    ids_put_ms(raw, ms);
    ids_random(raw + 6, sizeof(raw) - 6);
    raw[6] = (raw[6] & 0x0f) | 0x70; /* version 7 */
    raw[8] = (raw[8] & 0x3f) | 0x80; /* variant 10xx */
    ids_uuid_text(raw, out);
}

void
ids_uuid7(char out[IDS_UUID_LEN + 1])
{
    ids_uuid7_at(ids_now_ms(), out);
}

void
ids_device_id(char out[IDS_DEVICE_ID_LEN + 1])
{
    memcpy(out, "GUID:", 5);
    ids_uuid7(out + 5);
}

/* Lower-case 8-4-4-4-12 with variant 10xx; the version digit, or 0. */
static char
ids_uuid_version(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != IDS_UUID_LEN)
        return 0;
    for (i = 0; i < IDS_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return strchr("89ab", s[19]) != NULL ? s[14] : 0;
}

int
ids_is_uuid4(const char *s)
{
    return ids_uuid_version(s) == '4';
}

int
ids_is_uuid(const char *s)
{
    char v = ids_uuid_version(s);

    return v == '4' || v == '7';
}

int
ids_is_device_id(const char *s)
{
    return s != NULL && strncmp(s, "GUID:", 5) == 0 && ids_is_uuid(s + 5);
}

int
ids_uuid7_time(const char *s, int64_t *ms)
{
    uint8_t raw[16];
    size_t n;
    int64_t t = 0;
    int i;

    if (ids_uuid_version(s) == '7') {
        for (i = 0; i < 13; i++) {
            char c = s[i];

            if (c == '-')
                continue;
            t = t << 4 | (c <= '9' ? c - '0' : c - 'a' + 10);
        }
    } else if (ids_is_jti(s) && b64url_decode_buf(s, IDS_JTI_LEN, raw, sizeof(raw), &n) == 0) {
        for (i = 0; i < 6; i++)
            t = t << 8 | raw[i];
    } else {
        return -1;
    }
    *ms = t;
    return 0;
}

int
ids_is_jti(const char *s)
{
    uint8_t raw[16];
    size_t n;

    return s != NULL && strlen(s) == IDS_JTI_LEN &&
           b64url_decode_buf(s, IDS_JTI_LEN, raw, sizeof(raw), &n) == 0 && n == 16;
}

void
ids_hex(const uint8_t *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int
ids_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
