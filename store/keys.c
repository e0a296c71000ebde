/* Signing keys: the signer's persistence. The public JWK is kept in clear for
 * publication; the private key only ever arrives here already sealed. */
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "store_int.h"

#define KEY_COLS                                                                                   \
    "kid, alg, status, created_at, activates_at, retired_at, public_jwk, sealed_private"

static int
key_from_row(struct store_stmt *stmt, struct store_key *k)
{
    const void *blob;
    const char *jwk;
    int jwk_len, blob_len;

    memset(k, 0, sizeof(*k));
    if (store_col_text(stmt, 0, k->kid, sizeof(k->kid)) == -1 ||
        store_col_text(stmt, 1, k->alg, sizeof(k->alg)) == -1 ||
        store_col_text(stmt, 2, k->status, sizeof(k->status)) == -1)
        return -1;
    k->created_at = store_col_int64(stmt, 3);
    k->activates_at = store_col_int64(stmt, 4);
    k->retired_at = store_col_int64(stmt, 5);
    k->tainted_at = store_col_int64(stmt, 8);
    k->revoked_at = store_col_int64(stmt, 9);
    jwk = store_col_str(stmt, 6);
    jwk_len = store_col_bytes(stmt, 6);
    if ((k->public_jwk = malloc((size_t)jwk_len + 1)) == NULL)
        return -1;
    if (jwk_len > 0)
        memcpy(k->public_jwk, jwk, (size_t)jwk_len);
    k->public_jwk[jwk_len] = '\0';
    blob = store_col_blob(stmt, 7);
    blob_len = store_col_bytes(stmt, 7);
    /* malloc(0) may answer NULL: keep one byte so NULL always means failure. */
    if ((k->sealed = malloc(blob_len > 0 ? (size_t)blob_len : 1)) == NULL) {
        free(k->public_jwk);
        k->public_jwk = NULL;
        return -1;
    }
    if (blob_len > 0)
        memcpy(k->sealed, blob, (size_t)blob_len);
    k->sealed_len = (size_t)blob_len;
    return 0;
}

int
store_keys_list(struct store *st, struct store_key **keys, size_t *n, const char **errstr)
{
    struct store_stmt *stmt;
    struct store_key *v = NULL, *nv;
    size_t len = 0, cap = 0;
    int rc;

    *keys = NULL;
    *n = 0;
    if ((stmt = store_stmt(st, STMT_KEYS_LIST,
                           "SELECT " KEY_COLS ", tainted_at, revoked_at FROM keys"
                           " ORDER BY created_at, rowid",
                           errstr)) == NULL)
        return -1;
    while ((rc = store_step(stmt)) == STORE_ROW) {
        if (len == cap) {
            cap = cap == 0 ? 4 : cap * 2;
            if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
                *errstr = store_errf(st, STORE_ERR_INTERNAL, "out of memory");
                goto fail;
            }
            v = nv;
        }
        if (key_from_row(stmt, &v[len]) == -1) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "keys: unreadable row");
            goto fail;
        }
        len++;
    }
    if (rc != STORE_DONE) {
        *errstr = store_err(st, "keys");
        goto fail;
    }
    store_stmt_done(stmt);
    *keys = v;
    *n = len;
    return 0;
fail:
    store_stmt_done(stmt);
    store_keys_free(v, len);
    return -1;
}

void
store_keys_free(struct store_key *keys, size_t n)
{
    if (keys == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(keys[i].public_jwk);
        free(keys[i].sealed); /* ciphertext: nothing to wipe */
    }
    free(keys);
}

