/* Purging devices and bulk tokens (see purge.h). The candidates are read
 * first (bounded by limit, through devices_last_seen of migration 7 and
 * tokens_device), then each is removed with its dependants, all inside the
 * caller's transaction: a purge is atomic with its audit record. */
#include <stdlib.h>
#include <string.h>

#include "purge.h"
#include "store_int.h"

#define PURGE_ID_LEN 64

static sqlite3_stmt *
purge_prepare(struct store *st, const char *sql, const char **errstr)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *errstr = store_err(st, "prepare purge");
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* Runs sql with ?1 = text (and ?2.. = the texts in more) to completion. */
static int
purge_exec1(struct store *st, const char *sql, const char *a, const char *b, const char *c,
            int64_t n, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    if ((stmt = purge_prepare(st, sql, errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
    if (b != NULL)
        sqlite3_bind_text(stmt, 2, b, -1, SQLITE_STATIC);
    if (c != NULL)
        sqlite3_bind_text(stmt, 3, c, -1, SQLITE_STATIC);
    if (n != 0)
        sqlite3_bind_int64(stmt, 4, n);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        *errstr = store_err(st, "purge");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

struct purge_row {
    char id[PURGE_ID_LEN + 1], jkt[PURGE_ID_LEN + 1], hardware_id[257];
    int blocked;
};

/* Candidates of sql (?1, ?2 = now, ?3 = skew, ?4 = limit + 1) into rows. */
static int
purge_select(struct store *st, const char *sql, int64_t before, int64_t now, int64_t skew,
             int limit, struct purge_row *rows, int *n, int *more, const char **errstr)
{
    sqlite3_stmt *stmt;
    int step, rc = 0;

    *n = 0;
    *more = 0;
    if ((stmt = purge_prepare(st, sql, errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, before);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int64(stmt, 3, skew);
    sqlite3_bind_int(stmt, 4, limit + 1);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct purge_row *r = &rows[*n];

        if (*n == limit) {
            *more = 1;
            break;
        }
        memset(r, 0, sizeof(*r));
        if (store_col_text(stmt, 0, r->id, sizeof(r->id)) == -1 ||
            store_col_text(stmt, 1, r->jkt, sizeof(r->jkt)) == -1 ||
            store_col_text(stmt, 2, r->hardware_id, sizeof(r->hardware_id)) == -1) {
            *errstr = store_errf(st, "purge: unreadable row");
            rc = -1;
            break;
        }
        r->blocked = sqlite3_column_int(stmt, 3);
        (*n)++;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
        *errstr = store_err(st, "purge candidates");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
store_purge_devices(struct store *st, int64_t seen_before, int64_t now, int64_t skew, int limit,
                    int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                    struct store_purge *out, const char **errstr)
{
    struct purge_row *rows = calloc((size_t)limit + 1, sizeof(*rows));
    int n = 0, rc = -1;

    memset(out, 0, sizeof(*out));
    if (rows == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    if (purge_select(st,
                     "SELECT d.id, d.jkt, d.hardware_id, d.blocked FROM devices d"
                     " WHERE d.last_seen_at < ?1 AND NOT EXISTS (SELECT 1 FROM tokens t"
                     "  WHERE t.device_id = d.id AND t.expires_at + ?3 > ?2)"
                     " ORDER BY d.last_seen_at, d.id LIMIT ?4",
                     seen_before, now, skew, limit, rows, &n, &out->more, errstr) == -1)
        goto done;
    for (int i = 0; i < n; i++) {
        out->count++;
        out->tombstones += rows[i].blocked != 0;
        if (ids != NULL)
            ids(rows[i].id, arg);
        if (dry_run)
            continue;
        if (rows[i].blocked &&
            purge_exec1(st,
                        "INSERT OR REPLACE INTO device_tombstones(jkt, hardware_id, device_id,"
                        " purged_at) VALUES (?1, ?2, ?3, ?4)",
                        rows[i].jkt, rows[i].hardware_id, rows[i].id, now, errstr) == -1)
            goto done;
        if (purge_exec1(st, "DELETE FROM tokens WHERE device_id = ?1", rows[i].id, NULL, NULL, 0,
                        errstr) == -1 ||
            purge_exec1(st, "DELETE FROM devices WHERE id = ?1", rows[i].id, NULL, NULL, 0,
                        errstr) == -1)
            goto done;
    }
    rc = 0;
done:
    free(rows);
    return rc;
}

int
store_purge_bulk(struct store *st, int64_t expired_before, int64_t now, int64_t skew, int limit,
                 int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                 struct store_purge *out, const char **errstr)
{
    struct purge_row *rows = calloc((size_t)limit + 1, sizeof(*rows));
    int n = 0, rc = -1;

    memset(out, 0, sizeof(*out));
    if (rows == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    /* Bulk tokens are few (an admin makes each); devices_bulk and
     * tokens_device answer the check of each. '' and 0: purge_select's
     * columns. */
    if (purge_select(st,
                     "SELECT b.id, '', '', 0 FROM bulk_tokens b"
                     " WHERE b.expires_at < ?1 AND b.expires_at + ?3 <= ?2"
                     " AND NOT EXISTS (SELECT 1 FROM devices d JOIN tokens t"
                     "  ON t.device_id = d.id WHERE d.bulk_id = b.id AND t.expires_at + ?3 > ?2)"
                     " ORDER BY b.expires_at, b.id LIMIT ?4",
                     expired_before, now, skew, limit, rows, &n, &out->more, errstr) == -1)
        goto done;
    for (int i = 0; i < n; i++) {
        out->count++;
        if (ids != NULL)
            ids(rows[i].id, arg);
        if (dry_run)
            continue;
        if (purge_exec1(st, "UPDATE devices SET bulk_id = NULL WHERE bulk_id = ?1", rows[i].id,
                        NULL, NULL, 0, errstr) == -1 ||
            purge_exec1(st, "DELETE FROM bulk_tokens WHERE id = ?1", rows[i].id, NULL, NULL, 0,
                        errstr) == -1)
            goto done;
    }
    rc = 0;
done:
    free(rows);
    return rc;
}

int
store_purge_tombstone(struct store *st, const char *jkt, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = purge_prepare(st, "SELECT 1 FROM device_tombstones WHERE jkt = ?1", errstr)) ==
        NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, jkt, -1, SQLITE_STATIC);
    switch (sqlite3_step(stmt)) {
    case SQLITE_ROW:
        rc = 0;
        break;
    case SQLITE_DONE:
        rc = 1;
        break;
    default:
        *errstr = store_err(st, "tombstones");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    return rc;
}
