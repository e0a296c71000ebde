/* The PostgreSQL driver (store_int.h's seam) on libpq: one session per
 * store, synchronous_commit=on in every session (no token leaves before its
 * commit is durable), the busy timeout as lock_timeout, ?N placeholders
 * rewritten to $n at prepare, results in text form (bytea unescaped), and
 * SQLSTATEs mapped to the store's error classes. A lost connection is
 * STORE_ERR_UNAVAILABLE and the next use connects again; a transaction it
 * interrupted fails until rolled back, so its commit can never be mistaken
 * for a success. Inside a transaction a statement whose result nobody reads
 * (the unread hint, store_int.h) is sent in libpq's pipeline mode without
 * waiting; the next statement that waits goes in the same pipeline, and a
 * failure of one sent before it is its failure (the op's RELEASE is the
 * last such statement of every op). Connections, their settings and the
 * error classes: pg_conn.c. With pg_conn.c, the only files in the tree that
 * include libpq-fe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"
#include "store_int.h"

#define PG_MAXPARAM 32
#define PG_BYTEAOID 17

struct pg_stmt {
    struct store_stmt base; /* first */
    char *sql;              /* with $n placeholders */
    int persistent, is_rollback, is_rollback_to, is_commit;
    unsigned gen; /* the session it was prepared in (0: not yet) */
    char name[24];
    int nparams;
    unsigned char map[PG_MAXPARAM + 1]; /* ?N -> $map[N]; 0: not in the statement */
    const char *vals[PG_MAXPARAM];
    int lens[PG_MAXPARAM], fmts[PG_MAXPARAM];
    char num[PG_MAXPARAM][24];
    char *owned[PG_MAXPARAM];
    PGresult *res;
    int executed, row, nrows;
    /* the current row's bytea columns, unescaped on first use */
    int nfields, blob_row;
    unsigned char **blob;
    size_t *bloblen;
};

#define PG_STMT(s) ((struct pg_stmt *)(s))

/* A result that did what was asked; else the failure is recorded. */
static int
pg_result_ok(struct pg_session *c, PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        c->in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
        return 0;
    }
    pg_fail(c, res, STORE_ERR_NONE, NULL);
    if (c->pg != NULL && PQstatus(c->pg) != CONNECTION_OK) {
        c->tx_broken = c->in_tx; /* the transaction that was open is gone */
        c->in_tx = 0;
    } else {
        c->in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    }
    return -1;
}

/* The pipeline ------------------------------------------------------------ */

/* Sends ps's PREPARE (when this session has not prepared it) and its
 * execution; with the pipeline on, both are queued (keep: the execution
 * whose result pg_pipeline_end hands back). 0, or -1 recorded. */
static int
pg_send(struct pg_session *c, struct pg_stmt *ps, int keep)
{
    if (c->npending + 2 > PG_PIPE_MAX) {
        pg_fail(c, NULL, STORE_ERR_INTERNAL, "pipeline full");
        return -1;
    }
    if (ps->persistent && ps->gen != c->gen) {
        if (PQsendPrepare(c->pg, ps->name, ps->sql, ps->nparams, NULL) == 0) {
            pg_fail(c, NULL, STORE_ERR_NONE, NULL);
            return -1;
        }
        ps->gen = c->gen; /* undone if its result says it failed */
        c->pending[c->npending++] = (struct pg_pending){.ps = ps, .prepare = 1};
    }
    if ((ps->persistent
             ? PQsendQueryPrepared(c->pg, ps->name, ps->nparams, ps->vals, ps->lens, ps->fmts, 0)
             : PQsendQueryParams(c->pg, ps->sql, ps->nparams, NULL, ps->vals, ps->lens, ps->fmts,
                                 0)) == 0) {
        pg_fail(c, NULL, STORE_ERR_NONE, NULL);
        return -1;
    }
    c->pending[c->npending++] = (struct pg_pending){.ps = ps, .keep = keep};
    return 0;
}

/* The pipeline's connection failed under it, or answered out of order:
 * the session is dropped (the next use connects again) and the
 * transaction that was open is gone. */
