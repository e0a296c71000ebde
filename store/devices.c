/* Devices (a key thumbprint and what the MP reported about it) and the tokens
 * issued to them, with the keyset-paginated lists the admin API pages through. */
#include <string.h>

#include "devices.h"
#include "store_int.h"

#define DEVICE_COLS                                                                                \
    "id, jkt, hardware_id, name, reg, bulk_id, mp_id, created_at, last_seen_at, blocked, labels"
#define TOKEN_COLS                                                                                 \
    "jti, kind, device_id, kid, issued_at, expires_at, gen, bulk_id, mp_id, prev_jti,"             \
    " revoked_at, revoke_reason, family"
/* What a token row reads back as: its columns, then its device's blocked
 * flag (one primary-key lookup per row). */
#define TOKEN_SELECT                                                                               \
    "SELECT " TOKEN_COLS ", (SELECT blocked FROM devices d WHERE d.id = tokens.device_id)"

static int
device_from_row(struct store_stmt *stmt, void *row)
{
    struct store_device *d = row;

    memset(d, 0, sizeof(*d));
    if (store_col_text(stmt, 0, d->id, sizeof(d->id)) == -1 ||
        store_col_text(stmt, 1, d->jkt, sizeof(d->jkt)) == -1 ||
        store_col_text(stmt, 2, d->hardware_id, sizeof(d->hardware_id)) == -1 ||
        store_col_text(stmt, 3, d->name, sizeof(d->name)) == -1 ||
        store_col_text(stmt, 4, d->reg, sizeof(d->reg)) == -1 ||
        store_col_text(stmt, 5, d->bulk_id, sizeof(d->bulk_id)) == -1 ||
        store_col_text(stmt, 6, d->mp_id, sizeof(d->mp_id)) == -1 ||
        store_col_text(stmt, 10, d->labels, sizeof(d->labels)) == -1)
        return -1;
    d->created_at = store_col_int64(stmt, 7);
    d->last_seen_at = store_col_int64(stmt, 8);
    d->blocked = store_col_int64(stmt, 9) != 0;
    return 0;
}

static int
token_from_row(struct store_stmt *stmt, void *row)
{
    struct store_token *t = row;

    memset(t, 0, sizeof(*t));
    if (store_col_text(stmt, 0, t->jti, sizeof(t->jti)) == -1 ||
        store_col_text(stmt, 1, t->kind, sizeof(t->kind)) == -1 ||
        store_col_text(stmt, 2, t->device_id, sizeof(t->device_id)) == -1 ||
        store_col_text(stmt, 3, t->kid, sizeof(t->kid)) == -1 ||
        store_col_text(stmt, 7, t->bulk_id, sizeof(t->bulk_id)) == -1 ||
        store_col_text(stmt, 8, t->mp_id, sizeof(t->mp_id)) == -1 ||
        store_col_text(stmt, 9, t->prev_jti, sizeof(t->prev_jti)) == -1 ||
        store_col_text(stmt, 11, t->revoke_reason, sizeof(t->revoke_reason)) == -1 ||
        store_col_text(stmt, 12, t->family, sizeof(t->family)) == -1)
        return -1;
    if (t->family[0] == '\0') /* a row written before families: its own */
        memcpy(t->family, t->jti, sizeof(t->family));
    t->device_blocked = store_col_int64(stmt, 13) != 0;
    t->issued_at = store_col_int64(stmt, 4);
    t->expires_at = store_col_int64(stmt, 5);
    t->gen = store_col_int64(stmt, 6);
    t->revoked_at = store_col_int64(stmt, 10);
    return 0;
}

int
store_device_by_jkt(struct store *st, const char *jkt, struct store_device *out,
                    const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_DEVICE_BY_JKT,
                           "SELECT " DEVICE_COLS " FROM devices WHERE jkt = ?", errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, jkt);
    return store_row_one(st, stmt, device_from_row, out, "devices", "no such device", errstr);
}

int
store_device_get(struct store *st, const char *id, struct store_device *out, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_DEVICE_GET, "SELECT " DEVICE_COLS " FROM devices WHERE id = ?",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, id);
    return store_row_one(st, stmt, device_from_row, out, "devices", "no such device", errstr);
}

