/* libFuzzer target: compact JWS and JWT parsing and verification (jws_parse,
 * jws_verify, jwt_verify for each kind) against a fixed Ed25519 key. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "b64url.h"
#include "jwk.h"
#include "jws.h"
#include "jwt.h"

/* RFC 8037 A.1 public key */
static const char fuzz_jwks_doc[] =
    "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"rfc8037\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jwks *keys;
    const char *err = NULL;
    struct jws jws;

    if (keys == NULL && (keys = jwks_parse(fuzz_jwks_doc, strlen(fuzz_jwks_doc), &err)) == NULL)
        return 0;
    if (jws_parse((const char *)data, size, &jws, &err) == ERRCODE_OK)
        (void)jws_verify(&jws, jwks_find(keys, "rfc8037", NULL));
    jws_clear(&jws);
    for (int k = 0; k < JWT_KIND_COUNT; k++) {
        struct jwt_expect e = {.kind = (enum jwt_kind)k,
                               .iss = "urn:sitetoken:PS1",
                               .aud = "urn:sitetoken:gateway",
                               .now = 1700000000,
                               .skew = 300};
        struct jwt_claims c;

        (void)jwt_verify((const char *)data, size, keys, &e, &c, &err);
        jwt_claims_clear(&c);
    }
    return 0;
}
