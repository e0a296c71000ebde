/* Devices (a public key thumbprint plus what the MP reported) and the tokens
 * issued to them. */
#ifndef SITETOKEN_STORE_DEVICES_H
#define SITETOKEN_STORE_DEVICES_H

#include <stdint.h>

#include "labels.h"

struct store;

struct store_device {
    char id[42]; /* "GUID:" + a time-ordered UUIDv7 (older rows: UUIDv4) */
    char jkt[44];
    char hardware_id[257];
    char name[257];
    char reg[9];      /* "intranet" or "bulk" */
    char bulk_id[37]; /* "" when none */
    char mp_id[37];
    int64_t created_at, last_seen_at;
    int blocked;
    char labels[LABELS_TEXT_MAX]; /* canonical (proto/labels.h), "" for none */
};

struct store_token {
    char jti[65]; /* ms-time-prefixed, base64url (ids_jti) */
    char kind[8]; /* "client" or "access" */
    char device_id[42];
    char kid[65];
    int64_t issued_at, expires_at, gen;
    char bulk_id[37];
    char mp_id[37];
    char prev_jti[65];
    int64_t revoked_at; /* 0 when not revoked */
    char revoke_reason[129];
    /* The family: the jti of the first client token of the renewal chain
     * (its own jti for a registration or an exchange). On insert "" means
     * the token's own jti. */
    char family[65];
    int device_blocked; /* read only: the device's blocked flag, now */
};

/* A token revoked with its family (or its superseded branch). */
struct store_token_revoked {
    const char *jti;
    int64_t expires_at;
};

/* The reason a superseded token is revoked with. */
#define STORE_REASON_SUPERSEDED "superseded"

/* 0 found, 1 none, -1 error. */
int store_device_by_jkt(struct store *st, const char *jkt, struct store_device *out,
                        const char **errstr);
int store_device_get(struct store *st, const char *id, struct store_device *out,
                     const char **errstr);
/* A duplicate id or jkt, an unknown bulk_id or a bad reg is an error (-1).
 * bulk_id, mp_id and labels "" are stored as NULL; each label pair also gets
 * its device_labels row. */
int store_device_insert(struct store *st, const struct store_device *d, const char **errstr);
/* Updates hardware_id, name, last_seen_at (and mp_id, unless NULL or "") of
 * an existing device. 0 ok, 1 no such device, -1 error. */
int store_device_touch(struct store *st, const char *id, const char *hardware_id, const char *name,
                       const char *mp_id, int64_t now, const char **errstr);
/* 0 ok, 1 no such device, -1 error. */
int store_device_set_blocked(struct store *st, const char *id, int blocked, const char **errstr);
/* Filters: status "" (or NULL) / "active" / "blocked" (anything else: -1),
 * name_prefix "" (or NULL) for all, else names starting with it (bytewise).
 * Ordered by id, ids greater than the cursor `after` (the last id of the
 * previous page, "" = from the start), at most limit. cb returns nonzero to
 * stop. */
int store_device_list(struct store *st, const char *status, const char *name_prefix,
                      const char *after, int limit,
                      int (*cb)(const struct store_device *d, void *arg), void *arg,
                      const char **errstr);
/* The devices enrolled with bulk_id, oldest first, at most limit
 * (devices_bulk index); cb returns nonzero to stop. 0 or -1. */
int store_device_list_bulk(struct store *st, const char *bulk_id, int limit,
                           int (*cb)(const struct store_device *d, void *arg), void *arg,
                           const char **errstr);

/* Devices carrying label ("key=value"), by id after `after` ("" = from
 * the start), at most limit: a seek of device_labels. cb as above. */
int store_device_list_label(struct store *st, const char *label, const char *after, int limit,
                            int (*cb)(const struct store_device *d, void *arg), void *arg,
                            const char **errstr);

/* A duplicate jti or an unknown device_id is an error (-1). bulk_id, mp_id,
 * prev_jti, revoke_reason "" and revoked_at 0 are stored as NULL. */
int store_token_insert(struct store *st, const struct store_token *t, const char **errstr);
/* 0 found, 1 none, -1 error. */
int store_token_get(struct store *st, const char *jti, struct store_token *out,
                    const char **errstr);
/* Sets revoked_at = now and revoke_reason (NULL = "") unless already revoked
 * (the first revocation stands). Only the token row: the caller adds the
 * revocation feed entry in the same transaction.
 * 0 revoked now, 1 no such token, 2 already revoked, -1 error. */
int store_token_revoke(struct store *st, const char *jti, int64_t now, const char *reason,
                       const char **errstr);
/* Renewing `jti` again: revokes, with reason "superseded", every live
 * (unrevoked) client successor of jti and everything renewed after or
 * minted from it, recursively through the prev_jti links (one recursive
 * UPDATE). Only members with expires_at > live_after are revoked (the others
 * are refused as expired anyway); the walk goes on through them. cb is called
 * once per revoked member (the caller adds its feed entry); a nonzero return
 * makes this return -1 (the caller then rolls back, as on any -1). Returns
 * how many were revoked, or -1. */
int store_token_supersede(struct store *st, const char *jti, int64_t now, int64_t live_after,
                          int (*cb)(const struct store_token_revoked *r, void *arg), void *arg,
                          const char **errstr);
/* A first exchange retried (same device key, same bulk token): revokes,
 * with reason "superseded", every live member of the families that the
 * device's earlier exchanges of bulk_id started; cb as above. Returns how
 * many were revoked, or -1. */
int store_token_supersede_enrolment(struct store *st, const char *device_id, const char *bulk_id,
                                    int64_t now, int64_t live_after,
                                    int (*cb)(const struct store_token_revoked *r, void *arg),
                                    void *arg, const char **errstr);
/* Revokes every live member of family (expires_at > live_after, not yet
 * revoked) with reason (NULL = ""), in one indexed UPDATE; cb as above.
 * Returns how many were revoked, or -1. */
int store_token_revoke_family(struct store *st, const char *family, int64_t now, int64_t live_after,
                              const char *reason,
                              int (*cb)(const struct store_token_revoked *r, void *arg), void *arg,
                              const char **errstr);
/* Tokens of a device ("" or NULL = all devices), newest first: by issued_at
 * descending, and among equal issued_at the later inserted first. `after` is
 * the jti of the last token of the previous page ("" = from the start); at
 * most limit. cb returns nonzero to stop. */
int store_token_list(struct store *st, const char *device_id, const char *after, int limit,
                     int (*cb)(const struct store_token *t, void *arg), void *arg,
                     const char **errstr);
/* Latest expires_at among the device's tokens (0 when none, or on a store
 * error). */
int64_t store_device_last_expiry(struct store *st, const char *device_id);

#endif
