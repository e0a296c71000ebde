/* Admin reads and changes for sitetokenctl's maintenance commands: the
 * devices one bulk token enrolled, an MP's last use, an MP's new key. Rare
 * calls: each prepares its statement per call (no shared cache slot). */
#ifndef SITETOKEN_STORE_MAINT_H
#define SITETOKEN_STORE_MAINT_H

#include <stdint.h>

struct store;
struct store_device;

/* Devices enrolled with bulk_id, oldest first, at most limit (devices_bulk
 * index); cb nonzero stops. 0 or -1. */
int store_maint_bulk_devices(struct store *st, const char *bulk_id, int limit,
                             int (*cb)(const struct store_device *d, void *arg), void *arg,
                             const char **errstr);
/* The last contact of any device through mp_id (0 = none). 0 or -1. */
int store_maint_mp_last_use(struct store *st, const char *mp_id, int64_t *at, const char **errstr);
/* Replaces the key hash of a live MP: 0, 1 when there is no live MP id, -1. */
int store_maint_mp_set_key(struct store *st, const char *id, const uint8_t key_hash[32],
                           const char **errstr);

#endif
