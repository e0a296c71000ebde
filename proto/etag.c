/* Strong ETags from the SHA-256 of the published bytes: the one place they
 * are computed, so the feed and the key set name their documents alike. */
#include <stdint.h>
#include <stdio.h>

#include <openssl/sha.h>

#include "b64url.h"
#include "etag.h"

void
etag_of(const char *prefix, const void *data, size_t len, char out[ETAG_LEN])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hash[32];

    SHA256(data, len, md);
    b64url_encode_buf(md, 16, hash, sizeof(hash));
    snprintf(out, ETAG_LEN, "\"%.*s%.22s\"", ETAG_PREFIX_MAX, prefix != NULL ? prefix : "", hash);
}
