/* Identifiers: token ids (128 random bits), lower-case UUIDv4 for bulk tokens
 * and device ids in ConfigMgr's "GUID:<uuid>" shape, plus their validators. */
#include <stdlib.h>
#include <string.h>

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

void
ids_jti(char out[IDS_JTI_LEN + 1])
{
    uint8_t raw[16];

    ids_random(raw, sizeof(raw));
    (void)b64url_encode_buf(raw, sizeof(raw), out, IDS_JTI_LEN + 1);
}

void
ids_uuid4(char out[IDS_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[16];
    size_t i, o = 0;

    ids_random(raw, sizeof(raw));
    raw[6] = (raw[6] & 0x0f) | 0x40; /* version 4 */
    raw[8] = (raw[8] & 0x3f) | 0x80; /* variant 10xx */
    for (i = 0; i < sizeof(raw); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[raw[i] >> 4];
        out[o++] = hex[raw[i] & 15];
    }
    out[o] = '\0';
}

void
ids_device_id(char out[IDS_DEVICE_ID_LEN + 1])
{
    memcpy(out, "GUID:", 5);
    ids_uuid4(out + 5);
}

int
ids_is_uuid4(const char *s)
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
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

int
ids_is_device_id(const char *s)
{
    return s != NULL && strncmp(s, "GUID:", 5) == 0 && ids_is_uuid4(s + 5);
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
