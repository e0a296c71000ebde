/* Helpers shared by the proto unit tests: build compact JWS by hand (well
 * formed or not) and sign JSON text exactly as given. */
#ifndef SITETOKEN_TESTUTIL_H
#define SITETOKEN_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "jwk.h"
#include "jws.h"

/* b64url(h) "." b64url(p), malloc'd. */
static inline char *
tu_input(const char *h, const char *p)
{
    char *h64 = b64url_encode(h, strlen(h)), *p64 = b64url_encode(p, strlen(p)), *out;

    assert_non_null(h64);
    assert_non_null(p64);
    assert_true(asprintf(&out, "%s.%s", h64, p64) > 0);
    free(h64);
    free(p64);
    return out;
}

/* Compact JWS from raw JSON texts and a raw signature segment. */
static inline char *
tu_compact_raw(const char *h, const char *p, const char *sig64)
{
    char *in = tu_input(h, p), *out;

    assert_true(asprintf(&out, "%s.%s", in, sig64) > 0);
    free(in);
    return out;
}

/* Compact JWS of raw JSON texts with a real signature by priv. */
static inline char *
tu_sign_text(EVP_PKEY *priv, const char *h, const char *p)
{
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);
    enum jwk_alg alg;
    char *in = tu_input(h, p), *out;

    assert_int_equal(jwk_alg_of_key(priv, &alg), 0);
    assert_int_equal(jws_sign_raw(priv, alg, in, strlen(in), sig, &siglen), 0);
    out = jws_compact(in, sig, siglen);
    assert_non_null(out);
    free(in);
    return out;
}

/* Compact JWS of JSON objects signed by priv (header given whole). */
static inline char *
tu_sign_json(EVP_PKEY *priv, json_t *header, json_t *payload)
{
    enum jwk_alg alg;
    char *out;

    assert_int_equal(jwk_alg_of_key(priv, &alg), 0);
    out = jws_sign(priv, alg, header, payload);
    assert_non_null(out);
    return out;
}

/* Public half of a key, as a fresh EVP_PKEY (through JWK, as a verifier gets it). */
static inline EVP_PKEY *
tu_public(EVP_PKEY *priv)
{
    const char *err = NULL;
    json_t *j = jwk_public_to_json(priv, NULL);
    EVP_PKEY *pub;

    assert_non_null(j);
    pub = jwk_public_from_json(j, &err);
    assert_non_null(pub);
    json_decref(j);
    return pub;
}

static inline json_t *
tu_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return j;
}

#endif
