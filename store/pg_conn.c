/* The PostgreSQL driver's connections (pg.c is the rest of it): the URI
 * checked (no password in it; its own options kept), the password file,
 * the settings every session has (synchronous_commit=on, lock_timeout),
 * connecting again after a loss, SQLSTATEs mapped to the store's error
 * classes, and the key count read without migrating. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"
#include "store_int.h"

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
    {"42P07", STORE_ERR_CONFLICT},  /* duplicate table (two nodes' CREATE at once) */
    {"42710", STORE_ERR_CONFLICT},  /* duplicate object (its row type) */
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
void
pg_fail(struct pg_session *c, const PGresult *res, enum store_error cls, const char *msg)
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

unsigned
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
 * `options` (if any) into opts, so that ours are added to them, and says
 * whether it names its own connect_timeout (then ours is not given: libpq
 * lets a later value win). */
static int
pg_check_uri(const char *target, char *opts_out, size_t optn, int *has_timeout, char *err, size_t n)
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
    *has_timeout = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL && o->val[0] != '\0')
            *has_timeout = 1;
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
    int k = 0, has_timeout;
    PGconn *pg;
    PGresult *res;

    if (pg_check_uri(target, uri_opts, sizeof(uri_opts), &has_timeout, err, n) == -1 ||
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
    if (!has_timeout)
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
int
pg_ensure(struct pg_session *c)
{
    char err[512];

    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    if (c->pg != NULL) {
        if (c->in_tx || c->pipelined)
            c->tx_broken = 1;
        c->in_tx = 0;
        c->pipelined = c->npending = 0; /* what was in flight went with it */
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

int
pg_open(struct store *st, const char *target, int busy_timeout_ms, char *err, size_t n)
{
    struct pg_session *c;

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

void
pg_close(struct store *st)
{
    struct pg_session *c = st->conn;

    if (c == NULL)
        return;
    PQfinish(c->pg);
    free(c->target);
    free(c);
    st->conn = NULL;
}

int
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

/* Notifications: a session of its own that only listens. */
int
pg_listen(struct store *st, const char *channel)
{
    struct pg_session *c = PG_CONN(st);
    char sql[96];
    char *id;
    PGresult *res;
    int rc = -1;

    if (pg_ensure(c) == -1)
        return -1;
    if ((id = PQescapeIdentifier(c->pg, channel, strlen(channel))) == NULL) {
        pg_fail(c, NULL, STORE_ERR_INTERNAL, NULL);
        return -1;
    }
    snprintf(sql, sizeof(sql), "LISTEN %.80s", id);
    PQfreemem(id);
    res = PQexec(c->pg, sql);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = 0;
    else
        pg_fail(c, res, STORE_ERR_NONE, NULL);
    PQclear(res);
    return rc;
}

int
pg_notify_fd(struct store *st)
{
    struct pg_session *c = PG_CONN(st);

    return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK ? PQsocket(c->pg) : -1;
}

int
pg_notify_take(struct store *st, char *buf, size_t n)
{
    struct pg_session *c = PG_CONN(st);
    PGnotify *nt;

    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK || PQconsumeInput(c->pg) == 0 ||
        PQstatus(c->pg) != CONNECTION_OK) {
        pg_fail(c, NULL, STORE_ERR_UNAVAILABLE, NULL);
        return -1;
    }
    if ((nt = PQnotifies(c->pg)) == NULL)
        return 0;
    snprintf(buf, n, "%s", nt->extra != NULL ? nt->extra : "");
    PQfreemem(nt);
    return 1;
}
