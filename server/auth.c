/* MP authentication by TLS client certificate (its SHA-256 fingerprint, from
 * a certificate the TLS layer verified against client_ca) or by bearer API
 * key: the header is parsed strictly (one spelling of a key, up to the
 * scheme's case), the key bounded, hashed with SHA-256 and looked up by
 * hash; the store compares the hash in constant time. Keys are never logged;
 * the MP's name is. A malformed header is unauthenticated (401), like an
 * unknown key: a client learns nothing more from one than from the other. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "b64url.h"
#include "http.h"
#include "log.h"
#include "mps.h"

void
auth_hash_key(const char *key, size_t len, uint8_t hash[32])
{
    SHA256((const uint8_t *)key, len, hash);
}

void
auth_new_key(char key[64], uint8_t hash[32])
{
    uint8_t raw[32];

    RAND_bytes(raw, sizeof(raw));
    memcpy(key, AUTH_KEY_PREFIX, sizeof(AUTH_KEY_PREFIX) - 1);
    b64url_encode_buf(raw, sizeof(raw), key + sizeof(AUTH_KEY_PREFIX) - 1,
                      64 - (sizeof(AUTH_KEY_PREFIX) - 1));
    OPENSSL_cleanse(raw, sizeof(raw));
    auth_hash_key(key, strlen(key), hash);
}

void
auth_challenge(struct http_req *req)
{
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"sitetoken\"");
}

/* RFC 7235 token68 characters, the "=" padding aside. */
static int
auth_token68_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int
auth_bearer_parse(const char *h, const char **key, size_t *len, const char **why)
{
    size_t n = 0, pad = 0;

    if (h == NULL) {
        *why = "an MP API key is required";
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0')) {
        *why = "Authorization must be Bearer";
        return -1;
    }
    h += 6;
    if (*h != ' ' || h[1] == ' ' || h[1] == '\0') {
        *why = "Authorization must be \"Bearer\", one space and the key";
        return -1;
    }
    h++;
    while (auth_token68_char((unsigned char)h[n]))
        n++;
    while (h[n + pad] == '=')
        pad++;
    if (n == 0 || h[n + pad] != '\0' || n + pad > AUTH_KEY_MAX) {
        *why = "the MP API key is not valid";
        return -1;
    }
    *key = h;
    *len = n + pad;
    return 0;
}

enum errcode
auth_mp_check(const char *h, const char *cert_sha256, struct store *st, struct auth_mp *mp,
              const char **why)
{
    const char *errstr = NULL, *key = NULL;
    struct store_mp row;
    uint8_t hash[32];
    size_t len = 0;
    int rc;

    if (cert_sha256 != NULL && cert_sha256[0] != '\0') {
        rc = store_mp_find_by_cert(st, cert_sha256, &row, &errstr);
        if (rc == -1) {
            *why = errstr;
            return ERRCODE_UNAVAILABLE;
        }
        if (rc == 0) {
            snprintf(mp->id, sizeof(mp->id), "%s", row.id);
            snprintf(mp->name, sizeof(mp->name), "%s", row.name);
            snprintf(mp->identity, sizeof(mp->identity), "cert:%.64s", cert_sha256);
            return ERRCODE_OK;
        }
        if (h == NULL) {
            *why = "the client certificate is not registered to an MP";
            return ERRCODE_UNAUTHENTICATED;
        }
    }
    if (auth_bearer_parse(h, &key, &len, why) == -1)
        return ERRCODE_UNAUTHENTICATED;
    *why = "the MP API key is not valid";
    auth_hash_key(key, len, hash);
    rc = store_mp_find_by_key_hash(st, hash, &row, &errstr);
    if (rc == -1) {
        *why = errstr;
        return ERRCODE_UNAVAILABLE;
    }
    if (rc == 1)
        return ERRCODE_UNAUTHENTICATED;
    snprintf(mp->id, sizeof(mp->id), "%s", row.id);
    snprintf(mp->name, sizeof(mp->name), "%s", row.name);
    snprintf(mp->identity, sizeof(mp->identity), "mp:%.36s", row.id);
    return ERRCODE_OK;
}

int
auth_mp_presented(struct http_req *req)
{
    const char *authz = http_header(req, "Authorization"), *key = NULL, *bad = NULL;
    size_t keylen = 0;

    if (authz == NULL && req->cert_sha256[0] == '\0')
        bad = "an MP API key is required";
    else if (authz != NULL && strlen(authz) >= AUTH_KEY_MAX + 16)
        bad = "the MP API key is not valid";
    else if (authz != NULL && req->cert_sha256[0] == '\0')
        auth_bearer_parse(authz, &key, &keylen, &bad); /* sets bad only when malformed */
    if (bad == NULL)
        return 0;
    auth_challenge(req);
    http_reply_problem(req, ERRCODE_UNAUTHENTICATED, "%s", bad);
    return -1;
}
