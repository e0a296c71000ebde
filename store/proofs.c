/* Persisted proof jtis (see proofs.h). A WITHOUT ROWID table on (iat, jti):
 * one b-tree, inserts land at its right edge, and a prune finds the limit-th
 * oldest row and deletes everything up to it with one row-value range. */
#include <string.h>

#include "proofs.h"
#include "store_int.h"

int
store_proof_add(struct store *st, int64_t iat, const char *jti, const char *mp_id,
                const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc;

    if (jti == NULL || jti[0] == '\0') {
        *errstr = store_errf(st, "proof jti empty");
        return -1;
    }
    if (store_check_len(st, "proof jti", jti, STORE_PROOF_JTI_MAX, errstr) == -1 ||
        store_check_len(st, "proof mp", mp_id, STORE_PROOF_MP_MAX, errstr) == -1 ||
        (stmt = store_stmt(st, STMT_PROOF_ADD,
                           "INSERT INTO proof_jtis(iat, jti, mp_id) VALUES (?, ?, ?)"
                           " ON CONFLICT DO NOTHING",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, iat);
    sqlite3_bind_text(stmt, 2, jti, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, mp_id != NULL ? mp_id : "", -1, SQLITE_STATIC);
    rc = store_step_done(st, stmt, "add proof jti", errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_proof_list(struct store *st, int64_t since,
                 int (*cb)(int64_t iat, const char *jti, const char *mp_id, void *arg), void *arg,
                 const char **errstr)
{
    char jti[STORE_PROOF_JTI_MAX + 1], mp[STORE_PROOF_MP_MAX + 1];
    sqlite3_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_PROOF_LIST,
                           "SELECT iat, jti, mp_id FROM proof_jtis WHERE iat >= ?"
                           " ORDER BY iat, jti",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, since);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (store_col_text(stmt, 1, jti, sizeof(jti)) == -1 ||
            store_col_text(stmt, 2, mp, sizeof(mp)) == -1) {
            *errstr = store_errf(st, "proof_jtis: unreadable row");
            goto fail;
        }
        if (cb(sqlite3_column_int64(stmt, 0), jti, mp, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *errstr = store_err(st, "list proof jtis");
        goto fail;
    }
    store_stmt_done(stmt);
    return 0;
fail:
    store_stmt_done(stmt);
    return -1;
}

int
store_proof_prune(struct store *st, int64_t before, int limit, const char **errstr)
{
    char jti[STORE_PROOF_JTI_MAX + 1];
    sqlite3_stmt *stmt;
    int64_t iat = 0;
    int rc, found = 0;

    if (limit <= 0) {
        *errstr = store_errf(st, "proof prune limit must be positive");
        return -1;
    }
    /* The limit-th oldest prunable row, if there are that many. */
    if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_EDGE,
                           "SELECT iat, jti FROM proof_jtis WHERE iat < ?"
                           " ORDER BY iat, jti LIMIT 1 OFFSET ?",
                           errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, before);
    sqlite3_bind_int(stmt, 2, limit - 1);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        iat = sqlite3_column_int64(stmt, 0);
        found = store_col_text(stmt, 1, jti, sizeof(jti)) == 0;
        if (!found) {
            *errstr = store_errf(st, "proof_jtis: unreadable row");
            store_stmt_done(stmt);
            return -1;
        }
    } else if (rc != SQLITE_DONE) {
        *errstr = store_err(st, "find proof prune edge");
        store_stmt_done(stmt);
        return -1;
    }
    store_stmt_done(stmt);
    if (found) {
        /* Everything up to the edge: exactly limit rows, all older than before. */
        if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_UPTO,
                               "DELETE FROM proof_jtis WHERE (iat, jti) <= (?, ?)", errstr)) ==
            NULL)
            return -1;
        sqlite3_bind_int64(stmt, 1, iat);
        sqlite3_bind_text(stmt, 2, jti, -1, SQLITE_STATIC);
    } else {
        /* Fewer than limit rows are prunable: all of them. */
        if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_ALL, "DELETE FROM proof_jtis WHERE iat < ?",
                               errstr)) == NULL)
            return -1;
        sqlite3_bind_int64(stmt, 1, before);
    }
    rc = store_step_done(st, stmt, "prune proof jtis", errstr);
    store_stmt_done(stmt);
    return rc == 0 ? sqlite3_changes(st->db) : -1;
}
