/* The row plumbing every store module shares: the statement cache, binding
 * and reading columns, and the step loops (one row, each row, rows changed)
 * that would otherwise be written again in every module (store_int.h). All
 * of it goes through the driver, so it is the same for every backend. */
#include <string.h>

#include "store_int.h"

struct store_stmt *
store_prepare(struct store *st, const char *sql, const char **errstr)
{
    struct store_stmt *stmt = st->drv->prepare(st, sql, 0);

    if (stmt == NULL)
        *errstr = store_err(st, "prepare");
    return stmt;
}

void
store_finalize(struct store_stmt *stmt)
{
    if (stmt != NULL)
        stmt->drv->finalize(stmt);
}

/* The cached statements whose every caller reads only whether they failed
 * (store_step_done): neither a row nor how many rows changed. The op's
 * savepoint, and the rows an issuance writes whose result nothing reads.
 * A statement added here must keep that promise at every call site. */
static const unsigned char stmt_unread[STMT_COUNT] = {
    [STMT_SAVEPOINT] = 1,    [STMT_DEVICE_INSERT] = 1, [STMT_DEVICE_LABEL_INSERT] = 1,
    [STMT_TOKEN_INSERT] = 1, [STMT_AUDIT_INSERT] = 1,
};

int
store_stmt_unread(enum store_stmt_id id)
{
    return (unsigned)id < STMT_COUNT ? stmt_unread[id] : 0;
}

struct store_stmt *
store_stmt(struct store *st, enum store_stmt_id id, const char *sql, const char **errstr)
{
    struct store_stmt *stmt = st->stmts[id];

    st->marks |= store_stmt_marks(id); /* what other nodes must learn of (notify.c) */
    if (stmt != NULL) {
        /* Resetting a running statement would silently end the caller's
         * iteration: refuse instead. */
        if (stmt->drv->busy(stmt)) {
            *errstr = store_errf(st, STORE_ERR_INTERNAL, "statement %d re-entered while running",
                                 (int)id);
            return NULL;
        }
        return stmt;
    }
    if ((stmt = st->drv->prepare(st, sql, 1)) == NULL) {
        *errstr = store_err(st, "prepare");
        return NULL;
    }
    stmt->sql = sql;
    stmt->unread = store_stmt_unread(id);
    st->stmts[id] = stmt;
    return stmt;
}

void
store_stmt_done(struct store_stmt *stmt)
{
    if (stmt != NULL)
        stmt->drv->reset(stmt);
}

int
store_step_done(struct store *st, struct store_stmt *stmt, const char *what, const char **errstr)
{
    if (store_step(stmt) != STORE_DONE) {
        *errstr = store_err(st, what);
        return -1;
    }
    return 0;
}

int
store_bind_opt_text(struct store_stmt *stmt, int i, const char *s)
{
    if (s == NULL || *s == '\0')
        return store_bind_null(stmt, i);
    return store_bind_text(stmt, i, s);
}

int
store_bind_opt_int64(struct store_stmt *stmt, int i, int64_t v)
{
    if (v == 0)
        return store_bind_null(stmt, i);
    return store_bind_int64(stmt, i, v);
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
store_col_text(struct store_stmt *stmt, int i, char *buf, size_t n)
{
    const char *s = store_col_str(stmt, i);
    size_t len;

    if (n == 0)
        return -1;
    if (s == NULL) {
        buf[0] = '\0';
        return 0;
    }
    len = (size_t)store_col_bytes(stmt, i);
    if (len >= n) {
        buf[0] = '\0';
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int
store_prefix_upper(const struct store *st, const char *prefix, size_t plen, char *buf, size_t n)
{
    size_t slen = strlen(st->drv->prefix_sentinel);

    if (plen + slen + 1 > n)
        return -1;
    memcpy(buf, prefix != NULL ? prefix : "", plen);
    memcpy(buf + plen, st->drv->prefix_sentinel, slen + 1);
    return 0;
}

int
store_no_columns(struct store_stmt *stmt, void *row)
{
    (void)stmt;
    (void)row;
    return 0;
}

int
store_row_next(struct store *st, struct store_stmt *stmt, store_decode_fn *decode, void *row,
               const char *what, const char **errstr)
{
    switch (store_step(stmt)) {
    case STORE_ROW:
        if (decode(stmt, row) == -1) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "%s: unreadable row", what);
            return -1;
        }
        return 1;
    case STORE_DONE:
        return 0;
    default:
        *errstr = store_err(st, what);
        return -1;
    }
}

int
store_row_one(struct store *st, struct store_stmt *stmt, store_decode_fn *decode, void *row,
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
store_changes(struct store *st, struct store_stmt *stmt, const char *what, const char **errstr)
{
    int rc = store_step_done(st, stmt, what, errstr);

    if (rc == 0)
        rc = (int)st->drv->changes(st);
    store_stmt_done(stmt);
    return rc;
}

int
store_changed_one(struct store *st, struct store_stmt *stmt, const char *what, const char *none,
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
store_keyset_from_row(struct store_stmt *stmt, void *row)
{
    struct store_keyset *k = row;

    k->time = store_col_int64(stmt, 0);
    k->rowid = store_col_int64(stmt, 1);
    return 0;
}

int
store_cursor(struct store *st, enum store_stmt_id id, const char *sql, const char *key,
             int64_t *time, int64_t *rowid, const char *what, const char **errstr)
{
    struct store_keyset k = {0, 0};
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, id, sql, errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, key);
    rc = store_row_one(st, stmt, store_keyset_from_row, &k, what, "unknown cursor", errstr);
    *time = k.time;
    *rowid = k.rowid;
    return rc;
}
