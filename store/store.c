/* Opening the database: pragmas that make every commit durable, and numbered
 * migrations recorded in schema_migrations so an upgrade knows where it is. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

/* Page cache per connection, KiB: the writer and each reader keep the hot
 * index pages of a large store in memory (bounded for the RSS budget). */
#define STORE_CACHE_KIB "16384"

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
    {
        .version = 2,
        .name = "tokens",
        /* Bulk tokens and tokens are ordered newest first by (time, rowid):
         * the time indexes below carry the rowid, so the lists seek. */
        .sql = "CREATE TABLE keys ("
               "  kid TEXT PRIMARY KEY,"
               "  alg TEXT NOT NULL CHECK (alg IN ('EdDSA','ES256','RS256')),"
               "  status TEXT NOT NULL CHECK (status IN ('next','active','retired')),"
               "  created_at INTEGER NOT NULL,"
               "  activates_at INTEGER NOT NULL,"
               "  retired_at INTEGER,"
               "  public_jwk TEXT NOT NULL,"
               "  sealed_private BLOB NOT NULL"
               ") STRICT;"
               "CREATE TABLE mps ("
               "  id TEXT PRIMARY KEY,"
               "  name TEXT NOT NULL,"
               "  key_hash BLOB NOT NULL UNIQUE,"
               "  cert_sha256 TEXT UNIQUE,"
               "  created_at INTEGER NOT NULL,"
               "  removed_at INTEGER"
               ") STRICT;"
               "CREATE UNIQUE INDEX mps_name ON mps(name) WHERE removed_at IS NULL;"
               "CREATE TABLE bulk_tokens ("
               "  id TEXT PRIMARY KEY,"
               "  token_hash BLOB NOT NULL UNIQUE,"
               "  created_at INTEGER NOT NULL,"
               "  not_before INTEGER NOT NULL,"
               "  expires_at INTEGER NOT NULL,"
               "  max_uses INTEGER,"
               "  uses INTEGER NOT NULL DEFAULT 0,"
               "  blocked INTEGER NOT NULL DEFAULT 0,"
               "  last_used_at INTEGER,"
               "  note TEXT NOT NULL DEFAULT '',"
               "  created_by TEXT NOT NULL"
               ") STRICT;"
               "CREATE TABLE devices ("
               "  id TEXT PRIMARY KEY,"
               "  jkt TEXT NOT NULL UNIQUE,"
               "  hardware_id TEXT NOT NULL,"
               "  name TEXT NOT NULL,"
               "  reg TEXT NOT NULL CHECK (reg IN ('intranet','bulk')),"
               "  bulk_id TEXT REFERENCES bulk_tokens(id),"
               "  mp_id TEXT,"
               "  created_at INTEGER NOT NULL,"
               "  last_seen_at INTEGER NOT NULL,"
               "  blocked INTEGER NOT NULL DEFAULT 0"
               ") STRICT;"
               "CREATE INDEX devices_name ON devices(name);"
               "CREATE TABLE tokens ("
               "  jti TEXT PRIMARY KEY,"
               "  kind TEXT NOT NULL CHECK (kind IN ('client','access')),"
               "  device_id TEXT NOT NULL REFERENCES devices(id),"
               "  kid TEXT NOT NULL,"
               "  issued_at INTEGER NOT NULL,"
               "  expires_at INTEGER NOT NULL,"
               "  gen INTEGER NOT NULL DEFAULT 0,"
               "  bulk_id TEXT,"
               "  mp_id TEXT,"
               "  prev_jti TEXT,"
               "  revoked_at INTEGER,"
               "  revoke_reason TEXT"
               ") STRICT;"
               "CREATE INDEX tokens_device ON tokens(device_id, issued_at);"
               "CREATE TABLE revocations ("
               "  serial INTEGER PRIMARY KEY AUTOINCREMENT,"
               "  kind TEXT NOT NULL CHECK (kind IN ('token','device','bulk')),"
               "  id TEXT NOT NULL,"
               "  revoked_at INTEGER NOT NULL,"
               "  expires_at INTEGER NOT NULL,"
               "  reason TEXT NOT NULL DEFAULT ''"
               ") STRICT;"
               "CREATE TABLE audit ("
               "  seq INTEGER PRIMARY KEY,"
               "  time INTEGER NOT NULL,"
               "  actor TEXT NOT NULL,"
               "  action TEXT NOT NULL,"
               "  subject TEXT NOT NULL DEFAULT '',"
               "  detail TEXT NOT NULL DEFAULT '{}',"
               "  prev_hash TEXT NOT NULL,"
               "  hash TEXT NOT NULL"
               ") STRICT;"
               /* indexes for the keyset-paginated lists and the revocation feed */
               "CREATE INDEX bulk_tokens_created ON bulk_tokens(created_at);"
               "CREATE INDEX devices_blocked ON devices(id) WHERE blocked = 1;"
               "CREATE INDEX tokens_issued ON tokens(issued_at);"
               "CREATE INDEX revocations_expires ON revocations(expires_at);"
               "CREATE INDEX revocations_kind_id ON revocations(kind, id);",
    },
    {
        .version = 3,
        .name = "token families",
        /* A family is named by the jti of its first client token. Existing
         * rows get theirs from the prev_jti links, walked down from every
         * root (a token whose prev_jti is unset or unknown); a row no root
         * reaches (a cycle no writer makes) is a family of its own.
         * tokens_prev finds a token's successors and what was minted from
         * it; tokens_family seeks a family's unexpired members. */
        .sql = "ALTER TABLE tokens ADD COLUMN family TEXT;"
               "CREATE INDEX tokens_prev ON tokens(prev_jti) WHERE prev_jti IS NOT NULL;"
               "WITH RECURSIVE fam(jti, root) AS ("
               "  SELECT jti, jti FROM tokens"
               "   WHERE prev_jti IS NULL OR prev_jti NOT IN (SELECT jti FROM tokens)"
               "  UNION ALL"
               "  SELECT t.jti, fam.root FROM tokens t JOIN fam ON t.prev_jti = fam.jti)"
               " UPDATE tokens SET family = fam.root FROM fam WHERE fam.jti = tokens.jti;"
               "UPDATE tokens SET family = jti WHERE family IS NULL;"
               "CREATE INDEX tokens_family ON tokens(family, expires_at);",
    },
    {
        .version = 4,
        .name = "tokens_kid",
        /* A retired key leaves once the last token it signed has expired:
         * this index answers "latest expiry signed by kid" with one seek. */
        .sql = "CREATE INDEX tokens_kid ON tokens(kid, expires_at);",
    },
    {
        .version = 5,
        .name = "proof_jtis",
        /* Recent proof jtis (store/proofs.c), so replays are refused across
         * a restart. Keyed by (iat, jti): rows append in time order and the
         * writer prunes them from the old end. */
        .sql = "CREATE TABLE proof_jtis ("
               "  iat INTEGER NOT NULL,"
               "  jti TEXT NOT NULL,"
               "  mp_id TEXT NOT NULL DEFAULT '',"
               "  PRIMARY KEY (iat, jti)"
               ") STRICT, WITHOUT ROWID;",
    },
    {
        .version = 6,
        .name = "console indexes",
        /* The console's searches and counts (store/stats.c): devices by
         * name or hardware id prefix in (field, id) keyset order, devices of
         * one bulk token or MP (what a block affects), and the audit trail
         * of one action or subject newest first. IF NOT EXISTS: a test
         * that rewinds the schema re-applies this. */
        .sql =
            "CREATE INDEX IF NOT EXISTS devices_name_id ON devices(name, id);"
            "DROP INDEX IF EXISTS devices_name;"
            "CREATE INDEX IF NOT EXISTS devices_hardware_id ON devices(hardware_id, id);"
            "CREATE INDEX IF NOT EXISTS devices_bulk ON devices(bulk_id) WHERE bulk_id IS NOT NULL;"
            "CREATE INDEX IF NOT EXISTS devices_mp ON devices(mp_id) WHERE mp_id IS NOT NULL;"
            "CREATE INDEX IF NOT EXISTS audit_action_seq ON audit(action, seq);"
            "CREATE INDEX IF NOT EXISTS audit_subject_seq ON audit(subject, seq);",
    },
    {
        .version = 7,
        .name = "purge tombstones",
        /* store/purge.c: a purged blocked device leaves its key thumbprint
         * (and hardware id, for the record) so that it still cannot register
         * again; devices by last contact, for `device purge`. IF NOT
         * EXISTS: a test that rewinds the schema re-applies this. */
        .sql = "CREATE TABLE IF NOT EXISTS device_tombstones ("
               "  jkt TEXT PRIMARY KEY,"
               "  hardware_id TEXT NOT NULL,"
               "  device_id TEXT NOT NULL,"
               "  purged_at INTEGER NOT NULL"
               ") STRICT;"
               "CREATE INDEX IF NOT EXISTS device_tombstones_hardware_id"
               " ON device_tombstones(hardware_id);"
               "CREATE INDEX IF NOT EXISTS devices_last_seen ON devices(last_seen_at);",
    },
    {
        .version = 8,
        .name = "key taint and revoke",
        /* A tainted key (suspected leak) still verifies but never signs; a
         * revoked one is no longer published and its row stays (status
         * retired) only so introspection can say token_revoked until the
         * lifecycle removes it. Portable: two nullable columns. */
        .sql = "ALTER TABLE keys ADD COLUMN tainted_at INTEGER;"
               "ALTER TABLE keys ADD COLUMN revoked_at INTEGER;",
    },
    {
        .version = 9,
        .name = "labels",
        /* Device labels (canonical "k=v,k=v" text, NULL for none) on the
         * bulk tokens and MPs that hand them out and on the devices that
         * carry them; device_labels holds one row per pair so that a
         * device list filtered by a label seeks (label, device_id). */
        .sql = "ALTER TABLE bulk_tokens ADD COLUMN labels TEXT;"
               "ALTER TABLE mps ADD COLUMN labels TEXT;"
               "ALTER TABLE devices ADD COLUMN labels TEXT;"
               "CREATE TABLE device_labels ("
               "  label TEXT NOT NULL,"
               "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
               "  PRIMARY KEY (label, device_id)"
               ") WITHOUT ROWID;",
    },
    {
        .version = 10,
        .name = "bulk token bounds",
        /* The ranges an exchange's client_address must fall in (canonical
         * CIDR text, comma-joined; NULL: anywhere) and the per-second cap
         * on its exchanges (per node; NULL: none). */
        .sql = "ALTER TABLE bulk_tokens ADD COLUMN cidrs TEXT;"
               "ALTER TABLE bulk_tokens ADD COLUMN rate_per_second INTEGER;",
    },
    {
        .version = 11,
        .name = "blast radius indexes",
        /* What a key revoke or a bulk block would hit, within a second at
         * 1M devices (store_key_impact, store_impact_bulk): the live tokens
         * of a key grouped by device straight from one partial index in
         * (kid, device_id) order, and the live tokens of a bulk token's
         * devices by the bulk_id they carry (no per-device join). */
        .sql = "CREATE INDEX IF NOT EXISTS tokens_kid_live ON tokens(kid, device_id, expires_at)"
               " WHERE revoked_at IS NULL;"
               "CREATE INDEX IF NOT EXISTS tokens_bulk_live ON tokens(bulk_id, expires_at)"
               " WHERE revoked_at IS NULL AND bulk_id IS NOT NULL;",
    },
    {
        .version = 12,
        .name = "bulk token allow-lists",
        /* The hardware ids a bulk token admits, each claimed once by the
         * first device key that exchanges with it (jkt, device_id, used_at
         * NULL until then); allow_total NULL: no allow-list, else its
         * entries, allow_used those claimed. Portable SQL: no STRICT, no
         * WITHOUT ROWID. */
        .sql = "CREATE TABLE bulk_allow ("
               "  bulk_id TEXT NOT NULL REFERENCES bulk_tokens(id) ON DELETE CASCADE,"
               "  hardware_id TEXT NOT NULL,"
               "  jkt TEXT,"
               "  device_id TEXT,"
               "  used_at INTEGER,"
               "  PRIMARY KEY (bulk_id, hardware_id)"
               ");"
               "ALTER TABLE bulk_tokens ADD COLUMN allow_total INTEGER;"
               "ALTER TABLE bulk_tokens ADD COLUMN allow_used INTEGER NOT NULL DEFAULT 0;",
    },
};

