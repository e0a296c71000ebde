/* Signature algorithms, JSON Web Keys (RFC 7517/8037), thumbprints (RFC 7638)
 * and key sets. Only public keys ever cross the wire in JSON. */
#ifndef SITETOKEN_JWK_H
#define SITETOKEN_JWK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

/* The signature algorithms with the names we write: the one list of them. It makes the enum,
 * jwk_alg_name()'s table and the choices of the config's keys.algorithm
 * (server/config_schema.c). JWK_ALGS(X) expands X(ALG, "name") once per algorithm. */
#define JWK_ALGS(X)                                                                                \
    X(JWK_ALG_EDDSA, "EdDSA")                                                                      \
    X(JWK_ALG_ES256, "ES256")                                                                      \
    X(JWK_ALG_RS256, "RS256")

#define JWK_ALG_ENUM(alg, name) alg,
enum jwk_alg { JWK_ALGS(JWK_ALG_ENUM) JWK_ALG_COUNT };
#undef JWK_ALG_ENUM

#define JWK_KID_MAX 64        /* longest kid accepted anywhere */
#define JWK_THUMBPRINT_LEN 43 /* base64url SHA-256 */
#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BITS 8192
#define JWK_RSA_NEW_MAX_BITS 4096 /* largest RSA key a device may enrol */
#define JWKS_MAX_KEYS 64
#define JWKS_MAX_DOC (256 * 1024)

/* "EdDSA", "ES256", "RS256"; NULL for anything else. What we write. */
const char *jwk_alg_name(enum jwk_alg alg);
/* Our three names and "Ed25519" (RFC 9864, the fully specified name of
 * EdDSA with Ed25519, which WebCrypto and DPoP libraries send), all
 * case-sensitive; "none", HMAC and all others -1. */
int jwk_alg_from_name(const char *name, enum jwk_alg *out);
/* 1 when a key is one a device may enrol with (register, exchange): RSA of
 * 2048 to 4096 bits with e = 65537; any Ed25519 and P-256 key we accept.
 * Keys already bound to a token are not held to this (renew, access). */
int jwk_key_is_enrollable(EVP_PKEY *key);
/* The one algorithm a key may be used with: Ed25519 -> EdDSA, EC P-256 ->
 * ES256, RSA of 2048..8192 bits -> RS256. -1 for every other key. */
int jwk_alg_of_key(EVP_PKEY *key, enum jwk_alg *out);
/* A new key pair (Ed25519, P-256, RSA-2048); caller EVP_PKEY_free's it. */
EVP_PKEY *jwk_generate(enum jwk_alg alg, const char **errstr);

/* {kty, crv, x[, y]} or {kty, n, e}, plus kid, alg and use "sig" when kid is
 * not NULL. Public members only, even for a private key. New reference. */
json_t *jwk_public_to_json(EVP_PKEY *key, const char *kid);
/* Public key from a JWK object. Refuses private members (d p q dp dq qi oth
 * k), kty oct and unknown kty, other curves, small-order or non-canonical
 * Ed25519 points (the identity verifies any signature), off-curve EC points, coordinates
 * that are not exactly 32 bytes, RSA moduli outside 2048..8192 bits or with a
 * leading zero byte, even or tiny exponents, "use" other than "sig" and an
 * "alg" that does not match the key. Caller EVP_PKEY_free's the result. */
EVP_PKEY *jwk_public_from_json(const json_t *jwk, const char **errstr);
/* RFC 7638 SHA-256 thumbprint, base64url, into out (43 chars + NUL). 0/-1. */
int jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1]);

/* PKCS#8 DER of a private key, for sealing. *der is OPENSSL_malloc'd: the
 * caller must OPENSSL_clear_free(*der, *len). 0/-1. */
int jwk_private_to_der(EVP_PKEY *key, uint8_t **der, size_t *len);
/* Private key from PKCS#8 DER (nothing may follow it); NULL unless it is a key
 * jwk_alg_of_key accepts. Caller EVP_PKEY_free's it. */
EVP_PKEY *jwk_private_from_der(const uint8_t *der, size_t len);

/* A set of at most JWKS_MAX_KEYS public keys by kid. */
struct jwks;

struct jwks *jwks_new(void);
void jwks_free(struct jwks *set);
/* Adds pub under kid (1..64 chars, not yet in the set); takes its own
 * reference (EVP_PKEY_up_ref), the caller keeps theirs. 0/-1. */
int jwks_add(struct jwks *set, const char *kid, EVP_PKEY *pub);
/* Borrowed key for kid (valid while set lives) and its algorithm when alg is
 * not NULL; NULL when unknown. */
EVP_PKEY *jwks_find(const struct jwks *set, const char *kid, enum jwk_alg *alg);
size_t jwks_count(const struct jwks *set);
/* Parse a JWKS document ({"keys": [...]}, at most 256 KiB and 64 keys).
 * Keys we cannot use are skipped: unknown kty, other curves, use other than
 * sig, alg not one of ours, no kid. A key we could use but that is malformed
 * (private members, short RSA, off-curve point...) or a repeated kid fails the
 * whole document. Caller jwks_free's the result. */
struct jwks *jwks_parse(const char *doc, size_t len, const char **errstr);

#endif
