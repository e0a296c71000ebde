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
    struct store_stmt *stmt;
    int rc;

    if (jti == NULL || jti[0] == '\0') {
        *errstr = store_errf(st, STORE_ERR_INVALID, "proof jti empty");
        return -1;
    }
    if (store_check_len(st, "proof jti", jti, STORE_PROOF_JTI_MAX, errstr) == -1 ||
        store_check_len(st, "proof mp", mp_id, STORE_PROOF_MP_MAX, errstr) == -1 ||
        (stmt = store_stmt(st, STMT_PROOF_ADD,
                           "INSERT INTO proof_jtis(iat, jti, mp_id) VALUES (?, ?, ?)"
                           " ON CONFLICT DO NOTHING",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, iat);
    store_bind_text(stmt, 2, jti);
    store_bind_text(stmt, 3, mp_id != NULL ? mp_id : "");
    /* No row inserted: the row is there already, committed by another node
     * (PostgreSQL's unique index waits for a concurrent insert of the same
     * key to commit or roll back) or earlier by this one. */
    if ((rc = store_changes(st, stmt, "add proof jti", errstr)) == -1)
        return -1;
    return rc == 0 ? 1 : 0;
}

/* A proof_jtis row: (iat, jti, mp_id). */
struct proof_row {
    int64_t iat;
    char jti[STORE_PROOF_JTI_MAX + 1], mp[STORE_PROOF_MP_MAX + 1];
};

static int
proof_from_row(struct store_stmt *stmt, void *row)
{
    struct proof_row *p = row;

    p->iat = store_col_int64(stmt, 0);
    if (store_col_text(stmt, 1, p->jti, sizeof(p->jti)) == -1)
        return -1;
    /* The prune edge selects (iat, jti) only. */
    if (store_col_count(stmt) < 3) {
        p->mp[0] = '\0';
        return 0;
    }
    return store_col_text(stmt, 2, p->mp, sizeof(p->mp));
}

int
store_proof_list(struct store *st, int64_t since,
                 int (*cb)(int64_t iat, const char *jti, const char *mp_id, void *arg), void *arg,
                 const char **errstr)
{
    struct proof_row p;
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_PROOF_LIST,
                           "SELECT iat, jti, mp_id FROM proof_jtis WHERE iat >= ?"
                           " ORDER BY iat, jti",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, since);
    while ((rc = store_row_next(st, stmt, proof_from_row, &p, "list proof jtis", errstr)) == 1 &&
           cb(p.iat, p.jti, p.mp, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int
store_proof_prune(struct store *st, int64_t before, int limit, const char **errstr)
{
    struct proof_row edge;
    struct store_stmt *stmt;
    int rc;

    if (limit <= 0) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "proof prune limit must be positive");
        return -1;
    }
    /* The limit-th oldest prunable row, if there are that many. */
    if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_EDGE,
                           "SELECT iat, jti FROM proof_jtis WHERE iat < ?"
                           " ORDER BY iat, jti LIMIT 1 OFFSET ?",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, before);
    store_bind_int64(stmt, 2, limit - 1);
    if ((rc = store_row_one(st, stmt, proof_from_row, &edge, "find proof prune edge", NULL,
                            errstr)) == -1)
        return -1;
    if (rc == 0) {
        /* Everything up to the edge: exactly limit rows, all older than before. */
        if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_UPTO,
                               "DELETE FROM proof_jtis WHERE (iat, jti) <= (?, ?)", errstr)) ==
            NULL)
            return -1;
        store_bind_int64(stmt, 1, edge.iat);
        store_bind_text(stmt, 2, edge.jti);
    } else {
        /* Fewer than limit rows are prunable: all of them. */
        if ((stmt = store_stmt(st, STMT_PROOF_PRUNE_ALL, "DELETE FROM proof_jtis WHERE iat < ?",
                               errstr)) == NULL)
            return -1;
        store_bind_int64(stmt, 1, before);
    }
    return store_changes(st, stmt, "prune proof jtis", errstr);
}
