/* Bulk token allow-lists (bulk.h): the hardware ids a bulk token admits, each
 * claimed once by the first device key that exchanges with it. */
#include <string.h>

#include "bulk.h"
#include "store_int.h"

int
store_bulk_allow_add(struct store *st, const char *bulk_id, const char *hardware_id,
                     const char **errstr)
{
    struct store_stmt *stmt;
    int n;

    if (store_check_len(st, "hardware id", hardware_id, 256, errstr) == -1)
        return -1;
    if ((stmt = store_stmt(st, STMT_ALLOW_ADD,
                           "INSERT INTO bulk_allow(bulk_id, hardware_id) VALUES (?, ?)"
                           " ON CONFLICT DO NOTHING",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, bulk_id);
    store_bind_text(stmt, 2, hardware_id);
    n = store_changes(st, stmt, "add to allow-list", errstr);
    return n == -1 ? -1 : n == 0;
}

int
store_bulk_allow_total(struct store *st, const char *bulk_id, int64_t total, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_ALLOW_TOTAL,
                           "UPDATE bulk_tokens SET allow_total = ? WHERE id = ?", errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, total);
    store_bind_text(stmt, 2, bulk_id);
    return store_changed_one(st, stmt, "allow-list total", "no such bulk token", errstr) == 0 ? 0
                                                                                              : -1;
}

struct allow_facts {
    int listed, present;
    char jkt[65];
};

static int
allow_facts_from_row(struct store_stmt *stmt, void *row)
{
    struct allow_facts *f = row;

    f->listed = store_col_int64(stmt, 0) != 0;
    f->present = store_col_int64(stmt, 1) != 0;
    return store_col_text(stmt, 2, f->jkt, sizeof(f->jkt));
}

enum store_allow_claim
store_bulk_allow_claim(struct store *st, const char *bulk_id, const char *hardware_id,
                       const char *jkt, const char *device_id, int64_t now, const char **errstr)
{
    struct allow_facts f;
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_ALLOW_GET,
                           "SELECT b.allow_total IS NOT NULL, a.hardware_id IS NOT NULL, a.jkt"
                           " FROM bulk_tokens b LEFT JOIN bulk_allow a"
                           " ON a.bulk_id = b.id AND a.hardware_id = ?2 WHERE b.id = ?1",
                           errstr)) == NULL)
        return STORE_ALLOW_ERROR;
    store_bind_text(stmt, 1, bulk_id);
    store_bind_text(stmt, 2, hardware_id);
    rc = store_row_one(st, stmt, allow_facts_from_row, &f, "allow-list entry", "no such bulk token",
                       errstr);
    if (rc != 0)
        return rc == 1 ? STORE_ALLOW_OPEN : STORE_ALLOW_ERROR; /* the use check saw it first */
    if (!f.listed)
        return STORE_ALLOW_OPEN;
    if (!f.present)
        return STORE_ALLOW_ABSENT;
    if (f.jkt[0] != '\0')
        return strcmp(f.jkt, jkt) == 0 ? STORE_ALLOW_MINE : STORE_ALLOW_TAKEN;
    if ((stmt = store_stmt(st, STMT_ALLOW_CLAIM,
                           "UPDATE bulk_allow SET jkt = ?3, device_id = ?4, used_at = ?5"
                           " WHERE bulk_id = ?1 AND hardware_id = ?2 AND jkt IS NULL",
                           errstr)) == NULL)
        return STORE_ALLOW_ERROR;
    store_bind_text(stmt, 1, bulk_id);
    store_bind_text(stmt, 2, hardware_id);
    store_bind_text(stmt, 3, jkt);
    store_bind_text(stmt, 4, device_id);
    store_bind_int64(stmt, 5, now);
    if ((rc = store_changed_one(st, stmt, "claim allow-list entry", "claimed meanwhile", errstr)) !=
        0)
        return rc == 1 ? STORE_ALLOW_TAKEN : STORE_ALLOW_ERROR;
    if ((stmt = store_stmt(st, STMT_ALLOW_USED,
                           "UPDATE bulk_tokens SET allow_used = allow_used + 1 WHERE id = ?",
                           errstr)) == NULL)
        return STORE_ALLOW_ERROR;
    store_bind_text(stmt, 1, bulk_id);
    if (store_changed_one(st, stmt, "count allow-list use", "no such bulk token", errstr) != 0)
        return STORE_ALLOW_ERROR;
    return STORE_ALLOW_CLAIMED;
}

static int
allow_from_row(struct store_stmt *stmt, void *row)
{
    struct store_allow *e = row;

    memset(e, 0, sizeof(*e));
    if (store_col_text(stmt, 0, e->hardware_id, sizeof(e->hardware_id)) == -1 ||
        store_col_text(stmt, 1, e->device_id, sizeof(e->device_id)) == -1)
        return -1;
    e->used_at = store_col_int64(stmt, 2);
    return 0;
}

int
store_bulk_allow_list(struct store *st, const char *bulk_id, const char *after, int limit,
                      int (*cb)(const struct store_allow *e, void *arg), void *arg,
                      const char **errstr)
{
    struct store_allow e;
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_ALLOW_LIST,
                           "SELECT hardware_id, device_id, used_at FROM bulk_allow"
                           " WHERE bulk_id = ?1 AND hardware_id > ?2 ORDER BY hardware_id LIMIT ?3",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, bulk_id);
    store_bind_text(stmt, 2, after != NULL ? after : "");
    store_bind_int64(stmt, 3, limit > 0 ? limit : -1);
    while ((rc = store_row_next(st, stmt, allow_from_row, &e, "list allow-list", errstr)) == 1 &&
           cb(&e, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}
