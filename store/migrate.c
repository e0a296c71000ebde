/* Moving a site (sitetokend --migrate-to): copies a stopped single-node SQLite
 * site into an empty PostgreSQL database, table by table through the
 * driver-neutral statement API, in one transaction on the target, then
 * verifies the audit chain there before committing. The only code that
 * opens two stores. Sealed keys are copied as the bytes they are (never
 * unsealed); PostgreSQL's own bookkeeping (the rowid identity sequences,
 * revocation_serial) is set so that rows, lists and serials continue. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "migrate.h"
#include "store_int.h"

/* Every table of the newest schema, parents before children (the foreign
 * keys), with its columns in order and their kinds: i integer, t text, b
 * blob. rowid: SQLite's implicit rowid orders the table's lists and is an
 * identity column of that name on PostgreSQL (pg_schema.c): it is copied and
 * its sequence set past the largest. Not here: schema_migrations (each
 * backend's own) and revocation_serial (PostgreSQL's alone, set from the
 * source's serial). A table or column the source has and this list lacks is
 * refused (migrate_check_source), so a new migration cannot be dropped
 * silently: add it here with its migration. */
struct migrate_table {
    const char *name;
    const char *cols;
    const char *kinds;
    int rowid;
    const char *order;
};

static const struct migrate_table migrate_tables[] = {
    {"meta", "key,value,updated_at", "tti", 0, "key"},
    {"keys",
     "kid,alg,status,created_at,activates_at,retired_at,public_jwk,sealed_private,tainted_at,"
     "revoked_at",
     "tttiiitbii", 1, "rowid"},
    {"mps", "id,name,key_hash,cert_sha256,created_at,removed_at,labels", "ttbtiit", 0, "rowid"},
    {"bulk_tokens",
     "id,token_hash,created_at,not_before,expires_at,max_uses,uses,blocked,last_used_at,note,"
     "created_by,labels,cidrs,rate_per_second,allow_total,allow_used",
     "tbiiiiiiittttiii", 1, "rowid"},
    {"devices", "id,jkt,hardware_id,name,reg,bulk_id,mp_id,created_at,last_seen_at,blocked,labels",
     "tttttttiiit", 0, "rowid"},
    {"tokens",
     "jti,kind,device_id,kid,issued_at,expires_at,gen,bulk_id,mp_id,prev_jti,revoked_at,"
     "revoke_reason,family",
     "ttttiiitttitt", 1, "rowid"},
    {"revocations", "serial,kind,id,revoked_at,expires_at,reason", "ittiit", 0, "serial"},
    {"audit", "seq,time,actor,action,subject,detail,prev_hash,hash", "iitttttt", 0, "seq"},
    {"proof_jtis", "iat,jti,mp_id", "itt", 0, "iat, jti"},
    {"device_tombstones", "jkt,hardware_id,device_id,purged_at", "ttti", 0, "jkt"},
    {"device_labels", "label,device_id", "tt", 0, "label, device_id"},
    {"bulk_allow", "bulk_id,hardware_id,jkt,device_id,used_at", "tttti", 0, "bulk_id, hardware_id"},
};
#define MIGRATE_NTABLES (sizeof(migrate_tables) / sizeof(migrate_tables[0]))

_Static_assert(MIGRATE_NTABLES <= STORE_MIGRATE_TABLES, "struct store_migrate_result too small");

static _Thread_local char migrate_errbuf[1024];

static const char *migrate_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
migrate_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(migrate_errbuf, sizeof(migrate_errbuf), fmt, ap);
    va_end(ap);
    return migrate_errbuf;
}

/* A connection to target without running its migrations (store_open would
 * migrate: the source is never written, and the target is checked before
 * anything is created in it). NULL with *errstr. */
static struct store *
migrate_open_raw(const char *target, int busy_timeout_ms, const char *side, const char **errstr)
{
    char err[600];
    struct store *st;

    if ((st = store_open_unmigrated(target, busy_timeout_ms, err, sizeof(err))) == NULL)
        *errstr = migrate_err("%s: %s", side, err);
    return st;
}

/* One integer from a query of one row and column (NULL: 0), ?1 bound to arg
 * when arg is not NULL. 0 or -1 with *errstr. */
