/* The store's backend-neutral core: choosing the driver for a target,
 * opening it and running its numbered migrations (recorded in
 * schema_migrations so an upgrade knows where it is), transactions and
 * savepoints, the error classes, the meta table, and the process lock of a
 * file database. What a database does is the driver's (store_int.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "revocations.h"
#include "store_int.h"

static const char *const store_error_names[] = {
    [STORE_ERR_NONE] = "none",
    [STORE_ERR_BUSY] = "busy",
    [STORE_ERR_FULL] = "full",
    [STORE_ERR_IO] = "io",
    [STORE_ERR_CORRUPT] = "corrupt",
    [STORE_ERR_CONFLICT] = "conflict",
    [STORE_ERR_INVALID] = "invalid",
    [STORE_ERR_INTERNAL] = "internal",
    [STORE_ERR_UNAVAILABLE] = "unavailable",
};

/* Which driver a target names, by its scheme. */
static const struct {
    const char *prefix;
    const struct store_driver *drv;
} store_schemes[] = {
    {"postgresql://", &store_pg_driver},
    {"postgres://", &store_pg_driver},
};

const struct store_driver *
store_driver_for(const char *target)
{
    for (size_t i = 0; i < sizeof(store_schemes) / sizeof(store_schemes[0]); i++)
        if (strncmp(target, store_schemes[i].prefix, strlen(store_schemes[i].prefix)) == 0)
            return store_schemes[i].drv;
    return &store_sqlite_driver;
}

const char *
store_backend_name(const char *target)
{
    return store_driver_for(target)->name;
}

unsigned
store_target_caps(const char *target)
{
    return store_driver_for(target)->caps_of(target);
}

int
store_is_local_file(const char *target)
{
    return (store_target_caps(target) & STORE_CAP_LOCAL_FILE) != 0;
}

int
store_has_checkpoint(const struct store *st)
{
    return (st->caps & STORE_CAP_CHECKPOINT) != 0;
}

enum store_error
store_error(const struct store *st)
{
    return st->error;
}

const char *
store_error_name(enum store_error err)
{
    if ((size_t)err >= sizeof(store_error_names) / sizeof(store_error_names[0]) ||
        store_error_names[err] == NULL)
        return "internal";
    return store_error_names[err];
}

const char *
store_err(struct store *st, const char *what)
{
    const char *msg = "no database";

    st->error = STORE_ERR_INTERNAL;
    if (st->conn != NULL)
        st->drv->errinfo(st, &st->error, &msg);
    snprintf(st->errbuf, sizeof(st->errbuf), "%s: %s", what, msg);
    return st->errbuf;
}

int
store_exec(struct store *st, const char *sql, const char **errstr)
{
    if (st->drv->exec(st, sql) == -1) {
        *errstr = store_err(st, "exec");
        return -1;
    }
    return 0;
}

const char *
store_errf(struct store *st, enum store_error err, const char *fmt, ...)
{
    va_list ap;

    st->error = err;
    va_start(ap, fmt);
    vsnprintf(st->errbuf, sizeof(st->errbuf), fmt, ap);
    va_end(ap);
    return st->errbuf;
}

/* Runs one cached statement that returns no row. */
static int
store_run(struct store *st, enum store_stmt_id id, const char *sql, const char *what,
          const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, id, sql, errstr)) == NULL)
        return -1;
    rc = store_step_done(st, stmt, what, errstr);
    store_stmt_done(stmt);
    return rc;
}

/* A nested BEGIN and a COMMIT outside a transaction are errors on every
 * backend (PostgreSQL only warns): a commit that did not commit must never
 * read as a success. */
int
store_tx_begin(struct store *st, const char **errstr)
{
    if (st->conn != NULL && st->drv->in_tx(st)) {
        *errstr = store_errf(st, STORE_ERR_INTERNAL, "begin: a transaction is already open");
        return -1;
    }
    store_journal_undo(st, 0); /* what an earlier, failed transaction left */
    st->audit_locked = st->savepoints = st->audit_head_known = 0;
    return store_run(st, STMT_TX_BEGIN, st->drv->begin_sql, "begin", errstr);
}

