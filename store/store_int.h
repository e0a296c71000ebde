/* Internals shared by the store's own modules (never included outside store/). */
#ifndef SITETOKEN_STORE_INT_H
#define SITETOKEN_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One id per cached prepared statement. Each id is always used with the same
 * SQL text, written at its one call site. */
enum store_stmt_id {
    STMT_TX_BEGIN,
    STMT_TX_COMMIT,
    STMT_TX_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_SAVEPOINT_RELEASE,
    STMT_SAVEPOINT_ROLLBACK_TO,

    STMT_KEYS_LIST,
    STMT_KEY_INSERT,
    STMT_KEY_SET_STATUS,
    STMT_KEY_DELETE,
    STMT_KEY_SIGNED_UNTIL,

    STMT_MP_INSERT,
    STMT_MP_LIVE_NAME,
    STMT_MP_BY_KEY_HASH,
    STMT_MP_BY_CERT,
    STMT_MP_GET,
    STMT_MP_REMOVE,
    STMT_MP_LIST,

    STMT_BULK_INSERT,
    STMT_BULK_GET,
    STMT_BULK_USE_GET,
    STMT_BULK_USE_UPDATE,
    STMT_BULK_SET_BLOCKED,
    STMT_BULK_CURSOR,
    STMT_BULK_LIST_FIRST,
    STMT_BULK_LIST_AFTER,
    STMT_ALLOW_ADD,
    STMT_ALLOW_TOTAL,
    STMT_ALLOW_GET,
    STMT_ALLOW_CLAIM,
    STMT_ALLOW_USED,
    STMT_ALLOW_LIST,

    STMT_DEVICE_BY_JKT,
    STMT_DEVICE_GET,
    STMT_DEVICE_INSERT,
    STMT_DEVICE_TOUCH,
    STMT_DEVICE_SET_BLOCKED,
    STMT_DEVICE_LIST, /* 6 variants: status x prefix */
    STMT_DEVICE_LIST_LAST = STMT_DEVICE_LIST + 5,
    STMT_DEVICE_LAST_EXPIRY,
    STMT_DEVICE_LIST_BULK,
    STMT_TOKEN_INSERT,
    STMT_TOKEN_GET,
    STMT_TOKEN_REVOKE,
    STMT_TOKEN_EXISTS,
    STMT_TOKEN_CURSOR,
    STMT_TOKEN_LIST_ALL_FIRST,
    STMT_TOKEN_LIST_ALL_AFTER,
    STMT_TOKEN_LIST_DEV_FIRST,
    STMT_TOKEN_LIST_DEV_AFTER,
    STMT_TOKEN_SUPERSEDE,
    STMT_TOKEN_FAMILY_REVOKE,
    STMT_TOKEN_SUPERSEDE_ENROLMENT,
    STMT_KEY_TAINT,
    STMT_KEY_REVOKE,
    STMT_KEY_IMPACT,
    STMT_DEVICE_LABEL_INSERT,
    STMT_DEVICE_LIST_LABEL,

    STMT_AUDIT_LAST,
    STMT_AUDIT_INSERT,
    STMT_AUDIT_LIST,
    STMT_AUDIT_ALL,

    STMT_REV_ADD,
    STMT_REV_LIST,
    STMT_REV_SERIAL,
    STMT_REV_PRUNE,
    STMT_REV_EXISTS,
    STMT_REV_REMOVE,

    STMT_PROOF_ADD,
    STMT_PROOF_LIST,
    STMT_PROOF_PRUNE_EDGE,
    STMT_PROOF_PRUNE_UPTO,
    STMT_PROOF_PRUNE_ALL,

    STMT_MAINT_MP_LAST_USE,
    STMT_MAINT_MP_SET_KEY,

    STMT_PURGE_DEVICE_CANDIDATES,
    STMT_PURGE_BULK_CANDIDATES,
    STMT_PURGE_TOMBSTONE_ADD,
    STMT_PURGE_DEVICE_TOKENS,
    STMT_PURGE_DEVICE,
    STMT_PURGE_BULK_UNLINK,
    STMT_PURGE_BULK,
    STMT_PURGE_TOMBSTONE,

    STMT_COUNT
};