#define STORE_NMIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

/* SQLite's primary result codes -> the class a caller maps to its answer. */
static const struct {
    int code;
    enum store_error err;
} store_error_classes[] = {
    {SQLITE_BUSY, STORE_ERR_BUSY},      {SQLITE_LOCKED, STORE_ERR_BUSY},
    {SQLITE_FULL, STORE_ERR_FULL},      {SQLITE_IOERR, STORE_ERR_IO},
    {SQLITE_READONLY, STORE_ERR_IO},    {SQLITE_CANTOPEN, STORE_ERR_IO},
    {SQLITE_PROTOCOL, STORE_ERR_IO},    {SQLITE_CORRUPT, STORE_ERR_CORRUPT},
    {SQLITE_NOTADB, STORE_ERR_CORRUPT}, {SQLITE_CONSTRAINT, STORE_ERR_CONFLICT},
    {SQLITE_TOOBIG, STORE_ERR_INVALID}, {SQLITE_RANGE, STORE_ERR_INTERNAL},
};

static const char *const store_error_names[] = {
    [STORE_ERR_NONE] = "none",       [STORE_ERR_BUSY] = "busy",
    [STORE_ERR_FULL] = "full",       [STORE_ERR_IO] = "io",
    [STORE_ERR_CORRUPT] = "corrupt", [STORE_ERR_CONFLICT] = "conflict",
    [STORE_ERR_INVALID] = "invalid", [STORE_ERR_INTERNAL] = "internal",
};

