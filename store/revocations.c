/* The revocation feed gateways poll. A serial is never reused and never goes
 * back: serial = max(previous + 1, Unix time in microseconds), so even a
 * database restored from a backup (whose previous serial is older) hands out
 * serials above every one given out before the restore. The previous serial
 * is kept when the entries carrying it have been pruned (rev_add_sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "revocations.h"
#include "store_int.h"

/* The next serial is max(previous + 1, now_us) where "previous" outlives
 * pruning: SQLite's AUTOINCREMENT counter (sqlite_sequence), PostgreSQL's
 * one-row revocation_serial, whose row lock also makes serials commit in
 * the order they were handed out (a reader never sees N+1 before N). */
static const char *const rev_add_sql[STORE_BACKENDS] = {
    [STORE_BACKEND_SQLITE] =
        "INSERT INTO revocations(serial, kind, id, revoked_at, expires_at, reason)"
        " VALUES (max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'revocations'), 0)"
        " + 1, ?6), ?1, ?2, ?3, ?4, ?5) RETURNING serial",
    [STORE_BACKEND_PG] =
        "WITH s AS (UPDATE revocation_serial SET last = GREATEST(last + 1, CAST(?6 AS BIGINT))"
        " RETURNING last)"
        " INSERT INTO revocations(serial, kind, id, revoked_at, expires_at, reason)"
        " SELECT last, CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS BIGINT),"
        " CAST(?4 AS BIGINT), CAST(?5 AS TEXT) FROM s RETURNING serial",
};

/* The predecessor of the serial about to be handed out, read under the row
 * lock that orders commits (PostgreSQL; SQLite has one writer). */
static const char *const rev_lock_sql[STORE_BACKENDS] = {
    [STORE_BACKEND_SQLITE] = NULL,
    [STORE_BACKEND_PG] = "SELECT last FROM revocation_serial FOR UPDATE",
};

static const char *const rev_serial_sql[STORE_BACKENDS] = {
    /* sqlite_sequence has no row before the first insert (and exists as
     * soon as a table with AUTOINCREMENT does). */
    [STORE_BACKEND_SQLITE] = "SELECT seq FROM sqlite_sequence WHERE name = 'revocations'",
    [STORE_BACKEND_PG] = "SELECT last FROM revocation_serial",
};

/* The journal (revocations.h) ----------------------------------------------- */

static void
journal_add(struct store *st, int removed, const struct store_revocation *r, int64_t prev)
{
    struct store_rev_changes *j = st->journal;

    if (j == NULL && (j = st->journal = calloc(1, sizeof(*j))) == NULL) {
        st->journal_lost = 1;
        return;
    }
    if (j->n == j->cap) {
        size_t cap = j->cap == 0 ? 16 : j->cap * 2;
        struct store_rev_change *v = realloc(j->v, cap * sizeof(*v));

        if (v == NULL) {
            st->journal_lost = 1;
            return;
        }
        j->v = v;
        j->cap = cap;
    }
    j->v[j->n].removed = removed;
    j->v[j->n].r = *r;
    j->v[j->n].prev = prev;
    j->n++;
}

void
store_journal(struct store *st, int on)
{
    st->journal_on = on != 0;
}

void
store_journal_mark(struct store *st)
{
    st->journal_mark = st->journal != NULL ? st->journal->n : 0;
}

void
store_journal_undo(struct store *st, int to_mark)
{
    if (st->journal != NULL)
        st->journal->n = to_mark && st->journal_mark < st->journal->n ? st->journal_mark : 0;
    if (!to_mark) {
        st->journal_lost = 0;
        st->marks = 0; /* a transaction begins or rolled back */
    }
    st->journal_mark = 0;
}

struct store_rev_changes *
store_journal_take(struct store *st, int *lost)
{
    struct store_rev_changes *j = st->journal;

    *lost = st->journal_lost;
    st->journal_lost = 0;
    st->journal_mark = 0;
    if (j == NULL || j->n == 0)
        return NULL;
    st->journal = NULL;
    return j;
}

void
store_rev_changes_free(struct store_rev_changes *c)
{
    if (c == NULL)
        return;
    free(c->v);
    free(c);
}

static int
revocation_serial_from_row(struct store_stmt *stmt, void *row)
{
    *(int64_t *)row = store_col_int64(stmt, 0);
    return 0;
}

/* The serial row locked (until the commit) and its value. */
static int
store_revocation_prev(struct store *st, int64_t *prev, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_REV_LOCK, store_sql(st, rev_lock_sql), errstr)) == NULL)
        return -1;
    return store_row_one(st, stmt, revocation_serial_from_row, prev, "lock revocation serial", NULL,
                         errstr) == -1
               ? -1
               : 0;
}

