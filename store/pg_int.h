/* Internals of the PostgreSQL driver shared by pg.c (statements) and
 * pg_conn.c (connections); included by nothing else. */
#ifndef SITETOKEN_STORE_PG_INT_H
#define SITETOKEN_STORE_PG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

/* libpq's own tags of PGconn and PGresult: this header includes no
 * database header. */
struct pg_conn;
struct pg_result;

/* What the pipeline (pg.c) has sent and not yet read back: a statement's
 * PREPARE or its execution, in order. */
#define PG_PIPE_MAX 64
struct pg_pending {
    struct pg_stmt *ps; /* the statement (NULL once finalized) */
    int prepare;        /* its PREPARE, else its execution */
    int keep;           /* the execution whose result the caller waits for */
};

struct pg_session {
    struct pg_conn *pg; /* PGconn */
    char *target;
    int busy_timeout_ms;
    unsigned gen;       /* bumps at every (re)connection: prepared statements are per session */
    unsigned next_name; /* names of prepared statements */
    int tx_broken;      /* the connection was lost inside a transaction */
    int in_tx;          /* a transaction was open after the last statement */
    int64_t changes;
    /* libpq's pipeline mode, entered while statements are sent unread
     * (pg.c), left at the next statement that waits */
    int pipelined, npending;
    struct pg_pending pending[PG_PIPE_MAX];
    int64_t roundtrips; /* requests this session waited for (tests, bench) */
    enum store_error err_class;
    char errmsg[256];
};

#define PG_CONN(st) ((struct pg_session *)(st)->conn)

/* Records a failure on c: from res when it has one, else from the
 * connection; cls STORE_ERR_NONE: the class of res's SQLSTATE. */
void pg_fail(struct pg_session *c, const struct pg_result *res, enum store_error cls,
             const char *msg);
/* Connected, or connects again; -1 (UNAVAILABLE recorded) when it cannot. */
int pg_ensure(struct pg_session *c);
/* The driver's open, close, caps_of and peek_keys (store_int.h). */
int pg_open(struct store *st, const char *target, int busy_timeout_ms, char *err, size_t n);
void pg_close(struct store *st);
unsigned pg_caps_of(const char *target);
int pg_peek_keys(const char *target, int64_t *nkeys, char *err, size_t n);
/* The driver's notification capability (store_int.h). */
int pg_listen(struct store *st, const char *channel);
int pg_notify_fd(struct store *st);
int pg_notify_take(struct store *st, char *buf, size_t n);

#endif
