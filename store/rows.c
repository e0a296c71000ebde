/* The row plumbing every store module shares: the statement cache, binding
 * and reading columns, and the step loops (one row, each row, rows changed)
 * that would otherwise be written again in every module (store_int.h). */
#include <string.h>

#include "store_int.h"

sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt_id id, const char *sql, const char **errstr)
{
    sqlite3_stmt *stmt = st->stmts[id];

    if (stmt != NULL) {
        /* Resetting a running statement would silently end the caller's
         * iteration: refuse instead. */
        if (sqlite3_stmt_busy(stmt)) {
            *errstr = store_errf(st, STORE_ERR_INTERNAL, "statement %d re-entered while running",
                                 (int)id);
            return NULL;
        }
        return stmt;
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        *errstr = store_err(st, "prepare");
        sqlite3_finalize(stmt);
        return NULL;
    }
    st->stmts[id] = stmt;
    return stmt;
}

void
store_stmt_done(sqlite3_stmt *stmt)
{
    if (stmt == NULL)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int
store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what, const char **errstr)
{
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        *errstr = store_err(st, what);
        return -1;
    }
    return 0;
}

int
store_bind_opt_text(sqlite3_stmt *stmt, int i, const char *s)
{
    if (s == NULL || *s == '\0')
        return sqlite3_bind_null(stmt, i);
    return sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

int
store_bind_opt_int64(sqlite3_stmt *stmt, int i, int64_t v)
{
    if (v == 0)
        return sqlite3_bind_null(stmt, i);
    return sqlite3_bind_int64(stmt, i, v);
}

int
store_check_len(struct store *st, const char *what, const char *s, size_t max, const char **errstr)
{
    if (s != NULL && strlen(s) > max) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "%s too long (at most %zu bytes)", what, max);
        return -1;
    }
    return 0;
}

int
store_col_text(sqlite3_stmt *stmt, int i, char *buf, size_t n)
{
    const unsigned char *s = sqlite3_column_text(stmt, i);
    size_t len = (size_t)sqlite3_column_bytes(stmt, i);

    if (n == 0)
        return -1;
    if (s == NULL) {
        buf[0] = '\0';
        return 0;
    }
    if (len >= n) {
        buf[0] = '\0';
        return -1;
    }
    memcpy(buf, s, len + 1);
    return 0;
}

int
store_no_columns(sqlite3_stmt *stmt, void *row)
{
    (void)stmt;
    (void)row;
    return 0;
}

int
store_row_next(struct store *st, sqlite3_stmt *stmt, store_decode_fn *decode, void *row,
               const char *what, const char **errstr)
{
    switch (sqlite3_step(stmt)) {
    case SQLITE_ROW:
        if (decode(stmt, row) == -1) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "%s: unreadable row", what);
            return -1;
        }
        return 1;
    case SQLITE_DONE:
        return 0;
    default:
        *errstr = store_err(st, what);
        return -1;
    }
}

int
store_row_one(struct store *st, sqlite3_stmt *stmt, store_decode_fn *decode, void *row,
              const char *what, const char *none, const char **errstr)
{
    int rc = store_row_next(st, stmt, decode, row, what, errstr);

    store_stmt_done(stmt);
    if (rc == 0) {
        *errstr = none;
        return 1;
    }
    return rc == 1 ? 0 : -1;
}

int
store_changes(struct store *st, sqlite3_stmt *stmt, const char *what, const char **errstr)
{
    int rc = store_step_done(st, stmt, what, errstr);

    if (rc == 0)
        rc = sqlite3_changes(st->db);
    store_stmt_done(stmt);
    return rc;
}

int
store_changed_one(struct store *st, sqlite3_stmt *stmt, const char *what, const char *none,
                  const char **errstr)
{
    int n = store_changes(st, stmt, what, errstr);

    if (n == 0) {
        *errstr = none;
        return 1;
    }
    return n == -1 ? -1 : 0;
}

struct store_keyset {
    int64_t time, rowid;
};

static int
store_keyset_from_row(sqlite3_stmt *stmt, void *row)
{
    struct store_keyset *k = row;

    k->time = sqlite3_column_int64(stmt, 0);
    k->rowid = sqlite3_column_int64(stmt, 1);
    return 0;
}

int
store_cursor(struct store *st, enum store_stmt_id id, const char *sql, const char *key,
             int64_t *time, int64_t *rowid, const char *what, const char **errstr)
{
    struct store_keyset k = {0, 0};
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, id, sql, errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = store_row_one(st, stmt, store_keyset_from_row, &k, what, "unknown cursor", errstr);
    *time = k.time;
    *rowid = k.rowid;
    return rc;
}
