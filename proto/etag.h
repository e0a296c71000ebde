/* Entity tags for what the authority publishes (the key set, the revocation
 * feed): a strong ETag named by the SHA-256 of the bytes sent. */
#ifndef SITETOKEN_ETAG_H
#define SITETOKEN_ETAG_H

#include <stddef.h>

#define ETAG_PREFIX_MAX 8
/* '"' prefix (at most ETAG_PREFIX_MAX) 22 base64url characters '"' NUL */
#define ETAG_LEN (ETAG_PREFIX_MAX + 25)

/* out = "\"" prefix b64url(first 16 bytes of SHA-256(data)) "\"". prefix
 * (NULL = "") tells documents of different kinds apart; a longer one is cut
 * to ETAG_PREFIX_MAX. */
void etag_of(const char *prefix, const void *data, size_t len, char out[ETAG_LEN]);

#endif
