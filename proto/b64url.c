/* base64url encoding and strict decoding: one canonical text for each byte
 * string, so a token can never be re-encoded into a second valid form. */
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for alphabet characters, -1 for everything else ('=', whitespace, NUL...). */
static int
b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t
b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64url_decoded_max(size_t n)
{
    static const size_t tail[4] = {0, 0, 1, 2};

    return n / 4 * 3 + tail[n % 4];
}

int
b64url_encode_buf(const void *in, size_t n, char *out, size_t outsz)
{
    const uint8_t *p = in;
    size_t i, o = 0;

    if (n > (SIZE_MAX - 1) / 4 * 3 || outsz < b64url_encoded_len(n) + 1)
        return -1;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return 0;
}

char *
b64url_encode(const void *in, size_t n)
{
    char *out;
    size_t sz;

    if (n > (SIZE_MAX - 1) / 4 * 3)
        return NULL;
    sz = b64url_encoded_len(n) + 1;
    if ((out = malloc(sz)) == NULL)
        return NULL;
    if (b64url_encode_buf(in, n, out, sz) == -1) {
        free(out);
        return NULL;
    }
    return out;
}

int
b64url_decode_buf(const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t i, o = 0, rem = n % 4;
    int a, b, c, d;

    if (rem == 1 || outsz < b64url_decoded_max(n))
        return -1;
    for (i = 0; i + 4 <= n; i += 4) {
        a = b64url_value((unsigned char)in[i]);
        b = b64url_value((unsigned char)in[i + 1]);
        c = b64url_value((unsigned char)in[i + 2]);
        d = b64url_value((unsigned char)in[i + 3]);
        if ((a | b | c | d) < 0)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
        out[o++] = (uint8_t)((c & 3) << 6 | d);
    }
    if (rem == 2) {
        a = b64url_value((unsigned char)in[i]);
        b = b64url_value((unsigned char)in[i + 1]);
        /* The low 4 bits of the last character carry nothing: they must be 0. */
        if ((a | b) < 0 || (b & 15) != 0)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
    } else if (rem == 3) {
        a = b64url_value((unsigned char)in[i]);
        b = b64url_value((unsigned char)in[i + 1]);
        c = b64url_value((unsigned char)in[i + 2]);
        if ((a | b | c) < 0 || (c & 3) != 0)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
    }
    *outlen = o;
    return 0;
}

int
b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
    uint8_t *buf;
    size_t sz = b64url_decoded_max(n);

    if ((buf = malloc(sz > 0 ? sz : 1)) == NULL)
        return -1;
    if (b64url_decode_buf(in, n, buf, sz, outlen) == -1) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}
