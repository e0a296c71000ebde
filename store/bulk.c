/* Bulk registration tokens: only the id, the SHA-256 of the token, its window
 * and its counters are stored; store_bulk_use is the one check of an exchange. */
#include <string.h>

#include <openssl/crypto.h>

#include "bulk.h"
#include "store_int.h"

#define BULK_COLS                                                                                  \
    "id, token_hash, created_at, not_before, expires_at, max_uses, uses, blocked,"                 \
    " last_used_at, note, created_by"

static int
bulk_from_row(sqlite3_stmt *stmt, struct store_bulk *b)
{
    memset(b, 0, sizeof(*b));
    if (store_col_text(stmt, 0, b->id, sizeof(b->id)) == -1 ||
        sqlite3_column_bytes(stmt, 1) != (int)sizeof(b->token_hash) ||
        store_col_text(stmt, 9, b->note, sizeof(b->note)) == -1 ||
        store_col_text(stmt, 10, b->created_by, sizeof(b->created_by)) == -1)
        return -1;
    memcpy(b->token_hash, sqlite3_column_blob(stmt, 1), sizeof(b->token_hash));
    b->created_at = sqlite3_column_int64(stmt, 2);
    b->not_before = sqlite3_column_int64(stmt, 3);
    b->expires_at = sqlite3_column_int64(stmt, 4);
    b->max_uses = sqlite3_column_int64(stmt, 5);
    b->uses = sqlite3_column_int64(stmt, 6);
    b->blocked = sqlite3_column_int(stmt, 7) != 0;
    b->last_used_at = sqlite3_column_int64(stmt, 8);
    return 0;
}

int
store_bulk_insert(struct store *st, const struct store_bulk *b, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if (store_check_len(st, "bulk token id", b->id, sizeof(b->id) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token note", b->note, sizeof(b->note) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token creator", b->created_by, sizeof(b->created_by) - 1,
                        errstr) == -1)
        return -1;
    if (b->max_uses < 0 || b->uses < 0) {
        *errstr = "bulk token counters must not be negative";
        return -1;
    }
    if ((stmt = store_stmt(st, STMT_BULK_INSERT,
                           "INSERT INTO bulk_tokens(" BULK_COLS ")"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, b->token_hash, sizeof(b->token_hash), SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, b->created_at);
    sqlite3_bind_int64(stmt, 4, b->not_before);
    sqlite3_bind_int64(stmt, 5, b->expires_at);
    store_bind_opt_int64(stmt, 6, b->max_uses);
    sqlite3_bind_int64(stmt, 7, b->uses);
    sqlite3_bind_int(stmt, 8, b->blocked != 0);
    store_bind_opt_int64(stmt, 9, b->last_used_at);
    sqlite3_bind_text(stmt, 10, b->note, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 11, b->created_by, -1, SQLITE_STATIC);
    rc = store_step_done(st, stmt, "insert bulk token", errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_bulk_get(struct store *st, const char *id, struct store_bulk *out, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_BULK_GET, "SELECT " BULK_COLS " FROM bulk_tokens WHERE id = ?",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    switch (sqlite3_step(stmt)) {
    case SQLITE_ROW:
        rc = 0;
        if (bulk_from_row(stmt, out) == -1) {
            *errstr = store_errf(st, "bulk_tokens: unreadable row");
            rc = -1;
        }
        break;
    case SQLITE_DONE:
        *errstr = "no such bulk token";
        rc = 1;
        break;
    default:
        *errstr = store_err(st, "get bulk token");
        rc = -1;
        break;
    }
    store_stmt_done(stmt);
    return rc;
}

enum errcode
store_bulk_use(struct store *st, const char *id, const uint8_t hash[32], int64_t now,
               const char **errstr)
{
    sqlite3_stmt *stmt;
    uint8_t stored[32];
    int64_t not_before, expires_at, max_uses, uses;
    int blocked, rc;
    enum errcode code;

    if ((stmt = store_stmt(st, STMT_BULK_USE_GET,
                           "SELECT token_hash, blocked, not_before, expires_at, max_uses, uses"
                           " FROM bulk_tokens WHERE id = ?",
                           errstr)) == NULL)
        return ERRCODE_UNAVAILABLE;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        store_stmt_done(stmt);
        return ERRCODE_BAD_SIGNATURE;
    }
    if (rc != SQLITE_ROW || sqlite3_column_bytes(stmt, 0) != (int)sizeof(stored)) {
        *errstr = rc != SQLITE_ROW ? store_err(st, "bulk token")
                                   : store_errf(st, "bulk_tokens: unreadable row");
        store_stmt_done(stmt);
        return ERRCODE_UNAVAILABLE;
    }
    memcpy(stored, sqlite3_column_blob(stmt, 0), sizeof(stored));
    blocked = sqlite3_column_int(stmt, 1);
    not_before = sqlite3_column_int64(stmt, 2);
    expires_at = sqlite3_column_int64(stmt, 3);
    max_uses = sqlite3_column_int64(stmt, 4);
    uses = sqlite3_column_int64(stmt, 5);
    store_stmt_done(stmt);

    /* The order of the checks is the contract: a forged or unknown token
     * learns nothing about the real one's state. */
    if (CRYPTO_memcmp(stored, hash, sizeof(stored)) != 0)
        return ERRCODE_BAD_SIGNATURE;
    if (blocked)
        return ERRCODE_BULK_TOKEN_BLOCKED;
    if (now < not_before)
        return ERRCODE_TOKEN_NOT_YET_VALID;
    if (now >= expires_at)
        return ERRCODE_TOKEN_EXPIRED;
    if (max_uses > 0 && uses >= max_uses)
        return ERRCODE_BULK_TOKEN_EXHAUSTED;

    /* The cap is checked again in the UPDATE, so that even a caller outside
     * a transaction can never push uses past max_uses. */
    if ((stmt = store_stmt(st, STMT_BULK_USE_UPDATE,
                           "UPDATE bulk_tokens SET uses = uses + 1, last_used_at = ?"
                           " WHERE id = ? AND blocked = 0"
                           " AND (max_uses IS NULL OR uses < max_uses)",
                           errstr)) == NULL)
        return ERRCODE_UNAVAILABLE;
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    code = ERRCODE_OK;
    if (store_step_done(st, stmt, "use bulk token", errstr) == -1)
        code = ERRCODE_UNAVAILABLE;
    else if (sqlite3_changes(st->db) != 1)
        code = ERRCODE_BULK_TOKEN_EXHAUSTED;
    store_stmt_done(stmt);
    return code;
}

int
store_bulk_set_blocked(struct store *st, const char *id, int blocked, const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_BULK_SET_BLOCKED,
                           "UPDATE bulk_tokens SET blocked = ? WHERE id = ?", errstr)) == NULL)
        return -1;
    sqlite3_bind_int(stmt, 1, blocked != 0);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    rc = store_step_done(st, stmt, "block bulk token", errstr);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        *errstr = "no such bulk token";
        rc = 1;
    }
    store_stmt_done(stmt);
    return rc;
}

