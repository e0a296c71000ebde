/* The audit trail: append-only records, each carrying the SHA-256 of its
 * predecessor, so that store_audit_verify finds an edit, a gap or a reordering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "store_int.h"

#define AUDIT_COLS "seq, time, actor, action, subject, detail, prev_hash, hash"
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_DETAIL_MAX (64 * 1024)

/* hash = hex(SHA-256(prev_hash || canonical)), canonical being
 * [seq,time,"actor","action","subject",detail] with detail the stored text
 * verbatim. The head of the array is made by jansson (compact), detail is
 * spliced in as stored: verification never re-serialises detail, so it can
 * not depend on how a future jansson prints numbers. store_audit_append
 * stores detail already canonical (compact, sorted keys), so the result is
 * the same text json_dumps would give for the whole array. */
static int
audit_hash(int64_t seq, int64_t time, const char *actor, const char *action, const char *subject,
           const char *detail, const char *prev_hash, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    json_t *head = NULL;
    char *text = NULL;
    size_t len;
    EVP_MD_CTX *ctx = NULL;
    int rc = -1;

    if ((head = json_pack("[I,I,s,s,s]", (json_int_t)seq, (json_int_t)time, actor, action,
                          subject)) == NULL ||
        (text = json_dumps(head, JSON_COMPACT)) == NULL)
        goto done;
    len = strlen(text);
    if (len < 2 || text[len - 1] != ']')
        goto done;
    text[len - 1] = ','; /* "[...," then detail then "]" */
    if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, prev_hash, strlen(prev_hash)) != 1 ||
        EVP_DigestUpdate(ctx, text, len) != 1 ||
        EVP_DigestUpdate(ctx, detail, strlen(detail)) != 1 || EVP_DigestUpdate(ctx, "]", 1) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
        goto done;
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
    rc = 0;
done:
    EVP_MD_CTX_free(ctx);
    free(text);
    json_decref(head);
    return rc;
}

/* detail_json as canonical text (compact, sorted keys), malloc'd; NULL when
 * it is not a JSON object. */
static char *
audit_canonical_detail(const char *detail_json)
{
    json_t *obj;
    char *text = NULL;

    if (detail_json == NULL || *detail_json == '\0')
        detail_json = "{}";
    if ((obj = json_loads(detail_json, JSON_REJECT_DUPLICATES, NULL)) != NULL &&
        json_is_object(obj))
        text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return text;
}

/* The lock of the chain head: an upsert on a meta row, which PostgreSQL
 * holds locked until commit (portable SQL; no migration makes the row). */
static const char *const audit_lock_sql[STORE_BACKENDS] = {
    [STORE_BACKEND_SQLITE] = NULL, /* BEGIN IMMEDIATE: one writer at a time */
    [STORE_BACKEND_PG] = "INSERT INTO meta(key, value, updated_at) VALUES ('audit_chain', '', 0)"
                         " ON CONFLICT(key) DO UPDATE SET value = meta.value",
};

int
store_audit_lock(struct store *st, const char **errstr)
{
    const char *sql = store_sql(st, audit_lock_sql);
    struct store_stmt *stmt;
    int rc;

    if (st->audit_locked)
        return 0;
    if (sql == NULL) {
        /* SQLite: the transaction's BEGIN IMMEDIATE is the lock */
        if (st->drv->in_tx(st) && st->savepoints == 0)
            st->audit_locked = 1;
        return 0;
    }
    if ((stmt = store_stmt(st, STMT_AUDIT_LOCK, sql, errstr)) == NULL)
        return -1;
    rc = store_step_done(st, stmt, "lock the audit chain", errstr);
    store_stmt_done(stmt);
    /* A lock taken inside a savepoint goes with its rollback, and one taken
     * outside a transaction with its statement: only one taken in a
     * transaction, outside savepoints, is known to last until the end. */
    if (rc == 0 && st->savepoints == 0 && st->drv->in_tx(st))
        st->audit_locked = 1;
    return rc;
}