static enum store_error
store_error_class(int sqlite_code)
{
    for (size_t i = 0; i < sizeof(store_error_classes) / sizeof(store_error_classes[0]); i++)
        if (store_error_classes[i].code == (sqlite_code & 0xff))
            return store_error_classes[i].err;
    return STORE_ERR_INTERNAL;
}

enum store_error
store_error(const struct store *st)
{
    return st->error;
}

const char *
store_error_name(enum store_error err)
{
    if ((size_t)err >= sizeof(store_error_names) / sizeof(store_error_names[0]))
        return "internal";
    return store_error_names[err];
}

const char *
store_err(struct store *st, const char *what)
{
    st->error =
        st->db != NULL ? store_error_class(sqlite3_extended_errcode(st->db)) : STORE_ERR_INTERNAL;
    snprintf(st->errbuf, sizeof(st->errbuf), "%s: %s", what,
             st->db != NULL ? sqlite3_errmsg(st->db) : "no database");
    return st->errbuf;
}

int
store_exec(struct store *st, const char *sql, const char **errstr)
{
    char *msg = NULL;
    int rc;

    if ((rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
        st->error = store_error_class(rc);
        snprintf(st->errbuf, sizeof(st->errbuf), "%s", msg != NULL ? msg : "sqlite error");
        sqlite3_free(msg);
        *errstr = st->errbuf;
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
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, id, sql, errstr)) == NULL)
        return -1;
    rc = store_step_done(st, stmt, what, errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_tx_begin(struct store *st, const char **errstr)
{
    return store_run(st, STMT_TX_BEGIN, "BEGIN IMMEDIATE", "begin", errstr);
}

int
store_tx_commit(struct store *st, const char **errstr)
{
    return store_run(st, STMT_TX_COMMIT, "COMMIT", "commit", errstr);
}

void
store_tx_rollback(struct store *st)
{
    const char *errstr;

    /* Nothing to report: SQLite may already have rolled back (after an I/O
     * error or SQLITE_FULL), and then there is nothing left to undo. */
    if (sqlite3_get_autocommit(st->db) == 0)
        (void)store_run(st, STMT_TX_ROLLBACK, "ROLLBACK", "rollback", &errstr);
}

int
store_savepoint(struct store *st, const char **errstr)
{
    return store_run(st, STMT_SAVEPOINT, "SAVEPOINT op", "savepoint", errstr);
}

int
store_savepoint_release(struct store *st, const char **errstr)
{
    return store_run(st, STMT_SAVEPOINT_RELEASE, "RELEASE op", "release savepoint", errstr);
}

void
store_savepoint_rollback(struct store *st)
{
    const char *errstr;

    /* ROLLBACK TO keeps the savepoint open; RELEASE then drops it, leaving
     * the enclosing transaction as it was before store_savepoint. */
    if (store_run(st, STMT_SAVEPOINT_ROLLBACK_TO, "ROLLBACK TO op", "rollback to savepoint",
                  &errstr) == 0)
        (void)store_run(st, STMT_SAVEPOINT_RELEASE, "RELEASE op", "release savepoint", &errstr);
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

    if (sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_migrations", -1, &stmt, NULL) !=
        SQLITE_OK)
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
        *errstr = store_errf(st, STORE_ERR_INVALID,
                             "database schema version %d is newer than this sitetokend knows"
                             " (%d);run a newer sitetokend",
                             current, store_schema_latest());
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
                               "INSERT INTO schema_migrations(version, name, applied_at)"
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
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_NOFOLLOW,
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
    if (store_exec(st,
                   "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                   "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" STORE_CACHE_KIB ";",
                   errstr) == -1 ||
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
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
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
                           "INSERT INTO meta(key, value, updated_at) VALUES (?, ?, unixepoch())"
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
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

int
store_set_autocheckpoint(struct store *st, int pages)
{
    return sqlite3_wal_autocheckpoint(st->db, pages) == SQLITE_OK ? 0 : -1;
}

int
store_checkpoint(struct store *st, int truncate, int *frames, const char **errstr)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(
        st->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, &log,
        &done);

    if (frames != NULL)
        *frames = log;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
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
store_peek_keys(const char *path, int64_t *nkeys, const char **errstr)
{
    static char err[600];
    struct stat sb;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = -1;

    *nkeys = 0;
    if (lstat(path, &sb) == -1) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, sizeof(err), "database %.300s: %s", path, strerror(errno));
        goto done;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        snprintf(err, sizeof(err), "open %.300s: %s", path,
                 db != NULL ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(db, 5000);
    /* A database made before the keys table existed holds no key. */
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                           " name = 'keys'",
                           -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW) {
        snprintf(err, sizeof(err), "%.300s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    if (sqlite3_column_int(stmt, 0) == 0) {
        rc = 0;
        goto done;
    }
    sqlite3_finalize(stmt);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM keys", -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW) {
        snprintf(err, sizeof(err), "%.300s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    *nkeys = sqlite3_column_int64(stmt, 0);
    rc = 0;
done:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (rc == -1)
        *errstr = err;
    return rc;
}
