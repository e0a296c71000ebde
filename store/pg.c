/* The PostgreSQL driver (store_int.h's seam) on libpq: one session per
 * store, synchronous_commit=on in every session (no token leaves before its
 * commit is durable), the busy timeout as lock_timeout, ?N placeholders
 * rewritten to $n at prepare, results in text form (bytea unescaped), and
 * SQLSTATEs mapped to the store's error classes. A lost connection is
 * STORE_ERR_UNAVAILABLE and the next use connects again; a transaction it
 * interrupted fails until rolled back, so its commit can never be mistaken
 * for a success. The only file in the tree that includes libpq-fe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_int.h"

#define PG_MAXPARAM 32
#define PG_BYTEAOID 17

struct pg_conn {
    PGconn *pg;
    char *target;
    int busy_timeout_ms;
    unsigned gen;       /* bumps at every (re)connection: prepared statements are per session */
    unsigned next_name; /* names of prepared statements */
    int tx_broken;      /* the connection was lost inside a transaction */
    int in_tx;          /* a transaction was open after the last statement */
    int64_t changes;
    enum store_error err_class;
    char errmsg[256];
};

struct pg_stmt {
    struct store_stmt base; /* first */
    char *sql;              /* with $n placeholders */
    int persistent, is_rollback, is_commit;
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

#define PG_CONN(st) ((struct pg_conn *)(st)->conn)
#define PG_STMT(s) ((struct pg_stmt *)(s))

/* The password file named by database_password_file: set once at start-up
 * before any thread opens a store, read at every connection. */
static char *pg_password_file;

void
store_set_password_file(const char *path)
{
    free(pg_password_file);
    pg_password_file = path != NULL ? strdup(path) : NULL;
}

/* SQLSTATE (by prefix, first match) -> class. */
static const struct {
    const char *state;
    enum store_error err;
} pg_error_classes[] = {
    {"23", STORE_ERR_CONFLICT},     /* integrity constraint violation */
    {"40001", STORE_ERR_BUSY},      /* serialization failure */
    {"40P01", STORE_ERR_BUSY},      /* deadlock detected */
    {"55P03", STORE_ERR_BUSY},      /* lock not available (lock_timeout) */
    {"57014", STORE_ERR_BUSY},      /* query canceled (statement_timeout) */
    {"53", STORE_ERR_FULL},         /* insufficient resources: disk full, out of memory */
    {"08", STORE_ERR_UNAVAILABLE},  /* connection exception */
    {"57P", STORE_ERR_UNAVAILABLE}, /* shutdown, crash, cannot connect now */
    {"25006", STORE_ERR_IO},        /* read-only transaction (a standby) */
    {"58", STORE_ERR_IO},           /* system error (I/O) */
    {"XX001", STORE_ERR_CORRUPT},   /* data corrupted */
    {"XX002", STORE_ERR_CORRUPT},   /* index corrupted */
    {"22", STORE_ERR_INVALID},      /* data exception (a value the type refused) */
};

static enum store_error
pg_error_class(const char *state)
{
    if (state == NULL)
        return STORE_ERR_INTERNAL;
    for (size_t i = 0; i < sizeof(pg_error_classes) / sizeof(pg_error_classes[0]); i++)
        if (strncmp(state, pg_error_classes[i].state, strlen(pg_error_classes[i].state)) == 0)
            return pg_error_classes[i].err;
    return STORE_ERR_INTERNAL;
}

/* Records a failure: from res when it has one, else from the connection. */
static void
pg_fail(struct pg_conn *c, const PGresult *res, enum store_error cls, const char *msg)
{
    size_t n;

    if (msg == NULL && res != NULL)
        msg = PQresultErrorMessage(res);
    if ((msg == NULL || *msg == '\0') && c->pg != NULL)
        msg = PQerrorMessage(c->pg);
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg != NULL && *msg != '\0' ? msg : "error");
    n = strlen(c->errmsg);
    while (n > 0 && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' '))
        c->errmsg[--n] = '\0';
    for (char *p = c->errmsg; *p != '\0'; p++)
        if (*p == '\n')
            *p = ' ';
    if (cls == STORE_ERR_NONE)
        cls = res != NULL ? pg_error_class(PQresultErrorField(res, PG_DIAG_SQLSTATE))
                          : STORE_ERR_INTERNAL;
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        cls = STORE_ERR_UNAVAILABLE;
    c->err_class = cls;
}