int
store_key_insert(struct store *st, const struct store_key *key, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if (key->public_jwk == NULL || key->sealed == NULL || key->sealed_len == 0 ||
        key->sealed_len > INT32_MAX) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "key: public_jwk and sealed are required");
        return -1;
    }
    if (store_check_len(st, "kid", key->kid, sizeof(key->kid) - 1, errstr) == -1 ||
        (stmt = store_stmt(st, STMT_KEY_INSERT,
                           "INSERT INTO keys(" KEY_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, key->kid);
    store_bind_text(stmt, 2, key->alg);
    store_bind_text(stmt, 3, key->status);
    store_bind_int64(stmt, 4, key->created_at);
    store_bind_int64(stmt, 5, key->activates_at);
    store_bind_opt_int64(stmt, 6, key->retired_at);
    store_bind_text(stmt, 7, key->public_jwk);
    store_bind_blob(stmt, 8, key->sealed, (int)key->sealed_len);
    rc = store_step_done(st, stmt, "insert key", errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_key_set_status(struct store *st, const char *kid, const char *status, int64_t at,
                     const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_KEY_SET_STATUS,
                           "UPDATE keys SET status = ?1,"
                           " retired_at = CASE WHEN ?1 = 'retired' THEN ?2 ELSE retired_at END,"
                           " activates_at = CASE WHEN ?1 = 'active' THEN ?2 ELSE activates_at END"
                           " WHERE kid = ?3",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, status);
    store_bind_int64(stmt, 2, at);
    store_bind_text(stmt, 3, kid);
    return store_changed_one(st, stmt, "set key status", "no such key", errstr);
}

int
store_key_taint(struct store *st, const char *kid, int64_t at, const char **errstr)
{
    struct store_stmt *stmt;

    /* a next key that is tainted never signs: it retires now */
    if ((stmt = store_stmt(st, STMT_KEY_TAINT,
                           "UPDATE keys SET tainted_at = ?1,"
                           " retired_at = CASE WHEN status = 'next' THEN ?1 ELSE retired_at END,"
                           " status = CASE WHEN status = 'next' THEN 'retired' ELSE status END"
                           " WHERE kid = ?2 AND tainted_at IS NULL AND revoked_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, at);
    store_bind_text(stmt, 2, kid);
    return store_changed_one(st, stmt, "taint key", "no such key", errstr);
}

int
store_key_revoke(struct store *st, const char *kid, int64_t at, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_KEY_REVOKE,
                           "UPDATE keys SET revoked_at = ?1, retired_at = coalesce(retired_at, ?1),"
                           " status = 'retired'"
                           " WHERE kid = ?2 AND status <> 'active' AND revoked_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, at);
    store_bind_text(stmt, 2, kid);
    return store_changed_one(st, stmt, "revoke key", "no such key", errstr);
}

int
store_key_impact(struct store *st, const char *kid, int64_t now, int64_t *devices, int64_t *tokens,
                 const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    /* One pass over tokens_kid_live (kid, device_id, expires_at; unrevoked
     * only) in device order: no sort, no table reads (migration 11). */
    *devices = *tokens = 0;
    if ((stmt = store_stmt(st, STMT_KEY_IMPACT,
                           "SELECT count(*), coalesce(sum(n), 0) FROM"
                           " (SELECT device_id, sum(CASE WHEN expires_at > ?2 THEN 1 ELSE 0 END)"
                           "   AS n FROM tokens WHERE kid = ?1 AND revoked_at IS NULL"
                           "  GROUP BY device_id HAVING max(expires_at) > ?2) k",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, kid);
    store_bind_int64(stmt, 2, now);
    if ((rc = store_step(stmt)) == STORE_ROW) {
        *devices = store_col_int64(stmt, 0);
        *tokens = store_col_int64(stmt, 1);
        rc = 0;
    } else {
        *errstr = store_err(st, "key impact");
        rc = -1;
    }
    store_stmt_done(stmt);
    return rc;
}

int
store_key_delete(struct store *st, const char *kid, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_KEY_DELETE, "DELETE FROM keys WHERE kid = ?", errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, kid);
    return store_changed_one(st, stmt, "delete key", "no such key", errstr);
}

int
store_key_signed_until(struct store *st, const char *kid, int64_t from, int64_t to, int64_t *until,
                       const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    *until = 0;
    if ((stmt = store_stmt(st, STMT_KEY_SIGNED_UNTIL,
                           "SELECT coalesce(max(e), 0) FROM ("
                           " SELECT max(expires_at) AS e FROM tokens WHERE kid = ?1"
                           " UNION ALL SELECT max(expires_at) FROM bulk_tokens"
                           "  WHERE created_at BETWEEN ?2 AND ?3) AS u",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, kid);
    store_bind_int64(stmt, 2, from);
    store_bind_int64(stmt, 3, to);
    rc = store_step(stmt);
    if (rc == STORE_ROW) {
        *until = store_col_int64(stmt, 0);
        rc = 0;
    } else {
        *errstr = store_err(st, "key use");
        rc = -1;
    }
    store_stmt_done(stmt);
    return rc;
}