int
store_tx_commit(struct store *st, const char **errstr)
{
    if (!st->drv->in_tx(st)) {
        *errstr = store_errf(st, STORE_ERR_INTERNAL, "commit: no transaction is open");
        return -1;
    }
    if (st->marks != 0 && store_changes_precommit(st, errstr) == -1)
        return -1;
    st->audit_locked = st->savepoints = st->audit_head_known = 0;
    return store_run(st, STMT_TX_COMMIT, "COMMIT", "commit", errstr);
}

void
store_tx_rollback(struct store *st)
{
    const char *errstr;

    /* Nothing to report: the database may already have rolled back (SQLite
     * after an I/O error or SQLITE_FULL, a lost connection), and then there
     * is nothing left to undo. */
    store_journal_undo(st, 0);
    st->audit_locked = st->savepoints = st->audit_head_known = 0;
    if (st->drv->in_tx(st))
        (void)store_run(st, STMT_TX_ROLLBACK, "ROLLBACK", "rollback", &errstr);
}

int
store_savepoint(struct store *st, const char **errstr)
{
    store_journal_mark(st);
    if (store_run(st, STMT_SAVEPOINT, "SAVEPOINT op", "savepoint", errstr) == -1)
        return -1;
    st->savepoints++;
    return 0;
}

int
store_savepoint_release(struct store *st, const char **errstr)
{
    if (st->savepoints > 0)
        st->savepoints--;
    return store_run(st, STMT_SAVEPOINT_RELEASE, "RELEASE op", "release savepoint", errstr);
}

void
store_savepoint_rollback(struct store *st)
{
    const char *errstr;

    store_journal_undo(st, 1);
    st->audit_head_known = 0; /* an append it undid may have moved it */
    if (st->savepoints > 0)
        st->savepoints--;
    /* ROLLBACK TO keeps the savepoint open; RELEASE then drops it, leaving
     * the enclosing transaction as it was before store_savepoint (on
     * PostgreSQL also out of the aborted state a failed statement left). */
    if (store_run(st, STMT_SAVEPOINT_ROLLBACK_TO, "ROLLBACK TO op", "rollback to savepoint",
                  &errstr) == 0)
        (void)store_run(st, STMT_SAVEPOINT_RELEASE, "RELEASE op", "release savepoint", &errstr);
}

static int
store_driver_latest(const struct store_driver *drv)
{
    int v = 0;

    for (const struct store_migration *m = drv->migrations; m->version != 0; m++)
        v = m->version;
    return v;
}

int
store_schema_latest_of(const struct store *st)
{
    return store_driver_latest(st->drv);
}

int
store_schema_latest(void)
{
    return store_driver_latest(&store_sqlite_driver);
}

int
store_schema_version(struct store *st)
{
    struct store_stmt *stmt;
    int version = 0;

    if ((stmt = st->drv->prepare(st, "SELECT max(version) FROM schema_migrations", 0)) == NULL)
        return 0;
    if (store_step(stmt) == STORE_ROW)
        version = (int)store_col_int64(stmt, 0);
    store_finalize(stmt);
    return version;
}

/* Applies one migration unless another process (another node) did while
 * this one waited for the lock. */