static unsigned
pg_caps_of(const char *target)
{
    (void)target;
    return 0; /* no WAL of ours, no file, any number of nodes */
}

static void
pg_notice_cb(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs (IF NOT EXISTS...) are not ours to print */
}

/* The password of database_password_file, its first line; NULL without one. */
static int
pg_read_password(char *buf, size_t n, char *err, size_t errn)
{
    FILE *f;
    size_t len;

    buf[0] = '\0';
    if (pg_password_file == NULL)
        return 0;
    if ((f = fopen(pg_password_file, "re")) == NULL) {
        snprintf(err, errn, "database_password_file %.300s: cannot open it", pg_password_file);
        return -1;
    }
    if (fgets(buf, (int)n, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return 0;
}

/* Refuses a URI that carries a password: it would sit in the config text
 * and in every log line that names the database. Copies the URI's own
 * `options` (if any) into opts, so that ours are added to them. */
static int
pg_check_uri(const char *target, char *opts_out, size_t optn, char *err, size_t n)
{
    PQconninfoOption *opts;
    char *why = NULL;
    int rc = 0;

    if ((opts = PQconninfoParse(target, &why)) == NULL) {
        snprintf(err, n, "database URI: %s", why != NULL ? why : "cannot parse it");
        PQfreemem(why);
        return -1;
    }
    opts_out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "options") == 0 && o->val != NULL &&
            snprintf(opts_out, optn, "%s ", o->val) >= (int)optn) {
            snprintf(err, n, "database URI: options too long");
            rc = -1;
        }
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0') {
            snprintf(err, n,
                     "database URI carries a password: refused (put it in PGPASSFILE or the file"
                     " named by database_password_file)");
            rc = -1;
        }
    }
    PQconninfoFree(opts);
    return rc;
}

/* A new session on target, with the settings every session has. */
static PGconn *
pg_connect(const char *target, int busy_timeout_ms, char *err, size_t n)
{
    char password[1024], options[1024], uri_opts[768];
    const char *keys[8], *vals[8];
    int k = 0;
    PGconn *pg;
    PGresult *res;

    if (pg_check_uri(target, uri_opts, sizeof(uri_opts), err, n) == -1 ||
        pg_read_password(password, sizeof(password), err, n) == -1)
        return NULL;
    /* Durability is the session's: synchronous_commit=on whatever the
     * server's default; the busy timeout bounds every lock wait. */
    snprintf(options, sizeof(options), "%s-c synchronous_commit=on -c lock_timeout=%d", uri_opts,
             busy_timeout_ms);
    keys[k] = "dbname", vals[k++] = target;
    keys[k] = "fallback_application_name", vals[k++] = "sitetokend";
    keys[k] = "client_encoding", vals[k++] = "UTF8";
    keys[k] = "options", vals[k++] = options;
    keys[k] = "connect_timeout", vals[k++] = "10";
    if (password[0] != '\0')
        keys[k] = "password", vals[k++] = password;
    keys[k] = NULL, vals[k] = NULL;
    pg = PQconnectdbParams(keys, vals, 1);
    memset(password, 0, sizeof(password));
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, n, "connect to %.300s: %s", target,
                 pg != NULL ? PQerrorMessage(pg) : "out of memory");
        for (char *p = err; *p != '\0'; p++)
            if (*p == '\n')
                *p = ' ';
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, pg_notice_cb, NULL);
    /* Set again by name, so that a pooler that ignores startup options
     * still runs every session durably. */
    res = PQexec(pg, "SET synchronous_commit = on");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, n, "connect to %.300s: %s", target, PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(pg);
        return NULL;
    }
    PQclear(res);
    return pg;
}

/* Connected, or connects again; -1 (UNAVAILABLE recorded) when it cannot. */
static int
pg_ensure(struct pg_conn *c)
{
    char err[512];

    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    if (c->pg != NULL) {
        if (c->in_tx)
            c->tx_broken = 1;
        c->in_tx = 0;
        PQfinish(c->pg);
        c->pg = NULL;
    }
    if ((c->pg = pg_connect(c->target, c->busy_timeout_ms, err, sizeof(err))) == NULL) {
        pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, err);
        return -1;
    }
    c->gen++;
    return 0;
}