int
store_revocation_add(struct store *st, const char *kind, const char *id, int64_t revoked_at,
                     int64_t expires_at, const char *reason, int64_t *serial, const char **errstr)
{
    struct store_revocation *r = NULL; /* for the buffer sizes */
    struct store_stmt *stmt;
    struct timespec ts;
    int64_t now_us, got = 0, prev = 0;
    int rc;

    /* The wall clock, or revoked_at when that is later (the debug clock). */
    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (revoked_at > 0 && revoked_at < STORE_SERIAL_MAX / 1000000 && revoked_at * 1000000 > now_us)
        now_us = revoked_at * 1000000;

    if (store_check_len(st, "revocation kind", kind, sizeof(r->kind) - 1, errstr) == -1 ||
        store_check_len(st, "revoked id", id, sizeof(r->id) - 1, errstr) == -1 ||
        store_check_len(st, "revocation reason", reason, sizeof(r->reason) - 1, errstr) == -1 ||
        (st->journal_on && store_sql(st, rev_lock_sql) != NULL &&
         store_revocation_prev(st, &prev, errstr) == -1) ||
        (stmt = store_stmt(st, STMT_REV_ADD, store_sql(st, rev_add_sql), errstr)) == NULL)
        return -1;
    st->marks |= STORE_CHANGED_REVOCATIONS;
    store_bind_text(stmt, 1, kind);
    store_bind_text(stmt, 2, id);
    store_bind_int64(stmt, 3, revoked_at);
    store_bind_int64(stmt, 4, expires_at);
    store_bind_text(stmt, 5, reason != NULL ? reason : "");
    store_bind_int64(stmt, 6, now_us);
    rc = store_row_one(st, stmt, revocation_serial_from_row, &got, "add revocation",
                       "add revocation: no serial", errstr);
    if (rc == 1) {
        *errstr = store_errf(st, STORE_ERR_CORRUPT, "add revocation: no serial");
        rc = -1;
    }
    if (rc == 0 && got >= STORE_SERIAL_MAX) {
        *errstr = store_errf(st, STORE_ERR_FULL, "revocation serial past 2^53");
        rc = -1;
    }
    if (rc == 0 && serial != NULL)
        *serial = got;
    if (rc == 0 && st->journal_on) {
        struct store_revocation e;

        memset(&e, 0, sizeof(e));
        e.serial = got;
        snprintf(e.kind, sizeof(e.kind), "%s", kind);
        snprintf(e.id, sizeof(e.id), "%s", id);
        snprintf(e.reason, sizeof(e.reason), "%s", reason != NULL ? reason : "");
        e.revoked_at = revoked_at;
        e.expires_at = expires_at;
        journal_add(st, 0, &e, prev);
    }
    return rc;
}

static int
revocation_from_row(struct store_stmt *stmt, void *row)
{
    struct store_revocation *r = row;

    memset(r, 0, sizeof(*r));
    r->serial = store_col_int64(stmt, 0);
    r->revoked_at = store_col_int64(stmt, 3);
    r->expires_at = store_col_int64(stmt, 4);
    if (store_col_text(stmt, 1, r->kind, sizeof(r->kind)) == -1 ||
        store_col_text(stmt, 2, r->id, sizeof(r->id)) == -1 ||
        store_col_text(stmt, 5, r->reason, sizeof(r->reason)) == -1)
        return -1;
    return 0;
}

int
store_revocation_list(struct store *st, int64_t since, int64_t now, int limit,
                      int (*cb)(const struct store_revocation *r, void *arg), void *arg,
                      const char **errstr)
{
    struct store_revocation r;
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_REV_LIST,
                           "SELECT serial, kind, id, revoked_at, expires_at, reason"
                           " FROM revocations WHERE serial > ? AND expires_at > ?"
                           " ORDER BY serial LIMIT ?",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, since);
    store_bind_int64(stmt, 2, now);
    store_bind_limit(stmt, 3, limit);
    while ((rc = store_row_next(st, stmt, revocation_from_row, &r, "list revocations", errstr)) ==
               1 &&
           cb(&r, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int64_t
store_revocation_serial(struct store *st)
{
    struct store_stmt *stmt;
    const char *errstr;
    int64_t v = 0;

    if ((stmt = store_stmt(st, STMT_REV_SERIAL, store_sql(st, rev_serial_sql), &errstr)) == NULL)
        return 0;
    if (store_step(stmt) == STORE_ROW)
        v = store_col_int64(stmt, 0);
    store_stmt_done(stmt);
    return v;
}

int
store_revocation_prune(struct store *st, int64_t now, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_REV_PRUNE, "DELETE FROM revocations WHERE expires_at < ?",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, now);
    return store_changes(st, stmt, "prune revocations", errstr);
}

int
store_revocation_remove(struct store *st, const char *kind, const char *id, const char **errstr)
{
    struct store_stmt *stmt;
    int n;

    if ((stmt = store_stmt(st, STMT_REV_REMOVE, "DELETE FROM revocations WHERE kind = ? AND id = ?",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, kind);
    store_bind_text(stmt, 2, id);
    if ((n = store_changes(st, stmt, "remove revocation", errstr)) > 0)
        st->marks |= STORE_CHANGED_REMOVALS;
    if (n > 0 && st->journal_on) {
        struct store_revocation e;

        memset(&e, 0, sizeof(e));
        snprintf(e.kind, sizeof(e.kind), "%s", kind);
        snprintf(e.id, sizeof(e.id), "%s", id);
        journal_add(st, 1, &e, 0);
    }
    return n;
}

int
store_revocation_exists(struct store *st, const char *kind, const char *id, int64_t now)
{
    struct store_stmt *stmt;
    const char *errstr;

    if ((stmt = store_stmt(st, STMT_REV_EXISTS,
                           "SELECT 1 FROM revocations WHERE kind = ? AND id = ? AND expires_at > ?"
                           " LIMIT 1",
                           &errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, kind);
    store_bind_text(stmt, 2, id);
    store_bind_int64(stmt, 3, now);
    /* store_row_one: 0 found, 1 none, -1 error. */
    switch (store_row_one(st, stmt, store_no_columns, NULL, "revocation exists", NULL, &errstr)) {
    case 0:
        return 1;
    case 1:
        return 0;
    default:
        return -1;
    }
}
