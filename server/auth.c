/* MP authentication by bearer API key: the presented key is bounded, hashed
 * with SHA-256 and looked up by hash; the store compares the hash in constant
 * time. Keys are never logged; the MP's name is. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "b64url.h"
#include "http.h"
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

/* Every unauthenticated answer names the scheme (RFC 6750). */
static int
auth_refuse(struct http_req *req, const char *why)
{
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"sitetoken\"");
    http_reply_problem(req, ERRCODE_UNAUTHENTICATED, "%s", why);
    return -1;
}

int
auth_mp(struct http_req *req, struct store *st, struct auth_mp *mp)
{
    const char *h = http_header(req, "Authorization");
    const char *errstr = NULL;
    struct store_mp row;
    uint8_t hash[32];
    size_t len;
    int rc;

    if (h == NULL) {
        return auth_refuse(req, "an MP API key is required");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return auth_refuse(req, "Authorization must be Bearer");
    }
    h += 7;
    while (*h == ' ')
        h++;
    len = strlen(h);
    if (len == 0 || len > AUTH_KEY_MAX) {
        return auth_refuse(req, "the MP API key is not valid");
    }
    auth_hash_key(h, len, hash);
    rc = store_mp_find_by_key_hash(st, hash, &row, &errstr);
    if (rc == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return -1;
    }
    if (rc == 1) {
        return auth_refuse(req, "the MP API key is not valid");
    }
    snprintf(mp->id, sizeof(mp->id), "%s", row.id);
    snprintf(mp->name, sizeof(mp->name), "%s", row.name);
    snprintf(req->actor_buf, sizeof(req->actor_buf), "mp:%.80s", row.name);
    req->actor = req->actor_buf;
    return 0;
}
