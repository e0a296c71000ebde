/* Bulk registration tokens: only the id, the SHA-256 of the token, its window
 * and its counters are stored; store_bulk_use is the one check of an exchange. */
#include <string.h>

#include <openssl/crypto.h>

#include "bulk.h"
#include "store_int.h"

#define BULK_COLS                                                                                  \
    "id, token_hash, created_at, not_before, expires_at, max_uses, uses, blocked,"                 \
    " last_used_at, note, created_by, labels, cidrs, rate_per_second, allow_total, allow_used"

static int
bulk_from_row(struct store_stmt *stmt, void *row)
{
    struct store_bulk *b = row;

    memset(b, 0, sizeof(*b));
    if (store_col_text(stmt, 0, b->id, sizeof(b->id)) == -1 ||
        store_col_bytes(stmt, 1) != (int)sizeof(b->token_hash) ||
        store_col_text(stmt, 9, b->note, sizeof(b->note)) == -1 ||
        store_col_text(stmt, 10, b->created_by, sizeof(b->created_by)) == -1 ||
        store_col_text(stmt, 11, b->labels, sizeof(b->labels)) == -1 ||
        store_col_text(stmt, 12, b->cidrs, sizeof(b->cidrs)) == -1)
        return -1;
    memcpy(b->token_hash, store_col_blob(stmt, 1), sizeof(b->token_hash));
    b->created_at = store_col_int64(stmt, 2);
    b->not_before = store_col_int64(stmt, 3);
    b->expires_at = store_col_int64(stmt, 4);
    b->max_uses = store_col_int64(stmt, 5);
    b->uses = store_col_int64(stmt, 6);
    b->blocked = store_col_int64(stmt, 7) != 0;
    b->last_used_at = store_col_int64(stmt, 8);
    b->rate_per_second = store_col_int64(stmt, 13);
    b->allow_list = !stmt->drv->col_is_null(stmt, 14);
    b->allow_total = store_col_int64(stmt, 14);
    b->allow_used = store_col_int64(stmt, 15);
    return 0;
}