/* The chain's last record: *seq its seq + 1 (1 on an empty chain), prev its
 * hash (left as it is on an empty chain). 0 or -1. */
static int
audit_read_head(struct store *st, int64_t *seq, char prev[65], const char **errstr)
{
    struct store_stmt *stmt;
    int rc;

    if ((stmt = store_stmt(st, STMT_AUDIT_LAST,
                           "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", errstr)) ==
        NULL)
        return -1;
    rc = store_step(stmt);
    if (rc == STORE_ROW) {
        *seq = store_col_int64(stmt, 0) + 1;
        if (store_col_text(stmt, 1, prev, 65) == -1 || strlen(prev) != 64) {
            *errstr = store_errf(st, STORE_ERR_CORRUPT, "audit: unreadable last record");
            store_stmt_done(stmt);
            return -1;
        }
    } else if (rc != STORE_DONE) {
        *errstr = store_err(st, "audit");
        store_stmt_done(stmt);
        return -1;
    }
    store_stmt_done(stmt);
    return 0;
}

int
store_audit_append(struct store *st, int64_t time, const char *actor, const char *action,
                   const char *subject, const char *detail_json, const char **errstr)
{
    struct store_audit *a = NULL; /* for the buffer sizes */
    struct store_stmt *stmt;
    char prev[65], hash[65];
    char *detail = NULL;
    int64_t seq = 1;
    int rc;

    if (subject == NULL)
        subject = "";
    if (store_check_len(st, "audit actor", actor, sizeof(a->actor) - 1, errstr) == -1 ||
        store_check_len(st, "audit action", action, sizeof(a->action) - 1, errstr) == -1 ||
        store_check_len(st, "audit subject", subject, sizeof(a->subject) - 1, errstr) == -1 ||
        store_check_len(st, "audit detail", detail_json, AUDIT_DETAIL_MAX, errstr) == -1)
        return -1;
    if (actor == NULL || action == NULL) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "audit: actor and action are required");
        return -1;
    }
    if ((detail = audit_canonical_detail(detail_json)) == NULL) {
        *errstr = store_errf(st, STORE_ERR_INVALID, "audit: detail is not a JSON object");
        return -1;
    }

    /* Another node's append waits here until it committed, then the last
     * record read below is its. */
    if (store_audit_lock(st, errstr) == -1)
        goto fail;
    snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);
    if (st->audit_locked && st->audit_head_known) {
        /* this transaction appended the last record, under the lock */
        seq = st->audit_head_seq + 1;
        memcpy(prev, st->audit_head_hash, sizeof(prev));
    } else if (audit_read_head(st, &seq, prev, errstr) == -1) {
        goto fail;
    }

    if (audit_hash(seq, time, actor, action, subject, detail, prev, hash) == -1) {
        /* json_pack refuses strings that are not UTF-8. */
        *errstr =
            store_errf(st, STORE_ERR_INVALID, "audit: cannot hash the record (text not UTF-8?)");
        goto fail;
    }
    if ((stmt = store_stmt(st, STMT_AUDIT_INSERT,
                           "INSERT INTO audit(" AUDIT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           errstr)) == NULL)
        goto fail;
    store_bind_int64(stmt, 1, seq);
    store_bind_int64(stmt, 2, time);
    store_bind_text(stmt, 3, actor);
    store_bind_text(stmt, 4, action);
    store_bind_text(stmt, 5, subject);
    store_bind_text(stmt, 6, detail);
    store_bind_text(stmt, 7, prev);
    store_bind_text(stmt, 8, hash);
    rc = store_step_done(st, stmt, "append audit record", errstr);
    store_stmt_done(stmt);
    st->audit_head_known = rc == 0 && st->audit_locked;
    if (st->audit_head_known) {
        st->audit_head_seq = seq;
        memcpy(st->audit_head_hash, hash, sizeof(st->audit_head_hash));
    }
    free(detail);
    return rc;
