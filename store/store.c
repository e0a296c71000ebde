/* Opening the database: pragmas that make every commit durable, and numbered
 * migrations recorded in schema_migrations so an upgrade knows where it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Append only: a released migration is never edited, a new one is added. */
static const struct store_migration {
    int version;
    const char *name;
    const char *sql;
} store_migrations[] = {
    {
        .version = 1,
        .name = "meta",
        .sql = "CREATE TABLE meta ("
               "  key TEXT PRIMARY KEY,"
               "  value TEXT NOT NULL,"
               "  updated_at INTEGER NOT NULL"
               ") STRICT;",
    },
};

#define STORE_NMIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

const char *
store_err(struct store *st, const char *what)
{
    snprintf(st->errbuf, sizeof(st->errbuf), "%s: %s", what,
             st->db != NULL ? sqlite3_errmsg(st->db) : "no database");
    return st->errbuf;
}

int
store_exec(struct store *st, const char *sql, const char **errstr)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(st->errbuf, sizeof(st->errbuf), "%s", msg != NULL ? msg : "sqlite error");
        sqlite3_free(msg);
        *errstr = st->errbuf;
        return -1;
    }
    return 0;
}

int
store_schema_latest(void)
{
    return store_migrations[STORE_NMIGRATIONS - 1].version;
}

int
store_schema_version(struct store *st)
{
    sqlite3_stmt *stmt = NULL;
    int version = 0;

    if (sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_migrations", -1, &stmt,
                           NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

static int
store_migrate(struct store *st, const char **errstr)
{
    int current;

    if (store_exec(st,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "  version INTEGER PRIMARY KEY,"
                   "  name TEXT NOT NULL,"
                   "  applied_at INTEGER NOT NULL)",
                   errstr) == -1)
        return -1;
    current = store_schema_version(st);
    if (current > store_schema_latest()) {
        snprintf(st->errbuf, sizeof(st->errbuf),
                 "database schema version %d is newer than this sitetokend knows (%d); "
                 "run a newer sitetokend",
                 current, store_schema_latest());
        *errstr = st->errbuf;
        return -1;
    }
    for (size_t i = 0; i < STORE_NMIGRATIONS; i++) {
        const struct store_migration *m = &store_migrations[i];
        sqlite3_stmt *stmt = NULL;
        int rc;

        if (m->version <= current)
            continue;
        if (store_exec(st, "BEGIN IMMEDIATE", errstr) == -1)
            return -1;
        if (store_exec(st, m->sql, errstr) == -1)
            goto fail;
        if (sqlite3_prepare_v2(st->db,
                               "INSERT INTO schema_migrations(version, name, applied_at) "
                               "VALUES (?, ?, unixepoch())",
                               -1, &stmt, NULL) != SQLITE_OK) {
            *errstr = store_err(st, "record migration");
            goto fail;
        }
        sqlite3_bind_int(stmt, 1, m->version);
        sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) {
            *errstr = store_err(st, "record migration");
            goto fail;
        }
        if (store_exec(st, "COMMIT", errstr) == -1)
            goto fail;
        continue;
    fail:
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

struct store *
store_open(const char *path, int busy_timeout_ms, const char **errstr)
{
    static char openerr[512];
    struct store *st;
    sqlite3_stmt *stmt = NULL;
    int mode_ok = 0;

    if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
        *errstr = "out of memory";
        free(st);
        return NULL;
    }
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(openerr, sizeof(openerr), "open %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        *errstr = openerr;
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, busy_timeout_ms);
    /* journal_mode answers with the mode in force: a read-only directory or a
     * file system without shared memory leaves it "delete", which we refuse. */
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(stmt, 0);
        mode_ok = m != NULL && (strcmp(m, "wal") == 0 || strcmp(m, "memory") == 0);
    }
    sqlite3_finalize(stmt);
    if (!mode_ok) {
        snprintf(openerr, sizeof(openerr), "%s: cannot enable WAL journal mode: %s", path,
                 sqlite3_errmsg(st->db));
        *errstr = openerr;
        goto fail;
    }
    if (store_exec(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", errstr) == -1 ||
        store_migrate(st, errstr) == -1) {
        snprintf(openerr, sizeof(openerr), "%s: %s", path, *errstr);
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
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

const char *
store_path(const struct store *st)
{
    return st->path;
}

int
store_meta_get(struct store *st, const char *key, char *buf, unsigned long n)
{
    sqlite3_stmt *stmt = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW && n > 0) {
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(stmt, 0));
        rc = 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
store_meta_set(struct store *st, const char *key, const char *value, const char **errstr)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO meta(key, value, updated_at) VALUES (?, ?, unixepoch()) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                           "updated_at = excluded.updated_at",
                           -1, &stmt, NULL) != SQLITE_OK) {
        *errstr = store_err(st, "meta");
        return -1;
    }
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *errstr = store_err(st, "meta");
        return -1;
    }
    return 0;
}

int
store_probe_write(struct store *st, const char **errstr)
{
    return store_meta_set(st, "ready_probe", "ok", errstr);
}

int
store_pragma(struct store *st, const char *name, char *buf, unsigned long n)
{
    static const char *const allowed[] = {"journal_mode", "synchronous", "foreign_keys",
                                          "busy_timeout", "integrity_check"};
    sqlite3_stmt *stmt = NULL;
    char sql[64];
    int rc = -1;

    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcmp(name, allowed[i]) == 0)
            rc = 0;
    if (rc == -1 || n == 0)
        return -1;
    rc = -1;
    snprintf(sql, sizeof(sql), "PRAGMA %s", name);
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(stmt, 0));
        rc = 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}