static int
pg_open(struct store *st, const char *target, int busy_timeout_ms, char *err, size_t n)
{
    struct pg_conn *c;

    if ((c = calloc(1, sizeof(*c))) == NULL || (c->target = strdup(target)) == NULL) {
        free(c);
        snprintf(err, n, "out of memory");
        return -1;
    }
    st->conn = c;
    c->busy_timeout_ms = busy_timeout_ms;
    if ((c->pg = pg_connect(target, busy_timeout_ms, err, n)) == NULL)
        return -1;
    c->gen = 1;
    return 0;
}

static void
pg_close(struct store *st)
{
    struct pg_conn *c = st->conn;

    if (c == NULL)
        return;
    PQfinish(c->pg);
    free(c->target);
    free(c);
    st->conn = NULL;
}

/* A result that did what was asked; else the failure is recorded. */
static int
pg_result_ok(struct pg_conn *c, PGresult *res)
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

static int
pg_exec(struct store *st, const char *sql)
{
    struct pg_conn *c = PG_CONN(st);
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
    struct pg_conn *c = PG_CONN(st);
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
    struct pg_conn *c = PG_CONN(s->st);

    pg_reset(s);
    /* A statement prepared in this session: deallocate it (best effort,
     * and only while the connection is up: a new session has none). */
    if (ps->gen != 0 && c != NULL && ps->gen == c->gen && c->pg != NULL &&
        PQstatus(c->pg) == CONNECTION_OK && !c->tx_broken &&
        PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
        char sql[48];

        snprintf(sql, sizeof(sql), "DEALLOCATE %s", ps->name);
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
    struct pg_conn *c = PG_CONN(ps->base.st);
    PGresult *res;
    ExecStatusType status;
    const char *tuples;

    if (pg_ensure(c) == -1)
        return -1;
    if (c->tx_broken) {
        if (ps->is_rollback) {
            c->tx_broken = 0; /* nothing left to undo: the session ended */
            ps->executed = 1;
            return STORE_DONE;
        }
        pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, "connection lost inside a transaction");
        return -1;
    }
    if (ps->persistent && ps->gen != c->gen) {
        res = PQprepare(c->pg, ps->name, ps->sql, ps->nparams, NULL);
        if (pg_result_ok(c, res) == -1) {
            PQclear(res);
            return -1;
        }
        PQclear(res);
        ps->gen = c->gen;
    }
    if (ps->persistent)
        res = PQexecPrepared(c->pg, ps->name, ps->nparams, ps->vals, ps->lens, ps->fmts, 0);
    else
        res = PQexecParams(c->pg, ps->sql, ps->nparams, NULL, ps->vals, ps->lens, ps->fmts, 0);
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
    struct pg_conn *c = PG_CONN(st);

    return c->tx_broken || (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
                            PQtransactionStatus(c->pg) != PQTRANS_IDLE);
}

static void
pg_errinfo(struct store *st, enum store_error *cls, const char **msg)
{
    struct pg_conn *c = PG_CONN(st);

    *cls = c->err_class != STORE_ERR_NONE ? c->err_class : STORE_ERR_INTERNAL;
    *msg = c->errmsg[0] != '\0' ? c->errmsg : "error";
}

static int
pg_peek_keys(const char *target, int64_t *nkeys, char *err, size_t n)
{
    PGconn *pg;
    PGresult *res;
    int rc = -1;

    *nkeys = 0;
    if ((pg = pg_connect(target, 5000, err, n)) == NULL)
        return -1;
    /* A database without the schema yet holds no key. */
    res = PQexec(pg, "SELECT to_regclass('keys') IS NOT NULL");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        rc = 0;
    } else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        PQclear(res);
        res = PQexec(pg, "SELECT count(*) FROM keys");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            *nkeys = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            rc = 0;
        }
    }
    if (rc == -1)
        snprintf(err, n, "%.300s: %s", target, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);
    return rc;
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
};
