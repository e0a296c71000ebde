/* The signer: the only module that touches private keys. It keeps the keys
 * of the store unsealed in memory, signs tokens with the active one, runs the
 * key lifecycle (next -> active -> retired -> removed), and publishes the
 * verification keys as a JWKS document with an ETag. */
#ifndef SITETOKEN_SIGNER_H
#define SITETOKEN_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errcode.h"
#include "jwt.h"
#include "seal.h"

struct store;
struct signer;
struct jwks;

struct signer_policy {
    const char *algorithm; /* for new keys */
    int64_t rotation_period_s, prepublish_s;
    /* A retired key leaves once the last token the store says it signed has
     * expired plus skew_s, but at the latest max_token_lifetime_s after its
     * retirement (no skew added to that cap), and never before a 60 s grace. */
    int64_t max_token_lifetime_s;
    int64_t skew_s; /* the clock skew verifiers allow past a token's exp */
};

/* A published, immutable snapshot of the verification keys. Take with
 * signer_keys_get, give back with signer_keys_put; safe from any thread. */
struct signer_keys {
    struct jwks *jwks;    /* every key a token may have been signed with */
    struct jwks *revoked; /* revoked keys: verify nothing, only tell token_revoked */
    char *doc;            /* the JWKS document served on /v1/keys */
    size_t doclen;
    char etag[48];
    int64_t max_age_s;
    int has_active;
};

struct signer *signer_new(const uint8_t seal_key[SEAL_KEY_LEN], const struct signer_policy *p);
void signer_free(struct signer *s);

/* Lifecycle step inside the writer's transaction: makes the first key,
 * publishes the next one prepublish ahead of its due time, activates a due
 * next key and retires the old one, drops retired keys as soon as nothing
 * they signed is valid (the store's token rows and bulk tokens say). At most
 * 32 keys are published: a rotation that needs a new key past that is
 * ERRCODE_CONFLICT with detail saying when a slot frees; the timer then just
 * waits. mode: SIGNER_TICK (timer), SIGNER_ROTATE (publish a next key now),
 * SIGNER_ROTATE_NOW (activate a new key at once). Writes what changed into
 * changed and, on an error, why into detail (both may be NULL). Never
 * touches the in-memory keys: call signer_reload after the commit. */
enum signer_mode { SIGNER_TICK, SIGNER_ROTATE, SIGNER_ROTATE_NOW };
enum errcode signer_lifecycle(struct signer *s, struct store *st, int64_t now_s,
                              enum signer_mode mode, char *changed, size_t changed_len,
                              char *detail, size_t detail_len);
/* Loads all keys from the store (unsealing private keys) and rebuilds the
 * published snapshot. 0 or -1 with *errstr. */
int signer_reload(struct signer *s, struct store *st, const char **errstr);
/* The same from any thread (a worker's connection: another node changed the
 * keys), installed only when no other reload was since signer_generation
 * said since: 0, 1 not installed (read again), or -1. */
int signer_reload_since(struct signer *s, struct store *st, uint64_t since, const char **errstr);
uint64_t signer_generation(struct signer *s);

/* Signs a JWT of kind with the active key: *token is malloc'd (caller frees),
 * kid gets the key id. ERRCODE_OK or ERRCODE_UNAVAILABLE. */
enum errcode signer_sign(struct signer *s, enum jwt_kind kind, const json_t *claims, char **token,
                         char kid[65]);

/* The same for a signed document that is not a token (the revocation feed,
 * typ "sitetoken-revocations+jwt"): header {alg, kid, typ}. */
enum errcode signer_sign_typ(struct signer *s, const char *typ, const json_t *claims, char **token,
                             char kid[65]);

/* Taints kid inside the writer's transaction (a suspected leak): it still
 * verifies but never signs again; tokens it signed may be renewed at once.
 * Tainting the active key first activates the next key (or a new one) as
 * SIGNER_ROTATE_NOW does. ERRCODE_NOT_FOUND, ERRCODE_CONFLICT (already
 * tainted or revoked, or the rotation's cap), ERRCODE_UNAVAILABLE. As for
 * signer_lifecycle: call signer_reload after the commit. */
enum errcode signer_taint(struct signer *s, struct store *st, const char *kid, int64_t now_s,
                          char *changed, size_t changed_len, char *detail, size_t detail_len);
/* Revokes kid (refused with ERRCODE_CONFLICT for the active key: taint it
 * first): it leaves the JWKS and verifies nothing; its tokens are told
 * token_revoked. Same contract as signer_taint. */
enum errcode signer_revoke(struct signer *s, struct store *st, const char *kid, int64_t now_s,
                           char *changed, size_t changed_len, char *detail, size_t detail_len);
/* 1 when kid is a tainted key of the last reload. Any thread. */
int signer_kid_tainted(struct signer *s, const char *kid);
/* 1 when kid is a revoked key of the last reload (its tokens are refused
 * token_revoked, whatever their rows say). Any thread. */
int signer_kid_revoked(struct signer *s, const char *kid);

/* jwt_verify against the published keys; a token that only a revoked key
 * verifies is told token_revoked (its key was pulled after a leak), not
 * unknown_key. */
enum errcode signer_verify(const struct signer_keys *keys, const char *token,
                           const struct jwt_expect *want, struct jwt_claims *c,
                           const char **errstr);
struct signer_keys *signer_keys_get(struct signer *s);
void signer_keys_put(struct signer_keys *k);

/* The key list for admins: [{kid, alg, status, created_at, activates_at,
 * retired_at, removed_after}] (new reference); retired_at and removed_after
 * are null until a key retires; removed_after is when a retired key may
 * leave, computed at the last signer_reload (not a live answer). */
json_t *signer_key_list(struct signer *s);

#endif
