/* Maintenance reads and changes of MPs (see maint.h): an MP's last use and
 * its new key. Both statements are in the shared cache (store_int.h). */
#include <string.h>

#include "maint.h"
#include "store_int.h"

static int
maint_int64_decode(struct store_stmt *stmt, void *row)
{
    *(int64_t *)row = store_col_int64(stmt, 0);
    return 0;
}

int
store_maint_mp_last_use(struct store *st, const char *mp_id, int64_t *at, const char **errstr)
{
    struct store_stmt *stmt;

    /* devices_mp (migration 6): the MP of each device's last contact */
    if ((stmt = store_stmt(st, STMT_MAINT_MP_LAST_USE,
                           "SELECT max(last_seen_at) FROM devices WHERE mp_id = ?1", errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, mp_id);
    /* an aggregate: always one row (NULL, read as 0, when none) */
    return store_row_one(st, stmt, maint_int64_decode, at, "MP last use", "MP last use: no row",
                         errstr) == 0
               ? 0
               : -1;
}

int
store_maint_mp_set_key(struct store *st, const char *id, const uint8_t key_hash[32],
                       const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_MAINT_MP_SET_KEY,
                           "UPDATE mps SET key_hash = ?2 WHERE id = ?1 AND removed_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, id);
    store_bind_blob(stmt, 2, key_hash, 32);
    return store_changed_one(st, stmt, "MP key", "no such MP", errstr);
}
