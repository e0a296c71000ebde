/* The audit trail: append-only records chained by SHA-256, so an edit, a
 * deletion or a reordering shows in store_audit_verify. */
#ifndef SITETOKEN_STORE_AUDIT_H
#define SITETOKEN_STORE_AUDIT_H

#include <stdint.h>

struct store;

struct store_audit {
    int64_t seq, time;
    char actor[97];
    char action[49];
    char subject[129];
    char *detail; /* JSON object text, borrowed during the callback */
    char prev_hash[65], hash[65];
};

/* Appends one record inside the caller's transaction: seq = last + 1,
 * prev_hash = last hash (64 zeros for the first), hash = hex SHA-256 of
 * prev_hash || canonical(seq, time, actor, action, subject, detail), where
 * canonical is the compact JSON array [seq,time,actor,action,subject,detail]
 * with detail embedded as text. 0 or -1.
 * detail_json must be a JSON object (NULL or "" = {}, duplicate keys refused,
 * at most 64 KiB); it is stored canonical (compact, keys sorted, as jansson's
 * json_dumps JSON_COMPACT|JSON_SORT_KEYS prints it) and that stored text is
 * what is hashed, so verification never re-serialises it. subject NULL = "".
 * Text must be UTF-8. Example canonical text for the first record:
 * [1,1700000000,"admin","bulk.create","0e4c...",{"lifetime":4320}]
 * hashed after 64 '0' (its prev_hash). */
int store_audit_append(struct store *st, int64_t time, const char *actor, const char *action,
                       const char *subject, const char *detail_json, const char **errstr);
/* Locks the chain's head until the caller's transaction ends, so that
 * appends from several processes (nodes on one database) line up: the
 * next one reads the last record only once this transaction committed.
 * store_audit_append takes it itself; a writer that may append takes it
 * first thing in its transaction, before any row lock, so that two nodes'
 * transactions never wait on each other in opposite orders (a deadlock).
 * On SQLite, BEGIN IMMEDIATE already holds the one write lock: nothing to
 * do. 0 or -1. */
int store_audit_lock(struct store *st, const char **errstr);
/* Records with seq > after, at most limit, in order. */
int store_audit_list(struct store *st, int64_t after, int limit,
                     int (*cb)(const struct store_audit *a, void *arg), void *arg,
                     const char **errstr);
/* Recomputes the chain in seq order. *ok = 1 when intact (*first_bad = 0);
 * else *first_bad = the first seq at which the trail departs from the
 * expected 1, 2, 3, ...: a record whose content, prev_hash link or hash is
 * wrong gives its seq; a gap (deleted record, or a missing first record)
 * gives the first missing seq. Swapped records show as the lower of the two.
 * *records = number of records present, *head = hash of the last one (64 '0'
 * when there is none).
 * A chain alone cannot show that its newest records were deleted (the rest
 * is still a valid chain): compare *head with one recorded elsewhere. */
int store_audit_verify(struct store *st, int *ok, int64_t *first_bad, int64_t *records,
                       char head[65], const char **errstr);

#endif
