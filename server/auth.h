/* Management point authentication: a verified TLS client certificate whose
 * SHA-256 fingerprint is registered to an MP, or `Authorization: Bearer <api
 * key>`, parsed strictly. The key is hashed and looked up by hash; only
 * hashes are stored. What authenticated the MP (its id, or the certificate)
 * is its identity: every per-MP budget is keyed on it, never on the spelling
 * of a header. */
#ifndef SITETOKEN_AUTH_H
#define SITETOKEN_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"

struct authcache;
struct http_req;
struct store;

#define AUTH_KEY_PREFIX "stmp_"
#define AUTH_KEY_MAX 128

struct auth_mp {
    char id[37];
    char name[129];
    /* What budgets are keyed on: "mp:<id>" for an API key, "cert:<sha256>"
     * for a client certificate. */
    char identity[72];
};

/* Parses an Authorization value strictly (RFC 9110 section 11.6.2, RFC 6750
 * section 2.1): the scheme "Bearer" in any case, exactly one space, then a
 * token68 (ALPHA DIGIT - . _ ~ + /, then any "=") of 1 to AUTH_KEY_MAX
 * characters, and nothing else. 0 with *key and *len naming the token68
 * inside h, or -1 with *why. */
int auth_bearer_parse(const char *h, const char **key, size_t *len, const char **why);

/* Checks the client certificate's fingerprint (NULL or "" when none) and
 * then an Authorization header value (NULL when absent) against the MP table
 * on st; any thread with its own connection. A registered certificate
 * decides; an unknown one falls back to the API key. ERRCODE_OK with mp
 * filled, ERRCODE_UNAUTHENTICATED or ERRCODE_UNAVAILABLE with *why. */
enum errcode auth_mp_check(const char *authorization, const char *cert_sha256, struct store *st,
                           struct auth_mp *mp, const char **why);
/* MP API keys that authenticated, by the key's SHA-256 (issue 14: a store
 * read per request saved). Only successes are kept: an unknown key always
 * goes to the store. Every entry carries the generation it was read under;
 * auth_mp_changed starts a new one, so a removed MP or a replaced key is
 * refused from the moment the change's reply can be sent. Any thread. */
struct authcache *authcache_new(size_t slots);
void authcache_free(struct authcache *c);
/* On the loop, after an MP change (remove, rotate-key) has committed and
 * before it is answered: no entry read before it is used again. */
void auth_mp_changed(struct authcache *c);
/* auth_mp_check through the cache (c NULL: straight to the store). A client
 * certificate always goes to the store. */
enum errcode auth_mp_check_cached(struct authcache *c, const char *authorization,
                                  const char *cert_sha256, struct store *st, struct auth_mp *mp,
                                  const char **why);
/* Hits and misses so far. */
void authcache_stats(struct authcache *c, uint64_t *hits, uint64_t *misses);
/* The WWW-Authenticate challenge that goes with every unauthenticated answer. */
void auth_challenge(struct http_req *req);
/* The request gate's check of an MP route, on the loop and at no cost to a
 * worker: no credential, or an Authorization header that does not parse, is
 * refused (unauthenticated, with the challenge; returns -1, req is gone). A
 * credential that parses is checked against the store on a worker
 * (auth_mp_check), right before the MP's budgets admit the request. */
int auth_mp_presented(struct http_req *req);
/* A new API key (AUTH_KEY_PREFIX + 43 base64url chars) and its SHA-256. */
void auth_new_key(char key[64], uint8_t hash[32]);
void auth_hash_key(const char *key, size_t len, uint8_t hash[32]);

#endif
