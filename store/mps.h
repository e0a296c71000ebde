/* Management points: their API key is stored only as its SHA-256. */
#ifndef SITETOKEN_STORE_MPS_H
#define SITETOKEN_STORE_MPS_H

#include <stdint.h>

#include "labels.h"

struct store;

struct store_mp {
    char id[37]; /* a random UUIDv4 (ids_uuid4): MP ids carry no time */
    char name[129];
    uint8_t key_hash[32];
    char cert_sha256[65]; /* "" when none */
    int64_t created_at;
    int64_t removed_at;           /* 0 when active */
    char labels[LABELS_TEXT_MAX]; /* canonical (proto/labels.h), "" for none */
};

/* Inserts an MP; a live MP with the same name or certificate -> 1 (conflict),
 * 0 ok, -1 error (a duplicate id or key hash is an error). cert_sha256 ""
 * is stored as NULL. The name of a removed MP may be used again. */
int store_mp_insert(struct store *st, const struct store_mp *mp, const char **errstr);
/* Live MP whose key hashes to hash (the stored hash is compared in constant
 * time). 0 found, 1 none, -1 error. */
int store_mp_find_by_key_hash(struct store *st, const uint8_t hash[32], struct store_mp *out,
                              const char **errstr);
/* Live MP whose client certificate has the SHA-256 fingerprint cert_sha256
 * (64 lower-case hex digits). 0 found, 1 none, -1 error. */
int store_mp_find_by_cert(struct store *st, const char *cert_sha256, struct store_mp *out,
                          const char **errstr);
/* By id, removed MPs included (removed_at != 0). 0 found, 1 none, -1 error. */
int store_mp_get(struct store *st, const char *id, struct store_mp *out, const char **errstr);
/* Marks removed (kept for the audit trail); 1 when no live MP has that id. */
int store_mp_remove(struct store *st, const char *id, int64_t now, const char **errstr);
/* Calls cb for each live MP by name; cb returns nonzero to stop. */
int store_mp_list(struct store *st, int (*cb)(const struct store_mp *mp, void *arg), void *arg,
                  const char **errstr);

#endif
