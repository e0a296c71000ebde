/* Maintenance reads and changes (see maint.h). Statements are prepared per
 * call: these run when an administrator asks, never on a device's path. */
#include <string.h>

#include "devices.h"
#include "maint.h"
#include "store_int.h"

static sqlite3_stmt *
maint_prepare(struct store *st, const char *sql, const char **errstr)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *errstr = store_err(st, "prepare maint");
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

int
store_maint_bulk_devices(struct store *st, const char *bulk_id, int limit,
                         int (*cb)(const struct store_device *d, void *arg), void *arg,
                         const char **errstr)
{
    sqlite3_stmt *stmt;
    struct store_device d;
    int rc = 0, step;

    if ((stmt = maint_prepare(st,
                              "SELECT id, jkt, hardware_id, name, reg, bulk_id, mp_id, created_at,"
                              " last_seen_at, blocked FROM devices WHERE bulk_id = ?1"
                              " ORDER BY created_at, id LIMIT ?2",
                              errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, bulk_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, limit);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        memset(&d, 0, sizeof(d));
        if (store_col_text(stmt, 0, d.id, sizeof(d.id)) == -1 ||
            store_col_text(stmt, 1, d.jkt, sizeof(d.jkt)) == -1 ||
            store_col_text(stmt, 2, d.hardware_id, sizeof(d.hardware_id)) == -1 ||
            store_col_text(stmt, 3, d.name, sizeof(d.name)) == -1 ||
            store_col_text(stmt, 4, d.reg, sizeof(d.reg)) == -1 ||
            store_col_text(stmt, 5, d.bulk_id, sizeof(d.bulk_id)) == -1 ||
            store_col_text(stmt, 6, d.mp_id, sizeof(d.mp_id)) == -1) {
            *errstr = store_errf(st, "devices: unreadable row");
            rc = -1;
            break;
        }
        d.created_at = sqlite3_column_int64(stmt, 7);
        d.last_seen_at = sqlite3_column_int64(stmt, 8);
        d.blocked = sqlite3_column_int(stmt, 9);
        if (cb(&d, arg) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
        *errstr = store_err(st, "devices of a bulk token");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
store_maint_mp_last_use(struct store *st, const char *mp_id, int64_t *at, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    /* devices_mp (migration 6): the MP of each device's last contact */
    if ((stmt = maint_prepare(st, "SELECT max(last_seen_at) FROM devices WHERE mp_id = ?1",
                              errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, mp_id, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *at = sqlite3_column_int64(stmt, 0);
    } else {
        *errstr = store_err(st, "MP last use");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
store_maint_mp_set_key(struct store *st, const char *id, const uint8_t key_hash[32],
                       const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt =
             maint_prepare(st, "UPDATE mps SET key_hash = ?2 WHERE id = ?1 AND removed_at IS NULL",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, key_hash, 32, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        *errstr = store_err(st, "MP key");
        rc = -1;
    } else {
        rc = sqlite3_changes(st->db) == 1 ? 0 : 1;
    }
    sqlite3_finalize(stmt);
    return rc;
}
