/* Signing keys in the store: public JWK in clear, private key only sealed. */
#ifndef SITETOKEN_STORE_KEYS_H
#define SITETOKEN_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct store_key {
    char kid[65];
    char alg[8];    /* "EdDSA", "ES256", "RS256" */
    char status[8]; /* "next", "active", "retired" */
    int64_t created_at, activates_at;
    int64_t retired_at; /* 0 when not retired */
    int64_t tainted_at; /* 0 unless tainted (suspected leak): still verifies, never signs */
    int64_t revoked_at; /* 0 unless revoked: kept (status retired) only to name it, unpublished */
    char *public_jwk;   /* JSON text, malloc'd */
    uint8_t *sealed;    /* sealed private key blob, malloc'd */
    size_t sealed_len;
};

/* Every key, oldest first (created_at, then insertion order). *keys is
 * malloc'd; free with store_keys_free. */
int store_keys_list(struct store *st, struct store_key **keys, size_t *n, const char **errstr);
void store_keys_free(struct store_key *keys, size_t n);
int store_key_insert(struct store *st, const struct store_key *key, const char **errstr);
/* Sets status; "retired" also sets retired_at = at, "active" sets
 * activates_at = at. 0, 1 when no key has that kid, -1 (also for a status
 * outside next/active/retired). */
int store_key_set_status(struct store *st, const char *kid, const char *status, int64_t at,
                         const char **errstr);
/* Marks kid tainted at `at` (a next key also retires then). 0, 1 when no
 * untainted, unrevoked key has that kid, -1. */
int store_key_taint(struct store *st, const char *kid, int64_t at, const char **errstr);
/* Revokes kid (never the active key): revoked_at = at, status retired.
 * 0, 1 when no such unrevoked, inactive key, -1. */
int store_key_revoke(struct store *st, const char *kid, int64_t at, const char **errstr);
/* What revoking kid would cut off: its live (unexpired, unrevoked) tokens
 * and their devices. 0 or -1. */
int store_key_impact(struct store *st, const char *kid, int64_t now, int64_t *devices,
                     int64_t *tokens, const char **errstr);
/* 0, 1 when no key has that kid, -1. */
int store_key_delete(struct store *st, const char *kid, const char **errstr);
/* The latest expiry of anything the store says kid may have signed: client
 * and access tokens recorded with that kid, and bulk tokens created between
 * from and to (the key's active period: a bulk token row records no kid).
 * *until is 0 when there is none. 0 or -1. */
int store_key_signed_until(struct store *st, const char *kid, int64_t from, int64_t to,
                           int64_t *until, const char **errstr);

#endif
