/* The SQLite driver (store_int.h's seam): one database file in WAL mode with
 * synchronous=FULL, its numbered migrations, its error classes, and what
 * only it has: the WAL checkpoint and the pragmas. The only file in the tree
 * that includes sqlite3.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store_int.h"

/* Page cache per connection, KiB: the writer and each reader keep the hot
 * index pages of a large store in memory (bounded for the RSS budget). */
#define SQLITE_CACHE_KIB "16384"

/* Append only: a released migration is never edited, a new one is added. */
static const struct store_migration sqlite_migrations[] = {
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
    {.version = 0}, /* the end */
};

struct sqlite_stmt {
    struct store_stmt base; /* first */
    sqlite3_stmt *s;
};

struct sqlite_conn {
    sqlite3 *db;
    int last_rc; /* of the last failure that had no connection error (exec) */
};

#define SQLITE_DB(st) (((struct sqlite_conn *)(st)->conn)->db)
#define SQLITE_S(stmt) (((struct sqlite_stmt *)(stmt))->s)

/* SQLite's primary result codes -> the class a caller maps to its answer. */
static const struct {
    int code;
    enum store_error err;
} sqlite_error_classes[] = {
    {SQLITE_BUSY, STORE_ERR_BUSY},      {SQLITE_LOCKED, STORE_ERR_BUSY},
    {SQLITE_FULL, STORE_ERR_FULL},      {SQLITE_IOERR, STORE_ERR_IO},
    {SQLITE_READONLY, STORE_ERR_IO},    {SQLITE_CANTOPEN, STORE_ERR_IO},
    {SQLITE_PROTOCOL, STORE_ERR_IO},    {SQLITE_CORRUPT, STORE_ERR_CORRUPT},
    {SQLITE_NOTADB, STORE_ERR_CORRUPT}, {SQLITE_CONSTRAINT, STORE_ERR_CONFLICT},
    {SQLITE_TOOBIG, STORE_ERR_INVALID}, {SQLITE_RANGE, STORE_ERR_INTERNAL},
};

static enum store_error
sqlite_error_class(int code)
{
    for (size_t i = 0; i < sizeof(sqlite_error_classes) / sizeof(sqlite_error_classes[0]); i++)
        if (sqlite_error_classes[i].code == (code & 0xff))
            return sqlite_error_classes[i].err;
    return STORE_ERR_INTERNAL;
}

static unsigned
sqlite_caps_of(const char *target)
{
    /* An in-memory database has no WAL and no file. */
    if (strcmp(target, ":memory:") == 0)
        return 0;
    return STORE_CAP_CHECKPOINT | STORE_CAP_LOCAL_FILE;
}

static int
sqlite_exec(struct store *st, const char *sql)
{
    struct sqlite_conn *c = st->conn;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    c->last_rc = rc;
    return rc == SQLITE_OK ? 0 : -1;
}

