/* The revocation feed gateways poll. A serial is never reused and never goes
 * back: serial = max(previous + 1, Unix time in microseconds), so even a
 * database restored from a backup (whose previous serial is older) hands out
 * serials above every one given out before the restore. AUTOINCREMENT keeps
 * the previous serial when the entries carrying it have been pruned. */
#include <string.h>
#include <time.h>

#include "revocations.h"
#include "store_int.h"

int
store_revocation_add(struct store *st, const char *kind, const char *id, int64_t revoked_at,
                     int64_t expires_at, const char *reason, int64_t *serial, const char **errstr)
{
    struct store_revocation *r = NULL; /* for the buffer sizes */
    sqlite3_stmt *stmt;
    struct timespec ts;
    int64_t now_us;
    int rc;

    /* The wall clock, or revoked_at when that is later (the debug clock). */
    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (revoked_at > 0 && revoked_at < STORE_SERIAL_MAX / 1000000 && revoked_at * 1000000 > now_us)
        now_us = revoked_at * 1000000;

    if (store_check_len(st, "revocation kind", kind, sizeof(r->kind) - 1, errstr) == -1 ||
        store_check_len(st, "revoked id", id, sizeof(r->id) - 1, errstr) == -1 ||
        store_check_len(st, "revocation reason", reason, sizeof(r->reason) - 1, errstr) == -1 ||
        (stmt = store_stmt(st, STMT_REV_ADD,
                           "INSERT INTO revocations(serial, kind, id, revoked_at, expires_at,"
                           " reason) VALUES (max(coalesce((SELECT seq FROM sqlite_sequence"
                           " WHERE name = 'revocations'), 0) + 1, ?6), ?1, ?2, ?3, ?4, ?5)",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, revoked_at);
    sqlite3_bind_int64(stmt, 4, expires_at);
    sqlite3_bind_text(stmt, 5, reason != NULL ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, now_us);
    rc = store_step_done(st, stmt, "add revocation", errstr);
    if (rc == 0 && sqlite3_last_insert_rowid(st->db) >= STORE_SERIAL_MAX) {
        *errstr = store_errf(st, STORE_ERR_FULL, "revocation serial past 2^53");
        rc = -1;
    }
    if (rc == 0 && serial != NULL)
        *serial = sqlite3_last_insert_rowid(st->db);
    store_stmt_done(stmt);
    return rc;
}

static int
revocation_from_row(sqlite3_stmt *stmt, void *row)
{
    struct store_revocation *r = row;

    memset(r, 0, sizeof(*r));
    r->serial = sqlite3_column_int64(stmt, 0);
    r->revoked_at = sqlite3_column_int64(stmt, 3);
    r->expires_at = sqlite3_column_int64(stmt, 4);
    if (store_col_text(stmt, 1, r->kind, sizeof(r->kind)) == -1 ||
        store_col_text(stmt, 2, r->id, sizeof(r->id)) == -1 ||
        store_col_text(stmt, 5, r->reason, sizeof(r->reason)) == -1)
        return -1;
    return 0;
}

int
store_revocation_list(struct store *st, int64_t since, int64_t now, int limit,
                      int (*cb)(const struct store_revocation *r, void *arg), void *arg,
                      const char **errstr)
{
    struct store_revocation r;
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_REV_LIST,
                           "SELECT serial, kind, id, revoked_at, expires_at, reason"
                           " FROM revocations WHERE serial > ? AND expires_at > ?"
                           " ORDER BY serial LIMIT ?",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, since);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    while ((rc = store_row_next(st, stmt, revocation_from_row, &r, "list revocations", errstr)) ==
               1 &&
           cb(&r, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int64_t
store_revocation_serial(struct store *st)
{
    sqlite3_stmt *stmt;
    const char *errstr;
    int64_t v = 0;

    /* sqlite_sequence keeps the highest serial ever handed out, also when
     * the rows carrying it have been pruned; it has no row before the first
     * insert (and exists as soon as a table with AUTOINCREMENT does). */
    if ((stmt = store_stmt(st, STMT_REV_SERIAL,
                           "SELECT seq FROM sqlite_sequence WHERE name = 'revocations'",
                           &errstr)) == NULL)
        return 0;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    store_stmt_done(stmt);
    return v;
}

int
store_revocation_prune(struct store *st, int64_t now, const char **errstr)
{
    sqlite3_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_REV_PRUNE, "DELETE FROM revocations WHERE expires_at < ?",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, now);
    return store_changes(st, stmt, "prune revocations", errstr);
}

int
store_revocation_remove(struct store *st, const char *kind, const char *id, const char **errstr)
{
    sqlite3_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_REV_REMOVE, "DELETE FROM revocations WHERE kind = ? AND id = ?",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    return store_changes(st, stmt, "remove revocation", errstr);
}

int
store_revocation_exists(struct store *st, const char *kind, const char *id, int64_t now)
{
    sqlite3_stmt *stmt;
    const char *errstr;

    if ((stmt = store_stmt(st, STMT_REV_EXISTS,
                           "SELECT 1 FROM revocations WHERE kind = ? AND id = ? AND expires_at > ?"
                           " LIMIT 1",
                           &errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now);
    /* store_row_one: 0 found, 1 none, -1 error. */
    switch (store_row_one(st, stmt, store_no_columns, NULL, "revocation exists", NULL, &errstr)) {
    case 0:
        return 1;
    case 1:
        return 0;
    default:
        return -1;
    }
}