static int
pg_pipeline_lost(struct pg_session *c, const char *why)
{
    /* libpq's message when the connection is what failed (else it may be
     * an earlier statement's) */
    const char *msg = PQstatus(c->pg) != CONNECTION_OK ? PQerrorMessage(c->pg) : NULL;

    pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, msg != NULL && *msg != '\0' ? msg : why);
    PQfinish(c->pg);
    c->pg = NULL;
    c->tx_broken = 1; /* a pipeline is only ever open inside a transaction */
    c->in_tx = 0;
    c->pipelined = c->npending = 0;
    return -1;
}

/* Ends the pipeline: a sync, then every result in order. The result of the
 * execution sent with keep goes to *keep_res (NULL when it did not run);
 * the first failure among the others is recorded and returned as -1 (a
 * statement the server skipped after it reads PGRES_PIPELINE_ABORTED),
 * unless discard (a rollback follows: what failed is being undone). */
static int
pg_pipeline_end(struct pg_session *c, PGresult **keep_res, int discard)
{
    int failed = 0;

    if (keep_res != NULL)
        *keep_res = NULL;
    if (!c->pipelined)
        return 0;
    c->roundtrips++;
    if (PQpipelineSync(c->pg) == 0)
        return pg_pipeline_lost(c, "pipeline sync failed");
    for (int i = 0; i < c->npending; i++) {
        struct pg_pending *p = &c->pending[i];
        PGresult *res;

        while ((res = PQgetResult(c->pg)) != NULL) {
            ExecStatusType st = PQresultStatus(res);
            int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

            if (!ok && p->prepare && p->ps != NULL)
                p->ps->gen = 0; /* not prepared after all */
            if (p->keep && keep_res != NULL && *keep_res == NULL && !failed) {
                *keep_res = res; /* its own failure is the caller's to read */
                continue;
            }
            if (!ok && !failed && !discard && st != PGRES_PIPELINE_ABORTED) {
                char msg[256];

                /* named by its text: the caller that sent it did not wait */
                snprintf(msg, sizeof(msg), "%.40s...: %s", p->ps != NULL ? p->ps->sql : "?",
                         PQresultErrorMessage(res));
                pg_fail(c, res, STORE_ERR_NONE, msg);
                failed = 1;
            }
            PQclear(res);
        }
    }
    c->npending = 0;
    /* the sync's own result, then out of pipeline mode */
    {
        PGresult *res = PQgetResult(c->pg);
        int synced = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

        PQclear(res);
        if (!synced || PQexitPipelineMode(c->pg) == 0) {
            if (keep_res != NULL) {
                PQclear(*keep_res);
                *keep_res = NULL;
            }
            return pg_pipeline_lost(c, "pipeline: the server's answers ended early");
        }
    }
    c->pipelined = 0;
    c->in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    if (failed) {
        if (keep_res != NULL) {
            PQclear(*keep_res);
            *keep_res = NULL;
        }
        return -1;
    }
    return 0;
}

/* Sends ps unread, without waiting: 0 (sent, or run at once when the
 * pipeline cannot take it), or -1 recorded. */
static int
pg_defer(struct pg_session *c, struct pg_stmt *ps)
{
    if (!c->pipelined) {
        if (PQenterPipelineMode(c->pg) == 0) {
            pg_fail(c, NULL, STORE_ERR_INTERNAL, "cannot enter pipeline mode");
            return -1;
        }
        c->pipelined = 1;
    }
    if (pg_send(c, ps, 0) == -1) {
        pg_pipeline_end(c, NULL, 1);
        return -1;
    }
    /* keep the queue short: a long one is collected now */
    if (c->npending + 4 > PG_PIPE_MAX)
        return pg_pipeline_end(c, NULL, 0);
    return 0;
}

/* ps run and its result: at once, or (the pipeline holding statements sent
 * unread) in the same pipeline after them. NULL with the failure recorded
 * when one of them failed or the connection did; else the result, which
 * may itself be a failure for pg_result_ok to read. */