int
store_bulk_list(struct store *st, const char *after, int limit,
                int (*cb)(const struct store_bulk *b, void *arg), void *arg, const char **errstr)
{
    sqlite3_stmt *stmt;
    struct store_bulk b;
    int64_t c_time, c_rowid;
    int rc;

    if (after != NULL && *after != '\0') {
        /* The cursor is an id; the keyset is its (created_at, rowid). */
        if ((stmt = store_stmt(st, STMT_BULK_CURSOR,
                               "SELECT created_at, rowid FROM bulk_tokens WHERE id = ?", errstr)) ==
            NULL)
            return -1;
        sqlite3_bind_text(stmt, 1, after, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        c_time = sqlite3_column_int64(stmt, 0);
        c_rowid = sqlite3_column_int64(stmt, 1);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            *errstr = store_err(st, "list bulk tokens");
        store_stmt_done(stmt);
        if (rc == SQLITE_DONE)
            return 0; /* an unknown cursor: nothing after it */
        if (rc != SQLITE_ROW)
            return -1;
        if ((stmt = store_stmt(st, STMT_BULK_LIST_AFTER,
                               "SELECT " BULK_COLS " FROM bulk_tokens"
                               " WHERE (created_at, rowid) < (?1, ?2)"
                               " ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                               errstr)) == NULL)
            return -1;
        sqlite3_bind_int64(stmt, 1, c_time);
        sqlite3_bind_int64(stmt, 2, c_rowid);
    } else if ((stmt = store_stmt(st, STMT_BULK_LIST_FIRST,
                                  "SELECT " BULK_COLS " FROM bulk_tokens"
                                  " ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                                  errstr)) == NULL) {
        return -1;
    }
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (bulk_from_row(stmt, &b) == -1) {
            *errstr = store_errf(st, "bulk_tokens: unreadable row");
            goto fail;
        }
        if (cb(&b, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *errstr = store_err(st, "list bulk tokens");
        goto fail;
    }
    store_stmt_done(stmt);
    return 0;
fail:
    store_stmt_done(stmt);
    return -1;
}
