/* Management points: names and the SHA-256 of their API keys. A removed MP is
 * kept (removed_at set) so the audit trail can still name it. */
#include <string.h>

#include <openssl/crypto.h>

#include "mps.h"
#include "store_int.h"

#define MP_COLS "id, name, key_hash, cert_sha256, created_at, removed_at, labels"

static int
mp_from_row(struct store_stmt *stmt, void *row)
{
    struct store_mp *mp = row;

    memset(mp, 0, sizeof(*mp));
    if (store_col_text(stmt, 0, mp->id, sizeof(mp->id)) == -1 ||
        store_col_text(stmt, 1, mp->name, sizeof(mp->name)) == -1 ||
        store_col_bytes(stmt, 2) != (int)sizeof(mp->key_hash) ||
        store_col_text(stmt, 3, mp->cert_sha256, sizeof(mp->cert_sha256)) == -1 ||
        store_col_text(stmt, 6, mp->labels, sizeof(mp->labels)) == -1)
        return -1;
    memcpy(mp->key_hash, store_col_blob(stmt, 2), sizeof(mp->key_hash));
    mp->created_at = store_col_int64(stmt, 4);
    mp->removed_at = store_col_int64(stmt, 5);
    return 0;
}

int
store_mp_insert(struct store *st, const struct store_mp *mp, const char **errstr)
{
    struct store_stmt *stmt, *q;
    int rc;

    if (store_check_len(st, "MP id", mp->id, sizeof(mp->id) - 1, errstr) == -1 ||
        store_check_len(st, "MP name", mp->name, sizeof(mp->name) - 1, errstr) == -1 ||
        store_check_len(st, "MP certificate hash", mp->cert_sha256, sizeof(mp->cert_sha256) - 1,
                        errstr) == -1)
        return -1;
    /* The uniqueness the caller reports is checked first: after a failed
     * statement PostgreSQL refuses every other one until the savepoint is
     * rolled back. Only a live name, or a certificate, is such a conflict;
     * a duplicate id or key hash is our bug (or a 2^-128 event). */
    if ((q = store_stmt(st, STMT_MP_LIVE_NAME,
                        "SELECT 1 FROM mps WHERE name = ? AND removed_at IS NULL", errstr)) == NULL)
        return -1;
    store_bind_text(q, 1, mp->name);
    if ((rc = store_row_one(st, q, store_no_columns, NULL, "insert MP", NULL, errstr)) == -1)
        return -1;
    if (rc == 0) {
        *errstr = store_errf(st, STORE_ERR_CONFLICT, "an MP named \"%s\" exists", mp->name);
        return 1;
    }
    if (mp->cert_sha256[0] != '\0') {
        /* The certificate column is unique over removed MPs too. */
        struct store_mp other;
        const char *e2 = NULL;

        if ((rc = store_mp_find_by_cert(st, mp->cert_sha256, &other, &e2)) == -1) {
            *errstr = e2;
            return -1;
        }
        if (rc == 0) {
            *errstr = store_errf(st, STORE_ERR_CONFLICT,
                                 "that certificate is registered to MP \"%s\"", other.name);
            return 1;
        }
    }
    if ((stmt = store_stmt(st, STMT_MP_INSERT,
                           "INSERT INTO mps(" MP_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, mp->id);
    store_bind_text(stmt, 2, mp->name);
    store_bind_blob(stmt, 3, mp->key_hash, sizeof(mp->key_hash));
    store_bind_opt_text(stmt, 4, mp->cert_sha256); /* "" -> NULL: the column is UNIQUE */
    store_bind_int64(stmt, 5, mp->created_at);
    store_bind_opt_int64(stmt, 6, mp->removed_at);
    store_bind_opt_text(stmt, 7, mp->labels);
    rc = store_step(stmt);
    if (rc == STORE_DONE) {
        store_stmt_done(stmt);
        return 0;
    }
    *errstr = store_err(st, "insert MP");
    store_stmt_done(stmt);
    if (store_error(st) == STORE_ERR_CONFLICT && mp->cert_sha256[0] != '\0') {
        /* Not live, yet taken: it belonged to a removed MP. */
        *errstr = store_errf(st, STORE_ERR_CONFLICT, "that certificate belonged to a removed MP");
        return 1;
    }
    return -1;
}

int
store_mp_find_by_key_hash(struct store *st, const uint8_t hash[32], struct store_mp *out,
                          const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_MP_BY_KEY_HASH,
                           "SELECT " MP_COLS " FROM mps WHERE key_hash = ? AND removed_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_blob(stmt, 1, hash, 32);
    rc = store_row_one(st, stmt, mp_from_row, out, "mps", "no such MP", errstr);
    /* The index seek already matched; the comparison that decides is the
     * constant-time one, so no early-exit memcmp stands between a guess and
     * the answer. */
    if (rc == 0 && CRYPTO_memcmp(out->key_hash, hash, sizeof(out->key_hash)) != 0) {
        memset(out, 0, sizeof(*out));
        *errstr = "no such MP";
        rc = 1;
    }
    return rc;
}

int
store_mp_find_by_cert(struct store *st, const char *cert_sha256, struct store_mp *out,
                      const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if (cert_sha256 == NULL || cert_sha256[0] == '\0') {
        *errstr = "no such MP";
        return 1;
    }
    if ((stmt =
             store_stmt(st, STMT_MP_BY_CERT,
                        "SELECT " MP_COLS " FROM mps WHERE cert_sha256 = ? AND removed_at IS NULL",
                        errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, cert_sha256);
    rc = store_row_one(st, stmt, mp_from_row, out, "mps", "no such MP", errstr);
    return rc;
}

int
store_mp_get(struct store *st, const char *id, struct store_mp *out, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_MP_GET, "SELECT " MP_COLS " FROM mps WHERE id = ?", errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, id);
    rc = store_row_one(st, stmt, mp_from_row, out, "mps", "no such MP", errstr);
    return rc;
}

int
store_mp_remove(struct store *st, const char *id, int64_t now, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_MP_REMOVE,
                           "UPDATE mps SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, now);
    store_bind_text(stmt, 2, id);
    return store_changed_one(st, stmt, "remove MP", "no such MP", errstr);
}

int
store_mp_list(struct store *st, int (*cb)(const struct store_mp *mp, void *arg), void *arg,
              const char **errstr)
{
    struct store_stmt *stmt;
    struct store_mp mp;
    int rc;

    if ((stmt = store_stmt(st, STMT_MP_LIST,
                           "SELECT " MP_COLS " FROM mps WHERE removed_at IS NULL ORDER BY name",
                           errstr)) == NULL)
        return -1;
    while ((rc = store_row_next(st, stmt, mp_from_row, &mp, "list MPs", errstr)) == 1 &&
           cb(&mp, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}
