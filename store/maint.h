/* Admin reads and changes of MPs for sitetokenctl's maintenance commands: an
 * MP's last use, an MP's new key. (The devices one bulk token enrolled:
 * store_device_list_bulk in devices.h.) */
#ifndef SITETOKEN_STORE_MAINT_H
#define SITETOKEN_STORE_MAINT_H

#include <stdint.h>

struct store;

/* The last contact of any device through mp_id (0 = none). 0 or -1. */
int store_maint_mp_last_use(struct store *st, const char *mp_id, int64_t *at, const char **errstr);
/* Replaces the key hash of a live MP: 0, 1 when there is no live MP id, -1. */
int store_maint_mp_set_key(struct store *st, const char *id, const uint8_t key_hash[32],
                           const char **errstr);

#endif
