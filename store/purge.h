/* Purging old entries: devices not seen for a while whose tokens have all
 * expired (a blocked one leaves a tombstone with its key thumbprint, so it
 * still cannot register again), and bulk tokens long expired whose devices'
 * tokens have all expired. Run by the writer, in its transaction. */
#ifndef SITETOKEN_STORE_PURGE_H
#define SITETOKEN_STORE_PURGE_H

#include <stdint.h>

struct store;

struct store_purge {
    int64_t count;      /* entries purged (or, dry run, that would be) */
    int64_t tombstones; /* of them, blocked devices that left a tombstone */
    int more;           /* more match than limit: run it again */
};

/* Devices last seen before seen_before with no token valid at now (exp +
 * skew), oldest contact first, at most limit. Unless dry_run: their tokens
 * and rows are deleted, blocked ones leave a tombstone. ids(id, arg) for
 * each (may be NULL). 0 or -1. */
int store_purge_devices(struct store *st, int64_t seen_before, int64_t now, int64_t skew, int limit,
                        int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                        struct store_purge *out, const char **errstr);
/* Bulk tokens that expired before expired_before and cannot verify at now
 * (exp + skew: a blocked one stays while it could), none of whose devices
 * holds a valid token. Unless dry_run: deleted, and their devices keep
 * reg = bulk with bulk_id cleared. 0 or -1. */
int store_purge_bulk(struct store *st, int64_t expired_before, int64_t now, int64_t skew, int limit,
                     int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                     struct store_purge *out, const char **errstr);
/* Whether jkt belongs to a purged blocked device: 0 yes, 1 no, -1 error. */
int store_purge_tombstone(struct store *st, const char *jkt, const char **errstr);

#endif
