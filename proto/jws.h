/* JWS compact serialisation (RFC 7515) with our three algorithms. Signing is
 * split so that only the server's signer ever holds a private key. */
#ifndef SITETOKEN_JWS_H
#define SITETOKEN_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "errcode.h"
#include "jwk.h"

#define JWS_MAX_LEN 8192 /* longest compact JWS accepted */
#define JWS_MAX_DEPTH 16 /* deepest JSON nesting in header or payload */
#define JWS_SIG_MAX 1024 /* largest signature (RSA-8192) */

struct jws {
    json_t *header;  /* owned */
    json_t *payload; /* owned */
    const char *alg; /* borrowed from header; never NULL after a successful parse */
    const char *kid; /* borrowed from header; NULL when absent */
    const char *typ; /* borrowed from header; NULL when absent */
    /* Private to jws.c: what the signature covers, and the signature. */
    char *signing_input;
    size_t signing_input_len;
    uint8_t *sig;
    size_t siglen;
};

/* The three segments of a compact JWS (not decoded). */
struct jws_segments {
    const char *header, *payload, *sig;
    size_t header_len, payload_len, sig_len;
    size_t signing_input_len; /* header "." payload: what the signature covers */
};
/* Splits compact (len bytes) at its dots: 0, or -1 when it is not exactly
 * three dot-separated segments. */
int jws_split(const char *compact, size_t len, struct jws_segments *out);

/* b64url(compact JSON header) "." b64url(compact JSON payload); both must be
 * objects. malloc'd, caller frees; NULL on failure. */
char *jws_signing_input(const json_t *header, const json_t *payload);
/* Sign msg with priv, whose algorithm must be alg. ES256 gives raw r||s (64
 * bytes), RS256 RSASSA-PKCS1-v1_5 with SHA-256, EdDSA pure Ed25519. *siglen:
 * in, the capacity of sig; out, the signature length. 0/-1. */
int jws_sign_raw(EVP_PKEY *priv, enum jwk_alg alg, const void *msg, size_t len, uint8_t *sig,
                 size_t *siglen);
/* 0 when sig is a valid alg signature of msg by pub (whose algorithm must be
 * alg), else -1. ES256 signatures must be exactly 64 bytes r||s. */
int jws_verify_raw(EVP_PKEY *pub, enum jwk_alg alg, const void *msg, size_t len, const uint8_t *sig,
                   size_t siglen);
/* signing_input "." b64url(sig); malloc'd, caller frees. */
char *jws_compact(const char *signing_input, const uint8_t *sig, size_t siglen);
/* All of the above in one call, for tests and tools: malloc'd compact JWS. */
char *jws_sign(EVP_PKEY *priv, enum jwk_alg alg, const json_t *header, const json_t *payload);

/* Parse a compact JWS of at most JWS_MAX_LEN bytes: exactly three segments of
 * strict base64url, header and payload JSON objects without duplicate keys
 * nested at most JWS_MAX_DEPTH deep, alg a string, kid and typ strings when
 * present, no crit. The signature is not checked. out is always initialised:
 * call jws_clear whatever the result. ERRCODE_OK or ERRCODE_INVALID_REQUEST. */
enum errcode jws_parse(const char *compact, size_t len, struct jws *out, const char **errstr);
void jws_clear(struct jws *jws);
/* 1 when a header typ names the media type want (given without
 * "application/"), compared as RFC 7515 §4.1.9 says: without regard to case,
 * with or without the "application/" prefix. 0 when typ is NULL. */
int jws_typ_is(const char *typ, const char *want);
/* Check the signature with pub. The algorithm comes from the key, and the
 * header's alg must name it (jwk_alg_from_name: "Ed25519" names EdDSA).
 * ERRCODE_OK or ERRCODE_BAD_SIGNATURE. */
enum errcode jws_verify(const struct jws *jws, EVP_PKEY *pub);

#endif
