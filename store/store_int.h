/* Internals shared by the store's own modules (never included outside store/):
 * the statement cache ids, the driver table (the seam between the domain
 * modules and a database) and the row plumbing. Includes no database header. */
#ifndef SITETOKEN_STORE_INT_H
#define SITETOKEN_STORE_INT_H

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
    STMT_AUDIT_LOCK,

    STMT_REV_ADD,
    STMT_REV_LIST,
    STMT_REV_SERIAL,
    STMT_REV_PRUNE,
    STMT_REV_EXISTS,
    STMT_REV_REMOVE,
    STMT_REV_LOCK,

    STMT_CHANGES_BUMP,
    STMT_CHANGES_NOTIFY,
    STMT_CHANGES_READ,
    STMT_LEASE_TAKE,

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

/* Backends, for the per-backend SQL tables (store_sql). */
enum store_backend {
    STORE_BACKEND_SQLITE,
    STORE_BACKEND_PG,
    STORE_BACKENDS,
};

/* What store_step answers (or -1 on an error, recorded on the store). */
#define STORE_DONE 0
#define STORE_ROW 1

/* A prepared statement. Each driver's own statement struct begins with
 * this, so the inline wrappers below reach the driver from the statement. */
struct store_stmt {
    const struct store_driver *drv;
    struct store *st;
    const char *sql; /* a cached statement's text (store_stmt), else NULL */
    /* Its caller reads neither rows nor changes, only whether it failed
     * (store_stmt_unread, rows.c): inside a transaction a driver may send
     * it without waiting for its result and report a failure at the next
     * statement that waits (PostgreSQL's pipeline, pg.c); SQLite ignores
     * it. Every op's statements end with one that waits (RELEASE), so a
     * failure is still the op's own. */
    int unread;
};

/* One numbered schema migration of one backend. Append only. */
struct store_migration {
    int version;
    const char *name;
    const char *sql;
};

/* Capabilities: what only some backends have. */
#define STORE_CAP_CHECKPOINT 0x1 /* a WAL to checkpoint from a thread of its own */
#define STORE_CAP_LOCAL_FILE 0x2 /* one file on this machine: one process, a disk to watch */

/* The seam (in the manner of OpenSMTPD's table_backend): what a database
 * must do for the domain modules, which hold one copy of their logic and
 * portable SQL with ?N placeholders. sqlite.c and pg.c each fill one.
 * Every function that fails records the failure's class and message on the
 * store (errinfo reads them back); none prints. */
struct store_driver {
    const char *name; /* "sqlite", "postgresql" */
    enum store_backend backend;
    unsigned caps; /* STORE_CAP_*, before open; cap_of may narrow it for a target */
    const struct store_migration *migrations; /* ends with version 0 */
    /* CREATE TABLE IF NOT EXISTS schema_migrations (version, name, applied_at) */
    const char *migrations_table_sql;
    /* SQL run inside a migration's transaction before the version is read
     * again (several nodes may start at once); NULL when BEGIN locks. */
    const char *migration_lock_sql;
    const char *begin_sql; /* starts a write transaction */
    /* Appended to a prefix for the upper bound of the range [prefix, upper):
     * a byte (string) that sorts after every character that may follow. */
    const char *prefix_sentinel;