fail:
    st->audit_head_known = 0;
    free(detail);
    return -1;
}

/* Reads the current row into *a; a->detail is borrowed from the statement. */
static int
audit_from_row(struct store_stmt *stmt, void *row)
{
    struct store_audit *a = row;

    memset(a, 0, sizeof(*a));
    a->seq = store_col_int64(stmt, 0);
    a->time = store_col_int64(stmt, 1);
    if (store_col_text(stmt, 2, a->actor, sizeof(a->actor)) == -1 ||
        store_col_text(stmt, 3, a->action, sizeof(a->action)) == -1 ||
        store_col_text(stmt, 4, a->subject, sizeof(a->subject)) == -1 ||
        store_col_text(stmt, 6, a->prev_hash, sizeof(a->prev_hash)) == -1 ||
        store_col_text(stmt, 7, a->hash, sizeof(a->hash)) == -1)
        return -1;
    a->detail = (char *)store_col_str(stmt, 5);
    if (a->detail == NULL)
        a->detail = (char *)"";
    return 0;
}

int
store_audit_list(struct store *st, int64_t after, int limit,
                 int (*cb)(const struct store_audit *a, void *arg), void *arg, const char **errstr)
{
    struct store_stmt *stmt;
    struct store_audit a;
    int rc;

    if ((stmt = store_stmt(st, STMT_AUDIT_LIST,
                           "SELECT " AUDIT_COLS " FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                           errstr)) == NULL)
        return -1;
    store_bind_int64(stmt, 1, after);
    store_bind_limit(stmt, 2, limit);
    while ((rc = store_row_next(st, stmt, audit_from_row, &a, "list audit", errstr)) == 1 &&
           cb(&a, arg) == 0)
        ;
    store_stmt_done(stmt);
    return rc == -1 ? -1 : 0;
}

int
store_audit_verify(struct store *st, int *ok, int64_t *first_bad, int64_t *records, char head[65],
                   const char **errstr)
{
    struct store_stmt *stmt;
    struct store_audit a;
    char expect_prev[65], hash[65];
    int64_t expect_seq = 1;
    int rc;

    *ok = 1;
    *first_bad = 0;
    *records = 0;
    snprintf(head, 65, "%s", AUDIT_GENESIS);
    snprintf(expect_prev, sizeof(expect_prev), "%s", AUDIT_GENESIS);
    if ((stmt = store_stmt(st, STMT_AUDIT_ALL, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq",
                           errstr)) == NULL)
        return -1;
    while ((rc = store_step(stmt)) == STORE_ROW) {
        int good;

        (*records)++;
        good = audit_from_row(stmt, &a) == 0;
        snprintf(head, 65, "%s", a.hash);
        if (!*ok)
            continue; /* only counting now */
        /* A record is good when it sits at the expected seq, links to the
         * stored hash of its predecessor, and hashes to its stored hash. */
        good = good && a.seq == expect_seq && strcmp(a.prev_hash, expect_prev) == 0 &&
               audit_hash(a.seq, a.time, a.actor, a.action, a.subject, a.detail, a.prev_hash,
                          hash) == 0 &&
               strcmp(hash, a.hash) == 0;
        if (!good) {
            *ok = 0;
            /* Rows come in seq order, so a.seq >= expect_seq: a gap (or a
             * first record whose seq is not 1) reports the first missing
             * seq, where the chain first departs from 1, 2, 3... */
            *first_bad = expect_seq;
            continue;
        }
        snprintf(expect_prev, sizeof(expect_prev), "%s", a.hash);
        expect_seq++;
    }
    if (rc != STORE_DONE) {
        *errstr = store_err(st, "verify audit");
        store_stmt_done(stmt);
        return -1;
    }
    store_stmt_done(stmt);
    return 0;
}
