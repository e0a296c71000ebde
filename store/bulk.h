/* Bulk registration tokens: the store keeps id, SHA-256, window and counters,
 * never the token. */
#ifndef SITETOKEN_STORE_BULK_H
#define SITETOKEN_STORE_BULK_H

#include <stdint.h>

#include "cidr.h"
#include "labels.h"

struct store;

struct store_bulk {
    char id[37]; /* the token's jti (time-ordered UUIDv7) */
    uint8_t token_hash[32];
    int64_t created_at, not_before, expires_at;
    int64_t max_uses; /* 0 = unlimited */
    int64_t uses;
    int blocked;
    int64_t last_used_at; /* 0 = never */
    char note[257];
    char created_by[97];
    char labels[LABELS_TEXT_MAX];    /* canonical (proto/labels.h), "" for none */
    char cidrs[CIDR_LIST_MAX];       /* canonical CIDR ranges, comma-joined; "" = anywhere */
    int64_t rate_per_second;         /* successful exchanges a second (per node); 0 = no cap */
    int allow_list;                  /* only the hardware ids of its allow-list may exchange */
    int64_t allow_total, allow_used; /* its entries, and those a device key claimed */
};

/* The most entries one bulk token's allow-list holds (docs/api.md). */
#define BULK_ALLOW_MAX 100000

/* One allow-list entry. */
struct store_allow {
    char hardware_id[257];
    char device_id[42]; /* "" while unused */
    int64_t used_at;    /* 0 while unused */
};

/* max_uses 0 and last_used_at 0 are stored as NULL. A duplicate id or hash
 * is an error (-1). */
int store_bulk_insert(struct store *st, const struct store_bulk *b, const char **errstr);
/* 0 found, 1 none, -1 error. */
int store_bulk_get(struct store *st, const char *id, struct store_bulk *out, const char **errstr);
/* What store_bulk_use found. The store reports facts; which refusal a client
 * sees (and in what order the facts count) is decided above the store. */
enum store_bulk_use {
    STORE_BULK_USED = 0,  /* admitted: uses += 1, last_used_at = now */
    STORE_BULK_UNKNOWN,   /* no such id, or the hash does not match */
    STORE_BULK_BLOCKED,   /* blocked by an administrator */
    STORE_BULK_NOT_YET,   /* now < not_before */
    STORE_BULK_EXPIRED,   /* now >= expires_at */
    STORE_BULK_EXHAUSTED, /* uses >= max_uses (also: taken by another writer meanwhile) */
    STORE_BULK_ERROR,     /* a store failure: *errstr, store_error() */
};

/* One exchange, inside the caller's transaction: reads the token's row and,
 * when it is admissible, takes one use with an UPDATE that checks blocked
 * and the cap again (so even a caller outside a transaction, or another
 * node's writer, never pushes uses past max_uses). The facts are reported
 * in this order, the first that holds: unknown (an unknown id or a hash
 * mismatch, compared in constant time: a forged token learns nothing of the
 * real one), blocked, not yet valid, expired, exhausted; else used.
 * *errstr is set only for STORE_BULK_ERROR. */
enum store_bulk_use store_bulk_use(struct store *st, const char *id, const uint8_t hash[32],
                                   int64_t now, const char **errstr);
/* A retried first exchange (the same device key within the retry window):
 * the same facts as store_bulk_use except the cap, and no use is taken
 * (STORE_BULK_USED = admitted). */
enum store_bulk_use store_bulk_retry(struct store *st, const char *id, const uint8_t hash[32],
                                     int64_t now, const char **errstr);
/* Adds hardware_id to bulk_id's allow-list (allow_total is the caller's,
 * store_bulk_allow_total): 0 added, 1 already there, -1 error. */
int store_bulk_allow_add(struct store *st, const char *bulk_id, const char *hardware_id,
                         const char **errstr);
int store_bulk_allow_total(struct store *st, const char *bulk_id, int64_t total,
                           const char **errstr);
/* What store_bulk_allow_claim found. */
enum store_allow_claim {
    STORE_ALLOW_OPEN = 0, /* the token has no allow-list */
    STORE_ALLOW_CLAIMED,  /* the entry was free: now jkt's (allow_used += 1) */
    STORE_ALLOW_MINE,     /* the entry is already jkt's (the same device again) */
    STORE_ALLOW_ABSENT,   /* hardware_id is not on the list */
    STORE_ALLOW_TAKEN,    /* another device key claimed it first */
    STORE_ALLOW_ERROR,
};
/* One exchange's claim of hardware_id on bulk_id's allow-list, inside the
 * writer's transaction. */
enum store_allow_claim store_bulk_allow_claim(struct store *st, const char *bulk_id,
                                              const char *hardware_id, const char *jkt,
                                              const char *device_id, int64_t now,
                                              const char **errstr);
/* The allow-list by hardware id, after `after` ("" from the start), at most
 * limit; cb returns nonzero to stop. 0 or -1. */
int store_bulk_allow_list(struct store *st, const char *bulk_id, const char *after, int limit,
                          int (*cb)(const struct store_allow *e, void *arg), void *arg,
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