static PGresult *
pg_run(struct pg_session *c, struct pg_stmt *ps)
{
    PGresult *res;

    if (c->pipelined) {
        if (pg_send(c, ps, 1) == -1) {
            pg_pipeline_end(c, NULL, 1);
            return NULL;
        }
        if (pg_pipeline_end(c, &res, 0) == -1)
            return NULL;
        if (res == NULL)
            pg_fail(c, NULL, STORE_ERR_INTERNAL, "pipeline: no result");
        return res;
    }
    if (ps->persistent && ps->gen != c->gen) {
        c->roundtrips++;
        res = PQprepare(c->pg, ps->name, ps->sql, ps->nparams, NULL);
        if (pg_result_ok(c, res) == -1) {
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        ps->gen = c->gen;
    }
    c->roundtrips++;
    if (ps->persistent)
        return PQexecPrepared(c->pg, ps->name, ps->nparams, ps->vals, ps->lens, ps->fmts, 0);
    return PQexecParams(c->pg, ps->sql, ps->nparams, NULL, ps->vals, ps->lens, ps->fmts, 0);
}

static int64_t
pg_roundtrips(struct store *st)
{
    return PG_CONN(st)->roundtrips;
}

static int
pg_exec(struct store *st, const char *sql)
{
    struct pg_session *c = PG_CONN(st);
    PGresult *res;
    int rc;

    if (pg_ensure(c) == -1)
        return -1;
    if (c->tx_broken) {
        if (strncmp(sql, "ROLLBACK", 8) == 0) {
            c->tx_broken = 0;
            return 0;
        }
        pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, "connection lost inside a transaction");
        return -1;
    }
    /* what the pipeline holds first (a rollback undoes it: its failure is
     * not this statement's) */
    if (c->pipelined && pg_pipeline_end(c, NULL, strncmp(sql, "ROLLBACK", 8) == 0) == -1)
        return -1;
    c->roundtrips++;
    res = PQexec(c->pg, sql);
    rc = pg_result_ok(c, res);
    PQclear(res);
    return rc;
}

/* ?N and ? (SQLite's numbering: a bare ? is one more than the largest so
 * far) become $1, $2... in order of first use, so that a statement may
 * leave numbers out (libpq must know the type of every $n it is given). */
static int
pg_rewrite(struct pg_stmt *ps, const char *sql)
{
    size_t len = strlen(sql);
    char *out = malloc(len * 3 + 1), *o;
    int largest = 0;
    char quote = 0;

    if ((o = out) == NULL)
        return -1;
    for (const char *p = sql; *p != '\0'; p++) {
        int n;

        if (quote != 0) {
            if (*p == quote)
                quote = 0;
            *o++ = *p;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
            continue;
        }
        if (*p != '?') {
            *o++ = *p;
            continue;
        }
        if (p[1] >= '0' && p[1] <= '9') {
            n = 0;
            while (p[1] >= '0' && p[1] <= '9' && n <= PG_MAXPARAM)
                n = n * 10 + (*++p - '0');
        } else {
            n = largest + 1;
        }
        if (n < 1 || n > PG_MAXPARAM)
            goto fail;
        if (n > largest)
            largest = n;
        if (ps->map[n] == 0)
            ps->map[n] = (unsigned char)++ps->nparams;
        o += sprintf(o, "$%d", ps->map[n]);
    }
    *o = '\0';
    ps->sql = out;
    return 0;
fail:
    free(out);
    return -1;
}

