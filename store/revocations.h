/* The revocation feed: entries with a monotonically increasing serial,
 * written in the same transaction as the state change they record. */
#ifndef SITETOKEN_STORE_REVOCATIONS_H
#define SITETOKEN_STORE_REVOCATIONS_H

#include <stdint.h>

struct store;

struct store_revocation {
    int64_t serial;
    char kind[8]; /* "token", "device", "bulk" */
    char id[65];
    int64_t revoked_at, expires_at;
    char reason[129];
};

/* Serials stay below 2^53, exact in JSON numbers. */
#define STORE_SERIAL_MAX (INT64_C(1) << 53)

/* Appends an entry; *serial (may be NULL) gets its serial: max(previous + 1,
 * Unix time in microseconds), never reused, also after a restore. reason NULL = "".
 * 0 or -1 (also for a kind other than token/device/bulk). */
int store_revocation_add(struct store *st, const char *kind, const char *id, int64_t revoked_at,
                         int64_t expires_at, const char *reason, int64_t *serial,
                         const char **errstr);
/* Entries with serial > since and expires_at > now, in serial order, at most
 * limit (<= 0: no limit); cb returns nonzero to stop. */
int store_revocation_list(struct store *st, int64_t since, int64_t now, int limit,
                          int (*cb)(const struct store_revocation *r, void *arg), void *arg,
                          const char **errstr);
/* Highest serial ever issued (0 when none, or on a store error): it never
 * decreases, prunes and restarts included. */
int64_t store_revocation_serial(struct store *st);
/* Deletes entries with expires_at < now; returns how many, or -1. */
int store_revocation_prune(struct store *st, int64_t now, const char **errstr);
/* Deletes every entry of kind/id (an unblock: the thing is no longer
 * revoked). The serial does not go back; a gateway learns of the removal the
 * next time it fetches the whole feed (since=0). Returns how many, or -1. */
int store_revocation_remove(struct store *st, const char *kind, const char *id,
                            const char **errstr);
/* 1 when an unexpired entry of kind/id exists, 0 when not, -1 on error. */
int store_revocation_exists(struct store *st, const char *kind, const char *id, int64_t now);

/* The revocation journal of a connection (the writer's): while on, every
 * store_revocation_add and store_revocation_remove that succeeded is also
 * recorded, in order; a savepoint rolled back drops what it undid, a
 * transaction rolled back everything; store_journal_take after the commit
 * hands over what that commit made durable. So the writer can give the
 * loop the entries it committed and nothing reads them back there. */
struct store_rev_change {
    int removed; /* an unblock: every entry of r.kind/r.id went (only those two are set) */
    struct store_revocation r;
    /* An entry's predecessor: the highest serial committed before it on a
     * shared database (PostgreSQL: read under the serial's row lock), so a
     * reader knows whether it holds everything below r.serial; 0 where the
     * writer is the only one (SQLite). */
    int64_t prev;
};
struct store_rev_changes {
    size_t n, cap;
    struct store_rev_change *v;
};
void store_journal(struct store *st, int on);
/* What was recorded since the last take (owned by the caller: free with
 * store_rev_changes_free), NULL when nothing was (or out of memory: the
 * journal then says so with *lost = 1, and the reader must read the store). */
struct store_rev_changes *store_journal_take(struct store *st, int *lost);
void store_rev_changes_free(struct store_rev_changes *c);

#endif
