/* Bulk registration tokens: the store keeps id, SHA-256, window and counters,
 * never the token. */
#ifndef SITETOKEN_STORE_BULK_H
#define SITETOKEN_STORE_BULK_H

#include <stdint.h>

#include "errcode.h"

struct store;

struct store_bulk {
    char id[37]; /* uuid4 = the token's jti */
    uint8_t token_hash[32];
    int64_t created_at, not_before, expires_at;
    int64_t max_uses; /* 0 = unlimited */
    int64_t uses;
    int blocked;
    int64_t last_used_at; /* 0 = never */
    char note[257];
    char created_by[97];
};

/* max_uses 0 and last_used_at 0 are stored as NULL. A duplicate id or hash
 * is an error (-1). */
int store_bulk_insert(struct store *st, const struct store_bulk *b, const char **errstr);
/* 0 found, 1 none, -1 error. */
int store_bulk_get(struct store *st, const char *id, struct store_bulk *out, const char **errstr);
/* One exchange, inside the caller's transaction: the token must exist with that
 * hash (else ERRCODE_BAD_SIGNATURE: unknown or forged), be in its window
 * (ERRCODE_TOKEN_NOT_YET_VALID / ERRCODE_TOKEN_EXPIRED), not blocked
 * (ERRCODE_BULK_TOKEN_BLOCKED), under max_uses (ERRCODE_BULK_TOKEN_EXHAUSTED);
 * then uses += 1 and last_used_at = now. Returns ERRCODE_OK, a refusal, or
 * ERRCODE_UNAVAILABLE with *errstr on a store error (*errstr is not set for
 * a refusal). The checks run in this order: bad signature (unknown id or
 * hash mismatch, compared in constant time), blocked, not yet valid,
 * expired (now >= expires_at), exhausted. */
enum errcode store_bulk_use(struct store *st, const char *id, const uint8_t hash[32], int64_t now,
                            const char **errstr);
/* 0 ok, 1 no such id, -1 error. */
int store_bulk_set_blocked(struct store *st, const char *id, int blocked, const char **errstr);
/* Newest first: by created_at descending, and among equal created_at the
 * later inserted first. `after` is the id of the last token of the previous
 * page ("" or NULL = from the start); the page holds those that sort after
 * it, at most limit; cb returns nonzero to stop. */
int store_bulk_list(struct store *st, const char *after, int limit,
                    int (*cb)(const struct store_bulk *b, void *arg), void *arg,
                    const char **errstr);

#endif
