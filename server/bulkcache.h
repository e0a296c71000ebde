/* Verified bulk tokens, remembered by SHA-256: a bulk token is presented by
 * thousands of devices, so its signature is checked once; its window is
 * checked every time, and its state (blocked, uses) by the writer. */
#ifndef SITETOKEN_BULKCACHE_H
#define SITETOKEN_BULKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"
#include "jwt.h"

struct bulkcache;

struct bulkcache *bulkcache_new(size_t slots);
void bulkcache_free(struct bulkcache *c);
/* Verifies token as a bulk token (cache first); on ERRCODE_OK fills id (the
 * jti, 36 chars + NUL) and hash. A genuine token outside its window also
 * gets its id (for the audit trail) with ERRCODE_TOKEN_EXPIRED or
 * ERRCODE_TOKEN_NOT_YET_VALID. Any thread. */
enum errcode bulkcache_verify(struct bulkcache *c, const char *token, const struct jwks *keys,
                              const struct jwt_expect *want, char id[37], uint8_t hash[32],
                              const char **errstr);
/* Hits and misses so far (for metrics and the benchmark). */
void bulkcache_stats(struct bulkcache *c, uint64_t *hits, uint64_t *misses);

#endif