static int
migrate_query_int(struct store *st, const char *sql, const char *arg, int64_t *v,
                  const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    *v = 0;
    if ((stmt = store_prepare(st, sql, errstr)) == NULL)
        return -1;
    if (arg != NULL)
        store_bind_text(stmt, 1, arg);
    rc = store_step(stmt);
    if (rc == STORE_ROW)
        *v = store_col_int64(stmt, 0);
    else
        *errstr = store_err(st, "query");
    store_finalize(stmt);
    return rc == STORE_ROW ? 0 : -1;
}

/* The column list of t as SQL: "rowid, a, b" (with_rowid) or "a, b". */
static int
migrate_cols(const struct migrate_table *t, int with_rowid, char *buf, size_t n)
{
    return snprintf(buf, n, "%s%s", with_rowid && t->rowid ? "rowid," : "", t->cols) < (int)n ? 0
                                                                                              : -1;
}

/* Whether st's table t has exactly the columns of the list: every one named
 * (the SELECT of them prepares and runs) and no other (SELECT * has as
 * many; on PostgreSQL * includes the rowid identity column). */
static int
migrate_check_columns(struct store *st, const struct migrate_table *t, int star_has_rowid,
                      const char *side, const char **errstr)
{
    char cols[512], sql[768];
    struct store_stmt *stmt;
    int want = (int)strlen(t->kinds) + (star_has_rowid && t->rowid ? 1 : 0), got = -1, rc;

    if (migrate_cols(t, 1, cols, sizeof(cols)) == -1)
        return -1;
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s LIMIT 0", cols, t->name);
    if ((stmt = st->drv->prepare(st, sql, 0)) != NULL) {
        rc = store_step(stmt);
        store_finalize(stmt);
        snprintf(sql, sizeof(sql), "SELECT * FROM %s LIMIT 0", t->name);
        if (rc == STORE_DONE && (stmt = st->drv->prepare(st, sql, 0)) != NULL) {
            if (store_step(stmt) == STORE_DONE)
                got = store_col_count(stmt);
            store_finalize(stmt);
        }
    }
    if (got != want) {
        *errstr = migrate_err("%s table %s does not have the columns this sitetokend knows (%s):"
                              " nothing was copied",
                              side, t->name, t->cols);
        return -1;
    }
    return 0;
}

static const struct migrate_table *
migrate_table_named(const char *name)
{
    for (size_t i = 0; i < MIGRATE_NTABLES; i++)
        if (strcmp(migrate_tables[i].name, name) == 0)
            return &migrate_tables[i];
    return NULL;
}

/* The source: a sitetoken database at the newest schema whose tables are
 * exactly the list's. */
static int
migrate_check_source(struct store *src, const char *source, int *version, const char **errstr)
{
    struct store_stmt *stmt;
    int latest = store_schema_latest_of(src), rc;

    *version = store_schema_version(src);
    if (*version == 0) {
        *errstr = migrate_err("source %s holds no sitetoken schema: nothing to move", source);
        return -1;
    }
    if (*version < latest) {
        *errstr = migrate_err(
            "source %s is at schema version %d, this sitetokend's is %d: start the site once "
            "with this sitetokend (it migrates its database in place), stop it, then run "
            "--migrate-to again (the source is never written by a move)",
            source, *version, latest);
        return -1;
    }
    if (*version > latest) {
        *errstr = migrate_err("source %s is at schema version %d, newer than this sitetokend "
                              "knows (%d): use the sitetokend the site runs",
                              source, *version, latest);
        return -1;
    }
    if ((stmt = store_prepare(src,
                              "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT"
                              " LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations'"
                              " ORDER BY name",
                              errstr)) == NULL)
        return -1;
    while ((rc = store_step(stmt)) == STORE_ROW) {
        const char *name = store_col_str(stmt, 0);

        if (name == NULL || migrate_table_named(name) == NULL) {
            *errstr = migrate_err("source table %s is not one this sitetokend can move: nothing"
                                  " was copied",
                                  name != NULL ? name : "(null)");
            store_finalize(stmt);
            return -1;
        }
    }
    if (rc != STORE_DONE)
        *errstr = store_err(src, "source tables");
    store_finalize(stmt);
    if (rc != STORE_DONE)
        return -1;
    for (size_t i = 0; i < MIGRATE_NTABLES; i++)
        if (migrate_check_columns(src, &migrate_tables[i], 0, "source", errstr) == -1)
            return -1;
    return 0;
}

/* The source's audit chain verifies (else it would not on the target
 * either): its record count and head, which the target's must equal. */
