/* What one node commits, every other node learns (store.h): the marks a
 * transaction's statements set, turned just before its COMMIT into counter
 * rows of `meta` (upserts, no migration) and a notification; the marker
 * other nodes poll (one small query); the notification capability's public
 * side; the key lifecycle's lease row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

/* Cached statements whose use means a change other nodes must learn of. A
 * statement that ran in an op rolled back still marks: one more bump, one
 * more reload elsewhere, never one missed. */
static const unsigned stmt_marks[STMT_COUNT] = {
    [STMT_KEY_INSERT] = STORE_CHANGED_KEYS,      [STMT_KEY_SET_STATUS] = STORE_CHANGED_KEYS,
    [STMT_KEY_DELETE] = STORE_CHANGED_KEYS,      [STMT_KEY_TAINT] = STORE_CHANGED_KEYS,
    [STMT_KEY_REVOKE] = STORE_CHANGED_KEYS,      [STMT_MP_REMOVE] = STORE_CHANGED_MPS,
    [STMT_MAINT_MP_SET_KEY] = STORE_CHANGED_MPS,
};

/* The counters: one meta row each, for what the serial does not show. */
static const struct {
    unsigned mark;
    const char *key;
    const char *word; /* in a notification's payload */
} changed_kinds[] = {
    {STORE_CHANGED_REVOCATIONS, NULL, "revocations"},
    {STORE_CHANGED_REMOVALS, "changes.removals", "removals"},
    {STORE_CHANGED_KEYS, "changes.keys", "keys"},
    {STORE_CHANGED_MPS, "changes.mps", "mps"},
};
#define NKINDS (sizeof(changed_kinds) / sizeof(changed_kinds[0]))

unsigned
store_stmt_marks(enum store_stmt_id id)
{
    return (unsigned)id < STMT_COUNT ? stmt_marks[id] : 0;
}

void
store_changed_text(unsigned marks, char *buf, size_t n)
{
    size_t len = 0;

    if (n == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < NKINDS; i++) {
        if (!(marks & changed_kinds[i].mark))
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len > 0 ? "," : "", changed_kinds[i].word);

        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
    }
}

unsigned
store_changed_parse(const char *text)
{
    unsigned marks = 0;

    while (text != NULL && *text != '\0') {
        size_t len = strcspn(text, ",");

        for (size_t i = 0; i < NKINDS; i++)
            if (strlen(changed_kinds[i].word) == len &&
                strncmp(text, changed_kinds[i].word, len) == 0)
                marks |= changed_kinds[i].mark;
        text += len;
        if (*text == ',')
            text++;
    }
    return marks;
}

int
store_changes_precommit(struct store *st, const char **errstr)
{
    unsigned marks = st->marks;
    struct store_stmt *stmt;
    char payload[64];
    int rc;

    st->marks = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        if (!(marks & changed_kinds[i].mark) || changed_kinds[i].key == NULL)
            continue;
        if ((stmt = store_stmt(st, STMT_CHANGES_BUMP,
                               "INSERT INTO meta(key, value, updated_at) VALUES (?1, '1', ?2)"
                               " ON CONFLICT(key) DO UPDATE SET"
                               " value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT),"
                               " updated_at = excluded.updated_at",
                               errstr)) == NULL)
            return -1;
        store_bind_text(stmt, 1, changed_kinds[i].key);
        store_bind_int64(stmt, 2, (int64_t)time(NULL));
        if (store_changes(st, stmt, "bump changes", errstr) == -1)
            return -1;
    }
    if (marks == 0 || st->drv->notify_sql == NULL)
        return 0;
    if ((stmt = store_stmt(st, STMT_CHANGES_NOTIFY, st->drv->notify_sql, errstr)) == NULL)
        return -1;
    store_changed_text(marks, payload, sizeof(payload));
    store_bind_text(stmt, 1, STORE_NOTIFY_CHANNEL);
    store_bind_text(stmt, 2, payload);
    while ((rc = store_step(stmt)) == STORE_ROW)
        ;
    store_stmt_done(stmt);
    if (rc == -1) { /* the transaction is aborted on PostgreSQL: so is the commit */
        *errstr = store_err(st, "notify");
        return -1;
    }
    return 0;
}

/* The marker: the highest serial and the counters, in one query. */
#define MARKER_COUNTERS                                                                            \
    " CAST(coalesce((SELECT value FROM meta WHERE key = 'changes.removals'), '0') AS BIGINT),"     \
    " CAST(coalesce((SELECT value FROM meta WHERE key = 'changes.keys'), '0') AS BIGINT),"         \
    " CAST(coalesce((SELECT value FROM meta WHERE key = 'changes.mps'), '0') AS BIGINT)"

static const char *const marker_sql[STORE_BACKENDS] = {
    [STORE_BACKEND_SQLITE] = "SELECT coalesce((SELECT seq FROM sqlite_sequence"
                             " WHERE name = 'revocations'), 0)," MARKER_COUNTERS,
    [STORE_BACKEND_PG] =
        "SELECT coalesce((SELECT last FROM revocation_serial), 0)," MARKER_COUNTERS,
};

static int
marker_from_row(struct store_stmt *stmt, void *row)
{
    struct store_marker *m = row;

    m->serial = store_col_int64(stmt, 0);
    m->removals = store_col_int64(stmt, 1);
    m->keys = store_col_int64(stmt, 2);
    m->mps = store_col_int64(stmt, 3);
    return 0;
}

int
store_marker_read(struct store *st, struct store_marker *m, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    memset(m, 0, sizeof(*m));
    if ((stmt = store_stmt(st, STMT_CHANGES_READ, store_sql(st, marker_sql), errstr)) == NULL)
        return -1;
    rc = store_row_one(st, stmt, marker_from_row, m, "read marker", "read marker: no row", errstr);
    return rc == 0 ? 0 : -1;
}

int
store_has_notify(const struct store *st)
{
    return st->drv->listen != NULL;
}

int
store_listen(struct store *st, const char **errstr)
{
    if (st->drv->listen == NULL) {
        *errstr =
            store_errf(st, STORE_ERR_INVALID, "listen: no notifications on %s", st->drv->name);
        return -1;
    }
    if (st->drv->listen(st, STORE_NOTIFY_CHANNEL) == -1) {
        *errstr = store_err(st, "listen");
        return -1;
    }
    return 0;
}

int
store_notify_fd(struct store *st)
{
    return st->drv->notify_fd != NULL ? st->drv->notify_fd(st) : -1;
}

int
store_notify_take(struct store *st, unsigned *marks, const char **errstr)
{
    char payload[256];
    int rc;

    *marks = 0;
    if (st->drv->notify_take == NULL)
        return 0;
    if ((rc = st->drv->notify_take(st, payload, sizeof(payload))) == -1) {
        *errstr = store_err(st, "notification");
        return -1;
    }
    if (rc == 1)
        *marks = store_changed_parse(payload);
    return rc;
}

int
store_lease_take(struct store *st, const char *name, const char *me, int64_t now_ms,
                 int64_t until_ms, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_LEASE_TAKE,
                           "INSERT INTO meta(key, value, updated_at) VALUES (?1, ?2, ?3)"
                           " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                           " updated_at = excluded.updated_at"
                           " WHERE meta.updated_at < ?4 OR meta.value = excluded.value",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, name);
    store_bind_text(stmt, 2, me);
    store_bind_int64(stmt, 3, until_ms);
    store_bind_int64(stmt, 4, now_ms);
    switch (store_changes(st, stmt, "take lease", errstr)) {
    case -1:
        return -1;
    case 0:
        return 0;
    default:
        return 1;
    }
}
