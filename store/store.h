/* The store: the site's records behind one backend-neutral API. The backend
 * is named by the target: a SQLite file (the embedded default: WAL mode,
 * synchronous=FULL) or a PostgreSQL libpq URI (postgresql://..., every
 * session synchronous_commit=on). Only store/ includes sqlite3.h or
 * libpq-fe.h; callers see opaque handles, row structs, callbacks and
 * cursors that are domain ids (docs/storage.md).
 *
 * Conventions of every store_* module (keys.h, mps.h, bulk.h, devices.h,
 * audit.h, revocations.h):
 * - A struct store is one connection with its own cache of prepared
 *   statements: use it from one thread at a time.
 * - 0 ok, 1 not found (where documented), -1 error. *errstr is set on every
 *   nonzero return, "not found" included; it points into the store (or is
 *   static) and is valid until the next call on the same store. After a -1,
 *   store_error() tells what kind of failure it was (busy, full, I/O,
 *   corrupt, conflict, ...), so that a caller can map it to its answer.
 * - Strings longer than the struct buffer they are read back into are
 *   refused (-1), never truncated. Nullable columns read back as 0 or "".
 * - Lists: limit <= 0 means no limit; cb returning nonzero stops early (still
 *   0). A callback may call other store functions on the same store, but not
 *   the same list function again (-1: its statement is still running). An
 *   unknown cursor yields an empty page. */
#ifndef SITETOKEN_STORE_H
#define SITETOKEN_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The class of the last failure (-1) on a connection: what a caller needs
 * to choose its answer (retry, report the disk, refuse the request), the
 * same whichever database sits behind the store. */
enum store_error {
    STORE_ERR_NONE = 0,    /* no failure yet on this connection */
    STORE_ERR_BUSY,        /* locked by another connection past the busy timeout: retry */
    STORE_ERR_FULL,        /* the disk (or a quota) is full */
    STORE_ERR_IO,          /* I/O error, read-only or unopenable file */
    STORE_ERR_CORRUPT,     /* malformed database, or a row this code did not write */
    STORE_ERR_CONFLICT,    /* a constraint: duplicate key, unknown reference */
    STORE_ERR_INVALID,     /* the caller's value was refused (too long, unknown kind) */
    STORE_ERR_INTERNAL,    /* anything else: out of memory, misuse, our bug */
    STORE_ERR_UNAVAILABLE, /* the database server is gone (connection lost or refused):
                              the next use connects again */
};

/* The class of the last -1 returned on st (STORE_ERR_NONE before any). Only
 * meaningful right after a -1: a success does not clear it. */
enum store_error store_error(const struct store *st);
/* "busy", "full", "io", "corrupt", "conflict", "invalid", "internal",
 * "unavailable" ("none"). */
const char *store_error_name(enum store_error err);

/* Opens the database target names: a SQLite file (created if missing,
 * ":memory:" allowed; WAL, synchronous=FULL, foreign_keys=ON, the busy
 * timeout) or a postgresql:// URI (refused when it carries a password; the
 * password comes from PGPASSFILE or store_set_password_file; the busy
 * timeout becomes lock_timeout), and applies that backend's numbered
 * migrations. Refuses a schema newer than this binary knows.
 * Returns NULL with *errstr (static or owned by nobody: copy it before the next
 * call) on failure. */
struct store *store_open(const char *path, int busy_timeout_ms, const char **errstr);
void store_close(struct store *st);

/* Schema version recorded in the database, and the newest this binary knows
 * (store_schema_latest: SQLite's; store_schema_latest_of: st's backend's). */
int store_schema_version(struct store *st);
int store_schema_latest(void);
int store_schema_latest_of(const struct store *st);
const char *store_path(const struct store *st);
/* "sqlite" or "postgresql": st's backend, or the one target names. */
const char *store_backend(const struct store *st);
const char *store_backend_name(const char *target);

/* Capabilities a caller asks for instead of knowing the backend. A local
 * file (SQLite, not ":memory:") has one process that may open it (store_lock),
 * state files beside it (-wal, -shm) and a disk to watch; a server database
 * has none of these, and any number of nodes share it. */
int store_is_local_file(const char *target);
/* Whether st has a WAL that a thread of its own should checkpoint. */
int store_has_checkpoint(const struct store *st);

/* A file holding the PostgreSQL password (its first line), read at every
 * connection, for every store opened after this call. Call once at start-up,
 * before any thread opens a store; NULL: PGPASSFILE (libpq's own) only. */
void store_set_password_file(const char *path);

/* Proves the database can be written durably right now (readiness). */
int store_probe_write(struct store *st, const char **errstr);

/* Small key/value table for facts about the site (site code, creation time).
 * store_meta_get copies the value into buf, cut to n-1 bytes (unlike the
 * other readers, it truncates); returns 0, or -1 when the key is absent,
 * when n is 0 or when the read fails: the three are not told apart (its
 * callers treat an unreadable fact as a missing one) and no errstr is set. */
