/* Aggregates and searches for the admin console (see stats.h). These run
 * rarely (an administrator's page view), so each prepares its statement per
 * call instead of taking a slot in the shared statement cache; each reads
 * through an index of migration 6 or earlier, never a whole table of rows. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "stats.h"
#include "store_int.h"

/* Prefix ranges are [prefix, prefix || sentinel) (store_prefix_upper: 0xff
 * on SQLite, which never occurs in UTF-8; U+10FFFF on PostgreSQL, whose text
 * must be valid UTF-8). */
#define STATS_PREFIX_MAX 256

static struct store_stmt *
stats_prepare(struct store *st, const char *sql, const char **errstr)
{
    return store_prepare(st, sql, errstr);
}

/* Runs a one-row, one-column count. */
static int
stats_count(struct store *st, const char *sql, const char *text, int64_t num, int64_t *out,
            const char **errstr)
{
    struct store_stmt *stmt;
    int rc = -1;

    if ((stmt = stats_prepare(st, sql, errstr)) == NULL)
        return -1;
    if (text != NULL)
        store_bind_text(stmt, 1, text);
    store_bind_int64(stmt, 2, num); /* a statement without ?2 ignores it */
    if (store_step(stmt) == STORE_ROW) {
        *out = store_col_int64(stmt, 0);
        rc = 0;
    } else {
        *errstr = store_err(st, "count");
    }
    store_finalize(stmt);
    return rc;
}

int
store_stats_counts(struct store *st, int64_t now, struct store_stats_counts *out,
                   const char **errstr)
{
    memset(out, 0, sizeof(*out));
    /* tokens_kid (kid, expires_at) answers the unexpired count from the
     * index alone, one range per key (a key leaves the keys table only once
     * nothing it signed is valid). Revoked tokens are counted too: telling
     * them apart would read every row. */
    if (stats_count(st, "SELECT count(*) FROM devices", NULL, 0, &out->devices, errstr) == -1 ||
        stats_count(st, "SELECT count(*) FROM devices WHERE blocked = 1", NULL, 0,
                    &out->devices_blocked, errstr) == -1 ||
        stats_count(st, "SELECT count(*) FROM bulk_tokens", NULL, 0, &out->bulk_tokens, errstr) ==
            -1 ||
        stats_count(st, "SELECT count(*) FROM bulk_tokens WHERE blocked = 0 AND expires_at > ?2",
                    NULL, now, &out->bulk_live, errstr) == -1 ||
        stats_count(st, "SELECT count(*) FROM mps WHERE removed_at IS NULL", NULL, 0, &out->mps,
                    errstr) == -1 ||
        stats_count(st,
                    "SELECT count(*) FROM tokens WHERE kid IN (SELECT kid FROM keys)"
                    " AND expires_at > ?2",
                    NULL, now, &out->tokens_live, errstr) == -1 ||
        stats_count(st,
                    "SELECT count(*) FROM tokens WHERE kind = 'client' AND expires_at > ?2"
                    " AND revoked_at IS NULL",
                    NULL, now, &out->client_tokens_live, errstr) == -1)
        return -1;
    return 0;
}