int
store_bulk_insert(struct store *st, const struct store_bulk *b, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if (store_check_len(st, "bulk token id", b->id, sizeof(b->id) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token note", b->note, sizeof(b->note) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token creator", b->created_by, sizeof(b->created_by) - 1,
                        errstr) == -1)
        return -1;
    if (b->max_uses < 0 || b->uses < 0) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "bulk token counters must not be negative");
        return -1;
    }
    if ((stmt = store_stmt(st, STMT_BULK_INSERT,
                           "INSERT INTO bulk_tokens(" BULK_COLS ")"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, b->id);
    store_bind_blob(stmt, 2, b->token_hash, sizeof(b->token_hash));
    store_bind_int64(stmt, 3, b->created_at);
    store_bind_int64(stmt, 4, b->not_before);
    store_bind_int64(stmt, 5, b->expires_at);
    store_bind_opt_int64(stmt, 6, b->max_uses);
    store_bind_int64(stmt, 7, b->uses);
    store_bind_int64(stmt, 8, b->blocked != 0);
    store_bind_opt_int64(stmt, 9, b->last_used_at);
    store_bind_text(stmt, 10, b->note);
    store_bind_text(stmt, 11, b->created_by);
    store_bind_opt_text(stmt, 12, b->labels);
    store_bind_opt_text(stmt, 13, b->cidrs);
    store_bind_opt_int64(stmt, 14, b->rate_per_second);
    if (b->allow_list)
        store_bind_int64(stmt, 15, b->allow_total);
    else
        store_bind_null(stmt, 15);
    store_bind_int64(stmt, 16, b->allow_used);
    rc = store_step_done(st, stmt, "insert bulk token", errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_bulk_get(struct store *st, const char *id, struct store_bulk *out, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_BULK_GET, "SELECT " BULK_COLS " FROM bulk_tokens WHERE id = ?",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, id);
    return store_row_one(st, stmt, bulk_from_row, out, "get bulk token", "no such bulk token",
                         errstr);
}

/* The columns store_bulk_use decides on. */
struct bulk_facts {
    uint8_t hash[32];
    int blocked;
    int64_t not_before, expires_at, max_uses, uses;
};

static int
bulk_facts_from_row(struct store_stmt *stmt, void *row)
{
    struct bulk_facts *f = row;

    if (store_col_bytes(stmt, 0) != (int)sizeof(f->hash))
        return -1;
    memcpy(f->hash, store_col_blob(stmt, 0), sizeof(f->hash));
    f->blocked = store_col_int64(stmt, 1) != 0;
    f->not_before = store_col_int64(stmt, 2);
    f->expires_at = store_col_int64(stmt, 3);
    f->max_uses = store_col_int64(stmt, 4);
    f->uses = store_col_int64(stmt, 5);
    return 0;
}

/* The facts of one exchange, in store_bulk_use's order; take_use 0 stops
 * before the cap (a retried first exchange takes none). */
static enum store_bulk_use
bulk_admit(struct store *st, const char *id, const uint8_t hash[32], int64_t now, int take_use,
           const char **errstr)
{
    struct store_stmt *stmt;
    struct bulk_facts f;
    int n;

    if ((stmt = store_stmt(st, STMT_BULK_USE_GET,
                           "SELECT token_hash, blocked, not_before, expires_at, max_uses, uses"
                           " FROM bulk_tokens WHERE id = ?",
                           errstr)) == NULL)
        return STORE_BULK_ERROR;
    store_bind_text(stmt, 1, id);
    switch (store_row_one(st, stmt, bulk_facts_from_row, &f, "bulk token", NULL, errstr)) {
    case 0:
        break;
    case 1:
        return STORE_BULK_UNKNOWN;
    default:
        return STORE_BULK_ERROR;
    }
    if (CRYPTO_memcmp(f.hash, hash, sizeof(f.hash)) != 0)
        return STORE_BULK_UNKNOWN;
    if (f.blocked)
        return STORE_BULK_BLOCKED;
    if (now < f.not_before)
        return STORE_BULK_NOT_YET;
    if (now >= f.expires_at)
        return STORE_BULK_EXPIRED;
    if (!take_use)
        return STORE_BULK_USED;
    if (f.max_uses > 0 && f.uses >= f.max_uses)
        return STORE_BULK_EXHAUSTED;

    /* blocked and the cap again: the row may have changed since it was read
     * (another connection, another node). */
    if ((stmt = store_stmt(st, STMT_BULK_USE_UPDATE,
                           "UPDATE bulk_tokens SET uses = uses + 1, last_used_at = ?"
                           " WHERE id = ? AND blocked = 0"
                           " AND (max_uses IS NULL OR uses < max_uses)",
                           errstr)) == NULL)
        return STORE_BULK_ERROR;
    store_bind_int64(stmt, 1, now);
    store_bind_text(stmt, 2, id);
    if ((n = store_changes(st, stmt, "use bulk token", errstr)) == -1)
        return STORE_BULK_ERROR;
    return n == 1 ? STORE_BULK_USED : STORE_BULK_EXHAUSTED;
}

enum store_bulk_use
store_bulk_use(struct store *st, const char *id, const uint8_t hash[32], int64_t now,
               const char **errstr)
{
    return bulk_admit(st, id, hash, now, 1, errstr);
}

enum store_bulk_use
store_bulk_retry(struct store *st, const char *id, const uint8_t hash[32], int64_t now,
                 const char **errstr)
{
    return bulk_admit(st, id, hash, now, 0, errstr);
}

int
store_bulk_set_blocked(struct store *st, const char *id, int blocked, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_BULK_SET_BLOCKED,
                           "UPDATE bulk_tokens SET blocked = ? WHERE id = ?", errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, blocked != 0);
    store_bind_text(stmt, 2, id);
    return store_changed_one(st, stmt, "block bulk token", "no such bulk token", errstr);
}

int
store_bulk_list(struct store *st, const char *after, int limit,
                int (*cb)(const struct store_bulk *b, void *arg), void *arg, const char **errstr)
{
    struct store_stmt *stmt;
    struct store_bulk b;
    int64_t c_time, c_rowid;
    int rc;

    if (after != NULL && *after != '\0') {
        /* The cursor is an id; the keyset is its (created_at, rowid). */
        rc = store_cursor(st, STMT_BULK_CURSOR,
                          "SELECT created_at, rowid FROM bulk_tokens WHERE id = ?1", after, &c_time,
                          &c_rowid, "list bulk tokens", errstr);
        if (rc != 0)
            return rc == 1 ? 0 : -1; /* an unknown cursor: nothing after it */
        if ((stmt = store_stmt(st, STMT_BULK_LIST_AFTER,
                               "SELECT " BULK_COLS " FROM bulk_tokens"
                               " WHERE (created_at, rowid) < (?1, ?2)"
                               " ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                               errstr)) == NULL)
            return -1;
        store_bind_int64(stmt, 1, c_time);
        store_bind_int64(stmt, 2, c_rowid);
    } else if ((stmt = store_stmt(st, STMT_BULK_LIST_FIRST,
                                  "SELECT " BULK_COLS " FROM bulk_tokens"
                                  " ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                                  errstr)) == NULL) {
        return -1;
    }
    store_bind_limit(stmt, 3, limit);
    while ((rc = store_row_next(st, stmt, bulk_from_row, &b, "list bulk tokens", errstr)) == 1 &&
           cb(&b, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}
