/* Fuzz the revocation document parsers (proto/revdoc.c) and libsitetoken's
 * cache: a document, an event entry and a JWS (against a fixed empty key
 * set) from the same input; nothing may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jwk.h"
#include "revdoc.h"
#include "sitetoken.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jwks *keys;
    struct revdoc doc;
    struct revdoc_entry e;
    struct sitetoken_revocations *r = sitetoken_revocations_new();
    struct sitetoken_claims c;
    const char *err = NULL;

    if (keys == NULL)
        keys = jwks_new();
    revdoc_parse((const char *)data, size, &doc, &err);
    revdoc_clear(&doc);
    revdoc_parse_entry((const char *)data, size, &e, &err);
    revdoc_parse_jws((const char *)data, size, keys, &doc, &err);
    revdoc_clear(&doc);
    if (r != NULL) {
        sitetoken_revocations_load(r, (const char *)data, size, 1, &err);
        sitetoken_revocations_add_event(r, (const char *)data, size, &err);
        memset(&c, 0, sizeof(c));
        memcpy(c.jti, "jti-a", 6);
        memcpy(c.sub, "GUID:d", 7);
        sitetoken_revocations_check(r, &c, 0);
        sitetoken_revocations_free(r);
    }
    return 0;
}