static int
sqlite_open(struct store *st, const char *path, int busy_timeout_ms, char *err, size_t n)
{
    struct sqlite_conn *c;
    sqlite3_stmt *stmt = NULL;
    int mode_ok = 0;

    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    st->conn = c;
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        snprintf(err, n, "open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        return -1;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, busy_timeout_ms);
    /* journal_mode answers with the mode in force: a read-only directory or a
     * file system without shared memory leaves it "delete", which we refuse. */
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(stmt, 0);
        mode_ok = m != NULL && (strcmp(m, "wal") == 0 || strcmp(m, "memory") == 0);
    }
    sqlite3_finalize(stmt);
    if (!mode_ok) {
        snprintf(err, n, "%s: cannot enable WAL journal mode: %s", path, sqlite3_errmsg(c->db));
        return -1;
    }
    if (sqlite_exec(st,
                    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" SQLITE_CACHE_KIB ";") == -1) {
        snprintf(err, n, "%s: %s", path, sqlite3_errmsg(c->db));
        return -1;
    }
    return 0;
}

static void
sqlite_close(struct store *st)
{
    struct sqlite_conn *c = st->conn;

    if (c == NULL)
        return;
    sqlite3_close(c->db);
    free(c);
    st->conn = NULL;
}

static struct store_stmt *
sqlite_prepare(struct store *st, const char *sql, int persistent)
{
    struct sqlite_stmt *s;

    if ((s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    if (sqlite3_prepare_v3(SQLITE_DB(st), sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                           &s->s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s->s);
        free(s);
        return NULL;
    }
    s->base.drv = &store_sqlite_driver;
    s->base.st = st;
    return &s->base;
}

static void
sqlite_finalize(struct store_stmt *stmt)
{
    sqlite3_finalize(SQLITE_S(stmt));
    free(stmt);
}

static int
sqlite_bind_int64(struct store_stmt *stmt, int i, int64_t v)
{
    return sqlite3_bind_int64(SQLITE_S(stmt), i, v) == SQLITE_OK ? 0 : -1;
}

static int
sqlite_bind_text(struct store_stmt *stmt, int i, const char *v, int len)
{
    return sqlite3_bind_text(SQLITE_S(stmt), i, v, len, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int
sqlite_bind_blob(struct store_stmt *stmt, int i, const void *p, size_t n)
{
    if (n > INT32_MAX)
        return -1;
    return sqlite3_bind_blob(SQLITE_S(stmt), i, p, (int)n, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int
sqlite_bind_null(struct store_stmt *stmt, int i)
{
    return sqlite3_bind_null(SQLITE_S(stmt), i) == SQLITE_OK ? 0 : -1;
}

static int
sqlite_step(struct store_stmt *stmt)
{
    switch (sqlite3_step(SQLITE_S(stmt))) {
    case SQLITE_ROW:
        return STORE_ROW;
    case SQLITE_DONE:
        return STORE_DONE;
    default:
        return -1;
    }
}

static int
sqlite_busy(struct store_stmt *stmt)
{
    return sqlite3_stmt_busy(SQLITE_S(stmt));
}

static void
sqlite_reset(struct store_stmt *stmt)
{
    sqlite3_reset(SQLITE_S(stmt));
    sqlite3_clear_bindings(SQLITE_S(stmt));
}

static int
sqlite_col_count(struct store_stmt *stmt)
{
    return sqlite3_column_count(SQLITE_S(stmt));
}

static int
sqlite_col_is_null(struct store_stmt *stmt, int i)
{
    return sqlite3_column_type(SQLITE_S(stmt), i) == SQLITE_NULL;
}

static int64_t
sqlite_col_int64(struct store_stmt *stmt, int i)
{
    return sqlite3_column_int64(SQLITE_S(stmt), i);
}

static const char *
sqlite_col_text(struct store_stmt *stmt, int i)
{
    return (const char *)sqlite3_column_text(SQLITE_S(stmt), i);
}

static const void *
sqlite_col_blob(struct store_stmt *stmt, int i)
{
    return sqlite3_column_blob(SQLITE_S(stmt), i);
}

static int
sqlite_col_bytes(struct store_stmt *stmt, int i)
{
    return sqlite3_column_bytes(SQLITE_S(stmt), i);
}

static int64_t
sqlite_changes(struct store *st)
{
    return sqlite3_changes64(SQLITE_DB(st));
}

static int
sqlite_in_tx(struct store *st)
{
    return sqlite3_get_autocommit(SQLITE_DB(st)) == 0;
}

static void
sqlite_errinfo(struct store *st, enum store_error *cls, const char **msg)
{
    struct sqlite_conn *c = st->conn;

    if (c == NULL || c->db == NULL) {
        *cls = STORE_ERR_INTERNAL;
        *msg = "no database";
        return;
    }
    *cls = sqlite_error_class(sqlite3_extended_errcode(c->db));
    *msg = sqlite3_errmsg(c->db);
}

static int
sqlite_peek_keys(const char *path, int64_t *nkeys, char *err, size_t n)
{
    struct stat sb;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = -1;

    *nkeys = 0;
    if (lstat(path, &sb) == -1) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, n, "database %.300s: %s", path, strerror(errno));
        goto done;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        snprintf(err, n, "open %.300s: %s", path,
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
        snprintf(err, n, "%.300s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    if (sqlite3_column_int(stmt, 0) == 0) {
        rc = 0;
        goto done;
    }
    sqlite3_finalize(stmt);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM keys", -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW) {
        snprintf(err, n, "%.300s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    *nkeys = sqlite3_column_int64(stmt, 0);
    rc = 0;
done:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

static int
sqlite_checkpoint(struct store *st, int truncate, int *frames)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(
        SQLITE_DB(st), NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
        &log, &done);

    if (frames != NULL)
        *frames = log;
    return rc != SQLITE_OK && rc != SQLITE_BUSY ? -1 : 0;
}

static int
sqlite_set_autocheckpoint(struct store *st, int pages)
{
    return sqlite3_wal_autocheckpoint(SQLITE_DB(st), pages) == SQLITE_OK ? 0 : -1;
}

static int
sqlite_pragma(struct store *st, const char *name, char *buf, unsigned long n)
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
    if (sqlite3_prepare_v2(SQLITE_DB(st), sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(stmt, 0));
        rc = 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

const struct store_driver store_sqlite_driver = {
    .name = "sqlite",
    .backend = STORE_BACKEND_SQLITE,
    .migrations = sqlite_migrations,
    .migrations_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "  version INTEGER PRIMARY KEY,"
                            "  name TEXT NOT NULL,"
                            "  applied_at INTEGER NOT NULL)",
    .migration_lock_sql = NULL, /* BEGIN IMMEDIATE takes the write lock */
    .begin_sql = "BEGIN IMMEDIATE",
    .prefix_sentinel = "\xff",
    .caps_of = sqlite_caps_of,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .bind_int64 = sqlite_bind_int64,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
    .bind_null = sqlite_bind_null,
    .step = sqlite_step,
    .busy = sqlite_busy,
    .reset = sqlite_reset,
    .col_count = sqlite_col_count,
    .col_is_null = sqlite_col_is_null,
    .col_int64 = sqlite_col_int64,
    .col_text = sqlite_col_text,
    .col_blob = sqlite_col_blob,
    .col_bytes = sqlite_col_bytes,
    .changes = sqlite_changes,
    .in_tx = sqlite_in_tx,
    .errinfo = sqlite_errinfo,
    .peek_keys = sqlite_peek_keys,
    .checkpoint = sqlite_checkpoint,
    .set_autocheckpoint = sqlite_set_autocheckpoint,
    .pragma = sqlite_pragma,
};