static int
migrate_check_audit(struct store *src, int64_t *records, char head[65], const char **errstr)
{
    int64_t bad;
    int ok;

    if (store_audit_verify(src, &ok, &bad, records, head, errstr) == -1)
        return -1;
    if (!ok) {
        *errstr = migrate_err("the source's audit chain is broken at seq %lld: it would not "
                              "verify after the move either (docs/operations.md, Audit); "
                              "nothing was copied",
                              (long long)bad);
        return -1;
    }
    return 0;
}

/* The target holds no sitetoken row: each table of the list is absent or
 * empty, and no revocation serial was handed out. */
static int
migrate_check_empty(struct store *dst, const char *target, const char **errstr)
{
    char sql[256];
    int64_t exists, rows;

    for (size_t i = 0; i <= MIGRATE_NTABLES; i++) {
        const char *name = i < MIGRATE_NTABLES ? migrate_tables[i].name : "revocation_serial";

        if (migrate_query_int(dst, "SELECT CASE WHEN to_regclass(?1) IS NULL THEN 0 ELSE 1 END",
                              name, &exists, errstr) == -1)
            return -1;
        if (!exists)
            continue;
        snprintf(sql, sizeof(sql), "SELECT CASE WHEN EXISTS (SELECT 1 FROM %s%s) THEN 1 ELSE 0 END",
                 name, i < MIGRATE_NTABLES ? "" : " WHERE last <> 0");
        if (migrate_query_int(dst, sql, NULL, &rows, errstr) == -1)
            return -1;
        if (rows) {
            *errstr = migrate_err("target %s is not empty (table %s has rows): a site moves only"
                                  " into an empty database",
                                  target, name);
            return -1;
        }
    }
    return 0;
}

/* The target before anything is created in it: reachable (and no password
 * in the URI: the driver refuses it), not ahead of this binary, empty. */
static int
migrate_check_target(const char *target, int busy_timeout_ms, const char **errstr)
{
    struct store *dst;
    int version, rc = -1;

    if ((dst = migrate_open_raw(target, busy_timeout_ms, "target", errstr)) == NULL)
        return -1;
    version = store_schema_version(dst);
    if (version > store_schema_latest_of(dst))
        *errstr = migrate_err("target %s is at schema version %d, newer than this sitetokend "
                              "knows (%d): refused",
                              target, version, store_schema_latest_of(dst));
    else
        rc = migrate_check_empty(dst, target, errstr);
    store_close(dst);
    return rc;
}

/* Copies every row of t, columns by kind (blobs as blobs: sealed keys stay
 * the bytes they are), into dst; *rows how many. */
static int
migrate_copy_table(struct store *src, struct store *dst, const struct migrate_table *t,
                   int64_t *rows, const char **errstr)
{
    char cols[512], sel[768], ins[1024], what[96];
    size_t ncols = strlen(t->kinds), len;
    int nparams = (int)ncols + (t->rowid ? 1 : 0), rc = -1, step;
    struct store_stmt *in = NULL, *out = NULL;

    *rows = 0;
    snprintf(what, sizeof(what), "copy %s", t->name);
    if (migrate_cols(t, 1, cols, sizeof(cols)) == -1)
        goto done;
    snprintf(sel, sizeof(sel), "SELECT %s FROM %s ORDER BY %s", cols, t->name, t->order);
    len = (size_t)snprintf(ins, sizeof(ins), "INSERT INTO %s(%s) VALUES (", t->name, cols);
    for (int p = 1; p <= nparams && len < sizeof(ins); p++)
        len += (size_t)snprintf(ins + len, sizeof(ins) - len, "%s?%d", p > 1 ? ", " : "", p);
    if (len + 2 > sizeof(ins))
        goto done;
    memcpy(ins + len, ")", 2);
    if ((in = store_prepare(src, sel, errstr)) == NULL)
        goto done;
    /* persistent: prepared once on the server for all the table's rows */
    if ((out = dst->drv->prepare(dst, ins, 1)) == NULL) {
        *errstr = store_err(dst, what);
        goto done;
    }
    while ((step = store_step(in)) == STORE_ROW) {
        int bad = 0;

        for (int c = 0; c < nparams; c++) {
            char kind = t->rowid ? (c == 0 ? 'i' : t->kinds[c - 1]) : t->kinds[c];

            if (src->drv->col_is_null(in, c)) {
                bad |= store_bind_null(out, c + 1);
                continue;
            }
            switch (kind) {
            case 'i':
                bad |= store_bind_int64(out, c + 1, store_col_int64(in, c));
                break;
            case 'b': {
                const void *p = store_col_blob(in, c);

                bad |= store_bind_blob(out, c + 1, p, (size_t)store_col_bytes(in, c));
                break;
            }
            default: {
                const char *s = store_col_str(in, c);

                bad |= store_bind_textn(out, c + 1, s, store_col_bytes(in, c));
                break;
            }
            }
        }
        if (bad) {
            *errstr = migrate_err("%s: out of memory", what);
            goto done;
        }
        if (store_step(out) != STORE_DONE) {
            *errstr = store_err(dst, what);
            goto done;
        }
        store_stmt_done(out);
        (*rows)++;
    }
    if (step != STORE_DONE) {
        *errstr = store_err(src, what);
        goto done;
    }
    rc = 0;
done:
    if (rc == -1 && *errstr == NULL)
        *errstr = migrate_err("%s: statement too long", what);
    store_finalize(in);
    store_finalize(out);
    return rc;
}