    unsigned (*caps_of)(const char *target);
    /* Connects st->conn; 0, or -1 with the reason in err (never a password). */
    int (*open)(struct store *st, const char *target, int busy_timeout_ms, char *err, size_t n);
    void (*close)(struct store *st);
    /* Runs SQL (several statements allowed) with no result rows. */
    int (*exec)(struct store *st, const char *sql);
    /* persistent: cached for the connection's life (may be prepared on the
     * server); NULL on failure (out of memory, or SQLite's parse error). */
    struct store_stmt *(*prepare)(struct store *st, const char *sql, int persistent);
    void (*finalize)(struct store_stmt *s);
    /* Binds stay valid until reset; text and blobs are borrowed until then. */
    int (*bind_int64)(struct store_stmt *s, int i, int64_t v);
    int (*bind_text)(struct store_stmt *s, int i, const char *v, int len); /* len -1: strlen */
    int (*bind_blob)(struct store_stmt *s, int i, const void *p, size_t n);
    int (*bind_null)(struct store_stmt *s, int i);
    int (*step)(struct store_stmt *s);   /* STORE_ROW, STORE_DONE or -1 */
    int (*busy)(struct store_stmt *s);   /* stepped and neither done nor reset */
    void (*reset)(struct store_stmt *s); /* and clears the bindings */
    int (*col_count)(struct store_stmt *s);
    int (*col_is_null)(struct store_stmt *s, int i);
    int64_t (*col_int64)(struct store_stmt *s, int i);
    /* Borrowed until the next step or reset; NULL for NULL. */
    const char *(*col_text)(struct store_stmt *s, int i);
    const void *(*col_blob)(struct store_stmt *s, int i);
    int (*col_bytes)(struct store_stmt *s, int i);
    int64_t (*changes)(struct store *st); /* rows the last statement changed */
    int (*in_tx)(struct store *st);
    void (*errinfo)(struct store *st, enum store_error *cls, const char **msg);
    /* Signing keys held at target without creating or migrating anything. */
    int (*peek_keys)(const char *target, int64_t *nkeys, char *err, size_t n);
    /* STORE_CAP_CHECKPOINT only (NULL otherwise). */
    int (*checkpoint)(struct store *st, int truncate, int *frames);
    int (*set_autocheckpoint)(struct store *st, int pages);
    int (*pragma)(struct store *st, const char *name, char *buf, unsigned long n);
    /* Notifications (notify.c; NULL when absent, as on SQLite): a statement
     * sent inside a writer's transaction, delivered to every listener when
     * it commits (?1 the channel, ?2 the payload); LISTEN on this
     * connection; the socket a thread waits on; one notification taken
     * (1, its payload in buf), none waiting (0), or the connection lost
     * (-1, recorded: listen again). */
    const char *notify_sql;
    int (*listen)(struct store *st, const char *channel);
    int (*notify_fd)(struct store *st);
    int (*notify_take)(struct store *st, char *buf, size_t n);
    /* Tests and measurements: how many times this connection waited for
     * the server (a request and its answer); NULL where there is no server. */
    int64_t (*roundtrips)(struct store *st);
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;
extern const struct store_migration store_pg_migrations[]; /* pg_schema.c */

struct store {
    const struct store_driver *drv;
    void *conn; /* the driver's connection */
    unsigned caps;
    char *path; /* the target as configured (a URI never carries a password) */
    char errbuf[256];
    enum store_error error; /* class of the last failure: store_err, store_errf */
    /* Prepared lazily by store_stmt, finalized by store_close. */
    struct store_stmt *stmts[STMT_COUNT];
    /* The revocation journal (revocations.h): on, what it holds, where the
     * open savepoint began in it, and whether an entry could not be kept. */
    int journal_on, journal_lost;
    size_t journal_mark;
    struct store_rev_changes *journal;
    /* The open transaction holds the audit chain's lock (store_audit_lock,
     * taken outside any savepoint), and how many savepoints are open. */
    int audit_locked, savepoints;
    /* While it holds the lock: the chain's last record as this transaction
     * appended it (audit.c), so the next append needs no read; forgotten at
     * the transaction's end and at any savepoint's rollback. */
    int audit_head_known;
    int64_t audit_head_seq;
    char audit_head_hash[65];
    /* What this transaction changed that other nodes must learn of
     * (STORE_CHANGED_*, notify.c): set as the statements run, turned into
     * the meta counters and a notification just before the commit. */
    unsigned marks;
    /* Tests only (store_set_step_hook): called as a cached statement starts
     * (its first step), with its SQL text. NULL in production. */
    void (*step_hook)(const char *sql, void *arg);
    void *step_hook_arg;
};

/* Tests only: another writer's change lands at the moment a statement of
 * this connection starts, on either backend (test_bulk_race.c). */
static inline void
store_set_step_hook(struct store *st, void (*hook)(const char *sql, void *arg), void *arg)
{
    st->step_hook = hook;
    st->step_hook_arg = arg;
}

/* Tests and measurements: the connection's round trips so far (the
 * driver's roundtrips), -1 where there is no server (SQLite). */
static inline int64_t
store_roundtrips(struct store *st)
{
    return st->drv->roundtrips != NULL ? st->drv->roundtrips(st) : -1;
}

/* Whether the callers of a cached statement id read only its success (the
 * unread hint of struct store_stmt; rows.c). */
int store_stmt_unread(enum store_stmt_id id);

/* A store on target with no migration run (store_open runs them; the move
 * to PostgreSQL, migrate.c, checks both schemas first). NULL with the
 * reason in err. */
struct store *store_open_unmigrated(const char *target, int busy_timeout_ms, char *err, size_t n);

/* Journal bookkeeping for the transaction primitives (revocations.c). */
void store_journal_mark(struct store *st);
void store_journal_undo(struct store *st, int to_mark);

/* notify.c: what a cached statement id marks on its connection (0 for
 * most), and what runs inside the transaction just before its COMMIT: the
 * meta counters of what it changed bumped, and the notification. */
unsigned store_stmt_marks(enum store_stmt_id id);
int store_changes_precommit(struct store *st, const char **errstr);

/* The driver a target names: a postgresql:// or postgres:// URI, else a
 * SQLite file (":memory:" allowed). */
const struct store_driver *store_driver_for(const char *target);

/* The text of a statement that differs by backend: sql[st's backend]. */
static inline const char *
store_sql(const struct store *st, const char *const sql[STORE_BACKENDS])
{
    return sql[st->drv->backend];
}

/* Formats "what: driver message" into st->errbuf, records the class of the
 * driver's last error on this connection, and returns the message. */
const char *store_err(struct store *st, const char *what);
/* Formats a message of our own into st->errbuf, records err as the class,
 * and returns it. */
const char *store_errf(struct store *st, enum store_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs SQL with no result rows; 0 or -1 with *errstr set. */
int store_exec(struct store *st, const char *sql, const char **errstr);

/* A statement of its own (not cached: for rare queries), NULL with *errstr;
 * store_finalize when done. */
struct store_stmt *store_prepare(struct store *st, const char *sql, const char **errstr);
void store_finalize(struct store_stmt *stmt);

/* The cached statement for id, prepared from sql on first use. NULL with
 * *errstr on failure, or when the statement is still running (a list
 * callback that re-entered the same list function: not supported). Every
 * user ends with store_stmt_done, on every path. */
struct store_stmt *store_stmt(struct store *st, enum store_stmt_id id, const char *sql,
                              const char **errstr);
/* Reset and bindings cleared: the statement is ready for reuse. */
void store_stmt_done(struct store_stmt *stmt);
/* Steps a statement that returns no row; 0 or -1 with *errstr = what: msg.
 * Does not reset it. */
int store_step_done(struct store *st, struct store_stmt *stmt, const char *what,
                    const char **errstr);

static inline int
store_step(struct store_stmt *s)
{
    if (s->st->step_hook != NULL && s->sql != NULL && !s->drv->busy(s))
        s->st->step_hook(s->sql, s->st->step_hook_arg);
    return s->drv->step(s);
}
static inline int
store_bind_int64(struct store_stmt *s, int i, int64_t v)
{
    return s->drv->bind_int64(s, i, v);
}
static inline int
store_bind_text(struct store_stmt *s, int i, const char *v)
{
    return s->drv->bind_text(s, i, v, -1);
}
static inline int
store_bind_textn(struct store_stmt *s, int i, const char *v, int len)
{
    return s->drv->bind_text(s, i, v, len);
}
static inline int
store_bind_blob(struct store_stmt *s, int i, const void *p, size_t n)
{
    return s->drv->bind_blob(s, i, p, n);
}
static inline int
store_bind_null(struct store_stmt *s, int i)
{
    return s->drv->bind_null(s, i);
}
/* LIMIT ?i: limit, or no limit when limit <= 0. */
static inline int
store_bind_limit(struct store_stmt *s, int i, int limit)
{
    return s->drv->bind_int64(s, i, limit > 0 ? limit : INT64_MAX);
}
static inline int
store_col_count(struct store_stmt *s)
{
    return s->drv->col_count(s);
}
static inline int64_t
store_col_int64(struct store_stmt *s, int i)
{
    return s->drv->col_int64(s, i);
}
static inline const char *
store_col_str(struct store_stmt *s, int i)
{
    return s->drv->col_text(s, i);
}
static inline const void *
store_col_blob(struct store_stmt *s, int i)
{
    return s->drv->col_blob(s, i);
}
static inline int
store_col_bytes(struct store_stmt *s, int i)
{
    return s->drv->col_bytes(s, i);
}

/* The row plumbing every module shares. A decoder copies the current row of
 * a statement into row (the module's struct); -1 when a column does not fit
 * it (a row this code did not write: reported as corrupt). */
typedef int store_decode_fn(struct store_stmt *stmt, void *row);
/* The decoder for a query whose rows only tell that something exists. */
store_decode_fn store_no_columns;

/* Steps stmt once: 1 a row, decoded into row; 0 no more rows; -1 error
 * (*errstr "what: driver message" or "what: unreadable row"). Does not
 * reset stmt. A list is
 *     while ((rc = store_row_next(st, stmt, decode, &row, what, errstr)) == 1 &&
 *            cb(&row, arg) == 0)
 *         ;
 *     store_stmt_done(stmt);
 *     return rc == -1 ? -1 : 0; */
int store_row_next(struct store *st, struct store_stmt *stmt, store_decode_fn *decode, void *row,
                   const char *what, const char **errstr);
/* A lookup of at most one row: 0 found (decoded into row), 1 none (*errstr =
 * none), -1 error. Resets stmt. */
int store_row_one(struct store *st, struct store_stmt *stmt, store_decode_fn *decode, void *row,
                  const char *what, const char *none, const char **errstr);
/* Steps a statement that returns no row and resets it: how many rows it
 * changed, or -1 (*errstr "what: driver message"). */
int store_changes(struct store *st, struct store_stmt *stmt, const char *what, const char **errstr);
/* The same for an UPDATE or DELETE of one row by its key: 0 changed, 1 no
 * such row (*errstr = none), -1 error. */
int store_changed_one(struct store *st, struct store_stmt *stmt, const char *what, const char *none,
                      const char **errstr);
/* The keyset of a paginated list: the (time, rowid) of the row that the
 * cached statement id (sql: SELECT time, rowid ... WHERE id = ?1) finds for
 * key, the cursor callers hold being the domain id. rowid is the insertion
 * order: SQLite's implicit one, an identity column of that name on
 * PostgreSQL (pg_schema.c), so the SQL is the same text on both. 0 found,
 * 1 unknown key, -1 error. */
int store_cursor(struct store *st, enum store_stmt_id id, const char *sql, const char *key,
                 int64_t *time, int64_t *rowid, const char *what, const char **errstr);

/* Binds s as text, or NULL when s is NULL or "" (nullable columns). */
int store_bind_opt_text(struct store_stmt *stmt, int i, const char *s);
/* Binds v, or NULL when v is 0 (nullable times and counters). */
int store_bind_opt_int64(struct store_stmt *stmt, int i, int64_t v);
/* -1 with *errstr when s is longer than max bytes (s NULL counts as "").
 * Values are refused, never truncated, so that what is stored always fits
 * the fixed buffers it is read back into. */
int store_check_len(struct store *st, const char *what, const char *s, size_t max,
                    const char **errstr);
/* Copies column i (NULL -> "") into buf of n bytes; -1 when it does not fit
 * (a row we did not write: treated as corruption, never truncated). */
int store_col_text(struct store_stmt *stmt, int i, char *buf, size_t n);
/* The upper bound of the prefix range [prefix, upper): prefix (plen bytes)
 * and the backend's sentinel, NUL-terminated in buf of n bytes. -1 when it
 * does not fit. */
int store_prefix_upper(const struct store *st, const char *prefix, size_t plen, char *buf,
                       size_t n);

#endif
