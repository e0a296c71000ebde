/* Read-only aggregates and searches for the admin console: counts, issuances
 * per minute, device search by prefix, the audit trail newest first with
 * filters, and what a block or revoke would affect. Every query is bounded
 * by an index (migration 6) so that it stays fast at a million devices. */
#ifndef SITETOKEN_STORE_STATS_H
#define SITETOKEN_STORE_STATS_H

#include <stdint.h>

struct store;
struct store_audit;

struct store_stats_counts {
    int64_t devices, devices_blocked;
    int64_t bulk_tokens, bulk_live; /* live: not blocked, not expired */
    int64_t mps;
    int64_t tokens_live;        /* client and access tokens with expires_at > now, revoked too */
    int64_t client_tokens_live; /* unrevoked client tokens with expires_at > now */
};

/* 0 or -1. */
int store_stats_counts(struct store *st, int64_t now, struct store_stats_counts *out,
                       const char **errstr);

/* Tokens issued in [from, to) per minute (Unix minute = t / 60), by kind.
 * cb(minute, client, access, arg) for each minute that has any, in order.
 * 0 or -1. */
int store_stats_issued(struct store *st, int64_t from, int64_t to,
                       int (*cb)(int64_t minute, int64_t client, int64_t access, void *arg),
                       void *arg, const char **errstr);

/* Device search by prefix of one field. */
enum store_search_field {
    STORE_SEARCH_NAME,
    STORE_SEARCH_HARDWARE_ID,
    STORE_SEARCH_ID,
};

/* Devices whose field starts with prefix (bytewise; "" matches all), ordered
 * by (field, id); after = the id of the last device of the previous page
 * ("" = from the start; an unknown one yields an empty page). cb gets each
 * id; nonzero stops. 0 or -1. */
int store_device_search(struct store *st, enum store_search_field field, const char *prefix,
                        const char *after, int limit, int (*cb)(const char *id, void *arg),
                        void *arg, const char **errstr);

/* Audit records newest first with seq < before (0 = from the newest), and,
 * when non-empty: action equal to `action` (or, when it ends in '.', starting
 * with it), subject equal, actor equal. At most limit. The record is valid
 * during the callback only. 0 or -1. */
int store_audit_recent(struct store *st, int64_t before, const char *action, const char *subject,
                       const char *actor, int limit,
                       int (*cb)(const struct store_audit *a, void *arg), void *arg,
                       const char **errstr);

/* What a change would affect. devices: devices concerned; tokens: their live
 * tokens (unrevoked, expires_at > now). 0 or -1. */
int store_impact_bulk(struct store *st, const char *bulk_id, int64_t now, int64_t *devices,
                      int64_t *tokens, const char **errstr);
int store_impact_device(struct store *st, const char *device_id, int64_t now, int64_t *tokens,
                        const char **errstr);
/* The live members of the family of jti (what a revoke revokes). */
int store_impact_token(struct store *st, const char *jti, int64_t now, int64_t *tokens,
                       const char **errstr);
int store_impact_mp(struct store *st, const char *mp_id, int64_t *devices, const char **errstr);

#endif