struct store {
    sqlite3 *db;
    char *path;
    char errbuf[256];
    enum store_error error; /* class of the last failure: store_err, store_errf */
    /* Prepared lazily by store_stmt, finalized by store_close. */
    sqlite3_stmt *stmts[STMT_COUNT];
};

/* Formats "what: sqlite message" into st->errbuf, records the class of
 * SQLite's last error on this connection, and returns the message. */
const char *store_err(struct store *st, const char *what);
/* Formats a message of our own into st->errbuf, records err as the class,
 * and returns it. */
const char *store_errf(struct store *st, enum store_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs SQL with no result rows; 0 or -1 with *errstr set. */
int store_exec(struct store *st, const char *sql, const char **errstr);

/* The cached statement for id, prepared from sql on first use. NULL with
 * *errstr on failure, or when the statement is still running (a list
 * callback that re-entered the same list function: not supported). Every
 * user ends with store_stmt_done, on every path. */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt_id id, const char *sql,
                         const char **errstr);
/* sqlite3_reset + sqlite3_clear_bindings: the statement is ready for reuse. */
void store_stmt_done(sqlite3_stmt *stmt);
/* Steps a statement that returns no row; 0 or -1 with *errstr = what: msg.
 * Does not reset it. */
int store_step_done(struct store *st, sqlite3_stmt *stmt, const char *what, const char **errstr);

/* The row plumbing every module shares. A decoder copies the current row of
 * a statement into row (the module's struct); -1 when a column does not fit
 * it (a row this code did not write: reported as corrupt). */
typedef int store_decode_fn(sqlite3_stmt *stmt, void *row);
/* The decoder for a query whose rows only tell that something exists. */
store_decode_fn store_no_columns;

/* Steps stmt once: 1 a row, decoded into row; 0 no more rows; -1 error
 * (*errstr "what: sqlite message" or "what: unreadable row"). Does not reset
 * stmt. A list is
 *     while ((rc = store_row_next(st, stmt, decode, &row, what, errstr)) == 1 &&
 *            cb(&row, arg) == 0)
 *         ;
 *     store_stmt_done(stmt);
 *     return rc == -1 ? -1 : 0; */
int store_row_next(struct store *st, sqlite3_stmt *stmt, store_decode_fn *decode, void *row,
                   const char *what, const char **errstr);
/* A lookup of at most one row: 0 found (decoded into row), 1 none (*errstr =
 * none), -1 error. Resets stmt. */
int store_row_one(struct store *st, sqlite3_stmt *stmt, store_decode_fn *decode, void *row,
                  const char *what, const char *none, const char **errstr);
/* Steps a statement that returns no row and resets it: how many rows it
 * changed, or -1 (*errstr "what: sqlite message"). */
int store_changes(struct store *st, sqlite3_stmt *stmt, const char *what, const char **errstr);
/* The same for an UPDATE or DELETE of one row by its key: 0 changed, 1 no
 * such row (*errstr = none), -1 error. */
int store_changed_one(struct store *st, sqlite3_stmt *stmt, const char *what, const char *none,
                      const char **errstr);
/* The keyset of a paginated list: the (time, rowid) of the row that the
 * cached statement id (sql: SELECT time, rowid ... WHERE key = ?1) finds
 * for key. 0 found, 1 unknown key, -1 error. */
int store_cursor(struct store *st, enum store_stmt_id id, const char *sql, const char *key,
                 int64_t *time, int64_t *rowid, const char *what, const char **errstr);

/* Binds s as text, or NULL when s is NULL or "" (nullable columns). */
int store_bind_opt_text(sqlite3_stmt *stmt, int i, const char *s);
/* Binds v, or NULL when v is 0 (nullable times and counters). */
int store_bind_opt_int64(sqlite3_stmt *stmt, int i, int64_t v);
/* -1 with *errstr when s is longer than max bytes (s NULL counts as "").
 * Values are refused, never truncated, so that what is stored always fits
 * the fixed buffers it is read back into. */
int store_check_len(struct store *st, const char *what, const char *s, size_t max,
                    const char **errstr);
/* Copies column i (NULL -> "") into buf of n bytes; -1 when it does not fit
 * (a row we did not write: treated as corruption, never truncated). */
int store_col_text(sqlite3_stmt *stmt, int i, char *buf, size_t n);

#endif
