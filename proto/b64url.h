/* base64url without padding (RFC 4648 §5, RFC 7515 §2), strict in what it accepts. */
#ifndef SITETOKEN_B64URL_H
#define SITETOKEN_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no padding, no NUL). */
size_t b64url_encoded_len(size_t n);
/* Upper bound of the bytes that n characters decode to. */
size_t b64url_decoded_max(size_t n);
/* Encode n bytes; malloc'd NUL-terminated string, caller frees. NULL on
 * allocation failure. */
char *b64url_encode(const void *in, size_t n);
/* Encode into out (outsz must be >= b64url_encoded_len(n) + 1); NUL-terminates.
 * 0 or -1 when out is too small. */
int b64url_encode_buf(const void *in, size_t n, char *out, size_t outsz);
/* Decode n characters. Refuses '=', whitespace, characters outside the
 * alphabet, n % 4 == 1 and non-zero unused tail bits. *out is malloc'd
 * (at least one byte, even for n == 0), caller frees. 0 or -1. */
int b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen);
/* Same into a caller buffer; -1 also when outsz is too small. */
int b64url_decode_buf(const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlen);

#endif