int
store_stats_issued(struct store *st, int64_t from, int64_t to,
                   int (*cb)(int64_t minute, int64_t client, int64_t access, void *arg), void *arg,
                   const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    /* tokens_issued seeks the window; the grouping walks it in order. */
    if ((stmt = stats_prepare(
             st,
             "SELECT issued_at / 60, sum(CASE WHEN kind = 'client' THEN 1 ELSE 0 END),"
             " sum(CASE WHEN kind = 'access' THEN 1 ELSE 0 END)"
             " FROM tokens WHERE issued_at >= ?1 AND issued_at < ?2"
             " GROUP BY issued_at / 60 ORDER BY 1",
             errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, from);
    store_bind_int64(stmt, 2, to);
    while ((rc = store_step(stmt)) == STORE_ROW)
        if (cb(store_col_int64(stmt, 0), store_col_int64(stmt, 1), store_col_int64(stmt, 2), arg) !=
            0)
            break;
    if (rc != STORE_ROW && rc != STORE_DONE) {
        *errstr = store_err(st, "issued per minute");
        store_finalize(stmt);
        return -1;
    }
    store_finalize(stmt);
    return 0;
}

/* ?1 prefix, ?2 upper bound, ?3 cursor field value, ?4 cursor id, ?5 limit.
 * Keyset order (field, id), each through its index (devices_name_id,
 * devices_hardware_id, the id key). Issue 14 measured dropping the two
 * search indexes (a writer saving, docs/performance.md); they stay, because
 * an operator's search at 1M devices must not depend on a warm cache. */
static const char *const search_sql[][2] = {
    [STORE_SEARCH_NAME] = {"SELECT id FROM devices WHERE name >= ?1 AND name < ?2"
                           " ORDER BY name, id LIMIT ?5",
                           "SELECT id FROM devices WHERE name >= ?1 AND name < ?2"
                           " AND (name, id) > (?3, ?4) ORDER BY name, id LIMIT ?5"},
    [STORE_SEARCH_HARDWARE_ID] = {"SELECT id FROM devices WHERE hardware_id >= ?1"
                                  " AND hardware_id < ?2 ORDER BY hardware_id, id LIMIT ?5",
                                  "SELECT id FROM devices WHERE hardware_id >= ?1"
                                  " AND hardware_id < ?2 AND (hardware_id, id) > (?3, ?4)"
                                  " ORDER BY hardware_id, id LIMIT ?5"},
    [STORE_SEARCH_ID] = {"SELECT id FROM devices WHERE id >= ?1 AND id < ?2"
                         " ORDER BY id LIMIT ?5",
                         "SELECT id FROM devices WHERE id >= ?1 AND id < ?2"
                         " AND (id, id) > (?3, ?4) ORDER BY id LIMIT ?5"},
};

static const char *const search_cursor_sql[] = {
    [STORE_SEARCH_NAME] = "SELECT name FROM devices WHERE id = ?1",
    [STORE_SEARCH_HARDWARE_ID] = "SELECT hardware_id FROM devices WHERE id = ?1",
    [STORE_SEARCH_ID] = "SELECT id FROM devices WHERE id = ?1",
};

int
store_device_search(struct store *st, enum store_search_field field, const char *prefix,
                    const char *after, int limit, int (*cb)(const char *id, void *arg), void *arg,
                    const char **errstr)
{
    struct store_stmt *stmt = NULL;
    char upper[STATS_PREFIX_MAX + 8], cursor[STATS_PREFIX_MAX + 2] = "";
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    int paged = after != NULL && *after != '\0', rc;

    if ((unsigned)field > STORE_SEARCH_ID) {
        *errstr = "device search: unknown field";
        return -1;
    }
    if (plen > STATS_PREFIX_MAX)
        return 0; /* nothing stored is that long */
    if (store_prefix_upper(st, prefix, plen, upper, sizeof(upper)) == -1)
        return 0;
    if (paged) {
        if ((stmt = stats_prepare(st, search_cursor_sql[field], errstr)) == NULL)
            return -1;
        store_bind_text(stmt, 1, after);
        rc = store_step(stmt);
        if (rc == STORE_ROW) {
            const char *v = store_col_str(stmt, 0);

            snprintf(cursor, sizeof(cursor), "%s", v != NULL ? v : "");
        }
        store_finalize(stmt);
        if (rc == STORE_DONE)
            return 0; /* unknown cursor: empty page */
        if (rc != STORE_ROW) {
            *errstr = store_err(st, "device search cursor");
            return -1;
        }
    }
    if ((stmt = stats_prepare(st, search_sql[field][paged], errstr)) == NULL)
        return -1;
    store_bind_text(stmt, 1, prefix != NULL ? prefix : "");
    store_bind_text(stmt, 2, upper);
    if (paged) {
        store_bind_text(stmt, 3, cursor);
        store_bind_text(stmt, 4, after);
    }
    store_bind_limit(stmt, 5, limit);
    while ((rc = store_step(stmt)) == STORE_ROW)
        if (cb(store_col_str(stmt, 0), arg) != 0)
            break;
    if (rc != STORE_ROW && rc != STORE_DONE) {
        *errstr = store_err(st, "device search");
        store_finalize(stmt);
        return -1;
    }
    store_finalize(stmt);
    return 0;
}

int
store_audit_recent(struct store *st, int64_t before, const char *action, const char *subject,
                   const char *actor, int limit, int (*cb)(const struct store_audit *a, void *arg),
                   void *arg, const char **errstr)
{
    struct store_audit a;
    char upper[64], sql[512];
    size_t alen = action != NULL ? strlen(action) : 0;
    int prefix = alen > 0 && action[alen - 1] == '.', rc;
    struct store_stmt *stmt;

    if (alen >= sizeof(upper) - 8) {
        *errstr = "audit action filter too long";
        return -1;
    }
    store_prefix_upper(st, action, alen, upper, sizeof(upper));
    /* Only the filters given appear in the SQL, so that audit_action_seq or
     * audit_subject_seq (migration 6) can walk one action or subject newest
     * first; without a filter the primary key does. */
    snprintf(sql, sizeof(sql),
             "SELECT seq, time, actor, action, subject, detail, prev_hash, hash"
             " FROM audit WHERE seq < ?1%s%s%s ORDER BY seq DESC LIMIT ?6",
             alen == 0 ? ""
             : prefix  ? " AND action >= ?2 AND action < ?3"
                       : " AND action = ?2",
             subject != NULL && *subject != '\0' ? " AND subject = ?4" : "",
             actor != NULL && *actor != '\0' ? " AND actor = ?5" : "");
    if ((stmt = stats_prepare(st, sql, errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, before > 0 ? before : INT64_MAX);
    if (alen > 0) {
        store_bind_text(stmt, 2, action);
        if (prefix)
            store_bind_text(stmt, 3, upper);
    }
    if (subject != NULL && *subject != '\0')
        store_bind_text(stmt, 4, subject);
    if (actor != NULL && *actor != '\0')
        store_bind_text(stmt, 5, actor);
    store_bind_limit(stmt, 6, limit);
    while ((rc = store_step(stmt)) == STORE_ROW) {
        memset(&a, 0, sizeof(a));
        a.seq = store_col_int64(stmt, 0);
        a.time = store_col_int64(stmt, 1);
        if (store_col_text(stmt, 2, a.actor, sizeof(a.actor)) == -1 ||
            store_col_text(stmt, 3, a.action, sizeof(a.action)) == -1 ||
            store_col_text(stmt, 4, a.subject, sizeof(a.subject)) == -1 ||
            store_col_text(stmt, 6, a.prev_hash, sizeof(a.prev_hash)) == -1 ||
            store_col_text(stmt, 7, a.hash, sizeof(a.hash)) == -1) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "audit: unreadable row");
            store_finalize(stmt);
            return -1;
        }
        a.detail = (char *)store_col_str(stmt, 5);
        if (cb(&a, arg) != 0)
            break;
    }
    if (rc != STORE_ROW && rc != STORE_DONE) {
        *errstr = store_err(st, "audit newest first");
        store_finalize(stmt);
        return -1;
    }
    store_finalize(stmt);
    return 0;
}

int
store_impact_bulk(struct store *st, const char *bulk_id, int64_t now, int64_t *devices,
                  int64_t *tokens, const char **errstr)
{
    /* devices_bulk (migration 6); the tokens by the bulk_id they carry
     * (tokens_bulk_live, migration 11: no per-device join, within a second
     * at 1M devices). Client tokens carry it from the exchange on, access
     * tokens since this branch (older access tokens, 8 h at most, are not
     * counted). */
    if (stats_count(st, "SELECT count(*) FROM devices WHERE bulk_id = ?1", bulk_id, 0, devices,
                    errstr) == -1 ||
        stats_count(st,
                    "SELECT count(*) FROM tokens WHERE bulk_id = ?1 AND revoked_at IS NULL"
                    " AND expires_at > ?2",
                    bulk_id, now, tokens, errstr) == -1)
        return -1;
    return 0;
}

int
store_impact_device(struct store *st, const char *device_id, int64_t now, int64_t *tokens,
                    const char **errstr)
{
    return stats_count(st,
                       "SELECT count(*) FROM tokens WHERE device_id = ?1 AND expires_at > ?2"
                       " AND revoked_at IS NULL",
                       device_id, now, tokens, errstr);
}

int
store_impact_token(struct store *st, const char *jti, int64_t now, int64_t *tokens,
                   const char **errstr)
{
    /* tokens_family (family, expires_at) */
    return stats_count(st,
                       "SELECT count(*) FROM tokens WHERE family ="
                       " (SELECT coalesce(family, jti) FROM tokens WHERE jti = ?1)"
                       " AND expires_at > ?2 AND revoked_at IS NULL",
                       jti, now, tokens, errstr);
}

int
store_impact_mp(struct store *st, const char *mp_id, int64_t *devices, const char **errstr)
{
    /* devices_mp (migration 6) */
    return stats_count(st, "SELECT count(*) FROM devices WHERE mp_id = ?1", mp_id, 0, devices,
                       errstr);
}