static struct store_stmt *
pg_prepare(struct store *st, const char *sql, int persistent)
{
    struct pg_session *c = PG_CONN(st);
    struct pg_stmt *ps;

    if ((ps = calloc(1, sizeof(*ps))) == NULL) {
        pg_fail(c, NULL, STORE_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (pg_rewrite(ps, sql) == -1) {
        pg_fail(c, NULL, STORE_ERR_INTERNAL, "statement has too many parameters");
        free(ps);
        return NULL;
    }
    ps->base.drv = &store_pg_driver;
    ps->base.st = st;
    ps->persistent = persistent;
    ps->is_rollback = strcmp(sql, "ROLLBACK") == 0;
    ps->is_rollback_to = strncmp(sql, "ROLLBACK TO", 11) == 0;
    ps->is_commit = strcmp(sql, "COMMIT") == 0;
    snprintf(ps->name, sizeof(ps->name), "st%u", ++c->next_name);
    return &ps->base;
}

static void
pg_clear_row(struct pg_stmt *ps)
{
    for (int i = 0; i < ps->nfields; i++) {
        PQfreemem(ps->blob[i]);
        ps->blob[i] = NULL;
    }
}

static void
pg_reset(struct store_stmt *s)
{
    struct pg_stmt *ps = PG_STMT(s);

    pg_clear_row(ps);
    free(ps->blob);
    free(ps->bloblen);
    ps->blob = NULL;
    ps->bloblen = NULL;
    ps->nfields = 0;
    PQclear(ps->res);
    ps->res = NULL;
    ps->executed = 0;
    ps->row = ps->nrows = 0;
    for (int i = 0; i < ps->nparams; i++) {
        free(ps->owned[i]);
        ps->owned[i] = NULL;
        ps->vals[i] = NULL;
        ps->lens[i] = ps->fmts[i] = 0;
    }
}

static void
pg_finalize(struct store_stmt *s)
{
    struct pg_stmt *ps = PG_STMT(s);
    struct pg_session *c = PG_CONN(s->st);

    pg_reset(s);
    for (int i = 0; c != NULL && i < c->npending; i++)
        if (c->pending[i].ps == ps)
            c->pending[i].ps = NULL;
    /* A statement prepared in this session: deallocate it (best effort,
     * and only while the connection is up: a new session has none). */
    if (ps->gen != 0 && c != NULL && ps->gen == c->gen && c->pg != NULL && !c->pipelined &&
        PQstatus(c->pg) == CONNECTION_OK && !c->tx_broken &&
        PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
        char sql[48];

        snprintf(sql, sizeof(sql), "DEALLOCATE %s", ps->name);
        c->roundtrips++;
        PQclear(PQexec(c->pg, sql));
    }
    free(ps->sql);
    free(ps);
}

/* The slot of ?i, or -1 when the statement does not use it (ignored). */
static int
pg_slot(struct pg_stmt *ps, int i)
{
    if (i < 1 || i > PG_MAXPARAM || ps->map[i] == 0)
        return -1;
    return ps->map[i] - 1;
}

static int
pg_bind_int64(struct store_stmt *s, int i, int64_t v)
{
    struct pg_stmt *ps = PG_STMT(s);
    int k = pg_slot(ps, i);

    if (k == -1)
        return 0;
    snprintf(ps->num[k], sizeof(ps->num[k]), "%lld", (long long)v);
    ps->vals[k] = ps->num[k];
    ps->fmts[k] = 0;
    return 0;
}

static int
pg_bind_text(struct store_stmt *s, int i, const char *v, int len)
{
    struct pg_stmt *ps = PG_STMT(s);
    int k = pg_slot(ps, i);

    if (k == -1)
        return 0;
    free(ps->owned[k]);
    ps->owned[k] = NULL;
    if (v != NULL && len >= 0) {
        /* a text parameter is NUL-terminated: copy the slice */
        if ((ps->owned[k] = malloc((size_t)len + 1)) == NULL)
            return -1;
        memcpy(ps->owned[k], v, (size_t)len);
        ps->owned[k][len] = '\0';
        v = ps->owned[k];
    }
    ps->vals[k] = v;
    ps->fmts[k] = 0;
    return 0;
}

static int
pg_bind_blob(struct store_stmt *s, int i, const void *p, size_t n)
{
    struct pg_stmt *ps = PG_STMT(s);
    int k = pg_slot(ps, i);

    if (k == -1)
        return 0;
    if (n > INT32_MAX)
        return -1;
    ps->vals[k] = p != NULL ? p : "";
    ps->lens[k] = (int)n;
    ps->fmts[k] = 1; /* binary: bytea as it is */
    return 0;
}

static int
pg_bind_null(struct store_stmt *s, int i)
{
    struct pg_stmt *ps = PG_STMT(s);
    int k = pg_slot(ps, i);

    if (k == -1)
        return 0;
    ps->vals[k] = NULL;
    ps->fmts[k] = 0;
    return 0;
}

static int
pg_execute(struct pg_stmt *ps)
{
    struct pg_session *c = PG_CONN(ps->base.st);
    PGresult *res;
    ExecStatusType status;
    const char *tuples;

    if (pg_ensure(c) == -1)
        return -1;
    /* A rollback would be skipped after a failure in the pipeline: collect
     * first; what failed there is what it undoes. */
    if (c->pipelined && (ps->is_rollback || ps->is_rollback_to))
        (void)pg_pipeline_end(c, NULL, 1);
    if (c->tx_broken) {
        if (ps->is_rollback) {
            c->tx_broken = 0; /* nothing left to undo: the session ended */
            ps->executed = 1;
            return STORE_DONE;
        }
        pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, "connection lost inside a transaction");
        return -1;
    }
    /* Unread inside a transaction: sent, not waited for. */
    if (ps->base.unread && c->in_tx && ps->persistent) {
        if (pg_defer(c, ps) == -1)
            return -1;
        ps->executed = 1;
        c->changes = 0; /* not known: nobody reads it */
        return STORE_DONE;
    }
    if ((res = pg_run(c, ps)) == NULL)
        return -1;
    status = PQresultStatus(res);
    if (pg_result_ok(c, res) == -1) {
        PQclear(res);
        return -1;
    }
    if (ps->is_commit && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        /* COMMIT of a transaction a failed statement had aborted: nothing
         * was committed, and that is an error, never a success. */
        pg_fail(c, NULL, STORE_ERR_INTERNAL, "commit: the transaction had failed: rolled back");
        PQclear(res);
        return -1;
    }
    ps->executed = 1;
    tuples = PQcmdTuples(res);
    c->changes = tuples != NULL && *tuples != '\0' ? strtoll(tuples, NULL, 10) : 0;
    if (status == PGRES_COMMAND_OK) {
        PQclear(res);
        return STORE_DONE;
    }
    ps->res = res;
    ps->nrows = PQntuples(res);
    ps->row = -1;
    ps->blob = calloc((size_t)PQnfields(res) + 1, sizeof(*ps->blob));
    ps->bloblen = calloc((size_t)PQnfields(res) + 1, sizeof(*ps->bloblen));
    if (ps->blob == NULL || ps->bloblen == NULL) {
        pg_fail(c, NULL, STORE_ERR_INTERNAL, "out of memory");
        return -1;
    }
    ps->nfields = PQnfields(res);
    return STORE_ROW; /* the caller advances below */
}

static int
pg_step(struct store_stmt *s)
{
    struct pg_stmt *ps = PG_STMT(s);
    int rc;

    if (!ps->executed) {
        if ((rc = pg_execute(ps)) != STORE_ROW)
            return rc;
    } else if (ps->res == NULL) {
        return STORE_DONE;
    }
    pg_clear_row(ps);
    if (ps->row < ps->nrows)
        ps->row++;
    return ps->row < ps->nrows ? STORE_ROW : STORE_DONE;
}

static int
pg_busy(struct store_stmt *s)
{
    struct pg_stmt *ps = PG_STMT(s);

    return ps->res != NULL && ps->row < ps->nrows;
}

static int
pg_col_count(struct store_stmt *s)
{
    struct pg_stmt *ps = PG_STMT(s);

    return ps->res != NULL ? PQnfields(ps->res) : 0;
}

static int
pg_has(struct pg_stmt *ps, int i)
{
    return ps->res != NULL && ps->row >= 0 && ps->row < ps->nrows && i >= 0 && i < ps->nfields &&
           !PQgetisnull(ps->res, ps->row, i);
}

static int
pg_col_is_null(struct store_stmt *s, int i)
{
    return !pg_has(PG_STMT(s), i);
}

static int64_t
pg_col_int64(struct store_stmt *s, int i)
{
    struct pg_stmt *ps = PG_STMT(s);
    const char *v;

    if (!pg_has(ps, i))
        return 0;
    v = PQgetvalue(ps->res, ps->row, i);
    if (v[0] == 't' && v[1] == '\0')
        return 1; /* a boolean */
    return strtoll(v, NULL, 10);
}

static const char *
pg_col_text(struct store_stmt *s, int i)
{
    struct pg_stmt *ps = PG_STMT(s);

    return pg_has(ps, i) ? PQgetvalue(ps->res, ps->row, i) : NULL;
}

/* A bytea column's bytes, unescaped once per row. */
static const unsigned char *
pg_blob(struct pg_stmt *ps, int i, size_t *len)
{
    *len = 0;
    if (!pg_has(ps, i))
        return NULL;
    if (ps->blob[i] == NULL) {
        ps->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(ps->res, ps->row, i),
                                      &ps->bloblen[i]);
        if (ps->blob[i] == NULL)
            return NULL;
    }
    *len = ps->bloblen[i];
    return ps->blob[i];
}