int store_meta_get(struct store *st, const char *key, char *buf, unsigned long n);
int store_meta_set(struct store *st, const char *key, const char *value, const char **errstr);

/* Transactions on this connection. store_tx_begin takes the write lock at
 * once (BEGIN IMMEDIATE). Savepoints let a group commit keep the work of the
 * requests that succeeded when one of them fails. All 0 or -1. */
int store_tx_begin(struct store *st, const char **errstr);
int store_tx_commit(struct store *st, const char **errstr);
void store_tx_rollback(struct store *st);
int store_savepoint(struct store *st, const char **errstr);
int store_savepoint_release(struct store *st, const char **errstr);
void store_savepoint_rollback(struct store *st);

/* WAL checkpoints (store_has_checkpoint; elsewhere a checkpoint is 0 and
 * does nothing, store_set_autocheckpoint -1). store_set_autocheckpoint(st, 0) stops this connection
 * from checkpointing on commit (the writer leaves that to a checkpointer
 * thread); store_checkpoint runs one: truncate = 0 PASSIVE (copies what it
 * can, never waits for the writer or readers), nonzero TRUNCATE (waits up to
 * the busy timeout for the writer and readers, then empties the WAL file:
 * for when the store is idle). A checkpoint that could not finish because
 * the database is busy is not an error. *frames (may be NULL) gets the WAL
 * length in frames. 0 or -1. */
int store_set_autocheckpoint(struct store *st, int pages);
int store_checkpoint(struct store *st, int truncate, int *frames, const char **errstr);

/* Reads a SQLite pragma's current value as text ("journal_mode" -> "wal"),
 * for diagnostics and tests. 0 or -1 (always -1 on other backends). */
int store_pragma(struct store *st, const char *name, char *buf, unsigned long n);

/* The process's claim on the database at path: an fcntl write lock on
 * "PATH.lock" (a file of its own: SQLite's POSIX locks on the database file
 * would be dropped by any close of it in this process), held until
 * store_unlock or exit. Refuses a symbolic link. A lock held elsewhere is
 * -1 with *errstr naming the file and the holder's pid. *created tells
 * whether this call made the file. 0 or -1 (static *errstr). */
int store_lock(const char *path, int *fd, int *created, const char **errstr);
/* Releases it; remove = 1 also deletes the file (a start that failed). */
void store_unlock(const char *path, int fd, int remove);
/* How many signing keys the database target names holds, without creating
 * or migrating anything: 0 when there is no file (or no schema) yet. 0 or
 * -1 (static *errstr). */
int store_peek_keys(const char *path, int64_t *nkeys, const char **errstr);

/* What one node commits, every other node learns (notify.c). Every write
 * transaction bumps a counter row in `meta` for each kind of change another
 * node cannot see from the revocation serial (removals, keys, MPs), in the
 * same transaction, and (where the backend has notifications: PostgreSQL's
 * LISTEN/NOTIFY) sends one naming what changed. Notifications only wake
 * nodes early; reading the marker (the highest serial and the counters) is
 * the path that must be correct. */
#define STORE_CHANGED_REVOCATIONS 0x1u /* a revocation entry added */
#define STORE_CHANGED_REMOVALS 0x2u    /* entries removed (an unblock) */
#define STORE_CHANGED_KEYS 0x4u        /* the signing keys */
#define STORE_CHANGED_MPS 0x8u         /* an MP removed or its API key changed */
#define STORE_NOTIFY_CHANNEL "sitetoken"

struct store_marker {
    int64_t serial;              /* store_revocation_serial */
    int64_t removals, keys, mps; /* the counters (0 before the first change) */
};
/* One small query; 0 or -1 with *errstr. */
int store_marker_read(struct store *st, struct store_marker *m, const char **errstr);
/* "revocations,keys" from STORE_CHANGED_* bits into buf; parsed back by
 * store_changed_parse (unknown words ignored). */
void store_changed_text(unsigned marks, char *buf, size_t n);
unsigned store_changed_parse(const char *text);

/* Notifications: whether st's backend has them; LISTEN on st (a connection
 * of its own, used for nothing else); the socket to wait on (-1 when not
 * connected); one taken: 1 (the STORE_CHANGED_* it names in *marks), 0 none
 * waiting, -1 lost (listen again: it reconnects). */
int store_has_notify(const struct store *st);
int store_listen(struct store *st, const char **errstr);
int store_notify_fd(struct store *st);
int store_notify_take(struct store *st, unsigned *marks, const char **errstr);

/* The key lifecycle's lease (a `meta` row: value the holder, updated_at
 * when it expires, in ms): taken when free or expired, renewed when held
 * by me. 1 held by me until until_ms, 0 held by another, -1 error. */
int store_lease_take(struct store *st, const char *name, const char *me, int64_t now_ms,
                     int64_t until_ms, const char **errstr);

#endif