/* PostgreSQL's bookkeeping after the copy: each rowid identity's next value
 * past the largest copied, and revocation_serial.last at the source's last
 * serial (SQLite's sqlite_sequence, or the largest serial left after
 * pruning), so that the next revocation's serial is above every old one. */
static int
migrate_bookkeeping(struct store *src, struct store *dst, int64_t *serial_last, const char **errstr)
{
    char sql[256];
    struct store_stmt *stmt;
    int64_t ignored;
    int rc;

    for (size_t i = 0; i < MIGRATE_NTABLES; i++) {
        if (!migrate_tables[i].rowid)
            continue;
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('%s', 'rowid'),"
                 " (SELECT coalesce(max(rowid), 0) + 1 FROM %s), false)",
                 migrate_tables[i].name, migrate_tables[i].name);
        if (migrate_query_int(dst, sql, NULL, &ignored, errstr) == -1)
            return -1;
    }
    if (migrate_query_int(src,
                          "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name ="
                          " 'revocations'), 0), coalesce((SELECT max(serial) FROM revocations),"
                          " 0))",
                          NULL, serial_last, errstr) == -1)
        return -1;
    if ((stmt = store_prepare(dst,
                              "UPDATE revocation_serial SET last = GREATEST(last, CAST(?1 AS"
                              " BIGINT))",
                              errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, *serial_last);
    rc = store_changes(dst, stmt, "revocation serial", errstr);
    store_finalize(stmt);
    if (rc == 0)
        *errstr = migrate_err("target has no revocation_serial row: not sitetoken's schema");
    return rc == 1 ? 0 : -1;
}

/* The copy, in one transaction on the target (and one read snapshot of the
 * source): the rows, the bookkeeping, the counts, then the audit chain must
 * verify on the target as it did on the source, with the same head. */
static int
migrate_copy(struct store *src, struct store *dst, const char *target, int64_t src_records,
             const char *src_head, struct store_migrate_result *res, const char **errstr)
{
    int64_t bad, count;
    int ok;

    if (migrate_check_empty(dst, target, errstr) == -1)
        return -1;
    for (size_t i = 0; i < MIGRATE_NTABLES; i++) {
        char sql[128];

        if (migrate_check_columns(dst, &migrate_tables[i], 1, "target", errstr) == -1 ||
            migrate_copy_table(src, dst, &migrate_tables[i], &res->rows[i], errstr) == -1)
            return -1;
        res->table[i] = migrate_tables[i].name;
        res->ntables = i + 1;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", migrate_tables[i].name);
        if (migrate_query_int(dst, sql, NULL, &count, errstr) == -1)
            return -1;
        if (count != res->rows[i]) {
            *errstr =
                migrate_err("target table %s holds %lld rows after copying %lld: rolled"
                            " back",
                            migrate_tables[i].name, (long long)count, (long long)res->rows[i]);
            return -1;
        }
    }
    if (migrate_bookkeeping(src, dst, &res->serial_last, errstr) == -1)
        return -1;
    if (store_audit_verify(dst, &ok, &bad, &res->audit_records, res->audit_head, errstr) == -1)
        return -1;
    if (!ok || res->audit_records != src_records || strcmp(res->audit_head, src_head) != 0) {
        *errstr = migrate_err("the audit chain does not verify on the target (%s at seq %lld, "
                              "%lld of %lld records): rolled back, nothing was copied",
                              ok ? "head differs" : "broken", (long long)bad,
                              (long long)res->audit_records, (long long)src_records);
        return -1;
    }
    return 0;
}

int
store_migrate_site(const char *source, const char *target, int busy_timeout_ms,
                   struct store_migrate_result *res, const char **errstr)
{
    struct store *src = NULL, *dst = NULL;
    char src_head[65];
    int64_t src_records = 0;
    struct stat sb;
    const char *why = NULL;
    int lock_fd = -1, lock_created = 0, rc = -1;

    memset(res, 0, sizeof(*res));
    *errstr = NULL;
    if (store_driver_for(target) != &store_pg_driver) {
        *errstr = migrate_err("--migrate-to needs a postgresql:// URI (got %.300s)", target);
        return -1;
    }
    if (store_driver_for(source) != &store_sqlite_driver || !store_is_local_file(source)) {
        *errstr = migrate_err("the source must be a SQLite site (database: %.300s): the config"
                              " given with -c names the site to move",
                              source);
        return -1;
    }
    if (lstat(source, &sb) == -1) {
        *errstr = migrate_err("source database %.300s: %s", source,
                              errno == ENOENT ? "no such file (is -c the site's config?)"
                                              : strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        *errstr =
            migrate_err("source database %.300s: %s", source,
                        S_ISLNK(sb.st_mode) ? "a symbolic link: refused" : "not a regular file");
        return -1;
    }
    /* The running site holds this lock: a site is moved stopped. Held to the
     * end, so that it cannot start in the middle of the copy. */
    if (store_lock(source, &lock_fd, &lock_created, &why) == -1) {
        *errstr = migrate_err("%s: stop it first (a running site cannot be moved)", why);
        return -1;
    }
    if ((src = migrate_open_raw(source, busy_timeout_ms, "source", errstr)) == NULL ||
        migrate_check_source(src, source, &res->schema, errstr) == -1 ||
        migrate_check_audit(src, &src_records, src_head, errstr) == -1 ||
        migrate_check_target(target, busy_timeout_ms, errstr) == -1)
        goto done;
    if ((dst = store_open(target, busy_timeout_ms, &why)) == NULL) {
        *errstr = migrate_err("target: %s", why);
        goto done;
    }
    if (store_schema_version(dst) != store_schema_latest_of(dst)) {
        *errstr = migrate_err("target %s: schema version %d after migrating, expected %d", target,
                              store_schema_version(dst), store_schema_latest_of(dst));
        goto done;
    }
    if (store_exec(src, "BEGIN", errstr) == -1)
        goto done;
    if (store_tx_begin(dst, errstr) == -1 ||
        migrate_copy(src, dst, target, src_records, src_head, res, errstr) == -1) {
        store_tx_rollback(dst);
        goto done;
    }
    if (store_tx_commit(dst, errstr) == -1) {
        store_tx_rollback(dst);
        goto done;
    }
    rc = 0;
done:
    /* A message may sit in a store's buffer (store_err): keep it past the close. */
    if (rc == -1 && *errstr != NULL && *errstr != migrate_errbuf) {
        char tmp[sizeof(migrate_errbuf)];

        snprintf(tmp, sizeof(tmp), "%s", *errstr);
        *errstr = migrate_err("%s", tmp);
    }
    if (src != NULL && src->drv->in_tx(src))
        (void)src->drv->exec(src, "ROLLBACK"); /* a read snapshot: nothing to keep */
    store_close(dst);
    store_close(src);
    store_unlock(source, lock_fd, lock_created);
    if (rc == -1 && *errstr == NULL)
        *errstr = "migrate: failed";
    return rc;
}

void
store_migrate_summary(const struct store_migrate_result *res, const char *source,
                      const char *target, char *buf, size_t n)
{
    size_t len;

    if (n == 0)
        return;
    len = (size_t)snprintf(buf, n, "migrated %s (schema %d) to %s:", source, res->schema, target);
    for (size_t i = 0; i < res->ntables && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " %s=%lld", res->table[i],
                                (long long)res->rows[i]);
    if (len < n)
        snprintf(buf + len, n - len,
                 "; audit chain verified (%lld records, head %.16s); "
                 "revocation serials continue after %lld",
                 (long long)res->audit_records, res->audit_head, (long long)res->serial_last);
}