static const void *
pg_col_blob(struct store_stmt *s, int i)
{
    struct pg_stmt *ps = PG_STMT(s);
    size_t len;

    if (ps->res != NULL && i >= 0 && i < ps->nfields && PQftype(ps->res, i) == PG_BYTEAOID)
        return pg_blob(ps, i, &len);
    return pg_col_text(s, i);
}

static int
pg_col_bytes(struct store_stmt *s, int i)
{
    struct pg_stmt *ps = PG_STMT(s);
    size_t len;

    if (!pg_has(ps, i))
        return 0;
    if (PQftype(ps->res, i) == PG_BYTEAOID)
        return pg_blob(ps, i, &len) != NULL ? (int)len : 0;
    return PQgetlength(ps->res, ps->row, i);
}

static int64_t
pg_changes(struct store *st)
{
    return PG_CONN(st)->changes;
}

static int
pg_in_tx(struct store *st)
{
    struct pg_session *c = PG_CONN(st);

    return c->tx_broken || (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
                            PQtransactionStatus(c->pg) != PQTRANS_IDLE);
}

static void
pg_errinfo(struct store *st, enum store_error *cls, const char **msg)
{
    struct pg_session *c = PG_CONN(st);

    *cls = c->err_class != STORE_ERR_NONE ? c->err_class : STORE_ERR_INTERNAL;
    *msg = c->errmsg[0] != '\0' ? c->errmsg : "error";
}

