/* libFuzzer target: JWKS documents (jwks_parse) and single JWKs
 * (jwk_public_from_json, jwk_thumbprint, jwk_public_to_json). */
#include <stddef.h>
#include <stdint.h>

#include "jsonlim.h"
#include "jwk.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *err = NULL;
    struct jwks *set;
    json_t *obj;
    EVP_PKEY *key;

    if ((set = jwks_parse((const char *)data, size, &err)) != NULL)
        jwks_free(set);
    if ((obj = jsonlim_load_object((const char *)data, size, 65536, 16, &err)) == NULL)
        return 0;
    if ((key = jwk_public_from_json(obj, &err)) != NULL) {
        char t[JWK_THUMBPRINT_LEN + 1];
        json_t *back = jwk_public_to_json(key, "k");

        (void)jwk_thumbprint(key, t);
        json_decref(back);
        EVP_PKEY_free(key);
    }
    json_decref(obj);
    return 0;
}