static int
store_migrate_one(struct store *st, const struct store_migration *m, const char **errstr)
{
    struct store_stmt *stmt = NULL;
    int rc;

    if (store_exec(st, st->drv->begin_sql, errstr) == -1)
        return -1;
    if (st->drv->migration_lock_sql != NULL &&
        store_exec(st, st->drv->migration_lock_sql, errstr) == -1)
        goto fail;
    if (store_schema_version(st) >= m->version)
        return store_exec(st, "COMMIT", errstr);
    if (store_exec(st, m->sql, errstr) == -1)
        goto fail;
    if ((stmt = store_prepare(st,
                              "INSERT INTO schema_migrations(version, name, applied_at)"
                              " VALUES (?1, ?2, ?3)",
                              errstr)) == NULL)
        goto fail;
    store_bind_int64(stmt, 1, m->version);
    store_bind_text(stmt, 2, m->name);
    store_bind_int64(stmt, 3, (int64_t)time(NULL));
    rc = store_step(stmt);
    if (rc != STORE_DONE) {
        *errstr = store_err(st, "record migration");
        goto fail;
    }
    store_finalize(stmt);
    stmt = NULL;
    if (store_exec(st, "COMMIT", errstr) == -1)
        goto fail;
    return 0;
fail:
    store_finalize(stmt);
    (void)st->drv->exec(st, "ROLLBACK");
    return -1;
}

static int
store_migrate(struct store *st, const char **errstr)
{
    int current;

    /* CREATE TABLE IF NOT EXISTS itself races on a brand-new database
     * (PostgreSQL: the loser of two concurrent creates gets a unique
     * violation in its catalog): once the winner committed, the table is
     * there and a second try is a no-op. */
    /* A database already at some version needs no DDL to find that out:
     * a node logged in as a runtime role without CREATE (docs/operations.md,
     * "More than one node") starts on a schema its owner migrated. */
    if ((current = store_schema_version(st)) == 0) {
        if (store_exec(st, st->drv->migrations_table_sql, errstr) == -1 &&
            (store_error(st) != STORE_ERR_CONFLICT ||
             store_exec(st, st->drv->migrations_table_sql, errstr) == -1))
            return -1;
        current = store_schema_version(st);
    }
    if (current > store_schema_latest_of(st)) {
        *errstr = store_errf(st, STORE_ERR_INVALID,
                             "database schema version %d is newer than this sitetokend knows"
                             " (%d);run a newer sitetokend",
                             current, store_schema_latest_of(st));
        return -1;
    }
    for (const struct store_migration *m = st->drv->migrations; m->version != 0; m++)
        if (m->version > current && store_migrate_one(st, m, errstr) == -1)
            return -1;
    return 0;
}

struct store *
store_open_unmigrated(const char *target, int busy_timeout_ms, char *err, size_t n)
{
    struct store *st;

    if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(target)) == NULL) {
        snprintf(err, n, "out of memory");
        free(st);
        return NULL;
    }
    st->drv = store_driver_for(target);
    st->caps = st->drv->caps_of(target);
    if (st->drv->open(st, target, busy_timeout_ms, err, n) == -1) {
        store_close(st);
        return NULL;
    }
    return st;
}

struct store *
store_open(const char *target, int busy_timeout_ms, const char **errstr)
{
    static _Thread_local char openerr[512];
    struct store *st;

    if ((st = store_open_unmigrated(target, busy_timeout_ms, openerr, sizeof(openerr))) == NULL) {
        *errstr = openerr;
        return NULL;
    }
    if (store_migrate(st, errstr) == -1) {
        snprintf(openerr, sizeof(openerr), "%s: %s", target, *errstr);
        *errstr = openerr;
        goto fail;
    }
    return st;
fail:
    store_close(st);
    return NULL;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        store_finalize(st->stmts[i]);
    store_rev_changes_free(st->journal);
    st->drv->close(st);
    free(st->path);
    free(st);
}

const char *
store_path(const struct store *st)
{
    return st->path;
}

const char *
store_backend(const struct store *st)
{
    return st->drv->name;
}

int
store_meta_get(struct store *st, const char *key, char *buf, unsigned long n)
{
    struct store_stmt *stmt;
    int rc = -1;

    if ((stmt = st->drv->prepare(st, "SELECT value FROM meta WHERE key = ?", 0)) == NULL)
        return -1;
    store_bind_text(stmt, 1, key);
    if (store_step(stmt) == STORE_ROW && n > 0) {
        const char *v = store_col_str(stmt, 0);

        snprintf(buf, n, "%s", v != NULL ? v : "");
        rc = 0;
    }
    store_finalize(stmt);
    return rc;
}

