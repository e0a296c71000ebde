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
 * with detail embedded as text. 0 or -1. */
int store_audit_append(struct store *st, int64_t time, const char *actor, const char *action,
                       const char *subject, const char *detail_json, const char **errstr);
/* Records with seq > after, at most limit, in order. */
int store_audit_list(struct store *st, int64_t after, int limit,
                     int (*cb)(const struct store_audit *a, void *arg), void *arg,
                     const char **errstr);
/* Recomputes the chain. *ok = 1 when intact; else *first_bad = the first seq
 * whose record or link is wrong (a gap in seq counts). *records, *head set. */
int store_audit_verify(struct store *st, int *ok, int64_t *first_bad, int64_t *records,
                       char head[65], const char **errstr);

#endif