/* One device_labels row per pair of d->labels (canonical text). */
static int
device_labels_insert(struct store *st, const struct store_device *d, const char **errstr)
{
    const char *p = d->labels;

    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        struct store_stmt *stmt;
        int rc;

        if ((stmt = store_stmt(st, STMT_DEVICE_LABEL_INSERT,
                               "INSERT INTO device_labels(label, device_id) VALUES (?, ?)",
                               errstr)) == NULL)
            return -1;
        store_bind_textn(stmt, 1, p, (int)n);
        store_bind_text(stmt, 2, d->id);
        rc = store_step_done(st, stmt, "insert device label", errstr);
        store_stmt_done(stmt);
        if (rc != 0)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int
store_device_list_label(struct store *st, const char *label, const char *after, int limit,
                        int (*cb)(const struct store_device *d, void *arg), void *arg,
                        const char **errstr)
{
    struct store_device d;
    struct store_stmt *stmt;
    int rc;

    /* the primary key (label, device_id) gives the page in id order */
    if ((stmt = store_stmt(st, STMT_DEVICE_LIST_LABEL,
                           "SELECT " DEVICE_COLS " FROM device_labels l"
                           " JOIN devices ON devices.id = l.device_id"
                           " WHERE l.label = ?1 AND l.device_id > ?2"
                           " ORDER BY l.device_id LIMIT ?3",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, label);
    store_bind_text(stmt, 2, after != NULL ? after : "");
    store_bind_int64(stmt, 3, limit > 0 ? limit : -1);
    while ((rc = store_row_next(st, stmt, device_from_row, &d, "list devices", errstr)) == 1 &&
           cb(&d, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int
store_device_insert(struct store *st, const struct store_device *d, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if (store_check_len(st, "device id", d->id, sizeof(d->id) - 1, errstr) == -1 ||
        store_check_len(st, "device key thumbprint", d->jkt, sizeof(d->jkt) - 1, errstr) == -1 ||
        store_check_len(st, "hardware_id", d->hardware_id, sizeof(d->hardware_id) - 1, errstr) ==
            -1 ||
        store_check_len(st, "device name", d->name, sizeof(d->name) - 1, errstr) == -1 ||
        store_check_len(st, "registration", d->reg, sizeof(d->reg) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token id", d->bulk_id, sizeof(d->bulk_id) - 1, errstr) == -1 ||
        store_check_len(st, "MP id", d->mp_id, sizeof(d->mp_id) - 1, errstr) == -1)
        return -1;
    if ((stmt = store_stmt(st, STMT_DEVICE_INSERT,
                           "INSERT INTO devices(" DEVICE_COLS
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, d->id);
    store_bind_text(stmt, 2, d->jkt);
    store_bind_text(stmt, 3, d->hardware_id);
    store_bind_text(stmt, 4, d->name);
    store_bind_text(stmt, 5, d->reg);
    store_bind_opt_text(stmt, 6, d->bulk_id);
    store_bind_opt_text(stmt, 7, d->mp_id);
    store_bind_int64(stmt, 8, d->created_at);
    store_bind_int64(stmt, 9, d->last_seen_at);
    store_bind_int64(stmt, 10, d->blocked != 0);
    store_bind_opt_text(stmt, 11, d->labels);
    rc = store_step_done(st, stmt, "insert device", errstr);
    store_stmt_done(stmt);
    if (rc == 0 && d->labels[0] != '\0')
        rc = device_labels_insert(st, d, errstr);
    return rc;
}

int
store_device_touch(struct store *st, const char *id, const char *hardware_id, const char *name,
                   const char *mp_id, int64_t now, const char **errstr)
{
    struct store_device *d = NULL; /* for the buffer sizes */
    struct store_stmt *stmt;

    if (store_check_len(st, "hardware_id", hardware_id, sizeof(d->hardware_id) - 1, errstr) == -1 ||
        store_check_len(st, "device name", name, sizeof(d->name) - 1, errstr) == -1 ||
        store_check_len(st, "MP id", mp_id, sizeof(d->mp_id) - 1, errstr) == -1)
        return -1;
    /* A NULL or "" mp_id keeps the one recorded. */
    if ((stmt = store_stmt(st, STMT_DEVICE_TOUCH,
                           "UPDATE devices SET hardware_id = ?1, name = ?2,"
                           " mp_id = coalesce(?3, mp_id), last_seen_at = ?4 WHERE id = ?5",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, hardware_id);
    store_bind_text(stmt, 2, name);
    store_bind_opt_text(stmt, 3, mp_id);
    store_bind_int64(stmt, 4, now);
    store_bind_text(stmt, 5, id);
    return store_changed_one(st, stmt, "update device", "no such device", errstr);
}

int
store_device_set_blocked(struct store *st, const char *id, int blocked, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_DEVICE_SET_BLOCKED,
                           "UPDATE devices SET blocked = ? WHERE id = ?", errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, blocked != 0);
    store_bind_text(stmt, 2, id);
    return store_changed_one(st, stmt, "block device", "no such device", errstr);
}

/* One statement per filter combination, so each can use its own index: the
 * blocked filter the small partial index devices_blocked, the name prefix
 * devices_name (a byte range [prefix, store_prefix_upper)). Parameters: ?1 cursor id, ?2 and ?3 the
 * name range, ?4 limit. */
#define DEVICE_LIST(status, prefix)                                                                \
    "SELECT " DEVICE_COLS " FROM devices WHERE id > ?1" status prefix " ORDER BY id LIMIT ?4"
#define DEVICE_PREFIX " AND name >= ?2 AND name < ?3"
static const char *const device_list_sql[6] = {
    DEVICE_LIST("", ""),
    DEVICE_LIST(" AND blocked = 0", ""),
    DEVICE_LIST(" AND blocked = 1", ""),
    DEVICE_LIST("", DEVICE_PREFIX),
    DEVICE_LIST(" AND blocked = 0", DEVICE_PREFIX),
    DEVICE_LIST(" AND blocked = 1", DEVICE_PREFIX),
};

int
store_device_list(struct store *st, const char *status, const char *name_prefix, const char *after,
                  int limit, int (*cb)(const struct store_device *d, void *arg), void *arg,
                  const char **errstr)
{
    struct store_device d;
    char upper[sizeof(d.name) + 8];
    struct store_stmt *stmt;
    int variant, rc;
    size_t plen;

    if (status == NULL || *status == '\0')
        variant = 0;
    else if (strcmp(status, "active") == 0)
        variant = 1;
    else if (strcmp(status, "blocked") == 0)
        variant = 2;
    else {
        *errstr = store_errf(st, STORE_ERR_INVALID,
                             "device status filter must be \"\", \"active\" or \"blocked\"");
        return -1;
    }
    plen = name_prefix != NULL ? strlen(name_prefix) : 0;
    if (plen > 0) {
        if (plen > sizeof(d.name) - 1)
            return 0; /* no stored name is that long */
        store_prefix_upper(st, name_prefix, plen, upper, sizeof(upper));
        variant += 3;
    }
    if ((stmt = store_stmt(st, STMT_DEVICE_LIST + variant, device_list_sql[variant], errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, after != NULL ? after : "");
    if (plen > 0) {
        store_bind_text(stmt, 2, name_prefix);
        store_bind_text(stmt, 3, upper);
    }
    store_bind_limit(stmt, 4, limit);
    while ((rc = store_row_next(st, stmt, device_from_row, &d, "list devices", errstr)) == 1 &&
           cb(&d, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int
store_device_list_bulk(struct store *st, const char *bulk_id, int limit,
                       int (*cb)(const struct store_device *d, void *arg), void *arg,
                       const char **errstr)
{
    struct store_device d;
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_DEVICE_LIST_BULK,
                           "SELECT " DEVICE_COLS " FROM devices WHERE bulk_id = ?1"
                           " ORDER BY created_at, id LIMIT ?2",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, bulk_id);
    store_bind_limit(stmt, 2, limit);
    while ((rc = store_row_next(st, stmt, device_from_row, &d, "devices of a bulk token",
                                errstr)) == 1 &&
           cb(&d, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int
store_token_insert(struct store *st, const struct store_token *t, const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if (store_check_len(st, "jti", t->jti, sizeof(t->jti) - 1, errstr) == -1 ||
        store_check_len(st, "token kind", t->kind, sizeof(t->kind) - 1, errstr) == -1 ||
        store_check_len(st, "device id", t->device_id, sizeof(t->device_id) - 1, errstr) == -1 ||
        store_check_len(st, "kid", t->kid, sizeof(t->kid) - 1, errstr) == -1 ||
        store_check_len(st, "bulk token id", t->bulk_id, sizeof(t->bulk_id) - 1, errstr) == -1 ||
        store_check_len(st, "MP id", t->mp_id, sizeof(t->mp_id) - 1, errstr) == -1 ||
        store_check_len(st, "previous jti", t->prev_jti, sizeof(t->prev_jti) - 1, errstr) == -1 ||
        store_check_len(st, "revocation reason", t->revoke_reason, sizeof(t->revoke_reason) - 1,
                        errstr) == -1 ||
        store_check_len(st, "family", t->family, sizeof(t->family) - 1, errstr) == -1)
        return -1;
    if ((stmt = store_stmt(st, STMT_TOKEN_INSERT,
                           "INSERT INTO tokens(" TOKEN_COLS ")"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, t->jti);
    store_bind_text(stmt, 2, t->kind);
    store_bind_text(stmt, 3, t->device_id);
    store_bind_text(stmt, 4, t->kid);
    store_bind_int64(stmt, 5, t->issued_at);
    store_bind_int64(stmt, 6, t->expires_at);
    store_bind_int64(stmt, 7, t->gen);
    store_bind_opt_text(stmt, 8, t->bulk_id);
    store_bind_opt_text(stmt, 9, t->mp_id);
    store_bind_opt_text(stmt, 10, t->prev_jti);
    store_bind_opt_int64(stmt, 11, t->revoked_at);
    store_bind_opt_text(stmt, 12, t->revoke_reason);
    store_bind_text(stmt, 13, t->family[0] != '\0' ? t->family : t->jti);
    rc = store_step_done(st, stmt, "insert token", errstr);
    store_stmt_done(stmt);
    return rc;
}

int
store_token_get(struct store *st, const char *jti, struct store_token *out, const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_TOKEN_GET, TOKEN_SELECT " FROM tokens WHERE jti = ?",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, jti);
    return store_row_one(st, stmt, token_from_row, out, "get token", "no such token", errstr);
}

int
store_token_revoke(struct store *st, const char *jti, int64_t now, const char *reason,
                   const char **errstr)
{
    struct store_token *t = NULL; /* for the buffer size */
    struct store_stmt *stmt;
    int rc;

    if (store_check_len(st, "revocation reason", reason, sizeof(t->revoke_reason) - 1, errstr) ==
            -1 ||
        (stmt = store_stmt(st, STMT_TOKEN_REVOKE,
                           "UPDATE tokens SET revoked_at = ?, revoke_reason = ?"
                           " WHERE jti = ? AND revoked_at IS NULL",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, now);
    store_bind_text(stmt, 2, reason != NULL ? reason : "");
    store_bind_text(stmt, 3, jti);
    if ((rc = store_changes(st, stmt, "revoke token", errstr)) != 0)
        return rc == 1 ? 0 : -1;
    /* Nothing changed: tell "no such token" from "already revoked". */
    if ((stmt = store_stmt(st, STMT_TOKEN_EXISTS, "SELECT 1 FROM tokens WHERE jti = ?", errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, jti);
    rc = store_row_one(st, stmt, store_no_columns, NULL, "revoke token", "no such token", errstr);
    if (rc == 0) {
        *errstr = "token already revoked";
        rc = 2;
    }
    return rc;
}

/* Steps an UPDATE ... RETURNING jti, expires_at: SQLite makes every change
 * on the first step and buffers the rows, so cb may write (feed entries)
 * while they are read. Returns how many rows, or -1 (also when cb stops it:
 * the caller, which knows why, rolls back). */
static int
token_revoked_from_row(struct store_stmt *stmt, void *row)
{
    struct store_token_revoked *r = row;

    r->jti = store_col_str(stmt, 0);
    r->expires_at = store_col_int64(stmt, 1);
    return r->jti != NULL ? 0 : -1;
}

static int
token_revoked_rows(struct store *st, struct store_stmt *stmt, const char *what,
                   int (*cb)(const struct store_token_revoked *r, void *arg), void *arg,
                   const char **errstr)
{
    struct store_token_revoked r;
    int rc, n = 0;

    while ((rc = store_row_next(st, stmt, token_revoked_from_row, &r, what, errstr)) == 1) {
        n++;
        if (cb != NULL && cb(&r, arg) != 0) {
            *errstr = store_errf(st, STORE_ERR_INTERNAL, "%s: stopped by the caller", what);
            rc = -1;
            break;
        }
    }
    store_stmt_done(stmt);
    return rc == -1 ? -1 : n;
}

/* The branch: live client successors of jti, then whatever names a member
 * as its prev_jti (renewals and access tokens), down through unrevoked
 * members only (a revoked member's branch was revoked with it). Each step
 * is a tokens_prev seek. PostgreSQL's text says the same in a form whose
 * generic plan cannot scan the live tokens (docs/performance.md,
 * "PostgreSQL"): on a table not yet analysed `revoked_at IS NULL` is
 * estimated at 0.5 % of the rows, which made the partial index
 * tokens_kid_live (WHERE revoked_at IS NULL) look like a 13-row filter
 * and every renewal bitmap-scanned all live tokens three times; and even
 * analysed, `jti IN (branch)` was a hash semi join over a scan of tokens.
 * So: liveness as coalesce(revoked_at, 0) = 0 (the same rows: the store
 * never writes 0, and reads NULL as 0), which no partial index predicate
 * matches; the recursive step a LATERAL subquery (OFFSET 0 keeps it one),
 * a tokens_prev probe per member; the update by primary key from an
 * array. */
static const char *const token_supersede_sql[STORE_BACKENDS] = {
    [STORE_BACKEND_SQLITE] =
        "WITH RECURSIVE branch(jti) AS ("
        "  SELECT jti FROM tokens"
        "   WHERE prev_jti = ?1 AND kind = 'client' AND revoked_at IS NULL"
        "  UNION"
        "  SELECT t.jti FROM tokens t JOIN branch ON t.prev_jti = branch.jti"
        "   WHERE t.revoked_at IS NULL)"
        " UPDATE tokens SET revoked_at = ?2, revoke_reason = '" STORE_REASON_SUPERSEDED "'"
        " WHERE jti IN (SELECT jti FROM branch) AND expires_at > ?3"
        " AND revoked_at IS NULL"
        " RETURNING jti, expires_at",
    [STORE_BACKEND_PG] =
        "WITH RECURSIVE branch(jti) AS ("
        "  SELECT jti FROM tokens"
        "   WHERE prev_jti = ?1 AND kind = 'client' AND coalesce(revoked_at, 0) = 0"
        "  UNION"
        "  SELECT n.jti FROM branch b CROSS JOIN LATERAL ("
        "   SELECT t.jti FROM tokens t"
        "    WHERE t.prev_jti = b.jti AND coalesce(t.revoked_at, 0) = 0 OFFSET 0) n)"
        " UPDATE tokens SET revoked_at = ?2, revoke_reason = '" STORE_REASON_SUPERSEDED "'"
        " WHERE jti = ANY (ARRAY(SELECT jti FROM branch)) AND expires_at > ?3"
        " AND coalesce(revoked_at, 0) = 0"
        " RETURNING jti, expires_at",
};

int
store_token_supersede(struct store *st, const char *jti, int64_t now, int64_t live_after,
                      int (*cb)(const struct store_token_revoked *r, void *arg), void *arg,
                      const char **errstr)
{
    struct store_stmt *stmt;

    if ((stmt = store_stmt(st, STMT_TOKEN_SUPERSEDE, store_sql(st, token_supersede_sql), errstr)) ==
        NULL)
        return -1;
    store_bind_text(stmt, 1, jti);
    store_bind_int64(stmt, 2, now);
    store_bind_int64(stmt, 3, live_after);
    return token_revoked_rows(st, stmt, "supersede tokens", cb, arg, errstr);
}

int
store_token_supersede_enrolment(struct store *st, const char *device_id, const char *bulk_id,
                                int64_t now, int64_t live_after,
                                int (*cb)(const struct store_token_revoked *r, void *arg),
                                void *arg, const char **errstr)
{
    struct store_stmt *stmt;

    /* The families the device's earlier exchanges of bulk_id started (their
     * first token: gen 0, no prev_jti; found by tokens_device), each revoked
     * whole by tokens_family. */
    if ((stmt = store_stmt(st, STMT_TOKEN_SUPERSEDE_ENROLMENT,
                           "UPDATE tokens SET revoked_at = ?3,"
                           " revoke_reason = '" STORE_REASON_SUPERSEDED "'"
                           " WHERE family IN (SELECT jti FROM tokens WHERE device_id = ?1"
                           "  AND bulk_id = ?2 AND kind = 'client' AND prev_jti IS NULL)"
                           " AND expires_at > ?4 AND revoked_at IS NULL"
                           " RETURNING jti, expires_at",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, device_id);
    store_bind_text(stmt, 2, bulk_id);
    store_bind_int64(stmt, 3, now);
    store_bind_int64(stmt, 4, live_after);
    return token_revoked_rows(st, stmt, "supersede enrolment", cb, arg, errstr);
}

int
store_token_revoke_family(struct store *st, const char *family, int64_t now, int64_t live_after,
                          const char *reason,
                          int (*cb)(const struct store_token_revoked *r, void *arg), void *arg,
                          const char **errstr)
{
    struct store_token *t = NULL; /* for the buffer size */
    struct store_stmt *stmt;

    if (store_check_len(st, "revocation reason", reason, sizeof(t->revoke_reason) - 1, errstr) ==
            -1 ||
        (stmt = store_stmt(st, STMT_TOKEN_FAMILY_REVOKE,
                           "UPDATE tokens SET revoked_at = ?2, revoke_reason = ?3"
                           " WHERE family = ?1 AND expires_at > ?4 AND revoked_at IS NULL"
                           " RETURNING jti, expires_at",
                           errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, family);
    store_bind_int64(stmt, 2, now);
    store_bind_text(stmt, 3, reason != NULL ? reason : "");
    store_bind_int64(stmt, 4, live_after);
    return token_revoked_rows(st, stmt, "revoke family", cb, arg, errstr);
}

int
store_token_list(struct store *st, const char *device_id, const char *after, int limit,
                 int (*cb)(const struct store_token *t, void *arg), void *arg, const char **errstr)
{
    static const char *const sql[4] = {
        TOKEN_SELECT " FROM tokens"
                     " ORDER BY issued_at DESC, rowid DESC LIMIT ?4",
        TOKEN_SELECT " FROM tokens WHERE (issued_at, rowid) < (?2, ?3)"
                     " ORDER BY issued_at DESC, rowid DESC LIMIT ?4",
        TOKEN_SELECT " FROM tokens WHERE device_id = ?1"
                     " ORDER BY issued_at DESC, rowid DESC LIMIT ?4",
        TOKEN_SELECT " FROM tokens WHERE device_id = ?1 AND (issued_at, rowid) < (?2, ?3)"
                     " ORDER BY issued_at DESC, rowid DESC LIMIT ?4",
    };
    static const enum store_stmt_id ids[4] = {STMT_TOKEN_LIST_ALL_FIRST, STMT_TOKEN_LIST_ALL_AFTER,
                                              STMT_TOKEN_LIST_DEV_FIRST, STMT_TOKEN_LIST_DEV_AFTER};
    struct store_token t;
    struct store_stmt *stmt;
    int64_t c_time = 0, c_rowid = 0;
    int variant = 0, rc;

    if (after != NULL && *after != '\0') {
        /* The cursor is a jti; the keyset is its (issued_at, rowid): rowid
         * is the insertion order, SQLite's own or PostgreSQL's column. */
        rc = store_cursor(st, STMT_TOKEN_CURSOR,
                          "SELECT issued_at, rowid FROM tokens WHERE jti = ?1", after, &c_time,
                          &c_rowid, "list tokens", errstr);
        if (rc != 0)
            return rc == 1 ? 0 : -1; /* an unknown cursor: nothing after it */
        variant = 1;
    }
    if (device_id != NULL && *device_id != '\0')
        variant += 2;
    if ((stmt = store_stmt(st, ids[variant], sql[variant], errstr)) == NULL)
        return -1;
    if (variant >= 2)
        store_bind_text(stmt, 1, device_id);
    if (variant & 1) {
        store_bind_int64(stmt, 2, c_time);
        store_bind_int64(stmt, 3, c_rowid);
    }
    store_bind_limit(stmt, 4, limit);
    while ((rc = store_row_next(st, stmt, token_from_row, &t, "list tokens", errstr)) == 1 &&
           cb(&t, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int64_t
store_device_last_expiry(struct store *st, const char *device_id)
{
    struct store_stmt *stmt;
    const char *errstr;
    int64_t v = 0;

    if ((stmt = store_stmt(st, STMT_DEVICE_LAST_EXPIRY,
                           "SELECT max(expires_at) FROM tokens WHERE device_id = ?", &errstr)) ==
        NULL)
        return 0;
    store_bind_text(stmt, 1, device_id);
    if (store_step(stmt) == STORE_ROW)
        v = store_col_int64(stmt, 0);
    store_stmt_done(stmt);
    return v;
}