const struct store_driver store_pg_driver = {
    .name = "postgresql",
    .backend = STORE_BACKEND_PG,
    .migrations = store_pg_migrations,
    .migrations_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "  version BIGINT PRIMARY KEY,"
                            "  name TEXT NOT NULL,"
                            "  applied_at BIGINT NOT NULL)",
    /* Nodes that start together migrate one at a time; the others then
     * find the version recorded and skip it. */
    .migration_lock_sql = "LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE",
    .begin_sql = "BEGIN",
    /* U+10FFFF: text must be valid UTF-8, and under COLLATE "C" nothing
     * that may follow a prefix sorts after it but itself. */
    .prefix_sentinel = "\xf4\x8f\xbf\xbf",
    .caps_of = pg_caps_of,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .busy = pg_busy,
    .reset = pg_reset,
    .col_count = pg_col_count,
    .col_is_null = pg_col_is_null,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .changes = pg_changes,
    .in_tx = pg_in_tx,
    .errinfo = pg_errinfo,
    .peek_keys = pg_peek_keys,
    .checkpoint = NULL,
    .set_autocheckpoint = NULL,
    .pragma = NULL,
    .notify_sql = "SELECT pg_notify(?1, ?2)",
    .listen = pg_listen,
    .notify_fd = pg_notify_fd,
    .notify_take = pg_notify_take,
    .roundtrips = pg_roundtrips,
};
