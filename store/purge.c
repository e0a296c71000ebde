/* Purging devices and bulk tokens (see purge.h). The candidates are read
 * first (bounded by limit, through devices_last_seen of migration 7 and
 * tokens_device), then each is removed with its dependants, all inside the
 * caller's transaction: a purge is atomic with its audit record. Every
 * statement is in the shared cache (store_int.h): the tombstone lookup runs
 * on every new device's registration. */
#include <stdlib.h>
#include <string.h>

#include "purge.h"
#include "store_int.h"

#define PURGE_ID_LEN 64

struct purge_row {
    char id[PURGE_ID_LEN + 1], jkt[PURGE_ID_LEN + 1], hardware_id[257];
    int blocked;
};

static int
purge_row_decode(struct store_stmt *stmt, void *row)
{
    struct purge_row *r = row;

    memset(r, 0, sizeof(*r));
    if (store_col_text(stmt, 0, r->id, sizeof(r->id)) == -1 ||
        store_col_text(stmt, 1, r->jkt, sizeof(r->jkt)) == -1 ||
        store_col_text(stmt, 2, r->hardware_id, sizeof(r->hardware_id)) == -1)
        return -1;
    r->blocked = store_col_int64(stmt, 3) != 0;
    return 0;
}

/* Runs the cached statement id (sql) with ?1 = id to completion. */
static int
purge_by_id(struct store *st, enum store_stmt_id id, const char *sql, const char *row_id,
            const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, id, sql, errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, row_id);
    return store_changes(st, stmt, "purge", errstr) == -1 ? -1 : 0;
}

static int
purge_tombstone_add(struct store *st, const struct purge_row *r, int64_t now, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_PURGE_TOMBSTONE_ADD,
                           "INSERT INTO device_tombstones(jkt, hardware_id, device_id, purged_at)"
                           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jkt) DO UPDATE SET"
                           " hardware_id = excluded.hardware_id,"
                           " device_id = excluded.device_id, purged_at = excluded.purged_at",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, r->jkt);
    store_bind_text(stmt, 2, r->hardware_id);
    store_bind_text(stmt, 3, r->id);
    store_bind_int64(stmt, 4, now);
    return store_changes(st, stmt, "tombstone", errstr) == -1 ? -1 : 0;
}

/* Removes one device (a blocked one leaves its tombstone) or one bulk token. */
static int
purge_device_one(struct store *st, const struct purge_row *r, int64_t now, const char **errstr)
{
    if (r->blocked && purge_tombstone_add(st, r, now, errstr) == -1)
        return -1;
    if (purge_by_id(st, STMT_PURGE_DEVICE_TOKENS, "DELETE FROM tokens WHERE device_id = ?1", r->id,
                    errstr) == -1)
        return -1;
    return purge_by_id(st, STMT_PURGE_DEVICE, "DELETE FROM devices WHERE id = ?1", r->id, errstr);
}

static int
purge_bulk_one(struct store *st, const struct purge_row *r, int64_t now, const char **errstr)
{
    (void)now;
    if (purge_by_id(st, STMT_PURGE_BULK_UNLINK,
                    "UPDATE devices SET bulk_id = NULL WHERE bulk_id = ?1", r->id, errstr) == -1)
        return -1;
    return purge_by_id(st, STMT_PURGE_BULK, "DELETE FROM bulk_tokens WHERE id = ?1", r->id, errstr);
}

/* What a purge of one kind is: its candidates (?1 before, ?2 now, ?3 skew,
 * ?4 limit + 1, in purge_row's columns) and the removal of one. */
struct purge_kind {
    enum store_stmt_id select_id;
    const char *select_sql;
    int (*remove)(struct store *st, const struct purge_row *r, int64_t now, const char **errstr);
};

static const struct purge_kind purge_devices_kind = {
    .select_id = STMT_PURGE_DEVICE_CANDIDATES,
    .select_sql = "SELECT d.id, d.jkt, d.hardware_id, d.blocked FROM devices d"
                  " WHERE d.last_seen_at < ?1 AND NOT EXISTS (SELECT 1 FROM tokens t"
                  "  WHERE t.device_id = d.id AND t.expires_at + ?3 > ?2)"
                  " ORDER BY d.last_seen_at, d.id LIMIT ?4",
    .remove = purge_device_one,
};

/* Bulk tokens are few (an admin makes each); devices_bulk and tokens_device
 * answer the check of each. '' and 0: purge_row's columns. */
static const struct purge_kind purge_bulk_kind = {
    .select_id = STMT_PURGE_BULK_CANDIDATES,
    .select_sql = "SELECT b.id, '', '', 0 FROM bulk_tokens b"
                  " WHERE b.expires_at < ?1 AND b.expires_at + ?3 <= ?2"
                  " AND NOT EXISTS (SELECT 1 FROM devices d JOIN tokens t"
                  "  ON t.device_id = d.id WHERE d.bulk_id = b.id AND t.expires_at + ?3 > ?2)"
                  " ORDER BY b.expires_at, b.id LIMIT ?4",
    .remove = purge_bulk_one,
};

/* The candidates are read to the end before the first removal: the select
 * is not running while its rows are deleted. */
static int
purge_run(struct store *st, const struct purge_kind *k, int64_t before, int64_t now, int64_t skew,
          int limit, int dry_run, void (*ids)(const char *id, void *arg), void *arg,
          struct store_purge *out, const char **errstr)
{
    struct purge_row *rows = calloc((size_t)limit + 1, sizeof(*rows));
    struct store_stmt *stmt;
    int n = 0, rc = -1, step = 0;

    memset(out, 0, sizeof(*out));
    if (rows == NULL) {
        *errstr = store_errf(st, STORE_ERR_INTERNAL, "purge: out of memory");
        return -1;
    }
    if ((stmt = store_stmt(st, k->select_id, k->select_sql, errstr)) == NULL)
        goto done;
    store_bind_int64(stmt, 1, before);
    store_bind_int64(stmt, 2, now);
    store_bind_int64(stmt, 3, skew);
    store_bind_int64(stmt, 4, (int64_t)limit + 1);
    while (n <= limit && (step = store_row_next(st, stmt, purge_row_decode, &rows[n],
                                                "purge candidates", errstr)) == 1)
        n++;
    store_stmt_done(stmt);
    if (step == -1)
        goto done;
    if (n > limit) {
        out->more = 1;
        n = limit;
    }
    for (int i = 0; i < n; i++) {
        out->count++;
        out->tombstones += rows[i].blocked != 0;
        if (ids != NULL)
            ids(rows[i].id, arg);
        if (!dry_run && k->remove(st, &rows[i], now, errstr) == -1)
            goto done;
    }
    rc = 0;
done:
    free(rows);
    return rc;
}

int
store_purge_devices(struct store *st, int64_t seen_before, int64_t now, int64_t skew, int limit,
                    int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                    struct store_purge *out, const char **errstr)
{
    return purge_run(st, &purge_devices_kind, seen_before, now, skew, limit, dry_run, ids, arg, out,
                     errstr);
}

int
store_purge_bulk(struct store *st, int64_t expired_before, int64_t now, int64_t skew, int limit,
                 int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                 struct store_purge *out, const char **errstr)
{
    return purge_run(st, &purge_bulk_kind, expired_before, now, skew, limit, dry_run, ids, arg, out,
                     errstr);
}

int
store_purge_tombstone(struct store *st, const char *jkt, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_PURGE_TOMBSTONE,
                           "SELECT 1 FROM device_tombstones WHERE jkt = ?1", errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, jkt);
    return store_row_one(st, stmt, store_no_columns, NULL, "tombstones", "no tombstone", errstr);
}
