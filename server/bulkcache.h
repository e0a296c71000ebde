/* Verified tokens, remembered by SHA-256. A bulk token is presented by
 * thousands of devices and a client token by its device for every access
 * token, so the signature of each is checked once. On every use, cached or
 * not: its kind, its window and that its kid is still in the key set passed
 * in (a key taken out of the set stops its tokens at once). Its state
 * (blocked, uses, revoked, the device blocked) is the writer's, which reads
 * it inside the commit for every issuance (mpapi_apply). */
#ifndef SITETOKEN_BULKCACHE_H
#define SITETOKEN_BULKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"
#include "jwt.h"

struct bulkcache;

/* The claims of a verified token as the authority uses them, copied (no
 * pointer into a JSON tree: entries cross threads). "" when absent; a
 * longer claim is cut to fit (and its token never cached). */
struct bulkcache_claims {
    char jti[JWT_JTI_MAX + 1];
    char sub[42]; /* a device id */
    char jkt[JWK_THUMBPRINT_LEN + 1];
    char reg[9];
    char bulk[37];
    char kid[JWK_KID_MAX + 1];
    int64_t iat, nbf, exp, gen;
    enum jwt_kind kind;
    /* The token's labels claim: 0 none; 1 labels (proto/labels.h), their
     * canonical text given to bulkcache_verify_claims's caller; -1 a claim
     * that is not labels (never signed here): the token is never cached,
     * read its own claims. */
    int has_labels;
};

struct bulkcache *bulkcache_new(size_t slots);
void bulkcache_free(struct bulkcache *c);
/* Verifies token as a bulk token (cache first); on ERRCODE_OK fills id (the
 * jti, 36 chars + NUL) and hash. A genuine token outside its window also
 * gets its id (for the audit trail) with ERRCODE_TOKEN_EXPIRED or
 * ERRCODE_TOKEN_NOT_YET_VALID. Any thread. */
enum errcode bulkcache_verify(struct bulkcache *c, const char *token, const struct jwks *keys,
                              const struct jwt_expect *want, char id[37], uint8_t hash[32],
                              const char **errstr);
/* Verifies token as a token of want->kind (cache first), as jwt_verify does;
 * on ERRCODE_OK fills out and labels (LABELS_TEXT_MAX bytes, may be NULL)
 * with the canonical text of its labels claim ("" for none: the entry keeps
 * it, so a labelled token's signature is checked once too). A token whose
 * claims do not fit out, or whose labels claim is not labels, is verified
 * every time, never cached. Any thread. */
enum errcode bulkcache_verify_claims(struct bulkcache *c, const char *token,
                                     const struct jwks *keys, const struct jwt_expect *want,
                                     struct bulkcache_claims *out, char *labels,
                                     const char **errstr);
/* Hits and misses so far (for metrics and the benchmark). */
void bulkcache_stats(struct bulkcache *c, uint64_t *hits, uint64_t *misses);

#endif