int
store_meta_set(struct store *st, const char *key, const char *value, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_prepare(st,
                              "INSERT INTO meta(key, value, updated_at) VALUES (?1, ?2, ?3)"
                              " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                              " updated_at = excluded.updated_at",
                              errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, key);
    store_bind_text(stmt, 2, value);
    store_bind_int64(stmt, 3, (int64_t)time(NULL));
    rc = store_step(stmt);
    if (rc != STORE_DONE)
        *errstr = store_err(st, "meta");
    store_finalize(stmt);
    return rc == STORE_DONE ? 0 : -1;
}

int
store_probe_write(struct store *st, const char **errstr)
{
    return store_meta_set(st, "ready_probe", "ok", errstr);
}

int
store_pragma(struct store *st, const char *name, char *buf, unsigned long n)
{
    if (st->drv->pragma == NULL)
        return -1;
    return st->drv->pragma(st, name, buf, n);
}

int
store_set_autocheckpoint(struct store *st, int pages)
{
    if (st->drv->set_autocheckpoint == NULL)
        return -1;
    return st->drv->set_autocheckpoint(st, pages);
}

int
store_checkpoint(struct store *st, int truncate, int *frames, const char **errstr)
{
    if (frames != NULL)
        *frames = 0;
    if (st->drv->checkpoint == NULL)
        return 0;
    if (st->drv->checkpoint(st, truncate, frames) == -1) {
        *errstr = store_err(st, "checkpoint");
        return -1;
    }
    return 0;
}

int
store_lock(const char *path, int *fd_out, int *created, const char **errstr)
{
    static char err[1024];
    char lockpath[4200], pid[32];
    struct flock fl;
    int fd, n;

    *fd_out = -1;
    *created = 0;
    if (snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >= (int)sizeof(lockpath)) {
        *errstr = "database path too long";
        return -1;
    }
    fd = open(lockpath, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 && errno == ENOENT) {
        fd = open(lockpath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        *created = fd != -1;
    }
    if (fd == -1) {
        snprintf(err, sizeof(err), "lock file %.300s: %s%s", lockpath, strerror(errno),
                 errno == ELOOP ? " (a symbolic link: refused)" : "");
        goto fail;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == -1) {
        int e = errno;

        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if ((e == EAGAIN || e == EACCES) && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            snprintf(err, sizeof(err),
                     "database %.300s is in use by another sitetokend (pid %ld holds %.300s)", path,
                     (long)fl.l_pid, lockpath);
        else
            snprintf(err, sizeof(err), "lock file %.300s: %s", lockpath, strerror(e));
        close(fd);
        goto fail;
    }
    /* For people: the pid in the file (the lock itself is what counts). */
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
        snprintf(err, sizeof(err), "lock file %.300s: %s", lockpath, strerror(errno));
        close(fd);
        goto fail;
    }
    *fd_out = fd;
    return 0;
fail:
    if (*created)
        unlink(lockpath);
    *created = 0;
    *errstr = err;
    return -1;
}

void
store_unlock(const char *path, int fd, int remove)
{
    char lockpath[4200];

    if (fd == -1)
        return;
    if (remove && snprintf(lockpath, sizeof(lockpath), "%s.lock", path) < (int)sizeof(lockpath))
        unlink(lockpath); /* while still holding it */
    close(fd);
}

int
store_peek_keys(const char *target, int64_t *nkeys, const char **errstr)
{
    static char err[600];

    *nkeys = 0;
    if (store_driver_for(target)->peek_keys(target, nkeys, err, sizeof(err)) == -1) {
        *errstr = err;
        return -1;
    }
    return 0;
}
