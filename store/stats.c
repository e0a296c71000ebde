/* Aggregates and searches for the admin console (see stats.h). These run
 * rarely (an administrator's page view), so each prepares its statement per
 * call instead of taking a slot in the shared statement cache; each reads
 * through an index of migration 6 or earlier, never a whole table of rows. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "stats.h"
#include "store_int.h"

/* The upper bound of a prefix range: prefix || 0xff (0xff never occurs in
 * UTF-8, so [prefix, upper) holds exactly the strings that start with it). */
#define STATS_PREFIX_MAX 256

static sqlite3_stmt *
stats_prepare(struct store *st, const char *sql, const char **errstr)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *errstr = store_err(st, "prepare stats");
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* Runs a one-row, one-column count. */
static int
stats_count(struct store *st, const char *sql, const char *text, int64_t num, int64_t *out,
            const char **errstr)
{
    sqlite3_stmt *stmt;
    int rc = -1;

    if ((stmt = stats_prepare(st, sql, errstr)) == NULL)
        return -1;
    if (text != NULL)
        sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, num);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        *errstr = store_err(st, "count");
    }
    sqlite3_finalize(stmt);
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
    sqlite3_stmt *stmt;
    int rc;

    /* tokens_issued seeks the window; the grouping walks it in order. */
    if ((stmt = stats_prepare(st,
                              "SELECT issued_at / 60, sum(kind = 'client'), sum(kind = 'access')"
                              " FROM tokens WHERE issued_at >= ?1 AND issued_at < ?2"
                              " GROUP BY issued_at / 60 ORDER BY 1",
                              errstr)) == NULL)
        return -1;
    sqlite3_bind_int64(stmt, 1, from);
    sqlite3_bind_int64(stmt, 2, to);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (cb(sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
               sqlite3_column_int64(stmt, 2), arg) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *errstr = store_err(st, "issued per minute");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
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
                         "SELECT id FROM devices WHERE id >= ?1 AND id < ?2 AND id > ?4"
                         " AND ?3 = ?3 ORDER BY id LIMIT ?5"},
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
    sqlite3_stmt *stmt = NULL;
    char upper[STATS_PREFIX_MAX + 2], cursor[STATS_PREFIX_MAX + 2] = "";
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    int paged = after != NULL && *after != '\0', rc;

    if ((unsigned)field > STORE_SEARCH_ID) {
        *errstr = "device search: unknown field";
        return -1;
    }
    if (plen > STATS_PREFIX_MAX)
        return 0; /* nothing stored is that long */
    memcpy(upper, prefix != NULL ? prefix : "", plen);
    upper[plen] = (char)0xff;
    if (paged) {
        if ((stmt = stats_prepare(st, search_cursor_sql[field], errstr)) == NULL)
            return -1;
        sqlite3_bind_text(stmt, 1, after, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(stmt, 0);

            snprintf(cursor, sizeof(cursor), "%s", v != NULL ? (const char *)v : "");
        }
        sqlite3_finalize(stmt);
        if (rc == SQLITE_DONE)
            return 0; /* unknown cursor: empty page */
        if (rc != SQLITE_ROW) {
            *errstr = store_err(st, "device search cursor");
            return -1;
        }
    }
    if ((stmt = stats_prepare(st, search_sql[field][paged], errstr)) == NULL)
        return -1;
    sqlite3_bind_text(stmt, 1, prefix != NULL ? prefix : "", (int)plen, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, upper, (int)plen + 1, SQLITE_STATIC);
    if (paged) {
        sqlite3_bind_text(stmt, 3, cursor, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, after, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(stmt, 5, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (cb((const char *)sqlite3_column_text(stmt, 0), arg) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *errstr = store_err(st, "device search");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
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
    sqlite3_stmt *stmt;

    if (alen >= sizeof(upper) - 1) {
        *errstr = "audit action filter too long";
        return -1;
    }
    memcpy(upper, action != NULL ? action : "", alen);
    upper[alen] = (char)0xff;
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
    sqlite3_bind_int64(stmt, 1, before > 0 ? before : INT64_MAX);
    if (alen > 0) {
        sqlite3_bind_text(stmt, 2, action, (int)alen, SQLITE_STATIC);
        if (prefix)
            sqlite3_bind_text(stmt, 3, upper, (int)alen + 1, SQLITE_STATIC);
    }
    if (subject != NULL && *subject != '\0')
        sqlite3_bind_text(stmt, 4, subject, -1, SQLITE_STATIC);
    if (actor != NULL && *actor != '\0')
        sqlite3_bind_text(stmt, 5, actor, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 6, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        a.seq = sqlite3_column_int64(stmt, 0);
        a.time = sqlite3_column_int64(stmt, 1);
        if (store_col_text(stmt, 2, a.actor, sizeof(a.actor)) == -1 ||
            store_col_text(stmt, 3, a.action, sizeof(a.action)) == -1 ||
            store_col_text(stmt, 4, a.subject, sizeof(a.subject)) == -1 ||
            store_col_text(stmt, 6, a.prev_hash, sizeof(a.prev_hash)) == -1 ||
            store_col_text(stmt, 7, a.hash, sizeof(a.hash)) == -1) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "audit: unreadable row");
            sqlite3_finalize(stmt);
            return -1;
        }
        a.detail = (char *)sqlite3_column_text(stmt, 5);
        if (cb(&a, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *errstr = store_err(st, "audit newest first");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
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
